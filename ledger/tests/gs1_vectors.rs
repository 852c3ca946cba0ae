//! Check the GS1 element-string, Digital Link and EPC URN code against published vectors: the
//! project's `identifiers.json` and the identifiers the GS1 EPCIS 2.0 example events use.

use std::collections::BTreeMap;

use serde_json::Value;
use suyuan_ledger::codes::gs1::digital_link::{DigitalLink, DigitalLinkError, Rewrite};
use suyuan_ledger::codes::gs1::element::{ElementError, ElementString};
use suyuan_ledger::codes::gs1::epc::{Lgtin, Sgln, Sgtin, Sscc};
use suyuan_ledger::codes::gs1::linters::Linter;

fn identifiers() -> Value {
    let text = include_str!("../src/codes/testdata/identifiers.json");
    serde_json::from_str(text).expect("identifiers.json is JSON")
}

/// The AI values a vector lists, as an ordered map.
fn expected_pairs(vector: &Value) -> BTreeMap<String, String> {
    vector
        .as_object()
        .expect("a vector maps AIs to values")
        .iter()
        .map(|(ai, value)| {
            (
                ai.clone(),
                value.as_str().expect("values are strings").to_owned(),
            )
        })
        .collect()
}

fn pairs_of(elements: &ElementString) -> BTreeMap<String, String> {
    elements
        .iter()
        .map(|(ai, value)| (ai.to_string(), value.to_owned()))
        .collect()
}

#[test]
fn gs1_digital_link_valid_vectors() {
    let vectors = identifiers();
    let valid = vectors["gs1_digital_link"]["valid"]
        .as_object()
        .expect("valid vectors");
    assert!(!valid.is_empty());
    for (uri, expected) in valid {
        let link = DigitalLink::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!(
            pairs_of(link.element_string()),
            expected_pairs(expected),
            "{uri}"
        );
        // Each vector is already canonical, so it comes back unchanged.
        assert_eq!(&link.to_string(), uri);
    }
}

#[test]
fn gs1_digital_link_invalid_vectors() {
    let vectors = identifiers();
    let invalid = vectors["gs1_digital_link"]["invalid"]
        .as_object()
        .expect("invalid vectors");
    assert!(!invalid.is_empty());
    for (uri, reason) in invalid {
        let error = DigitalLink::parse(uri).expect_err(uri);
        let reason = reason.as_str().expect("reasons are strings");
        let explained = match reason {
            "trailing slash" => error == DigitalLinkError::TrailingSlash,
            "batch in the query string" => {
                matches!(error, DigitalLinkError::QualifierInQuery { .. })
            }
            "GTIN check digit" => matches!(
                error,
                DigitalLinkError::Element(ElementError::Lint {
                    linter: Linter::Csum,
                    ..
                })
            ),
            "zero-suppressed GTIN in the path" => {
                matches!(error, DigitalLinkError::ZeroSuppressedGtin { .. })
            }
            "scheme in mixed case" => matches!(error, DigitalLinkError::MixedCaseScheme { .. }),
            // A reason added later without a matcher here is still checked to fail.
            _ => true,
        };
        assert!(explained, "{uri}: expected {reason}, got {error}");
    }
}

