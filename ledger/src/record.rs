//! Define the traceability records that enterprises, registrars and regulators sign.
//!
//! The records cover what SAMR's draft asks producers and later links to report, and each maps
//! onto a GS1 EPCIS 2.0 event or master-data document (see `docs/records.md`):
//!
//! | record | who signs | EPCIS |
//! |---|---|---|
//! | [`Record::RegisterEnterprise`], [`Record::UpdateEnterprise`] | a registrar | master data (party, `urn:epc:id:pgln`) |
//! | [`Record::BindKey`], [`Record::RotateKey`], [`Record::RevokeKey`] | registrar or the enterprise | none: ledger administration |
//! | [`Record::OfferTransfer`], [`Record::AcceptTransfer`], [`Record::WithdrawTransfer`] | the current and the new registrar | none: ledger administration |
//! | [`Record::AttestPrefix`], [`Record::TransferPrefix`], [`Record::RevokePrefix`] | the enterprise's registrar or a regulator; the holder offers and gives up | none: ledger administration |
//! | [`Record::RegisterProduct`] | the enterprise | master data (product class, GTIN) |
//! | [`Record::Commission`] | the producer | ObjectEvent, ADD, `commissioning`, `active` |
//! | [`Record::Inspect`] | a regulator or an inspection body | ObjectEvent, OBSERVE, `inspecting`, `conformant` / `non_conformant` |
//! | [`Record::Ship`] | the seller | ObjectEvent, OBSERVE: to a company `shipping`, `in_transit`, with source and destination; to a person `retail_selling`, `retail_sold` |
//! | [`Record::Recall`] | a regulator or the producer | ObjectEvent, OBSERVE, `holding`, `recalled` |
//! | [`Record::CloseRecall`] | a regulator or the recall's issuer | ObjectEvent, OBSERVE, `holding`, `active` |
//! | [`Record::Pack`] | the packer | AggregationEvent, ADD, `packing`, parent the SSCC |
//! | [`Record::Unpack`] | the unit's holder | AggregationEvent, DELETE, `unpacking`, parent the SSCC |
//! | [`Record::LinkCodes`] | the producer | master data (the code's other identifiers) |
//!
//! Records arrive as JSON inside a signed [`crate::tx::Payload`]; every field is a type that can
//! only hold a valid value, so a record that deserialises is well formed. Whether it is allowed
//! is decided by [`crate::exec`].

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::catalogue::{CategoryId, FieldId};
use crate::codes::accreditation::Accreditation;
use crate::codes::ccc::CccCertificate;
use crate::codes::ecode::Ecode;
use crate::codes::gs1::dictionary::Ai;
use crate::codes::gs1::digital_link::{DigitalLinkError, percent_decode, percent_encode_into};
use crate::codes::gs1::element::{ElementError, validate_value};
use crate::codes::gs1::keys::{Gln, Gtin, KeyError, Sscc};
use crate::codes::handle::HandleId;
use crate::codes::licence::ProductionLicence;
use crate::codes::model::ModelCode;
use crate::codes::prefix::IdPrefix;
use crate::codes::region::RegionCode;
use crate::codes::uscc::Uscc;
use crate::crypto::PublicKey;
use crate::hash::{Hash32, hash_parts};
use crate::text::{Date, LongText, Reference, ShortText};

/// One traceability record, tagged in JSON by `"type"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// A registrar enrols an enterprise and binds its first keys.
    RegisterEnterprise(RegisterEnterprise),
    /// A registrar replaces an enrolled enterprise's profile (licences, certificates, contact).
    UpdateEnterprise(UpdateEnterprise),
    /// A registrar binds another key to an enterprise.
    BindKey(BindKey),
    /// An enterprise replaces one of its keys by a new one, signing with the old one.
    RotateKey(RotateKey),
    /// A registrar or the enterprise itself revokes a key; it signs nothing more.
    RevokeKey(RevokeKey),
    /// An enterprise's registrar offers to hand the enterprise over to another registrar.
    OfferTransfer(OfferTransfer),
    /// The registrar offered an enterprise takes it over.
    AcceptTransfer(AcceptTransfer),
    /// The offering or the offered registrar withdraws a pending transfer.
    WithdrawTransfer(WithdrawTransfer),
    /// An enterprise's registrar (or a regulator) attests that it holds an identifier prefix.
    AttestPrefix(AttestPrefix),
    /// An enterprise offers one of its identifier prefixes to another enterprise.
    TransferPrefix(TransferPrefix),
    /// The holder's registrar, a regulator or the holder itself ends its hold of a prefix.
    RevokePrefix(RevokePrefix),
    /// An enterprise registers a product model under its GTIN.
    RegisterProduct(ProductModel),
    /// A producer commissions a batch or serialised items of one of its models.
    Commission(Commissioning),
    /// A regulator or an accredited inspection body records an inspection result.
    Inspect(Inspection),
    /// A seller records a sale or shipment of items it holds.
    Ship(Shipment),
    /// A regulator or the producer recalls items, batches or a whole model.
    Recall(Recall),
    /// A regulator or the recall's issuer closes a recall.
    CloseRecall(CloseRecall),
    /// An enterprise packs codes it holds into a logistic unit (an SSCC).
    Pack(Pack),
    /// The holder of a logistic unit unpacks it: its contents are loose again.
    Unpack(Unpack),
    /// A producer links other codes the same batch or item carries to the code it commissioned.
    LinkCodes(LinkCodes),
}

/// What kind of business an enterprise is; inspection bodies may sign inspection results.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EnterpriseKind {
    /// Makes products and commissions their codes.
    Manufacturer,
    /// Imports products and commissions their codes as the responsible party.
    Importer,
    /// Buys and resells.
    Distributor,
    /// Sells to end users.
    Retailer,
    /// An accredited testing or inspection laboratory.
    InspectionBody,
}

impl EnterpriseKind {
    /// Whether this kind may commission codes (is a "producer" in SAMR's sense).
    pub fn produces(self) -> bool {
        matches!(
            self,
            EnterpriseKind::Manufacturer | EnterpriseKind::Importer
        )
    }
}

/// The enterprise's business licence (营业执照); its number is the USCC itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessLicence {
    /// The issuing market-regulation bureau.
    pub issued_by: ShortText,
    /// Date of issue.
    pub issued_on: Date,
    /// End of the business term; `None` for an unlimited term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
}

