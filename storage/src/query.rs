//! Answer the queries the API and audit need, in bounded pages, checking every value read.

use rocksdb::{
    DB, DBIteratorWithThreadMode, Direction, IteratorMode, ReadOptions, SnapshotWithThreadMode,
};
use suyuan_ledger::block::{Block, BlockHash, Body, Header};
use suyuan_ledger::codes::ccc::CccCertificate;
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::{Subject, TraceCode, UnitCode};
use suyuan_ledger::state::{
    EnterpriseState, StateDigest, StateError, StateKey, StateRead, StateValue, TxLocation,
};
use suyuan_ledger::tx::{Envelope, TxId};

use crate::error::StorageError;
use crate::schema::{
    self, cf, corrupt, decode_position, height_key, position_key, split_text_position,
    text_position_key, text_prefix, unseal,
};
use crate::store::{Head, Store};

/// Most records in one page of a code, model or enterprise history.
pub const MAX_PAGE_RECORDS: usize = 1_000;

/// Most headers in one [`Store::headers`] call.
pub const MAX_HEADERS_PER_PAGE: usize = 1_000;

/// Most blocks in one [`Store::blocks`] call: a block may hold up to 16 MiB.
pub const MAX_BLOCKS_PER_PAGE: usize = 16;

/// Most enterprises in one [`Snapshot::enterprises`] page.
pub const MAX_ENTERPRISES_PER_PAGE: usize = 1_000;

/// A committed transaction with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTx {
    /// Its id.
    pub id: TxId,
    /// Block height and index in the block.
    pub location: TxLocation,
    /// The envelope exactly as committed; `Payload::parse(&envelope.payload)` gives the record.
    pub envelope: Envelope,
}

/// Which end of a history a page starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Chain order: oldest record first.
    #[default]
    OldestFirst,
    /// Latest record first.
    NewestFirst,
}

/// Which page of a history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Start after this position (the `next` of the previous page); `None` for the first page.
    pub after: Option<TxLocation>,
    /// Most items to return: 1 to [`MAX_PAGE_RECORDS`].
    pub limit: usize,
    /// Direction.
    pub order: Order,
}

impl PageRequest {
    /// The first page in chain order.
    pub fn first(limit: usize) -> PageRequest {
        PageRequest {
            after: None,
            limit,
            order: Order::OldestFirst,
        }
    }

    /// The first page, latest record first.
    pub fn newest(limit: usize) -> PageRequest {
        PageRequest {
            after: None,
            limit,
            order: Order::NewestFirst,
        }
    }

    /// The page after `page`, in the same order, if there is one.
    pub fn next_of<T>(&self, page: &Page<T>) -> Option<PageRequest> {
        page.next.map(|after| PageRequest {
            after: Some(after),
            ..*self
        })
    }
}

/// One page of a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in the order asked for.
    pub items: Vec<T>,
    /// Where the next page starts (pass as [`PageRequest::after`]); `None` on the last page.
    pub next: Option<TxLocation>,
}

impl Store {
    /// The header of block `height`, checked against its stored hash.
    pub fn header(&self, height: u64) -> Result<Option<Header>, StorageError> {
        let key = height_key(height);
        match self.read(cf::HEADERS, &key)? {
            Some(payload) => self.decode_header(height, &payload).map(Some),
            None => Ok(None),
        }
    }

    /// Block `height`, its header checked against its stored hash and its body against the
    /// header's body hash.
    pub fn block(&self, height: u64) -> Result<Option<Block>, StorageError> {
        let Some(header) = self.header(height)? else {
            return Ok(None);
        };
        let body = self.body(&header)?;
        Ok(Some(Block { header, body }))
    }

    /// The height of the block with this hash, if it is committed.
    pub fn height_of(&self, hash: &BlockHash) -> Result<Option<u64>, StorageError> {
        let Some(payload) = self.read(cf::BLOCK_HASHES, hash.as_bytes())? else {
            return Ok(None);
        };
        schema::decode_u64(&payload).map(Some).ok_or_else(|| {
            corrupt(
                cf::BLOCK_HASHES,
                hash.as_bytes(),
                "not an 8-byte height".into(),
            )
        })
    }

