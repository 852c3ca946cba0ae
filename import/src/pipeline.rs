//! Submit signed items to the ledger in batches, follow them until committed, and say what
//! became of each.
//!
//! Drive it with [`import`]: it takes the items in file order and returns one [`Outcome`] per
//! item. Batches go one at a time (a node admits one batch per client at a time anyway); up to
//! [`Settings::window`] transactions may wait to be committed while later batches go in, and
//! commits are found by reading each new block's transaction ids, one request per block.
//!
//! Order and dependencies. A node checks a batch's records in order against committed state
//! plus the batch itself, so a sale of a lot commissioned earlier in the same batch passes. A
//! record that depends on one still pending from an earlier batch is refused by the rules; so a
//! rule refusal while earlier transactions are pending is not taken as final: the item waits
//! until everything before it is committed and is submitted once more (with whatever follows
//! it), and only that second refusal is reported. A file whose records depend on each other
//! therefore imports in one run, in file order.
//!
//! Faults. A node that does not answer, or answers busy, is retried with growing pauses for up
//! to [`Settings::retry_for`]; a transaction not committed within [`Settings::commit_timeout`]
//! is looked up and, if the node no longer knows it (its mempool was lost in a restart),
//! submitted again. Every item is signed with a nonce derived from its content, so submitting
//! it again can never record it twice: the ledger answers `replay` (already committed) or
//! `duplicate` (already pending), both taken as success.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use suyuan_api::types::ErrorBody;
use suyuan_ledger::tx::{Envelope, TxId};

use crate::journal::{Journal, JournalError};
use crate::source::{Item, Signed};

/// What the importer needs of a node. [`suyuan_client::ApiClient`] is the real one
/// (`crate::node`); tests drive the pipeline with a ledger that fails on cue.
pub trait Ledger {
    /// Submits a batch: per envelope, in order, its id or why it was refused.
    fn submit(
        &self,
        envelopes: &[Envelope],
    ) -> impl Future<Output = Result<Vec<Result<TxId, ErrorBody>>, LedgerError>>;
    /// The height of the latest finalized block.
    fn height(&self) -> impl Future<Output = Result<u64, LedgerError>>;
    /// The ids of the transactions in the block at `height`.
    fn block_transactions(
        &self,
        height: u64,
    ) -> impl Future<Output = Result<Vec<TxId>, LedgerError>>;
    /// What the node knows of a transaction.
    fn transaction(&self, id: &TxId) -> impl Future<Output = Result<TxState, LedgerError>>;
}

/// What a node knows of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum TxState {
    /// In a finalized block.
    Committed {
        /// The block.
        height: u64,
    },
    /// In its mempool.
    Pending,
    /// Admitted, then refused by a block's execution.
    Rejected(ErrorBody),
    /// Nothing: never seen, or lost with a restarted node's mempool.
    Unknown,
}

/// Why a request to the node failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LedgerError {
    /// No answer, or an answer that is not the API's: retried.
    #[error("no answer from the node: {0}")]
    Unreachable(String),
    /// The node is overloaded or throttles this client: retried.
    #[error("the node is busy: {0}")]
    Busy(ErrorBody),
    /// The node refused the request as a whole (a client error): not retried.
    #[error("the node refused the request: {0}")]
    Refused(ErrorBody),
}

/// How the importer paces itself.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Envelopes per batch (a node takes at most 1000).
    pub batch: usize,
    /// The most transactions submitted and not yet seen committed (a node holds at most
    /// 2,500 pending per signer).
    pub window: usize,
    /// How long a transaction may stay uncommitted before it is looked up.
    pub commit_timeout: Duration,
    /// How long the node may stay unreachable or busy before the import stops.
    pub retry_for: Duration,
    /// The pause between looks for new blocks when there is nothing to submit.
    pub poll: Duration,
    /// How long an interrupted import waits for its pending transactions.
    pub drain_on_stop: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            batch: 500,
            window: 2_000,
            commit_timeout: Duration::from_secs(30),
            retry_for: Duration::from_secs(300),
            poll: Duration::from_millis(50),
            drain_on_stop: Duration::from_secs(10),
        }
    }
}

