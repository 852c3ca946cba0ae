//! Parse industrial product production licence numbers (工业产品生产许可证编号).
//!
//! A licence number reads `XK` + 2-digit industry + `-` + 3-digit product + `-` + 5-digit
//! enterprise, for example `XK08-001-04763`. Licences issued by a provincial bureau carry the
//! province's one-character abbreviation in parentheses in front: `（鄂）XK12-001-00018`. The
//! parentheses may be ASCII `()` or full-width `（）`, but the two must match; the character must
//! be one of the 34 provincial-level abbreviations in [`PROVINCE_ABBREVIATIONS`].
//!
//! [`fmt::Display`] and serde give the canonical form, which always uses full-width parentheses
//! (the form printed on licences), so `(鄂)XK12-001-00018` and `（鄂）XK12-001-00018` are one
//! value. No check digit is known.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The one-character abbreviations of China's 34 provincial-level divisions.
pub const PROVINCE_ABBREVIATIONS: [char; 34] = [
    '京', '津', '沪', '渝', '冀', '豫', '云', '辽', '黑', '湘', '皖', '鲁', '新', '苏', '浙', '赣',
    '鄂', '桂', '甘', '晋', '蒙', '陕', '吉', '闽', '贵', '粤', '青', '藏', '川', '宁', '琼', '港',
    '澳', '台',
];

/// Longest input accepted, in bytes: a full-width prefix (9 bytes) and 14 ASCII characters.
pub const MAX_INPUT_BYTES: usize = 23;

/// Digits in the industry field.
const INDUSTRY_DIGITS: usize = 2;
/// Digits in the product field.
const PRODUCT_DIGITS: usize = 3;
/// Digits in the enterprise field.
const ENTERPRISE_DIGITS: usize = 5;

/// Parenthesis pairs a province prefix may use: ASCII and full-width.
const PARENTHESES: [(char, char); 2] = [('(', ')'), ('（', '）')];

/// A numeric field of a licence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LicenceField {
    /// The 2-digit industry after `XK`.
    Industry,
    /// The 3-digit product after the first `-`.
    Product,
    /// The 5-digit enterprise after the second `-`.
    Enterprise,
}

/// Why a string is not a production licence number. Positions count characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LicenceError {
    /// The input is longer than [`MAX_INPUT_BYTES`].
    #[error("a production licence number has at most {max_bytes} bytes, found {found_bytes}")]
    TooLong {
        /// Always [`MAX_INPUT_BYTES`].
        max_bytes: usize,
        /// Length of the input in bytes.
        found_bytes: usize,
    },
    /// A character is not the one the format requires at its place.
    #[error("expected {expected} at position {position}, found {found:?}")]
    UnexpectedCharacter {
        /// 1-based position of the character.
        position: usize,
        /// What the format requires there.
        expected: &'static str,
        /// The character found.
        found: char,
    },
    /// The input ends where the format requires more.
    #[error("expected {expected} at position {position}, found the end of the input")]
    UnexpectedEnd {
        /// 1-based position where the input ended.
        position: usize,
        /// What the format requires there.
        expected: &'static str,
    },
    /// A numeric field has the wrong number of digits.
    #[error("the {field:?} field has {expected} digits, found {found}")]
    FieldLength {
        /// The field.
        field: LicenceField,
        /// Digits the field has.
        expected: usize,
        /// Digits found.
        found: usize,
    },
    /// The province prefix is not a provincial-level abbreviation.
    #[error("{character:?} is not a provincial-level abbreviation")]
    UnknownProvince {
        /// The character inside the parentheses.
        character: char,
    },
}

/// A production licence number.
///
/// ```
/// use suyuan_ledger::codes::licence::ProductionLicence;
///
/// let licence: ProductionLicence = "(鄂)XK12-001-00018".parse()?;
/// assert_eq!(licence.province(), Some('鄂'));
/// assert_eq!((licence.industry(), licence.product(), licence.enterprise()), (12, 1, 18));
/// assert_eq!(licence.to_string(), "（鄂）XK12-001-00018");
/// # Ok::<(), suyuan_ledger::codes::licence::LicenceError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProductionLicence {
    canonical: String,
    province: Option<char>,
    industry: u32,
    product: u32,
    enterprise: u32,
}

