//! Submitting over HTTP: admitted envelopes, every kind of refusal with its status and code,
//! and the limits (body size, batch size, in-flight requests, time).

mod support;

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{COMMITTED_BLOCKS, Server, assert_error};
use suyuan_api::ApiLimits;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::tx::{ChainBinding, Envelope, Payload};
use tokio::sync::Semaphore;

/// The envelopes of story block 5, which execute cleanly over the committed blocks.
fn next_block(server: &Server) -> Vec<Envelope> {
    server.chain.story[COMMITTED_BLOCKS as usize].clone()
}

#[tokio::test]
async fn submit_admits_and_reports_pending_then_refuses_the_same_envelope_as_duplicate() {
    let server = Server::start("submit").await;
    let envelope = &next_block(&server)[0];
    let id = envelope.id(server.chain.binding());

    let (status, body) = server.post_json("/v1/transactions", envelope).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body, json!({"id": id.to_hex(), "status": "pending"}));
    assert_eq!(server.node.pending_ids(), vec![id]);

    let (status, body) = server.get(&format!("/v1/transactions/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"id": id.to_hex(), "status": "pending"}));

    let again = server.post_json("/v1/transactions", envelope).await;
    assert_error(&again, StatusCode::CONFLICT, "duplicate");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn committed_envelopes_are_refused_as_replays() {
    let server = Server::start("replay").await;
    let committed = &server.chain.story[0][0];
    let response = server.post_json("/v1/transactions", committed).await;
    assert_error(&response, StatusCode::CONFLICT, "replay");
    assert!(server.node.pending_ids().is_empty());
}

#[tokio::test]
async fn bad_signatures_and_foreign_chains_are_refused_with_the_field_at_fault() {
    let server = Server::start("signature").await;
    let mut envelope = next_block(&server)[0].clone();
    // Sign the same payload for another chain: the signature does not verify on this one.
    let key = KeyPair::insecure_from_label("distributor impostor");
    let other_chain = Envelope::sign_bytes(
        &ChainBinding::new("another-chain", Hash32::ZERO),
        envelope.payload.clone(),
        &key,
    );
    envelope.signature = other_chain.signature;
    let response = server.post_json("/v1/transactions", &envelope).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "bad_signature");
    assert_eq!(response.1["field"], "signature");

    // The rightful signer, signing for another consortium that chose the same chain id: the
    // genesis hash in the signed message tells the two apart.
    let demo = &server.chain.demo;
    let signer = demo
        .enterprises
        .iter()
        .map(|enterprise| &enterprise.key)
        .chain([&demo.bureau, &demo.association])
        .find(|key| key.public() == envelope.signer)
        .expect("the story is signed by the demo's keys");
    let same_id = ChainBinding::new(server.chain.chain_id(), Hash32::ZERO);
    let foreign = Envelope::sign_bytes(&same_id, envelope.payload.clone(), signer);
    let response = server.post_json("/v1/transactions", &foreign).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "bad_signature");
    assert!(server.node.pending_ids().is_empty());
}

#[tokio::test]
async fn payloads_that_are_not_transactions_are_refused_as_bad_payload() {
    let server = Server::start("payload").await;
    let key = KeyPair::insecure_from_label("anyone");
    let envelope = Envelope::sign_bytes(
        server.chain.binding(),
        br#"{"nonce": 1, "record": {"type": "nothing"}}"#.to_vec(),
        &key,
    );
    let response = server.post_json("/v1/transactions", &envelope).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "bad_payload");
    assert_eq!(response.1["field"], "payload.record.type");

    // An enrolment whose USCC is wrong: the field names the record (serde reads tagged records
    // whole, so the path stops there), in the single and the batch form.
    let mut payload: Value = serde_json::from_slice(&server.chain.story[0][0].payload).unwrap();
    payload["record"]["enterprise"]["uscc"] = json!("91350100M000100Y44");
    let bad_uscc = Envelope::sign_bytes(
        server.chain.binding(),
        serde_json::to_vec(&payload).unwrap(),
        &server.chain.demo.bureau,
    );
    let response = server.post_json("/v1/transactions", &bad_uscc).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "bad_payload");
    assert_eq!(response.1["field"], "payload.record");
    let message = response.1["message"].as_str().unwrap();
    assert!(message.contains("check character"), "{message}");
    let (status, body) = server
        .post_json("/v1/transactions/batch", &[&bad_uscc])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["results"][0]["error"]["field"], "payload.record");
}

