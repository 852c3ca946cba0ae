//! The URIs EPCIS names things by, for the codes, models and parties Suyuan keeps.
//!
//! | Suyuan | EPCIS URI |
//! |---|---|
//! | serialised item `01/{gtin}/21/{serial}` | `urn:epc:id:sgtin:…` when the company prefix length is known, else `https://id.gs1.org/01/{gtin}/21/{serial}` |
//! | batch `01/{gtin}/10/{lot}` | `urn:epc:class:lgtin:…`, else `https://id.gs1.org/01/{gtin}/10/{lot}` (a class: in `quantityList`) |
//! | logistic unit `00/{sscc}` | `urn:epc:id:sscc:…`, else `https://id.gs1.org/00/{sscc}` |
//! | Ecode `ecode:{code}` | `urn:ecode:{code}` |
//! | industrial-internet id `handle:{prefix}/{suffix}` | `https://hdl.handle.net/{prefix}/{suffix}`, percent-encoded |
//! | GTIN model | `urn:epc:idpat:sgtin:{company prefix}.{item reference}.*`, else `https://id.gs1.org/01/{gtin}` |
//! | enterprise | `urn:epc:id:pgln:…` when its profile claims a party GLN (else `https://id.gs1.org/417/{gln}`), otherwise `https://suyuan.example/party/{uscc}` |
//!
//! The company prefix length comes from the prefix the producer holds on the ledger
//! ([`PrefixLengths`]): a GS1 key does not say where its company prefix ends. An enterprise's
//! party GLN comes from its profile on the ledger ([`PartyGlns`]). Reading accepts both forms
//! of each GS1 code, from any Digital Link host, and a party by USCC or by a GLN that an
//! enrolled enterprise claims.

use std::collections::BTreeSet;

use serde_json::Value;
use suyuan_ledger::codes::gs1::check::check_digit;
use suyuan_ledger::codes::gs1::digital_link::{DigitalLink, percent_encode_into};
use suyuan_ledger::codes::gs1::epc::{Lgtin, Pgln, Sgtin, Sscc as EpcSscc};
use suyuan_ledger::codes::gs1::keys::{Gln, Gtin};
use suyuan_ledger::codes::gs1::party::{PartyGlnError, read_party_gln};
use suyuan_ledger::codes::inspect::{CodeKind, inspect};
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::prefix::IdPrefix;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::record::TraceCode;
use suyuan_ledger::state::{StateKey, StateRead, StateReadExt as _};

use crate::error::CaptureError;

/// The Digital Link host Suyuan writes when it cannot write an EPC URN.
pub const DIGITAL_LINK_HOST: &str = "https://id.gs1.org";

/// Where enterprises are named: a party URI is this followed by the USCC.
pub const PARTY_BASE: &str = "https://suyuan.example/party/";

/// Where Handle identifiers resolve.
const HANDLE_BASE: &str = "https://hdl.handle.net/";

/// The URI scheme Suyuan writes Ecodes in.
const ECODE_SCHEME: &str = "urn:ecode:";

/// How many digits the GS1 company prefix of a code or model has, where the ledger knows:
/// the length of the `gs1:` prefix its producer holds.
pub trait PrefixLengths {
    /// Digits of the company prefix `gtin` lies under.
    fn gtin_prefix_digits(&self, gtin: &Gtin) -> Option<usize>;
    /// Digits of the company prefix an SSCC lies under.
    fn sscc_prefix_digits(&self, sscc: &suyuan_ledger::codes::gs1::keys::Sscc) -> Option<usize>;
    /// Digits of the company prefix a GLN lies under.
    fn gln_prefix_digits(&self, gln: &Gln) -> Option<usize>;
}

/// No lengths known: every GS1 code is written as a Digital Link.
pub struct NoPrefixLengths;

impl PrefixLengths for NoPrefixLengths {
    fn gtin_prefix_digits(&self, _: &Gtin) -> Option<usize> {
        None
    }

    fn sscc_prefix_digits(&self, _: &suyuan_ledger::codes::gs1::keys::Sscc) -> Option<usize> {
        None
    }

    fn gln_prefix_digits(&self, _: &Gln) -> Option<usize> {
        None
    }
}

/// The lengths the ledger's state gives: a code's company prefix is the `gs1:` prefix held
/// that it lies under.
pub struct HeldPrefixes<'a, S: ?Sized>(pub &'a S);

impl<S: StateRead + ?Sized> HeldPrefixes<'_, S> {
    fn held(&self, candidates: Vec<IdPrefix>) -> Option<usize> {
        candidates
            .into_iter()
            .filter(|prefix| matches!(self.0.get(&StateKey::Prefix(prefix.clone())), Ok(Some(_))))
            .find_map(|prefix| prefix.to_string().strip_prefix("gs1:").map(str::len))
    }
}

