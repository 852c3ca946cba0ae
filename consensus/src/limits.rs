//! Name every bound the crate enforces.

/// Most validators a set may have (a signer index is a `u16`; certificates stay small).
pub const MAX_VALIDATORS: usize = 512;

/// Largest encoded [`Message`](crate::Message) accepted: a certificate signed by all
/// [`MAX_VALIDATORS`] (121 + 2 + 512 × 66 = 33,915 bytes) fits with room to spare.
pub const MAX_MESSAGE_BYTES: usize = 40 * 1024;

/// Votes for views more than this far ahead of the current view are dropped: they cannot help
/// yet and would let a peer fill memory. Certificates are exempt (they carry a quorum).
pub const MAX_VIEWS_AHEAD: u64 = 64;

/// Vote tallies of views this far behind the current view are pruned; their certificates, the
/// leader's proposal and this validator's own votes are kept until finalization passes them.
pub const VOTE_RETENTION_VIEWS: u64 = 64;

/// Own votes are cast only in views at most this far below the current view (a finalize vote
/// may come after the view moved on, when its notarization arrives late). The write-ahead log
/// therefore needs the own votes of the newest this-many views only: a validator restarted from
/// such a log resumes at or above the newest of them and, by this rule, never again votes in a
/// view whose votes were dropped. 1,000 views is over an hour of views timing out back to back
/// at the default timeouts, far longer than any late notarization, and keeps the log near
/// 3,000 entries however long the consortium goes without finalizing.
pub const VOTE_WINDOW_VIEWS: u64 = 1_000;

/// Most certificate fetches the engine keeps outstanding at once.
pub const MAX_FETCHES_IN_FLIGHT: usize = 32;

/// Most votes accepted in [`Input::Recovered`](crate::Input::Recovered): the write-ahead log
/// only needs the votes of views above the last finalized view.
pub const MAX_RECOVERED_VOTES: usize = 1 << 20;
