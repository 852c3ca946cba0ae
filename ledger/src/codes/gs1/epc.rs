//! Convert between EPC URNs of the GS1 Tag Data Standard and GS1 keys with their AIs.
//!
//! EPCIS events name objects and locations with EPC URNs. The kinds handled here:
//!
//! | type | URN | element string |
//! |---|---|---|
//! | [`Sgtin`] | `urn:epc:id:sgtin:CompanyPrefix.IndicatorItemRef.Serial` | (01) GTIN + (21) serial |
//! | [`Lgtin`] | `urn:epc:class:lgtin:CompanyPrefix.IndicatorItemRef.Lot` | (01) GTIN + (10) batch/lot |
//! | [`Sscc`] | `urn:epc:id:sscc:CompanyPrefix.ExtensionSerialRef` | (00) SSCC |
//! | [`Sgln`] | `urn:epc:id:sgln:CompanyPrefix.LocationRef.Extension` | (414) GLN [+ (254) extension] |
//! | [`Pgln`] | `urn:epc:id:pgln:CompanyPrefix.PartyRef` | (417) party GLN |
//! | [`Grai`] | `urn:epc:id:grai:CompanyPrefix.AssetType.Serial` | (8003) `0` + asset type + serial |
//! | [`Giai`] | `urn:epc:id:giai:CompanyPrefix.IndividualAssetReference` | (8004) GIAI |
//!
//! A URN splits the key at the end of the GS1 Company Prefix (6 to 12 digits) and drops the
//! check digit; the key's other digits keep their count (13 for a GTIN with its indicator digit
//! moved after the prefix, 17 for an SSCC with its extension digit likewise, 12 for a GLN and
//! for a GRAI's asset type, which also loses the GRAI's leading `0`). Turning a key into a URN
//! therefore needs the company prefix length, which the key itself does not reveal: the
//! constructors take it as a parameter. A GIAI has no check digit; its URN splits it after the
//! prefix, which must therefore be all digits.
//!
//! An EPC names one object, so a GRAI without its serial, which names a kind of returnable
//! asset, has no URN ([`EpcError::UnserialisedGrai`]).
//!
//! Serial numbers, lots, GLN extensions and individual asset references use the URN-safe
//! subset of GS1 CSET 82; the seven characters `"` `%` `&` `/` `<` `>` `?` are written `%22`
//! `%25` `%26` `%2F` `%3C` `%3E` `%3F`, and no other escape is accepted. The `urn:epc:` prefix
//! is matched without regard to case; the rest is case-sensitive. Every value is also held to
//! the element-string rules of its AI.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use thiserror::Error;

use super::check::check_digit;
use super::dictionary::Ai;
use super::element::{ElementError, ElementString, char_at};
use super::keys::{self, Gln, Gtin, KeyError};

/// Longest URN accepted, in bytes: far above the longest valid one (about 100).
pub const MAX_EPC_URN_BYTES: usize = 256;

/// Digits a GS1 Company Prefix may have in an EPC URN.
pub const COMPANY_PREFIX_DIGITS: RangeInclusive<usize> = 6..=12;

pub(super) const SGTIN_PREFIX: &str = "urn:epc:id:sgtin:";
pub(super) const LGTIN_PREFIX: &str = "urn:epc:class:lgtin:";
pub(super) const SSCC_PREFIX: &str = "urn:epc:id:sscc:";
pub(super) const SGLN_PREFIX: &str = "urn:epc:id:sgln:";
pub(super) const PGLN_PREFIX: &str = "urn:epc:id:pgln:";
pub(super) const GRAI_PREFIX: &str = "urn:epc:id:grai:";
pub(super) const GIAI_PREFIX: &str = "urn:epc:id:giai:";

/// The SGLN extension that means "no extension".
const NO_GLN_EXTENSION: &str = "0";

/// AI (8003), the Global Returnable Asset Identifier.
pub(super) const AI_GRAI: Ai = match Ai::from_digits(b"8003") {
    Some(ai) => ai,
    None => panic!("8003 is four ASCII digits"),
};

/// AI (8004), the Global Individual Asset Identifier.
pub(super) const AI_GIAI: Ai = match Ai::from_digits(b"8004") {
    Some(ai) => ai,
    None => panic!("8004 is four ASCII digits"),
};

/// Digits of company prefix and asset type together in a GRAI.
const GRAI_COMPANY_PREFIX_AND_ASSET_TYPE_DIGITS: usize = 12;

/// Characters of an AI (8003) value before its serial: the `0`, the company prefix and asset
/// type, and the check digit (the dictionary's `N1,zero N13,csum`).
const GRAI_UNSERIALISED_LEN: usize = 1 + GRAI_COMPANY_PREFIX_AND_ASSET_TYPE_DIGITS + 1;

/// Why a URN, or a key with its company prefix length, is not a valid EPC.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EpcError {
    /// The URN exceeds [`MAX_EPC_URN_BYTES`].
    #[error("URN of {found_bytes} bytes exceeds the limit of {max_bytes}")]
    TooLong {
        /// The limit.
        max_bytes: usize,
        /// Bytes found.
        found_bytes: usize,
    },
    /// The URN does not start with the expected scheme.
    #[error("expected a URN starting {expected:?}")]
    WrongScheme {
        /// The prefix expected.
        expected: &'static str,
    },
    /// A `.`-separated field is missing.
    #[error("the URN lacks its {field}")]
    MissingField {
        /// The field.
        field: &'static str,
    },
    /// The company prefix length is outside [`COMPANY_PREFIX_DIGITS`].
    #[error("a GS1 Company Prefix has 6 to 12 digits, found {found}")]
    CompanyPrefixLength {
        /// Digits given.
        found: usize,
    },
    /// A numeric field has the wrong number of digits for the company prefix length.
    #[error("the {field} should have {expected} digits, found {found}")]
    FieldLength {
        /// The field.
        field: &'static str,
        /// Digits expected.
        expected: usize,
        /// Characters found.
        found: usize,
    },
    /// A non-digit in a numeric field.
    #[error("the {field} holds {found:?} at byte {position}, not a digit")]
    NonDigit {
        /// The field.
        field: &'static str,
        /// Byte offset in the URN, or in the GIAI when one is built from its value.
        position: usize,
        /// The character.
        found: char,
    },
    /// A character a URN component may not hold.
    #[error("character {found:?} at byte {position} is not allowed in an EPC URN component")]
    InvalidCharacter {
        /// Byte offset in the URN.
        position: usize,
        /// The character.
        found: char,
    },
    /// A `%` escape other than the seven the Tag Data Standard defines.
    #[error("escape at byte {position} is not one of %22 %25 %26 %2F %3C %3E %3F")]
    BadEscape {
        /// Byte offset in the URN.
        position: usize,
    },
    /// The URN names no EPC scheme that this module reads.
    #[error("{found:?} is not one of the EPC schemes sgtin, lgtin, sscc, sgln, grai, giai")]
    UnknownScheme {
        /// The URN up to and including its scheme name, or the whole URN when shorter.
        found: String,
    },
    /// A GRAI without a serial: it names a kind of returnable asset, which no EPC URN names.
    #[error("a GRAI without its serial component names an asset type, not an EPC")]
    UnserialisedGrai,
    /// A GIAI with nothing after its company prefix.
    #[error(
        "the GIAI has no individual asset reference after its {company_prefix_digits}-digit company prefix"
    )]
    NoAssetReference {
        /// Digits in the company prefix.
        company_prefix_digits: usize,
    },
    /// The rebuilt key is invalid (cannot happen for digits the URN checks; kept typed).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The key or a value breaks the element-string rules.
    #[error(transparent)]
    Element(#[from] ElementError),
}

