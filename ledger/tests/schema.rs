//! The payload's JSON Schema (`suyuan_ledger::schema`) against what the parser takes: every
//! payload the demo signs and every example in the docs validates, the published copy under
//! `docs/schemas/` is the generated one, and the schema refuses what it claims to bound.

mod markdown;

use jsonschema::Validator;
use markdown::json_blocks;
use serde_json::{Value, json};
use suyuan_ledger::demo::Demo;
use suyuan_ledger::schema::payload_schema;
use suyuan_ledger::tx::{Envelope, Payload};

const PUBLISHED: &str = "../docs/schemas/payload.json";

fn validator() -> Validator {
    jsonschema::draft202012::new(&payload_schema()).expect("the generated schema compiles")
}

/// Every envelope the demo consortium signs, in all its stories.
fn demo_envelopes() -> Vec<Envelope> {
    let demo = Demo::new(4, 7100);
    let mut envelopes: Vec<Envelope> = demo.story().into_iter().flatten().collect();
    envelopes.extend(demo.dev_story().into_iter().flatten());
    envelopes.extend(demo.code_links());
    envelopes.extend(demo.accreditation());
    envelopes.extend(demo.market_sampling());
    envelopes.extend(demo.non_gs1_models().into_iter().flatten());
    envelopes.extend(demo.logistics());
    envelopes
}

fn assert_valid(validator: &Validator, payload: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(payload)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not validate:\n{}\n{payload:#}",
        errors.join("\n")
    );
}

#[test]
fn every_demo_payload_validates() {
    let validator = validator();
    let envelopes = demo_envelopes();
    assert!(envelopes.len() > 50, "found {}", envelopes.len());
    let mut kinds = std::collections::BTreeSet::new();
    for envelope in &envelopes {
        Payload::parse(&envelope.payload).expect("the demo signs valid payloads");
        let payload: Value = serde_json::from_slice(&envelope.payload).unwrap();
        kinds.insert(payload["record"]["type"].as_str().unwrap().to_owned());
        assert_valid(&validator, &payload, "a demo payload");
    }
    // The stories cover most record kinds; the ones they do not sign are below.
    assert!(kinds.len() >= 11, "record kinds covered: {kinds:?}");
}

/// One payload of each record kind the demo stories do not sign (key and registrar
/// administration, prefix transfers, closing a recall): the parser takes each, so must the
/// schema.
#[test]
fn payloads_of_the_other_kinds_validate() {
    let validator = validator();
    let uscc = "91350100M000100Y43";
    let key = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";
    let other = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let records = [
        json!({"type": "bind_key", "uscc": uscc, "key": key}),
        json!({"type": "rotate_key", "uscc": uscc, "old_key": key, "new_key": other}),
        json!({"type": "revoke_key", "uscc": uscc, "key": key, "reason": "laptop stolen"}),
        json!({"type": "offer_transfer", "uscc": uscc, "to": other}),
        json!({"type": "accept_transfer", "uscc": uscc, "from": key}),
        json!({"type": "withdraw_transfer", "uscc": uscc}),
        json!({"type": "transfer_prefix", "uscc": uscc, "prefix": "gs1:6901234", "to": "91420100MA4K0000XJ"}),
        json!({"type": "revoke_prefix", "uscc": uscc, "prefix": "handle:88.608.24161301", "reason": "licence lapsed"}),
        json!({"type": "close_recall", "recall": "00".repeat(32), "resolution": "all units replaced"}),
    ];
    for record in records {
        let payload = json!({"nonce": 7, "record": record});
        if let Err(error) = Payload::parse(&serde_json::to_vec(&payload).unwrap()) {
            panic!("the parser refuses {payload}: {error}");
        }
        assert_valid(&validator, &payload, "a hand-written payload");
    }
}

#[test]
fn every_record_example_in_the_docs_validates() {
    let validator = validator();
    let blocks = json_blocks(include_str!("../../docs/records.md"));
    assert!(blocks.len() >= 8, "found {} examples", blocks.len());
    for block in blocks {
        let payload: Value = serde_json::from_str(&block).unwrap();
        assert_valid(&validator, &payload, "an example in docs/records.md");
    }
}

/// The copy under docs/ is what the code generates; `cargo test --release --workspace --test
/// schema -- --ignored` rewrites it after a record type changed on purpose.
#[test]
fn the_published_schema_is_the_generated_one() {
    let published: Value = serde_json::from_str(include_str!("../../docs/schemas/payload.json"))
        .expect("docs/schemas/payload.json is JSON");
    assert!(
        published == payload_schema(),
        "docs/schemas/payload.json is not what the record types generate: if a record changed \
         on purpose, run the ignored test write_published_schema"
    );
}

