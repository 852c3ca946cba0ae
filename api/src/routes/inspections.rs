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
use suyuan_ledger::state::{SamplingEntry, StateReadExt as _};
use suyuan_ledger::text::{Date, ShortText};
use suyuan_storage::query::{MAX_ENTERPRISES_PER_PAGE, Snapshot, StoredTx};
use utoipa::{IntoParams, ToSchema};

use crate::committed::{BlockHashes, committed_payload, record_ref};
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::profile::{self, ProfileError};
use crate::reads::Budget;
use crate::routes::{StoreReads, page_limit};
use crate::views::{ComputedAt, InspectionView, InspectionsPage, RegionalInspection};

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

    /// Whether an off-ledger sampling passes, by its index entry alone: outcome, date, the
    /// region of the maker it names and the sampled product's category.
    fn admits_sampling(&self, entry: &SamplingEntry) -> bool {
        self.admits(entry.outcome, entry.inspected_on)
            && self.in_region(&entry.maker)
            && self.category.as_ref().is_none_or(|c| c == &entry.category)
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
    let mut page = PageWalk {
        snapshot,
        filter,
        budget,
        limit,
        found: Vec::new(),
        blocks: BlockHashes::default(),
        enterprises_scanned: 0,
        next: None,
    };
    let sampled_before = match after {
        None => {
            page.enrolled_after(None)?;
            None
        }
        // The cursor's own producer first, from the entry it names; then the enterprises after it.
        Some(Cursor::Producer { uscc, before }) => {
            page.producer(&uscc, Some(before))?;
            page.enrolled_after(Some(uscc))?;
            None
        }
        Some(Cursor::Sampled { before }) => Some(before),
    };
    page.unenrolled_samplings(sampled_before)?;
    Ok(page.finish(computed_at))
}

/// One page of inspections being filled. Call the listing methods in page order (a cursor's
/// producer, [`PageWalk::enrolled_after`], [`PageWalk::unenrolled_samplings`]), then
/// [`PageWalk::finish`]. Each listing adds, newest first, the inspections that pass the filter
/// until the page holds `limit`; then `next` names the entry to go on from and the listings
/// after it read nothing. Every entry read is spent from the budget.
struct PageWalk<'s> {
    snapshot: &'s Snapshot<'s>,
    filter: &'s Filter,
    budget: &'s Budget,
    limit: usize,
    found: Vec<RegionalInspection>,
    blocks: BlockHashes,
    enterprises_scanned: u64,
    next: Option<Cursor>,
}

