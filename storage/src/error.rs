//! Say why the store refused or failed an operation.

use std::path::PathBuf;

use suyuan_ledger::block::{BlockError, BlockHash};
use suyuan_ledger::state::StateError;

/// Why a storage operation failed.
///
/// [`StorageError::Backend`], [`StorageError::Io`] and [`StorageError::Halted`] during a write
/// mean a durable write may not have happened: the node must stop. [`StorageError::Corrupt`]
/// means stored bytes fail their checks: the value is not served, and an operator should restore
/// from a checkpoint or resync.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// RocksDB reported an error.
    #[error("rocksdb {operation} failed: {message}")]
    Backend {
        /// What the store was doing.
        operation: &'static str,
        /// RocksDB's message.
        message: String,
    },
    /// A file-system operation outside RocksDB failed (checkpoint, restore).
    #[error("{operation} {path}: {source}")]
    Io {
        /// What the store was doing.
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The database was written by a build with another on-disk format.
    #[error(
        "database schema version {found} is not supported; this build reads version {supported}"
    )]
    SchemaVersion {
        /// The version stored.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The database belongs to another chain.
    #[error(
        "database belongs to chain {found:?}, not {expected:?}: refusing to open another chain's data"
    )]
    WrongChain {
        /// The chain id of the genesis file given.
        expected: String,
        /// The chain id stored.
        found: String,
    },
    /// The database has this chain id but another genesis file.
    #[error(
        "database descends from genesis {found}, not {expected}: same chain id, different genesis file"
    )]
    WrongGenesis {
        /// The hash of the genesis file given.
        expected: BlockHash,
        /// The genesis hash stored.
        found: BlockHash,
    },
    /// Stored bytes fail their checks; they are not served.
    #[error("stored {what} at {key} is corrupt: {reason}")]
    Corrupt {
        /// Which kind of value (usually its column family).
        what: &'static str,
        /// Its key, printed (a height, a hash, a code).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The block does not extend the stored head.
    #[error("block {height} does not extend the stored head: {source}")]
    DoesNotExtend {
        /// The block's height.
        height: u64,
        /// The rule it breaks.
        #[source]
        source: BlockError,
    },
    /// The verified transactions passed with a block are not its body.
    #[error("block {height}: the transactions given are not the block's body: {reason}")]
    TxsMismatch {
        /// The block's height.
        height: u64,
        /// What differs.
        reason: String,
    },
    /// The write set passed with a block is not the one its execution produces.
    #[error("block {height}: the write set does not belong to this block: {reason}")]
    WriteSetMismatch {
        /// The block's height.
        height: u64,
        /// What differs.
        reason: String,
    },
    /// The tree writes passed with a block are not what appending to the stored trees gives.
    #[error("block {height}: the tree writes do not extend the stored trees: {reason}")]
    TreesMismatch {
        /// The block's height.
        height: u64,
        /// What differs.
        reason: String,
    },
    /// An input or a request is over a named bound.
    #[error("{what} is {found}; at most {max} allowed")]
    Limit {
        /// What is bounded.
        what: &'static str,
        /// The bound.
        max: usize,
        /// What was asked for.
        found: usize,
    },
    /// A checkpoint or restore target already exists.
    #[error("{path} already exists; choose a new directory")]
    Exists {
        /// The path.
        path: PathBuf,
    },
    /// An earlier durable write failed, so the store refuses all further writes.
    #[error(
        "an earlier durable write failed; the store accepts no more writes and the node must stop"
    )]
    Halted,
}

impl StorageError {
    /// A closure that wraps a RocksDB error for `operation`.
    pub(crate) fn backend(operation: &'static str) -> impl FnOnce(rocksdb::Error) -> StorageError {
        move |error| StorageError::Backend {
            operation,
            message: error.into_string(),
        }
    }

    /// A closure that wraps an I/O error on `path` for `operation`.
    pub(crate) fn io(
        operation: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> StorageError {
        let path = path.to_path_buf();
        move |source| StorageError::Io {
            operation,
            path,
            source,
        }
    }
}

impl From<StorageError> for StateError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Corrupt { what, key, reason } => StateError::Corrupt {
                key: format!("{what} {key}"),
                reason,
            },
            other => StateError::Backend(other.to_string()),
        }
    }
}
