//! Measure what the ledger costs per transaction: strict signature checks, envelope checks
//! (signature and JSON parsing), and execution against in-memory state.
//!
//! Run: `cargo bench -p suyuan-ledger --bench ledger` (release profile). Prints one line per
//! figure; `SUYUAN_BENCH_TXS` sets the number of transactions (default 20,000).

use std::time::Instant;

use suyuan_ledger::demo::{DEMO_GENESIS_TIME_MS, Demo, factory_report, who};
use suyuan_ledger::exec::{BlockContext, Executor, execute_block};
use suyuan_ledger::record::{
    Commissioning, Items, Party, Record, Shipment, ShipmentLine, TraceCode,
};
use suyuan_ledger::state::MemState;
use suyuan_ledger::tx::{Envelope, Payload, VerifiedTx, signing_message};

fn main() {
    let count: usize = std::env::var("SUYUAN_BENCH_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let demo = Demo::new(4, 7100);
    let chain = demo.genesis.binding();
    let mut state = MemState::new();
    for (height, block) in demo.story().into_iter().enumerate() {
        let txs: Vec<VerifiedTx> = block
            .into_iter()
            .map(|e| e.verify(&chain).unwrap())
            .collect();
        let writes = execute_block(&state, context(&demo, height as u64 + 1), &txs).unwrap();
        state.apply(writes);
    }
    let cable = &demo.enterprises[who::CABLE_MAKER];
    let distributor = &demo.enterprises[who::DISTRIBUTOR];
    let lot: TraceCode = format!("01/{}/10/BENCH", Demo::cable_gtin())
        .parse()
        .unwrap();
    let setup = Envelope::sign(
        &chain,
        &Payload {
            nonce: 0,
            record: Record::Commission(Commissioning {
                uscc: cable.profile.uscc.clone(),
                model_code: Demo::cable_gtin().into(),
                items: Items::Batch {
                    code: lot.clone(),
                    quantity: u64::MAX / 2,
                },
                production_date: "2026-01-02".parse().unwrap(),
                factory_number: None,
                inspection_report: factory_report("B", "B"),
            }),
            event: None,
        },
        &cable.key,
    );
    let writes =
        execute_block(&state, context(&demo, 6), &[setup.verify(&chain).unwrap()]).unwrap();
    state.apply(writes);

    let envelopes: Vec<Envelope> = (0..count as u64)
        .map(|nonce| {
            let record = Record::Ship(Shipment {
                seller: cable.profile.uscc.clone(),
                buyer: Party::enterprise(&distributor.profile),
                sold_at_ms: DEMO_GENESIS_TIME_MS,
                lines: vec![ShipmentLine {
                    code: lot.clone(),
                    quantity: 1,
                }],
                order_reference: Some(format!("SO-{nonce}").parse().unwrap()),
            });
            Envelope::sign(
                &chain,
                &Payload {
                    nonce: nonce + 1,
                    record,
                    event: None,
                },
                &cable.key,
            )
        })
        .collect();
    let payload_bytes: usize = envelopes.iter().map(|e| e.payload.len()).sum();
    println!(
        "transactions: {count}, mean payload {} bytes",
        payload_bytes / count
    );

    let start = Instant::now();
    for envelope in &envelopes {
        let message = signing_message(&chain, &envelope.payload);
        envelope
            .signer
            .verify(&message, &envelope.signature)
            .unwrap();
    }
    report("ed25519 strict verifications", count, start);

    let start = Instant::now();
    let verified: Vec<VerifiedTx> = envelopes
        .into_iter()
        .map(|e| e.verify(&chain).unwrap())
        .collect();
    report(
        "envelope checks (signature + JSON parse + id)",
        count,
        start,
    );

    let start = Instant::now();
    let mut executor = Executor::new(&state, context(&demo, 7));
    for tx in &verified {
        executor.apply(tx).unwrap();
    }
    let writes = executor.finish();
    report("executions (one block, in-memory state)", count, start);
    assert!(!writes.is_empty());
}

fn context(demo: &Demo, height: u64) -> BlockContext<'_> {
    BlockContext {
        genesis: &demo.genesis,
        height,
        time_ms: demo.genesis.genesis_time_ms + height * 86_400_000,
    }
}

fn report(what: &str, count: usize, start: Instant) {
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{what}: {:.0} per second ({count} in {seconds:.3} s, one core)",
        count as f64 / seconds
    );
}
