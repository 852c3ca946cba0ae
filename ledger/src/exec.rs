//! Execute transactions against state: who may do what, and what each record changes.
//!
//! Execution is a deterministic function of the state, the genesis file, the block's height and
//! time, and the transactions: no clock, no randomness, no floats, and only ordered maps. Every
//! refusal is a [`RuleError`] naming the rule broken; a refused transaction changes nothing.
//!
//! Drive it with an [`Executor`]: [`Executor::apply`] each transaction in block order (a leader
//! building a block drops the ones refused; a validator checking a block refuses the block if
//! any is refused, which [`execute_block`] does), then [`Executor::finish`] for the write set to
//! commit atomically with the block.

use std::collections::BTreeSet;

use crate::catalogue::{Catalogue, CategoryId, DocumentKind, FieldId, STANDARDS_FIELD};
use crate::codes::accreditation::Accreditation;
use crate::codes::gs1::keys::Gln;
use crate::codes::inspect::{CodeKind, inspect};
use crate::codes::model::ModelCode;
use crate::codes::prefix::IdPrefix;
use crate::codes::uscc::Uscc;
use crate::crypto::PublicKey;
use crate::event::{EpcisEvent, event_key};
use crate::facts::Keeper;
use crate::genesis::Genesis;
use crate::hash::Hash32;
use crate::limits::{
    MAX_CODE_ALIASES, MAX_ITEMS_PER_RECORD, MAX_LINES_MOVED, MAX_LIST_ENTRIES, MAX_PACKING_DEPTH,
    MAX_UNIT_LINES,
};
use crate::record::{
    AcceptTransfer, AttestPrefix, BindKey, CloseRecall, Commissioning, EnterpriseKind,
    EnterpriseProfile, Inspection, LinkCodes, OfferTransfer, Pack, Party, ProductModel, Recall,
    Record, RegisterEnterprise, RevokeKey, RevokePrefix, RotateKey, SampledProduct, Shipment,
    Subject, TraceCode, TransferPrefix, UnitCode, Unpack, UpdateEnterprise, WithdrawTransfer,
};
use crate::state::{
    Amendment, AmendmentKind, CodeState, EnterpriseState, Issuer, KeyBinding, KeyStatus,
    ModelState, Overlay, PendingTransfer, PrefixState, RecallState, StateError, StateKey,
    StateRead, StateReadExt, StateValue, TxLocation, UnitState, WriteSet,
};
use crate::text::Date;
use crate::tx::{TxId, VerifiedTx};

/// A day, in milliseconds: the unit of the genesis's time windows.
const DAY_MS: u64 = 86_400_000;

/// What execution knows about the block it runs in.
#[derive(Debug, Clone, Copy)]
pub struct BlockContext<'g> {
    /// The consortium.
    pub genesis: &'g Genesis,
    /// Height of the block.
    pub height: u64,
    /// The block's time, Unix milliseconds (from its header).
    pub time_ms: u64,
}

impl BlockContext<'_> {
    /// The block's date in China Standard Time, which dates in records are compared with.
    fn date(&self) -> Date {
        Date::from_unix_ms_china(self.time_ms)
    }

    /// The latest time a record may name: the block's time plus the consortium's clock skew.
    fn latest_ms(&self) -> u64 {
        self.time_ms
            .saturating_add(self.genesis.time_windows().clock_skew_ms)
    }

    /// Checks that `time_ms` lies within `max_age_days` before the block's time and the clock
    /// skew after it.
    fn check_time(
        &self,
        field: &'static str,
        time_ms: u64,
        max_age_days: u32,
    ) -> Result<(), RuleError> {
        let oldest_ms = self.oldest_ms(max_age_days);
        if time_ms < oldest_ms {
            return Err(RuleError::TooOld {
                field,
                value: time_ms.to_string(),
                oldest: oldest_ms.to_string(),
            });
        }
        if time_ms > self.latest_ms() {
            return Err(RuleError::InTheFuture {
                field,
                value: time_ms.to_string(),
            });
        }
        Ok(())
    }

    /// Checks that `date` lies between the dates (in China) of the oldest and the latest time
    /// [`BlockContext::check_time`] allows.
    fn check_date(
        &self,
        field: &'static str,
        date: Date,
        max_age_days: u32,
    ) -> Result<(), RuleError> {
        let oldest = Date::from_unix_ms_china(self.oldest_ms(max_age_days));
        if date < oldest {
            return Err(RuleError::TooOld {
                field,
                value: date.to_string(),
                oldest: oldest.to_string(),
            });
        }
        self.check_not_after(field, date)
    }

    /// Checks that `date` is not after the date of the latest time a record may name.
    fn check_not_after(&self, field: &'static str, date: Date) -> Result<(), RuleError> {
        if date > Date::from_unix_ms_china(self.latest_ms()) {
            return Err(RuleError::InTheFuture {
                field,
                value: date.to_string(),
            });
        }
        Ok(())
    }

    fn oldest_ms(&self, max_age_days: u32) -> u64 {
        self.time_ms
            .saturating_sub(u64::from(max_age_days) * DAY_MS)
    }
}

