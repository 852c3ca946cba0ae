//! Find enterprises as a procurement officer asks for them: by unified social credit code, by
//! a product code or GTIN (its maker), by GLN, or by a part of the name.
//!
//! A code, a GTIN or a GLN is one state read. A name is looked for in every enrolled
//! enterprise's registered name, in USCC order, a page of enterprises at a time, each read
//! spent from the request's scan budget: a flood of name searches is bounded like every scan
//! (422 `read_limit_exceeded` past the budget, 503 `read_queue_full` past the queue).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use suyuan_ledger::codes::gs1::keys::Gln;
use suyuan_ledger::codes::inspect::read_trace_code;
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::record::EnterpriseProfile;
use suyuan_ledger::state::StateReadExt as _;
use suyuan_storage::Store;
use suyuan_storage::query::MAX_ENTERPRISES_PER_PAGE;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::reads::Budget;
use crate::routes::{StoreReads, page_limit, storage};
use crate::types::{EnterpriseHit, EnterpriseSearch, SearchMatch};

/// Longest query, in characters: a name, a code or a USCC is far shorter.
pub(crate) const MAX_QUERY_CHARS: usize = 100;

/// Hits in one answer when the request does not say.
const DEFAULT_HITS: usize = 20;

/// What to look for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchQuery {
    /// A USCC, a product code or GTIN, a GLN, or a part of an enterprise's name (1 to 100
    /// characters).
    q: String,
    /// For a name: the `next` of the previous answer.
    after: Option<String>,
    /// Most enterprises to return (1 to 1000, default 20).
    limit: Option<usize>,
}

/// `GET /v1/enterprises?q=&after=&limit=`.
#[utoipa::path(
    get,
    path = "/v1/enterprises",
    tag = "enterprises",
    params(SearchQuery),
    responses(
        (status = 200, description = "The enterprises found, and how the query was read", body = EnterpriseSearch),
        (status = 400, description = "`invalid_query`: `q` empty or longer than 100 characters, a bad `after` or `limit`", body = crate::types::ErrorBody),
        (status = 422, description = "`read_limit_exceeded`: a name search read more than one request may", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn search(
    State(reads): State<StoreReads>,
    QueryParams(query): QueryParams<SearchQuery>,
) -> Result<Json<EnterpriseSearch>, ApiError> {
    let text = check_query(&query.q)?;
    let after = query
        .after
        .as_deref()
        .map(|after| {
            after.parse::<Uscc>().map_err(|_| {
                ApiError::invalid_query(
                    Some("after".into()),
                    "after is not a cursor: pass the `next` of the previous answer",
                )
            })
        })
        .transpose()?;
    let limit = match query.limit {
        None => DEFAULT_HITS,
        limit => page_limit(limit)?,
    };
    reads
        .scan(move |store, budget| find(store, budget, &text, after.as_ref(), limit))
        .await
        .map(Json)
}

/// `text` trimmed, if it is 1 to [`MAX_QUERY_CHARS`] characters.
pub(crate) fn check_query(text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    let characters = text.chars().count();
    if characters == 0 || characters > MAX_QUERY_CHARS {
        return Err(ApiError::invalid_query(
            Some("q".into()),
            format!("q has {characters} characters; it must have 1 to {MAX_QUERY_CHARS}"),
        ));
    }
    Ok(text.to_owned())
}

/// The enterprises `text` names: read as a USCC, a GLN, a product or model code, else as a
/// part of a name (from the enterprise after `after`, at most `limit`).
pub(crate) fn find(
    store: &Store,
    budget: &Budget,
    text: &str,
    after: Option<&Uscc>,
    limit: usize,
) -> Result<EnterpriseSearch, ApiError> {
    let snapshot = store.snapshot();
    let state_error = |error: suyuan_ledger::state::StateError| ApiError::state_unreadable(&error);
    let one = |matched_by: SearchMatch, uscc: Option<Uscc>| -> Result<EnterpriseSearch, ApiError> {
        budget.spend(1)?;
        let hit = match uscc {
            Some(uscc) => snapshot
                .enterprise(&uscc)
                .map_err(state_error)?
                .map(|state| hit(&state.profile)),
            None => None,
        };
        Ok(EnterpriseSearch {
            query: text.to_owned(),
            matched_by,
            items: hit.into_iter().collect(),
            next: None,
        })
    };
    if let Ok(uscc) = text.to_ascii_uppercase().parse::<Uscc>() {
        return one(SearchMatch::Uscc, Some(uscc));
    }
    // Thirteen digits are a GLN or a GTIN-13: a GLN some profile claims first.
    if text.len() == 13
        && let Ok(gln) = text.parse::<Gln>()
        && let Some(holder) = snapshot.gln_holder(&gln).map_err(state_error)?
    {
        return one(SearchMatch::Gln, Some(holder));
    }
    if let Ok(code) = read_trace_code(text) {
        budget.spend(1)?;
        let code = store.alias(&code).map_err(state_error)?.unwrap_or(code);
        let producer = snapshot
            .code(&code)
            .map_err(state_error)?
            .map(|state| state.producer);
        return one(SearchMatch::Code, producer);
    }
    if let Ok(model) = text.parse::<ModelCode>() {
        budget.spend(1)?;
        let maker = snapshot
            .model(&model)
            .map_err(state_error)?
            .map(|state| state.model.uscc);
        return one(SearchMatch::Code, maker);
    }
    let needle = text.to_lowercase();
    let mut items = Vec::new();
    let mut cursor = after.cloned();
    loop {
        let page = snapshot
            .enterprises(cursor.as_ref(), MAX_ENTERPRISES_PER_PAGE)
            .map_err(storage)?;
        budget.spend(page.items.len().max(1))?;
        for state in &page.items {
            if state.profile.name.as_str().to_lowercase().contains(&needle) {
                items.push(hit(&state.profile));
                if items.len() == limit {
                    return Ok(EnterpriseSearch {
                        query: text.to_owned(),
                        matched_by: SearchMatch::Name,
                        items,
                        next: Some(state.profile.uscc.to_string()),
                    });
                }
            }
        }
        match page.next {
            Some(last) => cursor = Some(last),
            None => break,
        }
    }
    Ok(EnterpriseSearch {
        query: text.to_owned(),
        matched_by: SearchMatch::Name,
        items,
        next: None,
    })
}

fn hit(profile: &EnterpriseProfile) -> EnterpriseHit {
    EnterpriseHit {
        uscc: profile.uscc.clone(),
        name: profile.name.clone(),
        kind: profile.kind,
        address: profile.address.clone(),
    }
}
