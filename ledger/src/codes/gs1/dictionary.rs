//! Parse GS1's Barcode Syntax Dictionary into a table of Application Identifiers.
//!
//! The dictionary (`gs1-syntax-dictionary.txt`, copied unchanged from GS1) describes every
//! Application Identifier (AI): its components (character set, length, optional or not, the
//! linters that check its content), whether it has a predefined length (no FNC1 separator
//! after it), whether it may be a Digital Link data attribute, the AIs it requires or excludes,
//! and the Digital Link key qualifiers it accepts when it is a primary key.
//!
//! [`dictionary`] parses the bundled copy once, on first use, and returns the table every other
//! GS1 module reads. [`Dictionary::parse`] is the parser; a malformed line is a bug in our copy
//! and the unit tests parse the whole file to prove there is none.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use thiserror::Error;

use super::linters::Linter;

/// The dictionary text, exactly as GS1 publishes it.
const DICTIONARY_TEXT: &str = include_str!("gs1-syntax-dictionary.txt");

/// Characters the dictionary's header allocates to flags.
const FLAG_CHARACTERS: &str = "*!?\"$%&'()+,-./:;<=>@[\\]^_`{|}~";

/// Returns GS1's syntax dictionary, parsed once on first use.
pub fn dictionary() -> &'static Dictionary {
    static DICTIONARY: OnceLock<Dictionary> = OnceLock::new();
    DICTIONARY.get_or_init(|| {
        // The text is compiled in and the unit test `bundled_dictionary_parses` parses exactly
        // this text, so this cannot fail in a build whose tests pass.
        Dictionary::parse(DICTIONARY_TEXT).expect("the bundled GS1 syntax dictionary parses")
    })
}

/// A GS1 Application Identifier: two to four ASCII digits.
///
/// [`Ai::from_str`] accepts only AIs that the bundled dictionary defines, so an `Ai` obtained
/// from it (or from the associated constants) always has a [`dictionary`] entry. Ordering is the
/// lexical order of the digits, which is the order of the dictionary.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ai {
    /// The digits, left-aligned; unused trailing bytes are zero, so the derived ordering is the
    /// lexical order of the digit strings.
    digits: [u8; 4],
    len: u8,
}

impl Ai {
    /// Fewest digits in an AI.
    pub const MIN_DIGITS: usize = 2;
    /// Most digits in an AI.
    pub const MAX_DIGITS: usize = 4;

    /// SSCC, the Serial Shipping Container Code.
    pub const SSCC: Ai = Ai::literal("00");
    /// GTIN, the Global Trade Item Number.
    pub const GTIN: Ai = Ai::literal("01");
    /// Batch or lot number.
    pub const BATCH: Ai = Ai::literal("10");
    /// Serial number.
    pub const SERIAL: Ai = Ai::literal("21");
    /// GLN extension component.
    pub const GLN_EXTENSION: Ai = Ai::literal("254");
    /// GLN of a physical location.
    pub const LOCATION_GLN: Ai = Ai::literal("414");
    /// GLN of a party: a company or organisation, not a place.
    pub const PARTY_GLN: Ai = Ai::literal("417");

    /// Builds an AI from a literal; a malformed literal stops compilation, not the program.
    const fn literal(code: &'static str) -> Ai {
        match Ai::from_digits(code.as_bytes()) {
            Some(ai) => ai,
            None => panic!("an AI literal is two to four ASCII digits"),
        }
    }

    /// Builds an AI from its digits without consulting the dictionary.
    pub(crate) const fn from_digits(code: &[u8]) -> Option<Ai> {
        if code.len() < Ai::MIN_DIGITS || code.len() > Ai::MAX_DIGITS {
            return None;
        }
        let mut digits = [0u8; 4];
        let mut i = 0;
        while i < code.len() {
            if !code[i].is_ascii_digit() {
                return None;
            }
            digits[i] = code[i];
            i += 1;
        }
        // The length is at most four, checked above.
        Some(Ai {
            digits,
            len: code.len() as u8,
        })
    }

