//! Walk a peer's chain from the committed head across as many responses as it takes, and hand
//! out blocks to commit once a checked finalization proves them final.
//!
//! # What is kept between responses
//!
//! - the **walk**: the blocks checked so far above the head, all served by one peer (the one
//!   asked for the next page, from just above the walk's last block). The first
//!   [`SyncLimits::held_blocks`] / [`SyncLimits::held_bytes`] of them are held whole; of the
//!   first [`SyncLimits::tracked_blocks`] only the hash and view are kept; of the rest, only
//!   the last. A block is checked ([`super::check_next`]) before anything of it is kept, so
//!   memory never holds an unchecked block.
//! - **confirmed**: the hashes of blocks just above the head that a finalization proved final
//!   but that were not held; they are fetched again (from any peer) and each is committed as
//!   soon as it arrives, checks, and has the confirmed hash.
//! - the **anchor**: a block proven final above the confirmed ones, when a walk went further
//!   than it could track. A later walk that reaches the anchor's height must have the anchor's
//!   hash there (else the peer is refused), and reaching it proves that walk final.
//!
//! When a checked block carries a finalization, or is the anchor, every block of the walk is
//! final (each names its parent's hash, and a finalized block's ancestors are final): the held
//! blocks are handed out to commit, the other tracked ones become confirmed, and a final block
//! beyond the tracked ones becomes the anchor.
//!
//! # Why catch-up always advances
//!
//! 1. An honest validator stores only what consensus finalized: a block with its finalization
//!    and, before it, the ancestors that finalization settled, with their notarizations. So
//!    below the highest finalization-carrying block of an honest store, every block has one at
//!    or above it; a notarized-only tail above it can exist only briefly (contents still being
//!    fetched, or a crash between commits).
//! 2. A walk with an honest peer whose store has a finalization-carrying block F above this
//!    node's head reaches F: the peer serves its blocks in height order, and its serving budget
//!    delays an answer but never refuses the one outstanding request ([`super::serve`]). No
//!    bound stops the walk: beyond what it can track it keeps only its last block.
//! 3. Reaching F commits the held blocks at once and confirms the tracked ones; confirmed
//!    blocks are committed as they are fetched again, since a block with a confirmed hash
//!    that checks cannot be refused. So each walk that reaches a finalization advances the
//!    head by at least `min(distance to F, tracked_blocks)` blocks; when F is further than
//!    that, F becomes the anchor and the next walk stops there, so a very long run costs more
//!    downloads, never progress.
//! 4. A faulty peer can end its walk early, lie (its walk is refused and dropped), or stall
//!    (the request times out and the walk is dropped); peers are asked in turn, and a walk
//!    follows one peer, so it cannot spoil an honest peer's walk. What is proven final
//!    (confirmed hashes, the anchor) is kept whoever proved it. With one honest connected peer
//!    holding a finalization above the head, the head advances within one turn of the peers.

use std::collections::VecDeque;

use suyuan_proofs::finality::Consortium;

use super::{Request, SyncError, Tip, check_next};
use crate::frames::SyncedBlock;
use crate::network::{MAX_SYNC_BLOB_BYTES, MAX_SYNC_RESPONSE_BYTES};

/// Bytes of checked blocks a walk holds whole, as their encoded size: two full responses, so
/// that a run one response leaves unfinished usually finishes in the next without fetching
/// anything twice.
pub const MAX_SYNC_HELD_BYTES: usize = 2 * MAX_SYNC_RESPONSE_BYTES;

/// Checked blocks a walk holds whole: bounds the per-block overhead of many small blocks, and
/// how many blocks one answer hands out to commit at once.
pub const MAX_SYNC_HELD_BLOCKS: usize = 1024;

/// Blocks of a walk whose hash and view are kept (48 bytes each, 3 MiB in all): a run of
/// notarized blocks up to this long costs at most two downloads to commit.
pub const MAX_SYNC_TRACKED_BLOCKS: usize = 65_536;

// A walk can always hold a block of the largest size, and holds only blocks it tracks.
const _: () = assert!(MAX_SYNC_HELD_BYTES >= MAX_SYNC_BLOB_BYTES);
const _: () = assert!(MAX_SYNC_HELD_BLOCKS <= MAX_SYNC_TRACKED_BLOCKS);

/// How much of an unfinished run catch-up keeps; the defaults are the `MAX_SYNC_*` constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncLimits {
    /// Bytes of checked blocks held whole, as encoded; at least one block is always held.
    pub held_bytes: usize,
    /// Checked blocks held whole; at least 1.
    pub held_blocks: usize,
    /// Blocks whose hash and view are kept; at least `held_blocks`.
    pub tracked_blocks: usize,
}

impl Default for SyncLimits {
    fn default() -> Self {
        SyncLimits {
            held_bytes: MAX_SYNC_HELD_BYTES,
            held_blocks: MAX_SYNC_HELD_BLOCKS,
            tracked_blocks: MAX_SYNC_TRACKED_BLOCKS,
        }
    }
}

