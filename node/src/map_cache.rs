//! Keep the upper levels of the committed code map in memory, so that building and checking a
//! block's map update does not seek RocksDB once per level for every code it names.
//!
//! A map update reads one stored node per level of each changed key's path, about 18 levels at
//! 100,000 codes; at several thousand codes a second that is over 100,000 RocksDB seeks a second.
//! The top [`CACHED_DEPTH`] levels hold at most 2^17 positions, so they are kept here as of the
//! committed head: filled on first read, and updated by [`MapCache::committed`] with the nodes of
//! each block the chain commits (the chain is the only writer of the map, and commits one block
//! at a time from one task). Deeper levels, and reads as of an older version, go to the store.

use std::cell::RefCell;
use std::collections::HashMap;

use suyuan_ledger::merkle::StoreError;
use suyuan_ledger::merkle::map::{MapNode, MapStore, MapUpdate, NodePosition};

/// Levels kept in memory: positions at depths `0..=CACHED_DEPTH`.
pub const CACHED_DEPTH: u16 = 16;

/// The upper levels of the committed map.
pub struct MapCache {
    /// Positions at depths up to this are cached.
    depth: u16,
    /// The version (committed height) the cached nodes are as of.
    version: u64,
    /// Each cached position's node as of `version`; `None` where the map has no node there.
    nodes: RefCell<HashMap<NodePosition, Option<MapNode>>>,
}

impl MapCache {
    /// An empty cache of the committed map as of `version`, the committed head's height.
    pub fn new(version: u64) -> MapCache {
        Self::with_depth(version, CACHED_DEPTH)
    }

    /// An empty cache of the levels down to `depth`.
    fn with_depth(version: u64, depth: u16) -> MapCache {
        MapCache {
            depth,
            version,
            nodes: RefCell::new(HashMap::new()),
        }
    }

    /// The committed map, read through this cache over `store` (the committed map itself, for
    /// the deeper levels, older versions and first reads).
    pub fn over<'a, S: MapStore>(&'a self, store: &'a S) -> CachedMap<'a, S> {
        CachedMap { cache: self, store }
    }

    /// Records that `update` was committed as the new head's version.
    pub fn committed(&mut self, update: &MapUpdate) {
        debug_assert!(
            update.version > self.version,
            "versions are committed in order"
        );
        let nodes = self.nodes.get_mut();
        for (position, node) in &update.nodes {
            if position.depth() <= self.depth {
                nodes.insert(*position, Some(*node));
            }
        }
        self.version = update.version;
    }
}

/// The committed map read through a [`MapCache`].
pub struct CachedMap<'a, S> {
    cache: &'a MapCache,
    store: &'a S,
}

impl<S: MapStore> MapStore for CachedMap<'_, S> {
    fn map_node(
        &self,
        position: &NodePosition,
        version: u64,
    ) -> Result<Option<MapNode>, StoreError> {
        let cache = self.cache;
        // Nothing above the committed version is stored, so any read at or above it is a read
        // as of it.
        if position.depth() > cache.depth || version < cache.version {
            return self.store.map_node(position, version);
        }
        if let Some(node) = cache.nodes.borrow().get(position) {
            return Ok(*node);
        }
        let node = self.store.map_node(position, cache.version)?;
        cache.nodes.borrow_mut().insert(*position, node);
        Ok(node)
    }
}

#[cfg(test)]
mod tests {
    use suyuan_ledger::demo::{Demo, execute_demo_block};
    use suyuan_ledger::merkle::map;
    use suyuan_ledger::trees::{LedgerHash, grow};
    use suyuan_storage::TreeWrites;

    use std::sync::Arc;

    use suyuan_storage::Store;

    use super::*;

    /// Every block of the demo story grows the same trees through the cache as through the
    /// store alone, with the cache cut at every depth from the root only to below the leaves, and
    /// the cache filled lazily and updated by commits in between.
    #[test]
    fn the_cached_map_reads_as_the_store_does() {
        let demo = Demo::new(4, 7100);
        for depth in [0, 1, 2, 3, 5, CACHED_DEPTH] {
            let dir = std::env::temp_dir()
                .join(format!("suyuan-map-cache-{depth}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let store = Arc::new(Store::open(&dir, &demo.genesis).unwrap());
            let mut cache = MapCache::with_depth(store.head().height, depth);
            for envelopes in demo.story() {
                let height = store.head().height + 1;
                let frontier = store.log_frontier().unwrap();
                let reader = store.map_reader();
                let through_cache = execute_demo_block(
                    &demo.genesis,
                    &*store,
                    (&frontier, &cache.over(&reader)),
                    height,
                    store.head().hash,
                    envelopes,
                );
                let direct = grow(&frontier, &*store, height, &through_cache.txs).unwrap();
                assert_eq!(
                    through_cache.trees.map, direct.map,
                    "depth {depth}, block {height}"
                );
                assert_eq!(through_cache.trees.heads, direct.heads);
                drop(reader);
                store
                    .commit_block(
                        &through_cache.block,
                        &through_cache.txs,
                        b"certificate",
                        &through_cache.writes,
                        &TreeWrites::from(&through_cache.trees),
                    )
                    .unwrap();
                cache.committed(&through_cache.trees.map);
                assert_eq!(
                    store.map_root_at(height).unwrap(),
                    Some(through_cache.trees.heads.map_root)
                );
            }
            // Reads as of an older version bypass the cache and still see that version.
            for version in 1..=store.head().height {
                assert_eq!(
                    map::root::<LedgerHash>(&cache.over(&*store), version).unwrap(),
                    store.map_root_at(version).unwrap().unwrap(),
                    "depth {depth}, version {version}"
                );
            }
            drop(cache);
            drop(store);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
