//! Hold the ledger's current state behind a narrow trait, with an in-memory implementation.
//!
//! Execution reads state through [`StateRead::get`] and produces a [`WriteSet`]; it never writes
//! in place. Storage implements `StateRead` over RocksDB and commits a block's write set in the
//! same atomic batch as the block; [`MemState`] implements it over a `BTreeMap` for tests and
//! tools. [`Overlay`] layers uncommitted writes over any `StateRead`, so that a block's later
//! transactions see its earlier ones.
//!
//! Keys and values have one byte encoding each ([`StateKey::to_bytes`],
//! [`StateValue::to_bytes`]), which storage persists.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalogue::CategoryId;
use crate::codes::gs1::keys::Gln;
use crate::codes::model::ModelCode;
use crate::codes::prefix::IdPrefix;
use crate::codes::uscc::Uscc;
use crate::crypto::PublicKey;
use crate::facts::{CodeFacts, EnterpriseFacts, Listed, Listing, ModelFacts};
use crate::hash::Hash32;
use crate::record::{
    EnterpriseProfile, Outcome, ProductModel, SampledProduct, ShipmentLine, Subject, TraceCode,
    UnitCode,
};
use crate::text::Date;
use crate::tx::TxId;

/// Names one state entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StateKey {
    /// An enrolled enterprise.
    Enterprise(Uscc),
    /// A key bound to an enterprise.
    Key(PublicKey),
    /// A registered product model.
    Model(ModelCode),
    /// A commissioned code.
    Code(TraceCode),
    /// How many units of a code an enterprise holds.
    Holding(TraceCode, Uscc),
    /// A recall, by its transaction id.
    Recall(TxId),
    /// The open recall that covers a subject, if any.
    OpenRecall(Subject),
    /// A transaction already on the chain (replay protection).
    Tx(TxId),
    /// The `n`-th amendment of an enterprise (its enrolment is the first, `n` = 0).
    Amendment(Uscc, u32),
    /// What an enterprise's whole history shows ([`crate::facts`]).
    EnterpriseFacts(Uscc),
    /// What the records naming a model show, for its producer's figures.
    ModelFacts(ModelCode),
    /// What the records naming a commissioned code show.
    CodeFacts(TraceCode),
    /// Entry `n` (from 0, in order of execution) of one of an enterprise's listings.
    Listed(Uscc, Listing, u64),
    /// An identifier prefix and who holds it.
    Prefix(IdPrefix),
    /// How many held prefixes lie strictly under a prefix, so that a prefix covering one
    /// another enterprise holds is refused without a scan.
    PrefixesUnder(IdPrefix),
    /// A commitment to a private buyer's data, once a sale has used it: a second sale with it
    /// is refused, since a reused commitment links the buyer's purchases.
    BuyerCommitment(Hash32),
    /// A packed logistic unit, until it is unpacked.
    Unit(UnitCode),
    /// How many units of a code an enterprise holds inside logistic units: part of its
    /// [`StateKey::Holding`], which moves only with the units.
    Packed(TraceCode, Uscc),
    /// How many units of a code (or whether a unit, counted 1) a logistic unit holds directly.
    Contained(TraceCode, UnitCode),
    /// How many market samplings of products not on the ledger were recorded.
    OffLedgerSamplings,
    /// The `n`-th (from 0, in order of execution) market sampling of a product not on the
    /// ledger.
    OffLedgerSampling(u64),
    /// Another code a commissioned batch or item carries, linked to it by a `link_codes`.
    Alias(TraceCode),
    /// An EPCIS event id a party has used, by [`crate::event::event_key`] of the party and the id: an
    /// event is recorded once.
    Event(Hash32),
    /// A party GLN an enterprise's profile names: one enterprise's at a time.
    Gln(Gln),
}

/// The value of one state entry; its variant always matches its key's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateValue {
    /// For [`StateKey::Enterprise`].
    Enterprise(EnterpriseState),
    /// For [`StateKey::Key`].
    Key(KeyBinding),
    /// For [`StateKey::Model`].
    Model(ModelState),
    /// For [`StateKey::Code`].
    Code(CodeState),
    /// For [`StateKey::Holding`]: units held.
    Holding(u64),
    /// For [`StateKey::Recall`].
    Recall(RecallState),
    /// For [`StateKey::OpenRecall`]: the recall's id.
    OpenRecall(TxId),
    /// For [`StateKey::Tx`]: where it was committed.
    Tx(TxLocation),
    /// For [`StateKey::Amendment`].
    Amendment(Amendment),
    /// For [`StateKey::EnterpriseFacts`].
    EnterpriseFacts(EnterpriseFacts),
    /// For [`StateKey::ModelFacts`].
    ModelFacts(ModelFacts),
    /// For [`StateKey::CodeFacts`].
    CodeFacts(CodeFacts),
    /// For [`StateKey::Listed`].
    Listed(Listed),
    /// For [`StateKey::Prefix`].
    Prefix(PrefixState),
    /// For [`StateKey::PrefixesUnder`]: the count, never zero (a zero count is deleted).
    PrefixesUnder(u32),
    /// For [`StateKey::BuyerCommitment`]: the sale that used it.
    BuyerCommitment(TxId),
    /// For [`StateKey::Event`]: the transaction that recorded the event.
    Event(TxId),
    /// For [`StateKey::Gln`]: the enterprise whose profile names it.
    Gln(Uscc),
    /// For [`StateKey::Unit`].
    Unit(UnitState),
    /// For [`StateKey::Packed`]: units packed, never zero (a zero count is deleted).
    Packed(u64),
    /// For [`StateKey::Contained`]: units inside, never zero.
    Contained(u64),
    /// For [`StateKey::OffLedgerSamplings`]: the count.
    OffLedgerSamplings(u64),
    /// For [`StateKey::OffLedgerSampling`].
    OffLedgerSampling(SamplingEntry),
    /// For [`StateKey::Alias`]: the code as commissioned.
    Alias(TraceCode),
}

