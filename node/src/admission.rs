//! Admit transactions into the mempool, from clients and from peers, and spread them.
//!
//! Admission is the expensive part of a transaction's life, so it is batched: a client's batch
//! or a peer's gossip message is hashed, the envelopes not already pending are verified on
//! half the cores ([`verify_all_within`]), the ledger rules run once over the batch against
//! committed state (so a batch may enrol an enterprise and then bind its key; a peer's batch
//! whose signers are all known skips them, see `Admission::signers_known`), and only then is
//! the pool locked, briefly, to insert. Transactions a client submitted are handed to the gossip
//! batcher ([`gossip_batcher`]), which publishes them to the other validators in batches.
//!
//! One batch is admitted at a time, by one worker ([`Admission::run_worker`]), so that under
//! overload consensus keeps its share of the machine. Who goes next is fair
//! ([`crate::scheduler`]): the clients (each address in turn) and each peer take turns, and
//! every queue is bounded, so a validator gossiping faster than this node admits fills only
//! its own queue (the rest is dropped, counted and reported to gossip as ignored) and a client
//! waits for at most one batch of each other sender. The driver hands gossip over with
//! [`Admission::queue_gossip`], which never waits.
//!
//! What is cheap is refused before any signature is checked: a sender refused for now after
//! failed signatures ([`crate::penalties`]), envelopes beyond its allowance, transactions
//! already committed or pending, the same envelope twice in a batch, a signer with its bound of
//! transactions pending, a full pool. When a batch's signature check fails, the search for the
//! invalid signatures may cost at most [`SPLIT_CHECKS_PER_SIGNATURE`] checks per envelope;
//! envelopes it leaves unsettled are refused with [`SubmitError::Unverified`].
//!
//! A transaction that depends on another one still pending (not committed) is refused by the
//! rules here: clients submit a dependent record once its prerequisite is committed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use libp2p::PeerId;
use libp2p::gossipsub::MessageId;
use suyuan_api::types::PendingState;
use suyuan_ledger::exec::{BlockContext, ExecError, Executor, RuleError};
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::limits::ENVELOPE_OVERHEAD_BYTES;
use suyuan_ledger::signatures::verify_all_within;
use suyuan_ledger::state::{KeyBinding, KeyStatus, StateReadExt as _};
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{Envelope, TxError, TxId, VerifiedTx};
use suyuan_storage::Store;
use tokio::sync::{Notify, mpsc, oneshot, watch};

use crate::chain::Preverified;
use crate::frames::{MAX_BATCH_BYTES, MAX_BATCH_TRANSACTIONS, decode_batch, encode_batch};
use crate::mempool::Mempool;
use crate::network::{GossipVerdict, NetworkHandle};
use crate::penalties::{Allowance, Penalties};
use crate::scheduler::{ClientKey, ClientRefusal, FairQueue, GossipQueueStats, Turn};

/// Refusals remembered for `GET /v1/transactions/{id}`.
const REMEMBERED_REFUSALS: usize = 10_000;

/// How long the gossip batcher waits to fill a batch.
const GOSSIP_BATCH_WAIT: Duration = Duration::from_millis(5);

/// Envelopes queued for gossip before submitters wait.
const GOSSIP_QUEUE: usize = 256;

/// How long a client's batch waits for its turn in the admission lane before it is refused
/// with [`SubmitError::Busy`].
const CLIENT_WAIT: Duration = Duration::from_secs(2);

/// Signature checks per envelope that finding the invalid signatures of a failed batch may
/// cost, beyond the batch check itself. Halving finds one invalid signature among `n` in about
/// `2n` checks, so an honest batch with a bad signature or two is still sorted out exactly;
/// a batch crafted so that every signature fails would cost `n log₂ n` (ten times the batch
/// check for 1,000 envelopes) and costs at most four times it instead.
pub const SPLIT_CHECKS_PER_SIGNATURE: usize = 3;

/// How long a client refused for its allowance is told to wait before sending the rest again,
/// in smaller batches.
const ALLOWANCE_RETRY: Duration = Duration::from_secs(1);

/// How often dropped gossip is logged, per peer, at most.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Where a batch came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A client of this node's API: gossip what is admitted.
    Client,
    /// A peer's gossip: already spread.
    Peer,
}

