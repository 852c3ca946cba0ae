//! Append records to an RFC 9162 Merkle log and prove inclusion and consistency from its stored
//! nodes.
//!
//! # The tree
//!
//! The tree over leaves `d[0..n]` is the one of RFC 9162 §2.1.1 (RFC 6962 §2.1): the hash of an
//! empty tree is `H("")`, of one leaf `H(0x00 ‖ leaf)`, of more than one `H(0x01 ‖ left ‖
//! right)` where the left subtree holds the largest power of two of leaves strictly less than
//! `n`. Built bottom-up it is the same tree: pair the nodes of each level from the left, and carry
//! a level's last node up unchanged when it has no partner. This module walks it that way.
//!
//! # What storage keeps
//!
//! A node that covers a full, aligned power of two of leaves (a *perfect* node) never changes once
//! its last leaf is appended. [`NodeId`] names it by level (0 for leaf hashes) and index within
//! the level; storage keeps every perfect node under [`NodeId::to_bytes`] (9 bytes, ordered by
//! level then index) with its 32-byte hash, and nothing else. Every other node of any tree size,
//! in particular the root of any earlier size, is the hash of at most 63 perfect nodes, so proofs
//! for any size up to the current one are served from stored nodes without replaying anything.
//!
//! # How to drive it
//!
//! 1. At start, [`Frontier::load`] reads the O(log n) perfect nodes of the current size (or
//!    [`Frontier::new`] for an empty log).
//! 2. For each committed record, in commit order, [`Frontier::append`] takes its [`leaf_hash`] and
//!    pushes the nodes it completes (the leaf and up to 63 parents) onto a list.
//! 3. [`Frontier::root`] is the root to put in the block header. Persist the listed nodes in the
//!    same atomic write as the block; a proposer whose block is not committed drops its clone of
//!    the frontier and its list.
//! 4. [`inclusion_proof`], [`consistency_proof`] and [`root_at`] read stored nodes through
//!    [`LogStore`]; [`InclusionProof::verify`] and [`ConsistencyProof::verify`] need nothing but
//!    the proof, the leaf hash and the trusted roots.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use super::{MAX_LOG_PROOF_HASHES, StoreError, TreeHash};
use crate::codec::{DecodeError, Reader, Writer};
use crate::hash::Hash32;

/// Most leaves a log may hold: 2^63, so that every index and range fits a u64.
pub const MAX_LOG_SIZE: u64 = 1 << 63;

/// Prefix of a leaf's hash input (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;

/// Prefix of an interior node's hash input (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// The hash of a leaf: `H(0x00 ‖ leaf)`.
pub fn leaf_hash<H: TreeHash>(leaf: &[u8]) -> Hash32 {
    H::hash(&[&[LEAF_PREFIX], leaf])
}

/// The hash of an interior node: `H(0x01 ‖ left ‖ right)`.
pub fn node_hash<H: TreeHash>(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut input = [0u8; 65];
    input[0] = NODE_PREFIX;
    input[1..33].copy_from_slice(left.as_bytes());
    input[33..].copy_from_slice(right.as_bytes());
    H::hash(&[&input])
}

/// The root of the empty log: `H("")`.
pub fn empty_root<H: TreeHash>() -> Hash32 {
    H::hash(&[])
}

/// Names a perfect node: the one at `level` (0 for leaves) that covers leaves
/// `index · 2^level .. (index + 1) · 2^level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height above the leaves.
    pub level: u8,
    /// Position within the level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The storage key: the level, then the index as a big-endian u64.
    pub fn to_bytes(&self) -> [u8; 9] {
        let mut out = [0u8; 9];
        out[0] = self.level;
        out[1..].copy_from_slice(&self.index.to_be_bytes());
        out
    }

    /// Reads a storage key back.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let level = reader.u8("log node level")?;
        let index = reader.u64("log node index")?;
        reader.finish()?;
        if level > 63 {
            return Err(DecodeError::Invalid {
                field: "log node level",
                reason: format!("{level} is above 63"),
            });
        }
        Ok(NodeId { level, index })
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "log node (level {}, index {})", self.level, self.index)
    }
}

/// A perfect node and its hash, as storage keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogNode {
    /// Where it sits.
    pub id: NodeId,
    /// Its hash.
    pub hash: Hash32,
}

