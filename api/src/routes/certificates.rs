//! Look up a CCC certificate number: who holds it and which models are certified under it.
//!
//! A CCC certificate (强制性产品认证证书) identifies certified products as much as a GTIN does:
//! an inspector or buyer reading its number off a nameplate finds the models registered under
//! it and the enterprises whose profile lists it, from the certificate index storage keeps of
//! every record naming a certificate (`Record::certificates`).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use suyuan_ledger::codes::ccc::CccCertificate;
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::record::Record;
use suyuan_ledger::state::{StateError, StateReadExt};
use suyuan_ledger::text::Date;
use suyuan_storage::query::Snapshot;
use suyuan_storage::{Order, PageRequest, Store};
use utoipa::IntoParams;

use crate::committed::{BlockHashes, committed_payload, committed_tx};
use crate::error::ApiError;
use crate::extract::{PathParam, QueryParams};
use crate::profile;
use crate::report::certificate_view;
use crate::routes::products::{category_view, cursor, parse_cursor};
use crate::routes::{StoreReads, page_limit, storage};
use crate::types::{CertificateHolder, CertificateLookup, CertifiedModel};

/// Which page of a certificate's records to read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct CertificateQuery {
    /// The `next` cursor of the previous page.
    after: Option<String>,
    /// Most records to return.
    limit: Option<usize>,
}

/// `GET /v1/certificates/{number}?after=&limit=`.
#[utoipa::path(
    get,
    path = "/v1/certificates/{number}",
    tag = "products",
    params(
        ("number" = String, Path, description = "A CCC certificate number: 16 digits"),
        CertificateQuery,
    ),
    responses(
        (status = 200, description = "One page of the records naming the certificate, oldest first, with the models and holders they name as they stand now", body = CertificateLookup),
        (status = 400, description = "`invalid_certificate` or `invalid_query`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_certificate`: no committed record names it", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn certificate(
    State(reads): State<StoreReads>,
    PathParam(number): PathParam,
    QueryParams(query): QueryParams<CertificateQuery>,
) -> Result<Json<CertificateLookup>, ApiError> {
    let certificate: CccCertificate = number
        .trim()
        .parse()
        .map_err(|error| ApiError::invalid_certificate(&error))?;
    let page = PageRequest {
        after: query.after.as_deref().map(parse_cursor).transpose()?,
        limit: page_limit(query.limit)?,
        order: Order::OldestFirst,
    };
    reads
        .point(move |store| lookup(store, certificate, page))
        .await
        .map(Json)
}

/// The page of records naming `certificate`, and the models and holders they name.
fn lookup(
    store: &Store,
    certificate: CccCertificate,
    page: PageRequest,
) -> Result<CertificateLookup, ApiError> {
    let snapshot = store.snapshot();
    let records = snapshot
        .store()
        .certificate_records(&certificate, page)
        .map_err(storage)?;
    if page.after.is_none() && records.items.is_empty() {
        return Err(ApiError::unknown_certificate(&certificate));
    }
    let computed_at = profile::computed_at(&snapshot)?;
    let mut hashes = BlockHashes::default();
    let (mut model_codes, mut usccs) = (BTreeSet::new(), BTreeSet::new());
    for stored in &records.items {
        match committed_payload(stored)?.record {
            Record::RegisterProduct(model) => {
                model_codes.insert(model.model_code);
            }
            Record::RegisterEnterprise(record) => {
                usccs.insert(record.enterprise.uscc);
            }
            Record::UpdateEnterprise(record) => {
                usccs.insert(record.enterprise.uscc);
            }
            _ => {}
        }
    }
    let mut holders = Vec::new();
    for uscc in &usccs {
        if let Some(holder) = holder(&snapshot, &certificate, uscc, computed_at.date)? {
            holders.push(holder);
        }
    }
    let mut models = Vec::with_capacity(model_codes.len());
    for model_code in model_codes {
        models.push(certified_model(&snapshot, &certificate, model_code)?);
    }
    Ok(CertificateLookup {
        number: certificate,
        holders,
        models,
        records: records
            .items
            .into_iter()
            .map(|stored| committed_tx(store, &mut hashes, stored))
            .collect::<Result<_, _>>()?,
        next: records.next.map(cursor),
        computed_at,
    })
}

/// The enterprise with its entry for `certificate`, if its profile lists it now.
fn holder(
    snapshot: &Snapshot<'_>,
    certificate: &CccCertificate,
    uscc: &Uscc,
    today: Date,
) -> Result<Option<CertificateHolder>, ApiError> {
    let state_error = |error: StateError| ApiError::state_unreadable(&error);
    let Some(enterprise) = snapshot.enterprise(uscc).map_err(state_error)? else {
        return Ok(None);
    };
    let profile = &enterprise.profile;
    Ok(profile
        .ccc_certificates
        .iter()
        .find(|entry| &entry.number == certificate)
        .map(|entry| CertificateHolder {
            uscc: uscc.clone(),
            name: profile.name.to_string(),
            certificate: certificate_view(entry, today),
        }))
}

/// A model a record registered under `certificate`, as it stands now: whether its current
/// registration still names the certificate (a later registration may have dropped it).
fn certified_model(
    snapshot: &Snapshot<'_>,
    certificate: &CccCertificate,
    model_code: ModelCode,
) -> Result<CertifiedModel, ApiError> {
    let registered = snapshot
        .model(&model_code)
        .map_err(|error| ApiError::state_unreadable(&error))?
        .ok_or_else(|| ApiError::internal(format!("model {model_code} is not in state")))?;
    let model = registered.model;
    Ok(CertifiedModel {
        certified_now: model.ccc_certificate.as_ref() == Some(certificate),
        category: category_view(snapshot.store(), model.category),
        name: model.name.to_string(),
        uscc: model.uscc,
        model_code,
    })
}
