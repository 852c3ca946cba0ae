//! Serve a demo chain over HTTP from a real store, for the client's and the CLI's tests: a
//! [`Fixture`] holds a RocksDB store with the demo story's first blocks, the real API server on
//! loopback over it and an [`ApiClient`] for it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use suyuan_api::metrics::NodeMetrics;
use suyuan_api::types::{
    ErrorBody, MempoolStatus, NodeIdentity, NodeStatus, PendingState, SyncState,
};
use suyuan_api::{ApiLimits, ApiState, BoxFuture, Node};
use suyuan_client::ApiClient;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::demo::Demo;
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{ChainBinding, Envelope, TxId};
use suyuan_storage::{StorageError, Store};

/// A node that admits whatever verifies into a map, and refuses what it was told to.
pub struct MapNode {
    chain: ChainBinding,
    status: NodeStatus,
    pending: Mutex<BTreeMap<TxId, ()>>,
    rejected: Mutex<BTreeMap<TxId, ErrorBody>>,
}

impl MapNode {
    /// Remembers `id` as refused with `body`, as a node remembers a rejected transaction.
    pub fn reject(&self, id: TxId, body: ErrorBody) {
        self.rejected.lock().expect("not poisoned").insert(id, body);
    }
}

impl Node for MapNode {
    fn submit(
        &self,
        envelopes: Vec<Envelope>,
        _from: std::net::IpAddr,
    ) -> BoxFuture<Vec<Result<TxId, SubmitError>>> {
        let results = envelopes
            .into_iter()
            .map(|envelope| {
                let tx = envelope
                    .verify(&self.chain)
                    .map_err(SubmitError::Envelope)?;
                let mut pending = self.pending.lock().expect("not poisoned");
                if pending.insert(tx.id, ()).is_some() {
                    return Err(SubmitError::Duplicate(tx.id));
                }
                Ok(tx.id)
            })
            .collect();
        Box::pin(async move { results })
    }

    fn pending(&self, id: &TxId) -> Option<PendingState> {
        if let Some(error) = self.rejected.lock().expect("not poisoned").get(id) {
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
        NodeMetrics::idle()
    }
}

/// A store with the demo's first `height` blocks, a node over it and a server on loopback;
/// `remote`'s tests run the commands against it too.
pub struct Fixture {
    /// The demo consortium.
    pub demo: Demo,
    /// Its story, block by block.
    pub story: Vec<Vec<Envelope>>,
    store: Arc<Store>,
    /// The node the API serves.
    pub node: Arc<MapNode>,
    /// A client of the API.
    pub client: ApiClient,
    /// A directory of its own, removed with it.
    pub dir: std::path::PathBuf,
}

impl Fixture {
    /// A fixture with the story's first `height` blocks (5 is the whole story), in a
    /// directory named after `name`.
    ///
    /// # Panics
    /// If the directory, store or listener cannot be made: tests want to stop there.
    pub async fn new(name: &str, height: u64) -> Fixture {
        let dir = std::env::temp_dir().join(format!("suyuan-client-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let demo = Demo::new(4, 7100);
        let story = demo.story();
        let store = Arc::new(Store::open(&dir, &demo.genesis).unwrap());
        let genesis = &demo.genesis;
        let node = Arc::new(MapNode {
            chain: genesis.binding(),
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
            public_url: None,
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
    ///
    /// # Panics
    /// If the block does not commit: the story's blocks are valid in order.
    pub fn commit(&self, height: u64) {
        let envelopes = self.story[(height - 1) as usize].clone();
        crate::commit_demo_block(&self.store, &self.demo, envelopes).expect("story blocks commit");
    }

    /// Commits `envelopes` as the next block, for benchmarks that grow the chain past the story.
    ///
    /// # Panics
    /// As [`crate::commit_demo_block`] does, if the envelopes do not make a valid block.
    pub fn commit_envelopes(&self, envelopes: Vec<Envelope>) -> Result<(), StorageError> {
        crate::commit_demo_block(&self.store, &self.demo, envelopes).map(|_| ())
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The USCC of demo enterprise `index` (see `demo::who`).
pub fn uscc_of(demo: &Demo, index: usize) -> Uscc {
    demo.enterprises[index].profile.uscc.clone()
}

/// A well-formed USCC that no demo record names.
pub fn stranger() -> Uscc {
    suyuan_ledger::demo::uscc("91110000MA01XYK12")
}
