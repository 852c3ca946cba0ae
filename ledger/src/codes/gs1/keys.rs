//! Parse the GS1 identification keys a trace record names: GTIN for trade items, GLN for parties
//! and locations, SSCC for logistic units.
//!
//! Each key is a fixed run of ASCII digits ending in the GS1 modulo-10 check digit of
//! [`super::check`]. A [`Gtin`] is accepted in any of its four lengths (GTIN-8, -12, -13, -14) and
//! stored as 14 digits with leading zeros, the form GS1 Application Identifier `01`, Digital Link
//! and EPCIS use, so that one trade item has one value however it was written.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::check::check_digit;

/// Lengths in which a GTIN may be written: GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13), GTIN-14.
pub const GTIN_LENGTHS: [usize; 4] = [8, 12, 13, 14];

/// Digits in a GTIN once normalised, and in GTIN-14.
pub const GTIN_NORMALISED_LENGTH: usize = 14;

/// Digits in a GLN.
pub const GLN_LENGTH: usize = 13;

/// Digits in an SSCC.
pub const SSCC_LENGTH: usize = 18;

/// Why a string is not a GS1 key. Positions count from 1, the leftmost character of the input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The input does not have one of the key's lengths.
    #[error("a {key} has {expected:?} digits, found {found} characters")]
    WrongLength {
        /// The key's name: `GTIN`, `GLN` or `SSCC`.
        key: &'static str,
        /// The lengths the key may have.
        expected: &'static [usize],
        /// Number of characters in the input.
        found: usize,
    },
    /// A character is not an ASCII digit.
    #[error("a {key} holds only digits, found {character:?} at position {position}")]
    NonDigit {
        /// The key's name: `GTIN`, `GLN` or `SSCC`.
        key: &'static str,
        /// 1-based position of the character.
        position: usize,
        /// The offending character.
        character: char,
    },
    /// The last digit is not the check digit of the ones before it.
    #[error("the {key} check digit is {found}, the digits before it give {expected}")]
    CheckDigit {
        /// The key's name: `GTIN`, `GLN` or `SSCC`.
        key: &'static str,
        /// The check digit the data digits give.
        expected: char,
        /// The last digit of the input.
        found: char,
    },
}

/// Validates `input` as `key`: one of `lengths` ASCII digits whose last is the check digit.
fn parse_key<'a>(
    input: &'a str,
    key: &'static str,
    lengths: &'static [usize],
) -> Result<&'a str, KeyError> {
    let found = input.chars().count();
    if !lengths.contains(&found) {
        return Err(KeyError::WrongLength {
            key,
            expected: lengths,
            found,
        });
    }
    if let Some((index, character)) = input.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(KeyError::NonDigit {
            key,
            position: index + 1,
            character,
        });
    }
    let Some((&found_check, data)) = input.as_bytes().split_last() else {
        return Err(KeyError::WrongLength {
            key,
            expected: lengths,
            found,
        });
    };
    // All digits were checked above, so `check_digit` answers; a `None` would be a non-digit.
    match check_digit(data) {
        Some(expected) if expected == found_check => Ok(input),
        Some(expected) => Err(KeyError::CheckDigit {
            key,
            expected: char::from(expected),
            found: char::from(found_check),
        }),
        None => Err(KeyError::WrongLength {
            key,
            expected: lengths,
            found,
        }),
    }
}

/// The digit at 0-based `index` of an all-digit key, as a number.
fn digit_at(digits: &str, index: usize) -> u8 {
    digits
        .as_bytes()
        .get(index)
        .map_or(0, |byte| byte.wrapping_sub(b'0'))
}

/// A Global Trade Item Number, stored as 14 digits.
///
/// Parsing accepts GTIN-8, -12, -13 and -14 and pads the shorter ones with leading zeros, so
/// `"02345673"` and `"00000002345673"` are the same value. [`fmt::Display`] and serde give the
/// 14 digits.
///
/// ```
/// use suyuan_ledger::codes::gs1::keys::Gtin;
///
/// let gtin: Gtin = "1234567890128".parse()?;
/// assert_eq!(gtin.as_str(), "01234567890128");
/// assert_eq!(gtin.indicator_digit(), 0);
/// # Ok::<(), suyuan_ledger::codes::gs1::keys::KeyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Gtin(String);

impl Gtin {
    /// The 14 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The indicator digit (the first of the 14): 0 for a base unit, 1-8 for packaging levels,
    /// 9 for a variable-measure item.
    pub fn indicator_digit(&self) -> u8 {
        digit_at(&self.0, 0)
    }

