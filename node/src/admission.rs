//! Admit transactions into the mempool, from clients and from peers, and spread them.
//!
//! Admission is the expensive part of a transaction's life, so it is batched: a client's batch
//! or a peer's gossip message is hashed, the envelopes not already pending are verified on
//! every core ([`verify_all`]), the ledger rules run once over the batch against committed
//! state (so a batch may enrol an enterprise and then bind its key), and only then is the pool
//! locked, briefly, to insert. Transactions a client submitted are handed to the gossip
//! batcher ([`gossip_batcher`]), which publishes them to the other validators in batches.
//!
//! A transaction that depends on another one still pending (not committed) is refused by the
//! rules here: clients submit a dependent record once its prerequisite is committed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use suyuan_api::types::PendingState;
use suyuan_ledger::exec::{BlockContext, ExecError, Executor, RuleError};
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::limits::ENVELOPE_OVERHEAD_BYTES;
use suyuan_ledger::signatures::verify_all;
use suyuan_ledger::state::StateReadExt as _;
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{Envelope, TxId, VerifiedTx};
use suyuan_storage::Store;
use tokio::sync::{Notify, Semaphore, mpsc};

use crate::chain::Preverified;
use crate::frames::{MAX_BATCH_BYTES, MAX_BATCH_TRANSACTIONS, encode_batch};
use crate::mempool::Mempool;
use crate::network::NetworkHandle;

/// Refusals remembered for `GET /v1/transactions/{id}`.
const REMEMBERED_REFUSALS: usize = 10_000;

/// How long the gossip batcher waits to fill a batch.
const GOSSIP_BATCH_WAIT: Duration = Duration::from_millis(5);

/// Envelopes queued for gossip before submitters wait.
const GOSSIP_QUEUE: usize = 256;

/// How long a client's batch waits for its turn in the admission lane before it is refused
/// with [`SubmitError::Busy`].
const CLIENT_WAIT: Duration = Duration::from_secs(2);

/// Where a batch came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A client of this node's API: gossip what is admitted.
    Client,
    /// A peer's gossip: already spread.
    Peer,
}

/// The admission pipeline shared by the API, the gossip handler and the driver.
pub struct Admission {
    genesis: Arc<Genesis>,
    store: Arc<Store>,
    mempool: Mutex<Mempool>,
    refusals: Mutex<Refusals>,
    gossip: mpsc::Sender<Vec<Envelope>>,
    /// One batch is admitted at a time: admission is bounded CPU work, so that under overload
    /// consensus keeps its share of the machine and clients get a quick `busy` instead of a
    /// slow timeout.
    lane: Semaphore,
    /// Threads one batch's signature checks use: half the machine's cores.
    threads: usize,
    /// Woken whenever transactions enter the pool.
    pub arrived: Notify,
}

impl Admission {
    /// A pipeline over `store`; admitted client transactions go to `gossip`.
    pub fn new(
        genesis: Arc<Genesis>,
        store: Arc<Store>,
        mempool: Mempool,
        gossip: mpsc::Sender<Vec<Envelope>>,
    ) -> Admission {
        Admission {
            genesis,
            store,
            mempool: Mutex::new(mempool),
            refusals: Mutex::new(Refusals::default()),
            gossip,
            lane: Semaphore::new(1),
            threads: std::thread::available_parallelism()
                .map_or(1, |cores| (cores.get() / 2).max(1)),
            arrived: Notify::new(),
        }
    }

    /// Admits a batch when its turn in the admission lane comes: a client's batch waits at
    /// most [`CLIENT_WAIT`] (then every envelope is refused with [`SubmitError::Busy`]), a
    /// peer's as long as it takes.
    pub async fn admit(
        self: &Arc<Self>,
        envelopes: Vec<Envelope>,
        source: Source,
    ) -> Vec<Result<TxId, SubmitError>> {
        let count = envelopes.len();
        let refuse_all = |error: fn() -> SubmitError| (0..count).map(|_| Err(error())).collect();
        let permit = match source {
            Source::Client => match tokio::time::timeout(CLIENT_WAIT, self.lane.acquire()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => return refuse_all(|| SubmitError::Unavailable),
                Err(_) => return refuse_all(|| SubmitError::Busy),
            },
            Source::Peer => match self.lane.acquire().await {
                Ok(permit) => permit,
                Err(_) => return refuse_all(|| SubmitError::Unavailable),
            },
        };
        let this = Arc::clone(self);
        let results =
            tokio::task::spawn_blocking(move || this.admit_blocking(envelopes, source)).await;
        drop(permit);
        results.unwrap_or_else(|_| refuse_all(|| SubmitError::Unavailable))
    }

