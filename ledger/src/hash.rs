//! Hash bytes with BLAKE3 under a named domain, and carry the 32-byte results.

use std::fmt;
use std::str::FromStr;

/// A 32-byte digest: a block hash, a transaction id, a content hash (BLAKE3), or a Merkle tree
/// hash under whichever hash function the tree was built with.
///
/// Shown and serialised as 64 lower-case hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash32(pub [u8; 32]);

/// Why a string is not a [`Hash32`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a hash is 64 hex characters; found {found_len} characters or a non-hex one")]
pub struct HashParseError {
    /// Length of the rejected string.
    pub found_len: usize,
}

impl Hash32 {
    /// The all-zero hash, used as the parent of the first block's predecessor.
    pub const ZERO: Hash32 = Hash32([0; 32]);

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// Hashes `parts` under `domain`, so that bytes hashed for one purpose can never be passed off
/// as bytes hashed for another.
///
/// Uses BLAKE3's key-derivation mode with `domain` as its context string; each part is preceded
/// by its length as a little-endian u64, so that part boundaries are unambiguous.
pub fn hash_parts(domain: &str, parts: &[&[u8]]) -> Hash32 {
    let mut hasher = blake3::Hasher::new_derive_key(domain);
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    Hash32(*hasher.finalize().as_bytes())
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", self.to_hex())
    }
}

impl FromStr for Hash32 {
    type Err = HashParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = HashParseError { found_len: s.len() };
        if s.len() != 64 {
            return Err(error);
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| error)?;
        Ok(Hash32(bytes))
    }
}

crate::serde_as_string!(Hash32);

crate::string_schema!(
    Hash32,
    "Hash",
    "32 bytes in lower-case hex: a transaction id, a block or genesis hash, a commitment, a \
     document's SHA-256",
    "pattern": "^[0-9a-f]{64}$",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_separate_equal_bytes() {
        assert_ne!(hash_parts("a", &[b"x"]), hash_parts("b", &[b"x"]));
        assert_ne!(hash_parts("a", &[b"xy"]), hash_parts("a", &[b"x", b"y"]));
    }

    #[test]
    fn hex_round_trip_and_rejections() {
        let hash = hash_parts("suyuan test", &[b"hello"]);
        assert_eq!(hash.to_string().parse::<Hash32>(), Ok(hash));
        assert!("00".parse::<Hash32>().is_err());
        assert!("zz".repeat(32).parse::<Hash32>().is_err());
    }
}
