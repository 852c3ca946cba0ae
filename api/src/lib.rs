//! Serve a Suyuan node's HTTP API: submit signed transactions, read status, transactions,
//! blocks and product histories, as JSON.
//!
//! The parts and how they fit:
//!
//! - [`Node`] is what the API needs from the node that serves it: admitting envelopes into its
//!   mempool, what it knows of transactions it has not committed, and its status. The node
//!   implements it; tests implement it over a real [`suyuan_storage::Store`].
//! - [`ApiState`] bundles the node, its store (read directly for committed data) and the
//!   [`ApiLimits`].
//! - [`router`] builds the axum router with every endpoint and the limits: body size, request
//!   timeout, in-flight requests (more are shed with 503 `overloaded`) and batch size;
//!   [`serve`] runs it on a listener until a shutdown future completes.
//! - [`types`] holds every request and response body, shared with clients; [`error`] maps
//!   every failure to a status and a JSON [`types::ErrorBody`] with a stable code.
//!
//! The endpoints and error codes are documented for integrators in `docs/api.md`.

pub mod error;
mod extract;
mod routes;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use suyuan_ledger::tx::{Envelope, TxId};
use tower::{BoxError, ServiceBuilder};

pub use crate::error::{ApiError, SubmitError};
use crate::types::{NodeStatus, PendingState};

/// What the API needs from the node that serves it. The node implements it; tests may
/// implement it over a real Store.
pub trait Node: Send + Sync + 'static {
    /// Admits envelopes (already decoded from JSON) into the mempool: one result per envelope,
    /// in order.
    fn submit(&self, envelopes: Vec<Envelope>) -> BoxFuture<Vec<Result<TxId, SubmitError>>>;
    /// A transaction this node holds but has not committed: pending in its mempool, or refused
    /// recently (the node keeps a bounded memory of refusals). None if it knows nothing of it
    /// (the API then looks in the store).
    fn pending(&self, id: &TxId) -> Option<PendingState>;
    /// The node's current status.
    fn status(&self) -> NodeStatus;
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
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_body_bytes: 8 * 1024 * 1024,
            request_timeout: Duration::from_secs(10),
            max_concurrent_requests: 1024,
            max_batch: 1000,
        }
    }
}

/// The router serving every endpoint of the API under its limits.
pub fn router(state: ApiState) -> Router {
    let limits = state.limits;
    let middleware = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(move |error: BoxError| async move {
            middleware_error(&error, limits)
        }))
        .load_shed()
        // Global: `Router::layer` wraps each route separately, and the bound is for the server.
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            limits.max_concurrent_requests,
        ))
        .timeout(limits.request_timeout);
    Router::new()
        .route("/v1/transactions", post(routes::transactions::submit))
        .route(
            "/v1/transactions/batch",
            post(routes::transactions::submit_batch),
        )
        .route(
            "/v1/transactions/{id}",
            get(routes::transactions::transaction),
        )
        .route("/v1/status", get(routes::status::status))
        .route("/v1/blocks/latest", get(routes::blocks::latest))
        .route("/v1/blocks/{height}", get(routes::blocks::block))
        .route(
            "/v1/blocks/{height}/transactions",
            get(routes::blocks::transactions),
        )
        .route("/v1/products/{code}", get(routes::products::product))
        .route("/healthz", get(routes::status::healthz))
        .route("/readyz", get(routes::status::readyz))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The response for a request the middleware stopped: shed, timed out.
fn middleware_error(error: &BoxError, limits: ApiLimits) -> ApiError {
    if error.is::<tower::load_shed::error::Overloaded>() {
        ApiError::overloaded()
    } else if error.is::<tower::timeout::error::Elapsed>() {
        ApiError::timeout(limits.request_timeout)
    } else {
        ApiError::internal(format!("request failed: {error}"))
    }
}