/// Reads stored perfect nodes.
pub trait LogStore {
    /// The hash of the perfect node `id`, or `None` if it has not been stored.
    fn log_node(&self, id: NodeId) -> Result<Option<Hash32>, StoreError>;
}

/// Why a root or a proof could not be produced from stored nodes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogReadError {
    /// The leaf index is not below the tree size.
    #[error("leaf {index} is not in a log of {size} leaves")]
    LeafOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size asked for.
        size: u64,
    },
    /// The sizes of a consistency proof are not `0 < old ≤ new`.
    #[error("no consistency proof from size {old} to size {new}")]
    BadSizes {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// A size beyond [`MAX_LOG_SIZE`].
    #[error("a log holds at most {MAX_LOG_SIZE} leaves; {size} asked for")]
    TooLarge {
        /// The size asked for.
        size: u64,
    },
    /// A node the tree of this size needs is not in the store: the store is behind the size
    /// asked for, or has lost a node.
    #[error("{0} is not stored")]
    Missing(NodeId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Holds the perfect nodes along the right edge of the log (one per set bit of its size, largest
/// first): enough to append a leaf and to compute the root.
#[derive(Debug)]
pub struct Frontier<H> {
    size: u64,
    nodes: Vec<Hash32>,
    hash: PhantomData<fn() -> H>,
}

impl<H> Clone for Frontier<H> {
    fn clone(&self) -> Self {
        Frontier {
            size: self.size,
            nodes: self.nodes.clone(),
            hash: PhantomData,
        }
    }
}

impl<H: TreeHash> Default for Frontier<H> {
    fn default() -> Self {
        Self::new()
    }
}

/// The log is full: it already holds [`MAX_LOG_SIZE`] leaves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the log holds {MAX_LOG_SIZE} leaves and takes no more")]
pub struct LogFull;

impl<H: TreeHash> Frontier<H> {
    /// The frontier of the empty log.
    pub fn new() -> Self {
        Frontier {
            size: 0,
            nodes: Vec::new(),
            hash: PhantomData,
        }
    }

    /// Reads the frontier of the log of `size` leaves from stored nodes.
    pub fn load(store: &impl LogStore, size: u64) -> Result<Self, LogReadError> {
        if size > MAX_LOG_SIZE {
            return Err(LogReadError::TooLarge { size });
        }
        let nodes = perfect_cover(0, size)
            .map(|id| read(store, id))
            .collect::<Result<_, _>>()?;
        Ok(Frontier {
            size,
            nodes,
            hash: PhantomData,
        })
    }

    /// Leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the log as it stands.
    pub fn root(&self) -> Hash32 {
        fold_right::<H>(&self.nodes).unwrap_or_else(empty_root::<H>)
    }

    /// Appends the leaf whose [`leaf_hash`] is `leaf`, and pushes onto `completed` every perfect
    /// node it completes, leaf first: these are what storage must persist.
    pub fn append(&mut self, leaf: Hash32, completed: &mut Vec<LogNode>) -> Result<(), LogFull> {
        if self.size == MAX_LOG_SIZE {
            return Err(LogFull);
        }
        let mut id = NodeId {
            level: 0,
            index: self.size,
        };
        let mut hash = leaf;
        completed.push(LogNode { id, hash });
        // A node with an odd index is a right child: its left sibling is the frontier's last
        // node, and together they complete their parent.
        while id.index & 1 == 1 {
            let left = self
                .nodes
                .pop()
                .expect("the frontier holds a node for every set bit of the size");
            hash = node_hash::<H>(&left, &hash);
            id = NodeId {
                level: id.level + 1,
                index: id.index >> 1,
            };
            completed.push(LogNode { id, hash });
        }
        self.nodes.push(hash);
        self.size += 1;
        debug_assert_eq!(self.nodes.len(), self.size.count_ones() as usize);
        Ok(())
    }
}

/// The root of the log when it held `size` leaves, from stored nodes.
pub fn root_at<H: TreeHash>(store: &impl LogStore, size: u64) -> Result<Hash32, LogReadError> {
    if size > MAX_LOG_SIZE {
        return Err(LogReadError::TooLarge { size });
    }
    if size == 0 {
        return Ok(empty_root::<H>());
    }
    subtree_hash::<H>(store, 0, size)
}

/// Proves that leaf `leaf_index` is in the log of `tree_size` leaves.
pub fn inclusion_proof<H: TreeHash>(
    store: &impl LogStore,
    leaf_index: u64,
    tree_size: u64,
) -> Result<InclusionProof, LogReadError> {
    if tree_size > MAX_LOG_SIZE {
        return Err(LogReadError::TooLarge { size: tree_size });
    }
    if leaf_index >= tree_size {
        return Err(LogReadError::LeafOutOfRange {
            index: leaf_index,
            size: tree_size,
        });
    }
    let path = walk(0, leaf_index, tree_size)
        .map(|step| node_in_tree::<H>(store, step.level, step.sibling, tree_size))
        .collect::<Result<_, _>>()?;
    Ok(InclusionProof {
        leaf_index,
        tree_size,
        path,
    })
}

/// Proves that the log of `new_size` leaves extends the log of `old_size` leaves.
pub fn consistency_proof<H: TreeHash>(
    store: &impl LogStore,
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof, LogReadError> {
    if new_size > MAX_LOG_SIZE {
        return Err(LogReadError::TooLarge { size: new_size });
    }
    if old_size == 0 || old_size > new_size {
        return Err(LogReadError::BadSizes {
            old: old_size,
            new: new_size,
        });
    }
    let mut path = Vec::new();
    if old_size < new_size {
        let start = OldTreeEdge::of(old_size);
        if !start.is_old_root() {
            path.push(read(store, start.node)?);
        }
        for step in walk(start.node.level, start.node.index, new_size) {
            path.push(node_in_tree::<H>(
                store,
                step.level,
                step.sibling,
                new_size,
            )?);
        }
    }
    Ok(ConsistencyProof {
        old_size,
        new_size,
        path,
    })
}

/// Proves that a leaf is in a log of a given size: the hashes of the siblings of the nodes on the
/// way from the leaf to the root, lowest first (RFC 9162 §2.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The leaf's position, from 0.
    pub leaf_index: u64,
    /// The size of the log the proof is for.
    pub tree_size: u64,
    /// The sibling hashes, lowest first.
    #[serde(deserialize_with = "bounded_path")]
    pub path: Vec<Hash32>,
}

/// Proves that a log of one size is a prefix of the log of a larger size (RFC 9162 §2.1.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// The size of the older log.
    pub old_size: u64,
    /// The size of the newer log.
    pub new_size: u64,
    /// The hashes, lowest first: the older log's last perfect subtree unless the older size is a
    /// power of two, then the siblings on its way up to the newer root.
    #[serde(deserialize_with = "bounded_path")]
    pub path: Vec<Hash32>,
}

fn bounded_path<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Hash32>, D::Error> {
    super::bounded_hashes(d, MAX_LOG_PROOF_HASHES)
}

/// Why a log proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogProofError {
    /// The proof holds more hashes than any proof may.
    #[error("the proof holds {found} hashes; at most {MAX_LOG_PROOF_HASHES} allowed")]
    TooLong {
        /// How many it holds.
        found: usize,
    },
    /// A size beyond [`MAX_LOG_SIZE`].
    #[error("a log holds at most {MAX_LOG_SIZE} leaves; the proof claims {size}")]
    TooLarge {
        /// The size claimed.
        size: u64,
    },
    /// The leaf index is not below the tree size.
    #[error("leaf {index} is not in a log of {size} leaves")]
    LeafOutOfRange {
        /// The index claimed.
        index: u64,
        /// The size claimed.
        size: u64,
    },
    /// The older size is 0: every log extends the empty one, and no proof says anything.
    #[error("a consistency proof from the empty log proves nothing")]
    EmptyOldLog,
    /// The older size exceeds the newer one.
    #[error("the older size {old} exceeds the newer size {new}")]
    SizesOutOfOrder {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// The number of hashes is not the one the sizes call for.
    #[error("the proof holds {found} hashes; these sizes call for {expected}")]
    WrongLength {
        /// How many the sizes call for.
        expected: usize,
        /// How many it holds.
        found: usize,
    },
    /// The hashes lead to another (newer) root than the trusted one.
    #[error("the proof leads to root {computed}, not the trusted {trusted}")]
    RootMismatch {
        /// The root the proof leads to.
        computed: Hash32,
        /// The trusted root.
        trusted: Hash32,
    },
    /// The hashes lead to another older root than the trusted one.
    #[error("the proof leads to older root {computed}, not the trusted {trusted}")]
    OldRootMismatch {
        /// The older root the proof leads to.
        computed: Hash32,
        /// The trusted older root.
        trusted: Hash32,
    },
}

impl InclusionProof {
    /// Checks that the leaf whose [`leaf_hash`] is `leaf` is at `leaf_index` in the log of
    /// `tree_size` leaves whose root is `root`.
    pub fn verify<H: TreeHash>(&self, leaf: &Hash32, root: &Hash32) -> Result<(), LogProofError> {
        check_bounds(self.path.len(), self.tree_size)?;
        if self.leaf_index >= self.tree_size {
            return Err(LogProofError::LeafOutOfRange {
                index: self.leaf_index,
                size: self.tree_size,
            });
        }
        let steps = walk(0, self.leaf_index, self.tree_size);
        check_length(steps.clone().count(), self.path.len())?;
        let mut hash = *leaf;
        for (step, sibling) in steps.zip(&self.path) {
            hash = step.join::<H>(&hash, sibling);
        }
        if hash != *root {
            return Err(LogProofError::RootMismatch {
                computed: hash,
                trusted: *root,
            });
        }
        Ok(())
    }

    /// The binary form: tag `0x01`, leaf index and tree size as big-endian u64, a big-endian u16
    /// count and the hashes.
    pub fn to_bytes(&self) -> Vec<u8> {
        INCLUSION_FORM.write(self.leaf_index, self.tree_size, &self.path)
    }

    /// Reads the binary form back, refusing more than [`MAX_LOG_PROOF_HASHES`] hashes and
    /// trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (leaf_index, tree_size, path) = INCLUSION_FORM.read(bytes)?;
        Ok(InclusionProof {
            leaf_index,
            tree_size,
            path,
        })
    }
}

impl ConsistencyProof {
    /// Checks that the log of `new_size` leaves whose root is `new_root` extends the log of
    /// `old_size` leaves whose root is `old_root`.
    pub fn verify<H: TreeHash>(
        &self,
        old_root: &Hash32,
        new_root: &Hash32,
    ) -> Result<(), LogProofError> {
        check_bounds(self.path.len(), self.new_size)?;
        let (old, new) = (self.old_size, self.new_size);
        // Refuse the empty older log before the equal-sizes case: a proof "from 0 to 0" would
        // otherwise pass on any pair of equal roots.
        if old == 0 {
            return Err(LogProofError::EmptyOldLog);
        }
        if old > new {
            return Err(LogProofError::SizesOutOfOrder { old, new });
        }
        if old == new {
            check_length(0, self.path.len())?;
            return match old_root == new_root {
                true => Ok(()),
                false => Err(LogProofError::RootMismatch {
                    computed: *old_root,
                    trusted: *new_root,
                }),
            };
        }
        let start = OldTreeEdge::of(old);
        let steps = walk(start.node.level, start.node.index, new);
        let first = usize::from(!start.is_old_root());
        check_length(first + steps.clone().count(), self.path.len())?;
        let (start_hash, siblings) = match start.is_old_root() {
            true => (*old_root, &self.path[..]),
            false => (self.path[0], &self.path[1..]),
        };
        // Climb from the older log's last perfect subtree to the newer root. Left siblings lie
        // wholly inside the older log, so they also rebuild the older root; right siblings lie
        // beyond it.
        let (mut old_hash, mut new_hash) = (start_hash, start_hash);
        for (step, sibling) in steps.zip(siblings) {
            if step.side == Side::Left {
                old_hash = node_hash::<H>(sibling, &old_hash);
            }
            new_hash = step.join::<H>(&new_hash, sibling);
        }
        if old_hash != *old_root {
            return Err(LogProofError::OldRootMismatch {
                computed: old_hash,
                trusted: *old_root,
            });
        }
        if new_hash != *new_root {
            return Err(LogProofError::RootMismatch {
                computed: new_hash,
                trusted: *new_root,
            });
        }
        Ok(())
    }

    /// The binary form: tag `0x02`, old and new size as big-endian u64, a big-endian u16 count
    /// and the hashes.
    pub fn to_bytes(&self) -> Vec<u8> {
        CONSISTENCY_FORM.write(self.old_size, self.new_size, &self.path)
    }

    /// Reads the binary form back, refusing more than [`MAX_LOG_PROOF_HASHES`] hashes and
    /// trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (old_size, new_size, path) = CONSISTENCY_FORM.read(bytes)?;
        Ok(ConsistencyProof {
            old_size,
            new_size,
            path,
        })
    }
}

