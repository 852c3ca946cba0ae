//! Encode and decode consensus messages in a small canonical binary format with bounded reads.
//!
//! All integers are big-endian; there is exactly one encoding of every message, and the decoder
//! refuses anything else (unknown tags, trailing bytes, unsorted or repeated signers), so the
//! bytes of a vote or certificate can be hashed and stored as they came.
//!
//! ```text
//! Message     := version:u8 (= 1) tag:u8 body          (whole message <= MAX_MESSAGE_BYTES)
//!   tag 1 Vote        body = SignedVote
//!   tag 2 Certificate body = Certificate
//!   tag 3 Request     body = view:u64                  (ask a peer for its certificates of a view)
//! SignedVote  := VoteBody signer:u16 signature:[64]
//! Certificate := VoteBody count:u16 (signer:u16 signature:[64]){count}
//!                  1 <= count <= MAX_VALIDATORS, signers strictly ascending
//! VoteBody    := kind:u8 chain_id:[32] view:u64 [BlockTail]
//!   kind 1 notarize, 2 nullify, 3 finalize; BlockTail present for kinds 1 and 3 only
//! BlockTail   := height:u64 parent_view:u64 parent_digest:[32] digest:[32]
//!                  view >= 1, height >= 1, parent_view < view
//! ```
//!
//! A signature covers `domain(kind) || VoteBody` (see [`signing_bytes`](crate::signing_bytes)).
//! Golden vectors: `src/testdata/wire_vectors.txt`.

use ed25519_dalek::Signature;

use crate::error::DecodeError;
use crate::limits::{MAX_MESSAGE_BYTES, MAX_VALIDATORS};
use crate::types::{Block, ChainId, Digest, Height, ValidatorIndex, View};
use crate::vote::{Certificate, SignedVote, Vote};

/// The wire format version this crate speaks.
pub const WIRE_VERSION: u8 = 1;

const TAG_VOTE: u8 = 1;
const TAG_CERTIFICATE: u8 = 2;
const TAG_REQUEST: u8 = 3;

const KIND_NOTARIZE: u8 = 1;
const KIND_NULLIFY: u8 = 2;
const KIND_FINALIZE: u8 = 3;

/// A message between validators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// One validator's signed vote (a leader's notarize is its proposal).
    Vote(SignedVote),
    /// A notarization, nullification or finalization.
    Certificate(Certificate),
    /// Ask the receiver for the certificates it holds for a view (sync).
    Request(View),
}

impl Message {
    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(256);
        w.u8(WIRE_VERSION);
        match self {
            Message::Vote(sv) => {
                w.u8(TAG_VOTE);
                encode_signed_vote(&mut w, sv);
            }
            Message::Certificate(c) => {
                w.u8(TAG_CERTIFICATE);
                encode_certificate(&mut w, c);
            }
            Message::Request(view) => {
                w.u8(TAG_REQUEST);
                w.u64(view.0);
            }
        }
        w.finish()
    }

    /// Decode one message, refusing anything oversize, truncated, trailing or non-canonical.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let mut r = Reader::new(bytes)?;
        let version = r.u8()?;
        if version != WIRE_VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let msg = match r.u8()? {
            TAG_VOTE => Message::Vote(decode_signed_vote(&mut r)?),
            TAG_CERTIFICATE => Message::Certificate(decode_certificate(&mut r)?),
            TAG_REQUEST => Message::Request(View(r.u64()?)),
            tag => return Err(DecodeError::UnknownTag(tag)),
        };
        r.end()?;
        Ok(msg)
    }
}

impl SignedVote {
    /// The canonical encoding (also how a write-ahead log should store it).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(200);
        encode_signed_vote(&mut w, self);
        w.finish()
    }

    /// Decode what [`SignedVote::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<SignedVote, DecodeError> {
        let mut r = Reader::new(bytes)?;
        let sv = decode_signed_vote(&mut r)?;
        r.end()?;
        Ok(sv)
    }
}

impl Certificate {
    /// The canonical encoding (also how storage should keep it).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(128 + 66 * self.signers().len());
        encode_certificate(&mut w, self);
        w.finish()
    }

    /// Decode what [`Certificate::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Certificate, DecodeError> {
        let mut r = Reader::new(bytes)?;
        let c = decode_certificate(&mut r)?;
        r.end()?;
        Ok(c)
    }
}

pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn with_capacity(capacity: usize) -> Writer {
        Writer {
            buf: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Result<Reader<'a>, DecodeError> {
        if buf.len() > MAX_MESSAGE_BYTES {
            return Err(DecodeError::Oversize {
                len: buf.len(),
                max: MAX_MESSAGE_BYTES,
            });
        }
        Ok(Reader { buf, pos: 0 })
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let end = self.pos.checked_add(N).filter(|&e| e <= self.buf.len());
        let end = end.ok_or(DecodeError::Truncated { at: self.pos })?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.pos..end]);
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.take()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.take()?))
    }

    fn end(&self) -> Result<(), DecodeError> {
        match self.buf.len() - self.pos {
            0 => Ok(()),
            count => Err(DecodeError::Trailing { count }),
        }
    }
}

