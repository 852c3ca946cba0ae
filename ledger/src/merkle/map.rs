//! Map each code to its latest record with a sparse Merkle tree of depth 256, and prove that a
//! code maps to a value or to nothing.
//!
//! # The tree
//!
//! A key is 256 bits, [`MapKey::of_code`] for a code; bit `i` (the most significant bit of byte 0
//! is bit 0) picks the branch at depth `i`: 0 left, 1 right. A value is 32 bytes (the ledger maps
//! a code to its latest record). The hash of the subtree under any position holding
//!
//! - no key is `EMPTY = H(0x04)`,
//! - exactly one key `k` with value `v` is `H(0x02 ‖ k ‖ v)`, whatever its depth,
//! - two keys or more is `H(0x03 ‖ left ‖ right)`, the hashes of its two halves.
//!
//! The root is the hash of the whole tree. Nodes therefore exist only where two keys share a
//! prefix: a key's leaf sits just below the deepest prefix it shares with another key, at depth
//! about log2(n) in a map of n random keys.
//!
//! ## Why this variant
//!
//! The textbook sparse Merkle tree hashes all 256 levels, with a precomputed hash per level for
//! empty subtrees. Updating one key then costs 256 hashes, storing it 256 nodes, and a proof
//! holds 256 siblings (8 KiB), or a 32-byte bitmap of the non-empty ones plus about log2(n)
//! hashes once compressed. The shortcut leaf used here hashes a lone key's subtree in one step
//! whatever its height, so that an update costs about log2(n) + 1 hashes (18 at 100,000 codes,
//! fewer per key in a batch, which shares the upper levels: 8.4 nodes written per code in blocks
//! of 1,000), storage keeps about 2n nodes plus the versions they supersede, and a proof holds
//! about log2(n) + 1 siblings without any compression scheme (650 bytes on average at 100,000
//! codes, in binary). What it costs is one case more in verification: a proof of absence may end
//! at another key's leaf, which the verifier checks shares the path followed so far. Leaf, node
//! and empty inputs start with distinct prefixes, all distinct from the log's (`0x00`, `0x01`),
//! and leaf and node inputs have fixed lengths, so a hash of one kind cannot be presented as
//! another.
//!
//! Keys are never removed: a code keeps a latest record forever. So a position, once it holds a
//! node, always holds one; a leaf only ever moves down, when a new key shares its prefix.
//!
//! # What storage keeps
//!
//! Each node is addressed by its [`NodePosition`] (depth and the key bits above it) and the
//! version that wrote it; storage keeps every version's nodes ([`MapUpdate::nodes`]) under
//! [`NodePosition::storage_key`] (position, then big-endian version) with [`MapNode::to_bytes`],
//! and never overwrites or deletes one. [`MapStore::map_node`] reads the node at a position as of
//! a version: the one written by the latest version at or below it (a RocksDB `seek_for_prev`).
//! Versions are block heights, and the map as of height `h` is then provable for every `h`: a
//! block that updates no code writes nothing. To prune heights below `h`, keep for each position
//! its latest node at or below `h` and everything above.
//!
//! # How to drive it
//!
//! 1. For a block at height `h`, collect its updates in a [`MapBatch`] (a later update of a key in
//!    the block wins) and call [`update`] over the store as of `h - 1`: it writes nothing and
//!    returns the new root, for the header, and the nodes to persist.
//! 2. Persist [`MapUpdate::nodes`] in the same atomic write as the block. A block executed on
//!    ancestors not yet committed reads through a [`MapOverlay`] of their pending updates.
//! 3. [`prove`] reads a proof for a key at any persisted version; [`MapProof::verify`] checks it
//!    against the root of that version in a header, with nothing else.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{StoreError, TreeHash};
use crate::codec::{DecodeError, Reader, Writer};
use crate::hash::{Hash32, HashParseError};

/// Bits in a key, and the depth of the tree.
pub const KEY_BITS: u16 = 256;

/// Most siblings in a map proof: one per level.
pub const MAX_MAP_PROOF_SIBLINGS: usize = KEY_BITS as usize;

/// Prefix of a leaf's hash input.
pub const LEAF_PREFIX: u8 = 0x02;

/// Prefix of an interior node's hash input.
pub const NODE_PREFIX: u8 = 0x03;

/// The whole input of the empty subtree's hash.
pub const EMPTY_PREFIX: u8 = 0x04;

/// The hash of a subtree that holds no key: `H(0x04)`.
pub fn empty_hash<H: TreeHash>() -> Hash32 {
    H::hash(&[&[EMPTY_PREFIX]])
}

/// The hash of a subtree that holds only `key`, mapped to `value`: `H(0x02 ‖ key ‖ value)`.
pub fn leaf_hash<H: TreeHash>(key: &MapKey, value: &Hash32) -> Hash32 {
    let mut input = [0u8; 65];
    input[0] = LEAF_PREFIX;
    input[1..33].copy_from_slice(&key.0);
    input[33..].copy_from_slice(value.as_bytes());
    H::hash(&[&input])
}

/// The hash of a subtree that holds two keys or more: `H(0x03 ‖ left ‖ right)`.
pub fn node_hash<H: TreeHash>(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut input = [0u8; 65];
    input[0] = NODE_PREFIX;
    input[1..33].copy_from_slice(left.as_bytes());
    input[33..].copy_from_slice(right.as_bytes());
    H::hash(&[&input])
}

