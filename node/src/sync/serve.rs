//! Answer peers' block requests from storage with bounded work per peer.
//!
//! A request is 12 bytes; its answer may be tens of MiB read from RocksDB. So each peer gets:
//!
//! - **one request at a time**: a peer's requests are served one after the other, and at most
//!   [`SYNC_SERVE_REQUESTS_PER_PEER`] are admitted (one served, one waiting); a further one is
//!   refused at once, by dropping its reply. An honest node has one request outstanding in all;
//! - **a byte budget** ([`ServeBudget`]), a token bucket of [`SYNC_SERVE_BURST_BYTES`] refilled
//!   at [`SYNC_SERVE_BYTES_PER_SECOND`]: every block read is charged its encoded size plus
//!   [`SYNC_BLOCK_READ_COST_BYTES`], and every request at least that. A request that finds the
//!   budget spent waits until it is positive again (at most about a second) instead of being
//!   refused, so an honest peer is slowed, never failed;
//! - **reads that stop at the budget**: storage cannot tell a block's size before reading it,
//!   so reading stops after the first block that brings the charge to what the budget allows
//!   (at most [`SYNC_RESPONSE_TARGET_BYTES`]); every block read is sent.
//!
//! - **one response in hand**: a request keeps its peer's slot until its response is written
//!   to the peer's stream or has failed, so a peer that asks and never reads holds one
//!   response here, for at most [`SYNC_REQUEST_TIMEOUT`], not one per request it sends.
//!
//! Over any interval of `t` seconds, the blocks read for one peer therefore come to at most
//! `SYNC_SERVE_BURST_BYTES + t × SYNC_SERVE_BYTES_PER_SECOND + MAX_SYNC_BLOB_BYTES` (the last
//! block of a read may overshoot the budget by one block), and at most one blocking read per
//! peer runs at a time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use suyuan_storage::{StorageError, Store};
use tokio::sync::Semaphore;

use crate::frames::SyncedBlock;
use crate::network::{
    BlockReply, MAX_SYNC_BLOB_BYTES, MAX_SYNC_BLOCKS, MAX_SYNC_RESPONSE_BYTES, NetworkHandle,
    SYNC_REQUEST_TIMEOUT, ValidatorPeer,
};

/// Bytes of blocks read per second for one peer, sustained: 16 MiB/s, about six times what the
/// chain grows at the highest load measured (7,000 transactions of about 400 bytes a second,
/// BENCHMARKS.md), so one peer alone can bring a node that fell behind back to the head, and a
/// node catching up from several peers in turn gets a multiple of it.
pub const SYNC_SERVE_BYTES_PER_SECOND: u64 = 16 * 1024 * 1024;

/// Bytes a peer's budget holds when full: one full response, so that a peer that asked
/// nothing for a while gets a whole page at once.
pub const SYNC_SERVE_BURST_BYTES: u64 = MAX_SYNC_RESPONSE_BYTES as u64;

/// What reading one block costs beyond its bytes, counted as bytes: a header, a body scan and a
/// justification are three lookups, whatever the block's size. It bounds a loop over tiny
/// blocks (or over heights above the head, each request costing at least this) as well:
/// 16 MiB/s buys 4,096 of them a second.
pub const SYNC_BLOCK_READ_COST_BYTES: u64 = 4 * 1024;

/// Room a response needs besides its blocks: the count and one length prefix per block, 4
/// bytes each, as the sync protocol frames it.
pub const SYNC_RESPONSE_FRAMING_BYTES: usize = 4 + 4 * MAX_SYNC_BLOCKS as usize;

/// The most a read may charge before it stops: then one more block of the largest size still
/// fits the response with its framing.
pub const SYNC_RESPONSE_TARGET_BYTES: usize =
    MAX_SYNC_RESPONSE_BYTES - MAX_SYNC_BLOB_BYTES - SYNC_RESPONSE_FRAMING_BYTES;

const _: () = assert!(SYNC_RESPONSE_TARGET_BYTES >= SYNC_BLOCK_READ_COST_BYTES as usize);
const _: () = assert!(
    SYNC_RESPONSE_TARGET_BYTES + MAX_SYNC_BLOB_BYTES + SYNC_RESPONSE_FRAMING_BYTES
        <= MAX_SYNC_RESPONSE_BYTES
);

