//! Lay out the database: column family names, key encodings and the checksummed value frame.
//!
//! This module is the on-disk format and nothing else; `README.md` of this crate describes the
//! same layout for auditors, and the golden vectors in the tests below pin it: they change only
//! with [`SCHEMA_VERSION`].
//!
//! Every value in every column family is *sealed*: an 8-byte checksum, then the payload. The
//! checksum is the first 8 bytes of `hash_parts("suyuan storage value v1", [cf, key, payload])`
//! (BLAKE3, see [`suyuan_ledger::hash::hash_parts`]), so a flipped bit in a value, or a value
//! moved under another key or into another column family, is reported as corruption instead of
//! being served. RocksDB's own block checksums guard the files underneath.

use suyuan_ledger::block::BlockHash;
use suyuan_ledger::hash::{Hash32, hash_parts};
use suyuan_ledger::merkle::log::NodeId;
use suyuan_ledger::merkle::map::NodePosition;
use suyuan_ledger::state::TxLocation;
use suyuan_ledger::tx::TxId;

use crate::error::StorageError;

/// The on-disk format version; opening a database of another version is refused.
///
/// Version 2 added the Merkle tree families [`cf::LOG_NODES`], [`cf::MAP_NODES`] and
/// [`cf::LOG_SIZES`]; version 3 put the trees' roots in block headers (header version 2);
/// version 4 added the certificate index [`cf::CERTIFICATE_RECORDS`].
pub const SCHEMA_VERSION: u32 = 4;

/// The one older version `Store::open` upgrades instead of refusing: version 3 lacks only the
/// certificate index, which the stored blocks give back.
pub const UPGRADABLE_VERSION: u32 = 3;

/// Column family names.
pub mod cf {
    /// Schema version, chain id, genesis hash, head, counts, WAL floor.
    pub const META: &str = "meta";
    /// Height → block hash and canonical header bytes.
    pub const HEADERS: &str = "headers";
    /// Height and index → canonical envelope bytes: the block bodies, one entry per transaction.
    pub const BLOCK_TXS: &str = "block_txs";
    /// Block hash → height.
    pub const BLOCK_HASHES: &str = "block_hashes";
    /// Height → the block's justification (its certificate and the nullifications of the views
    /// it skipped), opaque bytes. The family keeps its first name on disk: names are part of
    /// the stored format and of every value's seal.
    pub const JUSTIFICATIONS: &str = "certificates";
    /// Transaction id → height and index.
    pub const TXS: &str = "txs";
    /// Code → the latest record naming it: height, index, transaction id.
    pub const CODE_LATEST: &str = "code_latest";
    /// Code, height, index → nothing: every record naming a code, in chain order.
    pub const CODE_HISTORY: &str = "code_history";
    /// GTIN, height, index → nothing: every record naming a product model.
    pub const MODEL_HISTORY: &str = "model_history";
    /// USCC, height, index → nothing: every record naming an enterprise.
    pub const ENTERPRISE_RECORDS: &str = "enterprise_records";
    /// CCC certificate number, height, index → nothing: every record naming a certificate (a
    /// model certified under it, a profile listing it).
    pub const CERTIFICATE_RECORDS: &str = "certificate_records";
    /// `StateKey::to_bytes` → `StateValue::to_bytes`: the committed ledger state.
    pub const STATE: &str = "state";
    /// Sequence number → opaque consensus record (the node's own votes).
    pub const WAL: &str = "wal";
    /// `NodeId::to_bytes` (level u8, index u64 BE) → 32-byte hash: every perfect node of the
    /// record log (`suyuan_ledger::merkle::log`), written once, never changed.
    pub const LOG_NODES: &str = "log_nodes";
    /// `NodePosition::storage_key` (depth u16 BE, prefix 32 bytes, version u64 BE) →
    /// `MapNode::to_bytes` (65 bytes): every version's nodes of the code map
    /// (`suyuan_ledger::merkle::map`); the version is the block height. Never overwritten.
    pub const MAP_NODES: &str = "map_nodes";
    /// Height → log size (u64 BE): leaves in the record log once that block is committed.
    pub const LOG_SIZES: &str = "log_sizes";
}

