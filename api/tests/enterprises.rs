//! Enterprises over HTTP: registration with licence and key status, paged records, the
//! supplier verification report in JSON and HTML, the traceability score and the ranking of an
//! association's members, all over the demo story on a real store; bad and unknown
//! enterprises; and reports that hold at one block while blocks commit.

mod support;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;
use support::{Server, assert_error};
use suyuan_api::views::{
    AmendmentsPage, EnterpriseRecordsPage, EnterpriseView, KeyState, RecallStatus, ScoreRanking,
    ScoreView, SupplierReport, Validity, WeightsSource,
};
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, DemoEnterprise, uscc, who};
use suyuan_ledger::hash::Hash32;
use suyuan_ledger::record::{
    AcceptTransfer, BindKey, CertificateEntry, CloseRecall, Commissioning, Inspection, Items,
    OfferTransfer, Outcome, ProductModel, Record, ReportKind, ReportRef, RevokeKey, RotateKey,
    Subject, TraceCode, UpdateEnterprise,
};
use suyuan_ledger::tx::{Envelope, Payload};

/// A server over the whole demo story: the resale and the recall of block 5 committed too.
async fn story_server(label: &str) -> Server {
    let server = Server::start(label).await;
    server.chain.commit(5, server.chain.story[4].clone());
    server
}

fn enterprise(server: &Server, index: usize) -> &DemoEnterprise {
    &server.chain.demo.enterprises[index]
}

fn uscc_of(server: &Server, index: usize) -> Uscc {
    enterprise(server, index).profile.uscc.clone()
}

