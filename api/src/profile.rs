//! Gather what the chain says about one enterprise as of one block, for its registration view,
//! its supplier report and its score: registration and keys from state, the figures of its
//! whole history that execution keeps ([`suyuan_ledger::facts`]), and the newest of the
//! evidence behind them.
//!
//! # Reading at one block
//!
//! State is read through a [`Snapshot`], so a block committed while a request runs changes
//! nothing in the answer, and the report and the score of one enterprise at one height are the
//! same on every node. Both are computed from one [`EnterpriseData`]: they cannot disagree.
//!
//! # Figures whole, evidence paged
//!
//! The figures ([`EnterpriseFacts`]) cover the whole history and cost one read. The evidence
//! is read from the enterprise's numbered listings in state, newest first, at most
//! [`MAX_LISTED_READ`] entries of each (and [`MAX_PROFILE_CODES`] codes): no flood of other
//! records naming the enterprise can push an inspection or a recall out of them.
//! [`Reads::truncated`] says when a listing held more than was read: the evidence lists the
//! newest part, the figures still count all of it, and [`Reads::listings`] says where the rest
//! starts, for `GET /v1/enterprises/{uscc}/evidence` to page through (`crate::routes::evidence`).
//!
//! Every entry read is also spent from the request's [`Budget`], at most
//! [`MAX_PROFILE_ENTRIES`] per enterprise: a ranking gathers many enterprises under one
//! budget, and a request that has gone stops between two reads ([`ProfileError::Stopped`]).
//!
//! # Errors
//!
//! No HTTP here: a failure is a [`ProfileError`], which [`crate::error`] maps to a response.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::crypto::PublicKey;
use suyuan_ledger::facts::{CodeFacts, EnterpriseFacts, FactsRead, Listed, Listing, ModelFacts};
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::record::{Inspection, Recall, Record, Subject, TraceCode};
use suyuan_ledger::state::{
    CodeState, EnterpriseState, KeyBinding, KeyStatus, ModelState, StateError, StateReadExt,
    TxLocation,
};
use suyuan_ledger::text::Date;
use suyuan_ledger::tx::TxId;
use suyuan_storage::query::Snapshot;
use suyuan_storage::{Order, PageRequest, StorageError, StoredTx};

use crate::committed::{BlockHashes, CommittedError, committed_payload};
use crate::reads::{Budget, ReadStopped};
use crate::types::CategoryView;
use crate::views::{ComputedAt, EvidenceListing, KeyHolder, ListingRead, Reads, RecordRef};

/// Most entries of each of an enterprise's listings (models, inspections, recalls, dated
/// records) one report or score reads, newest first.
pub(crate) const MAX_LISTED_READ: usize = 1_000;

/// Most commissioned codes one report or score reads, newest first.
pub(crate) const MAX_PROFILE_CODES: usize = 1_000;

/// Listings read: models, codes, inspections, recalls, dated records.
const LISTINGS: usize = 5;

/// Most models without standards whose current registration record is looked for, to name it
/// among the report's missing fields.
pub(crate) const MAX_REGISTRATIONS_READ: usize = 100;

/// Most records read, newest first from one height, to find the record of that height that
/// registered a model as it stands or revoked a key.
const MAX_HEIGHT_PAGE: usize = 16;

/// A page of one listing's entries newest first, from the last entry at `height` down: the
/// record committed at that height is among its first [`MAX_HEIGHT_PAGE`] entries.
fn newest_at(height: u64) -> PageRequest {
    PageRequest {
        after: Some(TxLocation {
            height: height.saturating_add(1),
            index: 0,
        }),
        limit: MAX_HEIGHT_PAGE,
        order: Order::NewestFirst,
    }
}

/// Most entries one [`gather`] spends from its budget: its figures (1); per model read, the
/// entry and the model (2); per code, the entry, its state and facts, its commissioning and its
/// model's facts and open recall (6 at most); per inspection or dated record, the entry and
/// the record (2); per recall, the entry, the record, its state and its closing (4); and a
/// page from one height per revoked key and per model registration looked for.
pub(crate) const MAX_PROFILE_ENTRIES: u64 =
    (1 + (2 + 2 + 2 + 4) * MAX_LISTED_READ
        + 6 * MAX_PROFILE_CODES
        + (MAX_KEYS + MAX_REGISTRATIONS_READ) * MAX_HEIGHT_PAGE) as u64;

