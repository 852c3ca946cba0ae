//! Parse industrial-internet identifiers (工业互联网标识), the Handle-style "digital identity
//! code" of a product, batch or part.
//!
//! An identifier reads `prefix/suffix`, split at the first `/`:
//!
//! - the prefix names the issuing enterprise in a hierarchy of dot-separated groups of ASCII
//!   digits, at least [`MIN_PREFIX_GROUPS`] of them: national root, industry, enterprise, as in
//!   `88.608.24161301` (`88` is China's national root, see [`HandleId::is_under_china_root`]);
//! - the suffix is whatever the enterprise assigns, for example `SN-0001`. It must be non-empty
//!   and hold no whitespace, control characters or invisible formatting characters (zero-width
//!   and bidirectional marks), so that what a person reads is what the ledger stores; it may hold
//!   further `/` and any other printable Unicode.
//!
//! The whole identifier is at most [`MAX_BYTES`] bytes. No check rule is known. Identifiers
//! compare byte for byte: no case folding or Unicode normalisation is applied to the suffix.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest identifier accepted, in bytes of UTF-8.
pub const MAX_BYTES: usize = 255;

/// Fewest dot-separated groups in a prefix (national root and at least one more).
pub const MIN_PREFIX_GROUPS: usize = 2;

/// First prefix group of identifiers under China's national root.
pub const CHINA_ROOT: &str = "88";

/// Why a string is not an industrial-internet identifier. Positions count characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HandleError {
    /// The identifier is longer than [`MAX_BYTES`].
    #[error("an identifier has at most {max_bytes} bytes, found {found_bytes}")]
    TooLong {
        /// Always [`MAX_BYTES`].
        max_bytes: usize,
        /// Length of the input in bytes.
        found_bytes: usize,
    },
    /// There is no `/` between prefix and suffix.
    #[error("an identifier reads prefix/suffix, but there is no '/'")]
    MissingSeparator,
    /// Nothing precedes the `/`.
    #[error("the prefix before '/' is empty")]
    EmptyPrefix,
    /// Nothing follows the `/`.
    #[error("the suffix after '/' is empty")]
    EmptySuffix,
    /// A prefix group is empty: two dots in a row, or a dot at either end.
    #[error("prefix group {group} is empty")]
    EmptyPrefixGroup {
        /// 1-based number of the group.
        group: usize,
    },
    /// A prefix character is neither an ASCII digit nor a dot.
    #[error("the prefix holds only digits and dots, found {character:?} at position {position}")]
    InvalidPrefixCharacter {
        /// 1-based position of the character in the identifier.
        position: usize,
        /// The offending character.
        character: char,
    },
    /// The prefix has fewer than [`MIN_PREFIX_GROUPS`] groups.
    #[error("the prefix has {found} group(s), at least {minimum} are required")]
    TooFewPrefixGroups {
        /// Always [`MIN_PREFIX_GROUPS`].
        minimum: usize,
        /// Groups found.
        found: usize,
    },
    /// A suffix character is whitespace, a control character or an invisible formatting mark.
    #[error("the suffix holds {character:?} at position {position}, which is not printable")]
    InvalidSuffixCharacter {
        /// 1-based position of the character in the identifier.
        position: usize,
        /// The offending character.
        character: char,
    },
}

/// An industrial-internet identifier: `prefix/suffix`.
///
/// ```
/// use suyuan_ledger::codes::handle::HandleId;
///
/// let id: HandleId = "88.608.24161301/SN-0001".parse()?;
/// assert_eq!(id.prefix(), "88.608.24161301");
/// assert_eq!(id.suffix(), "SN-0001");
/// assert_eq!(id.prefix_groups().collect::<Vec<_>>(), ["88", "608", "24161301"]);
/// assert!(id.is_under_china_root());
/// # Ok::<(), suyuan_ledger::codes::handle::HandleError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HandleId {
    identifier: String,
    /// Byte index of the `/` that ends the prefix.
    separator: usize,
}

impl HandleId {
    /// The whole identifier.
    pub fn as_str(&self) -> &str {
        &self.identifier
    }

    /// The prefix, before the first `/`.
    pub fn prefix(&self) -> &str {
        self.identifier.get(..self.separator).unwrap_or_default()
    }

    /// The suffix, after the first `/`.
    pub fn suffix(&self) -> &str {
        self.identifier
            .get(self.separator + 1..)
            .unwrap_or_default()
    }

    /// The dot-separated groups of the prefix, root first.
    pub fn prefix_groups(&self) -> impl Iterator<Item = &str> {
        self.prefix().split('.')
    }

    /// Whether the prefix lies under China's national root, [`CHINA_ROOT`].
    pub fn is_under_china_root(&self) -> bool {
        self.prefix_groups().next() == Some(CHINA_ROOT)
    }
}

/// Whether `character` may appear in a suffix.
///
/// Besides whitespace and control characters this refuses the invisible marks that would let two
/// identifiers look the same: zero-width characters, the byte-order mark, the soft hyphen and the
/// bidirectional controls.
fn is_allowed_in_suffix(character: char) -> bool {
    let invisible = matches!(
        character,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    );
    !(character.is_whitespace() || character.is_control() || invisible)
}

