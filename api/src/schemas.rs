//! Describe in OpenAPI the JSON of the types the API's bodies hold but that cannot describe
//! themselves: the ledger's and the proof bundles' types must not depend on a web crate, so
//! each body that holds one names a stand-in here instead.
//!
//! [`Hash`], [`PublicKey`], [`Envelope`], [`Header`], [`Payload`], [`TraceCode`], [`CodeKind`]
//! and [`AiValue`] describe the JSON the ledger's serde gives; the enterprise views
//! ([`crate::views`]) add [`Uscc`], [`Date`], [`Gtin`], [`ModelCode`], [`EnterpriseKind`], [`Outcome`],
//! [`ReportRef`] and [`Subject`]; the proof routes add [`ProofBundle`], [`BundleRecord`] and
//! [`ConsistencyBundle`] (the `suyuan_proofs::bundle` types). The API's tests compare them
//! with real values. This module is a leaf: it imports nothing of the crate.

#![allow(
    dead_code,
    reason = "the stand-ins describe JSON; they are never built"
)]

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};
use utoipa::{PartialSchema, ToSchema};

/// A string schema with a description and, where given, a pattern.
fn string(description: &str, pattern: Option<&str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(pattern)
        .into()
}

/// A 32-byte hash in lower-case hex: a transaction id, a block hash, a genesis hash.
pub struct Hash;

impl PartialSchema for Hash {
    fn schema() -> RefOr<Schema> {
        string(
            "32 bytes in lower-case hex: a transaction id, a block or genesis hash",
            Some("^[0-9a-f]{64}$"),
        )
    }
}

impl ToSchema for Hash {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Hash")
    }
}

/// An ed25519 public key in lower-case hex.
pub struct PublicKey;

impl PartialSchema for PublicKey {
    fn schema() -> RefOr<Schema> {
        string(
            "an ed25519 public key, 32 bytes in lower-case hex",
            Some("^[0-9a-f]{64}$"),
        )
    }
}

impl ToSchema for PublicKey {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PublicKey")
    }
}

/// A trace code in its canonical form.
pub struct TraceCode;

impl PartialSchema for TraceCode {
    fn schema() -> RefOr<Schema> {
        string(
            "a trace code in canonical form: 01/{gtin14}/10/{lot}, 01/{gtin14}/21/{serial}, \
             00/{sscc}, ecode:{ecode} or handle:{prefix}/{suffix} (lot and serial \
             percent-encoded); see docs/codes.md",
            None,
        )
    }
}

impl ToSchema for TraceCode {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TraceCode")
    }
}

/// The kinds of code `ledger::codes::inspect::CodeKind` names.
pub const CODE_KINDS: [&str; 12] = [
    "uscc",
    "gtin",
    "gln",
    "sscc",
    "gs1_element_string",
    "gs1_digital_link",
    "epc_urn",
    "ccc_certificate",
    "production_licence",
    "handle",
    "ecode",
    "trace_code",
];

/// The kind of a code.
pub struct CodeKind;

impl PartialSchema for CodeKind {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("the kind of a code; see docs/codes.md"))
            .enum_values(Some(CODE_KINDS))
            .into()
    }
}

impl ToSchema for CodeKind {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("CodeKind")
    }
}

/// What a client signs. Only a name here: the handlers refer to `Payload`, and the document
/// ([`crate::openapi::document`]) puts the ledger's generated schema under that name, with
/// every record kind's fields (`suyuan_ledger::schema`).
pub struct Payload;

impl PartialSchema for Payload {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "what a client signs: {\"nonce\": integer, \"record\": {\"type\": …, …}}",
            ))
            .into()
    }
}

impl ToSchema for Payload {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Payload")
    }
}

/// A signed transaction as it travels (the ledger's `tx::Envelope`).
#[derive(ToSchema)]
pub struct Envelope {
    /// The payload bytes exactly as signed, base64 (standard alphabet, padded); they decode
    /// to a `Payload`.
    #[schema(content_encoding = "base64")]
    payload: String,
    /// Who signed.
    signer: PublicKey,
    /// The ed25519 signature over the chain id and the payload, 64 bytes in lower-case hex.
    #[schema(pattern = "^[0-9a-f]{128}$")]
    signature: String,
}

/// What a block hash covers (the ledger's `block::Header`).
#[derive(ToSchema)]
pub struct Header {
    /// The chain the block belongs to.
    chain_id: String,
    /// 1 for the first block after genesis.
    height: u64,
    /// The consensus view it was proposed in.
    view: u64,
    /// The parent block's hash; the genesis hash for block 1.
    parent: Hash,
    /// The proposer's clock when it built the block, Unix milliseconds.
    time_ms: u64,
    /// The validator that proposed it.
    proposer: PublicKey,
    /// Transactions in the body.
    tx_count: u32,
    /// The hash of the body.
    body_hash: Hash,
    /// Records in the record log once the block is committed.
    log_size: u64,
    /// The record log's root at that size.
    log_root: Hash,
    /// The code map's root once the block is committed.
    map_root: Hash,
}