/// A 256-bit key: where a code's leaf lies in the tree. Shown as 64 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MapKey([u8; 32]);

impl MapKey {
    /// The key with these bits.
    pub const fn new(bytes: [u8; 32]) -> Self {
        MapKey(bytes)
    }

    /// The key of a code: the plain BLAKE3 hash of its canonical form's bytes, whatever hash the
    /// tree itself is built with.
    pub fn of_code(canonical: &[u8]) -> Self {
        MapKey(*blake3::hash(canonical).as_bytes())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Bit `depth` (0 to 255), the branch this key takes below depth `depth`: `true` is right.
    pub fn bit(&self, depth: u16) -> bool {
        debug_assert!(depth < KEY_BITS);
        let depth = usize::from(depth);
        self.0[depth / 8] & (0x80 >> (depth % 8)) != 0
    }

    /// Whether the first `depth` bits of both keys agree.
    pub fn shares_prefix(&self, other: &MapKey, depth: u16) -> bool {
        NodePosition::of_key(self, depth) == NodePosition::of_key(other, depth)
    }
}

impl fmt::Display for MapKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for MapKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MapKey({self})")
    }
}

impl FromStr for MapKey {
    type Err = HashParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(MapKey(s.parse::<Hash32>()?.0))
    }
}

crate::serde_as_string!(MapKey);

/// A position in the tree: a depth (0 for the root, up to 256) and the key bits above it; the
/// bits from `depth` on are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodePosition {
    depth: u16,
    prefix: [u8; 32],
}

impl NodePosition {
    /// The root.
    pub const ROOT: NodePosition = NodePosition {
        depth: 0,
        prefix: [0; 32],
    };

    /// The position at `depth` (at most 256) on `key`'s path.
    pub fn of_key(key: &MapKey, depth: u16) -> Self {
        assert!(depth <= KEY_BITS, "a position is at most 256 deep");
        let mut prefix = key.0;
        let whole = usize::from(depth / 8);
        if whole < 32 {
            prefix[whole] &= !(0xffu8 >> (depth % 8));
            prefix[whole + 1..].fill(0);
        }
        NodePosition { depth, prefix }
    }

    /// Its depth.
    pub fn depth(&self) -> u16 {
        self.depth
    }

    /// The key bits above it, the rest zero.
    pub fn prefix(&self) -> &[u8; 32] {
        &self.prefix
    }

    /// Whether `key`'s path goes through it.
    pub fn covers(&self, key: &MapKey) -> bool {
        NodePosition::of_key(key, self.depth) == *self
    }

    /// The child on side `right`; `None` at depth 256, which has none.
    pub fn child(&self, right: bool) -> Option<NodePosition> {
        if self.depth == KEY_BITS {
            return None;
        }
        let mut prefix = self.prefix;
        if right {
            prefix[usize::from(self.depth / 8)] |= 0x80 >> (self.depth % 8);
        }
        Some(NodePosition {
            depth: self.depth + 1,
            prefix,
        })
    }

    /// The stored form: the depth as a big-endian u16, then the 32 prefix bytes.
    pub fn to_bytes(&self) -> [u8; 34] {
        let mut out = [0u8; 34];
        out[..2].copy_from_slice(&self.depth.to_be_bytes());
        out[2..].copy_from_slice(&self.prefix);
        out
    }

    /// Reads the stored form back, refusing a depth above 256 or bits set below the depth.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let depth = u16::from_be_bytes(reader.array("map position depth")?);
        let prefix: [u8; 32] = reader.array("map position prefix")?;
        reader.finish()?;
        if depth > KEY_BITS {
            return Err(DecodeError::Invalid {
                field: "map position depth",
                reason: format!("{depth} is above {KEY_BITS}"),
            });
        }
        let position = NodePosition::of_key(&MapKey(prefix), depth);
        if position.prefix != prefix {
            return Err(DecodeError::Invalid {
                field: "map position prefix",
                reason: format!("bits set at or below depth {depth}"),
            });
        }
        Ok(position)
    }

    /// The storage key of its node as written by `version`: [`Self::to_bytes`], then the version
    /// as a big-endian u64, so that byte order is position order, then version order.
    pub fn storage_key(&self, version: u64) -> [u8; 42] {
        let mut out = [0u8; 42];
        out[..34].copy_from_slice(&self.to_bytes());
        out[34..].copy_from_slice(&version.to_be_bytes());
        out
    }
}

impl fmt::Display for NodePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = usize::from(self.depth.div_ceil(8));
        write!(
            f,
            "map node (depth {}, prefix {})",
            self.depth,
            hex::encode(&self.prefix[..bytes])
        )
    }
}

/// A stored node: an interior node keeps both children's hashes, so that a walk down reads one
/// node per level; a leaf keeps its key and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapNode {
    /// A subtree holding two keys or more.
    Internal {
        /// The hash of the left half (bit 0).
        left: Hash32,
        /// The hash of the right half (bit 1).
        right: Hash32,
    },
    /// A subtree holding one key.
    Leaf {
        /// The key.
        key: MapKey,
        /// Its value.
        value: Hash32,
    },
}

/// Tags of [`MapNode::to_bytes`].
mod node_tag {
    pub(super) const INTERNAL: u8 = 1;
    pub(super) const LEAF: u8 = 2;
}

