//! Parse unified social credit codes (统一社会信用代码, GB 32100-2015), the identifier every
//! enterprise and organisation registered in China carries.
//!
//! A code has [`LENGTH`] characters from [`ALPHABET`] (digits and upper-case letters without
//! I, O, S, V and Z):
//!
//! | positions | field | accessor |
//! |---|---|---|
//! | 1 | registration authority (登记管理部门) | [`Uscc::registration_authority`] |
//! | 2 | entity category (机构类别) | [`Uscc::category`] |
//! | 3-8 | region of the registering office (GB/T 2260) | [`Uscc::region_code`] |
//! | 9-17 | organisation code (主体标识码, GB 11714) | [`Uscc::organisation_code`] |
//! | 18 | check character | [`check_character`] |
//!
//! What [`Uscc`] enforces: the length, the alphabet (lower case is rejected; callers that want
//! upper-casing ask for it with [`Uscc::parse_normalising`]), the authority and category pairs of
//! the standard's table, six digits of region, and the check character. The category table is
//! applied strictly (for authority `9` only categories 1-3): four independent transcriptions of
//! the standard agree on it; one lists a `9` "other" category for authority `9` as well, which is
//! not accepted here, and authority codes assigned after GB 32100-2015, if any, are rejected too.
//! What it does not check: the
//! region is not looked up in GB/T 2260 (that table changes every year and a code keeps the region
//! of its first registration), and the organisation code's own GB 11714 check digit is not
//! verified, because GB 32100 makes the 18th character the one check of the whole code.
//!
//! Some early codes that were really issued fail the check character. [`Uscc::parse_legacy`]
//! accepts those for imports of old data as a [`LegacyUscc`], a different type that carries the
//! mismatch and cannot stand where a [`Uscc`] is required, so it never reaches a new registration.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Number of characters in a code.
pub const LENGTH: usize = 18;

/// The 31 characters a code may hold; a character's value is its index here.
pub const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1 to 17: 3^(i-1) mod 31.
const WEIGHTS: [u32; LENGTH - 1] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Modulus of the check character computation: the size of [`ALPHABET`].
const MODULUS: u32 = 31;

/// Positions (1-based) of the region code.
const REGION_POSITIONS: std::ops::RangeInclusive<usize> = 3..=8;

/// Why a string is not a unified social credit code. Positions count from 1, as the standard does.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UsccError {
    /// The code does not have [`LENGTH`] characters.
    #[error("a unified social credit code has {expected} characters, found {found}")]
    WrongLength {
        /// Always [`LENGTH`].
        expected: usize,
        /// Number of characters in the input.
        found: usize,
    },
    /// A character at positions 1-17 is not in [`ALPHABET`] (this includes lower-case letters).
    /// [`Uscc::parse_legacy`] reports position 18 here too; [`Uscc`] itself reports a stray
    /// character there as [`UsccError::CheckCharacter`].
    #[error(
        "character {character:?} at position {position} is not in the unified social credit code \
         alphabet (digits and upper-case letters except I, O, S, V, Z)"
    )]
    InvalidCharacter {
        /// 1-based position of the character.
        position: usize,
        /// The offending character.
        character: char,
    },
    /// Position 1 is not a registration authority GB 32100 defines.
    #[error("{code:?} at position 1 is not a registration authority defined by GB 32100")]
    UnknownRegistrationAuthority {
        /// The character at position 1.
        code: char,
    },
    /// Position 2 is not a category the standard defines for the authority at position 1.
    #[error("{category:?} at position 2 is not a category of registration authority {authority:?}")]
    UnknownCategory {
        /// The character at position 1.
        authority: char,
        /// The character at position 2.
        category: char,
    },
    /// The region code (positions 3-8) holds a character that is not a digit.
    #[error(
        "the region code at positions 3-8 holds {character:?} at position {position}, not a digit"
    )]
    RegionNotNumeric {
        /// 1-based position of the character.
        position: usize,
        /// The offending character.
        character: char,
    },
    /// The check character (position 18) does not match the first 17 characters. `found` may be
    /// outside [`ALPHABET`]: at position 18 only the one right character is valid.
    #[error("the check character is {found:?}, the first 17 characters give {expected:?}")]
    CheckCharacter {
        /// The check character the first 17 characters give.
        expected: char,
        /// The check character in the input.
        found: char,
    },
}

