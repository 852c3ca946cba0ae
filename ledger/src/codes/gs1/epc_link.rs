//! Translate EPC URNs to GS1 Digital Link URIs and back.
//!
//! Both name the same GS1 key with its serial, lot or extension; EPCIS prefers the URN, a
//! phone or a web resolver the URI:
//!
//! | EPC | Digital Link path |
//! |---|---|
//! | [`Sgtin`] | `/01/{GTIN}/21/{serial}` |
//! | [`Lgtin`] | `/01/{GTIN}/10/{lot}` |
//! | [`Sscc`] | `/00/{SSCC}` |
//! | [`Sgln`] | `/414/{GLN}`, then `/254/{extension}` if there is one |
//! | [`Pgln`] | `/417/{GLN}` |
//! | [`Grai`] | `/8003/{GRAI}` |
//! | [`Giai`] | `/8004/{GIAI}` |
//!
//! [`Epc::to_digital_link`] goes through [`DigitalLink`], so the URI is the canonical one that
//! module writes, with its percent-encoding. [`Epc::from_digital_link`] reads the URI with
//! [`DigitalLink::parse`] and picks the scheme from the primary key and its qualifiers:
//!
//! - A GTIN with a serial is an SGTIN, with only a lot an LGTIN. A serial is unique within its
//!   GTIN, so a batch or consumer product variant (22) next to it describes the item without
//!   naming it and is left out; so is a variant next to a lot. A GTIN with neither names a
//!   kind of trade item, which no EPC does ([`EpcLinkError::TradeItemClass`]).
//! - Qualifiers that change what is named but have no place in a URN (235, 7040) are refused.
//! - Data attributes (the query) describe the object and are left out.
//!
//! A Digital Link does not say where the GS1 Company Prefix ends, and a URN cannot be written
//! without knowing: the caller answers from the prefixes it knows, given the key from where its
//! prefix starts (see [`Epc::from_digital_link`]).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::dictionary::Ai;
use super::digital_link::{DigitalLink, DigitalLinkError};
use super::element::ElementString;
use super::epc::{
    self, AI_GIAI, AI_GRAI, EpcError, GIAI_PREFIX, GRAI_PREFIX, Giai, Grai, LGTIN_PREFIX, Lgtin,
    PGLN_PREFIX, Pgln, SGLN_PREFIX, SGTIN_PREFIX, SSCC_PREFIX, Sgln, Sgtin, Sscc,
};

/// AI (22), the consumer product variant, a GTIN qualifier that no EPC carries.
const AI_CONSUMER_PRODUCT_VARIANT: Ai = match Ai::from_digits(b"22") {
    Some(ai) => ai,
    None => panic!("22 is two ASCII digits"),
};

/// Why a Digital Link cannot become an EPC.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EpcLinkError {
    /// The URI is not a valid GS1 Digital Link.
    #[error("not a GS1 Digital Link: {0}")]
    NotDigitalLink(#[from] DigitalLinkError),
    /// The primary key has no EPC scheme here.
    #[error(
        "AI ({key}) has no EPC scheme here; the schemes are SGTIN, LGTIN, SSCC, SGLN, PGLN, GRAI and GIAI"
    )]
    NoEpcScheme {
        /// The primary key.
        key: Ai,
    },
    /// A GTIN with neither a serial nor a lot names a kind of trade item, not an object or a
    /// lot that an EPC names.
    #[error(
        "GTIN {gtin} alone names a kind of trade item, not an EPC: add a serial (21) for an \
         SGTIN or a batch or lot (10) for an LGTIN"
    )]
    TradeItemClass {
        /// The GTIN.
        gtin: String,
    },
    /// A key qualifier that changes what is named but that no EPC URN can hold.
    #[error("qualifier AI ({qualifier}) of AI ({key}) has no place in an EPC URN")]
    UnsupportedQualifier {
        /// The primary key.
        key: Ai,
        /// The qualifier.
        qualifier: Ai,
    },
    /// The caller knows no company prefix for the key.
    #[error("no GS1 Company Prefix is known for AI ({key}) {value}")]
    UnknownCompanyPrefix {
        /// The primary key.
        key: Ai,
        /// Its value.
        value: String,
    },
    /// The key and its company prefix length make no valid EPC.
    #[error(transparent)]
    Epc(#[from] EpcError),
}

