//! Count, at execution, what each enterprise's whole history shows: the figures its score and
//! its supplier report stand on, kept in state beside the records that change them.
//!
//! # Why in state
//!
//! A score computed by scanning an enterprise's newest records can be laundered: a producer
//! that floods its own index with harmless records (re-registering a model thousands of times)
//! pushes its failed inspections and recalls out of the window the scan reads. So every figure
//! here is kept up to date by the [`crate::exec::Executor`] in the same write set as the record
//! that changes it: every node holds the same figures at every height, they commit atomically
//! with the block, a refused transaction changes none of them, and an audit that replays
//! execution checks them. Reading them is O(1), whatever the length of the history.
//!
//! # What counts (one rule each, here and nowhere else)
//!
//! Only an enterprise's own, meaningful records count toward its own shares:
//!
//! - completeness: each product model once, by its current registration (`standards`
//!   filled); each of its commissionings (`factory_number`); each sale it signs as seller
//!   (`order_reference`). See [`field_check`]. A re-registration identical to the stored model
//!   changes nothing; one that changes it replaces the model's one entry, never adds one.
//! - timeliness: each commissioning and each sale it signs, committed within
//!   [`ON_TIME_WITHIN_HOURS`] of its event. See [`reporting_delay`].
//! - sale coverage, codes inspected, recalls: each code it commissioned, once, whatever the
//!   number of shipments, inspections or recalls naming it ([`CodeFacts`], [`ModelFacts`]). An
//!   inspection or recall of a batch covers every item belonging to it, items commissioned
//!   later too, as one of the model covers every code of it.
//! - inspection outcomes: each inspection of its codes and models, signed by a regulator or an
//!   inspection body (never by the enterprise itself), and each market sampling of a product
//!   not on the ledger whose label names it as maker. A maker that never enrolled gets facts
//!   (and no profile) from its first sampling; they stay when it enrols.
//! - key revocations: each key ever bound to it, a rotation not counting as a revocation.
//!
//! A record that names an enterprise as buyer counts nothing for it: a competitor shipping to a
//! victim again and again changes none of the victim's figures.
//!
//! # Listing the evidence
//!
//! The models, codes, inspections, recalls and dated records (commissionings and own sales)
//! an enterprise's figures count are numbered in
//! state, `0..n` in order of execution ([`StateKey::Listed`]), `n` kept in its
//! [`EnterpriseFacts`]: a reader pages them newest first by point reads, and no flood of other
//! records can push them out of reach.

use serde::{Deserialize, Serialize};

use crate::codes::model::ModelCode;
use crate::codes::uscc::Uscc;
use crate::record::{Commissioning, Inspection, Outcome, ProductModel, Recall, Record, Shipment};
use crate::record::{SampledProduct, Subject, TraceCode};
use crate::state::{
    CodeState, ModelState, Overlay, SamplingEntry, StateError, StateKey, StateRead, StateReadExt,
    StateValue,
};
use crate::text::Date;
use crate::tx::TxId;

/// A record committed this long after its event at most is on time.
pub const ON_TIME_WITHIN_HOURS: u64 = 72;

/// Milliseconds in an hour.
pub const HOUR_MS: u64 = 3_600_000;

const DAY_MS: u64 = 86_400_000;
const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;

/// How many things met a measure, out of how many were measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Count {
    /// Met the measure.
    pub met: u64,
    /// Measured; never less than `met`.
    pub out_of: u64,
}

impl Count {
    fn measure(&mut self, met: bool) {
        self.out_of += 1;
        self.met += u64::from(met);
    }
}

