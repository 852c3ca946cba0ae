//! `suyuan query proof`, `suyuan query consistency` and `suyuan verify` as a buyer runs them:
//! the real binary, against a real API server over RocksDB holding the demo chain with real
//! finalization certificates, then offline with nothing but the genesis file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use suyuan_api::read_only::ReadOnlyNode;
use suyuan_api::{ApiLimits, ApiState};
use suyuan_ledger::demo::Demo;
use suyuan_storage::Store;

/// The demo chain's store, an API server over it, and a directory holding `genesis.json`.
struct Fixture {
    demo: Demo,
    store: Arc<Store>,
    api: String,
    dir: PathBuf,
}

impl Fixture {
    async fn start(name: &str) -> Fixture {
        let dir =
            std::env::temp_dir().join(format!("suyuan-verify-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let demo = Demo::new(4, 7100);
        let genesis = &demo.genesis;
        std::fs::write(
            dir.join("genesis.json"),
            serde_json::to_vec_pretty(genesis).unwrap(),
        )
        .unwrap();
        let store = Arc::new(Store::open(dir.join("db"), genesis).unwrap());
        let node = Arc::new(ReadOnlyNode::new(genesis, Arc::clone(&store), 0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = format!("http://{}", listener.local_addr().unwrap());
        let state = ApiState {
            store: store.clone(),
            node,
            limits: ApiLimits::default(),
            public_url: None,
        };
        tokio::spawn(suyuan_api::serve(listener, state, std::future::pending()));
        Fixture {
            demo,
            store,
            api,
            dir,
        }
    }

    /// Commits demo story block `height`, finalized by validators 0, 1 and 2.
    fn commit(&self, height: u64) {
        let envelopes = self.demo.story()[(height - 1) as usize].clone();
        suyuan_testkit::commit_demo_block(&self.store, &self.demo, envelopes).unwrap();
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Runs the binary with `args` in the fixture's directory: exit status and standard output.
    async fn suyuan(&self, args: &[&str]) -> (i32, String) {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_suyuan"))
            .args(args)
            .current_dir(&self.dir)
            .output()
            .await
            .expect("the binary runs");
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        (
            output.status.code().expect("the binary exits"),
            format!("{stdout}{stderr}"),
        )
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Replaces `field` of the bundle's header in `path` by `value`.
fn edit_header(path: &Path, field: &str, value: Value) {
    let mut bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    bundle["header"][field] = value;
    std::fs::write(path, serde_json::to_vec_pretty(&bundle).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_fetches_a_bundle_and_verifies_it_offline() {
    let fixture = Fixture::start("bundle").await;
    for height in 1..=4 {
        fixture.commit(height);
    }
    let lot = format!("01/{}/10/C2601A", Demo::cable_gtin());
    let (status, said) = fixture
        .suyuan(&[
            "query",
            "proof",
            &lot,
            "--out",
            "bundle.json",
            "--api",
            &fixture.api,
        ])
        .await;
    assert_eq!(status, 0, "{said}");
    assert!(said.starts_with("wrote bundle.json"), "{said}");

    let (status, said) = fixture
        .suyuan(&["verify", "--genesis", "genesis.json", "bundle.json"])
        .await;
    assert_eq!(status, 0, "{said}");
    assert!(said.starts_with("holds: record "), "{said}");
    assert!(
        said.contains(&format!("is the latest for code {lot} as of height 4")),
        "{said}"
    );
    assert!(said.contains("(ship)"), "{said}");
    let cable_maker = fixture.demo.enterprises[0].profile.uscc.to_string();
    assert!(
        said.contains(&format!("for enterprise {cable_maker}")),
        "{said}"
    );
    assert!(said.contains("finalized by 3 of 4 validators"), "{said}");

    // A code nobody recorded is proven absent.
    let unknown = format!("01/{}/10/NEVER-MADE", Demo::cable_gtin());
    let (status, said) = fixture
        .suyuan(&[
            "query",
            "proof",
            &unknown,
            "-o",
            "absent.json",
            "--api",
            &fixture.api,
        ])
        .await;
    assert_eq!(status, 0, "{said}");
    let (status, said) = fixture
        .suyuan(&["verify", "--genesis", "genesis.json", "absent.json"])
        .await;
    assert_eq!(status, 0, "{said}");
    assert!(
        said.contains(&format!("code {unknown} has no record as of height 4")),
        "{said}"
    );

    // Tampered: the header's log root. Exit 1 and the reason.
    std::fs::copy(fixture.path("bundle.json"), fixture.path("tampered.json")).unwrap();
    edit_header(
        &fixture.path("tampered.json"),
        "log_root",
        Value::String("00".repeat(32)),
    );
    let (status, said) = fixture
        .suyuan(&["verify", "--genesis", "genesis.json", "tampered.json"])
        .await;
    assert_eq!(status, 1, "{said}");
    assert!(
        said.starts_with("does not hold: the certificate finalizes a block whose hash"),
        "{said}"
    );

    // Files that cannot be read as what they should be: exit 2.
    let (status, said) = fixture
        .suyuan(&["verify", "--genesis", "genesis.json", "missing.json"])
        .await;
    assert_eq!(status, 2, "{said}");
    let (status, said) = fixture
        .suyuan(&["verify", "--genesis", "bundle.json", "bundle.json"])
        .await;
    assert_eq!(status, 2, "{said}");
    assert!(said.contains("is not a genesis file"), "{said}");

    // An invalid code: the node refuses, exit 1 with the error JSON.
    let (status, said) = fixture
        .suyuan(&["query", "proof", "09520123456789", "--api", &fixture.api])
        .await;
    assert_eq!(status, 1, "{said}");
    assert!(said.contains("invalid_code"), "{said}");

    // The chain grows; the buyer who kept bundle.json checks the new head extends its log.
    fixture.commit(5);
    let (status, said) = fixture
        .suyuan(&[
            "query",
            "consistency",
            "--from",
            "4",
            "--out",
            "consistency.json",
            "--api",
            &fixture.api,
        ])
        .await;
    assert_eq!(status, 0, "{said}");
    let (status, said) = fixture
        .suyuan(&[
            "verify",
            "--genesis",
            "genesis.json",
            "--since",
            "bundle.json",
            "consistency.json",
        ])
        .await;
    assert_eq!(status, 0, "{said}");
    assert!(said.contains("the record log at height 5"), "{said}");
    assert!(said.contains("extends the log at height 4"), "{said}");
    // Against a tampered older bundle, it does not hold.
    let (status, said) = fixture
        .suyuan(&[
            "verify",
            "--genesis",
            "genesis.json",
            "--since",
            "tampered.json",
            "consistency.json",
        ])
        .await;
    assert_eq!(status, 1, "{said}");
    assert!(
        said.starts_with("does not hold: the older bundle"),
        "{said}"
    );
}
