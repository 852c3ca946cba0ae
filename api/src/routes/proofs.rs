//! Serve proof bundles and consistency proofs (see [`suyuan_proofs::bundle`]), each built at one
//! finalized height of the store.
//!
//! The height is the highest committed block whose stored justification is a finalization: a
//! block committed as an ancestor of a finalized block carries only its notarization, which
//! proves nothing final, so the handler walks down from the head (at most
//! [`MAX_FINALITY_WALK`] blocks; the head itself is finalized on a node that commits only what
//! consensus finalized). Everything after is read at that height, whose data never changes
//! once committed, so later commits cannot mix into the answer. Before answering, the handler
//! checks its own proofs against the header's roots and cross-checks the code map with the
//! storage code index: a disagreement is a 500 naming it, never a wrong bundle.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use suyuan_ledger::block::Header;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::merkle::log::{consistency_proof, inclusion_proof};
use suyuan_ledger::merkle::map::prove;
use suyuan_ledger::record::TraceCode;
use suyuan_ledger::state::TxLocation;
use suyuan_ledger::trees::{LedgerHash, code_key, record_leaf};
use suyuan_proofs::bundle::{
    BUNDLE_FORMAT, BundleRecord, CONSISTENCY_FORMAT, ConsistencyBundle, ProofBundle,
};
use suyuan_proofs::justification::Justification;
use suyuan_storage::{Order, PageRequest, Store, StoredTx};
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::{PathParam, QueryParams};
use crate::routes::products::parse_code;
use crate::routes::{StoreReads, storage};

/// Most blocks the handlers walk down from the head to find a finalized one.
pub(crate) const MAX_FINALITY_WALK: u64 = 64;

/// `GET /v1/proofs/{code}`: the proof bundle of the code's latest record (or of its absence)
/// as of the latest finalized block.
#[utoipa::path(
    get,
    path = "/v1/proofs/{code}",
    tag = "proofs",
    params(("code" = String, Path, description = "A trace code, Digital Link URI or element string naming a batch, an item or a logistic unit; percent-encoded")),
    responses(
        (status = 200, description = "The bundle: the latest record naming the code with its proofs, or `record: null` and the proof that none names it", body = crate::schemas::ProofBundle),
        (status = 400, description = "`invalid_code`", body = crate::types::ErrorBody),
        (status = 503, description = "`no_finalized_block`: the chain has not finalized a block yet", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn proof(
    State(reads): State<StoreReads>,
    PathParam(code): PathParam,
) -> Result<Json<ProofBundle>, ApiError> {
    let code = parse_code(&code)?;
    reads
        .point(move |store| build_bundle(store, &code))
        .await
        .map(Json)
}

/// The height a consistency proof starts from.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConsistencyQuery {
    /// The height of the header the client kept (from a bundle it verified); 1 or more.
    from: u64,
}

/// `GET /v1/proofs/consistency?from=`: the latest finalized header and the proof that its
/// record log extends the log at height `from`.
#[utoipa::path(
    get,
    path = "/v1/proofs/consistency",
    tag = "proofs",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The latest finalized header, its justification, and the log consistency proof from the older height", body = crate::schemas::ConsistencyBundle),
        (status = 400, description = "`invalid_query`: `from` missing, not a number or 0", body = crate::types::ErrorBody),
        (status = 404, description = "`unknown_block`: `from` is above this node's latest finalized block", body = crate::types::ErrorBody),
        (status = 503, description = "`no_finalized_block`: the chain has not finalized a block yet", body = crate::types::ErrorBody),
    )
)]
pub(crate) async fn consistency(
    State(reads): State<StoreReads>,
    QueryParams(query): QueryParams<ConsistencyQuery>,
) -> Result<Json<ConsistencyBundle>, ApiError> {
    if query.from == 0 {
        return Err(ApiError::invalid_query(
            Some("from".into()),
            "from is 0; pass the height of the header you kept (1 or more)",
        ));
    }
    reads
        .point(move |store| build_consistency(store, query.from))
        .await
        .map(Json)
}

/// The latest finalized block: its header and its justification's stored bytes.
struct Finalized {
    header: Header,
    justification: Vec<u8>,
}

/// The highest committed block whose justification is a finalization, walking down from the
/// head at most [`MAX_FINALITY_WALK`] blocks.
fn finalized_head(store: &Store) -> Result<Finalized, ApiError> {
    let head = store.head().height;
    if head == 0 {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_finalized_block",
            "the chain has not finalized a block yet: there is nothing to prove against",
        ));
    }
    let lowest = head.saturating_sub(MAX_FINALITY_WALK - 1).max(1);
    for height in (lowest..=head).rev() {
        let bytes = store
            .justification(height)
            .map_err(storage)?
            .ok_or_else(|| {
                ApiError::internal(format!(
                    "committed block {height} has no stored justification"
                ))
            })?;
        let justification = Justification::decode(&bytes).map_err(|error| {
            ApiError::internal(format!(
                "the stored justification of block {height} does not decode: {error}"
            ))
        })?;
        if justification.is_finalization() {
            let header = store.header(height).map_err(storage)?.ok_or_else(|| {
                ApiError::internal(format!("committed block {height} has no stored header"))
            })?;
            return Ok(Finalized {
                header,
                justification: bytes,
            });
        }
    }
    Err(ApiError::internal(format!(
        "none of the newest {} blocks (heights {lowest} to {head}) is stored with a finalization",
        head - lowest + 1
    )))
}

