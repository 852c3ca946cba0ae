//! Check the identifier parsers on generated input: valid codes round-trip through `Display`,
//! every single-character substitution of a valid USCC or GTIN is caught, and no input panics.

use proptest::prelude::*;
use suyuan_ledger::codes::ccc::CccCertificate;
use suyuan_ledger::codes::ecode::Ecode;
use suyuan_ledger::codes::gs1::check::check_digit;
use suyuan_ledger::codes::gs1::keys::{Gln, Gtin, Sscc};
use suyuan_ledger::codes::handle::HandleId;
use suyuan_ledger::codes::licence::ProductionLicence;
use suyuan_ledger::codes::uscc::{self, ALPHABET, RegistrationAuthority, Uscc};

/// Characters of the USCC alphabet.
fn alphabet() -> Vec<char> {
    ALPHABET.chars().collect()
}

/// A valid USCC: a defined authority and category, six region digits, nine organisation code
/// characters from the alphabet, and the check character from the public check function.
fn valid_uscc() -> impl Strategy<Value = String> {
    let category =
        prop::sample::select(RegistrationAuthority::ALL.to_vec()).prop_flat_map(|authority| {
            prop::sample::select(authority.categories().collect::<Vec<_>>())
        });
    let region = prop::collection::vec(prop::sample::select(('0'..='9').collect::<Vec<_>>()), 6);
    let organisation = prop::collection::vec(prop::sample::select(alphabet()), 9);
    (category, region, organisation).prop_map(|(category, region, organisation)| {
        let mut data = String::new();
        data.push(category.authority().code());
        data.push(category.code());
        data.extend(region);
        data.extend(organisation);
        let check = uscc::check_character(&data).expect("17 characters of the alphabet");
        data.push(check);
        data
    })
}

/// A valid GTIN in one of its four lengths, with the check digit computed by `gs1::check`.
fn valid_gtin() -> impl Strategy<Value = String> {
    prop::sample::select(vec![8_usize, 12, 13, 14]).prop_flat_map(|length| {
        prop::collection::vec(b'0'..=b'9', length - 1).prop_map(|mut digits| {
            let check = check_digit(&digits).expect("all digits");
            digits.push(check);
            String::from_utf8(digits).expect("ASCII digits")
        })
    })
}

/// Every string that differs from `code` in exactly one position, by a character of `choices`.
fn substitutions(code: &str, choices: &[char]) -> Vec<String> {
    let characters: Vec<char> = code.chars().collect();
    let mut variants = Vec::new();
    for (index, &original) in characters.iter().enumerate() {
        for &replacement in choices.iter().filter(|&&c| c != original) {
            let mut variant = characters.clone();
            variant[index] = replacement;
            variants.push(variant.into_iter().collect());
        }
    }
    variants
}

proptest! {
    #[test]
    fn uscc_round_trips_through_display(code in valid_uscc()) {
        let parsed: Uscc = code.parse().expect("generated codes are valid");
        prop_assert_eq!(parsed.to_string(), code.as_str());
        prop_assert_eq!(parsed.to_string().parse::<Uscc>().ok(), Some(parsed));
    }

    #[test]
    fn uscc_rejects_every_single_substitution(code in valid_uscc()) {
        for variant in substitutions(&code, &alphabet()) {
            prop_assert!(variant.parse::<Uscc>().is_err(), "{} accepted", variant);
        }
    }

    #[test]
    fn gtin_round_trips_through_display(code in valid_gtin()) {
        let parsed: Gtin = code.parse().expect("generated GTINs are valid");
        prop_assert_eq!(parsed.to_string(), format!("{code:0>14}"));
        prop_assert_eq!(parsed.to_string().parse::<Gtin>().ok(), Some(parsed));
    }

    #[test]
    fn gtin_rejects_every_single_substitution(code in valid_gtin()) {
        let digits: Vec<char> = ('0'..='9').collect();
        for variant in substitutions(&code, &digits) {
            prop_assert!(variant.parse::<Gtin>().is_err(), "{} accepted", variant);
        }
    }

    #[test]
    fn no_input_makes_a_parser_panic(input in any::<String>()) {
        let _ = input.parse::<Uscc>();
        let _ = Uscc::parse_normalising(&input);
        let _ = Uscc::parse_legacy(&input);
        let _ = input.parse::<Gtin>();
        let _ = input.parse::<Gln>();
        let _ = input.parse::<Sscc>();
        let _ = input.parse::<CccCertificate>();
        let _ = input.parse::<ProductionLicence>();
        let _ = input.parse::<HandleId>();
        let _ = input.parse::<Ecode>();
    }

    #[test]
    fn near_miss_inputs_do_not_panic(
        input in "[(（]?[京鄂中]?[)）]?[XK0-9A-Z./\\-]{0,30}"
    ) {
        let _ = input.parse::<Uscc>();
        let _ = Uscc::parse_legacy(&input);
        let _ = input.parse::<Gtin>();
        let _ = input.parse::<CccCertificate>();
        let _ = input.parse::<ProductionLicence>();
        let _ = input.parse::<HandleId>();
        let _ = input.parse::<Ecode>();
    }
}
