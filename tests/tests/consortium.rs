//! A consortium of four `suyuan run` processes on loopback with RocksDB on disk, started,
//! crashed and restarted with the `testnet/*.sh` scripts an operator uses.
//!
//! What must hold: every node finalizes the same block at every height; with one validator
//! crashed (SIGKILL) the other three go on, and the crashed one catches up on restart; with two
//! crashed nothing is finalized, no two nodes disagree, and one restart resumes finalization;
//! every record acknowledged as committed is on every node after all restarts; a node whose
//! disk is replaced by an old backup (`suyuan backup` / `suyuan restore`) catches up by block
//! sync. One testnet runs at a time: four nodes already keep a 2-core machine busy.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, uscc};
use suyuan_ledger::record::{Record, RegisterEnterprise};
use suyuan_tests::{Testnet, http_get, suyuan_binary};

/// Held by each test for its whole run.
static ONE_TESTNET_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How long a submitted record may take to commit, on a loaded machine.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a restarted node may take to catch up with the others.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(90);

/// How long a network without a quorum is watched for a block it must not finalize.
const HALT_WATCH: Duration = Duration::from_secs(5);

/// Bound on one HTTP request to a node.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a condition is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Where a committed transaction sits.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Committed {
    /// Transaction id, hex.
    id: String,
    /// Block height.
    height: u64,
    /// Position in the block.
    index: u64,
}

/// A testnet and the records the test submitted to it.
struct Consortium {
    testnet: Testnet,
    /// Record files to submit are written here.
    records_dir: PathBuf,
    /// Tells this test's enterprises apart from other tests'.
    slot: u16,
    /// Records written so far; the next one's number and nonce.
    records: u32,
    /// Transactions seen committed, with where; checked on every node at the end.
    committed: Vec<Committed>,
}

impl Consortium {
    /// Initialises a 4-validator testnet with `testnet/init.sh` and starts it.
    fn start(name: &str, slot: u16) -> Consortium {
        let testnet = Testnet::init(name, 4, slot);
        let records_dir = testnet.dir().with_extension("records");
        let _ = std::fs::remove_dir_all(&records_dir);
        std::fs::create_dir_all(&records_dir).unwrap();
        let consortium = Consortium {
            testnet,
            records_dir,
            slot,
            records: 0,
            committed: Vec::new(),
        };
        consortium.testnet.start(&[]);
        consortium.check_identities();
        consortium
    }

    /// Each API answers for its own validator of this chain.
    fn check_identities(&self) {
        for node in 0..self.testnet.validators() {
            let status = self
                .status(node)
                .unwrap_or_else(|e| panic!("node {node}: {e}"));
            assert_eq!(status["chain_id"], self.testnet.chain_id(), "{status}");
            assert_eq!(status["node"]["index"], node, "{status}");
        }
    }

    /// Each node restarted itself with glibc's malloc arenas bounded, under its own pid (the
    /// pid file still names it): `suyuan run` sets `MALLOC_ARENA_MAX` when it is unset.
    fn check_malloc_arenas_bounded(&self) {
        if !cfg!(target_env = "gnu") {
            return;
        }
        for node in 0..self.testnet.validators() {
            let pid = self.testnet.pid(node).expect("the node runs");
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
            let bound = environ
                .split(|&byte| byte == 0)
                .find_map(|entry| entry.strip_prefix(b"MALLOC_ARENA_MAX="))
                .map(|value| String::from_utf8_lossy(value).into_owned());
            let arenas: usize = bound
                .unwrap_or_else(|| panic!("node {node} runs without MALLOC_ARENA_MAX"))
                .parse()
                .unwrap();
            assert!(arenas >= 2, "node {node}: {arenas} arenas");
        }
    }

