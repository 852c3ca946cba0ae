//! Parse the accreditation numbers of testing and inspection bodies.
//!
//! Three kinds are known:
//!
//! | kind | form | canonical example |
//! |---|---|---|
//! | CMA inspection-body qualification (检验检测机构资质认定) certificate | 12 digits | `221012345678` |
//! | CNAS accredited laboratory | `CNAS L` + 4 or 5 digits | `CNAS L1234` |
//! | CNAS accredited inspection body | `CNAS IB` + 4 digits | `CNAS IB0123` |
//!
//! Input is read leniently and canonicalised: the letters may be in either case, and the space
//! between `CNAS` and `L` / `IB` may be missing or doubled (`cnasl1234`, `CNAS  L1234`), since
//! all of these are seen on reports and mean one number. Nothing else is forgiven: other
//! separators, full-width characters and surrounding whitespace are refused, as is a digit
//! count outside the kind's. [`fmt::Display`] and serde give the canonical form, so two
//! spellings of one number are one value. No check digit is known for any kind.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest input accepted, in bytes: `CNAS` with a generous run of spaces and a number.
pub const MAX_INPUT_BYTES: usize = 24;

/// Digits of a CMA certificate number.
pub const CMA_DIGITS: usize = 12;
/// Fewest digits of a CNAS laboratory number.
pub const CNAS_LAB_MIN_DIGITS: usize = 4;
/// Most digits of a CNAS laboratory number.
pub const CNAS_LAB_MAX_DIGITS: usize = 5;
/// Digits of a CNAS inspection-body number.
pub const CNAS_IB_DIGITS: usize = 4;

/// Which scheme accredited the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccreditationKind {
    /// A CMA qualification certificate.
    Cma,
    /// A CNAS laboratory accreditation.
    CnasLaboratory,
    /// A CNAS inspection-body accreditation.
    CnasInspectionBody,
}

/// Why a string is not an accreditation number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccreditationError {
    /// The input is longer than [`MAX_INPUT_BYTES`].
    #[error("an accreditation number has at most {max_bytes} bytes, found {found_bytes}")]
    TooLong {
        /// Always [`MAX_INPUT_BYTES`].
        max_bytes: usize,
        /// Length of the input in bytes.
        found_bytes: usize,
    },
    /// The input is neither 12 digits nor starts with `CNAS`.
    #[error("an accreditation number is 12 digits (CMA) or starts with CNAS")]
    UnknownScheme,
    /// After `CNAS` comes neither `L` nor `IB`.
    #[error("a CNAS number continues with L (laboratory) or IB (inspection body)")]
    UnknownCnasKind,
    /// A character that is not a digit where the number's digits are.
    #[error("expected a digit, found {found:?}")]
    NotADigit {
        /// The character found.
        found: char,
    },
    /// The number has the wrong count of digits for its kind.
    #[error("a {kind:?} number has {min} to {max} digits, found {found}")]
    DigitCount {
        /// The kind.
        kind: AccreditationKind,
        /// Fewest digits allowed.
        min: usize,
        /// Most digits allowed.
        max: usize,
        /// Digits found.
        found: usize,
    },
}

/// The digits of an accreditation number; made only by parsing an [`Accreditation`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccreditationNumber(String);

impl AccreditationNumber {
    /// The digits, leading zeros kept.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The accreditation an inspection body holds, by scheme.
///
/// ```
/// use suyuan_ledger::codes::accreditation::{Accreditation, AccreditationKind};
///
/// let lab: Accreditation = "cnasl05678".parse()?;
/// assert_eq!(lab.kind(), AccreditationKind::CnasLaboratory);
/// assert_eq!(lab.to_string(), "CNAS L05678");
/// assert_eq!("CNAS IB0123".parse::<Accreditation>()?.number().as_str(), "0123");
/// # Ok::<(), suyuan_ledger::codes::accreditation::AccreditationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Accreditation {
    /// A CMA certificate number: 12 digits.
    Cma(AccreditationNumber),
    /// A CNAS laboratory number: `CNAS L` and 4 or 5 digits.
    CnasLaboratory(AccreditationNumber),
    /// A CNAS inspection-body number: `CNAS IB` and 4 digits.
    CnasInspectionBody(AccreditationNumber),
}

impl Accreditation {
    /// The scheme.
    pub fn kind(&self) -> AccreditationKind {
        match self {
            Accreditation::Cma(_) => AccreditationKind::Cma,
            Accreditation::CnasLaboratory(_) => AccreditationKind::CnasLaboratory,
            Accreditation::CnasInspectionBody(_) => AccreditationKind::CnasInspectionBody,
        }
    }

    /// The number's digits.
    pub fn number(&self) -> &AccreditationNumber {
        match self {
            Accreditation::Cma(number)
            | Accreditation::CnasLaboratory(number)
            | Accreditation::CnasInspectionBody(number) => number,
        }
    }
}

/// Checks that `digits` is all digits, between `min` and `max` of them.
fn digits(
    kind: AccreditationKind,
    digits: &str,
    min: usize,
    max: usize,
) -> Result<AccreditationNumber, AccreditationError> {
    if let Some(found) = digits.chars().find(|c| !c.is_ascii_digit()) {
        return Err(AccreditationError::NotADigit { found });
    }
    let found = digits.len();
    if found < min || found > max {
        return Err(AccreditationError::DigitCount {
            kind,
            min,
            max,
            found,
        });
    }
    Ok(AccreditationNumber(digits.to_owned()))
}

