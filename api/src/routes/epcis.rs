//! EPCIS 2.0 over the committed chain: the simple event query (`GET /epcis/events`) and the
//! history of a product or an enterprise as one `EPCISDocument`.
//!
//! Every record that is an event is rendered by [`suyuan_epcis::export`], with its codes as
//! EPC URNs where the company prefix the producer holds now gives their split, else as GS1
//! Digital Links. A query that names codes reads their histories by index; any other query
//! reads the chain in order from where its page token points, at most [`MAX_SCAN`]
//! transactions per page, so that a page answers in bounded time whatever the chain's length
//! (a page may then hold fewer events than asked, with a token to go on). Capture is the
//! enterprise's client's (`suyuan epcis capture`): it signs, and submits through
//! `/v1/transactions/batch`.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use suyuan_epcis::CaptureError;
use suyuan_epcis::document::{MAX_CAPTURE_EVENTS, document, query_document};
use suyuan_epcis::export::{ExportContext, event_id, export_event};
use suyuan_epcis::ids::{HeldPrefixes, ProfileGlns};
use suyuan_epcis::query::EventQuery;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::record::{Record, TraceCode};
use suyuan_ledger::state::{StateReadExt as _, TxLocation};
use suyuan_ledger::tx::Payload;
use suyuan_storage::{Order, PageRequest, Store, StoredTx};

use crate::error::ApiError;
use crate::extract::PathParam;
use crate::reads::Budget;
use crate::routes::products::{parse_code, parse_location};
use crate::routes::{StoreReads, storage};

/// Most transactions one page of a query reads, events or not: within the smallest read
/// budget an operator may set.
pub(crate) const MAX_SCAN: usize = 10_000;

/// Most codes one query names, across its `MATCH_` parameters.
pub(crate) const MAX_QUERY_CODES: usize = 100;

/// Blocks read at a time while scanning.
const BLOCKS_PER_READ: usize = suyuan_storage::query::MAX_BLOCKS_PER_PAGE;

/// The EPCIS version headers every answer carries.
fn epcis_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("GS1-EPCIS-Version", HeaderValue::from_static("2.0.0"));
    headers.insert("GS1-CBV-Version", HeaderValue::from_static("2.0.0"));
    headers
}

/// An EPCIS refusal as a 400 naming the parameter or feature.
fn refused(error: CaptureError) -> ApiError {
    let mut refusal = ApiError::invalid_query(None, error.to_string());
    refusal.body = refusal.body.with_detail("epcis_error", error.code());
    refusal
}

/// `GET /epcis/events?…`: the simple event query (docs/epcis.md lists the parameters).
#[utoipa::path(
    get,
    path = "/epcis/events",
    tag = "epcis",
    params(
        ("eventType" = Option<String>, Query, description = "ObjectEvent, AggregationEvent; a comma-separated list or repeated"),
        ("GE_eventTime" = Option<String>, Query, description = "Events at or after this time (RFC 3339)"),
        ("LT_eventTime" = Option<String>, Query, description = "Events before this time"),
        ("GE_recordTime" = Option<String>, Query, description = "Events committed in a block at or after this time"),
        ("LT_recordTime" = Option<String>, Query, description = "Events committed in a block before this time"),
        ("EQ_action" = Option<String>, Query, description = "ADD, OBSERVE, DELETE"),
        ("EQ_bizStep" = Option<String>, Query, description = "CBV business steps, bare or as URIs"),
        ("EQ_disposition" = Option<String>, Query, description = "CBV dispositions"),
        ("EQ_readPoint" = Option<String>, Query, description = "Read point URIs"),
        ("EQ_bizLocation" = Option<String>, Query, description = "Business location URIs"),
        ("EQ_eventID" = Option<String>, Query, description = "Event ids"),
        ("MATCH_epc" = Option<String>, Query, description = "Items and units in epcList or childEPCs (EPC URN or Digital Link)"),
        ("MATCH_parentID" = Option<String>, Query, description = "Logistic units packed or unpacked"),
        ("MATCH_anyEPC" = Option<String>, Query, description = "Codes anywhere in the event"),
        ("MATCH_epcClass" = Option<String>, Query, description = "Batches in quantityList or childQuantityList"),
        ("MATCH_anyEPCClass" = Option<String>, Query, description = "Batches anywhere in the event"),
        ("perPage" = Option<usize>, Query, description = "Events per page, 1 to 1000 (100)"),
        ("nextPageToken" = Option<String>, Query, description = "Where the previous page ended, from its Link header"),
    ),
    responses(
        (status = 200, description = "An EPCISQueryDocument; a `Link: <…>; rel=\"next\"` header when more may follow", body = Object, content_type = "application/json"),
        (status = 400, description = "`invalid_query`: a parameter Suyuan does not support or a malformed value, with `epcis_error`", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn events(
    State(reads): State<StoreReads>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let query =
        EventQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(refused)?;
    let named = query.named_codes().len();
    if named > MAX_QUERY_CODES {
        return Err(ApiError::invalid_query(
            None,
            format!("the query names {named} codes; at most {MAX_QUERY_CODES}"),
        ));
    }
    let start = query
        .page_token
        .as_deref()
        .map(parse_token)
        .transpose()?
        .unwrap_or(TxLocation {
            height: 1,
            index: 0,
        });
    let (events, next) = reads
        .scan(move |store, budget| query_page(store, budget, &query, start))
        .await?;
    let mut headers = epcis_headers();
    if let Some(next) = next {
        let mut link = String::from("</epcis/events?");
        let mut kept: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k != "nextPageToken")
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        kept.push(format!("nextPageToken={}-{}", next.height, next.index));
        link.push_str(&kept.join("&"));
        link.push_str(">; rel=\"next\"");
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.insert(header::LINK, value);
        }
    }
    Ok((headers, Json(query_document(events))).into_response())
}

