//! Check a whole database: the hash chain, every block against its indexes, and the reverse,
//! and the stored proof trees against themselves.
//!
//! This is what the crash tests run after each kill, what `suyuan audit` runs over a data
//! directory, and what an operator runs after a restore or a suspected disk fault. It holds the
//! commit lock while it runs, so that it sees one head. [`Store::scan_state`] hands every state
//! entry to an auditor that compares it with a replay.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rocksdb::{Direction, IteratorMode, ReadOptions};
use suyuan_ledger::block::{Header, Parent};
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::merkle::Blake3;
use suyuan_ledger::merkle::log::{LogStore, NodeId, node_hash};
use suyuan_ledger::merkle::map::{self, MapNode, MapStore};
use suyuan_ledger::record::Record;
use suyuan_ledger::state::TxLocation;
use suyuan_ledger::tx::Payload;

use crate::error::StorageError;
use crate::schema::{
    cf, corrupt, decode_hash, decode_position, height_key, map_node_key, position_key,
    split_text_position, text_position_key, unseal,
};
use crate::store::{Counts, Head, Store};
use crate::trees::from_tree_store_error;

/// How much [`Store::check_integrity`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckScope {
    /// Everything: every block with its transactions, index entries and log size, every index
    /// entry back to its transaction, and every stored node of the record log and the code map
    /// against its children.
    Full,
    /// What [`CheckScope::Full`] reads, except that the trees' stored nodes are counted
    /// ([`IntegrityReport::log_nodes`], [`IntegrityReport::map_nodes`]) rather than checked
    /// against their children: for a caller that compares every node each block wrote with its
    /// own recomputation and the counts with its own, as an audit does. Much faster: checking a
    /// map node against its children costs two seeks.
    FullCountingTreeNodes,
    /// The hash chain of all headers, blocks from this height up with their transactions, index
    /// entries and log sizes, nothing stored above the head, and the state digest. For repeated
    /// checks of a growing chain.
    Since(u64),
}

/// What a check read, for comparison with another replica or a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntegrityReport {
    /// The head checked up to.
    pub head: Head,
    /// Blocks whose bodies and index entries were checked.
    pub blocks_checked: u64,
    /// Transactions checked.
    pub transactions_checked: u64,
    /// Index entries checked.
    pub index_entries_checked: u64,
    /// Stored nodes of the record log and the code map checked against their children.
    pub tree_nodes_checked: u64,
    /// Stored nodes of the record log (0 unless the scope reads the trees).
    pub log_nodes: u64,
    /// Stored nodes of the code map, every version of each (0 unless the scope reads the
    /// trees).
    pub map_nodes: u64,
    /// State entries.
    pub state_entries: u64,
    /// [`Store::state_digest`].
    pub state_digest: Hash32,
}

/// What the checked blocks name, to compare with what the indexes hold.
#[derive(Debug, Default)]
struct Named {
    /// Transactions.
    transactions: u64,
    /// Index entries by family.
    index_entries: BTreeMap<&'static str, u64>,
}

impl Store {
    /// Checks the database and reports what it read, or the first corruption found.
    ///
    /// Commits wait while it runs: use it offline, after a restore, or in tests.
    pub fn check_integrity(&self, scope: CheckScope) -> Result<IntegrityReport, StorageError> {
        self.with_commits_paused(|head, counts| {
            let mut report = IntegrityReport {
                head,
                blocks_checked: 0,
                transactions_checked: 0,
                index_entries_checked: 0,
                tree_nodes_checked: 0,
                log_nodes: 0,
                map_nodes: 0,
                state_entries: 0,
                state_digest: Hash32::ZERO,
            };
            self.check_header_chain(head)?;
            self.check_nothing_above(head)?;
            let from = match scope {
                CheckScope::Full | CheckScope::FullCountingTreeNodes => 1,
                CheckScope::Since(height) => height.max(1),
            };
            let mut named = Named::default();
            for height in from..=head.height {
                self.check_block(height, &mut report, &mut named)?;
            }
            if !matches!(scope, CheckScope::Since(_)) {
                self.check_indexes_point_back(head, counts, &named)?;
                let structure = scope == CheckScope::Full;
                self.check_log_nodes(head, structure, &mut report)?;
                self.check_map_nodes(head, structure, &mut report)?;
            }
            let mut entries = 0;
            for item in self.db.iterator_cf(self.cf(cf::STATE), IteratorMode::Start) {
                let (key, value) = item.map_err(StorageError::backend("scan state"))?;
                unseal(cf::STATE, &key, &value)?;
                entries += 1;
            }
            report.state_entries = entries;
            report.state_digest = self.state_digest()?;
            Ok(report)
        })
    }

