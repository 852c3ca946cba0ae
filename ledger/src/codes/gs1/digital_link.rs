//! Parse and build GS1 Digital Link URIs: exactly as strictly as GS1's reference parser by
//! default, or leniently for links people paste, reporting what had to be set right.
//!
//! A Digital Link URI carries AI element strings in an HTTP(S) URI:
//!
//! ```text
//! https://host[/stem...]/{primary key AI}/{value}[/{qualifier AI}/{value}...][?{AI}={value}&...]
//! ```
//!
//! The primary keys and their ordered qualifiers come from the dictionary's `dlpkey` attributes:
//! AI 01 (GTIN) takes any of 22, 10, 21 in that order, or 235; AI 00 (SSCC) takes none; AI 414
//! (GLN) takes 254 or 7040; and so on. The path's primary key is the last path segment, at an
//! even distance from the end, that names a primary key AI; segments before it are the stem.
//! Query parameters whose names are all digits are data attributes: known AIs carrying the
//! dictionary's `?` flag. Other query parameters, parameters without `=`, and the fragment are
//! ignored.
//!
//! # Strict and lenient
//!
//! [`DigitalLink::parse`] (and `str::parse`) accepts what GS1's reference parser, the GS1
//! Barcode Syntax Engine (`gs1_parseDLuri`), accepts with its default options, and refuses what
//! it refuses, but for the two differences marked under the decisions below.
//! [`DigitalLink::parse_lenient`] also reads the two legacy spellings that the reference refuses
//! by default, and reports every spelling it set right as a [`Rewrite`]:
//!
//! | written | `parse` | `parse_lenient` | canonical |
//! |---|---|---|---|
//! | `https://`, `http://` | read | read | as written |
//! | `HTTPS://`, `HTTP://` | read | read, [`Rewrite::SchemeCase`] | lower case |
//! | `Https://` and other mixed case | [`DigitalLinkError::MixedCaseScheme`] | read, [`Rewrite::SchemeCase`] | lower case |
//! | GTIN-8, -12 or -13 for AI 01 in the path | [`DigitalLinkError::ZeroSuppressedGtin`] | padded, [`Rewrite::ZeroSuppressedGtin`] | 14 digits |
//! | GTIN-8, -12 or -13 for AI 01 in the query | padded | padded, [`Rewrite::ZeroSuppressedGtin`] | 14 digits |
//!
//! The reference reads a scheme all in upper case as well as all in lower case, and pads a short
//! GTIN in the query whatever its options; its option `permitZeroSuppressedGTINinDLuris`
//! governs the path alone. Either way the [`DigitalLink`] holds the canonical spellings, so one
//! trade item has one identity however it was written.
//!
//! Which to use: records on the ledger never hold a Digital Link URI (they name codes by
//! [`crate::record::TraceCode`] and GTINs by [`Gtin`], under those types' own rules), so nothing
//! on chain goes through the lenient parse. [`crate::codes::inspect`], behind
//! `suyuan code inspect` and the API's code lookups, reads pasted links leniently and reports the
//! rewrites as warnings. A resolver reads leniently and answers a link that is not
//! [`Lenient::is_canonical`] with a redirect (307) to [`DigitalLink::to_uri`].
//!
//! # Decisions where the standard leaves room, and why
//!
//! - Values are percent-decoded in the path and the query; a `%` not followed by two hexadecimal
//!   digits, or one that decodes to NUL, is refused. `+` is a space in the query and a plus sign
//!   in the path. *A difference:* the reference refuses the NUL too but takes a malformed escape
//!   literally, as a `%` in the value. Suyuan does not follow it there: such a string is not a
//!   URI (RFC 3986 section 2.1 reserves `%` for escapes), and reading it literally would turn a
//!   mistyped escape into data instead of an error. A `%` in a value is written `%25`.
//! - An AI may appear once across path and query, even with the same value.
//! - A query AI that could stand in the path as a qualifier of the primary key (batch 10 next
//!   to a GTIN, say) is refused: it belongs in the path.
//! - A query parameter whose name is all digits, or empty, must name a known AI, as in the
//!   reference.
//! - The host is checked for characters a domain cannot hold, not for its form. Empty segments
//!   may stand in the stem (`https://a//01/…`), as the reference reads them, but not from the
//!   primary key on.
//! - Convenience alphas (`/gtin/` for `/01/`), deprecated by GS1 and off in the reference by
//!   default, are not accepted.
//! - A URI is at most [`MAX_DIGITAL_LINK_BYTES`]. *A difference:* the reference also stops at 64
//!   AIs and query parameters together, the size of its fixed table rather than a rule of the
//!   standard; Suyuan does not count them, since the byte bound already bounds the work.
//!
//! After these checks the combined AIs go through [`ElementString::from_pairs`], so a Digital
//! Link is held to exactly the element-string rules. [`DigitalLink::to_uri`] writes the
//! canonical form: qualifiers in the dictionary's order, data attributes sorted by AI, values
//! percent-encoded except for RFC 3986 unreserved characters.

use std::fmt;
use std::iter;
use std::str::FromStr;

use thiserror::Error;

use super::dictionary::{Ai, AiSpec, dictionary};
use super::element::{ElementError, ElementString, char_at};
use super::keys::{GTIN_LENGTHS, GTIN_NORMALISED_LENGTH, Gtin, KeyError};

/// Longest URI accepted, in bytes: above the 2,953 bytes a QR Code holds.
pub const MAX_DIGITAL_LINK_BYTES: usize = 4_096;

/// The stem GS1 uses for canonical Digital Link URIs.
pub const CANONICAL_STEM: &str = "https://id.gs1.org";

/// The schemes a Digital Link may have, in their canonical (lower) case.
const SCHEMES: [&str; 2] = ["http", "https"];

/// Characters allowed to appear in a URI (RFC 3986 unreserved and reserved, and `%`).
const URI_PUNCTUATION: &[u8] = b"-._~:/?#[]@!$&'()*+,;=%";

/// URI characters that cannot appear in a host name.
const BAD_HOST_CHARACTERS: &[u8] = b"_~?#@!$&'()*+,;=%";

