//! Check the structure of Ecode IoT identification codes (物联网标识体系 物品编码 Ecode,
//! GB/T 31866), in the two forms producers print: the all-numeric Ecode-V1 and the dotted `MA.`
//! form of the identifiers issued under the ISO/IEC 15459 issuing agency code `MA`.
//!
//! An Ecode-V1 is version (V) + numbering-system identifier (NSI, 编码体系标识) + master data code
//! (MD, 主码). The NSI names the coding scheme the master data follows; the MD identifies the
//! item within it.
//!
//! An `MA.` code is a dot-separated path: `MA.{country}.{class}.{unit}.{item}[.{item}…]`. The
//! first four segments are the registrant unit's main code (单位主码, such as `MA.156.M0.100204`):
//! the issuing agency, the ISO 3166 numeric country code, the industry class the unit was
//! registered in and the unit's own code. The segments after it name what the unit coded: a
//! product class (as in `MA.156.M0.100204.13351764`) and, for a batch or an item, attribute
//! segments that begin with a letter (`L{lot}`, `S{serial}`, dates). The ledger does not read
//! meaning into those item segments: a record says whether a code names a model, a batch or an
//! item, and the registrant's main code is the prefix an enterprise holds.
//!
//! # What was assumed, and why
//!
//! The field lengths per version were **not** confirmed from the text of the standard (the 2023
//! edition in force, which replaced the 2015 one). This module is therefore deliberately narrow:
//!
//! - It accepts **Ecode-V1**, as recalled from the 2015 edition's structure table: version
//!   digit `1`, then an NSI of [`V1_NSI_DIGITS`] digits, then a master data code of 1 to
//!   [`V1_MAX_MASTER_DATA_DIGITS`] digits, [`V1_MAX_LENGTH`] digits at most in all.
//! - It accepts **`MA.` codes** in the structure seen in published identifiers: `MA`, a
//!   [`MA_COUNTRY_DIGITS`]-digit country code, an industry class and a unit code of capital
//!   letters and digits ([`MA_MAX_HEAD_SEGMENT`] characters at most each), then 1 to
//!   [`MA_MAX_ITEM_SEGMENTS`] item segments of ASCII letters and digits (lower case is kept:
//!   serials such as `Sx00008` occur), [`MA_MAX_LENGTH`] bytes in all. `MA` itself must be in
//!   capitals; the form is canonical as written, with nothing to fold. Identifiers that continue
//!   after a `/` (a unit's own sub-namespace) are refused rather than guessed at.
//! - Every other numeric version is refused with [`EcodeError::UnsupportedVersion`], not guessed
//!   at: V0, which the 2023 edition reserves to carry GS1 keys (store those as
//!   [`crate::codes::gs1::keys`] values instead); V2 and V3, whose master data may hold letters;
//!   V4, of variable length and character set; and 5 to 9, reserved.
//! - No NSI, country or class value is singled out (the registers were not available), and no
//!   check digit is verified, since none is defined at this level; a coding scheme named by the
//!   NSI or a unit's product class may carry its own.
//!
//! When the standard's text is at hand, the numbers above are the only places to change. The
//! tests of this module are self-made from these assumptions; no published vectors exist in the
//! repository.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Digits of the numbering-system identifier in Ecode-V1 (assumed, see the module doc).
pub const V1_NSI_DIGITS: usize = 4;

/// Most digits of the master data code in Ecode-V1 (assumed, see the module doc).
pub const V1_MAX_MASTER_DATA_DIGITS: usize = 20;

/// Fewest digits of an Ecode-V1: the version, the NSI and one master data digit.
pub const V1_MIN_LENGTH: usize = 1 + V1_NSI_DIGITS + 1;

/// Most digits of an Ecode-V1: 1 + 4 + 20 = 25.
pub const V1_MAX_LENGTH: usize = 1 + V1_NSI_DIGITS + V1_MAX_MASTER_DATA_DIGITS;

/// What an `MA.` code begins with: the issuing agency code and its separator.
pub const MA_AGENCY: &str = "MA.";

/// Digits of the country segment of an `MA.` code (ISO 3166 numeric, `156` for China).
pub const MA_COUNTRY_DIGITS: usize = 3;

/// Segments of an `MA.` unit main code: agency, country, industry class, unit.
pub const MA_HEAD_SEGMENTS: usize = 4;

/// Most characters of the class and unit segments of an `MA.` code (assumed).
pub const MA_MAX_HEAD_SEGMENT: usize = 16;

