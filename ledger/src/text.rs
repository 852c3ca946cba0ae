//! Hold the bounded free text, references and calendar dates that records carry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::limits::{MAX_LONG_TEXT_BYTES, MAX_REFERENCE_BYTES, MAX_SHORT_TEXT_BYTES};

/// Non-empty text of at most `MAX` bytes with no control characters and no surrounding spaces.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text<const MAX: usize>(String);

/// A name, number or contact line: at most [`MAX_SHORT_TEXT_BYTES`].
pub type ShortText = Text<MAX_SHORT_TEXT_BYTES>;

/// An address, a reason or findings: at most [`MAX_LONG_TEXT_BYTES`].
pub type LongText = Text<MAX_LONG_TEXT_BYTES>;

/// Why a string is not acceptable text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Empty, or only spaces.
    #[error("text is empty")]
    Empty,
    /// Longer than allowed.
    #[error("text is {found} bytes long; at most {max} allowed")]
    TooLong {
        /// The bound.
        max: usize,
        /// The length found.
        found: usize,
    },
    /// A control character (line breaks included) inside.
    #[error("control character U+{code_point:04X} at byte {position}")]
    ControlCharacter {
        /// Byte offset.
        position: usize,
        /// The character's code point.
        code_point: u32,
    },
    /// Spaces before or after.
    #[error("text has leading or trailing white space")]
    SurroundingSpace,
}

impl<const MAX: usize> Text<MAX> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> FromStr for Text<MAX> {
    type Err = TextError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX {
            return Err(TextError::TooLong {
                max: MAX,
                found: s.len(),
            });
        }
        if s.trim().is_empty() {
            return Err(TextError::Empty);
        }
        if s.trim() != s {
            return Err(TextError::SurroundingSpace);
        }
        if let Some((position, c)) = s.char_indices().find(|(_, c)| c.is_control()) {
            return Err(TextError::ControlCharacter {
                position,
                code_point: u32::from(c),
            });
        }
        Ok(Text(s.to_owned()))
    }
}

impl<const MAX: usize> fmt::Display for Text<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize> fmt::Debug for Text<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// An identifier a seller gives a sale or the place it keeps a buyer's data: an order or
/// invoice number, a CRM key (`SO-2026-0012`, `crm://orders/2026/000311`).
///
/// 1 to [`MAX_REFERENCE_BYTES`] ASCII characters from letters, digits and `-_./:#`, at least one
/// of them a letter. The form is the point: a reference names where data is kept and cannot be
/// the data itself. No spaces, so no "Li Hua, Hongshan District"; no digits alone, so no
/// telephone number; no `@` or `+`, so no e-mail address or international number.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference(String);

/// Why a string is not a [`Reference`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Empty.
    #[error("a reference is empty")]
    Empty,
    /// Longer than allowed.
    #[error("a reference is {found} bytes long; at most {max} allowed")]
    TooLong {
        /// The bound.
        max: usize,
        /// The length found.
        found: usize,
    },
    /// A character outside ASCII letters, digits and `-_./:#`.
    #[error(
        "a reference holds ASCII letters, digits and -_./:# only, found {character:?} at byte {position}"
    )]
    Character {
        /// Byte offset.
        position: usize,
        /// The character.
        character: char,
    },
    /// No letter: digits and punctuation alone could be a telephone number.
    #[error("a reference needs at least one letter; digits alone could be a telephone number")]
    NoLetter,
}

impl Reference {
    /// The punctuation a reference may hold besides letters and digits.
    pub const PUNCTUATION: &'static str = "-_./:#";

    /// The reference.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if s.len() > MAX_REFERENCE_BYTES {
            return Err(ReferenceError::TooLong {
                max: MAX_REFERENCE_BYTES,
                found: s.len(),
            });
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || Reference::PUNCTUATION.contains(c);
        if let Some((position, character)) = s.char_indices().find(|&(_, c)| !allowed(c)) {
            return Err(ReferenceError::Character {
                position,
                character,
            });
        }
        if !s.bytes().any(|b| b.is_ascii_alphabetic()) {
            return Err(ReferenceError::NoLetter);
        }
        Ok(Reference(s.to_owned()))
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A calendar date, `YYYY-MM-DD`, years 1900 to 2999, checked against the Gregorian calendar.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// Why a string is not a [`Date`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not of the form `YYYY-MM-DD`.
    #[error("a date is written YYYY-MM-DD")]
    Format,
    /// A year outside 1900..=2999.
    #[error("year {0} is outside 1900..=2999")]
    Year(u16),
    /// A month outside 1..=12.
    #[error("month {0} does not exist")]
    Month(u8),
    /// A day the month does not have.
    #[error("day {day} does not exist in {year}-{month:02}")]
    Day {
        /// The year.
        year: u16,
        /// The month.
        month: u8,
        /// The day.
        day: u8,
    },
}