/// The binary form both log proofs share: a tag, two big-endian u64 sizes, a big-endian u16
/// count and the hashes. Each proof names its tag and the fields a decoding error reports.
struct ProofForm {
    tag: u8,
    tag_field: &'static str,
    first_field: &'static str,
    second_field: &'static str,
    path_field: &'static str,
}

const INCLUSION_FORM: ProofForm = ProofForm {
    tag: super::proof_tag::INCLUSION,
    tag_field: "inclusion proof tag",
    first_field: "leaf index",
    second_field: "tree size",
    path_field: "inclusion path",
};

const CONSISTENCY_FORM: ProofForm = ProofForm {
    tag: super::proof_tag::CONSISTENCY,
    tag_field: "consistency proof tag",
    first_field: "old size",
    second_field: "new size",
    path_field: "consistency path",
};

impl ProofForm {
    fn write(&self, first: u64, second: u64, path: &[Hash32]) -> Vec<u8> {
        let mut writer = Writer::new();
        writer.u8(self.tag).u64(first).u64(second);
        super::write_hashes(&mut writer, path);
        writer.finish()
    }

    /// Reads the two sizes and the path, refusing more than [`MAX_LOG_PROOF_HASHES`] hashes and
    /// trailing bytes.
    fn read(&self, bytes: &[u8]) -> Result<(u64, u64, Vec<Hash32>), DecodeError> {
        let mut reader = Reader::new(bytes);
        super::read_tag(&mut reader, self.tag, self.tag_field)?;
        let first = reader.u64(self.first_field)?;
        let second = reader.u64(self.second_field)?;
        let path = super::read_hashes(&mut reader, MAX_LOG_PROOF_HASHES, self.path_field)?;
        reader.finish()?;
        Ok((first, second, path))
    }
}

