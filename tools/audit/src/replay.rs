//! Replay one source's chain from genesis, block by block, and say what does not hold.
//!
//! Feed [`Replay::block`] every block the source delivers, in height order from 1, then call
//! [`Replay::finish`] once. For each block it checks, in order: the header extends its parent
//! ([`Header::check_extends`]); the justification ([`justify::check`]); the body matches the
//! header; every envelope's signature; execution over the replayed state; the record log and
//! code map recomputed from genesis against the header; and, when the source has a store, the
//! store's own log size, roots and tree nodes against the recomputed ones. `finish` checks that
//! a finalization covers the head and compares the store's state with the replay.
//!
//! Nothing is taken from the source on trust: the state, the log's right edge and the map are
//! the replay's own ([`ReplayState`], a [`Frontier`], [`LatestMap`]). When a block cannot be
//! replayed (unreadable, a bad signature, a refused transaction), execution and tree replay
//! stop there, and later blocks are still checked for links and justifications.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;

use suyuan_ledger::block::{Block, BlockHash, Body, Header, Parent, TreeHeads};
use suyuan_ledger::exec::{BlockContext, execute_block};
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::merkle::StoreError;
use suyuan_ledger::merkle::log::{Frontier, LogNode, LogStore};
use suyuan_ledger::merkle::map::{MapNode, MapStore, MapUpdate, NodePosition};
use suyuan_ledger::signatures::verify_all;
use suyuan_ledger::trees::{self, LedgerHash};
use suyuan_ledger::tx::{ChainBinding, TxError, VerifiedTx};
use suyuan_proofs::finality::Consortium;
use suyuan_storage::{CheckScope, IntegrityReport, StorageError, Store};

use super::justify;
use super::report::{Finding, FindingKind, Note, NoteKind, SourceSummary};
use super::source::Delivered;
use super::state::ReplayState;
use super::votes::{Seen, VoteBook};

/// Whether the walk over a source goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Deliver the next block.
    Continue,
    /// The header could not be read: nothing above it can be linked to it.
    Stop,
}

/// The code map as of the last block replayed, and nothing older: enough to grow the next
/// block's version. A read as of any version sees the latest nodes, which is right because
/// [`trees::grow`] for block `h` reads only version `h - 1`, the last one applied.
#[derive(Debug, Default)]
pub(crate) struct LatestMap {
    nodes: HashMap<NodePosition, MapNode>,
}

impl LatestMap {
    fn apply(&mut self, update: &MapUpdate) {
        self.nodes.extend(
            update
                .nodes
                .iter()
                .map(|(position, node)| (*position, *node)),
        );
    }
}

impl MapStore for LatestMap {
    fn map_node(&self, position: &NodePosition, _: u64) -> Result<Option<MapNode>, StoreError> {
        Ok(self.nodes.get(position).copied())
    }
}

/// A block as the reading thread prepares it ahead of the replay: its body checked against its
/// header and every envelope's signature verified, the work that needs no earlier block.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The height asked for.
    pub(crate) height: u64,
    /// The header, or why it could not be read.
    pub(crate) header: Result<Header, String>,
    /// The justification bytes, or why they could not be read.
    pub(crate) justification: Result<Vec<u8>, String>,
    /// What became of the body.
    pub(crate) body: PreparedBody,
}

/// What became of a block's body while it was prepared.
#[derive(Debug)]
pub(crate) enum PreparedBody {
    /// It could not be read, for this reason.
    Unreadable(String),
    /// The header could not be read, so the body was not checked.
    Unchecked,
    /// It is not the body its header names.
    Mismatch(String),
    /// Each envelope's verdict, in order.
    Verified(Vec<Result<VerifiedTx, TxError>>),
}

impl Prepared {
    /// Checks `delivered`'s body against its header and verifies its envelopes' signatures on
    /// `threads` threads, as `binding`'s chain signs them.
    pub(crate) fn new(delivered: Delivered, binding: &ChainBinding, threads: usize) -> Prepared {
        let body = match (&delivered.header, delivered.body) {
            (_, Err(reason)) => PreparedBody::Unreadable(reason),
            (Err(_), Ok(_)) => PreparedBody::Unchecked,
            (Ok(header), Ok(body)) => {
                let block = Block {
                    header: header.clone(),
                    body,
                };
                match block.check_body() {
                    Err(error) => PreparedBody::Mismatch(error.to_string()),
                    Ok(()) => PreparedBody::Verified(verify_all(
                        block.body.transactions,
                        binding,
                        threads,
                    )),
                }
            }
        };
        Prepared {
            height: delivered.height,
            header: delivered.header,
            justification: delivered.justification,
            body,
        }
    }
}

