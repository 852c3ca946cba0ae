//! Model product quality and safety traceability as pure, deterministic Rust.
//!
//! The ledger crate is the domain of Suyuan and nothing else: no I/O, no clock, no randomness that
//! is not handed in. Its parts, from the bottom up:
//!
//! - [`codes`]: the identifiers products and enterprises carry (USCC, GS1, CCC, licences, Handle,
//!   Ecode), each a newtype that can only hold a valid value.
pub mod block;
pub mod codec;
pub mod codes;
pub mod crypto;
pub mod demo;
pub mod exec;
pub mod genesis;
pub mod hash;
pub mod limits;
pub mod merkle;
pub mod record;
pub mod state;
pub mod text;
pub mod trees;
pub mod tx;
