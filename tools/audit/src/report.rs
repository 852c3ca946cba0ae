//! Say what an audit found: findings (something is wrong; the audit fails), notes (worth
//! knowing, not wrong), and the summary printed for people or as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use suyuan_ledger::hash::Hash32;

use suyuan_client::wire_name;

/// What kind of thing is wrong. docs/audit.md explains each to regulators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FindingKind {
    /// The source could not give a block, or a part of one: corrupt on disk, or refused by the
    /// node.
    Unreadable,
    /// A header does not extend its parent: height, parent hash, view, time or proposer.
    Link,
    /// A body does not match its header's body hash or transaction count.
    Body,
    /// A block's certificate is missing, does not decode, is not a notarization or
    /// finalization of exactly this block, or is not a valid quorum of genesis validators.
    Certificate,
    /// A nullification stored with a block is not a valid nullification of a view it skipped.
    Nullification,
    /// Blocks at the head are notarized, but no finalization covers them.
    NotFinalized,
    /// A transaction's signature does not verify.
    Envelope,
    /// A transaction breaks a ledger rule when the chain is replayed.
    Execution,
    /// A header's record log or code map does not match the replay.
    Trees,
    /// The source's stored tree nodes or roots do not match the replay.
    StoredTrees,
    /// The source's stored state does not match the replay.
    State,
    /// The source's indexes or stored values fail the storage integrity check.
    Storage,
    /// A validator signed two conflicting votes.
    Equivocation,
    /// Sources hold different blocks at the same height.
    Divergence,
}

/// Something wrong, at a height.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Finding {
    /// What kind of thing.
    pub(crate) kind: FindingKind,
    /// The source it was found in: a data directory or an API URL ("all sources" when it is
    /// about several).
    pub(crate) source: String,
    /// The block height it is about.
    pub(crate) height: u64,
    /// What is wrong, in plain words.
    pub(crate) message: String,
}

/// What kind of thing a note says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum NoteKind {
    /// A block skipped views, and not every skipped view's nullification is stored with it (a
    /// node that learned of a finalization late stores only those it saw; see docs/audit.md).
    MissingNullifications,
    /// Execution and tree replay stopped at a block that could not be replayed; later blocks
    /// were still checked for links and certificates.
    ReplayStopped,
    /// The source's state could not be compared with the replay.
    StateNotCompared,
    /// A source's head is below another's, on the same chain.
    Behind,
}

/// Something worth knowing that is not wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Note {
    /// What kind of thing.
    pub(crate) kind: NoteKind,
    /// The source.
    pub(crate) source: String,
    /// The block height it is about.
    pub(crate) height: u64,
    /// What it says.
    pub(crate) message: String,
}

/// What was audited of one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SourceSummary {
    /// The data directory or API URL.
    pub(crate) source: String,
    /// Its head when the audit started.
    pub(crate) head: u64,
    /// The head's hash as the source delivered it.
    pub(crate) head_hash: Option<Hash32>,
    /// Blocks checked.
    pub(crate) blocks: u64,
    /// Blocks executed and their trees recomputed.
    pub(crate) blocks_replayed: u64,
    /// Transactions (records) replayed.
    pub(crate) records: u64,
    /// The highest block a valid finalization covers.
    pub(crate) finalized: u64,
    /// The replayed state's digest, when the replay reached the head.
    pub(crate) replayed_state_digest: Option<Hash32>,
    /// The source's stored state digest, when it has a store.
    pub(crate) stored_state_digest: Option<Hash32>,
    /// Seconds the audit of this source took.
    pub(crate) seconds: f64,
    /// Of those, seconds spent comparing the stored state and running the storage integrity
    /// check, after the replay (data directories only).
    pub(crate) store_check_seconds: f64,
}

impl SourceSummary {
    /// Records replayed per second.
    pub(crate) fn records_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.records as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// The outcome of an audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Summary {
    /// The chain id.
    pub(crate) chain_id: String,
    /// The genesis hash the sources were checked against.
    pub(crate) genesis_hash: Hash32,
    /// Genesis validators.
    pub(crate) validators: usize,
    /// Distinct validators whose valid signatures appear in the certificates seen.
    pub(crate) validators_seen: usize,
    /// Valid signed votes seen, over all sources, each counted once.
    pub(crate) votes_seen: u64,
    /// Each source.
    pub(crate) sources: Vec<SourceSummary>,
    /// Every finding.
    pub(crate) findings: Vec<Finding>,
    /// Findings counted by kind.
    pub(crate) findings_by_kind: BTreeMap<FindingKind, usize>,
    /// Every note.
    pub(crate) notes: Vec<Note>,
}

impl Summary {
    /// Whether the audit found nothing wrong.
    pub(crate) fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// Counts the findings by kind.
    pub(crate) fn count_findings(&mut self) {
        self.findings_by_kind.clear();
        for finding in &self.findings {
            *self.findings_by_kind.entry(finding.kind).or_default() += 1;
        }
    }

    /// The summary for people.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "audit of chain {} (genesis {}), {} validators",
            self.chain_id, self.genesis_hash, self.validators
        );
        for source in &self.sources {
            write_source(&mut out, source);
        }
        let _ = writeln!(
            out,
            "validators seen signing: {} of {} ({} distinct signed votes)",
            self.validators_seen, self.validators, self.votes_seen
        );
        for note in &self.notes {
            let _ = writeln!(
                out,
                "note [{}] {} height {}: {}",
                wire_name(&note.kind),
                note.source,
                note.height,
                note.message
            );
        }
        for finding in &self.findings {
            let _ = writeln!(
                out,
                "FINDING [{}] {} height {}: {}",
                wire_name(&finding.kind),
                finding.source,
                finding.height,
                finding.message
            );
        }
        if self.is_clean() {
            let _ = writeln!(out, "result: clean, no findings");
        } else {
            let kinds: Vec<String> = self
                .findings_by_kind
                .iter()
                .map(|(kind, count)| format!("{} {count}", wire_name(kind)))
                .collect();
            let _ = writeln!(
                out,
                "result: {} findings ({})",
                self.findings.len(),
                kinds.join(", ")
            );
        }
        out
    }
}

fn write_source(out: &mut String, source: &SourceSummary) {
    let _ = writeln!(
        out,
        "source {}: head {}{}",
        source.source,
        source.head,
        source
            .head_hash
            .map(|hash| format!(" ({hash})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "  {} blocks checked, {} replayed, {} records in {:.1} s ({:.0} records/s; {:.1} s of \
         it checking the store after the replay); finalized up to {}",
        source.blocks,
        source.blocks_replayed,
        source.records,
        source.seconds,
        source.records_per_second(),
        source.store_check_seconds,
        source.finalized
    );
    match (source.replayed_state_digest, source.stored_state_digest) {
        (Some(replayed), Some(stored)) if replayed == stored => {
            let _ = writeln!(
                out,
                "  state digest {stored}: the stored state is the replay's"
            );
        }
        (Some(replayed), Some(stored)) => {
            let _ = writeln!(
                out,
                "  state digest: stored {stored}, replayed {replayed}: they differ"
            );
        }
        (Some(replayed), None) => {
            let _ = writeln!(out, "  replayed state digest {replayed}");
        }
        _ => {}
    }
}
