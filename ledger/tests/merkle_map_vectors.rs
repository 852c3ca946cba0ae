//! Check the code map against its golden vectors, `tests/vectors/merkle_map/blake3.json` (format in
//! the folder's README): the root after each version's updates, and the verdict on each proof,
//! honest or tampered. An honest proof must also be exactly the one this code produces.
//!
//! The vectors change only on purpose. To write them anew after a deliberate change of the map:
//! `SUYUAN_WRITE_VECTORS=1 cargo test --release --workspace --test merkle_map_vectors --
//! --ignored`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::merkle::map::{
    MapBatch, MapKey, MapLeaf, MapProof, MapProofError, MemMapStore, empty_hash, prove, root,
    update,
};
use suyuan_ledger::merkle::{Blake3, TreeHash};

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/merkle_map/blake3.json")
}

/// One update as the vectors list it: a code (whose key is derived) or a bare key.
#[derive(Clone)]
struct Update {
    code: Option<String>,
    key: MapKey,
    value: Hash32,
}

fn by_code(code: &str, record: &str) -> Update {
    Update {
        code: Some(code.to_owned()),
        key: MapKey::of_code(code.as_bytes()),
        value: record_hash(record),
    }
}

fn by_key(bits: &[usize], record: &str) -> Update {
    let mut bytes = [0u8; 32];
    for bit in bits {
        bytes[bit / 8] |= 0x80 >> (bit % 8);
    }
    Update {
        code: None,
        key: MapKey::new(bytes),
        value: record_hash(record),
    }
}

/// A stand-in for a record's hash.
fn record_hash(name: &str) -> Hash32 {
    Blake3::hash(&[b"record ", name.as_bytes()])
}

fn code(serial: u32) -> String {
    format!("01/06901234567892/21/SN{serial:05}")
}

/// The updates of versions 1, 2, …: one code alone; more codes; a code superseded and keys that
/// share 255 bits (leaves at depth 256); a version that updates nothing; many codes.
fn versions() -> Vec<Vec<Update>> {
    vec![
        vec![by_code(&code(1), "r1")],
        (2..=6)
            .map(|n| by_code(&code(n), &format!("r{n}")))
            .collect(),
        vec![
            by_code(&code(2), "r2-superseding"),
            by_key(&[], "zero key"),
            by_key(&[255], "zero key but its last bit"),
            by_key(&[0], "first bit only"),
        ],
        vec![],
        (7..=40)
            .map(|n| by_code(&code(n), &format!("r{n}")))
            .chain([by_code(&code(3), "r3-superseding")])
            .collect(),
    ]
}

fn batch(updates: &[Update]) -> MapBatch {
    let mut batch = MapBatch::new();
    for update in updates {
        batch.insert(update.key, update.value);
    }
    batch
}

/// Applies every version; returns the store and the root of each version (0 first).
fn build() -> (MemMapStore, Vec<Hash32>) {
    let mut store = MemMapStore::new();
    let mut roots = vec![empty_hash::<Blake3>()];
    for (version, updates) in (1u64..).zip(versions()) {
        let written = update::<Blake3>(&store, version, &batch(&updates)).unwrap();
        store.apply(&written);
        roots.push(written.root);
    }
    (store, roots)
}

/// A proof case: against the root of `version`, about `key`, claiming `claim`.
struct Case {
    desc: String,
    version: u64,
    key: MapKey,
    claim: Option<Hash32>,
    proof: MapProof,
    /// `None` if it must be accepted, else the reason it must be rejected.
    reject: Option<&'static str>,
}

fn flip(hash: &mut Hash32, bit: usize) {
    hash.0[bit / 8] ^= 0x80 >> (bit % 8);
}