/// A serialised GTIN: `urn:epc:id:sgtin:...`, AIs (01) and (21).
///
/// ```
/// use suyuan_ledger::codes::gs1::epc::Sgtin;
///
/// let sgtin: Sgtin = "urn:epc:id:sgtin:0614141.812345.6789".parse()?;
/// assert_eq!(sgtin.gtin().as_str(), "80614141123458");
/// assert_eq!(sgtin.serial(), "6789");
/// assert_eq!(sgtin.element_string().to_string(), "(01)80614141123458(21)6789");
/// assert_eq!(Sgtin::new(sgtin.gtin(), "6789", 7)?.to_string(), "urn:epc:id:sgtin:0614141.812345.6789");
/// # Ok::<(), suyuan_ledger::codes::gs1::epc::EpcError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sgtin {
    gtin: Gtin,
    serial: String,
    company_prefix_digits: usize,
    elements: ElementString,
}

impl Sgtin {
    /// Builds from a GTIN, a serial number (AI 21 rules) and the length of the GTIN's company
    /// prefix.
    pub fn new(gtin: &Gtin, serial: &str, company_prefix_digits: usize) -> Result<Self, EpcError> {
        check_company_prefix_digits(company_prefix_digits)?;
        let elements =
            ElementString::from_pairs([(Ai::GTIN, gtin.as_str()), (Ai::SERIAL, serial)])?;
        Ok(Sgtin {
            gtin: gtin.clone(),
            serial: serial.to_owned(),
            company_prefix_digits,
            elements,
        })
    }

    /// Builds from an element string holding (01) and (21).
    pub fn from_element_string(
        elements: &ElementString,
        company_prefix_digits: usize,
    ) -> Result<Self, EpcError> {
        let (gtin, serial) = gtin_and(elements, Ai::SERIAL, "serial number (21)")?;
        Sgtin::new(&gtin, serial, company_prefix_digits)
    }

    /// The GTIN.
    pub fn gtin(&self) -> &Gtin {
        &self.gtin
    }

    /// The serial number, unescaped.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Digits in the GTIN's company prefix.
    pub fn company_prefix_digits(&self) -> usize {
        self.company_prefix_digits
    }

    /// (01) GTIN and (21) serial.
    pub fn element_string(&self) -> &ElementString {
        &self.elements
    }
}

impl FromStr for Sgtin {
    type Err = EpcError;

    fn from_str(urn: &str) -> Result<Self, Self::Err> {
        let (gtin, serial, digits) = parse_gtin_urn(urn, SGTIN_PREFIX, "serial number")?;
        Sgtin::new(&gtin, &serial, digits)
    }
}

impl fmt::Display for Sgtin {
    /// The URN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_gtin_urn(
            f,
            SGTIN_PREFIX,
            &self.gtin,
            self.company_prefix_digits,
            &self.serial,
        )
    }
}

/// A GTIN with a batch or lot number, an EPC class: `urn:epc:class:lgtin:...`, AIs (01) and
/// (10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lgtin {
    gtin: Gtin,
    lot: String,
    company_prefix_digits: usize,
    elements: ElementString,
}

impl Lgtin {
    /// Builds from a GTIN, a batch or lot number (AI 10 rules) and the length of the GTIN's
    /// company prefix.
    pub fn new(gtin: &Gtin, lot: &str, company_prefix_digits: usize) -> Result<Self, EpcError> {
        check_company_prefix_digits(company_prefix_digits)?;
        let elements = ElementString::from_pairs([(Ai::GTIN, gtin.as_str()), (Ai::BATCH, lot)])?;
        Ok(Lgtin {
            gtin: gtin.clone(),
            lot: lot.to_owned(),
            company_prefix_digits,
            elements,
        })
    }

    /// Builds from an element string holding (01) and (10).
    pub fn from_element_string(
        elements: &ElementString,
        company_prefix_digits: usize,
    ) -> Result<Self, EpcError> {
        let (gtin, lot) = gtin_and(elements, Ai::BATCH, "batch or lot number (10)")?;
        Lgtin::new(&gtin, lot, company_prefix_digits)
    }

    /// The GTIN.
    pub fn gtin(&self) -> &Gtin {
        &self.gtin
    }

    /// The batch or lot number, unescaped.
    pub fn lot(&self) -> &str {
        &self.lot
    }

    /// Digits in the GTIN's company prefix.
    pub fn company_prefix_digits(&self) -> usize {
        self.company_prefix_digits
    }

    /// (01) GTIN and (10) batch or lot.
    pub fn element_string(&self) -> &ElementString {
        &self.elements
    }
}

impl FromStr for Lgtin {
    type Err = EpcError;

    fn from_str(urn: &str) -> Result<Self, Self::Err> {
        let (gtin, lot, digits) = parse_gtin_urn(urn, LGTIN_PREFIX, "lot")?;
        Lgtin::new(&gtin, &lot, digits)
    }
}

impl fmt::Display for Lgtin {
    /// The URN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_gtin_urn(
            f,
            LGTIN_PREFIX,
            &self.gtin,
            self.company_prefix_digits,
            &self.lot,
        )
    }
}

/// A Serial Shipping Container Code as an EPC: `urn:epc:id:sscc:...`, AI (00).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sscc {
    sscc: keys::Sscc,
    company_prefix_digits: usize,
    elements: ElementString,
}

impl Sscc {
    /// Builds from an SSCC and the length of its company prefix.
    pub fn new(sscc: &keys::Sscc, company_prefix_digits: usize) -> Result<Self, EpcError> {
        check_company_prefix_digits(company_prefix_digits)?;
        let elements = ElementString::from_pairs([(Ai::SSCC, sscc.as_str())])?;
        Ok(Sscc {
            sscc: sscc.clone(),
            company_prefix_digits,
            elements,
        })
    }