/// The registration authority of a code (position 1, 登记管理部门代码), as GB 32100-2015 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegistrationAuthority {
    /// `1`, 机构编制: institutional organisation (staffing) registry.
    InstitutionalOrganisation,
    /// `2`, 外交: foreign affairs.
    ForeignAffairs,
    /// `3`, 司法行政: judicial administration.
    JudicialAdministration,
    /// `4`, 文化: culture.
    Culture,
    /// `5`, 民政: civil affairs.
    CivilAffairs,
    /// `6`, 旅游: tourism.
    Tourism,
    /// `7`, 宗教: religious affairs.
    ReligiousAffairs,
    /// `8`, 工会: trade unions.
    TradeUnion,
    /// `9`, 工商: industry and commerce, today market regulation (SAMR). Most enterprises.
    MarketRegulation,
    /// `A`, 中央军委改革和编制办公室: the Central Military Commission's reform and staffing office.
    MilitaryStaffing,
    /// `N`, 农业: agriculture (rural collective economic organisations).
    Agriculture,
    /// `Y`, 其他: other registration authorities.
    Other,
}

impl RegistrationAuthority {
    /// Every authority, in the order of the standard's table.
    pub const ALL: [RegistrationAuthority; 12] = [
        Self::InstitutionalOrganisation,
        Self::ForeignAffairs,
        Self::JudicialAdministration,
        Self::Culture,
        Self::CivilAffairs,
        Self::Tourism,
        Self::ReligiousAffairs,
        Self::TradeUnion,
        Self::MarketRegulation,
        Self::MilitaryStaffing,
        Self::Agriculture,
        Self::Other,
    ];

    /// The authority whose code is `code`, if GB 32100 defines one.
    pub fn from_code(code: char) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|authority| authority.code() == code)
    }

    /// The character at position 1 of codes this authority issues.
    pub fn code(self) -> char {
        match self {
            Self::InstitutionalOrganisation => '1',
            Self::ForeignAffairs => '2',
            Self::JudicialAdministration => '3',
            Self::Culture => '4',
            Self::CivilAffairs => '5',
            Self::Tourism => '6',
            Self::ReligiousAffairs => '7',
            Self::TradeUnion => '8',
            Self::MarketRegulation => '9',
            Self::MilitaryStaffing => 'A',
            Self::Agriculture => 'N',
            Self::Other => 'Y',
        }
    }

    /// The authority's name as the standard writes it.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::InstitutionalOrganisation => "机构编制",
            Self::ForeignAffairs => "外交",
            Self::JudicialAdministration => "司法行政",
            Self::Culture => "文化",
            Self::CivilAffairs => "民政",
            Self::Tourism => "旅游",
            Self::ReligiousAffairs => "宗教",
            Self::TradeUnion => "工会",
            Self::MarketRegulation => "工商",
            Self::MilitaryStaffing => "中央军委改革和编制办公室",
            Self::Agriculture => "农业",
            Self::Other => "其他",
        }
    }

    /// The categories the standard defines for this authority.
    pub fn categories(self) -> impl Iterator<Item = Category> {
        CATEGORIES
            .iter()
            .filter(move |row| row.0 == self)
            .map(|&(authority, code, _, _)| Category { authority, code })
    }
}

/// The entity category of a code (position 2, 机构类别代码), read together with its authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category {
    authority: RegistrationAuthority,
    code: char,
}