pub(crate) fn encode_vote_body(w: &mut Writer, chain: &ChainId, vote: &Vote) {
    let kind = match vote {
        Vote::Notarize(_) => KIND_NOTARIZE,
        Vote::Nullify(_) => KIND_NULLIFY,
        Vote::Finalize(_) => KIND_FINALIZE,
    };
    w.u8(kind);
    w.bytes(&chain.0);
    w.u64(vote.view().0);
    if let Some(b) = vote.block() {
        w.u64(b.height().0);
        w.u64(b.parent_view().0);
        w.bytes(&b.parent().0);
        w.bytes(&b.digest().0);
    }
}

fn decode_vote_body(r: &mut Reader<'_>) -> Result<(ChainId, Vote), DecodeError> {
    let kind = r.u8()?;
    let chain = ChainId(r.take()?);
    let view = View(r.u64()?);
    let vote = match kind {
        KIND_NULLIFY => Vote::Nullify(view),
        KIND_NOTARIZE | KIND_FINALIZE => {
            let height = Height(r.u64()?);
            let parent_view = View(r.u64()?);
            let parent = Digest(r.take()?);
            let digest = Digest(r.take()?);
            let block = Block::new(view, height, parent_view, parent, digest)?;
            if kind == KIND_NOTARIZE {
                Vote::Notarize(block)
            } else {
                Vote::Finalize(block)
            }
        }
        other => return Err(DecodeError::UnknownKind(other)),
    };
    Ok((chain, vote))
}

fn encode_signed_vote(w: &mut Writer, sv: &SignedVote) {
    encode_vote_body(w, &sv.chain, &sv.vote);
    w.u16(sv.signer.0);
    w.bytes(&sv.signature.to_bytes());
}

fn decode_signed_vote(r: &mut Reader<'_>) -> Result<SignedVote, DecodeError> {
    let (chain, vote) = decode_vote_body(r)?;
    let signer = ValidatorIndex(r.u16()?);
    let signature = Signature::from_bytes(&r.take()?);
    Ok(SignedVote {
        chain,
        vote,
        signer,
        signature,
    })
}

fn encode_certificate(w: &mut Writer, c: &Certificate) {
    encode_vote_body(w, c.chain(), c.vote());
    // Certificate::new bounds the count by MAX_VALIDATORS (< u16::MAX).
    w.u16(c.signers().len() as u16);
    for (signer, signature) in c.signers() {
        w.u16(signer.0);
        w.bytes(&signature.to_bytes());
    }
}

