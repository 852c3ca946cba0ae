//! Check what a node says about a code against the genesis file alone: proof bundles and
//! consistency proofs, and their offline verification.
//!
//! A [`ProofBundle`] is one JSON document that proves, as of one finalized block, which record
//! is the latest about a code (or that no record names it). It carries everything a verifier
//! needs besides the genesis file: the block header with its tree roots, the justification
//! holding the header's finalization certificate, the record's signed envelope, its inclusion
//! proof in the record log and the code map's proof for the code. [`ProofBundle::verify`] checks
//! it and returns what it [`Proven`], or the first check that failed ([`BundleError`]).
//!
//! A [`ConsistencyBundle`] lets a client that kept the header of a bundle it verified earlier
//! check that a newer finalized header's record log extends the older one: nothing the older
//! bundle proved committed was removed or moved ([`ConsistencyBundle::verify`]).
//!
//! Both are pure: no I/O, no clock. The API builds them (`GET /v1/proofs/{code}`,
//! `GET /v1/proofs/consistency`) and `suyuan verify` checks them with this code.
//! `docs/proofs.md` ("Proof bundles") specifies every field and every check, in order, for
//! verifiers written in another language.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use suyuan_ledger::block::{BlockHash, Header};
use suyuan_ledger::codec::DecodeError;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::crypto::PublicKey;
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::merkle::log::{ConsistencyProof, InclusionProof, LogProofError};
use suyuan_ledger::merkle::map::{MapKey, MapProof, MapProofError};
use suyuan_ledger::record::{TraceCode, TraceCodeError};
use suyuan_ledger::trees::{LedgerHash, code_key, record_leaf};
use suyuan_ledger::tx::{Envelope, TxError, TxId};

use crate::finality::{Consortium, JustificationError, Required};
use crate::justification::Justification;

/// The `format` of a proof bundle this code writes and reads.
pub const BUNDLE_FORMAT: &str = "suyuan-proof-bundle/1";

/// The `format` of a consistency proof this code writes and reads.
pub const CONSISTENCY_FORMAT: &str = "suyuan-consistency-proof/1";

/// Largest bundle or consistency proof file a verifier reads. The largest real one holds a
/// 64 KiB payload (base64), two proofs of at most 320 hashes and a justification of a
/// certificate and up to 64 nullifications (hex): far below.
pub const MAX_BUNDLE_BYTES: usize = 8 * 1024 * 1024;

/// Proves, as of one finalized block, which record is the latest about a code, or that none
/// names it. The JSON form is specified in `docs/proofs.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// [`BUNDLE_FORMAT`].
    pub format: String,
    /// The chain, as the genesis file names it.
    pub chain_id: String,
    /// The genesis file's hash.
    pub genesis_hash: Hash32,
    /// The code, in canonical form.
    pub code: String,
    /// The code's key in the code map: BLAKE3 of the canonical form.
    pub map_key: MapKey,
    /// The latest record naming the code as of [`ProofBundle::header`], or `null` when no
    /// record names it.
    pub record: Option<BundleRecord>,
    /// What the code map holds for the code: the record's log leaf, or nothing.
    pub map_proof: MapProof,
    /// The finalized block the proof is as of, with the roots both proofs are checked against.
    pub header: Header,
    /// The block's justification exactly as stored, in hex: a finalization certificate of the
    /// header, then the nullifications of the views it skipped.
    pub justification: String,
}

/// The record a bundle claims is the latest about its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleRecord {
    /// The transaction id: recomputed from the envelope by a verifier, never trusted.
    pub tx_id: TxId,
    /// The height of the block that committed it, as the node reports it (not proven: the
    /// inclusion proof proves its position in the log).
    pub height: u64,
    /// Its index in that block, as the node reports it (not proven).
    pub index: u32,
    /// The signed envelope exactly as committed.
    pub envelope: Envelope,
    /// Its inclusion in the record log at the header's size; `leaf_index` is its log position.
    pub inclusion: InclusionProof,
}