/// The category table of GB 32100-2015: authority, category character, Chinese and English names.
///
/// Independent transcriptions of the standard agree on it. Authority `9` has only categories 1 to
/// 3 (no "other"); authority `Y` does not subdivide and uses `1` throughout.
const CATEGORIES: [(RegistrationAuthority, char, &str, &str); 36] = {
    use RegistrationAuthority as A;
    [
        (
            A::InstitutionalOrganisation,
            '1',
            "机关",
            "government organ",
        ),
        (
            A::InstitutionalOrganisation,
            '2',
            "事业单位",
            "public institution",
        ),
        (
            A::InstitutionalOrganisation,
            '3',
            "中央编办直接管理机构编制的群众团体",
            "mass organisation staffed directly by the central staffing office",
        ),
        (A::InstitutionalOrganisation, '9', "其他", "other"),
        (
            A::ForeignAffairs,
            '1',
            "外国常驻新闻机构",
            "resident foreign news agency",
        ),
        (A::ForeignAffairs, '9', "其他", "other"),
        (A::JudicialAdministration, '1', "律师执业机构", "law firm"),
        (A::JudicialAdministration, '2', "公证处", "notary office"),
        (
            A::JudicialAdministration,
            '3',
            "基层法律服务所",
            "grassroots legal service office",
        ),
        (
            A::JudicialAdministration,
            '4',
            "司法鉴定机构",
            "forensic appraisal institution",
        ),
        (
            A::JudicialAdministration,
            '5',
            "仲裁委员会",
            "arbitration commission",
        ),
        (A::JudicialAdministration, '9', "其他", "other"),
        (
            A::Culture,
            '1',
            "外国在华文化中心",
            "foreign cultural centre in China",
        ),
        (A::Culture, '9', "其他", "other"),
        (A::CivilAffairs, '1', "社会团体", "social organisation"),
        (
            A::CivilAffairs,
            '2',
            "民办非企业单位",
            "private non-enterprise unit",
        ),
        (A::CivilAffairs, '3', "基金会", "foundation"),
        (A::CivilAffairs, '9', "其他", "other"),
        (
            A::Tourism,
            '1',
            "外国旅游部门常驻代表机构",
            "representative office of a foreign tourism authority",
        ),
        (
            A::Tourism,
            '2',
            "港澳台地区旅游部门常驻内地（大陆）代表机构",
            "representative office of a Hong Kong, Macao or Taiwan tourism authority",
        ),
        (A::Tourism, '9', "其他", "other"),
        (
            A::ReligiousAffairs,
            '1',
            "宗教活动场所",
            "place of religious activity",
        ),
        (A::ReligiousAffairs, '2', "宗教院校", "religious school"),
        (A::ReligiousAffairs, '9', "其他", "other"),
        (A::TradeUnion, '1', "基层工会", "grassroots trade union"),
        (A::TradeUnion, '9', "其他", "other"),
        (A::MarketRegulation, '1', "企业", "enterprise"),
        (
            A::MarketRegulation,
            '2',
            "个体工商户",
            "individual business",
        ),
        (
            A::MarketRegulation,
            '3',
            "农民专业合作社",
            "farmers' specialised cooperative",
        ),
        (
            A::MilitaryStaffing,
            '1',
            "军队事业单位",
            "military public institution",
        ),
        (A::MilitaryStaffing, '9', "其他", "other"),
        (
            A::Agriculture,
            '1',
            "组级集体经济组织",
            "group-level collective economic organisation",
        ),
        (
            A::Agriculture,
            '2',
            "村级集体经济组织",
            "village-level collective economic organisation",
        ),
        (
            A::Agriculture,
            '3',
            "乡镇级集体经济组织",
            "township-level collective economic organisation",
        ),
        (A::Agriculture, '9', "其他", "other"),
        (A::Other, '1', "其他", "other"),
    ]
};

impl Category {
    /// The category `code` of `authority`, if the standard defines it.
    pub fn new(authority: RegistrationAuthority, code: char) -> Option<Self> {
        category_row(authority, code).map(|_| Self { authority, code })
    }

    /// The authority the category belongs to.
    pub fn authority(self) -> RegistrationAuthority {
        self.authority
    }

    /// The character at position 2.
    pub fn code(self) -> char {
        self.code
    }

    /// The category's name as the standard writes it.
    pub fn name_zh(self) -> &'static str {
        category_row(self.authority, self.code).map_or("", |row| row.2)
    }

    /// An English rendering of the category's name.
    pub fn name_en(self) -> &'static str {
        category_row(self.authority, self.code).map_or("", |row| row.3)
    }
}

