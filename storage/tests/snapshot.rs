//! Read the committed state as of one head while blocks keep committing, and list the enrolled
//! enterprises page by page, from a snapshot.

mod support;

use rocksdb::{DB, Options};
use support::{STORY_BLOCKS, TempDir, Workload};
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::demo::uscc;
use suyuan_ledger::record::{EnterpriseKind, EnterpriseProfile, Record, RegisterEnterprise};
use suyuan_ledger::state::{MemState, StateKey, StateRead, StateReadExt, StateValue, TxLocation};
use suyuan_ledger::tx::{Envelope, Payload};
use suyuan_storage::query::MAX_ENTERPRISES_PER_PAGE;
use suyuan_storage::schema::{COLUMN_FAMILIES, cf, seal};
use suyuan_storage::{PageRequest, StorageError, Store};

/// Commits blocks up to `height` of `workload`, each executed over the store.
fn commit_to(store: &Store, workload: &Workload, height: u64) {
    for h in store.head().height + 1..=height {
        let p = workload.prepare(store, h, store.head().hash);
        p.commit_to(store).unwrap();
    }
}

/// The bureau enrols a manufacturer with USCC body `body` in the next block.
fn enrol(store: &Store, workload: &Workload, body: &str) -> Uscc {
    let demo = &workload.demo;
    let enterprise = demo.enterprises[0].profile.clone();
    let profile = EnterpriseProfile {
        uscc: uscc(body),
        name: format!("Enterprise {body}").parse().unwrap(),
        kind: EnterpriseKind::Manufacturer,
        production_licences: Vec::new(),
        ccc_certificates: Vec::new(),
        accreditations: Vec::new(),
        ..enterprise
    };
    let key = suyuan_ledger::crypto::KeyPair::insecure_from_label(body);
    let payload = Payload {
        nonce: 9_000 + store.head().height,
        record: Record::RegisterEnterprise(RegisterEnterprise {
            enterprise: profile.clone(),
            keys: vec![key.public()],
            prefixes: Vec::new(),
        }),
        event: None,
    };
    let envelope = Envelope::sign(&demo.genesis.binding(), &payload, &demo.bureau);
    let height = store.head().height + 1;
    let p = workload.prepare_signed(store, height, store.head().hash, vec![envelope]);
    p.commit_to(store).unwrap();
    profile.uscc
}

