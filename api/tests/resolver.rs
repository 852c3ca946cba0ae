//! The GS1 Digital Link resolver over HTTP, on a real server over a real store holding the demo
//! story: what a scanned QR code or a pasted link opens (redirects, linksets, the description
//! file), how lenient and unknown links are answered, and what an anonymous client cannot make
//! it do (redirect elsewhere, build links under another host, crash on a malformed link).

mod support;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::redirect::Policy;
use serde_json::Value;
use support::{Chain, Server, assert_error, encode};
use suyuan_api::ApiLimits;
use suyuan_api::types::ModelView;
use suyuan_ledger::demo::{Demo, factory_report, who};
use suyuan_ledger::record::{Commissioning, Items, Record, TraceCode};

/// A client that shows redirects instead of following them, as a resolver's tests must.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The answer to GET `path` with `headers`: status, headers and body text.
async fn fetch(server: &Server, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = client().get(server.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value: &HeaderValue| value.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header: {:?}", self.headers))
    }

    /// The `Location` of a 307.
    #[track_caller]
    fn location(&self) -> &str {
        assert_eq!(
            self.status,
            StatusCode::TEMPORARY_REDIRECT,
            "{}: {}",
            self.status,
            self.body
        );
        self.header("location")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
}

fn lot_path() -> String {
    format!("/01/{}/10/C2601A", Demo::cable_gtin())
}

fn encoded_lot() -> String {
    encode(&format!("01/{}/10/C2601A", Demo::cable_gtin()))
}

const LINKSET: (&str, &str) = ("accept", "application/linkset+json");

#[tokio::test]
async fn a_scanned_batch_redirects_to_its_records_and_lists_every_link() {
    let server = Server::start("resolver-batch").await;
    let cable = &server.chain.demo.enterprises[who::CABLE_MAKER];

    // A phone's browser after a scan: 307 to the product page, the linkset announced.
    let scanned = fetch(
        &server,
        &lot_path(),
        &[("accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
    )
    .await;
    let page = format!("/products/{}", encoded_lot());
    assert_eq!(scanned.location(), page);
    let (status, html) = server.get(&page).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    // A program asking for JSON or anything: 307 to the records.
    let records = format!("/v1/products/{}", encoded_lot());
    for accept in ["application/json", "*/*"] {
        let answer = fetch(&server, &lot_path(), &[("accept", accept)]).await;
        assert_eq!(answer.location(), records, "{accept}");
    }
    assert_eq!(
        scanned.header("link"),
        format!(
            "<{}?linkType=linkset>; rel=\"linkset\"; type=\"application/linkset+json\"",
            lot_path()
        )
    );
    assert_eq!(scanned.header("access-control-allow-origin"), "*");
    let (status, product) = server.get(&records).await;
    assert_eq!(status, StatusCode::OK, "{product}");
    assert_eq!(
        product["code"],
        format!("01/{}/10/C2601A", Demo::cable_gtin())
    );

    // Each link type asked for by name, in either spelling; one not offered gets the default.
    let asked = [
        ("gs1:traceability", records.clone()),
        ("gs1:recallStatus", records.clone()),
        ("gs1:epcis", format!("{records}/epcis")),
        (
            "gs1:verificationService",
            format!("/v1/proofs/{}", encoded_lot()),
        ),
        (
            "https://gs1.org/voc/certificationInfo",
            format!("/v1/enterprises/{}/report", cable.profile.uscc),
        ),
        (
            "gs1:masterData",
            format!("/v1/models/{}", Demo::cable_gtin()),
        ),
        ("gs1:pip", page.clone()),
        ("gs1:smartLabel", records.clone()),
        ("gs1:nothingLikeThis", records.clone()),
    ];
    for (link_type, target) in asked {
        let path = format!("{}?linkType={}", lot_path(), encode(link_type));
        let answer = fetch(&server, &path, &[]).await;
        assert_eq!(answer.location(), target, "{link_type}");
        let (status, body) = server.get(&target).await;
        assert_eq!(status, StatusCode::OK, "{link_type} -> {target}: {body}");
    }
    // Data attributes (an expiry date) do not change what the link identifies.
    let with_expiry = fetch(&server, &format!("{}?17=301231", lot_path()), &[]).await;
    assert_eq!(with_expiry.location(), records);

    // A machine: the linkset, by Accept or by linkType, the same either way.
    let linkset = fetch(&server, &lot_path(), &[LINKSET]).await;
    assert_eq!(linkset.status, StatusCode::OK, "{}", linkset.body);
    assert_eq!(linkset.header("content-type"), "application/linkset+json");
    assert!(
        linkset
            .header("link")
            .contains("rel=\"http://www.w3.org/ns/json-ld#context\""),
        "{}",
        linkset.header("link")
    );
    let by_type = fetch(&server, &format!("{}?linkType=linkset", lot_path()), &[]).await;
    assert_eq!(by_type.body, linkset.body);
    let all = fetch(&server, &format!("{}?linkType=all", lot_path()), &[]).await;
    assert_eq!(all.body, linkset.body);

    let document = linkset.json();
    let entry = &document["linkset"][0];
    assert_eq!(
        entry["anchor"],
        format!("https://id.gs1.org/01/{}/10/C2601A", Demo::cable_gtin())
    );
    assert!(entry["itemDescription"].is_string(), "{entry}");
    let relations: Vec<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .filter(|key| key.starts_with("https://"))
        .map(String::as_str)
        .collect();
    for relation in [
        "https://gs1.org/voc/defaultLink",
        "https://gs1.org/voc/pip",
        "https://gs1.org/voc/traceability",
        "https://gs1.org/voc/recallStatus",
        "https://gs1.org/voc/certificationInfo",
        "https://gs1.org/voc/verificationService",
        "https://gs1.org/voc/epcis",
        "https://gs1.org/voc/masterData",
    ] {
        assert!(relations.contains(&relation), "{relation}: {entry}");
    }
    // Every target is absolute on this node and answers.
    for relation in relations {
        for target in entry[relation].as_array().unwrap() {
            let href = target["href"].as_str().unwrap();
            let path = href
                .strip_prefix(&server.base)
                .unwrap_or_else(|| panic!("{href} is not on {}", server.base));
            let media_type = if relation.ends_with("/pip") {
                "text/html"
            } else {
                "application/json"
            };
            assert_eq!(target["type"], media_type, "{relation}");
            assert!(target["title"].is_string());
            let (status, body) = server.get(path).await;
            assert_eq!(status, StatusCode::OK, "{relation} -> {href}: {body}");
        }
    }

    // HEAD answers as GET does, without a body.
    let head = client().head(server.url(&lot_path())).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(head.headers()["location"], records.as_str());
}

#[tokio::test]
async fn a_lenient_link_redirects_to_its_canonical_form_and_unknown_codes_walk_up_to_the_model() {
    let server = Server::start("resolver-lenient").await;
    let gtin = Demo::cable_gtin().to_string();
    let gtin13 = gtin.strip_prefix('0').expect("the demo GTIN is a GTIN-13");

    // A GTIN-13 from an old label: 307 to the 14-digit path, the link type kept.
    let short = fetch(
        &server,
        &format!("/01/{gtin13}/10/C2601A?17=301231&linkType=gs1%3Aepcis"),
        &[],
    )
    .await;
    assert_eq!(
        short.location(),
        format!("/01/{gtin}/10/C2601A?17=301231&linkType=gs1%3Aepcis")
    );

    // A batch the ledger has no record of resolves as its model: the anchor says so.
    let model = format!("/v1/models/{gtin}");
    let unknown_lot = format!("/01/{gtin}/10/NO-SUCH-LOT");
    assert_eq!(fetch(&server, &unknown_lot, &[]).await.location(), model);
    let linkset = fetch(&server, &unknown_lot, &[LINKSET]).await.json();
    assert_eq!(
        linkset["linkset"][0]["anchor"],
        format!("https://id.gs1.org/01/{gtin}")
    );
    // A bare GTIN, as a retail barcode carries: the model.
    let bare = fetch(&server, &format!("/01/{gtin}"), &[]).await;
    assert_eq!(bare.location(), model);
    let (status, body) = server.get(&model).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view: ModelView = serde_json::from_value(body).unwrap();
    let cable = &server.chain.demo.enterprises[who::CABLE_MAKER];
    assert_eq!(view.maker.uscc, cable.profile.uscc);
    assert_eq!(view.maker.name, cable.profile.name);
    assert_eq!(view.model.model_code.to_string(), gtin);
    assert!(view.recalls.is_empty() && view.recalls_complete);
    // The model view reads a GTIN in its shorter forms too.
    let (status, body) = server.get(&format!("/v1/models/{gtin13}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Nothing known at any level.
    let unregistered = "/01/09506000134352/10/ABC";
    assert_error(
        &read_answer(fetch(&server, unregistered, &[]).await),
        StatusCode::NOT_FOUND,
        "unknown_code",
    );
    assert_error(
        &server.get("/v1/models/09506000134352").await,
        StatusCode::NOT_FOUND,
        "unknown_model",
    );
    assert_error(
        &server.get("/v1/models/12345").await,
        StatusCode::BAD_REQUEST,
        "invalid_code",
    );
    assert_error(
        &read_answer(fetch(&server, "/00/106141412345678908", &[]).await),
        StatusCode::NOT_FOUND,
        "unknown_code",
    );
}

fn read_answer(answer: Answer) -> (StatusCode, Value) {
    let body = serde_json::from_str(&answer.body).unwrap_or(Value::String(answer.body));
    (answer.status, body)
}

#[tokio::test]
async fn an_item_resolves_only_under_its_own_batch() {
    let server = Server::start("resolver-item").await;
    let demo = &server.chain.demo;
    let gas = &demo.enterprises[who::GAS_APPLIANCE_MAKER];
    let gtin = Demo::cooker_gtin();
    let serial = "G26SN00100";
    // Block 5: the gas-appliance maker commissions an item of its batch G2601B.
    server.chain.commit(
        5,
        vec![server.chain.sign(
            &gas.key,
            10,
            Record::Commission(Commissioning {
                uscc: gas.profile.uscc.clone(),
                model_code: gtin.clone().into(),
                items: Items::Serialised {
                    codes: vec![TraceCode::Item {
                        gtin: gtin.clone(),
                        serial: serial.parse().unwrap(),
                    }],
                    batch: Some(TraceCode::Lot {
                        gtin: gtin.clone(),
                        lot: "G2601B".parse().unwrap(),
                    }),
                },
                production_date: "2026-01-04".parse().unwrap(),
                factory_number: None,
                inspection_report: factory_report("NB-FI-2601-009", "Quality department"),
            }),
        )],
    );
    let item = format!("/v1/products/{}", encode(&format!("01/{gtin}/21/{serial}")));
    let model = format!("/v1/models/{gtin}");
    for path in [
        format!("/01/{gtin}/21/{serial}"),
        format!("/01/{gtin}/10/G2601B/21/{serial}"),
    ] {
        assert_eq!(fetch(&server, &path, &[]).await.location(), item, "{path}");
    }
    // A label naming another batch for the serial does not reach the item's records.
    let forged = format!("/01/{gtin}/10/G2601Z/21/{serial}");
    assert_eq!(fetch(&server, &forged, &[]).await.location(), model);
    let linkset = fetch(&server, &forged, &[LINKSET]).await.json();
    assert_eq!(
        linkset["linkset"][0]["anchor"],
        format!("https://id.gs1.org/01/{gtin}")
    );
}

#[tokio::test]
async fn a_party_gln_resolves_to_the_enterprise_claiming_it() {
    let server = Server::start("resolver-party").await;
    let demo = &server.chain.demo;
    let cable = &demo.enterprises[who::CABLE_MAKER];
    let mut profile = cable.profile.clone();
    profile.gln = Some("6950123000019".parse().unwrap());
    server.chain.commit(
        5,
        vec![server.chain.sign(
            &demo.bureau,
            100,
            Record::UpdateEnterprise(suyuan_ledger::record::UpdateEnterprise {
                enterprise: profile,
            }),
        )],
    );
    let uscc = &cable.profile.uscc;
    let registration = format!("/v1/enterprises/{uscc}");
    for key in ["417", "414"] {
        let path = format!("/{key}/6950123000019");
        assert_eq!(
            fetch(&server, &path, &[]).await.location(),
            registration,
            "{key}"
        );
        let epcis = fetch(&server, &format!("{path}?linkType=gs1:epcis"), &[]).await;
        assert_eq!(epcis.location(), format!("{registration}/epcis"));
        let linkset = fetch(&server, &path, &[LINKSET]).await.json();
        let entry = &linkset["linkset"][0];
        assert_eq!(entry["anchor"], format!("https://id.gs1.org{path}"));
        assert_eq!(
            entry["https://gs1.org/voc/registryEntry"][0]["href"],
            format!("{}{registration}", server.base)
        );
        assert_eq!(
            entry["https://gs1.org/voc/certificationInfo"][0]["href"],
            format!("{}{registration}/report", server.base)
        );
        assert_eq!(
            entry.get("https://gs1.org/voc/locationInfo").is_some(),
            key == "414"
        );
    }
    assert_error(
        &read_answer(fetch(&server, "/417/6950123000026", &[]).await),
        StatusCode::NOT_FOUND,
        "unknown_party",
    );
}

#[tokio::test]
async fn malformed_links_are_refused_and_nothing_redirects_off_the_node() {
    let server = Server::start("resolver-attacks").await;
    let gtin = Demo::cable_gtin();
    let refused = [
        "/01/123".to_owned(),
        format!("/01/{gtin}/99/x"),
        format!("/01/{gtin}/10/%zz"),
        format!("/01/{gtin}/10/C2601A?linkType=%zz"),
        format!("/01/{gtin}/10/C2601A?10=ABC"),
        // A stem before the primary key: the parser would read /01/x as a stem.
        "/01/x/00/106141412345678908".to_owned(),
        format!("/01/{gtin}/10/{}", "A".repeat(5_000)),
        "/417/6950123000018".to_owned(),
    ];
    for path in &refused {
        assert_error(
            &read_answer(fetch(&server, path, &[]).await),
            StatusCode::BAD_REQUEST,
            "invalid_digital_link",
        );
    }

    // A link type that is a URL elsewhere is no link type: the default link, on this node.
    for hostile in [
        "https://evil.example/",
        "//evil.example",
        "gs1:epcis\r\nSet-Cookie: x=1",
    ] {
        let path = format!("{}?linkType={}", lot_path(), encode(hostile));
        let answer = fetch(&server, &path, &[]).await;
        assert_eq!(
            answer.location(),
            format!("/v1/products/{}", encoded_lot()),
            "{hostile:?}"
        );
        assert!(answer.headers.get("set-cookie").is_none());
    }
    // A lenient link's redirect is built from the parsed link, whatever the request held.
    let gtin13 = gtin.to_string()[1..].to_owned();
    let sneaky = fetch(
        &server,
        &format!("/01/{gtin13}/10/C2601A?linkType=%2F%2Fevil.example"),
        &[],
    )
    .await;
    assert!(
        sneaky
            .location()
            .starts_with(&format!("/01/{gtin}/10/C2601A?")),
        "{}",
        sneaky.location()
    );

    // A Host header that is more than a host and a port builds no links.
    let bad_host = fetch(&server, &lot_path(), &[LINKSET, ("host", "evil.example/x")]).await;
    assert_error(
        &read_answer(bad_host),
        StatusCode::BAD_REQUEST,
        "invalid_host",
    );
    // Another host's name changes the absolute links only, never the anchor or a redirect.
    let other_host = fetch(&server, &lot_path(), &[LINKSET, ("host", "other.example")]).await;
    let entry = &other_host.json()["linkset"][0];
    assert_eq!(
        entry["anchor"],
        format!("https://id.gs1.org/01/{gtin}/10/C2601A")
    );
    let redirect = fetch(&server, &lot_path(), &[("host", "other.example")]).await;
    assert!(redirect.location().starts_with("/v1/"));
}

#[tokio::test]
async fn the_operators_public_url_roots_the_resolver_whatever_the_host() {
    let chain = Chain::new("resolver-public-url");
    let server = Server::serve_at(
        chain,
        ApiLimits::default(),
        None,
        Some("https://trace.example.org".into()),
    )
    .await;
    let description = fetch(
        &server,
        "/.well-known/gs1resolver",
        &[("host", "other.example")],
    )
    .await;
    assert_eq!(description.status, StatusCode::OK, "{}", description.body);
    let description = description.json();
    assert_eq!(description["resolverRoot"], "https://trace.example.org");
    let keys = description["supportedPrimaryKeys"].as_array().unwrap();
    for key in ["00", "01", "414", "417"] {
        assert!(keys.contains(&Value::from(key)), "{description}");
    }
    assert_eq!(
        description["supportedLinkType"][0]["namespace"],
        "https://gs1.org/voc/"
    );
    let linkset = fetch(
        &server,
        &lot_path(),
        &[LINKSET, ("host", "other.example/x")],
    )
    .await;
    let entry = &linkset.json()["linkset"][0];
    let href = entry["https://gs1.org/voc/defaultLink"][0]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        href,
        format!("https://trace.example.org/v1/products/{}", encoded_lot())
    );

    // Without one, the root is the address the client used.
    let plain = Server::start("resolver-host-root").await;
    let (status, description) = plain.get("/.well-known/gs1resolver").await;
    assert_eq!(status, StatusCode::OK, "{description}");
    assert_eq!(description["resolverRoot"], plain.base);
}