/// A gossip message waiting for admission, as the network delivered it (still encoded: it is
/// decoded on its turn, so what waits is counted in its wire bytes).
#[derive(Debug)]
pub struct GossipMessage {
    /// Its content id, for the verdict.
    pub id: MessageId,
    /// The genesis index of the validator that published it: whose queue it waits in.
    pub author: usize,
    /// The peer that forwarded it, for the verdict.
    pub via: PeerId,
    /// The encoded batch ([`decode_batch`]).
    pub data: Vec<u8>,
}

/// A client's batch waiting for admission, and where its results go.
struct ClientBatch {
    envelopes: Vec<Envelope>,
    /// Past this, the batch is refused with [`SubmitError::Busy`] instead of checked.
    deadline: Instant,
    reply: oneshot::Sender<Vec<Result<TxId, SubmitError>>>,
}

/// What waits for the admission lane, and who is penalised. Guarded by [`Admission::waiting`]
/// only to push, pop and read; never across admission work.
struct Waiting {
    queue: FairQueue<ClientBatch, GossipMessage>,
    clients: Penalties<ClientKey>,
    peers: Penalties<usize>,
    /// When dropped gossip was last logged, per peer.
    drop_logged: HashMap<usize, Instant>,
}

/// What admitting one batch did.
struct Admitted {
    /// One result per envelope, in order.
    results: Vec<Result<TxId, SubmitError>>,
    /// Envelopes whose signature was found invalid or left unsettled.
    failed_signatures: usize,
}

/// The admission pipeline shared by the API, the gossip handler and the driver.
pub struct Admission {
    genesis: Arc<Genesis>,
    store: Arc<Store>,
    mempool: Mutex<Mempool>,
    refusals: Mutex<Refusals>,
    gossip: mpsc::Sender<Vec<Envelope>>,
    waiting: Mutex<Waiting>,
    /// Woken whenever a batch is queued for the worker.
    queued: Notify,
    /// Threads one batch's signature checks use: half the machine's cores.
    threads: usize,
    /// Woken whenever transactions enter the pool.
    pub arrived: Notify,
}

impl Admission {
    /// A pipeline over `store`; admitted client transactions go to `gossip`. Nothing is
    /// admitted until [`Admission::run_worker`] runs.
    pub fn new(
        genesis: Arc<Genesis>,
        store: Arc<Store>,
        mempool: Mempool,
        gossip: mpsc::Sender<Vec<Envelope>>,
    ) -> Admission {
        let validators = genesis.validators.len();
        Admission {
            genesis,
            store,
            mempool: Mutex::new(mempool),
            refusals: Mutex::new(Refusals::default()),
            gossip,
            waiting: Mutex::new(Waiting {
                queue: FairQueue::new(validators),
                clients: Penalties::default(),
                peers: Penalties::default(),
                drop_logged: HashMap::new(),
            }),
            queued: Notify::new(),
            threads: std::thread::available_parallelism()
                .map_or(1, |cores| (cores.get() / 2).max(1)),
            arrived: Notify::new(),
        }
    }

    /// Whether a batch from `client` would be taken at all now: `Err` with
    /// [`SubmitError::Throttled`] while it is refused after failed signatures or has as many
    /// batches waiting as one client may, [`SubmitError::Busy`] while every client's batches
    /// together fill the admission queue, [`SubmitError::Full`] while the pool has no room.
    /// Cheap (two brief locks); the API asks before it reads the request's body, so that under
    /// overload a refusal costs neither the body's decoding nor a turn in the admission lane.
    pub fn admits_from(&self, client: IpAddr) -> Result<(), SubmitError> {
        let key = ClientKey::of(client);
        {
            let mut waiting = self.waiting();
            if let Allowance::Refused { retry_after } =
                waiting.clients.allowance(&key, Instant::now())
            {
                return Err(throttled(retry_after));
            }
            match waiting.queue.client_room(&key) {
                Ok(()) => {}
                Err(ClientRefusal::TooManyWaiting) => return Err(throttled(ALLOWANCE_RETRY)),
                Err(ClientRefusal::Saturated) => return Err(SubmitError::Busy),
            }
        }
        let mempool = self.mempool();
        match mempool.room() {
            (0, held_bytes) => Err(SubmitError::Full {
                held: mempool.len(),
                held_bytes,
            }),
            _ => Ok(()),
        }
    }

