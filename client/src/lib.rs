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
use suyuan_api::raw::{MAX_RAW_RESPONSE_BYTES, RAW_BLOCKS_CONTENT_TYPE, RawBlock, decode_blocks};
use suyuan_api::types::{
    BatchResponse, BatchResult, BlockView, CatalogueView, CodeView, CommittedTx, ErrorBody,
    NodeStatus, ProductView, SubmitResponse, TransactionView,
};
use suyuan_api::views::{
    EnterpriseRecordsPage, EnterpriseView, RecordOrder, ScoreRanking, ScoreView, SupplierReport,
};
use suyuan_ledger::codes::gs1::keys::Gln;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::tx::{Envelope, TxId};
use suyuan_proofs::bundle::{ConsistencyBundle, ProofBundle};

/// How long one request may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// First and longest pause between polls in [`ApiClient::wait_committed`].
const POLL_FIRST: Duration = Duration::from_millis(50);
const POLL_MAX: Duration = Duration::from_millis(500);

/// Why a call did not return what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
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
    pub fn body(&self) -> Option<&ErrorBody> {
        match self {
            ClientError::Refused { body, .. } | ClientError::Rejected { body, .. } => Some(body),
            _ => None,
        }
    }

    /// Whether the server said it does not have what was asked for (404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::Refused { status, .. } if *status == StatusCode::NOT_FOUND)
    }
}

/// A client of one node's API.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
}

impl ApiClient {
    /// A client of the API at `base_url`, e.g. `http://127.0.0.1:8100`.
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
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
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// `GET /v1/status`.
    pub async fn status(&self) -> Result<NodeStatus, ClientError> {
        self.get(&["v1", "status"]).await
    }

    /// `POST /v1/transactions`: the id of the admitted transaction.
    pub async fn submit(&self, envelope: &Envelope) -> Result<TxId, ClientError> {
        let response: SubmitResponse = self.post(&["v1", "transactions"], envelope).await?;
        Ok(response.id)
    }

