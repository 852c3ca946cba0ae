//! Name a product model by any of the three code kinds a producer may hold: a GS1 GTIN, an Ecode
//! or an industrial-internet (Handle) identifier.
//!
//! Producers without GS1 membership identify their models by an Ecode class code (GB/T 31866)
//! or by a Handle identifier under their enterprise prefix (`88.{…}/…`). A [`ModelCode`] holds
//! one of them, and has one canonical string form per kind:
//!
//! | kind | canonical form | example |
//! |---|---|---|
//! | GTIN | the 14 digits, bare | `06950123450012` |
//! | Ecode | `ecode:{code}` | `ecode:100018800000001`, `ecode:MA.156.M0.100204.13351764` |
//! | Handle | `handle:{prefix}/{suffix}` | `handle:88.118.8/model/V-200` |
//!
//! A GTIN model's form is the bare GTIN the ledger has always written, so records, state keys
//! and proofs of GTIN models are byte-for-byte what they were before other kinds existed.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::codes::ecode::{Ecode, EcodeError};
use crate::codes::gs1::keys::{Gtin, KeyError};
use crate::codes::handle::{HandleError, HandleId};
use crate::codes::prefix::IdPrefix;

/// What an Ecode model code starts with.
pub const ECODE_SCHEME: &str = "ecode:";

/// What a Handle model code starts with.
pub const HANDLE_SCHEME: &str = "handle:";

/// Why a string is not a [`ModelCode`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModelCodeError {
    /// A bare code is a GTIN, and this one is not valid.
    #[error(
        "not a model code: a bare code is a GTIN ({0}); Ecode and Handle models read ecode:… or handle:…"
    )]
    Gtin(KeyError),
    /// The Ecode after `ecode:` is invalid.
    #[error("invalid Ecode model code: {0}")]
    Ecode(EcodeError),
    /// The identifier after `handle:` is invalid.
    #[error("invalid Handle model code: {0}")]
    Handle(HandleError),
}

/// A product model's code: a GTIN, an Ecode or an industrial-internet identifier.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelCode {
    /// A GS1 GTIN; the model's batches and items may carry GS1 lot and serial codes under it.
    Gtin(Gtin),
    /// An Ecode class code.
    Ecode(Ecode),
    /// An industrial-internet identifier.
    Handle(HandleId),
}

/// Which of the three kinds a [`ModelCode`] is, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelCodeKind {
    /// A GS1 GTIN.
    Gtin,
    /// An Ecode.
    Ecode,
    /// An industrial-internet identifier.
    Handle,
}

impl ModelCode {
    /// The GTIN, for a GTIN model.
    pub fn gtin(&self) -> Option<&Gtin> {
        match self {
            ModelCode::Gtin(gtin) => Some(gtin),
            ModelCode::Ecode(_) | ModelCode::Handle(_) => None,
        }
    }

    /// Which kind of code it is.
    pub fn kind(&self) -> ModelCodeKind {
        match self {
            ModelCode::Gtin(_) => ModelCodeKind::Gtin,
            ModelCode::Ecode(_) => ModelCodeKind::Ecode,
            ModelCode::Handle(_) => ModelCodeKind::Handle,
        }
    }

    /// Whether the code lies under an identifier prefix, so that its holder may register it.
    pub fn lies_under(&self, prefix: &IdPrefix) -> bool {
        match self {
            ModelCode::Gtin(gtin) => prefix.covers_gtin(gtin),
            ModelCode::Ecode(code) => prefix.covers_ecode(code),
            ModelCode::Handle(id) => prefix.covers_handle(id),
        }
    }

    /// Every prefix the code could lie under, shortest first.
    pub fn prefix_candidates(&self) -> Vec<IdPrefix> {
        match self {
            ModelCode::Gtin(gtin) => IdPrefix::candidates_for_gtin(gtin),
            ModelCode::Ecode(code) => IdPrefix::candidates_for_ecode(code),
            ModelCode::Handle(id) => IdPrefix::candidates_for_handle(id),
        }
    }
}

