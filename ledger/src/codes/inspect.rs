//! Detect which kind of code a string is, and report its canonical form, whether its check
//! digits are right and its parts, or what is wrong with it.
//!
//! Data-entry staff paste whatever is printed on a label or a certificate; [`inspect`] tries
//! every kind whose shape fits, in a fixed order, and reports the first that is valid (with any
//! others that are valid too), or else the error of the first whose shape fits. Shapes:
//!
//! | shape | kinds tried |
//! |---|---|
//! | `http://…`, `https://…` in any case | GS1 Digital Link URI, read leniently |
//! | `urn:epc:…` | EPC URN |
//! | `(01)…`, or with a symbology identifier `]C1…`, or holding GS (0x1D) | GS1 element string |
//! | `01/…`, `00/…`, `handle:…` | Suyuan trace code |
//! | `ecode:…` | Ecode (only with this prefix: a bare digit string is too easily a mistyped GTIN) |
//! | `MA.…` in any case | Ecode of the `MA.` form, bare as printed |
//! | digits `.` digits … `/` suffix | industrial-internet (Handle) identifier |
//! | containing `XK` | production licence |
//! | 18 letters and digits | USCC, and SSCC when all digits |
//! | 8, 12, 13 or 14 digits | GTIN, and GLN at 13 |
//! | 16 digits | CCC certificate |
//!
//! A pasted Digital Link is read with [`DigitalLink::parse_lenient`]: a scheme in mixed case or a
//! zero-suppressed GTIN in the path, which GS1's reference parser refuses by default, is still
//! read, set right in `normalized`, and named in [`Inspection::warnings`], as are an upper-case
//! scheme and a zero-suppressed GTIN in the query. Records are never read this way.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ccc::{CccCertificate, CccError, CertificationBody};
use super::ecode::{Ecode, EcodeError};
use super::gs1::dictionary::dictionary;
use super::gs1::digital_link::{CANONICAL_STEM, DigitalLink, DigitalLinkError};
use super::gs1::element::{ElementError, ElementString};
use super::gs1::epc::{EpcError, Lgtin, Sgln, Sgtin, Sscc as EpcSscc};
use super::gs1::keys::{Gln, Gtin, KeyError, Sscc};
use super::gs1::linters::{LintFailureKind, Linter};
use super::handle::{HandleError, HandleId};
use super::licence::{LicenceError, ProductionLicence};
use super::uscc::{Uscc, UsccError};
use crate::record::{TraceCode, TraceCodeError};

/// Longest input inspected, in bytes; anything longer is refused unread.
pub const MAX_INSPECT_BYTES: usize = 2_048;

/// The kinds of code Suyuan recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    /// Unified social credit code of an enterprise.
    Uscc,
    /// GS1 Global Trade Item Number.
    Gtin,
    /// GS1 Global Location Number.
    Gln,
    /// GS1 Serial Shipping Container Code.
    Sscc,
    /// GS1 Application Identifier element string.
    Gs1ElementString,
    /// GS1 Digital Link URI.
    Gs1DigitalLink,
    /// EPC pure-identity or class URN.
    EpcUrn,
    /// CCC certificate number.
    CccCertificate,
    /// Production licence number.
    ProductionLicence,
    /// Industrial-internet (Handle) identifier.
    Handle,
    /// Ecode.
    Ecode,
    /// Suyuan's canonical trace code form.
    TraceCode,
    /// Nothing Suyuan knows.
    Unknown,
}

