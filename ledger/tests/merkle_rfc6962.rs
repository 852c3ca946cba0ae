//! Check the Merkle log against every RFC 6962 / RFC 9162 vector in `tests/vectors/rfc6962/`,
//! with SHA-256: each case must be accepted or rejected as its `wantErr` says.
//!
//! The test walks the folders, so a vector file added later is checked too. The vectors come from
//! a library whose proof hashes and roots are byte strings of any length; here a proof is a list
//! of 32-byte hashes, so a proof or leaf hash of another length is rejected where the proof is
//! decoded, before verification. A trusted root of another length cannot be any tree's root: it is
//! stood in for by a digest no tree produces (SHA-256 of a tag and the bytes), which keeps equal
//! byte strings equal and matches no computed root, and so keeps the vector's verdict.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::merkle::log::{
    ConsistencyProof, InclusionProof, MemLog, consistency_proof, inclusion_proof, leaf_hash,
};
use suyuan_ledger::merkle::{Sha256, TreeHash};

/// At least this many vector files: the count the set was copied with. Fewer means files went
/// missing.
const MIN_VECTOR_FILES: usize = 196;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc6962")
}

/// Every `.json` file under `dir`, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("vector folder is readable") {
            let path = entry.expect("vector folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("vector file is readable");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bytes(case: &Value, field: &str) -> Vec<u8> {
    let text = case[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a base64 string"));
    STANDARD.decode(text).expect("valid base64")
}

fn size(case: &Value, field: &str) -> u64 {
    case[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is a u64"))
}

/// A hash the proof carries: exactly 32 bytes, or the proof does not decode.
fn proof_hash(bytes: &[u8]) -> Result<Hash32, String> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash32)
        .map_err(|_| format!("a {}-byte hash does not decode", bytes.len()))
}

/// A trusted root: see the module doc for the stand-in.
fn trusted_root(bytes: &[u8]) -> Hash32 {
    match <[u8; 32]>::try_from(bytes) {
        Ok(root) => Hash32(root),
        Err(_) => Sha256::hash(&[b"not a tree root:", bytes]),
    }
}

fn proof_hashes(case: &Value) -> Result<Vec<Hash32>, String> {
    match &case["proof"] {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let text = item.as_str().expect("proof items are base64 strings");
                proof_hash(&STANDARD.decode(text).expect("valid base64"))
            })
            .collect(),
        other => panic!("proof is a list or null, not {other}"),
    }
}

/// `Ok` if the inclusion case is accepted, else the reason it is rejected.
fn inclusion_verdict(case: &Value) -> Result<(), String> {
    let proof = InclusionProof {
        leaf_index: size(case, "leafIdx"),
        tree_size: size(case, "treeSize"),
        path: proof_hashes(case)?,
    };
    let leaf = proof_hash(&bytes(case, "leafHash"))?;
    let root = trusted_root(&bytes(case, "root"));
    proof
        .verify::<Sha256>(&leaf, &root)
        .map_err(|e| e.to_string())
}

/// `Ok` if the consistency case is accepted, else the reason it is rejected.
fn consistency_verdict(case: &Value) -> Result<(), String> {
    let proof = ConsistencyProof {
        old_size: size(case, "size1"),
        new_size: size(case, "size2"),
        path: proof_hashes(case)?,
    };
    let old_root = trusted_root(&bytes(case, "root1"));
    let new_root = trusted_root(&bytes(case, "root2"));
    proof
        .verify::<Sha256>(&old_root, &new_root)
        .map_err(|e| e.to_string())
}

#[test]
fn every_rfc6962_vector_gets_its_verdict() {
    let files = json_files(&vectors_dir());
    assert!(
        files.len() >= MIN_VECTOR_FILES,
        "found {} vector files, expected at least {MIN_VECTOR_FILES}",
        files.len()
    );
    let mut wrong = Vec::new();
    let mut tally: BTreeMap<(&str, bool), usize> = BTreeMap::new();
    for path in &files {
        let case = load(path);
        let relative = path.strip_prefix(vectors_dir()).expect("under the folder");
        let kind = match relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
        {
            Some("inclusion") => "inclusion",
            Some("consistency") => "consistency",
            other => panic!("{}: unknown vector kind {other:?}", relative.display()),
        };
        let verdict = match kind {
            "inclusion" => inclusion_verdict(&case),
            _ => consistency_verdict(&case),
        };
        let want_error = case["wantErr"].as_bool().expect("wantErr is a bool");
        *tally.entry((kind, want_error)).or_default() += 1;
        match (&verdict, want_error) {
            (Ok(()), false) | (Err(_), true) => {}
            _ => wrong.push(format!("{}: {verdict:?}", relative.display())),
        }
    }
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
    // Both kinds have cases to accept and cases to reject.
    for kind in ["inclusion", "consistency"] {
        for want_error in [false, true] {
            assert!(tally.get(&(kind, want_error)).is_some_and(|n| *n > 0));
        }
    }
}

