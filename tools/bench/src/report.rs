//! Present a run's figures: as JSON for machines, as a few lines of text for people, and
//! against the first targets of issue 5.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::host::{CpuUse, Machine, NodeMemory, VerifyRates};
use super::load::{Dropped, Refusals, SubmitTo};
use super::mix::{Mix, Roles};
use super::stats::{Figures, KindFigures};

/// Issue 5's first throughput target, committed transactions per second.
const TARGET_TX_PER_S: f64 = 5_000.0;

/// Issue 5's latency target for p99 submit-to-commit, milliseconds.
const TARGET_P99_MS: f64 = 1_000.0;

/// Issue 5's memory target per node, KiB (1 GiB).
const TARGET_PEAK_RSS_KIB: u64 = 1024 * 1024;

/// How the run was set up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RunSettings {
    /// Validators in the testnet.
    pub(crate) validators: usize,
    /// Offered rate, transactions per second.
    pub(crate) rate_per_s: u64,
    /// Measured window, seconds.
    pub(crate) duration_s: u64,
    /// Warmup before the window, seconds.
    pub(crate) warmup_s: u64,
    /// Envelopes per batch request.
    pub(crate) batch: usize,
    /// Where batches went.
    pub(crate) submit_to: SubmitTo,
    /// Load transactions signed before the load.
    pub(crate) transactions: usize,
    /// Seconds it took to sign them, on every core.
    pub(crate) signing_s: f64,
    /// How often the commit watcher polls, milliseconds: commit instants are late by up to
    /// this plus one status request.
    pub(crate) watch_interval_ms: u64,
}

/// What the load was made of.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct MixFigures {
    /// The mix.
    pub(crate) mix: Mix,
    /// Enterprises enrolled, each with its own key.
    pub(crate) enterprises: usize,
    /// How they divide into roles.
    pub(crate) roles: Roles,
    /// The exponent of the Zipf law of each role's traffic; absent for the commissioning mix,
    /// whose enterprises take turns.
    pub(crate) zipf_exponent: Option<f64>,
    /// Whether the regulator signs a share of the inspections (the run holds its key).
    pub(crate) regulator_inspects: bool,
    /// Distinct keys that signed the load (the regulator's included).
    pub(crate) distinct_signers: usize,
    /// Setup transactions committed before the load.
    pub(crate) setup_transactions: usize,
    /// How long setup took, seconds.
    pub(crate) setup_s: f64,
    /// Each kind of transaction: offered, committed, latency.
    pub(crate) kinds: Vec<KindFigures>,
}

/// Transactions refused for breaking a rule of the ledger: a bug in the workload, whose every
/// transaction is built to be valid in any order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RuleRefusals {
    /// Refused when sent.
    pub(crate) at_admission: usize,
    /// Admitted, then dropped by a node for breaking a rule (of those queried).
    pub(crate) after_admission: usize,
    /// Both.
    pub(crate) total: usize,
}

/// How punctual the open-loop sends were.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SendFigures {
    /// Batch requests sent.
    pub(crate) batches: usize,
    /// Sends that started more than the threshold after they were due.
    pub(crate) late: usize,
    /// The threshold, milliseconds.
    pub(crate) late_threshold_ms: u64,
    /// The latest a send started, milliseconds after it was due.
    pub(crate) max_lateness_ms: f64,
    /// Refused transactions by error code.
    pub(crate) refused: BTreeMap<String, Refusals>,
    /// What became of admitted transactions never seen committed.
    pub(crate) dropped: Dropped,
    /// Refusals for breaking a rule, at admission and after.
    pub(crate) rule_refusals: RuleRefusals,
}

/// One core's verification rates and what the network achieved relative to them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct VerifyFigures {
    /// ed25519 verifications per second on one core.
    pub(crate) rates: VerifyRates,
    /// Committed transactions per second divided by the batch verification rate.
    pub(crate) committed_to_batch_verify_ratio: f64,
    /// Committed transactions per second divided by the one-at-a-time verification rate.
    pub(crate) committed_to_single_verify_ratio: f64,
}

