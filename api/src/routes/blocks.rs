//! Read committed blocks and their transactions.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use suyuan_ledger::state::TxLocation;
use suyuan_storage::Store;
use utoipa::IntoParams;

use crate::ApiState;
use crate::error::ApiError;
use crate::extract::{PathParam, QueryParams};
use crate::routes::{committed_payload, page_limit, read_store, storage};
use crate::types::{BlockTransaction, BlockTransactionsPage, BlockView};

/// `GET /v1/blocks/latest`: the store's head; 404 `unknown_block` before the first block.
#[utoipa::path(
    get,
    path = "/v1/blocks/latest",
    tag = "chain",
    responses(
        (status = 200, description = "The node's head block", body = BlockView),
        (status = 404, description = "`unknown_block`: no block yet", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn latest(State(state): State<ApiState>) -> Result<Json<BlockView>, ApiError> {
    read_store(&state, |store| block_view(store, store.head().height))
        .await
        .map(Json)
}

/// `GET /v1/blocks/{height}`.
#[utoipa::path(
    get,
    path = "/v1/blocks/{height}",
    tag = "chain",
    params(("height" = u64, Path, description = "1 for the first block")),
    responses(
        (status = 200, description = "The block's header, transaction ids and certificate", body = BlockView),
        (status = 400, description = "`invalid_path`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_block`", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn block(
    State(state): State<ApiState>,
    PathParam(height): PathParam,
) -> Result<Json<BlockView>, ApiError> {
    let height = parse_height(&height)?;
    read_store(&state, move |store| block_view(store, height))
        .await
        .map(Json)
}

/// Which transactions of a block to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Index of the first transaction; 0 if not given.
    offset: Option<u32>,
    /// Most transactions to list.
    limit: Option<usize>,
}

/// `GET /v1/blocks/{height}/transactions?offset=&limit=`.
#[utoipa::path(
    get,
    path = "/v1/blocks/{height}/transactions",
    tag = "chain",
    params(("height" = u64, Path, description = "1 for the first block"), PageQuery),
    responses(
        (status = 200, description = "One page of the block's transactions", body = BlockTransactionsPage),
        (status = 400, description = "`invalid_path` or `invalid_query`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_block`", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn transactions(
    State(state): State<ApiState>,
    PathParam(height): PathParam,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<BlockTransactionsPage>, ApiError> {
    let height = parse_height(&height)?;
    let offset = query.offset.unwrap_or(0);
    let limit = page_limit(query.limit)?;
    read_store(&state, move |store| {
        transactions_page(store, height, offset, limit)
    })
    .await
    .map(Json)
}

/// Block `height` as the API shows it.
fn block_view(store: &Store, height: u64) -> Result<BlockView, ApiError> {
    // Height 0 is the genesis, which is a file, not a block.
    if height == 0 {
        return Err(ApiError::unknown_block(height));
    }
    let block = store
        .block(height)
        .map_err(storage)?
        .ok_or_else(|| ApiError::unknown_block(height))?;
    let certificate = store.certificate(height).map_err(storage)?.ok_or_else(|| {
        ApiError::internal(format!("block {height} is stored without its certificate"))
    })?;
    let chain_id = &store.genesis().chain_id;
    Ok(BlockView {
        height,
        hash: block.hash(),
        transactions: block
            .body
            .transactions
            .iter()
            .map(|envelope| envelope.id(chain_id))
            .collect(),
        header: block.header,
        certificate: hex::encode(certificate),
    })
}

/// Up to `limit` transactions of block `height` from index `offset`.
fn transactions_page(
    store: &Store,
    height: u64,
    offset: u32,
    limit: usize,
) -> Result<BlockTransactionsPage, ApiError> {
    let header = match height {
        0 => None,
        _ => store.header(height).map_err(storage)?,
    }
    .ok_or_else(|| ApiError::unknown_block(height))?;
    let end = u64::from(offset)
        .saturating_add(limit as u64)
        .min(u64::from(header.tx_count)) as u32;
    let mut transactions = Vec::with_capacity(end.saturating_sub(offset) as usize);
    for index in offset..end {
        let stored = store
            .transaction_at(TxLocation { height, index })
            .map_err(storage)?
            .ok_or_else(|| {
                ApiError::internal(format!(
                    "block {height} counts {} transactions but has none at {index}",
                    header.tx_count
                ))
            })?;
        transactions.push(BlockTransaction {
            id: stored.id,
            index,
            payload: committed_payload(&stored)?,
            envelope: stored.envelope,
        });
    }
    Ok(BlockTransactionsPage {
        height,
        transactions,
        next_offset: (end < header.tx_count).then_some(end),
    })
}

/// Parses a block height path parameter.
fn parse_height(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::invalid_path(
            "height",
            format!("{text:?} is not a block height (a number from 1, or `latest`)"),
        )
    })
}
