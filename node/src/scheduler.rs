//! Share the admission lane fairly between the node's clients and each peer, in bounded queues.
//!
//! Admission checks one batch at a time (its signature checks use half the machine), so the
//! order batches wait in decides who is served. [`FairQueue`] holds what waits: one queue for
//! the API's clients, itself split by client address, and one queue per peer for the gossip
//! that peer published. [`FairQueue::pop`] takes turns round-robin: the clients, then each
//! peer with something waiting, then the clients again; among clients, each address in turn.
//! So a peer that publishes faster than the node admits gets one batch in `1 + peers` turns
//! and fills only its own queue, and a client behind it waits for at most one batch of each
//! other sender, however many they queue.
//!
//! Every queue is bounded. A peer's queue is bounded in messages and in bytes, and what does
//! not fit is handed back to be reported to gossip as ignored and counted against that peer
//! ([`GossipQueueStats::dropped`]); all peers' queues together hold at most
//! [`MAX_QUEUED_GOSSIP_BYTES`] (or one largest message per peer, in a consortium so large
//! that this is more). A client may have [`MAX_QUEUED_BATCHES_PER_CLIENT`] batches waiting,
//! and all clients together [`MAX_QUEUED_CLIENT_BATCHES`]; a client's batches are already in
//! memory when they arrive (the API bounds bodies and requests in flight), so those bounds
//! are on waiting, not on bytes.
//!
//! The queue is a plain data structure: no clock, no lock, no task. `crate::admission` owns
//! one behind a mutex and drains it with one worker.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use crate::network::MAX_TRANSACTION_BYTES;

/// Bytes of gossip all peers' queues may hold together: the node's memory for gossip it has
/// received and not yet admitted, sixteen of the largest messages. In a consortium of more
/// than sixteen validators each peer still has room for one largest message, so the bound is
/// then `validators × MAX_TRANSACTION_BYTES`.
pub const MAX_QUEUED_GOSSIP_BYTES: usize = 16 * MAX_TRANSACTION_BYTES;

/// Gossip messages one peer may have waiting. Honest validators publish a batch at most every
/// few milliseconds and only while their own clients submit, so this absorbs a burst of
/// small batches; a peer beyond it is publishing faster than this node admits.
pub const GOSSIP_QUEUE_MESSAGES_PER_PEER: usize = 64;

/// Batches one client address may have waiting: a client that submits one batch at a time
/// never has more than one; a few cover parallel submitters behind one address.
pub const MAX_QUEUED_BATCHES_PER_CLIENT: usize = 4;

/// Batches all clients may have waiting: at about one batch per admission turn, more would
/// wait past the client deadline anyway.
pub const MAX_QUEUED_CLIENT_BATCHES: usize = 256;

// Every peer can always queue at least one message of the largest size.
const _: () = assert!(MAX_QUEUED_GOSSIP_BYTES >= MAX_TRANSACTION_BYTES);

/// Whom the node serves as one client: an IPv4 address, or an IPv6 address's /64 prefix (one
/// host usually holds a whole /64, so finer keys would let one host pose as many clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An IPv4 address (IPv4-mapped IPv6 addresses count as theirs).
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6([u8; 8]),
}

impl ClientKey {
    /// The client a connection from `address` belongs to.
    pub fn of(address: IpAddr) -> ClientKey {
        match address.to_canonical() {
            IpAddr::V4(v4) => ClientKey::V4(v4.octets()),
            IpAddr::V6(v6) => {
                let mut prefix = [0; 8];
                prefix.copy_from_slice(&v6.octets()[..8]);
                ClientKey::V6(prefix)
            }
        }
    }
}

/// Why a client's batch was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRefusal {
    /// This client has [`MAX_QUEUED_BATCHES_PER_CLIENT`] batches waiting.
    TooManyWaiting,
    /// All clients together have [`MAX_QUEUED_CLIENT_BATCHES`] waiting.
    Saturated,
}

/// The next batch to admit, and whose it is.
#[derive(Debug, PartialEq, Eq)]
pub enum Turn<C, P> {
    /// A client's batch.
    Client(ClientKey, C),
    /// Gossip from the peer with this validator index.
    Peer(usize, P),
}

