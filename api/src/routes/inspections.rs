//! `GET /v1/inspections`: inspections across the consortium by outcome, region and period, for
//! a regulator looking for failed products (by default, the non-conformant ones).
//!
//! Each inspection is listed under the producer whose product it inspected, and the region is
//! the producer's: the administrative division code in its USCC (characters 3 to 8; a
//! province is the first two digits, a city the first four). The page walks the enrolled
//! enterprises in USCC order, skips at once those outside the region and, when looking for
//! failures, those whose whole-history figures count none; it reads each remaining
//! producer's inspections listing newest first. Every entry read is spent from the request's
//! read budget, and the cursor names the producer and the listing entry to go on from.
//!
//! Market samplings of products not on the ledger are listed under the maker their label
//! names. A maker that is enrolled has them in its own listing, so they come with its other
//! inspections; those of makers that never enrolled follow the enrolled producers, read from
//! the consortium's numbered off-ledger samplings newest first, the cursor then naming the
//! sampling to go on from (`sampled:{n}`). `category=` keeps the inspections of products of one
//! catalogue category: a sampled product's own, a code's or model's from its registered model.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use suyuan_ledger::catalogue::CategoryId;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::facts::{FactsRead as _, Listed, Listing};
use suyuan_ledger::record::{Inspection, Outcome, Record, Subject};
use suyuan_ledger::state::StateReadExt as _;
use suyuan_ledger::text::{Date, ShortText};
use suyuan_storage::query::{MAX_ENTERPRISES_PER_PAGE, Snapshot, StoredTx};
use utoipa::{IntoParams, ToSchema};

use crate::committed::{BlockHashes, committed_payload, record_ref};
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::profile::{self, ProfileError};
use crate::reads::Budget;
use crate::routes::{StoreReads, page_limit};
use crate::views::{InspectionView, InspectionsPage, RegionalInspection};

/// Which outcomes to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OutcomeFilter {
    /// Failed inspections only.
    #[default]
    NonConformant,
    /// Passed inspections only.
    Conformant,
    /// Every inspection.
    Any,
}

impl OutcomeFilter {
    fn admits(self, outcome: Outcome) -> bool {
        match self {
            OutcomeFilter::Any => true,
            OutcomeFilter::NonConformant => outcome == Outcome::NonConformant,
            OutcomeFilter::Conformant => outcome == Outcome::Conformant,
        }
    }
}

/// Which inspections, and which page of them.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct InspectionsQuery {
    /// `non_conformant` (the default), `conformant` or `any`.
    outcome: Option<OutcomeFilter>,
    /// The producers' administrative division: 2 digits (a province, e.g. `42` Hubei), 4 (a
    /// city, `4201` Wuhan) or 6 (a district), as in characters 3 to 8 of a USCC.
    region: Option<String>,
    /// Inspected on or after this date (`YYYY-MM-DD`).
    from: Option<String>,
    /// Inspected on or before this date (`YYYY-MM-DD`).
    to: Option<String>,
    /// Products of this catalogue category only (`wires_cables`).
    category: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// Most inspections to return.
    limit: Option<usize>,
}

/// The parsed query.
#[derive(Debug, Clone)]
struct Filter {
    outcome: OutcomeFilter,
    region: Option<String>,
    from: Option<Date>,
    to: Option<Date>,
    category: Option<CategoryId>,
}

impl Filter {
    fn in_region(&self, uscc: &Uscc) -> bool {
        match &self.region {
            None => true,
            Some(region) => uscc.to_string()[2..8].starts_with(region.as_str()),
        }
    }

    fn admits(&self, outcome: Outcome, on: Date) -> bool {
        self.outcome.admits(outcome)
            && self.from.is_none_or(|from| on >= from)
            && self.to.is_none_or(|to| on <= to)
    }
}

/// Where a page goes on from: a producer, and the number of the listing entry below which its
/// inspections are still to read; or, past the enrolled producers, the number of the
/// off-ledger sampling below which samplings are still to read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    Producer { uscc: Uscc, before: u64 },
    Sampled { before: u64 },
}

