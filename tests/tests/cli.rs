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
/// lot's history exported as EPCIS holds the captured event.
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

    let (status, text) = capture("distributor.key", &document_path, &[]);
    assert_eq!(status, 0, "{text}");
    assert!(text.contains("committed at height"), "{text}");
    let (status, text) = capture("distributor.key", &document_path, &["--json"]);
    assert_eq!(status, 1, "{text}");
    let outcomes: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(outcomes[0]["status"], "refused", "{text}");
    assert_eq!(outcomes[0]["error"]["code"], "replay", "{text}");
    let (status, text) = capture("cable-maker.key", &document_path, &["--json"]);
    assert_eq!(status, 1, "{text}");
    let outcomes: Value = serde_json::from_str(&text).unwrap();
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
    let (status, text) = capture("distributor.key", &mixed, &["--json"]);
    assert_eq!(status, 1, "{text}");
    let outcomes: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(outcomes[0]["status"], "skipped", "{text}");
    assert_eq!(outcomes[1]["error"]["code"], "epcis_unsupported", "{text}");
    // Proceed: the sale goes in, the other is reported.
    let (status, text) = capture(
        "distributor.key",
        &mixed,
        &["--json", "--error-behaviour", "proceed"],
    );
    assert_eq!(status, 1, "{text}");
    let outcomes: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(outcomes[0]["status"], "committed", "{text}");

    // The lot's history, exported, holds both captured sales with their event ids.
    let lot = document["epcisBody"]["eventList"][0]["quantityList"][0]["epcClass"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, text) = suyuan(&[
        "epcis".into(),
        "export".into(),
        "--api".into(),
        api.clone(),
        "--code".into(),
        lot,
    ]);
    assert_eq!(status, 0, "{text}");
    let exported: Value = serde_json::from_str(&text).unwrap();
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
