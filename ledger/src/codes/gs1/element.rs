//! Parse and validate GS1 Application Identifier element strings.
//!
//! An [`ElementString`] is an ordered list of AI and value pairs in which every value satisfies
//! its dictionary entry (lengths, character sets, linters, optional components) and the pairs
//! together satisfy the cross-AI rules: no AI twice with different values, every `req=`
//! association present, no `ex=` exclusion violated, and a digital signature (AI 8030) only next
//! to a serialised key, a rule the dictionary's `req=` cannot say that GS1's reference parser
//! enforces. It is built from
//!
//! - the human-readable bracketed form, `(01)09520123456788(10)ABC1(17)180426`, where a literal
//!   `(` inside a value is written `\(` ([`ElementString::parse_bracketed`]);
//! - the unbracketed barcode form, `0109520123456788` `10ABC1` `<GS>` `17180426`, where a value
//!   of an AI without a predefined length ends at a group separator (ASCII 29) or `^`, either
//!   standing for FNC1 ([`ElementString::parse_unbracketed`]);
//! - pairs already split apart, for Digital Link and EPC conversions
//!   ([`ElementString::from_pairs`]).
//!
//! All three end in the same validation, the one place these rules live.
//!
//! The dictionary says `req=` and `ex=` should be judged over all the data a physical item
//! carries, across its barcodes. An `ElementString` is taken to be that whole: a fragment that
//! leans on another carrier (a batch without its GTIN) is rejected. [`validate_value`] checks a
//! single value on its own.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::dictionary::{Ai, AiSpec, Charset, Requirement, dictionary};
use super::linters::{LintFailureKind, Linter};

/// Longest input accepted, in bytes: above what any GS1 carrier holds (a GS1 DataMatrix tops
/// out near 2,335 alphanumeric characters), low enough to bound the work per call.
pub const MAX_ELEMENT_STRING_BYTES: usize = 2_500;

/// The ASCII group separator (GS, 29) that barcode scanners transmit for FNC1.
pub const GROUP_SEPARATOR: char = '\u{1d}';

/// Character accepted in place of [`GROUP_SEPARATOR`], as GS1's tools write FNC1.
pub const CARET_SEPARATOR: char = '^';

/// Symbology identifiers that announce GS1 data and may open unbracketed input: GS1-128,
/// GS1 DataBar, GS1 DataMatrix, GS1 QR Code, GS1 DotCode.
pub const SYMBOLOGY_IDENTIFIERS: [&str; 5] = ["]C1", "]e0", "]d2", "]Q3", "]J1"];

