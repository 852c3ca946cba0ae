//! Define the bodies of the enterprise endpoints: an enterprise's registration, its records, the
//! supplier verification report, its traceability score and the ranking of an association's
//! members, shared by the server and its clients.
//!
//! Every view that is computed rather than looked up names the block it was computed at
//! ([`ComputedAt`]): all of it reads the chain as of that block. Scores and shares are whole
//! basis points (`_bp`: 10,000 is 100 %), so that every node prints the same digits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use suyuan_ledger::block::BlockHash;
use suyuan_ledger::catalogue::{CategoryId, FieldId};
use suyuan_ledger::codes::accreditation::Accreditation;
use suyuan_ledger::codes::ccc::CccCertificate;
use suyuan_ledger::codes::gs1::keys::{Gln, Gtin};
use suyuan_ledger::codes::licence::ProductionLicence;
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::prefix::IdPrefix;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::crypto::PublicKey;
use suyuan_ledger::facts::{CodeFacts, Listing, ModelFacts};
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::{EnterpriseKind, Outcome, ReportRef, Subject, TraceCode};
use suyuan_ledger::state::AmendmentKind;
use suyuan_ledger::text::{Date, LongText, ShortText};
use suyuan_ledger::tx::TxId;

use utoipa::ToSchema;

use crate::types::{CategoryView, CommittedTx};

/// The block a view was computed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComputedAt {
    /// Its height.
    pub height: u64,
    /// Its hash.
    #[schema(value_type = crate::schemas::Hash)]
    pub block_hash: BlockHash,
    /// Its time, Unix milliseconds.
    pub block_time_ms: u64,
    /// Its date in China Standard Time: what validity and dates are judged against, as the
    /// ledger's rules do.
    #[schema(value_type = crate::schemas::Date)]
    pub date: Date,
}

/// Who holds a key, as far as the consortium knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyHolder {
    /// The key.
    #[schema(value_type = crate::schemas::PublicKey)]
    pub public_key: PublicKey,
    /// The genesis member's name, or the enterprise's; `None` for a key nobody holds.
    pub name: Option<String>,
    /// The enterprise the key is bound to, for an enterprise key.
    #[schema(value_type = Option<crate::schemas::Uscc>)]
    pub uscc: Option<Uscc>,
    /// Whether genesis names it a registrar.
    pub registrar: bool,
    /// Whether genesis names it a regulator.
    pub regulator: bool,
}

/// Where a record is: its transaction and block, and the block's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordRef {
    /// The transaction id.
    #[schema(value_type = crate::schemas::Hash)]
    pub id: TxId,
    /// The height of its block.
    pub height: u64,
    /// Its index in the block.
    pub index: u32,
    /// Its block's time, Unix milliseconds.
    pub block_time_ms: u64,
}

/// Whether a licence or certificate holds on the date a view was computed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    /// In force.
    Valid,
    /// Past its last day.
    Expired,
    /// Issued for a later date.
    NotYetValid,
    /// A product names it, but the enterprise's registration no longer lists it.
    NotHeld,
}

/// The business licence, with its validity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessLicenceView {
    /// The issuing bureau.
    #[schema(value_type = String)]
    pub issued_by: ShortText,
    /// Date of issue.
    #[schema(value_type = crate::schemas::Date)]
    pub issued_on: Date,
    /// End of the business term; `None` for an unlimited term.
    #[schema(value_type = Option<crate::schemas::Date>)]
    pub valid_until: Option<Date>,
    /// On the date of the view.
    pub validity: Validity,
}

/// A production licence, with its validity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenceView {
    /// The licence number.
    #[schema(value_type = String)]
    pub number: ProductionLicence,
    /// The product it covers.
    #[schema(value_type = String)]
    pub product: ShortText,
    /// Last day of validity.
    #[schema(value_type = crate::schemas::Date)]
    pub valid_until: Date,
    /// On the date of the view.
    pub validity: Validity,
}

