//! Detect which kind of code a string is, and report its parts or what is wrong with it.
//!
//! Data-entry staff paste whatever is printed on a label or a certificate; [`inspect`] tries
//! every kind whose shape fits, in a fixed order, and reports the first that is valid (with any
//! others that are valid too), or else the error of the first whose shape fits. Shapes:
//!
//! | shape | kinds tried |
//! |---|---|
//! | `http://…`, `https://…` | GS1 Digital Link URI |
//! | `urn:epc:…` | EPC URN |
//! | `(01)…`, or with a symbology identifier `]C1…`, or holding GS (0x1D) | GS1 element string |
//! | `01/…`, `00/…`, `handle:…` | Suyuan trace code |
//! | `ecode:…` | Ecode (only with this prefix: a bare digit string is too easily a mistyped GTIN) |
//! | digits `.` digits … `/` suffix | industrial-internet (Handle) identifier |
//! | containing `XK` | production licence |
//! | 18 letters and digits | USCC, and SSCC when all digits |
//! | 8, 12, 13 or 14 digits | GTIN, and GLN at 13 |
//! | 16 digits | CCC certificate |

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::Serialize;

use super::ccc::{CccCertificate, CertificationBody};
use super::ecode::Ecode;
use super::gs1::dictionary::dictionary;
use super::gs1::digital_link::{CANONICAL_STEM, DigitalLink};
use super::gs1::element::ElementString;
use super::gs1::epc::{Lgtin, Sgln, Sgtin, Sscc as EpcSscc};
use super::gs1::keys::{Gln, Gtin, Sscc};
use super::handle::HandleId;
use super::licence::ProductionLicence;
use super::uscc::Uscc;
use crate::record::TraceCode;

/// Longest input inspected, in bytes; anything longer is refused unread.
pub const MAX_INSPECT_BYTES: usize = 2_048;

/// The kinds of code Suyuan recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// What [`inspect`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inspection {
    /// The input, as given.
    pub input: String,
    /// The kind detected.
    pub kind: CodeKind,
    /// Whether the input is a valid code of that kind.
    pub valid: bool,
    /// The parsed parts, by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// The ledger's trace code for it, where it names a batch, an item or a logistic unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_code: Option<String>,
    /// Other kinds the same string is valid as (a 13-digit string can be a GTIN and a GLN).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_valid_as: Vec<CodeKind>,
    /// What is wrong, when not valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Parts of a valid code, and its trace code if it has one.
#[derive(Default)]
struct Parsed {
    fields: BTreeMap<String, String>,
    trace_code: Option<TraceCode>,
}

type Attempt = Result<Parsed, String>;

