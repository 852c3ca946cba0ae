//! `/metrics` scraped from a real server: the exposition parses as Prometheus (OpenMetrics) text,
//! the node's figures move when a block is committed, and requests are counted and timed by
//! route template and status class, those shed by the limits included.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use support::{COMMITTED_BLOCKS, Server, encode};
use suyuan_api::ApiLimits;
use suyuan_api::metrics::CONTENT_TYPE;
use tokio::sync::Semaphore;

/// One sample: its name and labels, sorted.
type Key = (String, BTreeMap<String, String>);

/// A parsed exposition: every sample's value, and every family's type.
#[derive(Debug)]
struct Exposition {
    samples: BTreeMap<Key, f64>,
    types: BTreeMap<String, String>,
}

impl Exposition {
    /// The value of `name` with exactly `labels`.
    #[track_caller]
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let key = (
            name.to_owned(),
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        *self
            .samples
            .get(&key)
            .unwrap_or_else(|| panic!("no sample {key:?} in {:#?}", self.samples.keys()))
    }
}

/// Parses OpenMetrics text strictly: `# HELP`/`# TYPE`/`# UNIT` before a family's samples,
/// valid names and quoted label values, numeric values, samples named after their declared
/// family, cumulative histogram buckets ending in `+Inf` equal to `_count`, and `# EOF` last.
fn parse(text: &str) -> Exposition {
    let mut samples = BTreeMap::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut ended = false;
    for line in text.lines() {
        assert!(!ended, "text after # EOF: {line:?}");
        if line == "# EOF" {
            ended = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (keyword, name) = (parts.next().unwrap(), parts.next().unwrap_or(""));
            assert!(valid_name(name), "bad metric name in {line:?}");
            let value = parts.next().unwrap_or("");
            match keyword {
                "HELP" => assert!(!value.is_empty(), "empty help: {line:?}"),
                "TYPE" => {
                    assert!(
                        ["counter", "gauge", "histogram", "info", "unknown"].contains(&value),
                        "{line:?}"
                    );
                    let previous = types.insert(name.to_owned(), value.to_owned());
                    assert!(previous.is_none(), "family {name} declared twice");
                }
                "UNIT" => assert!(name.ends_with(&format!("_{value}")), "{line:?}"),
                _ => panic!("unknown comment {line:?}"),
            }
            continue;
        }
        let (name, labels, value) = sample(line);
        let family = types
            .keys()
            .filter(|family| {
                name == **family
                    || ["_total", "_bucket", "_sum", "_count", "_created", "_info"]
                        .iter()
                        .any(|suffix| name == format!("{family}{suffix}"))
            })
            .max_by_key(|family| family.len())
            .unwrap_or_else(|| panic!("sample {name} of no declared family"));
        let kind = &types[family];
        if kind == "counter" {
            assert!(
                name.ends_with("_total") || name.ends_with("_created"),
                "{line}"
            );
        }
        if kind == "histogram" && name.ends_with("_bucket") {
            assert!(labels.contains_key("le"), "bucket without le: {line}");
        }
        let previous = samples.insert((name.clone(), labels), value);
        assert!(previous.is_none(), "sample {name} twice");
    }
    assert!(ended, "the exposition does not end with # EOF");
    check_histograms(&samples, &types);
    Exposition { samples, types }
}

/// `name{label="value",...} value`.
fn sample(line: &str) -> (String, BTreeMap<String, String>, f64) {
    let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("{line:?}"));
    let name = &line[..name_end];
    assert!(valid_name(name), "bad sample name in {line:?}");
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices();
        let mut label = String::new();
        loop {
            let (_, c) = chars
                .next()
                .unwrap_or_else(|| panic!("open labels: {line:?}"));
            match c {
                '}' => break,
                ',' if label.is_empty() => {}
                '=' => {
                    assert!(valid_label_name(&label), "bad label name in {line:?}");
                    assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line:?}");
                    let mut value = String::new();
                    loop {
                        match chars.next().map(|(_, c)| c) {
                            Some('"') => break,
                            Some('\\') => match chars.next().map(|(_, c)| c) {
                                Some('n') => value.push('\n'),
                                Some(c @ ('\\' | '"')) => value.push(c),
                                other => panic!("bad escape {other:?} in {line:?}"),
                            },
                            Some(c) => value.push(c),
                            None => panic!("open label value: {line:?}"),
                        }
                    }
                    labels.insert(std::mem::take(&mut label), value);
                }
                c => label.push(c),
            }
        }
        let consumed = chars.next().map_or(inner.len(), |(at, _)| at);
        rest = &inner[consumed..];
    }
    let value = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("no value: {line:?}"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        number => number
            .parse()
            .unwrap_or_else(|_| panic!("value {number:?} is not a number: {line:?}")),
    };
    (name.to_owned(), labels, value)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(name: &str) -> bool {
    valid_name(name) && !name.contains(':')
}