/// Requests of one peer admitted at once: the one being served and one waiting for it. A peer
/// that has one request outstanding (as an honest node has) and sends the next as soon as the
/// last answer arrived is never refused, even while that answer's stream is still being
/// closed here; a third request is refused at once, its reply dropped.
pub const SYNC_SERVE_REQUESTS_PER_PEER: usize = 2;

/// The longest a served request keeps its peer's slot after its blocks are read: the network
/// settles every response within [`SYNC_REQUEST_TIMEOUT`] (written, timed out or failed), so
/// this is only a guard against a settlement lost.
pub(super) const SYNC_RESPONSE_DELIVERY_BOUND: Duration =
    SYNC_REQUEST_TIMEOUT.saturating_add(Duration::from_secs(5));

/// Why a peer's request was refused without reading anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ServeRefusal {
    /// The peer already has [`SYNC_SERVE_REQUESTS_PER_PEER`] requests being served or waiting.
    #[error("the peer's earlier block requests are still being served")]
    Busy,
}

/// One peer's byte budget: a token bucket that may go into debt by the one block a read
/// overshoots with. Pure: the caller passes the time.
///
/// For each read, in turn: wait [`ServeBudget::wait`], then ask [`ServeBudget::allowance`] how
/// much the read may charge, then [`ServeBudget::charge`] what it charged.
#[derive(Debug, Clone)]
pub struct ServeBudget {
    /// Bytes the peer may still have read; negative after an overshoot.
    tokens: i64,
    /// When `tokens` was last refilled.
    refilled: Instant,
}

impl ServeBudget {
    /// A full budget at `now`.
    pub fn new(now: Instant) -> Self {
        ServeBudget {
            tokens: SYNC_SERVE_BURST_BYTES as i64,
            refilled: now,
        }
    }

    /// How long from `now` until the budget is positive again: zero unless the last read
    /// overshot it, and at most the time the rate takes to refill one block of the largest
    /// size.
    pub fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        let missing = u64::try_from(1 - self.tokens).unwrap_or(0);
        Duration::from_nanos((missing * 1_000_000_000).div_ceil(SYNC_SERVE_BYTES_PER_SECOND))
    }

    /// The most the read about to start may charge before it stops: the budget at `now`, at
    /// most [`SYNC_RESPONSE_TARGET_BYTES`], at least 1 (a read always takes one block).
    pub fn allowance(&mut self, now: Instant) -> u64 {
        self.refill(now);
        (self.tokens.max(1) as u64).min(SYNC_RESPONSE_TARGET_BYTES as u64)
    }

    /// The read charged `charged` bytes.
    pub fn charge(&mut self, charged: u64, now: Instant) {
        self.refill(now);
        self.tokens = self
            .tokens
            .saturating_sub(i64::try_from(charged).unwrap_or(i64::MAX));
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled);
        self.refilled = now;
        let added = elapsed.as_nanos() * u128::from(SYNC_SERVE_BYTES_PER_SECOND) / 1_000_000_000;
        let added = i64::try_from(added).unwrap_or(i64::MAX);
        self.tokens = self
            .tokens
            .saturating_add(added)
            .min(SYNC_SERVE_BURST_BYTES as i64);
    }
}

/// What serving one peer holds: its budget, its admitted requests, and the slot they take in
/// turn.
#[derive(Debug)]
struct PeerServing {
    budget: ServeBudget,
    /// Requests being served or waiting for the slot.
    admitted: usize,
    /// One permit: the request being served holds it.
    slot: Arc<Semaphore>,
}

impl PeerServing {
    fn new(now: Instant) -> Self {
        PeerServing {
            budget: ServeBudget::new(now),
            admitted: 0,
            slot: Arc::new(Semaphore::new(1)),
        }
    }