fn category_row(
    authority: RegistrationAuthority,
    code: char,
) -> Option<&'static (RegistrationAuthority, char, &'static str, &'static str)> {
    CATEGORIES
        .iter()
        .find(|row| row.0 == authority && row.1 == code)
}

/// Returns the check character for `data`, the first 17 characters of a code.
///
/// Each character's value is its index in [`ALPHABET`]; the weighted sum with weights 3^(i-1)
/// mod 31 gives the check value (31 - sum mod 31) mod 31, written back through the alphabet.
/// Returns `None` unless `data` is exactly 17 characters of the alphabet.
pub fn check_character(data: &str) -> Option<char> {
    if data.len() != LENGTH - 1 {
        return None;
    }
    let mut sum: u32 = 0;
    for (byte, weight) in data.bytes().zip(WEIGHTS) {
        sum += weight * value_of(char::from(byte))?;
    }
    alphabet_char((MODULUS - sum % MODULUS) % MODULUS)
}

/// The value of `character`: its index in [`ALPHABET`].
fn value_of(character: char) -> Option<u32> {
    let index = ALPHABET.find(character)?;
    u32::try_from(index).ok()
}

/// The character of the alphabet whose value is `value`.
fn alphabet_char(value: u32) -> Option<char> {
    let index = usize::try_from(value).ok()?;
    ALPHABET.as_bytes().get(index).map(|&byte| char::from(byte))
}

/// A unified social credit code whose check character is correct: fit for new registrations.
///
/// Built only by [`FromStr`] (or [`Uscc::parse_normalising`], or deserialising the string).
///
/// ```
/// use suyuan_ledger::codes::uscc::{RegistrationAuthority, Uscc};
///
/// let code: Uscc = "91350100M000100Y43".parse()?;
/// assert_eq!(code.registration_authority(), RegistrationAuthority::MarketRegulation);
/// assert_eq!(code.category().name_en(), "enterprise");
/// assert_eq!(code.region_code(), "350100");
/// assert_eq!(code.organisation_code(), "M000100Y4");
/// # Ok::<(), suyuan_ledger::codes::uscc::UsccError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uscc {
    code: String,
    category: Category,
}

impl Uscc {
    /// Parses `input` after upper-casing its ASCII letters, for callers that accept lower case.
    pub fn parse_normalising(input: &str) -> Result<Self, UsccError> {
        // Upper-casing keeps the byte length; anything not 18 bytes fails unchanged, unallocated.
        if input.len() != LENGTH {
            return input.parse();
        }
        input.to_ascii_uppercase().parse()
    }

    /// Parses a code from legacy data, accepting a check character that does not match.
    ///
    /// Every other rule of [`Uscc`] still applies, and the check character must still be in
    /// [`ALPHABET`]. Use it only to import records that predate the
    /// ledger, never for new registrations; [`LegacyUscc::check_mismatch`] says whether the code
    /// needs the warning.
    pub fn parse_legacy(input: &str) -> Result<LegacyUscc, UsccError> {
        let structure = parse_structure(input)?;
        if value_of(structure.found_check).is_none() {
            return Err(UsccError::InvalidCharacter {
                position: LENGTH,
                character: structure.found_check,
            });
        }
        let check_mismatch =
            (structure.expected_check != structure.found_check).then_some(CheckMismatch {
                expected: structure.expected_check,
                found: structure.found_check,
            });
        Ok(LegacyUscc {
            code: input.to_owned(),
            category: structure.category,
            check_mismatch,
        })
    }

    /// The code as its 18 characters.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// The registration authority (position 1).
    pub fn registration_authority(&self) -> RegistrationAuthority {
        self.category.authority
    }

    /// The entity category (position 2).
    pub fn category(&self) -> Category {
        self.category
    }

    /// The six-digit region code of the registering office (positions 3-8).
    pub fn region_code(&self) -> &str {
        region_code(&self.code)
    }

    /// The nine-character organisation code (positions 9-17).
    pub fn organisation_code(&self) -> &str {
        organisation_code(&self.code)
    }
}

