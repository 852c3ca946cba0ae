//! Trace a product code: its latest record and its history.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use suyuan_ledger::codes::inspect::{CodeKind, inspect};
use suyuan_ledger::record::TraceCode;
use suyuan_ledger::state::{StateReadExt, TxLocation};
use suyuan_storage::{Order, PageRequest, Store};
use utoipa::IntoParams;

use crate::committed::{BlockHashes, committed_tx};
use crate::error::ApiError;
use crate::extract::{PathParam, QueryParams};
use crate::routes::{StoreReads, page_limit, storage};
use crate::types::{CategoryView, ProductView};

/// Which page of a code's history to read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    /// The `next` cursor of the previous page.
    after: Option<String>,
    /// Most records to return.
    limit: Option<usize>,
}

/// `GET /v1/products/{code}?after=&limit=`.
#[utoipa::path(
    get,
    path = "/v1/products/{code}",
    tag = "products",
    params(
        ("code" = String, Path, description = "A trace code, Digital Link URI or element string naming a batch, an item or a logistic unit; percent-encoded"),
        HistoryQuery,
    ),
    responses(
        (status = 200, description = "The latest record and one page of the history, oldest first, with the key-product category of the code's model", body = ProductView),
        (status = 400, description = "`invalid_code` or `invalid_query`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_code`: no committed record names it", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn product(
    State(reads): State<StoreReads>,
    PathParam(code): PathParam,
    QueryParams(query): QueryParams<HistoryQuery>,
) -> Result<Json<ProductView>, ApiError> {
    let code = parse_code(&code)?;
    let page = PageRequest {
        after: query.after.as_deref().map(parse_cursor).transpose()?,
        limit: page_limit(query.limit)?,
        order: Order::OldestFirst,
    };
    reads
        .point(move |store| product_view(store, code, page))
        .await
        .map(Json)
}

/// The code's latest record and one page of its history.
fn product_view(
    store: &Store,
    code: TraceCode,
    page: PageRequest,
) -> Result<ProductView, ApiError> {
    let latest = store
        .code_latest(&code)
        .map_err(storage)?
        .ok_or_else(|| ApiError::unknown_code(&code.to_string()))?;
    let history = store.code_history(&code, page).map_err(storage)?;
    let category = category_of(store, &code)?;
    let mut hashes = BlockHashes::default();
    Ok(ProductView {
        category,
        latest: Some(committed_tx(store, &mut hashes, latest)?),
        history: history
            .items
            .into_iter()
            .map(|stored| committed_tx(store, &mut hashes, stored))
            .collect::<Result<_, _>>()?,
        next: history.next.map(cursor),
        code,
    })
}

/// The catalogue category of the code's model, if it has one.
fn category_of(store: &Store, code: &TraceCode) -> Result<Option<CategoryView>, ApiError> {
    let gtin = match code.gtin() {
        Some(gtin) => gtin.clone(),
        None => match store
            .code(code)
            .map_err(|e| ApiError::state_unreadable(&e))?
        {
            Some(state) => state.gtin,
            None => return Ok(None),
        },
    };
    let Some(registered) = store
        .model(&gtin)
        .map_err(|e| ApiError::state_unreadable(&e))?
    else {
        return Ok(None);
    };
    let catalogue = store.genesis().catalogue();
    Ok(registered
        .model
        .category
        .and_then(|id| catalogue.category(&id).map(CategoryView::new)))
}

/// A trace code in canonical form (`01/{gtin}/10/{lot}`, `ecode:…`, …), or any GS1 form the
/// ledger reads as one: a Digital Link URI, an element string.
pub(crate) fn parse_code(text: &str) -> Result<TraceCode, ApiError> {
    let canonical_error = match text.parse::<TraceCode>() {
        Ok(code) => return Ok(code),
        Err(error) => error,
    };
    let report = inspect(text);
    if report.valid {
        return match report.trace_code {
            Some(code) => Ok(code),
            None => Err(ApiError::invalid_code(format!(
                "a {:?} names no batch, item or logistic unit",
                report.kind
            ))),
        };
    }
    Err(ApiError::invalid_code(match (report.kind, report.error) {
        (CodeKind::Unknown | CodeKind::TraceCode, _) | (_, None) => canonical_error.to_string(),
        (kind, Some(error)) => format!("{error} (read as a {kind:?})"),
    }))
}

/// The cursor after a position: `{height}-{index}`.
pub(crate) fn cursor(at: TxLocation) -> String {
    format!("{}-{}", at.height, at.index)
}

/// Parses a cursor made by [`cursor`].
pub(crate) fn parse_cursor(text: &str) -> Result<TxLocation, ApiError> {
    text.split_once('-')
        .and_then(|(height, index)| {
            Some(TxLocation {
                height: height.parse().ok()?,
                index: index.parse().ok()?,
            })
        })
        .ok_or_else(|| {
            ApiError::invalid_query(
                Some("after".into()),
                format!("{text:?} is not a cursor: pass the `next` of the previous page"),
            )
        })
}
