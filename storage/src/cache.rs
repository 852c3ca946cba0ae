//! Decoded committed state entries, kept in memory for the entries read again and again.
//!
//! Every transaction's rules read a dozen entries (its signer's key binding and enterprise, the
//! product model, the code and its holdings, the open recall that may cover it, its figures),
//! at admission and again when its block is executed. Reading one from RocksDB costs a memtable
//! search, often a table block, a checksum and a JSON decode; with thousands of transactions a
//! second from thousands of enterprises that was a quarter of a validator's CPU. So the store
//! keeps what it has read, decoded, and also what it found absent: most reads of an open recall,
//! an alias, a packed count or a new code find nothing, and each is asked twice.
//!
//! The cache never serves a value the store no longer holds: a commit replaces the cached
//! entries (present or absent) it writes, after its batch is durable, and counts itself; a
//! reader that missed fills the cache only if no commit happened between its miss and
//! its fill, so a value read just before a commit is never cached after it. Entries written but
//! not cached stay out (written once, rarely read soon).
//!
//! It is bounded in entries by two generations: reads fill the young one, a hit in the old one
//! moves the entry to the young, and when the young one is full it becomes the old and the old
//! is dropped. An entry read at least once per generation stays; one read once is gone after
//! two. Transaction ids and buyer commitments are never cached absent: each is asked about by
//! one transaction only, and RocksDB's filters answer those cheaply.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use suyuan_ledger::state::{StateKey, StateValue, WriteSet};

/// Entries in one generation at most: just under 7/8 of 2^16, so that a generation's hash table
/// never grows past 2^16 slots (each a 112-byte key and a pointer); with the boxed values (432
/// bytes each, plus the text some hold), under 40 MiB a generation.
const GENERATION: usize = 57_000;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct StateCache {
    inner: Mutex<Inner>,
    generation_size: usize,
}

impl Default for StateCache {
    fn default() -> Self {
        StateCache::with_generation(GENERATION)
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Commits applied so far.
    commits: u64,
    young: Generation,
    old: Generation,
}

/// One generation. Values are boxed: a decoded value is over 400 bytes inline, most far smaller.
/// Keys are hashed with foldhash under a seed drawn per process: several times faster than
/// SipHash on the ledger's keys, and an attacker who chose codes to collide could only slow
/// this bounded cache, never change what it answers.
type Generation = HashMap<StateKey, Option<Box<StateValue>>, foldhash::fast::RandomState>;

/// A lookup that found nothing: read the store, then [`StateCache::fill`] with this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Miss {
    commits: u64,
}

/// Whether a read that found `key` absent is worth remembering.
fn keeps_absence(key: &StateKey) -> bool {
    !matches!(
        key,
        StateKey::Tx(_) | StateKey::BuyerCommitment(_) | StateKey::Event(_)
    )
}

