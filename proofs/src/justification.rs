//! What a node stores beside each committed block, and sends with it in block sync: the
//! certificate that justifies it and the nullifications of the views it skipped, so that the
//! chain justifies itself to anyone holding the genesis file (a proof bundle's `justification`,
//! `suyuan audit`).
//!
//! ```text
//! Justification := len:u32 Certificate  count:u32 (len:u32 Certificate){count}
//! ```
//!
//! Each `Certificate` is in the consensus wire encoding (`suyuan_consensus::Certificate::encode`);
//! `count` is at most [`MAX_NULLIFICATIONS`]. The decoder is bounded and refuses trailing bytes.

use suyuan_consensus::{Certificate, VoteKind};
use suyuan_ledger::codec::{DecodeError, Reader, Writer};

/// Largest encoded certificate inside a justification: consensus decodes no certificate
/// longer than its message bound, which holds one signed by every validator a set may have.
pub const MAX_CERTIFICATE_BYTES: usize = suyuan_consensus::limits::MAX_MESSAGE_BYTES;

/// Most nullifications a justification carries: one per skipped view. A longer run of skipped
/// views is still justified, by the first and last [`MAX_NULLIFICATIONS`] / 2 of them.
pub const MAX_NULLIFICATIONS: usize = 64;

/// Largest encoded justification: a certificate and [`MAX_NULLIFICATIONS`] nullifications,
/// each of the largest size, with their length prefixes and the count. Storage, block sync
/// and the raw block API derive their bounds from this one.
pub const MAX_JUSTIFICATION_BYTES: usize =
    4 + (1 + MAX_NULLIFICATIONS) * (4 + MAX_CERTIFICATE_BYTES);

// A certificate of the largest validator set fits the certificate bound: at most 125 bytes of
// version, tag, vote and count, and 66 bytes (index and signature) per signer.
const _: () = assert!(125 + 66 * suyuan_consensus::limits::MAX_VALIDATORS <= MAX_CERTIFICATE_BYTES);

/// What is stored beside a finalized block and sent with it in block sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Justification {
    /// The block's finalization, or its notarization when a descendant's finalization
    /// finalized it.
    pub certificate: Certificate,
    /// Nullifications of the views between the parent's view and the block's.
    pub nullifications: Vec<Certificate>,
}

impl Justification {
    /// A justification from what consensus delivered, keeping at most
    /// [`MAX_NULLIFICATIONS`] nullifications (the first and the last half).
    pub fn new(certificate: Certificate, mut nullifications: Vec<Certificate>) -> Self {
        if nullifications.len() > MAX_NULLIFICATIONS {
            let tail = nullifications.split_off(nullifications.len() - MAX_NULLIFICATIONS / 2);
            nullifications.truncate(MAX_NULLIFICATIONS / 2);
            nullifications.extend(tail);
        }
        Justification {
            certificate,
            nullifications,
        }
    }

    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::new();
        writer.bytes(&self.certificate.encode());
        writer.u32(self.nullifications.len() as u32);
        for nullification in &self.nullifications {
            writer.bytes(&nullification.encode());
        }
        writer.finish()
    }

    /// Decodes stored or received bytes.
    pub fn decode(bytes: &[u8]) -> Result<Justification, DecodeError> {
        let mut reader = Reader::new(bytes);
        let certificate = read_certificate(&mut reader, "certificate")?;
        let count = reader.u32("nullification count")? as usize;
        if count > MAX_NULLIFICATIONS {
            return Err(DecodeError::TooLong {
                field: "nullifications",
                max: MAX_NULLIFICATIONS,
                found: count,
            });
        }
        let nullifications = (0..count)
            .map(|_| read_certificate(&mut reader, "nullification"))
            .collect::<Result<_, _>>()?;
        reader.finish()?;
        Ok(Justification {
            certificate,
            nullifications,
        })
    }
}

fn read_certificate(
    reader: &mut Reader<'_>,
    field: &'static str,
) -> Result<Certificate, DecodeError> {
    let bytes = reader.bytes(MAX_CERTIFICATE_BYTES, field)?;
    Certificate::decode(bytes).map_err(|error| DecodeError::Invalid {
        field,
        reason: error.to_string(),
    })
}

impl Justification {
    /// Whether the block's own certificate is a finalization: a block committed as the ancestor
    /// of a finalized block carries its notarization instead.
    pub fn is_finalization(&self) -> bool {
        self.certificate.vote().kind() == VoteKind::Finalize
    }
}