/// An EPC of any scheme this module translates.
///
/// ```
/// use suyuan_ledger::codes::gs1::epc_link::Epc;
///
/// let epc: Epc = "urn:epc:id:sgtin:0614141.112345.400".parse()?;
/// assert_eq!(epc.element_string().to_string(), "(01)10614141123459(21)400");
/// let uri = epc.to_digital_link("https://id.gs1.org");
/// assert_eq!(uri, "https://id.gs1.org/01/10614141123459/21/400");
///
/// // The enterprise's attested company prefixes say where the prefix ends.
/// let attested = ["0614141", "952005385"];
/// let prefix_digits = |key: &str| {
///     attested.iter().find(|p| key.starts_with(*p)).map(|p| p.len())
/// };
/// assert_eq!(Epc::from_digital_link(&uri, prefix_digits)?, epc);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Epc {
    /// A serialised trade item.
    Sgtin(Sgtin),
    /// A lot of a trade item.
    Lgtin(Lgtin),
    /// A logistic unit.
    Sscc(Sscc),
    /// A location.
    Sgln(Sgln),
    /// A party: a company or organisation.
    Pgln(Pgln),
    /// A serialised returnable asset.
    Grai(Grai),
    /// An individual asset.
    Giai(Giai),
}

impl Epc {
    /// The EPC's key, with its serial, lot or extension, as an element string.
    pub fn element_string(&self) -> &ElementString {
        match self {
            Epc::Sgtin(sgtin) => sgtin.element_string(),
            Epc::Lgtin(lgtin) => lgtin.element_string(),
            Epc::Sscc(sscc) => sscc.element_string(),
            Epc::Sgln(sgln) => sgln.element_string(),
            Epc::Pgln(pgln) => pgln.element_string(),
            Epc::Grai(grai) => grai.element_string(),
            Epc::Giai(giai) => giai.element_string(),
        }
    }

    /// Digits in the key's company prefix.
    pub fn company_prefix_digits(&self) -> usize {
        match self {
            Epc::Sgtin(sgtin) => sgtin.company_prefix_digits(),
            Epc::Lgtin(lgtin) => lgtin.company_prefix_digits(),
            Epc::Sscc(sscc) => sscc.company_prefix_digits(),
            Epc::Sgln(sgln) => sgln.company_prefix_digits(),
            Epc::Pgln(pgln) => pgln.company_prefix_digits(),
            Epc::Grai(grai) => grai.company_prefix_digits(),
            Epc::Giai(giai) => giai.company_prefix_digits(),
        }
    }

    /// The EPC as a Digital Link: its key as the primary key and its serial, lot or extension
    /// as the key qualifier.
    pub fn digital_link(&self) -> DigitalLink {
        // Every scheme's element string is a primary key with at most one of its own
        // qualifiers, all values already held to the element rules; `every_scheme_round_trips`
        // covers each.
        DigitalLink::from_element_string(self.element_string())
            .expect("an EPC's element string is a primary key with its own qualifiers")
    }

    /// The canonical Digital Link URI under `base` (scheme, host and optional stem path, such
    /// as [`super::digital_link::CANONICAL_STEM`]; a trailing `/` is dropped).
    pub fn to_digital_link(&self, base: &str) -> String {
        self.digital_link().to_uri(base)
    }

    /// Reads a Digital Link URI under any host and stem, as [`DigitalLink::parse`] does, and
    /// builds its EPC.
    ///
    /// `company_prefix_digits` is given the key from where its company prefix starts (the GTIN
    /// without its indicator digit, the SSCC without its extension digit, the GRAI without its
    /// leading `0`, the GLN and the GIAI whole) and answers how many digits the prefix has, or
    /// `None` when it knows no prefix for the key. For a link people paste, read it with
    /// [`DigitalLink::parse_lenient`] and call [`Epc::from_link`].
    pub fn from_digital_link(
        uri: &str,
        company_prefix_digits: impl Fn(&str) -> Option<usize>,
    ) -> Result<Epc, EpcLinkError> {
        Epc::from_link(&DigitalLink::parse(uri)?, company_prefix_digits)
    }