/// Percent-encodes a query-string component.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn parse_token(text: &str) -> Result<TxLocation, ApiError> {
    parse_location(
        text,
        "nextPageToken",
        "a page token: pass the one the previous page's Link gave",
    )
}

/// One page of events answering `query`, from `start` on, and where the next page starts.
fn query_page(
    store: &Store,
    budget: &Budget,
    query: &EventQuery,
    start: TxLocation,
) -> Result<(Vec<Value>, Option<TxLocation>), ApiError> {
    let codes = query.named_codes();
    if !codes.is_empty() {
        return indexed_page(store, budget, query, &codes, start);
    }
    let mut events = Vec::new();
    let mut scanned = 0;
    let mut height = start.height.max(1);
    loop {
        let blocks = store.blocks(height, BLOCKS_PER_READ).map_err(storage)?;
        budget.spend(blocks.len().max(1))?;
        if blocks.is_empty() {
            return Ok((events, None));
        }
        for block in &blocks {
            let first = if block.header.height == start.height {
                start.index as usize
            } else {
                0
            };
            for (index, envelope) in block.body.transactions.iter().enumerate().skip(first) {
                let here = TxLocation {
                    height: block.header.height,
                    index: index as u32,
                };
                if events.len() == query.per_page || scanned == MAX_SCAN {
                    return Ok((events, Some(here)));
                }
                scanned += 1;
                let time_ms = block.header.time_ms;
                if let Some(event) = render(store, budget, &envelope.payload, time_ms)?
                    && query.matches(&event, time_ms as i64)
                {
                    events.push(event);
                }
            }
        }
        height = blocks.last().map_or(height, |b| b.header.height) + 1;
    }
}

/// A page of events among the histories of the codes a query names, in chain order. Each
/// history is read from `start`; when the reads stop short of a history's end, the page ends
/// where the shortest such read ended, and the next page goes on from there.
fn indexed_page(
    store: &Store,
    budget: &Budget,
    query: &EventQuery,
    codes: &[&TraceCode],
    start: TxLocation,
) -> Result<(Vec<Value>, Option<TxLocation>), ApiError> {
    let mut records: Vec<StoredTx> = Vec::new();
    // The last location every history was read up to, where one was cut short.
    let mut horizon: Option<TxLocation> = None;
    let per_code = MAX_SCAN / codes.len().max(1);
    for code in codes {
        let code = store
            .alias(code)
            .map_err(|e| ApiError::state_unreadable(&e))?
            .unwrap_or_else(|| (*code).clone());
        let (read, complete) = history(store, budget, &code, start, per_code)?;
        if !complete && let Some(last) = read.last() {
            horizon = Some(horizon.map_or(last.location, |h| h.min(last.location)));
        }
        records.extend(read);
    }
    records.sort_by_key(|stored| stored.location);
    records.dedup_by_key(|stored| stored.location);
    let mut events = Vec::new();
    let mut times = BlockTimes::default();
    for stored in records {
        if horizon.is_some_and(|horizon| stored.location > horizon) {
            return Ok((events, Some(stored.location)));
        }
        if events.len() == query.per_page {
            return Ok((events, Some(stored.location)));
        }
        let time_ms = times.get(store, budget, stored.location.height)?;
        if let Some(event) = render(store, budget, &stored.envelope.payload, time_ms)?
            && query.matches(&event, time_ms as i64)
        {
            events.push(event);
        }
    }
    Ok((events, horizon.map(next_location)))
}