    /// The AI's digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored (see `from_digits`), so the bytes are UTF-8.
        std::str::from_utf8(self.as_bytes()).expect("an AI holds ASCII digits")
    }

    /// The AI's digits as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.digits[..usize::from(self.len)]
    }

    /// Number of digits, two to four.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Always false: an AI has at least two digits. Present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for Ai {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Ai {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ai({})", self.as_str())
    }
}

/// An AI that the dictionary does not define.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{found:?} is not a GS1 Application Identifier defined by the syntax dictionary")]
pub struct UnknownAi {
    /// The text that was looked up.
    pub found: String,
}

impl FromStr for Ai {
    type Err = UnknownAi;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        dictionary()
            .lookup(s)
            .map(AiSpec::ai)
            .ok_or_else(|| UnknownAi {
                found: s.to_owned(),
            })
    }
}

/// The character set of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// `N`: ASCII digits.
    Numeric,
    /// `X`: GS1 AI encodable character set 82.
    Cset82,
    /// `Y`: GS1 AI encodable character set 39.
    Cset39,
    /// `Z`: GS1 AI encodable character set 64 (URI- and file-safe base64), with optional `=`
    /// padding.
    Cset64,
}

impl Charset {
    /// The dictionary's letter for this character set.
    pub fn letter(self) -> char {
        match self {
            Charset::Numeric => 'N',
            Charset::Cset82 => 'X',
            Charset::Cset39 => 'Y',
            Charset::Cset64 => 'Z',
        }
    }

    /// Returns the byte offset of the first character of `data` outside this set, or `None` when
    /// every character belongs to it.
    ///
    /// CSET 64 accepts up to two trailing `=` padding characters when the padded length is a
    /// multiple of three, as GS1's reference linter does; other `=` are outside the set.
    pub fn first_invalid(self, data: &[u8]) -> Option<usize> {
        let data = match self {
            Charset::Cset64 => {
                let unpadded = data.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
                let padding = data.len() - unpadded;
                if padding > 2 || (padding > 0 && !data.len().is_multiple_of(3)) {
                    return Some(unpadded);
                }
                &data[..unpadded]
            }
            _ => data,
        };
        data.iter().position(|&b| !self.contains(b))
    }

    /// Whether `byte` belongs to this set (padding aside).
    pub fn contains(self, byte: u8) -> bool {
        match self {
            Charset::Numeric => byte.is_ascii_digit(),
            Charset::Cset82 => {
                byte.is_ascii_alphanumeric()
                    || matches!(
                        byte,
                        b'!' | b'"'
                            | b'%'
                            | b'&'
                            | b'\''
                            | b'('
                            | b')'
                            | b'*'
                            | b'+'
                            | b','
                            | b'-'
                            | b'.'
                            | b'/'
                            | b':'
                            | b';'
                            | b'<'
                            | b'='
                            | b'>'
                            | b'?'
                            | b'_'
                    )
            }
            Charset::Cset39 => {
                byte.is_ascii_digit()
                    || byte.is_ascii_uppercase()
                    || matches!(byte, b'#' | b'-' | b'/')
            }
            Charset::Cset64 => byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_'),
        }
    }
}

impl fmt::Display for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Charset::Numeric => "digits",
            Charset::Cset82 => "GS1 CSET 82",
            Charset::Cset39 => "GS1 CSET 39",
            Charset::Cset64 => "GS1 CSET 64",
        })
    }
}

/// One component of an AI's value: a run of characters with a character set, a length and
/// linters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    charset: Charset,
    min_len: usize,
    max_len: usize,
    optional: bool,
    linters: Vec<Linter>,
}

impl Component {
    /// The component's character set.
    pub fn charset(&self) -> Charset {
        self.charset
    }

    /// Fewest characters.
    pub fn min_len(&self) -> usize {
        self.min_len
    }

    /// Most characters.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Whether the component has one length only.
    pub fn is_fixed_length(&self) -> bool {
        self.min_len == self.max_len
    }

    /// Whether the component may be absent once the value is exhausted.
    pub fn is_optional(&self) -> bool {
        self.optional
    }

    /// The linters that check the component's content, in the dictionary's order.
    pub fn linters(&self) -> &[Linter] {
        &self.linters
    }
}