/// What an enterprise's whole history shows, kept by execution; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EnterpriseFacts {
    /// Models, commissionings and own sales with the field the SAMR content asks for filled.
    pub fields_filled: Count,
    /// Commissionings and own sales committed within [`ON_TIME_WITHIN_HOURS`].
    pub reported_on_time: Count,
    /// Commissioned codes with at least one shipment.
    pub codes_sold: Count,
    /// Commissioned codes inspected, themselves or through their batch or model.
    pub codes_inspected: Count,
    /// Inspections of its codes and models that found them conformant.
    pub inspections_conformant: Count,
    /// Commissioned codes never covered by a recall of the code, its batch or its model.
    pub codes_never_recalled: Count,
    /// Keys ever bound to it and never revoked by a `revoke_key` record.
    pub keys_never_revoked: Count,
    /// Product models it registered: the length of its [`Listing::Models`].
    pub models: u64,
    /// Recalls of its products: the length of its [`Listing::Recalls`].
    pub recalls: u64,
    /// Recalls of its products not closed.
    pub open_recalls: u64,
    /// The latest production date it commissioned.
    pub last_production_date: Option<Date>,
    /// The latest time of sale it recorded as seller, Unix ms.
    pub last_sold_at_ms: Option<u64>,
    /// The latest date one of its products was inspected on.
    pub last_inspected_on: Option<Date>,
    /// The latest date a recall of its products was announced on.
    pub last_recall_on: Option<Date>,
}

impl EnterpriseFacts {
    /// Inspections of its codes and models that found them non-conformant.
    pub fn failed_inspections(&self) -> u64 {
        self.inspections_conformant.out_of - self.inspections_conformant.met
    }

    /// How many entries `listing` holds for it.
    pub fn listed(&self, listing: Listing) -> u64 {
        match listing {
            Listing::Models => self.models,
            Listing::Codes => self.codes_sold.out_of,
            Listing::Inspections => self.inspections_conformant.out_of,
            Listing::Recalls => self.recalls,
            Listing::Events => self.reported_on_time.out_of,
        }
    }
}

/// What the figures of a producer's model stand on, for facts that reach all its codes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ModelFacts {
    /// Codes commissioned under it.
    pub codes: u64,
    /// Of those, codes inspected on their own before the model was.
    pub codes_inspected_alone: u64,
    /// Of those, codes recalled before the model was: by a recall of the code itself, or of
    /// the batch an item belongs to.
    pub codes_recalled_alone: u64,
    /// Inspections of the model itself.
    pub inspections: u64,
    /// Of those, non-conformant.
    pub failed_inspections: u64,
    /// Recalls of the model itself.
    pub recalls: u64,
}

/// What the records naming one commissioned code show.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CodeFacts {
    /// Shipment records moving it.
    pub shipments: u64,
    /// Inspections of the code itself.
    pub inspections: u64,
    /// Of those, non-conformant.
    pub failed_inspections: u64,
    /// Recalls of the code itself.
    pub recalls: u64,
    /// For a batch: serialised items commissioned as belonging to it. A recall of the batch
    /// covers them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub items: u64,
    /// For a batch: of those, items recalled on their own before the batch or the model was.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub items_recalled_alone: u64,
    /// For a batch: of its items, those inspected on their own before the batch or the model
    /// was. An inspection of the batch covers the others.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub items_inspected_alone: u64,
}

/// Whether a count is zero: a batch's item counts are left out of the stored facts of every
/// other code, so that codes' facts keep the bytes they had before batches counted items.
fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// What a record naming a code adds to it, for the figures it reaches: an inspection (passed
/// or failed) or a recall. Either covers the code, and for a batch every item of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cover {
    /// A conformant inspection.
    Inspection,
    /// A non-conformant inspection.
    FailedInspection,
    /// A recall.
    Recall,
}

impl Cover {
    /// Records of this sort naming the code itself.
    fn of_code(self, facts: &CodeFacts) -> u64 {
        match self {
            Cover::Inspection | Cover::FailedInspection => facts.inspections,
            Cover::Recall => facts.recalls,
        }
    }

    fn of_code_mut(self, facts: &mut CodeFacts) -> &mut u64 {
        match self {
            Cover::Inspection | Cover::FailedInspection => &mut facts.inspections,
            Cover::Recall => &mut facts.recalls,
        }
    }

    /// Records of this sort naming the model itself.
    fn of_model(self, model: &ModelFacts) -> u64 {
        match self {
            Cover::Inspection | Cover::FailedInspection => model.inspections,
            Cover::Recall => model.recalls,
        }
    }

    /// A batch's items covered on their own.
    fn items_alone(self, facts: &mut CodeFacts) -> &mut u64 {
        match self {
            Cover::Inspection | Cover::FailedInspection => &mut facts.items_inspected_alone,
            Cover::Recall => &mut facts.items_recalled_alone,
        }
    }