/// What became of one item.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// On the chain.
    Committed {
        /// Its transaction.
        id: TxId,
        /// Its block, when known (a transaction found committed by an earlier run as a
        /// `replay` is not looked up).
        height: Option<u64>,
        /// Whether an earlier run committed it.
        earlier: bool,
    },
    /// Not admitted: the row does not make a record, or the node refused it.
    Refused {
        /// Its transaction, when it was signed.
        id: Option<TxId>,
        /// Why.
        error: ErrorBody,
    },
    /// Admitted, then refused by a block's execution.
    Rejected {
        /// Its transaction.
        id: TxId,
        /// Why.
        error: ErrorBody,
    },
    /// Not submitted, or not seen committed, before the import was interrupted.
    Unfinished,
}

/// Counts for a progress display.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Items in the file.
    pub total: usize,
    /// Committed, in this run or an earlier one.
    pub committed: usize,
    /// Refused or rejected.
    pub refused: usize,
    /// Submitted and not yet seen committed.
    pub pending: usize,
}

impl Tally {
    /// Items with a final outcome.
    pub fn done(&self) -> usize {
        self.committed + self.refused
    }
}

/// Receives the import's progress.
pub trait Progress {
    /// Called after every batch and every look at new blocks; `note` says why the import
    /// waits, when it does (the node unreachable or busy).
    fn update(&mut self, tally: &Tally, note: Option<&str>);
}

/// Why an import stopped before every item had an outcome.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The node stayed unreachable or busy for longer than [`Settings::retry_for`].
    #[error(
        "the node stayed unreachable or busy for {} s ({last}); run the same command again to \
         resume",
        waited.as_secs()
    )]
    GaveUp {
        /// How long it was retried.
        waited: Duration,
        /// The last failure.
        last: LedgerError,
    },
    /// The node refused a request as a whole (a batch, or a read of its chain).
    #[error("the node refused a request: {0}")]
    Refused(ErrorBody),
    /// The journal could not be written.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// Error codes of a refused envelope that say "not now", not "not this".
const TRANSIENT_CODES: &[&str] = &[
    "throttled",
    "signer_limit",
    "mempool_full",
    "busy",
    "unverified",
    "unavailable",
    "overloaded",
    "timeout",
];

/// The most look-ups of overdue transactions in one look at the chain.
const MAX_LOOKUPS_PER_POLL: usize = 64;

/// A transaction submitted and not yet seen committed.
struct Pending {
    index: usize,
    since: Instant,
}

/// Imports `items` through `ledger`: one outcome per item, in order. Items the journal knows
/// as committed are not submitted; new commits are written to it. `stop` (set by Ctrl-C)
/// ends submitting; what is pending is waited for up to [`Settings::drain_on_stop`].
pub async fn import<L: Ledger>(
    ledger: &L,
    items: &[Item],
    journal: &mut Journal,
    settings: &Settings,
    progress: &mut dyn Progress,
    stop: &AtomicBool,
) -> Result<Vec<Outcome>, ImportError> {
    let mut run = Run {
        ledger,
        items,
        settings,
        journal,
        outcomes: vec![None; items.len()],
        todo: VecDeque::new(),
        pending: HashMap::new(),
        deferred: HashSet::new(),
        draining: false,
        seen_height: 0,
        trouble: None,
        tally: Tally {
            total: items.len(),
            ..Tally::default()
        },
    };
    run.sort_out_known();
    let start_height = loop {
        match ledger.height().await {
            Ok(height) => break height,
            Err(error) => run.failed(error, progress).await?,
        }
    };
    run.seen_height = start_height;
    let mut stopped_at: Option<Instant> = None;
    loop {
        if stopped_at.is_none() && stop.load(Ordering::Relaxed) {
            stopped_at = Some(Instant::now());
        }
        let drained = run.pending.is_empty();
        match stopped_at {
            Some(at) if drained || at.elapsed() >= settings.drain_on_stop => break,
            None if drained && run.todo.is_empty() => break,
            _ => {}
        }
        if run.draining && drained {
            run.draining = false;
        }
        let may_submit = stopped_at.is_none()
            && !run.draining
            && !run.todo.is_empty()
            && run.pending.len() < settings.window;
        if may_submit {
            run.submit_batch(progress).await?;
        } else {
            run.poll(progress).await?;
        }
        progress.update(&run.tally(), None);
    }
    run.journal.flush()?;
    Ok(run
        .outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap_or(Outcome::Unfinished))
        .collect())
}