/// An industrial product production licence (生产许可证) held by the enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenceEntry {
    /// The licence number.
    pub number: ProductionLicence,
    /// The product it covers.
    pub product: ShortText,
    /// Last day of validity.
    pub valid_until: Date,
}

/// A CCC certificate held by the enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateEntry {
    /// The certificate number.
    pub number: CccCertificate,
    /// The product it covers.
    pub product: ShortText,
    /// Date of issue.
    pub issued_on: Date,
    /// Last day of validity.
    pub valid_until: Date,
}

/// An accreditation an inspection body holds (CMA or CNAS), what it covers and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccreditationEntry {
    /// The accreditation's number.
    pub number: Accreditation,
    /// The catalogue categories it covers; empty (and absent from the JSON) when the
    /// accreditation names no product scope the catalogue can express, covering any category.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<CategoryId>,
    /// First day of validity.
    pub valid_from: Date,
    /// Last day of validity.
    pub valid_until: Date,
}

impl AccreditationEntry {
    /// Whether it is valid on `date`.
    pub fn valid_on(&self, date: Date) -> bool {
        self.valid_from <= date && date <= self.valid_until
    }

    /// Whether it covers products of `category` (any, without a scope).
    pub fn covers(&self, category: &CategoryId) -> bool {
        self.scope.is_empty() || self.scope.contains(category)
    }
}

/// An enterprise's public profile: the SAMR "production unit" fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseProfile {
    /// Unified social credit code.
    pub uscc: Uscc,
    /// Registered name.
    pub name: ShortText,
    /// What it does.
    pub kind: EnterpriseKind,
    /// Registered address.
    pub address: LongText,
    /// Business contact (a department's telephone or e-mail, not a private person's).
    pub contact: ShortText,
    /// The business licence.
    pub business_licence: BusinessLicence,
    /// Production licences held.
    #[serde(default)]
    pub production_licences: Vec<LicenceEntry>,
    /// CCC certificates held.
    #[serde(default)]
    pub ccc_certificates: Vec<CertificateEntry>,
    /// Accreditations of an inspection body, with their scope and validity. Absent from the
    /// JSON when empty, so profiles without any keep their bytes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accreditations: Vec<AccreditationEntry>,
    /// Its party GLN (GS1 AI 417), where it has one: EPCIS names the party by it. It must lie
    /// under a GS1 company prefix the enterprise holds and be no other enterprise's. Absent
    /// from the JSON when not set, so profiles without one keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gln: Option<Gln>,
}

/// Enrol an enterprise (signed by a registrar).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterEnterprise {
    /// The profile.
    pub enterprise: EnterpriseProfile,
    /// Keys the enterprise will sign with; at least one.
    pub keys: Vec<PublicKey>,
    /// Identifier prefixes the registrar attests it holds (see [`AttestPrefix`]); it registers
    /// and commissions codes under these only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<IdPrefix>,
}

/// Replace an enterprise's profile (signed by a registrar); keys are unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEnterprise {
    /// The new profile; its USCC names the enterprise.
    pub enterprise: EnterpriseProfile,
}

/// Bind another key to an enterprise (signed by a registrar).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BindKey {
    /// The enterprise.
    pub uscc: Uscc,
    /// The new key.
    pub key: PublicKey,
}

/// Replace a key by a new one (signed with the old key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// The enterprise.
    pub uscc: Uscc,
    /// The key being retired; it must be the signer.
    pub old_key: PublicKey,
    /// Its replacement.
    pub new_key: PublicKey,
}

/// Revoke a key (signed by a registrar or by an active key of the same enterprise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeKey {
    /// The enterprise.
    pub uscc: Uscc,
    /// The key to revoke.
    pub key: PublicKey,
    /// Why, for the audit trail.
    pub reason: LongText,
}

/// Offer an enterprise to another registrar (signed by its current registrar). Nothing changes
/// hands until the other registrar accepts with [`AcceptTransfer`]; a later offer replaces a
/// pending one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferTransfer {
    /// The enterprise.
    pub uscc: Uscc,
    /// The registrar offered it: a genesis registrar other than the current one.
    pub to: PublicKey,
}

/// Take over an enterprise offered by its registrar (signed by the registrar offered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptTransfer {
    /// The enterprise.
    pub uscc: Uscc,
    /// The registrar that offered it, which must still be its registrar: the acceptance names
    /// both sides, as the offer does.
    pub from: PublicKey,
}

/// Withdraw a pending transfer (signed by the offering or the offered registrar).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawTransfer {
    /// The enterprise.
    pub uscc: Uscc,
}

/// Attest that an enterprise holds an identifier prefix (signed by its registrar or a
/// regulator, who checked the GS1 licence, Handle registration or Ecode registration behind it).
///
/// The prefix must be free, and overlap no prefix held by anyone; or, with `from`, be held by
/// `from` and offered by it to this enterprise, which then takes it over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttestPrefix {
    /// The enterprise that will hold it.
    pub uscc: Uscc,
    /// The prefix.
    pub prefix: IdPrefix,
    /// The holder that offered it with [`TransferPrefix`], when it changes hands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Uscc>,
}

/// Offer a prefix to another enterprise (signed by a key of its holder). The holder keeps it
/// until the other enterprise's registrar accepts with [`AttestPrefix`] naming `from`; a later
/// offer replaces this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferPrefix {
    /// The holder.
    pub uscc: Uscc,
    /// The prefix.
    pub prefix: IdPrefix,
    /// The enterprise offered it.
    pub to: Uscc,
}

/// End an enterprise's hold of a prefix (signed by its registrar, a regulator, or a key of the
/// enterprise giving it up). Codes already registered or commissioned under it keep their
/// history; no new ones can be, until the prefix is attested again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokePrefix {
    /// The holder.
    pub uscc: Uscc,
    /// The prefix.
    pub prefix: IdPrefix,
    /// Why, for the audit trail.
    pub reason: LongText,
}

