//! The signature rule, applied to one signature or to many at once with the same verdicts.
//!
//! A signature `(R, s)` by key `A` over message `M` is valid when:
//!
//! 1. `A` and `R` are canonical encodings of curve points (the y coordinate below the field
//!    prime) and neither point has small order;
//! 2. `s` is a canonical scalar (below the group order ℓ);
//! 3. the cofactored group equation of RFC 8032 §5.1.7 holds: `[8][s]B = [8]R + [8][k]A`,
//!    with `k = SHA-512(R ‖ A ‖ M)` reduced modulo ℓ.
//!
//! The cofactored equation is what makes batches exact. A batch checks one random linear
//! combination of the equations, `[8](Σ zᵢ(Rᵢ + [kᵢ]Aᵢ − [sᵢ]B)) = 0`. Multiplying by the
//! cofactor removes every small-order component before the weights act, so a batch of valid
//! signatures always passes, and a batch holding an invalid one fails unless its weights hit a
//! 2⁻¹²⁷ chance. (Without the cofactor, a signature whose `R` carries a small-order part fails
//! alone but passes a batch with probability up to one half: verdicts would depend on the
//! batch, and nodes could disagree about a block.)
//!
//! The weights `zᵢ` are 128-bit numbers derived by BLAKE3 from every signature, key and `k` of
//! the batch, so they are fixed only once the whole batch is, and the result is reproducible.
//! A batch that fails is split in halves, each checked again, down to single signatures: each
//! signature gets exactly the verdict it would get alone. A caller may bound what that search
//! costs ([`verify_batch_within`]); signatures it leaves unsettled get no verdict at all.
//!
//! Who can make a second valid signature over a message already signed: the signer, always (any
//! other nonce, or a small-order component added to `R`, which the cofactored equation does not
//! see); a third party holding only the signature, not by changing its bytes. Adding a
//! small-order point to `R` changes `R`'s encoding and so `k`, which then no longer matches `s`;
//! `s + ℓ` is not canonical; a non-canonical encoding of `R` or `A` is refused. Nothing depends
//! on signature bytes being unique anyway: a transaction's id covers its signer and signed
//! message, not its signature.

use std::collections::HashMap;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};

use super::{CryptoError, PublicKey, Signature, decoded};

/// Batches this small are checked one signature at a time: the combined equation costs about
/// as much as a few single checks, and a failed one must then be split anyway.
const SINGLE_BELOW: usize = 4;

/// What one single check costs against a split budget, in signatures of a batch equation: a
/// single check is a double-base scalar multiplication, about twice one signature's share of
/// a batch's multi-scalar multiplication.
const SINGLE_CHECK_COST: usize = 2;

/// One signature to check: a key, a message and the signature claimed over it.
#[derive(Clone, Copy, Debug)]
pub struct SignatureCheck<'a> {
    /// The claimed signer.
    pub key: &'a PublicKey,
    /// The exact signed bytes.
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// A signature whose encodings passed the checks, ready for the group equation.
struct Prepared {
    key: EdwardsPoint,
    key_bytes: [u8; 32],
    r: EdwardsPoint,
    r_bytes: [u8; 32],
    s: Scalar,
    k: Scalar,
}

/// Whether a 32-byte point encoding has its y coordinate at or above the field prime
/// 2²⁵⁵ − 19 (the top bit is x's sign and is not part of y).
fn non_canonical_y(bytes: &[u8; 32]) -> bool {
    bytes[31] & 0x7f == 0x7f && bytes[1..31].iter().all(|&b| b == 0xff) && bytes[0] >= 0xed
}

/// The point a canonical encoding names, or None.
pub(super) fn decode_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if non_canonical_y(bytes) {
        return None;
    }
    CompressedEdwardsY(*bytes).decompress()
}

