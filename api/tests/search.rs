//! Finding a supplier over HTTP, as a procurement officer does: by USCC, by a product code or
//! a barcode's GTIN (its maker), by GLN, by a part of the name in any case, paged; the search
//! page in Chinese and English; and queries that are refused.

mod support;

use reqwest::StatusCode;
use support::{Server, assert_error, encode};
use suyuan_api::types::{EnterpriseSearch, SearchMatch};
use suyuan_ledger::demo::{Demo, who};
use suyuan_ledger::record::{Record, UpdateEnterprise};

async fn search(server: &Server, query: &str) -> EnterpriseSearch {
    let (status, body) = server.get(&format!("/v1/enterprises?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    serde_json::from_value(body).unwrap()
}

fn names(found: &EnterpriseSearch) -> Vec<String> {
    found.items.iter().map(|hit| hit.name.to_string()).collect()
}

#[tokio::test]
async fn a_supplier_is_found_by_code_gtin_gln_uscc_or_name() {
    let server = Server::start("search").await;
    let demo = &server.chain.demo;
    let cable = &demo.enterprises[who::CABLE_MAKER];
    let gas = &demo.enterprises[who::GAS_APPLIANCE_MAKER];
    // Block 5: the cable maker claims a party GLN.
    let mut profile = cable.profile.clone();
    profile.gln = Some("6950123000019".parse().unwrap());
    server.chain.commit(
        5,
        vec![server.chain.sign(
            &demo.bureau,
            100,
            Record::UpdateEnterprise(UpdateEnterprise {
                enterprise: profile,
            }),
        )],
    );
    let uscc = cable.profile.uscc.to_string();
    for (query, matched_by) in [
        (format!("q={uscc}"), SearchMatch::Uscc),
        (
            format!("q={}", uscc.to_ascii_lowercase()),
            SearchMatch::Uscc,
        ),
        ("q=6950123000019".to_owned(), SearchMatch::Gln),
        (
            format!(
                "q={}",
                encode(&format!("01/{}/10/C2601A", Demo::cable_gtin()))
            ),
            SearchMatch::Code,
        ),
        (
            format!(
                "q={}",
                encode(&format!(
                    "https://id.gs1.org/01/{}/10/C2601A",
                    Demo::cable_gtin()
                ))
            ),
            SearchMatch::Code,
        ),
        // The barcode on the box: a GTIN-13, the model's maker.
        ("q=6950123450012".to_owned(), SearchMatch::Code),
        ("q=Changjiang".to_owned(), SearchMatch::Name),
    ] {
        let found = search(&server, &query).await;
        assert_eq!(found.matched_by, matched_by, "{query}");
        assert_eq!(
            names(&found),
            vec![cable.profile.name.to_string()],
            "{query}"
        );
    }
    let cooker = search(
        &server,
        &format!(
            "q={}",
            encode(&format!("01/{}/21/G26SN00001", Demo::cooker_gtin()))
        ),
    )
    .await;
    assert_eq!(names(&cooker), vec![gas.profile.name.to_string()]);

    // A part of a name, in any case: every match, in USCC order, paged by `after`.
    let all = search(&server, "q=CABLE").await;
    assert_eq!(all.items.len(), 2, "{:?}", names(&all));
    assert_eq!(all.next, None);
    let first = search(&server, "q=cable&limit=1").await;
    assert_eq!(first.items, all.items[..1]);
    let next = first.next.clone().expect("more to read");
    let second = search(&server, &format!("q=cable&limit=1&after={next}")).await;
    assert_eq!(second.items, all.items[1..]);
    // Nothing found is an empty answer, not an error.
    let none = search(&server, "q=%E9%92%A2%E9%93%81").await;
    assert!(none.items.is_empty() && none.matched_by == SearchMatch::Name);
    let unknown_code = search(&server, "q=09506000134352").await;
    assert!(unknown_code.items.is_empty());

    for bad in [
        "q=".to_owned(),
        "q=%20%20".to_owned(),
        format!("q={}", "x".repeat(101)),
        "q=cable&after=not-a-uscc".to_owned(),
        "q=cable&limit=0".to_owned(),
        "q=cable&sort=name".to_owned(),
        String::new(),
    ] {
        assert_error(
            &server.get(&format!("/v1/enterprises?{bad}")).await,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        );
    }
}

#[tokio::test]
async fn the_search_page_finds_and_links_to_each_report() {
    let server = Server::start("search-page").await;
    let cable = &server.chain.demo.enterprises[who::CABLE_MAKER];
    let get = |path: String| {
        let server = &server;
        async move {
            let response = server.http.get(server.url(&path)).send().await.unwrap();
            let status = response.status();
            let policy = response.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned();
            (status, policy, response.text().await.unwrap())
        }
    };
    let (status, policy, body) = get("/".to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("查找供应商") && body.contains("<form"),
        "{body}"
    );
    // The form may go to this node and nowhere else; nothing loads.
    assert!(policy.contains("form-action 'self'") && policy.starts_with("default-src 'none'"));
    let (status, _, body) = get("/suppliers?q=changjiang+cable&lang=en".to_owned()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("by name"), "{body}");
    assert!(body.contains(cable.profile.name.as_str()), "{body}");
    assert!(body.contains(&format!(
        "href=\"/v1/enterprises/{}/report?format=html\"",
        cable.profile.uscc
    )));
    // The query is shown back in the form, escaped.
    let (_, _, body) = get("/suppliers?q=%22%3E%3Cscript%3Ex%3C%2Fscript%3E".to_owned()).await;
    assert!(!body.contains("<script>"), "{body}");
    assert!(body.contains("没有找到"), "{body}");
    let (status, _, body) = get(format!("/suppliers?q={}", "x".repeat(101))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("101"), "{body}");
}
