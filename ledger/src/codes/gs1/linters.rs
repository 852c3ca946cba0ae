//! Check the content of AI value components with the linters GS1's syntax dictionary names.
//!
//! Each [`Linter`] is a rule the dictionary attaches to a component (`N14,csum,gcppos2`): a
//! check digit, a date, a code list, a structured coupon. [`Linter::check`] runs one over a
//! component's text and reports the first failure with its byte offset within that text; the
//! element-string validator adds the AI and the component's own offset.
//!
//! The rules follow GS1's reference linters (gs1/gs1-syntax-engine, `src/c-lib/syntax/lint_*.c`),
//! re-expressed here. Where a reference linter offers a hook for an external registry (GS1
//! Company Prefix allocations, alternative code lists) this implementation uses the built-in
//! rule only.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::check::check_digit;

/// A content rule named in the syntax dictionary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Linter {
    /// GS1 modulo-10 check digit in the last position.
    Csum,
    /// GS1 alphanumeric check character pair in the last two positions (GMN, AI 8013).
    Csumalpha,
    /// A GS1 Company Prefix is plausible from the first position.
    Gcppos1,
    /// A GS1 Company Prefix is plausible from the second position.
    Gcppos2,
    /// Date `YYMMDD`, where `DD` may be `00` (day unspecified).
    Yymmd0,
    /// Date `YYMMDD`.
    Yymmdd,
    /// Date `YYYYMMDD`.
    Yyyymmdd,
    /// Time `HHMI`.
    Hhmi,
    /// Hour `HH`, 00 to 23.
    Hh,
    /// Minute `MI`, 00 to 59.
    Mi,
    /// Second `SS`, 00 to 59.
    Ss,
    /// ISO 3166-1 numeric country code.
    Iso3166,
    /// ISO 3166-1 numeric country code, or `999` (unknown).
    Iso3166999,
    /// ISO 3166-1 alpha-2 country code.
    Iso3166alpha2,
    /// ISO 4217 numeric currency code.
    Iso4217,
    /// ISO/IEC 5218 sex code: 0, 1, 2 or 9.
    Iso5218,
    /// International Bank Account Number with its modulo-97 check.
    Iban,
    /// Latitude as ten digits, 0 to 1800000000.
    Latitude,
    /// Longitude as ten digits, 0 to 3600000000.
    Longitude,
    /// Well-formed percent-encoding.
    Pcenc,
    /// `0` or `1`.
    Yesno,
    /// A number other than zero.
    Nonzero,
    /// Exactly `0`.
    Zero,
    /// Piece number and total, equal widths: `PPTT` with `0 < PP <= TT`.
    Pieceoftotal,
    /// Position in a sequence `pos/end` with `0 < pos <= end`.
    Posinseqslash,
    /// AIDC media type code.
    Mediatype,
    /// Package type code (UN/ECE Recommendation 21 with GS1 additions).
    Packagetype,
    /// Winding direction: 0, 1 or 9.
    Winding,
    /// Importer index of an EU 2018/574 facility or machine identifier.
    Importeridx,
    /// Digits not starting with zero.
    Nozeroprefix,
    /// At least one character that is not a digit.
    Hasnondigit,
    /// Only hyphens.
    Hyphen,
    /// North American coupon code (AI 8110).
    Couponcode,
    /// Positive offer file coupon code (AI 8112).
    Couponposoffer,
}

impl Linter {
    /// Every linter, in declaration order.
    pub const ALL: [Linter; 34] = [
        Linter::Csum,
        Linter::Csumalpha,
        Linter::Gcppos1,
        Linter::Gcppos2,
        Linter::Yymmd0,
        Linter::Yymmdd,
        Linter::Yyyymmdd,
        Linter::Hhmi,
        Linter::Hh,
        Linter::Mi,
        Linter::Ss,
        Linter::Iso3166,
        Linter::Iso3166999,
        Linter::Iso3166alpha2,
        Linter::Iso4217,
        Linter::Iso5218,
        Linter::Iban,
        Linter::Latitude,
        Linter::Longitude,
        Linter::Pcenc,
        Linter::Yesno,
        Linter::Nonzero,
        Linter::Zero,
        Linter::Pieceoftotal,
        Linter::Posinseqslash,
        Linter::Mediatype,
        Linter::Packagetype,
        Linter::Winding,
        Linter::Importeridx,
        Linter::Nozeroprefix,
        Linter::Hasnondigit,
        Linter::Hyphen,
        Linter::Couponcode,
        Linter::Couponposoffer,
    ];

    /// The name the dictionary uses.
    pub fn name(self) -> &'static str {
        match self {
            Linter::Csum => "csum",
            Linter::Csumalpha => "csumalpha",
            Linter::Gcppos1 => "gcppos1",
            Linter::Gcppos2 => "gcppos2",
            Linter::Yymmd0 => "yymmd0",
            Linter::Yymmdd => "yymmdd",
            Linter::Yyyymmdd => "yyyymmdd",
            Linter::Hhmi => "hhmi",
            Linter::Hh => "hh",
            Linter::Mi => "mi",
            Linter::Ss => "ss",
            Linter::Iso3166 => "iso3166",
            Linter::Iso3166999 => "iso3166999",
            Linter::Iso3166alpha2 => "iso3166alpha2",
            Linter::Iso4217 => "iso4217",
            Linter::Iso5218 => "iso5218",
            Linter::Iban => "iban",
            Linter::Latitude => "latitude",
            Linter::Longitude => "longitude",
            Linter::Pcenc => "pcenc",
            Linter::Yesno => "yesno",
            Linter::Nonzero => "nonzero",
            Linter::Zero => "zero",
            Linter::Pieceoftotal => "pieceoftotal",
            Linter::Posinseqslash => "posinseqslash",
            Linter::Mediatype => "mediatype",
            Linter::Packagetype => "packagetype",
            Linter::Winding => "winding",
            Linter::Importeridx => "importeridx",
            Linter::Nozeroprefix => "nozeroprefix",
            Linter::Hasnondigit => "hasnondigit",
            Linter::Hyphen => "hyphen",
            Linter::Couponcode => "couponcode",
            Linter::Couponposoffer => "couponposoffer",
        }
    }

    /// Checks `data`, one component's text, against this rule.
    pub fn check(self, data: &str) -> Result<(), LintFailure> {
        let data = data.as_bytes();
        match self {
            Linter::Csum => csum(data),
            Linter::Csumalpha => csumalpha(data),
            Linter::Gcppos1 => gcppos1(data),
            Linter::Gcppos2 => gcppos2(data),
            Linter::Yymmd0 => yymmdd(data, true),
            Linter::Yymmdd => yymmdd(data, false),
            Linter::Yyyymmdd => yyyymmdd(data),
            Linter::Hhmi => hhmi(data),
            Linter::Hh => two_digit_field(data, 23, |found| LintFailureKind::IllegalHour { found }),
            Linter::Mi => {
                two_digit_field(data, 59, |found| LintFailureKind::IllegalMinute { found })
            }
            Linter::Ss => {
                two_digit_field(data, 59, |found| LintFailureKind::IllegalSecond { found })
            }
            Linter::Iso3166 => code_in_list(data, CodeList::Iso3166, is_iso3166),
            Linter::Iso3166999 => code_in_list(data, CodeList::Iso3166, |code| {
                code == b"999" || is_iso3166(code)
            }),
            Linter::Iso3166alpha2 => code_in_list(data, CodeList::Iso3166Alpha2, is_iso3166_alpha2),
            Linter::Iso4217 => code_in_list(data, CodeList::Iso4217, is_iso4217),
            Linter::Iso5218 => code_in_list(data, CodeList::Iso5218, |code| {
                matches!(code, b"0" | b"1" | b"2" | b"9")
            }),
            Linter::Iban => iban(data),
            Linter::Latitude => coordinate(data, 1_800_000_000),
            Linter::Longitude => coordinate(data, 3_600_000_000),
            Linter::Pcenc => pcenc(data),
            Linter::Yesno => {
                code_in_list(data, CodeList::YesNo, |code| matches!(code, b"0" | b"1"))
            }
            Linter::Nonzero => nonzero(data),
            Linter::Zero => match data {
                b"0" => Ok(()),
                _ => fail(0, LintFailureKind::NotZero),
            },
            Linter::Pieceoftotal => pieceoftotal(data),
            Linter::Posinseqslash => posinseqslash(data),
            Linter::Mediatype => code_in_list(data, CodeList::MediaType, is_media_type),
            Linter::Packagetype => code_in_list(data, CodeList::PackageType, |code| {
                PACKAGE_TYPES.contains(&code)
            }),
            Linter::Winding => code_in_list(data, CodeList::Winding, |code| {
                matches!(code, b"0" | b"1" | b"9")
            }),
            Linter::Importeridx => importeridx(data),
            Linter::Nozeroprefix => nozeroprefix(data),
            Linter::Hasnondigit => match data.iter().any(|b| !b.is_ascii_digit()) {
                true => Ok(()),
                false => fail(0, LintFailureKind::NoNonDigit),
            },
            Linter::Hyphen => match !data.is_empty() && data.iter().all(|&b| b == b'-') {
                true => Ok(()),
                false => fail(0, LintFailureKind::NotHyphen),
            },
            Linter::Couponcode => couponcode(data),
            Linter::Couponposoffer => couponposoffer(data),
        }
    }
}