#[test]
#[ignore = "writes docs/schemas/payload.json: run on purpose after a record type changed"]
fn write_published_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(PUBLISHED);
    let text = serde_json::to_string_pretty(&payload_schema()).unwrap() + "\n";
    std::fs::write(&path, text).unwrap();
}

/// A valid shipment to a company, the base the refusals below change one thing of.
fn shipment() -> Value {
    let demo = Demo::new(4, 7100);
    demo.story()
        .into_iter()
        .flatten()
        .map(|envelope| serde_json::from_slice::<Value>(&envelope.payload).unwrap())
        .find(|payload| {
            payload["record"]["type"] == "ship"
                && payload["record"]["buyer"]["enterprise"].is_object()
        })
        .expect("the demo story ships to a company")
}

/// What the schema refuses, the parser refuses too: the schema bounds what it says it does.
#[test]
fn the_schema_refuses_what_the_parser_refuses() {
    let validator = validator();
    let base = shipment();
    assert_valid(&validator, &base, "the base shipment");
    let name = "/record/buyer/enterprise/name";
    // What is wrong, where (a JSON pointer into the payload), and the value put there (`None`
    // removes the field).
    let changes: [(&str, &str, Option<Value>); 17] = [
        ("an unknown field", "/record/colour", Some(json!("red"))),
        (
            "an unknown record type",
            "/record/type",
            Some(json!("teleport")),
        ),
        ("no nonce", "/nonce", None),
        ("a negative nonce", "/nonce", Some(json!(-1))),
        ("no seller", "/record/seller", None),
        (
            "a USCC of 17 characters",
            "/record/seller",
            Some(json!("91350100M000100Y4")),
        ),
        (
            "a USCC with a letter O",
            "/record/seller",
            Some(json!("91350100M000100O43")),
        ),
        ("an empty name", name, Some(json!(""))),
        ("a name with a line break", name, Some(json!("Line\nbreak"))),
        ("a name with a trailing space", name, Some(json!("Name "))),
        (
            "a name of 300 characters",
            name,
            Some(json!("n".repeat(300))),
        ),
        (
            "a buyer both company and person",
            "/record/buyer/person",
            Some(json!({"commitment": "00".repeat(32), "data_reference": "SO-1"})),
        ),
        (
            "a quantity as text",
            "/record/lines/0/quantity",
            Some(json!("5")),
        ),
        (
            "lines that are not a list",
            "/record/lines",
            Some(json!({})),
        ),
        (
            "a GLN of 12 digits",
            "/record/buyer/enterprise/gln",
            Some(json!("695012345000")),
        ),
        (
            "an order reference with a space",
            "/record/order_reference",
            Some(json!("SO 1")),
        ),
        (
            "an order reference of digits only",
            "/record/order_reference",
            Some(json!("13800138000")),
        ),
    ];
    for (what, pointer, value) in changes {
        let mut payload = base.clone();
        let (parent, field) = pointer.rsplit_once('/').unwrap();
        let parent = payload.pointer_mut(parent).unwrap();
        match (value, parent) {
            (Some(value), Value::Array(items)) => items[field.parse::<usize>().unwrap()] = value,
            (Some(value), parent) => parent[field] = value,
            (None, parent) => {
                parent.as_object_mut().unwrap().remove(field);
            }
        }
        assert!(
            !validator.is_valid(&payload),
            "the schema takes {what}:\n{payload:#}"
        );
        let bytes = serde_json::to_vec(&payload).unwrap();
        assert!(
            Payload::parse(&bytes).is_err(),
            "the parser takes {what}, which the schema refuses"
        );
    }
}

/// Every record kind the ledger knows is in the schema, by its `type` tag, and nothing else.
#[test]
fn every_record_kind_is_described() {
    let schema = payload_schema();
    let record = &schema["$defs"]["Record"];
    let mut tags: Vec<&str> = record["oneOf"]
        .as_array()
        .expect("records are one of the kinds")
        .iter()
        .map(|kind| kind["properties"]["type"]["const"].as_str().expect("a tag"))
        .collect();
    tags.sort_unstable();
    let mut expected = vec![
        "accept_transfer",
        "attest_prefix",
        "bind_key",
        "close_recall",
        "commission",
        "inspect",
        "link_codes",
        "offer_transfer",
        "pack",
        "recall",
        "register_enterprise",
        "register_product",
        "revoke_key",
        "revoke_prefix",
        "rotate_key",
        "ship",
        "transfer_prefix",
        "unpack",
        "update_enterprise",
        "withdraw_transfer",
    ];
    expected.sort_unstable();
    assert_eq!(tags, expected);
}
