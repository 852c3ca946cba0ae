//! Share what the driver knows with the API, and serve the API's calls into the node.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use suyuan_api::BoxFuture;
use suyuan_api::metrics::{
    Histogram, NetworkFigures, NodeMetrics, PeerDrops, finalization_latency_histogram,
};
use suyuan_api::types::{
    MempoolStatus, NodeIdentity, NodeStatus, PendingState, SyncState, ValidatorStatus,
};
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{Envelope, TxId};
use suyuan_storage::Store;

use crate::admission::Admission;
use crate::network::NetworkHandle;

/// What the driver publishes for readers on other tasks; every field is a plain atomic.
#[derive(Debug)]
pub struct Shared {
    /// The consensus view the node is in.
    pub view: AtomicU64,
    /// The height block sync is working towards; 0 when synced.
    pub sync_target: AtomicU64,
    /// Conflicting vote pairs seen.
    pub evidence: AtomicU64,
    /// Blocks committed since start.
    pub blocks_committed: AtomicU64,
    /// Transactions committed since start.
    pub transactions_committed: AtomicU64,
    /// Seconds from block time to commit of blocks finalized by consensus.
    finalization_latency: Histogram,
    /// Whether each validator is connected, by genesis index.
    connected: Vec<AtomicBool>,
    /// Set once the node is stopping: submissions are refused.
    pub stopping: AtomicBool,
    /// Faults counted against each validator peer, by genesis index
    /// ([`crate::peer_faults`]).
    peer_faults: Vec<AtomicU64>,
}

impl Shared {
    /// Nothing known yet, for `validators` validators.
    pub fn new(validators: usize) -> Shared {
        Shared {
            view: AtomicU64::new(0),
            sync_target: AtomicU64::new(0),
            evidence: AtomicU64::new(0),
            blocks_committed: AtomicU64::new(0),
            transactions_committed: AtomicU64::new(0),
            finalization_latency: finalization_latency_histogram(),
            connected: (0..validators).map(|_| AtomicBool::new(false)).collect(),
            stopping: AtomicBool::new(false),
            peer_faults: (0..validators).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Records whether validator `index` is connected.
    pub fn set_connected(&self, index: usize, connected: bool) {
        if let Some(flag) = self.connected.get(index) {
            flag.store(connected, Ordering::Relaxed);
        }
    }

    /// Counts a fault of validator `index`.
    pub fn record_peer_fault(&self, index: usize) {
        if let Some(count) = self.peer_faults.get(index) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Faults counted against each validator peer, by genesis index.
    pub fn peer_faults(&self) -> Vec<u64> {
        self.peer_faults
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .collect()
    }

    /// Counts a committed block of `transactions` transactions.
    pub fn record_commit(&self, transactions: usize) {
        self.blocks_committed.fetch_add(1, Ordering::Relaxed);
        self.transactions_committed
            .fetch_add(transactions as u64, Ordering::Relaxed);
    }

    /// Records the latency of a block consensus finalized and this node committed: from its
    /// block time (when its proposer built it) to now. `None` (no committed head) records
    /// nothing. Clocks of proposer and node may differ; a block timed after now counts as 0.
    pub fn record_finalized(&self, block_time_ms: Option<u64>) {
        if let Some(block_time_ms) = block_time_ms {
            let latency_ms = crate::clock::now_ms().saturating_sub(block_time_ms);
            self.finalization_latency
                .observe(latency_ms as f64 / 1000.0);
        }
    }

    /// What `/metrics` shows beyond the status.
    pub fn metrics(&self) -> NodeMetrics {
        NodeMetrics {
            blocks_committed: self.blocks_committed.load(Ordering::Relaxed),
            transactions_committed: self.transactions_committed.load(Ordering::Relaxed),
            finalization_latency: self.finalization_latency.clone(),
            evidence: self.evidence.load(Ordering::Relaxed),
            peer_faults: self.peer_faults(),
            network: NetworkFigures::default(),
        }
    }
}

/// The node as the API sees it.
pub struct NodeApi {
    /// The consortium.
    pub genesis: Arc<Genesis>,
    /// This validator's index in genesis.
    pub index: usize,
    /// The store.
    pub store: Arc<Store>,
    /// Admission into the pool.
    pub admission: Arc<Admission>,
    /// What the driver publishes.
    pub shared: Arc<Shared>,
    /// The peer-to-peer network, for its figures.
    pub network: NetworkHandle,
}

impl suyuan_api::Node for NodeApi {
    fn submit(
        &self,
        envelopes: Vec<Envelope>,
        from: IpAddr,
    ) -> BoxFuture<Vec<Result<TxId, SubmitError>>> {
        let count = envelopes.len();
        if self.shared.stopping.load(Ordering::Relaxed) {
            return Box::pin(
                async move { (0..count).map(|_| Err(SubmitError::Unavailable)).collect() },
            );
        }
        let admission = Arc::clone(&self.admission);
        Box::pin(async move { admission.admit(envelopes, from).await })
    }

    fn admits_from(&self, from: IpAddr) -> Result<(), SubmitError> {
        self.admission.admits_from(from)
    }

    fn pending(&self, id: &TxId) -> Option<PendingState> {
        self.admission.pending_state(id)
    }

    fn metrics(&self) -> NodeMetrics {
        let mut metrics = self.shared.metrics();
        metrics.network = network_figures(&self.network);
        metrics
    }

    fn status(&self) -> NodeStatus {
        let head = self.store.head();
        let me = &self.genesis.validators[self.index];
        let target = self.shared.sync_target.load(Ordering::Relaxed);
        let (transactions, bytes) = self.admission.pool_size();
        NodeStatus {
            chain_id: self.genesis.chain_id.clone(),
            genesis_hash: self.genesis.hash(),
            node: NodeIdentity {
                index: self.index,
                name: me.name.to_string(),
                public_key: me.public_key,
            },
            height: head.height,
            head_hash: head.hash,
            view: self.shared.view.load(Ordering::Relaxed),
            validators: self
                .genesis
                .validators
                .iter()
                .enumerate()
                .map(|(index, validator)| ValidatorStatus {
                    index,
                    name: validator.name.to_string(),
                    public_key: validator.public_key,
                    p2p_address: validator.p2p_address.to_string(),
                    api_url: validator.api_url.as_ref().map(ToString::to_string),
                    connected: index == self.index
                        || self.shared.connected[index].load(Ordering::Relaxed),
                    is_self: index == self.index,
                })
                .collect(),
            sync: if target == 0 {
                SyncState::Synced
            } else {
                SyncState::CatchingUp {
                    target_height: target,
                }
            },
            mempool: MempoolStatus {
                transactions,
                bytes,
            },
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// The network's counters as `/metrics` shows them.
fn network_figures(network: &NetworkHandle) -> NetworkFigures {
    let counters = network.counters();
    NetworkFigures {
        consensus_dropped: counters.consensus_dropped,
        consensus_send_failed: counters.consensus_send_failed,
        connections_refused: counters.connections_refused,
        handshakes_refused: counters.handshakes_refused,
        handshakes_failed: counters.handshakes_failed,
        events_dropped_by_peer: network
            .events_dropped_by_peer()
            .into_iter()
            .map(|drops| PeerDrops {
                consensus: drops.consensus,
                block_requests: drops.block_requests,
                transactions: drops.transactions,
            })
            .collect(),
    }
}
