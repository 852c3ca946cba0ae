//! A regulator's views over HTTP, on a real store. Open recalls: every open recall, code or
//! whole model, with every enrolled enterprise holding what it covers, as state's holdings
//! say; a closed recall leaves the list. Inspections: by outcome, the producer's region and
//! period, paged. Bad queries are refused with typed errors.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::{Server, assert_error};
use suyuan_api::types::ProductView;
use suyuan_api::views::{
    HolderView, InspectionsPage, OpenRecallsPage, RecallStatus, RegionalInspection,
};
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::demo::{Demo, who};
use suyuan_ledger::facts::FactsRead as _;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::{CloseRecall, Inspection, Outcome, Recall, Record, Subject, TraceCode};
use suyuan_ledger::state::StateReadExt as _;
use suyuan_ledger::tx::{Envelope, Payload};

async fn get<T: serde::de::DeserializeOwned>(server: &Server, path: &str) -> T {
    let (status, body): (StatusCode, Value) = server.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_value(body).unwrap()
}

fn text<T: std::str::FromStr>(value: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    value.parse().expect("test text is valid")
}

/// The enrolled enterprises holding units of `code`, as state says, with the units of each.
fn holdings(server: &Server, code: &TraceCode) -> Vec<(Uscc, u64)> {
    let mut held: Vec<(Uscc, u64)> = server
        .chain
        .demo
        .enterprises
        .iter()
        .map(|enterprise| {
            let uscc = enterprise.profile.uscc.clone();
            let units = server.chain.store.holding(code, &uscc).unwrap();
            (uscc, units)
        })
        .filter(|(_, units)| *units > 0)
        .collect();
    held.sort();
    held
}

fn holders(view: &[HolderView]) -> Vec<(Uscc, u64)> {
    view.iter().map(|h| (h.uscc.clone(), h.units)).collect()
}