/// A CCC certificate, with its validity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateView {
    /// The certificate number.
    #[schema(value_type = String)]
    pub number: CccCertificate,
    /// The product it covers.
    #[schema(value_type = String)]
    pub product: ShortText,
    /// Date of issue.
    #[schema(value_type = crate::schemas::Date)]
    pub issued_on: Date,
    /// Last day of validity.
    #[schema(value_type = crate::schemas::Date)]
    pub valid_until: Date,
    /// On the date of the view.
    pub validity: Validity,
}

/// An accreditation of an inspection body, with its scope and whether it is valid on the date
/// of the view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccreditationView {
    /// The number: `CNAS L5678`, `CNAS IB0123` or a 12-digit CMA number.
    #[schema(value_type = String)]
    pub number: Accreditation,
    /// The catalogue categories it covers; empty for any.
    #[schema(value_type = Vec<String>)]
    pub scope: Vec<CategoryId>,
    /// First day of validity.
    #[schema(value_type = crate::schemas::Date)]
    pub valid_from: Date,
    /// Last day of validity.
    #[schema(value_type = crate::schemas::Date)]
    pub valid_until: Date,
    /// On the date of the view.
    pub validity: Validity,
}

/// Who enrolled an enterprise, and when; who answers for it now, and how often it was amended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The registrar that enrolled it.
    pub registered_by: KeyHolder,
    /// The height of the enrolment.
    pub registered_at_height: u64,
    /// The registrar that answers for it now: the one that enrolled it, or the one it was
    /// last transferred to. Only this registrar or a regulator amends it.
    pub registrar: KeyHolder,
    /// A transfer to another registrar, offered and not yet accepted.
    pub pending_transfer: Option<TransferView>,
    /// How many amendments it has had, its enrolment included; listed by
    /// `GET /v1/enterprises/{uscc}/amendments`.
    pub amendments: u32,
    /// The identifier prefixes its registrar attested to it, such as `gs1:6950123` or
    /// `handle:88.608.24161301`: the codes it may register and commission lie under these.
    #[schema(value_type = Vec<String>)]
    pub prefixes: Vec<IdPrefix>,
}

/// A transfer between registrars, offered and not yet accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferView {
    /// The registrar that offered it.
    pub from: KeyHolder,
    /// The registrar offered it.
    pub to: KeyHolder,
    /// The height of the offer.
    pub offered_at_height: u64,
}

/// One amendment of an enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendmentView {
    /// Its place in the enterprise's history, from 0 (the enrolment).
    pub n: u32,
    /// What it changed: `enrolment`, `profile`, `bind_key`, `rotate_key`, `revoke_key`,
    /// `transfer_offered`, `transfer_accepted`, `transfer_withdrawn`, `prefix_attested`,
    /// `prefix_offered`, `prefix_handed_over` or `prefix_revoked`.
    #[schema(value_type = String)]
    pub kind: AmendmentKind,
    /// Who signed it.
    pub by: KeyHolder,
    /// Its transaction (`GET /v1/transactions/{id}` shows the record).
    #[schema(value_type = crate::schemas::Hash)]
    pub id: TxId,
    /// The block it was committed in.
    pub height: u64,
    /// Its index in the block.
    pub index: u32,
}

/// The answer to `GET /v1/enterprises/{uscc}/amendments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendmentsPage {
    /// The enterprise.
    #[schema(value_type = crate::schemas::Uscc)]
    pub uscc: Uscc,
    /// The head it was read at.
    pub computed_at: ComputedAt,
    /// Amendments in chain order, the enrolment first.
    pub amendments: Vec<AmendmentView>,
    /// Pass as `?after=` for the next page; `None` on the last page.
    pub next: Option<u32>,
}

/// Whether an enterprise key may sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// It may sign.
    Active,
    /// It signs nothing more.
    Revoked,
}