/// What the peers' queues hold and have dropped, for tests, logs and operators.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GossipQueueStats {
    /// Gossip messages waiting, all peers together.
    pub queued_messages: usize,
    /// Their bytes.
    pub queued_bytes: usize,
    /// The most bytes ever waiting at once since start.
    pub peak_bytes: usize,
    /// The bound on `queued_bytes`.
    pub max_bytes: usize,
    /// Messages dropped because the peer's queue was full, by validator index.
    pub dropped: Vec<u64>,
}

/// One peer's waiting gossip.
#[derive(Debug)]
struct PeerQueue<P> {
    jobs: VecDeque<(P, usize)>,
    bytes: usize,
    dropped: u64,
}

/// The batches waiting for the admission lane: clients' of type `C`, peers' of type `P`.
#[derive(Debug)]
pub struct FairQueue<C, P> {
    /// Each waiting client's batches, oldest first; a client with none has no entry.
    clients: HashMap<ClientKey, VecDeque<C>>,
    /// Clients with batches waiting, in the order they are served.
    client_turns: VecDeque<ClientKey>,
    /// Batches waiting over all clients.
    client_batches: usize,
    /// One queue per validator, by index (this node's own stays empty).
    peers: Vec<PeerQueue<P>>,
    /// Bytes one peer may have waiting.
    peer_quota_bytes: usize,
    /// Bytes waiting over all peers, and the most ever.
    gossip_bytes: usize,
    peak_gossip_bytes: usize,
    /// Whose turn is next: 0 the clients, `1 + i` peer `i`.
    next: usize,
}

impl<C, P> FairQueue<C, P> {
    /// An empty queue for a consortium of `validators`.
    pub fn new(validators: usize) -> Self {
        FairQueue {
            clients: HashMap::new(),
            client_turns: VecDeque::new(),
            client_batches: 0,
            peers: (0..validators)
                .map(|_| PeerQueue {
                    jobs: VecDeque::new(),
                    bytes: 0,
                    dropped: 0,
                })
                .collect(),
            peer_quota_bytes: (MAX_QUEUED_GOSSIP_BYTES / validators.max(1))
                .max(MAX_TRANSACTION_BYTES),
            gossip_bytes: 0,
            peak_gossip_bytes: 0,
            next: 0,
        }
    }

    /// Whether a batch of `client` would be queued now, or why not: what
    /// [`FairQueue::push_client`] would answer, asked before the batch is read.
    pub fn client_room(&self, client: &ClientKey) -> Result<(), ClientRefusal> {
        if self.client_batches >= MAX_QUEUED_CLIENT_BATCHES {
            return Err(ClientRefusal::Saturated);
        }
        let waiting = self.clients.get(client).map_or(0, VecDeque::len);
        if waiting >= MAX_QUEUED_BATCHES_PER_CLIENT {
            return Err(ClientRefusal::TooManyWaiting);
        }
        Ok(())
    }

    /// Queues a client's batch, or hands it back with why not.
    pub fn push_client(&mut self, client: ClientKey, job: C) -> Result<(), (C, ClientRefusal)> {
        if let Err(refusal) = self.client_room(&client) {
            return Err((job, refusal));
        }
        let queue = self.clients.entry(client).or_default();
        if queue.is_empty() {
            self.client_turns.push_back(client);
        }
        queue.push_back(job);
        self.client_batches += 1;
        Ok(())
    }

    /// Queues a gossip message of `bytes` from peer `peer`, or hands it back (and counts the
    /// drop against the peer) when the peer's queue or all peers' bytes are at their bound.
    /// A peer index outside the consortium is handed back uncounted.
    pub fn push_peer(&mut self, peer: usize, job: P, bytes: usize) -> Result<(), P> {
        let max_total = self.max_gossip_bytes();
        let quota = self.peer_quota_bytes;
        let total = self.gossip_bytes;
        let Some(queue) = self.peers.get_mut(peer) else {
            return Err(job);
        };
        let fits = queue.jobs.len() < GOSSIP_QUEUE_MESSAGES_PER_PEER
            && queue.bytes + bytes <= quota
            && total + bytes <= max_total;
        if !fits {
            queue.dropped += 1;
            return Err(job);
        }
        queue.jobs.push_back((job, bytes));
        queue.bytes += bytes;
        self.gossip_bytes += bytes;
        self.peak_gossip_bytes = self.peak_gossip_bytes.max(self.gossip_bytes);
        debug_assert!(self.gossip_bytes <= max_total);
        Ok(())
    }

