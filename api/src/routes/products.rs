//! Trace a product code: its latest record and its history.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use suyuan_ledger::catalogue::CategoryId;
use suyuan_ledger::codes::inspect::read_trace_code;
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::facts::{FactsRead as _, Listed, Listing};
use suyuan_ledger::record::{Record, Subject, TraceCode, UnitCode};
use suyuan_ledger::state::{CodeState, StateError, StateReadExt, TxLocation};
use suyuan_ledger::tx::TxId;
use suyuan_storage::query::Snapshot;
use suyuan_storage::{Order, PageRequest, Store};
use utoipa::IntoParams;

use crate::committed::{BlockHashes, committed_payload, committed_tx, record_ref};
use crate::error::ApiError;
use crate::extract::{PathParam, QueryParams};
use crate::profile;
use crate::routes::{StoreReads, page_limit, storage};
use crate::types::{CategoryView, CodeRecall, ProductView, UnitLineView, UnitView};
use crate::views::RecallStatus;

/// Which page of a code's history to read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    /// The `next` cursor of the previous page.
    after: Option<String>,
    /// Most records to return.
    limit: Option<usize>,
}

/// `GET /v1/products/{code}?after=&limit=`.
#[utoipa::path(
    get,
    path = "/v1/products/{code}",
    tag = "products",
    params(
        ("code" = String, Path, description = "A trace code, Digital Link URI or element string naming a batch, an item or a logistic unit; percent-encoded"),
        HistoryQuery,
    ),
    responses(
        (status = 200, description = "The latest record and one page of the history, oldest first, with the key-product category of the code's model", body = ProductView),
        (status = 400, description = "`invalid_code` or `invalid_query`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_code`: no committed record names it", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn product(
    State(reads): State<StoreReads>,
    PathParam(code): PathParam,
    QueryParams(query): QueryParams<HistoryQuery>,
) -> Result<Json<ProductView>, ApiError> {
    let code = parse_code(&code)?;
    let page = PageRequest {
        after: query.after.as_deref().map(parse_cursor).transpose()?,
        limit: page_limit(query.limit)?,
        order: Order::OldestFirst,
    };
    reads
        .point(move |store| product_view(store, code, page))
        .await
        .map(Json)
}

/// The code's latest record and one page of its history.
pub(crate) fn product_view(
    store: &Store,
    code: TraceCode,
    page: PageRequest,
) -> Result<ProductView, ApiError> {
    // An alias answers with the code it was linked to: one thing, one record.
    let (code, looked_up_as) = match store
        .alias(&code)
        .map_err(|e| ApiError::state_unreadable(&e))?
    {
        Some(commissioned) => (commissioned, Some(code)),
        None => (code, None),
    };
    let Some(latest) = store.code_latest(&code).map_err(storage)? else {
        return model_view(store, code, page);
    };
    let history = store.code_history(&code, page).map_err(storage)?;
    let mut hashes = BlockHashes::default();
    let snapshot = store.snapshot();
    let state = snapshot
        .code(&code)
        .map_err(|e| ApiError::state_unreadable(&e))?;
    // A GS1 code's model is its GTIN, commissioned or not; another code's, its commissioning's.
    let category_model = match &state {
        Some(state) => Some(state.model_code.clone()),
        None => code.gtin().cloned().map(ModelCode::from),
    };
    let category = match &category_model {
        Some(model_code) => category_of_model(&snapshot, model_code)?,
        None => None,
    };
    let (recalls, recalls_complete) = match &state {
        Some(state) => recalls_covering(&snapshot, &code, state, &mut hashes)?,
        None => (Vec::new(), true),
    };
    let (unit, packed_in) = packing_of(&snapshot, &code)?;
    let model_code = state.as_ref().map(|state| state.model_code.clone());
    let (batch, aliases) = match state {
        Some(state) => (state.batch, state.aliases),
        None => (None, Vec::new()),
    };
    Ok(ProductView {
        model_code,
        aliases,
        looked_up_as,
        recalls,
        recalls_complete,
        category,
        batch,
        unit,
        packed_in,
        latest: Some(committed_tx(store, &mut hashes, latest)?),
        history: history
            .items
            .into_iter()
            .map(|stored| committed_tx(store, &mut hashes, stored))
            .collect::<Result<_, _>>()?,
        next: history.next.map(cursor),
        code,
    })
}

/// The view of an Ecode or Handle code no record names as a batch, item or unit, but that is a
/// registered model's code (their canonical forms coincide): the model's records as the
/// history, with the recalls of the whole model.
fn model_view(store: &Store, code: TraceCode, page: PageRequest) -> Result<ProductView, ApiError> {
    let unknown = || ApiError::unknown_code(&code.to_string());
    let Some(model_code) = code.as_model_code() else {
        return Err(unknown());
    };
    let snapshot = store.snapshot();
    let state_error = |error: StateError| ApiError::state_unreadable(&error);
    let Some(model) = snapshot.model(&model_code).map_err(state_error)? else {
        return Err(unknown());
    };
    let newest = PageRequest {
        after: None,
        limit: 1,
        order: Order::NewestFirst,
    };
    let latest = store
        .model_records(&model_code, newest)
        .map_err(storage)?
        .items
        .into_iter()
        .next()
        .ok_or_else(unknown)?;
    let history = store.model_records(&model_code, page).map_err(storage)?;
    let mut hashes = BlockHashes::default();
    let (recalls, recalls_complete) =
        recalls_covering_model(&snapshot, &model_code, &model.model.uscc, &mut hashes)?;
    Ok(ProductView {
        category: category_view(store, model.model.category),
        recalls,
        recalls_complete,
        batch: None,
        unit: None,
        packed_in: Vec::new(),
        latest: Some(committed_tx(store, &mut hashes, latest)?),
        history: history
            .items
            .into_iter()
            .map(|stored| committed_tx(store, &mut hashes, stored))
            .collect::<Result<_, _>>()?,
        next: history.next.map(cursor),
        model_code: Some(model_code),
        aliases: Vec::new(),
        looked_up_as: None,
        code,
    })
}

/// Most logistic units a product view lists a code as packed in: a batch may be spread over
/// many; an item or a unit is in one at most.
const MAX_UNITS_LISTED: usize = 100;

/// The unit `code` names, if it is a packed logistic unit, and the units `code` is packed in.
fn packing_of(
    snapshot: &Snapshot<'_>,
    code: &TraceCode,
) -> Result<(Option<UnitView>, Vec<UnitLineView>), ApiError> {
    let state_error = |error: StateError| ApiError::state_unreadable(&error);
    let unit = match UnitCode::try_from(code.clone()) {
        Ok(unit) => snapshot
            .unit(&unit)
            .map_err(state_error)?
            .map(|state| UnitView {
                packer: state.packer,
                holder: state.holder,
                parent: state.parent.map(|parent| parent.as_code().clone()),
                contents: state
                    .contents
                    .into_iter()
                    .map(|line| UnitLineView {
                        code: line.code,
                        quantity: line.quantity,
                    })
                    .collect(),
                depth: state.depth,
                lines: state.lines,
                packed_by: state.packed_by,
            }),
        Err(_) => None,
    };
    let packed_in = snapshot
        .units_containing(code, MAX_UNITS_LISTED)
        .map_err(storage)?
        .items
        .into_iter()
        .map(|(unit, quantity)| UnitLineView {
            code: unit.as_code().clone(),
            quantity,
        })
        .collect();
    Ok((unit, packed_in))
}

/// Most of a producer's recalls, newest first, a product view looks through for the closed
/// recalls covering a code; open ones are read from state directly.
const MAX_RECALLS_READ: u64 = 100;

/// The recalls covering `code`, its model or the batch it belongs to, newest first, and whether that is all of them:
/// the open ones from state's open recalls, the closed ones among the producer's newest
/// [`MAX_RECALLS_READ`] recalls. `state` is the code's.
fn recalls_covering(
    snapshot: &Snapshot<'_>,
    code: &TraceCode,
    state: &CodeState,
    hashes: &mut BlockHashes,
) -> Result<(Vec<CodeRecall>, bool), ApiError> {
    recalls_of(
        snapshot,
        &state.producer,
        state.subjects(code),
        |subject| state.covered_by(code, subject),
        hashes,
    )
}

/// The recalls of a whole model, newest first, found as [`recalls_covering`] finds a code's.
pub(crate) fn recalls_covering_model(
    snapshot: &Snapshot<'_>,
    model_code: &ModelCode,
    producer: &Uscc,
    hashes: &mut BlockHashes,
) -> Result<(Vec<CodeRecall>, bool), ApiError> {
    let subject = Subject::Model(model_code.clone());
    let covers = |named: &Subject| named == &subject;
    recalls_of(
        snapshot,
        producer,
        std::iter::once(subject.clone()),
        covers,
        hashes,
    )
}

/// The recalls of `producer` that `covers` accepts, newest first, and whether that is all of
/// them: the open ones of `subjects` from state, the closed ones among the producer's newest
/// [`MAX_RECALLS_READ`] recalls.
fn recalls_of(
    snapshot: &Snapshot<'_>,
    producer: &Uscc,
    subjects: impl Iterator<Item = Subject>,
    covers: impl Fn(&Subject) -> bool,
    hashes: &mut BlockHashes,
) -> Result<(Vec<CodeRecall>, bool), ApiError> {
    let state_error = |error: StateError| ApiError::state_unreadable(&error);
    let mut ids: Vec<TxId> = Vec::new();
    for subject in subjects {
        if let Some(id) = snapshot.open_recall(&subject).map_err(state_error)? {
            ids.push(id);
        }
    }
    let listed = snapshot
        .enterprise_facts(producer)
        .map_err(state_error)?
        .map_or(0, |facts| facts.listed(Listing::Recalls));
    let read = listed.min(MAX_RECALLS_READ);
    for number in (listed - read..listed).rev() {
        let entry = snapshot
            .listed(producer, Listing::Recalls, number)
            .map_err(state_error)?;
        let Some(Listed::Record(id)) = entry else {
            return Err(ApiError::internal(format!(
                "recall {number} of {} is not listed",
                producer
            )));
        };
        let recall = snapshot.recall(&id).map_err(state_error)?;
        if recall.is_some_and(|recall| recall.subjects.iter().any(&covers)) && !ids.contains(&id) {
            ids.push(id);
        }
    }
    let mut recalls = Vec::with_capacity(ids.len());
    for id in ids {
        let missing = || ApiError::internal(format!("recall {id} is not stored"));
        let recall_state = snapshot
            .recall(&id)
            .map_err(state_error)?
            .ok_or_else(missing)?;
        let stored = profile::committed_at(snapshot, &id)?;
        let Record::Recall(recall) = committed_payload(&stored)?.record else {
            return Err(missing());
        };
        let subject = recall
            .subjects
            .iter()
            .find(|subject| covers(subject))
            .cloned()
            .ok_or_else(missing)?;
        recalls.push(CodeRecall {
            subject,
            status: match recall_state.closed_by {
                Some(_) => RecallStatus::Closed,
                None => RecallStatus::Open,
            },
            reason: recall.reason,
            announced_on: recall.announced_on,
            record: record_ref(snapshot.store(), hashes, &stored)?,
            closed_by: recall_state.closed_by,
        });
    }
    recalls.sort_by_key(|recall| std::cmp::Reverse((recall.record.height, recall.record.index)));
    Ok((recalls, listed <= MAX_RECALLS_READ))
}

/// The catalogue category of a registered model, if it names one.
fn category_of_model(
    snapshot: &Snapshot<'_>,
    model_code: &ModelCode,
) -> Result<Option<CategoryView>, ApiError> {
    let registered = snapshot
        .model(model_code)
        .map_err(|e| ApiError::state_unreadable(&e))?;
    Ok(
        registered
            .and_then(|registered| category_view(snapshot.store(), registered.model.category)),
    )
}

/// The consortium catalogue's entry for a category a model names.
pub(crate) fn category_view(store: &Store, category: Option<CategoryId>) -> Option<CategoryView> {
    let catalogue = store.genesis().catalogue();
    category.and_then(|id| catalogue.category(&id).map(CategoryView::new))
}

/// A trace code in canonical form (`01/{gtin}/10/{lot}`, `ecode:…`, …), or any GS1 form the
/// ledger reads as one: a Digital Link URI, an element string.
pub(crate) fn parse_code(text: &str) -> Result<TraceCode, ApiError> {
    read_trace_code(text).map_err(ApiError::invalid_code)
}

/// The cursor after a position: `{height}-{index}`.
pub(crate) fn cursor(at: TxLocation) -> String {
    format!("{}-{}", at.height, at.index)
}

/// Parses a cursor made by [`cursor`].
pub(crate) fn parse_cursor(text: &str) -> Result<TxLocation, ApiError> {
    parse_location(
        text,
        "after",
        "a cursor: pass the `next` of the previous page",
    )
}

/// A location written `{height}-{index}`, from query parameter `field`; `what` says what it is
/// and where it comes from, for the refusal.
pub(crate) fn parse_location(text: &str, field: &str, what: &str) -> Result<TxLocation, ApiError> {
    text.split_once('-')
        .and_then(|(height, index)| {
            Some(TxLocation {
                height: height.parse().ok()?,
                index: index.parse().ok()?,
            })
        })
        .ok_or_else(|| {
            ApiError::invalid_query(
                Some(field.into()),
                format!("{field} {text:?} is not {what}"),
            )
        })
}
