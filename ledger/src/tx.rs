//! Sign, encode and check transactions: a record in a JSON payload, signed by one key.
//!
//! An [`Envelope`] carries the payload bytes exactly as the client signed them, the signer's
//! public key and an ed25519 signature over [`signing_message`]: a domain tag, the chain id, the
//! genesis hash and the payload. Nodes hash and store those bytes and never serialise the payload again, so what
//! is on the ledger is byte for byte what the signer signed.
//!
//! Replays: the [`TxId`] is a hash of everything signed plus the signer, so resubmitting an
//! envelope gives the same id, which execution refuses a second time; the chain id and genesis
//! hash in the signed message ([`ChainBinding`]) stop a transaction signed for one consortium from
//! being valid on another, even one that chose the same chain id; and the payload's `nonce` lets
//! a client send the same record twice on purpose.

use serde::{Deserialize, Serialize};

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{self, CryptoError, KeyPair, PublicKey, Signature};
use crate::event::EpcisEvent;
use crate::hash::{Hash32, hash_parts};
use crate::limits::{MAX_CHAIN_ID_BYTES, MAX_PAYLOAD_BYTES};
use crate::record::Record;

/// The domain tag at the start of every signed transaction message. Version 2 added the
/// genesis hash.
pub const TX_SIGNING_DOMAIN: &[u8] = b"suyuan transaction v2\0";

/// The consortium a signature is for: its chain id, which operators choose (and two consortia
/// may choose alike), and the hash of its genesis file, which no two consortia share. Every
/// signing message carries both, so a transaction signed for one consortium verifies on no
/// other. Built once from the genesis ([`crate::genesis::Genesis::binding`]) and kept: hashing
/// the genesis is not free.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChainBinding {
    chain_id: String,
    genesis_hash: Hash32,
}

impl ChainBinding {
    /// The binding of the chain `chain_id` whose genesis file hashes to `genesis_hash`, as a
    /// client learns both from a node's `GET /v1/status`. Chain ids are at most
    /// [`MAX_CHAIN_ID_BYTES`] bytes (genesis checks); a longer one is cut there, and so binds
    /// to no real chain.
    pub fn new(chain_id: &str, genesis_hash: Hash32) -> ChainBinding {
        let mut end = chain_id.len().min(MAX_CHAIN_ID_BYTES);
        while !chain_id.is_char_boundary(end) {
            end -= 1;
        }
        ChainBinding {
            chain_id: chain_id[..end].to_owned(),
            genesis_hash,
        }
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The genesis hash.
    pub fn genesis_hash(&self) -> Hash32 {
        self.genesis_hash
    }
}

/// A transaction id: [`hash_parts`] in the domain `suyuan transaction id v1` over the signer's
/// key and the signed message.
pub type TxId = Hash32;

/// What a client signs: a record and a nonce, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// Any number the client chooses, so that two identical records are two transactions.
    pub nonce: u64,
    /// The record.
    pub record: Record,
    /// The EPCIS event the record was captured from, for records that are events
    /// (commission, inspect, ship, recall, close_recall, pack, unpack): its id, time and
    /// locations ([`crate::event`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EpcisEvent>,
}

/// A signed transaction as it travels and is stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The payload bytes exactly as signed (base64 in JSON).
    #[serde(with = "base64_bytes")]
    pub payload: Vec<u8>,
    /// Who signed.
    pub signer: PublicKey,
    /// The signature over [`signing_message`].
    pub signature: Signature,
}

/// An envelope whose signature verified and whose payload parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTx {
    /// Its id.
    pub id: TxId,
    /// The envelope as received.
    pub envelope: Envelope,
    /// The parsed payload.
    pub payload: Payload,
}

/// Why an envelope is refused before execution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The payload is larger than [`MAX_PAYLOAD_BYTES`].
    #[error("payload is {found} bytes; at most {max} allowed")]
    PayloadTooLarge {
        /// The bound.
        max: usize,
        /// The size found.
        found: usize,
    },
    /// The signature does not verify for this chain.
    #[error("signature does not verify for signer {signer} on this chain")]
    BadSignature {
        /// The claimed signer.
        signer: PublicKey,
    },
    /// The payload is not a valid JSON payload.
    #[error("payload is not a valid transaction: {reason}")]
    BadPayload {
        /// What the parser said, with line and column.
        reason: String,
    },
    /// The binary form does not decode.
    #[error("envelope does not decode: {0}")]
    Decode(#[from] DecodeError),
}

