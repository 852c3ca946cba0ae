//! Every JSON example in the project's documentation parses as what it claims to be.

mod markdown;

use markdown::json_blocks;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::merkle::log::{ConsistencyProof, InclusionProof, leaf_hash};
use suyuan_ledger::merkle::map::{MapKey, MapProof};
use suyuan_ledger::merkle::{Blake3, Sha256};
use suyuan_ledger::tx::Payload;

#[test]
fn record_examples_are_valid_payloads() {
    let markdown = include_str!("../../docs/records.md");
    let blocks = json_blocks(markdown);
    assert!(blocks.len() >= 8, "found {} examples", blocks.len());
    for block in blocks {
        if let Err(error) = Payload::parse(block.as_bytes()) {
            panic!("{error}\n{block}");
        }
    }
}

fn hash(hex: &str) -> Hash32 {
    hex.parse().unwrap()
}

/// The proof examples in `docs/proofs.md` parse as the proofs they claim to be, and verify
/// against the roots the document names.
#[test]
fn proof_examples_verify() {
    let blocks = json_blocks(include_str!("../../docs/proofs.md"));
    assert_eq!(
        blocks.len(),
        3,
        "an inclusion, a consistency and a map example"
    );

    // The RFC 6962 vectors' roots of sizes 3 and 8.
    let root3 = hash("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77");
    let root8 = hash("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");

    let inclusion: InclusionProof = serde_json::from_str(&blocks[0]).unwrap();
    let leaf = leaf_hash::<Sha256>(&hex::decode("40414243").unwrap());
    assert_eq!(
        leaf,
        hash("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658")
    );
    assert_eq!(inclusion.verify::<Sha256>(&leaf, &root8), Ok(()));

    let consistency: ConsistencyProof = serde_json::from_str(&blocks[1]).unwrap();
    assert_eq!(consistency.verify::<Sha256>(&root3, &root8), Ok(()));

    let map: MapProof = serde_json::from_str(&blocks[2]).unwrap();
    let key = MapKey::of_code(b"01/06901234567892/21/SN00004");
    assert_eq!(
        key.to_string(),
        "14d6ba51444b78609cdbb6650b15120e3efc59f27933982f26a6527efcb08294"
    );
    let root = hash("7cce4b7cf2ab56853708e7c595287df053730f9107e6afb544d94b53a538a0ab");
    let value = hash("2c59f47081ee14d4565bbe116db46634da3c42306cf104be8404e15b26d1417e");
    assert_eq!(map.verify::<Blake3>(&root, &key, Some(&value)), Ok(()));
}
