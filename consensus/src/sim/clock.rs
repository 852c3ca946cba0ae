//! Model each validator's wall clock and the block-time rule the node applies with it.
//!
//! Consensus orders opaque digests; the block time lives in the application (the ledger header's
//! `time_ms`). The simulated application keeps each proposed block's time beside its digest and
//! applies the node's rule (issue 14):
//!
//! - a leader gives its block the time `max(its wall clock, parent time + 1 ms)`;
//! - a leader proposes after `min(parent time + interval on its own wall clock, the instant it
//!   learned the parent + interval)`: it never waits on a parent time in its own future;
//! - a follower judges a block invalid (and so nullifies the view) when its time is below its
//!   parent's or more than the tolerance, the leader timeout, ahead of the follower's own wall
//!   clock.

use crate::{Time, ValidatorIndex};

/// The Unix time, in milliseconds, that simulated time 0 reads on an exact clock, so that block
/// times look like the node's.
pub(super) const EPOCH_MS: u64 = 1_700_000_000_000;

/// Most a scenario may set a validator's clock off, either way: every wall clock then stays
/// after genesis's time and far from overflow.
pub const MAX_CLOCK_OFFSET_MS: i64 = 30 * 60 * 1000;

/// The genesis block's time: an hour before the run starts, so that it is behind every clock a
/// scenario may set (see [`MAX_CLOCK_OFFSET_MS`]).
pub(super) const GENESIS_TIME_MS: u64 = EPOCH_MS - 60 * 60 * 1000;

const _: () = assert!(MAX_CLOCK_OFFSET_MS as u64 <= EPOCH_MS - GENESIS_TIME_MS);

/// A broken block-time rule, for proving the simulator catches it. Test builds only.
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClockMutation {
    /// Followers accept a block time up to 5 minutes ahead of their clock (the node's rule
    /// before issue 14).
    FiveMinuteTolerance,
    /// A leader waits until its parent's time plus the interval on its own clock, however far
    /// in its future that is (the node's rule before issue 14).
    WaitForParentTime,
    /// Followers accept a block timed before its parent.
    IgnoreParentTime,
}

/// The validators' wall clocks: simulated time plus a fixed offset each, and the time rule.
#[derive(Clone, Debug)]
pub(super) struct Clocks {
    /// Each validator's offset from simulated time, by validator index.
    offsets: Vec<i64>,
    /// How far ahead of a follower's clock a block time may be: the leader timeout.
    tolerance_ms: u64,
    /// How long after its parent a leader proposes.
    interval_ms: u64,
    #[cfg(test)]
    mutation: Option<ClockMutation>,
}

impl Clocks {
    pub(super) fn new(offsets: Vec<i64>, tolerance_ms: u64, interval_ms: u64) -> Clocks {
        assert!(
            offsets.iter().all(|o| o.abs() <= MAX_CLOCK_OFFSET_MS),
            "clock offsets are at most {MAX_CLOCK_OFFSET_MS} ms either way"
        );
        Clocks {
            offsets,
            tolerance_ms,
            interval_ms,
            #[cfg(test)]
            mutation: None,
        }
    }

    #[cfg(test)]
    pub(super) fn with_mutation(self, mutation: Option<ClockMutation>) -> Clocks {
        Clocks { mutation, ..self }
    }

    /// Validator `v`'s offset from simulated time.
    pub(super) fn offset_ms(&self, v: ValidatorIndex) -> i64 {
        self.offsets[usize::from(v.0)]
    }

    /// Validator `v`'s wall clock at simulated time `now`, in Unix milliseconds.
    pub(super) fn wall_ms(&self, v: ValidatorIndex, now: Time) -> u64 {
        let exact = EPOCH_MS + now.0;
        exact.saturating_add_signed(self.offset_ms(v))
    }

    /// The wall clock reading `offset_ms` off simulated time, at `now`.
    pub(super) fn wall_at_offset_ms(offset_ms: i64, now: Time) -> u64 {
        (EPOCH_MS + now.0).saturating_add_signed(offset_ms)
    }

    /// How far ahead of a follower's clock a block time may be.
    pub(super) fn tolerance_ms(&self) -> u64 {
        #[cfg(test)]
        if self.mutation == Some(ClockMutation::FiveMinuteTolerance) {
            return 5 * 60 * 1000;
        }
        self.tolerance_ms
    }

    /// How long `leader`, asked at `now` to extend a parent of time `parent_ms`, waits before
    /// building: until the parent's time plus the interval on its own clock, but never longer
    /// than the interval from now, however far in its future the parent's time lies.
    pub(super) fn proposal_wait_ms(
        &self,
        leader: ValidatorIndex,
        now: Time,
        parent_ms: u64,
    ) -> u64 {
        let on_own_clock = (parent_ms + self.interval_ms).saturating_sub(self.wall_ms(leader, now));
        #[cfg(test)]
        if self.mutation == Some(ClockMutation::WaitForParentTime) {
            return on_own_clock;
        }
        on_own_clock.min(self.interval_ms)
    }

    /// The time an honest `leader` building at `now` gives a child of a parent of time
    /// `parent_ms`: its clock, or just after the parent's time when that is in its future.
    pub(super) fn block_time_ms(&self, leader: ValidatorIndex, now: Time, parent_ms: u64) -> u64 {
        self.wall_ms(leader, now).max(parent_ms + 1)
    }

    /// Whether an honest `follower` checking at `now` accepts a block time `time_ms` under a
    /// parent of time `parent_ms`.
    pub(super) fn acceptable(
        &self,
        follower: ValidatorIndex,
        now: Time,
        time_ms: u64,
        parent_ms: u64,
    ) -> bool {
        #[cfg(test)]
        let parent_ms = match self.mutation {
            Some(ClockMutation::IgnoreParentTime) => 0,
            _ => parent_ms,
        };
        time_ms >= parent_ms && time_ms <= self.wall_ms(follower, now) + self.tolerance_ms()
    }
}
