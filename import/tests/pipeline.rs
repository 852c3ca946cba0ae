//! The import pipeline against a ledger that behaves like a node (rules over committed state
//! plus the batch, blocks, a mempool that a restart loses) and fails on cue: records that
//! depend on each other across batches, an unreachable node, a lost mempool, an interrupted
//! run resumed from its journal. Every transaction must be committed exactly once.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use suyuan_api::types::ErrorBody;
use suyuan_import::journal::{JOURNAL_VERSION, Journal, JournalHeader};
use suyuan_import::pipeline::{
    ImportError, Ledger, LedgerError, Outcome, Progress, Settings, Tally, TxState, import,
};
use suyuan_import::source::{Item, Signed};
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::{CloseRecall, Record};
use suyuan_ledger::tx::{ChainBinding, Envelope, Payload, TxId};

/// A node as the importer sees it, in memory.
#[derive(Default)]
struct State {
    committed: HashMap<TxId, u64>,
    blocks: Vec<Vec<TxId>>,
    pending: Vec<TxId>,
    /// A transaction refused while the one it names is not committed nor earlier in its batch.
    depends: HashMap<TxId, TxId>,
    /// Transactions the rules always refuse.
    refused: HashSet<TxId>,
    /// How many of the next calls fail as if the node were down.
    down_calls: u32,
    /// Whether the next look at the height finds the mempool lost (a restart).
    lose_pending: bool,
    /// How often each transaction was submitted.
    submitted: HashMap<TxId, u32>,
}

struct FakeNode {
    chain: ChainBinding,
    state: RefCell<State>,
}

impl FakeNode {
    fn new(chain: &ChainBinding) -> FakeNode {
        FakeNode {
            chain: chain.clone(),
            state: RefCell::new(State::default()),
        }
    }

    fn down(&self) -> Result<(), LedgerError> {
        let mut state = self.state.borrow_mut();
        if state.down_calls > 0 {
            state.down_calls -= 1;
            return Err(LedgerError::Unreachable("connection refused".into()));
        }
        Ok(())
    }

    /// Every transaction in the blocks appears once.
    fn assert_each_committed_once(&self) {
        let state = self.state.borrow();
        let mut seen = HashSet::new();
        for id in state.blocks.iter().flatten() {
            assert!(seen.insert(*id), "{id} is in two blocks");
        }
    }
}

fn rule(rule: &str) -> ErrorBody {
    let mut body = ErrorBody::new("rule_violation", format!("breaks {rule}"));
    body.details.insert("rule".into(), rule.into());
    body
}

impl Ledger for FakeNode {
    async fn submit(
        &self,
        envelopes: &[Envelope],
    ) -> Result<Vec<Result<TxId, ErrorBody>>, LedgerError> {
        self.down()?;
        let mut state = self.state.borrow_mut();
        let mut in_batch = HashSet::new();
        let mut results = Vec::new();
        for envelope in envelopes {
            let id = envelope.id(&self.chain);
            *state.submitted.entry(id).or_default() += 1;
            let blocked = state.depends.get(&id).is_some_and(|needed| {
                !state.committed.contains_key(needed) && !in_batch.contains(needed)
            });
            let result = if state.committed.contains_key(&id) {
                Err(ErrorBody::new("replay", "already committed"))
            } else if state.pending.contains(&id) {
                Err(ErrorBody::new("duplicate", "already pending"))
            } else if state.refused.contains(&id) {
                Err(rule("not_held"))
            } else if blocked {
                Err(rule("unknown_code"))
            } else {
                state.pending.push(id);
                in_batch.insert(id);
                Ok(id)
            };
            results.push(result);
        }
        Ok(results)
    }

    /// Each look at the height finalizes a block of everything pending.
    async fn height(&self) -> Result<u64, LedgerError> {
        self.down()?;
        let mut state = self.state.borrow_mut();
        if state.lose_pending && !state.pending.is_empty() {
            state.lose_pending = false;
            state.pending.clear();
        } else if !state.pending.is_empty() {
            let block = std::mem::take(&mut state.pending);
            let height = state.blocks.len() as u64 + 1;
            for id in &block {
                state.committed.insert(*id, height);
            }
            state.blocks.push(block);
        }
        Ok(state.blocks.len() as u64)
    }

