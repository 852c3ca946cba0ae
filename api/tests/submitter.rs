//! The submission path sees each client's address: the server hands the connection's peer
//! address to the node, and a client the node refuses for now is answered before its body is
//! read. The node's refusals of its share of admission map to their documented codes.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::Value;
use suyuan_api::metrics::NodeMetrics;
use suyuan_api::types::{NodeStatus, PendingState};
use suyuan_api::{ApiLimits, ApiState, BoxFuture, Node};
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{ChainBinding, Envelope, TxId};

mod support;
use support::{Chain, TestNode};

/// The address the node refuses for now.
const REFUSED: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 66));

/// Its submissions get this refusal for every envelope.
const OVER_ITS_SHARE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7));

/// A node that records where each submission came from and answers by address.
struct AddressNode {
    inner: TestNode,
    chain: ChainBinding,
    seen: Mutex<Vec<IpAddr>>,
}

impl Node for AddressNode {
    fn submit(
        &self,
        envelopes: Vec<Envelope>,
        from: IpAddr,
    ) -> BoxFuture<Vec<Result<TxId, SubmitError>>> {
        self.seen.lock().unwrap().push(from);
        let signer = envelopes[0].signer;
        let results = envelopes
            .iter()
            .enumerate()
            .map(|(index, envelope)| match (from, index) {
                (OVER_ITS_SHARE, 0) => Err(SubmitError::SignerLimit { signer, pending: 9 }),
                (OVER_ITS_SHARE, _) => Err(SubmitError::Unverified),
                _ => Ok(envelope.id(&self.chain)),
            })
            .collect();
        Box::pin(async move { results })
    }

    fn admits_from(&self, from: IpAddr) -> Result<(), SubmitError> {
        if from == REFUSED {
            return Err(SubmitError::Throttled {
                retry_after_ms: 9_500,
            });
        }
        Ok(())
    }

    fn pending(&self, id: &TxId) -> Option<PendingState> {
        self.inner.pending(id)
    }

    fn status(&self) -> NodeStatus {
        self.inner.status()
    }

    fn metrics(&self) -> NodeMetrics {
        self.inner.metrics()
    }
}

async fn post(
    base: &str,
    path: &str,
    from: IpAddr,
    body: Vec<u8>,
) -> (StatusCode, Value, Option<String>) {
    let client = reqwest::Client::builder()
        .local_address(from)
        .build()
        .unwrap();
    let response = client
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap(), retry_after)
}

#[tokio::test]
async fn the_node_sees_each_clients_address_and_refuses_a_throttled_one_before_its_body() {
    let chain = Chain::new("submitter");
    let envelope = chain.story[4][0].clone();
    let node = Arc::new(AddressNode {
        inner: TestNode::new(&chain, None),
        chain: chain.binding().clone(),
        seen: Mutex::new(Vec::new()),
    });
    let state = ApiState {
        store: chain.store.clone(),
        node: node.clone(),
        limits: ApiLimits::default(),
        public_url: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(suyuan_api::serve(listener, state, std::future::pending()));
    let body = serde_json::to_vec(&envelope).unwrap();

    for last in [1, 5] {
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, last));
        let (status, answer, _) = post(&base, "/v1/transactions", from, body.clone()).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        assert_eq!(node.seen.lock().unwrap().last(), Some(&from));
    }

    // Refused before the body is read: a body that is not even JSON gets the refusal, and the
    // node is not asked to admit anything.
    let (status, answer, retry_after) = post(
        &base,
        "/v1/transactions/batch",
        REFUSED,
        b"not json".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert_eq!(answer["code"], "throttled");
    assert_eq!(answer["retry_after_ms"], 9_500);
    assert_eq!(retry_after.as_deref(), Some("10"));
    assert_eq!(node.seen.lock().unwrap().len(), 2);

    // A signer at its bound, and an envelope the node did not reach in a failed batch.
    let (status, answer, retry_after) =
        post(&base, "/v1/transactions", OVER_ITS_SHARE, body.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert_eq!(
        (
            answer["code"].as_str(),
            answer["field"].as_str(),
            answer["pending"].as_u64()
        ),
        (Some("signer_limit"), Some("signer"), Some(9))
    );
    assert_eq!(retry_after.as_deref(), Some("1"));
    let batch = serde_json::to_vec(&vec![envelope.clone(), envelope]).unwrap();
    let (status, answer, _) = post(&base, "/v1/transactions/batch", OVER_ITS_SHARE, batch).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["results"][0]["error"]["code"], "signer_limit");
    assert_eq!(answer["results"][1]["error"]["code"], "unverified");
    server.abort();
}
