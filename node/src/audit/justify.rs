//! Check what justifies a block: its certificate notarizes or finalizes exactly this block by a
//! quorum of distinct genesis validators, and the nullifications stored with it are valid
//! nullifications of views it skipped.
//!
//! The rules are the ones a node applies to a synced block (`Driver::check_justification`),
//! made stricter where an auditor can afford it: the certificate must name the block's height,
//! view, parent and parent view as well as its hash, and each signature that fails is named.

use suyuan_api::justification::Justification;
use suyuan_consensus::{Certificate, ChainId, SignedVote, ValidatorSet, Vote, VoteKind};
use suyuan_ledger::block::{BlockHash, Header};

use super::report::FindingKind;

/// The genesis validators, as consensus checks signatures against them.
#[derive(Debug, Clone)]
pub(crate) struct Quorum {
    /// The chain id votes are signed for.
    pub(crate) chain: ChainId,
    /// The validators, in genesis order.
    pub(crate) validators: ValidatorSet,
}

/// What a block's justification showed.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    /// What is wrong with it.
    pub(crate) findings: Vec<(FindingKind, String)>,
    /// Skipped views without a stored nullification, when there are some.
    pub(crate) missing_nullifications: Option<String>,
    /// Whether a valid finalization of this block is among them.
    pub(crate) finalizes: bool,
    /// Every signed vote whose signature verified.
    pub(crate) votes: Vec<SignedVote>,
}

/// Checks the justification `bytes` of the block with `header` and `hash`, whose parent was
/// proposed in `parent_view`.
pub(crate) fn check(
    quorum: &Quorum,
    header: &Header,
    hash: &BlockHash,
    parent_view: u64,
    bytes: &[u8],
) -> Checked {
    let mut checked = Checked::default();
    let justification = match Justification::decode(bytes) {
        Ok(justification) => justification,
        Err(error) => {
            checked.findings.push((
                FindingKind::Certificate,
                format!("the stored certificate does not decode: {error}"),
            ));
            return checked;
        }
    };
    check_certificate(
        quorum,
        header,
        hash,
        parent_view,
        &justification.certificate,
        &mut checked,
    );
    check_nullifications(
        quorum,
        header,
        parent_view,
        &justification.nullifications,
        &mut checked,
    );
    checked
}

/// The block's own certificate.
fn check_certificate(
    quorum: &Quorum,
    header: &Header,
    hash: &BlockHash,
    parent_view: u64,
    certificate: &Certificate,
    checked: &mut Checked,
) {
    let kind = certificate.vote().kind();
    let mut fits = true;
    match certificate.vote().block() {
        None => {
            fits = false;
            checked.findings.push((
                FindingKind::Certificate,
                format!(
                    "the certificate is a nullification of view {}, not a notarization or \
                     finalization of this block",
                    certificate.view().0
                ),
            ));
        }
        Some(block) => {
            let mut wrong = Vec::new();
            if block.digest().0 != *hash.as_bytes() {
                wrong.push(format!("block hash {}", hex::encode(block.digest().0)));
            }
            if block.height().0 != header.height {
                wrong.push(format!("height {}", block.height().0));
            }
            if block.view().0 != header.view {
                wrong.push(format!("view {}", block.view().0));
            }
            if block.parent().0 != *header.parent.as_bytes() {
                wrong.push(format!("parent {}", hex::encode(block.parent().0)));
            }
            if block.parent_view().0 != parent_view {
                wrong.push(format!("parent view {}", block.parent_view().0));
            }
            if !wrong.is_empty() {
                fits = false;
                checked.findings.push((
                    FindingKind::Certificate,
                    format!(
                        "the {} certificate is not of this block ({hash}, view {}, parent view \
                         {parent_view}): it names {}",
                        kind_name(kind),
                        header.view,
                        wrong.join(", ")
                    ),
                ));
            }
        }
    }
    let valid = verify(quorum, certificate, "certificate", checked);
    checked.finalizes = fits && valid && kind == VoteKind::Finalize;
}

/// The nullifications of skipped views: each a valid nullification of a view between the
/// parent's and the block's, in ascending order, each view once. Missing ones are a note.
fn check_nullifications(
    quorum: &Quorum,
    header: &Header,
    parent_view: u64,
    nullifications: &[Certificate],
    checked: &mut Checked,
) {
    let skipped = header.view.saturating_sub(parent_view).saturating_sub(1);
    let mut covered = 0u64;
    let mut last_view = parent_view;
    for nullification in nullifications {
        let view = nullification.view().0;
        let in_range = view > parent_view && view < header.view;
        let placed = if !matches!(nullification.vote(), Vote::Nullify(_)) || !in_range {
            let skipped_views = if skipped == 0 {
                "the block skipped no view".to_owned()
            } else {
                format!(
                    "only views {} to {} were skipped",
                    parent_view + 1,
                    header.view - 1
                )
            };
            checked.findings.push((
                FindingKind::Nullification,
                format!(
                    "a {} certificate of view {view} is stored as a nullification of a skipped \
                     view, but {skipped_views}",
                    kind_name(nullification.vote().kind()),
                ),
            ));
            false
        } else if view <= last_view {
            checked.findings.push((
                FindingKind::Nullification,
                format!("the nullification of view {view} repeats a view or is out of order"),
            ));
            false
        } else {
            last_view = view;
            true
        };
        // Misplaced or not, its valid votes are evidence like any other.
        if verify(quorum, nullification, "nullification", checked) && placed {
            covered += 1;
        }
    }
    if covered < skipped && header.view > parent_view {
        checked.missing_nullifications = Some(format!(
            "views {} to {} were skipped; {covered} of their {skipped} nullifications are stored",
            parent_view + 1,
            header.view - 1
        ));
    }
}

/// Verifies `certificate` against the genesis quorum, adding what fails to the findings and
/// every signed vote that verifies to the votes; whether the certificate as a whole is valid.
fn verify(quorum: &Quorum, certificate: &Certificate, what: &str, checked: &mut Checked) -> bool {
    let view = certificate.view().0;
    let kind = if what == "certificate" {
        FindingKind::Certificate
    } else {
        FindingKind::Nullification
    };
    match certificate.verify(&quorum.chain, &quorum.validators) {
        Ok(()) => {
            checked.votes.extend(certificate.votes());
            true
        }
        Err(rejection) => {
            let mut bad = Vec::new();
            for vote in certificate.votes() {
                match vote.verify(&quorum.chain, &quorum.validators) {
                    Ok(()) => checked.votes.push(vote),
                    Err(_) => bad.push(format!("#{}", vote.signer.0)),
                }
            }
            let signatures = if bad.is_empty() {
                String::new()
            } else {
                format!("; signatures that do not verify: {}", bad.join(", "))
            };
            checked.findings.push((
                kind,
                format!(
                    "the {} {what} of view {view} is not valid for the genesis validators: \
                     {rejection}{signatures}",
                    kind_name(certificate.vote().kind())
                ),
            ));
            false
        }
    }
}

/// A vote kind in words.
pub(crate) fn kind_name(kind: VoteKind) -> &'static str {
    match kind {
        VoteKind::Notarize => "notarize",
        VoteKind::Nullify => "nullify",
        VoteKind::Finalize => "finalize",
    }
}
