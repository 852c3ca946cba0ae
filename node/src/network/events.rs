//! Hand the node what the network received, through one small channel that never blocks the
//! swarm, with per-validator queues behind it.
//!
//! Control events (peers up and down, sync outcomes) are few and the node needs each one: they
//! wait in one backlog of [`CONTROL_BACKLOG_CAPACITY`] and go first. Data events (consensus
//! messages, block requests, gossiped transactions) wait in a queue per validator and kind,
//! each with its own quota ([`CONSENSUS_EVENTS_PER_PEER`], [`CONSENSUS_EVENT_BYTES_PER_PEER`],
//! [`BLOCK_REQUEST_EVENTS_PER_PEER`], [`TRANSACTION_EVENTS_PER_PEER`],
//! [`TRANSACTION_EVENT_BYTES_PER_PEER`]); a queue over its quota drops its own oldest events,
//! counted against that validator, so a flood costs only the flooder. Their senders retransmit
//! or ask again.
//!
//! Whenever the node's channel has room, the next event is chosen: control first, then
//! consensus, then block requests, then transactions, taking validators in turn within a kind;
//! after [`PRIORITY_EVENTS_BEFORE_GOSSIP`] consensus or block-request events in a row, one
//! waiting transaction goes, so gossip is slowed by consensus but never stopped.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use libp2p::gossipsub::MessageId;
use libp2p::request_response::{InboundRequestId, ResponseChannel};
use tokio::sync::mpsc::{self, error::TrySendError};

use super::codec::SyncRequestId;
use super::handle::{Counters, PeerDropCounters};
use super::limits::{
    BLOCK_REQUEST_EVENTS_PER_PEER, CONSENSUS_EVENT_BYTES_PER_PEER, CONSENSUS_EVENTS_PER_PEER,
    CONTROL_BACKLOG_CAPACITY, PRIORITY_EVENTS_BEFORE_GOSSIP, TRANSACTION_EVENT_BYTES_PER_PEER,
    TRANSACTION_EVENTS_PER_PEER,
};
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
    /// Which data queue the event waits in: its kind, the validator it counts against, and
    /// its size in bytes; `None` for a control event.
    fn charge(&self) -> Option<(DataKind, usize, usize)> {
        match self {
            NetworkEvent::Consensus { from, data } => {
                Some((DataKind::Consensus, from.index, data.len()))
            }
            NetworkEvent::BlockRequest { from, .. } => {
                Some((DataKind::BlockRequest, from.index, 0))
            }
            NetworkEvent::Transaction { author, data, .. } => {
                Some((DataKind::Transaction, author.index, data.len()))
            }
            NetworkEvent::PeerConnected(_)
            | NetworkEvent::PeerDisconnected(_)
            | NetworkEvent::BlockResponse { .. }
            | NetworkEvent::BlockRequestFailed { .. } => None,
        }
    }
}

/// The way back to a peer that asked for blocks. Give it to
/// [`super::NetworkHandle::respond_blocks`]; dropping it tells the peer no.
#[derive(Debug)]
pub struct BlockReply {
    pub(super) request_id: InboundRequestId,
    pub(super) channel: ResponseChannel<Vec<Vec<u8>>>,
    pub(super) max_blocks: u32,
}

/// The kinds of data event, in the order they go to the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataKind {
    Consensus,
    BlockRequest,
    Transaction,
}

impl DataKind {
    const ALL: [DataKind; 3] = [
        DataKind::Consensus,
        DataKind::BlockRequest,
        DataKind::Transaction,
    ];

    /// Events and bytes one validator may have waiting of this kind.
    fn quota(self) -> (usize, usize) {
        match self {
            DataKind::Consensus => (CONSENSUS_EVENTS_PER_PEER, CONSENSUS_EVENT_BYTES_PER_PEER),
            DataKind::BlockRequest => (BLOCK_REQUEST_EVENTS_PER_PEER, usize::MAX),
            DataKind::Transaction => (
                TRANSACTION_EVENTS_PER_PEER,
                TRANSACTION_EVENT_BYTES_PER_PEER,
            ),
        }
    }

    fn drop_counter(self, drops: &PeerDropCounters) -> &AtomicU64 {
        match self {
            DataKind::Consensus => &drops.consensus,
            DataKind::BlockRequest => &drops.block_requests,
            DataKind::Transaction => &drops.transactions,
        }
    }
}

/// One validator's waiting events of one kind, with their sizes.
#[derive(Debug, Default)]
struct PeerQueue {
    events: VecDeque<(usize, NetworkEvent)>,
    bytes: usize,
}

/// The waiting events of one kind, a queue per validator, taken in turn.
#[derive(Debug)]
struct Lane {
    kind: DataKind,
    queues: Vec<PeerQueue>,
    waiting: usize,
    turn: usize,
}

impl Lane {
    fn new(kind: DataKind, validators: usize) -> Self {
        Lane {
            kind,
            queues: (0..validators).map(|_| PeerQueue::default()).collect(),
            waiting: 0,
            turn: 0,
        }
    }

