//! Model product quality and safety traceability as pure, deterministic Rust.
//!
//! The ledger crate is the domain of Suyuan and nothing else: no I/O, no clock, no randomness that
//! is not handed in (the client helpers `KeyPair::generate`, `PersonalData::commit_fresh` and
//! `Demo::new` draw from the operating system; nothing that executes or verifies calls them).
//! Its parts, from the bottom up:
//!
//! - [`codes`]: the identifiers products and enterprises carry (USCC, GS1, CCC, licences, Handle,
//!   Ecode), each a newtype that can only hold a valid value.
//! - [`hash`], [`codec`], [`text`], [`limits`]: hashes, the canonical binary codec, bounded
//!   text, and the bound on every size the ledger accepts.
//! - [`crypto`], [`tx`], [`signatures`]: keys and the one signature rule, signed envelopes and
//!   their payloads, and checking many signatures at once on every core.
//! - [`record`], [`catalogue`], [`genesis`], [`state`], [`exec`], [`facts`]: what a record
//!   says, the categories of key products and what each requires, the consortium's founding
//!   document (which holds the catalogue), the state records build, the rules that execute
//!   them, and the figures of each enterprise's whole history that execution keeps for its
//!   score.
//! - [`schema`]: the JSON Schema of what a client signs, generated from the record types.
//! - [`submit`]: why a node refuses to admit a transaction, in one vocabulary for the node,
//!   the API and clients.
//! - [`block`], [`merkle`], [`trees`]: blocks and headers, the Merkle log and code map, and
//!   how a block grows both.
//! - [`demo`]: a small consortium and its story, for the demo, tests and benchmarks.
pub mod block;
pub mod catalogue;
pub mod codec;
pub mod codes;
pub mod crypto;
pub mod demo;
pub mod event;
pub mod exec;
pub mod facts;
pub mod genesis;
pub mod hash;
pub mod limits;
pub mod merkle;
pub mod record;
pub mod schema;
pub mod signatures;
pub mod state;
pub mod submit;
pub mod text;
pub mod trees;
pub mod tx;
