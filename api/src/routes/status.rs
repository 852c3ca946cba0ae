//! Report the node's status, liveness and readiness.

use axum::Json;
use axum::extract::State;

use crate::ApiState;
use crate::error::ApiError;
use crate::types::{NodeStatus, SyncState};

/// `GET /v1/status`.
pub(crate) async fn status(State(state): State<ApiState>) -> Json<NodeStatus> {
    Json(state.node.status())
}

/// `GET /healthz`: 200 `ok` while the process serves requests.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 `ready` once the node has caught up, else 503 `not_ready`.
pub(crate) async fn readyz(State(state): State<ApiState>) -> Result<&'static str, ApiError> {
    match state.node.status().sync {
        SyncState::Synced => Ok("ready"),
        SyncState::CatchingUp { .. } => Err(ApiError::not_ready()),
    }
}