    /// Admits a client's batch, sent from `client`, when its turn comes: one result per
    /// envelope, in order. A batch that waits longer than [`CLIENT_WAIT`] for its turn is
    /// refused whole with [`SubmitError::Busy`]; one the client's queue or allowance has no
    /// room for with [`SubmitError::Throttled`].
    pub async fn admit(
        self: &Arc<Self>,
        envelopes: Vec<Envelope>,
        client: IpAddr,
    ) -> Vec<Result<TxId, SubmitError>> {
        let count = envelopes.len();
        let refuse_all = |error: SubmitError| (0..count).map(|_| Err(error.clone())).collect();
        if let Err(refusal) = self.admits_from(client) {
            return refuse_all(refusal);
        }
        let (reply, answer) = oneshot::channel();
        let batch = ClientBatch {
            envelopes,
            deadline: Instant::now() + CLIENT_WAIT,
            reply,
        };
        let pushed = self
            .waiting()
            .queue
            .push_client(ClientKey::of(client), batch);
        match pushed {
            Ok(()) => self.queued.notify_one(),
            Err((_, ClientRefusal::TooManyWaiting)) => {
                return refuse_all(throttled(ALLOWANCE_RETRY));
            }
            Err((_, ClientRefusal::Saturated)) => return refuse_all(SubmitError::Busy),
        }
        // The worker drops the reply only when the node stops.
        answer
            .await
            .unwrap_or_else(|_| refuse_all(SubmitError::Unavailable))
    }

    /// Queues a peer's gossip message for admission without waiting; hands it back, dropped,
    /// when its author's queue is full (counted; the caller reports it to gossip as ignored).
    pub fn queue_gossip(&self, message: GossipMessage) -> Option<GossipMessage> {
        let mut waiting = self.waiting();
        let author = message.author;
        let bytes = message.data.len();
        match waiting.queue.push_peer(author, message, bytes) {
            Ok(()) => {
                drop(waiting);
                self.queued.notify_one();
                None
            }
            Err(message) => {
                let now = Instant::now();
                let due = waiting
                    .drop_logged
                    .get(&author)
                    .is_none_or(|last| now.duration_since(*last) >= DROP_LOG_INTERVAL);
                if due {
                    waiting.drop_logged.insert(author, now);
                    let dropped = waiting
                        .queue
                        .gossip_stats()
                        .dropped
                        .get(author)
                        .copied()
                        .unwrap_or(0);
                    tracing::warn!(
                        peer = author,
                        dropped,
                        "dropping gossip: this validator publishes faster than this node admits"
                    );
                }
                Some(message)
            }
        }
    }

    /// What the peers' gossip queues hold and have dropped.
    pub fn gossip_stats(&self) -> GossipQueueStats {
        self.waiting().queue.gossip_stats()
    }