/// A rule a transaction broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The same transaction is already on the chain or earlier in the block.
    #[error("transaction {id} was already committed")]
    Replay {
        /// Its id.
        id: TxId,
    },
    /// Only a registrar named in genesis may do this.
    #[error("{action} needs a registrar's signature; {signer} is not a registrar")]
    NotRegistrar {
        /// What was attempted.
        action: &'static str,
        /// The signer.
        signer: PublicKey,
    },
    /// The signer is neither a genesis member nor a key bound to an enterprise.
    #[error("key {signer} is not bound to any enterprise")]
    UnknownSigner {
        /// The signer.
        signer: PublicKey,
    },
    /// The signer's key was revoked.
    #[error("key {key} of enterprise {uscc} is revoked and signs nothing more")]
    KeyRevoked {
        /// The key.
        key: PublicKey,
        /// Its enterprise.
        uscc: Uscc,
    },
    /// An enterprise key signed a record for another enterprise.
    #[error("a key of enterprise {signer_uscc} may not report for enterprise {record_uscc}")]
    WrongEnterprise {
        /// Whose key signed.
        signer_uscc: Uscc,
        /// Whom the record is for.
        record_uscc: Uscc,
    },
    /// The enterprise is already enrolled.
    #[error("enterprise {uscc} is already enrolled")]
    EnterpriseExists {
        /// The enterprise.
        uscc: Uscc,
    },
    /// No enterprise with that USCC is enrolled.
    #[error("enterprise {uscc} is not enrolled")]
    UnknownEnterprise {
        /// The USCC.
        uscc: Uscc,
    },
    /// A key is bound already (to this or another enterprise).
    #[error("key {key} is already bound to enterprise {uscc}")]
    KeyAlreadyBound {
        /// The key.
        key: PublicKey,
        /// Its enterprise.
        uscc: Uscc,
    },
    /// The key named is not an active key of the enterprise.
    #[error("key {key} is not an active key of enterprise {uscc}")]
    NotActiveKeyOf {
        /// The key.
        key: PublicKey,
        /// The enterprise.
        uscc: Uscc,
    },
    /// A rotation must be signed by the key it retires.
    #[error("a key rotation must be signed by the key it retires ({old_key})")]
    RotationNotSignedByOldKey {
        /// The key being retired.
        old_key: PublicKey,
    },
    /// A list is empty that needs at least one entry.
    #[error("{field} must not be empty")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// A list is longer than allowed.
    #[error("{field} has {found} entries; at most {max} allowed")]
    TooMany {
        /// The field.
        field: &'static str,
        /// The bound.
        max: usize,
        /// How many were given.
        found: usize,
    },
    /// A list names the same thing twice.
    #[error("{field} lists {value} twice")]
    Duplicate {
        /// The field.
        field: &'static str,
        /// The repeated value.
        value: String,
    },
    /// Only manufacturers and importers register models and commission codes.
    #[error("enterprise {uscc} is a {kind:?}; only manufacturers and importers may {action}")]
    NotProducer {
        /// The enterprise.
        uscc: Uscc,
        /// Its kind.
        kind: EnterpriseKind,
        /// What was attempted.
        action: &'static str,
    },
    /// The model code is registered to another enterprise.
    #[error("model {model} belongs to enterprise {owner}")]
    ModelOfOtherEnterprise {
        /// The model.
        model: ModelCode,
        /// Its owner.
        owner: Uscc,
    },
    /// No model with that code is registered.
    #[error("model {model} is not registered")]
    UnknownModel {
        /// The model code.
        model: ModelCode,
    },
    /// The enterprise does not hold the licence or certificate the model names.
    #[error("enterprise {uscc} holds no {document} numbered {number} valid on {on}")]
    DocumentNotHeld {
        /// The enterprise.
        uscc: Uscc,
        /// "production licence" or "CCC certificate".
        document: &'static str,
        /// Its number.
        number: String,
        /// The date it must be valid on.
        on: Date,
    },
    /// A GS1 code's GTIN differs from the model's.
    #[error("code {code} is not of model {model}")]
    CodeOfOtherModel {
        /// The code.
        code: TraceCode,
        /// The model.
        model: ModelCode,
    },
    /// A GS1 lot or item code names a GTIN, and the model it would belong to has none: an
    /// Ecode or Handle model's batches and items carry Ecode or Handle codes.
    #[error("code {code} is a GS1 code, and model {model} is not a GTIN model")]
    GtinCodeOfNonGtinModel {
        /// The code.
        code: TraceCode,
        /// The model.
        model: ModelCode,
    },
    /// One Ecode or Handle id would name both a product model and a commissioned batch or
    /// item: a scan of it could not say which it means.
    #[error("{code} would name both a product model and a batch or item; one code, one thing")]
    ModelCodeClash {
        /// The code, in canonical form.
        code: String,
    },
    /// The code is another code of a commissioned batch or item: records name the thing by the
    /// code it was commissioned under.
    #[error("{code} is an alias of {of}; name the code as commissioned")]
    CodeIsAlias {
        /// The alias named.
        code: TraceCode,
        /// The code it is linked to.
        of: TraceCode,
    },
    /// The alias is linked to a commissioned code already.
    #[error("{alias} is already an alias of {of}")]
    AliasTaken {
        /// The alias.
        alias: TraceCode,
        /// The code it is linked to.
        of: TraceCode,
    },
    /// A GS1 alias must be of the code's kind: a lot for a batch, a serial for an item.
    #[error(
        "{alias} is not the same kind of code as {code}: a lot names a batch, a serial one item"
    )]
    AliasOfOtherKind {
        /// The alias.
        alias: TraceCode,
        /// The code it would be linked to.
        code: TraceCode,
    },
    /// A logistic-unit code cannot stand for a product.
    #[error("code {code} is a logistic unit, not a product code")]
    NotAProductCode {
        /// The code.
        code: TraceCode,
    },
    /// The code was commissioned before.
    #[error("code {code} was already commissioned")]
    CodeAlreadyCommissioned {
        /// The code.
        code: TraceCode,
    },
    /// The code was never commissioned.
    #[error("code {code} was never commissioned")]
    UnknownCode {
        /// The code.
        code: TraceCode,
    },
    /// A quantity is zero, or not one for a serialised item.
    #[error("quantity {quantity} is not valid for code {code}")]
    BadQuantity {
        /// The code.
        code: TraceCode,
        /// The quantity given.
        quantity: u64,
    },
    /// A seller tried to move more than it holds.
    #[error("enterprise {holder} holds {held} of {code}, cannot ship {requested}")]
    InsufficientHolding {
        /// The code.
        code: TraceCode,
        /// The seller.
        holder: Uscc,
        /// Units held.
        held: u64,
        /// Units requested.
        requested: u64,
    },
    /// Seller and buyer are the same enterprise.
    #[error("enterprise {uscc} cannot sell to itself")]
    SaleToSelf {
        /// The enterprise.
        uscc: Uscc,
    },
    /// A sale to a person names a buyer commitment an earlier sale used: the salt was not
    /// fresh, and the commitment would link the buyer's purchases.
    #[error("buyer commitment {commitment} was used by sale {sale}; draw a fresh salt")]
    CommitmentReused {
        /// The commitment.
        commitment: Hash32,
        /// The sale that used it first.
        sale: TxId,
    },
    /// EPCIS event facts on a record that is not an event (an enrolment, a key binding).
    #[error("a {record} record is not an EPCIS event and carries no event facts")]
    NotAnEvent {
        /// The record's type.
        record: &'static str,
    },
    /// EPCIS event facts with nothing in them.
    #[error("the event facts name no id, time or location; leave them out instead")]
    EmptyEvent,
    /// The event time of a shipment, packing or unpacking differs from the record's own time.
    #[error("the event time {event_ms} ms differs from the record's time {record_ms} ms")]
    EventTimeMismatch {
        /// The record's time, Unix milliseconds.
        record_ms: u64,
        /// The event's time, Unix milliseconds.
        event_ms: i64,
    },
    /// The signing party already recorded an event with this id.
    #[error("event {id} was already recorded by transaction {tx}")]
    DuplicateEvent {
        /// The event id.
        id: String,
        /// The transaction that recorded it first.
        tx: TxId,
    },
    /// An enterprise profile names a party GLN under no GS1 company prefix the enterprise
    /// holds.
    #[error("GLN {gln} lies under no GS1 company prefix {uscc} holds")]
    GlnNotUnderPrefix {
        /// The GLN.
        gln: Gln,
        /// The enterprise.
        uscc: Uscc,
    },
    /// An enterprise profile names a party GLN another enterprise's profile names.
    #[error("GLN {gln} is the party GLN of {holder}")]
    GlnTaken {
        /// The GLN.
        gln: Gln,
        /// The enterprise whose it is.
        holder: Uscc,
    },
    /// A sale names its business buyer with a party GLN that is not the buyer's: an
    /// enrolled buyer's profile claims another or none, or another enterprise claims it.
    #[error("GLN {gln} is not the party GLN of the buyer {buyer}")]
    BuyerGlnNotTheirs {
        /// The GLN the sale names.
        gln: Gln,
        /// The buyer.
        buyer: Uscc,
    },
    /// A recalled code or model cannot be shipped.
    #[error("{code} is under open recall {recall}")]
    UnderRecall {
        /// The code.
        code: TraceCode,
        /// The recall's id.
        recall: TxId,
    },
    /// A date or time lies after the block's.
    #[error("{field} ({value}) is later than the block's time")]
    InTheFuture {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
    },
    /// A date or time lies further before the block's than the consortium's window allows.
    #[error("{field} ({value}) is older than the window allows: the oldest accepted is {oldest}")]
    TooOld {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
        /// The oldest value accepted in this block.
        oldest: String,
    },
    /// A licence or certificate expires before it was issued.
    #[error("{document} {number} expires on {valid_until}, before its issue on {issued_on}")]
    ExpiresBeforeIssue {
        /// "business licence" or "CCC certificate".
        document: &'static str,
        /// Its number.
        number: String,
        /// Date of issue.
        issued_on: Date,
        /// Last day of validity.
        valid_until: Date,
    },
    /// A licence or certificate claims a validity beyond the consortium's longest term.
    #[error("{document} {number} is valid until {valid_until}; no later than {latest} is accepted")]
    ValidityTooLong {
        /// "production licence" or "CCC certificate".
        document: &'static str,
        /// Its number.
        number: String,
        /// Last day of validity claimed.
        valid_until: Date,
        /// The latest accepted in this block.
        latest: Date,
    },
    /// A registrar tried to amend an enterprise another registrar answers for.
    #[error(
        "{action} of enterprise {uscc} needs its registrar {registrar} or a regulator; {signer} is neither"
    )]
    NotEnterprisesRegistrar {
        /// What was attempted.
        action: &'static str,
        /// The signer.
        signer: PublicKey,
        /// The enterprise.
        uscc: Uscc,
        /// Its registrar.
        registrar: PublicKey,
    },
    /// A transfer names a key that is not a genesis registrar.
    #[error("{key} is not a registrar named in genesis")]
    UnknownRegistrar {
        /// The key.
        key: PublicKey,
    },
    /// A transfer offers an enterprise to the registrar it already has.
    #[error("enterprise {uscc} already has registrar {registrar}")]
    AlreadyRegistrar {
        /// The enterprise.
        uscc: Uscc,
        /// Its registrar.
        registrar: PublicKey,
    },
    /// No pending transfer matches: none was offered, or to another registrar, or by another.
    #[error("no transfer of enterprise {uscc} from {from} to {to} is pending")]
    NoTransferOffer {
        /// The enterprise.
        uscc: Uscc,
        /// The registrar it would be transferred from.
        from: PublicKey,
        /// The registrar it would be transferred to.
        to: PublicKey,
    },
    /// Only regulators and enrolled inspection bodies record inspections.
    #[error("{signer} is neither a regulator nor an inspection body")]
    NotInspector {
        /// The signer.
        signer: PublicKey,
    },
    /// Only regulators and the producer itself issue recalls.
    #[error("{signer} may not recall products of {producer}: only a regulator or the producer may")]
    NotRecaller {
        /// The signer.
        signer: PublicKey,
        /// The producer named.
        producer: Uscc,
    },
    /// A recall's subject is not the named producer's.
    #[error("{subject:?} is not a product of {producer}")]
    NotProducersProduct {
        /// The subject.
        subject: Subject,
        /// The producer named.
        producer: Uscc,
    },
    /// No recall has that id.
    #[error("no recall has id {recall}")]
    UnknownRecall {
        /// The id.
        recall: TxId,
    },
    /// The recall is closed already.
    #[error("recall {recall} is already closed")]
    RecallClosed {
        /// The id.
        recall: TxId,
    },
    /// Only a regulator or the recall's issuer closes it.
    #[error("{signer} may not close recall {recall}: only a regulator or its issuer may")]
    NotRecallCloser {
        /// The signer.
        signer: PublicKey,
        /// The recall.
        recall: TxId,
    },
    /// A counter would overflow u64.
    #[error("quantity of {code} would overflow")]
    Overflow {
        /// The code.
        code: TraceCode,
    },
    /// The prefix is held already: by another enterprise, or by this one.
    #[error("prefix {prefix} is held by enterprise {holder}")]
    PrefixHeld {
        /// The prefix.
        prefix: IdPrefix,
        /// Its holder.
        holder: Uscc,
    },
    /// A shorter prefix covering this one is held.
    #[error("prefix {prefix} lies under prefix {held}, held by enterprise {holder}")]
    PrefixUnderHeld {
        /// The prefix.
        prefix: IdPrefix,
        /// The held prefix it lies under.
        held: IdPrefix,
        /// Its holder.
        holder: Uscc,
    },
    /// Longer prefixes under this one are held.
    #[error("prefix {prefix} covers {count} prefixes already held")]
    PrefixCoversHeld {
        /// The prefix.
        prefix: IdPrefix,
        /// How many held prefixes lie under it.
        count: u32,
    },
    /// The enterprise named does not hold the prefix.
    #[error("enterprise {uscc} does not hold prefix {prefix}")]
    PrefixNotHeld {
        /// The prefix.
        prefix: IdPrefix,
        /// The enterprise named.
        uscc: Uscc,
    },
    /// No offer of the prefix from `from` to `to` stands.
    #[error("enterprise {from} has not offered prefix {prefix} to enterprise {to}")]
    NoPrefixOffer {
        /// The prefix.
        prefix: IdPrefix,
        /// The holder named.
        from: Uscc,
        /// The enterprise that would take it.
        to: Uscc,
    },
    /// A code lies under a prefix another enterprise holds.
    #[error("{code} lies under prefix {prefix}, held by enterprise {holder}, not by {uscc}")]
    CodeUnderOthersPrefix {
        /// The code, in its canonical text form.
        code: String,
        /// The enterprise that registered or commissioned it.
        uscc: Uscc,
        /// The prefix.
        prefix: IdPrefix,
        /// Its holder.
        holder: Uscc,
    },
    /// A code lies under no prefix the enterprise holds.
    #[error(
        "{code} lies under no identifier prefix enterprise {uscc} holds; its registrar attests prefixes"
    )]
    CodeOutsidePrefixes {
        /// The code, in its canonical text form.
        code: String,
        /// The enterprise.
        uscc: Uscc,
    },
    /// A model names a category the consortium's catalogue does not list.
    #[error("model {model} names category {category}, which the catalogue does not list")]
    UnknownCategory {
        /// The model.
        model: ModelCode,
        /// The category named.
        category: CategoryId,
    },
    /// A model names no category, and the catalogue requires one.
    #[error("model {model} names no category; the consortium's catalogue requires one")]
    UncategorisedModel {
        /// The model.
        model: ModelCode,
    },
    /// A model names none of a document its category requires.
    #[error("model {model} of category {category} names no {}", document.describe())]
    MissingDocument {
        /// The model.
        model: ModelCode,
        /// Its category.
        category: CategoryId,
        /// The document it lacks.
        document: DocumentKind,
    },
    /// A model lacks a field its category requires.
    #[error("model {model} of category {category} lacks field {field}")]
    MissingField {
        /// The model.
        model: ModelCode,
        /// Its category.
        category: CategoryId,
        /// The field.
        field: FieldId,
    },
    /// A model carries a field its category does not define (or carries fields, with no
    /// category).
    #[error("model {model} carries field {field}, which its category does not define")]
    UnknownField {
        /// The model.
        model: ModelCode,
        /// The field.
        field: FieldId,
    },
    /// A registration would change the category a model was registered in.
    #[error("model {model} is of category {from:?}; a registration cannot make it {to:?}")]
    CategoryChanged {
        /// The model.
        model: ModelCode,
        /// Its category.
        from: Option<CategoryId>,
        /// The category the registration names.
        to: Option<CategoryId>,
    },
    /// Serialised items name as their batch a code that is not a batch: an item's or a
    /// logistic unit's code.
    #[error("{code} is not a batch code; items belong to a lot, an Ecode or a handle batch")]
    NotABatch {
        /// The code named as the batch.
        code: TraceCode,
    },
    /// The SSCC is packed already; it may be packed again once unpacked.
    #[error("logistic unit {unit} is packed already")]
    UnitAlreadyPacked {
        /// The unit.
        unit: UnitCode,
    },
    /// No packed logistic unit has that SSCC.
    #[error("logistic unit {unit} is not packed")]
    UnknownUnit {
        /// The unit.
        unit: UnitCode,
    },
    /// The enterprise named does not hold the logistic unit: another does.
    #[error("logistic unit {unit} is held by enterprise {holder}, not by the one named")]
    NotUnitHolder {
        /// The unit.
        unit: UnitCode,
        /// Its holder.
        holder: Uscc,
    },
    /// The logistic unit is inside another: it moves, and is unpacked, only after that one is.
    #[error("logistic unit {unit} is packed inside {parent}; unpack that first")]
    UnitInUnit {
        /// The unit.
        unit: UnitCode,
        /// The unit it is inside.
        parent: UnitCode,
    },
    /// Units of a code asked for are inside logistic units: they move only with them.
    #[error(
        "enterprise {holder} holds {loose} of {code} loose, the rest packed; cannot take {requested} until unpacked"
    )]
    CodePacked {
        /// The code.
        code: TraceCode,
        /// The holder.
        holder: Uscc,
        /// Units it holds outside logistic units.
        loose: u64,
        /// Units asked for.
        requested: u64,
    },
    /// Packing would nest logistic units deeper than allowed.
    #[error("logistic unit {unit} would be {depth} levels deep; at most {max} allowed")]
    PackingTooDeep {
        /// The unit being packed.
        unit: UnitCode,
        /// Its depth.
        depth: u8,
        /// The bound.
        max: u8,
    },
    /// An inspection body's inspection names no accreditation.
    #[error("inspection body {uscc} must name the accreditation it inspected under")]
    AccreditationMissing {
        /// The inspection body.
        uscc: Uscc,
    },
    /// The accreditation named is not one of the inspection body's (or a regulator named one).
    #[error("accreditation {accreditation} is not in the profile of the signer")]
    UnknownAccreditation {
        /// The accreditation named.
        accreditation: Accreditation,
    },
    /// The accreditation is not valid on the inspection date or the block's date.
    #[error("accreditation {accreditation} is not valid on {on}")]
    AccreditationNotValid {
        /// The accreditation.
        accreditation: Accreditation,
        /// The date it is not valid on.
        on: Date,
    },
    /// The inspected product's category is outside the accreditation's scope (or the product
    /// has no category, and the accreditation a scope).
    #[error("accreditation {accreditation} does not cover category {category:?}")]
    OutsideAccreditationScope {
        /// The accreditation.
        accreditation: Accreditation,
        /// The product's category, if it has one.
        category: Option<CategoryId>,
    },
    /// A profile's accreditation names a scope category the catalogue does not list.
    #[error(
        "accreditation {accreditation} names category {category}, which the catalogue does not list"
    )]
    UnknownScopeCategory {
        /// The accreditation.
        accreditation: Accreditation,
        /// The category named.
        category: CategoryId,
    },
    /// Two dates of a record are in the wrong order.
    #[error("{later} ({later_date}) is before {earlier} ({earlier_date})")]
    DatesOutOfOrder {
        /// The field that must come first.
        earlier: &'static str,
        /// Its date.
        earlier_date: Date,
        /// The field that must come on or after it.
        later: &'static str,
        /// Its date.
        later_date: Date,
    },
    /// A sampled product names a category the catalogue does not list.
    #[error("the sampled product names category {category}, which the catalogue does not list")]
    UnknownSampledCategory {
        /// The category named.
        category: CategoryId,
    },
    /// A sampled product's printed code names a registered model of another category: the
    /// category would decide whose accreditation covers the sampling.
    #[error(
        "the sampled product is declared {declared}, but its printed code {printed_code} is of model {model}, registered as {registered}"
    )]
    SampledCategoryMismatch {
        /// The code as printed.
        printed_code: String,
        /// The model it names.
        model: ModelCode,
        /// The category the inspection declares.
        declared: CategoryId,
        /// The model's registered category.
        registered: CategoryId,
    },
    /// A recall names a sampled product: it is not on the ledger, so nothing holds or moves it;
    /// the maker enrols and recalls its own records, or a regulator acts off the ledger.
    #[error("a product sampled off the ledger cannot be recalled on it")]
    SampledNotRecallable,
}