/// Why a URI is not a valid GS1 Digital Link.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DigitalLinkError {
    /// The URI exceeds [`MAX_DIGITAL_LINK_BYTES`].
    #[error("URI of {found_bytes} bytes exceeds the limit of {max_bytes}")]
    TooLong {
        /// The limit.
        max_bytes: usize,
        /// Bytes found.
        found_bytes: usize,
    },
    /// A character that may not appear in a URI.
    #[error("character {found:?} at byte {position} may not appear in a URI")]
    IllegalCharacter {
        /// Byte offset in the URI.
        position: usize,
        /// The character.
        found: char,
    },
    /// Not `http://` or `https://` in any case.
    #[error("scheme {found:?} is not http or https")]
    UnsupportedScheme {
        /// What stood before `://`, or the whole URI when there is no `://`.
        found: String,
    },
    /// `http` or `https` in mixed case, which GS1's reference refuses (it reads a scheme all in
    /// lower or all in upper case). Only [`DigitalLink::parse`] refuses it.
    #[error("scheme {found:?} mixes upper and lower case; its canonical form is {canonical:?}")]
    MixedCaseScheme {
        /// The scheme as written.
        found: String,
        /// The scheme in lower case.
        canonical: &'static str,
    },
    /// Nothing between `://` and the path.
    #[error("the URI has no host")]
    MissingHost,
    /// A host character that a domain cannot hold.
    #[error("host character {found:?} at byte {position} is not allowed")]
    IllegalHostCharacter {
        /// Byte offset in the URI.
        position: usize,
        /// The character.
        found: char,
    },
    /// No path after the host.
    #[error("the URI has no path")]
    MissingPath,
    /// The path ends with `/`.
    #[error("the path ends with '/'")]
    TrailingSlash,
    /// Two consecutive `/` from the primary key on.
    #[error("empty path segment at byte {position}")]
    EmptySegment {
        /// Byte offset in the URI.
        position: usize,
    },
    /// No path segment names a primary key AI followed by its value.
    #[error("no GS1 Digital Link primary key in the path")]
    NoPrimaryKey,
    /// A path segment after the primary key, where a qualifier AI belongs, is not an AI.
    #[error("path segment {found:?} at byte {position} is not a known AI")]
    UnknownPathAi {
        /// Byte offset in the URI.
        position: usize,
        /// The segment.
        found: String,
    },
    /// The path's qualifiers are not an ordered selection from one of the key's sequences.
    #[error(
        "qualifiers {qualifiers:?} are not an ordered selection of AI ({key})'s key qualifiers"
    )]
    InvalidQualifiers {
        /// The primary key.
        key: Ai,
        /// The qualifiers, in path order.
        qualifiers: Vec<Ai>,
    },
    /// `%` not followed by two hexadecimal digits.
    #[error("bad percent-encoding at byte {position}")]
    BadPercentEncoding {
        /// Byte offset in the URI.
        position: usize,
    },
    /// A percent-encoded NUL.
    #[error("percent-encoded NUL at byte {position}")]
    NulCharacter {
        /// Byte offset in the URI.
        position: usize,
    },
    /// Percent-decoding gives bytes that are not UTF-8.
    #[error("percent-decoded value at byte {position} is not UTF-8")]
    NotUtf8 {
        /// Byte offset in the URI where the value starts.
        position: usize,
    },
    /// An AI with an empty value.
    #[error("AI ({ai}) has an empty value")]
    EmptyValue {
        /// The AI.
        ai: Ai,
    },
    /// A query parameter name that is all digits, or empty, but not a known AI.
    #[error(
        "query parameter name {found:?} at byte {position} is all digits or empty, but no known AI"
    )]
    UnknownQueryAi {
        /// Byte offset in the URI.
        position: usize,
        /// The parameter name.
        found: String,
    },
    /// An AI that may not be a Digital Link data attribute.
    #[error("AI ({ai}) may not be a Digital Link data attribute")]
    NotDataAttribute {
        /// The AI.
        ai: Ai,
    },
    /// A query AI that belongs in the path as a key qualifier.
    #[error("AI ({ai}) qualifies AI ({key}) and belongs in the path, not the query")]
    QualifierInQuery {
        /// The primary key.
        key: Ai,
        /// The misplaced qualifier.
        ai: Ai,
    },
    /// An AI given twice.
    #[error("AI ({ai}) appears more than once")]
    DuplicateAi {
        /// The AI.
        ai: Ai,
    },
    /// A valid GTIN-8, -12 or -13 for AI 01 in the path, which GS1's reference refuses by
    /// default. Only [`DigitalLink::parse`] refuses it.
    #[error("GTIN {found} in a Digital Link must be written as 14 digits: {canonical}")]
    ZeroSuppressedGtin {
        /// The GTIN as written.
        found: String,
        /// The same GTIN in 14 digits.
        canonical: Gtin,
    },
    /// A short GTIN that cannot be padded to GTIN-14.
    #[error("AI (01): {source}")]
    Gtin {
        /// Why the GTIN is invalid.
        source: KeyError,
    },
    /// The combined AIs break an element-string rule.
    #[error(transparent)]
    Element(#[from] ElementError),
}

/// A spelling that a parse set right on the way to the canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rewrite {
    /// The scheme in upper or mixed case.
    SchemeCase {
        /// The scheme as written.
        found: String,
        /// The scheme in lower case.
        canonical: &'static str,
    },
    /// A GTIN-8, -12 or -13 for AI 01, padded with leading zeros.
    ZeroSuppressedGtin {
        /// The GTIN as written.
        found: String,
        /// The same GTIN in 14 digits.
        canonical: Gtin,
        /// Whether it stood in the path rather than the query.
        in_path: bool,
    },
}

impl Rewrite {
    /// Whether GS1's reference parser, with its default options, refuses a URI for this
    /// spelling: a scheme in mixed case, or a zero-suppressed GTIN in the path.
    /// [`DigitalLink::parse`] refuses exactly these.
    pub fn refused_by_default(&self) -> bool {
        match self {
            Rewrite::SchemeCase { found, .. } => {
                found.bytes().any(|b| b.is_ascii_lowercase())
                    && found.bytes().any(|b| b.is_ascii_uppercase())
            }
            Rewrite::ZeroSuppressedGtin { in_path, .. } => *in_path,
        }
    }

    /// The error [`DigitalLink::parse`] refuses this spelling with.
    fn into_error(self) -> DigitalLinkError {
        debug_assert!(self.refused_by_default(), "{self} is read by default");
        match self {
            Rewrite::SchemeCase { found, canonical } => {
                DigitalLinkError::MixedCaseScheme { found, canonical }
            }
            Rewrite::ZeroSuppressedGtin {
                found, canonical, ..
            } => DigitalLinkError::ZeroSuppressedGtin { found, canonical },
        }
    }
}

