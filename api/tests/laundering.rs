//! Laundering a score over HTTP, on a real store: a producer with a failed inspection and an
//! open recall floods its history with harmless records, and a competitor floods a victim's
//! history with shipments to it. Neither moves the score, the ranking or the supplier report:
//! the figures are kept over the whole history at execution, and the evidence is read from the
//! enterprise's own listings, which no flood of other records reaches.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::Server;
use suyuan_api::views::{ComputedAt, RecallStatus, ScoreRanking, ScoreView, SupplierReport};
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, who};
use suyuan_ledger::limits::MAX_BLOCK_TRANSACTIONS;
use suyuan_ledger::record::{Items, Party, Record, Shipment, ShipmentLine, TraceCode};
use suyuan_ledger::state::StateReadExt;
use suyuan_ledger::tx::{Envelope, Payload};

/// Re-registrations in the flood: more than the 10,000 newest records scores once read.
const FLOOD: usize = 11_000;

/// Shipments a competitor sends its victim.
const SHIPMENTS: usize = 2_000;

/// A server over the whole demo story: the gas maker's batch failed its inspection and is
/// under an open recall.
async fn story_server(label: &str) -> Server {
    let server = Server::start(label).await;
    server.chain.commit(5, server.chain.story[4].clone());
    server
}

async fn get<T: serde::de::DeserializeOwned>(server: &Server, path: &str) -> T {
    let (status, body): (StatusCode, Value) = server.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_value(body).unwrap()
}

/// One place in the ranking: who, at which rank, with which total.
type Ranked = (Uscc, usize, Option<u32>);

/// The score, the report and the ranking, each with the block it was computed at set to
/// `at`: all else must be the same before and after a flood.
async fn views(
    server: &Server,
    uscc: &Uscc,
    at: Option<&ComputedAt>,
) -> (ScoreView, SupplierReport, Vec<Ranked>) {
    let mut score: ScoreView = get(server, &format!("/v1/enterprises/{uscc}/score")).await;
    let mut report: SupplierReport = get(server, &format!("/v1/enterprises/{uscc}/report")).await;
    let ranking: ScoreRanking = get(server, "/v1/scores").await;
    let head = server.chain.store.head().height;
    assert_eq!(score.computed_at.height, head);
    assert_eq!(report.computed_at.height, head);
    let at = at.cloned().unwrap_or_else(|| score.computed_at.clone());
    report.computed_at = at.clone();
    score.computed_at = at;
    let ranks = ranking
        .ranking
        .iter()
        .map(|member| (member.uscc.clone(), member.rank, member.total_bp))
        .collect();
    (score, report, ranks)
}

/// Commits `envelopes` in as few blocks as the block bound allows.
fn commit_all(server: &Server, envelopes: Vec<Envelope>) {
    let mut envelopes = envelopes.into_iter().peekable();
    while envelopes.peek().is_some() {
        let block: Vec<Envelope> = envelopes.by_ref().take(MAX_BLOCK_TRANSACTIONS).collect();
        let height = server.chain.store.head().height + 1;
        server.chain.commit(height, block);
    }
}

fn sign(server: &Server, key: &KeyPair, nonce: u64, record: Record) -> Envelope {
    Envelope::sign(
        server.chain.binding(),
        &Payload {
            nonce,
            record,
            event: None,
        },
        key,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_registering_a_model_eleven_thousand_times_launders_nothing() {
    let server = story_server("launder-model").await;
    let gas = &server.chain.demo.enterprises[who::GAS_APPLIANCE_MAKER];
    let uscc = gas.profile.uscc.clone();
    let before = views(&server, &uscc, None).await;
    let (score, report, _) = &before;
    // What the flood tries to hide: one failed inspection, one open recall.
    assert_eq!(report.history.failed_inspections, 1);
    assert_eq!(report.history.open_recalls, 1);
    assert_eq!(report.recalls[0].status, RecallStatus::Open);
    assert_eq!(report.inspections.len(), 1);
    assert!(score.total_bp < Some(10_000), "{score:?}");
    assert!(!score.reads.truncated && !report.reads.truncated);

    let model = server
        .chain
        .store
        .model(&Demo::cooker_gtin().into())
        .unwrap()
        .unwrap()
        .model;
    let flood: Vec<Envelope> = (0..FLOOD as u64)
        .map(|n| {
            sign(
                &server,
                &gas.key,
                1_000_000 + n,
                Record::RegisterProduct(model.clone()),
            )
        })
        .collect();
    let height = server.chain.store.head().height;
    commit_all(&server, flood);
    assert_eq!(
        server.chain.store.head().height,
        height + 2,
        "every re-registration was committed"
    );
    let page: Value = server
        .get(&format!("/v1/enterprises/{uscc}/records?limit=1"))
        .await
        .1;
    assert_eq!(
        page["records"][0]["payload"]["record"]["type"], "register_product",
        "the flood is the newest of the gas maker's records"
    );

    let after = views(&server, &uscc, Some(&before.0.computed_at)).await;
    assert_eq!(after.0, before.0, "the score is unchanged");
    assert_eq!(after.1, before.1, "the report is unchanged");
    assert_eq!(after.2, before.2, "the ranking is unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_competitor_shipping_to_its_victim_changes_nothing_of_the_victims() {
    let server = story_server("launder-victim").await;
    let demo = &server.chain.demo;
    let victim = demo.enterprises[who::GAS_APPLIANCE_MAKER]
        .profile
        .uscc
        .clone();
    let competitor = &demo.enterprises[who::CABLE_MAKER];
    let before = views(&server, &victim, None).await;

    // A lot big enough to ship one unit at a time, then the shipments, every one to the victim.
    let lot: TraceCode = format!("01/{}/10/FLOOD", Demo::cable_gtin())
        .parse()
        .unwrap();
    let story = &server.chain.story;
    let Record::Commission(mut commission) = Payload::parse(&story[2][0].payload).unwrap().record
    else {
        panic!("the story's first commissioning is the cable lot");
    };
    commission.items = Items::Batch {
        code: lot.clone(),
        quantity: SHIPMENTS as u64,
    };
    let commission = Record::Commission(commission);
    commit_all(
        &server,
        vec![sign(&server, &competitor.key, 500, commission)],
    );
    let now_ms = server
        .chain
        .store
        .header(server.chain.store.head().height)
        .unwrap()
        .unwrap()
        .time_ms;
    let shipments: Vec<Envelope> = (0..SHIPMENTS as u64)
        .map(|n| {
            let shipment = Shipment {
                seller: competitor.profile.uscc.clone(),
                buyer: Party::Enterprise {
                    uscc: victim.clone(),
                    name: "victim".parse().unwrap(),
                    address: "2 Victim Road, Wuhan".parse().unwrap(),
                    contact: "+86 27 8000 0002".parse().unwrap(),
                    gln: None,
                },
                sold_at_ms: now_ms,
                lines: vec![ShipmentLine {
                    code: lot.clone(),
                    quantity: 1,
                }],
                order_reference: None,
            };
            sign(&server, &competitor.key, 10_000 + n, Record::Ship(shipment))
        })
        .collect();
    commit_all(&server, shipments);
    assert_eq!(
        server.chain.store.holding(&lot, &victim).unwrap(),
        SHIPMENTS as u64,
        "every shipment reached the victim"
    );

    let after = views(&server, &victim, Some(&before.0.computed_at)).await;
    assert_eq!(after.0, before.0, "the victim's score is unchanged");
    assert_eq!(after.1, before.1, "the victim's report is unchanged");
}
