//! Serve the pages people read ([`crate::pages`]): a product's page and a model's page, in
//! Chinese or English. Errors are pages too, in the reader's language, with the API's code.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use suyuan_ledger::codes::gs1::digital_link::percent_decode;
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::record::{Record, TraceCode};
use suyuan_ledger::state::StateReadExt as _;
use suyuan_storage::{Order, PageRequest, Store};

use crate::error::ApiError;
use crate::extract::PathParam;
use crate::pages::product::{self, ProductPage};
use crate::pages::{self, Lang};
use crate::routes::models::{model_view, parse_model_code};
use crate::routes::products::{parse_code, product_view};
use crate::routes::proofs::build_bundle;
use crate::routes::resolver::PublicUrl;
use crate::routes::search::{check_query, find};
use crate::routes::{DEFAULT_PAGE_LIMIT, StoreReads, path_segment};

/// `GET /products/{code}?lang=`: a batch's, item's or logistic unit's page.
#[utoipa::path(
    get,
    path = "/products/{code}",
    tag = "pages",
    params(
        ("code" = String, Path, description = "A trace code in any form `/v1/products` reads; percent-encoded"),
        ("lang" = Option<String>, Query, description = "`zh` or `en`; without it, `Accept-Language` decides, Chinese by default"),
    ),
    responses(
        (status = 200, description = "The product page: recall status, product and maker, inspections, flow, proof", body = String, content_type = "text/html"),
        (status = 400, description = "A page saying the code is not valid", body = String, content_type = "text/html"),
        (status = 404, description = "A page saying the ledger has no record of the code", body = String, content_type = "text/html"),
    )
)]
pub(crate) async fn product_page(
    State(reads): State<StoreReads>,
    State(public_url): State<PublicUrl>,
    PathParam(code): PathParam,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::negotiate(lang_asked(query.as_deref()), &headers);
    let path = format!("/products/{}", path_segment(&code));
    let code = match parse_code(&code) {
        Ok(code) => code,
        Err(error) => return pages::error_page(lang, &path, &error),
    };
    let base = public_url.base(&headers).ok();
    match reads.point(move |store| gather(store, code, base)).await {
        Ok(page) => {
            let title = page
                .model
                .as_ref()
                .map_or_else(|| page.view.code.to_string(), |m| m.model.name.to_string());
            let body = product::render(lang, &page);
            pages::respond(StatusCode::OK, lang, pages::page(lang, &title, &path, body))
        }
        Err(error) => pages::error_page(lang, &path, &error),
    }
}

/// `GET /models/{code}?lang=`: a registered model's page, what a bare GTIN opens.
#[utoipa::path(
    get,
    path = "/models/{code}",
    tag = "pages",
    params(
        ("code" = String, Path, description = "A model code: a GTIN in any length, `ecode:…` or `handle:…`"),
        ("lang" = Option<String>, Query, description = "`zh` or `en`"),
    ),
    responses(
        (status = 200, description = "The model page: recalls of the model, the model, its maker and documents", body = String, content_type = "text/html"),
        (status = 400, description = "A page saying the code is not valid", body = String, content_type = "text/html"),
        (status = 404, description = "A page saying no enterprise registered the model", body = String, content_type = "text/html"),
    )
)]
pub(crate) async fn model_page(
    State(reads): State<StoreReads>,
    PathParam(code): PathParam,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::negotiate(lang_asked(query.as_deref()), &headers);
    let path = format!("/models/{}", path_segment(&code));
    let code = match parse_model_code(&code) {
        Ok(code) => code,
        Err(error) => return pages::error_page(lang, &path, &error),
    };
    match reads.point(move |store| model_view(store, &code)).await {
        Ok(model) => {
            let title = model.model.name.to_string();
            let body = html! {
                @for recall in &model.recalls {
                    @if recall.status == crate::views::RecallStatus::Open {
                        (product::recall_alert(lang, recall))
                    }
                }
                section {
                    p.muted { (lang.pick("产品型号", "Product model")) }
                    h1 { (model.model.name) }
                    dl.facts {
                        dt { (lang.pick("型号代码", "Model code")) } dd.mono { (model.model.model_code) }
                        (product::model_facts(lang, &model))
                        @if let Some(category) = &model.model.category {
                            dt { (lang.pick("产品类别", "Category")) } dd { (lang.pick(&category.name_zh, &category.name_en)) }
                        }
                        @if model.recalls.is_empty() {
                            dt { (lang.pick("召回", "Recalls")) } dd.ok { (lang.pick("本型号无召回记录", "No recall of this model")) }
                        }
                    }
                    p.muted { (lang.pick(
                        "扫描的是商品条码（只含型号）。批次或单品的记录请扫描产品上的追溯二维码。",
                        "This is the model's barcode. For a batch's or an item's records, scan the traceability QR code on the product.",
                    )) }
                }
            };
            pages::respond(StatusCode::OK, lang, pages::page(lang, &title, &path, body))
        }
        Err(error) => pages::error_page(lang, &path, &error),
    }
}

