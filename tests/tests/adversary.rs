//! Consortia of real `suyuan run` processes (RocksDB on disk, libp2p on loopback) with one or
//! f validators run as `suyuan-byzantine`, faulty on purpose, and hostile clients; issue 14.
//!
//! What must hold with at most f faulty validators: the chain keeps finalizing blocks, and
//! every honest leader keeps getting its blocks in; block times stay monotonic and never more
//! than the clock tolerance ahead of true time; honest nodes' memory stays bounded; honest
//! clients keep getting their records admitted and committed; faulty peers are counted, not
//! obeyed, and do not flood the honest nodes' logs. One testnet runs at a time: four nodes
//! already keep a 2-core machine busy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, uscc};
use suyuan_ledger::record::{Record, RegisterEnterprise};
use suyuan_tests::{Testnet, http_get, suyuan_binary};

/// Held by each test for its whole run.
static ONE_TESTNET_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Bound on one HTTP request to a node.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the chain is watched for its rate of blocks.
const RATE_WINDOW: Duration = Duration::from_secs(30);

/// The clock tolerance of a testnet's nodes: the default leader timeout.
const TOLERANCE_MS: u64 = 2_500;

/// How long a record may take to commit on a loaded machine.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(60);

/// A testnet under test, and what the test reads from it.
struct Run {
    testnet: Testnet,
    records_dir: PathBuf,
    records: u32,
    slot: u16,
}

impl Run {
    /// A started testnet of `validators` honest validators.
    fn start(name: &str, validators: usize, slot: u16) -> Run {
        let testnet = Testnet::init(name, validators, slot);
        let records_dir = testnet.dir().with_extension("records");
        let _ = std::fs::remove_dir_all(&records_dir);
        std::fs::create_dir_all(&records_dir).unwrap();
        testnet.start(&[]);
        Run {
            testnet,
            records_dir,
            records: 0,
            slot,
        }
    }

    /// Restarts validator `index` as `suyuan-byzantine` misbehaving as `misbehaviour` says.
    fn make_byzantine(&self, index: usize, misbehaviour: &[(&str, &str)]) {
        self.testnet.stop(&[index]);
        self.testnet.start_byzantine(index, misbehaviour);
    }

    /// GET `path` from `node`: status and JSON body.
    fn get(&self, node: usize, path: &str) -> Result<(u16, Value), String> {
        let url = self.testnet.api_url(node);
        let response =
            http_get(&url, path, HTTP_TIMEOUT).map_err(|e| format!("GET {url}{path}: {e}"))?;
        let body = serde_json::from_slice(&response.body)
            .map_err(|e| format!("GET {url}{path}: not JSON ({e}): {}", response.text()))?;
        Ok((response.status, body))
    }

    /// `node`'s committed height; panics if it does not answer.
    fn height(&self, node: usize) -> u64 {
        match self.get(node, "/v1/status") {
            Ok((200, status)) => status["height"].as_u64().expect("a height"),
            other => panic!(
                "node {node}: /v1/status: {other:?}\n{}",
                self.testnet.status_table()
            ),
        }
    }

    /// The header of block `height` on `node`.
    fn header(&self, node: usize, height: u64) -> Value {
        match self.get(node, &format!("/v1/blocks/{height}")) {
            Ok((200, block)) => block["header"].clone(),
            other => panic!("node {node}: block {height}: {other:?}"),
        }
    }

    /// The validators' public keys, by genesis index, as `node` lists them.
    fn validator_keys(&self, node: usize) -> Vec<String> {
        let (_, status) = self.get(node, "/v1/status").unwrap();
        status["validators"]
            .as_array()
            .expect("validators")
            .iter()
            .map(|validator| validator["public_key"].as_str().expect("a key").to_owned())
            .collect()
    }

    /// A sample of `node`'s `/metrics`.
    fn metric(&self, node: usize, series: &str) -> f64 {
        self.testnet.metric(node, series).expect("metrics")
    }

