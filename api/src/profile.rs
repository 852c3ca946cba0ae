//! Gather what the chain says about one enterprise as of one block, for its registration view,
//! its supplier report and its score: registration and keys from state, its own records, the
//! histories of the codes it commissioned and the records of its product models.
//!
//! # Reading at one block
//!
//! State is read through a [`Snapshot`], and every index page newest first from
//! [`Snapshot::below_head`], so a block committed while a request runs changes nothing in the
//! answer, and the report and the score of one enterprise at one height are the same on every
//! node. Both are computed from one [`EnterpriseData`]: they cannot disagree.
//!
//! # Bounds
//!
//! At most [`MAX_PROFILE_RECORDS`] index entries and [`MAX_PROFILE_CODES`] code histories are
//! read, newest first: own records, then the histories of the newest commissioned codes, then
//! the records of its models. [`Reads::truncated`] says when a bound stopped the reading.
//!
//! Every entry read is also spent from the request's [`Budget`], at most
//! [`MAX_PROFILE_ENTRIES`] per enterprise: a ranking gathers many enterprises under one
//! budget, and a request that has gone stops between two pages ([`ProfileError::Stopped`]).
//!
//! # Errors
//!
//! No HTTP here: a failure is a [`ProfileError`], which [`crate::error`] maps to a response.

use std::collections::{BTreeMap, BTreeSet};

use suyuan_ledger::codes::gs1::keys::Gtin;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::crypto::PublicKey;
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::record::{Inspection, Recall, Record, Subject, TraceCode};
use suyuan_ledger::state::{
    EnterpriseState, KeyBinding, ModelState, RecallState, StateError, StateReadExt, TxLocation,
};
use suyuan_ledger::text::Date;
use suyuan_ledger::tx::TxId;
use suyuan_storage::query::Snapshot;
use suyuan_storage::{MAX_PAGE_RECORDS, Order, Page, PageRequest, StorageError, Store, StoredTx};

use crate::committed::{BlockHashes, CommittedError, committed_payload};
use crate::reads::{Budget, ReadStopped};
use crate::views::{ComputedAt, KeyHolder, Reads, RecordRef};

/// Most index entries one enterprise's report or score reads.
pub(crate) const MAX_PROFILE_RECORDS: usize = 10_000;

/// Most commissioned codes whose histories one report or score reads.
pub(crate) const MAX_PROFILE_CODES: usize = 1_000;

/// Most entries one [`gather`] spends from its budget: the index entries it reads (at most
/// [`MAX_PROFILE_RECORDS`]) and the closing record of each recall among them (no more than
/// the records read).
pub(crate) const MAX_PROFILE_ENTRIES: u64 = 2 * MAX_PROFILE_RECORDS as u64;

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
    /// A record names a product model that state does not hold.
    #[error("model {gtin} is named by a record but not in state")]
    MissingModel {
        /// The model.
        gtin: Gtin,
    },
    /// A committed recall that state does not hold.
    #[error("recall {id} is committed but not in state")]
    MissingRecall {
        /// The recall's transaction.
        id: TxId,
    },
    /// State says a recall was closed by a transaction the store does not hold.
    #[error("recall {id} was closed by {closing}, which is not stored")]
    MissingClosing {
        /// The recall's transaction.
        id: TxId,
        /// The closing transaction state names.
        closing: TxId,
    },
    /// The state as of the head names a recall closed by a later block.
    #[error("the state of height {height} names a recall closed later")]
    ClosedLater {
        /// The head's height.
        height: u64,
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
}

/// A commissioned code and the records naming it.
#[derive(Debug)]
pub(crate) struct CodeFacts {
    /// The code.
    pub(crate) code: TraceCode,
    /// Units commissioned under it.
    pub(crate) quantity: u64,
    /// Its commissioning record.
    pub(crate) commissioned: TxLocation,
    /// Every record naming it, newest first, the commissioning among them.
    pub(crate) history: Vec<TxLocation>,
}

/// A recall of the enterprise's products, as of the block.
#[derive(Debug)]
pub(crate) struct RecallFacts<'d> {
    /// The recall record.
    pub(crate) fact: &'d Fact,
    /// The recall.
    pub(crate) recall: &'d Recall,
    /// The record that closed it, if it was closed by the block.
    pub(crate) closing: Option<&'d Fact>,
}

/// What the chain says about one enterprise as of one block; see the module docs.
#[derive(Debug)]
pub(crate) struct EnterpriseData {
    /// Registration and keys.
    pub(crate) registered: Registered,
    /// Its product models as of the block, by GTIN.
    pub(crate) models: BTreeMap<Gtin, ModelState>,
    /// Codes it commissioned, newest commissioning first.
    pub(crate) codes: Vec<CodeFacts>,
    /// The records naming the enterprise, newest first.
    own: Vec<TxLocation>,
    /// Every record read, by position.
    facts: BTreeMap<TxLocation, Fact>,
    /// The closing record of each closed recall, by recall id.
    closings: BTreeMap<TxId, TxLocation>,
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