    /// Builds from an element string holding (00).
    pub fn from_element_string(
        elements: &ElementString,
        company_prefix_digits: usize,
    ) -> Result<Self, EpcError> {
        let sscc = element_value(elements, Ai::SSCC, "SSCC (00)")?;
        Sscc::new(&sscc.parse()?, company_prefix_digits)
    }

    /// The SSCC.
    pub fn sscc(&self) -> &keys::Sscc {
        &self.sscc
    }

    /// Digits in the SSCC's company prefix.
    pub fn company_prefix_digits(&self) -> usize {
        self.company_prefix_digits
    }

    /// (00) SSCC.
    pub fn element_string(&self) -> &ElementString {
        &self.elements
    }
}

impl FromStr for Sscc {
    type Err = EpcError;

    fn from_str(urn: &str) -> Result<Self, Self::Err> {
        let body = strip_prefix(urn, SSCC_PREFIX)?;
        let mut fields = Fields::new(body, SSCC_PREFIX.len(), 2);
        let (digits, prefix) = fields.company_prefix()?;
        let serial_ref = fields.digits("extension digit and serial reference", 17 - digits)?;
        let (extension, rest) = serial_ref.split_at(1);
        let sscc: keys::Sscc = with_check_digit(&format!("{extension}{prefix}{rest}")).parse()?;
        Sscc::new(&sscc, digits)
    }
}

impl fmt::Display for Sscc {
    /// The URN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An SSCC is 18 ASCII digits and the prefix length is within 6..=12 (checked in `new`).
        let s = self.sscc.as_str();
        let d = self.company_prefix_digits;
        write!(
            f,
            "{SSCC_PREFIX}{}.{}{}",
            &s[1..1 + d],
            &s[..1],
            &s[1 + d..17]
        )
    }
}

/// A GLN with an optional extension as an EPC: `urn:epc:id:sgln:...`, AIs (414) and (254).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sgln {
    gln: Gln,
    extension: Option<String>,
    company_prefix_digits: usize,
    elements: ElementString,
}

impl Sgln {
    /// Builds from a GLN, an optional extension (AI 254 rules) and the length of the GLN's
    /// company prefix.
    pub fn new(
        gln: &Gln,
        extension: Option<&str>,
        company_prefix_digits: usize,
    ) -> Result<Self, EpcError> {
        check_company_prefix_digits(company_prefix_digits)?;
        let gln_element = std::iter::once((Ai::LOCATION_GLN, gln.as_str()));
        let extension_element = extension.map(|e| (Ai::GLN_EXTENSION, e));
        let elements = ElementString::from_pairs(gln_element.chain(extension_element))?;
        Ok(Sgln {
            gln: gln.clone(),
            extension: extension.map(str::to_owned),
            company_prefix_digits,
            elements,
        })
    }

    /// Builds from an element string holding (414) and, if the GLN has an extension, (254).
    pub fn from_element_string(
        elements: &ElementString,
        company_prefix_digits: usize,
    ) -> Result<Self, EpcError> {
        let gln = element_value(elements, Ai::LOCATION_GLN, "GLN (414)")?;
        let extension = elements.get(Ai::GLN_EXTENSION.as_str());
        Sgln::new(&gln.parse()?, extension, company_prefix_digits)
    }

    /// The GLN.
    pub fn gln(&self) -> &Gln {
        &self.gln
    }

    /// The GLN extension, `None` when the URN's extension is `0`.
    pub fn extension(&self) -> Option<&str> {
        self.extension.as_deref()
    }

    /// Digits in the GLN's company prefix.
    pub fn company_prefix_digits(&self) -> usize {
        self.company_prefix_digits
    }

    /// (414) GLN, then (254) extension if any.
    pub fn element_string(&self) -> &ElementString {
        &self.elements
    }
}

impl FromStr for Sgln {
    type Err = EpcError;

    fn from_str(urn: &str) -> Result<Self, Self::Err> {
        let body = strip_prefix(urn, SGLN_PREFIX)?;
        let mut fields = Fields::new(body, SGLN_PREFIX.len(), 3);
        let (digits, prefix) = fields.company_prefix()?;
        let location_ref = fields.digits("location reference", 12 - digits)?;
        let extension = fields.component("extension")?;
        let gln: Gln = with_check_digit(&format!("{prefix}{location_ref}")).parse()?;
        let extension = (extension != NO_GLN_EXTENSION).then_some(extension.as_str());
        Sgln::new(&gln, extension, digits)
    }
}

impl fmt::Display for Sgln {
    /// The URN; no extension is written `0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A GLN is 13 ASCII digits and the prefix length is within 6..=12 (checked in `new`).
        let g = self.gln.as_str();
        let d = self.company_prefix_digits;
        let extension = self
            .extension
            .as_deref()
            .map_or_else(|| NO_GLN_EXTENSION.to_owned(), encode_component);
        write!(f, "{SGLN_PREFIX}{}.{}.{extension}", &g[..d], &g[d..12])
    }
}

/// A party GLN as an EPC: `urn:epc:id:pgln:...`, AI (417). It names a company or
/// organisation (an EPCIS source or destination), where an [`Sgln`] names a place.
///
/// ```
/// use suyuan_ledger::codes::gs1::epc::Pgln;
///
/// let party: Pgln = "urn:epc:id:pgln:0614141.12345".parse()?;
/// assert_eq!(party.gln().as_str(), "0614141123452");
/// assert_eq!(party.element_string().to_string(), "(417)0614141123452");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pgln {
    gln: Gln,
    company_prefix_digits: usize,
    elements: ElementString,
}

impl Pgln {
    /// Builds from a GLN and the length of its company prefix.
    pub fn new(gln: &Gln, company_prefix_digits: usize) -> Result<Self, EpcError> {
        check_company_prefix_digits(company_prefix_digits)?;
        let elements = ElementString::from_pairs([(Ai::PARTY_GLN, gln.as_str())])?;
        Ok(Pgln {
            gln: gln.clone(),
            company_prefix_digits,
            elements,
        })
    }

    /// Builds from an element string holding (417).
    pub fn from_element_string(
        elements: &ElementString,
        company_prefix_digits: usize,
    ) -> Result<Self, EpcError> {
        let gln = element_value(elements, Ai::PARTY_GLN, "party GLN (417)")?;
        Pgln::new(&gln.parse()?, company_prefix_digits)
    }

    /// The GLN.
    pub fn gln(&self) -> &Gln {
        &self.gln
    }

    /// Digits in the GLN's company prefix.
    pub fn company_prefix_digits(&self) -> usize {
        self.company_prefix_digits
    }

    /// (417) GLN.
    pub fn element_string(&self) -> &ElementString {
        &self.elements
    }
}

impl FromStr for Pgln {
    type Err = EpcError;

