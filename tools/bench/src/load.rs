//! Drive the load: send pre-signed batches on schedule, and watch the chain for their commits.
//!
//! The [`send`] loop sleeps until each batch is due, notes the instant, and hands the POST to
//! its own task, so a slow answer never delays the next send (open loop). The [`Watcher`] polls
//! one node's status every [`WATCH_INTERVAL`] and fetches each new block, stamping the
//! transactions in it with the instant the new height was seen: commit instants are late by up
//! to one polling interval plus one status request.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use suyuan_api::types::{ErrorBody, TransactionView};
use suyuan_client::{ApiClient, ClientError};
use suyuan_ledger::tx::{Envelope, TxId};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::schedule::{Punctuality, Schedule};
use super::stats::BlockSeen;

/// How often the watcher asks for the height.
pub(crate) const WATCH_INTERVAL: Duration = Duration::from_millis(20);

/// Most batch requests awaiting an answer at once; a send that finds them all busy waits, and
/// is counted late if it waits past the threshold.
const MAX_IN_FLIGHT_BATCHES: usize = 256;

/// Most blocks the watcher fetches in one poll, so that it reports a stuck fetch promptly.
const MAX_BLOCKS_PER_POLL: u64 = 64;

/// Refusals of one kind: how many transactions, and one message as an example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Refusals {
    /// Transactions refused so.
    pub(crate) transactions: usize,
    /// The first message of this kind.
    pub(crate) example: String,
}

/// What the send loop saw.
#[derive(Debug)]
pub(crate) struct Sent {
    /// When each batch was sent, from the start of the load.
    pub(crate) batch_sent: Vec<Option<Duration>>,
    /// Whether each transaction was admitted.
    pub(crate) admitted: Vec<bool>,
    /// Refused transactions by error code (`rule_violation/<rule>` for rule violations,
    /// `request/<code>` when the whole batch request failed).
    pub(crate) refused: BTreeMap<String, Refusals>,
    /// How punctual the sends were.
    pub(crate) punctuality: Punctuality,
}

impl Sent {
    fn refuse(&mut self, kind: String, transactions: usize, message: impl FnOnce() -> String) {
        self.refused
            .entry(kind)
            .or_insert_with(|| Refusals {
                transactions: 0,
                example: message(),
            })
            .transactions += transactions;
    }
}

/// Which node each batch goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SubmitTo {
    /// Every validator's API in turn, batch by batch.
    All,
    /// The first validator's API only.
    First,
}

impl SubmitTo {
    /// The client batch `batch` goes to.
    pub(crate) fn client(self, clients: &[ApiClient], batch: usize) -> &ApiClient {
        match self {
            SubmitTo::All => &clients[batch % clients.len()],
            SubmitTo::First => &clients[0],
        }
    }
}

/// Sends `envelopes` to `clients` on `schedule` from `start`, and waits for every answer.
/// `ids` are the envelopes' ids, to check the answers against.
pub(crate) async fn send(
    clients: &[ApiClient],
    submit_to: SubmitTo,
    envelopes: Arc<Vec<Envelope>>,
    ids: &[TxId],
    schedule: Schedule,
    start: Instant,
) -> Sent {
    let mut sent = Sent {
        batch_sent: vec![None; schedule.batches()],
        admitted: vec![false; envelopes.len()],
        refused: BTreeMap::new(),
        punctuality: Punctuality::default(),
    };
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT_BATCHES));
    let mut requests = JoinSet::new();
    for batch in 0..schedule.batches() {
        let due = start + schedule.due(batch);
        tokio::time::sleep_until(due.into()).await;
        let permit = Arc::clone(&in_flight)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let now = Instant::now();
        sent.punctuality.record(now.saturating_duration_since(due));
        sent.batch_sent[batch] = Some(now.saturating_duration_since(start));
        let client = submit_to.client(clients, batch).clone();
        let envelopes = Arc::clone(&envelopes);
        let range = schedule.batch_range(batch);
        requests.spawn(async move {
            let answer = client.submit_batch(&envelopes[range.clone()]).await;
            drop(permit);
            (range, answer)
        });
        while let Some(done) = requests.try_join_next() {
            let (range, answer) = done.expect("batch tasks do not panic");
            take_answer(&mut sent, ids, range, answer);
        }
    }
    while let Some(done) = requests.join_next().await {
        let (range, answer) = done.expect("batch tasks do not panic");
        take_answer(&mut sent, ids, range, answer);
    }
    sent
}

