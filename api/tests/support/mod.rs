//! A real API server on 127.0.0.1 over a real RocksDB store holding the demo chain, with a test
//! node that admits envelopes into an in-memory mempool after checking them like a node does.

#![allow(
    dead_code,
    reason = "each test binary uses a part of the support module"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::Value;
use suyuan_api::metrics::{Histogram, NodeMetrics, finalization_latency_histogram};
use suyuan_api::types::{
    ErrorBody, MempoolStatus, NodeIdentity, NodeStatus, PendingState, SyncState, ValidatorStatus,
};
use suyuan_api::{ApiLimits, ApiState, BoxFuture, Node};
use suyuan_ledger::block::{Block, Header};
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, DemoBlock};
use suyuan_ledger::exec::{BlockContext, Executor};
use suyuan_ledger::record::Record;
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{ChainBinding, Envelope, Payload, TxId};
use suyuan_storage::Store;
use tokio::sync::{Semaphore, oneshot};

/// Milliseconds in a day: block `h` is timed `h` days after genesis, as the demo story is.
pub(crate) const DAY_MS: u64 = 86_400_000;

/// Blocks of the demo story committed before each test: block 5 is left to submit.
pub(crate) const COMMITTED_BLOCKS: u64 = 4;

/// The demo consortium, its story, and a store holding the first [`COMMITTED_BLOCKS`] blocks.
pub(crate) struct Chain {
    pub(crate) demo: Demo,
    pub(crate) story: Vec<Vec<Envelope>>,
    pub(crate) store: Arc<Store>,
    commits: Arc<Commits>,
    dir: TempDir,
}

/// What [`Chain::commit`] counts, for the test node's metrics.
struct Commits {
    blocks: AtomicU64,
    transactions: AtomicU64,
    /// Seconds each commit took to execute and write: test blocks are not proposed, so there
    /// is no proposal time to measure from.
    latency: Histogram,
}

impl Chain {
    /// A new store in a fresh directory with story blocks 1..=`COMMITTED_BLOCKS` committed.
    pub(crate) fn new(label: &str) -> Chain {
        Self::with_validators(label, 4)
    }

    /// [`Chain::new`] for a demo consortium of `validators` validators.
    pub(crate) fn with_validators(label: &str, validators: usize) -> Chain {
        let demo = Demo::new(validators, 7100);
        let story = demo.story();
        let dir = TempDir::new(label);
        let store = Store::open(dir.path(), &demo.genesis).expect("a fresh store opens");
        let chain = Chain {
            demo,
            story,
            store: Arc::new(store),
            commits: Arc::new(Commits {
                blocks: AtomicU64::new(0),
                transactions: AtomicU64::new(0),
                latency: finalization_latency_histogram(),
            }),
            dir,
        };
        for height in 1..=COMMITTED_BLOCKS {
            chain.commit(height, chain.story[(height - 1) as usize].clone());
        }
        chain
    }

    /// The chain id of the demo genesis.
    pub(crate) fn chain_id(&self) -> &str {
        &self.demo.genesis.chain_id
    }

    /// What envelopes are signed for: the chain id and the genesis hash.
    pub(crate) fn binding(&self) -> &ChainBinding {
        self.store.binding()
    }

    /// The genesis indices of the validators that sign each committed block's finalization:
    /// the first quorum of them (0, 1 and 2 of four).
    pub(crate) fn finalizers(&self) -> Vec<usize> {
        (0..self.demo.genesis.quorum()).collect()
    }

    /// The justification stored with the block of `header`: a finalization signed by the
    /// [`Chain::finalizers`]. Demo blocks are proposed in the view equal to their height, so
    /// the parent's view is one less.
    pub(crate) fn justification(&self, header: &Header) -> Vec<u8> {
        suyuan_proofs::signing::finalization(
            header,
            header.height - 1,
            &self.demo.validators,
            &self.finalizers(),
        )
        .encode()
    }

    /// `record` signed by `key` for this chain, under `nonce`.
    pub(crate) fn sign(&self, key: &KeyPair, nonce: u64, record: Record) -> Envelope {
        Envelope::sign(
            self.binding(),
            &Payload {
                nonce,
                record,
                event: None,
            },
            key,
        )
    }

