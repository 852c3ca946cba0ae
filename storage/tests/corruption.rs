//! Flip bytes in stored values with raw RocksDB, behind the store's back, and show that every
//! read of them reports corruption instead of serving them.

mod support;

use rocksdb::{DB, IteratorMode, Options};
use support::{TempDir, Workload};
use suyuan_ledger::codes::ccc::CccCertificate;
use suyuan_ledger::state::{StateKey, StateRead};
use suyuan_storage::schema::{COLUMN_FAMILIES, SCHEMA_VERSION, UPGRADABLE_VERSION, cf, seal};
use suyuan_storage::{CheckScope, PageRequest, StorageError, Store};

const HEIGHT: u64 = 7;

/// A database holding blocks 1..=HEIGHT and two WAL records.
fn populated(label: &str) -> (TempDir, Workload) {
    let dir = TempDir::new(label);
    let workload = Workload::new(8);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    for height in 1..=HEIGHT {
        let p = workload.prepare(&store, height, store.head().hash);
        p.commit_to(&store).unwrap();
    }
    store.wal_append(b"vote one").unwrap();
    store.wal_append(b"vote two").unwrap();
    (dir, workload)
}

/// Opens the database with plain RocksDB, as an attacker or a failing disk would see it.
fn raw(dir: &TempDir) -> DB {
    DB::open_cf(&Options::default(), dir.path(), COLUMN_FAMILIES).unwrap()
}

/// Flips one bit of the value under `key` in `family`, at `offset` from the value's end.
fn flip(dir: &TempDir, family: &str, key: &[u8], offset_from_end: usize) {
    let db = raw(dir);
    let handle = db.cf_handle(family).unwrap();
    let mut value = db
        .get_cf(handle, key)
        .unwrap()
        .expect("the value to corrupt exists");
    let at = value.len() - 1 - offset_from_end.min(value.len() - 1);
    value[at] ^= 0x04;
    db.put_cf(handle, key, value).unwrap();
}

/// The key of the `n`th entry of `family`.
fn nth_key(dir: &TempDir, family: &str, n: usize) -> Vec<u8> {
    let db = raw(dir);
    let handle = db.cf_handle(family).unwrap();
    let (key, _) = db
        .iterator_cf(handle, IteratorMode::Start)
        .nth(n)
        .unwrap()
        .unwrap();
    key.to_vec()
}

fn assert_corrupt<T: std::fmt::Debug>(result: Result<T, StorageError>, what: &str) {
    match result {
        Err(StorageError::Corrupt { what: found, .. }) => assert_eq!(found, what),
        other => panic!("expected corruption of {what}, got {other:?}"),
    }
}

#[test]
fn flipped_header_body_and_certificate_bytes_are_reported() {
    let (dir, workload) = populated("corrupt-blocks");
    let height_key = 6u64.to_be_bytes();
    flip(&dir, cf::HEADERS, &height_key, 3);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    assert_corrupt(store.header(6), cf::HEADERS);
    assert_corrupt(store.block(6), cf::HEADERS);
    assert_corrupt(store.headers(1, 10), cf::HEADERS);
    assert_corrupt(store.check_integrity(CheckScope::Full), cf::HEADERS);
    assert!(
        store.block(5).unwrap().is_some(),
        "other blocks are still served"
    );
    drop(store);

    let (dir, workload) = populated("corrupt-body");
    let mut tx_key = 6u64.to_be_bytes().to_vec();
    tx_key.extend_from_slice(&2u32.to_be_bytes());
    flip(&dir, cf::BLOCK_TXS, &tx_key, 40);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    assert_corrupt(store.block(6), cf::BLOCK_TXS);
    assert_corrupt(
        store.code_history(&Workload::lot(6, 0), PageRequest::first(10)),
        cf::BLOCK_TXS,
    );
    assert_corrupt(store.check_integrity(CheckScope::Since(6)), cf::BLOCK_TXS);
    drop(store);

    flip(&dir, cf::JUSTIFICATIONS, &5u64.to_be_bytes(), 0);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    assert_corrupt(store.justification(5), cf::JUSTIFICATIONS);
}

#[test]
fn a_block_rewritten_with_a_valid_checksum_still_fails_its_hashes() {
    // Someone who knows the checksum rule rewrites a header's time: the header no longer
    // hashes to its stored hash, and the chain check catches the broken link.
    let (dir, workload) = populated("forged");
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let mut header = store.header(4).unwrap().unwrap();
    let stored_hash = header.hash();
    drop(store);
    header.time_ms += 1;
    let mut payload = stored_hash.as_bytes().to_vec();
    payload.extend_from_slice(&header.to_bytes());
    let key = 4u64.to_be_bytes();
    {
        let db = raw(&dir);
        db.put_cf(
            db.cf_handle(cf::HEADERS).unwrap(),
            key,
            seal(cf::HEADERS, &key, &payload),
        )
        .unwrap();
    }
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    assert_corrupt(store.header(4), cf::HEADERS);
}