    /// Writes a new `register_enterprise` record (a distinct valid USCC each time) and returns
    /// its file and nonce.
    fn next_record(&mut self) -> (PathBuf, u32) {
        self.records += 1;
        let number = self.records;
        let mut enterprise = Demo::new(4, 7_100).enterprises[0].profile.clone();
        enterprise.uscc = uscc(&format!("91420100MA{:01}{number:06}", self.slot));
        enterprise.name = format!("Consortium test enterprise {number}")
            .parse()
            .unwrap();
        let record = Record::RegisterEnterprise(RegisterEnterprise {
            enterprise,
            keys: vec![KeyPair::generate().public()],
            prefixes: Vec::new(),
        });
        let path = self.records_dir.join(format!("record-{number}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&record).unwrap()).unwrap();
        (path, number)
    }

    /// `suyuan submit` of a new record through `node`, signed by the bureau; `--wait` if
    /// `wait`. Returns the JSON it prints; panics unless it exits 0.
    fn submit(&mut self, node: usize, wait: bool) -> Value {
        let (record, nonce) = self.next_record();
        let mut command = Command::new(suyuan_binary());
        command
            .arg("submit")
            .args(["--api", &self.testnet.api_url(node)])
            .arg("--key")
            .arg(self.testnet.key_path("bureau"))
            .arg("--record")
            .arg(&record)
            .args(["--nonce", &nonce.to_string(), "--json"]);
        if wait {
            command.args([
                "--wait",
                "--timeout-secs",
                &COMMIT_TIMEOUT.as_secs().to_string(),
            ]);
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "suyuan submit through node {node} failed ({}):\n{stdout}{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            self.testnet.status_table()
        );
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("suyuan submit --json printed no JSON ({e}): {stdout}"))
    }

    /// Submits a record through `node` and waits until it is committed; remembers where.
    fn submit_and_wait(&mut self, node: usize) -> Committed {
        let printed = self.submit(node, true);
        let committed = Committed {
            id: string_field(&printed, "id"),
            height: u64_field(&printed, "height"),
            index: u64_field(&printed, "index"),
        };
        self.committed.push(committed.clone());
        committed
    }

    /// Submits a record through `node` without waiting; returns its transaction id.
    fn submit_pending(&mut self, node: usize) -> String {
        string_field(&self.submit(node, false), "id")
    }

    /// GET `path` from `node`'s API: the status and the JSON body.
    fn get(&self, node: usize, path: &str) -> Result<(u16, Value), String> {
        let url = self.testnet.api_url(node);
        let response =
            http_get(&url, path, HTTP_TIMEOUT).map_err(|e| format!("GET {url}{path}: {e}"))?;
        let body = serde_json::from_slice(&response.body).map_err(|e| {
            format!(
                "GET {url}{path}: {} with a body that is not JSON ({e}): {}",
                response.status,
                response.text()
            )
        })?;
        Ok((response.status, body))
    }

    /// `node`'s `/v1/status`.
    fn status(&self, node: usize) -> Result<Value, String> {
        match self.get(node, "/v1/status")? {
            (200, status) => Ok(status),
            (code, body) => Err(format!("node {node}: GET /v1/status: {code} {body}")),
        }
    }

    /// `node`'s committed height, or None if it does not answer.
    fn height(&self, node: usize) -> Option<u64> {
        self.status(node).ok()?["height"].as_u64()
    }

    /// The heights of `nodes`, each of which must answer.
    fn heights(&self, nodes: &[usize]) -> BTreeMap<usize, u64> {
        nodes
            .iter()
            .map(|&node| {
                let height = self.height(node).unwrap_or_else(|| {
                    panic!(
                        "node {node} does not answer\n{}",
                        self.testnet.status_table()
                    )
                });
                (node, height)
            })
            .collect()
    }

    /// Where `node` says transaction `id` is, if it has committed it.
    fn committed_on(&self, node: usize, id: &str) -> Option<(Committed, String)> {
        let (code, tx) = self.get(node, &format!("/v1/transactions/{id}")).ok()?;
        if code != 200 || tx["status"] != "committed" {
            return None;
        }
        let committed = Committed {
            id: string_field(&tx, "id"),
            height: u64_field(&tx, "height"),
            index: u64_field(&tx, "index"),
        };
        Some((committed, string_field(&tx, "block_hash")))
    }

    /// Polls `done` until it holds; panics naming `what` after `timeout`.
    fn wait_for(&self, what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < timeout,
                "{what}: not within {timeout:?}\n{}",
                self.testnet.status_table()
            );
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Waits until every one of `nodes` has reached `height`.
    fn wait_for_height(&self, nodes: &[usize], height: u64, timeout: Duration) {
        self.wait_for(
            &format!("nodes {nodes:?} reach height {height}"),
            timeout,
            || nodes.iter().all(|&node| self.height(node) >= Some(height)),
        );
    }

    /// Highest height of a transaction seen committed.
    fn highest_committed(&self) -> u64 {
        self.committed.iter().map(|c| c.height).max().unwrap_or(0)
    }

    /// Every one of `nodes` has the same block, hash and transactions, at every height up to
    /// the lowest of their heights; returns that height.
    fn assert_agreement(&self, nodes: &[usize]) -> u64 {
        let common = *self.heights(nodes).values().min().unwrap();
        for height in 1..=common {
            let blocks: Vec<(usize, Value, Value)> = nodes
                .iter()
                .map(|&node| {
                    let path = format!("/v1/blocks/{height}");
                    match self.get(node, &path) {
                        Ok((200, block)) => {
                            assert_eq!(block["height"], height, "node {node}: {block}");
                            (node, block["hash"].clone(), block["transactions"].clone())
                        }
                        other => panic!("node {node}: GET {path}: {other:?}"),
                    }
                })
                .collect();
            let (first, hash, transactions) = &blocks[0];
            assert!(hash.is_string(), "node {first}: block {height} has no hash");
            for (node, other_hash, other_transactions) in &blocks[1..] {
                assert_eq!(
                    (other_hash, other_transactions),
                    (hash, transactions),
                    "nodes {first} and {node} disagree on block {height}"
                );
            }
        }
        eprintln!("nodes {nodes:?} agree on blocks 1 to {common}");
        common
    }

    /// Every transaction seen committed is committed on every one of `nodes`, at the same
    /// height and index, in a block of the same hash.
    fn assert_committed_everywhere(&self, nodes: &[usize]) {
        for expected in &self.committed {
            let mut block_hashes = BTreeMap::new();
            for &node in nodes {
                let (found, block_hash) =
                    self.committed_on(node, &expected.id).unwrap_or_else(|| {
                        panic!("node {node} has not committed {expected:?}, acknowledged earlier")
                    });
                assert_eq!(&found, expected, "node {node}");
                block_hashes.insert(node, block_hash);
            }
            let distinct: std::collections::BTreeSet<_> = block_hashes.values().collect();
            assert_eq!(distinct.len(), 1, "{expected:?}: {block_hashes:?}");
        }
    }
}

impl Drop for Consortium {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.records_dir);
        }
    }
}