    /// Every header from 1 to the head: present, hashing to its stored hash, extending its
    /// parent, and findable by hash.
    fn check_header_chain(&self, head: Head) -> Result<(), StorageError> {
        let mut parent: Option<Header> = None;
        for height in 1..=head.height {
            let header = self.header(height)?.ok_or_else(|| {
                corrupt(
                    cf::HEADERS,
                    &height_key(height),
                    format!("missing below head {}", head.height),
                )
            })?;
            let link = match &parent {
                None => Parent::Genesis(&self.genesis),
                Some(parent) => Parent::Block(parent),
            };
            header.check_extends(link, &self.genesis).map_err(|error| {
                corrupt(
                    cf::HEADERS,
                    &height_key(height),
                    format!("does not extend its parent: {error}"),
                )
            })?;
            let hash = header.hash();
            if self.height_of(&hash)? != Some(height) {
                return Err(corrupt(
                    cf::BLOCK_HASHES,
                    hash.as_bytes(),
                    format!("does not name block {height}"),
                ));
            }
            parent = Some(header);
        }
        let top = parent.map_or(self.genesis_hash, |header| header.hash());
        if top != head.hash {
            return Err(corrupt(
                cf::HEADERS,
                &height_key(head.height),
                "is not the head's hash".into(),
            ));
        }
        Ok(())
    }

    /// No header, justification, transaction or log size above the head: a block is all there or
    /// not at all.
    fn check_nothing_above(&self, head: Head) -> Result<(), StorageError> {
        let above = height_key(head.height + 1);
        for family in [
            cf::HEADERS,
            cf::JUSTIFICATIONS,
            cf::BLOCK_TXS,
            cf::LOG_SIZES,
        ] {
            let mut iter = self.db.iterator_cf(
                self.cf(family),
                IteratorMode::From(&above, Direction::Forward),
            );
            if let Some(item) = iter.next() {
                let (key, _) = item.map_err(StorageError::backend("scan"))?;
                return Err(corrupt(
                    family,
                    &key,
                    format!("stored above head {}", head.height),
                ));
            }
        }
        Ok(())
    }

    /// One block: its body, justification, log size, and every index entry its transactions need;
    /// what they name is added to `named`.
    fn check_block(
        &self,
        height: u64,
        report: &mut IntegrityReport,
        named: &mut Named,
    ) -> Result<(), StorageError> {
        let key = height_key(height);
        let block = self
            .block(height)?
            .ok_or_else(|| corrupt(cf::HEADERS, &key, "missing".into()))?;
        self.check_log_size(height, block.header.tx_count)?;
        if self.justification(height)?.is_none() {
            return Err(corrupt(
                cf::JUSTIFICATIONS,
                &key,
                "missing for a stored block".into(),
            ));
        }
        for (index, envelope) in block.body.transactions.iter().enumerate() {
            let at = TxLocation {
                height,
                index: index as u32,
            };
            let tx_key = position_key(at);
            let id = envelope.id(&self.binding);
            let stored_at = self
                .read(cf::TXS, id.as_bytes())?
                .and_then(|payload| decode_position(&payload));
            if stored_at != Some(at) {
                return Err(corrupt(
                    cf::TXS,
                    id.as_bytes(),
                    format!("does not point to {height}:{index}"),
                ));
            }
            let record = parse_record(&envelope.payload, &tx_key)?;
            let mut texts = index_texts(&record);
            // A record may name a text twice; the index holds it once.
            texts.sort_unstable();
            texts.dedup();
            for (family, text) in &texts {
                let entry = text_position_key(text, at);
                match self.read(family, &entry)? {
                    Some(_) => report.index_entries_checked += 1,
                    None => {
                        return Err(corrupt(
                            family,
                            &entry,
                            "missing for a stored transaction".into(),
                        ));
                    }
                }
                *named.index_entries.entry(family).or_default() += 1;
            }
            named.transactions += 1;
            report.transactions_checked += 1;
        }
        report.blocks_checked += 1;
        Ok(())
    }