impl fmt::Display for Linter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A linter name the dictionary format does not define.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{found:?} is not a GS1 syntax dictionary linter")]
pub struct UnknownLinter {
    /// The name that was looked up.
    pub found: String,
}

impl FromStr for Linter {
    type Err = UnknownLinter;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Linter::ALL
            .into_iter()
            .find(|linter| linter.name() == s)
            .ok_or_else(|| UnknownLinter {
                found: s.to_owned(),
            })
    }
}

/// Where and how a component failed a linter.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind} at byte {offset}")]
pub struct LintFailure {
    /// Byte offset within the checked text where the problem starts.
    pub offset: usize,
    /// What is wrong.
    pub kind: LintFailureKind,
}

/// What a linter found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LintFailureKind {
    /// A digit was required.
    #[error("{found:?} is not a digit")]
    NonDigit {
        /// The character found.
        found: char,
    },
    /// A character outside the rule's alphabet.
    #[error("{found:?} is not allowed here")]
    InvalidCharacter {
        /// The character found.
        found: char,
    },
    /// The text has the wrong length.
    #[error("expected {expected} characters, found {found}")]
    WrongLength {
        /// Required length.
        expected: usize,
        /// Actual length.
        found: usize,
    },
    /// The text is too short.
    #[error("expected at least {min} characters, found {found}")]
    TooShort {
        /// Minimum length.
        min: usize,
        /// Actual length.
        found: usize,
    },
    /// The text is too long.
    #[error("expected at most {max} characters, found {found}")]
    TooLong {
        /// Maximum length.
        max: usize,
        /// Actual length.
        found: usize,
    },
    /// The modulo-10 check digit is wrong.
    #[error("check digit should be {expected:?}, found {found:?}")]
    CheckDigit {
        /// The correct check digit.
        expected: char,
        /// The check digit present.
        found: char,
    },
    /// The alphanumeric check character pair is wrong.
    #[error("check characters should be {expected:?}, found {found:?}")]
    CheckPair {
        /// The correct pair.
        expected: [char; 2],
        /// The pair present.
        found: [char; 2],
    },
    /// Too short to start with a GS1 Company Prefix.
    #[error("too short to hold a GS1 Company Prefix of {min} digits, found {found} characters")]
    CompanyPrefixTooShort {
        /// Length of the shortest GS1 Company Prefix.
        min: usize,
        /// Characters available.
        found: usize,
    },
    /// A GS1 Company Prefix must be digits.
    #[error("GS1 Company Prefix holds {found:?}, not a digit")]
    CompanyPrefixNonDigit {
        /// The character found.
        found: char,
    },
    /// Month outside 01 to 12.
    #[error("month {found:02} does not exist")]
    IllegalMonth {
        /// The month found.
        found: u32,
    },
    /// Day outside the month.
    #[error("day {found:02} is outside the month's {max} days")]
    IllegalDay {
        /// The day found.
        found: u32,
        /// Days in that month.
        max: u32,
    },
    /// Hour outside 00 to 23.
    #[error("hour {found:02} does not exist")]
    IllegalHour {
        /// The hour found.
        found: u32,
    },
    /// Minute outside 00 to 59.
    #[error("minute {found:02} does not exist")]
    IllegalMinute {
        /// The minute found.
        found: u32,
    },
    /// Second outside 00 to 59.
    #[error("second {found:02} does not exist")]
    IllegalSecond {
        /// The second found.
        found: u32,
    },
    /// Not a value of the code list.
    #[error("not a code of {list}")]
    NotInCodeList {
        /// The code list consulted.
        list: CodeList,
    },
    /// The IBAN's modulo-97 check fails.
    #[error("IBAN check digits do not verify")]
    IbanChecksum,
    /// A number above the allowed maximum.
    #[error("{found} exceeds the maximum {max}")]
    OutOfRange {
        /// Largest value allowed.
        max: u64,
        /// Value found.
        found: u64,
    },
    /// `%` not followed by two hexadecimal digits.
    #[error("'%' is not followed by two hexadecimal digits")]
    BadPercentEncoding,
    /// A value of zero where it is not allowed.
    #[error("value is zero")]
    ZeroValue,
    /// A value other than `0` where only `0` is allowed.
    #[error("value must be \"0\"")]
    NotZero,
    /// A number starting with `0`.
    #[error("number starts with zero")]
    ZeroPrefix,
    /// Piece and total must be equal-width halves of an even-length number.
    #[error("piece of total needs an even, non-zero number of digits")]
    PieceOfTotalLength,
    /// Piece number zero.
    #[error("piece number is zero")]
    ZeroPiece,
    /// Total of zero pieces.
    #[error("total number of pieces is zero")]
    ZeroTotal,
    /// Piece number above the total.
    #[error("piece number exceeds the total")]
    PieceExceedsTotal,
    /// Not `pos/end`.
    #[error("expected \"<position>/<end>\"")]
    MalformedSequence,
    /// Position above the end.
    #[error("position exceeds the end of the sequence")]
    PositionExceedsEnd,
    /// Only digits where a non-digit is required.
    #[error("at least one character must not be a digit")]
    NoNonDigit,
    /// Not only hyphens.
    #[error("only hyphens are allowed")]
    NotHyphen,
    /// A coupon field is missing, invalid or cut short.
    #[error("coupon {field}: {problem}")]
    Coupon {
        /// The field.
        field: CouponField,
        /// What is wrong with it.
        problem: CouponProblem,
    },
    /// A coupon expires before it starts.
    #[error("coupon expiration date precedes its start date")]
    CouponExpiryBeforeStart,
    /// Data after the last coupon field.
    #[error("data after the last coupon field")]
    CouponExcessData,
}

/// A code list a linter consults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeList {
    /// ISO 3166-1 numeric country codes.
    Iso3166,
    /// ISO 3166-1 alpha-2 country codes.
    Iso3166Alpha2,
    /// ISO 4217 numeric currency codes.
    Iso4217,
    /// ISO/IEC 5218 sex codes.
    Iso5218,
    /// AIDC media types.
    MediaType,
    /// Package type codes.
    PackageType,
    /// Winding directions.
    Winding,
    /// Yes/no flags.
    YesNo,
}

impl fmt::Display for CodeList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CodeList::Iso3166 => "ISO 3166-1 numeric country codes",
            CodeList::Iso3166Alpha2 => "ISO 3166-1 alpha-2 country codes",
            CodeList::Iso4217 => "ISO 4217 numeric currency codes",
            CodeList::Iso5218 => "ISO/IEC 5218 sex codes (0, 1, 2, 9)",
            CodeList::MediaType => "AIDC media types (01-10, 80-99)",
            CodeList::PackageType => "package type codes",
            CodeList::Winding => "winding directions (0, 1, 9)",
            CodeList::YesNo => "yes/no flags (0, 1)",
        })
    }
}

/// A field of a coupon code (AI 8110 or 8112).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CouponField {
    /// Format code (8112).
    FormatCode,
    /// Length indicator of the funder ID (8112).
    FunderIdLength,
    /// Funder ID (8112).
    FunderId,
    /// Length indicator of the primary GS1 Company Prefix.
    CompanyPrefixLength,
    /// Primary GS1 Company Prefix.
    CompanyPrefix,
    /// Offer code.
    OfferCode,
    /// Length indicator of the save value.
    SaveValueLength,
    /// Save value.
    SaveValue,
    /// Length indicator of a purchase requirement (purchase 1, 2 or 3).
    RequirementLength {
        /// Which purchase.
        purchase: u8,
    },
    /// Purchase requirement.
    Requirement {
        /// Which purchase.
        purchase: u8,
    },
    /// Purchase requirement code.
    RequirementCode {
        /// Which purchase.
        purchase: u8,
    },
    /// Purchase family code.
    FamilyCode {
        /// Which purchase.
        purchase: u8,
    },
    /// Additional purchase rules code.
    AdditionalRulesCode,
    /// Length indicator of a further purchase's GS1 Company Prefix.
    PurchaseCompanyPrefixLength {
        /// Which purchase.
        purchase: u8,
    },
    /// A further purchase's GS1 Company Prefix.
    PurchaseCompanyPrefix {
        /// Which purchase.
        purchase: u8,
    },
    /// Expiration date.
    ExpirationDate,
    /// Start date.
    StartDate,
    /// Length indicator of the serial number.
    SerialNumberLength,
    /// Serial number.
    SerialNumber,
    /// Length indicator of the retailer GS1 Company Prefix or GLN.
    RetailerIdLength,
    /// Retailer GS1 Company Prefix or GLN.
    RetailerId,
    /// Save value code.
    SaveValueCode,
    /// Save value applies to item.
    SaveValueAppliesToItem,
    /// Store coupon flag.
    StoreCouponFlag,
    /// Don't multiply flag.
    DontMultiplyFlag,
}

