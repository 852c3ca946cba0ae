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
//!   hold, shipping units that sit on a pallet, and unpacking a pallet someone else holds;
//! - model squatting beyond GS1: a producer registers models under a competitor's Ecode and
//!   Handle prefixes (or under a Handle prefix below the competitor's), or has its registrar
//!   attest it a prefix below or above the competitor's;
//! - code hijacking: a producer links an alias under a competitor's prefix to its own lot,
//!   links to a competitor's lot, commissions a competitor's alias, or cites a CCC certificate
//!   it does not hold, so that a scan of the competitor's code would show its product;
//! - false sampling: an inspection body fails a competitor's product sampled in a market,
//!   citing an accreditation it does not hold, one whose scope does not cover the product, one
//!   expired, or none at all, and the producer's score, report and listed inspections do not
//!   move.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use suyuan_ledger::catalogue::FieldId;
use suyuan_ledger::codes::model::ModelCode;
use suyuan_ledger::codes::prefix::IdPrefix;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::demo::{Demo, factory_report, gtin, sscc, uscc, who};
use suyuan_ledger::record::{
    AccreditationEntry, AttestPrefix, Commissioning, EnterpriseProfile, Inspection, Items,
    LinkCodes, Outcome, Pack, Party, PersonalData, ProductModel, Record, RegisterEnterprise,
    SampledProduct, Shipment, ShipmentLine, Subject, TraceCode, Unpack, UpdateEnterprise,
};
use suyuan_ledger::state::StateReadExt;
use suyuan_ledger::text::Date;
use suyuan_tests::{HttpResponse, Testnet, http_get, suyuan_binary};

/// How long a submitted record may take to commit, and every validator to apply it, on a
/// loaded machine.
const COMMIT_SECS: u64 = 60;

/// Bound on one HTTP request to a node.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How many identical re-registrations the launderer floods.
const FLOOD: u64 = 40;

/// A day in Unix milliseconds.
const DAY_MS: i64 = 86_400_000;

/// The region of every enterprise the test enrols (Wuhan), for the inspections listing.
const REGION: &str = "420100";

/// The testnet, where its record files go, and how many records were written (each record's
/// number is its nonce, so no two transactions are the same).
struct Attack {
    testnet: Testnet,
    files: PathBuf,
    records: u32,
}