#[tokio::test]
async fn rule_violations_name_the_rule_and_are_remembered_as_rejected() {
    let server = Server::start("rule").await;
    let payload = Payload::parse(&next_block(&server)[0].payload).unwrap();
    let stranger = KeyPair::insecure_from_label("stranger");
    let envelope = Envelope::sign(server.chain.binding(), &payload, &stranger);
    let id = envelope.id(server.chain.binding());

    let response = server.post_json("/v1/transactions", &envelope).await;
    assert_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "rule_violation",
    );
    assert_eq!(response.1["rule"], "unknown_signer");

    let (status, body) = server.get(&format!("/v1/transactions/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "rejected");
    assert_eq!(body["id"], id.to_hex());
    assert_eq!(body["error"]["code"], "rule_violation");
    assert_eq!(body["error"]["rule"], "unknown_signer");
}

#[tokio::test]
async fn malformed_json_wrong_types_and_unknown_fields_are_client_errors() {
    let server = Server::start("json").await;
    let response = server.post_raw("/v1/transactions", "{\"payload\": ").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "malformed_json");
    assert!(
        response.1["message"].as_str().unwrap().contains("column"),
        "{}",
        response.1
    );
    let response = server.post_raw("/v1/transactions", "{} trailing").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "malformed_json");

    let mut envelope = serde_json::to_value(&next_block(&server)[0]).unwrap();
    envelope["signer"] = json!(42);
    let response = server.post_json("/v1/transactions", &envelope).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_body");
    assert_eq!(response.1["field"], "signer");

    let mut envelope = serde_json::to_value(&next_block(&server)[0]).unwrap();
    envelope["signature"] = json!("00");
    let response = server.post_json("/v1/transactions", &envelope).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_body");
    assert_eq!(response.1["field"], "signature");

    let mut envelope = serde_json::to_value(&next_block(&server)[0]).unwrap();
    envelope["priority"] = json!("high");
    let response = server.post_json("/v1/transactions", &envelope).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_body");
    assert_eq!(response.1["field"], "priority");

    let response = server.post_json("/v1/transactions", &json!([1, 2])).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_body");
    assert!(server.node.pending_ids().is_empty());
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let limits = ApiLimits {
        max_body_bytes: 16 * 1024,
        ..ApiLimits::default()
    };
    let server = Server::start_with("body-limit", limits, None).await;
    let big = format!("{{\"payload\": \"{}\"}}", "A".repeat(32 * 1024));
    let response = server.post_raw("/v1/transactions", big).await;
    assert_error(&response, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    // Under the limit, the same server answers normally.
    let (status, _) = server
        .post_json("/v1/transactions", &next_block(&server)[0])
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn batches_answer_per_envelope_in_order() {
    let server = Server::start("batch").await;
    let block = next_block(&server);
    let committed = server.chain.story[0][0].clone();
    let batch = vec![
        block[0].clone(),
        committed,
        block[1].clone(),
        block[0].clone(),
    ];
    let (status, body) = server.post_json("/v1/transactions/batch", &batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "{body}");
    let id = |envelope: &Envelope| Value::String(envelope.id(server.chain.binding()).to_hex());
    assert_eq!(results[0], json!({"id": id(&block[0])}));
    assert_eq!(results[1]["error"]["code"], "replay");
    assert_eq!(results[2], json!({"id": id(&block[1])}));
    assert_eq!(results[3]["error"]["code"], "duplicate");
    assert_eq!(server.node.pending_ids().len(), 2);
}

/// A payload over 64 KiB is refused as `payload_too_large` whatever its size (just over the
/// bound, or far over it but within the body limit), alone or in a batch, where it refuses
/// only itself: the envelopes around it are admitted.
#[tokio::test]
async fn oversized_payloads_are_refused_one_by_one() {
    let server = Server::start("oversized").await;
    let block = next_block(&server);
    let oversized = |bytes: usize| {
        let mut envelope = block[0].clone();
        envelope.payload = vec![b' '; bytes];
        envelope
    };
    for bytes in [64 * 1024 + 1, 64 * 1024 + 3, 100 * 1024, 1024 * 1024] {
        let response = server
            .post_json("/v1/transactions", &oversized(bytes))
            .await;
        assert_error(&response, StatusCode::BAD_REQUEST, "payload_too_large");
    }
    let batch = vec![
        block[0].clone(),
        oversized(64 * 1024 + 1),
        oversized(1024 * 1024),
        block[1].clone(),
    ];
    let (status, body) = server.post_json("/v1/transactions/batch", &batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let results = body["results"].as_array().unwrap();
    let id = |envelope: &Envelope| Value::String(envelope.id(server.chain.binding()).to_hex());
    assert_eq!(results.len(), 4, "{body}");
    assert_eq!(results[0], json!({"id": id(&block[0])}));
    assert_eq!(results[1]["error"]["code"], "payload_too_large", "{body}");
    assert_eq!(results[2]["error"]["code"], "payload_too_large", "{body}");
    assert_eq!(results[3], json!({"id": id(&block[1])}));
    assert_eq!(server.node.pending_ids().len(), 2);
}

#[tokio::test]
async fn empty_and_oversized_batches_are_refused_whole() {
    let limits = ApiLimits {
        max_batch: 2,
        ..ApiLimits::default()
    };
    let server = Server::start_with("batch-limit", limits, None).await;
    let block = next_block(&server);
    let response = server
        .post_json("/v1/transactions/batch", &Vec::<Envelope>::new())
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "empty_batch");
    let three = vec![
        block[0].clone(),
        block[1].clone(),
        server.chain.story[0][1].clone(),
    ];
    let response = server.post_json("/v1/transactions/batch", &three).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "batch_too_large");
    assert!(
        server.node.pending_ids().is_empty(),
        "nothing of a refused batch is admitted"
    );
    let response = server
        .post_json("/v1/transactions/batch", &json!({"not": "an array"}))
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_body");
    let mut second = serde_json::to_value(&block[1]).unwrap();
    second["signature"] = json!(7);
    let response = server
        .post_json("/v1/transactions/batch", &json!([&block[0], second]))
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_body");
    assert_eq!(response.1["field"], "[1].signature");
    assert!(
        server.node.pending_ids().is_empty(),
        "nothing of an unreadable batch is admitted"
    );
}

