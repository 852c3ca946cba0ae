//! Start and stop a whole validator: store, network, admission, consensus driver and API.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::{Context as _, bail};
use suyuan_api::ApiState;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::genesis::Genesis;
use suyuan_storage::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admission::{Admission, gossip_batcher, gossip_queue};
use crate::byzantine::Misbehaviour;
use crate::chain::Chain;
use crate::config::{Config, LogFormat};
use crate::driver::Driver;
use crate::mempool::Mempool;
use crate::network::{Network, NetworkConfig, NetworkHandle};
use crate::node_api::{NodeApi, Shared};

/// A running validator.
pub struct RunningNode {
    /// This validator's index in genesis.
    pub index: usize,
    /// Where its API listens.
    pub api_address: std::net::SocketAddr,
    /// Its store, shared with the API.
    pub store: Arc<Store>,
    /// The node as the API sees it (submit, status).
    pub api: Arc<NodeApi>,
    shared: Arc<Shared>,
    network: NetworkHandle,
    shutdown: watch::Sender<bool>,
    driver: JoinHandle<anyhow::Result<()>>,
    admission: JoinHandle<()>,
    server: JoinHandle<std::io::Result<()>>,
}

/// Reads and checks a genesis file.
pub fn read_genesis(path: &Path) -> anyhow::Result<Genesis> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading genesis {}", path.display()))?;
    Genesis::from_json(&bytes).with_context(|| format!("genesis {}", path.display()))
}

impl RunningNode {
    /// Starts the validator `config` describes on the current tokio runtime.
    pub async fn start(config: &Config) -> anyhow::Result<RunningNode> {
        let genesis = read_genesis(&config.node.genesis)?;
        let key = crate::keyfile::read(&config.node.key)?;
        RunningNode::start_with(config, genesis, key).await
    }

    /// Starts a validator from an already-read genesis and key.
    pub async fn start_with(
        config: &Config,
        genesis: Genesis,
        key: KeyPair,
    ) -> anyhow::Result<RunningNode> {
        RunningNode::start_misbehaving(config, genesis, key, Misbehaviour::default()).await
    }