impl fmt::Display for CouponField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What is wrong with a coupon field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CouponProblem {
    /// The data ends before the field.
    Missing,
    /// The field has a value it may not take.
    Invalid,
    /// The data ends inside the field.
    Truncated,
}

impl fmt::Display for CouponProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CouponProblem::Missing => "missing",
            CouponProblem::Invalid => "invalid",
            CouponProblem::Truncated => "truncated",
        })
    }
}

fn fail(offset: usize, kind: LintFailureKind) -> Result<(), LintFailure> {
    Err(LintFailure { offset, kind })
}

/// The character starting at `offset`, for error reports; non-ASCII input yields the
/// replacement character rather than splitting a UTF-8 sequence.
fn char_at(data: &[u8], offset: usize) -> char {
    match data.get(offset) {
        Some(&b) if b.is_ascii() => char::from(b),
        _ => char::REPLACEMENT_CHARACTER,
    }
}

fn digits(data: &[u8]) -> Result<(), LintFailure> {
    match data.iter().position(|b| !b.is_ascii_digit()) {
        Some(offset) => fail(
            offset,
            LintFailureKind::NonDigit {
                found: char_at(data, offset),
            },
        ),
        None => Ok(()),
    }
}

/// The value of a run of ASCII digits already checked by `digits`; at most ten digits.
fn number(data: &[u8]) -> u64 {
    data.iter().fold(0, |n, &b| n * 10 + u64::from(b - b'0'))
}

fn exact_length(data: &[u8], expected: usize) -> Result<(), LintFailure> {
    match data.len() == expected {
        true => Ok(()),
        false => fail(
            0,
            LintFailureKind::WrongLength {
                expected,
                found: data.len(),
            },
        ),
    }
}

fn csum(data: &[u8]) -> Result<(), LintFailure> {
    digits(data)?;
    let Some((&last, body)) = data.split_last() else {
        return fail(0, LintFailureKind::TooShort { min: 1, found: 0 });
    };
    match check_digit(body) {
        Some(expected) if expected == last => Ok(()),
        Some(expected) => fail(
            data.len() - 1,
            LintFailureKind::CheckDigit {
                expected: char::from(expected),
                found: char::from(last),
            },
        ),
        // `digits` accepted every byte, so `check_digit` has a value.
        None => fail(
            0,
            LintFailureKind::NonDigit {
                found: char_at(data, 0),
            },
        ),
    }
}

/// CSET 82 in ascending ASCII order: a character's index is its value in the check pair sum.
const CSET82_ORDERED: &[u8] =
    b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
/// CSET 32, the alphabet of the check characters, in value order.
const CSET32: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Data characters the check pair covers: one prime weight per character.
const CHECK_PAIR_MAX_DATA: usize = 97;
/// The first primes, weighting data characters from the right.
const PRIMES: [u32; CHECK_PAIR_MAX_DATA] = first_primes();

const fn first_primes<const N: usize>() -> [u32; N] {
    let mut primes = [0u32; N];
    let mut found = 0;
    let mut candidate = 2u32;
    while found < N {
        let mut divisor = 2;
        let mut is_prime = true;
        while divisor * divisor <= candidate {
            if candidate.is_multiple_of(divisor) {
                is_prime = false;
                break;
            }
            divisor += 1;
        }
        if is_prime {
            primes[found] = candidate;
            found += 1;
        }
        candidate += 1;
    }
    primes
}

fn csumalpha(data: &[u8]) -> Result<(), LintFailure> {
    let len = data.len();
    if len < 2 {
        return fail(0, LintFailureKind::TooShort { min: 2, found: len });
    }
    if len - 2 > CHECK_PAIR_MAX_DATA {
        return fail(
            0,
            LintFailureKind::TooLong {
                max: CHECK_PAIR_MAX_DATA + 2,
                found: len,
            },
        );
    }
    let (body, pair) = data.split_at(len - 2);
    let mut sum = 0u32;
    for (i, &b) in body.iter().enumerate() {
        let Some(value) = CSET82_ORDERED.iter().position(|&c| c == b) else {
            return fail(
                i,
                LintFailureKind::InvalidCharacter {
                    found: char_at(data, i),
                },
            );
        };
        // Weights run from the rightmost data character leftwards; value < 82.
        sum += value as u32 * PRIMES[body.len() - 1 - i];
    }
    if let Some(i) = pair.iter().position(|b| !CSET32.contains(b)) {
        let offset = len - 2 + i;
        return fail(
            offset,
            LintFailureKind::InvalidCharacter {
                found: char_at(data, offset),
            },
        );
    }
    let sum = (sum % 1021) as usize;
    let expected = [CSET32[sum >> 5], CSET32[sum & 31]];
    match pair == expected {
        true => Ok(()),
        false => fail(
            len - 2,
            LintFailureKind::CheckPair {
                expected: expected.map(char::from),
                found: [char::from(pair[0]), char::from(pair[1])],
            },
        ),
    }
}

/// Digits in the shortest GS1 Company Prefix.
const GCP_MIN_DIGITS: usize = 4;

/// A GS1 Company Prefix can only be confirmed against GS1's allocation registry, which the
/// ledger does not consult; like the reference linter, this checks that the component is long
/// enough for the shortest prefix and that those positions are digits. Restricted-circulation
/// prefixes (`02`, `04`, `2`) are not rejected: they are legitimate in AI 01 for variable-measure
/// and internal items.
fn gcppos1(data: &[u8]) -> Result<(), LintFailure> {
    if data.len() < GCP_MIN_DIGITS {
        return fail(
            0,
            LintFailureKind::CompanyPrefixTooShort {
                min: GCP_MIN_DIGITS,
                found: data.len(),
            },
        );
    }
    match data[..GCP_MIN_DIGITS]
        .iter()
        .position(|b| !b.is_ascii_digit())
    {
        Some(i) => fail(
            i,
            LintFailureKind::CompanyPrefixNonDigit {
                found: char_at(data, i),
            },
        ),
        None => Ok(()),
    }
}

fn gcppos2(data: &[u8]) -> Result<(), LintFailure> {
    if data.len() < 2 {
        return fail(
            0,
            LintFailureKind::CompanyPrefixTooShort {
                min: GCP_MIN_DIGITS,
                found: 0,
            },
        );
    }
    gcppos1(&data[1..]).map_err(|failure| shifted(failure, 1))
}

fn shifted(failure: LintFailure, by: usize) -> LintFailure {
    LintFailure {
        offset: failure.offset + by,
        ..failure
    }
}

/// Checks `MMDD` at `offset` within the checked text.
fn month_day(
    mmdd: &[u8],
    year: u32,
    allow_zero_day: bool,
    offset: usize,
) -> Result<(), LintFailure> {
    // Callers pass four checked digits, so the values are below 100.
    let month = number(&mmdd[..2]) as u32;
    let day = number(&mmdd[2..]) as u32;
    if !(1..=12).contains(&month) {
        return fail(offset, LintFailureKind::IllegalMonth { found: month });
    }
    let max = crate::text::days_in_month(year, month);
    if (day == 0 && allow_zero_day) || (1..=max).contains(&day) {
        return Ok(());
    }
    fail(offset + 2, LintFailureKind::IllegalDay { found: day, max })
}

/// `YYMMDD`. Only the leap-year rule needs the century: GS1's reference places a two-digit year
/// within a fixed window in which `00` is 2000, so every year divisible by four is a leap year
/// and no clock is consulted.
fn yymmdd(data: &[u8], allow_zero_day: bool) -> Result<(), LintFailure> {
    exact_length(data, 6)?;
    digits(data)?;
    let year = 2000 + number(&data[..2]) as u32;
    month_day(&data[2..], year, allow_zero_day, 2)
}

