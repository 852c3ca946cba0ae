//! Catch up on blocks this node missed: ask peers for runs of committed blocks, check each run
//! against the genesis validators before anything of it is committed, and serve peers' requests
//! from storage.
//!
//! The driver owns a [`BlockSync`] and calls it on its sync tick, on every block response and
//! when peers come and go; it commits a run only after [`check_run`] accepted all of it, so no
//! block of a run is committed unless every block of it passed these checks. A peer can make a node waste a request, never store a block
//! that is not final: every block of a run must extend the one before it (the first extends the
//! head), carry the body its header names, and be justified by the one rule of
//! [`suyuan_proofs::finality`], and the run must end in a finalization.

use std::sync::Arc;
use std::time::{Duration, Instant};

use suyuan_consensus::VoteKind;
use suyuan_ledger::block::{BlockError, BlockHash};
use suyuan_proofs::finality::{Consortium, JustificationError, Required};
use suyuan_storage::Store;

use crate::frames::SyncedBlock;
use crate::network::{
    BlockReply, MAX_SYNC_BLOCKS, MAX_SYNC_RESPONSE_BYTES, NetworkHandle, SYNC_REQUEST_TIMEOUT,
    SyncRequestId, ValidatorPeer,
};

/// Blocks asked for in one sync request.
pub const SYNC_BATCH: u32 = 32;

/// How often the driver checks whether it must sync.
pub const SYNC_TICK: Duration = Duration::from_millis(500);

/// Block sync's progress: whether this node is behind, which peer it asked, and who is there.
#[derive(Debug)]
pub struct BlockSync {
    /// The outstanding request: its id, the peer asked and when.
    in_flight: Option<(SyncRequestId, usize, Instant)>,
    /// Peers asked so far, for round-robin.
    next_peer: usize,
    /// Whether sync should continue: set when this node is known to be behind.
    pub wanted: bool,
    /// The highest height known to exist.
    pub target: u64,
    /// Connected validators, by genesis index, ascending.
    connected: Vec<usize>,
}

impl Default for BlockSync {
    /// A node that has just started wants to sync until a peer says it has nothing newer.
    fn default() -> Self {
        BlockSync {
            in_flight: None,
            next_peer: 0,
            wanted: true,
            target: 0,
            connected: Vec::new(),
        }
    }
}

impl BlockSync {
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

    /// The peer to ask next, if this node wants blocks and no request is outstanding (one that
    /// timed out is forgotten).
    pub fn next_peer(&mut self) -> Option<usize> {
        if let Some((_, _, sent)) = self.in_flight {
            if sent.elapsed() < SYNC_REQUEST_TIMEOUT {
                return None;
            }
            self.in_flight = None;
        }
        if !self.wanted || self.connected.is_empty() {
            return None;
        }
        let peer = self.connected[self.next_peer % self.connected.len()];
        self.next_peer = self.next_peer.wrapping_add(1);
        Some(peer)
    }

    /// A request `id` went to `peer`.
    pub fn sent(&mut self, id: SyncRequestId, peer: usize) {
        self.in_flight = Some((id, peer, Instant::now()));
    }

    /// Whether `id` is the outstanding request; if so it is answered (or failed) now.
    pub fn take_answer(&mut self, id: SyncRequestId) -> bool {
        if self
            .in_flight
            .is_some_and(|(outstanding, _, _)| outstanding == id)
        {
            self.in_flight = None;
            true
        } else {
            false
        }
    }
}

/// Why a synced run was refused; nothing of it was committed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
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
}

/// Whether a synced block claims a finalization, which ends a run to commit. Whether the claim
/// holds is checked with the rest of the run ([`check_run`]) before anything is committed.
pub fn ends_run(synced: &SyncedBlock) -> bool {
    synced.justification.certificate.vote().kind() == VoteKind::Finalize
}

/// Checks a run of synced blocks that should extend the committed head (`head`, proposed in
/// `head_view`): each links to the one before, carries its header's body, and is justified by
/// its certificate and nullifications.
pub fn check_run(
    consortium: &Consortium,
    head: BlockHash,
    head_view: u64,
    run: &[SyncedBlock],
) -> Result<(), SyncError> {
    let (mut expected_parent, mut parent_view) = (head, head_view);
    for synced in run {
        let header = &synced.block.header;
        let height = header.height;
        if header.parent != expected_parent {
            return Err(SyncError::DoesNotExtend {
                height,
                expected: expected_parent,
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
                Some(parent_view),
                &synced.justification,
                Required::Notarization,
            )
            .map_err(|source| SyncError::Justification { height, source })?;
        expected_parent = synced.block.hash();
        parent_view = header.view;
    }
    Ok(())
}

/// Answers a peer's block sync request from storage, off the driver's task: consecutive blocks
/// from `from_height` with their justifications, within the response bounds.
pub fn serve_blocks(
    store: Arc<Store>,
    network: NetworkHandle,
    from: ValidatorPeer,
    from_height: u64,
    max_blocks: u32,
    reply: BlockReply,
) {
    tokio::spawn(async move {
        let blobs = tokio::task::spawn_blocking(move || read_run(&store, from_height, max_blocks))
            .await
            .unwrap_or_default();
        tracing::debug!(
            peer = from.index,
            from_height,
            count = blobs.len(),
            "serving blocks"
        );
        let _ = network.respond_blocks(reply, blobs).await;
    });
}

/// Up to `max_blocks` (and [`MAX_SYNC_BLOCKS`]) encoded blocks from `from_height`, stopping
/// before the response would pass [`MAX_SYNC_RESPONSE_BYTES`].
fn read_run(store: &Store, from_height: u64, max_blocks: u32) -> Vec<Vec<u8>> {
    let mut blobs = Vec::new();
    let mut bytes = 0;
    let head = store.head().height;
    let mut height = from_height.max(1);
    while height <= head && blobs.len() < max_blocks.min(MAX_SYNC_BLOCKS) as usize {
        let (Ok(Some(block)), Ok(Some(justification))) =
            (store.block(height), store.justification(height))
        else {
            break;
        };
        let blob = SyncedBlock::encode(&block, &justification);
        // Leave room for length prefixes.
        if !blobs.is_empty()
            && bytes + blob.len() + 64 * (blobs.len() + 1) > MAX_SYNC_RESPONSE_BYTES
        {
            break;
        }
        bytes += blob.len();
        blobs.push(blob);
        height += 1;
    }
    blobs
}