    /// Admits what waits, one batch at a time in the queue's fair order, and reports each
    /// peer message's verdict to `network`, until `shutdown` turns true.
    pub async fn run_worker(
        self: Arc<Self>,
        network: NetworkHandle,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let turn = self.waiting().queue.pop();
            match turn {
                Some(Turn::Client(client, batch)) => self.serve_client(client, batch).await,
                Some(Turn::Peer(author, message)) => {
                    let (id, via) = (message.id.clone(), message.via);
                    let verdict = self.serve_peer(author, message).await;
                    if let Err(error) = network.report_validation(id, via, verdict).await {
                        tracing::debug!(%error, "could not report a gossip verdict");
                    }
                }
                None => tokio::select! {
                    () = self.queued.notified() => {}
                    changed = shutdown.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                },
            }
        }
    }

    /// Admits one client's batch within its allowance and answers it.
    async fn serve_client(self: &Arc<Self>, client: ClientKey, batch: ClientBatch) {
        let ClientBatch {
            mut envelopes,
            deadline,
            reply,
        } = batch;
        if reply.is_closed() {
            return; // The client gave up (its request timed out): no work for nobody.
        }
        let count = envelopes.len();
        let now = Instant::now();
        if now > deadline {
            let _ = reply.send((0..count).map(|_| Err(SubmitError::Busy)).collect());
            return;
        }
        let allowance = self.waiting().clients.allowance(&client, now);
        let allowed = match allowance {
            Allowance::Refused { retry_after } => {
                let error = throttled(retry_after);
                let _ = reply.send((0..count).map(|_| Err(error.clone())).collect());
                return;
            }
            Allowance::Limited(allowed) => allowed.min(count),
            Allowance::Full => count,
        };
        let beyond = envelopes.split_off(allowed);
        let admitted = self.admit_in_lane(envelopes, Source::Client).await;
        {
            let mut waiting = self.waiting();
            if admitted.failed_signatures > 0 {
                waiting.clients.record_failure(&client, Instant::now());
            } else {
                waiting.clients.record_clean(&client);
            }
        }
        let mut results = admitted.results;
        results.extend(beyond.iter().map(|_| Err(throttled(ALLOWANCE_RETRY))));
        let _ = reply.send(results);
    }

    /// Admits one peer's gossip message within its allowance; the verdict for gossip:
    /// rejected if it holds anything an honest validator never publishes (an undecodable batch,
    /// an invalid envelope), ignored if it was not checked whole, else accepted.
    async fn serve_peer(self: &Arc<Self>, author: usize, message: GossipMessage) -> GossipVerdict {
        let allowance = self.waiting().peers.allowance(&author, Instant::now());
        let allowed = match allowance {
            Allowance::Refused { .. } => return GossipVerdict::Ignore,
            Allowance::Limited(allowed) => allowed,
            Allowance::Full => usize::MAX,
        };
        let Ok(mut envelopes) = decode_batch(&message.data) else {
            self.waiting().peers.record_failure(&author, Instant::now());
            return GossipVerdict::Reject;
        };
        drop(message);
        let whole = envelopes.len() <= allowed;
        envelopes.truncate(allowed);
        let admitted = self.admit_in_lane(envelopes, Source::Peer).await;
        let faulty = admitted.results.iter().any(|result| {
            matches!(
                result,
                Err(SubmitError::Envelope(_) | SubmitError::Unverified)
            )
        });
        let mut waiting = self.waiting();
        if faulty {
            waiting.peers.record_failure(&author, Instant::now());
            GossipVerdict::Reject
        } else {
            waiting.peers.record_clean(&author);
            if whole {
                GossipVerdict::Accept
            } else {
                GossipVerdict::Ignore
            }
        }
    }

    /// Runs [`Admission::admit_blocking`] on a blocking thread.
    async fn admit_in_lane(self: &Arc<Self>, envelopes: Vec<Envelope>, source: Source) -> Admitted {
        let count = envelopes.len();
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || this.admit_blocking(envelopes, source))
            .await
            .unwrap_or_else(|_| Admitted {
                results: (0..count).map(|_| Err(SubmitError::Unavailable)).collect(),
                failed_signatures: 0,
            })
    }

    /// What waits, locked. Every use is a push, a pop or a read; never held across admission
    /// work or an await.
    fn waiting(&self) -> MutexGuard<'_, Waiting> {
        self.waiting
            .lock()
            .expect("the waiting lock is never poisoned")
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
        let chain = self.store.binding();
        let ids: Vec<TxId> = envelopes
            .iter()
            .map(|envelope| envelope.id(chain))
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
    /// and state reads: call it from a blocking thread, through [`Admission::admit_in_lane`].
    fn admit_blocking(&self, envelopes: Vec<Envelope>, source: Source) -> Admitted {
        let chain = self.store.binding();
        let mut results: Vec<Option<Result<TxId, SubmitError>>> =
            (0..envelopes.len()).map(|_| None).collect();
        let ids: Vec<TxId> = envelopes
            .iter()
            .map(|envelope| envelope.id(chain))
            .collect();
        // Committed already (typically gossip that arrives after the block carrying it): a
        // replay, refused before any signature is checked.
        let committed: Vec<bool> = ids
            .iter()
            .map(|id| matches!(self.store.tx_location(id), Ok(Some(_))))
            .collect();
        let (to_verify, positions) = self.refuse_cheaply(envelopes, &ids, &committed, &mut results);
        let head = self.store.head();
        let context = BlockContext {
            genesis: &self.genesis,
            height: head.height + 1,
            time_ms: crate::clock::now_ms(),
        };
        let mut executor = Executor::new(&*self.store, context);
        let mut passed = Vec::with_capacity(to_verify.len());
        let mut failed_signatures = 0;
        let verified =
            verify_all_within(to_verify, chain, self.threads, SPLIT_CHECKS_PER_SIGNATURE);
        let execute = source == Source::Client || !self.signers_known(&verified);
        for (&index, verified) in positions.iter().zip(verified) {
            let outcome = match verified {
                None => Err(SubmitError::Unverified),
                Some(Err(error)) => Err(SubmitError::Envelope(error)),
                Some(Ok(tx)) if !execute => {
                    passed.push((index, tx));
                    continue;
                }
                Some(Ok(tx)) => match executor.apply(&tx) {
                    Err(error) => Err(SubmitError::Rule(error)),
                    Ok(()) => {
                        passed.push((index, tx));
                        continue;
                    }
                },
            };
            if matches!(
                outcome,
                Err(SubmitError::Unverified | SubmitError::Envelope(TxError::BadSignature { .. }))
            ) {
                failed_signatures += 1;
            }
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
        Admitted {
            results: results
                .into_iter()
                .map(|result| result.expect("every envelope has a result"))
                .collect(),
            failed_signatures,
        }
    }

    /// Whether every verified transaction's signer is an active enterprise key, a registrar or
    /// a regulator in committed state: then a peer's gossip is admitted on its signatures alone.
    ///
    /// The validator that published it ran the rules when its client submitted it; running them
    /// again here would cost as much as the block's own execution, which every node does anyway
    /// and which drops (and remembers as refused) whatever the rules refuse by then. What a
    /// faulty validator can slip past this way needs a valid signature by an enrolled key, and
    /// stays within the pool's bounds (per signer and in all) until the next block drops it.
    /// A batch with any other signer (one its own transactions enrol, or a stranger) runs the
    /// rules whole, as a client's batch does.
    fn signers_known(&self, verified: &[Option<Result<VerifiedTx, TxError>>]) -> bool {
        verified.iter().all(|verified| match verified {
            Some(Ok(tx)) => {
                let key = &tx.envelope.signer;
                self.genesis.registrar(key).is_some()
                    || self.genesis.regulator(key).is_some()
                    || matches!(
                        self.store.key_binding(key),
                        Ok(Some(KeyBinding {
                            status: KeyStatus::Active,
                            ..
                        }))
                    )
            }
            _ => true,
        })
    }

    /// Refuses, into `results`, what needs no signature check to refuse: replays, duplicates
    /// (pending, or earlier in the same batch), signers at their bound, envelopes a full pool
    /// has no room for. Returns the rest, to verify, with their positions.
    fn refuse_cheaply(
        &self,
        envelopes: Vec<Envelope>,
        ids: &[TxId],
        committed: &[bool],
        results: &mut [Option<Result<TxId, SubmitError>>],
    ) -> (Vec<Envelope>, Vec<usize>) {
        let mut to_verify = Vec::with_capacity(envelopes.len());
        let mut positions = Vec::with_capacity(envelopes.len());
        let mut in_batch: HashSet<TxId> = HashSet::with_capacity(envelopes.len());
        let mut per_signer = HashMap::new();
        let mempool = self.mempool();
        let (mut room, held_bytes) = mempool.room();
        for (index, envelope) in envelopes.into_iter().enumerate() {
            let id = ids[index];
            let signer = envelope.signer;
            let pending = per_signer
                .entry(signer)
                .or_insert_with(|| mempool.pending_of(&signer));
            let refusal = if committed[index] {
                SubmitError::Rule(RuleError::Replay { id }.into())
            } else if mempool.contains(&id) || !in_batch.insert(id) {
                SubmitError::Duplicate(id)
            } else if *pending >= mempool.max_per_signer() {
                SubmitError::SignerLimit {
                    signer,
                    pending: *pending,
                }
            } else if room == 0 {
                SubmitError::Full {
                    held: mempool.len(),
                    held_bytes,
                }
            } else {
                room -= 1;
                *pending += 1;
                to_verify.push(envelope);
                positions.push(index);
                continue;
            };
            results[index] = Some(Err(refusal));
        }
        (to_verify, positions)
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

/// [`SubmitError::Throttled`], to retry after `retry_after`.
fn throttled(retry_after: Duration) -> SubmitError {
    SubmitError::Throttled {
        retry_after_ms: u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX),
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
