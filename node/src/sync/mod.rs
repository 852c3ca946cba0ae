//! Catch up on blocks this node missed, and serve peers' catch-up from storage, so that neither
//! side can be stalled or exhausted by a faulty peer.
//!
//! - Catching up ([`catchup`]): the node walks one peer's chain from its committed head, page
//!   by page, checking every block as it arrives against the one before it and the genesis
//!   validators; a block is committed only once a checked finalization at or above it proves it
//!   final. A run of notarized blocks longer than one response is carried across responses, so
//!   catch-up always advances while one honest peer holds a finalized block above the head (the
//!   argument is in [`catchup`]'s docs).
//! - Serving ([`serve`]): a peer's requests are served one at a time (one more may wait; the
//!   rest are refused at once), at most [`SYNC_SERVE_BYTES_PER_SECOND`] of blocks are read for
//!   it, and a read stops as soon as the response is as large as the peer's budget allows.
//!
//! # Driving it
//!
//! The driver owns one [`BlockSync`] and calls it from its one task:
//!
//! 1. [`BlockSync::connected`] / [`BlockSync::disconnected`] as validators come and go;
//! 2. on its sync tick and after each answer that made progress, [`BlockSync::next_request`]
//!    with the committed head; it sends the [`Request`] and reports its id with
//!    [`BlockSync::sent`];
//! 3. on a block response, [`BlockSync::answered`] to match it, then [`BlockSync::on_blocks`];
//!    it commits the [`Answer`]'s blocks in order (each already checked and known final, the
//!    first extending the head), and acts on its [`Outcome`]; a block it cannot commit it
//!    reports with [`BlockSync::forget_run`];
//! 4. on a failed request, [`BlockSync::take_answer`];
//! 5. on a peer's block request, [`BlockSync::serve`], which answers off the driver's task.
//!
//! A peer can make this node waste a request, never store a block that is not final: every
//! block must extend the one before it (the first extends the head), carry the body its header
//! names, and be justified by the one rule of [`suyuan_proofs::finality`], and it is committed
//! only behind a checked finalization ([`ends_run`]) on the same hash-linked chain.

mod catchup;
mod serve;

use std::sync::Arc;
use std::time::{Duration, Instant};

use suyuan_ledger::block::{Block, BlockError, BlockHash};
use suyuan_ledger::codec::DecodeError;
use suyuan_proofs::finality::{Consortium, JustificationError, Required};
use suyuan_storage::Store;

use crate::chain::Chain;
use crate::frames::SyncedBlock;
use crate::network::{
    BlockReply, NetworkHandle, SYNC_REQUEST_TIMEOUT, SyncRequestId, ValidatorPeer,
};

pub use catchup::{
    Answer, MAX_SYNC_HELD_BLOCKS, MAX_SYNC_HELD_BYTES, MAX_SYNC_TRACKED_BLOCKS, Outcome, SyncLimits,
};
pub use serve::{
    SYNC_BLOCK_READ_COST_BYTES, SYNC_RESPONSE_FRAMING_BYTES, SYNC_RESPONSE_TARGET_BYTES,
    SYNC_SERVE_BURST_BYTES, SYNC_SERVE_BYTES_PER_SECOND, SYNC_SERVE_REQUESTS_PER_PEER, ServeBudget,
    ServeRefusal,
};

/// Blocks asked for in one sync request.
pub const SYNC_BATCH: u32 = 32;

/// How often the driver checks whether it must sync.
pub const SYNC_TICK: Duration = Duration::from_millis(500);

/// A block as catch-up links the next one to it: its height, hash and the view it was proposed
/// in (which the next block's certificate names as its parent's view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    /// Its height; 0 for genesis.
    pub height: u64,
    /// Its hash; the genesis hash at height 0.
    pub hash: BlockHash,
    /// The view it was proposed in; 0 for genesis.
    pub view: u64,
}

impl Tip {
    /// The committed head of `chain`.
    pub fn head_of(chain: &Chain) -> Tip {
        let head = chain.head();
        Tip {
            height: head.height,
            hash: head.hash,
            view: chain.head_header().map_or(0, |header| header.view),
        }
    }

    /// The tip `block` makes.
    pub fn of(block: &Block) -> Tip {
        Tip {
            height: block.header.height,
            hash: block.hash(),
            view: block.header.view,
        }
    }
}

