//! Hold the state the audit replays, and compare it with a node's stored state entry by entry.
//!
//! The replay keeps its state in memory ([`ReplayState`]) rather than in a second RocksDB
//! store: it must not share anything with the store under audit, it writes no block, index or
//! tree node that a store would, and committing to a store costs an `fsync` per block. What it
//! costs is memory: one entry per live state key (every committed transaction keeps one, for
//! replay protection). The entries every transaction writes (its replay-protection location,
//! holdings) are kept inline in a few bytes, the others boxed (docs/audit.md has the figures).
//! Entries are kept under their storage key bytes, so that iterating them is the order a store
//! keeps them in and the comparison is a single merge of two sorted streams.

use std::collections::BTreeMap;
use std::collections::btree_map;
use std::iter::Peekable;

use suyuan_ledger::hash::Hash32;
use suyuan_ledger::state::{
    StateDigest, StateError, StateKey, StateRead, StateValue, TxLocation, WriteSet,
};
use suyuan_storage::{StorageError, Store};

/// Most differing entries described one by one; the rest are counted.
pub(crate) const MAX_STATE_DIFFERENCES: usize = 20;

/// One replayed state entry and the block that last wrote it.
#[derive(Debug, Clone)]
struct Entry {
    value: Kept,
    height: u64,
}

/// A replayed value, kept small: a `StateValue` takes 264 bytes whatever its kind, and most
/// entries are a transaction's location or a holding.
#[derive(Debug, Clone)]
enum Kept {
    Tx(TxLocation),
    Holding(u64),
    Other(Box<StateValue>),
}

impl Kept {
    fn new(value: StateValue) -> Kept {
        match value {
            StateValue::Tx(at) => Kept::Tx(at),
            StateValue::Holding(units) => Kept::Holding(units),
            other => Kept::Other(Box::new(other)),
        }
    }

    fn value(&self) -> StateValue {
        match self {
            Kept::Tx(at) => StateValue::Tx(*at),
            Kept::Holding(units) => StateValue::Holding(*units),
            Kept::Other(value) => StateValue::clone(value),
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        match self {
            Kept::Other(value) => value.to_bytes(),
            inline => inline.value().to_bytes(),
        }
    }
}

/// The state as the replay computes it.
#[derive(Debug, Default)]
pub(crate) struct ReplayState {
    entries: BTreeMap<Box<[u8]>, Entry>,
}

/// How a stored entry differs from the replay's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Difference {
    /// The key, printed ("code 01/…", "transaction …").
    pub(crate) key: String,
    /// The stored value (JSON), `None` if the store lacks the entry, or why it cannot be read.
    pub(crate) stored: Result<Option<String>, String>,
    /// The replayed value (JSON), `None` if the replay has no such entry.
    pub(crate) replayed: Option<String>,
    /// The block that last wrote the entry in the replay, if it has it.
    pub(crate) written_at: Option<u64>,
}

/// What comparing a store's state with the replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comparison {
    /// The replayed state's digest.
    pub(crate) replayed_digest: Hash32,
    /// The digest of the stored entries that could be read.
    pub(crate) stored_digest: Hash32,
    /// Entries compared (the union of both sides).
    pub(crate) entries: u64,
    /// The first [`MAX_STATE_DIFFERENCES`] differences, in key order.
    pub(crate) differences: Vec<Difference>,
    /// All differences.
    pub(crate) difference_count: u64,
}

impl ReplayState {
    /// The empty state before block 1.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Applies block `height`'s writes.
    pub(crate) fn apply(&mut self, writes: WriteSet, height: u64) {
        for (key, value) in writes {
            let key = key.to_bytes().into_boxed_slice();
            match value {
                Some(value) => {
                    let value = Kept::new(value);
                    self.entries.insert(key, Entry { value, height });
                }
                None => {
                    self.entries.remove(&key);
                }
            }
        }
    }