/// Refuses an over-long proof or an over-large size before any other work.
fn check_bounds(path_len: usize, size: u64) -> Result<(), LogProofError> {
    if path_len > MAX_LOG_PROOF_HASHES {
        return Err(LogProofError::TooLong { found: path_len });
    }
    if size > MAX_LOG_SIZE {
        return Err(LogProofError::TooLarge { size });
    }
    Ok(())
}

fn check_length(expected: usize, found: usize) -> Result<(), LogProofError> {
    match expected == found {
        true => Ok(()),
        false => Err(LogProofError::WrongLength { expected, found }),
    }
}

/// Where a consistency proof starts: the older log's last perfect subtree, the one that ends at
/// its last leaf. Its level is the number of trailing zero bits of the older size.
struct OldTreeEdge {
    node: NodeId,
    old_size: u64,
}

impl OldTreeEdge {
    fn of(old_size: u64) -> Self {
        debug_assert!(old_size > 0);
        let level = old_size.trailing_zeros() as u8;
        OldTreeEdge {
            node: NodeId {
                level,
                index: (old_size >> level) - 1,
            },
            old_size,
        }
    }

    /// Whether the subtree is the whole older log (its size is a power of two), whose root the
    /// verifier already holds, so the proof leaves it out.
    fn is_old_root(&self) -> bool {
        self.old_size.is_power_of_two()
    }
}