/// One of an enterprise's keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyView {
    /// The key.
    #[schema(value_type = crate::schemas::PublicKey)]
    pub public_key: PublicKey,
    /// The height it was bound at.
    pub bound_at_height: u64,
    /// Active or revoked.
    pub status: KeyState,
    /// The height it was revoked at (by a revocation or a rotation).
    pub revoked_at_height: Option<u64>,
}

/// The answer to `GET /v1/enterprises/{uscc}`: the registration as of the head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseView {
    /// Its USCC.
    #[schema(value_type = crate::schemas::Uscc)]
    pub uscc: Uscc,
    /// The head it was read at.
    pub computed_at: ComputedAt,
    /// Registered name.
    #[schema(value_type = String)]
    pub name: ShortText,
    /// What it does.
    #[schema(value_type = crate::schemas::EnterpriseKind)]
    pub kind: EnterpriseKind,
    /// Registered address.
    #[schema(value_type = String)]
    pub address: LongText,
    /// Business contact.
    #[schema(value_type = String)]
    pub contact: ShortText,
    /// Its party GLN, where its profile names one (under a GS1 company prefix it holds, no
    /// other enterprise's): EPCIS names the party by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub gln: Option<Gln>,
    /// Who enrolled it, when.
    pub registration: Registration,
    /// The business licence.
    pub business_licence: BusinessLicenceView,
    /// Production licences.
    pub production_licences: Vec<LicenceView>,
    /// CCC certificates.
    pub ccc_certificates: Vec<CertificateView>,
    /// Accreditations of an inspection body (CMA, CNAS); absent when it has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accreditations: Vec<AccreditationView>,
    /// Every key ever bound to it, in binding order.
    pub keys: Vec<KeyView>,
}

/// Which end of a history a page starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordOrder {
    /// Latest record first.
    #[default]
    Newest,
    /// Chain order.
    Oldest,
}

/// The answer to `GET /v1/enterprises/{uscc}/records`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseRecordsPage {
    /// The enterprise.
    #[schema(value_type = crate::schemas::Uscc)]
    pub uscc: Uscc,
    /// The order of `records`.
    pub order: RecordOrder,
    /// Records naming the enterprise: its enrolment and key changes, its models, production,
    /// sales (as seller or enterprise buyer) and recalls of its products.
    pub records: Vec<CommittedTx>,
    /// Pass as `?after=` (with the same `order`) for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// How much of an enterprise's evidence a report or score read, and whether a bound cut it.
/// The figures (shares, counts, [`History`]) always cover the whole history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reads {
    /// Entries of the enterprise's evidence listings read (models, codes, inspections,
    /// recalls, commissionings and sales).
    pub records_read: usize,
    /// The bound on them.
    pub max_records: usize,
    /// Commissioned codes read.
    pub codes_read: usize,
    /// The bound on them.
    pub max_codes: usize,
    /// Whether a listing held more than was read: the lists of evidence show the newest part
    /// only; the figures still count all of it.
    pub truncated: bool,
    /// Each listing: how many entries it holds, how many were read, and where the rest is.
    pub listings: Vec<ListingRead>,
}

/// One of an enterprise's evidence listings: the records and codes behind its figures, each
/// numbered from 0 (its oldest) as execution added it. A number never changes meaning, so a
/// page read later continues where an earlier one stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceListing {
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

impl EvidenceListing {
    /// The ledger's listing.
    pub fn listing(self) -> Listing {
        match self {
            EvidenceListing::Models => Listing::Models,
            EvidenceListing::Codes => Listing::Codes,
            EvidenceListing::Inspections => Listing::Inspections,
            EvidenceListing::Recalls => Listing::Recalls,
            EvidenceListing::Events => Listing::Events,
        }
    }

    /// The view of the ledger's `listing`.
    pub fn of(listing: Listing) -> EvidenceListing {
        match listing {
            Listing::Models => EvidenceListing::Models,
            Listing::Codes => EvidenceListing::Codes,
            Listing::Inspections => EvidenceListing::Inspections,
            Listing::Recalls => EvidenceListing::Recalls,
            Listing::Events => EvidenceListing::Events,
        }
    }
}