/// Notes the answer to the batch of transactions `range`.
fn take_answer(
    sent: &mut Sent,
    ids: &[TxId],
    range: std::ops::Range<usize>,
    answer: Result<Vec<Result<TxId, ErrorBody>>, ClientError>,
) {
    match answer {
        Ok(results) => {
            debug_assert_eq!(results.len(), range.len(), "the client checks the count");
            for (index, result) in range.zip(results) {
                match result {
                    Ok(id) if id == ids[index] => sent.admitted[index] = true,
                    Ok(id) => sent.refuse("wrong_id".into(), 1, || {
                        format!("the node answered id {id} for transaction {}", ids[index])
                    }),
                    Err(body) => sent.refuse(refusal_kind(&body), 1, || body.to_string()),
                }
            }
        }
        Err(error) => {
            let kind = match &error {
                ClientError::Refused { body, .. } => format!("request/{}", body.code),
                ClientError::Transport { .. } => "request/transport".into(),
                _ => "request/protocol".into(),
            };
            sent.refuse(kind, range.len(), || error.to_string());
        }
    }
}

/// How a refusal is counted: its code, with the rule for rule violations.
fn refusal_kind(body: &ErrorBody) -> String {
    match body.rule() {
        Some(rule) => format!("{}/{rule}", body.code),
        None => body.code.clone(),
    }
}

/// Most admitted transactions never seen committed that [`explain_dropped`] asks about.
pub(crate) const MAX_DROPPED_QUERIES: usize = 1_000;

/// What became of admitted transactions that were never seen committed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Dropped {
    /// Admitted and never seen committed.
    pub(crate) transactions: usize,
    /// How many of them the nodes were asked about (at most [`MAX_DROPPED_QUERIES`]).
    pub(crate) queried: usize,
    /// The answers by kind: the refusal's code (`rule_violation/<rule>` for rule violations),
    /// or `pending`, `committed` (after the watcher stopped), `unknown` (the node forgot it)
    /// or `request/<code>` when the question failed.
    pub(crate) by_reason: BTreeMap<String, Refusals>,
}

impl Dropped {
    /// Transactions the nodes said were refused for breaking a rule.
    pub(crate) fn rule_violations(&self) -> usize {
        rule_violations(&self.by_reason)
    }
}

/// Refusals that name a rule of the ledger.
pub(crate) fn rule_violations(refused: &BTreeMap<String, Refusals>) -> usize {
    refused
        .iter()
        .filter(|(kind, _)| kind.starts_with("rule_violation/"))
        .map(|(_, refusals)| refusals.transactions)
        .sum()
}

/// Asks the node each transaction of `dropped` (indexes into `ids`, admitted and never seen
/// committed) was sent to what became of it, for the first [`MAX_DROPPED_QUERIES`]: a node
/// remembers for a while why it dropped a transaction it had admitted.
pub(crate) async fn explain_dropped(
    clients: &[ApiClient],
    submit_to: SubmitTo,
    batch: usize,
    ids: &[TxId],
    dropped: &[usize],
) -> Dropped {
    let mut explained = Dropped {
        transactions: dropped.len(),
        ..Dropped::default()
    };
    for &index in dropped.iter().take(MAX_DROPPED_QUERIES) {
        let id = &ids[index];
        let client = submit_to.client(clients, index / batch);
        let (reason, example) = match client.transaction(id).await {
            Ok(TransactionView::Rejected { error, .. }) => {
                (refusal_kind(&error), error.to_string())
            }
            Ok(view) => (wire_status(&view), format!("{id}")),
            Err(error) if error.is_not_found() => ("unknown".into(), format!("{id}")),
            Err(error) => {
                let code = error.body().map_or("transport", |body| body.code.as_str());
                (format!("request/{code}"), error.to_string())
            }
        };
        explained.queried += 1;
        explained
            .by_reason
            .entry(reason)
            .or_insert_with(|| Refusals {
                transactions: 0,
                example,
            })
            .transactions += 1;
    }
    explained
}

/// `pending` or `committed`: what a node says of a transaction it did not refuse.
fn wire_status(view: &TransactionView) -> String {
    match view {
        TransactionView::Committed(_) => "committed".into(),
        TransactionView::Pending { .. } => "pending".into(),
        TransactionView::Rejected { .. } => "rejected".into(),
    }
}

