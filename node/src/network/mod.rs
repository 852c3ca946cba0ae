//! Connect the genesis validators to each other over libp2p, and to no one else.
//!
//! The network moves opaque bytes; it never decodes a transaction, a vote or a block. Its parts:
//!
//! - identity: a validator's libp2p key *is* its ed25519 validator key from genesis, so a
//!   [`PeerId`] names exactly one genesis validator ([`peer_id_of`]);
//! - transport: TCP, noise, yamux; connections from any peer outside genesis are refused as soon
//!   as the noise handshake names it, before any protocol stream opens (`allow_block_list`), and
//!   connection counts are bounded (`connection_limits`, [`MAX_CONNECTIONS_PER_PEER`]);
//! - [`peers`]: dials every other validator at its genesis `p2p_address` and redials with jittered
//!   exponential backoff after a disconnect or a failed dial;
//! - transactions: gossipsub on one topic per chain ([`transaction_topic`]), content-addressed
//!   message ids, strict signing, and nothing forwarded before the node accepts it
//!   ([`NetworkHandle::report_validation`]);
//! - consensus: direct request-response sends (`/suyuan/consensus/1`) to each connected
//!   validator, so liveness never rests on gossip; per-peer queues drop their oldest message when
//!   full ([`outbox`]);
//! - sync: request-response (`/suyuan/sync/1`) for pages of finalized blocks ([`codec`]);
//! - [`Network::start`] spawns the swarm task ([`task`]) and hands back a [`NetworkHandle`] to
//!   drive it and a bounded receiver of [`NetworkEvent`]s.
//!
//! Every queue, message and count has a named bound below.

mod behaviour;
mod codec;
mod events;
mod handle;
mod outbox;
mod peers;
mod task;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use libp2p::gossipsub::{IdentTopic, MessageId};
use libp2p::identity::{self, Keypair};
use libp2p::{Multiaddr, PeerId};
use suyuan_ledger::crypto::{KeyPair, PublicKey};
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::limits::{MAX_BLOCK_BODY_BYTES, MAX_ENVELOPE_BYTES};
use tokio::sync::mpsc;

pub(crate) use codec::{SyncRequestId, WireError};
pub(crate) use events::{BlockReply, NetworkEvent};
#[cfg(test)]
pub(crate) use handle::NetworkCounters;
pub(crate) use handle::NetworkHandle;
pub(crate) use peers::ValidatorPeer;

/// Largest gossip message: a batch of transaction envelopes (always room for one of the
/// largest).
pub(crate) const MAX_TRANSACTION_BYTES: usize = 1024 * 1024;

const _: () = assert!(MAX_ENVELOPE_BYTES + 64 <= MAX_TRANSACTION_BYTES);

/// Room gossipsub needs around a transaction in one frame: topic, author, sequence number,
/// signature and protobuf tags.
pub(crate) const GOSSIP_FRAMING_BYTES: usize = 2 * 1024;

/// Largest message sent directly on the consensus protocol: a leader's full block proposal
/// (header and a body of up to [`MAX_BLOCK_BODY_BYTES`]) with room for framing. Votes and
/// certificates are far smaller (a certificate of 256 signers is about 25 KiB).
pub(crate) const MAX_CONSENSUS_MESSAGE_BYTES: usize = MAX_BLOCK_BODY_BYTES + 64 * 1024;

/// Consensus messages queued for one peer before the oldest is dropped.
pub(crate) const CONSENSUS_QUEUE_MESSAGES_PER_PEER: usize = 1024;

/// Bytes of consensus messages queued for one peer before the oldest is dropped: room for a
/// few full proposals.
pub(crate) const CONSENSUS_QUEUE_BYTES_PER_PEER: usize = 4 * MAX_CONSENSUS_MESSAGE_BYTES;

/// Consensus messages sent to one peer and not yet acknowledged; the rest wait in its queue.
pub(crate) const CONSENSUS_IN_FLIGHT_PER_PEER: usize = 32;

/// Time a consensus send waits for the peer's acknowledgement.
pub(crate) const CONSENSUS_SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Most blocks one sync request may ask for, and one response may carry.
pub(crate) const MAX_SYNC_BLOCKS: u32 = 128;