/// Each histogram series: buckets cumulative, the last `+Inf`, equal to `_count`.
fn check_histograms(samples: &BTreeMap<Key, f64>, types: &BTreeMap<String, String>) {
    for (family, _) in types.iter().filter(|(_, kind)| *kind == "histogram") {
        let bucket_name = format!("{family}_bucket");
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for ((name, labels), value) in samples {
            if *name == bucket_name {
                let mut series_labels = labels.clone();
                let le = series_labels.remove("le").unwrap();
                let bound = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                };
                series
                    .entry(series_labels)
                    .or_default()
                    .push((bound, *value));
            }
        }
        for (labels, mut buckets) in series {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{family} {labels:?}: buckets not cumulative: {buckets:?}"
            );
            let last = buckets.last().unwrap();
            assert_eq!(
                last.0,
                f64::INFINITY,
                "{family} {labels:?} has no +Inf bucket"
            );
            let count = samples[&(format!("{family}_count"), labels.clone())];
            assert_eq!(
                last.1, count,
                "{family} {labels:?}: +Inf bucket is not _count"
            );
            assert!(samples.contains_key(&(format!("{family}_sum"), labels.clone())));
        }
    }
}

async fn scrape(server: &Server) -> Exposition {
    parse(&scrape_text(server).await)
}

/// The exposition as served, after checking its status and content type.
async fn scrape_text(server: &Server) -> String {
    let response = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], CONTENT_TYPE);
    response.text().await.unwrap()
}

#[tokio::test]
async fn the_exposition_parses_and_moves_when_a_block_is_committed() {
    let server = Server::start("metrics").await;
    let before = scrape(&server).await;
    let committed_txs: usize = server.chain.story[..COMMITTED_BLOCKS as usize]
        .iter()
        .map(Vec::len)
        .sum();
    assert_eq!(before.types["suyuan_chain_height"], "gauge");
    assert_eq!(before.types["suyuan_transactions_committed"], "counter");
    assert_eq!(
        before.types["suyuan_finalization_latency_seconds"],
        "histogram"
    );
    assert_eq!(
        before.value("suyuan_chain_height", &[]),
        COMMITTED_BLOCKS as f64
    );
    assert_eq!(
        before.value("suyuan_consensus_view", &[]),
        COMMITTED_BLOCKS as f64 + 1.0
    );
    assert_eq!(
        before.value("suyuan_transactions_committed_total", &[]),
        committed_txs as f64
    );
    assert_eq!(
        before.value("suyuan_blocks_committed_total", &[]),
        COMMITTED_BLOCKS as f64
    );
    assert_eq!(
        before.value("suyuan_finalization_latency_seconds_count", &[]),
        COMMITTED_BLOCKS as f64
    );
    assert_eq!(before.value("suyuan_validators", &[]), 4.0);
    assert_eq!(before.value("suyuan_peers_connected", &[]), 3.0);
    assert_eq!(before.value("suyuan_synced", &[]), 1.0);
    assert_eq!(before.value("suyuan_sync_target_height", &[]), 0.0);
    assert_eq!(before.value("suyuan_mempool_transactions", &[]), 0.0);
    assert_eq!(before.value("suyuan_mempool_bytes", &[]), 0.0);

    // Submitting fills the mempool; committing the block raises height and counters.
    let block = server.chain.story[COMMITTED_BLOCKS as usize].clone();
    let (status, body) = server.post_json("/v1/transactions/batch", &block).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let pending = scrape(&server).await;
    assert_eq!(
        pending.value("suyuan_mempool_transactions", &[]),
        block.len() as f64
    );
    let bytes: usize = block.iter().map(|e| e.to_bytes().len()).sum();
    assert_eq!(pending.value("suyuan_mempool_bytes", &[]), bytes as f64);

    server.chain.commit(COMMITTED_BLOCKS + 1, block.clone());
    let after = scrape(&server).await;
    assert_eq!(
        after.value("suyuan_chain_height", &[]),
        COMMITTED_BLOCKS as f64 + 1.0
    );
    assert_eq!(
        after.value("suyuan_transactions_committed_total", &[]),
        (committed_txs + block.len()) as f64
    );
    assert_eq!(
        after.value("suyuan_finalization_latency_seconds_count", &[]),
        COMMITTED_BLOCKS as f64 + 1.0
    );
    let batch = [
        ("method", "POST"),
        ("route", "/v1/transactions/batch"),
        ("status", "2xx"),
    ];
    assert_eq!(after.value("suyuan_api_requests_total", &batch), 1.0);
    assert_eq!(
        after.value("suyuan_api_request_duration_seconds_count", &batch),
        1.0
    );
    // The earlier scrapes are counted by the time of the last.
    assert_eq!(after.types["suyuan_api_requests"], "counter");
    assert_eq!(
        after.types["suyuan_api_request_duration_seconds"],
        "histogram"
    );
    let scrapes = [("method", "GET"), ("route", "/metrics"), ("status", "2xx")];
    assert_eq!(after.value("suyuan_api_requests_total", &scrapes), 2.0);
}

