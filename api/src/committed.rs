//! Read committed transactions back from the store with their blocks' hashes and times, for
//! the routes that answer with them and for the enterprise profiles.
//!
//! No HTTP here: a failure is a [`CommittedError`], which [`crate::error`] maps to a response.

use std::collections::BTreeMap;

use suyuan_ledger::block::BlockHash;
use suyuan_ledger::tx::{Payload, TxError, TxId};
use suyuan_storage::{StorageError, Store, StoredTx};

use crate::types::CommittedTx;
use crate::views::RecordRef;

/// Why a committed transaction could not be read back.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CommittedError {
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// An index names a height at which the store holds no block: the store is inconsistent.
    #[error("a transaction is indexed at height {height}, which has no block")]
    MissingBlock {
        /// The height named.
        height: u64,
    },
    /// A committed payload does not parse, though it parsed when it was committed.
    #[error("committed transaction {id} does not parse: {source}")]
    Unparsable {
        /// The transaction.
        id: TxId,
        /// What the parser said.
        source: TxError,
    },
}

/// Block hashes and times by height, read once per request where many transactions share
/// blocks.
#[derive(Debug, Default)]
pub(crate) struct BlockHashes(BTreeMap<u64, (BlockHash, u64)>);

impl BlockHashes {
    /// The hash of committed block `height`.
    pub(crate) fn of(&mut self, store: &Store, height: u64) -> Result<BlockHash, CommittedError> {
        self.read(store, height).map(|(hash, _)| hash)
    }

    /// The time of committed block `height`, Unix milliseconds.
    pub(crate) fn time_ms(&mut self, store: &Store, height: u64) -> Result<u64, CommittedError> {
        self.read(store, height).map(|(_, time_ms)| time_ms)
    }

    fn read(&mut self, store: &Store, height: u64) -> Result<(BlockHash, u64), CommittedError> {
        if let Some(known) = self.0.get(&height) {
            return Ok(*known);
        }
        let header = store
            .header(height)?
            .ok_or(CommittedError::MissingBlock { height })?;
        let known = (header.hash(), header.time_ms);
        self.0.insert(height, known);
        Ok(known)
    }
}

/// The API's view of a committed transaction.
pub(crate) fn committed_tx(
    store: &Store,
    hashes: &mut BlockHashes,
    stored: StoredTx,
) -> Result<CommittedTx, CommittedError> {
    Ok(CommittedTx {
        id: stored.id,
        height: stored.location.height,
        index: stored.location.index,
        block_hash: hashes.of(store, stored.location.height)?,
        payload: committed_payload(&stored)?,
        envelope: stored.envelope,
    })
}

/// Where a committed transaction is, with its block's time, as views name it.
pub(crate) fn record_ref(
    store: &Store,
    hashes: &mut BlockHashes,
    stored: &StoredTx,
) -> Result<RecordRef, CommittedError> {
    Ok(RecordRef {
        id: stored.id,
        height: stored.location.height,
        index: stored.location.index,
        block_time_ms: hashes.time_ms(store, stored.location.height)?,
    })
}

/// The parsed payload of a committed transaction: it parsed when it was committed.
pub(crate) fn committed_payload(stored: &StoredTx) -> Result<Payload, CommittedError> {
    Payload::parse(&stored.envelope.payload).map_err(|source| CommittedError::Unparsable {
        id: stored.id,
        source,
    })
}
