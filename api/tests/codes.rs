//! Inspecting codes over HTTP: every kind, GS1 Digital Link URIs percent-encoded in the path,
//! the pointer to a code's latest record, and invalid codes.

mod support;

use reqwest::StatusCode;
use support::{Server, assert_error, encode};
use suyuan_api::types::{CertificateLookup, CodeView};
use suyuan_api::views::Validity;
use suyuan_ledger::codes::inspect::{CodeKind, MAX_INSPECT_BYTES};
use suyuan_ledger::demo::{Demo, who};

/// The cable lot of the demo story as a GS1 Digital Link URI with a data attribute, as a
/// scanned QR code gives it.
fn cable_lot_link() -> String {
    format!(
        "https://id.gs1.org/01/{}/10/C2601A?17=270101",
        Demo::cable_gtin()
    )
}

#[tokio::test]
async fn an_encoded_digital_link_is_taken_apart_and_points_at_its_latest_record() {
    let server = Server::start("codes-link").await;
    let (status, body) = server
        .get(&format!("/v1/codes/{}", encode(&cable_lot_link())))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view: CodeView = serde_json::from_value(body.clone()).unwrap();
    let gtin = Demo::cable_gtin().to_string();
    assert_eq!(view.input, cable_lot_link());
    assert_eq!(view.kind, CodeKind::Gs1DigitalLink);
    assert_eq!(view.normalized, cable_lot_link());
    assert_eq!(view.check_digit_valid, Some(true));
    assert_eq!(view.fields["gtin14"], gtin);
    assert_eq!(view.fields["lot"], "C2601A");
    let ais: Vec<_> = view
        .ais
        .iter()
        .map(|ai| (ai.ai.as_str(), ai.value.as_str()))
        .collect();
    assert_eq!(
        ais,
        [("01", gtin.as_str()), ("10", "C2601A"), ("17", "270101")]
    );
    let trace_code = format!("01/{gtin}/10/C2601A");
    assert_eq!(view.trace_code.unwrap().to_string(), trace_code);

    // The pointer agrees with the product endpoint it links to.
    let latest = view.latest.expect("the cable lot has records");
    assert_eq!(
        latest.product,
        format!("/v1/products/{}", encode(&trace_code))
    );
    let (status, product) = server.get(&latest.product).await;
    assert_eq!(status, StatusCode::OK, "{product}");
    assert_eq!(product["latest"]["id"], latest.id.to_hex());
    assert_eq!(product["latest"]["height"], latest.height);
    assert_eq!(product["latest"]["index"], latest.index);
    assert_eq!(
        product["latest"]["payload"]["record"]["type"],
        latest.record_type
    );
    assert_eq!(latest.record_type, "ship");
}

#[tokio::test]
async fn a_digital_link_under_another_host_with_a_short_gtin_is_normalised() {
    let server = Server::start("codes-link-short").await;
    // A GTIN-13 in the path, an escaped serial, a brand's own host and stem.
    let link = "https://brand.example/qr/01/6958765432106/21/SN%2F7";
    let (status, body) = server.get(&format!("/v1/codes/{}", encode(link))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "gs1_digital_link");
    assert_eq!(
        body["normalized"],
        "https://id.gs1.org/01/06958765432106/21/SN%2F7"
    );
    assert_eq!(body["fields"]["serial"], "SN/7");
    assert_eq!(body["trace_code"], "01/06958765432106/21/SN%2F7");
    assert_eq!(body["latest"], serde_json::Value::Null, "{body}");
}

