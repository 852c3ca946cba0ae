//! Turn every failure into an HTTP status and an [`ErrorBody`] with a stable code.
//!
//! Client faults are 4xx and never 5xx; 5xx means the node could not answer (it is overloaded,
//! stopping, or its storage failed). The codes are listed in `docs/api.md`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use suyuan_ledger::codes::ccc::CccCertificate;
use suyuan_ledger::codes::gs1::keys::Gln;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::exec::{ExecError, RuleError};
use suyuan_ledger::state::StateError;
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{TxError, TxId};
use suyuan_storage::StorageError;

use crate::committed::CommittedError;
use crate::profile::ProfileError;
use crate::reads::{ReadRefused, ReadStopped};
pub use crate::types::ErrorBody;

/// An error response: a status, a body and, for retryable refusals, a `Retry-After`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: ErrorBody,
    /// Seconds to wait before retrying, sent as `Retry-After`.
    pub retry_after_secs: Option<u32>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody::new(code, message),
            retry_after_secs: None,
        }
    }

    /// The same error naming the request field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        self.body = self.body.with_field(field);
        self
    }

    /// 400 `malformed_json`: the body is not JSON; the message has line and column.
    pub fn malformed_json(error: &serde_json::Error) -> ApiError {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {error}"),
        )
    }

    /// 400 `invalid_body`: JSON of the wrong shape (a wrong type, a missing or unknown field).
    pub fn invalid_body(message: impl Into<String>, field: Option<String>) -> ApiError {
        let error = Self::new(StatusCode::BAD_REQUEST, "invalid_body", message);
        match field {
            Some(field) => error.with_field(field),
            None => error,
        }
    }

    /// 413 `body_too_large`.
    pub fn body_too_large(max_bytes: usize) -> ApiError {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {max_bytes} bytes"),
        )
    }

    /// 404 `not_found`: no such route.
    pub fn route_not_found(path: &str) -> ApiError {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no endpoint at {path}; see docs/api.md"),
        )
    }

    /// 405 `method_not_allowed`.
    pub fn method_not_allowed() -> ApiError {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this endpoint does not take that method",
        )
    }

    /// 400 `invalid_path`: a path parameter does not parse.
    pub fn invalid_path(field: &str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, "invalid_path", message).with_field(field)
    }

    /// 400 `invalid_query`: a query parameter does not parse or is out of range.
    pub fn invalid_query(field: Option<String>, message: impl Into<String>) -> ApiError {
        let error = Self::new(StatusCode::BAD_REQUEST, "invalid_query", message);
        match field {
            Some(field) => error.with_field(field),
            None => error,
        }
    }

    /// 404 `unknown_transaction`.
    pub fn unknown_transaction(id: &TxId) -> ApiError {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_transaction",
            format!("this node knows no transaction {id}"),
        )
    }

    /// 404 `unknown_block`.
    pub fn unknown_block(height: u64) -> ApiError {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_block",
            format!("no block at height {height} (the first block is 1)"),
        )
    }

    /// 404 `unknown_code`.
    pub fn unknown_code(code: &str) -> ApiError {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_code",
            format!("no committed record names {code}"),
        )
    }

    /// 404 `unknown_enterprise` (field `uscc`): not enrolled.
    pub fn unknown_enterprise(uscc: &Uscc) -> ApiError {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_enterprise",
            format!("no enterprise {uscc} is enrolled"),
        )
        .with_field("uscc")
    }

    /// 404 `unknown_party` (field `gln`): no enrolled enterprise's profile claims the GLN.
    pub fn unknown_party(gln: &Gln) -> ApiError {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_party",
            format!("no enterprise's profile claims the party GLN {gln}"),
        )
        .with_field("gln")
    }

    /// 404 `unknown_model`: no enterprise registered a model under the code.
    pub fn unknown_model(code: &str) -> ApiError {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_model",
            format!("no enterprise registered a product model with code {code}"),
        )
        .with_field("code")
    }

    /// 400 `invalid_digital_link`: the path and query of a resolver request are no GS1 Digital
    /// Link this resolver answers, with the reason.
    pub fn invalid_digital_link(reason: impl std::fmt::Display) -> ApiError {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_digital_link",
            format!("not a GS1 Digital Link this resolver answers: {reason}"),
        )
    }

    /// 400 `invalid_host`: the `Host` header is not a host name or address with an optional
    /// port, so no absolute address can be built from it.
    pub fn invalid_host() -> ApiError {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_host",
            "the Host header must be a host name or address, with an optional port",
        )
    }

    /// 400 `invalid_code`, with the parser's reason.
    pub fn invalid_code(reason: impl std::fmt::Display) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, "invalid_code", reason.to_string()).with_field("code")
    }

    /// 400 `invalid_certificate` (field `number`): not a CCC certificate number.
    pub fn invalid_certificate(reason: &impl std::fmt::Display) -> ApiError {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_certificate",
            reason.to_string(),
        )
        .with_field("number")
    }

    /// 404 `unknown_certificate`: no committed record names the certificate.
    pub fn unknown_certificate(certificate: &CccCertificate) -> ApiError {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_certificate",
            format!("no committed record names CCC certificate {certificate}"),
        )
    }

    /// 400 `empty_batch`.
    pub fn empty_batch() -> ApiError {
        Self::new(
            StatusCode::BAD_REQUEST,
            "empty_batch",
            "a batch holds at least one envelope",
        )
    }

    /// 400 `batch_too_large`.
    pub fn batch_too_large(found: usize, max: usize) -> ApiError {
        Self::new(
            StatusCode::BAD_REQUEST,
            "batch_too_large",
            format!("the batch holds {found} envelopes; at most {max} allowed"),
        )
    }

    /// 503 `overloaded`: too many requests in flight.
    pub fn overloaded() -> ApiError {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the node is handling too many requests; retry shortly",
        );
        error.retry_after_secs = Some(1);
        error
    }

    /// 503 `timeout`: the request took longer than the node allows.
    pub fn timeout(limit: std::time::Duration) -> ApiError {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {} ms", limit.as_millis()),
        );
        error.retry_after_secs = Some(1);
        error
    }

    /// 503 `read_queue_full`: every read thread is busy and as many reads as may wait already
    /// do.
    pub fn read_queue_full(queued: usize, threads: usize) -> ApiError {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "read_queue_full",
            format!(
                "the node's {threads} read threads are busy and {queued} reads of this kind \
                 already wait; retry shortly"
            ),
        );
        error.retry_after_secs = Some(1);
        error
    }

    /// 422 `read_limit_exceeded`: answering would read more stored entries than one request
    /// may; the same request fails the same way until it is narrowed.
    pub fn read_limit_exceeded(max_entries: u64) -> ApiError {
        let mut error = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "read_limit_exceeded",
            format!(
                "answering this request reads more than the {max_entries} stored entries one \
                 request may read; narrow it (for /v1/scores, rank one registrar's members \
                 with registrar=, or read members' scores one at a time)"
            ),
        );
        error.body = error.body.with_detail("max_entries", max_entries);
        error
    }

    /// 503 `not_ready`: the node is catching up.
    pub fn not_ready() -> ApiError {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the node is catching up with the consortium",
        )
    }

    /// 500 `storage_error`: the node's store failed. Logged; the node's fault.
    pub fn storage(error: &StorageError) -> ApiError {
        tracing::error!(%error, "API read from the store failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage_error",
            format!("the node could not read its store: {error}"),
        )
    }

    /// 500 `storage_error`: the node's state could not be read. Logged; the node's fault.
    pub fn state_unreadable(error: &StateError) -> ApiError {
        tracing::error!(%error, "API read of state failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage_error",
            format!("the node could not read its state: {error}"),
        )
    }

    /// 500 `internal`: something in the node failed that the client cannot fix.
    pub fn internal(message: impl Into<String>) -> ApiError {
        let message = message.into();
        tracing::error!(%message, "API request failed inside the node");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl From<&SubmitError> for ApiError {
    fn from(error: &SubmitError) -> ApiError {
        let message = error.to_string();
        match error {
            SubmitError::Envelope(tx) => {
                let field = match tx {
                    TxError::BadSignature { .. } => "signature",
                    TxError::PayloadTooLarge { .. } | TxError::BadPayload { .. } => "payload",
                    TxError::Decode(_) => "envelope",
                };
                ApiError::new(StatusCode::BAD_REQUEST, tx.code(), message).with_field(field)
            }
            SubmitError::Rule(ExecError::Rule(rule)) => rule_error(rule, message),
            SubmitError::Rule(ExecError::State(_)) => {
                tracing::error!(%error, "state unreadable while admitting a transaction");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "state_unreadable",
                    message,
                )
            }
            SubmitError::Duplicate(_) => ApiError::new(StatusCode::CONFLICT, "duplicate", message),
            SubmitError::Full { held, held_bytes } => {
                let mut api =
                    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "mempool_full", message);
                api.body = api
                    .body
                    .with_detail("held", *held)
                    .with_detail("held_bytes", *held_bytes);
                api.retry_after_secs = Some(1);
                api
            }
            SubmitError::Unavailable => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
            SubmitError::Busy => {
                let mut api = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message);
                api.retry_after_secs = Some(1);
                api
            }
            SubmitError::Throttled { retry_after_ms } => {
                let mut api = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "throttled", message);
                api.body = api.body.with_detail("retry_after_ms", *retry_after_ms);
                let seconds = retry_after_ms.div_ceil(1000).max(1);
                api.retry_after_secs = Some(u32::try_from(seconds).unwrap_or(u32::MAX));
                api
            }
            SubmitError::SignerLimit { pending, .. } => {
                let mut api = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "signer_limit", message)
                    .with_field("signer");
                api.body = api.body.with_detail("pending", *pending);
                api.retry_after_secs = Some(1);
                api
            }
            SubmitError::Unverified => {
                ApiError::new(StatusCode::BAD_REQUEST, "unverified", message)
                    .with_field("signature")
            }
        }
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> ApiError {
        ApiError::from(&error)
    }
}

