//! Report the node's status, liveness and readiness.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Json};

use crate::error::ApiError;
use crate::metrics::{CONTENT_TYPE, Metrics};
use crate::state::ApiState;
use crate::types::{NodeStatus, SyncState};

/// `GET /v1/status`.
#[utoipa::path(
    get,
    path = "/v1/status",
    tag = "chain",
    responses((status = 200, description = "The node's chain, height, view, peers, sync state and mempool", body = NodeStatus))
)]
pub(crate) async fn status(State(state): State<ApiState>) -> Json<NodeStatus> {
    Json(state.node.status())
}

/// `GET /healthz`: 200 `ok` while the process serves requests.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "`ok`", body = String, content_type = "text/plain"))
)]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 `ready` once the node has caught up, else 503 `not_ready`.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "`ready`", body = String, content_type = "text/plain"),
        (status = 503, description = "`not_ready`: catching up", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn readyz(State(state): State<ApiState>) -> Result<&'static str, ApiError> {
    match state.node.status().sync {
        SyncState::Synced => Ok("ready"),
        SyncState::CatchingUp { .. } => Err(ApiError::not_ready()),
    }
}

/// `GET /metrics`: every metric in the OpenMetrics text format Prometheus scrapes.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((
        status = 200,
        description = "Every metric (docs/operators.md) in the OpenMetrics text format",
        body = String,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"
    ))
)]
pub(crate) async fn metrics(
    Extension(metrics): Extension<Arc<Metrics>>,
) -> Result<impl IntoResponse, ApiError> {
    let text = metrics
        .encode()
        .map_err(|error| ApiError::internal(format!("encoding the metrics failed: {error}")))?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text))
}