    /// Admits one more request, unless [`SYNC_SERVE_REQUESTS_PER_PEER`] are admitted already:
    /// the slot to wait for.
    fn admit(&mut self) -> Result<Arc<Semaphore>, ServeRefusal> {
        if self.admitted >= SYNC_SERVE_REQUESTS_PER_PEER {
            return Err(ServeRefusal::Busy);
        }
        self.admitted += 1;
        Ok(Arc::clone(&self.slot))
    }

    /// An admitted request is done.
    fn release(&mut self) {
        self.admitted = self.admitted.saturating_sub(1);
    }
}

/// The peers served so far, by genesis index (only genesis validators reach here, so it holds
/// at most one entry per validator).
///
/// The lock guards only bookkeeping: it is taken to admit a request, size a read, charge it
/// and release the request, never across a wait, the read or the send.
#[derive(Debug, Clone, Default)]
pub(super) struct BlockServer {
    peers: Arc<Mutex<BTreeMap<usize, PeerServing>>>,
}

impl BlockServer {
    /// Answers `from`'s request off the caller's task, after its earlier one, or refuses it at
    /// once if `from` has [`SYNC_SERVE_REQUESTS_PER_PEER`] admitted.
    pub(super) fn serve(
        &self,
        store: Arc<Store>,
        network: NetworkHandle,
        from: ValidatorPeer,
        from_height: u64,
        max_blocks: u32,
        reply: BlockReply,
    ) {
        let peer = from.index;
        let slot = match self.with_peer(peer, |serving, _| serving.admit()) {
            Ok(slot) => slot,
            Err(refusal) => {
                tracing::debug!(peer, from_height, %refusal, "refused a block request");
                return;
            }
        };
        let server = self.clone();
        tokio::spawn(async move {
            // Each guard settles its part however this task ends, in reverse order: the
            // charge, then the slot, then the admission.
            let _admitted = Admitted {
                server: server.clone(),
                peer,
            };
            let Ok(_permit) = slot.acquire_owned().await else {
                return; // never closed
            };
            let wait = server.with_peer(peer, |serving, now| serving.budget.wait(now));
            tokio::time::sleep(wait).await;
            let allowance = server.with_peer(peer, |serving, now| serving.budget.allowance(now));
            let mut charge = Charge {
                server: server.clone(),
                peer,
                charged: allowance,
            };
            let read = tokio::task::spawn_blocking(move || {
                read_run(&store, from_height, max_blocks, allowance)
            })
            .await;
            let blobs = match read {
                Ok((blobs, charged)) => {
                    charge.charged = charged;
                    blobs
                }
                Err(error) => {
                    tracing::error!(peer, from_height, %error, "reading blocks for a peer failed");
                    Vec::new()
                }
            };
            tracing::debug!(
                peer,
                from_height,
                count = blobs.len(),
                charged = charge.charged,
                "serving blocks"
            );
            // The slot stays taken until the response is written to the peer (or failed), so
            // a peer that does not read its answers has one response in hand here at most, and
            // only until its request times out. The bound on the wait is a second guard.
            let delivery = network.respond_blocks(reply, blobs);
            match tokio::time::timeout(SYNC_RESPONSE_DELIVERY_BOUND, delivery).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::debug!(peer, from_height, %error, "block response"),
                Err(_) => tracing::warn!(peer, from_height, "block response never settled"),
            }
        });
    }

    fn with_peer<T>(&self, peer: usize, act: impl FnOnce(&mut PeerServing, Instant) -> T) -> T {
        let now = Instant::now();
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        let serving = peers.entry(peer).or_insert_with(|| PeerServing::new(now));
        act(serving, now)
    }
}

/// A request admitted for a peer; released when dropped.
struct Admitted {
    server: BlockServer,
    peer: usize,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.server
            .with_peer(self.peer, |serving, _| serving.release());
    }
}

/// A read's charge to its peer's budget; charged when dropped.
struct Charge {
    server: BlockServer,
    peer: usize,
    charged: u64,
}

impl Drop for Charge {
    fn drop(&mut self) {
        let charged = self.charged;
        self.server.with_peer(self.peer, |serving, now| {
            serving.budget.charge(charged, now)
        });
    }
}