impl PageWalk<'_> {
    /// Whether the page holds `limit` inspections: what is left is for the next page.
    fn full(&self) -> bool {
        self.found.len() == self.limit
    }

    /// Reads the enrolled enterprises after `after` in USCC order, skipping those outside the
    /// region, each one's inspections from its newest.
    fn enrolled_after(&mut self, mut after: Option<Uscc>) -> Result<(), ProfileError> {
        while !self.full() {
            let enterprises = self
                .snapshot
                .enterprises(after.as_ref(), MAX_ENTERPRISES_PER_PAGE)?;
            self.budget.spend(enterprises.items.len().max(1))?;
            for enterprise in &enterprises.items {
                let uscc = &enterprise.profile.uscc;
                self.enterprises_scanned += 1;
                if !self.filter.in_region(uscc) {
                    continue;
                }
                self.producer(uscc, None)?;
                if self.full() {
                    return Ok(());
                }
            }
            match enterprises.next {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        Ok(())
    }

    /// Reads `uscc`'s inspections from entry `before` down (from its newest without one); at
    /// once none when its whole-history figures count none the filter's outcome admits.
    fn producer(&mut self, uscc: &Uscc, before: Option<u64>) -> Result<(), ProfileError> {
        self.budget.spend(1)?;
        let Some(facts) = self.snapshot.enterprise_facts(uscc)? else {
            return Ok(());
        };
        let relevant = match self.filter.outcome {
            OutcomeFilter::NonConformant => facts.failed_inspections(),
            OutcomeFilter::Conformant => facts.inspections_conformant.met,
            OutcomeFilter::Any => facts.inspections_conformant.out_of,
        };
        if relevant == 0 {
            return Ok(());
        }
        let mut name = None;
        for number in newest_first(before, facts.listed(Listing::Inspections)) {
            self.budget.spend(2)?;
            let (inspection, stored) = self.listed_inspection(uscc, number)?;
            if !self.admits(&inspection)? {
                continue;
            }
            if name.is_none() {
                self.budget.spend(1)?;
                name = self
                    .snapshot
                    .enterprise(uscc)
                    .map_err(ProfileError::from)?
                    .map(|state| state.profile.name);
            }
            self.add(uscc, name.clone(), inspection, &stored)?;
            if self.full() {
                self.next = Some(Cursor::Producer {
                    uscc: uscc.clone(),
                    before: number,
                });
                return Ok(());
            }
        }
        Ok(())
    }

    /// Reads the market samplings of makers that never enrolled from sampling `before` down
    /// (from the newest without one). An enrolled maker's samplings are in its own listing,
    /// read already.
    fn unenrolled_samplings(&mut self, before: Option<u64>) -> Result<(), ProfileError> {
        if self.full() {
            return Ok(());
        }
        self.budget.spend(1)?;
        let total = self.snapshot.off_ledger_samplings()?;
        for number in newest_first(before, total) {
            self.budget.spend(1)?;
            let Some(entry) = self.snapshot.off_ledger_sampling(number)? else {
                return Err(ProfileError::MissingEntry {
                    what: "off-ledger sampling",
                    name: number.to_string(),
                });
            };
            if !self.filter.admits_sampling(&entry) {
                continue;
            }
            self.budget.spend(1)?;
            if self
                .snapshot
                .enterprise(&entry.maker)
                .map_err(ProfileError::from)?
                .is_some()
            {
                continue;
            }
            self.budget.spend(2)?;
            let stored = self
                .snapshot
                .store()
                .transaction(&entry.tx)?
                .filter(|stored| stored.location.height <= self.snapshot.head().height)
                .ok_or(ProfileError::MissingTransaction { id: entry.tx })?;
            let Record::Inspect(inspection) = committed_payload(&stored)?.record else {
                return Err(ProfileError::MissingTransaction { id: entry.tx });
            };
            let name = inspection
                .subject
                .sampled()
                .map(|product| product.maker_name.clone());
            self.add(&entry.maker, name, inspection, &stored)?;
            if self.full() {
                self.next = Some(Cursor::Sampled { before: number });
                return Ok(());
            }
        }
        Ok(())
    }

    /// Entry `number` of `uscc`'s inspections listing, with its committed transaction.
    fn listed_inspection(
        &self,
        uscc: &Uscc,
        number: u64,
    ) -> Result<(Inspection, StoredTx), ProfileError> {
        let missing = || ProfileError::MissingListed {
            uscc: uscc.clone(),
            listing: Listing::Inspections,
            number,
        };
        let Some(Listed::Record(id)) = self.snapshot.listed(uscc, Listing::Inspections, number)?
        else {
            return Err(missing());
        };
        let stored = profile::committed_at(self.snapshot, &id)?;
        let Record::Inspect(inspection) = committed_payload(&stored)?.record else {
            return Err(missing());
        };
        Ok((inspection, stored))
    }

    /// Whether `inspection` passes the filter: its outcome and date, then, if the filter names
    /// a category, the inspected product's: a sampled product's own, else its registered
    /// model's (one or two reads).
    fn admits(&self, inspection: &Inspection) -> Result<bool, ProfileError> {
        let filter = self.filter;
        if !filter.admits(inspection.outcome, inspection.inspected_on) {
            return Ok(false);
        }
        let Some(wanted) = &filter.category else {
            return Ok(true);
        };
        let model = match &inspection.subject {
            Subject::Sampled(product) => return Ok(&product.category == wanted),
            Subject::Model(model) => model.clone(),
            Subject::Code(code) => {
                self.budget.spend(1)?;
                match self.snapshot.code(code).map_err(ProfileError::from)? {
                    Some(state) => state.model_code,
                    None => return Ok(false),
                }
            }
        };
        self.budget.spend(1)?;
        let category = self
            .snapshot
            .model(&model)
            .map_err(ProfileError::from)?
            .and_then(|state| state.model.category);
        Ok(category.as_ref() == Some(wanted))
    }

    /// Adds one inspection to the page, under its producer (or named maker) and region.
    fn add(
        &mut self,
        uscc: &Uscc,
        producer_name: Option<ShortText>,
        inspection: Inspection,
        stored: &StoredTx,
    ) -> Result<(), ProfileError> {
        self.found.push(RegionalInspection {
            producer: uscc.clone(),
            producer_name,
            region: uscc.to_string()[2..8].to_owned(),
            inspection: InspectionView {
                subject: inspection.subject,
                outcome: inspection.outcome,
                inspector: profile::key_holder(self.snapshot, &stored.envelope.signer)?,
                inspected_on: inspection.inspected_on,
                report_number: inspection.report_number,
                document_sha256: inspection.document_sha256,
                standards: inspection.standards,
                findings: inspection.findings,
                accreditation: inspection.accreditation,
                record: record_ref(self.snapshot.store(), &mut self.blocks, stored)?,
            },
        });
        Ok(())
    }

    /// The page, its `next` the cursor to go on from if it filled.
    fn finish(self, computed_at: ComputedAt) -> InspectionsPage {
        InspectionsPage {
            computed_at,
            inspections: self.found,
            enterprises_scanned: self.enterprises_scanned,
            next: self.next.map(|cursor| cursor.text()),
        }
    }
}

/// The numbers of a listing of `total` entries from `before` down to 0: newest first, from
/// the newest without a cursor.
fn newest_first(before: Option<u64>, total: u64) -> impl Iterator<Item = u64> {
    (0..before.unwrap_or(total).min(total)).rev()
}
