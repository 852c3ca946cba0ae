//! Remember who recently sent signatures that failed, and how much of admission each may have
//! for now.
//!
//! A batch of well-formed signatures that fail only at the group equation is the most
//! expensive thing to refuse: the batch check fails, and finding which ones are invalid costs
//! more checks again (bounded by admission's split budget). Honest clients and validators do
//! not send invalid signatures, except by a bug, so a sender whose batch held one gets a
//! smaller allowance ([`PENALISED_BATCH`] envelopes a batch, the rest refused unchecked), and
//! after [`STRIKES_BEFORE_REFUSAL`] such batches is refused outright for a while, before its
//! request body is even read, for [`FIRST_REFUSAL`] doubling with each further failure up to
//! [`LONGEST_REFUSAL`]. A clean batch takes one strike back; a sender with no failure for
//! [`FORGET_AFTER`] is forgotten. At most [`MAX_REMEMBERED_SENDERS`] senders are remembered;
//! beyond, the one whose last failure is oldest is forgotten first.
//!
//! Senders are keyed by the caller: clients by address ([`crate::scheduler::ClientKey`]),
//! peers by validator index. Time is an input, so the rules are tested without sleeping.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Envelopes a batch may carry while its sender has strikes: enough for an honest client that
/// had one bad signature to go on submitting, small enough that a batch crafted to fail costs
/// the node well under a millisecond of signature checks per turn.
pub const PENALISED_BATCH: usize = 16;

/// Failed batches after which a sender is refused outright for a while.
pub const STRIKES_BEFORE_REFUSAL: u32 = 3;

/// How long a sender is refused at its first refusal; each further failed batch doubles it.
pub const FIRST_REFUSAL: Duration = Duration::from_secs(10);

/// The longest refusal.
pub const LONGEST_REFUSAL: Duration = Duration::from_secs(300);

/// How long after its last failure a sender is forgotten, strikes and all.
pub const FORGET_AFTER: Duration = Duration::from_secs(600);

/// Senders remembered at once: a record is a few dozen bytes, so this is well under a MiB
/// while covering far more failing clients than one node meets.
pub const MAX_REMEMBERED_SENDERS: usize = 10_000;

/// How much of a batch the node takes from a sender now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// The whole batch.
    Full,
    /// The first this many envelopes; the rest are refused unchecked.
    Limited(usize),
    /// Nothing, for this long.
    Refused {
        /// Until the sender may send again.
        retry_after: Duration,
    },
}

/// One sender's recent failures.
#[derive(Debug, Clone, Copy)]
struct Record {
    strikes: u32,
    last_failure: Instant,
    refused_until: Option<Instant>,
}

/// The senders with recent failures, keyed by `K`.
#[derive(Debug)]
pub struct Penalties<K> {
    records: HashMap<K, Record>,
}