/// Most item segments after the unit main code of an `MA.` code (assumed).
pub const MA_MAX_ITEM_SEGMENTS: usize = 12;

/// Most characters of one item segment of an `MA.` code (assumed).
pub const MA_MAX_ITEM_SEGMENT: usize = 32;

/// Most bytes of a whole `MA.` code (assumed).
pub const MA_MAX_LENGTH: usize = 128;

/// Why a string is not an Ecode this module accepts. Positions count from 1.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EcodeError {
    /// The code is shorter or longer than its version allows (or than any supported version
    /// allows, when it is too long to read further).
    #[error("an Ecode-V1 has {min} to {max} digits, found {found} characters")]
    WrongLength {
        /// Fewest characters allowed: [`V1_MIN_LENGTH`].
        min: usize,
        /// Most characters allowed: [`V1_MAX_LENGTH`].
        max: usize,
        /// Number of characters in the input.
        found: usize,
    },
    /// A character is not an ASCII digit.
    #[error("an Ecode holds only digits here, found {character:?} at position {position}")]
    NonDigit {
        /// 1-based position of the character.
        position: usize,
        /// The offending character.
        character: char,
    },
    /// The version digit (position 1) names a version this module does not accept.
    #[error(
        "Ecode version {version} is not supported; only version 1 (all-numeric) and MA. codes are"
    )]
    UnsupportedVersion {
        /// The version digit.
        version: char,
    },
    /// An `MA.` code has too few or too many segments, or is too long.
    #[error(
        "an MA. code is MA.{{country}}.{{class}}.{{unit}} and then 1 to {MA_MAX_ITEM_SEGMENTS} item segments, at most {MA_MAX_LENGTH} bytes; found {segments} segments in {bytes} bytes"
    )]
    MaShape {
        /// Dot-separated segments found, `MA` included.
        segments: usize,
        /// Bytes of the input.
        bytes: usize,
    },
    /// One segment of an `MA.` code is malformed.
    #[error("segment {segment} of an MA. code must be {expected}, found {found:?}")]
    MaSegment {
        /// 1-based index of the segment, `MA` being segment 1.
        segment: usize,
        /// What the segment must be.
        expected: &'static str,
        /// The segment as given.
        found: String,
    },
}

/// The versions of Ecode this module accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EcodeVersion {
    /// Ecode-V1: all digits, a 4-digit NSI and up to 20 digits of master data.
    V1,
    /// A dotted identifier issued under the issuing agency code `MA`.
    Ma,
}

impl EcodeVersion {
    /// The version as the code writes it: the digit at position 1, or `MA`.
    pub fn name(self) -> &'static str {
        match self {
            Self::V1 => "1",
            Self::Ma => "MA",
        }
    }
}

/// An Ecode whose structure matches a version this module knows.
///
/// ```
/// use suyuan_ledger::codes::ecode::{Ecode, EcodeVersion};
///
/// let ecode: Ecode = "100011234567890".parse()?;
/// assert_eq!(ecode.version(), EcodeVersion::V1);
/// assert_eq!(ecode.numbering_system_identifier(), Some("0001"));
/// assert_eq!(ecode.master_data(), Some("1234567890"));
///
/// let ma: Ecode = "MA.156.M0.100204.13351764".parse()?;
/// assert_eq!(ma.version(), EcodeVersion::Ma);
/// assert_eq!(ma.unit_main_code(), Some("MA.156.M0.100204"));
/// # Ok::<(), suyuan_ledger::codes::ecode::EcodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ecode(String);

impl Ecode {
    /// The code as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The version: V1 for a numeric code, MA for a dotted one.
    pub fn version(&self) -> EcodeVersion {
        if self.0.starts_with(MA_AGENCY) {
            EcodeVersion::Ma
        } else {
            EcodeVersion::V1
        }
    }

    /// The numbering-system identifier (positions 2-5) of an Ecode-V1.
    pub fn numbering_system_identifier(&self) -> Option<&str> {
        match self.version() {
            EcodeVersion::V1 => self.0.get(1..1 + V1_NSI_DIGITS),
            EcodeVersion::Ma => None,
        }
    }

    /// The master data code (position 6 to the end) of an Ecode-V1.
    pub fn master_data(&self) -> Option<&str> {
        match self.version() {
            EcodeVersion::V1 => self.0.get(1 + V1_NSI_DIGITS..),
            EcodeVersion::Ma => None,
        }
    }