/// One block request to send: to which validator, from which height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The validator to ask, by genesis index.
    pub peer: usize,
    /// The first height wanted.
    pub from_height: u64,
}

/// Why synced blocks were refused; nothing of them was committed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A blob does not decode to a block and its justification.
    #[error("a synced block does not decode: {source}")]
    Decode {
        /// Why.
        source: DecodeError,
    },
    /// A block does not extend the one before it (the head, for the first).
    #[error("synced block {height} does not extend {expected}")]
    DoesNotExtend {
        /// Its height.
        height: u64,
        /// The hash it should name as parent.
        expected: BlockHash,
    },
    /// A block's body is not the one its header names.
    #[error("synced block {height}'s body does not match its header: {source}")]
    Body {
        /// Its height.
        height: u64,
        /// Why.
        source: BlockError,
    },
    /// A block's justification does not justify it.
    #[error("synced block {height}'s justification: {source}")]
    Justification {
        /// Its height.
        height: u64,
        /// Why.
        source: JustificationError,
    },
    /// A certified block at a height where a checked finalization already proved another
    /// block final: the peer serves a branch that was abandoned.
    #[error("synced block {height} is not the block {expected} proven final at that height")]
    NotFinal {
        /// Its height.
        height: u64,
        /// The final block's hash.
        expected: BlockHash,
    },
}

/// Whether a synced block claims a finalization, which proves it and its ancestors final once
/// it is checked ([`check_next`]).
pub fn ends_run(synced: &SyncedBlock) -> bool {
    synced.justification.is_finalization()
}

/// Checks one synced block against `parent`, the block before it: it links to it, carries its
/// header's body, and is justified by its certificate and nullifications.
pub fn check_next(
    consortium: &Consortium,
    parent: &Tip,
    synced: &SyncedBlock,
) -> Result<(), SyncError> {
    let header = &synced.block.header;
    let height = header.height;
    if header.parent != parent.hash || height != parent.height.wrapping_add(1) {
        return Err(SyncError::DoesNotExtend {
            height,
            expected: parent.hash,
        });
    }
    // The certificates sign the header; the body is bound to it only by its hash.
    synced
        .block
        .check_body()
        .map_err(|source| SyncError::Body { height, source })?;
    consortium
        .check(
            header,
            Some(parent.view),
            &synced.justification,
            Required::Notarization,
        )
        .map_err(|source| SyncError::Justification { height, source })?;
    Ok(())
}

/// Checks a run of synced blocks that should extend `head`, the committed head, each by
/// [`check_next`] against the one before.
pub fn check_run(consortium: &Consortium, head: Tip, run: &[SyncedBlock]) -> Result<(), SyncError> {
    let mut parent = head;
    for synced in run {
        check_next(consortium, &parent, synced)?;
        parent = Tip::of(&synced.block);
    }
    Ok(())
}

/// Block sync's state: who is connected, the one request outstanding, catch-up's unfinished
/// run and what is known final above the head, and the serving budgets of peers.
#[derive(Debug)]
pub struct BlockSync {
    /// The outstanding request: its id, what it asked and when it was sent.
    in_flight: Option<(SyncRequestId, Request, Instant)>,
    /// Peers asked so far, for round-robin.
    next_peer: usize,
    /// Whether sync should continue: set when this node is known to be behind.
    pub wanted: bool,
    /// The highest height known to exist.
    pub target: u64,
    /// Connected validators, by genesis index, ascending.
    connected: Vec<usize>,
    /// Catch-up's progress across responses.
    catchup: catchup::Catchup,
    /// Walks in a row that ended without reaching a finalization; after one per connected
    /// peer, catch-up rests until consensus wants blocks again.
    fruitless: usize,
    /// Serving peers' requests.
    server: serve::BlockServer,
}

impl Default for BlockSync {
    /// A node that has just started wants to sync until a peer says it has nothing newer.
    fn default() -> Self {
        BlockSync::with_limits(SyncLimits::default())
    }
}

impl BlockSync {
    /// Block sync holding at most what `limits` allows of an unfinished run.
    pub fn with_limits(limits: SyncLimits) -> Self {
        BlockSync {
            in_flight: None,
            next_peer: 0,
            wanted: true,
            target: 0,
            connected: Vec::new(),
            catchup: catchup::Catchup::new(limits),
            fruitless: 0,
            server: serve::BlockServer::default(),
        }
    }

