//! Check every identifier vector in `src/codes/testdata/identifiers.json` against the parsers.
//!
//! Valid entries must parse, print back unchanged (or in their documented canonical form) and
//! survive a serde round trip; invalid entries must fail with the error variant that matches the
//! reason the vector file states, or, where it states none, the one named here per entry.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::str::FromStr;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use suyuan_ledger::codes::ccc::{CccCertificate, CccError};
use suyuan_ledger::codes::ecode::Ecode;
use suyuan_ledger::codes::gs1::keys::{Gln, Gtin, KeyError, Sscc};
use suyuan_ledger::codes::handle::{HandleError, HandleId};
use suyuan_ledger::codes::licence::{LicenceError, LicenceField, ProductionLicence};
use suyuan_ledger::codes::uscc::{Uscc, UsccError};

const VECTORS: &str = include_str!("../src/codes/testdata/identifiers.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("identifiers.json is valid JSON")
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("a list of strings")
        .iter()
        .map(|item| item.as_str().expect("a string").to_owned())
        .collect()
}

fn reasons(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .expect("a map from input to reason")
        .iter()
        .map(|(input, reason)| (input.clone(), reason.as_str().expect("a reason").to_owned()))
        .collect()
}

/// Parses `input`, checks it prints as `canonical`, and round-trips it through serde.
fn assert_valid<T>(input: &str, canonical: &str) -> T
where
    T: FromStr + ToString + Serialize + DeserializeOwned + PartialEq + Debug,
    T::Err: Debug,
{
    let value: T = input
        .parse()
        .unwrap_or_else(|error| panic!("{input:?} should parse: {error:?}"));
    assert_eq!(value.to_string(), canonical, "{input:?} prints canonically");
    assert_eq!(
        canonical.parse::<T>().ok().as_ref(),
        Some(&value),
        "{input:?}: the canonical form parses to the same value"
    );
    let json = serde_json::to_string(&value).expect("serialises");
    assert_eq!(
        json,
        format!("\"{canonical}\""),
        "{input:?} serialises as its string"
    );
    let back: T = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, value, "{input:?} survives serde");
    value
}

fn parse_error<T>(input: &str) -> T::Err
where
    T: FromStr + Debug,
{
    match input.parse::<T>() {
        Ok(value) => panic!("{input:?} should be rejected, parsed as {value:?}"),
        Err(error) => error,
    }
}

/// Checks that the `expected` table covers exactly the invalid inputs of the vector file.
fn assert_covers<E>(inputs: &[String], expected: &BTreeMap<&str, E>) {
    let mut listed: Vec<&str> = inputs.iter().map(String::as_str).collect();
    listed.sort_unstable();
    let covered: Vec<&str> = expected.keys().copied().collect();
    assert_eq!(
        listed, covered,
        "every invalid vector needs an expected error here, and only those"
    );
}

#[test]
fn uscc_valid_vectors_parse() {
    let vectors = vectors();
    let valid = strings(&vectors["uscc"]["valid"]);
    assert!(!valid.is_empty());
    for input in &valid {
        let code: Uscc = assert_valid(input, input);
        assert_eq!(code.region_code().len(), 6);
        assert_eq!(code.organisation_code().len(), 9);
        let legacy = Uscc::parse_legacy(input).expect("a valid code is a valid legacy code");
        assert_eq!(legacy.check_mismatch(), None, "{input:?}");
    }
}

#[test]
fn uscc_invalid_vectors_fail_for_their_stated_reason() {
    let vectors = vectors();
    let invalid = reasons(&vectors["uscc"]["invalid"]);
    assert!(!invalid.is_empty());
    for (input, reason) in &invalid {
        let error = parse_error::<Uscc>(input);
        let matches = if reason.starts_with("check character") {
            matches!(error, UsccError::CheckCharacter { .. })
        } else if reason.starts_with("characters outside the alphabet")
            || reason.starts_with("lower case")
        {
            matches!(error, UsccError::InvalidCharacter { .. })
        } else if reason.starts_with("length") {
            matches!(error, UsccError::WrongLength { .. })
        } else {
            panic!("no error variant is mapped to the reason {reason:?} of {input:?}")
        };
        assert!(matches, "{input:?} ({reason}) failed with {error:?}");
    }
}

#[test]
fn uscc_lower_case_vector_parses_only_when_normalising() {
    let vectors = vectors();
    let invalid = reasons(&vectors["uscc"]["invalid"]);
    let lower_case: Vec<&String> = invalid
        .iter()
        .filter(|(_, reason)| reason.starts_with("lower case"))
        .map(|(input, _)| input)
        .collect();
    assert!(!lower_case.is_empty());
    for input in lower_case {
        let code = Uscc::parse_normalising(input).expect("upper-cased, the code is valid");
        assert_eq!(code.as_str(), input.to_ascii_uppercase());
    }
}

#[test]
fn uscc_check_character_vectors_are_importable_only_as_legacy() {
    let vectors = vectors();
    let invalid = reasons(&vectors["uscc"]["invalid"]);
    for (input, reason) in &invalid {
        let UsccError::CheckCharacter { expected, found } = parse_error::<Uscc>(input) else {
            continue;
        };
        match Uscc::parse_legacy(input) {
            Ok(legacy) => {
                let mismatch = legacy.check_mismatch().expect("carries the warning");
                assert_eq!((mismatch.expected, mismatch.found), (expected, found));
                assert_eq!(legacy.to_uscc(), None, "{input:?} ({reason})");
            }
            // A check position holding a character outside the alphabet is not structural.
            Err(error) => assert_eq!(
                error,
                UsccError::InvalidCharacter {
                    position: 18,
                    character: found
                },
                "{input:?} ({reason})"
            ),
        }
    }
}

