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

/// Most transactions in one block.
pub const MAX_BLOCK_TRANSACTIONS: usize = 10_000;

/// Largest encoded block body, in bytes.
pub const MAX_BLOCK_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Longest chain id, in bytes.
pub const MAX_CHAIN_ID_BYTES: usize = 64;

/// Most items (codes) commissioned, shipped or recalled by one record.
pub const MAX_ITEMS_PER_RECORD: usize = 1_000;

/// Most keys, licences, certificates or standards listed in one record.
pub const MAX_LIST_ENTRIES: usize = 64;

/// Longest short text field (names, numbers, contacts), in bytes.
pub const MAX_SHORT_TEXT_BYTES: usize = 256;

/// Longest long text field (reasons, findings, addresses), in bytes.
pub const MAX_LONG_TEXT_BYTES: usize = 2_048;

/// Most validators, registrars or regulators a genesis file may name.
pub const MAX_GENESIS_MEMBERS: usize = 256;
