//! Handle each endpoint: parse the request, ask the node or read the store, shape the answer.

pub(crate) mod blocks;
pub(crate) mod catalogue;
pub(crate) mod certificates;
pub(crate) mod codes;
pub(crate) mod enterprises;
pub(crate) mod epcis;
pub(crate) mod evidence;
pub(crate) mod inspections;
pub(crate) mod labels;
pub(crate) mod models;
pub(crate) mod pages;
pub(crate) mod products;
pub(crate) mod proofs;
pub(crate) mod recalls;
pub(crate) mod resolver;
pub(crate) mod search;
pub(crate) mod status;
pub(crate) mod transactions;

use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::Uri;
use suyuan_storage::{StorageError, Store};

use crate::error::ApiError;
use crate::reads::{Budget, ReadKind, ReadPool};
use crate::state::RouterState;

/// 404 `not_found` for any path that is no endpoint.
pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::route_not_found(uri.path())
}

/// 405 `method_not_allowed` for a known path with another method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// The store and the pool its reads run on, as handlers extract them: RocksDB reads block, so
/// they run on the API's read threads ([`crate::reads`]), never on the async threads nor on
/// tokio's blocking pool that admission and sync use.
#[derive(Clone)]
pub(crate) struct StoreReads {
    store: Arc<Store>,
    pool: ReadPool,
}

impl FromRef<RouterState> for StoreReads {
    fn from_ref(state: &RouterState) -> StoreReads {
        StoreReads {
            store: Arc::clone(&state.api.store),
            pool: state.reads.clone(),
        }
    }
}

impl StoreReads {
    /// The store, for what handlers check before they read (genesis).
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Runs `read`, bounded by a page or one object, on a read thread.
    pub(crate) async fn point<T, F>(&self, read: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        self.pool
            .run(ReadKind::Point, move |_| read(&store))
            .await?
    }

    /// Runs `read`, which loops over pages spending `budget` as it reads, on a read thread.
    pub(crate) async fn scan<T, F>(&self, read: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store, &Budget) -> Result<T, ApiError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        self.pool
            .run(ReadKind::Scan, move |budget| read(&store, budget))
            .await?
    }
}

/// `text` percent-encoded as one path segment: every byte outside RFC 3986's unreserved set
/// escaped, `/` included, as the routes taking a code expect it.
pub(crate) fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    suyuan_ledger::codes::gs1::digital_link::percent_encode_into(&mut out, text);
    out
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