fn string_field(json: &Value, name: &str) -> String {
    json[name]
        .as_str()
        .unwrap_or_else(|| panic!("no string {name:?} in {json}"))
        .to_owned()
}

fn u64_field(json: &Value, name: &str) -> u64 {
    json[name]
        .as_u64()
        .unwrap_or_else(|| panic!("no number {name:?} in {json}"))
}

const ALL: [usize; 4] = [0, 1, 2, 3];

#[test]
fn n4_records_submitted_to_one_node_finalize_identically_on_all_and_survive_a_full_restart() {
    let _one = ONE_TESTNET_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let mut consortium = Consortium::start("agree", 0);
    consortium.check_malloc_arenas_bounded();

    for _ in 0..4 {
        consortium.submit_and_wait(0);
    }
    // A burst without waiting, so that blocks carry several transactions.
    let burst: Vec<String> = (0..8).map(|_| consortium.submit_pending(0)).collect();
    consortium.submit_and_wait(0);
    for id in &burst {
        consortium.wait_for(&format!("{id} commits"), COMMIT_TIMEOUT, || {
            consortium.committed_on(0, id).is_some()
        });
        let (committed, _) = consortium.committed_on(0, id).unwrap();
        consortium.committed.push(committed);
    }
    consortium.wait_for_height(&ALL, consortium.highest_committed(), COMMIT_TIMEOUT);
    consortium.assert_agreement(&ALL);
    consortium.assert_committed_everywhere(&ALL);

    // An operator's mistakes are refused: a second start of a running node.
    let again = consortium.testnet.run_script(
        "start.sh",
        &[consortium.testnet.dir().to_str().unwrap(), "0"],
    );
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("running already"), "{stderr}");

    // A clean stop of every node (SIGTERM) and a start from what each stored.
    consortium.testnet.stop(&[]);
    consortium.testnet.start(&[]);
    consortium.assert_committed_everywhere(&ALL);
    consortium.submit_and_wait(2);
    consortium.wait_for_height(&ALL, consortium.highest_committed(), COMMIT_TIMEOUT);
    consortium.assert_agreement(&ALL);
    consortium.assert_committed_everywhere(&ALL);

    // down.sh stops every node and deletes the testnet.
    let testnet = &consortium.testnet;
    let down = testnet.run_script("down.sh", &[testnet.dir().to_str().unwrap()]);
    assert!(down.status.success(), "{down:?}");
    assert!(!testnet.dir().exists());
    for node in ALL {
        let answer = http_get(&testnet.api_url(node), "/healthz", HTTP_TIMEOUT);
        assert!(answer.is_err(), "node {node} still answers: {answer:?}");
    }
}

