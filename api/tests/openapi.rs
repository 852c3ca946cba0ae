//! `/openapi.json`: an OpenAPI 3 document that lists exactly the routes the router serves, each
//! of which answers, and whose schemas describe the JSON the server really sends.

mod support;

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{COMMITTED_BLOCKS, Server, encode};
use suyuan_api::schemas::CODE_KINDS;
use suyuan_api::served_routes;
use suyuan_ledger::codes::inspect::CodeKind;
use suyuan_ledger::demo::Demo;

async fn document(server: &Server) -> Value {
    let (status, document) = server.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "{document}");
    document
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_the_router_serves() {
    let server = Server::start("openapi-routes").await;
    let document = document(&server).await;
    let version = document["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3."), "{version}");
    assert!(document["info"]["title"].is_string());
    assert!(document["info"]["version"].is_string());

    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().unwrap() {
            documented.insert((method.clone(), path.clone()));
            let responses = operation["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path} documents no answer");
            assert!(
                operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} has no tag"
            );
            assert!(
                operation["summary"].is_string() || operation["description"].is_string(),
                "{method} {path} is not described"
            );
        }
    }
    let served: BTreeSet<(String, String)> = served_routes()
        .into_iter()
        .map(|route| (route.method.to_owned(), route.path.to_owned()))
        .collect();
    assert_eq!(
        documented.difference(&served).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not served"
    );
    assert_eq!(
        served.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "served but not documented"
    );
    assert!(served.contains(&("get".into(), "/openapi.json".into())));
}

/// A path with its parameters filled with values the demo chain knows.
fn concrete(path: &str, server: &Server) -> String {
    let cable_maker = server.chain.demo.enterprises[0].profile.uscc.to_string();
    let lot = format!("01/{}/10/C2601A", Demo::cable_gtin());
    path.replace("{height}", "2")
        .replace(
            "{id}",
            &server.chain.story[0][0].id(server.chain.binding()).to_hex(),
        )
        .replace("{code}", &encode(&lot))
        .replace("{*key}", &format!("{}/10/C2601A", Demo::cable_gtin()))
        .replace("{uscc}", &cable_maker)
}

#[tokio::test]
async fn every_served_route_answers_at_its_documented_path() {
    let server = Server::start("openapi-answers").await;
    for route in served_routes() {
        let url = server.url(&concrete(route.path, &server));
        let request = match route.method {
            "get" => server.http.get(url),
            "post" => server.http.post(url).json(&json!([])),
            other => panic!("a method this test does not know: {other}"),
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_ne!(status, StatusCode::NOT_FOUND, "{route:?}: {body}");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{route:?}: {body}");
        assert!(status.as_u16() < 500, "{route:?}: {status} {body}");
    }
}

/// Checks `value` against `schema` (resolving `#/components/schemas/` references in
/// `document`): types, required and undeclared properties, items, enums, `oneOf`, `allOf`.
fn check(document: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .ok_or_else(|| format!("{at}: unexpected $ref {reference}"))?;
        let target = &document["components"]["schemas"][name];
        if target.is_null() {
            return Err(format!("{at}: $ref to missing schema {name}"));
        }
        return check(document, target, value, at);
    }
    if let Some(all) = schema["allOf"].as_array() {
        // Each part may declare only some of the properties: check types, not closure.
        for part in all {
            check_open(document, part, value, at)?;
        }
        return Ok(());
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(choices) = schema[key].as_array() {
            let errors: Vec<String> = choices
                .iter()
                .filter_map(|choice| check(document, choice, value, at).err())
                .collect();
            let matching = choices.len() - errors.len();
            let fits = if key == "oneOf" {
                matching == 1
            } else {
                matching >= 1
            };
            return if fits {
                Ok(())
            } else {
                Err(format!(
                    "{at}: {matching} of the {key} choices fit; the others: {errors:?}"
                ))
            };
        }
    }
    check_type(schema, value, at)?;
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(expected) = schema.get("const")
        && value != expected
    {
        return Err(format!("{at}: {value} is not {expected}"));
    }
    match value {
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                check(document, &schema["items"], item, &format!("{at}[{index}]"))?;
            }
        }
        Value::Object(object) => check_object(document, schema, object, at, true)?,
        _ => {}
    }
    Ok(())
}

/// [`check`], letting an object have properties the schema does not declare.
fn check_open(document: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(document, schema);
    match (schema.get("properties"), value) {
        (Some(_), Value::Object(object)) => {
            check_type(schema, value, at)?;
            check_object(document, schema, object, at, false)
        }
        _ => check(document, schema, value, at),
    }
}

/// `schema`, or the schema its `$ref` names.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolve(document, &document["components"]["schemas"][name])
        }
        None => schema,
    }
}