    fn from_str(urn: &str) -> Result<Self, Self::Err> {
        let body = strip_prefix(urn, PGLN_PREFIX)?;
        let mut fields = Fields::new(body, PGLN_PREFIX.len(), 2);
        let (digits, prefix) = fields.company_prefix()?;
        let party_ref = fields.digits("party reference", 12 - digits)?;
        let gln: Gln = with_check_digit(&format!("{prefix}{party_ref}")).parse()?;
        Pgln::new(&gln, digits)
    }
}

impl fmt::Display for Pgln {
    /// The URN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A GLN is 13 ASCII digits and the prefix length is within 6..=12 (checked in `new`).
        let g = self.gln.as_str();
        let d = self.company_prefix_digits;
        write!(f, "{PGLN_PREFIX}{}.{}", &g[..d], &g[d..12])
    }
}

/// A serialised Global Returnable Asset Identifier as an EPC: `urn:epc:id:grai:...`, AI (8003).
///
/// The AI (8003) value is a `0`, thirteen digits (company prefix, asset type, check digit) and
/// the serial, up to 16 characters of CSET 82. Without a serial it names an asset type, not an
/// EPC: [`EpcError::UnserialisedGrai`].
///
/// ```
/// use suyuan_ledger::codes::gs1::epc::Grai;
///
/// let grai: Grai = "urn:epc:id:grai:0614141.12345.400".parse()?;
/// assert_eq!(grai.grai(), "00614141123452400");
/// assert_eq!(grai.asset_type(), "00614141123452");
/// assert_eq!(grai.serial(), "400");
/// assert_eq!(grai.element_string().to_string(), "(8003)00614141123452400");
/// assert_eq!(Grai::new("00614141123452400", 7)?.to_string(), "urn:epc:id:grai:0614141.12345.400");
/// # Ok::<(), suyuan_ledger::codes::gs1::epc::EpcError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grai {
    grai: String,
    company_prefix_digits: usize,
    elements: ElementString,
}

impl Grai {
    /// Builds from an AI (8003) value, serial included, and the length of its company prefix.
    pub fn new(grai: &str, company_prefix_digits: usize) -> Result<Self, EpcError> {
        check_company_prefix_digits(company_prefix_digits)?;
        let elements = ElementString::from_pairs([(AI_GRAI, grai)])?;
        // The element rules hold the value to fourteen digits and an optional serial.
        if grai.len() <= GRAI_UNSERIALISED_LEN {
            return Err(EpcError::UnserialisedGrai);
        }
        Ok(Grai {
            grai: grai.to_owned(),
            company_prefix_digits,
            elements,
        })
    }

    /// Builds from an element string holding (8003).
    pub fn from_element_string(
        elements: &ElementString,
        company_prefix_digits: usize,
    ) -> Result<Self, EpcError> {
        let grai = element_value(elements, AI_GRAI, "GRAI (8003)")?;
        Grai::new(grai, company_prefix_digits)
    }

    /// The AI (8003) value: asset type, then serial.
    pub fn grai(&self) -> &str {
        &self.grai
    }

    /// The fourteen digits before the serial: `0`, company prefix, asset type, check digit.
    pub fn asset_type(&self) -> &str {
        // CSET 82 is ASCII and `new` checked the value is longer than this.
        &self.grai[..GRAI_UNSERIALISED_LEN]
    }

    /// The serial, unescaped.
    pub fn serial(&self) -> &str {
        &self.grai[GRAI_UNSERIALISED_LEN..]
    }

    /// Digits in the GRAI's company prefix.
    pub fn company_prefix_digits(&self) -> usize {
        self.company_prefix_digits
    }

    /// (8003) GRAI.
    pub fn element_string(&self) -> &ElementString {
        &self.elements
    }
}

impl FromStr for Grai {
    type Err = EpcError;

    fn from_str(urn: &str) -> Result<Self, Self::Err> {
        let body = strip_prefix(urn, GRAI_PREFIX)?;
        let mut fields = Fields::new(body, GRAI_PREFIX.len(), 3);
        let (digits, prefix) = fields.company_prefix()?;
        let asset_type = fields.digits(
            "asset type",
            GRAI_COMPANY_PREFIX_AND_ASSET_TYPE_DIGITS - digits,
        )?;
        let serial = fields.component("serial number")?;
        let unserialised = with_check_digit(&format!("0{prefix}{asset_type}"));
        Grai::new(&format!("{unserialised}{serial}"), digits)
    }
}

impl fmt::Display for Grai {
    /// The URN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The value opens with 14 ASCII digits and the prefix length is within 6..=12 (checked
        // in `new`); the leading `0` and the check digit are not written.
        let g = &self.grai;
        let d = self.company_prefix_digits;
        write!(
            f,
            "{GRAI_PREFIX}{}.{}.{}",
            &g[1..1 + d],
            &g[1 + d..GRAI_UNSERIALISED_LEN - 1],
            encode_component(self.serial())
        )
    }
}

/// A Global Individual Asset Identifier as an EPC: `urn:epc:id:giai:...`, AI (8004).
///
/// The AI (8004) value is the company prefix and the individual asset reference, at most 30
/// characters of CSET 82 together. It has no check digit.
///
/// ```
/// use suyuan_ledger::codes::gs1::epc::Giai;
///
/// let giai: Giai = "urn:epc:id:giai:0614141.12345400".parse()?;
/// assert_eq!(giai.giai(), "061414112345400");
/// assert_eq!(giai.asset_reference(), "12345400");
/// assert_eq!(giai.element_string().to_string(), "(8004)061414112345400");
/// assert_eq!(Giai::new("061414112345400", 9)?.to_string(), "urn:epc:id:giai:061414112.345400");
/// # Ok::<(), suyuan_ledger::codes::gs1::epc::EpcError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Giai {
    giai: String,
    company_prefix_digits: usize,
    elements: ElementString,
}

impl Giai {
    /// Builds from an AI (8004) value and the length of its company prefix.
    pub fn new(giai: &str, company_prefix_digits: usize) -> Result<Self, EpcError> {
        check_company_prefix_digits(company_prefix_digits)?;
        let elements = ElementString::from_pairs([(AI_GIAI, giai)])?;
        // The dictionary's `gcppos1` vouches for the first four characters only; the URN
        // writes the whole prefix as a number.
        if let Some(position) = giai
            .bytes()
            .take(company_prefix_digits)
            .position(|b| !b.is_ascii_digit())
        {
            return Err(EpcError::NonDigit {
                field: "company prefix of the GIAI",
                position,
                found: char_at(giai, position),
            });
        }
        if giai.len() <= company_prefix_digits {
            return Err(EpcError::NoAssetReference {
                company_prefix_digits,
            });
        }
        Ok(Giai {
            giai: giai.to_owned(),
            company_prefix_digits,
            elements,
        })
    }

