//! Serve the consortium's key-product catalogue, as its genesis holds it.

use axum::Json;
use axum::extract::State;

use crate::routes::StoreReads;
use crate::types::CatalogueView;

/// `GET /v1/catalogue`: the categories of key products, each with the documents and fields its
/// models must carry; the programme catalogue when the genesis file names none.
#[utoipa::path(
    get,
    path = "/v1/catalogue",
    tag = "products",
    responses((status = 200, description = "The consortium's key-product catalogue (docs/records.md)", body = CatalogueView))
)]
pub(crate) async fn catalogue(State(reads): State<StoreReads>) -> Json<CatalogueView> {
    // The genesis is in memory and the catalogue small: no store read, no read thread.
    Json(CatalogueView::new(reads.store().genesis()))
}
