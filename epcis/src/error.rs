//! Why an EPCIS document or event cannot become Suyuan records.

use thiserror::Error;

/// Why one event (or the document holding it) is refused. Each names the part at fault, so
/// that a producer's system can be fixed; [`CaptureError::code`] is the stable name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CaptureError {
    /// The document breaks the official EPCIS 2.0 JSON Schema.
    #[error("the document breaks the EPCIS 2.0 JSON Schema at {path}: {reason}")]
    Schema {
        /// JSON pointer of the value at fault.
        path: String,
        /// What the schema says.
        reason: String,
    },
    /// Not an EPCIS document (or query document) at all.
    #[error("not an EPCIS 2.0 document: {reason}")]
    NotADocument {
        /// What is wrong.
        reason: String,
    },
    /// More events than one capture takes.
    #[error("{found} events exceed the capture limit of {max}")]
    TooManyEvents {
        /// The limit.
        max: usize,
        /// Events found.
        found: usize,
    },
    /// An event type, business step, action or feature Suyuan keeps no record of.
    #[error("unsupported: {what}")]
    Unsupported {
        /// What is unsupported, in words.
        what: String,
    },
    /// A field Suyuan needs is missing.
    #[error("missing {field}: {why}")]
    Missing {
        /// The field, as EPCIS or Suyuan's extension names it.
        field: &'static str,
        /// What it is needed for.
        why: &'static str,
    },
    /// A field holds a value Suyuan cannot take.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// An identifier Suyuan cannot read as a code it keeps.
    #[error("identifier {uri}: {reason}")]
    Identifier {
        /// The URI.
        uri: String,
        /// What is wrong.
        reason: String,
    },
    /// A party named by a GLN that no enterprise's profile claims.
    #[error(
        "no enrolled enterprise claims the party GLN {gln}: the enterprise adds it to its profile \
         (under a GS1 company prefix it holds), or the event names it by its USCC"
    )]
    UnknownParty {
        /// The GLN, 13 digits.
        gln: String,
    },
    /// A close of a recall names a recall event the ledger does not know.
    #[error("no open recall was recorded as event {event_id}")]
    UnknownRecall {
        /// The recall's event id.
        event_id: String,
    },
}

impl CaptureError {
    /// The stable snake_case name of the error.
    pub fn code(&self) -> &'static str {
        match self {
            CaptureError::Schema { .. } => "epcis_schema",
            CaptureError::NotADocument { .. } => "not_an_epcis_document",
            CaptureError::TooManyEvents { .. } => "too_many_events",
            CaptureError::Unsupported { .. } => "epcis_unsupported",
            CaptureError::Missing { .. } => "epcis_missing_field",
            CaptureError::Invalid { .. } => "epcis_invalid_field",
            CaptureError::Identifier { .. } => "epcis_identifier",
            CaptureError::UnknownParty { .. } => "unknown_party",
            CaptureError::UnknownRecall { .. } => "unknown_recall_event",
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl ToString) -> CaptureError {
        CaptureError::Invalid {
            field: field.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn unsupported(what: impl Into<String>) -> CaptureError {
        CaptureError::Unsupported { what: what.into() }
    }
}