/// How much of one listing a report or score read: the newest `read` of its `total` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListingRead {
    /// The listing.
    pub listing: EvidenceListing,
    /// Entries it holds over the whole history.
    pub total: u64,
    /// Entries read, the newest.
    pub read: u64,
    /// Where the entries not read start: pass it as `?before=` to
    /// `GET /v1/enterprises/{uscc}/evidence?listing=` to page through them. `None` when every
    /// entry was read.
    pub next_before: Option<u64>,
}

/// The answer to `GET /v1/enterprises/{uscc}/evidence`: one page of one evidence listing,
/// newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidencePage {
    /// The enterprise.
    #[schema(value_type = crate::schemas::Uscc)]
    pub uscc: Uscc,
    /// The listing.
    pub listing: EvidenceListing,
    /// The block the page was read at.
    pub computed_at: ComputedAt,
    /// Entries the listing holds as of that block.
    pub total: u64,
    /// The entries, newest (highest number) first.
    pub entries: Vec<EvidenceEntry>,
    /// Pass as `?before=` for the next, older page; `None` on the page holding entry 0.
    pub next_before: Option<u64>,
}

/// One entry of an evidence listing, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EvidenceEntry {
    /// A product model of the enterprise (the `models` listing).
    Model {
        /// Its number in the listing.
        number: u64,
        /// Its GTIN, for a GTIN model; an Ecode or Handle model has none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<crate::schemas::Gtin>)]
        gtin: Option<Gtin>,
        /// Its model code in canonical form: the GTIN, `ecode:{code}` or
        /// `handle:{prefix}/{suffix}`.
        #[schema(value_type = crate::schemas::ModelCode)]
        model_code: ModelCode,
        /// Its product name as registered now.
        #[schema(value_type = String)]
        name: ShortText,
        /// What the records naming the model show.
        figures: ModelFigures,
    },
    /// A code the enterprise commissioned (the `codes` listing).
    Code {
        /// Its number in the listing.
        number: u64,
        /// The code.
        #[schema(value_type = crate::schemas::TraceCode)]
        code: TraceCode,
        /// What the records naming the code show.
        figures: CodeFigures,
    },
    /// A committed record: an inspection, a recall, a commissioning or a sale.
    Record {
        /// Its number in the listing.
        number: u64,
        /// The record as committed, with its block.
        record: Box<CommittedTx>,
    },
}

/// What the records naming one model show, over the whole history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelFigures {
    /// Codes commissioned under it.
    pub codes: u64,
    /// Inspections of the model itself.
    pub inspections: u64,
    /// Of those, non-conformant.
    pub failed_inspections: u64,
    /// Recalls of the model itself.
    pub recalls: u64,
}

impl From<&ModelFacts> for ModelFigures {
    fn from(facts: &ModelFacts) -> ModelFigures {
        ModelFigures {
            codes: facts.codes,
            inspections: facts.inspections,
            failed_inspections: facts.failed_inspections,
            recalls: facts.recalls,
        }
    }
}

/// What the records naming one commissioned code show, over the whole history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeFigures {
    /// Shipment records moving it.
    pub shipments: u64,
    /// Inspections of the code itself.
    pub inspections: u64,
    /// Of those, non-conformant.
    pub failed_inspections: u64,
    /// Recalls of the code itself.
    pub recalls: u64,
}

impl From<&CodeFacts> for CodeFigures {
    fn from(facts: &CodeFacts) -> CodeFigures {
        CodeFigures {
            shipments: facts.shipments,
            inspections: facts.inspections,
            failed_inspections: facts.failed_inspections,
            recalls: facts.recalls,
        }
    }
}

