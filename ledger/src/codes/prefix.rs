//! Identifier prefixes: the leading part of a code that names the enterprise which issued it.
//!
//! A code is only as trustworthy as the claim that its issuer may issue it. GS1 licenses each
//! member a company prefix; the industrial-internet registry gives each enterprise a Handle
//! prefix under the national root; the Ecode registry gives each registrant a code block. Suyuan
//! records which enrolled enterprise holds which prefix, as attested by its registrar, and lets
//! an enterprise register or commission only codes under a prefix it holds.
//!
//! An [`IdPrefix`] has one canonical text form, tagged by scheme:
//!
//! - `gs1:{digits}`: a GS1 company prefix of [`GS1_MIN_DIGITS`] to [`GS1_MAX_DIGITS`] digits.
//!   A GTIN lies under it when the GTIN's 13 digits after the indicator digit begin with it (a
//!   U.P.C. company prefix is written with its leading `0`, as GS1 does; a GTIN-8 is held through
//!   a 12-digit prefix of its zero-padded form); an SSCC, when its 17 digits after the extension
//!   digit do; a GLN, when its 13 digits do.
//! - `handle:{groups}`: an industrial-internet enterprise prefix of at least
//!   [`HANDLE_MIN_GROUPS`] dot-separated digit groups (root, industry, enterprise), such as
//!   `88.608.24161301`. An identifier lies under it when its own prefix equals it or continues
//!   it with further groups (`88.608.24161301.7`).
//! - `ecode:{digits}`: the leading [`ECODE_MIN_DIGITS`] to [`ECODE_MAX_DIGITS`] digits of
//!   Ecode-V1 codes (version, numbering-system identifier and the registrant's block of master
//!   data). An Ecode lies under it when it begins with it and is longer.
//! - `ecode:MA.{country}.{class}.{unit}[.…]`: the main code of a unit registered under the
//!   issuing agency `MA` (at least [`ecode::MA_HEAD_SEGMENTS`] dot-separated segments), such as
//!   `ecode:MA.156.M0.100204`. An `MA.` code lies under it when it continues it with further
//!   segments, whole segments only.
//!
//! Two prefixes of one scheme *overlap* when one lies under the other; the ledger lets only one
//! enterprise hold a prefix and everything that overlaps it, so that every code has at most one
//! rightful issuer.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::codes::ecode::{self, Ecode};
use crate::codes::gs1::keys::{Gln, Gtin, Sscc};
use crate::codes::handle::HandleId;

/// Fewest digits of a GS1 company prefix.
pub const GS1_MIN_DIGITS: usize = 4;

/// Most digits of a GS1 company prefix (a one-off GTIN-13 key without its check digit).
pub const GS1_MAX_DIGITS: usize = 12;

/// Fewest dot-separated groups of a Handle enterprise prefix: root, industry, enterprise.
pub const HANDLE_MIN_GROUPS: usize = 3;

/// Most bytes of a Handle prefix.
pub const HANDLE_MAX_BYTES: usize = 64;

/// Fewest digits of an Ecode registrant prefix: version, the four-digit NSI, one master data
/// digit.
pub const ECODE_MIN_DIGITS: usize = ecode::V1_MIN_LENGTH;

/// Most digits of an Ecode registrant prefix: one fewer than the longest Ecode, so that a code
/// remains to be issued under it.
pub const ECODE_MAX_DIGITS: usize = ecode::V1_MAX_LENGTH - 1;

/// The schemes prefixes are held in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrefixScheme {
    /// GS1 company prefixes (GTIN, SSCC, GLN).
    Gs1,
    /// Industrial-internet (Handle) enterprise prefixes.
    Handle,
    /// Ecode registrant prefixes.
    Ecode,
}

impl PrefixScheme {
    /// The tag of the text form.
    pub fn tag(self) -> &'static str {
        match self {
            PrefixScheme::Gs1 => "gs1",
            PrefixScheme::Handle => "handle",
            PrefixScheme::Ecode => "ecode",
        }
    }
}