impl fmt::Display for Rewrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rewrite::SchemeCase { found, canonical } => {
                write!(f, "scheme {found:?} is canonically {canonical:?}")?;
            }
            Rewrite::ZeroSuppressedGtin {
                found, canonical, ..
            } => write!(
                f,
                "GTIN {found} is canonically written as 14 digits: {canonical}"
            )?,
        }
        if self.refused_by_default() {
            f.write_str("; GS1's reference parser refuses it as written")?;
        }
        Ok(())
    }
}

/// A Digital Link read by [`DigitalLink::parse_lenient`], with the spellings set right to read
/// it.
///
/// ```
/// use suyuan_ledger::codes::gs1::digital_link::{DigitalLink, DigitalLinkError};
///
/// let pasted = "HTTPS://example.com/01/9520123456788?17=270101";
/// let read = DigitalLink::parse_lenient(pasted)?;
/// assert_eq!(read.rewrites().len(), 2);
/// assert!(!read.is_canonical());
/// assert_eq!(read.link().to_string(), "https://example.com/01/09520123456788?17=270101");
/// assert!(matches!(
///     DigitalLink::parse(pasted),
///     Err(DigitalLinkError::ZeroSuppressedGtin { .. })
/// ));
/// # Ok::<(), suyuan_ledger::codes::gs1::digital_link::DigitalLinkError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lenient {
    link: DigitalLink,
    rewrites: Vec<Rewrite>,
}

impl Lenient {
    /// The link, in its canonical spellings: what [`DigitalLink::parse`] gives for the
    /// canonical form of the input.
    pub fn link(&self) -> &DigitalLink {
        &self.link
    }

    /// The link, giving up the rewrites.
    pub fn into_link(self) -> DigitalLink {
        self.link
    }

    /// The spellings set right, in the order they appeared.
    pub fn rewrites(&self) -> &[Rewrite] {
        &self.rewrites
    }

    /// Whether the scheme was lower case and every GTIN 14 digits, so that a resolver owes no
    /// redirect. Other differences from [`DigitalLink::to_uri`] (data attributes out of order,
    /// escapes of unreserved characters, non-AI query parameters such as `linkType`, a fragment)
    /// are not counted: the standard allows them, and a resolver must keep the parameters it
    /// understands. Compare the input with [`DigitalLink::to_uri`] to catch those too.
    pub fn is_canonical(&self) -> bool {
        self.rewrites.is_empty()
    }
}

/// A validated GS1 Digital Link: a primary key, its qualifiers and data attributes.
///
/// ```
/// use suyuan_ledger::codes::gs1::digital_link::DigitalLink;
///
/// let link: DigitalLink = "https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=180426".parse()?;
/// let (key, gtin) = link.primary_key();
/// assert_eq!((key.as_str(), gtin), ("01", "09520123456788"));
/// assert_eq!(link.element_string().to_string(), "(01)09520123456788(10)ABC1(21)12345(17)180426");
/// assert_eq!(link.to_uri("https://example.com/"), "https://example.com/01/09520123456788/10/ABC1/21/12345?17=180426");
/// # Ok::<(), suyuan_ledger::codes::gs1::digital_link::DigitalLinkError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitalLink {
    stem: String,
    key: (Ai, String),
    qualifiers: Vec<(Ai, String)>,
    attributes: Vec<(Ai, String)>,
    elements: ElementString,
}

impl DigitalLink {
    /// Parses and validates a Digital Link URI as GS1's reference parser does with its default
    /// options: a scheme in mixed case ([`DigitalLinkError::MixedCaseScheme`]) and a GTIN-8,
    /// -12 or -13 in the path ([`DigitalLinkError::ZeroSuppressedGtin`]) are refused; a scheme
    /// in upper case and a short GTIN in the query are read. The link holds the canonical
    /// spellings either way.
    pub fn parse(uri: &str) -> Result<Self, DigitalLinkError> {
        read(uri, Reading::Gs1Default).map(Lenient::into_link)
    }

    /// Parses and validates a Digital Link URI as [`DigitalLink::parse`] does, but also reads a
    /// scheme in mixed case and a zero-suppressed GTIN in the path, and reports each spelling it
    /// set right. For links people paste or scan from old labels; never for records.
    pub fn parse_lenient(uri: &str) -> Result<Lenient, DigitalLinkError> {
        read(uri, Reading::Lenient)
    }

    /// Arranges an element string as a Digital Link under [`CANONICAL_STEM`].
    ///
    /// The primary key is the first element that is one; its qualifiers go in the path,
    /// following the key's qualifier sequence that covers the most of them; every other element
    /// becomes a data attribute and must be allowed as one.
    pub fn from_element_string(elements: &ElementString) -> Result<Self, DigitalLinkError> {
        let mut rest: Vec<(Ai, String)> = elements
            .iter()
            .map(|(ai, value)| (*ai, value.to_owned()))
            .collect();
        let key_position = rest
            .iter()
            .position(|(ai, _)| dictionary().get(*ai).is_some_and(AiSpec::is_dl_primary_key))
            .ok_or(DigitalLinkError::NoPrimaryKey)?;
        let key = rest.remove(key_position);
        let alternatives = qualifier_alternatives(key.0);
        let covered = |sequence: &Vec<Ai>| {
            sequence
                .iter()
                .filter(|q| rest.iter().any(|(ai, _)| ai == *q))
                .count()
        };
        // The first sequence among those covering the most present qualifiers.
        let best = alternatives
            .iter()
            .fold(None::<&Vec<Ai>>, |best, candidate| match best {
                Some(b) if covered(b) >= covered(candidate) => Some(b),
                _ => Some(candidate),
            })
            .cloned()
            .unwrap_or_default();
        let mut qualifiers = Vec::new();
        for qualifier in best {
            if let Some(i) = rest.iter().position(|(ai, _)| *ai == qualifier) {
                qualifiers.push(rest.remove(i));
            }
        }
        DigitalLink::assemble(CANONICAL_STEM.to_owned(), key, qualifiers, rest)
    }