/// A check character that does not match the rest of a legacy code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckMismatch {
    /// The check character the first 17 characters give.
    pub expected: char,
    /// The check character the code carries.
    pub found: char,
}

/// A structurally valid code from legacy data whose check character may be wrong.
///
/// Made by [`Uscc::parse_legacy`]. It is deliberately not a [`Uscc`]: registrations take a
/// [`Uscc`], so a code with a failing check can be imported and displayed but not registered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LegacyUscc {
    code: String,
    category: Category,
    check_mismatch: Option<CheckMismatch>,
}

impl LegacyUscc {
    /// The warning to carry with the code: `Some` when its check character does not match.
    pub fn check_mismatch(&self) -> Option<CheckMismatch> {
        self.check_mismatch
    }

    /// The code as a [`Uscc`], when its check character is in fact correct.
    pub fn to_uscc(&self) -> Option<Uscc> {
        self.check_mismatch.is_none().then(|| Uscc {
            code: self.code.clone(),
            category: self.category,
        })
    }

    /// The code as its 18 characters.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// The registration authority (position 1).
    pub fn registration_authority(&self) -> RegistrationAuthority {
        self.category.authority
    }

    /// The entity category (position 2).
    pub fn category(&self) -> Category {
        self.category
    }

    /// The six-digit region code of the registering office (positions 3-8).
    pub fn region_code(&self) -> &str {
        region_code(&self.code)
    }

    /// The nine-character organisation code (positions 9-17).
    pub fn organisation_code(&self) -> &str {
        organisation_code(&self.code)
    }
}

fn region_code(code: &str) -> &str {
    code.get(2..8).unwrap_or_default()
}

fn organisation_code(code: &str) -> &str {
    code.get(8..17).unwrap_or_default()
}

/// What [`parse_structure`] learns from a code that satisfies every rule but the check.
struct Structure {
    category: Category,
    expected_check: char,
    found_check: char,
}

/// Checks every rule of the standard except that the check character matches.
///
/// Positions 1-17 must be in the alphabet; position 18 is judged against the check alone, so a
/// character there that is not even in the alphabet is reported as the wrong check character.
fn parse_structure(input: &str) -> Result<Structure, UsccError> {
    let found = input.chars().count();
    let wrong_length = UsccError::WrongLength {
        expected: LENGTH,
        found,
    };
    if found != LENGTH {
        return Err(wrong_length);
    }
    let mut characters = input.chars();
    let mut data = ['0'; LENGTH - 1];
    for (index, (slot, character)) in data.iter_mut().zip(characters.by_ref()).enumerate() {
        if value_of(character).is_none() {
            return Err(UsccError::InvalidCharacter {
                position: index + 1,
                character,
            });
        }
        *slot = character;
    }
    let found_check = characters.next().ok_or(wrong_length.clone())?;
    let [authority_code, category_code, ..] = data;
    let authority = RegistrationAuthority::from_code(authority_code).ok_or(
        UsccError::UnknownRegistrationAuthority {
            code: authority_code,
        },
    )?;
    let category = Category::new(authority, category_code).ok_or(UsccError::UnknownCategory {
        authority: authority_code,
        category: category_code,
    })?;
    for position in REGION_POSITIONS {
        match data.get(position - 1) {
            Some(&character) if !character.is_ascii_digit() => {
                return Err(UsccError::RegionNotNumeric {
                    position,
                    character,
                });
            }
            _ => {}
        }
    }
    // Positions 1-17 are ASCII, so the first 17 bytes are exactly those characters.
    let expected_check = input
        .get(..LENGTH - 1)
        .and_then(check_character)
        .ok_or(wrong_length)?;
    Ok(Structure {
        category,
        expected_check,
        found_check,
    })
}

impl FromStr for Uscc {
    type Err = UsccError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let structure = parse_structure(input)?;
        if structure.expected_check != structure.found_check {
            return Err(UsccError::CheckCharacter {
                expected: structure.expected_check,
                found: structure.found_check,
            });
        }
        Ok(Self {
            code: input.to_owned(),
            category: structure.category,
        })
    }
}