    /// Executes `envelopes` as block `height` over the store and commits it.
    pub(crate) fn commit(&self, height: u64, envelopes: Vec<Envelope>) -> Block {
        let started = std::time::Instant::now();
        assert_eq!(
            height,
            self.store.head().height + 1,
            "blocks commit in order"
        );
        let DemoBlock { block, txs, .. } =
            suyuan_testkit::commit_demo_block(&self.store, &self.demo, envelopes)
                .expect("the block commits");
        self.commits.blocks.fetch_add(1, Ordering::Relaxed);
        self.commits
            .transactions
            .fetch_add(txs.len() as u64, Ordering::Relaxed);
        self.commits
            .latency
            .observe(started.elapsed().as_secs_f64());
        block
    }
}

/// A node that admits envelopes as the real one does (signature, duplicates, rules over the
/// committed state) into an in-memory map, and remembers refusals.
pub(crate) struct TestNode {
    store: Arc<Store>,
    commits: Arc<Commits>,
    demo: Demo,
    pending: Mutex<BTreeMap<TxId, Envelope>>,
    rejected: Mutex<BTreeMap<TxId, ErrorBody>>,
    /// When set, `submit` waits for a permit first: tests hold requests in flight with it.
    gate: Option<Arc<Semaphore>>,
}

impl TestNode {
    /// A node over `chain`'s store; with `gate`, submissions wait for its permits.
    pub(crate) fn new(chain: &Chain, gate: Option<Arc<Semaphore>>) -> TestNode {
        TestNode {
            store: chain.store.clone(),
            commits: chain.commits.clone(),
            demo: chain.demo.clone(),
            pending: Mutex::new(BTreeMap::new()),
            rejected: Mutex::new(BTreeMap::new()),
            gate,
        }
    }

    /// The ids in the mempool.
    pub(crate) fn pending_ids(&self) -> Vec<TxId> {
        self.pending.lock().unwrap().keys().copied().collect()
    }

    fn admit(&self, envelope: Envelope) -> Result<TxId, SubmitError> {
        let genesis = &self.demo.genesis;
        let tx = envelope
            .verify(&genesis.binding())
            .map_err(SubmitError::Envelope)?;
        if self.pending.lock().unwrap().contains_key(&tx.id) {
            return Err(SubmitError::Duplicate(tx.id));
        }
        let height = self.store.head().height + 1;
        let context = BlockContext {
            genesis,
            height,
            time_ms: genesis.genesis_time_ms + height * DAY_MS,
        };
        if let Err(error) = Executor::new(&*self.store, context).apply(&tx) {
            let error = SubmitError::Rule(error);
            self.rejected
                .lock()
                .unwrap()
                .insert(tx.id, suyuan_api::types::ErrorBody::from(&error));
            return Err(error);
        }
        self.pending.lock().unwrap().insert(tx.id, tx.envelope);
        Ok(tx.id)
    }
}

impl Node for TestNode {
    fn submit(
        &self,
        envelopes: Vec<Envelope>,
        _from: std::net::IpAddr,
    ) -> BoxFuture<Vec<Result<TxId, SubmitError>>> {
        let gate = self.gate.clone();
        let results: Vec<_> = envelopes.into_iter().map(|e| self.admit(e)).collect();
        Box::pin(async move {
            if let Some(gate) = gate {
                let _permit = gate.acquire().await.expect("the gate is never closed");
            }
            results
        })
    }

    fn pending(&self, id: &TxId) -> Option<PendingState> {
        if self.pending.lock().unwrap().contains_key(id) {
            return Some(PendingState::Pending);
        }
        self.rejected
            .lock()
            .unwrap()
            .get(id)
            .map(|error| PendingState::Rejected {
                error: error.clone(),
            })
    }

    fn metrics(&self) -> NodeMetrics {
        NodeMetrics {
            blocks_committed: self.commits.blocks.load(Ordering::Relaxed),
            transactions_committed: self.commits.transactions.load(Ordering::Relaxed),
            finalization_latency: self.commits.latency.clone(),
            ..NodeMetrics::idle()
        }
    }