    async fn block_transactions(&self, height: u64) -> Result<Vec<TxId>, LedgerError> {
        self.down()?;
        Ok(self.state.borrow().blocks[height as usize - 1].clone())
    }

    async fn transaction(&self, id: &TxId) -> Result<TxState, LedgerError> {
        self.down()?;
        let state = self.state.borrow();
        Ok(match state.committed.get(id) {
            Some(&height) => TxState::Committed { height },
            None if state.pending.contains(id) => TxState::Pending,
            None => TxState::Unknown,
        })
    }
}

struct Quiet;

impl Progress for Quiet {
    fn update(&mut self, _: &Tally, _: Option<&str>) {}
}

/// `count` signed items, each a distinct record.
fn items(chain: &ChainBinding, key: &KeyPair, count: usize) -> Vec<Item> {
    (0..count)
        .map(|index| {
            let payload = Payload {
                nonce: index as u64,
                record: Record::CloseRecall(CloseRecall {
                    recall: Hash32([7; 32]),
                    resolution: format!("row {index}").parse().unwrap(),
                }),
                event: None,
            };
            let envelope = Envelope::sign(chain, &payload, key);
            let id = envelope.id(chain);
            Item {
                position: index as u64 + 2,
                signed: Ok(Signed { envelope, id }),
            }
        })
        .collect()
}

fn id(item: &Item) -> TxId {
    item.signed.as_ref().unwrap().id
}

fn settings(batch: usize) -> Settings {
    Settings {
        batch,
        window: 100,
        commit_timeout: Duration::from_millis(30),
        retry_for: Duration::from_secs(5),
        poll: Duration::from_millis(1),
        drain_on_stop: Duration::from_secs(1),
    }
}

struct TempJournal(PathBuf);