/// Strips an ASCII prefix in either case.
fn strip_prefix_ignore_case<'a>(input: &'a str, prefix: &str) -> Option<&'a str> {
    let head = input.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &input[prefix.len()..])
}

impl FromStr for Accreditation {
    type Err = AccreditationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.len() > MAX_INPUT_BYTES {
            return Err(AccreditationError::TooLong {
                max_bytes: MAX_INPUT_BYTES,
                found_bytes: input.len(),
            });
        }
        let Some(rest) = strip_prefix_ignore_case(input, "CNAS") else {
            if input.starts_with(|c: char| c.is_ascii_digit()) {
                let number = digits(AccreditationKind::Cma, input, CMA_DIGITS, CMA_DIGITS)?;
                return Ok(Accreditation::Cma(number));
            }
            return Err(AccreditationError::UnknownScheme);
        };
        let rest = rest.trim_start_matches(' ');
        if let Some(number) = strip_prefix_ignore_case(rest, "IB") {
            let kind = AccreditationKind::CnasInspectionBody;
            let number = digits(kind, number, CNAS_IB_DIGITS, CNAS_IB_DIGITS)?;
            return Ok(Accreditation::CnasInspectionBody(number));
        }
        if let Some(number) = strip_prefix_ignore_case(rest, "L") {
            let kind = AccreditationKind::CnasLaboratory;
            let number = digits(kind, number, CNAS_LAB_MIN_DIGITS, CNAS_LAB_MAX_DIGITS)?;
            return Ok(Accreditation::CnasLaboratory(number));
        }
        Err(AccreditationError::UnknownCnasKind)
    }
}

impl TryFrom<String> for Accreditation {
    type Error = AccreditationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Accreditation> for String {
    fn from(value: Accreditation) -> Self {
        value.to_string()
    }
}

impl fmt::Display for Accreditation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Accreditation::Cma(number) => f.write_str(number.as_str()),
            Accreditation::CnasLaboratory(number) => write!(f, "CNAS L{}", number.as_str()),
            Accreditation::CnasInspectionBody(number) => write!(f, "CNAS IB{}", number.as_str()),
        }
    }
}

crate::string_schema!(
    Accreditation,
    "Accreditation",
    "an inspection body's accreditation: a CMA certificate (12 digits), a CNAS laboratory \
     (CNAS L and 4 or 5 digits) or a CNAS inspection body (CNAS IB and 4 digits); letters in \
     either case, the space after CNAS optional; written back canonical",
    "pattern": "^([0-9]{12}|[Cc][Nn][Aa][Ss] *([Ll][0-9]{4,5}|[Ii][Bb][0-9]{4}))$",
    "examples": ["221012345678", "CNAS L1234", "CNAS IB0123"],
);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Result<Accreditation, AccreditationError> {
        input.parse()
    }

    #[test]
    fn each_kind_parses_to_its_canonical_form() {
        assert_eq!(parse("221012345678").unwrap().to_string(), "221012345678");
        assert_eq!(parse("CNAS L1234").unwrap().to_string(), "CNAS L1234");
        assert_eq!(parse("CNAS L12345").unwrap().to_string(), "CNAS L12345");
        assert_eq!(parse("CNAS IB0123").unwrap().to_string(), "CNAS IB0123");
    }

    #[test]
    fn case_and_missing_space_are_canonicalised() {
        for spelling in ["cnas l1234", "CNASL1234", "Cnas  l1234"] {
            assert_eq!(parse(spelling).unwrap(), parse("CNAS L1234").unwrap());
        }
        assert_eq!(parse("cnasib0123").unwrap().to_string(), "CNAS IB0123");
    }

    #[test]
    fn wrong_digit_counts_are_refused() {
        assert_eq!(
            parse("CNAS L123").unwrap_err(),
            AccreditationError::DigitCount {
                kind: AccreditationKind::CnasLaboratory,
                min: 4,
                max: 5,
                found: 3
            }
        );
        assert!(matches!(
            parse("CNAS IB12345"),
            Err(AccreditationError::DigitCount { found: 5, .. })
        ));
        assert!(matches!(
            parse("12345678901"),
            Err(AccreditationError::DigitCount { found: 11, .. })
        ));
    }

    #[test]
    fn other_forms_are_refused() {
        assert_eq!(
            parse("CNAS-L1234"),
            Err(AccreditationError::UnknownCnasKind)
        );
        assert_eq!(parse(" CNAS L1234"), Err(AccreditationError::UnknownScheme));
        assert_eq!(
            parse("CNAS L12a4"),
            Err(AccreditationError::NotADigit { found: 'a' })
        );
        assert_eq!(parse("CMA 1234"), Err(AccreditationError::UnknownScheme));
        assert_eq!(parse(""), Err(AccreditationError::UnknownScheme));
        assert!(matches!(
            parse(&"9".repeat(40)),
            Err(AccreditationError::TooLong {
                found_bytes: 40,
                ..
            })
        ));
    }

    #[test]
    fn serde_writes_the_canonical_form() {
        let lab: Accreditation = serde_json::from_str("\"cnasl5678\"").unwrap();
        assert_eq!(serde_json::to_string(&lab).unwrap(), "\"CNAS L5678\"");
        assert!(serde_json::from_str::<Accreditation>("\"CNAS X1\"").is_err());
    }
}
