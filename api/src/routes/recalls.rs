//! `GET /v1/recalls`: every open recall in the consortium and every enterprise holding what it
//! covers, for a regulator following a recall through the supply chain.
//!
//! State keeps one entry per subject of each open recall (a code, or a whole model), so the
//! page walks those entries in key order. For each it reads the recall and its record, the
//! codes the subject covers (a model's codes, or a code with the items that name it as their
//! batch, among its producer's commissioned codes, newest first, at most
//! [`MAX_CODES_PER_SUBJECT`]) and the holders of each
//! code from state's holdings, at most [`MAX_HOLDINGS_PER_SUBJECT`]. Every entry read is spent
//! from the request's read budget, and each bound that cuts a list says so in the answer.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::facts::{FactsRead as _, Listed, Listing};
use suyuan_ledger::record::{Record, Subject, TraceCode};
use suyuan_ledger::state::StateReadExt as _;
use suyuan_storage::query::{MAX_ENTERPRISES_PER_PAGE, Snapshot};
use utoipa::IntoParams;

use crate::committed::{BlockHashes, committed_payload, record_ref};
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::profile::{self, ProfileError};
use crate::reads::Budget;
use crate::routes::StoreReads;
use crate::views::{HolderView, OpenRecallView, OpenRecallsPage};

/// Open recall subjects in a page when the request does not say.
const DEFAULT_RECALLS: usize = 20;

/// Most open recall subjects in one page: each may read thousands of entries.
const MAX_RECALLS: usize = 100;

/// Most codes of a recalled model whose holders one entry reads, newest first.
pub(crate) const MAX_CODES_PER_SUBJECT: u64 = 1_000;

/// Most entries of the producer's codes listing one model subject looks through for its codes.
const MAX_CODES_SCANNED: usize = 10_000;

/// Most holdings (a code held by an enterprise) one entry reads.
pub(crate) const MAX_HOLDINGS_PER_SUBJECT: usize = 5_000;

/// Which page of open recalls.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RecallsQuery {
    /// The `next` of the previous page.
    after: Option<String>,
    /// Most recall subjects to return (1 to 100, 20 by default).
    limit: Option<usize>,
}