/// Which side of the path a sibling is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// One level of the way up: the sibling there, at `level`, index `sibling`.
#[derive(Debug, Clone, Copy)]
struct Step {
    level: u8,
    sibling: u64,
    side: Side,
}

impl Step {
    /// The parent's hash from the hash on the path and the sibling's.
    fn join<H: TreeHash>(&self, on_path: &Hash32, sibling: &Hash32) -> Hash32 {
        match self.side {
            Side::Left => node_hash::<H>(sibling, on_path),
            Side::Right => node_hash::<H>(on_path, sibling),
        }
    }
}

/// The siblings on the way from node (`level`, `index`) up to the root of the tree of `size`
/// leaves, lowest first; a level where the node on the way is the level's last node with no
/// partner contributes none (it is carried up unchanged).
///
/// Needs `size ≥ 1` and the node within the tree: `index ≤ (size - 1) >> level`.
#[derive(Debug, Clone)]
struct Walk {
    level: u8,
    index: u64,
    last: u64,
}

fn walk(level: u8, index: u64, size: u64) -> Walk {
    debug_assert!(size >= 1 && index <= (size - 1) >> level);
    Walk {
        level,
        index,
        last: (size - 1) >> level,
    }
}

impl Iterator for Walk {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        while self.last > 0 {
            let (level, index, last) = (self.level, self.index, self.last);
            self.level += 1;
            self.index >>= 1;
            self.last >>= 1;
            if index & 1 == 1 {
                return Some(Step {
                    level,
                    sibling: index - 1,
                    side: Side::Left,
                });
            }
            if index < last {
                return Some(Step {
                    level,
                    sibling: index + 1,
                    side: Side::Right,
                });
            }
        }
        None
    }
}

