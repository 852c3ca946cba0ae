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
    pub fields: BTreeMap<&'static str, String>,
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
    fields: BTreeMap<&'static str, String>,
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
        report.error = Some(format!("input is {} bytes; at most {MAX_INSPECT_BYTES} are inspected", input.len()));
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
    if let Some(ecode) = text.strip_prefix("ecode:") {
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
        fields: pairs.into_iter().collect(),
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
            format!("{} ({}, {})", category.code(), category.name_zh(), category.name_en()),
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
        ("first_issue_year", certificate.first_issue_year().to_string()),
        ("certification_body", body),
        ("product_category", certificate.product_category().to_owned()),
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
        parsed.fields.insert("province", province.to_string());
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

fn trace_code_fields(text: &str) -> Attempt {
    let code: TraceCode = parse(text)?;
    let mut parsed = Parsed::default();
    match &code {
        TraceCode::Lot { gtin, lot } => {
            parsed.fields.insert("gtin14", gtin.to_string());
            parsed.fields.insert("lot", lot.to_string());
        }
        TraceCode::Item { gtin, serial } => {
            parsed.fields.insert("gtin14", gtin.to_string());
            parsed.fields.insert("serial", serial.to_string());
        }
        TraceCode::Sscc(sscc) => {
            parsed.fields.insert("sscc", sscc.to_string());
        }
        TraceCode::Ecode(ecode) => {
            parsed.fields.insert("ecode", ecode.to_string());
        }
        TraceCode::Handle(handle) => {
            parsed.fields.insert("handle", handle.to_string());
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
        ];
        for (input, kind) in cases {
            let report = inspect(input);
            assert_eq!((report.kind, report.valid), (kind, true), "{input}: {report:?}");
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