impl ProductionLicence {
    /// The canonical form, with full-width parentheses around any province.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// The issuing province's abbreviation, for a provincial licence.
    pub fn province(&self) -> Option<char> {
        self.province
    }

    /// The industry code (2 digits, 0-99).
    pub fn industry(&self) -> u32 {
        self.industry
    }

    /// The product code (3 digits, 0-999).
    pub fn product(&self) -> u32 {
        self.product
    }

    /// The enterprise number (5 digits, 0-99999).
    pub fn enterprise(&self) -> u32 {
        self.enterprise
    }
}

/// Walks the characters of an input, tracking 1-based positions.
struct Cursor<'a> {
    characters: std::iter::Peekable<std::str::Chars<'a>>,
    position: usize,
}

impl Cursor<'_> {
    fn next(&mut self, expected: &'static str) -> Result<char, LicenceError> {
        self.position += 1;
        self.characters.next().ok_or(LicenceError::UnexpectedEnd {
            position: self.position,
            expected,
        })
    }

    fn literal(&mut self, literal: char, expected: &'static str) -> Result<(), LicenceError> {
        let found = self.next(expected)?;
        if found != literal {
            return Err(LicenceError::UnexpectedCharacter {
                position: self.position,
                expected,
                found,
            });
        }
        Ok(())
    }

    /// Reads a run of ASCII digits that must be exactly as long as `field` is.
    fn digits(&mut self, field: LicenceField, expected: usize) -> Result<u32, LicenceError> {
        let mut value: u32 = 0;
        let mut found = 0;
        while let Some(digit) = self.characters.next_if(char::is_ascii_digit) {
            self.position += 1;
            found += 1;
            // Bounded input keeps runs short; saturate rather than trust that.
            value = value
                .saturating_mul(10)
                .saturating_add(digit.to_digit(10).unwrap_or(0));
        }
        if found == 0 {
            return match self.characters.peek() {
                Some(&found) => Err(LicenceError::UnexpectedCharacter {
                    position: self.position + 1,
                    expected: "a digit",
                    found,
                }),
                None => Err(LicenceError::UnexpectedEnd {
                    position: self.position + 1,
                    expected: "a digit",
                }),
            };
        }
        if found != expected {
            return Err(LicenceError::FieldLength {
                field,
                expected,
                found,
            });
        }
        Ok(value)
    }

    fn end(&mut self) -> Result<(), LicenceError> {
        match self.characters.next() {
            None => Ok(()),
            Some(found) => Err(LicenceError::UnexpectedCharacter {
                position: self.position + 1,
                expected: "the end of the input",
                found,
            }),
        }
    }
}

/// Reads an optional `(省)` or `（省）` prefix.
fn parse_province(cursor: &mut Cursor<'_>) -> Result<Option<char>, LicenceError> {
    let Some(&first) = cursor.characters.peek() else {
        return Ok(None);
    };
    let Some(&(_, close)) = PARENTHESES.iter().find(|(open, _)| *open == first) else {
        return Ok(None);
    };
    cursor.next("an opening parenthesis")?;
    let province = cursor.next("a province abbreviation")?;
    if !PROVINCE_ABBREVIATIONS.contains(&province) {
        return Err(LicenceError::UnknownProvince {
            character: province,
        });
    }
    let expected = if close == ')' { "')'" } else { "'）'" };
    cursor.literal(close, expected)?;
    Ok(Some(province))
}