fn decode_certificate(r: &mut Reader<'_>) -> Result<Certificate, DecodeError> {
    let (chain, vote) = decode_vote_body(r)?;
    let count = usize::from(r.u16()?);
    if count == 0 || count > MAX_VALIDATORS {
        return Err(DecodeError::SignerCount(count));
    }
    // The count is bounded above, so this allocation is too.
    let mut signers = Vec::with_capacity(count);
    for _ in 0..count {
        let signer = ValidatorIndex(r.u16()?);
        let signature = Signature::from_bytes(&r.take()?);
        signers.push((signer, signature));
    }
    Certificate::new(chain, vote, signers).map_err(|_| DecodeError::SignersNotAscending)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    use super::*;
    use crate::vote::signing_bytes;

    const GOLDEN: &str = include_str!("testdata/wire_vectors.txt");

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn block() -> Block {
        Block::new(
            View(7),
            Height(5),
            View(6),
            Digest([2; 32]),
            Digest([3; 32]),
        )
        .unwrap()
    }

    /// The named messages the golden file pins, built from fixed keys (ed25519 signing is
    /// deterministic).
    fn vectors() -> Vec<(&'static str, Vec<u8>)> {
        let chain = ChainId([1; 32]);
        let vote =
            |v: Vote, i: u8| SignedVote::sign(chain, v, ValidatorIndex(u16::from(i)), &key(i));
        let signers = (0..3u8)
            .map(|i| {
                (
                    ValidatorIndex(u16::from(i)),
                    vote(Vote::Finalize(block()), i).signature,
                )
            })
            .collect();
        let cert = Certificate::new(chain, Vote::Finalize(block()), signers).unwrap();
        vec![
            (
                "signing_bytes_notarize",
                signing_bytes(&chain, &Vote::Notarize(block())),
            ),
            (
                "signing_bytes_nullify",
                signing_bytes(&chain, &Vote::Nullify(View(8))),
            ),
            (
                "vote_notarize",
                Message::Vote(vote(Vote::Notarize(block()), 2)).encode(),
            ),
            (
                "vote_nullify",
                Message::Vote(vote(Vote::Nullify(View(8)), 1)).encode(),
            ),
            (
                "vote_finalize",
                Message::Vote(vote(Vote::Finalize(block()), 0)).encode(),
            ),
            (
                "certificate_finalization",
                Message::Certificate(cert).encode(),
            ),
            ("request", Message::Request(View(9)).encode()),
        ]
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The wire format changes only on purpose: regenerate with `SUYUAN_BLESS=1` and review.
    #[test]
    fn golden_vectors_match() {
        let expected: String = vectors()
            .iter()
            .map(|(name, bytes)| format!("{name} {}\n", hex(bytes)))
            .collect();
        if std::env::var_os("SUYUAN_BLESS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/testdata/wire_vectors.txt");
            std::fs::write(path, &expected).unwrap();
            return;
        }
        for (want, got) in GOLDEN.lines().zip(expected.lines()) {
            assert_eq!(want, got, "wire format changed");
        }
        assert_eq!(GOLDEN.lines().count(), expected.lines().count());
    }

    #[test]
    fn vectors_round_trip() {
        for (name, bytes) in vectors()
            .into_iter()
            .filter(|(n, _)| !n.starts_with("signing"))
        {
            let msg = Message::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(msg.encode(), bytes, "{name}");
        }
    }

    #[test]
    fn every_truncation_is_refused() {
        for (_, bytes) in vectors()
            .into_iter()
            .filter(|(n, _)| !n.starts_with("signing"))
        {
            for len in 0..bytes.len() {
                assert!(matches!(
                    Message::decode(&bytes[..len]),
                    Err(DecodeError::Truncated { .. })
                ));
            }
        }
    }

    #[test]
    fn non_canonical_input_is_refused() {
        let vote = vectors()[2].1.clone();
        let mut trailing = vote.clone();
        trailing.push(0);
        assert_eq!(
            Message::decode(&trailing),
            Err(DecodeError::Trailing { count: 1 })
        );
        let mut version = vote.clone();
        version[0] = 2;
        assert_eq!(
            Message::decode(&version),
            Err(DecodeError::UnknownVersion(2))
        );
        let mut tag = vote.clone();
        tag[1] = 9;
        assert_eq!(Message::decode(&tag), Err(DecodeError::UnknownTag(9)));
        let mut kind = vote.clone();
        kind[2] = 4;
        assert_eq!(Message::decode(&kind), Err(DecodeError::UnknownKind(4)));
        // parent view (bytes 51..59) set equal to the view 7
        let mut parent = vote.clone();
        parent[51..59].copy_from_slice(&7u64.to_be_bytes());
        assert!(matches!(
            Message::decode(&parent),
            Err(DecodeError::Block(_))
        ));
        let oversize = vec![0u8; MAX_MESSAGE_BYTES + 1];
        assert!(matches!(
            Message::decode(&oversize),
            Err(DecodeError::Oversize { .. })
        ));
    }

    #[test]
    fn certificate_signer_rules_are_enforced() {
        let cert = vectors()[5].1.clone();
        // count field sits after version, tag and the 121-byte vote body
        let count_at = 2 + 121;
        let mut zero = cert[..count_at].to_vec();
        zero.extend_from_slice(&0u16.to_be_bytes());
        assert_eq!(Message::decode(&zero), Err(DecodeError::SignerCount(0)));
        let mut huge = cert[..count_at].to_vec();
        huge.extend_from_slice(&(MAX_VALIDATORS as u16 + 1).to_be_bytes());
        assert_eq!(
            Message::decode(&huge),
            Err(DecodeError::SignerCount(MAX_VALIDATORS + 1))
        );
        // second signer index equal to the first
        let mut repeated = cert.clone();
        let second = count_at + 2 + 66;
        repeated[second..second + 2].copy_from_slice(&0u16.to_be_bytes());
        assert_eq!(
            Message::decode(&repeated),
            Err(DecodeError::SignersNotAscending)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_decode_canonically(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(msg) = Message::decode(&bytes) {
                prop_assert_eq!(msg.encode(), bytes);
            }
        }

        #[test]
        fn mutated_vectors_decode_canonically_or_not_at_all(which in 0usize..5, at in any::<usize>(), bit in 0u8..8) {
            let mut bytes = vectors()[2 + which].1.clone();
            let i = at % bytes.len();
            bytes[i] ^= 1 << bit;
            if let Ok(msg) = Message::decode(&bytes) {
                prop_assert_eq!(msg.encode(), bytes);
            }
        }
    }
}
