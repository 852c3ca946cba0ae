//! What a block does to the ledger's two proof trees, as every node computes it.
//!
//! - The **record log** ([`crate::merkle::log`], BLAKE3) gets one leaf per committed
//!   transaction, in commit order (block by block, body order within a block). A leaf's bytes are
//!   the transaction id, so its leaf hash is `H(0x00 ‖ id)` ([`record_leaf`]).
//! - The **code map** ([`crate::merkle::map`], BLAKE3, version = block height) sends the key of
//!   each code a transaction names ([`MapKey::of_code`] of the code's canonical text,
//!   [`Record::codes`](crate::record::Record::codes)) to that transaction's leaf hash; when two
//!   transactions of a block name one code, the later one wins. So the map holds, for each code,
//!   the latest record about it.
//!
//! [`grow`] applies one block's transactions to both trees and returns the new [`TreeHeads`] a
//! header carries and the nodes storage must persist with the block. A proposer calls it to fill
//! its header; every other node calls it to check the header it received.

use crate::block::TreeHeads;
use crate::hash::Hash32;
use crate::merkle::log::{self, Frontier, LogFull, LogNode};
use crate::merkle::map::{self, MapBatch, MapKey, MapReadError, MapStore, MapUpdate, MemMapStore};
use crate::merkle::{Blake3, StoreError};
use crate::record::Record;
use crate::tx::{ChainBinding, Envelope, Payload, TxId, VerifiedTx};

/// The hash the ledger's trees are built with.
pub type LedgerHash = Blake3;

/// The log leaf hash of a committed transaction: `H(0x00 ‖ id)`.
pub fn record_leaf(id: &TxId) -> Hash32 {
    log::leaf_hash::<LedgerHash>(id.as_bytes())
}

/// The map key of a code, from its canonical text (`TraceCode`'s `Display`).
pub fn code_key(canonical: &str) -> MapKey {
    MapKey::of_code(canonical.as_bytes())
}

/// The trees of the empty ledger, before block 1.
pub fn genesis_heads() -> TreeHeads {
    TreeHeads {
        log_size: 0,
        log_root: log::empty_root::<LedgerHash>(),
        map_root: map::empty_hash::<LedgerHash>(),
    }
}

/// One block's effect on the trees.
#[derive(Debug, Clone)]
pub struct BlockTrees {
    /// What the block's header must carry.
    pub heads: TreeHeads,
    /// The log's right edge after the block: what the next block appends to.
    pub frontier: Frontier<LedgerHash>,
    /// The perfect log nodes the block's leaves complete, leaf first, for storage.
    pub log_nodes: Vec<LogNode>,
    /// The map's new version (the block's height) and the nodes it writes, for storage.
    pub map: MapUpdate,
}

/// Why a block's trees could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreesError {
    /// The log holds as many leaves as it ever can.
    #[error(transparent)]
    LogFull(#[from] LogFull),
    /// The stored map could not be read.
    #[error(transparent)]
    Map(#[from] MapReadError),
}

impl From<StoreError> for TreesError {
    fn from(error: StoreError) -> Self {
        TreesError::Map(MapReadError::Store(error))
    }
}

/// Appends block `height`'s transactions to the log whose right edge is `frontier` and writes
/// their codes into the map as of `height - 1` read through `map_store`. Reads, never writes.
pub fn grow(
    frontier: &Frontier<LedgerHash>,
    map_store: &impl MapStore,
    height: u64,
    txs: &[VerifiedTx],
) -> Result<BlockTrees, TreesError> {
    grow_records(
        frontier,
        map_store,
        height,
        txs.iter().map(|tx| (&tx.id, &tx.payload.record)),
    )
}

/// [`grow`] over each transaction's id and record.
pub fn grow_records<'a>(
    frontier: &Frontier<LedgerHash>,
    map_store: &impl MapStore,
    height: u64,
    records: impl IntoIterator<Item = (&'a TxId, &'a Record)>,
) -> Result<BlockTrees, TreesError> {
    let mut frontier = frontier.clone();
    let mut log_nodes = Vec::new();
    let mut batch = MapBatch::new();
    for (id, record) in records {
        let leaf = record_leaf(id);
        frontier.append(leaf, &mut log_nodes)?;
        for code in record.codes() {
            batch.insert(code_key(&code.to_string()), leaf);
        }
    }
    let map = map::update::<LedgerHash>(map_store, height, &batch)?;
    Ok(BlockTrees {
        heads: TreeHeads {
            log_size: frontier.size(),
            log_root: frontier.root(),
            map_root: map.root,
        },
        frontier,
        log_nodes,
        map,
    })
}

