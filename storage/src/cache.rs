//! Decoded committed state entries, kept in memory for the entries read again and again.
//!
//! Every transaction's rules read its signer's key binding, its enterprise and its product
//! model, at admission and again when its block is executed; a few hundred such entries serve
//! thousands of transactions a second. Reading one from RocksDB costs a memtable search, a
//! checksum and a JSON decode, so the store keeps the decoded values it has read.
//!
//! The cache never serves a value the store no longer holds: a commit replaces or drops the
//! cached entries it writes, after its batch is durable, and advances a generation number; a
//! reader that missed fills the cache only if no commit happened between its miss and its
//! fill, so a value read just before a commit is never cached after it. Entries written but
//! not cached stay out (new codes, transaction locations: written once, rarely read soon). The
//! cache is bounded in entries and emptied when full.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use suyuan_ledger::state::{StateKey, StateValue, WriteSet};

/// Entries kept at most.
const CAPACITY: usize = 16_384;

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct StateCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Commits applied so far.
    generation: u64,
    values: HashMap<StateKey, StateValue>,
}

/// A lookup that found nothing: read the store, then [`StateCache::fill`] with this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Miss {
    generation: u64,
}

impl StateCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached value of `key`, or a miss to fill it after.
    pub(crate) fn lookup(&self, key: &StateKey) -> Result<StateValue, Miss> {
        let inner = self.lock();
        inner.values.get(key).cloned().ok_or(Miss {
            generation: inner.generation,
        })
    }

    /// Keeps `value`, read from the store after `miss`, unless a commit has happened since.
    pub(crate) fn fill(&self, key: &StateKey, value: &StateValue, miss: Miss) {
        let mut inner = self.lock();
        if inner.generation != miss.generation {
            return;
        }
        if inner.values.len() >= CAPACITY {
            inner.values.clear();
        }
        inner.values.insert(key.clone(), value.clone());
    }

    /// Applies a durable commit's writes to the cached entries.
    pub(crate) fn apply(&self, writes: &WriteSet) {
        let mut inner = self.lock();
        inner.generation += 1;
        for (key, value) in writes {
            if let Some(cached) = inner.values.get_mut(key) {
                match value {
                    Some(value) => *cached = value.clone(),
                    None => {
                        inner.values.remove(key);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use suyuan_ledger::state::TxLocation;

    fn key(n: u8) -> StateKey {
        StateKey::Tx(suyuan_ledger::hash::Hash32([n; 32]))
    }

    fn value(height: u64) -> StateValue {
        StateValue::Tx(TxLocation { height, index: 0 })
    }

    #[test]
    fn a_fill_from_before_a_commit_is_dropped() {
        let cache = StateCache::default();
        let miss = cache.lookup(&key(1)).unwrap_err();
        // A commit lands between the reader's miss and its fill.
        cache.apply(&WriteSet::from([(key(1), Some(value(2)))]));
        cache.fill(&key(1), &value(1), miss);
        assert!(cache.lookup(&key(1)).is_err());
    }

    #[test]
    fn commits_replace_and_drop_cached_entries() {
        let cache = StateCache::default();
        for n in [1, 2] {
            let miss = cache.lookup(&key(n)).unwrap_err();
            cache.fill(&key(n), &value(1), miss);
        }
        cache.apply(&WriteSet::from([
            (key(1), Some(value(5))),
            (key(2), None),
            (key(3), Some(value(5))),
        ]));
        assert_eq!(cache.lookup(&key(1)), Ok(value(5)));
        assert!(cache.lookup(&key(2)).is_err());
        // Written but never read: not cached.
        assert!(cache.lookup(&key(3)).is_err());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = StateCache::default();
        for n in 0..(CAPACITY + 10) {
            let key = StateKey::Tx(suyuan_ledger::hash::Hash32(
                blake3::hash(&n.to_le_bytes()).into(),
            ));
            let miss = cache.lookup(&key).unwrap_err();
            cache.fill(&key, &value(1), miss);
        }
        assert!(cache.lock().values.len() <= CAPACITY);
    }
}