    /// The check digit (the last of the 14).
    pub fn check_digit(&self) -> u8 {
        digit_at(&self.0, GTIN_NORMALISED_LENGTH - 1)
    }
}

impl FromStr for Gtin {
    type Err = KeyError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let digits = parse_key(input, "GTIN", &GTIN_LENGTHS)?;
        // Leading zeros leave the check digit unchanged: weights run from the right.
        Ok(Self(format!("{digits:0>GTIN_NORMALISED_LENGTH$}")))
    }
}

/// A Global Location Number: 13 digits naming a party or a location.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Gln(String);

impl Gln {
    /// The 13 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The check digit (the last of the 13).
    pub fn check_digit(&self) -> u8 {
        digit_at(&self.0, GLN_LENGTH - 1)
    }
}

impl FromStr for Gln {
    type Err = KeyError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        parse_key(input, "GLN", &[GLN_LENGTH]).map(|digits| Self(digits.to_owned()))
    }
}

/// A Serial Shipping Container Code: 18 digits naming one logistic unit (a pallet, a case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sscc(String);

impl Sscc {
    /// The 18 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The extension digit (the first of the 18), which the company assigns freely.
    pub fn extension_digit(&self) -> u8 {
        digit_at(&self.0, 0)
    }

    /// The check digit (the last of the 18).
    pub fn check_digit(&self) -> u8 {
        digit_at(&self.0, SSCC_LENGTH - 1)
    }
}

impl FromStr for Sscc {
    type Err = KeyError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        parse_key(input, "SSCC", &[SSCC_LENGTH]).map(|digits| Self(digits.to_owned()))
    }
}

macro_rules! string_conversions {
    ($($key:ident),*) => {$(
        impl TryFrom<String> for $key {
            type Error = KeyError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl From<$key> for String {
            fn from(value: $key) -> Self {
                value.0
            }
        }

        impl fmt::Display for $key {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

string_conversions!(Gtin, Gln, Sscc);

crate::string_schema!(
    Gtin,
    "Gtin",
    "a Global Trade Item Number: GTIN-8, -12, -13 or -14 digits with a valid check digit, \
     written back as 14 digits",
    "pattern": "^([0-9]{8}|[0-9]{12,14})$",
    "examples": ["06950123450012"],
);
crate::string_schema!(
    Gln,
    "Gln",
    "a Global Location Number: 13 digits with a valid check digit",
    "pattern": "^[0-9]{13}$",
);
crate::string_schema!(
    Sscc,
    "Sscc",
    "a Serial Shipping Container Code: 18 digits with a valid check digit",
    "pattern": "^[0-9]{18}$",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtin_normalises_every_length_to_fourteen_digits() {
        for (input, normalised) in [
            ("02345673", "00000002345673"),
            ("416000336108", "00416000336108"),
            ("1234567890128", "01234567890128"),
            ("12345678901231", "12345678901231"),
        ] {
            let gtin: Gtin = input.parse().unwrap();
            assert_eq!(gtin.to_string(), normalised);
            assert_eq!(gtin, normalised.parse().unwrap());
        }
    }

    #[test]
    fn gtin_rejects_other_lengths() {
        let error = "123456789".parse::<Gtin>().unwrap_err();
        assert_eq!(
            error,
            KeyError::WrongLength {
                key: "GTIN",
                expected: &GTIN_LENGTHS,
                found: 9
            }
        );
    }

    #[test]
    fn non_digit_reports_its_position() {
        let error = "095201234567８".parse::<Gln>().unwrap_err();
        assert_eq!(
            error,
            KeyError::NonDigit {
                key: "GLN",
                position: 13,
                character: '８'
            }
        );
    }

    #[test]
    fn accessors_read_the_digits() {
        let gtin: Gtin = "80614141123458".parse().unwrap();
        assert_eq!((gtin.indicator_digit(), gtin.check_digit()), (8, 8));
        let sscc: Sscc = "123456789012345675".parse().unwrap();
        assert_eq!((sscc.extension_digit(), sscc.check_digit()), (1, 5));
        let gln: Gln = "1234567890128".parse().unwrap();
        assert_eq!(gln.check_digit(), 8);
    }

    #[test]
    fn serde_goes_through_the_parser() {
        let gtin: Gtin = serde_json::from_str("\"09520123456788\"").unwrap();
        assert_eq!(serde_json::to_string(&gtin).unwrap(), "\"09520123456788\"");
        assert!(serde_json::from_str::<Gtin>("\"09520123456789\"").is_err());
        assert!(serde_json::from_str::<Sscc>("\"123456789012345670\"").is_err());
    }
}