    fn status(&self) -> NodeStatus {
        let genesis = &self.demo.genesis;
        let head = self.store.head();
        let pending = self.pending.lock().unwrap();
        NodeStatus {
            chain_id: genesis.chain_id.clone(),
            genesis_hash: genesis.hash(),
            node: NodeIdentity {
                index: 0,
                name: genesis.validators[0].name.to_string(),
                public_key: genesis.validators[0].public_key,
            },
            height: head.height,
            head_hash: head.hash,
            view: head.height + 1,
            validators: genesis
                .validators
                .iter()
                .enumerate()
                .map(|(index, validator)| ValidatorStatus {
                    index,
                    name: validator.name.to_string(),
                    public_key: validator.public_key,
                    p2p_address: validator.p2p_address.to_string(),
                    api_url: None,
                    connected: index != 0,
                    is_self: index == 0,
                })
                .collect(),
            sync: SyncState::Synced,
            mempool: MempoolStatus {
                transactions: pending.len(),
                bytes: pending.values().map(|e| e.to_bytes().len()).sum(),
            },
            version: "test".into(),
        }
    }
}

/// An API server on 127.0.0.1 over a [`Chain`], stopped on [`Server::stop`] or drop.
pub(crate) struct Server {
    pub(crate) base: String,
    pub(crate) chain: Chain,
    pub(crate) node: Arc<TestNode>,
    pub(crate) http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Starts a server with default limits.
    pub(crate) async fn start(label: &str) -> Server {
        Self::start_with(label, ApiLimits::default(), None).await
    }

    /// Starts a server with `limits`, its node's submissions held by `gate` if given.
    pub(crate) async fn start_with(
        label: &str,
        limits: ApiLimits,
        gate: Option<Arc<Semaphore>>,
    ) -> Server {
        Self::serve(Chain::new(label), limits, gate).await
    }

    /// Serves `chain` with `limits`, its node's submissions held by `gate` if given.
    pub(crate) async fn serve(
        chain: Chain,
        limits: ApiLimits,
        gate: Option<Arc<Semaphore>>,
    ) -> Server {
        Self::serve_at(chain, limits, gate, None).await
    }

    /// Serves `chain` as [`Server::serve`] does, with the operator's `public_url` if given.
    pub(crate) async fn serve_at(
        chain: Chain,
        limits: ApiLimits,
        gate: Option<Arc<Semaphore>>,
        public_url: Option<String>,
    ) -> Server {
        let node = Arc::new(TestNode::new(&chain, gate));
        let state = ApiState {
            store: chain.store.clone(),
            node: node.clone(),
            limits,
            public_url,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(suyuan_api::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        Server {
            base,
            chain,
            node,
            http: reqwest::Client::new(),
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// Signals shutdown and waits for the server to finish.
    pub(crate) async fn stop(mut self) -> std::io::Result<()> {
        let _ = self.shutdown.take().expect("stopped once").send(());
        self.task
            .take()
            .expect("stopped once")
            .await
            .expect("the server task does not panic")
    }

    /// The URL of `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET `path`: status and JSON body.
    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        read(self.http.get(self.url(path)).send().await.unwrap()).await
    }

    /// POST `body` as JSON to `path`.
    pub(crate) async fn post_json(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> (StatusCode, Value) {
        read(
            self.http
                .post(self.url(path))
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// POST raw bytes to `path` as `application/json`.
    pub(crate) async fn post_raw(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        read(response).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Status and JSON body of a response (the body as a JSON string if it is not JSON).
pub(crate) async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

/// Asserts an error response: its status, its code, and that its body has a message.
#[track_caller]
pub(crate) fn assert_error(response: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(response.0, status, "{}", response.1);
    assert_eq!(response.1["code"], code, "{}", response.1);
    assert!(
        response.1["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        response.1
    );
    assert!(
        response.1.get("field").is_some(),
        "field is always present: {}",
        response.1
    );
}

/// Percent-encodes a path segment (every byte but unreserved ones).
pub(crate) fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory whose name starts with `label`.
    pub(crate) fn new(label: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "suyuan-api-{label}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("the temp dir is writable");
        TempDir(path)
    }

    /// Its path.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