impl From<&SubmitError> for ErrorBody {
    fn from(error: &SubmitError) -> ErrorBody {
        ApiError::from(error).body
    }
}

/// 500: the store failed (`storage_error`) or holds what cannot be (`internal`).
impl From<CommittedError> for ApiError {
    fn from(error: CommittedError) -> ApiError {
        match error {
            CommittedError::Storage(error) => ApiError::storage(&error),
            error @ (CommittedError::MissingBlock { .. } | CommittedError::Unparsable { .. }) => {
                ApiError::internal(error.to_string())
            }
        }
    }
}

/// 503 `read_queue_full` for a read the pool refused; 500 `internal` for one whose answer was
/// lost.
impl From<ReadRefused> for ApiError {
    fn from(error: ReadRefused) -> ApiError {
        match error {
            ReadRefused::QueueFull { queued, threads } => {
                ApiError::read_queue_full(queued, threads)
            }
            ReadRefused::Lost => ApiError::internal(format!("a store read failed: {error}")),
        }
    }
}

/// 422 `read_limit_exceeded` for a scan over its budget. A cancelled scan's request is gone,
/// so its answer (503 `cancelled`) is never sent.
impl From<ReadStopped> for ApiError {
    fn from(error: ReadStopped) -> ApiError {
        match error {
            ReadStopped::OverBudget { max_entries } => ApiError::read_limit_exceeded(max_entries),
            ReadStopped::Cancelled => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "cancelled",
                "the request was cancelled",
            ),
        }
    }
}

