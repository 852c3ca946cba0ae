//! The write-ahead log of own votes stays bounded however long the consortium goes without
//! finalizing (issue 14): a node whose log holds votes of 20,000 views since its last
//! finalized block, as after days of views timing out, starts, resumes at the newest view, and
//! keeps only the votes of the newest `VOTE_WINDOW_VIEWS` views.

mod common;

use std::sync::Arc;

use common::{config, temp_dir};
use suyuan_consensus::limits::VOTE_WINDOW_VIEWS;
use suyuan_consensus::{SignedVote, ValidatorIndex, View, Vote};
use suyuan_ledger::demo::Demo;
use suyuan_node::service::RunningNode;
use suyuan_proofs::finality::Consortium;
use suyuan_storage::Store;

/// Views of own nullify votes written before the node starts.
const LOGGED_VIEWS: u64 = 20_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_unfinalized_vote_log_shrinks_to_the_window_and_the_node_resumes() {
    let dir = temp_dir("wal-window");
    let p2p = 25_000 + (std::process::id() % 500) as u16 * 2;
    let demo = Demo::new(4, p2p);
    let genesis = Arc::new(demo.genesis.clone());
    let config = config(&dir, 0, p2p, p2p + 8);
    let chain = Consortium::from_genesis(&genesis).unwrap().chain;
    let key = ed25519_dalek::SigningKey::from_bytes(&demo.validators[0].seed());
    {
        let store = Store::open(&config.node.data_dir, &genesis).unwrap();
        for view in 1..=LOGGED_VIEWS {
            let vote = SignedVote::sign(chain, Vote::Nullify(View(view)), ValidatorIndex(0), &key);
            store.wal_append(&vote.encode()).unwrap();
        }
        assert_eq!(store.wal_entries().unwrap().len() as u64, LOGGED_VIEWS);
    }

    let node = RunningNode::start_with(&config, demo.genesis.clone(), demo.validators[0].clone())
        .await
        .unwrap();
    let entries = node.store.wal_entries().unwrap();
    let oldest = entries
        .iter()
        .map(|entry| SignedVote::decode(&entry.record).unwrap().vote.view().0)
        .min()
        .unwrap();
    assert!(
        entries.len() as u64 <= 3 * (VOTE_WINDOW_VIEWS + 1),
        "{} votes kept",
        entries.len()
    );
    assert_eq!(oldest, LOGGED_VIEWS - VOTE_WINDOW_VIEWS);
    // It resumed at the newest view it voted in, not below.
    // The driver publishes its view after its first turn: poll for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut view = 0;
    while view < LOGGED_VIEWS && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        view = suyuan_api::Node::status(node.api.as_ref()).view;
    }
    assert!(view >= LOGGED_VIEWS, "view {view}");
    assert!(!node.driver_finished(), "the node stopped");
    node.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