    /// `POST /v1/transactions/batch`: per envelope, in order, its id or why it was refused.
    pub async fn submit_batch(
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
    pub async fn transaction(&self, id: &TxId) -> Result<TransactionView, ClientError> {
        self.get(&["v1", "transactions", &id.to_hex()]).await
    }

    /// `GET /v1/blocks/{height}`.
    pub async fn block(&self, height: u64) -> Result<BlockView, ClientError> {
        self.get(&["v1", "blocks", &height.to_string()]).await
    }

    /// `GET /v1/blocks/latest`.
    pub async fn latest_block(&self) -> Result<BlockView, ClientError> {
        self.get(&["v1", "blocks", "latest"]).await
    }

    /// `GET /v1/blocks/raw?from=&limit=`: up to `limit` committed blocks from `from` with their
    /// stored justifications, as bytes (`suyuan_api::raw`); no more than
    /// [`MAX_RAW_RESPONSE_BYTES`] are read, whatever the server sends.
    pub async fn raw_blocks(&self, from: u64, limit: usize) -> Result<Vec<RawBlock>, ClientError> {
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
    pub async fn product(&self, code: &str) -> Result<ProductView, ClientError> {
        self.get(&["v1", "products", code]).await
    }

    /// `GET /v1/catalogue`: the consortium's key-product catalogue.
    pub async fn catalogue(&self) -> Result<CatalogueView, ClientError> {
        self.get(&["v1", "catalogue"]).await
    }

    /// `GET /v1/codes/{code}`: what the code is and the ledger's latest record of it; an
    /// invalid code is `Refused` with status 400 and code `invalid_code`.
    pub async fn code(&self, code: &str) -> Result<CodeView, ClientError> {
        self.get(&["v1", "codes", code]).await
    }

    /// `GET /v1/proofs/{code}`: the proof bundle of the code's latest record (or of its
    /// absence) as of the node's latest finalized block; an invalid code is `Refused` with
    /// status 400 and code `invalid_code`.
    pub async fn proof(&self, code: &str) -> Result<ProofBundle, ClientError> {
        self.get(&["v1", "proofs", code]).await
    }

    /// `GET /v1/proofs/consistency?from=`: the latest finalized header and the proof that its
    /// record log extends the log at height `from`.
    pub async fn consistency(&self, from: u64) -> Result<ConsistencyBundle, ClientError> {
        let query = [("from", from.to_string())];
        self.get_query(&["v1", "proofs", "consistency"], &query)
            .await
    }

    /// `GET /v1/enterprises/{uscc}`: the registration as of the head; an enterprise that is not
    /// enrolled is `Refused` with status 404 and code `unknown_enterprise`.
    pub async fn enterprise(&self, uscc: &Uscc) -> Result<EnterpriseView, ClientError> {
        self.get(&["v1", "enterprises", uscc.as_str()]).await
    }

    /// `GET /v1/parties/{gln}`: the enterprise whose profile claims the party GLN `gln`
    /// (a 404 `unknown_party` when none does).
    pub async fn party(&self, gln: &Gln) -> Result<EnterpriseView, ClientError> {
        self.get(&["v1", "parties", gln.as_str()]).await
    }

    /// `GET /v1/enterprises/{uscc}/records`: one page in `order`, from the cursor `after` (a
    /// previous page's `next`), of at most `limit` records (the node's default without it).
    pub async fn enterprise_records(
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
    pub async fn all_enterprise_records(
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
    pub async fn report(&self, uscc: &Uscc) -> Result<SupplierReport, ClientError> {
        let query = [("format", "json".to_owned())];
        self.get_query(&["v1", "enterprises", uscc.as_str(), "report"], &query)
            .await
    }

    /// `GET /v1/enterprises/{uscc}/report?format=html`: the report as a self-contained page.
    pub async fn report_html(&self, uscc: &Uscc) -> Result<String, ClientError> {
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
    pub async fn score(&self, uscc: &Uscc) -> Result<ScoreView, ClientError> {
        self.get(&["v1", "enterprises", uscc.as_str(), "score"])
            .await
    }

    /// `GET /v1/scores`: the members of `registrar` (its public key in hex or its name in
    /// genesis; every enrolled enterprise without it) ranked by score, ranks from `offset`, at
    /// most `limit` of them. A registrar genesis does not name is `Refused` with status 404 and
    /// code `unknown_registrar`.
    pub async fn scores(
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

    /// `GET /v1/recalls`: one page of the open recalls, from `after` (the `next` of the page
    /// before).
    pub async fn open_recalls(
        &self,
        after: Option<&str>,
    ) -> Result<suyuan_api::views::OpenRecallsPage, ClientError> {
        let query: Vec<(&str, String)> = after
            .map(|after| ("after", after.to_owned()))
            .into_iter()
            .collect();
        self.get_query(&["v1", "recalls"], &query).await
    }

    /// `GET /v1/products/{code}/epcis`: every event naming the code, as an EPCIS document.
    pub async fn epcis_product(&self, code: &str) -> Result<serde_json::Value, ClientError> {
        self.get(&["v1", "products", code, "epcis"]).await
    }

    /// `GET /v1/enterprises/{uscc}/epcis`: every event of the enterprise, as an EPCIS
    /// document.
    pub async fn epcis_enterprise(&self, uscc: &Uscc) -> Result<serde_json::Value, ClientError> {
        self.get(&["v1", "enterprises", &uscc.to_string(), "epcis"])
            .await
    }

    /// `GET /epcis/events` with the simple event query's `parameters`: one page, as an EPCIS
    /// query document.
    pub async fn epcis_events(
        &self,
        parameters: &[(&str, String)],
    ) -> Result<serde_json::Value, ClientError> {
        self.get_query(&["epcis", "events"], parameters).await
    }

    /// Polls `GET /v1/transactions/{id}` until the transaction is committed, the node reports it
    /// rejected (`Rejected`), or `timeout` passes (`Timeout`). A transaction the node does not
    /// know yet (404) is waited for: it may still be travelling from another node.
    pub async fn wait_committed(
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
pub fn wire_name(value: &impl Serialize) -> String {
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
