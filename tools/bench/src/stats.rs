//! Turn what the load phase recorded (when each transaction was sent, whether it was admitted,
//! when it was seen committed) into throughput and latency figures.
//!
//! Times are offsets from the start of the load. The measured window is
//! `[warmup, warmup + duration]`: throughput counts the commits seen inside it, latency the
//! transactions sent inside it.

use std::time::Duration;

use serde::Serialize;

use super::mix::{LoadKind, Mix};

/// A latency distribution, in milliseconds, nearest-rank percentiles.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct LatencySummary {
    /// How many latencies.
    pub(crate) samples: usize,
    /// Median.
    pub(crate) p50_ms: f64,
    /// 95th percentile.
    pub(crate) p95_ms: f64,
    /// 99th percentile.
    pub(crate) p99_ms: f64,
    /// Largest.
    pub(crate) max_ms: f64,
}

impl LatencySummary {
    /// The summary of `samples`, or `None` when there are none.
    pub(crate) fn of(mut samples: Vec<Duration>) -> Option<LatencySummary> {
        samples.sort_unstable();
        let ms = |quantile| {
            percentile(&samples, quantile).map(|latency: Duration| latency.as_secs_f64() * 1e3)
        };
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
pub(crate) fn percentile(sorted: &[Duration], quantile: f64) -> Option<Duration> {
    debug_assert!((0.0..=1.0).contains(&quantile));
    debug_assert!(sorted.is_sorted());
    if sorted.is_empty() {
        return None;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// What happened to one load transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TxRecord {
    /// When its batch was sent, if it was.
    pub(crate) sent: Option<Duration>,
    /// Whether the node admitted it.
    pub(crate) admitted: bool,
    /// When it was first seen in a finalized block.
    pub(crate) committed: Option<Duration>,
}

/// One finalized block as the watcher saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockSeen {
    /// Its height.
    pub(crate) height: u64,
    /// Transactions in it.
    pub(crate) transactions: usize,
    /// When the watcher saw the height reached.
    pub(crate) seen: Duration,
}

/// The measured window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// From the start of the load to the start of the window.
    pub(crate) warmup: Duration,
    /// Its length.
    pub(crate) duration: Duration,
}

impl Window {
    fn contains(&self, offset: Duration) -> bool {
        offset >= self.warmup && offset <= self.warmup + self.duration
    }
}

/// The figures of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Figures {
    /// Transactions sent in all (warmup included).
    pub(crate) sent: usize,
    /// Of those, admitted by the node they were sent to.
    pub(crate) admitted: usize,
    /// Admitted and seen committed, at any time.
    pub(crate) committed: usize,
    /// Admitted and never seen committed.
    pub(crate) never_committed: usize,
    /// Commits seen inside the window.
    pub(crate) committed_in_window: usize,
    /// `committed_in_window` per second of window.
    pub(crate) committed_tx_per_s: f64,
    /// Transactions sent inside the window per second of window: what was offered.
    pub(crate) offered_tx_per_s: f64,
    /// Submit-to-commit latency of the transactions sent inside the window and committed.
    pub(crate) latency: Option<LatencySummary>,
    /// Transactions sent inside the window, admitted, and never seen committed.
    pub(crate) never_committed_in_window: usize,
    /// Blocks seen inside the window.
    pub(crate) blocks_in_window: usize,
    /// Their mean transaction count.
    pub(crate) mean_block_transactions: f64,
    /// The largest of them.
    pub(crate) max_block_transactions: usize,
    /// Mean time between blocks seen inside the window, in milliseconds.
    pub(crate) mean_block_interval_ms: Option<f64>,
}

