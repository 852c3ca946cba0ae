//! Dishonest enterprises and registrars against a running consortium: four `suyuan run`
//! processes on loopback, records signed and submitted with `suyuan submit` as a client would.
//!
//! Each attack issue 15 found is tried through the API and must be refused with its rule, or
//! change nothing a buyer reads:
//! - code squatting: a producer registers a GTIN under a competitor's GS1 company prefix;
//! - registrar scope: a registrar amends, or attests a prefix to, an enterprise another
//!   registrar enrolled;
//! - backdating: a commissioning dated outside the consortium's window;
//! - laundering: a producer with a failed inspection floods identical re-registrations of its
//!   model, and its score and report do not move;
//! - the catalogue: a model registered without its category, without a field its category
//!   requires, or moved to another category;
//! - buyer privacy: a seller reuses a buyer commitment (a constant salt), which would make the
//!   commitment a fingerprint linking the person's purchases;
//! - logistic units: a pallet under a competitor's SSCC prefix, packing stock one does not
//!   hold, shipping units that sit on a pallet, and unpacking a pallet someone else holds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use suyuan_ledger::catalogue::FieldId;
use suyuan_ledger::codes::prefix::IdPrefix;
use suyuan_ledger::demo::{Demo, factory_report, gtin, sscc, uscc, who};
use suyuan_ledger::record::{
    AttestPrefix, Commissioning, EnterpriseProfile, Inspection, Items, Outcome, Pack, Party,
    PersonalData, ProductModel, Record, RegisterEnterprise, Shipment, ShipmentLine, Subject,
    Unpack, UpdateEnterprise,
};
use suyuan_ledger::state::StateReadExt;
use suyuan_ledger::text::Date;
use suyuan_tests::{Testnet, http_get, suyuan_binary};

/// How long a submitted record may take to commit, on a loaded machine.
const COMMIT_SECS: &str = "60";

/// Bound on one HTTP request to a node.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How many identical re-registrations the launderer floods.
const FLOOD: u64 = 40;

/// The testnet, where its record files go, and how many records were written (each record's
/// number is its nonce, so no two transactions are the same).
struct Attack {
    testnet: Testnet,
    files: PathBuf,
    records: u32,
}

/// What `suyuan submit` said: accepted (and committed) or refused with a rule.
#[derive(Debug)]
enum Verdict {
    Committed,
    Refused { rule: String },
}

impl Attack {
    fn start() -> Attack {
        let testnet = Testnet::init("dishonest", 4, 3);
        let files = testnet.dir().with_extension("records");
        let _ = std::fs::remove_dir_all(&files);
        std::fs::create_dir_all(&files).unwrap();
        testnet.start(&[]);
        Attack {
            testnet,
            files,
            records: 0,
        }
    }