/// The location right after `location`.
fn next_location(location: TxLocation) -> TxLocation {
    TxLocation {
        height: location.height,
        index: location.index + 1,
    }
}

/// Up to `limit` records naming `code` from `start` on, oldest first, and whether they are
/// all there are.
fn history(
    store: &Store,
    budget: &Budget,
    code: &TraceCode,
    start: TxLocation,
    limit: usize,
) -> Result<(Vec<StoredTx>, bool), ApiError> {
    let mut out: Vec<StoredTx> = Vec::new();
    // `after` is exclusive: the location just before `start`, if there is one.
    let mut after = match (start.height, start.index) {
        (0 | 1, 0) => None,
        (height, 0) => Some(TxLocation {
            height: height - 1,
            index: u32::MAX,
        }),
        (height, index) => Some(TxLocation {
            height,
            index: index - 1,
        }),
    };
    loop {
        let page = store
            .code_history(
                code,
                PageRequest {
                    after,
                    limit: crate::routes::MAX_PAGE_LIMIT,
                    order: Order::OldestFirst,
                },
            )
            .map_err(storage)?;
        budget.spend(page.items.len().max(1))?;
        out.extend(page.items);
        match page.next {
            None => return Ok((out, true)),
            Some(_) if out.len() >= limit => {
                out.truncate(limit);
                return Ok((out, false));
            }
            Some(next) => after = Some(next),
        }
    }
}

/// The time of the block at each height asked, read once for consecutive records of one
/// block (records come in chain order).
#[derive(Default)]
struct BlockTimes {
    last: Option<(u64, u64)>,
}

impl BlockTimes {
    fn get(&mut self, store: &Store, budget: &Budget, height: u64) -> Result<u64, ApiError> {
        if let Some((known, time_ms)) = self.last
            && known == height
        {
            return Ok(time_ms);
        }
        budget.spend(1)?;
        let time_ms = store
            .header(height)
            .map_err(storage)?
            .map(|header| header.time_ms)
            .ok_or_else(|| {
                ApiError::internal(format!("block {height} of an indexed record is missing"))
            })?;
        self.last = Some((height, time_ms));
        Ok(time_ms)
    }
}

/// The event a committed payload records, or `None` for a record that is no event.
fn render(
    store: &Store,
    budget: &Budget,
    bytes: &[u8],
    block_time_ms: u64,
) -> Result<Option<Value>, ApiError> {
    let payload = Payload::parse(bytes)
        .map_err(|e| ApiError::internal(format!("a committed payload does not parse: {e}")))?;
    let recall_event_id = match &payload.record {
        Record::CloseRecall(close) => {
            budget.spend(1)?;
            let recall = store
                .transaction(&close.recall)
                .map_err(storage)?
                .ok_or_else(|| ApiError::internal("a closed recall's transaction is missing"))?;
            let recall_payload = Payload::parse(&recall.envelope.payload).map_err(|e| {
                ApiError::internal(format!("a committed payload does not parse: {e}"))
            })?;
            Some(event_id(&recall_payload, &recall.envelope.payload))
        }
        _ => None,
    };
    let context = ExportContext {
        lengths: &HeldPrefixes(store),
        parties: &ProfileGlns(store),
        block_time_ms,
        recall_event_id,
    };
    Ok(export_event(&payload, bytes, &context))
}

