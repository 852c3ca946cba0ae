//! The upper levels of the committed code map, kept in memory for every reader of the store.
//!
//! Reading one map node is a RocksDB `seek_for_prev` over a column family that keeps every
//! version of every node: at 1,000,000 codes a key's path is about 21 levels deep, so a block's
//! map update and a proof bundle each cost a seek per level per code, and the seeks dominate a
//! bundle's cost. The top [`CACHED_DEPTH`] levels hold at most 2^17 positions (a table of 2^18
//! slots of 101 bytes with its control byte: 25 MiB once every position is filled, at about a
//! million codes), so they are kept here as of the committed head: filled on first read, and
//! updated by each commit with the nodes of its block. The consensus chain (which builds and
//! checks blocks over the head) and the API's proof bundles (built as of the latest finalized
//! block, the head on a node that commits only finalized blocks) both read through it. Below
//! them, the `map_nodes` family's filters are keyed by position, so a seek skips the tables that
//! hold no version of it.
//!
//! # Why a read through it is always as of its version
//!
//! The cache answers reads at its version or above, since nothing above the committed version
//! is stored. That holds only if no commit can write map nodes the cache has not seen: so a
//! commit takes the cache's write lock before its batch is written and releases it once the
//! cache holds the batch's nodes, and readers never wait for that lock ([`RwLock::try_read`]):
//! during a commit they read RocksDB as they would without a cache. A reader that misses reads
//! the store while it still holds its read lock (so no commit can move the head under it) and
//! fills the cache only if it can take the write lock at once. A commit whose write fails leaves
//! the cache disabled: RocksDB may or may not hold the batch, and the cache cannot know which.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock, RwLockWriteGuard};

use suyuan_ledger::merkle::map::{MapNode, NodePosition};

/// Levels kept in memory: positions at depths `0..=CACHED_DEPTH`, at most 2^17 of them.
pub const CACHED_DEPTH: u16 = 16;

/// The version of a cache that answers nothing: every read is at or below it.
const DISABLED: u64 = u64::MAX;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct MapCache {
    /// Positions at depths up to this are cached.
    depth: u16,
    inner: RwLock<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The committed version (height) the cached nodes are as of; [`DISABLED`] before the store
    /// knows its head and after a failed commit.
    version: u64,
    /// Each cached position's node as of `version`; `None` where the map has no node there.
    /// Keyed with foldhash: positions come from codes clients choose, and a collision could
    /// only slow this bounded table, never change what it answers.
    nodes: HashMap<NodePosition, Option<MapNode>, foldhash::fast::RandomState>,
}

impl MapCache {
    /// A cache that answers nothing until [`MapCache::reset`] gives it the committed version.
    pub(crate) fn disabled() -> MapCache {
        Self::with_depth(CACHED_DEPTH)
    }

    /// A disabled cache of the levels down to `depth`.
    pub(crate) fn with_depth(depth: u16) -> MapCache {
        MapCache {
            depth,
            inner: RwLock::new(Inner {
                version: DISABLED,
                nodes: HashMap::default(),
            }),
        }
    }

    /// Empties the cache and makes it answer as of `version`, the committed head's height. Only
    /// while no commit can run (the store is being opened).
    pub(crate) fn reset(&mut self, version: u64) {
        let inner = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        inner.version = version;
        inner.nodes.clear();
    }

    /// The node at `position` as of `version`, from the cache where it can answer, else from
    /// `read`, which reads the store as of the version it is given.
    pub(crate) fn read<E>(
        &self,
        position: &NodePosition,
        version: u64,
        read: impl FnOnce(u64) -> Result<Option<MapNode>, E>,
    ) -> Result<Option<MapNode>, E> {
        if position.depth() > self.depth {
            return read(version);
        }
        // A commit in progress, or a poisoned lock: read the store.
        let Ok(inner) = self.inner.try_read() else {
            return read(version);
        };
        let at = inner.version;
        if at == DISABLED || version < at {
            drop(inner);
            return read(version);
        }
        if let Some(node) = inner.nodes.get(position) {
            return Ok(*node);
        }
        // Held: nothing above `at` is stored until this guard is released.
        let node = read(at)?;
        drop(inner);
        if let Ok(mut inner) = self.inner.try_write()
            && inner.version == at
        {
            inner.nodes.insert(*position, node);
        }
        Ok(node)
    }

