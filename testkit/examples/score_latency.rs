//! Measure the score and the supplier report of an enterprise with a long history, over the
//! real API server on a real store: the cable maker of the demo story commissions a lot and
//! sells it to the distributor, again and again, until it has signed `SUYUAN_SCORE_RECORDS`
//! records (default 1,000,000); then its score and report are asked for, one request at a
//! time, and their latencies printed beside the demo gas maker's, whose history is a handful
//! of records.
//!
//! ```text
//! SUYUAN_SCORE_RECORDS=1000000 cargo run --release -p suyuan-testkit --example score_latency
//! ```

use std::time::{Duration, Instant};

use suyuan_ledger::demo::{Demo, factory_report, who};
use suyuan_ledger::limits::MAX_BLOCK_TRANSACTIONS;
use suyuan_ledger::record::TraceCode;
use suyuan_ledger::record::{Commissioning, Items, Party, Record, Shipment, ShipmentLine};
use suyuan_ledger::text::Date;
use suyuan_ledger::tx::{Envelope, Payload};
use suyuan_testkit::served::{Fixture, uscc_of};

/// Requests timed per figure.
const SAMPLES: usize = 20;

/// The demo's blocks are a day apart: the lots are produced the day of their block.
const DAY_MS: u64 = 86_400_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let records: usize = std::env::var("SUYUAN_SCORE_RECORDS")
        .ok()
        .map(|text| text.parse().expect("SUYUAN_SCORE_RECORDS is a number"))
        .unwrap_or(1_000_000);
    let fixture = Fixture::new("score-latency", 5).await;
    let demo = &fixture.demo;
    let cable = &demo.enterprises[who::CABLE_MAKER];
    let distributor = uscc_of(demo, who::DISTRIBUTOR);
    let started = Instant::now();
    // Each block: half commissionings of a one-unit lot, half sales of those lots.
    let per_block = MAX_BLOCK_TRANSACTIONS / 2;
    let mut signed = 0;
    let mut height = 5;
    while signed < records {
        height += 1;
        let production_date =
            Date::from_unix_ms_china(demo.genesis.genesis_time_ms + height * DAY_MS);
        let pairs = per_block.min((records - signed).div_ceil(2));
        let lots: Vec<TraceCode> = (0..pairs)
            .map(|n| TraceCode::Lot {
                gtin: Demo::cable_gtin(),
                lot: format!("H{height}N{n}").parse().unwrap(),
            })
            .collect();
        let mut block: Vec<Envelope> = Vec::with_capacity(2 * pairs);
        for (n, lot) in lots.iter().enumerate() {
            let commission = Record::Commission(Commissioning {
                uscc: cable.profile.uscc.clone(),
                model_code: Demo::cable_gtin().into(),
                items: Items::Batch {
                    code: lot.clone(),
                    quantity: 1,
                },
                production_date,
                factory_number: Some("F1".parse().unwrap()),
                inspection_report: factory_report("R1", "lab"),
            });
            block.push(sign(
                demo,
                cable,
                2 * (height * 1_000_000 + n as u64),
                commission,
            ));
        }
        for (n, lot) in lots.iter().enumerate() {
            let sale = Record::Ship(Shipment {
                seller: cable.profile.uscc.clone(),
                buyer: Party::Enterprise {
                    uscc: distributor.clone(),
                    name: "distributor".parse().unwrap(),
                    address: "9 Hanzheng Street, Qiaokou District, Wuhan, Hubei"
                        .parse()
                        .unwrap(),
                    contact: "+86 27 8000 0000".parse().unwrap(),
                    gln: None,
                },
                sold_at_ms: demo.genesis.genesis_time_ms + height * DAY_MS,
                lines: vec![ShipmentLine {
                    code: lot.clone(),
                    quantity: 1,
                }],
                order_reference: None,
            });
            block.push(sign(
                demo,
                cable,
                2 * (height * 1_000_000 + n as u64) + 1,
                sale,
            ));
        }
        signed += block.len();
        fixture.commit_envelopes(block).expect("the block commits");
        if height % 10 == 0 {
            eprintln!("{signed} records in {:.0?}", started.elapsed());
        }
    }
    println!(
        "built {signed} records of {} in {} blocks in {:.1?}",
        cable.profile.uscc,
        height - 5,
        started.elapsed()
    );
    let gas = uscc_of(demo, who::GAS_APPLIANCE_MAKER);
    for (who, uscc) in [
        ("long history", &cable.profile.uscc),
        ("demo gas maker", &gas),
    ] {
        let score = time(|| fixture.client.score(uscc)).await;
        let report = time(|| fixture.client.report(uscc)).await;
        let view = fixture.client.score(uscc).await.unwrap();
        println!(
            "{who}: total {:?} bp; score p50 {:.1?} max {:.1?}; report p50 {:.1?} max {:.1?}",
            view.total_bp, score.0, score.1, report.0, report.1
        );
    }
}

fn sign(
    demo: &Demo,
    who: &suyuan_ledger::demo::DemoEnterprise,
    nonce: u64,
    record: Record,
) -> Envelope {
    Envelope::sign(
        &demo.genesis.binding(),
        &Payload {
            nonce,
            record,
            event: None,
        },
        &who.key,
    )
}

/// The median and the slowest of [`SAMPLES`] requests, one at a time.
async fn time<T, E: std::fmt::Debug, F: std::future::Future<Output = Result<T, E>>>(
    request: impl Fn() -> F,
) -> (Duration, Duration) {
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        request().await.expect("the request succeeds");
        samples.push(started.elapsed());
    }
    samples.sort();
    (samples[SAMPLES / 2], samples[SAMPLES - 1])
}