    /// Builds the EPC of a parsed Digital Link, as [`Epc::from_digital_link`] does.
    pub fn from_link(
        link: &DigitalLink,
        company_prefix_digits: impl Fn(&str) -> Option<usize>,
    ) -> Result<Epc, EpcLinkError> {
        let (&key, value) = link.primary_key();
        let qualifiers: Vec<Ai> = link.qualifiers().map(|(ai, _)| *ai).collect();
        let scheme = Scheme::of(key, value, &qualifiers)?;
        // The scheme's key is a fixed-length number, or a GIAI of at least four digits, so the
        // offset is a character boundary; `get` keeps a surprise from panicking.
        let digits = value
            .get(scheme.company_prefix_offset()..)
            .and_then(company_prefix_digits)
            .ok_or_else(|| EpcLinkError::UnknownCompanyPrefix {
                key,
                value: value.to_owned(),
            })?;
        Ok(scheme.build(link.element_string(), digits)?)
    }
}

impl FromStr for Epc {
    type Err = EpcError;

    /// Reads a URN of any of the seven schemes; `urn:epc:` and the scheme name are matched
    /// without regard to case, as each scheme's own parser does.
    fn from_str(urn: &str) -> Result<Self, Self::Err> {
        epc::check_urn_size(urn)?;
        let has = |prefix| epc::has_prefix(urn, prefix);
        if has(SGTIN_PREFIX) {
            urn.parse().map(Epc::Sgtin)
        } else if has(LGTIN_PREFIX) {
            urn.parse().map(Epc::Lgtin)
        } else if has(SSCC_PREFIX) {
            urn.parse().map(Epc::Sscc)
        } else if has(SGLN_PREFIX) {
            urn.parse().map(Epc::Sgln)
        } else if has(PGLN_PREFIX) {
            urn.parse().map(Epc::Pgln)
        } else if has(GRAI_PREFIX) {
            urn.parse().map(Epc::Grai)
        } else if has(GIAI_PREFIX) {
            urn.parse().map(Epc::Giai)
        } else {
            Err(EpcError::UnknownScheme {
                found: scheme_of(urn).to_owned(),
            })
        }
    }
}

impl fmt::Display for Epc {
    /// The URN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Epc::Sgtin(sgtin) => fmt::Display::fmt(sgtin, f),
            Epc::Lgtin(lgtin) => fmt::Display::fmt(lgtin, f),
            Epc::Sscc(sscc) => fmt::Display::fmt(sscc, f),
            Epc::Sgln(sgln) => fmt::Display::fmt(sgln, f),
            Epc::Pgln(pgln) => fmt::Display::fmt(pgln, f),
            Epc::Grai(grai) => fmt::Display::fmt(grai, f),
            Epc::Giai(giai) => fmt::Display::fmt(giai, f),
        }
    }
}

/// `urn:epc:id:sgtin:` and the like: the URN up to its fourth `:`, or all of it.
fn scheme_of(urn: &str) -> &str {
    match urn.match_indices(':').nth(3) {
        Some((colon, _)) => &urn[..=colon],
        None => urn,
    }
}

/// The EPC scheme a Digital Link's primary key and qualifiers call for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Sgtin,
    Lgtin,
    Sscc,
    Sgln,
    Pgln,
    Grai,
    Giai,
}

impl Scheme {
    fn of(key: Ai, value: &str, qualifiers: &[Ai]) -> Result<Scheme, EpcLinkError> {
        let has = |ai| qualifiers.contains(&ai);
        let scheme = match key {
            Ai::GTIN if has(Ai::SERIAL) => Scheme::Sgtin,
            Ai::GTIN if has(Ai::BATCH) => Scheme::Lgtin,
            Ai::GTIN => {
                let other = qualifiers
                    .iter()
                    .find(|q| **q != AI_CONSUMER_PRODUCT_VARIANT);
                return Err(match other {
                    Some(&qualifier) => EpcLinkError::UnsupportedQualifier { key, qualifier },
                    None => EpcLinkError::TradeItemClass {
                        gtin: value.to_owned(),
                    },
                });
            }
            Ai::SSCC => Scheme::Sscc,
            Ai::LOCATION_GLN => Scheme::Sgln,
            Ai::PARTY_GLN => Scheme::Pgln,
            AI_GRAI => Scheme::Grai,
            AI_GIAI => Scheme::Giai,
            _ => return Err(EpcLinkError::NoEpcScheme { key }),
        };
        match qualifiers.iter().find(|q| !scheme.accepts(**q)) {
            Some(&qualifier) => Err(EpcLinkError::UnsupportedQualifier { key, qualifier }),
            None => Ok(scheme),
        }
    }