/// The hash of node (`level`, `index`) of the tree of `size` leaves: a stored perfect node if it
/// covers a full power of two of leaves, else the node on the right edge over the leaves from
/// its first to the last.
fn node_in_tree<H: TreeHash>(
    store: &impl LogStore,
    level: u8,
    index: u64,
    size: u64,
) -> Result<Hash32, LogReadError> {
    let first = index << level;
    let full = u128::from(index + 1) << level;
    if full <= u128::from(size) {
        return read(store, NodeId { level, index });
    }
    subtree_hash::<H>(store, first, size - first)
}

/// The hash of the subtree over leaves `first .. first + count` that the RFC tree of any size
/// `first + count` contains, `first` being a multiple of the largest power of two in `count`.
fn subtree_hash<H: TreeHash>(
    store: &impl LogStore,
    first: u64,
    count: u64,
) -> Result<Hash32, LogReadError> {
    let hashes = perfect_cover(first, count)
        .map(|id| read(store, id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(fold_right::<H>(&hashes).expect("count ≥ 1 gives at least one perfect node"))
}

/// The perfect nodes that cover leaves `first .. first + count`, largest first: one per set bit of
/// `count`. Splitting off the largest power of two below the count, as RFC 9162 does, peels them
/// off in this order.
fn perfect_cover(first: u64, count: u64) -> impl Iterator<Item = NodeId> {
    let mut start = first;
    (0..64u8).rev().filter_map(move |level| {
        let width = 1u64 << level;
        if count & width == 0 {
            return None;
        }
        let id = NodeId {
            level,
            index: start >> level,
        };
        start += width;
        Some(id)
    })
}

/// `H(n0, H(n1, … H(n_k-1, n_k)))`: the root over consecutive perfect nodes, largest first.
fn fold_right<H: TreeHash>(nodes: &[Hash32]) -> Option<Hash32> {
    let (last, rest) = nodes.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |right, left| node_hash::<H>(left, &right)),
    )
}

fn read(store: &impl LogStore, id: NodeId) -> Result<Hash32, LogReadError> {
    store.log_node(id)?.ok_or(LogReadError::Missing(id))
}

/// Keeps a whole log in memory: its frontier and every perfect node. For tests, benchmarks and
/// tools; a node keeps the nodes in storage instead.
#[derive(Debug)]
pub struct MemLog<H> {
    frontier: Frontier<H>,
    levels: Vec<Vec<Hash32>>,
    completed: Vec<LogNode>,
}

impl<H: TreeHash> Default for MemLog<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H: TreeHash> MemLog<H> {
    /// An empty log.
    pub fn new() -> Self {
        MemLog {
            frontier: Frontier::new(),
            levels: Vec::new(),
            completed: Vec::new(),
        }
    }

    /// Appends a leaf by its [`leaf_hash`] and keeps the nodes it completes.
    pub fn append(&mut self, leaf: Hash32) -> Result<(), LogFull> {
        self.completed.clear();
        self.frontier.append(leaf, &mut self.completed)?;
        for node in &self.completed {
            let level = usize::from(node.id.level);
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let nodes = &mut self.levels[level];
            assert_eq!(
                nodes.len() as u64,
                node.id.index,
                "the frontier completes each level's nodes in order"
            );
            nodes.push(node.hash);
        }
        Ok(())
    }

