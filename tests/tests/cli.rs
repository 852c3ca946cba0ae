//! The `suyuan` binary as data-entry staff and operators use it.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use suyuan_tests::{free_ports, suyuan_binary};

fn inspect(code: &str) -> (i32, Value) {
    let output = Command::new(suyuan_binary())
        .args(["code", "inspect", code])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    (output.status.code().unwrap(), report)
}

#[test]
fn code_inspect_reports_valid_codes_with_exit_status_0() {
    for (code, kind) in [
        ("91350100M000100Y43", "uscc"),
        ("09520123456788", "gtin"),
        ("（鄂）XK12-001-00018", "production_licence"),
        ("2016010903878416", "ccc_certificate"),
        ("88.608.24161301/SN-0001", "handle"),
        (
            "https://id.gs1.org/01/09520123456788/10/ABC1?17=270101",
            "gs1_digital_link",
        ),
        ("(01)09520123456788(10)ABC1", "gs1_element_string"),
        ("urn:epc:id:sgtin:0614141.812345.6789", "epc_urn"),
    ] {
        let (status, report) = inspect(code);
        assert_eq!(status, 0, "{code}: {report}");
        assert_eq!(report["kind"], kind, "{code}: {report}");
        assert_eq!(report["valid"], true);
        assert!(report["fields"].is_object(), "{report}");
    }
}

#[test]
fn code_inspect_reports_invalid_codes_with_exit_status_1_and_the_error() {
    let (status, report) = inspect("09520123456789");
    assert_eq!(status, 1);
    assert_eq!(report["kind"], "gtin");
    assert_eq!(report["valid"], false);
    assert!(
        report["error"].as_str().unwrap().contains("check digit"),
        "{report}"
    );
}

