//! Parse China's administrative division codes (行政区划代码, GB/T 2260).
//!
//! A code is six ASCII digits: two for the province, two for the prefecture (city) and two for
//! the county (district), `00` where the code stops at a higher level: `420000` is Hubei,
//! `420100` Wuhan, `420106` Wuchang district. The check is by form: the province pair must be one
//! of the 34 provincial-level codes in [`PROVINCE_CODES`], and a county pair needs a prefecture
//! pair. Whether a particular county exists in the current edition is not checked: editions
//! change every year, and a sampling record names the place as printed on its report.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Digits in a code.
pub const DIGITS: usize = 6;

/// The first two digits of the 34 provincial-level divisions (Taiwan, Hong Kong and Macao
/// included).
pub const PROVINCE_CODES: [u8; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

/// Why a string is not an administrative division code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RegionError {
    /// Not six ASCII digits.
    #[error("an administrative division code is {DIGITS} digits, found {found:?}")]
    NotSixDigits {
        /// The input, cut to 32 characters.
        found: String,
    },
    /// The first two digits name no province.
    #[error("{province:02} is not a provincial-level division code")]
    UnknownProvince {
        /// The first two digits.
        province: u8,
    },
    /// A county pair without a prefecture pair (`42xx` with `00` prefecture).
    #[error("code {code} names a county but no prefecture")]
    CountyWithoutPrefecture {
        /// The code.
        code: String,
    },
}

/// A six-digit administrative division code.
///
/// ```
/// use suyuan_ledger::codes::region::RegionCode;
///
/// let wuchang: RegionCode = "420106".parse()?;
/// assert_eq!(wuchang.province(), "42");
/// assert!(wuchang.within("4201"));
/// # Ok::<(), suyuan_ledger::codes::region::RegionError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

impl RegionCode {
    /// The six digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The province's two digits.
    pub fn province(&self) -> &str {
        &self.0[..2]
    }

    /// Whether the code lies within the division whose code starts with `prefix` (2, 4 or 6
    /// digits, as in the API's `region` filter).
    pub fn within(&self, prefix: &str) -> bool {
        self.0.starts_with(prefix)
    }
}

impl FromStr for RegionCode {
    type Err = RegionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.len() != DIGITS || !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionError::NotSixDigits {
                found: input.chars().take(32).collect(),
            });
        }
        let province: u8 = input[..2].parse().expect("two ASCII digits fit a u8");
        if !PROVINCE_CODES.contains(&province) {
            return Err(RegionError::UnknownProvince { province });
        }
        if &input[2..4] == "00" && &input[4..] != "00" {
            return Err(RegionError::CountyWithoutPrefecture {
                code: input.to_owned(),
            });
        }
        Ok(RegionCode(input.to_owned()))
    }
}

impl TryFrom<String> for RegionCode {
    type Error = RegionError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<RegionCode> for String {
    fn from(value: RegionCode) -> Self {
        value.0
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

crate::string_schema!(
    RegionCode,
    "RegionCode",
    "an administrative division code (行政区划代码, GB/T 2260): six digits, province, \
     prefecture and county, 00 where the code stops at a higher level",
    "pattern": "^[0-9]{6}$",
    "examples": ["420106"],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provinces_cities_and_districts_parse() {
        for code in ["420000", "420100", "420106", "110101", "820000"] {
            assert_eq!(code.parse::<RegionCode>().unwrap().as_str(), code);
        }
    }

    #[test]
    fn malformed_codes_are_refused() {
        assert!(matches!(
            "42010".parse::<RegionCode>(),
            Err(RegionError::NotSixDigits { .. })
        ));
        assert!(matches!(
            "42010a".parse::<RegionCode>(),
            Err(RegionError::NotSixDigits { .. })
        ));
        assert!(matches!(
            "４２０１０６".parse::<RegionCode>(),
            Err(RegionError::NotSixDigits { .. })
        ));
        assert_eq!(
            "990000".parse::<RegionCode>(),
            Err(RegionError::UnknownProvince { province: 99 })
        );
        assert_eq!(
            "420006".parse::<RegionCode>(),
            Err(RegionError::CountyWithoutPrefecture {
                code: "420006".into()
            })
        );
    }

    #[test]
    fn serde_is_the_digits() {
        let code: RegionCode = serde_json::from_str("\"420106\"").unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"420106\"");
        assert!(serde_json::from_str::<RegionCode>("\"000000\"").is_err());
    }
}