impl MapNode {
    /// Its hash.
    pub fn hash<H: TreeHash>(&self) -> Hash32 {
        match self {
            MapNode::Internal { left, right } => node_hash::<H>(left, right),
            MapNode::Leaf { key, value } => leaf_hash::<H>(key, value),
        }
    }

    /// The stored form: a tag (1 interior, 2 leaf), then left and right hashes or key and value.
    pub fn to_bytes(&self) -> [u8; 65] {
        let (tag, first, second) = match self {
            MapNode::Internal { left, right } => (node_tag::INTERNAL, &left.0, &right.0),
            MapNode::Leaf { key, value } => (node_tag::LEAF, &key.0, &value.0),
        };
        let mut out = [0u8; 65];
        out[0] = tag;
        out[1..33].copy_from_slice(first);
        out[33..].copy_from_slice(second);
        out
    }

    /// Reads the stored form back.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let tag = reader.u8("map node tag")?;
        let first: [u8; 32] = reader.array("map node")?;
        let second: [u8; 32] = reader.array("map node")?;
        reader.finish()?;
        match tag {
            node_tag::INTERNAL => Ok(MapNode::Internal {
                left: Hash32(first),
                right: Hash32(second),
            }),
            node_tag::LEAF => Ok(MapNode::Leaf {
                key: MapKey(first),
                value: Hash32(second),
            }),
            other => Err(DecodeError::Invalid {
                field: "map node tag",
                reason: format!("unknown tag {other}"),
            }),
        }
    }
}

/// A key and its value, as a batch applies them.
type Entry = (MapKey, Hash32);

/// Reads stored nodes as of a version.
pub trait MapStore {
    /// The node at `position` written by the latest version at or below `version`, or `None` if
    /// no version up to `version` wrote one there.
    fn map_node(
        &self,
        position: &NodePosition,
        version: u64,
    ) -> Result<Option<MapNode>, StoreError>;
}

/// One block's updates: each key's new value, a later insert of a key replacing an earlier one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapBatch {
    entries: BTreeMap<MapKey, Hash32>,
}

impl MapBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `key` to `value`, replacing what an earlier insert into this batch set.
    pub fn insert(&mut self, key: MapKey, value: Hash32) {
        self.entries.insert(key, value);
    }

    /// Distinct keys updated.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it updates nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What [`update`] produced for one version: the new root and the nodes to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapUpdate {
    /// The version written.
    pub version: u64,
    /// The root of the map as of `version`.
    pub root: Hash32,
    /// Every node the version writes, by position.
    pub nodes: BTreeMap<NodePosition, MapNode>,
}

/// Why the map could not be read or updated from stored nodes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapReadError {
    /// Version 0 is the empty map, and cannot be written.
    #[error("version 0 is the empty map; updates start at version 1")]
    VersionZero,
    /// The store failed, or holds nodes that contradict each other.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The root of the map as of `version`.
pub fn root<H: TreeHash>(store: &impl MapStore, version: u64) -> Result<Hash32, MapReadError> {
    Ok(match store.map_node(&NodePosition::ROOT, version)? {
        Some(node) => node.hash::<H>(),
        None => empty_hash::<H>(),
    })
}

/// Applies `batch` to the map as of `version - 1` and returns the map as of `version`. Reads the
/// store, writes nothing.
pub fn update<H: TreeHash>(
    store: &impl MapStore,
    version: u64,
    batch: &MapBatch,
) -> Result<MapUpdate, MapReadError> {
    let read_version = version.checked_sub(1).ok_or(MapReadError::VersionZero)?;
    if batch.is_empty() {
        return Ok(MapUpdate {
            version,
            root: root::<H>(store, read_version)?,
            nodes: BTreeMap::new(),
        });
    }
    let entries: Vec<Entry> = batch.entries.iter().map(|(k, v)| (*k, *v)).collect();
    let mut rebuild = Rebuild::<_, H> {
        store,
        read_version,
        empty: empty_hash::<H>(),
        nodes: BTreeMap::new(),
        hash: PhantomData,
    };
    let before = read_node(store, &NodePosition::ROOT, read_version)?;
    let root = rebuild.subtree(NodePosition::ROOT, before, &entries)?;
    Ok(MapUpdate {
        version,
        root,
        nodes: rebuild.nodes,
    })
}

/// Proves what `key` maps to in the map as of `version`.
pub fn prove<H: TreeHash>(
    store: &impl MapStore,
    version: u64,
    key: &MapKey,
) -> Result<MapProof, MapReadError> {
    let empty = empty_hash::<H>();
    let mut position = NodePosition::ROOT;
    let mut siblings = Vec::new();
    let mut node = read_node(store, &position, version)?;
    loop {
        match node {
            None => {
                return Ok(MapProof {
                    siblings,
                    leaf: None,
                });
            }
            Some(MapNode::Leaf { key: found, value }) => {
                let leaf = Some(MapLeaf { key: found, value });
                return Ok(MapProof { siblings, leaf });
            }
            Some(MapNode::Internal { left, right }) => {
                let right_side = key.bit(position.depth);
                let (next, sibling) = match right_side {
                    true => (right, left),
                    false => (left, right),
                };
                siblings.push(sibling);
                position = position
                    .child(right_side)
                    .expect("read_node refuses interior nodes at depth 256");
                node = read_child::<H>(store, &position, version, &next, &empty)?;
            }
        }
    }
}

