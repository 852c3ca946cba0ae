//! Plan an open-loop load: which transactions go in which batch, and when each batch is due.
//!
//! Open loop means a batch is sent when it is due whatever happened to the ones before it, so a
//! slow network shows up as latency and refusals instead of quietly lowering the offered rate
//! (the "coordinated omission" of closed-loop load generators).

use std::ops::Range;
use std::time::Duration;

/// A send counts as late when it starts more than this after it was due.
pub(crate) const LATE_SEND_THRESHOLD: Duration = Duration::from_millis(10);

/// When each batch of a load is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    /// Transactions per second.
    rate_per_s: u64,
    /// Transactions per batch (the last batch may hold fewer).
    batch: usize,
    /// Transactions in all.
    total: usize,
}

impl Schedule {
    /// `total` transactions at `rate_per_s`, `batch` at a time. Both rate and batch are at
    /// least 1 (the command line checks).
    pub(crate) fn new(rate_per_s: u64, batch: usize, total: usize) -> Schedule {
        assert!(rate_per_s > 0 && batch > 0, "checked by the command line");
        Schedule {
            rate_per_s,
            batch,
            total,
        }
    }

    /// How many batches.
    pub(crate) fn batches(&self) -> usize {
        self.total.div_ceil(self.batch)
    }

    /// The transactions of batch `index`.
    pub(crate) fn batch_range(&self, index: usize) -> Range<usize> {
        let start = index * self.batch;
        start.min(self.total)..(start + self.batch).min(self.total)
    }

    /// When batch `index` is due after the start: when the rate reaches its first transaction.
    pub(crate) fn due(&self, index: usize) -> Duration {
        let first_tx = (index * self.batch) as u128;
        let nanos = first_tx * 1_000_000_000 / u128::from(self.rate_per_s);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// How punctual the sends were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Punctuality {
    /// Batches sent.
    pub(crate) sends: usize,
    /// Batches that started more than [`LATE_SEND_THRESHOLD`] after they were due.
    pub(crate) late: usize,
    /// The latest any batch started after it was due.
    pub(crate) max_lateness: Duration,
}

impl Punctuality {
    /// Notes one send that started `lateness` after it was due.
    pub(crate) fn record(&mut self, lateness: Duration) {
        self.sends += 1;
        if lateness > LATE_SEND_THRESHOLD {
            self.late += 1;
        }
        self.max_lateness = self.max_lateness.max(lateness);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_due_at_the_rate() {
        let schedule = Schedule::new(5_000, 100, 325_000);
        assert_eq!(schedule.batches(), 3_250);
        assert_eq!(schedule.due(0), Duration::ZERO);
        assert_eq!(schedule.due(1), Duration::from_millis(20));
        assert_eq!(schedule.due(3_249), Duration::from_millis(64_980));
        assert_eq!(schedule.batch_range(3_249), 324_900..325_000);
    }

    #[test]
    fn a_short_last_batch_and_uneven_rates() {
        let schedule = Schedule::new(3, 2, 7);
        assert_eq!(schedule.batches(), 4);
        let ranges: Vec<_> = (0..4).map(|i| schedule.batch_range(i)).collect();
        assert_eq!(ranges, vec![0..2, 2..4, 4..6, 6..7]);
        // Transaction 2 is due at 2/3 s.
        assert_eq!(schedule.due(1), Duration::from_nanos(666_666_666));
        assert_eq!(schedule.batch_range(9), 7..7);
    }

    #[test]
    fn punctuality_counts_sends_past_the_threshold() {
        let mut punctuality = Punctuality::default();
        punctuality.record(Duration::ZERO);
        punctuality.record(LATE_SEND_THRESHOLD);
        punctuality.record(LATE_SEND_THRESHOLD + Duration::from_millis(1));
        assert_eq!(punctuality.sends, 3);
        assert_eq!(punctuality.late, 1);
        assert_eq!(
            punctuality.max_lateness,
            LATE_SEND_THRESHOLD + Duration::from_millis(1)
        );
    }
}