/// Why a string is not an [`IdPrefix`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrefixError {
    /// No known scheme tag.
    #[error(
        "not an identifier prefix: expected gs1:{{digits}}, handle:{{groups}}, ecode:{{digits}} or ecode:MA.{{country}}.{{class}}.{{unit}}"
    )]
    UnknownScheme,
    /// The digits of a GS1 or Ecode prefix are wrong in number or kind.
    #[error("a {scheme} prefix has {min} to {max} digits and nothing else, found {found:?}")]
    Digits {
        /// The scheme's tag.
        scheme: &'static str,
        /// Fewest digits.
        min: usize,
        /// Most digits.
        max: usize,
        /// The value given.
        found: String,
    },
    /// An Ecode prefix that no Ecode-V1 could begin with.
    #[error("an Ecode prefix starts with version digit 1, found {found:?}")]
    EcodeVersion {
        /// The value given.
        found: String,
    },
    /// An `MA.` unit main code that is malformed.
    #[error("invalid MA. unit main code: {0}")]
    MaUnit(ecode::EcodeError),
    /// A Handle prefix with too few groups, an empty or non-digit group, or too long.
    #[error(
        "a Handle enterprise prefix is at least {HANDLE_MIN_GROUPS} dot-separated groups of digits, at most {HANDLE_MAX_BYTES} bytes, found {found:?}"
    )]
    Handle {
        /// The value given.
        found: String,
    },
}

/// An identifier prefix in one scheme, always valid and canonical (see the module docs).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdPrefix {
    scheme: PrefixScheme,
    value: String,
}

impl IdPrefix {
    /// The scheme.
    pub fn scheme(&self) -> PrefixScheme {
        self.scheme
    }

    /// The prefix without its scheme tag.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// A GS1 company prefix.
    pub fn gs1(digits: &str) -> Result<IdPrefix, PrefixError> {
        check_digits(PrefixScheme::Gs1, digits, GS1_MIN_DIGITS, GS1_MAX_DIGITS)?;
        Ok(IdPrefix::trusted(PrefixScheme::Gs1, digits))
    }

    /// A Handle enterprise prefix.
    pub fn handle(groups: &str) -> Result<IdPrefix, PrefixError> {
        let count = groups.split('.').count();
        let well_formed = groups.len() <= HANDLE_MAX_BYTES
            && count >= HANDLE_MIN_GROUPS
            && groups
                .split('.')
                .all(|group| !group.is_empty() && group.bytes().all(|b| b.is_ascii_digit()));
        if !well_formed {
            return Err(PrefixError::Handle {
                found: groups.to_owned(),
            });
        }
        Ok(IdPrefix::trusted(PrefixScheme::Handle, groups))
    }

    /// An Ecode registrant prefix: the leading digits of Ecode-V1 codes, or an `MA.` unit main
    /// code.
    pub fn ecode(digits: &str) -> Result<IdPrefix, PrefixError> {
        if is_ma(digits) {
            ecode::check_ma(digits, true).map_err(PrefixError::MaUnit)?;
            return Ok(IdPrefix::trusted(PrefixScheme::Ecode, digits));
        }
        check_digits(
            PrefixScheme::Ecode,
            digits,
            ECODE_MIN_DIGITS,
            ECODE_MAX_DIGITS,
        )?;
        if !digits.starts_with('1') {
            return Err(PrefixError::EcodeVersion {
                found: digits.to_owned(),
            });
        }
        Ok(IdPrefix::trusted(PrefixScheme::Ecode, digits))
    }

    fn trusted(scheme: PrefixScheme, value: &str) -> IdPrefix {
        IdPrefix {
            scheme,
            value: value.to_owned(),
        }
    }

