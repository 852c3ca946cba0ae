//! Build, encode and check blocks: a header that the block hash covers, and a body of signed
//! transactions.
//!
//! The block hash is [`hash_parts`] in the domain `suyuan block header v2` over the header's
//! canonical bytes ([`Header::to_bytes`]); the header commits to the body through
//! `body_hash`, the hash of the body's canonical bytes, and to everything committed up to and
//! including the block through the roots of the record log and the code map ([`TreeHeads`],
//! computed by [`crate::trees`]). Block 1's parent is the genesis hash.

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::PublicKey;
use crate::genesis::Genesis;
use crate::hash::{Hash32, hash_parts};
use crate::limits::{MAX_BLOCK_BODY_BYTES, MAX_BLOCK_TRANSACTIONS, MAX_CHAIN_ID_BYTES};
use crate::tx::Envelope;

/// A block hash.
pub type BlockHash = Hash32;

/// Version byte at the start of every encoded header; a new header layout gets a new one.
pub const HEADER_VERSION: u8 = 2;

/// What a block hash covers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Header {
    /// The chain the block belongs to.
    pub chain_id: String,
    /// 1 for the first block after genesis.
    pub height: u64,
    /// The consensus view it was proposed in.
    pub view: u64,
    /// The parent block's hash; the genesis hash for block 1.
    pub parent: BlockHash,
    /// The proposer's clock when it built the block, Unix milliseconds; never earlier than the
    /// parent's.
    pub time_ms: u64,
    /// The validator that proposed it: the leader of `view`.
    pub proposer: PublicKey,
    /// Transactions in the body.
    pub tx_count: u32,
    /// [`Body::hash`] of the body.
    pub body_hash: Hash32,
    /// The record log and code map once this block is committed.
    #[serde(flatten)]
    pub trees: TreeHeads,
}

/// What a header says of the two proof trees once its block is committed: every proof of a
/// record is checked against these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TreeHeads {
    /// Records in the log: every transaction committed up to and including this block.
    pub log_size: u64,
    /// The log's root at that size.
    pub log_root: Hash32,
    /// The code map's root: each code to the log leaf of the latest record that names it.
    pub map_root: Hash32,
}

/// A block's transactions, in execution order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Body {
    /// The envelopes exactly as received.
    pub transactions: Vec<Envelope>,
}

/// A header and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The body.
    pub body: Body,
}

/// Why a block does not fit its parent or its own header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// It names another chain.
    #[error("block is for chain {found:?}, not {expected:?}")]
    WrongChain {
        /// This chain.
        expected: String,
        /// The block's.
        found: String,
    },
    /// Its height is not the parent's plus one.
    #[error("block height {found} does not follow parent height {parent}")]
    WrongHeight {
        /// The parent's height.
        parent: u64,
        /// The block's.
        found: u64,
    },
    /// Its parent hash is not the parent's.
    #[error("block names parent {found}, expected {expected}")]
    WrongParent {
        /// The parent's hash.
        expected: BlockHash,
        /// The block's parent field.
        found: BlockHash,
    },
    /// Its view is not after the parent's.
    #[error("block view {found} is not after parent view {parent}")]
    ViewNotAfterParent {
        /// The parent's view.
        parent: u64,
        /// The block's.
        found: u64,
    },
    /// Its time is before the parent's.
    #[error("block time {found} ms is before parent time {parent} ms")]
    TimeBeforeParent {
        /// The parent's time.
        parent: u64,
        /// The block's.
        found: u64,
    },
    /// The proposer is not the leader of the block's view.
    #[error("proposer {found} is not the leader of view {view}")]
    WrongProposer {
        /// The view.
        view: u64,
        /// The proposer named.
        found: PublicKey,
    },
    /// The body does not match the header.
    #[error("body does not match the header's body hash or transaction count")]
    BodyMismatch,
    /// The header's tree roots are not what committing the block over its parent gives.
    #[error("header {field} is {found}, but committing the block gives {expected}")]
    TreesMismatch {
        /// `log_size`, `log_root` or `map_root`.
        field: &'static str,
        /// What the block's transactions give.
        expected: String,
        /// What the header says.
        found: String,
    },
    /// Too many transactions.
    #[error("block has {found} transactions; at most {max} allowed")]
    TooManyTransactions {
        /// The bound.
        max: usize,
        /// How many.
        found: usize,
    },
}