    /// The block with this hash, if it is committed.
    pub fn block_by_hash(&self, hash: &BlockHash) -> Result<Option<Block>, StorageError> {
        let Some(height) = self.height_of(hash)? else {
            return Ok(None);
        };
        let block = self.block(height)?.ok_or_else(|| {
            corrupt(
                cf::BLOCK_HASHES,
                hash.as_bytes(),
                format!("names missing block {height}"),
            )
        })?;
        if &block.hash() != hash {
            return Err(corrupt(
                cf::BLOCK_HASHES,
                hash.as_bytes(),
                format!("names block {height}, which has another hash"),
            ));
        }
        Ok(Some(block))
    }

    /// Up to `limit` consecutive headers from height `from` (fewer at the head; heights start
    /// at 1, so 0 reads from 1).
    pub fn headers(&self, from: u64, limit: usize) -> Result<Vec<Header>, StorageError> {
        check_limit("headers per page", limit, MAX_HEADERS_PER_PAGE)?;
        let from = from.max(1);
        let mut headers = Vec::with_capacity(limit.min(64));
        let start = height_key(from);
        for item in self.db.iterator_cf(
            self.cf(cf::HEADERS),
            IteratorMode::From(&start, Direction::Forward),
        ) {
            if headers.len() == limit {
                break;
            }
            let (key, value) = item.map_err(StorageError::backend("scan headers"))?;
            let expected = from + headers.len() as u64;
            if schema::decode_u64(&key) != Some(expected) {
                return Err(corrupt(
                    cf::HEADERS,
                    &height_key(expected),
                    "missing below a stored block".into(),
                ));
            }
            let payload = unseal(cf::HEADERS, &key, &value)?;
            headers.push(self.decode_header(expected, payload)?);
        }
        Ok(headers)
    }

    /// Up to `limit` consecutive blocks from height `from` (fewer at the head; 0 reads from 1).
    pub fn blocks(&self, from: u64, limit: usize) -> Result<Vec<Block>, StorageError> {
        check_limit("blocks per page", limit, MAX_BLOCKS_PER_PAGE)?;
        let from = from.max(1);
        let mut blocks = Vec::with_capacity(limit);
        for height in (from..).take(limit) {
            match self.block(height)? {
                Some(block) => blocks.push(block),
                None => break,
            }
        }
        Ok(blocks)
    }

    /// The justification of block `height` (its certificate and the nullifications of the
    /// views it skipped), exactly as committed.
    pub fn justification(&self, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
        self.read(cf::JUSTIFICATIONS, &height_key(height))
    }

    /// A committed transaction by id, with its position.
    pub fn transaction(&self, id: &TxId) -> Result<Option<StoredTx>, StorageError> {
        let Some(payload) = self.read(cf::TXS, id.as_bytes())? else {
            return Ok(None);
        };
        let at = decode_position(&payload)
            .ok_or_else(|| corrupt(cf::TXS, id.as_bytes(), "not a 12-byte position".into()))?;
        self.indexed_tx(cf::TXS, id.as_bytes(), at, Some(id))
            .map(Some)
    }

    /// The transaction at a position, if there is one.
    pub fn transaction_at(&self, at: TxLocation) -> Result<Option<StoredTx>, StorageError> {
        let key = position_key(at);
        let Some(payload) = self.read(cf::BLOCK_TXS, &key)? else {
            return Ok(None);
        };
        let envelope = Envelope::from_bytes(&payload)
            .map_err(|error| corrupt(cf::BLOCK_TXS, &key, error.to_string()))?;
        Ok(Some(StoredTx {
            id: envelope.id(&self.binding),
            location: at,
            envelope,
        }))
    }

    /// The latest record naming `code`.
    pub fn code_latest(&self, code: &TraceCode) -> Result<Option<StoredTx>, StorageError> {
        let key = code.to_string();
        let Some(payload) = self.read(cf::CODE_LATEST, key.as_bytes())? else {
            return Ok(None);
        };
        let (at, id) = schema::decode_latest(&payload).ok_or_else(|| {
            corrupt(
                cf::CODE_LATEST,
                key.as_bytes(),
                "not a position and an id".into(),
            )
        })?;
        self.indexed_tx(cf::CODE_LATEST, key.as_bytes(), at, Some(&id))
            .map(Some)
    }

