//! Admission under attack, on a real node in one process (real RocksDB, real libp2p, the real
//! admission worker):
//!
//! - a client sending batches whose signatures are crafted to fail only the batch equation
//!   costs the node a bounded search, then a smaller allowance, then nothing (refused before
//!   any check), while other clients are admitted as before;
//! - a validator gossiping valid-looking batches as fast as it can fills only its own bounded
//!   queue (the rest dropped and counted) while clients' submissions keep being admitted
//!   promptly.
//!
//! The multi-process test of hostile clients is `tests/tests/admission.rs`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use suyuan_api::Node as _;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, uscc};
use suyuan_ledger::record::{Record, RegisterEnterprise};
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{Envelope, Payload, TxError};
use suyuan_node::admission::SPLIT_CHECKS_PER_SIGNATURE;
use suyuan_node::config::Config;
use suyuan_node::frames::{MAX_BATCH_TRANSACTIONS, encode_batch};
use suyuan_node::mempool::MempoolLimits;
use suyuan_node::network::{Network, NetworkConfig, NetworkError, NetworkEvent, NetworkHandle};
use suyuan_node::penalties::{PENALISED_BATCH, STRIKES_BEFORE_REFUSAL};
use suyuan_node::scheduler::MAX_QUEUED_GOSSIP_BYTES;
use suyuan_node::service::RunningNode;
use tokio::sync::Mutex;

mod common;
use common::{LOCAL_CLIENT, config, temp_dir};

/// Each test runs a node and keeps the machine busy: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// Where the hostile client sends from.
const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 66));

/// The API's largest batch.
const BATCH: usize = 1_000;

/// How long the validator floods.
const FLOOD: Duration = Duration::from_secs(10);

/// Gossip messages the flooding validator publishes per second: several times what a node
/// admits of batches this large, without making the test process itself the bottleneck.
const FLOOD_RATE: u32 = 100;

/// Pause between two honest submissions.
const HONEST_PACE: Duration = Duration::from_millis(20);

/// The slowest honest submission allowed at the 99th percentile, flood or not.
const MAX_P99: Duration = Duration::from_secs(1);

/// Ports for a test: distinct per test and process, away from the other node tests'.
fn base_port(salt: u16) -> u16 {
    21_000 + (std::process::id() % 400) as u16 * 40 + salt * 10
}

/// A fresh enrolment by `registrar`, `number` telling it apart, signed for `demo`'s chain.
fn enrolment(demo: &Demo, registrar: &KeyPair, number: u32) -> Envelope {
    let mut enterprise = demo.enterprises[0].profile.clone();
    enterprise.uscc = uscc(&format!("91420100MA{number:07}"));
    let payload = Payload {
        nonce: u64::from(number),
        record: Record::RegisterEnterprise(RegisterEnterprise {
            enterprise,
            keys: vec![KeyPair::insecure_from_label(&format!("enterprise {number}")).public()],
            prefixes: Vec::new(),
        }),
        event: None,
    };
    Envelope::sign(&demo.genesis.binding(), &payload, registrar)
}

/// `count` enrolments in the bureau's name whose signatures are valid signatures of another
/// message: well-formed, so only the group equations refuse them.
fn crafted(demo: &Demo, first: u32, count: usize) -> Vec<Envelope> {
    let wrong = demo.bureau.sign(b"not the signed message");
    (0..count as u32)
        .map(|offset| Envelope {
            signature: wrong,
            ..enrolment(demo, &demo.bureau, first + offset)
        })
        .collect()
}

fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    sorted[(sorted.len() * percent / 100).min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n1_crafted_signatures_cost_a_bounded_search_then_their_sender_is_refused_alone() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = temp_dir("admission-crafted");
    let p2p = base_port(0);
    let demo = Demo::new(1, p2p);
    let node = RunningNode::start_with(
        &Config {
            mempool: MempoolLimits {
                max_per_signer: BATCH,
                ..MempoolLimits::default()
            },
            ..config(&dir, 0, p2p, p2p + 5)
        },
        demo.genesis.clone(),
        demo.validators[0].clone(),
    )
    .await
    .unwrap();
    let api = &node.api;

    // What an honest batch of the same size costs, for comparison. The association may have
    // a batch's worth pending: what it sends beyond is refused before any check.
    let honest: Vec<Envelope> = (0..BATCH as u32 + 10)
        .map(|number| enrolment(&demo, &demo.association, 1_000_000 + number))
        .collect();
    let started = Instant::now();
    let results = api.submit(honest, LOCAL_CLIENT).await;
    let honest_time = started.elapsed();
    assert!(
        results[..BATCH].iter().all(Result::is_ok),
        "{:?}",
        &results[..2]
    );
    assert!(
        results[BATCH..].iter().all(|result| matches!(
            result,
            Err(SubmitError::SignerLimit { pending, .. }) if *pending == BATCH
        )),
        "{:?}",
        &results[BATCH..]
    );

    // The first crafted batch: the batch check fails and the search for the invalid
    // signatures stops at its budget.
    let started = Instant::now();
    let first = api.submit(crafted(&demo, 0, BATCH), ATTACKER).await;
    let crafted_time = started.elapsed();
    assert_eq!(first.len(), BATCH);
    let unverified = first
        .iter()
        .filter(|result| matches!(result, Err(SubmitError::Unverified)))
        .count();
    let bad = first
        .iter()
        .filter(|result| {
            matches!(
                result,
                Err(SubmitError::Envelope(TxError::BadSignature { .. }))
            )
        })
        .count();
    assert_eq!(unverified + bad, BATCH, "nothing crafted is admitted");
    assert!(unverified > 0, "the search stopped at its budget");
    eprintln!(
        "a batch of {BATCH} valid enrolments took {honest_time:?} to admit, one of {BATCH} \
         crafted signatures {crafted_time:?} to refuse ({bad} found invalid, {unverified} left \
         unverified; search budget {SPLIT_CHECKS_PER_SIGNATURE} checks per envelope)"
    );

    // Then the attacker may send only a small batch: the rest is refused unchecked.
    for strike in 1..STRIKES_BEFORE_REFUSAL {
        let results = api
            .submit(crafted(&demo, strike * 10_000, BATCH), ATTACKER)
            .await;
        assert!(
            results[..PENALISED_BATCH].iter().all(|result| matches!(
                result,
                Err(SubmitError::Envelope(TxError::BadSignature { .. }) | SubmitError::Unverified)
            )),
            "strike {strike}: {:?}",
            &results[..2]
        );
        assert!(
            results[PENALISED_BATCH..]
                .iter()
                .all(|result| matches!(result, Err(SubmitError::Throttled { .. }))),
            "strike {strike}: {:?}",
            &results[PENALISED_BATCH..PENALISED_BATCH + 2]
        );
    }
    // And after that, nothing: the API refuses before reading a body.
    assert!(matches!(
        api.admits_from(ATTACKER),
        Err(SubmitError::Throttled { retry_after_ms }) if retry_after_ms > 1_000
    ));
    let refused = api.submit(crafted(&demo, 90_000, 10), ATTACKER).await;
    assert!(
        refused
            .iter()
            .all(|result| matches!(result, Err(SubmitError::Throttled { .. })))
    );

    // Other clients are served as before; an envelope twice in one batch is refused the
    // second time before any check.
    assert_eq!(api.admits_from(LOCAL_CLIENT), Ok(()));
    let fresh = enrolment(&demo, &demo.bureau, 7);
    let results = api.submit(vec![fresh.clone(), fresh], LOCAL_CLIENT).await;
    assert!(results[0].is_ok(), "{results:?}");
    assert!(matches!(results[1], Err(SubmitError::Duplicate(_))));

    node.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Validator 0 started alone in a fresh directory named after `label`, and validator 1 running
/// only a network, with its events.
async fn node_and_bare_peer(
    label: &str,
    salt: u16,
) -> (
    PathBuf,
    Demo,
    RunningNode,
    NetworkHandle,
    tokio::sync::mpsc::Receiver<NetworkEvent>,
) {
    let dir = temp_dir(label);
    let p2p = base_port(salt);
    let demo = Demo::new(4, p2p);
    let node = RunningNode::start_with(
        &config(&dir, 0, p2p, p2p + 5),
        demo.genesis.clone(),
        demo.validators[0].clone(),
    )
    .await
    .unwrap();
    let (peer, events) =
        Network::start(NetworkConfig::default(), &demo.genesis, &demo.validators[1]).unwrap();
    (dir, demo, node, peer, events)
}

/// Publishes `message(0)`, `message(1)`, ... every 100 ms until one is accepted (gossip needs
/// the node subscribed first), for at most 20 s; returns the number of the one accepted.
async fn publish_until_heard(peer: &NetworkHandle, message: impl Fn(u32) -> Vec<u8>) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut number = 0;
    while let Err(error) = peer.publish_transaction(message(number)).await {
        assert!(
            Instant::now() < deadline,
            "the peer never reached the node: {error}"
        );
        number += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    number
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n4_a_validator_flooding_gossip_fills_only_its_bounded_queue_and_clients_keep_being_admitted()
 {
    let _one = ONE_AT_A_TIME.lock().await;
    // Validator 1 is Byzantine: it runs only a network, and publishes batches of envelopes
    // with valid signatures by a key no rule accepts, so that each costs the node a full
    // batch check before the rules refuse it, and none is penalised as invalid.
    let (dir, demo, node, flooder, _events) = node_and_bare_peer("admission-flood", 1).await;
    let flood_batches = Arc::new(FloodBatches::new(&demo));
    let mut number = publish_until_heard(&flooder, |number| flood_batches.message(number)).await;

    // Without the flood first, then with it, from the same client.
    let baseline = honest_submissions(&demo, &node, 0, Duration::from_secs(3)).await;
    let flooding = Arc::new(AtomicBool::new(true));
    let published = Arc::new(AtomicU64::new(0));
    let flood = {
        let flooding = Arc::clone(&flooding);
        let published = Arc::clone(&published);
        let flooder = flooder.clone();
        let flood_batches = Arc::clone(&flood_batches);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1) / FLOOD_RATE);
            let mut failed = 0u64;
            while flooding.load(Ordering::Relaxed) {
                tick.tick().await;
                number += 1;
                match flooder
                    .publish_transaction(flood_batches.message(number))
                    .await
                {
                    Ok(_) => {
                        published.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(NetworkError::Publish(_)) => failed += 1,
                    Err(error) => panic!("the flooder's network failed: {error}"),
                }
            }
            failed
        })
    };
    let watcher = {
        let flooding = Arc::clone(&flooding);
        let admission = Arc::clone(&node.api.admission);
        tokio::spawn(async move {
            let mut most = 0;
            while flooding.load(Ordering::Relaxed) {
                most = most.max(admission.gossip_stats().queued_bytes);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            most
        })
    };
    let under_flood = honest_submissions(&demo, &node, 100_000, FLOOD).await;
    flooding.store(false, Ordering::Relaxed);
    let publish_failures = flood.await.unwrap();
    let most_seen = watcher.await.unwrap();
    let stats = node.api.admission.gossip_stats();
    let published = published.load(Ordering::Relaxed);

    let (base_p50, base_p99) = (percentile(&baseline, 50), percentile(&baseline, 99));
    let (flood_p50, flood_p99) = (percentile(&under_flood, 50), percentile(&under_flood, 99));
    eprintln!(
        "honest submissions without the flood: {} (p50 {base_p50:?}, p99 {base_p99:?}); while \
         validator 1 published {published} batches of {MAX_BATCH_TRANSACTIONS} envelopes \
         ({publish_failures} publishes failed): {} (p50 {flood_p50:?}, p99 {flood_p99:?}); \
         gossip dropped by peer {:?}; queued gossip at most {most_seen} bytes seen, peak {} \
         bytes, bound {} bytes",
        baseline.len(),
        under_flood.len(),
        stats.dropped,
        stats.peak_bytes,
        stats.max_bytes,
    );
    assert_eq!(stats.max_bytes, MAX_QUEUED_GOSSIP_BYTES);
    assert!(
        stats.peak_bytes <= stats.max_bytes && most_seen <= stats.max_bytes,
        "{stats:?}"
    );
    assert!(
        stats.dropped[1] > 0,
        "the flood did not outrun admission, so it shows nothing: {stats:?}, {published} published"
    );
    assert!(
        stats
            .dropped
            .iter()
            .enumerate()
            .all(|(peer, dropped)| peer == 1 || *dropped == 0),
        "only the flooder's gossip is dropped: {stats:?}"
    );
    assert!(flood_p99 < MAX_P99, "p99 {flood_p99:?} under the flood");
    assert!(base_p99 < MAX_P99, "p99 {base_p99:?} without the flood");

    flooder.shutdown().await;
    node.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the flooding validator publishes: batches of [`MAX_BATCH_TRANSACTIONS`] enrolments
/// signed by a key no rule accepts, all but the first the same in every batch (so that
/// publishing costs the flooder one signature) and the first new (so that each batch is a new
/// gossip message, which the node must check whole).
struct FloodBatches {
    demo: Demo,
    stranger: KeyPair,
    pool: Vec<Envelope>,
}

impl FloodBatches {
    fn new(demo: &Demo) -> FloodBatches {
        let stranger = KeyPair::insecure_from_label("the flooder's client");
        let pool = (0..MAX_BATCH_TRANSACTIONS as u32 - 1)
            .map(|number| enrolment(demo, &stranger, 2_000_000 + number))
            .collect();
        FloodBatches {
            demo: demo.clone(),
            stranger,
            pool,
        }
    }

    fn message(&self, number: u32) -> Vec<u8> {
        let mut batch = vec![enrolment(&self.demo, &self.stranger, 3_000_000 + number)];
        batch.extend(self.pool.iter().cloned());
        encode_batch(batch)
    }
}

/// Submits fresh enrolments one at a time for `duration`, each of which must be admitted;
/// their latencies, sorted.
async fn honest_submissions(
    demo: &Demo,
    node: &RunningNode,
    first: u32,
    duration: Duration,
) -> Vec<Duration> {
    let mut latencies = Vec::new();
    let started = Instant::now();
    let mut number = first;
    while started.elapsed() < duration {
        number += 1;
        let envelope = enrolment(demo, &demo.association, number);
        let submitted = Instant::now();
        let results = node.api.submit(vec![envelope], LOCAL_CLIENT).await;
        latencies.push(submitted.elapsed());
        assert!(
            matches!(results[..], [Ok(_)]),
            "honest submission {number} refused: {results:?}"
        );
        tokio::time::sleep(HONEST_PACE).await;
    }
    latencies.sort();
    latencies
}

/// Under overload a refusal costs no body: with the pool full (a validator of four alone
/// commits nothing, so what it admits stays), a submission is refused `503 mempool_full` with
/// `Retry-After` before its body is read (a body that is not even JSON gets the same answer),
/// and nothing changes; a lookup is still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_refuses_submissions_before_reading_them() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = temp_dir("admission-full");
    let p2p = base_port(2);
    let demo = Demo::new(4, p2p);
    let node = RunningNode::start_with(
        &Config {
            mempool: MempoolLimits {
                max_transactions: 5,
                ..MempoolLimits::default()
            },
            ..config(&dir, 0, p2p, p2p + 5)
        },
        demo.genesis.clone(),
        demo.validators[0].clone(),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://{}", node.api_address);

    let fill: Vec<Envelope> = (0..5)
        .map(|number| enrolment(&demo, &demo.bureau, 2_000_000 + number))
        .collect();
    let response = http
        .post(format!("{base}/v1/transactions/batch"))
        .json(&fill)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let answer: serde_json::Value = response.json().await.unwrap();
    let results = answer["results"].as_array().unwrap();
    assert!(
        results.iter().all(|result| result["id"].is_string()),
        "{answer}"
    );

    let one_more = vec![enrolment(&demo, &demo.bureau, 2_000_005)];
    for (path, body) in [
        ("batch", serde_json::to_vec(&one_more).unwrap()),
        ("batch", b"[not json".to_vec()),
        ("", b"not json either".to_vec()),
    ] {
        let url = format!("{base}/v1/transactions/{path}");
        let response = http
            .post(url.trim_end_matches('/'))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            reqwest::StatusCode::SERVICE_UNAVAILABLE,
            "{path}"
        );
        assert_eq!(response.headers()["retry-after"], "1");
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["code"], "mempool_full", "{error}");
        assert_eq!(error["held"], 5, "{error}");
    }
    let status: serde_json::Value = http
        .get(format!("{base}/v1/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["mempool"]["transactions"], 5, "{status}");
    assert_eq!(status["height"], 0, "{status}");
    node.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A peer's gossip whose signers are all known (active enterprise keys, registrars,
/// regulators) is admitted on its signatures, as the publishing validator ran the rules and
/// every block runs them again: even a pair the rules would not both admit is pooled. A batch
/// with any unknown signer, as a faulty validator's strangers, runs the rules whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_of_known_signers_skips_the_rules_and_of_strangers_runs_them() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (dir, demo, node, peer, _events) = node_and_bare_peer("admission-known", 3).await;
    let chain = demo.genesis.binding();
    let stranger = KeyPair::insecure_from_label("a stranger");
    publish_until_heard(&peer, |number| {
        encode_batch(vec![enrolment(&demo, &stranger, number)])
    })
    .await;

    // The same enterprise enrolled twice by the bureau: the rules admit one, gossip both.
    let twice = enrolment(&demo, &demo.bureau, 5_000);
    let mut again = Payload::parse(&twice.payload).unwrap();
    again.nonce += 1;
    let again = Envelope::sign(&chain, &again, &demo.bureau);
    // An enrolment by the bureau beside a stranger's: the batch runs the rules.
    let beside = enrolment(&demo, &demo.bureau, 6_000);
    let strangers = enrolment(&demo, &stranger, 6_001);
    for batch in [
        vec![twice.clone(), again.clone()],
        vec![beside.clone(), strangers.clone()],
    ] {
        peer.publish_transaction(encode_batch(batch)).await.unwrap();
    }
    let pending = [&twice, &again, &beside].map(|envelope| envelope.id(&chain));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !pending
        .iter()
        .all(|id| node.api.pending(id) == Some(suyuan_api::types::PendingState::Pending))
    {
        assert!(Instant::now() < deadline, "gossip was not admitted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(node.api.pending(&strangers.id(&chain)), None);
    node.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
