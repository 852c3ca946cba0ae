//! Keep the nodes of the ledger's two Merkle trees, the record log and the code map, with the
//! blocks that grow them, and read them back for roots and proofs at any height.
//!
//! The trees are computed by the node with `suyuan_ledger::merkle` (the hash is
//! [`Blake3`]); storage persists what they produce and serves reads:
//!
//! - [`TreeWrites`] is one block's share: the perfect log nodes its leaves complete
//!   (`Frontier::append`) and the map nodes its version writes (`MapUpdate::nodes`, the version
//!   being the block's height). [`Store::commit_block`] writes them in the block's own
//!   `WriteBatch`, so after any crash a block is visible with its tree nodes or not at all.
//! - [`Store`] implements [`LogStore`] and [`MapStore`]: the node loads the log's frontier, runs
//!   `map::update` for the next block, and builds proofs at any committed height from RocksDB
//!   (the map's upper levels as of the head from memory, [`crate::map_cache`]). Nodes are only
//!   ever added (a log node is written once, a map node once per version), so reads through the
//!   store at a height at or below a [`crate::query::Snapshot`]'s head give the answers a view at
//!   that head would.
//! - [`Store::log_size_at`] gives the log's size once a block is committed (kept per height in
//!   [`cf::LOG_SIZES`]); with [`Store::log_root_at`] and [`Store::map_root_at`] it is what a
//!   proof at that height is checked against.
//!
//! # What a leaf is
//!
//! The lead's contract (see `docs/proofs.md`, "What storage keeps"): one log leaf per committed
//! transaction, in commit order, whose bytes are the transaction id (32 bytes, so its leaf hash
//! is `H(0x00 ‖ id)`); the map sends `MapKey::of_code(code)` of each code a transaction names
//! (`Record::codes`, canonical text) to that transaction's log leaf hash, a later transaction of
//! the block winning. Storage does not compute leaves: it checks that the log nodes given are
//! exactly those that appending their leaves to the stored log completes, and stores the map
//! nodes as given.
//!
//! # Checks on read
//!
//! Every node is sealed like every other value ([`crate::schema::seal`]); a flipped bit, a node
//! under another key, a value of the wrong length or a missing node the committed log needs is
//! [`StorageError::Corrupt`] (through the traits, `merkle::StoreError::Corrupt`), never served.

use std::cell::RefCell;

use rocksdb::{DB, DBRawIteratorWithThreadMode, WriteBatch};
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::merkle::log::{Frontier, LogReadError, LogStore, NodeId, root_at};
use suyuan_ledger::merkle::map::{self, MapNode, MapReadError, MapStore, NodePosition};
use suyuan_ledger::merkle::{Blake3, StoreError};

use crate::error::StorageError;
use crate::map_cache::MapCache;
use crate::schema::{MAP_POSITION_BYTES, cf, corrupt, decode_hash, decode_u64, height_key, seal};
use crate::store::Store;
use crate::tree_writes::TreeWrites;

impl Store {
    /// Leaves in the record log once block `height` was committed: 0 at height 0, `None` above
    /// the head.
    pub fn log_size_at(&self, height: u64) -> Result<Option<u64>, StorageError> {
        if height > self.head().height {
            return Ok(None);
        }
        self.stored_log_size(height).map(Some)
    }

    /// The stored log size of committed block `height` (0 at height 0). Takes no lock: the
    /// commit path calls it while holding the commit lock.
    pub(crate) fn stored_log_size(&self, height: u64) -> Result<u64, StorageError> {
        if height == 0 {
            return Ok(0);
        }
        let key = height_key(height);
        let payload = self
            .read(cf::LOG_SIZES, &key)?
            .ok_or_else(|| corrupt(cf::LOG_SIZES, &key, "missing for a committed block".into()))?;
        decode_u64(&payload).ok_or_else(|| corrupt(cf::LOG_SIZES, &key, "not 8 bytes".into()))
    }

    /// The log's root once block `height` was committed (`None` above the head).
    pub fn log_root_at(&self, height: u64) -> Result<Option<Hash32>, StorageError> {
        let Some(size) = self.log_size_at(height)? else {
            return Ok(None);
        };
        root_at::<Blake3>(self, size)
            .map(Some)
            .map_err(log_read_error)
    }

    /// The map's root once block `height` was committed (`None` above the head).
    pub fn map_root_at(&self, height: u64) -> Result<Option<Hash32>, StorageError> {
        if height > self.head().height {
            return Ok(None);
        }
        map::root::<Blake3>(self, height)
            .map(Some)
            .map_err(map_read_error)
    }