/// A product model: the SAMR "product" fields shared by every item of it.
///
/// On the wire a GTIN model names its code in `gtin`, as it always has; an Ecode or Handle model
/// in `model_code` instead; a record naming both, or neither, or a GTIN in `model_code`, does
/// not decode ([`ModelCodeFieldError`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "ProductModelWire", into = "ProductModelWire")]
pub struct ProductModel {
    /// The enterprise that makes or imports it.
    pub uscc: Uscc,
    /// The model's code: a GTIN, an Ecode or an industrial-internet id.
    pub model_code: ModelCode,
    /// Product name.
    pub name: ShortText,
    /// Product type or category, e.g. "electric wires and cables".
    pub product_type: ShortText,
    /// Specification, e.g. "BV 2.5 mm² 450/750 V".
    pub specification: ShortText,
    /// Model designation.
    pub model: ShortText,
    /// Applicable standards, e.g. "GB/T 5023.3-2008".
    pub standards: Vec<ShortText>,
    /// Warranty period in months.
    pub warranty_months: u32,
    /// The production licence that covers it, if the product needs one; it must be among the
    /// enterprise's registered licences.
    pub production_licence: Option<ProductionLicence>,
    /// The CCC certificate that covers it, if it needs one; it must be among the enterprise's
    /// registered certificates.
    pub ccc_certificate: Option<CccCertificate>,
    /// Its category in the consortium's catalogue ([`crate::catalogue`]), fixed at its first
    /// registration; it decides which documents the model must name and which `fields` it
    /// must carry.
    pub category: Option<CategoryId>,
    /// The values of its category's fields by field id, e.g. `"rated_voltage": "450/750 V"`;
    /// only the fields its category defines.
    pub fields: BTreeMap<FieldId, ShortText>,
}

/// [`ProductModel`] as JSON carries it: exactly one of `gtin` and `model_code`, in the place
/// `gtin` has always had, so that a GTIN model's bytes are unchanged.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ProductModelWire {
    /// The enterprise that makes or imports it.
    uscc: Uscc,
    /// The model's GTIN, when it has one; exactly one of `gtin` and `model_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gtin: Option<Gtin>,
    /// The model's Ecode or industrial-internet id, when it has no GTIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model_code: Option<ModelCode>,
    /// Product name.
    name: ShortText,
    /// Product type or category, e.g. "electric wires and cables".
    product_type: ShortText,
    /// Specification, e.g. "BV 2.5 mm² 450/750 V".
    specification: ShortText,
    /// Model designation.
    model: ShortText,
    /// Applicable standards, e.g. "GB/T 5023.3-2008".
    standards: Vec<ShortText>,
    /// Warranty period in months.
    warranty_months: u32,
    /// The production licence that covers it, if the product needs one; it must be among the
    /// enterprise's registered licences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    production_licence: Option<ProductionLicence>,
    /// The CCC certificate that covers it, if it needs one; it must be among the enterprise's
    /// registered certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ccc_certificate: Option<CccCertificate>,
    /// Its category in the consortium's catalogue, fixed at its first registration; it decides
    /// which documents the model must name and which `fields` it must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    category: Option<CategoryId>,
    /// The values of its category's fields by field id, e.g. `"rated_voltage": "450/750 V"`;
    /// only the fields its category defines.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    fields: BTreeMap<FieldId, ShortText>,
}

impl TryFrom<ProductModelWire> for ProductModel {
    type Error = ModelCodeFieldError;

    fn try_from(wire: ProductModelWire) -> Result<Self, Self::Error> {
        Ok(ProductModel {
            uscc: wire.uscc,
            model_code: one_model_code(wire.gtin, wire.model_code)?,
            name: wire.name,
            product_type: wire.product_type,
            specification: wire.specification,
            model: wire.model,
            standards: wire.standards,
            warranty_months: wire.warranty_months,
            production_licence: wire.production_licence,
            ccc_certificate: wire.ccc_certificate,
            category: wire.category,
            fields: wire.fields,
        })
    }
}

impl From<ProductModel> for ProductModelWire {
    fn from(model: ProductModel) -> Self {
        let (gtin, model_code) = split_model_code(model.model_code);
        ProductModelWire {
            uscc: model.uscc,
            gtin,
            model_code,
            name: model.name,
            product_type: model.product_type,
            specification: model.specification,
            model: model.model,
            standards: model.standards,
            warranty_months: model.warranty_months,
            production_licence: model.production_licence,
            ccc_certificate: model.ccc_certificate,
            category: model.category,
            fields: model.fields,
        }
    }
}

/// Why a record's `gtin` and `model_code` fields do not name one model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelCodeFieldError {
    /// Neither field is present.
    #[error("a model is named by gtin or by model_code; neither is present")]
    Missing,
    /// Both fields are present.
    #[error("a model is named by gtin or by model_code, not both")]
    Both,
    /// `model_code` holds a GTIN, which has its own field.
    #[error("a GTIN model is named by gtin, not by model_code")]
    GtinInModelCode,
}

/// The one model code a record's `gtin` and `model_code` fields name: a GTIN in `gtin` only, an
/// Ecode or Handle code in `model_code` only, so that each model has one wire form.
fn one_model_code(
    gtin: Option<Gtin>,
    model_code: Option<ModelCode>,
) -> Result<ModelCode, ModelCodeFieldError> {
    match (gtin, model_code) {
        (Some(gtin), None) => Ok(ModelCode::Gtin(gtin)),
        (None, Some(ModelCode::Gtin(_))) => Err(ModelCodeFieldError::GtinInModelCode),
        (None, Some(code)) => Ok(code),
        (None, None) => Err(ModelCodeFieldError::Missing),
        (Some(_), Some(_)) => Err(ModelCodeFieldError::Both),
    }
}

/// The inverse of [`one_model_code`].
fn split_model_code(code: ModelCode) -> (Option<Gtin>, Option<ModelCode>) {
    match code {
        ModelCode::Gtin(gtin) => (Some(gtin), None),
        other => (None, Some(other)),
    }
}

/// A traceability code carried by a batch, an item or a logistic unit.
///
/// Its canonical string form is the one indexes and the API use:
/// - GS1: the GS1 Digital Link path, `01/{GTIN-14}/10/{lot}` (a batch), `01/{GTIN-14}/21/{serial}`
///   (a serialised item), `00/{SSCC}` (a logistic unit), with lot and serial percent-encoded;
/// - `ecode:{code}` for an Ecode, `handle:{prefix}/{suffix}` for an industrial-internet id.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TraceCode {
    /// A batch or lot of one GTIN (EPC class `lgtin`).
    Lot {
        /// The model.
        gtin: Gtin,
        /// The batch or lot number (AI 10).
        lot: Gs1Text,
    },
    /// One serialised item (EPC `sgtin`).
    Item {
        /// The model.
        gtin: Gtin,
        /// The serial number (AI 21).
        serial: Gs1Text,
    },
    /// A logistic unit (EPC `sscc`).
    Sscc(Sscc),
    /// An Ecode.
    Ecode(Ecode),
    /// An industrial-internet identifier.
    Handle(HandleId),
}