    /// Queues `event` of `bytes` for validator `peer`, first dropping that validator's oldest
    /// events of this kind until it fits its quota; returns what was dropped.
    fn push(&mut self, peer: usize, bytes: usize, event: NetworkEvent) -> Vec<NetworkEvent> {
        let (max_events, max_bytes) = self.kind.quota();
        let Some(queue) = self.queues.get_mut(peer) else {
            // Events carry genesis indexes, and there is a queue for each.
            debug_assert!(false, "an event from validator {peer}, outside genesis");
            return vec![event];
        };
        let mut dropped = Vec::new();
        while queue.events.len() >= max_events || queue.bytes + bytes > max_bytes {
            let Some((size, oldest)) = queue.events.pop_front() else {
                break;
            };
            queue.bytes -= size;
            dropped.push(oldest);
        }
        queue.bytes += bytes;
        queue.events.push_back((bytes, event));
        self.waiting = self.waiting + 1 - dropped.len();
        dropped
    }

    /// The oldest waiting event of the next validator in turn that has one.
    fn pop(&mut self) -> Option<NetworkEvent> {
        if self.waiting == 0 {
            return None;
        }
        let count = self.queues.len();
        for step in 0..count {
            let peer = (self.turn + step) % count;
            if let Some((size, event)) = self.queues[peer].events.pop_front() {
                self.queues[peer].bytes -= size;
                self.waiting -= 1;
                self.turn = (peer + 1) % count;
                return Some(event);
            }
        }
        unreachable!("{} events wait in no queue", self.waiting)
    }

    fn is_empty(&self) -> bool {
        self.waiting == 0
    }
}

/// Everything waiting for room in the node's channel, and the choice of what goes next.
#[derive(Debug)]
struct Waiting {
    backlog: VecDeque<NetworkEvent>,
    lanes: [Lane; 3],
    /// Consensus and block-request events handed over in a row while transactions waited.
    priority_streak: usize,
}

impl Waiting {
    fn is_empty(&self) -> bool {
        self.backlog.is_empty() && self.lanes.iter().all(Lane::is_empty)
    }

    /// The event to hand over next: control, then consensus, block requests and transactions,
    /// with a transaction's turn after [`PRIORITY_EVENTS_BEFORE_GOSSIP`] others.
    fn next(&mut self) -> Option<NetworkEvent> {
        if let Some(event) = self.backlog.pop_front() {
            return Some(event);
        }
        let gossip = DataKind::Transaction as usize;
        if self.priority_streak >= PRIORITY_EVENTS_BEFORE_GOSSIP
            && let Some(event) = self.lanes[gossip].pop()
        {
            self.priority_streak = 0;
            return Some(event);
        }
        for kind in DataKind::ALL {
            if let Some(event) = self.lanes[kind as usize].pop() {
                self.priority_streak = match kind {
                    DataKind::Transaction => 0,
                    _ if self.lanes[gossip].is_empty() => 0,
                    _ => self.priority_streak + 1,
                };
                return Some(event);
            }
        }
        None
    }
}

/// The sending end of the node's event channel, with the control backlog and the data queues
/// behind it.
#[derive(Debug)]
pub(super) struct EventSink {
    tx: mpsc::Sender<NetworkEvent>,
    waiting: Waiting,
    counters: Arc<Counters>,
    closed: bool,
}

impl EventSink {
    /// A sink over `tx` for a genesis of `validators`, counting what it drops in `counters`.
    pub(super) fn new(
        tx: mpsc::Sender<NetworkEvent>,
        validators: usize,
        counters: Arc<Counters>,
    ) -> Self {
        EventSink {
            tx,
            waiting: Waiting {
                backlog: VecDeque::new(),
                lanes: DataKind::ALL.map(|kind| Lane::new(kind, validators)),
                priority_streak: 0,
            },
            counters,
            closed: false,
        }
    }

    /// Queues `event` for the node and hands over what the channel has room for. Returns the
    /// data events dropped to make room (the sender's own oldest of the same kind, or `event`
    /// itself once the node has stopped), so that the caller can release what it holds for
    /// them.
    pub(super) fn emit(&mut self, event: NetworkEvent) -> Vec<NetworkEvent> {
        if self.closed {
            return vec![event];
        }
        let dropped = match event.charge() {
            Some((kind, peer, bytes)) => {
                let dropped = self.waiting.lanes[kind as usize].push(peer, bytes, event);
                self.count_dropped(kind, peer, dropped.len());
                dropped
            }
            None => {
                self.hold_control(event);
                Vec::new()
            }
        };
        self.hand_over();
        dropped
    }