/// What a block extends: the genesis, or a finalized block's header.
#[derive(Debug, Clone, Copy)]
pub enum Parent<'a> {
    /// Block 1 extends the genesis.
    Genesis(&'a Genesis),
    /// Later blocks extend a header.
    Block(&'a Header),
}

impl Header {
    /// The canonical bytes the block hash covers.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut writer = Writer::new();
        writer
            .u8(HEADER_VERSION)
            .bytes(self.chain_id.as_bytes())
            .u64(self.height)
            .u64(self.view)
            .fixed(self.parent.as_bytes())
            .u64(self.time_ms)
            .fixed(self.proposer.as_bytes())
            .u32(self.tx_count)
            .fixed(self.body_hash.as_bytes())
            .u64(self.trees.log_size)
            .fixed(self.trees.log_root.as_bytes())
            .fixed(self.trees.map_root.as_bytes());
        writer.finish()
    }

    /// Decodes canonical header bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Header, DecodeError> {
        let mut reader = Reader::new(bytes);
        let version = reader.u8("version")?;
        if version != HEADER_VERSION {
            return Err(DecodeError::Invalid {
                field: "version",
                reason: format!("unknown header version {version}"),
            });
        }
        let chain_id = std::str::from_utf8(reader.bytes(MAX_CHAIN_ID_BYTES, "chain_id")?)
            .map_err(|e| DecodeError::Invalid {
                field: "chain_id",
                reason: e.to_string(),
            })?
            .to_owned();
        let header = Header {
            chain_id,
            height: reader.u64("height")?,
            view: reader.u64("view")?,
            parent: Hash32(reader.array("parent")?),
            time_ms: reader.u64("time_ms")?,
            proposer: PublicKey::from_bytes(reader.array("proposer")?).map_err(|e| {
                DecodeError::Invalid {
                    field: "proposer",
                    reason: e.to_string(),
                }
            })?,
            tx_count: reader.u32("tx_count")?,
            body_hash: Hash32(reader.array("body_hash")?),
            trees: TreeHeads {
                log_size: reader.u64("log_size")?,
                log_root: Hash32(reader.array("log_root")?),
                map_root: Hash32(reader.array("map_root")?),
            },
        };
        reader.finish()?;
        Ok(header)
    }

    /// The block hash.
    pub fn hash(&self) -> BlockHash {
        hash_parts("suyuan block header v2", &[&self.to_bytes()])
    }

    /// Checks that this header may follow `parent` on `genesis`'s chain, with the leader of its
    /// view as proposer.
    pub fn check_extends(&self, parent: Parent<'_>, genesis: &Genesis) -> Result<(), BlockError> {
        if self.chain_id != genesis.chain_id {
            return Err(BlockError::WrongChain {
                expected: genesis.chain_id.clone(),
                found: self.chain_id.clone(),
            });
        }
        let (parent_height, parent_hash, parent_view, parent_time) = match parent {
            Parent::Genesis(genesis) => (0, genesis.hash(), 0, genesis.genesis_time_ms),
            Parent::Block(header) => (header.height, header.hash(), header.view, header.time_ms),
        };
        if self.height != parent_height + 1 {
            return Err(BlockError::WrongHeight {
                parent: parent_height,
                found: self.height,
            });
        }
        if self.parent != parent_hash {
            return Err(BlockError::WrongParent {
                expected: parent_hash,
                found: self.parent,
            });
        }
        if self.view <= parent_view {
            return Err(BlockError::ViewNotAfterParent {
                parent: parent_view,
                found: self.view,
            });
        }
        if self.time_ms < parent_time {
            return Err(BlockError::TimeBeforeParent {
                parent: parent_time,
                found: self.time_ms,
            });
        }
        if leader(genesis, self.view) != &self.proposer {
            return Err(BlockError::WrongProposer {
                view: self.view,
                found: self.proposer,
            });
        }
        Ok(())
    }
}

