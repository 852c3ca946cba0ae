//! Order opaque block digests among a fixed validator set, tolerating f Byzantine faults.
//!
//! This is Suyuan's consensus: a Simplex-style BFT protocol (Chan and Pass, 2023; see
//! `shared/CONSENSUS.md`) written as a pure state machine. It never touches a socket, a disk,
//! a clock or a random number generator: the node feeds it [`Input`]s with the current
//! [`Time`] and executes the [`Action`]s it returns. The application (the ledger) builds and
//! checks block contents; consensus sees a block only as a [`Block`]: a 32-byte [`Digest`] with
//! its view, height and parent link.
//!
//! # The parts
//!
//! - [`Engine`]: one validator's state machine. Its documentation says how to drive it, what
//!   must be persisted before what is sent, and how sync requests look.
//! - [`ValidatorSet`], [`Vote`], [`SignedVote`], [`Certificate`], [`Evidence`]: who votes, what
//!   they sign ([`signing_bytes`]: a domain tag per vote kind, the chain id, the view and the
//!   block), quorums of `2f + 1` distinct valid signatures, and proof of equivocation.
//! - [`Message`]: the wire format, a small canonical binary codec with bounded decoding (see
//!   the `codec` module source and its golden vectors in `src/testdata/wire_vectors.txt`).
//! - [`Rejection`]: why an input was refused, and whether that makes the peer faulty.
//! - [`limits`]: every bound the crate enforces.
//! - `sim` (tests, or the `sim` feature): the deterministic simulator that checks safety
//!   and liveness under network faults, crashes and Byzantine validators.
//!
//! # Driving it
//!
//! Four validators on a perfect in-memory network, each application approving every block:
//!
//! ```
//! use std::collections::VecDeque;
//! use ed25519_dalek::SigningKey;
//! use suyuan_consensus::*;
//!
//! let keys: Vec<SigningKey> = (1..=4u8).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
//! let validators = ValidatorSet::new(keys.iter().map(|k| k.verifying_key()).collect()).unwrap();
//! let genesis = Block::genesis(Digest([0; 32]));
//! let mut engines = Vec::new();
//! let mut todo = VecDeque::new(); // (validator, action), executed in order
//! for key in &keys {
//!     let config = Config {
//!         chain: ChainId::from_name("demo"),
//!         validators: validators.clone(),
//!         key: key.clone(),
//!         timeouts: Timeouts::default(),
//!     };
//!     let mut engine = Engine::new(config).unwrap();
//!     // First input: the last finalized block and the write-ahead log (empty: a fresh start).
//!     let start = Input::Recovered { finalized: genesis, votes: vec![] };
//!     let actions = engine.handle(start, Time(0)).unwrap();
//!     todo.extend(actions.into_iter().map(|a| (engines.len(), a)));
//!     engines.push(engine);
//! }
//! let mut finalized = vec![0u64; 4];
//! while let Some((i, action)) = todo.pop_front() {
//!     let inputs: Vec<(usize, Input)> = match action {
//!         // A real node makes this durable (fsync) before executing the next action.
//!         Action::PersistVote(_vote) => vec![],
//!         Action::Broadcast(message) => (0..4)
//!             .filter(|&j| j != i)
//!             .map(|j| (j, Input::Message { from: ValidatorIndex(i as u16), message: message.clone() }))
//!             .collect(),
//!         Action::Send { to, message } => {
//!             vec![(to.0 as usize, Input::Message { from: ValidatorIndex(i as u16), message })]
//!         }
//!         Action::RequestProposal { view, parent } if view.0 <= 5 => {
//!             let digest = Digest([view.0 as u8; 32]); // the application's block hash
//!             vec![(i, Input::Proposal(parent.child(view, digest).unwrap()))]
//!         }
//!         Action::Verify(block) => {
//!             vec![(i, Input::Verdict { view: block.view(), digest: block.digest(), valid: true })]
//!         }
//!         Action::Finalized(f) => {
//!             f.certificate.verify(&ChainId::from_name("demo"), &validators).unwrap();
//!             finalized[i] = f.block.height().0;
//!             vec![]
//!         }
//!         // Timers, sync and evidence need no work on a perfect network.
//!         _ => vec![],
//!     };
//!     for (j, input) in inputs {
//!         // Late messages for already-finalized views are refused harmlessly.
//!         if let Ok(actions) = engines[j].handle(input, Time(0)) {
//!             todo.extend(actions.into_iter().map(|a| (j, a)));
//!         }
//!     }
//! }
//! assert!(finalized.iter().all(|&h| h >= 4));
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
mod engine;
mod error;
pub mod limits;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
mod types;
mod vote;

pub use codec::{Message, WIRE_VERSION};
pub use engine::{Action, Config, ConfigError, Engine, Finalized, Input, Timeouts};
pub use error::{DecodeError, Rejection};
pub use types::{Block, ChainId, Digest, Height, InvalidBlock, Time, ValidatorIndex, View};
pub use vote::{
    Certificate, Evidence, SignedVote, ValidatorSet, ValidatorSetError, Vote, VoteKind,
    signing_bytes,
};