/// A product model of the enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductModelView {
    /// Its GTIN, for a GTIN model; an Ecode or Handle model has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::schemas::Gtin>)]
    pub gtin: Option<Gtin>,
    /// Its model code in canonical form: the GTIN, `ecode:{code}` or `handle:{prefix}/{suffix}`.
    #[schema(value_type = crate::schemas::ModelCode)]
    pub model_code: ModelCode,
    /// Product name.
    #[schema(value_type = String)]
    pub name: ShortText,
    /// Type or category.
    #[schema(value_type = String)]
    pub product_type: ShortText,
    /// Specification.
    #[schema(value_type = String)]
    pub specification: ShortText,
    /// Model designation.
    #[schema(value_type = String)]
    pub model: ShortText,
    /// Applicable standards.
    #[schema(value_type = Vec<String>)]
    pub standards: Vec<ShortText>,
    /// Its key-product category, from the consortium's catalogue.
    pub category: Option<CategoryView>,
    /// The values of its category's fields, by field id.
    #[schema(value_type = Object)]
    pub fields: BTreeMap<FieldId, ShortText>,
    /// The production licence that covers it, with its validity today.
    pub production_licence: Option<CoveringDocument>,
    /// The CCC certificate that covers it, with its validity today.
    pub ccc_certificate: Option<CoveringDocument>,
    /// The height of its latest registration.
    pub registered_at_height: u64,
}

/// A licence or certificate a product names, and whether it holds today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoveringDocument {
    /// Its number.
    pub number: String,
    /// Whether the enterprise holds it, valid, on the date of the view.
    pub validity: Validity,
}

/// Whether a commissioned code is a batch or one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchKind {
    /// A batch under one code, with a quantity.
    Batch,
    /// One serialised item.
    Item,
}

/// Whether a recall is still in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecallStatus {
    /// In force: the products may not be sold.
    Open,
    /// Its remedy is complete.
    Closed,
}

/// A commissioned batch or item and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchView {
    /// Its code.
    #[schema(value_type = crate::schemas::TraceCode)]
    pub code: TraceCode,
    /// Batch or item.
    pub kind: BatchKind,
    /// Its model's GTIN, for a GTIN model; an Ecode or Handle model has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::schemas::Gtin>)]
    pub gtin: Option<Gtin>,
    /// Its model's code in canonical form: the GTIN, `ecode:{code}` or
    /// `handle:{prefix}/{suffix}`.
    #[schema(value_type = crate::schemas::ModelCode)]
    pub model_code: ModelCode,
    /// Units commissioned.
    pub quantity: u64,
    /// Production date.
    #[schema(value_type = crate::schemas::Date)]
    pub production_date: Date,
    /// The producer's own inspection report for it.
    #[schema(value_type = crate::schemas::ReportRef)]
    pub inspection_report: ReportRef,
    /// The commissioning record.
    pub commissioned: RecordRef,
    /// Inspections of the code itself or of its model.
    pub inspections: usize,
    /// Non-conformant ones among them.
    pub non_conformant_inspections: usize,
    /// Sale or shipment records naming it, by any seller.
    pub shipments: usize,
    /// The most severe recall covering it (open before closed); `None` if never recalled.
    pub recall: Option<RecallStatus>,
}

/// An inspection of one of the enterprise's codes or models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionView {
    /// What was inspected.
    #[schema(value_type = crate::schemas::Subject)]
    pub subject: Subject,
    /// The result.
    #[schema(value_type = crate::schemas::Outcome)]
    pub outcome: Outcome,
    /// Who signed it: a regulator or an inspection body.
    pub inspector: KeyHolder,
    /// Date of inspection.
    #[schema(value_type = crate::schemas::Date)]
    pub inspected_on: Date,
    /// The report's number.
    #[schema(value_type = String)]
    pub report_number: ShortText,
    /// SHA-256 of the report document.
    #[schema(value_type = crate::schemas::Hash)]
    pub document_sha256: Hash32,
    /// Standards inspected against.
    #[schema(value_type = Vec<String>)]
    pub standards: Vec<ShortText>,
    /// What was found.
    #[schema(value_type = Option<String>)]
    pub findings: Option<LongText>,
    /// The accreditation the inspection body worked under (`CNAS L5678`, a 12-digit CMA
    /// number, `CNAS IB0123`), if it named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub accreditation: Option<Accreditation>,
    /// The record.
    pub record: RecordRef,
}