/// Why an element string, or one value, is not valid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ElementError {
    /// The input exceeds [`MAX_ELEMENT_STRING_BYTES`].
    #[error("element string of {found_bytes} bytes exceeds the limit of {max_bytes}")]
    TooLong {
        /// The limit.
        max_bytes: usize,
        /// Bytes found (counted up to the first excess).
        found_bytes: usize,
    },
    /// No element at all.
    #[error("the element string is empty")]
    Empty,
    /// The bracketed form is malformed.
    #[error("expected {expected} at byte {position}, found {found:?}")]
    Syntax {
        /// Byte offset in the input.
        position: usize,
        /// What was expected.
        expected: &'static str,
        /// What was there, `None` at the end of the input.
        found: Option<char>,
    },
    /// Unbracketed data must be ASCII.
    #[error("non-ASCII character {found:?} at byte {position}")]
    NotAscii {
        /// Byte offset in the input.
        position: usize,
        /// The character.
        found: char,
    },
    /// The AI is not in the dictionary.
    #[error("unknown Application Identifier {found:?} at byte {position}")]
    UnknownAi {
        /// Byte offset in the input (0 when validating pairs).
        position: usize,
        /// The digits read as an AI.
        found: String,
    },
    /// A group separator with nothing after it.
    #[error("group separator at byte {position} ends the data")]
    DanglingSeparator {
        /// Byte offset in the input.
        position: usize,
    },
    /// A component has fewer characters than it needs.
    #[error(
        "AI ({ai}) component {component} at byte {position} needs {needed} characters, {found} remain"
    )]
    ComponentTooShort {
        /// The AI.
        ai: Ai,
        /// One-based component number.
        component: usize,
        /// Byte offset in the value where the component starts.
        position: usize,
        /// Characters the component needs.
        needed: usize,
        /// Characters remaining.
        found: usize,
    },
    /// The value continues after its last component.
    #[error("AI ({ai}) value exceeds {max_len} characters from byte {position}")]
    ValueTooLong {
        /// The AI.
        ai: Ai,
        /// Byte offset in the value of the first excess character.
        position: usize,
        /// Most characters the value may have.
        max_len: usize,
    },
    /// A character outside the component's character set.
    #[error("AI ({ai}) byte {position}: {found:?} is not in {charset}")]
    Charset {
        /// The AI.
        ai: Ai,
        /// Byte offset in the value.
        position: usize,
        /// The component's character set.
        charset: Charset,
        /// The character.
        found: char,
    },
    /// A component failed one of its linters.
    #[error("AI ({ai}) byte {position}: {linter}: {kind}")]
    Lint {
        /// The AI.
        ai: Ai,
        /// Byte offset in the value.
        position: usize,
        /// The linter that failed.
        linter: Linter,
        /// What it found.
        kind: LintFailureKind,
    },
    /// The same AI with two values.
    #[error("AI ({ai}) appears with two values, {first:?} and {second:?}")]
    ConflictingDuplicate {
        /// The AI.
        ai: Ai,
        /// The first value.
        first: String,
        /// The differing later value.
        second: String,
    },
    /// A mandatory association (`req=`) is missing.
    #[error("AI ({ai}) requires one of {requirement}")]
    MissingAssociation {
        /// The AI whose requirement fails.
        ai: Ai,
        /// The requirement, as the dictionary writes it.
        requirement: Requirement,
    },
    /// Two AIs that exclude each other (`ex=`).
    #[error("AI ({ai}) may not appear with AI ({other})")]
    ExclusiveAis {
        /// The AI whose exclusion fires.
        ai: Ai,
        /// The AI it excludes.
        other: Ai,
    },
    /// A GDTI, GCN or GRAI without its serial component next to a digital signature.
    #[error(
        "AI ({ai}) needs its serial component: a digital signature (8030) signs serialised keys"
    )]
    UnserialisedSignedKey {
        /// The key's AI.
        ai: Ai,
    },
}

/// A validated sequence of AI element strings.
///
/// Values are kept in input order; an AI repeated with the same value is kept once.
/// [`fmt::Display`] writes the bracketed form; [`ElementString::to_unbracketed`] the barcode
/// form.
///
/// ```
/// use suyuan_ledger::codes::gs1::element::ElementString;
///
/// let parsed: ElementString = "(01)09520123456788(10)ABC1(17)180426".parse()?;
/// assert_eq!(parsed.get("10"), Some("ABC1"));
/// assert_eq!(parsed.to_unbracketed(), "010952012345678810ABC1\u{1d}17180426");
/// # Ok::<(), suyuan_ledger::codes::gs1::element::ElementError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementString {
    elements: Vec<(Ai, String)>,
}

