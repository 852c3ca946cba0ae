//! Measure the yardstick of issue 16: a central service that checks Suyuan's envelopes by the
//! ledger's one signature rule and stores them in PostgreSQL, loaded as `suyuan bench` loads a
//! consortium, so that the two throughputs can be compared on one machine in one session.
//!
//! The service is what a regulator would run instead of a consortium: one process, one
//! database, no consensus and no execution of the ledger's rules, but the same envelopes, the
//! same verification and a durable acknowledgement. It has four parts, read from the bottom:
//!
//! - [`rows`]: what a verified transaction becomes in the database: its id, a sequence number,
//!   its canonical envelope bytes, and one index row per code and per enterprise it names
//!   (the ledger's own [`Record::codes`](suyuan_ledger::record::Record::codes) and
//!   [`Record::enterprises`](suyuan_ledger::record::Record::enterprises)). Pure.
//! - [`schema`]: the tables and the indexes a product or enterprise lookup needs.
//! - [`store`]: the [`Store`](store::Store) gathers the rows of concurrent requests into one
//!   database transaction per commit, over a few connections, with `synchronous_commit = on`,
//!   and answers each request once the transaction holding its rows has committed. A
//!   transaction already stored is refused as a replay; a failed write stops the service.
//! - [`service`]: HTTP. `POST /v1/transactions/batch` takes the body a Suyuan node takes and
//!   answers as one does (`BatchResponse`); envelopes are verified on every core
//!   ([`Envelope::verify_batch`](suyuan_ledger::tx::Envelope::verify_batch), one batch per
//!   core) before the store sees them.
//!
//! The driver that measures it is three more: [`load`] signs the envelopes (one function,
//! [`load::commissioning_load`], so that the load can follow the benchmark's mix), [`drive`]
//! sends them open-loop on `suyuan bench`'s schedule and times each acknowledgement, and
//! [`report`] with [`host`] turns the run into figures, and compares them with a Suyuan run
//! (`testnet/pg-baseline.sh --with-suyuan`).

pub mod drive;
pub mod host;
pub mod load;
pub mod report;
pub mod rows;
pub mod schema;
pub mod service;
pub mod store;

use suyuan_ledger::hash::hash_parts;
use suyuan_ledger::tx::ChainBinding;

/// The chain id the yardstick's envelopes are signed for unless told otherwise.
pub const DEFAULT_CHAIN_ID: &str = "suyuan-pg-baseline";

/// The chain binding the service checks signatures against and the driver signs for: the
/// chain id with a genesis hash derived from it, since the yardstick has no genesis file. The
/// service and the driver call this one function, so they cannot disagree.
pub fn yardstick_binding(chain_id: &str) -> ChainBinding {
    let genesis_hash = hash_parts("suyuan pg-baseline genesis", &[chain_id.as_bytes()]);
    ChainBinding::new(chain_id, genesis_hash)
}