    /// Builds from an element string holding (8004).
    pub fn from_element_string(
        elements: &ElementString,
        company_prefix_digits: usize,
    ) -> Result<Self, EpcError> {
        let giai = element_value(elements, AI_GIAI, "GIAI (8004)")?;
        Giai::new(giai, company_prefix_digits)
    }

    /// The AI (8004) value.
    pub fn giai(&self) -> &str {
        &self.giai
    }

    /// The individual asset reference, after the company prefix, unescaped.
    pub fn asset_reference(&self) -> &str {
        // CSET 82 is ASCII and `new` checked the value is longer than the prefix.
        &self.giai[self.company_prefix_digits..]
    }

    /// Digits in the GIAI's company prefix.
    pub fn company_prefix_digits(&self) -> usize {
        self.company_prefix_digits
    }

    /// (8004) GIAI.
    pub fn element_string(&self) -> &ElementString {
        &self.elements
    }
}

impl FromStr for Giai {
    type Err = EpcError;

    fn from_str(urn: &str) -> Result<Self, Self::Err> {
        let body = strip_prefix(urn, GIAI_PREFIX)?;
        let mut fields = Fields::new(body, GIAI_PREFIX.len(), 2);
        let (digits, prefix) = fields.company_prefix()?;
        let reference = fields.component("individual asset reference")?;
        Giai::new(&format!("{prefix}{reference}"), digits)
    }
}

impl fmt::Display for Giai {
    /// The URN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{GIAI_PREFIX}{}.{}",
            &self.giai[..self.company_prefix_digits],
            encode_component(self.asset_reference())
        )
    }
}

fn check_company_prefix_digits(digits: usize) -> Result<(), EpcError> {
    match COMPANY_PREFIX_DIGITS.contains(&digits) {
        true => Ok(()),
        false => Err(EpcError::CompanyPrefixLength { found: digits }),
    }
}

/// The GTIN and the value of `ai` from an element string.
fn gtin_and<'a>(
    elements: &'a ElementString,
    ai: Ai,
    field: &'static str,
) -> Result<(Gtin, &'a str), EpcError> {
    let gtin = element_value(elements, Ai::GTIN, "GTIN (01)")?;
    let value = element_value(elements, ai, field)?;
    Ok((gtin.parse()?, value))
}

/// The value of `ai`, known to the caller as `field`, from an element string.
fn element_value<'a>(
    elements: &'a ElementString,
    ai: Ai,
    field: &'static str,
) -> Result<&'a str, EpcError> {
    elements
        .get(ai.as_str())
        .ok_or(EpcError::MissingField { field })
}

/// Parses `prefix` `CompanyPrefix.IndicatorItemRef.Component` into the GTIN, the unescaped
/// component and the company prefix length.
fn parse_gtin_urn(
    urn: &str,
    prefix: &'static str,
    component: &'static str,
) -> Result<(Gtin, String, usize), EpcError> {
    let body = strip_prefix(urn, prefix)?;
    let mut fields = Fields::new(body, prefix.len(), 3);
    let (digits, company_prefix) = fields.company_prefix()?;
    let item = fields.digits("indicator digit and item reference", 13 - digits)?;
    let value = fields.component(component)?;
    let (indicator, item_ref) = item.split_at(1);
    let gtin: Gtin = with_check_digit(&format!("{indicator}{company_prefix}{item_ref}")).parse()?;
    Ok((gtin, value, digits))
}

fn write_gtin_urn(
    f: &mut fmt::Formatter<'_>,
    prefix: &str,
    gtin: &Gtin,
    digits: usize,
    component: &str,
) -> fmt::Result {
    // A GTIN is 14 ASCII digits and the prefix length is within 6..=12 (checked in `new`).
    let g = gtin.as_str();
    write!(
        f,
        "{prefix}{}.{}{}.{}",
        &g[1..1 + digits],
        &g[..1],
        &g[1 + digits..13],
        encode_component(component)
    )
}

fn strip_prefix<'a>(urn: &'a str, prefix: &'static str) -> Result<&'a str, EpcError> {
    check_urn_size(urn)?;
    match has_prefix(urn, prefix) {
        true => Ok(&urn[prefix.len()..]),
        false => Err(EpcError::WrongScheme { expected: prefix }),
    }
}

/// Refuses a URN longer than [`MAX_EPC_URN_BYTES`].
pub(super) fn check_urn_size(urn: &str) -> Result<(), EpcError> {
    match urn.len() > MAX_EPC_URN_BYTES {
        true => Err(EpcError::TooLong {
            max_bytes: MAX_EPC_URN_BYTES,
            found_bytes: urn.len(),
        }),
        false => Ok(()),
    }
}

/// Whether `urn` opens with `prefix`, matched without regard to case.
pub(super) fn has_prefix(urn: &str, prefix: &str) -> bool {
    urn.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Appends the check digit to all-digit `data`.
fn with_check_digit(data: &str) -> String {
    let mut key = data.to_owned();
    // Callers pass fields that `Fields::digits` checked; a non-digit would make the key fail
    // to parse rather than panic.
    if let Some(digit) = check_digit(data.as_bytes()) {
        key.push(char::from(digit));
    }
    key
}

/// The `.`-separated fields after a URN prefix; the last field takes the rest, dots included.
struct Fields<'a> {
    parts: std::str::SplitN<'a, char>,
    position: usize,
}

impl<'a> Fields<'a> {
    fn new(body: &'a str, offset: usize, count: usize) -> Self {
        Fields {
            parts: body.splitn(count, '.'),
            position: offset,
        }
    }

    fn next(&mut self, field: &'static str) -> Result<(usize, &'a str), EpcError> {
        let text = self.parts.next().ok_or(EpcError::MissingField { field })?;
        let start = self.position;
        self.position += text.len() + 1;
        Ok((start, text))
    }

