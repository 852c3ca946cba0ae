//! Hold the blocks consensus is deciding on, over the committed store.
//!
//! Consensus orders digests; this module gives them contents. A block proposed or verified by
//! this node is executed at once, over the committed state plus the write sets of its
//! not-yet-finalized ancestors ([`Layered`]), and kept as a [`Pending`] block. Nothing reaches
//! the store until consensus finalizes the block: then [`Chain::commit`] writes block,
//! justification and write set in one synced batch. Blocks that lose (their view was
//! nullified, a sibling was finalized) are dropped when their height is committed.
//!
//! Executing a block also grows the proof trees ([`suyuan_ledger::trees::grow`]) from its
//! parent's: the log's right edge ([`Frontier`]) and the code map read through the pending
//! ancestors' map updates ([`MapOverlay`]) over the committed map (the store's, its upper levels
//! in memory). A proposal's header carries the roots this gives; a received block whose header
//! says otherwise is refused.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use suyuan_consensus::Digest;
use suyuan_ledger::block::{Block, BlockError, BlockHash, Body, Header, Parent};
use suyuan_ledger::crypto::PublicKey;
use suyuan_ledger::exec::{BlockContext, BlockExecError, ExecError, Executor, execute_block};
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::merkle::log::Frontier;
use suyuan_ledger::merkle::map::MapOverlay;
use suyuan_ledger::state::{StateError, StateKey, StateRead, StateValue, WriteSet};
use suyuan_ledger::trees::{self, BlockTrees, LedgerHash, TreesError};
use suyuan_ledger::tx::{TxError, TxId, VerifiedTx};
use suyuan_storage::{Head, StorageError, Store, TreeWrites};

use suyuan_ledger::signatures::verify_all;
use suyuan_proofs::finality::consensus_block;

/// The transactions of a block body that this node verified already (its pool holds them), one
/// slot per body transaction in order, copied out of the pool so that no lock is held while the
/// block is checked and executed ([`crate::admission::Admission::preverified`]).
#[derive(Debug, Default)]
pub struct Preverified(pub Vec<Option<VerifiedTx>>);

/// A block executed over its ancestors and waiting for finalization.
#[derive(Debug)]
pub struct Pending {
    /// The block.
    pub block: Block,
    /// Its transactions, verified, in body order.
    pub txs: Vec<VerifiedTx>,
    /// What executing it over its parent's state writes.
    pub writes: WriteSet,
    /// What it does to the proof trees.
    pub trees: BlockTrees,
    /// When this node built or received it: a leader times its child from here, never from a
    /// block time that may be ahead of its own clock.
    pub learned: Instant,
}

/// Why a proposed block is refused.
#[derive(Debug, thiserror::Error)]
pub enum InvalidBlock {
    /// The header does not fit its parent, or the body its header.
    #[error(transparent)]
    Shape(#[from] BlockError),
    /// The header's hash is not the digest consensus names.
    #[error("block hash {found} is not the digest consensus names")]
    WrongDigest {
        /// The hash of the header received.
        found: BlockHash,
    },
    /// Height, view or parent differ from what consensus names.
    #[error("header {field} differs from the consensus block")]
    Mismatch {
        /// Which field.
        field: &'static str,
    },
    /// A transaction's envelope does not verify.
    #[error("transaction {index} of the block does not verify: {error}")]
    Envelope {
        /// Its index.
        index: usize,
        /// Why.
        error: TxError,
    },
    /// A transaction breaks a ledger rule.
    #[error(transparent)]
    Execution(#[from] BlockExecError),
    /// The proof trees could not be grown from the stored ones.
    #[error("the block's proof trees cannot be computed: {0}")]
    Trees(#[from] TreesError),
}

/// Why a block cannot be judged yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undecided {
    /// Its parent is neither committed nor pending here: wait, or sync.
    UnknownParent,
    /// The stored proof trees could not be read (a storage failure, reported, not a verdict on
    /// the block).
    Trees(TreesError),
    /// Committed state could not be read while executing the block (a storage failure,
    /// reported, not a verdict on the block or on any of its transactions).
    State(StateError),
}

/// Reads the committed state through the write sets of pending ancestors, newest first.
pub struct Layered<'a> {
    layers: Vec<&'a WriteSet>,
    base: &'a Store,
}

impl StateRead for Layered<'_> {
    fn get(&self, key: &StateKey) -> Result<Option<StateValue>, StateError> {
        for layer in &self.layers {
            if let Some(value) = layer.get(key) {
                return Ok(value.clone());
            }
        }
        self.base.get(key)
    }
}

