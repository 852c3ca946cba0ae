//! Sign finalizations of ledger blocks with validator keys held in memory, as a quorum of
//! validators would: for demo chains, tests and benchmarks that commit blocks without running
//! consensus but must store justifications that verify (proof bundles, audit).
//!
//! A real node never calls this: its justifications are the certificates consensus delivered.

use ed25519_dalek::SigningKey;
use suyuan_consensus::{Certificate, ChainId, Rejection, SignedVote, ValidatorIndex, Vote};
use suyuan_ledger::block::Header;
use suyuan_ledger::crypto::KeyPair;

use crate::finality::consensus_block;
use crate::justification::Justification;

/// A certificate of `vote` on `chain_id` signed by each `(index, key)` of `signers`, in
/// ascending index order. The keys are used as given: a key that is not the genesis key of its
/// index makes a certificate that does not verify, which tests want.
pub fn certificate(
    chain_id: &str,
    vote: Vote,
    signers: &[(u16, &KeyPair)],
) -> Result<Certificate, Rejection> {
    let chain = ChainId::from_name(chain_id);
    let signatures = signers
        .iter()
        .map(|&(index, key)| {
            let signer = ValidatorIndex(index);
            let signing_key = SigningKey::from_bytes(&key.seed());
            let signed = SignedVote::sign(chain, vote, signer, &signing_key);
            (signer, signed.signature)
        })
        .collect();
    Certificate::new(chain, vote, signatures)
}

/// The justification a node stores with a finalized block: a finalization of `header` (whose
/// parent was proposed in `parent_view`) signed by `validators[i]` for each `i` in `signers`
/// (ascending genesis indices), and no nullifications.
///
/// # Panics
/// If `parent_view` is not below the header's view, the header's height or view is 0, or
/// `signers` is empty, unsorted or names an index outside `validators`: callers build
/// well-formed demo blocks.
pub fn finalization(
    header: &Header,
    parent_view: u64,
    validators: &[KeyPair],
    signers: &[usize],
) -> Justification {
    let block = consensus_block(header, parent_view)
        .unwrap_or_else(|error| panic!("block {} is well formed: {error}", header.height));
    let keys: Vec<(u16, &KeyPair)> = signers
        .iter()
        .map(|&index| {
            let position = u16::try_from(index).expect("validator indices fit u16");
            (position, &validators[index])
        })
        .collect();
    let certificate = certificate(&header.chain_id, Vote::Finalize(block), &keys)
        .unwrap_or_else(|error| panic!("signers are distinct and ascending: {error}"));
    Justification::new(certificate, Vec::new())
}
