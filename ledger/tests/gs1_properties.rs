//! Check three properties of the GS1 parsers: no input makes them panic; whatever is built
//! from a valid GTIN, batch and serial parses back to the same value in every form; and a
//! Digital Link read leniently is the strict parse of its canonical form.

use proptest::prelude::*;
use suyuan_ledger::codes::gs1::check::check_digit;
use suyuan_ledger::codes::gs1::dictionary::Ai;
use suyuan_ledger::codes::gs1::digital_link::{DigitalLink, percent_encode_into};
use suyuan_ledger::codes::gs1::element::ElementString;
use suyuan_ledger::codes::gs1::epc::{Lgtin, Sgln, Sgtin, Sscc};
use suyuan_ledger::codes::gs1::keys::Gtin;
use suyuan_ledger::codes::gs1::linters::Linter;

/// Feeds `input` to every parser; only panics matter, results are discarded.
fn parse_everything(input: &str) {
    let _ = input.parse::<ElementString>();
    let _ = ElementString::parse_bracketed(input);
    let _ = ElementString::parse_unbracketed(input);
    let _ = DigitalLink::parse(input);
    let _ = DigitalLink::parse_lenient(input);
    let _ = input.parse::<Sgtin>();
    let _ = input.parse::<Lgtin>();
    let _ = input.parse::<Sscc>();
    let _ = input.parse::<Sgln>();
    for linter in Linter::ALL {
        let _ = linter.check(input);
    }
}

/// Text biased towards the syntax the parsers look for.
fn syntax_soup() -> impl Strategy<Value = String> {
    let head = prop_oneof![
        Just(String::new()),
        Just("(01)".to_owned()),
        Just("]d2".to_owned()),
        Just("https://a/01/".to_owned()),
        Just("HtTpS://a/01/".to_owned()),
        Just("https://id.gs1.org/00/".to_owned()),
        Just("urn:epc:id:sgtin:".to_owned()),
        Just("urn:epc:class:lgtin:".to_owned()),
        Just("urn:epc:id:sscc:".to_owned()),
        Just("urn:epc:id:sgln:".to_owned()),
    ];
    let tail = proptest::string::string_regex("[()0-9A-Za-z\\x1d^%/?&=.:#+\\\\é-]{0,120}")
        .expect("valid regex");
    (head, tail).prop_map(|(head, tail)| head + &tail)
}

/// A valid GTIN-14.
fn gtin() -> impl Strategy<Value = Gtin> {
    proptest::string::string_regex("[0-9]{13}")
        .expect("valid regex")
        .prop_map(|body| {
            let check = check_digit(body.as_bytes()).expect("digits have a check digit");
            format!("{body}{}", char::from(check))
                .parse()
                .expect("a computed check digit is valid")
        })
}

/// A GTIN written as GTIN-8, -12 or -13, with its 14-digit form (the same digits after leading
/// zeros).
fn zero_suppressed_gtin() -> impl Strategy<Value = (String, Gtin)> {
    prop_oneof![Just(8usize), Just(12), Just(13)]
        .prop_flat_map(|digits| {
            proptest::string::string_regex(&format!("[0-9]{{{}}}", digits - 1))
                .expect("valid regex")
        })
        .prop_map(|body| {
            let check = check_digit(body.as_bytes()).expect("digits have a check digit");
            let written = format!("{body}{}", char::from(check));
            let gtin: Gtin = written.parse().expect("a computed check digit is valid");
            (written, gtin)
        })
}

/// `http` or `https`, each letter in either case.
fn scheme_in_any_case() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("http"), Just("https")],
        proptest::collection::vec(any::<bool>(), 5),
    )
        .prop_map(|(scheme, upper)| {
            scheme
                .chars()
                .zip(upper)
                .map(|(c, upper)| if upper { c.to_ascii_uppercase() } else { c })
                .collect::<String>()
        })
}

