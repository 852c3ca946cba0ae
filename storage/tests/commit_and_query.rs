//! Commit the demo chain to RocksDB through execution over the store, then query it; refuse
//! blocks that do not extend the head and databases of other chains.

mod support;

use support::{STORY_BLOCKS, TempDir, Workload};
use suyuan_ledger::block::Block;
use suyuan_ledger::demo::{Demo, who};
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::state::{MemState, StateKey, StateRead, StateReadExt, TxLocation};
use suyuan_ledger::tx::Payload;
use suyuan_storage::{
    CheckScope, MAX_BLOCKS_PER_PAGE, MAX_PAGE_RECORDS, Order, PageRequest, StorageError, Store,
    TreeWrites,
};

/// Commits blocks 1..=`height` of `workload`, each executed over the store itself, and returns
/// the same chain replayed in memory.
fn commit_chain(store: &Store, workload: &Workload, height: u64) -> MemState {
    let mut replay = MemState::new();
    for h in store.head().height + 1..=height {
        let prepared = workload.prepare(store, h, store.head().hash);
        let in_memory = workload.prepare(&replay, h, store.head().hash);
        assert_eq!(
            prepared.writes, in_memory.writes,
            "block {h}: RocksDB and memory state differ"
        );
        prepared.commit_to(store).unwrap();
        replay.apply(in_memory.writes);
    }
    replay
}

#[test]
fn demo_chain_commits_and_answers_queries() {
    let dir = TempDir::new("queries");
    let workload = Workload::new(8);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    assert_eq!(store.head().height, 0);
    assert_eq!(store.head().hash, workload.genesis().hash());
    let replay = commit_chain(&store, &workload, 12);

    let head = store.head();
    assert_eq!(head.height, 12);
    assert_eq!(store.state_digest().unwrap(), replay.digest());
    for (key, value) in replay.entries() {
        assert_eq!(store.get(key).unwrap().as_ref(), Some(value));
    }

    let block = store.block(12).unwrap().unwrap();
    assert_eq!(block.hash(), head.hash);
    assert_eq!(
        store.block_by_hash(&head.hash).unwrap(),
        Some(block.clone())
    );
    assert_eq!(store.height_of(&head.hash).unwrap(), Some(12));
    assert_eq!(store.block(13).unwrap(), None);
    assert_eq!(store.block_by_hash(&Hash32([9; 32])).unwrap(), None);
    assert_eq!(
        store.justification(12).unwrap(),
        Some(Workload::certificate(12))
    );
    assert_eq!(store.justification(13).unwrap(), None);

    assert_eq!(store.headers(0, 2).unwrap(), store.headers(1, 2).unwrap());
    assert_eq!(store.headers(13, 5).unwrap(), vec![]);
    let headers = store.headers(3, 100).unwrap();
    assert_eq!(headers.len(), 10);
    assert!(headers.windows(2).all(|w| w[1].parent == w[0].hash()));
    let blocks = store.blocks(11, MAX_BLOCKS_PER_PAGE).unwrap();
    assert_eq!(
        blocks.iter().map(|b| b.header.height).collect::<Vec<_>>(),
        vec![11, 12]
    );
    assert!(matches!(
        store.blocks(1, MAX_BLOCKS_PER_PAGE + 1),
        Err(StorageError::Limit { .. })
    ));

    let envelope = &block.body.transactions[3];
    let id = envelope.id(&workload.genesis().binding());
    let tx = store.transaction(&id).unwrap().unwrap();
    assert_eq!(
        tx.location,
        TxLocation {
            height: 12,
            index: 3
        }
    );
    assert_eq!(&tx.envelope, envelope);
    assert_eq!(store.tx_location(&id).unwrap(), Some(tx.location));

    // Lot H12N0: commissioned by record 0, shipped by 2, inspected by 3.
    let lot = Workload::lot(12, 0);
    let latest = store.code_latest(&lot).unwrap().unwrap();
    assert_eq!(
        latest.location,
        TxLocation {
            height: 12,
            index: 3
        }
    );
    let history = store.code_history(&lot, PageRequest::first(10)).unwrap();
    let at: Vec<u32> = history.items.iter().map(|tx| tx.location.index).collect();
    assert_eq!(at, vec![0, 2, 3]);
    assert_eq!(history.next, None);
    let newest = store.code_history(&lot, PageRequest::newest(2)).unwrap();
    assert_eq!(
        newest
            .items
            .iter()
            .map(|tx| tx.location.index)
            .collect::<Vec<_>>(),
        vec![3, 2]
    );
    let rest = store
        .code_history(&lot, PageRequest::newest(2).next_of(&newest).unwrap())
        .unwrap();
    assert_eq!(
        rest.items
            .iter()
            .map(|tx| tx.location.index)
            .collect::<Vec<_>>(),
        vec![0]
    );
    assert_eq!(rest.next, None);
    let first_record = Payload::parse(&history.items[0].envelope.payload)
        .unwrap()
        .record;
    assert_eq!(first_record.codes(), vec![&lot]);

    // The cable maker appears in its enrolment, model, production and every sale.
    let cable = &workload.demo.enterprises[who::CABLE_MAKER].profile.uscc;
    let mut pages = 0;
    let mut seen = Vec::new();
    let mut request = Some(PageRequest::first(5));
    while let Some(page_request) = request {
        let page = store.enterprise_records(cable, page_request).unwrap();
        seen.extend(page.items.iter().map(|tx| tx.location));
        request = page_request.next_of(&page);
        pages += 1;
    }
    assert!(
        seen.windows(2)
            .all(|w| (w[0].height, w[0].index) < (w[1].height, w[1].index))
    );
    // Story: enrolment, model, commissioning, sale = 4; then 3 of every 4 generated records.
    assert_eq!(seen.len(), 4 + 7 * 6);
    assert_eq!(pages, seen.len().div_ceil(5));

    let models = store
        .model_records(
            &Demo::cable_gtin().into(),
            PageRequest {
                after: None,
                limit: 3,
                order: Order::OldestFirst,
            },
        )
        .unwrap();
    assert_eq!(
        models.items[0].location,
        TxLocation {
            height: 2,
            index: 0
        }
    );
    assert!(models.next.is_some());
    assert!(matches!(
        store.code_history(&lot, PageRequest::first(MAX_PAGE_RECORDS + 1)),
        Err(StorageError::Limit { .. })
    ));
    assert!(matches!(
        store.code_history(&lot, PageRequest::first(0)),
        Err(StorageError::Limit { .. })
    ));

    let counts = store.counts();
    assert_eq!(counts.blocks, 12);
    let story_txs: usize = workload.demo.story().iter().map(Vec::len).sum();
    assert_eq!(counts.transactions, (story_txs + 7 * 8) as u64);
    // Story codes: the cable lot, the cooker lot and 5 cooker serials; then 4 lots a block.
    assert_eq!(counts.codes, 7 + 7 * 4);
    assert_eq!(counts.enterprises, 4);

    let report = store.check_integrity(CheckScope::Full).unwrap();
    assert_eq!(report.head, head);
    assert_eq!(report.transactions_checked, counts.transactions);
    assert_eq!(report.state_digest, replay.digest());

    drop(store);
    let reopened = Store::open(dir.path(), workload.genesis()).unwrap();
    assert_eq!(reopened.head(), head);
    assert_eq!(reopened.counts(), counts);
    assert_eq!(reopened.state_digest().unwrap(), replay.digest());
}

