//! Decide whether a justification justifies a ledger block: the one rule that the driver,
//! block sync, the API's proof bundles, `suyuan verify` and `suyuan audit` all apply.
//!
//! A justification justifies the block of `header` when
//!
//! 1. its certificate is a notarization or finalization (a finalization where one is
//!    [`Required`]) of exactly that block: the consensus block it signs has the header's hash,
//!    height, view and parent, and the parent's view when the caller knows it;
//! 2. the certificate verifies against the genesis validators: at least a quorum of distinct
//!    genesis validators signed it, for this chain;
//! 3. each nullification it carries is a valid nullification of a view the block skipped
//!    (between its parent's view and its own), in ascending view order, each view once.
//!
//! Not every skipped view need carry a nullification: consensus delivers the nullifications it
//! holds, and a node that learned of a finalization after a restart may hold fewer. Refusing
//! those would stall honest catch-up, so [`Justified::missing_nullifications`] counts them for
//! audit instead.

use ed25519_dalek::VerifyingKey;
use suyuan_consensus::{
    Block, Certificate, ChainId, Digest, Height, InvalidBlock, Rejection, ValidatorIndex,
    ValidatorSet, View, Vote, VoteKind,
};
use suyuan_ledger::block::{BlockHash, Header};
use suyuan_ledger::genesis::Genesis;

use crate::justification::Justification;

/// The validators of one consortium, as consensus checks their signatures: built once from the
/// genesis file.
#[derive(Debug, Clone)]
pub struct Consortium {
    /// The chain id as the genesis file writes it.
    pub chain_name: String,
    /// The chain id votes are signed for.
    pub chain: ChainId,
    /// The validators' keys, in genesis order.
    pub validators: ValidatorSet,
    /// The validators' names, in genesis order, for messages.
    names: Vec<String>,
}

impl Consortium {
    /// The consortium `genesis` names.
    pub fn from_genesis(genesis: &Genesis) -> Result<Consortium, JustificationError> {
        let keys = genesis
            .validators
            .iter()
            .map(|validator| VerifyingKey::from_bytes(validator.public_key.as_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| JustificationError::Validators(error.to_string()))?;
        let validators = ValidatorSet::new(keys)
            .map_err(|error| JustificationError::Validators(error.to_string()))?;
        Ok(Consortium {
            chain_name: genesis.chain_id.clone(),
            chain: ChainId::from_name(&genesis.chain_id),
            validators,
            names: genesis
                .validators
                .iter()
                .map(|validator| validator.name.to_string())
                .collect(),
        })
    }

    /// The genesis name of validator `index`.
    pub fn validator_name(&self, index: ValidatorIndex) -> &str {
        self.names
            .get(usize::from(index.0))
            .map_or("unknown", String::as_str)
    }

    /// Checks `justification` for the block of `header`, whose parent was proposed in
    /// `parent_view` when the caller knows it (a proof bundle carries no parent header), by the
    /// rule of this module.
    pub fn check(
        &self,
        header: &Header,
        parent_view: Option<u64>,
        justification: &Justification,
        required: Required,
    ) -> Result<Justified, JustificationError> {
        let certificate = &justification.certificate;
        let Some(block) = certificate.vote().block() else {
            return Err(JustificationError::NotOfBlock {
                found: "nullification",
            });
        };
        if required == Required::Finalization && certificate.vote().kind() != VoteKind::Finalize {
            return Err(JustificationError::NotFinalization {
                found: kind_noun(certificate.vote().kind()),
            });
        }
        if let Some(mismatch) = mismatches(header, &header.hash(), parent_view, block)
            .into_iter()
            .next()
        {
            return Err(JustificationError::CertificateForOtherBlock {
                verb: kind_verb(certificate.vote().kind()),
                field: mismatch.field,
                certified: mismatch.certified,
                header: mismatch.header,
            });
        }
        self.verify(certificate)?;
        let mut last_view = parent_view.unwrap_or(0);
        for nullification in &justification.nullifications {
            check_placement(header.view, parent_view, last_view, nullification)?;
            last_view = nullification.view().0;
            self.verify(nullification)
                .map_err(|error| JustificationError::Nullification {
                    view: last_view,
                    reason: Box::new(error),
                })?;
        }
        let skipped = parent_view.map_or(0, |parent| {
            header.view.saturating_sub(parent).saturating_sub(1)
        });
        let stored = justification.nullifications.len() as u64;
        Ok(Justified {
            finalized: justification.is_finalization(),
            signers: certificate.signers().len(),
            validators: self.validators.len(),
            quorum: self.validators.quorum(),
            missing_nullifications: skipped.saturating_sub(stored),
        })
    }

    /// Verifies a certificate's signatures against the genesis validators, naming what fails.
    pub fn verify(&self, certificate: &Certificate) -> Result<(), JustificationError> {
        certificate
            .verify(&self.chain, &self.validators)
            .map_err(|rejection| match rejection {
                Rejection::WrongChain => JustificationError::CertificateChain {
                    chain_id: self.chain_name.clone(),
                },
                Rejection::TooFewSigners { got, quorum } => JustificationError::TooFewSigners {
                    signers: got,
                    quorum,
                    validators: self.validators.len(),
                },
                Rejection::UnknownSigner { signer } => JustificationError::SignerNotInGenesis {
                    signer: signer.0,
                    validators: self.validators.len(),
                },
                Rejection::BadSignature { signer } => JustificationError::BadCertificateSignature {
                    signer: signer.0,
                    name: self.validator_name(signer).to_owned(),
                },
                other => JustificationError::Certificate(other),
            })
    }
}

/// Which certificate a block must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Required {
    /// A notarization or a finalization: a block committed as the ancestor of a finalized
    /// block carries its notarization (block sync, audit).
    Notarization,
    /// A finalization: the block itself is proven final (proof bundles).
    Finalization,
}