impl ElementString {
    /// Parses the bracketed form `(AI)value(AI)value...`; `\(` stands for a literal `(`.
    pub fn parse_bracketed(input: &str) -> Result<Self, ElementError> {
        check_input_size(input)?;
        let bytes = input.as_bytes();
        let mut pairs = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            if bytes[pos] != b'(' {
                return Err(syntax(input, pos, "'('"));
            }
            let ai_start = pos + 1;
            let Some(close) = bytes[ai_start..]
                .iter()
                .position(|&b| b == b')')
                .map(|i| ai_start + i)
            else {
                return Err(syntax(input, bytes.len(), "')'"));
            };
            // `(` and `)` are ASCII, so these offsets are character boundaries.
            let code = &input[ai_start..close];
            let ai = dictionary().lookup(code).map(AiSpec::ai).ok_or_else(|| {
                ElementError::UnknownAi {
                    position: ai_start,
                    found: code.to_owned(),
                }
            })?;
            let value_start = close + 1;
            let value_end = bracketed_value_end(bytes, value_start);
            pairs.push((ai, input[value_start..value_end].replace("\\(", "(")));
            pos = value_end;
        }
        ElementString::from_pairs(pairs)
    }

    /// Parses the unbracketed barcode form.
    ///
    /// The input may open with one of [`SYMBOLOGY_IDENTIFIERS`] or with an FNC1 (a group
    /// separator or `^`). A value of an AI with a predefined length (dictionary flag `*`) takes
    /// exactly that many characters and may be followed by a separator; any other value runs to
    /// the next separator or the end of the data. A separator may not end the data.
    pub fn parse_unbracketed(input: &str) -> Result<Self, ElementError> {
        check_input_size(input)?;
        if let Some(position) = input.bytes().position(|b| !b.is_ascii()) {
            return Err(ElementError::NotAscii {
                position,
                found: char_at(input, position),
            });
        }
        let start = SYMBOLOGY_IDENTIFIERS
            .iter()
            .find(|id| input.starts_with(*id))
            .map(|id| id.len())
            .or_else(|| input.bytes().next().filter(|&b| is_separator(b)).map(|_| 1))
            .unwrap_or(0);
        let bytes = input.as_bytes();
        let mut pairs = Vec::new();
        let mut pos = start;
        while pos < bytes.len() {
            let Some(spec) = dictionary().match_prefix(&bytes[pos..]) else {
                let end = (pos + Ai::MAX_DIGITS).min(bytes.len());
                return Err(ElementError::UnknownAi {
                    position: pos,
                    found: input[pos..end].to_owned(),
                });
            };
            let value_start = pos + spec.ai().len();
            let value_end = match spec.has_predefined_length() {
                true => (value_start + spec.max_value_len()).min(bytes.len()),
                false => bytes[value_start..]
                    .iter()
                    .position(|&b| is_separator(b))
                    .map_or(bytes.len(), |i| value_start + i),
            };
            // The input is ASCII (checked above), so every offset is a character boundary.
            pairs.push((spec.ai(), input[value_start..value_end].to_owned()));
            pos = value_end;
            if pos < bytes.len() && is_separator(bytes[pos]) {
                if pos + 1 == bytes.len() {
                    return Err(ElementError::DanglingSeparator { position: pos });
                }
                pos += 1;
            }
        }
        ElementString::from_pairs(pairs)
    }

    /// Validates pairs of AI and value: each value against its AI, then the pairs together.
    ///
    /// An AI given twice with the same value is kept once; with different values it is an
    /// error. The total size is bounded by [`MAX_ELEMENT_STRING_BYTES`].
    pub fn from_pairs<I, V>(pairs: I) -> Result<Self, ElementError>
    where
        I: IntoIterator<Item = (Ai, V)>,
        V: Into<String>,
    {
        let mut elements: Vec<(Ai, String)> = Vec::new();
        let mut total_bytes = 0;
        for (ai, value) in pairs {
            let value = value.into();
            total_bytes += ai.len() + value.len();
            if total_bytes > MAX_ELEMENT_STRING_BYTES {
                return Err(ElementError::TooLong {
                    max_bytes: MAX_ELEMENT_STRING_BYTES,
                    found_bytes: total_bytes,
                });
            }
            validate_value(ai, &value)?;
            match elements.iter().find(|(seen, _)| *seen == ai) {
                Some((_, first)) if *first == value => {}
                Some((_, first)) => {
                    return Err(ElementError::ConflictingDuplicate {
                        ai,
                        first: first.clone(),
                        second: value,
                    });
                }
                None => elements.push((ai, value)),
            }
        }
        if elements.is_empty() {
            return Err(ElementError::Empty);
        }
        check_associations(&elements)?;
        check_signed_keys_are_serialised(&elements)?;
        Ok(ElementString { elements })
    }

    /// The value of AI `ai` (its digits, e.g. `"10"`), if present.
    pub fn get(&self, ai: &str) -> Option<&str> {
        self.elements
            .iter()
            .find(|(a, _)| a.as_str() == ai)
            .map(|(_, value)| value.as_str())
    }

    /// The pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Ai, &str)> {
        self.elements.iter().map(|(ai, value)| (ai, value.as_str()))
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Always false: an element string has at least one element.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// The barcode form: values of AIs without a predefined length are followed by a group
    /// separator unless last. No symbology identifier or leading FNC1 is written.
    pub fn to_unbracketed(&self) -> String {
        let mut out = String::new();
        for (i, (ai, value)) in self.elements.iter().enumerate() {
            out.push_str(ai.as_str());
            out.push_str(value);
            let predefined = dictionary()
                .get(*ai)
                .is_some_and(AiSpec::has_predefined_length);
            if i + 1 < self.elements.len() && !predefined {
                out.push(GROUP_SEPARATOR);
            }
        }
        out
    }
}

