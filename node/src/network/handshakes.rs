//! Bound the incoming connections still in their handshake, by the address they come from, so
//! that no one outside genesis can take the slots the validators need to reach this node.
//!
//! Before its handshake names a peer, an incoming connection is only a remote address, and it
//! holds a socket and a task until the handshake ends or [`HANDSHAKE_TIMEOUT`] cuts it. Each
//! one takes a slot here when it arrives and gives it back when it is established or fails:
//!
//! - every other genesis validator has [`RESERVED_PENDING_INCOMING_PER_VALIDATOR`] slots that
//!   only connections from the IP address of its genesis `p2p_address` can take (validators
//!   sharing an address, as on a test host, share their slots);
//! - everything else, and a validator's address once its reserved slots are taken, shares
//!   [`MAX_PENDING_INCOMING_UNRESERVED`] slots, at most [`MAX_PENDING_INCOMING_PER_ADDRESS`] per
//!   address (an IPv6 address counts by its /64).
//!
//! A connection that finds no slot is refused at once with [`NoHandshakeSlot`]; the swarm closes
//! its socket and reports `ListenError::Denied`.
//!
//! [`HANDSHAKE_TIMEOUT`]: super::HANDSHAKE_TIMEOUT

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::task::{Context, Poll};

use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::behaviour::{ConnectionEstablished, ListenFailure};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

use super::limits::{
    MAX_PENDING_INCOMING_PER_ADDRESS, MAX_PENDING_INCOMING_UNRESERVED,
    RESERVED_PENDING_INCOMING_PER_VALIDATOR,
};

/// Where an incoming connection comes from, as far as its slots go: an IPv4 address, or an
/// IPv6 /64 (an IPv4-mapped IPv6 address is its IPv4 address). `None` is an address without
/// an IP, which TCP never gives; such connections share one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct AddressKey(Option<IpAddr>);

impl AddressKey {
    /// The key of the first IP address in `address`.
    pub(super) fn of(address: &Multiaddr) -> AddressKey {
        let ip = address.iter().find_map(|part| match part {
            Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
            Protocol::Ip6(ip) => Some(match ip.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(prefix_64(ip)),
            }),
            _ => None,
        });
        AddressKey(ip)
    }
}

impl fmt::Display for AddressKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(IpAddr::V6(prefix)) => write!(f, "{prefix}/64"),
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("an address without an IP"),
        }
    }
}

fn prefix_64(ip: Ipv6Addr) -> Ipv6Addr {
    Ipv6Addr::from(u128::from(ip) & !u128::from(u64::MAX))
}

/// Why an incoming connection was refused before its handshake: every slot it could take is
/// taken. Found in `ListenError::Denied`'s cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no handshake slot for {key}: {held} pending from there, {unreserved} unreserved in use")]
pub(super) struct NoHandshakeSlot {
    /// Where the connection came from.
    pub key: AddressKey,
    /// Pending connections from the same address when it came.
    pub held: u32,
    /// Unreserved slots in use when it came.
    pub unreserved: u32,
}

/// Which slot a pending connection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Reserved(AddressKey),
    Unreserved(AddressKey),
}

/// Slots in use and available for one genesis address.
#[derive(Debug, Clone, Copy, Default)]
struct Reserved {
    capacity: u32,
    used: u32,
}

/// The handshake slots, as a libp2p behaviour that only ever refuses pending incoming
/// connections. Compose it into the swarm; it needs nothing else.
#[derive(Debug)]
pub(super) struct HandshakeSlots {
    reserved: HashMap<AddressKey, Reserved>,
    unreserved_by_key: HashMap<AddressKey, u32>,
    unreserved: u32,
    pending: HashMap<ConnectionId, Slot>,
}