#[test]
fn gs1_valid_vectors_parse_as_every_key_of_their_length() {
    let vectors = vectors();
    let valid = strings(&vectors["gs1_check_digit"]["valid"]);
    assert!(!valid.is_empty());
    for input in &valid {
        match input.len() {
            8 | 12 | 13 | 14 => {
                let padded = format!("{input:0>14}");
                let gtin: Gtin = assert_valid(input, &padded);
                assert_eq!(gtin.as_str(), padded);
                if input.len() == 13 {
                    assert_valid::<Gln>(input, input);
                }
            }
            18 => {
                assert_valid::<Sscc>(input, input);
            }
            length => panic!("{input:?}: no GS1 key has {length} digits"),
        }
    }
}

#[test]
fn gs1_invalid_vectors_fail_their_check_digit() {
    let vectors = vectors();
    let invalid = strings(&vectors["gs1_check_digit"]["invalid"]);
    assert!(!invalid.is_empty());
    let mut errors = Vec::new();
    for input in &invalid {
        match input.len() {
            8 | 12 | 14 => errors.push(parse_error::<Gtin>(input)),
            13 => {
                errors.push(parse_error::<Gtin>(input));
                errors.push(parse_error::<Gln>(input));
            }
            18 => errors.push(parse_error::<Sscc>(input)),
            length => panic!("{input:?}: no GS1 key has {length} digits"),
        }
    }
    for error in errors {
        assert!(
            matches!(error, KeyError::CheckDigit { .. }),
            "rule says check digit, got {error:?}"
        );
    }
}

#[test]
fn ccc_valid_vectors_parse() {
    let vectors = vectors();
    let valid = strings(&vectors["ccc_certificate"]["valid"]);
    assert!(!valid.is_empty());
    for input in &valid {
        let certificate: CccCertificate = assert_valid(input, input);
        assert_eq!(certificate.product_category().len(), 4);
        assert_eq!(certificate.sequence().len(), 6);
    }
}

#[test]
fn ccc_invalid_vectors_fail_with_the_expected_error() {
    let vectors = vectors();
    let invalid = strings(&vectors["ccc_certificate"]["invalid"]);
    let expected = BTreeMap::from([
        (
            "201601090387841",
            CccError::WrongLength {
                expected: 16,
                found: 15,
            },
        ),
        (
            "2016O10903878416",
            CccError::NonDigit {
                position: 5,
                character: 'O',
            },
        ),
        (
            "20160109038784160",
            CccError::WrongLength {
                expected: 16,
                found: 17,
            },
        ),
    ]);
    assert_covers(&invalid, &expected);
    for (input, error) in expected {
        assert_eq!(parse_error::<CccCertificate>(input), error, "{input:?}");
    }
}

#[test]
fn licence_valid_vectors_parse_to_the_full_width_form() {
    let vectors = vectors();
    let valid = strings(&vectors["production_licence"]["valid"]);
    assert!(!valid.is_empty());
    for input in &valid {
        let canonical = input.replace('(', "（").replace(')', "）");
        let licence: ProductionLicence = assert_valid(input, &canonical);
        assert_eq!(licence.province().is_some(), input.starts_with(['(', '（']));
    }
}

#[test]
fn licence_invalid_vectors_fail_with_the_expected_error() {
    let vectors = vectors();
    let invalid = strings(&vectors["production_licence"]["invalid"]);
    let expected = BTreeMap::from([
        (
            "XK8-001-04763",
            LicenceError::FieldLength {
                field: LicenceField::Industry,
                expected: 2,
                found: 1,
            },
        ),
        (
            "XK08-001-4763",
            LicenceError::FieldLength {
                field: LicenceField::Enterprise,
                expected: 5,
                found: 4,
            },
        ),
        (
            "XY08-001-04763",
            LicenceError::UnexpectedCharacter {
                position: 2,
                expected: "'K'",
                found: 'Y',
            },
        ),
    ]);
    assert_covers(&invalid, &expected);
    for (input, error) in expected {
        assert_eq!(parse_error::<ProductionLicence>(input), error, "{input:?}");
    }
}

#[test]
fn handle_valid_vectors_parse() {
    let vectors = vectors();
    let valid = strings(&vectors["industrial_internet_identifier"]["valid"]);
    assert!(!valid.is_empty());
    for input in &valid {
        let id: HandleId = assert_valid(input, input);
        assert_eq!(format!("{}/{}", id.prefix(), id.suffix()), *input);
    }
}

#[test]
fn handle_invalid_vectors_fail_with_the_expected_error() {
    let vectors = vectors();
    let invalid = strings(&vectors["industrial_internet_identifier"]["invalid"]);
    let expected = BTreeMap::from([
        ("88.1000.2", HandleError::MissingSeparator),
        ("/mm", HandleError::EmptyPrefix),
        ("88..2/x", HandleError::EmptyPrefixGroup { group: 2 }),
    ]);
    assert_covers(&invalid, &expected);
    for (input, error) in expected {
        assert_eq!(parse_error::<HandleId>(input), error, "{input:?}");
    }
}

#[test]
fn ecode_vectors_if_any_are_honoured() {
    // The vector file has none yet (field lengths unconfirmed); any added later are checked here.
    let vectors = vectors();
    for input in strings(&vectors["ecode"]["valid"]) {
        assert_valid::<Ecode>(&input, &input);
    }
    for input in strings(&vectors["ecode"]["invalid"]) {
        parse_error::<Ecode>(&input);
    }
}
