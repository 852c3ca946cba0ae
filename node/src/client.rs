//! Talk to a node's HTTP API: submit envelopes, read status, transactions, blocks, products and
//! codes, and read enterprises: registration, records, supplier reports, scores and rankings.
//!
//! One [`ApiClient`] holds one `reqwest::Client`, so its connections are kept alive and reused:
//! make one per node and share it (it is cheap to clone). Every call either returns the body the
//! API documents, or a [`ClientError`] telling a refusal by the server (a status and an
//! [`ErrorBody`]) from a failure to talk to it at all.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use reqwest::header::CONTENT_TYPE;
use reqwest::{StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use suyuan_api::bundle::{ConsistencyBundle, ProofBundle};
use suyuan_api::raw::{MAX_RAW_RESPONSE_BYTES, RAW_BLOCKS_CONTENT_TYPE, RawBlock, decode_blocks};
use suyuan_api::types::{
    BatchResponse, BatchResult, BlockView, CodeView, CommittedTx, ErrorBody, NodeStatus,
    ProductView, SubmitResponse, TransactionView,
};
use suyuan_api::views::{
    EnterpriseRecordsPage, EnterpriseView, RecordOrder, ScoreRanking, ScoreView, SupplierReport,
};
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::tx::{Envelope, TxId};

/// How long one request may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// First and longest pause between polls in [`ApiClient::wait_committed`].
const POLL_FIRST: Duration = Duration::from_millis(50);
const POLL_MAX: Duration = Duration::from_millis(500);

/// Why a call did not return what was asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// The server answered with an error status and a JSON error body.
    #[error("the node refused ({status}): {body}")]
    Refused {
        /// The HTTP status.
        status: StatusCode,
        /// What it said.
        body: ErrorBody,
    },
    /// The transaction was admitted, then refused by the node (see `wait_committed`).
    #[error("transaction {id} was rejected: {body}")]
    Rejected {
        /// The transaction.
        id: TxId,
        /// Why.
        body: ErrorBody,
    },
    /// The transaction was not committed in time.
    #[error("transaction {id} was not committed within {} ms", waited.as_millis())]
    Timeout {
        /// The transaction.
        id: TxId,
        /// How long was waited.
        waited: Duration,
    },
    /// The request did not get an answer: connection refused, reset, timed out.
    #[error("no answer from {url}: {}", causes(error))]
    Transport {
        /// The URL asked.
        url: String,
        /// What failed; its causes are in the message, so it is not a `source`.
        error: reqwest::Error,
    },
    /// The server answered something that is not the API's JSON.
    #[error("unexpected answer from {url} ({status}): {detail}")]
    Protocol {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: StatusCode,
        /// What was wrong with it.
        detail: String,
    },
}

impl ClientError {
    /// The server's error body, when the server refused or rejected.
    pub(crate) fn body(&self) -> Option<&ErrorBody> {
        match self {
            ClientError::Refused { body, .. } | ClientError::Rejected { body, .. } => Some(body),
            _ => None,
        }
    }

    /// Whether the server said it does not have what was asked for (404).
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, ClientError::Refused { status, .. } if *status == StatusCode::NOT_FOUND)
    }
}

/// A client of one node's API.
#[derive(Debug, Clone)]
pub(crate) struct ApiClient {
    http: reqwest::Client,
    base: Url,
}

impl ApiClient {
    /// A client of the API at `base_url`, e.g. `http://127.0.0.1:8100`.
    pub(crate) fn new(base_url: &str) -> anyhow::Result<Self> {
        let mut base = Url::parse(base_url)
            .with_context(|| format!("{base_url} is not a URL like http://127.0.0.1:8100"))?;
        anyhow::ensure!(
            base.scheme() == "http",
            "{base_url}: only http:// is supported"
        );
        anyhow::ensure!(
            base.query().is_none() && base.fragment().is_none(),
            "{base_url}: the API address takes no query or fragment"
        );
        // Joining paths below appends segments; a trailing slash would leave an empty one.
        let path = base.path().trim_end_matches('/').to_owned();
        base.set_path(&path);
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .context("building the HTTP client")?;
        Ok(ApiClient { http, base })
    }

    /// The API's base URL.
    pub(crate) fn base_url(&self) -> &Url {
        &self.base
    }

    /// `GET /v1/status`.
    pub(crate) async fn status(&self) -> Result<NodeStatus, ClientError> {
        self.get(&["v1", "status"]).await
    }

    /// `POST /v1/transactions`: the id of the admitted transaction.
    pub(crate) async fn submit(&self, envelope: &Envelope) -> Result<TxId, ClientError> {
        let response: SubmitResponse = self.post(&["v1", "transactions"], envelope).await?;
        Ok(response.id)
    }