#[tokio::test]
async fn each_kind_of_code_is_recognised() {
    let server = Server::start("codes-kinds").await;
    let cable_maker = server.chain.demo.enterprises[who::CABLE_MAKER]
        .profile
        .uscc
        .to_string();
    let cases = [
        (cable_maker.as_str(), "uscc", Some(true)),
        ("96385074", "gtin", Some(true)),
        ("2016010903878416", "ccc_certificate", None),
        ("(鄂)XK12-001-00018", "production_licence", None),
        ("88.608.24161301/SN-0001", "handle", None),
        ("ecode:10001123456789", "ecode", None),
        ("MA.156.M0.100204.13351764.L2601", "ecode", None),
        (
            "(01)09520123456788(10)ABC1",
            "gs1_element_string",
            Some(true),
        ),
        ("urn:epc:id:sgtin:0614141.812345.6789", "epc_urn", None),
        ("00/123456789012345675", "trace_code", Some(true)),
    ];
    for (code, kind, check) in cases {
        let (status, body) = server.get(&format!("/v1/codes/{}", encode(code))).await;
        assert_eq!(status, StatusCode::OK, "{code}: {body}");
        assert_eq!(body["kind"], kind, "{code}: {body}");
        assert_eq!(
            body["check_digit_valid"],
            serde_json::json!(check),
            "{code}"
        );
        assert!(body["normalized"].is_string(), "{code}: {body}");
        assert!(body["fields"].is_object(), "{code}: {body}");
    }

    // A GTIN-13 is also a GLN; the GTIN is normalised to 14 digits and has no trace code.
    let (status, body) = server.get("/v1/codes/6958765432106").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view: CodeView = serde_json::from_value(body).unwrap();
    assert_eq!(
        (view.kind, view.normalized.as_str()),
        (CodeKind::Gtin, "06958765432106")
    );
    assert_eq!(view.also_valid_as, [CodeKind::Gln]);
    assert_eq!(view.fields["check_digit"], "6");
    assert_eq!((view.trace_code, view.latest), (None, None));
}

#[tokio::test]
async fn a_trace_code_in_any_form_finds_the_same_latest_record() {
    let server = Server::start("codes-forms").await;
    let gtin = Demo::cooker_gtin();
    let forms = [
        format!("01/{gtin}/21/G26SN00003"),
        format!("(01){gtin}(21)G26SN00003"),
        format!("https://id.gs1.org/01/{gtin}/21/G26SN00003"),
    ];
    let mut latest = Vec::new();
    for form in &forms {
        let (status, body) = server.get(&format!("/v1/codes/{}", encode(form))).await;
        assert_eq!(status, StatusCode::OK, "{form}: {body}");
        assert_eq!(body["trace_code"], forms[0], "{body}");
        assert!(body["latest"].is_object(), "{form}: {body}");
        latest.push(body["latest"].clone());
    }
    assert!(
        latest.windows(2).all(|pair| pair[0] == pair[1]),
        "{latest:?}"
    );
    assert_eq!(latest[0]["record_type"], "commission");

    // A valid code no record names yet.
    let unseen = format!("01/{gtin}/21/NEVER");
    let (status, body) = server.get(&format!("/v1/codes/{}", encode(&unseen))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["latest"], serde_json::Value::Null);
}

#[tokio::test]
async fn invalid_codes_are_400_with_the_kind_and_the_check_digit_at_fault() {
    let server = Server::start("codes-invalid").await;
    for (code, kind, check) in [
        ("09520123456789", "gtin", Some(false)),
        ("91350100M000100Y4Z", "uscc", Some(false)),
        (
            "https://id.gs1.org/01/09520123456789/10/ABC1",
            "gs1_digital_link",
            Some(false),
        ),
        ("(01)09520123456788(10)", "gs1_element_string", None),
        (
            "https://id.gs1.org/02/09520123456788",
            "gs1_digital_link",
            None,
        ),
        ("01/09520123456788/10/批号", "trace_code", None),
        ("hello", "unknown", None),
    ] {
        let response = server.get(&format!("/v1/codes/{}", encode(code))).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_code");
        let body = &response.1;
        assert_eq!(body["field"], "code", "{code}: {body}");
        assert_eq!(body["kind"], kind, "{code}: {body}");
        assert_eq!(
            body["check_digit_valid"],
            serde_json::json!(check),
            "{code}"
        );
    }
    let long = "1".repeat(MAX_INSPECT_BYTES + 1);
    let response = server.get(&format!("/v1/codes/{long}")).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_code");
    // An unencoded URI is several path segments: no such endpoint.
    let response = server
        .get("/v1/codes/https://id.gs1.org/01/09520123456788")
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, "not_found");
}