impl TryFrom<String> for Uscc {
    type Error = UsccError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Uscc> for String {
    fn from(value: Uscc) -> Self {
        value.code
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

impl TryFrom<String> for LegacyUscc {
    type Error = UsccError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Uscc::parse_legacy(&value)
    }
}

impl From<LegacyUscc> for String {
    fn from(value: LegacyUscc) -> Self {
        value.code
    }
}

impl fmt::Display for LegacyUscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

crate::string_schema!(
    Uscc,
    "Uscc",
    "a unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters of digits and \
     upper-case letters without I, O, S, V and Z, the last a check character",
    "pattern": "^[0-9A-HJ-NP-RTUWXY]{18}$",
    "examples": ["91350100M000100Y43"],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_powers_of_three_mod_31() {
        let mut weight = 1;
        for expected in WEIGHTS {
            assert_eq!(weight, expected);
            weight = weight * 3 % MODULUS;
        }
    }

    #[test]
    fn every_authority_has_a_category_and_round_trips_its_code() {
        for authority in RegistrationAuthority::ALL {
            assert_eq!(
                RegistrationAuthority::from_code(authority.code()),
                Some(authority)
            );
            assert!(authority.categories().next().is_some(), "{authority:?}");
        }
        assert_eq!(RegistrationAuthority::from_code('B'), None);
    }

    #[test]
    fn market_regulation_has_no_category_nine() {
        let error = "99350100M000100Y43".parse::<Uscc>().unwrap_err();
        assert_eq!(
            error,
            UsccError::UnknownCategory {
                authority: '9',
                category: '9'
            }
        );
    }

    #[test]
    fn unknown_authority_is_rejected() {
        let error = "B1350100M000100Y43".parse::<Uscc>().unwrap_err();
        assert_eq!(error, UsccError::UnknownRegistrationAuthority { code: 'B' });
    }

    #[test]
    fn letters_in_the_region_are_rejected() {
        let error = "913501A0M000100Y43".parse::<Uscc>().unwrap_err();
        assert_eq!(
            error,
            UsccError::RegionNotNumeric {
                position: 7,
                character: 'A'
            }
        );
    }

    #[test]
    fn multibyte_input_reports_the_character_not_a_length() {
        let error = "91350100M000100Y中3".parse::<Uscc>().unwrap_err();
        assert_eq!(
            error,
            UsccError::InvalidCharacter {
                position: 17,
                character: '中'
            }
        );
    }

    #[test]
    fn normalising_upper_cases_only_on_request() {
        let code = Uscc::parse_normalising("91350100m000100y43").unwrap();
        assert_eq!(code.as_str(), "91350100M000100Y43");
        assert!(Uscc::parse_normalising("9135").is_err());
    }

    #[test]
    fn legacy_accepts_a_failing_check_with_a_warning() {
        let legacy = Uscc::parse_legacy("91350100M000100Y4Y").unwrap();
        assert_eq!(
            legacy.check_mismatch(),
            Some(CheckMismatch {
                expected: '3',
                found: 'Y'
            })
        );
        assert_eq!(legacy.to_uscc(), None);
        let clean = Uscc::parse_legacy("91350100M000100Y43").unwrap();
        assert_eq!(clean.check_mismatch(), None);
        assert_eq!(clean.to_uscc(), Some("91350100M000100Y43".parse().unwrap()));
        assert!(Uscc::parse_legacy("9111000060003IOZSV").is_err());
        assert_eq!(
            Uscc::parse_legacy("91350100M000100Y4z"),
            Err(UsccError::InvalidCharacter {
                position: 18,
                character: 'z'
            })
        );
    }

    #[test]
    fn serde_goes_through_the_parser() {
        let code: Uscc = serde_json::from_str("\"91110000600037341L\"").unwrap();
        assert_eq!(
            serde_json::to_string(&code).unwrap(),
            "\"91110000600037341L\""
        );
        assert!(serde_json::from_str::<Uscc>("\"91110000600037341N\"").is_err());
    }
}
