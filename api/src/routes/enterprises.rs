//! Serve what the chain says about enterprises: registration, records, the supplier
//! verification report, the traceability score and the ranking of an association's members.
//!
//! Everything computed (report, score, ranking) is read from one [`Snapshot`], so it holds as
//! of the block it names however many blocks commit while it is computed.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use suyuan_ledger::codes::gs1::keys::Gln;
use suyuan_ledger::codes::gs1::party::read_party_gln;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::crypto::PublicKey;
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::state::{EnterpriseState, StateError, StateReadExt};
use suyuan_storage::query::{MAX_ENTERPRISES_PER_PAGE, Snapshot};
use suyuan_storage::{Order, PageRequest, Store};
use utoipa::{IntoParams, ToSchema};

use crate::committed::{BlockHashes, committed_tx};
use crate::error::ApiError;
use crate::extract::{PathParam, QueryParams, weighted};
use crate::profile;
use crate::reads::Budget;
use crate::routes::products::{cursor, parse_cursor};
use crate::routes::{StoreReads, page_limit, storage};
use crate::views::{
    AmendmentView, AmendmentsPage, EnterpriseRecordsPage, EnterpriseView, RankedEnterprise,
    RecordOrder, RegistrarView, ScoreRanking, ScoreView, WeightsSource,
};
use crate::{html, measure, report};

/// Most members one ranking scores, each read in full as its own score is.
pub(crate) const MAX_RANKED_ENTERPRISES: usize = 200;

/// Most enrolled enterprises one ranking looks through for a registrar's members.
pub(crate) const MAX_SCANNED_ENTERPRISES: usize = 50_000;

/// An endpoint that takes no query parameter: any is refused with `invalid_query`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoQuery {}