    /// Records naming `code`: commissioning, shipments, inspections, recalls.
    pub fn code_history(
        &self,
        code: &TraceCode,
        page: PageRequest,
    ) -> Result<Page<StoredTx>, StorageError> {
        self.index_page(cf::CODE_HISTORY, &code.to_string(), page)
    }

    /// Records naming a product model: registration, commissioning, model-level inspections and
    /// recalls.
    pub fn model_records(
        &self,
        model_code: &ModelCode,
        page: PageRequest,
    ) -> Result<Page<StoredTx>, StorageError> {
        self.index_page(cf::MODEL_HISTORY, &model_code.to_string(), page)
    }

    /// Records naming an enterprise: its enrolment and key changes, its models, production,
    /// sales (as seller or enterprise buyer) and recalls.
    pub fn enterprise_records(
        &self,
        uscc: &Uscc,
        page: PageRequest,
    ) -> Result<Page<StoredTx>, StorageError> {
        self.index_page(cf::ENTERPRISE_RECORDS, &uscc.to_string(), page)
    }

    /// Records naming a CCC certificate: the registrations of models certified under it and the
    /// profiles listing it.
    pub fn certificate_records(
        &self,
        certificate: &CccCertificate,
        page: PageRequest,
    ) -> Result<Page<StoredTx>, StorageError> {
        self.index_page(cf::CERTIFICATE_RECORDS, &certificate.to_string(), page)
    }

    /// The [`StateDigest`] of the committed state; equals `MemState::digest` of the same entries.
    pub fn state_digest(&self) -> Result<Hash32, StorageError> {
        let mut digest = StateDigest::new();
        for item in self.db.iterator_cf(self.cf(cf::STATE), IteratorMode::Start) {
            let (key, value) = item.map_err(StorageError::backend("scan state"))?;
            digest.add(&key, unseal(cf::STATE, &key, &value)?);
        }
        Ok(digest.finish())
    }

    fn decode_header(&self, height: u64, payload: &[u8]) -> Result<Header, StorageError> {
        let key = height_key(height);
        let bad = |reason: String| corrupt(cf::HEADERS, &key, reason);
        if payload.len() < 32 {
            return Err(bad("shorter than a block hash".into()));
        }
        let (stored_hash, bytes) = payload.split_at(32);
        let header = Header::from_bytes(bytes).map_err(|error| bad(error.to_string()))?;
        if header.hash().as_bytes()[..] != stored_hash[..] {
            return Err(bad(
                "the header does not hash to its stored block hash".into()
            ));
        }
        if header.height != height {
            return Err(bad(format!("the header says height {}", header.height)));
        }
        if header.chain_id != self.genesis.chain_id {
            return Err(bad(format!(
                "the header is for chain {:?}",
                header.chain_id
            )));
        }
        Ok(header)
    }

    /// Reads a block's transactions and checks them against the header's count and body hash.
    fn body(&self, header: &Header) -> Result<Body, StorageError> {
        let height = header.height;
        let key = height_key(height);
        let bad = |reason: String| corrupt(cf::BLOCK_TXS, &key, reason);
        let expected = header.tx_count as usize;
        let mut transactions = Vec::with_capacity(expected.min(1024));
        let prefix = schema::block_txs_prefix(height);
        for item in self.prefix_iter(cf::BLOCK_TXS, &prefix, IteratorMode::Start) {
            let (key, value) = item.map_err(StorageError::backend("scan block body"))?;
            let index = transactions.len();
            if index == expected {
                return Err(bad(format!(
                    "more than the header's {expected} transactions"
                )));
            }
            let at = decode_position(&key);
            if at.map(|at| at.index as usize) != Some(index) {
                return Err(bad(format!("transaction {index} is missing")));
            }
            let payload = unseal(cf::BLOCK_TXS, &key, &value)?;
            let envelope = Envelope::from_bytes(payload)
                .map_err(|error| corrupt(cf::BLOCK_TXS, &key, error.to_string()))?;
            transactions.push(envelope);
        }
        if transactions.len() != expected {
            return Err(bad(format!(
                "{} transactions stored, the header says {expected}",
                transactions.len()
            )));
        }
        let body = Body { transactions };
        if body.hash() != header.body_hash {
            return Err(bad(
                "the body does not hash to the header's body hash".into()
            ));
        }
        Ok(body)
    }