/// An AI or a pattern of AIs in `req=` and `ex=` attributes: digits, with `n` matching any
/// digit (`310n`, `31nn`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AiPattern {
    chars: [u8; 4],
    len: u8,
}

impl AiPattern {
    fn parse(text: &str) -> Option<AiPattern> {
        let bytes = text.as_bytes();
        if bytes.len() < Ai::MIN_DIGITS
            || bytes.len() > Ai::MAX_DIGITS
            || !bytes.iter().all(|&b| b.is_ascii_digit() || b == b'n')
        {
            return None;
        }
        let mut chars = [0u8; 4];
        chars[..bytes.len()].copy_from_slice(bytes);
        // At most four bytes, checked above.
        Some(AiPattern {
            chars,
            len: bytes.len() as u8,
        })
    }

    fn as_bytes(&self) -> &[u8] {
        &self.chars[..usize::from(self.len)]
    }

    /// Whether `ai` matches: same length, equal digits where the pattern has digits.
    pub fn matches(&self, ai: Ai) -> bool {
        let pattern = self.as_bytes();
        let digits = ai.as_bytes();
        pattern.len() == digits.len()
            && pattern
                .iter()
                .zip(digits)
                .all(|(&p, &d)| p == b'n' || p == d)
    }

    /// The AI the pattern names when it has no wildcard.
    fn exact(&self) -> Option<Ai> {
        Ai::from_digits(self.as_bytes())
    }
}

impl fmt::Display for AiPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Patterns hold ASCII digits and `n` only (see `parse`).
        for &b in self.as_bytes() {
            write!(f, "{}", char::from(b))?;
        }
        Ok(())
    }
}

impl fmt::Debug for AiPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AiPattern({self})")
    }
}

/// One `req=` attribute: satisfied when every pattern of at least one alternative group
/// matches an AI present (`req=01+21,02` means "(01) with (21), or (02)").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    alternatives: Vec<Vec<AiPattern>>,
}

impl Requirement {
    /// The alternative groups, in the dictionary's order.
    pub fn alternatives(&self) -> &[Vec<AiPattern>] {
        &self.alternatives
    }

    /// Whether some alternative group is wholly present among `present`.
    pub fn is_satisfied_by(&self, present: &[Ai]) -> bool {
        self.alternatives.iter().any(|group| {
            group
                .iter()
                .all(|pattern| present.iter().any(|&ai| pattern.matches(ai)))
        })
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, group) in self.alternatives.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            for (j, pattern) in group.iter().enumerate() {
                if j > 0 {
                    f.write_str("+")?;
                }
                write!(f, "{pattern}")?;
            }
        }
        Ok(())
    }
}

/// The dictionary's description of one AI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiSpec {
    ai: Ai,
    predefined_length: bool,
    dl_data_attribute: bool,
    components: Vec<Component>,
    requirements: Vec<Requirement>,
    exclusions: Vec<AiPattern>,
    dl_qualifiers: Option<Vec<Vec<Ai>>>,
    title: String,
}

impl AiSpec {
    /// The AI this entry describes.
    pub fn ai(&self) -> Ai {
        self.ai
    }

    /// Flag `*`: the value has a predefined length and needs no FNC1 separator after it.
    pub fn has_predefined_length(&self) -> bool {
        self.predefined_length
    }

    /// Flag `?`: the AI may be a GS1 Digital Link data attribute (a query parameter).
    pub fn is_dl_data_attribute(&self) -> bool {
        self.dl_data_attribute
    }

    /// The value's components, in order.
    pub fn components(&self) -> &[Component] {
        &self.components
    }

    /// Fewest characters a value may have: the mandatory components' minimums.
    pub fn min_value_len(&self) -> usize {
        self.components
            .iter()
            .filter(|c| !c.optional)
            .map(|c| c.min_len)
            .sum()
    }

    /// Most characters a value may have.
    pub fn max_value_len(&self) -> usize {
        self.components.iter().map(|c| c.max_len).sum()
    }

    /// The `req=` attributes; each must be satisfied.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// The `ex=` patterns: no other AI matching one may appear with this AI.
    pub fn exclusions(&self) -> &[AiPattern] {
        &self.exclusions
    }