/// One source's replay.
pub(crate) struct Replay<'a> {
    genesis: &'a Genesis,
    quorum: &'a Consortium,
    /// The source's name, for findings.
    name: String,
    /// The source's index among the audit's sources, for votes.
    index: usize,
    /// The last header delivered, and the view it was proposed in.
    parent: Option<Header>,
    /// Height of the last block delivered.
    height: u64,
    /// Whether execution and tree replay go on.
    replaying: bool,
    blocks_replayed: u64,
    records: u64,
    finalized: u64,
    state: ReplayState,
    frontier: Frontier<LedgerHash>,
    map: LatestMap,
    /// Where each block's grown trees go to be compared with the store's, when there is a store.
    trees_to_compare: Option<mpsc::SyncSender<GrownTrees>>,
    /// Whether a difference in the stored trees was reported (only the first is).
    stored_trees_differ: bool,
    /// Map nodes the replay wrote, every version of each: as many as the store must hold.
    map_nodes_written: u64,
    /// The hash of each block delivered, by height from 1.
    hashes: Vec<BlockHash>,
    findings: Vec<Finding>,
    notes: Vec<Note>,
}

impl<'a> Replay<'a> {
    /// A replay from genesis of the source called `name`, number `index` of the audit's.
    pub(crate) fn new(
        genesis: &'a Genesis,
        quorum: &'a Consortium,
        name: &str,
        index: usize,
    ) -> Self {
        Replay {
            genesis,
            quorum,
            name: name.to_owned(),
            index,
            parent: None,
            height: 0,
            replaying: true,
            blocks_replayed: 0,
            records: 0,
            finalized: 0,
            state: ReplayState::new(),
            frontier: Frontier::new(),
            map: LatestMap::default(),
            trees_to_compare: None,
            stored_trees_differ: false,
            map_nodes_written: 0,
            hashes: Vec::new(),
            findings: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Records replayed so far.
    pub(crate) fn records(&self) -> u64 {
        self.records
    }

    /// Records that the source could not deliver block `height` at all, for `reason`.
    pub(crate) fn missing(&mut self, height: u64, reason: String) {
        self.find(FindingKind::Unreadable, height, reason);
        self.stop_replay(height, "the source does not deliver it");
    }

    /// Sends each block's grown trees to `compare` ([`compare_stored_trees`] with the source's
    /// store), until the receiver is dropped or [`Replay::stop_comparing`].
    pub(crate) fn compare_trees_through(&mut self, compare: mpsc::SyncSender<GrownTrees>) {
        self.trees_to_compare = Some(compare);
    }

    /// Sends no more trees to compare: the comparing thread ends once it has the last.
    pub(crate) fn stop_comparing(&mut self) {
        self.trees_to_compare = None;
    }

    /// Checks the next block, prepared by [`Prepared::new`].
    pub(crate) fn block(&mut self, prepared: Prepared, votes: &mut VoteBook) -> Flow {
        let height = prepared.height;
        self.height = height;
        let header = match prepared.header {
            Ok(header) => header,
            Err(reason) => {
                self.find(
                    FindingKind::Unreadable,
                    height,
                    format!("the header: {reason}"),
                );
                self.stop_replay(height, "its header cannot be read");
                return Flow::Stop;
            }
        };
        let hash = header.hash();
        let parent_view = self.parent.as_ref().map_or(0, |parent| parent.view);
        let link = match &self.parent {
            None => Parent::Genesis(self.genesis),
            Some(parent) => Parent::Block(parent),
        };
        if let Err(error) = header.check_extends(link, self.genesis) {
            self.find(FindingKind::Link, height, error.to_string());
        }
        self.check_justification(&header, &hash, parent_view, prepared.justification, votes);
        match prepared.body {
            PreparedBody::Unreadable(reason) => {
                self.find(
                    FindingKind::Unreadable,
                    height,
                    format!("the body: {reason}"),
                );
                self.stop_replay(height, "its body cannot be read");
            }
            PreparedBody::Mismatch(reason) => {
                self.find(FindingKind::Body, height, reason);
                self.stop_replay(height, "its body is not the one its header names");
            }
            // Only a block whose header could not be read, which ended the walk above.
            PreparedBody::Unchecked => {}
            PreparedBody::Verified(verdicts) => self.replay(&header, verdicts),
        }
        self.hashes.push(hash);
        self.parent = Some(header);
        Flow::Continue
    }

    fn check_justification(
        &mut self,
        header: &Header,
        hash: &BlockHash,
        parent_view: u64,
        justification: Result<Vec<u8>, String>,
        votes: &mut VoteBook,
    ) {
        let height = header.height;
        let bytes = match justification {
            Ok(bytes) => bytes,
            Err(reason) => {
                self.find(
                    FindingKind::Unreadable,
                    height,
                    format!("the certificate: {reason}"),
                );
                return;
            }
        };
        let checked = justify::check(self.quorum, header, hash, parent_view, &bytes);
        for (kind, message) in checked.findings {
            self.find(kind, height, message);
        }
        if let Some(message) = checked.missing_nullifications {
            self.note(NoteKind::MissingNullifications, height, message);
        }
        if checked.finalizes {
            self.finalized = height;
        }
        for vote in checked.votes {
            votes.add(Seen {
                vote,
                source: self.index,
                height,
            });
        }
    }

    /// While replaying, the block's signature verdicts, then execution and trees.
    fn replay(&mut self, header: &Header, verdicts: Vec<Result<VerifiedTx, TxError>>) {
        let height = header.height;
        if !self.replaying {
            return;
        }
        let Some(txs) = self.verified(height, verdicts) else {
            return;
        };
        let context = BlockContext {
            genesis: self.genesis,
            height,
            time_ms: header.time_ms,
        };
        let writes = match execute_block(&self.state, context, &txs) {
            Ok(writes) => writes,
            Err(error) => {
                self.find(FindingKind::Execution, height, error.to_string());
                self.stop_replay(height, "a transaction is refused");
                return;
            }
        };
        let grown = match trees::grow(&self.frontier, &self.map, height, &txs) {
            Ok(grown) => grown,
            Err(error) => {
                self.find(
                    FindingKind::Trees,
                    height,
                    format!("the trees do not grow: {error}"),
                );
                self.stop_replay(height, "its trees cannot be grown");
                return;
            }
        };
        let block = Block {
            header: header.clone(),
            body: Body::default(),
        };
        if let Err(error) = block.check_trees(&grown.heads) {
            self.find(FindingKind::Trees, height, error.to_string());
        }
        self.state.apply(writes, height);
        self.map.apply(&grown.map);
        self.map_nodes_written += grown.map.nodes.len() as u64;
        self.frontier = grown.frontier;
        if let Some(compare) = &self.trees_to_compare {
            let trees = GrownTrees {
                height,
                heads: grown.heads,
                log_nodes: grown.log_nodes,
                map_nodes: grown.map.nodes,
            };
            // The comparing thread stops at the first difference.
            if compare.send(trees).is_err() {
                self.trees_to_compare = None;
            }
        }
        self.records += txs.len() as u64;
        self.blocks_replayed += 1;
    }

    /// The verified transactions of block `height`; `None` (and a finding for each bad one) if
    /// any envelope failed.
    fn verified(
        &mut self,
        height: u64,
        verdicts: Vec<Result<VerifiedTx, TxError>>,
    ) -> Option<Vec<VerifiedTx>> {
        let mut txs = Vec::with_capacity(verdicts.len());
        let mut bad = false;
        for (index, verdict) in verdicts.into_iter().enumerate() {
            match verdict {
                Ok(tx) => txs.push(tx),
                Err(error) => {
                    bad = true;
                    self.find(
                        FindingKind::Envelope,
                        height,
                        format!("transaction {index} does not verify: {error}"),
                    );
                }
            }
        }
        if bad {
            self.stop_replay(height, "a transaction's signature does not verify");
            return None;
        }
        Some(txs)
    }

    /// Ends the replay: the finalization of the head, and the store's trees, state and
    /// integrity against the replay's, given what the threads beside the replay found.
    pub(crate) fn finish(mut self, store: Option<(&Store, StoreChecks)>) -> Finished {
        self.stop_comparing();
        let checked = store.map(|(store, checks)| {
            if let Some((height, message)) = checks.trees {
                self.stored_trees_differ = true;
                self.find(
                    FindingKind::StoredTrees,
                    height,
                    format!("{message} (the first difference; later heights are not compared)"),
                );
            }
            (store, checks.integrity)
        });
        let store = checked.as_ref().map(|(store, _)| *store);
        // The highest block whose header was read: a finalization above it cannot be seen.
        let read = self.hashes.len() as u64;
        if self.finalized < read {
            self.find(
                FindingKind::NotFinalized,
                read,
                format!(
                    "blocks {} to {read} are notarized, but no stored finalization covers them",
                    self.finalized + 1,
                ),
            );
        }
        let checking = std::time::Instant::now();
        let mut digests = (None, None);
        match store {
            Some(store) if self.replaying => digests = self.compare_state(store),
            Some(_) => self.note(
                NoteKind::StateNotCompared,
                self.height,
                "the replay stopped before the head, so the stored state was not compared".into(),
            ),
            None if self.replaying => self.note(
                NoteKind::StateNotCompared,
                self.height,
                "an API does not serve a node's whole state; its header roots were compared".into(),
            ),
            None => {}
        }
        if let Some((store, integrity)) = checked {
            self.check_integrity(store, integrity);
        }
        let store_check_seconds = if store.is_some() {
            checking.elapsed().as_secs_f64()
        } else {
            0.0
        };
        let replayed = self
            .replaying
            .then(|| digests.0.unwrap_or_else(|| self.state.digest()));
        Finished {
            summary: SourceSummary {
                source: self.name.clone(),
                head: self.height,
                head_hash: self.hashes.last().copied(),
                blocks: self.hashes.len() as u64,
                blocks_replayed: self.blocks_replayed,
                records: self.records,
                finalized: self.finalized,
                replayed_state_digest: replayed,
                stored_state_digest: digests.1,
                seconds: 0.0,
                store_check_seconds,
            },
            hashes: self.hashes,
            findings: self.findings,
            notes: self.notes,
        }
    }

    /// Compares the store's state with the replay's; the replayed and stored digests.
    fn compare_state(&mut self, store: &Store) -> (Option<Hash32>, Option<Hash32>) {
        let comparison = match self.state.compare(store) {
            Ok(comparison) => comparison,
            Err(error) => {
                self.find(
                    FindingKind::State,
                    self.height,
                    format!("the stored state cannot be scanned: {error}"),
                );
                return (None, None);
            }
        };
        for difference in &comparison.differences {
            let stored = match &difference.stored {
                Ok(Some(value)) => format!("stored {value}"),
                Ok(None) => "not stored".to_owned(),
                Err(reason) => format!("unreadable ({reason})"),
            };
            let replayed = difference.replayed.as_ref().map_or_else(
                || "the replay has no such entry".to_owned(),
                |value| format!("the replay gives {value}"),
            );
            let written = difference.written_at.map_or_else(
                || "never written by the replay".to_owned(),
                |height| format!("last written at height {height}"),
            );
            self.find(
                FindingKind::State,
                difference.written_at.unwrap_or(self.height),
                format!(
                    "state entry {}: {stored}, but {replayed} ({written})",
                    difference.key
                ),
            );
        }
        let unlisted = comparison.difference_count - comparison.differences.len() as u64;
        if unlisted > 0 {
            self.find(
                FindingKind::State,
                self.height,
                format!("{unlisted} more state entries differ from the replay"),
            );
        }
        (
            Some(comparison.replayed_digest),
            Some(comparison.stored_digest),
        )
    }

    /// The storage crate's own full check: indexes against blocks and back, every stored value's
    /// checksum. Its tree nodes were only counted: that is enough when the replay compared every
    /// node each block wrote with the store's, to the head, and the store holds no more map
    /// nodes than the replay wrote (the log's count is the check's own). Otherwise the nodes are
    /// checked against their children as well, which reads far more.
    fn check_integrity(&mut self, store: &Store, checked: Result<IntegrityReport, StorageError>) {
        let report = match checked {
            Ok(report) => report,
            Err(error) => {
                self.find(FindingKind::Storage, self.height, error.to_string());
                return;
            }
        };
        let compared = self.replaying && !self.stored_trees_differ;
        if !compared || report.head.height != self.height {
            if let Err(error) = store.check_integrity(CheckScope::Full) {
                self.find(FindingKind::Storage, self.height, error.to_string());
            }
            return;
        }
        if report.map_nodes != self.map_nodes_written {
            self.find(
                FindingKind::StoredTrees,
                self.height,
                format!(
                    "the store holds {} map nodes, the replay wrote {}: a node no block wrote \
                     is stored",
                    report.map_nodes, self.map_nodes_written
                ),
            );
        }
    }

    fn stop_replay(&mut self, height: u64, why: &str) {
        if self.replaying {
            self.replaying = false;
            self.note(
                NoteKind::ReplayStopped,
                height,
                format!("execution and tree replay stop at block {height}: {why}"),
            );
        }
    }

    fn find(&mut self, kind: FindingKind, height: u64, message: String) {
        self.findings.push(Finding {
            kind,
            source: self.name.clone(),
            height,
            message,
        });
    }

    fn note(&mut self, kind: NoteKind, height: u64, message: String) {
        self.notes.push(Note {
            kind,
            source: self.name.clone(),
            height,
            message,
        });
    }
}

/// What one source's replay ended with.
#[derive(Debug)]
pub(crate) struct Finished {
    /// Its summary (the caller sets the time taken).
    pub(crate) summary: SourceSummary,
    /// The hash of each block delivered, by height from 1.
    pub(crate) hashes: Vec<BlockHash>,
    /// What is wrong.
    pub(crate) findings: Vec<Finding>,
    /// What is worth knowing.
    pub(crate) notes: Vec<Note>,
}

/// One block's trees as the replay grew them, for the thread comparing them with the store's.
#[derive(Debug)]
pub(crate) struct GrownTrees {
    height: u64,
    heads: TreeHeads,
    log_nodes: Vec<LogNode>,
    map_nodes: BTreeMap<NodePosition, MapNode>,
}

/// What the threads beside a data directory's replay found in its store.
#[derive(Debug)]
pub(crate) struct StoreChecks {
    /// The first block whose stored trees differ from the replay's, and how.
    pub(crate) trees: Option<(u64, String)>,
    /// The store's integrity check with its tree nodes counted
    /// ([`CheckScope::FullCountingTreeNodes`]).
    pub(crate) integrity: Result<IntegrityReport, StorageError>,
}

/// Compares each block's grown trees, as the replay sends them, with `store`'s, until the
/// first difference: that block's height and the difference.
pub(crate) fn compare_stored_trees(
    store: &Store,
    grown: mpsc::Receiver<GrownTrees>,
) -> Option<(u64, String)> {
    grown.into_iter().find_map(|trees| {
        stored_trees_match(store, &trees)
            .err()
            .map(|message| (trees.height, message))
    })
}

/// Whether `store` holds, for block `height`, the log size and roots the replay computed and
/// every node the replay says the block wrote; if not, the first difference.
fn stored_trees_match(store: &Store, grown: &GrownTrees) -> Result<(), String> {
    let height = grown.height;
    let read = |what: &str, error: &dyn std::fmt::Display| {
        format!("the stored {what} cannot be read: {error}")
    };
    let size = store
        .log_size_at(height)
        .map_err(|e| read("log size", &e))?;
    if size != Some(grown.heads.log_size) {
        return Err(format!(
            "the stored log size is {size:?}, the replay gives {}",
            grown.heads.log_size
        ));
    }
    let log_root = store
        .log_root_at(height)
        .map_err(|e| read("log root", &e))?;
    if log_root != Some(grown.heads.log_root) {
        return Err(format!(
            "the log root from the stored nodes is {}, the replay gives {}",
            describe(log_root),
            grown.heads.log_root
        ));
    }
    let map_root = store
        .map_root_at(height)
        .map_err(|e| read("map root", &e))?;
    if map_root != Some(grown.heads.map_root) {
        return Err(format!(
            "the map root from the stored nodes is {}, the replay gives {}",
            describe(map_root),
            grown.heads.map_root
        ));
    }
    for node in &grown.log_nodes {
        let stored = store
            .log_node(node.id)
            .map_err(|e| read(&node.id.to_string(), &e))?;
        if stored != Some(node.hash) {
            return Err(format!(
                "stored {} is {}, the replay gives {}",
                node.id,
                describe(stored),
                node.hash
            ));
        }
    }
    let stored = store
        .map_nodes_written(height, grown.map_nodes.keys())
        .map_err(|e| read("map nodes", &e))?;
    for ((position, node), stored) in grown.map_nodes.iter().zip(stored) {
        match stored {
            Some(stored) if stored == *node => {}
            Some(_) => {
                return Err(format!(
                    "stored {position} of height {height} is not the node the replay writes there"
                ));
            }
            None => {
                return Err(format!(
                    "no {position} of height {height} is stored, where the replay writes one"
                ));
            }
        }
    }
    Ok(())
}

fn describe(hash: Option<Hash32>) -> String {
    hash.map_or_else(|| "missing".to_owned(), |hash| hash.to_string())
}