/// The eight leaf inputs the vectors are built from, as the README lists them.
fn readme_leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|text| hex::decode(text).unwrap())
    .collect()
}

/// The roots by size the README lists: lines of a size and 64 hex characters.
fn readme_roots() -> Vec<(u64, Hash32)> {
    let text = std::fs::read_to_string(vectors_dir().join("README.md")).unwrap();
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let size = words.next()?.parse().ok()?;
            let root = words.next()?.parse().ok()?;
            Some((size, root))
        })
        .collect()
}

fn readme_log() -> MemLog<Sha256> {
    let mut log = MemLog::new();
    for leaf in readme_leaves() {
        log.append(leaf_hash::<Sha256>(&leaf)).unwrap();
    }
    log
}

#[test]
fn the_readme_roots_come_out_of_the_frontier_and_the_stored_nodes() {
    let roots = readme_roots();
    assert_eq!(roots.len(), 9, "the README lists the roots of sizes 0 to 8");
    let mut log = MemLog::<Sha256>::new();
    let leaves = readme_leaves();
    for (size, root) in roots {
        assert_eq!(log.size(), size);
        assert_eq!(log.root(), root, "root of size {size}");
        if let Some(leaf) = leaves.get(size as usize) {
            log.append(leaf_hash::<Sha256>(leaf)).unwrap();
        }
    }
    let log = readme_log();
    for (size, root) in readme_roots() {
        assert_eq!(
            suyuan_ledger::merkle::log::root_at::<Sha256>(&log, size),
            Ok(root)
        );
    }
}

/// Every accepted vector over the README's leaves is exactly the proof this code produces.
#[test]
fn accepted_proofs_are_the_ones_this_code_produces() {
    let log = readme_log();
    let mut compared = 0;
    for path in json_files(&vectors_dir()) {
        let case = load(&path);
        if case["wantErr"].as_bool() != Some(false) {
            continue;
        }
        let Ok(path_hashes) = proof_hashes(&case) else {
            continue;
        };
        if case.get("leafIdx").is_some() {
            let (index, size) = (size(&case, "leafIdx"), size(&case, "treeSize"));
            let leaf = bytes(&case, "leafHash");
            if size > 8 || leaf != leaf_hash::<Sha256>(&readme_leaves()[index as usize]).0 {
                continue;
            }
            let proof = inclusion_proof::<Sha256>(&log, index, size).unwrap();
            assert_eq!(proof.path, path_hashes, "{}", path.display());
        } else {
            let (old, new) = (size(&case, "size1"), size(&case, "size2"));
            if new > 8 || bytes(&case, "root1").len() != 32 {
                continue;
            }
            let proof = consistency_proof::<Sha256>(&log, old, new).unwrap();
            assert_eq!(proof.path, path_hashes, "{}", path.display());
        }
        compared += 1;
    }
    assert!(compared >= 10, "only {compared} proofs compared");
}

/// The copy in this repository is the shared set, file for file, where the shared set is at hand
/// (`../shared/vectors/rfc6962` beside the repository): a vector added there must be copied here.
#[test]
fn the_copy_matches_the_shared_vectors_where_they_are_at_hand() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/rfc6962");
    if !shared.is_dir() {
        eprintln!(
            "no shared vectors at {}; nothing to compare",
            shared.display()
        );
        return;
    }
    let ours: Vec<_> = json_files(&vectors_dir())
        .iter()
        .map(|p| p.strip_prefix(vectors_dir()).unwrap().to_path_buf())
        .collect();
    let theirs: Vec<_> = json_files(&shared)
        .iter()
        .map(|p| p.strip_prefix(&shared).unwrap().to_path_buf())
        .collect();
    assert_eq!(ours, theirs, "the same vector files");
    for relative in ours {
        assert_eq!(
            std::fs::read(vectors_dir().join(&relative)).unwrap(),
            std::fs::read(shared.join(&relative)).unwrap(),
            "{} differs from the shared copy",
            relative.display()
        );
    }
}