/// Proves that the record log of a newer finalized block extends the log of an older one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyBundle {
    /// [`CONSISTENCY_FORMAT`].
    pub format: String,
    /// The chain, as the genesis file names it.
    pub chain_id: String,
    /// The genesis file's hash.
    pub genesis_hash: Hash32,
    /// The older block's height, as asked.
    pub from_height: u64,
    /// The newer finalized block.
    pub header: Header,
    /// Its justification exactly as stored, in hex.
    pub justification: String,
    /// The log consistency proof from the older block's log size to the newer one's; `null`
    /// when the older log is empty (every log extends it).
    pub proof: Option<ConsistencyProof>,
}

/// What a verified [`ProofBundle`] proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    /// The code.
    pub code: TraceCode,
    /// The finalized block the proof is as of.
    pub finality: Finality,
    /// The latest record about the code, or `None` if no record names it.
    pub record: Option<ProvenRecord>,
}

/// A finalized header, as checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finality {
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: BlockHash,
    /// Validators whose signatures on its finalization verified.
    pub signers: usize,
    /// Validators in genesis.
    pub validators: usize,
    /// Signers a certificate needs.
    pub quorum: usize,
}

/// The record a verified bundle proves is the latest about its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenRecord {
    /// The transaction id, computed from the envelope.
    pub tx_id: TxId,
    /// The record's type name, e.g. `commission`.
    pub record_type: &'static str,
    /// Its position in the record log (0 for the first record ever committed).
    pub log_index: u64,
    /// The key that signed it.
    pub signer: PublicKey,
    /// The genesis member holding that key, if it is a registrar's or regulator's, e.g.
    /// `regulator Hubei Administration for Market Regulation`.
    pub signer_role: Option<String>,
    /// The enterprise the record is for (the first it names), if it names one.
    pub enterprise: Option<Uscc>,
    /// The block height the node reported for it (not proven).
    pub reported_height: u64,
}

/// What a verified [`ConsistencyBundle`] proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extended {
    /// The older header's height.
    pub old_height: u64,
    /// Records in the older log.
    pub old_log_size: u64,
    /// The newer finalized header.
    pub finality: Finality,
    /// Records in the newer log.
    pub new_log_size: u64,
}