#[test]
fn testnet_init_writes_genesis_and_private_keys() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("suyuan-cli-testnet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new(suyuan_binary())
        .args(["testnet", "init", "--validators", "4", "--dir"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    let genesis = std::fs::read(dir.join("genesis.json")).unwrap();
    let genesis = suyuan_ledger::genesis::Genesis::from_json(&genesis).unwrap();
    assert_eq!(genesis.validators.len(), 4);
    assert_eq!(genesis.quorum(), 3);
    let key_path = dir.join("validator-0/validator.key");
    let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let output = Command::new(suyuan_binary())
        .arg("public-key")
        .arg(&key_path)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        genesis.validators[0].public_key.to_string()
    );
    // A second init into the same directory refuses rather than overwriting keys.
    let again = Command::new(suyuan_binary())
        .args(["testnet", "init", "--dir"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(!again.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn demo_story_runs_without_refusals() {
    let output = Command::new(suyuan_binary()).arg("demo").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("recall"), "{text}");
    assert!(!text.contains("refused"), "{text}");
}

#[test]
fn catalogue_prints_the_programme_and_its_genesis_form_parses_back() {
    let output = Command::new(suyuan_binary())
        .args(["catalogue", "--programme"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "wires_cables  电线电缆（额定电压450/750V及以下）",
        "gas_appliances",
        "documents  ccc_certificate",
        "hazardous_chemicals",
        "documents  production_licence",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    let output = Command::new(suyuan_binary())
        .args(["catalogue", "--programme", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let catalogue: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(catalogue["require_category"], true);
    assert!(catalogue["categories"].as_array().unwrap().len() >= 7);
}

/// `suyuan dev` leaves what a newcomer needs to write as an enterprise does: the demo's keys
/// (private files, a README saying they are public), an example record, and a tour line that
/// signs, submits and follows it; that line, run as printed, commits on the running consortium.
/// A `suyuan dev` consortium running in a directory of its own, stopped (SIGINT, as
/// Ctrl-C) and its directory removed when dropped.
struct Dev {
    /// One consortium at a time: two picking free ports at once could pick the same.
    _turn: std::sync::MutexGuard<'static, ()>,
    process: std::process::Child,
    dir: std::path::PathBuf,
    p2p_port: u16,
    /// The first validator's API port; the others follow it.
    api_port: u16,
    /// The tour's lines, up to "Ctrl-C stops".
    tour: Vec<String>,
}

impl Dev {
    fn start(label: &str) -> Dev {
        static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let turn = TURN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = std::env::temp_dir().join(format!("suyuan-cli-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (p2p_port, api_port) = free_ports(4, 5);
        let mut process = Command::new(suyuan_binary())
            .arg("dev")
            .arg("--dir")
            .arg(&dir)
            .args(["--p2p-port", &p2p_port.to_string()])
            .args(["--api-port", &api_port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(process.stdout.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut tour = Vec::new();
        for line in stdout.lines() {
            let line = line.unwrap();
            let done = line.starts_with("Ctrl-C stops") || Instant::now() > deadline;
            tour.push(line);
            if done {
                break;
            }
        }
        Dev {
            _turn: turn,
            process,
            dir,
            p2p_port,
            api_port,
            tour,
        }
    }

    /// The arguments of the tour's line that runs `suyuan {command} …`.
    fn tour_command(&self, command: &str) -> Vec<String> {
        let prefix = format!("suyuan {command} ");
        let line = self
            .tour
            .iter()
            .find_map(|line| line.trim().strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("the tour shows no `suyuan {command}`: {:?}", self.tour));
        line.split_whitespace().map(str::to_owned).collect()
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.process.id().to_string()])
            .status();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `suyuan` with `args`: exit status and stdout.
fn suyuan(args: &[String]) -> (i32, String) {
    let output = Command::new(suyuan_binary()).args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// `suyuan epcis export --code CODE` on the node at `api`: the code's history as an EPCIS
/// document.
fn epcis_export(api: &str, code: String) -> Value {
    let args = ["epcis", "export", "--api", api, "--code", &code].map(str::to_owned);
    let (status, text) = suyuan(&args);
    assert_eq!(status, 0, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn dev_writes_the_demo_keys_and_its_tour_write_commits() {
    use std::os::unix::fs::PermissionsExt as _;
    let dev = Dev::start("dev");
    let args = dev.tour_command("submit");
    for name in [
        "bureau",
        "association",
        "cable-maker",
        "gas-appliance-maker",
        "distributor",
        "lab",
    ] {
        let path = dev.dir.join("keys").join(format!("{name}.key"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
    let readme = std::fs::read_to_string(dev.dir.join("keys/README.txt")).unwrap();
    assert!(readme.contains("NOT SECRET"), "{readme}");
    let distributor = Command::new(suyuan_binary())
        .arg("public-key")
        .arg(dev.dir.join("keys/distributor.key"))
        .output()
        .unwrap();
    let demo = suyuan_ledger::demo::Demo::new(4, dev.p2p_port);
    assert_eq!(
        String::from_utf8(distributor.stdout).unwrap().trim(),
        demo.enterprises[suyuan_ledger::demo::who::DISTRIBUTOR]
            .key
            .public()
            .to_string()
    );
    let submit: Vec<String> = std::iter::once("submit".to_owned()).chain(args).collect();
    for _ in 0..2 {
        let (status, text) = suyuan(&submit);
        assert_eq!(status, 0, "suyuan {submit:?}: {text}");
        assert!(text.contains("committed at height"), "{text}");
    }
}

/// The tour's EPCIS capture, on a running consortium: the distributor's sale, reported as an
/// ERP reports it, commits; the same event again is refused (one event, one record); another
/// enterprise's key cannot capture it (the attacker: a member writing for another); a
/// document with an event Suyuan keeps no record of submits nothing under rollback; and the
/// lot's history exported as EPCIS holds the captured event; once the cable maker claims a
/// party GLN, its sales export and capture by that GLN, and an unclaimed GLN is refused.
#[test]
fn epcis_capture_signs_with_the_capturers_key_and_records_an_event_once() {
    let dev = Dev::start("epcis");
    let args = dev.tour_command("epcis capture");
    let api = args[args.iter().position(|a| a == "--api").unwrap() + 1].clone();
    let document_path = args.last().unwrap().clone();
    let capture = |key: &str, document: &str, extra: &[&str]| {
        let mut all: Vec<String> = ["epcis", "capture", "--api", &api, "--key"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        all.push(dev.dir.join("keys").join(key).display().to_string());
        all.push(document.to_owned());
        all.extend(extra.iter().map(|s| (*s).to_owned()));
        suyuan(&all)
    };
    // A capture that exits 1 (something refused), with its `--json` outcomes.
    let capture_refused = |key: &str, document: &str, extra: &[&str]| {
        let (status, text) = capture(key, document, extra);
        assert_eq!(status, 1, "{text}");
        let outcomes: Value = serde_json::from_str(&text).unwrap();
        (outcomes, text)
    };

    let (status, text) = capture("distributor.key", &document_path, &[]);
    assert_eq!(status, 0, "{text}");
    assert!(text.contains("committed at height"), "{text}");
    let (outcomes, text) = capture_refused("distributor.key", &document_path, &["--json"]);
    assert_eq!(outcomes[0]["status"], "refused", "{text}");
    assert_eq!(outcomes[0]["error"]["code"], "replay", "{text}");
    let (outcomes, text) = capture_refused("cable-maker.key", &document_path, &["--json"]);
    assert_eq!(outcomes[0]["error"]["rule"], "wrong_enterprise", "{text}");

    // Rollback: one event Suyuan keeps no record of, and nothing is submitted.
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(&document_path).unwrap()).unwrap();
    let mut sale = document["epcisBody"]["eventList"][0].clone();
    sale["suyuan:nonce"] = Value::String("77".into());
    sale["eventID"] = Value::String("urn:uuid:5e1f3c2a-0000-8000-8000-000000000077".into());
    let mut receiving = sale.clone();
    receiving["bizStep"] = Value::String("receiving".into());
    document["epcisBody"]["eventList"] = Value::Array(vec![sale, receiving]);
    let mixed = dev.dir.join("mixed.json");
    std::fs::write(&mixed, document.to_string()).unwrap();
    let mixed = mixed.display().to_string();
    let (outcomes, text) = capture_refused("distributor.key", &mixed, &["--json"]);
    assert_eq!(outcomes[0]["status"], "skipped", "{text}");
    assert_eq!(outcomes[1]["error"]["code"], "epcis_unsupported", "{text}");
    // Proceed: the sale goes in, the other is reported.
    let (outcomes, text) = capture_refused(
        "distributor.key",
        &mixed,
        &["--json", "--error-behaviour", "proceed"],
    );
    assert_eq!(outcomes[0]["status"], "committed", "{text}");

    // The lot's history, exported, holds both captured sales with their event ids.
    let lot = document["epcisBody"]["eventList"][0]["quantityList"][0]["epcClass"]
        .as_str()
        .unwrap()
        .to_owned();
    let exported = epcis_export(&api, lot);
    let ids: Vec<&str> = exported["epcisBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|event| event["eventID"].as_str())
        .collect();
    assert!(
        ids.contains(&"urn:uuid:5e1f3c2a-0000-8000-8000-000000000077"),
        "{ids:?}"
    );
    let original: Value =
        serde_json::from_str(&std::fs::read_to_string(&document_path).unwrap()).unwrap();
    let original_id = original["epcisBody"]["eventList"][0]["eventID"]
        .as_str()
        .unwrap();
    assert!(ids.contains(&original_id), "{ids:?}");

    // Parties by GLN. The bureau gives the cable maker's profile its party GLN; the maker's
    // sales then export with that PGLN as their source, and the export captured again with the
    // maker's key finds the maker by the GLN (asking the node) and is the same transaction: a
    // replay. The attacker, a partner's system naming a seller by a GLN no enterprise claims,
    // is refused by name (`unknown_party`) and nothing is submitted.
    let demo = suyuan_ledger::demo::Demo::new(4, dev.p2p_port);
    let cable = &demo.enterprises[suyuan_ledger::demo::who::CABLE_MAKER];
    let mut profile = cable.profile.clone();
    profile.gln = Some("6950123000019".parse().unwrap());
    let update = dev.dir.join("cable-gln.json");
    let record =
        suyuan_ledger::record::Record::UpdateEnterprise(suyuan_ledger::record::UpdateEnterprise {
            enterprise: profile,
        });
    std::fs::write(&update, serde_json::to_string(&record).unwrap()).unwrap();
    let bureau = dev.dir.join("keys/bureau.key").display().to_string();
    let submit = [
        "submit",
        "--api",
        &api,
        "--key",
        &bureau,
        "--record",
        &update.display().to_string(),
        "--wait",
    ]
    .map(str::to_owned);
    let (status, text) = suyuan(&submit);
    assert_eq!(status, 0, "{text}");
    let uscc = cable.profile.uscc.to_string();
    let args = ["epcis", "export", "--api", &api, "--enterprise", &uscc].map(str::to_owned);
    let (status, text) = suyuan(&args);
    assert_eq!(status, 0, "{text}");
    let mut document: Value = serde_json::from_str(&text).unwrap();
    let sales: Vec<Value> = document["epcisBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["bizStep"] == "shipping")
        .cloned()
        .collect();
    assert!(!sales.is_empty(), "{text}");
    for sale in &sales {
        assert_eq!(
            sale["sourceList"][0]["source"], "urn:epc:id:pgln:6950123.00001",
            "{sale:#}"
        );
    }
    let mut stranger = sales[0].clone();
    document["epcisBody"]["eventList"] = Value::Array(sales);
    let by_gln = dev.dir.join("by-gln.json");
    std::fs::write(&by_gln, document.to_string()).unwrap();
    let (outcomes, text) = capture_refused(
        "cable-maker.key",
        &by_gln.display().to_string(),
        &["--json"],
    );
    for outcome in outcomes.as_array().unwrap() {
        assert_eq!(outcome["error"]["code"], "replay", "{text}");
    }
    stranger["sourceList"][0]["source"] = "urn:epc:id:pgln:6950123.99999".into();
    stranger["suyuan:nonce"] = "78".into();
    stranger["eventID"] = "urn:uuid:5e1f3c2a-0000-8000-8000-000000000078".into();
    document["epcisBody"]["eventList"] = Value::Array(vec![stranger]);
    std::fs::write(&by_gln, document.to_string()).unwrap();
    let (outcomes, text) = capture_refused(
        "cable-maker.key",
        &by_gln.display().to_string(),
        &["--json"],
    );
    assert_eq!(outcomes[0]["status"], "refused", "{text}");
    assert_eq!(outcomes[0]["error"]["code"], "unknown_party", "{text}");
}

/// An ERP export imported on a running consortium, as the cable maker's clerk does it: the
/// tour's export commits and a second import records nothing twice; a larger export whose sales
/// follow their lots ten rows later commits in one run in batches of 7; its two bad rows (a
/// date that does not exist, a sale of a lot the maker never made: the attacker, an ERP selling
/// what it does not hold) are refused with their rule in a report that, fixed, imports; a lost
/// journal still records nothing twice; a GBK file is refused until converted; an import
/// interrupted by Ctrl-C resumes.
#[test]
fn import_commits_dependent_rows_reports_refusals_to_fix_and_never_records_twice() {
    let dev = Dev::start("import");
    let tour: Vec<String> = std::iter::once("import".to_owned())
        .chain(dev.tour_command("import"))
        .collect();
    let api = tour[tour.iter().position(|a| a == "--api").unwrap() + 1].clone();
    let key = dev.dir.join("keys/cable-maker.key").display().to_string();
    let import = |file: &std::path::Path, extra: &[&str]| -> (i32, Value, String) {
        let output = Command::new(suyuan_binary())
            .args(["import", "--json", "--api", &api, "--key", &key])
            .arg(file)
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let summary = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        (output.status.code().unwrap_or(-1), summary, stderr)
    };

    let assert_counts = |summary: &Value, committed: u64, earlier: u64| {
        assert_eq!(
            (&summary["committed"], &summary["committed_earlier"]),
            (&Value::from(committed), &Value::from(earlier)),
            "{summary}"
        );
    };
    let (status, text) = suyuan(&tour);
    assert_eq!(status, 0, "{tour:?}: {text}");
    assert!(text.contains("5 rows: 5 committed"), "{text}");
    let tour_file = std::path::PathBuf::from(tour.last().unwrap());
    let (status, summary, stderr) = import(&tour_file, &[]);
    assert_eq!(status, 0, "{stderr}");
    assert_counts(&summary, 0, 5);

    // 40 lots, each sold ten rows after it is made, and two bad rows.
    let header = std::fs::read_to_string(&tour_file)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let demo = suyuan_ledger::demo::Demo::new(4, dev.p2p_port);
    let maker_uscc = demo.enterprises[suyuan_ledger::demo::who::CABLE_MAKER]
        .profile
        .uscc
        .to_string();
    let buyer = demo.enterprises[suyuan_ledger::demo::who::DISTRIBUTOR]
        .profile
        .uscc
        .to_string();
    let gtin = suyuan_ledger::demo::Demo::cable_gtin().to_string();
    let lot = |n: usize| format!("(01){gtin}(10)IMP{n:03}");
    let sha = "5d".repeat(32);
    let commission = |n: usize, date: &str| {
        format!(
            "commission,{maker_uscc},{gtin},{},100,{date},,factory_inspection,FI-{n},质检中心,{sha},,,,,,\n",
            lot(n)
        )
    };
    let ship = |n: usize| {
        format!(
            "ship{}{maker_uscc},{buyer},2026-03-01 10:00,{},10,SO-{n}\n",
            ",".repeat(11),
            lot(n)
        )
    };
    let mut csv = format!("{header}\n");
    for n in 0..40 {
        csv += &commission(n, "2026-02-20");
        if n >= 10 {
            csv += &ship(n - 10);
        }
    }
    for n in 30..40 {
        csv += &ship(n);
    }
    csv += &commission(40, "2026-02-31");
    csv += &ship(999);
    let export = dev.dir.join("week.csv");
    std::fs::write(&export, &csv).unwrap();
    let (status, summary, stderr) = import(&export, &["--batch", "7"]);
    assert_eq!(status, 1, "{stderr}");
    assert_eq!(summary["committed"], 80, "{summary}");
    assert_eq!(summary["refused"], 2, "{summary}");
    let refusals = summary["refusals"].as_array().unwrap();
    assert_eq!(refusals[0]["rule"], "invalid_value", "{summary}");
    assert_eq!(refusals[0]["column"], "production_date", "{summary}");
    assert_eq!(refusals[1]["code"], "rule_violation", "{summary}");
    let report_path = std::path::PathBuf::from(summary["report"].as_str().unwrap());
    let report = std::fs::read_to_string(&report_path).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 3, "{report}");
    assert!(lines[0].ends_with(",_row,_error,_message"), "{report}");
    assert!(lines[1].contains("invalid_value"), "{report}");

    // The clerk fixes both rows in the report and imports it as it is.
    let fixed = report
        .replace("2026-02-31", "2026-02-27")
        .replace(&lot(999), &lot(0));
    std::fs::write(&report_path, fixed).unwrap();
    let (status, summary, stderr) = import(&report_path, &[]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(summary["committed"], 2, "{summary}");

    // A lot's history holds its commissioning and its sales, each once.
    let path = format!(
        "/v1/products/{}",
        lot(0).replace('(', "%28").replace(')', "%29")
    );
    let product = suyuan_tests::http_get(&api, &path, Duration::from_secs(10)).unwrap();
    let product: Value = serde_json::from_slice(&product.body).unwrap();
    assert_eq!(product["history"].as_array().unwrap().len(), 3, "{product}");

    // Without the journal, the same file again: every row is found already committed.
    std::fs::remove_file(export.with_extension("import-journal")).unwrap();
    let (status, summary, stderr) = import(&export, &[]);
    assert_eq!(status, 1, "{stderr}");
    assert_counts(&summary, 0, 80);

    // A GBK export: refused as UTF-8, naming the option; converted with it.
    let gbk_text = format!("{header}\n{}", commission(50, "2026-02-21"));
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(&gbk_text);
    assert!(!unmappable);
    let gbk = dev.dir.join("gbk.csv");
    std::fs::write(&gbk, &bytes).unwrap();
    let (status, _, stderr) = import(&gbk, &[]);
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("--encoding gbk"), "{stderr}");
    let (status, summary, stderr) = import(&gbk, &["--encoding", "gbk"]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(summary["committed"], 1, "{summary}");

    // An EPCIS document longer than one capture takes: 10,050 commissionings of new lots,
    // made from the tour lot's exported commissioning, and one receiving event, which Suyuan
    // keeps no record of. Imported twice: the second time, every event is already committed.
    let mut document = epcis_export(&api, format!("01/{gtin}/10/C2602A"));
    let commissioning = document["epcisBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["bizStep"] == "commissioning")
        .unwrap()
        .clone();
    let mut events: Vec<Value> = (0..10_050)
        .map(|n| {
            let mut event = commissioning.clone();
            event["quantityList"][0]["epcClass"] =
                Value::String(format!("https://id.gs1.org/01/{gtin}/10/EPCIS{n:05}"));
            event["eventID"] = Value::String(format!("urn:uuid:6a7e0000-0000-4000-8000-{n:012}"));
            event
        })
        .collect();
    let mut receiving = events[0].clone();
    receiving["bizStep"] = Value::String("receiving".into());
    receiving["eventID"] = Value::String("urn:uuid:6a7e0000-0000-4000-8000-999999999999".into());
    events.insert(5_000, receiving);
    document["epcisBody"]["eventList"] = Value::Array(events);
    let epcis = dev.dir.join("epcis-week.json");
    std::fs::write(&epcis, document.to_string()).unwrap();
    let (status, summary, stderr) = import(&epcis, &[]);
    assert_eq!(status, 1, "{stderr}");
    assert_eq!(summary["format"], "epcis", "{summary}");
    assert_eq!(summary["committed"], 10_050, "{summary}");
    assert_eq!(summary["refusals"][0]["position"], 5_000, "{summary}");
    assert_eq!(
        summary["refusals"][0]["code"], "epcis_unsupported",
        "{summary}"
    );
    let refused: Value = serde_json::from_str(
        &std::fs::read_to_string(epcis.with_extension("refused.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        refused["epcisBody"]["eventList"][0]["bizStep"], "receiving",
        "{refused}"
    );
    let (status, summary, stderr) = import(&epcis, &[]);
    assert_eq!(status, 1, "{stderr}");
    assert_counts(&summary, 0, 10_050);

    // Ctrl-C in the middle of a long import, then the same command again.
    let mut long = format!("{header}\n");
    for n in 100..10_100 {
        long += &commission(n, "2026-02-22");
    }
    let long_path = dev.dir.join("long.csv");
    std::fs::write(&long_path, &long).unwrap();
    let journal = long_path.with_extension("import-journal");
    let child = Command::new(suyuan_binary())
        .args([
            "import", "--json", "--api", &api, "--key", &key, "--batch", "50",
        ])
        .arg(&long_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&journal).map_or(0, |j| j.lines().count()) < 101 {
        assert!(Instant::now() < deadline, "no commit within a minute");
        std::thread::sleep(Duration::from_millis(20));
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let first: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(130), "{first}");
    assert!(first["unfinished"].as_u64().unwrap() > 0, "{first}");
    let (status, second, stderr) = import(&long_path, &[]);
    assert_eq!(status, 0, "{stderr}");
    let total =
        second["committed"].as_u64().unwrap() + second["committed_earlier"].as_u64().unwrap();
    assert_eq!(total, 10_000, "{second}");
    // What the first run saw committed is not committed again; what it left pending may have
    // been committed since, and is found as a replay.
    assert!(
        second["committed_earlier"].as_u64().unwrap() >= first["committed"].as_u64().unwrap(),
        "{first} {second}"
    );
}

/// `suyuan schema` prints the payload's JSON Schema, the one published under docs/, so that an
/// integrator with only the binary has it.
#[test]
fn schema_prints_the_published_payload_schema() {
    let output = Command::new(suyuan_binary())
        .arg("schema")
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let published: Value = serde_json::from_str(
        &std::fs::read_to_string(suyuan_tests::workspace_root().join("docs/schemas/payload.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(printed, published);
    assert_eq!(printed["required"], serde_json::json!(["nonce", "record"]));
}

/// An HTTP GET that shows redirects instead of following them: status, `Location`, body.
fn get(url: &str) -> (u16, Option<String>, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_owned());
        (status, location, response.text().await.unwrap())
    })
}

/// The text of the one QR code in a PNG, read by our decoder (rqrr) and, when Debian's
/// zbar-tools is installed, by zbarimg as well, which must agree.
fn scan(png_path: &std::path::Path) -> String {
    let bytes = std::fs::read(png_path).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let width = info.width as usize;
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, info.height as usize, |x, y| {
            pixels[y * width + x]
        });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in {}", png_path.display());
    let text = grids[0].decode().unwrap().1;
    match Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(png_path)
        .output()
    {
        Ok(output) => {
            assert!(output.status.success(), "zbarimg: {output:?}");
            assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), text);
        }
        Err(_) => eprintln!(
            "SKIPPED the zbarimg check: it is not installed (sudo apt-get install -y zbar-tools); \
             the label was decoded by rqrr only"
        ),
    }
    text
}

/// A producer prints a label with `suyuan label`; a buyer's phone scans it and opens the
/// batch's records on a running consortium through the node's GS1 resolver. The node draws
/// the same QR code itself. The attacker: a label (or a scanned link) meant to send the buyer
/// elsewhere: a root with a path or query is refused, and the resolver's redirect stays on the
/// node whatever the link's linkType says.
#[test]
fn a_printed_label_scans_to_the_batchs_records_on_a_running_consortium() {
    let dev = Dev::start("label");
    let root = format!("http://127.0.0.1:{}", dev.api_port);
    let lot = "01/06950123450012/10/C2601A";
    let png_path = dev.dir.join("label.png");
    let args: Vec<String> = [
        "label",
        lot,
        "--root",
        &root,
        "--out",
        &png_path.display().to_string(),
    ]
    .map(str::to_owned)
    .to_vec();
    let (status, printed) = suyuan(&args);
    assert_eq!(status, 0, "{printed}");
    let link = format!("{root}/{lot}");
    assert_eq!(printed.trim(), link);
    assert_eq!(scan(&png_path), link);

    // The scan: 307 to the batch's records on the node, which hold its history.
    let (status, location, body) = get(&link);
    assert_eq!(status, 307, "{body}");
    let location = location.unwrap();
    assert_eq!(location, "/v1/products/01%2F06950123450012%2F10%2FC2601A");
    let (status, _, body) = get(&format!("{root}{location}"));
    assert_eq!(status, 200, "{body}");
    let product: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(product["code"], lot);
    assert!(!product["history"].as_array().unwrap().is_empty());

    // The node draws the QR code of the same link, under its own address.
    let node_png = dev.dir.join("node.png");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bytes = runtime.block_on(async {
        let url = format!(
            "{root}/v1/products/{}/qr?format=png",
            "01%2F06950123450012%2F10%2FC2601A"
        );
        let response = reqwest::get(url).await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["content-type"], "image/png");
        response.bytes().await.unwrap()
    });
    std::fs::write(&node_png, &bytes).unwrap();
    assert_eq!(scan(&node_png), link);

    // A sheet for a batch and its model (a GTIN alone), as SVG.
    let sheet = dev.dir.join("sheet.svg");
    let args: Vec<String> = [
        "label",
        lot,
        "6950123450012",
        "--root",
        &root,
        "--name",
        "BV 2.5 mm² 铜芯聚氯乙烯绝缘电缆",
        "--out",
        &sheet.display().to_string(),
    ]
    .map(str::to_owned)
    .to_vec();
    let (status, printed) = suyuan(&args);
    assert_eq!(status, 0, "{printed}");
    let svg = std::fs::read_to_string(&sheet).unwrap();
    assert_eq!(svg.matches("<path").count(), 2, "{svg}");
    assert!(svg.contains("(01)06950123450012(10)C2601A"));
    assert!(svg.contains("铜芯聚氯乙烯绝缘电缆"));
    let model_link = printed.lines().nth(1).unwrap().to_owned();
    assert_eq!(model_link, format!("{root}/01/06950123450012"));
    let (status, location, _) = get(&model_link);
    assert_eq!(status, 307);
    assert_eq!(location.as_deref(), Some("/v1/models/06950123450012"));

    // A root that is more than a scheme and a host, a code with no Digital Link, a PNG of two
    // codes: refused, nothing written.
    for (bad, out) in [
        (vec![lot, "--root", "https://evil.example/x?"], "a.png"),
        (vec!["ecode:100126950100002601", "--root", &root], "b.png"),
        (vec![lot, "6950123450012", "--root", &root], "c.png"),
    ] {
        let out_path = dev.dir.join(out);
        let mut args: Vec<String> = std::iter::once("label")
            .chain(bad.iter().copied())
            .map(str::to_owned)
            .collect();
        args.extend(["--out".to_owned(), out_path.display().to_string()]);
        let (status, printed) = suyuan(&args);
        assert_eq!(status, 2, "{args:?}: {printed}");
        assert!(!out_path.exists(), "{args:?}");
    }
    // An Ecode and a Handle id, as their own labels carry them, resolve on the node too: the
    // lot's Ecode alias to the lot, the Handle model to the model.
    let (status, location, body) = get(&format!("{root}/ecode/100126950100002601"));
    assert_eq!(status, 307, "{body}");
    assert_eq!(
        location.as_deref(),
        Some("/v1/products/01%2F06950123450012%2F10%2FC2601A")
    );
    let (status, location, body) = get(&format!("{root}/handle/88.118.8/model/JZT-2B42H"));
    assert_eq!(status, 307, "{body}");
    let location = location.unwrap();
    assert_eq!(location, "/v1/models/handle%3A88.118.8%2Fmodel%2FJZT-2B42H");
    let (status, _, body) = get(&format!("{root}{location}"));
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = get(&format!("{root}/ecode/123"));
    assert_eq!(status, 400, "{body}");

    // A scanned link whose linkType names another site still lands on the node.
    let (status, location, _) = get(&format!("{link}?linkType=https%3A%2F%2Fevil.example%2F"));
    assert_eq!(status, 307);
    assert!(location.unwrap().starts_with("/v1/products/"));
}

/// Debian's Chromium, if installed (scripts/ensure-test-deps.sh installs it when it can).
fn chromium() -> Option<std::path::PathBuf> {
    let output = Command::new("sh")
        .args(["-c", "command -v chromium"])
        .output()
        .ok()?;
    let path = String::from_utf8(output.stdout).ok()?;
    let path = path.trim();
    (output.status.success() && !path.is_empty()).then(|| path.into())
}

/// Runs headless Chromium on `url` with `args` (a throwaway profile in `dir`, the reader's
/// languages `languages`): its stdout.
fn browse(
    chromium: &std::path::Path,
    dir: &std::path::Path,
    languages: &str,
    url: &str,
    args: &[&str],
) -> String {
    let profile = dir.join("chromium-profile");
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--accept-lang={languages}"))
        .args(args)
        .arg(url)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "chromium {args:?} {url}: {output:?}"
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A PNG's width and height, from its header.
fn png_size(path: &std::path::Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    (info.width, info.height)
}

/// Where this test binary's outputs for people go: `<target>/test-output/<name>`.
fn test_output(name: &str) -> std::path::PathBuf {
    let dir = suyuan_binary()
        .parent()
        .and_then(std::path::Path::parent)
        .expect("the binary sits in <target>/<profile>")
        .join("test-output")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A buyer scans a printed label with a phone and reads the batch's page in a real browser
/// (headless Chromium), on a running 4-validator consortium: in Chinese for a Chinese phone,
/// in English when asked; a recalled batch shows its recall before anything else; the item
/// sold to a person never shows the person; a procurement officer finds the maker by name and
/// opens its supplier report. Screenshots at desktop and phone widths are saved
/// under `<target>/test-output/pages/`.
#[test]
fn a_scanned_label_opens_the_product_page_in_a_real_browser() {
    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED: Chromium is not installed; the page tests need a real browser \
             (sudo apt-get install -y chromium, or run scripts/ensure-test-deps.sh as root)"
        );
        return;
    };
    let dev = Dev::start("browser");
    let root = format!("http://127.0.0.1:{}", dev.api_port);
    let lot = "01/06950123450012/10/C2601A";
    let png_path = dev.dir.join("label.png");
    let args: Vec<String> = ["label", lot, "--root", &root, "--out"]
        .map(str::to_owned)
        .into_iter()
        .chain([png_path.display().to_string()])
        .collect();
    let (status, printed) = suyuan(&args);
    assert_eq!(status, 0, "{printed}");
    let link = scan(&png_path);
    assert_eq!(link, format!("{root}/{lot}"));

    // The phone opens the scanned link: the resolver sends a browser to the page.
    let dom = browse(&chromium, &dev.dir, "zh-CN,zh", &link, &["--dump-dom"]);
    assert!(dom.contains("<html lang=\"zh-CN\">"), "{dom}");
    for words in [
        "流转记录",
        "生产赋码",
        "销售",
        "核验",
        "无召回记录",
        "个验证节点签名最终确认",
    ] {
        assert!(dom.contains(words), "{words}: {dom}");
    }
    assert!(!dom.contains("role=\"alert\""), "{dom}");
    let english = browse(&chromium, &dev.dir, "en-US,en", &link, &["--dump-dom"]);
    assert!(english.contains("<html lang=\"en\">"), "{english}");
    assert!(
        english.contains("Flow") && english.contains("Verify"),
        "{english}"
    );

    // The recalled cooker batch: the banner first.
    let cooker = suyuan_ledger::demo::Demo::cooker_gtin();
    let recalled = format!("{root}/01/{cooker}/10/G2601B");
    let dom = browse(&chromium, &dev.dir, "zh-CN,zh", &recalled, &["--dump-dom"]);
    let alert = dom
        .find("role=\"alert\"")
        .unwrap_or_else(|| panic!("no recall banner: {dom}"));
    assert!(alert < dom.find("<h1>").unwrap());
    assert!(dom.contains("本批次已被召回"), "{dom}");
    // The cooker sold to a person: the sale, not the person.
    let item = format!("{root}/01/{cooker}/21/G26SN00001");
    let dom = browse(&chromium, &dev.dir, "zh-CN,zh", &item, &["--dump-dom"]);
    assert!(dom.contains("个人消费者（个人信息不公开）"), "{dom}");
    let demo = suyuan_ledger::demo::Demo::new(4, dev.p2p_port);
    let (retail, _) = demo.retail_buyer();
    for secret in [
        retail.name.as_str(),
        retail.address.as_str(),
        "crm://orders",
    ] {
        assert!(!dom.contains(secret), "{secret} shown: {dom}");
    }

    // A procurement officer finds the maker by name and opens its supplier report.
    let search = format!("{root}/suppliers?q=Changjiang");
    let dom = browse(&chromium, &dev.dir, "zh-CN,zh", &search, &["--dump-dom"]);
    let maker = &demo.enterprises[suyuan_ledger::demo::who::CABLE_MAKER].profile;
    assert!(
        dom.contains(maker.name.as_str()) && dom.contains("按企业名称"),
        "{dom}"
    );
    let report_path = format!("/v1/enterprises/{}/report?format=html", maker.uscc);
    assert!(
        dom.contains(&report_path.replace('&', "&amp;")) || dom.contains(&report_path),
        "{dom}"
    );
    let dom = browse(
        &chromium,
        &dev.dir,
        "zh-CN,zh",
        &format!("{root}{report_path}"),
        &["--dump-dom"],
    );
    assert!(
        dom.contains(maker.name.as_str()) && dom.contains(&maker.uscc.to_string()),
        "{dom}"
    );

    // Screenshots as people see them, at a desktop's and a phone's width.
    let output = test_output("pages");
    for (name, url, width) in [
        ("batch-desktop.png", link.as_str(), 1280),
        ("batch-phone.png", link.as_str(), 390),
        ("recalled-phone.png", recalled.as_str(), 390),
        ("search-phone.png", search.as_str(), 390),
    ] {
        let path = output.join(name);
        let _ = std::fs::remove_file(&path);
        browse(
            &chromium,
            &dev.dir,
            "zh-CN,zh",
            url,
            &[
                &format!("--screenshot={}", path.display()),
                &format!("--window-size={width},2200"),
            ],
        );
        assert_eq!(png_size(&path), (width, 2200), "{}", path.display());
    }
}