    /// Waits until `node` is at `height` or above.
    fn wait_for_height(&self, node: usize, height: u64, timeout: Duration) {
        let start = Instant::now();
        while self.height(node) < height {
            assert!(
                start.elapsed() < timeout,
                "node {node} did not reach height {height} within {timeout:?}\n{}",
                self.testnet.status_table()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Blocks per second finalized on `node` over `window`, and the heights it spanned.
    fn block_rate(&self, node: usize, window: Duration) -> (f64, u64, u64) {
        let from = self.height(node);
        std::thread::sleep(window);
        let to = self.height(node);
        ((to - from) as f64 / window.as_secs_f64(), from, to)
    }

    /// `suyuan submit` of a new record through `node`, signed by the bureau, without waiting:
    /// the transaction id and how long the submission took.
    fn submit(&mut self, node: usize) -> (String, Duration) {
        self.records += 1;
        let number = self.records;
        let mut enterprise = Demo::new(4, 7_100).enterprises[0].profile.clone();
        enterprise.uscc = uscc(&format!("91420100MB{:01}{number:06}", self.slot));
        enterprise.name = format!("Adversary test enterprise {number}")
            .parse()
            .unwrap();
        let record = Record::RegisterEnterprise(RegisterEnterprise {
            enterprise,
            keys: vec![KeyPair::generate().public()],
            prefixes: Vec::new(),
        });
        let path = self.records_dir.join(format!("record-{number}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&record).unwrap()).unwrap();
        let start = Instant::now();
        let output = Command::new(suyuan_binary())
            .arg("submit")
            .args(["--api", &self.testnet.api_url(node)])
            .arg("--key")
            .arg(self.testnet.key_path("bureau"))
            .arg("--record")
            .arg(&path)
            .args(["--nonce", &number.to_string(), "--json"])
            .output()
            .unwrap();
        let took = start.elapsed();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "an honest submission through node {node} was refused ({}):\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let printed: Value = serde_json::from_str(&stdout).unwrap();
        (printed["id"].as_str().unwrap().to_owned(), took)
    }

    /// Waits until `node` has committed every transaction of `ids`.
    fn wait_committed(&self, node: usize, ids: &[String]) {
        let start = Instant::now();
        for id in ids {
            loop {
                if let Ok((200, tx)) = self.get(node, &format!("/v1/transactions/{id}"))
                    && tx["status"] == "committed"
                {
                    break;
                }
                assert!(
                    start.elapsed() < COMMIT_TIMEOUT,
                    "node {node} has not committed {id}\n{}",
                    self.testnet.status_table()
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }

    /// Every one of `nodes` has the same block hash at every height from `from` to the lowest
    /// of their heights.
    fn assert_agreement(&self, nodes: &[usize], from: u64) {
        let common = nodes.iter().map(|&node| self.height(node)).min().unwrap();
        for height in from.max(1)..=common {
            let hashes: BTreeSet<String> = nodes
                .iter()
                .map(
                    |&node| match self.get(node, &format!("/v1/blocks/{height}")) {
                        Ok((200, block)) => block["hash"].as_str().unwrap().to_owned(),
                        other => panic!("node {node}: block {height}: {other:?}"),
                    },
                )
                .collect();
            assert_eq!(
                hashes.len(),
                1,
                "nodes disagree at height {height}: {hashes:?}"
            );
        }
    }

    /// The lines of validator `index`'s log that contain `text`.
    fn log_lines(&self, index: usize, text: &str) -> usize {
        std::fs::read_to_string(self.testnet.log_path(index))
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains(text))
            .count()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.records_dir);
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// One validator's clock 4 minutes fast, another's 4 minutes slow and a third's 2 s fast: the
/// chain keeps finalizing at ≥ 80 % of the rate with true clocks, every leader whose clock is
/// within the tolerance (the slow one included) gets blocks in, the fast one gets none, and
/// block times rise and never run more than the tolerance ahead of true time.
#[test]
fn n4_skewed_clocks_neither_halt_nor_capture_the_chain() {
    let _one = ONE_TESTNET_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let run = Run::start("skew", 4, 0);
    run.wait_for_height(0, 2, Duration::from_secs(60));
    let (honest_rate, _, _) = run.block_rate(0, RATE_WINDOW);
    eprintln!("true clocks: {honest_rate:.2} blocks/s");

    let skews: [(usize, &str); 3] = [(1, "240000"), (2, "-240000"), (3, "2000")];
    for (index, skew) in skews {
        run.make_byzantine(index, &[("BYZANTINE_CLOCK_SKEW_MS", skew)]);
    }
    let settled = run.height(0) + 3;
    run.wait_for_height(0, settled, Duration::from_secs(60));
    let (skewed_rate, from, to) = run.block_rate(0, RATE_WINDOW);
    eprintln!(
        "skewed clocks: {skewed_rate:.2} blocks/s (ratio {:.2})",
        skewed_rate / honest_rate
    );
    assert!(
        skewed_rate >= 0.8 * honest_rate,
        "{skewed_rate:.2} blocks/s with skewed clocks, {honest_rate:.2} with true ones\n{}",
        run.testnet.status_table()
    );

    let keys = run.validator_keys(0);
    let mut proposed: BTreeMap<usize, u64> = BTreeMap::new();
    let mut previous = run.header(0, from)["time_ms"].as_u64().unwrap();
    for height in from + 1..=to {
        let header = run.header(0, height);
        let time = header["time_ms"].as_u64().unwrap();
        assert!(
            time > previous,
            "block {height}: time {time} after {previous}"
        );
        assert!(
            time <= now_ms() + TOLERANCE_MS,
            "block {height}: time {time} is ahead of true time by more than the tolerance"
        );
        previous = time;
        let proposer = header["proposer"].as_str().unwrap();
        let index = keys.iter().position(|key| key == proposer).unwrap();
        *proposed.entry(index).or_default() += 1;
    }
    eprintln!("blocks by proposer over the window: {proposed:?}");
    for honest in [0, 2, 3] {
        assert!(
            proposed.get(&honest).copied().unwrap_or(0) > 0,
            "validator {honest} got no block in: {proposed:?}"
        );
    }
    assert_eq!(
        proposed.get(&1),
        None,
        "the validator 4 minutes ahead got a block in"
    );
    // The slow validator commits what the others finalize.
    run.wait_for_height(2, to, Duration::from_secs(30));
    run.assert_agreement(&[0, 1, 2, 3], from);
    assert!(
        run.metric(0, "suyuan_peer_faults_total{validator=\"1\"}") > 0.0,
        "the fast validator's proposals were not counted as faults"
    );
}

/// A validator gossiping forged transactions as fast as it can: honest nodes' memory stays
/// bounded, and an honest client's records keep being admitted and committed.
#[test]
fn n4_a_flooding_validator_neither_exhausts_memory_nor_starves_clients() {
    let _one = ONE_TESTNET_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let mut run = Run::start("flood", 4, 1);
    run.wait_for_height(0, 1, Duration::from_secs(60));
    let before: Vec<u64> = (0..3)
        .map(|node| run.testnet.resident_bytes(node).unwrap())
        .collect();
    run.make_byzantine(
        3,
        &[
            ("BYZANTINE_FLOOD_BATCHES_PER_SECOND", "200"),
            ("BYZANTINE_FLOOD_BATCH_TRANSACTIONS", "1024"),
            ("BYZANTINE_FLOOD_FORGED", "true"),
        ],
    );
    std::thread::sleep(Duration::from_secs(5));
    let mut ids = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut peak = before.clone();
    let start = Instant::now();
    while start.elapsed() < RATE_WINDOW {
        let (id, took) = run.submit(0);
        ids.push(id);
        slowest = slowest.max(took);
        for (node, peak) in peak.iter_mut().enumerate() {
            *peak = (*peak).max(run.testnet.resident_bytes(node).unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!(
        "{} honest submissions under the flood, slowest {slowest:?}; resident before {before:?}, peak {peak:?}",
        ids.len()
    );
    run.wait_committed(0, &ids);
    for node in 0..3 {
        assert!(
            peak[node] < before[node] + 400 * 1024 * 1024,
            "node {node} grew from {} to {} bytes under the flood",
            before[node],
            peak[node]
        );
    }
    assert!(
        slowest < Duration::from_secs(5),
        "an honest submission took {slowest:?}"
    );
}

/// A validator sending malformed frames hundreds of times a second and signing conflicting
/// votes: the chain goes on, the honest nodes count its faults and report the evidence, and
/// their logs say so a bounded number of times.
#[test]
fn n4_malformed_frames_and_conflicting_votes_are_counted_not_obeyed() {
    let _one = ONE_TESTNET_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let run = Run::start("frames", 4, 2);
    run.wait_for_height(0, 1, Duration::from_secs(60));
    run.make_byzantine(
        3,
        &[
            ("BYZANTINE_INVALID_FRAMES_PER_SECOND", "500"),
            ("BYZANTINE_EQUIVOCATE", "true"),
        ],
    );
    let watch = Instant::now();
    let from = run.height(0);
    run.wait_for_height(0, from + 10, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(10));
    let watched = watch.elapsed();
    let faults = run.metric(0, "suyuan_peer_faults_total{validator=\"3\"}");
    let evidence = run.metric(0, "suyuan_consensus_evidence_total");
    eprintln!(
        "after {watched:?}: {faults} faults counted against validator 3, {evidence} evidence"
    );
    assert!(faults > 1_000.0, "{faults} faults counted");
    assert!(evidence > 0.0, "no evidence of the conflicting votes");
    for node in 0..3 {
        let lines = run.log_lines(node, "refused a peer's faulty input");
        let bound = watched.as_secs() / 10 + 3;
        assert!(
            lines as u64 <= bound,
            "node {node} logged {lines} fault lines in {watched:?}"
        );
    }
    run.assert_agreement(&[0, 1, 2], from);
}

/// Seven validators, two of them faulty (one withholds its votes, one floods gossip with its
/// clock 4 minutes fast), and an honest client: the chain keeps finalizing with blocks from
/// every honest leader, and the client's records are committed.
#[test]
fn n7_two_faulty_validators_cannot_halt_the_consortium() {
    let _one = ONE_TESTNET_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let mut run = Run::start("seven", 7, 3);
    run.wait_for_height(0, 1, Duration::from_secs(90));
    run.make_byzantine(5, &[("BYZANTINE_WITHHOLD_VOTES", "true")]);
    run.make_byzantine(
        6,
        &[
            ("BYZANTINE_CLOCK_SKEW_MS", "240000"),
            ("BYZANTINE_FLOOD_BATCHES_PER_SECOND", "50"),
            ("BYZANTINE_FLOOD_BATCH_TRANSACTIONS", "512"),
            ("BYZANTINE_FLOOD_FORGED", "true"),
        ],
    );
    let from = run.height(0);
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(run.submit(0).0);
        std::thread::sleep(Duration::from_millis(300));
    }
    run.wait_committed(0, &ids);
    // Every honest leader gets blocks in: seven leaders in turn, so 35 blocks give each a
    // few turns.
    run.wait_for_height(0, from + 35, Duration::from_secs(120));
    let keys = run.validator_keys(0);
    let to = run.height(0);
    let proposers: BTreeSet<usize> = (from + 1..=to)
        .map(|height| {
            let header = run.header(0, height);
            let proposer = header["proposer"].as_str().unwrap();
            keys.iter().position(|key| key == proposer).unwrap()
        })
        .collect();
    for honest in 0..5 {
        assert!(
            proposers.contains(&honest),
            "honest validator {honest} proposed none of blocks {from}..={to}: {proposers:?}"
        );
    }
    run.assert_agreement(&[0, 1, 2, 3, 4], from);
}