impl RuleError {
    /// A stable snake_case name of the rule broken, for machines (the API's `rule` field).
    /// Each variant has its own; renaming a variant does not change its code.
    pub fn code(&self) -> &'static str {
        match self {
            RuleError::Replay { .. } => "replay",
            RuleError::NotRegistrar { .. } => "not_registrar",
            RuleError::UnknownSigner { .. } => "unknown_signer",
            RuleError::KeyRevoked { .. } => "key_revoked",
            RuleError::WrongEnterprise { .. } => "wrong_enterprise",
            RuleError::EnterpriseExists { .. } => "enterprise_exists",
            RuleError::UnknownEnterprise { .. } => "unknown_enterprise",
            RuleError::KeyAlreadyBound { .. } => "key_already_bound",
            RuleError::NotActiveKeyOf { .. } => "not_active_key_of",
            RuleError::RotationNotSignedByOldKey { .. } => "rotation_not_signed_by_old_key",
            RuleError::Empty { .. } => "empty",
            RuleError::TooMany { .. } => "too_many",
            RuleError::Duplicate { .. } => "duplicate",
            RuleError::NotProducer { .. } => "not_producer",
            RuleError::ModelOfOtherEnterprise { .. } => "model_of_other_enterprise",
            RuleError::UnknownModel { .. } => "unknown_model",
            RuleError::DocumentNotHeld { .. } => "document_not_held",
            RuleError::CodeOfOtherModel { .. } => "code_of_other_model",
            RuleError::GtinCodeOfNonGtinModel { .. } => "gtin_code_of_non_gtin_model",
            RuleError::ModelCodeClash { .. } => "model_code_clash",
            RuleError::CodeIsAlias { .. } => "code_is_alias",
            RuleError::AliasTaken { .. } => "alias_taken",
            RuleError::AliasOfOtherKind { .. } => "alias_of_other_kind",
            RuleError::NotAProductCode { .. } => "not_a_product_code",
            RuleError::CodeAlreadyCommissioned { .. } => "code_already_commissioned",
            RuleError::UnknownCode { .. } => "unknown_code",
            RuleError::BadQuantity { .. } => "bad_quantity",
            RuleError::InsufficientHolding { .. } => "insufficient_holding",
            RuleError::SaleToSelf { .. } => "sale_to_self",
            RuleError::CommitmentReused { .. } => "commitment_reused",
            RuleError::NotAnEvent { .. } => "not_an_event",
            RuleError::EmptyEvent => "empty_event",
            RuleError::EventTimeMismatch { .. } => "event_time_mismatch",
            RuleError::DuplicateEvent { .. } => "duplicate_event",
            RuleError::GlnNotUnderPrefix { .. } => "gln_not_under_prefix",
            RuleError::GlnTaken { .. } => "gln_taken",
            RuleError::BuyerGlnNotTheirs { .. } => "buyer_gln_not_theirs",
            RuleError::UnderRecall { .. } => "under_recall",
            RuleError::InTheFuture { .. } => "in_the_future",
            RuleError::TooOld { .. } => "too_old",
            RuleError::ExpiresBeforeIssue { .. } => "expires_before_issue",
            RuleError::ValidityTooLong { .. } => "validity_too_long",
            RuleError::NotEnterprisesRegistrar { .. } => "not_enterprises_registrar",
            RuleError::UnknownRegistrar { .. } => "unknown_registrar",
            RuleError::AlreadyRegistrar { .. } => "already_registrar",
            RuleError::NoTransferOffer { .. } => "no_transfer_offer",
            RuleError::NotInspector { .. } => "not_inspector",
            RuleError::NotRecaller { .. } => "not_recaller",
            RuleError::NotProducersProduct { .. } => "not_producers_product",
            RuleError::UnknownRecall { .. } => "unknown_recall",
            RuleError::RecallClosed { .. } => "recall_closed",
            RuleError::NotRecallCloser { .. } => "not_recall_closer",
            RuleError::Overflow { .. } => "overflow",
            RuleError::PrefixHeld { .. } => "prefix_held",
            RuleError::PrefixUnderHeld { .. } => "prefix_under_held",
            RuleError::PrefixCoversHeld { .. } => "prefix_covers_held",
            RuleError::PrefixNotHeld { .. } => "prefix_not_held",
            RuleError::NoPrefixOffer { .. } => "no_prefix_offer",
            RuleError::CodeUnderOthersPrefix { .. } => "code_under_others_prefix",
            RuleError::CodeOutsidePrefixes { .. } => "code_outside_prefixes",
            RuleError::UnknownCategory { .. } => "unknown_category",
            RuleError::UncategorisedModel { .. } => "uncategorised_model",
            RuleError::MissingDocument { .. } => "missing_document",
            RuleError::MissingField { .. } => "missing_field",
            RuleError::UnknownField { .. } => "unknown_field",
            RuleError::CategoryChanged { .. } => "category_changed",
            RuleError::NotABatch { .. } => "not_a_batch",
            RuleError::UnitAlreadyPacked { .. } => "unit_already_packed",
            RuleError::UnknownUnit { .. } => "unknown_unit",
            RuleError::NotUnitHolder { .. } => "not_unit_holder",
            RuleError::UnitInUnit { .. } => "unit_in_unit",
            RuleError::CodePacked { .. } => "code_packed",
            RuleError::PackingTooDeep { .. } => "packing_too_deep",
            RuleError::AccreditationMissing { .. } => "accreditation_missing",
            RuleError::UnknownAccreditation { .. } => "unknown_accreditation",
            RuleError::AccreditationNotValid { .. } => "accreditation_not_valid",
            RuleError::OutsideAccreditationScope { .. } => "outside_accreditation_scope",
            RuleError::UnknownScopeCategory { .. } => "unknown_scope_category",
            RuleError::DatesOutOfOrder { .. } => "dates_out_of_order",
            RuleError::UnknownSampledCategory { .. } => "unknown_sampled_category",
            RuleError::SampledCategoryMismatch { .. } => "sampled_category_mismatch",
            RuleError::SampledNotRecallable => "sampled_not_recallable",
        }
    }
}

/// Why a transaction was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// It broke a rule: the client's fault. Boxed: the rule errors carry codes and keys, and
    /// the common path returns `Ok`.
    #[error(transparent)]
    Rule(Box<RuleError>),
    /// State could not be read: the node's fault, and fatal for the block.
    #[error(transparent)]
    State(#[from] StateError),
}

impl From<RuleError> for ExecError {
    fn from(error: RuleError) -> Self {
        ExecError::Rule(Box::new(error))
    }
}

impl ExecError {
    /// The rule broken, if the refusal was the client's fault.
    pub fn rule(&self) -> Option<&RuleError> {
        match self {
            ExecError::Rule(rule) => Some(rule),
            ExecError::State(_) => None,
        }
    }
}

/// A block refused because one of its transactions was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("transaction {index} ({id}) of the block is refused: {error}")]
pub struct BlockExecError {
    /// Its index in the block.
    pub index: usize,
    /// Its id.
    pub id: TxId,
    /// Why.
    pub error: ExecError,
}

/// Executes a block's transactions in order, refusing the block if any is refused.
pub fn execute_block<S: StateRead + ?Sized>(
    state: &S,
    context: BlockContext<'_>,
    txs: &[VerifiedTx],
) -> Result<WriteSet, BlockExecError> {
    let mut executor = Executor::new(state, context);
    for (index, tx) in txs.iter().enumerate() {
        executor.apply(tx).map_err(|error| BlockExecError {
            index,
            id: tx.id,
            error,
        })?;
    }
    Ok(executor.finish())
}

/// Applies transactions one at a time over a state, collecting their writes.
#[derive(Debug)]
pub struct Executor<'a, S: StateRead + ?Sized> {
    context: BlockContext<'a>,
    overlay: Overlay<'a, S>,
    applied: u32,
}

/// Whom a signing key speaks for.
struct Signer {
    key: PublicKey,
    is_registrar: bool,
    is_regulator: bool,
    /// The enterprise the key is bound to, if it is, and active.
    enterprise: Option<Uscc>,
}

impl<'a, S: StateRead + ?Sized> Executor<'a, S> {
    /// An executor for one block over `state`.
    pub fn new(state: &'a S, context: BlockContext<'a>) -> Self {
        Executor {
            context,
            overlay: Overlay::new(state),
            applied: 0,
        }
    }

    /// Applies one transaction: all of its writes, or none and the reason.
    pub fn apply(&mut self, tx: &VerifiedTx) -> Result<(), ExecError> {
        let outcome = self.apply_inner(tx);
        match outcome {
            Ok(()) => {
                self.overlay.commit_pending();
                self.applied += 1;
            }
            Err(_) => self.overlay.discard_pending(),
        }
        outcome
    }

    /// The writes of every applied transaction.
    pub fn finish(self) -> WriteSet {
        self.overlay.into_writes()
    }

    /// How many transactions were applied.
    pub fn applied(&self) -> u32 {
        self.applied
    }

    fn apply_inner(&mut self, tx: &VerifiedTx) -> Result<(), ExecError> {
        if self.overlay.tx_location(&tx.id)?.is_some() {
            return Err(RuleError::Replay { id: tx.id }.into());
        }
        let signer = self.signer(&tx.envelope.signer)?;
        if let Some(event) = &tx.payload.event {
            self.record_event(&signer, &tx.payload.record, event, tx.id)?;
        }
        match &tx.payload.record {
            Record::RegisterEnterprise(record) => {
                self.register_enterprise(&signer, record, tx.id)?
            }
            Record::UpdateEnterprise(record) => self.update_enterprise(&signer, record)?,
            Record::BindKey(record) => self.bind_key(&signer, record)?,
            Record::RotateKey(record) => self.rotate_key(&signer, record)?,
            Record::RevokeKey(record) => self.revoke_key(&signer, record)?,
            Record::OfferTransfer(record) => self.offer_transfer(&signer, record)?,
            Record::AcceptTransfer(record) => self.accept_transfer(&signer, record)?,
            Record::WithdrawTransfer(record) => self.withdraw_transfer(&signer, record)?,
            Record::AttestPrefix(record) => self.attest_prefix(&signer, record, tx.id)?,
            Record::TransferPrefix(record) => self.transfer_prefix(&signer, record)?,
            Record::RevokePrefix(record) => self.revoke_prefix(&signer, record)?,
            Record::RegisterProduct(record) => self.register_product(&signer, record)?,
            Record::Commission(record) => self.commission(&signer, record, tx.id)?,
            Record::Inspect(record) => self.inspect(&signer, record, tx.id)?,
            Record::Ship(record) => self.ship(&signer, record, tx.id)?,
            Record::Recall(record) => self.recall(&signer, record, tx.id)?,
            Record::CloseRecall(record) => self.close_recall(&signer, record, tx.id)?,
            Record::Pack(record) => self.pack(&signer, record, tx.id)?,
            Record::Unpack(record) => self.unpack(&signer, record)?,
            Record::LinkCodes(record) => self.link_codes(&signer, record)?,
        }
        let location = TxLocation {
            height: self.context.height,
            index: self.applied,
        };
        for (uscc, kind) in amendments_of(&tx.payload.record) {
            let amendment = Amendment {
                kind,
                by: signer.key,
                tx: tx.id,
                at: location,
            };
            self.log_amendment(uscc, amendment)?;
        }
        self.overlay
            .put(StateKey::Tx(tx.id), StateValue::Tx(location));
        Ok(())
    }

    /// Appends an amendment to the enterprise's history, after the record's own writes.
    fn log_amendment(&mut self, uscc: &Uscc, amendment: Amendment) -> Result<(), ExecError> {
        let mut state = self.existing_enterprise(uscc)?;
        let n = state.amendments;
        // Four billion amendments of one enterprise would take a registrar's whole key's life.
        state.amendments = n.checked_add(1).ok_or(RuleError::TooMany {
            field: "amendments",
            max: u32::MAX as usize,
            found: u32::MAX as usize,
        })?;
        self.overlay.put(
            StateKey::Amendment(uscc.clone(), n),
            StateValue::Amendment(amendment),
        );
        self.overlay.put(
            StateKey::Enterprise(uscc.clone()),
            StateValue::Enterprise(state),
        );
        Ok(())
    }

    /// Resolves the signer's roles. A revoked enterprise key is refused here, whatever it signs.
    fn signer(&self, key: &PublicKey) -> Result<Signer, ExecError> {
        let genesis = self.context.genesis;
        let enterprise = match self.overlay.key_binding(key)? {
            Some(KeyBinding {
                uscc,
                status: KeyStatus::Active,
                ..
            }) => Some(uscc),
            Some(KeyBinding {
                uscc,
                status: KeyStatus::Revoked { .. },
                ..
            }) => return Err(RuleError::KeyRevoked { key: *key, uscc }.into()),
            None => None,
        };
        let signer = Signer {
            key: *key,
            is_registrar: genesis.registrar(key).is_some(),
            is_regulator: genesis.regulator(key).is_some(),
            enterprise,
        };
        if !signer.is_registrar && !signer.is_regulator && signer.enterprise.is_none() {
            return Err(RuleError::UnknownSigner { signer: *key }.into());
        }
        Ok(signer)
    }

    /// The enterprise an enterprise key speaks for, which must be `uscc`.
    fn require_enterprise(
        &self,
        signer: &Signer,
        uscc: &Uscc,
    ) -> Result<EnterpriseState, ExecError> {
        match &signer.enterprise {
            Some(own) if own == uscc => Ok(self.existing_enterprise(uscc)?),
            Some(own) => Err(RuleError::WrongEnterprise {
                signer_uscc: own.clone(),
                record_uscc: uscc.clone(),
            }
            .into()),
            None => Err(RuleError::UnknownSigner { signer: signer.key }.into()),
        }
    }

    fn require_registrar(signer: &Signer, action: &'static str) -> Result<(), RuleError> {
        if signer.is_registrar {
            Ok(())
        } else {
            Err(RuleError::NotRegistrar {
                action,
                signer: signer.key,
            })
        }
    }

    /// The enterprise, if the signer may amend it: its registrar, or a regulator.
    fn amendable_enterprise(
        &self,
        signer: &Signer,
        uscc: &Uscc,
        action: &'static str,
    ) -> Result<EnterpriseState, ExecError> {
        if !signer.is_regulator {
            Self::require_registrar(signer, action)?;
        }
        let state = self.existing_enterprise(uscc)?;
        if !signer.is_regulator && signer.key != state.registrar() {
            return Err(RuleError::NotEnterprisesRegistrar {
                action,
                signer: signer.key,
                uscc: uscc.clone(),
                registrar: state.registrar(),
            }
            .into());
        }
        Ok(state)
    }

    fn existing_enterprise(&self, uscc: &Uscc) -> Result<EnterpriseState, ExecError> {
        self.overlay
            .enterprise(uscc)?
            .ok_or_else(|| RuleError::UnknownEnterprise { uscc: uscc.clone() }.into())
    }

    fn register_enterprise(
        &mut self,
        signer: &Signer,
        record: &RegisterEnterprise,
        id: TxId,
    ) -> Result<(), ExecError> {
        Self::require_registrar(signer, "enrolling an enterprise")?;
        let uscc = &record.enterprise.uscc;
        check_profile(&record.enterprise, &self.context)?;
        check_list("keys", &record.keys, 1, MAX_LIST_ENTRIES)?;
        if self.overlay.enterprise(uscc)?.is_some() {
            return Err(RuleError::EnterpriseExists { uscc: uscc.clone() }.into());
        }
        for key in &record.keys {
            self.bind_new_key(uscc, key)?;
        }
        Keeper::new(&mut self.overlay).enrolled(uscc, record.keys.len())?;
        let state = EnterpriseState {
            profile: record.enterprise.clone(),
            registered_by: signer.key,
            registered_at_height: self.context.height,
            keys: record.keys.clone(),
            transferred_to: None,
            pending_transfer: None,
            amendments: 0,
            prefixes: Vec::new(),
        };
        self.put_enterprise(state);
        check_list("prefixes", &record.prefixes, 0, MAX_LIST_ENTRIES)?;
        for prefix in &record.prefixes {
            // Each sees the ones before it, so the list cannot overlap itself either.
            let state = self.existing_enterprise(uscc)?;
            self.hold_prefix(state, prefix, signer.key, id)?;
        }
        // After the prefixes: the GLN may lie under one attested in the same record.
        self.claim_gln(uscc, record.enterprise.gln.as_ref(), None)
    }

