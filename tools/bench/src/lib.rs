//! Load a running local testnet with pre-signed transactions at a fixed rate, and report the
//! committed throughput, submit-to-commit latency, the nodes' memory, and one core's ed25519
//! verification rate measured in the same run (`suyuan bench`).
//!
//! A run has four phases, only the last timed:
//! 1. [`setup`]: check the nodes run the testnet's chain; as its registrar, enrol the
//!    workload's enterprises (10,000 by default, `--signers`), register a model for each
//!    manufacturer and, for the realistic [`mix`], commission stock lots and stock the
//!    merchants from them, committing each step before the next.
//! 2. [`workload`]: sign `rate × (warmup + duration)` transactions of the [`mix`] on every
//!    core, so that signing never competes with the nodes during the measurement.
//! 3. [`host::verify_rates`]: verify signatures on one core, two seconds each of three ways
//!    (batched as a node does, one at a time, and through ed25519-dalek for reference).
//! 4. [`load`]: send batches on an open-loop [`schedule`], round-robin over the validators'
//!    APIs, while a watcher follows the first node's blocks and stamps each commit; then wait
//!    for the stragglers, ask the nodes why any admitted transaction was dropped, read the
//!    nodes' memory, and compute the [`stats`] of the window that follows the warmup, overall
//!    and per kind of transaction. [`report`] prints them.

mod host;
mod load;
mod mix;
mod report;
mod schedule;
mod setup;
mod stats;
mod workload;
mod zipf;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use suyuan_ledger::genesis::Genesis;

use load::{SubmitTo, Watcher};
use mix::{MAX_SIGNERS, Mix};
use report::{MixFigures, Report, RuleRefusals, RunSettings, SendFigures, Targets, VerifyFigures};
use schedule::{LATE_SEND_THRESHOLD, Schedule};
use stats::{TxRecord, Window};
use suyuan_client::ApiClient;
use workload::{LoadSettings, MAX_TRANSACTIONS, Workload};

/// Highest rate accepted, transactions per second: far beyond what one machine commits.
const MAX_RATE_PER_S: u64 = 1_000_000;

/// Most envelopes per batch request: the API's default `max_batch`.
const MAX_BATCH: usize = 1_000;

/// Longest measured window or warmup, seconds.
const MAX_SECONDS: u64 = 3_600;

/// How long after the last send the run waits for admitted transactions to be committed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How often progress is printed during the load.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(5);

/// How long the load start is put after the watcher starts, so the watcher has its first
/// height before the first batch goes.
const START_LEAD: Duration = Duration::from_millis(200);

/// Load a local testnet and measure throughput, latency, memory and the verification rate.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// The directory `suyuan testnet init` wrote (genesis.json, keys/bureau.key), whose nodes
    /// are running (testnet/start.sh).
    #[arg(long)]
    testnet: PathBuf,
    /// Transactions offered per second.
    #[arg(long, default_value_t = 5_000)]
    rate: u64,
    /// Seconds of the measured window, after the warmup.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Seconds of load before the measured window.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Send batches to every validator's API in turn, or to the first only.
    #[arg(long, value_enum, default_value_t = SubmitTo::All)]
    submit_to: SubmitTo,
    /// Envelopes per POST /v1/transactions/batch.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// The load: `realistic` (commissionings, shipments, sales and inspections by many
    /// enterprises, skewed; see BENCHMARKS.md) or `commission` (new lots only, the enterprises
    /// in turn: the first benchmark's load).
    #[arg(long, value_enum, default_value_t = Mix::Realistic)]
    mix: Mix,
    /// Enterprises enrolled, each with its own key [default: 10000 for the realistic mix, 16
    /// for the commissioning mix].
    #[arg(long)]
    signers: Option<usize>,
    /// The exponent of the Zipf law of each role's traffic in the realistic mix: the
    /// enterprise of rank k signs a share proportional to 1 / k^s (0 is uniform).
    #[arg(long, default_value_t = 1.0)]
    zipf: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the lookup path (`/v1/products/<code>`) of the code every committed load
    /// record names (the lot it commissions, moves or inspects) to this file, one per line:
    /// the input of testnet/lookup-bench.sh.
    #[arg(long)]
    codes_out: Option<PathBuf>,
}