/// The cable maker's CCC certificate: in its enrolment and in its cable model's registration.
const CABLE_CERTIFICATE: &str = "2024010105123456";

#[tokio::test]
async fn a_ccc_certificate_finds_its_holder_and_the_models_certified_under_it() {
    let server = Server::start("codes-certificate").await;
    let cable = &server.chain.demo.enterprises[who::CABLE_MAKER].profile;
    let path = format!("/v1/certificates/{CABLE_CERTIFICATE}");
    let (status, body) = server.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let lookup: CertificateLookup = serde_json::from_value(body).unwrap();
    assert_eq!(lookup.number.to_string(), CABLE_CERTIFICATE);
    assert_eq!(lookup.holders.len(), 1, "{:?}", lookup.holders);
    assert_eq!(lookup.holders[0].uscc, cable.uscc);
    assert_eq!(lookup.holders[0].certificate.validity, Validity::Valid);
    let models: Vec<_> = lookup
        .models
        .iter()
        .map(|model| (model.model_code.clone(), model.certified_now))
        .collect();
    assert_eq!(models, [(Demo::cable_gtin().into(), true)]);
    let types: Vec<_> = lookup
        .records
        .iter()
        .map(|tx| tx.payload.record.type_name())
        .collect();
    assert_eq!(types, ["register_enterprise", "register_product"]);
    assert_eq!(lookup.next, None);

    // One record a page: the enrolment, then the registration.
    let (status, first) = server.get(&format!("{path}?limit=1")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["holders"].as_array().unwrap().len(), 1);
    assert_eq!(first["models"], serde_json::json!([]));
    let next = first["next"].as_str().expect("a second page");
    let (status, second) = server.get(&format!("{path}?limit=1&after={next}")).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(
        second["models"][0]["model_code"],
        Demo::cable_gtin().to_string()
    );
    assert_eq!(second["next"], serde_json::Value::Null);

    // Inspecting the number points at the lookup.
    let (status, body) = server.get(&format!("/v1/codes/{CABLE_CERTIFICATE}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view: CodeView = serde_json::from_value(body).unwrap();
    assert_eq!(view.kind, CodeKind::CccCertificate);
    let latest = view.latest.expect("records name the certificate");
    assert_eq!(
        (latest.record_type.as_str(), latest.product),
        ("register_product", path)
    );
}

#[tokio::test]
async fn an_unknown_or_malformed_certificate_is_a_typed_error() {
    let server = Server::start("codes-certificate-errors").await;
    // Well formed, but no record names it.
    let unknown = server.get("/v1/certificates/2025010105999999").await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "unknown_certificate");
    for malformed in ["202401010512345", "2024010105123456X", "1999010105123456"] {
        let response = server.get(&format!("/v1/certificates/{malformed}")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_certificate");
        assert_eq!(response.1["field"], "number", "{}", response.1);
    }
    let response = server
        .get(&format!("/v1/certificates/{CABLE_CERTIFICATE}?limit=0"))
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_query");
}

/// A GS1 code's EPC URN splits it where the company prefix its holder holds ends: a Digital
/// Link, a trace code and the URN itself agree; under no held prefix there is none, since a
/// Digital Link does not say where the prefix ends.
#[tokio::test]
async fn a_gs1_code_names_its_epc_where_a_held_prefix_splits_it() {
    let server = Server::start("codes-epc").await;
    let urn = "urn:epc:class:lgtin:6950123.045001.C2601A";
    let trace_code = format!("01/{}/10/C2601A", Demo::cable_gtin());
    for input in [cable_lot_link(), trace_code, urn.to_owned()] {
        let (status, body) = server.get(&format!("/v1/codes/{}", encode(&input))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let view: CodeView = serde_json::from_value(body).unwrap();
        assert_eq!(view.epc.as_deref(), Some(urn), "{input}");
    }
    let unheld = "https://id.gs1.org/01/09520123456788/21/X1";
    let (status, body) = server.get(&format!("/v1/codes/{}", encode(unheld))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view: CodeView = serde_json::from_value(body).unwrap();
    assert_eq!(view.epc, None);
}
