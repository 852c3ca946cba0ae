//! Open the database and commit finalized blocks to it, atomically and durably.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB,
    DBCompressionType, DBRecoveryMode, Options, SliceTransform, WriteBatch, WriteOptions,
};
use suyuan_ledger::block::{Block, BlockHash, Header, Parent};
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::state::{StateError, StateKey, StateRead, StateValue, TxLocation, WriteSet};
use suyuan_ledger::tx::{ChainBinding, Payload, VerifiedTx};

use crate::cache::StateCache;
use crate::error::StorageError;
use crate::map_cache::MapCache;
use crate::schema::{
    self, COLUMN_FAMILIES, MAP_POSITION_BYTES, SCHEMA_VERSION, UPGRADABLE_VERSION, cf, corrupt,
    head_value, height_key, latest_value, meta, position_key, seal, text_position_key, unseal,
};
use crate::tree_writes::TreeWrites;
use crate::wal::WalCursor;

/// Largest justification accepted beside a block, in bytes: the largest one consensus may form
/// (a certificate and every nullification a justification may carry, all signed by the largest
/// validator set), so that no block consensus finalized is refused here.
pub const MAX_JUSTIFICATION_BYTES: usize = suyuan_proofs::justification::MAX_JUSTIFICATION_BYTES;

/// RocksDB block cache shared by all column families, in bytes.
const BLOCK_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Size of one partition of a table's filter or index.
const METADATA_BLOCK_BYTES: usize = 4096;

/// Memory all memtables together may use before RocksDB flushes them: sixteen column families
/// at RocksDB's default of two 64 MiB memtables each could otherwise hold 2 GiB.
const MEMTABLE_BUDGET_BYTES: usize = 256 * 1024 * 1024;

/// Share of each memtable's size given to its bloom filter.
const MEMTABLE_BLOOM_RATIO: f64 = 0.1;

/// The highest committed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Its height; 0 before the first block.
    pub height: u64,
    /// Its hash; the genesis hash before the first block.
    pub hash: BlockHash,
}

/// How much the chain holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Committed blocks (the head's height).
    pub blocks: u64,
    /// Committed transactions.
    pub transactions: u64,
    /// Distinct codes named by any record.
    pub codes: u64,
    /// Enterprises currently enrolled.
    pub enterprises: u64,
}

/// What the committing side knows and caches: the head, its header and the counts.
#[derive(Debug, Clone)]
struct Tip {
    head: Head,
    /// `None` at height 0.
    header: Option<Header>,
    counts: Counts,
}