/// The committed chain and the pending blocks above it.
pub struct Chain {
    store: Arc<Store>,
    genesis: Arc<Genesis>,
    /// The committed head's header; `None` at height 0.
    head_header: Option<Header>,
    /// The log's right edge at the committed head.
    frontier: Frontier<LedgerHash>,
    pending: HashMap<BlockHash, Pending>,
    /// When the committed head was committed (or the chain opened).
    head_learned: Instant,
}

impl Chain {
    /// The chain over `store`, with nothing pending.
    pub fn new(store: Arc<Store>, genesis: Arc<Genesis>) -> Result<Chain, StorageError> {
        let head = store.head();
        let head_header = if head.height == 0 {
            None
        } else {
            store.header(head.height)?
        };
        let frontier = store.log_frontier()?;
        Ok(Chain {
            store,
            genesis,
            head_header,
            frontier,
            pending: HashMap::new(),
            head_learned: Instant::now(),
        })
    }

    /// The committed head.
    pub fn head(&self) -> Head {
        self.store.head()
    }

    /// The committed head's header; `None` at height 0.
    pub fn head_header(&self) -> Option<&Header> {
        self.head_header.as_ref()
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// A pending block.
    pub fn pending(&self, hash: &BlockHash) -> Option<&Pending> {
        self.pending.get(hash)
    }

    /// When this node learned block `hash`, the committed head or a pending block: when it
    /// was built, received, or committed.
    pub fn learned(&self, hash: &BlockHash) -> Option<Instant> {
        if let Some(pending) = self.pending.get(hash) {
            return Some(pending.learned);
        }
        (*hash == self.store.head().hash).then_some(self.head_learned)
    }

    /// How many blocks are pending.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// The header a child of `parent` must extend, and the pending ancestors from `parent`
    /// down to the committed head (newest first), or why there is none.
    fn ancestry(&self, parent: &BlockHash) -> Result<(Parent<'_>, Vec<&Pending>), Undecided> {
        let head = self.store.head();
        let mut chain = Vec::new();
        let mut cursor = *parent;
        while cursor != head.hash {
            let pending = self.pending.get(&cursor).ok_or(Undecided::UnknownParent)?;
            if pending.block.header.height <= head.height {
                return Err(Undecided::UnknownParent);
            }
            cursor = pending.block.header.parent;
            chain.push(pending);
        }
        let parent = match chain.first() {
            Some(pending) => Parent::Block(&pending.block.header),
            None => match &self.head_header {
                Some(header) => Parent::Block(header),
                None => Parent::Genesis(&self.genesis),
            },
        };
        Ok((parent, chain))
    }

    /// Grows the proof trees of `ancestors` (newest first; the committed trees when empty) by
    /// block `height`'s transactions.
    fn grow_trees(
        &self,
        ancestors: &[&Pending],
        height: u64,
        txs: &[VerifiedTx],
    ) -> Result<BlockTrees, TreesError> {
        let frontier = ancestors
            .first()
            .map_or(&self.frontier, |parent| &parent.trees.frontier);
        let committed = self.store.map_reader();
        let map = MapOverlay {
            pending: ancestors
                .iter()
                .rev()
                .map(|pending| &pending.trees.map)
                .collect(),
            base: &committed,
        };
        trees::grow(frontier, &map, height, txs)
    }

    /// Builds this node's proposal for `view` on `parent` from the oldest pending
    /// transactions that still execute, and keeps it pending. Transactions that no longer
    /// pass the rules are returned with their error, for the pool to drop.
    ///
    /// Candidates are executed in order until executing them has taken `budget`: the rest stay
    /// in the pool for the next block. Every follower executes the block again before its
    /// leader timeout runs out, so a block's size follows what execution costs now (more as
    /// state outgrows the caches) instead of a fixed count alone.
    ///
    /// The block's time is `max(now_ms, parent's time + 1)`: block times strictly increase,
    /// and a leader whose clock is behind its parent's time still proposes at once.
    #[allow(clippy::too_many_arguments)]
    pub fn propose(
        &mut self,
        view: u64,
        parent: &BlockHash,
        proposer: PublicKey,
        now_ms: u64,
        budget: Duration,
        candidates: impl FnOnce(&HashSet<TxId>) -> Vec<VerifiedTx>,
    ) -> Result<(Block, Vec<(TxId, ExecError)>), Undecided> {
        let (parent_header, ancestors) = self.ancestry(parent)?;
        let (height, parent_time) = match parent_header {
            Parent::Genesis(genesis) => (1, genesis.genesis_time_ms),
            Parent::Block(header) => (header.height + 1, header.time_ms),
        };
        let time_ms = now_ms.max(parent_time.saturating_add(1));
        let in_ancestors: HashSet<TxId> = ancestors
            .iter()
            .flat_map(|pending| pending.txs.iter().map(|tx| tx.id))
            .collect();
        let candidates = candidates(&in_ancestors);
        let state = Layered {
            layers: ancestors.iter().map(|pending| &pending.writes).collect(),
            base: &self.store,
        };
        let context = BlockContext {
            genesis: &self.genesis,
            height,
            time_ms,
        };
        let mut executor = Executor::new(&state, context);
        let mut txs = Vec::with_capacity(candidates.len());
        let mut refused = Vec::new();
        let started = Instant::now();
        for (done, tx) in candidates.into_iter().enumerate() {
            // Reading the clock is cheap next to executing, but not free: look every 64.
            if done % 64 == 63 && started.elapsed() >= budget {
                break;
            }
            match executor.apply(&tx) {
                Ok(()) => txs.push(tx),
                // The store failed, not the transaction: give up the proposal, drop nothing.
                Err(ExecError::State(error)) => return Err(Undecided::State(error)),
                Err(error) => refused.push((tx.id, error)),
            }
        }
        let writes = executor.finish();
        let trees = self
            .grow_trees(&ancestors, height, &txs)
            .map_err(Undecided::Trees)?;
        let body = Body {
            transactions: txs.iter().map(|tx| tx.envelope.clone()).collect(),
        };
        let block = Block::new(
            &self.genesis.chain_id,
            height,
            view,
            *parent,
            time_ms,
            proposer,
            body,
            trees.heads,
        )
        .expect("candidates are bounded below the block limit");
        self.pending.insert(
            block.hash(),
            Pending {
                block: block.clone(),
                txs,
                writes,
                trees,
                learned: Instant::now(),
            },
        );
        Ok((block, refused))
    }

    /// Checks a block received for `expected` (the block consensus asks about) and, when it
    /// is valid, executes it and keeps it pending. The transactions in `known` (this node's
    /// pool already verified them) are not verified again.
    ///
    /// The block's time is not judged against this node's clock here: whether to vote for a
    /// block from the future is the driver's decision, and such a block is still kept, so that
    /// a node whose own clock is behind can commit it and build on it once others finalize it.
    pub fn check_proposal(
        &mut self,
        block: Block,
        expected: &suyuan_consensus::Block,
        known: Preverified,
    ) -> Result<Result<(), InvalidBlock>, Undecided> {
        let hash = block.hash();
        if self.pending.contains_key(&hash) {
            return Ok(Ok(()));
        }
        if hash.as_bytes() != &expected.digest().0 {
            return Ok(Err(InvalidBlock::WrongDigest { found: hash }));
        }
        let header = &block.header;
        if header.height != expected.height().0 {
            return Ok(Err(InvalidBlock::Mismatch { field: "height" }));
        }
        if header.view != expected.view().0 {
            return Ok(Err(InvalidBlock::Mismatch { field: "view" }));
        }
        if header.parent.as_bytes() != &expected.parent().0 {
            return Ok(Err(InvalidBlock::Mismatch { field: "parent" }));
        }
        let (parent, ancestors) = self.ancestry(&header.parent)?;
        if let Err(error) = header.check_extends(parent, &self.genesis) {
            return Ok(Err(error.into()));
        }
        if let Err(error) = block.check_body() {
            return Ok(Err(error.into()));
        }
        let txs = match self.verified_txs(&block.body, known) {
            Ok(txs) => txs,
            Err(error) => return Ok(Err(error)),
        };
        let state = Layered {
            layers: ancestors.iter().map(|pending| &pending.writes).collect(),
            base: &self.store,
        };
        let context = BlockContext {
            genesis: &self.genesis,
            height: header.height,
            time_ms: header.time_ms,
        };
        let writes = match execute_block(&state, context, &txs) {
            Ok(writes) => writes,
            Err(BlockExecError {
                error: ExecError::State(error),
                ..
            }) => return Err(Undecided::State(error)),
            Err(error) => return Ok(Err(error.into())),
        };
        let trees = self
            .grow_trees(&ancestors, header.height, &txs)
            .map_err(Undecided::Trees)?;
        if let Err(error) = block.check_trees(&trees.heads) {
            return Ok(Err(error.into()));
        }
        self.pending.insert(
            hash,
            Pending {
                block,
                txs,
                writes,
                trees,
                learned: Instant::now(),
            },
        );
        Ok(Ok(()))
    }

    /// The body's transactions verified: taken from `known` when it holds exactly that
    /// envelope, checked here when it does not.
    fn verified_txs(
        &self,
        body: &Body,
        known: Preverified,
    ) -> Result<Vec<VerifiedTx>, InvalidBlock> {
        let chain = self.store.binding();
        let mut slots: Vec<Option<VerifiedTx>> = Vec::with_capacity(body.transactions.len());
        let mut missing = Vec::new();
        let mut known = known.0.into_iter();
        for (index, envelope) in body.transactions.iter().enumerate() {
            match known.next().flatten() {
                Some(tx) if &tx.envelope == envelope => slots.push(Some(tx)),
                _ => {
                    slots.push(None);
                    missing.push(index);
                }
            }
        }
        if !missing.is_empty() {
            let envelopes = missing
                .iter()
                .map(|&index| body.transactions[index].clone())
                .collect();
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
            for (&index, result) in missing.iter().zip(verify_all(envelopes, chain, cores)) {
                slots[index] =
                    Some(result.map_err(|error| InvalidBlock::Envelope { index, error })?);
            }
        }
        Ok(slots
            .into_iter()
            .map(|slot| slot.expect("every slot is filled"))
            .collect())
    }

    /// Executes a finalized block received by block sync over the committed head, verifying
    /// every signature, and keeps it pending for [`Chain::commit`].
    pub fn adopt_synced(&mut self, block: Block, known: Preverified) -> Result<(), InvalidBlock> {
        let hash = block.hash();
        if self.pending.contains_key(&hash) {
            return Ok(());
        }
        let parent = match &self.head_header {
            Some(header) => Parent::Block(header),
            None => Parent::Genesis(&self.genesis),
        };
        block.header.check_extends(parent, &self.genesis)?;
        block.check_body()?;
        let txs = self.verified_txs(&block.body, known)?;
        let context = BlockContext {
            genesis: &self.genesis,
            height: block.header.height,
            time_ms: block.header.time_ms,
        };
        let writes = execute_block(&*self.store, context, &txs)?;
        let trees = self.grow_trees(&[], block.header.height, &txs)?;
        block.check_trees(&trees.heads)?;
        self.pending.insert(
            hash,
            Pending {
                block,
                txs,
                writes,
                trees,
                learned: Instant::now(),
            },
        );
        Ok(())
    }

    /// Commits the pending block `hash`, which must extend the committed head, with its
    /// justification bytes; drops pending blocks that can no longer be finalized. Returns the
    /// committed transactions' ids.
    pub fn commit(
        &mut self,
        hash: &BlockHash,
        justification: &[u8],
    ) -> Result<Vec<TxId>, CommitError> {
        let pending = self.pending.get(hash).ok_or(CommitError::NotPending)?;
        self.store.commit_block(
            &pending.block,
            &pending.txs,
            justification,
            &pending.writes,
            &TreeWrites::from(&pending.trees),
        )?;
        let pending = self.pending.remove(hash).expect("checked above");
        self.frontier = pending.trees.frontier.clone();
        let height = pending.block.header.height;
        self.pending
            .retain(|_, other| other.block.header.height > height);
        let ids = pending.txs.iter().map(|tx| tx.id).collect();
        self.head_header = Some(pending.block.header);
        self.head_learned = Instant::now();
        Ok(ids)
    }

    /// The consensus block of the committed head (genesis at height 0).
    pub fn head_consensus_block(&self) -> Result<suyuan_consensus::Block, StorageError> {
        let head = self.store.head();
        let Some(header) = &self.head_header else {
            return Ok(suyuan_consensus::Block::genesis(Digest(
                *self.genesis.hash().as_bytes(),
            )));
        };
        let parent_view = if header.height == 1 {
            0
        } else {
            self.store
                .header(header.height - 1)?
                .map_or(0, |parent| parent.view)
        };
        debug_assert_eq!(header.hash(), head.hash, "the head header is the head's");
        Ok(consensus_block(header, parent_view)
            .expect("stored blocks have views above their parents'"))
    }
}

/// Why a finalized block could not be committed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// This node does not hold the block's contents.
    #[error("the block is not pending here")]
    NotPending,
    /// The store refused or failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
