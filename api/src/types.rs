//! Define every request and response body of the HTTP API, so that servers and clients share
//! one definition of the JSON.
//!
//! Hashes, ids and keys are lower-case hex strings; envelopes use the ledger's serde form
//! (payload in base64, signer and signature in hex); payloads and headers are the ledger's own
//! JSON. Field names are snake_case.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use suyuan_ledger::block::{BlockHash, Header};
use suyuan_ledger::catalogue::{Catalogue, Category, DocumentKind};
use suyuan_ledger::codes::ccc::CccCertificate;
use suyuan_ledger::codes::inspect::{AiValue, CodeKind};
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::crypto::PublicKey;
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::{EnterpriseKind, Subject, TraceCode};
use suyuan_ledger::text::{Date, LongText, ShortText};
use suyuan_ledger::tx::{Envelope, Payload, TxId};
use utoipa::ToSchema;

use crate::views::{CertificateView, ComputedAt, ProductModelView, RecallStatus, RecordRef};

/// The body of every error response.
///
/// `code` is stable and machine-readable (see `docs/api.md`); `message` is for people; `field`
/// names the part of the request at fault where known (`payload.record.uscc`, `height`, ...).
/// Some codes carry more fields, kept in `details`: `rule` for `rule_violation`, `held` and
/// `held_bytes` for `mempool_full`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The stable machine code, snake_case.
    pub code: String,
    /// What went wrong, in words.
    pub message: String,
    /// The part of the request at fault, where known.
    pub field: Option<String>,
    /// Extra fields some codes carry, flattened into the object.
    #[serde(flatten)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl ErrorBody {
    /// An error with no field and no details.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            code: code.into(),
            message: message.into(),
            field: None,
            details: serde_json::Map::new(),
        }
    }

    /// The same error naming the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> ErrorBody {
        self.field = Some(field.into());
        self
    }

    /// The same error with one more detail field.
    pub fn with_detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> ErrorBody {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The rule a `rule_violation` names.
    pub fn rule(&self) -> Option<&str> {
        self.details.get("rule").and_then(serde_json::Value::as_str)
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (field {field})")?;
        }
        Ok(())
    }
}

/// Where a transaction stands, as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// Admitted to a mempool, not yet in a block.
    Pending,
    /// In a finalized block.
    Committed,
    /// Refused after admission, or when it came to be executed.
    Rejected,
}

/// The answer to `POST /v1/transactions`: 202 with the id of the admitted transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitResponse {
    /// The transaction id.
    #[schema(value_type = crate::schemas::Hash)]
    pub id: TxId,
    /// Always `pending`: admission is not commitment.
    pub status: TxStatus,
}

/// One entry of a batch answer: an id, or why that envelope was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum BatchResult {
    /// Admitted.
    Accepted {
        /// The transaction id.
        #[schema(value_type = crate::schemas::Hash)]
        id: TxId,
    },
    /// Refused; the others in the batch are unaffected.
    Refused {
        /// Why.
        error: ErrorBody,
    },
}

/// The answer to `POST /v1/transactions/batch`: one result per envelope, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchResponse {
    /// The results, in the order of the request.
    pub results: Vec<BatchResult>,
}

/// A committed transaction: where it is, what was signed and what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CommittedTx {
    /// Its id.
    #[schema(value_type = crate::schemas::Hash)]
    pub id: TxId,
    /// The height of its block.
    pub height: u64,
    /// Its index in the block.
    pub index: u32,
    /// The hash of its block.
    #[schema(value_type = crate::schemas::Hash)]
    pub block_hash: BlockHash,
    /// The envelope exactly as committed.
    #[schema(value_type = crate::schemas::Envelope)]
    pub envelope: Envelope,
    /// The envelope's payload, parsed.
    #[schema(value_type = crate::schemas::Payload)]
    pub payload: Payload,
}

/// The answer to `GET /v1/transactions/{id}`, tagged by `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TransactionView {
    /// In a finalized block (boxed: the other variants are small).
    Committed(Box<CommittedTx>),
    /// In the node's mempool.
    Pending {
        /// Its id.
        #[schema(value_type = crate::schemas::Hash)]
        id: TxId,
    },
    /// Refused by the node after admission (or when it was submitted, if the node remembers).
    Rejected {
        /// Its id.
        #[schema(value_type = crate::schemas::Hash)]
        id: TxId,
        /// Why.
        error: ErrorBody,
    },
}