#[test]
fn flipped_index_state_and_wal_values_are_reported() {
    let (dir, workload) = populated("corrupt-indexes");
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let head_block = store.block(HEIGHT).unwrap().unwrap();
    let id = head_block.body.transactions[0].id(&workload.genesis().binding());
    let lot = Workload::lot(HEIGHT, 0);
    let state_key = StateKey::Code(lot.clone());
    drop(store);

    flip(&dir, cf::TXS, id.as_bytes(), 0);
    flip(&dir, cf::CODE_LATEST, lot.to_string().as_bytes(), 5);
    flip(&dir, cf::STATE, &state_key.to_bytes(), 10);
    let history_key = nth_key(&dir, cf::CODE_HISTORY, 0);
    flip(&dir, cf::CODE_HISTORY, &history_key, 0);
    let wal_key = nth_key(&dir, cf::WAL, 1);
    flip(&dir, cf::WAL, &wal_key, 0);

    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    assert_corrupt(store.transaction(&id), cf::TXS);
    assert_corrupt(store.code_latest(&lot), cf::CODE_LATEST);
    match store.get(&state_key) {
        Err(suyuan_ledger::state::StateError::Corrupt { key, .. }) => {
            assert!(key.starts_with("state"))
        }
        other => panic!("expected corrupt state, got {other:?}"),
    }
    assert_corrupt(store.state_digest(), cf::STATE);
    assert_corrupt(store.wal_entries(), cf::WAL);
    assert!(matches!(
        store.check_integrity(CheckScope::Full),
        Err(StorageError::Corrupt { .. })
    ));
}

/// Writes `payload` under `key` in `family`, sealed as the store would: an entry that passes its
/// checksum but that no block put there.
fn put_sealed(dir: &TempDir, family: &str, key: &[u8], payload: &[u8]) {
    let db = raw(dir);
    let value = seal(family, key, payload);
    db.put_cf(db.cf_handle(family).unwrap(), key, value)
        .unwrap();
}

fn delete(dir: &TempDir, family: &str, key: &[u8]) {
    let db = raw(dir);
    db.delete_cf(db.cf_handle(family).unwrap(), key).unwrap();
}

/// The payload (checksum removed) under `key` in `family`.
fn stored_payload(dir: &TempDir, family: &'static str, key: &[u8]) -> Vec<u8> {
    let db = raw(dir);
    let value = db
        .get_cf(db.cf_handle(family).unwrap(), key)
        .unwrap()
        .unwrap();
    suyuan_storage::schema::unseal(family, key, &value)
        .unwrap()
        .to_vec()
}

#[track_caller]
fn assert_names(
    result: Result<suyuan_storage::IntegrityReport, StorageError>,
    what: &str,
    words: &str,
) {
    match result {
        Err(StorageError::Corrupt {
            what: found,
            reason,
            ..
        }) => assert!(found == what && reason.contains(words), "{found}: {reason}"),
        other => panic!("expected corruption of {what}, got {other:?}"),
    }
}

/// The full check counts each index family against the entries the blocks name, and only scans
/// a family entry by entry when its count is off: a sealed entry that no block put there is
/// still named, in either full scope, and tree nodes are counted alike in both.
#[test]
fn stray_index_entries_are_named_and_tree_nodes_counted() {
    let (dir, workload) = populated("stray-entries");
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let full = store.check_integrity(CheckScope::Full).unwrap();
    let counted = store
        .check_integrity(CheckScope::FullCountingTreeNodes)
        .unwrap();
    assert!(full.map_nodes > 0 && full.log_nodes > 0);
    assert_eq!(
        (counted.log_nodes, counted.map_nodes),
        (full.log_nodes, full.map_nodes)
    );
    assert_eq!(full.tree_nodes_checked, full.log_nodes + full.map_nodes);
    assert_eq!(counted.tree_nodes_checked, 0);
    assert_eq!(counted.state_digest, full.state_digest);
    assert_eq!(counted.index_entries_checked, full.index_entries_checked);
    drop(store);

    let scopes = [CheckScope::Full, CheckScope::FullCountingTreeNodes];
    // An id no block holds, pointing at a stored transaction.
    let real = nth_key(&dir, cf::TXS, 0);
    let position = stored_payload(&dir, cf::TXS, &real);
    put_sealed(&dir, cf::TXS, &[0xab; 32], &position);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    for scope in scopes {
        assert_names(
            store.check_integrity(scope),
            cf::TXS,
            "which does not hold it",
        );
    }
    drop(store);
    delete(&dir, cf::TXS, &[0xab; 32]);

    // A history entry for a code the transaction at its position does not name.
    let real = nth_key(&dir, cf::CODE_HISTORY, 0);
    let mut stray = b"01/09506000134376/10/NOT-NAMED\0".to_vec();
    stray.extend_from_slice(&real[real.len() - 12..]);
    put_sealed(&dir, cf::CODE_HISTORY, &stray, &[]);
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    for scope in scopes {
        assert_names(
            store.check_integrity(scope),
            cf::CODE_HISTORY,
            "does not name it",
        );
    }
    drop(store);
    delete(&dir, cf::CODE_HISTORY, &stray);

    // A map node under a version that did not write its position is counted.
    let real = nth_key(&dir, cf::MAP_NODES, 0);
    let mut stray = real.clone();
    stray[34..].copy_from_slice(&(HEIGHT + 1).to_be_bytes());
    put_sealed(
        &dir,
        cf::MAP_NODES,
        &stray,
        &stored_payload(&dir, cf::MAP_NODES, &real),
    );
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let report = store
        .check_integrity(CheckScope::FullCountingTreeNodes)
        .unwrap();
    assert_eq!(report.map_nodes, full.map_nodes + 1);
    assert_names(
        store.check_integrity(CheckScope::Full),
        cf::MAP_NODES,
        "is not a height from 1 to the head",
    );
    let clean = store.check_integrity(CheckScope::Since(1));
    assert!(clean.is_ok(), "{clean:?}");
}