    /// A model's codes covered on their own.
    fn codes_alone(self, model: &mut ModelFacts) -> &mut u64 {
        match self {
            Cover::Inspection | Cover::FailedInspection => &mut model.codes_inspected_alone,
            Cover::Recall => &mut model.codes_recalled_alone,
        }
    }
}

/// A numbered list of an enterprise's evidence; see [`StateKey::Listed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Listing {
    /// Its product models, by first registration.
    Models,
    /// The codes it commissioned.
    Codes,
    /// Inspections of its codes and models.
    Inspections,
    /// Recalls of its products.
    Recalls,
    /// Its commissionings and its sales as seller: the dated records timeliness measures.
    Events,
}

impl Listing {
    /// Every listing.
    pub const ALL: [Listing; 5] = [
        Listing::Models,
        Listing::Codes,
        Listing::Inspections,
        Listing::Recalls,
        Listing::Events,
    ];

    /// Its byte in [`StateKey::to_bytes`].
    pub(crate) fn byte(self) -> u8 {
        match self {
            Listing::Models => 1,
            Listing::Codes => 2,
            Listing::Inspections => 3,
            Listing::Recalls => 4,
            Listing::Events => 5,
        }
    }

    /// The listing of [`Listing::byte`].
    pub(crate) fn from_byte(byte: u8) -> Option<Listing> {
        Listing::ALL
            .into_iter()
            .find(|listing| listing.byte() == byte)
    }
}

/// One entry of a [`Listing`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Listed {
    /// A model.
    Model(ModelCode),
    /// A commissioned code.
    Code(TraceCode),
    /// An inspection, a recall, a commissioning or a sale, by its transaction.
    Record(TxId),
}

/// The optional field the SAMR content asks for in one of `uscc`'s own records, and whether it
/// is filled: a model's standards, a commissioning's factory number, a sale's order reference.
/// `None` for a record that is not `uscc`'s own or asks for none.
pub fn field_check(record: &Record, uscc: &Uscc) -> Option<(&'static str, bool)> {
    match record {
        Record::RegisterProduct(model) if &model.uscc == uscc => {
            Some(("standards", !model.standards.is_empty()))
        }
        Record::Commission(record) if &record.uscc == uscc => {
            Some(("factory_number", record.factory_number.is_some()))
        }
        Record::Ship(sale) if &sale.seller == uscc => {
            Some(("order_reference", sale.order_reference.is_some()))
        }
        _ => None,
    }
}

/// How long after its event one of `uscc`'s dated records was committed, in a block of
/// `block_time_ms`: its commissionings by production date, taken at the end of that day in
/// China Standard Time (so a record is never late for the hours of its own day), and its sales
/// by time of sale. With what it was and whether that is on time.
pub fn reporting_delay(
    record: &Record,
    uscc: &Uscc,
    block_time_ms: u64,
) -> Option<(&'static str, u64, bool)> {
    let (what, event_ms) = match record {
        Record::Commission(record) if &record.uscc == uscc => (
            "commissioning, after its production date",
            end_of_day_ms(record.production_date),
        ),
        Record::Ship(sale) if &sale.seller == uscc => ("sale, after its time", sale.sold_at_ms),
        _ => return None,
    };
    let delay_ms = block_time_ms.saturating_sub(event_ms);
    Some((what, delay_ms, delay_ms <= ON_TIME_WITHIN_HOURS * HOUR_MS))
}

/// The first millisecond after `date` ends in China Standard Time (0 before 1970).
pub fn end_of_day_ms(date: Date) -> u64 {
    let next_day_ms = (date.days_since_epoch() + 1).saturating_mul(DAY_MS as i64);
    u64::try_from(next_day_ms - CHINA_OFFSET_MS).unwrap_or(0)
}

/// Typed reads of the facts.
pub trait FactsRead: StateRead {
    /// An enterprise's facts; every enrolled enterprise has them, and every maker a market
    /// sampling named.
    fn enterprise_facts(&self, uscc: &Uscc) -> Result<Option<EnterpriseFacts>, StateError> {
        let key = StateKey::EnterpriseFacts(uscc.clone());
        match self.get(&key)? {
            Some(StateValue::EnterpriseFacts(facts)) => Ok(Some(facts)),
            None => Ok(None),
            Some(_) => Err(mismatch(&key)),
        }
    }