fn check_object(
    document: &Value,
    schema: &Value,
    object: &serde_json::Map<String, Value>,
    at: &str,
    closed: bool,
) -> Result<(), String> {
    let empty = serde_json::Map::new();
    let properties = schema["properties"].as_object().unwrap_or(&empty);
    for required in schema["required"].as_array().into_iter().flatten() {
        let name = required.as_str().unwrap();
        if !object.contains_key(name) {
            return Err(format!("{at}: required property {name} is missing"));
        }
    }
    for (name, property) in object {
        match properties.get(name) {
            Some(property_schema) => {
                check(document, property_schema, property, &format!("{at}.{name}"))?
            }
            None if schema["additionalProperties"].is_object() => check(
                document,
                &schema["additionalProperties"],
                property,
                &format!("{at}.{name}"),
            )?,
            None if closed && !properties.is_empty() => {
                return Err(format!("{at}: property {name} is not in the schema"));
            }
            None => {}
        }
    }
    Ok(())
}

fn check_type(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()),
    };
    let fits = types.iter().any(|kind| match *kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    });
    if fits {
        Ok(())
    } else {
        Err(format!("{at}: {value} is not of type {types:?}"))
    }
}

/// The JSON schema of `method path`'s answer with `status`.
fn response_schema<'a>(document: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let schema = &document["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]
        ["schema"];
    assert!(
        !schema.is_null(),
        "{method} {path} documents no JSON {status}"
    );
    schema
}

