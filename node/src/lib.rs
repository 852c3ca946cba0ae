//! Run one validator of a Suyuan consortium: the daemon behind `suyuan run` and `suyuan dev`.
//!
//! The parts, in the order a transaction meets them:
//!
//! - [`config`] reads the node's TOML configuration (with `SUYUAN_<SECTION>_<KEY>` overrides)
//!   and [`keyfile`] its ed25519 key file.
//! - [`service`] starts and stops a whole validator: store, network, admission, driver and the
//!   HTTP API ([`suyuan_api`]), which calls into the node through [`node_api::NodeApi`].
//! - [`admission`] is the one way into the [`mempool`]: envelopes from the API and from peers'
//!   gossip are decoded, their signatures checked in batches on every core and the ledger's rules
//!   run against committed state, and what passes is held and gossiped ([`frames`] lays out the
//!   batches and blocks peers exchange). [`scheduler`] shares admission fairly between clients
//!   and peers in bounded queues, and [`penalties`] remembers who sent failing signatures.
//! - [`driver`] drives consensus ([`suyuan_consensus::Engine`]): it feeds it messages, timers
//!   and verdicts and carries out its actions, building and checking blocks with the [`chain`]
//!   of pending blocks (executed over their ancestors, with the proof trees grown), and commits finalized blocks with their
//!   justifications to RocksDB ([`suyuan_storage`]).
//! - [`sync`] fetches and checks the blocks a node missed, from its peers.
//! - [`network`] is the permissioned libp2p network: gossip, direct consensus sends, block sync.
//! - [`clock`] is the wall clock the node reads for block times, with the rules that bound
//!   them: how far ahead of a follower's clock a block may be, and when a leader proposes.
//! - [`peer_faults`] counts each validator peer's faults and logs them without flooding the log.
//! - [`byzantine`] is a validator that misbehaves on purpose, for tests; production nodes are
//!   always honest.

pub mod admission;
pub mod byzantine;
pub mod chain;
pub mod clock;
pub mod config;
pub mod driver;
pub mod frames;
pub mod keyfile;
pub mod mempool;
pub mod network;
pub mod node_api;
pub mod peer_faults;
pub mod penalties;
pub mod scheduler;
pub mod service;
pub mod sync;
