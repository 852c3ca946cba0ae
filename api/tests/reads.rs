//! Reading over HTTP: committed transactions, blocks and their pages, product histories in
//! every code form, status and health; bad and unknown paths.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{COMMITTED_BLOCKS, Server, assert_error, encode};
use suyuan_api::types::{
    BlockView, CatalogueView, CommittedTx, NodeStatus, ProductView, TransactionView,
};
use suyuan_ledger::demo::{Demo, who};
use suyuan_ledger::record::{Party, Record};
use suyuan_ledger::tx::Payload;

/// The cable lot of the demo story: commissioned in block 3, inspected and shipped in block 4.
fn cable_lot() -> String {
    format!("01/{}/10/C2601A", Demo::cable_gtin())
}

#[tokio::test]
async fn committed_transactions_show_their_block_position_envelope_and_payload() {
    let server = Server::start("tx").await;
    let envelope = &server.chain.story[2][1];
    let id = envelope.id(server.chain.binding());
    let (status, body) = server.get(&format!("/v1/transactions/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "committed");
    assert_eq!(body["height"], 3);
    assert_eq!(body["index"], 1);
    let block_hash = server.chain.store.header(3).unwrap().unwrap().hash();
    assert_eq!(body["block_hash"], block_hash.to_hex());
    assert_eq!(body["envelope"], serde_json::to_value(envelope).unwrap());
    assert_eq!(
        body["payload"],
        serde_json::to_value(Payload::parse(&envelope.payload).unwrap()).unwrap()
    );
    // The shared types read the same JSON back.
    let view: TransactionView = serde_json::from_value(body).unwrap();
    let TransactionView::Committed(tx) = view else {
        panic!("committed")
    };
    assert_eq!(tx.envelope, *envelope);
    assert_eq!((tx.height, tx.index, tx.block_hash), (3, 1, block_hash));
}

#[tokio::test]
async fn unknown_and_malformed_transaction_ids() {
    let server = Server::start("tx-unknown").await;
    let unknown = server
        .get(&format!("/v1/transactions/{}", "ab".repeat(32)))
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "unknown_transaction");
    for bad in ["abc", &"zz".repeat(32), &"ab".repeat(33)] {
        let response = server.get(&format!("/v1/transactions/{bad}")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_path");
        assert_eq!(response.1["field"], "id");
    }
}

#[tokio::test]
async fn blocks_by_height_and_latest() {
    let server = Server::start("blocks").await;
    let stored = server.chain.store.block(2).unwrap().unwrap();
    let (status, body) = server.get("/v1/blocks/2").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view: BlockView = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(view.height, 2);
    assert_eq!(view.hash, stored.hash());
    assert_eq!(view.header, stored.header);
    let ids: Vec<_> = server.chain.story[1]
        .iter()
        .map(|e| e.id(server.chain.binding()))
        .collect();
    assert_eq!(view.transactions, ids);
    assert_eq!(
        view.justification,
        hex_of(&server.chain.justification(&stored.header))
    );
    assert_eq!(body["header"]["height"], 2);

    let (status, latest) = server.get("/v1/blocks/latest").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(latest["height"], COMMITTED_BLOCKS);
    assert_eq!(latest["hash"], server.chain.store.head().hash.to_hex());
}

#[tokio::test]
async fn missing_blocks_and_bad_heights() {
    let server = Server::start("blocks-missing").await;
    assert_error(
        &server.get("/v1/blocks/0").await,
        StatusCode::NOT_FOUND,
        "unknown_block",
    );
    assert_error(
        &server.get("/v1/blocks/99").await,
        StatusCode::NOT_FOUND,
        "unknown_block",
    );
    for bad in ["-1", "two", "18446744073709551616", "1.5"] {
        let response = server.get(&format!("/v1/blocks/{bad}")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_path");
        assert_eq!(response.1["field"], "height");
    }
    assert_error(
        &server.get("/v1/blocks/99/transactions").await,
        StatusCode::NOT_FOUND,
        "unknown_block",
    );
    assert_error(
        &server.get("/v1/blocks/x/transactions").await,
        StatusCode::BAD_REQUEST,
        "invalid_path",
    );
}

#[tokio::test]
async fn block_transactions_come_in_pages() {
    let server = Server::start("block-pages").await;
    let story = &server.chain.story[2];
    assert_eq!(story.len(), 3, "block 3 of the story holds three records");
    let (status, page) = server.get("/v1/blocks/3/transactions?limit=2").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["height"], 3);
    assert_eq!(page["next_offset"], 2);
    let txs = page["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 2);
    for (index, tx) in txs.iter().enumerate() {
        assert_eq!(tx["index"], index);
        assert_eq!(tx["id"], story[index].id(server.chain.binding()).to_hex());
        assert_eq!(tx["envelope"], serde_json::to_value(&story[index]).unwrap());
        assert!(tx["payload"]["record"].is_object());
    }
    let (_, rest) = server
        .get("/v1/blocks/3/transactions?offset=2&limit=2")
        .await;
    assert_eq!(rest["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_offset"], Value::Null);
    let (_, all) = server.get("/v1/blocks/3/transactions").await;
    assert_eq!(all["transactions"].as_array().unwrap().len(), 3);
    let (_, past) = server.get("/v1/blocks/3/transactions?offset=10").await;
    assert_eq!(past["transactions"], json!([]));

    for bad in [
        "limit=0",
        "limit=1001",
        "offset=-1",
        "limit=x",
        "colour=red",
    ] {
        let response = server
            .get(&format!("/v1/blocks/3/transactions?{bad}"))
            .await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_query");
    }
}

#[tokio::test]
async fn product_history_in_canonical_digital_link_and_element_string_forms() {
    let server = Server::start("products").await;
    let lot = cable_lot();
    let (status, body) = server.get(&format!("/v1/products/{}", encode(&lot))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view: ProductView = serde_json::from_value(body).unwrap();
    assert_eq!(view.code.to_string(), lot);
    let positions: Vec<(u64, u32)> = view
        .history
        .iter()
        .map(|tx| (tx.height, tx.index))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {positions:?}"
    );
    assert_eq!(
        positions.first().map(|p| p.0),
        Some(3),
        "commissioned in block 3"
    );
    let latest = view.latest.clone().expect("a latest record");
    assert_eq!(
        Some(&latest),
        view.history.last(),
        "the latest is the newest in history"
    );
    assert_eq!(view.next, None);
    assert!(
        view.history.len() >= 3,
        "commissioned, inspected, shipped: {positions:?}"
    );

    for form in [
        format!("https://id.gs1.org/01/{}/10/C2601A", Demo::cable_gtin()),
        format!("(01){}(10)C2601A", Demo::cable_gtin()),
    ] {
        let (status, body) = server.get(&format!("/v1/products/{}", encode(&form))).await;
        assert_eq!(status, StatusCode::OK, "{form}: {body}");
        assert_eq!(body["code"], lot, "{form}");
        assert_eq!(
            body["history"].as_array().unwrap().len(),
            view.history.len()
        );
    }
}

#[tokio::test]
async fn product_history_pages_follow_the_cursor() {
    let server = Server::start("product-pages").await;
    let path = format!("/v1/products/{}", encode(&cable_lot()));
    let (_, whole) = server.get(&path).await;
    let whole: ProductView = serde_json::from_value(whole).unwrap();
    let mut seen: Vec<CommittedTx> = Vec::new();
    let mut query = "limit=1".to_owned();
    loop {
        let (status, body) = server.get(&format!("{path}?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: ProductView = serde_json::from_value(body).unwrap();
        assert!(page.history.len() <= 1);
        seen.extend(page.history);
        match page.next {
            Some(next) => query = format!("limit=1&after={next}"),
            None => break,
        }
        assert!(seen.len() <= whole.history.len(), "the cursor advances");
    }
    assert_eq!(seen, whole.history);
    let response = server.get(&format!("{path}?after=yesterday")).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_query");
    assert_eq!(response.1["field"], "after");
}

#[tokio::test]
async fn unknown_and_invalid_codes() {
    let server = Server::start("codes").await;
    let unseen = format!("01/{}/10/NEVER", Demo::cable_gtin());
    let response = server
        .get(&format!("/v1/products/{}", encode(&unseen)))
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, "unknown_code");
    for bad in [
        "01/06950123450019/10/LOT1".to_owned(), // a wrong check digit
        "not a code".to_owned(),
        Demo::cable_gtin().to_string(), // a model, not a batch or an item
    ] {
        let response = server.get(&format!("/v1/products/{}", encode(&bad))).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_code");
        assert_eq!(response.1["field"], "code");
    }
}

#[tokio::test]
async fn status_health_and_readiness() {
    let server = Server::start("status").await;
    let (status, body) = server.get("/v1/status").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let node_status: NodeStatus = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(node_status.chain_id, server.chain.chain_id());
    assert_eq!(node_status.height, COMMITTED_BLOCKS);
    assert_eq!(body["sync"], json!({"state": "synced"}));
    assert_eq!(body["validators"].as_array().unwrap().len(), 4);

    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.unwrap(), "ok");
    let ready = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let server = Server::start("routes").await;
    assert_error(
        &server.get("/v2/status").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(&server.get("/v1").await, StatusCode::NOT_FOUND, "not_found");
    let response = server.post_json("/v1/status", &json!({})).await;
    assert_error(
        &response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    let response = server.get("/v1/transactions").await;
    assert_error(
        &response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first serialised gas cooker of the demo story, sold to a private person in block 4.
fn sold_cooker() -> String {
    format!("01/{}/21/G26SN00001", Demo::cooker_gtin())
}

#[tokio::test]
async fn a_sale_shows_a_company_buyer_in_full_and_a_person_only_by_commitment() {
    let server = Server::start("buyers").await;
    let distributor = &server.chain.demo.enterprises[who::DISTRIBUTOR].profile;
    let company_sale = server.chain.story[3][2].id(server.chain.binding());
    let (status, body) = server
        .get(&format!("/v1/transactions/{company_sale}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["payload"]["record"]["buyer"],
        json!({"enterprise": {
            "uscc": distributor.uscc.to_string(),
            "name": distributor.name.as_str(),
            "address": distributor.address.as_str(),
            "contact": distributor.contact.as_str(),
        }})
    );
    // A code's history shows the same buyer.
    let (status, body) = server
        .get(&format!("/v1/products/{}", encode(&cable_lot())))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view: ProductView = serde_json::from_value(body).unwrap();
    let sale = view
        .history
        .iter()
        .find(|tx| tx.id == company_sale)
        .expect("the sale is in the lot's history");
    let Record::Ship(shipment) = &sale.payload.record else {
        panic!("a sale")
    };
    assert_eq!(shipment.buyer, Party::enterprise(distributor));

    // The person: a commitment and where the seller keeps the data, nothing of the data.
    let (data, salt) = server.chain.demo.retail_buyer();
    let person_sale = server.chain.story[3][3].id(server.chain.binding());
    let reads = [
        format!("/v1/transactions/{person_sale}"),
        format!("/v1/products/{}", encode(&sold_cooker())),
        "/v1/blocks/4/transactions".to_owned(),
    ];
    for path in reads {
        let (status, body) = server.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let text = body.to_string();
        for personal in [&data.name, &data.address, &data.contact] {
            assert!(!text.contains(personal.as_str()), "{path} shows {personal}");
        }
    }
    let (_, body) = server.get(&format!("/v1/transactions/{person_sale}")).await;
    assert_eq!(
        body["payload"]["record"]["buyer"],
        json!({"person": {
            "commitment": data.commitment(&salt).to_hex(),
            "data_reference": "crm://orders/2026/000311",
        }})
    );
}

#[tokio::test]
async fn the_catalogue_and_the_category_of_a_products_model() {
    let server = Server::start("catalogue").await;
    let (status, body) = server.get("/v1/catalogue").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let catalogue: CatalogueView = serde_json::from_value(body).unwrap();
    assert!(!catalogue.in_genesis, "the demo genesis names no catalogue");
    assert_eq!(
        catalogue,
        CatalogueView::of(suyuan_ledger::catalogue::Catalogue::programme(), false)
    );
    let (status, body) = server
        .get(&format!("/v1/products/{}", encode(&cable_lot())))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view: ProductView = serde_json::from_value(body).unwrap();
    let category = view.category.expect("the cable model names its category");
    assert_eq!(category.id, "wires_cables");
    assert_eq!(category.name_zh, "电线电缆（额定电压450/750V及以下）");
    assert_eq!(category.documents, ["ccc_certificate"]);
    assert!(
        catalogue.categories.contains(&category),
        "a product's category is the catalogue's"
    );
}
