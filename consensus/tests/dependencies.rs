//! Keep consensus pure: no I/O runtime, network, database or web crate, and no crate of ours.

use std::process::Command;

/// Crates that would mean I/O, a runtime or a layering breach inside consensus.
const FORBIDDEN: &[&str] = &[
    "tokio",
    "async-std",
    "mio",
    "libp2p",
    "rocksdb",
    "librocksdb-sys",
    "axum",
    "hyper",
    "tower",
    "reqwest",
    "rand",
    "getrandom",
];

fn dependency_names(features: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "suyuan-consensus",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}"])
        .args(features)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let names: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    assert!(
        names.iter().any(|n| n == "ed25519-dalek"),
        "cargo tree output looks wrong: {names:?}"
    );
    names
}

#[test]
fn consensus_depends_on_no_io_crate_and_no_crate_of_ours() {
    for features in [&[][..], &["--all-features"][..]] {
        for name in dependency_names(features) {
            assert!(
                !FORBIDDEN.contains(&name.as_str()),
                "consensus depends on {name} ({features:?})"
            );
            let ours = name.starts_with("suyuan-") && name != "suyuan-consensus";
            assert!(
                !ours,
                "consensus depends on workspace crate {name} ({features:?})"
            );
        }
    }
}