impl TxError {
    /// A stable snake_case name of the refusal, for machines (the API's error `code`).
    pub fn code(&self) -> &'static str {
        match self {
            TxError::PayloadTooLarge { .. } => "payload_too_large",
            TxError::BadSignature { .. } => "bad_signature",
            TxError::BadPayload { .. } => "bad_payload",
            TxError::Decode(_) => "bad_encoding",
        }
    }
}

/// A transaction's id from its signer and signing message.
fn id_of(signer: &PublicKey, message: &[u8]) -> TxId {
    hash_parts("suyuan transaction id v1", &[signer.as_bytes(), message])
}

/// The exact bytes an envelope's signature covers: the domain tag, the chain id's length in one
/// byte and the chain id, the 32-byte genesis hash, the payload.
pub fn signing_message(chain: &ChainBinding, payload: &[u8]) -> Vec<u8> {
    let chain_id = chain.chain_id.as_bytes();
    let mut message =
        Vec::with_capacity(TX_SIGNING_DOMAIN.len() + 1 + chain_id.len() + 32 + payload.len());
    message.extend_from_slice(TX_SIGNING_DOMAIN);
    // `ChainBinding::new` keeps chain ids to 64 bytes, so the length fits in one byte.
    message.push(chain_id.len() as u8);
    message.extend_from_slice(chain_id);
    message.extend_from_slice(chain.genesis_hash.as_bytes());
    message.extend_from_slice(payload);
    message
}

impl Payload {
    /// The payload's JSON bytes, for signing.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("payloads hold no maps with non-string keys")
    }

    /// Parses payload bytes, refusing oversized input before parsing.
    pub fn parse(bytes: &[u8]) -> Result<Payload, TxError> {
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(TxError::PayloadTooLarge {
                max: MAX_PAYLOAD_BYTES,
                found: bytes.len(),
            });
        }
        serde_json::from_slice(bytes).map_err(|error| TxError::BadPayload {
            reason: error.to_string(),
        })
    }
}

impl Envelope {
    /// Signs `payload` for `chain` with `key`.
    pub fn sign(chain: &ChainBinding, payload: &Payload, key: &KeyPair) -> Envelope {
        Self::sign_bytes(chain, payload.to_bytes(), key)
    }

    /// Signs payload bytes as they are, for clients that produce their own JSON.
    pub fn sign_bytes(chain: &ChainBinding, payload: Vec<u8>, key: &KeyPair) -> Envelope {
        let signature = key.sign(&signing_message(chain, &payload));
        Envelope {
            payload,
            signer: key.public(),
            signature,
        }
    }

    /// The id: the same for the same signer, chain and payload, whatever the signature bytes.
    pub fn id(&self, chain: &ChainBinding) -> TxId {
        id_of(&self.signer, &signing_message(chain, &self.payload))
    }

    /// Checks size and signature and parses the payload.
    pub fn verify(self, chain: &ChainBinding) -> Result<VerifiedTx, TxError> {
        self.check_size()?;
        let message = signing_message(chain, &self.payload);
        self.signer
            .verify(&message, &self.signature)
            .map_err(|_: CryptoError| TxError::BadSignature {
                signer: self.signer,
            })?;
        self.verified(&message)
    }

    /// [`Envelope::verify`] for many envelopes, in order, with the signatures checked as one
    /// batch ([`crypto::verify_batch`]): the same verdicts for less work.
    pub fn verify_batch(
        envelopes: Vec<Envelope>,
        chain: &ChainBinding,
    ) -> Vec<Result<VerifiedTx, TxError>> {
        Self::verify_batch_within(envelopes, chain, usize::MAX)
            .into_iter()
            .map(|verdict| verdict.expect("an unbounded search settles every signature"))
            .collect()
    }

