//! Present a yardstick run (as JSON for machines, as a few lines for people) and compare it
//! with a Suyuan run of `suyuan bench --json`: the ratio issue 16 asks for.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::drive::Figures;
use crate::host::{CpuUse, Machine};

/// Issue 16: Suyuan's committed throughput must be at least this share of the yardstick's.
pub const TARGET_RATIO: f64 = 0.5;

/// A run that committed at least this share of what was offered kept up with it: its
/// capacity was not measured, only bounded from below.
pub const KEPT_UP_SHARE: f64 = 0.98;

/// How the run was set up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The service's base URL.
    pub service: String,
    /// Offered rate, transactions per second.
    pub rate_per_s: u64,
    /// Measured window, seconds.
    pub duration_s: u64,
    /// Warmup before the window, seconds.
    pub warmup_s: u64,
    /// Envelopes per batch request.
    pub batch: usize,
    /// Enterprises signing the load.
    pub signers: usize,
    /// Transactions signed before the load.
    pub transactions: usize,
    /// Seconds it took to sign them, on every core.
    pub signing_s: f64,
}

/// Everything a yardstick run reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The run's settings.
    pub settings: Settings,
    /// The machine.
    pub machine: Machine,
    /// Throughput, latency, refusals.
    pub figures: Figures,
    /// Where the CPU went during the window.
    pub cpu: CpuUse,
}

impl Report {
    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out)
            .expect("writing to a String does not fail");
        out
    }

    fn write_text(&self, out: &mut String) -> std::fmt::Result {
        let settings = &self.settings;
        let figures = &self.figures;
        let machine = &self.machine;
        writeln!(
            out,
            "pg-baseline: PostgreSQL yardstick at {}; {} tx/s offered for {} s after {} s of warmup; batches of {}; {} signers",
            settings.service,
            settings.rate_per_s,
            settings.duration_s,
            settings.warmup_s,
            settings.batch,
            settings.signers
        )?;
        writeln!(
            out,
            "machine: {} cores ({}), {} MiB; load average {} before the run",
            machine.cores,
            machine.cpu.as_deref().unwrap_or("unknown CPU"),
            machine
                .memory_mib
                .map_or("unknown".into(), |mib| mib.to_string()),
            machine
                .load_average_before
                .map_or("unknown".into(), |load| format!("{load:.2}"))
        )?;
        writeln!(
            out,
            "signed {} transactions in {:.1} s before the load",
            settings.transactions, settings.signing_s
        )?;
        writeln!(
            out,
            "sent {} transactions ({} batches late by more than {} ms, latest {:.1} ms); {} acknowledged as stored",
            figures.sent,
            figures.late_sends,
            crate::drive::LATE_SEND_THRESHOLD.as_millis(),
            figures.max_lateness_ms,
            figures.acknowledged
        )?;
        for (kind, refusals) in &figures.refused {
            writeln!(
                out,
                "  refused {kind}: {} (e.g. {})",
                refusals.transactions, refusals.example
            )?;
        }
        writeln!(
            out,
            "committed: {} in the {} s window = {:.1} tx/s (offered {:.1} tx/s)",
            figures.committed_in_window,
            settings.duration_s,
            figures.committed_tx_per_s,
            figures.offered_tx_per_s
        )?;
        match &figures.latency {
            Some(latency) => writeln!(
                out,
                "submit-to-acknowledge latency: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} transactions)",
                latency.p50_ms, latency.p95_ms, latency.p99_ms, latency.max_ms, latency.samples
            )?,
            None => writeln!(
                out,
                "submit-to-acknowledge latency: no transaction acknowledged"
            )?,
        }
        let cores = |value: Option<f64>| value.map_or("unknown".into(), |v| format!("{v:.2}"));
        writeln!(
            out,
            "CPU in the window, cores: service {}, postgres {}, driver {:.2}, other {:.2}, idle {:.2}",
            cores(self.cpu.service),
            cores(self.cpu.postgres),
            self.cpu.driver,
            self.cpu.other,
            self.cpu.idle
        )
    }
}

/// Why a Suyuan report could not be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Suyuan report has no {field}: is it the output of `suyuan bench --json`?")]
pub struct NotABenchReport {
    /// The field missing.
    pub field: &'static str,
}

