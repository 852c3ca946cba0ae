//! Property tests of the Merkle log and map against naive recomputation from their definitions:
//! roots match, honest proofs verify, and a proof with any one bit changed, or presented for
//! another leaf, key, size or claim, is rejected.

use std::collections::BTreeMap;

use proptest::prelude::*;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::merkle::Blake3;
use suyuan_ledger::merkle::log::{
    self, ConsistencyProof, InclusionProof, MemLog, consistency_proof, inclusion_proof,
};
use suyuan_ledger::merkle::map::{
    self, MapBatch, MapKey, MapProof, MemMapStore, empty_hash, prove, update,
};

/// RFC 9162 §2.1.1 read literally.
fn naive_log_root(leaves: &[Hash32]) -> Hash32 {
    match leaves.len() {
        0 => log::empty_root::<Blake3>(),
        1 => leaves[0],
        n => {
            let split = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            log::node_hash::<Blake3>(
                &naive_log_root(&leaves[..split]),
                &naive_log_root(&leaves[split..]),
            )
        }
    }
}

/// The map's definition: empty, one leaf, or a node over the two halves.
fn naive_map_root(entries: &[(MapKey, Hash32)], depth: u16) -> Hash32 {
    match entries {
        [] => empty_hash::<Blake3>(),
        [(key, value)] => map::leaf_hash::<Blake3>(key, value),
        _ => {
            let at = entries.partition_point(|(key, _)| !key.bit(depth));
            let (left, right) = entries.split_at(at);
            map::node_hash::<Blake3>(
                &naive_map_root(left, depth + 1),
                &naive_map_root(right, depth + 1),
            )
        }
    }
}

fn log_leaves(count: usize, seed: u64) -> Vec<Hash32> {
    (0..count as u64)
        .map(|i| log::leaf_hash::<Blake3>(&(seed ^ i).to_be_bytes()))
        .collect()
}

fn flip(hash: &mut Hash32, bit: usize) {
    hash.0[bit / 8 % 32] ^= 1 << (bit % 8);
}