    /// Whether the AI is a Digital Link primary key.
    pub fn is_dl_primary_key(&self) -> bool {
        self.dl_qualifiers.is_some()
    }

    /// For a Digital Link primary key, its alternative ordered qualifier sequences (one empty
    /// sequence when it takes no qualifiers); `None` for other AIs.
    pub fn dl_qualifier_alternatives(&self) -> Option<&[Vec<Ai>]> {
        self.dl_qualifiers.as_deref()
    }

    /// The dictionary's short title, e.g. `GTIN`; empty when the line has none.
    pub fn title(&self) -> &str {
        &self.title
    }
}

/// A malformed line of the dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("GS1 syntax dictionary line {line}: {reason}: {token:?}")]
pub struct DictionaryError {
    /// One-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: &'static str,
    /// The offending text.
    pub token: String,
}

/// The parsed dictionary: every AI with its description.
#[derive(Debug, Clone)]
pub struct Dictionary {
    entries: BTreeMap<Ai, AiSpec>,
}

impl Dictionary {
    /// Parses dictionary text in GS1's format.
    ///
    /// Ranges such as `3100-3105` become one entry per AI. Every AI named by a `dlpkey`
    /// qualifier or an exact `req=`/`ex=` pattern must itself be defined.
    pub fn parse(text: &str) -> Result<Dictionary, DictionaryError> {
        let mut entries = BTreeMap::new();
        for (index, line) in text.lines().enumerate() {
            let line_number = index + 1;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let specs = parse_line(trimmed).map_err(|(reason, token)| DictionaryError {
                line: line_number,
                reason,
                token: token.to_owned(),
            })?;
            for spec in specs {
                let ai = spec.ai;
                if entries.insert(ai, spec).is_some() {
                    return Err(DictionaryError {
                        line: line_number,
                        reason: "AI defined twice",
                        token: ai.to_string(),
                    });
                }
            }
        }
        let dictionary = Dictionary { entries };
        dictionary.check_references()?;
        Ok(dictionary)
    }

    fn check_references(&self) -> Result<(), DictionaryError> {
        for spec in self.entries.values() {
            let qualifiers = spec.dl_qualifiers.iter().flatten().flatten().copied();
            let patterns = spec
                .requirements
                .iter()
                .flat_map(|r| r.alternatives.iter().flatten())
                .chain(&spec.exclusions)
                .filter_map(AiPattern::exact);
            for ai in qualifiers.chain(patterns) {
                if !self.entries.contains_key(&ai) {
                    return Err(DictionaryError {
                        line: 0,
                        reason: "reference to an undefined AI",
                        token: format!("{} -> {}", spec.ai, ai),
                    });
                }
            }
        }
        Ok(())
    }

    /// The entry for `ai`.
    pub fn get(&self, ai: Ai) -> Option<&AiSpec> {
        self.entries.get(&ai)
    }

    /// The entry whose AI is exactly `code`.
    pub fn lookup(&self, code: &str) -> Option<&AiSpec> {
        Ai::from_digits(code.as_bytes()).and_then(|ai| self.entries.get(&ai))
    }

    /// The entry whose AI begins `data`, if any. AIs are prefix-free, so at most one matches.
    pub fn match_prefix(&self, data: &[u8]) -> Option<&AiSpec> {
        (Ai::MIN_DIGITS..=Ai::MAX_DIGITS.min(data.len()))
            .find_map(|len| Ai::from_digits(&data[..len]).and_then(|ai| self.entries.get(&ai)))
    }

    /// Number of AIs defined.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no AI is defined.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, in AI order.
    pub fn iter(&self) -> impl Iterator<Item = &AiSpec> {
        self.entries.values()
    }
}

type LineError<'a> = (&'static str, &'a str);