/// Runs the benchmark; progress goes to stderr, the report to stdout.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let (transactions, load_settings) = check_args(&args)?;
    let genesis = read_genesis(&args.testnet)?;
    let registrar = workload::read_registrar(&args.testnet.join("keys").join("bureau.key"))?;
    let clients = api_clients(&genesis)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;

    progress(&format!("checking the {} validators' APIs", clients.len()));
    runtime.block_on(setup::check_network(&clients, &genesis))?;
    // Records are dated now: every block of the run is timed after it, within the windows.
    let dated_ms = unix_now_ms().max(genesis.genesis_time_ms);
    let workload = Workload::new(&genesis, registrar, load_settings, dated_ms)?;
    let set_up = runtime.block_on(setup::set_up(&clients, &workload, progress))?;

    let threads = workload::signing_threads();
    progress(&format!(
        "signing {transactions} transactions on {threads} threads"
    ));
    let signing_start = Instant::now();
    let mut signed = workload.sign_load(transactions, threads);
    let signing_s = signing_start.elapsed().as_secs_f64();
    let kinds = std::mem::take(&mut signed.kinds);
    let distinct_signers = signed.distinct_signers();
    progress(&format!(
        "signed in {signing_s:.1} s; measuring one core's verification rates for 2 × {} s",
        host::VERIFY_MEASURE_TIME.as_secs()
    ));
    let verify_rates = host::verify_rates(&genesis.binding(), &signed.envelopes);

    let schedule = Schedule::new(args.rate, args.batch, transactions);
    progress(&format!(
        "loading at {} tx/s for {} s (warmup {} s)",
        args.rate,
        args.warmup + args.duration,
        args.warmup
    ));
    let node_pids: Vec<Option<u32>> = (0..clients.len())
        .map(|index| host::node_pid(&args.testnet, index).ok())
        .collect();
    let outcome = runtime.block_on(drive(&clients, &args, signed, schedule, node_pids))?;
    let memory: Vec<_> = (0..clients.len())
        .map(|index| host::node_memory(&args.testnet, index))
        .collect();

    let window = Window {
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
    };
    let figures = stats::figures(&outcome.txs, &outcome.watched.blocks, window);
    if let Some(path) = &args.codes_out {
        write_lookup_paths(path, &workload, &outcome.txs)?;
    }
    let roles = workload.roles();
    let report = Report {
        settings: RunSettings {
            validators: clients.len(),
            rate_per_s: args.rate,
            duration_s: args.duration,
            warmup_s: args.warmup,
            batch: args.batch,
            submit_to: args.submit_to,
            transactions,
            signing_s,
            watch_interval_ms: load::WATCH_INTERVAL.as_millis() as u64,
        },
        machine: host::machine(),
        mix: MixFigures {
            mix: args.mix,
            enterprises: roles.total(),
            roles,
            zipf_exponent: workload.zipf_exponent(),
            regulator_inspects: workload.regulator_inspects(),
            distinct_signers,
            setup_transactions: set_up.transactions,
            setup_s: set_up.seconds,
            kinds: stats::by_kind(&outcome.txs, &kinds, args.mix, window),
        },
        sends: SendFigures {
            batches: outcome.sent.punctuality.sends,
            late: outcome.sent.punctuality.late,
            late_threshold_ms: LATE_SEND_THRESHOLD.as_millis() as u64,
            max_lateness_ms: outcome.sent.punctuality.max_lateness.as_secs_f64() * 1e3,
            rule_refusals: RuleRefusals::count(&outcome.sent.refused, &outcome.dropped),
            refused: outcome.sent.refused,
            dropped: outcome.dropped,
        },
        verify: VerifyFigures {
            rates: verify_rates,
            committed_to_batch_verify_ratio: figures.committed_tx_per_s / verify_rates.batch_per_s,
            committed_to_single_verify_ratio: figures.committed_tx_per_s
                / verify_rates.single_per_s,
        },
        targets: Targets::judge(&figures, &memory),
        figures,
        memory,
        cpu: outcome.cpu,
        watcher_failures: outcome.watched.failed_polls,
        watcher_first_failure: outcome.watched.first_failure,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

/// Milliseconds since the Unix epoch, by this machine's clock.
fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// Writes `/v1/products/<code>` of each committed load transaction to `path`, one per line.
fn write_lookup_paths(path: &Path, workload: &Workload, txs: &[TxRecord]) -> anyhow::Result<()> {
    let mut out = String::new();
    let mut url = reqwest::Url::parse("http://node/").expect("a valid URL");
    for (number, tx) in txs.iter().enumerate() {
        if tx.committed.is_some() {
            let code = workload.load_code(number as u64).to_string();
            url.path_segments_mut()
                .expect("an http URL has a path")
                .clear()
                .extend(["v1", "products", &code]);
            out.push_str(url.path());
            out.push('\n');
        }
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

/// Checks the arguments; returns how many transactions the run needs, and its load.
fn check_args(args: &BenchArgs) -> anyhow::Result<(usize, LoadSettings)> {
    let enterprises = args.signers.unwrap_or(args.mix.default_signers());
    let min_signers = args.mix.min_signers();
    ensure!(
        (min_signers..=MAX_SIGNERS).contains(&enterprises),
        "--signers must be {min_signers} to {MAX_SIGNERS} for the {} mix",
        args.mix.name()
    );
    ensure!(
        (0.0..=zipf::MAX_EXPONENT).contains(&args.zipf),
        "--zipf must be 0 to {}",
        zipf::MAX_EXPONENT
    );
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
        (1..=MAX_BATCH).contains(&args.batch),
        "--batch must be 1 to {MAX_BATCH} envelopes"
    );
    let transactions = args.rate * (args.warmup + args.duration);
    let transactions = usize::try_from(transactions)
        .ok()
        .filter(|&count| count <= MAX_TRANSACTIONS)
        .with_context(|| {
            format!(
                "--rate × (--warmup + --duration) is {transactions} transactions; at most {MAX_TRANSACTIONS} fit in memory"
            )
        })?;
    let settings = LoadSettings {
        mix: args.mix,
        enterprises,
        zipf_exponent: args.zipf,
    };
    Ok((transactions, settings))
}

/// Reads `<dir>/genesis.json`.
fn read_genesis(dir: &Path) -> anyhow::Result<Genesis> {
    let path = dir.join("genesis.json");
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "reading {} (is --testnet a directory written by `suyuan testnet init`?)",
            path.display()
        )
    })?;
    Genesis::from_json(&bytes).with_context(|| format!("reading {}", path.display()))
}