    /// The segments of an `MA.` code, `MA` first.
    pub fn ma_segments(&self) -> Option<std::str::Split<'_, char>> {
        (self.version() == EcodeVersion::Ma).then(|| self.0.split('.'))
    }

    /// The registrant unit's main code of an `MA.` code: its first four segments.
    pub fn unit_main_code(&self) -> Option<&str> {
        self.ma_segments()?;
        let end = self
            .0
            .match_indices('.')
            .nth(MA_HEAD_SEGMENTS - 1)
            .map(|(at, _)| at)?;
        self.0.get(..end)
    }
}

/// Checks the structure of an `MA.` code, or of the leading segments of one when `head_only`
/// (an enterprise's unit main code, which names no item yet).
pub(crate) fn check_ma(input: &str, head_only: bool) -> Result<(), EcodeError> {
    let segments: Vec<&str> = input.split('.').collect();
    let items = segments.len().saturating_sub(MA_HEAD_SEGMENTS);
    let shape_ok = input.len() <= MA_MAX_LENGTH
        && segments.len() >= MA_HEAD_SEGMENTS
        && if head_only {
            items < MA_MAX_ITEM_SEGMENTS
        } else {
            (1..=MA_MAX_ITEM_SEGMENTS).contains(&items)
        };
    if !shape_ok {
        return Err(EcodeError::MaShape {
            segments: segments.len(),
            bytes: input.len(),
        });
    }
    for (index, segment) in segments.iter().enumerate() {
        let (ok, expected) = match index {
            0 => (*segment == "MA", "MA, in capitals"),
            1 => (
                segment.len() == MA_COUNTRY_DIGITS && segment.bytes().all(|b| b.is_ascii_digit()),
                "a three-digit country code",
            ),
            2 | 3 => (
                (1..=MA_MAX_HEAD_SEGMENT).contains(&segment.len())
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
                "1 to 16 capital letters and digits",
            ),
            _ => (
                (1..=MA_MAX_ITEM_SEGMENT).contains(&segment.len())
                    && segment.bytes().all(|b| b.is_ascii_alphanumeric()),
                "1 to 32 ASCII letters and digits",
            ),
        };
        if !ok {
            return Err(EcodeError::MaSegment {
                segment: index + 1,
                expected,
                found: (*segment).to_owned(),
            });
        }
    }
    Ok(())
}

/// Whether `input` is meant as an `MA.` code: it begins with `MA.` in any case.
fn looks_like_ma(input: &str) -> bool {
    input
        .get(..MA_AGENCY.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(MA_AGENCY))
}

fn check_v1(input: &str) -> Result<(), EcodeError> {
    let found = input.chars().count();
    let wrong_length = EcodeError::WrongLength {
        min: V1_MIN_LENGTH,
        max: V1_MAX_LENGTH,
        found,
    };
    if found > V1_MAX_LENGTH {
        return Err(wrong_length);
    }
    if let Some((index, character)) = input.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(EcodeError::NonDigit {
            position: index + 1,
            character,
        });
    }
    let version = input.chars().next().ok_or(wrong_length.clone())?;
    if version != '1' {
        return Err(EcodeError::UnsupportedVersion { version });
    }
    if found < V1_MIN_LENGTH {
        return Err(wrong_length);
    }
    Ok(())
}

impl FromStr for Ecode {
    type Err = EcodeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if looks_like_ma(input) {
            check_ma(input, false)?;
        } else {
            check_v1(input)?;
        }
        Ok(Self(input.to_owned()))
    }
}

impl TryFrom<String> for Ecode {
    type Error = EcodeError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Ecode> for String {
    fn from(value: Ecode) -> Self {
        value.0
    }
}

impl fmt::Display for Ecode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

crate::string_schema!(
    Ecode,
    "Ecode",
    "an Ecode (GB/T 31866): the all-numeric Ecode-V1, or the dotted MA. form \
     MA.{country}.{class}.{unit}.{item}…",
    "examples": ["100011234567890", "MA.156.M0.100204.13351764"],
);

#[cfg(test)]
mod tests {
    //! Self-made cases, derived from the assumptions in the module doc.

    use super::*;

    #[test]
    fn v1_of_every_allowed_length_parses() {
        for master_data_digits in 1..=V1_MAX_MASTER_DATA_DIGITS {
            let input = format!("10042{}", "7".repeat(master_data_digits));
            let ecode: Ecode = input.parse().unwrap();
            assert_eq!(ecode.numbering_system_identifier(), Some("0042"));
            assert_eq!(ecode.master_data().map(str::len), Some(master_data_digits));
            assert_eq!(ecode.to_string(), input);
        }
    }

