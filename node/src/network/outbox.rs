//! Queue consensus messages for one slow peer, dropping the oldest when the queue is full.
//!
//! Drop-oldest, because consensus retransmits and a newer message (a later view's vote or
//! certificate) supersedes an older one: under overload the peer should get the freshest.
//! The queue holds at most [`CONSENSUS_QUEUE_MESSAGES_PER_PEER`] messages and
//! [`CONSENSUS_QUEUE_BYTES_PER_PEER`] bytes; at most [`CONSENSUS_IN_FLIGHT_PER_PEER`] are handed
//! to libp2p and not yet acknowledged.
//!
//! Drive it: [`Outbox::push`] a message, then send everything [`Outbox::next_to_send`] yields;
//! call [`Outbox::on_done`] once for each sent message when its acknowledgement or failure
//! arrives, and send again.

use std::collections::VecDeque;
use std::sync::Arc;

use super::limits::{
    CONSENSUS_IN_FLIGHT_PER_PEER, CONSENSUS_QUEUE_BYTES_PER_PEER, CONSENSUS_QUEUE_MESSAGES_PER_PEER,
};

/// One peer's consensus messages waiting to be sent.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    queued: VecDeque<Arc<[u8]>>,
    queued_bytes: usize,
    in_flight: usize,
}

impl Outbox {
    /// Queues `message`; returns how many older messages were dropped to make room.
    pub(super) fn push(&mut self, message: Arc<[u8]>) -> u64 {
        let mut dropped = 0;
        while !self.queued.is_empty()
            && (self.queued.len() + 1 > CONSENSUS_QUEUE_MESSAGES_PER_PEER
                || self.queued_bytes + message.len() > CONSENSUS_QUEUE_BYTES_PER_PEER)
        {
            self.pop();
            dropped += 1;
        }
        self.queued_bytes += message.len();
        self.queued.push_back(message);
        dropped
    }

    /// The next message to hand to libp2p, if the in-flight bound allows one.
    pub(super) fn next_to_send(&mut self) -> Option<Arc<[u8]>> {
        if self.in_flight >= CONSENSUS_IN_FLIGHT_PER_PEER {
            return None;
        }
        let message = self.pop()?;
        self.in_flight += 1;
        Some(message)
    }

    /// A sent message was acknowledged or failed.
    pub(super) fn on_done(&mut self) {
        assert!(self.in_flight > 0, "every completion matches one send");
        self.in_flight -= 1;
    }

    /// Drops every queued message (the peer went away); returns how many.
    pub(super) fn clear(&mut self) -> u64 {
        let dropped = self.queued.len() as u64;
        self.queued.clear();
        self.queued_bytes = 0;
        dropped
    }

    fn pop(&mut self) -> Option<Arc<[u8]>> {
        let message = self.queued.pop_front()?;
        self.queued_bytes -= message.len();
        Some(message)
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    fn message(tag: u32, len: usize) -> Arc<[u8]> {
        let mut bytes = vec![0; len.max(4)];
        bytes[..4].copy_from_slice(&tag.to_be_bytes());
        bytes.into()
    }

    fn tag(message: &[u8]) -> u32 {
        u32::from_be_bytes(message[..4].try_into().unwrap())
    }

    #[test]
    fn full_queue_drops_oldest_by_count() {
        let mut outbox = Outbox::default();
        let total = CONSENSUS_QUEUE_MESSAGES_PER_PEER as u32 + 10;
        let dropped: u64 = (0..total).map(|i| outbox.push(message(i, 4))).sum();
        assert_eq!(dropped, 10);
        assert_eq!(
            tag(&outbox.next_to_send().unwrap()),
            10,
            "the oldest ten went"
        );
    }

    #[test]
    fn full_queue_drops_oldest_by_bytes() {
        let mut outbox = Outbox::default();
        let big = CONSENSUS_QUEUE_BYTES_PER_PEER / 4;
        let dropped: u64 = (0..6).map(|i| outbox.push(message(i, big))).sum();
        assert_eq!(dropped, 2);
        assert_eq!(tag(&outbox.next_to_send().unwrap()), 2);
    }

    #[test]
    fn in_flight_bound_holds_messages_until_acknowledged() {
        let mut outbox = Outbox::default();
        for i in 0..(CONSENSUS_IN_FLIGHT_PER_PEER as u32 + 1) {
            outbox.push(message(i, 4));
        }
        let sent = std::iter::from_fn(|| outbox.next_to_send()).count();
        assert_eq!(sent, CONSENSUS_IN_FLIGHT_PER_PEER);
        outbox.on_done();
        assert!(outbox.next_to_send().is_some());
        assert!(outbox.next_to_send().is_none());
        assert_eq!(outbox.clear(), 0);
    }
}