    /// `POST /v1/transactions/batch`: per envelope, in order, its id or why it was refused.
    pub(crate) async fn submit_batch(
        &self,
        envelopes: &[Envelope],
    ) -> Result<Vec<Result<TxId, ErrorBody>>, ClientError> {
        let url = self.url(&["v1", "transactions", "batch"]);
        let response: BatchResponse = self
            .post(&["v1", "transactions", "batch"], envelopes)
            .await?;
        if response.results.len() != envelopes.len() {
            return Err(ClientError::Protocol {
                url: url.to_string(),
                status: StatusCode::OK,
                detail: format!(
                    "{} results for {} envelopes",
                    response.results.len(),
                    envelopes.len()
                ),
            });
        }
        Ok(response
            .results
            .into_iter()
            .map(|result| match result {
                BatchResult::Accepted { id } => Ok(id),
                BatchResult::Refused { error } => Err(error),
            })
            .collect())
    }

    /// `GET /v1/transactions/{id}`; a transaction the node does not know is
    /// `Refused` with status 404 and code `unknown_transaction`.
    pub(crate) async fn transaction(&self, id: &TxId) -> Result<TransactionView, ClientError> {
        self.get(&["v1", "transactions", &id.to_hex()]).await
    }

    /// `GET /v1/blocks/{height}`.
    pub(crate) async fn block(&self, height: u64) -> Result<BlockView, ClientError> {
        self.get(&["v1", "blocks", &height.to_string()]).await
    }

    /// `GET /v1/blocks/latest`.
    pub(crate) async fn latest_block(&self) -> Result<BlockView, ClientError> {
        self.get(&["v1", "blocks", "latest"]).await
    }

