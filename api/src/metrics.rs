//! Time and count the API's requests, and expose them with the node's own figures at
//! `/metrics` in the Prometheus (OpenMetrics) text format.
//!
//! How it fits: [`crate::router()`] builds one [`Metrics`] per router. Its [`track`] middleware
//! wraps every route, outside the limits, so it also times requests that were shed or timed
//! out; requests are labelled by method, route template (never the raw path: the label set
//! stays bounded whatever clients send) and status class. At each scrape a collector reads the
//! node's [`crate::Node::status`] and [`crate::Node::metrics`], and another the figures of the
//! API's read pool, so the figures are never stale.
//! The metrics are documented for operators in `docs/operators.md`.
//!
//! `prometheus-client` (the Prometheus project's Rust client, already in the build through
//! libp2p) does the encoding and the histograms.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::exponential_buckets;
use prometheus_client::registry::{Registry, Unit};

pub use prometheus_client::metrics::histogram::Histogram;

use crate::reads::ReadPool;
use crate::state::Node;
use crate::types::SyncState;

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every metric's name starts with this, then `_`.
pub const PREFIX: &str = "suyuan";

/// What the node counts for `/metrics` beyond its [`crate::types::NodeStatus`].
#[derive(Debug, Clone)]
pub struct NodeMetrics {
    /// Blocks committed since the node started, by consensus or by block sync.
    pub blocks_committed: u64,
    /// Transactions in those blocks.
    pub transactions_committed: u64,
    /// Seconds from a block's time (set by its proposer when it proposed it) to this node
    /// committing it, for blocks finalized by consensus (not block sync); see
    /// [`finalization_latency_histogram`].
    pub finalization_latency: Histogram,
    /// Pairs of conflicting votes seen signed by one validator (evidence of a Byzantine
    /// validator), since the node started.
    pub evidence: u64,
    /// Faults counted against each validator peer (malformed frames, proposals out of turn or
    /// from the future), by genesis index, since the node started; empty for a node without
    /// peers.
    pub peer_faults: Vec<u64>,
    /// What the peer-to-peer network refused or dropped, since the node started; zero for a
    /// node without a network.
    pub network: NetworkFigures,
}

impl NodeMetrics {
    /// The figures of a node that has committed nothing and has no network: a read-only
    /// server, or a test fixture.
    pub fn idle() -> NodeMetrics {
        NodeMetrics {
            blocks_committed: 0,
            transactions_committed: 0,
            finalization_latency: finalization_latency_histogram(),
            evidence: 0,
            peer_faults: Vec::new(),
            network: NetworkFigures::default(),
        }
    }
}

/// What the network refused or dropped: the figures that show a flood or a siege.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkFigures {
    /// Consensus messages dropped unsent (the peer's queue was full or it was not connected).
    pub consensus_dropped: u64,
    /// Consensus messages sent but never acknowledged (timeout, disconnect).
    pub consensus_send_failed: u64,
    /// Incoming connections refused: not a genesis validator, or a connection bound was hit.
    pub connections_refused: u64,
    /// Incoming connections refused before their handshake: their address had no handshake
    /// slot left.
    pub handshakes_refused: u64,
    /// Incoming handshakes that failed: cut at the handshake deadline, broken off or garbled.
    pub handshakes_failed: u64,
    /// Events from each validator peer dropped because that peer's own queue was full, by
    /// genesis index; empty for a node without peers.
    pub events_dropped_by_peer: Vec<PeerDrops>,
}

/// One peer's dropped events, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerDrops {
    /// Consensus messages.
    pub consensus: u64,
    /// Block requests.
    pub block_requests: u64,
    /// Gossiped transaction batches.
    pub transactions: u64,
}

/// The histogram a node records finalization latency in: buckets from 50 ms doubling to
/// about 100 s.
pub fn finalization_latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.05, 2.0, 12))
}

/// Request duration buckets: 0.5 ms doubling to about 16 s (past the default 10 s timeout).
fn request_duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_5, 2.0, 16))
}