/// Checks everything but the group equation and computes `k`.
fn prepare(check: &SignatureCheck<'_>) -> Result<Prepared, CryptoError> {
    let key_bytes = *check.key.as_bytes();
    let key = decoded::key(&key_bytes)?;
    if key.small_order {
        return Err(CryptoError::BadSignature);
    }
    let signature = check.signature.as_bytes();
    let (r_bytes, s_bytes) = signature.split_at(32);
    let r_bytes: [u8; 32] = r_bytes.try_into().expect("64 = 32 + 32");
    let s_bytes: [u8; 32] = s_bytes.try_into().expect("64 = 32 + 32");
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
        .ok_or(CryptoError::BadSignature)?;
    let r = decode_point(&r_bytes).ok_or(CryptoError::BadSignature)?;
    if r.is_small_order() {
        return Err(CryptoError::BadSignature);
    }
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(r_bytes)
            .chain_update(key_bytes)
            .chain_update(check.message),
    );
    Ok(Prepared {
        key: key.point,
        key_bytes,
        r,
        r_bytes,
        s,
        k,
    })
}

/// The cofactored equation for one signature: `[8]([s]B − [k]A − R) = 0`.
fn holds(signature: &Prepared) -> bool {
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(
        &signature.k,
        &-signature.key,
        &signature.s,
    );
    (sb_minus_ka - signature.r).mul_by_cofactor().is_identity()
}

/// The combined equation for a batch: `[8](Σ zᵢRᵢ + Σ_A (Σ_{i signed by A} zᵢkᵢ)A − (Σ zᵢsᵢ)B) = 0`.
/// Signatures by one key share that key's term, so a batch from few signers costs little more
/// than its `R` points.
fn all_hold(batch: &[Prepared]) -> bool {
    let mut transcript = blake3::Hasher::new_derive_key("suyuan ed25519 batch weights v1");
    transcript.update(&(batch.len() as u64).to_le_bytes());
    for signature in batch {
        transcript.update(&signature.r_bytes);
        transcript.update(&signature.key_bytes);
        transcript.update(signature.s.as_bytes());
        transcript.update(signature.k.as_bytes());
    }
    let mut weights = transcript.finalize_xof();

    let mut basepoint_weight = Scalar::ZERO;
    let mut r_weights = Vec::with_capacity(batch.len());
    let mut key_slots: HashMap<[u8; 32], usize> = HashMap::new();
    let mut keys: Vec<EdwardsPoint> = Vec::new();
    let mut key_weights: Vec<Scalar> = Vec::new();
    for signature in batch {
        let mut z = [0u8; 16];
        weights.fill(&mut z);
        // Odd, hence never zero: every signature takes part in the sum.
        let z = Scalar::from(u128::from_le_bytes(z) | 1);
        basepoint_weight -= z * signature.s;
        r_weights.push(z);
        let slot = *key_slots.entry(signature.key_bytes).or_insert_with(|| {
            keys.push(signature.key);
            key_weights.push(Scalar::ZERO);
            keys.len() - 1
        });
        key_weights[slot] += z * signature.k;
    }

    let scalars = std::iter::once(&basepoint_weight)
        .chain(&r_weights)
        .chain(&key_weights);
    let points = std::iter::once(&ED25519_BASEPOINT_POINT)
        .chain(batch.iter().map(|signature| &signature.r))
        .chain(&keys);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        .mul_by_cofactor()
        .is_identity()
}

