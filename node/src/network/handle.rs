//! Drive a running network from any task: publish, send, ask, answer, inspect, stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use libp2p::PeerId;
use libp2p::gossipsub::MessageId;
use tokio::sync::{mpsc, oneshot};

use super::codec::SyncRequestId;
use super::codec::{BlocksRequest, SyncBudget};
use super::error::NetworkError;
use super::events::BlockReply;
use super::limits::{MAX_CONSENSUS_MESSAGE_BYTES, MAX_TRANSACTION_BYTES};
use super::peers::ValidatorPeer;

/// What a [`NetworkHandle`] asks of the swarm task.
#[derive(Debug)]
pub(crate) enum Command {
    Publish {
        data: Vec<u8>,
        done: oneshot::Sender<Result<MessageId, NetworkError>>,
    },
    ReportValidation {
        id: MessageId,
        via: PeerId,
        verdict: GossipVerdict,
    },
    SendConsensus {
        to: Option<usize>,
        data: Arc<[u8]>,
    },
    RequestBlocks {
        peer: usize,
        request: BlocksRequest,
        done: oneshot::Sender<Result<SyncRequestId, NetworkError>>,
    },
    RespondBlocks {
        reply: BlockReply,
        blocks: Vec<Vec<u8>>,
        delivered: oneshot::Sender<Result<(), NetworkError>>,
    },
    #[cfg(test)]
    ConnectedPeers {
        done: oneshot::Sender<Vec<ValidatorPeer>>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// What the node says of a gossiped transaction message ([`NetworkHandle::report_validation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GossipVerdict {
    /// Valid: forward it.
    Accept,
    /// Invalid, which an honest validator never publishes: drop it and count it against the
    /// peer that sent it.
    Reject,
    /// Not judged (the node had no room or no allowance for it): drop it, blaming no one.
    Ignore,
}

/// The network's running counts, shared by the task and every handle.
#[derive(Debug)]
pub(crate) struct Counters {
    pub consensus_dropped: AtomicU64,
    pub consensus_send_failed: AtomicU64,
    pub events_dropped: AtomicU64,
    pub connections_refused: AtomicU64,
    pub handshakes_refused: AtomicU64,
    pub handshakes_failed: AtomicU64,
    pub strangers_ignored: AtomicU64,
    /// Data events dropped from each validator's queues, by genesis index.
    pub peer_drops: Box<[PeerDropCounters]>,
}

impl Counters {
    /// Zero counts for a genesis of `validators`.
    pub(crate) fn new(validators: usize) -> Self {
        Counters {
            consensus_dropped: AtomicU64::new(0),
            consensus_send_failed: AtomicU64::new(0),
            events_dropped: AtomicU64::new(0),
            connections_refused: AtomicU64::new(0),
            handshakes_refused: AtomicU64::new(0),
            handshakes_failed: AtomicU64::new(0),
            strangers_ignored: AtomicU64::new(0),
            peer_drops: (0..validators)
                .map(|_| PeerDropCounters::default())
                .collect(),
        }
    }
}

/// Data events one validator had dropped from its own queues, by kind.
#[derive(Debug, Default)]
pub(crate) struct PeerDropCounters {
    pub consensus: AtomicU64,
    pub block_requests: AtomicU64,
    pub transactions: AtomicU64,
}

/// A snapshot of the network's counts since start; all only grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetworkCounters {
    /// Consensus messages dropped unsent: the peer's queue was full (oldest dropped), or the
    /// peer was not connected.
    pub consensus_dropped: u64,
    /// Consensus messages sent but not acknowledged (timeout, disconnect).
    pub consensus_send_failed: u64,
    /// Events dropped before the node read them: data events beyond their sender's quota
    /// (the sum of [`NetworkHandle::events_dropped_by_peer`]) and control events beyond the
    /// backlog.
    pub events_dropped: u64,
    /// Connections refused because the peer is not a genesis validator or a bound was hit
    /// (this includes [`NetworkCounters::handshakes_refused`]).
    pub connections_refused: u64,
    /// Incoming connections refused before their handshake because their address had no
    /// handshake slot left (see [`super::MAX_PENDING_INCOMING_PER_ADDRESS`]).
    pub handshakes_refused: u64,
    /// Incoming connections whose handshake failed: cut at [`super::HANDSHAKE_TIMEOUT`], or
    /// broken off or garbled by the remote.
    pub handshakes_failed: u64,
    /// Messages ignored because their source is not a genesis validator; stays 0 unless a
    /// refusal failed.
    pub strangers_ignored: u64,
}

