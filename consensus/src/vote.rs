//! Sign, verify and aggregate votes: the validator set, signed votes, certificates, evidence.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use crate::codec::{Writer, encode_vote_body};
use crate::error::Rejection;
use crate::limits::MAX_VALIDATORS;
use crate::types::{Block, ChainId, ValidatorIndex, View};

/// Why a validator set could not be built from the genesis list.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorSetError {
    /// The list is empty or longer than [`MAX_VALIDATORS`].
    #[error("a validator set needs 1..={max} validators, got {got}")]
    BadSize {
        /// Number of keys given.
        got: usize,
        /// The bound.
        max: usize,
    },
    /// The same key appears twice.
    #[error("validator key at position {second} repeats position {first}")]
    DuplicateKey {
        /// First position of the key.
        first: usize,
        /// Second position of the key.
        second: usize,
    },
}

/// The fixed, ordered validator set from the genesis file.
///
/// With `n` validators it tolerates `f = (n - 1) / 3` Byzantine ones; a certificate needs
/// `quorum = ceil((n + f + 1) / 2)` distinct signers, which is `2f + 1` when `n = 3f + 1`. Any
/// two quorums then share at least `f + 1` validators, so at least one honest one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    keys: Vec<VerifyingKey>,
}

impl ValidatorSet {
    /// A set from the genesis order of keys.
    pub fn new(keys: Vec<VerifyingKey>) -> Result<ValidatorSet, ValidatorSetError> {
        if keys.is_empty() || keys.len() > MAX_VALIDATORS {
            return Err(ValidatorSetError::BadSize {
                got: keys.len(),
                max: MAX_VALIDATORS,
            });
        }
        for (second, key) in keys.iter().enumerate() {
            if let Some(first) = keys[..second].iter().position(|k| k == key) {
                return Err(ValidatorSetError::DuplicateKey { first, second });
            }
        }
        Ok(ValidatorSet { keys })
    }

    /// Number of validators, `n`.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: a set has at least one validator. (Here for clippy's `len_without_is_empty`.)
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The number of Byzantine validators tolerated, `f = (n - 1) / 3`.
    pub fn max_faulty(&self) -> usize {
        (self.len() - 1) / 3
    }

    /// Distinct signers a certificate needs: `2f + 1` for `n = 3f + 1`.
    pub fn quorum(&self) -> usize {
        (self.len() + self.max_faulty() + 2) / 2
    }

    /// The leader of `view`: validators take turns in genesis order.
    pub fn leader(&self, view: View) -> ValidatorIndex {
        // n <= MAX_VALIDATORS fits u16, so the remainder does too.
        ValidatorIndex((view.0 % self.len() as u64) as u16)
    }

    /// The key of validator `index`, if it is one.
    pub fn key(&self, index: ValidatorIndex) -> Option<&VerifyingKey> {
        self.keys.get(usize::from(index.0))
    }

    /// The index of `key` in the set, if it is a validator's.
    pub fn index_of(&self, key: &VerifyingKey) -> Option<ValidatorIndex> {
        // Position < MAX_VALIDATORS <= u16::MAX.
        self.keys
            .iter()
            .position(|k| k == key)
            .map(|i| ValidatorIndex(i as u16))
    }

    /// All keys in genesis order.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }
}

/// The three kinds of vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VoteKind {
    /// Accept a block as its view's block.
    Notarize,
    /// Skip a view.
    Nullify,
    /// Commit to a notarized block of a view not nullified by the signer.
    Finalize,
}

impl VoteKind {
    /// The domain-separation tag signed ahead of the vote, one per kind.
    pub fn domain(self) -> &'static [u8] {
        match self {
            VoteKind::Notarize => b"suyuan/consensus/v1/notarize",
            VoteKind::Nullify => b"suyuan/consensus/v1/nullify",
            VoteKind::Finalize => b"suyuan/consensus/v1/finalize",
        }
    }
}

/// What a validator votes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Vote {
    /// `notarize(c, v)`: block `c` is view `v`'s block (a leader's notarize is its proposal).
    Notarize(Block),
    /// `nullify(v)`: skip view `v`.
    Nullify(View),
    /// `finalize(c, v)`: I notarized `c` in `v` and did not nullify `v`.
    Finalize(Block),
}