/// One import's state.
struct Run<'a, L> {
    ledger: &'a L,
    items: &'a [Item],
    settings: &'a Settings,
    journal: &'a mut Journal,
    outcomes: Vec<Option<Outcome>>,
    /// Items to submit, in file order.
    todo: VecDeque<usize>,
    pending: HashMap<TxId, Pending>,
    /// Items refused once while earlier ones were pending, submitted again.
    deferred: HashSet<usize>,
    /// Submitting waits until nothing is pending (for deferred items).
    draining: bool,
    /// The last block read.
    seen_height: u64,
    /// Since when, and why, the node has not answered.
    trouble: Option<(Instant, u32)>,
    tally: Tally,
}

impl<L: Ledger> Run<'_, L> {
    /// Gives items without a record, and items an earlier run committed, their outcome;
    /// queues the rest.
    fn sort_out_known(&mut self) {
        for (index, item) in self.items.iter().enumerate() {
            match &item.signed {
                Err(error) => {
                    let mut body = ErrorBody::new(error.code.clone(), error.message.clone());
                    body.field = error.column.clone();
                    self.settle(
                        index,
                        Outcome::Refused {
                            id: None,
                            error: body,
                        },
                    );
                }
                Ok(signed) => match self.journal.committed(&signed.id) {
                    Some(height) => self.settle(
                        index,
                        Outcome::Committed {
                            id: signed.id,
                            height: Some(height),
                            earlier: true,
                        },
                    ),
                    None => self.todo.push_back(index),
                },
            }
        }
    }

    fn signed(&self, index: usize) -> &Signed {
        self.items[index]
            .signed
            .as_ref()
            .expect("only signed items are queued")
    }

    fn settle(&mut self, index: usize, outcome: Outcome) {
        match &outcome {
            Outcome::Committed { .. } => self.tally.committed += 1,
            Outcome::Refused { .. } | Outcome::Rejected { .. } => self.tally.refused += 1,
            Outcome::Unfinished => {}
        }
        debug_assert!(self.outcomes[index].is_none(), "an item is settled once");
        self.outcomes[index] = Some(outcome);
    }

    fn tally(&self) -> Tally {
        Tally {
            pending: self.pending.len(),
            ..self.tally
        }
    }

    /// Puts `indices` back at the front of the queue, in file order.
    fn requeue(&mut self, mut indices: Vec<usize>) {
        indices.sort_unstable();
        for index in indices.into_iter().rev() {
            self.todo.push_front(index);
        }
    }

    /// Waits after a failed request, or gives up once the node has failed for too long.
    async fn failed(
        &mut self,
        error: LedgerError,
        progress: &mut dyn Progress,
    ) -> Result<(), ImportError> {
        if let LedgerError::Refused(body) = error {
            return Err(ImportError::Refused(body));
        }
        let (since, attempts) = *self.trouble.get_or_insert((Instant::now(), 0));
        if since.elapsed() >= self.settings.retry_for {
            return Err(ImportError::GaveUp {
                waited: since.elapsed(),
                last: error,
            });
        }
        progress.update(&self.tally(), Some(&format!("{error}; retrying")));
        let pause = Duration::from_millis(100 << attempts.min(5));
        self.trouble = Some((since, attempts + 1));
        tokio::time::sleep(pause).await;
        Ok(())
    }

    async fn submit_batch(&mut self, progress: &mut dyn Progress) -> Result<(), ImportError> {
        let take = self.settings.batch.min(self.todo.len());
        let batch: Vec<usize> = self.todo.drain(..take).collect();
        let envelopes: Vec<Envelope> = batch
            .iter()
            .map(|&index| self.signed(index).envelope.clone())
            .collect();
        let results = match self.ledger.submit(&envelopes).await {
            Ok(results) => results,
            Err(error) => {
                self.requeue(batch);
                return self.failed(error, progress).await;
            }
        };
        let earlier_pending = !self.pending.is_empty();
        let (mut again, mut deferred, mut busy) = (Vec::new(), false, None);
        for (&index, result) in batch.iter().zip(results) {
            let id = self.signed(index).id;
            let error = match result {
                Ok(_) => {
                    self.pending.insert(id, Pending::now(index));
                    continue;
                }
                Err(error) => error,
            };
            let code = error.code.clone();
            match code.as_str() {
                "replay" => self.settle(
                    index,
                    Outcome::Committed {
                        id,
                        height: None,
                        earlier: true,
                    },
                ),
                "duplicate" => {
                    self.pending.insert(id, Pending::now(index));
                }
                code if TRANSIENT_CODES.contains(&code) => {
                    again.push(index);
                    busy = Some(error);
                }
                "rule_violation" if earlier_pending && self.deferred.insert(index) => {
                    deferred = true;
                    again.push(index);
                }
                _ => self.settle(
                    index,
                    Outcome::Refused {
                        id: Some(id),
                        error,
                    },
                ),
            }
        }
        let all_busy = again.len() == batch.len() && !deferred;
        if !all_busy {
            self.trouble = None;
        }
        self.requeue(again);
        if deferred {
            self.draining = true;
        }
        match busy {
            // Nothing of the batch went in: the node is as good as unavailable.
            Some(error) if all_busy => self.failed(LedgerError::Busy(error), progress).await,
            Some(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Reads the blocks finalized since the last look, settles what they commit, and looks up
    /// transactions overdue.
    async fn poll(&mut self, progress: &mut dyn Progress) -> Result<(), ImportError> {
        let height = match self.ledger.height().await {
            Ok(height) => height,
            Err(error) => return self.failed(error, progress).await,
        };
        let before = self.tally.done();
        while self.seen_height < height {
            let next = self.seen_height + 1;
            let ids = match self.ledger.block_transactions(next).await {
                Ok(ids) => ids,
                Err(error) => return self.failed(error, progress).await,
            };
            for id in ids {
                if let Some(pending) = self.pending.remove(&id) {
                    self.journal.record(id, next)?;
                    self.settle(
                        pending.index,
                        Outcome::Committed {
                            id,
                            height: Some(next),
                            earlier: false,
                        },
                    );
                }
            }
            self.seen_height = next;
        }
        self.trouble = None;
        self.journal.flush()?;
        self.look_up_overdue(progress).await?;
        if self.tally.done() == before {
            tokio::time::sleep(self.settings.poll).await;
        }
        Ok(())
    }

    /// Transactions pending longer than the commit timeout: committed after all, rejected,
    /// still pending, or lost (submitted again).
    async fn look_up_overdue(&mut self, progress: &mut dyn Progress) -> Result<(), ImportError> {
        let overdue: Vec<TxId> = self
            .pending
            .iter()
            .filter(|(_, pending)| pending.since.elapsed() >= self.settings.commit_timeout)
            .map(|(id, _)| *id)
            .take(MAX_LOOKUPS_PER_POLL)
            .collect();
        let mut lost = Vec::new();
        for id in overdue {
            let state = match self.ledger.transaction(&id).await {
                Ok(state) => state,
                Err(error) => return self.failed(error, progress).await,
            };
            let index = self.pending[&id].index;
            match state {
                TxState::Pending => {
                    self.pending.insert(id, Pending::now(index));
                }
                TxState::Committed { height } => {
                    self.pending.remove(&id);
                    self.journal.record(id, height)?;
                    let outcome = Outcome::Committed {
                        id,
                        height: Some(height),
                        earlier: false,
                    };
                    self.settle(index, outcome);
                }
                TxState::Rejected(error) => {
                    self.pending.remove(&id);
                    self.settle(index, Outcome::Rejected { id, error });
                }
                TxState::Unknown => {
                    self.pending.remove(&id);
                    lost.push(index);
                }
            }
        }
        self.requeue(lost);
        Ok(())
    }
}

impl Pending {
    fn now(index: usize) -> Pending {
        Pending {
            index,
            since: Instant::now(),
        }
    }
}