    /// The log's frontier at the head: what the node appends the next block's leaves to.
    pub fn log_frontier(&self) -> Result<Frontier<Blake3>, StorageError> {
        let size = self.log_size_at(self.head().height)?.unwrap_or(0);
        Frontier::load(self, size).map_err(log_read_error)
    }

    /// Checks that `writes.log_nodes` are exactly the nodes that appending their leaves to the
    /// log of `size` leaves completes, and returns the new size. Reads O(log n) stored nodes.
    pub(crate) fn check_tree_writes(
        &self,
        height: u64,
        size: u64,
        writes: &TreeWrites,
    ) -> Result<u64, StorageError> {
        let mismatch = |reason: String| StorageError::TreesMismatch { height, reason };
        if writes.log_nodes.is_empty() {
            return Ok(size);
        }
        let mut frontier = Frontier::<Blake3>::load(self, size).map_err(log_read_error)?;
        let mut expected = Vec::with_capacity(writes.log_nodes.len());
        for node in writes.log_nodes.iter().filter(|node| node.id.level == 0) {
            frontier
                .append(node.hash, &mut expected)
                .map_err(|full| mismatch(full.to_string()))?;
        }
        if expected != writes.log_nodes {
            let first = expected
                .iter()
                .zip(&writes.log_nodes)
                .position(|(a, b)| a != b)
                .unwrap_or(expected.len().min(writes.log_nodes.len()));
            return Err(mismatch(format!(
                "appending {} leaves to the log of {size} completes {} nodes; {} given, the first \
                 difference at node {first}",
                frontier.size() - size,
                expected.len(),
                writes.log_nodes.len()
            )));
        }
        Ok(frontier.size())
    }

    /// Adds the tree nodes of block `height` and its log size to `batch`.
    pub(crate) fn put_trees(
        &self,
        batch: &mut WriteBatch,
        height: u64,
        log_size: u64,
        writes: &TreeWrites,
    ) {
        let log = self.cf(cf::LOG_NODES);
        for node in &writes.log_nodes {
            let key = node.id.to_bytes();
            batch.put_cf(log, key, seal(cf::LOG_NODES, &key, node.hash.as_bytes()));
        }
        let nodes = self.cf(cf::MAP_NODES);
        for (position, node) in &writes.map_nodes {
            let key = position.storage_key(height);
            batch.put_cf(nodes, key, seal(cf::MAP_NODES, &key, &node.to_bytes()));
        }
        let key = height_key(height);
        batch.put_cf(
            self.cf(cf::LOG_SIZES),
            key,
            seal(cf::LOG_SIZES, &key, &log_size.to_be_bytes()),
        );
    }

    fn read_log_node(&self, id: NodeId) -> Result<Option<Hash32>, StorageError> {
        let key = id.to_bytes();
        let Some(payload) = self.read(cf::LOG_NODES, &key)? else {
            return Ok(None);
        };
        decode_hash(&payload)
            .map(Some)
            .ok_or_else(|| corrupt(cf::LOG_NODES, &key, "not a 32-byte hash".into()))
    }

    /// The nodes that version `version` of the map wrote at `positions`, read by their exact
    /// keys in one batch: `None` where that version wrote none (a node an older version wrote
    /// there is not returned). An audit compares each block's map writes with its own this way.
    pub fn map_nodes_written<'p>(
        &self,
        version: u64,
        positions: impl IntoIterator<Item = &'p NodePosition>,
    ) -> Result<Vec<Option<MapNode>>, StorageError> {
        let keys: Vec<[u8; MAP_POSITION_BYTES + 8]> = positions
            .into_iter()
            .map(|position| position.storage_key(version))
            .collect();
        let found = self
            .db
            .batched_multi_get_cf(self.cf(cf::MAP_NODES), &keys, false);
        found
            .into_iter()
            .zip(&keys)
            .map(
                |(value, key)| match value.map_err(StorageError::backend("read map nodes"))? {
                    Some(value) => stored_map_node(key, &value).map(Some),
                    None => Ok(None),
                },
            )
            .collect()
    }

    /// A reader of the map that keeps one RocksDB iterator for all its reads: a proof or a
    /// block's update reads one node per level, and opening an iterator per read costs more than
    /// the seek. The upper levels come from memory ([`crate::map_cache`]) where they can. Hold
    /// it for one operation, not across commits: while it lives, the iterator keeps the files it
    /// read from alive.
    pub fn map_reader(&self) -> MapReader<'_> {
        MapReader {
            cache: &self.map_cache,
            cursor: RefCell::new(self.db.raw_iterator_cf(self.cf(cf::MAP_NODES))),
        }
    }
}