    #[test]
    fn too_short_and_too_long_are_rejected() {
        for input in ["10001", "1", &format!("10001{}", "0".repeat(21))] {
            assert_eq!(
                input.parse::<Ecode>().unwrap_err(),
                EcodeError::WrongLength {
                    min: V1_MIN_LENGTH,
                    max: V1_MAX_LENGTH,
                    found: input.len()
                }
            );
        }
        assert!(matches!(
            "".parse::<Ecode>(),
            Err(EcodeError::WrongLength { found: 0, .. })
        ));
    }

    #[test]
    fn other_versions_are_unsupported() {
        for version in ['0', '2', '3', '4', '5', '9'] {
            let input = format!("{version}00011234567890");
            assert_eq!(
                input.parse::<Ecode>().unwrap_err(),
                EcodeError::UnsupportedVersion { version }
            );
        }
    }

    #[test]
    fn letters_are_rejected_with_their_position() {
        assert_eq!(
            "10001ABC".parse::<Ecode>().unwrap_err(),
            EcodeError::NonDigit {
                position: 6,
                character: 'A'
            }
        );
    }

    #[test]
    fn serde_goes_through_the_parser() {
        let ecode: Ecode = serde_json::from_str("\"100011234\"").unwrap();
        assert_eq!(serde_json::to_string(&ecode).unwrap(), "\"100011234\"");
        assert!(serde_json::from_str::<Ecode>("\"200011234\"").is_err());
    }

    #[test]
    fn ma_codes_of_models_batches_and_items_parse() {
        for (input, items) in [
            ("MA.156.M0.100204.13351764", 1),
            ("MA.156.1003.16291.P01", 1),
            ("MA.156.M0.100761.21234561.L20220117", 2),
            (
                "MA.156.M0.100761.21234561.Sx00008.M220117.L20220117.D20220118.E220130.V220117.C3",
                8,
            ),
        ] {
            let ecode: Ecode = input.parse().unwrap();
            assert_eq!(ecode.version(), EcodeVersion::Ma);
            assert_eq!(ecode.to_string(), input);
            assert_eq!(ecode.numbering_system_identifier(), None);
            assert_eq!(ecode.master_data(), None);
            assert_eq!(
                ecode.ma_segments().map(Iterator::count),
                Some(MA_HEAD_SEGMENTS + items)
            );
        }
        let item: Ecode = "MA.156.M0.100761.21234561.S1".parse().unwrap();
        assert_eq!(item.unit_main_code(), Some("MA.156.M0.100761"));
        let v1: Ecode = "100011234".parse().unwrap();
        assert_eq!(v1.unit_main_code(), None);
        assert!(v1.ma_segments().is_none());
    }

    #[test]
    fn ma_codes_of_the_wrong_shape_are_refused() {
        // A unit's main code names no item; too many segments; too long.
        for input in [
            "MA.156.M0.100204",
            "MA.156.M0",
            &format!("MA.156.M0.100204{}", ".S1".repeat(MA_MAX_ITEM_SEGMENTS + 1)),
            &format!("MA.156.M0.100204.{}", "1".repeat(MA_MAX_LENGTH)),
        ] {
            assert!(
                matches!(input.parse::<Ecode>(), Err(EcodeError::MaShape { .. })),
                "{input}"
            );
        }
    }

    #[test]
    fn ma_code_segments_are_checked_one_by_one() {
        for (input, segment) in [
            ("ma.156.M0.100204.1", 1),
            ("Ma.156.M0.100204.1", 1),
            ("MA.15.M0.100204.1", 2),
            ("MA.CHN.M0.100204.1", 2),
            ("MA.156.m0.100204.1", 3),
            ("MA.156..100204.1", 3),
            ("MA.156.M0.1002-4.1", 4),
            ("MA.156.M0.100204.", 5),
            ("MA.156.M0.100204.P/1", 5),
            ("MA.156.M0.100204.1.批次", 6),
            (
                &format!("MA.156.M0.100204.{}", "1".repeat(MA_MAX_ITEM_SEGMENT + 1)),
                5,
            ),
        ] {
            match input.parse::<Ecode>() {
                Err(EcodeError::MaSegment { segment: found, .. }) => {
                    assert_eq!(found, segment, "{input}")
                }
                other => panic!("{input}: {other:?}"),
            }
        }
    }
}
