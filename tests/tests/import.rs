//! `suyuan import` against a 4-validator testnet of processes, whose node it talks to is
//! killed (SIGKILL) and started again in the middle of the import.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use suyuan_ledger::text::Date;
use suyuan_tests::{Testnet, http_get, suyuan_binary};

/// Rows of a regulator's market-sampling results (市场抽检): one inspection each.
const ROWS: usize = 3_000;

/// The bureau's market-sampling results, `ROWS` conformant samplings of cables bought in
/// Wuhan, dated today.
fn sampling_results() -> String {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let today = Date::from_unix_ms_china(now_ms);
    let maker = suyuan_ledger::demo::uscc("91420100MA4K5D9T3");
    let mut csv = String::from(
        "sampled_maker,sampled_maker_name,sampled_product_name,sampled_model,sampled_category,\
         sampled_on,sampled_in,sampled_place,outcome,standards,inspected_on,report_number,\
         report_sha256\n",
    );
    for row in 0..ROWS {
        csv += &format!(
            "{maker},武汉某电缆厂,聚氯乙烯绝缘电缆,BV 4 mm²,wires_cables,{today},420104,\
             汉正街五金市场 {row},conformant,GB/T 5023.3-2008,{today},WH-CJ-{row:05},{}\n",
            "ab".repeat(32)
        );
    }
    csv
}

/// The transactions in every block of node `index`, counted.
fn transactions_on_chain(testnet: &Testnet, index: usize) -> usize {
    let api = testnet.api_url(index);
    let status = http_get(&api, "/v1/status", Duration::from_secs(10)).unwrap();
    let status: Value = serde_json::from_slice(&status.body).unwrap();
    let height = status["height"].as_u64().unwrap();
    (1..=height)
        .map(|height| {
            let block = http_get(
                &api,
                &format!("/v1/blocks/{height}"),
                Duration::from_secs(10),
            )
            .unwrap();
            let block: Value = serde_json::from_slice(&block.body).unwrap();
            block["transactions"].as_array().unwrap().len()
        })
        .sum()
}

/// The attacker is the machine: the node the importer talks to dies mid-import, losing its
/// mempool. The import waits for it, resubmits what was lost (the same transactions: nonces
/// derive from the rows), and every row ends committed exactly once.
#[test]
fn n4_import_through_a_killed_and_restarted_node_commits_every_row_exactly_once() {
    let testnet = Testnet::init("import-restart", 4, 6);
    testnet.start(&[]);
    let file = testnet.dir().join("sampling.csv");
    std::fs::write(&file, sampling_results()).unwrap();
    let journal = file.with_extension("import-journal");
    let child = Command::new(suyuan_binary())
        .args(["import", "--json", "--kind", "inspect", "--batch", "100"])
        .args(["--api", &testnet.api_url(0)])
        .arg("--key")
        .arg(testnet.key_path("bureau"))
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::read_to_string(&journal).map_or(0, |j| j.lines().count()) < 300 {
        assert!(
            Instant::now() < deadline,
            "no 300 commits within two minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    testnet.kill(&[0]);
    std::thread::sleep(Duration::from_secs(2));
    testnet.start(&[0]);
    let output = child.wait_with_output().unwrap();
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{error}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(output.status.code(), Some(0), "{summary}");
    assert_eq!(summary["refused"], 0, "{summary}");
    let committed = summary["committed"].as_u64().unwrap();
    let earlier = summary["committed_earlier"].as_u64().unwrap();
    // A transaction lost with the mempool but gossiped and committed before it was submitted
    // again is found as a replay: committed, if not by this run's own submission.
    assert_eq!(committed + earlier, ROWS as u64, "{summary}");
    assert_eq!(transactions_on_chain(&testnet, 1), ROWS, "each row once");
}
