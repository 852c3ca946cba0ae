//! A registered product model by its code: what a retail barcode, which carries a bare GTIN,
//! names.

use axum::Json;
use axum::extract::State;
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::state::StateReadExt as _;
use suyuan_storage::Store;

use crate::error::ApiError;
use crate::extract::{PathParam, QueryParams};
use crate::profile;
use crate::report::product_model_view;
use crate::routes::StoreReads;
use crate::routes::enterprises::NoQuery;
use crate::routes::products::{category_view, recalls_covering_model};
use crate::types::{MakerView, ModelView};

/// `GET /v1/models/{code}`.
#[utoipa::path(
    get,
    path = "/v1/models/{code}",
    tag = "products",
    params(("code" = String, Path, description = "A model code: a GTIN (8, 12, 13 or 14 digits), `ecode:…` or `handle:…`; percent-encoded")),
    responses(
        (status = 200, description = "The model as last registered, its maker, and the recalls of the whole model", body = ModelView),
        (status = 400, description = "`invalid_code` (field `code`) or `invalid_query`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_model`: no enterprise registered a model under the code", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn model(
    State(reads): State<StoreReads>,
    PathParam(code): PathParam,
    QueryParams(NoQuery {}): QueryParams<NoQuery>,
) -> Result<Json<ModelView>, ApiError> {
    let code = parse_model_code(&code)?;
    reads
        .point(move |store| model_view(store, &code))
        .await
        .map(Json)
}

/// The model registered under `code`, as of the store's head.
pub(crate) fn model_view(store: &Store, code: &ModelCode) -> Result<ModelView, ApiError> {
    let snapshot = store.snapshot();
    let state = snapshot
        .model(code)
        .map_err(|error| ApiError::state_unreadable(&error))?
        .ok_or_else(|| ApiError::unknown_model(&code.to_string()))?;
    let registered = profile::registered(&snapshot, &state.model.uscc)?;
    let computed_at = registered.computed_at;
    let profile = registered.state.profile;
    let category = category_view(store, state.model.category.clone());
    let mut hashes = crate::committed::BlockHashes::default();
    let (recalls, recalls_complete) =
        recalls_covering_model(&snapshot, code, &profile.uscc, &mut hashes)?;
    Ok(ModelView {
        model: product_model_view(&profile, &state, category, computed_at.date),
        maker: MakerView {
            uscc: profile.uscc,
            name: profile.name,
        },
        recalls,
        recalls_complete,
        computed_at,
    })
}

/// A model code in canonical form, or a GTIN in any of its lengths.
pub(crate) fn parse_model_code(text: &str) -> Result<ModelCode, ApiError> {
    text.trim().parse().map_err(ApiError::invalid_code)
}