/// Rebuilds the subtrees a batch touches, collecting the nodes it writes.
struct Rebuild<'a, S, H> {
    store: &'a S,
    read_version: u64,
    /// [`empty_hash`], computed once.
    empty: Hash32,
    nodes: BTreeMap<NodePosition, MapNode>,
    hash: PhantomData<fn() -> H>,
}

impl<S: MapStore, H: TreeHash> Rebuild<'_, S, H> {
    /// The new hash of the subtree at `position`, which held `before`, once `entries` (sorted,
    /// distinct, all on paths through `position`, at least one) are applied.
    fn subtree(
        &mut self,
        position: NodePosition,
        before: Option<MapNode>,
        entries: &[Entry],
    ) -> Result<Hash32, MapReadError> {
        match before {
            None => Ok(self.fresh(position, entries)),
            // The subtree held one key: nothing is stored below it, so it is rebuilt from its
            // entries with that key added unless the batch updates it.
            Some(MapNode::Leaf { key, value }) => {
                match entries.binary_search_by(|(k, _)| k.cmp(&key)) {
                    Ok(_) => Ok(self.fresh(position, entries)),
                    Err(at) => {
                        let mut merged = Vec::with_capacity(entries.len() + 1);
                        merged.extend_from_slice(&entries[..at]);
                        merged.push((key, value));
                        merged.extend_from_slice(&entries[at..]);
                        Ok(self.fresh(position, &merged))
                    }
                }
            }
            Some(MapNode::Internal { left, right }) => {
                let (to_left, to_right) = split(position.depth, entries);
                let left = self.side(&position, false, left, to_left)?;
                let right = self.side(&position, true, right, to_right)?;
                Ok(self.write(position, MapNode::Internal { left, right }))
            }
        }
    }

    /// The new hash of one child of the interior node at `parent`, whose hash was `before`.
    fn side(
        &mut self,
        parent: &NodePosition,
        right: bool,
        before: Hash32,
        entries: &[Entry],
    ) -> Result<Hash32, MapReadError> {
        if entries.is_empty() {
            return Ok(before);
        }
        let child = parent
            .child(right)
            .expect("read_node refuses interior nodes at depth 256");
        let node = read_child::<H>(self.store, &child, self.read_version, &before, &self.empty)?;
        self.subtree(child, node, entries)
    }

    /// The hash of the subtree at `position`, empty before, holding exactly `entries` (sorted,
    /// distinct, at least one).
    fn fresh(&mut self, position: NodePosition, entries: &[Entry]) -> Hash32 {
        if let [(key, value)] = entries {
            return self.write(
                position,
                MapNode::Leaf {
                    key: *key,
                    value: *value,
                },
            );
        }
        let (to_left, to_right) = split(position.depth, entries);
        let mut half = |right: bool, entries: &[Entry]| match entries.is_empty() {
            true => self.empty,
            false => {
                let child = position
                    .child(right)
                    .expect("two distinct keys part before depth 256");
                self.fresh(child, entries)
            }
        };
        let left = half(false, to_left);
        let right = half(true, to_right);
        self.write(position, MapNode::Internal { left, right })
    }

    fn write(&mut self, position: NodePosition, node: MapNode) -> Hash32 {
        let previous = self.nodes.insert(position, node);
        debug_assert!(previous.is_none(), "a batch writes each position once");
        node.hash::<H>()
    }
}

/// Splits sorted entries at `depth`: those going left (bit 0), then right.
fn split(depth: u16, entries: &[Entry]) -> (&[Entry], &[Entry]) {
    entries.split_at(entries.partition_point(|(key, _)| !key.bit(depth)))
}

/// The child at `position`, which its parent says hashes to `expected`, checked against it;
/// `None` if the parent says it is empty (`empty` is [`empty_hash`]).
fn read_child<H: TreeHash>(
    store: &impl MapStore,
    position: &NodePosition,
    version: u64,
    expected: &Hash32,
    empty: &Hash32,
) -> Result<Option<MapNode>, MapReadError> {
    if expected == empty {
        return Ok(None);
    }
    let node = read_node(store, position, version)?
        .ok_or_else(|| corrupt(position, "is missing under a parent that names it"))?;
    if node.hash::<H>() != *expected {
        return Err(corrupt(position, "does not hash to what its parent names"));
    }
    Ok(Some(node))
}

/// The node at `position` as of `version`, refused if it cannot sit there: a leaf off its path,
/// or an interior node at depth 256. Code that walks the tree relies on both.
fn read_node(
    store: &impl MapStore,
    position: &NodePosition,
    version: u64,
) -> Result<Option<MapNode>, MapReadError> {
    let node = store.map_node(position, version)?;
    match &node {
        Some(MapNode::Leaf { key, .. }) if !position.covers(key) => {
            Err(corrupt(position, "holds a leaf whose key is off its path"))
        }
        Some(MapNode::Internal { .. }) if position.depth == KEY_BITS => {
            Err(corrupt(position, "is an interior node at depth 256"))
        }
        _ => Ok(node),
    }
}

fn corrupt(position: &NodePosition, reason: &str) -> MapReadError {
    MapReadError::Store(StoreError::Corrupt {
        node: position.to_string(),
        reason: reason.to_owned(),
    })
}