/// A recall of the enterprise's products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallView {
    /// What is recalled.
    #[schema(value_type = Vec<crate::schemas::Subject>)]
    pub subjects: Vec<Subject>,
    /// Why.
    #[schema(value_type = String)]
    pub reason: LongText,
    /// Date announced.
    #[schema(value_type = crate::schemas::Date)]
    pub announced_on: Date,
    /// Who issued it.
    pub issued_by: KeyHolder,
    /// The recall record; its id names the recall.
    pub record: RecordRef,
    /// Open or closed as of the view.
    pub status: RecallStatus,
    /// The closing record, once closed.
    pub closed: Option<RecordRef>,
    /// Who closed it.
    pub closed_by: Option<KeyHolder>,
    /// How it was resolved.
    #[schema(value_type = Option<String>)]
    pub resolution: Option<LongText>,
}

/// A share: how many of how many, and the share in basis points (`None` when there are none
/// to count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Share {
    /// How many meet the measure.
    pub met: u64,
    /// How many were measured.
    pub out_of: u64,
    /// `met` × 10,000 / `out_of`, rounded down.
    pub bp: Option<u32>,
}

/// One optional field the SAMR content asks for, left empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MissingField {
    /// The record.
    pub record: RecordRef,
    /// The field, as a path into the record (`record.factory_number`).
    pub field: String,
}

/// How completely the enterprise reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Completeness {
    /// Commissioned codes with an inspection of the code or its model.
    pub codes_inspected: Share,
    /// Commissioned codes with a sale or shipment record.
    pub codes_sold: Share,
    /// Optional fields the SAMR content asks for, filled in the enterprise's own records.
    pub fields_filled: Share,
    /// The enterprise's dated records committed within the timeliness bound of their event.
    pub reported_on_time: Share,
    /// The bound, in hours.
    pub on_time_within_hours: u64,
    /// The fields left empty, newest record first (at most 100).
    pub missing_fields: Vec<MissingField>,
}

/// What an enterprise's whole history shows, as execution counted it record by record: these
/// figures never depend on how much of the history a report reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// Product models it registered.
    pub models: u64,
    /// Codes it commissioned.
    pub codes: u64,
    /// Inspections of its codes and models.
    pub inspections: u64,
    /// Non-conformant ones among them.
    pub failed_inspections: u64,
    /// Recalls of its products.
    pub recalls: u64,
    /// Recalls of its products not closed.
    pub open_recalls: u64,
    /// The latest production date it commissioned.
    #[schema(value_type = Option<crate::schemas::Date>)]
    pub last_production_date: Option<Date>,
    /// The latest time of sale it recorded as seller, Unix ms.
    pub last_sold_at_ms: Option<u64>,
    /// The latest date one of its products was inspected on.
    #[schema(value_type = Option<crate::schemas::Date>)]
    pub last_inspected_on: Option<Date>,
    /// The latest date a recall of its products was announced on.
    #[schema(value_type = Option<crate::schemas::Date>)]
    pub last_recall_on: Option<Date>,
}