    /// Checks the Digital Link structure, then the element-string rules over all the AIs.
    fn assemble(
        stem: String,
        key: (Ai, String),
        qualifiers: Vec<(Ai, String)>,
        mut attributes: Vec<(Ai, String)>,
    ) -> Result<Self, DigitalLinkError> {
        let alternatives = qualifier_alternatives(key.0);
        let path_ais: Vec<Ai> = qualifiers.iter().map(|(ai, _)| *ai).collect();
        if !is_qualifier_sequence(alternatives, &path_ais) {
            return Err(DigitalLinkError::InvalidQualifiers {
                key: key.0,
                qualifiers: path_ais,
            });
        }
        let mut seen = Vec::new();
        for (ai, value) in iter::once(&key).chain(&qualifiers).chain(&attributes) {
            if value.is_empty() {
                return Err(DigitalLinkError::EmptyValue { ai: *ai });
            }
            if seen.contains(ai) {
                return Err(DigitalLinkError::DuplicateAi { ai: *ai });
            }
            seen.push(*ai);
        }
        for (ai, _) in &attributes {
            if !dictionary()
                .get(*ai)
                .is_some_and(AiSpec::is_dl_data_attribute)
            {
                return Err(DigitalLinkError::NotDataAttribute { ai: *ai });
            }
            if would_qualify(alternatives, &path_ais, *ai) {
                return Err(DigitalLinkError::QualifierInQuery {
                    key: key.0,
                    ai: *ai,
                });
            }
        }
        attributes.sort_by_key(|(ai, _)| *ai);
        let all = iter::once(&key)
            .chain(&qualifiers)
            .chain(&attributes)
            .map(|(ai, value)| (*ai, value.clone()));
        let elements = ElementString::from_pairs(all)?;
        Ok(DigitalLink {
            stem,
            key,
            qualifiers,
            attributes,
            elements,
        })
    }

    /// The primary key AI and its value.
    pub fn primary_key(&self) -> (&Ai, &str) {
        (&self.key.0, &self.key.1)
    }

    /// The key qualifiers, in path order.
    pub fn qualifiers(&self) -> impl Iterator<Item = (&Ai, &str)> {
        self.qualifiers
            .iter()
            .map(|(ai, value)| (ai, value.as_str()))
    }

    /// The data attributes, sorted by AI.
    pub fn attributes(&self) -> impl Iterator<Item = (&Ai, &str)> {
        self.attributes
            .iter()
            .map(|(ai, value)| (ai, value.as_str()))
    }

    /// All AIs as an element string: key, qualifiers, then attributes.
    pub fn element_string(&self) -> &ElementString {
        &self.elements
    }

    /// Scheme (in lower case), host and stem path the URI was parsed with, or
    /// [`CANONICAL_STEM`]. A stem ending in `/` (an empty segment just before the primary key)
    /// is kept as it was: [`fmt::Display`] writes it back, where [`DigitalLink::to_uri`] would
    /// drop the `/`.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// Writes the canonical URI under `base` (scheme, host and optional stem path; a trailing
    /// `/` is dropped). `base` is taken as given: pass one that [`DigitalLink::parse`] accepts.
    pub fn to_uri(&self, base: &str) -> String {
        self.uri_under(base.trim_end_matches('/'))
    }

    /// `stem`, as given, followed by the canonical path and query.
    fn uri_under(&self, stem: &str) -> String {
        let mut uri = stem.to_owned();
        for (ai, value) in iter::once(&self.key).chain(&self.qualifiers) {
            uri.push('/');
            uri.push_str(ai.as_str());
            uri.push('/');
            percent_encode_into(&mut uri, value);
        }
        for (i, (ai, value)) in self.attributes.iter().enumerate() {
            uri.push(if i == 0 { '?' } else { '&' });
            uri.push_str(ai.as_str());
            uri.push('=');
            percent_encode_into(&mut uri, value);
        }
        uri
    }
}

impl FromStr for DigitalLink {
    type Err = DigitalLinkError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DigitalLink::parse(s)
    }
}

impl fmt::Display for DigitalLink {
    /// The canonical URI under the link's own stem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri_under(&self.stem))
    }
}

impl TryFrom<&ElementString> for DigitalLink {
    type Error = DigitalLinkError;

    fn try_from(elements: &ElementString) -> Result<Self, Self::Error> {
        DigitalLink::from_element_string(elements)
    }
}

impl From<DigitalLink> for ElementString {
    fn from(link: DigitalLink) -> Self {
        link.elements
    }
}

/// Which spellings a parse reads besides the canonical ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Those GS1's reference reads with its default options: every [`Rewrite`] but those
    /// [`Rewrite::refused_by_default`].
    Gs1Default,
    /// Every [`Rewrite`].
    Lenient,
}

/// Parses `uri` under `reading`; the one parser behind [`DigitalLink::parse`] and
/// [`DigitalLink::parse_lenient`].
fn read(uri: &str, reading: Reading) -> Result<Lenient, DigitalLinkError> {
    if uri.len() > MAX_DIGITAL_LINK_BYTES {
        return Err(DigitalLinkError::TooLong {
            max_bytes: MAX_DIGITAL_LINK_BYTES,
            found_bytes: uri.len(),
        });
    }
    if let Some(position) = uri
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || URI_PUNCTUATION.contains(&b)))
    {
        return Err(DigitalLinkError::IllegalCharacter {
            position,
            found: char_at(uri, position),
        });
    }
    // Every byte is ASCII from here on, so any offset is a character boundary.
    let uri = uri.split('#').next().unwrap_or_default();
    let mut rewrites = Rewrites {
        reading,
        applied: Vec::new(),
    };
    let authority = authority(uri, &mut rewrites)?;
    let (path, query) = uri[authority.path_start..]
        .split_once('?')
        .unwrap_or((&uri[authority.path_start..], ""));
    let query_start = authority.path_start + path.len() + 1;
    let segments = path_segments(path, authority.path_start)?;

    let key_index = primary_key_index(&segments).ok_or(DigitalLinkError::NoPrimaryKey)?;
    // The stem may hold empty segments; the key, its qualifiers and their values may not.
    if let Some(&(position, _)) = segments[key_index..].iter().find(|(_, s)| s.is_empty()) {
        return Err(DigitalLinkError::EmptySegment { position });
    }
    // `primary_key_index` only returns an index whose segment names a dictionary AI.
    let key_ai = dictionary()
        .lookup(segments[key_index].1)
        .map(AiSpec::ai)
        .ok_or(DigitalLinkError::NoPrimaryKey)?;
    let stem = format!(
        "{}{}",
        authority.scheme,
        &uri[authority.scheme_len..segments[key_index].0 - 1]
    );
    let key = path_pair(key_ai, segments[key_index + 1], &mut rewrites)?;
    let qualifiers = segments[key_index + 2..]
        .chunks_exact(2)
        .map(|pair| {
            let (position, code) = pair[0];
            let ai = dictionary().lookup(code).map(AiSpec::ai).ok_or_else(|| {
                DigitalLinkError::UnknownPathAi {
                    position,
                    found: code.to_owned(),
                }
            })?;
            path_pair(ai, pair[1], &mut rewrites)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let attributes = query_attributes(query, query_start, &mut rewrites)?;
    let link = DigitalLink::assemble(stem, key, qualifiers, attributes)?;
    Ok(Lenient {
        link,
        rewrites: rewrites.applied,
    })
}

/// The rewrites of one parse: the one place that decides which spellings its reading allows.
struct Rewrites {
    reading: Reading,
    applied: Vec<Rewrite>,
}

impl Rewrites {
    /// Records `rewrite`, or refuses it as the error [`DigitalLink::parse`] gives.
    fn apply(&mut self, rewrite: Rewrite) -> Result<(), DigitalLinkError> {
        if self.reading == Reading::Gs1Default && rewrite.refused_by_default() {
            return Err(rewrite.into_error());
        }
        self.applied.push(rewrite);
        Ok(())
    }

    /// The scheme in its canonical case, when `found` is `http` or `https` in any case.
    fn scheme(&mut self, found: &str) -> Result<&'static str, DigitalLinkError> {
        let canonical = SCHEMES
            .into_iter()
            .find(|scheme| scheme.eq_ignore_ascii_case(found))
            .ok_or_else(|| DigitalLinkError::UnsupportedScheme {
                found: found.to_owned(),
            })?;
        if found != canonical {
            self.apply(Rewrite::SchemeCase {
                found: found.to_owned(),
                canonical,
            })?;
        }
        Ok(canonical)
    }

    /// `value` with a GTIN-8, -12 or -13 given for AI 01 padded to 14 digits; other values pass
    /// unchanged for the element-string rules to judge.
    fn value(&mut self, ai: Ai, value: String, in_path: bool) -> Result<String, DigitalLinkError> {
        let short_gtin = ai == Ai::GTIN
            && value.len() != GTIN_NORMALISED_LENGTH
            && GTIN_LENGTHS.contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_digit());
        if !short_gtin {
            return Ok(value);
        }
        let canonical: Gtin = value
            .parse()
            .map_err(|source| DigitalLinkError::Gtin { source })?;
        let digits = canonical.as_str().to_owned();
        self.apply(Rewrite::ZeroSuppressedGtin {
            found: value,
            canonical,
            in_path,
        })?;
        Ok(digits)
    }
}