fn text<T: std::str::FromStr>(value: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    value.parse().expect("test text is valid")
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

/// The id, in hex, of story transaction `index` of block `height`.
fn story_id(server: &Server, height: usize, index: usize) -> String {
    server.chain.story[height - 1][index]
        .id(server.chain.binding())
        .to_hex()
}

fn id_of(server: &Server, envelope: &Envelope) -> String {
    envelope.id(server.chain.binding()).to_hex()
}

/// GET `path` as JSON, parsed as `T`; panics unless 200.
async fn get_ok<T: serde::de::DeserializeOwned>(server: &Server, path: &str) -> (T, Value) {
    let (status, body) = server.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    let parsed = serde_json::from_value(body.clone())
        .unwrap_or_else(|error| panic!("{path}: {error}: {body}"));
    (parsed, body)
}

/// GET `path` with an optional `Accept`: status, headers and body text.
async fn get_text(
    server: &Server,
    path: &str,
    accept: Option<&str>,
) -> (StatusCode, HeaderMap, String) {
    let mut request = server.http.get(server.url(path));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// A lot of the cable model, commissioned by the cable maker on `production_date`.
fn cable_commission(
    server: &Server,
    lot: &str,
    production_date: &str,
    factory_number: Option<&str>,
) -> Record {
    Record::Commission(Commissioning {
        uscc: uscc_of(server, who::CABLE_MAKER),
        model_code: Demo::cable_gtin().into(),
        items: Items::Batch {
            code: TraceCode::Lot {
                gtin: Demo::cable_gtin(),
                lot: text(lot),
            },
            quantity: 100,
        },
        production_date: text(production_date),
        factory_number: factory_number.map(text),
        inspection_report: ReportRef {
            kind: ReportKind::FactoryInspection,
            number: text(&format!("CJ-FI-{lot}")),
            issued_by: text("Quality department"),
            document_sha256: Hash32([9; 32]),
        },
    })
}

#[tokio::test]
async fn registration_shows_licences_certificates_and_keys_as_of_the_head() {
    let server = story_server("enterprise").await;
    let cable = uscc_of(&server, who::CABLE_MAKER);
    let (view, _) = get_ok::<EnterpriseView>(&server, &format!("/v1/enterprises/{cable}")).await;
    assert_eq!(view.uscc, cable);
    assert_eq!(view.name.as_str(), "Wuhan Changjiang Cable Co., Ltd.");
    let head = server.chain.store.head();
    assert_eq!(view.computed_at.height, 5);
    assert_eq!(view.computed_at.block_hash, head.hash);
    assert_eq!(view.computed_at.date.to_string(), "2026-01-06");
    let registrar = &view.registration.registered_by;
    assert_eq!(registrar.public_key, server.chain.demo.bureau.public());
    assert_eq!(
        registrar.name.as_deref(),
        Some("Hubei Administration for Market Regulation")
    );
    assert!(registrar.registrar && registrar.regulator);
    assert_eq!(view.registration.registered_at_height, 1);
    assert_eq!(view.business_licence.validity, Validity::Valid);
    assert_eq!(view.production_licences.len(), 1);
    assert_eq!(view.production_licences[0].validity, Validity::Valid);
    assert_eq!(view.ccc_certificates[0].validity, Validity::Valid);
    assert_eq!(view.keys.len(), 1);
    assert_eq!(
        view.keys[0].public_key,
        enterprise(&server, who::CABLE_MAKER).key.public()
    );
    assert_eq!(view.keys[0].status, KeyState::Active);
    assert_eq!(view.keys[0].bound_at_height, 1);

    // The association enrolled the distributor; lower case reads the same enterprise.
    let distributor = uscc_of(&server, who::DISTRIBUTOR);
    let lower = distributor.as_str().to_ascii_lowercase();
    let (view, _) = get_ok::<EnterpriseView>(&server, &format!("/v1/enterprises/{lower}")).await;
    assert_eq!(view.uscc, distributor);
    let registrar = &view.registration.registered_by;
    assert_eq!(registrar.public_key, server.chain.demo.association.public());
    assert!(registrar.registrar && !registrar.regulator);
}

#[tokio::test]
async fn documents_expire_a_gln_is_named_and_keys_rotate_and_are_revoked() {
    let server = story_server("documents-keys").await;
    let demo = &server.chain.demo;
    let cable = enterprise(&server, who::CABLE_MAKER);
    // Block 6: the bureau records an expired licence and a certificate issued that day, and
    // binds a second key. (A certificate issued after the block's date is refused.)
    let mut profile = cable.profile.clone();
    profile.production_licences[0].valid_until = text("2025-12-31");
    profile.ccc_certificates.push(CertificateEntry {
        number: text("2024010105123457"),
        product: text("PVC-insulated cables, 6 mm²"),
        issued_on: text("2026-01-07"),
        valid_until: text("2031-01-06"),
    });
    // And its party GLN, under its company prefix.
    profile.gln = Some(text("6950123000019"));
    let second = KeyPair::insecure_from_label("test cable second key");
    let third = KeyPair::insecure_from_label("test cable third key");
    server.chain.commit(
        6,
        vec![
            sign(
                &server,
                &demo.bureau,
                100,
                Record::UpdateEnterprise(UpdateEnterprise {
                    enterprise: profile,
                }),
            ),
            sign(
                &server,
                &demo.bureau,
                101,
                Record::BindKey(BindKey {
                    uscc: cable.profile.uscc.clone(),
                    key: second.public(),
                }),
            ),
        ],
    );
    // Block 7: the first key rotates to a third; the bureau revokes the second.
    let rotation = sign(
        &server,
        &cable.key,
        100,
        Record::RotateKey(RotateKey {
            uscc: cable.profile.uscc.clone(),
            old_key: cable.key.public(),
            new_key: third.public(),
        }),
    );
    let revocation = sign(
        &server,
        &demo.bureau,
        102,
        Record::RevokeKey(RevokeKey {
            uscc: cable.profile.uscc.clone(),
            key: second.public(),
            reason: text("The key's holder left the company."),
        }),
    );
    server
        .chain
        .commit(7, vec![rotation.clone(), revocation.clone()]);

    let path = format!("/v1/enterprises/{}", cable.profile.uscc);
    let (view, _) = get_ok::<EnterpriseView>(&server, &path).await;
    assert_eq!(view.computed_at.height, 7);
    assert_eq!(view.gln, Some(text("6950123000019")));
    // The party GLN finds the enterprise, in each form EPCIS and people write it.
    for gln in [
        "6950123000019",
        "urn:epc:id:pgln:6950123.00001",
        "https%3A%2F%2Fid.gs1.org%2F417%2F6950123000019",
    ] {
        let (party, _) = get_ok::<EnterpriseView>(&server, &format!("/v1/parties/{gln}")).await;
        assert_eq!(party.uscc, cable.profile.uscc, "{gln}");
    }
    assert_error(
        &server.get("/v1/parties/6950123000026").await,
        StatusCode::NOT_FOUND,
        "unknown_party",
    );
    // Its sales now name it by the GLN in EPCIS.
    let (document, _) = get_ok::<Value>(&server, &format!("{path}/epcis")).await;
    let sources: Vec<&str> = document["epcisBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["bizStep"] == "shipping")
        .map(|event| event["sourceList"][0]["source"].as_str().unwrap())
        .collect();
    assert!(!sources.is_empty());
    assert!(
        sources
            .iter()
            .all(|source| *source == "urn:epc:id:pgln:6950123.00001"),
        "{sources:?}"
    );
    for bad in ["6950123000018", "urn:epc:id:sgln:6950123.00001.0", "x"] {
        assert_error(
            &server.get(&format!("/v1/parties/{bad}")).await,
            StatusCode::BAD_REQUEST,
            "invalid_gln",
        );
    }
    assert_eq!(view.production_licences[0].validity, Validity::Expired);
    let certificates: Vec<_> = view.ccc_certificates.iter().map(|c| c.validity).collect();
    assert_eq!(certificates, vec![Validity::Valid, Validity::Valid]);
    let keys: Vec<_> = view
        .keys
        .iter()
        .map(|k| {
            (
                k.public_key,
                k.bound_at_height,
                k.status,
                k.revoked_at_height,
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            (cable.key.public(), 1, KeyState::Revoked, Some(7)),
            (second.public(), 6, KeyState::Revoked, Some(7)),
            (third.public(), 7, KeyState::Active, None),
        ]
    );

    // The cable model names the expired licence: the report says so.
    let (report, _) = get_ok::<SupplierReport>(&server, &format!("{path}/report")).await;
    let product = &report.products[0];
    assert_eq!(
        product.production_licence.as_ref().unwrap().validity,
        Validity::Expired
    );
    assert_eq!(
        product.ccc_certificate.as_ref().unwrap().validity,
        Validity::Valid
    );

    // A rotation is not a revocation; the revocation is counted against, with its record.
    let (score, body) = get_ok::<ScoreView>(&server, &format!("{path}/score")).await;
    let keys = &score.components[5];
    assert_eq!(keys.component, "key_revocations");
    assert_eq!((keys.share.met, keys.share.out_of), (2, 3), "{body}");
    assert!(!keys.evidence[0].met);
    let against = keys.evidence[0].record.as_ref().unwrap();
    assert_eq!(against.id.to_hex(), id_of(&server, &revocation));
    assert_eq!((against.height, against.index), (7, 1));
    let rotated = keys
        .evidence
        .iter()
        .find(|e| e.detail.contains("rotated"))
        .unwrap();
    assert!(rotated.met);
    assert_eq!(
        rotated.record.as_ref().unwrap().id.to_hex(),
        id_of(&server, &rotation)
    );
}

#[tokio::test]
async fn bad_and_unknown_enterprises_are_typed_errors() {
    let server = story_server("enterprise-errors").await;
    let cable = uscc_of(&server, who::CABLE_MAKER);
    let wrong_check = format!(
        "{}{}",
        &cable.as_str()[..17],
        if cable.as_str().ends_with('0') {
            '1'
        } else {
            '0'
        }
    );
    for bad in ["not-a-uscc", wrong_check.as_str(), "9142010"] {
        for suffix in ["", "/records", "/report", "/score"] {
            let response = server.get(&format!("/v1/enterprises/{bad}{suffix}")).await;
            assert_error(&response, StatusCode::BAD_REQUEST, "invalid_uscc");
            assert_eq!(response.1["field"], "uscc");
        }
    }
    let stranger = uscc("91110000MA01XYK12");
    for suffix in ["", "/records", "/report", "/score", "/report?format=html"] {
        let response = server
            .get(&format!("/v1/enterprises/{stranger}{suffix}"))
            .await;
        assert_error(&response, StatusCode::NOT_FOUND, "unknown_enterprise");
        assert_eq!(response.1["field"], "uscc");
    }
    // A buyer named by a sale but never enrolled: no registration, but its records are served.
    let buyer = uscc("91420100MA4K7C8Q1");
    let response = server.get(&format!("/v1/enterprises/{buyer}")).await;
    assert_error(&response, StatusCode::NOT_FOUND, "unknown_enterprise");
    let (page, _) =
        get_ok::<EnterpriseRecordsPage>(&server, &format!("/v1/enterprises/{buyer}/records")).await;
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].id.to_hex(), story_id(&server, 5, 0));

    for query in [
        "?verbose=1",
        "/score?weights=mine",
        "/report?format=pdf",
        "/report?format=html&extra=1",
    ] {
        let response = server.get(&format!("/v1/enterprises/{cable}{query}")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_query");
    }
    let response = server
        .post_json(&format!("/v1/enterprises/{cable}"), &Value::Null)
        .await;
    assert_error(
        &response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}

#[tokio::test]
async fn records_page_newest_or_oldest_first() {
    let server = story_server("enterprise-records").await;
    let cable = uscc_of(&server, who::CABLE_MAKER);
    let path = format!("/v1/enterprises/{cable}/records");
    // Enrolment (1:0), model (2:0), commissioning (3:0), sale (4:2); inspections are not the
    // enterprise's records.
    let expected: Vec<(u64, u32)> = vec![(4, 2), (3, 0), (2, 0), (1, 0)];
    let positions = |page: &EnterpriseRecordsPage| -> Vec<(u64, u32)> {
        page.records.iter().map(|r| (r.height, r.index)).collect()
    };

    let (first, body) = get_ok::<EnterpriseRecordsPage>(&server, &format!("{path}?limit=3")).await;
    assert_eq!(body["order"], "newest");
    assert_eq!(positions(&first), expected[..3]);
    assert_eq!(first.next.as_deref(), Some("2-0"));
    assert_eq!(first.records[0].id.to_hex(), story_id(&server, 4, 2));
    let (second, _) =
        get_ok::<EnterpriseRecordsPage>(&server, &format!("{path}?limit=3&after=2-0")).await;
    assert_eq!(positions(&second), expected[3..]);
    assert_eq!(second.next, None);

    let (oldest, _) =
        get_ok::<EnterpriseRecordsPage>(&server, &format!("{path}?order=oldest&limit=2")).await;
    let mut chain_order = expected.clone();
    chain_order.reverse();
    assert_eq!(positions(&oldest), chain_order[..2]);
    let after = oldest.next.unwrap();
    let (rest, _) = get_ok::<EnterpriseRecordsPage>(
        &server,
        &format!("{path}?order=oldest&limit=2&after={after}"),
    )
    .await;
    assert_eq!(positions(&rest), chain_order[2..]);
    assert_eq!(rest.next, None);

    for (query, field) in [
        ("?after=yesterday", Some("after")),
        ("?limit=0", Some("limit")),
        ("?limit=1001", Some("limit")),
        ("?order=sideways", None),
        ("?page=2", None),
    ] {
        let response = server.get(&format!("{path}{query}")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_query");
        if let Some(field) = field {
            assert_eq!(response.1["field"], field, "{query}");
        }
    }
}

#[tokio::test]
async fn supplier_report_of_the_recalled_gas_maker() {
    let server = story_server("report").await;
    let demo = &server.chain.demo;
    let gas = uscc_of(&server, who::GAS_APPLIANCE_MAKER);
    let path = format!("/v1/enterprises/{gas}/report");
    let (report, body) = get_ok::<SupplierReport>(&server, &path).await;
    assert_eq!(report.computed_at.height, 5);
    assert_eq!(
        report.computed_at.block_hash,
        server.chain.store.head().hash
    );
    assert!(report.production_licences.is_empty());
    assert_eq!(report.ccc_certificates[0].validity, Validity::Valid);
    assert_eq!(report.products.len(), 1);
    assert_eq!(report.products[0].gtin, Some(Demo::cooker_gtin()));
    assert_eq!(report.products[0].model_code, Demo::cooker_gtin().into());
    let category = report.products[0].category.as_ref().expect("a category");
    assert_eq!(
        (category.name_zh.as_str(), category.name_en.as_str()),
        ("家用燃气器具", "domestic gas appliances")
    );
    assert_eq!(report.products[0].fields.len(), 2);
    assert!(report.products[0].production_licence.is_none());
    assert_eq!(
        report.products[0]
            .ccc_certificate
            .as_ref()
            .unwrap()
            .validity,
        Validity::Valid
    );

    // Five serialised cookers (the newer commissioning) and the recalled batch.
    assert_eq!(report.batches.len(), 6, "{body}");
    let batch = report
        .batches
        .iter()
        .find(|b| b.code.to_string().ends_with("/10/G2601B"))
        .unwrap();
    assert_eq!(batch.quantity, 200);
    assert_eq!(
        (batch.inspections, batch.non_conformant_inspections),
        (1, 1)
    );
    assert_eq!(batch.shipments, 0);
    assert_eq!(batch.recall, Some(RecallStatus::Open));
    assert_eq!(batch.commissioned.id.to_hex(), story_id(&server, 3, 1));
    let sold: Vec<usize> = report.batches.iter().map(|b| b.shipments).collect();
    assert_eq!(sold.iter().sum::<usize>(), 1, "one cooker sold to a person");

    assert_eq!(report.inspections.len(), 1);
    let inspection = &report.inspections[0];
    assert_eq!(inspection.outcome, Outcome::NonConformant);
    assert_eq!(inspection.inspector.public_key, demo.bureau.public());
    assert!(inspection.inspector.regulator);
    assert!(
        inspection
            .findings
            .as_ref()
            .unwrap()
            .as_str()
            .contains("92 s")
    );
    assert_eq!(inspection.record.id.to_hex(), story_id(&server, 4, 1));

    assert_eq!(report.recalls.len(), 1);
    let recall = &report.recalls[0];
    assert_eq!(recall.status, RecallStatus::Open);
    assert_eq!(recall.record.id.to_hex(), story_id(&server, 5, 1));
    assert_eq!(recall.issued_by.public_key, demo.bureau.public());
    assert!(recall.closed.is_none() && recall.resolution.is_none());

    let completeness = &report.completeness;
    let shares = |s: &suyuan_api::views::Share| (s.met, s.out_of, s.bp);
    assert_eq!(shares(&completeness.codes_inspected), (1, 6, Some(1_666)));
    assert_eq!(shares(&completeness.codes_sold), (1, 6, Some(1_666)));
    assert_eq!(shares(&completeness.fields_filled), (2, 4, Some(5_000)));
    assert_eq!(shares(&completeness.reported_on_time), (3, 3, Some(10_000)));
    let missing: Vec<_> = completeness
        .missing_fields
        .iter()
        .map(|m| (m.field.as_str(), m.record.id.to_hex()))
        .collect();
    assert_eq!(
        missing,
        vec![
            ("record.factory_number", story_id(&server, 3, 2)),
            ("record.factory_number", story_id(&server, 3, 1)),
        ]
    );
    assert!(!report.reads.truncated);
    assert_eq!(report.reads.codes_read, 6);

    // The bureau closes the recall: the report shows who closed it and how.
    let close = sign(
        &server,
        &demo.bureau,
        100,
        Record::CloseRecall(CloseRecall {
            recall: server.chain.story[4][1].id(server.chain.binding()),
            resolution: text("All 200 cookers returned and refitted with a compliant device."),
        }),
    );
    server.chain.commit(6, vec![close.clone()]);
    let (report, _) = get_ok::<SupplierReport>(&server, &path).await;
    let recall = &report.recalls[0];
    assert_eq!(recall.status, RecallStatus::Closed);
    assert_eq!(
        recall.closed.as_ref().unwrap().id.to_hex(),
        id_of(&server, &close)
    );
    assert_eq!(
        recall.closed_by.as_ref().unwrap().public_key,
        demo.bureau.public()
    );
    assert!(
        recall
            .resolution
            .as_ref()
            .unwrap()
            .as_str()
            .starts_with("All 200")
    );
    let batch = report
        .batches
        .iter()
        .find(|b| b.code.to_string().ends_with("/10/G2601B"))
        .unwrap();
    assert_eq!(batch.recall, Some(RecallStatus::Closed));
}

#[tokio::test]
async fn scores_explain_each_component() {
    let server = story_server("score").await;
    let score_of = |index: usize| format!("/v1/enterprises/{}/score", uscc_of(&server, index));
    let names = [
        "completeness",
        "timeliness",
        "sale_coverage",
        "inspection_outcomes",
        "recalls",
        "key_revocations",
    ];

    let (cable, _) = get_ok::<ScoreView>(&server, &score_of(who::CABLE_MAKER)).await;
    assert_eq!(cable.total_bp, Some(10_000));
    assert_eq!(cable.weights, WeightsSource::Default);
    assert_eq!(cable.computed_at.height, 5);
    let listed: Vec<&str> = cable
        .components
        .iter()
        .map(|c| c.component.as_str())
        .collect();
    assert_eq!(listed, names);
    assert!(cable.components.iter().all(|c| c.share.bp == Some(10_000)));

    // The gas maker: two commissionings without a factory number, one of six codes sold, its
    // one inspection failed, one of six codes recalled. With the default weights (20, 15, 15,
    // 25, 15, 10) the weighted sum is 499,985: 4,999, the left-over point to recalls.
    let (gas, body) = get_ok::<ScoreView>(&server, &score_of(who::GAS_APPLIANCE_MAKER)).await;
    assert_eq!(gas.total_bp, Some(4_999), "{body}");
    let parts: Vec<(u64, u64, u32, u32)> = gas
        .components
        .iter()
        .map(|c| (c.share.met, c.share.out_of, c.weight, c.contribution_bp))
        .collect();
    assert_eq!(
        parts,
        vec![
            (2, 4, 20, 1_000),
            (3, 3, 15, 1_500),
            (1, 6, 15, 249),
            (0, 1, 25, 0),
            (5, 6, 15, 1_250),
            (1, 1, 10, 1_000),
        ]
    );
    let outcomes = &gas.components[3];
    assert!(!outcomes.evidence[0].met);
    assert_eq!(
        outcomes.evidence[0].record.as_ref().unwrap().id.to_hex(),
        story_id(&server, 4, 1)
    );
    let recalls = &gas.components[4];
    assert_eq!(recalls.evidence.len(), 6);
    assert!(!recalls.evidence[0].met, "those against come first");
    assert_eq!(
        recalls.evidence[0].record.as_ref().unwrap().id.to_hex(),
        story_id(&server, 5, 1)
    );
    assert_eq!(recalls.evidence_omitted, 0);

    // The distributor commissions nothing: sale coverage, inspections and recalls do not count.
    let (distributor, _) = get_ok::<ScoreView>(&server, &score_of(who::DISTRIBUTOR)).await;
    let counting: Vec<bool> = distributor
        .components
        .iter()
        .map(|c| c.share.bp.is_some())
        .collect();
    assert_eq!(counting, vec![true, true, false, false, false, true]);
    let contributions: Vec<u32> = distributor
        .components
        .iter()
        .map(|c| c.contribution_bp)
        .collect();
    assert_eq!(contributions, vec![4_445, 3_333, 0, 0, 0, 2_222]);
    assert_eq!(distributor.total_bp, Some(10_000));
}

#[tokio::test]
async fn late_and_incomplete_reports_lower_the_score() {
    let server = story_server("late").await;
    let cable = enterprise(&server, who::CABLE_MAKER);
    // Committed in block 6 (2026-01-07 08:00 China time) for production on 2026-01-01, which
    // ended 128 hours before; and without a factory number.
    let late = sign(
        &server,
        &cable.key,
        100,
        cable_commission(&server, "C2512Z", "2026-01-01", None),
    );
    server.chain.commit(6, vec![late.clone()]);
    let path = format!("/v1/enterprises/{}/score", cable.profile.uscc);
    let (score, body) = get_ok::<ScoreView>(&server, &path).await;
    let timeliness = &score.components[1];
    assert_eq!(
        (timeliness.share.met, timeliness.share.out_of),
        (2, 3),
        "{body}"
    );
    assert!(!timeliness.evidence[0].met);
    assert!(timeliness.evidence[0].detail.contains("128 h"), "{body}");
    assert_eq!(
        timeliness.evidence[0].record.as_ref().unwrap().id.to_hex(),
        id_of(&server, &late)
    );
    let shares: Vec<(u64, u64)> = score
        .components
        .iter()
        .map(|c| (c.share.met, c.share.out_of))
        .collect();
    assert_eq!(shares, vec![(3, 4), (2, 3), (1, 2), (1, 1), (2, 2), (1, 1)]);
    // 7500×20 + 6666×15 + 5000×15 + 10000×25 + 10000×15 + 10000×10 = 824,990 over 100.
    assert_eq!(score.total_bp, Some(8_249));
    let sum: u32 = score.components.iter().map(|c| c.contribution_bp).sum();
    assert_eq!(Some(sum), score.total_bp);
}

#[tokio::test]
async fn report_html_is_self_contained_and_escapes_hostile_record_text() {
    let server = story_server("report-html").await;
    let demo = &server.chain.demo;
    let gas = enterprise(&server, who::GAS_APPLIANCE_MAKER);
    let lab = enterprise(&server, who::LAB);
    let hostile_model = sign(
        &server,
        &gas.key,
        100,
        Record::RegisterProduct(ProductModel {
            uscc: gas.profile.uscc.clone(),
            model_code: suyuan_ledger::demo::gtin("0695098765002").into(),
            name: text("<script>alert(\"pwned\")</script>"),
            product_type: text("gas appliances"),
            specification: text("</td><img src=x onerror=alert(1)>"),
            model: text("X'1"),
            standards: vec![text("GB 16410-2020")],
            warranty_months: 12,
            production_licence: None,
            ccc_certificate: gas
                .profile
                .ccc_certificates
                .first()
                .map(|c| c.number.clone()),
            category: Some(text("gas_appliances")),
            fields: suyuan_ledger::demo::fields(&[
                ("gas_type", "<b>natural gas</b>"),
                ("rated_heat_input", "4 kW"),
            ]),
        }),
    );
    let hostile_inspection = sign(
        &server,
        &lab.key,
        100,
        Record::Inspect(Inspection {
            subject: Subject::Model(Demo::cooker_gtin().into()),
            outcome: Outcome::Conformant,
            standards: vec![text("GB 16410-2020")],
            inspected_on: text("2026-01-05"),
            report_number: text("<b onmouseover=\"steal()\">R-1</b>"),
            document_sha256: Hash32([5; 32]),
            findings: Some(text("Tom & Jerry's <iframe src=//evil.example>")),
            accreditation: None,
        }),
    );
    server
        .chain
        .commit(6, vec![hostile_model, hostile_inspection]);
    let path = format!("/v1/enterprises/{}/report", gas.profile.uscc);

    for (query, accept) in [
        ("?format=html", None),
        (
            "",
            Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ),
    ] {
        let (status, headers, page) = get_text(&server, &format!("{path}{query}"), accept).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("default-src 'none'")
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("Ningbo Anran Gas Appliance Co., Ltd."));
        assert!(page.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"));
        assert!(page.contains("&lt;/td&gt;&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("家用燃气器具 domestic gas appliances"));
        assert!(page.contains("gas_type: &lt;b&gt;natural gas&lt;/b&gt;"));
        assert!(page.contains("&lt;b onmouseover=&quot;steal()&quot;&gt;R-1&lt;/b&gt;"));
        assert!(page.contains("Tom &amp; Jerry&#39;s &lt;iframe"));
        let lower = page.to_ascii_lowercase();
        for markup in [
            "<script", "<img", "<iframe", "<b ", "<link", "src=\"", "url(",
        ] {
            assert!(!lower.contains(markup), "{markup} in the page");
        }
        // What an officer decides from is on the page.
        assert!(page.contains("non-conformant"));
        assert!(page.contains("Recalls: 1 open, 0 closed"));
        assert!(page.contains(&demo.genesis.registrars[0].name.to_string()));
    }

    // JSON when asked for, whatever the Accept header says.
    let (status, headers, body) =
        get_text(&server, &format!("{path}?format=json"), Some("text/html")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    let report: SupplierReport = serde_json::from_str(&body).unwrap();
    assert_eq!(report.products.len(), 2);
    assert_eq!(
        report.products[1].name.as_str(),
        "<script>alert(\"pwned\")</script>"
    );
    let (_, headers, _) = get_text(&server, &path, None).await;
    assert_eq!(headers["content-type"], "application/json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_and_scores_hold_at_one_block_while_blocks_commit() {
    const LAST: u64 = 30;
    let server = story_server("one-block").await;
    let cable = enterprise(&server, who::CABLE_MAKER);
    let blocks: Vec<Vec<Envelope>> = (6..=LAST)
        .map(|height| {
            let record =
                cable_commission(&server, &format!("L{height}"), "2026-01-02", Some("WH-L3"));
            vec![sign(&server, &cable.key, 1_000 + height, record)]
        })
        .collect();
    let score_path = format!("/v1/enterprises/{}/score", cable.profile.uscc);
    let report_path = format!("/v1/enterprises/{}/report", cable.profile.uscc);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for (height, envelopes) in (6..=LAST).zip(blocks) {
                    server.chain.commit(height, envelopes);
                }
            });
            runtime.block_on(async {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                let mut heights = Vec::new();
                while heights.last() != Some(&LAST) {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "blocks stopped: {heights:?}"
                    );
                    let (score, body) = get_ok::<ScoreView>(&server, &score_path).await;
                    let height = score.computed_at.height;
                    // Commissionings in blocks 3 and 6..=height; fields: the model, each
                    // commissioning and the one sale.
                    let lots = 1 + height.saturating_sub(5);
                    assert_eq!(score.components[2].share.out_of, lots, "{body}");
                    assert_eq!(score.components[0].share.out_of, lots + 2, "{body}");
                    let stored = server.chain.store.header(height).unwrap().unwrap();
                    assert_eq!(score.computed_at.block_hash, stored.hash());
                    heights.push(height);
                    let (report, _) = get_ok::<SupplierReport>(&server, &report_path).await;
                    let height = report.computed_at.height;
                    assert_eq!(report.batches.len() as u64, 1 + height.saturating_sub(5));
                    assert!(
                        report
                            .batches
                            .iter()
                            .all(|b| b.commissioned.height <= height)
                    );
                    heights.push(height);
                }
                assert!(heights.windows(2).all(|w| w[0] <= w[1]), "{heights:?}");
            });
        });
    });
}

#[tokio::test]
async fn scores_rank_an_associations_members() {
    let server = story_server("scores").await;
    let demo = &server.chain.demo;
    let lab = uscc_of(&server, who::LAB);
    let cable = uscc_of(&server, who::CABLE_MAKER);
    let distributor = uscc_of(&server, who::DISTRIBUTOR);
    let gas = uscc_of(&server, who::GAS_APPLIANCE_MAKER);
    let ranked = |ranking: &ScoreRanking| -> Vec<(usize, Uscc, Option<u32>)> {
        ranking
            .ranking
            .iter()
            .map(|r| (r.rank, r.uscc.clone(), r.total_bp))
            .collect()
    };

    // Everyone: three clean records share the first rank (in USCC order), the gas maker last.
    let (all, body) = get_ok::<ScoreRanking>(&server, "/v1/scores").await;
    assert_eq!(all.computed_at.height, 5);
    assert_eq!(
        (all.members, all.truncated, all.registrar.is_none()),
        (4, false, true)
    );
    assert_eq!(
        ranked(&all),
        vec![
            (1, lab.clone(), Some(10_000)),
            (1, cable.clone(), Some(10_000)),
            (1, distributor.clone(), Some(10_000)),
            (4, gas.clone(), Some(4_999)),
        ],
        "{body}"
    );
    assert_eq!(all.next_offset, None);
    // The same score as the enterprise's own endpoint.
    let (gas_score, _) =
        get_ok::<ScoreView>(&server, &format!("/v1/enterprises/{gas}/score")).await;
    assert_eq!(gas_score.total_bp, all.ranking[3].total_bp);

    // The association's members, by name; the bureau's, by key.
    let (association, _) = get_ok::<ScoreRanking>(
        &server,
        "/v1/scores?registrar=China%20Electrical%20Equipment%20Industry%20Association",
    )
    .await;
    assert_eq!(
        ranked(&association),
        vec![(1, distributor.clone(), Some(10_000))]
    );
    let registrar = association.registrar.unwrap();
    assert_eq!(registrar.public_keys, vec![demo.association.public()]);
    let bureau = demo.bureau.public();
    let (by_key, _) =
        get_ok::<ScoreRanking>(&server, &format!("/v1/scores?registrar={bureau}")).await;
    assert_eq!(
        ranked(&by_key),
        vec![
            (1, lab.clone(), Some(10_000)),
            (1, cable.clone(), Some(10_000)),
            (3, gas.clone(), Some(4_999)),
        ]
    );
    assert!(by_key.ranking.iter().all(|r| r.registered_by == bureau));

    // Pages of the same ranking.
    let (first, _) = get_ok::<ScoreRanking>(&server, "/v1/scores?limit=2").await;
    assert_eq!(ranked(&first), ranked(&all)[..2]);
    assert_eq!(first.next_offset, Some(2));
    let (second, _) = get_ok::<ScoreRanking>(&server, "/v1/scores?limit=2&offset=2").await;
    assert_eq!(ranked(&second), ranked(&all)[2..]);
    assert_eq!(second.next_offset, None);
    let (past, _) = get_ok::<ScoreRanking>(&server, "/v1/scores?offset=9").await;
    assert!(past.ranking.is_empty() && past.next_offset.is_none());

    let unknown = server.get("/v1/scores?registrar=Nobody").await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "unknown_registrar");
    assert_eq!(unknown.1["field"], "registrar");
    let not_a_registrar = server
        .get(&format!(
            "/v1/scores?registrar={}",
            enterprise(&server, who::LAB).key.public()
        ))
        .await;
    assert_error(&not_a_registrar, StatusCode::NOT_FOUND, "unknown_registrar");
    let empty = server.get("/v1/scores?registrar=").await;
    assert_error(&empty, StatusCode::BAD_REQUEST, "invalid_query");
    assert_eq!(empty.1["field"], "registrar");
    for query in ["?limit=0", "?limit=5000", "?offset=-1", "?sort=name"] {
        let response = server.get(&format!("/v1/scores{query}")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_query");
    }
}

#[tokio::test]
async fn a_transfer_between_registrars_shows_in_the_registration_and_the_amendments() {
    let server = story_server("transfer").await;
    let demo = &server.chain.demo;
    let distributor = uscc_of(&server, who::DISTRIBUTOR);
    // Block 6: the association, which enrolled the distributor, offers it to the bureau.
    server.chain.commit(
        6,
        vec![sign(
            &server,
            &demo.association,
            100,
            Record::OfferTransfer(OfferTransfer {
                uscc: distributor.clone(),
                to: demo.bureau.public(),
            }),
        )],
    );
    let path = format!("/v1/enterprises/{distributor}");
    let (view, _) = get_ok::<EnterpriseView>(&server, &path).await;
    let pending = view.registration.pending_transfer.as_ref().unwrap();
    assert_eq!(
        (
            pending.from.public_key,
            pending.to.public_key,
            pending.offered_at_height
        ),
        (demo.association.public(), demo.bureau.public(), 6)
    );
    assert_eq!(
        view.registration.registrar.public_key,
        demo.association.public()
    );
    // Block 7: the bureau accepts.
    let acceptance = sign(
        &server,
        &demo.bureau,
        100,
        Record::AcceptTransfer(AcceptTransfer {
            uscc: distributor.clone(),
            from: demo.association.public(),
        }),
    );
    server.chain.commit(7, vec![acceptance.clone()]);
    let (view, _) = get_ok::<EnterpriseView>(&server, &path).await;
    assert_eq!(view.registration.registrar.public_key, demo.bureau.public());
    assert_eq!(
        view.registration.registered_by.public_key,
        demo.association.public()
    );
    assert_eq!(view.registration.pending_transfer, None);
    assert_eq!(view.registration.amendments, 3);

    // The history, two at a time.
    let (first, _) = get_ok::<AmendmentsPage>(&server, &format!("{path}/amendments?limit=2")).await;
    assert_eq!(first.next, Some(2));
    let (second, _) =
        get_ok::<AmendmentsPage>(&server, &format!("{path}/amendments?after=2&limit=2")).await;
    assert_eq!(second.next, None);
    let history: Vec<_> = first
        .amendments
        .iter()
        .chain(&second.amendments)
        .map(|a| {
            (
                a.n,
                serde_json::to_value(a.kind).unwrap(),
                a.by.public_key,
                a.height,
            )
        })
        .collect();
    assert_eq!(
        history,
        vec![
            (0, "enrolment".into(), demo.association.public(), 1),
            (1, "transfer_offered".into(), demo.association.public(), 6),
            (2, "transfer_accepted".into(), demo.bureau.public(), 7),
        ]
    );
    assert_eq!(
        second.amendments[0].id.to_hex(),
        id_of(&server, &acceptance)
    );

    // The distributor now ranks among the bureau's members, not the association's.
    let ranked = |ranking: &ScoreRanking| -> bool {
        ranking
            .ranking
            .iter()
            .any(|member| member.uscc == distributor)
    };
    let (bureau, _) = get_ok::<ScoreRanking>(
        &server,
        &format!("/v1/scores?registrar={}", demo.bureau.public()),
    )
    .await;
    assert!(ranked(&bureau));
    let (association, _) = get_ok::<ScoreRanking>(
        &server,
        &format!("/v1/scores?registrar={}", demo.association.public()),
    )
    .await;
    assert!(!ranked(&association));

    let stranger = uscc("91110000MA01XYK12");
    let response = server
        .get(&format!("/v1/enterprises/{stranger}/amendments"))
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, "unknown_enterprise");
    let response = server.get(&format!("{path}/amendments?limit=0")).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_query");
}