/// The trees grown block after block in memory, for tests and tools that build chains without
/// a store.
#[derive(Debug, Clone, Default)]
pub struct MemTrees {
    frontier: Frontier<LedgerHash>,
    map: MemMapStore,
    height: u64,
}

impl MemTrees {
    /// The trees before block 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// The heads once the last block grown is committed.
    pub fn heads(&self) -> TreeHeads {
        TreeHeads {
            log_size: self.frontier.size(),
            log_root: self.frontier.root(),
            map_root: map::root::<LedgerHash>(&self.map, self.height)
                .expect("the in-memory map reads"),
        }
    }

    /// The heads block `self.height + 1` holding `envelopes` (signatures not checked) would
    /// carry, without growing.
    ///
    /// # Panics
    /// If a payload does not parse: tests build blocks of well-formed payloads.
    pub fn peek(&self, chain: &ChainBinding, envelopes: &[Envelope]) -> BlockTrees {
        let parsed: Vec<(TxId, Record)> = envelopes
            .iter()
            .map(|envelope| {
                let payload = Payload::parse(&envelope.payload)
                    .expect("test envelopes carry well-formed payloads");
                (envelope.id(chain), payload.record)
            })
            .collect();
        grow_records(
            &self.frontier,
            &self.map,
            self.height + 1,
            parsed.iter().map(|(id, record)| (id, record)),
        )
        .expect("the in-memory trees grow")
    }

    /// Grows the trees by the next block's `envelopes` and returns its heads.
    pub fn push(&mut self, chain: &ChainBinding, envelopes: &[Envelope]) -> TreeHeads {
        let trees = self.peek(chain, envelopes);
        self.map.apply(&trees.map);
        self.frontier = trees.frontier;
        self.height += 1;
        trees.heads
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::Demo;
    use crate::merkle::log::{MemLog, inclusion_proof};
    use crate::merkle::map::prove;

    #[test]
    fn the_trees_of_the_demo_story_hold_every_record_and_each_codes_latest() {
        let demo = Demo::new(4, 7100);
        let mut frontier = Frontier::new();
        let mut map_store = MemMapStore::new();
        let mut reference = MemLog::<LedgerHash>::new();
        let mut latest = std::collections::BTreeMap::new();
        let mut heads = genesis_heads();
        let mut height = 0;
        for block in demo.story() {
            height += 1;
            let txs: Vec<VerifiedTx> = block
                .into_iter()
                .map(|envelope| envelope.verify(&demo.genesis.binding()).unwrap())
                .collect();
            let trees = grow(&frontier, &map_store, height, &txs).unwrap();
            map_store.apply(&trees.map);
            frontier = trees.frontier;
            heads = trees.heads;
            for tx in &txs {
                reference.append(record_leaf(&tx.id)).unwrap();
                for code in tx.payload.record.codes() {
                    latest.insert(code.to_string(), tx.id);
                }
            }
            assert_eq!(heads.log_size, reference.size(), "block {height}");
            assert_eq!(heads.log_root, reference.root(), "block {height}");
        }
        let proof = inclusion_proof::<LedgerHash>(&reference, 0, heads.log_size).unwrap();
        let first = demo.story()[0][0]
            .clone()
            .verify(&demo.genesis.binding())
            .unwrap();
        proof
            .verify::<LedgerHash>(&record_leaf(&first.id), &heads.log_root)
            .unwrap();

        // Each code maps to the last transaction naming it; an unknown code is absent.
        assert!(latest.len() > 3, "the story names codes");
        for (code, id) in &latest {
            let proof = prove::<LedgerHash>(&map_store, height, &code_key(code)).unwrap();
            proof
                .verify::<LedgerHash>(&heads.map_root, &code_key(code), Some(&record_leaf(id)))
                .unwrap();
        }
        let unknown = code_key("01/06901234567892/21/NEVER");
        prove::<LedgerHash>(&map_store, height, &unknown)
            .unwrap()
            .verify::<LedgerHash>(&heads.map_root, &unknown, None)
            .unwrap();
        assert_eq!(genesis_heads().log_root, MemLog::<LedgerHash>::new().root());
    }
}