/// Encoded blocks from `from_height`, at most `max_blocks` (and [`MAX_SYNC_BLOCKS`]), stopping
/// after the block that brings the charge to `allowance`; with what they charge. A storage
/// fault ends the run early: it is this node's fault, not the peer's.
fn read_run(
    store: &Store,
    from_height: u64,
    max_blocks: u32,
    allowance: u64,
) -> (Vec<Vec<u8>>, u64) {
    let most = max_blocks.min(MAX_SYNC_BLOCKS) as usize;
    let head = store.head().height;
    let mut blobs = Vec::new();
    let mut charged = 0;
    let mut height = from_height.max(1);
    while height <= head && blobs.len() < most && charged < allowance {
        charged += SYNC_BLOCK_READ_COST_BYTES;
        let blob = match read_block(store, height) {
            Ok(Some(blob)) => blob,
            Ok(None) => break,
            Err(error) => {
                tracing::error!(height, %error, "cannot read a block a peer asked for");
                break;
            }
        };
        charged += blob.len() as u64;
        blobs.push(blob);
        height += 1;
    }
    (blobs, charged.max(SYNC_BLOCK_READ_COST_BYTES))
}

/// Block `height` and its justification, encoded as a sync response carries them.
fn read_block(store: &Store, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
    let (Some(block), Some(justification)) = (store.block(height)?, store.justification(height)?)
    else {
        return Ok(None);
    };
    Ok(Some(SyncedBlock::encode(&block, &justification)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer asking in a loop, each read taking the largest overshoot, is read for at most
    /// the burst, the rate over the time, and one block; and it waits at most the time the
    /// rate takes to refill one block.
    #[test]
    fn a_looping_peer_is_read_for_at_most_its_budget() {
        let start = Instant::now();
        let mut budget = ServeBudget::new(start);
        let longest_wait = Duration::from_secs_f64(
            (MAX_SYNC_BLOB_BYTES + 1) as f64 / SYNC_SERVE_BYTES_PER_SECOND as f64,
        ) + Duration::from_millis(1);
        let mut now = start;
        let mut read = 0u64;
        while now < start + Duration::from_secs(30) {
            let wait = budget.wait(now);
            assert!(wait <= longest_wait, "{wait:?}");
            now += wait;
            let allowance = budget.allowance(now);
            assert!((1..=SYNC_RESPONSE_TARGET_BYTES as u64).contains(&allowance));
            // The worst read: the allowance, then one more block of the largest size.
            let charged = allowance + MAX_SYNC_BLOB_BYTES as u64;
            read += charged;
            now += Duration::from_millis(1);
            budget.charge(charged, now);
        }
        let elapsed = now.duration_since(start).as_secs_f64();
        let bound = SYNC_SERVE_BURST_BYTES as f64
            + elapsed * SYNC_SERVE_BYTES_PER_SECOND as f64
            + MAX_SYNC_BLOB_BYTES as f64;
        assert!(read as f64 <= bound, "read {read} bytes; bound {bound}");
        // And the budget is not needlessly tight: the peer got most of the rate.
        assert!(read as f64 >= 0.9 * elapsed * SYNC_SERVE_BYTES_PER_SECOND as f64);
    }

    #[test]
    fn a_third_request_while_two_are_admitted_is_refused() {
        let mut serving = PeerServing::new(Instant::now());
        let first = serving.admit().unwrap();
        let second = serving.admit().unwrap();
        assert!(Arc::ptr_eq(&first, &second), "they take one slot in turn");
        assert_eq!(serving.admit().unwrap_err(), ServeRefusal::Busy);
        serving.release();
        assert!(serving.admit().is_ok());
    }

    #[test]
    fn an_idle_peer_gets_at_most_a_full_burst() {
        let now = Instant::now();
        let mut budget = ServeBudget::new(now);
        budget.charge(SYNC_SERVE_BURST_BYTES, now);
        let later = now + Duration::from_secs(3600);
        assert_eq!(budget.wait(later), Duration::ZERO);
        assert_eq!(
            budget.allowance(later),
            SYNC_RESPONSE_TARGET_BYTES as u64,
            "one response's worth"
        );
        assert_eq!(budget.tokens, SYNC_SERVE_BURST_BYTES as i64);
    }
}