/// The USCCs of the enterprise entries of a replayed state, in key order.
fn enrolled(state: &MemState) -> Vec<Uscc> {
    state
        .entries()
        .filter_map(|(key, _)| match key {
            StateKey::Enterprise(uscc) => Some(uscc.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn enterprises_page_through_the_state_in_uscc_order() {
    let dir = TempDir::new("snapshot-pages");
    let workload = Workload::new(4);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    assert!(
        store
            .snapshot()
            .enterprises(None, 10)
            .unwrap()
            .items
            .is_empty()
    );
    commit_to(&store, &workload, STORY_BLOCKS);
    let expected = enrolled(&workload.demo.story_state());
    assert_eq!(expected.len(), 4, "the story enrols four enterprises");

    let snapshot = store.snapshot();
    let all = snapshot
        .enterprises(None, MAX_ENTERPRISES_PER_PAGE)
        .unwrap();
    assert_eq!(all.next, None);
    let listed: Vec<Uscc> = all.items.iter().map(|e| e.profile.uscc.clone()).collect();
    assert_eq!(listed, expected, "every enrolled enterprise, in USCC order");
    for state in &all.items {
        assert_eq!(
            snapshot.enterprise(&state.profile.uscc).unwrap().as_ref(),
            Some(state)
        );
    }

    for limit in [1, 3] {
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = snapshot.enterprises(after.as_ref(), limit).unwrap();
            assert!(page.items.len() <= limit);
            paged.extend(page.items.iter().map(|e| e.profile.uscc.clone()));
            match page.next {
                Some(next) => {
                    assert_eq!(Some(&next), paged.last(), "the cursor is the last item");
                    after = Some(next);
                }
                None => break,
            }
        }
        assert_eq!(paged, expected, "pages of {limit}");
    }
    let past_the_end = snapshot.enterprises(expected.last(), 10).unwrap();
    assert!(past_the_end.items.is_empty());
    assert_eq!(past_the_end.next, None);

    for limit in [0, MAX_ENTERPRISES_PER_PAGE + 1] {
        assert!(matches!(
            snapshot.enterprises(None, limit),
            Err(StorageError::Limit { found, .. }) if found == limit
        ));
    }
}

#[test]
fn snapshot_reads_the_state_of_its_head_while_blocks_commit() {
    let dir = TempDir::new("snapshot-head");
    let workload = Workload::new(4);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    commit_to(&store, &workload, STORY_BLOCKS);

    let snapshot = store.snapshot();
    assert_eq!(snapshot.head(), store.head());
    assert_eq!(
        snapshot.below_head(),
        TxLocation {
            height: STORY_BLOCKS + 1,
            index: 0
        }
    );
    let newcomer = enrol(&store, &workload, "91110000MA01XYK12");
    commit_to(&store, &workload, STORY_BLOCKS + 2);
    assert_eq!(store.head().height, STORY_BLOCKS + 2);

    // The store sees the newcomer and the new lots; the snapshot still reads its own head.
    assert!(store.enterprise(&newcomer).unwrap().is_some());
    assert_eq!(snapshot.enterprise(&newcomer).unwrap(), None);
    let new_lot = StateKey::Code(Workload::lot(STORY_BLOCKS + 2, 0));
    assert!(store.get(&new_lot).unwrap().is_some());
    assert_eq!(snapshot.get(&new_lot).unwrap(), None);
    let listed = snapshot.enterprises(None, 100).unwrap().items;
    assert!(listed.iter().all(|e| e.profile.uscc != newcomer));
    assert_eq!(listed.len(), 4);
    assert!(
        store
            .snapshot()
            .enterprises(None, 100)
            .unwrap()
            .items
            .iter()
            .any(|e| e.profile.uscc == newcomer)
    );

    // Index pages newest first from `below_head` hold only records at or below the head.
    let cable = &workload.demo.enterprises[0].profile.uscc;
    let page = PageRequest {
        after: Some(snapshot.below_head()),
        ..PageRequest::newest(1000)
    };
    let records = snapshot.store().enterprise_records(cable, page).unwrap();
    assert!(!records.items.is_empty());
    assert!(
        records
            .items
            .iter()
            .all(|tx| tx.location.height <= STORY_BLOCKS)
    );
    let everything = store
        .enterprise_records(cable, PageRequest::newest(1000))
        .unwrap();
    assert!(everything.items.len() > records.items.len());
}

#[test]
fn a_forged_enterprise_entry_is_reported_not_listed() {
    let dir = TempDir::new("snapshot-forged");
    let workload = Workload::new(4);
    let cable = workload.demo.enterprises[0].profile.uscc.clone();
    let gas = workload.demo.enterprises[1].profile.uscc.clone();
    {
        let store = Store::open(dir.path(), workload.genesis()).unwrap();
        commit_to(&store, &workload, STORY_BLOCKS);
    }
    // Under the cable maker's key, a correctly sealed entry of the gas maker: only a check of
    // the value against its key catches it.
    let state = workload.demo.story_state();
    let Some(StateValue::Enterprise(gas_state)) = state.get(&StateKey::Enterprise(gas)).unwrap()
    else {
        panic!("the story enrols the gas maker");
    };
    let key = StateKey::Enterprise(cable).to_bytes();
    {
        let db = DB::open_cf(&Options::default(), dir.path(), COLUMN_FAMILIES).unwrap();
        let value = StateValue::Enterprise(gas_state).to_bytes();
        db.put_cf(
            db.cf_handle(cf::STATE).unwrap(),
            &key,
            seal(cf::STATE, &key, &value),
        )
        .unwrap();
    }
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    match store.snapshot().enterprises(None, 100) {
        Err(StorageError::Corrupt { what, reason, .. }) => {
            assert_eq!(what, cf::STATE);
            assert!(reason.contains("holds enterprise"), "{reason}");
        }
        other => panic!("expected corruption, got {other:?}"),
    }
}