    /// A model's facts; zero before its first commissioning, inspection or recall.
    fn model_facts(&self, model_code: &ModelCode) -> Result<ModelFacts, StateError> {
        let key = StateKey::ModelFacts(model_code.clone());
        match self.get(&key)? {
            Some(StateValue::ModelFacts(facts)) => Ok(facts),
            None => Ok(ModelFacts::default()),
            Some(_) => Err(mismatch(&key)),
        }
    }

    /// A code's facts; zero before the first record naming it after its commissioning.
    fn code_facts(&self, code: &TraceCode) -> Result<CodeFacts, StateError> {
        let key = StateKey::CodeFacts(code.clone());
        match self.get(&key)? {
            Some(StateValue::CodeFacts(facts)) => Ok(facts),
            None => Ok(CodeFacts::default()),
            Some(_) => Err(mismatch(&key)),
        }
    }

    /// Entry `number` of `uscc`'s `listing`.
    fn listed(
        &self,
        uscc: &Uscc,
        listing: Listing,
        number: u64,
    ) -> Result<Option<Listed>, StateError> {
        let key = StateKey::Listed(uscc.clone(), listing, number);
        match self.get(&key)? {
            Some(StateValue::Listed(entry)) => Ok(Some(entry)),
            None => Ok(None),
            Some(_) => Err(mismatch(&key)),
        }
    }
}

impl<S: StateRead + ?Sized> FactsRead for S {}

fn mismatch(key: &StateKey) -> StateError {
    StateError::Corrupt {
        key: key.to_string(),
        reason: "value kind does not match the key".into(),
    }
}

/// Keeps the facts while an executor applies one record: each method is called by the rule
/// that accepted the record, after its checks, so a refusal drops its writes with the rest.
pub(crate) struct Keeper<'o, 'a, S: StateRead + ?Sized> {
    overlay: &'o mut Overlay<'a, S>,
}

impl<'o, 'a, S: StateRead + ?Sized> Keeper<'o, 'a, S> {
    pub(crate) fn new(overlay: &'o mut Overlay<'a, S>) -> Self {
        Keeper { overlay }
    }

    /// An enterprise enrolled with `keys` keys. Market samplings naming it before it enrolled
    /// gave it facts already; they stay.
    pub(crate) fn enrolled(&mut self, uscc: &Uscc, keys: usize) -> Result<(), StateError> {
        let mut facts = self.overlay.enterprise_facts(uscc)?.unwrap_or_default();
        facts.keys_never_revoked.met += keys as u64;
        facts.keys_never_revoked.out_of += keys as u64;
        self.put(uscc, facts);
        Ok(())
    }

    /// One more key bound, by `bind_key` or a rotation.
    pub(crate) fn key_bound(&mut self, uscc: &Uscc) -> Result<(), StateError> {
        self.update(uscc, |facts| facts.keys_never_revoked.measure(true))
    }

    /// A key revoked by a `revoke_key` record (a rotation is not a revocation).
    pub(crate) fn key_revoked(&mut self, uscc: &Uscc) -> Result<(), StateError> {
        self.update(uscc, |facts| {
            assert!(
                facts.keys_never_revoked.met > 0,
                "an active key was counted"
            );
            facts.keys_never_revoked.met -= 1;
        })
    }

    /// A model registered over `previous`: a new model counts once; a changed one replaces its
    /// entry; an identical one changes nothing (the executor writes nothing for it).
    pub(crate) fn model_registered(
        &mut self,
        previous: Option<&ModelState>,
        model: &ProductModel,
    ) -> Result<(), StateError> {
        let record = Record::RegisterProduct(model.clone());
        let filled = field_check(&record, &model.uscc).is_some_and(|(_, filled)| filled);
        let model_code = model.model_code.clone();
        let mut listed = None;
        self.update(&model.uscc, |facts| match previous {
            None => {
                facts.fields_filled.measure(filled);
                listed = Some(facts.models);
                facts.models += 1;
            }
            Some(previous) => {
                let was_filled = !previous.model.standards.is_empty();
                facts.fields_filled.met =
                    facts.fields_filled.met - u64::from(was_filled) + u64::from(filled);
            }
        })?;
        if let Some(number) = listed {
            self.list(
                &model.uscc,
                Listing::Models,
                number,
                Listed::Model(model_code),
            );
        }
        Ok(())
    }