/// What a cursor into the off-ledger samplings starts with.
const SAMPLED_CURSOR: &str = "sampled";

impl Cursor {
    fn text(&self) -> String {
        match self {
            Cursor::Producer { uscc, before } => format!("{uscc}:{before}"),
            Cursor::Sampled { before } => format!("{SAMPLED_CURSOR}:{before}"),
        }
    }

    fn parse(text: &str) -> Result<Cursor, ApiError> {
        let bad = || {
            ApiError::invalid_query(
                Some("after".into()),
                format!("after {text:?} is not the `next` of a page of inspections"),
            )
        };
        let (head, before) = text.split_once(':').ok_or_else(bad)?;
        let before = before.parse().map_err(|_| bad())?;
        if head == SAMPLED_CURSOR {
            return Ok(Cursor::Sampled { before });
        }
        Ok(Cursor::Producer {
            uscc: head.parse().map_err(|_| bad())?,
            before,
        })
    }
}

/// `GET /v1/inspections?outcome=&region=&from=&to=&category=&after=&limit=`.
#[utoipa::path(
    get,
    path = "/v1/inspections",
    tag = "regulators",
    params(InspectionsQuery),
    responses(
        (status = 200, description = "Inspections of enrolled producers' products and market samplings of products not on the ledger, by outcome (non-conformant by default), producer region, date and catalogue category; producers in USCC order and each one's newest first, then the samplings of makers never enrolled, newest first", body = InspectionsPage),
        (status = 400, description = "`invalid_query`", body = crate::types::ErrorBody),
        (status = 422, description = "`read_limit_exceeded`: the page reads more stored entries than one request may; narrow it by region or period, or ask for fewer", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn inspections(
    State(reads): State<StoreReads>,
    QueryParams(query): QueryParams<InspectionsQuery>,
) -> Result<Json<InspectionsPage>, ApiError> {
    let limit = page_limit(query.limit)?;
    let filter = Filter {
        outcome: query.outcome.unwrap_or_default(),
        region: query.region.map(parse_region).transpose()?,
        from: query
            .from
            .as_deref()
            .map(|d| parse_date("from", d))
            .transpose()?,
        to: query
            .to
            .as_deref()
            .map(|d| parse_date("to", d))
            .transpose()?,
        category: query.category.map(parse_category).transpose()?,
    };
    let after = query.after.as_deref().map(Cursor::parse).transpose()?;
    reads
        .scan(move |store, budget| {
            Ok(inspections_page(
                &store.snapshot(),
                &filter,
                after,
                limit,
                budget,
            )?)
        })
        .await
        .map(Json)
}

fn parse_region(region: String) -> Result<String, ApiError> {
    if matches!(region.len(), 2 | 4 | 6) && region.bytes().all(|b| b.is_ascii_digit()) {
        Ok(region)
    } else {
        Err(ApiError::invalid_query(
            Some("region".into()),
            format!("region {region:?} is not an administrative division code: 2, 4 or 6 digits"),
        ))
    }
}

fn parse_category(category: String) -> Result<CategoryId, ApiError> {
    category.parse().map_err(|error| {
        ApiError::invalid_query(
            Some("category".into()),
            format!("category {category:?} is not a category id: {error}"),
        )
    })
}

fn parse_date(field: &str, text: &str) -> Result<Date, ApiError> {
    text.parse().map_err(|error| {
        ApiError::invalid_query(
            Some(field.into()),
            format!("{field} {text:?} is not a date (YYYY-MM-DD): {error}"),
        )
    })
}

fn inspections_page(
    snapshot: &Snapshot<'_>,
    filter: &Filter,
    after: Option<Cursor>,
    limit: usize,
    budget: &Budget,
) -> Result<InspectionsPage, ProfileError> {
    let computed_at = profile::computed_at(snapshot)?;
    let mut blocks = BlockHashes::default();
    let mut found = Vec::new();
    let mut enterprises_scanned = 0;
    let mut next = None;
    let mut scan_after = None;
    let mut producers_done = false;
    let mut sampled_before = None;
    // The cursor's own producer first, from the entry it names; then the enterprises after it.
    match after {
        Some(Cursor::Producer { uscc, before }) => {
            next = producer_inspections(
                snapshot,
                filter,
                &uscc,
                Some(before),
                limit,
                &mut found,
                &mut blocks,
                budget,
            )?;
            scan_after = Some(uscc);
        }
        Some(Cursor::Sampled { before }) => {
            producers_done = true;
            sampled_before = Some(before);
        }
        None => {}
    }
    'scan: while next.is_none() && !producers_done {
        let page = snapshot.enterprises(scan_after.as_ref(), MAX_ENTERPRISES_PER_PAGE)?;
        budget.spend(page.items.len().max(1))?;
        for enterprise in &page.items {
            let uscc = &enterprise.profile.uscc;
            enterprises_scanned += 1;
            if !filter.in_region(uscc) {
                continue;
            }
            if let Some(stop) = producer_inspections(
                snapshot,
                filter,
                uscc,
                None,
                limit,
                &mut found,
                &mut blocks,
                budget,
            )? {
                next = Some(stop);
                break 'scan;
            }
        }
        match page.next {
            Some(last) => scan_after = Some(last),
            None => break,
        }
    }
    if next.is_none() {
        next = unenrolled_samplings(
            snapshot,
            filter,
            sampled_before,
            limit,
            &mut found,
            &mut blocks,
            budget,
        )?;
    }
    Ok(InspectionsPage {
        computed_at,
        inspections: found,
        enterprises_scanned,
        next: next.map(|cursor| cursor.text()),
    })
}

/// Adds `uscc`'s inspections that pass `filter`, newest first from entry `before` down, to
/// `found` until it holds `limit`; the cursor to go on from when it stopped short.
#[allow(clippy::too_many_arguments)]
fn producer_inspections(
    snapshot: &Snapshot<'_>,
    filter: &Filter,
    uscc: &Uscc,
    before: Option<u64>,
    limit: usize,
    found: &mut Vec<RegionalInspection>,
    blocks: &mut BlockHashes,
    budget: &Budget,
) -> Result<Option<Cursor>, ProfileError> {
    budget.spend(1)?;
    let Some(facts) = snapshot.enterprise_facts(uscc)? else {
        return Ok(None);
    };
    let relevant = match filter.outcome {
        OutcomeFilter::NonConformant => facts.failed_inspections(),
        OutcomeFilter::Conformant => facts.inspections_conformant.met,
        OutcomeFilter::Any => facts.inspections_conformant.out_of,
    };
    if relevant == 0 {
        return Ok(None);
    }
    let total = facts.listed(Listing::Inspections);
    let end = before.unwrap_or(total).min(total);
    let mut name = None;
    for number in (0..end).rev() {
        if found.len() == limit {
            return Ok(Some(Cursor::Producer {
                uscc: uscc.clone(),
                before: number + 1,
            }));
        }
        budget.spend(2)?;
        let missing = || ProfileError::MissingListed {
            uscc: uscc.clone(),
            listing: Listing::Inspections,
            number,
        };
        let Some(Listed::Record(id)) = snapshot.listed(uscc, Listing::Inspections, number)? else {
            return Err(missing());
        };
        let stored = profile::committed_at(snapshot, &id)?;
        let Record::Inspect(inspection) = committed_payload(&stored)?.record else {
            return Err(missing());
        };
        if !filter.admits(inspection.outcome, inspection.inspected_on) {
            continue;
        }
        if !category_admits(snapshot, filter, &inspection, budget)? {
            continue;
        }
        if name.is_none() {
            budget.spend(1)?;
            name = snapshot
                .enterprise(uscc)
                .map_err(ProfileError::from)?
                .map(|state| state.profile.name);
        }
        found.push(regional(
            snapshot,
            uscc,
            name.clone(),
            inspection,
            &stored,
            blocks,
        )?);
    }
    if found.len() == limit {
        // Full exactly at this producer's oldest entry: the next page starts after it.
        return Ok(Some(Cursor::Producer {
            uscc: uscc.clone(),
            before: 0,
        }));
    }
    Ok(None)
}

/// Adds the market samplings of makers that never enrolled that pass `filter`, newest first
/// from sampling `before` down, to `found` until it holds `limit`; the cursor to go on from
/// when it stopped short. An enrolled maker's samplings are in its own listing, read already.
fn unenrolled_samplings(
    snapshot: &Snapshot<'_>,
    filter: &Filter,
    before: Option<u64>,
    limit: usize,
    found: &mut Vec<RegionalInspection>,
    blocks: &mut BlockHashes,
    budget: &Budget,
) -> Result<Option<Cursor>, ProfileError> {
    budget.spend(1)?;
    let total = snapshot.off_ledger_samplings()?;
    let end = before.unwrap_or(total).min(total);
    for number in (0..end).rev() {
        if found.len() == limit {
            return Ok(Some(Cursor::Sampled { before: number + 1 }));
        }
        budget.spend(1)?;
        let Some(entry) = snapshot.off_ledger_sampling(number)? else {
            return Err(ProfileError::MissingEntry {
                what: "off-ledger sampling",
                name: number.to_string(),
            });
        };
        let admitted = filter.admits(entry.outcome, entry.inspected_on)
            && filter.in_region(&entry.maker)
            && filter
                .category
                .as_ref()
                .is_none_or(|c| c == &entry.category);
        if !admitted {
            continue;
        }
        budget.spend(1)?;
        if snapshot
            .enterprise(&entry.maker)
            .map_err(ProfileError::from)?
            .is_some()
        {
            continue;
        }
        budget.spend(2)?;
        let stored = snapshot
            .store()
            .transaction(&entry.tx)?
            .filter(|stored| stored.location.height <= snapshot.head().height)
            .ok_or(ProfileError::MissingTransaction { id: entry.tx })?;
        let Record::Inspect(inspection) = committed_payload(&stored)?.record else {
            return Err(ProfileError::MissingTransaction { id: entry.tx });
        };
        let name = inspection
            .subject
            .sampled()
            .map(|product| product.maker_name.clone());
        found.push(regional(
            snapshot,
            &entry.maker,
            name,
            inspection,
            &stored,
            blocks,
        )?);
    }
    if found.len() == limit && end > 0 {
        return Ok(Some(Cursor::Sampled { before: 0 }));
    }
    Ok(None)
}

/// Whether the inspected product is of the filter's category, if it names one: a sampled
/// product's own, else its registered model's (one or two reads).
fn category_admits(
    snapshot: &Snapshot<'_>,
    filter: &Filter,
    inspection: &Inspection,
    budget: &Budget,
) -> Result<bool, ProfileError> {
    let Some(wanted) = &filter.category else {
        return Ok(true);
    };
    let model = match &inspection.subject {
        Subject::Sampled(product) => return Ok(&product.category == wanted),
        Subject::Model(model) => model.clone(),
        Subject::Code(code) => {
            budget.spend(1)?;
            match snapshot.code(code).map_err(ProfileError::from)? {
                Some(state) => state.model_code,
                None => return Ok(false),
            }
        }
    };
    budget.spend(1)?;
    let category = snapshot
        .model(&model)
        .map_err(ProfileError::from)?
        .and_then(|state| state.model.category);
    Ok(category.as_ref() == Some(wanted))
}

/// One listed inspection, with its producer (or named maker) and region.
fn regional(
    snapshot: &Snapshot<'_>,
    uscc: &Uscc,
    producer_name: Option<ShortText>,
    inspection: Inspection,
    stored: &StoredTx,
    blocks: &mut BlockHashes,
) -> Result<RegionalInspection, ProfileError> {
    Ok(RegionalInspection {
        producer: uscc.clone(),
        producer_name,
        region: uscc.to_string()[2..8].to_owned(),
        inspection: InspectionView {
            subject: inspection.subject,
            outcome: inspection.outcome,
            inspector: profile::key_holder(snapshot, &stored.envelope.signer)?,
            inspected_on: inspection.inspected_on,
            report_number: inspection.report_number,
            document_sha256: inspection.document_sha256,
            standards: inspection.standards,
            findings: inspection.findings,
            accreditation: inspection.accreditation,
            record: record_ref(snapshot.store(), blocks, stored)?,
        },
    })
}