impl TransactionView {
    /// The transaction's id.
    pub fn id(&self) -> TxId {
        match self {
            TransactionView::Committed(tx) => tx.id,
            TransactionView::Pending { id } | TransactionView::Rejected { id, .. } => *id,
        }
    }

    /// Its status.
    pub fn status(&self) -> TxStatus {
        match self {
            TransactionView::Committed(_) => TxStatus::Committed,
            TransactionView::Pending { .. } => TxStatus::Pending,
            TransactionView::Rejected { .. } => TxStatus::Rejected,
        }
    }
}

/// What a node holds of a transaction it has not committed (see `Node::pending`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingState {
    /// In the mempool.
    Pending,
    /// Refused, and remembered for a while.
    Rejected {
        /// Why.
        error: ErrorBody,
    },
}

/// The answer to `GET /v1/blocks/{height}` and `GET /v1/blocks/latest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockView {
    /// Its height (1 for the first block after genesis).
    pub height: u64,
    /// Its hash.
    #[schema(value_type = crate::schemas::Hash)]
    pub hash: BlockHash,
    /// The header the hash covers.
    #[schema(value_type = crate::schemas::Header)]
    pub header: Header,
    /// Its transactions' ids, in block order.
    #[schema(value_type = Vec<crate::schemas::Hash>)]
    pub transactions: Vec<TxId>,
    /// The block's justification exactly as stored, in hex: the certificate that notarizes or
    /// finalizes it, then the nullifications of the views it skipped (the same bytes as a proof
    /// bundle's `justification`).
    pub justification: String,
}

/// One transaction of a block, in `GET /v1/blocks/{height}/transactions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockTransaction {
    /// Its id.
    #[schema(value_type = crate::schemas::Hash)]
    pub id: TxId,
    /// Its index in the block.
    pub index: u32,
    /// The envelope exactly as committed.
    #[schema(value_type = crate::schemas::Envelope)]
    pub envelope: Envelope,
    /// The payload, parsed.
    #[schema(value_type = crate::schemas::Payload)]
    pub payload: Payload,
}

/// The answer to `GET /v1/blocks/{height}/transactions?offset=&limit=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockTransactionsPage {
    /// The block's height.
    pub height: u64,
    /// The transactions from `offset`, at most `limit` of them.
    pub transactions: Vec<BlockTransaction>,
    /// The offset of the next page; `None` on the last page.
    pub next_offset: Option<u32>,
}

/// The answer to `GET /v1/products/{code}`: a code's latest record and one page of its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductView {
    /// The code in canonical form.
    #[schema(value_type = crate::schemas::TraceCode)]
    pub code: TraceCode,
    /// The latest record naming it.
    pub latest: Option<CommittedTx>,
    /// Records naming it, oldest first, from the cursor on.
    pub history: Vec<CommittedTx>,
    /// Pass as `?after=` for the next page; `None` on the last page.
    pub next: Option<String>,
    /// Recalls covering the code, of the code itself, its batch or its whole model (a model-level
    /// recall names no code, so `history` does not hold it), newest first. An open one is
    /// always here; closed ones among the producer's newest 100 recalls.
    pub recalls: Vec<CodeRecall>,
    /// Whether `recalls` holds every recall ever covering the code: `false` when its producer
    /// has more than 100 recalls, so that older closed ones may be left out.
    pub recalls_complete: bool,
    /// The key-product category of the code's model, from the consortium's catalogue; `None`
    /// for a logistic unit or a model that names none.
    #[serde(default)]
    pub category: Option<CategoryView>,
    /// The batch a serialised item belongs to, as its commissioning named it; its recalls are
    /// among `recalls`.
    #[serde(default)]
    #[schema(value_type = Option<crate::schemas::TraceCode>)]
    pub batch: Option<TraceCode>,
    /// For a logistic unit packed now: who holds it and what it holds; `None` for a product
    /// code, or a unit unpacked (its history says when).
    #[serde(default)]
    pub unit: Option<UnitView>,
    /// The logistic units the code is packed in now, directly, with the units of it each
    /// holds: one at most for an item or a unit, at most 100 listed for a batch.
    #[serde(default)]
    pub packed_in: Vec<UnitLineView>,
    /// The code of the model it is of, in canonical form (a GTIN's 14 digits, `ecode:…` or
    /// `handle:…`); for an Ecode or Handle model code looked up itself, that code, with the
    /// model's records as `history`. `None` for a logistic unit or a code never commissioned.
    #[serde(default)]
    #[schema(value_type = Option<crate::schemas::ModelCode>)]
    pub model_code: Option<ModelCode>,
    /// The other codes the batch or item carries, linked by `link_codes`; looking up any of
    /// them gives this view.
    #[serde(default)]
    #[schema(value_type = Vec<crate::schemas::TraceCode>)]
    pub aliases: Vec<TraceCode>,
    /// The code as asked for, when it is one of `aliases`: `code` is then the code the thing
    /// was commissioned under.
    #[serde(default)]
    #[schema(value_type = Option<crate::schemas::TraceCode>)]
    pub looked_up_as: Option<TraceCode>,
}