impl HandshakeSlots {
    /// Slots for a node whose other validators have the genesis addresses `others`.
    pub(super) fn new<'a>(others: impl IntoIterator<Item = &'a Multiaddr>) -> Self {
        let mut reserved: HashMap<AddressKey, Reserved> = HashMap::new();
        for address in others {
            let key = AddressKey::of(address);
            if key.0.is_some() {
                reserved.entry(key).or_default().capacity +=
                    RESERVED_PENDING_INCOMING_PER_VALIDATOR;
            }
        }
        HandshakeSlots {
            reserved,
            unreserved_by_key: HashMap::new(),
            unreserved: 0,
            pending: HashMap::new(),
        }
    }

    /// Takes a slot for connection `id` from `remote`, or says why there is none.
    pub(super) fn take(
        &mut self,
        id: ConnectionId,
        remote: &Multiaddr,
    ) -> Result<(), NoHandshakeSlot> {
        let key = AddressKey::of(remote);
        if let Some(reserved) = self.reserved.get_mut(&key)
            && reserved.used < reserved.capacity
        {
            reserved.used += 1;
            self.pending.insert(id, Slot::Reserved(key));
            return Ok(());
        }
        let from_key = self.unreserved_by_key.get(&key).copied().unwrap_or(0);
        if from_key >= MAX_PENDING_INCOMING_PER_ADDRESS
            || self.unreserved >= MAX_PENDING_INCOMING_UNRESERVED
        {
            let reserved_used = self.reserved.get(&key).map_or(0, |r| r.used);
            return Err(NoHandshakeSlot {
                key,
                held: reserved_used + from_key,
                unreserved: self.unreserved,
            });
        }
        *self.unreserved_by_key.entry(key).or_default() += 1;
        self.unreserved += 1;
        self.pending.insert(id, Slot::Unreserved(key));
        Ok(())
    }

    /// Gives back connection `id`'s slot, if it holds one.
    pub(super) fn release(&mut self, id: ConnectionId) {
        match self.pending.remove(&id) {
            Some(Slot::Reserved(key)) => {
                let reserved = self.reserved.get_mut(&key).expect("reserved keys stay");
                reserved.used -= 1;
            }
            Some(Slot::Unreserved(key)) => {
                let count = self
                    .unreserved_by_key
                    .get_mut(&key)
                    .expect("a held slot is counted under its key");
                *count -= 1;
                if *count == 0 {
                    self.unreserved_by_key.remove(&key);
                }
                self.unreserved -= 1;
            }
            None => {}
        }
        debug_assert_eq!(
            self.unreserved as usize,
            self.unreserved_by_key
                .values()
                .map(|c| *c as usize)
                .sum::<usize>()
        );
    }

    /// Pending incoming connections now.
    #[cfg(test)]
    pub(super) fn pending(&self) -> usize {
        self.pending.len()
    }
}