    /// A commissioning by transaction `id`, committed in a block of `block_time_ms`.
    pub(crate) fn commissioned(
        &mut self,
        record: &Commissioning,
        id: TxId,
        block_time_ms: u64,
    ) -> Result<(), StateError> {
        let mut model = self.overlay.model_facts(&record.model_code)?;
        let lines = record.items.lines();
        let codes = lines.len() as u64;
        // Items of a batch already inspected or recalled are inspected or recalled from the
        // start, as are all codes of an inspected or recalled model.
        let (batch_inspected, batch_recalled) = match record.items.batch() {
            Some(batch) => {
                let mut facts = self.overlay.code_facts(batch)?;
                facts.items += codes;
                let seen = (facts.inspections > 0, facts.recalls > 0);
                self.put_code(batch, facts);
                seen
            }
            None => (false, false),
        };
        if batch_inspected && model.inspections == 0 {
            model.codes_inspected_alone += codes;
        }
        if batch_recalled && model.recalls == 0 {
            model.codes_recalled_alone += codes;
        }
        let inspected = model.inspections > 0 || batch_inspected;
        let recalled = model.recalls > 0 || batch_recalled;
        let wrapped = Record::Commission(record.clone());
        let uscc = &record.uscc;
        let filled = field_check(&wrapped, uscc).is_some_and(|(_, filled)| filled);
        let on_time = reporting_delay(&wrapped, uscc, block_time_ms).is_some_and(|(.., on)| on);
        let (mut first, mut event) = (0, 0);
        self.update(uscc, |facts| {
            facts.fields_filled.measure(filled);
            event = facts.reported_on_time.out_of;
            facts.reported_on_time.measure(on_time);
            first = facts.codes_sold.out_of;
            facts.codes_sold.out_of += codes;
            facts.codes_inspected.out_of += codes;
            facts.codes_inspected.met += if inspected { codes } else { 0 };
            facts.codes_never_recalled.out_of += codes;
            facts.codes_never_recalled.met += if recalled { 0 } else { codes };
            facts.last_production_date =
                facts.last_production_date.max(Some(record.production_date));
        })?;
        self.list(uscc, Listing::Events, event, Listed::Record(id));
        for (offset, (code, _)) in lines.into_iter().enumerate() {
            let entry = Listed::Code(code.clone());
            self.list(uscc, Listing::Codes, first + offset as u64, entry);
        }
        let model = ModelFacts {
            codes: model.codes + codes,
            ..model
        };
        self.put_model(&record.model_code, model);
        Ok(())
    }

    /// A shipment by transaction `id`, committed in a block of `block_time_ms`, that moved
    /// the product codes `moved`: its lines, each logistic unit's contents in its place. The
    /// codes exist.
    pub(crate) fn shipped(
        &mut self,
        sale: &Shipment,
        moved: &[TraceCode],
        id: TxId,
        block_time_ms: u64,
    ) -> Result<(), StateError> {
        let wrapped = Record::Ship(sale.clone());
        let seller = &sale.seller;
        let filled = field_check(&wrapped, seller).is_some_and(|(_, filled)| filled);
        let on_time = reporting_delay(&wrapped, seller, block_time_ms).is_some_and(|(.., on)| on);
        let mut event = 0;
        self.update(seller, |facts| {
            facts.fields_filled.measure(filled);
            event = facts.reported_on_time.out_of;
            facts.reported_on_time.measure(on_time);
            facts.last_sold_at_ms = facts.last_sold_at_ms.max(Some(sale.sold_at_ms));
        })?;
        self.list(seller, Listing::Events, event, Listed::Record(id));
        for code in moved {
            let state = self.code_state(code)?;
            let mut facts = self.overlay.code_facts(code)?;
            if facts.shipments == 0 {
                self.update(&state.producer, |producer| producer.codes_sold.met += 1)?;
            }
            facts.shipments += 1;
            self.put_code(code, facts);
        }
        Ok(())
    }

