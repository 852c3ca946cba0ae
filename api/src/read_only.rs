//! A [`Node`] that serves a store's committed chain and admits nothing: for an API over a chain
//! that no validator in this process is extending (a copy for readers, tests, tools).

use std::sync::Arc;

use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{Envelope, TxId};
use suyuan_storage::Store;

use crate::metrics::NodeMetrics;
use crate::state::{BoxFuture, Node};
use crate::types::{MempoolStatus, NodeIdentity, NodeStatus, PendingState, SyncState};

/// Reads only: every submission is refused as `unavailable`, nothing is pending, and the status
/// follows the store's head.
pub struct ReadOnlyNode {
    store: Arc<Store>,
    chain_id: String,
    genesis_hash: suyuan_ledger::hash::Hash32,
    identity: NodeIdentity,
}

impl ReadOnlyNode {
    /// A node over `store`, of `genesis`'s chain, answering as validator `index`'s node.
    ///
    /// # Panics
    /// If `index` is not a validator of `genesis`.
    pub fn new(genesis: &Genesis, store: Arc<Store>, index: usize) -> ReadOnlyNode {
        let validator = &genesis.validators[index];
        ReadOnlyNode {
            store,
            chain_id: genesis.chain_id.clone(),
            genesis_hash: genesis.hash(),
            identity: NodeIdentity {
                index,
                name: validator.name.to_string(),
                public_key: validator.public_key,
            },
        }
    }
}

impl Node for ReadOnlyNode {
    fn submit(
        &self,
        envelopes: Vec<Envelope>,
        _from: std::net::IpAddr,
    ) -> BoxFuture<Vec<Result<TxId, SubmitError>>> {
        let refused = envelopes
            .iter()
            .map(|_| Err(SubmitError::Unavailable))
            .collect();
        Box::pin(async move { refused })
    }

    fn pending(&self, _id: &TxId) -> Option<PendingState> {
        None
    }

    fn status(&self) -> NodeStatus {
        let head = self.store.head();
        NodeStatus {
            chain_id: self.chain_id.clone(),
            genesis_hash: self.genesis_hash,
            node: self.identity.clone(),
            height: head.height,
            head_hash: head.hash,
            view: 0,
            validators: Vec::new(),
            sync: SyncState::Synced,
            mempool: MempoolStatus {
                transactions: 0,
                bytes: 0,
            },
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    /// Nothing: no block is committed through this node.
    fn metrics(&self) -> NodeMetrics {
        NodeMetrics::idle()
    }
}