/// What a justification that holds showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Justified {
    /// Whether its certificate is a finalization (else a notarization).
    pub finalized: bool,
    /// Validators whose signatures on the certificate verified.
    pub signers: usize,
    /// Validators in genesis.
    pub validators: usize,
    /// Signers a certificate needs.
    pub quorum: usize,
    /// Skipped views without a stored nullification (0 when the parent's view is unknown).
    pub missing_nullifications: u64,
}

/// One way a certificate's block differs from a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// `hash`, `height`, `view`, `parent` or `parent view`.
    pub field: &'static str,
    /// What the certificate signs.
    pub certified: String,
    /// What the header (or its parent) says.
    pub header: String,
}

/// Every way the consensus `block` a certificate signs differs from the block of `header`
/// (whose hash is `hash`, and whose parent was proposed in `parent_view` when known); empty
/// when it is that block.
pub fn mismatches(
    header: &Header,
    hash: &BlockHash,
    parent_view: Option<u64>,
    block: &Block,
) -> Vec<Mismatch> {
    let mut found = Vec::new();
    let mut differ = |field, certified: String, header: String| {
        if certified != header {
            found.push(Mismatch {
                field,
                certified,
                header,
            });
        }
    };
    differ("hash", hex::encode(block.digest().0), hash.to_hex());
    differ(
        "height",
        block.height().0.to_string(),
        header.height.to_string(),
    );
    differ("view", block.view().0.to_string(), header.view.to_string());
    differ(
        "parent",
        hex::encode(block.parent().0),
        header.parent.to_hex(),
    );
    if let Some(parent_view) = parent_view {
        differ(
            "parent view",
            block.parent_view().0.to_string(),
            parent_view.to_string(),
        );
    }
    found
}

/// Checks that `nullification`, following one of `last_view` (the parent's view for the first),
/// nullifies a view that the block of view `block_view` skipped, in ascending order.
pub fn check_placement(
    block_view: u64,
    parent_view: Option<u64>,
    last_view: u64,
    nullification: &Certificate,
) -> Result<(), JustificationError> {
    let view = nullification.view().0;
    let after_parent = parent_view.is_none_or(|parent| view > parent);
    if !matches!(nullification.vote(), Vote::Nullify(_)) || !after_parent || view >= block_view {
        return Err(JustificationError::NotSkipped {
            view,
            kind: kind_noun(nullification.vote().kind()),
        });
    }
    if view <= last_view {
        return Err(JustificationError::NullificationOrder { view });
    }
    Ok(())
}