/// A GS1 lot or serial value: 1 to 20 characters of GS1's character set 82.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gs1Text(String);

/// Why a string is not a [`TraceCode`] or [`Gs1Text`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceCodeError {
    /// The form is none of the canonical ones.
    #[error(
        "not a trace code: expected 01/{{gtin}}/10/{{lot}}, 01/{{gtin}}/21/{{serial}}, 00/{{sscc}}, ecode:… or handle:…"
    )]
    UnknownForm,
    /// A lot or serial is not 1 to 20 characters of GS1 character set 82.
    #[error("invalid GS1 lot or serial: {0}")]
    Gs1Value(#[from] ElementError),
    /// A percent escape that does not decode.
    #[error("bad percent escape: {0}")]
    PercentEscape(#[from] DigitalLinkError),
    /// The GS1 key inside is invalid.
    #[error("invalid GS1 key: {0}")]
    Gs1Key(KeyError),
    /// The Ecode inside is invalid.
    #[error("invalid Ecode: {0}")]
    Ecode(String),
    /// The industrial-internet id inside is invalid.
    #[error("invalid industrial-internet identifier: {0}")]
    Handle(String),
    /// A logistic unit was expected, `00/{sscc}`.
    #[error("not a logistic unit: expected 00/{{sscc}}")]
    NotALogisticUnit,
}

impl Gs1Text {
    /// The value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Gs1Text {
    type Err = TraceCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // AI 10 (batch) and AI 21 (serial) share one format, X..20: GS1's dictionary says which.
        validate_value(Ai::BATCH, s)?;
        Ok(Gs1Text(s.to_owned()))
    }
}

impl fmt::Display for Gs1Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Gs1Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl TraceCode {
    /// The model code written the same way, for an Ecode or a Handle id: the two share one
    /// canonical form (`ecode:…`, `handle:…`), so one string must not name both a model and a
    /// batch or item. `None` for GS1 codes, whose forms never meet a model code's.
    pub fn as_model_code(&self) -> Option<ModelCode> {
        match self {
            TraceCode::Ecode(code) => Some(ModelCode::Ecode(code.clone())),
            TraceCode::Handle(id) => Some(ModelCode::Handle(id.clone())),
            TraceCode::Lot { .. } | TraceCode::Item { .. } | TraceCode::Sscc(_) => None,
        }
    }

    /// The trace code written the same way as an Ecode or Handle model code; `None` for a GTIN
    /// model.
    pub fn of_model_code(model_code: &ModelCode) -> Option<TraceCode> {
        match model_code {
            ModelCode::Ecode(code) => Some(TraceCode::Ecode(code.clone())),
            ModelCode::Handle(id) => Some(TraceCode::Handle(id.clone())),
            ModelCode::Gtin(_) => None,
        }
    }

    /// The GTIN of the model this code belongs to, for GS1 batch and item codes.
    pub fn gtin(&self) -> Option<&Gtin> {
        match self {
            TraceCode::Lot { gtin, .. } | TraceCode::Item { gtin, .. } => Some(gtin),
            _ => None,
        }
    }

    /// Whether the code names exactly one item, so that its quantity is always one.
    pub fn is_single_item(&self) -> bool {
        matches!(self, TraceCode::Item { .. })
    }

    /// Whether the code lies under an identifier prefix, so that its holder may issue it.
    pub fn lies_under(&self, prefix: &IdPrefix) -> bool {
        match self {
            TraceCode::Lot { gtin, .. } | TraceCode::Item { gtin, .. } => prefix.covers_gtin(gtin),
            TraceCode::Sscc(sscc) => prefix.covers_sscc(sscc),
            TraceCode::Ecode(code) => prefix.covers_ecode(code),
            TraceCode::Handle(id) => prefix.covers_handle(id),
        }
    }

    /// Every prefix the code could lie under, shortest first.
    pub fn prefix_candidates(&self) -> Vec<IdPrefix> {
        match self {
            TraceCode::Lot { gtin, .. } | TraceCode::Item { gtin, .. } => {
                IdPrefix::candidates_for_gtin(gtin)
            }
            TraceCode::Sscc(sscc) => IdPrefix::candidates_for_sscc(sscc),
            TraceCode::Ecode(code) => IdPrefix::candidates_for_ecode(code),
            TraceCode::Handle(id) => IdPrefix::candidates_for_handle(id),
        }
    }
}

impl fmt::Display for TraceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        match self {
            TraceCode::Lot { gtin, lot } => {
                out.push_str(&format!("01/{gtin}/10/"));
                percent_encode_into(&mut out, lot.as_str());
            }
            TraceCode::Item { gtin, serial } => {
                out.push_str(&format!("01/{gtin}/21/"));
                percent_encode_into(&mut out, serial.as_str());
            }
            TraceCode::Sscc(sscc) => out.push_str(&format!("00/{sscc}")),
            TraceCode::Ecode(ecode) => out.push_str(&format!("ecode:{ecode}")),
            TraceCode::Handle(handle) => out.push_str(&format!("handle:{handle}")),
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for TraceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceCode({self})")
    }
}

impl FromStr for TraceCode {
    type Err = TraceCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(ecode) = s.strip_prefix("ecode:") {
            return ecode
                .parse()
                .map(TraceCode::Ecode)
                .map_err(|e: <Ecode as FromStr>::Err| TraceCodeError::Ecode(e.to_string()));
        }
        if let Some(handle) = s.strip_prefix("handle:") {
            return handle
                .parse()
                .map(TraceCode::Handle)
                .map_err(|e: <HandleId as FromStr>::Err| TraceCodeError::Handle(e.to_string()));
        }
        let segments: Vec<&str> = s.splitn(5, '/').collect();
        match segments.as_slice() {
            ["00", sscc] => Ok(TraceCode::Sscc(
                sscc.parse().map_err(TraceCodeError::Gs1Key)?,
            )),
            ["01", gtin, qualifier @ ("10" | "21"), value] => {
                let gtin: Gtin = gtin.parse().map_err(TraceCodeError::Gs1Key)?;
                let value: Gs1Text = percent_decode(value, 0, false)?.parse()?;
                Ok(if *qualifier == "10" {
                    TraceCode::Lot { gtin, lot: value }
                } else {
                    TraceCode::Item {
                        gtin,
                        serial: value,
                    }
                })
            }
            _ => Err(TraceCodeError::UnknownForm),
        }
    }
}