/// Builds the bundle of `code` as of the latest finalized block.
pub(crate) fn build_bundle(store: &Store, code: &TraceCode) -> Result<ProofBundle, ApiError> {
    let genesis = store.genesis();
    let Finalized {
        header,
        justification,
    } = finalized_head(store)?;
    let height = header.height;
    let canonical = code.to_string();
    let key = code_key(&canonical);
    let map_proof = prove::<LedgerHash>(&store.map_reader(), height, &key).map_err(|error| {
        ApiError::internal(format!("reading the code map at height {height}: {error}"))
    })?;
    let in_map = map_proof
        .resolve::<LedgerHash>(&header.trees.map_root, &key)
        .map_err(|error| {
            ApiError::internal(format!(
                "the stored code map does not match block {height}'s map root: {error}"
            ))
        })?;
    let indexed = latest_at(store, code, height)?;
    let record = match (in_map, indexed) {
        (None, None) => None,
        (Some(leaf), Some(stored)) if record_leaf(&stored.id) == leaf => {
            Some(bundle_record(store, stored, &header)?)
        }
        (in_map, indexed) => return Err(disagreement(&canonical, height, in_map, indexed)),
    };
    Ok(ProofBundle {
        format: BUNDLE_FORMAT.to_owned(),
        chain_id: genesis.chain_id.clone(),
        genesis_hash: genesis.hash(),
        code: canonical,
        map_key: key,
        record,
        map_proof,
        header,
        justification: hex::encode(justification),
    })
}

/// The latest record naming `code` committed at or below `height`, from the storage code index.
fn latest_at(store: &Store, code: &TraceCode, height: u64) -> Result<Option<StoredTx>, ApiError> {
    let page = PageRequest {
        after: Some(TxLocation {
            height: height + 1,
            index: 0,
        }),
        limit: 1,
        order: Order::NewestFirst,
    };
    let page = store.code_history(code, page).map_err(storage)?;
    Ok(page.items.into_iter().next())
}

/// 500: the code map and the storage code index say different things about a code.
fn disagreement(
    code: &str,
    height: u64,
    in_map: Option<Hash32>,
    indexed: Option<StoredTx>,
) -> ApiError {
    let map = match in_map {
        Some(leaf) => format!("the code map holds record leaf {leaf}"),
        None => "the code map holds no record".to_owned(),
    };
    let index = match indexed {
        Some(stored) => format!(
            "the code index's latest is {} (leaf {}) at height {}",
            stored.id,
            record_leaf(&stored.id),
            stored.location.height
        ),
        None => "the code index holds no record".to_owned(),
    };
    ApiError::internal(format!(
        "the node's code map and code index disagree about {code} at height {height}: {map}, \
         {index}; no bundle is served"
    ))
}

/// The record part of a bundle: the stored transaction and its inclusion in the log of
/// `header`, checked against the header's log root before it is served.
fn bundle_record(
    store: &Store,
    stored: StoredTx,
    header: &Header,
) -> Result<BundleRecord, ApiError> {
    let at = stored.location;
    let before = store
        .log_size_at(at.height - 1)
        .map_err(storage)?
        .ok_or_else(|| {
            ApiError::internal(format!("no log size stored below block {}", at.height))
        })?;
    let log_index = before + u64::from(at.index);
    let size = header.trees.log_size;
    let inclusion = inclusion_proof::<LedgerHash>(store, log_index, size).map_err(|error| {
        ApiError::internal(format!(
            "proving log record {log_index} in the log of {size}: {error}"
        ))
    })?;
    inclusion
        .verify::<LedgerHash>(&record_leaf(&stored.id), &header.trees.log_root)
        .map_err(|error| {
            ApiError::internal(format!(
                "the stored log does not prove transaction {} against block {}'s log root: \
                 {error}",
                stored.id, header.height
            ))
        })?;
    Ok(BundleRecord {
        tx_id: stored.id,
        height: at.height,
        index: at.index,
        envelope: stored.envelope,
        inclusion,
    })
}

/// Builds the consistency proof from height `from` to the latest finalized block.
fn build_consistency(store: &Store, from: u64) -> Result<ConsistencyBundle, ApiError> {
    let genesis = store.genesis();
    let Finalized {
        header,
        justification,
    } = finalized_head(store)?;
    if from > header.height {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_block",
            format!(
                "this node's latest finalized block is at height {}, below {from}: ask a node \
                 that has caught up",
                header.height
            ),
        )
        .with_field("from"));
    }
    let old_size = store.log_size_at(from).map_err(storage)?.ok_or_else(|| {
        ApiError::internal(format!("no log size stored for committed block {from}"))
    })?;
    let proof = match old_size {
        0 => None,
        _ => Some(checked_consistency(store, from, old_size, &header)?),
    };
    Ok(ConsistencyBundle {
        format: CONSISTENCY_FORMAT.to_owned(),
        chain_id: genesis.chain_id.clone(),
        genesis_hash: genesis.hash(),
        from_height: from,
        header,
        justification: hex::encode(justification),
        proof,
    })
}

/// The log consistency proof from `old_size` (block `from`'s) to `header`'s, checked against
/// the stored older root and the header's root before it is served.
fn checked_consistency(
    store: &Store,
    from: u64,
    old_size: u64,
    header: &Header,
) -> Result<suyuan_ledger::merkle::log::ConsistencyProof, ApiError> {
    let new_size = header.trees.log_size;
    let proof = consistency_proof::<LedgerHash>(store, old_size, new_size).map_err(|error| {
        ApiError::internal(format!(
            "proving the log of {new_size} extends the log of {old_size}: {error}"
        ))
    })?;
    let old_root = store
        .log_root_at(from)
        .map_err(storage)?
        .ok_or_else(|| ApiError::internal(format!("no log root for committed block {from}")))?;
    proof
        .verify::<LedgerHash>(&old_root, &header.trees.log_root)
        .map_err(|error| {
            ApiError::internal(format!(
                "the stored log does not prove block {}'s log extends block {from}'s: {error}",
                header.height
            ))
        })?;
    Ok(proof)
}
