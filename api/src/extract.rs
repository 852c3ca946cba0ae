//! Read request bodies, path and query parameters, refusing bad ones with the API's own codes
//! instead of axum's plain-text rejections; and read the weighted lists clients negotiate with
//! (`Accept`, `Accept-Language`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, StatusCode};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::error::Category;

use crate::error::ApiError;
use crate::state::ApiState;

/// A JSON body parsed as `T`: 400 `malformed_json` when it is not JSON, 400 `invalid_body`
/// (naming the field) when it is JSON of the wrong shape, 413 `body_too_large` past the limit.
///
/// Any content type is accepted: the body is JSON or it is refused.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
    ApiState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let max_body_bytes = ApiState::from_ref(state).limits.max_body_bytes;
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| body_rejection(&rejection, max_body_bytes))?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses `bytes` as exactly one JSON value of type `T`.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| parse_error(bytes, error))?;
    deserializer
        .end()
        .map_err(|error| ApiError::malformed_json(&error))?;
    Ok(value)
}

/// `malformed_json` if the body is not JSON, `invalid_body` naming the field if it is JSON of
/// the wrong shape.
fn parse_error(bytes: &[u8], error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let error = error.into_inner();
    if error.classify() != Category::Data {
        return ApiError::malformed_json(&error);
    }
    // The shape error came first, but a body that is not JSON further on is malformed: say
    // so rather than complain about its shape. Only failed requests pay for this second pass.
    if let Err(syntax) = serde_json::from_slice::<IgnoredAny>(bytes) {
        return ApiError::malformed_json(&syntax);
    }
    // serde_path_to_error shows the root as ".".
    let field = (path != ".").then_some(path);
    ApiError::invalid_body(format!("the body does not fit: {error}"), field)
}

/// Where in `bytes` parsing them as `T` fails, as a path such as `record.enterprise.uscc`;
/// `None` if they parse, if they are not JSON, or if the fault is at the top.
pub(crate) fn json_error_path<T: DeserializeOwned>(bytes: &[u8]) -> Option<String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let error = serde_path_to_error::deserialize::<_, T>(&mut deserializer).err()?;
    let path = error.path().to_string();
    (error.inner().classify() == Category::Data && path != ".").then_some(path)
}

/// Maps a failure to read the body: over the limit, or the connection failed.
fn body_rejection(rejection: &BytesRejection, max_bytes: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::body_too_large(max_bytes)
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the body could not be read: {}", rejection.body_text()),
        )
    }
}

/// The route's single path parameter, as text; 400 `invalid_path` if it is not UTF-8.
#[derive(Debug)]
pub(crate) struct PathParam(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(value) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::invalid_path("path", rejection.body_text()))?;
        Ok(PathParam(value))
    }
}

/// Query parameters parsed as `T`; 400 `invalid_query` if they do not fit.
#[derive(Debug)]
pub(crate) struct QueryParams<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(value) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::invalid_query(None, rejection.body_text()))?;
        Ok(QueryParams(value))
    }
}

/// The entries of a weighted list header such as `Accept` or `Accept-Language`, every line of
/// it, in the order written: each value in lower case with its weight (`q`, 1 when absent or
/// unreadable). An entry weighted 0 is one the client refuses.
pub(crate) fn weighted(headers: &HeaderMap, name: HeaderName) -> Vec<(String, f32)> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|entry| {
            let mut parts = entry.split(';').map(str::trim);
            let value = parts.next().unwrap_or_default().to_ascii_lowercase();
            let weight = parts
                .find_map(|parameter| parameter.strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!value.is_empty()).then_some((value, weight))
        })
        .collect()
}