/// 1 to 20 characters of GS1 CSET 82, the set of batch and serial numbers.
fn cset82_value() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[!\"%&'()*+,\\-./0-9:;<=>?A-Z_a-z]{1,20}").expect("valid regex")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn gs1_arbitrary_strings_never_panic(input in any::<String>()) {
        parse_everything(&input);
    }

    #[test]
    fn gs1_syntax_like_strings_never_panic(input in syntax_soup()) {
        parse_everything(&input);
    }

    #[test]
    fn gs1_gtin_batch_serial_round_trip(
        gtin in gtin(),
        batch in cset82_value(),
        serial in cset82_value(),
        prefix_digits in 6usize..=12,
    ) {
        let elements = ElementString::from_pairs([
            (Ai::GTIN, gtin.as_str()),
            (Ai::BATCH, batch.as_str()),
            (Ai::SERIAL, serial.as_str()),
        ])
        .expect("valid pairs");

        prop_assert_eq!(&ElementString::parse_bracketed(&elements.to_string()).expect("bracketed"), &elements);
        prop_assert_eq!(&ElementString::parse_unbracketed(&elements.to_unbracketed()).expect("unbracketed"), &elements);

        let link = DigitalLink::from_element_string(&elements).expect("a GTIN is a primary key");
        let uri = link.to_uri("https://example.com/stem");
        let reparsed = DigitalLink::parse(&uri).expect("canonical URI parses");
        prop_assert_eq!(reparsed.element_string(), &elements);
        prop_assert_eq!(reparsed.to_string(), uri);

        let sgtin = Sgtin::new(&gtin, &serial, prefix_digits).expect("valid SGTIN");
        prop_assert_eq!(&sgtin.to_string().parse::<Sgtin>().expect("URN parses"), &sgtin);
        prop_assert_eq!(sgtin.element_string().get("21"), Some(serial.as_str()));

        let lgtin = Lgtin::new(&gtin, &batch, prefix_digits).expect("valid LGTIN");
        prop_assert_eq!(&lgtin.to_string().parse::<Lgtin>().expect("URN parses"), &lgtin);
    }

    #[test]
    fn gs1_lenient_digital_link_is_the_strict_parse_of_its_canonical_form(
        scheme in scheme_in_any_case(),
        (short, gtin) in zero_suppressed_gtin(),
        suppressed in any::<bool>(),
        in_query in any::<bool>(),
        batch in cset82_value(),
    ) {
        let mut escaped_batch = String::new();
        percent_encode_into(&mut escaped_batch, &batch);
        // The GTIN as the primary key in the path, or as a data attribute in the query.
        let after_scheme = |gtin: &str| {
            if in_query {
                format!("://example.com/8004/9520614141234567?01={gtin}")
            } else {
                format!("://example.com/stem/01/{gtin}/10/{escaped_batch}")
            }
        };
        let written = if suppressed { short.as_str() } else { gtin.as_str() };
        let varied = format!("{scheme}{}", after_scheme(written));
        let canonical = format!("{}{}", scheme.to_ascii_lowercase(), after_scheme(gtin.as_str()));

        let strict = DigitalLink::parse(&canonical).expect("the canonical form parses strictly");
        prop_assert_eq!(strict.to_string(), canonical);
        let lenient = DigitalLink::parse_lenient(&varied).expect("the lenient parse reads it");
        prop_assert_eq!(lenient.link(), &strict);

        let scheme_rewritten = scheme != scheme.to_ascii_lowercase();
        let rewrites = usize::from(scheme_rewritten) + usize::from(suppressed);
        prop_assert_eq!(lenient.rewrites().len(), rewrites);
        prop_assert_eq!(lenient.is_canonical(), rewrites == 0);

        // The strict parse reads the input itself exactly when GS1's reference would by
        // default: not a scheme in mixed case, nor a zero-suppressed GTIN in the path.
        let mixed_case = scheme_rewritten && scheme != scheme.to_ascii_uppercase();
        let refused = mixed_case || (suppressed && !in_query);
        match DigitalLink::parse(&varied) {
            Ok(link) => {
                prop_assert!(!refused, "{} should be refused", varied);
                prop_assert_eq!(&link, &strict);
            }
            Err(error) => prop_assert!(refused, "{}: {}", varied, error),
        }
    }
}