/// `GET /v1/products/{code}/epcis`: every event naming a batch, item or logistic unit, as one
/// EPCIS document.
#[utoipa::path(
    get,
    path = "/v1/products/{code}/epcis",
    tag = "epcis",
    params(("code" = String, Path, description = "A trace code, Digital Link URI or element string; percent-encoded")),
    responses(
        (status = 200, description = "An EPCISDocument of the code's events, in chain order", body = Object, content_type = "application/json"),
        (status = 400, description = "`invalid_code`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_code`: no committed record names it", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn product_document(
    State(reads): State<StoreReads>,
    PathParam(code): PathParam,
) -> Result<Response, ApiError> {
    let code = parse_code(&code)?;
    let events = reads
        .scan(move |store, budget| {
            let code = store
                .alias(&code)
                .map_err(|e| ApiError::state_unreadable(&e))?
                .unwrap_or(code);
            let first = TxLocation {
                height: 1,
                index: 0,
            };
            let (records, complete) = history(store, budget, &code, first, MAX_EXPORT_RECORDS)?;
            if records.is_empty() {
                return Err(ApiError::unknown_code(&code.to_string()));
            }
            if !complete {
                return Err(too_many_events());
            }
            events_of(store, budget, records)
        })
        .await?;
    Ok((epcis_headers(), Json(document(events))).into_response())
}

/// `GET /v1/enterprises/{uscc}/epcis`: every event of an enterprise's records, as one EPCIS
/// document.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/epcis",
    tag = "epcis",
    params(("uscc" = String, Path, description = "The enterprise's unified social credit code")),
    responses(
        (status = 200, description = "An EPCISDocument of the enterprise's events, in chain order", body = Object, content_type = "application/json"),
        (status = 400, description = "`invalid_path`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_enterprise`", body = crate::types::ErrorBody),
        (status = 413, description = "`too_many_events`: more than one document holds; page through /epcis/events", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn enterprise_document(
    State(reads): State<StoreReads>,
    PathParam(uscc): PathParam,
) -> Result<Response, ApiError> {
    let uscc: Uscc = uscc
        .parse()
        .map_err(|e: suyuan_ledger::codes::uscc::UsccError| {
            ApiError::invalid_path("uscc", e.to_string())
        })?;
    let events = reads
        .scan(move |store, budget| {
            if store
                .enterprise(&uscc)
                .map_err(|e| ApiError::state_unreadable(&e))?
                .is_none()
            {
                return Err(ApiError::unknown_enterprise(&uscc));
            }
            let mut records = Vec::new();
            let mut after = None;
            loop {
                let page = store
                    .enterprise_records(
                        &uscc,
                        PageRequest {
                            after,
                            limit: crate::routes::MAX_PAGE_LIMIT,
                            order: Order::OldestFirst,
                        },
                    )
                    .map_err(storage)?;
                budget.spend(page.items.len().max(1))?;
                records.extend(page.items);
                match page.next {
                    Some(_) if records.len() >= MAX_EXPORT_RECORDS => {
                        return Err(too_many_events());
                    }
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            events_of(store, budget, records)
        })
        .await?;
    Ok((epcis_headers(), Json(document(events))).into_response())
}

/// Most records of a product or an enterprise one export reads.
const MAX_EXPORT_RECORDS: usize = 4 * MAX_CAPTURE_EVENTS;

/// 413 `too_many_events`: the history is larger than one document.
fn too_many_events() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "too_many_events",
        format!(
            "more than {MAX_CAPTURE_EVENTS} events; page through /epcis/events with \
             MATCH_anyEPC or the enterprise's codes instead"
        ),
    )
}

/// The events among `records`, at most [`MAX_CAPTURE_EVENTS`] so that the document can be
/// captured whole.
fn events_of(
    store: &Store,
    budget: &Budget,
    records: Vec<StoredTx>,
) -> Result<Vec<Value>, ApiError> {
    let mut events = Vec::new();
    let mut times = BlockTimes::default();
    for stored in records {
        let time_ms = times.get(store, budget, stored.location.height)?;
        if let Some(event) = render(store, budget, &stored.envelope.payload, time_ms)? {
            if events.len() == MAX_CAPTURE_EVENTS {
                return Err(too_many_events());
            }
            events.push(event);
        }
    }
    Ok(events)
}
