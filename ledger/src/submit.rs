//! Say why a node refused to admit a transaction: the one refusal vocabulary that the node's
//! admission and mempool produce and the API and clients report.

use crate::crypto::PublicKey;
use crate::exec::ExecError;
use crate::tx::{TxError, TxId};

/// Why the node refused to admit an envelope; the API maps each to an HTTP status (`docs/api.md`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SubmitError {
    /// The envelope is malformed or its signature does not verify.
    #[error(transparent)]
    Envelope(TxError),
    /// Executing it against the node's state breaks a rule, or the state could not be
    /// read.
    #[error(transparent)]
    Rule(ExecError),
    /// The same transaction is already pending on this node.
    #[error("transaction {0} is already pending")]
    Duplicate(TxId),
    /// The mempool is at its bound: retry later.
    #[error("the mempool is full ({held} transactions, {held_bytes} bytes); retry later")]
    Full {
        /// Transactions held.
        held: usize,
        /// Their size.
        held_bytes: usize,
    },
    /// The node is stopping or not ready.
    #[error("the node is not accepting transactions now")]
    Unavailable,
    /// The node's admission is saturated (it checks signatures as fast as it can): retry
    /// later. Nothing of the batch was admitted.
    #[error("the node is admitting transactions as fast as it can; retry later")]
    Busy,
    /// The sender is over its share of the node's admission: too many of its batches wait, its
    /// batch is over the allowance it has while its recent batches failed signature checks, or
    /// it is refused for a while after repeated failures. Nothing was checked.
    #[error("this client is over its share of admission; retry in {retry_after_ms} ms")]
    Throttled {
        /// How long until the sender may be served again.
        retry_after_ms: u64,
    },
    /// The signer has as many transactions pending on this node as one signer may: retry once
    /// some are committed.
    #[error("signer {signer} has {pending} transactions pending, the most one signer may have")]
    SignerLimit {
        /// The signer.
        signer: PublicKey,
        /// Its transactions pending.
        pending: usize,
    },
    /// The batch's signatures failed the batch check, and the node stopped searching it for the
    /// invalid ones before it reached this envelope: it was neither admitted nor found invalid.
    /// Resubmit it with correct signatures around it.
    #[error(
        "the batch holds invalid signatures and the node stopped checking it before this envelope"
    )]
    Unverified,
}