    /// Claims `gln` as `uscc`'s party GLN in place of `previous`: it must lie under a GS1
    /// company prefix the enterprise holds (an enterprise names no location another company's
    /// numbering allocates) and be no other enterprise's (EPCIS names a party by it, so two
    /// holders would make every event naming it ambiguous).
    fn claim_gln(
        &mut self,
        uscc: &Uscc,
        gln: Option<&Gln>,
        previous: Option<&Gln>,
    ) -> Result<(), ExecError> {
        if gln == previous {
            return Ok(());
        }
        if let Some(gln) = gln {
            let held = self.existing_enterprise(uscc)?.prefixes;
            if !held.iter().any(|prefix| prefix.covers_gln(gln)) {
                return Err(RuleError::GlnNotUnderPrefix {
                    gln: gln.clone(),
                    uscc: uscc.clone(),
                }
                .into());
            }
            if let Some(holder) = self.overlay.gln_holder(gln)? {
                return Err(RuleError::GlnTaken {
                    gln: gln.clone(),
                    holder,
                }
                .into());
            }
            self.overlay
                .put(StateKey::Gln(gln.clone()), StateValue::Gln(uscc.clone()));
        }
        if let Some(previous) = previous {
            self.overlay.delete(StateKey::Gln(previous.clone()));
        }
        Ok(())
    }

    fn update_enterprise(
        &mut self,
        signer: &Signer,
        record: &UpdateEnterprise,
    ) -> Result<(), ExecError> {
        let mut state =
            self.amendable_enterprise(signer, &record.enterprise.uscc, "updating an enterprise")?;
        check_profile(&record.enterprise, &self.context)?;
        let uscc = &record.enterprise.uscc;
        self.claim_gln(
            uscc,
            record.enterprise.gln.as_ref(),
            state.profile.gln.as_ref(),
        )?;
        state.profile = record.enterprise.clone();
        self.overlay.put(
            StateKey::Enterprise(uscc.clone()),
            StateValue::Enterprise(state),
        );
        Ok(())
    }

    fn bind_key(&mut self, signer: &Signer, record: &BindKey) -> Result<(), ExecError> {
        let state = self.amendable_enterprise(signer, &record.uscc, "binding a key")?;
        self.add_key(state, &record.key)
    }

    fn rotate_key(&mut self, signer: &Signer, record: &RotateKey) -> Result<(), ExecError> {
        let state = self.require_enterprise(signer, &record.uscc)?;
        if signer.key != record.old_key {
            return Err(RuleError::RotationNotSignedByOldKey {
                old_key: record.old_key,
            }
            .into());
        }
        self.revoke(&record.uscc, &record.old_key)?;
        self.add_key(state, &record.new_key)
    }

    /// Binds one more key to an enrolled enterprise, within its bound on keys.
    fn add_key(&mut self, mut state: EnterpriseState, key: &PublicKey) -> Result<(), ExecError> {
        if state.keys.len() >= MAX_LIST_ENTRIES {
            return Err(RuleError::TooMany {
                field: "keys",
                max: MAX_LIST_ENTRIES,
                found: state.keys.len() + 1,
            }
            .into());
        }
        let uscc = state.profile.uscc.clone();
        self.bind_new_key(&uscc, key)?;
        Keeper::new(&mut self.overlay).key_bound(&uscc)?;
        state.keys.push(*key);
        self.overlay
            .put(StateKey::Enterprise(uscc), StateValue::Enterprise(state));
        Ok(())
    }

    fn revoke_key(&mut self, signer: &Signer, record: &RevokeKey) -> Result<(), ExecError> {
        if signer.is_registrar || signer.is_regulator {
            self.amendable_enterprise(signer, &record.uscc, "revoking a key")?;
        } else {
            self.require_enterprise(signer, &record.uscc)?;
        }
        self.revoke(&record.uscc, &record.key)?;
        Ok(Keeper::new(&mut self.overlay).key_revoked(&record.uscc)?)
    }

    fn offer_transfer(&mut self, signer: &Signer, record: &OfferTransfer) -> Result<(), ExecError> {
        Self::require_registrar(signer, "offering an enterprise to another registrar")?;
        let mut state = self.existing_enterprise(&record.uscc)?;
        let registrar = state.registrar();
        if signer.key != registrar {
            return Err(RuleError::NotEnterprisesRegistrar {
                action: "offering an enterprise to another registrar",
                signer: signer.key,
                uscc: record.uscc.clone(),
                registrar,
            }
            .into());
        }
        if self.context.genesis.registrar(&record.to).is_none() {
            return Err(RuleError::UnknownRegistrar { key: record.to }.into());
        }
        if record.to == registrar {
            return Err(RuleError::AlreadyRegistrar {
                uscc: record.uscc.clone(),
                registrar,
            }
            .into());
        }
        state.pending_transfer = Some(PendingTransfer {
            from: registrar,
            to: record.to,
            offered_at_height: self.context.height,
        });
        self.put_enterprise(state);
        Ok(())
    }

    fn accept_transfer(
        &mut self,
        signer: &Signer,
        record: &AcceptTransfer,
    ) -> Result<(), ExecError> {
        Self::require_registrar(signer, "taking over an enterprise")?;
        let mut state = self.existing_enterprise(&record.uscc)?;
        let offered = state.pending_transfer.as_ref().is_some_and(|pending| {
            pending.to == signer.key
                && pending.from == record.from
                && pending.from == state.registrar()
        });
        if !offered {
            return Err(RuleError::NoTransferOffer {
                uscc: record.uscc.clone(),
                from: record.from,
                to: signer.key,
            }
            .into());
        }
        state.transferred_to = Some(signer.key);
        state.pending_transfer = None;
        self.put_enterprise(state);
        Ok(())
    }

    fn withdraw_transfer(
        &mut self,
        signer: &Signer,
        record: &WithdrawTransfer,
    ) -> Result<(), ExecError> {
        Self::require_registrar(signer, "withdrawing a transfer")?;
        let mut state = self.existing_enterprise(&record.uscc)?;
        match &state.pending_transfer {
            Some(pending) if pending.from == signer.key || pending.to == signer.key => {}
            _ => {
                return Err(RuleError::NoTransferOffer {
                    uscc: record.uscc.clone(),
                    from: state.registrar(),
                    to: signer.key,
                }
                .into());
            }
        }
        state.pending_transfer = None;
        self.put_enterprise(state);
        Ok(())
    }

    fn attest_prefix(
        &mut self,
        signer: &Signer,
        record: &AttestPrefix,
        id: TxId,
    ) -> Result<(), ExecError> {
        let state = self.amendable_enterprise(signer, &record.uscc, "attesting a prefix")?;
        let Some(from) = &record.from else {
            return self.hold_prefix(state, &record.prefix, signer.key, id);
        };
        let offered = self.overlay.prefix(&record.prefix)?.is_some_and(|held| {
            &held.holder == from && held.offered_to.as_ref() == Some(&record.uscc)
        });
        if !offered {
            return Err(RuleError::NoPrefixOffer {
                prefix: record.prefix.clone(),
                from: from.clone(),
                to: record.uscc.clone(),
            }
            .into());
        }
        let mut old = self.existing_enterprise(from)?;
        old.prefixes.retain(|held| held != &record.prefix);
        self.put_enterprise(old);
        // The prefix was counted under its ancestors when `from` took it; it stays counted.
        self.take_prefix(state, &record.prefix, signer.key, id)
    }

    fn transfer_prefix(
        &mut self,
        signer: &Signer,
        record: &TransferPrefix,
    ) -> Result<(), ExecError> {
        self.require_enterprise(signer, &record.uscc)?;
        let mut held = self.prefix_held_by(&record.prefix, &record.uscc)?;
        if record.to == record.uscc {
            return Err(RuleError::PrefixHeld {
                prefix: record.prefix.clone(),
                holder: record.uscc.clone(),
            }
            .into());
        }
        self.existing_enterprise(&record.to)?;
        held.offered_to = Some(record.to.clone());
        self.overlay.put(
            StateKey::Prefix(record.prefix.clone()),
            StateValue::Prefix(held),
        );
        Ok(())
    }

    fn revoke_prefix(&mut self, signer: &Signer, record: &RevokePrefix) -> Result<(), ExecError> {
        let mut state = if signer.enterprise.as_ref() == Some(&record.uscc) {
            self.existing_enterprise(&record.uscc)?
        } else {
            self.amendable_enterprise(signer, &record.uscc, "revoking a prefix")?
        };
        self.prefix_held_by(&record.prefix, &record.uscc)?;
        state.prefixes.retain(|held| held != &record.prefix);
        self.put_enterprise(state);
        self.overlay.delete(StateKey::Prefix(record.prefix.clone()));
        self.count_under_ancestors(&record.prefix, false)
    }

    /// Gives `enterprise` a prefix nobody holds and that overlaps none held.
    fn hold_prefix(
        &mut self,
        enterprise: EnterpriseState,
        prefix: &IdPrefix,
        by: PublicKey,
        id: TxId,
    ) -> Result<(), ExecError> {
        if let Some(held) = self.overlay.prefix(prefix)? {
            return Err(RuleError::PrefixHeld {
                prefix: prefix.clone(),
                holder: held.holder,
            }
            .into());
        }
        for ancestor in prefix.ancestors() {
            if let Some(held) = self.overlay.prefix(&ancestor)? {
                return Err(RuleError::PrefixUnderHeld {
                    prefix: prefix.clone(),
                    held: ancestor,
                    holder: held.holder,
                }
                .into());
            }
        }
        let count = self.overlay.prefixes_under(prefix)?;
        if count > 0 {
            return Err(RuleError::PrefixCoversHeld {
                prefix: prefix.clone(),
                count,
            }
            .into());
        }
        self.count_under_ancestors(prefix, true)?;
        self.take_prefix(enterprise, prefix, by, id)
    }

    /// Records `enterprise` as the holder of `prefix`, whose overlaps were checked.
    fn take_prefix(
        &mut self,
        mut enterprise: EnterpriseState,
        prefix: &IdPrefix,
        by: PublicKey,
        id: TxId,
    ) -> Result<(), ExecError> {
        if enterprise.prefixes.len() >= MAX_LIST_ENTRIES {
            return Err(RuleError::TooMany {
                field: "prefixes",
                max: MAX_LIST_ENTRIES,
                found: enterprise.prefixes.len() + 1,
            }
            .into());
        }
        let state = PrefixState {
            holder: enterprise.profile.uscc.clone(),
            attested_by: by,
            attested_in: id,
            offered_to: None,
        };
        enterprise.prefixes.push(prefix.clone());
        self.put_enterprise(enterprise);
        self.overlay
            .put(StateKey::Prefix(prefix.clone()), StateValue::Prefix(state));
        Ok(())
    }

    /// Counts `prefix` in (or out of) every shorter prefix it lies under.
    fn count_under_ancestors(&mut self, prefix: &IdPrefix, add: bool) -> Result<(), ExecError> {
        for ancestor in prefix.ancestors() {
            let count = self.overlay.prefixes_under(&ancestor)?;
            let next = if add {
                // Overflow would take four billion attestations under one prefix.
                count.checked_add(1).ok_or(RuleError::TooMany {
                    field: "prefixes under one prefix",
                    max: u32::MAX as usize,
                    found: u32::MAX as usize,
                })?
            } else {
                count.saturating_sub(1)
            };
            let key = StateKey::PrefixesUnder(ancestor);
            if next == 0 {
                self.overlay.delete(key);
            } else {
                self.overlay.put(key, StateValue::PrefixesUnder(next));
            }
        }
        Ok(())
    }

    /// The prefix's state, if `uscc` holds it.
    fn prefix_held_by(&self, prefix: &IdPrefix, uscc: &Uscc) -> Result<PrefixState, ExecError> {
        match self.overlay.prefix(prefix)? {
            Some(held) if &held.holder == uscc => Ok(held),
            _ => Err(RuleError::PrefixNotHeld {
                prefix: prefix.clone(),
                uscc: uscc.clone(),
            }
            .into()),
        }
    }

    /// Refuses a code `enterprise` may not issue: one under none of its prefixes.
    fn check_issuer(
        &self,
        enterprise: &EnterpriseState,
        code: &TraceCode,
    ) -> Result<(), ExecError> {
        if enterprise
            .held_prefix(|prefix| code.lies_under(prefix))
            .is_some()
        {
            return Ok(());
        }
        self.refuse_outside_prefixes(enterprise, code.to_string(), code.prefix_candidates())
    }

    /// Refuses a model code `enterprise` may not register or commission under: one under none
    /// of its prefixes.
    fn check_model_issuer(
        &self,
        enterprise: &EnterpriseState,
        model_code: &ModelCode,
    ) -> Result<(), ExecError> {
        if enterprise
            .held_prefix(|prefix| model_code.lies_under(prefix))
            .is_some()
        {
            return Ok(());
        }
        self.refuse_outside_prefixes(
            enterprise,
            model_code.to_string(),
            model_code.prefix_candidates(),
        )
    }

    /// The refusal of a code outside `enterprise`'s prefixes, naming the enterprise whose
    /// prefix it lies under when there is one.
    fn refuse_outside_prefixes(
        &self,
        enterprise: &EnterpriseState,
        code: String,
        candidates: Vec<IdPrefix>,
    ) -> Result<(), ExecError> {
        let uscc = enterprise.profile.uscc.clone();
        for prefix in candidates {
            if let Some(held) = self.overlay.prefix(&prefix)? {
                return Err(RuleError::CodeUnderOthersPrefix {
                    code,
                    uscc,
                    prefix,
                    holder: held.holder,
                }
                .into());
            }
        }
        Err(RuleError::CodeOutsidePrefixes { code, uscc }.into())
    }

    fn put_enterprise(&mut self, state: EnterpriseState) {
        self.overlay.put(
            StateKey::Enterprise(state.profile.uscc.clone()),
            StateValue::Enterprise(state),
        );
    }

    fn bind_new_key(&mut self, uscc: &Uscc, key: &PublicKey) -> Result<(), ExecError> {
        if let Some(existing) = self.overlay.key_binding(key)? {
            return Err(RuleError::KeyAlreadyBound {
                key: *key,
                uscc: existing.uscc,
            }
            .into());
        }
        let binding = KeyBinding {
            uscc: uscc.clone(),
            bound_at_height: self.context.height,
            status: KeyStatus::Active,
        };
        self.overlay
            .put(StateKey::Key(*key), StateValue::Key(binding));
        Ok(())
    }

    fn revoke(&mut self, uscc: &Uscc, key: &PublicKey) -> Result<(), ExecError> {
        let not_active = || RuleError::NotActiveKeyOf {
            key: *key,
            uscc: uscc.clone(),
        };
        let mut binding = self.overlay.key_binding(key)?.ok_or_else(not_active)?;
        if &binding.uscc != uscc || binding.status != KeyStatus::Active {
            return Err(not_active().into());
        }
        binding.status = KeyStatus::Revoked {
            at_height: self.context.height,
        };
        self.overlay
            .put(StateKey::Key(*key), StateValue::Key(binding));
        Ok(())
    }