/// `GET /v1/enterprises/{uscc}`: the registration as of the head.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}",
    tag = "enterprises",
    params(
        ("uscc" = String, Path, description = "The enterprise's unified social credit code (18 characters; lower case is accepted)"),
    ),
    responses(
        (status = 200, description = "Registration, licences and CCC certificates with their validity, keys and their status, as of the head", body = EnterpriseView),
        (status = 400, description = "`invalid_uscc` (field `uscc`) or `invalid_query`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_enterprise`: not enrolled", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn enterprise(
    State(reads): State<StoreReads>,
    PathParam(uscc): PathParam,
    QueryParams(NoQuery {}): QueryParams<NoQuery>,
) -> Result<Json<EnterpriseView>, ApiError> {
    let uscc = parse_uscc(&uscc)?;
    reads
        .point(move |store| {
            let snapshot = store.snapshot();
            let registered = profile::registered(&snapshot, &uscc)?;
            Ok(report::enterprise_view(registered))
        })
        .await
        .map(Json)
}

/// `GET /v1/parties/{gln}`: the enterprise whose profile claims a party GLN, as
/// `GET /v1/enterprises/{uscc}` shows it. EPCIS names parties by GLN; this is how a capturing
/// client finds the enterprise a GLN-only party is.
#[utoipa::path(
    get,
    path = "/v1/parties/{gln}",
    tag = "enterprises",
    params(
        ("gln" = String, Path, description = "A party GLN: 13 digits, `urn:epc:id:pgln:...` or a Digital Link `/417/{gln}`"),
    ),
    responses(
        (status = 200, description = "The enterprise holding the GLN, as of the head", body = EnterpriseView),
        (status = 400, description = "`invalid_gln` (field `gln`) or `invalid_query`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_party`: no enterprise's profile claims the GLN", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn party(
    State(reads): State<StoreReads>,
    PathParam(gln): PathParam,
    QueryParams(NoQuery {}): QueryParams<NoQuery>,
) -> Result<Json<EnterpriseView>, ApiError> {
    let gln = parse_party_gln(&gln)?;
    reads
        .point(move |store| {
            let snapshot = store.snapshot();
            let holder = snapshot
                .gln_holder(&gln)
                .map_err(|error| ApiError::state_unreadable(&error))?
                .ok_or_else(|| ApiError::unknown_party(&gln))?;
            let registered = profile::registered(&snapshot, &holder)?;
            Ok(report::enterprise_view(registered))
        })
        .await
        .map(Json)
}

/// Which page of an enterprise's records to read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RecordsQuery {
    /// The `next` cursor of the previous page.
    after: Option<String>,
    /// Most records to return.
    limit: Option<usize>,
    /// `newest` (the default) or `oldest` first.
    order: Option<RecordOrder>,
}

/// `GET /v1/enterprises/{uscc}/records?after=&limit=&order=`.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/records",
    tag = "enterprises",
    params(
        ("uscc" = String, Path, description = "The enterprise's unified social credit code (18 characters; lower case is accepted)"),
        RecordsQuery,
    ),
    responses(
        (status = 200, description = "One page of the records naming the enterprise", body = EnterpriseRecordsPage),
        (status = 400, description = "`invalid_uscc` or `invalid_query`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_enterprise`: not enrolled and named by no record", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn records(
    State(reads): State<StoreReads>,
    PathParam(uscc): PathParam,
    QueryParams(query): QueryParams<RecordsQuery>,
) -> Result<Json<EnterpriseRecordsPage>, ApiError> {
    let uscc = parse_uscc(&uscc)?;
    let order = query.order.unwrap_or_default();
    let page = PageRequest {
        after: query.after.as_deref().map(parse_cursor).transpose()?,
        limit: page_limit(query.limit)?,
        order: match order {
            RecordOrder::Newest => Order::NewestFirst,
            RecordOrder::Oldest => Order::OldestFirst,
        },
    };
    reads
        .point(move |store| records_page(store, uscc, order, page))
        .await
        .map(Json)
}

/// One page of the records naming `uscc`; 404 if it is not enrolled and no record names it.
fn records_page(
    store: &Store,
    uscc: Uscc,
    order: RecordOrder,
    page: PageRequest,
) -> Result<EnterpriseRecordsPage, ApiError> {
    let records = store.enterprise_records(&uscc, page).map_err(storage)?;
    if records.items.is_empty() {
        let named = !store
            .enterprise_records(&uscc, PageRequest::first(1))
            .map_err(storage)?
            .items
            .is_empty();
        if !named && !enrolled(store, &uscc)? {
            return Err(ApiError::unknown_enterprise(&uscc));
        }
    }
    let mut hashes = BlockHashes::default();
    Ok(EnterpriseRecordsPage {
        records: records
            .items
            .into_iter()
            .map(|stored| committed_tx(store, &mut hashes, stored))
            .collect::<Result<_, _>>()?,
        next: records.next.map(cursor),
        uscc,
        order,
    })
}

/// Which page of an enterprise's amendments to read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AmendmentsQuery {
    /// The `next` of the previous page: the first amendment to return.
    after: Option<u32>,
    /// Most amendments to return.
    limit: Option<usize>,
}

/// `GET /v1/enterprises/{uscc}/amendments?after=&limit=`: who changed the enterprise, when.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/amendments",
    tag = "enterprises",
    params(
        ("uscc" = String, Path, description = "The enterprise's unified social credit code (18 characters; lower case is accepted)"),
        AmendmentsQuery,
    ),
    responses(
        (status = 200, description = "One page of the enterprise's amendments in chain order, its enrolment first: what each changed, who signed it and where it was committed", body = AmendmentsPage),
        (status = 400, description = "`invalid_uscc` or `invalid_query`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_enterprise`: not enrolled", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn amendments(
    State(reads): State<StoreReads>,
    PathParam(uscc): PathParam,
    QueryParams(query): QueryParams<AmendmentsQuery>,
) -> Result<Json<AmendmentsPage>, ApiError> {
    let uscc = parse_uscc(&uscc)?;
    let limit = page_limit(query.limit)?;
    let first = query.after.unwrap_or(0);
    reads
        .point(move |store| amendments_page(&store.snapshot(), uscc, first, limit))
        .await
        .map(Json)
}

/// Amendments `first ..` of `uscc`, at most `limit`, as of the snapshot's head.
fn amendments_page(
    snapshot: &Snapshot<'_>,
    uscc: Uscc,
    first: u32,
    limit: usize,
) -> Result<AmendmentsPage, ApiError> {
    let registered = profile::registered(snapshot, &uscc)?;
    let total = registered.state.amendments;
    let state_error = |error: StateError| ApiError::state_unreadable(&error);
    let mut amendments = Vec::new();
    let mut n = first;
    while n < total && amendments.len() < limit {
        let amendment = snapshot
            .amendment(&uscc, n)
            .map_err(state_error)?
            .ok_or_else(|| {
                ApiError::internal(format!(
                    "enterprise {uscc} counts {total} amendments but has no entry {n}"
                ))
            })?;
        amendments.push(AmendmentView {
            n,
            kind: amendment.kind,
            by: profile::key_holder(snapshot, &amendment.by)?,
            id: amendment.tx,
            height: amendment.at.height,
            index: amendment.at.index,
        });
        n += 1;
    }
    Ok(AmendmentsPage {
        uscc,
        computed_at: registered.computed_at,
        amendments,
        next: (n < total).then_some(n),
    })
}

/// Whether `uscc` is enrolled as of the store's head.
fn enrolled(store: &Store, uscc: &Uscc) -> Result<bool, ApiError> {
    let state = store
        .enterprise(uscc)
        .map_err(|error| ApiError::state_unreadable(&error))?;
    Ok(state.is_some())
}

/// The form of the report asked for with `?format=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Format {
    /// JSON, [`crate::views::SupplierReport`].
    Json,
    /// A self-contained HTML page.
    Html,
}

/// How to answer `GET /v1/enterprises/{uscc}/report`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReportQuery {
    /// `json` or `html`; without it, the `Accept` header decides.
    format: Option<Format>,
}

/// `GET /v1/enterprises/{uscc}/report?format=`: JSON, or HTML when asked for.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/report",
    tag = "enterprises",
    params(
        ("uscc" = String, Path, description = "The enterprise's unified social credit code (18 characters; lower case is accepted)"),
        ReportQuery,
    ),
    responses(
        (status = 200, description = "The supplier verification report as of the head: JSON, or a self-contained HTML page with `?format=html` or `Accept: text/html`", content(
            (crate::views::SupplierReport = "application/json"),
            (String = "text/html"),
        )),
        (status = 400, description = "`invalid_uscc` or `invalid_query`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_enterprise`: not enrolled", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn report(
    State(reads): State<StoreReads>,
    PathParam(uscc): PathParam,
    QueryParams(query): QueryParams<ReportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let uscc = parse_uscc(&uscc)?;
    let format = query.format.unwrap_or_else(|| negotiate(&headers));
    let report = reads
        .scan(move |store, budget| {
            let snapshot = store.snapshot();
            let data = profile::gather(&snapshot, &uscc, budget)?;
            Ok(report::supplier_report(&data))
        })
        .await?;
    let vary = (header::VARY, HeaderValue::from_static("accept"));
    Ok(match format {
        Format::Json => ([vary], Json(report)).into_response(),
        Format::Html => {
            let headers = [
                vary,
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(html::CONTENT_SECURITY_POLICY),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ];
            (headers, html::report_page(&report)).into_response()
        }
    })
}

/// HTML if the `Accept` header names `text/html` before `application/json` (a browser), JSON
/// otherwise (`*/*`, no header, an API client). A media range with `q=0` is refused, not asked
/// for, so it is skipped.
fn negotiate(headers: &HeaderMap) -> Format {
    for (media, weight) in weighted(headers, header::ACCEPT) {
        match media.as_str() {
            _ if weight <= 0.0 => continue,
            "text/html" => return Format::Html,
            "application/json" => return Format::Json,
            _ => {}
        }
    }
    Format::Json
}

/// `GET /v1/enterprises/{uscc}/score`.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/score",
    tag = "enterprises",
    params(
        ("uscc" = String, Path, description = "The enterprise's unified social credit code (18 characters; lower case is accepted)"),
    ),
    responses(
        (status = 200, description = "The traceability score as of the head, each component with its value, weight, contribution and records", body = ScoreView),
        (status = 400, description = "`invalid_uscc` or `invalid_query`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_enterprise`: not enrolled", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn score(
    State(reads): State<StoreReads>,
    PathParam(uscc): PathParam,
    QueryParams(NoQuery {}): QueryParams<NoQuery>,
) -> Result<Json<ScoreView>, ApiError> {
    let uscc = parse_uscc(&uscc)?;
    reads
        .scan(move |store, budget| score_of(&store.snapshot(), &uscc, budget))
        .await
        .map(Json)
}

/// The score of `uscc` as of the snapshot's head, under the consortium's weights.
fn score_of(snapshot: &Snapshot<'_>, uscc: &Uscc, budget: &Budget) -> Result<ScoreView, ApiError> {
    let genesis = snapshot.store().genesis();
    let source = match genesis.score_weights {
        Some(_) => WeightsSource::Genesis,
        None => WeightsSource::Default,
    };
    let data = profile::gather(snapshot, uscc, budget)?;
    Ok(measure::score_view(&data, &genesis.score_weights(), source))
}

/// Whose members to rank, and which page of the ranking.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ScoresQuery {
    /// A registrar's public key (hex) or its name in genesis; without it, every enterprise.
    registrar: Option<String>,
    /// The first rank position to return, from 0.
    offset: Option<usize>,
    /// Most members to return.
    limit: Option<usize>,
}

/// `GET /v1/scores?registrar=&offset=&limit=`: members ranked by score, best first.
#[utoipa::path(
    get,
    path = "/v1/scores",
    tag = "enterprises",
    params(ScoresQuery),
    responses(
        (status = 200, description = "A registrar's members (or every enrolled enterprise) ranked by score as of the head, best first", body = ScoreRanking),
        (status = 400, description = "`invalid_query`", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_registrar` (field `registrar`)", body = crate::types::ErrorBody),
        (status = 422, description = "`read_limit_exceeded`: ranking these members reads more stored entries than one request may; rank one registrar's members, or read scores one at a time", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn scores(
    State(reads): State<StoreReads>,
    QueryParams(query): QueryParams<ScoresQuery>,
) -> Result<Json<ScoreRanking>, ApiError> {
    let registrar = query
        .registrar
        .as_deref()
        .map(|text| find_registrar(reads.store().genesis(), text))
        .transpose()?;
    let limit = page_limit(query.limit)?;
    let offset = query.offset.unwrap_or(0);
    reads
        .scan(move |store, budget| ranking(&store.snapshot(), registrar, offset, limit, budget))
        .await
        .map(Json)
}

/// The registrars genesis names by this key or name; 404 `unknown_registrar` if none.
fn find_registrar(genesis: &Genesis, text: &str) -> Result<RegistrarView, ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::invalid_query(
            Some("registrar".into()),
            "registrar is empty: give a registrar's public key or its name in genesis",
        ));
    }
    let key = text.parse::<PublicKey>().ok();
    let members: Vec<_> = genesis
        .registrars
        .iter()
        .filter(|member| Some(member.public_key) == key || member.name.as_str() == text)
        .collect();
    let first = members.first().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_registrar",
            format!("genesis names no registrar with the key or name {text:?}"),
        )
        .with_field("registrar")
    })?;
    Ok(RegistrarView {
        name: first.name.to_string(),
        public_keys: members.iter().map(|member| member.public_key).collect(),
    })
}

/// Ranks the members (every enrolled enterprise without a registrar), scored as of the head;
/// every entry read, listing and scoring them, is spent from `budget`.
fn ranking(
    snapshot: &Snapshot<'_>,
    registrar: Option<RegistrarView>,
    offset: usize,
    limit: usize,
    budget: &Budget,
) -> Result<ScoreRanking, ApiError> {
    let (members, truncated) = members(snapshot, registrar.as_ref(), budget)?;
    let mut scored = Vec::with_capacity(members.len());
    for member in &members {
        let score = score_of(snapshot, &member.profile.uscc, budget)?;
        scored.push((member, score));
    }
    // Best first; without a score last; ties in USCC order (members come in USCC order and
    // the sort is stable).
    scored.sort_by_key(|(_, score)| std::cmp::Reverse(score.total_bp.map(i64::from).unwrap_or(-1)));
    let totals: Vec<Option<u32>> = scored.iter().map(|(_, score)| score.total_bp).collect();
    let ranking: Vec<RankedEnterprise> = scored
        .iter()
        .enumerate()
        .skip(offset)
        .take(limit)
        .map(|(position, (member, score))| RankedEnterprise {
            // Totals are sorted, so the members above with a different total are all better.
            rank: 1 + totals[..position]
                .iter()
                .filter(|total| **total != score.total_bp)
                .count(),
            uscc: member.profile.uscc.clone(),
            name: member.profile.name.clone(),
            total_bp: score.total_bp,
            registered_by: member.registered_by,
            truncated: score.reads.truncated,
        })
        .collect();
    let end = offset.saturating_add(ranking.len());
    Ok(ScoreRanking {
        computed_at: profile::computed_at(snapshot)?,
        registrar,
        members: members.len(),
        max_ranked: MAX_RANKED_ENTERPRISES,
        truncated,
        next_offset: (end < members.len() && !ranking.is_empty()).then_some(end),
        ranking,
    })
}

/// The enterprises to rank, in USCC order, up to [`MAX_RANKED_ENTERPRISES`]; and whether
/// there were more (or more enrolled enterprises than [`MAX_SCANNED_ENTERPRISES`] to look
/// through).
fn members(
    snapshot: &Snapshot<'_>,
    registrar: Option<&RegistrarView>,
    budget: &Budget,
) -> Result<(Vec<EnterpriseState>, bool), ApiError> {
    let mut members = Vec::new();
    let mut scanned = 0;
    let mut after: Option<Uscc> = None;
    loop {
        let page = snapshot
            .enterprises(after.as_ref(), MAX_ENTERPRISES_PER_PAGE)
            .map_err(storage)?;
        scanned += page.items.len();
        budget.spend(page.items.len())?;
        for enterprise in page.items {
            // Members of the registrar that answers for the enterprise now.
            let member = registrar
                .is_none_or(|registrar| registrar.public_keys.contains(&enterprise.registrar()));
            if !member {
                continue;
            }
            if members.len() == MAX_RANKED_ENTERPRISES {
                return Ok((members, true));
            }
            members.push(enterprise);
        }
        match page.next {
            Some(next) if scanned < MAX_SCANNED_ENTERPRISES => after = Some(next),
            Some(_) => return Ok((members, true)),
            None => return Ok((members, false)),
        }
    }
}

/// A USCC path parameter; lower-case letters are accepted. 400 `invalid_uscc` (field `uscc`)
/// with the parser's reason otherwise.
pub(crate) fn parse_uscc(text: &str) -> Result<Uscc, ApiError> {
    Uscc::parse_normalising(text).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_uscc",
            format!("{text:?} is not a unified social credit code: {error}"),
        )
        .with_field("uscc")
    })
}

/// A party GLN in any form [`read_party_gln`] reads, or 400 `invalid_gln`.
fn parse_party_gln(text: &str) -> Result<Gln, ApiError> {
    read_party_gln(text).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_gln",
            format!("{text:?} is not a party GLN: {error}"),
        )
        .with_field("gln")
    })
}

#[cfg(test)]
mod tests {
    use suyuan_ledger::demo::{Demo, execute_demo_block, who};
    use suyuan_ledger::genesis::ScoreWeights;
    use suyuan_ledger::record::{Items, Record, TraceCode};
    use suyuan_ledger::tx::{Envelope, Payload};
    use suyuan_storage::TreeWrites;

    use super::*;

    fn accept(value: &str) -> Format {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        negotiate(&headers)
    }

    #[test]
    fn browsers_get_html_and_clients_json() {
        assert_eq!(negotiate(&HeaderMap::new()), Format::Json);
        assert_eq!(accept("*/*"), Format::Json);
        assert_eq!(accept("application/json"), Format::Json);
        assert_eq!(accept("text/html"), Format::Html);
        assert_eq!(
            accept("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Format::Html
        );
        assert_eq!(accept("application/json, text/html"), Format::Json);
        assert_eq!(accept("TEXT/HTML; charset=utf-8"), Format::Html);
        assert_eq!(accept("text/html;q=0, application/json"), Format::Json);
    }

    /// The demo story committed to a store opened for `genesis`, in a fresh directory.
    fn story_store(demo: &Demo, genesis: &Genesis, label: &str) -> (Store, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("suyuan-api-unit-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir, genesis).unwrap();
        for envelopes in demo.story() {
            commit(&store, genesis, envelopes);
        }
        (store, dir)
    }

    /// Executes `envelopes` as the next block, a day after the head, and commits it.
    fn commit(store: &Store, genesis: &Genesis, envelopes: Vec<Envelope>) {
        let height = store.head().height + 1;
        let frontier = store.log_frontier().unwrap();
        let demo_block = execute_demo_block(
            genesis,
            store,
            (&frontier, store),
            height,
            store.head().hash,
            envelopes,
        );
        store
            .commit_block(
                &demo_block.block,
                &demo_block.txs,
                b"cert",
                &demo_block.writes,
                &TreeWrites::from(&demo_block.trees),
            )
            .unwrap();
    }

    #[test]
    fn a_snapshot_keeps_the_report_and_the_score_at_its_block() {
        let demo = Demo::new(4, 7100);
        let genesis = &demo.genesis;
        let (store, dir) = story_store(&demo, genesis, "snapshot-block");
        let cable = &demo.enterprises[who::CABLE_MAKER];
        let before = store.snapshot();
        // Block 6, committed after the snapshot: a second lot, without a factory number.
        let story = demo.story();
        let mut record = Payload::parse(&story[2][0].payload).unwrap().record;
        let Record::Commission(commission) = &mut record else {
            panic!("the story's first commissioning is the cable lot");
        };
        commission.items = Items::Batch {
            code: TraceCode::Lot {
                gtin: Demo::cable_gtin(),
                lot: "C2601B".parse().unwrap(),
            },
            quantity: 10,
        };
        commission.factory_number = None;
        let payload = Payload {
            nonce: 77,
            record,
            event: None,
        };
        commit(
            &store,
            genesis,
            vec![Envelope::sign(&genesis.binding(), &payload, &cable.key)],
        );

        let budget = Budget::standalone(u64::MAX);
        let old = profile::gather(&before, &cable.profile.uscc, &budget).unwrap();
        assert_eq!(old.registered.computed_at.height, 5);
        assert_eq!(old.codes.len(), 1);
        assert!(old.events.iter().all(|fact| fact.at.height <= 5));
        let old_score = score_of(&before, &cable.profile.uscc, &budget).unwrap();
        assert_eq!(old_score.total_bp, Some(10_000));
        assert_eq!(
            old_score.computed_at.block_hash,
            store.header(5).unwrap().unwrap().hash()
        );

        let now = store.snapshot();
        let new = profile::gather(&now, &cable.profile.uscc, &budget).unwrap();
        assert_eq!(new.registered.computed_at.height, 6);
        assert_eq!(new.codes.len(), 2);
        let new_score = score_of(&now, &cable.profile.uscc, &budget).unwrap();
        assert!(new_score.total_bp < old_score.total_bp);
        drop(before);
        drop(now);
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_genesis_weights_decide_the_score() {
        let demo = Demo::new(4, 7100);
        let gas = &demo.enterprises[who::GAS_APPLIANCE_MAKER].profile.uscc;
        // Another genesis is another chain: its story is signed for it.
        let mut weighted = Demo::new(4, 7100);
        weighted.genesis.score_weights = Some(ScoreWeights {
            inspection_outcomes: 75,
            ..ScoreWeights::DEFAULT
        });
        let mut totals = Vec::new();
        for (demo, label, source) in [
            (&demo, "default-weights", WeightsSource::Default),
            (&weighted, "genesis-weights", WeightsSource::Genesis),
        ] {
            let genesis = &demo.genesis;
            let (store, dir) = story_store(demo, genesis, label);
            let view = score_of(&store.snapshot(), gas, &Budget::standalone(u64::MAX)).unwrap();
            assert_eq!(view.weights, source);
            let weights: Vec<u32> = view.components.iter().map(|c| c.weight).collect();
            let expected = genesis.score_weights();
            assert_eq!(
                weights,
                expected.by_name().map(|(_, weight)| weight).to_vec()
            );
            totals.push(view.total_bp);
            drop(store);
            let _ = std::fs::remove_dir_all(dir);
        }
        // The gas maker's one inspection failed: weighing inspections at 75 of 150 instead of
        // 25 of 100 takes its weighted sum of 499,985 from 4,999 to 3,333.
        assert_eq!(totals, vec![Some(4_999), Some(3_333)]);
    }
}
