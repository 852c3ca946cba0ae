//! Send a signed load open-loop on `suyuan bench`'s schedule, and time each batch from its
//! send to its acknowledgement.
//!
//! Batch `i` is due when the offered rate reaches its first transaction; it is sent then
//! whatever happened to the batches before it (at most [`MAX_IN_FLIGHT_BATCHES`] wait for an
//! answer at once), so a slow service shows as latency and refusals, not as a lower offered
//! rate. The yardstick acknowledges a transaction once it is durable, so a batch's answer is
//! its transactions' commit: [`Figures`] count the acknowledgements inside the measured window
//! (`[warmup, warmup + duration]` from the start) and the latency of the batches sent in it.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use suyuan_api::types::ErrorBody;
use suyuan_client::{ApiClient, ClientError};
use suyuan_ledger::tx::{Envelope, TxId};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Most batch requests awaiting an answer at once, as in `suyuan bench`.
pub const MAX_IN_FLIGHT_BATCHES: usize = 256;

/// A send counts as late when it starts more than this after it was due.
pub const LATE_SEND_THRESHOLD: Duration = Duration::from_millis(10);

/// When each batch of a load is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Transactions offered per second, at least 1.
    pub rate_per_s: u64,
    /// Transactions per batch, at least 1 (the last batch may hold fewer).
    pub batch: usize,
    /// Transactions in all.
    pub total: usize,
}

impl Plan {
    /// How many batches.
    pub fn batches(&self) -> usize {
        self.total.div_ceil(self.batch)
    }

    /// The transactions of batch `index`.
    pub fn batch_range(&self, index: usize) -> Range<usize> {
        let start = index * self.batch;
        start.min(self.total)..(start + self.batch).min(self.total)
    }

    /// When batch `index` is due after the start.
    pub fn due(&self, index: usize) -> Duration {
        assert!(self.rate_per_s > 0, "checked by the command line");
        let first_tx = (index * self.batch) as u128;
        let nanos = first_tx * 1_000_000_000 / u128::from(self.rate_per_s);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// What happened to one batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutcome {
    /// Its transactions.
    pub range: Range<usize>,
    /// When it was due, from the start.
    pub due: Duration,
    /// When it was sent, from the start.
    pub sent: Duration,
    /// When its answer came, from the start.
    pub answered: Duration,
    /// The answer.
    pub answer: Answer,
}

/// A batch's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Per transaction: its id, or why it was refused.
    Results(Vec<Result<TxId, ErrorBody>>),
    /// The whole request failed: how (`request/<code>`), and what was said.
    Failed {
        /// `request/<error code>`, `request/transport` or `request/protocol`.
        kind: String,
        /// The error.
        message: String,
    },
}

/// Sends `envelopes` to `client` by `plan` from `start`, and waits for every answer.
/// `acknowledged` counts the transactions accepted so far, for progress.
pub async fn send(
    client: &ApiClient,
    envelopes: Arc<Vec<Envelope>>,
    plan: Plan,
    start: Instant,
    acknowledged: Arc<AtomicUsize>,
) -> Vec<BatchOutcome> {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT_BATCHES));
    let mut requests = JoinSet::new();
    for batch in 0..plan.batches() {
        let due = plan.due(batch);
        tokio::time::sleep_until((start + due).into()).await;
        let permit = Arc::clone(&in_flight)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let client = client.clone();
        let envelopes = Arc::clone(&envelopes);
        let acknowledged = Arc::clone(&acknowledged);
        let range = plan.batch_range(batch);
        requests.spawn(async move {
            let sent = start.elapsed();
            let answer = match client.submit_batch(&envelopes[range.clone()]).await {
                Ok(results) => {
                    let accepted = results.iter().filter(|result| result.is_ok()).count();
                    acknowledged.fetch_add(accepted, Ordering::Relaxed);
                    Answer::Results(results)
                }
                Err(error) => Answer::Failed {
                    kind: failure_kind(&error),
                    message: error.to_string(),
                },
            };
            drop(permit);
            BatchOutcome {
                range,
                due,
                sent,
                answered: start.elapsed(),
                answer,
            }
        });
    }
    let mut outcomes: Vec<BatchOutcome> = requests.join_all().await;
    outcomes.sort_by_key(|outcome| outcome.range.start);
    outcomes
}

/// How a failed request is counted.
fn failure_kind(error: &ClientError) -> String {
    match error {
        ClientError::Refused { body, .. } => format!("request/{}", body.code),
        ClientError::Transport { .. } => "request/transport".into(),
        _ => "request/protocol".into(),
    }
}

