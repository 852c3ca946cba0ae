//! Join the ledger's blocks to consensus certificates, and prove records to anyone who holds
//! the genesis file.
//!
//! This crate is the single home of every rule that needs both the ledger and consensus, so
//! that the driver, block sync, the API, `suyuan verify` and `suyuan audit` apply one rule with
//! one strictness. It is pure: no I/O, no clock, no threads.
//!
//! - [`justification`]: what a node stores beside each committed block and sends with it in
//!   block sync: the block's certificate and the nullifications of the views it skipped, with
//!   the bound every other layer derives its own from.
//! - [`finality`]: genesis → validator set ([`finality::Consortium`]), header → consensus block
//!   ([`finality::consensus_block`]) and the one rule for "this justification justifies this
//!   header" ([`finality::Consortium::check`]).
//! - [`bundle`]: proof bundles and consistency proofs, and their offline verification against
//!   the genesis file alone.
//! - [`signing`]: certificates signed with validator keys held in memory, for demo chains,
//!   tests and benchmarks (a real node stores what consensus delivered).

pub mod bundle;
pub mod finality;
pub mod justification;
pub mod signing;
