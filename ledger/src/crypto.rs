//! Sign and verify with ed25519, with keys and signatures that print as hex.
//!
//! Verification follows one rule, written out in [`rule`]: canonical encodings, no small-order
//! points, and RFC 8032's cofactored group equation. [`verify_batch`] checks many signatures at
//! once, at a fraction of the cost, with exactly the verdict [`PublicKey::verify`] gives each.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey};

mod rule;

pub use rule::{SignatureCheck, verify_batch, verify_batch_within};

/// An ed25519 public key: a validator's, a registrar's, a regulator's or an enterprise's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; 32]);

/// An ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

/// A secret signing key. Never printed: its `Debug` shows only the public half.
#[derive(Clone)]
pub struct KeyPair(SigningKey);

/// Why a key or signature is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The text is not hex of the right length.
    #[error(
        "expected {expected_hex_chars} hex characters, found {found_chars} characters or a non-hex one"
    )]
    BadHex {
        /// Hex characters the value needs.
        expected_hex_chars: usize,
        /// Characters found.
        found_chars: usize,
    },
    /// The bytes are not a point on the curve.
    #[error("not a valid ed25519 public key")]
    BadPublicKey,
    /// The signature does not verify for this key and message.
    #[error("signature does not verify")]
    BadSignature,
}

impl PublicKey {
    /// Builds a key from its 32 bytes, checking that they are the canonical encoding of a curve
    /// point. (A small-order point is a key, but no signature by it verifies.)
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, CryptoError> {
        decoded::key(&bytes)?;
        Ok(PublicKey(bytes))
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Checks `signature` over `message` by the rule in [`rule`].
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), CryptoError> {
        rule::verify_one(&SignatureCheck {
            key: self,
            message,
            signature,
        })
    }
}

/// Decoded public keys, kept so that a key signing many transactions is decompressed once.
///
/// Decoding a key (a square root in the field) costs about a third of a verification, and a
/// transaction's signer is decoded when its envelope is parsed, again to verify, and again in
/// every block that carries it; enterprises sign many transactions with one key. Only valid
/// keys are kept; the map is bounded and emptied when full, so memory stays small whatever
/// keys arrive. The results are exactly those of decoding every time.
mod decoded {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};

    use curve25519_dalek::edwards::EdwardsPoint;

    use super::CryptoError;

    /// Keys kept at most.
    const CAPACITY: usize = 8192;

    /// A decoded key.
    #[derive(Clone, Copy)]
    pub(super) struct Key {
        /// The point.
        pub(super) point: EdwardsPoint,
        /// Whether it has small order: then nothing it signs verifies.
        pub(super) small_order: bool,
    }

    static KEYS: OnceLock<Mutex<HashMap<[u8; 32], Key>>> = OnceLock::new();

    /// The decoded key of `bytes`, or why they are not one.
    pub(super) fn key(bytes: &[u8; 32]) -> Result<Key, CryptoError> {
        let keys = KEYS.get_or_init(Default::default);
        let lock = || {
            keys.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(key) = lock().get(bytes) {
            return Ok(*key);
        }
        let point = super::rule::decode_point(bytes).ok_or(CryptoError::BadPublicKey)?;
        let key = Key {
            point,
            small_order: point.is_small_order(),
        };
        let mut keys = lock();
        if keys.len() >= CAPACITY {
            keys.clear();
        }
        keys.insert(*bytes, key);
        Ok(key)
    }
}

impl Signature {
    /// Wraps 64 signature bytes; whether they verify is decided by [`PublicKey::verify`].
    pub fn from_bytes(bytes: [u8; 64]) -> Self {
        Signature(bytes)
    }

    /// The raw 64 bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl KeyPair {
    /// Generates a fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        KeyPair(SigningKey::generate(&mut rand_core::OsRng))
    }

    /// Rebuilds a key from its 32-byte secret seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        KeyPair(SigningKey::from_bytes(&seed))
    }

    /// Derives a key deterministically from a label: for demo data and tests only, never for a
    /// key that guards anything.
    pub fn insecure_from_label(label: &str) -> Self {
        Self::from_seed(blake3::derive_key(
            "suyuan insecure demo key v1",
            label.as_bytes(),
        ))
    }

    /// The 32-byte secret seed, for writing to a key file.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair(public: {})", self.public())
    }
}

fn decode_hex<const N: usize>(text: &str) -> Result<[u8; N], CryptoError> {
    let error = CryptoError::BadHex {
        expected_hex_chars: N * 2,
        found_chars: text.chars().count(),
    };
    if text.len() != N * 2 {
        return Err(error);
    }
    let mut bytes = [0u8; N];
    hex::decode_to_slice(text, &mut bytes).map_err(|_| error)?;
    Ok(bytes)
}

impl FromStr for PublicKey {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PublicKey::from_bytes(decode_hex::<32>(s)?)
    }
}

impl FromStr for Signature {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Signature(decode_hex::<64>(s)?))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.0))
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

crate::serde_as_string!(PublicKey);
crate::serde_as_string!(Signature);

crate::string_schema!(
    PublicKey,
    "PublicKey",
    "an ed25519 public key, 32 bytes in lower-case hex",
    "pattern": "^[0-9a-f]{64}$",
);
crate::string_schema!(
    Signature,
    "Signature",
    "an ed25519 signature, 64 bytes in lower-case hex",
    "pattern": "^[0-9a-f]{128}$",
);

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::VerifyingKey;

    #[test]
    fn sign_verify_and_reject_tampering() {
        let key = KeyPair::insecure_from_label("test");
        let signature = key.sign(b"message");
        assert_eq!(key.public().verify(b"message", &signature), Ok(()));
        assert_eq!(
            key.public().verify(b"messagE", &signature),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn hex_forms_round_trip() {
        let key = KeyPair::insecure_from_label("test");
        let public: PublicKey = key.public().to_string().parse().unwrap();
        assert_eq!(public, key.public());
        let signature = key.sign(b"m");
        assert_eq!(signature.to_string().parse::<Signature>(), Ok(signature));
        assert!(matches!(
            "abc".parse::<PublicKey>(),
            Err(CryptoError::BadHex { .. })
        ));
    }

    #[test]
    fn cached_keys_decide_as_fresh_ones() {
        let key = KeyPair::insecure_from_label("cache");
        let signature = key.sign(b"m");
        for _ in 0..3 {
            assert_eq!(key.public().verify(b"m", &signature), Ok(()));
            assert_eq!(
                key.public().verify(b"n", &signature),
                Err(CryptoError::BadSignature)
            );
        }
        // Not a point: refused every time, never cached.
        let mut bad = [0u8; 32];
        bad[0] = 2;
        bad[31] = 0x80;
        for _ in 0..2 {
            assert_eq!(
                PublicKey::from_bytes(bad).is_err(),
                VerifyingKey::from_bytes(&bad).is_err()
            );
        }
    }

    #[test]
    fn seed_round_trip() {
        let key = KeyPair::generate();
        assert_eq!(KeyPair::from_seed(key.seed()).public(), key.public());
    }
}
