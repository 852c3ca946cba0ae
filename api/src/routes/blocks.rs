//! Read committed blocks and their transactions.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use suyuan_ledger::state::TxLocation;
use suyuan_storage::Store;
use utoipa::IntoParams;

use crate::committed::committed_payload;
use crate::error::ApiError;
use crate::extract::{PathParam, QueryParams};
use crate::raw::{
    MAX_RAW_BLOCKS, RAW_BLOCKS_CONTENT_TYPE, RAW_RESPONSE_TARGET_BYTES, RawBlock, encode_blocks,
};
use crate::routes::{StoreReads, page_limit, storage};
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
pub(crate) async fn latest(State(reads): State<StoreReads>) -> Result<Json<BlockView>, ApiError> {
    reads
        .point(|store| block_view(store, store.head().height))
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
        (status = 200, description = "The block's header, transaction ids and justification", body = BlockView),
        (status = 400, description = "`invalid_path`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_block`", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn block(
    State(reads): State<StoreReads>,
    PathParam(height): PathParam,
) -> Result<Json<BlockView>, ApiError> {
    let height = parse_height(&height)?;
    reads
        .point(move |store| block_view(store, height))
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
    State(reads): State<StoreReads>,
    PathParam(height): PathParam,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<BlockTransactionsPage>, ApiError> {
    let height = parse_height(&height)?;
    let offset = query.offset.unwrap_or(0);
    let limit = page_limit(query.limit)?;
    reads
        .point(move |store| transactions_page(store, height, offset, limit))
        .await
        .map(Json)
}

/// Which blocks `GET /v1/blocks/raw` sends.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RawQuery {
    /// Height of the first block, from 1.
    from: u64,
    /// Most blocks to send: 1 to 256; 64 if not given. An answer also stops after 8 MiB, and at
    /// the head.
    limit: Option<usize>,
}

/// Blocks in a raw answer when the request does not say.
const DEFAULT_RAW_BLOCKS: usize = 64;

/// `GET /v1/blocks/raw?from=&limit=`: consecutive committed blocks with their stored
/// justifications, in the binary form of [`crate::raw`], for auditors.
#[utoipa::path(
    get,
    path = "/v1/blocks/raw",
    tag = "chain",
    params(RawQuery),
    responses(
        (status = 200, description = "Blocks from `from`, each as header, body and justification bytes (docs/api.md); none when `from` is above the head", body = Vec<u8>, content_type = "application/vnd.suyuan.blocks"),
        (status = 400, description = "`invalid_query`", body = crate::types::ErrorBody),
        (status = 500, description = "`storage_error`: block `from` cannot be read from the node's store", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn raw(
    State(reads): State<StoreReads>,
    QueryParams(query): QueryParams<RawQuery>,
) -> Result<Response, ApiError> {
    if query.from == 0 {
        return Err(ApiError::invalid_query(
            Some("from".into()),
            "from is 0; the first block is 1",
        ));
    }
    let limit = match query.limit {
        None => DEFAULT_RAW_BLOCKS,
        Some(limit @ 1..=MAX_RAW_BLOCKS) => limit,
        Some(limit) => {
            return Err(ApiError::invalid_query(
                Some("limit".into()),
                format!("limit is {limit}; it must be 1 to {MAX_RAW_BLOCKS}"),
            ));
        }
    };
    let bytes = reads
        .point(move |store| raw_blocks(store, query.from, limit))
        .await?;
    Ok(([(header::CONTENT_TYPE, RAW_BLOCKS_CONTENT_TYPE)], bytes).into_response())
}

/// Up to `limit` blocks from `from`, stopping at the head and after
/// [`RAW_RESPONSE_TARGET_BYTES`]. A block that cannot be read ends the answer early, so that
/// the request starting at it gets the store's error for exactly that block.
fn raw_blocks(store: &Store, from: u64, limit: usize) -> Result<Vec<u8>, ApiError> {
    let head = store.head().height;
    let last = from.saturating_add(limit as u64 - 1).min(head);
    let mut blocks = Vec::new();
    let mut size = 4;
    for height in from..=last {
        let read = store.block(height).and_then(|block| {
            let justification = store.justification(height)?;
            Ok(block.zip(justification))
        });
        let (block, justification) = match read {
            Ok(Some(found)) => found,
            Ok(None) => {
                return Err(ApiError::internal(format!(
                    "block {height} is at or below the head {head} but is not stored whole"
                )));
            }
            Err(error) if blocks.is_empty() => return Err(storage(error)),
            Err(_) => break,
        };
        let raw = RawBlock::of(&block, justification);
        size += raw.encoded_len();
        blocks.push(raw);
        if size >= RAW_RESPONSE_TARGET_BYTES {
            break;
        }
    }
    Ok(encode_blocks(&blocks))
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
    let justification = store
        .justification(height)
        .map_err(storage)?
        .ok_or_else(|| {
            ApiError::internal(format!(
                "block {height} is stored without its justification"
            ))
        })?;
    let chain = store.binding();
    Ok(BlockView {
        height,
        hash: block.hash(),
        transactions: block
            .body
            .transactions
            .iter()
            .map(|envelope| envelope.id(chain))
            .collect(),
        header: block.header,
        justification: hex::encode(justification),
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