/// The trace code of a logistic unit, `00/{SSCC}`, and of nothing else: what packing names.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitCode(TraceCode);

impl UnitCode {
    /// The unit's code, as indexes and shipment lines name it.
    pub fn as_code(&self) -> &TraceCode {
        &self.0
    }

    /// The SSCC.
    pub fn sscc(&self) -> &Sscc {
        match &self.0 {
            TraceCode::Sscc(sscc) => sscc,
            _ => unreachable!("a UnitCode is built from an SSCC only"),
        }
    }
}

impl From<Sscc> for UnitCode {
    fn from(sscc: Sscc) -> Self {
        UnitCode(TraceCode::Sscc(sscc))
    }
}

impl TryFrom<TraceCode> for UnitCode {
    type Error = TraceCodeError;

    fn try_from(code: TraceCode) -> Result<Self, Self::Error> {
        match code {
            TraceCode::Sscc(sscc) => Ok(UnitCode::from(sscc)),
            _ => Err(TraceCodeError::NotALogisticUnit),
        }
    }
}

impl FromStr for UnitCode {
    type Err = TraceCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<TraceCode>()?.try_into()
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

crate::serde_as_string!(Gs1Text);
crate::serde_as_string!(TraceCode);
crate::serde_as_string!(UnitCode);

/// Type or factory inspection, the two report kinds SAMR names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// A type inspection report (型式检验报告) for the model.
    TypeInspection,
    /// A factory (outgoing) inspection report (出厂检验报告) for the batch.
    FactoryInspection,
}

/// A reference to an inspection report document kept off the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRef {
    /// Which kind of report.
    pub kind: ReportKind,
    /// The report's number.
    pub number: ShortText,
    /// Who issued it.
    pub issued_by: ShortText,
    /// SHA-256 of the report document, so that anyone holding the file can check it is the one
    /// referenced (`sha256sum report.pdf`).
    pub document_sha256: Hash32,
}

/// What was commissioned: one batch with a quantity, or individually coded items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Items {
    /// A batch under one batch-level code.
    Batch {
        /// The batch's code: a GS1 lot, an Ecode or an industrial-internet id.
        code: TraceCode,
        /// Units in the batch.
        quantity: u64,
    },
    /// Serialised items, one code each.
    Serialised {
        /// The items' codes.
        codes: Vec<TraceCode>,
        /// The batch (lot) the items belong to: a code the same producer commissioned earlier
        /// for the same model. A recall or inspection of the batch then covers them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        batch: Option<TraceCode>,
    },
}

impl Items {
    /// Each code with the quantity it stands for.
    pub fn lines(&self) -> Vec<(&TraceCode, u64)> {
        match self {
            Items::Batch { code, quantity } => vec![(code, *quantity)],
            Items::Serialised { codes, .. } => codes.iter().map(|code| (code, 1)).collect(),
        }
    }

    /// The batch serialised items belong to, if the record names one.
    pub fn batch(&self) -> Option<&TraceCode> {
        match self {
            Items::Batch { .. } => None,
            Items::Serialised { batch, .. } => batch.as_ref(),
        }
    }
}

/// Commission a batch or serialised items of a registered model: the SAMR product-instance
/// fields (production date, factory number, batch or serial numbers, inspection report).
///
/// Like [`ProductModel`], it names a GTIN model in `gtin` and any other in `model_code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "CommissioningWire", into = "CommissioningWire")]
pub struct Commissioning {
    /// The producer.
    pub uscc: Uscc,
    /// The model.
    pub model_code: ModelCode,
    /// What was made.
    pub items: Items,
    /// Production date.
    pub production_date: Date,
    /// Factory number, if the product carries one.
    pub factory_number: Option<ShortText>,
    /// The type or factory inspection report that covers these items.
    pub inspection_report: ReportRef,
}

/// [`Commissioning`] as JSON carries it; see [`ProductModelWire`].
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CommissioningWire {
    /// The producer.
    uscc: Uscc,
    /// The model, when it is named by a GTIN; exactly one of `gtin` and `model_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gtin: Option<Gtin>,
    /// The model, when it is named by an Ecode or an industrial-internet id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model_code: Option<ModelCode>,
    /// What was made.
    items: Items,
    /// Production date.
    production_date: Date,
    /// Factory number, if the product carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    factory_number: Option<ShortText>,
    /// The type or factory inspection report that covers these items.
    inspection_report: ReportRef,
}

impl TryFrom<CommissioningWire> for Commissioning {
    type Error = ModelCodeFieldError;

    fn try_from(wire: CommissioningWire) -> Result<Self, Self::Error> {
        Ok(Commissioning {
            uscc: wire.uscc,
            model_code: one_model_code(wire.gtin, wire.model_code)?,
            items: wire.items,
            production_date: wire.production_date,
            factory_number: wire.factory_number,
            inspection_report: wire.inspection_report,
        })
    }
}

impl From<Commissioning> for CommissioningWire {
    fn from(record: Commissioning) -> Self {
        let (gtin, model_code) = split_model_code(record.model_code);
        CommissioningWire {
            uscc: record.uscc,
            gtin,
            model_code,
            items: record.items,
            production_date: record.production_date,
            factory_number: record.factory_number,
            inspection_report: record.inspection_report,
        }
    }
}

/// What an inspection, a recall or a query is about: a code, a whole model or, for an
/// inspection only, a product sampled on the market that is not on the ledger.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Subject {
    /// One batch, item or logistic unit.
    Code(TraceCode),
    /// Every item of a model; a GTIN model reads as its bare GTIN, as before other kinds.
    Model(ModelCode),
    /// A product sampled on the market (市场抽检) whose maker never recorded it; it counts in
    /// the named maker's figures. Boxed: it is far larger than the other subjects.
    Sampled(Box<SampledProduct>),
}