/// A market sampling of a product not on the ledger: enough to filter a listing without
/// reading the inspection itself, which is the transaction `tx`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamplingEntry {
    /// The inspection transaction.
    pub tx: TxId,
    /// The maker the sampled product names.
    pub maker: Uscc,
    /// The product's catalogue category.
    pub category: CategoryId,
    /// The inspection's result.
    pub outcome: Outcome,
    /// The date of inspection.
    pub inspected_on: Date,
}

/// An enrolled enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseState {
    /// Its current profile.
    pub profile: EnterpriseProfile,
    /// The registrar that enrolled it.
    pub registered_by: PublicKey,
    /// Height of enrolment.
    pub registered_at_height: u64,
    /// Every key ever bound to it, in binding order; [`KeyBinding`] says which are active.
    pub keys: Vec<PublicKey>,
    /// The registrar it was transferred to, if a transfer moved it from `registered_by`; see
    /// [`EnterpriseState::registrar`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transferred_to: Option<PublicKey>,
    /// A transfer its registrar offered and the other registrar has not yet accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_transfer: Option<PendingTransfer>,
    /// How many amendments it has had, its enrolment included: entries
    /// `StateKey::Amendment(uscc, 0 .. amendments)`.
    #[serde(default)]
    pub amendments: u32,
    /// The identifier prefixes it holds, in order of attestation: it registers and commissions
    /// codes under these only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<IdPrefix>,
}

/// Who holds an identifier prefix, on whose word, and whether it is being handed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixState {
    /// The enterprise that holds it.
    pub holder: Uscc,
    /// The registrar or regulator that attested it to the holder.
    pub attested_by: PublicKey,
    /// The attestation (or the acceptance of the transfer that gave it to the holder).
    pub attested_in: TxId,
    /// The enterprise the holder offered it to, until that enterprise's registrar accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_to: Option<Uscc>,
}

impl EnterpriseState {
    /// The registrar that answers for it now: the one it was last transferred to, else the one
    /// that enrolled it. Only this registrar (or a regulator) amends it.
    pub fn registrar(&self) -> PublicKey {
        self.transferred_to.unwrap_or(self.registered_by)
    }

    /// The prefix it holds that `covers` accepts, if any.
    pub fn held_prefix(&self, covers: impl Fn(&IdPrefix) -> bool) -> Option<&IdPrefix> {
        self.prefixes.iter().find(|prefix| covers(prefix))
    }
}

/// A transfer between registrars, offered and not yet accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTransfer {
    /// The registrar that offered it (the enterprise's registrar when it did).
    pub from: PublicKey,
    /// The registrar offered it.
    pub to: PublicKey,
    /// Height of the offer.
    pub offered_at_height: u64,
}

/// What an amendment changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmendmentKind {
    /// `register_enterprise`: the enrolment.
    Enrolment,
    /// `update_enterprise`: the profile replaced.
    Profile,
    /// `bind_key`.
    BindKey,
    /// `rotate_key`.
    RotateKey,
    /// `revoke_key`.
    RevokeKey,
    /// `offer_transfer`.
    TransferOffered,
    /// `accept_transfer`: the registrar changed.
    TransferAccepted,
    /// `withdraw_transfer`.
    TransferWithdrawn,
    /// `attest_prefix`: a prefix attested to it, fresh or handed over by its holder.
    PrefixAttested,
    /// `transfer_prefix`: it offered one of its prefixes to another enterprise.
    PrefixOffered,
    /// `attest_prefix` with `from`: a prefix it offered went to the other enterprise.
    PrefixHandedOver,
    /// `revoke_prefix`: a prefix it held was revoked or given up.
    PrefixRevoked,
}

/// One amendment of an enterprise: what, by whom, where. The record itself is the transaction
/// at `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amendment {
    /// What it changed.
    pub kind: AmendmentKind,
    /// Who signed it: a registrar, a regulator or one of the enterprise's keys.
    pub by: PublicKey,
    /// The transaction.
    pub tx: TxId,
    /// Where the transaction was committed.
    pub at: TxLocation,
}

/// Whether a bound key may still sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// It may sign.
    Active,
    /// It signs nothing more.
    Revoked {
        /// Height of revocation.
        at_height: u64,
    },
}

/// A key's owner and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyBinding {
    /// The enterprise it belongs to.
    pub uscc: Uscc,
    /// Height it was bound at.
    pub bound_at_height: u64,
    /// Active or revoked.
    pub status: KeyStatus,
}

/// A registered product model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelState {
    /// The model as last registered.
    pub model: ProductModel,
    /// Height of its latest registration.
    pub registered_at_height: u64,
}

/// A commissioned code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeState {
    /// The model it is an instance of (`gtin` in storage, where a GTIN model's code reads as
    /// its bare GTIN).
    #[serde(rename = "gtin")]
    pub model_code: ModelCode,
    /// The producer that commissioned it.
    pub producer: Uscc,
    /// Units commissioned under it.
    pub quantity: u64,
    /// The commissioning transaction.
    pub commissioned_by: TxId,
    /// The batch a serialised item belongs to, if its commissioning named one: a recall or
    /// inspection of the batch covers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<TraceCode>,
    /// The other codes it carries, linked by `link_codes`, in the order linked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<TraceCode>,
}

impl CodeState {
    /// The recall and inspection subjects that cover `code`, whose state this is: the code
    /// itself, its model, and the batch it belongs to if it names one.
    pub fn subjects(&self, code: &TraceCode) -> impl Iterator<Item = Subject> + use<> {
        [
            Subject::Code(code.clone()),
            Subject::Model(self.model_code.clone()),
        ]
        .into_iter()
        .chain(self.batch.clone().map(Subject::Code))
    }