/// Largest single block blob in a sync response: a full block body plus its header and
/// finalization certificate.
pub(crate) const MAX_SYNC_BLOB_BYTES: usize = MAX_BLOCK_BODY_BYTES + 2 * 1024 * 1024;

/// Largest sync response, all blobs and their length prefixes together; always room for one
/// blob of [`MAX_SYNC_BLOB_BYTES`].
pub(crate) const MAX_SYNC_RESPONSE_BYTES: usize = 2 * MAX_SYNC_BLOB_BYTES;

/// Sync requests this node may have outstanding at once, over all peers.
pub(crate) const MAX_SYNC_REQUESTS_IN_FLIGHT: usize = 4;

/// Time a sync request waits for its whole response.
pub(crate) const SYNC_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Concurrent inbound plus outbound streams per request-response protocol and connection.
pub(crate) const MAX_STREAMS_PER_PROTOCOL: usize = 64;

/// Yamux streams per connection, over all protocols.
pub(crate) const MAX_STREAMS_PER_CONNECTION: usize = 256;

/// Established connections to one peer: two, so that a simultaneous dial from both ends, or a
/// restarted peer's new connection racing the old one's close, does not cut the link.
pub(crate) const MAX_CONNECTIONS_PER_PEER: u32 = 2;

/// Incoming connections still in their handshake; strangers can hold at most these.
pub(crate) const MAX_PENDING_INCOMING: u32 = 32;

/// Events queued for the node before data events (transactions, consensus messages, block
/// requests) are dropped and counted.
pub(crate) const EVENT_QUEUE_CAPACITY: usize = 4096;

/// Control events (peer up or down, sync responses and failures) held back while the event
/// queue is full; beyond it the oldest is dropped and counted.
pub(crate) const CONTROL_BACKLOG_CAPACITY: usize = 1024;

/// Commands queued from [`NetworkHandle`]s to the swarm task; senders wait when it is full.
pub(crate) const COMMAND_QUEUE_CAPACITY: usize = 1024;

/// Interval of liveness pings on each connection; a failed ping closes the connection.
pub(crate) const PING_INTERVAL: Duration = Duration::from_secs(5);

/// Time a ping waits for its answer.
pub(crate) const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection with no open stream is kept. Validators keep their gossip streams open,
/// so this only closes links that lost every protocol.
pub(crate) const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3600);

/// How often the redial schedule is checked.
pub(crate) const REDIAL_TICK: Duration = Duration::from_millis(100);

/// What a node chooses for itself; everything the consortium shares comes from genesis.
#[derive(Debug, Clone)]
pub(crate) struct NetworkConfig {
    /// Where to listen; `None` listens on this validator's genesis `p2p_address`.
    pub(crate) listen_address: Option<Multiaddr>,
    /// First redial delay after a disconnect, before jitter; it doubles after each failed dial.
    pub(crate) redial_initial: Duration,
    /// Largest redial delay, before jitter.
    pub(crate) redial_max: Duration,
    /// Seed of the redial jitter; `None` seeds from the OS. Tests pass a seed.
    pub(crate) jitter_seed: Option<u64>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            listen_address: None,
            redial_initial: Duration::from_millis(250),
            redial_max: Duration::from_secs(10),
            jitter_seed: None,
        }
    }
}