/// Every column family, in the order they are opened.
pub const COLUMN_FAMILIES: [&str; 16] = [
    cf::META,
    cf::HEADERS,
    cf::BLOCK_TXS,
    cf::BLOCK_HASHES,
    cf::JUSTIFICATIONS,
    cf::TXS,
    cf::CODE_LATEST,
    cf::CODE_HISTORY,
    cf::MODEL_HISTORY,
    cf::ENTERPRISE_RECORDS,
    cf::STATE,
    cf::WAL,
    cf::LOG_NODES,
    cf::MAP_NODES,
    cf::LOG_SIZES,
    cf::CERTIFICATE_RECORDS,
];

/// Keys of the `meta` column family.
pub(crate) mod meta {
    /// u32 big-endian.
    pub(crate) const SCHEMA_VERSION: &[u8] = b"schema_version";
    /// UTF-8 chain id.
    pub(crate) const CHAIN_ID: &[u8] = b"chain_id";
    /// 32 bytes.
    pub(crate) const GENESIS_HASH: &[u8] = b"genesis_hash";
    /// Height (u64 BE) and block hash (32 bytes); height 0 and the genesis hash when empty.
    pub(crate) const HEAD: &[u8] = b"head";
    /// Transactions, distinct codes, enrolled enterprises: three u64 BE.
    pub(crate) const COUNTS: &[u8] = b"counts";
    /// The lowest WAL sequence number still kept (u64 BE); absent until the first truncation.
    pub(crate) const WAL_FLOOR: &[u8] = b"wal_floor";
}

/// Bytes of the checksum at the start of every sealed value.
pub const CHECKSUM_BYTES: usize = 8;

/// Byte that ends the text part of an index key; no canonical code, GTIN or USCC contains it.
pub(crate) const TEXT_END: u8 = 0;

/// Bytes of an encoded [`TxLocation`]: height u64 BE, index u32 BE.
pub(crate) const POSITION_BYTES: usize = 12;

fn checksum(cf: &str, key: &[u8], payload: &[u8]) -> [u8; CHECKSUM_BYTES] {
    let digest = hash_parts("suyuan storage value v1", &[cf.as_bytes(), key, payload]);
    let mut out = [0u8; CHECKSUM_BYTES];
    out.copy_from_slice(&digest.as_bytes()[..CHECKSUM_BYTES]);
    out
}

/// The stored form of `payload` under `key` in `cf`: checksum, then payload. Public for
/// auditors' tools, which read and (in tests) forge values.
pub fn seal(cf: &str, key: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(CHECKSUM_BYTES + payload.len());
    out.extend_from_slice(&checksum(cf, key, payload));
    out.extend_from_slice(payload);
    out
}

/// The payload of a sealed value, if its checksum holds.
pub fn unseal<'a>(cf: &'static str, key: &[u8], value: &'a [u8]) -> Result<&'a [u8], StorageError> {
    if value.len() < CHECKSUM_BYTES {
        return Err(corrupt(
            cf,
            key,
            format!("value is {} bytes, shorter than its checksum", value.len()),
        ));
    }
    let (stored, payload) = value.split_at(CHECKSUM_BYTES);
    if stored != checksum(cf, key, payload) {
        return Err(corrupt(cf, key, "checksum does not match the value".into()));
    }
    Ok(payload)
}

/// A corruption error for `key` in `cf`, with the key printed for people.
pub(crate) fn corrupt(cf: &'static str, key: &[u8], reason: String) -> StorageError {
    StorageError::Corrupt {
        what: cf,
        key: describe_key(cf, key),
        reason,
    }
}