    /// The pool, locked. Every use is one of the short methods of this type, so the lock is
    /// never held across execution, I/O or signature checks, and the guard never leaves here.
    fn mempool(&self) -> MutexGuard<'_, Mempool> {
        self.mempool
            .lock()
            .expect("the mempool lock is never poisoned")
    }

    /// Transactions pending and their payload bytes.
    pub fn pool_size(&self) -> (usize, usize) {
        let mempool = self.mempool();
        (mempool.len(), mempool.bytes())
    }

    /// [`Mempool::candidates`] for a block proposal, copied out under a brief lock.
    pub fn candidates(
        &self,
        exclude: &HashSet<TxId>,
        max_count: usize,
        max_bytes: usize,
    ) -> Vec<VerifiedTx> {
        self.mempool().candidates(exclude, max_count, max_bytes)
    }

    /// The pool's verified copies of `envelopes`, one slot each (empty where the pool does not
    /// hold it), so that a block's checks need not verify them again. Ids are hashed before
    /// the lock is taken.
    pub fn preverified(&self, envelopes: &[Envelope]) -> Preverified {
        let chain_id = &self.genesis.chain_id;
        let ids: Vec<TxId> = envelopes
            .iter()
            .map(|envelope| envelope.id(chain_id))
            .collect();
        let mempool = self.mempool();
        Preverified(ids.iter().map(|id| mempool.get(id).cloned()).collect())
    }

    /// Drops committed transactions from the pool.
    pub fn remove_committed(&self, ids: &[TxId]) {
        self.mempool().remove(ids);
    }

    /// Drops pending transactions that no longer pass the ledger's rules, and remembers why
    /// for clients that ask later.
    pub fn drop_refused(&self, refused: Vec<(TxId, ExecError)>) {
        if refused.is_empty() {
            return;
        }
        self.mempool().remove(refused.iter().map(|(id, _)| id));
        for (id, error) in refused {
            tracing::debug!(%id, %error, "dropped a pending transaction that no longer passes the rules");
            self.remember_refusal(id, SubmitError::Rule(error));
        }
    }

    /// Checks and admits `envelopes`, one result each, in order. Blocks on signature checks
    /// and state reads: call it from a blocking thread, through [`Admission::admit`].
    fn admit_blocking(
        &self,
        envelopes: Vec<Envelope>,
        source: Source,
    ) -> Vec<Result<TxId, SubmitError>> {
        let chain_id = &self.genesis.chain_id;
        let mut results: Vec<Option<Result<TxId, SubmitError>>> =
            (0..envelopes.len()).map(|_| None).collect();
        let mut to_verify = Vec::with_capacity(envelopes.len());
        let mut positions = Vec::with_capacity(envelopes.len());
        let ids: Vec<TxId> = envelopes
            .iter()
            .map(|envelope| envelope.id(chain_id))
            .collect();
        // Committed already (typically gossip that arrives after the block carrying it): a
        // replay, refused before any signature is checked.
        let committed: Vec<bool> = ids
            .iter()
            .map(|id| matches!(self.store.tx_location(id), Ok(Some(_))))
            .collect();
        {
            let mempool = self.mempool();
            let (mut room, held_bytes) = mempool.room();
            for (index, envelope) in envelopes.into_iter().enumerate() {
                let id = ids[index];
                if committed[index] {
                    results[index] = Some(Err(SubmitError::Rule(RuleError::Replay { id }.into())));
                } else if mempool.contains(&id) {
                    results[index] = Some(Err(SubmitError::Duplicate(id)));
                } else if room == 0 {
                    // Full: refuse before spending a signature check.
                    results[index] = Some(Err(SubmitError::Full {
                        held: mempool.len(),
                        held_bytes,
                    }));
                } else {
                    room -= 1;
                    to_verify.push(envelope);
                    positions.push(index);
                }
            }
        }
        let head = self.store.head();
        let context = BlockContext {
            genesis: &self.genesis,
            height: head.height + 1,
            time_ms: crate::clock::now_ms(),
        };
        let mut executor = Executor::new(&*self.store, context);
        let mut passed = Vec::with_capacity(to_verify.len());
        let verified = verify_all(to_verify, chain_id, self.threads);
        for (&index, verified) in positions.iter().zip(verified) {
            let outcome = match verified {
                Err(error) => Err(SubmitError::Envelope(error)),
                Ok(tx) => match executor.apply(&tx) {
                    Err(error) => Err(SubmitError::Rule(error)),
                    Ok(()) => {
                        passed.push((index, tx));
                        continue;
                    }
                },
            };
            results[index] = Some(outcome);
        }
        let mut admitted = Vec::new();
        {
            let mut mempool = self.mempool();
            for (index, tx) in passed {
                let envelope = (source == Source::Client).then(|| tx.envelope.clone());
                let admitted_id = mempool.admit_verified(tx);
                if admitted_id.is_ok() {
                    admitted.extend(envelope);
                }
                results[index] = Some(admitted_id);
            }
        }
        let any_admitted = results.iter().any(|result| matches!(result, Some(Ok(_))));
        if any_admitted {
            self.arrived.notify_one();
        }
        if !admitted.is_empty() {
            // The batcher drains the queue continuously; if it has stopped, the node is
            // stopping and the transactions stay in this node's pool.
            let _ = self.gossip.try_send(admitted);
        }
        results
            .into_iter()
            .map(|result| result.expect("every envelope has a result"))
            .collect()
    }

    /// Remembers why a pending transaction was dropped, for clients that ask later.
    pub fn remember_refusal(&self, id: TxId, error: SubmitError) {
        self.refusals
            .lock()
            .expect("the refusals lock is never poisoned")
            .insert(id, error);
    }

    /// What this node knows of an uncommitted transaction.
    pub fn pending_state(&self, id: &TxId) -> Option<PendingState> {
        if self.mempool().contains(id) {
            return Some(PendingState::Pending);
        }
        let refusals = self.refusals.lock().expect("never poisoned");
        refusals.by_id.get(id).map(|error| PendingState::Rejected {
            error: suyuan_api::types::ErrorBody::from(error),
        })
    }
}

