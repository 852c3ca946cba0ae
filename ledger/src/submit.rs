//! Say why a node refused to admit a transaction: the one refusal vocabulary that the node's
//! admission and mempool produce and the API and clients report.

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
}