    /// The next batch to admit, taking turns as the module says; `None` when nothing waits.
    pub fn pop(&mut self) -> Option<Turn<C, P>> {
        let classes = 1 + self.peers.len();
        for offset in 0..classes {
            let class = (self.next + offset) % classes;
            let turn = if class == 0 {
                self.pop_client()
            } else {
                self.pop_peer(class - 1)
            };
            if let Some(turn) = turn {
                self.next = (class + 1) % classes;
                return Some(turn);
            }
        }
        None
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.client_batches == 0 && self.peers.iter().all(|queue| queue.jobs.is_empty())
    }

    /// What the peers' queues hold and have dropped.
    pub fn gossip_stats(&self) -> GossipQueueStats {
        GossipQueueStats {
            queued_messages: self.peers.iter().map(|queue| queue.jobs.len()).sum(),
            queued_bytes: self.gossip_bytes,
            peak_bytes: self.peak_gossip_bytes,
            max_bytes: self.max_gossip_bytes(),
            dropped: self.peers.iter().map(|queue| queue.dropped).collect(),
        }
    }

    /// The bound on all peers' waiting bytes: [`MAX_QUEUED_GOSSIP_BYTES`], or one largest
    /// message per peer if that is more.
    fn max_gossip_bytes(&self) -> usize {
        MAX_QUEUED_GOSSIP_BYTES.max(self.peer_quota_bytes * self.peers.len())
    }

    fn pop_client(&mut self) -> Option<Turn<C, P>> {
        let client = self.client_turns.pop_front()?;
        let queue = self
            .clients
            .get_mut(&client)
            .expect("a client takes turns only while it has batches waiting");
        let job = queue
            .pop_front()
            .expect("a client's queue is removed when it empties");
        if queue.is_empty() {
            self.clients.remove(&client);
        } else {
            self.client_turns.push_back(client);
        }
        self.client_batches -= 1;
        Some(Turn::Client(client, job))
    }