impl Date {
    /// Builds a date, checking it exists.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, DateError> {
        if !(1900..=2999).contains(&year) {
            return Err(DateError::Year(year));
        }
        if !(1..=12).contains(&month) {
            return Err(DateError::Month(month));
        }
        if day == 0 || u32::from(day) > days_in_month(u32::from(year), u32::from(month)) {
            return Err(DateError::Day { year, month, day });
        }
        Ok(Date { year, month, day })
    }

    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month.
    pub fn day(&self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before it), for comparing dates with block times.
    pub fn days_since_epoch(&self) -> i64 {
        days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        )
    }

    /// The date a Unix time in milliseconds falls on, in UTC+8 (China Standard Time), the time
    /// zone the SAMR rules are written in.
    pub fn from_unix_ms_china(unix_ms: u64) -> Date {
        const CHINA_OFFSET_MS: u64 = 8 * 3_600_000;
        let days = ((unix_ms + CHINA_OFFSET_MS) / 86_400_000) as i64;
        Self::from_days_since_epoch(days)
    }

    fn from_days_since_epoch(days: i64) -> Date {
        let (year, month, day) = civil_from_days(days);
        // A u64 of milliseconds spans at most 584 million years; clamp to the supported range.
        let year = year.clamp(1900, 2999) as u16;
        Date {
            year,
            month: month as u8,
            day: day as u8,
        }
    }
}

/// Days from 1970-01-01 (negative before it) to a date of the proleptic Gregorian calendar:
/// Howard Hinnant's `days_from_civil`, in integers only.
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The year, month and day of a day count from 1970-01-01: the inverse of
/// [`days_from_civil`] (Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// Days in `month` (1 to 12) of `year` in the Gregorian calendar; 31 for a month out of range.
pub fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        let digits_at = |range: std::ops::Range<usize>| {
            bytes[range.clone()]
                .iter()
                .all(u8::is_ascii_digit)
                .then(|| s[range].parse::<u16>().ok())
                .flatten()
        };
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(DateError::Format);
        }
        match (digits_at(0..4), digits_at(5..7), digits_at(8..10)) {
            (Some(year), Some(month), Some(day)) => Date::new(year, month as u8, day as u8),
            _ => Err(DateError::Format),
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

/// Implements `schemars::JsonSchema` for a type whose JSON form is a string: the schema's name,
/// a description, and any further JSON Schema keywords (a `pattern`, length bounds, examples).
/// The parser stays the authority: a schema may accept a string the parser refuses (a wrong
/// check digit, say), never the other way round.
#[macro_export]
macro_rules! string_schema {
    ($type:ty, $name:literal, $description:expr $(, $keyword:literal : $value:expr)* $(,)?) => {
        impl schemars::JsonSchema for $type {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "description": $description,
                    $($keyword: $value,)*
                })
            }
        }
    };
}

/// Implements `Serialize` and `Deserialize` through `Display` and `FromStr`, so that a value's
/// JSON form is its canonical string and deserialising checks it like parsing does.
#[macro_export]
macro_rules! serde_as_string {
    ($type:ty) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_string!(Date);
serde_as_string!(Reference);

string_schema!(
    Date,
    "Date",
    "a calendar date, YYYY-MM-DD",
    "format": "date",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
);
string_schema!(
    Reference,
    "Reference",
    format!(
        "where a seller keeps data, never the data: 1 to {MAX_REFERENCE_BYTES} ASCII letters, \
         digits and -_./:#, at least one a letter (an order number, a CRM key)"
    ),
    "maxLength": MAX_REFERENCE_BYTES,
    "pattern": "^[A-Za-z0-9_./:#-]*[A-Za-z][A-Za-z0-9_./:#-]*$",
    "examples": ["SO-2026-0012"],
);

/// Characters text may not begin or end with (white space) or hold at all (controls), as a
/// pattern both ECMA-262 and Rust's regex read alike.
const TEXT_PATTERN: &str = concat!(
    r"^[^\s\u0000-\u001F\u007F-\u009F]",
    r"([^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F])?$",
);

impl<const MAX: usize> schemars::JsonSchema for Text<MAX> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        match MAX {
            MAX_SHORT_TEXT_BYTES => "ShortText".into(),
            MAX_LONG_TEXT_BYTES => "LongText".into(),
            _ => format!("Text{MAX}").into(),
        }
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // JSON Schema counts characters, the ledger bytes: maxLength is the bound a text of
        // ASCII meets; Chinese text (three bytes a character) must also fit in MAX bytes.
        schemars::json_schema!({
            "type": "string",
            "description": format!(
                "text of at most {MAX} bytes of UTF-8, not empty, without control characters \
                 (line breaks included) or surrounding white space"
            ),
            "minLength": 1,
            "maxLength": MAX,
            "pattern": TEXT_PATTERN,
        })
    }
}