impl FromStr for ElementString {
    type Err = ElementError;

    /// Parses the bracketed form when the input starts with `(`, the unbracketed form
    /// otherwise.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.starts_with('(') {
            true => ElementString::parse_bracketed(s),
            false => ElementString::parse_unbracketed(s),
        }
    }
}

impl fmt::Display for ElementString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (ai, value) in &self.elements {
            write!(f, "({ai}){}", value.replace('(', "\\("))?;
        }
        Ok(())
    }
}

/// Checks one value against its AI's components: lengths, character sets, linters.
///
/// Components consume the value from the left, each taking its fixed length or, for the last,
/// whatever remains up to its maximum; optional components may be skipped once the value is
/// exhausted.
pub fn validate_value(ai: Ai, value: &str) -> Result<(), ElementError> {
    let spec = dictionary()
        .get(ai)
        .ok_or_else(|| ElementError::UnknownAi {
            position: 0,
            found: ai.to_string(),
        })?;
    let bytes = value.as_bytes();
    let mut pos = 0;
    for (index, component) in spec.components().iter().enumerate() {
        let remaining = bytes.len() - pos;
        if remaining == 0 && component.is_optional() {
            break;
        }
        let needed = match component.is_fixed_length() {
            true => component.max_len(),
            false => component.min_len(),
        };
        if remaining < needed {
            return Err(ElementError::ComponentTooShort {
                ai,
                component: index + 1,
                position: pos,
                needed,
                found: remaining,
            });
        }
        let len = remaining.min(component.max_len());
        let part = &bytes[pos..pos + len];
        let charset = component.charset();
        if let Some(i) = charset.first_invalid(part) {
            return Err(ElementError::Charset {
                ai,
                position: pos + i,
                charset,
                found: char_at(value, pos + i),
            });
        }
        // Every byte of the part is in an ASCII character set, so both ends are boundaries.
        let text = value.get(pos..pos + len).unwrap_or_default();
        for &linter in component.linters() {
            linter.check(text).map_err(|failure| ElementError::Lint {
                ai,
                position: pos + failure.offset,
                linter,
                kind: failure.kind,
            })?;
        }
        pos += len;
    }
    if pos < bytes.len() {
        return Err(ElementError::ValueTooLong {
            ai,
            position: pos,
            max_len: spec.max_value_len(),
        });
    }
    Ok(())
}