/// A product sampled on the market that is not on the ledger, as the sampling report
/// describes it.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct SampledProduct {
    /// The maker the label names (enrolled or not).
    pub maker: Uscc,
    /// The maker's name as on the label.
    pub maker_name: ShortText,
    /// The product's name.
    pub product_name: ShortText,
    /// Its model or specification.
    pub model: ShortText,
    /// The consortium catalogue category it belongs to.
    pub category: CategoryId,
    /// The batch or lot as printed, if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<ShortText>,
    /// The code printed on it, as text, if any: it may not be one the ledger can parse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printed_code: Option<ShortText>,
    /// When it was sampled; on or before the inspection date.
    pub sampled_on: Date,
    /// The administrative division it was sampled in.
    pub sampled_in: RegionCode,
    /// Where: the shop, market or platform.
    pub place: ShortText,
}

impl Subject {
    /// The code, for a code subject.
    pub fn code(&self) -> Option<&TraceCode> {
        match self {
            Subject::Code(code) => Some(code),
            Subject::Model(_) | Subject::Sampled(_) => None,
        }
    }

    /// The model, for a model subject.
    pub fn model(&self) -> Option<&ModelCode> {
        match self {
            Subject::Model(gtin) => Some(gtin),
            Subject::Code(_) | Subject::Sampled(_) => None,
        }
    }

    /// The off-ledger product, for a market sampling.
    pub fn sampled(&self) -> Option<&SampledProduct> {
        match self {
            Subject::Sampled(product) => Some(product),
            Subject::Code(_) | Subject::Model(_) => None,
        }
    }
}

/// The outcome of an inspection, in EPCIS disposition terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Meets the standards inspected against.
    Conformant,
    /// Fails at least one of them.
    NonConformant,
}

/// An inspection result, by a regulator or an accredited inspection body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inspection {
    /// What was inspected.
    pub subject: Subject,
    /// The result.
    pub outcome: Outcome,
    /// Standards inspected against.
    pub standards: Vec<ShortText>,
    /// Date of inspection.
    pub inspected_on: Date,
    /// The report's number.
    pub report_number: ShortText,
    /// SHA-256 of the report document.
    pub document_sha256: Hash32,
    /// What was found, for a non-conformant result especially.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<LongText>,
    /// The accreditation the inspection body worked under: one of its profile's. Required of
    /// an inspection body, optional for a regulator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accreditation: Option<Accreditation>,
}

/// A buyer's personal data, which never goes on the ledger in plaintext.
///
/// The seller keeps it (or an encrypted copy) and puts a salted commitment on the ledger; a
/// regulator who is later handed the data and the salt checks it against the commitment with
/// [`PersonalData::commitment`].
///
/// The salt is the client's to draw, and it must be fresh: 32 random bytes from the operating
/// system for every sale ([`PersonalData::commit_fresh`] draws them), kept with the data. A
/// constant or reused salt makes the commitment a fingerprint of the buyer: equal data gives an
/// equal commitment, which links the buyer's purchases, and a guessed name and address can be
/// confirmed. The ledger refuses a commitment used in an earlier sale (`commitment_reused`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalData {
    /// The buyer's name.
    pub name: String,
    /// The buyer's address.
    pub address: String,
    /// The buyer's telephone or e-mail.
    pub contact: String,
}

/// A salt drawn for one buyer commitment, with the commitment it gives: the seller keeps the
/// salt with the buyer's data and records the commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshCommitment {
    /// 32 random bytes from the operating system.
    pub salt: [u8; 32],
    /// [`PersonalData::commitment`] under `salt`.
    pub commitment: Hash32,
}

impl PersonalData {
    /// The commitment to this data under `salt`: BLAKE3 in the domain
    /// `suyuan buyer commitment v1` over salt, name, address and contact, each length-prefixed.
    ///
    /// The salt must be 32 fresh random bytes, drawn for this sale and kept with the data (see
    /// [`PersonalData::commit_fresh`]); without it the commitment reveals nothing that guessing
    /// common names and addresses could confirm.
    pub fn commitment(&self, salt: &[u8; 32]) -> Hash32 {
        hash_parts(
            "suyuan buyer commitment v1",
            &[
                salt,
                self.name.as_bytes(),
                self.address.as_bytes(),
                self.contact.as_bytes(),
            ],
        )
    }

    /// Draws a fresh 32-byte salt from the operating system and commits to this data under it:
    /// what a client does for each sale to a person. Keep the salt with the data; the ledger
    /// gets the commitment only.
    pub fn commit_fresh(&self) -> FreshCommitment {
        use rand_core::RngCore;

        let mut salt = [0; 32];
        rand_core::OsRng.fill_bytes(&mut salt);
        FreshCommitment {
            salt,
            commitment: self.commitment(&salt),
        }
    }
}

/// The buyer or consignee of a shipment.
///
/// A company is named in full, as public as its business licence; a private person only by a
/// commitment to their data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Party {
    /// A business, named by its USCC; if it is enrolled, the goods become its holdings.
    /// [`Party::enterprise`] fills the fields from an enrolled enterprise's profile.
    Enterprise {
        /// Its USCC.
        uscc: Uscc,
        /// Its registered name.
        name: ShortText,
        /// Its registered or delivery address.
        address: LongText,
        /// Its business contact (a department's telephone or e-mail, not a private person's).
        contact: ShortText,
        /// Its party GLN (GS1 AI 417), where it holds one: EPCIS names the party by it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gln: Option<Gln>,
    },
    /// A private person: only a commitment to their data and where the data is kept.
    Person {
        /// [`PersonalData::commitment`] of the buyer's data, under a fresh salt
        /// ([`PersonalData::commit_fresh`]); one already used in an earlier sale is refused.
        commitment: Hash32,
        /// Where the seller keeps the data (or its ciphertext), e.g. an ERP order reference:
        /// an identifier, never the data.
        data_reference: Reference,
    },
}

impl Party {
    /// An enterprise buyer as its profile names it: USCC, name, address, contact and party
    /// GLN.
    pub fn enterprise(profile: &EnterpriseProfile) -> Party {
        Party::Enterprise {
            uscc: profile.uscc.clone(),
            name: profile.name.clone(),
            address: profile.address.clone(),
            contact: profile.contact.clone(),
            gln: profile.gln.clone(),
        }
    }
}

