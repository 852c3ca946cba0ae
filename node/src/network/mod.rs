//! Connect the genesis validators to each other over libp2p, and to no one else.
//!
//! The network moves opaque bytes; it never decodes a transaction, a vote or a block. Its parts:
//!
//! - identity: a validator's libp2p key *is* its ed25519 validator key from genesis, so a
//!   [`PeerId`] names exactly one genesis validator ([`peer_id_of`]);
//! - transport: TCP, noise, yamux, with [`HANDSHAKE_TIMEOUT`] for the whole handshake;
//!   connections from any peer outside genesis are refused as soon as the noise handshake names
//!   it, before any protocol stream opens (`allow_block_list`), and connection counts are
//!   bounded (`connection_limits`, [`MAX_CONNECTIONS_PER_PEER`]);
//! - `handshakes`: incoming connections still in their handshake are bounded per address, with
//!   slots reserved for the genesis validators' addresses, so strangers cannot keep the
//!   validators out;
//! - [`peers`]: dials every other validator at its genesis `p2p_address` and redials with jittered
//!   exponential backoff after a disconnect or a failed dial;
//! - transactions: gossipsub on one topic per chain ([`transaction_topic`]), content-addressed
//!   message ids, strict signing, and nothing forwarded before the node accepts it
//!   ([`NetworkHandle::report_validation`]);
//! - consensus: direct request-response sends (`/suyuan/consensus/1`) to each connected
//!   validator, so liveness never rests on gossip; per-peer queues drop their oldest message when
//!   full ([`outbox`]);
//! - sync: request-response (`/suyuan/sync/1`) for pages of finalized blocks ([`codec`]);
//! - `events`: what arrives waits in per-validator queues with quotas, one per kind (consensus,
//!   block requests, transactions), and goes to the node consensus first, validators in turn;
//!   a validator that floods loses its own events, counted against it
//!   ([`NetworkHandle::events_dropped_by_peer`]), and no one else's;
//! - [`Network::start`] spawns the swarm task ([`task`]) and hands back a [`NetworkHandle`] to
//!   drive it and a bounded receiver of [`NetworkEvent`]s.
//!
//! Every queue, message and count has a named bound, in `limits` (re-exported here).

mod behaviour;
mod codec;
mod config;
mod error;
mod events;
mod handle;
mod handshakes;
mod identity;
mod limits;
mod outbox;
mod peers;
mod task;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::genesis::Genesis;
use tokio::sync::mpsc;

pub use codec::{SyncRequestId, WireError};
pub use config::NetworkConfig;
pub use error::NetworkError;
pub use events::{BlockReply, NetworkEvent};
pub use handle::{GossipVerdict, NetworkCounters, NetworkHandle, PeerEventDrops};
pub use identity::{gossip_message_id, peer_id_of, transaction_topic};
pub use limits::*;
pub use peers::ValidatorPeer;

/// Starts the network of one validator.
pub struct Network;

impl Network {
    /// Listens, dials every other genesis validator, and spawns the swarm task on the current
    /// tokio runtime.
    ///
    /// Drive it through the [`NetworkHandle`] (clone it freely) and drain the receiver: it is
    /// bounded by [`EVENT_CHANNEL_CAPACITY`], and behind it each validator's events wait within
    /// their quotas ([`CONSENSUS_EVENTS_PER_PEER`] and the like); a node that does not drain it
    /// loses the oldest data events of each validator beyond its quota (counted in
    /// [`NetworkCounters::events_dropped`] and [`NetworkHandle::events_dropped_by_peer`]). The
    /// task stops on [`NetworkHandle::shutdown`], when every handle is dropped, or when the
    /// receiver is dropped.
    pub fn start(
        config: NetworkConfig,
        genesis: &Genesis,
        key: &KeyPair,
    ) -> Result<(NetworkHandle, mpsc::Receiver<NetworkEvent>), NetworkError> {
        let validators = peers::Validators::from_genesis(genesis, &key.public())?;
        let listen = match config.listen_address.clone() {
            Some(address) => address,
            None => validators.address(validators.local().index).clone(),
        };
        let swarm = behaviour::build_swarm(identity::libp2p_keypair(key), genesis, &validators)?;
        let (commands_tx, commands_rx) = mpsc::channel(COMMAND_QUEUE_CAPACITY);
        let (events_tx, events_rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
        let counters = Arc::new(handle::Counters::new(validators.len()));
        let events = events::EventSink::new(events_tx, validators.len(), Arc::clone(&counters));
        let local = validators.local();
        let handle =
            NetworkHandle::new(commands_tx, Arc::clone(&counters), local, validators.len());
        let mut task = task::SwarmTask::new(
            swarm,
            &config,
            validators,
            commands_rx,
            events,
            counters,
            transaction_topic(&genesis.chain_id),
        );
        task.listen(listen)?;
        tokio::spawn(task.run());
        Ok((handle, events_rx))
    }
}