/// Data events from one validator dropped because its own queue for them was full; the other
/// validators' queues are separate, so these count only what this one sent (or, for
/// transactions, authored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeerEventDrops {
    /// Consensus messages (oldest first dropped).
    pub consensus: u64,
    /// Block requests (the asker's request fails).
    pub block_requests: u64,
    /// Gossiped transaction batches (reported to gossip as ignored).
    pub transactions: u64,
}

/// Drives one validator's network; cheap to clone, usable from any task.
///
/// Every method checks its bounds before queueing anything, so an oversized message is an error
/// here and never reaches the wire. Commands go through a queue of
/// [`super::COMMAND_QUEUE_CAPACITY`]; a method waits while it is full. Once the network has
/// stopped, every method returns [`NetworkError::Stopped`].
#[derive(Debug, Clone)]
pub struct NetworkHandle {
    commands: mpsc::Sender<Command>,
    counters: Arc<Counters>,
    local: ValidatorPeer,
    validator_count: usize,
}

impl NetworkHandle {
    /// A handle sending `commands` to the network task.
    pub(crate) fn new(
        commands: mpsc::Sender<Command>,
        counters: Arc<Counters>,
        local: ValidatorPeer,
        validator_count: usize,
    ) -> Self {
        NetworkHandle {
            commands,
            counters,
            local,
            validator_count,
        }
    }

    /// This node as a validator.
    #[cfg(test)]
    pub fn local(&self) -> ValidatorPeer {
        self.local
    }

    /// Gossips a transaction to every validator; returns its content id. Fails on a
    /// duplicate of a recent one, or before any peer has subscribed.
    pub async fn publish_transaction(&self, data: Vec<u8>) -> Result<MessageId, NetworkError> {
        check_size("a transaction", data.len(), MAX_TRANSACTION_BYTES)?;
        let (done, result) = oneshot::channel();
        self.send(Command::Publish { data, done }).await?;
        result.await.map_err(|_| NetworkError::Stopped)?
    }

    /// Tells gossip what the node made of a received transaction message: accepted ones are
    /// forwarded, rejected ones are dropped and count against `via`, ignored ones are dropped.
    pub async fn report_validation(
        &self,
        id: MessageId,
        via: PeerId,
        verdict: GossipVerdict,
    ) -> Result<(), NetworkError> {
        self.send(Command::ReportValidation { id, via, verdict })
            .await
    }

    /// Sends a consensus message directly to validator `to`, or to every connected validator
    /// when `None`. Delivery is best effort: a peer that is not connected, or whose queue is
    /// full, loses the message (counted in [`NetworkCounters::consensus_dropped`]); consensus
    /// retransmits.
    pub async fn send_consensus(
        &self,
        to: Option<usize>,
        data: impl Into<Arc<[u8]>>,
    ) -> Result<(), NetworkError> {
        let data = data.into();
        check_size(
            "a consensus message",
            data.len(),
            MAX_CONSENSUS_MESSAGE_BYTES,
        )?;
        if let Some(index) = to.filter(|i| *i >= self.validator_count || *i == self.local.index) {
            return Err(NetworkError::UnknownValidator(index));
        }
        self.send(Command::SendConsensus { to, data }).await
    }