/// Why the network refused a call or could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NetworkError {
    /// This node's key is not one of the genesis validators'.
    #[error("this node's key {0} is not a genesis validator")]
    NotAValidator(PublicKey),
    /// A genesis key cannot be a libp2p ed25519 key.
    #[error("validator {index}'s key is not a valid ed25519 point")]
    BadValidatorKey {
        /// The validator's index in genesis.
        index: usize,
    },
    /// A genesis `p2p_address` or the listen address is not a TCP multiaddress.
    #[error("validator {index}'s p2p address {address:?} is not a multiaddress: {reason}")]
    BadAddress {
        /// The validator's index in genesis.
        index: usize,
        /// The address as written.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The transport could not be built or could not listen.
    #[error("network transport: {0}")]
    Transport(String),
    /// No validator has this index, or it is this node itself.
    #[error("no other validator has index {0}")]
    UnknownValidator(usize),
    /// The validator is not connected now.
    #[error("validator {0} is not connected")]
    NotConnected(usize),
    /// A message is larger than its protocol allows.
    #[error("{what} of {size} bytes; at most {max} allowed")]
    TooLarge {
        /// Which kind of message.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The bound.
        max: usize,
    },
    /// A sync request or response breaks the wire bounds.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// [`MAX_SYNC_REQUESTS_IN_FLIGHT`] requests are already outstanding.
    #[error("{MAX_SYNC_REQUESTS_IN_FLIGHT} sync requests are already outstanding")]
    TooManySyncRequests,
    /// Gossipsub refused to publish (a duplicate, or no peer subscribed yet).
    #[error("gossip publish refused: {0}")]
    Publish(String),
    /// The swarm task has stopped.
    #[error("the network has stopped")]
    Stopped,
}

/// Starts the network of one validator.
pub(crate) struct Network;

impl Network {
    /// Listens, dials every other genesis validator, and spawns the swarm task on the current
    /// tokio runtime.
    ///
    /// Drive it through the [`NetworkHandle`] (clone it freely) and drain the receiver: it is
    /// bounded by [`EVENT_QUEUE_CAPACITY`], and a node that does not drain it loses data events
    /// (counted in `NetworkCounters::events_dropped`). The task stops on
    /// [`NetworkHandle::shutdown`], when every handle is dropped, or when the receiver is dropped.
    pub(crate) fn start(
        config: NetworkConfig,
        genesis: &Genesis,
        key: &KeyPair,
    ) -> Result<(NetworkHandle, mpsc::Receiver<NetworkEvent>), NetworkError> {
        let validators = peers::Validators::from_genesis(genesis, &key.public())?;
        let listen = match config.listen_address.clone() {
            Some(address) => address,
            None => validators.address(validators.local().index).clone(),
        };
        let swarm = behaviour::build_swarm(libp2p_keypair(key), genesis, &validators)?;
        let (commands_tx, commands_rx) = mpsc::channel(COMMAND_QUEUE_CAPACITY);
        let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE_CAPACITY);
        let counters = Arc::new(handle::Counters::default());
        let local = validators.local();
        let handle =
            NetworkHandle::new(commands_tx, Arc::clone(&counters), local, validators.len());
        let mut task = task::SwarmTask::new(
            swarm,
            &config,
            validators,
            commands_rx,
            events::EventSink::new(events_tx, Arc::clone(&counters)),
            counters,
            transaction_topic(&genesis.chain_id),
        );
        task.listen(listen)?;
        tokio::spawn(task.run());
        Ok((handle, events_rx))
    }
}

/// The libp2p peer id of the validator with this ed25519 key.
pub(crate) fn peer_id_of(key: &PublicKey) -> Option<PeerId> {
    let ed25519 = identity::ed25519::PublicKey::try_from_bytes(key.as_bytes()).ok()?;
    Some(identity::PublicKey::from(ed25519).to_peer_id())
}

/// The libp2p identity of a validator: its own ed25519 key.
fn libp2p_keypair(key: &KeyPair) -> Keypair {
    let mut seed = key.seed();
    Keypair::ed25519_from_bytes(&mut seed)
        .expect("any 32 bytes are an ed25519 seed, and seed() returns 32")
}

/// The gossip topic of a chain's transactions; the chain id keeps two consortia apart.
pub(crate) fn transaction_topic(chain_id: &str) -> IdentTopic {
    IdentTopic::new(format!("/suyuan/{chain_id}/transactions/1"))
}

/// The gossip message id of `data`: its hash, so the same transaction gossiped twice, by anyone,
/// is one message.
pub(crate) fn gossip_message_id(data: &[u8]) -> MessageId {
    let hash = suyuan_ledger::hash::hash_parts("suyuan gossip message id v1", &[data]);
    MessageId::new(hash.as_bytes())
}