/// The measured window, from the start of the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// From the start to the start of the window.
    pub warmup: Duration,
    /// Its length.
    pub duration: Duration,
}

impl Window {
    fn contains(&self, offset: Duration) -> bool {
        offset >= self.warmup && offset <= self.warmup + self.duration
    }
}

/// Refusals of one kind: how many transactions, and one message as an example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusals {
    /// Transactions refused so.
    pub transactions: usize,
    /// The first message of this kind.
    pub example: String,
}

/// A latency distribution in milliseconds, nearest-rank percentiles.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// How many latencies (one per transaction).
    pub samples: usize,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

impl LatencySummary {
    /// The summary of `samples`, or `None` when there are none.
    pub fn of(mut samples: Vec<Duration>) -> Option<LatencySummary> {
        samples.sort_unstable();
        let ms = |quantile| percentile(&samples, quantile).map(|at| at.as_secs_f64() * 1e3);
        Some(LatencySummary {
            samples: samples.len(),
            p50_ms: ms(0.50)?,
            p95_ms: ms(0.95)?,
            p99_ms: ms(0.99)?,
            max_ms: ms(1.0)?,
        })
    }
}

/// The nearest-rank percentile of sorted `samples`: the smallest value with at least
/// `quantile` of the samples at or below it. `None` if there are no samples.
fn percentile(sorted: &[Duration], quantile: f64) -> Option<Duration> {
    debug_assert!((0.0..=1.0).contains(&quantile) && sorted.is_sorted());
    if sorted.is_empty() {
        return None;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The figures of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Transactions sent, warmup included.
    pub sent: usize,
    /// Of those, acknowledged as stored.
    pub acknowledged: usize,
    /// Acknowledgements that came inside the window.
    pub committed_in_window: usize,
    /// `committed_in_window` per second of window: the figure compared with Suyuan's
    /// committed rate.
    pub committed_tx_per_s: f64,
    /// Transactions sent inside the window per second of window: what was offered.
    pub offered_tx_per_s: f64,
    /// Send-to-acknowledgement latency of the transactions sent inside the window and
    /// acknowledged.
    pub latency: Option<LatencySummary>,
    /// Refused transactions by error code (`rule_violation/<rule>` for rule violations).
    pub refused: BTreeMap<String, Refusals>,
    /// Batches sent more than [`LATE_SEND_THRESHOLD`] after they were due.
    pub late_sends: usize,
    /// The latest a batch was sent after it was due, milliseconds.
    pub max_lateness_ms: f64,
}

impl Figures {
    /// The figures of `outcomes`, whose transactions have the ids `ids`.
    pub fn of(outcomes: &[BatchOutcome], ids: &[TxId], window: Window) -> Figures {
        let window_s = window.duration.as_secs_f64();
        let mut figures = Figures {
            sent: 0,
            acknowledged: 0,
            committed_in_window: 0,
            committed_tx_per_s: 0.0,
            offered_tx_per_s: 0.0,
            latency: None,
            refused: BTreeMap::new(),
            late_sends: 0,
            max_lateness_ms: 0.0,
        };
        let mut offered_in_window = 0;
        let mut latencies = Vec::new();
        for outcome in outcomes {
            let lateness = outcome.sent.saturating_sub(outcome.due);
            figures.late_sends += usize::from(lateness > LATE_SEND_THRESHOLD);
            figures.max_lateness_ms = figures.max_lateness_ms.max(lateness.as_secs_f64() * 1e3);
            figures.sent += outcome.range.len();
            let sent_in_window = window.contains(outcome.sent);
            if sent_in_window {
                offered_in_window += outcome.range.len();
            }
            let accepted = figures.take_answer(outcome, ids);
            figures.acknowledged += accepted;
            if window.contains(outcome.answered) {
                figures.committed_in_window += accepted;
            }
            if sent_in_window {
                let latency = outcome.answered.saturating_sub(outcome.sent);
                latencies.extend(std::iter::repeat_n(latency, accepted));
            }
        }
        figures.committed_tx_per_s = figures.committed_in_window as f64 / window_s;
        figures.offered_tx_per_s = offered_in_window as f64 / window_s;
        figures.latency = LatencySummary::of(latencies);
        figures
    }

    /// Counts `outcome`'s refusals; returns how many of its transactions were accepted.
    fn take_answer(&mut self, outcome: &BatchOutcome, ids: &[TxId]) -> usize {
        let mut refuse = |kind: String, transactions: usize, message: &dyn Fn() -> String| {
            self.refused
                .entry(kind)
                .or_insert_with(|| Refusals {
                    transactions: 0,
                    example: message(),
                })
                .transactions += transactions;
        };
        match &outcome.answer {
            Answer::Failed { kind, message } => {
                refuse(kind.clone(), outcome.range.len(), &|| message.clone());
                0
            }
            Answer::Results(results) => {
                let mut accepted = 0;
                for (index, result) in outcome.range.clone().zip(results) {
                    match result {
                        Ok(id) if *id == ids[index] => accepted += 1,
                        Ok(id) => refuse("wrong_id".into(), 1, &|| {
                            format!("the service answered id {id} for {}", ids[index])
                        }),
                        Err(body) => {
                            let kind = match body.rule() {
                                Some(rule) => format!("{}/{rule}", body.code),
                                None => body.code.clone(),
                            };
                            refuse(kind, 1, &|| body.to_string());
                        }
                    }
                }
                accepted
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use suyuan_ledger::hash::Hash32;

    use super::*;

    fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn batches_are_due_at_the_rate() {
        let plan = Plan {
            rate_per_s: 5_000,
            batch: 100,
            total: 325_000,
        };
        assert_eq!(plan.batches(), 3_250);
        assert_eq!(plan.due(1), ms(20));
        assert_eq!(plan.due(3_249), ms(64_980));
        assert_eq!(plan.batch_range(3_249), 324_900..325_000);
        let uneven = Plan {
            rate_per_s: 3,
            batch: 2,
            total: 7,
        };
        assert_eq!(uneven.batches(), 4);
        assert_eq!(uneven.batch_range(3), 6..7);
        assert_eq!(uneven.due(1), Duration::from_nanos(666_666_666));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(percentile(&samples, 0.50), Some(ms(50)));
        assert_eq!(percentile(&samples, 0.99), Some(ms(99)));
        assert_eq!(percentile(&samples, 1.0), Some(ms(100)));
        assert_eq!(percentile(&[ms(1), ms(2), ms(30)], 0.99), Some(ms(30)));
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(LatencySummary::of(Vec::new()), None);
    }

    #[test]
    fn window_figures_count_acknowledgements_inside_and_latency_of_sends_inside() {
        let ids: Vec<TxId> = (0..8u8).map(|i| Hash32([i; 32])).collect();
        let window = Window {
            warmup: ms(1_000),
            duration: ms(2_000),
        };
        let batch = |start: usize, sent: u64, answered: u64, answer: Answer| BatchOutcome {
            range: start..start + 2,
            due: ms(sent),
            sent: ms(sent),
            answered: ms(answered),
            answer,
        };
        let bad = ErrorBody::new("bad_signature", "no");
        let rule =
            ErrorBody::new("rule_violation", "no model").with_detail("rule", "unknown_model");
        let outcomes = vec![
            // Sent in the warmup, acknowledged inside the window: counted, no latency.
            batch(0, 900, 1_100, Answer::Results(vec![Ok(ids[0]), Ok(ids[1])])),
            // Inside: one accepted (200 ms), one refused.
            batch(2, 1_500, 1_700, Answer::Results(vec![Ok(ids[2]), Err(bad)])),
            // Inside: a rule violation and a wrong id.
            batch(
                4,
                2_000,
                2_050,
                Answer::Results(vec![Err(rule), Ok(ids[0])]),
            ),
        ];
        // Inside, refused whole, and sent 30 ms late.
        let failed = BatchOutcome {
            range: 6..8,
            due: ms(2_500),
            sent: ms(2_530),
            answered: ms(2_600),
            answer: Answer::Failed {
                kind: "request/busy".into(),
                message: "busy".into(),
            },
        };
        let mut outcomes = outcomes;
        outcomes.push(failed);
        let figures = Figures::of(&outcomes, &ids, window);
        assert_eq!(figures.sent, 8);
        assert_eq!(figures.acknowledged, 3);
        assert_eq!(figures.committed_in_window, 3);
        assert_eq!(figures.committed_tx_per_s, 1.5);
        assert_eq!(figures.offered_tx_per_s, 3.0);
        let latency = figures.latency.unwrap();
        assert_eq!(latency.samples, 1);
        assert_eq!(latency.p99_ms, 200.0);
        let kinds: Vec<(&str, usize)> = figures
            .refused
            .iter()
            .map(|(kind, refusals)| (kind.as_str(), refusals.transactions))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("bad_signature", 1),
                ("request/busy", 2),
                ("rule_violation/unknown_model", 1),
                ("wrong_id", 1),
            ]
        );
        assert_eq!(figures.late_sends, 1);
        assert_eq!(figures.max_lateness_ms, 30.0);
    }
}