/// The answer to `GET /v1/enterprises/{uscc}/report`: what a procurement officer checks before
/// awarding a bid to the enterprise, all as of one block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplierReport {
    /// The enterprise.
    #[schema(value_type = crate::schemas::Uscc)]
    pub uscc: Uscc,
    /// The block the report was computed at.
    pub computed_at: ComputedAt,
    /// Registered name.
    #[schema(value_type = String)]
    pub name: ShortText,
    /// What it does.
    #[schema(value_type = crate::schemas::EnterpriseKind)]
    pub kind: EnterpriseKind,
    /// Registered address.
    #[schema(value_type = String)]
    pub address: LongText,
    /// Who enrolled it, when.
    pub registration: Registration,
    /// The business licence.
    pub business_licence: BusinessLicenceView,
    /// Production licences.
    pub production_licences: Vec<LicenceView>,
    /// CCC certificates.
    pub ccc_certificates: Vec<CertificateView>,
    /// Accreditations of an inspection body (CMA, CNAS); absent when it has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accreditations: Vec<AccreditationView>,
    /// Its keys.
    pub keys: Vec<KeyView>,
    /// Its product models.
    pub products: Vec<ProductModelView>,
    /// Codes it commissioned, newest first.
    pub batches: Vec<BatchView>,
    /// Inspections of its codes and models, newest first.
    pub inspections: Vec<InspectionView>,
    /// Recalls of its products, newest first.
    pub recalls: Vec<RecallView>,
    /// What its whole history shows: the figures execution keeps, never cut by a bound.
    pub history: History,
    /// How completely it reports.
    pub completeness: Completeness,
    /// What was read, and whether a bound cut it.
    pub reads: Reads,
}

/// A record a score component counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The record, where one stands behind the count.
    pub record: Option<RecordRef>,
    /// Whether it counted for the enterprise or against it.
    pub met: bool,
    /// What was counted, in words.
    pub detail: String,
}

/// One component of a score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentView {
    /// Its name: `completeness`, `timeliness`, `sale_coverage`, `inspection_outcomes`,
    /// `recalls`, `key_revocations`.
    pub component: String,
    /// What it measures.
    pub measures: String,
    /// How many of how many met it; its value is `share.bp`, `None` when there is nothing to
    /// measure (the component then does not count).
    pub share: Share,
    /// The consortium's weight for it.
    pub weight: u32,
    /// Its part of the total: `share.bp` × `weight` / (sum of the weights of the components
    /// that count), rounded down.
    pub contribution_bp: u32,
    /// The records behind the count, those against first, at most 50.
    pub evidence: Vec<Evidence>,
    /// How many more were counted than `evidence` lists.
    pub evidence_omitted: u64,
}

/// Where the weights came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WeightsSource {
    /// The genesis file's `score_weights`.
    Genesis,
    /// The defaults, as the genesis file names none.
    Default,
}

/// The answer to `GET /v1/enterprises/{uscc}/score`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreView {
    /// The enterprise.
    #[schema(value_type = crate::schemas::Uscc)]
    pub uscc: Uscc,
    /// Its name.
    #[schema(value_type = String)]
    pub name: ShortText,
    /// The block the score was computed at.
    pub computed_at: ComputedAt,
    /// The score, 0 to 10,000: the sum of the contributions. `None` when no component with a
    /// positive weight has anything to measure.
    pub total_bp: Option<u32>,
    /// Where the weights came from.
    pub weights: WeightsSource,
    /// Each component, in a fixed order.
    pub components: Vec<ComponentView>,
    /// What was read, and whether a bound cut it.
    pub reads: Reads,
}

/// One member in a ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RankedEnterprise {
    /// 1 plus the number of members with a higher score; members without a score come last.
    pub rank: usize,
    /// The enterprise.
    #[schema(value_type = crate::schemas::Uscc)]
    pub uscc: Uscc,
    /// Its name.
    #[schema(value_type = String)]
    pub name: ShortText,
    /// Its score, as `GET /v1/enterprises/{uscc}/score` gives it.
    pub total_bp: Option<u32>,
    /// The registrar that enrolled it.
    #[schema(value_type = crate::schemas::PublicKey)]
    pub registered_by: PublicKey,
    /// Whether its score's evidence lists show the newest part of a listing only; its total
    /// covers the whole history.
    pub truncated: bool,
}

/// A registrar as genesis names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrarView {
    /// Its name.
    pub name: String,
    /// Its keys (an organisation may hold more than one).
    #[schema(value_type = Vec<crate::schemas::PublicKey>)]
    pub public_keys: Vec<PublicKey>,
}

