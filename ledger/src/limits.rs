//! Name the bound on every size the ledger accepts from a client or a peer.
//!
//! Input beyond a bound is refused with a typed error before any work proportional to it is
//! done. Changing one of these changes what a valid block is: all nodes of a consortium must
//! agree on them, so they are constants, not configuration.

/// Largest transaction payload (the signed JSON document), in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// Largest encoded transaction envelope: the payload, the signer key, the signature and their
/// length prefix.
pub const MAX_ENVELOPE_BYTES: usize = MAX_PAYLOAD_BYTES + 4 + 32 + 64;

/// Bytes an envelope's encoding adds to its payload: the payload's length prefix, the signer
/// key and the signature.
pub const ENVELOPE_OVERHEAD_BYTES: usize = MAX_ENVELOPE_BYTES - MAX_PAYLOAD_BYTES;

/// Most transactions in one block.
pub const MAX_BLOCK_TRANSACTIONS: usize = 10_000;

/// Largest encoded block body, in bytes.
pub const MAX_BLOCK_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The largest encoded body of at most `transactions` envelopes carrying at most
/// `payload_bytes` of payload in all: the count, then each envelope. A proposer whose block
/// limits keep this within [`MAX_BLOCK_BODY_BYTES`] never builds a body its followers refuse.
pub const fn body_bytes_bound(transactions: usize, payload_bytes: usize) -> usize {
    4 + transactions * ENVELOPE_OVERHEAD_BYTES + payload_bytes
}

// A block of the most transactions, each of the largest payload, need not fit; a block of the
// most transactions with small payloads must.
const _: () = assert!(body_bytes_bound(MAX_BLOCK_TRANSACTIONS, 0) < MAX_BLOCK_BODY_BYTES);
// One envelope of the largest size always fits a block.
const _: () = assert!(body_bytes_bound(1, MAX_PAYLOAD_BYTES) <= MAX_BLOCK_BODY_BYTES);

/// Longest chain id, in bytes.
pub const MAX_CHAIN_ID_BYTES: usize = 64;

/// Largest encoded block header: the chain id is bounded, the rest is fixed.
pub const MAX_HEADER_BYTES: usize = 1024;

// Version, the chain id with its length prefix, three u64 and a u32, four hashes and a key.
const _: () = assert!(1 + 4 + MAX_CHAIN_ID_BYTES + 3 * 8 + 8 + 4 + 5 * 32 <= MAX_HEADER_BYTES);

/// Most items (codes) commissioned, shipped or recalled by one record.
pub const MAX_ITEMS_PER_RECORD: usize = 1_000;

/// Most levels of packing: an item in a case (1) in a pallet (2) in a container (3), one to
/// spare. A deeper unit is refused (`packing_too_deep`).
pub const MAX_PACKING_DEPTH: u8 = 4;

/// Most product lines one logistic unit holds, its inner units' included: shipping it moves
/// each of them, so this bounds the work a one-line shipment does.
pub const MAX_UNIT_LINES: u64 = MAX_ITEMS_PER_RECORD as u64;

/// Most product lines one shipment moves, each unit's contents counted: the work a shipment
/// does is proportional to this, not to its own length.
pub const MAX_LINES_MOVED: u64 = 4 * MAX_ITEMS_PER_RECORD as u64;

// A unit as full as allowed can always be shipped on its own.
const _: () = assert!(MAX_UNIT_LINES <= MAX_LINES_MOVED);

/// Most other codes one batch or item carries, linked by `link_codes`: an Ecode, a Handle id
/// and a GS1 code each, with room for a few more schemes or a relabelling.
pub const MAX_CODE_ALIASES: usize = 8;

/// Most keys, licences, certificates or standards listed in one record.
pub const MAX_LIST_ENTRIES: usize = 64;

/// Longest short text field (names, numbers, contacts), in bytes.
pub const MAX_SHORT_TEXT_BYTES: usize = 256;

/// Longest long text field (reasons, findings, addresses), in bytes.
pub const MAX_LONG_TEXT_BYTES: usize = 2_048;

/// Longest reference (an order number, where a seller keeps a buyer's data), in bytes: an
/// identifier, never prose that could carry a person's data.
pub const MAX_REFERENCE_BYTES: usize = 64;

// A reference is one kind of short text, only stricter.
const _: () = assert!(MAX_REFERENCE_BYTES <= MAX_SHORT_TEXT_BYTES);

/// Most validators, registrars or regulators a genesis file may name.
pub const MAX_GENESIS_MEMBERS: usize = 256;
