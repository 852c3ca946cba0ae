//! QR codes of what the ledger knows, pointing at this node's resolver: the Digital Link of a
//! batch, item or logistic unit (`/v1/products/{code}/qr`) or of a model's GTIN
//! (`/v1/models/{code}/qr`), as SVG or PNG.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use suyuan_labels::{MAX_PNG_MODULE_PIXELS, Qr};
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::record::TraceCode;
use suyuan_ledger::state::StateReadExt as _;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::extract::{PathParam, QueryParams};
use crate::routes::models::parse_model_code;
use crate::routes::products::parse_code;
use crate::routes::resolver::PublicUrl;
use crate::routes::{StoreReads, storage};

/// How to draw the QR code.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct QrQuery {
    /// `svg` (the default) or `png`.
    format: Option<QrFormat>,
    /// Pixels per module of a PNG, 1 to 40 (default 8).
    module: Option<u32>,
}

/// An image format for a QR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum QrFormat {
    /// Scalable, for print.
    Svg,
    /// Greyscale PNG.
    Png,
}

/// Pixels per module of a PNG when the request does not say.
const DEFAULT_MODULE_PIXELS: u32 = 8;

/// `GET /v1/products/{code}/qr?format=&module=`.
#[utoipa::path(
    get,
    path = "/v1/products/{code}/qr",
    tag = "resolver",
    params(
        ("code" = String, Path, description = "A GS1 batch, item or logistic unit code in any form `/v1/products` reads; percent-encoded"),
        QrQuery,
    ),
    responses(
        (status = 200, description = "The QR code of the code's GS1 Digital Link on this node's resolver", content(
            (String = "image/svg+xml"),
            (String = "image/png"),
        )),
        (status = 400, description = "`invalid_code` (also an Ecode or Handle code, which has no GS1 Digital Link), `invalid_query` or `invalid_host`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_code`: no committed record names it", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn product_qr(
    State(reads): State<StoreReads>,
    State(public_url): State<PublicUrl>,
    PathParam(code): PathParam,
    QueryParams(query): QueryParams<QrQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let code = parse_code(&code)?;
    if matches!(code, TraceCode::Ecode(_) | TraceCode::Handle(_)) {
        return Err(ApiError::invalid_code(format!(
            "{code} is no GS1 code, so it has no GS1 Digital Link to draw"
        )));
    }
    let base = public_url.base(&headers)?;
    let path = reads
        .point(move |store| {
            let state_error = |error| ApiError::state_unreadable(&error);
            let code = store.alias(&code).map_err(state_error)?.unwrap_or(code);
            if store.code_latest(&code).map_err(storage)?.is_none() {
                return Err(ApiError::unknown_code(&code.to_string()));
            }
            Ok(format!("/{code}"))
        })
        .await?;
    qr_response(&format!("{base}{path}"), &query)
}

/// `GET /v1/models/{code}/qr?format=&module=`.
#[utoipa::path(
    get,
    path = "/v1/models/{code}/qr",
    tag = "resolver",
    params(
        ("code" = String, Path, description = "A registered model's GTIN, in any of its lengths"),
        QrQuery,
    ),
    responses(
        (status = 200, description = "The QR code of the GTIN's GS1 Digital Link on this node's resolver", content(
            (String = "image/svg+xml"),
            (String = "image/png"),
        )),
        (status = 400, description = "`invalid_code` (also an Ecode or Handle model, which has no GS1 Digital Link), `invalid_query` or `invalid_host`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_model`", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn model_qr(
    State(reads): State<StoreReads>,
    State(public_url): State<PublicUrl>,
    PathParam(code): PathParam,
    QueryParams(query): QueryParams<QrQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let code = parse_model_code(&code)?;
    let ModelCode::Gtin(gtin) = &code else {
        return Err(ApiError::invalid_code(format!(
            "{code} is no GTIN, so it has no GS1 Digital Link to draw"
        )));
    };
    let path = format!("/01/{gtin}");
    let base = public_url.base(&headers)?;
    reads
        .point(move |store| {
            let registered = store
                .snapshot()
                .model(&code)
                .map_err(|error| ApiError::state_unreadable(&error))?;
            registered
                .map(|_| ())
                .ok_or_else(|| ApiError::unknown_model(&code.to_string()))
        })
        .await?;
    qr_response(&format!("{base}{path}"), &query)
}

/// The QR code of `link` in the format `query` asks for.
fn qr_response(link: &str, query: &QrQuery) -> Result<Response, ApiError> {
    let module = query.module.unwrap_or(DEFAULT_MODULE_PIXELS);
    if !(1..=MAX_PNG_MODULE_PIXELS).contains(&module) {
        return Err(ApiError::invalid_query(
            Some("module".into()),
            format!("module is {module}; it must be 1 to {MAX_PNG_MODULE_PIXELS}"),
        ));
    }
    let qr = Qr::encode(link).map_err(|error| ApiError::internal(error.to_string()))?;
    let (content_type, body) = match query.format.unwrap_or(QrFormat::Svg) {
        QrFormat::Svg => ("image/svg+xml", qr.to_svg(30.0).into_bytes()),
        QrFormat::Png => (
            "image/png",
            qr.to_png(module)
                .map_err(|error| ApiError::internal(error.to_string()))?,
        ),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // An SVG opened on its own is a document: it may run nothing and load nothing.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let link_header = HeaderValue::from_str(&format!("<{link}>; rel=\"describes\""))
        .map_err(|_| ApiError::internal("the Digital Link is not a header value"))?;
    headers.insert(header::LINK, link_header);
    Ok(response)
}
