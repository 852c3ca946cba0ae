//! Heavy reads over HTTP, on a real store holding enterprises whose scores each read a thousand
//! code histories: a flood of rankings, reports and the regulator's views leaves status, health
//! and submissions answering; the
//! API's reads never wait on tokio's blocking pool (admission's and sync's) nor hold it; a
//! ranking whose request timed out or whose client went away stops reading; a ranking over the
//! read budget is refused with a typed error.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use support::{Chain, Server, TestNode, assert_error};
use suyuan_api::{ApiLimits, ApiState};
use suyuan_ledger::codes::gs1::keys::Gtin;
use suyuan_ledger::codes::prefix::IdPrefix;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{gtin, uscc, who};
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::{
    Commissioning, EnterpriseProfile, Items, Record, RegisterEnterprise, ReportKind, ReportRef,
    TraceCode,
};
use suyuan_ledger::tx::{Envelope, Payload};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Enterprises the heavy chain adds. Each commissions [`ITEMS`] serialised items in one record,
/// so its score reads that many code histories, each holding that ~40 KB record: a ranking of
/// all of them reads some 60,000 entries, about 6 s of one core of a loaded 2-core machine.
const MEMBERS: usize = 60;

/// Items each member commissions: the most one record may carry, and the most code histories
/// one score reads.
const ITEMS: usize = 1_000;

/// The ranking of every enrolled enterprise: the demo's four and the [`MEMBERS`].
const RANKING: &str = "/v1/scores?limit=1000";

fn text<T: std::str::FromStr>(value: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    value.parse().expect("test text is valid")
}

/// One enterprise the heavy chain adds: a gas-appliance maker like the demo's, with a model of
/// its own.
struct Member {
    profile: EnterpriseProfile,
    key: KeyPair,
    gtin: Gtin,
}

fn member(chain: &Chain, index: usize) -> Member {
    let mut profile = chain.demo.enterprises[who::GAS_APPLIANCE_MAKER]
        .profile
        .clone();
    profile.uscc = uscc(&format!("91330200{:09}", 1_000 + index));
    profile.name = text(&format!("Heavy Reads Appliance Co. {index}"));
    Member {
        profile,
        key: KeyPair::insecure_from_label(&format!("heavy reads member {index}")),
        gtin: gtin(&format!("0695077{:06}", index)),
    }
}

fn sign(chain: &Chain, key: &KeyPair, nonce: u64, record: Record) -> Envelope {
    Envelope::sign(
        chain.binding(),
        &Payload {
            nonce,
            record,
            event: None,
        },
        key,
    )
}

/// The demo story's first blocks, then [`MEMBERS`] enterprises enrolled by the bureau, each
/// registering a cooker model and commissioning [`ITEMS`] serialised cookers.
fn heavy_chain(label: &str) -> Chain {
    let chain = Chain::new(label);
    let demo = &chain.demo;
    let cooker = Payload::parse(&chain.story[1][1].payload).unwrap().record;
    let Record::RegisterProduct(cooker) = cooker else {
        panic!("the story's second model is the gas cooker");
    };
    let members: Vec<Member> = (0..MEMBERS).map(|index| member(&chain, index)).collect();
    let enrolments = members
        .iter()
        .enumerate()
        .map(|(index, member)| {
            let record = Record::RegisterEnterprise(RegisterEnterprise {
                enterprise: member.profile.clone(),
                keys: vec![member.key.public()],
                prefixes: vec![IdPrefix::for_single_gtin(&member.gtin)],
            });
            sign(&chain, &demo.bureau, 10_000 + index as u64, record)
        })
        .collect();
    let models = members
        .iter()
        .map(|member| {
            let mut model = cooker.clone();
            model.uscc = member.profile.uscc.clone();
            model.model_code = member.gtin.clone().into();
            sign(&chain, &member.key, 1, Record::RegisterProduct(model))
        })
        .collect();
    let commissionings: Vec<Envelope> = members
        .iter()
        .enumerate()
        .map(|(index, member)| {
            let codes = (0..ITEMS)
                .map(|item| TraceCode::Item {
                    gtin: member.gtin.clone(),
                    serial: text(&format!("H{index:03}N{item:05}")),
                })
                .collect();
            let record = Record::Commission(Commissioning {
                uscc: member.profile.uscc.clone(),
                model_code: member.gtin.clone().into(),
                items: Items::Serialised { codes, batch: None },
                production_date: text("2026-01-02"),
                factory_number: None,
                inspection_report: ReportRef {
                    kind: ReportKind::TypeInspection,
                    number: text(&format!("HR-TI-{index}")),
                    issued_by: text("Quality department"),
                    document_sha256: Hash32([7; 32]),
                },
            });
            sign(&chain, &member.key, 2, record)
        })
        .collect();
    let mut height = chain.store.head().height;
    for block in [enrolments, models] {
        height += 1;
        chain.commit(height, block);
    }
    for block in commissionings.chunks(20) {
        height += 1;
        chain.commit(height, block.to_vec());
    }
    chain
}