    fn register_product(
        &mut self,
        signer: &Signer,
        record: &ProductModel,
    ) -> Result<(), ExecError> {
        let enterprise = self.require_enterprise(signer, &record.uscc)?;
        require_producer(&enterprise, "register product models")?;
        check_list("standards", &record.standards, 0, MAX_LIST_ENTRIES)?;
        let previous = self.overlay.model(&record.model_code)?;
        if let Some(existing) = &previous
            && existing.model.uscc != record.uscc
        {
            return Err(RuleError::ModelOfOtherEnterprise {
                model: record.model_code.clone(),
                owner: existing.model.uscc.clone(),
            }
            .into());
        }
        check_category(
            self.context.genesis.catalogue(),
            record,
            previous.as_ref().map(|existing| &existing.model),
        )?;
        check_documents_held(&enterprise.profile, record, self.context.date())?;
        self.check_model_issuer(&enterprise, &record.model_code)?;
        if let Some(code) = TraceCode::of_model_code(&record.model_code)
            && (self.overlay.code(&code)?.is_some() || self.overlay.alias(&code)?.is_some())
        {
            return Err(RuleError::ModelCodeClash {
                code: code.to_string(),
            }
            .into());
        }
        // Re-registering the model as it stands changes nothing, so a flood of them cannot move
        // the producer's figures (or its model's registration height).
        if previous
            .as_ref()
            .is_some_and(|existing| &existing.model == record)
        {
            return Ok(());
        }
        Keeper::new(&mut self.overlay).model_registered(previous.as_ref(), record)?;
        let state = ModelState {
            model: record.clone(),
            registered_at_height: self.context.height,
        };
        self.overlay.put(
            StateKey::Model(record.model_code.clone()),
            StateValue::Model(state),
        );
        Ok(())
    }

    fn commission(
        &mut self,
        signer: &Signer,
        record: &Commissioning,
        id: TxId,
    ) -> Result<(), ExecError> {
        let enterprise = self.require_enterprise(signer, &record.uscc)?;
        require_producer(&enterprise, "commission codes")?;
        let model =
            self.overlay
                .model(&record.model_code)?
                .ok_or_else(|| RuleError::UnknownModel {
                    model: record.model_code.clone(),
                })?;
        if model.model.uscc != record.uscc {
            return Err(RuleError::ModelOfOtherEnterprise {
                model: record.model_code.clone(),
                owner: model.model.uscc,
            }
            .into());
        }
        let windows = self.context.genesis.time_windows();
        self.context.check_date(
            "production_date",
            record.production_date,
            windows.production_max_age_days,
        )?;
        // Valid when made, and still valid when reported: a backdated production date does
        // not revive an expired licence.
        check_documents_held(&enterprise.profile, &model.model, record.production_date)?;
        check_documents_held(&enterprise.profile, &model.model, self.context.date())?;
        let lines = record.items.lines();
        check_list("items", &lines, 1, MAX_ITEMS_PER_RECORD)?;
        if let Some(batch) = record.items.batch() {
            self.check_batch(batch, &record.model_code)?;
        }
        let mut seen = BTreeSet::new();
        let mut model_checked = false;
        for (code, quantity) in lines {
            if !seen.insert(code) {
                return Err(duplicate("items", code));
            }
            self.check_new_product_code(code, &record.model_code, quantity)?;
            // Every GS1 code of the record is of the model's GTIN (just checked): one look.
            if code.gtin().is_none() {
                self.check_issuer(&enterprise, code)?;
            } else if !model_checked {
                self.check_model_issuer(&enterprise, &record.model_code)?;
                model_checked = true;
            }
            let state = CodeState {
                model_code: record.model_code.clone(),
                producer: record.uscc.clone(),
                quantity,
                commissioned_by: id,
                batch: record.items.batch().cloned(),
                aliases: Vec::new(),
            };
            self.overlay
                .put(StateKey::Code(code.clone()), StateValue::Code(state));
            self.overlay.put(
                StateKey::Holding(code.clone(), record.uscc.clone()),
                StateValue::Holding(quantity),
            );
        }
        Ok(Keeper::new(&mut self.overlay).commissioned(record, id, self.context.time_ms)?)
    }

    /// Refuses a batch serialised items of model `model_code` may not name: one that is no batch,
    /// was never commissioned, or is of another model (and so of another producer, or none of
    /// this one's).
    fn check_batch(&self, batch: &TraceCode, model_code: &ModelCode) -> Result<(), ExecError> {
        if matches!(batch, TraceCode::Item { .. } | TraceCode::Sscc(_)) {
            return Err(RuleError::NotABatch {
                code: batch.clone(),
            }
            .into());
        }
        let state = self.existing_code(batch)?;
        if &state.model_code != model_code {
            return Err(RuleError::CodeOfOtherModel {
                code: batch.clone(),
                model: model_code.clone(),
            }
            .into());
        }
        if state.batch.is_some() {
            // An item of another batch: items do not nest.
            return Err(RuleError::NotABatch {
                code: batch.clone(),
            }
            .into());
        }
        Ok(())
    }

    fn check_new_product_code(
        &self,
        code: &TraceCode,
        model_code: &ModelCode,
        quantity: u64,
    ) -> Result<(), ExecError> {
        if matches!(code, TraceCode::Sscc(_)) {
            return Err(RuleError::NotAProductCode { code: code.clone() }.into());
        }
        check_gs1_code_of_model(code, model_code)?;
        check_quantity(code, quantity)?;
        if self.overlay.code(code)?.is_some() {
            return Err(RuleError::CodeAlreadyCommissioned { code: code.clone() }.into());
        }
        if let Some(of) = self.overlay.alias(code)? {
            return Err(RuleError::CodeIsAlias {
                code: code.clone(),
                of,
            }
            .into());
        }
        self.check_not_a_model_code(code)
    }

    /// Refuses an Ecode or Handle id that is a registered model's code as a batch, item or
    /// alias: one string names one thing.
    fn check_not_a_model_code(&self, code: &TraceCode) -> Result<(), ExecError> {
        if let Some(model_code) = code.as_model_code()
            && self.overlay.model(&model_code)?.is_some()
        {
            return Err(RuleError::ModelCodeClash {
                code: code.to_string(),
            }
            .into());
        }
        Ok(())
    }

    fn inspect(&mut self, signer: &Signer, record: &Inspection, id: TxId) -> Result<(), ExecError> {
        let inspection_body = match &signer.enterprise {
            Some(uscc) => Some(self.existing_enterprise(uscc)?.profile)
                .filter(|profile| profile.kind == EnterpriseKind::InspectionBody),
            None => None,
        };
        if !signer.is_regulator && inspection_body.is_none() {
            return Err(RuleError::NotInspector { signer: signer.key }.into());
        }
        check_list("standards", &record.standards, 1, MAX_LIST_ENTRIES)?;
        let max_age_days = self.context.genesis.time_windows().inspection_max_age_days;
        self.context
            .check_date("inspected_on", record.inspected_on, max_age_days)?;
        let (producer, category) = self.inspected_product(record)?;
        // A key bound to an inspection body speaks for the body, even one a regulator holds.
        match &inspection_body {
            Some(profile) => self.check_accreditation(profile, record, category.as_ref())?,
            None => {
                if let Some(accreditation) = &record.accreditation {
                    // A regulator has no profile to hold the accreditation it would name.
                    return Err(RuleError::UnknownAccreditation {
                        accreditation: accreditation.clone(),
                    }
                    .into());
                }
            }
        }
        Ok(Keeper::new(&mut self.overlay).inspected(record, &producer, id)?)
    }

    /// The producer and category of what an inspection is about; for a sampled product, after
    /// its own checks: a listed category, sampled no later than inspected.
    fn inspected_product(
        &self,
        record: &Inspection,
    ) -> Result<(Uscc, Option<CategoryId>), ExecError> {
        let product = match &record.subject {
            Subject::Sampled(product) => product,
            subject => {
                // First, so that a logistic unit or an unknown code is refused by its own rule.
                let producer = self.subject_producer(subject)?;
                let model = match subject {
                    Subject::Code(code) => self.existing_code(code)?.model_code,
                    _ => subject
                        .model()
                        .cloned()
                        .expect("the remaining subject is a model"),
                };
                let category = self
                    .overlay
                    .model(&model)?
                    .ok_or_else(|| RuleError::UnknownModel {
                        model: model.clone(),
                    })?
                    .model
                    .category;
                return Ok((producer, category));
            }
        };
        if self
            .context
            .genesis
            .catalogue()
            .category(&product.category)
            .is_none()
        {
            return Err(RuleError::UnknownSampledCategory {
                category: product.category.clone(),
            }
            .into());
        }
        self.check_printed_model(product)?;
        if product.sampled_on > record.inspected_on {
            return Err(RuleError::DatesOutOfOrder {
                earlier: "sampled_on",
                earlier_date: product.sampled_on,
                later: "inspected_on",
                later_date: record.inspected_on,
            }
            .into());
        }
        Ok((product.maker.clone(), Some(product.category.clone())))
    }

    /// Refuses a sampled product declared in another category than the registered model its
    /// printed code names, if it names one: a body accredited for one category could otherwise
    /// fail another's product by declaring it of its own. A printed code the ledger cannot read,
    /// or of no registered model (a counterfeit's invented code), is left as printed.
    fn check_printed_model(&self, product: &SampledProduct) -> Result<(), ExecError> {
        let Some(printed) = &product.printed_code else {
            return Ok(());
        };
        let Some(model_code) = self.printed_model(printed.as_str())? else {
            return Ok(());
        };
        let registered = self
            .overlay
            .model(&model_code)?
            .and_then(|m| m.model.category);
        match registered {
            Some(registered) if registered != product.category => {
                Err(RuleError::SampledCategoryMismatch {
                    printed_code: printed.to_string(),
                    model: model_code,
                    declared: product.category.clone(),
                    registered,
                }
                .into())
            }
            _ => Ok(()),
        }
    }

    /// The model a printed code names, read as `suyuan code inspect` reads it: a batch or item
    /// (or an alias of one) by its commissioning, a GS1 code or a bare GTIN by its GTIN, an
    /// Ecode or Handle id that is a model's code as that model.
    fn printed_model(&self, printed: &str) -> Result<Option<ModelCode>, ExecError> {
        let report = inspect(printed);
        if !report.valid {
            return Ok(None);
        }
        let Some(code) = report.trace_code else {
            let gtin = match report.kind {
                CodeKind::Gtin => report.fields.get("gtin14").and_then(|g| g.parse().ok()),
                _ => None,
            };
            return Ok(gtin.map(ModelCode::Gtin));
        };
        let commissioned = match self.overlay.alias(&code)? {
            Some(of) => of,
            None => code.clone(),
        };
        if let Some(state) = self.overlay.code(&commissioned)? {
            return Ok(Some(state.model_code));
        }
        Ok(code
            .gtin()
            .cloned()
            .map(ModelCode::Gtin)
            .or_else(|| code.as_model_code()))
    }

    /// An inspection body names one of its accreditations, valid on the inspection's date and
    /// the block's, and covering the product's category when it has a scope.
    ///
    /// A body whose registrar has recorded no accreditation at all (enrolled before profiles
    /// carried them) may still inspect without naming one, so that chains written before this
    /// rule still execute; once one is recorded, every inspection must name one. Under a
    /// genesis with `accreditation_required`, every inspection must name one.
    fn check_accreditation(
        &self,
        profile: &EnterpriseProfile,
        record: &Inspection,
        category: Option<&CategoryId>,
    ) -> Result<(), RuleError> {
        let Some(accreditation) = &record.accreditation else {
            if profile.accreditations.is_empty() && !self.context.genesis.accreditation_required() {
                return Ok(());
            }
            return Err(RuleError::AccreditationMissing {
                uscc: profile.uscc.clone(),
            });
        };
        let entry = profile
            .accreditations
            .iter()
            .find(|entry| &entry.number == accreditation)
            .ok_or_else(|| RuleError::UnknownAccreditation {
                accreditation: accreditation.clone(),
            })?;
        for on in [record.inspected_on, self.context.date()] {
            if !entry.valid_on(on) {
                return Err(RuleError::AccreditationNotValid {
                    accreditation: accreditation.clone(),
                    on,
                });
            }
        }
        if !entry.scope.is_empty() && !category.is_some_and(|category| entry.covers(category)) {
            return Err(RuleError::OutsideAccreditationScope {
                accreditation: accreditation.clone(),
                category: category.cloned(),
            });
        }
        Ok(())
    }

    fn ship(&mut self, signer: &Signer, record: &Shipment, id: TxId) -> Result<(), ExecError> {
        self.require_enterprise(signer, &record.seller)?;
        let max_age_days = self.context.genesis.time_windows().sale_max_age_days;
        self.context
            .check_time("sold_at_ms", record.sold_at_ms, max_age_days)?;
        check_list("lines", &record.lines, 1, MAX_ITEMS_PER_RECORD)?;
        let receiver = match &record.buyer {
            Party::Enterprise { uscc, .. } if uscc == &record.seller => {
                return Err(RuleError::SaleToSelf { uscc: uscc.clone() }.into());
            }
            // Goods sold to an enrolled enterprise become its holdings; to anyone else, they
            // leave the ledger's custody.
            Party::Enterprise { uscc, gln, .. } => {
                let enrolled = self.overlay.enterprise(uscc)?;
                if let Some(gln) = gln {
                    // EPCIS names the buyer by this GLN: it must be the buyer's, as its
                    // profile says, or, for a buyer not enrolled, no enrolled enterprise's.
                    let theirs = match &enrolled {
                        Some(state) => state.profile.gln.as_ref() == Some(gln),
                        None => self.overlay.gln_holder(gln)?.is_none(),
                    };
                    if !theirs {
                        return Err(RuleError::BuyerGlnNotTheirs {
                            gln: gln.clone(),
                            buyer: uscc.clone(),
                        }
                        .into());
                    }
                }
                enrolled.map(|_| uscc.clone())
            }
            Party::Person { commitment, .. } => {
                self.use_buyer_commitment(commitment, id)?;
                None
            }
        };
        let mut seen = BTreeSet::new();
        let mut moved = Vec::new();
        for line in &record.lines {
            if !seen.insert(&line.code) {
                return Err(duplicate("lines", &line.code));
            }
            let seller = &record.seller;
            match UnitCode::try_from(line.code.clone()) {
                Ok(unit) => {
                    let state = self.held_unit(&unit, seller)?;
                    check_quantity(&line.code, line.quantity)?;
                    let lines = moved.len() as u64 + state.lines;
                    if lines > MAX_LINES_MOVED {
                        return Err(RuleError::TooMany {
                            field: "lines moved, units' contents counted",
                            max: MAX_LINES_MOVED as usize,
                            found: lines as usize,
                        }
                        .into());
                    }
                    self.carry_unit(&unit, state, seller, receiver.as_ref(), &mut moved)?;
                }
                Err(_) => {
                    self.move_units(&line.code, line.quantity, seller, receiver.as_ref())?;
                    moved.push(line.code.clone());
                }
            }
        }
        Ok(Keeper::new(&mut self.overlay).shipped(record, &moved, id, self.context.time_ms)?)
    }