impl<S: StateRead + ?Sized> PrefixLengths for HeldPrefixes<'_, S> {
    fn gtin_prefix_digits(&self, gtin: &Gtin) -> Option<usize> {
        self.held(IdPrefix::candidates_for_gtin(gtin))
    }

    fn sscc_prefix_digits(&self, sscc: &suyuan_ledger::codes::gs1::keys::Sscc) -> Option<usize> {
        self.held(IdPrefix::candidates_for_sscc(sscc))
    }

    fn gln_prefix_digits(&self, gln: &Gln) -> Option<usize> {
        held_company_prefix_digits(self.0, gln.as_str())
    }
}

/// The party GLN an enterprise is named by in events, where its profile claims one.
pub trait PartyGlns {
    /// The GLN `uscc`'s profile claims, if any.
    fn party_gln(&self, uscc: &Uscc) -> Option<Gln>;
}

/// No GLNs known: every enterprise is named by its USCC.
pub struct NoPartyGlns;

impl PartyGlns for NoPartyGlns {
    fn party_gln(&self, _: &Uscc) -> Option<Gln> {
        None
    }
}

/// The GLNs the enterprises' profiles in the ledger's state claim.
pub struct ProfileGlns<'a, S: ?Sized>(pub &'a S);

impl<S: StateRead + ?Sized> PartyGlns for ProfileGlns<'_, S> {
    fn party_gln(&self, uscc: &Uscc) -> Option<Gln> {
        // An unreadable state names the party by USCC, which is never wrong, only less usual.
        self.0
            .enterprise(uscc)
            .ok()
            .flatten()
            .and_then(|state| state.profile.gln)
    }
}

/// The digits of the held `gs1:` company prefix that `key` starts with: `key` is a GS1 key
/// read from where its company prefix starts (a GTIN without its indicator digit, an SSCC
/// without its extension digit, a GLN, GRAI or GIAI whole), as
/// `ledger::codes::gs1::epc_link::Epc::from_digital_link` asks.
pub fn held_company_prefix_digits<S: StateRead + ?Sized>(state: &S, key: &str) -> Option<usize> {
    (4..=12.min(key.len()))
        .take_while(|&digits| key.as_bytes()[digits - 1].is_ascii_digit())
        .find(|&digits| {
            let Ok(prefix) = format!("gs1:{}", &key[..digits]).parse::<IdPrefix>() else {
                return false;
            };
            matches!(state.get(&StateKey::Prefix(prefix)), Ok(Some(_)))
        })
}

/// The URI of a code.
pub fn code_uri(code: &TraceCode, lengths: &dyn PrefixLengths) -> String {
    match code {
        TraceCode::Item { gtin, serial } => lengths
            .gtin_prefix_digits(gtin)
            .and_then(|digits| Sgtin::new(gtin, serial.as_str(), digits).ok())
            .map(|epc| epc.to_string()),
        TraceCode::Lot { gtin, lot } => lengths
            .gtin_prefix_digits(gtin)
            .and_then(|digits| Lgtin::new(gtin, lot.as_str(), digits).ok())
            .map(|epc| epc.to_string()),
        TraceCode::Sscc(sscc) => lengths
            .sscc_prefix_digits(sscc)
            .and_then(|digits| EpcSscc::new(sscc, digits).ok())
            .map(|epc| epc.to_string()),
        TraceCode::Ecode(ecode) => Some(format!("{ECODE_SCHEME}{ecode}")),
        TraceCode::Handle(handle) => Some(handle_uri(&handle.to_string())),
    }
    .unwrap_or_else(|| format!("{DIGITAL_LINK_HOST}/{code}"))
}

/// Whether a code is a class (a batch, counted in `quantityList`) rather than an instance.
pub fn is_class(code: &TraceCode) -> bool {
    matches!(code, TraceCode::Lot { .. })
}

fn handle_uri(identifier: &str) -> String {
    let mut uri = String::from(HANDLE_BASE);
    let (prefix, suffix) = identifier.split_once('/').unwrap_or((identifier, ""));
    percent_encode_into(&mut uri, prefix);
    uri.push('/');
    percent_encode_into(&mut uri, suffix);
    uri
}