    /// Starts a commit: until the returned guard is applied or dropped, every read goes to the
    /// store. Take it before the block's batch is written.
    pub(crate) fn begin_commit(&self) -> MapCommit<'_> {
        MapCommit {
            depth: self.depth,
            inner: self.inner.write().unwrap_or_else(PoisonError::into_inner),
            applied: false,
        }
    }
}

/// A commit in progress: see [`MapCache::begin_commit`].
pub(crate) struct MapCommit<'a> {
    depth: u16,
    inner: RwLockWriteGuard<'a, Inner>,
    applied: bool,
}

impl MapCommit<'_> {
    /// Records that the block at `version` wrote `nodes`, once its batch is durable.
    pub(crate) fn apply<'n>(
        mut self,
        version: u64,
        nodes: impl IntoIterator<Item = (&'n NodePosition, &'n MapNode)>,
    ) {
        let inner = &mut *self.inner;
        if inner.version != DISABLED {
            debug_assert!(version > inner.version, "versions are committed in order");
            for (position, node) in nodes {
                if position.depth() <= self.depth {
                    inner.nodes.insert(*position, Some(*node));
                }
            }
            inner.version = version;
        }
        self.applied = true;
    }
}

impl Drop for MapCommit<'_> {
    /// A commit that did not apply failed to write: disable the cache for good.
    fn drop(&mut self) {
        if !self.applied {
            self.inner.version = DISABLED;
            self.inner.nodes.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use suyuan_ledger::hash::Hash32;
    use suyuan_ledger::merkle::map::{self, MapBatch, MapKey, MapStore, MemMapStore};
    use suyuan_ledger::merkle::{Blake3, StoreError};

    use super::*;

    /// An in-memory map read through a cache, counting the reads that reach the map.
    struct Through<'a> {
        cache: &'a MapCache,
        store: &'a MemMapStore,
        reads: Cell<usize>,
    }

    impl<'a> Through<'a> {
        fn new(cache: &'a MapCache, store: &'a MemMapStore) -> Self {
            Through {
                cache,
                store,
                reads: Cell::new(0),
            }
        }
    }

    impl MapStore for Through<'_> {
        fn map_node(
            &self,
            position: &NodePosition,
            version: u64,
        ) -> Result<Option<MapNode>, StoreError> {
            self.cache.read(position, version, |at| {
                self.reads.set(self.reads.get() + 1);
                self.store.map_node(position, at)
            })
        }
    }

    fn key(n: u32) -> MapKey {
        MapKey::of_code(format!("01/09520123456788/10/LOT{n}").as_bytes())
    }

    fn value(version: u64, n: u32) -> Hash32 {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&version.to_be_bytes());
        bytes[8..12].copy_from_slice(&n.to_be_bytes());
        Hash32(bytes)
    }

    /// Versions of 300 updates each over 2,000 keys, new and old, committed through a cache cut
    /// at each depth from the root only to below the leaves: every update, root and proof at
    /// every version reads through the cache as from the map alone.
    #[test]
    fn reads_through_the_cache_equal_the_map_alone_at_every_depth_and_version() {
        const VERSIONS: u64 = 10;
        for depth in [0, 1, 3, 8, CACHED_DEPTH] {
            let mut store = MemMapStore::new();
            let mut cache = MapCache::with_depth(depth);
            cache.reset(0);
            for version in 1..=VERSIONS {
                let mut batch = MapBatch::new();
                for n in 0..300u32 {
                    let k = (version as u32 * 131 + n * 7) % 2_000;
                    batch.insert(key(k), value(version, k));
                }
                let through =
                    map::update::<Blake3>(&Through::new(&cache, &store), version, &batch).unwrap();
                let alone = map::update::<Blake3>(&store, version, &batch).unwrap();
                assert_eq!(through, alone, "depth {depth}, version {version}");
                let commit = cache.begin_commit();
                store.apply(&alone);
                commit.apply(version, &alone.nodes);
            }
            let through = Through::new(&cache, &store);
            for version in 0..=VERSIONS + 1 {
                assert_eq!(
                    map::root::<Blake3>(&through, version).unwrap(),
                    map::root::<Blake3>(&store, version).unwrap()
                );
                for n in (0..2_100).step_by(23) {
                    assert_eq!(
                        map::prove::<Blake3>(&through, version, &key(n)).unwrap(),
                        map::prove::<Blake3>(&store, version, &key(n)).unwrap(),
                        "depth {depth}, version {version}, key {n}"
                    );
                }
            }
        }
    }

    /// A map of 2,000 keys, committed through `cache` at version 1.
    fn committed(cache: &MapCache) -> MemMapStore {
        let mut batch = MapBatch::new();
        for n in 0..2_000 {
            batch.insert(key(n), value(1, n));
        }
        let mut store = MemMapStore::new();
        let update = map::update::<Blake3>(&store, 1, &batch).unwrap();
        let commit = cache.begin_commit();
        store.apply(&update);
        commit.apply(1, &update.nodes);
        store
    }

    #[test]
    fn a_cached_level_is_read_from_the_map_once() {
        let mut cache = MapCache::disabled();
        cache.reset(0);
        let store = committed(&cache);
        let through = Through::new(&cache, &store);
        let first = map::prove::<Blake3>(&through, 1, &key(7)).unwrap();
        let reads = through.reads.get();
        assert_eq!(map::prove::<Blake3>(&through, 1, &key(7)).unwrap(), first);
        // Only the levels below the cached ones, none for 2,000 keys, are read again.
        assert_eq!(through.reads.get(), reads);
        assert_eq!(
            through.reads.get(),
            0,
            "the commit filled every node it wrote"
        );
        // A read above the committed version is a read as of it.
        assert_eq!(map::prove::<Blake3>(&through, 5, &key(7)).unwrap(), first);
        assert_eq!(through.reads.get(), 0);
        // A read below it goes to the map.
        map::prove::<Blake3>(&through, 0, &key(7)).unwrap();
        assert_eq!(through.reads.get(), 1);
    }

    #[test]
    fn a_disabled_cache_and_a_failed_commit_answer_nothing() {
        let cache = MapCache::disabled();
        let store = committed(&cache);
        let through = Through::new(&cache, &store);
        map::root::<Blake3>(&through, 1).unwrap();
        map::root::<Blake3>(&through, 1).unwrap();
        assert_eq!(through.reads.get(), 2, "disabled until reset");

        let mut cache = MapCache::disabled();
        cache.reset(0);
        let store = committed(&cache);
        let through = Through::new(&cache, &store);
        map::root::<Blake3>(&through, 1).unwrap();
        assert_eq!(through.reads.get(), 0);
        // A commit dropped without applying: its write failed, RocksDB may hold it or not.
        drop(cache.begin_commit());
        map::root::<Blake3>(&through, 1).unwrap();
        map::root::<Blake3>(&through, 2).unwrap();
        assert_eq!(through.reads.get(), 2);
    }

    /// While a commit holds the cache, a reader does not wait for it: it reads the map at the
    /// version it asked for.
    #[test]
    fn a_read_during_a_commit_goes_to_the_map_at_its_own_version() {
        let mut cache = MapCache::disabled();
        cache.reset(0);
        let store = committed(&cache);
        let commit = cache.begin_commit();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let asked = Cell::new(None);
                let node = cache
                    .read(&NodePosition::ROOT, 1, |at| {
                        asked.set(Some(at));
                        store.map_node(&NodePosition::ROOT, at)
                    })
                    .unwrap();
                assert_eq!(asked.get(), Some(1));
                assert!(node.is_some());
            });
        });
        commit.apply(2, []);
        let asked = Cell::new(0);
        let node = cache
            .read(&NodePosition::ROOT, 2, |_| {
                asked.set(asked.get() + 1);
                store.map_node(&NodePosition::ROOT, 2)
            })
            .unwrap();
        assert_eq!(asked.get(), 0, "the root is cached as of version 2");
        assert_eq!(node, store.map_node(&NodePosition::ROOT, 2).unwrap());
    }

    /// The module documentation's bound on the table's size.
    #[test]
    fn a_slot_is_at_most_101_bytes() {
        let slot = std::mem::size_of::<(NodePosition, Option<MapNode>)>();
        assert!(slot <= 100, "a slot is {slot} bytes and a control byte");
    }

    /// A read that fails is reported and leaves nothing cached.
    #[test]
    fn a_failed_read_is_not_cached() {
        let mut cache = MapCache::disabled();
        cache.reset(3);
        let failed: Result<Option<MapNode>, &str> =
            cache.read(&NodePosition::ROOT, 3, |_| Err("corrupt"));
        assert_eq!(failed, Err("corrupt"));
        let read: Result<Option<MapNode>, &str> = cache.read(&NodePosition::ROOT, 3, |_| Ok(None));
        assert_eq!(read, Ok(None));
        let cached: Result<Option<MapNode>, &str> =
            cache.read(&NodePosition::ROOT, 3, |_| Err("not cached"));
        assert_eq!(cached, Ok(None), "the absence read last is cached");
    }
}
