//! Hand the node what the network received, through one bounded queue that never blocks the
//! swarm.
//!
//! Data events (transactions, consensus messages, block requests) are dropped and counted when
//! the queue is full: their senders retransmit or ask again. Control events (peers up and down,
//! sync outcomes) are few and the node needs each one, so they wait in a backlog of
//! [`CONTROL_BACKLOG_CAPACITY`] and go out in order as room frees up.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use libp2p::gossipsub::MessageId;
use libp2p::request_response::ResponseChannel;
use tokio::sync::mpsc::{self, error::TrySendError};

use super::codec::SyncRequestId;
use super::handle::Counters;
use super::limits::CONTROL_BACKLOG_CAPACITY;
use super::peers::ValidatorPeer;

/// What the network tells the node. Drain the receiver [`super::Network::start`] returns.
#[derive(Debug)]
pub enum NetworkEvent {
    /// The first connection to a validator is up.
    PeerConnected(ValidatorPeer),
    /// The last connection to a validator closed; the network redials it with backoff.
    PeerDisconnected(ValidatorPeer),
    /// A gossiped transaction, not yet forwarded: answer with
    /// [`super::NetworkHandle::report_validation`]`(id, via.peer_id, verdict)`. Each content id
    /// arrives at most once while gossipsub remembers it.
    Transaction {
        /// Content id: the hash of `data`.
        id: MessageId,
        /// The validator that published it (signed by its key).
        author: ValidatorPeer,
        /// The validator that forwarded it to us.
        via: ValidatorPeer,
        /// The bytes as published, at most [`super::MAX_TRANSACTION_BYTES`].
        data: Vec<u8>,
    },
    /// A consensus message sent directly to this node.
    Consensus {
        /// The sender.
        from: ValidatorPeer,
        /// The bytes as sent, at most [`super::MAX_CONSENSUS_MESSAGE_BYTES`].
        data: Arc<[u8]>,
    },
    /// A peer asks for finalized blocks; answer with [`super::NetworkHandle::respond_blocks`], or
    /// drop `reply` to refuse.
    BlockRequest {
        /// The asking validator.
        from: ValidatorPeer,
        /// The first height it wants.
        from_height: u64,
        /// The most blocks it takes: 1 to [`super::MAX_SYNC_BLOCKS`].
        max_blocks: u32,
        /// Where the answer goes.
        reply: BlockReply,
    },
    /// The answer to [`super::NetworkHandle::request_blocks`]: opaque blobs, as many as the
    /// peer chose to send, at most the `max_blocks` asked for.
    BlockResponse {
        /// The validator that answered.
        from: ValidatorPeer,
        /// The id `request_blocks` returned.
        request_id: SyncRequestId,
        /// One blob per block, as the peer's node encoded it.
        blocks: Vec<Vec<u8>>,
    },
    /// A block request got no valid answer (timeout, disconnect, a bound broken); ask again,
    /// perhaps of another peer.
    BlockRequestFailed {
        /// The validator asked.
        from: ValidatorPeer,
        /// The id `request_blocks` returned.
        request_id: SyncRequestId,
        /// What went wrong, for the logs.
        reason: String,
    },
}

impl NetworkEvent {
    /// Whether losing this event only costs a retransmission.
    fn is_data(&self) -> bool {
        matches!(
            self,
            NetworkEvent::Transaction { .. }
                | NetworkEvent::Consensus { .. }
                | NetworkEvent::BlockRequest { .. }
        )
    }
}

/// The way back to a peer that asked for blocks. Give it to
/// [`super::NetworkHandle::respond_blocks`]; dropping it tells the peer no.
#[derive(Debug)]
pub struct BlockReply {
    pub(super) channel: ResponseChannel<Vec<Vec<u8>>>,
    pub(super) max_blocks: u32,
}

/// The sending end of the event queue, with the control backlog.
#[derive(Debug)]
pub(super) struct EventSink {
    tx: mpsc::Sender<NetworkEvent>,
    backlog: VecDeque<NetworkEvent>,
    counters: Arc<Counters>,
    closed: bool,
}

impl EventSink {
    /// A sink over `tx` that counts what it drops in `counters`.
    pub(super) fn new(tx: mpsc::Sender<NetworkEvent>, counters: Arc<Counters>) -> Self {
        EventSink {
            tx,
            backlog: VecDeque::new(),
            counters,
            closed: false,
        }
    }

    /// Queues `event` for the node. A data event that does not fit is dropped, counted and
    /// handed back, so that the caller can release what it holds for it.
    pub(super) fn emit(&mut self, event: NetworkEvent) -> Option<NetworkEvent> {
        if !self.backlog.is_empty() {
            return self.hold_back(event);
        }
        match self.tx.try_send(event) {
            Ok(()) => None,
            Err(TrySendError::Full(event)) => self.hold_back(event),
            Err(TrySendError::Closed(event)) => {
                self.closed = true;
                Some(event)
            }
        }
    }

    /// Whether the node dropped its receiver.
    pub(super) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether control events wait for room.
    pub(super) fn has_backlog(&self) -> bool {
        !self.backlog.is_empty()
    }

    /// Waits for room and sends the oldest held-back event. Cancel-safe.
    pub(super) async fn flush_one(&mut self) {
        match self.tx.reserve().await {
            Ok(permit) => {
                if let Some(event) = self.backlog.pop_front() {
                    permit.send(event);
                }
            }
            Err(_) => self.closed = true,
        }
    }

    fn hold_back(&mut self, event: NetworkEvent) -> Option<NetworkEvent> {
        if event.is_data() {
            self.counters.events_dropped.fetch_add(1, Ordering::Relaxed);
            return Some(event);
        }
        if self.backlog.len() == CONTROL_BACKLOG_CAPACITY {
            self.backlog.pop_front();
            self.counters.events_dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.backlog.push_back(event);
        None
    }
}