    /// The [`StateDigest`] of the replayed state: what `Store::state_digest` gives for the same
    /// entries.
    pub(crate) fn digest(&self) -> Hash32 {
        let mut digest = StateDigest::new();
        for (key, entry) in &self.entries {
            digest.add(key, &entry.value.to_bytes());
        }
        digest.finish()
    }

    /// Compares every entry of `store`'s state with the replay, in one pass over both.
    pub(crate) fn compare(&self, store: &Store) -> Result<Comparison, StorageError> {
        let mut merge = Merge {
            replayed: self.entries.iter().peekable(),
            replayed_digest: StateDigest::new(),
            stored_digest: StateDigest::new(),
            entries: 0,
            differences: Vec::new(),
            difference_count: 0,
        };
        store.scan_state(|(key, stored)| {
            merge.stored(key, stored);
            true
        })?;
        merge.replay_only_before(None);
        Ok(Comparison {
            replayed_digest: merge.replayed_digest.finish(),
            stored_digest: merge.stored_digest.finish(),
            entries: merge.entries,
            differences: merge.differences,
            difference_count: merge.difference_count,
        })
    }
}

impl StateRead for ReplayState {
    fn get(&self, key: &StateKey) -> Result<Option<StateValue>, StateError> {
        Ok(self
            .entries
            .get(key.to_bytes().as_slice())
            .map(|entry| entry.value.value()))
    }
}

/// The merge of the stored entries (in key order, from the store's scan) with the replayed
/// ones.
struct Merge<'a> {
    replayed: Peekable<btree_map::Iter<'a, Box<[u8]>, Entry>>,
    replayed_digest: StateDigest,
    stored_digest: StateDigest,
    entries: u64,
    differences: Vec<Difference>,
    difference_count: u64,
}

impl Merge<'_> {
    /// Takes the next stored entry.
    fn stored(&mut self, key: &[u8], stored: Result<&[u8], StorageError>) {
        self.replay_only_before(Some(key));
        self.entries += 1;
        if let Ok(payload) = &stored {
            self.stored_digest.add(key, payload);
        }
        let replayed = match self.replayed.peek() {
            Some((replayed_key, _)) if replayed_key.as_ref() == key => {
                self.replayed.next().map(|(_, entry)| entry)
            }
            _ => None,
        };
        let replayed_bytes = replayed.map(|entry| entry.value.to_bytes());
        if let Some(bytes) = &replayed_bytes {
            self.replayed_digest.add(key, bytes);
        }
        let same = matches!((&stored, &replayed_bytes), (Ok(a), Some(b)) if *a == b.as_slice());
        if !same {
            self.differ(Difference {
                key: describe_key(key),
                stored: stored
                    .map(|payload| Some(String::from_utf8_lossy(payload).into_owned()))
                    .map_err(|error| error.to_string()),
                replayed: replayed_bytes.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
                written_at: replayed.map(|entry| entry.height),
            });
        }
    }

    /// Takes every replayed entry below `key` (all that remain with `None`): the store lacks
    /// them.
    fn replay_only_before(&mut self, key: Option<&[u8]>) {
        while let Some((replayed_key, entry)) = self
            .replayed
            .next_if(|(replayed_key, _)| key.is_none_or(|key| replayed_key.as_ref() < key))
        {
            let bytes = entry.value.to_bytes();
            self.replayed_digest.add(replayed_key, &bytes);
            self.entries += 1;
            self.differ(Difference {
                key: describe_key(replayed_key),
                stored: Ok(None),
                replayed: Some(String::from_utf8_lossy(&bytes).into_owned()),
                written_at: Some(entry.height),
            });
        }
    }

    fn differ(&mut self, difference: Difference) {
        self.difference_count += 1;
        if self.differences.len() < MAX_STATE_DIFFERENCES {
            self.differences.push(difference);
        }
    }
}

/// A state key's bytes printed for people, or in hex if they are not a key.
fn describe_key(key: &[u8]) -> String {
    StateKey::from_bytes(key).map_or_else(
        |_| format!("0x{} (not a state key)", hex::encode(key)),
        |key| key.to_string(),
    )
}
