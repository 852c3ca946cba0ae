//! Define what every handler reads: the [`Node`] serving the API, its store, the
//! [`ApiLimits`] the router and the server enforce, and the pool store reads run on.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;

use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{Envelope, TxId};

use crate::metrics::NodeMetrics;
use crate::reads::{PoolLimits, ReadPool};
use crate::types::{NodeStatus, PendingState};

/// What the API needs from the node that serves it. The node implements it; tests may
/// implement it over a real Store.
pub trait Node: Send + Sync + 'static {
    /// Admits envelopes (already decoded from JSON), sent by a client at address `from`, into
    /// the mempool: one result per envelope, in order. The node shares admission fairly
    /// between client addresses and bounds what each may have waiting.
    fn submit(
        &self,
        envelopes: Vec<Envelope>,
        from: IpAddr,
    ) -> BoxFuture<Vec<Result<TxId, SubmitError>>>;
    /// Whether the node takes submissions from `from` at all now, asked before a submission's
    /// body is read, so that a client refused for a while (after sending failing signatures)
    /// costs no parsing: `Err` with the refusal. Takes them all unless the node says otherwise.
    fn admits_from(&self, from: IpAddr) -> Result<(), SubmitError> {
        let _ = from;
        Ok(())
    }
    /// A transaction this node holds but has not committed: pending in its mempool, or refused
    /// recently (the node keeps a bounded memory of refusals). None if it knows nothing of it
    /// (the API then looks in the store).
    fn pending(&self, id: &TxId) -> Option<PendingState>;
    /// The node's current status.
    fn status(&self) -> NodeStatus;
    /// What the node counts for `/metrics` beyond its status: commits and finalization
    /// latency. Read at each scrape.
    fn metrics(&self) -> NodeMetrics;
}

/// A boxed future that can be sent across threads, as [`Node::submit`] returns.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;

/// Everything a handler reads: the node and its store.
#[derive(Clone)]
pub struct ApiState {
    /// The node's store, read for committed blocks and transactions.
    pub store: Arc<suyuan_storage::Store>,
    /// The node.
    pub node: Arc<dyn Node>,
    /// The limits the router enforces.
    pub limits: ApiLimits,
    /// The address clients reach this node's API at, `https://host[:port]` (checked by
    /// [`crate::check_public_url`]): the resolver's root and the base of the absolute links it
    /// gives. `None`: `http://` and the request's `Host` header.
    pub public_url: Option<String>,
}

/// The bounds the API puts on requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiLimits {
    /// Largest request body; larger ones get 413 `body_too_large`.
    pub max_body_bytes: usize,
    /// Longest a request may take, body included; slower ones get 503 `timeout`, and their
    /// reads of the store stop.
    pub request_timeout: Duration,
    /// Requests handled at once; more are shed with 503 `overloaded`.
    pub max_concurrent_requests: usize,
    /// Most envelopes in one batch; more get 400 `batch_too_large`.
    pub max_batch: usize,
    /// Connections open at once; one beyond is closed as soon as it is accepted.
    pub max_connections: usize,
    /// Connections open at once from one client address (an IPv4 address, or an IPv6 /64
    /// network); one beyond is closed as soon as it is accepted.
    pub max_connections_per_ip: usize,
    /// Longest a client may take to send a request's headers, on a new connection or between
    /// requests on a kept-alive one; then the connection is closed.
    pub header_read_timeout: Duration,
    /// Longest a response may wait for its client to read any of it; then the connection is
    /// closed.
    pub write_timeout: Duration,
    /// Threads reading the store for requests, and nothing else; scans (reports, scores,
    /// rankings) may take all but one of them.
    pub read_threads: usize,
    /// Reads of each kind (point reads, scans) waiting for a read thread; one more is refused
    /// with 503 `read_queue_full`.
    pub max_queued_reads: usize,
    /// Most stored entries one request's scan may read (index entries, enterprises listed);
    /// a request that needs more gets 422 `read_limit_exceeded`.
    pub max_read_entries: u64,
}

/// Default [`ApiLimits::read_threads`]: two, so that one scan at a time runs beside point
/// reads, and reads take at most two cores from consensus and admission on a small machine.
pub(crate) const DEFAULT_READ_THREADS: usize = 2;

/// Fewest [`ApiLimits::read_threads`]: scans take all but one thread, and point reads need
/// that one.
pub(crate) const MIN_READ_THREADS: usize = 2;

/// Most [`ApiLimits::read_threads`]: far more than the cores of any machine a node runs on;
/// more threads only make reads wait on each other inside RocksDB.
pub(crate) const MAX_READ_THREADS: usize = 256;

/// Default [`ApiLimits::max_queued_reads`]: at the request timeout, a queue much longer than
/// this holds reads that time out before a thread is free.
pub(crate) const DEFAULT_MAX_QUEUED_READS: usize = 32;

