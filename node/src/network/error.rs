//! Type why the network refused a call or could not start.

use suyuan_ledger::crypto::PublicKey;

use super::codec::WireError;
use super::limits::MAX_SYNC_REQUESTS_IN_FLIGHT;

/// Why the network refused a call or could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
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
    /// A block response was not delivered: the request had timed out, or the connection
    /// failed or closed before the response was written.
    #[error("block response not delivered: {0}")]
    ResponseNotDelivered(String),
    /// The swarm task has stopped.
    #[error("the network has stopped")]
    Stopped,
}