/// A key printed the way its column family encodes it.
pub(crate) fn describe_key(cf: &str, key: &[u8]) -> String {
    let text_and_position = |key: &[u8]| match key.iter().position(|&b| b == TEXT_END) {
        Some(end) => match decode_position(&key[end + 1..]) {
            Some(at) => format!(
                "{} at height {} index {}",
                String::from_utf8_lossy(&key[..end]),
                at.height,
                at.index
            ),
            None => format!("0x{}", hex(key)),
        },
        None => format!("0x{}", hex(key)),
    };
    match cf {
        cf::HEADERS | cf::JUSTIFICATIONS | cf::LOG_SIZES => match decode_u64(key) {
            Some(height) => format!("height {height}"),
            None => format!("0x{}", hex(key)),
        },
        cf::BLOCK_TXS => match decode_position(key) {
            Some(at) => format!("height {} index {}", at.height, at.index),
            None => format!("0x{}", hex(key)),
        },
        cf::WAL => match decode_u64(key) {
            Some(seq) => format!("seq {seq}"),
            None => format!("0x{}", hex(key)),
        },
        cf::BLOCK_HASHES | cf::TXS => hex(key),
        cf::LOG_NODES => match NodeId::from_bytes(key) {
            Ok(id) => id.to_string(),
            Err(_) => format!("0x{}", hex(key)),
        },
        cf::MAP_NODES => match map_node_key(key) {
            Some((position, version)) => format!("{position} version {version}"),
            None => format!("0x{}", hex(key)),
        },
        cf::META | cf::CODE_LATEST => String::from_utf8_lossy(key).into_owned(),
        cf::CODE_HISTORY | cf::MODEL_HISTORY | cf::ENTERPRISE_RECORDS | cf::CERTIFICATE_RECORDS => {
            text_and_position(key)
        }
        _ => format!("0x{}", hex(key)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A height key: u64 big-endian, so that keys sort by height.
pub(crate) fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

/// A position key or value: height u64 BE, then index u32 BE.
pub(crate) fn position_key(at: TxLocation) -> [u8; POSITION_BYTES] {
    let mut out = [0u8; POSITION_BYTES];
    out[..8].copy_from_slice(&at.height.to_be_bytes());
    out[8..].copy_from_slice(&at.index.to_be_bytes());
    out
}

/// The first key of block `height` in [`cf::BLOCK_TXS`].
pub(crate) fn block_txs_prefix(height: u64) -> [u8; 8] {
    height_key(height)
}

/// An index key: the text, [`TEXT_END`], then the position.
pub(crate) fn text_position_key(text: &str, at: TxLocation) -> Vec<u8> {
    let mut out = text_prefix(text);
    out.extend_from_slice(&position_key(at));
    out
}

/// Every index key of `text` starts with this.
pub(crate) fn text_prefix(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 1 + POSITION_BYTES);
    out.extend_from_slice(text.as_bytes());
    out.push(TEXT_END);
    out
}

/// Splits an index key into its text and position.
pub(crate) fn split_text_position(key: &[u8]) -> Option<(&str, TxLocation)> {
    if key.len() < POSITION_BYTES + 1 {
        return None;
    }
    let (text, position) = key.split_at(key.len() - POSITION_BYTES);
    let text = text.strip_suffix(&[TEXT_END])?;
    if text.contains(&TEXT_END) {
        return None;
    }
    Some((std::str::from_utf8(text).ok()?, decode_position(position)?))
}

/// Decodes a u64 big-endian of exactly 8 bytes.
pub(crate) fn decode_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// Decodes a position of exactly 12 bytes.
pub(crate) fn decode_position(bytes: &[u8]) -> Option<TxLocation> {
    if bytes.len() != POSITION_BYTES {
        return None;
    }
    let height = decode_u64(&bytes[..8])?;
    let index = u32::from_be_bytes(bytes[8..].try_into().ok()?);
    Some(TxLocation { height, index })
}

/// Decodes exactly 32 bytes as a hash.
pub(crate) fn decode_hash(bytes: &[u8]) -> Option<Hash32> {
    Some(Hash32(bytes.try_into().ok()?))
}

/// The [`cf::HEADERS`] payload: the block hash, then the canonical header bytes.
pub(crate) fn header_value(hash: &BlockHash, header_bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + header_bytes.len());
    out.extend_from_slice(hash.as_bytes());
    out.extend_from_slice(header_bytes);
    out
}

/// The [`cf::CODE_LATEST`] payload: position, then transaction id.
pub(crate) fn latest_value(at: TxLocation, id: &TxId) -> [u8; POSITION_BYTES + 32] {
    let mut out = [0u8; POSITION_BYTES + 32];
    out[..POSITION_BYTES].copy_from_slice(&position_key(at));
    out[POSITION_BYTES..].copy_from_slice(id.as_bytes());
    out
}

/// Decodes a [`latest_value`].
pub(crate) fn decode_latest(bytes: &[u8]) -> Option<(TxLocation, TxId)> {
    if bytes.len() != POSITION_BYTES + 32 {
        return None;
    }
    Some((
        decode_position(&bytes[..POSITION_BYTES])?,
        decode_hash(&bytes[POSITION_BYTES..])?,
    ))
}

/// The [`meta::HEAD`] payload: height, then hash.
pub(crate) fn head_value(height: u64, hash: &BlockHash) -> [u8; 40] {
    let mut out = [0u8; 40];
    out[..8].copy_from_slice(&height.to_be_bytes());
    out[8..].copy_from_slice(hash.as_bytes());
    out
}

/// Decodes a [`head_value`].
pub(crate) fn decode_head(bytes: &[u8]) -> Option<(u64, BlockHash)> {
    if bytes.len() != 40 {
        return None;
    }
    Some((decode_u64(&bytes[..8])?, decode_hash(&bytes[8..])?))
}

/// Splits a [`cf::MAP_NODES`] key into its position and version.
pub(crate) fn map_node_key(key: &[u8]) -> Option<(NodePosition, u64)> {
    if key.len() != MAP_POSITION_BYTES + 8 {
        return None;
    }
    let (position, version) = key.split_at(MAP_POSITION_BYTES);
    Some((
        NodePosition::from_bytes(position).ok()?,
        decode_u64(version)?,
    ))
}

/// Bytes of `NodePosition::to_bytes`, the part of a [`cf::MAP_NODES`] key before the version.
pub(crate) const MAP_POSITION_BYTES: usize = 34;

/// The smallest key greater than every key that starts with `prefix`, if there is one.
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden vectors: these bytes are the format. Change them only with `SCHEMA_VERSION`.
    #[test]
    fn key_and_value_layouts_are_pinned() {
        let at = TxLocation {
            height: 0x0102,
            index: 7,
        };
        assert_eq!(height_key(258), [0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(position_key(at), [0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 7]);
        assert_eq!(
            text_position_key("01/09520123456788/10/L1", at),
            b"01/09520123456788/10/L1\0\0\0\0\0\0\0\x01\x02\0\0\0\x07".to_vec()
        );
        assert_eq!(
            seal(cf::HEADERS, &height_key(1), b"payload"),
            [
                &[0x97, 0x6d, 0xe7, 0x4a, 0x7c, 0x83, 0x20, 0x19][..],
                b"payload"
            ]
            .concat()
        );
    }

    #[test]
    fn tree_keys_are_pinned_and_described() {
        let id = NodeId {
            level: 3,
            index: 0x0102,
        };
        assert_eq!(id.to_bytes(), [3, 0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(
            describe_key(cf::LOG_NODES, &id.to_bytes()),
            "log node (level 3, index 258)"
        );
        let key = suyuan_ledger::merkle::map::MapKey::new([0xff; 32]);
        let position = NodePosition::of_key(&key, 9);
        let stored = position.storage_key(5);
        let mut expected = vec![0, 9, 0xff, 0x80];
        expected.extend_from_slice(&[0; 30]);
        expected.extend_from_slice(&5u64.to_be_bytes());
        assert_eq!(stored.to_vec(), expected);
        assert_eq!(map_node_key(&stored), Some((position, 5)));
        assert_eq!(
            describe_key(cf::MAP_NODES, &stored),
            "map node (depth 9, prefix ff80) version 5"
        );
        assert_eq!(describe_key(cf::LOG_SIZES, &height_key(4)), "height 4");
        assert_eq!(map_node_key(&stored[..41]), None);
    }

    #[test]
    fn seal_detects_flips_and_moves() {
        let sealed = seal(cf::STATE, b"key", b"value");
        assert_eq!(unseal(cf::STATE, b"key", &sealed).unwrap(), b"value");
        for index in 0..sealed.len() {
            let mut flipped = sealed.clone();
            flipped[index] ^= 0x10;
            assert!(
                unseal(cf::STATE, b"key", &flipped).is_err(),
                "flip at {index}"
            );
        }
        assert!(unseal(cf::STATE, b"other", &sealed).is_err());
        assert!(unseal(cf::META, b"key", &sealed).is_err());
        assert!(unseal(cf::STATE, b"key", &sealed[..4]).is_err());
    }

    #[test]
    fn index_keys_split_back() {
        let at = TxLocation {
            height: 9,
            index: 3,
        };
        let key = text_position_key("91420100MA4K3B7X2X", at);
        let (text, back) = split_text_position(&key).unwrap();
        assert_eq!(text, "91420100MA4K3B7X2X");
        assert_eq!(back, at);
        assert!(split_text_position(b"short").is_none());
        assert_eq!(prefix_end(b"ab\0"), Some(b"ab\x01".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
    }

    #[test]
    fn keys_are_described_for_people() {
        assert_eq!(describe_key(cf::HEADERS, &height_key(5)), "height 5");
        let at = TxLocation {
            height: 2,
            index: 1,
        };
        assert_eq!(
            describe_key(cf::BLOCK_TXS, &position_key(at)),
            "height 2 index 1"
        );
        assert_eq!(
            describe_key(cf::CODE_HISTORY, &text_position_key("ecode:1", at)),
            "ecode:1 at height 2 index 1"
        );
    }
}
