//! Paging an enterprise's evidence over HTTP, on a real store: a report lists the newest 1,000
//! codes of a producer with more, says where the rest starts, and the evidence endpoint pages
//! through every one of them, oldest included, with numbers that stay put while the chain
//! grows. Bad queries are refused with typed errors.

mod support;

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;
use support::{Server, assert_error};
use suyuan_api::views::{EvidenceEntry, EvidenceListing, EvidencePage, SupplierReport};
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::demo::{Demo, who};
use suyuan_ledger::limits::MAX_BLOCK_TRANSACTIONS;
use suyuan_ledger::record::{Items, Record, TraceCode};
use suyuan_ledger::tx::{Envelope, Payload};

/// Items in each of the producer's extra commissionings.
const ITEMS: usize = 700;

/// Extra commissionings: 1,400 codes, more than the 1,000 a report lists.
const COMMISSIONINGS: u64 = 2;

async fn get<T: serde::de::DeserializeOwned>(server: &Server, path: &str) -> T {
    let (status, body): (StatusCode, Value) = server.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_value(body).unwrap()
}

fn commit_all(server: &Server, envelopes: Vec<Envelope>) {
    for block in envelopes.chunks(MAX_BLOCK_TRANSACTIONS) {
        let height = server.chain.store.head().height + 1;
        server.chain.commit(height, block.to_vec());
    }
}

/// The whole demo story, then the gas maker commissioning [`COMMISSIONINGS`] × [`ITEMS`] more
/// serialised cookers, starting at serial `first`.
fn commission_more(server: &Server, first: usize, nonce: u64) {
    let demo = &server.chain.demo;
    let gas = &demo.enterprises[who::GAS_APPLIANCE_MAKER];
    let template = server
        .chain
        .story
        .iter()
        .flatten()
        .find_map(
            |envelope| match Payload::parse(&envelope.payload).unwrap().record {
                Record::Commission(record) if record.uscc == gas.profile.uscc => Some(record),
                _ => None,
            },
        )
        .expect("the story commissions the gas maker's cookers");
    let envelopes = (0..COMMISSIONINGS)
        .map(|n| {
            let mut record = template.clone();
            let start = first + n as usize * ITEMS;
            record.items = Items::Serialised {
                codes: (start..start + ITEMS)
                    .map(|serial| TraceCode::Item {
                        gtin: Demo::cooker_gtin(),
                        serial: format!("EV{serial:06}").parse().unwrap(),
                    })
                    .collect(),
                batch: None,
            };
            let payload = Payload {
                nonce: nonce + n,
                record: Record::Commission(record),
                event: None,
            };
            Envelope::sign(server.chain.binding(), &payload, &gas.key)
        })
        .collect();
    commit_all(server, envelopes);
}

/// Every page of `uscc`'s `listing` from entry `before` down (the newest without it).
async fn page_all(
    server: &Server,
    uscc: &Uscc,
    listing: &str,
    before: Option<u64>,
) -> Vec<EvidenceEntry> {
    let mut entries = Vec::new();
    let mut before = before;
    loop {
        let cursor = before.map(|b| format!("&before={b}")).unwrap_or_default();
        let path = format!("/v1/enterprises/{uscc}/evidence?listing={listing}&limit=300{cursor}");
        let page: EvidencePage = get(server, &path).await;
        assert!(page.entries.len() <= 300);
        entries.extend(page.entries);
        match page.next_before {
            Some(next) => before = Some(next),
            None => return entries,
        }
    }
}

fn number(entry: &EvidenceEntry) -> u64 {
    match entry {
        EvidenceEntry::Model { number, .. }
        | EvidenceEntry::Code { number, .. }
        | EvidenceEntry::Record { number, .. } => *number,
    }
}

