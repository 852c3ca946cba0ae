//! Whole-node tests in one process: real RocksDB stores in temporary directories, real libp2p
//! on loopback, real HTTP listeners. The multi-process tests are in `tests/tests/consortium.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use suyuan_api::Node as _;
use suyuan_consensus::{Digest, Height, View};
use suyuan_ledger::block::{Block, BlockError, Body};
use suyuan_ledger::demo::Demo;
use suyuan_ledger::exec::ExecError;
use suyuan_ledger::state::{StateKey, StateRead};
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::trees::MemTrees;
use suyuan_ledger::tx::{Envelope, TxId};
use suyuan_storage::Store;

use suyuan_node::chain::{Chain, InvalidBlock, Preverified};
use suyuan_node::service::RunningNode;

mod common;
use common::{LOCAL_CLIENT, config, temp_dir};

/// Ports for a test: distinct per test name and process, away from the defaults.
fn base_port(salt: u16) -> u16 {
    20_000 + (std::process::id() % 400) as u16 * 50 + salt * 10
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn committed(store: &Store, ids: &[TxId]) -> bool {
    ids.iter()
        .all(|id| store.transaction(id).unwrap().is_some())
}

/// Four validators agree on every block; a stopped validator that restarts catches up by
/// block sync and agrees; nothing refused changes state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_finalize_the_story_and_a_restarted_one_catches_up() {
    let dir = temp_dir("consortium");
    let p2p = base_port(0);
    let api = p2p + 5;
    let demo = Demo::new(4, p2p);
    let mut nodes = Vec::new();
    for (index, key) in demo.validators.iter().enumerate() {
        let config = config(&dir, index, p2p, api);
        nodes.push(Some(
            RunningNode::start_with(&config, demo.genesis.clone(), key.clone())
                .await
                .unwrap(),
        ));
    }
    let story = demo.story();
    // Validator 3 misses the second half of the story.
    let mut stopped = None;
    for (step, envelopes) in story.iter().enumerate() {
        if step == 2 {
            let node = nodes[3].take().unwrap();
            stopped = Some(node.store.head().height);
            node.stop().await.unwrap();
        }
        let submitter = nodes[step % 3].as_ref().unwrap();
        let chain = demo.genesis.binding();
        let ids: Vec<TxId> = envelopes.iter().map(|e| e.id(&chain)).collect();
        for result in submitter.api.submit(envelopes.clone(), LOCAL_CLIENT).await {
            result.unwrap();
        }
        // A resubmission while pending is a duplicate, and changes nothing.
        let again = submitter
            .api
            .submit(envelopes[..1].to_vec(), LOCAL_CLIENT)
            .await;
        assert!(
            matches!(
                again[0],
                Err(SubmitError::Duplicate(_)) | Err(SubmitError::Rule(_))
            ),
            "{again:?}"
        );
        // The next step goes to another validator and may depend on this one (an enterprise
        // registered here signs there): wait until every running validator has committed it.
        let running: Vec<Arc<Store>> = nodes
            .iter()
            .flatten()
            .map(|node| Arc::clone(&node.store))
            .collect();
        wait_until("the step is committed", Duration::from_secs(30), || {
            running.iter().all(|store| committed(store, &ids))
        })
        .await;
        // Once committed, a replay is refused by the rules.
        let replay = submitter
            .api
            .submit(envelopes[..1].to_vec(), LOCAL_CLIENT)
            .await;
        assert!(
            matches!(&replay[0], Err(SubmitError::Rule(ExecError::Rule(rule))) if rule.code() == "replay"),
            "{replay:?}"
        );
    }
    let stopped_at = stopped.unwrap();
    let target = nodes[0].as_ref().unwrap().store.head().height;
    assert!(target > stopped_at);

    // Restart validator 3 on its old database: it catches up and agrees.
    let config = config(&dir, 3, p2p, api);
    nodes[3] = Some(
        RunningNode::start_with(&config, demo.genesis.clone(), demo.validators[3].clone())
            .await
            .unwrap(),
    );
    let late = Arc::clone(&nodes[3].as_ref().unwrap().store);
    wait_until("validator 3 catches up", Duration::from_secs(60), || {
        late.head().height >= target
    })
    .await;
    let stores: Vec<Arc<Store>> = nodes
        .iter()
        .map(|node| Arc::clone(&node.as_ref().unwrap().store))
        .collect();
    for height in 1..=target {
        let hashes: Vec<_> = stores
            .iter()
            .map(|store| store.header(height).unwrap().unwrap().hash())
            .collect();
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1]),
            "height {height}: {hashes:?}"
        );
        // Each header's tree roots are those of the tree nodes every node stored with it, the
        // late validator's (committed through block sync) included.
        for store in &stores {
            let trees = store.header(height).unwrap().unwrap().trees;
            assert_eq!(store.log_size_at(height).unwrap(), Some(trees.log_size));
            assert_eq!(store.log_root_at(height).unwrap(), Some(trees.log_root));
            assert_eq!(store.map_root_at(height).unwrap(), Some(trees.map_root));
        }
    }
    // Every node holds the same state...
    let digests: Vec<_> = stores
        .iter()
        .filter(|s| s.head().height == target)
        .map(|s| s.state_digest().unwrap())
        .collect();
    assert!(digests.windows(2).all(|w| w[0] == w[1]), "{digests:?}");
    // ...and it is what the demo story leaves: every entry the story makes is there, and the
    // ones that depend neither on heights (a live chain has empty blocks between the steps) nor
    // on block times (timeliness is measured from them, and these blocks carry today's) hold
    // the story's values.
    let expected = demo.story_state();
    for store in &stores {
        for (key, value) in expected.entries() {
            let found = store.get(key).unwrap();
            assert!(found.is_some(), "{key} is missing");
            if matches!(
                key,
                StateKey::Code(_)
                    | StateKey::Holding(..)
                    | StateKey::OpenRecall(_)
                    | StateKey::Prefix(_)
                    | StateKey::PrefixesUnder(_)
                    | StateKey::BuyerCommitment(_)
            ) {
                assert_eq!(found.as_ref(), Some(value), "{key}");
            }
        }
    }
    for node in nodes.into_iter().flatten() {
        node.stop().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A follower refuses blocks that are not what consensus names, or whose contents are bad,
/// and keeps nothing of them.
#[test]
fn chain_refuses_bad_proposals_and_keeps_nothing() {
    let dir = temp_dir("chain");
    let demo = Demo::new(4, 7100);
    let genesis = Arc::new(demo.genesis.clone());
    let store = Arc::new(Store::open(dir.join("db"), &genesis).unwrap());
    let mut chain = Chain::new(Arc::clone(&store), Arc::clone(&genesis)).unwrap();
    let leader = |view: u64| demo.validators[(view % 4) as usize].public();
    let enrolments: Vec<Envelope> = demo.story()[0].clone();
    let block_time = suyuan_node::clock::now_ms();
    let make = |view: u64, transactions: Vec<Envelope>| {
        let trees = MemTrees::new().peek(&genesis.binding(), &transactions);
        Block::new(
            &genesis.chain_id,
            1,
            view,
            genesis.hash(),
            block_time,
            leader(view),
            Body { transactions },
            trees.heads,
        )
        .unwrap()
    };
    let named = |block: &Block| {
        suyuan_consensus::Block::genesis(Digest(*genesis.hash().as_bytes()))
            .child(View(block.header.view), Digest(*block.hash().as_bytes()))
            .unwrap()
    };

    // A bad signature inside the body.
    let mut forged = enrolments.clone();
    forged[1].signature = forged[0].signature;
    let block = make(1, forged);
    let expected = named(&block);
    let verdict = chain
        .check_proposal(block, &expected, Preverified::default())
        .unwrap();
    assert!(
        matches!(verdict, Err(InvalidBlock::Envelope { index: 1, .. })),
        "{verdict:?}"
    );

    // A body whose transaction breaks a rule: an enterprise key enrolling itself.
    let cable = &demo.enterprises[0];
    let self_enrol = suyuan_ledger::tx::Envelope::sign(
        &genesis.binding(),
        &suyuan_ledger::tx::Payload::parse(&enrolments[0].payload).unwrap(),
        &cable.key,
    );
    let block = make(1, vec![self_enrol]);
    let expected = named(&block);
    let verdict = chain
        .check_proposal(block, &expected, Preverified::default())
        .unwrap();
    assert!(
        matches!(verdict, Err(InvalidBlock::Execution(_))),
        "{verdict:?}"
    );

    // A block that is not the one consensus names.
    let block = make(1, enrolments.clone());
    let other = make(1, enrolments[..2].to_vec());
    let verdict = chain
        .check_proposal(block.clone(), &named(&other), Preverified::default())
        .unwrap();
    assert!(
        matches!(verdict, Err(InvalidBlock::WrongDigest { .. })),
        "{verdict:?}"
    );

    // The wrong proposer for its view.
    let mut wrong = block.clone();
    wrong.header.proposer = leader(2);
    let verdict = chain
        .check_proposal(wrong.clone(), &named(&wrong), Preverified::default())
        .unwrap();
    assert!(
        matches!(verdict, Err(InvalidBlock::Shape(_))),
        "{verdict:?}"
    );

    // Headers whose tree roots are not what the block gives: each root, and the log size.
    for field in ["log_size", "log_root", "map_root"] {
        let mut lying = block.clone();
        let trees = &mut lying.header.trees;
        match field {
            "log_size" => trees.log_size += 1,
            "log_root" => trees.log_root = trees.map_root,
            _ => trees.map_root = trees.log_root,
        }
        let verdict = chain
            .check_proposal(lying.clone(), &named(&lying), Preverified::default())
            .unwrap();
        assert!(
            matches!(
                &verdict,
                Err(InvalidBlock::Shape(BlockError::TreesMismatch { field: found, .. }))
                    if *found == field
            ),
            "{field}: {verdict:?}"
        );
    }

    assert_eq!(chain.pending_count(), 0, "nothing refused is kept");
    assert_eq!(store.head().height, 0);

    // The good block verifies, and its child executes over it before either is committed.
    let expected = named(&block);
    chain
        .check_proposal(block.clone(), &expected, Preverified::default())
        .unwrap()
        .unwrap();
    let mut trees = MemTrees::new();
    trees.push(&genesis.binding(), &block.body.transactions);
    let child_trees = trees.peek(&genesis.binding(), &demo.story()[1]);
    let child = Block::new(
        &genesis.chain_id,
        2,
        2,
        block.hash(),
        block_time + 2,
        leader(2),
        Body {
            transactions: demo.story()[1].clone(),
        },
        child_trees.heads,
    )
    .unwrap();
    let child_named = expected
        .child(View(2), Digest(*child.hash().as_bytes()))
        .unwrap();
    assert_eq!(child_named.height(), Height(2));
    chain
        .check_proposal(child.clone(), &child_named, Preverified::default())
        .unwrap()
        .unwrap();
    assert_eq!(chain.pending_count(), 2);
    chain.commit(&block.hash(), b"justification").unwrap();
    chain.commit(&child.hash(), b"justification").unwrap();
    assert_eq!(store.head().height, 2);
    assert_eq!(chain.pending_count(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A leader stops filling its proposal once executing candidates took its budget: with none,
/// the block holds the first few candidates in order and the rest wait; with room, all of them.
#[test]
fn a_proposal_stops_at_its_execution_budget() {
    let dir = temp_dir("budget");
    let demo = Demo::new(4, 7150);
    let genesis = Arc::new(demo.genesis.clone());
    let store = Arc::new(Store::open(dir.join("db"), &genesis).unwrap());
    let mut chain = Chain::new(Arc::clone(&store), Arc::clone(&genesis)).unwrap();
    let mut envelopes = demo.story().concat();
    envelopes.extend(common::commissions(&demo, 300));
    let candidates: Vec<_> = envelopes
        .iter()
        .map(|envelope| envelope.clone().verify(&genesis.binding()).unwrap())
        .collect();
    let proposer = demo.validators[1].public();
    let now = suyuan_node::clock::now_ms();

    let (block, refused) = chain
        .propose(1, &genesis.hash(), proposer, now, Duration::ZERO, |_| {
            candidates.clone()
        })
        .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    let held = block.body.transactions.len();
    assert!(
        held > 0 && held < candidates.len(),
        "a block over its budget still holds a prefix: {held} of {}",
        candidates.len()
    );
    assert_eq!(block.body.transactions[..], envelopes[..held]);

    let (block, refused) = chain
        .propose(
            5,
            &genesis.hash(),
            proposer,
            now,
            Duration::from_secs(60),
            |_| candidates.clone(),
        )
        .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(block.body.transactions, envelopes);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The samples of a `/metrics` exposition by series (`name` or `name{labels}`); the API's
/// tests check the format strictly, this reads values.
fn samples(text: &str) -> std::collections::BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(http: &reqwest::Client, url: &str) -> std::collections::BTreeMap<String, f64> {
    let response = http.get(url).send().await.unwrap();
    assert!(response.status().is_success());
    samples(&response.text().await.unwrap())
}

/// A validator of a running consortium exposes its figures at `/metrics`: its peers, the
/// transactions it commits, the finalization latency of each block, its API's requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_expose_metrics_that_follow_the_chain() {
    let dir = temp_dir("metrics");
    let p2p = base_port(1);
    let api = p2p + 5;
    let demo = Demo::new(4, p2p);
    let mut nodes = Vec::new();
    for (index, key) in demo.validators.iter().enumerate() {
        let config = config(&dir, index, p2p, api);
        nodes.push(
            RunningNode::start_with(&config, demo.genesis.clone(), key.clone())
                .await
                .unwrap(),
        );
    }
    let http = reqwest::Client::new();
    let base = format!("http://{}", nodes[0].api_address);
    let metrics_url = format!("{base}/metrics");
    let deadline = Instant::now() + Duration::from_secs(30);
    let before = loop {
        let metrics = scrape(&http, &metrics_url).await;
        if metrics["suyuan_peers_connected"] == 3.0 && metrics["suyuan_chain_height"] >= 1.0 {
            break metrics;
        }
        assert!(Instant::now() < deadline, "no peers or blocks: {metrics:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(before["suyuan_validators"], 4.0);
    assert_eq!(before["suyuan_synced"], 1.0);
    assert_eq!(before["suyuan_transactions_committed_total"], 0.0);

    let enrolments = &demo.story()[0];
    let response = http
        .post(format!("{base}/v1/transactions/batch"))
        .json(enrolments)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let ids: Vec<TxId> = enrolments
        .iter()
        .map(|e| e.id(&demo.genesis.binding()))
        .collect();
    let store = Arc::clone(&nodes[0].store);
    wait_until(
        "the enrolments are committed",
        Duration::from_secs(30),
        || committed(&store, &ids),
    )
    .await;

    let after = scrape(&http, &metrics_url).await;
    assert_eq!(
        after["suyuan_transactions_committed_total"],
        enrolments.len() as f64
    );
    assert!(after["suyuan_chain_height"] > before["suyuan_chain_height"]);
    assert!(after["suyuan_blocks_committed_total"] >= after["suyuan_chain_height"] - 1.0);
    let finalized = after["suyuan_finalization_latency_seconds_count"];
    assert!(finalized >= 2.0, "{after:?}");
    let mean_seconds = after["suyuan_finalization_latency_seconds_sum"] / finalized;
    assert!(
        mean_seconds < 30.0,
        "mean finalization latency {mean_seconds} s"
    );
    assert!(after["suyuan_consensus_view"] >= after["suyuan_chain_height"]);
    let batch =
        r#"suyuan_api_requests_total{method="POST",route="/v1/transactions/batch",status="2xx"}"#;
    assert_eq!(after[batch], 1.0, "{after:?}");
    for node in nodes {
        node.stop().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