impl From<Gtin> for ModelCode {
    fn from(gtin: Gtin) -> Self {
        ModelCode::Gtin(gtin)
    }
}

impl fmt::Display for ModelCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelCode::Gtin(gtin) => write!(f, "{gtin}"),
            ModelCode::Ecode(code) => write!(f, "{ECODE_SCHEME}{code}"),
            ModelCode::Handle(id) => write!(f, "{HANDLE_SCHEME}{id}"),
        }
    }
}

impl fmt::Debug for ModelCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModelCode({self})")
    }
}

impl FromStr for ModelCode {
    type Err = ModelCodeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if let Some(code) = input.strip_prefix(ECODE_SCHEME) {
            return code
                .parse()
                .map(ModelCode::Ecode)
                .map_err(ModelCodeError::Ecode);
        }
        if let Some(id) = input.strip_prefix(HANDLE_SCHEME) {
            return id
                .parse()
                .map(ModelCode::Handle)
                .map_err(ModelCodeError::Handle);
        }
        input
            .parse()
            .map(ModelCode::Gtin)
            .map_err(ModelCodeError::Gtin)
    }
}

crate::serde_as_string!(ModelCode);

crate::string_schema!(
    ModelCode,
    "ModelCode",
    "a product model's code: a GTIN's 14 digits, ecode:{Ecode} or handle:{prefix}/{suffix}",
    "examples": ["06950123450012", "ecode:100018800000001", "handle:88.118.8/model/V-200"],
);

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> ModelCode {
        text.parse().unwrap()
    }

    #[test]
    fn each_kind_round_trips_through_its_canonical_form() {
        for text in [
            "06950123450012",
            "ecode:100018800000001",
            "handle:88.118.8/model/V-200",
        ] {
            assert_eq!(code(text).to_string(), text);
            let json = serde_json::to_string(&code(text)).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(
                serde_json::from_str::<ModelCode>(&json).unwrap(),
                code(text)
            );
        }
    }

    #[test]
    fn a_gtin_model_serialises_as_the_gtin_does() {
        let gtin: Gtin = "6950123450012".parse().unwrap();
        assert_eq!(
            serde_json::to_string(&ModelCode::from(gtin.clone())).unwrap(),
            serde_json::to_string(&gtin).unwrap()
        );
        assert_eq!(code("6950123450012").gtin(), Some(&gtin));
        assert_eq!(code("6950123450012").kind(), ModelCodeKind::Gtin);
    }

    #[test]
    fn each_kind_reports_what_is_wrong_inside() {
        assert!(matches!(
            "ecode:200011234".parse::<ModelCode>(),
            Err(ModelCodeError::Ecode(EcodeError::UnsupportedVersion { .. }))
        ));
        assert!(matches!(
            "handle:88/x".parse::<ModelCode>(),
            Err(ModelCodeError::Handle(
                HandleError::TooFewPrefixGroups { .. }
            ))
        ));
        for text in ["6950123450019", "", "01/06950123450012", "ECODE:100011234"] {
            assert!(matches!(
                text.parse::<ModelCode>(),
                Err(ModelCodeError::Gtin(_))
            ));
        }
    }

    #[test]
    fn prefixes_cover_the_codes_of_their_scheme_only() {
        let ecode = code("ecode:100018800000001");
        let handle = code("handle:88.118.8/model/V-200");
        for model in [&ecode, &handle, &code("06950123450012")] {
            let candidates = model.prefix_candidates();
            assert!(!candidates.is_empty());
            assert!(candidates.iter().all(|prefix| model.lies_under(prefix)));
        }
        let ecode_prefix: IdPrefix = "ecode:10001880".parse().unwrap();
        assert!(ecode.lies_under(&ecode_prefix));
        assert!(!handle.lies_under(&ecode_prefix));
        assert_eq!(handle.gtin(), None);
    }
}