/// A log inclusion proof (the ledger's `merkle::log::InclusionProof`; docs/proofs.md).
#[derive(ToSchema)]
pub struct InclusionProof {
    /// The leaf's position in the log, from 0.
    leaf_index: u64,
    /// The size of the log the proof is for.
    tree_size: u64,
    /// The sibling hashes, lowest first (at most 64).
    path: Vec<Hash>,
}

/// A log consistency proof (the ledger's `merkle::log::ConsistencyProof`; docs/proofs.md).
#[derive(ToSchema)]
pub struct ConsistencyProof {
    /// The size of the older log.
    old_size: u64,
    /// The size of the newer log.
    new_size: u64,
    /// The hashes, lowest first (at most 64).
    path: Vec<Hash>,
}

/// A code map proof (the ledger's `merkle::map::MapProof`; docs/proofs.md).
#[derive(ToSchema)]
pub struct MapProof {
    /// Sibling hashes from the root's children down (at most 256).
    siblings: Vec<Hash>,
    /// The leaf the key's path ends at, or `null` for an empty subtree.
    leaf: Option<MapLeaf>,
}

/// A code map leaf (the ledger's `merkle::map::MapLeaf`).
#[derive(ToSchema)]
pub struct MapLeaf {
    /// The leaf's key.
    key: Hash,
    /// Its value: a record's log leaf hash.
    value: Hash,
}

/// One GS1 Application Identifier and its value (the ledger's `codes::inspect::AiValue`).
#[derive(ToSchema)]
pub struct AiValue {
    /// The AI, `01`, `10`, `17`, ...
    ai: String,
    /// Its title in GS1's syntax dictionary.
    title: String,
    /// Its value.
    value: String,
}

/// A string schema with a description, a format and, where given, a pattern.
fn formatted_string(description: &str, format: KnownFormat) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .format(Some(SchemaFormat::KnownFormat(format)))
        .into()
}

/// A string schema that takes one of `values`.
fn string_enum(description: &str, values: &[&'static str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values.iter().copied()))
        .into()
}

/// Implements [`ToSchema`] for a stand-in under its own name.
macro_rules! named_schema {
    ($type:ident) => {
        impl ToSchema for $type {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($type))
            }
        }
    };
}

/// A unified social credit code (the ledger's `codes::uscc::Uscc`).
pub struct Uscc;

impl PartialSchema for Uscc {
    fn schema() -> RefOr<Schema> {
        string(
            "a unified social credit code: 18 characters, the last a GB 32100 check character",
            Some("^[0-9A-HJ-NPQRTUWXY]{18}$"),
        )
    }
}

named_schema!(Uscc);

/// A calendar date (the ledger's `text::Date`).
pub struct Date;

impl PartialSchema for Date {
    fn schema() -> RefOr<Schema> {
        formatted_string("a calendar date, YYYY-MM-DD", KnownFormat::Date)
    }
}

named_schema!(Date);

/// A GTIN (the ledger's `codes::gs1::keys::Gtin`).
pub struct Gtin;

impl PartialSchema for Gtin {
    fn schema() -> RefOr<Schema> {
        string(
            "a GTIN as its 14 digits, the last a GS1 check digit",
            Some("^[0-9]{14}$"),
        )
    }
}

named_schema!(Gtin);

/// A product model's code (the ledger's `codes::model::ModelCode`).
pub struct ModelCode;

impl PartialSchema for ModelCode {
    fn schema() -> RefOr<Schema> {
        string(
            "a product model's code in canonical form: a GTIN as its 14 digits, ecode:{code} or \
             handle:{prefix}/{suffix}",
            Some("^([0-9]{14}|ecode:1[0-9]{5,24}|handle:[0-9]+(\\.[0-9]+)+/.+)$"),
        )
    }
}

named_schema!(ModelCode);

/// What an enterprise does (the ledger's `record::EnterpriseKind`).
pub struct EnterpriseKind;

/// The names of the ledger's `record::EnterpriseKind`.
pub const ENTERPRISE_KINDS: [&str; 5] = [
    "manufacturer",
    "importer",
    "distributor",
    "retailer",
    "inspection_body",
];

impl PartialSchema for EnterpriseKind {
    fn schema() -> RefOr<Schema> {
        string_enum("what an enterprise does", &ENTERPRISE_KINDS)
    }
}

named_schema!(EnterpriseKind);

/// An inspection's result (the ledger's `record::Outcome`).
pub struct Outcome;

impl PartialSchema for Outcome {
    fn schema() -> RefOr<Schema> {
        string_enum("an inspection's result", &["conformant", "non_conformant"])
    }
}

named_schema!(Outcome);

/// The kind of a producer's inspection report (the ledger's `record::ReportKind`).
pub struct ReportKind;