#[test]
fn a_corrupt_head_or_foreign_schema_refuses_to_open() {
    let (dir, workload) = populated("corrupt-meta");
    flip(&dir, cf::META, b"head", 0);
    assert_corrupt(Store::open(dir.path(), workload.genesis()), cf::META);

    let (dir, workload) = populated("schema");
    {
        let db = raw(&dir);
        let key = b"schema_version";
        let newer = (SCHEMA_VERSION + 1).to_be_bytes();
        db.put_cf(
            db.cf_handle(cf::META).unwrap(),
            key,
            seal(cf::META, key, &newer),
        )
        .unwrap();
    }
    match Store::open(dir.path(), workload.genesis()) {
        Err(StorageError::SchemaVersion { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected a schema version error, got {other:?}"),
    }
}

#[test]
fn a_half_written_block_is_detected() {
    // Storage never writes one (each block is one atomic batch); this forges the state a
    // non-atomic writer would leave, to show that open and the integrity check notice it.
    let (dir, workload) = populated("half");
    {
        let db = raw(&dir);
        let key = (HEIGHT + 1).to_be_bytes();
        db.put_cf(
            db.cf_handle(cf::JUSTIFICATIONS).unwrap(),
            key,
            seal(cf::JUSTIFICATIONS, &key, b"x"),
        )
        .unwrap();
    }
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    assert_corrupt(
        store.check_integrity(CheckScope::Since(HEIGHT)),
        cf::JUSTIFICATIONS,
    );
}

#[test]
fn a_version_3_database_is_upgraded_with_its_certificate_index() {
    // The cable certificate: in the cable maker's enrolment and its model's registration.
    let certificate: CccCertificate = "2024010105123456".parse().unwrap();
    let all = PageRequest::first(100);
    let (dir, workload) = populated("upgrade");
    let indexed = {
        let store = Store::open(dir.path(), workload.genesis()).unwrap();
        store.certificate_records(&certificate, all).unwrap().items
    };
    assert_eq!(indexed.len(), 2, "{indexed:?}");
    // What a version-3 node left: no certificate index, version 3.
    {
        let db = raw(&dir);
        let family = db.cf_handle(cf::CERTIFICATE_RECORDS).unwrap();
        let keys: Vec<_> = db
            .iterator_cf(family, IteratorMode::Start)
            .map(|item| item.unwrap().0)
            .collect();
        for key in keys {
            db.delete_cf(family, key).unwrap();
        }
        let key = b"schema_version";
        let older = UPGRADABLE_VERSION.to_be_bytes();
        let meta = db.cf_handle(cf::META).unwrap();
        db.put_cf(meta, key, seal(cf::META, key, &older)).unwrap();
    }
    let store = Store::open(dir.path(), workload.genesis()).unwrap();
    let upgraded = store.certificate_records(&certificate, all).unwrap().items;
    assert_eq!(upgraded, indexed);
    store.check_integrity(CheckScope::Full).unwrap();
    drop(store);
    let db = raw(&dir);
    let version = db
        .get_cf(db.cf_handle(cf::META).unwrap(), b"schema_version")
        .unwrap()
        .unwrap();
    assert_eq!(version[version.len() - 4..], SCHEMA_VERSION.to_be_bytes());
}
