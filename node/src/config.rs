//! Read a node's TOML configuration, with environment variables overriding any value.
//!
//! Every key of the file can be overridden by `SUYUAN_<SECTION>_<KEY>` in upper case, e.g.
//! `SUYUAN_API_LISTEN=0.0.0.0:8080` for `[api] listen`. Values from the environment are read as
//! TOML values (`7100`, `true`, `"text"`), and as plain strings when they are not valid TOML.
//! Unknown keys, in the file or the environment, are errors: a typo must not silently fall
//! back to a default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use serde::{Deserialize, Serialize};
use suyuan_api::ApiLimits;

use suyuan_ledger::genesis::MIN_CLOCK_SKEW_MS;
use suyuan_ledger::limits::{MAX_BLOCK_BODY_BYTES, MAX_BLOCK_TRANSACTIONS, body_bytes_bound};

use crate::mempool::MempoolLimits;

/// Prefix of the environment variables that override configuration values.
pub const ENV_PREFIX: &str = "SUYUAN_";

/// A node's configuration. Relative paths are relative to the configuration file's directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Files the node reads and writes.
    pub node: NodeSection,
    /// The peer-to-peer network.
    pub p2p: P2pSection,
    /// The HTTP API.
    pub api: ApiSection,
    /// Consensus timing.
    #[serde(default)]
    pub consensus: ConsensusSection,
    /// Bounds on pending transactions.
    #[serde(default)]
    pub mempool: MempoolLimits,
    /// Bounds on proposed blocks.
    #[serde(default)]
    pub block: BlockSection,
    /// Logging.
    #[serde(default)]
    pub log: LogSection,
}

/// `[node]`: where the node's files are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// The database directory.
    pub data_dir: PathBuf,
    /// The consortium's genesis file.
    pub genesis: PathBuf,
    /// This validator's key file (mode 0600).
    pub key: PathBuf,
}

/// `[p2p]`: the libp2p listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P2pSection {
    /// The multiaddress to listen on, e.g. `/ip4/0.0.0.0/tcp/7100`.
    pub listen: String,
}

/// `[api]`: the HTTP listener and the limits an operator may tune (`suyuan_api::ApiLimits`
/// documents each; the others keep their defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// The socket address to listen on, e.g. `127.0.0.1:8100`.
    pub listen: String,
    /// Threads reading the store for API requests, and nothing else.
    #[serde(default = "defaults::read_threads")]
    pub read_threads: usize,
    /// Reads of each kind (point reads, scans) that may wait for a read thread.
    #[serde(default = "defaults::max_queued_reads")]
    pub max_queued_reads: usize,
    /// Most stored entries one request's scan (report, score, ranking) may read.
    #[serde(default = "defaults::max_read_entries")]
    pub max_read_entries: u64,
    /// Connections open at once.
    #[serde(default = "defaults::max_connections")]
    pub max_connections: usize,
    /// Connections open at once from one client address (IPv4, or IPv6 /64).
    #[serde(default = "defaults::max_connections_per_ip")]
    pub max_connections_per_ip: usize,
    /// How long a response may wait for its client to read any of it, in milliseconds.
    #[serde(default = "defaults::write_timeout_ms")]
    pub write_timeout_ms: u64,
    /// The address clients reach this API at, `https://host[:port]`, when it differs from what
    /// they send as `Host` (a TLS proxy in front): the GS1 resolver's root and the base of the
    /// absolute links in its linksets. Unset: `http://` and the request's `Host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

impl ApiSection {
    /// The `[api]` section listening on `listen`, with every limit at its default.
    pub fn listening_on(listen: String) -> ApiSection {
        ApiSection {
            listen,
            read_threads: defaults::read_threads(),
            max_queued_reads: defaults::max_queued_reads(),
            max_read_entries: defaults::max_read_entries(),
            max_connections: defaults::max_connections(),
            max_connections_per_ip: defaults::max_connections_per_ip(),
            write_timeout_ms: defaults::write_timeout_ms(),
            public_url: None,
        }
    }

