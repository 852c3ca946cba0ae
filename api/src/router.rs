//! Build the router that serves every endpoint under the API's limits, and serve it on a
//! listener.

use std::sync::Arc;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router};
use tower::{BoxError, ServiceBuilder};

use crate::endpoints::{Endpoints, ServedRoute};
use crate::error::ApiError;
use crate::metrics::{self, Metrics};
use crate::openapi;
use crate::reads::ReadPool;
use crate::routes::{
    self, blocks, catalogue, certificates, codes, enterprises, epcis, evidence, inspections,
    labels, models, pages, products, proofs, recalls, resolver, search, status, transactions,
};
use crate::server;
use crate::state::{ApiLimits, ApiState, RouterState};

/// The router serving every endpoint of the API under its limits, with its own read threads
/// ([`crate::reads`]); they end when the router is dropped. Fails if `state.limits` are out of
/// range ([`ApiLimits::check`]) or the threads cannot be started.
pub fn router(state: ApiState) -> std::io::Result<Router> {
    let limits = state.limits;
    limits
        .check()
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidInput, error))?;
    let reads = ReadPool::new(limits.read_pool())?;
    let api_metrics = Arc::new(Metrics::new(Arc::clone(&state.node), reads.clone()));
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
    Ok(endpoint_router
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
        .with_state(RouterState { api: state, reads }))
}

/// Every endpoint, in one place: [`router`] serves them and [`served_routes`] lists them.
fn endpoints() -> Endpoints {
    Endpoints::new()
        .post("/v1/transactions", transactions::submit)
        .post("/v1/transactions/batch", transactions::submit_batch)
        .get("/v1/transactions/{id}", transactions::transaction)
        .get("/v1/status", status::status)
        .get("/v1/blocks/latest", blocks::latest)
        .get("/v1/blocks/raw", blocks::raw)
        .get("/v1/blocks/{height}", blocks::block)
        .get("/v1/blocks/{height}/transactions", blocks::transactions)
        .get("/v1/products/{code}", products::product)
        .get("/v1/products/{code}/epcis", epcis::product_document)
        .get("/v1/products/{code}/qr", labels::product_qr)
        .get("/v1/models/{code}", models::model)
        .get("/v1/models/{code}/qr", labels::model_qr)
        .get("/v1/codes/{code}", codes::code)
        .get("/v1/certificates/{number}", certificates::certificate)
        .get("/v1/catalogue", catalogue::catalogue)
        .get("/v1/proofs/consistency", proofs::consistency)
        .get("/v1/proofs/{code}", proofs::proof)
        .get("/v1/enterprises", search::search)
        .get("/v1/enterprises/{uscc}", enterprises::enterprise)
        .get("/v1/parties/{gln}", enterprises::party)
        .get("/v1/enterprises/{uscc}/records", enterprises::records)
        .get("/v1/enterprises/{uscc}/amendments", enterprises::amendments)
        .get("/v1/enterprises/{uscc}/report", enterprises::report)
        .get("/v1/enterprises/{uscc}/score", enterprises::score)
        .get("/v1/enterprises/{uscc}/evidence", evidence::evidence)
        .get("/v1/enterprises/{uscc}/epcis", epcis::enterprise_document)
        .get("/epcis/events", epcis::events)
        .get("/v1/scores", enterprises::scores)
        .get("/v1/recalls", recalls::open_recalls)
        .get("/v1/inspections", inspections::inspections)
        .get("/01/{*key}", resolver::resolve_gtin)
        .get("/00/{*key}", resolver::resolve_sscc)
        .get("/414/{*key}", resolver::resolve_location)
        .get("/417/{*key}", resolver::resolve_party)
        .get("/ecode/{code}", resolver::resolve_ecode)
        .get("/handle/{*id}", resolver::resolve_handle)
        .get("/.well-known/gs1resolver", resolver::description)
        .get("/", pages::home_page)
        .get("/suppliers", pages::suppliers_page)
        .get("/products/{code}", pages::product_page)
        .get("/models/{code}", pages::model_page)
        .get("/healthz", status::healthz)
        .get("/readyz", status::readyz)
        .get("/metrics", status::metrics)
        .get("/openapi.json", openapi::serve_document)
}

/// Every route [`router`] serves, as method and path template; the OpenAPI document must
/// list exactly these.
pub fn served_routes() -> Vec<ServedRoute> {
    endpoints().into_parts().1
}

/// Serves until `shutdown` completes, then finishes in-flight requests: HTTP/1.1, with the
/// connection bounds of [`server`]. Fails at once if the router cannot be built ([`router`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.limits;
    server::serve(listener, router(state)?, limits, shutdown).await
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