    /// Leaves appended so far.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash32 {
        self.frontier.root()
    }
}

impl<H> LogStore for MemLog<H> {
    fn log_node(&self, id: NodeId) -> Result<Option<Hash32>, StoreError> {
        Ok(self
            .levels
            .get(usize::from(id.level))
            .and_then(|level| level.get(usize::try_from(id.index).ok()?))
            .copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{Blake3, Sha256};

    /// RFC 9162 §2.1.1 read literally: split at the largest power of two below the size.
    fn naive_root<H: TreeHash>(leaves: &[Hash32]) -> Hash32 {
        match leaves.len() {
            0 => empty_root::<H>(),
            1 => leaves[0],
            n => {
                let split = split_point(n);
                node_hash::<H>(
                    &naive_root::<H>(&leaves[..split]),
                    &naive_root::<H>(&leaves[split..]),
                )
            }
        }
    }

    fn split_point(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// RFC 9162 §2.1.3.1 PATH, read literally.
    fn naive_path<H: TreeHash>(m: usize, leaves: &[Hash32]) -> Vec<Hash32> {
        if leaves.len() <= 1 {
            return Vec::new();
        }
        let k = split_point(leaves.len());
        let (left, right) = leaves.split_at(k);
        match m < k {
            true => [naive_path::<H>(m, left), vec![naive_root::<H>(right)]].concat(),
            false => [naive_path::<H>(m - k, right), vec![naive_root::<H>(left)]].concat(),
        }
    }

    /// RFC 9162 §2.1.4.1 SUBPROOF, read literally.
    fn naive_subproof<H: TreeHash>(m: usize, leaves: &[Hash32], whole: bool) -> Vec<Hash32> {
        let n = leaves.len();
        if m == n {
            return match whole {
                true => Vec::new(),
                false => vec![naive_root::<H>(leaves)],
            };
        }
        let k = split_point(n);
        let (left, right) = leaves.split_at(k);
        match m <= k {
            true => [
                naive_subproof::<H>(m, left, whole),
                vec![naive_root::<H>(right)],
            ]
            .concat(),
            false => [
                naive_subproof::<H>(m - k, right, false),
                vec![naive_root::<H>(left)],
            ]
            .concat(),
        }
    }

    fn leaves(count: usize) -> Vec<Hash32> {
        (0..count as u32)
            .map(|i| leaf_hash::<Blake3>(&i.to_be_bytes()))
            .collect()
    }

    fn mem_log(leaves: &[Hash32]) -> MemLog<Blake3> {
        let mut log = MemLog::new();
        for leaf in leaves {
            log.append(*leaf).unwrap();
        }
        log
    }

    #[test]
    fn roots_proofs_match_the_rfc_definitions_for_every_size_up_to_70() {
        let all = leaves(70);
        let log = mem_log(&all);
        let mut frontier = Frontier::<Blake3>::new();
        let mut completed = Vec::new();
        for n in 0..=all.len() {
            let expected = naive_root::<Blake3>(&all[..n]);
            assert_eq!(frontier.root(), expected, "frontier root at {n}");
            assert_eq!(root_at::<Blake3>(&log, n as u64), Ok(expected));
            let loaded = Frontier::<Blake3>::load(&log, n as u64).unwrap();
            assert_eq!(loaded.root(), expected, "loaded frontier at {n}");
            for m in 0..n {
                let proof = inclusion_proof::<Blake3>(&log, m as u64, n as u64).unwrap();
                assert_eq!(
                    proof.path,
                    naive_path::<Blake3>(m, &all[..n]),
                    "path {m} in {n}"
                );
                assert_eq!(proof.verify::<Blake3>(&all[m], &expected), Ok(()));
            }
            for m in 1..=n {
                let proof = consistency_proof::<Blake3>(&log, m as u64, n as u64).unwrap();
                assert_eq!(
                    proof.path,
                    naive_subproof::<Blake3>(m, &all[..n], true),
                    "consistency {m} to {n}"
                );
                let old_root = naive_root::<Blake3>(&all[..m]);
                assert_eq!(proof.verify::<Blake3>(&old_root, &expected), Ok(()));
            }
            if n < all.len() {
                frontier.append(all[n], &mut completed).unwrap();
            }
        }
    }

    #[test]
    fn append_completes_one_node_per_trailing_one_bit() {
        let mut frontier = Frontier::<Sha256>::new();
        let mut completed = Vec::new();
        for size in 0u64..40 {
            completed.clear();
            frontier
                .append(Hash32([size as u8; 32]), &mut completed)
                .unwrap();
            assert_eq!(completed.len() as u32, 1 + size.trailing_ones());
            assert_eq!(
                completed[0].id,
                NodeId {
                    level: 0,
                    index: size
                }
            );
        }
    }

    #[test]
    fn proofs_need_their_nodes_and_sane_sizes() {
        let log = mem_log(&leaves(5));
        assert_eq!(
            inclusion_proof::<Blake3>(&log, 5, 5),
            Err(LogReadError::LeafOutOfRange { index: 5, size: 5 })
        );
        assert!(matches!(
            inclusion_proof::<Blake3>(&log, 0, 6),
            Err(LogReadError::Missing(_))
        ));
        assert_eq!(
            consistency_proof::<Blake3>(&log, 0, 5),
            Err(LogReadError::BadSizes { old: 0, new: 5 })
        );
        assert_eq!(
            consistency_proof::<Blake3>(&log, 4, 3),
            Err(LogReadError::BadSizes { old: 4, new: 3 })
        );
        assert_eq!(
            root_at::<Blake3>(&log, u64::MAX),
            Err(LogReadError::TooLarge { size: u64::MAX })
        );
    }

    #[test]
    fn over_long_proofs_are_refused_before_any_hashing() {
        let proof = InclusionProof {
            leaf_index: 0,
            tree_size: 2,
            path: vec![Hash32::ZERO; MAX_LOG_PROOF_HASHES + 1],
        };
        assert_eq!(
            proof.verify::<Blake3>(&Hash32::ZERO, &Hash32::ZERO),
            Err(LogProofError::TooLong {
                found: MAX_LOG_PROOF_HASHES + 1
            })
        );
        let json = serde_json::to_string(&proof).unwrap();
        assert!(serde_json::from_str::<InclusionProof>(&json).is_err());
        assert!(InclusionProof::from_bytes(&proof.to_bytes()).is_err());
    }

    #[test]
    fn binary_and_json_forms_round_trip_and_refuse_garbage() {
        let all = leaves(13);
        let log = mem_log(&all);
        let inclusion = inclusion_proof::<Blake3>(&log, 6, 13).unwrap();
        let bytes = inclusion.to_bytes();
        assert_eq!(bytes.len(), 1 + 8 + 8 + 2 + 32 * inclusion.path.len());
        assert_eq!(InclusionProof::from_bytes(&bytes), Ok(inclusion.clone()));
        let json = serde_json::to_string(&inclusion).unwrap();
        assert_eq!(
            serde_json::from_str::<InclusionProof>(&json).unwrap(),
            inclusion
        );

        let consistency = consistency_proof::<Blake3>(&log, 5, 13).unwrap();
        let bytes = consistency.to_bytes();
        assert_eq!(
            ConsistencyProof::from_bytes(&bytes),
            Ok(consistency.clone())
        );
        // One kind never decodes as the other; trailing bytes are refused.
        assert!(InclusionProof::from_bytes(&bytes).is_err());
        let mut longer = inclusion.to_bytes();
        longer.push(0);
        assert_eq!(
            InclusionProof::from_bytes(&longer),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
        assert!(
            serde_json::from_str::<InclusionProof>(
                r#"{"leaf_index":0,"tree_size":1,"path":[],"extra":1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn node_ids_round_trip_through_storage_keys() {
        let id = NodeId {
            level: 17,
            index: 0x0102_0304_0506,
        };
        assert_eq!(NodeId::from_bytes(&id.to_bytes()), Ok(id));
        assert!(NodeId::from_bytes(&[64, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(NodeId::from_bytes(&[1, 0]).is_err());
        // Storage order is level, then index.
        let a = NodeId {
            level: 0,
            index: 300,
        }
        .to_bytes();
        let b = NodeId { level: 1, index: 0 }.to_bytes();
        assert!(a < b);
    }
}