/// Most [`ApiLimits::max_queued_reads`]: each waiting read holds a request in flight.
pub(crate) const MAX_QUEUED_READS: usize = 4096;

/// Default [`ApiLimits::max_read_entries`]: a ranking can look through the 50,000 enterprises
/// it may list and score 200 members of some 750 records each. Entries of small records read
/// in a few microseconds; of the largest (a thousand codes in one record, ~40 KB) in about
/// 100 µs, so that the request timeout stops such a scan first.
pub(crate) const DEFAULT_MAX_READ_ENTRIES: u64 = 200_000;

/// Fewest [`ApiLimits::max_read_entries`]: one enterprise's whole report or score, so that no
/// single enterprise is ever refused.
pub(crate) const MIN_READ_ENTRIES: u64 = crate::profile::MAX_PROFILE_ENTRIES;

/// Most [`ApiLimits::max_read_entries`]: about a minute of reading, past any request timeout
/// worth setting.
pub(crate) const MAX_READ_ENTRIES: u64 = 10_000_000;

/// Default [`ApiLimits::max_connections_per_ip`]: one client address may hold a sixteenth of
/// the default connections; behind a reverse proxy every client shares its address, so raise
/// it to [`ApiLimits::max_connections`] there.
pub(crate) const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 256;

/// Longest of the API's timeouts: one longer than an hour bounds nothing.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// Default [`ApiLimits::write_timeout`]: as long as a client may take to send its headers.
pub(crate) const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_body_bytes: 8 * 1024 * 1024,
            request_timeout: Duration::from_secs(10),
            max_concurrent_requests: 1024,
            max_batch: 1000,
            max_connections: 4096,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            header_read_timeout: Duration::from_secs(10),
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            read_threads: DEFAULT_READ_THREADS,
            max_queued_reads: DEFAULT_MAX_QUEUED_READS,
            max_read_entries: DEFAULT_MAX_READ_ENTRIES,
        }
    }
}

/// A limit of [`ApiLimits`] out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{limit} {problem}")]
pub struct LimitsError {
    /// The limit, as its [`ApiLimits`] field is named.
    pub limit: &'static str,
    /// What is wrong with its value, naming the range allowed.
    pub problem: String,
}

impl ApiLimits {
    /// Checks that every limit can be served: none is zero, the read pool and the per-client
    /// bounds are within their ranges.
    pub fn check(&self) -> Result<(), LimitsError> {
        let range = |limit: &'static str, value: u64, min: u64, max: u64| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(LimitsError {
                    limit,
                    problem: format!("is {value}; it must be {min} to {max}"),
                })
            }
        };
        let at_least_one = |limit: &'static str, value: u64| range(limit, value, 1, u64::MAX);
        at_least_one("max_body_bytes", self.max_body_bytes as u64)?;
        at_least_one(
            "max_concurrent_requests",
            self.max_concurrent_requests as u64,
        )?;
        at_least_one("max_batch", self.max_batch as u64)?;
        at_least_one("max_connections", self.max_connections as u64)?;
        for (limit, duration) in [
            ("request_timeout", self.request_timeout),
            ("header_read_timeout", self.header_read_timeout),
            ("write_timeout", self.write_timeout),
        ] {
            range(
                limit,
                u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
                1,
                MAX_TIMEOUT.as_millis() as u64,
            )
            .map_err(|error| LimitsError {
                problem: format!("{} ms", error.problem),
                ..error
            })?;
        }
        // One above `max_connections` bounds nothing more than `max_connections` does.
        at_least_one("max_connections_per_ip", self.max_connections_per_ip as u64)?;
        range(
            "read_threads",
            self.read_threads as u64,
            MIN_READ_THREADS as u64,
            MAX_READ_THREADS as u64,
        )?;
        range(
            "max_queued_reads",
            self.max_queued_reads as u64,
            1,
            MAX_QUEUED_READS as u64,
        )?;
        range(
            "max_read_entries",
            self.max_read_entries,
            MIN_READ_ENTRIES,
            MAX_READ_ENTRIES,
        )
    }

    /// The read pool's bounds.
    pub(crate) fn read_pool(&self) -> PoolLimits {
        PoolLimits {
            threads: self.read_threads,
            scan_threads: self.read_threads - 1,
            max_queued: self.max_queued_reads,
            max_scan_entries: self.max_read_entries,
        }
    }
}

/// The router's state: what handlers read ([`ApiState`]) and the pool their store reads run
/// on. Handlers extract either part.
#[derive(Clone)]
pub(crate) struct RouterState {
    /// The node, its store and the limits.
    pub(crate) api: ApiState,
    /// The API's read threads.
    pub(crate) reads: ReadPool,
}

impl FromRef<RouterState> for ApiState {
    fn from_ref(state: &RouterState) -> ApiState {
        state.api.clone()
    }
}