/// Most keys whose revoking record is looked for: every key an enterprise may hold.
const MAX_KEYS: usize = suyuan_ledger::limits::MAX_LIST_ENTRIES;

/// One enterprise's report costs no more than it did when it read a window of 10,000 index
/// entries and its recalls' closings: the least read budget a node may be configured with
/// stays what it was.
const _: () = assert!(MAX_PROFILE_ENTRIES <= 20_000);

/// Why what the chain says about an enterprise could not be gathered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProfileError {
    /// The enterprise is not enrolled as of the block: the client's fault.
    #[error("no enterprise {uscc} is enrolled")]
    UnknownEnterprise {
        /// The enterprise asked for.
        uscc: Uscc,
    },
    /// State could not be read.
    #[error(transparent)]
    State(#[from] StateError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A committed record could not be read back with its block.
    #[error(transparent)]
    Committed(#[from] CommittedError),
    /// The request is gone, or read more than its budget.
    #[error(transparent)]
    Stopped(#[from] ReadStopped),
    /// State lists a key of the enterprise that it holds no binding for.
    #[error("key {key} of {uscc} has no binding in state")]
    UnboundKey {
        /// The key.
        key: PublicKey,
        /// The enterprise whose keys list it.
        uscc: Uscc,
    },
    /// The snapshot's head block is not in the store.
    #[error("the head block {height} is not stored")]
    MissingHeadBlock {
        /// The head's height.
        height: u64,
    },
    /// The stored head block does not hash to the snapshot's head hash.
    #[error("block {height} does not hash to the head's hash")]
    HeadHashMismatch {
        /// The head's height.
        height: u64,
    },
    /// An enrolled enterprise has no figures in state.
    #[error("enterprise {uscc} is enrolled but has no figures in state")]
    MissingFacts {
        /// The enterprise.
        uscc: Uscc,
    },
    /// A listing's entry below its length is missing, or of the wrong kind.
    #[error("entry {number} of {uscc}'s {listing:?} listing is missing or of another kind")]
    MissingListed {
        /// The enterprise.
        uscc: Uscc,
        /// The listing.
        listing: Listing,
        /// The entry's number.
        number: u64,
    },
    /// A listed model or code that state does not hold.
    #[error("{what} {name} is listed but not in state")]
    MissingEntry {
        /// "model" or "code".
        what: &'static str,
        /// It, printed.
        name: String,
    },
    /// A listed transaction the store does not hold, or not by the head.
    #[error("transaction {id} is listed but not committed by the head")]
    MissingTransaction {
        /// The transaction.
        id: TxId,
    },
    /// A listed transaction holds another kind of record than its listing's.
    #[error("transaction {id} is listed as {listing:?} but holds a {found} record")]
    WrongRecord {
        /// The transaction.
        id: TxId,
        /// The listing.
        listing: Listing,
        /// The record's type.
        found: &'static str,
    },
    /// A listed recall that state does not hold.
    #[error("recall {id} is committed but not in state")]
    MissingRecall {
        /// The recall's transaction.
        id: TxId,
    },
}

/// A committed record, with where and when it was committed and who signed it.
#[derive(Debug, Clone)]
pub(crate) struct Fact {
    /// Its transaction id.
    pub(crate) id: TxId,
    /// Its position.
    pub(crate) at: TxLocation,
    /// Its block's time.
    pub(crate) block_time_ms: u64,
    /// Who signed it.
    pub(crate) signer: PublicKey,
    /// The record.
    pub(crate) record: Record,
}

/// Transaction `id` as `snapshot` sees it: refused as missing when the store does not hold it
/// or committed it after the snapshot's head.
pub(crate) fn committed_at(snapshot: &Snapshot<'_>, id: &TxId) -> Result<StoredTx, ProfileError> {
    snapshot
        .store()
        .transaction(id)?
        .filter(|stored| stored.location.height <= snapshot.head().height)
        .ok_or(ProfileError::MissingTransaction { id: *id })
}

impl Fact {
    /// Where it is, for views.
    pub(crate) fn reference(&self) -> RecordRef {
        RecordRef {
            id: self.id,
            height: self.at.height,
            index: self.at.index,
            block_time_ms: self.block_time_ms,
        }
    }
}

/// An enterprise's registration and keys as of one block.
#[derive(Debug)]
pub(crate) struct Registered {
    /// The block.
    pub(crate) computed_at: ComputedAt,
    /// Its state entry: profile, registrar, keys.
    pub(crate) state: EnterpriseState,
    /// Each key ever bound to it, in binding order, with its binding.
    pub(crate) keys: Vec<(PublicKey, KeyBinding)>,
    /// Who enrolled it.
    pub(crate) registrar: KeyHolder,
    /// Who answers for it now.
    pub(crate) current_registrar: KeyHolder,
    /// The transfer pending, from and to whom.
    pub(crate) pending_transfer: Option<(KeyHolder, KeyHolder)>,
}

/// A product model of the enterprise.
#[derive(Debug)]
pub(crate) struct ModelEntry {
    /// Its state: the model as last registered.
    pub(crate) state: ModelState,
    /// That registration's record, looked for only when the model names no standards.
    pub(crate) registration: Option<Fact>,
    /// Its category in the consortium's catalogue.
    pub(crate) category: Option<CategoryView>,
}

/// A commissioned code and what the records naming it show.
#[derive(Debug)]
pub(crate) struct CodeEntry {
    /// The code.
    pub(crate) code: TraceCode,
    /// Its state: model, producer, quantity, commissioning.
    pub(crate) state: CodeState,
    /// What the records naming the code itself show.
    pub(crate) facts: CodeFacts,
    /// What the records naming its model show.
    pub(crate) model: ModelFacts,
    /// Recalls of the batch it belongs to, for a serialised item of a batch.
    pub(crate) batch_recalls: u64,
    /// Whether a recall of the code, its batch or its model is open.
    pub(crate) open_recall: bool,
    /// Its commissioning record, shared by every code it commissioned.
    pub(crate) commissioned: Arc<Fact>,
}

impl CodeEntry {
    /// Inspections of the code itself or of its model.
    pub(crate) fn inspections(&self) -> u64 {
        self.facts.inspections + self.model.inspections
    }

    /// Non-conformant ones among them.
    pub(crate) fn failed_inspections(&self) -> u64 {
        self.facts.failed_inspections + self.model.failed_inspections
    }

    /// Whether a recall of the code, its batch or its model was ever issued.
    pub(crate) fn recalled(&self) -> bool {
        self.facts.recalls + self.model.recalls + self.batch_recalls > 0
    }

    /// Whether `subject` covers it: the code, its model or its batch.
    pub(crate) fn covered_by(&self, subject: &Subject) -> bool {
        self.state.covered_by(&self.code, subject)
    }
}

/// A recall of the enterprise's products, as of the block.
#[derive(Debug)]
pub(crate) struct RecallFacts {
    /// The recall record.
    pub(crate) fact: Fact,
    /// The recall.
    pub(crate) recall: Recall,
    /// The record that closed it, if it was closed by the block.
    pub(crate) closing: Option<Fact>,
}

/// What the chain says about one enterprise as of one block; see the module docs.
#[derive(Debug)]
pub(crate) struct EnterpriseData {
    /// Registration and keys.
    pub(crate) registered: Registered,
    /// The figures of its whole history.
    pub(crate) facts: EnterpriseFacts,
    /// Its newest product models, in GTIN order.
    pub(crate) models: Vec<ModelEntry>,
    /// Codes it commissioned, newest first.
    pub(crate) codes: Vec<CodeEntry>,
    /// Inspections of its codes and models, newest first.
    pub(crate) inspections: Vec<(Fact, Inspection)>,
    /// Recalls of its products, newest first.
    pub(crate) recalls: Vec<RecallFacts>,
    /// Its commissionings and its sales as seller, newest first.
    pub(crate) events: Vec<Fact>,
    /// The record that revoked or rotated out each of its revoked keys, where found.
    pub(crate) retired: BTreeMap<PublicKey, Fact>,
    /// Who holds each key that signed an inspection or a recall.
    holders: BTreeMap<PublicKey, KeyHolder>,
    /// What was read.
    pub(crate) reads: Reads,
}

impl EnterpriseData {
    /// The enterprise.
    pub(crate) fn uscc(&self) -> &Uscc {
        &self.registered.state.profile.uscc
    }

    /// Who holds `key`; keys that signed what the data holds were all resolved when read.
    pub(crate) fn holder(&self, key: &PublicKey) -> KeyHolder {
        self.holders.get(key).cloned().unwrap_or(KeyHolder {
            public_key: *key,
            name: None,
            uscc: None,
            registrar: false,
            regulator: false,
        })
    }

    /// The newest recall read that covers `code`.
    pub(crate) fn recall_of(&self, code: &CodeEntry) -> Option<&RecallFacts> {
        self.recalls
            .iter()
            .find(|recall| recall.recall.subjects.iter().any(|s| code.covered_by(s)))
    }
}

/// The enterprise's registration as of the snapshot's head;
/// [`ProfileError::UnknownEnterprise`] if it is not enrolled then.
pub(crate) fn registered(snapshot: &Snapshot<'_>, uscc: &Uscc) -> Result<Registered, ProfileError> {
    let computed_at = computed_at(snapshot)?;
    let state = snapshot
        .enterprise(uscc)?
        .ok_or_else(|| ProfileError::UnknownEnterprise { uscc: uscc.clone() })?;
    let mut keys = Vec::with_capacity(state.keys.len());
    for key in &state.keys {
        let binding = snapshot
            .key_binding(key)?
            .ok_or_else(|| ProfileError::UnboundKey {
                key: *key,
                uscc: uscc.clone(),
            })?;
        keys.push((*key, binding));
    }
    let registrar = key_holder(snapshot, &state.registered_by)?;
    let current_registrar = key_holder(snapshot, &state.registrar())?;
    let pending_transfer = match &state.pending_transfer {
        Some(pending) => Some((
            key_holder(snapshot, &pending.from)?,
            key_holder(snapshot, &pending.to)?,
        )),
        None => None,
    };
    Ok(Registered {
        computed_at,
        state,
        keys,
        registrar,
        current_registrar,
        pending_transfer,
    })
}

/// Everything the report and the score need about `uscc`, as of the snapshot's head, each
/// entry read spent from `budget`.
pub(crate) fn gather(
    snapshot: &Snapshot<'_>,
    uscc: &Uscc,
    budget: &Budget,
) -> Result<EnterpriseData, ProfileError> {
    let registered = registered(snapshot, uscc)?;
    budget.spend(1)?;
    let facts = snapshot
        .enterprise_facts(uscc)?
        .ok_or_else(|| ProfileError::MissingFacts { uscc: uscc.clone() })?;
    let mut reader = Reader {
        snapshot,
        budget,
        uscc,
        facts: &facts,
        blocks: BlockHashes::default(),
        entries_read: 0,
        truncated: false,
        listings: Vec::with_capacity(LISTINGS),
    };
    let models = read_models(&mut reader)?;
    let codes = read_codes(&mut reader)?;
    let inspections = read_inspections(&mut reader)?;
    let recalls = read_recalls(&mut reader)?;
    let events = reader.records(Listing::Events, MAX_LISTED_READ)?;
    let retired = read_retirements(&mut reader, &registered)?;
    let signers: BTreeSet<PublicKey> = inspections
        .iter()
        .map(|(fact, _)| fact.signer)
        .chain(recalls.iter().flat_map(|recall| {
            std::iter::once(recall.fact.signer).chain(recall.closing.as_ref().map(|f| f.signer))
        }))
        .collect();
    let holders = signers
        .into_iter()
        .map(|key| Ok((key, key_holder(snapshot, &key)?)))
        .collect::<Result<_, ProfileError>>()?;
    let reads = Reads {
        records_read: reader.entries_read,
        max_records: LISTINGS * MAX_LISTED_READ,
        codes_read: codes.len(),
        max_codes: MAX_PROFILE_CODES,
        truncated: reader.truncated,
        listings: reader.listings,
    };
    Ok(EnterpriseData {
        registered,
        facts,
        models,
        codes,
        inspections,
        recalls,
        events,
        retired,
        holders,
        reads,
    })
}

/// The snapshot's head block, with its time.
pub(crate) fn computed_at(snapshot: &Snapshot<'_>) -> Result<ComputedAt, ProfileError> {
    let head = snapshot.head();
    let (block_hash, block_time_ms) = match head.height {
        0 => (head.hash, snapshot.store().genesis().genesis_time_ms),
        height => {
            let header = snapshot.store().header(height)?;
            let header = header.ok_or(ProfileError::MissingHeadBlock { height })?;
            (header.hash(), header.time_ms)
        }
    };
    if block_hash != head.hash {
        return Err(ProfileError::HeadHashMismatch {
            height: head.height,
        });
    }
    Ok(ComputedAt {
        height: head.height,
        block_hash,
        block_time_ms,
        date: Date::from_unix_ms_china(block_time_ms),
    })
}

/// Who holds `key`: a genesis member by name, or an enterprise by its binding.
pub(crate) fn key_holder(
    snapshot: &Snapshot<'_>,
    key: &PublicKey,
) -> Result<KeyHolder, ProfileError> {
    let genesis: &Genesis = snapshot.store().genesis();
    let registrar = genesis.registrar(key);
    let regulator = genesis.regulator(key);
    let mut holder = KeyHolder {
        public_key: *key,
        name: registrar
            .or(regulator)
            .map(|member| member.name.to_string()),
        uscc: None,
        registrar: registrar.is_some(),
        regulator: regulator.is_some(),
    };
    if let Some(binding) = snapshot.key_binding(key)? {
        let enterprise = snapshot.enterprise(&binding.uscc)?;
        if holder.name.is_none() {
            holder.name = enterprise.map(|state| state.profile.name.to_string());
        }
        holder.uscc = Some(binding.uscc);
    }
    Ok(holder)
}

/// Reads an enterprise's listings, newest first, within the bounds and the budget.
struct Reader<'s, 'a> {
    snapshot: &'s Snapshot<'a>,
    budget: &'s Budget,
    uscc: &'s Uscc,
    facts: &'s EnterpriseFacts,
    blocks: BlockHashes,
    entries_read: usize,
    truncated: bool,
    listings: Vec<ListingRead>,
}

impl Reader<'_, '_> {
    /// The newest `max` entries of `listing`, newest first.
    fn listed(&mut self, listing: Listing, max: usize) -> Result<Vec<Listed>, ProfileError> {
        let length = self.facts.listed(listing);
        let read = length.min(max as u64);
        self.truncated |= read < length;
        self.listings.push(ListingRead {
            listing: EvidenceListing::of(listing),
            total: length,
            read,
            next_before: (read < length).then_some(length - read),
        });
        let mut entries = Vec::with_capacity(read as usize);
        for number in (length - read..length).rev() {
            self.budget.spend(1)?;
            self.entries_read += 1;
            let entry = self.snapshot.listed(self.uscc, listing, number)?;
            entries.push(entry.ok_or_else(|| ProfileError::MissingListed {
                uscc: self.uscc.clone(),
                listing,
                number,
            })?);
        }
        Ok(entries)
    }

    /// The records of the newest `max` entries of a listing of transactions, newest first.
    fn records(&mut self, listing: Listing, max: usize) -> Result<Vec<Fact>, ProfileError> {
        let mut facts = Vec::new();
        for entry in self.listed(listing, max)? {
            let Listed::Record(id) = entry else {
                return Err(self.wrong_kind(listing));
            };
            facts.push(self.transaction(&id)?);
        }
        Ok(facts)
    }

    /// A committed transaction by id, parsed, with its block's time; refused if committed
    /// after the head.
    fn transaction(&mut self, id: &TxId) -> Result<Fact, ProfileError> {
        self.budget.spend(1)?;
        let stored = committed_at(self.snapshot, id)?;
        self.fact(stored)
    }

    fn fact(&mut self, stored: StoredTx) -> Result<Fact, ProfileError> {
        let payload = committed_payload(&stored)?;
        let at = stored.location;
        Ok(Fact {
            id: stored.id,
            at,
            block_time_ms: self.blocks.time_ms(self.snapshot.store(), at.height)?,
            signer: stored.envelope.signer,
            record: payload.record,
        })
    }

    fn wrong_kind(&self, listing: Listing) -> ProfileError {
        ProfileError::MissingListed {
            uscc: self.uscc.clone(),
            listing,
            number: self.facts.listed(listing),
        }
    }
}

/// The enterprise's newest models, from state, in GTIN order, with the current registration of
/// the newest [`MAX_REGISTRATIONS_READ`] that name no standards.
fn read_models(reader: &mut Reader<'_, '_>) -> Result<Vec<ModelEntry>, ProfileError> {
    let mut models = Vec::new();
    let mut looked_up = 0;
    for entry in reader.listed(Listing::Models, MAX_LISTED_READ)? {
        let Listed::Model(gtin) = entry else {
            return Err(reader.wrong_kind(Listing::Models));
        };
        reader.budget.spend(1)?;
        let state = model(reader.snapshot, &gtin)?;
        let registration = if state.model.standards.is_empty() && looked_up < MAX_REGISTRATIONS_READ
        {
            looked_up += 1;
            registration(reader, &state)?
        } else {
            None
        };
        let catalogue = reader.snapshot.store().genesis().catalogue();
        let category = state
            .model
            .category
            .as_ref()
            .and_then(|id| catalogue.category(id))
            .map(CategoryView::new);
        models.push(ModelEntry {
            state,
            registration,
            category,
        });
    }
    models.sort_by(|a, b| a.state.model.model_code.cmp(&b.state.model.model_code));
    Ok(models)
}

/// The record that registered `state` as it stands: the newest `register_product` of the
/// model at the height state names.
fn registration(
    reader: &mut Reader<'_, '_>,
    state: &ModelState,
) -> Result<Option<Fact>, ProfileError> {
    let height = state.registered_at_height;
    let page = newest_at(height);
    let page = reader
        .snapshot
        .store()
        .model_records(&state.model.model_code, page)?;
    reader.budget.spend(page.items.len())?;
    for stored in page.items {
        if stored.location.height != height {
            break;
        }
        let fact = reader.fact(stored)?;
        if matches!(&fact.record, Record::RegisterProduct(model) if model == &state.model) {
            return Ok(Some(fact));
        }
    }
    Ok(None)
}

fn model(snapshot: &Snapshot<'_>, model_code: &ModelCode) -> Result<ModelState, ProfileError> {
    snapshot
        .model(model_code)?
        .ok_or_else(|| ProfileError::MissingEntry {
            what: "model",
            name: model_code.to_string(),
        })
}

/// The enterprise's newest codes, with what the records naming each and its model show.
fn read_codes(reader: &mut Reader<'_, '_>) -> Result<Vec<CodeEntry>, ProfileError> {
    let mut codes = Vec::new();
    let mut commissionings: BTreeMap<TxId, Arc<Fact>> = BTreeMap::new();
    let mut models: BTreeMap<ModelCode, (ModelFacts, bool)> = BTreeMap::new();
    for entry in reader.listed(Listing::Codes, MAX_PROFILE_CODES)? {
        let Listed::Code(code) = entry else {
            return Err(reader.wrong_kind(Listing::Codes));
        };
        reader.budget.spend(2)?;
        let snapshot = reader.snapshot;
        let state = snapshot
            .code(&code)?
            .ok_or_else(|| ProfileError::MissingEntry {
                what: "code",
                name: code.to_string(),
            })?;
        let facts = snapshot.code_facts(&code)?;
        let (model, model_open) = match models.get(&state.model_code) {
            Some(known) => known.clone(),
            None => {
                reader.budget.spend(2)?;
                let subject = Subject::Model(state.model_code.clone());
                let known = (
                    snapshot.model_facts(&state.model_code)?,
                    snapshot.open_recall(&subject)?.is_some(),
                );
                models.insert(state.model_code.clone(), known.clone());
                known
            }
        };
        let mut open_recall = model_open
            || snapshot
                .open_recall(&Subject::Code(code.clone()))?
                .is_some();
        // A recall of the batch an item belongs to covers the item.
        let mut batch_recalls = 0;
        if let Some(batch) = &state.batch {
            reader.budget.spend(2)?;
            batch_recalls = snapshot.code_facts(batch)?.recalls;
            open_recall = open_recall
                || snapshot
                    .open_recall(&Subject::Code(batch.clone()))?
                    .is_some();
        }
        let commissioned = match commissionings.get(&state.commissioned_by) {
            Some(fact) => Arc::clone(fact),
            None => {
                let fact = Arc::new(reader.transaction(&state.commissioned_by)?);
                commissionings.insert(state.commissioned_by, Arc::clone(&fact));
                fact
            }
        };
        codes.push(CodeEntry {
            code,
            state,
            facts,
            model,
            batch_recalls,
            open_recall,
            commissioned,
        });
    }
    Ok(codes)
}

/// The newest inspections of the enterprise's codes and models.
fn read_inspections(reader: &mut Reader<'_, '_>) -> Result<Vec<(Fact, Inspection)>, ProfileError> {
    let mut inspections = Vec::new();
    for fact in reader.records(Listing::Inspections, MAX_LISTED_READ)? {
        let Record::Inspect(inspection) = &fact.record else {
            return Err(wrong_record(&fact, Listing::Inspections));
        };
        let inspection = inspection.clone();
        inspections.push((fact, inspection));
    }
    Ok(inspections)
}

/// The newest recalls of the enterprise's products, each with its closing record if the head
/// holds one.
fn read_recalls(reader: &mut Reader<'_, '_>) -> Result<Vec<RecallFacts>, ProfileError> {
    let mut recalls = Vec::new();
    for fact in reader.records(Listing::Recalls, MAX_LISTED_READ)? {
        let Record::Recall(recall) = &fact.record else {
            return Err(wrong_record(&fact, Listing::Recalls));
        };
        let recall = recall.clone();
        reader.budget.spend(1)?;
        let state = reader
            .snapshot
            .recall(&fact.id)?
            .ok_or(ProfileError::MissingRecall { id: fact.id })?;
        let closing = match state.closed_by {
            Some(closing) => Some(reader.transaction(&closing)?),
            None => None,
        };
        recalls.push(RecallFacts {
            fact,
            recall,
            closing,
        });
    }
    Ok(recalls)
}

fn wrong_record(fact: &Fact, listing: Listing) -> ProfileError {
    ProfileError::WrongRecord {
        id: fact.id,
        listing,
        found: fact.record.type_name(),
    }
}

/// The record that revoked, or rotated out, each revoked key: one page of the enterprise's
/// index at the height state says the key was revoked at.
fn read_retirements(
    reader: &mut Reader<'_, '_>,
    registered: &Registered,
) -> Result<BTreeMap<PublicKey, Fact>, ProfileError> {
    let mut retired = BTreeMap::new();
    for (key, binding) in &registered.keys {
        let KeyStatus::Revoked { at_height } = binding.status else {
            continue;
        };
        let page = newest_at(at_height);
        let page = reader
            .snapshot
            .store()
            .enterprise_records(reader.uscc, page)?;
        reader.budget.spend(page.items.len())?;
        for stored in page.items {
            if stored.location.height != at_height {
                break;
            }
            let fact = reader.fact(stored)?;
            let retires = match &fact.record {
                Record::RevokeKey(record) => &record.key == key,
                Record::RotateKey(record) => &record.old_key == key,
                _ => false,
            };
            if retires {
                retired.insert(*key, fact);
                break;
            }
        }
    }
    Ok(retired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_read_budget_is_the_documented_one() {
        // docs/operators.md names it: the least `max_read_entries` a node accepts.
        assert_eq!(MAX_PROFILE_ENTRIES, 18_625);
    }
}