/// Checks every `req=` and `ex=` attribute over the AIs present.
fn check_associations(elements: &[(Ai, String)]) -> Result<(), ElementError> {
    let present: Vec<Ai> = elements.iter().map(|(ai, _)| *ai).collect();
    for &ai in &present {
        // Every AI here passed `validate_value`, which requires a dictionary entry.
        let Some(spec) = dictionary().get(ai) else {
            continue;
        };
        if let Some(other) = spec.exclusions().iter().find_map(|pattern| {
            present
                .iter()
                .copied()
                .find(|&other| other != ai && pattern.matches(other))
        }) {
            return Err(ElementError::ExclusiveAis { ai, other });
        }
        if let Some(requirement) = spec
            .requirements()
            .iter()
            .find(|r| !r.is_satisfied_by(&present))
        {
            return Err(ElementError::MissingAssociation {
                ai,
                requirement: requirement.clone(),
            });
        }
    }
    Ok(())
}

/// The digital signature AI.
const DIGITAL_SIGNATURE: &str = "8030";

/// The keys a digital signature may sign whose serial component is optional: GDTI (253), GCN
/// (255) and GRAI (8003). The dictionary's `req=` for 8030 accepts them bare; GS1's reference
/// parser refuses them without the serial, as a signature names one instance.
const KEYS_SIGNED_ONLY_SERIALISED: [&str; 3] = ["253", "255", "8003"];

/// Refuses a digital signature next to a GDTI, GCN or GRAI that has no serial component.
fn check_signed_keys_are_serialised(elements: &[(Ai, String)]) -> Result<(), ElementError> {
    if !elements
        .iter()
        .any(|(ai, _)| ai.as_str() == DIGITAL_SIGNATURE)
    {
        return Ok(());
    }
    let unserialised = elements.iter().find(|(ai, value)| {
        KEYS_SIGNED_ONLY_SERIALISED.contains(&ai.as_str())
            && dictionary()
                .get(*ai)
                .is_some_and(|spec| value.len() == spec.min_value_len())
    });
    match unserialised {
        Some((ai, _)) => Err(ElementError::UnserialisedSignedKey { ai: *ai }),
        None => Ok(()),
    }
}

fn check_input_size(input: &str) -> Result<(), ElementError> {
    match input.len() {
        0 => Err(ElementError::Empty),
        n if n > MAX_ELEMENT_STRING_BYTES => Err(ElementError::TooLong {
            max_bytes: MAX_ELEMENT_STRING_BYTES,
            found_bytes: n,
        }),
        _ => Ok(()),
    }
}

/// Where a bracketed value starting at `start` ends: at the next `(` that is not escaped as
/// `\(`, or at the end of the input.
fn bracketed_value_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if bytes.get(i + 1) == Some(&b'(') => i += 2,
            b'(' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn is_separator(byte: u8) -> bool {
    byte == GROUP_SEPARATOR as u8 || byte == CARET_SEPARATOR as u8
}

fn syntax(input: &str, position: usize, expected: &'static str) -> ElementError {
    ElementError::Syntax {
        position,
        expected,
        found: input.get(position..).and_then(|s| s.chars().next()),
    }
}