    fn numeric(&mut self, field: &'static str) -> Result<&'a str, EpcError> {
        let (start, text) = self.next(field)?;
        if let Some(i) = text.bytes().position(|b| !b.is_ascii_digit()) {
            return Err(EpcError::NonDigit {
                field,
                position: start + i,
                found: char_at(text, i),
            });
        }
        Ok(text)
    }

    /// The company prefix: its digit count and digits.
    fn company_prefix(&mut self) -> Result<(usize, &'a str), EpcError> {
        let prefix = self.numeric("company prefix")?;
        check_company_prefix_digits(prefix.len())?;
        Ok((prefix.len(), prefix))
    }

    fn digits(&mut self, field: &'static str, expected: usize) -> Result<&'a str, EpcError> {
        let text = self.numeric(field)?;
        match text.len() == expected {
            true => Ok(text),
            false => Err(EpcError::FieldLength {
                field,
                expected,
                found: text.len(),
            }),
        }
    }

    /// An escaped alphanumeric component, unescaped.
    fn component(&mut self, field: &'static str) -> Result<String, EpcError> {
        let (start, text) = self.next(field)?;
        decode_component(text, start)
    }
}

/// Characters a URN component holds as themselves.
fn is_urn_safe(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'-' | b'_'
                | b'.'
                | b'!'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b':'
                | b';'
                | b'='
        )
}

/// CSET 82 characters a URN component must escape.
const ESCAPED: &[u8] = b"\"%&/<>?";

fn decode_component(text: &str, offset: usize) -> Result<String, EpcError> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let position = offset + i;
            let decoded = bytes
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .filter(|hex| hex.bytes().all(|h| h.is_ascii_hexdigit()))
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .filter(|byte| ESCAPED.contains(byte))
                .ok_or(EpcError::BadEscape { position })?;
            out.push(char::from(decoded));
            i += 3;
        } else if is_urn_safe(b) {
            out.push(char::from(b));
            i += 1;
        } else {
            return Err(EpcError::InvalidCharacter {
                position: offset + i,
                found: char_at(text, i),
            });
        }
    }
    Ok(out)
}

fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match u8::try_from(c) {
            Ok(b) if ESCAPED.contains(&b) => out.push_str(&format!("%{b:02X}")),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgln_vector_both_ways() {
        let party: Pgln = "urn:epc:id:pgln:0614141.12345".parse().unwrap();
        assert_eq!(party.gln().as_str(), "0614141123452");
        assert_eq!(party.company_prefix_digits(), 7);
        assert_eq!(party.element_string().get("417"), Some("0614141123452"));
        let es: ElementString = "(417)0614141123452".parse().unwrap();
        assert_eq!(Pgln::from_element_string(&es, 7).unwrap(), party);
        let gln: Gln = "0614141123452".parse().unwrap();
        for (digits, urn) in [
            (6, "urn:epc:id:pgln:061414.112345"),
            (12, "urn:epc:id:pgln:061414112345."),
        ] {
            let built = Pgln::new(&gln, digits).unwrap();
            assert_eq!(built.to_string(), urn);
            assert_eq!(urn.parse::<Pgln>().unwrap(), built);
        }
        for bad in [
            "urn:epc:id:pgln:0614141.1234",
            "urn:epc:id:pgln:0614141.12345.0",
            "urn:epc:id:pgln:0614141",
            "urn:epc:id:sgln:0614141.12345.0",
            "urn:epc:id:pgln:06141.1234567",
        ] {
            assert!(bad.parse::<Pgln>().is_err(), "{bad}");
        }
        assert_eq!(
            Pgln::from_element_string(&"(414)0614141123452".parse().unwrap(), 7).unwrap_err(),
            EpcError::MissingField {
                field: "party GLN (417)"
            }
        );
    }

    #[test]
    fn sgtin_vector_both_ways() {
        let sgtin: Sgtin = "urn:epc:id:sgtin:0614141.812345.6789".parse().unwrap();
        assert_eq!(sgtin.gtin().as_str(), "80614141123458");
        assert_eq!(sgtin.serial(), "6789");
        assert_eq!(sgtin.company_prefix_digits(), 7);
        assert_eq!(sgtin.element_string().get("01"), Some("80614141123458"));
        assert_eq!(sgtin.element_string().get("21"), Some("6789"));
        let es: ElementString = "(01)80614141123458(21)6789".parse().unwrap();
        let built = Sgtin::from_element_string(&es, 7).unwrap();
        assert_eq!(built.to_string(), "urn:epc:id:sgtin:0614141.812345.6789");
        assert_eq!(built, sgtin);
    }

    #[test]
    fn company_prefix_lengths_move_the_split() {
        let gtin: Gtin = "80614141123458".parse().unwrap();
        for (digits, urn) in [
            (6, "urn:epc:id:sgtin:061414.8112345.7"),
            (12, "urn:epc:id:sgtin:061414112345.8.7"),
        ] {
            let sgtin = Sgtin::new(&gtin, "7", digits).unwrap();
            assert_eq!(sgtin.to_string(), urn);
            assert_eq!(urn.parse::<Sgtin>().unwrap(), sgtin);
        }
        assert_eq!(
            Sgtin::new(&gtin, "7", 5).unwrap_err(),
            EpcError::CompanyPrefixLength { found: 5 }
        );
        assert_eq!(
            Sgtin::new(&gtin, "7", 13).unwrap_err(),
            EpcError::CompanyPrefixLength { found: 13 }
        );
    }

    #[test]
    fn escapes() {
        let gtin: Gtin = "80614141123458".parse().unwrap();
        let sgtin = Sgtin::new(&gtin, "A/B%C\"&<>?x.y", 7).unwrap();
        let urn = sgtin.to_string();
        assert_eq!(
            urn,
            "urn:epc:id:sgtin:0614141.812345.A%2FB%25C%22%26%3C%3E%3Fx.y"
        );
        assert_eq!(urn.parse::<Sgtin>().unwrap().serial(), "A/B%C\"&<>?x.y");
        assert_eq!(
            "urn:epc:id:sgtin:0614141.812345.a%2fb"
                .parse::<Sgtin>()
                .unwrap()
                .serial(),
            "a/b"
        );
        assert_eq!(
            "urn:epc:id:sgtin:0614141.812345.A%41"
                .parse::<Sgtin>()
                .unwrap_err(),
            EpcError::BadEscape { position: 33 }
        );
        assert_eq!(
            "urn:epc:id:sgtin:0614141.812345.A B"
                .parse::<Sgtin>()
                .unwrap_err(),
            EpcError::InvalidCharacter {
                position: 33,
                found: ' '
            }
        );
        assert!(matches!(
            "urn:epc:id:sgtin:0614141.812345.123456789012345678901"
                .parse::<Sgtin>()
                .unwrap_err(),
            EpcError::Element(ElementError::ValueTooLong { .. })
        ));
    }

    #[test]
    fn malformed_sgtins() {
        let parse = |urn: &str| urn.parse::<Sgtin>().unwrap_err();
        assert_eq!(
            parse("urn:epc:id:sgln:0614141.812345.6789"),
            EpcError::WrongScheme {
                expected: SGTIN_PREFIX
            }
        );
        assert_eq!(
            parse("urn:epc:id:sgtin:0614141.812345"),
            EpcError::MissingField {
                field: "serial number"
            }
        );
        assert_eq!(
            parse("urn:epc:id:sgtin:0614141.81234.6789"),
            EpcError::FieldLength {
                field: "indicator digit and item reference",
                expected: 6,
                found: 5
            }
        );
        assert_eq!(
            parse("urn:epc:id:sgtin:06141.8123456.6789"),
            EpcError::CompanyPrefixLength { found: 5 }
        );
        assert_eq!(
            parse("urn:epc:id:sgtin:06141x1.812345.6789"),
            EpcError::NonDigit {
                field: "company prefix",
                position: 22,
                found: 'x'
            }
        );
        assert!(matches!(
            parse("urn:epc:id:sgtin:0614141.812345."),
            EpcError::Element(_)
        ));
        assert!(matches!(
            parse(&"9".repeat(MAX_EPC_URN_BYTES + 1)),
            EpcError::TooLong { .. }
        ));
        assert!(
            "URN:EPC:ID:SGTIN:0614141.812345.6789"
                .parse::<Sgtin>()
                .is_ok()
        );
    }

    #[test]
    fn lgtin() {
        let lgtin: Lgtin = "urn:epc:class:lgtin:0614141.077777.987".parse().unwrap();
        assert_eq!(lgtin.gtin().as_str(), "00614141777778");
        assert_eq!(lgtin.lot(), "987");
        assert_eq!(
            lgtin.element_string().to_string(),
            "(01)00614141777778(10)987"
        );
        assert_eq!(lgtin.to_string(), "urn:epc:class:lgtin:0614141.077777.987");
        let es: ElementString = "(01)00614141777778(10)987".parse().unwrap();
        assert_eq!(Lgtin::from_element_string(&es, 7).unwrap(), lgtin);
        assert_eq!(
            Lgtin::from_element_string(&"(01)00614141777778".parse().unwrap(), 7).unwrap_err(),
            EpcError::MissingField {
                field: "batch or lot number (10)"
            }
        );
    }

    #[test]
    fn sscc() {
        let sscc: Sscc = "urn:epc:id:sscc:0614141.1234567890".parse().unwrap();
        assert_eq!(sscc.sscc().as_str(), "106141412345678908");
        assert_eq!(sscc.element_string().to_string(), "(00)106141412345678908");
        assert_eq!(sscc.to_string(), "urn:epc:id:sscc:0614141.1234567890");
        assert!(matches!(
            "urn:epc:id:sscc:0614141.123456789"
                .parse::<Sscc>()
                .unwrap_err(),
            EpcError::FieldLength {
                expected: 10,
                found: 9,
                ..
            }
        ));
    }

    #[test]
    fn sgln() {
        let plain: Sgln = "urn:epc:id:sgln:0614141.00777.0".parse().unwrap();
        assert_eq!(plain.gln().as_str(), "0614141007776");
        assert_eq!(plain.extension(), None);
        assert_eq!(plain.element_string().to_string(), "(414)0614141007776");
        assert_eq!(plain.to_string(), "urn:epc:id:sgln:0614141.00777.0");
        let extended: Sgln = "urn:epc:id:sgln:952005385.011.ts4711".parse().unwrap();
        assert_eq!(extended.extension(), Some("ts4711"));
        assert_eq!(extended.element_string().get("254"), Some("ts4711"));
        assert_eq!(extended.to_string(), "urn:epc:id:sgln:952005385.011.ts4711");
        let whole_prefix: Sgln = "urn:epc:id:sgln:061414100777..0".parse().unwrap();
        assert_eq!(whole_prefix.gln().as_str(), "0614141007776");
        assert_eq!(whole_prefix.to_string(), "urn:epc:id:sgln:061414100777..0");
    }

    #[test]
    fn grai_tds_example_both_ways() {
        let grai: Grai = "urn:epc:id:grai:0614141.12345.400".parse().unwrap();
        // Check digit of 0614141 12345: 2.
        assert_eq!(grai.grai(), "00614141123452400");
        assert_eq!(grai.asset_type(), "00614141123452");
        assert_eq!(grai.serial(), "400");
        assert_eq!(grai.company_prefix_digits(), 7);
        assert_eq!(grai.element_string().to_string(), "(8003)00614141123452400");
        assert_eq!(grai.to_string(), "urn:epc:id:grai:0614141.12345.400");
        let es: ElementString = "(8003)00614141123452400".parse().unwrap();
        assert_eq!(Grai::from_element_string(&es, 7).unwrap(), grai);
        assert_eq!(
            "URN:EPC:ID:GRAI:0614141.12345.400".parse::<Grai>().unwrap(),
            grai
        );
    }

    #[test]
    fn grai_prefix_lengths_and_escapes() {
        for (digits, urn) in [
            (6, "urn:epc:id:grai:061414.112345.A%2FB"),
            (9, "urn:epc:id:grai:061414112.345.A%2FB"),
            (12, "urn:epc:id:grai:061414112345..A%2FB"),
        ] {
            let grai = Grai::new("00614141123452A/B", digits).unwrap();
            assert_eq!(grai.to_string(), urn);
            assert_eq!(urn.parse::<Grai>().unwrap(), grai);
            assert_eq!(grai.serial(), "A/B");
        }
        let longest = Grai::new("00614141123452!\"%&'()*+,-./:;<", 7).unwrap();
        assert_eq!(
            longest.to_string(),
            "urn:epc:id:grai:0614141.12345.!%22%25%26'()*+,-.%2F:;%3C"
        );
        assert_eq!(longest.to_string().parse::<Grai>().unwrap(), longest);
    }

    #[test]
    fn grai_without_serial_is_no_epc() {
        assert_eq!(
            Grai::new("00614141123452", 7).unwrap_err(),
            EpcError::UnserialisedGrai
        );
        assert_eq!(
            "urn:epc:id:grai:0614141.12345."
                .parse::<Grai>()
                .unwrap_err(),
            EpcError::UnserialisedGrai
        );
        assert_eq!(
            "urn:epc:id:grai:0614141.12345".parse::<Grai>().unwrap_err(),
            EpcError::MissingField {
                field: "serial number"
            }
        );
        let es: ElementString = "(8003)00614141123452".parse().unwrap();
        assert_eq!(
            Grai::from_element_string(&es, 7).unwrap_err(),
            EpcError::UnserialisedGrai
        );
        assert_eq!(
            Grai::from_element_string(&"(8004)061414112345400".parse().unwrap(), 7).unwrap_err(),
            EpcError::MissingField {
                field: "GRAI (8003)"
            }
        );
    }

    #[test]
    fn malformed_grais() {
        let parse = |urn: &str| urn.parse::<Grai>().unwrap_err();
        assert_eq!(
            parse("urn:epc:id:grai:0614141.1234.400"),
            EpcError::FieldLength {
                field: "asset type",
                expected: 5,
                found: 4
            }
        );
        assert_eq!(
            parse("urn:epc:id:grai:0614141.1234x.400"),
            EpcError::NonDigit {
                field: "asset type",
                position: 28,
                found: 'x'
            }
        );
        assert_eq!(
            parse("urn:epc:id:grai:0614141234567.1.400"),
            EpcError::CompanyPrefixLength { found: 13 }
        );
        assert!(matches!(
            parse("urn:epc:id:grai:0614141.12345.12345678901234567"),
            EpcError::Element(ElementError::ValueTooLong { ai, .. }) if ai == AI_GRAI
        ));
        assert!(matches!(
            parse("urn:epc:id:grai:0614141.12345.A%41"),
            EpcError::BadEscape { position: 31 }
        ));
        // The padding digit must be 0 and the check digit right.
        assert!(matches!(
            Grai::new("10614141123452400", 7).unwrap_err(),
            EpcError::Element(ElementError::Lint { .. })
        ));
        assert!(matches!(
            Grai::new("00614141123453400", 7).unwrap_err(),
            EpcError::Element(ElementError::Lint { .. })
        ));
        assert_eq!(
            Grai::new("00614141123452400", 5).unwrap_err(),
            EpcError::CompanyPrefixLength { found: 5 }
        );
    }

    #[test]
    fn giai_tds_example_both_ways() {
        let giai: Giai = "urn:epc:id:giai:0614141.12345400".parse().unwrap();
        assert_eq!(giai.giai(), "061414112345400");
        assert_eq!(giai.asset_reference(), "12345400");
        assert_eq!(giai.company_prefix_digits(), 7);
        assert_eq!(giai.element_string().to_string(), "(8004)061414112345400");
        assert_eq!(giai.to_string(), "urn:epc:id:giai:0614141.12345400");
        let es: ElementString = "(8004)061414112345400".parse().unwrap();
        assert_eq!(Giai::from_element_string(&es, 7).unwrap(), giai);
    }

    #[test]
    fn giai_prefix_lengths_and_escapes() {
        for (digits, urn) in [
            (6, "urn:epc:id:giai:061414.112345A%2FB.c"),
            (12, "urn:epc:id:giai:061414112345.A%2FB.c"),
        ] {
            let giai = Giai::new("061414112345A/B.c", digits).unwrap();
            assert_eq!(giai.to_string(), urn);
            assert_eq!(urn.parse::<Giai>().unwrap(), giai);
        }
        // Thirty characters in all, the most AI 8004 holds.
        let longest = format!("0614141{}", "A".repeat(23));
        let giai = Giai::new(&longest, 7).unwrap();
        assert_eq!(giai.to_string().parse::<Giai>().unwrap(), giai);
    }

    #[test]
    fn malformed_giais() {
        let parse = |urn: &str| urn.parse::<Giai>().unwrap_err();
        assert!(matches!(
            parse(&format!("urn:epc:id:giai:0614141.{}", "A".repeat(24))),
            EpcError::Element(ElementError::ValueTooLong { ai, max_len: 30, .. }) if ai == AI_GIAI
        ));
        assert_eq!(
            parse("urn:epc:id:giai:0614141."),
            EpcError::NoAssetReference {
                company_prefix_digits: 7
            }
        );
        assert_eq!(
            parse("urn:epc:id:giai:0614141"),
            EpcError::MissingField {
                field: "individual asset reference"
            }
        );
        assert_eq!(
            parse("urn:epc:id:giai:06141.12345400"),
            EpcError::CompanyPrefixLength { found: 5 }
        );
        assert_eq!(
            parse("urn:epc:id:giai:06141A1.12345400"),
            EpcError::NonDigit {
                field: "company prefix",
                position: 21,
                found: 'A'
            }
        );
        assert_eq!(
            parse("urn:epc:id:giai:0614141.1234 5"),
            EpcError::InvalidCharacter {
                position: 28,
                found: ' '
            }
        );
        // From an element string the prefix digits are checked too, past the four that the
        // dictionary's `gcppos1` covers.
        assert_eq!(
            Giai::new("06141A112345400", 7).unwrap_err(),
            EpcError::NonDigit {
                field: "company prefix of the GIAI",
                position: 5,
                found: 'A'
            }
        );
        assert_eq!(
            Giai::new("0614141", 7).unwrap_err(),
            EpcError::NoAssetReference {
                company_prefix_digits: 7
            }
        );
        assert_eq!(
            Giai::new("06141", 6).unwrap_err(),
            EpcError::NoAssetReference {
                company_prefix_digits: 6
            }
        );
        assert!(matches!(
            Giai::new("061A", 6).unwrap_err(),
            EpcError::Element(ElementError::Lint { .. })
        ));
    }

    #[test]
    fn asset_ais_agree_with_the_dictionary() {
        use super::super::dictionary::dictionary;
        let grai = dictionary()
            .get(AI_GRAI)
            .expect("the dictionary defines 8003");
        let lengths: Vec<usize> = grai.components().iter().map(|c| c.max_len()).collect();
        assert_eq!(
            lengths[..2].iter().sum::<usize>(),
            GRAI_UNSERIALISED_LEN,
            "8003 opens with N1 N13"
        );
        assert!(grai.components()[2].is_optional());
        let giai = dictionary()
            .get(AI_GIAI)
            .expect("the dictionary defines 8004");
        assert_eq!(giai.max_value_len(), 30);
    }

    #[test]
    fn sscc_and_sgln_from_element_strings() {
        let sscc = Sscc::from_element_string(&"(00)106141412345678908".parse().unwrap(), 7);
        assert_eq!(
            sscc.unwrap().to_string(),
            "urn:epc:id:sscc:0614141.1234567890"
        );
        let sgln = Sgln::from_element_string(&"(414)9520053850113(254)ts4711".parse().unwrap(), 9)
            .unwrap();
        assert_eq!(sgln.to_string(), "urn:epc:id:sgln:952005385.011.ts4711");
        assert_eq!(
            Sgln::from_element_string(&"(00)106141412345678908".parse().unwrap(), 7).unwrap_err(),
            EpcError::MissingField { field: "GLN (414)" }
        );
    }

    #[test]
    fn arbitrary_text_never_panics() {
        for urn in [
            "",
            "urn:epc:id:sgtin:",
            "urn:epc:id:sgtin:é.é.é",
            "urn:epc:id:sgln:1234567..",
            "urn:epc:id:sscc:%",
            "urn:epc:id:sgtin:0614141.812345.%",
            "urn:epc:id:grai:0614141.12345.é",
            "urn:epc:id:grai:061414112345..",
            "urn:epc:id:giai:0614141.é",
            "urn:epc:id:giai:é",
        ] {
            let _ = urn.parse::<Sgtin>();
            let _ = urn.parse::<Lgtin>();
            let _ = urn.parse::<Sscc>();
            let _ = urn.parse::<Sgln>();
            let _ = urn.parse::<Grai>();
            let _ = urn.parse::<Giai>();
        }
    }
}