/// One line of a shipment: a code and how many units of it move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentLine {
    /// The batch, item or logistic unit.
    pub code: TraceCode,
    /// Units moved; 1 for a serialised item.
    pub quantity: u64,
}

/// A sale or shipment: the SAMR "flow" fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Shipment {
    /// The seller.
    pub seller: Uscc,
    /// The buyer.
    pub buyer: Party,
    /// Time of sale, Unix milliseconds.
    pub sold_at_ms: u64,
    /// What moved.
    pub lines: Vec<ShipmentLine>,
    /// The seller's order or invoice number: an identifier, never prose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_reference: Option<Reference>,
}

/// A recall of items, batches or whole models of one producer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recall {
    /// The producer whose products are recalled.
    pub producer: Uscc,
    /// What is recalled.
    pub subjects: Vec<Subject>,
    /// Why: the defect and the hazard.
    pub reason: LongText,
    /// Date announced.
    pub announced_on: Date,
}

/// Close a recall once its remedy is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRecall {
    /// The transaction id of the recall.
    pub recall: Hash32,
    /// How it was resolved.
    pub resolution: LongText,
}

/// Pack codes into a logistic unit (GS1 SSCC): an EPCIS AggregationEvent, action ADD.
///
/// The packer keeps holding the contents, now inside the unit: they move only with it (a
/// shipment line naming the SSCC) until it is unpacked. A unit may hold other units, to
/// [`crate::limits::MAX_PACKING_DEPTH`] levels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    /// The packer, which holds the contents and a GS1 company prefix the SSCC lies under.
    pub uscc: Uscc,
    /// The unit.
    pub sscc: UnitCode,
    /// What goes in: product codes with the units packed, and units (quantity 1).
    pub contents: Vec<ShipmentLine>,
    /// Time of packing, Unix milliseconds.
    pub packed_at_ms: u64,
}

/// Unpack a logistic unit: an EPCIS AggregationEvent, action DELETE. Its contents stay with
/// its holder, loose; the SSCC may be packed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Unpack {
    /// The unit's holder.
    pub uscc: Uscc,
    /// The unit.
    pub sscc: UnitCode,
    /// Time of unpacking, Unix milliseconds.
    pub unpacked_at_ms: u64,
}

/// Link codes a batch or item carries to the code it was commissioned under: one thing, one
/// record, whichever of its codes is scanned (一物一码 across schemes). Looking up an alias
/// finds the commissioned code's record; records that move, inspect or recall the thing name
/// the commissioned code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkCodes {
    /// The producer that commissioned `code`.
    pub uscc: Uscc,
    /// The code as commissioned.
    pub code: TraceCode,
    /// The other codes the same thing carries: Ecodes, Handle ids, or GS1 codes of the model's
    /// GTIN of the same kind (a lot for a batch, a serial for an item). Each lies under a
    /// prefix the producer holds.
    pub aliases: Vec<TraceCode>,
}