/// Why a bundle or consistency proof does not hold: the first check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// The `format` is not one this verifier reads.
    #[error("the format is {found:?}, not {expected:?}")]
    Format {
        /// The format expected.
        expected: &'static str,
        /// The bundle's.
        found: String,
    },
    /// The bundle or its header names another chain than the genesis file.
    #[error("the {what} names chain {found:?}, but the genesis file is for chain {expected:?}")]
    WrongChain {
        /// `bundle` or `header`.
        what: &'static str,
        /// The genesis file's chain.
        expected: String,
        /// The chain named.
        found: String,
    },
    /// The bundle names another genesis than the file given.
    #[error("the bundle names genesis {found}, but the genesis file hashes to {expected}")]
    WrongGenesis {
        /// The genesis file's hash.
        expected: Hash32,
        /// The hash the bundle names.
        found: Hash32,
    },
    /// The justification is not hex.
    #[error("the justification is not hex: {0}")]
    JustificationHex(String),
    /// The justification's bytes do not decode (a duplicated or unsorted certificate signer
    /// is refused here).
    #[error("the justification does not decode: {0}")]
    Justification(DecodeError),
    /// The justification does not prove the header final.
    #[error(transparent)]
    Finality(#[from] JustificationError),
    /// The code is not a trace code.
    #[error("the code {code:?} is not a trace code: {reason}")]
    Code {
        /// The code given.
        code: String,
        /// Why.
        reason: TraceCodeError,
    },
    /// The code is a trace code but not in its canonical form.
    #[error("the code {found:?} is not in canonical form; it is written {canonical:?}")]
    CodeNotCanonical {
        /// The code given.
        found: String,
        /// Its canonical form.
        canonical: String,
    },
    /// The bundle's `map_key` is not the code's key.
    #[error("the map key {found} is not the code's key {expected}")]
    WrongMapKey {
        /// The code's key.
        expected: MapKey,
        /// The key given.
        found: MapKey,
    },
    /// The map proof does not lead to the header's map root.
    #[error("the code map proof does not hold against the header's map root: {0}")]
    MapProof(MapProofError),
    /// The bundle says no record names the code, but the map holds one.
    #[error("the bundle says no record names the code, but the code map holds record leaf {leaf}")]
    RecordWithheld {
        /// The leaf the map holds.
        leaf: Hash32,
    },
    /// The bundle carries a record, but the map holds nothing for the code.
    #[error("the bundle carries a record, but the code map holds no record for the code")]
    NoRecordInMap,
    /// The record is not the one the map holds for the code: superseded, or unrelated.
    #[error(
        "record {tx_id} (leaf {leaf}) is not the latest for the code: the code map holds leaf \
         {latest}"
    )]
    NotLatest {
        /// The record's id, computed from its envelope.
        tx_id: TxId,
        /// Its leaf.
        leaf: Hash32,
        /// The leaf the map holds.
        latest: Hash32,
    },
    /// The envelope's signature does not verify, or its payload does not parse.
    #[error("the record's envelope does not hold: {0}")]
    Envelope(TxError),
    /// The bundle's `tx_id` is not the envelope's.
    #[error("the record says tx id {stated}, but its envelope's id is {computed}")]
    WrongTxId {
        /// The id written.
        stated: TxId,
        /// The id computed.
        computed: TxId,
    },
    /// The record does not name the code.
    #[error("the {record_type} record does not name the code {code}")]
    RecordWithoutCode {
        /// The record's type.
        record_type: &'static str,
        /// The code.
        code: String,
    },
    /// The record's reported height is not at or below the header's.
    #[error("the record is reported at height {reported}, outside 1 to the header's {header}")]
    RecordHeight {
        /// The height reported.
        reported: u64,
        /// The header's.
        header: u64,
    },
    /// A log proof names another log size than its header.
    #[error(
        "the {what} proof is for a log of {proof} records, but the header's log holds {header}"
    )]
    WrongLogSize {
        /// `inclusion`, `consistency (older)` or `consistency (newer)`.
        what: &'static str,
        /// The size the proof names.
        proof: u64,
        /// The size the header names.
        header: u64,
    },
    /// The inclusion proof does not lead to the header's log root.
    #[error("the record's inclusion proof does not hold against the header's log root: {0}")]
    Inclusion(LogProofError),
    /// The newer header is below the older one.
    #[error("the newer header is at height {new}, below the older one at {old}")]
    NewerIsOlder {
        /// The older height.
        old: u64,
        /// The newer height.
        new: u64,
    },
    /// Two different finalized headers at one height.
    #[error(
        "the older and newer headers are both at height {height} but differ ({old} and {new}): \
         two finalized blocks at one height"
    )]
    Fork {
        /// The height.
        height: u64,
        /// The older header's hash.
        old: BlockHash,
        /// The newer header's hash.
        new: BlockHash,
    },
    /// The consistency proof starts at another height than the older header's.
    #[error(
        "the consistency proof starts at height {from}, but the older header is at height \
         {old}: ask for ?from={old}"
    )]
    WrongStart {
        /// The proof's `from_height`.
        from: u64,
        /// The older header's height.
        old: u64,
    },
    /// A consistency proof was needed and is missing, or given where none is needed.
    #[error("{0}")]
    ConsistencyShape(&'static str),
    /// The consistency proof does not hold between the two headers' log roots.
    #[error("the newer log does not extend the older one: {0}")]
    Consistency(LogProofError),
}

impl ProofBundle {
    /// Checks the bundle against `genesis` alone, in the order `docs/proofs.md` gives, and says
    /// what it proves.
    pub fn verify(&self, genesis: &Genesis) -> Result<Proven, BundleError> {
        check_identity(
            genesis,
            BUNDLE_FORMAT,
            &self.format,
            &self.chain_id,
            &self.genesis_hash,
        )?;
        let finality = check_finalized(genesis, &self.header, &self.justification)?;
        let code = self.check_code()?;
        let latest = self
            .map_proof
            .resolve::<LedgerHash>(&self.header.trees.map_root, &self.map_key)
            .map_err(BundleError::MapProof)?;
        let record = match (&self.record, latest) {
            (None, None) => None,
            (None, Some(leaf)) => return Err(BundleError::RecordWithheld { leaf }),
            (Some(_), None) => return Err(BundleError::NoRecordInMap),
            (Some(record), Some(latest)) => {
                Some(self.check_record(genesis, record, &code, latest)?)
            }
        };
        Ok(Proven {
            code,
            finality,
            record,
        })
    }

