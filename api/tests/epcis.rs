//! EPCIS over HTTP on a real store: a product's history as an EPCIS document GS1's schema
//! accepts, the simple event query by code, by business step page after page through the
//! `Link` header, and refusals of what the query does not support.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::{Server, encode};
use suyuan_epcis::document::check_schema;
use suyuan_ledger::demo::Demo;

/// GETs `path`, checking the EPCIS version headers; the status, the body and the next page's
/// path from the `Link` header.
async fn get(server: &Server, path: &str) -> (StatusCode, Value, Option<String>) {
    let response = server.http.get(server.url(path)).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap();
    if status == StatusCode::OK {
        assert_eq!(headers["GS1-EPCIS-Version"], "2.0.0", "{path}");
        assert_eq!(headers["GS1-CBV-Version"], "2.0.0", "{path}");
    }
    let next = headers.get("link").map(|link| {
        let link = link.to_str().unwrap();
        assert!(link.ends_with(">; rel=\"next\""), "{link}");
        link[1..link.find('>').unwrap()].to_owned()
    });
    (status, body, next)
}

fn events(document: &Value) -> Vec<Value> {
    let list = document
        .get("type")
        .map(|_| document)
        .unwrap_or_else(|| panic!("not an EPCIS document: {document}"))
        .pointer("/epcisBody/eventList")
        .or_else(|| document.pointer("/epcisBody/queryResults/resultsBody/eventList"))
        .unwrap();
    list.as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lots_history_is_an_epcis_document_and_the_query_finds_it_by_either_identifier() {
    let server = Server::start("epcis-lot").await;
    server.chain.commit(5, server.chain.story[4].clone());
    let lot = format!("01/{}/10/C2601A", Demo::cable_gtin());

    let (status, document, _) = get(&server, &format!("/v1/products/{}/epcis", encode(&lot))).await;
    assert_eq!(status, StatusCode::OK, "{document}");
    check_schema(&document).unwrap();
    assert_eq!(document["type"], "EPCISDocument");
    let history = events(&document);
    let steps: Vec<&str> = history
        .iter()
        .map(|event| event["bizStep"].as_str().unwrap())
        .collect();
    assert_eq!(steps[0], "commissioning", "{steps:?}");
    assert!(steps.contains(&"shipping"), "{steps:?}");
    // The lot is a class: the cable maker holds its company prefix, so it is an LGTIN URN.
    let class = history[0]["quantityList"][0]["epcClass"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(class.starts_with("urn:epc:class:lgtin:"), "{class}");

    // The query by the URN, and by the same lot as a Digital Link, finds the same events.
    for identifier in [class.clone(), format!("https://id.gs1.org/{lot}")] {
        let path = format!("/epcis/events?MATCH_anyEPC={}", encode(&identifier));
        let (status, answer, next) = get(&server, &path).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        check_schema(&answer).unwrap();
        assert_eq!(answer["type"], "EPCISQueryDocument");
        assert_eq!(events(&answer), history, "{identifier}");
        assert_eq!(next, None);
    }
    // Page by page through the index, one event at a time.
    let mut paged = Vec::new();
    let mut path = Some(format!(
        "/epcis/events?MATCH_anyEPC={}&perPage=1",
        encode(&class)
    ));
    while let Some(here) = path {
        let (status, answer, next) = get(&server, &here).await;
        assert_eq!(status, StatusCode::OK, "{here}: {answer}");
        let page = events(&answer);
        assert!(page.len() <= 1, "{here}");
        paged.extend(page);
        path = next;
    }
    assert_eq!(paged, history);
    let path = format!(
        "/epcis/events?MATCH_epcClass={}&EQ_bizStep=shipping",
        encode(&class)
    );
    let (_, answer, _) = get(&server, &path).await;
    let shipped = events(&answer);
    assert!(!shipped.is_empty());
    assert!(shipped.iter().all(|event| event["bizStep"] == "shipping"));

    // An enterprise's events.
    let cable = &server.chain.demo.enterprises[0].profile.uscc;
    let (status, document, _) = get(&server, &format!("/v1/enterprises/{cable}/epcis")).await;
    assert_eq!(status, StatusCode::OK, "{document}");
    check_schema(&document).unwrap();
    assert!(
        events(&document).len()
            >= history
                .iter()
                .filter(|e| e["bizStep"] == "commissioning")
                .count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_the_whole_chain_pages_through_its_link_header() {
    let server = Server::start("epcis-pages").await;
    server.chain.commit(5, server.chain.story[4].clone());
    let (_, all, next) = get(&server, "/epcis/events?perPage=1000").await;
    assert_eq!(next, None);
    let all = events(&all);
    assert!(all.len() >= 8, "{} events", all.len());
    let mut paged = Vec::new();
    let mut path = Some("/epcis/events?perPage=2".to_owned());
    while let Some(here) = path {
        let (status, answer, next) = get(&server, &here).await;
        assert_eq!(status, StatusCode::OK, "{here}: {answer}");
        check_schema(&answer).unwrap();
        let page = events(&answer);
        assert!(page.len() <= 2);
        paged.extend(page);
        path = next;
    }
    assert_eq!(paged, all);
    let (_, shipped, _) = get(
        &server,
        "/epcis/events?EQ_bizStep=urn:epcglobal:cbv:bizstep:shipping,retail_selling",
    )
    .await;
    let expected: Vec<Value> = all
        .iter()
        .filter(|e| e["bizStep"] == "shipping" || e["bizStep"] == "retail_selling")
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(events(&shipped), expected);
    // Time bounds: nothing is before the first event, everything is before the far future.
    let (_, none, _) = get(&server, "/epcis/events?LT_eventTime=2000-01-01T00:00:00Z").await;
    assert!(events(&none).is_empty());
    let (_, every, _) = get(
        &server,
        "/epcis/events?LT_eventTime=2999-01-01T00:00:00Z&perPage=1000",
    )
    .await;
    assert_eq!(events(&every), all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_query_does_not_support_is_refused_by_name() {
    let server = Server::start("epcis-refusals").await;
    let serials: Vec<String> = (0..101)
        .map(|n| format!("https://id.gs1.org/01/{}/21/S{n}", Demo::cable_gtin()))
        .collect();
    let too_many = format!("/epcis/events?MATCH_epc={}", encode(&serials.join(",")));
    for (path, needle) in [
        ("/epcis/events?EQ_userExtension=1", "EQ_userExtension"),
        ("/epcis/events?perPage=0", "perPage"),
        ("/epcis/events?GE_eventTime=yesterday", "GE_eventTime"),
        (
            "/epcis/events?MATCH_epc=urn:epc:id:grai:0614141.12345.400",
            "urn:epc:id:grai",
        ),
        ("/epcis/events?nextPageToken=somewhere", "nextPageToken"),
        (too_many.as_str(), "at most 100"),
    ] {
        let (status, body, _) = get(&server, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["code"], "invalid_query", "{path}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(needle),
            "{path}: {body}"
        );
    }
    let (status, body, _) = get(&server, "/v1/products/00%2F106141412345678908/epcis").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "unknown_code");
}