/// 404 `unknown_enterprise` for an enterprise not enrolled; 422 `read_limit_exceeded` past
/// the request's read budget; 500 when the node's store or state failed (`storage_error`) or
/// disagree (`internal`).
impl From<ProfileError> for ApiError {
    fn from(error: ProfileError) -> ApiError {
        match error {
            ProfileError::UnknownEnterprise { uscc } => ApiError::unknown_enterprise(&uscc),
            ProfileError::Stopped(stopped) => ApiError::from(stopped),
            ProfileError::State(error) => ApiError::state_unreadable(&error),
            ProfileError::Storage(error) => ApiError::storage(&error),
            ProfileError::Committed(error) => ApiError::from(error),
            error @ (ProfileError::UnboundKey { .. }
            | ProfileError::MissingHeadBlock { .. }
            | ProfileError::HeadHashMismatch { .. }
            | ProfileError::MissingFacts { .. }
            | ProfileError::MissingListed { .. }
            | ProfileError::MissingEntry { .. }
            | ProfileError::MissingTransaction { .. }
            | ProfileError::WrongRecord { .. }
            | ProfileError::MissingRecall { .. }) => ApiError::internal(error.to_string()),
        }
    }
}

/// 409 `replay` for a transaction already committed; 422 `rule_violation` naming the rule
/// otherwise.
fn rule_error(rule: &RuleError, message: String) -> ApiError {
    match rule {
        RuleError::Replay { .. } => ApiError::new(StatusCode::CONFLICT, "replay", message),
        _ => {
            let mut error =
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "rule_violation", message);
            error.body = error.body.with_detail("rule", rule.code());
            error
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