#[test]
fn n4_f1_crash_keeps_finalizing_and_the_restarted_node_catches_up() {
    let _one = ONE_TESTNET_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let mut consortium = Consortium::start("crash-one", 1);
    consortium.submit_and_wait(0);
    consortium.submit_and_wait(0);

    consortium.testnet.kill(&[3]);
    let live = [0, 1, 2];
    let before = consortium.heights(&live);
    for _ in 0..3 {
        consortium.submit_and_wait(1);
    }
    consortium.wait_for_height(&live, consortium.highest_committed(), COMMIT_TIMEOUT);
    for (node, height) in consortium.heights(&live) {
        assert!(height > before[&node], "node {node} stayed at {height}");
    }
    consortium.assert_agreement(&live);
    consortium.assert_committed_everywhere(&live);

    consortium.testnet.start(&[3]);
    let target = *consortium.heights(&live).values().max().unwrap();
    consortium.wait_for_height(&[3], target, CATCH_UP_TIMEOUT);
    // The restarted node takes part again: a record submitted through it commits.
    consortium.submit_and_wait(3);
    consortium.wait_for_height(&ALL, consortium.highest_committed(), COMMIT_TIMEOUT);
    consortium.assert_agreement(&ALL);
    consortium.assert_committed_everywhere(&ALL);
}

/// Runs `suyuan backup` or `suyuan restore` for validator `node`, which must be stopped.
fn backup_or_restore(
    consortium: &Consortium,
    command: &str,
    node: usize,
    flag: &str,
    dir: &std::path::Path,
) {
    let config = consortium
        .testnet
        .dir()
        .join(format!("validator-{node}/config.toml"));
    let output = Command::new(suyuan_binary())
        .arg(command)
        .arg("--config")
        .arg(&config)
        .arg(flag)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "suyuan {command} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn n4_a_node_restored_from_an_old_backup_catches_up_by_block_sync() {
    let _one = ONE_TESTNET_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let mut consortium = Consortium::start("restore", 4);
    consortium.submit_and_wait(0);
    let backup = consortium.testnet.dir().join("backup-2");
    consortium.testnet.stop(&[2]);
    backup_or_restore(&consortium, "backup", 2, "--out", &backup);
    // A running node's database is locked: the backup refuses rather than copy it.
    consortium.testnet.start(&[2]);
    let refused = Command::new(suyuan_binary())
        .args(["backup", "--config"])
        .arg(consortium.testnet.dir().join("validator-2/config.toml"))
        .arg("--out")
        .arg(consortium.testnet.dir().join("backup-refused"))
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "a running node's store was backed up"
    );
    for node in [0, 1, 2, 3] {
        consortium.submit_and_wait(node);
    }
    // The node loses its disk: restored from the old backup, it is behind, fetches the
    // blocks finalized since from its peers, and agrees.
    consortium.testnet.stop(&[2]);
    backup_or_restore(&consortium, "restore", 2, "--from", &backup);
    consortium.testnet.start(&[2]);
    let target = *consortium.heights(&[0, 1, 3]).values().max().unwrap();
    consortium.wait_for_height(&[2], target, CATCH_UP_TIMEOUT);
    // The node logs the catch-up just after committing the blocks, so the height can be seen
    // before the line is written: wait for the line rather than read the log once.
    consortium.wait_for(
        "the restored node logs that it caught up by block sync",
        COMMIT_TIMEOUT,
        || {
            std::fs::read_to_string(consortium.testnet.log_path(2))
                .is_ok_and(|log| log.contains("caught up by block sync"))
        },
    );
    consortium.submit_and_wait(2);
    consortium.wait_for_height(&ALL, consortium.highest_committed(), COMMIT_TIMEOUT);
    consortium.assert_agreement(&ALL);
    consortium.assert_committed_everywhere(&ALL);
}

