//! The crate graph keeps its shape: `ledger` and `consensus` stay pure.
//!
//! They may not depend, directly or through another crate, on an I/O crate (tokio, libp2p,
//! rocksdb, axum) or on any other crate of this workspace, so that the domain and the protocol
//! can be reasoned about, simulated and verified offline without the node.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

const FORBIDDEN: &[&str] = &[
    "tokio",
    "libp2p",
    "rocksdb",
    "librocksdb-sys",
    "axum",
    "hyper",
    "mio",
];
const PURE_CRATES: &[&str] = &["suyuan-ledger", "suyuan-consensus"];

/// Normal (non-dev, non-build) dependencies of every package, by package id.
fn dependency_graph() -> (BTreeMap<String, String>, BTreeMap<String, Vec<String>>) {
    // Only this platform's dependencies: they are the ones built here, so no download is needed.
    let host = host_triple();
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &host,
        ])
        .current_dir(suyuan_tests::workspace_root())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: BTreeMap<String, String> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut edges = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().unwrap() {
        let normal: Vec<String> = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|dep| {
                dep["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|kind| kind["kind"].is_null())
            })
            .map(|dep| dep["pkg"].as_str().unwrap().to_owned())
            .collect();
        edges.insert(node["id"].as_str().unwrap().to_owned(), normal);
    }
    (names, edges)
}

fn host_triple() -> String {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

fn reachable(start: &str, edges: &BTreeMap<String, Vec<String>>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<String> = edges[start].clone();
    while let Some(id) = stack.pop() {
        if seen.insert(id.clone()) {
            stack.extend(edges.get(&id).cloned().unwrap_or_default());
        }
    }
    seen
}

#[test]
fn ledger_and_consensus_depend_on_no_io_crate_and_no_sibling() {
    let (names, edges) = dependency_graph();
    let workspace: BTreeSet<&str> = names
        .values()
        .filter(|name| name.starts_with("suyuan-"))
        .map(String::as_str)
        .collect();
    assert!(
        workspace.len() >= 5,
        "workspace crates found: {workspace:?}"
    );
    for pure in PURE_CRATES {
        let id = names
            .iter()
            .find(|(_, name)| name == pure)
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| panic!("{pure} is a workspace member"));
        let deps: BTreeSet<&str> = reachable(&id, &edges)
            .iter()
            .map(|id| names[id].as_str())
            .collect();
        for name in &deps {
            assert!(
                !FORBIDDEN.contains(name),
                "{pure} depends on {name}, an I/O crate"
            );
            assert!(
                !workspace.contains(name),
                "{pure} depends on {name}, a workspace crate"
            );
        }
    }
}
