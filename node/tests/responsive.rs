//! The node's status answers while a large block executes and commits: nothing an API handler
//! waits for (the pool's lock, the store's head) is held across a block's execution, its
//! signature checks or its synced write.
//!
//! A real node (one validator, real RocksDB, real libp2p, the real HTTP server) is loaded with
//! full blocks of commissioning records while a client polls `GET /v1/status` and
//! `GET /v1/transactions/{id}` over HTTP; the slowest answer must stay under the bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use suyuan_api::Node as _;
use suyuan_ledger::demo::Demo;
use suyuan_ledger::tx::TxId;
use suyuan_node::config::Config;
use suyuan_node::mempool::MempoolLimits;
use suyuan_node::service::RunningNode;
use suyuan_storage::Store;

mod common;
use common::{LOCAL_CLIENT, commissions, config, temp_dir};

/// The slowest status answer allowed while blocks execute.
const MAX_STATUS_LATENCY: Duration = Duration::from_millis(50);

/// Transactions loaded: several full blocks of the largest size the node builds.
const LOAD: usize = 20_000;

/// One blocking HTTP/1.1 GET on a new connection; how long until the whole answer was read.
/// The answer must be a 200, or a 404 for a transaction the node does not know yet.
fn timed_get(api: u16, path: &str) -> Duration {
    use std::io::{Read as _, Write as _};
    let started = Instant::now();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", api)).unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let unknown_yet = path.starts_with("/v1/transactions/") && answer.starts_with(b"HTTP/1.1 404");
    assert!(
        answer.starts_with(b"HTTP/1.1 200") || unknown_yet,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n1_status_answers_within_50ms_while_full_blocks_execute() {
    let dir = temp_dir("responsive");
    let p2p = 23_000 + (std::process::id() % 500) as u16 * 2;
    let api = p2p + 1;
    let demo = Demo::new(1, p2p);
    let node = RunningNode::start_with(
        &Config {
            mempool: MempoolLimits {
                max_transactions: LOAD * 2,
                // The whole load is one enterprise's.
                max_per_signer: LOAD * 2,
                ..MempoolLimits::default()
            },
            ..config(&dir, 0, p2p, api)
        },
        demo.genesis.clone(),
        demo.validators[0].clone(),
    )
    .await
    .unwrap();
    let store = Arc::clone(&node.store);
    let chain = demo.genesis.binding();
    // Enrolments and models first: the commissions need them committed.
    for envelopes in &demo.story()[..2] {
        let ids: Vec<TxId> = envelopes.iter().map(|e| e.id(&chain)).collect();
        for result in node.api.submit(envelopes.clone(), LOCAL_CLIENT).await {
            result.unwrap();
        }
        wait_committed(&store, &ids, Duration::from_secs(30)).await;
    }
    let load = commissions(&demo, LOAD);
    let ids: Vec<TxId> = load.iter().map(|e| e.id(&chain)).collect();
    let probe = ids[LOAD / 2];

    // Poll from a thread of its own, on fresh connections, until the load is committed.
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                latencies.push(timed_get(api, "/v1/status"));
                latencies.push(timed_get(api, &format!("/v1/transactions/{probe}")));
                std::thread::sleep(Duration::from_millis(5));
            }
            latencies
        })
    };
    let heights_before = store.head().height;
    let started = Instant::now();
    for batch in load.chunks(1_000) {
        for result in node.api.submit(batch.to_vec(), LOCAL_CLIENT).await {
            result.unwrap();
        }
    }
    wait_committed(&store, &ids, Duration::from_secs(120)).await;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut latencies = poller.join().unwrap();
    latencies.sort();
    let blocks = store.head().height - heights_before;
    let slowest = *latencies.last().unwrap();
    let largest = (heights_before + 1..=store.head().height)
        .map(|height| store.header(height).unwrap().unwrap().tx_count)
        .max()
        .unwrap();
    eprintln!(
        "{LOAD} transactions in {blocks} blocks (largest {largest}) in {elapsed:?}; \
         {} requests, median {:?}, slowest {slowest:?}",
        latencies.len(),
        latencies[latencies.len() / 2]
    );
    assert!(
        largest >= 5_000,
        "the load made blocks of at most {largest} transactions: not large enough to show a stall"
    );
    assert!(
        latencies.len() > 20,
        "too few requests to judge: {}",
        latencies.len()
    );
    assert!(
        slowest < MAX_STATUS_LATENCY,
        "a status or transaction query took {slowest:?} while blocks executed"
    );
    node.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

async fn wait_committed(store: &Store, ids: &[TxId], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut waiting = ids.to_vec();
    loop {
        waiting.retain(|id| store.transaction(id).unwrap().is_none());
        if waiting.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out: {} transactions not committed",
            waiting.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
