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
    HolderView, InspectionsPage, OpenRecallsPage, RecallStatus, RegionalInspection, SupplierReport,
};
use suyuan_ledger::codes::gs1::keys::Gtin;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::demo::{Demo, factory_report, who};
use suyuan_ledger::facts::FactsRead as _;
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::{
    CloseRecall, Commissioning, Inspection, Items, Outcome, Party, Recall, Record, SampledProduct,
    Shipment, ShipmentLine, Subject, TraceCode,
};
use suyuan_ledger::state::StateReadExt as _;
use suyuan_ledger::tx::Envelope;

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

/// A server over the demo story's every block: the chain's committed ones, then block 5.
async fn story_server(label: &str) -> Server {
    let server = Server::start(label).await;
    server.chain.commit(5, server.chain.story[4].clone());
    server
}

/// The code of lot `lot` of the model `gtin`.
fn lot_code(gtin: Gtin, lot: &str) -> TraceCode {
    text(&format!("01/{gtin}/10/{lot}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_recalls_list_every_holder_of_what_they_cover() {
    let server = story_server("open-recalls").await;
    let demo: &Demo = &server.chain.demo;
    let cable = &demo.enterprises[who::CABLE_MAKER];
    let cooker_lot = lot_code(Demo::cooker_gtin(), "G2601B");
    let cable_lot = lot_code(Demo::cable_gtin(), "C2601A");

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
    let model_recall = server.chain.sign(&cable.key, 100, recall);
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
    commit(&server, vec![server.chain.sign(&demo.bureau, 7, close)]);
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
async fn a_batch_recall_lists_the_holders_of_its_items_too() {
    let server = story_server("batch-recall-holders").await;
    let demo: &Demo = &server.chain.demo;
    let cable = &demo.enterprises[who::CABLE_MAKER];
    let lab = &demo.enterprises[who::LAB];
    let cable_lot = lot_code(Demo::cable_gtin(), "C2601A");
    let items: Vec<TraceCode> = ["C2601A-0001", "C2601A-0002"]
        .map(|serial| TraceCode::Item {
            gtin: Demo::cable_gtin(),
            serial: text(serial),
        })
        .to_vec();
    // Two serialised items of the lot; one goes to the lab as a sample (it holds none of the
    // lot itself).
    let records = [
        Record::Commission(Commissioning {
            uscc: cable.profile.uscc.clone(),
            model_code: Demo::cable_gtin().into(),
            items: Items::Serialised {
                codes: items.clone(),
                batch: Some(cable_lot.clone()),
            },
            production_date: text("2026-01-03"),
            factory_number: None,
            inspection_report: factory_report("R-ITEMS", "QA"),
        }),
        Record::Ship(Shipment {
            seller: cable.profile.uscc.clone(),
            buyer: Party::enterprise(&lab.profile),
            sold_at_ms: suyuan_ledger::demo::DEMO_GENESIS_TIME_MS + 3 * 86_400_000,
            lines: vec![ShipmentLine {
                code: items[0].clone(),
                quantity: 1,
            }],
            order_reference: None,
        }),
        Record::Recall(Recall {
            producer: cable.profile.uscc.clone(),
            subjects: vec![Subject::Code(cable_lot.clone())],
            reason: text("Insulation thickness below GB/T 5023.3."),
            announced_on: text("2026-01-04"),
        }),
    ];
    let envelopes = records
        .into_iter()
        .enumerate()
        .map(|(n, record)| server.chain.sign(&cable.key, 200 + n as u64, record))
        .collect();
    commit(&server, envelopes);

    let page: OpenRecallsPage = get(&server, "/v1/recalls").await;
    let entry = page
        .recalls
        .iter()
        .find(|entry| entry.subject == Subject::Code(cable_lot.clone()))
        .expect("the lot's recall is open");
    assert_eq!((entry.codes_read, entry.codes_total), (3, 3), "{entry:?}");
    assert!(entry.holders_complete);
    // Every holder of the lot or of one of its items, units added up over the three codes.
    let mut expected: std::collections::BTreeMap<Uscc, (u64, u64)> = Default::default();
    for code in std::iter::once(&cable_lot).chain(&items) {
        for (uscc, units) in holdings(&server, code) {
            let held = expected.entry(uscc).or_default();
            held.0 += units;
            held.1 += 1;
        }
    }
    let listed: std::collections::BTreeMap<Uscc, (u64, u64)> = entry
        .holders
        .iter()
        .map(|h| (h.uscc.clone(), (h.units, h.codes)))
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(listed.get(&lab.profile.uscc), Some(&(1, 1)));
    assert_eq!(
        holdings(&server, &cable_lot)
            .iter()
            .find(|(uscc, _)| uscc == &lab.profile.uscc),
        None,
        "the lab holds only the item"
    );
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
    let server = story_server("regional-inspections").await;
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
    let cable_lot = lot_code(Demo::cable_gtin(), "C2601A");
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
                accreditation: None,
            });
            server.chain.sign(&demo.bureau, 1_000 + n, inspection)
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
        "?category=Cables",
        "?after=sampled:many",
    ] {
        let response = server.get(&format!("/v1/inspections{query}")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_query");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_samplings_are_listed_by_category_and_count_against_the_maker_named() {
    let server = story_server("sampled-inspections").await;
    let demo: &Demo = &server.chain.demo;
    let cable = &demo.enterprises[who::CABLE_MAKER];
    // The dev story's last blocks: the lab accredited, a cable lot inspected under it and a
    // failed sampling of a cable the cable maker's label names.
    commit(&server, demo.accreditation());
    commit(&server, demo.market_sampling());
    // The bureau fails a cable of a maker that never enrolled.
    let unenrolled = suyuan_ledger::demo::uscc("91420100MA4K9X0W5");
    let sampling = Record::Inspect(Inspection {
        subject: Subject::Sampled(Box::new(SampledProduct {
            maker: unenrolled.clone(),
            maker_name: text("Hanyang Copper Wire Works"),
            product_name: text("copper cable"),
            model: text("BVR 1.5 mm²"),
            category: text("wires_cables"),
            batch: None,
            printed_code: Some(text("HY-2025-11")),
            sampled_on: text("2026-01-06"),
            sampled_in: text("420105"),
            place: text("an online shop"),
        })),
        outcome: Outcome::NonConformant,
        standards: vec![text("GB/T 5023.3-2008")],
        inspected_on: text("2026-01-07"),
        report_number: text("HBAMR-S-2026-0001"),
        document_sha256: Hash32([7; 32]),
        findings: None,
        accreditation: None,
    });
    commit(
        &server,
        vec![server.chain.sign(&demo.bureau, 2_000, sampling)],
    );

    let cables: InspectionsPage =
        get(&server, "/v1/inspections?category=wires_cables&limit=1000").await;
    assert_eq!(
        numbers(&cables.inspections),
        ["WHCT-2026-S0012", "HBAMR-S-2026-0001"],
        "{cables:?}"
    );
    let enrolled = &cables.inspections[0];
    assert_eq!(enrolled.producer, cable.profile.uscc);
    assert_eq!(
        enrolled.inspection.accreditation,
        Some(Demo::lab_accreditation())
    );
    let off_ledger = &cables.inspections[1];
    assert_eq!(off_ledger.producer, unenrolled);
    assert_eq!(
        off_ledger.producer_name.as_ref().map(ToString::to_string),
        Some("Hanyang Copper Wire Works".to_owned())
    );
    assert!(off_ledger.inspection.subject.sampled().is_some());
    for limit in [1, 2] {
        let paged = every_page(&server, "category=wires_cables", limit).await;
        assert_eq!(paged, cables.inspections, "pages of {limit}");
    }
    let all: InspectionsPage = get(&server, "/v1/inspections?outcome=any&limit=1000").await;
    assert_eq!(all.inspections.len(), 5, "{all:?}");
    let gas: InspectionsPage = get(&server, "/v1/inspections?category=gas_appliances").await;
    assert_eq!(gas.inspections.len(), 1, "{gas:?}");
    assert!(gas.inspections[0].inspection.subject.sampled().is_none());
    let elsewhere: InspectionsPage =
        get(&server, "/v1/inspections?category=wires_cables&region=11").await;
    assert!(elsewhere.inspections.is_empty());

    // The lab's registration shows its accreditation, valid today.
    let lab = &demo.enterprises[who::LAB];
    let view: suyuan_api::views::EnterpriseView =
        get(&server, &format!("/v1/enterprises/{}", lab.profile.uscc)).await;
    assert_eq!(view.accreditations.len(), 1, "{view:?}");
    assert_eq!(view.accreditations[0].number, Demo::lab_accreditation());

    // The cable maker's report shows the failed sampling among its inspections.
    let report: SupplierReport = get(
        &server,
        &format!("/v1/enterprises/{}/report", cable.profile.uscc),
    )
    .await;
    assert!(
        report.inspections.iter().any(|inspection| {
            inspection.outcome == Outcome::NonConformant && inspection.subject.sampled().is_some()
        }),
        "{:?}",
        report.inspections
    );
}