    /// An inspection of a product of `producer`, recorded by transaction `id`.
    pub(crate) fn inspected(
        &mut self,
        inspection: &Inspection,
        producer: &Uscc,
        id: TxId,
    ) -> Result<(), StateError> {
        let failed = u64::from(inspection.outcome == Outcome::NonConformant);
        let newly_inspected = match &inspection.subject {
            Subject::Sampled(product) => {
                self.sampled(inspection, product, id)?;
                0
            }
            Subject::Code(code) => {
                let cover = match failed {
                    0 => Cover::Inspection,
                    _ => Cover::FailedInspection,
                };
                self.code_covered(code, cover)?
            }
            Subject::Model(model_code) => {
                let mut model = self.overlay.model_facts(model_code)?;
                let newly = match model.inspections {
                    0 => model.codes - model.codes_inspected_alone,
                    _ => 0,
                };
                model.inspections += 1;
                model.failed_inspections += failed;
                self.put_model(model_code, model);
                newly
            }
        };
        let mut number = 0;
        if inspection.subject.sampled().is_some()
            && self.overlay.enterprise_facts(producer)?.is_none()
        {
            // The maker a sampling names may not be enrolled: its facts begin here.
            self.put(producer, EnterpriseFacts::default());
        }
        self.update(producer, |facts| {
            facts.codes_inspected.met += newly_inspected;
            number = facts.inspections_conformant.out_of;
            facts
                .inspections_conformant
                .measure(inspection.outcome == Outcome::Conformant);
            facts.last_inspected_on = facts.last_inspected_on.max(Some(inspection.inspected_on));
        })?;
        self.list(producer, Listing::Inspections, number, Listed::Record(id));
        Ok(())
    }

    /// A market sampling of an off-ledger product, by transaction `id`: numbered among the
    /// consortium's samplings, with what a listing filters on.
    fn sampled(
        &mut self,
        inspection: &Inspection,
        product: &SampledProduct,
        id: TxId,
    ) -> Result<(), StateError> {
        let n = self.overlay.off_ledger_samplings()?;
        let entry = SamplingEntry {
            tx: id,
            maker: product.maker.clone(),
            category: product.category.clone(),
            outcome: inspection.outcome,
            inspected_on: inspection.inspected_on,
        };
        self.overlay.put(
            StateKey::OffLedgerSampling(n),
            StateValue::OffLedgerSampling(entry),
        );
        self.overlay.put(
            StateKey::OffLedgerSamplings,
            StateValue::OffLedgerSamplings(n + 1),
        );
        Ok(())
    }

    /// A recall by transaction `id`; its subjects are the producer's.
    pub(crate) fn recalled(&mut self, recall: &Recall, id: TxId) -> Result<(), StateError> {
        let mut newly_recalled = 0;
        for subject in &recall.subjects {
            newly_recalled += match subject {
                Subject::Code(code) => self.code_covered(code, Cover::Recall)?,
                Subject::Sampled(_) => {
                    unreachable!("execution refuses a recall of a sampled product")
                }
                Subject::Model(model_code) => {
                    let mut model = self.overlay.model_facts(model_code)?;
                    let newly = match model.recalls {
                        0 => model.codes - model.codes_recalled_alone,
                        _ => 0,
                    };
                    model.recalls += 1;
                    self.put_model(model_code, model);
                    newly
                }
            };
        }
        let mut number = 0;
        self.update(&recall.producer, |facts| {
            assert!(
                facts.codes_never_recalled.met >= newly_recalled,
                "codes newly recalled were counted as never recalled"
            );
            facts.codes_never_recalled.met -= newly_recalled;
            number = facts.recalls;
            facts.recalls += 1;
            facts.open_recalls += 1;
            facts.last_recall_on = facts.last_recall_on.max(Some(recall.announced_on));
        })?;
        self.list(
            &recall.producer,
            Listing::Recalls,
            number,
            Listed::Record(id),
        );
        Ok(())
    }

