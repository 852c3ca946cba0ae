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

/// Incoming connections still in their handshake; strangers can hold at most these.
pub const MAX_PENDING_INCOMING: u32 = 32;

/// Events queued for the node before data events (transactions, consensus messages, block
/// requests) are dropped and counted.
pub const EVENT_QUEUE_CAPACITY: usize = 4096;

/// Control events (peer up or down, sync responses and failures) held back while the event
/// queue is full; beyond it the oldest is dropped and counted.
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
