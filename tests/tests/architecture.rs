//! The crate graph keeps its shape, and each crate's modules import one another without circles.
//!
//! - `ledger`, `consensus`, `proofs`, `epcis` and `labels` are pure: they may not depend, directly or through
//!   another crate, on an I/O crate (tokio, libp2p, rocksdb, axum), so that the domain, the
//!   protocol and proof checking can be reasoned about, simulated and verified offline.
//! - Every workspace crate depends only on the workspace crates its room allows ([`ROOMS`]):
//!   the daemon (`node`) never on the client, the tools or the CLI; the API never on the daemon.
//! - Within a crate, no import circle spans more than two files: a reader can start at the
//!   leaves and read upwards.

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
const PURE_CRATES: &[&str] = &[
    "suyuan-ledger",
    "suyuan-consensus",
    "suyuan-proofs",
    "suyuan-epcis",
    "suyuan-labels",
];

/// Each workspace crate, and the workspace crates it may depend on (normal dependencies).
const ROOMS: &[(&str, &[&str])] = &[
    ("suyuan-ledger", &[]),
    ("suyuan-consensus", &[]),
    ("suyuan-proofs", &["suyuan-ledger", "suyuan-consensus"]),
    ("suyuan-storage", &["suyuan-ledger", "suyuan-proofs"]),
    ("suyuan-epcis", &["suyuan-ledger"]),
    ("suyuan-labels", &[]),
    (
        "suyuan-api",
        &[
            "suyuan-ledger",
            "suyuan-consensus",
            "suyuan-proofs",
            "suyuan-storage",
            "suyuan-epcis",
            "suyuan-labels",
        ],
    ),
    (
        "suyuan-node",
        &[
            "suyuan-ledger",
            "suyuan-consensus",
            "suyuan-proofs",
            "suyuan-storage",
            "suyuan-api",
        ],
    ),
    (
        "suyuan-client",
        &["suyuan-ledger", "suyuan-proofs", "suyuan-api"],
    ),
    (
        "suyuan-import",
        &[
            "suyuan-ledger",
            "suyuan-api",
            "suyuan-client",
            "suyuan-epcis",
        ],
    ),
    (
        "suyuan-audit",
        &[
            "suyuan-ledger",
            "suyuan-consensus",
            "suyuan-proofs",
            "suyuan-storage",
            "suyuan-api",
            "suyuan-client",
        ],
    ),
    (
        "suyuan-bench",
        &[
            "suyuan-ledger",
            "suyuan-api",
            "suyuan-client",
            "suyuan-node",
        ],
    ),
    ("suyuan-byzantine", &["suyuan-node"]),
    (
        "suyuan-pg-baseline",
        &["suyuan-ledger", "suyuan-api", "suyuan-client"],
    ),
    (
        "suyuan-cli",
        &[
            "suyuan-ledger",
            "suyuan-consensus",
            "suyuan-proofs",
            "suyuan-storage",
            "suyuan-api",
            "suyuan-node",
            "suyuan-client",
            "suyuan-audit",
            "suyuan-bench",
            "suyuan-epcis",
            "suyuan-import",
            "suyuan-labels",
        ],
    ),
    (
        "suyuan-testkit",
        &[
            "suyuan-ledger",
            "suyuan-proofs",
            "suyuan-storage",
            "suyuan-api",
            "suyuan-client",
        ],
    ),
    ("suyuan-tests", &[]),
];

/// The source folders of the workspace's crates, for the import rule.
const SOURCE_DIRS: &[&str] = &[
    "ledger/src",
    "consensus/src",
    "proofs/src",
    "storage/src",
    "epcis/src",
    "labels/src",
    "api/src",
    "node/src",
    "client/src",
    "tools/audit/src",
    "tools/bench/src",
    "tools/byzantine/src",
    "tools/pg-baseline/src",
    "cli/src",
    "testkit/src",
    "tests/src",
];

/// The largest import circle allowed inside a crate, in files.
const MAX_IMPORT_CIRCLE_FILES: usize = 2;

/// What `cargo ARGS` prints, run in the workspace; it must succeed.
fn cargo(args: &[&str]) -> Vec<u8> {
    let output = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(suyuan_tests::workspace_root())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Normal (non-dev, non-build) dependencies of every package, by package id.
fn dependency_graph() -> (BTreeMap<String, String>, BTreeMap<String, Vec<String>>) {
    // Only this platform's dependencies: they are the ones built here, so no download is needed.
    let host = host_triple();
    let output = cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--offline",
        "--filter-platform",
        &host,
    ]);
    let metadata: Value = serde_json::from_slice(&output).unwrap();
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
fn pure_crates_depend_on_no_io_crate() {
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
        }
    }
}

