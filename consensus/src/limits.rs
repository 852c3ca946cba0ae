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

/// Most certificate fetches the engine keeps outstanding at once.
pub const MAX_FETCHES_IN_FLIGHT: usize = 32;

/// Most votes accepted in [`Input::Recovered`](crate::Input::Recovered): the write-ahead log
/// only needs the votes of views above the last finalized view.
pub const MAX_RECOVERED_VOTES: usize = 1 << 20;
