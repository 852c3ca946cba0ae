//! Name every bound of the network: message sizes, queues, streams, connections and timeouts.
//! Sizes follow from the ledger's and the node's frames, so that every message the node builds
//! fits the protocol that carries it.

use std::time::Duration;

use suyuan_ledger::limits::MAX_ENVELOPE_BYTES;

/// Largest gossip message: a batch of transaction envelopes, as the gossip batcher cuts them
/// (its count and at most [`crate::frames::MAX_BATCH_BYTES`] of envelopes).
pub const MAX_TRANSACTION_BYTES: usize = 4 + crate::frames::MAX_BATCH_BYTES;

const _: () = assert!(MAX_ENVELOPE_BYTES + 64 <= MAX_TRANSACTION_BYTES);

/// Room gossipsub needs around a transaction in one frame: topic, author, sequence number,
/// signature and protobuf tags.
pub const GOSSIP_FRAMING_BYTES: usize = 2 * 1024;

/// Largest message sent directly on the consensus protocol: the largest frame, a leader's full
/// block proposal (votes and certificates are far smaller).
pub const MAX_CONSENSUS_MESSAGE_BYTES: usize = crate::frames::MAX_FRAME_BYTES;

/// Consensus messages queued for one peer before the oldest is dropped.
pub const CONSENSUS_QUEUE_MESSAGES_PER_PEER: usize = 1024;

/// Bytes of consensus messages queued for one peer before the oldest is dropped: room for a
/// few full proposals.
pub const CONSENSUS_QUEUE_BYTES_PER_PEER: usize = 4 * MAX_CONSENSUS_MESSAGE_BYTES;

/// Consensus messages sent to one peer and not yet acknowledged; the rest wait in its queue.
pub const CONSENSUS_IN_FLIGHT_PER_PEER: usize = 32;

/// Time a consensus send waits for the peer's acknowledgement.
pub const CONSENSUS_SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Most blocks one sync request may ask for, and one response may carry.
pub const MAX_SYNC_BLOCKS: u32 = 128;

/// Largest single block blob in a sync response: the largest block with the largest
/// justification consensus may form.
pub const MAX_SYNC_BLOB_BYTES: usize = crate::frames::MAX_SYNCED_BLOCK_BYTES;

/// Largest sync response, all blobs and their length prefixes together; always room for one
/// blob of [`MAX_SYNC_BLOB_BYTES`].
pub const MAX_SYNC_RESPONSE_BYTES: usize = 2 * MAX_SYNC_BLOB_BYTES;

/// Sync requests this node may have outstanding at once, over all peers.
pub const MAX_SYNC_REQUESTS_IN_FLIGHT: usize = 4;

/// Time a sync request waits for its whole response.
pub const SYNC_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Concurrent inbound plus outbound streams per request-response protocol and connection.
pub const MAX_STREAMS_PER_PROTOCOL: usize = 64;

/// Yamux streams per connection, over all protocols.
pub const MAX_STREAMS_PER_CONNECTION: usize = 256;

/// Established connections to one peer: two, so that a simultaneous dial from both ends, or a
/// restarted peer's new connection racing the old one's close, does not cut the link.
pub const MAX_CONNECTIONS_PER_PEER: u32 = 2;

/// Time a connection has for its whole handshake, in either direction: the TCP connect (when
/// dialing), multistream-select, the noise handshake, multistream-select again and yamux. That
/// is about five round trips; at 500 ms each, a slow intercontinental path, 2.5 s. Twice that
/// leaves room for a loaded host, and a silent or dribbling socket holds its slot no longer.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Incoming handshakes reserved for each other genesis validator, counted by the IP address of
/// its genesis `p2p_address`: a validator dials a peer once at a time, but a restart or a
/// simultaneous dial can briefly add a second attempt per connection it may hold
/// ([`MAX_CONNECTIONS_PER_PEER`]), so twice that. Nobody at another address can take them, so
/// strangers never starve the validators' dials.
pub const RESERVED_PENDING_INCOMING_PER_VALIDATOR: u32 = 2 * MAX_CONNECTIONS_PER_PEER;