/// What consensus signs for the block of `header`, whose parent was proposed in `parent_view`:
/// its digest is the ledger's block hash.
pub fn consensus_block(header: &Header, parent_view: u64) -> Result<Block, InvalidBlock> {
    Block::new(
        View(header.view),
        Height(header.height),
        View(parent_view),
        Digest(header.parent.0),
        Digest(header.hash().0),
    )
}

/// A vote kind as a noun: `notarization`, `nullification`, `finalization`.
pub fn kind_noun(kind: VoteKind) -> &'static str {
    match kind {
        VoteKind::Notarize => "notarization",
        VoteKind::Nullify => "nullification",
        VoteKind::Finalize => "finalization",
    }
}

/// What a certificate of `kind` does to its block: `notarizes`, `nullifies`, `finalizes`.
pub fn kind_verb(kind: VoteKind) -> &'static str {
    match kind {
        VoteKind::Notarize => "notarizes",
        VoteKind::Nullify => "nullifies",
        VoteKind::Finalize => "finalizes",
    }
}

/// Why a justification does not justify a block: the first check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JustificationError {
    /// A genesis validator key is not a valid ed25519 key, or the set is not one.
    #[error("the genesis validators do not form a validator set: {0}")]
    Validators(String),
    /// The block's certificate signs no block.
    #[error("the certificate is a {found}, not a notarization or finalization of the block")]
    NotOfBlock {
        /// What it is.
        found: &'static str,
    },
    /// The certificate is a notarization where a finalization is required.
    #[error("the certificate is a {found}, not a finalization: the block is not proven final")]
    NotFinalization {
        /// What it is.
        found: &'static str,
    },
    /// The certificate signs another block than the header's.
    #[error(
        "the certificate {verb} a block whose {field} is {certified}, but the header's is \
         {header}: the header is not the block that was certified"
    )]
    CertificateForOtherBlock {
        /// What the certificate does to its block: `finalizes` or `notarizes`.
        verb: &'static str,
        /// `hash`, `height`, `view`, `parent` or `parent view`.
        field: &'static str,
        /// What the certificate signs.
        certified: String,
        /// What the header says.
        header: String,
    },
    /// The certificate is signed for another chain.
    #[error("the certificate is signed for another chain than {chain_id:?}")]
    CertificateChain {
        /// The genesis chain id.
        chain_id: String,
    },
    /// Fewer distinct validators signed than a certificate needs.
    #[error(
        "the certificate has {signers} signers; {quorum} of the {validators} validators are needed"
    )]
    TooFewSigners {
        /// Signers present.
        signers: usize,
        /// Signers needed.
        quorum: usize,
        /// Validators in genesis.
        validators: usize,
    },
    /// A signer index names no genesis validator.
    #[error("certificate signer #{signer} is not a genesis validator (genesis names {validators})")]
    SignerNotInGenesis {
        /// The index named.
        signer: u16,
        /// Validators in genesis.
        validators: usize,
    },
    /// A signature in the certificate does not verify under its validator's genesis key.
    #[error("the signature of validator #{signer} ({name}) on the certificate does not verify")]
    BadCertificateSignature {
        /// The validator's index.
        signer: u16,
        /// Its name in genesis.
        name: String,
    },
    /// Another reason the certificate does not verify.
    #[error("the certificate does not verify: {0}")]
    Certificate(Rejection),
    /// A certificate stored as a nullification is not one of a view the block skipped.
    #[error(
        "a {kind} of view {view} is carried as the nullification of a view the block skipped, but it is not"
    )]
    NotSkipped {
        /// The view it names.
        view: u64,
        /// What it is.
        kind: &'static str,
    },
    /// Nullifications repeat a view or are not in ascending order.
    #[error("the nullification of view {view} repeats a view or is out of order")]
    NullificationOrder {
        /// The view out of place.
        view: u64,
    },
    /// A nullification does not verify.
    #[error("the nullification of view {view}: {reason}")]
    Nullification {
        /// Its view.
        view: u64,
        /// Why.
        reason: Box<JustificationError>,
    },
}
