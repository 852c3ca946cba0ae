//! Serve the yardstick over HTTP: take batches of envelopes as a Suyuan node does, verify
//! them on every core, store the valid ones, and answer once they are durable.
//!
//! `POST /v1/transactions/batch` takes the body a node takes (a JSON array of envelopes, at
//! most [`ApiLimits::max_batch`] of them) and answers a node's [`BatchResponse`]: per envelope
//! its id, or an [`ErrorBody`] in the API's vocabulary (`bad_signature`, `duplicate`,
//! `replay`, `busy`). An id in the answer means the transaction's
//! rows have committed, as an id in a Suyuan block means a finalized commit. `GET /healthz`
//! answers `ok` for the scripts.
//!
//! Limits: a node's default request bounds ([`ApiLimits::default`]) for body size and batch;
//! [`MAX_IN_FLIGHT_REQUESTS`] requests at once (more get 503 `overloaded`); one batch verified
//! per core at a time, and a batch that waits more than [`VERIFY_WAIT`] for a core is refused
//! `busy` whole, as a node's admission refuses one that waits too long for its turn.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::routing::{get, post};
use suyuan_api::ApiError;
use suyuan_api::ApiLimits;
use suyuan_api::types::{BatchResponse, BatchResult, ErrorBody};
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{ChainBinding, Envelope, TxError};
use tokio::sync::Semaphore;

use crate::rows::TxRows;
use crate::store::{Store, Verdict};

/// Requests handled at once; one more is refused with 503 `overloaded`.
pub const MAX_IN_FLIGHT_REQUESTS: usize = 1_024;

/// Longest a batch waits for a core to verify it on before it is refused `busy`: a node's
/// admission wait.
pub const VERIFY_WAIT: Duration = Duration::from_secs(2);

/// The central service: the chain it checks signatures for, and where it stores.
#[derive(Debug)]
pub struct Service {
    chain: ChainBinding,
    store: Store,
    limits: ApiLimits,
    /// One permit per core: a batch verifies holding one, on a blocking thread.
    verifying: Arc<Semaphore>,
    /// One permit per request being handled.
    in_flight: Arc<Semaphore>,
}

impl Service {
    /// A service checking signatures for `chain` and storing in `store`, verifying on
    /// `verify_threads` cores at once (at least one).
    pub fn new(chain: ChainBinding, store: Store, verify_threads: usize) -> Service {
        Service {
            chain,
            store,
            limits: ApiLimits::default(),
            verifying: Arc::new(Semaphore::new(verify_threads.max(1))),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT_REQUESTS)),
        }
    }

    /// Verifies `envelopes` and stores the valid ones; each one's verdict, in order, once the
    /// stored ones are durable.
    pub async fn submit(&self, envelopes: Vec<Envelope>) -> Vec<Verdict> {
        let count = envelopes.len();
        let Ok(Ok(permit)) =
            tokio::time::timeout(VERIFY_WAIT, Arc::clone(&self.verifying).acquire_owned()).await
        else {
            return vec![Err(SubmitError::Busy); count];
        };
        let chain = self.chain.clone();
        let checked = tokio::task::spawn_blocking(move || {
            let checked: Vec<Result<TxRows, TxError>> = Envelope::verify_batch(envelopes, &chain)
                .into_iter()
                .map(|verdict| verdict.map(|tx| TxRows::of(&tx)))
                .collect();
            drop(permit);
            checked
        })
        .await
        .expect("verification does not panic");
        let mut valid = Vec::with_capacity(count);
        let mut refused: Vec<Option<SubmitError>> = Vec::with_capacity(count);
        for verdict in checked {
            match verdict {
                Ok(rows) => {
                    valid.push(rows);
                    refused.push(None);
                }
                Err(error) => refused.push(Some(SubmitError::Envelope(error))),
            }
        }
        let mut stored = self.store.commit(valid).await.into_iter();
        let verdicts: Vec<Verdict> = refused
            .into_iter()
            .map(|refusal| match refusal {
                Some(error) => Err(error),
                None => stored.next().expect("one verdict per valid envelope"),
            })
            .collect();
        assert!(stored.next().is_none(), "every stored verdict is used");
        verdicts
    }
}

/// The service's routes.
pub fn router(service: Arc<Service>) -> axum::Router {
    let body_limit = service.limits.max_body_bytes;
    axum::Router::new()
        .route("/v1/transactions/batch", post(submit_batch))
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .with_state(service)
}

/// `POST /v1/transactions/batch`.
async fn submit_batch(
    State(service): State<Arc<Service>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BatchResponse>, ApiError> {
    let _handling = Arc::clone(&service.in_flight)
        .try_acquire_owned()
        .map_err(|_| ApiError::overloaded())?;
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::body_too_large(service.limits.max_body_bytes),
        _ => ApiError::invalid_body(rejection.body_text(), None),
    })?;
    let envelopes = parse_batch(&body, service.limits.max_batch)?;
    let verdicts = service.submit(envelopes).await;
    let results = verdicts
        .into_iter()
        .map(|verdict| match verdict {
            Ok(id) => BatchResult::Accepted { id },
            Err(error) => BatchResult::Refused {
                error: ErrorBody::from(&error),
            },
        })
        .collect();
    Ok(Json(BatchResponse { results }))
}

/// The envelopes of a batch body, or the API's refusal of it.
fn parse_batch(body: &[u8], max_batch: usize) -> Result<Vec<Envelope>, ApiError> {
    let envelopes: Vec<Envelope> = serde_json::from_slice(body).map_err(|error| {
        if error.is_data() {
            ApiError::invalid_body(error.to_string(), None)
        } else {
            ApiError::malformed_json(&error)
        }
    })?;
    if envelopes.is_empty() {
        return Err(ApiError::empty_batch());
    }
    if envelopes.len() > max_batch {
        return Err(ApiError::batch_too_large(envelopes.len(), max_batch));
    }
    Ok(envelopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_bodies_are_bounded_and_parsed_as_a_node_parses_them() {
        assert_eq!(
            parse_batch(b"[", 10).unwrap_err().body.code,
            "malformed_json"
        );
        assert_eq!(
            parse_batch(b"{\"payload\": 1}", 10).unwrap_err().body.code,
            "invalid_body"
        );
        assert_eq!(parse_batch(b"[]", 10).unwrap_err().body.code, "empty_batch");
        let chain = crate::yardstick_binding("service-test");
        let load = crate::load::commissioning_load(&chain, 1, 3);
        let body = serde_json::to_vec(&load.envelopes).unwrap();
        assert_eq!(parse_batch(&body, 3).unwrap(), load.envelopes);
        assert_eq!(
            parse_batch(&body, 2).unwrap_err().body.code,
            "batch_too_large"
        );
    }
}
