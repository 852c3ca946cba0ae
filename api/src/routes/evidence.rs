//! `GET /v1/enterprises/{uscc}/evidence`: page through one of an enterprise's evidence
//! listings, newest first, past the newest part a report or score shows.
//!
//! A report reads at most the newest [`crate::profile::MAX_LISTED_READ`] entries of each
//! listing; its `reads.listings` say where the rest starts. Entries are numbered from 0 in the
//! order execution listed them and never renumbered, so `?before=` pages stay where they were
//! while newer records arrive. Each page is one bounded read: at most [`MAX_PAGE_LIMIT`]
//! entries, each costing a few state reads.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::facts::{FactsRead as _, Listed, Listing};
use suyuan_ledger::state::StateReadExt as _;
use suyuan_storage::query::Snapshot;
use utoipa::IntoParams;

use crate::committed::{BlockHashes, committed_tx};
use crate::error::ApiError;
use crate::extract::{PathParam, QueryParams};
use crate::profile::{self, ProfileError};
use crate::routes::enterprises::parse_uscc;
use crate::routes::{MAX_PAGE_LIMIT, StoreReads, page_limit};
use crate::views::{CodeFigures, EvidenceEntry, EvidenceListing, EvidencePage, ModelFigures};

/// Which listing, and which page of it.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EvidenceQuery {
    /// `models`, `codes`, `inspections`, `recalls` or `events` (commissionings and own sales).
    listing: EvidenceListing,
    /// The `next_before` of the previous page, or of a report's `reads.listings`: entries
    /// numbered below it, newest first. Without it, the newest entries.
    before: Option<u64>,
    /// Most entries to return.
    limit: Option<usize>,
}

/// `GET /v1/enterprises/{uscc}/evidence?listing=&before=&limit=`.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/evidence",
    tag = "enterprises",
    params(
        ("uscc" = String, Path, description = "The enterprise's unified social credit code (18 characters; lower case is accepted)"),
        EvidenceQuery,
    ),
    responses(
        (status = 200, description = "One page of one evidence listing, newest first: the records and codes behind the enterprise's figures", body = EvidencePage),
        (status = 400, description = "`invalid_uscc` or `invalid_query`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_enterprise`: not enrolled", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn evidence(
    State(reads): State<StoreReads>,
    PathParam(uscc): PathParam,
    QueryParams(query): QueryParams<EvidenceQuery>,
) -> Result<Json<EvidencePage>, ApiError> {
    let uscc = parse_uscc(&uscc)?;
    let limit = page_limit(query.limit)?;
    reads
        .point(move |store| {
            let page = evidence_page(&store.snapshot(), uscc, query.listing, query.before, limit);
            Ok(page?)
        })
        .await
        .map(Json)
}

/// Entries below `before` (all of them without it) of `uscc`'s `listing`, at most `limit`,
/// newest first, as of the snapshot's head.
fn evidence_page(
    snapshot: &Snapshot<'_>,
    uscc: Uscc,
    listing: EvidenceListing,
    before: Option<u64>,
    limit: usize,
) -> Result<EvidencePage, ProfileError> {
    debug_assert!(limit <= MAX_PAGE_LIMIT);
    let registered = profile::registered(snapshot, &uscc)?;
    let facts = snapshot
        .enterprise_facts(&uscc)?
        .ok_or_else(|| ProfileError::MissingFacts { uscc: uscc.clone() })?;
    let total = facts.listed(listing.listing());
    let end = before.unwrap_or(total).min(total);
    let start = end.saturating_sub(limit as u64);
    let mut blocks = BlockHashes::default();
    let mut entries = Vec::with_capacity((end - start) as usize);
    for number in (start..end).rev() {
        let missing = || ProfileError::MissingListed {
            uscc: uscc.clone(),
            listing: listing.listing(),
            number,
        };
        let entry = snapshot
            .listed(&uscc, listing.listing(), number)?
            .ok_or_else(missing)?;
        entries.push(match (listing.listing(), entry) {
            (Listing::Models, Listed::Model(model_code)) => {
                let state =
                    snapshot
                        .model(&model_code)?
                        .ok_or_else(|| ProfileError::MissingEntry {
                            what: "model",
                            name: model_code.to_string(),
                        })?;
                EvidenceEntry::Model {
                    number,
                    figures: ModelFigures::from(&snapshot.model_facts(&model_code)?),
                    name: state.model.name,
                    gtin: model_code.gtin().cloned(),
                    model_code,
                }
            }
            (Listing::Codes, Listed::Code(code)) => EvidenceEntry::Code {
                number,
                figures: CodeFigures::from(&snapshot.code_facts(&code)?),
                code,
            },
            (Listing::Inspections | Listing::Recalls | Listing::Events, Listed::Record(id)) => {
                let stored = profile::committed_at(snapshot, &id)?;
                EvidenceEntry::Record {
                    number,
                    record: Box::new(committed_tx(snapshot.store(), &mut blocks, stored)?),
                }
            }
            _ => return Err(missing()),
        });
    }
    Ok(EvidencePage {
        uscc,
        listing,
        computed_at: registered.computed_at,
        total,
        entries,
        next_before: (start > 0).then_some(start),
    })
}