/// The answer to `GET /v1/certificates/{number}`: one page of the records naming a CCC
/// certificate, and the holders and models those records name, as they stand now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateLookup {
    /// The certificate number.
    #[schema(value_type = String)]
    pub number: CccCertificate,
    /// The enterprises named on this page whose profile lists the certificate now, with its
    /// validity on the date of the view.
    pub holders: Vec<CertificateHolder>,
    /// The models registered under the certificate on this page.
    pub models: Vec<CertifiedModel>,
    /// Records naming the certificate, oldest first, from the cursor on: model registrations
    /// citing it, enrolments and amendments listing it.
    pub records: Vec<CommittedTx>,
    /// Pass as `?after=` for the next page; `None` on the last page.
    pub next: Option<String>,
    /// The block the view was read at; validity is judged on its date.
    pub computed_at: ComputedAt,
}

/// An enterprise whose profile lists a CCC certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateHolder {
    /// Its USCC.
    #[schema(value_type = crate::schemas::Uscc)]
    pub uscc: Uscc,
    /// Its registered name.
    pub name: String,
    /// Its entry for the certificate.
    pub certificate: CertificateView,
}

/// A product model a record registered under a CCC certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertifiedModel {
    /// The model's code: a GTIN's 14 digits, `ecode:…` or `handle:…`.
    #[schema(value_type = crate::schemas::ModelCode)]
    pub model_code: ModelCode,
    /// The enterprise that registered it.
    #[schema(value_type = crate::schemas::Uscc)]
    pub uscc: Uscc,
    /// The model's name.
    pub name: String,
    /// Its key-product category.
    pub category: Option<CategoryView>,
    /// Whether its current registration still names this certificate: a later registration
    /// may name another, or none.
    pub certified_now: bool,
}

/// A packed logistic unit (an SSCC), as state holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitView {
    /// The enterprise that packed it.
    #[schema(value_type = crate::schemas::Uscc)]
    pub packer: Uscc,
    /// The enterprise that holds it, and everything in it.
    #[schema(value_type = crate::schemas::Uscc)]
    pub holder: Uscc,
    /// The unit it is packed in, if any.
    #[schema(value_type = Option<crate::schemas::TraceCode>)]
    pub parent: Option<TraceCode>,
    /// What it holds directly, as packed: product codes with their units, and inner units
    /// (quantity 1); at most 1,000 lines, as packing allows.
    pub contents: Vec<UnitLineView>,
    /// Levels of packing: 1 for a unit of products only.
    pub depth: u8,
    /// Product lines inside it, its inner units' included.
    pub lines: u64,
    /// The packing transaction.
    #[schema(value_type = crate::schemas::Hash)]
    pub packed_by: TxId,
}

/// A code and a number of its units: a unit's content line, or a unit a code is packed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitLineView {
    /// The code: a product code, or a logistic unit's `00/{sscc}`.
    #[schema(value_type = crate::schemas::TraceCode)]
    pub code: TraceCode,
    /// Units of the product code (1 for an item or a unit).
    pub quantity: u64,
}

/// A registered product model: what `GET /v1/models/{code}` answers, and what a scan of a bare
/// GTIN resolves to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelView {
    /// The model as last registered, with the validity today of the licence and certificate it
    /// names.
    pub model: ProductModelView,
    /// The enterprise that registered it.
    pub maker: MakerView,
    /// Recalls of the whole model, newest first: an open one is always here; closed ones among
    /// the maker's newest 100 recalls. A recall of one batch or item is on that code's view.
    pub recalls: Vec<CodeRecall>,
    /// Whether `recalls` holds every recall of the model ever: `false` when its maker has more
    /// than 100 recalls, so that older closed ones may be left out.
    pub recalls_complete: bool,
    /// The block the view was read at.
    pub computed_at: ComputedAt,
}

/// The enterprise behind a model: enough to name it and to find its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MakerView {
    /// Its unified social credit code.
    #[schema(value_type = crate::schemas::Uscc)]
    pub uscc: Uscc,
    /// Its registered name.
    #[schema(value_type = String)]
    pub name: ShortText,
}