    /// Checks the EPCIS facts a record carries and marks its event id used by the signing
    /// party: the record must be an event, its own time (where it has one to the millisecond)
    /// must be the event's, and the party must not have recorded the id before.
    fn record_event(
        &mut self,
        signer: &Signer,
        record: &Record,
        event: &EpcisEvent,
        id: TxId,
    ) -> Result<(), ExecError> {
        let record_ms = match record {
            Record::Ship(record) => Some(record.sold_at_ms),
            Record::Pack(record) => Some(record.packed_at_ms),
            Record::Unpack(record) => Some(record.unpacked_at_ms),
            Record::Commission(_)
            | Record::Inspect(_)
            | Record::Recall(_)
            | Record::CloseRecall(_) => None,
            other => {
                return Err(RuleError::NotAnEvent {
                    record: other.type_name(),
                }
                .into());
            }
        };
        if event.is_empty() {
            return Err(RuleError::EmptyEvent.into());
        }
        if let (Some(record_ms), Some(time)) = (record_ms, &event.time)
            && i64::try_from(record_ms) != Ok(time.unix_ms())
        {
            return Err(RuleError::EventTimeMismatch {
                record_ms,
                event_ms: time.unix_ms(),
            }
            .into());
        }
        let Some(event_id) = &event.id else {
            return Ok(());
        };
        let party = match &signer.enterprise {
            Some(uscc) => uscc.to_string(),
            None => signer.key.to_string(),
        };
        let key = event_key(&party, event_id);
        if let Some(tx) = self.overlay.event(&key)? {
            return Err(RuleError::DuplicateEvent {
                id: event_id.to_string(),
                tx,
            }
            .into());
        }
        self.overlay
            .put(StateKey::Event(key), StateValue::Event(id));
        Ok(())
    }

    /// Records that sale `id` uses `commitment`, refusing one an earlier sale used: each sale
    /// to a person carries a commitment under a fresh salt, so a repeat is a reused salt (or a
    /// copied commitment), which would tie the buyer's purchases together.
    fn use_buyer_commitment(&mut self, commitment: &Hash32, id: TxId) -> Result<(), ExecError> {
        if let Some(sale) = self.overlay.buyer_commitment(commitment)? {
            return Err(RuleError::CommitmentReused {
                commitment: *commitment,
                sale,
            }
            .into());
        }
        self.overlay.put(
            StateKey::BuyerCommitment(*commitment),
            StateValue::BuyerCommitment(id),
        );
        Ok(())
    }

    fn move_units(
        &mut self,
        code: &TraceCode,
        quantity: u64,
        seller: &Uscc,
        receiver: Option<&Uscc>,
    ) -> Result<(), ExecError> {
        let state = self.existing_code(code)?;
        check_quantity(code, quantity)?;
        self.check_not_recalled(code, &state)?;
        let held = self.loose_units(code, quantity, seller)?;
        self.set_holding(code, seller, held - quantity);
        if let Some(receiver) = receiver {
            let received = self
                .overlay
                .holding(code, receiver)?
                .checked_add(quantity)
                .ok_or_else(|| RuleError::Overflow { code: code.clone() })?;
            self.set_holding(code, receiver, received);
        }
        Ok(())
    }

    /// Refuses to move a code under an open recall: of itself, its model or its batch.
    fn check_not_recalled(&self, code: &TraceCode, state: &CodeState) -> Result<(), ExecError> {
        for subject in state.subjects(code) {
            if let Some(recall) = self.overlay.open_recall(&subject)? {
                return Err(RuleError::UnderRecall {
                    code: code.clone(),
                    recall,
                }
                .into());
            }
        }
        Ok(())
    }

    /// The units of `code` that `holder` holds, if at least `quantity` of them are loose
    /// (outside logistic units): only those may be shipped or packed one by one.
    fn loose_units(
        &self,
        code: &TraceCode,
        quantity: u64,
        holder: &Uscc,
    ) -> Result<u64, ExecError> {
        let held = self.overlay.holding(code, holder)?;
        if held < quantity {
            return Err(RuleError::InsufficientHolding {
                code: code.clone(),
                holder: holder.clone(),
                held,
                requested: quantity,
            }
            .into());
        }
        let packed = self.overlay.packed(code, holder)?;
        assert!(
            packed <= held,
            "packed units of {code} are part of its holding"
        );
        if held - packed < quantity {
            return Err(RuleError::CodePacked {
                code: code.clone(),
                holder: holder.clone(),
                loose: held - packed,
                requested: quantity,
            }
            .into());
        }
        Ok(held)
    }

    /// The state of a unit `holder` holds and may move or unpack: one inside no other.
    fn held_unit(&self, unit: &UnitCode, holder: &Uscc) -> Result<UnitState, ExecError> {
        let state = self
            .overlay
            .unit(unit)?
            .ok_or_else(|| RuleError::UnknownUnit { unit: unit.clone() })?;
        if &state.holder != holder {
            return Err(RuleError::NotUnitHolder {
                unit: unit.clone(),
                holder: state.holder,
            }
            .into());
        }
        if let Some(parent) = state.parent {
            return Err(RuleError::UnitInUnit {
                unit: unit.clone(),
                parent,
            }
            .into());
        }
        Ok(state)
    }

    /// Moves a unit and everything inside it from `seller` to `receiver`; with no receiver
    /// (a buyer outside the ledger) the unit leaves the ledger's custody whole and its
    /// entries go. Pushes each product code moved to `moved`.
    fn carry_unit(
        &mut self,
        unit: &UnitCode,
        mut state: UnitState,
        seller: &Uscc,
        receiver: Option<&Uscc>,
        moved: &mut Vec<TraceCode>,
    ) -> Result<(), ExecError> {
        for line in &state.contents {
            match UnitCode::try_from(line.code.clone()) {
                Ok(inner) => {
                    let inner_state = self.overlay.unit(&inner)?.ok_or_else(|| {
                        corrupt(StateKey::Unit(inner.clone()), "a unit's inner unit is gone")
                    })?;
                    // Depth is bounded by MAX_PACKING_DEPTH, so the recursion is too.
                    self.carry_unit(&inner, inner_state, seller, receiver, moved)?;
                }
                Err(_) => {
                    let code = &line.code;
                    let code_state = self.overlay.code(code)?.ok_or_else(|| {
                        corrupt(StateKey::Code(code.clone()), "a packed code is gone")
                    })?;
                    self.check_not_recalled(code, &code_state)?;
                    self.take_packed(code, line.quantity, seller)?;
                    if let Some(receiver) = receiver {
                        self.add_packed(code, line.quantity, receiver)?;
                    }
                    moved.push(code.clone());
                }
            }
            if receiver.is_none() {
                self.overlay
                    .delete(StateKey::Contained(line.code.clone(), unit.clone()));
            }
        }
        match receiver {
            Some(receiver) => {
                state.holder = receiver.clone();
                self.overlay
                    .put(StateKey::Unit(unit.clone()), StateValue::Unit(state));
            }
            None => self.overlay.delete(StateKey::Unit(unit.clone())),
        }
        Ok(())
    }

    /// Takes `quantity` packed units of `code` from `holder`'s holding.
    fn take_packed(
        &mut self,
        code: &TraceCode,
        quantity: u64,
        holder: &Uscc,
    ) -> Result<(), ExecError> {
        let held = self.overlay.holding(code, holder)?;
        let packed = self.overlay.packed(code, holder)?;
        if packed < quantity || held < packed {
            return Err(corrupt(
                StateKey::Packed(code.clone(), holder.clone()),
                "a unit's contents exceed its holder's packed units",
            ));
        }
        self.set_holding(code, holder, held - quantity);
        self.set_packed(code, holder, packed - quantity);
        Ok(())
    }

    /// Adds `quantity` packed units of `code` to `holder`'s holding.
    fn add_packed(
        &mut self,
        code: &TraceCode,
        quantity: u64,
        holder: &Uscc,
    ) -> Result<(), ExecError> {
        let overflow = || RuleError::Overflow { code: code.clone() };
        let held = self.overlay.holding(code, holder)?;
        let packed = self.overlay.packed(code, holder)?;
        self.set_holding(
            code,
            holder,
            held.checked_add(quantity).ok_or_else(overflow)?,
        );
        self.set_packed(
            code,
            holder,
            packed.checked_add(quantity).ok_or_else(overflow)?,
        );
        Ok(())
    }

    fn set_packed(&mut self, code: &TraceCode, holder: &Uscc, units: u64) {
        let key = StateKey::Packed(code.clone(), holder.clone());
        if units == 0 {
            self.overlay.delete(key);
        } else {
            self.overlay.put(key, StateValue::Packed(units));
        }
    }

    /// Packs codes `record.uscc` holds into a new logistic unit.
    fn pack(&mut self, signer: &Signer, record: &Pack, id: TxId) -> Result<(), ExecError> {
        let enterprise = self.require_enterprise(signer, &record.uscc)?;
        let max_age_days = self.context.genesis.time_windows().sale_max_age_days;
        self.context
            .check_time("packed_at_ms", record.packed_at_ms, max_age_days)?;
        check_list("contents", &record.contents, 1, MAX_ITEMS_PER_RECORD)?;
        let unit = &record.sscc;
        if self.overlay.unit(unit)?.is_some() {
            return Err(RuleError::UnitAlreadyPacked { unit: unit.clone() }.into());
        }
        self.check_issuer(&enterprise, unit.as_code())?;
        let packer = &record.uscc;
        let (mut depth, mut lines) = (1u8, 0u64);
        let mut seen = BTreeSet::new();
        for line in &record.contents {
            if !seen.insert(&line.code) {
                return Err(duplicate("contents", &line.code));
            }
            match UnitCode::try_from(line.code.clone()) {
                // No cycle can form: the new unit does not exist yet, so it is no inner unit,
                // and an inner unit, once packed, is packed in nothing else until unpacked.
                Ok(inner) => {
                    let inner_state = self.pack_inner_unit(&inner, line.quantity, packer, unit)?;
                    depth = depth.max(inner_state.depth.saturating_add(1));
                    lines += inner_state.lines;
                }
                Err(_) => {
                    self.pack_loose(&line.code, line.quantity, packer, unit)?;
                    lines += 1;
                }
            }
        }
        if depth > MAX_PACKING_DEPTH {
            return Err(RuleError::PackingTooDeep {
                unit: unit.clone(),
                depth,
                max: MAX_PACKING_DEPTH,
            }
            .into());
        }
        if lines > MAX_UNIT_LINES {
            return Err(RuleError::TooMany {
                field: "unit lines, inner units' contents counted",
                max: MAX_UNIT_LINES as usize,
                found: lines as usize,
            }
            .into());
        }
        let state = UnitState {
            packer: packer.clone(),
            holder: packer.clone(),
            contents: record.contents.clone(),
            parent: None,
            depth,
            lines,
            packed_by: id,
        };
        self.overlay
            .put(StateKey::Unit(unit.clone()), StateValue::Unit(state));
        Ok(())
    }

    /// Puts a unit `packer` holds, loose, inside `outer`.
    fn pack_inner_unit(
        &mut self,
        inner: &UnitCode,
        quantity: u64,
        packer: &Uscc,
        outer: &UnitCode,
    ) -> Result<UnitState, ExecError> {
        let mut state = self.held_unit(inner, packer)?;
        check_quantity(inner.as_code(), quantity)?;
        let result = state.clone();
        state.parent = Some(outer.clone());
        self.overlay
            .put(StateKey::Unit(inner.clone()), StateValue::Unit(state));
        self.overlay.put(
            StateKey::Contained(inner.as_code().clone(), outer.clone()),
            StateValue::Contained(1),
        );
        Ok(result)
    }

    /// Marks `quantity` loose units of `code` that `packer` holds as inside `outer`.
    fn pack_loose(
        &mut self,
        code: &TraceCode,
        quantity: u64,
        packer: &Uscc,
        outer: &UnitCode,
    ) -> Result<(), ExecError> {
        self.existing_code(code)?;
        check_quantity(code, quantity)?;
        self.loose_units(code, quantity, packer)?;
        let packed = self.overlay.packed(code, packer)?;
        self.set_packed(code, packer, packed + quantity);
        self.overlay.put(
            StateKey::Contained(code.clone(), outer.clone()),
            StateValue::Contained(quantity),
        );
        Ok(())
    }

    /// Unpacks a unit its holder holds: the contents stay with it, loose.
    fn unpack(&mut self, signer: &Signer, record: &Unpack) -> Result<(), ExecError> {
        self.require_enterprise(signer, &record.uscc)?;
        let max_age_days = self.context.genesis.time_windows().sale_max_age_days;
        self.context
            .check_time("unpacked_at_ms", record.unpacked_at_ms, max_age_days)?;
        let unit = &record.sscc;
        let state = self.held_unit(unit, &record.uscc)?;
        for line in &state.contents {
            self.overlay
                .delete(StateKey::Contained(line.code.clone(), unit.clone()));
            match UnitCode::try_from(line.code.clone()) {
                Ok(inner) => {
                    let mut inner_state = self.overlay.unit(&inner)?.ok_or_else(|| {
                        corrupt(StateKey::Unit(inner.clone()), "a unit's inner unit is gone")
                    })?;
                    inner_state.parent = None;
                    self.overlay
                        .put(StateKey::Unit(inner), StateValue::Unit(inner_state));
                }
                Err(_) => {
                    let packed = self.overlay.packed(&line.code, &record.uscc)?;
                    let left = packed.checked_sub(line.quantity).ok_or_else(|| {
                        corrupt(
                            StateKey::Packed(line.code.clone(), record.uscc.clone()),
                            "a unit's contents exceed its holder's packed units",
                        )
                    })?;
                    self.set_packed(&line.code, &record.uscc, left);
                }
            }
        }
        self.overlay.delete(StateKey::Unit(unit.clone()));
        Ok(())
    }