fn yyyymmdd(data: &[u8]) -> Result<(), LintFailure> {
    exact_length(data, 8)?;
    digits(data)?;
    let year = number(&data[..4]) as u32;
    month_day(&data[4..], year, false, 4)
}

fn two_digit_field(
    data: &[u8],
    max: u32,
    kind: fn(u32) -> LintFailureKind,
) -> Result<(), LintFailure> {
    exact_length(data, 2)?;
    digits(data)?;
    // Two digits: below 100.
    let value = number(data) as u32;
    match value <= max {
        true => Ok(()),
        false => fail(0, kind(value)),
    }
}

fn hhmi(data: &[u8]) -> Result<(), LintFailure> {
    exact_length(data, 4)?;
    digits(data)?;
    two_digit_field(&data[..2], 23, |found| LintFailureKind::IllegalHour {
        found,
    })?;
    two_digit_field(&data[2..], 59, |found| LintFailureKind::IllegalMinute {
        found,
    })
    .map_err(|failure| shifted(failure, 2))
}

fn code_in_list(
    data: &[u8],
    list: CodeList,
    is_member: impl Fn(&[u8]) -> bool,
) -> Result<(), LintFailure> {
    match is_member(data) {
        true => Ok(()),
        false => fail(0, LintFailureKind::NotInCodeList { list }),
    }
}

/// ISO 3166-1 numeric codes in force.
const ISO3166_NUMERIC: &[u16] = &[
    4, 8, 10, 12, 16, 20, 24, 28, 31, 32, 36, 40, 44, 48, 50, 51, 52, 56, 60, 64, 68, 70, 72, 74,
    76, 84, 86, 90, 92, 96, 100, 104, 108, 112, 116, 120, 124, 132, 136, 140, 144, 148, 152, 156,
    158, 162, 166, 170, 174, 175, 178, 180, 184, 188, 191, 192, 196, 203, 204, 208, 212, 214, 218,
    222, 226, 231, 232, 233, 234, 238, 239, 242, 246, 248, 250, 254, 258, 260, 262, 266, 268, 270,
    275, 276, 288, 292, 296, 300, 304, 308, 312, 316, 320, 324, 328, 332, 334, 336, 340, 344, 348,
    352, 356, 360, 364, 368, 372, 376, 380, 384, 388, 392, 398, 400, 404, 408, 410, 414, 417, 418,
    422, 426, 428, 430, 434, 438, 440, 442, 446, 450, 454, 458, 462, 466, 470, 474, 478, 480, 484,
    492, 496, 498, 499, 500, 504, 508, 512, 516, 520, 524, 528, 531, 533, 534, 535, 540, 548, 554,
    558, 562, 566, 570, 574, 578, 580, 581, 583, 584, 585, 586, 591, 598, 600, 604, 608, 612, 616,
    620, 624, 626, 630, 634, 638, 642, 643, 646, 652, 654, 659, 660, 662, 663, 666, 670, 674, 678,
    682, 686, 688, 690, 694, 702, 703, 704, 705, 706, 710, 716, 724, 728, 729, 732, 740, 744, 748,
    752, 756, 760, 762, 764, 768, 772, 776, 780, 784, 788, 792, 795, 796, 798, 800, 804, 807, 818,
    826, 831, 832, 833, 834, 840, 850, 854, 858, 860, 862, 876, 882, 887, 894,
];

/// ISO 4217 numeric currency codes in force (including the funds and precious-metal codes of
/// the 9xx range).
const ISO4217_NUMERIC: &[u16] = &[
    8, 12, 32, 36, 44, 48, 50, 51, 52, 60, 64, 68, 72, 84, 90, 96, 104, 108, 116, 124, 132, 136,
    144, 152, 156, 170, 174, 188, 192, 203, 208, 214, 222, 230, 232, 238, 242, 262, 270, 292, 320,
    324, 328, 332, 340, 344, 348, 352, 356, 360, 364, 368, 376, 388, 392, 396, 398, 400, 404, 408,
    410, 414, 417, 418, 422, 426, 430, 434, 446, 454, 458, 462, 480, 484, 496, 498, 504, 512, 516,
    524, 532, 533, 548, 554, 558, 566, 578, 586, 590, 598, 600, 604, 608, 634, 643, 646, 654, 682,
    690, 702, 704, 706, 710, 728, 748, 752, 756, 760, 764, 776, 780, 784, 788, 800, 807, 818, 826,
    834, 840, 858, 860, 882, 886, 901, 924, 925, 926, 927, 928, 929, 930, 933, 934, 936, 938, 940,
    941, 943, 944, 946, 947, 948, 949, 950, 951, 952, 953, 955, 956, 957, 958, 959, 960, 961, 962,
    963, 964, 965, 967, 968, 969, 970, 971, 972, 973, 975, 976, 977, 978, 979, 980, 981, 984, 985,
    986, 990, 994, 997, 999,
];

/// ISO 3166-1 alpha-2 codes in force.
const ISO3166_ALPHA2: &[&[u8; 2]] = &[
    b"AD", b"AE", b"AF", b"AG", b"AI", b"AL", b"AM", b"AO", b"AQ", b"AR", b"AS", b"AT", b"AU",
    b"AW", b"AX", b"AZ", b"BA", b"BB", b"BD", b"BE", b"BF", b"BG", b"BH", b"BI", b"BJ", b"BL",
    b"BM", b"BN", b"BO", b"BQ", b"BR", b"BS", b"BT", b"BV", b"BW", b"BY", b"BZ", b"CA", b"CC",
    b"CD", b"CF", b"CG", b"CH", b"CI", b"CK", b"CL", b"CM", b"CN", b"CO", b"CR", b"CU", b"CV",
    b"CW", b"CX", b"CY", b"CZ", b"DE", b"DJ", b"DK", b"DM", b"DO", b"DZ", b"EC", b"EE", b"EG",
    b"EH", b"ER", b"ES", b"ET", b"FI", b"FJ", b"FK", b"FM", b"FO", b"FR", b"GA", b"GB", b"GD",
    b"GE", b"GF", b"GG", b"GH", b"GI", b"GL", b"GM", b"GN", b"GP", b"GQ", b"GR", b"GS", b"GT",
    b"GU", b"GW", b"GY", b"HK", b"HM", b"HN", b"HR", b"HT", b"HU", b"ID", b"IE", b"IL", b"IM",
    b"IN", b"IO", b"IQ", b"IR", b"IS", b"IT", b"JE", b"JM", b"JO", b"JP", b"KE", b"KG", b"KH",
    b"KI", b"KM", b"KN", b"KP", b"KR", b"KW", b"KY", b"KZ", b"LA", b"LB", b"LC", b"LI", b"LK",
    b"LR", b"LS", b"LT", b"LU", b"LV", b"LY", b"MA", b"MC", b"MD", b"ME", b"MF", b"MG", b"MH",
    b"MK", b"ML", b"MM", b"MN", b"MO", b"MP", b"MQ", b"MR", b"MS", b"MT", b"MU", b"MV", b"MW",
    b"MX", b"MY", b"MZ", b"NA", b"NC", b"NE", b"NF", b"NG", b"NI", b"NL", b"NO", b"NP", b"NR",
    b"NU", b"NZ", b"OM", b"PA", b"PE", b"PF", b"PG", b"PH", b"PK", b"PL", b"PM", b"PN", b"PR",
    b"PS", b"PT", b"PW", b"PY", b"QA", b"RE", b"RO", b"RS", b"RU", b"RW", b"SA", b"SB", b"SC",
    b"SD", b"SE", b"SG", b"SH", b"SI", b"SJ", b"SK", b"SL", b"SM", b"SN", b"SO", b"SR", b"SS",
    b"ST", b"SV", b"SX", b"SY", b"SZ", b"TC", b"TD", b"TF", b"TG", b"TH", b"TJ", b"TK", b"TL",
    b"TM", b"TN", b"TO", b"TR", b"TT", b"TV", b"TW", b"TZ", b"UA", b"UG", b"UM", b"US", b"UY",
    b"UZ", b"VA", b"VC", b"VE", b"VG", b"VI", b"VN", b"VU", b"WF", b"WS", b"YE", b"YT", b"ZA",
    b"ZM", b"ZW",
];