/// Incoming handshakes from one address that is no validator's (an IPv6 address counts by its
/// /64, which one host usually holds whole), and from a validator's address beyond its reserved
/// ones. A genesis validator that dials from another address than its genesis one (behind NAT,
/// or on a host with several) lands here and needs as many as a reserved validator does; no
/// honest peer needs more.
pub const MAX_PENDING_INCOMING_PER_ADDRESS: u32 = RESERVED_PENDING_INCOMING_PER_VALIDATOR;

/// Incoming handshakes from all addresses outside the reserved slots together. Each costs a
/// socket, a task and one noise handshake; 64 are cheap, and leave room for a dozen validators
/// that dial from unexpected addresses while strangers hold the rest. With the reserved slots
/// this bounds every pending incoming connection: `64 + 4 × (validators − 1)`.
pub const MAX_PENDING_INCOMING_UNRESERVED: u32 = 64;

const _: () = assert!(MAX_PENDING_INCOMING_PER_ADDRESS <= MAX_PENDING_INCOMING_UNRESERVED);

/// Events handed to the node ahead of its reading. Few: what goes next (consensus first,
/// validators in turn) is chosen from the per-validator queues below when the node has room,
/// not fixed by arrival order long before; and each may be a full proposal, held outside any
/// validator's quota. Enough that a burst does not wake the swarm task for every event.
pub const EVENT_CHANNEL_CAPACITY: usize = 16;

/// Consensus messages from one validator waiting for the node: an honest validator sends a
/// handful per view (a proposal when it leads, its votes, certificates), so this holds dozens
/// of views of backlog while the node executes a large block. Beyond it the validator's oldest
/// waiting message is dropped (a newer view supersedes it), and no other validator's.
pub const CONSENSUS_EVENTS_PER_PEER: usize = 256;

/// Bytes of consensus messages from one validator waiting for the node: two full proposals,
/// the current view's and the next one's, with room for votes beside them.
pub const CONSENSUS_EVENT_BYTES_PER_PEER: usize = 2 * MAX_CONSENSUS_MESSAGE_BYTES + 1024 * 1024;

/// Block requests from one validator waiting for the node: an honest one has at most
/// [`MAX_SYNC_REQUESTS_IN_FLIGHT`] outstanding; twice that absorbs a retry racing a timeout.
pub const BLOCK_REQUEST_EVENTS_PER_PEER: usize = 2 * MAX_SYNC_REQUESTS_IN_FLIGHT;

/// Gossiped transaction batches authored by one validator waiting for the node (counted by
/// author, whoever forwarded them, so that relaying never spends a relay's share).
pub const TRANSACTION_EVENTS_PER_PEER: usize = 1024;

/// Bytes of gossiped transaction batches authored by one validator waiting for the node: eight
/// full batches, a few seconds of a busy validator's gossip while the node executes a block.
/// Beyond it that author's oldest waiting batch is dropped and reported as ignored to gossip.
pub const TRANSACTION_EVENT_BYTES_PER_PEER: usize = 8 * MAX_TRANSACTION_BYTES;

const _: () = assert!(CONSENSUS_EVENT_BYTES_PER_PEER >= MAX_CONSENSUS_MESSAGE_BYTES);
const _: () = assert!(TRANSACTION_EVENT_BYTES_PER_PEER >= MAX_TRANSACTION_BYTES);

/// Consensus messages and block requests handed to the node in a row while transactions wait,
/// before one transaction batch goes. Consensus comes first, but a validator flooding
/// consensus frames must not stop gossip altogether.
pub const PRIORITY_EVENTS_BEFORE_GOSSIP: usize = 16;

/// Control events (peer up or down, sync responses and failures) held back while the event
/// channel is full; beyond it the oldest is dropped and counted. They go to the node before
/// any data event.
pub const CONTROL_BACKLOG_CAPACITY: usize = 1024;

/// Commands queued from `NetworkHandle`s to the swarm task; senders wait when it is full.
pub const COMMAND_QUEUE_CAPACITY: usize = 1024;

/// Interval of liveness pings on each connection; a failed ping closes the connection.
pub const PING_INTERVAL: Duration = Duration::from_secs(5);

/// Time a ping waits for its answer.
pub const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection with no open stream is kept. Validators keep their gossip streams open,
/// so this only closes links that lost every protocol.
pub const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3600);

/// How often the redial schedule is checked.
pub const REDIAL_TICK: Duration = Duration::from_millis(100);