    fn set_holding(&mut self, code: &TraceCode, holder: &Uscc, units: u64) {
        let key = StateKey::Holding(code.clone(), holder.clone());
        if units == 0 {
            self.overlay.delete(key);
        } else {
            self.overlay.put(key, StateValue::Holding(units));
        }
    }

    fn recall(&mut self, signer: &Signer, record: &Recall, id: TxId) -> Result<(), ExecError> {
        let issuer = if signer.is_regulator {
            Issuer::Regulator(signer.key)
        } else if signer.enterprise.as_ref() == Some(&record.producer) {
            Issuer::Enterprise(record.producer.clone())
        } else {
            return Err(RuleError::NotRecaller {
                signer: signer.key,
                producer: record.producer.clone(),
            }
            .into());
        };
        self.existing_enterprise(&record.producer)?;
        let max_age_days = self.context.genesis.time_windows().recall_max_age_days;
        self.context
            .check_date("announced_on", record.announced_on, max_age_days)?;
        check_list("subjects", &record.subjects, 1, MAX_ITEMS_PER_RECORD)?;
        let mut seen = BTreeSet::new();
        for subject in &record.subjects {
            if !seen.insert(subject) {
                return Err(duplicate("subjects", &format!("{subject:?}")));
            }
            if subject.sampled().is_some() {
                return Err(RuleError::SampledNotRecallable.into());
            }
            if self.subject_producer(subject)? != record.producer {
                return Err(RuleError::NotProducersProduct {
                    subject: subject.clone(),
                    producer: record.producer.clone(),
                }
                .into());
            }
            self.overlay.put(
                StateKey::OpenRecall(subject.clone()),
                StateValue::OpenRecall(id),
            );
        }
        let state = RecallState {
            producer: record.producer.clone(),
            subjects: record.subjects.clone(),
            issuer,
            issued_at_height: self.context.height,
            closed_by: None,
        };
        self.overlay
            .put(StateKey::Recall(id), StateValue::Recall(state));
        Ok(Keeper::new(&mut self.overlay).recalled(record, id)?)
    }

    fn close_recall(
        &mut self,
        signer: &Signer,
        record: &CloseRecall,
        id: TxId,
    ) -> Result<(), ExecError> {
        let mut state = self
            .overlay
            .recall(&record.recall)?
            .ok_or(RuleError::UnknownRecall {
                recall: record.recall,
            })?;
        if state.closed_by.is_some() {
            return Err(RuleError::RecallClosed {
                recall: record.recall,
            }
            .into());
        }
        let is_issuer = match &state.issuer {
            Issuer::Regulator(key) => key == &signer.key,
            Issuer::Enterprise(uscc) => signer.enterprise.as_ref() == Some(uscc),
        };
        if !signer.is_regulator && !is_issuer {
            return Err(RuleError::NotRecallCloser {
                signer: signer.key,
                recall: record.recall,
            }
            .into());
        }
        for subject in &state.subjects {
            // A later recall of the same subject replaced this one's entry; leave it open.
            if self.overlay.open_recall(subject)? == Some(record.recall) {
                self.overlay.delete(StateKey::OpenRecall(subject.clone()));
            }
        }
        state.closed_by = Some(id);
        let producer = state.producer.clone();
        self.overlay
            .put(StateKey::Recall(record.recall), StateValue::Recall(state));
        Ok(Keeper::new(&mut self.overlay).recall_closed(&producer)?)
    }

    /// The producer of a commissioned code or a registered model.
    fn subject_producer(&self, subject: &Subject) -> Result<Uscc, ExecError> {
        match subject {
            // A logistic unit is no product: recall or inspect what is inside it.
            Subject::Code(code @ TraceCode::Sscc(_)) => {
                Err(RuleError::NotAProductCode { code: code.clone() }.into())
            }
            Subject::Code(code) => Ok(self.existing_code(code)?.producer),
            Subject::Model(model_code) => Ok(self
                .overlay
                .model(model_code)?
                .ok_or_else(|| RuleError::UnknownModel {
                    model: model_code.clone(),
                })?
                .model
                .uscc),
            Subject::Sampled(product) => Ok(product.maker.clone()),
        }
    }

    /// A commissioned code's state; an alias is refused naming the code it stands for.
    fn existing_code(&self, code: &TraceCode) -> Result<CodeState, ExecError> {
        if let Some(state) = self.overlay.code(code)? {
            return Ok(state);
        }
        Err(match self.overlay.alias(code)? {
            Some(of) => RuleError::CodeIsAlias {
                code: code.clone(),
                of,
            },
            None => RuleError::UnknownCode { code: code.clone() },
        }
        .into())
    }

    /// Links other codes the same batch or item carries to the code it was commissioned under.
    fn link_codes(&mut self, signer: &Signer, record: &LinkCodes) -> Result<(), ExecError> {
        let enterprise = self.require_enterprise(signer, &record.uscc)?;
        if matches!(record.code, TraceCode::Sscc(_)) {
            return Err(RuleError::NotAProductCode {
                code: record.code.clone(),
            }
            .into());
        }
        let mut state = self.existing_code(&record.code)?;
        if state.producer != record.uscc {
            return Err(RuleError::NotProducersProduct {
                subject: Subject::Code(record.code.clone()),
                producer: record.uscc.clone(),
            }
            .into());
        }
        check_list("aliases", &record.aliases, 1, MAX_CODE_ALIASES)?;
        let mut seen = BTreeSet::new();
        for alias in &record.aliases {
            if !seen.insert(alias) {
                return Err(duplicate("aliases", alias));
            }
            self.check_alias(&enterprise, &record.code, &state, alias)?;
            self.overlay.put(
                StateKey::Alias(alias.clone()),
                StateValue::Alias(record.code.clone()),
            );
        }
        let linked = state.aliases.len() + record.aliases.len();
        if linked > MAX_CODE_ALIASES {
            return Err(RuleError::TooMany {
                field: "aliases, those linked before included",
                max: MAX_CODE_ALIASES,
                found: linked,
            }
            .into());
        }
        state.aliases.extend(record.aliases.iter().cloned());
        self.overlay
            .put(StateKey::Code(record.code.clone()), StateValue::Code(state));
        Ok(())
    }

    /// Refuses an alias `code` may not take: a logistic unit, a code that names anything
    /// already (a commissioned code, another alias, a model), a GS1 code of another model or
    /// kind, or a code outside the producer's prefixes.
    fn check_alias(
        &self,
        enterprise: &EnterpriseState,
        code: &TraceCode,
        state: &CodeState,
        alias: &TraceCode,
    ) -> Result<(), ExecError> {
        if matches!(alias, TraceCode::Sscc(_)) {
            return Err(RuleError::NotAProductCode {
                code: alias.clone(),
            }
            .into());
        }
        if self.overlay.code(alias)?.is_some() {
            return Err(RuleError::CodeAlreadyCommissioned {
                code: alias.clone(),
            }
            .into());
        }
        if let Some(of) = self.overlay.alias(alias)? {
            return Err(RuleError::AliasTaken {
                alias: alias.clone(),
                of,
            }
            .into());
        }
        self.check_not_a_model_code(alias)?;
        check_gs1_code_of_model(alias, &state.model_code)?;
        if alias.gtin().is_some() {
            // A GS1 lot names a batch and a serial one item: an alias keeps the code's kind, as
            // far as the code shows it (an Ecode or Handle id of one unit may be either).
            let fits = match alias {
                TraceCode::Item { .. } => {
                    state.quantity == 1 && !matches!(code, TraceCode::Lot { .. })
                }
                _ => !matches!(code, TraceCode::Item { .. }),
            };
            if !fits {
                return Err(RuleError::AliasOfOtherKind {
                    alias: alias.clone(),
                    code: code.clone(),
                }
                .into());
            }
        }
        self.check_issuer(enterprise, alias)
    }
}

/// The enterprise an administrative record amends, and how; `None` for the others.
/// The enterprises a record amends, and how: most amend one; a prefix changing hands amends
/// both its old and its new holder.
fn amendments_of(record: &Record) -> Vec<(&Uscc, AmendmentKind)> {
    match record {
        Record::RegisterEnterprise(r) => vec![(&r.enterprise.uscc, AmendmentKind::Enrolment)],
        Record::UpdateEnterprise(r) => vec![(&r.enterprise.uscc, AmendmentKind::Profile)],
        Record::BindKey(r) => vec![(&r.uscc, AmendmentKind::BindKey)],
        Record::RotateKey(r) => vec![(&r.uscc, AmendmentKind::RotateKey)],
        Record::RevokeKey(r) => vec![(&r.uscc, AmendmentKind::RevokeKey)],
        Record::OfferTransfer(r) => vec![(&r.uscc, AmendmentKind::TransferOffered)],
        Record::AcceptTransfer(r) => vec![(&r.uscc, AmendmentKind::TransferAccepted)],
        Record::WithdrawTransfer(r) => vec![(&r.uscc, AmendmentKind::TransferWithdrawn)],
        Record::AttestPrefix(r) => std::iter::once((&r.uscc, AmendmentKind::PrefixAttested))
            .chain(
                r.from
                    .iter()
                    .map(|from| (from, AmendmentKind::PrefixHandedOver)),
            )
            .collect(),
        Record::TransferPrefix(r) => vec![(&r.uscc, AmendmentKind::PrefixOffered)],
        Record::RevokePrefix(r) => vec![(&r.uscc, AmendmentKind::PrefixRevoked)],
        Record::RegisterProduct(_)
        | Record::Commission(_)
        | Record::Inspect(_)
        | Record::Ship(_)
        | Record::Recall(_)
        | Record::CloseRecall(_)
        | Record::Pack(_)
        | Record::Unpack(_)
        | Record::LinkCodes(_) => Vec::new(),
    }
}

/// Refuses a GS1 lot or item code that does not carry `model_code`'s GTIN, or any GS1 code of
/// a model without one; other codes are tied to their model by the record itself.
fn check_gs1_code_of_model(code: &TraceCode, model_code: &ModelCode) -> Result<(), RuleError> {
    let Some(code_gtin) = code.gtin() else {
        return Ok(());
    };
    match model_code.gtin() {
        None => Err(RuleError::GtinCodeOfNonGtinModel {
            code: code.clone(),
            model: model_code.clone(),
        }),
        Some(gtin) if gtin != code_gtin => Err(RuleError::CodeOfOtherModel {
            code: code.clone(),
            model: model_code.clone(),
        }),
        Some(_) => Ok(()),
    }
}

fn require_producer(enterprise: &EnterpriseState, action: &'static str) -> Result<(), RuleError> {
    let kind = enterprise.profile.kind;
    if kind.produces() {
        Ok(())
    } else {
        Err(RuleError::NotProducer {
            uscc: enterprise.profile.uscc.clone(),
            kind,
            action,
        })
    }
}

fn check_profile(profile: &EnterpriseProfile, context: &BlockContext<'_>) -> Result<(), RuleError> {
    check_list(
        "production_licences",
        &profile.production_licences,
        0,
        MAX_LIST_ENTRIES,
    )?;
    check_list(
        "ccc_certificates",
        &profile.ccc_certificates,
        0,
        MAX_LIST_ENTRIES,
    )?;
    check_document_dates(profile, context)?;
    check_accreditations(profile, context)
}

/// Accreditations: bounded, each once, valid from no later than the block's date, ending after
/// they begin and no later than the consortium's longest term, scoped to listed categories.
fn check_accreditations(
    profile: &EnterpriseProfile,
    context: &BlockContext<'_>,
) -> Result<(), RuleError> {
    check_list(
        "accreditations",
        &profile.accreditations,
        0,
        MAX_LIST_ENTRIES,
    )?;
    let term_days = context.genesis.time_windows().document_max_term_days;
    let latest = Date::from_unix_ms_china(
        context
            .time_ms
            .saturating_add(u64::from(term_days) * DAY_MS),
    );
    let catalogue = context.genesis.catalogue();
    let mut seen = BTreeSet::new();
    for entry in &profile.accreditations {
        let number = entry.number.to_string();
        if !seen.insert(&entry.number) {
            return Err(RuleError::Duplicate {
                field: "accreditations",
                value: number,
            });
        }
        context.check_not_after("accreditations.valid_from", entry.valid_from)?;
        if entry.valid_until < entry.valid_from {
            return Err(RuleError::ExpiresBeforeIssue {
                document: "accreditation",
                number,
                issued_on: entry.valid_from,
                valid_until: entry.valid_until,
            });
        }
        if entry.valid_until > latest {
            return Err(RuleError::ValidityTooLong {
                document: "accreditation",
                number,
                valid_until: entry.valid_until,
                latest,
            });
        }
        check_list("accreditations.scope", &entry.scope, 0, MAX_LIST_ENTRIES)?;
        if let Some(category) = entry
            .scope
            .iter()
            .find(|category| catalogue.category(category).is_none())
        {
            return Err(RuleError::UnknownScopeCategory {
                accreditation: entry.number.clone(),
                category: category.clone(),
            });
        }
    }
    Ok(())
}

/// Licence and certificate dates must be plausible: issued no later than the block's date,
/// expiring after issue, and valid no longer than the consortium's longest term from the
/// block's date. Expired entries may stay in a profile as history; they cover nothing.
fn check_document_dates(
    profile: &EnterpriseProfile,
    context: &BlockContext<'_>,
) -> Result<(), RuleError> {
    let term_days = context.genesis.time_windows().document_max_term_days;
    let latest = Date::from_unix_ms_china(
        context
            .time_ms
            .saturating_add(u64::from(term_days) * DAY_MS),
    );
    let not_too_long = |document: &'static str, number: String, valid_until: Date| {
        if valid_until > latest {
            return Err(RuleError::ValidityTooLong {
                document,
                number,
                valid_until,
                latest,
            });
        }
        Ok(())
    };
    let issued_before_expiry = |document: &'static str, number: String, issued_on, valid_until| {
        if valid_until < issued_on {
            return Err(RuleError::ExpiresBeforeIssue {
                document,
                number,
                issued_on,
                valid_until,
            });
        }
        Ok(())
    };
    let business = &profile.business_licence;
    context.check_not_after("business_licence.issued_on", business.issued_on)?;
    if let Some(valid_until) = business.valid_until {
        issued_before_expiry(
            "business licence",
            profile.uscc.to_string(),
            business.issued_on,
            valid_until,
        )?;
    }
    for licence in &profile.production_licences {
        not_too_long(
            "production licence",
            licence.number.to_string(),
            licence.valid_until,
        )?;
    }
    for certificate in &profile.ccc_certificates {
        let number = certificate.number.to_string();
        context.check_not_after("ccc_certificates.issued_on", certificate.issued_on)?;
        issued_before_expiry(
            "CCC certificate",
            number.clone(),
            certificate.issued_on,
            certificate.valid_until,
        )?;
        not_too_long("CCC certificate", number, certificate.valid_until)?;
    }
    Ok(())
}