#[test]
fn every_crate_depends_only_on_the_rooms_it_may() {
    let (names, edges) = dependency_graph();
    let rooms: BTreeMap<&str, &[&str]> = ROOMS.iter().copied().collect();
    let workspace: BTreeSet<&str> = names
        .values()
        .filter(|name| name.starts_with("suyuan-"))
        .map(String::as_str)
        .collect();
    for name in &workspace {
        assert!(
            rooms.contains_key(name),
            "{name} is a workspace crate with no room in ROOMS: say what it may depend on"
        );
    }
    for (id, name) in &names {
        let Some(allowed) = rooms.get(name.as_str()) else {
            continue;
        };
        for dep in &edges[id] {
            let dep = names[dep].as_str();
            assert!(
                !workspace.contains(dep) || allowed.contains(&dep),
                "{name} depends on {dep}, which its room does not allow"
            );
        }
    }
    // Not only directly: the daemon's whole graph is free of the tools and the CLI.
    let node = names
        .iter()
        .find(|(_, name)| *name == "suyuan-node")
        .map(|(id, _)| id.clone())
        .expect("suyuan-node is a workspace member");
    for dep in reachable(&node, &edges) {
        let dep = names[&dep].as_str();
        assert!(
            ![
                "suyuan-client",
                "suyuan-audit",
                "suyuan-bench",
                "suyuan-byzantine",
                "suyuan-cli",
                "suyuan-testkit"
            ]
            .contains(&dep),
            "the daemon depends on {dep}"
        );
    }
}

#[test]
fn no_import_circle_spans_more_than_two_files() {
    let root = suyuan_tests::imports::module_graph;
    let workspace = suyuan_tests::workspace_root();
    let mut found = Vec::new();
    for dir in SOURCE_DIRS {
        let modules = root(&workspace.join(dir));
        assert!(!modules.is_empty(), "{dir}: no modules found");
        for circle in suyuan_tests::imports::circles(&modules) {
            if circle.len() > MAX_IMPORT_CIRCLE_FILES {
                found.push(format!("{dir}: {} files: {circle:?}", circle.len()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "modules that import one another in a circle of more than {MAX_IMPORT_CIRCLE_FILES} \
         files:\n{}",
        found.join("\n")
    );
}

/// The features RocksDB's bindings and their build script are built with, as `cargo tree` shows
/// them below `librocksdb-sys` when building `selection`: one line per package, with its
/// features and depth, in tree order.
fn rocksdb_build(selection: &[&str]) -> Vec<String> {
    let tree = [
        "tree",
        "--offline",
        "-e",
        "normal,build",
        "--no-dedupe",
        "--prefix",
        "depth",
        "-f",
        "{p} {f}",
    ];
    let args: Vec<&str> = tree.iter().chain(selection).copied().collect();
    let text = String::from_utf8(cargo(&args)).expect("cargo tree prints UTF-8");
    let depth = |line: &str| -> usize {
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        line[..digits]
            .parse()
            .expect("each line starts with its depth")
    };
    let mut lines = text.lines();
    let Some(root) = lines.find(|line| line.contains("librocksdb-sys v")) else {
        return Vec::new();
    };
    let root_depth = depth(root);
    let mut subtree = vec![root[root_depth.to_string().len()..].to_owned()];
    subtree.extend(
        lines
            .take_while(|line| depth(line) > root_depth)
            .map(|line| {
                format!(
                    "{} {}",
                    depth(line) - root_depth,
                    line.trim_start_matches(char::is_numeric)
                )
            }),
    );
    subtree
}

/// `cargo test -p CRATE` resolves features for that crate alone; had RocksDB's bindings other
/// features there than in the workspace build, every such run would compile RocksDB's C++
/// again (13 minutes on a 2-core machine). `storage/Cargo.toml` pins them; this keeps it so.
#[test]
fn one_crate_builds_reuse_the_workspace_rocksdb_build() {
    let workspace = rocksdb_build(&["--workspace"]);
    assert!(
        workspace.len() > 10,
        "the workspace builds RocksDB's bindings: {workspace:?}"
    );
    for member in [
        "suyuan-storage",
        "suyuan-api",
        "suyuan-node",
        "suyuan-audit",
        "suyuan-pg-baseline",
    ] {
        let alone = rocksdb_build(&["-p", member]);
        assert_eq!(
            alone, workspace,
            "`cargo test -p {member}` would build RocksDB with other features than the workspace"
        );
    }
}
