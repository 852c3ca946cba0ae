//! Check what justifies a block: its certificate notarizes or finalizes exactly this block by a
//! quorum of distinct genesis validators, and the nullifications stored with it are valid
//! nullifications of views it skipped.
//!
//! The rule is the one every part of Suyuan applies ([`suyuan_proofs::finality`]: the
//! certificate names the block's hash, height, view, parent and parent view; nullifications
//! are of skipped views, ascending, each once). An auditor reports every way it fails rather
//! than the first, names each signature that does not verify, and keeps every signed vote that
//! does as evidence.

use suyuan_consensus::{Certificate, SignedVote, VoteKind};
use suyuan_ledger::block::{BlockHash, Header};
use suyuan_proofs::finality::{Consortium, check_placement, mismatches};
use suyuan_proofs::justification::Justification;

use super::report::FindingKind;

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
    consortium: &Consortium,
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
        consortium,
        header,
        hash,
        parent_view,
        &justification.certificate,
        &mut checked,
    );
    check_nullifications(
        consortium,
        header,
        parent_view,
        &justification.nullifications,
        &mut checked,
    );
    checked
}

/// The block's own certificate.
fn check_certificate(
    consortium: &Consortium,
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
            let wrong: Vec<String> = mismatches(header, hash, Some(parent_view), block)
                .into_iter()
                .map(|mismatch| format!("{} {}", mismatch.field, mismatch.certified))
                .collect();
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
    let valid = verify(consortium, certificate, "certificate", checked);
    checked.finalizes = fits && valid && kind == VoteKind::Finalize;
}

/// The nullifications of skipped views: each a valid nullification of a view between the
/// parent's and the block's, in ascending order, each view once. Missing ones are a note.
fn check_nullifications(
    consortium: &Consortium,
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
        let placed = match check_placement(header.view, Some(parent_view), last_view, nullification)
        {
            Ok(()) => {
                last_view = view;
                true
            }
            Err(error) => {
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
                    format!("{error} ({skipped_views})"),
                ));
                false
            }
        };
        // Misplaced or not, its valid votes are evidence like any other.
        if verify(consortium, nullification, "nullification", checked) && placed {
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
fn verify(
    consortium: &Consortium,
    certificate: &Certificate,
    what: &str,
    checked: &mut Checked,
) -> bool {
    let view = certificate.view().0;
    let kind = if what == "certificate" {
        FindingKind::Certificate
    } else {
        FindingKind::Nullification
    };
    match certificate.verify(&consortium.chain, &consortium.validators) {
        Ok(()) => {
            checked.votes.extend(certificate.votes());
            true
        }
        Err(rejection) => {
            let mut bad = Vec::new();
            for vote in certificate.votes() {
                match vote.verify(&consortium.chain, &consortium.validators) {
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