#[tokio::test]
async fn the_schemas_describe_what_the_server_sends() {
    let server = Server::start("openapi-schemas").await;
    let document = document(&server).await;
    let committed = server.chain.story[2][1].id(server.chain.binding()).to_hex();
    let lot = encode(&format!("01/{}/10/C2601A", Demo::cable_gtin()));
    let link = encode(&format!(
        "https://id.gs1.org/01/{}/10/C2601A?17=270101",
        Demo::cable_gtin()
    ));
    let next = &server.chain.story[COMMITTED_BLOCKS as usize];
    let cable = &server.chain.demo.enterprises[0].profile.uscc;
    let gas = &server.chain.demo.enterprises[1].profile.uscc;
    let stranger = suyuan_ledger::demo::uscc("91110000MA01XYK12");
    let reads = [
        ("/v1/status", "/v1/status".to_owned(), 200),
        ("/v1/blocks/latest", "/v1/blocks/latest".to_owned(), 200),
        ("/v1/blocks/{height}", "/v1/blocks/3".to_owned(), 200),
        ("/v1/blocks/{height}", "/v1/blocks/99".to_owned(), 404),
        ("/v1/blocks/{height}", "/v1/blocks/x".to_owned(), 400),
        (
            "/v1/blocks/{height}/transactions",
            "/v1/blocks/3/transactions?limit=2".to_owned(),
            200,
        ),
        (
            "/v1/transactions/{id}",
            format!("/v1/transactions/{committed}"),
            200,
        ),
        ("/v1/products/{code}", format!("/v1/products/{lot}"), 200),
        ("/v1/codes/{code}", format!("/v1/codes/{link}"), 200),
        (
            "/v1/codes/{code}",
            "/v1/codes/1234567890128".to_owned(),
            200,
        ),
        (
            "/v1/codes/{code}",
            "/v1/codes/09520123456789".to_owned(),
            400,
        ),
        (
            "/v1/enterprises/{uscc}",
            format!("/v1/enterprises/{cable}"),
            200,
        ),
        (
            "/v1/enterprises/{uscc}",
            format!("/v1/enterprises/{stranger}"),
            404,
        ),
        (
            "/v1/enterprises/{uscc}",
            "/v1/enterprises/not-a-uscc".to_owned(),
            400,
        ),
        (
            "/v1/enterprises/{uscc}/records",
            format!("/v1/enterprises/{cable}/records?limit=2"),
            200,
        ),
        (
            "/v1/enterprises/{uscc}/report",
            format!("/v1/enterprises/{cable}/report"),
            200,
        ),
        (
            "/v1/enterprises/{uscc}/report",
            format!("/v1/enterprises/{gas}/report"),
            200,
        ),
        (
            "/v1/enterprises/{uscc}/score",
            format!("/v1/enterprises/{gas}/score"),
            200,
        ),
        ("/v1/scores", "/v1/scores".to_owned(), 200),
        ("/v1/scores", "/v1/scores?registrar=Nobody".to_owned(), 404),
        ("/v1/proofs/{code}", format!("/v1/proofs/{lot}"), 200),
        (
            "/v1/proofs/{code}",
            format!(
                "/v1/proofs/{}",
                encode(&format!("01/{}/10/NONE", Demo::cable_gtin()))
            ),
            200,
        ),
        (
            "/v1/proofs/{code}",
            "/v1/proofs/09520123456789".to_owned(),
            400,
        ),
        (
            "/v1/proofs/consistency",
            "/v1/proofs/consistency?from=2".to_owned(),
            200,
        ),
        (
            "/v1/proofs/consistency",
            "/v1/proofs/consistency?from=0".to_owned(),
            400,
        ),
        (
            "/v1/proofs/consistency",
            "/v1/proofs/consistency?from=99".to_owned(),
            404,
        ),
    ];
    for (template, path, status) in reads {
        let (answer, body) = server.get(&path).await;
        assert_eq!(answer.as_u16(), status, "{path}: {body}");
        let schema = response_schema(&document, "get", template, status);
        check(&document, schema, &body, "$").unwrap_or_else(|error| panic!("{path}: {error}"));
    }

    let (status, accepted) = server.post_json("/v1/transactions", &next[0]).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let schema = response_schema(&document, "post", "/v1/transactions", 202);
    check(&document, schema, &accepted, "$").unwrap();
    let (_, pending) = server
        .get(&format!(
            "/v1/transactions/{}",
            accepted["id"].as_str().unwrap()
        ))
        .await;
    let schema = response_schema(&document, "get", "/v1/transactions/{id}", 200);
    check(&document, schema, &pending, "$").unwrap();
    // A batch with an accepted and a refused envelope; a replay as an error body with `rule`
    // details is not needed: 409 `replay` carries none.
    let (status, batch) = server
        .post_json(
            "/v1/transactions/batch",
            &[next[1].clone(), next[0].clone()],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{batch}");
    let schema = response_schema(&document, "post", "/v1/transactions/batch", 200);
    check(&document, schema, &batch, "$").unwrap_or_else(|error| panic!("{batch}: {error}"));
    let (status, refused) = server.post_json("/v1/transactions", &next[0]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let schema = response_schema(&document, "post", "/v1/transactions", 409);
    check(&document, schema, &refused, "$").unwrap();
}

#[tokio::test]
async fn the_ledger_stand_ins_match_the_ledgers_json() {
    let server = Server::start("openapi-stand-ins").await;
    let document = document(&server).await;
    let schemas = &document["components"]["schemas"];
    let block = server.chain.store.block(1).unwrap().unwrap();
    let envelope = &block.body.transactions[0];
    let report = suyuan_ledger::codes::inspect::inspect("(01)09520123456788(10)A");
    for (name, value) in [
        ("Header", serde_json::to_value(&block.header).unwrap()),
        ("Envelope", serde_json::to_value(envelope).unwrap()),
        ("AiValue", serde_json::to_value(&report.ais[0]).unwrap()),
        ("ReportRef", commissioning_report(&server)),
    ] {
        let declared: BTreeSet<&str> = schemas[name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("no schema {name}"))
            .keys()
            .map(String::as_str)
            .collect();
        let real: BTreeSet<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(declared, real, "{name}");
        check(&document, &schemas[name], &value, name).unwrap();
    }
    // Every documented kind is one the ledger reads back.
    for kind in CODE_KINDS {
        serde_json::from_value::<CodeKind>(json!(kind)).unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    assert_eq!(schemas["CodeKind"]["enum"], json!(CODE_KINDS));
    for kind in suyuan_api::schemas::ENTERPRISE_KINDS {
        serde_json::from_value::<suyuan_ledger::record::EnterpriseKind>(json!(kind))
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
}

/// The inspection report a commissioning of the demo story names, as the ledger writes it.
fn commissioning_report(server: &Server) -> Value {
    let envelope = &server.chain.story[2][0];
    let payload = suyuan_ledger::tx::Payload::parse(&envelope.payload).unwrap();
    let suyuan_ledger::record::Record::Commission(commission) = payload.record else {
        panic!("the story's block 3 starts with a commissioning");
    };
    serde_json::to_value(commission.inspection_report).unwrap()
}

/// What a client signs is described in full, not by a placeholder: the document's `Payload` is
/// the ledger's generated schema, with every record kind, and a real JSON Schema validator
/// reading the served document takes every payload of the demo chain and refuses a broken one.
#[tokio::test]
async fn the_payload_schema_describes_every_record_kind() {
    let server = Server::start("openapi-payload").await;
    let document = document(&server).await;
    let schemas = &document["components"]["schemas"];
    assert_eq!(schemas["Payload"]["required"], json!(["nonce", "record"]));
    assert_eq!(
        schemas["Payload"]["properties"]["record"]["$ref"],
        "#/components/schemas/Record"
    );
    let kinds = schemas["Record"]["oneOf"].as_array().expect("record kinds");
    assert_eq!(kinds.len(), 20, "every record kind");

    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "#/components/schemas/Payload",
        "components": {"schemas": schemas},
    });
    let validator = jsonschema::draft202012::new(&root).expect("the served schemas compile");
    let mut checked = 0;
    for envelope in server.chain.story.iter().flatten() {
        let payload: Value = serde_json::from_slice(&envelope.payload).unwrap();
        if let Some(error) = validator.iter_errors(&payload).next() {
            panic!("{error} at {}: {payload:#}", error.instance_path());
        }
        checked += 1;
    }
    assert!(checked > 10, "checked {checked}");
    let mut broken: Value = serde_json::from_slice(&server.chain.story[0][0].payload).unwrap();
    broken["record"]["unexpected"] = json!(true);
    assert!(!validator.is_valid(&broken), "{broken}");
}
