//! Read the wall clock the way blocks record time: Unix milliseconds.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in Unix milliseconds; 0 if the clock is before 1970.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// The wall clock the consensus driver stamps and judges block times with: the system clock,
/// shifted by a fixed offset that is zero on every production node. Tests give a misbehaving
/// validator a skewed clock through [`crate::byzantine::Misbehaviour`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    offset_ms: i64,
}

impl Clock {
    /// The system clock, shifted by `offset_ms` (positive: ahead of true time).
    pub fn skewed(offset_ms: i64) -> Clock {
        Clock { offset_ms }
    }

    /// Now, in Unix milliseconds, as this clock reads it.
    pub fn now_ms(&self) -> u64 {
        now_ms().saturating_add_signed(self.offset_ms)
    }
}

/// How far ahead of a follower's clock a block's time may be for the follower to vote for it:
/// the leader timeout. A leader's clock that far ahead of an honest follower's is a fault worth
/// a view; within it, clocks kept by NTP (milliseconds apart) never cost one. Tying it to the
/// leader timeout keeps it small: a leader whose block is refused for its time loses no more
/// than the view it would have lost by proposing nothing.
pub fn clock_tolerance_ms(leader_timeout_ms: u64) -> u64 {
    leader_timeout_ms
}

/// Whether a follower may vote for a block of time `block_ms`, reading `now_ms` on its own
/// clock: `Err(ms)` says how far beyond the tolerance the block is.
///
/// A refused block is no verdict on its contents: the follower keeps it and, if others
/// finalize it, commits it; it only withholds its vote (and nullifies the view).
pub fn judge_block_time(block_ms: u64, now_ms: u64, tolerance_ms: u64) -> Result<(), u64> {
    let limit = now_ms.saturating_add(tolerance_ms);
    match block_ms.checked_sub(limit) {
        Some(beyond) if beyond > 0 => Err(beyond),
        _ => Ok(()),
    }
}

/// When a leader should propose a child of a parent of time `parent_ms`, learned at
/// `learned`, after waiting `wait_ms`: `wait_ms` after the parent's time on this node's clock
/// (`now_ms`, read at `now`), but never later than `wait_ms` after it learned the parent. A
/// parent time in this node's future, from a leader whose clock is ahead or from this node's
/// own clock being behind, never holds up a proposal.
pub fn proposal_due(
    parent_ms: u64,
    learned: std::time::Instant,
    wait_ms: u64,
    now_ms: u64,
    now: std::time::Instant,
) -> std::time::Instant {
    let wait = std::time::Duration::from_millis(wait_ms);
    let by_clock = now
        + std::time::Duration::from_millis(
            parent_ms.saturating_add(wait_ms).saturating_sub(now_ms),
        );
    by_clock.min(learned + wait)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_skewed_clock_reads_ahead_or_behind_by_its_offset() {
        let true_now = now_ms();
        let ahead = Clock::skewed(240_000).now_ms();
        let behind = Clock::skewed(-240_000).now_ms();
        assert!(ahead >= true_now + 240_000 && ahead < true_now + 250_000);
        assert!(behind + 240_000 >= true_now && behind + 230_000 < true_now);
        assert_eq!(Clock::skewed(-1).now_ms().min(1), 1, "no wrap below zero");
    }

    #[test]
    fn blocks_within_the_tolerance_are_voted_for_and_later_ones_refused() {
        let tolerance = clock_tolerance_ms(2_500);
        assert_eq!(judge_block_time(1_000, 1_000, tolerance), Ok(()));
        assert_eq!(judge_block_time(0, 1_000, tolerance), Ok(()));
        assert_eq!(judge_block_time(3_500, 1_000, tolerance), Ok(()));
        assert_eq!(judge_block_time(3_501, 1_000, tolerance), Err(1));
        assert_eq!(
            judge_block_time(1_000 + 240_000, 1_000, tolerance),
            Err(240_000 - 2_500)
        );
        assert_eq!(judge_block_time(u64::MAX, u64::MAX - 1, tolerance), Ok(()));
    }

    #[test]
    fn a_leader_never_waits_on_a_parent_time_in_its_future() {
        let now = Instant::now();
        // Parent stamped now: wait the interval.
        assert_eq!(
            proposal_due(10_000, now, 200, 10_000, now),
            now + Duration::from_millis(200)
        );
        // Parent stamped 4 minutes ahead of this clock: still the interval after learning it.
        let learned = now - Duration::from_millis(50);
        assert_eq!(
            proposal_due(10_000 + 240_000, learned, 200, 10_000, now),
            learned + Duration::from_millis(200)
        );
        // Parent stamped long ago (an idle chain): at once.
        assert_eq!(proposal_due(1_000, learned, 200, 10_000, now), now);
    }
}