/// A client per validator, from the API URLs in genesis.
fn api_clients(genesis: &Genesis) -> anyhow::Result<Vec<ApiClient>> {
    genesis
        .validators
        .iter()
        .enumerate()
        .map(|(index, validator)| {
            let url = validator.api_url.as_ref().with_context(|| {
                format!("genesis gives validator {index} no api_url to send transactions to")
            })?;
            ApiClient::new(url.as_str())
        })
        .collect()
}

/// What the timed phase recorded.
struct Outcome {
    /// Per load transaction: when sent, whether admitted, when committed.
    txs: Vec<TxRecord>,
    /// The send loop's counts.
    sent: load::Sent,
    /// The watcher's blocks and failures.
    watched: load::Watched,
    /// What became of the admitted transactions never seen committed.
    dropped: load::Dropped,
    /// Where the CPU went during the window.
    cpu: host::CpuUse,
}

/// Sends the load and follows its commits, then waits up to [`DRAIN_TIMEOUT`] for the
/// admitted transactions still pending.
async fn drive(
    clients: &[ApiClient],
    args: &BenchArgs,
    signed: workload::SignedLoad,
    schedule: Schedule,
    node_pids: Vec<Option<u32>>,
) -> anyhow::Result<Outcome> {
    let index_by_id = Arc::new(signed.index_by_id());
    let height = clients[0]
        .status()
        .await
        .context("reading the first node's height before the load")?
        .height;
    let start = Instant::now() + START_LEAD;
    let committed_count = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let watcher = Watcher::new(
        clients[0].clone(),
        Arc::clone(&index_by_id),
        height,
        start,
        Arc::clone(&committed_count),
    );
    let watching = tokio::spawn(watcher.run(stopped));
    let window_start = start + Duration::from_secs(args.warmup);
    let window_end = window_start + Duration::from_secs(args.duration);
    let cpu_sampling = tokio::spawn(async move {
        tokio::time::sleep_until(window_start.into()).await;
        let before = host::cpu_sample(&node_pids);
        tokio::time::sleep_until(window_end.into()).await;
        let after = host::cpu_sample(&node_pids);
        host::CpuUse::between(&before, &after, (window_end - window_start).as_secs_f64())
    });

    let progress_ticker = tokio::spawn(report_progress(start, Arc::clone(&committed_count)));

    let ids = signed.ids;
    let envelopes = Arc::new(signed.envelopes);
    let sent = load::send(clients, args.submit_to, envelopes, &ids, schedule, start).await;
    let admitted = sent.admitted.iter().filter(|&&admitted| admitted).count();
    progress(&format!(
        "all batches answered: {admitted} of {} admitted; waiting up to {} s for their commits",
        ids.len(),
        DRAIN_TIMEOUT.as_secs()
    ));
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while committed_count.load(Ordering::Relaxed) < admitted && Instant::now() < drain_deadline {
        tokio::time::sleep(load::WATCH_INTERVAL).await;
    }
    stop.send(true)
        .expect("the watcher holds its receiver until it returns");
    progress_ticker.abort();
    let watched = watching.await.context("the commit watcher failed")?;
    let cpu = cpu_sampling.await.context("sampling CPU times failed")?;

    let batch = args.batch;
    let txs: Vec<TxRecord> = (0..ids.len())
        .map(|index| TxRecord {
            sent: sent.batch_sent[index / batch],
            admitted: sent.admitted[index],
            committed: watched.committed[index],
        })
        .collect();
    let never_committed: Vec<usize> = (0..txs.len())
        .filter(|&index| txs[index].admitted && txs[index].committed.is_none())
        .collect();
    if !never_committed.is_empty() {
        progress(&format!(
            "{} admitted transactions were never seen committed; asking the nodes why",
            never_committed.len()
        ));
    }
    let dropped =
        load::explain_dropped(clients, args.submit_to, batch, &ids, &never_committed).await;
    Ok(Outcome {
        txs,
        sent,
        watched,
        dropped,
        cpu,
    })
}

/// Prints, every [`PROGRESS_INTERVAL`] from `start`, how many load transactions have been
/// seen committed, so that a stall shows while it happens.
async fn report_progress(start: Instant, committed_count: Arc<AtomicUsize>) {
    let mut ticks = tokio::time::interval_at((start + PROGRESS_INTERVAL).into(), PROGRESS_INTERVAL);
    let mut last = 0;
    loop {
        ticks.tick().await;
        let committed = committed_count.load(Ordering::Relaxed);
        progress(&format!(
            "{:>4} s: {committed} committed ({:.0} tx/s over the last {} s)",
            start.elapsed().as_secs(),
            (committed - last) as f64 / PROGRESS_INTERVAL.as_secs_f64(),
            PROGRESS_INTERVAL.as_secs()
        ));
        last = committed;
    }
}

/// Notes progress on stderr, keeping stdout for the report.
fn progress(message: &str) {
    eprintln!("bench: {message}");
}