#[tokio::test]
async fn requests_are_labelled_by_route_template_and_status_class() {
    let server = Server::start("metrics-labels").await;
    let code = "01/09520123456788/10/SECRET-LOT";
    for _ in 0..3 {
        server.get(&format!("/v1/products/{}", encode(code))).await;
    }
    server.get("/v1/codes/not-a-code").await;
    server.get("/v1/codes/09520123456788").await;
    server.get("/no/such/path/at/all").await;
    let response = server
        .http
        .request(
            reqwest::Method::from_bytes(b"BREW").unwrap(),
            server.url("/v1/status"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);

    let text = scrape_text(&server).await;
    assert!(
        !text.contains("SECRET-LOT"),
        "raw paths never become labels"
    );
    assert!(!text.contains("/no/such"), "raw paths never become labels");
    let metrics = parse(&text);
    let series = |method, route, status| [("method", method), ("route", route), ("status", status)];
    assert_eq!(
        metrics.value(
            "suyuan_api_requests_total",
            &series("GET", "/v1/products/{code}", "4xx")
        ),
        3.0
    );
    for status in ["4xx", "2xx"] {
        let labels = series("GET", "/v1/codes/{code}", status);
        assert_eq!(metrics.value("suyuan_api_requests_total", &labels), 1.0);
    }
    let unmatched = series("GET", "unmatched", "4xx");
    assert_eq!(metrics.value("suyuan_api_requests_total", &unmatched), 1.0);
    let odd = series("other", "/v1/status", "4xx");
    assert_eq!(metrics.value("suyuan_api_requests_total", &odd), 1.0);
}

#[tokio::test]
async fn requests_that_time_out_are_timed_and_counted_as_5xx() {
    let gate = Arc::new(Semaphore::new(0));
    let limits = ApiLimits {
        request_timeout: Duration::from_millis(200),
        ..ApiLimits::default()
    };
    let server = Server::start_with("metrics-timeout", limits, Some(gate)).await;
    let envelope = &server.chain.story[COMMITTED_BLOCKS as usize][0];
    let (status, _) = server.post_json("/v1/transactions", envelope).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let metrics = scrape(&server).await;
    let labels = [
        ("method", "POST"),
        ("route", "/v1/transactions"),
        ("status", "5xx"),
    ];
    assert_eq!(metrics.value("suyuan_api_requests_total", &labels), 1.0);
    let seconds = metrics.value("suyuan_api_request_duration_seconds_sum", &labels);
    assert!((0.2..10.0).contains(&seconds), "{seconds}");
    let mut fast = labels.to_vec();
    fast.push(("le", "0.128"));
    assert_eq!(
        metrics.value("suyuan_api_request_duration_seconds_bucket", &fast),
        0.0,
        "a request held past the timeout is not in a bucket below it"
    );
}
