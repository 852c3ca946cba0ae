//! `suyuan-pg-baseline`: run the PostgreSQL yardstick of issue 16, load it, and compare it
//! with a Suyuan run.
//!
//! - `serve` runs the central service against a PostgreSQL server that is already running
//!   (testnet/pg-baseline.sh starts a throwaway one), until SIGTERM or Ctrl-C, or until a
//!   write fails.
//! - `drive` signs a load, sends it to the service open-loop as `suyuan bench` sends one to a
//!   consortium, and prints the report (text, or JSON with `--json`).
//! - `compare` reads a `suyuan bench --json` report and a `drive --json` report and prints
//!   both throughputs and `ratio suyuan/postgres = X.XX`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use clap::Parser;
use suyuan_api::ApiLimits;
use suyuan_client::ApiClient;
use suyuan_pg_baseline::drive::{self, Figures, Plan, Window};
use suyuan_pg_baseline::host::{self, CpuUse, Watched};
use suyuan_pg_baseline::load::{self, DEFAULT_SIGNERS, MAX_SIGNERS};
use suyuan_pg_baseline::report::{Comparison, Report, Settings};
use suyuan_pg_baseline::service::{self, Service};
use suyuan_pg_baseline::store::{MAX_CONNECTIONS, Store, StoreConfig};
use suyuan_pg_baseline::{DEFAULT_CHAIN_ID, yardstick_binding};

/// Highest rate accepted, transactions per second: far beyond what one machine stores.
const MAX_RATE_PER_S: u64 = 1_000_000;

/// Most transactions one run signs and holds in memory (about 1 KiB each).
const MAX_TRANSACTIONS: usize = 5_000_000;

/// Longest measured window or warmup, seconds.
const MAX_SECONDS: u64 = 3_600;

/// How often the driver prints progress.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(5);

/// How long the load start is put after the clock is read, so the first batch is not late.
const START_LEAD: Duration = Duration::from_millis(200);