/// The character at byte `offset` of `text`, for error reports.
pub(crate) fn char_at(text: &str, offset: usize) -> char {
    text.get(offset..)
        .and_then(|s| s.chars().next())
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ai(code: &str) -> Ai {
        code.parse().unwrap()
    }

    fn parse(input: &str) -> Result<ElementString, ElementError> {
        input.parse()
    }

    #[test]
    fn bracketed_round_trip_and_accessors() {
        let es = parse("(01)09520123456788(10)ABC1(17)180426").unwrap();
        assert_eq!(es.len(), 3);
        assert_eq!(es.get("01"), Some("09520123456788"));
        assert_eq!(es.get("17"), Some("180426"));
        assert_eq!(es.get("21"), None);
        let pairs: Vec<(&str, &str)> = es.iter().map(|(a, v)| (a.as_str(), v)).collect();
        assert_eq!(
            pairs,
            [("01", "09520123456788"), ("10", "ABC1"), ("17", "180426")]
        );
        assert_eq!(es.to_string(), "(01)09520123456788(10)ABC1(17)180426");
        assert_eq!(es.to_unbracketed(), "010952012345678810ABC1\u{1d}17180426");
    }

    #[test]
    fn unbracketed_forms() {
        let expected = parse("(01)09520123456788(10)ABC1(17)180426").unwrap();
        for input in [
            "010952012345678810ABC1\u{1d}17180426",
            "]C1010952012345678810ABC1\u{1d}17180426",
            "]d2010952012345678810ABC1\u{1d}17180426",
            "]Q3010952012345678810ABC1^17180426",
            "^010952012345678810ABC1^17180426",
            "\u{1d}0109520123456788\u{1d}10ABC1\u{1d}17180426",
        ] {
            assert_eq!(parse(input).unwrap(), expected, "{input:?}");
        }
        assert_eq!(
            parse("010952012345678810ABC1\u{1d}").unwrap_err(),
            ElementError::DanglingSeparator { position: 22 }
        );
        assert_eq!(
            parse("0109520123456788\u{1d}\u{1d}10A").unwrap_err(),
            ElementError::UnknownAi {
                position: 17,
                found: "\u{1d}10A".to_owned()
            }
        );
        assert!(matches!(
            parse("01095201234567é8").unwrap_err(),
            ElementError::NotAscii { position: 14, .. }
        ));
    }

    #[test]
    fn escaped_parenthesis_in_bracketed_values() {
        let es = parse("(01)09520123456788(10)AB\\(1)").unwrap();
        assert_eq!(es.get("10"), Some("AB(1)"));
        assert_eq!(es.to_string(), "(01)09520123456788(10)AB\\(1)");
        assert_eq!(parse(&es.to_string()).unwrap(), es);
    }

    #[test]
    fn syntax_and_unknown_ai_errors() {
        assert_eq!(parse("").unwrap_err(), ElementError::Empty);
        assert_eq!(
            parse("(01)09520123456788x(").unwrap_err(),
            ElementError::Syntax {
                position: 20,
                expected: "')'",
                found: None
            }
        );
        assert_eq!(
            ElementString::parse_bracketed("01").unwrap_err(),
            ElementError::Syntax {
                position: 0,
                expected: "'('",
                found: Some('0')
            }
        );
        assert_eq!(
            parse("(89)ABC").unwrap_err(),
            ElementError::UnknownAi {
                position: 1,
                found: "89".to_owned()
            }
        );
        assert_eq!(
            parse("8912").unwrap_err(),
            ElementError::UnknownAi {
                position: 0,
                found: "8912".to_owned()
            }
        );
        let long = format!(
            "(01)09520123456788(10){}",
            "A".repeat(MAX_ELEMENT_STRING_BYTES)
        );
        assert!(matches!(
            parse(&long).unwrap_err(),
            ElementError::TooLong { .. }
        ));
    }

    #[test]
    fn component_rules() {
        assert_eq!(
            parse("(01)0952012345678").unwrap_err(),
            ElementError::ComponentTooShort {
                ai: Ai::GTIN,
                component: 1,
                position: 0,
                needed: 14,
                found: 13
            }
        );
        assert_eq!(
            parse("(01)095201234567880").unwrap_err(),
            ElementError::ValueTooLong {
                ai: Ai::GTIN,
                position: 14,
                max_len: 14
            }
        );
        assert_eq!(
            parse("(01)09520123456789").unwrap_err(),
            ElementError::Lint {
                ai: Ai::GTIN,
                position: 13,
                linter: Linter::Csum,
                kind: LintFailureKind::CheckDigit {
                    expected: '8',
                    found: '9'
                }
            }
        );
        assert_eq!(
            parse("(01)0952012345678A").unwrap_err(),
            ElementError::Charset {
                ai: Ai::GTIN,
                position: 13,
                charset: Charset::Numeric,
                found: 'A'
            }
        );
        assert_eq!(
            parse("(01)09520123456788(10)AB C").unwrap_err(),
            ElementError::Charset {
                ai: Ai::BATCH,
                position: 2,
                charset: Charset::Cset82,
                found: ' '
            }
        );
        assert!(matches!(
            parse("(01)09520123456788(10)批次").unwrap_err(),
            ElementError::Charset { found: '批', .. }
        ));
        assert!(matches!(
            parse("(01)09520123456788(10)").unwrap_err(),
            ElementError::ComponentTooShort {
                needed: 1,
                found: 0,
                ..
            }
        ));
        assert!(matches!(
            parse("(01)09520123456788(17)181301").unwrap_err(),
            ElementError::Lint {
                position: 2,
                linter: Linter::Yymmd0,
                kind: LintFailureKind::IllegalMonth { found: 13 },
                ..
            }
        ));
        parse("(01)09520123456788(17)181200").unwrap();
    }

    #[test]
    fn optional_and_multi_component_values() {
        // GDTI: N13 check digit, then an optional serial component.
        parse("(253)1231231231232").unwrap();
        parse("(253)1231231231232TEST5678901234567").unwrap();
        assert!(matches!(
            parse("(253)1231231231232TEST56789012345678").unwrap_err(),
            ElementError::ValueTooLong { position: 30, .. }
        ));
        // Temperature with an optional minus sign.
        parse("(00)006141411234567890(4330)000440").unwrap();
        parse("(00)006141411234567890(4330)000440-").unwrap();
        assert!(matches!(
            parse("(00)006141411234567890(4330)000440+").unwrap_err(),
            ElementError::Lint {
                position: 6,
                linter: Linter::Hyphen,
                ..
            }
        ));
        // Country list: one to five codes, each complete.
        parse("(01)09520123456788(423)156276").unwrap();
        assert!(matches!(
            parse("(01)09520123456788(423)1562").unwrap_err(),
            ElementError::ComponentTooShort {
                component: 2,
                position: 3,
                needed: 3,
                found: 1,
                ..
            }
        ));
        assert!(matches!(
            parse("(01)09520123456788(423)156999").unwrap_err(),
            ElementError::Lint {
                position: 3,
                linter: Linter::Iso3166,
                ..
            }
        ));
        // Roll dimensions: width, length, diameter, winding, splices.
        parse("(01)09520123456788(8001)12345678901214").unwrap();
        assert!(matches!(
            parse("(01)09520123456788(8001)12345678901254").unwrap_err(),
            ElementError::Lint {
                position: 12,
                linter: Linter::Winding,
                ..
            }
        ));
    }

    #[test]
    fn duplicates() {
        let es = parse("(01)09520123456788(10)ABC(10)ABC").unwrap();
        assert_eq!(es.len(), 2);
        assert_eq!(
            parse("(01)09520123456788(10)ABC(10)ABD").unwrap_err(),
            ElementError::ConflictingDuplicate {
                ai: Ai::BATCH,
                first: "ABC".to_owned(),
                second: "ABD".to_owned()
            }
        );
    }

    #[test]
    fn mandatory_associations() {
        match parse("(10)ABC").unwrap_err() {
            ElementError::MissingAssociation { ai, requirement } => {
                assert_eq!(ai, Ai::BATCH);
                assert_eq!(requirement.to_string(), "01,02,03,8006,8026");
            }
            other => panic!("{other:?}"),
        }
        // 02 requires 37; 37 requires 00, and also 02 or 8026.
        parse("(00)006141411234567890(02)09520123456788(37)25").unwrap();
        assert!(matches!(
            parse("(02)09520123456788(37)25").unwrap_err(),
            ElementError::MissingAssociation { ai, .. } if ai == ai_37()
        ));
        // `+` groups: 7004 needs 01 together with 10.
        parse("(01)09520123456788(10)A(7004)50").unwrap();
        assert!(matches!(
            parse("(01)09520123456788(7004)50").unwrap_err(),
            ElementError::MissingAssociation { .. }
        ));
        // `nn` patterns: a price per unit of measure needs a variable count or a measure.
        parse("(01)09520123456788(3103)000195(3922)0299").unwrap();
        assert!(matches!(
            parse("(01)09520123456788(3922)0299").unwrap_err(),
            ElementError::MissingAssociation { .. }
        ));
    }

    #[test]
    fn a_digital_signature_signs_only_serialised_keys() {
        parse("(253)1231231231232X1(8030)c2lnbmF0dXJl").unwrap();
        parse("(00)006141411234567890(8030)c2lnbmF0dXJl").unwrap();
        parse("(253)1231231231232").unwrap();
        for (unserialised, key) in [
            ("(253)1231231231232(8030)c2lnbmF0dXJl", "253"),
            ("(255)1231231231232(8030)c2lnbmF0dXJl", "255"),
            ("(8003)01231231231232(8030)c2lnbmF0dXJl", "8003"),
        ] {
            assert_eq!(
                parse(unserialised).unwrap_err(),
                ElementError::UnserialisedSignedKey { ai: ai(key) },
                "{unserialised}"
            );
        }
    }

    fn ai_37() -> Ai {
        ai("37")
    }

    #[test]
    fn exclusions() {
        assert_eq!(
            parse("(01)09520123456788(02)09520123456788(37)1").unwrap_err(),
            ElementError::ExclusiveAis {
                ai: Ai::GTIN,
                other: ai("37")
            }
        );
        // 310n excludes the other decimal positions of the same measure, not itself.
        parse("(01)09520123456788(3103)000195").unwrap();
        assert_eq!(
            parse("(01)09520123456788(3103)000195(3102)001950").unwrap_err(),
            ElementError::ExclusiveAis {
                ai: ai("3103"),
                other: ai("3102")
            }
        );
        parse("(01)09520123456788(3103)000195(3203)000430").unwrap();
        assert!(matches!(
            parse("(01)09520123456788(21)1(235)X").unwrap_err(),
            ElementError::ExclusiveAis { .. }
        ));
    }

    #[test]
    fn from_pairs_validates_like_the_parsers() {
        let es = ElementString::from_pairs([(Ai::GTIN, "09520123456788"), (Ai::SERIAL, "12345")])
            .unwrap();
        assert_eq!(es.to_string(), "(01)09520123456788(21)12345");
        assert!(ElementString::from_pairs(Vec::<(Ai, String)>::new()).is_err());
        assert!(ElementString::from_pairs([(Ai::SERIAL, "12345")]).is_err());
        let endless = std::iter::repeat((Ai::GTIN, "09520123456788"));
        assert!(matches!(
            ElementString::from_pairs(endless).unwrap_err(),
            ElementError::TooLong { .. }
        ));
    }

    #[test]
    fn every_dictionary_entry_has_a_value_it_accepts_or_a_linter_that_explains_why_not() {
        // A value of the right length in each component's character set exercises every entry
        // and every linter without panicking.
        for spec in dictionary().iter() {
            let value: String = spec
                .components()
                .iter()
                .map(|c| {
                    let ch = match c.charset() {
                        Charset::Numeric => '1',
                        Charset::Cset82 | Charset::Cset39 | Charset::Cset64 => 'A',
                    };
                    std::iter::repeat_n(ch, c.max_len()).collect::<String>()
                })
                .collect();
            match validate_value(spec.ai(), &value) {
                Ok(()) | Err(ElementError::Lint { .. }) => {}
                Err(other) => panic!("{}: {other}", spec.ai()),
            }
        }
    }
}