    /// Every index entry points to a stored transaction at or below the head that names it,
    /// the latest-record index agrees with the history, and the counts with the entries.
    ///
    /// Every block from 1 was checked first, which read each entry its transactions name
    /// (`named`): a family holding exactly as many entries holds no other, so each family is
    /// only counted, and scanned entry by entry, to name the stray one, when its count differs.
    fn check_indexes_point_back(
        &self,
        head: Head,
        counts: Counts,
        named: &Named,
    ) -> Result<(), StorageError> {
        let transactions = self.count_entries(cf::TXS, ReadOptions::default())?;
        if transactions != named.transactions {
            self.find_stray_transaction(head)?;
        }
        if transactions != counts.transactions {
            return Err(corrupt(
                cf::META,
                b"counts",
                format!(
                    "says {} transactions, {transactions} are stored",
                    counts.transactions
                ),
            ));
        }
        for family in [
            cf::CODE_HISTORY,
            cf::MODEL_HISTORY,
            cf::ENTERPRISE_RECORDS,
            cf::CERTIFICATE_RECORDS,
        ] {
            let stored = self.count_entries(family, ReadOptions::default())?;
            let expected = named.index_entries.get(family).copied().unwrap_or(0);
            if stored != expected {
                self.find_stray_index_entry(family, head)?;
                return Err(StorageError::Corrupt {
                    what: family,
                    key: "all entries".into(),
                    reason: format!("{stored} entries stored; the blocks name {expected}"),
                });
            }
        }
        // Both families are in code order (a history key is the code, TEXT_END, a position):
        // one pass over each, the history's cursor kept level with the latest-record index.
        let mut history = self.db.raw_iterator_cf(self.cf(cf::CODE_HISTORY));
        history.seek_to_first();
        let mut codes = 0u64;
        for item in self
            .db
            .iterator_cf(self.cf(cf::CODE_LATEST), IteratorMode::Start)
        {
            let (key, value) = item.map_err(StorageError::backend("scan code index"))?;
            let (at, _) = crate::schema::decode_latest(unseal(cf::CODE_LATEST, &key, &value)?)
                .ok_or_else(|| corrupt(cf::CODE_LATEST, &key, "not a position and an id".into()))?;
            let code = std::str::from_utf8(&key)
                .map_err(|_| corrupt(cf::CODE_LATEST, &key, "not UTF-8".into()))?;
            let mut last_at = None;
            while let Some(history_key) = history.key() {
                let (text, entry_at) = split_text_position(history_key).ok_or_else(|| {
                    corrupt(
                        cf::CODE_HISTORY,
                        history_key,
                        "not a text and a position".into(),
                    )
                })?;
                match text.cmp(code) {
                    Ordering::Less => return Err(no_latest_record(history_key)),
                    Ordering::Equal => last_at = Some(entry_at),
                    Ordering::Greater => break,
                }
                history.next();
            }
            history
                .status()
                .map_err(StorageError::backend("scan code history"))?;
            if last_at != Some(at) {
                return Err(corrupt(
                    cf::CODE_LATEST,
                    &key,
                    "is not the last entry of the code's history".into(),
                ));
            }
            codes += 1;
        }
        if let Some(history_key) = history.key() {
            return Err(no_latest_record(history_key));
        }
        if codes != counts.codes {
            return Err(corrupt(
                cf::META,
                b"counts",
                format!("says {} codes, {codes} are indexed", counts.codes),
            ));
        }
        Ok(())
    }

    /// Entries in `family`, read with `options`.
    fn count_entries(
        &self,
        family: &'static str,
        options: ReadOptions,
    ) -> Result<u64, StorageError> {
        let mut cursor = self.db.raw_iterator_cf_opt(self.cf(family), options);
        cursor.seek_to_first();
        let mut count = 0u64;
        while cursor.valid() {
            count += 1;
            cursor.next();
        }
        cursor.status().map_err(StorageError::backend("count"))?;
        Ok(count)
    }