/// A proof of what a key maps to: the siblings of the nodes on the key's path from the root down
/// (`siblings[i]` is the hash of the subtree that shares the key's first `i` bits and differs in
/// bit `i`), then what the path ends at, at depth `siblings.len()`: a leaf or an empty subtree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapProof {
    /// Sibling hashes, from the root's children down.
    #[serde(deserialize_with = "bounded_siblings")]
    pub siblings: Vec<Hash32>,
    /// The leaf the path ends at, or `None` if it ends at an empty subtree.
    pub leaf: Option<MapLeaf>,
}

/// A leaf: one key and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapLeaf {
    /// The key.
    pub key: MapKey,
    /// Its value.
    pub value: Hash32,
}

fn bounded_siblings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Hash32>, D::Error> {
    super::bounded_hashes(d, MAX_MAP_PROOF_SIBLINGS)
}

/// Why a map proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapProofError {
    /// More siblings than the tree has levels.
    #[error("the proof holds {found} siblings; at most {MAX_MAP_PROOF_SIBLINGS} allowed")]
    TooLong {
        /// How many it holds.
        found: usize,
    },
    /// The leaf the proof ends at lies off the key's path.
    #[error("the proof ends at a leaf for key {leaf_key}, which is off the path of {key}")]
    LeafOffPath {
        /// The key proved about.
        key: MapKey,
        /// The leaf's key.
        leaf_key: MapKey,
    },
    /// The proof leads to another root than the trusted one.
    #[error("the proof leads to root {computed}, not the trusted {trusted}")]
    RootMismatch {
        /// The root the proof leads to.
        computed: Hash32,
        /// The trusted root.
        trusted: Hash32,
    },
    /// The key maps to another value than the one claimed.
    #[error("{key} maps to {proven}, not {claimed}")]
    ValueMismatch {
        /// The key.
        key: MapKey,
        /// The value the proof shows.
        proven: Hash32,
        /// The value claimed.
        claimed: Hash32,
    },
    /// The key was claimed to map to a value, and is absent.
    #[error("{key} is not in the map")]
    KeyAbsent {
        /// The key.
        key: MapKey,
    },
    /// The key was claimed absent, and maps to a value.
    #[error("{key} is in the map, mapped to {value}")]
    KeyPresent {
        /// The key.
        key: MapKey,
        /// Its value.
        value: Hash32,
    },
}

impl MapProof {
    /// What the proof shows `key` maps to in the map whose root is `root`: its value, or `None`
    /// if it is absent.
    pub fn resolve<H: TreeHash>(
        &self,
        root: &Hash32,
        key: &MapKey,
    ) -> Result<Option<Hash32>, MapProofError> {
        let depth = self.siblings.len();
        if depth > MAX_MAP_PROOF_SIBLINGS {
            return Err(MapProofError::TooLong { found: depth });
        }
        let depth = u16::try_from(depth).expect("bounded by 256 just above");
        let mut hash = match &self.leaf {
            None => empty_hash::<H>(),
            Some(leaf) => {
                if !leaf.key.shares_prefix(key, depth) {
                    return Err(MapProofError::LeafOffPath {
                        key: *key,
                        leaf_key: leaf.key,
                    });
                }
                leaf_hash::<H>(&leaf.key, &leaf.value)
            }
        };
        for (level, sibling) in (0..depth).zip(&self.siblings).rev() {
            hash = match key.bit(level) {
                true => node_hash::<H>(sibling, &hash),
                false => node_hash::<H>(&hash, sibling),
            };
        }
        if hash != *root {
            return Err(MapProofError::RootMismatch {
                computed: hash,
                trusted: *root,
            });
        }
        Ok(self
            .leaf
            .filter(|leaf| leaf.key == *key)
            .map(|leaf| leaf.value))
    }

    /// Checks that `key` maps to `claim` (`None`: is absent) in the map whose root is `root`.
    pub fn verify<H: TreeHash>(
        &self,
        root: &Hash32,
        key: &MapKey,
        claim: Option<&Hash32>,
    ) -> Result<(), MapProofError> {
        let key = *key;
        match (self.resolve::<H>(root, &key)?, claim) {
            (Some(proven), Some(claimed)) if proven == *claimed => Ok(()),
            (Some(proven), Some(claimed)) => Err(MapProofError::ValueMismatch {
                key,
                proven,
                claimed: *claimed,
            }),
            (None, Some(_)) => Err(MapProofError::KeyAbsent { key }),
            (Some(value), None) => Err(MapProofError::KeyPresent { key, value }),
            (None, None) => Ok(()),
        }
    }

    /// The binary form: tag `0x03`; `0x00` for an empty end, or `0x01`, the leaf's key and its
    /// value; a big-endian u16 count and the siblings, from the root's children down.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut writer = Writer::new();
        writer.u8(super::proof_tag::MAP);
        match &self.leaf {
            None => writer.u8(0),
            Some(leaf) => writer.u8(1).fixed(&leaf.key.0).fixed(leaf.value.as_bytes()),
        };
        super::write_hashes(&mut writer, &self.siblings);
        writer.finish()
    }

    /// Reads the binary form back, refusing more than [`MAX_MAP_PROOF_SIBLINGS`] siblings and
    /// trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        super::read_tag(&mut reader, super::proof_tag::MAP, "map proof tag")?;
        let leaf = match reader.u8("map proof end")? {
            0 => None,
            1 => Some(MapLeaf {
                key: MapKey(reader.array("map proof leaf key")?),
                value: Hash32(reader.array("map proof leaf value")?),
            }),
            other => {
                return Err(DecodeError::Invalid {
                    field: "map proof end",
                    reason: format!("{other} is neither 0 (empty) nor 1 (leaf)"),
                });
            }
        };
        let siblings = super::read_hashes(&mut reader, MAX_MAP_PROOF_SIBLINGS, "map siblings")?;
        reader.finish()?;
        Ok(MapProof { siblings, leaf })
    }
}