    /// An inspection or recall naming `code`; returns how many codes it newly covers: none if
    /// the code, its batch or its model was covered before; else the code, and for a batch its
    /// items not covered on their own.
    fn code_covered(&mut self, code: &TraceCode, cover: Cover) -> Result<u64, StateError> {
        let state = self.code_state(code)?;
        let mut facts = self.overlay.code_facts(code)?;
        let mut model = self.overlay.model_facts(&state.model_code)?;
        let batch = match &state.batch {
            Some(batch) => Some((batch, self.overlay.code_facts(batch)?)),
            None => None,
        };
        let batch_covered = batch
            .as_ref()
            .is_some_and(|(_, facts)| cover.of_code(facts) > 0);
        let newly = if cover.of_code(&facts) == 0 && cover.of_model(&model) == 0 && !batch_covered {
            let items = facts.items - *cover.items_alone(&mut facts);
            if let Some((batch, mut batch_facts)) = batch {
                *cover.items_alone(&mut batch_facts) += 1;
                self.put_code(batch, batch_facts);
            }
            *cover.codes_alone(&mut model) += 1 + items;
            self.put_model(&state.model_code, model);
            1 + items
        } else {
            0
        };
        *cover.of_code_mut(&mut facts) += 1;
        if cover == Cover::FailedInspection {
            facts.failed_inspections += 1;
        }
        self.put_code(code, facts);
        Ok(newly)
    }

    /// A recall of `producer`'s products closed.
    pub(crate) fn recall_closed(&mut self, producer: &Uscc) -> Result<(), StateError> {
        self.update(producer, |facts| {
            assert!(facts.open_recalls > 0, "the recall closed was counted open");
            facts.open_recalls -= 1;
        })
    }

    fn code_state(&self, code: &TraceCode) -> Result<CodeState, StateError> {
        self.overlay.code(code)?.ok_or_else(|| StateError::Corrupt {
            key: StateKey::Code(code.clone()).to_string(),
            reason: "a code the record was accepted for is not in state".into(),
        })
    }

    fn update(
        &mut self,
        uscc: &Uscc,
        change: impl FnOnce(&mut EnterpriseFacts),
    ) -> Result<(), StateError> {
        let mut facts =
            self.overlay
                .enterprise_facts(uscc)?
                .ok_or_else(|| StateError::Corrupt {
                    key: StateKey::EnterpriseFacts(uscc.clone()).to_string(),
                    reason: "an enrolled enterprise has no facts".into(),
                })?;
        change(&mut facts);
        for count in [
            facts.fields_filled,
            facts.reported_on_time,
            facts.codes_sold,
            facts.codes_inspected,
            facts.inspections_conformant,
            facts.codes_never_recalled,
            facts.keys_never_revoked,
        ] {
            assert!(
                count.met <= count.out_of,
                "a count meets at most all it measures"
            );
        }
        assert!(facts.open_recalls <= facts.recalls);
        self.put(uscc, facts);
        Ok(())
    }

    fn put(&mut self, uscc: &Uscc, facts: EnterpriseFacts) {
        self.overlay.put(
            StateKey::EnterpriseFacts(uscc.clone()),
            StateValue::EnterpriseFacts(facts),
        );
    }

    fn put_model(&mut self, model_code: &ModelCode, facts: ModelFacts) {
        self.overlay.put(
            StateKey::ModelFacts(model_code.clone()),
            StateValue::ModelFacts(facts),
        );
    }

    fn put_code(&mut self, code: &TraceCode, facts: CodeFacts) {
        self.overlay.put(
            StateKey::CodeFacts(code.clone()),
            StateValue::CodeFacts(facts),
        );
    }

    fn list(&mut self, uscc: &Uscc, listing: Listing, number: u64, entry: Listed) {
        self.overlay.put(
            StateKey::Listed(uscc.clone(), listing, number),
            StateValue::Listed(entry),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_ends_at_midnight_china_time() {
        let date: Date = "2026-01-02".parse().unwrap();
        // 2026-01-03T00:00+08:00 is 2026-01-02T16:00Z.
        assert_eq!(end_of_day_ms(date), 1_767_369_600_000);
        assert_eq!(
            Date::from_unix_ms_china(end_of_day_ms(date) - 1),
            date,
            "the last millisecond of the day is still that day"
        );
        assert_eq!(end_of_day_ms("1900-01-01".parse().unwrap()), 0);
    }
}