impl<const MAX: usize> Serialize for Text<MAX> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for Text<MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert!("宁波电缆有限公司".parse::<ShortText>().is_ok());
        assert_eq!("".parse::<ShortText>(), Err(TextError::Empty));
        assert_eq!(" a".parse::<ShortText>(), Err(TextError::SurroundingSpace));
        assert!(matches!(
            "a\nb".parse::<ShortText>(),
            Err(TextError::ControlCharacter { position: 1, .. })
        ));
        assert!(matches!(
            "x".repeat(300).parse::<ShortText>(),
            Err(TextError::TooLong { max: 256, .. })
        ));
    }

    #[test]
    fn reference_rules() {
        for good in [
            "SO-2026-0012",
            "crm://orders/2026/000311",
            "RT-000311",
            "a",
            "INV#42_b.c",
        ] {
            assert_eq!(good.parse::<Reference>().unwrap().as_str(), good);
        }
        assert_eq!("".parse::<Reference>(), Err(ReferenceError::Empty));
        assert_eq!(
            "A".repeat(65).parse::<Reference>(),
            Err(ReferenceError::TooLong { max: 64, found: 65 })
        );
        assert!("A".repeat(64).parse::<Reference>().is_ok());
        assert_eq!(
            "Li Hua".parse::<Reference>(),
            Err(ReferenceError::Character {
                position: 2,
                character: ' '
            })
        );
        for prose in [
            "li@example.com",
            "+8613800000000",
            "张三",
            "a\nb",
            "a,b",
            "a%20b",
        ] {
            assert!(
                matches!(
                    prose.parse::<Reference>(),
                    Err(ReferenceError::Character { .. })
                ),
                "{prose}"
            );
        }
        assert_eq!(
            "13800000000".parse::<Reference>(),
            Err(ReferenceError::NoLetter)
        );
        assert_eq!(
            "027-8000-0000".parse::<Reference>(),
            Err(ReferenceError::NoLetter)
        );
        let error = serde_json::from_str::<Reference>("\"Li Hua\"").unwrap_err();
        assert!(error.to_string().contains("letters, digits"), "{error}");
    }

    #[test]
    fn dates() {
        assert_eq!(
            "2024-02-29".parse::<Date>().unwrap().to_string(),
            "2024-02-29"
        );
        assert!(matches!(
            "2023-02-29".parse::<Date>(),
            Err(DateError::Day { .. })
        ));
        assert_eq!("2024-13-01".parse::<Date>(), Err(DateError::Month(13)));
        assert_eq!("2024-1-01".parse::<Date>(), Err(DateError::Format));
        assert_eq!("２０２４-01-01".parse::<Date>(), Err(DateError::Format));
        assert_eq!("1970-01-01".parse::<Date>().unwrap().days_since_epoch(), 0);
        assert_eq!(
            "2000-03-01".parse::<Date>().unwrap().days_since_epoch(),
            11_017
        );
    }

    #[test]
    fn unix_ms_to_china_date() {
        // 2024-08-31T16:00:00Z is 2024-09-01 00:00 in Beijing.
        assert_eq!(
            Date::from_unix_ms_china(1_725_120_000_000).to_string(),
            "2024-09-01"
        );
        for days in [-1, 0, 1, 11_017, 20_000, 300_000] {
            let date = Date::from_days_since_epoch(days);
            assert_eq!(date.days_since_epoch(), days);
        }
    }
}