fn commit(server: &Server, envelopes: Vec<Envelope>) {
    let height = server.chain.store.head().height + 1;
    server.chain.commit(height, envelopes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_recalls_list_every_holder_of_what_they_cover() {
    let server = Server::start("open-recalls").await;
    server.chain.commit(5, server.chain.story[4].clone());
    let demo: &Demo = &server.chain.demo;
    let cable = &demo.enterprises[who::CABLE_MAKER];
    let cooker_lot: TraceCode = format!("01/{}/10/G2601B", Demo::cooker_gtin())
        .parse()
        .unwrap();
    let cable_lot: TraceCode = format!("01/{}/10/C2601A", Demo::cable_gtin())
        .parse()
        .unwrap();

    // The story's one open recall: the gas maker's failed lot, still all at the maker.
    let page: OpenRecallsPage = get(&server, "/v1/recalls").await;
    assert_eq!(page.recalls.len(), 1, "{page:?}");
    let lot = &page.recalls[0];
    assert_eq!(lot.subject, Subject::Code(cooker_lot.clone()));
    assert_eq!(
        lot.producer,
        demo.enterprises[who::GAS_APPLIANCE_MAKER].profile.uscc
    );
    assert_eq!((lot.codes_read, lot.codes_total), (1, 1));
    assert!(lot.holders_complete);
    assert!(lot.issued_by.regulator, "{:?}", lot.issued_by);
    assert_eq!(holders(&lot.holders), holdings(&server, &cooker_lot));
    assert!(!lot.holders.is_empty());
    assert_eq!(page.next, None);

    // The cable maker recalls its whole model: the lot it shipped to the distributor, who
    // resold part of it, is held by both.
    let recall = Record::Recall(Recall {
        producer: cable.profile.uscc.clone(),
        subjects: vec![Subject::Model(Demo::cable_gtin().into())],
        reason: text("Conductor resistance above GB/T 3956 class 1 limits."),
        announced_on: text("2026-01-04"),
    });
    let payload = Payload {
        nonce: 100,
        record: recall,
    };
    let model_recall = Envelope::sign(server.chain.binding(), &payload, &cable.key);
    let model_recall_id = model_recall.id(server.chain.binding());
    commit(&server, vec![model_recall]);

    let page: OpenRecallsPage = get(&server, "/v1/recalls").await;
    assert_eq!(page.recalls.len(), 2, "{page:?}");
    let model = page
        .recalls
        .iter()
        .find(|entry| entry.subject == Subject::Model(Demo::cable_gtin().into()))
        .expect("the model recall is open");
    assert_eq!(model.record.id, model_recall_id);
    assert_eq!(model.producer, cable.profile.uscc);
    let codes = server
        .chain
        .store
        .model_facts(&Demo::cable_gtin().into())
        .unwrap()
        .codes;
    assert_eq!(model.codes_total, codes);
    assert_eq!(model.codes_read, codes);
    assert!(model.holders_complete);
    let expected = holdings(&server, &cable_lot);
    assert!(
        expected.len() >= 2,
        "the maker and the distributor: {expected:?}"
    );
    assert_eq!(holders(&model.holders), expected);
    let distributor = &demo.enterprises[who::DISTRIBUTOR].profile;
    let held = model
        .holders
        .iter()
        .find(|h| h.uscc == distributor.uscc)
        .expect("the distributor holds part of the lot");
    assert_eq!(held.name.as_ref(), Some(&distributor.name));
    assert_eq!(held.codes, 1);

    // One at a time: the cursor carries on where the first page stopped.
    let first: OpenRecallsPage = get(&server, "/v1/recalls?limit=1").await;
    let next = first.next.clone().expect("a second page");
    let second: OpenRecallsPage = get(
        &server,
        &format!("/v1/recalls?limit=1&after={}", support::encode(&next)),
    )
    .await;
    assert_eq!(second.next, None);
    assert_eq!(
        vec![first.recalls[0].clone(), second.recalls[0].clone()],
        page.recalls
    );

    // Closing the lot's recall takes it off the list.
    let lot_recall = server
        .chain
        .store
        .open_recall(&Subject::Code(cooker_lot.clone()))
        .unwrap()
        .expect("the lot's recall is open");
    let close = Record::CloseRecall(CloseRecall {
        recall: lot_recall,
        resolution: text("Lot withdrawn and destroyed under supervision."),
    });
    let payload = Payload {
        nonce: 7,
        record: close,
    };
    commit(
        &server,
        vec![Envelope::sign(
            server.chain.binding(),
            &payload,
            &demo.bureau,
        )],
    );
    let page: OpenRecallsPage = get(&server, "/v1/recalls").await;
    assert_eq!(page.recalls.len(), 1, "{page:?}");
    assert_eq!(
        page.recalls[0].subject,
        Subject::Model(Demo::cable_gtin().into())
    );

    // A scan of either lot shows the recall covering it: the model's, which names no code, and
    // the lot's own, now closed.
    let product = |code: &TraceCode| format!("/v1/products/{}", support::encode(&code.to_string()));
    let cable_view: ProductView = get(&server, &product(&cable_lot)).await;
    assert!(cable_view.recalls_complete);
    assert_eq!(cable_view.recalls.len(), 1, "{cable_view:?}");
    let covering = &cable_view.recalls[0];
    assert_eq!(covering.subject, Subject::Model(Demo::cable_gtin().into()));
    assert_eq!(covering.status, RecallStatus::Open);
    assert_eq!(covering.record.id, model_recall_id);
    assert!(
        cable_view
            .history
            .iter()
            .all(|record| record.id != model_recall_id),
        "the model recall is not in the lot's own history"
    );
    let cooker_view: ProductView = get(&server, &product(&cooker_lot)).await;
    assert_eq!(cooker_view.recalls.len(), 1, "{cooker_view:?}");
    assert_eq!(cooker_view.recalls[0].status, RecallStatus::Closed);
    assert_eq!(cooker_view.recalls[0].record.id, lot_recall);
    assert!(cooker_view.recalls[0].closed_by.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_recall_queries_are_refused_with_typed_errors() {
    let server = Server::start("open-recalls-refusals").await;
    for query in [
        "?limit=0",
        "?limit=101",
        "?after=not-a-code",
        "?after=model:123",
        "?status=open",
    ] {
        let response = server.get(&format!("/v1/recalls{query}")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_query");
    }
    let page: OpenRecallsPage = get(&server, "/v1/recalls").await;
    assert!(page.recalls.is_empty(), "{page:?}");
}

/// The report numbers of a page's inspections, in its order.
fn numbers(inspections: &[RegionalInspection]) -> Vec<String> {
    inspections
        .iter()
        .map(|found| found.inspection.report_number.to_string())
        .collect()
}

/// Every page of `query` (without `after` or `limit`), `limit` at a time.
async fn every_page(server: &Server, query: &str, limit: usize) -> Vec<RegionalInspection> {
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let cursor = after
            .as_deref()
            .map(|next| format!("&after={}", support::encode(next)))
            .unwrap_or_default();
        let page: InspectionsPage = get(
            server,
            &format!("/v1/inspections?{query}&limit={limit}{cursor}"),
        )
        .await;
        assert!(page.inspections.len() <= limit);
        found.extend(page.inspections);
        match page.next {
            Some(next) => after = Some(next),
            None => return found,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspections_by_outcome_region_and_period_page_in_order() {
    let server = Server::start("regional-inspections").await;
    server.chain.commit(5, server.chain.story[4].clone());
    let demo: &Demo = &server.chain.demo;
    let gas = demo.enterprises[who::GAS_APPLIANCE_MAKER]
        .profile
        .uscc
        .clone();
    let cable = demo.enterprises[who::CABLE_MAKER].profile.uscc.clone();
    let region = |uscc: &Uscc| uscc.to_string()[2..8].to_owned();
    assert_ne!(
        region(&gas)[..2],
        region(&cable)[..2],
        "the demo's makers are in two provinces"
    );

    // The story's one failure: the gas maker's lot, found by the bureau.
    let page: InspectionsPage = get(&server, "/v1/inspections").await;
    assert_eq!(numbers(&page.inspections), ["HBAMR-CC-2026-0007"]);
    let failed = &page.inspections[0];
    assert_eq!(failed.producer, gas);
    assert_eq!(failed.region, region(&gas));
    assert_eq!(failed.inspection.outcome, Outcome::NonConformant);
    assert!(failed.inspection.inspector.regulator);
    assert_eq!(page.next, None);
    let all: InspectionsPage = get(&server, "/v1/inspections?outcome=any").await;
    assert_eq!(all.inspections.len(), 2, "{all:?}");
    let passed: InspectionsPage = get(&server, "/v1/inspections?outcome=conformant").await;
    assert_eq!(numbers(&passed.inspections), ["WHCT-2026-00091"]);

    // The bureau finds twelve more cable lots failing, on days after the story's.
    let cable_lot: TraceCode = format!("01/{}/10/C2601A", Demo::cable_gtin())
        .parse()
        .unwrap();
    let findings: Vec<_> = (0..12u64)
        .map(|n| {
            let inspection = Record::Inspect(Inspection {
                subject: Subject::Code(cable_lot.clone()),
                outcome: Outcome::NonConformant,
                standards: vec![text("GB/T 5023.3-2008")],
                inspected_on: text(&format!("2026-01-{:02}", 3 + n % 2)),
                report_number: text(&format!("HBAMR-WC-2026-{n:04}")),
                document_sha256: Hash32([n as u8; 32]),
                findings: Some(text("Insulation thickness below the standard's minimum.")),
            });
            let payload = Payload {
                nonce: 1_000 + n,
                record: inspection,
            };
            Envelope::sign(server.chain.binding(), &payload, &demo.bureau)
        })
        .collect();
    commit(&server, findings);

    let whole: InspectionsPage = get(&server, "/v1/inspections?limit=1000").await;
    assert_eq!(whole.inspections.len(), 13);
    assert_eq!(whole.next, None);
    assert!(
        whole
            .inspections
            .windows(2)
            .all(|pair| pair[0].producer <= pair[1].producer),
        "producers in USCC order"
    );
    for limit in [1, 2, 5, 12, 13] {
        let paged = every_page(&server, "outcome=non_conformant", limit).await;
        assert_eq!(
            numbers(&paged),
            numbers(&whole.inspections),
            "pages of {limit}"
        );
    }

    // By region: a province, a city, a district; and by period.
    for (query, producer) in [
        (format!("region={}", &region(&cable)[..2]), &cable),
        (format!("region={}", &region(&cable)[..4]), &cable),
        (format!("region={}", region(&gas)), &gas),
    ] {
        let page: InspectionsPage = get(&server, &format!("/v1/inspections?{query}")).await;
        assert!(!page.inspections.is_empty(), "{query}");
        assert!(
            page.inspections
                .iter()
                .all(|found| &found.producer == producer),
            "{query}: {page:?}"
        );
    }
    let page: InspectionsPage = get(&server, "/v1/inspections?region=65").await;
    assert!(page.inspections.is_empty());
    let page: InspectionsPage = get(
        &server,
        "/v1/inspections?from=2026-01-04&to=2026-01-04&limit=1000",
    )
    .await;
    assert_eq!(page.inspections.len(), 6, "{page:?}");
    assert!(
        page.inspections
            .iter()
            .all(|found| found.inspection.inspected_on.to_string() == "2026-01-04")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inspection_queries_are_refused_with_typed_errors() {
    let server = Server::start("regional-inspections-refusals").await;
    for query in [
        "?region=4",
        "?region=42010",
        "?region=hubei",
        "?from=2026-13-01",
        "?to=yesterday",
        "?outcome=failed",
        "?after=bogus",
        "?after=91420100MA4K7C8Q1X:zero",
        "?limit=0",
        "?category=cables",
    ] {
        let response = server.get(&format!("/v1/inspections{query}")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_query");
    }
}