/// A Suyuan run beside a yardstick run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Suyuan's committed transactions per second in its window.
    pub suyuan_tx_per_s: f64,
    /// What its load offered.
    pub suyuan_offered_tx_per_s: f64,
    /// Its p99 submit-to-commit, milliseconds.
    pub suyuan_p99_ms: Option<f64>,
    /// Cores its validators used together.
    pub suyuan_cores: Option<f64>,
    /// The yardstick's committed transactions per second in its window.
    pub postgres_tx_per_s: f64,
    /// What its load offered.
    pub postgres_offered_tx_per_s: f64,
    /// Its p99 submit-to-acknowledge, milliseconds.
    pub postgres_p99_ms: Option<f64>,
    /// Cores the service and the database used together.
    pub postgres_cores: Option<f64>,
    /// `suyuan_tx_per_s / postgres_tx_per_s`.
    pub ratio: f64,
    /// Whether the yardstick committed all it was offered (at least [`KEPT_UP_SHARE`]): its
    /// capacity is then higher than measured, and the ratio an upper bound.
    pub postgres_kept_up: bool,
    /// The ratio against [`TARGET_RATIO`].
    pub target: TargetVerdict,
}

/// Whether Suyuan's throughput is at least [`TARGET_RATIO`] of the yardstick's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetVerdict {
    /// The ratio is at least the target, and the yardstick was saturated.
    Met,
    /// The ratio is below the target (an upper bound below it is below it too).
    Missed,
    /// The ratio is at least the target, but only as an upper bound: the yardstick kept up
    /// with its load, so its capacity was not measured.
    Undecided,
}

