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
//! - [`raw`] encodes committed blocks in bulk, as stored, for `GET /v1/blocks/raw`: what
//!   `suyuan audit` reads from a running node.
//! - [`metrics`] times and counts requests by route and exposes them, with the node's
//!   [`Node::metrics`], at `/metrics`.
//! - [`openapi`] describes every endpoint as an OpenAPI document, served at `/openapi.json`;
//!   every route is added through one list that [`served_routes`] reads back, and the tests
//!   check the document against it.
//! - Enterprises: `profile` gathers what the chain says about one enterprise as of one block
//!   (a storage snapshot); `report` and `html` shape the supplier verification report from it,
//!   `measure` counts what its records show and `score` turns the counts into the weighted,
//!   explainable traceability score; [`views`] holds those bodies.
//!
//! - Proofs: [`bundle`] defines the proof bundle and consistency proof and verifies them
//!   offline against the genesis file alone (pure: `suyuan verify` runs it); the
//!   `/v1/proofs` routes build them at the latest finalized height. [`signing`] signs
//!   finalizations with in-memory validator keys, for demo chains, tests and benchmarks.
//!
//! The endpoints and error codes are documented for integrators in `docs/api.md`.

pub mod bundle;
mod endpoints;
pub mod error;
mod extract;
mod html;
pub mod justification;
mod measure;
pub mod metrics;
pub mod openapi;
mod profile;
pub mod raw;
pub mod read_only;
mod report;
mod routes;
mod score;
mod server;
pub mod signing;
pub mod types;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router};
use suyuan_ledger::tx::{Envelope, TxId};
use tower::{BoxError, ServiceBuilder};

use crate::endpoints::Endpoints;
pub use crate::endpoints::ServedRoute;
pub use crate::error::{ApiError, SubmitError};
use crate::metrics::NodeMetrics;
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

/// The router serving every endpoint of the API under its limits.
pub fn router(state: ApiState) -> Router {
    let limits = state.limits;
    let api_metrics = Arc::new(metrics::Metrics::new(Arc::clone(&state.node)));
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
    let (endpoint_router, _) = endpoints().into_parts();
    endpoint_router
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&api_metrics),
            metrics::track,
        ))
        .layer(Extension(api_metrics))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Every endpoint, in one place: [`router`] serves them and [`served_routes`] lists them.
fn endpoints() -> Endpoints {
    Endpoints::new()
        .post("/v1/transactions", routes::transactions::submit)
        .post("/v1/transactions/batch", routes::transactions::submit_batch)
        .get("/v1/transactions/{id}", routes::transactions::transaction)
        .get("/v1/status", routes::status::status)
        .get("/v1/blocks/latest", routes::blocks::latest)
        .get("/v1/blocks/raw", routes::blocks::raw)
        .get("/v1/blocks/{height}", routes::blocks::block)
        .get(
            "/v1/blocks/{height}/transactions",
            routes::blocks::transactions,
        )
        .get("/v1/products/{code}", routes::products::product)
        .get("/v1/codes/{code}", routes::codes::code)
        .get("/v1/proofs/consistency", routes::proofs::consistency)
        .get("/v1/proofs/{code}", routes::proofs::proof)
        .get("/v1/enterprises/{uscc}", routes::enterprises::enterprise)
        .get(
            "/v1/enterprises/{uscc}/records",
            routes::enterprises::records,
        )
        .get("/v1/enterprises/{uscc}/report", routes::enterprises::report)
        .get("/v1/enterprises/{uscc}/score", routes::enterprises::score)
        .get("/v1/scores", routes::enterprises::scores)
        .get("/healthz", routes::status::healthz)
        .get("/readyz", routes::status::readyz)
        .get("/metrics", routes::status::metrics)
        .get("/openapi.json", routes::status::openapi)
}

/// Every route [`router`] serves, as method and path template; the OpenAPI document must
/// list exactly these.
pub fn served_routes() -> Vec<ServedRoute> {
    endpoints().into_parts().1
}

/// Serves until `shutdown` completes, then finishes in-flight requests: HTTP/1.1, with the
/// connection bounds of [`server`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.limits;
    server::serve(listener, router(state), limits, shutdown).await
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