/// Reads map nodes through the cache of the upper levels and one iterator
/// ([`Store::map_reader`]).
pub struct MapReader<'a> {
    cache: &'a MapCache,
    cursor: RefCell<DBRawIteratorWithThreadMode<'a, DB>>,
}

impl MapStore for MapReader<'_> {
    fn map_node(
        &self,
        position: &NodePosition,
        version: u64,
    ) -> Result<Option<MapNode>, StoreError> {
        self.cache
            .read(position, version, |version| {
                map_node_at(&mut self.cursor.borrow_mut(), position, version)
            })
            .map_err(tree_store_error)
    }
}

/// The node at `position` written by the latest version at or below `version`: the last key at
/// or before `position ‖ version` (RocksDB `seek_for_prev`), if it is at `position`.
fn map_node_at(
    cursor: &mut DBRawIteratorWithThreadMode<'_, DB>,
    position: &NodePosition,
    version: u64,
) -> Result<Option<MapNode>, StorageError> {
    cursor.seek_for_prev(position.storage_key(version));
    let Some((key, value)) = cursor.item() else {
        cursor
            .status()
            .map_err(StorageError::backend("read map node"))?;
        return Ok(None);
    };
    if key.len() < MAP_POSITION_BYTES || key[..MAP_POSITION_BYTES] != position.to_bytes() {
        return Ok(None);
    }
    if key.len() != MAP_POSITION_BYTES + 8 {
        return Err(corrupt(cf::MAP_NODES, key, "key is not 42 bytes".into()));
    }
    stored_map_node(key, value).map(Some)
}

/// The map node stored as `value` under `key`: unsealed and decoded.
fn stored_map_node(key: &[u8], value: &[u8]) -> Result<MapNode, StorageError> {
    let payload = crate::schema::unseal(cf::MAP_NODES, key, value)?;
    MapNode::from_bytes(payload).map_err(|error| corrupt(cf::MAP_NODES, key, error.to_string()))
}

impl LogStore for Store {
    fn log_node(&self, id: NodeId) -> Result<Option<Hash32>, StoreError> {
        self.read_log_node(id).map_err(tree_store_error)
    }
}

impl MapStore for Store {
    fn map_node(
        &self,
        position: &NodePosition,
        version: u64,
    ) -> Result<Option<MapNode>, StoreError> {
        self.map_reader().map_node(position, version)
    }
}

/// A storage error as the tree traits report it.
fn tree_store_error(error: StorageError) -> StoreError {
    match error {
        // The key is printed the way its family encodes it: "log node (level …, index …)",
        // "map node (depth …, prefix …) version …", "height …" for a log size.
        StorageError::Corrupt { key, reason, .. } => StoreError::Corrupt { node: key, reason },
        other => StoreError::Backend(other.to_string()),
    }
}

/// A tree store error back as a storage error.
pub(crate) fn from_tree_store_error(what: &'static str, error: StoreError) -> StorageError {
    match error {
        StoreError::Corrupt { node, reason } => StorageError::Corrupt {
            what,
            key: node,
            reason,
        },
        StoreError::Backend(message) => StorageError::Backend {
            operation: "read tree node",
            message,
        },
    }
}

/// Why the committed log could not be read: the store's sizes are its own, so anything but a
/// backend failure means stored data contradicts itself.
fn log_read_error(error: LogReadError) -> StorageError {
    match error {
        LogReadError::Store(error) => from_tree_store_error(cf::LOG_NODES, error),
        LogReadError::Missing(id) => StorageError::Corrupt {
            what: cf::LOG_NODES,
            key: id.to_string(),
            reason: "missing, but the committed log needs it".into(),
        },
        other => StorageError::Corrupt {
            what: cf::LOG_SIZES,
            key: "log size".into(),
            reason: other.to_string(),
        },
    }
}

fn map_read_error(error: MapReadError) -> StorageError {
    match error {
        MapReadError::Store(error) => from_tree_store_error(cf::MAP_NODES, error),
        MapReadError::VersionZero => StorageError::Corrupt {
            what: cf::MAP_NODES,
            key: "version 0".into(),
            reason: error.to_string(),
        },
    }
}
