//! Handle each endpoint: parse the request, ask the node or read the store, shape the answer.

pub(crate) mod blocks;
pub(crate) mod codes;
pub(crate) mod enterprises;
pub(crate) mod products;
pub(crate) mod proofs;
pub(crate) mod status;
pub(crate) mod transactions;

use std::collections::BTreeMap;

use axum::http::Uri;
use suyuan_ledger::block::BlockHash;
use suyuan_ledger::tx::Payload;
use suyuan_storage::{StorageError, Store, StoredTx};

use crate::ApiState;
use crate::error::ApiError;
use crate::types::CommittedTx;

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

/// Block hashes and times by height, read once per request where many transactions share
/// blocks.
#[derive(Debug, Default)]
pub(crate) struct BlockHashes(BTreeMap<u64, (BlockHash, u64)>);

impl BlockHashes {
    /// The hash of committed block `height`.
    pub(crate) fn of(&mut self, store: &Store, height: u64) -> Result<BlockHash, ApiError> {
        self.read(store, height).map(|(hash, _)| hash)
    }

    /// The time of committed block `height`, Unix milliseconds.
    pub(crate) fn time_ms(&mut self, store: &Store, height: u64) -> Result<u64, ApiError> {
        self.read(store, height).map(|(_, time_ms)| time_ms)
    }

    fn read(&mut self, store: &Store, height: u64) -> Result<(BlockHash, u64), ApiError> {
        if let Some(known) = self.0.get(&height) {
            return Ok(*known);
        }
        let header = store.header(height).map_err(storage)?.ok_or_else(|| {
            ApiError::internal(format!(
                "a transaction is indexed at height {height}, which has no block"
            ))
        })?;
        let known = (header.hash(), header.time_ms);
        self.0.insert(height, known);
        Ok(known)
    }
}

/// The API's view of a committed transaction.
pub(crate) fn committed_tx(
    store: &Store,
    hashes: &mut BlockHashes,
    stored: StoredTx,
) -> Result<CommittedTx, ApiError> {
    Ok(CommittedTx {
        id: stored.id,
        height: stored.location.height,
        index: stored.location.index,
        block_hash: hashes.of(store, stored.location.height)?,
        payload: committed_payload(&stored)?,
        envelope: stored.envelope,
    })
}

/// The parsed payload of a committed transaction: it parsed when it was committed.
pub(crate) fn committed_payload(stored: &StoredTx) -> Result<Payload, ApiError> {
    Payload::parse(&stored.envelope.payload).map_err(|error| {
        ApiError::internal(format!(
            "committed transaction {} does not parse: {error}",
            stored.id
        ))
    })
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