impl StateCache {
    /// A cache of at most two generations of `size` entries.
    fn with_generation(size: usize) -> StateCache {
        StateCache {
            inner: Mutex::new(Inner::default()),
            generation_size: size.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached entry of `key` (`None` if it is known absent), or a miss to fill it after.
    pub(crate) fn lookup(&self, key: &StateKey) -> Result<Option<StateValue>, Miss> {
        let mut inner = self.lock();
        if let Some(value) = inner.young.get(key) {
            return Ok(value.as_deref().cloned());
        }
        match inner.old.remove_entry(key) {
            Some((key, value)) => {
                let found = value.as_deref().cloned();
                self.insert_young(&mut inner, key, value);
                Ok(found)
            }
            None => Err(Miss {
                commits: inner.commits,
            }),
        }
    }

    /// Keeps what the store held for `key` (`None`: nothing), read after `miss`, unless a
    /// commit has happened since.
    pub(crate) fn fill(&self, key: &StateKey, value: Option<&StateValue>, miss: Miss) {
        if value.is_none() && !keeps_absence(key) {
            return;
        }
        let mut inner = self.lock();
        if inner.commits != miss.commits {
            return;
        }
        self.insert_young(&mut inner, key.clone(), value.cloned().map(Box::new));
    }

    fn insert_young(&self, inner: &mut Inner, key: StateKey, value: Option<Box<StateValue>>) {
        if inner.young.len() >= self.generation_size {
            inner.old = std::mem::take(&mut inner.young);
        }
        inner.young.insert(key, value);
    }

    /// Applies a durable commit's writes to the cached entries.
    pub(crate) fn apply(&self, writes: &WriteSet) {
        let mut inner = self.lock();
        inner.commits += 1;
        let Inner { young, old, .. } = &mut *inner;
        for (key, value) in writes {
            for generation in [&mut *young, &mut *old] {
                if let Some(cached) = generation.get_mut(key) {
                    *cached = value.clone().map(Box::new);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use suyuan_ledger::facts::Listing;
    use suyuan_ledger::hash::Hash32;
    use suyuan_ledger::state::TxLocation;

    fn key(n: u8) -> StateKey {
        StateKey::Tx(Hash32([n; 32]))
    }

    /// A key whose absence is kept.
    fn facts_key(n: u32) -> StateKey {
        let uscc = "91350100M000100Y43".parse().unwrap();
        StateKey::Listed(uscc, Listing::Codes, u64::from(n))
    }

    fn value(height: u64) -> StateValue {
        StateValue::Tx(TxLocation { height, index: 0 })
    }

    fn read(cache: &StateCache, key: &StateKey, stored: Option<StateValue>) -> Option<StateValue> {
        match cache.lookup(key) {
            Ok(entry) => entry,
            Err(miss) => {
                cache.fill(key, stored.as_ref(), miss);
                stored
            }
        }
    }

    #[test]
    fn a_fill_from_before_a_commit_is_dropped() {
        let cache = StateCache::default();
        let miss = cache.lookup(&key(1)).unwrap_err();
        // A commit lands between the reader's miss and its fill.
        cache.apply(&WriteSet::from([(key(1), Some(value(2)))]));
        cache.fill(&key(1), Some(&value(1)), miss);
        assert!(cache.lookup(&key(1)).is_err());
    }

    #[test]
    fn commits_replace_and_drop_cached_entries() {
        let cache = StateCache::default();
        for n in [1, 2] {
            read(&cache, &key(n), Some(value(1)));
        }
        cache.apply(&WriteSet::from([
            (key(1), Some(value(5))),
            (key(2), None),
            (key(3), Some(value(5))),
        ]));
        assert_eq!(cache.lookup(&key(1)), Ok(Some(value(5))));
        assert_eq!(cache.lookup(&key(2)), Ok(None));
        // Written but never read: not cached.
        assert!(cache.lookup(&key(3)).is_err());
    }

    #[test]
    fn absences_are_kept_but_not_of_ids_and_commitments_and_a_commit_fills_them() {
        let cache = StateCache::default();
        let listed = facts_key(0);
        assert_eq!(read(&cache, &listed, None), None);
        assert_eq!(cache.lookup(&listed), Ok(None));
        assert_eq!(read(&cache, &key(7), None), None);
        assert!(cache.lookup(&key(7)).is_err(), "an absent id is not kept");
        let commitment = StateKey::BuyerCommitment(Hash32([9; 32]));
        assert_eq!(read(&cache, &commitment, None), None);
        assert!(cache.lookup(&commitment).is_err());
        // A commit that writes the entry replaces the cached absence.
        let written = StateValue::Holding(3);
        cache.apply(&WriteSet::from([(listed.clone(), Some(written.clone()))]));
        assert_eq!(cache.lookup(&listed), Ok(Some(written)));
    }

    #[test]
    fn an_entry_read_in_every_generation_stays_and_the_cache_stays_bounded() {
        let size = 64;
        let cache = StateCache::with_generation(size);
        let hot = key(0);
        read(&cache, &hot, Some(value(1)));
        for n in 1..(size as u32 * 10) {
            read(&cache, &facts_key(n), None);
            if n % (size as u32 / 2) == 0 {
                assert_eq!(cache.lookup(&hot), Ok(Some(value(1))), "after {n} reads");
            }
            let inner = cache.lock();
            assert!(inner.young.len() <= size && inner.old.len() <= size);
        }
        // An entry read once is gone two generations later.
        assert!(cache.lookup(&facts_key(1)).is_err());
        // A commit updates an entry in the old generation too.
        let inner_old_key = cache.lock().old.keys().next().cloned().unwrap();
        cache.apply(&WriteSet::from([(inner_old_key.clone(), Some(value(9)))]));
        assert_eq!(cache.lookup(&inner_old_key), Ok(Some(value(9))));
    }
}