    /// Asks validator `peer` for up to `max_blocks` finalized blocks from `from_height`. The
    /// answer comes as [`super::NetworkEvent::BlockResponse`] or
    /// [`super::NetworkEvent::BlockRequestFailed`] with the returned id.
    pub async fn request_blocks(
        &self,
        peer: usize,
        from_height: u64,
        max_blocks: u32,
    ) -> Result<SyncRequestId, NetworkError> {
        let request = BlocksRequest::new(from_height, max_blocks)?;
        let (done, result) = oneshot::channel();
        self.send(Command::RequestBlocks {
            peer,
            request,
            done,
        })
        .await?;
        result.await.map_err(|_| NetworkError::Stopped)?
    }

    /// Answers a [`super::NetworkEvent::BlockRequest`] with block blobs: at most the
    /// `max_blocks` asked for and within [`super::MAX_SYNC_RESPONSE_BYTES`]; send fewer blocks
    /// when they do not fit, the peer asks again from where they end.
    ///
    /// Returns once the response is written to the peer's stream, or has failed: a peer that
    /// does not read holds its response here (and the caller's slot for it) until the request
    /// times out ([`super::SYNC_REQUEST_TIMEOUT`]), never longer, and cannot make this node
    /// buffer more responses for it than the caller lets it have in hand.
    pub async fn respond_blocks(
        &self,
        reply: BlockReply,
        blocks: Vec<Vec<u8>>,
    ) -> Result<(), NetworkError> {
        SyncBudget::check_all(reply.max_blocks, &blocks)?;
        let (delivered, outcome) = oneshot::channel();
        self.send(Command::RespondBlocks {
            reply,
            blocks,
            delivered,
        })
        .await?;
        outcome.await.map_err(|_| NetworkError::Stopped)?
    }

    /// The validators connected now, in index order.
    #[cfg(test)]
    pub async fn connected_peers(&self) -> Result<Vec<ValidatorPeer>, NetworkError> {
        let (done, result) = oneshot::channel();
        self.send(Command::ConnectedPeers { done }).await?;
        result.await.map_err(|_| NetworkError::Stopped)
    }

    /// The counts so far.
    pub fn counters(&self) -> NetworkCounters {
        let c = &self.counters;
        NetworkCounters {
            consensus_dropped: c.consensus_dropped.load(Ordering::Relaxed),
            consensus_send_failed: c.consensus_send_failed.load(Ordering::Relaxed),
            events_dropped: c.events_dropped.load(Ordering::Relaxed),
            connections_refused: c.connections_refused.load(Ordering::Relaxed),
            handshakes_refused: c.handshakes_refused.load(Ordering::Relaxed),
            handshakes_failed: c.handshakes_failed.load(Ordering::Relaxed),
            strangers_ignored: c.strangers_ignored.load(Ordering::Relaxed),
        }
    }

    /// Data events dropped from each validator's queues so far, by genesis index (this node's
    /// own entry stays zero): who floods this node, and with what.
    pub fn events_dropped_by_peer(&self) -> Vec<PeerEventDrops> {
        self.counters
            .peer_drops
            .iter()
            .map(|drops| PeerEventDrops {
                consensus: drops.consensus.load(Ordering::Relaxed),
                block_requests: drops.block_requests.load(Ordering::Relaxed),
                transactions: drops.transactions.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Stops the network and waits until its listener and swarm are dropped, so that the port
    /// can be bound again. Returns at once if it had stopped already.
    pub async fn shutdown(&self) {
        let (done, stopped) = oneshot::channel();
        if self.send(Command::Shutdown { done }).await.is_ok() {
            let _ = stopped.await;
        }
    }

    /// Sends a consensus message without the size check, so that tests can show that the
    /// receiving end refuses it too.
    #[cfg(test)]
    pub async fn send_consensus_unchecked(&self, to: usize, data: Vec<u8>) {
        let command = Command::SendConsensus {
            to: Some(to),
            data: data.into(),
        };
        self.send(command).await.expect("the network runs");
    }

    async fn send(&self, command: Command) -> Result<(), NetworkError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| NetworkError::Stopped)
    }
}

fn check_size(what: &'static str, size: usize, max: usize) -> Result<(), NetworkError> {
    if size > max {
        return Err(NetworkError::TooLarge { what, size, max });
    }
    Ok(())
}