/// An API server over `store` and `node` with `limits`, outside [`Server`], so that two servers
/// with different limits can serve one heavy chain; it stops when the test's runtime does.
async fn serve(chain: &Chain, node: &Arc<TestNode>, limits: ApiLimits) -> String {
    let state = ApiState {
        store: chain.store.clone(),
        node: node.clone(),
        limits,
        public_url: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(suyuan_api::serve(listener, state, std::future::pending()));
    base
}

/// The value of the unlabelled sample `name` in the server's `/metrics`.
async fn metric(http: &reqwest::Client, base: &str, name: &str) -> f64 {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in the exposition:\n{text}"))
}

/// Waits, for at most 20 s, until `/metrics` shows `name` meeting `check`; its value then.
async fn metric_until(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    check: impl Fn(f64) -> bool,
) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = metric(http, base, name).await;
        if check(value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{name} stayed at {value}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The entries a whole ranking of the heavy chain reads and how long it takes, on a server
/// of its own with the default limits but a request timeout long enough for a loaded machine:
/// this measures the ranking's whole cost, which the tests then cut short.
async fn full_ranking(chain: &Chain, node: &Arc<TestNode>) -> (f64, Duration) {
    let limits = ApiLimits {
        request_timeout: Duration::from_secs(120),
        ..ApiLimits::default()
    };
    let base = serve(chain, node, limits).await;
    let http = reqwest::Client::new();
    let started = Instant::now();
    let response = http.get(format!("{base}{RANKING}")).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(response.status(), StatusCode::OK);
    let ranking: serde_json::Value = response.json().await.unwrap();
    assert_eq!(ranking["members"], 4 + MEMBERS);
    let entries = metric(&http, &base, "suyuan_api_read_entries_total").await;
    (entries, took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_ranking_stops_reading() {
    let chain = heavy_chain("timed-out-scan");
    let node = Arc::new(TestNode::new(&chain, None));
    let (full, took) = full_ranking(&chain, &node).await;
    // A fifth of the whole ranking's time: the read is cut off well inside it, however fast
    // or loaded the machine.
    let timeout = (took / 5).max(Duration::from_millis(20));
    let limits = ApiLimits {
        request_timeout: timeout,
        ..ApiLimits::default()
    };
    let base = serve(&chain, &node, limits).await;
    let http = reqwest::Client::new();
    let response = http.get(format!("{base}{RANKING}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "timeout");
    let answered = Instant::now();

    // The read stops soon after: nothing runs, and what it read stays short of the whole.
    metric_until(&http, &base, "suyuan_api_reads_running", |n| n == 0.0).await;
    let stopped_after = answered.elapsed();
    let read = metric(&http, &base, "suyuan_api_read_entries_total").await;
    assert_eq!(
        metric(&http, &base, "suyuan_api_reads_cancelled_total").await,
        1.0
    );
    assert!(
        read < full,
        "the cancelled ranking read {read} entries, the whole one {full}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        metric(&http, &base, "suyuan_api_read_entries_total").await,
        read,
        "nothing reads after the stop"
    );
    eprintln!(
        "whole ranking: {full} entries in {took:?}; timed out after {timeout:?}: {read} \
         entries, stopped {stopped_after:?} after the 503"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ranking_whose_client_went_away_stops_reading() {
    let chain = heavy_chain("client-gone-scan");
    let node = Arc::new(TestNode::new(&chain, None));
    let (full, _) = full_ranking(&chain, &node).await;
    let base = serve(&chain, &node, ApiLimits::default()).await;
    let http = reqwest::Client::new();
    let mut client = TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    client
        .write_all(format!("GET {RANKING} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // The ranking has started reading when the client goes away.
    metric_until(&http, &base, "suyuan_api_read_entries_total", |n| n > 0.0).await;
    drop(client);
    metric_until(&http, &base, "suyuan_api_reads_running", |n| n == 0.0).await;
    let read = metric(&http, &base, "suyuan_api_read_entries_total").await;
    assert_eq!(
        metric(&http, &base, "suyuan_api_reads_cancelled_total").await,
        1.0
    );
    assert!(read < full, "read {read} of {full} entries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ranking_over_the_read_budget_is_refused_and_one_score_is_not() {
    let chain = heavy_chain("over-budget");
    let limits = ApiLimits {
        max_read_entries: 20_000,
        ..ApiLimits::default()
    };
    let server = Server::serve(chain, limits, None).await;
    let refused = server.get(RANKING).await;
    assert_error(
        &refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "read_limit_exceeded",
    );
    assert_eq!(refused.1["max_entries"], 20_000);
    let message = refused.1["message"].as_str().unwrap();
    assert!(message.contains("registrar="), "{message}");
    // One member's score reads 1,000 histories and more: within the least budget allowed.
    let one = member(&server.chain, 0).profile.uscc;
    let (status, score) = server.get(&format!("/v1/enterprises/{one}/score")).await;
    assert_eq!(status, StatusCode::OK, "{score}");
    assert_eq!(score["reads"]["codes_read"], ITEMS);
    let http = &server.http;
    assert_eq!(
        metric(http, &server.base, "suyuan_api_reads_over_budget_total").await,
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_heavy_reads_leaves_status_health_and_submissions_answering() {
    /// Clients asking for rankings and reports over and over.
    const FLOODERS: usize = 48;
    /// How long they flood.
    const FLOOD: Duration = Duration::from_secs(8);
    /// The slowest answers a probe may get meanwhile: the point. Generous for a loaded 2-core
    /// machine; without the pool, probes waited behind dozens of scans sharing the cores.
    const BOUND: Duration = Duration::from_secs(2);

    let chain = heavy_chain("flood");
    let limits = ApiLimits::default();
    let server = Arc::new(Server::serve(chain, limits, None).await);
    // Enrolments of enterprises not yet on the chain, each valid on its own: the submissions.
    let submissions: Vec<Envelope> = (0..200)
        .map(|index| {
            let member = member(&server.chain, MEMBERS + index);
            let record = Record::RegisterEnterprise(RegisterEnterprise {
                enterprise: member.profile,
                keys: vec![member.key.public()],
                prefixes: vec![IdPrefix::for_single_gtin(&member.gtin)],
            });
            sign(
                &server.chain,
                &server.chain.demo.association,
                50_000 + index as u64,
                record,
            )
        })
        .collect();

    let until = Instant::now() + FLOOD;
    let flood: Vec<_> = (0..FLOODERS)
        .map(|flooder| {
            let server = Arc::clone(&server);
            // A few ask for the whole ranking (seconds each), a few for the regulator's
            // views (every open recall with its holders, every failed inspection), the rest
            // for members' reports (a thousand code histories each).
            let path = match flooder {
                0..4 => RANKING.to_owned(),
                4..6 => "/v1/recalls?limit=100".to_owned(),
                6..8 => "/v1/inspections?outcome=non_conformant&limit=100".to_owned(),
                _ => {
                    let uscc = member(&server.chain, flooder % MEMBERS).profile.uscc;
                    format!("/v1/enterprises/{uscc}/report")
                }
            };
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                while Instant::now() < until {
                    let (status, body) = server.get(&path).await;
                    if status != StatusCode::OK {
                        // A pause, so that the test burns less of a shared machine; an
                        // attacker would not, and the bound holds either way.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    outcomes.push((status, body["code"].as_str().map(str::to_owned)));
                }
                outcomes
            })
        })
        .collect();

    let mut slowest = Duration::ZERO;
    let mut most_running = 0.0f64;
    let mut probes = 0;
    let mut submissions = submissions.into_iter();
    while Instant::now() < until {
        let started = Instant::now();
        let (status, body) = server.get("/v1/status").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = server.get("/healthz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let envelope = submissions.next().expect("enough submissions");
        let (status, body) = server.post_json("/v1/transactions", &envelope).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert!(
            took < BOUND,
            "status, health and a submission took {took:?}"
        );
        let running = metric(&server.http, &server.base, "suyuan_api_reads_running").await;
        most_running = most_running.max(running);
        probes += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut answered = 0;
    let mut refused = 0;
    for task in flood {
        for (status, code) in task.await.unwrap() {
            match (status, code.as_deref()) {
                (StatusCode::OK, _) => answered += 1,
                (StatusCode::SERVICE_UNAVAILABLE, Some("read_queue_full" | "timeout")) => {
                    refused += 1;
                }
                other => panic!("a heavy read got {other:?}"),
            }
        }
    }
    assert!(answered > 0, "heavy reads are answered meanwhile");
    assert!(
        refused > 0,
        "the flood is refused past the queue, not piled up"
    );
    assert!(
        most_running <= limits.read_threads as f64,
        "{most_running} reads ran at once on {} threads",
        limits.read_threads
    );
    eprintln!(
        "{probes} probes (status, health, submission), the slowest {slowest:?}; \
         {answered} heavy reads answered, {refused} refused"
    );
}

/// Tokio's blocking pool, where admission verifies signatures and sync serves blocks, is
/// neither needed nor taken by the API's reads: with its only thread held, reads answer; with
/// the read threads busy with a flood of rankings, it runs at once.
#[test]
fn reads_neither_need_nor_take_tokios_blocking_pool() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let chain = heavy_chain("blocking-pool");
        let server = Arc::new(Server::serve(chain, ApiLimits::default(), None).await);

        // The blocking pool's one thread is held, as a long admission would hold it.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let holder = tokio::task::spawn_blocking(move || held.recv());
        for path in ["/v1/blocks/latest", "/v1/scores?limit=2"] {
            let (status, body) = tokio::time::timeout(Duration::from_secs(30), server.get(path))
                .await
                .unwrap_or_else(|_| panic!("{path} waited for the blocking pool"));
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
        }
        release.send(()).unwrap();
        holder.await.unwrap().unwrap();

        // Rankings keep the read threads busy; the blocking pool is free meanwhile.
        let flood: Vec<_> = (0..3)
            .map(|_| {
                let server = Arc::clone(&server);
                tokio::spawn(async move { server.get(RANKING).await })
            })
            .collect();
        metric_until(
            &server.http,
            &server.base,
            "suyuan_api_reads_running",
            |n| n > 0.0,
        )
        .await;
        let started = Instant::now();
        tokio::task::spawn_blocking(|| ()).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the blocking pool waited {:?}",
            started.elapsed()
        );
        for ranking in flood {
            let (status, body) = ranking.await.unwrap();
            assert!(
                status == StatusCode::OK || body["code"] == "timeout",
                "{status}: {body}"
            );
        }
    });
}
