//! Define what every handler reads: the [`Node`] serving the API, its store, and the
//! [`ApiLimits`] the router enforces.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{Envelope, TxId};

use crate::metrics::NodeMetrics;
use crate::types::{NodeStatus, PendingState};

/// What the API needs from the node that serves it. The node implements it; tests may
/// implement it over a real Store.
pub trait Node: Send + Sync + 'static {
    /// Admits envelopes (already decoded from JSON), sent by a client at address `from`, into
    /// the mempool: one result per envelope, in order. The node shares admission fairly
    /// between client addresses and bounds what each may have waiting.
    fn submit(
        &self,
        envelopes: Vec<Envelope>,
        from: IpAddr,
    ) -> BoxFuture<Vec<Result<TxId, SubmitError>>>;
    /// Whether the node takes submissions from `from` at all now, asked before a submission's
    /// body is read, so that a client refused for a while (after sending failing signatures)
    /// costs no parsing: `Err` with the refusal. Takes them all unless the node says otherwise.
    fn admits_from(&self, from: IpAddr) -> Result<(), SubmitError> {
        let _ = from;
        Ok(())
    }
    /// A transaction this node holds but has not committed: pending in its mempool, or refused
    /// recently (the node keeps a bounded memory of refusals). None if it knows nothing of it
    /// (the API then looks in the store).
    fn pending(&self, id: &TxId) -> Option<PendingState>;
    /// The node's current status.
    fn status(&self) -> NodeStatus;
    /// What the node counts for `/metrics` beyond its status: commits and finalization
    /// latency. Read at each scrape.
    fn metrics(&self) -> NodeMetrics;
}

/// A boxed future that can be sent across threads, as [`Node::submit`] returns.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;

/// Everything a handler reads: the node and its store.
#[derive(Clone)]
pub struct ApiState {
    /// The node's store, read for committed blocks and transactions.
    pub store: Arc<suyuan_storage::Store>,
    /// The node.
    pub node: Arc<dyn Node>,
    /// The limits the router enforces.
    pub limits: ApiLimits,
}

/// The bounds the API puts on requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiLimits {
    /// Largest request body; larger ones get 413 `body_too_large`.
    pub max_body_bytes: usize,
    /// Longest a request may take, body included; slower ones get 503 `timeout`.
    pub request_timeout: Duration,
    /// Requests handled at once; more are shed with 503 `overloaded`.
    pub max_concurrent_requests: usize,
    /// Most envelopes in one batch; more get 400 `batch_too_large`.
    pub max_batch: usize,
    /// Connections open at once; one beyond is closed as soon as it is accepted.
    pub max_connections: usize,
    /// Longest a client may take to send a request's headers, on a new connection or between
    /// requests on a kept-alive one; then the connection is closed.
    pub header_read_timeout: Duration,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_body_bytes: 8 * 1024 * 1024,
            request_timeout: Duration::from_secs(10),
            max_concurrent_requests: 1024,
            max_batch: 1000,
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}