fn cases(store: &MemMapStore) -> Vec<Case> {
    let honest = |desc: &str, version: u64, key: MapKey, claim: Option<Hash32>| Case {
        desc: desc.to_owned(),
        version,
        key,
        claim,
        proof: prove::<Blake3>(store, version, &key).unwrap(),
        reject: None,
    };
    let key_of = |serial: u32| MapKey::of_code(code(serial).as_bytes());
    let zero = by_key(&[], "").key;
    let last_bit = by_key(&[255], "").key;
    let stranger = MapKey::of_code(b"01/06901234567892/21/NEVER");
    let mut out = vec![
        honest("absent from the empty map", 0, key_of(1), None),
        honest(
            "the only key: its leaf is the root",
            1,
            key_of(1),
            Some(record_hash("r1")),
        ),
        honest(
            "absent, ending at the only other key's leaf",
            1,
            key_of(2),
            None,
        ),
        honest("member", 2, key_of(4), Some(record_hash("r4"))),
        honest("absent", 2, stranger, None),
        honest(
            "the value before it was superseded",
            2,
            key_of(2),
            Some(record_hash("r2")),
        ),
        honest(
            "the superseding value",
            3,
            key_of(2),
            Some(record_hash("r2-superseding")),
        ),
        honest(
            "a leaf at depth 256",
            3,
            last_bit,
            Some(record_hash("zero key but its last bit")),
        ),
        honest(
            "a version that updates nothing proves as the one before",
            4,
            zero,
            Some(record_hash("zero key")),
        ),
        honest("member among 40", 5, key_of(17), Some(record_hash("r17"))),
        honest("absent among 40", 5, stranger, None),
        honest(
            "absent, ending deep among keys sharing 255 bits",
            5,
            by_key(&[254], "").key,
            None,
        ),
    ];

    let mut tampered =
        |desc: &str, base: usize, reject: &'static str, change: &dyn Fn(&mut Case)| {
            let source = &out[base];
            let mut case = Case {
                desc: desc.to_owned(),
                version: source.version,
                key: source.key,
                claim: source.claim,
                proof: source.proof.clone(),
                reject: Some(reject),
            };
            change(&mut case);
            out.push(case);
        };
    tampered("a sibling with one bit flipped", 9, "root_mismatch", &|c| {
        flip(&mut c.proof.siblings[3], 77)
    });
    tampered("the last sibling dropped", 9, "root_mismatch", &|c| {
        c.proof.siblings.pop();
    });
    tampered("an empty sibling appended", 9, "root_mismatch", &|c| {
        c.proof.siblings.push(empty_hash::<Blake3>())
    });
    tampered("two siblings swapped", 9, "root_mismatch", &|c| {
        c.proof.siblings.swap(0, 1)
    });
    tampered(
        "the leaf's value changed to the claim",
        9,
        "root_mismatch",
        &|c| {
            c.claim = Some(record_hash("forged"));
            c.proof.leaf = Some(MapLeaf {
                key: c.key,
                value: record_hash("forged"),
            });
        },
    );
    tampered("a wrong value claimed", 9, "value_mismatch", &|c| {
        c.claim = Some(record_hash("r18"))
    });
    tampered("a member claimed absent", 9, "key_present", &|c| {
        c.claim = None
    });
    tampered("an absent key claimed present", 10, "key_absent", &|c| {
        c.claim = Some(record_hash("r1"))
    });
    tampered(
        "a member's proof presented for another key",
        9,
        "leaf_off_path",
        &|c| c.key = key_of(18),
    );
    tampered(
        "an absence proof ending at an empty subtree presented for a member",
        11,
        "root_mismatch",
        &|c| c.key = zero,
    );
    tampered(
        "the superseded value's proof against the newer root",
        5,
        "root_mismatch",
        &|c| c.version = 3,
    );
    tampered(
        "the superseded value claimed against the newer root",
        6,
        "value_mismatch",
        &|c| c.claim = Some(record_hash("r2")),
    );
    tampered(
        "an absence proof ending at a leaf off the key's path",
        3,
        "leaf_off_path",
        &|c| {
            let mut elsewhere = *c.key.as_bytes();
            elsewhere[0] ^= 0x80;
            c.claim = None;
            c.proof.leaf = Some(MapLeaf {
                key: MapKey::new(elsewhere),
                value: record_hash("r4"),
            });
        },
    );
    tampered(
        "a depth-256 proof with its deepest sibling flipped",
        7,
        "root_mismatch",
        &|c| flip(&mut c.proof.siblings[255], 255),
    );
    tampered("257 siblings", 0, "malformed", &|c| {
        c.proof.siblings = vec![empty_hash::<Blake3>(); 257]
    });
    out
}

fn verdict(
    root: &Hash32,
    key: &MapKey,
    claim: Option<&Hash32>,
    proof: &MapProof,
) -> Option<&'static str> {
    match proof.verify::<Blake3>(root, key, claim) {
        Ok(()) => None,
        Err(MapProofError::TooLong { .. }) => Some("malformed"),
        Err(MapProofError::LeafOffPath { .. }) => Some("leaf_off_path"),
        Err(MapProofError::RootMismatch { .. }) => Some("root_mismatch"),
        Err(MapProofError::ValueMismatch { .. }) => Some("value_mismatch"),
        Err(MapProofError::KeyAbsent { .. }) => Some("key_absent"),
        Err(MapProofError::KeyPresent { .. }) => Some("key_present"),
    }
}

fn hex_of(hash: &Hash32) -> Value {
    Value::String(hash.to_hex())
}

fn render() -> Value {
    let (store, roots) = build();
    let versions: Vec<Value> = (1u64..)
        .zip(versions())
        .map(|(version, updates)| {
            let updates: Vec<Value> = updates
                .iter()
                .map(|u| match &u.code {
                    Some(code) => json!({"code": code, "key": u.key, "value": u.value}),
                    None => json!({"key": u.key, "value": u.value}),
                })
                .collect();
            let root = hex_of(&roots[version as usize]);
            json!({"version": version, "updates": updates, "root": root})
        })
        .collect();
    let proofs: Vec<Value> = cases(&store)
        .into_iter()
        .map(|case| {
            let root = &roots[case.version as usize];
            let found = verdict(root, &case.key, case.claim.as_ref(), &case.proof);
            assert_eq!(found, case.reject, "{}", case.desc);
            json!({
                "desc": case.desc,
                "version": case.version,
                "root": hex_of(&roots[case.version as usize]),
                "key": case.key,
                "claim": case.claim,
                "proof": case.proof,
                "proof_binary": hex::encode(case.proof.to_bytes()),
                "valid": case.reject.is_none(),
                "reject": case.reject,
            })
        })
        .collect();
    json!({
        "description": "Golden vectors of the Suyuan code map (BLAKE3): see README.md beside this file.",
        "hash": Blake3::NAME,
        "empty_root": hex_of(&empty_hash::<Blake3>()),
        "versions": versions,
        "proofs": proofs,
    })
}

