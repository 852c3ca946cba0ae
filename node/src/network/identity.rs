//! Name validators and messages on libp2p: a validator's peer id is its genesis ed25519 key,
//! and a chain's gossip topic and message ids are derived from what they carry.

use libp2p::PeerId;
use libp2p::gossipsub::{IdentTopic, MessageId};
use libp2p::identity::{self, Keypair};
use suyuan_ledger::crypto::{KeyPair, PublicKey};

/// The libp2p peer id of the validator with this ed25519 key.
pub fn peer_id_of(key: &PublicKey) -> Option<PeerId> {
    let ed25519 = identity::ed25519::PublicKey::try_from_bytes(key.as_bytes()).ok()?;
    Some(identity::PublicKey::from(ed25519).to_peer_id())
}

/// The libp2p identity of a validator: its own ed25519 key.
pub(crate) fn libp2p_keypair(key: &KeyPair) -> Keypair {
    let mut seed = key.seed();
    Keypair::ed25519_from_bytes(&mut seed)
        .expect("any 32 bytes are an ed25519 seed, and seed() returns 32")
}

/// The gossip topic of a chain's transactions; the chain id keeps two consortia apart.
pub fn transaction_topic(chain_id: &str) -> IdentTopic {
    IdentTopic::new(format!("/suyuan/{chain_id}/transactions/1"))
}

/// The gossip message id of `data`: its hash, so the same transaction gossiped twice, by anyone,
/// is one message.
pub fn gossip_message_id(data: &[u8]) -> MessageId {
    let hash = suyuan_ledger::hash::hash_parts("suyuan gossip message id v1", &[data]);
    MessageId::new(hash.as_bytes())
}