    /// The code, checked canonical, and its key checked against the bundle's.
    fn check_code(&self) -> Result<TraceCode, BundleError> {
        let code = TraceCode::from_str(&self.code).map_err(|reason| BundleError::Code {
            code: self.code.clone(),
            reason,
        })?;
        let canonical = code.to_string();
        if canonical != self.code {
            return Err(BundleError::CodeNotCanonical {
                found: self.code.clone(),
                canonical,
            });
        }
        let expected = code_key(&canonical);
        if expected != self.map_key {
            return Err(BundleError::WrongMapKey {
                expected,
                found: self.map_key,
            });
        }
        Ok(code)
    }

    /// Checks the claimed record: its envelope, that it is what the map holds for the code
    /// (`latest`), that it names the code, and its place in the header's log.
    fn check_record(
        &self,
        genesis: &Genesis,
        record: &BundleRecord,
        code: &TraceCode,
        latest: Hash32,
    ) -> Result<ProvenRecord, BundleError> {
        let tx = record
            .envelope
            .clone()
            .verify(&genesis.binding())
            .map_err(BundleError::Envelope)?;
        if tx.id != record.tx_id {
            return Err(BundleError::WrongTxId {
                stated: record.tx_id,
                computed: tx.id,
            });
        }
        let leaf = record_leaf(&tx.id);
        if leaf != latest {
            return Err(BundleError::NotLatest {
                tx_id: tx.id,
                leaf,
                latest,
            });
        }
        let content = &tx.payload.record;
        if !content.codes().contains(&code) {
            return Err(BundleError::RecordWithoutCode {
                record_type: content.type_name(),
                code: code.to_string(),
            });
        }
        if record.height == 0 || record.height > self.header.height {
            return Err(BundleError::RecordHeight {
                reported: record.height,
                header: self.header.height,
            });
        }
        let trees = &self.header.trees;
        if record.inclusion.tree_size != trees.log_size {
            return Err(BundleError::WrongLogSize {
                what: "inclusion",
                proof: record.inclusion.tree_size,
                header: trees.log_size,
            });
        }
        record
            .inclusion
            .verify::<LedgerHash>(&leaf, &trees.log_root)
            .map_err(BundleError::Inclusion)?;
        Ok(ProvenRecord {
            tx_id: tx.id,
            record_type: content.type_name(),
            log_index: record.inclusion.leaf_index,
            signer: tx.envelope.signer,
            signer_role: signer_role(genesis, &tx.envelope.signer),
            enterprise: content.enterprises().first().map(|uscc| (*uscc).clone()),
            reported_height: record.height,
        })
    }
}

impl ConsistencyBundle {
    /// Checks that this bundle's header is finalized on `genesis`'s chain and that its record
    /// log extends the log of `old`, a header the caller verified before (from a
    /// [`ProofBundle`] it checked with [`ProofBundle::verify`]).
    pub fn verify(&self, genesis: &Genesis, old: &Header) -> Result<Extended, BundleError> {
        check_identity(
            genesis,
            CONSISTENCY_FORMAT,
            &self.format,
            &self.chain_id,
            &self.genesis_hash,
        )?;
        let finality = check_finalized(genesis, &self.header, &self.justification)?;
        let new = &self.header;
        if new.height < old.height {
            return Err(BundleError::NewerIsOlder {
                old: old.height,
                new: new.height,
            });
        }
        if new.height == old.height && new.hash() != old.hash() {
            return Err(BundleError::Fork {
                height: new.height,
                old: old.hash(),
                new: new.hash(),
            });
        }
        if self.from_height != old.height {
            return Err(BundleError::WrongStart {
                from: self.from_height,
                old: old.height,
            });
        }
        self.check_log_extends(&old.trees, &new.trees)?;
        Ok(Extended {
            old_height: old.height,
            old_log_size: old.trees.log_size,
            finality,
            new_log_size: new.trees.log_size,
        })
    }