    fn pop_peer(&mut self, peer: usize) -> Option<Turn<C, P>> {
        let queue = &mut self.peers[peer];
        let (job, bytes) = queue.jobs.pop_front()?;
        queue.bytes -= bytes;
        self.gossip_bytes -= bytes;
        Some(Turn::Peer(peer, job))
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn client(last: u8) -> ClientKey {
        ClientKey::of(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
    }

    /// Fills every queue as a flood would, then pops everything: the order of turns.
    fn drain(queue: &mut FairQueue<u32, u32>) -> Vec<Turn<u32, u32>> {
        std::iter::from_fn(|| queue.pop()).collect()
    }

    #[test]
    fn a_flooding_peer_gets_one_turn_in_each_round_and_a_client_is_served_within_one_round() {
        let mut queue: FairQueue<u32, u32> = FairQueue::new(4);
        // Peer 1 floods: its queue fills, the rest is dropped and counted.
        let mut dropped = 0;
        for message in 0..1_000 {
            if queue.push_peer(1, message, 1_000).is_err() {
                dropped += 1;
            }
        }
        assert_eq!(dropped, 1_000 - GOSSIP_QUEUE_MESSAGES_PER_PEER);
        assert_eq!(queue.gossip_stats().dropped, vec![0, dropped as u64, 0, 0]);
        // An honest peer and a client arrive behind the flood.
        queue.push_peer(2, 7, 1_000).unwrap();
        queue.push_client(client(1), 100).unwrap();
        let first: Vec<Turn<u32, u32>> = (0..3).map(|_| queue.pop().unwrap()).collect();
        assert_eq!(
            first,
            vec![
                Turn::Client(client(1), 100),
                Turn::Peer(1, 0),
                Turn::Peer(2, 7)
            ]
        );
        // A client arriving mid-flood waits for at most one flood batch.
        queue.push_client(client(1), 101).unwrap();
        let next: Vec<Turn<u32, u32>> = (0..2).map(|_| queue.pop().unwrap()).collect();
        assert_eq!(next, vec![Turn::Client(client(1), 101), Turn::Peer(1, 1)]);
        let rest = drain(&mut queue);
        assert_eq!(rest.len(), GOSSIP_QUEUE_MESSAGES_PER_PEER - 2);
        assert!(queue.is_empty());
        assert_eq!(queue.gossip_stats().queued_bytes, 0);
    }

    #[test]
    fn clients_take_turns_by_address_and_each_is_bounded() {
        let mut queue: FairQueue<u32, u32> = FairQueue::new(4);
        let flooder = client(66);
        for batch in 0..MAX_QUEUED_BATCHES_PER_CLIENT as u32 {
            queue.push_client(flooder, batch).unwrap();
        }
        assert_eq!(
            queue.push_client(flooder, 99),
            Err((99, ClientRefusal::TooManyWaiting))
        );
        // Asked before a batch is read, the queue answers what a push would.
        assert_eq!(
            queue.client_room(&flooder),
            Err(ClientRefusal::TooManyWaiting)
        );
        assert_eq!(queue.client_room(&client(1)), Ok(()));
        queue.push_client(client(1), 1_000).unwrap();
        queue.push_client(client(2), 2_000).unwrap();
        let order: Vec<u32> = drain(&mut queue)
            .into_iter()
            .map(|turn| match turn {
                Turn::Client(_, job) => job,
                Turn::Peer(..) => unreachable!("no gossip queued"),
            })
            .collect();
        assert_eq!(order, vec![0, 1_000, 2_000, 1, 2, 3]);

        // All clients together are bounded too.
        for index in 0..MAX_QUEUED_CLIENT_BATCHES {
            let address = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + index as u32));
            queue.push_client(ClientKey::of(address), 0).unwrap();
        }
        assert_eq!(
            queue.push_client(client(3), 5),
            Err((5, ClientRefusal::Saturated))
        );
        assert_eq!(queue.client_room(&client(3)), Err(ClientRefusal::Saturated));
    }

    #[test]
    fn queued_gossip_bytes_stay_within_the_bound_whoever_floods() {
        // Seven validators, six of them flooding with the largest messages.
        let mut queue: FairQueue<u32, u32> = FairQueue::new(7);
        let max = queue.gossip_stats().max_bytes;
        assert_eq!(max, MAX_QUEUED_GOSSIP_BYTES);
        for round in 0..200 {
            for peer in 1..7 {
                let _ = queue.push_peer(peer, round, MAX_TRANSACTION_BYTES);
            }
            if round % 3 == 0 {
                queue.pop();
            }
            assert!(queue.gossip_stats().queued_bytes <= max);
        }
        let stats = queue.gossip_stats();
        assert!(stats.peak_bytes <= max, "{stats:?}");
        assert!(
            stats.peak_bytes > max / 2,
            "the flood filled the queues: {stats:?}"
        );
        // Each flooder holds about its share of the bytes, none crowds the others out.
        for peer in 1..7 {
            assert!(stats.dropped[peer] > 0);
        }
        // The one validator that did not flood can still queue.
        queue
            .push_peer(0, 1, 1_000)
            .unwrap_or_else(|_| panic!("peer 0's quota is free"));

        // A consortium too large for the bound keeps one largest message per peer.
        let large: FairQueue<u32, u32> = FairQueue::new(100);
        assert_eq!(large.gossip_stats().max_bytes, 100 * MAX_TRANSACTION_BYTES);
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_bit_prefix() {
        let one: Ipv6Addr = "2001:db8:1:2::1".parse().unwrap();
        let same: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: Ipv6Addr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::of(one.into()), ClientKey::of(same.into()));
        assert_ne!(ClientKey::of(one.into()), ClientKey::of(other.into()));
        let mapped: Ipv6Addr = "::ffff:127.0.0.66".parse().unwrap();
        assert_eq!(ClientKey::of(mapped.into()), client(66));
    }
}