/// Where the scheme and host of a URI end.
struct Authority {
    /// The scheme in its canonical case.
    scheme: &'static str,
    /// Bytes of the scheme as written.
    scheme_len: usize,
    /// Byte offset where the path starts.
    path_start: usize,
}

/// Checks scheme and host.
fn authority(uri: &str, rewrites: &mut Rewrites) -> Result<Authority, DigitalLinkError> {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(DigitalLinkError::UnsupportedScheme {
            found: uri.to_owned(),
        });
    };
    let canonical = rewrites.scheme(scheme)?;
    let host_start = scheme.len() + 3;
    let host_len = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = &rest[..host_len];
    if host.is_empty() {
        return Err(DigitalLinkError::MissingHost);
    }
    if let Some(i) = host.bytes().position(|b| BAD_HOST_CHARACTERS.contains(&b)) {
        let position = host_start + i;
        return Err(DigitalLinkError::IllegalHostCharacter {
            position,
            found: char_at(uri, position),
        });
    }
    if !rest[host_len..].starts_with('/') {
        return Err(DigitalLinkError::MissingPath);
    }
    Ok(Authority {
        scheme: canonical,
        scheme_len: scheme.len(),
        path_start: host_start + host_len,
    })
}

/// Splits the path (starting with `/` at byte `offset` of the URI) into segments with their
/// offsets. Empty segments are kept: only the stem may hold them.
fn path_segments(path: &str, offset: usize) -> Result<Vec<(usize, &str)>, DigitalLinkError> {
    if path.ends_with('/') {
        return Err(DigitalLinkError::TrailingSlash);
    }
    let mut segments = Vec::new();
    let mut position = offset + 1;
    for segment in path[1..].split('/') {
        segments.push((position, segment));
        position += segment.len() + 1;
    }
    Ok(segments)
}

/// The index of the last segment, an even number of segments from the end, that names a
/// primary key AI.
fn primary_key_index(segments: &[(usize, &str)]) -> Option<usize> {
    let n = segments.len();
    (0..n.saturating_sub(1)).rev().step_by(2).find(|&i| {
        dictionary()
            .lookup(segments[i].1)
            .is_some_and(AiSpec::is_dl_primary_key)
    })
}

fn path_pair(
    ai: Ai,
    (position, raw): (usize, &str),
    rewrites: &mut Rewrites,
) -> Result<(Ai, String), DigitalLinkError> {
    let value = percent_decode(raw, position, false)?;
    Ok((ai, rewrites.value(ai, value, true)?))
}

/// Reads the data attributes from the query (starting at byte `offset` of the URI).
fn query_attributes(
    query: &str,
    offset: usize,
    rewrites: &mut Rewrites,
) -> Result<Vec<(Ai, String)>, DigitalLinkError> {
    let mut attributes = Vec::new();
    let mut position = offset;
    for parameter in query.split('&') {
        let start = position;
        position += parameter.len() + 1;
        let Some((name, raw)) = parameter.split_once('=') else {
            continue;
        };
        // An empty name counts as all digits, and so must be an AI, as in GS1's reference.
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let ai = dictionary().lookup(name).map(AiSpec::ai).ok_or_else(|| {
            DigitalLinkError::UnknownQueryAi {
                position: start,
                found: name.to_owned(),
            }
        })?;
        if raw.is_empty() {
            return Err(DigitalLinkError::EmptyValue { ai });
        }
        let value = percent_decode(raw, start + name.len() + 1, true)?;
        attributes.push((ai, rewrites.value(ai, value, false)?));
    }
    Ok(attributes)
}

fn qualifier_alternatives(key: Ai) -> &'static [Vec<Ai>] {
    dictionary()
        .get(key)
        .and_then(AiSpec::dl_qualifier_alternatives)
        .unwrap_or_default()
}

/// Whether `qualifiers` is an ordered selection from one of the alternatives.
fn is_qualifier_sequence(alternatives: &[Vec<Ai>], qualifiers: &[Ai]) -> bool {
    alternatives.iter().any(|sequence| {
        let mut remaining = sequence.iter();
        qualifiers.iter().all(|q| remaining.any(|s| s == q))
    })
}

/// Whether inserting `ai` somewhere among the path qualifiers gives a valid sequence.
fn would_qualify(alternatives: &[Vec<Ai>], qualifiers: &[Ai], ai: Ai) -> bool {
    (0..=qualifiers.len()).any(|at| {
        let mut candidate = qualifiers.to_vec();
        candidate.insert(at, ai);
        is_qualifier_sequence(alternatives, &candidate)
    })
}

