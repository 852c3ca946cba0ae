//! Logistic units and batches in the product view, over HTTP on a real store: a pallet's view
//! shows its holder and contents, a packed code's view the unit it is in, and an item's view
//! its batch and the batch's recall.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::Server;
use suyuan_api::types::{ProductView, UnitLineView};
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, factory_report, who};
use suyuan_ledger::record::{Commissioning, Items, Record, Subject, TraceCode};
use suyuan_ledger::tx::{Envelope, Payload};

async fn product(server: &Server, code: &TraceCode) -> ProductView {
    let path = format!("/v1/products/{}", support::encode(&code.to_string()));
    let (status, body): (StatusCode, Value) = server.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_value(body).unwrap()
}

fn commit(server: &Server, signed: Vec<(&KeyPair, Record)>) {
    let envelopes = signed
        .into_iter()
        .enumerate()
        .map(|(n, (key, record))| {
            let payload = Payload {
                nonce: 900 + n as u64,
                record,
                event: None,
            };
            Envelope::sign(server.chain.binding(), &payload, key)
        })
        .collect();
    let height = server.chain.store.head().height + 1;
    server.chain.commit(height, envelopes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pallet_shows_its_contents_and_holder_and_an_item_its_batch_recall() {
    let server = Server::start("aggregation").await;
    server.chain.commit(5, server.chain.story[4].clone());
    let demo: &Demo = &server.chain.demo;
    let cable = &demo.enterprises[who::CABLE_MAKER];
    let gas = &demo.enterprises[who::GAS_APPLIANCE_MAKER];
    let distributor = &demo.enterprises[who::DISTRIBUTOR];
    let cable_lot: TraceCode = format!("01/{}/10/C2601A", Demo::cable_gtin())
        .parse()
        .unwrap();
    let cooker_lot: TraceCode = format!("01/{}/10/G2601B", Demo::cooker_gtin())
        .parse()
        .unwrap();
    let item = TraceCode::Item {
        gtin: Demo::cooker_gtin(),
        serial: "G26SN00090".parse().unwrap(),
    };
    // The dev story's logistics block, in stages: the cable maker packs its lot on the pallet
    // and ships it to the distributor, which unpacks it at the end of this test.
    let logistics = demo.logistics();
    let pallet = Demo::pallet();
    let height = server.chain.store.head().height + 1;
    server.chain.commit(height, logistics[..2].to_vec());
    commit(
        &server,
        vec![(
            &gas.key,
            Record::Commission(Commissioning {
                uscc: gas.profile.uscc.clone(),
                model_code: Demo::cooker_gtin().into(),
                items: Items::Serialised {
                    codes: vec![item.clone()],
                    batch: Some(cooker_lot.clone()),
                },
                production_date: "2026-01-02".parse().unwrap(),
                factory_number: None,
                inspection_report: factory_report("NB-FI-2601-005", "QA"),
            }),
        )],
    );

    let view = product(&server, pallet.as_code()).await;
    let unit = view.unit.expect("the pallet is packed");
    assert_eq!(unit.holder, distributor.profile.uscc);
    assert_eq!(unit.packer, cable.profile.uscc);
    assert_eq!(
        unit.contents,
        vec![UnitLineView {
            code: cable_lot.clone(),
            quantity: 100
        }]
    );
    assert_eq!((unit.depth, unit.lines, unit.parent), (1, 1, None));
    let kinds: Vec<&str> = view
        .history
        .iter()
        .map(|tx| tx.payload.record.type_name())
        .collect();
    assert_eq!(kinds, ["pack", "ship"]);
    let lot = product(&server, &cable_lot).await;
    assert_eq!(
        lot.packed_in,
        vec![UnitLineView {
            code: pallet.as_code().clone(),
            quantity: 100
        }]
    );
    assert!(lot.unit.is_none() && lot.batch.is_none());

    // The item names its batch; the story's open recall of the batch covers it.
    let view = product(&server, &item).await;
    assert_eq!(view.batch, Some(cooker_lot.clone()));
    assert_eq!(view.recalls.len(), 1, "{:?}", view.recalls);
    assert_eq!(view.recalls[0].subject, Subject::Code(cooker_lot.clone()));
    // And the batch's history lists the commissioning of its items.
    let batch = product(&server, &cooker_lot).await;
    let latest = batch.latest.expect("the batch has records");
    assert_eq!(latest.payload.record.type_name(), "commission");

    // The distributor unpacks: the pallet's view keeps its history and shows no unit.
    let height = server.chain.store.head().height + 1;
    server.chain.commit(height, vec![logistics[2].clone()]);
    let view = product(&server, pallet.as_code()).await;
    assert!(view.unit.is_none());
    assert_eq!(view.history.len(), 3);
    assert!(product(&server, &cable_lot).await.packed_in.is_empty());
}
