//! Describe what a client signs as JSON Schema (draft 2020-12), generated from the record types.
//!
//! The types stay the authority: a payload is valid when [`crate::tx::Payload::parse`] takes it,
//! and the schema says the same in a form other languages read (an ERP's exporter, a form
//! builder, a validator in a pipeline). It gives every record kind's fields, which are required,
//! which optional, the enums, and the bounds and patterns of the text and code fields. A few
//! checks stay with the parser: check digits and characters (USCC, GTIN, GLN, SSCC), the byte
//! bound of text that is not ASCII (JSON Schema counts characters), and anything a rule decides
//! against state (that a key is bound, a code commissioned).
//!
//! [`payload_schema`] is the standalone document published as `docs/schemas/payload.json`; the
//! API serves the same definitions in `/openapi.json` ([`payload_definitions`]).

use schemars::generate::SchemaSettings;

use crate::tx::Payload;

/// The payload's schema as one document: the payload at the root, every type it uses under
/// `$defs`.
pub fn payload_schema() -> serde_json::Value {
    let mut schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Payload>()
        .to_value();
    tidy_descriptions(&mut schema);
    schema
}

/// The payload's schema for a document that keeps its definitions at `definitions_path` (an
/// OpenAPI document's `/components/schemas`): every definition by name, the payload's own under
/// `Payload`, their references pointing into `definitions_path`.
pub fn payload_definitions(definitions_path: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.definitions_path = definitions_path.to_owned().into();
            settings.meta_schema = None;
        })
        .into_generator();
    generator.subschema_for::<Payload>();
    let mut definitions = generator.take_definitions(true);
    for definition in definitions.values_mut() {
        tidy_descriptions(definition);
    }
    definitions
}

/// Descriptions come from the types' doc comments, written for rustdoc: line breaks inside a
/// paragraph become spaces and intra-doc links (`` [`Party::enterprise`] ``) plain code spans.
fn tidy_descriptions(schema: &mut serde_json::Value) {
    match schema {
        serde_json::Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    serde_json::Value::String(text) if key == "description" => {
                        *text = tidy(text);
                    }
                    other => tidy_descriptions(other),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(tidy_descriptions),
        _ => {}
    }
}

fn tidy(text: &str) -> String {
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|paragraph| paragraph.split('\n').collect::<Vec<_>>().join(" "))
        .collect();
    paragraphs
        .join("\n\n")
        .replace("[`", "`")
        .replace("`]", "`")
}