impl<K> Default for Penalties<K> {
    fn default() -> Self {
        Penalties {
            records: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq + Clone> Penalties<K> {
    /// What `sender` may send at `now`.
    pub fn allowance(&mut self, sender: &K, now: Instant) -> Allowance {
        let Some(record) = self.records.get(sender).copied() else {
            return Allowance::Full;
        };
        if now.saturating_duration_since(record.last_failure) >= FORGET_AFTER {
            self.records.remove(sender);
            return Allowance::Full;
        }
        match record.refused_until {
            Some(until) if until > now => Allowance::Refused {
                retry_after: until - now,
            },
            _ => Allowance::Limited(PENALISED_BATCH),
        }
    }

    /// Records a batch from `sender` that held invalid signatures (or signatures left
    /// unchecked when the search for invalid ones ran out of budget).
    pub fn record_failure(&mut self, sender: &K, now: Instant) {
        if !self.records.contains_key(sender) && self.records.len() >= MAX_REMEMBERED_SENDERS {
            self.forget_oldest();
        }
        let record = self.records.entry(sender.clone()).or_insert(Record {
            strikes: 0,
            last_failure: now,
            refused_until: None,
        });
        record.strikes = record.strikes.saturating_add(1);
        record.last_failure = now;
        if record.strikes >= STRIKES_BEFORE_REFUSAL {
            let doublings = (record.strikes - STRIKES_BEFORE_REFUSAL).min(16);
            let refusal = FIRST_REFUSAL
                .saturating_mul(1 << doublings)
                .min(LONGEST_REFUSAL);
            record.refused_until = Some(now + refusal);
        }
    }

    /// Records a batch from `sender` whose signatures all held: one strike is taken back.
    pub fn record_clean(&mut self, sender: &K) {
        if let Some(record) = self.records.get_mut(sender) {
            record.strikes = record.strikes.saturating_sub(1);
            if record.strikes == 0 {
                self.records.remove(sender);
            }
        }
    }

    /// How many senders are remembered.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no sender is remembered.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn forget_oldest(&mut self) {
        let oldest = self
            .records
            .iter()
            .min_by_key(|(_, record)| record.last_failure)
            .map(|(sender, _)| sender.clone());
        if let Some(oldest) = oldest {
            self.records.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_shrink_the_allowance_then_refuse_for_doubling_times() {
        let start = Instant::now();
        let mut penalties: Penalties<u32> = Penalties::default();
        assert_eq!(penalties.allowance(&7, start), Allowance::Full);
        penalties.record_failure(&7, start);
        assert_eq!(
            penalties.allowance(&7, start),
            Allowance::Limited(PENALISED_BATCH)
        );
        assert_eq!(
            penalties.allowance(&8, start),
            Allowance::Full,
            "others unaffected"
        );
        penalties.record_failure(&7, start);
        penalties.record_failure(&7, start);
        assert_eq!(
            penalties.allowance(&7, start + Duration::from_secs(1)),
            Allowance::Refused {
                retry_after: FIRST_REFUSAL - Duration::from_secs(1)
            }
        );
        let later = start + FIRST_REFUSAL;
        assert_eq!(
            penalties.allowance(&7, later),
            Allowance::Limited(PENALISED_BATCH)
        );
        penalties.record_failure(&7, later);
        assert_eq!(
            penalties.allowance(&7, later),
            Allowance::Refused {
                retry_after: 2 * FIRST_REFUSAL
            }
        );
        for _ in 0..40 {
            penalties.record_failure(&7, later);
        }
        assert_eq!(
            penalties.allowance(&7, later),
            Allowance::Refused {
                retry_after: LONGEST_REFUSAL
            }
        );
        // Long after the last failure, the sender is forgotten.
        assert_eq!(
            penalties.allowance(&7, later + FORGET_AFTER),
            Allowance::Full
        );
        assert!(penalties.is_empty());
    }

    #[test]
    fn clean_batches_take_strikes_back() {
        let now = Instant::now();
        let mut penalties: Penalties<u32> = Penalties::default();
        penalties.record_failure(&1, now);
        penalties.record_failure(&1, now);
        penalties.record_clean(&1);
        assert_eq!(
            penalties.allowance(&1, now),
            Allowance::Limited(PENALISED_BATCH)
        );
        penalties.record_clean(&1);
        assert_eq!(penalties.allowance(&1, now), Allowance::Full);
        penalties.record_clean(&2);
        assert!(penalties.is_empty());
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_failure_is_forgotten_first() {
        let start = Instant::now();
        let mut penalties: Penalties<usize> = Penalties::default();
        for sender in 0..MAX_REMEMBERED_SENDERS + 10 {
            penalties.record_failure(&sender, start + Duration::from_millis(sender as u64));
        }
        assert_eq!(penalties.len(), MAX_REMEMBERED_SENDERS);
        let now = start + Duration::from_secs(60);
        assert_eq!(penalties.allowance(&0, now), Allowance::Full);
        assert_eq!(
            penalties.allowance(&(MAX_REMEMBERED_SENDERS + 9), now),
            Allowance::Limited(PENALISED_BATCH)
        );
    }
}