    /// The transaction an index entry points to, which must exist and, if given, have `id`.
    fn indexed_tx(
        &self,
        family: &'static str,
        key: &[u8],
        at: TxLocation,
        id: Option<&TxId>,
    ) -> Result<StoredTx, StorageError> {
        let tx = self.transaction_at(at)?.ok_or_else(|| {
            corrupt(
                family,
                key,
                format!("points to missing transaction {}:{}", at.height, at.index),
            )
        })?;
        if id.is_some_and(|id| id != &tx.id) {
            return Err(corrupt(
                family,
                key,
                format!(
                    "points to {}:{}, which holds another transaction",
                    at.height, at.index
                ),
            ));
        }
        Ok(tx)
    }

    fn index_page(
        &self,
        family: &'static str,
        text: &str,
        page: PageRequest,
    ) -> Result<Page<StoredTx>, StorageError> {
        check_limit("records per page", page.limit, MAX_PAGE_RECORDS)?;
        let prefix = text_prefix(text);
        let start = page.after.map(|after| text_position_key(text, after));
        let mode = match (page.order, &start) {
            (Order::OldestFirst, None) => IteratorMode::Start,
            (Order::NewestFirst, None) => IteratorMode::End,
            (Order::OldestFirst, Some(start)) => IteratorMode::From(start, Direction::Forward),
            (Order::NewestFirst, Some(start)) => IteratorMode::From(start, Direction::Reverse),
        };
        let mut items = Vec::with_capacity(page.limit.min(64));
        let mut next = None;
        for item in self.prefix_iter(family, &prefix, mode) {
            let (key, value) = item.map_err(StorageError::backend("scan index"))?;
            if start.as_deref() == Some(&key[..]) {
                continue;
            }
            if items.len() == page.limit {
                next = items.last().map(|tx: &StoredTx| tx.location);
                break;
            }
            unseal(family, &key, &value)?;
            let (_, at) = split_text_position(&key)
                .ok_or_else(|| corrupt(family, &key, "not a text and a position".into()))?;
            items.push(self.indexed_tx(family, &key, at, None)?);
        }
        Ok(Page { items, next })
    }

    /// Iterates the keys of `family` that start with `prefix`, from `mode`.
    pub(crate) fn prefix_iter<'a>(
        &'a self,
        family: &str,
        prefix: &[u8],
        mode: IteratorMode<'_>,
    ) -> DBIteratorWithThreadMode<'a, DB> {
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(prefix.to_vec());
        if let Some(end) = schema::prefix_end(prefix) {
            options.set_iterate_upper_bound(end);
        }
        self.db.iterator_cf_opt(self.cf(family), options, mode)
    }
}

/// The committed state as of one head, however many blocks commit while it is read.
///
/// # Reading at one height
///
/// [`Store::snapshot`] takes it between two commits, so [`Snapshot::head`] is exactly the block
/// whose state it reads. The store's indexes, blocks and transactions are only ever added to,
/// so reading them through the [`Store`] with positions at or below `head().height` (for a
/// history page, newest first from [`Snapshot::below_head`]) gives the same answers as a view
/// of the whole database at that head would. State entries change from block to block, so
/// read them through the snapshot ([`StateRead`], [`Snapshot::enterprises`]).
///
/// RocksDB keeps every value the snapshot can see until it is dropped: hold it for one
/// request, not longer.
pub struct Snapshot<'a> {
    store: &'a Store,
    view: SnapshotWithThreadMode<'a, DB>,
    head: Head,
}

/// One page of [`Snapshot::enterprises`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterprisePage {
    /// Enrolled enterprises in ascending USCC order.
    pub items: Vec<EnterpriseState>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<Uscc>,
}

impl Store {
    /// A consistent view of the committed state at the current head. Commits wait only while
    /// it is taken, an instant.
    pub fn snapshot(&self) -> Snapshot<'_> {
        self.with_commits_paused(|head, _| Snapshot {
            store: self,
            view: self.db.snapshot(),
            head,
        })
    }
}

impl std::fmt::Debug for Snapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

impl<'a> Snapshot<'a> {
    /// The block whose state this is: the head when the snapshot was taken.
    pub fn head(&self) -> Head {
        self.head
    }