/// Computes the figures of a run.
pub(crate) fn figures(txs: &[TxRecord], blocks: &[BlockSeen], window: Window) -> Figures {
    let window_s = window.duration.as_secs_f64();
    let sent = txs.iter().filter(|tx| tx.sent.is_some()).count();
    let admitted: Vec<&TxRecord> = txs.iter().filter(|tx| tx.admitted).collect();
    let committed = admitted.iter().filter(|tx| tx.committed.is_some()).count();
    let committed_in_window = admitted
        .iter()
        .filter(|tx| tx.committed.is_some_and(|at| window.contains(at)))
        .count();
    let sent_in_window: Vec<&TxRecord> = txs
        .iter()
        .filter(|tx| tx.sent.is_some_and(|at| window.contains(at)))
        .collect();
    let latencies: Vec<Duration> = sent_in_window
        .iter()
        .filter(|tx| tx.admitted)
        .filter_map(|tx| Some(tx.committed?.saturating_sub(tx.sent?)))
        .collect();
    let never_committed_in_window = sent_in_window
        .iter()
        .filter(|tx| tx.admitted && tx.committed.is_none())
        .count();
    let blocks_in_window: Vec<&BlockSeen> = blocks
        .iter()
        .filter(|block| window.contains(block.seen))
        .collect();
    let block_transactions: usize = blocks_in_window.iter().map(|b| b.transactions).sum();
    let mean_block_interval_ms = match (blocks_in_window.first(), blocks_in_window.last()) {
        (Some(first), Some(last)) if blocks_in_window.len() > 1 => {
            Some((last.seen - first.seen).as_secs_f64() * 1e3 / (blocks_in_window.len() - 1) as f64)
        }
        _ => None,
    };
    Figures {
        sent,
        admitted: admitted.len(),
        committed,
        never_committed: admitted.len() - committed,
        committed_in_window,
        committed_tx_per_s: committed_in_window as f64 / window_s,
        offered_tx_per_s: sent_in_window.len() as f64 / window_s,
        latency: LatencySummary::of(latencies),
        never_committed_in_window,
        blocks_in_window: blocks_in_window.len(),
        mean_block_transactions: if blocks_in_window.is_empty() {
            0.0
        } else {
            block_transactions as f64 / blocks_in_window.len() as f64
        },
        max_block_transactions: blocks_in_window
            .iter()
            .map(|b| b.transactions)
            .max()
            .unwrap_or(0),
        mean_block_interval_ms,
    }
}

/// The figures of one kind of load transaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct KindFigures {
    /// The kind.
    pub(crate) kind: LoadKind,
    /// Its planned share of the load, percent.
    pub(crate) share_percent: u32,
    /// Transactions of the kind signed for the run.
    pub(crate) signed: usize,
    /// Of those, sent (warmup included): what was offered.
    pub(crate) sent: usize,
    /// Of those, admitted.
    pub(crate) admitted: usize,
    /// Admitted and seen committed, at any time.
    pub(crate) committed: usize,
    /// Commits seen inside the window.
    pub(crate) committed_in_window: usize,
    /// Submit-to-commit latency of those sent inside the window and committed.
    pub(crate) latency: Option<LatencySummary>,
}