/// `GET /v1/recalls?after=&limit=`.
#[utoipa::path(
    get,
    path = "/v1/recalls",
    tag = "regulators",
    params(RecallsQuery),
    responses(
        (status = 200, description = "Open recalls, one entry per recalled code or model, each with every enterprise holding what it covers", body = OpenRecallsPage),
        (status = 400, description = "`invalid_query`", body = crate::types::ErrorBody),
        (status = 422, description = "`read_limit_exceeded`: the page reads more stored entries than one request may; ask for fewer with `limit`", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn open_recalls(
    State(reads): State<StoreReads>,
    QueryParams(query): QueryParams<RecallsQuery>,
) -> Result<Json<OpenRecallsPage>, ApiError> {
    let limit = match query.limit {
        None => DEFAULT_RECALLS,
        Some(limit @ 1..=MAX_RECALLS) => limit,
        Some(limit) => {
            return Err(ApiError::invalid_query(
                Some("limit".into()),
                format!("limit is {limit}; it must be 1 to {MAX_RECALLS}"),
            ));
        }
    };
    let after = query.after.as_deref().map(parse_subject).transpose()?;
    reads
        .scan(move |store, budget| Ok(recalls_page(&store.snapshot(), after, limit, budget)?))
        .await
        .map(Json)
}

/// A subject as a page's `next` names it: a code's text, or `model:` and a model code.
fn subject_cursor(subject: &Subject) -> String {
    match subject {
        Subject::Code(code) => code.to_string(),
        Subject::Model(model_code) => format!("model:{model_code}"),
        // Never recalled (the ledger refuses it), so never a recall page's cursor.
        Subject::Sampled(product) => format!("sampled:{}", product.maker),
    }
}

fn parse_subject(text: &str) -> Result<Subject, ApiError> {
    let parsed = match text.strip_prefix("model:") {
        Some(model_code) => model_code
            .parse()
            .map(Subject::Model)
            .map_err(|e| e.to_string()),
        None => text.parse().map(Subject::Code).map_err(|e| e.to_string()),
    };
    parsed.map_err(|reason| {
        ApiError::invalid_query(
            Some("after".into()),
            format!("after is not the `next` of a page of recalls: {reason}"),
        )
    })
}

fn recalls_page(
    snapshot: &Snapshot<'_>,
    after: Option<Subject>,
    limit: usize,
    budget: &Budget,
) -> Result<OpenRecallsPage, ProfileError> {
    debug_assert!(limit <= MAX_ENTERPRISES_PER_PAGE);
    let computed_at = profile::computed_at(snapshot)?;
    let page = snapshot.open_recalls(after.as_ref(), limit)?;
    budget.spend(page.items.len())?;
    let mut blocks = BlockHashes::default();
    let mut recalls = Vec::with_capacity(page.items.len());
    for (subject, id) in page.items {
        recalls.push(open_recall(snapshot, &mut blocks, subject, id, budget)?);
    }
    Ok(OpenRecallsPage {
        computed_at,
        recalls,
        next: page.next.as_ref().map(subject_cursor),
    })
}

/// One open recall subject with the holders of what it covers.
fn open_recall(
    snapshot: &Snapshot<'_>,
    blocks: &mut BlockHashes,
    subject: Subject,
    id: suyuan_ledger::tx::TxId,
    budget: &Budget,
) -> Result<OpenRecallView, ProfileError> {
    budget.spend(2)?;
    let state = snapshot
        .recall(&id)?
        .ok_or(ProfileError::MissingRecall { id })?;
    let stored = profile::committed_at(snapshot, &id)?;
    let Record::Recall(recall) = committed_payload(&stored)?.record else {
        return Err(ProfileError::MissingRecall { id });
    };
    let record = record_ref(snapshot.store(), blocks, &stored)?;
    let (codes, codes_total, codes_complete) =
        covered_codes(snapshot, &state.producer, &subject, budget)?;
    let mut holders: BTreeMap<Uscc, (u64, u64)> = BTreeMap::new();
    let mut holdings_read = 0;
    let mut holders_complete = codes_complete;
    'codes: for code in &codes {
        let mut after = None;
        loop {
            let room = MAX_HOLDINGS_PER_SUBJECT - holdings_read;
            if room == 0 {
                holders_complete = false;
                break 'codes;
            }
            let page =
                snapshot.holders(code, after.as_ref(), room.min(MAX_ENTERPRISES_PER_PAGE))?;
            budget.spend(page.items.len().max(1))?;
            holdings_read += page.items.len();
            for (uscc, units) in page.items {
                let entry = holders.entry(uscc).or_default();
                entry.0 += units;
                entry.1 += 1;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    let mut views = Vec::with_capacity(holders.len());
    for (uscc, (units, codes)) in holders {
        budget.spend(1)?;
        let name = snapshot.enterprise(&uscc)?.map(|state| state.profile.name);
        views.push(HolderView {
            uscc,
            name,
            units,
            codes,
        });
    }
    Ok(OpenRecallView {
        subject,
        producer: state.producer,
        reason: recall.reason,
        announced_on: recall.announced_on,
        issued_by: profile::key_holder(snapshot, &stored.envelope.signer)?,
        record,
        codes_read: codes.len() as u64,
        codes_total,
        holders: views,
        holders_complete,
    })
}

/// Whether `code` is of the model `model_code`: a GS1 code says so itself, an Ecode or Handle
/// code by the model its commissioning named.
fn is_of_model(
    snapshot: &Snapshot<'_>,
    code: &TraceCode,
    model_code: &ModelCode,
) -> Result<bool, ProfileError> {
    if let Some(gtin) = code.gtin() {
        return Ok(model_code.gtin() == Some(gtin));
    }
    Ok(snapshot
        .code(code)?
        .is_some_and(|state| &state.model_code == model_code))
}

/// The codes `subject` covers whose holders are read, how many it covers in all, and whether
/// those read are all of them: a model's codes, or a code with the items naming it as their
/// batch, among its producer's commissioned codes, newest first.
fn covered_codes(
    snapshot: &Snapshot<'_>,
    producer: &Uscc,
    subject: &Subject,
    budget: &Budget,
) -> Result<(Vec<TraceCode>, u64, bool), ProfileError> {
    match subject {
        Subject::Model(model_code) => model_codes(snapshot, producer, model_code, budget),
        Subject::Sampled(_) => Ok((Vec::new(), 0, true)),
        Subject::Code(code @ (TraceCode::Item { .. } | TraceCode::Sscc(_))) => {
            Ok((vec![code.clone()], 1, true))
        }
        Subject::Code(batch) => batch_codes(snapshot, producer, batch, budget),
    }
}

/// A recalled model's codes among its producer's commissioned codes, newest first.
fn model_codes(
    snapshot: &Snapshot<'_>,
    producer: &Uscc,
    model_code: &ModelCode,
    budget: &Budget,
) -> Result<(Vec<TraceCode>, u64, bool), ProfileError> {
    budget.spend(1)?;
    let total = snapshot.model_facts(model_code)?.codes;
    let mut codes = Vec::new();
    let mut listed = ListedCodes::new(snapshot, producer, budget)?;
    while codes.len() as u64 != MAX_CODES_PER_SUBJECT.min(total) {
        let Some(code) = listed.next_code()? else {
            break;
        };
        if is_of_model(snapshot, &code, model_code)? {
            codes.push(code);
        }
    }
    let complete = codes.len() as u64 == total;
    Ok((codes, total, complete))
}

/// A recalled code and the items naming it as their batch: they are commissioned after it,
/// so its producer's codes are read newest first down to the batch itself. Where a bound stops
/// the walk first, the total counts the codes found, and the answer says it is incomplete.
fn batch_codes(
    snapshot: &Snapshot<'_>,
    producer: &Uscc,
    batch: &TraceCode,
    budget: &Budget,
) -> Result<(Vec<TraceCode>, u64, bool), ProfileError> {
    let mut codes = vec![batch.clone()];
    let mut listed = ListedCodes::new(snapshot, producer, budget)?;
    let mut complete = false;
    while (codes.len() as u64) < MAX_CODES_PER_SUBJECT {
        let Some(code) = listed.next_code()? else {
            complete = listed.exhausted();
            break;
        };
        if &code == batch {
            complete = true;
            break;
        }
        if code.gtin().is_some_and(|gtin| Some(gtin) != batch.gtin()) {
            continue;
        }
        budget.spend(1)?;
        let named = snapshot.code(&code)?.and_then(|state| state.batch);
        if named.as_ref() == Some(batch) {
            codes.push(code);
        }
    }
    let total = codes.len() as u64;
    Ok((codes, total, complete))
}

/// A producer's commissioned codes, newest first, at most [`MAX_CODES_SCANNED`] of them, each
/// spent from the request's budget.
struct ListedCodes<'s, 'b> {
    snapshot: &'s Snapshot<'s>,
    producer: &'s Uscc,
    budget: &'b Budget,
    numbers: std::iter::Take<std::iter::Rev<std::ops::Range<u64>>>,
    remaining: u64,
}

impl<'s, 'b> ListedCodes<'s, 'b> {
    fn new(
        snapshot: &'s Snapshot<'s>,
        producer: &'s Uscc,
        budget: &'b Budget,
    ) -> Result<Self, ProfileError> {
        budget.spend(1)?;
        let listed = snapshot
            .enterprise_facts(producer)?
            .ok_or_else(|| ProfileError::MissingFacts {
                uscc: producer.clone(),
            })?
            .listed(Listing::Codes);
        Ok(ListedCodes {
            snapshot,
            producer,
            budget,
            numbers: (0..listed).rev().take(MAX_CODES_SCANNED),
            remaining: listed,
        })
    }

    /// The next older code, or None once the listing or the scan bound is reached.
    fn next_code(&mut self) -> Result<Option<TraceCode>, ProfileError> {
        let Some(number) = self.numbers.next() else {
            return Ok(None);
        };
        self.remaining -= 1;
        self.budget.spend(1)?;
        match self
            .snapshot
            .listed(self.producer, Listing::Codes, number)?
        {
            Some(Listed::Code(code)) => Ok(Some(code)),
            _ => Err(ProfileError::MissingListed {
                uscc: self.producer.clone(),
                listing: Listing::Codes,
                number,
            }),
        }
    }

    /// Whether every listed code was read.
    fn exhausted(&self) -> bool {
        self.remaining == 0
    }
}