fn load() -> Value {
    let text = std::fs::read_to_string(vectors_path()).expect("the vectors are committed");
    serde_json::from_str(&text).expect("the vectors are JSON")
}

fn hash_field(value: &Value, field: &str) -> Hash32 {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a hex string"))
        .parse()
        .unwrap()
}

#[test]
fn roots_after_each_version_match() {
    let vectors = load();
    assert_eq!(vectors["hash"], "blake3");
    assert_eq!(hash_field(&vectors, "empty_root"), empty_hash::<Blake3>());
    let mut store = MemMapStore::new();
    let listed = vectors["versions"].as_array().unwrap();
    assert!(listed.len() >= 5);
    for entry in listed {
        let version = entry["version"].as_u64().unwrap();
        let mut batch = MapBatch::new();
        for item in entry["updates"].as_array().unwrap() {
            let key: MapKey = item["key"].as_str().unwrap().parse().unwrap();
            if let Some(code) = item["code"].as_str() {
                assert_eq!(MapKey::of_code(code.as_bytes()), key, "key of {code}");
            }
            batch.insert(key, hash_field(item, "value"));
        }
        let written = update::<Blake3>(&store, version, &batch).unwrap();
        assert_eq!(
            written.root,
            hash_field(entry, "root"),
            "root of version {version}"
        );
        store.apply(&written);
        assert_eq!(root::<Blake3>(&store, version), Ok(written.root));
    }
}

#[test]
fn every_proof_gets_its_verdict() {
    let vectors = load();
    let (store, roots) = build();
    let cases = vectors["proofs"].as_array().unwrap();
    let mut tally = BTreeMap::<Option<&str>, usize>::new();
    for case in cases {
        let desc = case["desc"].as_str().unwrap();
        let version = case["version"].as_u64().unwrap();
        let root = hash_field(case, "root");
        assert_eq!(
            root, roots[version as usize],
            "{desc}: root of version {version}"
        );
        let key: MapKey = case["key"].as_str().unwrap().parse().unwrap();
        let claim: Option<Hash32> = serde_json::from_value(case["claim"].clone()).unwrap();
        let expected = case["reject"].as_str();
        assert_eq!(case["valid"].as_bool(), Some(expected.is_none()), "{desc}");
        *tally.entry(expected).or_default() += 1;

        let binary = hex::decode(case["proof_binary"].as_str().unwrap()).unwrap();
        let decoded = (
            serde_json::from_value::<MapProof>(case["proof"].clone()),
            MapProof::from_bytes(&binary),
        );
        let found = match decoded {
            (Ok(from_json), Ok(from_binary)) => {
                assert_eq!(
                    from_json, from_binary,
                    "{desc}: JSON and binary forms agree"
                );
                verdict(&root, &key, claim.as_ref(), &from_json)
            }
            (Err(_), Err(_)) => Some("malformed"),
            (json, binary) => panic!("{desc}: forms disagree: {json:?} / {binary:?}"),
        };
        assert_eq!(found, expected, "{desc}");
        if expected.is_none() {
            let produced = prove::<Blake3>(&store, version, &key).unwrap();
            assert_eq!(
                serde_json::to_value(&produced).unwrap(),
                case["proof"],
                "{desc}"
            );
            assert_eq!(produced.to_bytes(), binary, "{desc}");
        }
    }
    // Honest proofs and every kind of rejection are all there.
    for kind in [
        None,
        Some("root_mismatch"),
        Some("value_mismatch"),
        Some("key_present"),
        Some("key_absent"),
        Some("leaf_off_path"),
        Some("malformed"),
    ] {
        assert!(tally.contains_key(&kind), "no case with verdict {kind:?}");
    }
}

#[test]
fn the_committed_vectors_are_the_ones_this_code_writes() {
    assert_eq!(
        load(),
        render(),
        "run the writer (see the module doc) if the change is deliberate"
    );
}

#[test]
#[ignore = "writes the golden vectors; run on purpose only"]
fn write_vectors() {
    if std::env::var_os("SUYUAN_WRITE_VECTORS").is_none() {
        eprintln!(
            "set SUYUAN_WRITE_VECTORS=1 to write {}",
            vectors_path().display()
        );
        return;
    }
    let text = serde_json::to_string_pretty(&render()).unwrap() + "\n";
    std::fs::create_dir_all(vectors_path().parent().unwrap()).unwrap();
    std::fs::write(vectors_path(), text).unwrap();
}