/// The code a URI names: an EPC URN or GS1 Digital Link of an item, batch or logistic unit,
/// `urn:ecode:…`, or a Handle URL.
pub fn code_of_uri(uri: &str) -> Result<TraceCode, CaptureError> {
    let unsupported = |reason: &str| CaptureError::Identifier {
        uri: uri.to_owned(),
        reason: reason.to_owned(),
    };
    if let Some(ecode) = uri.strip_prefix(ECODE_SCHEME) {
        return format!("ecode:{ecode}")
            .parse()
            .map_err(|e: suyuan_ledger::record::TraceCodeError| unsupported(&e.to_string()));
    }
    if let Some(rest) = uri.strip_prefix(HANDLE_BASE) {
        let decoded = percent_decode(rest).ok_or_else(|| unsupported("bad percent escape"))?;
        return format!("handle:{decoded}")
            .parse()
            .map_err(|e: suyuan_ledger::record::TraceCodeError| unsupported(&e.to_string()));
    }
    let lower = uri.to_ascii_lowercase();
    let is_epc = lower.starts_with("urn:epc:id:sgtin:")
        || lower.starts_with("urn:epc:class:lgtin:")
        || lower.starts_with("urn:epc:id:sscc:");
    let is_link = lower.starts_with("https://") || lower.starts_with("http://");
    if !is_epc && !is_link {
        return Err(unsupported(
            "Suyuan keeps SGTIN, LGTIN and SSCC (as EPC URNs or GS1 Digital Links), Ecodes and \
             Handle ids",
        ));
    }
    let report = inspect(uri);
    if !report.valid {
        return Err(unsupported(
            report.error.as_deref().unwrap_or("not a valid identifier"),
        ));
    }
    if !matches!(report.kind, CodeKind::EpcUrn | CodeKind::Gs1DigitalLink) {
        return Err(unsupported("not an EPC URN or a GS1 Digital Link"));
    }
    report.trace_code.ok_or_else(|| {
        unsupported("a GS1 identifier of a kind Suyuan does not keep as a batch, item or unit")
    })
}

/// The class URI of a model: what a model-level subject is written as.
pub fn model_uri(model: &ModelCode, lengths: &dyn PrefixLengths) -> String {
    match model {
        ModelCode::Gtin(gtin) => match lengths.gtin_prefix_digits(gtin) {
            Some(digits) => {
                let g = gtin.as_str();
                format!(
                    "urn:epc:idpat:sgtin:{}.{}{}.*",
                    &g[1..1 + digits],
                    &g[..1],
                    &g[1 + digits..13]
                )
            }
            None => format!("{DIGITAL_LINK_HOST}/01/{gtin}"),
        },
        ModelCode::Ecode(ecode) => format!("{ECODE_SCHEME}{ecode}"),
        ModelCode::Handle(handle) => handle_uri(&handle.to_string()),
    }
}

/// The GTIN model a class URI names: `urn:epc:idpat:sgtin:….*` or a Digital Link of a GTIN
/// alone. `None` for any other URI (a batch, say).
pub fn gtin_model_of_uri(uri: &str) -> Result<Option<ModelCode>, CaptureError> {
    let bad = |reason: &str| CaptureError::Identifier {
        uri: uri.to_owned(),
        reason: reason.to_owned(),
    };
    let lower = uri.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("urn:epc:idpat:sgtin:") {
        let parts: Vec<&str> = rest.split('.').collect();
        let [company, item, "*"] = parts.as_slice() else {
            return Err(bad("an SGTIN pattern is CompanyPrefix.IndicatorItemRef.*"));
        };
        let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits_only(company) || !digits_only(item) || company.len() + item.len() != 13 {
            return Err(bad("an SGTIN pattern has 13 digits before its check digit"));
        }
        let body = format!("{}{}{}", &item[..1], company, &item[1..]);
        // The body is 13 digits (checked above), so it has a check digit.
        let check = check_digit(body.as_bytes()).map_or('0', char::from);
        let gtin: Gtin = format!("{body}{check}")
            .parse()
            .map_err(|e: suyuan_ledger::codes::gs1::keys::KeyError| bad(&e.to_string()))?;
        return Ok(Some(ModelCode::Gtin(gtin)));
    }
    if lower.starts_with("https://") || lower.starts_with("http://") {
        let Ok(link) = DigitalLink::parse(uri) else {
            return Ok(None);
        };
        let (ai, value) = link.primary_key();
        if ai.as_str() == "01" && link.element_string().len() == 1 {
            let gtin: Gtin = value
                .parse()
                .map_err(|e: suyuan_ledger::codes::gs1::keys::KeyError| bad(&e.to_string()))?;
            return Ok(Some(ModelCode::Gtin(gtin)));
        }
    }
    Ok(None)
}

/// The party URI of an enterprise by its USCC alone.
pub fn party_uri(uscc: &Uscc) -> String {
    format!("{PARTY_BASE}{uscc}")
}

