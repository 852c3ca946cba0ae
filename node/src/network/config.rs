//! Say what a node chooses for its own network, beside what genesis fixes.

use std::time::Duration;

use libp2p::Multiaddr;

/// What a node chooses for itself; everything the consortium shares comes from genesis.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// Where to listen; `None` listens on this validator's genesis `p2p_address`.
    pub listen_address: Option<Multiaddr>,
    /// First redial delay after a disconnect, before jitter; it doubles after each failed dial.
    pub redial_initial: Duration,
    /// Largest redial delay, before jitter.
    pub redial_max: Duration,
    /// Seed of the redial jitter; `None` seeds from the OS. Tests pass a seed.
    pub jitter_seed: Option<u64>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            listen_address: None,
            redial_initial: Duration::from_millis(250),
            redial_max: Duration::from_secs(10),
            jitter_seed: None,
        }
    }
}