/// Keys drawn so that many share long prefixes: a few random bits in a mostly zero key.
fn clustered_key() -> impl Strategy<Value = MapKey> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(MapKey::new),
        proptest::collection::vec(0usize..256, 1..4).prop_map(|bits| {
            let mut bytes = [0u8; 32];
            for bit in bits {
                bytes[bit / 8] |= 0x80 >> (bit % 8);
            }
            MapKey::new(bytes)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn log_roots_and_inclusion(size in 1usize..600, seed: u64, pick: u64, bit in 0usize..256) {
        let leaves = log_leaves(size, seed);
        let mut mem = MemLog::<Blake3>::new();
        for leaf in &leaves {
            mem.append(*leaf).unwrap();
        }
        let root = naive_log_root(&leaves);
        prop_assert_eq!(mem.root(), root);
        let index = pick % size as u64;
        let older = 1 + pick % size as u64;
        let older_root = naive_log_root(&leaves[..older as usize]);
        prop_assert_eq!(log::root_at::<Blake3>(&mem, older), Ok(older_root));

        let proof = inclusion_proof::<Blake3>(&mem, index, size as u64).unwrap();
        prop_assert_eq!(proof.verify::<Blake3>(&leaves[index as usize], &root), Ok(()));
        // The proof at an older size verifies against that size's root.
        if index < older {
            let old_proof = inclusion_proof::<Blake3>(&mem, index, older).unwrap();
            let old_root = naive_log_root(&leaves[..older as usize]);
            prop_assert_eq!(old_proof.verify::<Blake3>(&leaves[index as usize], &old_root), Ok(()));
        }
        // Any one bit changed anywhere in the proof is rejected.
        if !proof.path.is_empty() {
            let mut tampered = proof.clone();
            let at = (pick as usize / 7) % tampered.path.len();
            flip(&mut tampered.path[at], bit);
            prop_assert!(tampered.verify::<Blake3>(&leaves[index as usize], &root).is_err());
        }
        let mut leaf = leaves[index as usize];
        flip(&mut leaf, bit);
        prop_assert!(proof.verify::<Blake3>(&leaf, &root).is_err());
        // The path binds the leaf's position. (It does not always bind the size: a path in a
        // log of 3 leaves also verifies as one in a log of 4 against the same root, as in RFC
        // 9162; the size comes from the signed head, with the root.)
        let other_index = index ^ 1;
        if other_index < size as u64 {
            let moved = InclusionProof { leaf_index: other_index, ..proof.clone() };
            prop_assert!(moved.verify::<Blake3>(&leaves[index as usize], &root).is_err());
        }
    }

    #[test]
    fn log_consistency(size in 1usize..600, seed: u64, pick: u64, bit in 0usize..256) {
        let leaves = log_leaves(size, seed);
        let mut mem = MemLog::<Blake3>::new();
        for leaf in &leaves {
            mem.append(*leaf).unwrap();
        }
        let old = 1 + pick % size as u64;
        let old_root = naive_log_root(&leaves[..old as usize]);
        let new_root = mem.root();
        let proof = consistency_proof::<Blake3>(&mem, old, size as u64).unwrap();
        prop_assert_eq!(proof.verify::<Blake3>(&old_root, &new_root), Ok(()));
        if !proof.path.is_empty() {
            let mut tampered = proof.clone();
            let at = (pick as usize / 7) % tampered.path.len();
            flip(&mut tampered.path[at], bit);
            prop_assert!(tampered.verify::<Blake3>(&old_root, &new_root).is_err());
        }
        if old_root != new_root {
            prop_assert!(proof.verify::<Blake3>(&new_root, &old_root).is_err());
        }
        let mut wrong_old = old_root;
        flip(&mut wrong_old, bit);
        prop_assert!(proof.verify::<Blake3>(&wrong_old, &new_root).is_err());
        // A log whose older part differs is not consistent with this one.
        let mut forked = leaves.clone();
        flip(&mut forked[(pick as usize) % old as usize], bit);
        let forked_old_root = naive_log_root(&forked[..old as usize]);
        prop_assert!(proof.verify::<Blake3>(&forked_old_root, &new_root).is_err());
        let other = ConsistencyProof { old_size: old.saturating_sub(1).max(1), ..proof.clone() };
        if other.old_size != old {
            prop_assert!(other.verify::<Blake3>(&old_root, &new_root).is_err());
        }
    }

    #[test]
    fn map_batches_match_the_definition_and_prove_every_key(
        batches in proptest::collection::vec(
            proptest::collection::vec((clustered_key(), any::<[u8; 32]>()), 0..40),
            1..6,
        ),
        strangers in proptest::collection::vec(clustered_key(), 1..10),
        bit in 0usize..256,
    ) {
        let mut store = MemMapStore::new();
        let mut all = BTreeMap::new();
        let mut roots = vec![empty_hash::<Blake3>()];
        let mut states = vec![all.clone()];
        for (version, entries) in (1u64..).zip(&batches) {
            let mut batch = MapBatch::new();
            for (key, value) in entries {
                batch.insert(*key, Hash32(*value));
                all.insert(*key, Hash32(*value));
            }
            let written = update::<Blake3>(&store, version, &batch).unwrap();
            let sorted: Vec<_> = all.iter().map(|(k, v)| (*k, *v)).collect();
            prop_assert_eq!(written.root, naive_map_root(&sorted, 0));
            store.apply(&written);
            roots.push(written.root);
            states.push(all.clone());
        }
        // Every version, after all of them are written: members, strangers, and tampering.
        for (version, (root, state)) in roots.iter().zip(&states).enumerate() {
            let keys = state.keys().chain(&strangers);
            for key in keys {
                let expected = state.get(key);
                let proof = prove::<Blake3>(&store, version as u64, key).unwrap();
                prop_assert_eq!(proof.verify::<Blake3>(root, key, expected), Ok(()));
                prop_assert_eq!(MapProof::from_bytes(&proof.to_bytes()), Ok(proof.clone()));
                let opposite = match expected {
                    Some(_) => None,
                    None => Some(Hash32([0xab; 32])),
                };
                prop_assert!(proof.verify::<Blake3>(root, key, opposite.as_ref()).is_err());
                if !proof.siblings.is_empty() {
                    let mut tampered = proof.clone();
                    let at = bit % tampered.siblings.len();
                    flip(&mut tampered.siblings[at], bit);
                    prop_assert!(tampered.verify::<Blake3>(root, key, expected).is_err());
                    let mut shorter = proof.clone();
                    shorter.siblings.pop();
                    prop_assert!(shorter.verify::<Blake3>(root, key, expected).is_err());
                }
                let mut longer = proof.clone();
                longer.siblings.push(empty_hash::<Blake3>());
                prop_assert!(longer.verify::<Blake3>(root, key, expected).is_err());
                if let Some(mut leaf) = proof.leaf {
                    flip(&mut leaf.value, bit);
                    let tampered = MapProof { leaf: Some(leaf), ..proof.clone() };
                    prop_assert!(tampered.verify::<Blake3>(root, key, expected).is_err());
                    prop_assert!(tampered.verify::<Blake3>(root, key, Some(&leaf.value)).is_err());
                }
            }
        }
    }
}
