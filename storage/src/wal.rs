//! Keep the consensus write-ahead log: the node's own votes, durable before they are sent.
//!
//! Records are opaque bytes (the consensus crate encodes them) under increasing sequence
//! numbers. [`Store::wal_append`] returns only once the record is synced to disk; on start,
//! [`Store::wal_entries`] hands them back in append order; [`Store::wal_truncate_below`] drops
//! the ones consensus no longer needs (votes of views below the last finalized one).

use std::sync::{MutexGuard, PoisonError};

use rocksdb::{IteratorMode, WriteBatch};

use crate::error::StorageError;
use crate::schema::{cf, corrupt, decode_u64, height_key, meta, seal, unseal};
use crate::store::Store;

/// Largest WAL record, in bytes: a vote is a few hundred.
pub const MAX_WAL_RECORD_BYTES: usize = 64 * 1024;

/// Most records the WAL keeps; appends beyond it are refused until the node truncates.
pub const MAX_WAL_ENTRIES: u64 = 100_000;

/// One record of the write-ahead log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalEntry {
    /// Its sequence number: increasing in append order, never reused.
    pub seq: u64,
    /// The bytes appended.
    pub record: Vec<u8>,
}

/// The live range of sequence numbers: `first..next`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WalCursor {
    first: u64,
    next: u64,
}

impl Store {
    /// Appends `record` and syncs it to disk before returning its sequence number.
    ///
    /// A failed write halts the store (see [`Store`]): the vote must not be sent.
    pub fn wal_append(&self, record: &[u8]) -> Result<u64, StorageError> {
        self.ensure_running()?;
        if record.len() > MAX_WAL_RECORD_BYTES {
            return Err(StorageError::Limit {
                what: "WAL record size in bytes",
                max: MAX_WAL_RECORD_BYTES,
                found: record.len(),
            });
        }
        let mut cursor = self.lock_wal();
        let live = cursor.next - cursor.first;
        if live >= MAX_WAL_ENTRIES {
            return Err(StorageError::Limit {
                what: "WAL entries (truncate the WAL)",
                max: MAX_WAL_ENTRIES as usize,
                found: live as usize + 1,
            });
        }
        let seq = cursor.next;
        let key = height_key(seq);
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(cf::WAL), key, seal(cf::WAL, &key, record));
        self.write_synced(batch, "append to WAL")?;
        cursor.next = seq + 1;
        Ok(seq)
    }

    /// Every record kept, in append order.
    pub fn wal_entries(&self) -> Result<Vec<WalEntry>, StorageError> {
        let _cursor = self.lock_wal();
        let mut entries = Vec::new();
        for item in self.db.iterator_cf(self.cf(cf::WAL), IteratorMode::Start) {
            let (key, value) = item.map_err(StorageError::backend("scan WAL"))?;
            let seq = decode_u64(&key)
                .ok_or_else(|| corrupt(cf::WAL, &key, "not an 8-byte sequence number".into()))?;
            let record = unseal(cf::WAL, &key, &value)?.to_vec();
            entries.push(WalEntry { seq, record });
        }
        Ok(entries)
    }

    /// Drops every record with a sequence number below `seq`, durably.
    pub fn wal_truncate_below(&self, seq: u64) -> Result<(), StorageError> {
        self.ensure_running()?;
        let mut cursor = self.lock_wal();
        let floor = seq.clamp(cursor.first, cursor.next);
        if floor == cursor.first {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.cf(cf::WAL), height_key(0), height_key(floor));
        self.put_meta(&mut batch, meta::WAL_FLOOR, &floor.to_be_bytes());
        self.write_synced(batch, "truncate WAL")?;
        cursor.first = floor;
        Ok(())
    }

    /// Finds the live range on open: from the first record kept (or the stored floor) to one
    /// past the last.
    pub(crate) fn load_wal_cursor(&self) -> Result<WalCursor, StorageError> {
        let floor = match self.read(cf::META, meta::WAL_FLOOR)? {
            Some(bytes) => decode_u64(&bytes).ok_or_else(|| {
                corrupt(
                    cf::META,
                    meta::WAL_FLOOR,
                    "not an 8-byte sequence number".into(),
                )
            })?,
            None => 0,
        };
        let family = self.cf(cf::WAL);
        let edge = |mode| -> Result<Option<u64>, StorageError> {
            match self.db.iterator_cf(family, mode).next() {
                None => Ok(None),
                Some(item) => {
                    let (key, _) = item.map_err(StorageError::backend("scan WAL"))?;
                    decode_u64(&key).map(Some).ok_or_else(|| {
                        corrupt(cf::WAL, &key, "not an 8-byte sequence number".into())
                    })
                }
            }
        };
        let (first, last) = (edge(IteratorMode::Start)?, edge(IteratorMode::End)?);
        match (first, last) {
            (Some(first), Some(last)) if first >= floor => Ok(WalCursor {
                first,
                next: last + 1,
            }),
            (Some(first), Some(_)) => Err(corrupt(
                cf::WAL,
                &height_key(first),
                format!("kept below the truncation floor {floor}"),
            )),
            _ => Ok(WalCursor {
                first: floor,
                next: floor,
            }),
        }
    }

    /// The WAL lock, which serialises appends and truncations. The cursor is updated only after
    /// a write succeeds, so a poisoned lock still holds a consistent cursor.
    fn lock_wal(&self) -> MutexGuard<'_, crate::wal::WalCursor> {
        self.wal.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