    /// The shorter prefixes of the same scheme this one lies under, shortest first: a holder of
    /// any of them would hold this one too.
    pub fn ancestors(&self) -> Vec<IdPrefix> {
        match self.scheme {
            PrefixScheme::Gs1 => digit_prefixes(&self.value, GS1_MIN_DIGITS, self.value.len() - 1)
                .map(|value| IdPrefix::trusted(PrefixScheme::Gs1, value))
                .collect(),
            PrefixScheme::Ecode if is_ma(&self.value) => {
                segment_prefixes(&self.value, ecode::MA_HEAD_SEGMENTS)
                    .filter(|value| value.len() < self.value.len())
                    .map(|value| IdPrefix::trusted(PrefixScheme::Ecode, value))
                    .collect()
            }
            PrefixScheme::Ecode => {
                digit_prefixes(&self.value, ECODE_MIN_DIGITS, self.value.len() - 1)
                    .map(|value| IdPrefix::trusted(PrefixScheme::Ecode, value))
                    .collect()
            }
            PrefixScheme::Handle => segment_prefixes(&self.value, HANDLE_MIN_GROUPS)
                .filter(|value| value.len() < self.value.len())
                .map(|value| IdPrefix::trusted(PrefixScheme::Handle, value))
                .collect(),
        }
    }

    /// Whether `other` is this prefix or lies under it.
    pub fn covers(&self, other: &IdPrefix) -> bool {
        self.scheme == other.scheme
            && match self.scheme {
                PrefixScheme::Ecode if is_ma(&self.value) => {
                    segments_under(&other.value, &self.value)
                }
                PrefixScheme::Gs1 | PrefixScheme::Ecode => other.value.starts_with(&self.value),
                PrefixScheme::Handle => segments_under(&other.value, &self.value),
            }
    }

    /// Whether a GTIN lies under this prefix.
    pub fn covers_gtin(&self, gtin: &Gtin) -> bool {
        self.scheme == PrefixScheme::Gs1 && gtin_body(gtin).starts_with(&self.value)
    }

    /// Whether an SSCC lies under this prefix.
    pub fn covers_sscc(&self, sscc: &Sscc) -> bool {
        self.scheme == PrefixScheme::Gs1 && sscc_body(sscc).starts_with(&self.value)
    }

    /// Whether a GLN lies under this prefix.
    pub fn covers_gln(&self, gln: &Gln) -> bool {
        self.scheme == PrefixScheme::Gs1 && gln.as_str().starts_with(&self.value)
    }

    /// Whether an Ecode lies under this prefix.
    pub fn covers_ecode(&self, code: &Ecode) -> bool {
        let code = code.as_str();
        self.scheme == PrefixScheme::Ecode
            && code.len() > self.value.len()
            && if is_ma(&self.value) {
                segments_under(code, &self.value)
            } else {
                code.starts_with(&self.value)
            }
    }

    /// Whether an industrial-internet identifier lies under this prefix.
    pub fn covers_handle(&self, id: &HandleId) -> bool {
        self.scheme == PrefixScheme::Handle && segments_under(id.prefix(), &self.value)
    }

    /// The longest GS1 prefix a GTIN lies under: its 12 digits between indicator and check
    /// digit, as held for a single GTIN licensed on its own (a GS1 "one-off" key).
    pub fn for_single_gtin(gtin: &Gtin) -> IdPrefix {
        let body = gtin_body(gtin);
        IdPrefix::trusted(
            PrefixScheme::Gs1,
            body.get(..GS1_MAX_DIGITS).unwrap_or(body),
        )
    }

    /// Every prefix a GTIN could lie under, shortest first.
    pub fn candidates_for_gtin(gtin: &Gtin) -> Vec<IdPrefix> {
        let body = gtin_body(gtin);
        digit_prefixes(body, GS1_MIN_DIGITS, GS1_MAX_DIGITS)
            .map(|value| IdPrefix::trusted(PrefixScheme::Gs1, value))
            .collect()
    }

    /// Every prefix an SSCC could lie under, shortest first.
    pub fn candidates_for_sscc(sscc: &Sscc) -> Vec<IdPrefix> {
        digit_prefixes(sscc_body(sscc), GS1_MIN_DIGITS, GS1_MAX_DIGITS)
            .map(|value| IdPrefix::trusted(PrefixScheme::Gs1, value))
            .collect()
    }