/// Parses one entry line: `AIs [Flags] Specification [Attributes...] [# Title]`.
fn parse_line(line: &str) -> Result<Vec<AiSpec>, LineError<'_>> {
    let (body, title) = match line.split_once('#') {
        Some((body, title)) => (body, title.trim()),
        None => (line, ""),
    };
    let mut tokens = body.split_whitespace().peekable();
    let ais = tokens.next().ok_or(("missing AI", line))?;
    let ai_range = parse_ai_range(ais)?;

    let mut predefined_length = false;
    let mut dl_data_attribute = false;
    if let Some(flags) = tokens.next_if(|t| t.chars().all(|c| FLAG_CHARACTERS.contains(c))) {
        for flag in flags.chars() {
            match flag {
                '*' => predefined_length = true,
                '?' => dl_data_attribute = true,
                _ => return Err(("undefined flag", flags)),
            }
        }
    }

    let mut components = Vec::new();
    while let Some(token) = tokens.next_if(|t| looks_like_component(t)) {
        components.push(parse_component(token)?);
    }
    check_component_order(&components, body)?;

    let mut spec = AiSpec {
        ai: ai_range[0],
        predefined_length,
        dl_data_attribute,
        components,
        requirements: Vec::new(),
        exclusions: Vec::new(),
        dl_qualifiers: None,
        title: title.to_owned(),
    };
    for token in tokens {
        parse_attribute(token, &mut spec)?;
    }
    if spec.predefined_length && spec.min_value_len() != spec.max_value_len() {
        return Err(("predefined-length AI with a variable-length value", body));
    }
    Ok(ai_range
        .into_iter()
        .map(|ai| AiSpec { ai, ..spec.clone() })
        .collect())
}

/// Parses `01` or a range `3100-3105` into its AIs.
fn parse_ai_range(text: &str) -> Result<Vec<Ai>, LineError<'_>> {
    let (first, last) = text.split_once('-').unwrap_or((text, text));
    let bad = ("malformed AI or AI range", text);
    if first.len() != last.len() {
        return Err(bad);
    }
    let start: u16 = first.parse().map_err(|_| bad)?;
    let end: u16 = last.parse().map_err(|_| bad)?;
    if start > end {
        return Err(bad);
    }
    (start..=end)
        .map(|n| {
            let code = format!("{n:0width$}", width = first.len());
            Ai::from_digits(code.as_bytes()).ok_or(bad)
        })
        .collect()
}

fn looks_like_component(token: &str) -> bool {
    let body = token.strip_prefix('[').unwrap_or(token).as_bytes();
    matches!(body.first(), Some(b'N' | b'X' | b'Y' | b'Z'))
        && matches!(body.get(1), Some(b) if b.is_ascii_digit() || *b == b'.')
}

/// Parses a component: `N14,csum,gcppos2`, `X..20`, `[N..12]`, `[N3],iso3166`.
fn parse_component(token: &str) -> Result<Component, LineError<'_>> {
    let (optional, text) = match token.strip_prefix('[') {
        Some(rest) => {
            let (inside, after) = rest.split_once(']').ok_or(("unclosed '['", token))?;
            (true, format!("{inside}{after}"))
        }
        None => (false, token.to_owned()),
    };
    if text.contains(['[', ']']) {
        return Err(("misplaced bracket", token));
    }
    let mut parts = text.split(',');
    let kind = parts.next().unwrap_or_default();
    let charset = match kind.as_bytes().first() {
        Some(b'N') => Charset::Numeric,
        Some(b'X') => Charset::Cset82,
        Some(b'Y') => Charset::Cset39,
        Some(b'Z') => Charset::Cset64,
        _ => return Err(("unknown character set", token)),
    };
    let length = &kind[1..];
    let (min_len, max_len) = match length.strip_prefix("..") {
        Some(max) => (1, max.parse().map_err(|_| ("malformed length", token))?),
        None => {
            let n = length.parse().map_err(|_| ("malformed length", token))?;
            (n, n)
        }
    };
    if max_len == 0 {
        return Err(("zero-length component", token));
    }
    let linters = parts
        .map(|name| {
            name.parse::<Linter>()
                .map_err(|_| ("unknown linter", token))
        })
        .collect::<Result<_, _>>()?;
    Ok(Component {
        charset,
        min_len,
        max_len,
        optional,
        linters,
    })
}

/// Enforces the header's notes: only the final component may vary in length, and no mandatory
/// component follows an optional one.
fn check_component_order<'a>(components: &[Component], body: &'a str) -> Result<(), LineError<'a>> {
    if components.is_empty() {
        return Err(("no components", body));
    }
    let last = components.len() - 1;
    for (i, component) in components.iter().enumerate() {
        if i < last && !component.is_fixed_length() {
            return Err(("variable-length component before the last", body));
        }
        if i > 0 && components[i - 1].optional && !component.optional {
            return Err(("mandatory component after an optional one", body));
        }
    }
    Ok(())
}

