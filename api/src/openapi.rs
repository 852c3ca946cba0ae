//! Describe the API as an OpenAPI 3.1 document, generated from the handlers' annotations and
//! the body types, and serve it at `/openapi.json`.
//!
//! How it fits: every handler carries `#[utoipa::path]` (its method, path, parameters and
//! answers) and every body in [`crate::types`] derives `ToSchema`. [`ApiDoc`] lists the
//! handlers; the API's tests check that the document lists exactly the routes
//! [`crate::router()`] serves ([`crate::served_routes`]), so a route cannot go undocumented.
//! The handler that serves the document is here rather than among [`crate::routes`]: the
//! document lists every route, so a route serving it would import its own importer.
//!
//! The types the ledger and the proof bundles hold describe themselves through the
//! stand-ins of [`crate::schemas`], except what a client signs: the payload and every record
//! kind's fields come from the ledger's generated JSON Schema
//! ([`suyuan_ledger::schema::payload_definitions`]), merged into the document's
//! `components/schemas` where they replace any stand-in of the same name.

use std::sync::OnceLock;

use axum::Json;
use suyuan_ledger::schema::payload_definitions;
use utoipa::OpenApi;

use crate::routes::{
    blocks, catalogue, certificates, codes, enterprises, epcis, evidence, inspections, labels,
    models, pages, products, proofs, recalls, resolver, search, status, transactions,
};

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Suyuan node API",
        description = "Submit signed traceability transactions and read what a Suyuan \
                       consortium has committed. Every error is JSON with a stable `code` \
                       (see docs/api.md)."
    ),
    paths(
        transactions::submit,
        transactions::submit_batch,
        transactions::transaction,
        status::status,
        blocks::latest,
        blocks::raw,
        blocks::block,
        blocks::transactions,
        products::product,
        models::model,
        labels::product_qr,
        labels::model_qr,
        codes::code,
        certificates::certificate,
        catalogue::catalogue,
        proofs::proof,
        proofs::consistency,
        search::search,
        enterprises::enterprise,
        enterprises::party,
        enterprises::records,
        enterprises::amendments,
        enterprises::report,
        enterprises::score,
        evidence::evidence,
        enterprises::scores,
        recalls::open_recalls,
        inspections::inspections,
        epcis::events,
        epcis::product_document,
        epcis::enterprise_document,
        resolver::resolve_gtin,
        resolver::resolve_sscc,
        resolver::resolve_location,
        resolver::resolve_party,
        resolver::resolve_ecode,
        resolver::resolve_handle,
        resolver::description,
        pages::home_page,
        pages::suppliers_page,
        pages::product_page,
        pages::model_page,
        status::healthz,
        status::readyz,
        status::metrics,
        serve_document,
    ),
    tags(
        (name = "transactions", description = "Submit signed envelopes and follow them"),
        (name = "chain", description = "Blocks and the node's status"),
        (name = "products", description = "Product codes and their histories, and the key-product catalogue"),
        (name = "proofs", description = "Proof bundles and consistency proofs, checkable against the genesis file alone (docs/proofs.md)"),
        (name = "enterprises", description = "Enterprises: registration, records, supplier reports, traceability scores and rankings"),
        (name = "regulators", description = "Across the consortium: open recalls with every holder of what they cover, inspections by outcome, region and period"),
        (name = "epcis", description = "GS1 EPCIS 2.0: the simple event query, and a product's or an enterprise's history as one EPCIS document (docs/epcis.md)"),
        (name = "resolver", description = "GS1 Digital Link resolution: what a QR code or a scanned link opens, as redirects or an RFC 9264 linkset (docs/api.md, \"Resolver\")"),
        (name = "pages", description = "Pages people read, server-rendered in Chinese (the default) or English: what a scanned QR code opens"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// The document as served, built once: the handlers' annotations, and the ledger's payload
/// schema in `components/schemas`.
pub fn document() -> &'static serde_json::Value {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document =
            serde_json::to_value(ApiDoc::openapi()).expect("an OpenAPI document is JSON");
        let definitions = payload_definitions("/components/schemas");
        let schemas = document["components"]["schemas"]
            .as_object_mut()
            .expect("the document has component schemas");
        schemas.extend(definitions);
        document
    })
}

/// `GET /openapi.json`: this API's OpenAPI 3.1 document, generated from the code.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI document", body = Object, content_type = "application/json"))
)]
pub(crate) async fn serve_document() -> Json<&'static serde_json::Value> {
    Json(document())
}