    /// Starts a validator that misbehaves as `misbehaviour` says: for tests of what honest
    /// validators survive ([`crate::byzantine`]); production nodes start with
    /// [`RunningNode::start`] or [`RunningNode::start_with`], always honest.
    pub async fn start_misbehaving(
        config: &Config,
        genesis: Genesis,
        key: KeyPair,
        misbehaviour: Misbehaviour,
    ) -> anyhow::Result<RunningNode> {
        let Some((index, _)) = genesis.validator(&key.public()) else {
            bail!(
                "key {} is not a validator of chain {}",
                key.public(),
                genesis.chain_id
            );
        };
        let genesis = Arc::new(genesis);
        let data_dir = config.node.data_dir.clone();
        let store = {
            let genesis = Arc::clone(&genesis);
            tokio::task::spawn_blocking(move || Store::open(&data_dir, &genesis))
                .await?
                .with_context(|| {
                    format!("opening the store in {}", config.node.data_dir.display())
                })?
        };
        let store = Arc::new(store);
        let listen = config.p2p.listen.parse().with_context(|| {
            format!("[p2p] listen {:?} is not a multiaddress", config.p2p.listen)
        })?;
        let network_config = NetworkConfig {
            listen_address: Some(listen),
            ..NetworkConfig::default()
        };
        let (network, events) =
            Network::start(network_config, &genesis, &key).context("starting the network")?;
        let (gossip_tx, gossip_rx) = gossip_queue();
        let admission = Arc::new(Admission::new(
            Arc::clone(&genesis),
            Arc::clone(&store),
            Mempool::new(config.mempool),
            gossip_tx,
        ));
        tokio::spawn(gossip_batcher(gossip_rx, network.clone()));
        let shared = Arc::new(Shared::new(genesis.validators.len()));
        let chain = Chain::new(Arc::clone(&store), Arc::clone(&genesis))?;
        let driver = Driver::new(
            Arc::clone(&genesis),
            key,
            chain,
            network.clone(),
            Arc::clone(&admission),
            Arc::clone(&shared),
            config.consensus,
            config.block,
        )?
        .misbehave(misbehaviour.clone());
        if !misbehaviour.is_honest() {
            tracing::warn!(
                ?misbehaviour,
                "this validator misbehaves on purpose (a test)"
            );
            misbehaviour.spawn(&genesis.binding(), &network);
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let driver = tokio::spawn(driver.run(events, shutdown_rx.clone()));
        let admission_worker =
            tokio::spawn(Arc::clone(&admission).run_worker(network.clone(), shutdown_rx.clone()));
        let api = Arc::new(NodeApi {
            genesis: Arc::clone(&genesis),
            index,
            store: Arc::clone(&store),
            admission,
            shared: Arc::clone(&shared),
            network: network.clone(),
        });
        let listener = tokio::net::TcpListener::bind(&config.api.listen)
            .await
            .with_context(|| format!("[api] listen on {}", config.api.listen))?;
        let api_address = listener.local_addr()?;
        let state = ApiState {
            store: Arc::clone(&store),
            node: Arc::clone(&api) as Arc<dyn suyuan_api::Node>,
            limits: config.api.limits(),
            // Checked with the configuration; the check also drops a trailing `/`.
            public_url: config
                .api
                .public_url
                .as_deref()
                .and_then(|url| suyuan_api::check_public_url(url).ok()),
        };
        let mut stop_api = shutdown_rx;
        let server = tokio::spawn(suyuan_api::serve(listener, state, async move {
            let _ = stop_api.wait_for(|stop| *stop).await;
        }));
        tracing::info!(
            validator = index,
            chain = %genesis.chain_id,
            api = %api_address,
            p2p = %config.p2p.listen,
            height = store.head().height,
            "node started"
        );
        Ok(RunningNode {
            index,
            api_address,
            store,
            api,
            shared,
            network,
            shutdown,
            driver,
            admission: admission_worker,
            server,
        })
    }

    /// Whether the consensus driver has stopped on its own (a fatal error).
    pub fn driver_finished(&self) -> bool {
        self.driver.is_finished()
    }

    /// Stops the node: refuses new submissions, stops consensus, lets in-flight API requests
    /// finish, closes the network. Returns the driver's error if it had failed.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shared.stopping.store(true, Ordering::Relaxed);
        let _ = self.shutdown.send(true);
        let driver = self.driver.await.context("the consensus driver panicked")?;
        self.admission
            .await
            .context("the admission worker panicked")?;
        if let Err(error) = self.server.await.context("the API server panicked")? {
            tracing::warn!(%error, "the API server stopped with an error");
        }
        self.network.shutdown().await;
        tracing::info!(validator = self.index, "node stopped");
        driver
    }
}

