//! Prove what the ledger holds with two Merkle trees: an append-only log of every committed record
//! and a map from each code to its latest record.
//!
//! Both trees are pure data structures: they never touch a disk. Storage keeps their nodes, which
//! the trees address and which storage reads back through a narrow trait; both have an in-memory
//! implementation for tests and tools.
//!
//! - [`log`]: an RFC 9162 (RFC 6962) Merkle tree over records in commit order. A
//!   [`log::Frontier`] appends leaves in O(log n) and hands back the nodes to persist, each
//!   written once and never changed; proofs of inclusion and of consistency between two sizes are
//!   served from stored nodes at any earlier size ([`log::LogStore`]).
//! - [`map`]: a sparse Merkle tree of depth 256 from a 256-bit key (the hash of a code) to a
//!   32-byte value, updated a block at a time ([`map::update`]), with proofs of membership and of
//!   absence at any version ([`map::MapStore`]).
//!
//! Both are generic over the hash function ([`TreeHash`]): [`Sha256`] proves the log against the
//! RFC 6962 test vectors, [`Blake3`] is what the ledger runs. The log hashes with the RFC's
//! one-byte prefixes (`0x00` leaf, `0x01` node); the map with its own (`0x02` leaf, `0x03` node,
//! `0x04` empty), so that no hash of one tree can be passed off as a hash of the other.
//!
//! Proof verification is a pure function of the proof, the trusted root and the claim, bounded
//! before any hashing ([`MAX_LOG_PROOF_HASHES`], [`map::MAX_MAP_PROOF_SIBLINGS`]).
//! `docs/proofs.md` writes the algorithms and the binary and JSON forms out for reimplementation
//! in another language.

pub mod log;
pub mod map;

use serde::Deserializer;
use serde::de::{SeqAccess, Visitor};

use crate::hash::Hash32;

/// Most hashes in a log proof: an inclusion proof in a log of at most [`log::MAX_LOG_SIZE`]
/// leaves has at most 63; a consistency proof at most 64 (one level less, plus the old tree's
/// last subtree).
pub const MAX_LOG_PROOF_HASHES: usize = 64;

/// A hash function the trees are built with.
///
/// The trees only ever hash short byte strings that start with a one-byte domain prefix; the
/// implementation hashes the concatenation of `parts`.
pub trait TreeHash {
    /// The name proofs and vectors are labelled with: `"sha256"`, `"blake3"`.
    const NAME: &'static str;

    /// The hash of the concatenation of `parts`.
    fn hash(parts: &[&[u8]]) -> Hash32;
}

/// SHA-256 (FIPS 180-4), the hash of the RFC 6962 test vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sha256;

impl TreeHash for Sha256 {
    const NAME: &'static str = "sha256";

    fn hash(parts: &[&[u8]]) -> Hash32 {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        Hash32(hasher.finalize().into())
    }
}

/// BLAKE3 in its plain hashing mode, the hash the ledger's trees run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blake3;

impl TreeHash for Blake3 {
    const NAME: &'static str = "blake3";

    fn hash(parts: &[&[u8]]) -> Hash32 {
        // Nodes are hashed from one buffer: the one-shot function skips the incremental
        // hasher's set-up.
        if let [whole] = parts {
            return Hash32(*blake3::hash(whole).as_bytes());
        }
        let mut hasher = blake3::Hasher::new();
        for part in parts {
            hasher.update(part);
        }
        Hash32(*hasher.finalize().as_bytes())
    }
}

/// Why stored tree nodes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A stored node does not decode, or contradicts the tree around it.
    #[error("tree node {node} is corrupt: {reason}")]
    Corrupt {
        /// The node, printed.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// The backing store failed.
    #[error("tree store failed: {0}")]
    Backend(String),
}

/// Deserialises a JSON list of hashes, refusing it as soon as it holds more than `max`, so that a
/// hostile proof cannot make the decoder allocate beyond the bound.
pub(crate) fn bounded_hashes<'de, D: Deserializer<'de>>(
    deserializer: D,
    max: usize,
) -> Result<Vec<Hash32>, D::Error> {
    struct Bounded(usize);

    impl<'de> Visitor<'de> for Bounded {
        type Value = Vec<Hash32>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a list of at most {} hex hashes", self.0)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut hashes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.0));
            while let Some(hash) = seq.next_element::<Hash32>()? {
                if hashes.len() == self.0 {
                    return Err(serde::de::Error::invalid_length(self.0 + 1, &self));
                }
                hashes.push(hash);
            }
            Ok(hashes)
        }
    }

    deserializer.deserialize_seq(Bounded(max))
}

/// Tags that open the binary form of each proof, so that one kind can never be decoded as
/// another.
pub(crate) mod proof_tag {
    /// [`super::log::InclusionProof`].
    pub(crate) const INCLUSION: u8 = 0x01;
    /// [`super::log::ConsistencyProof`].
    pub(crate) const CONSISTENCY: u8 = 0x02;
    /// [`super::map::MapProof`].
    pub(crate) const MAP: u8 = 0x03;
}

/// Reads a proof's opening tag, refusing any other than `tag`.
pub(crate) fn read_tag(
    reader: &mut crate::codec::Reader<'_>,
    tag: u8,
    field: &'static str,
) -> Result<(), crate::codec::DecodeError> {
    let found = reader.u8(field)?;
    if found != tag {
        return Err(crate::codec::DecodeError::Invalid {
            field,
            reason: format!("expected {tag:#04x}, found {found:#04x}"),
        });
    }
    Ok(())
}

/// Appends a u16 count and then the hashes.
pub(crate) fn write_hashes(writer: &mut crate::codec::Writer, hashes: &[Hash32]) {
    let count = u16::try_from(hashes.len()).expect("proofs are bounded far below 65,536 hashes");
    writer.fixed(&count.to_be_bytes());
    for hash in hashes {
        writer.fixed(hash.as_bytes());
    }
}

/// Reads a u16 count and then that many hashes, refusing a count above `max` before reading on.
pub(crate) fn read_hashes(
    reader: &mut crate::codec::Reader<'_>,
    max: usize,
    field: &'static str,
) -> Result<Vec<Hash32>, crate::codec::DecodeError> {
    let count = usize::from(u16::from_be_bytes(reader.array(field)?));
    if count > max {
        return Err(crate::codec::DecodeError::TooLong {
            field,
            max,
            found: count,
        });
    }
    (0..count)
        .map(|_| reader.array(field).map(Hash32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_their_references() {
        // SHA-256("") and BLAKE3("") from their specifications.
        assert_eq!(
            Sha256::hash(&[]).to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            Blake3::hash(&[]).to_hex(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert_eq!(Sha256::hash(&[b"ab", b"c"]), Sha256::hash(&[b"abc"]));
        assert_eq!(Blake3::hash(&[b"ab", b"c"]), Blake3::hash(&[b"abc"]));
    }

    #[test]
    fn hash_lists_refuse_counts_over_the_bound() {
        let hashes = vec![Hash32([7; 32]); 3];
        let mut writer = crate::codec::Writer::new();
        write_hashes(&mut writer, &hashes);
        let bytes = writer.finish();
        let mut reader = crate::codec::Reader::new(&bytes);
        assert_eq!(read_hashes(&mut reader, 3, "path"), Ok(hashes));
        let mut reader = crate::codec::Reader::new(&bytes);
        assert!(matches!(
            read_hashes(&mut reader, 2, "path"),
            Err(crate::codec::DecodeError::TooLong { found: 3, .. })
        ));
    }
}