/// The URI an owning party is named by: its party GLN as a PGLN (a Digital Link `/417/` when
/// the GLN's company prefix length is unknown) where its profile claims one, else its USCC.
pub fn owning_party_uri(
    uscc: &Uscc,
    parties: &dyn PartyGlns,
    lengths: &dyn PrefixLengths,
) -> String {
    let Some(gln) = parties.party_gln(uscc) else {
        return party_uri(uscc);
    };
    lengths
        .gln_prefix_digits(&gln)
        .and_then(|digits| Pgln::new(&gln, digits).ok())
        .map_or_else(
            || format!("{DIGITAL_LINK_HOST}/417/{gln}"),
            |pgln| pgln.to_string(),
        )
}

/// The enterprise a party URI names: `https://suyuan.example/party/{uscc}`, or a party GLN
/// (PGLN URN or Digital Link) that `holder` finds an enrolled enterprise claiming.
pub fn uscc_of_party(
    uri: &str,
    holder: &dyn Fn(&Gln) -> Option<Uscc>,
) -> Result<Uscc, CaptureError> {
    let bad = |reason: String| CaptureError::Identifier {
        uri: uri.to_owned(),
        reason,
    };
    if let Some(uscc) = uri.strip_prefix(PARTY_BASE) {
        return uscc
            .parse()
            .map_err(|e: suyuan_ledger::codes::uscc::UsccError| bad(e.to_string()));
    }
    match read_party_gln(uri) {
        Ok(gln) => holder(&gln).ok_or_else(|| CaptureError::UnknownParty {
            gln: gln.to_string(),
        }),
        Err(PartyGlnError::Unrecognised) => Err(bad(format!(
            "Suyuan names an enterprise by {PARTY_BASE}{{USCC}} or by the party GLN its profile \
             claims (urn:epc:id:pgln:... or a Digital Link /417/...)"
        ))),
        Err(error) => Err(bad(error.to_string())),
    }
}

/// The party GLNs a URI in an event may name, for a capturing client to look up before
/// capturing: every value of a source, destination or `suyuan:enterprise` that reads as one.
pub fn party_glns_named(events: &[Value]) -> BTreeSet<Gln> {
    let mut glns = BTreeSet::new();
    let mut take = |value: Option<&Value>| {
        if let Some(gln) = value
            .and_then(Value::as_str)
            .filter(|uri| !uri.starts_with(PARTY_BASE))
            .and_then(|uri| read_party_gln(uri).ok())
        {
            glns.insert(gln);
        }
    };
    for event in events {
        take(event.get("suyuan:enterprise"));
        for (list, field) in [("sourceList", "source"), ("destinationList", "destination")] {
            for entry in event
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                take(entry.get(field));
            }
        }
    }
    glns
}

/// Undoes `%XX` escapes; `None` on a malformed one or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Seven;

    impl PrefixLengths for Seven {
        fn gtin_prefix_digits(&self, _: &Gtin) -> Option<usize> {
            Some(7)
        }

        fn sscc_prefix_digits(&self, _: &suyuan_ledger::codes::gs1::keys::Sscc) -> Option<usize> {
            Some(7)
        }

        fn gln_prefix_digits(&self, _: &Gln) -> Option<usize> {
            Some(7)
        }
    }

    #[test]
    fn gs1_codes_are_written_as_epc_urns_or_digital_links_and_read_back() {
        for text in [
            "01/80614141123458/21/6789",
            "01/80614141123458/10/LOT%2F7",
            "00/106141412345678908",
        ] {
            let code: TraceCode = text.parse().unwrap();
            let urn = code_uri(&code, &Seven);
            assert!(urn.starts_with("urn:epc:"), "{urn}");
            assert_eq!(code_of_uri(&urn).unwrap(), code, "{urn}");
            let link = code_uri(&code, &NoPrefixLengths);
            assert_eq!(link, format!("https://id.gs1.org/{text}"));
            assert_eq!(code_of_uri(&link).unwrap(), code, "{link}");
        }
    }

    #[test]
    fn models_are_written_as_classes() {
        let model: ModelCode = "80614141123458".parse().unwrap();
        let pattern = model_uri(&model, &Seven);
        assert_eq!(pattern, "urn:epc:idpat:sgtin:0614141.812345.*");
        assert_eq!(gtin_model_of_uri(&pattern).unwrap(), Some(model.clone()));
        let link = model_uri(&model, &NoPrefixLengths);
        assert_eq!(gtin_model_of_uri(&link).unwrap(), Some(model));
        assert_eq!(
            gtin_model_of_uri("https://id.gs1.org/01/80614141123458/10/A1").unwrap(),
            None
        );
    }

    #[test]
    fn unsupported_identifiers_say_why() {
        for uri in [
            "urn:epc:id:grai:0614141.12345.400",
            "urn:epc:id:sgtin:0614141.81234.6789",
            "urn:example:thing",
            "https://id.gs1.org/414/6141411234567",
        ] {
            assert!(
                matches!(code_of_uri(uri), Err(CaptureError::Identifier { .. })),
                "{uri}"
            );
        }
    }
}