/// What the watcher saw.
#[derive(Debug, Default)]
pub(crate) struct Watched {
    /// When each load transaction was seen committed, from the start of the load.
    pub(crate) committed: Vec<Option<Duration>>,
    /// Every block seen, in height order.
    pub(crate) blocks: Vec<BlockSeen>,
    /// Polls that failed, and the first failure.
    pub(crate) failed_polls: usize,
    /// The first failure, if any.
    pub(crate) first_failure: Option<String>,
}

/// Follows one node's finalized blocks and stamps the load transactions in them.
pub(crate) struct Watcher {
    client: ApiClient,
    index_by_id: Arc<HashMap<TxId, usize>>,
    start: Instant,
    next_height: u64,
    seen: Watched,
    committed_count: Arc<AtomicUsize>,
}

impl Watcher {
    /// A watcher of `client`'s node from the block after `height`, stamping offsets from `start`.
    /// `committed_count` counts the load transactions seen committed, as they are.
    pub(crate) fn new(
        client: ApiClient,
        index_by_id: Arc<HashMap<TxId, usize>>,
        height: u64,
        start: Instant,
        committed_count: Arc<AtomicUsize>,
    ) -> Watcher {
        let seen = Watched {
            committed: vec![None; index_by_id.len()],
            ..Watched::default()
        };
        Watcher {
            client,
            index_by_id,
            start,
            next_height: height + 1,
            seen,
            committed_count,
        }
    }

    /// Polls until `stop` turns true, then polls once more and returns what it saw.
    pub(crate) async fn run(mut self, mut stop: watch::Receiver<bool>) -> Watched {
        let mut ticks = tokio::time::interval(WATCH_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stopping = tokio::select! {
                _ = ticks.tick() => false,
                changed = stop.changed() => changed.is_err() || *stop.borrow(),
            };
            if let Err(error) = self.poll().await {
                self.seen.failed_polls += 1;
                self.seen
                    .first_failure
                    .get_or_insert_with(|| error.to_string());
            }
            if stopping {
                return self.seen;
            }
        }
    }

    /// Reads the height, then the blocks up to it (at most [`MAX_BLOCKS_PER_POLL`]).
    async fn poll(&mut self) -> Result<(), ClientError> {
        let height = self.client.status().await?.height;
        let seen = self.start.elapsed();
        let last = height.min(self.next_height + MAX_BLOCKS_PER_POLL - 1);
        while self.next_height <= last {
            let block = self.client.block(self.next_height).await?;
            let mut load_txs = 0;
            for id in &block.transactions {
                if let Some(&index) = self.index_by_id.get(id) {
                    let slot = &mut self.seen.committed[index];
                    if slot.is_none() {
                        *slot = Some(seen);
                        load_txs += 1;
                    }
                }
            }
            self.committed_count.fetch_add(load_txs, Ordering::Relaxed);
            self.seen.blocks.push(BlockSeen {
                height: block.height,
                transactions: block.transactions.len(),
                seen,
            });
            self.next_height += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_by_code_and_rule() {
        let ids: Vec<TxId> = (0..4u8)
            .map(|i| suyuan_ledger::hash::Hash32([i; 32]))
            .collect();
        let mut sent = Sent {
            batch_sent: vec![None; 2],
            admitted: vec![false; 4],
            refused: BTreeMap::new(),
            punctuality: Punctuality::default(),
        };
        let rule = ErrorBody::new("rule_violation", "code commissioned before")
            .with_detail("rule", "code_already_commissioned");
        take_answer(
            &mut sent,
            &ids,
            0..3,
            Ok(vec![Ok(ids[0]), Err(rule), Ok(ids[0])]),
        );
        take_answer(
            &mut sent,
            &ids,
            3..4,
            Err(ClientError::Refused {
                status: reqwest::StatusCode::SERVICE_UNAVAILABLE,
                body: ErrorBody::new("mempool_full", "full"),
            }),
        );
        assert_eq!(sent.admitted, vec![true, false, false, false]);
        let counts: Vec<(&str, usize)> = sent
            .refused
            .iter()
            .map(|(kind, refusals)| (kind.as_str(), refusals.transactions))
            .collect();
        assert_eq!(
            counts,
            vec![
                ("request/mempool_full", 1),
                ("rule_violation/code_already_commissioned", 1),
                ("wrong_id", 1),
            ]
        );
    }
}
