//! Read a party GLN (GS1 AI 417) in any form a partner may write it.
//!
//! EPCIS names the owning parties of a transfer by their party GLN, usually as an EPC URN
//! (`urn:epc:id:pgln:0614141.12345`), sometimes as a Digital Link
//! (`https://id.gs1.org/417/0614141123452`); people type the 13 digits. All three name the same
//! GLN, which an enterprise claims in its profile.

use thiserror::Error;

use super::dictionary::Ai;
use super::digital_link::{DigitalLink, DigitalLinkError};
use super::epc::{EpcError, Pgln};
use super::keys::{Gln, KeyError};

/// Why a text is not a party GLN.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PartyGlnError {
    /// Digits that are not a GLN.
    #[error("{0}")]
    Key(#[from] KeyError),
    /// A PGLN URN that does not parse.
    #[error("{0}")]
    Epc(#[from] EpcError),
    /// A Digital Link that does not parse.
    #[error("{0}")]
    Link(#[from] DigitalLinkError),
    /// A Digital Link naming something other than a party (a location, a product, ...).
    #[error("a Digital Link of a party names (417) and nothing else; this one names ({key})")]
    NotAParty {
        /// The link's primary key.
        key: Ai,
    },
    /// Neither digits, a URN nor a link.
    #[error(
        "write a party GLN as 13 digits, urn:epc:id:pgln:CompanyPrefix.PartyRef or a Digital Link /417/{{GLN}}"
    )]
    Unrecognised,
}

/// The party GLN `text` names: 13 digits, a `urn:epc:id:pgln:` URN, or a Digital Link whose
/// only key is (417), under any host.
pub fn read_party_gln(text: &str) -> Result<Gln, PartyGlnError> {
    let text = text.trim();
    if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
        return Ok(text.parse()?);
    }
    if super::epc::has_prefix(text, super::epc::PGLN_PREFIX) {
        return Ok(text.parse::<Pgln>()?.gln().clone());
    }
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        let link = DigitalLink::parse(text)?;
        let (&key, value) = link.primary_key();
        if key != Ai::PARTY_GLN || link.qualifiers().next().is_some() {
            return Err(PartyGlnError::NotAParty { key });
        }
        return Ok(value.parse()?);
    }
    Err(PartyGlnError::Unrecognised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_names_the_same_gln() {
        for text in [
            "0614141123452",
            " 0614141123452 ",
            "urn:epc:id:pgln:0614141.12345",
            "URN:EPC:ID:PGLN:0614141.12345",
            "https://id.gs1.org/417/0614141123452",
            "https://example.com/stem/417/0614141123452",
        ] {
            assert_eq!(
                read_party_gln(text).unwrap().as_str(),
                "0614141123452",
                "{text}"
            );
        }
    }

    #[test]
    fn what_is_not_a_party_gln_says_why() {
        assert!(matches!(
            read_party_gln("0614141123453"),
            Err(PartyGlnError::Key(_))
        ));
        assert!(matches!(
            read_party_gln("urn:epc:id:pgln:0614141.1234"),
            Err(PartyGlnError::Epc(_))
        ));
        assert!(matches!(
            read_party_gln("https://id.gs1.org/414/0614141123452"),
            Err(PartyGlnError::NotAParty { .. })
        ));
        assert!(matches!(
            read_party_gln("urn:epc:id:sgln:0614141.12345.0"),
            Err(PartyGlnError::Unrecognised)
        ));
        assert!(matches!(
            read_party_gln(""),
            Err(PartyGlnError::Unrecognised)
        ));
        assert!(matches!(
            read_party_gln("https://id.gs1.org/417/x"),
            Err(PartyGlnError::Link(_))
        ));
    }
}