    /// The store the snapshot was taken of, for reads of its append-only indexes.
    pub fn store(&self) -> &'a Store {
        self.store
    }

    /// The cursor that starts a newest-first history page at the head: every position it
    /// yields is at or below `head().height`, whatever was committed since.
    pub fn below_head(&self) -> TxLocation {
        TxLocation {
            height: self.head.height.saturating_add(1),
            index: 0,
        }
    }

    /// Up to `limit` enrolled enterprises (1 to [`MAX_ENTERPRISES_PER_PAGE`]) in ascending USCC
    /// order, starting after `after`: a scan of the state entries under
    /// [`StateKey::ENTERPRISE_PREFIX`].
    pub fn enterprises(
        &self,
        after: Option<&Uscc>,
        limit: usize,
    ) -> Result<EnterprisePage, StorageError> {
        check_limit("enterprises per page", limit, MAX_ENTERPRISES_PER_PAGE)?;
        let prefix = [StateKey::ENTERPRISE_PREFIX];
        let start = after.map(|uscc| StateKey::Enterprise(uscc.clone()).to_bytes());
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(prefix.to_vec());
        if let Some(end) = schema::prefix_end(&prefix) {
            options.set_iterate_upper_bound(end);
        }
        let mode = match &start {
            Some(start) => IteratorMode::From(start, Direction::Forward),
            None => IteratorMode::Start,
        };
        let mut items: Vec<EnterpriseState> = Vec::with_capacity(limit.min(64));
        let mut next = None;
        for item in self
            .view
            .iterator_cf_opt(self.store.cf(cf::STATE), options, mode)
        {
            let (key, value) = item.map_err(StorageError::backend("scan enterprises"))?;
            if start.as_deref() == Some(&key[..]) {
                continue;
            }
            if items.len() == limit {
                next = items.last().map(|state| state.profile.uscc.clone());
                break;
            }
            items.push(decode_enterprise(&key, &value)?);
        }
        Ok(EnterprisePage { items, next })
    }
}

impl Snapshot<'_> {
    /// Up to `limit` open recalls (1 to [`MAX_ENTERPRISES_PER_PAGE`]), one entry per subject
    /// with the recall's id, in the order of their state keys (codes by text, then models),
    /// starting after `after`: a scan of the state entries under
    /// [`StateKey::OPEN_RECALL_PREFIX`].
    pub fn open_recalls(
        &self,
        after: Option<&Subject>,
        limit: usize,
    ) -> Result<StatePage<Subject, TxId>, StorageError> {
        check_limit("open recalls per page", limit, MAX_ENTERPRISES_PER_PAGE)?;
        let start = after.map(|subject| StateKey::OpenRecall(subject.clone()).to_bytes());
        self.scan_state(
            &[StateKey::OPEN_RECALL_PREFIX],
            start,
            limit,
            |key, value| match (key, value) {
                (StateKey::OpenRecall(subject), StateValue::OpenRecall(id)) => Some((subject, id)),
                _ => None,
            },
        )
    }

    /// Up to `limit` holders of `code` (1 to [`MAX_ENTERPRISES_PER_PAGE`]) with the units each
    /// holds, in USCC order, starting after `after`: a scan of the code's holding entries.
    /// A holder whose units have all moved on holds 0 and is left out.
    pub fn holders(
        &self,
        code: &TraceCode,
        after: Option<&Uscc>,
        limit: usize,
    ) -> Result<StatePage<Uscc, u64>, StorageError> {
        check_limit("holders per page", limit, MAX_ENTERPRISES_PER_PAGE)?;
        let start = after.map(|uscc| StateKey::Holding(code.clone(), uscc.clone()).to_bytes());
        let mut page = self.scan_state(
            &StateKey::holding_prefix(code),
            start,
            limit,
            |key, value| match (key, value) {
                (StateKey::Holding(held, uscc), StateValue::Holding(units)) if &held == code => {
                    Some((uscc, units))
                }
                _ => None,
            },
        )?;
        page.items.retain(|(_, units)| *units > 0);
        Ok(page)
    }

    /// Up to `limit` logistic units `code` is packed in directly (1 to
    /// [`MAX_ENTERPRISES_PER_PAGE`]), with the units of it each holds, in unit order: a scan of
    /// the code's contained entries. A serialised item or a unit is in one at most.
    pub fn units_containing(
        &self,
        code: &TraceCode,
        limit: usize,
    ) -> Result<StatePage<UnitCode, u64>, StorageError> {
        check_limit("units per page", limit, MAX_ENTERPRISES_PER_PAGE)?;
        self.scan_state(
            &StateKey::contained_prefix(code),
            None,
            limit,
            |key, value| match (key, value) {
                (StateKey::Contained(inside, unit), StateValue::Contained(units))
                    if &inside == code =>
                {
                    Some((unit, units))
                }
                _ => None,
            },
        )
    }

    /// Up to `limit` state entries under `prefix`, after the key `start` (from the first
    /// without it), each decoded by `decode`, which refuses (`None`) an entry of another kind.
    fn scan_state<K: Clone, V>(
        &self,
        prefix: &[u8],
        start: Option<Vec<u8>>,
        limit: usize,
        decode: impl Fn(StateKey, StateValue) -> Option<(K, V)>,
    ) -> Result<StatePage<K, V>, StorageError> {
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(prefix.to_vec());
        if let Some(end) = schema::prefix_end(prefix) {
            options.set_iterate_upper_bound(end);
        }
        let mode = match &start {
            Some(start) => IteratorMode::From(start, Direction::Forward),
            None => IteratorMode::From(prefix, Direction::Forward),
        };
        let mut items: Vec<(K, V)> = Vec::with_capacity(limit.min(64));
        let mut next = None;
        for item in self
            .view
            .iterator_cf_opt(self.store.cf(cf::STATE), options, mode)
        {
            let (key, value) = item.map_err(StorageError::backend("scan state"))?;
            if start.as_deref() == Some(&key[..]) {
                continue;
            }
            if items.len() == limit {
                next = items.last().map(|(key, _)| key.clone());
                break;
            }
            let bad = |reason: String| corrupt(cf::STATE, &key, reason);
            let payload = unseal(cf::STATE, &key, &value)?;
            let state_key = StateKey::from_bytes(&key).map_err(|error| bad(error.to_string()))?;
            let state_value = StateValue::from_bytes(&state_key, payload)
                .map_err(|error| bad(error.to_string()))?;
            let entry = decode(state_key, state_value)
                .ok_or_else(|| bad("a scan met another kind of entry".into()))?;
            items.push(entry);
        }
        Ok(StatePage { items, next })
    }
}