/// The spellings GS1's reference refuses only by default are read by the lenient parse, as the
/// link their canonical spelling names.
#[test]
fn gs1_digital_link_invalid_vectors_refused_only_by_default_read_leniently() {
    let vectors = identifiers();
    let invalid = vectors["gs1_digital_link"]["invalid"]
        .as_object()
        .expect("invalid vectors");
    let mut read = 0;
    for (uri, reason) in invalid {
        let canonical = match reason.as_str() {
            Some("zero-suppressed GTIN in the path") => uri.replace("/01/", "/01/0"),
            Some("scheme in mixed case") => uri.to_ascii_lowercase(),
            _ => continue,
        };
        let lenient = DigitalLink::parse_lenient(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert!(!lenient.is_canonical(), "{uri}");
        assert!(
            lenient.rewrites().iter().any(Rewrite::refused_by_default),
            "{uri}"
        );
        let strict = DigitalLink::parse(&canonical).unwrap_or_else(|e| panic!("{canonical}: {e}"));
        assert_eq!(lenient.link(), &strict, "{uri}");
        assert_eq!(strict.to_string(), canonical);
        read += 1;
    }
    assert_eq!(
        read, 2,
        "one vector for each spelling the lenient parse reads"
    );
}

#[test]
fn gs1_epc_urn_vectors() {
    let vectors = identifiers();
    let urns = vectors["epc_urn"].as_object().expect("EPC URN vectors");
    assert!(!urns.is_empty());
    for (urn, expected) in urns {
        let sgtin: Sgtin = urn.parse().unwrap_or_else(|e| panic!("{urn}: {e}"));
        assert_eq!(
            pairs_of(sgtin.element_string()),
            expected_pairs(expected),
            "{urn}"
        );
        // Back from the element string, with the company prefix length the URN shows.
        let prefix_digits = urn
            .trim_start_matches("urn:epc:id:sgtin:")
            .split('.')
            .next()
            .map_or(0, str::len);
        let elements = ElementString::from_pairs(
            expected_pairs(expected)
                .into_iter()
                .map(|(ai, value)| (ai.parse().expect("known AI"), value)),
        )
        .expect("the vector's AIs are valid");
        let rebuilt = Sgtin::from_element_string(&elements, prefix_digits).expect("rebuilds");
        assert_eq!(&rebuilt.to_string(), urn);
    }
}

/// Digital Link URIs from `WithDigitalLinkID/*.jsonld` and `Example-TransactionEvents` of the
/// GS1 EPCIS 2.0 examples.
const EPCIS_DIGITAL_LINKS: &[&str] = &[
    "https://id.gs1.org/01/00614141777778/10/987",
    "https://id.gs1.org/01/04012345123456/10/998877",
    "https://id.gs1.org/01/04012345666663",
    "https://id.gs1.org/01/04012345987652",
    "https://id.gs1.org/01/09506000134352/21/12345",
    "https://id.gs1.org/01/70614141123451/10/998877",
    "https://id.gs1.org/01/70614141123451/21/2017",
    "https://id.gs1.org/01/70614141123451/21/2018",
    "https://id.gs1.org/414/9506000134307",
    "https://id.gs1.org/8004/4000001111",
    "https://id.gs1.org/8004/4000001222",
    "https://id.gs1.org/8004/4000001333",
    "https://id.gs1.org/8004/4000001444",
];

#[test]
fn gs1_epcis_example_digital_links() {
    for &uri in EPCIS_DIGITAL_LINKS {
        let link = DigitalLink::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!(link.to_string(), uri);
        let elements = link.element_string().clone();
        assert_eq!(
            DigitalLink::from_element_string(&elements)
                .expect("rebuilds")
                .to_string(),
            uri
        );
    }
}

/// EPC URNs from the GS1 EPCIS 2.0 example events.
const EPCIS_SGTINS: &[&str] = &[
    "urn:epc:id:sgtin:0614141.107340.1",
    "urn:epc:id:sgtin:0614141.107340.2",
    "urn:epc:id:sgtin:0614141.107346.2017",
    "urn:epc:id:sgtin:0614141.107346.2018",
    "urn:epc:id:sgtin:4000001.065432.99886655",
    "urn:epc:id:sgtin:4012345.011111.987",
    "urn:epc:id:sgtin:4012345.011111.9876",
    "urn:epc:id:sgtin:4012345.011122.25",
    "urn:epc:id:sgtin:4012345.012345.987",
    "urn:epc:id:sgtin:4012345.012345.988",
    "urn:epc:id:sgtin:4012345.022222.1234",
    "urn:epc:id:sgtin:4012345.033333.AGHFG",
    "urn:epc:id:sgtin:4012345.077889.25",
    "urn:epc:id:sgtin:4012345.077889.26",
    "urn:epc:id:sgtin:4012345.077889.27",
    "urn:epc:id:sgtin:4012345.077889.28",
    "urn:epc:id:sgtin:9520001.012346.10000001001",
    "urn:epc:id:sgtin:9520001.012346.10000001010",
];

const EPCIS_LGTINS: &[&str] = &[
    "urn:epc:class:lgtin:0614141.077777.987",
    "urn:epc:class:lgtin:4012345.005555.456",
    "urn:epc:class:lgtin:4012345.011111.1234",
    "urn:epc:class:lgtin:4012345.011111.4444",
    "urn:epc:class:lgtin:4012345.012345.998877",
    "urn:epc:class:lgtin:4012345.022222.87545GHGH",
    "urn:epc:class:lgtin:4023333.002000.123",
    "urn:epc:class:lgtin:4023333.002000.2019-10-07",
    "urn:epc:class:lgtin:4023333.002000.998877",
    "urn:epc:class:lgtin:4023333.055555.ABC123",
];

const EPCIS_SSCCS: &[&str] = &[
    "urn:epc:id:sscc:0614141.1234567890",
    "urn:epc:id:sscc:4012345.0111111111",
];

const EPCIS_SGLNS: &[&str] = &[
    "urn:epc:id:sgln:0012345.11111.0",
    "urn:epc:id:sgln:0012345.11111.400",
    "urn:epc:id:sgln:0037000.00729.8202",
    "urn:epc:id:sgln:0353579.00001.0",
    "urn:epc:id:sgln:0614141.00001.0",
    "urn:epc:id:sgln:0614141.00777.0",
    "urn:epc:id:sgln:0614141.00888.0",
    "urn:epc:id:sgln:0614141.07346.1234",
    "urn:epc:id:sgln:4012345.00000.5",
    "urn:epc:id:sgln:4012345.00002.12",
    "urn:epc:id:sgln:4023333.00001.12",
    "urn:epc:id:sgln:5012345.00001.0",
    "urn:epc:id:sgln:952005385.011.0",
    "urn:epc:id:sgln:952005385.011.scA",
    "urn:epc:id:sgln:952005385.011.ts4711",
    "urn:epc:id:sgln:952005385.481.0",
    "urn:epc:id:sgln:9524567.98765.0",
    "urn:epc:id:sgln:9529999.99999.0",
];

#[test]
fn gs1_epcis_example_urns_round_trip() {
    for &urn in EPCIS_SGTINS {
        let sgtin: Sgtin = urn.parse().unwrap_or_else(|e| panic!("{urn}: {e}"));
        assert_eq!(sgtin.to_string(), urn);
    }
    for &urn in EPCIS_LGTINS {
        let lgtin: Lgtin = urn.parse().unwrap_or_else(|e| panic!("{urn}: {e}"));
        assert_eq!(lgtin.to_string(), urn);
    }
    for &urn in EPCIS_SSCCS {
        let sscc: Sscc = urn.parse().unwrap_or_else(|e| panic!("{urn}: {e}"));
        assert_eq!(sscc.to_string(), urn);
    }
    for &urn in EPCIS_SGLNS {
        let sgln: Sgln = urn.parse().unwrap_or_else(|e| panic!("{urn}: {e}"));
        assert_eq!(sgln.to_string(), urn);
    }
}

#[test]
fn gs1_epcis_lgtin_and_its_digital_link_name_the_same_lot() {
    // Example 9.6.4 names this lot by URN; its Digital Link twin names it by URI.
    let lgtin: Lgtin = "urn:epc:class:lgtin:0614141.077777.987"
        .parse()
        .expect("valid URN");
    let link =
        DigitalLink::parse("https://id.gs1.org/01/00614141777778/10/987").expect("valid URI");
    assert_eq!(lgtin.element_string(), link.element_string());
    assert_eq!(
        DigitalLink::from_element_string(lgtin.element_string()).expect("converts"),
        link
    );
}
