//! Sign, encode and check transactions: a record in a JSON payload, signed by one key.
//!
//! An [`Envelope`] carries the payload bytes exactly as the client signed them, the signer's
//! public key and an ed25519 signature over [`signing_message`]: a domain tag, the chain id and
//! the payload. Nodes hash and store those bytes and never serialise the payload again, so what
//! is on the ledger is byte for byte what the signer signed.
//!
//! Replays: the [`TxId`] is a hash of everything signed plus the signer, so resubmitting an
//! envelope gives the same id, which execution refuses a second time; the chain id in the signed
//! message stops a transaction signed for one consortium from being valid on another; and the
//! payload's `nonce` lets a client send the same record twice on purpose.

use serde::{Deserialize, Serialize};

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{self, CryptoError, KeyPair, PublicKey, Signature};
use crate::hash::{Hash32, hash_parts};
use crate::limits::{MAX_CHAIN_ID_BYTES, MAX_PAYLOAD_BYTES};
use crate::record::Record;

/// The domain tag at the start of every signed transaction message.
pub const TX_SIGNING_DOMAIN: &[u8] = b"suyuan transaction v1\0";

/// A transaction id: [`hash_parts`] in the domain `suyuan transaction id v1` over the signer's
/// key and the signed message.
pub type TxId = Hash32;

/// What a client signs: a record and a nonce, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// Any number the client chooses, so that two identical records are two transactions.
    pub nonce: u64,
    /// The record.
    pub record: Record,
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

/// The exact bytes an envelope's signature covers.
pub fn signing_message(chain_id: &str, payload: &[u8]) -> Vec<u8> {
    debug_assert!(
        chain_id.len() <= MAX_CHAIN_ID_BYTES,
        "genesis bounds chain ids"
    );
    let mut message =
        Vec::with_capacity(TX_SIGNING_DOMAIN.len() + 1 + chain_id.len() + payload.len());
    message.extend_from_slice(TX_SIGNING_DOMAIN);
    // Chain ids are at most 64 bytes (genesis checks), so the length fits in one byte.
    message.push(chain_id.len() as u8);
    message.extend_from_slice(chain_id.as_bytes());
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
    /// Signs `payload` for `chain_id` with `key`.
    pub fn sign(chain_id: &str, payload: &Payload, key: &KeyPair) -> Envelope {
        Self::sign_bytes(chain_id, payload.to_bytes(), key)
    }

    /// Signs payload bytes as they are, for clients that produce their own JSON.
    pub fn sign_bytes(chain_id: &str, payload: Vec<u8>, key: &KeyPair) -> Envelope {
        let signature = key.sign(&signing_message(chain_id, &payload));
        Envelope {
            payload,
            signer: key.public(),
            signature,
        }
    }

    /// The id: the same for the same signer, chain and payload, whatever the signature bytes.
    pub fn id(&self, chain_id: &str) -> TxId {
        id_of(&self.signer, &signing_message(chain_id, &self.payload))
    }

    /// Checks size and signature and parses the payload.
    pub fn verify(self, chain_id: &str) -> Result<VerifiedTx, TxError> {
        self.check_size()?;
        let message = signing_message(chain_id, &self.payload);
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
        chain_id: &str,
    ) -> Vec<Result<VerifiedTx, TxError>> {
        Self::verify_batch_within(envelopes, chain_id, usize::MAX)
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
        chain_id: &str,
        split_budget: usize,
    ) -> Vec<Option<Result<VerifiedTx, TxError>>> {
        let messages: Vec<Result<Vec<u8>, TxError>> = envelopes
            .iter()
            .map(|envelope| {
                envelope.check_size()?;
                Ok(signing_message(chain_id, &envelope.payload))
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