#[test]
fn blocks_that_do_not_extend_the_head_are_refused_and_nothing_is_written() {
    let dir = TempDir::new("refusals");
    let workload = Workload::new(4);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    commit_chain(&store, &workload, STORY_BLOCKS + 1);
    let head = store.head();
    let digest = store.state_digest().unwrap();
    let next = workload.prepare(&store, head.height + 1, head.hash);
    let trees = suyuan_ledger::trees::grow(
        &store.log_frontier().unwrap(),
        &store,
        head.height + 1,
        &next.txs,
    )
    .unwrap();
    let trees = TreeWrites::from(&trees);
    let commit = |block: &Block, prepared: &support::Prepared| {
        store.commit_block(
            block,
            &prepared.txs,
            &prepared.certificate,
            &prepared.writes,
            &trees,
        )
    };

    // Replaying the head, skipping a height, or naming another parent.
    let again = store.block(head.height).unwrap().unwrap();
    assert!(matches!(
        commit(&again, &next),
        Err(StorageError::DoesNotExtend { .. })
    ));
    let skipped = workload.block(
        head.height + 2,
        head.hash,
        next.block.body.transactions.clone(),
    );
    assert!(matches!(
        commit(&skipped, &next),
        Err(StorageError::DoesNotExtend { .. })
    ));
    let orphan = workload.block(
        head.height + 1,
        Hash32([1; 32]),
        next.block.body.transactions.clone(),
    );
    assert!(matches!(
        commit(&orphan, &next),
        Err(StorageError::DoesNotExtend { .. })
    ));

    // Transactions that are not the body, or a write set of another block.
    let mut fewer = next.txs.clone();
    fewer.pop();
    assert!(matches!(
        store.commit_block(&next.block, &fewer, &next.certificate, &next.writes, &trees),
        Err(StorageError::TxsMismatch { .. })
    ));
    let mut swapped = next.txs.clone();
    swapped.swap(0, 1);
    assert!(matches!(
        store.commit_block(
            &next.block,
            &swapped,
            &next.certificate,
            &next.writes,
            &trees
        ),
        Err(StorageError::TxsMismatch { .. })
    ));
    let mut tampered = next.block.clone();
    tampered.body.transactions.pop();
    assert!(matches!(
        store.commit_block(
            &tampered,
            &next.txs,
            &next.certificate,
            &next.writes,
            &trees
        ),
        Err(StorageError::TxsMismatch { .. })
    ));
    let mut wrong_writes = next.writes.clone();
    wrong_writes.retain(|key, _| !matches!(key, StateKey::Tx(_)));
    assert!(matches!(
        store.commit_block(
            &next.block,
            &next.txs,
            &next.certificate,
            &wrong_writes,
            &trees
        ),
        Err(StorageError::WriteSetMismatch { .. })
    ));
    let oversized = vec![0u8; suyuan_storage::MAX_JUSTIFICATION_BYTES + 1];
    assert!(matches!(
        store.commit_block(&next.block, &next.txs, &oversized, &next.writes, &trees),
        Err(StorageError::Limit { .. })
    ));

    assert_eq!(store.head(), head);
    assert_eq!(store.state_digest().unwrap(), digest);
    assert_eq!(store.block(head.height + 1).unwrap(), None);
    store.check_integrity(CheckScope::Full).unwrap();
    commit(&next.block, &next).unwrap();
    assert_eq!(store.head().height, head.height + 1);
}