    /// Every prefix an Ecode could lie under, shortest first.
    pub fn candidates_for_ecode(code: &Ecode) -> Vec<IdPrefix> {
        let value = code.as_str();
        if is_ma(value) {
            return segment_prefixes(value, ecode::MA_HEAD_SEGMENTS)
                .filter(|prefix| prefix.len() < value.len())
                .map(|prefix| IdPrefix::trusted(PrefixScheme::Ecode, prefix))
                .collect();
        }
        digit_prefixes(value, ECODE_MIN_DIGITS, value.len().saturating_sub(1))
            .map(|value| IdPrefix::trusted(PrefixScheme::Ecode, value))
            .collect()
    }

    /// Every prefix an industrial-internet identifier could lie under, shortest first.
    pub fn candidates_for_handle(id: &HandleId) -> Vec<IdPrefix> {
        segment_prefixes(id.prefix(), HANDLE_MIN_GROUPS)
            .filter(|value| value.len() <= HANDLE_MAX_BYTES)
            .map(|value| IdPrefix::trusted(PrefixScheme::Handle, value))
            .collect()
    }
}

/// A GTIN's digits after its indicator digit.
fn gtin_body(gtin: &Gtin) -> &str {
    gtin.as_str().get(1..).unwrap_or_default()
}

/// An SSCC's digits after its extension digit.
fn sscc_body(sscc: &Sscc) -> &str {
    sscc.as_str().get(1..).unwrap_or_default()
}

/// The leading `min..=max` characters of an ASCII-digit string, shortest first.
fn digit_prefixes(value: &str, min: usize, max: usize) -> impl Iterator<Item = &str> {
    (min..=max.min(value.len())).filter_map(move |end| value.get(..end))
}

/// The leading runs of at least `min` dot-separated segments of `prefix`, shortest first, ending
/// with `prefix` itself.
fn segment_prefixes(prefix: &str, min: usize) -> impl Iterator<Item = &str> {
    let ends = prefix
        .match_indices('.')
        .map(|(at, _)| at)
        .chain(std::iter::once(prefix.len()));
    ends.enumerate()
        .filter(move |(index, _)| index + 1 >= min)
        .filter_map(move |(_, end)| prefix.get(..end))
}

/// Whether the dot-separated `prefix` equals `held` or continues it with more segments.
fn segments_under(prefix: &str, held: &str) -> bool {
    prefix == held
        || prefix
            .strip_prefix(held)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// Whether an Ecode prefix or code is of the dotted `MA.` form.
fn is_ma(value: &str) -> bool {
    value.starts_with(ecode::MA_AGENCY)
}

fn check_digits(
    scheme: PrefixScheme,
    digits: &str,
    min: usize,
    max: usize,
) -> Result<(), PrefixError> {
    if (min..=max).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(PrefixError::Digits {
            scheme: scheme.tag(),
            min,
            max,
            found: digits.to_owned(),
        })
    }
}

impl FromStr for IdPrefix {
    type Err = PrefixError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (tag, value) = input.split_once(':').ok_or(PrefixError::UnknownScheme)?;
        match tag {
            "gs1" => IdPrefix::gs1(value),
            "handle" => IdPrefix::handle(value),
            "ecode" => IdPrefix::ecode(value),
            _ => Err(PrefixError::UnknownScheme),
        }
    }
}

impl TryFrom<String> for IdPrefix {
    type Error = PrefixError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<IdPrefix> for String {
    fn from(value: IdPrefix) -> Self {
        value.to_string()
    }
}

impl fmt::Display for IdPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.scheme.tag(), self.value)
    }
}

impl fmt::Debug for IdPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdPrefix({self})")
    }
}