    /// Whether a recall or inspection of `subject` covers `code`, whose state this is.
    pub fn covered_by(&self, code: &TraceCode, subject: &Subject) -> bool {
        match subject {
            Subject::Code(named) => named == code || Some(named) == self.batch.as_ref(),
            Subject::Model(model_code) => model_code == &self.model_code,
            Subject::Sampled(_) => false,
        }
    }
}

/// A packed logistic unit.
///
/// Its product contents stay in their holder's [`StateKey::Holding`], counted also in its
/// [`StateKey::Packed`]: they move with the unit and with nothing else. A unit inside another
/// names it as `parent` and moves with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitState {
    /// The enterprise that packed it.
    pub packer: Uscc,
    /// The enterprise that holds it now (and its contents).
    pub holder: Uscc,
    /// What it holds directly: product codes with units, and units (quantity 1).
    pub contents: Vec<ShipmentLine>,
    /// The unit it is packed in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<UnitCode>,
    /// Levels of packing it makes: 1 for a unit of products only, one more than its deepest
    /// inner unit otherwise; at most [`crate::limits::MAX_PACKING_DEPTH`].
    pub depth: u8,
    /// Product lines inside it, its inner units' included; at most
    /// [`crate::limits::MAX_UNIT_LINES`].
    pub lines: u64,
    /// The packing transaction.
    pub packed_by: TxId,
}

/// Who issued a recall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Issuer {
    /// A regulator, by key.
    Regulator(PublicKey),
    /// The producer itself.
    Enterprise(Uscc),
}

/// A recall and whether it is still open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecallState {
    /// Whose products.
    pub producer: Uscc,
    /// What it covers.
    pub subjects: Vec<Subject>,
    /// Who issued it.
    pub issuer: Issuer,
    /// Height it was issued at.
    pub issued_at_height: u64,
    /// The closing transaction, once closed.
    pub closed_by: Option<TxId>,
}

/// Where a transaction sits in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Index within the block.
    pub index: u32,
}

/// Why state could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// A stored value does not decode, or does not match its key.
    #[error("state entry {key} is corrupt: {reason}")]
    Corrupt {
        /// The key, printed.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The backing store failed.
    #[error("state backend failed: {0}")]
    Backend(String),
}

/// Changes a block makes: `None` deletes the entry. Ordered, so applying it is deterministic.
pub type WriteSet = BTreeMap<StateKey, Option<StateValue>>;

/// Reads state entries.
pub trait StateRead {
    /// The entry under `key`, if any.
    fn get(&self, key: &StateKey) -> Result<Option<StateValue>, StateError>;
}

/// Tags of [`StateKey::to_bytes`]; they fix the order of key families in storage.
mod tag {
    pub(super) const ENTERPRISE: u8 = 1;
    pub(super) const KEY: u8 = 2;
    pub(super) const MODEL: u8 = 3;
    pub(super) const CODE: u8 = 4;
    pub(super) const HOLDING: u8 = 5;
    pub(super) const RECALL: u8 = 6;
    pub(super) const OPEN_RECALL: u8 = 7;
    pub(super) const TX: u8 = 8;
    pub(super) const AMENDMENT: u8 = 9;
    pub(super) const ENTERPRISE_FACTS: u8 = 10;
    pub(super) const MODEL_FACTS: u8 = 11;
    pub(super) const CODE_FACTS: u8 = 12;
    pub(super) const LISTED: u8 = 13;
    pub(super) const PREFIX: u8 = 14;
    pub(super) const PREFIXES_UNDER: u8 = 15;
    pub(super) const BUYER_COMMITMENT: u8 = 16;
    pub(super) const UNIT: u8 = 17;
    pub(super) const PACKED: u8 = 18;
    pub(super) const CONTAINED: u8 = 19;
    pub(super) const OFF_LEDGER_SAMPLINGS: u8 = 20;
    pub(super) const OFF_LEDGER_SAMPLING: u8 = 21;
    pub(super) const ALIAS: u8 = 22;
    pub(super) const EVENT: u8 = 23;
    pub(super) const GLN: u8 = 24;
}

impl StateKey {
    /// The first byte of every [`StateKey::Enterprise`] key's [`StateKey::to_bytes`]: a scan of
    /// the keys that start with it lists the enrolled enterprises, in USCC order.
    pub const ENTERPRISE_PREFIX: u8 = tag::ENTERPRISE;

    /// The first byte of every [`StateKey::OpenRecall`] key's [`StateKey::to_bytes`]: a scan of
    /// the keys that start with it lists every open recall, one entry per subject.
    pub const OPEN_RECALL_PREFIX: u8 = tag::OPEN_RECALL;

    /// What every [`StateKey::Holding`] key of `code` starts with: a scan of the keys that
    /// start with it lists the code's holders, in USCC order.
    pub fn holding_prefix(code: &TraceCode) -> Vec<u8> {
        let mut out = vec![tag::HOLDING];
        out.extend_from_slice(code.to_string().as_bytes());
        out.push(0);
        out
    }

    /// What every [`StateKey::Contained`] key of `code` starts with: a scan of the keys that
    /// start with it lists the logistic units `code` is packed in, in unit order.
    pub fn contained_prefix(code: &TraceCode) -> Vec<u8> {
        let mut out = vec![tag::CONTAINED];
        out.extend_from_slice(code.to_string().as_bytes());
        out.push(0);
        out
    }