/// Sets up logging to stderr as `[log]` says; `RUST_LOG` overrides the level.
pub fn init_logging(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The environment variable through which glibc's malloc takes its arena bound.
pub const MALLOC_ARENA_MAX: &str = "MALLOC_ARENA_MAX";

/// Starts this process again with glibc's malloc bounded to one arena per core (at least
/// two), unless [`MALLOC_ARENA_MAX`] is set already: call it first thing in a node binary's
/// `main`, before any thread starts. Returns only when it did not restart the process: the
/// variable was set, the C library is not glibc, or the restart failed (the error says why;
/// the node then runs with glibc's default).
///
/// Why: glibc gives each thread that allocates under contention an arena of its own, up to
/// eight per core, and never returns a fragmented arena's pages. A node's many threads
/// (tokio's workers, admission's verifiers, RocksDB's flushes and compactions) allocate and
/// free megabyte-sized blocks, batches and write sets, so under load each node held 1.4–1.8
/// GiB where two arenas hold 0.8–0.9 GiB for the same throughput (BENCHMARKS.md, session 9).
/// The bound has to be in the environment before the process starts: glibc reads it when
/// malloc first runs, and changing it from safe Rust is only possible this way.
pub fn bound_malloc_arenas() -> std::io::Result<()> {
    if !cfg!(all(target_os = "linux", target_env = "gnu"))
        || std::env::var_os(MALLOC_ARENA_MAX).is_some()
    {
        return Ok(());
    }
    use std::os::unix::process::CommandExt as _;
    let arenas = std::thread::available_parallelism().map_or(2, |cores| cores.get().max(2));
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let error = std::process::Command::new(std::env::current_exe()?)
        .arg0(argv0)
        .args(args)
        .env(MALLOC_ARENA_MAX, arenas.to_string())
        .exec();
    Err(error)
}

/// Runs the node of `config` until SIGINT or SIGTERM, then stops it cleanly.
pub fn run(config_path: &Path) -> anyhow::Result<()> {
    run_misbehaving(config_path, Misbehaviour::default())
}

/// [`run`], misbehaving as `misbehaviour` says: for the test binary `suyuan-byzantine` only.
pub fn run_misbehaving(config_path: &Path, misbehaviour: Misbehaviour) -> anyhow::Result<()> {
    let config = Config::load(config_path, std::env::vars())?;
    init_logging(&config.log.level, config.log.format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let genesis = read_genesis(&config.node.genesis)?;
        let key = crate::keyfile::read(&config.node.key)?;
        let node = RunningNode::start_misbehaving(&config, genesis, key, misbehaviour).await?;
        let outcome = wait_for_signal_or_failure(&node).await;
        let stopped = node.stop().await;
        outcome.and(stopped)
    })
}

/// Waits for SIGINT or SIGTERM, or for the driver to stop on a fatal error.
async fn wait_for_signal_or_failure(node: &RunningNode) -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let mut check = tokio::time::interval(std::time::Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("SIGINT: stopping");
                return Ok(());
            }
            _ = terminate.recv() => {
                tracing::info!("SIGTERM: stopping");
                return Ok(());
            }
            _ = check.tick() => {
                if node.driver_finished() {
                    return Ok(());
                }
            }
        }
    }
}

/// Writes a consistent checkpoint of a stopped node's database to `out`.
pub fn backup(config_path: &Path, out: &Path) -> anyhow::Result<suyuan_storage::Head> {
    let config = Config::load(config_path, std::env::vars())?;
    let genesis = read_genesis(&config.node.genesis)?;
    let store = Store::open(&config.node.data_dir, &genesis).with_context(|| {
        format!(
            "opening {} (stop the node first: one process at a time may open it)",
            config.node.data_dir.display()
        )
    })?;
    Ok(store.checkpoint(out)?)
}

/// Replaces a stopped node's database with the backup at `from`. An existing database is
/// kept beside it under a `.before-restore-<time>` name, never deleted.
pub fn restore(config_path: &Path, from: &Path) -> anyhow::Result<suyuan_storage::Head> {
    let config = Config::load(config_path, std::env::vars())?;
    let genesis = read_genesis(&config.node.genesis)?;
    let data_dir = &config.node.data_dir;
    if data_dir.exists() {
        let mut aside = data_dir.clone().into_os_string();
        aside.push(format!(".before-restore-{}", crate::clock::now_ms()));
        std::fs::rename(data_dir, &aside)
            .with_context(|| format!("moving {} aside", data_dir.display()))?;
        eprintln!(
            "the previous database is kept at {}",
            Path::new(&aside).display()
        );
    }
    let store = Store::restore(from, data_dir, &genesis)
        .with_context(|| format!("restoring {} into {}", from.display(), data_dir.display()))?;
    Ok(store.head())
}