/// Whether the run met issue 5's first targets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Targets {
    /// At least 5,000 committed transactions per second.
    pub(crate) throughput: bool,
    /// p99 submit-to-commit under one second, and every admitted transaction committed.
    pub(crate) p99_latency: bool,
    /// Every node's peak resident memory under 1 GiB (false if any is unknown).
    pub(crate) memory: bool,
}

/// Everything a run reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Report {
    /// The run's settings.
    pub(crate) settings: RunSettings,
    /// The machine.
    pub(crate) machine: Machine,
    /// What the load was made of, and each kind's figures.
    pub(crate) mix: MixFigures,
    /// Throughput, latency and blocks.
    pub(crate) figures: Figures,
    /// Sends and refusals.
    pub(crate) sends: SendFigures,
    /// Verification rate.
    pub(crate) verify: VerifyFigures,
    /// Each node's memory after the run.
    pub(crate) memory: Vec<NodeMemory>,
    /// Where the CPU went during the window.
    pub(crate) cpu: CpuUse,
    /// Polls of the commit watcher that failed, and the first failure.
    pub(crate) watcher_failures: usize,
    /// The first failure of the commit watcher.
    pub(crate) watcher_first_failure: Option<String>,
    /// Issue 5's targets.
    pub(crate) targets: Targets,
}

impl Targets {
    /// Judges `figures` and `memory` against the targets.
    pub(crate) fn judge(figures: &Figures, memory: &[NodeMemory]) -> Targets {
        Targets {
            throughput: figures.committed_tx_per_s >= TARGET_TX_PER_S,
            p99_latency: figures.never_committed_in_window == 0
                && figures
                    .latency
                    .is_some_and(|latency| latency.p99_ms < TARGET_P99_MS),
            memory: !memory.is_empty()
                && memory.iter().all(|node| {
                    node.peak_rss_kib
                        .is_some_and(|peak| peak < TARGET_PEAK_RSS_KIB)
                }),
        }
    }
}

impl RuleRefusals {
    /// Counts the rule violations among `refused` (when sent) and `dropped` (after admission).
    pub(crate) fn count(refused: &BTreeMap<String, Refusals>, dropped: &Dropped) -> RuleRefusals {
        let at_admission = super::load::rule_violations(refused);
        let after_admission = dropped.rule_violations();
        RuleRefusals {
            at_admission,
            after_admission,
            total: at_admission + after_admission,
        }
    }
}