/// What `suyuan submit` said: accepted and committed in block `height`, or refused with a
/// rule.
#[derive(Debug)]
enum Verdict {
    Committed { height: u64 },
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
            .args(["--wait", "--timeout-secs", &COMMIT_SECS.to_string()])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let printed = || -> Value {
            serde_json::from_str(&stdout)
                .unwrap_or_else(|e| panic!("suyuan submit --json prints JSON ({e}): {stdout}"))
        };
        match output.status.code() {
            Some(0) => Verdict::Committed {
                height: printed()["height"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("a commitment names its block: {stdout}")),
            },
            Some(1) => {
                let printed = printed();
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

    /// Submits `record` as [`Attack::submit`] does, and waits until every validator has
    /// applied it, so that a read from any node sees it.
    fn committed(&mut self, node: usize, key: &Path, record: &Record) {
        match self.submit(node, key, record) {
            Verdict::Committed { height } => self.wait_all_at(height),
            refused => panic!("{record:?} was refused: {refused:?}"),
        }
    }

    fn wait_all_at(&self, height: u64) {
        let deadline = Instant::now() + Duration::from_secs(COMMIT_SECS);
        for node in 0..self.testnet.validators() {
            while self.get(node, "/v1/status")["height"].as_u64().unwrap() < height {
                assert!(
                    Instant::now() < deadline,
                    "node {node} did not apply block {height} in time\n{}",
                    self.testnet.status_table()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn refused(&mut self, node: usize, key: &Path, record: &Record, expected: &str) {
        match self.submit(node, key, record) {
            Verdict::Refused { rule } if rule == expected => {}
            other => panic!("{record:?}: expected refusal {expected}, got {other:?}"),
        }
    }

    fn response(&self, node: usize, path: &str) -> HttpResponse {
        http_get(&self.testnet.api_url(node), path, HTTP_TIMEOUT).unwrap()
    }

    fn get(&self, node: usize, path: &str) -> Value {
        let response = self.response(node, path);
        assert_eq!(response.status, 200, "GET {path}: {}", response.text());
        serde_json::from_slice(&response.body).unwrap()
    }

    /// What a buyer reads of `uscc`'s standing on validator `node`: its score, its report
    /// (less the block it was read at) and every inspection listed in its region; a refused
    /// record must leave all of it as it was.
    fn standing(&self, node: usize, uscc: &Uscc) -> Value {
        let score = self.get(node, &format!("/v1/enterprises/{uscc}/score"));
        let mut report = self.get(node, &format!("/v1/enterprises/{uscc}/report"));
        for moving in ["computed_at", "reads"] {
            report.as_object_mut().unwrap().remove(moving);
        }
        let listed = self.get(
            node,
            &format!("/v1/inspections?region={REGION}&outcome=any"),
        );
        json!({
            "total_bp": score["total_bp"],
            "components": score["components"],
            "report": report,
            "inspections": listed["inspections"],
        })
    }
}

impl Drop for Attack {
    fn drop(&mut self) {
        // The testnet stops its nodes and removes its directory itself.
        let _ = std::fs::remove_dir_all(&self.files);
    }
}

/// The profile of demo enterprise `template` (a [`who`] index) under another USCC and name.
fn profile(template: usize, body: &str, name: &str) -> EnterpriseProfile {
    let mut profile = Demo::new(4, 7_100).enterprises[template].profile.clone();
    profile.uscc = uscc(body);
    profile.name = name.parse().unwrap();
    profile
}

fn enrol(enterprise: &EnterpriseProfile, public: &str, prefixes: &[&str]) -> Record {
    Record::RegisterEnterprise(RegisterEnterprise {
        enterprise: enterprise.clone(),
        keys: vec![public.parse().unwrap()],
        prefixes: prefixes
            .iter()
            .map(|prefix| prefix.parse::<IdPrefix>().unwrap())
            .collect(),
    })
}

fn attest(enterprise: &EnterpriseProfile, prefix: &str) -> Record {
    Record::AttestPrefix(AttestPrefix {
        uscc: enterprise.uscc.clone(),
        prefix: prefix.parse().unwrap(),
        from: None,
    })
}

/// The demo's cable model, registered by `owner` under `code`.
fn model(owner: &EnterpriseProfile, code: impl Into<ModelCode>) -> Record {
    let mut model: ProductModel = Demo::new(4, 7_100)
        .story_state()
        .model(&Demo::cable_gtin().into())
        .unwrap()
        .expect("the demo registers the cable model")
        .model;
    model.uscc = owner.uscc.clone();
    model.model_code = code.into();
    Record::RegisterProduct(model)
}

/// A failed inspection of `subject` on `inspected_on`, reported as `report`, under
/// `accreditation` if it names one.
fn failed_inspection(
    subject: Subject,
    inspected_on: Date,
    report: &str,
    accreditation: Option<&str>,
) -> Record {
    Record::Inspect(Inspection {
        subject,
        outcome: Outcome::NonConformant,
        standards: vec!["GB/T 5023.3-2008".parse().unwrap()],
        inspected_on,
        report_number: report.parse().unwrap(),
        document_sha256: Default::default(),
        findings: Some("Conductor resistance above the limit.".parse().unwrap()),
        accreditation: accreditation.map(|number| number.parse().unwrap()),
    })
}

/// The China date `days` days from `now_ms` (before it, when negative).
fn date_in_days(now_ms: u64, days: i64) -> Date {
    Date::from_unix_ms_china(now_ms.checked_add_signed(days * DAY_MS).unwrap())
}

/// The API path of the product view of `code`, percent-encoded.
fn product_path(code: &impl Display) -> String {
    let encoded = code.to_string().replace(':', "%3A").replace('/', "%2F");
    format!("/v1/products/{encoded}")
}

#[test]
fn dishonest_parties_are_refused_or_change_nothing_on_a_running_consortium() {
    let mut attack = Attack::start();
    let bureau = attack.testnet.key_path("bureau");
    let association = attack.testnet.key_path("association");
    let (squatter_key, squatter_public) = attack.keygen("squatter");
    let (victim_key, victim_public) = attack.keygen("victim");
    let squatter = profile(
        who::CABLE_MAKER,
        "91420100MA4Q00001",
        "Squatting Cable Co., Ltd.",
    );
    let victim = profile(
        who::CABLE_MAKER,
        "91420100MA4Q00002",
        "Rightful Cable Co., Ltd.",
    );
    for (enterprise, public, prefix) in [
        (&squatter, &squatter_public, "gs1:6951001"),
        (&victim, &victim_public, "gs1:6951002"),
    ] {
        attack.committed(0, &bureau, &enrol(enterprise, public, &[prefix]));
    }

    // Squatting: the victim's GTIN, registered first by the squatter, through another node.
    let contested = model(&squatter, gtin("0695100200001"));
    attack.refused(1, &squatter_key, &contested, "code_under_others_prefix");
    let rightful = model(&victim, gtin("0695100200001"));
    attack.committed(2, &victim_key, &rightful);
    let report = attack.get(3, &format!("/v1/enterprises/{}/report", victim.uscc));
    assert_eq!(report["history"]["models"], 1, "{report}");
    squat_non_gs1_models(
        &mut attack,
        (&squatter, &squatter_key),
        (&victim, &victim_key),
    );

    // Registrar scope: the association did not enrol the squatter.
    let mut renamed = squatter.clone();
    renamed.name = "Renamed by another registrar".parse().unwrap();
    let update = Record::UpdateEnterprise(UpdateEnterprise {
        enterprise: renamed,
    });
    attack.refused(0, &association, &update, "not_enterprises_registrar");
    attack.refused(
        1,
        &association,
        &attest(&squatter, "gs1:6951003"),
        "not_enterprises_registrar",
    );
    // Nor may the squatter's own registrar give it a prefix under the victim's.
    attack.refused(
        2,
        &bureau,
        &attest(&squatter, "gs1:69510021"),
        "prefix_under_held",
    );

    // Backdating: its own model, commissioned 400 days ago.
    let own = model(&squatter, gtin("0695100100001"));
    attack.committed(3, &squatter_key, &own);
    let Record::RegisterProduct(own_model) = &own else {
        unreachable!()
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let commission = |age_days: i64, lot: &str| {
        Record::Commission(Commissioning {
            uscc: squatter.uscc.clone(),
            model_code: own_model.model_code.clone(),
            items: Items::Batch {
                code: format!("01/{}/10/{lot}", own_model.model_code)
                    .parse()
                    .unwrap(),
                quantity: 100,
            },
            production_date: date_in_days(now_ms, -age_days),
            factory_number: None,
            inspection_report: factory_report("QA-1", "Squatting Cable QA"),
        })
    };
    attack.refused(0, &squatter_key, &commission(400, "OLD"), "too_old");
    attack.committed(0, &squatter_key, &commission(1, "NEW"));

    // Laundering: a failed inspection, then a flood of identical re-registrations.
    let inspection = failed_inspection(
        Subject::Model(own_model.model_code.clone()),
        date_in_days(now_ms, 0),
        "HBAMR-2026-0099",
        None,
    );
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
    let product = attack.get(0, &product_path(&lot));
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
    let path = product_path(&pallet);
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

    hijack_codes(
        &mut attack,
        (&squatter, &squatter_key),
        (&victim, &victim_key),
        now_ms,
    );
    sample_falsely(&mut attack, &victim, now_ms);
}

/// Code hijacking: the squatter tries to make a scan of the victim's codes show its own lot,
/// by linking an alias under the victim's Ecode prefix to its lot, or linking to the victim's
/// lot, or commissioning the victim's alias; and to cite a CCC certificate it does not hold.
/// Each is refused, and the victim's alias, once linked, finds the victim's lot on every node.
fn hijack_codes(
    attack: &mut Attack,
    (squatter, squatter_key): (&EnterpriseProfile, &Path),
    (victim, victim_key): (&EnterpriseProfile, &Path),
    now_ms: u64,
) {
    let lot = |gtin_body: &str, lot: &str| -> TraceCode {
        format!("01/{}/10/{lot}", gtin(gtin_body)).parse().unwrap()
    };
    let commission = |owner: &EnterpriseProfile, gtin_body: &str, code: TraceCode| {
        Record::Commission(Commissioning {
            uscc: owner.uscc.clone(),
            model_code: gtin(gtin_body).into(),
            items: Items::Batch {
                code,
                quantity: 100,
            },
            production_date: date_in_days(now_ms, -1),
            factory_number: None,
            inspection_report: factory_report("QA-2", "QA"),
        })
    };
    let link = |by: &EnterpriseProfile, code: &TraceCode, alias: &TraceCode| {
        Record::LinkCodes(LinkCodes {
            uscc: by.uscc.clone(),
            code: code.clone(),
            aliases: vec![alias.clone()],
        })
    };
    let (squatter_lot, victim_lot) = (lot("0695100100001", "NEW"), lot("0695100200001", "V1"));
    let victim_lot_record = commission(victim, "0695100200001", victim_lot.clone());
    attack.committed(1, victim_key, &victim_lot_record);
    // An Ecode under the victim's registrant prefix, as its labels print it.
    let alias: TraceCode = "ecode:100126950200009".parse().unwrap();
    let tries = [
        (
            link(squatter, &squatter_lot, &alias),
            "code_under_others_prefix",
        ),
        (link(squatter, &victim_lot, &alias), "not_producers_product"),
        (link(victim, &victim_lot, &alias), "wrong_enterprise"),
    ];
    for (node, (record, rule)) in tries.into_iter().enumerate() {
        attack.refused(node, squatter_key, &record, rule);
        let response = attack.response((node + 1) % 4, &product_path(&alias));
        assert_eq!(response.status, 404, "{rule}: {}", response.text());
    }
    attack.committed(3, victim_key, &link(victim, &victim_lot, &alias));
    for node in 0..4 {
        let view = attack.get(node, &product_path(&alias));
        assert_eq!(view["code"], victim_lot.to_string(), "node {node}: {view}");
        assert_eq!(view["looked_up_as"], alias.to_string(), "node {node}");
    }
    // Nor can the alias be taken over as a lot of the squatter's.
    let squatted = commission(squatter, "0695100100001", alias.clone());
    attack.refused(0, squatter_key, &squatted, "code_is_alias");

    // A certificate the squatter does not hold: refused, and no record names it.
    let foreign = "2025010105000777";
    let Record::RegisterProduct(mut certified) = model(squatter, gtin("0695100100009")) else {
        unreachable!()
    };
    certified.ccc_certificate = Some(foreign.parse().unwrap());
    let record = Record::RegisterProduct(certified);
    attack.refused(1, squatter_key, &record, "document_not_held");
    let response = attack.response(2, &format!("/v1/certificates/{foreign}"));
    assert_eq!(response.status, 404, "{}", response.text());
}

/// Model squatting beyond GS1: the victim's registrar attests it Ecode (numeric and `MA.`) and
/// Handle prefixes, and the squatter registers models under them first (and under a Handle
/// prefix below the victim's), then has its registrar attest it a prefix below or above the
/// victim's; the models stay unregistered until the victim registers them as its own.
fn squat_non_gs1_models(
    attack: &mut Attack,
    (squatter, squatter_key): (&EnterpriseProfile, &Path),
    (victim, victim_key): (&EnterpriseProfile, &Path),
) {
    let bureau = attack.testnet.key_path("bureau");
    attack.committed(0, &bureau, &attest(victim, "ecode:1001269502"));
    attack.committed(1, &bureau, &attest(victim, "handle:88.118.42"));
    attack.committed(2, &bureau, &attest(victim, "ecode:MA.156.M0.100204"));
    let ecode: ModelCode = "ecode:100126950200001".parse().unwrap();
    let handle: ModelCode = "handle:88.118.42/model/BV-4".parse().unwrap();
    let below: ModelCode = "handle:88.118.42.7/model/BV-6".parse().unwrap();
    let ma: ModelCode = "ecode:MA.156.M0.100204.13351764".parse().unwrap();
    for (node, code) in [(2, &ecode), (3, &handle), (0, &below), (1, &ma)] {
        let contested = model(squatter, code.clone());
        attack.refused(node, squatter_key, &contested, "code_under_others_prefix");
        let response = attack.response((node + 1) % 4, &product_path(code));
        assert_eq!(response.status, 404, "{code}: {}", response.text());
    }
    // Nor may its registrar give it a prefix below the victim's, or one above it.
    for (node, prefix, rule) in [
        (1, "handle:88.118.42.7", "prefix_under_held"),
        (2, "ecode:100126950", "prefix_covers_held"),
        (3, "ecode:MA.156.M0.100204.7", "prefix_under_held"),
    ] {
        attack.refused(node, &bureau, &attest(squatter, prefix), rule);
    }
    for (node, code) in [(2, &ecode), (3, &handle), (0, &ma)] {
        attack.committed(node, victim_key, &model(victim, code.clone()));
        let view = attack.get((node + 1) % 4, &product_path(code));
        let registration = &view["latest"]["payload"]["record"];
        assert_eq!(registration["type"], "register_product", "{view}");
        assert_eq!(registration["uscc"], victim.uscc.to_string(), "{view}");
        assert_eq!(registration["model_code"], code.to_string(), "{view}");
    }
    let report = attack.get(1, &format!("/v1/enterprises/{}/report", victim.uscc));
    assert_eq!(report["history"]["models"], 4, "{report}");
    let report = attack.get(1, &format!("/v1/enterprises/{}/report", squatter.uscc));
    assert_eq!(report["history"]["models"], 0, "{report}");
}

/// False sampling: a testing centre accredited for gas appliances, with an expired
/// accreditation for cables and a current one, fails a cable of the victim's bought in a
/// market, under each accreditation that does not cover it (and under none, and under another
/// lab's number); the victim's standing does not move until the sampling names the current
/// cable accreditation.
fn sample_falsely(attack: &mut Attack, victim: &EnterpriseProfile, now_ms: u64) {
    let bureau = attack.testnet.key_path("bureau");
    let (lab_key, lab_public) = attack.keygen("lab");
    let mut lab = profile(who::LAB, "12420100MB4Q00003", "Jianghan Testing Centre");
    let entry = |number: &str, scope: &str, from_days, until_days| AccreditationEntry {
        number: number.parse().unwrap(),
        scope: vec![scope.parse().unwrap()],
        valid_from: date_in_days(now_ms, from_days),
        valid_until: date_in_days(now_ms, until_days),
    };
    lab.accreditations = vec![
        entry("CNAS L7001", "gas_appliances", -365, 365),
        entry("CNAS L7002", "wires_cables", -800, -30),
        entry("CNAS L7003", "wires_cables", -365, 365),
    ];
    attack.committed(2, &bureau, &enrol(&lab, &lab_public, &[]));

    let today = date_in_days(now_ms, 0);
    let sampled = Subject::Sampled(Box::new(SampledProduct {
        maker: victim.uscc.clone(),
        maker_name: victim.name.clone(),
        product_name: "PVC-insulated copper cable".parse().unwrap(),
        model: "BV 4 mm² 450/750 V".parse().unwrap(),
        category: "wires_cables".parse().unwrap(),
        batch: Some("20261120".parse().unwrap()),
        printed_code: None,
        sampled_on: today,
        sampled_in: "420104".parse().unwrap(),
        place: "Hanzheng Street hardware market, stall 3-021"
            .parse()
            .unwrap(),
    }));
    let sampling =
        |accreditation| failed_inspection(sampled.clone(), today, "JHTC-2026-S0031", accreditation);
    let before = attack.standing(3, &victim.uscc);
    for (node, accreditation, rule) in [
        // Another lab's number: the demo story's cable lab.
        (0, Some("CNAS L5678"), "unknown_accreditation"),
        (1, Some("CNAS L7001"), "outside_accreditation_scope"),
        (2, Some("CNAS L7002"), "accreditation_not_valid"),
        (0, None, "accreditation_missing"),
    ] {
        attack.refused(node, &lab_key, &sampling(accreditation), rule);
    }
    for node in 0..4 {
        assert_eq!(attack.standing(node, &victim.uscc), before, "node {node}");
    }

    // The same sampling under the current cable accreditation is recorded and read.
    attack.committed(1, &lab_key, &sampling(Some("CNAS L7003")));
    let after = attack.standing(3, &victim.uscc);
    assert_ne!(after["total_bp"], before["total_bp"], "{after}");
    let failed = |standing: &Value| standing["report"]["history"]["failed_inspections"].clone();
    assert_eq!(
        failed(&after),
        failed(&before).as_u64().unwrap() + 1,
        "{after}"
    );
    let listed = after["inspections"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|entry| entry["producer"] == victim.uscc.to_string()
                && entry["inspection"]["accreditation"] == "CNAS L7003"),
        "the sampling is listed under the victim: {after}"
    );
}