/// The figures of each kind of `mix`, from the transactions `txs` of kinds `kinds` (at the
/// same index).
pub(crate) fn by_kind(
    txs: &[TxRecord],
    kinds: &[LoadKind],
    mix: Mix,
    window: Window,
) -> Vec<KindFigures> {
    assert_eq!(txs.len(), kinds.len(), "one kind per transaction");
    LoadKind::ALL
        .into_iter()
        .filter(|kind| kind.share_percent(mix) > 0)
        .map(|kind| {
            let of_kind: Vec<TxRecord> = txs
                .iter()
                .zip(kinds)
                .filter(|(_, of)| **of == kind)
                .map(|(tx, _)| *tx)
                .collect();
            let figures = figures(&of_kind, &[], window);
            KindFigures {
                kind,
                share_percent: kind.share_percent(mix),
                signed: of_kind.len(),
                sent: figures.sent,
                admitted: figures.admitted,
                committed: figures.committed,
                committed_in_window: figures.committed_in_window,
                latency: figures.latency,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(percentile(&samples, 0.50), Some(ms(50)));
        assert_eq!(percentile(&samples, 0.95), Some(ms(95)));
        assert_eq!(percentile(&samples, 0.99), Some(ms(99)));
        assert_eq!(percentile(&samples, 1.0), Some(ms(100)));
        assert_eq!(percentile(&samples, 0.0), Some(ms(1)));
        assert_eq!(percentile(&[ms(7)], 0.99), Some(ms(7)));
        assert_eq!(percentile(&[], 0.5), None);
        // 3 samples: the median is the second, p99 the third.
        assert_eq!(percentile(&[ms(1), ms(2), ms(30)], 0.5), Some(ms(2)));
        assert_eq!(percentile(&[ms(1), ms(2), ms(30)], 0.99), Some(ms(30)));
    }

    #[test]
    fn summary_sorts_its_samples() {
        let summary = LatencySummary::of(vec![ms(30), ms(10), ms(20)]).unwrap();
        assert_eq!(summary.samples, 3);
        assert_eq!(summary.p50_ms, 20.0);
        assert_eq!(summary.max_ms, 30.0);
        assert_eq!(LatencySummary::of(Vec::new()), None);
    }

    #[test]
    fn window_figures_count_commits_inside_and_latency_of_sends_inside() {
        let window = Window {
            warmup: ms(1_000),
            duration: ms(2_000),
        };
        let tx = |sent: u64, admitted: bool, committed: Option<u64>| TxRecord {
            sent: Some(ms(sent)),
            admitted,
            committed: committed.map(ms),
        };
        let txs = vec![
            tx(500, true, Some(1_100)),   // warmup send, committed in the window
            tx(1_000, true, Some(1_300)), // 300 ms
            tx(2_000, true, Some(2_100)), // 100 ms
            tx(2_500, true, None),        // never committed
            tx(2_900, false, None),       // refused
            tx(3_000, true, Some(3_500)), // sent at the end, committed after: 500 ms
            TxRecord::default(),          // never sent
        ];
        let blocks = vec![
            BlockSeen {
                height: 1,
                transactions: 1,
                seen: ms(1_100),
            },
            BlockSeen {
                height: 2,
                transactions: 1,
                seen: ms(1_300),
            },
            BlockSeen {
                height: 3,
                transactions: 1,
                seen: ms(2_100),
            },
            BlockSeen {
                height: 4,
                transactions: 1,
                seen: ms(3_500),
            },
        ];
        let figures = figures(&txs, &blocks, window);
        assert_eq!(figures.sent, 6);
        assert_eq!(figures.admitted, 5);
        assert_eq!(figures.committed, 4);
        assert_eq!(figures.never_committed, 1);
        assert_eq!(figures.committed_in_window, 3);
        assert_eq!(figures.committed_tx_per_s, 1.5);
        assert_eq!(figures.offered_tx_per_s, 2.5);
        let latency = figures.latency.unwrap();
        assert_eq!(latency.samples, 3);
        assert_eq!(latency.p50_ms, 300.0);
        assert_eq!(latency.max_ms, 500.0);
        assert_eq!(figures.never_committed_in_window, 1);
        assert_eq!(figures.blocks_in_window, 3);
        assert_eq!(figures.mean_block_interval_ms, Some(500.0));
        assert_eq!(figures.max_block_transactions, 1);
    }

    #[test]
    fn kinds_are_counted_apart() {
        let window = Window {
            warmup: ms(0),
            duration: ms(1_000),
        };
        let tx = |admitted: bool, committed: Option<u64>| TxRecord {
            sent: Some(ms(100)),
            admitted,
            committed: committed.map(ms),
        };
        let txs = vec![
            tx(true, Some(300)),
            tx(true, Some(500)),
            tx(false, None),
            tx(true, None),
            TxRecord::default(),
        ];
        let kinds = [
            LoadKind::Commissioning,
            LoadKind::Sale,
            LoadKind::Sale,
            LoadKind::Inspection,
            LoadKind::Inspection,
        ];
        let realistic = by_kind(&txs, &kinds, Mix::Realistic, window);
        let summary: Vec<(LoadKind, u32, usize, usize, usize, usize)> = realistic
            .iter()
            .map(|kind| {
                (
                    kind.kind,
                    kind.share_percent,
                    kind.signed,
                    kind.sent,
                    kind.admitted,
                    kind.committed,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (LoadKind::Commissioning, 35, 1, 1, 1, 1),
                (LoadKind::Shipment, 30, 0, 0, 0, 0),
                (LoadKind::Sale, 25, 2, 2, 1, 1),
                (LoadKind::Inspection, 10, 2, 1, 1, 0),
            ]
        );
        assert_eq!(realistic[2].latency.unwrap().p50_ms, 400.0);
        assert_eq!(realistic[3].latency, None);
        // The commissioning mix reports its one kind.
        let commission = by_kind(&txs[..1], &kinds[..1], Mix::Commission, window);
        assert_eq!(commission.len(), 1);
        assert_eq!(commission[0].share_percent, 100);
    }
}