/// What to do after a response: the blocks to commit now, in order, and what comes next.
#[derive(Debug)]
pub struct Answer {
    /// Checked blocks proven final; the first extends the head the response was checked
    /// against, each the one before. Commit them in order, and report a failure with
    /// [`super::BlockSync::forget_run`].
    pub commit: Vec<SyncedBlock>,
    /// What comes next.
    pub outcome: Outcome,
}

/// What the driver does after a response.
#[derive(Debug)]
pub enum Outcome {
    /// Blocks were checked (and perhaps committed): ask for the next page now.
    Progress,
    /// The response answers a request that no longer fits catch-up's state (the head moved
    /// while it was in flight): it was ignored; ask again now.
    Stale,
    /// The peer has nothing above the head, or no peer had a finalization above it: this node
    /// is as far as its peers can take it.
    CaughtUp,
    /// The peer's chain ended before a finalization proved the run final; the run was dropped
    /// and the next peer is asked on the next tick.
    Unfinished,
    /// The peer sent a block that fails its checks; the rest of the response and the peer's
    /// run were dropped, and the next peer is asked on the next tick.
    Refused(SyncError),
}

/// Catch-up's state between responses; see the module docs.
#[derive(Debug)]
pub(super) struct Catchup {
    limits: SyncLimits,
    /// The head once the blocks handed out so far are committed; `None` before the first call.
    base: Option<Tip>,
    /// Final blocks at the heights just above `base`, to fetch again and commit.
    confirmed: VecDeque<Tip>,
    /// A final block above the confirmed ones.
    anchor: Option<Tip>,
    /// The run being walked; only when `confirmed` is empty, so it starts just above `base`.
    walk: Option<Walk>,
}

/// Checked blocks above the head, served by one peer, not yet proven final.
#[derive(Debug)]
struct Walk {
    /// The validator serving it.
    peer: usize,
    /// The first blocks, whole.
    held: Vec<SyncedBlock>,
    /// Their encoded size.
    held_bytes: usize,
    /// Whether every block so far is held.
    holding: bool,
    /// The first blocks' tips; `held` are the first of them.
    tracked: Vec<Tip>,
    /// Whether every block so far is tracked.
    tracking: bool,
    /// The last block checked.
    tip: Tip,
}

/// Whether to go on with a response's next block.
enum Flow {
    Continue,
    /// Blocks proven final must be fetched again first: the rest of the response extends a
    /// block that is neither committed nor held.
    Refetch,
}

impl Catchup {
    /// Nothing walked or known yet.
    pub(super) fn new(limits: SyncLimits) -> Self {
        Catchup {
            limits: SyncLimits {
                held_blocks: limits.held_blocks.max(1),
                tracked_blocks: limits.tracked_blocks.max(limits.held_blocks).max(1),
                ..limits
            },
            base: None,
            confirmed: VecDeque::new(),
            anchor: None,
            walk: None,
        }
    }

    /// Brings the state to `head`, the committed head: if something other than catch-up moved
    /// it (consensus committed, or a handed-out block was not committed), the walk is dropped
    /// and only what is proven final above the new head is kept.
    pub(super) fn reconcile(&mut self, head: Tip) {
        let Some(base) = self.base else {
            self.base = Some(head);
            return;
        };
        if base == head {
            return;
        }
        self.walk = None;
        let passed = head.height.checked_sub(base.height + 1).map(|i| i as usize);
        match passed {
            Some(index) if self.confirmed.get(index) == Some(&head) => {
                self.confirmed.drain(..=index);
            }
            _ => self.confirmed.clear(),
        }
        self.base = Some(head);
        self.drop_passed_anchor();
    }

    /// The last block a response's next block must extend.
    fn cursor(&self) -> Tip {
        match &self.walk {
            Some(walk) => walk.tip,
            None => self.base.expect("reconciled before use"),
        }
    }

    /// The height to ask for next.
    pub(super) fn next_height(&self) -> u64 {
        self.cursor().height + 1
    }

    /// The peer an unfinished walk follows.
    pub(super) fn walk_peer(&self) -> Option<usize> {
        self.walk.as_ref().map(|walk| walk.peer)
    }

    /// The highest height known to exist.
    pub(super) fn known_height(&self) -> u64 {
        let confirmed = self.confirmed.back().map(|tip| tip.height);
        let anchor = self.anchor.map(|tip| tip.height);
        let walked = self.walk.as_ref().map(|walk| walk.tip.height);
        [confirmed, anchor, walked]
            .into_iter()
            .flatten()
            .chain(self.base.map(|tip| tip.height))
            .max()
            .unwrap_or(0)
    }

    /// Drops `peer`'s walk: it failed, lied or stopped.
    pub(super) fn abandon(&mut self, peer: usize) {
        if self.walk_peer() == Some(peer) {
            self.walk = None;
        }
    }

    /// Drops the walk and everything known above the head.
    pub(super) fn forget(&mut self) {
        self.walk = None;
        self.confirmed.clear();
        self.anchor = None;
        self.base = None;
    }