/// A bounded memory of refusals, oldest forgotten first.
#[derive(Default)]
struct Refusals {
    by_id: HashMap<TxId, SubmitError>,
    order: VecDeque<TxId>,
}

impl Refusals {
    fn insert(&mut self, id: TxId, error: SubmitError) {
        if self.by_id.insert(id, error).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > REMEMBERED_REFUSALS {
            if let Some(old) = self.order.pop_front() {
                self.by_id.remove(&old);
            }
        }
    }
}

/// Creates the queue between admission and the gossip batcher.
pub fn gossip_queue() -> (mpsc::Sender<Vec<Envelope>>, mpsc::Receiver<Vec<Envelope>>) {
    mpsc::channel(GOSSIP_QUEUE)
}

/// Publishes admitted client transactions to the other validators, in batches of up to
/// [`MAX_BATCH_TRANSACTIONS`] envelopes and [`MAX_BATCH_BYTES`], waiting at most
/// [`GOSSIP_BATCH_WAIT`] to fill one. Runs until the queue closes.
pub async fn gossip_batcher(mut queue: mpsc::Receiver<Vec<Envelope>>, network: NetworkHandle) {
    let mut batch: Vec<Envelope> = Vec::new();
    let mut bytes = 0;
    loop {
        let next = if batch.is_empty() {
            queue.recv().await
        } else {
            match tokio::time::timeout(GOSSIP_BATCH_WAIT, queue.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    publish(&network, &mut batch, &mut bytes).await;
                    continue;
                }
            }
        };
        let Some(envelopes) = next else {
            publish(&network, &mut batch, &mut bytes).await;
            return;
        };
        for envelope in envelopes {
            let size = envelope.payload.len() + ENVELOPE_OVERHEAD_BYTES;
            if batch.len() == MAX_BATCH_TRANSACTIONS || bytes + size > MAX_BATCH_BYTES {
                publish(&network, &mut batch, &mut bytes).await;
            }
            bytes += size;
            batch.push(envelope);
        }
    }
}

async fn publish(network: &NetworkHandle, batch: &mut Vec<Envelope>, bytes: &mut usize) {
    if batch.is_empty() {
        return;
    }
    let count = batch.len();
    let data = encode_batch(std::mem::take(batch));
    if let Err(error) = network.publish_transaction(data).await {
        tracing::debug!(%error, count, "gossip publish failed; the transactions stay in this node's pool");
    }
    *bytes = 0;
}
