//! Check the structure of Ecode IoT identification codes (物联网标识体系 物品编码 Ecode,
//! GB/T 31866).
//!
//! An Ecode is version (V) + numbering-system identifier (NSI, 编码体系标识) + master data code
//! (MD, 主码). The NSI names the coding scheme the master data follows; the MD identifies the
//! item within it.
//!
//! # What was assumed, and why
//!
//! The field lengths per version were **not** confirmed from the text of the standard (the 2023
//! edition in force, which replaced the 2015 one). This module is therefore deliberately narrow:
//!
//! - It accepts only **Ecode-V1**, as recalled from the 2015 edition's structure table: version
//!   digit `1`, then an NSI of [`V1_NSI_DIGITS`] digits, then a master data code of 1 to
//!   [`V1_MAX_MASTER_DATA_DIGITS`] digits, [`V1_MAX_LENGTH`] digits at most in all. V1 is the
//!   all-numeric version, which is what the ledger's other codes expect to carry.
//! - Every other version is refused with [`EcodeError::UnsupportedVersion`], not guessed at:
//!   V0, which the 2023 edition reserves to carry GS1 keys (store those as
//!   [`crate::codes::gs1::keys`] values instead); V2 and V3, whose master data may hold letters;
//!   V4, of variable length and character set; and 5 to 9, reserved.
//! - No NSI value is singled out (every four-digit NSI is accepted: the register of NSIs was not
//!   available), and no check digit is verified, since none is defined at this level; a coding
//!   scheme named by the NSI may carry its own.
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
    #[error("Ecode version {version} is not supported; only version 1 (all-numeric) is")]
    UnsupportedVersion {
        /// The version digit.
        version: char,
    },
}

/// The versions of Ecode this module accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EcodeVersion {
    /// Ecode-V1: all digits, a 4-digit NSI and up to 20 digits of master data.
    V1,
}

impl EcodeVersion {
    /// The version digit at position 1.
    pub fn digit(self) -> char {
        match self {
            Self::V1 => '1',
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
/// assert_eq!(ecode.numbering_system_identifier(), "0001");
/// assert_eq!(ecode.master_data(), "1234567890");
/// # Ok::<(), suyuan_ledger::codes::ecode::EcodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ecode(String);

impl Ecode {
    /// The digits of the code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The version (position 1).
    pub fn version(&self) -> EcodeVersion {
        EcodeVersion::V1
    }

    /// The numbering-system identifier (positions 2-5 in V1).
    pub fn numbering_system_identifier(&self) -> &str {
        self.0.get(1..1 + V1_NSI_DIGITS).unwrap_or_default()
    }

    /// The master data code (position 6 to the end in V1).
    pub fn master_data(&self) -> &str {
        self.0.get(1 + V1_NSI_DIGITS..).unwrap_or_default()
    }
}

impl FromStr for Ecode {
    type Err = EcodeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let found = input.chars().count();
        let wrong_length = EcodeError::WrongLength {
            min: V1_MIN_LENGTH,
            max: V1_MAX_LENGTH,
            found,
        };
        if found > V1_MAX_LENGTH {
            return Err(wrong_length);
        }
        if let Some((index, character)) =
            input.chars().enumerate().find(|(_, c)| !c.is_ascii_digit())
        {
            return Err(EcodeError::NonDigit {
                position: index + 1,
                character,
            });
        }
        let version = input.chars().next().ok_or(wrong_length.clone())?;
        if version != EcodeVersion::V1.digit() {
            return Err(EcodeError::UnsupportedVersion { version });
        }
        if found < V1_MIN_LENGTH {
            return Err(wrong_length);
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

#[cfg(test)]
mod tests {
    //! Self-made cases, derived from the assumptions in the module doc.

    use super::*;

    #[test]
    fn v1_of_every_allowed_length_parses() {
        for master_data_digits in 1..=V1_MAX_MASTER_DATA_DIGITS {
            let input = format!("10042{}", "7".repeat(master_data_digits));
            let ecode: Ecode = input.parse().unwrap();
            assert_eq!(ecode.numbering_system_identifier(), "0042");
            assert_eq!(ecode.master_data().len(), master_data_digits);
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
}
