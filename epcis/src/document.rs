//! EPCIS 2.0 documents: building them, reading their events, and checking them against GS1's
//! official JSON Schema (shipped in `epcis/schemas/`, unchanged from GS1's repository).

use std::sync::OnceLock;

use serde_json::{Value, json};
use suyuan_ledger::event::EventTime;

use crate::error::CaptureError;

/// The JSON-LD context of EPCIS 2.0.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// The namespace of Suyuan's extension fields, the `suyuan:` prefix.
pub const SUYUAN_NAMESPACE: &str = "https://suyuan.example/epcis/";

/// Most events one capture takes: a larger export is split into several documents.
pub const MAX_CAPTURE_EVENTS: usize = 10_000;

/// Where the official schemas say they live; their relative references resolve under it.
const SCHEMA_BASE: &str = "https://gs1.github.io/EPCIS/JSON-Schema/";

/// The schema files, by their path under [`SCHEMA_BASE`].
const SCHEMA_FILES: [(&str, &str); 19] = [
    (
        "EPCIS-JSON-Schema.json",
        include_str!("../schemas/EPCIS-JSON-Schema-root.json"),
    ),
    (
        "EPCIS-Document-JSON-Schema.json",
        include_str!("../schemas/EPCIS-Document-JSON-Schema.json"),
    ),
    (
        "EPCIS-Event-JSON-Schema.json",
        include_str!("../schemas/EPCIS-Event-JSON-Schema.json"),
    ),
    (
        "EPCIS-Query-JSON-Schema-root.json",
        include_str!("../schemas/EPCIS-Query-JSON-Schema-root.json"),
    ),
    (
        "schemas/AggregationEvent-JSON-Schema.json",
        include_str!("../schemas/schemas/AggregationEvent-JSON-Schema.json"),
    ),
    (
        "schemas/AssociationEvent-JSON-Schema.json",
        include_str!("../schemas/schemas/AssociationEvent-JSON-Schema.json"),
    ),
    (
        "schemas/ObjectEvent-JSON-Schema.json",
        include_str!("../schemas/schemas/ObjectEvent-JSON-Schema.json"),
    ),
    (
        "schemas/TransactionEvent-JSON-Schema.json",
        include_str!("../schemas/schemas/TransactionEvent-JSON-Schema.json"),
    ),
    (
        "schemas/TransformationEvent-JSON-Schema.json",
        include_str!("../schemas/schemas/TransformationEvent-JSON-Schema.json"),
    ),
    (
        "schemas/bizStep-JSON-Schema.json",
        include_str!("../schemas/schemas/bizStep-JSON-Schema.json"),
    ),
    (
        "schemas/bizTransaction-type-JSON-Schema.json",
        include_str!("../schemas/schemas/bizTransaction-type-JSON-Schema.json"),
    ),
    (
        "schemas/component-JSON-Schema.json",
        include_str!("../schemas/schemas/component-JSON-Schema.json"),
    ),
    (
        "schemas/definitions-JSON-Schema.json",
        include_str!("../schemas/schemas/definitions-JSON-Schema.json"),
    ),
    (
        "schemas/disposition-JSON-Schema.json",
        include_str!("../schemas/schemas/disposition-JSON-Schema.json"),
    ),
    (
        "schemas/error-reason-JSON-Schema.json",
        include_str!("../schemas/schemas/error-reason-JSON-Schema.json"),
    ),
    (
        "schemas/event-definitions-JSON-Schema.json",
        include_str!("../schemas/schemas/event-definitions-JSON-Schema.json"),
    ),
    (
        "schemas/measurement-type-JSON-Schema.json",
        include_str!("../schemas/schemas/measurement-type-JSON-Schema.json"),
    ),
    (
        "schemas/sensor-alert-type-JSON-Schema.json",
        include_str!("../schemas/schemas/sensor-alert-type-JSON-Schema.json"),
    ),
    (
        "schemas/source-dest-type-JSON-Schema.json",
        include_str!("../schemas/schemas/source-dest-type-JSON-Schema.json"),
    ),
];

/// Hands the validator the shipped schema files, and nothing from the network.
struct ShippedSchemas;