    /// Validator `index` connected.
    pub fn connected(&mut self, index: usize) {
        if let Err(position) = self.connected.binary_search(&index) {
            self.connected.insert(position, index);
        }
    }

    /// Validator `index` disconnected.
    pub fn disconnected(&mut self, index: usize) {
        self.connected.retain(|connected| *connected != index);
    }

    /// Validators connected now.
    pub fn peers(&self) -> usize {
        self.connected.len()
    }

    /// Whether a request is outstanding.
    pub fn in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// The request to send now, if this node wants blocks and none is outstanding (one that
    /// timed out is forgotten, with the run it was extending). An unfinished run is continued
    /// from the peer that serves it, after its last block; otherwise peers are asked in turn
    /// from just above `head`, the committed head.
    pub fn next_request(&mut self, head: Tip) -> Option<Request> {
        if let Some((_, request, sent)) = self.in_flight {
            if sent.elapsed() < SYNC_REQUEST_TIMEOUT {
                return None;
            }
            self.in_flight = None;
            self.catchup.abandon(request.peer);
        }
        if !self.wanted || self.connected.is_empty() {
            return None;
        }
        self.catchup.reconcile(head);
        let peer = match self.catchup.walk_peer() {
            Some(peer) if self.connected.contains(&peer) => peer,
            walking => {
                if let Some(peer) = walking {
                    self.catchup.abandon(peer);
                }
                let peer = self.connected[self.next_peer % self.connected.len()];
                self.next_peer = self.next_peer.wrapping_add(1);
                peer
            }
        };
        Some(Request {
            peer,
            from_height: self.catchup.next_height(),
        })
    }

    /// `request` went out as `id`.
    pub fn sent(&mut self, id: SyncRequestId, request: Request) {
        self.in_flight = Some((id, request, Instant::now()));
    }

    /// What the outstanding request asked, if `id` is it; it is answered now.
    pub fn answered(&mut self, id: SyncRequestId) -> Option<Request> {
        match self.in_flight {
            Some((outstanding, request, _)) if outstanding == id => {
                self.in_flight = None;
                Some(request)
            }
            _ => None,
        }
    }

    /// Whether `id` is the outstanding request; if so it failed, and the run it was extending
    /// is dropped (what is proven final is kept).
    pub fn take_answer(&mut self, id: SyncRequestId) -> bool {
        match self.answered(id) {
            Some(request) => {
                self.catchup.abandon(request.peer);
                true
            }
            None => false,
        }
    }

    /// Checks the blocks a peer sent for `request`, with `head` the committed head, and says
    /// which to commit now and what to do next.
    pub fn on_blocks(
        &mut self,
        consortium: &Consortium,
        head: Tip,
        request: Request,
        blobs: Vec<Vec<u8>>,
    ) -> Answer {
        let mut answer = self.catchup.on_blocks(consortium, head, request, blobs);
        self.target = self.target.max(self.catchup.known_height());
        if !answer.commit.is_empty() {
            self.fruitless = 0;
        }
        if matches!(answer.outcome, Outcome::Unfinished) {
            self.fruitless += 1;
            if self.fruitless >= self.connected.len() {
                // Every peer was asked and none had a finalization above the head.
                self.fruitless = 0;
                answer.outcome = Outcome::CaughtUp;
            }
        }
        answer
    }

    /// Drops the unfinished run and what is known final above the head: a block handed out
    /// to commit could not be committed.
    pub fn forget_run(&mut self) {
        self.catchup.forget();
    }

    /// Answers validator `from`'s request for up to `max_blocks` blocks from `from_height`,
    /// off the driver's task, after `from`'s earlier request and within its serving budget
    /// ([`serve`]); refused at once (its `reply` dropped) while [`SYNC_SERVE_REQUESTS_PER_PEER`]
    /// of `from`'s requests are admitted.
    pub fn serve(
        &self,
        store: Arc<Store>,
        network: NetworkHandle,
        from: ValidatorPeer,
        from_height: u64,
        max_blocks: u32,
        reply: BlockReply,
    ) {
        self.server
            .serve(store, network, from, from_height, max_blocks, reply);
    }
}