impl Record {
    /// The codes the record is about, for the code-history index: commissioned items, shipped
    /// lines, inspected or recalled codes, the batch serialised items belong to, and a packed
    /// unit with its contents. Model-level subjects are in [`Record::models`].
    pub fn codes(&self) -> Vec<&TraceCode> {
        match self {
            Record::Commission(record) => match &record.items {
                Items::Batch { code, .. } => vec![code],
                // The batch too: its history then lists the items that belong to it.
                Items::Serialised { codes, batch } => codes.iter().chain(batch).collect(),
            },
            Record::Ship(record) => record.lines.iter().map(|line| &line.code).collect(),
            Record::Inspect(record) => record.subject.code().into_iter().collect(),
            Record::Recall(record) => record.subjects.iter().filter_map(Subject::code).collect(),
            Record::Pack(record) => std::iter::once(record.sscc.as_code())
                .chain(record.contents.iter().map(|line| &line.code))
                .collect(),
            Record::Unpack(record) => vec![record.sscc.as_code()],
            // The aliases too: looking one up then finds the link, and through it the code.
            Record::LinkCodes(record) => std::iter::once(&record.code)
                .chain(&record.aliases)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The product models the record is about, by model code.
    pub fn models(&self) -> Vec<&ModelCode> {
        match self {
            Record::RegisterProduct(record) => vec![&record.model_code],
            Record::Commission(record) => vec![&record.model_code],
            Record::Inspect(record) => record.subject.model().into_iter().collect(),
            Record::Recall(record) => record.subjects.iter().filter_map(Subject::model).collect(),
            _ => Vec::new(),
        }
    }

    /// The CCC certificates the record names, for the certificate index: the certificate a
    /// model registration cites, and those an enrolment or amendment lists in the profile.
    pub fn certificates(&self) -> Vec<&CccCertificate> {
        match self {
            Record::RegisterProduct(record) => record.ccc_certificate.iter().collect(),
            Record::RegisterEnterprise(RegisterEnterprise { enterprise, .. })
            | Record::UpdateEnterprise(UpdateEnterprise { enterprise, .. }) => enterprise
                .ccc_certificates
                .iter()
                .map(|entry| &entry.number)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The enterprises the record names, for the per-enterprise index: the one it is about, and
    /// the buyer of a sale.
    pub fn enterprises(&self) -> Vec<&Uscc> {
        match self {
            Record::RegisterEnterprise(record) => vec![&record.enterprise.uscc],
            Record::UpdateEnterprise(record) => vec![&record.enterprise.uscc],
            Record::BindKey(BindKey { uscc, .. })
            | Record::RotateKey(RotateKey { uscc, .. })
            | Record::RevokeKey(RevokeKey { uscc, .. })
            | Record::OfferTransfer(OfferTransfer { uscc, .. })
            | Record::AcceptTransfer(AcceptTransfer { uscc, .. })
            | Record::WithdrawTransfer(WithdrawTransfer { uscc })
            | Record::RevokePrefix(RevokePrefix { uscc, .. }) => vec![uscc],
            Record::AttestPrefix(AttestPrefix { uscc, from, .. }) => {
                std::iter::once(uscc).chain(from).collect()
            }
            Record::TransferPrefix(TransferPrefix { uscc, to, .. }) => vec![uscc, to],
            Record::RegisterProduct(record) => vec![&record.uscc],
            Record::Commission(record) => vec![&record.uscc],
            Record::Inspect(_) | Record::CloseRecall(_) => Vec::new(),
            Record::Ship(record) => match &record.buyer {
                Party::Enterprise { uscc, .. } => vec![&record.seller, uscc],
                Party::Person { .. } => vec![&record.seller],
            },
            Record::Recall(record) => vec![&record.producer],
            Record::Pack(Pack { uscc, .. })
            | Record::Unpack(Unpack { uscc, .. })
            | Record::LinkCodes(LinkCodes { uscc, .. }) => vec![uscc],
        }
    }

    /// The record's type name, as in JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            Record::RegisterEnterprise(_) => "register_enterprise",
            Record::UpdateEnterprise(_) => "update_enterprise",
            Record::BindKey(_) => "bind_key",
            Record::RotateKey(_) => "rotate_key",
            Record::RevokeKey(_) => "revoke_key",
            Record::OfferTransfer(_) => "offer_transfer",
            Record::AcceptTransfer(_) => "accept_transfer",
            Record::WithdrawTransfer(_) => "withdraw_transfer",
            Record::AttestPrefix(_) => "attest_prefix",
            Record::TransferPrefix(_) => "transfer_prefix",
            Record::RevokePrefix(_) => "revoke_prefix",
            Record::RegisterProduct(_) => "register_product",
            Record::Commission(_) => "commission",
            Record::Inspect(_) => "inspect",
            Record::Ship(_) => "ship",
            Record::Recall(_) => "recall",
            Record::CloseRecall(_) => "close_recall",
            Record::Pack(_) => "pack",
            Record::Unpack(_) => "unpack",
            Record::LinkCodes(_) => "link_codes",
        }
    }
}

crate::string_schema!(
    Gs1Text,
    "Gs1Text",
    "a GS1 lot or serial number: 1 to 20 characters of GS1's character set 82"
);
crate::string_schema!(
    TraceCode,
    "TraceCode",
    "a trace code in canonical form: 01/{gtin14}/10/{lot}, 01/{gtin14}/21/{serial}, 00/{sscc}, \
     ecode:{ecode} or handle:{prefix}/{suffix} (lot and serial percent-encoded); see \
     docs/codes.md",
    "examples": ["01/06950123450012/10/L2026-001", "00/069501234000000017"],
);
crate::string_schema!(
    UnitCode,
    "UnitCode",
    "a logistic unit's code: 00/{sscc}",
    "pattern": "^00/[0-9]{18}$",
    "examples": ["00/069501234000000017"],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_code_forms_round_trip() {
        for text in [
            "01/09520123456788/10/ABC1",
            "01/09520123456788/21/A%2FB%25C",
            "00/123456789012345675",
            "handle:88.1000.2/mm",
        ] {
            let code: TraceCode = text.parse().unwrap();
            assert_eq!(code.to_string(), text);
        }
        let code: TraceCode = "01/09520123456788/21/A%2fB".parse().unwrap();
        assert_eq!(code.to_string(), "01/09520123456788/21/A%2FB");
    }

    #[test]
    fn trace_code_rejections() {
        assert_eq!(
            "02/09520123456788".parse::<TraceCode>(),
            Err(TraceCodeError::UnknownForm)
        );
        assert!(matches!(
            "01/09520123456789/10/A".parse::<TraceCode>(),
            Err(TraceCodeError::Gs1Key(_))
        ));
        assert!(matches!(
            "01/09520123456788/10/批号".parse::<TraceCode>(),
            Err(TraceCodeError::Gs1Value(_))
        ));
        assert!(matches!(
            "01/09520123456788/10/%zz".parse::<TraceCode>(),
            Err(TraceCodeError::PercentEscape(_))
        ));
        assert!(matches!(
            "01/09520123456788/10/".parse::<TraceCode>(),
            Err(TraceCodeError::Gs1Value(_))
        ));
    }

    #[test]
    fn commitment_depends_on_every_field_and_salt() {
        let data = PersonalData {
            name: "张三".into(),
            address: "武汉市".into(),
            contact: "13800000000".into(),
        };
        let base = data.commitment(&[1; 32]);
        assert_ne!(base, data.commitment(&[2; 32]));
        let mut other = data.clone();
        other.contact.push('1');
        assert_ne!(base, other.commitment(&[1; 32]));
    }

    #[test]
    fn fresh_commitments_draw_a_new_salt_each_time() {
        let data = PersonalData {
            name: "张三".into(),
            address: "武汉市".into(),
            contact: "13800000000".into(),
        };
        let first = data.commit_fresh();
        let second = data.commit_fresh();
        assert_ne!(first.salt, second.salt);
        assert_ne!(first.commitment, second.commitment);
        assert_eq!(first.commitment, data.commitment(&first.salt));
    }

    #[test]
    fn buyers_refuse_prose_where_a_reference_belongs() {
        let person = |reference: &str| {
            serde_json::from_value::<Party>(serde_json::json!({"person": {
                "commitment": "00".repeat(32),
                "data_reference": reference,
            }}))
        };
        assert!(person("crm://orders/2026/000311").is_ok());
        let error = person("Li Hua, Hongshan District, Wuhan").unwrap_err();
        assert!(error.to_string().contains("letters, digits"), "{error}");
        // A company buyer carries its address and contact; both are required.
        let company = serde_json::json!({"enterprise": {
            "uscc": "91420100MA4K5D9T3L",
            "name": "Central China Building Materials Trading Co., Ltd.",
        }});
        assert!(serde_json::from_value::<Party>(company).is_err());
        let company = serde_json::json!({"enterprise": {
            "uscc": "91420100MA4K5D9T3L",
            "name": "Central China Building Materials Trading Co., Ltd.",
            "address": "9 Hanzheng Street, Qiaokou District, Wuhan, Hubei",
            "contact": "+86 27 8000 0000 (quality office)",
            "gln": "6901234567892",
        }});
        let party: Party = serde_json::from_value(company.clone()).unwrap();
        assert_eq!(serde_json::to_value(&party).unwrap(), company);
        let mut bad_gln = company;
        bad_gln["enterprise"]["gln"] = "6901234567891".into();
        assert!(serde_json::from_value::<Party>(bad_gln).is_err());
    }
}