impl TempJournal {
    fn new(label: &str) -> TempJournal {
        let path = std::env::temp_dir().join(format!(
            "suyuan-import-{label}-{}.journal",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        TempJournal(path)
    }

    fn open(&self, chain: &ChainBinding, key: &KeyPair) -> Journal {
        let header = JournalHeader {
            suyuan_import: JOURNAL_VERSION,
            chain_id: chain.chain_id().to_owned(),
            genesis_hash: chain.genesis_hash(),
            signer: key.public().to_string(),
        };
        Journal::open(&self.0, &header).unwrap()
    }
}

impl Drop for TempJournal {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn setup() -> (ChainBinding, KeyPair) {
    (
        ChainBinding::new("suyuan-import-test", Hash32([3; 32])),
        KeyPair::generate(),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Imports `items`, signed by `key`, into `node` with the journal at `journal`, on a fresh
/// runtime.
fn run(
    node: &FakeNode,
    items: &[Item],
    journal: &TempJournal,
    key: &KeyPair,
    settings: &Settings,
    stop: &AtomicBool,
) -> Result<Vec<Outcome>, ImportError> {
    runtime().block_on(import(
        node,
        items,
        &mut journal.open(&node.chain, key),
        settings,
        &mut Quiet,
        stop,
    ))
}

fn committed(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Committed { .. })
}

#[test]
fn records_depending_on_records_of_earlier_batches_import_in_one_run() {
    let (chain, key) = setup();
    let items = items(&chain, &key, 40);
    let node = FakeNode::new(&chain);
    // Row i + 10 (a sale) needs row i (the lot's commissioning): across batches of 3.
    for i in 0..30 {
        node.state
            .borrow_mut()
            .depends
            .insert(id(&items[i + 10]), id(&items[i]));
    }
    let journal = TempJournal::new("depends");
    let outcomes = run(
        &node,
        &items,
        &journal,
        &key,
        &settings(3),
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(outcomes.iter().all(committed), "{outcomes:?}");
    node.assert_each_committed_once();
    assert_eq!(node.state.borrow().committed.len(), 40);
}

#[test]
fn a_record_the_rules_refuse_is_refused_after_one_second_try_with_its_rule() {
    let (chain, key) = setup();
    let items = items(&chain, &key, 12);
    let node = FakeNode::new(&chain);
    node.state.borrow_mut().refused.insert(id(&items[7]));
    let journal = TempJournal::new("refused");
    let outcomes = run(
        &node,
        &items,
        &journal,
        &key,
        &settings(5),
        &AtomicBool::new(false),
    )
    .unwrap();
    match &outcomes[7] {
        Outcome::Refused { error, .. } => assert_eq!(error.details["rule"], "not_held"),
        other => panic!("{other:?}"),
    }
    assert_eq!(outcomes.iter().filter(|o| committed(o)).count(), 11);
    // Refused once with rows of an earlier batch pending, then once more, finally.
    assert_eq!(node.state.borrow().submitted[&id(&items[7])], 2);
}

#[test]
fn an_unreachable_node_and_a_lost_mempool_cost_time_not_records() {
    let (chain, key) = setup();
    let items = items(&chain, &key, 50);
    let node = FakeNode::new(&chain);
    {
        let mut state = node.state.borrow_mut();
        state.down_calls = 4;
        state.lose_pending = true;
    }
    let journal = TempJournal::new("faults");
    let outcomes = run(
        &node,
        &items,
        &journal,
        &key,
        &settings(7),
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(outcomes.iter().all(committed), "{outcomes:?}");
    node.assert_each_committed_once();
    let resubmitted = node
        .state
        .borrow()
        .submitted
        .values()
        .filter(|&&n| n > 1)
        .count();
    assert!(
        resubmitted > 0,
        "the lost mempool's transactions were submitted again"
    );
}

#[test]
fn an_interrupted_import_resumes_from_its_journal_without_recording_twice() {
    let (chain, key) = setup();
    let items = items(&chain, &key, 30);
    let node = FakeNode::new(&chain);
    let journal = TempJournal::new("resume");
    let stop = AtomicBool::new(true);
    let first = run(&node, &items, &journal, &key, &settings(4), &stop).unwrap();
    assert!(first.iter().all(|o| *o == Outcome::Unfinished), "{first:?}");
    // A run that stopped after the first half of the file.
    let half = &items[..15];
    run(
        &node,
        half,
        &journal,
        &key,
        &settings(4),
        &AtomicBool::new(false),
    )
    .unwrap();
    let outcomes = run(
        &node,
        &items,
        &journal,
        &key,
        &settings(4),
        &AtomicBool::new(false),
    )
    .unwrap();
    for (index, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Outcome::Committed { earlier, .. } => assert_eq!(*earlier, index < 15, "{index}"),
            other => panic!("{index}: {other:?}"),
        }
    }
    node.assert_each_committed_once();
    let state = node.state.borrow();
    assert!(
        items[..15]
            .iter()
            .all(|item| state.submitted[&id(item)] == 1),
        "what the journal knows is not submitted again"
    );
}

#[test]
fn a_journal_lost_with_the_rows_committed_finds_them_as_replays() {
    let (chain, key) = setup();
    let items = items(&chain, &key, 10);
    let node = FakeNode::new(&chain);
    for label in ["first", "second"] {
        let journal = TempJournal::new(label);
        let outcomes = run(
            &node,
            &items,
            &journal,
            &key,
            &settings(4),
            &AtomicBool::new(false),
        )
        .unwrap();
        let earlier = label == "second";
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Outcome::Committed { earlier: e, .. } if *e == earlier)),
            "{label}: {outcomes:?}"
        );
    }
    node.assert_each_committed_once();
}

#[test]
fn a_node_down_for_longer_than_the_retry_bound_stops_the_import() {
    let (chain, key) = setup();
    let items = items(&chain, &key, 5);
    let node = FakeNode::new(&chain);
    node.state.borrow_mut().down_calls = u32::MAX;
    let journal = TempJournal::new("down");
    let settings = Settings {
        retry_for: Duration::from_millis(300),
        ..settings(2)
    };
    let error = run(
        &node,
        &items,
        &journal,
        &key,
        &settings,
        &AtomicBool::new(false),
    )
    .unwrap_err();
    assert!(matches!(error, ImportError::GaveUp { .. }), "{error}");
    assert!(error.to_string().contains("run the same command again"));
}