crate::string_schema!(
    IdPrefix,
    "IdPrefix",
    "an identifier prefix, tagged by scheme: gs1:{company prefix digits}, \
     handle:{enterprise prefix} or ecode:{code block}",
    "pattern": "^(gs1|handle|ecode):.+$",
    "examples": ["gs1:6901234", "handle:88.608.24161301"],
);

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(text: &str) -> IdPrefix {
        text.parse().unwrap()
    }

    #[test]
    fn text_forms_round_trip_and_bad_ones_are_refused() {
        for good in [
            "gs1:6950123",
            "handle:88.608.24161301",
            "ecode:100012345",
            "ecode:MA.156.M0.100204",
            "ecode:MA.156.M0.100204.7",
        ] {
            assert_eq!(prefix(good).to_string(), good);
        }
        for bad in [
            "6950123",
            "gs2:6950123",
            "gs1:695",
            "gs1:6950123456789",
            "gs1:69501a3",
            "handle:88.608",
            "handle:88..608",
            "handle:88.608.x1",
            "ecode:10001",
            "ecode:200012345",
            "ecode:1000123456789012345678901",
            "ecode:MA.156.M0",
            "ecode:ma.156.M0.100204",
            "ecode:MA.156.M0.1002_4",
        ] {
            assert!(bad.parse::<IdPrefix>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_gtin_lies_under_its_company_prefix_after_the_indicator_digit() {
        let gtin = crate::demo::gtin("0695012345001");
        assert!(prefix("gs1:6950123").covers_gtin(&gtin));
        assert!(!prefix("gs1:0695012").covers_gtin(&gtin));
        assert!(!prefix("ecode:1695012").covers_gtin(&gtin));
        let candidates = IdPrefix::candidates_for_gtin(&gtin);
        assert_eq!(candidates.first(), Some(&prefix("gs1:6950")));
        assert_eq!(candidates.last(), Some(&prefix("gs1:695012345001")));
        assert!(candidates.iter().all(|c| c.covers_gtin(&gtin)));
    }

    #[test]
    fn handle_prefixes_cover_whole_groups_only() {
        let held = prefix("handle:88.608.2416");
        let id: HandleId = "88.608.2416.7/SN-1".parse().unwrap();
        let other: HandleId = "88.608.24161/SN-1".parse().unwrap();
        assert!(held.covers_handle(&id));
        assert!(!held.covers_handle(&other));
        assert_eq!(
            IdPrefix::candidates_for_handle(&id),
            vec![prefix("handle:88.608.2416"), prefix("handle:88.608.2416.7")]
        );
        assert_eq!(
            prefix("handle:88.608.2416.7").ancestors(),
            vec![prefix("handle:88.608.2416")]
        );
        assert!(held.covers(&prefix("handle:88.608.2416.7")));
        assert!(!held.covers(&prefix("handle:88.608.24161")));
    }

    #[test]
    fn an_ecode_prefix_leaves_room_for_a_code() {
        let held = prefix("ecode:100012345");
        let code: Ecode = "1000123456789".parse().unwrap();
        assert!(held.covers_ecode(&code));
        let exact: Ecode = "100012345".parse().unwrap();
        assert!(!held.covers_ecode(&exact));
        assert!(
            IdPrefix::candidates_for_ecode(&code)
                .iter()
                .all(|c| c.covers_ecode(&code))
        );
        assert_eq!(
            prefix("gs1:695012").ancestors(),
            vec![prefix("gs1:6950"), prefix("gs1:69501")]
        );
    }

    #[test]
    fn an_ma_unit_main_code_covers_whole_segments_only() {
        let held = prefix("ecode:MA.156.M0.100204");
        let code: Ecode = "MA.156.M0.100204.13351764.L2601".parse().unwrap();
        let neighbour: Ecode = "MA.156.M0.1002045.13351764".parse().unwrap();
        assert!(held.covers_ecode(&code));
        assert!(!held.covers_ecode(&neighbour));
        assert!(!prefix("ecode:100012345").covers_ecode(&code));
        assert_eq!(
            IdPrefix::candidates_for_ecode(&code),
            vec![
                prefix("ecode:MA.156.M0.100204"),
                prefix("ecode:MA.156.M0.100204.13351764"),
            ]
        );
        let block = prefix("ecode:MA.156.M0.100204.7");
        assert_eq!(block.ancestors(), vec![held.clone()]);
        assert!(held.covers(&block));
        assert!(!held.covers(&prefix("ecode:MA.156.M0.1002047")));
        assert!(held.ancestors().is_empty());
    }
}