impl Comparison {
    /// Compares `suyuan` (the JSON of `suyuan bench --json`) with `postgres`.
    pub fn of(
        suyuan: &serde_json::Value,
        postgres: &Report,
    ) -> Result<Comparison, NotABenchReport> {
        let number = |pointer: &'static str| {
            suyuan
                .pointer(pointer)
                .and_then(serde_json::Value::as_f64)
                .ok_or(NotABenchReport { field: pointer })
        };
        let suyuan_tx_per_s = number("/figures/committed_tx_per_s")?;
        let suyuan_offered_tx_per_s = number("/figures/offered_tx_per_s")?;
        let suyuan_cores = suyuan
            .pointer("/cpu/nodes")
            .and_then(serde_json::Value::as_array)
            .and_then(|nodes| nodes.iter().map(serde_json::Value::as_f64).sum());
        let figures = &postgres.figures;
        let postgres_cores = (postgres.cpu.service)
            .zip(postgres.cpu.postgres)
            .map(|(service, database)| service + database);
        let ratio = if figures.committed_tx_per_s > 0.0 {
            suyuan_tx_per_s / figures.committed_tx_per_s
        } else {
            f64::INFINITY
        };
        let postgres_kept_up =
            figures.committed_tx_per_s >= KEPT_UP_SHARE * figures.offered_tx_per_s;
        let target = match (ratio >= TARGET_RATIO, postgres_kept_up) {
            (false, _) => TargetVerdict::Missed,
            (true, false) => TargetVerdict::Met,
            (true, true) => TargetVerdict::Undecided,
        };
        Ok(Comparison {
            suyuan_tx_per_s,
            suyuan_offered_tx_per_s,
            suyuan_p99_ms: number("/figures/latency/p99_ms").ok(),
            suyuan_cores,
            postgres_tx_per_s: figures.committed_tx_per_s,
            postgres_offered_tx_per_s: figures.offered_tx_per_s,
            postgres_p99_ms: figures.latency.map(|latency| latency.p99_ms),
            postgres_cores,
            ratio,
            postgres_kept_up,
            target,
        })
    }

    /// The comparison for people; its last line is `ratio suyuan/postgres = X.XX`.
    pub fn to_text(&self) -> String {
        let p99 = |ms: Option<f64>| ms.map_or("-".into(), |ms| format!("{ms:.0} ms"));
        let cores = |cores: Option<f64>| cores.map_or("-".into(), |c| format!("{c:.2}"));
        let mut out = String::new();
        let mut line = |who: &str, committed: f64, offered: f64, p99_ms, used| {
            out.push_str(&format!(
                "{who}: {committed:.1} tx/s committed of {offered:.1} offered, p99 {}, {} cores\n",
                p99(p99_ms),
                cores(used)
            ));
        };
        line(
            "postgres yardstick  ",
            self.postgres_tx_per_s,
            self.postgres_offered_tx_per_s,
            self.postgres_p99_ms,
            self.postgres_cores,
        );
        line(
            "suyuan, 4 validators",
            self.suyuan_tx_per_s,
            self.suyuan_offered_tx_per_s,
            self.suyuan_p99_ms,
            self.suyuan_cores,
        );
        if self.postgres_kept_up {
            out.push_str(
                "note: the yardstick committed what it was offered, so its capacity is higher and \
                 the ratio below is an upper bound; offer more (--rate) to measure it\n",
            );
        }
        let verdict = match self.target {
            TargetVerdict::Met => "met",
            TargetVerdict::Missed => "missed",
            TargetVerdict::Undecided => "undecided (the yardstick was not saturated)",
        };
        out.push_str(&format!(
            "target: suyuan/postgres >= {TARGET_RATIO:.2}: {verdict}\n"
        ));
        out.push_str(&format!("ratio suyuan/postgres = {:.2}\n", self.ratio));
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::drive::LatencySummary;

    fn report(committed: f64, offered: f64) -> Report {
        Report {
            settings: Settings {
                service: "http://127.0.0.1:18600".into(),
                rate_per_s: offered as u64,
                duration_s: 60,
                warmup_s: 5,
                batch: 100,
                signers: 16,
                transactions: 1_000,
                signing_s: 1.0,
            },
            machine: crate::host::machine(),
            figures: Figures {
                sent: 1_000,
                acknowledged: 1_000,
                committed_in_window: 900,
                committed_tx_per_s: committed,
                offered_tx_per_s: offered,
                latency: Some(LatencySummary {
                    samples: 900,
                    p50_ms: 10.0,
                    p95_ms: 20.0,
                    p99_ms: 30.0,
                    max_ms: 40.0,
                }),
                refused: BTreeMap::new(),
                late_sends: 0,
                max_lateness_ms: 0.5,
            },
            cpu: CpuUse {
                service: Some(1.0),
                postgres: Some(0.5),
                driver: 0.3,
                other: 0.0,
                idle: 0.2,
            },
        }
    }

    #[test]
    fn the_ratio_is_suyuan_over_postgres_and_says_when_postgres_was_not_saturated() {
        let suyuan = serde_json::json!({
            "figures": {
                "committed_tx_per_s": 3_900.0,
                "offered_tx_per_s": 20_000.0,
                "latency": { "p99_ms": 9_500.0 }
            },
            "cpu": { "nodes": [0.5, 0.5, 0.4, 0.5] }
        });
        let saturated = Comparison::of(&suyuan, &report(13_000.0, 20_000.0)).unwrap();
        assert!((saturated.ratio - 0.3).abs() < 1e-9);
        assert_eq!(saturated.target, TargetVerdict::Missed);
        assert!(!saturated.postgres_kept_up);
        assert_eq!(saturated.suyuan_cores, Some(1.9));
        assert_eq!(saturated.postgres_cores, Some(1.5));
        let text = saturated.to_text();
        assert!(text.ends_with("ratio suyuan/postgres = 0.30\n"), "{text}");
        assert!(
            text.contains("missed") && !text.contains("upper bound"),
            "{text}"
        );

        let kept_up = Comparison::of(&suyuan, &report(19_900.0, 20_000.0)).unwrap();
        assert!(kept_up.postgres_kept_up);
        assert_eq!(
            kept_up.target,
            TargetVerdict::Missed,
            "an upper bound below"
        );
        assert!(kept_up.to_text().contains("upper bound"));
        let close = Comparison::of(&suyuan, &report(5_000.0, 5_000.0)).unwrap();
        assert_eq!(close.target, TargetVerdict::Undecided);
        assert!(close.to_text().contains("undecided"));
        let met = Comparison::of(&suyuan, &report(5_000.0, 20_000.0)).unwrap();
        assert_eq!(met.target, TargetVerdict::Met);

        let not_bench = serde_json::json!({ "figures": {} });
        assert_eq!(
            Comparison::of(&not_bench, &report(1.0, 1.0)),
            Err(NotABenchReport {
                field: "/figures/committed_tx_per_s"
            })
        );
    }

    #[test]
    fn the_text_report_names_every_figure_and_the_json_reads_back() {
        let report = report(13_000.0, 20_000.0);
        let text = report.to_text();
        for expected in ["13000.0 tx/s", "p99 30.0 ms", "service 1.00, postgres 0.50"] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        let json = serde_json::to_string(&report).unwrap();
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
    }
}