impl PartialSchema for ReportKind {
    fn schema() -> RefOr<Schema> {
        string_enum(
            "a type inspection report for the model, or a factory inspection report for the batch",
            &["type_inspection", "factory_inspection"],
        )
    }
}

named_schema!(ReportKind);

/// A reference to an inspection report kept off the ledger (the ledger's `record::ReportRef`).
#[derive(ToSchema)]
pub struct ReportRef {
    /// Which kind of report.
    kind: ReportKind,
    /// The report's number.
    number: String,
    /// Who issued it.
    issued_by: String,
    /// SHA-256 of the report document.
    document_sha256: Hash,
}

/// The ledger's `record::SampledProduct`: an off-ledger product as its sampling report
/// describes it.
fn sampled_product() -> RefOr<Schema> {
    let text = |description: &str| string(description, None);
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("maker", Uscc::schema())
        .property("maker_name", text("the maker's name as on the label"))
        .property("product_name", text("the product's name"))
        .property("model", text("its model or specification"))
        .property("category", text("its catalogue category id"))
        .property("batch", text("the batch or lot as printed, if it is"))
        .property(
            "printed_code",
            text("the code printed on it, as text, if any"),
        )
        .property("sampled_on", Date::schema())
        .property(
            "sampled_in",
            string(
                "the administrative division sampled in (GB/T 2260)",
                Some("^[0-9]{6}$"),
            ),
        )
        .property("place", text("the shop, market or platform"))
        .required("maker")
        .required("maker_name")
        .required("product_name")
        .required("model")
        .required("category")
        .required("sampled_on")
        .required("sampled_in")
        .required("place")
        .into()
}

/// What an inspection or a recall is about (the ledger's `record::Subject`): one code, every
/// item of a model, or (for an inspection) a product sampled off the ledger.
pub struct Subject;

impl PartialSchema for Subject {
    fn schema() -> RefOr<Schema> {
        let one = |name: &str, description: &str, value: RefOr<Schema>| -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some(description))
                .property(name, value)
                .required(name)
                .into()
        };
        utoipa::openapi::schema::OneOfBuilder::new()
            .item(one(
                "code",
                "one batch, item or logistic unit",
                TraceCode::schema(),
            ))
            .item(one(
                "model",
                "every item of a model, by its model code",
                ModelCode::schema(),
            ))
            .item(one(
                "sampled",
                "a product sampled on the market that is not on the ledger (inspections only)",
                sampled_product(),
            ))
            .into()
    }
}

named_schema!(Subject);

/// Proves, as of one finalized block, which record is the latest about a code, or that none
/// names it (`suyuan_proofs::bundle::ProofBundle`; docs/proofs.md).
#[derive(ToSchema)]
pub struct ProofBundle {
    /// `suyuan-proof-bundle/1`.
    format: String,
    /// The chain, as the genesis file names it.
    chain_id: String,
    /// The genesis file's hash.
    genesis_hash: Hash,
    /// The code, in canonical form.
    code: TraceCode,
    /// The code's key in the code map: BLAKE3 of the canonical form.
    map_key: Hash,
    /// The latest record naming the code as of `header`, or `null` when no record names it.
    record: Option<BundleRecord>,
    /// What the code map holds for the code: the record's log leaf, or nothing.
    map_proof: MapProof,
    /// The finalized block the proof is as of, with the roots both proofs are checked against.
    header: Header,
    /// The block's justification exactly as stored, in hex: a finalization certificate of the
    /// header, then the nullifications of the views it skipped.
    justification: String,
}

/// The record a bundle claims is the latest about its code
/// (`suyuan_proofs::bundle::BundleRecord`).
#[derive(ToSchema)]
pub struct BundleRecord {
    /// The transaction id: recomputed from the envelope by a verifier, never trusted.
    tx_id: Hash,
    /// The height of the block that committed it, as the node reports it (not proven: the
    /// inclusion proof proves its position in the log).
    height: u64,
    /// Its index in that block, as the node reports it (not proven).
    index: u32,
    /// The signed envelope exactly as committed.
    envelope: Envelope,
    /// Its inclusion in the record log at the header's size; `leaf_index` is its log position.
    inclusion: InclusionProof,
}

/// Proves that the record log of a newer finalized block extends the log of an older one
/// (`suyuan_proofs::bundle::ConsistencyBundle`).
#[derive(ToSchema)]
pub struct ConsistencyBundle {
    /// `suyuan-consistency-proof/1`.
    format: String,
    /// The chain, as the genesis file names it.
    chain_id: String,
    /// The genesis file's hash.
    genesis_hash: Hash,
    /// The older block's height, as asked.
    from_height: u64,
    /// The newer finalized block.
    header: Header,
    /// Its justification exactly as stored, in hex.
    justification: String,
    /// The log consistency proof from the older block's log size to the newer one's; `null`
    /// when the older log is empty (every log extends it).
    proof: Option<ConsistencyProof>,
}