    /// The API's limits: the ones this section sets, the defaults for the rest.
    pub fn limits(&self) -> ApiLimits {
        ApiLimits {
            read_threads: self.read_threads,
            max_queued_reads: self.max_queued_reads,
            max_read_entries: self.max_read_entries,
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            write_timeout: Duration::from_millis(self.write_timeout_ms),
            ..ApiLimits::default()
        }
    }
}

/// The defaults of `[api]`: the API's own.
mod defaults {
    use suyuan_api::ApiLimits;

    pub(super) fn read_threads() -> usize {
        ApiLimits::default().read_threads
    }

    pub(super) fn max_queued_reads() -> usize {
        ApiLimits::default().max_queued_reads
    }

    pub(super) fn max_read_entries() -> u64 {
        ApiLimits::default().max_read_entries
    }

    pub(super) fn max_connections() -> usize {
        ApiLimits::default().max_connections
    }

    pub(super) fn max_connections_per_ip() -> usize {
        ApiLimits::default().max_connections_per_ip
    }

    pub(super) fn write_timeout_ms() -> u64 {
        ApiLimits::default().write_timeout.as_millis() as u64
    }
}

/// `[consensus]`: timeouts, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusSection {
    /// How long to wait for the leader's proposal before voting to skip the view.
    pub leader_timeout_ms: u64,
    /// How long to wait for a view to be notarized before voting to skip it.
    pub view_timeout_ms: u64,
}

impl Default for ConsensusSection {
    fn default() -> Self {
        ConsensusSection {
            leader_timeout_ms: 2_500,
            view_timeout_ms: 3_500,
        }
    }
}

/// `[block]`: what a leader puts in one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlockSection {
    /// Most transactions per block (at most the ledger's own bound).
    pub max_transactions: usize,
    /// Most payload bytes per block.
    pub max_bytes: usize,
    /// While transactions wait, the leader proposes this long after the parent block's time
    /// (at once when a full block waits), so that busy blocks carry many transactions.
    pub interval_ms: u64,
    /// With nothing to include, the leader proposes an empty block this long after the
    /// parent's time; it must stay well below the leader timeout.
    pub idle_interval_ms: u64,
    /// A leader stops adding transactions to its proposal once executing them took this long,
    /// so that a block every follower must execute too is checked well within the leader
    /// timeout however slow state reads have become; at most a third of `leader_timeout_ms`.
    pub max_execution_ms: u64,
}

impl Default for BlockSection {
    fn default() -> Self {
        BlockSection {
            max_transactions: 10_000,
            max_bytes: 8 * 1024 * 1024,
            interval_ms: 200,
            idle_interval_ms: 1_000,
            max_execution_ms: 500,
        }
    }
}

/// `[log]`: what is logged and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// A `tracing` filter, e.g. `info` or `suyuan=debug,libp2p=warn`.
    pub level: String,
    /// `json` for one JSON object per line, `text` for people.
    pub format: LogFormat,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: "info,libp2p_gossipsub=error".into(),
            format: LogFormat::Json,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

impl Config {
    /// The configuration `suyuan testnet init` writes for one validator of a local testnet:
    /// files beside the configuration (`data`, `validator.key`, `../genesis.json`), listeners
    /// on 127.0.0.1 at the given ports, and defaults for everything else.
    pub fn local(p2p_port: u16, api_port: u16) -> Config {
        Config {
            node: NodeSection {
                data_dir: "data".into(),
                genesis: "../genesis.json".into(),
                key: "validator.key".into(),
            },
            p2p: P2pSection {
                listen: format!("/ip4/127.0.0.1/tcp/{p2p_port}"),
            },
            api: ApiSection::listening_on(format!("127.0.0.1:{api_port}")),
            consensus: ConsensusSection::default(),
            mempool: MempoolLimits::default(),
            block: BlockSection::default(),
            log: LogSection::default(),
        }
    }

