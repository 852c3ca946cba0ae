//! The pages people read, over HTTP on a real server over the demo story: a product's page in
//! Chinese by default and in English on request, the recall banner, no buyer who is a person,
//! the proof in words, errors as pages; and what an attacker cannot do with them (record text
//! that tries to add markup, a page that tries to load anything).

mod support;

use reqwest::StatusCode;
use support::{Server, encode};
use suyuan_ledger::demo::{Demo, who};
use suyuan_ledger::record::{Recall, Record, Subject, TraceCode};

/// GET `path` with `headers`: status, content type, CSP and body.
async fn page(server: &Server, path: &str, headers: &[(&str, &str)]) -> Page {
    let mut request = server.http.get(server.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    Page {
        status: response.status(),
        content_type: header("content-type"),
        policy: header("content-security-policy"),
        language: header("content-language"),
        body: response.text().await.unwrap(),
    }
}

struct Page {
    status: StatusCode,
    content_type: String,
    policy: String,
    language: String,
    body: String,
}

fn lot_page() -> String {
    format!(
        "/products/{}",
        encode(&format!("01/{}/10/C2601A", Demo::cable_gtin()))
    )
}

#[tokio::test]
async fn a_batch_page_speaks_chinese_by_default_and_english_when_asked() {
    let server = Server::start("pages-batch").await;
    let cable = &server.chain.demo.enterprises[who::CABLE_MAKER];
    let distributor = &server.chain.demo.enterprises[who::DISTRIBUTOR];

    let chinese = page(&server, &lot_page(), &[]).await;
    assert_eq!(chinese.status, StatusCode::OK, "{}", chinese.body);
    assert_eq!(chinese.content_type, "text/html; charset=utf-8");
    assert_eq!(chinese.language, "zh-CN");
    assert!(
        chinese.policy.starts_with("default-src 'none'"),
        "{}",
        chinese.policy
    );
    let body = &chinese.body;
    assert!(
        body.starts_with("<!DOCTYPE html><html lang=\"zh-CN\">"),
        "{body}"
    );
    for words in [
        "批次",
        "流转记录",
        "生产赋码",
        "销售",
        "检验",
        "合格",
        "核验",
        "无召回记录",
        "个验证节点签名最终确认",
    ] {
        assert!(body.contains(words), "{words}: {body}");
    }
    assert!(body.contains(cable.profile.name.as_str()), "{body}");
    assert!(body.contains(distributor.profile.name.as_str()), "{body}");
    assert!(body.contains(&cable.profile.uscc.to_string()));
    // The page draws its own QR code, inline, and loads nothing.
    assert!(body.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(!body.contains("<script"), "{body}");
    assert!(!body.contains("src="), "{body}");

    // English by ?lang=, or by Accept-Language; the switch links to the other language.
    let english = page(&server, &format!("{}?lang=en", lot_page()), &[]).await;
    assert_eq!(english.language, "en");
    for words in [
        "Batch",
        "Flow",
        "Made and coded",
        "Sold",
        "Verify",
        "No recall",
    ] {
        assert!(english.body.contains(words), "{words}: {}", english.body);
    }
    assert!(
        english
            .body
            .contains(&format!("href=\"{}?lang=zh\"", lot_page()))
    );
    let by_header = page(
        &server,
        &lot_page(),
        &[("accept-language", "en-GB,en;q=0.9,zh;q=0.5")],
    )
    .await;
    assert_eq!(by_header.language, "en");
    let chinese_first = page(
        &server,
        &lot_page(),
        &[("accept-language", "zh-CN,zh;q=0.9,en;q=0.8")],
    )
    .await;
    assert_eq!(chinese_first.language, "zh-CN");
    // Other parameters (a campaign's tags on a printed link) do not break the page.
    let tagged = page(
        &server,
        &format!("{}?utm_source=label&lang=en", lot_page()),
        &[],
    )
    .await;
    assert_eq!(tagged.status, StatusCode::OK);
    assert_eq!(tagged.language, "en");
}

#[tokio::test]
async fn a_recalled_batch_shows_the_recall_first_and_a_retail_buyer_never() {
    let server = Server::start("pages-recall").await;
    // Block 5: the resale and the bureau's recall of the cooker lot.
    server.chain.commit(5, server.chain.story[4].clone());
    let gtin = Demo::cooker_gtin();
    let lot = page(
        &server,
        &format!("/products/{}", encode(&format!("01/{gtin}/10/G2601B"))),
        &[],
    )
    .await;
    assert_eq!(lot.status, StatusCode::OK, "{}", lot.body);
    let alert = lot.body.find("role=\"alert\"").expect("a recall banner");
    let title = lot.body.find("<h1>").unwrap();
    assert!(alert < title, "the recall comes before everything else");
    assert!(lot.body.contains("本批次已被召回"));
    assert!(lot.body.contains("不合格"), "the failed inspection");

    // The first cooker item, sold to a person: the sale shows, the person does not.
    let item = page(
        &server,
        &format!("/products/{}", encode(&format!("01/{gtin}/21/G26SN00001"))),
        &[],
    )
    .await;
    assert_eq!(item.status, StatusCode::OK, "{}", item.body);
    assert!(
        item.body.contains("个人消费者（个人信息不公开）"),
        "{}",
        item.body
    );
    let (retail, salt) = server.chain.demo.retail_buyer();
    for secret in [
        "crm://orders".to_owned(),
        "RT-000311".to_owned(),
        retail.name.clone(),
        retail.commitment(&salt).to_string(),
    ] {
        assert!(!item.body.contains(&secret), "{secret} on the page");
    }
}

#[tokio::test]
async fn record_text_cannot_add_markup_and_errors_are_pages() {
    let server = Server::start("pages-attacks").await;
    let demo = &server.chain.demo;
    let cable = &demo.enterprises[who::CABLE_MAKER];
    // A recall whose reason holds markup: the bureau's words are shown, never run.
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    server.chain.commit(
        5,
        vec![server.chain.sign(
            &demo.bureau,
            100,
            Record::Recall(Recall {
                producer: cable.profile.uscc.clone(),
                subjects: vec![Subject::Code(TraceCode::Lot {
                    gtin: Demo::cable_gtin(),
                    lot: "C2601A".parse().unwrap(),
                })],
                reason: hostile.parse().unwrap(),
                announced_on: "2026-01-05".parse().unwrap(),
            }),
        )],
    );
    let recalled = page(&server, &lot_page(), &[]).await;
    assert_eq!(recalled.status, StatusCode::OK, "{}", recalled.body);
    assert!(!recalled.body.contains("<script>"), "{}", recalled.body);
    assert!(!recalled.body.contains("<img"), "{}", recalled.body);
    assert!(
        recalled
            .body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;")
    );

    // Errors are pages in the reader's language, with the API's code.
    let unknown = page(&server, "/products/01%2F09506000134352%2F10%2FABC", &[]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.content_type.starts_with("text/html"));
    assert!(unknown.body.contains("未找到") && unknown.body.contains("unknown_code"));
    let invalid = page(&server, "/products/not-a-code?lang=en", &[]).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(invalid.body.contains("Not understood") && invalid.body.contains("invalid_code"));
    assert!(!invalid.body.contains("<script"));

    // A model's page: what a bare GTIN opens.
    let model = page(
        &server,
        &format!("/models/{}?lang=en", Demo::cable_gtin()),
        &[],
    )
    .await;
    assert_eq!(model.status, StatusCode::OK, "{}", model.body);
    assert!(model.body.contains("Product model"));
    assert!(model.body.contains(cable.profile.name.as_str()));
    let no_model = page(&server, "/models/09506000134352", &[]).await;
    assert_eq!(no_model.status, StatusCode::NOT_FOUND);
}
