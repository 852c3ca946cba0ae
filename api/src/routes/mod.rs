//! Handle each endpoint: parse the request, ask the node or read the store, shape the answer.

pub(crate) mod blocks;
pub(crate) mod codes;
pub(crate) mod enterprises;
pub(crate) mod products;
pub(crate) mod proofs;
pub(crate) mod status;
pub(crate) mod transactions;

use axum::http::Uri;
use suyuan_storage::{StorageError, Store};

use crate::error::ApiError;
use crate::state::ApiState;

/// 404 `not_found` for any path that is no endpoint.
pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::route_not_found(uri.path())
}

/// 405 `method_not_allowed` for a known path with another method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// Runs `read` on the store off the async threads: RocksDB reads block.
pub(crate) async fn read_store<T, F>(state: &ApiState, read: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
{
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || read(&store))
        .await
        .map_err(|error| ApiError::internal(format!("a store read failed: {error}")))?
}

/// Maps a storage failure to 500 `storage_error`.
pub(crate) fn storage(error: StorageError) -> ApiError {
    ApiError::storage(&error)
}

/// Items in a page when the request does not say.
pub(crate) const DEFAULT_PAGE_LIMIT: usize = 100;

/// Most items in one page: the store's own bound on a page.
pub(crate) const MAX_PAGE_LIMIT: usize = suyuan_storage::MAX_PAGE_RECORDS;

/// The page size asked for: 1 to [`MAX_PAGE_LIMIT`], [`DEFAULT_PAGE_LIMIT`] if not given.
pub(crate) fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE_LIMIT),
        Some(limit @ 1..=MAX_PAGE_LIMIT) => Ok(limit),
        Some(limit) => Err(ApiError::invalid_query(
            Some("limit".into()),
            format!("limit is {limit}; it must be 1 to {MAX_PAGE_LIMIT}"),
        )),
    }
}
