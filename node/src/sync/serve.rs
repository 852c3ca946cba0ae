//! Answer peers' block requests from storage with bounded work per peer.
//!
//! A request is 12 bytes; its answer may be tens of MiB read from RocksDB. So each peer gets:
//!
//! - **one request at a time**: a request that arrives while the same peer's last one is still
//!   being read (or waiting for budget) is refused at once, by dropping its reply; an honest
//!   node has one request outstanding in all;
//! - **a byte budget** ([`ServeBudget`]), a token bucket of [`SYNC_SERVE_BURST_BYTES`] refilled
//!   at [`SYNC_SERVE_BYTES_PER_SECOND`]: every block read is charged its encoded size plus
//!   [`SYNC_BLOCK_READ_COST_BYTES`], and every request at least that. A request that finds the
//!   budget spent waits until it is positive again (at most about a second) instead of being
//!   refused, so an honest peer is slowed, never failed;
//! - **reads that stop at the budget**: storage cannot tell a block's size before reading it,
//!   so reading stops after the first block that brings the charge to what the budget allows
//!   (at most [`SYNC_RESPONSE_TARGET_BYTES`]); every block read is sent.
//!
//! Over any interval of `t` seconds, the blocks read for one peer therefore come to at most
//! `SYNC_SERVE_BURST_BYTES + t × SYNC_SERVE_BYTES_PER_SECOND + MAX_SYNC_BLOB_BYTES` (the last
//! block of a read may overshoot the budget by one block), and at most one blocking read per
//! peer runs at a time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use suyuan_storage::{StorageError, Store};

use crate::frames::SyncedBlock;
use crate::network::{
    BlockReply, MAX_SYNC_BLOB_BYTES, MAX_SYNC_BLOCKS, MAX_SYNC_RESPONSE_BYTES, NetworkHandle,
    ValidatorPeer,
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

/// Why a peer's request was refused without reading anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ServeRefusal {
    /// The peer's previous request is still being served.
    #[error("the peer's previous block request is still being served")]
    Busy,
}

/// One peer's serving slot and byte budget: a token bucket that may go into debt by the one
/// block a read overshoots with. Pure: the caller passes the time.
///
/// Call [`ServeBudget::begin`] when a request arrives, wait as long as it says, call
/// [`ServeBudget::allowance`] to learn how much the read may charge, then
/// [`ServeBudget::finish`] with what it charged.
#[derive(Debug, Clone)]
pub struct ServeBudget {
    /// Bytes the peer may still have read; negative after an overshoot.
    tokens: i64,
    /// When `tokens` was last refilled.
    refilled: Instant,
    /// Whether a request of the peer is being served.
    busy: bool,
}

impl ServeBudget {
    /// A full budget at `now`.
    pub fn new(now: Instant) -> Self {
        ServeBudget {
            tokens: SYNC_SERVE_BURST_BYTES as i64,
            refilled: now,
            busy: false,
        }
    }

    /// Takes the peer's serving slot at `now`: how long to wait before reading, until the
    /// budget is positive again; refused if the slot is taken.
    pub fn begin(&mut self, now: Instant) -> Result<Duration, ServeRefusal> {
        if self.busy {
            return Err(ServeRefusal::Busy);
        }
        self.busy = true;
        self.refill(now);
        let missing = u64::try_from(1 - self.tokens).unwrap_or(0);
        Ok(Duration::from_nanos(
            (missing * 1_000_000_000).div_ceil(SYNC_SERVE_BYTES_PER_SECOND),
        ))
    }

    /// The most the read about to start may charge before it stops: the budget at `now`, at
    /// most [`SYNC_RESPONSE_TARGET_BYTES`], at least 1 (a read always takes one block).
    pub fn allowance(&mut self, now: Instant) -> u64 {
        self.refill(now);
        (self.tokens.max(1) as u64).min(SYNC_RESPONSE_TARGET_BYTES as u64)
    }

    /// The read charged `charged` bytes; the slot is free again.
    pub fn finish(&mut self, charged: u64, now: Instant) {
        self.refill(now);
        self.tokens = self
            .tokens
            .saturating_sub(i64::try_from(charged).unwrap_or(i64::MAX));
        self.busy = false;
    }