    /// The storage form: a tag byte, then the key's canonical text or bytes. Holding, packed
    /// and contained keys put a NUL between code and USCC or unit; neither can contain one. Listed keys put the USCC, a NUL, the
    /// listing's byte and the entry's number in 8 big-endian bytes, so that an enterprise's
    /// entries of one listing sort by number.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48);
        match self {
            StateKey::Enterprise(uscc) => {
                out.push(tag::ENTERPRISE);
                out.extend_from_slice(uscc.to_string().as_bytes());
            }
            StateKey::Key(key) => {
                out.push(tag::KEY);
                out.extend_from_slice(key.as_bytes());
            }
            StateKey::Model(model_code) => {
                out.push(tag::MODEL);
                out.extend_from_slice(model_code.to_string().as_bytes());
            }
            StateKey::Code(code) => {
                out.push(tag::CODE);
                out.extend_from_slice(code.to_string().as_bytes());
            }
            StateKey::Holding(code, uscc) => {
                out.push(tag::HOLDING);
                out.extend_from_slice(code.to_string().as_bytes());
                out.push(0);
                out.extend_from_slice(uscc.to_string().as_bytes());
            }
            StateKey::Recall(id) => {
                out.push(tag::RECALL);
                out.extend_from_slice(id.as_bytes());
            }
            StateKey::OpenRecall(subject) => {
                out.push(tag::OPEN_RECALL);
                match subject {
                    Subject::Code(code) => out.extend_from_slice(code.to_string().as_bytes()),
                    Subject::Model(model_code) => {
                        out.extend_from_slice(b"model:");
                        out.extend_from_slice(model_code.to_string().as_bytes());
                    }
                    // Never stored (a sampled product cannot be recalled), but the form is
                    // total: its JSON, which no code's or GTIN's text can start like.
                    Subject::Sampled(product) => {
                        out.extend_from_slice(b"sampled:");
                        out.extend_from_slice(
                            &serde_json::to_vec(product).expect("a sampled product has no maps"),
                        );
                    }
                }
            }
            StateKey::Tx(id) => {
                out.push(tag::TX);
                out.extend_from_slice(id.as_bytes());
            }
            StateKey::Amendment(uscc, n) => {
                // A USCC is 18 ASCII characters, so the index's big-endian bytes follow at a
                // fixed offset and an enterprise's amendments are stored in order.
                out.push(tag::AMENDMENT);
                out.extend_from_slice(uscc.to_string().as_bytes());
                out.extend_from_slice(&n.to_be_bytes());
            }
            StateKey::EnterpriseFacts(uscc) => {
                out.push(tag::ENTERPRISE_FACTS);
                out.extend_from_slice(uscc.to_string().as_bytes());
            }
            StateKey::ModelFacts(model_code) => {
                out.push(tag::MODEL_FACTS);
                out.extend_from_slice(model_code.to_string().as_bytes());
            }
            StateKey::CodeFacts(code) => {
                out.push(tag::CODE_FACTS);
                out.extend_from_slice(code.to_string().as_bytes());
            }
            StateKey::Listed(uscc, listing, number) => {
                out.push(tag::LISTED);
                out.extend_from_slice(uscc.to_string().as_bytes());
                out.push(0);
                out.push(listing.byte());
                out.extend_from_slice(&number.to_be_bytes());
            }
            StateKey::Prefix(prefix) => {
                out.push(tag::PREFIX);
                out.extend_from_slice(prefix.to_string().as_bytes());
            }
            StateKey::PrefixesUnder(prefix) => {
                out.push(tag::PREFIXES_UNDER);
                out.extend_from_slice(prefix.to_string().as_bytes());
            }
            StateKey::BuyerCommitment(commitment) => {
                out.push(tag::BUYER_COMMITMENT);
                out.extend_from_slice(&commitment.0);
            }
            StateKey::Event(event) => {
                out.push(tag::EVENT);
                out.extend_from_slice(&event.0);
            }
            StateKey::Gln(gln) => {
                out.push(tag::GLN);
                out.extend_from_slice(gln.as_str().as_bytes());
            }
            StateKey::Unit(unit) => {
                out.push(tag::UNIT);
                out.extend_from_slice(unit.to_string().as_bytes());
            }
            StateKey::Packed(code, uscc) => {
                out.push(tag::PACKED);
                out.extend_from_slice(code.to_string().as_bytes());
                out.push(0);
                out.extend_from_slice(uscc.to_string().as_bytes());
            }
            StateKey::Contained(code, unit) => {
                out.push(tag::CONTAINED);
                out.extend_from_slice(code.to_string().as_bytes());
                out.push(0);
                out.extend_from_slice(unit.to_string().as_bytes());
            }
            StateKey::OffLedgerSamplings => out.push(tag::OFF_LEDGER_SAMPLINGS),
            StateKey::OffLedgerSampling(n) => {
                // Big-endian, so that the samplings are stored in order.
                out.push(tag::OFF_LEDGER_SAMPLING);
                out.extend_from_slice(&n.to_be_bytes());
            }
            StateKey::Alias(code) => {
                out.push(tag::ALIAS);
                out.extend_from_slice(code.to_string().as_bytes());
            }
        }
        out
    }
}