impl NetworkBehaviour for HandshakeSlots {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.take(connection_id, remote_addr)
            .map_err(ConnectionDenied::new)
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _peer: PeerId,
        _local_addr: &Multiaddr,
        _remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.release(connection_id);
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        _peer: PeerId,
        _addr: &Multiaddr,
        _role_override: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        // A connection another behaviour refuses once established never reaches
        // `handle_established_inbound_connection` here, but ends in a listen failure.
        match event {
            FromSwarm::ConnectionEstablished(ConnectionEstablished { connection_id, .. })
            | FromSwarm::ListenFailure(ListenFailure { connection_id, .. }) => {
                self.release(connection_id)
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _peer: PeerId,
        _connection: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn at(address: &str) -> Multiaddr {
        address.parse().expect("a multiaddress")
    }

    /// A connection id no other test connection has.
    fn fresh_id() -> ConnectionId {
        static NEXT: AtomicUsize = AtomicUsize::new(1_000_000);
        ConnectionId::new_unchecked(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    fn take_all(slots: &mut HandshakeSlots, remote: &str, count: u32) -> Vec<ConnectionId> {
        (0..count)
            .map(|_| {
                let id = fresh_id();
                slots.take(id, &at(remote)).expect("a free slot");
                id
            })
            .collect()
    }

    #[test]
    fn strangers_fill_their_own_slots_and_never_the_reserved_ones() {
        let validators = [at("/ip4/10.0.0.1/tcp/7100"), at("/ip4/10.0.0.2/tcp/7100")];
        let mut slots = HandshakeSlots::new(&validators);
        let per_address = MAX_PENDING_INCOMING_PER_ADDRESS;
        let addresses = MAX_PENDING_INCOMING_UNRESERVED / per_address;
        let mut held = Vec::new();
        for a in 0..addresses {
            held.extend(take_all(
                &mut slots,
                &format!("/ip4/192.0.2.{a}/tcp/1"),
                per_address,
            ));
        }
        let refused = slots.take(fresh_id(), &at("/ip4/192.0.2.200/tcp/1"));
        assert!(refused.is_err(), "the unreserved slots are all taken");
        let one_more = slots.take(fresh_id(), &at("/ip4/192.0.2.0/tcp/2"));
        assert_eq!(one_more.unwrap_err().held, per_address);
        for validator in ["/ip4/10.0.0.1/tcp/40000", "/ip4/10.0.0.2/tcp/40000"] {
            take_all(
                &mut slots,
                validator,
                RESERVED_PENDING_INCOMING_PER_VALIDATOR,
            );
        }
        for id in held {
            slots.release(id);
        }
        assert_eq!(
            slots.pending(),
            2 * RESERVED_PENDING_INCOMING_PER_VALIDATOR as usize
        );
        take_all(&mut slots, "/ip4/10.0.0.1/tcp/1", per_address);
    }

    #[test]
    fn validators_sharing_an_address_share_their_reserved_slots() {
        let validators = [at("/ip4/127.0.0.1/tcp/1"), at("/ip4/127.0.0.1/tcp/2")];
        let mut slots = HandshakeSlots::new(&validators);
        let reserved = 2 * RESERVED_PENDING_INCOMING_PER_VALIDATOR;
        take_all(
            &mut slots,
            "/ip4/127.0.0.1/tcp/9",
            reserved + MAX_PENDING_INCOMING_PER_ADDRESS,
        );
        let refused = slots.take(fresh_id(), &at("/ip4/127.0.0.1/tcp/9"));
        assert_eq!(
            refused.unwrap_err().held,
            reserved + MAX_PENDING_INCOMING_PER_ADDRESS
        );
    }

    #[test]
    fn an_ipv6_host_counts_by_its_64_and_a_mapped_ipv4_as_itself() {
        let one = AddressKey::of(&at("/ip6/2001:db8:1:2:aaaa::1/tcp/1"));
        let other = AddressKey::of(&at("/ip6/2001:db8:1:2:bbbb::7/tcp/1"));
        let next = AddressKey::of(&at("/ip6/2001:db8:1:3::1/tcp/1"));
        assert_eq!(one, other);
        assert_ne!(one, next);
        let mapped = AddressKey::of(&at("/ip6/::ffff:10.0.0.1/tcp/1"));
        assert_eq!(mapped, AddressKey::of(&at("/ip4/10.0.0.1/tcp/1")));
    }

    #[test]
    fn a_released_slot_is_free_again_and_releasing_twice_changes_nothing() {
        let mut slots = HandshakeSlots::new(&[]);
        let ids = take_all(
            &mut slots,
            "/ip4/192.0.2.1/tcp/1",
            MAX_PENDING_INCOMING_PER_ADDRESS,
        );
        slots.release(ids[0]);
        slots.release(ids[0]);
        assert_eq!(
            slots.pending(),
            MAX_PENDING_INCOMING_PER_ADDRESS as usize - 1
        );
        take_all(&mut slots, "/ip4/192.0.2.1/tcp/1", 1);
        assert!(slots.take(fresh_id(), &at("/ip4/192.0.2.1/tcp/1")).is_err());
    }
}