fn code(entry: &EvidenceEntry) -> TraceCode {
    match entry {
        EvidenceEntry::Code { code, .. } => code.clone(),
        other => panic!("a codes entry is a code, not {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_evidence_a_report_leaves_out_pages_from_where_it_says() {
    let server = Server::start("evidence-pages").await;
    server.chain.commit(5, server.chain.story[4].clone());
    let uscc = server.chain.demo.enterprises[who::GAS_APPLIANCE_MAKER]
        .profile
        .uscc
        .clone();
    let before: SupplierReport = get(&server, &format!("/v1/enterprises/{uscc}/report")).await;
    assert!(!before.reads.truncated);
    let story_codes: BTreeSet<TraceCode> = before.batches.iter().map(|b| b.code.clone()).collect();
    assert!(!story_codes.is_empty());
    for listing in &before.reads.listings {
        assert_eq!(listing.read, listing.total, "{listing:?}");
        assert_eq!(listing.next_before, None, "{listing:?}");
    }

    commission_more(&server, 0, 1_000);
    let report: SupplierReport = get(&server, &format!("/v1/enterprises/{uscc}/report")).await;
    assert!(report.reads.truncated);
    let codes = report
        .reads
        .listings
        .iter()
        .find(|listing| listing.listing == EvidenceListing::Codes)
        .expect("the report says how much of the codes listing it read");
    let total = story_codes.len() as u64 + COMMISSIONINGS * ITEMS as u64;
    assert_eq!(codes.total, total);
    assert_eq!(codes.read, 1_000);
    assert_eq!(codes.next_before, Some(total - 1_000));
    let listed: BTreeSet<TraceCode> = report.batches.iter().map(|b| b.code.clone()).collect();
    assert_eq!(listed.len(), 1_000);
    assert!(
        listed.is_disjoint(&story_codes),
        "the story's codes are the oldest, out of the report"
    );

    // The whole listing, newest first: every number once, every code once, the report's
    // thousand first and the story's codes last.
    let all = page_all(&server, &uscc, "codes", None).await;
    let numbers: Vec<u64> = all.iter().map(number).collect();
    assert_eq!(numbers, (0..total).rev().collect::<Vec<u64>>());
    let paged: Vec<TraceCode> = all.iter().map(code).collect();
    assert_eq!(paged.iter().collect::<BTreeSet<_>>().len() as u64, total);
    assert_eq!(
        paged[..1_000].iter().cloned().collect::<BTreeSet<_>>(),
        listed
    );
    assert_eq!(
        paged[paged.len() - story_codes.len()..]
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        story_codes
    );

    // From the report's cursor: exactly the codes it left out.
    let rest = page_all(&server, &uscc, "codes", codes.next_before).await;
    assert_eq!(rest.len() as u64, total - 1_000);
    assert_eq!(rest.iter().map(code).collect::<Vec<_>>(), paged[1_000..]);

    // Numbers stay put as the chain grows: the same page after more commissionings.
    let path = format!("/v1/enterprises/{uscc}/evidence?listing=codes&before=500&limit=50");
    let early: EvidencePage = get(&server, &path).await;
    commission_more(&server, 10_000, 2_000);
    let later: EvidencePage = get(&server, &path).await;
    assert_eq!(later.entries, early.entries);
    assert_eq!(later.total, total + COMMISSIONINGS * ITEMS as u64);
    assert!(later.computed_at.height > early.computed_at.height);

    // Records: the failed inspection and the open recall, with their committed records.
    for (listing, expected) in [
        ("inspections", report.history.inspections),
        ("recalls", report.history.recalls),
    ] {
        let entries = page_all(&server, &uscc, listing, None).await;
        assert_eq!(entries.len() as u64, expected, "{listing}");
        for entry in &entries {
            let EvidenceEntry::Record { record, .. } = entry else {
                panic!("{listing} entries are records: {entry:?}");
            };
            let wanted = if listing == "inspections" {
                "inspect"
            } else {
                "recall"
            };
            let record = serde_json::to_value(&record.payload.record).unwrap();
            assert_eq!(record["type"], wanted, "{listing}");
        }
    }
    let models = page_all(&server, &uscc, "models", None).await;
    assert!(
        models.iter().any(
            |entry| matches!(entry, EvidenceEntry::Model { gtin, figures, .. }
                if *gtin == Some(Demo::cooker_gtin()) && figures.codes >= COMMISSIONINGS * ITEMS as u64)
        ),
        "{models:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_evidence_queries_are_refused_with_typed_errors() {
    let server = Server::start("evidence-refusals").await;
    let uscc = server.chain.demo.enterprises[who::GAS_APPLIANCE_MAKER]
        .profile
        .uscc
        .clone();
    let base = format!("/v1/enterprises/{uscc}/evidence");
    for query in [
        "",
        "?listing=everything",
        "?listing=codes&limit=0",
        "?listing=codes&limit=100000",
        "?listing=codes&before=-1",
        "?listing=codes&after=3",
    ] {
        let response = server.get(&format!("{base}{query}")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_query");
    }
    let response = server
        .get("/v1/enterprises/not-a-uscc/evidence?listing=codes")
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_uscc");
    let stranger = suyuan_ledger::demo::uscc("91330200999999999");
    let response = server
        .get(&format!(
            "/v1/enterprises/{stranger}/evidence?listing=codes"
        ))
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, "unknown_enterprise");
    // A cursor past the end reads from the newest.
    let page: EvidencePage = get(&server, &format!("{base}?listing=models&before=99999")).await;
    assert_eq!(page.total, page.entries.len() as u64);
}