impl jsonschema::Retrieve for ShippedSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let uri = uri.as_str();
        let path = uri
            .strip_prefix(SCHEMA_BASE)
            .ok_or_else(|| format!("{uri} is not one of the shipped EPCIS schemas"))?;
        let path = path.split('#').next().unwrap_or(path);
        let (_, text) = SCHEMA_FILES
            .iter()
            .find(|(name, _)| *name == path)
            .ok_or_else(|| format!("{uri} is not one of the shipped EPCIS schemas"))?;
        Ok(serde_json::from_str(text)?)
    }
}

/// The official schema of EPCIS documents and events, with formats (URIs, date-times)
/// checked.
pub fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let root: Value = serde_json::from_str(SCHEMA_FILES[0].1)
            .expect("the shipped EPCIS root schema is JSON (tested)");
        jsonschema::options()
            .with_retriever(ShippedSchemas)
            .should_validate_formats(true)
            .build(&root)
            .expect("the shipped EPCIS schemas compile (tested)")
    })
}

/// Checks a document (or a single event) against the official schema; the first error names
/// where.
pub fn check_schema(document: &Value) -> Result<(), CaptureError> {
    match validator().iter_errors(document).next() {
        None => Ok(()),
        Some(error) => Err(CaptureError::Schema {
            path: error.instance_path().to_string(),
            reason: error.to_string(),
        }),
    }
}

/// The events of an `EPCISDocument`, after checking it against the schema and the capture
/// limit.
pub fn events_of(document: &Value) -> Result<&[Value], CaptureError> {
    let events = all_events_of(document)?;
    if events.len() > MAX_CAPTURE_EVENTS {
        return Err(CaptureError::TooManyEvents {
            max: MAX_CAPTURE_EVENTS,
            found: events.len(),
        });
    }
    Ok(events)
}

/// The events of an `EPCISDocument` of any length, after checking it against the schema:
/// for a bulk import (`suyuan import`), which submits them in batches of its own.
pub fn all_events_of(document: &Value) -> Result<&[Value], CaptureError> {
    let kind = document.get("type").and_then(Value::as_str);
    if kind != Some("EPCISDocument") {
        return Err(CaptureError::NotADocument {
            reason: format!(
                "capture takes a document of type EPCISDocument, found {}",
                kind.map_or_else(|| "no type".to_owned(), |k| format!("{k:?}"))
            ),
        });
    }
    check_schema(document)?;
    let events = document
        .pointer("/epcisBody/eventList")
        .and_then(Value::as_array)
        .ok_or_else(|| CaptureError::NotADocument {
            reason: "no epcisBody.eventList".into(),
        })?;
    Ok(events)
}

/// The `@context` Suyuan writes: EPCIS 2.0's, and the `suyuan:` prefix.
pub fn context() -> Value {
    json!([EPCIS_CONTEXT, {"suyuan": SUYUAN_NAMESPACE}])
}

/// The latest event time among `events`, as the document's creation date, so that the same
/// history is the same document whenever it is exported.
fn creation_date(events: &[Value]) -> String {
    events
        .iter()
        .filter_map(|event| event.get("eventTime")?.as_str()?.parse::<EventTime>().ok())
        .max_by_key(EventTime::unix_ms)
        .map_or_else(
            || "1970-01-01T00:00:00.000+00:00".to_owned(),
            |time| time.to_string(),
        )
}

/// An `EPCISDocument` holding `events`.
pub fn document(events: Vec<Value>) -> Value {
    json!({
        "@context": context(),
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": creation_date(&events),
        "epcisBody": {"eventList": events},
    })
}

/// An `EPCISQueryDocument` answering the simple event query with `events`.
pub fn query_document(events: Vec<Value>) -> Value {
    json!({
        "@context": context(),
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": creation_date(&events),
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": events},
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_schemas_compile_and_judge() {
        let _ = validator();
        assert!(check_schema(&document(Vec::new())).is_ok());
        assert!(check_schema(&query_document(Vec::new())).is_ok());
        let mut broken = document(Vec::new());
        broken["schemaVersion"] = json!("two");
        assert!(matches!(
            check_schema(&broken),
            Err(CaptureError::Schema { path, .. }) if path == "/schemaVersion"
        ));
    }
}