impl StateKey {
    /// Decodes [`StateKey::to_bytes`], for tools that scan a store's state.
    pub fn from_bytes(bytes: &[u8]) -> Result<StateKey, StateError> {
        let corrupt = |reason: &str| StateError::Corrupt {
            key: hex::encode(bytes),
            reason: reason.to_owned(),
        };
        let (&tag, rest) = bytes.split_first().ok_or_else(|| corrupt("empty key"))?;
        let text = || std::str::from_utf8(rest).map_err(|_| corrupt("key text is not UTF-8"));
        let hash = || {
            <[u8; 32]>::try_from(rest)
                .map(Hash32)
                .map_err(|_| corrupt("expected 32 bytes"))
        };
        let parsed = |result: Result<StateKey, String>| result.map_err(|reason| corrupt(&reason));
        let to_string = |error: &dyn std::fmt::Display| error.to_string();
        match tag {
            tag::ENTERPRISE => parsed(
                text()?
                    .parse()
                    .map(StateKey::Enterprise)
                    .map_err(|e| to_string(&e)),
            ),
            tag::KEY => {
                let bytes = <[u8; 32]>::try_from(rest).map_err(|_| corrupt("expected 32 bytes"))?;
                parsed(
                    PublicKey::from_bytes(bytes)
                        .map(StateKey::Key)
                        .map_err(|e| to_string(&e)),
                )
            }
            tag::MODEL => parsed(
                text()?
                    .parse()
                    .map(StateKey::Model)
                    .map_err(|e| to_string(&e)),
            ),
            tag::CODE => parsed(
                text()?
                    .parse()
                    .map(StateKey::Code)
                    .map_err(|e| to_string(&e)),
            ),
            tag::HOLDING | tag::PACKED | tag::CONTAINED => {
                let (code, other) = text()?
                    .split_once('\0')
                    .ok_or_else(|| corrupt("key without separator"))?;
                let code = code.parse().map_err(|e| corrupt(&to_string(&e)))?;
                let wrong = |e: &dyn std::fmt::Display| corrupt(&to_string(e));
                Ok(match tag {
                    tag::HOLDING => StateKey::Holding(code, other.parse().map_err(|e| wrong(&e))?),
                    tag::PACKED => StateKey::Packed(code, other.parse().map_err(|e| wrong(&e))?),
                    _ => StateKey::Contained(code, other.parse().map_err(|e| wrong(&e))?),
                })
            }
            tag::RECALL => Ok(StateKey::Recall(hash()?)),
            tag::OPEN_RECALL => {
                let text = text()?;
                let subject = if let Some(model) = text.strip_prefix("model:") {
                    model.parse().map(Subject::Model).map_err(|e| to_string(&e))
                } else if let Some(json) = text.strip_prefix("sampled:") {
                    serde_json::from_str::<SampledProduct>(json)
                        .map(|product| Subject::Sampled(Box::new(product)))
                        .map_err(|e| to_string(&e))
                } else {
                    text.parse().map(Subject::Code).map_err(|e| to_string(&e))
                };
                parsed(subject.map(StateKey::OpenRecall))
            }
            tag::TX => Ok(StateKey::Tx(hash()?)),
            tag::AMENDMENT => {
                let split = rest
                    .len()
                    .checked_sub(4)
                    .ok_or_else(|| corrupt("amendment key too short"))?;
                let (uscc, n) = rest.split_at(split);
                let uscc = std::str::from_utf8(uscc)
                    .map_err(|_| corrupt("key text is not UTF-8"))?
                    .parse()
                    .map_err(|e| corrupt(&to_string(&e)))?;
                let n = u32::from_be_bytes(n.try_into().expect("split four bytes from the end"));
                Ok(StateKey::Amendment(uscc, n))
            }
            tag::ENTERPRISE_FACTS => parsed(
                text()?
                    .parse()
                    .map(StateKey::EnterpriseFacts)
                    .map_err(|e| to_string(&e)),
            ),
            tag::MODEL_FACTS => parsed(
                text()?
                    .parse()
                    .map(StateKey::ModelFacts)
                    .map_err(|e| to_string(&e)),
            ),
            tag::CODE_FACTS => parsed(
                text()?
                    .parse()
                    .map(StateKey::CodeFacts)
                    .map_err(|e| to_string(&e)),
            ),
            tag::LISTED => {
                let separator = rest
                    .iter()
                    .position(|&byte| byte == 0)
                    .ok_or_else(|| corrupt("listed key without separator"))?;
                let (uscc, tail) = (&rest[..separator], &rest[separator + 1..]);
                let uscc = std::str::from_utf8(uscc)
                    .map_err(|_| corrupt("key text is not UTF-8"))?
                    .parse()
                    .map_err(|e| corrupt(&to_string(&e)))?;
                let (&listing, number) = tail
                    .split_first()
                    .ok_or_else(|| corrupt("listed key without listing"))?;
                let listing =
                    Listing::from_byte(listing).ok_or_else(|| corrupt("unknown listing"))?;
                let number = <[u8; 8]>::try_from(number)
                    .map(u64::from_be_bytes)
                    .map_err(|_| corrupt("expected an 8-byte entry number"))?;
                Ok(StateKey::Listed(uscc, listing, number))
            }
            tag::PREFIX => parsed(
                text()?
                    .parse()
                    .map(StateKey::Prefix)
                    .map_err(|e| to_string(&e)),
            ),
            tag::PREFIXES_UNDER => parsed(
                text()?
                    .parse()
                    .map(StateKey::PrefixesUnder)
                    .map_err(|e| to_string(&e)),
            ),
            tag::BUYER_COMMITMENT => Ok(StateKey::BuyerCommitment(hash()?)),
            tag::EVENT => Ok(StateKey::Event(hash()?)),
            tag::GLN => parsed(
                text()?
                    .parse()
                    .map(StateKey::Gln)
                    .map_err(|e| to_string(&e)),
            ),
            tag::OFF_LEDGER_SAMPLINGS if rest.is_empty() => Ok(StateKey::OffLedgerSamplings),
            tag::OFF_LEDGER_SAMPLINGS => Err(corrupt("the samplings count key has no body")),
            tag::OFF_LEDGER_SAMPLING => <[u8; 8]>::try_from(rest)
                .map(|n| StateKey::OffLedgerSampling(u64::from_be_bytes(n)))
                .map_err(|_| corrupt("expected an 8-byte sampling number")),
            tag::UNIT => parsed(
                text()?
                    .parse()
                    .map(StateKey::Unit)
                    .map_err(|e| to_string(&e)),
            ),
            tag::ALIAS => parsed(
                text()?
                    .parse()
                    .map(StateKey::Alias)
                    .map_err(|e| to_string(&e)),
            ),
            _ => Err(corrupt("unknown key tag")),
        }
    }
}