/// `GET /suppliers?q=&after=&lang=` (and `GET /`): the supplier search.
#[utoipa::path(
    get,
    path = "/suppliers",
    tag = "pages",
    params(
        ("q" = Option<String>, Query, description = "A name or part of one, a USCC, a product code or GTIN, or a GLN"),
        ("after" = Option<String>, Query, description = "For a name: where the previous page of results ended"),
        ("lang" = Option<String>, Query, description = "`zh` or `en`"),
    ),
    responses(
        (status = 200, description = "The search form and, for a query, the enterprises found, each linking to its supplier report", body = String, content_type = "text/html"),
    )
)]
pub(crate) async fn suppliers_page(
    State(reads): State<StoreReads>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query.unwrap_or_default();
    let lang = Lang::negotiate(lang_asked(Some(&query)), &headers);
    let asked = query_param(&query, "q").filter(|q| !q.trim().is_empty());
    let after = query_param(&query, "after").and_then(|after| after.parse::<Uscc>().ok());
    let found = match &asked {
        None => None,
        Some(asked) => Some(match check_query(asked) {
            Err(error) => Err(error.body.message),
            Ok(text) => reads
                .scan(move |store, budget| {
                    find(store, budget, &text, after.as_ref(), HITS_PER_PAGE)
                })
                .await
                .map_err(|error| error.body.message),
        }),
    };
    let body = pages::search::render(lang, asked.as_deref().unwrap_or(""), found.as_ref());
    let title = lang.pick("查找供应商", "Find a supplier");
    pages::respond_under(
        StatusCode::OK,
        lang,
        pages::page(lang, title, "/suppliers", body),
        pages::FORM_POLICY,
    )
}

/// `GET /`: the supplier search, where a node's address alone leads.
#[utoipa::path(
    get,
    path = "/",
    tag = "pages",
    params(("lang" = Option<String>, Query, description = "`zh` or `en`")),
    responses((status = 200, description = "The supplier search form", body = String, content_type = "text/html"))
)]
pub(crate) async fn home_page(
    reads: State<StoreReads>,
    query: RawQuery,
    headers: HeaderMap,
) -> Response {
    suppliers_page(reads, query, headers).await
}

/// Enterprises on one page of search results.
const HITS_PER_PAGE: usize = 20;

/// The `lang` parameter of a page's query, if it is `zh` or `en`; other parameters (a
/// campaign's tags on a printed link) are ignored.
fn lang_asked(query: Option<&str>) -> Option<Lang> {
    match query_param(query?, "lang")?.as_str() {
        "zh" => Some(Lang::Zh),
        "en" => Some(Lang::En),
        _ => None,
    }
}

/// The first value of parameter `name` in a query string, decoded (`+` is a space); `None`
/// when it is absent or does not decode.
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name)
            .then(|| percent_decode(value, 0, true).ok())
            .flatten()
    })
}

/// Everything the product page shows, read from one store.
fn gather(store: &Store, code: TraceCode, base: Option<String>) -> Result<ProductPage, ApiError> {
    let first_page = PageRequest {
        after: None,
        limit: DEFAULT_PAGE_LIMIT,
        order: Order::OldestFirst,
    };
    let view = product_view(store, code, first_page)?;
    let model = match &view.model_code {
        Some(model_code) => registered_model(store, model_code)?,
        None => None,
    };
    let snapshot = store.snapshot();
    let mut names = BTreeMap::new();
    for tx in &view.history {
        for uscc in enterprises_named(&tx.payload.record) {
            if names.contains_key(uscc) {
                continue;
            }
            let state = snapshot
                .enterprise(uscc)
                .map_err(|error| ApiError::state_unreadable(&error))?;
            if let Some(state) = state {
                names.insert(uscc.clone(), state.profile.name.to_string());
            }
        }
    }
    let proof = match build_bundle(store, &view.code) {
        Ok(bundle) => bundle
            .verify(store.genesis())
            .map_err(|error| error.to_string()),
        Err(error) => Err(error.body.message),
    };
    let digital_link = match &view.code {
        TraceCode::Lot { .. } | TraceCode::Item { .. } | TraceCode::Sscc(_) => {
            base.map(|base| format!("{base}/{}", view.code))
        }
        TraceCode::Ecode(_) | TraceCode::Handle(_) => None,
    };
    Ok(ProductPage {
        view,
        model,
        names,
        proof,
        digital_link,
    })
}

/// The model registered under `code`, or `None` if there is none.
fn registered_model(
    store: &Store,
    code: &ModelCode,
) -> Result<Option<crate::types::ModelView>, ApiError> {
    match model_view(store, code) {
        Ok(model) => Ok(Some(model)),
        Err(error) if error.status == StatusCode::NOT_FOUND => Ok(None),
        Err(error) => Err(error),
    }
}

/// The enterprises a record of the flow names by USCC (a buyer is named by its record).
fn enterprises_named(record: &Record) -> Vec<&Uscc> {
    match record {
        Record::Commission(commissioning) => vec![&commissioning.uscc],
        Record::Ship(shipment) => vec![&shipment.seller],
        Record::Pack(pack) => vec![&pack.uscc],
        Record::Unpack(unpack) => vec![&unpack.uscc],
        Record::LinkCodes(link) => vec![&link.uscc],
        _ => Vec::new(),
    }
}