impl CodeKind {
    /// The kind's name as in JSON: `gtin`, `gs1_digital_link`, ...
    pub fn name(self) -> &'static str {
        match self {
            CodeKind::Uscc => "uscc",
            CodeKind::Gtin => "gtin",
            CodeKind::Gln => "gln",
            CodeKind::Sscc => "sscc",
            CodeKind::Gs1ElementString => "gs1_element_string",
            CodeKind::Gs1DigitalLink => "gs1_digital_link",
            CodeKind::EpcUrn => "epc_urn",
            CodeKind::CccCertificate => "ccc_certificate",
            CodeKind::ProductionLicence => "production_licence",
            CodeKind::Handle => "handle",
            CodeKind::Ecode => "ecode",
            CodeKind::TraceCode => "trace_code",
            CodeKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for CodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One GS1 Application Identifier and its value, as a code carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiValue {
    /// The AI, `01`, `10`, `17`, ...
    pub ai: String,
    /// Its title in GS1's syntax dictionary, `GTIN`, `BATCH/LOT`, ...
    pub title: String,
    /// Its value.
    pub value: String,
}

/// What [`inspect`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inspection {
    /// The input, as given.
    pub input: String,
    /// The kind detected.
    pub kind: CodeKind,
    /// Whether the input is a valid code of that kind.
    pub valid: bool,
    /// The code in its kind's one canonical form, when valid: 14 digits for any GTIN, the
    /// bracketed element string, the Digital Link URI under `https://id.gs1.org` with its
    /// qualifiers in order, a licence with full-width brackets, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalized: Option<String>,
    /// Whether its check digits (GS1 keys and every AI value with one) or its check character
    /// (USCC) are right: `Some(true)` for a valid code that carries one, `Some(false)` for a
    /// code refused because one is wrong, `None` when the kind carries none (CCC certificates,
    /// licences, Handle ids, Ecodes, EPC URNs) or the input was refused before the check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_digit_valid: Option<bool>,
    /// The parsed parts, by name (`gtin14`, `lot`, `serial`, `sscc`, `region_code`, ...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// The GS1 Application Identifiers it carries, in order (element strings, Digital Link
    /// URIs, EPC URNs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ais: Vec<AiValue>,
    /// The ledger's trace code for it, where it names a batch, an item or a logistic unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_code: Option<TraceCode>,
    /// Other kinds the same string is valid as (a 13-digit string can be a GTIN and a GLN).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_valid_as: Vec<CodeKind>,
    /// How a valid input departs from its canonical spelling: a Digital Link's scheme not in
    /// lower case, a zero-suppressed GTIN in one, each saying whether GS1's reference parser
    /// refuses it as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What is wrong, when not valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A valid code, taken apart.
#[derive(Default)]
struct Parsed {
    normalized: String,
    /// Whether the code carries a check digit or character (which, since it parsed, is right).
    carries_check: bool,
    fields: BTreeMap<String, String>,
    ais: Vec<AiValue>,
    trace_code: Option<TraceCode>,
    warnings: Vec<String>,
}

impl Parsed {
    /// The same parts, naming `code` as what the ledger records the code under.
    fn naming(self, code: TraceCode) -> Parsed {
        Parsed {
            trace_code: Some(code),
            ..self
        }
    }
}

/// Why a string is not a valid code of a kind.
struct Refusal {
    message: String,
    /// Whether the fault is a wrong check digit or character.
    check_failed: bool,
}

type Attempt = Result<Parsed, Refusal>;

/// Inspects `input`.
pub fn inspect(input: &str) -> Inspection {
    let mut report = Inspection {
        input: input.to_owned(),
        kind: CodeKind::Unknown,
        valid: false,
        normalized: None,
        check_digit_valid: None,
        fields: BTreeMap::new(),
        ais: Vec::new(),
        trace_code: None,
        also_valid_as: Vec::new(),
        warnings: Vec::new(),
        error: None,
    };
    if input.len() > MAX_INSPECT_BYTES {
        report.error = Some(format!(
            "input is {} bytes; at most {MAX_INSPECT_BYTES} are inspected",
            input.len()
        ));
        return report;
    }
    let text = input.trim();
    let candidates = candidates(text);
    let mut first_refusal: Option<(CodeKind, Refusal)> = None;
    for (kind, attempt) in candidates {
        match attempt {
            Ok(parsed) if !report.valid => {
                report.kind = kind;
                report.valid = true;
                report.normalized = Some(parsed.normalized);
                report.check_digit_valid = parsed.carries_check.then_some(true);
                report.fields = parsed.fields;
                report.ais = parsed.ais;
                report.trace_code = parsed.trace_code;
                report.warnings = parsed.warnings;
            }
            Ok(_) => report.also_valid_as.push(kind),
            Err(refusal) => {
                first_refusal.get_or_insert((kind, refusal));
            }
        }
    }
    if !report.valid {
        match first_refusal {
            Some((kind, refusal)) => {
                report.kind = kind;
                report.check_digit_valid = refusal.check_failed.then_some(false);
                report.error = Some(refusal.message);
            }
            None => {
                report.error = Some(
                    "not a code Suyuan knows: expected a USCC, a GS1 key, element string or \
                     Digital Link URI, an EPC URN, a CCC certificate or production licence \
                     number, an industrial-internet identifier, ecode:… or MA.…"
                        .into(),
                );
            }
        }
    }
    report
}

/// Every kind whose shape `text` fits, each with the outcome of parsing it as that kind.
fn candidates(text: &str) -> Vec<(CodeKind, Attempt)> {
    let mut out = Vec::new();
    let all_digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let alphanumeric = text.bytes().all(|b| b.is_ascii_alphanumeric());
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        out.push((CodeKind::Gs1DigitalLink, digital_link_fields(text)));
    } else if lower.starts_with("urn:epc:") {
        out.push((CodeKind::EpcUrn, epc_fields(text)));
    } else if (text.starts_with('(') && text.as_bytes().get(1).is_some_and(u8::is_ascii_digit))
        || text.starts_with(']')
        || text.contains('\u{1d}')
    {
        out.push((CodeKind::Gs1ElementString, element_fields(text)));
    } else if let Some(ecode) = text.strip_prefix("ecode:") {
        out.push((CodeKind::Ecode, ecode_fields(ecode)));
    } else if text
        .get(..3)
        .is_some_and(|head| head.eq_ignore_ascii_case("MA."))
    {
        out.push((CodeKind::Ecode, ecode_fields(text)));
    } else if text.starts_with("01/") || text.starts_with("00/") || text.starts_with("handle:") {
        out.push((CodeKind::TraceCode, trace_code_fields(text)));
    } else if looks_like_handle(text) {
        out.push((CodeKind::Handle, handle_fields(text)));
    } else if text.contains("XK") {
        out.push((CodeKind::ProductionLicence, licence_fields(text)));
    } else if text.len() == 18 && alphanumeric {
        out.push((CodeKind::Uscc, uscc_fields(text)));
        if all_digits {
            out.push((CodeKind::Sscc, sscc_fields(text)));
        }
    } else if all_digits && text.len() == 16 {
        out.push((CodeKind::CccCertificate, ccc_fields(text)));
    } else if all_digits && [8, 12, 13, 14].contains(&text.len()) {
        out.push((CodeKind::Gtin, gtin_fields(text)));
        if text.len() == 13 {
            out.push((CodeKind::Gln, gln_fields(text)));
        }
    }
    out
}

fn looks_like_handle(text: &str) -> bool {
    match text.split_once('/') {
        Some((prefix, _)) => {
            prefix.contains('.') && prefix.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        }
        None => false,
    }
}

/// A parse error, and whether it is a wrong check digit or check character: what
/// [`Inspection::check_digit_valid`] reports for a refused code.
trait CodeError: fmt::Display {
    /// Whether the input was refused for a wrong check digit or character.
    fn is_check_failure(&self) -> bool {
        false
    }
}

impl CodeError for UsccError {
    fn is_check_failure(&self) -> bool {
        matches!(self, UsccError::CheckCharacter { .. })
    }
}

impl CodeError for KeyError {
    fn is_check_failure(&self) -> bool {
        matches!(self, KeyError::CheckDigit { .. })
    }
}

impl CodeError for ElementError {
    fn is_check_failure(&self) -> bool {
        matches!(
            self,
            ElementError::Lint {
                kind: LintFailureKind::CheckDigit { .. } | LintFailureKind::CheckPair { .. },
                ..
            }
        )
    }
}

impl CodeError for DigitalLinkError {
    fn is_check_failure(&self) -> bool {
        match self {
            DigitalLinkError::Gtin { source } => source.is_check_failure(),
            DigitalLinkError::Element(error) => error.is_check_failure(),
            _ => false,
        }
    }
}

impl CodeError for EpcError {
    fn is_check_failure(&self) -> bool {
        match self {
            EpcError::Key(error) => error.is_check_failure(),
            EpcError::Element(error) => error.is_check_failure(),
            _ => false,
        }
    }
}

impl CodeError for TraceCodeError {
    fn is_check_failure(&self) -> bool {
        match self {
            TraceCodeError::Gs1Key(error) => error.is_check_failure(),
            TraceCodeError::Gs1Value(error) => error.is_check_failure(),
            _ => false,
        }
    }
}

// These codes carry no check digit.
impl CodeError for CccError {}
impl CodeError for LicenceError {}
impl CodeError for HandleError {}
impl CodeError for EcodeError {}

fn parse<T: FromStr>(text: &str) -> Result<T, Refusal>
where
    T::Err: CodeError,
{
    text.parse::<T>().map_err(refused)
}

fn refused(error: impl CodeError) -> Refusal {
    Refusal {
        message: error.to_string(),
        check_failed: error.is_check_failure(),
    }
}

fn refusal(message: impl Into<String>) -> Refusal {
    Refusal {
        message: message.into(),
        check_failed: false,
    }
}

fn fields<const N: usize>(
    normalized: String,
    carries_check: bool,
    pairs: [(&'static str, String); N],
) -> Parsed {
    Parsed {
        normalized,
        carries_check,
        fields: pairs
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
        ais: Vec::new(),
        trace_code: None,
        warnings: Vec::new(),
    }
}

fn uscc_fields(text: &str) -> Attempt {
    let uscc: Uscc = parse(text)?;
    let category = uscc.category();
    Ok(fields(
        uscc.to_string(),
        true,
        [
            ("uscc", uscc.to_string()),
            (
                "registration_authority",
                format!(
                    "{} ({})",
                    uscc.registration_authority().code(),
                    uscc.registration_authority().name_zh()
                ),
            ),
            (
                "category",
                format!(
                    "{} ({}, {})",
                    category.code(),
                    category.name_zh(),
                    category.name_en()
                ),
            ),
            ("region_code", uscc.region_code().to_owned()),
            ("organisation_code", uscc.organisation_code().to_owned()),
        ],
    ))
}

fn gtin_fields(text: &str) -> Attempt {
    let gtin: Gtin = parse(text)?;
    Ok(fields(
        gtin.to_string(),
        true,
        [
            ("gtin14", gtin.to_string()),
            ("written_length", text.len().to_string()),
            ("indicator_digit", gtin.indicator_digit().to_string()),
            ("check_digit", gtin.check_digit().to_string()),
        ],
    ))
}

fn gln_fields(text: &str) -> Attempt {
    let gln: Gln = parse(text)?;
    Ok(fields(
        gln.to_string(),
        true,
        [
            ("gln", gln.to_string()),
            ("check_digit", gln.check_digit().to_string()),
        ],
    ))
}

fn sscc_fields(text: &str) -> Attempt {
    let sscc: Sscc = parse(text)?;
    Ok(fields(
        sscc.to_string(),
        true,
        [
            ("sscc", sscc.to_string()),
            ("extension_digit", sscc.extension_digit().to_string()),
            ("check_digit", sscc.check_digit().to_string()),
        ],
    )
    .naming(TraceCode::Sscc(sscc)))
}

fn ccc_fields(text: &str) -> Attempt {
    let certificate: CccCertificate = parse(text)?;
    let body = match certificate.certification_body() {
        CertificationBody::ChinaQualityCertificationCentre => {
            "01 (China Quality Certification Centre, CQC)".to_owned()
        }
        CertificationBody::Other { code } => format!("{code:02}"),
    };
    Ok(fields(
        certificate.to_string(),
        false,
        [
            ("certificate", certificate.to_string()),
            (
                "first_issue_year",
                certificate.first_issue_year().to_string(),
            ),
            ("certification_body", body),
            (
                "product_category",
                certificate.product_category().to_owned(),
            ),
            ("sequence", certificate.sequence().to_owned()),
        ],
    ))
}

fn licence_fields(text: &str) -> Attempt {
    let licence: ProductionLicence = parse(text)?;
    let mut parsed = fields(
        licence.to_string(),
        false,
        [
            ("licence", licence.to_string()),
            ("industry", format!("{:02}", licence.industry())),
            ("product", format!("{:03}", licence.product())),
            ("enterprise", format!("{:05}", licence.enterprise())),
        ],
    );
    if let Some(province) = licence.province() {
        parsed
            .fields
            .insert("province".into(), province.to_string());
    }
    Ok(parsed)
}

fn handle_fields(text: &str) -> Attempt {
    let handle: HandleId = parse(text)?;
    Ok(fields(
        handle.to_string(),
        false,
        [
            ("handle", handle.to_string()),
            ("prefix", handle.prefix().to_owned()),
            ("suffix", handle.suffix().to_owned()),
            ("under_china_root", handle.is_under_china_root().to_string()),
        ],
    )
    .naming(TraceCode::Handle(handle)))
}

fn ecode_fields(text: &str) -> Attempt {
    let ecode: Ecode = parse(text)?;
    let normalized = format!("ecode:{ecode}");
    let version = ("version", ecode.version().name().to_owned());
    let parsed = match (
        ecode.numbering_system_identifier(),
        ecode.master_data(),
        ecode.unit_main_code(),
    ) {
        (Some(nsi), Some(master_data), _) => fields(
            normalized,
            false,
            [
                ("ecode", ecode.to_string()),
                version,
                ("numbering_system_identifier", nsi.to_owned()),
                ("master_data", master_data.to_owned()),
            ],
        ),
        (_, _, Some(unit)) => {
            let item = ecode.as_str().get(unit.len() + 1..).unwrap_or_default();
            fields(
                normalized,
                false,
                [
                    ("ecode", ecode.to_string()),
                    version,
                    ("unit_main_code", unit.to_owned()),
                    ("prefix", format!("ecode:{unit}")),
                    ("item", item.to_owned()),
                ],
            )
        }
        _ => fields(normalized, false, [("ecode", ecode.to_string()), version]),
    };
    Ok(parsed.naming(TraceCode::Ecode(ecode)))
}

/// The AIs that name a part of a code, and the field each is reported as.
const NAMED_AIS: [(&str, &str); 5] = [
    ("00", "sscc"),
    ("01", "gtin14"),
    ("10", "lot"),
    ("21", "serial"),
    ("414", "gln"),
];

/// Every AI with its title, the parts they name as fields, whether any value carries a check
/// digit (per GS1's syntax dictionary), and the trace code the AIs name, if any.
fn ai_fields(elements: &ElementString) -> Parsed {
    let mut parsed = Parsed {
        normalized: elements.to_string(),
        ..Parsed::default()
    };
    for (ai, value) in elements.iter() {
        let spec = dictionary().get(*ai);
        parsed.ais.push(AiValue {
            ai: ai.to_string(),
            title: spec.map_or("", |spec| spec.title()).to_owned(),
            value: value.to_owned(),
        });
        parsed.carries_check |= spec.is_some_and(|spec| {
            spec.components().iter().any(|component| {
                component
                    .linters()
                    .iter()
                    .any(|linter| matches!(linter, Linter::Csum | Linter::Csumalpha))
            })
        });
        if let Some((_, name)) = NAMED_AIS.iter().find(|(named, _)| *named == ai.as_str()) {
            parsed.fields.insert((*name).to_owned(), value.to_owned());
        }
    }
    parsed
        .fields
        .insert("element_string".into(), elements.to_string());
    parsed.trace_code = trace_code_of(elements);
    parsed
}

/// A trace code written in any form the ledger reads as one: its canonical form
/// (`01/{gtin}/10/{lot}`, `00/{sscc}`, `ecode:…`, `handle:…`), a GS1 Digital Link URI or an
/// element string (`(01)…(10)…`). The error says, for people, why the text names no batch,
/// item or logistic unit. The API's code lookups and bulk imports read codes with it.
pub fn read_trace_code(text: &str) -> Result<TraceCode, String> {
    let canonical_error = match text.parse::<TraceCode>() {
        Ok(code) => return Ok(code),
        Err(error) => error,
    };
    let report = inspect(text);
    if report.valid {
        return match report.trace_code {
            Some(code) => Ok(code),
            None if report.kind == CodeKind::CccCertificate => Err(format!(
                "a CCC certificate names no batch, item or logistic unit: look it up at \
                 /v1/certificates/{}",
                report.normalized.unwrap_or_default()
            )),
            None => Err(format!(
                "a {:?} names no batch, item or logistic unit",
                report.kind
            )),
        };
    }
    Err(match (report.kind, report.error) {
        (CodeKind::Unknown | CodeKind::TraceCode, _) | (_, None) => canonical_error.to_string(),
        (kind, Some(error)) => format!("{error} (read as a {kind:?})"),
    })
}

/// The ledger's code for what an element string names: an item (GTIN + serial), a batch
/// (GTIN + lot) or a logistic unit (SSCC).
pub fn trace_code_of(elements: &ElementString) -> Option<TraceCode> {
    let text = |ai: &str| elements.get(ai);
    if let Some(sscc) = text("00") {
        return sscc.parse().ok().map(TraceCode::Sscc);
    }
    let gtin: Gtin = text("01")?.parse().ok()?;
    if let Some(serial) = text("21") {
        let serial = serial.parse().ok()?;
        return Some(TraceCode::Item { gtin, serial });
    }
    let lot = text("10")?.parse().ok()?;
    Some(TraceCode::Lot { gtin, lot })
}

fn element_fields(text: &str) -> Attempt {
    let elements: ElementString = parse(text)?;
    Ok(ai_fields(&elements))
}

/// Leniently: a pasted link is looked up, and its departures from GS1's defaults reported.
fn digital_link_fields(text: &str) -> Attempt {
    let read = DigitalLink::parse_lenient(text).map_err(refused)?;
    let mut parsed = ai_fields(read.link().element_string());
    let canonical = read.link().to_uri(CANONICAL_STEM);
    parsed
        .fields
        .insert("canonical_uri".into(), canonical.clone());
    parsed.normalized = canonical;
    parsed.warnings = read.rewrites().iter().map(ToString::to_string).collect();
    Ok(parsed)
}

/// An EPC URN names its GS1 key without the check digit, which the AIs then show computed.
fn epc_fields(text: &str) -> Attempt {
    let lower = text.to_ascii_lowercase();
    let (urn, elements) = if lower.starts_with("urn:epc:id:sgtin:") {
        let sgtin = parse::<Sgtin>(text)?;
        (sgtin.to_string(), sgtin.element_string().clone())
    } else if lower.starts_with("urn:epc:class:lgtin:") {
        let lgtin = parse::<Lgtin>(text)?;
        (lgtin.to_string(), lgtin.element_string().clone())
    } else if lower.starts_with("urn:epc:id:sscc:") {
        let sscc = parse::<EpcSscc>(text)?;
        (sscc.to_string(), sscc.element_string().clone())
    } else if lower.starts_with("urn:epc:id:sgln:") {
        let sgln = parse::<Sgln>(text)?;
        (sgln.to_string(), sgln.element_string().clone())
    } else {
        return Err(refusal(
            "Suyuan reads the EPC schemes sgtin, lgtin, sscc and sgln",
        ));
    };
    let mut parsed = ai_fields(&elements);
    parsed.normalized = urn;
    parsed.carries_check = false;
    Ok(parsed)
}

fn trace_code_fields(text: &str) -> Attempt {
    let code: TraceCode = parse(text)?;
    let mut parsed = Parsed {
        normalized: code.to_string(),
        ..Parsed::default()
    };
    let mut insert = |name: &str, value: String| parsed.fields.insert(name.to_owned(), value);
    match &code {
        TraceCode::Lot { gtin, lot } => {
            insert("gtin14", gtin.to_string());
            insert("lot", lot.to_string());
        }
        TraceCode::Item { gtin, serial } => {
            insert("gtin14", gtin.to_string());
            insert("serial", serial.to_string());
        }
        TraceCode::Sscc(sscc) => {
            insert("sscc", sscc.to_string());
        }
        TraceCode::Ecode(ecode) => {
            insert("ecode", ecode.to_string());
        }
        TraceCode::Handle(handle) => {
            insert("handle", handle.to_string());
        }
    }
    parsed.carries_check = matches!(
        code,
        TraceCode::Lot { .. } | TraceCode::Item { .. } | TraceCode::Sscc(_)
    );
    Ok(parsed.naming(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_kind() {
        let cases = [
            ("91350100M000100Y43", CodeKind::Uscc),
            ("09520123456788", CodeKind::Gtin),
            ("1234567890128", CodeKind::Gtin),
            ("123456789012345675", CodeKind::Sscc),
            ("2016010903878416", CodeKind::CccCertificate),
            ("(鄂)XK12-001-00018", CodeKind::ProductionLicence),
            ("88.1000.2/mm", CodeKind::Handle),
            ("01/09520123456788/10/ABC1", CodeKind::TraceCode),
            (
                "(01)09520123456788(10)ABC1(17)270100",
                CodeKind::Gs1ElementString,
            ),
            (
                "]C10109520123456788\u{1d}10ABC1",
                CodeKind::Gs1ElementString,
            ),
            (
                "https://id.gs1.org/01/09520123456788/21/12345",
                CodeKind::Gs1DigitalLink,
            ),
            ("urn:epc:id:sgtin:0614141.812345.6789", CodeKind::EpcUrn),
        ];
        for (input, kind) in cases {
            let report = inspect(input);
            assert_eq!(
                (report.kind, report.valid),
                (kind, true),
                "{input}: {report:?}"
            );
        }
    }

    #[test]
    fn gs1_forms_name_their_trace_code() {
        for (input, trace_code) in [
            (
                "https://id.gs1.org/01/09520123456788/10/ABC1?17=270101",
                "01/09520123456788/10/ABC1",
            ),
            ("(01)09520123456788(21)A/1", "01/09520123456788/21/A%2F1"),
            (
                "urn:epc:id:sgtin:0614141.812345.6789",
                "01/80614141123458/21/6789",
            ),
            ("(00)123456789012345675", "00/123456789012345675"),
        ] {
            let report = inspect(input);
            assert!(report.valid, "{input}: {report:?}");
            assert_eq!(
                report
                    .trace_code
                    .as_ref()
                    .map(ToString::to_string)
                    .as_deref(),
                Some(trace_code),
                "{input}"
            );
        }
    }

    #[test]
    fn a_pasted_digital_link_is_read_leniently_and_warned_about() {
        let report = inspect("Https://brand.example/qr/01/6958765432106/21/SN%2F7");
        assert!(report.valid, "{report:?}");
        assert_eq!(
            report.normalized.as_deref(),
            Some("https://id.gs1.org/01/06958765432106/21/SN%2F7")
        );
        assert_eq!(
            report
                .trace_code
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
            Some("01/06958765432106/21/SN%2F7")
        );
        assert_eq!(report.warnings.len(), 2, "{report:?}");
        assert!(
            report
                .warnings
                .iter()
                .all(|warning| warning.ends_with("GS1's reference parser refuses it as written")),
            "{report:?}"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["warnings"].as_array().map(Vec::len), Some(2));
        let canonical = inspect("https://id.gs1.org/01/09520123456788");
        assert!(
            canonical.valid && canonical.warnings.is_empty(),
            "{canonical:?}"
        );
        assert!(serde_json::to_value(&canonical).unwrap()["warnings"].is_null());
    }

    #[test]
    fn a_thirteen_digit_key_is_also_a_gln() {
        let report = inspect("1234567890128");
        assert_eq!(report.also_valid_as, vec![CodeKind::Gln]);
    }

    #[test]
    fn valid_codes_give_their_normalised_form() {
        for (input, normalized) in [
            ("96385074", "00000096385074"),
            (" 91350100M000100Y43 ", "91350100M000100Y43"),
            (
                "https://example.com/shop/01/9520123456788/10/ABC1?17=270101",
                "https://id.gs1.org/01/09520123456788/10/ABC1?17=270101",
            ),
            (
                "]C10109520123456788\u{1d}10ABC1",
                "(01)09520123456788(10)ABC1",
            ),
            ("(鄂)XK12-001-00018", "（鄂）XK12-001-00018"),
            ("ecode:10001123456789", "ecode:10001123456789"),
            (
                "MA.156.M0.100204.13351764.L2601",
                "ecode:MA.156.M0.100204.13351764.L2601",
            ),
            ("01/09520123456788/21/A%2f1", "01/09520123456788/21/A%2F1"),
        ] {
            let report = inspect(input);
            assert!(report.valid, "{input}: {report:?}");
            assert_eq!(report.normalized.as_deref(), Some(normalized), "{input}");
        }
    }

    #[test]
    fn check_digits_are_reported_where_the_kind_carries_them() {
        for (input, check) in [
            ("09520123456788", Some(true)),
            ("09520123456789", Some(false)),
            ("91350100M000100Y43", Some(true)),
            ("91350100M000100Y4Z", Some(false)),
            ("(01)09520123456788(10)ABC1", Some(true)),
            ("(01)09520123456789(10)ABC1", Some(false)),
            ("https://id.gs1.org/01/09520123456789", Some(false)),
            ("https://id.gs1.org/01/9520123456789", Some(false)),
            ("01/09520123456789/10/ABC1", Some(false)),
            ("(10)ABC1(01)09520123456788", Some(true)),
            ("(17)270101(10)A", None),
            ("urn:epc:id:sgtin:0614141.812345.6789", None),
            ("2016010903878416", None),
            ("88.1000.2/mm", None),
            ("0952012345678", Some(false)),
            ("095201234567", Some(false)),
            ("0952012345", None),
        ] {
            let report = inspect(input);
            assert_eq!(report.check_digit_valid, check, "{input}: {report:?}");
        }
    }

    #[test]
    fn gs1_forms_list_their_ais_and_name_their_parts() {
        let report = inspect("https://id.gs1.org/01/09520123456788/10/ABC1/21/S%2F9?17=270101");
        assert!(report.valid, "{report:?}");
        let ais: Vec<(&str, &str)> = report
            .ais
            .iter()
            .map(|ai| (ai.ai.as_str(), ai.value.as_str()))
            .collect();
        assert_eq!(
            ais,
            [
                ("01", "09520123456788"),
                ("10", "ABC1"),
                ("21", "S/9"),
                ("17", "270101")
            ]
        );
        assert_eq!(report.ais[0].title, "GTIN");
        assert_eq!(report.fields["gtin14"], "09520123456788");
        assert_eq!(report.fields["lot"], "ABC1");
        assert_eq!(report.fields["serial"], "S/9");
        assert_eq!(
            report
                .trace_code
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
            Some("01/09520123456788/21/S%2F9")
        );
    }

    #[test]
    fn kind_names_are_the_json_names() {
        for kind in [
            CodeKind::Uscc,
            CodeKind::Gtin,
            CodeKind::Gln,
            CodeKind::Sscc,
            CodeKind::Gs1ElementString,
            CodeKind::Gs1DigitalLink,
            CodeKind::EpcUrn,
            CodeKind::CccCertificate,
            CodeKind::ProductionLicence,
            CodeKind::Handle,
            CodeKind::Ecode,
            CodeKind::TraceCode,
            CodeKind::Unknown,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
            assert_eq!(
                serde_json::from_value::<CodeKind>(kind.name().into()).unwrap(),
                kind
            );
        }
    }

    #[test]
    fn errors_name_the_kind_tried() {
        let report = inspect("91350100M000100Y4Z");
        assert_eq!((report.kind, report.valid), (CodeKind::Uscc, false));
        assert!(report.error.unwrap().contains("check"));
        let report = inspect("hello");
        assert_eq!(report.kind, CodeKind::Unknown);
        assert!(report.error.is_some());
    }

    #[test]
    fn an_ma_code_names_its_unit_and_the_prefix_it_lies_under() {
        let report = inspect("ecode:MA.156.M0.100204.13351764.S0001");
        assert!(report.valid, "{report:?}");
        assert_eq!(report.kind, CodeKind::Ecode);
        assert_eq!(report.fields["version"], "MA");
        assert_eq!(report.fields["unit_main_code"], "MA.156.M0.100204");
        assert_eq!(report.fields["prefix"], "ecode:MA.156.M0.100204");
        assert_eq!(report.fields["item"], "13351764.S0001");
        let lower = inspect("ma.156.M0.100204.1");
        assert!(!lower.valid);
        assert!(
            lower
                .error
                .as_deref()
                .is_some_and(|e| e.contains("segment 1")),
            "{lower:?}"
        );
    }
}