/// Keeps every version's nodes in memory. For tests, benchmarks and tools; a node keeps them in
/// storage instead.
#[derive(Debug, Clone, Default)]
pub struct MemMapStore {
    nodes: BTreeMap<(NodePosition, u64), MapNode>,
}

impl MemMapStore {
    /// An empty store: the empty map at every version.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the nodes of `update`.
    pub fn apply(&mut self, update: &MapUpdate) {
        for (position, node) in &update.nodes {
            self.nodes.insert((*position, update.version), *node);
        }
    }

    /// Nodes kept, over all versions.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether it keeps no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

impl MapStore for MemMapStore {
    fn map_node(
        &self,
        position: &NodePosition,
        version: u64,
    ) -> Result<Option<MapNode>, StoreError> {
        Ok(self
            .nodes
            .range((*position, 0)..=(*position, version))
            .next_back()
            .map(|(_, node)| *node))
    }
}

/// Reads a store with updates not yet persisted layered over it, so that a block can be built on
/// ancestors that are executed but not committed. A read as of a version sees the latest pending
/// update at or below it that wrote the position, else the store.
#[derive(Debug)]
pub struct MapOverlay<'a, S: ?Sized> {
    /// Pending updates, oldest first.
    pub pending: Vec<&'a MapUpdate>,
    /// The persisted nodes; every pending update's version is above the versions it holds.
    pub base: &'a S,
}

