//! Products identified only by an Ecode or a Handle id, over HTTP on a real store: a batch's
//! view names its model code and the model-level recall, and the model code itself looks up.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::Server;
use suyuan_api::types::ProductView;
use suyuan_ledger::demo::Demo;
use suyuan_ledger::record::Subject;

async fn product(server: &Server, code: &str) -> ProductView {
    let path = format!("/v1/products/{}", support::encode(code));
    let (status, body): (StatusCode, Value) = server.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecode_and_handle_products_and_their_models_look_up() {
    let server = Server::start("model-codes").await;
    server.chain.commit(5, server.chain.story[4].clone());
    let demo: &Demo = &server.chain.demo;
    server.chain.commit(6, demo.logistics());
    for (height, block) in (7..).zip(demo.non_gs1_models()) {
        server.chain.commit(height, block);
    }
    let ecode_batch = product(&server, &Demo::ecode_batch().to_string()).await;
    assert_eq!(ecode_batch.model_code, Some(Demo::ecode_model()));
    assert!(ecode_batch.recalls.is_empty());
    let handle_batch = product(&server, &Demo::handle_batch().to_string()).await;
    assert_eq!(handle_batch.model_code, Some(Demo::handle_model()));
    assert_eq!(
        handle_batch.recalls[0].subject,
        Subject::Model(Demo::handle_model())
    );
    let handle_model = product(&server, &Demo::handle_model().to_string()).await;
    assert_eq!(handle_model.model_code, Some(Demo::handle_model()));
    assert_eq!(
        handle_model.code.to_string(),
        Demo::handle_model().to_string()
    );
    // Registration, commissioning and the model-level recall.
    assert_eq!(handle_model.history.len(), 3);
    assert_eq!(handle_model.recalls.len(), 1);
    let ecode_model = product(&server, &Demo::ecode_model().to_string()).await;
    assert_eq!(ecode_model.history.len(), 2);
    let (status, _) = server.get("/v1/products/ecode:100126950199999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_a_lot_carries_looks_up_the_lot() {
    let server = Server::start("code-links").await;
    server.chain.commit(5, server.chain.story[4].clone());
    let demo: &Demo = &server.chain.demo;
    server.chain.commit(6, demo.logistics());
    for (height, block) in (7..).zip(demo.non_gs1_models()) {
        server.chain.commit(height, block);
    }
    server.chain.commit(9, demo.code_links());
    let cable_lot = format!("01/{}/10/C2601A", Demo::cable_gtin());
    let by_lot = product(&server, &cable_lot).await;
    assert_eq!(by_lot.aliases, [Demo::cable_lot_ecode()]);
    assert_eq!(by_lot.looked_up_as, None);
    let by_alias = product(&server, &Demo::cable_lot_ecode().to_string()).await;
    assert_eq!(by_alias.code.to_string(), cable_lot);
    assert_eq!(by_alias.looked_up_as, Some(Demo::cable_lot_ecode()));
    assert_eq!(by_alias.history, by_lot.history);
    assert_eq!(by_alias.latest, by_lot.latest);
    // The gas maker's lot, by the Handle id it carries: its batch recall comes with it.
    let by_handle = product(&server, &Demo::cooker_lot_handle().to_string()).await;
    assert_eq!(
        by_handle.code.to_string(),
        format!("01/{}/10/G2601B", Demo::cooker_gtin())
    );
    assert!(!by_handle.recalls.is_empty());
    // The alias's own record is the link, and the code view points at the lot through it.
    let path = format!(
        "/v1/codes/{}",
        support::encode(&Demo::cable_lot_ecode().to_string())
    );
    let (status, body): (StatusCode, Value) = server.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["latest"]["record_type"], "link_codes", "{body}");
}