    /// Checks a response to `request` against the state at `head`.
    pub(super) fn on_blocks(
        &mut self,
        consortium: &Consortium,
        head: Tip,
        request: Request,
        blobs: Vec<Vec<u8>>,
    ) -> Answer {
        self.reconcile(head);
        let answer = |commit, outcome| Answer { commit, outcome };
        let walking_another = self.walk_peer().is_some_and(|peer| peer != request.peer);
        if request.from_height != self.next_height() || walking_another {
            return answer(Vec::new(), Outcome::Stale);
        }
        if blobs.is_empty() {
            if self.walk.is_some() || !self.confirmed.is_empty() {
                self.abandon(request.peer);
                return answer(Vec::new(), Outcome::Unfinished);
            }
            return answer(Vec::new(), Outcome::CaughtUp);
        }
        let mut commit = Vec::new();
        for blob in blobs {
            let taken = SyncedBlock::decode(&blob)
                .map_err(|source| SyncError::Decode { source })
                .and_then(|synced| {
                    self.take(consortium, request.peer, synced, blob.len(), &mut commit)
                });
            match taken {
                Ok(Flow::Continue) => {}
                Ok(Flow::Refetch) => break,
                Err(error) => {
                    self.abandon(request.peer);
                    return answer(commit, Outcome::Refused(error));
                }
            }
        }
        answer(commit, Outcome::Progress)
    }

    /// Checks the next block of a response (`len` bytes encoded) and keeps, confirms or hands
    /// out what it can.
    fn take(
        &mut self,
        consortium: &Consortium,
        peer: usize,
        synced: SyncedBlock,
        len: usize,
        commit: &mut Vec<SyncedBlock>,
    ) -> Result<Flow, SyncError> {
        check_next(consortium, &self.cursor(), &synced)?;
        let tip = Tip::of(&synced.block);
        if let Some(confirmed) = self.confirmed.front() {
            not_final(tip, confirmed)?;
            self.confirmed.pop_front();
            self.base = Some(tip);
            commit.push(synced);
            return Ok(Flow::Continue);
        }
        if let Some(anchor) = self.anchor.filter(|anchor| anchor.height == tip.height) {
            not_final(tip, &anchor)?;
        }
        let proves_final = super::ends_run(&synced) || self.anchor == Some(tip);
        let base = self.base.expect("reconciled before use");
        let limits = self.limits;
        self.walk
            .get_or_insert_with(|| Walk::new(peer, base))
            .push(synced, tip, len, &limits);
        if proves_final {
            self.confirm(commit);
            if self.cursor() != tip {
                return Ok(Flow::Refetch);
            }
        }
        Ok(Flow::Continue)
    }

    /// The walk's last block is proven final, and with it the whole walk.
    fn confirm(&mut self, commit: &mut Vec<SyncedBlock>) {
        let walk = self.walk.take().expect("a walk was just extended");
        let held = walk.held.len();
        if let Some(last) = held.checked_sub(1) {
            self.base = Some(walk.tracked[last]);
            commit.extend(walk.held);
        }
        self.confirmed.extend(&walk.tracked[held..]);
        if !walk.tracking {
            let known = self.anchor.map_or(0, |anchor| anchor.height);
            if walk.tip.height > known {
                self.anchor = Some(walk.tip);
            }
        }
        self.drop_passed_anchor();
    }

    /// Forgets the anchor once the head or the confirmed blocks reach it.
    fn drop_passed_anchor(&mut self) {
        let covered = self
            .confirmed
            .back()
            .or(self.base.as_ref())
            .map_or(0, |tip| tip.height);
        if self.anchor.is_some_and(|anchor| anchor.height <= covered) {
            self.anchor = None;
        }
    }
}

/// Refuses `tip` unless it is `final_tip`, the block proven final at its height.
fn not_final(tip: Tip, final_tip: &Tip) -> Result<(), SyncError> {
    if tip.hash == final_tip.hash {
        return Ok(());
    }
    Err(SyncError::NotFinal {
        height: tip.height,
        expected: final_tip.hash,
    })
}

impl Walk {
    /// A walk of `peer`'s chain above `base`.
    fn new(peer: usize, base: Tip) -> Self {
        Walk {
            peer,
            held: Vec::new(),
            held_bytes: 0,
            holding: true,
            tracked: Vec::new(),
            tracking: true,
            tip: base,
        }
    }

    /// Adds a checked block, `len` bytes encoded: held while the first blocks fit `limits`,
    /// tracked while they fit, and its tip kept in any case.
    fn push(&mut self, synced: SyncedBlock, tip: Tip, len: usize, limits: &SyncLimits) {
        self.tracking &= self.tracked.len() < limits.tracked_blocks;
        if self.tracking {
            self.tracked.push(tip);
        }
        let fits = self.held.is_empty()
            || (self.held.len() < limits.held_blocks && self.held_bytes + len <= limits.held_bytes);
        self.holding &= self.tracking && fits;
        if self.holding {
            self.held.push(synced);
            self.held_bytes += len;
        }
        self.tip = tip;
    }
}