/// Decodes `%XX` escapes (and `+` as a space in queries) of text starting at byte `offset`.
pub fn percent_decode(
    raw: &str,
    offset: usize,
    plus_is_space: bool,
) -> Result<String, DigitalLinkError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let position = offset + i;
                let byte = bytes
                    .get(i + 1..i + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or(DigitalLinkError::BadPercentEncoding { position })?;
                if byte == 0 {
                    return Err(DigitalLinkError::NulCharacter { position });
                }
                out.push(byte);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| DigitalLinkError::NotUtf8 { position: offset })
}

/// Appends `value` with every byte outside RFC 3986's unreserved set as `%XX`.
pub fn percent_encode_into(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(uri: &str) -> Result<DigitalLink, DigitalLinkError> {
        uri.parse()
    }

    fn lenient(uri: &str) -> Lenient {
        DigitalLink::parse_lenient(uri).unwrap()
    }

    fn ai(code: &str) -> Ai {
        code.parse().unwrap()
    }

    fn gtin(digits: &str) -> Gtin {
        digits.parse().unwrap()
    }

    fn bracketed(uri: &str) -> String {
        parse(uri).unwrap().element_string().to_string()
    }

    #[test]
    fn stems_hosts_and_schemes() {
        for uri in [
            "https://a/00/006141411234567890",
            "http://a/00/006141411234567890",
            "HTTPS://a/00/006141411234567890",
            "HTTP://a/00/006141411234567890",
            "https://a/stem/00/006141411234567890",
            "https://a/more/stem/00/006141411234567890",
            "https://a/00/faux/00/006141411234567890",
            "https://a//00/006141411234567890",
            "https://a/more//stem/00/006141411234567890",
            "https://a:65535/00/006141411234567890",
            "https://[2001:db8::1]/00/006141411234567890",
            "https://xn--fsq.xn--0zwm56d/00/006141411234567890",
            "https://a/stem/00/006141411234567890?",
            "https://a/stem/00/006141411234567890#fragment",
        ] {
            assert_eq!(bracketed(uri), "(00)006141411234567890", "{uri}");
        }
        let link = parse("https://a/more/stem/00/006141411234567890").unwrap();
        assert_eq!(link.stem(), "https://a/more/stem");
        assert_eq!(
            link.to_string(),
            "https://a/more/stem/00/006141411234567890"
        );
        assert_eq!(
            parse("https://a/00/faux/00/006141411234567890")
                .unwrap()
                .stem(),
            "https://a/00/faux"
        );
        // An upper-case scheme is read, and the link holds it in lower case.
        assert_eq!(
            parse("HTTPS://a/more/stem/00/006141411234567890").unwrap(),
            link
        );
        // Empty segments in the stem are kept and written back as they were.
        for uri in [
            "https://a//00/006141411234567890",
            "https://a/more//stem/00/006141411234567890",
        ] {
            assert_eq!(parse(uri).unwrap().to_string(), uri);
        }
        let slashed = parse("https://a//00/006141411234567890").unwrap();
        assert_eq!(slashed.stem(), "https://a/");
        assert_eq!(
            slashed.to_uri(slashed.stem()),
            "https://a/00/006141411234567890"
        );
    }

    #[test]
    fn malformed_uris() {
        use DigitalLinkError as E;
        assert_eq!(
            parse("").unwrap_err(),
            E::UnsupportedScheme {
                found: String::new()
            }
        );
        assert_eq!(
            parse("ftp://a/00/006141411234567890").unwrap_err(),
            E::UnsupportedScheme {
                found: "ftp".to_owned()
            }
        );
        assert_eq!(
            parse("http:///00/006141411234567890").unwrap_err(),
            E::MissingHost
        );
        assert_eq!(parse("http://a").unwrap_err(), E::MissingPath);
        assert_eq!(parse("http://a?17=180426").unwrap_err(), E::MissingPath);
        assert_eq!(parse("http://a/").unwrap_err(), E::TrailingSlash);
        assert_eq!(parse("http://a/b").unwrap_err(), E::NoPrimaryKey);
        assert_eq!(
            parse("https://00/006141411234567890").unwrap_err(),
            E::NoPrimaryKey
        );
        assert_eq!(
            parse("https://a$/00/006141411234567890").unwrap_err(),
            E::IllegalHostCharacter {
                position: 9,
                found: '$'
            }
        );
        assert_eq!(
            parse("https://a/0 0/1").unwrap_err(),
            E::IllegalCharacter {
                position: 11,
                found: ' '
            }
        );
        assert_eq!(
            parse("https://a/stem/00/006141411234567890/").unwrap_err(),
            E::TrailingSlash
        );
        // From the primary key on, no segment may be empty.
        assert_eq!(
            parse("https://a/01//10/ABC").unwrap_err(),
            E::EmptySegment { position: 13 }
        );
        let long = format!(
            "https://a/01/09520123456788?99={}",
            "A".repeat(MAX_DIGITAL_LINK_BYTES)
        );
        assert!(matches!(parse(&long).unwrap_err(), E::TooLong { .. }));
    }

    #[test]
    fn a_mixed_case_scheme_is_refused_by_default_and_read_leniently() {
        use DigitalLinkError as E;
        assert_eq!(
            parse("Https://a/00/006141411234567890").unwrap_err(),
            E::MixedCaseScheme {
                found: "Https".to_owned(),
                canonical: "https"
            }
        );
        assert_eq!(
            parse("hTTP://a/00/006141411234567890").unwrap_err(),
            E::MixedCaseScheme {
                found: "hTTP".to_owned(),
                canonical: "http"
            }
        );
        assert_eq!(
            parse("Https://a/00/006141411234567890")
                .unwrap_err()
                .to_string(),
            "scheme \"Https\" mixes upper and lower case; its canonical form is \"https\""
        );
        let read = lenient("HtTpS://a/00/006141411234567890");
        assert_eq!(
            read.rewrites(),
            [Rewrite::SchemeCase {
                found: "HtTpS".to_owned(),
                canonical: "https"
            }]
        );
        assert!(read.rewrites()[0].refused_by_default());
        assert!(!read.is_canonical());
        assert_eq!(
            read.link(),
            &parse("https://a/00/006141411234567890").unwrap()
        );
        // GS1's reference reads a scheme all in upper case, so both parses do; it is still
        // not the canonical spelling.
        let read = lenient("HTTP://a/00/006141411234567890");
        assert!(!read.rewrites()[0].refused_by_default());
        assert!(!read.is_canonical());
        // Neither parse reads another scheme.
        assert_eq!(
            DigitalLink::parse_lenient("Ftp://a/00/006141411234567890").unwrap_err(),
            E::UnsupportedScheme {
                found: "Ftp".to_owned()
            }
        );
    }

    #[test]
    fn zero_suppressed_gtins() {
        use DigitalLinkError as E;
        // In the path GS1's reference refuses them by default, and so does `parse`.
        for (uri, found, canonical) in [
            (
                "https://a/01/2112345678900",
                "2112345678900",
                "02112345678900",
            ),
            (
                "https://a/01/416000336108",
                "416000336108",
                "00416000336108",
            ),
            ("https://a/01/02345673", "02345673", "00000002345673"),
        ] {
            assert_eq!(
                parse(uri).unwrap_err(),
                E::ZeroSuppressedGtin {
                    found: found.to_owned(),
                    canonical: gtin(canonical)
                },
                "{uri}"
            );
            let read = lenient(uri);
            assert_eq!(
                read.rewrites(),
                [Rewrite::ZeroSuppressedGtin {
                    found: found.to_owned(),
                    canonical: gtin(canonical),
                    in_path: true
                }],
                "{uri}"
            );
            assert_eq!(
                read.into_link(),
                parse(&format!("https://a/01/{canonical}")).unwrap()
            );
        }
        assert_eq!(
            E::ZeroSuppressedGtin {
                found: "9521234543213".to_owned(),
                canonical: gtin("09521234543213")
            }
            .to_string(),
            "GTIN 9521234543213 in a Digital Link must be written as 14 digits: 09521234543213"
        );
        // In the query the reference pads them whatever its options, and so does `parse`.
        let in_query = "https://example.com/8004/9520614141234567?01=9520123456788";
        assert_eq!(
            bracketed(in_query),
            "(8004)9520614141234567(01)09520123456788"
        );
        let read = lenient(in_query);
        assert_eq!(
            read.rewrites(),
            [Rewrite::ZeroSuppressedGtin {
                found: "9520123456788".to_owned(),
                canonical: gtin("09520123456788"),
                in_path: false
            }]
        );
        assert!(!read.rewrites()[0].refused_by_default());
        assert!(!read.is_canonical());
        // A short GTIN with a wrong check digit has no 14-digit form, under either reading.
        for uri in [
            "https://a/01/2112345678901",
            "https://a/8004/9520614141234567?01=9520123456789",
        ] {
            assert!(matches!(parse(uri).unwrap_err(), E::Gtin { .. }), "{uri}");
            assert!(
                matches!(DigitalLink::parse_lenient(uri).unwrap_err(), E::Gtin { .. }),
                "{uri}"
            );
        }
        // Nor is a value of another length a GTIN.
        assert!(matches!(
            DigitalLink::parse_lenient("https://a/01/123456789").unwrap_err(),
            E::Element(ElementError::ComponentTooShort { .. })
        ));
        let read = lenient("https://brand.example.com/some-extra/pathinfo/01/9520123456788");
        assert_eq!(
            read.link().to_string(),
            "https://brand.example.com/some-extra/pathinfo/01/09520123456788"
        );
    }

    #[test]
    fn rewrites_say_what_was_set_right() {
        let said = |uri: &str| -> Vec<String> {
            lenient(uri)
                .rewrites()
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(
            said("Https://a/01/9520123456788"),
            [
                "scheme \"Https\" is canonically \"https\"; GS1's reference parser refuses it as \
                 written",
                "GTIN 9520123456788 is canonically written as 14 digits: 09520123456788; GS1's \
                 reference parser refuses it as written",
            ]
        );
        assert_eq!(
            said("HTTPS://a/8004/9520614141234567?01=9520123456788"),
            [
                "scheme \"HTTPS\" is canonically \"https\"",
                "GTIN 9520123456788 is canonically written as 14 digits: 09520123456788",
            ]
        );
        // A canonical link needs no rewrite, whatever else it carries.
        let canonical = "https://a/01/09520123456788?linkType=all#top";
        assert!(lenient(canonical).is_canonical());
        assert_eq!(lenient(canonical).into_link(), parse(canonical).unwrap());
    }

    #[test]
    fn key_qualifier_sequences() {
        use DigitalLinkError as E;
        assert_eq!(
            bracketed("https://a/01/12312312312333/22/TEST/10/ABC/21/XYZ"),
            "(01)12312312312333(22)TEST(10)ABC(21)XYZ"
        );
        bracketed("https://a/01/12312312312333/22/TEST/21/XYZ");
        bracketed("https://a/01/12312312312333/10/ABC");
        bracketed("https://a/01/12312312312333/235/TEST");
        bracketed("https://a/8018/123456789012345675/8019/123");
        bracketed("https://id.gs1.org/414/9520123456788/254/32a%2Fb");
        assert_eq!(
            parse("https://a/01/12312312312333/10/ABC/22/TEST").unwrap_err(),
            E::InvalidQualifiers {
                key: Ai::GTIN,
                qualifiers: vec![Ai::BATCH, ai("22")]
            }
        );
        assert!(matches!(
            parse("https://a/01/12312312312333/22/TEST/10/ABC/235/X").unwrap_err(),
            E::InvalidQualifiers { .. }
        ));
        assert_eq!(
            parse("https://a/00/006141411234567890/10/ABC").unwrap_err(),
            E::InvalidQualifiers {
                key: Ai::SSCC,
                qualifiers: vec![Ai::BATCH]
            }
        );
        assert_eq!(
            parse("https://example.com/01/09520123456788/89/ABC123").unwrap_err(),
            E::UnknownPathAi {
                position: 38,
                found: "89".to_owned()
            }
        );
        assert!(matches!(
            parse("https://a/01/12312312312333/10/ABC/10/ABC").unwrap_err(),
            E::InvalidQualifiers { .. }
        ));
    }

    #[test]
    fn query_rules() {
        use DigitalLinkError as E;
        assert_eq!(
            bracketed("https://a/01/12312312312333?&&&99=ABC&&&&&&98=XYZ&&&"),
            "(01)12312312312333(98)XYZ(99)ABC"
        );
        assert_eq!(
            bracketed(
                "https://a/01/12312312312333?singleton1&unknown1=555&99=ABC&singleton2&98=XYZ"
            ),
            "(01)12312312312333(98)XYZ(99)ABC"
        );
        assert_eq!(
            parse("https://a/01/12312312312333?99=").unwrap_err(),
            E::EmptyValue { ai: ai("99") }
        );
        assert_eq!(
            parse("https://a/01/12312312312333?99=ABC&999=faux").unwrap_err(),
            E::UnknownQueryAi {
                position: 35,
                found: "999".to_owned()
            }
        );
        // An empty name is all digits, as GS1's reference reads it, and names no AI.
        assert_eq!(
            parse("https://a/01/12312312312333?=x").unwrap_err(),
            E::UnknownQueryAi {
                position: 28,
                found: String::new()
            }
        );
        assert_eq!(
            parse("https://a/01/12312312312333?21=S1").unwrap_err(),
            E::NotDataAttribute { ai: Ai::SERIAL }
        );
        assert_eq!(
            parse("https://example.com/01/09520123456788?10=ABC123").unwrap_err(),
            E::QualifierInQuery {
                key: Ai::GTIN,
                ai: Ai::BATCH
            }
        );
        assert_eq!(
            parse("https://example.com/01/09520123456788/21/S?10=ABC123").unwrap_err(),
            E::QualifierInQuery {
                key: Ai::GTIN,
                ai: Ai::BATCH
            }
        );
        // With the alternative qualifier 235 in the path, batch is an ordinary attribute.
        assert_eq!(
            bracketed("https://id.gs1.org/01/09520123456788/235/XYZ?10=ABC123"),
            "(01)09520123456788(235)XYZ(10)ABC123"
        );
        assert_eq!(
            bracketed("https://id.gs1.org/00/952012345678912345?02=09520123456788&37=25&10=ABC123"),
            "(00)952012345678912345(02)09520123456788(10)ABC123(37)25"
        );
    }

    #[test]
    fn duplicates_across_path_and_query() {
        use DigitalLinkError as E;
        for (uri, dup) in [
            (
                "https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&01=09520123456788",
                Ai::GTIN,
            ),
            (
                "https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&10=ABC123",
                Ai::BATCH,
            ),
            (
                "https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&99=XYZ789",
                ai("99"),
            ),
        ] {
            assert_eq!(parse(uri).unwrap_err(), E::DuplicateAi { ai: dup }, "{uri}");
        }
    }

    #[test]
    fn percent_encoding() {
        use DigitalLinkError as E;
        assert_eq!(
            bracketed("https://a/01/12312312312333/22/ABC%2d123?99=ABC&98=XYZ%2f987"),
            "(01)12312312312333(22)ABC-123(98)XYZ/987(99)ABC"
        );
        assert_eq!(
            bracketed("https://a/01/12312312312333/22/ABC+123"),
            "(01)12312312312333(22)ABC+123"
        );
        assert!(matches!(
            parse("https://a/01/12312312312333?98=XYZ+987").unwrap_err(),
            E::Element(ElementError::Charset { found: ' ', .. })
        ));
        assert_eq!(
            parse("https://a/01/12312312312333/22/A%4gB").unwrap_err(),
            E::BadPercentEncoding { position: 32 }
        );
        assert_eq!(
            parse("https://a/01/12312312312333/22/AB%2").unwrap_err(),
            E::BadPercentEncoding { position: 33 }
        );
        assert_eq!(
            parse("https://a/01/12312312312333/22/A%00B").unwrap_err(),
            E::NulCharacter { position: 32 }
        );
        assert_eq!(
            parse("https://a/01/12312312312333/22/A%FFB").unwrap_err(),
            E::NotUtf8 { position: 31 }
        );
        assert!(matches!(
            parse("https://a/01/12312312312333/22/%E6%89%B9").unwrap_err(),
            E::Element(ElementError::Charset { found: '批', .. })
        ));
        let link = parse("https://a/01/12312312312333/22/A%2FB%25C?99=%21%22%26").unwrap();
        assert_eq!(
            link.to_string(),
            "https://a/01/12312312312333/22/A%2FB%25C?99=%21%22%26"
        );
    }

    #[test]
    fn element_rules_apply() {
        use DigitalLinkError as E;
        assert!(matches!(
            parse("https://example.com/01/09520123456789").unwrap_err(),
            E::Element(ElementError::Lint { ai, .. }) if ai == Ai::GTIN
        ));
        assert!(matches!(
            parse("https://id.gs1.org/01/09520123456788?17=181301").unwrap_err(),
            E::Element(ElementError::Lint { .. })
        ));
        // 02 requires 37, which the link lacks.
        assert!(matches!(
            parse("https://id.gs1.org/00/952012345678912345?02=09520123456788").unwrap_err(),
            E::Element(ElementError::MissingAssociation { .. })
        ));
        // A digital signature signs only a serialised key, as GS1's reference holds.
        assert_eq!(
            parse("https://id.gs1.org/253/1231231231232?8030=c2lnbmF0dXJl").unwrap_err(),
            E::Element(ElementError::UnserialisedSignedKey { ai: ai("253") })
        );
        bracketed("https://id.gs1.org/253/1231231231232X1?8030=c2lnbmF0dXJl");
    }

    #[test]
    fn from_and_to_element_strings() {
        let es: ElementString = "(17)180426(21)12345(01)09520123456788(10)ABC1"
            .parse()
            .unwrap();
        let link = DigitalLink::from_element_string(&es).unwrap();
        assert_eq!(
            link.to_string(),
            "https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=180426"
        );
        assert_eq!(
            link.qualifiers()
                .map(|(a, v)| (a.as_str(), v))
                .collect::<Vec<_>>(),
            [("10", "ABC1"), ("21", "12345")]
        );
        assert_eq!(
            link.attributes()
                .map(|(a, v)| (a.as_str(), v))
                .collect::<Vec<_>>(),
            [("17", "180426")]
        );
        assert_eq!(DigitalLink::parse(&link.to_string()).unwrap(), link);
        let back: ElementString = link.into();
        assert_eq!(
            back.to_string(),
            "(01)09520123456788(10)ABC1(21)12345(17)180426"
        );

        let with_cpv: ElementString = "(01)09520123456788(235)XYZ".parse().unwrap();
        assert_eq!(
            DigitalLink::try_from(&with_cpv)
                .unwrap()
                .to_uri("https://example.com/stem/"),
            "https://example.com/stem/01/09520123456788/235/XYZ"
        );
        let no_key: ElementString = "(400)PO123".parse().unwrap();
        assert_eq!(
            DigitalLink::from_element_string(&no_key).unwrap_err(),
            DigitalLinkError::NoPrimaryKey
        );
        // A GLN with both of its alternative qualifiers cannot be one link.
        let gln: ElementString = "(414)9520123456788(254)A(7040)1AB-".parse().unwrap();
        assert!(DigitalLink::from_element_string(&gln).is_err());
    }
}