#[test]
fn n4_f2_crash_halts_without_disagreement_and_one_restart_resumes() {
    let _one = ONE_TESTNET_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let mut consortium = Consortium::start("crash-two", 2);
    consortium.submit_and_wait(0);

    consortium.testnet.kill(&[2, 3]);
    let live = [0, 1];
    // A certificate formed before the crash may still be delivered; then nothing more can be
    // finalized. (A node behind the other may still fetch blocks finalized before the crash,
    // so the highest height is what must stay.)
    std::thread::sleep(Duration::from_secs(1));
    let halted = *consortium.heights(&live).values().max().unwrap();
    let pending = consortium.submit_pending(0);
    let watch = Instant::now();
    while watch.elapsed() < HALT_WATCH {
        let heights = consortium.heights(&live);
        assert!(
            heights.values().all(|&height| height <= halted),
            "two of four validators finalized a block without a quorum: {heights:?}, \
             halted at {halted}"
        );
        assert!(consortium.committed_on(0, &pending).is_none());
        std::thread::sleep(POLL_INTERVAL);
    }
    consortium.assert_agreement(&live);

    consortium.testnet.start(&[2]);
    let live = [0, 1, 2];
    consortium.wait_for(
        "the record submitted while halted commits after one restart",
        COMMIT_TIMEOUT,
        || consortium.committed_on(0, &pending).is_some(),
    );
    let (committed, _) = consortium.committed_on(0, &pending).unwrap();
    assert!(
        committed.height > halted,
        "{committed:?}, halted at {halted}"
    );
    consortium.committed.push(committed);
    consortium.submit_and_wait(1);
    consortium.wait_for_height(&live, consortium.highest_committed(), COMMIT_TIMEOUT);
    consortium.assert_agreement(&live);

    consortium.testnet.start(&[3]);
    consortium.wait_for_height(&ALL, consortium.highest_committed(), CATCH_UP_TIMEOUT);
    consortium.assert_agreement(&ALL);
    consortium.assert_committed_everywhere(&ALL);
}

#[test]
fn testnet_scripts_refuse_bad_directories_and_down_deletes_a_testnet() {
    let testnet = Testnet::init("scripts", 2, 3);
    let dir = testnet.dir().to_str().unwrap().to_owned();
    for script in ["start.sh", "stop.sh", "status.sh", "down.sh"] {
        let output = testnet.run_script(script, &["/nonexistent-suyuan-testnet"]);
        assert_eq!(output.status.code(), Some(1), "{script}");
        let help = testnet.run_script(script, &["--help"]);
        assert!(help.status.success(), "{script} --help");
        assert!(String::from_utf8_lossy(&help.stdout).starts_with("Usage: testnet/"));
    }
    let output = testnet.run_script("start.sh", &[&dir, "7"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("no validator-7"));
    // status.sh reports stopped nodes, and exits 1 since not all run.
    let output = testnet.run_script("status.sh", &[&dir]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout)
            .matches("stopped")
            .count(),
        2
    );

    // down.sh deletes only what init.sh wrote.
    let stray = testnet.dir().join("notes.txt");
    std::fs::write(&stray, "mine").unwrap();
    let output = testnet.run_script("down.sh", &[&dir]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("notes.txt"));
    assert!(stray.exists());
    std::fs::remove_file(&stray).unwrap();
    let output = testnet.run_script("down.sh", &[&dir]);
    assert!(output.status.success(), "{output:?}");
    assert!(!testnet.dir().exists());
}