/// The labels of a request's figures.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The HTTP method, or `other` for a method no route takes.
    method: &'static str,
    /// The route template (`/v1/products/{code}`), or `unmatched` for a path no route serves.
    route: String,
    /// `2xx`, `4xx`, ...
    status: &'static str,
}

/// The API's request figures and the registry that exposes them with the node's.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram, fn() -> Histogram>,
}

impl Metrics {
    /// Figures for a router serving `node`, its store read on `reads`.
    pub(crate) fn new(node: Arc<dyn Node>, reads: ReadPool) -> Metrics {
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::new_with_constructor(request_duration_histogram as fn() -> _);
        let mut registry = Registry::with_prefix(PREFIX);
        registry.register(
            "api_requests",
            "HTTP requests answered, by method, route template and status class",
            requests.clone(),
        );
        registry.register_with_unit(
            "api_request_duration",
            "Time from receiving a request to sending its response head, by method, route \
             template and status class",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register_collector(Box::new(NodeCollector(node)));
        registry.register_collector(Box::new(ReadCollector(reads)));
        Metrics {
            registry,
            requests,
            durations,
        }
    }

    /// The exposition of every metric, ending with `# EOF`.
    pub(crate) fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    fn observe(&self, labels: RequestLabels, seconds: f64) {
        self.requests.get_or_create(&labels).inc();
        self.durations.get_or_create(&labels).observe(seconds);
    }
}

/// Middleware: times and counts each request under its route template.
pub(crate) async fn track(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let labels = RequestLabels {
        method,
        route,
        status: status_class(response.status()),
    };
    metrics.observe(labels, started.elapsed().as_secs_f64());
    response
}

/// The method as a label; any method outside the standard ones is `other`, so a client cannot
/// grow the label set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `1xx` to `5xx`.
fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

/// Reads the node's figures at each scrape.
struct NodeCollector(Arc<dyn Node>);

impl std::fmt::Debug for NodeCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeCollector")
    }
}