impl<S: MapStore + ?Sized> MapStore for MapOverlay<'_, S> {
    fn map_node(
        &self,
        position: &NodePosition,
        version: u64,
    ) -> Result<Option<MapNode>, StoreError> {
        let pending = self
            .pending
            .iter()
            .rev()
            .filter(|update| update.version <= version)
            .find_map(|update| update.nodes.get(position));
        match pending {
            Some(node) => Ok(Some(*node)),
            None => self.base.map_node(position, version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{Blake3, Sha256};

    /// The root by the definition in the module doc, from the whole key set.
    fn naive_root<H: TreeHash>(entries: &[Entry], depth: u16) -> Hash32 {
        match entries {
            [] => empty_hash::<H>(),
            [(key, value)] => leaf_hash::<H>(key, value),
            _ => {
                let (left, right) = split(depth, entries);
                node_hash::<H>(
                    &naive_root::<H>(left, depth + 1),
                    &naive_root::<H>(right, depth + 1),
                )
            }
        }
    }

    fn key(n: u32) -> MapKey {
        MapKey::of_code(format!("code-{n}").as_bytes())
    }

    fn value(n: u32) -> Hash32 {
        Hash32(*blake3::hash(&n.to_be_bytes()).as_bytes())
    }

    fn key_with_bits(bits: &[(usize, bool)]) -> MapKey {
        let mut bytes = [0u8; 32];
        for &(bit, set) in bits {
            if set {
                bytes[bit / 8] |= 0x80 >> (bit % 8);
            }
        }
        MapKey(bytes)
    }

    #[test]
    fn batches_match_the_definition_and_every_version_stays_provable() {
        let mut store = MemMapStore::new();
        let mut all = BTreeMap::new();
        let mut roots = vec![empty_hash::<Blake3>()];
        for version in 1..=6u64 {
            let mut batch = MapBatch::new();
            // New keys, and updates of keys from earlier versions.
            for n in 0..(version as u32 * 7) {
                let k = key(n * 3 % 50);
                batch.insert(k, value(n + version as u32 * 1000));
            }
            let update = update::<Blake3>(&store, version, &batch).unwrap();
            all.extend(batch.entries.clone());
            let entries: Vec<_> = all.iter().map(|(k, v)| (*k, *v)).collect();
            assert_eq!(update.root, naive_root::<Blake3>(&entries, 0), "v{version}");
            store.apply(&update);
            assert_eq!(root::<Blake3>(&store, version), Ok(update.root));
            roots.push(update.root);
        }
        // Each version's root and proofs are still served after later versions.
        let mut replay = BTreeMap::new();
        for version in 0..=6u64 {
            if version > 0 {
                for n in 0..(version as u32 * 7) {
                    replay.insert(key(n * 3 % 50), value(n + version as u32 * 1000));
                }
            }
            let root_then = roots[version as usize];
            assert_eq!(root::<Blake3>(&store, version), Ok(root_then));
            for n in 0..60 {
                let k = key(n);
                let proof = prove::<Blake3>(&store, version, &k).unwrap();
                let expected = replay.get(&k);
                assert_eq!(proof.verify::<Blake3>(&root_then, &k, expected), Ok(()));
            }
        }
    }

    #[test]
    fn keys_sharing_255_bits_sit_at_depth_256() {
        let a = key_with_bits(&[]);
        let b = key_with_bits(&[(255, true)]);
        let c = key_with_bits(&[(0, true)]);
        let mut store = MemMapStore::new();
        let mut batch = MapBatch::new();
        batch.insert(a, value(1));
        let first = update::<Sha256>(&store, 1, &batch).unwrap();
        store.apply(&first);
        let mut batch = MapBatch::new();
        batch.insert(b, value(2));
        batch.insert(c, value(3));
        let second = update::<Sha256>(&store, 2, &batch).unwrap();
        store.apply(&second);
        let entries = [(a, value(1)), (b, value(2)), (c, value(3))];
        assert_eq!(second.root, naive_root::<Sha256>(&entries, 0));
        let proof = prove::<Sha256>(&store, 2, &b).unwrap();
        assert_eq!(proof.siblings.len(), 256);
        assert_eq!(
            proof.verify::<Sha256>(&second.root, &b, Some(&value(2))),
            Ok(())
        );
        // Version 1 still proves `a` alone at the root, and `b` absent through `a`'s leaf.
        let proof = prove::<Sha256>(&store, 1, &b).unwrap();
        assert_eq!(proof.siblings.len(), 0);
        assert_eq!(proof.verify::<Sha256>(&first.root, &b, None), Ok(()));
    }

    #[test]
    fn verification_reports_what_is_wrong() {
        let mut store = MemMapStore::new();
        let mut batch = MapBatch::new();
        for n in 0..20 {
            batch.insert(key(n), value(n));
        }
        let update = update::<Blake3>(&store, 1, &batch).unwrap();
        store.apply(&update);
        let root = update.root;
        let member = prove::<Blake3>(&store, 1, &key(3)).unwrap();
        assert_eq!(
            member.verify::<Blake3>(&root, &key(3), Some(&value(4))),
            Err(MapProofError::ValueMismatch {
                key: key(3),
                proven: value(3),
                claimed: value(4)
            })
        );
        assert_eq!(
            member.verify::<Blake3>(&root, &key(3), None),
            Err(MapProofError::KeyPresent {
                key: key(3),
                value: value(3)
            })
        );
        let absent = prove::<Blake3>(&store, 1, &key(99)).unwrap();
        assert_eq!(
            absent.verify::<Blake3>(&root, &key(99), Some(&value(99))),
            Err(MapProofError::KeyAbsent { key: key(99) })
        );
        // The same proof for another key leads elsewhere or off the path.
        assert!(member.verify::<Blake3>(&root, &key(4), None).is_err());
        // The hash it was built with matters.
        assert!(matches!(
            member.verify::<Sha256>(&root, &key(3), Some(&value(3))),
            Err(MapProofError::RootMismatch { .. })
        ));
        let too_long = MapProof {
            siblings: vec![Hash32::ZERO; 257],
            leaf: None,
        };
        assert_eq!(
            too_long.verify::<Blake3>(&root, &key(3), None),
            Err(MapProofError::TooLong { found: 257 })
        );
        assert!(MapProof::from_bytes(&too_long.to_bytes()).is_err());
        assert!(
            serde_json::from_str::<MapProof>(&serde_json::to_string(&too_long).unwrap()).is_err()
        );
    }

    #[test]
    fn a_later_insert_in_a_batch_wins_and_empty_batches_keep_the_root() {
        let mut batch = MapBatch::new();
        batch.insert(key(1), value(1));
        batch.insert(key(1), value(2));
        assert_eq!(batch.len(), 1);
        let store = MemMapStore::new();
        let update = update::<Blake3>(&store, 1, &batch).unwrap();
        assert_eq!(update.root, leaf_hash::<Blake3>(&key(1), &value(2)));
        let mut store = store;
        store.apply(&update);
        let same = super::update::<Blake3>(&store, 2, &MapBatch::new()).unwrap();
        assert_eq!(same.root, update.root);
        assert!(same.nodes.is_empty());
        assert_eq!(
            super::update::<Blake3>(&store, 0, &batch),
            Err(MapReadError::VersionZero)
        );
    }

    #[test]
    fn an_overlay_of_pending_updates_reads_like_the_committed_store() {
        let mut committed = MemMapStore::new();
        let mut batches = Vec::new();
        for version in 1..=3u32 {
            let mut batch = MapBatch::new();
            for n in 0..10 {
                batch.insert(key(n * version), value(n + 100 * version));
            }
            batches.push(batch);
        }
        let first = update::<Blake3>(&committed, 1, &batches[0]).unwrap();
        committed.apply(&first);
        let base = committed.clone();
        let second = update::<Blake3>(&committed, 2, &batches[1]).unwrap();
        committed.apply(&second);
        let third = update::<Blake3>(&committed, 3, &batches[2]).unwrap();
        let overlay = MapOverlay {
            pending: vec![&second],
            base: &base,
        };
        assert_eq!(
            update::<Blake3>(&overlay, 3, &batches[2]),
            Ok(third.clone())
        );
        committed.apply(&third);
        for n in 0..40 {
            assert_eq!(
                prove::<Blake3>(&overlay, 2, &key(n)),
                prove::<Blake3>(&committed, 2, &key(n))
            );
        }
    }

    #[test]
    fn a_corrupt_store_is_reported_not_followed() {
        let mut store = MemMapStore::new();
        let mut batch = MapBatch::new();
        for n in 0..8 {
            batch.insert(key(n), value(n));
        }
        let update = update::<Blake3>(&store, 1, &batch).unwrap();
        store.apply(&update);
        // Overwrite one leaf's value behind its parent's back.
        let (position, node) = update
            .nodes
            .iter()
            .find(|(_, node)| matches!(node, MapNode::Leaf { .. }))
            .unwrap();
        let MapNode::Leaf { key: leaf_key, .. } = node else {
            unreachable!()
        };
        store.nodes.insert(
            (*position, 1),
            MapNode::Leaf {
                key: *leaf_key,
                value: value(999),
            },
        );
        assert!(matches!(
            prove::<Blake3>(&store, 1, leaf_key),
            Err(MapReadError::Store(StoreError::Corrupt { .. }))
        ));
        let mut more = MapBatch::new();
        more.insert(*leaf_key, value(5));
        assert!(matches!(
            super::update::<Blake3>(&store, 2, &more),
            Err(MapReadError::Store(StoreError::Corrupt { .. }))
        ));
    }

    /// Nodes that hash consistently but cannot sit where they are stored are refused, not
    /// followed into a panic.
    #[test]
    fn misplaced_nodes_are_reported_as_corruption() {
        let zero = MapKey([0; 32]);
        let mut store = MemMapStore::new();
        // An interior node at depth 256 under a chain of interior nodes down the zero key's path.
        let mut hash = node_hash::<Blake3>(&value(1), &value(2));
        store.nodes.insert(
            (NodePosition::of_key(&zero, 256), 1),
            MapNode::Internal {
                left: value(1),
                right: value(2),
            },
        );
        for depth in (0..256).rev() {
            let node = MapNode::Internal {
                left: hash,
                right: empty_hash::<Blake3>(),
            };
            store
                .nodes
                .insert((NodePosition::of_key(&zero, depth), 1), node);
            hash = node.hash::<Blake3>();
        }
        let is_corrupt =
            |result| matches!(result, Err(MapReadError::Store(StoreError::Corrupt { .. })));
        assert!(is_corrupt(prove::<Blake3>(&store, 1, &zero).map(|_| ())));
        let mut batch = MapBatch::new();
        batch.insert(zero, value(3));
        assert!(is_corrupt(update::<Blake3>(&store, 2, &batch).map(|_| ())));

        // A leaf whose key goes right, stored on the left.
        let right_key = key_with_bits(&[(0, true)]);
        let mut store = MemMapStore::new();
        let leaf = MapNode::Leaf {
            key: right_key,
            value: value(4),
        };
        let left = NodePosition::ROOT.child(false).unwrap();
        store.nodes.insert((left, 1), leaf);
        store.nodes.insert(
            (NodePosition::ROOT, 1),
            MapNode::Internal {
                left: leaf.hash::<Blake3>(),
                right: empty_hash::<Blake3>(),
            },
        );
        assert!(is_corrupt(prove::<Blake3>(&store, 1, &zero).map(|_| ())));
        assert!(is_corrupt(update::<Blake3>(&store, 2, &batch).map(|_| ())));
    }

    #[test]
    fn stored_forms_round_trip_and_refuse_bad_bytes() {
        let k = key(7);
        for depth in [0u16, 1, 7, 8, 9, 255, 256] {
            let position = NodePosition::of_key(&k, depth);
            assert_eq!(NodePosition::from_bytes(&position.to_bytes()), Ok(position));
            assert!(position.covers(&k));
        }
        let mut bad = NodePosition::of_key(&k, 3).to_bytes();
        bad[33] |= 1;
        assert!(NodePosition::from_bytes(&bad).is_err());
        let mut deep = NodePosition::ROOT.to_bytes();
        deep[..2].copy_from_slice(&257u16.to_be_bytes());
        assert!(NodePosition::from_bytes(&deep).is_err());
        // Storage order: position, then version.
        let position = NodePosition::of_key(&k, 5);
        assert!(position.storage_key(1) < position.storage_key(2));
        assert!(position.storage_key(u64::MAX) < NodePosition::of_key(&k, 6).storage_key(0));

        for node in [
            MapNode::Leaf {
                key: k,
                value: value(1),
            },
            MapNode::Internal {
                left: value(2),
                right: value(3),
            },
        ] {
            assert_eq!(MapNode::from_bytes(&node.to_bytes()), Ok(node));
        }
        let mut bad = MapNode::Leaf {
            key: k,
            value: value(1),
        }
        .to_bytes();
        bad[0] = 9;
        assert!(MapNode::from_bytes(&bad).is_err());
    }

    #[test]
    fn proof_forms_round_trip() {
        let mut store = MemMapStore::new();
        let mut batch = MapBatch::new();
        for n in 0..30 {
            batch.insert(key(n), value(n));
        }
        store.apply(&update::<Blake3>(&store, 1, &batch).unwrap());
        for n in [0, 29, 1000] {
            let proof = prove::<Blake3>(&store, 1, &key(n)).unwrap();
            assert_eq!(MapProof::from_bytes(&proof.to_bytes()), Ok(proof.clone()));
            let json = serde_json::to_string(&proof).unwrap();
            assert_eq!(serde_json::from_str::<MapProof>(&json).unwrap(), proof);
            let mut longer = proof.to_bytes();
            longer.push(0);
            assert!(MapProof::from_bytes(&longer).is_err());
        }
    }
}
