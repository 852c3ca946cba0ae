//! Keep every valid signed vote an audit sees, and catch a validator that signed two
//! conflicting ones.
//!
//! Votes come from the certificates stored with blocks (the block's own and the nullifications
//! of the views it skipped), from every source audited. Only votes whose signatures verified
//! are kept, so that two conflicting ones convict their signer on their own: anyone can check
//! both signatures against the genesis key.

use std::collections::{BTreeSet, HashMap};

use suyuan_consensus::{Evidence, SignedVote, ValidatorIndex, Vote};
use suyuan_ledger::genesis::Genesis;

use super::justify::kind_name;
use super::report::{Finding, FindingKind};

/// Where a vote was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    /// The vote, its signer and signature.
    pub(crate) vote: SignedVote,
    /// Index of the source in the audit's list.
    pub(crate) source: usize,
    /// The block whose justification carried it.
    pub(crate) height: u64,
}

/// Two conflicting votes by one validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Equivocation {
    /// The vote seen first.
    pub(crate) first: Seen,
    /// The conflicting vote seen later.
    pub(crate) second: Seen,
}

/// Every distinct valid vote seen, by signer and view.
#[derive(Debug, Default)]
pub(crate) struct VoteBook {
    seen: HashMap<(ValidatorIndex, u64), Vec<Seen>>,
    equivocations: Vec<Equivocation>,
    /// Signers and views already convicted: one finding per validator and view.
    convicted: BTreeSet<(ValidatorIndex, u64)>,
    /// Distinct votes kept.
    count: u64,
}

impl VoteBook {
    /// An empty book.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Keeps a vote whose signature the caller verified; a repeat of a kept vote is ignored.
    pub(crate) fn add(&mut self, seen: Seen) {
        let key = (seen.vote.signer, seen.vote.vote.view().0);
        let kept = self.seen.entry(key).or_default();
        if kept.iter().any(|other| other.vote.vote == seen.vote.vote) {
            return;
        }
        let conflict = kept
            .iter()
            .find(|other| Evidence::new(other.vote, seen.vote).is_some())
            .copied();
        kept.push(seen);
        self.count += 1;
        if let Some(first) = conflict
            && self.convicted.insert(key)
        {
            self.equivocations.push(Equivocation {
                first,
                second: seen,
            });
        }
    }

    /// Distinct valid votes kept.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Distinct validators with at least one valid vote.
    pub(crate) fn signers(&self) -> usize {
        self.seen
            .keys()
            .map(|(signer, _)| *signer)
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// One finding per equivocation, naming the validator and printing both signed messages;
    /// `sources` names the sources by index.
    pub(crate) fn findings(&self, genesis: &Genesis, sources: &[String]) -> Vec<Finding> {
        self.equivocations
            .iter()
            .map(|equivocation| {
                let signer = usize::from(equivocation.first.vote.signer.0);
                let who = genesis.validators.get(signer).map_or_else(
                    || format!("validator #{signer}"),
                    |validator| {
                        format!(
                            "validator #{signer} {} ({})",
                            validator.name, validator.public_key
                        )
                    },
                );
                let name = |seen: &Seen| {
                    sources
                        .get(seen.source)
                        .cloned()
                        .unwrap_or_else(|| "?".into())
                };
                Finding {
                    kind: FindingKind::Equivocation,
                    source: name(&equivocation.second),
                    height: equivocation.second.height,
                    message: format!(
                        "{who} signed two conflicting votes in view {}: first {} (in the \
                         justification of block {} from {}); second {} (in the justification of \
                         block {} from {})",
                        equivocation.first.vote.vote.view().0,
                        describe(&equivocation.first.vote),
                        equivocation.first.height,
                        name(&equivocation.first),
                        describe(&equivocation.second.vote),
                        equivocation.second.height,
                        name(&equivocation.second),
                    ),
                }
            })
            .collect()
    }
}

/// A signed vote for people, with everything needed to check it again: the vote, the signer,
/// the signature in hex, and the signed vote's canonical encoding in hex.
pub(crate) fn describe(vote: &SignedVote) -> String {
    let what = match &vote.vote {
        Vote::Nullify(view) => format!("nullify(view {})", view.0),
        Vote::Notarize(block) | Vote::Finalize(block) => format!(
            "{}(block {} at height {}, view {}, parent {} in view {})",
            kind_name(vote.vote.kind()),
            hex::encode(block.digest().0),
            block.height().0,
            block.view().0,
            hex::encode(block.parent().0),
            block.parent_view().0
        ),
    };
    format!(
        "{what} signed by validator #{} with signature {} [signed vote {}]",
        vote.signer.0,
        hex::encode(vote.signature.to_bytes()),
        hex::encode(vote.encode())
    )
}