    /// A new key file for an enterprise.
    fn keygen(&self, name: &str) -> (PathBuf, String) {
        let path = self.files.join(format!("{name}.key"));
        let output = Command::new(suyuan_binary())
            .args(["keygen", "--out"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let public = String::from_utf8(output.stdout).unwrap().trim().to_owned();
        (path, public)
    }

    /// Signs `record` with `key`, submits it through validator `node` and waits for the
    /// verdict.
    fn submit(&mut self, node: usize, key: &Path, record: &Record) -> Verdict {
        self.records += 1;
        let path = self.files.join(format!("record-{}.json", self.records));
        std::fs::write(&path, serde_json::to_vec_pretty(record).unwrap()).unwrap();
        let output = Command::new(suyuan_binary())
            .arg("submit")
            .args(["--api", &self.testnet.api_url(node)])
            .arg("--key")
            .arg(key)
            .arg("--record")
            .arg(&path)
            .args(["--nonce", &self.records.to_string(), "--json"])
            .args(["--wait", "--timeout-secs", COMMIT_SECS])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        match output.status.code() {
            Some(0) => Verdict::Committed,
            Some(1) => {
                let printed: Value = serde_json::from_str(&stdout)
                    .unwrap_or_else(|e| panic!("a refusal prints JSON ({e}): {stdout}"));
                let rule = printed["rule"]
                    .as_str()
                    .or_else(|| printed["error"]["rule"].as_str())
                    .unwrap_or_else(|| panic!("a refusal names its rule: {printed}"))
                    .to_owned();
                Verdict::Refused { rule }
            }
            _ => panic!(
                "suyuan submit failed ({}):\n{stdout}{}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr),
                self.testnet.log_tails(20)
            ),
        }
    }

    fn committed(&mut self, node: usize, key: &Path, record: &Record) {
        match self.submit(node, key, record) {
            Verdict::Committed => {}
            refused => panic!("{record:?} was refused: {refused:?}"),
        }
    }

    fn refused(&mut self, node: usize, key: &Path, record: &Record, expected: &str) {
        match self.submit(node, key, record) {
            Verdict::Refused { rule } if rule == expected => {}
            other => panic!("{record:?}: expected refusal {expected}, got {other:?}"),
        }
    }

    fn get(&self, node: usize, path: &str) -> Value {
        let url = self.testnet.api_url(node);
        let response = http_get(&url, path, HTTP_TIMEOUT).unwrap();
        assert_eq!(response.status, 200, "GET {path}: {}", response.text());
        serde_json::from_slice(&response.body).unwrap()
    }
}

impl Drop for Attack {
    fn drop(&mut self) {
        // The testnet stops its nodes and removes its directory itself.
        let _ = std::fs::remove_dir_all(&self.files);
    }
}

fn profile(body: &str, name: &str) -> EnterpriseProfile {
    let mut profile = Demo::new(4, 7_100).enterprises[who::CABLE_MAKER]
        .profile
        .clone();
    profile.uscc = uscc(body);
    profile.name = name.parse().unwrap();
    profile
}

fn model(owner: &EnterpriseProfile, gtin_body: &str) -> Record {
    let mut model: ProductModel = Demo::new(4, 7_100)
        .story_state()
        .model(&Demo::cable_gtin().into())
        .unwrap()
        .expect("the demo registers the cable model")
        .model;
    model.uscc = owner.uscc.clone();
    model.model_code = gtin(gtin_body).into();
    Record::RegisterProduct(model)
}

#[test]
fn dishonest_parties_are_refused_or_change_nothing_on_a_running_consortium() {
    let mut attack = Attack::start();
    let bureau = attack.testnet.key_path("bureau");
    let association = attack.testnet.key_path("association");
    let (squatter_key, squatter_public) = attack.keygen("squatter");
    let (victim_key, victim_public) = attack.keygen("victim");
    let squatter = profile("91420100MA4Q00001", "Squatting Cable Co., Ltd.");
    let victim = profile("91420100MA4Q00002", "Rightful Cable Co., Ltd.");
    for (enterprise, public, prefix) in [
        (&squatter, &squatter_public, "gs1:6951001"),
        (&victim, &victim_public, "gs1:6951002"),
    ] {
        let enrol = Record::RegisterEnterprise(RegisterEnterprise {
            enterprise: enterprise.clone(),
            keys: vec![public.parse().unwrap()],
            prefixes: vec![prefix.parse::<IdPrefix>().unwrap()],
        });
        attack.committed(0, &bureau, &enrol);
    }

    // Squatting: the victim's GTIN, registered first by the squatter, through another node.
    let contested = model(&squatter, "0695100200001");
    attack.refused(1, &squatter_key, &contested, "code_under_others_prefix");
    let rightful = model(&victim, "0695100200001");
    attack.committed(2, &victim_key, &rightful);
    let report = attack.get(3, &format!("/v1/enterprises/{}/report", victim.uscc));
    assert_eq!(report["history"]["models"], 1, "{report}");

    // Registrar scope: the association did not enrol the squatter.
    let mut renamed = squatter.clone();
    renamed.name = "Renamed by another registrar".parse().unwrap();
    let update = Record::UpdateEnterprise(UpdateEnterprise {
        enterprise: renamed,
    });
    attack.refused(0, &association, &update, "not_enterprises_registrar");
    let attest = Record::AttestPrefix(AttestPrefix {
        uscc: squatter.uscc.clone(),
        prefix: "gs1:6951003".parse().unwrap(),
        from: None,
    });
    attack.refused(1, &association, &attest, "not_enterprises_registrar");
    // Nor may the squatter's own registrar give it a prefix under the victim's.
    let under = Record::AttestPrefix(AttestPrefix {
        uscc: squatter.uscc.clone(),
        prefix: "gs1:69510021".parse().unwrap(),
        from: None,
    });
    attack.refused(2, &bureau, &under, "prefix_under_held");

    // Backdating: its own model, commissioned 400 days ago.
    let own = model(&squatter, "0695100100001");
    attack.committed(3, &squatter_key, &own);
    let Record::RegisterProduct(own_model) = &own else {
        unreachable!()
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let commission = |age_days: u64, lot: &str| {
        Record::Commission(Commissioning {
            uscc: squatter.uscc.clone(),
            model_code: own_model.model_code.clone(),
            items: Items::Batch {
                code: format!("01/{}/10/{lot}", own_model.model_code)
                    .parse()
                    .unwrap(),
                quantity: 100,
            },
            production_date: Date::from_unix_ms_china(now_ms - age_days * 86_400_000),
            factory_number: None,
            inspection_report: factory_report("QA-1", "Squatting Cable QA"),
        })
    };
    attack.refused(0, &squatter_key, &commission(400, "OLD"), "too_old");
    attack.committed(0, &squatter_key, &commission(1, "NEW"));

    // Laundering: a failed inspection, then a flood of identical re-registrations.
    let inspection = Record::Inspect(Inspection {
        subject: Subject::Model(own_model.model_code.clone()),
        outcome: Outcome::NonConformant,
        standards: vec!["GB/T 5023.3-2008".parse().unwrap()],
        inspected_on: Date::from_unix_ms_china(now_ms),
        report_number: "HBAMR-2026-0099".parse().unwrap(),
        document_sha256: Default::default(),
        findings: Some("Conductor resistance above the limit.".parse().unwrap()),
        accreditation: None,
    });
    attack.committed(1, &bureau, &inspection);
    let score_path = format!("/v1/enterprises/{}/score", squatter.uscc);
    let report_path = format!("/v1/enterprises/{}/report", squatter.uscc);
    let score_before = attack.get(2, &score_path);
    let report_before = attack.get(2, &report_path);
    assert_eq!(
        report_before["history"]["failed_inspections"], 1,
        "{report_before}"
    );
    for n in 0..FLOOD {
        attack.committed(usize::try_from(n % 4).unwrap(), &squatter_key, &own);
    }
    for node in 0..4 {
        let score = attack.get(node, &score_path);
        let report = attack.get(node, &report_path);
        assert_eq!(score["total_bp"], score_before["total_bp"], "node {node}");
        assert_eq!(
            score["components"], score_before["components"],
            "node {node}"
        );
        assert_eq!(report["history"], report_before["history"], "node {node}");
    }
    // The catalogue: every model names its category and the fields that category requires,
    // and a registration never moves a model to another category.
    let with_model = |edit: &dyn Fn(&mut ProductModel)| {
        let mut model = own_model.clone();
        edit(&mut model);
        Record::RegisterProduct(model)
    };
    let uncategorised = with_model(&|model: &mut ProductModel| {
        model.model_code = gtin("0695100100002").into();
        model.category = None;
        model.fields.clear();
    });
    attack.refused(2, &squatter_key, &uncategorised, "uncategorised_model");
    let fieldless = with_model(&|model: &mut ProductModel| {
        model.model_code = gtin("0695100100003").into();
        model
            .fields
            .remove(&"rated_voltage".parse::<FieldId>().unwrap());
    });
    attack.refused(3, &squatter_key, &fieldless, "missing_field");
    let moved = with_model(&|model: &mut ProductModel| {
        model.category = Some("gas_appliances".parse().unwrap());
        model.fields = suyuan_ledger::demo::fields(&[
            ("gas_type", "natural gas 12T"),
            ("rated_heat_input", "2 × 4.2 kW"),
        ]);
    });
    attack.refused(0, &squatter_key, &moved, "category_changed");
    let models = attack.get(1, &format!("/v1/enterprises/{}/report", squatter.uscc));
    assert_eq!(
        models["history"], report_before["history"],
        "refused registrations change no figure: {models}"
    );

    // Buyer privacy: a second sale under the same commitment is refused, on every node's
    // view, whichever node it is sent through.
    let buyer = PersonalData {
        name: "张三".to_owned(),
        address: "武汉市洪山区珞喻路 1 号".to_owned(),
        contact: "+86 27 0000 0000".to_owned(),
    };
    let fresh = buyer.commit_fresh();
    let sale = |commitment, order: &str| {
        Record::Ship(Shipment {
            seller: squatter.uscc.clone(),
            buyer: Party::Person {
                commitment,
                data_reference: order.parse().unwrap(),
            },
            sold_at_ms: now_ms,
            lines: vec![ShipmentLine {
                code: format!("01/{}/10/NEW", own_model.model_code)
                    .parse()
                    .unwrap(),
                quantity: 1,
            }],
            order_reference: Some(order.parse().unwrap()),
        })
    };
    attack.committed(1, &squatter_key, &sale(fresh.commitment, "SO-1"));
    attack.refused(
        2,
        &squatter_key,
        &sale(fresh.commitment, "SO-2"),
        "commitment_reused",
    );
    attack.committed(
        3,
        &squatter_key,
        &sale(buyer.commit_fresh().commitment, "SO-3"),
    );
    let lot = format!("01/{}/10/NEW", own_model.model_code);
    let product = attack.get(0, &format!("/v1/products/{}", lot.replace('/', "%2F")));
    let text = product.to_string();
    assert!(
        !text.contains("张三") && !text.contains("珞喻路"),
        "a person's data never reaches a read: {text}"
    );

    // Logistic units: the squatter holds 98 units of its lot after the two sales.
    let lot_code = || lot.parse::<suyuan_ledger::record::TraceCode>().unwrap();
    let pack = |unit: &suyuan_ledger::record::UnitCode, quantity: u64| {
        Record::Pack(Pack {
            uscc: squatter.uscc.clone(),
            sscc: unit.clone(),
            contents: vec![ShipmentLine {
                code: lot_code(),
                quantity,
            }],
            packed_at_ms: now_ms,
        })
    };
    let unpack = |holder: &EnterpriseProfile, unit: &suyuan_ledger::record::UnitCode| {
        Record::Unpack(Unpack {
            uscc: holder.uscc.clone(),
            sscc: unit.clone(),
            unpacked_at_ms: now_ms,
        })
    };
    let victims_pallet = sscc("06951002000000001");
    attack.refused(
        0,
        &squatter_key,
        &pack(&victims_pallet, 10),
        "code_under_others_prefix",
    );
    let pallet = sscc("06951001000000001");
    attack.refused(1, &squatter_key, &pack(&pallet, 99), "insufficient_holding");
    attack.committed(2, &squatter_key, &pack(&pallet, 50));
    attack.refused(3, &victim_key, &unpack(&victim, &pallet), "not_unit_holder");
    let ship_to_victim = |code: suyuan_ledger::record::TraceCode, quantity: u64| {
        Record::Ship(Shipment {
            seller: squatter.uscc.clone(),
            buyer: Party::enterprise(&victim),
            sold_at_ms: now_ms,
            lines: vec![ShipmentLine { code, quantity }],
            order_reference: Some("SO-4".parse().unwrap()),
        })
    };
    attack.refused(
        0,
        &squatter_key,
        &ship_to_victim(lot_code(), 49),
        "code_packed",
    );
    attack.committed(
        1,
        &squatter_key,
        &ship_to_victim(pallet.as_code().clone(), 1),
    );
    attack.refused(
        2,
        &squatter_key,
        &unpack(&squatter, &pallet),
        "not_unit_holder",
    );
    let path = format!("/v1/products/{}", pallet.to_string().replace('/', "%2F"));
    for node in 0..4 {
        let view = attack.get(node, &path);
        assert_eq!(
            view["unit"]["holder"],
            victim.uscc.to_string(),
            "node {node}: {view}"
        );
    }
    attack.committed(3, &victim_key, &unpack(&victim, &pallet));
    let view = attack.get(0, &path);
    assert!(view["unit"].is_null(), "an unpacked unit is gone: {view}");
}