/// The answer to `GET /v1/enterprises?q=`: the enterprises found, and how the query was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseSearch {
    /// The query, trimmed.
    pub query: String,
    /// What the query was read as.
    pub matched_by: SearchMatch,
    /// The enterprises found: one at most for a USCC, a code or a GLN; for a name, in USCC
    /// order.
    pub items: Vec<EnterpriseHit>,
    /// For a name: pass as `after` for more; `None` when the search read every enterprise.
    pub next: Option<String>,
}

/// What a search query was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchMatch {
    /// A unified social credit code.
    Uscc,
    /// A party GLN an enterprise's profile claims.
    Gln,
    /// A product code or a model code (a GTIN alone): its maker.
    Code,
    /// A part of a registered name, in any letter case.
    Name,
}

/// An enterprise found by a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseHit {
    /// Its unified social credit code.
    #[schema(value_type = crate::schemas::Uscc)]
    pub uscc: Uscc,
    /// Its registered name.
    #[schema(value_type = String)]
    pub name: ShortText,
    /// What it is.
    #[schema(value_type = crate::schemas::EnterpriseKind)]
    pub kind: EnterpriseKind,
    /// Its registered address.
    #[schema(value_type = String)]
    pub address: LongText,
}

/// A recall covering a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRecall {
    /// What it names: this code, the code's model, or the batch the item belongs to.
    #[schema(value_type = crate::schemas::Subject)]
    pub subject: Subject,
    /// Open or closed as of the view.
    pub status: RecallStatus,
    /// Why.
    #[schema(value_type = String)]
    pub reason: LongText,
    /// Date announced.
    #[schema(value_type = crate::schemas::Date)]
    pub announced_on: Date,
    /// The recall record; its id names the recall.
    pub record: RecordRef,
    /// The transaction that closed it, once closed.
    #[schema(value_type = Option<crate::schemas::Hash>)]
    pub closed_by: Option<TxId>,
}

/// A category of the consortium's key-product catalogue (docs/records.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryView {
    /// Its stable id, which product models name: `wires_cables`.
    pub id: String,
    /// Its Chinese name.
    pub name_zh: String,
    /// Its English name.
    pub name_en: String,
    /// The documents its models must name: `production_licence`, `ccc_certificate`.
    pub documents: Vec<String>,
    /// The fields its models must carry: `standards` is the model's list of standards, any
    /// other an entry of its `fields`.
    pub fields: Vec<CategoryFieldView>,
}

/// A field a category's models must carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryFieldView {
    /// Its id: `rated_voltage`.
    pub id: String,
    /// Its Chinese name.
    pub name_zh: String,
    /// Its English name.
    pub name_en: String,
}

/// The answer to `GET /v1/catalogue`: the consortium's key-product catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogueView {
    /// Whether the genesis file names the catalogue; if not, it is the programme catalogue of
    /// the node's software version.
    pub in_genesis: bool,
    /// Whether every product model must name a category.
    pub require_category: bool,
    /// The categories.
    pub categories: Vec<CategoryView>,
}

impl CategoryView {
    /// The view of a catalogue's category.
    pub fn new(category: &Category) -> CategoryView {
        CategoryView {
            id: category.id.to_string(),
            name_zh: category.name_zh.to_string(),
            name_en: category.name_en.to_string(),
            documents: category
                .documents
                .iter()
                .map(|document| match document {
                    DocumentKind::ProductionLicence => "production_licence".to_owned(),
                    DocumentKind::CccCertificate => "ccc_certificate".to_owned(),
                })
                .collect(),
            fields: category
                .fields
                .iter()
                .map(|field| CategoryFieldView {
                    id: field.id.to_string(),
                    name_zh: field.name_zh.to_string(),
                    name_en: field.name_en.to_string(),
                })
                .collect(),
        }
    }
}

impl CatalogueView {
    /// The view of `genesis`'s catalogue.
    pub fn new(genesis: &Genesis) -> CatalogueView {
        CatalogueView::of(genesis.catalogue(), genesis.catalogue.is_some())
    }

    /// The view of `catalogue`, named in genesis or not.
    pub fn of(catalogue: &Catalogue, in_genesis: bool) -> CatalogueView {
        CatalogueView {
            in_genesis,
            require_category: catalogue.require_category,
            categories: catalogue.categories.iter().map(CategoryView::new).collect(),
        }
    }
}

