//! Take any supported code apart, as `suyuan code inspect` does, and point at its latest record.

use axum::Json;
use axum::extract::State;
use suyuan_epcis::ids::held_company_prefix_digits;
use suyuan_ledger::codes::ccc::CccCertificate;
use suyuan_ledger::codes::gs1::digital_link::percent_encode_into;
use suyuan_ledger::codes::gs1::epc_link::Epc;
use suyuan_ledger::codes::inspect::{CodeKind, Inspection, inspect};
use suyuan_ledger::record::TraceCode;
use suyuan_storage::{Order, PageRequest, Store, StoredTx};

use crate::committed::committed_payload;
use crate::error::ApiError;
use crate::extract::PathParam;
use crate::routes::{StoreReads, storage};
use crate::types::{CodeView, LatestRecord};

/// `GET /v1/codes/{code}`: the code's kind, canonical form, parts and check digits, and its
/// latest record if the ledger has one (for a CCC certificate, the latest record naming it); 400 `invalid_code` (field `code`, with the `kind` it
/// was read as and `check_digit_valid`) if it is not a valid code.
#[utoipa::path(
    get,
    path = "/v1/codes/{code}",
    tag = "products",
    params(("code" = String, Path, description = "Any code Suyuan knows (docs/codes.md), percent-encoded")),
    responses(
        (status = 200, description = "The code taken apart, and its latest record", body = CodeView),
        (status = 400, description = "`invalid_code`, with `kind` and `check_digit_valid`", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn code(
    State(reads): State<StoreReads>,
    PathParam(code): PathParam,
) -> Result<Json<CodeView>, ApiError> {
    let report = inspect(&code);
    if !report.valid {
        return Err(invalid(&report));
    }
    let trace_code = report.trace_code;
    let certificate = match report.kind {
        CodeKind::CccCertificate => report.normalized.as_deref().and_then(|n| n.parse().ok()),
        _ => None,
    };
    let kind = report.kind;
    let input = report.input.clone();
    let link = match &trace_code {
        Some(code @ (TraceCode::Lot { .. } | TraceCode::Item { .. } | TraceCode::Sscc(_))) => {
            Some(format!("https://id.gs1.org/{code}"))
        }
        _ => report
            .normalized
            .clone()
            .filter(|n| n.starts_with("https://id.gs1.org/")),
    };
    let code = trace_code.clone();
    let (latest, epc) = reads
        .point(move |store| {
            let latest = match (code, certificate) {
                (Some(code), _) => latest_record(store, &code)?,
                (None, Some(certificate)) => latest_certificate_record(store, &certificate)?,
                (None, None) => None,
            };
            Ok((latest, epc_of(store, kind, &input, link.as_deref())))
        })
        .await?;
    Ok(Json(CodeView {
        input: report.input,
        kind: report.kind,
        normalized: report.normalized.ok_or_else(|| {
            ApiError::internal("inspection found a valid code without its normalised form")
        })?,
        check_digit_valid: report.check_digit_valid,
        fields: report.fields,
        ais: report.ais,
        trace_code,
        also_valid_as: report.also_valid_as,
        latest,
        epc,
    }))
}

/// The EPC URN of a GS1 code: an EPC URN as given, or the code's Digital Link split where the
/// held company prefix that covers it ends.
fn epc_of(store: &Store, kind: CodeKind, input: &str, link: Option<&str>) -> Option<String> {
    if kind == CodeKind::EpcUrn {
        return input.parse::<Epc>().ok().map(|epc| epc.to_string());
    }
    Epc::from_digital_link(link?, |key| held_company_prefix_digits(store, key))
        .ok()
        .map(|epc| epc.to_string())
}

/// 400 `invalid_code` with the inspector's reason, the kind it read the code as, and whether a
/// check digit was at fault.
fn invalid(report: &Inspection) -> ApiError {
    let reason = report.error.as_deref().unwrap_or("not a valid code");
    let mut error = ApiError::invalid_code(reason);
    error.body = error
        .body
        .with_detail("kind", report.kind.name())
        .with_detail("check_digit_valid", report.check_digit_valid);
    error
}

/// The latest committed record naming `code`, and where to read all of them.
fn latest_record(store: &Store, code: &TraceCode) -> Result<Option<LatestRecord>, ApiError> {
    let stored = store.code_latest(code).map_err(storage)?;
    stored
        .map(|stored| latest(stored, product_path(code)))
        .transpose()
}

/// The pointer to `stored`, whose full record and history are at `path`.
fn latest(stored: StoredTx, path: String) -> Result<LatestRecord, ApiError> {
    let record_type = committed_payload(&stored)?.record.type_name().to_owned();
    Ok(LatestRecord {
        id: stored.id,
        height: stored.location.height,
        index: stored.location.index,
        record_type,
        product: path,
    })
}

/// The latest committed record naming a CCC certificate, pointing at the certificate's lookup.
fn latest_certificate_record(
    store: &Store,
    certificate: &CccCertificate,
) -> Result<Option<LatestRecord>, ApiError> {
    let newest = PageRequest {
        after: None,
        limit: 1,
        order: Order::NewestFirst,
    };
    let page = store
        .certificate_records(certificate, newest)
        .map_err(storage)?;
    let path = format!("/v1/certificates/{certificate}");
    page.items
        .into_iter()
        .next()
        .map(|stored| latest(stored, path))
        .transpose()
}

/// `/v1/products/{code}` with the code percent-encoded as one path segment.
fn product_path(code: &TraceCode) -> String {
    let mut path = String::from("/v1/products/");
    percent_encode_into(&mut path, &code.to_string());
    path
}
