//! Know the genesis validators' peer ids and addresses, and when to dial each of them next.
//!
//! [`Validators`] is the only map from a [`PeerId`] to a validator; a peer it does not know is
//! not a validator. [`DialSchedule`] is a pure state machine over `now` and an rng: the swarm
//! task feeds it connection events and asks it which peers are due for a dial.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use rand::Rng;
use suyuan_ledger::crypto::PublicKey;
use suyuan_ledger::genesis::Genesis;

use super::error::NetworkError;
use super::identity::peer_id_of;

/// A genesis validator as the network knows it: its index in genesis order and its peer id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ValidatorPeer {
    /// Index in the genesis validator list (leader-rotation order).
    pub index: usize,
    /// Its libp2p peer id, derived from its validator key.
    pub peer_id: PeerId,
}

/// The genesis validators' peer ids and dial addresses, and which one this node is.
#[derive(Debug, Clone)]
pub(super) struct Validators {
    peer_ids: Vec<PeerId>,
    addresses: Vec<Multiaddr>,
    by_peer_id: HashMap<PeerId, usize>,
    local: usize,
}

impl Validators {
    /// Derives every validator's peer id and full dial address (`…/p2p/<peer id>`).
    pub(super) fn from_genesis(
        genesis: &Genesis,
        local_key: &PublicKey,
    ) -> Result<Self, NetworkError> {
        let (local, _) = genesis
            .validator(local_key)
            .ok_or(NetworkError::NotAValidator(*local_key))?;
        let mut peer_ids = Vec::with_capacity(genesis.validators.len());
        let mut addresses = Vec::with_capacity(genesis.validators.len());
        for (index, validator) in genesis.validators.iter().enumerate() {
            let peer_id =
                peer_id_of(&validator.public_key).ok_or(NetworkError::BadValidatorKey { index })?;
            addresses.push(dial_address(
                index,
                validator.p2p_address.as_str(),
                peer_id,
            )?);
            peer_ids.push(peer_id);
        }
        let by_peer_id = peer_ids.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        Ok(Validators {
            peer_ids,
            addresses,
            by_peer_id,
            local,
        })
    }

    /// How many validators genesis names, this node included.
    pub(super) fn len(&self) -> usize {
        self.peer_ids.len()
    }

    /// This node.
    pub(super) fn local(&self) -> ValidatorPeer {
        self.at(self.local)
            .expect("the local index came from the genesis list")
    }

    /// The validator at `index`, if any.
    pub(super) fn at(&self, index: usize) -> Option<ValidatorPeer> {
        let peer_id = *self.peer_ids.get(index)?;
        Some(ValidatorPeer { index, peer_id })
    }

    /// The validator with this peer id; `None` means a stranger.
    pub(super) fn lookup(&self, peer_id: &PeerId) -> Option<ValidatorPeer> {
        let index = *self.by_peer_id.get(peer_id)?;
        Some(ValidatorPeer {
            index,
            peer_id: *peer_id,
        })
    }

    /// Every validator but this node.
    pub(super) fn others(&self) -> impl Iterator<Item = ValidatorPeer> + '_ {
        (0..self.len())
            .filter(|i| *i != self.local)
            .filter_map(|i| self.at(i))
    }

    /// Every validator's peer id, this node's included.
    pub(super) fn peer_ids(&self) -> &[PeerId] {
        &self.peer_ids
    }

    /// The validator's genesis address with `/p2p/<peer id>` appended.
    pub(super) fn address(&self, index: usize) -> &Multiaddr {
        &self.addresses[index]
    }
}

fn dial_address(index: usize, text: &str, peer_id: PeerId) -> Result<Multiaddr, NetworkError> {
    let bad = |reason: String| NetworkError::BadAddress {
        index,
        address: text.to_owned(),
        reason,
    };
    let address: Multiaddr = text.parse().map_err(|e| bad(format!("{e}")))?;
    match address.iter().last() {
        Some(Protocol::P2p(named)) if named == peer_id => Ok(address),
        Some(Protocol::P2p(_)) => Err(bad("its /p2p part names another key".into())),
        _ => Ok(address.with(Protocol::P2p(peer_id))),
    }
}

