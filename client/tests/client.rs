//! The client against the real API server over a real store ([`suyuan_testkit::served`]).

use std::time::Duration;

use reqwest::StatusCode;
use suyuan_api::types::{ErrorBody, TransactionView};
use suyuan_api::views::{EnterpriseRecordsPage, RecordOrder};
use suyuan_client::{ApiClient, ClientError};
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::demo::{Demo, who};
use suyuan_ledger::tx::TxId;
use suyuan_testkit::served::{Fixture, stranger, uscc_of};

#[tokio::test]
async fn submit_poll_and_wait_until_committed() {
    let fixture = Fixture::new("wait", 3).await;
    let client = &fixture.client;
    assert_eq!(
        client.status().await.unwrap().chain_id,
        fixture.demo.genesis.chain_id
    );
    let envelope = &fixture.story[3][0];
    let id = client.submit(envelope).await.unwrap();
    assert_eq!(id, envelope.id(&fixture.demo.genesis.binding()));
    let again = client.submit(envelope).await.unwrap_err();
    assert!(
        matches!(&again, ClientError::Refused { status, body }
            if *status == StatusCode::CONFLICT && body.code == "duplicate"),
        "{again:?}"
    );
    assert_eq!(
        client.transaction(&id).await.unwrap(),
        TransactionView::Pending { id }
    );
    let waiting = {
        let client = client.clone();
        tokio::spawn(async move { client.wait_committed(&id, Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(120)).await;
    fixture.commit(4);
    let committed = waiting.await.unwrap().unwrap();
    assert_eq!(
        (committed.id, committed.height, committed.index),
        (id, 4, 0)
    );
    assert_eq!(committed.envelope, *envelope);
}

#[tokio::test]
async fn batches_blocks_and_products_read_back() {
    let fixture = Fixture::new("reads", 4).await;
    let client = &fixture.client;
    let mut forged = fixture.story[4][1].clone();
    forged.signature = fixture.story[4][0].signature;
    let results = client
        .submit_batch(&[fixture.story[4][0].clone(), forged])
        .await
        .unwrap();
    assert_eq!(
        results[0],
        Ok(fixture.story[4][0].id(&fixture.demo.genesis.binding()))
    );
    assert_eq!(results[1].as_ref().unwrap_err().code, "bad_signature");

    let latest = client.latest_block().await.unwrap();
    assert_eq!(latest.height, 4);
    assert_eq!(client.block(2).await.unwrap().header.height, 2);
    let missing = client.block(9).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
    assert_eq!(missing.body().unwrap().code, "unknown_block");

    // The canonical code has slashes: the client sends it as one encoded segment.
    let lot = format!("01/{}/10/C2601A", Demo::cable_gtin());
    let product = client.product(&lot).await.unwrap();
    assert_eq!(product.code.to_string(), lot);
    assert!(product.history.len() >= 3);
    let invalid = client.product("01/123").await.unwrap_err();
    assert_eq!(invalid.body().unwrap().code, "invalid_code");
}

#[tokio::test]
async fn rejections_timeouts_and_unreachable_nodes_are_told_apart() {
    let fixture = Fixture::new("errors", 0).await;
    let client = &fixture.client;
    let rejected = TxId::default();
    fixture.node.reject(
        rejected,
        ErrorBody::new("rule_violation", "under recall").with_detail("rule", "under_recall"),
    );
    let error = client
        .wait_committed(&rejected, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::Rejected { body, .. } if body.rule() == Some("under_recall")),
        "{error:?}"
    );
    let unknown = fixture.story[0][0].id(&fixture.demo.genesis.binding());
    let error = client
        .wait_committed(&unknown, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Timeout { .. }), "{error:?}");

    // A port nobody listens on: bind one, then close it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let nobody = ApiClient::new(&format!("http://{address}")).unwrap();
    let error = nobody.status().await.unwrap_err();
    assert!(matches!(error, ClientError::Transport { .. }), "{error:?}");
    assert!(error.body().is_none());

    assert!(ApiClient::new("not a url").is_err());
    assert!(ApiClient::new("https://127.0.0.1:8100").is_err());
}

/// The positions of a page's records.
fn positions(page: &EnterpriseRecordsPage) -> Vec<(u64, u32)> {
    page.records.iter().map(|r| (r.height, r.index)).collect()
}

#[tokio::test]
async fn enterprises_and_their_records_page_and_follow_cursors() {
    let fixture = Fixture::new("enterprise", 5).await;
    let client = &fixture.client;
    let cable = uscc_of(&fixture.demo, who::CABLE_MAKER);
    let view = client.enterprise(&cable).await.unwrap();
    assert_eq!(view.uscc, cable);
    assert_eq!(view.computed_at.height, 5);
    assert_eq!(
        view.registration.registered_by.public_key,
        fixture.demo.bureau.public()
    );
    assert_eq!(view.keys.len(), 1);
    let missing = client.enterprise(&stranger()).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
    assert_eq!(missing.body().unwrap().code, "unknown_enterprise");

    // Enrolment (1:0), model (2:0), commissioning (3:0), sale (4:2), newest first.
    let newest = [(4, 2), (3, 0), (2, 0), (1, 0)];
    let first = client
        .enterprise_records(&cable, RecordOrder::Newest, None, Some(3))
        .await
        .unwrap();
    assert_eq!(positions(&first), newest[..3]);
    assert_eq!(first.next.as_deref(), Some("2-0"));
    let rest = client
        .enterprise_records(&cable, RecordOrder::Newest, first.next.as_deref(), None)
        .await
        .unwrap();
    assert_eq!(positions(&rest), newest[3..]);
    assert_eq!(rest.next, None);
    let oldest = client
        .enterprise_records(&cable, RecordOrder::Oldest, None, None)
        .await
        .unwrap();
    assert_eq!(oldest.order, RecordOrder::Oldest);
    assert_eq!(positions(&oldest), [(1, 0), (2, 0), (3, 0), (4, 2)]);
    let bad_cursor = client
        .enterprise_records(&cable, RecordOrder::Newest, Some("yesterday"), None)
        .await
        .unwrap_err();
    assert_eq!(bad_cursor.body().unwrap().code, "invalid_query");

    // Every record, in pages of 3: two requests, one answer.
    let all = client
        .all_enterprise_records(&cable, RecordOrder::Newest, None, 3, 100)
        .await
        .unwrap();
    assert_eq!(positions(&all), newest);
    assert_eq!(all.next, None);
    // A bound of 3 stops after 3, in pages of 2, with the cursor to go on from...
    let bounded = client
        .all_enterprise_records(&cable, RecordOrder::Newest, None, 2, 3)
        .await
        .unwrap();
    assert_eq!(positions(&bounded), newest[..3]);
    assert_eq!(bounded.next.as_deref(), Some("2-0"));
    // ...from which the rest follows.
    let resumed = client
        .all_enterprise_records(&cable, RecordOrder::Newest, Some("2-0"), 2, 3)
        .await
        .unwrap();
    assert_eq!(positions(&resumed), newest[3..]);
    assert_eq!(resumed.next, None);
    let missing = client
        .all_enterprise_records(&stranger(), RecordOrder::Oldest, None, 10, 10)
        .await
        .unwrap_err();
    assert_eq!(missing.body().unwrap().code, "unknown_enterprise");
}

#[tokio::test]
async fn reports_scores_and_rankings_read_back() {
    let fixture = Fixture::new("report", 5).await;
    let client = &fixture.client;
    let gas = uscc_of(&fixture.demo, who::GAS_APPLIANCE_MAKER);

    let report = client.report(&gas).await.unwrap();
    assert_eq!(
        (report.uscc.clone(), report.computed_at.height),
        (gas.clone(), 5)
    );
    assert_eq!(report.batches.len(), 6);
    assert_eq!(report.recalls.len(), 1);
    let page = client.report_html(&gas).await.unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..100]);
    assert!(page.contains(report.name.as_str()));
    let missing = client.report_html(&stranger()).await.unwrap_err();
    assert_eq!(missing.body().unwrap().code, "unknown_enterprise");

    let score = client.score(&gas).await.unwrap();
    assert_eq!(score.total_bp, Some(4_999));
    let contributions: Vec<u32> = score.components.iter().map(|c| c.contribution_bp).collect();
    assert_eq!(contributions, [1_000, 1_500, 249, 0, 1_250, 1_000]);
    let missing = client.score(&stranger()).await.unwrap_err();
    assert_eq!(missing.body().unwrap().code, "unknown_enterprise");

    let everyone = client.scores(None, None, None).await.unwrap();
    assert_eq!(everyone.members, 4);
    assert!(everyone.registrar.is_none());
    assert_eq!(everyone.ranking[3].uscc, gas);
    let association = client
        .scores(
            Some("China Electrical Equipment Industry Association"),
            None,
            None,
        )
        .await
        .unwrap();
    let members: Vec<Uscc> = association.ranking.iter().map(|r| r.uscc.clone()).collect();
    assert_eq!(members, [uscc_of(&fixture.demo, who::DISTRIBUTOR)]);
    let bureau = fixture.demo.bureau.public().to_string();
    let page = client
        .scores(Some(&bureau), Some(1), Some(1))
        .await
        .unwrap();
    assert_eq!(page.ranking.len(), 1);
    assert_eq!(page.next_offset, Some(2));
    assert_eq!(page.ranking[0].registered_by, fixture.demo.bureau.public());
    let unknown = client.scores(Some("Nobody"), None, None).await.unwrap_err();
    assert!(unknown.is_not_found(), "{unknown:?}");
    assert_eq!(unknown.body().unwrap().code, "unknown_registrar");
    let bad_limit = client.scores(None, None, Some(0)).await.unwrap_err();
    assert_eq!(bad_limit.body().unwrap().code, "invalid_query");
}

#[tokio::test]
async fn codes_read_back_with_their_latest_record() {
    let fixture = Fixture::new("code", 4).await;
    let client = &fixture.client;
    // A Digital Link: slashes, a colon and a query, all inside one encoded segment.
    let link = format!("https://id.gs1.org/01/{}/10/C2601A", Demo::cable_gtin());
    let view = client.code(&link).await.unwrap();
    assert_eq!(view.input, link);
    assert_eq!(
        view.trace_code.unwrap().to_string(),
        format!("01/{}/10/C2601A", Demo::cable_gtin())
    );
    assert!(view.latest.is_some());
    let wrong = client.code("09520123456789").await.unwrap_err();
    assert_eq!(wrong.body().unwrap().code, "invalid_code");
}
