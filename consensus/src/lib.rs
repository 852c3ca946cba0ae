//! Order opaque block digests among a fixed validator set, tolerating f Byzantine faults.
//!
//! placeholder
#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
mod engine;
mod error;
pub mod limits;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
mod types;
mod vote;

pub use codec::{DecodeError, Message, WIRE_VERSION};
pub use engine::{Action, Config, ConfigError, Engine, Finalized, Input, Timeouts};
pub use error::Rejection;
pub use types::{Block, ChainId, Digest, Height, InvalidBlock, Time, ValidatorIndex, View};
pub use vote::{
    Certificate, Evidence, SignedVote, ValidatorSet, ValidatorSetError, Vote, VoteKind,
    signing_bytes,
};