    /// The record at `at`, which was read.
    pub(crate) fn fact(&self, at: &TxLocation) -> &Fact {
        // Every location kept in `own`, `codes` and `closings` was read into `facts`.
        &self.facts[at]
    }

    /// The records naming the enterprise, newest first.
    pub(crate) fn own(&self) -> impl Iterator<Item = &Fact> {
        self.own.iter().map(|at| self.fact(at))
    }

    /// The records naming a commissioned code, newest first.
    pub(crate) fn code_history<'d>(
        &'d self,
        code: &'d CodeFacts,
    ) -> impl Iterator<Item = &'d Fact> {
        code.history.iter().map(|at| self.fact(at))
    }

    /// Inspections of the enterprise's codes and models, newest first.
    pub(crate) fn inspections(&self) -> impl Iterator<Item = (&Fact, &Inspection)> {
        // Only the enterprise's own, code and model indexes were read, and inspections are in
        // the latter two only: every inspection read is of its products.
        self.facts
            .values()
            .rev()
            .filter_map(|fact| match &fact.record {
                Record::Inspect(inspection) => Some((fact, inspection)),
                _ => None,
            })
    }

    /// Inspections of `code` itself or of its model, newest first.
    pub(crate) fn inspections_of<'d>(
        &'d self,
        code: &'d CodeFacts,
    ) -> impl Iterator<Item = &'d Inspection> {
        let gtin = code.code.gtin();
        self.inspections().filter_map(move |(_, inspection)| {
            let covers = match &inspection.subject {
                Subject::Code(subject) => subject == &code.code,
                Subject::Model(model) => Some(model) == gtin,
            };
            covers.then_some(inspection)
        })
    }

    /// Recalls of the enterprise's products, newest first.
    pub(crate) fn recalls(&self) -> impl Iterator<Item = RecallFacts<'_>> {
        self.facts
            .values()
            .rev()
            .filter_map(|fact| match &fact.record {
                Record::Recall(recall) if &recall.producer == self.uscc() => Some(RecallFacts {
                    fact,
                    recall,
                    closing: self.closings.get(&fact.id).map(|at| self.fact(at)),
                }),
                _ => None,
            })
    }

    /// Recalls covering `code` itself or its whole model, newest first.
    pub(crate) fn recalls_of<'d>(
        &'d self,
        code: &'d CodeFacts,
    ) -> impl Iterator<Item = RecallFacts<'d>> {
        let gtin = code.code.gtin();
        self.recalls().filter(move |recall| {
            recall.recall.subjects.iter().any(|subject| match subject {
                Subject::Code(subject) => subject == &code.code,
                Subject::Model(model) => Some(model) == gtin,
            })
        })
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
    Ok(Registered {
        computed_at,
        state,
        keys,
        registrar,
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
    let mut reader = Reader::new(snapshot, budget);
    let own = reader.history(|store, page| store.enterprise_records(uscc, page))?;
    let codes = read_codes(&mut reader, &own, uscc)?;
    let models = read_models(&mut reader, &own, uscc)?;
    let closings = read_closings(&mut reader, uscc)?;
    let holders = read_holders(snapshot, &reader.facts)?;
    let reads = Reads {
        records_read: reader.records_read,
        max_records: MAX_PROFILE_RECORDS,
        codes_read: codes.len(),
        max_codes: MAX_PROFILE_CODES,
        truncated: reader.truncated,
    };
    Ok(EnterpriseData {
        registered,
        models,
        codes,
        own,
        facts: reader.facts,
        closings,
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

/// Reads index pages within the bounds and the budget, keeping every record read.
struct Reader<'s, 'a> {
    snapshot: &'s Snapshot<'a>,
    budget: &'s Budget,
    blocks: BlockHashes,
    facts: BTreeMap<TxLocation, Fact>,
    records_read: usize,
    truncated: bool,
}

impl<'s, 'a> Reader<'s, 'a> {
    fn new(snapshot: &'s Snapshot<'a>, budget: &'s Budget) -> Self {
        Reader {
            snapshot,
            budget,
            blocks: BlockHashes::default(),
            facts: BTreeMap::new(),
            records_read: 0,
            truncated: false,
        }
    }

    /// One history, newest first from the head, as far as the budget allows.
    fn history(
        &mut self,
        read: impl Fn(&Store, PageRequest) -> Result<Page<StoredTx>, StorageError>,
    ) -> Result<Vec<TxLocation>, ProfileError> {
        let mut after = Some(self.snapshot.below_head());
        let mut locations = Vec::new();
        while let Some(start) = after {
            let room = MAX_PROFILE_RECORDS.saturating_sub(self.records_read);
            if room == 0 {
                self.truncated = true;
                break;
            }
            let page = PageRequest {
                after: Some(start),
                limit: room.min(MAX_PAGE_RECORDS),
                order: Order::NewestFirst,
            };
            let page = read(self.snapshot.store(), page)?;
            self.records_read += page.items.len();
            self.budget.spend(page.items.len())?;
            for stored in page.items {
                locations.push(stored.location);
                self.keep(stored)?;
            }
            after = page.next;
        }
        Ok(locations)
    }

    /// Keeps a record read, parsed, with its block's time.
    fn keep(&mut self, stored: StoredTx) -> Result<(), ProfileError> {
        let at = stored.location;
        if !self.facts.contains_key(&at) {
            let payload = committed_payload(&stored)?;
            let block_time_ms = self.blocks.time_ms(self.snapshot.store(), at.height)?;
            let fact = Fact {
                id: stored.id,
                at,
                block_time_ms,
                signer: stored.envelope.signer,
                record: payload.record,
            };
            self.facts.insert(at, fact);
        }
        Ok(())
    }
}

/// The histories of the codes `uscc` commissioned, newest commissioning first, up to
/// [`MAX_PROFILE_CODES`].
fn read_codes(
    reader: &mut Reader<'_, '_>,
    own: &[TxLocation],
    uscc: &Uscc,
) -> Result<Vec<CodeFacts>, ProfileError> {
    let mut commissioned = Vec::new();
    for at in own {
        if let Record::Commission(record) = &reader.facts[at].record
            && &record.uscc == uscc
        {
            for (code, quantity) in record.items.lines() {
                commissioned.push((code.clone(), quantity, *at));
            }
        }
    }
    if commissioned.len() > MAX_PROFILE_CODES {
        commissioned.truncate(MAX_PROFILE_CODES);
        reader.truncated = true;
    }
    let mut codes = Vec::with_capacity(commissioned.len());
    for (code, quantity, at) in commissioned {
        let history = reader.history(|store, page| store.code_history(&code, page))?;
        codes.push(CodeFacts {
            code,
            quantity,
            commissioned: at,
            history,
        });
    }
    Ok(codes)
}

/// The models `uscc` registered or commissioned, from state as of the head; their records are
/// read for the model-level inspections and recalls among them.
fn read_models(
    reader: &mut Reader<'_, '_>,
    own: &[TxLocation],
    uscc: &Uscc,
) -> Result<BTreeMap<Gtin, ModelState>, ProfileError> {
    let mut gtins = BTreeSet::new();
    for at in own {
        match &reader.facts[at].record {
            Record::RegisterProduct(model) if &model.uscc == uscc => {
                gtins.insert(model.gtin.clone())
            }
            Record::Commission(record) if &record.uscc == uscc => gtins.insert(record.gtin.clone()),
            _ => false,
        };
    }
    let mut models = BTreeMap::new();
    for gtin in gtins {
        let model = reader.snapshot.model(&gtin)?;
        let model = model.ok_or_else(|| ProfileError::MissingModel { gtin: gtin.clone() })?;
        reader.history(|store, page| store.model_records(&gtin, page))?;
        models.insert(gtin, model);
    }
    Ok(models)
}

/// The closing record of each recall read that was closed by the head, by recall id. Closings
/// are not indexed; each is one read by id, and there are no more of them than recalls read.
fn read_closings(
    reader: &mut Reader<'_, '_>,
    uscc: &Uscc,
) -> Result<BTreeMap<TxId, TxLocation>, ProfileError> {
    let recalls: Vec<TxId> = reader
        .facts
        .values()
        .filter(|fact| matches!(&fact.record, Record::Recall(recall) if &recall.producer == uscc))
        .map(|fact| fact.id)
        .collect();
    let mut closings = BTreeMap::new();
    for id in recalls {
        reader.budget.spend(1)?;
        let state: RecallState = reader
            .snapshot
            .recall(&id)?
            .ok_or(ProfileError::MissingRecall { id })?;
        let Some(closing_id) = state.closed_by else {
            continue;
        };
        let stored = reader.snapshot.store().transaction(&closing_id)?.ok_or(
            ProfileError::MissingClosing {
                id,
                closing: closing_id,
            },
        )?;
        if stored.location.height > reader.snapshot.head().height {
            return Err(ProfileError::ClosedLater {
                height: reader.snapshot.head().height,
            });
        }
        closings.insert(id, stored.location);
        reader.keep(stored)?;
    }
    Ok(closings)
}

/// Who holds each key that signed an inspection, a recall or a recall's closing.
fn read_holders(
    snapshot: &Snapshot<'_>,
    facts: &BTreeMap<TxLocation, Fact>,
) -> Result<BTreeMap<PublicKey, KeyHolder>, ProfileError> {
    let signers: BTreeSet<PublicKey> = facts
        .values()
        .filter(|fact| {
            matches!(
                fact.record,
                Record::Inspect(_) | Record::Recall(_) | Record::CloseRecall(_)
            )
        })
        .map(|fact| fact.signer)
        .collect();
    signers
        .into_iter()
        .map(|key| Ok((key, key_holder(snapshot, &key)?)))
        .collect()
}