impl std::fmt::Display for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateKey::Enterprise(uscc) => write!(f, "enterprise {uscc}"),
            StateKey::Key(key) => write!(f, "key {key}"),
            StateKey::Model(code) => write!(f, "model {code}"),
            StateKey::Code(code) => write!(f, "code {code}"),
            StateKey::Holding(code, uscc) => write!(f, "holding of {code} by {uscc}"),
            StateKey::Recall(id) => write!(f, "recall {id}"),
            StateKey::OpenRecall(subject) => write!(f, "open recall of {subject:?}"),
            StateKey::Tx(id) => write!(f, "transaction {id}"),
            StateKey::Amendment(uscc, n) => write!(f, "amendment {n} of enterprise {uscc}"),
            StateKey::EnterpriseFacts(uscc) => write!(f, "facts of enterprise {uscc}"),
            StateKey::ModelFacts(code) => write!(f, "facts of model {code}"),
            StateKey::CodeFacts(code) => write!(f, "facts of code {code}"),
            StateKey::Listed(uscc, listing, number) => {
                write!(f, "entry {number} of {uscc}'s {listing:?} listing")
            }
            StateKey::Prefix(prefix) => write!(f, "prefix {prefix}"),
            StateKey::PrefixesUnder(prefix) => write!(f, "prefixes held under {prefix}"),
            StateKey::BuyerCommitment(commitment) => write!(f, "buyer commitment {commitment}"),
            StateKey::Event(event) => write!(f, "EPCIS event {event}"),
            StateKey::Gln(gln) => write!(f, "party GLN {gln}"),
            StateKey::Unit(unit) => write!(f, "logistic unit {unit}"),
            StateKey::Packed(code, uscc) => write!(f, "packed units of {code} held by {uscc}"),
            StateKey::Contained(code, unit) => write!(f, "units of {code} inside {unit}"),
            StateKey::OffLedgerSamplings => write!(f, "count of off-ledger samplings"),
            StateKey::OffLedgerSampling(n) => write!(f, "off-ledger sampling {n}"),
            StateKey::Alias(code) => write!(f, "alias {code}"),
        }
    }
}

impl StateValue {
    /// The storage form (JSON: stable field order, no floats, no maps).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("state values hold no maps with non-string keys")
    }

    /// Decodes a stored value for `key`, checking that its variant matches the key's.
    pub fn from_bytes(key: &StateKey, bytes: &[u8]) -> Result<StateValue, StateError> {
        let corrupt = |reason: String| StateError::Corrupt {
            key: key.to_string(),
            reason,
        };
        let value: StateValue =
            serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        if !value.matches(key) {
            return Err(corrupt("value kind does not match the key".into()));
        }
        Ok(value)
    }

    fn matches(&self, key: &StateKey) -> bool {
        matches!(
            (key, self),
            (StateKey::Enterprise(_), StateValue::Enterprise(_))
                | (StateKey::Key(_), StateValue::Key(_))
                | (StateKey::Model(_), StateValue::Model(_))
                | (StateKey::Code(_), StateValue::Code(_))
                | (StateKey::Holding(..), StateValue::Holding(_))
                | (StateKey::Recall(_), StateValue::Recall(_))
                | (StateKey::OpenRecall(_), StateValue::OpenRecall(_))
                | (StateKey::Tx(_), StateValue::Tx(_))
                | (StateKey::Amendment(..), StateValue::Amendment(_))
                | (StateKey::EnterpriseFacts(_), StateValue::EnterpriseFacts(_))
                | (StateKey::ModelFacts(_), StateValue::ModelFacts(_))
                | (StateKey::CodeFacts(_), StateValue::CodeFacts(_))
                | (StateKey::Listed(..), StateValue::Listed(_))
                | (StateKey::Prefix(_), StateValue::Prefix(_))
                | (StateKey::PrefixesUnder(_), StateValue::PrefixesUnder(_))
                | (StateKey::BuyerCommitment(_), StateValue::BuyerCommitment(_))
                | (StateKey::Event(_), StateValue::Event(_))
                | (StateKey::Gln(_), StateValue::Gln(_))
                | (StateKey::Unit(_), StateValue::Unit(_))
                | (StateKey::Packed(..), StateValue::Packed(_))
                | (StateKey::Contained(..), StateValue::Contained(_))
                | (
                    StateKey::OffLedgerSamplings,
                    StateValue::OffLedgerSamplings(_)
                )
                | (
                    StateKey::OffLedgerSampling(_),
                    StateValue::OffLedgerSampling(_)
                )
                | (StateKey::Alias(_), StateValue::Alias(_))
        )
    }
}

/// Typed reads over any [`StateRead`]; a value of the wrong kind is reported as corruption.
pub trait StateReadExt: StateRead {
    /// An enrolled enterprise.
    fn enterprise(&self, uscc: &Uscc) -> Result<Option<EnterpriseState>, StateError> {
        match self.get(&StateKey::Enterprise(uscc.clone()))? {
            Some(StateValue::Enterprise(state)) => Ok(Some(state)),
            other => unexpected(&StateKey::Enterprise(uscc.clone()), other),
        }
    }

    /// A key's binding.
    fn key_binding(&self, key: &PublicKey) -> Result<Option<KeyBinding>, StateError> {
        match self.get(&StateKey::Key(*key))? {
            Some(StateValue::Key(binding)) => Ok(Some(binding)),
            other => unexpected(&StateKey::Key(*key), other),
        }
    }

    /// A product model.
    fn model(&self, model_code: &ModelCode) -> Result<Option<ModelState>, StateError> {
        match self.get(&StateKey::Model(model_code.clone()))? {
            Some(StateValue::Model(state)) => Ok(Some(state)),
            other => unexpected(&StateKey::Model(model_code.clone()), other),
        }
    }

    /// A commissioned code.
    fn code(&self, code: &TraceCode) -> Result<Option<CodeState>, StateError> {
        match self.get(&StateKey::Code(code.clone()))? {
            Some(StateValue::Code(state)) => Ok(Some(state)),
            other => unexpected(&StateKey::Code(code.clone()), other),
        }
    }

    /// Units of `code` that `holder` holds.
    fn holding(&self, code: &TraceCode, holder: &Uscc) -> Result<u64, StateError> {
        let key = StateKey::Holding(code.clone(), holder.clone());
        match self.get(&key)? {
            Some(StateValue::Holding(units)) => Ok(units),
            None => Ok(0),
            other => unexpected(&key, other).map(|_: Option<()>| 0),
        }
    }