/// One page of a scan of state entries: [`Snapshot::open_recalls`], [`Snapshot::holders`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePage<K, V> {
    /// The entries, in key order.
    pub items: Vec<(K, V)>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<K>,
}

impl StateRead for Snapshot<'_> {
    /// Reads the state as of [`Snapshot::head`].
    fn get(&self, key: &StateKey) -> Result<Option<StateValue>, StateError> {
        let key_bytes = key.to_bytes();
        let Some(value) = self
            .view
            .get_pinned_cf_opt(self.store.cf(cf::STATE), &key_bytes, ReadOptions::default())
            .map_err(StorageError::backend("read state"))?
        else {
            return Ok(None);
        };
        let payload = unseal(cf::STATE, &key_bytes, &value)?;
        StateValue::from_bytes(key, payload).map(Some)
    }
}

/// An enterprise state entry read by a scan: its key must name an enterprise, its value must be
/// one, and the value's USCC must be the key's.
fn decode_enterprise(key: &[u8], value: &[u8]) -> Result<EnterpriseState, StorageError> {
    let bad = |reason: String| corrupt(cf::STATE, key, reason);
    let payload = unseal(cf::STATE, key, value)?;
    let state_key = StateKey::from_bytes(key).map_err(|error| bad(error.to_string()))?;
    let StateKey::Enterprise(uscc) = &state_key else {
        return Err(bad("an enterprise scan met another kind of key".into()));
    };
    match StateValue::from_bytes(&state_key, payload).map_err(|error| bad(error.to_string()))? {
        StateValue::Enterprise(state) if &state.profile.uscc == uscc => Ok(state),
        StateValue::Enterprise(state) => Err(bad(format!(
            "the entry holds enterprise {}",
            state.profile.uscc
        ))),
        _ => Err(bad("not an enterprise".into())),
    }
}

fn check_limit(what: &'static str, limit: usize, max: usize) -> Result<(), StorageError> {
    if limit == 0 || limit > max {
        return Err(StorageError::Limit {
            what,
            max,
            found: limit,
        });
    }
    Ok(())
}