impl Collector for NodeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let status = self.0.status();
        let node = self.0.metrics();
        let peers = status
            .validators
            .iter()
            .filter(|validator| validator.connected && !validator.is_self)
            .count();
        let sync_target = match status.sync {
            SyncState::Synced => 0,
            SyncState::CatchingUp { target_height } => target_height,
        };
        let gauges: [(&str, &str, u64); 8] = [
            (
                "chain_height",
                "Height of the last committed block (0 before the first)",
                status.height,
            ),
            (
                "consensus_view",
                "The consensus view the node is in",
                status.view,
            ),
            (
                "mempool_transactions",
                "Transactions waiting in the mempool",
                status.mempool.transactions as u64,
            ),
            (
                "mempool_bytes",
                "Encoded size of the transactions waiting in the mempool",
                status.mempool.bytes as u64,
            ),
            (
                "peers_connected",
                "Other validators this node has a connection to",
                peers as u64,
            ),
            (
                "validators",
                "Validators in the consortium, this one included",
                status.validators.len() as u64,
            ),
            (
                "synced",
                "1 when the node has caught up with the consortium, 0 while it catches up",
                u64::from(sync_target == 0),
            ),
            (
                "sync_target_height",
                "The height block sync is fetching up to; 0 when synced",
                sync_target,
            ),
        ];
        encode_gauges(&mut encoder, &gauges)?;
        let counters = [
            (
                "blocks_committed",
                "Blocks committed since the node started",
                node.blocks_committed,
            ),
            (
                "transactions_committed",
                "Transactions committed since the node started",
                node.transactions_committed,
            ),
            (
                "consensus_evidence",
                "Pairs of conflicting votes one validator signed, seen since the node started",
                node.evidence,
            ),
        ];
        encode_counters(&mut encoder, &counters)?;
        if !node.peer_faults.is_empty() {
            let mut family = encoder.encode_descriptor(
                "peer_faults",
                "Faulty inputs refused from each validator peer (malformed frames, proposals out \
                 of turn, out of range or from the future), since the node started",
                None,
                MetricType::Counter,
            )?;
            for (index, faults) in node.peer_faults.iter().enumerate() {
                let labels = [("validator", index.to_string())];
                ConstCounter::new(*faults).encode(family.encode_family(&labels)?)?;
            }
        }
        let network = &node.network;
        let network_counters = [
            (
                "network_consensus_dropped",
                "Consensus messages dropped unsent: the peer's queue was full or it was not \
                 connected",
                network.consensus_dropped,
            ),
            (
                "network_consensus_send_failed",
                "Consensus messages sent but never acknowledged (timeout, disconnect)",
                network.consensus_send_failed,
            ),
            (
                "network_connections_refused",
                "Incoming connections refused: not a genesis validator, or a connection bound \
                 was hit",
                network.connections_refused,
            ),
            (
                "network_handshakes_refused",
                "Incoming connections refused before their handshake: their address had no \
                 handshake slot left",
                network.handshakes_refused,
            ),
            (
                "network_handshakes_failed",
                "Incoming handshakes cut at the deadline, broken off or garbled",
                network.handshakes_failed,
            ),
        ];
        encode_counters(&mut encoder, &network_counters)?;
        if !network.events_dropped_by_peer.is_empty() {
            let mut family = encoder.encode_descriptor(
                "network_events_dropped",
                "Events from each validator peer dropped because that peer's own queue was \
                 full, by kind (consensus, block_request, transaction)",
                None,
                MetricType::Counter,
            )?;
            for (index, drops) in network.events_dropped_by_peer.iter().enumerate() {
                let kinds = [
                    ("consensus", drops.consensus),
                    ("block_request", drops.block_requests),
                    ("transaction", drops.transactions),
                ];
                for (kind, count) in kinds {
                    let labels = [("validator", index.to_string()), ("kind", kind.to_owned())];
                    ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        let latency = &node.finalization_latency;
        latency.encode(encoder.encode_descriptor(
            "finalization_latency",
            "Time from a block's proposal (its block time) to this node committing it, for \
             blocks finalized by consensus",
            Some(&Unit::Seconds),
            latency.metric_type(),
        )?)
    }
}

/// One metric per named gauge: name, help, value.
fn encode_gauges(
    encoder: &mut DescriptorEncoder,
    gauges: &[(&str, &str, u64)],
) -> Result<(), std::fmt::Error> {
    for &(name, help, value) in gauges {
        let gauge = ConstGauge::new(value);
        gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
    }
    Ok(())
}

/// One metric per named counter: name, help, value.
fn encode_counters(
    encoder: &mut DescriptorEncoder,
    counters: &[(&str, &str, u64)],
) -> Result<(), std::fmt::Error> {
    for &(name, help, value) in counters {
        let counter = ConstCounter::new(value);
        counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
    }
    Ok(())
}

/// Reads the read pool's figures at each scrape.
#[derive(Debug)]
struct ReadCollector(ReadPool);

impl Collector for ReadCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let figures = self.0.figures();
        let gauges = [
            (
                "api_reads_queued",
                "Store reads waiting for one of the API's read threads",
                figures.queued,
            ),
            (
                "api_reads_running",
                "Store reads running on the API's read threads",
                figures.running,
            ),
        ];
        encode_gauges(&mut encoder, &gauges)?;
        let counters = [
            (
                "api_reads_refused",
                "Store reads refused with 503 read_queue_full: the queue of their kind was full",
                figures.refused,
            ),
            (
                "api_reads_cancelled",
                "Store reads stopped because their request timed out or its client went away",
                figures.cancelled,
            ),
            (
                "api_reads_over_budget",
                "Scans stopped with 422 read_limit_exceeded: they read more entries than one \
                 request may",
                figures.over_budget,
            ),
            (
                "api_read_entries",
                "Stored entries the API's scans (reports, scores, rankings) have read",
                figures.entries,
            ),
        ];
        encode_counters(&mut encoder, &counters)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_bounded() {
        let odd = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "other");
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
        assert_eq!(status_class(StatusCode::ACCEPTED), "2xx");
        assert_eq!(status_class(StatusCode::NOT_FOUND), "4xx");
    }
}
