//! Type every reason an input is refused.

use crate::types::{InvalidBlock, ValidatorIndex, View};

/// Why [`Engine::handle`](crate::Engine::handle) refused an input. Nothing about a refused input
/// changes the engine's state.
///
/// [`Rejection::is_fault`] tells a driver whether the sending peer provably misbehaved (worth a
/// penalty) or the message was merely late, early or redundant (normal on a lossy network).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The bytes did not decode.
    #[error("undecodable message: {0}")]
    Decode(#[from] DecodeError),
    /// The message names another chain.
    #[error("message is for another chain")]
    WrongChain,
    /// A signer index outside the validator set.
    #[error("signer {signer} is not a validator")]
    UnknownSigner {
        /// The claimed signer.
        signer: ValidatorIndex,
    },
    /// A signature did not verify.
    #[error("bad signature from {signer}")]
    BadSignature {
        /// The claimed signer.
        signer: ValidatorIndex,
    },
    /// The view is at or below the last finalized view: nothing there can matter any more.
    #[error("view {view} is at or below the finalized view {finalized}")]
    Stale {
        /// The message's view.
        view: View,
        /// The last finalized view.
        finalized: View,
    },
    /// A vote for a view too far beyond the current one.
    #[error("vote for view {view} is beyond the window ending at {limit}")]
    TooFarAhead {
        /// The vote's view.
        view: View,
        /// The last view currently accepted.
        limit: View,
    },
    /// A certificate with fewer signers than the quorum.
    #[error("certificate has {got} signers, quorum is {quorum}")]
    TooFewSigners {
        /// Number of signers.
        got: usize,
        /// The quorum.
        quorum: usize,
    },
    /// A certificate with no signers or more signers than validators.
    #[error("certificate has an impossible signer count {got}")]
    BadSignerCount {
        /// Number of signers.
        got: usize,
    },
    /// Certificate signers repeated or out of order.
    #[error("certificate signers are not distinct and ascending")]
    SignersNotAscending,
    /// An input other than `Recovered` before `Recovered`, or a second `Recovered`.
    #[error("the engine must get Input::Recovered first and only once")]
    OutOfOrderStart,
    /// A recovered vote is not this validator's own.
    #[error("recovered vote signed by {signer}, not by this validator")]
    NotMyVote {
        /// The vote's signer.
        signer: ValidatorIndex,
    },
    /// More recovered votes than [`MAX_RECOVERED_VOTES`](crate::limits::MAX_RECOVERED_VOTES).
    #[error("{got} recovered votes exceed the bound")]
    TooManyRecoveredVotes {
        /// Number of votes given.
        got: usize,
    },
    /// A proposal or verdict from the application that answers no open request.
    #[error("application input answers no open request for view {view}")]
    Unrequested {
        /// The view it named.
        view: View,
    },
}

impl Rejection {
    /// Whether the peer that sent the refused message provably misbehaved. Late, early and
    /// local-application problems are not faults; forged, malformed or foreign messages are.
    pub fn is_fault(&self) -> bool {
        match self {
            Rejection::Decode(_)
            | Rejection::WrongChain
            | Rejection::UnknownSigner { .. }
            | Rejection::BadSignature { .. }
            | Rejection::TooFewSigners { .. }
            | Rejection::BadSignerCount { .. }
            | Rejection::SignersNotAscending => true,
            Rejection::Stale { .. }
            | Rejection::TooFarAhead { .. }
            | Rejection::OutOfOrderStart
            | Rejection::NotMyVote { .. }
            | Rejection::TooManyRecoveredVotes { .. }
            | Rejection::Unrequested { .. } => false,
        }
    }
}

/// Why bytes did not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Longer than [`MAX_MESSAGE_BYTES`](crate::limits::MAX_MESSAGE_BYTES).
    #[error("{len} bytes exceed the {max}-byte message bound")]
    Oversize {
        /// Length of the input.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The input ended inside a field.
    #[error("truncated at byte {at}")]
    Truncated {
        /// Offset where more bytes were needed.
        at: usize,
    },
    /// Bytes left after a complete message.
    #[error("{count} trailing bytes")]
    Trailing {
        /// How many.
        count: usize,
    },
    /// A wire version this crate does not speak.
    #[error("unknown wire version {0}")]
    UnknownVersion(u8),
    /// An unknown message tag.
    #[error("unknown message tag {0}")]
    UnknownTag(u8),
    /// An unknown vote kind.
    #[error("unknown vote kind {0}")]
    UnknownKind(u8),
    /// Block fields that break the chain rules.
    #[error("invalid block: {0}")]
    Block(#[from] InvalidBlock),
    /// A certificate with zero or more than [`MAX_VALIDATORS`](crate::limits::MAX_VALIDATORS) signers.
    #[error("certificate signer count {0} out of range")]
    SignerCount(usize),
    /// Certificate signers repeated or out of order.
    #[error("certificate signers not strictly ascending")]
    SignersNotAscending,
}