fn check_prefix(prefix: &str) -> Result<(), HandleError> {
    if prefix.is_empty() {
        return Err(HandleError::EmptyPrefix);
    }
    // The prefix comes first, so its character positions are those of the identifier.
    if let Some((index, character)) = prefix
        .chars()
        .enumerate()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.'))
    {
        return Err(HandleError::InvalidPrefixCharacter {
            position: index + 1,
            character,
        });
    }
    let mut groups = 0;
    for group in prefix.split('.') {
        groups += 1;
        if group.is_empty() {
            return Err(HandleError::EmptyPrefixGroup { group: groups });
        }
    }
    if groups < MIN_PREFIX_GROUPS {
        return Err(HandleError::TooFewPrefixGroups {
            minimum: MIN_PREFIX_GROUPS,
            found: groups,
        });
    }
    Ok(())
}

fn check_suffix(suffix: &str, prefix_characters: usize) -> Result<(), HandleError> {
    if suffix.is_empty() {
        return Err(HandleError::EmptySuffix);
    }
    if let Some((index, character)) = suffix
        .chars()
        .enumerate()
        .find(|&(_, c)| !is_allowed_in_suffix(c))
    {
        return Err(HandleError::InvalidSuffixCharacter {
            // The prefix and the '/' come before the suffix.
            position: prefix_characters + 1 + index + 1,
            character,
        });
    }
    Ok(())
}

impl FromStr for HandleId {
    type Err = HandleError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.len() > MAX_BYTES {
            return Err(HandleError::TooLong {
                max_bytes: MAX_BYTES,
                found_bytes: input.len(),
            });
        }
        let (prefix, suffix) = input.split_once('/').ok_or(HandleError::MissingSeparator)?;
        check_prefix(prefix)?;
        // The prefix is ASCII once checked, so its length in bytes is its length in characters.
        check_suffix(suffix, prefix.len())?;
        Ok(Self {
            identifier: input.to_owned(),
            separator: prefix.len(),
        })
    }
}

impl TryFrom<String> for HandleId {
    type Error = HandleError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<HandleId> for String {
    fn from(value: HandleId) -> Self {
        value.identifier
    }
}

impl fmt::Display for HandleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.identifier)
    }
}

crate::string_schema!(
    HandleId,
    "HandleId",
    "an industrial-internet identifier (工业互联网标识): prefix/suffix, the prefix dot-separated \
     digit groups, the suffix without white space or control characters",
    "pattern": "^[0-9]+(\\.[0-9]+)+/\\S+$",
    "examples": ["88.608.24161301/SN-0001"],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_may_hold_slashes_and_unicode() {
        let id: HandleId = "88.1000.2/批次/2024-01".parse().unwrap();
        assert_eq!(id.prefix(), "88.1000.2");
        assert_eq!(id.suffix(), "批次/2024-01");
    }

    #[test]
    fn single_group_prefix_is_rejected() {
        assert_eq!(
            "88/x".parse::<HandleId>().unwrap_err(),
            HandleError::TooFewPrefixGroups {
                minimum: MIN_PREFIX_GROUPS,
                found: 1
            }
        );
    }

    #[test]
    fn prefix_letters_and_trailing_dots_are_rejected() {
        assert_eq!(
            "88.a/x".parse::<HandleId>().unwrap_err(),
            HandleError::InvalidPrefixCharacter {
                position: 4,
                character: 'a'
            }
        );
        assert_eq!(
            "88.1000./x".parse::<HandleId>().unwrap_err(),
            HandleError::EmptyPrefixGroup { group: 3 }
        );
    }

    #[test]
    fn whitespace_control_and_invisible_suffix_characters_are_rejected() {
        for (input, position, character) in [
            ("88.1/a b", 7, ' '),
            ("88.1/a\tb", 7, '\t'),
            ("88.1/a\u{200B}", 7, '\u{200B}'),
            ("88.1/\u{202E}ab", 6, '\u{202E}'),
        ] {
            assert_eq!(
                input.parse::<HandleId>().unwrap_err(),
                HandleError::InvalidSuffixCharacter {
                    position,
                    character
                },
                "{input:?}"
            );
        }
    }

    #[test]
    fn length_is_bounded() {
        let longest = format!("88.1/{}", "a".repeat(MAX_BYTES - 5));
        assert!(longest.parse::<HandleId>().is_ok());
        let too_long = longest + "a";
        assert_eq!(
            too_long.parse::<HandleId>().unwrap_err(),
            HandleError::TooLong {
                max_bytes: MAX_BYTES,
                found_bytes: MAX_BYTES + 1
            }
        );
    }

    #[test]
    fn serde_goes_through_the_parser() {
        let id: HandleId = serde_json::from_str("\"88.1000.2/mm\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"88.1000.2/mm\"");
        assert!(serde_json::from_str::<HandleId>("\"88..2/x\"").is_err());
    }
}
