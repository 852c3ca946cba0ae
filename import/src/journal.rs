//! Remember which rows of an import are committed, so that a second run resumes where the
//! first stopped.
//!
//! The journal is a file of JSON lines beside the input (`FILE.import-journal`): a header that
//! names the chain and the signer, then one line per committed transaction with its height,
//! appended as commits are seen. Rows are known by their transaction ids, not their places, so
//! a file edited between runs (refused rows fixed, rows added) still resumes: an unchanged row
//! signs to the same id, a changed one to a new id. It is an economy, not
//! the guarantee against duplicates: that is the derived nonce (`source::derived_nonce`), which
//! makes a row signed again the same transaction, refused by the ledger as a `replay`. So a
//! journal behind the chain (a run killed between a commit and its line) costs a few refusals
//! on resume, and a torn last line is ignored.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::tx::TxId;

/// What a journal belongs to: one chain, one signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalHeader {
    /// The journal format's version.
    pub suyuan_import: u32,
    /// The chain's id.
    pub chain_id: String,
    /// The chain's genesis hash.
    pub genesis_hash: Hash32,
    /// The signer's public key, hex.
    pub signer: String,
}

/// This build's journal format.
pub const JOURNAL_VERSION: u32 = 1;

/// One committed transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    id: TxId,
    height: u64,
}

/// Why a journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing it.
    #[error("the journal {}: {source}", path.display())]
    Io {
        /// Its path.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// It belongs to another chain or signer.
    #[error(
        "the journal {} belongs to another import ({what} differs): remove it to import this \
         file afresh (rows already committed are recognised and not recorded twice), or pass \
         another --journal",
        path.display()
    )]
    Mismatch {
        /// Its path.
        path: PathBuf,
        /// What differs.
        what: &'static str,
    },
    /// Its first line is not a journal header.
    #[error("{} is not an import journal", path.display())]
    NotAJournal {
        /// Its path.
        path: PathBuf,
    },
}

/// An open journal: what earlier runs committed, and the file new commits are appended to.
pub struct Journal {
    path: PathBuf,
    file: BufWriter<File>,
    committed: HashMap<TxId, u64>,
}

impl Journal {
    /// Opens the journal at `path` for `header`'s import, creating it if it does not exist.
    pub fn open(path: &Path, header: &JournalHeader) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let mut committed = HashMap::new();
        let exists = path.exists();
        if exists {
            let reader = BufReader::new(File::open(path).map_err(io)?);
            let mut lines = reader.lines();
            let first = lines.next().transpose().map_err(io)?.unwrap_or_default();
            let found: JournalHeader =
                serde_json::from_str(&first).map_err(|_| JournalError::NotAJournal {
                    path: path.to_owned(),
                })?;
            if let Some(what) = difference(&found, header) {
                return Err(JournalError::Mismatch {
                    path: path.to_owned(),
                    what,
                });
            }
            for line in lines {
                let line = line.map_err(io)?;
                // A line torn by a crash is the last one; the row is found again as a replay.
                if let Ok(line) = serde_json::from_str::<Line>(&line) {
                    committed.insert(line.id, line.height);
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let mut journal = Journal {
            path: path.to_owned(),
            file: BufWriter::new(file),
            committed,
        };
        if !exists {
            let line = serde_json::to_string(header).expect("a header serializes");
            writeln!(journal.file, "{line}").map_err(io)?;
            journal.flush()?;
        }
        Ok(journal)
    }

    /// The height `id` was committed at, if an earlier run saw it committed.
    pub fn committed(&self, id: &TxId) -> Option<u64> {
        self.committed.get(id).copied()
    }

    /// Notes that `id` is committed at `height` (written at the next flush).
    pub fn record(&mut self, id: TxId, height: u64) -> Result<(), JournalError> {
        if self.committed.insert(id, height).is_some() {
            return Ok(());
        }
        let line = serde_json::to_string(&Line { id, height }).expect("a line serializes");
        writeln!(self.file, "{line}").map_err(|source| JournalError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Writes what was recorded to the file.
    pub fn flush(&mut self) -> Result<(), JournalError> {
        self.file.flush().map_err(|source| JournalError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// What differs between a journal's header and this import's, if anything.
fn difference(found: &JournalHeader, expected: &JournalHeader) -> Option<&'static str> {
    if found.suyuan_import != expected.suyuan_import {
        Some("the journal format")
    } else if found.chain_id != expected.chain_id || found.genesis_hash != expected.genesis_hash {
        Some("the chain")
    } else if found.signer != expected.signer {
        Some("the signing key")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(signer: u8) -> JournalHeader {
        JournalHeader {
            suyuan_import: JOURNAL_VERSION,
            chain_id: "suyuan-local".into(),
            genesis_hash: Hash32([9; 32]),
            signer: hex::encode([signer; 32]),
        }
    }

    #[test]
    fn a_reopened_journal_knows_its_commits_and_refuses_another_signer() {
        let dir = std::env::temp_dir().join(format!("suyuan-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rows.csv.import-journal");
        let _ = std::fs::remove_file(&path);
        let id = Hash32([1; 32]);
        {
            let mut journal = Journal::open(&path, &header(1)).unwrap();
            journal.record(id, 7).unwrap();
            journal.flush().unwrap();
        }
        // A torn last line, as a crash mid-write leaves.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        write!(file, "{{\"id\":\"02").unwrap();
        drop(file);
        let journal = Journal::open(&path, &header(1)).unwrap();
        assert_eq!(journal.committed(&id), Some(7));
        assert_eq!(journal.committed(&Hash32([2; 32])), None);
        drop(journal);
        let error = Journal::open(&path, &header(2)).err().unwrap();
        assert!(matches!(
            error,
            JournalError::Mismatch {
                what: "the signing key",
                ..
            }
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
