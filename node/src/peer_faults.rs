//! Count what each validator peer does wrong, and say so in the log without flooding it.
//!
//! A faulty or hostile validator can send a malformed frame, a proposal for a view it does not
//! lead, or a proposal outside the views this node holds, thousands of times a second. Each is
//! refused where it is found; here each is counted against the peer that sent it, and logged
//! at most once per [`FAULT_LOG_INTERVAL`] per peer, with the number of faults the interval
//! suppressed. The counts are the peer's score: `/metrics` shows them, and the progress log
//! names the peers that misbehave.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// Shortest time between two log lines about one peer's faults.
pub const FAULT_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Faults of each validator peer, by genesis index.
#[derive(Debug)]
pub struct PeerFaults {
    peers: Vec<PeerRecord>,
}

#[derive(Debug, Default, Clone)]
struct PeerRecord {
    total: u64,
    suppressed: u64,
    last_logged: Option<Instant>,
}

impl PeerFaults {
    /// No faults yet, among `validators` validators.
    pub fn new(validators: usize) -> PeerFaults {
        PeerFaults {
            peers: vec![PeerRecord::default(); validators],
        }
    }

    /// Counts a fault of `peer` (what it did: `what`, and why it was refused: `why`), and logs
    /// it unless this peer's faults were logged less than [`FAULT_LOG_INTERVAL`] ago. Whether
    /// it logged.
    pub fn record(&mut self, peer: usize, what: &'static str, why: impl Display) -> bool {
        self.record_at(peer, what, why, Instant::now())
    }

    fn record_at(
        &mut self,
        peer: usize,
        what: &'static str,
        why: impl Display,
        now: Instant,
    ) -> bool {
        let Some(record) = self.peers.get_mut(peer) else {
            return false;
        };
        record.total += 1;
        let due = record
            .last_logged
            .is_none_or(|last| now.duration_since(last) >= FAULT_LOG_INTERVAL);
        if !due {
            record.suppressed += 1;
            return false;
        }
        tracing::warn!(
            peer,
            fault = what,
            reason = %why,
            suppressed = record.suppressed,
            total = record.total,
            "refused a peer's faulty input"
        );
        record.suppressed = 0;
        record.last_logged = Some(now);
        true
    }

    /// Faults counted against `peer` since start.
    pub fn total(&self, peer: usize) -> u64 {
        self.peers.get(peer).map_or(0, |record| record.total)
    }

    /// Every peer's fault count, by genesis index.
    pub fn totals(&self) -> Vec<u64> {
        self.peers.iter().map(|record| record.total).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_a_flood_of_faults_once_per_interval_and_counts_them_all() {
        let mut faults = PeerFaults::new(4);
        let start = Instant::now();
        assert!(faults.record_at(2, "malformed frame", "bad tag", start));
        let logged = (1..10_000)
            .filter(|i| {
                let at = start + Duration::from_millis(*i);
                faults.record_at(2, "malformed frame", "bad tag", at)
            })
            .count();
        assert_eq!(logged, 0, "a flood within the interval logs nothing more");
        assert!(faults.record_at(2, "malformed frame", "bad tag", start + FAULT_LOG_INTERVAL));
        assert_eq!(faults.total(2), 10_001);
        assert_eq!(faults.totals(), vec![0, 0, 10_001, 0]);
        // Another peer's first fault is logged at once.
        assert!(faults.record_at(
            1,
            "proposal",
            "not its view",
            start + Duration::from_millis(5)
        ));
        // An index outside genesis is ignored.
        assert!(!faults.record_at(9, "proposal", "?", start));
    }
}