    /// A recall.
    fn recall(&self, id: &TxId) -> Result<Option<RecallState>, StateError> {
        match self.get(&StateKey::Recall(*id))? {
            Some(StateValue::Recall(state)) => Ok(Some(state)),
            other => unexpected(&StateKey::Recall(*id), other),
        }
    }

    /// How many market samplings of off-ledger products were recorded.
    fn off_ledger_samplings(&self) -> Result<u64, StateError> {
        match self.get(&StateKey::OffLedgerSamplings)? {
            Some(StateValue::OffLedgerSamplings(count)) => Ok(count),
            other => unexpected(&StateKey::OffLedgerSamplings, other).map(|none| none.unwrap_or(0)),
        }
    }

    /// The `n`-th market sampling of an off-ledger product.
    fn off_ledger_sampling(&self, n: u64) -> Result<Option<SamplingEntry>, StateError> {
        let key = StateKey::OffLedgerSampling(n);
        match self.get(&key)? {
            Some(StateValue::OffLedgerSampling(entry)) => Ok(Some(entry)),
            other => unexpected(&key, other),
        }
    }

    /// The commissioned code `alias` is linked to, if it is an alias.
    fn alias(&self, alias: &TraceCode) -> Result<Option<TraceCode>, StateError> {
        let key = StateKey::Alias(alias.clone());
        match self.get(&key)? {
            Some(StateValue::Alias(code)) => Ok(Some(code)),
            other => unexpected(&key, other),
        }
    }

    /// The open recall covering `subject`.
    fn open_recall(&self, subject: &Subject) -> Result<Option<TxId>, StateError> {
        match self.get(&StateKey::OpenRecall(subject.clone()))? {
            Some(StateValue::OpenRecall(id)) => Ok(Some(id)),
            other => unexpected(&StateKey::OpenRecall(subject.clone()), other),
        }
    }

    /// The `n`-th amendment of an enterprise.
    fn amendment(&self, uscc: &Uscc, n: u32) -> Result<Option<Amendment>, StateError> {
        let key = StateKey::Amendment(uscc.clone(), n);
        match self.get(&key)? {
            Some(StateValue::Amendment(amendment)) => Ok(Some(amendment)),
            other => unexpected(&key, other),
        }
    }

    /// Who holds a prefix.
    fn prefix(&self, prefix: &IdPrefix) -> Result<Option<PrefixState>, StateError> {
        let key = StateKey::Prefix(prefix.clone());
        match self.get(&key)? {
            Some(StateValue::Prefix(state)) => Ok(Some(state)),
            other => unexpected(&key, other),
        }
    }

    /// How many held prefixes lie strictly under `prefix`.
    fn prefixes_under(&self, prefix: &IdPrefix) -> Result<u32, StateError> {
        let key = StateKey::PrefixesUnder(prefix.clone());
        match self.get(&key)? {
            Some(StateValue::PrefixesUnder(count)) => Ok(count),
            other => unexpected(&key, other).map(|_: Option<()>| 0),
        }
    }

    /// The sale that used a buyer commitment, if one did.
    fn buyer_commitment(&self, commitment: &Hash32) -> Result<Option<TxId>, StateError> {
        let key = StateKey::BuyerCommitment(*commitment);
        match self.get(&key)? {
            Some(StateValue::BuyerCommitment(sale)) => Ok(Some(sale)),
            other => unexpected(&key, other),
        }
    }

    /// The transaction that recorded an event, by its [`crate::event::event_key`], if one did.
    fn event(&self, event: &Hash32) -> Result<Option<TxId>, StateError> {
        let key = StateKey::Event(*event);
        match self.get(&key)? {
            Some(StateValue::Event(tx)) => Ok(Some(tx)),
            other => unexpected(&key, other),
        }
    }

    /// The enterprise whose profile names the party GLN `gln`, if one does.
    fn gln_holder(&self, gln: &Gln) -> Result<Option<Uscc>, StateError> {
        let key = StateKey::Gln(gln.clone());
        match self.get(&key)? {
            Some(StateValue::Gln(uscc)) => Ok(Some(uscc)),
            other => unexpected(&key, other),
        }
    }

    /// A packed logistic unit.
    fn unit(&self, unit: &UnitCode) -> Result<Option<UnitState>, StateError> {
        let key = StateKey::Unit(unit.clone());
        match self.get(&key)? {
            Some(StateValue::Unit(state)) => Ok(Some(state)),
            other => unexpected(&key, other),
        }
    }

    /// Units of `code` that `holder` holds inside logistic units.
    fn packed(&self, code: &TraceCode, holder: &Uscc) -> Result<u64, StateError> {
        let key = StateKey::Packed(code.clone(), holder.clone());
        match self.get(&key)? {
            Some(StateValue::Packed(units)) => Ok(units),
            other => unexpected(&key, other).map(|_: Option<()>| 0),
        }
    }

    /// Units of `code` that logistic unit `unit` holds directly.
    fn contained(&self, code: &TraceCode, unit: &UnitCode) -> Result<u64, StateError> {
        let key = StateKey::Contained(code.clone(), unit.clone());
        match self.get(&key)? {
            Some(StateValue::Contained(units)) => Ok(units),
            other => unexpected(&key, other).map(|_: Option<()>| 0),
        }
    }

    /// Where a transaction was committed, if it was.
    fn tx_location(&self, id: &TxId) -> Result<Option<TxLocation>, StateError> {
        match self.get(&StateKey::Tx(*id))? {
            Some(StateValue::Tx(location)) => Ok(Some(location)),
            other => unexpected(&StateKey::Tx(*id), other),
        }
    }
}

impl<S: StateRead + ?Sized> StateReadExt for S {}