/// Package type codes: UN/ECE Recommendation 21 alphanumeric codes with GS1's additions, as in
/// GS1's PackageTypeCode list.
const PACKAGE_TYPES: &[&[u8]] = &[
    b"1A", b"1B", b"1D", b"1F", b"1G", b"1W", b"200", b"201", b"202", b"203", b"204", b"205",
    b"206", b"210", b"211", b"212", b"2C", b"3A", b"3H", b"43", b"44", b"4A", b"4B", b"4C", b"4D",
    b"4F", b"4G", b"4H", b"5H", b"5L", b"5M", b"6H", b"6P", b"7A", b"7B", b"8", b"8A", b"8B",
    b"8C", b"9", b"AA", b"AB", b"AC", b"AD", b"AF", b"AG", b"AH", b"AI", b"AJ", b"AL", b"AM",
    b"AP", b"APE", b"AT", b"AV", b"B4", b"BB", b"BC", b"BD", b"BE", b"BF", b"BG", b"BGE", b"BH",
    b"BI", b"BJ", b"BK", b"BL", b"BM", b"BME", b"BN", b"BO", b"BP", b"BQ", b"BR", b"BRI", b"BS",
    b"BT", b"BU", b"BV", b"BW", b"BX", b"BY", b"BZ", b"CA", b"CB", b"CBL", b"CC", b"CCE", b"CD",
    b"CE", b"CF", b"CG", b"CH", b"CI", b"CJ", b"CK", b"CL", b"CM", b"CN", b"CO", b"CP", b"CQ",
    b"CR", b"CS", b"CT", b"CU", b"CV", b"CW", b"CX", b"CY", b"CZ", b"DA", b"DB", b"DC", b"DG",
    b"DH", b"DI", b"DJ", b"DK", b"DL", b"DM", b"DN", b"DP", b"DPE", b"DR", b"DS", b"DT", b"DU",
    b"DV", b"DW", b"DX", b"DY", b"E1", b"E2", b"E3", b"EC", b"ED", b"EE", b"EF", b"EG", b"EH",
    b"EI", b"EN", b"FB", b"FC", b"FD", b"FE", b"FI", b"FL", b"FO", b"FOB", b"FP", b"FPE", b"FR",
    b"FT", b"FW", b"FX", b"GB", b"GI", b"GL", b"GR", b"GU", b"GY", b"GZ", b"HA", b"HB", b"HC",
    b"HG", b"HN", b"HR", b"IA", b"IB", b"IC", b"ID", b"IE", b"IF", b"IG", b"IH", b"IK", b"IL",
    b"IN", b"IZ", b"JB", b"JC", b"JG", b"JR", b"JT", b"JY", b"KG", b"KI", b"LAB", b"LE", b"LG",
    b"LT", b"LU", b"LV", b"LZ", b"MA", b"MB", b"MC", b"ME", b"MPE", b"MR", b"MS", b"MT", b"MW",
    b"MX", b"NA", b"NE", b"NF", b"NG", b"NS", b"NT", b"NU", b"NV", b"OA", b"OB", b"OC", b"OD",
    b"OE", b"OF", b"OK", b"OPE", b"OT", b"OU", b"P2", b"PA", b"PAE", b"PB", b"PC", b"PD", b"PE",
    b"PF", b"PG", b"PH", b"PI", b"PJ", b"PK", b"PL", b"PLP", b"PN", b"PO", b"POP", b"PP", b"PPE",
    b"PR", b"PT", b"PU", b"PUE", b"PV", b"PX", b"PY", b"PZ", b"QA", b"QB", b"QC", b"QD", b"QF",
    b"QG", b"QH", b"QJ", b"QK", b"QL", b"QM", b"QN", b"QP", b"QQ", b"QR", b"QS", b"RB1", b"RB2",
    b"RB3", b"RCB", b"RD", b"RG", b"RJ", b"RK", b"RL", b"RO", b"RT", b"RZ", b"S1", b"SA", b"SB",
    b"SC", b"SD", b"SE", b"SEC", b"SH", b"SI", b"SK", b"SL", b"SM", b"SO", b"SP", b"SS", b"ST",
    b"STL", b"SU", b"SV", b"SW", b"SX", b"SY", b"SZ", b"T1", b"TB", b"TC", b"TD", b"TE", b"TEV",
    b"TG", b"THE", b"TI", b"TK", b"TL", b"TN", b"TO", b"TR", b"TRE", b"TS", b"TT", b"TTE", b"TU",
    b"TV", b"TW", b"TWE", b"TY", b"TZ", b"UC", b"UN", b"UUE", b"VA", b"VG", b"VI", b"VK", b"VL",
    b"VN", b"VO", b"VP", b"VQ", b"VR", b"VS", b"VY", b"WA", b"WB", b"WC", b"WD", b"WF", b"WG",
    b"WH", b"WJ", b"WK", b"WL", b"WM", b"WN", b"WP", b"WQ", b"WR", b"WRP", b"WS", b"WT", b"WU",
    b"WV", b"WW", b"WX", b"WY", b"WZ", b"X11", b"X12", b"X15", b"X16", b"X17", b"X18", b"X19",
    b"X20", b"X3", b"XA", b"XB", b"XC", b"XD", b"XF", b"XG", b"XH", b"XJ", b"XK", b"YA", b"YB",
    b"YC", b"YD", b"YF", b"YG", b"YH", b"YJ", b"YK", b"YL", b"YM", b"YN", b"YP", b"YQ", b"YR",
    b"YS", b"YT", b"YV", b"YW", b"YX", b"YY", b"YZ", b"ZA", b"ZB", b"ZC", b"ZD", b"ZF", b"ZG",
    b"ZH", b"ZJ", b"ZK", b"ZL", b"ZM", b"ZN", b"ZP", b"ZQ", b"ZR", b"ZS", b"ZT", b"ZU", b"ZV",
    b"ZW", b"ZX", b"ZY", b"ZZ",
];

fn three_digit_code(code: &[u8]) -> Option<u16> {
    // Three digits: below 1000.
    (code.len() == 3 && code.iter().all(u8::is_ascii_digit)).then(|| number(code) as u16)
}

fn is_iso3166(code: &[u8]) -> bool {
    three_digit_code(code).is_some_and(|n| ISO3166_NUMERIC.binary_search(&n).is_ok())
}

fn is_iso4217(code: &[u8]) -> bool {
    three_digit_code(code).is_some_and(|n| ISO4217_NUMERIC.binary_search(&n).is_ok())
}

fn is_iso3166_alpha2(code: &[u8]) -> bool {
    ISO3166_ALPHA2.iter().any(|c| c.as_slice() == code)
}

fn is_media_type(code: &[u8]) -> bool {
    // Assigned: 01 to 10 (ICCBBA) and 80 to 99 (local and national use); 00 is not used.
    code.len() == 2
        && code.iter().all(u8::is_ascii_digit)
        && matches!(number(code), 1..=10 | 80..=99)
}

/// IBAN lengths: the reference linter's minimum (enough for country, check digits and a
/// basic account number) and ISO 13616's maximum.
const IBAN_MIN_LEN: usize = 11;
const IBAN_MAX_LEN: usize = 34;

fn iban(data: &[u8]) -> Result<(), LintFailure> {
    if data.len() < 4 {
        return fail(
            0,
            LintFailureKind::TooShort {
                min: IBAN_MIN_LEN,
                found: data.len(),
            },
        );
    }
    if !is_iso3166_alpha2(&data[..2]) {
        return fail(
            0,
            LintFailureKind::NotInCodeList {
                list: CodeList::Iso3166Alpha2,
            },
        );
    }
    if data.len() > IBAN_MAX_LEN {
        return fail(
            0,
            LintFailureKind::TooLong {
                max: IBAN_MAX_LEN,
                found: data.len(),
            },
        );
    }
    if data.len() < IBAN_MIN_LEN {
        return fail(
            0,
            LintFailureKind::TooShort {
                min: IBAN_MIN_LEN,
                found: data.len(),
            },
        );
    }
    // Move the country code and check digits to the end, read letters as 10..35, and require
    // the resulting number to be 1 modulo 97; the remainder is carried digit group by group.
    let mut remainder = 0u32;
    for offset in (4..data.len()).chain(0..4) {
        let b = data[offset];
        let (value, scale) = match b {
            b'0'..=b'9' => (u32::from(b - b'0'), 10),
            b'A'..=b'Z' => (u32::from(b - b'A') + 10, 100),
            _ => {
                return fail(
                    offset,
                    LintFailureKind::InvalidCharacter {
                        found: char_at(data, offset),
                    },
                );
            }
        };
        remainder = (remainder * scale + value) % 97;
    }
    match remainder == 1 {
        true => Ok(()),
        false => fail(2, LintFailureKind::IbanChecksum),
    }
}

fn coordinate(data: &[u8], max: u64) -> Result<(), LintFailure> {
    exact_length(data, 10)?;
    digits(data)?;
    let found = number(data);
    match found <= max {
        true => Ok(()),
        false => fail(0, LintFailureKind::OutOfRange { max, found }),
    }
}