    fn check_log_extends(
        &self,
        old: &suyuan_ledger::block::TreeHeads,
        new: &suyuan_ledger::block::TreeHeads,
    ) -> Result<(), BundleError> {
        let proof = match (&self.proof, old.log_size) {
            (None, 0) => return Ok(()),
            (Some(_), 0) => {
                return Err(BundleError::ConsistencyShape(
                    "the older log is empty, so no consistency proof is expected, but one is given",
                ));
            }
            (None, _) => {
                return Err(BundleError::ConsistencyShape(
                    "the older log holds records, but no consistency proof is given",
                ));
            }
            (Some(proof), _) => proof,
        };
        for (what, proof_size, header_size) in [
            ("consistency (older)", proof.old_size, old.log_size),
            ("consistency (newer)", proof.new_size, new.log_size),
        ] {
            if proof_size != header_size {
                return Err(BundleError::WrongLogSize {
                    what,
                    proof: proof_size,
                    header: header_size,
                });
            }
        }
        proof
            .verify::<LedgerHash>(&old.log_root, &new.log_root)
            .map_err(BundleError::Consistency)
    }
}

/// Checks the format tag, the chain id and the genesis hash a document names.
fn check_identity(
    genesis: &Genesis,
    expected_format: &'static str,
    format: &str,
    chain_id: &str,
    genesis_hash: &Hash32,
) -> Result<(), BundleError> {
    if format != expected_format {
        return Err(BundleError::Format {
            expected: expected_format,
            found: format.to_owned(),
        });
    }
    if chain_id != genesis.chain_id {
        return Err(BundleError::WrongChain {
            what: "bundle",
            expected: genesis.chain_id.clone(),
            found: chain_id.to_owned(),
        });
    }
    let expected = genesis.hash();
    if *genesis_hash != expected {
        return Err(BundleError::WrongGenesis {
            expected,
            found: *genesis_hash,
        });
    }
    Ok(())
}

/// Checks that `justification_hex` holds a finalization of exactly `header`, signed by a quorum
/// of distinct genesis validators, by the one rule of [`crate::finality`].
pub fn check_finalized(
    genesis: &Genesis,
    header: &Header,
    justification_hex: &str,
) -> Result<Finality, BundleError> {
    if header.chain_id != genesis.chain_id {
        return Err(BundleError::WrongChain {
            what: "header",
            expected: genesis.chain_id.clone(),
            found: header.chain_id.clone(),
        });
    }
    let bytes = hex::decode(justification_hex)
        .map_err(|error| BundleError::JustificationHex(error.to_string()))?;
    let justification = Justification::decode(&bytes).map_err(BundleError::Justification)?;
    let consortium = Consortium::from_genesis(genesis)?;
    let justified = consortium.check(header, None, &justification, Required::Finalization)?;
    Ok(Finality {
        height: header.height,
        hash: header.hash(),
        signers: justified.signers,
        validators: justified.validators,
        quorum: justified.quorum,
    })
}

/// The genesis role of `key`, if it is a regulator's or a registrar's.
fn signer_role(genesis: &Genesis, key: &PublicKey) -> Option<String> {
    if let Some(member) = genesis.regulator(key) {
        return Some(format!("regulator {}", member.name));
    }
    genesis
        .registrar(key)
        .map(|member| format!("registrar {}", member.name))
}

impl fmt::Display for Finality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "finalized by {} of {} validators (quorum {})",
            self.signers, self.validators, self.quorum
        )
    }
}

impl fmt::Display for Proven {
    /// The proof in plain words, one sentence.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = &self.finality;
        let Some(record) = &self.record else {
            return write!(
                f,
                "code {} has no record as of height {} (block {}), {}",
                self.code, at.height, at.hash, at
            );
        };
        write!(
            f,
            "record {} ({}) is the latest for code {} as of height {} (block {}); it is record \
             {} of the log, reported committed at height {}; signed by key {}",
            record.tx_id,
            record.record_type,
            self.code,
            at.height,
            at.hash,
            record.log_index,
            record.reported_height,
            record.signer
        )?;
        if let Some(role) = &record.signer_role {
            write!(f, " ({role})")?;
        }
        if let Some(uscc) = &record.enterprise {
            write!(f, " for enterprise {uscc}")?;
        }
        write!(f, "; {at}")
    }
}

impl fmt::Display for Extended {
    /// The proof in plain words, one sentence.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the record log at height {} ({} records, block {}) extends the log at height {} \
             ({} records): nothing committed by then was removed or reordered; {}",
            self.finality.height,
            self.new_log_size,
            self.finality.hash,
            self.old_height,
            self.old_log_size,
            self.finality
        )
    }
}
