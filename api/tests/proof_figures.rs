//! Figures for BENCHMARKS.md: the size of a proof bundle and the time to verify it offline, for
//! consortia of 4 and 10 validators, on a chain of many records served by a real server over
//! RocksDB.
//!
//! Ignored by default (it commits 100,000 records twice). Run with
//! `cargo test --release --workspace --test proof_figures -- --ignored --nocapture`;
//! `SUYUAN_PROOF_RECORDS` sets the number of records beyond the demo story (default 100,000).

mod support;

use std::time::Instant;

use support::{Chain, Server, encode};
use suyuan_api::ApiLimits;
use suyuan_ledger::demo::Demo;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::{Commissioning, Items, Record, ReportKind, ReportRef, TraceCode};
use suyuan_ledger::tx::{Envelope, Payload};
use suyuan_proofs::bundle::ProofBundle;

/// Records per committed block.
const RECORDS_PER_BLOCK: usize = 1_000;

/// Times each bundle is verified to take the mean.
const VERIFICATIONS: u32 = 2_000;

/// Lot `n` of the demo cable model, commissioned by the cable maker.
fn lot(n: usize) -> TraceCode {
    TraceCode::Lot {
        gtin: Demo::cable_gtin(),
        lot: format!("F{n}").parse().unwrap(),
    }
}

/// `count` commissionings of fresh lots of the cable model, from lot `first` on, signed by
/// the cable maker.
fn commissionings(demo: &Demo, first: usize, count: usize) -> Vec<Envelope> {
    let cable = &demo.enterprises[0];
    (first..first + count)
        .map(|n| {
            let record = Record::Commission(Commissioning {
                uscc: cable.profile.uscc.clone(),
                model_code: Demo::cable_gtin().into(),
                items: Items::Batch {
                    code: lot(n),
                    quantity: 10,
                },
                production_date: "2026-01-02".parse().unwrap(),
                factory_number: None,
                inspection_report: ReportRef {
                    kind: ReportKind::FactoryInspection,
                    number: format!("FI-{n}").parse().unwrap(),
                    issued_by: "Quality department".parse().unwrap(),
                    document_sha256: Hash32([7; 32]),
                },
            });
            let payload = Payload {
                nonce: n as u64,
                record,
                event: None,
            };
            Envelope::sign(&demo.genesis.binding(), &payload, &cable.key)
        })
        .collect()
}

/// A chain of `validators` validators with the demo story and `records` commissionings.
fn chain(validators: usize, records: usize) -> Chain {
    let chain = Chain::with_validators(&format!("figures-{validators}"), validators);
    let mut height = chain.store.head().height;
    for first in (0..records).step_by(RECORDS_PER_BLOCK) {
        height += 1;
        let count = RECORDS_PER_BLOCK.min(records - first);
        chain.commit(height, commissionings(&chain.demo, first, count));
    }
    chain
}

/// Mean microseconds `verify` takes over [`VERIFICATIONS`] runs.
fn mean_micros(mut verify: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..VERIFICATIONS {
        verify();
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(VERIFICATIONS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "commits 100,000 records twice; run on purpose for the figures"]
async fn proof_bundle_size_and_verification_time() {
    let records: usize = std::env::var("SUYUAN_PROOF_RECORDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(100_000);
    for validators in [4, 10] {
        let started = Instant::now();
        let chain = tokio::task::spawn_blocking(move || chain(validators, records))
            .await
            .unwrap();
        let genesis = chain.demo.genesis.clone();
        let log_size = chain
            .store
            .log_size_at(chain.store.head().height)
            .unwrap()
            .unwrap();
        println!(
            "{validators} validators: {log_size} records in {} blocks, built in {:.1} s",
            chain.store.head().height,
            started.elapsed().as_secs_f64()
        );
        let server = Server::serve(chain, ApiLimits::default(), None).await;
        for (what, code) in [
            ("a record", lot(records / 2).to_string()),
            ("an absence", lot(records + 7).to_string()),
        ] {
            let response = server
                .http
                .get(server.url(&format!("/v1/proofs/{}", encode(&code))))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
            let bytes = response.bytes().await.unwrap();
            let bundle: ProofBundle = serde_json::from_slice(&bytes).unwrap();
            let proven = bundle.verify(&genesis).expect("the bundle holds");
            assert_eq!(proven.finality.signers, genesis.quorum());
            let verify = mean_micros(|| {
                bundle.verify(&genesis).unwrap();
            });
            let parse_and_verify = mean_micros(|| {
                let bundle: ProofBundle = serde_json::from_slice(&bytes).unwrap();
                bundle.verify(&genesis).unwrap();
            });
            let inclusion = bundle.record.as_ref().map_or(0, |r| r.inclusion.path.len());
            println!(
                "  bundle of {what}: {} bytes of JSON (justification {} hex characters, {} \
                 inclusion hashes, {} map siblings); verify {verify:.0} µs, parse and verify \
                 {parse_and_verify:.0} µs (mean of {VERIFICATIONS})",
                bytes.len(),
                bundle.justification.len(),
                inclusion,
                bundle.map_proof.siblings.len(),
            );
        }
    }
}