impl Report {
    /// The report for people.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out)
            .expect("writing to a String does not fail");
        out
    }

    /// The mix: who signed, how skewed, and each kind's figures.
    fn write_mix(&self, out: &mut String) -> std::fmt::Result {
        let mix = &self.mix;
        let roles = &mix.roles;
        match mix.mix {
            Mix::Realistic => writeln!(
                out,
                "load: realistic mix over {} enterprises ({} manufacturers, {} distributors and retailers, {} inspection bodies){}; each role's traffic by a Zipf law of exponent {:.2}",
                mix.enterprises,
                roles.makers,
                roles.merchants,
                roles.inspection_bodies,
                if mix.regulator_inspects {
                    " and the regulator"
                } else {
                    ""
                },
                mix.zipf_exponent.unwrap_or_default()
            )?,
            Mix::Commission => writeln!(
                out,
                "load: commissioning mix over {} manufacturers in turn",
                mix.enterprises
            )?,
        }
        writeln!(
            out,
            "setup: {} transactions committed in {:.1} s; {} distinct keys signed the load",
            mix.setup_transactions, mix.setup_s, mix.distinct_signers
        )?;
        for kind in &mix.kinds {
            write!(
                out,
                "  {:<13} {:>3}%: signed {}, sent {}, admitted {}, committed {} ({} in the window)",
                kind.kind.name(),
                kind.share_percent,
                kind.signed,
                kind.sent,
                kind.admitted,
                kind.committed,
                kind.committed_in_window
            )?;
            match &kind.latency {
                Some(latency) => writeln!(
                    out,
                    "; p50 / p99 {:.0} / {:.0} ms",
                    latency.p50_ms, latency.p99_ms
                )?,
                None => writeln!(out)?,
            }
        }
        Ok(())
    }

    fn write_text(&self, out: &mut String) -> std::fmt::Result {
        let settings = &self.settings;
        let figures = &self.figures;
        writeln!(
            out,
            "suyuan bench: {} validators; {} tx/s offered for {} s after {} s of warmup; batches of {} to {} API(s)",
            settings.validators,
            settings.rate_per_s,
            settings.duration_s,
            settings.warmup_s,
            settings.batch,
            match settings.submit_to {
                SubmitTo::All => "all",
                SubmitTo::First => "the first",
            }
        )?;
        writeln!(
            out,
            "machine: {} cores ({}), {} MiB",
            self.machine.cores,
            self.machine.cpu.as_deref().unwrap_or("unknown CPU"),
            self.machine
                .memory_mib
                .map_or("unknown".into(), |mib| mib.to_string())
        )?;
        self.write_mix(out)?;
        writeln!(
            out,
            "signed {} load transactions in {:.1} s before the load",
            settings.transactions, settings.signing_s
        )?;
        writeln!(
            out,
            "ed25519 verification, one core: {:.0}/s in batches of up to 1,024 (the node's path), {:.0}/s one at a time, {:.0}/s one at a time through ed25519-dalek's verify_strict",
            self.verify.rates.batch_per_s,
            self.verify.rates.single_per_s,
            self.verify.rates.dalek_strict_per_s
        )?;
        writeln!(
            out,
            "sent {} transactions in {} batches ({} late by more than {} ms, latest {:.1} ms); {} admitted",
            figures.sent,
            self.sends.batches,
            self.sends.late,
            self.sends.late_threshold_ms,
            self.sends.max_lateness_ms,
            figures.admitted
        )?;
        for (kind, refusals) in &self.sends.refused {
            writeln!(
                out,
                "  refused {kind}: {} (e.g. {})",
                refusals.transactions, refusals.example
            )?;
        }
        let dropped = &self.sends.dropped;
        if dropped.transactions > 0 {
            writeln!(
                out,
                "admitted and never seen committed: {} (asked the nodes about {})",
                dropped.transactions, dropped.queried
            )?;
            for (reason, refusals) in &dropped.by_reason {
                writeln!(
                    out,
                    "  {reason}: {} (e.g. {})",
                    refusals.transactions, refusals.example
                )?;
            }
        }
        let rules = &self.sends.rule_refusals;
        writeln!(
            out,
            "rule refusals: {} ({} when sent, {} after admission){}",
            rules.total,
            rules.at_admission,
            rules.after_admission,
            if rules.total > 0 {
                ": a bug in the workload, whose every transaction is valid in any order"
            } else {
                ""
            }
        )?;
        writeln!(
            out,
            "committed: {} in the {} s window = {:.1} tx/s (offered {:.1} tx/s); {:.3} of one core's batch verification rate ({:.3} of its one-at-a-time rate)",
            figures.committed_in_window,
            settings.duration_s,
            figures.committed_tx_per_s,
            figures.offered_tx_per_s,
            self.verify.committed_to_batch_verify_ratio,
            self.verify.committed_to_single_verify_ratio
        )?;
        match &figures.latency {
            Some(latency) => writeln!(
                out,
                "submit-to-commit latency of {} transactions sent in the window: p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms (commits seen by polling every {} ms)",
                latency.samples,
                latency.p50_ms,
                latency.p95_ms,
                latency.p99_ms,
                latency.max_ms,
                settings.watch_interval_ms
            )?,
            None => writeln!(
                out,
                "submit-to-commit latency: no transaction sent in the window was committed"
            )?,
        }
        writeln!(
            out,
            "never committed: {} admitted transactions ({} of them sent in the window)",
            figures.never_committed, figures.never_committed_in_window
        )?;
        writeln!(
            out,
            "blocks in the window: {}, {:.0} transactions each on average, at most {}, one every {}",
            figures.blocks_in_window,
            figures.mean_block_transactions,
            figures.max_block_transactions,
            figures
                .mean_block_interval_ms
                .map_or("-".into(), |ms| format!("{ms:.0} ms"))
        )?;
        for node in &self.memory {
            match (&node.unavailable, node.rss_kib, node.peak_rss_kib) {
                (None, Some(rss), Some(peak)) => writeln!(
                    out,
                    "validator-{} (pid {}): resident {} MiB, peak {} MiB",
                    node.validator,
                    node.pid.unwrap_or_default(),
                    rss / 1024,
                    peak / 1024
                )?,
                (reason, _, _) => writeln!(
                    out,
                    "validator-{}: memory unknown ({})",
                    node.validator,
                    reason.as_deref().unwrap_or("no VmRSS/VmHWM")
                )?,
            }
        }
        let cpu = &self.cpu;
        let nodes: Vec<String> = cpu
            .nodes
            .iter()
            .map(|node| node.map_or("?".into(), |cores| format!("{cores:.2}")))
            .collect();
        writeln!(
            out,
            "CPU in the window, in cores: nodes {} (total {:.2}), bench {:.2}, other processes {:.2}, idle {:.2}",
            nodes.join(" + "),
            cpu.nodes.iter().flatten().sum::<f64>(),
            cpu.bench,
            cpu.other,
            cpu.idle
        )?;
        if self.watcher_failures > 0 {
            writeln!(
                out,
                "commit watcher: {} polls failed, first: {}",
                self.watcher_failures,
                self.watcher_first_failure.as_deref().unwrap_or("-")
            )?;
        }
        let verdict = |met| if met { "met" } else { "MISSED" };
        writeln!(
            out,
            "issue 5 targets: >= 5000 tx/s {}; p99 < 1 s with all committed {}; peak memory < 1 GiB per node {}",
            verdict(self.targets.throughput),
            verdict(self.targets.p99_latency),
            verdict(self.targets.memory)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::stats::LatencySummary;
    use super::*;

    fn figures(tx_per_s: f64, p99_ms: f64, never_committed_in_window: usize) -> Figures {
        Figures {
            sent: 10,
            admitted: 10,
            committed: 10,
            never_committed: never_committed_in_window,
            committed_in_window: 10,
            committed_tx_per_s: tx_per_s,
            offered_tx_per_s: tx_per_s,
            latency: Some(LatencySummary {
                samples: 10,
                p50_ms: 1.0,
                p95_ms: 2.0,
                p99_ms,
                max_ms: p99_ms,
            }),
            never_committed_in_window,
            blocks_in_window: 1,
            mean_block_transactions: 10.0,
            max_block_transactions: 10,
            mean_block_interval_ms: None,
        }
    }

    fn memory(peak_rss_kib: Option<u64>) -> NodeMemory {
        NodeMemory {
            validator: 0,
            pid: Some(1),
            rss_kib: peak_rss_kib,
            peak_rss_kib,
            unavailable: None,
        }
    }

    #[test]
    fn targets_are_judged_strictly() {
        let good = Targets::judge(&figures(5_000.0, 999.0, 0), &[memory(Some(1_000))]);
        assert_eq!(
            good,
            Targets {
                throughput: true,
                p99_latency: true,
                memory: true
            }
        );
        let slow = Targets::judge(&figures(4_999.9, 1_000.0, 0), &[memory(None)]);
        assert!(!slow.throughput && !slow.p99_latency && !slow.memory);
        let lost = Targets::judge(
            &figures(6_000.0, 10.0, 1),
            &[memory(Some(TARGET_PEAK_RSS_KIB))],
        );
        assert!(lost.throughput && !lost.p99_latency && !lost.memory);
        assert!(!Targets::judge(&figures(6_000.0, 10.0, 0), &[]).memory);
    }
}