impl Vote {
    /// The vote's view.
    pub fn view(&self) -> View {
        match self {
            Vote::Notarize(b) | Vote::Finalize(b) => b.view(),
            Vote::Nullify(v) => *v,
        }
    }

    /// The vote's kind.
    pub fn kind(&self) -> VoteKind {
        match self {
            Vote::Notarize(_) => VoteKind::Notarize,
            Vote::Nullify(_) => VoteKind::Nullify,
            Vote::Finalize(_) => VoteKind::Finalize,
        }
    }

    /// The block voted for, if any.
    pub fn block(&self) -> Option<&Block> {
        match self {
            Vote::Notarize(b) | Vote::Finalize(b) => Some(b),
            Vote::Nullify(_) => None,
        }
    }

    /// Whether one validator signing both `self` and `other` is misbehaviour: two notarizes or
    /// two finalizes of different blocks in one view, or a nullify and a finalize of one view.
    pub fn conflicts_with(&self, other: &Vote) -> bool {
        if self.view() != other.view() {
            return false;
        }
        match (self, other) {
            (Vote::Notarize(a), Vote::Notarize(b)) | (Vote::Finalize(a), Vote::Finalize(b)) => {
                a != b
            }
            (Vote::Nullify(_), Vote::Finalize(_)) | (Vote::Finalize(_), Vote::Nullify(_)) => true,
            _ => false,
        }
    }
}

/// The exact bytes a validator signs for `vote` on `chain`: the kind's domain tag, then the
/// vote's canonical encoding (kind, chain id, view, and for block votes height, parent view,
/// parent digest, digest).
pub fn signing_bytes(chain: &ChainId, vote: &Vote) -> Vec<u8> {
    let mut w = Writer::with_capacity(160);
    w.bytes(vote.kind().domain());
    encode_vote_body(&mut w, chain, vote);
    w.finish()
}

/// A vote with its signer and ed25519 signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedVote {
    /// The chain the vote is for.
    pub chain: ChainId,
    /// What is voted for.
    pub vote: Vote,
    /// Who signed.
    pub signer: ValidatorIndex,
    /// The signature over [`signing_bytes`].
    pub signature: Signature,
}

impl SignedVote {
    /// Sign `vote` as validator `signer` with `key`.
    pub fn sign(
        chain: ChainId,
        vote: Vote,
        signer: ValidatorIndex,
        key: &SigningKey,
    ) -> SignedVote {
        let signature = key.sign(&signing_bytes(&chain, &vote));
        SignedVote {
            chain,
            vote,
            signer,
            signature,
        }
    }

    /// Check that the signer is a validator and the signature is valid (chain checked too).
    pub fn verify(&self, chain: &ChainId, validators: &ValidatorSet) -> Result<(), Rejection> {
        if &self.chain != chain {
            return Err(Rejection::WrongChain);
        }
        verify_signature(validators, chain, &self.vote, self.signer, &self.signature)
    }
}

pub(crate) fn verify_signature(
    validators: &ValidatorSet,
    chain: &ChainId,
    vote: &Vote,
    signer: ValidatorIndex,
    signature: &Signature,
) -> Result<(), Rejection> {
    let key = validators
        .key(signer)
        .ok_or(Rejection::UnknownSigner { signer })?;
    key.verify(&signing_bytes(chain, vote), signature)
        .map_err(|_| Rejection::BadSignature { signer })
}

/// A quorum of signatures on one vote: a notarization, nullification or finalization.
///
/// Signers are distinct and in strictly ascending order (the canonical form; the decoder and
/// [`Certificate::new`] enforce it). [`Certificate::verify`] checks the count against the quorum
/// and every signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    chain: ChainId,
    vote: Vote,
    signers: Vec<(ValidatorIndex, Signature)>,
}