    /// Reads `path`, applies overrides from `environment` (pairs of name and value; pass
    /// `std::env::vars()`), checks the result, and resolves relative paths.
    pub fn load(
        path: &Path,
        environment: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading configuration {}", path.display()))?;
        let mut table: toml::Table = text
            .parse()
            .with_context(|| format!("{} is not valid TOML", path.display()))?;
        apply_overrides(&mut table, environment)?;
        let mut config: Config = table.try_into().with_context(|| {
            format!("configuration {} (with SUYUAN_* overrides)", path.display())
        })?;
        config.check()?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        let limit = MAX_BLOCK_TRANSACTIONS;
        if self.block.max_transactions == 0 || self.block.max_transactions > limit {
            bail!("[block] max_transactions must be 1 to {limit}");
        }
        // Followers refuse a body above the ledger's bound: a leader must never build one.
        let body = body_bytes_bound(self.block.max_transactions, self.block.max_bytes);
        if self.block.max_bytes == 0 || body > MAX_BLOCK_BODY_BYTES {
            let most = MAX_BLOCK_BODY_BYTES - body_bytes_bound(self.block.max_transactions, 0);
            bail!(
                "[block] max_bytes must be 1 to {most} with max_transactions = {}: with the \
                 envelopes' framing a block could reach {body} bytes, above the {MAX_BLOCK_BODY_BYTES} \
                 bytes every follower accepts",
                self.block.max_transactions
            );
        }
        if self.block.idle_interval_ms.saturating_mul(2) > self.consensus.leader_timeout_ms {
            bail!("[block] idle_interval_ms must be at most half of [consensus] leader_timeout_ms");
        }
        if self.block.max_execution_ms == 0
            || self.block.max_execution_ms.saturating_mul(3) > self.consensus.leader_timeout_ms
        {
            bail!("[block] max_execution_ms must be 1 to a third of [consensus] leader_timeout_ms");
        }
        if self.mempool.max_per_signer == 0 {
            bail!("[mempool] max_per_signer must be at least 1");
        }
        if self.consensus.leader_timeout_ms == 0
            || self.consensus.view_timeout_ms < self.consensus.leader_timeout_ms
        {
            bail!("[consensus] needs 0 < leader_timeout_ms <= view_timeout_ms");
        }
        // The block-time tolerance is the leader timeout; every genesis accepts records dated
        // at least MIN_CLOCK_SKEW_MS after the block's time, so a client clock as far ahead
        // as this node tolerates a leader's to be is never refused for it.
        let tolerance_ms = crate::clock::clock_tolerance_ms(self.consensus.leader_timeout_ms);
        if tolerance_ms > MIN_CLOCK_SKEW_MS {
            bail!(
                "[consensus] leader_timeout_ms is also the block-time tolerance: at most \
                 {MIN_CLOCK_SKEW_MS}, the smallest clock skew a genesis may allow records"
            );
        }
        if let Err(error) = self.api.limits().check() {
            // The limits' names are the section's keys, but for the timeout's unit.
            let key = match error.limit {
                "write_timeout" => "write_timeout_ms",
                limit => limit,
            };
            bail!("[api] {key}: {}", error.problem);
        }
        if let Some(url) = &self.api.public_url {
            suyuan_api::check_public_url(url)
                .map_err(|problem| anyhow!("[api] public_url: {problem}"))?;
        }
        Ok(())
    }

    fn resolve_paths(&mut self, base: &Path) {
        for path in [
            &mut self.node.data_dir,
            &mut self.node.genesis,
            &mut self.node.key,
        ] {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }

    /// The configuration as TOML, as `suyuan testnet init` writes it.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a configuration always serialises")
    }
}

/// Applies every `SUYUAN_<SECTION>_<KEY>` variable to `table`; other variables are ignored.
fn apply_overrides(
    table: &mut toml::Table,
    environment: impl IntoIterator<Item = (String, String)>,
) -> anyhow::Result<()> {
    let overrides: BTreeMap<String, String> = environment
        .into_iter()
        .filter_map(|(name, value)| Some((name.strip_prefix(ENV_PREFIX)?.to_owned(), value)))
        .filter(|(name, _)| !is_tool_variable(name))
        .collect();
    for (name, value) in overrides {
        let lower = name.to_ascii_lowercase();
        let Some((section, key)) = split_section(&lower) else {
            bail!("{ENV_PREFIX}{name} names no configuration section (e.g. SUYUAN_API_LISTEN)");
        };
        let value = parse_value(&value);
        table
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .with_context(|| format!("[{section}] is not a table"))?
            .insert(key.to_owned(), value);
    }
    Ok(())
}