    /// Whether the node dropped its receiver.
    pub(super) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether events wait for room in the channel.
    pub(super) fn has_backlog(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Waits for room and hands over the next waiting events. Cancel-safe.
    pub(super) async fn flush_one(&mut self) {
        let Ok(permit) = self.tx.reserve().await else {
            self.closed = true;
            return;
        };
        match self.waiting.next() {
            Some(event) => permit.send(event),
            None => drop(permit),
        }
        self.hand_over();
    }

    /// Sends waiting events, in order, while the channel has room.
    fn hand_over(&mut self) {
        while !self.waiting.is_empty() {
            match self.tx.try_reserve() {
                Ok(permit) => {
                    let event = self.waiting.next().expect("an event waits");
                    permit.send(event);
                }
                Err(TrySendError::Full(())) => return,
                Err(TrySendError::Closed(())) => {
                    self.closed = true;
                    return;
                }
            }
        }
    }

    fn hold_control(&mut self, event: NetworkEvent) {
        let backlog = &mut self.waiting.backlog;
        if backlog.len() == CONTROL_BACKLOG_CAPACITY {
            backlog.pop_front();
            self.counters.events_dropped.fetch_add(1, Ordering::Relaxed);
        }
        backlog.push_back(event);
    }

    fn count_dropped(&self, kind: DataKind, peer: usize, dropped: usize) {
        if dropped == 0 {
            return;
        }
        let dropped = dropped as u64;
        self.counters
            .events_dropped
            .fetch_add(dropped, Ordering::Relaxed);
        if let Some(drops) = self.counters.peer_drops.get(peer) {
            kind.drop_counter(drops)
                .fetch_add(dropped, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use libp2p::PeerId;

    use super::*;

    fn peer(index: usize) -> ValidatorPeer {
        ValidatorPeer {
            index,
            peer_id: PeerId::random(),
        }
    }

    fn transaction(author: usize, n: u32) -> NetworkEvent {
        NetworkEvent::Transaction {
            id: MessageId::new(&n.to_be_bytes()),
            author: peer(author),
            via: peer(author),
            data: n.to_be_bytes().to_vec(),
        }
    }

    fn consensus(from: usize, n: u32) -> NetworkEvent {
        NetworkEvent::Consensus {
            from: peer(from),
            data: n.to_be_bytes().to_vec().into(),
        }
    }

    fn describe(event: &NetworkEvent) -> (&'static str, usize, Vec<u8>) {
        match event {
            NetworkEvent::Consensus { from, data } => ("consensus", from.index, data.to_vec()),
            NetworkEvent::Transaction { author, data, .. } => {
                ("gossip", author.index, data.clone())
            }
            NetworkEvent::PeerConnected(p) => ("connected", p.index, Vec::new()),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_flooding_author_drops_its_own_oldest_and_the_next_event_is_chosen_by_priority() {
        let (tx, mut rx) = mpsc::channel(1);
        let counters = Arc::new(Counters::new(3));
        let mut sink = EventSink::new(tx, 3, Arc::clone(&counters));
        assert!(
            sink.emit(transaction(0, 0)).is_empty(),
            "straight into the channel"
        );
        for n in 1..=TRANSACTION_EVENTS_PER_PEER as u32 {
            assert!(sink.emit(transaction(0, n)).is_empty());
        }
        let dropped = sink.emit(transaction(0, 9_999));
        assert_eq!(dropped.len(), 1);
        assert_eq!(
            describe(&dropped[0]).2,
            1u32.to_be_bytes(),
            "the oldest waiting one"
        );
        assert!(sink.emit(transaction(1, 7)).is_empty());
        assert!(sink.emit(consensus(2, 8)).is_empty());
        assert!(sink.emit(NetworkEvent::PeerConnected(peer(1))).is_empty());
        let drops = &counters.peer_drops;
        assert_eq!(drops[0].transactions.load(Ordering::Relaxed), 1);
        assert_eq!(drops[1].transactions.load(Ordering::Relaxed), 0);
        assert_eq!(counters.events_dropped.load(Ordering::Relaxed), 1);

        let mut order = Vec::new();
        for _ in 0..5 {
            order.push(describe(&rx.try_recv().expect("one waits")));
            sink.hand_over();
        }
        let kinds: Vec<(&str, usize)> = order.iter().map(|(k, p, _)| (*k, *p)).collect();
        assert_eq!(
            kinds,
            [
                ("gossip", 0),
                ("connected", 1),
                ("consensus", 2),
                ("gossip", 1),
                ("gossip", 0)
            ],
            "what was in the channel, control, consensus, then authors in turn (0 had one)"
        );
    }

    #[test]
    fn gossip_gets_a_turn_however_much_consensus_waits() {
        let (tx, mut rx) = mpsc::channel(1);
        let mut sink = EventSink::new(tx, 2, Arc::new(Counters::new(2)));
        sink.emit(consensus(1, 0));
        sink.emit(transaction(0, 0));
        for n in 1..=2 * PRIORITY_EVENTS_BEFORE_GOSSIP as u32 {
            sink.emit(consensus(1, n));
        }
        let mut kinds = Vec::new();
        while let Ok(event) = rx.try_recv() {
            kinds.push(describe(&event).0);
            sink.hand_over();
        }
        let gossip_at = kinds.iter().position(|k| *k == "gossip");
        assert_eq!(gossip_at, Some(1 + PRIORITY_EVENTS_BEFORE_GOSSIP));
        assert_eq!(kinds.len(), 2 + 2 * PRIORITY_EVENTS_BEFORE_GOSSIP);
    }
}
