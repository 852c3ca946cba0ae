//! Submit envelopes to the node and look transactions up.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Deserialize as _;
use suyuan_ledger::crypto::{PublicKey, Signature};
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::limits::MAX_PAYLOAD_BYTES;
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{Envelope, Payload, TxError, TxId};

use crate::committed::{BlockHashes, committed_tx};
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParam, json_error_path};
use crate::routes::{StoreReads, storage};
use crate::state::ApiState;
use crate::types::{
    BatchResponse, BatchResult, PendingState, SubmitResponse, TransactionView, TxStatus,
};

/// `POST /v1/transactions`: 202 with the id once the node admits the envelope.
#[utoipa::path(
    post,
    path = "/v1/transactions",
    tag = "transactions",
    request_body(content = crate::schemas::Envelope, description = "A signed envelope"),
    responses(
        (status = 202, description = "Admitted into the mempool, not yet committed", body = SubmitResponse),
        (status = 400, description = "`malformed_json`, `invalid_body`, `payload_too_large`, `bad_signature` or `bad_payload`", body = crate::types::ErrorBody),
        (status = 409, description = "`replay` or `duplicate`", body = crate::types::ErrorBody),
        (status = 413, description = "`body_too_large`", body = crate::types::ErrorBody),
        (status = 422, description = "`rule_violation`, naming the `rule`", body = crate::types::ErrorBody),
        (status = 429, description = "`throttled` or `signer_limit`", body = crate::types::ErrorBody),
        (status = 503, description = "`mempool_full`, `unavailable`, `busy`, `overloaded` or `timeout`", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn submit(
    State(state): State<ApiState>,
    Submitter(from): Submitter,
    JsonBody(envelope): JsonBody<Submitted>,
) -> Result<(StatusCode, Json<SubmitResponse>), ApiError> {
    let envelope = envelope
        .within_bounds()
        .map_err(|error| refusal(&error, &[]))?;
    // Kept to point at the field of a payload the node refuses; cheap next to verifying.
    let payload = envelope.payload.clone();
    let mut results = state.node.submit(vec![envelope], from).await;
    let result = match (results.pop(), results.is_empty()) {
        (Some(result), true) => result,
        _ => return Err(wrong_result_count()),
    };
    let id = result.map_err(|error| refusal(&error, &payload))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SubmitResponse {
            id,
            status: TxStatus::Pending,
        }),
    ))
}

/// `POST /v1/transactions/batch`: 200 with one result per envelope, in order.
#[utoipa::path(
    post,
    path = "/v1/transactions/batch",
    tag = "transactions",
    request_body(content = Vec<crate::schemas::Envelope>, description = "Up to 1000 signed envelopes"),
    responses(
        (status = 200, description = "One result per envelope, in order: an id or an error", body = BatchResponse),
        (status = 400, description = "`malformed_json`, `invalid_body`, `empty_batch` or `batch_too_large`: nothing admitted", body = crate::types::ErrorBody),
        (status = 413, description = "`body_too_large`", body = crate::types::ErrorBody),
        (status = 429, description = "`throttled`: this client has as many batches waiting as one client may, or is refused for a while after sending signatures that failed", body = crate::types::ErrorBody),
        (status = 503, description = "`busy`, `mempool_full`, `overloaded` or `timeout`: nothing admitted", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn submit_batch(
    State(state): State<ApiState>,
    Submitter(from): Submitter,
    JsonBody(submitted): JsonBody<Vec<Submitted>>,
) -> Result<Json<BatchResponse>, ApiError> {
    if submitted.is_empty() {
        return Err(ApiError::empty_batch());
    }
    if submitted.len() > state.limits.max_batch {
        return Err(ApiError::batch_too_large(
            submitted.len(),
            state.limits.max_batch,
        ));
    }
    // An envelope over a bound is refused here, on its own; the others go to the node.
    let checked: Vec<Result<Envelope, SubmitError>> = submitted
        .into_iter()
        .map(Submitted::within_bounds)
        .collect();
    let envelopes: Vec<Envelope> = checked
        .iter()
        .filter_map(|envelope| envelope.as_ref().ok().cloned())
        .collect();
    let sent = envelopes.len();
    let results = if envelopes.is_empty() {
        Vec::new()
    } else {
        state.node.submit(envelopes, from).await
    };
    if results.len() != sent {
        return Err(wrong_result_count());
    }
    let mut results = results.into_iter();
    let results = checked
        .into_iter()
        .map(|envelope| {
            let (result, payload) = match envelope {
                Ok(envelope) => (
                    results.next().expect("one result per envelope sent"),
                    envelope.payload,
                ),
                Err(error) => (Err(error), Vec::new()),
            };
            match result {
                Ok(id) => BatchResult::Accepted { id },
                Err(error) => BatchResult::Refused {
                    error: refusal(&error, &payload).body,
                },
            }
        })
        .collect();
    Ok(Json(BatchResponse { results }))
}

/// An envelope as a client submits it: the ledger's [`Envelope`] in JSON, except that a payload
/// over [`MAX_PAYLOAD_BYTES`] still decodes (the request body's limit bounds it), so that it is
/// refused as `payload_too_large` on its own rather than as a body that does not parse, which
/// would take the rest of its batch with it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Submitted {
    #[serde(deserialize_with = "any_size_base64")]
    payload: Vec<u8>,
    signer: PublicKey,
    signature: Signature,
}

impl Submitted {
    /// The envelope, or `payload_too_large` before any hashing or signature check.
    fn within_bounds(self) -> Result<Envelope, SubmitError> {
        if self.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(SubmitError::Envelope(TxError::PayloadTooLarge {
                max: MAX_PAYLOAD_BYTES,
                found: self.payload.len(),
            }));
        }
        Ok(Envelope {
            payload: self.payload,
            signer: self.signer,
            signature: self.signature,
        })
    }
}