/// The answer to `GET /v1/scores`: members ranked by score, best first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreRanking {
    /// The block every score was computed at.
    pub computed_at: ComputedAt,
    /// The registrar whose members these are; `None` for every enrolled enterprise.
    pub registrar: Option<RegistrarView>,
    /// Members ranked (at most `max_ranked`).
    pub members: usize,
    /// The bound on members ranked.
    pub max_ranked: usize,
    /// Whether some members were left out: there were more than `max_ranked` (the first in
    /// USCC order were ranked), or more enrolled enterprises than one request looks through
    /// (50,000).
    pub truncated: bool,
    /// Ranks from `offset`, at most `limit` of them.
    pub ranking: Vec<RankedEnterprise>,
    /// The offset of the next page; `None` on the last page.
    pub next_offset: Option<usize>,
}

/// The answer to `GET /v1/recalls`: open recalls, one entry per recalled code or model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenRecallsPage {
    /// The block the page was read at.
    pub computed_at: ComputedAt,
    /// The open recalls' subjects in state's order: codes by their text, then models.
    pub recalls: Vec<OpenRecallView>,
    /// Pass as `?after=` for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// One subject of an open recall and every enterprise holding what it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenRecallView {
    /// The recalled code, or the whole model.
    #[schema(value_type = crate::schemas::Subject)]
    pub subject: Subject,
    /// Whose products.
    #[schema(value_type = crate::schemas::Uscc)]
    pub producer: Uscc,
    /// Why.
    #[schema(value_type = String)]
    pub reason: LongText,
    /// Date announced.
    #[schema(value_type = crate::schemas::Date)]
    pub announced_on: Date,
    /// Who issued it.
    pub issued_by: KeyHolder,
    /// The recall record; its id names the recall (a recall of several subjects has an entry
    /// for each).
    pub record: RecordRef,
    /// Codes covered whose holders were read: the code itself with the items naming it as
    /// their batch, or the model's codes, newest first, at most 1,000.
    pub codes_read: u64,
    /// Codes the subject covers: every code commissioned under a model; for a code, itself and
    /// the items naming it as their batch (those found, when `holders_complete` is false).
    pub codes_total: u64,
    /// Enterprises holding units of the covered codes, in USCC order: units held in all and of
    /// how many of the codes.
    pub holders: Vec<HolderView>,
    /// Whether `holders` covers every code of the subject and every holder of each; `false`
    /// when a bound cut it (`codes_read` below `codes_total`, or more than 5,000 holdings).
    pub holders_complete: bool,
}

/// An enterprise holding units of recalled codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolderView {
    /// The holder.
    #[schema(value_type = crate::schemas::Uscc)]
    pub uscc: Uscc,
    /// Its registered name, if it is enrolled.
    #[schema(value_type = Option<String>)]
    pub name: Option<ShortText>,
    /// Units it holds of the covered codes.
    pub units: u64,
    /// Covered codes it holds units of.
    pub codes: u64,
}

/// The answer to `GET /v1/inspections`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionsPage {
    /// The block the page was read at.
    pub computed_at: ComputedAt,
    /// The inspections, producers in USCC order and each one's newest first.
    pub inspections: Vec<RegionalInspection>,
    /// Enrolled enterprises this page looked through.
    pub enterprises_scanned: u64,
    /// Pass as `?after=` (with the same filters) for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// An inspection of a producer's product, with the producer and its region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionalInspection {
    /// Whose product was inspected.
    #[schema(value_type = crate::schemas::Uscc)]
    pub producer: Uscc,
    /// Its registered name.
    #[schema(value_type = Option<String>)]
    pub producer_name: Option<ShortText>,
    /// The producer's administrative division code (characters 3 to 8 of its USCC).
    pub region: String,
    /// The inspection.
    pub inspection: InspectionView,
}
