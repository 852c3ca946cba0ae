//! Check a whole database: the hash chain, every block against its indexes, and the reverse.
//!
//! This is what the crash tests run after each kill and what an operator runs after a restore
//! or a suspected disk fault. It holds the commit lock while it runs, so that it sees one head.

use rocksdb::{Direction, IteratorMode};
use suyuan_ledger::block::{Header, Parent};
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::Record;
use suyuan_ledger::state::TxLocation;
use suyuan_ledger::tx::Payload;

use crate::error::StorageError;
use crate::schema::{
    cf, corrupt, decode_position, height_key, position_key, split_text_position, text_position_key,
    text_prefix, unseal,
};
use crate::store::{Counts, Head, Store};

/// How much [`Store::check_integrity`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckScope {
    /// Everything: every block with its transactions and index entries, and every index entry
    /// back to its transaction.
    Full,
    /// The hash chain of all headers, blocks from this height up with their transactions and
    /// index entries, nothing stored above the head, and the state digest. For repeated checks
    /// of a growing chain.
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
    /// State entries.
    pub state_entries: u64,
    /// [`Store::state_digest`].
    pub state_digest: Hash32,
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
                state_entries: 0,
                state_digest: Hash32::ZERO,
            };
            self.check_header_chain(head)?;
            self.check_nothing_above(head)?;
            let from = match scope {
                CheckScope::Full => 1,
                CheckScope::Since(height) => height.max(1),
            };
            for height in from..=head.height {
                self.check_block(height, &mut report)?;
            }
            if scope == CheckScope::Full {
                self.check_indexes_point_back(head, counts, &mut report)?;
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

    /// No header, certificate or transaction above the head: a block is all there or not at all.
    fn check_nothing_above(&self, head: Head) -> Result<(), StorageError> {
        let above = height_key(head.height + 1);
        for family in [cf::HEADERS, cf::CERTIFICATES, cf::BLOCK_TXS] {
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

    /// One block: its body, certificate, and every index entry its transactions need.
    fn check_block(&self, height: u64, report: &mut IntegrityReport) -> Result<(), StorageError> {
        let key = height_key(height);
        let block = self
            .block(height)?
            .ok_or_else(|| corrupt(cf::HEADERS, &key, "missing".into()))?;
        if self.certificate(height)?.is_none() {
            return Err(corrupt(
                cf::CERTIFICATES,
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
            let id = envelope.id(&self.genesis.chain_id);
            match self.transaction(&id)? {
                Some(tx) if tx.location == at => {}
                _ => {
                    return Err(corrupt(
                        cf::TXS,
                        id.as_bytes(),
                        format!("does not point to {height}:{index}"),
                    ));
                }
            }
            let record = parse_record(&envelope.payload, &tx_key)?;
            let texts = index_texts(&record);
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
            }
            report.transactions_checked += 1;
        }
        report.blocks_checked += 1;
        Ok(())
    }

    /// Every index entry points to a stored transaction at or below the head that names it,
    /// the latest-record index agrees with the history, and the counts with the entries.
    fn check_indexes_point_back(
        &self,
        head: Head,
        counts: Counts,
        report: &mut IntegrityReport,
    ) -> Result<(), StorageError> {
        let mut transactions = 0u64;
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
            transactions += 1;
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
        for family in [cf::CODE_HISTORY, cf::MODEL_HISTORY, cf::ENTERPRISE_RECORDS] {
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
                report.index_entries_checked += 1;
            }
        }
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
            let prefix = text_prefix(code);
            let last = self
                .prefix_iter(cf::CODE_HISTORY, &prefix, IteratorMode::End)
                .next();
            let last_at = match last {
                Some(item) => {
                    let (history_key, _) =
                        item.map_err(StorageError::backend("scan code history"))?;
                    split_text_position(&history_key).map(|(_, at)| at)
                }
                None => None,
            };
            if last_at != Some(at) {
                return Err(corrupt(
                    cf::CODE_LATEST,
                    &key,
                    "is not the last entry of the code's history".into(),
                ));
            }
            codes += 1;
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
    codes.chain(models).chain(enterprises).collect()
}
