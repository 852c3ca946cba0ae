//! Store a Suyuan chain durably on RocksDB: blocks, justifications, indexes, state and the
//! consensus write-ahead log.
//!
//! One [`Store`] holds one chain. Its parts:
//!
//! - [`Store::open`] creates or opens a database and refuses one of another schema version,
//!   chain id or genesis file.
//! - [`Store::commit_block`] writes a finalized block, its justification, the state changes of its
//!   execution, every index entry and the block's nodes of the record log and the code map
//!   (`suyuan_ledger::merkle`, computed by the node, one log leaf per transaction) in one
//!   atomic `WriteBatch`, synced to disk before it returns.
//! - `Store` implements [`suyuan_ledger::state::StateRead`] over the committed state, so that
//!   execution of the next block reads RocksDB through the ledger's `Overlay`, and
//!   implements `merkle::log::LogStore` and `merkle::map::MapStore`, so that roots and proofs
//!   are served at any committed height ([`Store::log_size_at`], [`Store::log_root_at`],
//!   [`Store::map_root_at`]). See [`trees`].
//! - [`Store::wal_append`], [`Store::wal_entries`], [`Store::wal_truncate_below`]: the
//!   consensus write-ahead log of the node's own votes.
//! - Queries in bounded pages ([`query`]): blocks by height, hash or range, transactions by id,
//!   a code's latest record and history, a model's and an enterprise's records, counts.
//! - [`Store::checkpoint`] and [`Store::restore`]: online backups.
//! - [`Store::check_integrity`]: the hash chain, blocks against indexes and back, for audits and
//!   the crash tests.
//!
//! # How the node drives it
//!
//! ```no_run
//! # fn run(genesis: &suyuan_ledger::genesis::Genesis,
//! #        finalized: Vec<(suyuan_ledger::block::Block, Vec<u8>)>)
//! #        -> Result<(), Box<dyn std::error::Error>> {
//! use suyuan_ledger::exec::{BlockContext, execute_block};
//! use suyuan_ledger::trees::grow;
//! use suyuan_storage::{Store, TreeWrites};
//!
//! let store = Store::open("/var/lib/suyuan/db", genesis)?;
//! let votes = store.wal_entries()?; // hand these to consensus before it starts
//! # let _ = votes;
//! for (block, justification) in finalized {
//!     let txs = block
//!         .body
//!         .transactions
//!         .iter()
//!         .map(|envelope| envelope.clone().verify(&genesis.binding()))
//!         .collect::<Result<Vec<_>, _>>()?;
//!     let context = BlockContext { genesis, height: block.header.height, time_ms: block.header.time_ms };
//!     let writes = execute_block(&store, context, &txs)?; // reads RocksDB, writes nothing
//!     let height = block.header.height;
//!     let trees = grow(&store.log_frontier()?, &store, height, &txs)?; // the proof trees
//!     let trees = TreeWrites::from(&trees);
//!     store.commit_block(&block, &txs, &justification, &writes, &trees)?; // durable on return
//! }
//! # Ok(()) }
//! ```
//!
//! **What is durable when.** When `commit_block` or `wal_append` returns `Ok`, what it wrote is
//! in RocksDB's write-ahead log and `fsync`ed: it survives `kill -9` and power loss, and a
//! restart sees it. A commit is all or nothing: after any crash, a block is visible with its
//! justification, state changes, index entries and tree nodes, or not at all. A failed write halts the store
//! ([`StorageError::Halted`] for every later write): the node must stop and restart, and then
//! resumes from the last durable head (`Store::head`).
//!
//! **Corruption is detected, not served.** Every value carries a checksum over its column
//! family, key and payload; headers are checked against their stored hash and bodies against
//! the header's body hash on every read. Bad bytes give [`StorageError::Corrupt`], never a
//! panic and never a wrong answer. (Hot state entries, once read and checked, are kept decoded
//! in memory; bytes that rot on disk after that are found by the next read from disk, after a
//! restart, or by a full check.)
//!
//! # On-disk layout
//!
//! The column families, their key encodings and value layouts are documented in this crate's
//! `README.md` and in [`schema`], so that auditors can read a database with any RocksDB tool.

mod backup;
mod cache;
mod check;
mod error;
mod map_cache;
pub mod query;
pub mod schema;
mod store;
mod tree_writes;
pub mod trees;
mod wal;

pub use check::{CheckScope, IntegrityReport, StoredStateEntry};
pub use error::StorageError;
pub use map_cache::CACHED_DEPTH;
pub use query::{
    MAX_BLOCKS_PER_PAGE, MAX_HEADERS_PER_PAGE, MAX_PAGE_RECORDS, Order, Page, PageRequest, StoredTx,
};
pub use store::{Counts, Head, MAX_JUSTIFICATION_BYTES, Store};
pub use tree_writes::TreeWrites;
pub use trees::MapReader;
pub use wal::{MAX_WAL_ENTRIES, MAX_WAL_RECORD_BYTES, WalEntry};