impl Certificate {
    /// A certificate from signatures in strictly ascending signer order (not yet verified).
    pub fn new(
        chain: ChainId,
        vote: Vote,
        signers: Vec<(ValidatorIndex, Signature)>,
    ) -> Result<Certificate, Rejection> {
        if signers.is_empty() || signers.len() > MAX_VALIDATORS {
            return Err(Rejection::BadSignerCount { got: signers.len() });
        }
        if signers.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(Rejection::SignersNotAscending);
        }
        Ok(Certificate {
            chain,
            vote,
            signers,
        })
    }

    /// The chain the certificate is for.
    pub fn chain(&self) -> &ChainId {
        &self.chain
    }

    /// The vote the quorum signed.
    pub fn vote(&self) -> &Vote {
        &self.vote
    }

    /// The certificate's view.
    pub fn view(&self) -> View {
        self.vote.view()
    }

    /// Signers and their signatures, ascending by signer.
    pub fn signers(&self) -> &[(ValidatorIndex, Signature)] {
        &self.signers
    }

    /// The signed votes the certificate is made of.
    pub fn votes(&self) -> impl Iterator<Item = SignedVote> + '_ {
        self.signers.iter().map(|&(signer, signature)| SignedVote {
            chain: self.chain,
            vote: self.vote,
            signer,
            signature,
        })
    }

    /// Check chain, signer count (`quorum ..= n`), membership and every signature.
    pub fn verify(&self, chain: &ChainId, validators: &ValidatorSet) -> Result<(), Rejection> {
        self.verify_with(chain, validators, validators.quorum(), |_| false)
    }

    /// [`Certificate::verify`] with an explicit quorum, skipping the signature check of signers
    /// for which `known(signer_vote)` says the very same signature was verified before.
    pub(crate) fn verify_with(
        &self,
        chain: &ChainId,
        validators: &ValidatorSet,
        quorum: usize,
        known: impl Fn(&SignedVote) -> bool,
    ) -> Result<(), Rejection> {
        self.check_shape(chain, validators, quorum)?;
        for sv in self.votes() {
            if !known(&sv) {
                verify_signature(validators, chain, &sv.vote, sv.signer, &sv.signature)?;
            }
        }
        Ok(())
    }

    /// Everything but signatures: chain, count, order, membership.
    pub(crate) fn check_shape(
        &self,
        chain: &ChainId,
        validators: &ValidatorSet,
        quorum: usize,
    ) -> Result<(), Rejection> {
        if &self.chain != chain {
            return Err(Rejection::WrongChain);
        }
        let got = self.signers.len();
        if got < quorum {
            return Err(Rejection::TooFewSigners { got, quorum });
        }
        if got > validators.len() {
            return Err(Rejection::BadSignerCount { got });
        }
        if self.signers.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(Rejection::SignersNotAscending);
        }
        if let Some(&(signer, _)) = self
            .signers
            .iter()
            .find(|(s, _)| validators.key(*s).is_none())
        {
            return Err(Rejection::UnknownSigner { signer });
        }
        Ok(())
    }
}

/// Two conflicting signed votes from one validator: proof it misbehaved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evidence {
    first: SignedVote,
    second: SignedVote,
}

impl Evidence {
    /// Evidence from two votes, if they are by the same signer on the same chain and conflict
    /// (signatures are not checked here; see [`Evidence::verify`]).
    pub fn new(first: SignedVote, second: SignedVote) -> Option<Evidence> {
        let conflict = first.signer == second.signer
            && first.chain == second.chain
            && first.vote.conflicts_with(&second.vote);
        conflict.then_some(Evidence { first, second })
    }

    /// The validator the evidence convicts.
    pub fn signer(&self) -> ValidatorIndex {
        self.first.signer
    }

    /// The view both votes are in.
    pub fn view(&self) -> View {
        self.first.vote.view()
    }

    /// The vote seen first.
    pub fn first(&self) -> &SignedVote {
        &self.first
    }

    /// The conflicting vote seen second.
    pub fn second(&self) -> &SignedVote {
        &self.second
    }

    /// Check both signatures: valid evidence convicts its signer on its own.
    pub fn verify(&self, chain: &ChainId, validators: &ValidatorSet) -> Result<(), Rejection> {
        self.first.verify(chain, validators)?;
        self.second.verify(chain, validators)
    }
}