    /// Whether a request of the peer is being served.
    pub fn busy(&self) -> bool {
        self.busy
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

/// The budgets of the peers served so far, by genesis index (only genesis validators reach
/// here, so it holds at most one entry per validator).
///
/// The lock guards only the arithmetic of one budget: it is taken to start, size and settle a
/// read, never across the wait, the read or the send.
#[derive(Debug, Clone, Default)]
pub(super) struct BlockServer {
    budgets: Arc<Mutex<BTreeMap<usize, ServeBudget>>>,
}

impl BlockServer {
    /// Answers `from`'s request off the caller's task, or refuses it at once if `from`'s
    /// previous request is still being served.
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
        let wait = match self.with_budget(peer, |budget, now| budget.begin(now)) {
            Ok(wait) => wait,
            Err(refusal) => {
                tracing::debug!(peer, from_height, %refusal, "refused a block request");
                return;
            }
        };
        let server = self.clone();
        tokio::spawn(async move {
            // Frees the slot however this task ends; charges the whole allowance unless the
            // read reports less.
            let mut slot = Slot {
                server: server.clone(),
                peer,
                charged: 0,
            };
            tokio::time::sleep(wait).await;
            let allowance = server.with_budget(peer, |budget, now| budget.allowance(now));
            slot.charged = allowance;
            let read = tokio::task::spawn_blocking(move || {
                read_run(&store, from_height, max_blocks, allowance)
            })
            .await;
            let blobs = match read {
                Ok((blobs, charged)) => {
                    slot.charged = charged;
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
                charged = slot.charged,
                "serving blocks"
            );
            drop(slot);
            let _ = network.respond_blocks(reply, blobs).await;
        });
    }

    fn with_budget<T>(&self, peer: usize, act: impl FnOnce(&mut ServeBudget, Instant) -> T) -> T {
        let now = Instant::now();
        let mut budgets = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        let budget = budgets.entry(peer).or_insert_with(|| ServeBudget::new(now));
        act(budget, now)
    }
}

/// A peer's taken serving slot; settles the budget when dropped.
struct Slot {
    server: BlockServer,
    peer: usize,
    charged: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let charged = self.charged;
        self.server
            .with_budget(self.peer, |budget, now| budget.finish(charged, now));
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
    /// the burst, the rate over the time, and one block.
    #[test]
    fn a_looping_peer_is_read_for_at_most_its_budget() {
        let start = Instant::now();
        let mut budget = ServeBudget::new(start);
        let mut now = start;
        let mut read = 0u64;
        let seconds = 30;
        while now < start + Duration::from_secs(seconds) {
            let wait = budget.begin(now).unwrap();
            assert!(
                wait <= Duration::from_millis(1_200),
                "an honest request waits at most about a second: {wait:?}"
            );
            now += wait;
            let allowance = budget.allowance(now);
            assert!(allowance >= 1 && allowance <= SYNC_RESPONSE_TARGET_BYTES as u64);
            // The worst read: the allowance, then one more block of the largest size.
            let charged = allowance + MAX_SYNC_BLOB_BYTES as u64;
            read += charged;
            now += Duration::from_millis(1);
            budget.finish(charged, now);
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
    fn a_second_request_while_one_is_served_is_refused() {
        let now = Instant::now();
        let mut budget = ServeBudget::new(now);
        assert_eq!(budget.begin(now), Ok(Duration::ZERO));
        assert_eq!(budget.begin(now), Err(ServeRefusal::Busy));
        budget.finish(SYNC_BLOCK_READ_COST_BYTES, now);
        assert!(!budget.busy());
        assert_eq!(budget.begin(now), Ok(Duration::ZERO));
    }

    #[test]
    fn an_idle_peer_gets_at_most_a_full_burst() {
        let now = Instant::now();
        let mut budget = ServeBudget::new(now);
        budget.begin(now).unwrap();
        budget.finish(SYNC_SERVE_BURST_BYTES, now);
        let later = now + Duration::from_secs(3600);
        budget.begin(later).unwrap();
        assert_eq!(
            budget.allowance(later),
            SYNC_RESPONSE_TARGET_BYTES as u64,
            "one response's worth"
        );
        assert_eq!(budget.tokens, SYNC_SERVE_BURST_BYTES as i64);
    }
}