/// Inspects `input`.
pub fn inspect(input: &str) -> Inspection {
    let mut report = Inspection {
        input: input.to_owned(),
        kind: CodeKind::Unknown,
        valid: false,
        fields: BTreeMap::new(),
        trace_code: None,
        also_valid_as: Vec::new(),
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
    let mut first_error: Option<(CodeKind, String)> = None;
    for (kind, attempt) in candidates {
        match attempt {
            Ok(parsed) if !report.valid => {
                report.kind = kind;
                report.valid = true;
                report.fields = parsed.fields;
                report.trace_code = parsed.trace_code.map(|code| code.to_string());
            }
            Ok(_) => report.also_valid_as.push(kind),
            Err(error) => {
                first_error.get_or_insert((kind, error));
            }
        }
    }
    if !report.valid {
        match first_error {
            Some((kind, error)) => {
                report.kind = kind;
                report.error = Some(error);
            }
            None => {
                report.error = Some(
                    "not a code Suyuan knows: expected a USCC, a GS1 key, element string or \
                     Digital Link URI, an EPC URN, a CCC certificate or production licence \
                     number, an industrial-internet identifier, or ecode:…"
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

fn parse<T: FromStr>(text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>().map_err(|error| error.to_string())
}

fn fields<const N: usize>(pairs: [(&'static str, String); N]) -> Parsed {
    Parsed {
        fields: pairs
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
        trace_code: None,
    }
}

fn uscc_fields(text: &str) -> Attempt {
    let uscc: Uscc = parse(text)?;
    let category = uscc.category();
    Ok(fields([
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
    ]))
}

fn gtin_fields(text: &str) -> Attempt {
    let gtin: Gtin = parse(text)?;
    Ok(fields([
        ("gtin14", gtin.to_string()),
        ("written_length", text.len().to_string()),
        ("indicator_digit", gtin.indicator_digit().to_string()),
        ("check_digit", gtin.check_digit().to_string()),
    ]))
}

fn gln_fields(text: &str) -> Attempt {
    let gln: Gln = parse(text)?;
    Ok(fields([
        ("gln", gln.to_string()),
        ("check_digit", gln.check_digit().to_string()),
    ]))
}

fn sscc_fields(text: &str) -> Attempt {
    let sscc: Sscc = parse(text)?;
    let mut parsed = fields([
        ("sscc", sscc.to_string()),
        ("extension_digit", sscc.extension_digit().to_string()),
        ("check_digit", sscc.check_digit().to_string()),
    ]);
    parsed.trace_code = Some(TraceCode::Sscc(sscc));
    Ok(parsed)
}

fn ccc_fields(text: &str) -> Attempt {
    let certificate: CccCertificate = parse(text)?;
    let body = match certificate.certification_body() {
        CertificationBody::ChinaQualityCertificationCentre => {
            "01 (China Quality Certification Centre, CQC)".to_owned()
        }
        CertificationBody::Other { code } => format!("{code:02}"),
    };
    Ok(fields([
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
    ]))
}

fn licence_fields(text: &str) -> Attempt {
    let licence: ProductionLicence = parse(text)?;
    let mut parsed = fields([
        ("licence", licence.to_string()),
        ("industry", format!("{:02}", licence.industry())),
        ("product", format!("{:03}", licence.product())),
        ("enterprise", format!("{:05}", licence.enterprise())),
    ]);
    if let Some(province) = licence.province() {
        parsed
            .fields
            .insert("province".into(), province.to_string());
    }
    Ok(parsed)
}

fn handle_fields(text: &str) -> Attempt {
    let handle: HandleId = parse(text)?;
    let mut parsed = fields([
        ("handle", handle.to_string()),
        ("prefix", handle.prefix().to_owned()),
        ("suffix", handle.suffix().to_owned()),
        ("under_china_root", handle.is_under_china_root().to_string()),
    ]);
    parsed.trace_code = Some(TraceCode::Handle(handle));
    Ok(parsed)
}

fn ecode_fields(text: &str) -> Attempt {
    let ecode: Ecode = parse(text)?;
    let mut parsed = fields([
        ("ecode", ecode.to_string()),
        ("version", ecode.version().digit().to_string()),
        (
            "numbering_system_identifier",
            ecode.numbering_system_identifier().to_owned(),
        ),
        ("master_data", ecode.master_data().to_owned()),
    ]);
    parsed.trace_code = Some(TraceCode::Ecode(ecode));
    Ok(parsed)
}

/// Each AI as a field named `AI (title)`, and the trace code the AIs name, if any.
fn ai_fields(elements: &ElementString) -> Parsed {
    let mut parsed = Parsed::default();
    for (ai, value) in elements.iter() {
        let title = dictionary().get(*ai).map_or("", |spec| spec.title());
        parsed
            .fields
            .insert(format!("{ai} ({title})"), value.to_owned());
    }
    parsed
        .fields
        .insert("element_string".into(), elements.to_string());
    parsed.trace_code = trace_code_of(elements);
    parsed
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

fn digital_link_fields(text: &str) -> Attempt {
    let link: DigitalLink = parse(text)?;
    let mut parsed = ai_fields(link.element_string());
    parsed
        .fields
        .insert("canonical_uri".into(), link.to_uri(CANONICAL_STEM));
    Ok(parsed)
}

fn epc_fields(text: &str) -> Attempt {
    let lower = text.to_ascii_lowercase();
    let elements = if lower.starts_with("urn:epc:id:sgtin:") {
        parse::<Sgtin>(text)?.element_string().clone()
    } else if lower.starts_with("urn:epc:class:lgtin:") {
        parse::<Lgtin>(text)?.element_string().clone()
    } else if lower.starts_with("urn:epc:id:sscc:") {
        parse::<EpcSscc>(text)?.element_string().clone()
    } else if lower.starts_with("urn:epc:id:sgln:") {
        parse::<Sgln>(text)?.element_string().clone()
    } else {
        return Err("Suyuan reads the EPC schemes sgtin, lgtin, sscc and sgln".into());
    };
    Ok(ai_fields(&elements))
}

fn trace_code_fields(text: &str) -> Attempt {
    let code: TraceCode = parse(text)?;
    let mut parsed = Parsed::default();
    match &code {
        TraceCode::Lot { gtin, lot } => {
            parsed.fields.insert("gtin14".into(), gtin.to_string());
            parsed.fields.insert("lot".into(), lot.to_string());
        }
        TraceCode::Item { gtin, serial } => {
            parsed.fields.insert("gtin14".into(), gtin.to_string());
            parsed.fields.insert("serial".into(), serial.to_string());
        }
        TraceCode::Sscc(sscc) => {
            parsed.fields.insert("sscc".into(), sscc.to_string());
        }
        TraceCode::Ecode(ecode) => {
            parsed.fields.insert("ecode".into(), ecode.to_string());
        }
        TraceCode::Handle(handle) => {
            parsed.fields.insert("handle".into(), handle.to_string());
        }
    }
    parsed.trace_code = Some(code);
    Ok(parsed)
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
            assert_eq!(report.trace_code.as_deref(), Some(trace_code), "{input}");
        }
    }

    #[test]
    fn a_thirteen_digit_key_is_also_a_gln() {
        let report = inspect("1234567890128");
        assert_eq!(report.also_valid_as, vec![CodeKind::Gln]);
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
}