    /// `GET /v1/blocks/raw?from=&limit=`: up to `limit` committed blocks from `from` with their
    /// stored justifications, as bytes (`suyuan_api::raw`); no more than
    /// [`MAX_RAW_RESPONSE_BYTES`] are read, whatever the server sends.
    pub(crate) async fn raw_blocks(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RawBlock>, ClientError> {
        let mut url = self.url(&["v1", "blocks", "raw"]);
        url.query_pairs_mut()
            .append_pair("from", &from.to_string())
            .append_pair("limit", &limit.to_string());
        let protocol = |status, detail: String| ClientError::Protocol {
            url: url.to_string(),
            status,
            detail,
        };
        let transport = |error| ClientError::Transport {
            url: url.to_string(),
            error,
        };
        let mut response = self.http.get(url.clone()).send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            // An error status is always `Refused` (or `Protocol`, for a body not the API's).
            Self::read_success(&url, Ok(response)).await?;
            return Err(protocol(status, "an error status read as a success".into()));
        }
        let content_type = response.headers().get(CONTENT_TYPE).cloned();
        if content_type.as_ref().and_then(|value| value.to_str().ok())
            != Some(RAW_BLOCKS_CONTENT_TYPE)
        {
            return Err(protocol(
                status,
                format!("a {content_type:?} body, not {RAW_BLOCKS_CONTENT_TYPE}"),
            ));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > MAX_RAW_RESPONSE_BYTES {
                return Err(protocol(
                    status,
                    format!("more than {MAX_RAW_RESPONSE_BYTES} bytes of blocks"),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        decode_blocks(&bytes).map_err(|error| protocol(status, format!("not raw blocks: {error}")))
    }

    /// `GET /v1/products/{code}`: the code is sent percent-encoded as one path segment.
    pub(crate) async fn product(&self, code: &str) -> Result<ProductView, ClientError> {
        self.get(&["v1", "products", code]).await
    }

    /// `GET /v1/codes/{code}`: what the code is and the ledger's latest record of it; an
    /// invalid code is `Refused` with status 400 and code `invalid_code`.
    pub(crate) async fn code(&self, code: &str) -> Result<CodeView, ClientError> {
        self.get(&["v1", "codes", code]).await
    }

    /// `GET /v1/proofs/{code}`: the proof bundle of the code's latest record (or of its
    /// absence) as of the node's latest finalized block; an invalid code is `Refused` with
    /// status 400 and code `invalid_code`.
    pub(crate) async fn proof(&self, code: &str) -> Result<ProofBundle, ClientError> {
        self.get(&["v1", "proofs", code]).await
    }

    /// `GET /v1/proofs/consistency?from=`: the latest finalized header and the proof that its
    /// record log extends the log at height `from`.
    pub(crate) async fn consistency(&self, from: u64) -> Result<ConsistencyBundle, ClientError> {
        let query = [("from", from.to_string())];
        self.get_query(&["v1", "proofs", "consistency"], &query)
            .await
    }

    /// `GET /v1/enterprises/{uscc}`: the registration as of the head; an enterprise that is not
    /// enrolled is `Refused` with status 404 and code `unknown_enterprise`.
    pub(crate) async fn enterprise(&self, uscc: &Uscc) -> Result<EnterpriseView, ClientError> {
        self.get(&["v1", "enterprises", uscc.as_str()]).await
    }

    /// `GET /v1/enterprises/{uscc}/records`: one page in `order`, from the cursor `after` (a
    /// previous page's `next`), of at most `limit` records (the node's default without it).
    pub(crate) async fn enterprise_records(
        &self,
        uscc: &Uscc,
        order: RecordOrder,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<EnterpriseRecordsPage, ClientError> {
        let mut query = vec![("order", wire_name(&order))];
        query.extend(after.map(|after| ("after", after.to_owned())));
        query.extend(limit.map(|limit| ("limit", limit.to_string())));
        self.get_query(&["v1", "enterprises", uscc.as_str(), "records"], &query)
            .await
    }

    /// Every record naming `uscc` in `order` after the cursor `after` (from the start without
    /// it), following the `next` cursors in pages of `page_limit`, but no more than
    /// `max_records` of them: the answer is one page holding them all, whose `next` is `None`
    /// when the history was read to its end, or else the cursor to go on from.
    ///
    /// # Panics
    /// If `page_limit` or `max_records` is 0: there would be nothing to ask for.
    pub(crate) async fn all_enterprise_records(
        &self,
        uscc: &Uscc,
        order: RecordOrder,
        after: Option<&str>,
        page_limit: usize,
        max_records: usize,
    ) -> Result<EnterpriseRecordsPage, ClientError> {
        assert!(
            page_limit > 0 && max_records > 0,
            "all_enterprise_records asks for at least one record a page and in all"
        );
        let mut all = EnterpriseRecordsPage {
            uscc: uscc.clone(),
            order,
            records: Vec::new(),
            next: after.map(str::to_owned),
        };
        loop {
            let room = max_records - all.records.len();
            let limit = page_limit.min(room);
            let page = self
                .enterprise_records(uscc, order, all.next.as_deref(), Some(limit))
                .await?;
            all.records.extend(page.records);
            all.next = page.next;
            if all.next.is_none() || all.records.len() >= max_records {
                return Ok(all);
            }
        }
    }

    /// `GET /v1/enterprises/{uscc}/report?format=json`: the supplier verification report.
    pub(crate) async fn report(&self, uscc: &Uscc) -> Result<SupplierReport, ClientError> {
        let query = [("format", "json".to_owned())];
        self.get_query(&["v1", "enterprises", uscc.as_str(), "report"], &query)
            .await
    }

    /// `GET /v1/enterprises/{uscc}/report?format=html`: the report as a self-contained page.
    pub(crate) async fn report_html(&self, uscc: &Uscc) -> Result<String, ClientError> {
        let mut url = self.url(&["v1", "enterprises", uscc.as_str(), "report"]);
        url.query_pairs_mut().append_pair("format", "html");
        let response = self.http.get(url.clone()).send().await;
        let Success {
            status,
            content_type,
            bytes,
        } = Self::read_success(&url, response).await?;
        let protocol = |detail: String| ClientError::Protocol {
            url: url.to_string(),
            status,
            detail,
        };
        if !content_type.starts_with("text/html") {
            return Err(protocol(format!("a {content_type:?} body, not text/html")));
        }
        String::from_utf8(bytes)
            .map_err(|error| protocol(format!("the page is not UTF-8: {error}")))
    }

    /// `GET /v1/enterprises/{uscc}/score`: the traceability score and its components.
    pub(crate) async fn score(&self, uscc: &Uscc) -> Result<ScoreView, ClientError> {
        self.get(&["v1", "enterprises", uscc.as_str(), "score"])
            .await
    }

    /// `GET /v1/scores`: the members of `registrar` (its public key in hex or its name in
    /// genesis; every enrolled enterprise without it) ranked by score, ranks from `offset`, at
    /// most `limit` of them. A registrar genesis does not name is `Refused` with status 404 and
    /// code `unknown_registrar`.
    pub(crate) async fn scores(
        &self,
        registrar: Option<&str>,
        offset: Option<usize>,
        limit: Option<usize>,
    ) -> Result<ScoreRanking, ClientError> {
        let mut query = Vec::new();
        query.extend(registrar.map(|registrar| ("registrar", registrar.to_owned())));
        query.extend(offset.map(|offset| ("offset", offset.to_string())));
        query.extend(limit.map(|limit| ("limit", limit.to_string())));
        self.get_query(&["v1", "scores"], &query).await
    }

    /// Polls `GET /v1/transactions/{id}` until the transaction is committed, the node reports it
    /// rejected (`Rejected`), or `timeout` passes (`Timeout`). A transaction the node does not
    /// know yet (404) is waited for: it may still be travelling from another node.
    pub(crate) async fn wait_committed(
        &self,
        id: &TxId,
        timeout: Duration,
    ) -> Result<CommittedTx, ClientError> {
        let start = Instant::now();
        let mut pause = POLL_FIRST;
        loop {
            match self.transaction(id).await {
                Ok(TransactionView::Committed(tx)) => return Ok(*tx),
                Ok(TransactionView::Rejected { id, error }) => {
                    return Err(ClientError::Rejected { id, body: error });
                }
                Ok(TransactionView::Pending { .. }) => {}
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(error),
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(ClientError::Timeout { id: *id, waited });
            }
            tokio::time::sleep(pause.min(timeout - waited)).await;
            pause = (pause * 2).min(POLL_MAX);
        }
    }

    /// The URL of `segments` under the base, each percent-encoded as one segment.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("new() accepts only http URLs, which have a path")
            .pop_if_empty()
            .extend(segments);
        url
    }

    async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, ClientError> {
        self.get_query(segments, &[]).await
    }

    /// GETs `segments` with the `query` parameters, encoded.
    async fn get_query<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<T, ClientError> {
        let mut url = self.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let response = self.http.get(url.clone()).send().await;
        Self::read(url, response).await
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<T, ClientError> {
        let url = self.url(segments);
        let response = self.http.post(url.clone()).json(body).send().await;
        Self::read(url, response).await
    }

    /// Reads a success body as `T`, an error status as `Refused`.
    async fn read<T: DeserializeOwned>(
        url: Url,
        response: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, ClientError> {
        let success = Self::read_success(&url, response).await?;
        serde_json::from_slice(&success.bytes).map_err(|error| ClientError::Protocol {
            url: url.to_string(),
            status: success.status,
            detail: format!("not the expected JSON: {error}"),
        })
    }

    /// Reads a success body and its content type, an error status as `Refused`.
    async fn read_success(
        url: &Url,
        response: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<Success, ClientError> {
        let transport = |error| ClientError::Transport {
            url: url.to_string(),
            error,
        };
        let response = response.map_err(transport)?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response.bytes().await.map_err(transport)?.to_vec();
        if status.is_success() {
            return Ok(Success {
                status,
                content_type,
                bytes,
            });
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => Err(ClientError::Refused { status, body }),
            Err(_) => Err(ClientError::Protocol {
                url: url.to_string(),
                status,
                detail: format!(
                    "not an API error body: {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                ),
            }),
        }
    }
}

/// A success answer, read whole.
struct Success {
    /// Its status, 2xx.
    status: StatusCode,
    /// Its `Content-Type`, empty if it has none.
    content_type: String,
    /// Its body.
    bytes: Vec<u8>,
}

/// The name serde gives a value of the API's, e.g. `newest` for [`RecordOrder::Newest`]: the
/// one the API reads in a query and writes in its JSON.
///
/// # Panics
/// On a value that does not serialise as a string: it is meant for the API's unit enums
/// (`RecordOrder`, `Validity`, `KeyState`, ...), which all do.
pub(crate) fn wire_name(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        other => panic!("wire_name takes a unit enum of the API's, not {other:?}"),
    }
}

/// What went wrong under a reqwest error: its causes, innermost last ("client error
/// (Connect): tcp connect error: Connection refused"), rather than reqwest's own wording, which
/// repeats the URL.
fn causes(error: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        causes.push(inner.to_string());
        cause = inner.source();
    }
    if causes.is_empty() {
        error.to_string()
    } else {
        causes.join(": ")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use suyuan_api::metrics::{NodeMetrics, finalization_latency_histogram};
    use suyuan_api::types::{
        MempoolStatus, NodeIdentity, PendingState, SyncState, TransactionView,
    };
    use suyuan_api::{ApiLimits, ApiState, BoxFuture, Node, SubmitError};
    use suyuan_ledger::demo::{Demo, who};
    use suyuan_storage::Store;

    use super::*;

    /// A node that admits whatever verifies into a map, and refuses what it was told to.
    struct MapNode {
        chain_id: String,
        status: NodeStatus,
        pending: Mutex<BTreeMap<TxId, ()>>,
        rejected: Mutex<BTreeMap<TxId, ErrorBody>>,
    }

    impl Node for MapNode {
        fn submit(&self, envelopes: Vec<Envelope>) -> BoxFuture<Vec<Result<TxId, SubmitError>>> {
            let results = envelopes
                .into_iter()
                .map(|envelope| {
                    let tx = envelope
                        .verify(&self.chain_id)
                        .map_err(SubmitError::Envelope)?;
                    let mut pending = self.pending.lock().unwrap();
                    if pending.insert(tx.id, ()).is_some() {
                        return Err(SubmitError::Duplicate(tx.id));
                    }
                    Ok(tx.id)
                })
                .collect();
            Box::pin(async move { results })
        }

        fn pending(&self, id: &TxId) -> Option<PendingState> {
            if let Some(error) = self.rejected.lock().unwrap().get(id) {
                return Some(PendingState::Rejected {
                    error: error.clone(),
                });
            }
            self.pending
                .lock()
                .unwrap()
                .contains_key(id)
                .then_some(PendingState::Pending)
        }

        fn status(&self) -> NodeStatus {
            self.status.clone()
        }

        /// Nothing: blocks reach the store from the fixture, not through this node.
        fn metrics(&self) -> NodeMetrics {
            NodeMetrics {
                blocks_committed: 0,
                transactions_committed: 0,
                finalization_latency: finalization_latency_histogram(),
            }
        }
    }

    /// A store with the demo's first `height` blocks, a node over it and a server on loopback;
    /// `remote`'s tests run the commands against it too.
    pub(crate) struct Fixture {
        pub(crate) demo: Demo,
        pub(crate) story: Vec<Vec<Envelope>>,
        store: Arc<Store>,
        node: Arc<MapNode>,
        pub(crate) client: ApiClient,
        /// A directory of its own, removed with it.
        pub(crate) dir: std::path::PathBuf,
    }

    impl Fixture {
        /// A fixture with the story's first `height` blocks (5 is the whole story), in a
        /// directory named after `name`.
        pub(crate) async fn new(name: &str, height: u64) -> Fixture {
            let dir =
                std::env::temp_dir().join(format!("suyuan-client-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let demo = Demo::new(4, 7100);
            let story = demo.story();
            let store = Arc::new(Store::open(&dir, &demo.genesis).unwrap());
            let genesis = &demo.genesis;
            let node = Arc::new(MapNode {
                chain_id: genesis.chain_id.clone(),
                status: NodeStatus {
                    chain_id: genesis.chain_id.clone(),
                    genesis_hash: genesis.hash(),
                    node: NodeIdentity {
                        index: 0,
                        name: genesis.validators[0].name.to_string(),
                        public_key: genesis.validators[0].public_key,
                    },
                    height: 0,
                    head_hash: genesis.hash(),
                    view: 1,
                    validators: Vec::new(),
                    sync: SyncState::Synced,
                    mempool: MempoolStatus {
                        transactions: 0,
                        bytes: 0,
                    },
                    version: "test".into(),
                },
                pending: Mutex::new(BTreeMap::new()),
                rejected: Mutex::new(BTreeMap::new()),
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}/", listener.local_addr().unwrap());
            let state = ApiState {
                store: store.clone(),
                node: node.clone(),
                limits: ApiLimits::default(),
            };
            tokio::spawn(suyuan_api::serve(listener, state, std::future::pending()));
            let fixture = Fixture {
                demo,
                story,
                store,
                node,
                client: ApiClient::new(&base).unwrap(),
                dir,
            };
            for h in 1..=height {
                fixture.commit(h);
            }
            fixture
        }

        /// Commits story block `height`.
        fn commit(&self, height: u64) {
            let envelopes = self.story[(height - 1) as usize].clone();
            suyuan_api::signing::commit_demo_block(&self.store, &self.demo, envelopes).unwrap();
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

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
        assert_eq!(id, envelope.id(&fixture.demo.genesis.chain_id));
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
            Ok(fixture.story[4][0].id(&fixture.demo.genesis.chain_id))
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
        fixture.node.rejected.lock().unwrap().insert(
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
        let unknown = fixture.story[0][0].id(&fixture.demo.genesis.chain_id);
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

    /// The USCC of demo enterprise `index` (see `demo::who`).
    pub(crate) fn uscc_of(demo: &Demo, index: usize) -> Uscc {
        demo.enterprises[index].profile.uscc.clone()
    }

    /// A well-formed USCC that no demo record names.
    pub(crate) fn stranger() -> Uscc {
        suyuan_ledger::demo::uscc("91110000MA01XYK12")
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
}
