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
#[test]
fn dev_writes_the_demo_keys_and_its_tour_write_commits() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("suyuan-cli-dev-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (p2p_port, api_port) = free_ports(4, 5);
    let mut dev = Command::new(suyuan_binary())
        .arg("dev")
        .arg("--dir")
        .arg(&dir)
        .args(["--p2p-port", &p2p_port.to_string()])
        .args(["--api-port", &api_port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(dev.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut tour_write = None;
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(command) = line.trim().strip_prefix("suyuan submit ") {
            tour_write = Some(command.to_owned());
        }
        if line.starts_with("Ctrl-C stops") || Instant::now() > deadline {
            break;
        }
    }
    let outcome = std::panic::catch_unwind(|| {
        let command = tour_write.expect("the tour shows a write");
        let args: Vec<&str> = command.split_whitespace().collect();
        for name in [
            "bureau",
            "association",
            "cable-maker",
            "gas-appliance-maker",
            "distributor",
            "lab",
        ] {
            let path = dir.join("keys").join(format!("{name}.key"));
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
        let readme = std::fs::read_to_string(dir.join("keys/README.txt")).unwrap();
        assert!(readme.contains("NOT SECRET"), "{readme}");
        let distributor = Command::new(suyuan_binary())
            .arg("public-key")
            .arg(dir.join("keys/distributor.key"))
            .output()
            .unwrap();
        let demo = suyuan_ledger::demo::Demo::new(4, p2p_port);
        assert_eq!(
            String::from_utf8(distributor.stdout).unwrap().trim(),
            demo.enterprises[suyuan_ledger::demo::who::DISTRIBUTOR]
                .key
                .public()
                .to_string()
        );
        for _ in 0..2 {
            let output = Command::new(suyuan_binary())
                .arg("submit")
                .args(&args)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "suyuan submit {command}: {text}");
            assert!(text.contains("committed at height"), "{text}");
        }
    });
    // SIGINT, as Ctrl-C: the nodes stop cleanly.
    let _ = Command::new("kill")
        .args(["-INT", &dev.id().to_string()])
        .status();
    let _ = dev.wait();
    std::fs::remove_dir_all(&dir).unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
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
