//! The consensus write-ahead log across restarts, and online checkpoints restored elsewhere.

mod support;

use support::{TempDir, Workload};
use suyuan_storage::{CheckScope, MAX_WAL_RECORD_BYTES, StorageError, Store, WalEntry};

fn records(entries: &[WalEntry]) -> Vec<(u64, Vec<u8>)> {
    entries.iter().map(|e| (e.seq, e.record.clone())).collect()
}

#[test]
fn wal_returns_records_in_order_across_restarts_and_truncation() {
    let dir = TempDir::new("wal");
    let workload = Workload::new(4);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    assert!(store.wal_entries().unwrap().is_empty());
    for n in 0..5u8 {
        assert_eq!(store.wal_append(&[n; 3]).unwrap(), u64::from(n));
    }
    drop(store);

    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let entries = store.wal_entries().unwrap();
    assert_eq!(
        records(&entries),
        (0..5u8)
            .map(|n| (u64::from(n), vec![n; 3]))
            .collect::<Vec<_>>()
    );
    store.wal_truncate_below(3).unwrap();
    assert_eq!(store.wal_entries().unwrap().first().map(|e| e.seq), Some(3));
    assert_eq!(store.wal_append(b"next").unwrap(), 5);
    // Truncating everything keeps sequence numbers increasing across a restart.
    store.wal_truncate_below(u64::MAX).unwrap();
    assert!(store.wal_entries().unwrap().is_empty());
    drop(store);

    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    assert!(store.wal_entries().unwrap().is_empty());
    assert_eq!(store.wal_append(b"after restart").unwrap(), 6);
    assert!(matches!(
        store.wal_append(&vec![0; MAX_WAL_RECORD_BYTES + 1]),
        Err(StorageError::Limit { .. })
    ));
    store.wal_append(&vec![7; MAX_WAL_RECORD_BYTES]).unwrap();
    assert_eq!(store.wal_entries().unwrap().len(), 2);
}

#[test]
fn checkpoint_restores_to_the_same_head_and_state() {
    let dir = TempDir::new("backup");
    let workload = Workload::new(8);
    let store = Store::open(dir.join("live"), workload.genesis()).unwrap();
    for height in 1..=8 {
        let p = workload.prepare(&store, height, store.head().hash);
        p.commit_to(&store).unwrap();
    }
    store.wal_append(b"vote").unwrap();
    let head = store.head();
    let counts = store.counts();
    let digest = store.state_digest().unwrap();

    assert_eq!(store.checkpoint(dir.join("checkpoint")).unwrap(), head);
    assert!(matches!(
        store.checkpoint(dir.join("checkpoint")),
        Err(StorageError::Exists { .. })
    ));
    // The live database moves on; the checkpoint does not.
    let p = workload.prepare(&store, 9, head.hash);
    p.commit_to(&store).unwrap();

    let restored = Store::restore(
        dir.join("checkpoint"),
        dir.join("restored"),
        workload.genesis(),
    )
    .unwrap();
    assert_eq!(restored.head(), head);
    assert_eq!(restored.counts(), counts);
    assert_eq!(restored.state_digest().unwrap(), digest);
    assert_eq!(restored.wal_entries().unwrap().len(), 1);
    let report = restored.check_integrity(CheckScope::Full).unwrap();
    assert_eq!(report.state_digest, digest);
    // The restored database carries on from its head.
    let p = workload.prepare(&restored, 9, head.hash);
    p.commit_to(&restored).unwrap();
    assert_eq!(restored.head(), store.head());
    assert_eq!(
        restored.state_digest().unwrap(),
        store.state_digest().unwrap()
    );
    drop(restored);

    let reopened = Store::open(dir.join("restored"), workload.genesis()).unwrap();
    assert_eq!(reopened.head(), store.head());
    assert!(matches!(
        Store::restore(
            dir.join("checkpoint"),
            dir.join("restored"),
            workload.genesis()
        ),
        Err(StorageError::Exists { .. })
    ));
    // A checkpoint opens as a database in its own right, and only for its own chain.
    let mut other = workload.genesis().clone();
    other.chain_id = "other".into();
    assert!(matches!(
        Store::open(dir.join("checkpoint"), &other),
        Err(StorageError::WrongChain { .. })
    ));
    let direct = Store::open(dir.join("checkpoint"), workload.genesis()).unwrap();
    assert_eq!(direct.head(), head);
    let mut replay = suyuan_ledger::state::MemState::new();
    for height in 1..=head.height {
        let p = workload.prepare(
            &replay,
            height,
            direct.header(height).unwrap().unwrap().parent,
        );
        replay.apply(p.writes);
    }
    assert_eq!(replay.digest(), digest);
}