/// Standard base64 (padded), of any length.
fn any_size_base64<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    use base64::Engine as _;
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(serde::de::Error::custom)
}

/// `GET /v1/transactions/{id}`: committed (from the store), else pending or rejected (from the
/// node), else 404 `unknown_transaction`.
#[utoipa::path(
    get,
    path = "/v1/transactions/{id}",
    tag = "transactions",
    params(("id" = crate::schemas::Hash, Path, description = "The transaction id")),
    responses(
        (status = 200, description = "Committed, pending or rejected, tagged by `status`", body = TransactionView),
        (status = 400, description = "`invalid_path`: not 64 hex characters", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_transaction`", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn transaction(
    State(state): State<ApiState>,
    State(reads): State<StoreReads>,
    PathParam(id): PathParam,
) -> Result<Json<TransactionView>, ApiError> {
    let id = parse_tx_id(&id)?;
    let committed = reads
        .point(move |store| {
            let Some(stored) = store.transaction(&id).map_err(storage)? else {
                return Ok(None);
            };
            let tx = committed_tx(store, &mut BlockHashes::default(), stored)?;
            Ok(Some(Box::new(tx)))
        })
        .await?;
    if let Some(tx) = committed {
        return Ok(Json(TransactionView::Committed(tx)));
    }
    match state.node.pending(&id) {
        Some(PendingState::Pending) => Ok(Json(TransactionView::Pending { id })),
        Some(PendingState::Rejected { error }) => Ok(Json(TransactionView::Rejected { id, error })),
        None => Err(ApiError::unknown_transaction(&id)),
    }
}

/// The address a submission comes from, as the server recorded its connection's peer; taken
/// only if the node admits submissions from it now ([`crate::Node::admits_from`]). An
/// extractor of the request's head, so a refused client's body is never read.
pub(crate) struct Submitter(IpAddr);

/// The address of a request served without the server's connection info (a router driven
/// directly, as in some tests): all such requests count as one client.
const UNKNOWN_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

impl<S> FromRequestParts<S> for Submitter
where
    S: Send + Sync,
    ApiState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = ApiState::from_ref(state);
        let from = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(UNKNOWN_ADDRESS, |ConnectInfo(peer)| peer.ip());
        state
            .node
            .admits_from(from)
            .map_err(|refusal| ApiError::from(&refusal))?;
        Ok(Submitter(from))
    }
}

/// The error for a refused envelope; a payload that does not parse is pointed at down to the
/// field (`payload.record.enterprise.uscc`) where the parser can tell.
fn refusal(error: &SubmitError, payload: &[u8]) -> ApiError {
    let mut refusal = ApiError::from(error);
    if let SubmitError::Envelope(TxError::BadPayload { .. }) = error
        && let Some(path) = json_error_path::<Payload>(payload)
    {
        refusal.body.field = Some(format!("payload.{path}"));
    }
    refusal
}

/// Parses a transaction id path parameter.
fn parse_tx_id(text: &str) -> Result<TxId, ApiError> {
    text.parse::<Hash32>()
        .map_err(|error| ApiError::invalid_path("id", format!("not a transaction id: {error}")))
}

/// The node broke [`crate::Node::submit`]'s contract: one result per envelope.
fn wrong_result_count() -> ApiError {
    ApiError::internal("the node returned a different number of results than envelopes")
}