/// Waits (up to 2 s) until a request held at the test node's gate is inside the node.
async fn wait_until_held(server: &Server) {
    for _ in 0..200 {
        if !server.node.pending_ids().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_are_shed_with_503() {
    let gate = Arc::new(Semaphore::new(0));
    let limits = ApiLimits {
        max_concurrent_requests: 1,
        ..ApiLimits::default()
    };
    let server = Server::start_with("shed", limits, Some(gate.clone())).await;
    let envelope = next_block(&server)[0].clone();
    let held = {
        let http = server.http.clone();
        let url = server.url("/v1/transactions");
        tokio::spawn(async move { http.post(url).json(&envelope).send().await })
    };
    wait_until_held(&server).await;
    assert_eq!(
        server.node.pending_ids().len(),
        1,
        "the first request reached the node"
    );
    let shed = server.get("/v1/status").await;
    assert_error(&shed, StatusCode::SERVICE_UNAVAILABLE, "overloaded");

    gate.add_permits(1);
    let response = held.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let (status, _) = server.get("/v1/status").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "capacity is back once the request finished"
    );
}

#[tokio::test]
async fn requests_slower_than_the_timeout_get_503_timeout() {
    let gate = Arc::new(Semaphore::new(0));
    let limits = ApiLimits {
        request_timeout: Duration::from_millis(200),
        ..ApiLimits::default()
    };
    let server = Server::start_with("timeout", limits, Some(gate)).await;
    let response = server
        .post_json("/v1/transactions", &next_block(&server)[0])
        .await;
    assert_error(&response, StatusCode::SERVICE_UNAVAILABLE, "timeout");
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests() {
    let gate = Arc::new(Semaphore::new(0));
    let server = Server::start_with("shutdown", ApiLimits::default(), Some(gate.clone())).await;
    let envelope = next_block(&server)[0].clone();
    let held = {
        let http = server.http.clone();
        let url = server.url("/v1/transactions");
        tokio::spawn(async move { http.post(url).json(&envelope).send().await })
    };
    wait_until_held(&server).await;
    let base = server.base.clone();
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !stopping.is_finished(),
        "the server waits for the request in flight"
    );
    gate.add_permits(1);
    let response = held.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    stopping.await.unwrap().unwrap();
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "nothing listens after shutdown"
    );
}