/// Variables the `suyuan` tools and tests read for themselves (after `SUYUAN_`), which are
/// not configuration overrides: `SUYUAN_API` (the API URL `submit`, `query` and `status`
/// use), `SUYUAN_BIN`, and the `SUYUAN_TESTNET_*`, `SUYUAN_BENCH_*`, `SUYUAN_SIM_*` and
/// `SUYUAN_BLESS` knobs of scripts and tests.
fn is_tool_variable(name: &str) -> bool {
    matches!(name, "API" | "BIN" | "BLESS")
        || ["TESTNET_", "BENCH_", "SIM_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

/// Splits `api_listen` into (`api`, `listen`) for the known sections.
fn split_section(name: &str) -> Option<(&'static str, &str)> {
    const SECTIONS: [&str; 7] = ["node", "p2p", "api", "consensus", "mempool", "block", "log"];
    SECTIONS.iter().find_map(|section| {
        let key = name.strip_prefix(section)?.strip_prefix('_')?;
        (!key.is_empty()).then_some((*section, key))
    })
}

fn parse_value(text: &str) -> toml::Value {
    let wrapped = format!("value = {text}");
    wrapped
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut table| table.remove("value"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[node]
data_dir = "data"
genesis = "../genesis.json"
key = "validator.key"

[p2p]
listen = "/ip4/127.0.0.1/tcp/7100"

[api]
listen = "127.0.0.1:8100"
"#;

    /// Writes `text` to a configuration file of its own: tests run in parallel.
    fn write(text: &str) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "suyuan-config-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("node.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_paths_and_overrides() {
        let path = write(SAMPLE);
        let config = Config::load(
            &path,
            env(&[
                ("SUYUAN_API_LISTEN", "0.0.0.0:9000"),
                ("SUYUAN_MEMPOOL_MAX_TRANSACTIONS", "7"),
                ("SUYUAN_LOG_FORMAT", "text"),
                ("HOME", "/root"),
            ]),
        )
        .unwrap();
        assert_eq!(config.api.listen, "0.0.0.0:9000");
        assert_eq!(config.mempool.max_transactions, 7);
        assert_eq!(config.log.format, LogFormat::Text);
        assert_eq!(config.consensus, ConsensusSection::default());
        assert_eq!(config.node.data_dir, path.parent().unwrap().join("data"));
        let again: Config = toml::from_str(&config.to_toml()).unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn typos_are_errors_not_defaults() {
        let path = write(&format!("{SAMPLE}\n[mempool]\nmax_transaction = 5\n"));
        let error = format!("{:#}", Config::load(&path, env(&[])).unwrap_err());
        assert!(error.contains("max_transaction"), "{error}");
        let path = write(SAMPLE);
        let error = Config::load(&path, env(&[("SUYUAN_APII_LISTEN", "x")])).unwrap_err();
        assert!(error.to_string().contains("SUYUAN_APII_LISTEN"), "{error}");
        let error =
            Config::load(&path, env(&[("SUYUAN_BLOCK_MAX_TRANSACTIONS", "0")])).unwrap_err();
        assert!(error.to_string().contains("max_transactions"), "{error}");
        let error =
            Config::load(&path, env(&[("SUYUAN_MEMPOOL_MAX_PER_SIGNER", "0")])).unwrap_err();
        assert!(error.to_string().contains("max_per_signer"), "{error}");
        let slow = env(&[("SUYUAN_BLOCK_MAX_EXECUTION_MS", "834")]);
        let error = Config::load(&path, slow).unwrap_err();
        assert!(error.to_string().contains("max_execution_ms"), "{error}");
        let most = env(&[("SUYUAN_BLOCK_MAX_EXECUTION_MS", "833")]);
        assert_eq!(
            Config::load(&path, most).unwrap().block.max_execution_ms,
            833
        );
    }

    #[test]
    fn a_leader_cannot_be_configured_to_build_blocks_followers_refuse() {
        let path = write(SAMPLE);
        // 16 MiB of payload in 10,000 envelopes is 1 MB over the body bound with their framing.
        let over = env(&[("SUYUAN_BLOCK_MAX_BYTES", &(16 * 1024 * 1024).to_string())]);
        let error = format!("{:#}", Config::load(&path, over).unwrap_err());
        assert!(error.contains("max_bytes must be 1 to 15777212"), "{error}");
        let most = env(&[("SUYUAN_BLOCK_MAX_BYTES", "15777212")]);
        let config = Config::load(&path, most).unwrap();
        assert_eq!(
            body_bytes_bound(config.block.max_transactions, config.block.max_bytes),
            MAX_BLOCK_BODY_BYTES
        );
    }

    #[test]
    fn the_block_time_tolerance_stays_within_every_genesis_clock_skew() {
        let path = write(SAMPLE);
        let over = (MIN_CLOCK_SKEW_MS + 1).to_string();
        let vars = env(&[
            ("SUYUAN_CONSENSUS_LEADER_TIMEOUT_MS", &over),
            ("SUYUAN_CONSENSUS_VIEW_TIMEOUT_MS", &over),
        ]);
        let error = format!("{:#}", Config::load(&path, vars).unwrap_err());
        assert!(
            error.contains("block-time tolerance: at most 60000"),
            "{error}"
        );
        let most = MIN_CLOCK_SKEW_MS.to_string();
        let vars = env(&[
            ("SUYUAN_CONSENSUS_LEADER_TIMEOUT_MS", &most),
            ("SUYUAN_CONSENSUS_VIEW_TIMEOUT_MS", &most),
        ]);
        assert!(Config::load(&path, vars).is_ok());
    }

    #[test]
    fn api_limits_are_tuned_in_the_api_section_within_their_ranges() {
        let path = write(SAMPLE);
        let defaults = Config::load(&path, env(&[])).unwrap();
        assert_eq!(defaults.api.limits(), ApiLimits::default());
        let tuned = Config::load(
            &path,
            env(&[
                ("SUYUAN_API_READ_THREADS", "4"),
                ("SUYUAN_API_MAX_CONNECTIONS_PER_IP", "4096"),
                ("SUYUAN_API_WRITE_TIMEOUT_MS", "2500"),
            ]),
        )
        .unwrap();
        let limits = tuned.api.limits();
        assert_eq!(limits.read_threads, 4);
        assert_eq!(limits.max_connections_per_ip, 4096);
        assert_eq!(limits.write_timeout, Duration::from_millis(2500));
        for (key, value, expected) in [
            (
                "READ_THREADS",
                "1",
                "[api] read_threads: is 1; it must be 2 to 256",
            ),
            ("MAX_QUEUED_READS", "0", "[api] max_queued_reads: is 0"),
            (
                "MAX_READ_ENTRIES",
                "100",
                "[api] max_read_entries: is 100; it must be 18625 to",
            ),
            (
                "MAX_CONNECTIONS_PER_IP",
                "0",
                "[api] max_connections_per_ip: is 0; it must be 1 to",
            ),
            ("WRITE_TIMEOUT_MS", "0", "[api] write_timeout_ms: is 0"),
        ] {
            let name = format!("SUYUAN_API_{key}");
            let error = Config::load(&path, env(&[(&name, value)])).unwrap_err();
            assert!(error.to_string().contains(expected), "{name}: {error}");
        }
    }

    #[test]
    fn the_tools_own_variables_are_not_overrides() {
        let path = write(SAMPLE);
        let tools = env(&[
            ("SUYUAN_API", "http://127.0.0.1:8100"),
            ("SUYUAN_BIN", "/usr/bin/suyuan"),
            ("SUYUAN_SIM_SEEDS", "10"),
            ("SUYUAN_TESTNET_DIR", "net"),
        ]);
        let config = Config::load(&path, tools).unwrap();
        assert_eq!(config, Config::load(&path, env(&[])).unwrap());
    }
}