#[test]
fn another_chain_or_genesis_is_refused_on_open() {
    let dir = TempDir::new("identity");
    let workload = Workload::new(4);
    drop(Store::open(dir.path(), workload.genesis()).unwrap());

    let mut other_chain = workload.genesis().clone();
    other_chain.chain_id = "another-consortium".into();
    match Store::open(dir.path(), &other_chain) {
        Err(StorageError::WrongChain { expected, found }) => {
            assert_eq!(expected, "another-consortium");
            assert_eq!(found, workload.genesis().chain_id);
        }
        other => panic!("expected WrongChain, got {other:?}"),
    }
    let mut other_genesis = workload.genesis().clone();
    other_genesis.genesis_time_ms += 1;
    assert!(matches!(
        Store::open(dir.path(), &other_genesis),
        Err(StorageError::WrongGenesis { .. })
    ));
    Store::open(dir.path(), workload.genesis()).unwrap();
}

#[test]
fn execution_over_the_store_sees_committed_state() {
    let dir = TempDir::new("stateread");
    let workload = Workload::new(4);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    commit_chain(&store, &workload, STORY_BLOCKS);
    let cable = &workload.demo.enterprises[who::CABLE_MAKER].profile;
    let enterprise = store.enterprise(&cable.uscc).unwrap().unwrap();
    assert_eq!(enterprise.profile, *cable);
    // Replaying a committed transaction over the store is refused: the store remembers it.
    let replayed = workload.envelopes(1);
    let head = store.head();
    let genesis = workload.genesis();
    let txs: Vec<_> = replayed
        .into_iter()
        .map(|e| e.verify(&genesis.binding()).unwrap())
        .collect();
    let context = suyuan_ledger::exec::BlockContext {
        genesis,
        height: head.height + 1,
        time_ms: workload.time_ms(head.height + 1),
    };
    let refused = suyuan_ledger::exec::execute_block(&store, context, &txs).unwrap_err();
    assert!(matches!(
        refused.error.rule(),
        Some(suyuan_ledger::exec::RuleError::Replay { .. })
    ));
}

/// The store keeps what it read (and what it found absent) in a cache: every key a block writes,
/// read before the block commits and again after, answers what the chain replayed in memory says.
#[test]
fn state_read_before_a_commit_is_read_anew_after_it() {
    let dir = TempDir::new("statecache");
    let workload = Workload::new(4);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let mut replay = MemState::new();
    for h in 1..=STORY_BLOCKS {
        let prepared = workload.prepare(&store, h, store.head().hash);
        for key in prepared.writes.keys() {
            // Twice: the second read is the cache's.
            for _ in 0..2 {
                assert_eq!(store.get(key).unwrap(), replay.get(key).unwrap(), "{key:?}");
            }
        }
        prepared.commit_to(&store).unwrap();
        replay.apply(prepared.writes.clone());
        for key in prepared.writes.keys() {
            for _ in 0..2 {
                assert_eq!(store.get(key).unwrap(), replay.get(key).unwrap(), "{key:?}");
            }
        }
    }
    // A reopened store (an empty cache) reads the same.
    drop(store);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    for (key, value) in replay.entries() {
        assert_eq!(store.get(key).unwrap().as_ref(), Some(value), "{key:?}");
    }
}

#[test]
fn readers_on_other_threads_see_whole_blocks_while_commits_run() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();

    let dir = TempDir::new("concurrent");
    let workload = Workload::new(8);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let target = STORY_BLOCKS + 20;
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut reads = 0;
            loop {
                let head = store.head();
                if head.height > 0 {
                    let block = store
                        .block(head.height)
                        .unwrap()
                        .expect("the head's block is readable");
                    assert_eq!(block.hash(), head.hash);
                    assert!(store.justification(head.height).unwrap().is_some());
                    for envelope in &block.body.transactions {
                        let id = envelope.id(&workload.genesis().binding());
                        assert!(store.transaction(&id).unwrap().is_some());
                    }
                    reads += 1;
                }
                if head.height == target {
                    return reads;
                }
            }
        });
        commit_chain(&store, &workload, target);
        assert!(reader.join().unwrap() > 0);
    });
}