    /// Scans every transaction index entry for one that points to no transaction at or below
    /// the head holding it.
    fn find_stray_transaction(&self, head: Head) -> Result<(), StorageError> {
        for item in self.db.iterator_cf(self.cf(cf::TXS), IteratorMode::Start) {
            let (key, value) = item.map_err(StorageError::backend("scan txs"))?;
            let at = decode_position(unseal(cf::TXS, &key, &value)?)
                .ok_or_else(|| corrupt(cf::TXS, &key, "not a 12-byte position".into()))?;
            let tx = self.transaction_at(at)?;
            if at.height > head.height || tx.is_none_or(|tx| tx.id.as_bytes()[..] != key[..]) {
                return Err(corrupt(
                    cf::TXS,
                    &key,
                    format!(
                        "points to {}:{}, which does not hold it",
                        at.height, at.index
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Scans every entry of the index `family` for one whose transaction does not name it.
    fn find_stray_index_entry(&self, family: &'static str, head: Head) -> Result<(), StorageError> {
        for item in self.db.iterator_cf(self.cf(family), IteratorMode::Start) {
            let (key, value) = item.map_err(StorageError::backend("scan index"))?;
            unseal(family, &key, &value)?;
            let (text, at) = split_text_position(&key)
                .ok_or_else(|| corrupt(family, &key, "not a text and a position".into()))?;
            let names_it = match self.transaction_at(at)? {
                Some(tx) if at.height <= head.height => {
                    let record = parse_record(&tx.envelope.payload, &position_key(at))?;
                    index_texts(&record)
                        .iter()
                        .any(|(f, t)| f == &family && t == text)
                }
                _ => false,
            };
            if !names_it {
                return Err(corrupt(
                    family,
                    &key,
                    "the transaction it points to does not name it".into(),
                ));
            }
        }
        Ok(())
    }
}

/// One committed state entry as stored: its key's bytes and its payload, or why the stored
/// value fails its checksum.
pub type StoredStateEntry<'a> = (&'a [u8], Result<&'a [u8], StorageError>);

impl Store {
    /// Hands every committed state entry to `visit`, in ascending key-byte order (the order of
    /// [`Store::state_digest`]), until `visit` returns `false`. An entry whose value fails its
    /// checksum is handed over as an error and the scan goes on; only a failure of RocksDB
    /// itself ends it with an error.
    ///
    /// Reads the state as of the head when it is called; commits may run meanwhile, so scan a
    /// store that is not committing (an audit of a stopped node's data directory).
    pub fn scan_state(
        &self,
        mut visit: impl FnMut(StoredStateEntry<'_>) -> bool,
    ) -> Result<(), StorageError> {
        for item in self.db.iterator_cf(self.cf(cf::STATE), IteratorMode::Start) {
            let (key, value) = item.map_err(StorageError::backend("scan state"))?;
            if !visit((&key, unseal(cf::STATE, &key, &value))) {
                break;
            }
        }
        Ok(())
    }

    /// The log size stored for block `height` is its parent's plus the block's transactions
    /// (or its parent's, for a block committed without trees, as tools and tests do).
    fn check_log_size(&self, height: u64, tx_count: u32) -> Result<(), StorageError> {
        let before = self.stored_log_size(height - 1)?;
        let after = self.stored_log_size(height)?;
        if after != before && after != before + u64::from(tx_count) {
            return Err(corrupt(
                cf::LOG_SIZES,
                &height_key(height),
                format!(
                    "says {after} records, but the parent's {before} and the block's {tx_count} \
                     transactions give {}",
                    before + u64::from(tx_count)
                ),
            ));
        }
        Ok(())
    }

    /// Exactly as many stored log nodes as a log of the head's size has perfect nodes, and,
    /// with `structure`, every one sealed, a 32-byte hash under a node id, inside the head's
    /// log, and, above the leaves, the hash of its two stored children.
    fn check_log_nodes(
        &self,
        head: Head,
        structure: bool,
        report: &mut IntegrityReport,
    ) -> Result<(), StorageError> {
        let size = self.stored_log_size(head.height)?;
        let count = if structure {
            self.check_log_node_structure(size)?
        } else {
            self.count_entries(cf::LOG_NODES, ReadOptions::default())?
        };
        let expected = 2 * size - u64::from(size.count_ones());
        if count != expected {
            return Err(StorageError::Corrupt {
                what: cf::LOG_NODES,
                key: "all nodes".into(),
                reason: format!("{count} nodes stored; a log of {size} records has {expected}"),
            });
        }
        report.log_nodes = count;
        if structure {
            report.tree_nodes_checked += count;
        }
        Ok(())
    }

    /// Every stored log node against its children ([`Store::check_log_nodes`]); how many.
    fn check_log_node_structure(&self, size: u64) -> Result<u64, StorageError> {
        let mut count = 0u64;
        for item in self
            .db
            .iterator_cf(self.cf(cf::LOG_NODES), IteratorMode::Start)
        {
            let (key, value) = item.map_err(StorageError::backend("scan log nodes"))?;
            let bad = |reason: String| corrupt(cf::LOG_NODES, &key, reason);
            let hash = decode_hash(unseal(cf::LOG_NODES, &key, &value)?)
                .ok_or_else(|| bad("not a 32-byte hash".into()))?;
            let id = NodeId::from_bytes(&key).map_err(|error| bad(error.to_string()))?;
            let end = id
                .index
                .checked_add(1)
                .and_then(|next| next.checked_mul(1u64 << id.level));
            if end.is_none_or(|end| end > size) {
                return Err(bad(format!("lies beyond the log's {size} records")));
            }
            if id.level > 0 {
                let child = |index| {
                    self.stored_log_node(NodeId {
                        level: id.level - 1,
                        index,
                    })
                };
                let (left, right) = (child(2 * id.index)?, child(2 * id.index + 1)?);
                if node_hash::<Blake3>(&left, &right) != hash {
                    return Err(bad("is not the hash of its two children".into()));
                }
            }
            count += 1;
        }
        Ok(count)
    }

    /// A log node that must be stored.
    fn stored_log_node(&self, id: NodeId) -> Result<Hash32, StorageError> {
        self.log_node(id)
            .map_err(|error| from_tree_store_error(cf::LOG_NODES, error))?
            .ok_or_else(|| {
                corrupt(
                    cf::LOG_NODES,
                    &id.to_bytes(),
                    "missing under its parent".into(),
                )
            })
    }

    /// Counts the stored map nodes and, with `structure`, checks every one: sealed and
    /// decoding, under a position and a version from 1 to the head; a leaf on its key's path;
    /// an interior node holding the hashes of its children as of its version.
    fn check_map_nodes(
        &self,
        head: Head,
        structure: bool,
        report: &mut IntegrityReport,
    ) -> Result<(), StorageError> {
        // The whole family in key order, past the position prefix its seeks are filtered by.
        let mut whole = ReadOptions::default();
        whole.set_total_order_seek(true);
        if !structure {
            report.map_nodes = self.count_entries(cf::MAP_NODES, whole)?;
            return Ok(());
        }
        let reader = self.map_reader();
        for item in self
            .db
            .iterator_cf_opt(self.cf(cf::MAP_NODES), whole, IteratorMode::Start)
        {
            let (key, value) = item.map_err(StorageError::backend("scan map nodes"))?;
            let bad = |reason: String| corrupt(cf::MAP_NODES, &key, reason);
            let payload = unseal(cf::MAP_NODES, &key, &value)?;
            let (position, version) =
                map_node_key(&key).ok_or_else(|| bad("not a position and a version".into()))?;
            if version == 0 || version > head.height {
                return Err(bad(format!(
                    "version {version} is not a height from 1 to the head"
                )));
            }
            match MapNode::from_bytes(payload).map_err(|error| bad(error.to_string()))? {
                MapNode::Leaf { key: leaf_key, .. } if !position.covers(&leaf_key) => {
                    return Err(bad(format!("holds key {leaf_key}, which is not below it")));
                }
                MapNode::Leaf { .. } => {}
                MapNode::Internal { left, right } => {
                    for (side, stored) in [(false, left), (true, right)] {
                        if map_child_hash(&reader, &position, side, version)? != stored {
                            return Err(bad(format!(
                                "does not hold the hash of its {} child",
                                if side { "right" } else { "left" }
                            )));
                        }
                    }
                }
            }
            report.tree_nodes_checked += 1;
            report.map_nodes += 1;
        }
        Ok(())
    }
}

/// A code history entry of a code that the latest-record index does not hold.
fn no_latest_record(key: &[u8]) -> StorageError {
    corrupt(
        cf::CODE_HISTORY,
        key,
        "names a code that has no latest record".into(),
    )
}

/// The hash of the subtree on side `right` of `position` as of `version`, read through
/// `reader` (one iterator for every read of a check).
fn map_child_hash(
    reader: &impl MapStore,
    position: &map::NodePosition,
    right: bool,
    version: u64,
) -> Result<Hash32, StorageError> {
    let Some(child) = position.child(right) else {
        return Err(corrupt(
            cf::MAP_NODES,
            &position.storage_key(version),
            "an interior node at the deepest level".into(),
        ));
    };
    let node = reader
        .map_node(&child, version)
        .map_err(|error| from_tree_store_error(cf::MAP_NODES, error))?;
    Ok(node.map_or_else(map::empty_hash::<Blake3>, |node| node.hash::<Blake3>()))
}

fn parse_record(payload: &[u8], key: &[u8]) -> Result<Record, StorageError> {
    Payload::parse(payload)
        .map(|payload| payload.record)
        .map_err(|error| corrupt(cf::BLOCK_TXS, key, error.to_string()))
}

/// The index entries a record needs: column family and text.
fn index_texts(record: &Record) -> Vec<(&'static str, String)> {
    let codes = record
        .codes()
        .into_iter()
        .map(|c| (cf::CODE_HISTORY, c.to_string()));
    let models = record
        .models()
        .into_iter()
        .map(|g| (cf::MODEL_HISTORY, g.to_string()));
    let enterprises = record
        .enterprises()
        .into_iter()
        .map(|u| (cf::ENTERPRISE_RECORDS, u.to_string()));
    let certificates = record
        .certificates()
        .into_iter()
        .map(|c| (cf::CERTIFICATE_RECORDS, c.to_string()));
    codes
        .chain(models)
        .chain(enterprises)
        .chain(certificates)
        .collect()
}