/// A validator's identity as the node knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeIdentity {
    /// Its index in genesis.
    pub index: usize,
    /// Its name in genesis.
    pub name: String,
    /// Its consensus key.
    #[schema(value_type = crate::schemas::PublicKey)]
    pub public_key: PublicKey,
}

/// One validator of the consortium, seen from the node answering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidatorStatus {
    /// Its index in genesis.
    pub index: usize,
    /// Its name in genesis.
    pub name: String,
    /// Its consensus key.
    #[schema(value_type = crate::schemas::PublicKey)]
    pub public_key: PublicKey,
    /// Its p2p address.
    pub p2p_address: String,
    /// Its HTTP API, where known.
    pub api_url: Option<String>,
    /// Whether this node has a connection to it.
    pub connected: bool,
    /// Whether it is the node answering.
    pub is_self: bool,
}

/// Whether the node has caught up with the consortium.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncState {
    /// At the height the others are at.
    Synced,
    /// Fetching blocks it missed.
    CatchingUp {
        /// The height it is fetching up to.
        target_height: u64,
    },
}

/// What the mempool holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MempoolStatus {
    /// Transactions waiting.
    pub transactions: usize,
    /// Their encoded size.
    pub bytes: usize,
}

/// The answer to `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeStatus {
    /// The chain id transactions must be signed for.
    pub chain_id: String,
    /// The hash of the genesis file.
    #[schema(value_type = crate::schemas::Hash)]
    pub genesis_hash: Hash32,
    /// The node answering.
    pub node: NodeIdentity,
    /// The height of the last committed block (0 before the first).
    pub height: u64,
    /// The hash of the last committed block (the genesis hash before the first).
    #[schema(value_type = crate::schemas::Hash)]
    pub head_hash: Hash32,
    /// The consensus view the node is in.
    pub view: u64,
    /// Every validator of the consortium.
    pub validators: Vec<ValidatorStatus>,
    /// Whether the node has caught up.
    pub sync: SyncState,
    /// What its mempool holds.
    pub mempool: MempoolStatus,
    /// The node's software version.
    pub version: String,
}

/// The answer to `GET /v1/codes/{code}`: what `suyuan code inspect` tells of a valid code, and
/// where the ledger's latest record of it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeView {
    /// The code as sent (after percent-decoding the path).
    pub input: String,
    /// Its kind.
    #[schema(value_type = crate::schemas::CodeKind)]
    pub kind: CodeKind,
    /// The code in its kind's one canonical form (14 digits for a GTIN, the Digital Link URI
    /// under `https://id.gs1.org`, ...).
    pub normalized: String,
    /// Whether its check digits or check character are right: always `true` here (a wrong one
    /// is a 400), `null` when its kind carries none.
    pub check_digit_valid: Option<bool>,
    /// Its parts by name: `gtin14`, `lot`, `serial`, `sscc`, `region_code`, ...
    pub fields: BTreeMap<String, String>,
    /// The GS1 Application Identifiers it carries, in order; empty for other kinds.
    #[schema(value_type = Vec<crate::schemas::AiValue>)]
    pub ais: Vec<AiValue>,
    /// The ledger's trace code for it, where it names a batch, an item or a logistic unit.
    #[schema(value_type = Option<crate::schemas::TraceCode>)]
    pub trace_code: Option<TraceCode>,
    /// Other kinds the same text is valid as (13 digits are a GTIN and a GLN).
    #[schema(value_type = Vec<crate::schemas::CodeKind>)]
    pub also_valid_as: Vec<CodeKind>,
    /// The latest committed record naming its trace code, or the certificate a CCC number is;
    /// `None` for other codes, or when no record names it.
    pub latest: Option<LatestRecord>,
    /// The EPC URN (SGTIN, LGTIN, SSCC, SGLN, GRAI, GIAI) of a GS1 code that names an instance
    /// or a lot, split where the company prefix its holder holds on the ledger ends; `None`
    /// when no held prefix covers it (a Digital Link does not say where the prefix ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epc: Option<String>,
}

/// Where a code's latest record is: enough to show it and to fetch the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LatestRecord {
    /// The transaction carrying it.
    #[schema(value_type = crate::schemas::Hash)]
    pub id: TxId,
    /// The height of its block.
    pub height: u64,
    /// Its index in the block.
    pub index: u32,
    /// The record's type: `commission`, `inspect`, `ship`, `recall`, ...
    pub record_type: String,
    /// The path of the code's full record and history: `/v1/products/{trace code}`, encoded;
    /// for a CCC certificate, `/v1/certificates/{number}`.
    pub product: String,
}