impl FromStr for ProductionLicence {
    type Err = LicenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.len() > MAX_INPUT_BYTES {
            return Err(LicenceError::TooLong {
                max_bytes: MAX_INPUT_BYTES,
                found_bytes: input.len(),
            });
        }
        let mut cursor = Cursor {
            characters: input.chars().peekable(),
            position: 0,
        };
        let province = parse_province(&mut cursor)?;
        cursor.literal('X', "'X'")?;
        cursor.literal('K', "'K'")?;
        let industry = cursor.digits(LicenceField::Industry, INDUSTRY_DIGITS)?;
        cursor.literal('-', "'-'")?;
        let product = cursor.digits(LicenceField::Product, PRODUCT_DIGITS)?;
        cursor.literal('-', "'-'")?;
        let enterprise = cursor.digits(LicenceField::Enterprise, ENTERPRISE_DIGITS)?;
        cursor.end()?;
        let canonical = match province {
            Some(province) => format!("（{province}）XK{industry:02}-{product:03}-{enterprise:05}"),
            None => format!("XK{industry:02}-{product:03}-{enterprise:05}"),
        };
        Ok(Self {
            canonical,
            province,
            industry,
            product,
            enterprise,
        })
    }
}

impl TryFrom<String> for ProductionLicence {
    type Error = LicenceError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ProductionLicence> for String {
    fn from(value: ProductionLicence) -> Self {
        value.canonical
    }
}

impl fmt::Display for ProductionLicence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

crate::string_schema!(
    ProductionLicence,
    "ProductionLicence",
    "an industrial product production licence number (生产许可证): XK, 2-digit industry, -, \
     3-digit product, -, 5-digit enterprise, optionally after a provincial abbreviation in \
     parentheses (ASCII or full-width; written back full-width)",
    "pattern": "^([(（].[)）])?XK[0-9]{2}-[0-9]{3}-[0-9]{5}$",
    "examples": ["XK08-001-04763", "（鄂）XK12-001-00018"],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_full_width_prefixes_are_one_value() {
        let ascii: ProductionLicence = "(鄂)XK12-001-00018".parse().unwrap();
        let full_width: ProductionLicence = "（鄂）XK12-001-00018".parse().unwrap();
        assert_eq!(ascii, full_width);
        assert_eq!(ascii.as_str(), "（鄂）XK12-001-00018");
    }

    #[test]
    fn mixed_parentheses_are_rejected() {
        assert_eq!(
            "(鄂）XK12-001-00018"
                .parse::<ProductionLicence>()
                .unwrap_err(),
            LicenceError::UnexpectedCharacter {
                position: 3,
                expected: "')'",
                found: '）'
            }
        );
    }

    #[test]
    fn unknown_province_is_rejected() {
        assert_eq!(
            "(中)XK12-001-00018"
                .parse::<ProductionLicence>()
                .unwrap_err(),
            LicenceError::UnknownProvince { character: '中' }
        );
    }

    #[test]
    fn trailing_and_missing_characters_are_rejected() {
        assert_eq!(
            "XK08-001-04763A".parse::<ProductionLicence>().unwrap_err(),
            LicenceError::UnexpectedCharacter {
                position: 15,
                expected: "the end of the input",
                found: 'A'
            }
        );
        assert_eq!(
            "XK08-001-".parse::<ProductionLicence>().unwrap_err(),
            LicenceError::UnexpectedEnd {
                position: 10,
                expected: "a digit"
            }
        );
        assert_eq!(
            "".parse::<ProductionLicence>().unwrap_err(),
            LicenceError::UnexpectedEnd {
                position: 1,
                expected: "'X'"
            }
        );
    }

    #[test]
    fn long_input_is_rejected_before_parsing() {
        let input = "XK08-001-".to_owned() + &"0".repeat(100);
        assert_eq!(
            input.parse::<ProductionLicence>().unwrap_err(),
            LicenceError::TooLong {
                max_bytes: MAX_INPUT_BYTES,
                found_bytes: 109
            }
        );
    }

    #[test]
    fn serde_writes_the_canonical_form() {
        let licence: ProductionLicence = serde_json::from_str("\"(京)XK08-001-04763\"").unwrap();
        assert_eq!(
            serde_json::to_string(&licence).unwrap(),
            "\"（京）XK08-001-04763\""
        );
    }
}
