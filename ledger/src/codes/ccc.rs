//! Parse China Compulsory Certification (CCC, 强制性产品认证) certificate numbers.
//!
//! A certificate number is [`LENGTH`] ASCII digits:
//!
//! | positions | field | accessor |
//! |---|---|---|
//! | 1-4 | year of first issue | [`CccCertificate::first_issue_year`] |
//! | 5-6 | certification body (`01` = CQC) | [`CccCertificate::certification_body`] |
//! | 7-10 | product category (e.g. `0901`, information technology equipment) | [`CccCertificate::product_category`] |
//! | 11-16 | sequence the body assigns | [`CccCertificate::sequence`] |
//!
//! No check digit is documented, so a mistyped digit inside a field cannot be caught here: only
//! the certification body's register can confirm a certificate. The year must lie between
//! [`FIRST_YEAR`], when the CCC scheme began issuing certificates, and [`LAST_YEAR`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Number of digits in a certificate number.
pub const LENGTH: usize = 16;

/// Earliest plausible year of first issue: the CCC scheme started in 2002.
pub const FIRST_YEAR: u16 = 2002;

/// Latest year of first issue accepted.
pub const LAST_YEAR: u16 = 2099;

/// Code of the China Quality Certification Centre at positions 5-6.
const CQC_CODE: u8 = 1;

/// Why a string is not a CCC certificate number. Positions count from 1.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CccError {
    /// The input does not have [`LENGTH`] characters.
    #[error("a CCC certificate number has {expected} digits, found {found} characters")]
    WrongLength {
        /// Always [`LENGTH`].
        expected: usize,
        /// Number of characters in the input.
        found: usize,
    },
    /// A character is not an ASCII digit.
    #[error(
        "a CCC certificate number holds only digits, found {character:?} at position {position}"
    )]
    NonDigit {
        /// 1-based position of the character.
        position: usize,
        /// The offending character.
        character: char,
    },
    /// The year of first issue (positions 1-4) lies outside [`FIRST_YEAR`]..=[`LAST_YEAR`].
    #[error("year of first issue {year} is outside {earliest}..={latest}")]
    ImplausibleYear {
        /// The year read from positions 1-4.
        year: u16,
        /// Always [`FIRST_YEAR`].
        earliest: u16,
        /// Always [`LAST_YEAR`].
        latest: u16,
    },
}

/// The certification body that issued a certificate (positions 5-6).
///
/// Only `01` is confirmed from public sources; other codes are kept as numbers rather than
/// guessed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CertificationBody {
    /// `01`: China Quality Certification Centre (中国质量认证中心, CQC).
    ChinaQualityCertificationCentre,
    /// Any other two-digit body code.
    Other {
        /// The code at positions 5-6, 0 to 99.
        code: u8,
    },
}

impl CertificationBody {
    /// The body whose two-digit code is `code`.
    pub fn from_code(code: u8) -> Self {
        match code {
            CQC_CODE => Self::ChinaQualityCertificationCentre,
            code => Self::Other { code },
        }
    }

    /// The body's two-digit code.
    pub fn code(self) -> u8 {
        match self {
            Self::ChinaQualityCertificationCentre => CQC_CODE,
            Self::Other { code } => code,
        }
    }
}

/// A CCC certificate number.
///
/// ```
/// use suyuan_ledger::codes::ccc::{CccCertificate, CertificationBody};
///
/// let certificate: CccCertificate = "2016010903878416".parse()?;
/// assert_eq!(certificate.first_issue_year(), 2016);
/// assert_eq!(certificate.certification_body(), CertificationBody::ChinaQualityCertificationCentre);
/// assert_eq!(certificate.product_category(), "0903");
/// assert_eq!(certificate.sequence(), "878416");
/// # Ok::<(), suyuan_ledger::codes::ccc::CccError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CccCertificate(String);

impl CccCertificate {
    /// The 16 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The year of first issue (positions 1-4).
    pub fn first_issue_year(&self) -> u16 {
        read_number(&self.0, 0..4)
    }

    /// The certification body (positions 5-6).
    pub fn certification_body(&self) -> CertificationBody {
        // Two digits are at most 99, so the conversion cannot fail.
        CertificationBody::from_code(u8::try_from(read_number(&self.0, 4..6)).unwrap_or(u8::MAX))
    }

    /// The four-digit product category (positions 7-10).
    pub fn product_category(&self) -> &str {
        self.0.get(6..10).unwrap_or_default()
    }

    /// The six-digit sequence number the body assigned (positions 11-16).
    pub fn sequence(&self) -> &str {
        self.0.get(10..16).unwrap_or_default()
    }
}

/// The decimal number the ASCII digits at `range` of `digits` spell; 0 where there are none.
fn read_number(digits: &str, range: std::ops::Range<usize>) -> u16 {
    digits
        .as_bytes()
        .get(range)
        .unwrap_or_default()
        .iter()
        .fold(0, |number, digit| {
            number * 10 + u16::from(digit.wrapping_sub(b'0'))
        })
}

impl FromStr for CccCertificate {
    type Err = CccError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let found = input.chars().count();
        if found != LENGTH {
            return Err(CccError::WrongLength {
                expected: LENGTH,
                found,
            });
        }
        if let Some((index, character)) =
            input.chars().enumerate().find(|(_, c)| !c.is_ascii_digit())
        {
            return Err(CccError::NonDigit {
                position: index + 1,
                character,
            });
        }
        let year = read_number(input, 0..4);
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return Err(CccError::ImplausibleYear {
                year,
                earliest: FIRST_YEAR,
                latest: LAST_YEAR,
            });
        }
        Ok(Self(input.to_owned()))
    }
}

impl TryFrom<String> for CccCertificate {
    type Error = CccError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<CccCertificate> for String {
    fn from(value: CccCertificate) -> Self {
        value.0
    }
}

impl fmt::Display for CccCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

crate::string_schema!(
    CccCertificate,
    "CccCertificate",
    "a China Compulsory Certification certificate number: 16 digits (year of first issue, \
     certification body, product category, sequence)",
    "pattern": "^[0-9]{16}$",
    "examples": ["2016010903878416"],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_before_the_scheme_or_after_2099_are_rejected() {
        for (input, year) in [("2001010903878416", 2001), ("2100010903878416", 2100)] {
            assert_eq!(
                input.parse::<CccCertificate>().unwrap_err(),
                CccError::ImplausibleYear {
                    year,
                    earliest: FIRST_YEAR,
                    latest: LAST_YEAR
                }
            );
        }
        assert!("2002010903878416".parse::<CccCertificate>().is_ok());
        assert!("2099010903878416".parse::<CccCertificate>().is_ok());
    }

    #[test]
    fn other_bodies_keep_their_code() {
        let certificate: CccCertificate = "2022221101000119".parse().unwrap();
        assert_eq!(
            certificate.certification_body(),
            CertificationBody::Other { code: 22 }
        );
        assert_eq!(certificate.certification_body().code(), 22);
        assert_eq!(certificate.product_category(), "1101");
    }

    #[test]
    fn serde_goes_through_the_parser() {
        let certificate: CccCertificate = serde_json::from_str("\"2019011606222162\"").unwrap();
        assert_eq!(
            serde_json::to_string(&certificate).unwrap(),
            "\"2019011606222162\""
        );
        assert!(serde_json::from_str::<CccCertificate>("\"1999011606222162\"").is_err());
    }
}
