//! Check rules that span the workspace, and drive the `suyuan` binary end to end.
//!
//! The tests live in `tests/tests/`; this library holds what they share: the path of the built
//! `suyuan` binary and of the workspace.

use std::path::PathBuf;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits one level below the workspace root")
        .to_path_buf()
}

/// The `suyuan` binary built in the same profile and target directory as these tests.
///
/// Cargo builds a workspace's binaries before running any integration test of the workspace
/// (`cargo test --workspace`), next to the `deps` directory the test runs from.
pub fn suyuan_binary() -> PathBuf {
    let test_exe = std::env::current_exe().expect("a running test knows its own path");
    let profile_dir = test_exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries sit in <target>/<profile>/deps");
    let binary = profile_dir.join("suyuan");
    assert!(
        binary.exists(),
        "{} is missing: run the tests with `cargo test --workspace` so the binary is built",
        binary.display()
    );
    binary
}