/// The node's durable store on RocksDB: blocks, justifications, indexes, state and the consensus
/// write-ahead log of one chain.
///
/// # Driving it
///
/// 1. [`Store::open`] with the chain's genesis; it refuses another chain's database.
/// 2. Hand [`Store::wal_entries`] to consensus; persist each of the node's own votes with
///    [`Store::wal_append`] *before* sending it; prune with [`Store::wal_truncate_below`].
/// 3. For each finalized block in height order: execute it over the store
///    (`execute_block(&store, ..)`: [`Store`] is a [`StateRead`] of the committed state), then
///    [`Store::commit_block`] with its transactions, justification and write set.
/// 4. Serve queries from any thread at any time: `Store` is `Sync`; commits are serialised inside.
///
/// When `commit_block` returns `Ok`, the block, its justification, every index entry and the state
/// changes are on disk (one `WriteBatch`, written with `fsync`), and they survive `kill -9` and
/// power loss. Before it returns, none of them is visible to readers or after a restart. An
/// error from a write is fatal: the store refuses all later writes ([`StorageError::Halted`])
/// and the node must stop and restart, which recovers the last durable state.
pub struct Store {
    pub(crate) db: DB,
    pub(crate) genesis: Genesis,
    pub(crate) genesis_hash: BlockHash,
    /// What the chain's transactions sign besides their payloads, kept to compute their ids.
    pub(crate) binding: ChainBinding,
    pub(crate) path: PathBuf,
    /// The committed tip. A commit holds it from its checks through its synced write, so
    /// commits are serialized and each checks against the tip it extends; readers of the head
    /// never take it (they read `published`).
    tip: Mutex<Tip>,
    /// The head and counts as of the last completed commit: a copy of the tip's, replaced
    /// after each commit. Held only to copy in or out, never across I/O.
    published: Mutex<(Head, Counts)>,
    state_cache: StateCache,
    /// The code map's upper levels as of the head: see [`crate::map_cache`].
    pub(crate) map_cache: MapCache,
    pub(crate) wal: Mutex<WalCursor>,
    halted: AtomicBool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("chain_id", &self.genesis.chain_id)
            .field("head", &self.head())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database at `path` for `genesis`'s chain, creating it if it does not exist.
    ///
    /// Refuses a database of another schema version, chain id or genesis file, and one whose
    /// head does not match its stored blocks. A database of version 3 is upgraded in place: see
    /// [`Store::upgrade_from_3`].
    pub fn open(path: impl AsRef<Path>, genesis: &Genesis) -> Result<Store, StorageError> {
        let path = path.as_ref();
        let (options, families) = db_options();
        let db = DB::open_cf_descriptors(&options, path, families)
            .map_err(StorageError::backend("open"))?;
        let genesis_hash = genesis.hash();
        let mut store = Store {
            db,
            genesis: genesis.clone(),
            genesis_hash,
            binding: ChainBinding::new(&genesis.chain_id, genesis_hash),
            path: path.to_path_buf(),
            tip: Mutex::new(Tip {
                head: Head {
                    height: 0,
                    hash: genesis_hash,
                },
                header: None,
                counts: Counts::default(),
            }),
            published: Mutex::new((
                Head {
                    height: 0,
                    hash: genesis_hash,
                },
                Counts::default(),
            )),
            state_cache: StateCache::default(),
            map_cache: MapCache::disabled(),
            wal: Mutex::new(WalCursor::default()),
            halted: AtomicBool::new(false),
        };
        let version = store.initialise_or_check_identity()?;
        let tip = store.load_tip()?;
        if version == UPGRADABLE_VERSION {
            store.upgrade_from_3(tip.head.height)?;
        }
        *store
            .published
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner) = (tip.head, tip.counts);
        store.map_cache.reset(tip.head.height);
        *store.tip.get_mut().unwrap_or_else(PoisonError::into_inner) = tip;
        let cursor = store.load_wal_cursor()?;
        *store.wal.get_mut().unwrap_or_else(PoisonError::into_inner) = cursor;
        Ok(store)
    }

    /// The directory the database lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The genesis the store was opened with.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// What the chain's transactions sign besides their payloads (the genesis's
    /// [`Genesis::binding`], computed once).
    pub fn binding(&self) -> &ChainBinding {
        &self.binding
    }

    /// The highest committed block.
    pub fn head(&self) -> Head {
        self.published().0
    }

    /// Counts of blocks, transactions, codes and enrolled enterprises, as of the head.
    pub fn counts(&self) -> Counts {
        self.published().1
    }

    /// Flushes every memtable to disk and compacts every column family: maintenance, for
    /// example before measuring the size on disk or taking a cold backup.
    pub fn compact(&self) -> Result<(), StorageError> {
        for name in COLUMN_FAMILIES {
            let family = self.cf(name);
            self.db
                .flush_cf(family)
                .map_err(StorageError::backend("flush"))?;
            self.db
                .compact_range_cf(family, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// Commits a finalized block in one synced, atomic write: its header and body, its
    /// justification (stored and returned as given), `writes` (the state changes of executing
    /// `txs` at this height over the store), every index entry, the block's nodes of the record
    /// log and the code map (`trees`) and the log's size at this height.
    ///
    /// Checks first that `block` extends the head ([`Header::check_extends`]: chain, height,
    /// parent hash, view, time, proposer), that its body matches its header, that `txs` are its
    /// body in order, that `writes` records each of them at its position, that
    /// `trees.log_nodes` are exactly the nodes that appending their leaves to the stored log
    /// completes, and that they append one leaf per transaction: a block whose records are not
    /// in the log cannot be committed. The map nodes are stored as given, as version `height`.
    /// Nothing is written if a check fails. A failed write halts the store: see [`Store`].
    pub fn commit_block(
        &self,
        block: &Block,
        txs: &[VerifiedTx],
        justification: &[u8],
        writes: &WriteSet,
        trees: &TreeWrites,
    ) -> Result<(), StorageError> {
        self.ensure_running()?;
        let mut tip = self.lock_tip();
        let height = block.header.height;
        let parent = match &tip.header {
            None => Parent::Genesis(&self.genesis),
            Some(header) => Parent::Block(header),
        };
        block
            .header
            .check_extends(parent, &self.genesis)
            .map_err(|source| StorageError::DoesNotExtend { height, source })?;
        check_txs_are_body(block, txs, &self.binding)?;
        check_writes_locate_txs(height, txs, writes)?;
        if justification.len() > MAX_JUSTIFICATION_BYTES {
            return Err(StorageError::Limit {
                what: "justification size in bytes",
                max: MAX_JUSTIFICATION_BYTES,
                found: justification.len(),
            });
        }

        let parent_log_size = self.stored_log_size(tip.head.height)?;
        let log_size = self.check_tree_writes(height, parent_log_size, trees)?;
        if log_size - parent_log_size != txs.len() as u64 {
            return Err(StorageError::TreesMismatch {
                height,
                reason: format!(
                    "the block commits {} transactions but appends {} leaves to the record log: \
                     one leaf each",
                    txs.len(),
                    log_size - parent_log_size
                ),
            });
        }

        let hash = block.hash();
        let mut counts = tip.counts;
        let mut batch = WriteBatch::default();
        self.put_block(&mut batch, block, &hash, justification);
        self.put_trees(&mut batch, height, log_size, trees);
        self.put_indexes(&mut batch, height, txs, &mut counts)?;
        self.put_state(&mut batch, writes, &mut counts)?;
        counts.blocks = height;
        self.put_meta(&mut batch, meta::HEAD, &head_value(height, &hash));
        self.put_meta(&mut batch, meta::COUNTS, &counts_value(&counts));
        let map_commit = self.map_cache.begin_commit();
        self.write_synced(batch, "commit block")?;
        map_commit.apply(height, &trees.map_nodes);
        self.state_cache.apply(writes);
        self.check_head_reads_back(height, &hash)?;

        let head = Head { height, hash };
        *tip = Tip {
            head,
            header: Some(block.header.clone()),
            counts,
        };
        *self
            .published
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = (head, counts);
        Ok(())
    }

    fn put_block(
        &self,
        batch: &mut WriteBatch,
        block: &Block,
        hash: &BlockHash,
        justification: &[u8],
    ) {
        let height = block.header.height;
        let key = height_key(height);
        let header = schema::header_value(hash, &block.header.to_bytes());
        batch.put_cf(self.cf(cf::HEADERS), key, seal(cf::HEADERS, &key, &header));
        batch.put_cf(
            self.cf(cf::BLOCK_HASHES),
            hash.as_bytes(),
            seal(cf::BLOCK_HASHES, hash.as_bytes(), &key),
        );
        batch.put_cf(
            self.cf(cf::JUSTIFICATIONS),
            key,
            seal(cf::JUSTIFICATIONS, &key, justification),
        );
        for (index, envelope) in block.body.transactions.iter().enumerate() {
            // The body's length is bounded by MAX_BLOCK_TRANSACTIONS, far below u32::MAX.
            let at = TxLocation {
                height,
                index: index as u32,
            };
            let key = position_key(at);
            let value = seal(cf::BLOCK_TXS, &key, &envelope.to_bytes());
            batch.put_cf(self.cf(cf::BLOCK_TXS), key, value);
        }
    }

    /// Adds the transaction, code, model, enterprise and certificate index entries, and counts
    /// new codes.
    fn put_indexes(
        &self,
        batch: &mut WriteBatch,
        height: u64,
        txs: &[VerifiedTx],
        counts: &mut Counts,
    ) -> Result<(), StorageError> {
        let mut codes = BTreeSet::new();
        for (index, tx) in txs.iter().enumerate() {
            let at = TxLocation {
                height,
                index: index as u32,
            };
            let position = position_key(at);
            batch.put_cf(
                self.cf(cf::TXS),
                tx.id.as_bytes(),
                seal(cf::TXS, tx.id.as_bytes(), &position),
            );
            let record = &tx.payload.record;
            for code in record.codes() {
                let code = code.to_string();
                let latest = seal(cf::CODE_LATEST, code.as_bytes(), &latest_value(at, &tx.id));
                batch.put_cf(self.cf(cf::CODE_LATEST), code.as_bytes(), latest);
                self.put_index_entry(batch, cf::CODE_HISTORY, &code, at);
                codes.insert(code);
            }
            for model_code in record.models() {
                self.put_index_entry(batch, cf::MODEL_HISTORY, &model_code.to_string(), at);
            }
            for uscc in record.enterprises() {
                self.put_index_entry(batch, cf::ENTERPRISE_RECORDS, &uscc.to_string(), at);
            }
            for certificate in record.certificates() {
                let text = certificate.to_string();
                self.put_index_entry(batch, cf::CERTIFICATE_RECORDS, &text, at);
            }
        }
        counts.transactions += txs.len() as u64;
        let known = self
            .db
            .batched_multi_get_cf(self.cf(cf::CODE_LATEST), codes.iter(), true);
        for found in known {
            if found
                .map_err(StorageError::backend("read code index"))?
                .is_none()
            {
                counts.codes += 1;
            }
        }
        Ok(())
    }

    fn put_index_entry(
        &self,
        batch: &mut WriteBatch,
        family: &'static str,
        text: &str,
        at: TxLocation,
    ) {
        let key = text_position_key(text, at);
        let value = seal(family, &key, &[]);
        batch.put_cf(self.cf(family), key, value);
    }

    /// Adds the write set and keeps the count of enrolled enterprises.
    fn put_state(
        &self,
        batch: &mut WriteBatch,
        writes: &WriteSet,
        counts: &mut Counts,
    ) -> Result<(), StorageError> {
        let state = self.cf(cf::STATE);
        for (key, value) in writes {
            let key_bytes = key.to_bytes();
            if let StateKey::Enterprise(_) = key {
                let existed = self
                    .db
                    .get_pinned_cf(state, &key_bytes)
                    .map_err(StorageError::backend("read state"))?
                    .is_some();
                match (existed, value.is_some()) {
                    (false, true) => counts.enterprises += 1,
                    (true, false) => counts.enterprises = counts.enterprises.saturating_sub(1),
                    _ => {}
                }
            }
            match value {
                Some(value) => {
                    let sealed = seal(cf::STATE, &key_bytes, &value.to_bytes());
                    batch.put_cf(state, &key_bytes, sealed);
                }
                None => batch.delete_cf(state, &key_bytes),
            }
        }
        Ok(())
    }

    /// Reads the head back after a commit: the write must be visible before it is reported.
    fn check_head_reads_back(&self, height: u64, hash: &BlockHash) -> Result<(), StorageError> {
        let stored = self
            .read(cf::META, meta::HEAD)?
            .and_then(|bytes| schema::decode_head(&bytes));
        if stored != Some((height, *hash)) {
            self.halted.store(true, Ordering::SeqCst);
            return Err(corrupt(
                cf::META,
                meta::HEAD,
                format!("block {height} was written but the head does not read back as it"),
            ));
        }
        Ok(())
    }

    pub(crate) fn put_meta(&self, batch: &mut WriteBatch, key: &[u8], payload: &[u8]) {
        batch.put_cf(self.cf(cf::META), key, seal(cf::META, key, payload));
    }

    /// Writes `batch` with `fsync`; a failure halts the store.
    pub(crate) fn write_synced(
        &self,
        batch: WriteBatch,
        operation: &'static str,
    ) -> Result<(), StorageError> {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.db.write_opt(batch, &options).map_err(|error| {
            self.halted.store(true, Ordering::SeqCst);
            StorageError::backend(operation)(error)
        })
    }

    /// Refuses writes after a failed durable write.
    pub(crate) fn ensure_running(&self) -> Result<(), StorageError> {
        if self.halted.load(Ordering::SeqCst) {
            return Err(StorageError::Halted);
        }
        Ok(())
    }

    /// The commit lock, which also guards the cached head. A panic while it was held left the
    /// cache as it was before that commit's write (it is replaced only after a write succeeds),
    /// so a poisoned lock is still consistent.
    fn lock_tip(&self) -> MutexGuard<'_, Tip> {
        self.tip.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The head and counts of the last completed commit.
    fn published(&self) -> (Head, Counts) {
        *self
            .published
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` while no block is being committed, with the head and counts it sees.
    pub(crate) fn with_commits_paused<T>(&self, f: impl FnOnce(Head, Counts) -> T) -> T {
        let tip = self.lock_tip();
        f(tip.head, tip.counts)
    }

    /// A column family handle.
    pub(crate) fn cf(&self, name: &str) -> &ColumnFamily {
        // `open` opens every name in COLUMN_FAMILIES, and callers pass only those.
        self.db
            .cf_handle(name)
            .expect("every column family is opened with the database")
    }

    /// The payload stored under `key` in `family`, checksum verified.
    pub(crate) fn read(
        &self,
        family: &'static str,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let Some(value) = self
            .db
            .get_pinned_cf(self.cf(family), key)
            .map_err(StorageError::backend("read"))?
        else {
            return Ok(None);
        };
        Ok(Some(unseal(family, key, &value)?.to_vec()))
    }

    /// Checks the stored identity against the genesis, or writes it into a new database, and
    /// returns the stored schema version: [`SCHEMA_VERSION`] or [`UPGRADABLE_VERSION`].
    fn initialise_or_check_identity(&self) -> Result<u32, StorageError> {
        let Some(version) = self.read(cf::META, meta::SCHEMA_VERSION)? else {
            self.initialise()?;
            return Ok(SCHEMA_VERSION);
        };
        let version = <[u8; 4]>::try_from(version.as_slice())
            .map(u32::from_be_bytes)
            .map_err(|_| corrupt(cf::META, meta::SCHEMA_VERSION, "not 4 bytes".into()))?;
        if version != SCHEMA_VERSION && version != UPGRADABLE_VERSION {
            return Err(StorageError::SchemaVersion {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let chain_id = self
            .read(cf::META, meta::CHAIN_ID)?
            .ok_or_else(|| corrupt(cf::META, meta::CHAIN_ID, "missing".into()))?;
        let chain_id = String::from_utf8_lossy(&chain_id).into_owned();
        if chain_id != self.genesis.chain_id {
            return Err(StorageError::WrongChain {
                expected: self.genesis.chain_id.clone(),
                found: chain_id,
            });
        }
        let stored = self
            .read(cf::META, meta::GENESIS_HASH)?
            .and_then(|bytes| schema::decode_hash(&bytes))
            .ok_or_else(|| {
                corrupt(
                    cf::META,
                    meta::GENESIS_HASH,
                    "missing or not 32 bytes".into(),
                )
            })?;
        if stored != self.genesis_hash {
            return Err(StorageError::WrongGenesis {
                expected: self.genesis_hash,
                found: stored,
            });
        }
        Ok(version)
    }

    /// Brings a version-3 database to version 4 by writing the certificate index for every
    /// committed record, then the new version. Each block's entries go in their own batch, so
    /// a long chain never needs one huge write; the entries are the same whenever they are
    /// written, so an upgrade cut short simply runs again on the next open.
    fn upgrade_from_3(&self, head: u64) -> Result<(), StorageError> {
        for height in 1..=head {
            let block = self
                .block(height)?
                .ok_or_else(|| corrupt(cf::HEADERS, &height_key(height), "missing".into()))?;
            let mut batch = WriteBatch::default();
            for (index, envelope) in block.body.transactions.iter().enumerate() {
                let at = TxLocation {
                    height,
                    index: index as u32,
                };
                let record = Payload::parse(&envelope.payload)
                    .map_err(|e| corrupt(cf::BLOCK_TXS, &position_key(at), e.to_string()))?
                    .record;
                for certificate in record.certificates() {
                    let text = certificate.to_string();
                    self.put_index_entry(&mut batch, cf::CERTIFICATE_RECORDS, &text, at);
                }
            }
            self.db
                .write(batch)
                .map_err(StorageError::backend("upgrade: index certificates"))?;
        }
        let mut batch = WriteBatch::default();
        self.put_meta(
            &mut batch,
            meta::SCHEMA_VERSION,
            &SCHEMA_VERSION.to_be_bytes(),
        );
        self.write_synced(batch, "upgrade: record schema version")
    }

    /// Writes the identity of a new database and its empty head, in one synced batch.
    fn initialise(&self) -> Result<(), StorageError> {
        let mut leftovers = self
            .db
            .iterator_cf(self.cf(cf::HEADERS), rocksdb::IteratorMode::Start);
        if leftovers.next().is_some() {
            return Err(corrupt(
                cf::META,
                meta::SCHEMA_VERSION,
                "missing, but blocks are stored".into(),
            ));
        }
        let mut batch = WriteBatch::default();
        self.put_meta(
            &mut batch,
            meta::SCHEMA_VERSION,
            &SCHEMA_VERSION.to_be_bytes(),
        );
        self.put_meta(&mut batch, meta::CHAIN_ID, self.genesis.chain_id.as_bytes());
        self.put_meta(&mut batch, meta::GENESIS_HASH, self.genesis_hash.as_bytes());
        self.put_meta(&mut batch, meta::HEAD, &head_value(0, &self.genesis_hash));
        self.put_meta(&mut batch, meta::COUNTS, &counts_value(&Counts::default()));
        self.write_synced(batch, "initialise database")
    }

    /// Reads the head and counts and checks that the head's block is stored and nothing above.
    fn load_tip(&self) -> Result<Tip, StorageError> {
        let (height, hash) = self
            .read(cf::META, meta::HEAD)?
            .and_then(|bytes| schema::decode_head(&bytes))
            .ok_or_else(|| corrupt(cf::META, meta::HEAD, "missing or not 40 bytes".into()))?;
        let counts = self
            .read(cf::META, meta::COUNTS)?
            .and_then(|bytes| decode_counts(&bytes, height))
            .ok_or_else(|| corrupt(cf::META, meta::COUNTS, "missing or not 24 bytes".into()))?;
        let header = if height == 0 {
            if hash != self.genesis_hash {
                return Err(corrupt(
                    cf::META,
                    meta::HEAD,
                    "height 0 but not the genesis hash".into(),
                ));
            }
            None
        } else {
            let header = self.header(height)?.ok_or_else(|| {
                corrupt(cf::META, meta::HEAD, format!("block {height} is missing"))
            })?;
            if header.hash() != hash {
                return Err(corrupt(
                    cf::META,
                    meta::HEAD,
                    format!("block {height} has another hash"),
                ));
            }
            Some(header)
        };
        if self
            .db
            .get_pinned_cf(self.cf(cf::HEADERS), height_key(height + 1))
            .map_err(StorageError::backend("read"))?
            .is_some()
        {
            return Err(corrupt(
                cf::META,
                meta::HEAD,
                format!("a block is stored above head {height}"),
            ));
        }
        Ok(Tip {
            head: Head { height, hash },
            header,
            counts,
        })
    }
}

impl StateRead for Store {
    /// Reads the committed state: what the last committed block left. Entries read before
    /// are served from the [`StateCache`].
    fn get(&self, key: &StateKey) -> Result<Option<StateValue>, StateError> {
        let miss = match self.state_cache.lookup(key) {
            Ok(entry) => return Ok(entry),
            Err(miss) => miss,
        };
        let key_bytes = key.to_bytes();
        let value = match self.read(cf::STATE, &key_bytes)? {
            Some(payload) => Some(StateValue::from_bytes(key, &payload)?),
            None => None,
        };
        self.state_cache.fill(key, value.as_ref(), miss);
        Ok(value)
    }
}

/// Options for the database and its column families: LZ4, bloom filters for point lookups (in
/// the tables and in the memtables: admission asks for transaction ids and codes that are
/// almost always absent, and a memtable filter answers that without a skip-list search), one
/// shared block cache, and point-in-time WAL recovery (a torn tail after a crash is dropped;
/// synced writes are never in it).
///
/// A table's filter and index are cut into partitions of [`METADATA_BLOCK_BYTES`] under a small
/// top level, which stays pinned in the cache, and are cached with high priority: a point
/// lookup reads one small partition, never a whole table's filter. With whole filters, once
/// the tables outgrew what the cache kept (about 270,000 records), every lookup that missed the
/// cache read and checksummed a filter of a megabyte or more, and a node's throughput fell to a
/// fifth.
fn db_options() -> (Options, Vec<ColumnFamilyDescriptor>) {
    let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(&cache);
    table.set_bloom_filter(10.0, false);
    table.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
    table.set_partition_filters(true);
    table.set_metadata_block_size(METADATA_BLOCK_BYTES);
    table.set_cache_index_and_filter_blocks(true);
    table.set_cache_index_and_filter_blocks_with_high_priority(true);
    table.set_pin_top_level_index_and_filter(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    let mut family = Options::default();
    family.set_compression_type(DBCompressionType::Lz4);
    family.set_block_based_table_factory(&table);
    family.set_level_compaction_dynamic_level_bytes(true);
    family.set_memtable_whole_key_filtering(true);
    family.set_memtable_prefix_bloom_ratio(MEMTABLE_BLOOM_RATIO);
    let families = COLUMN_FAMILIES
        .iter()
        .map(|name| {
            let mut options = family.clone();
            if *name == cf::MAP_NODES {
                // Map nodes are read by `seek_for_prev` to a position's latest version: with its
                // position as the prefix, a seek skips every table whose filter lacks it.
                options
                    .set_prefix_extractor(SliceTransform::create_fixed_prefix(MAP_POSITION_BYTES));
            }
            ColumnFamilyDescriptor::new(*name, options)
        })
        .collect();
    let mut options = Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    options.set_paranoid_checks(true);
    options.set_wal_recovery_mode(DBRecoveryMode::PointInTime);
    options.set_max_background_jobs(2);
    options.set_keep_log_file_num(4);
    options.set_db_write_buffer_size(MEMTABLE_BUDGET_BYTES);
    (options, families)
}

/// Checks that `txs` are the block's body, in order, with their ids, and the body its header's.
fn check_txs_are_body(
    block: &Block,
    txs: &[VerifiedTx],
    chain: &ChainBinding,
) -> Result<(), StorageError> {
    let height = block.header.height;
    let mismatch = |reason: String| StorageError::TxsMismatch { height, reason };
    block
        .check_body()
        .map_err(|error| mismatch(format!("the body does not match its header: {error}")))?;
    if txs.len() != block.body.transactions.len() {
        return Err(mismatch(format!(
            "{} transactions given, the body has {}",
            txs.len(),
            block.body.transactions.len()
        )));
    }
    for (index, (tx, envelope)) in txs.iter().zip(&block.body.transactions).enumerate() {
        if &tx.envelope != envelope {
            return Err(mismatch(format!("transaction {index} is not the body's")));
        }
        if tx.id != envelope.id(chain) {
            return Err(mismatch(format!("transaction {index} carries a wrong id")));
        }
    }
    Ok(())
}

/// Checks that `writes` records each transaction at its position and no other transaction:
/// execution writes `StateKey::Tx(id) → (height, index)` for each one it applies.
fn check_writes_locate_txs(
    height: u64,
    txs: &[VerifiedTx],
    writes: &WriteSet,
) -> Result<(), StorageError> {
    let mismatch = |reason: String| StorageError::WriteSetMismatch { height, reason };
    for (index, tx) in txs.iter().enumerate() {
        let expected = StateValue::Tx(TxLocation {
            height,
            index: index as u32,
        });
        if writes.get(&StateKey::Tx(tx.id)) != Some(&Some(expected)) {
            return Err(mismatch(format!(
                "transaction {index} ({}) is not recorded at height {height} index {index}",
                tx.id
            )));
        }
    }
    let recorded = writes
        .keys()
        .filter(|key| matches!(key, StateKey::Tx(_)))
        .count();
    if recorded != txs.len() {
        return Err(mismatch(format!(
            "{recorded} transactions recorded, the block has {}",
            txs.len()
        )));
    }
    Ok(())
}

fn counts_value(counts: &Counts) -> [u8; 24] {
    let mut out = [0u8; 24];
    out[..8].copy_from_slice(&counts.transactions.to_be_bytes());
    out[8..16].copy_from_slice(&counts.codes.to_be_bytes());
    out[16..].copy_from_slice(&counts.enterprises.to_be_bytes());
    out
}

fn decode_counts(bytes: &[u8], blocks: u64) -> Option<Counts> {
    if bytes.len() != 24 {
        return None;
    }
    Some(Counts {
        blocks,
        transactions: schema::decode_u64(&bytes[..8])?,
        codes: schema::decode_u64(&bytes[8..16])?,
        enterprises: schema::decode_u64(&bytes[16..])?,
    })
}