/// Exponential backoff with jitter: each delay is drawn from [d/2, d], and d doubles from
/// `initial` up to `max`.
#[derive(Debug, Clone)]
pub(super) struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// A backoff starting at `initial` and bounded by `max`.
    pub(super) fn new(initial: Duration, max: Duration) -> Self {
        assert!(
            initial <= max,
            "a backoff's first delay must not exceed its bound"
        );
        Backoff {
            initial,
            max,
            next: initial,
        }
    }

    /// The next delay, jittered; the one after it doubles.
    pub(super) fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        let half = base / 2;
        half + half.mul_f64(rng.gen_range(0.0..=1.0))
    }

    /// Back to the first delay, after a connection succeeded.
    pub(super) fn reset(&mut self) {
        self.next = self.initial;
    }
}

/// Where the link to one peer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Connected,
    Dialing,
    WaitingUntil(Instant),
}

/// When to dial each other validator: at once at start, then after a jittered backoff whenever a
/// link drops or a dial fails, never while connected or already dialing.
#[derive(Debug)]
pub(super) struct DialSchedule {
    links: HashMap<usize, (Link, Backoff)>,
}

impl DialSchedule {
    /// Every peer in `peers` is due at `now`.
    pub(super) fn new(peers: impl Iterator<Item = usize>, now: Instant, backoff: &Backoff) -> Self {
        let links = peers
            .map(|i| (i, (Link::WaitingUntil(now), backoff.clone())))
            .collect();
        DialSchedule { links }
    }

    /// The peers due for a dial at `now`, in index order; they count as dialing from here on.
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<usize> {
        let mut due: Vec<usize> = self
            .links
            .iter_mut()
            .filter(|(_, (link, _))| matches!(link, Link::WaitingUntil(at) if *at <= now))
            .map(|(i, (link, _))| {
                *link = Link::Dialing;
                *i
            })
            .collect();
        due.sort_unstable();
        due
    }

    /// A connection to `peer` is up, inbound or outbound.
    pub(super) fn on_connected(&mut self, peer: usize) {
        if let Some((link, backoff)) = self.links.get_mut(&peer) {
            *link = Link::Connected;
            backoff.reset();
        }
    }

    /// The last connection to `peer` closed: dial again after the next backoff delay.
    pub(super) fn on_disconnected(&mut self, peer: usize, now: Instant, rng: &mut impl Rng) {
        self.wait(peer, now, rng);
    }

    /// A dial of `peer` failed; ignored if another connection is up meanwhile.
    pub(super) fn on_dial_failed(&mut self, peer: usize, now: Instant, rng: &mut impl Rng) {
        if self
            .links
            .get(&peer)
            .is_some_and(|(l, _)| *l != Link::Connected)
        {
            self.wait(peer, now, rng);
        }
    }

    /// Whether `peer` has a connection up.
    pub(super) fn is_connected(&self, peer: usize) -> bool {
        self.links
            .get(&peer)
            .is_some_and(|(l, _)| *l == Link::Connected)
    }

    fn wait(&mut self, peer: usize, now: Instant, rng: &mut impl Rng) {
        if let Some((link, backoff)) = self.links.get_mut(&peer) {
            *link = Link::WaitingUntil(now + backoff.next_delay(rng));
        }
    }
}

#[cfg(test)]
mod unit_tests {
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    use super::*;

    fn backoff() -> Backoff {
        Backoff::new(Duration::from_millis(250), Duration::from_secs(10))
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_its_bound_and_resets() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut b = backoff();
        let mut base = Duration::from_millis(250);
        for _ in 0..12 {
            let d = b.next_delay(&mut rng);
            assert!(
                d >= base / 2 && d <= base,
                "{d:?} outside [{:?}, {base:?}]",
                base / 2
            );
            base = (base * 2).min(Duration::from_secs(10));
        }
        b.reset();
        assert!(b.next_delay(&mut rng) <= Duration::from_millis(250));
    }

    #[test]
    fn schedule_dials_at_start_then_after_backoff_and_never_while_connected() {
        let mut rng = StdRng::seed_from_u64(1);
        let t0 = Instant::now();
        let mut s = DialSchedule::new([1, 2, 3].into_iter(), t0, &backoff());
        assert_eq!(s.take_due(t0), vec![1, 2, 3]);
        assert!(s.take_due(t0).is_empty(), "dialing peers are not due again");
        s.on_connected(1);
        s.on_dial_failed(1, t0, &mut rng);
        assert!(
            s.is_connected(1),
            "a failed duplicate dial leaves the link up"
        );
        s.on_dial_failed(2, t0, &mut rng);
        assert!(s.take_due(t0 + Duration::from_millis(100)).is_empty());
        assert_eq!(s.take_due(t0 + Duration::from_millis(250)), vec![2]);
        s.on_disconnected(1, t0, &mut rng);
        assert_eq!(s.take_due(t0 + Duration::from_millis(250)), vec![1]);
    }
}
