//! Compose the libp2p stack: transport with its handshake deadline, the genesis allow-list,
//! handshake slots, connection bounds, liveness pings, transaction gossip and the two direct
//! protocols.

use std::collections::HashSet;

use libp2p::gossipsub::{
    self, IdentityTransform, MessageAuthenticity, WhitelistSubscriptionFilter,
};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{Swarm, SwarmBuilder, allow_block_list, connection_limits, noise, ping, tcp, yamux};
use suyuan_ledger::genesis::Genesis;

use super::codec::{CONSENSUS_PROTOCOL, ConsensusCodec, SYNC_PROTOCOL, SyncCodec};
use super::error::NetworkError;
use super::handshakes::HandshakeSlots;
use super::identity::{gossip_message_id, transaction_topic};
use super::limits::{
    CONSENSUS_SEND_TIMEOUT, GOSSIP_FRAMING_BYTES, HANDSHAKE_TIMEOUT, IDLE_CONNECTION_TIMEOUT,
    MAX_CONNECTIONS_PER_PEER, MAX_STREAMS_PER_CONNECTION, MAX_STREAMS_PER_PROTOCOL,
    MAX_TRANSACTION_BYTES, PING_INTERVAL, PING_TIMEOUT, SYNC_REQUEST_TIMEOUT,
};
use super::peers::Validators;

/// Transaction gossip, accepting subscriptions to this chain's topic only.
pub(super) type Gossip = gossipsub::Behaviour<IdentityTransform, WhitelistSubscriptionFilter>;

/// The composed libp2p behaviour. The allow-list comes first, so a stranger's connection is
/// denied before any other part sees it; the handshake slots next, so an incoming connection
/// without one is refused before anything is spent on it.
#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    pub allowed: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    pub handshakes: HandshakeSlots,
    pub limits: connection_limits::Behaviour,
    pub ping: ping::Behaviour,
    pub gossip: Gossip,
    pub consensus: request_response::Behaviour<ConsensusCodec>,
    pub sync: request_response::Behaviour<SyncCodec>,
}

/// Builds the swarm of the validator holding `keypair`, not yet listening or dialing. Every
/// connection, incoming or outgoing, has [`HANDSHAKE_TIMEOUT`] for its whole upgrade.
pub(super) fn build_swarm(
    keypair: Keypair,
    genesis: &Genesis,
    validators: &Validators,
) -> Result<Swarm<Behaviour>, NetworkError> {
    let transport_error = |e: &dyn std::fmt::Display| NetworkError::Transport(e.to_string());
    let swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::new().nodelay(true),
            noise::Config::new,
            yamux_config,
        )
        .map_err(|e| transport_error(&e))?
        .with_behaviour(|key| Behaviour::new(key, genesis, validators))
        .map_err(|e| transport_error(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .with_connection_timeout(HANDSHAKE_TIMEOUT)
        .build();
    Ok(swarm)
}

fn yamux_config() -> yamux::Config {
    let mut config = yamux::Config::default();
    config.set_max_num_streams(MAX_STREAMS_PER_CONNECTION);
    config
}

impl Behaviour {
    fn new(
        key: &Keypair,
        genesis: &Genesis,
        validators: &Validators,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let mut allowed = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
        for peer_id in validators.peer_ids() {
            allowed.allow_peer(*peer_id);
        }
        let mut gossip = Gossip::new_with_subscription_filter(
            MessageAuthenticity::Signed(key.clone()),
            gossip_config()?,
            topic_filter(&genesis.chain_id),
        )?;
        gossip.subscribe(&transaction_topic(&genesis.chain_id))?;
        let others = validators.others().map(|p| validators.address(p.index));
        Ok(Behaviour {
            allowed,
            handshakes: HandshakeSlots::new(others),
            limits: connection_limits::Behaviour::new(connection_limits(validators.len())),
            ping: ping::Behaviour::new(
                ping::Config::new()
                    .with_interval(PING_INTERVAL)
                    .with_timeout(PING_TIMEOUT),
            ),
            gossip,
            consensus: direct_protocol(CONSENSUS_PROTOCOL, CONSENSUS_SEND_TIMEOUT),
            sync: direct_protocol(SYNC_PROTOCOL, SYNC_REQUEST_TIMEOUT),
        })
    }
}

/// Gossip tuned for a small permissioned set: strict signatures, content ids, nothing forwarded
/// before the node validates it, frames bounded by one transaction envelope.
fn gossip_config() -> Result<gossipsub::Config, gossipsub::ConfigBuilderError> {
    gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(|message| gossip_message_id(&message.data))
        .max_transmit_size(MAX_TRANSACTION_BYTES + GOSSIP_FRAMING_BYTES)
        .flood_publish(true)
        .build()
}

fn topic_filter(chain_id: &str) -> WhitelistSubscriptionFilter {
    WhitelistSubscriptionFilter(HashSet::from([transaction_topic(chain_id).hash()]))
}

/// Connection bounds: a few per validator. Strangers can only hold handshakes, which
/// [`HandshakeSlots`] bounds by address.
fn connection_limits(validator_count: usize) -> connection_limits::ConnectionLimits {
    let per_peer = MAX_CONNECTIONS_PER_PEER;
    let total = per_peer * u32::try_from(validator_count).expect("genesis bounds the validators");
    connection_limits::ConnectionLimits::default()
        .with_max_pending_outgoing(Some(total))
        .with_max_established(Some(total))
        .with_max_established_per_peer(Some(per_peer))
}

fn direct_protocol<C>(
    protocol: libp2p::StreamProtocol,
    timeout: std::time::Duration,
) -> request_response::Behaviour<C>
where
    C: request_response::Codec<Protocol = libp2p::StreamProtocol>
        + Default
        + Clone
        + Send
        + 'static,
{
    let config = request_response::Config::default()
        .with_request_timeout(timeout)
        .with_max_concurrent_streams(MAX_STREAMS_PER_PROTOCOL);
    request_response::Behaviour::new([(protocol, ProtocolSupport::Full)], config)
}