fn pcenc(data: &[u8]) -> Result<(), LintFailure> {
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'%' {
            let escape = data.get(i + 1..i + 3);
            if !escape.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                return fail(i, LintFailureKind::BadPercentEncoding);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

fn nonzero(data: &[u8]) -> Result<(), LintFailure> {
    digits(data)?;
    match data.iter().any(|&b| b != b'0') {
        true => Ok(()),
        false => fail(0, LintFailureKind::ZeroValue),
    }
}

fn pieceoftotal(data: &[u8]) -> Result<(), LintFailure> {
    digits(data)?;
    if data.is_empty() || !data.len().is_multiple_of(2) {
        return fail(0, LintFailureKind::PieceOfTotalLength);
    }
    let (piece, total) = data.split_at(data.len() / 2);
    if piece.iter().all(|&b| b == b'0') {
        return fail(0, LintFailureKind::ZeroPiece);
    }
    if total.iter().all(|&b| b == b'0') {
        return fail(piece.len(), LintFailureKind::ZeroTotal);
    }
    // Equal widths, so the lexical order of the digits is the numeric order.
    match piece <= total {
        true => Ok(()),
        false => fail(0, LintFailureKind::PieceExceedsTotal),
    }
}

fn posinseqslash(data: &[u8]) -> Result<(), LintFailure> {
    let Some(slash) = data.iter().position(|&b| b == b'/') else {
        return fail(0, LintFailureKind::MalformedSequence);
    };
    let (position, end) = (&data[..slash], &data[slash + 1..]);
    let well_formed = |part: &[u8]| !part.is_empty() && part.iter().all(u8::is_ascii_digit);
    if !well_formed(position) || !well_formed(end) {
        return fail(0, LintFailureKind::MalformedSequence);
    }
    if position[0] == b'0' {
        return fail(0, LintFailureKind::ZeroPrefix);
    }
    if end[0] == b'0' {
        return fail(slash + 1, LintFailureKind::ZeroPrefix);
    }
    // No leading zeros: the longer number is the larger, and equal lengths compare lexically.
    match (position.len(), position) <= (end.len(), end) {
        true => Ok(()),
        false => fail(0, LintFailureKind::PositionExceedsEnd),
    }
}

fn importeridx(data: &[u8]) -> Result<(), LintFailure> {
    match data {
        [b] if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_') => Ok(()),
        [_] => fail(
            0,
            LintFailureKind::InvalidCharacter {
                found: char_at(data, 0),
            },
        ),
        _ => fail(
            0,
            LintFailureKind::WrongLength {
                expected: 1,
                found: data.len(),
            },
        ),
    }
}

fn nozeroprefix(data: &[u8]) -> Result<(), LintFailure> {
    if data.first() == Some(&b'0') {
        return fail(0, LintFailureKind::ZeroPrefix);
    }
    digits(data)
}

/// Reads a coupon's fields left to right.
struct CouponFields<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> CouponFields<'a> {
    fn problem(&self, offset: usize, field: CouponField, problem: CouponProblem) -> LintFailure {
        LintFailure {
            offset,
            kind: LintFailureKind::Coupon { field, problem },
        }
    }

    /// Consumes `indicator` if it comes next; optional fields start with one.
    fn optional(&mut self, indicator: u8) -> bool {
        let present = self.data.get(self.pos) == Some(&indicator);
        if present {
            self.pos += 1;
        }
        present
    }

    /// Reads a one-digit field whose value `allowed` accepts.
    fn digit(
        &mut self,
        field: CouponField,
        allowed: impl Fn(u8) -> bool,
    ) -> Result<u8, LintFailure> {
        let Some(&b) = self.data.get(self.pos) else {
            return Err(self.problem(self.pos, field, CouponProblem::Missing));
        };
        // The caller checked that the whole coupon is digits.
        let value = b - b'0';
        if !allowed(value) {
            return Err(self.problem(self.pos, field, CouponProblem::Invalid));
        }
        self.pos += 1;
        Ok(value)
    }

    /// Reads a field of `len` digits, returning its offset and text.
    fn take(&mut self, len: usize, field: CouponField) -> Result<(usize, &'a [u8]), LintFailure> {
        let start = self.pos;
        match self.data.get(start..start + len) {
            Some(text) => {
                self.pos += len;
                Ok((start, text))
            }
            None => Err(self.problem(start, field, CouponProblem::Truncated)),
        }
    }

    /// A GS1 Company Prefix field of `len` digits, checked with `gcppos1`.
    fn company_prefix(&mut self, len: usize, field: CouponField) -> Result<(), LintFailure> {
        let (offset, prefix) = self.take(len, field)?;
        gcppos1(prefix).map_err(|failure| shifted(failure, offset))
    }

    /// A purchase requirement: length indicator 1-5, the requirement, a code 0-4 or 9, and a
    /// three-digit family code.
    fn purchase_requirement(&mut self, purchase: u8) -> Result<(), LintFailure> {
        let len = self.digit(CouponField::RequirementLength { purchase }, |d| {
            (1..=5).contains(&d)
        })?;
        self.take(usize::from(len), CouponField::Requirement { purchase })?;
        self.digit(CouponField::RequirementCode { purchase }, |d| {
            d <= 4 || d == 9
        })?;
        self.take(3, CouponField::FamilyCode { purchase })?;
        Ok(())
    }

    /// A further purchase's company prefix: indicator 0-6 for 6 to 12 digits, or 9 for none.
    fn purchase_company_prefix(&mut self, purchase: u8) -> Result<(), LintFailure> {
        let vli = self.digit(CouponField::PurchaseCompanyPrefixLength { purchase }, |d| {
            d <= 6 || d == 9
        })?;
        if vli != 9 {
            self.company_prefix(
                usize::from(vli) + 6,
                CouponField::PurchaseCompanyPrefix { purchase },
            )?;
        }
        Ok(())
    }

    /// A `YYMMDD` date field.
    fn date(&mut self, field: CouponField) -> Result<(usize, &'a [u8]), LintFailure> {
        let (offset, date) = self.take(6, field)?;
        yymmdd(date, false).map_err(|_| self.problem(offset, field, CouponProblem::Invalid))?;
        Ok((offset, date))
    }

    fn finish(&self) -> Result<(), LintFailure> {
        match self.pos == self.data.len() {
            true => Ok(()),
            false => fail(self.pos, LintFailureKind::CouponExcessData),
        }
    }
}

/// North American Coupon Code (AI 8110): mandatory company prefix, offer code, save value and
/// first purchase requirement, then optional fields 1 to 6 and 9, each introduced by its
/// number and appearing at most once in that order.
fn couponcode(data: &[u8]) -> Result<(), LintFailure> {
    use CouponField as F;
    digits(data)?;
    let mut f = CouponFields { data, pos: 0 };
    let vli = f.digit(F::CompanyPrefixLength, |d| d <= 6)?;
    f.company_prefix(usize::from(vli) + 6, F::CompanyPrefix)?;
    f.take(6, F::OfferCode)?;
    let len = f.digit(F::SaveValueLength, |d| (1..=5).contains(&d))?;
    f.take(usize::from(len), F::SaveValue)?;
    f.purchase_requirement(1)?;
    if f.optional(b'1') {
        f.digit(F::AdditionalRulesCode, |d| d <= 3)?;
        f.purchase_requirement(2)?;
        f.purchase_company_prefix(2)?;
    }
    if f.optional(b'2') {
        f.purchase_requirement(3)?;
        f.purchase_company_prefix(3)?;
    }
    let expiry = match f.optional(b'3') {
        true => Some(f.date(F::ExpirationDate)?.1),
        false => None,
    };
    if f.optional(b'4') {
        let (offset, start) = f.date(F::StartDate)?;
        if let Some(expiry) = expiry
            && start > expiry
        {
            return fail(offset, LintFailureKind::CouponExpiryBeforeStart);
        }
    }
    if f.optional(b'5') {
        let vli = f.digit(F::SerialNumberLength, |_| true)?;
        f.take(usize::from(vli) + 6, F::SerialNumber)?;
    }
    if f.optional(b'6') {
        let vli = f.digit(F::RetailerIdLength, |d| (1..=7).contains(&d))?;
        f.company_prefix(usize::from(vli) + 6, F::RetailerId)?;
    }
    if f.optional(b'9') {
        f.digit(F::SaveValueCode, |d| matches!(d, 0 | 1 | 2 | 5 | 6))?;
        f.digit(F::SaveValueAppliesToItem, |d| d <= 2)?;
        f.digit(F::StoreCouponFlag, |_| true)?;
        f.digit(F::DontMultiplyFlag, |d| d <= 1)?;
    }
    f.finish()
}

/// Positive offer file coupon code (AI 8112): format code, funder ID, offer code, serial number.
fn couponposoffer(data: &[u8]) -> Result<(), LintFailure> {
    use CouponField as F;
    digits(data)?;
    let mut f = CouponFields { data, pos: 0 };
    f.digit(F::FormatCode, |d| d <= 1)?;
    let vli = f.digit(F::FunderIdLength, |d| d <= 6)?;
    f.take(usize::from(vli) + 6, F::FunderId)?;
    f.take(6, F::OfferCode)?;
    let vli = f.digit(F::SerialNumberLength, |_| true)?;
    f.take(usize::from(vli) + 6, F::SerialNumber)?;
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(linter: Linter, data: &str) {
        assert_eq!(
            linter.check(data),
            Ok(()),
            "{linter} should accept {data:?}"
        );
    }

    fn bad(linter: Linter, data: &str) -> LintFailure {
        linter
            .check(data)
            .expect_err(&format!("{linter} should reject {data:?}"))
    }

    #[test]
    fn names_round_trip() {
        for linter in Linter::ALL {
            assert_eq!(linter.name().parse::<Linter>(), Ok(linter));
        }
        assert!("nosuch".parse::<Linter>().is_err());
    }

    #[test]
    fn code_lists_are_sorted_for_binary_search() {
        assert!(ISO3166_NUMERIC.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO4217_NUMERIC.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO3166_ALPHA2.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ISO3166_ALPHA2.len(), 249);
        assert_eq!(PRIMES[0], 2);
        assert_eq!(PRIMES[CHECK_PAIR_MAX_DATA - 1], 509);
    }

    #[test]
    fn csum_uses_the_shared_check_digit() {
        ok(Linter::Csum, "09520123456788");
        assert_eq!(
            bad(Linter::Csum, "09520123456789"),
            LintFailure {
                offset: 13,
                kind: LintFailureKind::CheckDigit {
                    expected: '8',
                    found: '9'
                }
            }
        );
        assert_eq!(bad(Linter::Csum, "0952A").offset, 4);
        assert!(Linter::Csum.check("").is_err());
    }

    #[test]
    fn csumalpha_check_pairs() {
        for good in [
            "22",
            "!22",
            "1987654Ad4X4bL5ttr2310c2K",
            "12345678901234567890123NT",
            "12345_0123456789:;<=>?62",
            "00000!HV",
        ] {
            ok(Linter::Csumalpha, good);
        }
        assert_eq!(
            bad(Linter::Csumalpha, "1987654Ad4X4bL5ttr2310cXK"),
            LintFailure {
                offset: 23,
                kind: LintFailureKind::CheckPair {
                    expected: ['2', 'K'],
                    found: ['X', 'K']
                }
            }
        );
        assert_eq!(
            bad(Linter::Csumalpha, "2").kind,
            LintFailureKind::TooShort { min: 2, found: 1 }
        );
        assert_eq!(
            bad(Linter::Csumalpha, "123456789 1234567890123NT").offset,
            9
        );
        assert_eq!(
            bad(Linter::Csumalpha, "12345678901234567890123N ").offset,
            24
        );
        let longest = format!("{}{}HA", "1234567890".repeat(9), "1234567");
        ok(Linter::Csumalpha, &longest);
        assert!(
            Linter::Csumalpha
                .check(&format!("{}ZZ", "1".repeat(98)))
                .is_err()
        );
    }

    #[test]
    fn company_prefix_positions() {
        ok(Linter::Gcppos1, "0123");
        ok(Linter::Gcppos1, "0123A");
        assert_eq!(
            bad(Linter::Gcppos1, "012").kind,
            LintFailureKind::CompanyPrefixTooShort { min: 4, found: 3 }
        );
        assert_eq!(bad(Linter::Gcppos1, "01A3").offset, 2);
        ok(Linter::Gcppos2, "I0123");
        assert_eq!(bad(Linter::Gcppos2, "I01A3").offset, 3);
        assert!(Linter::Gcppos2.check("I").is_err());
    }

    #[test]
    fn dates_and_times() {
        for good in ["000606", "200229", "240229", "000229", "200600", "991231"] {
            ok(Linter::Yymmd0, good);
        }
        ok(Linter::Yymmdd, "200229");
        assert_eq!(
            bad(Linter::Yymmdd, "200600").kind,
            LintFailureKind::IllegalDay { found: 0, max: 30 }
        );
        assert_eq!(
            bad(Linter::Yymmd0, "210229"),
            LintFailure {
                offset: 4,
                kind: LintFailureKind::IllegalDay { found: 29, max: 28 }
            }
        );
        assert_eq!(
            bad(Linter::Yymmd0, "201310"),
            LintFailure {
                offset: 2,
                kind: LintFailureKind::IllegalMonth { found: 13 }
            }
        );
        assert_eq!(bad(Linter::Yymmd0, "2x0131").offset, 1);
        assert_eq!(
            bad(Linter::Yymmd0, "11111").kind,
            LintFailureKind::WrongLength {
                expected: 6,
                found: 5
            }
        );
        ok(Linter::Yyyymmdd, "20000229");
        assert!(Linter::Yyyymmdd.check("19000229").is_err());
        assert!(Linter::Yyyymmdd.check("21000229").is_err());
        ok(Linter::Hhmi, "2359");
        assert_eq!(
            bad(Linter::Hhmi, "2360"),
            LintFailure {
                offset: 2,
                kind: LintFailureKind::IllegalMinute { found: 60 }
            }
        );
        assert_eq!(
            bad(Linter::Hhmi, "2400").kind,
            LintFailureKind::IllegalHour { found: 24 }
        );
        ok(Linter::Hh, "23");
        assert!(Linter::Hh.check("24").is_err());
        ok(Linter::Mi, "59");
        assert!(Linter::Mi.check("60").is_err());
        ok(Linter::Ss, "00");
        assert!(Linter::Ss.check("60").is_err());
    }

    #[test]
    fn code_lists() {
        ok(Linter::Iso3166, "156");
        ok(Linter::Iso3166, "894");
        for code in ["000", "999", "AAA", "15", "1566"] {
            assert_eq!(
                bad(Linter::Iso3166, code).kind,
                LintFailureKind::NotInCodeList {
                    list: CodeList::Iso3166
                }
            );
        }
        ok(Linter::Iso3166999, "999");
        ok(Linter::Iso3166999, "156");
        assert!(Linter::Iso3166999.check("998").is_err());
        ok(Linter::Iso3166alpha2, "CN");
        assert!(Linter::Iso3166alpha2.check("AA").is_err());
        assert!(Linter::Iso3166alpha2.check("cn").is_err());
        ok(Linter::Iso4217, "156");
        ok(Linter::Iso4217, "978");
        assert!(Linter::Iso4217.check("004").is_err());
        for code in ["0", "1", "2", "9"] {
            ok(Linter::Iso5218, code);
        }
        assert!(Linter::Iso5218.check("3").is_err());
        for code in ["01", "10", "80", "99"] {
            ok(Linter::Mediatype, code);
        }
        for code in ["00", "11", "79", "1"] {
            assert!(Linter::Mediatype.check(code).is_err(), "{code}");
        }
        for code in ["1A", "200", "8", "PX", "ZZ", "X11"] {
            ok(Linter::Packagetype, code);
        }
        for code in ["", "0", "_9", "1A_", "px"] {
            assert!(Linter::Packagetype.check(code).is_err(), "{code}");
        }
        for code in ["0", "1", "9"] {
            ok(Linter::Winding, code);
        }
        assert!(Linter::Winding.check("2").is_err());
        ok(Linter::Yesno, "1");
        assert!(Linter::Yesno.check("2").is_err());
    }

    #[test]
    fn iban_modulo_97() {
        for good in [
            "FR7630006000011234567890189",
            "DE91100000000123456789",
            "GB98MIDL07009312345678",
            "BE71096123456769",
            "MT90MALT011000012345MTLCAST001SABC",
        ] {
            ok(Linter::Iban, good);
        }
        assert_eq!(
            bad(Linter::Iban, "BE71096123456760"),
            LintFailure {
                offset: 2,
                kind: LintFailureKind::IbanChecksum
            }
        );
        assert_eq!(
            bad(Linter::Iban, "XX361234567890").kind,
            LintFailureKind::NotInCodeList {
                list: CodeList::Iso3166Alpha2
            }
        );
        assert_eq!(
            bad(Linter::Iban, "LC14BOSLxx3456789012345678901230").offset,
            8
        );
        assert!(matches!(
            bad(Linter::Iban, "BE71").kind,
            LintFailureKind::TooShort { .. }
        ));
        assert!(matches!(
            bad(Linter::Iban, "MTXXMALT011000012345MTLCAST001SABCD").kind,
            LintFailureKind::TooLong { .. }
        ));
    }

    #[test]
    fn coordinates_and_numbers() {
        ok(Linter::Latitude, "1800000000");
        assert_eq!(
            bad(Linter::Latitude, "1800000001").kind,
            LintFailureKind::OutOfRange {
                max: 1_800_000_000,
                found: 1_800_000_001
            }
        );
        ok(Linter::Longitude, "3600000000");
        assert!(Linter::Longitude.check("3600000001").is_err());
        assert!(Linter::Longitude.check("360000000").is_err());
        ok(Linter::Nonzero, "0009");
        assert_eq!(bad(Linter::Nonzero, "000").kind, LintFailureKind::ZeroValue);
        assert!(Linter::Nonzero.check("").is_err());
        ok(Linter::Zero, "0");
        assert!(Linter::Zero.check("1").is_err());
        ok(Linter::Nozeroprefix, "10");
        ok(Linter::Nozeroprefix, "");
        assert_eq!(
            bad(Linter::Nozeroprefix, "0").kind,
            LintFailureKind::ZeroPrefix
        );
        assert_eq!(bad(Linter::Nozeroprefix, "9A").offset, 1);
        ok(Linter::Hasnondigit, "12/");
        assert!(Linter::Hasnondigit.check("123").is_err());
        ok(Linter::Hyphen, "-");
        assert!(Linter::Hyphen.check("").is_err());
        assert!(Linter::Hyphen.check("X").is_err());
    }

    #[test]
    fn percent_encoding() {
        for good in ["", "A", "%00", "%Ff", "ABC%20XYZ"] {
            ok(Linter::Pcenc, good);
        }
        assert_eq!(bad(Linter::Pcenc, "ABC%fg").offset, 3);
        assert_eq!(bad(Linter::Pcenc, "ABC%g").offset, 3);
        assert!(Linter::Pcenc.check("%2").is_err());
    }

    #[test]
    fn pieces_and_sequences() {
        for good in ["11", "13", "0101", "9899", "001003"] {
            ok(Linter::Pieceoftotal, good);
        }
        assert_eq!(
            bad(Linter::Pieceoftotal, "111").kind,
            LintFailureKind::PieceOfTotalLength
        );
        assert_eq!(
            bad(Linter::Pieceoftotal, "0001").kind,
            LintFailureKind::ZeroPiece
        );
        assert_eq!(
            bad(Linter::Pieceoftotal, "0100"),
            LintFailure {
                offset: 2,
                kind: LintFailureKind::ZeroTotal
            }
        );
        assert_eq!(
            bad(Linter::Pieceoftotal, "0908").kind,
            LintFailureKind::PieceExceedsTotal
        );
        for good in ["1/1", "9/10", "100/100", "998/999"] {
            ok(Linter::Posinseqslash, good);
        }
        for malformed in ["", "/", "1", "1/", "/1", "1//2", "x/y"] {
            assert_eq!(
                bad(Linter::Posinseqslash, malformed).kind,
                LintFailureKind::MalformedSequence,
                "{malformed}"
            );
        }
        assert_eq!(
            bad(Linter::Posinseqslash, "1/02"),
            LintFailure {
                offset: 2,
                kind: LintFailureKind::ZeroPrefix
            }
        );
        assert_eq!(
            bad(Linter::Posinseqslash, "10/9").kind,
            LintFailureKind::PositionExceedsEnd
        );
        assert_eq!(
            bad(Linter::Posinseqslash, "999/998").kind,
            LintFailureKind::PositionExceedsEnd
        );
    }

    #[test]
    fn importer_index() {
        for good in ["-", "0", "Z", "_", "a"] {
            ok(Linter::Importeridx, good);
        }
        assert!(Linter::Importeridx.check("!").is_err());
        assert!(Linter::Importeridx.check("AA").is_err());
        assert!(Linter::Importeridx.check("é").is_err());
    }

    #[test]
    fn north_american_coupon() {
        use CouponField as F;
        use CouponProblem as P;
        for good in [
            "012345612345611110123",
            "012345612345611110123101101230123456",
            "012345612345611110123101101239",
            "01234561234561111012321101230123456",
            "0123456123456111101233200229",
        ] {
            ok(Linter::Couponcode, good);
        }
        let coupon = |field, problem| LintFailureKind::Coupon { field, problem };
        assert_eq!(
            bad(Linter::Couponcode, "").kind,
            coupon(F::CompanyPrefixLength, P::Missing)
        );
        assert_eq!(
            bad(Linter::Couponcode, "0123456").kind,
            coupon(F::OfferCode, P::Truncated)
        );
        assert_eq!(
            bad(Linter::Couponcode, "71234567890123").kind,
            coupon(F::CompanyPrefixLength, P::Invalid)
        );
        assert_eq!(
            bad(Linter::Couponcode, "01234561234560").kind,
            coupon(F::SaveValueLength, P::Invalid)
        );
        assert_eq!(
            bad(Linter::Couponcode, "01234561234561111012310115").kind,
            coupon(F::RequirementCode { purchase: 2 }, P::Invalid)
        );
        assert_eq!(
            bad(Linter::Couponcode, "0123456123456111101232").kind,
            coupon(F::RequirementLength { purchase: 3 }, P::Missing)
        );
        assert_eq!(
            bad(Linter::Couponcode, "0123456123456111101233123").kind,
            coupon(F::ExpirationDate, P::Truncated)
        );
        assert_eq!(
            bad(Linter::Couponcode, "0123456123456111101233201310").kind,
            coupon(F::ExpirationDate, P::Invalid)
        );
        assert_eq!(
            bad(Linter::Couponcode, "01234561234561111012331912314200101").kind,
            LintFailureKind::CouponExpiryBeforeStart
        );
        ok(Linter::Couponcode, "01234561234561111012332001014191231");
        assert_eq!(
            bad(Linter::Couponcode, "0123456123456111101239").kind,
            coupon(F::SaveValueCode, P::Missing)
        );
        ok(Linter::Couponcode, "01234561234561111012390001");
        assert_eq!(
            bad(Linter::Couponcode, "01234561234561111012390002").kind,
            coupon(F::DontMultiplyFlag, P::Invalid)
        );
        ok(Linter::Couponcode, "01234561234561111012350123456");
        ok(Linter::Couponcode, "012345612345611110123611234567");
        assert_eq!(bad(Linter::Couponcode, "0123456123456111101239").offset, 22);
        assert_eq!(
            bad(Linter::Couponcode, "0123456123456111101239011"),
            LintFailure {
                offset: 25,
                kind: coupon(F::DontMultiplyFlag, P::Missing)
            }
        );
        assert_eq!(
            bad(Linter::Couponcode, "0123456123456111101231011012391").kind,
            LintFailureKind::CouponExcessData
        );
        assert_eq!(
            bad(Linter::Couponcode, "a12345612345611110123").kind,
            LintFailureKind::NonDigit { found: 'a' }
        );
    }

    #[test]
    fn positive_offer_coupon() {
        use CouponField as F;
        use CouponProblem as P;
        for good in [
            "001234561234560123456",
            "101234561234560123456",
            "0012345612345611234567",
            "061234567890121234569123456789012345",
        ] {
            ok(Linter::Couponposoffer, good);
        }
        let coupon = |field, problem| LintFailureKind::Coupon { field, problem };
        assert_eq!(
            bad(Linter::Couponposoffer, "").kind,
            coupon(F::FormatCode, P::Missing)
        );
        assert_eq!(
            bad(Linter::Couponposoffer, "201234561234560123456").kind,
            coupon(F::FormatCode, P::Invalid)
        );
        assert_eq!(
            bad(Linter::Couponposoffer, "07").kind,
            coupon(F::FunderIdLength, P::Invalid)
        );
        assert_eq!(
            bad(Linter::Couponposoffer, "001234").kind,
            coupon(F::FunderId, P::Truncated)
        );
        assert_eq!(
            bad(Linter::Couponposoffer, "00123456123456").kind,
            coupon(F::SerialNumberLength, P::Missing)
        );
        assert_eq!(
            bad(Linter::Couponposoffer, "001234561234561123456").kind,
            coupon(F::SerialNumber, P::Truncated)
        );
        assert_eq!(
            bad(Linter::Couponposoffer, "0012345612345601234567").kind,
            LintFailureKind::CouponExcessData
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        for linter in Linter::ALL {
            for data in [
                "",
                "é",
                "%",
                "0",
                "00",
                "1/",
                "99999999999999999999",
                "\u{1d}",
                "９",
            ] {
                let _ = linter.check(data);
            }
        }
    }
}