/// The leader of `view`: validators take turns in genesis order.
pub fn leader(genesis: &Genesis, view: u64) -> &PublicKey {
    let count = genesis.validators.len() as u64;
    // The index is below the validator count, which genesis bounds far below usize::MAX.
    &genesis.validators[(view % count) as usize].public_key
}

impl Body {
    /// The canonical bytes: a u32 count, then each envelope.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut writer = Writer::new();
        let count = u32::try_from(self.transactions.len()).expect("bodies are bounded");
        writer.u32(count);
        for envelope in &self.transactions {
            envelope.encode_into(&mut writer);
        }
        writer.finish()
    }

    /// Decodes canonical body bytes, within [`MAX_BLOCK_BODY_BYTES`] and
    /// [`MAX_BLOCK_TRANSACTIONS`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Body, DecodeError> {
        if bytes.len() > MAX_BLOCK_BODY_BYTES {
            return Err(DecodeError::TooLong {
                field: "body",
                max: MAX_BLOCK_BODY_BYTES,
                found: bytes.len(),
            });
        }
        let mut reader = Reader::new(bytes);
        let count = reader.u32("tx_count")? as usize;
        if count > MAX_BLOCK_TRANSACTIONS {
            return Err(DecodeError::TooLong {
                field: "tx_count",
                max: MAX_BLOCK_TRANSACTIONS,
                found: count,
            });
        }
        let mut transactions = Vec::with_capacity(count.min(reader.remaining() / 100 + 1));
        for _ in 0..count {
            transactions.push(Envelope::decode_from(&mut reader)?);
        }
        reader.finish()?;
        Ok(Body { transactions })
    }

    /// The body hash the header carries.
    pub fn hash(&self) -> Hash32 {
        hash_parts("suyuan block body v1", &[&self.to_bytes()])
    }
}

impl Block {
    /// Assembles a block, computing the header's count and body hash; `trees` are what
    /// committing it gives ([`crate::trees::grow`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        chain_id: &str,
        height: u64,
        view: u64,
        parent: BlockHash,
        time_ms: u64,
        proposer: PublicKey,
        body: Body,
        trees: TreeHeads,
    ) -> Result<Block, BlockError> {
        if body.transactions.len() > MAX_BLOCK_TRANSACTIONS {
            return Err(BlockError::TooManyTransactions {
                max: MAX_BLOCK_TRANSACTIONS,
                found: body.transactions.len(),
            });
        }
        let header = Header {
            chain_id: chain_id.to_owned(),
            height,
            view,
            parent,
            time_ms,
            proposer,
            tx_count: body.transactions.len() as u32,
            body_hash: body.hash(),
            trees,
        };
        Ok(Block { header, body })
    }

    /// The block hash.
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    /// Checks that the header's tree roots are `computed`.
    pub fn check_trees(&self, computed: &TreeHeads) -> Result<(), BlockError> {
        let found = &self.header.trees;
        let mismatch = |field, expected: String, found: String| BlockError::TreesMismatch {
            field,
            expected,
            found,
        };
        if found.log_size != computed.log_size {
            return Err(mismatch(
                "log_size",
                computed.log_size.to_string(),
                found.log_size.to_string(),
            ));
        }
        if found.log_root != computed.log_root {
            return Err(mismatch(
                "log_root",
                computed.log_root.to_string(),
                found.log_root.to_string(),
            ));
        }
        if found.map_root != computed.map_root {
            return Err(mismatch(
                "map_root",
                computed.map_root.to_string(),
                found.map_root.to_string(),
            ));
        }
        Ok(())
    }

    /// Checks that the body is the one the header commits to.
    pub fn check_body(&self) -> Result<(), BlockError> {
        let count_ok = self.header.tx_count as usize == self.body.transactions.len();
        if !count_ok || self.header.body_hash != self.body.hash() {
            return Err(BlockError::BodyMismatch);
        }
        Ok(())
    }
}