/// The PostgreSQL yardstick of issue 16.
#[derive(Debug, Parser)]
#[command(name = "suyuan-pg-baseline", version)]
enum Command {
    /// Run the central service: verify envelopes, store them in PostgreSQL, acknowledge once
    /// durable.
    Serve(ServeArgs),
    /// Load the service and report throughput, latency and CPU.
    Drive(DriveArgs),
    /// Compare a `suyuan bench --json` report with a `drive --json` report.
    Compare(CompareArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to serve on (keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:18600")]
    listen: SocketAddr,
    /// The PostgreSQL connection string, e.g. `host=/tmp/pg user=postgres dbname=postgres`
    /// (a host that is a directory is a Unix socket's).
    #[arg(long)]
    postgres: String,
    /// The chain id envelopes are signed for (the driver's must be the same).
    #[arg(long, default_value = DEFAULT_CHAIN_ID)]
    chain_id: String,
    /// Database sessions committing at once.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Batches verified at once, one per thread (default: every core).
    #[arg(long)]
    verify_threads: Option<usize>,
}

#[derive(Debug, clap::Args)]
struct DriveArgs {
    /// The service's base URL.
    #[arg(long, default_value = "http://127.0.0.1:18600")]
    service: String,
    /// Transactions offered per second.
    #[arg(long, default_value_t = 5_000)]
    rate: u64,
    /// Seconds of the measured window, after the warmup.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Seconds of load before the measured window.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Envelopes per POST /v1/transactions/batch.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Enterprises signing the load, each with its own key.
    #[arg(long, default_value_t = DEFAULT_SIGNERS)]
    signers: usize,
    /// The chain id to sign for (the service's must be the same).
    #[arg(long, default_value = DEFAULT_CHAIN_ID)]
    chain_id: String,
    /// The service's process id, to count its CPU.
    #[arg(long)]
    service_pid: Option<u32>,
    /// The PostgreSQL server's first process id (the first line of `postmaster.pid`), to count
    /// the CPU of it and its children.
    #[arg(long)]
    postgres_pid: Option<u32>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct CompareArgs {
    /// The report of `suyuan bench --json` (or `testnet/bench.sh --json`).
    #[arg(long)]
    suyuan: PathBuf,
    /// The report of `suyuan-pg-baseline drive --json`.
    #[arg(long)]
    postgres: PathBuf,
    /// Print the comparison as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let outcome = match Command::parse() {
        Command::Serve(args) => serve(args),
        Command::Drive(args) => drive(args),
        Command::Compare(args) => compare(args),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("suyuan-pg-baseline: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the service until a signal or a failed write.
fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    ensure!(
        (1..=MAX_CONNECTIONS).contains(&args.connections),
        "--connections must be 1 to {MAX_CONNECTIONS}"
    );
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let verify_threads = args.verify_threads.unwrap_or(cores);
    ensure!(verify_threads >= 1, "--verify-threads must be at least 1");
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let config = StoreConfig {
            postgres: args.postgres,
            connections: args.connections,
        };
        let (store, committer) = Store::open(&config).await?;
        let mut committing = tokio::spawn(committer.run());
        let service = Arc::new(Service::new(
            yardstick_binding(&args.chain_id),
            store,
            verify_threads,
        ));
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        eprintln!(
            "suyuan-pg-baseline: serving on http://{} ({} database sessions, {verify_threads} verifying threads)",
            listener.local_addr()?,
            config.connections
        );
        let serving = axum::serve(listener, service::router(service))
            .with_graceful_shutdown(stop_requested())
            .into_future();
        tokio::select! {
            served = serving => served.context("serving HTTP")?,
            committed = &mut committing => {
                committed.context("the committer panicked")??;
                anyhow::bail!("the committer stopped while the service was serving");
            }
        }
        // The router, and with it the last store handle, is gone: the committer finishes
        // what it holds and ends.
        committing.await.context("the committer panicked")??;
        eprintln!("suyuan-pg-baseline: stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// Resolves on SIGTERM or Ctrl-C.
async fn stop_requested() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler can be installed");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Signs a load, sends it, prints the report.
fn drive(args: DriveArgs) -> anyhow::Result<ExitCode> {
    let transactions = check_drive_args(&args)?;
    let client = ApiClient::new(&args.service)?;
    let chain = yardstick_binding(&args.chain_id);
    progress(&format!(
        "signing {transactions} transactions of {} signers on every core",
        args.signers
    ));
    let signing_start = Instant::now();
    let signed = load::commissioning_load(&chain, args.signers, transactions);
    let signing_s = signing_start.elapsed().as_secs_f64();
    progress(&format!(
        "signed in {signing_s:.1} s; loading at {} tx/s for {} s (warmup {} s)",
        args.rate,
        args.warmup + args.duration,
        args.warmup
    ));
    let machine = host::machine();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let window = Window {
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
    };
    let plan = Plan {
        rate_per_s: args.rate,
        batch: args.batch,
        total: transactions,
    };
    let watched = Watched {
        service: args.service_pid,
        postgres: args.postgres_pid,
    };
    let envelopes = Arc::new(signed.envelopes);
    let (outcomes, cpu) = runtime.block_on(async {
        let start = Instant::now() + START_LEAD;
        let cpu = tokio::spawn(sample_cpu(watched, start, window));
        let acknowledged = Arc::new(AtomicUsize::new(0));
        let ticker = tokio::spawn(report_progress(start, Arc::clone(&acknowledged)));
        let outcomes = drive::send(&client, envelopes, plan, start, acknowledged).await;
        ticker.abort();
        (outcomes, cpu.await)
    });
    let report = Report {
        settings: Settings {
            service: args.service.clone(),
            rate_per_s: args.rate,
            duration_s: args.duration,
            warmup_s: args.warmup,
            batch: args.batch,
            signers: args.signers,
            transactions,
            signing_s,
        },
        machine,
        figures: Figures::of(&outcomes, &signed.ids, window),
        cpu: cpu.context("sampling CPU times failed")?,
    };
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &args.json_out {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{json}");
    } else {
        print!("{}", report.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks the driver's arguments; returns how many transactions the run needs.
fn check_drive_args(args: &DriveArgs) -> anyhow::Result<usize> {
    let max_batch = ApiLimits::default().max_batch;
    ensure!(
        (1..=MAX_RATE_PER_S).contains(&args.rate),
        "--rate must be 1 to {MAX_RATE_PER_S} transactions per second"
    );
    ensure!(
        (1..=MAX_SECONDS).contains(&args.duration),
        "--duration must be 1 to {MAX_SECONDS} seconds"
    );
    ensure!(
        args.warmup <= MAX_SECONDS,
        "--warmup must be 0 to {MAX_SECONDS} seconds"
    );
    ensure!(
        (1..=max_batch).contains(&args.batch),
        "--batch must be 1 to {max_batch} envelopes (a node's largest batch)"
    );
    ensure!(
        (1..=MAX_SIGNERS).contains(&args.signers),
        "--signers must be 1 to {MAX_SIGNERS}"
    );
    let transactions = args.rate * (args.warmup + args.duration);
    usize::try_from(transactions)
        .ok()
        .filter(|&count| count <= MAX_TRANSACTIONS)
        .with_context(|| {
            format!(
                "--rate × (--warmup + --duration) is {transactions} transactions; at most {MAX_TRANSACTIONS} fit in memory"
            )
        })
}

/// The CPU used during `window` from `start`.
async fn sample_cpu(watched: Watched, start: Instant, window: Window) -> CpuUse {
    let window_start = start + window.warmup;
    tokio::time::sleep_until(window_start.into()).await;
    let before = host::cpu_sample(watched);
    tokio::time::sleep_until((window_start + window.duration).into()).await;
    let after = host::cpu_sample(watched);
    CpuUse::between(&before, &after, window.duration.as_secs_f64())
}

/// Prints, every [`PROGRESS_INTERVAL`] from `start`, how many transactions were acknowledged.
async fn report_progress(start: Instant, acknowledged: Arc<AtomicUsize>) {
    let mut ticks = tokio::time::interval_at((start + PROGRESS_INTERVAL).into(), PROGRESS_INTERVAL);
    let mut last = 0;
    loop {
        ticks.tick().await;
        let now = acknowledged.load(Ordering::Relaxed);
        progress(&format!(
            "{:>4} s: {now} acknowledged ({:.0} tx/s over the last {} s)",
            start.elapsed().as_secs(),
            (now - last) as f64 / PROGRESS_INTERVAL.as_secs_f64(),
            PROGRESS_INTERVAL.as_secs()
        ));
        last = now;
    }
}

/// Prints both runs and the ratio.
fn compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let suyuan: serde_json::Value = read_json(&args.suyuan)?;
    let postgres: Report = read_json(&args.postgres)?;
    let comparison = Comparison::of(&suyuan, &postgres)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        print!("{}", comparison.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
}

/// Notes progress on stderr, keeping stdout for the report.
fn progress(message: &str) {
    eprintln!("pg-baseline: {message}");
}