    /// Whether a link with qualifier `ai` may become this scheme's EPC: the URN holds it, or it
    /// describes what the URN names without changing which object that is.
    fn accepts(self, ai: Ai) -> bool {
        let accepted: &[Ai] = match self {
            Scheme::Sgtin => &[Ai::SERIAL, Ai::BATCH, AI_CONSUMER_PRODUCT_VARIANT],
            Scheme::Lgtin => &[Ai::BATCH, AI_CONSUMER_PRODUCT_VARIANT],
            Scheme::Sgln => &[Ai::GLN_EXTENSION],
            Scheme::Sscc | Scheme::Pgln | Scheme::Grai | Scheme::Giai => &[],
        };
        accepted.contains(&ai)
    }

    /// Characters of the key before its company prefix, where the dictionary's `gcppos2`
    /// linter puts it after one digit and `gcppos1` at the start
    /// (`company_prefix_offsets_agree_with_the_dictionary` holds them together).
    fn company_prefix_offset(self) -> usize {
        match self {
            Scheme::Sgtin | Scheme::Lgtin | Scheme::Sscc | Scheme::Grai => 1,
            Scheme::Sgln | Scheme::Pgln | Scheme::Giai => 0,
        }
    }

    fn build(self, elements: &ElementString, digits: usize) -> Result<Epc, EpcError> {
        Ok(match self {
            Scheme::Sgtin => Epc::Sgtin(Sgtin::from_element_string(elements, digits)?),
            Scheme::Lgtin => Epc::Lgtin(Lgtin::from_element_string(elements, digits)?),
            Scheme::Sscc => Epc::Sscc(Sscc::from_element_string(elements, digits)?),
            Scheme::Sgln => Epc::Sgln(Sgln::from_element_string(elements, digits)?),
            Scheme::Pgln => Epc::Pgln(Pgln::from_element_string(elements, digits)?),
            Scheme::Grai => Epc::Grai(Grai::from_element_string(elements, digits)?),
            Scheme::Giai => Epc::Giai(Giai::from_element_string(elements, digits)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::dictionary::dictionary;
    use super::super::digital_link::CANONICAL_STEM;
    use super::super::element::ElementError;
    use super::super::linters::Linter;
    use super::*;

    fn urn(text: &str) -> Epc {
        text.parse()
            .unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    /// The company prefixes of the test enterprise.
    fn attested(key: &str) -> Option<usize> {
        ["0614141", "952005385"]
            .iter()
            .find(|prefix| key.starts_with(*prefix))
            .map(|prefix| prefix.len())
    }

    fn from_link(uri: &str) -> Result<Epc, EpcLinkError> {
        Epc::from_digital_link(uri, attested)
    }

    /// One value of each scheme's key, and that key from where its company prefix starts.
    const KEYS: [(&str, &str); 7] = [
        ("(01)10614141123459(21)400", "0614141123459"),
        ("(01)00614141777778(10)987", "0614141777778"),
        ("(00)106141412345678908", "06141412345678908"),
        ("(414)0614141123452(254)400", "0614141123452"),
        ("(417)0614141123452", "0614141123452"),
        ("(8003)00614141123452400", "0614141123452400"),
        ("(8004)061414112345400", "061414112345400"),
    ];

    /// The EPC of `elements` through the scheme its Digital Link calls for.
    fn epc_of(elements: &str, digits: usize) -> Epc {
        let link = DigitalLink::from_element_string(&elements.parse().unwrap()).unwrap();
        Epc::from_link(&link, |_| Some(digits)).unwrap()
    }

    #[test]
    fn tds_examples_both_ways() {
        for (text, elements, uri) in [
            (
                "urn:epc:id:sgtin:0614141.112345.400",
                "(01)10614141123459(21)400",
                "https://id.gs1.org/01/10614141123459/21/400",
            ),
            (
                "urn:epc:class:lgtin:0614141.077777.987",
                "(01)00614141777778(10)987",
                "https://id.gs1.org/01/00614141777778/10/987",
            ),
            (
                "urn:epc:id:sscc:0614141.1234567890",
                "(00)106141412345678908",
                "https://id.gs1.org/00/106141412345678908",
            ),
            (
                "urn:epc:id:sgln:0614141.12345.400",
                "(414)0614141123452(254)400",
                "https://id.gs1.org/414/0614141123452/254/400",
            ),
            (
                "urn:epc:id:sgln:0614141.12345.0",
                "(414)0614141123452",
                "https://id.gs1.org/414/0614141123452",
            ),
            (
                "urn:epc:id:pgln:0614141.12345",
                "(417)0614141123452",
                "https://id.gs1.org/417/0614141123452",
            ),
            (
                "urn:epc:id:grai:0614141.12345.400",
                "(8003)00614141123452400",
                "https://id.gs1.org/8003/00614141123452400",
            ),
            (
                "urn:epc:id:giai:0614141.12345400",
                "(8004)061414112345400",
                "https://id.gs1.org/8004/061414112345400",
            ),
        ] {
            let epc = urn(text);
            assert_eq!(epc.to_string(), text);
            assert_eq!(epc.element_string().to_string(), elements, "{text}");
            assert_eq!(epc.to_digital_link(CANONICAL_STEM), uri, "{text}");
            assert_eq!(from_link(uri).unwrap(), epc, "{uri}");
        }
    }

    #[test]
    fn every_scheme_round_trips() {
        for digits in epc::COMPANY_PREFIX_DIGITS {
            for (elements, _) in KEYS {
                let epc = epc_of(elements, digits);
                assert_eq!(epc.company_prefix_digits(), digits);
                assert_eq!(epc.element_string().to_string(), elements);
                let text = epc.to_string();
                assert_eq!(urn(&text), epc, "{text}");
                for base in ["https://id.gs1.org", "https://example.com/stem/"] {
                    let uri = epc.to_digital_link(base);
                    let back = Epc::from_digital_link(&uri, |_| Some(digits)).unwrap();
                    assert_eq!(back, epc, "{uri}");
                }
            }
        }
        assert_eq!(
            epc_of(KEYS[0].0, 6).to_string(),
            "urn:epc:id:sgtin:061414.1112345.400"
        );
        assert_eq!(
            epc_of(KEYS[3].0, 12).to_string(),
            "urn:epc:id:sgln:061414112345..400"
        );
        assert_eq!(
            epc_of(KEYS[5].0, 9).to_string(),
            "urn:epc:id:grai:061414112.345.400"
        );
        assert_eq!(
            epc_of(KEYS[6].0, 12).to_string(),
            "urn:epc:id:giai:061414112345.400"
        );
    }

    #[test]
    fn the_caller_sees_each_key_from_its_company_prefix() {
        for (elements, from_prefix) in KEYS {
            let uri = epc_of(elements, 7).to_digital_link(CANONICAL_STEM);
            let epc = Epc::from_digital_link(&uri, |key| {
                assert_eq!(key, from_prefix, "{uri}");
                attested(key)
            })
            .unwrap();
            assert_eq!(epc.company_prefix_digits(), 7);
        }
        // Another enterprise's prefix, of another length, under another host.
        let epc = from_link("https://brand.example/p/414/9520053850113/254/ts4711").unwrap();
        assert_eq!(epc.to_string(), "urn:epc:id:sgln:952005385.011.ts4711");
    }

    #[test]
    fn escaped_characters_both_ways() {
        for (text, uri, value) in [
            (
                "urn:epc:id:sgtin:0614141.112345.A%2FB%25C%3Fx%26y",
                "https://id.gs1.org/01/10614141123459/21/A%2FB%25C%3Fx%26y",
                "A/B%C?x&y",
            ),
            (
                "urn:epc:class:lgtin:0614141.112345.L%2F1%22%3C%3E",
                "https://id.gs1.org/01/10614141123459/10/L%2F1%22%3C%3E",
                "L/1\"<>",
            ),
            (
                "urn:epc:id:sgln:0614141.12345.a%2Fb",
                "https://id.gs1.org/414/0614141123452/254/a%2Fb",
                "a/b",
            ),
            (
                "urn:epc:id:grai:0614141.12345.!'()*+,:;=",
                "https://id.gs1.org/8003/00614141123452%21%27%28%29%2A%2B%2C%3A%3B%3D",
                "!'()*+,:;=",
            ),
            (
                "urn:epc:id:giai:0614141.A%2FB.-_",
                "https://id.gs1.org/8004/0614141A%2FB.-_",
                "A/B.-_",
            ),
        ] {
            let epc = urn(text);
            assert!(epc.element_string().iter().any(|(_, v)| v.ends_with(value)));
            assert_eq!(epc.to_digital_link(CANONICAL_STEM), uri);
            assert_eq!(from_link(uri).unwrap(), epc, "{uri}");
            // Escapes in lower case and of characters that need none read the same.
            let relaxed = uri.replace("%2F", "%2f").replace("%21", "!");
            assert_eq!(from_link(&relaxed).unwrap(), epc, "{relaxed}");
        }
    }

    #[test]
    fn descriptive_qualifiers_and_attributes_are_left_out() {
        let sgtin = from_link(
            "https://id.gs1.org/01/10614141123459/22/V1/10/LOT%2F7/21/400?17=270101&99=X",
        )
        .unwrap();
        assert_eq!(sgtin, urn("urn:epc:id:sgtin:0614141.112345.400"));
        let lgtin =
            from_link("https://id.gs1.org/01/10614141123459/22/V1/10/L7?17=270101").unwrap();
        assert_eq!(lgtin, urn("urn:epc:class:lgtin:0614141.112345.L7"));
    }

    #[test]
    fn digital_links_without_an_epc_are_refused() {
        use EpcLinkError as E;
        assert!(matches!(
            from_link("ftp://id.gs1.org/01/10614141123459/21/400").unwrap_err(),
            E::NotDigitalLink(DigitalLinkError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            from_link("urn:epc:id:sgtin:0614141.112345.400").unwrap_err(),
            E::NotDigitalLink(_)
        ));
        for uri in [
            "https://id.gs1.org/01/10614141123459",
            "https://id.gs1.org/01/10614141123459?17=270101",
            "https://id.gs1.org/01/10614141123459/22/V1",
        ] {
            assert_eq!(
                from_link(uri).unwrap_err(),
                E::TradeItemClass {
                    gtin: "10614141123459".to_owned()
                },
                "{uri}"
            );
        }
        assert!(
            E::TradeItemClass {
                gtin: "10614141123459".to_owned()
            }
            .to_string()
            .contains("kind of trade item, not an EPC")
        );
        let ai = |code: &str| code.parse::<Ai>().unwrap();
        for (uri, key, qualifier) in [
            (
                "https://id.gs1.org/01/10614141123459/235/X1",
                Ai::GTIN,
                "235",
            ),
            (
                "https://id.gs1.org/414/0614141123452/7040/1AB-",
                Ai::LOCATION_GLN,
                "7040",
            ),
            (
                "https://id.gs1.org/8004/061414112345400/7040/1AB-",
                AI_GIAI,
                "7040",
            ),
        ] {
            assert_eq!(
                from_link(uri).unwrap_err(),
                E::UnsupportedQualifier {
                    key,
                    qualifier: ai(qualifier)
                },
                "{uri}"
            );
        }
        for (uri, key) in [
            ("https://id.gs1.org/253/1231231231232X1", "253"),
            ("https://id.gs1.org/8018/123456789012345675", "8018"),
        ] {
            assert_eq!(
                from_link(uri).unwrap_err(),
                E::NoEpcScheme { key: ai(key) },
                "{uri}"
            );
        }
    }

    #[test]
    fn digital_links_with_a_bad_epc_are_refused() {
        use EpcLinkError as E;
        assert_eq!(
            from_link("https://id.gs1.org/01/04012345111118/21/987").unwrap_err(),
            E::UnknownCompanyPrefix {
                key: Ai::GTIN,
                value: "04012345111118".to_owned()
            }
        );
        assert_eq!(
            from_link("https://id.gs1.org/8003/00614141123452").unwrap_err(),
            E::Epc(EpcError::UnserialisedGrai)
        );
        let with = |uri: &str, digits| Epc::from_digital_link(uri, |_| Some(digits)).unwrap_err();
        assert_eq!(
            with("https://id.gs1.org/8004/061414112345400", 13),
            E::Epc(EpcError::CompanyPrefixLength { found: 13 })
        );
        assert_eq!(
            with("https://id.gs1.org/00/106141412345678908", 5),
            E::Epc(EpcError::CompanyPrefixLength { found: 5 })
        );
        assert_eq!(
            with("https://id.gs1.org/8004/0614A14112345400", 7),
            E::Epc(EpcError::NonDigit {
                field: "company prefix of the GIAI",
                position: 4,
                found: 'A'
            })
        );
        assert_eq!(
            with("https://id.gs1.org/8004/0614141", 7),
            E::Epc(EpcError::NoAssetReference {
                company_prefix_digits: 7
            })
        );
        // AI 8004 holds at most 30 characters; the Digital Link parser already says so.
        let too_long = format!("https://id.gs1.org/8004/0614141{}", "A".repeat(24));
        assert!(matches!(
            with(&too_long, 7),
            E::NotDigitalLink(DigitalLinkError::Element(ElementError::ValueTooLong {
                max_len: 30,
                ..
            }))
        ));
        // A wrong GTIN check digit or length is the Digital Link parser's to refuse.
        assert!(matches!(
            from_link("https://id.gs1.org/01/10614141123458/21/400").unwrap_err(),
            E::NotDigitalLink(_)
        ));
    }

    #[test]
    fn urns_dispatch_on_their_scheme() {
        assert!(matches!(
            urn("URN:EPC:ID:GIAI:0614141.12345400"),
            Epc::Giai(_)
        ));
        assert!(matches!(
            urn("urn:EPC:class:LGTIN:0614141.077777.987"),
            Epc::Lgtin(_)
        ));
        assert!(matches!(
            urn("urn:epc:id:grai:0614141.12345.400"),
            Epc::Grai(_)
        ));
        let parse = |text: &str| text.parse::<Epc>().unwrap_err();
        assert_eq!(
            parse("urn:epc:id:gdti:0614141.12345.400"),
            EpcError::UnknownScheme {
                found: "urn:epc:id:gdti:".to_owned()
            }
        );
        assert_eq!(
            parse("urn:isbn:0451450523"),
            EpcError::UnknownScheme {
                found: "urn:isbn:0451450523".to_owned()
            }
        );
        assert_eq!(
            parse("urn:epc:id:sgtin:0614141.11234.400"),
            EpcError::FieldLength {
                field: "indicator digit and item reference",
                expected: 6,
                found: 5
            }
        );
        assert_eq!(
            parse("urn:epc:id:grai:0614141.12345."),
            EpcError::UnserialisedGrai
        );
        assert_eq!(
            parse(&format!(
                "urn:epc:id:gdti:{}",
                "9".repeat(epc::MAX_EPC_URN_BYTES)
            )),
            EpcError::TooLong {
                max_bytes: epc::MAX_EPC_URN_BYTES,
                found_bytes: epc::MAX_EPC_URN_BYTES + 16
            }
        );
        for text in ["", ":", "urn:epc:", "urn:epc:id:é:", "é:é:é:é:é"] {
            assert!(
                matches!(parse(text), EpcError::UnknownScheme { .. }),
                "{text}"
            );
        }
    }

    #[test]
    fn company_prefix_offsets_agree_with_the_dictionary() {
        for (scheme, key) in [
            (Scheme::Sgtin, Ai::GTIN),
            (Scheme::Lgtin, Ai::GTIN),
            (Scheme::Sscc, Ai::SSCC),
            (Scheme::Sgln, Ai::LOCATION_GLN),
            (Scheme::Grai, AI_GRAI),
            (Scheme::Giai, AI_GIAI),
        ] {
            let spec = dictionary()
                .get(key)
                .expect("an EPC key is in the dictionary");
            let mut offset = 0;
            let mut found = None;
            for component in spec.components() {
                if component.linters().contains(&Linter::Gcppos1) {
                    found = Some(offset);
                } else if component.linters().contains(&Linter::Gcppos2) {
                    found = Some(offset + 1);
                }
                offset += component.max_len();
            }
            assert_eq!(found, Some(scheme.company_prefix_offset()), "{key}");
        }
        assert!(dictionary().get(AI_CONSUMER_PRODUCT_VARIANT).is_some());
    }
}