fn parse_attribute<'a>(token: &'a str, spec: &mut AiSpec) -> Result<(), LineError<'a>> {
    let (key, value) = token.split_once('=').unwrap_or((token, ""));
    match key {
        "req" => {
            let alternatives = value
                .split(',')
                .map(|group| group.split('+').map(|p| parse_pattern(p, token)).collect())
                .collect::<Result<_, _>>()?;
            spec.requirements.push(Requirement { alternatives });
        }
        "ex" => {
            for pattern in value.split(',') {
                spec.exclusions.push(parse_pattern(pattern, token)?);
            }
        }
        "dlpkey" => {
            if spec.dl_qualifiers.is_some() {
                return Err(("repeated dlpkey", token));
            }
            let alternatives = if value.is_empty() {
                vec![Vec::new()]
            } else {
                value
                    .split('|')
                    .map(|alternative| {
                        alternative
                            .split(',')
                            .map(|q| {
                                Ai::from_digits(q.as_bytes()).ok_or(("malformed qualifier", token))
                            })
                            .collect()
                    })
                    .collect::<Result<_, _>>()?
            };
            spec.dl_qualifiers = Some(alternatives);
        }
        _ => return Err(("unknown attribute", token)),
    }
    Ok(())
}

fn parse_pattern<'a>(text: &str, token: &'a str) -> Result<AiPattern, LineError<'a>> {
    AiPattern::parse(text).ok_or(("malformed AI pattern", token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(code: &str) -> &'static AiSpec {
        dictionary().lookup(code).unwrap()
    }

    #[test]
    fn bundled_dictionary_parses() {
        let parsed = Dictionary::parse(DICTIONARY_TEXT).unwrap();
        // 224 entry lines; ranges expand to 541 AIs.
        assert_eq!(parsed.len(), 541);
        assert_eq!(dictionary().len(), 541);
    }

    #[test]
    fn gtin_entry() {
        let gtin = spec("01");
        assert_eq!(gtin.ai(), Ai::GTIN);
        assert!(gtin.has_predefined_length());
        assert!(gtin.is_dl_data_attribute());
        assert_eq!(gtin.title(), "GTIN");
        assert_eq!(gtin.components().len(), 1);
        let c = &gtin.components()[0];
        assert_eq!(
            (c.charset(), c.min_len(), c.max_len(), c.is_optional()),
            (Charset::Numeric, 14, 14, false)
        );
        assert_eq!(c.linters(), &[Linter::Csum, Linter::Gcppos2]);
        let ex: Vec<String> = gtin.exclusions().iter().map(ToString::to_string).collect();
        assert_eq!(ex, ["255", "37"]);
        let alternatives = gtin.dl_qualifier_alternatives().unwrap();
        let as_text: Vec<Vec<&str>> = alternatives
            .iter()
            .map(|a| a.iter().map(Ai::as_str).collect())
            .collect();
        assert_eq!(as_text, vec![vec!["22", "10", "21"], vec!["235"]]);
    }

    #[test]
    fn batch_serial_and_sscc_entries() {
        let batch = spec("10");
        assert!(!batch.has_predefined_length());
        assert_eq!((batch.min_value_len(), batch.max_value_len()), (1, 20));
        assert_eq!(batch.components()[0].charset(), Charset::Cset82);
        assert_eq!(batch.requirements()[0].to_string(), "01,02,03,8006,8026");
        assert!(!batch.is_dl_primary_key());

        let serial = spec("21");
        assert!(!serial.is_dl_data_attribute());
        assert_eq!(serial.exclusions()[0].to_string(), "235");

        let sscc = spec("00");
        assert_eq!(sscc.dl_qualifier_alternatives(), Some(&[Vec::new()][..]));
        assert_eq!(sscc.max_value_len(), 18);
    }

    #[test]
    fn ranges_optional_components_and_multiple_requirements() {
        for code in ["3100", "3103", "3105"] {
            assert_eq!(spec(code).exclusions()[0].to_string(), "310n");
        }
        assert!(dictionary().lookup("3106").is_none());
        assert_eq!(spec("91").title(), "INTERNAL");
        assert_eq!(spec("99").max_value_len(), 90);

        let gdti = spec("253");
        assert_eq!(gdti.components().len(), 2);
        assert!(gdti.components()[1].is_optional());
        assert_eq!((gdti.min_value_len(), gdti.max_value_len()), (13, 30));

        let temp = spec("4330");
        assert_eq!(temp.components()[1].linters(), &[Linter::Hyphen]);
        assert!(temp.components()[1].is_optional());

        let secondary_serial = spec("250");
        let reqs: Vec<String> = secondary_serial
            .requirements()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(reqs, ["01,8006", "21"]);

        let digsig = spec("8030");
        assert_eq!(digsig.components()[0].charset(), Charset::Cset64);
        assert_eq!(
            digsig.requirements()[0].to_string(),
            "00,01+21,253,255,8003,8004,8006+21,8010+8011,8017,8018"
        );
        assert_eq!(spec("8110").title(), "");
        assert_eq!(spec("414").dl_qualifier_alternatives().unwrap().len(), 2);
    }

    #[test]
    fn requirement_and_pattern_semantics() {
        let price = spec("3920");
        let present =
            |codes: &[&str]| -> Vec<Ai> { codes.iter().map(|c| c.parse().unwrap()).collect() };
        assert!(price.requirements()[1].is_satisfied_by(&present(&["01", "3102"])));
        assert!(!price.requirements()[1].is_satisfied_by(&present(&["01", "3302"])));
        let pattern = AiPattern::parse("31nn").unwrap();
        assert!(pattern.matches("3155".parse().unwrap()));
        assert!(!pattern.matches(Ai::from_digits(b"315").unwrap()));
    }

    #[test]
    fn ais_are_prefix_free_so_unbracketed_data_is_unambiguous() {
        let ais: Vec<Ai> = dictionary().iter().map(AiSpec::ai).collect();
        for a in &ais {
            for b in &ais {
                assert!(
                    a == b || !b.as_bytes().starts_with(a.as_bytes()),
                    "{a} prefixes {b}"
                );
            }
        }
        assert_eq!(
            dictionary()
                .match_prefix(b"0109520123456788")
                .map(AiSpec::ai),
            Some(Ai::GTIN)
        );
        assert_eq!(dictionary().match_prefix(b"8").map(AiSpec::ai), None);
    }

    #[test]
    fn constants_and_parsing_of_ais() {
        for ai in [
            Ai::SSCC,
            Ai::GTIN,
            Ai::BATCH,
            Ai::SERIAL,
            Ai::GLN_EXTENSION,
            Ai::LOCATION_GLN,
        ] {
            assert!(dictionary().get(ai).is_some(), "{ai}");
        }
        assert_eq!("8004".parse::<Ai>().unwrap().as_str(), "8004");
        assert!("89".parse::<Ai>().is_err());
        assert!("0".parse::<Ai>().is_err());
        assert!("01a".parse::<Ai>().is_err());
        assert!(Ai::BATCH < Ai::from_digits(b"100").unwrap());
        let mut sorted = vec![Ai::SERIAL, Ai::LOCATION_GLN, Ai::GTIN, Ai::GLN_EXTENSION];
        sorted.sort();
        assert_eq!(
            sorted,
            [Ai::GTIN, Ai::SERIAL, Ai::GLN_EXTENSION, Ai::LOCATION_GLN]
        );
    }

    #[test]
    fn malformed_lines_are_rejected() {
        for line in [
            "01 *? N14,nosuchlinter",
            "01 *? Q14",
            "01 *? N..14 N2",
            "01 *? [N2] N2",
            "01 # ? N14",
            "01 *? N14 foo=1",
            "01 *? N14 dlpkey=22",
            "3105-3100 N6",
            "01 &? N14",
            "01 * X..20",
        ] {
            assert!(Dictionary::parse(line).is_err(), "{line}");
        }
        assert!(Dictionary::parse("01 *? N14 dlpkey\n01 N2").is_err());
    }
}