/// Checks one signature.
pub(super) fn verify_one(check: &SignatureCheck<'_>) -> Result<(), CryptoError> {
    let prepared = prepare(check)?;
    if holds(&prepared) {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}

/// Checks many signatures: for each, exactly the verdict [`verify_one`] gives.
pub fn verify_batch(checks: &[SignatureCheck<'_>]) -> Vec<Result<(), CryptoError>> {
    verify_batch_within(checks, usize::MAX)
        .into_iter()
        .map(|verdict| verdict.expect("an unbounded search settles every signature"))
        .collect()
}

/// Checks many signatures, spending at most `split_budget` signature checks on finding the
/// invalid ones once the whole batch's equation fails: each verdict is the one [`verify_one`]
/// gives, or `None` where the budget ran out before that signature was settled.
///
/// The whole batch's equation costs about one check per signature whatever the budget. When
/// it fails, halving down to the invalid signatures costs up to `n log₂ n` checks (every
/// signature invalid); a node admitting strangers' batches bounds that with the budget and
/// refuses what is left unsettled, so a batch crafted to fail costs it a bounded multiple of a
/// valid one. Each sub-batch equation costs its size, each single check
/// [`SINGLE_CHECK_COST`]; the search goes depth first, so what it settles is a prefix of each
/// half it enters.
pub fn verify_batch_within(
    checks: &[SignatureCheck<'_>],
    split_budget: usize,
) -> Vec<Option<Result<(), CryptoError>>> {
    let mut verdicts = vec![None; checks.len()];
    let mut prepared = Vec::with_capacity(checks.len());
    let mut positions = Vec::with_capacity(checks.len());
    for (position, check) in checks.iter().enumerate() {
        match prepare(check) {
            Ok(signature) => {
                prepared.push(signature);
                positions.push(position);
            }
            Err(error) => verdicts[position] = Some(Err(error)),
        }
    }
    if prepared.len() < SINGLE_BELOW {
        // Single checks are this batch's own cost, not a search.
        let mut unbounded = usize::MAX;
        settle(&prepared, &positions, &mut verdicts, &mut unbounded);
        return verdicts;
    }
    if all_hold(&prepared) {
        for &position in &positions {
            verdicts[position] = Some(Ok(()));
        }
        return verdicts;
    }
    let mut budget = split_budget;
    let middle = prepared.len() / 2;
    settle(
        &prepared[..middle],
        &positions[..middle],
        &mut verdicts,
        &mut budget,
    );
    settle(
        &prepared[middle..],
        &positions[middle..],
        &mut verdicts,
        &mut budget,
    );
    verdicts
}

/// Settles the signatures of `batch` (at `positions` in `verdicts`) within `budget`: the
/// whole batch at once when it holds, else each half in turn; what the budget cannot pay for
/// stays `None`.
fn settle(
    batch: &[Prepared],
    positions: &[usize],
    verdicts: &mut [Option<Result<(), CryptoError>>],
    budget: &mut usize,
) {
    if batch.len() < SINGLE_BELOW {
        for (signature, &position) in batch.iter().zip(positions) {
            if *budget < SINGLE_CHECK_COST {
                return;
            }
            *budget -= SINGLE_CHECK_COST;
            verdicts[position] = Some(if holds(signature) {
                Ok(())
            } else {
                Err(CryptoError::BadSignature)
            });
        }
        return;
    }
    if *budget < batch.len() {
        return;
    }
    *budget -= batch.len();
    if all_hold(batch) {
        for &position in positions {
            verdicts[position] = Some(Ok(()));
        }
        return;
    }
    let middle = batch.len() / 2;
    settle(&batch[..middle], &positions[..middle], verdicts, budget);
    settle(&batch[middle..], &positions[middle..], verdicts, budget);
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::constants::EIGHT_TORSION;

    use super::*;
    use crate::crypto::KeyPair;

    /// A key with its secret scalar, to build signatures no honest signer makes.
    struct RawKey {
        secret: Scalar,
        public: PublicKey,
    }

    impl RawKey {
        fn new(label: &str) -> RawKey {
            let secret = Scalar::from_bytes_mod_order(*blake3::hash(label.as_bytes()).as_bytes());
            let public = PublicKey((secret * ED25519_BASEPOINT_POINT).compress().to_bytes());
            RawKey { secret, public }
        }

        /// Signs with nonce `r`, adding `torsion` to R: a valid signature when it is zero.
        fn sign_with(&self, message: &[u8], r: Scalar, torsion: EdwardsPoint) -> Signature {
            let big_r = (r * ED25519_BASEPOINT_POINT + torsion)
                .compress()
                .to_bytes();
            let k = Scalar::from_hash(
                Sha512::new()
                    .chain_update(big_r)
                    .chain_update(self.public.as_bytes())
                    .chain_update(message),
            );
            let s = r + k * self.secret;
            let mut bytes = [0u8; 64];
            bytes[..32].copy_from_slice(&big_r);
            bytes[32..].copy_from_slice(s.as_bytes());
            Signature(bytes)
        }
    }

    fn check<'a>(key: &'a PublicKey, message: &'a [u8], signature: &'a Signature) -> bool {
        verify_one(&SignatureCheck {
            key,
            message,
            signature,
        })
        .is_ok()
    }

    fn strict(key: &PublicKey, message: &[u8], signature: &Signature) -> bool {
        ed25519_dalek::VerifyingKey::from_bytes(key.as_bytes())
            .and_then(|key| {
                key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature.0))
            })
            .is_ok()
    }

    #[test]
    fn honest_signatures_verify_alone_and_in_batches_as_rfc_8032_strict_does() {
        let keys: Vec<KeyPair> = (0..5)
            .map(|i| KeyPair::insecure_from_label(&format!("k{i}")))
            .collect();
        let messages: Vec<Vec<u8>> = (0..40)
            .map(|i| format!("record {i}").into_bytes())
            .collect();
        let signed: Vec<(PublicKey, Signature)> = messages
            .iter()
            .enumerate()
            .map(|(i, message)| {
                let key = &keys[i % keys.len()];
                (key.public(), key.sign(message))
            })
            .collect();
        for ((key, signature), message) in signed.iter().zip(&messages) {
            assert!(check(key, message, signature));
            assert!(strict(key, message, signature));
        }
        let checks: Vec<SignatureCheck<'_>> = signed
            .iter()
            .zip(&messages)
            .map(|((key, signature), message)| SignatureCheck {
                key,
                message,
                signature,
            })
            .collect();
        assert!(verify_batch(&checks).iter().all(Result::is_ok));
    }

    #[test]
    fn each_kind_of_forgery_is_refused_alone() {
        let raw = RawKey::new("forger");
        let message = b"inspection: conformant".as_slice();
        let good = raw.sign_with(message, Scalar::from(7u64), EdwardsPoint::default());
        assert!(check(&raw.public, message, &good));
        assert!(strict(&raw.public, message, &good));

        // Another message.
        assert!(!check(&raw.public, b"inspection: non_conformant", &good));

        // s + ℓ: the same scalar, not canonically encoded.
        let mut s_plus_l = good;
        let l = Scalar::ZERO - Scalar::ONE; // ℓ − 1
        let s = Scalar::from_canonical_bytes(good.0[32..].try_into().unwrap()).unwrap();
        let mut wide = [0u8; 32];
        let mut carry = 1u16; // ℓ = (ℓ − 1) + 1, added byte by byte to s
        for ((out, &a), &b) in wide.iter_mut().zip(s.as_bytes()).zip(l.as_bytes()) {
            let sum = u16::from(a) + u16::from(b) + carry;
            *out = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0, "s + ℓ fits in 256 bits for this s");
        s_plus_l.0[32..].copy_from_slice(&wide);
        assert!(!check(&raw.public, message, &s_plus_l));

        // R not on the curve.
        let mut not_a_point = good;
        not_a_point.0[..32].copy_from_slice(&[2; 32]);
        if CompressedEdwardsY([2; 32]).decompress().is_none() {
            assert!(!check(&raw.public, message, &not_a_point));
        }

        // R of small order, with s chosen so that the equation holds.
        for torsion in EIGHT_TORSION {
            let k = Scalar::from_hash(
                Sha512::new()
                    .chain_update(torsion.compress().as_bytes())
                    .chain_update(raw.public.as_bytes())
                    .chain_update(message),
            );
            let mut forged = [0u8; 64];
            forged[..32].copy_from_slice(torsion.compress().as_bytes());
            forged[32..].copy_from_slice((k * raw.secret).as_bytes());
            assert!(!check(&raw.public, message, &Signature(forged)));
        }

        // A small-order key, which "signs" anything: R = [s]B satisfies the equation.
        for torsion in EIGHT_TORSION {
            let weak = PublicKey::from_bytes(torsion.compress().to_bytes()).unwrap();
            let s = Scalar::from(99u64);
            let mut forged = [0u8; 64];
            forged[..32].copy_from_slice((s * ED25519_BASEPOINT_POINT).compress().as_bytes());
            forged[32..].copy_from_slice(s.as_bytes());
            assert!(!check(&weak, message, &Signature(forged)));
        }
    }

    #[test]
    fn non_canonical_point_encodings_are_not_points() {
        // y = p + 1 names the identity's y non-canonically; the curve library would accept it.
        let mut encoding = [0xff; 32];
        encoding[0] = 0xee;
        encoding[31] = 0x7f;
        assert!(CompressedEdwardsY(encoding).decompress().is_some());
        assert!(decode_point(&encoding).is_none());
        assert_eq!(
            PublicKey::from_bytes(encoding),
            Err(CryptoError::BadPublicKey)
        );
        // The canonical encodings just below the prime still decode when they are points.
        let mut below = [0xff; 32];
        below[0] = 0xec;
        below[31] = 0x7f;
        assert!(!non_canonical_y(&below));
    }

    /// A signature whose R carries a small-order component fails RFC 8032's cofactorless check
    /// but meets the cofactored one. The verdict must not depend on which batch it is in.
    #[test]
    fn a_torsioned_r_gets_one_verdict_alone_and_in_every_batch() {
        let raw = RawKey::new("torsion");
        let honest = KeyPair::insecure_from_label("honest");
        let messages: Vec<Vec<u8>> = (0..64).map(|i| format!("m{i}").into_bytes()).collect();
        for torsion in EIGHT_TORSION.iter().skip(1) {
            let odd = raw.sign_with(&messages[0], Scalar::from(11u64), *torsion);
            assert!(check(&raw.public, &messages[0], &odd));
            assert!(!strict(&raw.public, &messages[0], &odd));
            for size in [4, 5, 16, 63] {
                let signatures: Vec<Signature> = messages[1..size]
                    .iter()
                    .map(|message| honest.sign(message))
                    .collect();
                let honest_key = honest.public();
                let mut checks = vec![SignatureCheck {
                    key: &raw.public,
                    message: &messages[0],
                    signature: &odd,
                }];
                checks.extend(signatures.iter().zip(&messages[1..size]).map(
                    |(signature, message)| SignatureCheck {
                        key: &honest_key,
                        message,
                        signature,
                    },
                ));
                assert!(verify_batch(&checks).iter().all(Result::is_ok));
            }
        }
    }

    /// `s + ℓ` as 32 little-endian bytes: the same scalar, not canonically encoded.
    fn plus_group_order(s: &[u8]) -> [u8; 32] {
        const ORDER: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut sum = [0u8; 32];
        let mut carry = 0u16;
        for i in 0..32 {
            let total = u16::from(s[i]) + u16::from(ORDER[i]) + carry;
            sum[i] = total as u8;
            carry = total >> 8;
        }
        sum
    }

    /// A third party holding a valid signature cannot turn it into another valid one over the
    /// same message: a small-order point added to (or taken from) `R` changes `k`, and `s + ℓ`
    /// is refused as non-canonical; alone and in a batch. (The signer can, with its secret.)
    #[test]
    fn a_third_party_cannot_alter_a_valid_signature() {
        let raw = RawKey::new("alter");
        let message = b"one record".as_slice();
        let honest = raw.sign_with(message, Scalar::from(7u64), EdwardsPoint::default());
        let torsioned = raw.sign_with(message, Scalar::from(9u64), EIGHT_TORSION[3]);
        // The second was made by the signer with a small-order point in `R`: taking it out (one
        // of the points added below) is an alteration too.
        for signature in [honest, torsioned] {
            assert!(check(&raw.public, message, &signature));
            let r = CompressedEdwardsY(signature.0[..32].try_into().unwrap())
                .decompress()
                .unwrap();
            for torsion in EIGHT_TORSION.iter().skip(1) {
                let mut altered = signature;
                altered.0[..32].copy_from_slice(&(r + torsion).compress().to_bytes());
                assert!(
                    !check(&raw.public, message, &altered),
                    "R plus a torsion point"
                );
                let checks = [SignatureCheck {
                    key: &raw.public,
                    message,
                    signature: &altered,
                }; 5];
                assert!(verify_batch(&checks).iter().all(Result::is_err));
            }
            let mut altered = signature;
            let s = plus_group_order(&signature.0[32..]);
            altered.0[32..].copy_from_slice(&s);
            assert!(
                !check(&raw.public, message, &altered),
                "s plus the group order"
            );
        }
        // The signer can: a second valid signature over the same message, from another nonce.
        let other = raw.sign_with(message, Scalar::from(8u64), EdwardsPoint::default());
        assert_ne!(other.0, honest.0);
        assert!(check(&raw.public, message, &other));
    }

    #[test]
    fn batches_give_each_signature_its_own_verdict() {
        let keys: Vec<RawKey> = (0..3).map(|i| RawKey::new(&format!("b{i}"))).collect();
        let messages: Vec<Vec<u8>> = (0..97).map(|i| format!("b{i}").into_bytes()).collect();
        // Every size up to 97, with forgeries at positions that depend on the size.
        for size in 1..=messages.len() {
            let signatures: Vec<Signature> = (0..size)
                .map(|i| {
                    let key = &keys[i % keys.len()];
                    let mut signature = key.sign_with(
                        &messages[i],
                        Scalar::from(1000 + i as u64),
                        EdwardsPoint::default(),
                    );
                    if (i * 7 + size) % 11 == 0 {
                        signature.0[40] ^= 1;
                    }
                    signature
                })
                .collect();
            let checks: Vec<SignatureCheck<'_>> = (0..size)
                .map(|i| SignatureCheck {
                    key: &keys[i % keys.len()].public,
                    message: &messages[i],
                    signature: &signatures[i],
                })
                .collect();
            let alone: Vec<Result<(), CryptoError>> = checks.iter().map(verify_one).collect();
            assert_eq!(verify_batch(&checks), alone, "size {size}");
            let forged = (0..size).filter(|i| (i * 7 + size) % 11 == 0).count();
            assert_eq!(alone.iter().filter(|v| v.is_err()).count(), forged);
        }
    }

    /// Signatures over other messages: well-formed, so only the group equations refuse them.
    fn crafted(
        count: usize,
        bad: impl Fn(usize) -> bool,
    ) -> (RawKey, Vec<Vec<u8>>, Vec<Signature>) {
        let key = RawKey::new("crafted");
        let messages: Vec<Vec<u8>> = (0..count).map(|i| format!("c{i}").into_bytes()).collect();
        let signatures = (0..count)
            .map(|i| {
                let signed: &[u8] = if bad(i) {
                    b"another message"
                } else {
                    &messages[i]
                };
                key.sign_with(
                    signed,
                    Scalar::from(5000 + i as u64),
                    EdwardsPoint::default(),
                )
            })
            .collect();
        (key, messages, signatures)
    }

    #[test]
    fn a_bounded_search_settles_what_it_can_pay_for_and_no_more() {
        let every = |_| true;
        let (key, messages, signatures) = crafted(64, every);
        let checks: Vec<SignatureCheck<'_>> = messages
            .iter()
            .zip(&signatures)
            .map(|(message, signature)| SignatureCheck {
                key: &key.public,
                message,
                signature,
            })
            .collect();
        // Nothing to spend: the failed whole-batch equation settles nothing.
        assert!(verify_batch_within(&checks, 0).iter().all(Option::is_none));
        // Some budget: whatever is settled is settled right, and the rest is left.
        let some = verify_batch_within(&checks, 100);
        let settled = some.iter().filter(|verdict| verdict.is_some()).count();
        assert!(settled > 0 && settled < 64, "{settled}");
        assert!(some.iter().flatten().all(Result::is_err));
        // Unbounded: every verdict, as alone.
        let all = verify_batch_within(&checks, usize::MAX);
        assert!(
            all.iter()
                .all(|verdict| verdict == &Some(Err(CryptoError::BadSignature)))
        );

        // One forgery among 64 is found within three times the batch's size.
        let (key, messages, signatures) = crafted(64, |i| i == 41);
        let checks: Vec<SignatureCheck<'_>> = messages
            .iter()
            .zip(&signatures)
            .map(|(message, signature)| SignatureCheck {
                key: &key.public,
                message,
                signature,
            })
            .collect();
        let verdicts = verify_batch_within(&checks, 3 * 64);
        let alone: Vec<Option<Result<(), CryptoError>>> =
            checks.iter().map(|check| Some(verify_one(check))).collect();
        assert_eq!(verdicts, alone);
        // A batch that holds needs no budget.
        let (key, messages, signatures) = crafted(64, |_| false);
        let checks: Vec<SignatureCheck<'_>> = messages
            .iter()
            .zip(&signatures)
            .map(|(message, signature)| SignatureCheck {
                key: &key.public,
                message,
                signature,
            })
            .collect();
        assert!(
            verify_batch_within(&checks, 0)
                .iter()
                .all(|v| v == &Some(Ok(())))
        );
    }
}