/// A model must meet its category: named when the catalogue requires one, listed, the one it
/// was first registered in, with the documents its category requires named (whether the
/// enterprise holds them is [`check_documents_held`]'s), every field of its category filled
/// and no other.
fn check_category(
    catalogue: &Catalogue,
    model: &ProductModel,
    previous: Option<&ProductModel>,
) -> Result<(), RuleError> {
    let model_code = || model.model_code.clone();
    if let Some(previous) = previous
        && previous.category != model.category
    {
        return Err(RuleError::CategoryChanged {
            model: model_code(),
            from: previous.category.clone(),
            to: model.category.clone(),
        });
    }
    check_list(
        "fields",
        &model.fields.keys().collect::<Vec<_>>(),
        0,
        MAX_LIST_ENTRIES,
    )?;
    let Some(id) = &model.category else {
        if catalogue.require_category {
            return Err(RuleError::UncategorisedModel {
                model: model_code(),
            });
        }
        return match model.fields.keys().next() {
            Some(field) => Err(RuleError::UnknownField {
                model: model_code(),
                field: field.clone(),
            }),
            None => Ok(()),
        };
    };
    let category = catalogue
        .category(id)
        .ok_or_else(|| RuleError::UnknownCategory {
            model: model_code(),
            category: id.clone(),
        })?;
    for &document in &category.documents {
        let named = match document {
            DocumentKind::ProductionLicence => model.production_licence.is_some(),
            DocumentKind::CccCertificate => model.ccc_certificate.is_some(),
        };
        if !named {
            return Err(RuleError::MissingDocument {
                model: model_code(),
                category: id.clone(),
                document,
            });
        }
    }
    for spec in &category.fields {
        let filled = if spec.id.as_str() == STANDARDS_FIELD {
            !model.standards.is_empty()
        } else {
            model.fields.contains_key(&spec.id)
        };
        if !filled {
            return Err(RuleError::MissingField {
                model: model_code(),
                category: id.clone(),
                field: spec.id.clone(),
            });
        }
    }
    for field in model.fields.keys() {
        if field.as_str() == STANDARDS_FIELD || !category.requires_field(field) {
            return Err(RuleError::UnknownField {
                model: model_code(),
                field: field.clone(),
            });
        }
    }
    Ok(())
}

/// The model's licence and CCC certificate must be among the enterprise's, valid on `on`.
fn check_documents_held(
    profile: &EnterpriseProfile,
    model: &ProductModel,
    on: Date,
) -> Result<(), RuleError> {
    let missing = |document: &'static str, number: String| RuleError::DocumentNotHeld {
        uscc: profile.uscc.clone(),
        document,
        number,
        on,
    };
    if let Some(licence) = &model.production_licence {
        let held = profile
            .production_licences
            .iter()
            .any(|entry| &entry.number == licence && entry.valid_until >= on);
        if !held {
            return Err(missing("production licence", licence.to_string()));
        }
    }
    if let Some(certificate) = &model.ccc_certificate {
        let held = profile.ccc_certificates.iter().any(|entry| {
            &entry.number == certificate && entry.issued_on <= on && entry.valid_until >= on
        });
        if !held {
            return Err(missing("CCC certificate", certificate.to_string()));
        }
    }
    Ok(())
}

/// Refuses a quantity of zero, or other than one for a serialised item or a logistic unit.
fn check_quantity(code: &TraceCode, quantity: u64) -> Result<(), RuleError> {
    let single = code.is_single_item() || matches!(code, TraceCode::Sscc(_));
    if quantity == 0 || (single && quantity != 1) {
        return Err(RuleError::BadQuantity {
            code: code.clone(),
            quantity,
        });
    }
    Ok(())
}

fn check_list<T>(field: &'static str, list: &[T], min: usize, max: usize) -> Result<(), RuleError> {
    if list.len() < min {
        return Err(RuleError::Empty { field });
    }
    if list.len() > max {
        return Err(RuleError::TooMany {
            field,
            max,
            found: list.len(),
        });
    }
    Ok(())
}

/// State that contradicts what execution wrote: the node's fault, never the client's.
fn corrupt(key: StateKey, reason: &str) -> ExecError {
    StateError::Corrupt {
        key: key.to_string(),
        reason: reason.to_owned(),
    }
    .into()
}

fn duplicate(field: &'static str, value: &dyn std::fmt::Display) -> ExecError {
    RuleError::Duplicate {
        field,
        value: value.to_string(),
    }
    .into()
}

#[cfg(test)]
mod rule_code_tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::crypto::KeyPair;
    use crate::demo::{gtin, uscc};
    use crate::hash::Hash32;

    /// One value of every variant: `code` matches exhaustively, so a new variant fails to
    /// compile there and is then listed here.
    fn every_variant() -> Vec<RuleError> {
        let key = KeyPair::insecure_from_label("rule codes").public();
        let uscc = uscc("91420100MA4K7C8Q1");
        let gtin = gtin("0695012345001");
        let model = ModelCode::from(gtin.clone());
        let code: TraceCode = format!("01/{gtin}/10/L1")
            .parse()
            .expect("a valid lot code");
        let id = Hash32::ZERO;
        let prefix: IdPrefix = "gs1:6950123".parse().expect("a valid prefix");
        let category: CategoryId = "wires_cables".parse().expect("a valid id");
        let field: FieldId = "rated_voltage".parse().expect("a valid id");
        let unit = crate::demo::sscc("06950123000000001");
        let accreditation: Accreditation = "CNAS L5678".parse().expect("a valid number");
        let date: Date = "2026-01-02".parse().expect("a valid date");
        vec![
            RuleError::Replay { id },
            RuleError::NotRegistrar {
                action: "a",
                signer: key,
            },
            RuleError::UnknownSigner { signer: key },
            RuleError::KeyRevoked {
                key,
                uscc: uscc.clone(),
            },
            RuleError::WrongEnterprise {
                signer_uscc: uscc.clone(),
                record_uscc: uscc.clone(),
            },
            RuleError::EnterpriseExists { uscc: uscc.clone() },
            RuleError::UnknownEnterprise { uscc: uscc.clone() },
            RuleError::KeyAlreadyBound {
                key,
                uscc: uscc.clone(),
            },
            RuleError::NotActiveKeyOf {
                key,
                uscc: uscc.clone(),
            },
            RuleError::RotationNotSignedByOldKey { old_key: key },
            RuleError::Empty { field: "f" },
            RuleError::TooMany {
                field: "f",
                max: 1,
                found: 2,
            },
            RuleError::Duplicate {
                field: "f",
                value: "v".into(),
            },
            RuleError::NotProducer {
                uscc: uscc.clone(),
                kind: EnterpriseKind::Retailer,
                action: "a",
            },
            RuleError::ModelOfOtherEnterprise {
                model: model.clone(),
                owner: uscc.clone(),
            },
            RuleError::UnknownModel {
                model: model.clone(),
            },
            RuleError::DocumentNotHeld {
                uscc: uscc.clone(),
                document: "d",
                number: "n".into(),
                on: Date::from_unix_ms_china(0),
            },
            RuleError::CodeOfOtherModel {
                code: code.clone(),
                model: model.clone(),
            },
            RuleError::GtinCodeOfNonGtinModel {
                code: code.clone(),
                model: "handle:88.1.2/m"
                    .parse()
                    .expect("a valid Handle model code"),
            },
            RuleError::ModelCodeClash {
                code: "ecode:100126950100001".into(),
            },
            RuleError::CodeIsAlias {
                code: code.clone(),
                of: code.clone(),
            },
            RuleError::AliasTaken {
                alias: code.clone(),
                of: code.clone(),
            },
            RuleError::AliasOfOtherKind {
                alias: code.clone(),
                code: code.clone(),
            },
            RuleError::NotAProductCode { code: code.clone() },
            RuleError::CodeAlreadyCommissioned { code: code.clone() },
            RuleError::UnknownCode { code: code.clone() },
            RuleError::BadQuantity {
                code: code.clone(),
                quantity: 0,
            },
            RuleError::InsufficientHolding {
                code: code.clone(),
                holder: uscc.clone(),
                held: 0,
                requested: 1,
            },
            RuleError::SaleToSelf { uscc: uscc.clone() },
            RuleError::CommitmentReused {
                commitment: id,
                sale: id,
            },
            RuleError::UnderRecall {
                code: code.clone(),
                recall: id,
            },
            RuleError::InTheFuture {
                field: "f",
                value: "v".into(),
            },
            RuleError::TooOld {
                field: "f",
                value: "v".into(),
                oldest: "o".into(),
            },
            RuleError::ExpiresBeforeIssue {
                document: "d",
                number: "n".into(),
                issued_on: Date::from_unix_ms_china(1),
                valid_until: Date::from_unix_ms_china(0),
            },
            RuleError::ValidityTooLong {
                document: "d",
                number: "n".into(),
                valid_until: Date::from_unix_ms_china(1),
                latest: Date::from_unix_ms_china(0),
            },
            RuleError::NotEnterprisesRegistrar {
                action: "a",
                signer: key,
                uscc: uscc.clone(),
                registrar: key,
            },
            RuleError::UnknownRegistrar { key },
            RuleError::AlreadyRegistrar {
                uscc: uscc.clone(),
                registrar: key,
            },
            RuleError::NoTransferOffer {
                uscc: uscc.clone(),
                from: key,
                to: key,
            },
            RuleError::NotInspector { signer: key },
            RuleError::NotRecaller {
                signer: key,
                producer: uscc.clone(),
            },
            RuleError::NotProducersProduct {
                subject: Subject::Model(model.clone()),
                producer: uscc.clone(),
            },
            RuleError::UnknownRecall { recall: id },
            RuleError::RecallClosed { recall: id },
            RuleError::NotRecallCloser {
                signer: key,
                recall: id,
            },
            RuleError::Overflow { code: code.clone() },
            RuleError::PrefixHeld {
                prefix: prefix.clone(),
                holder: uscc.clone(),
            },
            RuleError::PrefixUnderHeld {
                prefix: prefix.clone(),
                held: prefix.clone(),
                holder: uscc.clone(),
            },
            RuleError::PrefixCoversHeld {
                prefix: prefix.clone(),
                count: 1,
            },
            RuleError::PrefixNotHeld {
                prefix: prefix.clone(),
                uscc: uscc.clone(),
            },
            RuleError::NoPrefixOffer {
                prefix: prefix.clone(),
                from: uscc.clone(),
                to: uscc.clone(),
            },
            RuleError::CodeUnderOthersPrefix {
                code: "c".into(),
                uscc: uscc.clone(),
                prefix,
                holder: uscc.clone(),
            },
            RuleError::CodeOutsidePrefixes {
                code: "c".into(),
                uscc: uscc.clone(),
            },
            RuleError::UnknownCategory {
                model: model.clone(),
                category: category.clone(),
            },
            RuleError::UncategorisedModel {
                model: model.clone(),
            },
            RuleError::MissingDocument {
                model: model.clone(),
                category: category.clone(),
                document: DocumentKind::CccCertificate,
            },
            RuleError::MissingField {
                model: model.clone(),
                category: category.clone(),
                field: field.clone(),
            },
            RuleError::UnknownField {
                model: model.clone(),
                field,
            },
            RuleError::CategoryChanged {
                model: model.clone(),
                from: Some(category.clone()),
                to: None,
            },
            RuleError::NotABatch { code: code.clone() },
            RuleError::UnitAlreadyPacked { unit: unit.clone() },
            RuleError::UnknownUnit { unit: unit.clone() },
            RuleError::NotUnitHolder {
                unit: unit.clone(),
                holder: uscc.clone(),
            },
            RuleError::UnitInUnit {
                unit: unit.clone(),
                parent: unit.clone(),
            },
            RuleError::CodePacked {
                code: code.clone(),
                holder: uscc.clone(),
                loose: 0,
                requested: 1,
            },
            RuleError::PackingTooDeep {
                unit,
                depth: 5,
                max: 4,
            },
            RuleError::AccreditationMissing { uscc: uscc.clone() },
            RuleError::UnknownAccreditation {
                accreditation: accreditation.clone(),
            },
            RuleError::AccreditationNotValid {
                accreditation: accreditation.clone(),
                on: date,
            },
            RuleError::OutsideAccreditationScope {
                accreditation: accreditation.clone(),
                category: None,
            },
            RuleError::UnknownScopeCategory {
                accreditation,
                category: category.clone(),
            },
            RuleError::DatesOutOfOrder {
                earlier: "sampled_on",
                earlier_date: date,
                later: "inspected_on",
                later_date: date,
            },
            RuleError::UnknownSampledCategory { category },
            RuleError::SampledCategoryMismatch {
                printed_code: "06950123450012".into(),
                model: model.clone(),
                declared: "gas_appliances".parse().expect("a valid category id"),
                registered: "wires_cables".parse().expect("a valid category id"),
            },
            RuleError::SampledNotRecallable,
        ]
    }

    #[test]
    fn every_rule_has_a_distinct_snake_case_code() {
        let errors = every_variant();
        let codes: BTreeSet<&str> = errors.iter().map(RuleError::code).collect();
        assert_eq!(codes.len(), errors.len(), "codes repeat: {codes:?}");
        for code in codes {
            assert!(
                !code.is_empty()
                    && !code.starts_with('_')
                    && !code.ends_with('_')
                    && !code.contains("__")
                    && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code} is not snake_case"
            );
        }
    }

    #[test]
    fn every_rule_is_documented_in_records_md() {
        let records = include_str!("../../docs/records.md");
        let missing: Vec<&str> = every_variant()
            .iter()
            .map(RuleError::code)
            .filter(|code| !records.contains(&format!("`{code}`")))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/records.md does not name {missing:?}"
        );
    }
}