fn unexpected<T>(key: &StateKey, value: Option<StateValue>) -> Result<Option<T>, StateError> {
    match value {
        None => Ok(None),
        Some(_) => Err(StateError::Corrupt {
            key: key.to_string(),
            reason: "value kind does not match the key".into(),
        }),
    }
}

/// Digests a whole state from its entries' byte forms, fed in ascending key-byte order (the
/// order RocksDB keeps them in), so that a store and an in-memory replay can be compared.
///
/// BLAKE3 in the domain `suyuan state digest v1` over each key and value, each preceded by its
/// length as a little-endian u64.
#[derive(Debug, Clone)]
pub struct StateDigest(blake3::Hasher);

impl StateDigest {
    /// An empty digest.
    pub fn new() -> Self {
        StateDigest(blake3::Hasher::new_derive_key("suyuan state digest v1"))
    }

    /// Adds one entry; callers feed entries in ascending key-byte order.
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        for part in [key, value] {
            self.0.update(&(part.len() as u64).to_le_bytes());
            self.0.update(part);
        }
    }

    /// The digest.
    pub fn finish(self) -> Hash32 {
        Hash32(*self.0.finalize().as_bytes())
    }
}

impl Default for StateDigest {
    fn default() -> Self {
        Self::new()
    }
}

/// State held in memory: for tests, tools and the offline verifier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemState {
    entries: BTreeMap<StateKey, StateValue>,
}

impl MemState {
    /// Empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a block's writes.
    pub fn apply(&mut self, writes: WriteSet) {
        for (key, value) in writes {
            match value {
                Some(value) => {
                    self.entries.insert(key, value);
                }
                None => {
                    self.entries.remove(&key);
                }
            }
        }
    }

    /// Every entry in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&StateKey, &StateValue)> {
        self.entries.iter()
    }

    /// The [`StateDigest`] of the whole state, for comparing replicas in tests and audit.
    pub fn digest(&self) -> Hash32 {
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = self
            .entries
            .iter()
            .map(|(key, value)| (key.to_bytes(), value.to_bytes()))
            .collect();
        entries.sort_unstable();
        let mut digest = StateDigest::new();
        for (key, value) in &entries {
            digest.add(key, value);
        }
        digest.finish()
    }
}

impl StateRead for MemState {
    fn get(&self, key: &StateKey) -> Result<Option<StateValue>, StateError> {
        Ok(self.entries.get(key).cloned())
    }
}

/// Uncommitted writes layered over a base state, in two levels: the block's accepted writes and
/// the current transaction's, which are kept or dropped as a whole.
#[derive(Debug)]
pub struct Overlay<'a, S: StateRead + ?Sized> {
    base: &'a S,
    accepted: WriteSet,
    pending: WriteSet,
}

impl<'a, S: StateRead + ?Sized> Overlay<'a, S> {
    /// An overlay with no writes.
    pub fn new(base: &'a S) -> Self {
        Overlay {
            base,
            accepted: WriteSet::new(),
            pending: WriteSet::new(),
        }
    }

    /// Records a write for the current transaction.
    pub fn put(&mut self, key: StateKey, value: StateValue) {
        debug_assert!(value.matches(&key), "value kind must match its key");
        self.pending.insert(key, Some(value));
    }

    /// Records a deletion for the current transaction.
    pub fn delete(&mut self, key: StateKey) {
        self.pending.insert(key, None);
    }

    /// Keeps the current transaction's writes.
    pub fn commit_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        self.accepted.extend(pending);
    }

    /// Drops the current transaction's writes.
    pub fn discard_pending(&mut self) {
        self.pending.clear();
    }

    /// The accepted writes; pending ones are dropped.
    pub fn into_writes(self) -> WriteSet {
        self.accepted
    }
}

impl<S: StateRead + ?Sized> StateRead for Overlay<'_, S> {
    fn get(&self, key: &StateKey) -> Result<Option<StateValue>, StateError> {
        if let Some(value) = self.pending.get(key).or_else(|| self.accepted.get(key)) {
            return Ok(value.clone());
        }
        self.base.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::Demo;

    #[test]
    fn every_key_of_the_demo_state_round_trips_through_bytes() {
        let state = Demo::new(4, 7100).dev_story_state();
        let mut tags = std::collections::BTreeSet::new();
        for (key, value) in state.entries() {
            let bytes = key.to_bytes();
            tags.insert(bytes[0]);
            assert_eq!(&StateKey::from_bytes(&bytes).unwrap(), key);
            assert_eq!(
                &StateValue::from_bytes(key, &value.to_bytes()).unwrap(),
                value
            );
        }
        assert_eq!(tags.len(), 22, "the dev demo state holds every kind of key");
        assert!(
            state.entries().any(|(key, _)| matches!(
                key,
                StateKey::Listed(_, crate::facts::Listing::Events, _)
            )),
            "the demo lists dated records"
        );
        assert!(StateKey::from_bytes(&[]).is_err());
        assert!(StateKey::from_bytes(&[99, 1]).is_err());
    }

    #[test]
    fn an_enterprises_listing_sorts_by_entry_number() {
        use crate::facts::Listing;
        let uscc = crate::demo::uscc("91420100MA4K7C8Q1");
        let keys: Vec<Vec<u8>> = [0u64, 1, 255, 256, 70_000, u64::MAX]
            .into_iter()
            .map(|n| StateKey::Listed(uscc.clone(), Listing::Codes, n).to_bytes())
            .collect();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
        let key = StateKey::Listed(uscc.clone(), Listing::Recalls, 7);
        assert_eq!(StateKey::from_bytes(&key.to_bytes()).unwrap(), key);
        // A truncated number, an unknown listing and a missing separator are refused.
        let bytes = key.to_bytes();
        assert!(StateKey::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        let mut unknown = bytes.clone();
        unknown[bytes.len() - 9] = 99;
        assert!(StateKey::from_bytes(&unknown).is_err());
        assert!(StateKey::from_bytes(&bytes[..19]).is_err());
    }
}