    /// [`Envelope::verify_batch`] with at most `split_budget` signature checks spent finding
    /// the invalid signatures once the batch's equation fails
    /// ([`crypto::verify_batch_within`]): `None` for an envelope whose signature the budget
    /// left unsettled. Admission uses it on batches from clients and peers it does not trust.
    pub fn verify_batch_within(
        envelopes: Vec<Envelope>,
        chain: &ChainBinding,
        split_budget: usize,
    ) -> Vec<Option<Result<VerifiedTx, TxError>>> {
        let messages: Vec<Result<Vec<u8>, TxError>> = envelopes
            .iter()
            .map(|envelope| {
                envelope.check_size()?;
                Ok(signing_message(chain, &envelope.payload))
            })
            .collect();
        let checks: Vec<crypto::SignatureCheck<'_>> = envelopes
            .iter()
            .zip(&messages)
            .filter_map(|(envelope, message)| {
                let message = message.as_ref().ok()?;
                Some(crypto::SignatureCheck {
                    key: &envelope.signer,
                    message,
                    signature: &envelope.signature,
                })
            })
            .collect();
        let mut verdicts = crypto::verify_batch_within(&checks, split_budget).into_iter();
        envelopes
            .into_iter()
            .zip(messages)
            .map(|(envelope, message)| {
                let message = match message {
                    Ok(message) => message,
                    Err(error) => return Some(Err(error)),
                };
                let verdict = verdicts.next().expect("one verdict per checked envelope")?;
                Some(
                    verdict
                        .map_err(|_: CryptoError| TxError::BadSignature {
                            signer: envelope.signer,
                        })
                        .and_then(|()| envelope.verified(&message)),
                )
            })
            .collect()
    }

    fn check_size(&self) -> Result<(), TxError> {
        if self.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(TxError::PayloadTooLarge {
                max: MAX_PAYLOAD_BYTES,
                found: self.payload.len(),
            });
        }
        Ok(())
    }

    /// Parses the payload of an envelope whose signature over `message` verified.
    fn verified(self, message: &[u8]) -> Result<VerifiedTx, TxError> {
        let payload = Payload::parse(&self.payload)?;
        Ok(VerifiedTx {
            id: id_of(&self.signer, message),
            envelope: self,
            payload,
        })
    }

    /// Appends the canonical binary form: payload (length-prefixed), signer, signature.
    pub fn encode_into(&self, writer: &mut Writer) {
        writer
            .bytes(&self.payload)
            .fixed(self.signer.as_bytes())
            .fixed(self.signature.as_bytes());
    }

    /// The canonical binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut writer = Writer::new();
        self.encode_into(&mut writer);
        writer.finish()
    }

    /// Reads one envelope from `reader`; the signature is not checked here.
    pub fn decode_from(reader: &mut Reader<'_>) -> Result<Envelope, DecodeError> {
        let payload = reader.bytes(MAX_PAYLOAD_BYTES, "payload")?.to_vec();
        let signer = PublicKey::from_bytes(reader.array("signer")?).map_err(|error| {
            DecodeError::Invalid {
                field: "signer",
                reason: error.to_string(),
            }
        })?;
        let signature = Signature::from_bytes(reader.array("signature")?);
        Ok(Envelope {
            payload,
            signer,
            signature,
        })
    }

    /// Decodes exactly one envelope.
    pub fn from_bytes(bytes: &[u8]) -> Result<Envelope, DecodeError> {
        let mut reader = Reader::new(bytes);
        let envelope = Self::decode_from(&mut reader)?;
        reader.finish()?;
        Ok(envelope)
    }
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("payload", &String::from_utf8_lossy(&self.payload))
            .field("signer", &self.signer)
            .field("signature", &self.signature)
            .finish()
    }
}

mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        // Base64 is 4/3 the size of what it carries: refuse oversized text before decoding.
        if text.len() > super::MAX_PAYLOAD_BYTES.div_ceil(3) * 4 {
            return Err(serde::de::Error::custom(format!(
                "payload is larger than {} bytes",
                super::MAX_PAYLOAD_BYTES
            )));
        }
        STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}
