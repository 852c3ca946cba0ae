//! The curl examples of `docs/api.md`, run as an integrator would run them: each block fenced
//! as ```` ```sh test=NAME ```` runs in bash with the real `curl` against a real server holding
//! the demo chain, with `API` set to the server's address, in a directory holding the signed
//! `envelope.json` and `envelopes.json` the text describes. Each must exit 0 and print the JSON
//! its check below expects.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{COMMITTED_BLOCKS, Server, TempDir};
use suyuan_ledger::demo::Demo;

/// The document, read at build time so that editing it rebuilds this test.
const API_DOC: &str = include_str!("../../docs/api.md");

/// Longest one block may run.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(90);

/// The blocks marked for testing, in order: (name, script).
fn tested_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.strip_prefix("```sh test=") else {
            continue;
        };
        let mut script = String::new();
        for line in lines.by_ref() {
            if line.starts_with("```") {
                break;
            }
            script.push_str(line);
            script.push('\n');
        }
        blocks.push((name.trim().to_owned(), script));
    }
    blocks
}

/// Runs `script` in bash in `dir` with `API` set to `base`; returns its standard output.
async fn run(name: &str, script: &str, dir: &Path, base: &str) -> String {
    let child = tokio::process::Command::new("bash")
        .args(["-e", "-u", "-o", "pipefail", "-c", script])
        .current_dir(dir)
        .env("API", base)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(BLOCK_TIMEOUT, child)
        .await
        .unwrap_or_else(|_| panic!("block {name} ran longer than {BLOCK_TIMEOUT:?}"))
        .expect("bash runs");
    let stdout = String::from_utf8(output.stdout).expect("the output is UTF-8");
    assert!(
        output.status.success(),
        "block {name} failed with {}: stdout {stdout}, stderr {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Every JSON value `stdout` holds, in order; anything else in it fails the test.
fn json_values(name: &str, stdout: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|error| panic!("block {name} printed more than JSON: {error}: {stdout}"))
}

/// Asserts that none of `values` is an error body.
#[track_caller]
fn no_errors(name: &str, values: &[Value]) {
    for value in values {
        assert!(
            !(value.get("code").is_some() && value.get("message").is_some()),
            "block {name} printed an error: {value}"
        );
    }
}

/// Waits until the node holds `id` in its mempool, then commits story block 5 (which holds it):
/// what the consortium would do with a submitted transaction.
async fn commit_when_pending(server: &Server, id: suyuan_ledger::tx::TxId) {
    let deadline = Instant::now() + BLOCK_TIMEOUT;
    while !server.node.pending_ids().contains(&id) {
        assert!(
            Instant::now() < deadline,
            "the example never submitted {id}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let block = server.chain.story[COMMITTED_BLOCKS as usize].clone();
    server.chain.commit(COMMITTED_BLOCKS + 1, block);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_curl_examples_of_the_api_doc_run_against_a_real_server() {
    let curl = std::process::Command::new("curl").arg("--version").output();
    assert!(
        curl.is_ok_and(|output| output.status.success()),
        "these tests run the real curl: install it (apt-get install curl)"
    );
    let server = Server::start("docs").await;
    let dir = TempDir::new("docs-examples");
    let chain_id = server.chain.chain_id().to_owned();
    let chain = server.chain.binding().clone();
    let next = server.chain.story[COMMITTED_BLOCKS as usize].clone();
    assert!(
        next.len() >= 2,
        "block 5 of the story has one envelope for each file"
    );
    let (single, batch) = next.split_first().unwrap();
    std::fs::write(
        dir.path().join("envelope.json"),
        serde_json::to_vec(single).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("envelopes.json"),
        serde_json::to_vec(batch).unwrap(),
    )
    .unwrap();
    let single_id = single.id(&chain);
    let lot = format!("01/{}/10/C2601A", Demo::cable_gtin());

    let blocks = tested_blocks(API_DOC);
    let names: Vec<&str> = blocks.iter().map(|(name, _)| name.as_str()).collect();
    let expected = [
        "status",
        "batch",
        "submit",
        "blocks",
        "product",
        "code",
        "refused",
        "enterprises",
        "proofs",
    ];
    assert_eq!(
        names, expected,
        "each tested block has a check here, in order"
    );
    assert_eq!(
        names.iter().collect::<BTreeSet<_>>().len(),
        names.len(),
        "names are unique"
    );

    for (name, script) in &blocks {
        let stdout = if name == "submit" {
            let (stdout, ()) = tokio::join!(
                run(name, script, dir.path(), &server.base),
                commit_when_pending(&server, single_id)
            );
            stdout
        } else {
            run(name, script, dir.path(), &server.base).await
        };
        let values = json_values(name, &stdout);
        if name != "refused" {
            no_errors(name, &values);
        }
        match name.as_str() {
            "status" => {
                assert_eq!(values.len(), 1);
                assert_eq!(values[0]["chain_id"], chain_id);
                assert_eq!(values[0]["height"], COMMITTED_BLOCKS);
                assert_eq!(values[0]["sync"]["state"], "synced");
            }
            "batch" => {
                let results = values[0]["results"].as_array().expect("results");
                assert_eq!(results.len(), batch.len());
                for (result, envelope) in results.iter().zip(batch) {
                    assert_eq!(result["id"], envelope.id(&chain).to_hex(), "{result}");
                }
            }
            "submit" => {
                assert_eq!(values.len(), 2, "{stdout}");
                assert_eq!(values[0]["status"], "pending");
                assert_eq!(values[0]["id"], single_id.to_hex());
                assert_eq!(values[1]["status"], "committed", "{}", values[1]);
                assert_eq!(values[1]["id"], single_id.to_hex());
                assert_eq!(values[1]["height"], COMMITTED_BLOCKS + 1);
            }
            "blocks" => {
                assert_eq!(values.len(), 3);
                assert_eq!(values[0]["height"], COMMITTED_BLOCKS + 1);
                assert_eq!(values[1]["height"], 3);
                assert_eq!(values[2]["height"], 3);
                let page = values[2]["transactions"].as_array().unwrap();
                assert_eq!(page.len(), 2);
                assert_eq!(page[0]["id"], values[1]["transactions"][0]);
            }
            "product" => {
                assert_eq!(values.len(), 1);
                assert_eq!(values[0]["code"], lot);
                assert!(values[0]["latest"].is_object());
                assert!(!values[0]["history"].as_array().unwrap().is_empty());
            }
            "code" => {
                assert_eq!(values.len(), 1);
                assert_eq!(values[0]["kind"], "gs1_digital_link");
                assert_eq!(values[0]["trace_code"], lot);
                assert_eq!(values[0]["check_digit_valid"], true);
                assert_eq!(
                    values[0]["latest"]["product"],
                    "/v1/products/01%2F06950123450012%2F10%2FC2601A"
                );
            }
            "refused" => {
                assert_eq!(values.len(), 1);
                assert_eq!(values[0]["code"], "invalid_code");
                assert_eq!(values[0]["field"], "code");
                assert_eq!(values[0]["check_digit_valid"], false);
            }
            "enterprises" => {
                assert_eq!(values.len(), 5, "{stdout}");
                assert_eq!(values[0]["uscc"], "91420100MA4K3B7X2B");
                assert!(values[1]["records"].is_array(), "{}", values[1]);
                let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
                assert!(page.contains("<html"), "{page}");
            }
            "proofs" => {
                assert_eq!(values.len(), 2, "{stdout}");
                let bundle: suyuan_proofs::bundle::ProofBundle =
                    serde_json::from_value(values[0].clone()).unwrap();
                let proven = bundle
                    .verify(&server.chain.demo.genesis)
                    .unwrap_or_else(|error| panic!("the example's bundle: {error}"));
                assert_eq!(proven.code.to_string(), lot);
                assert!(proven.record.is_some());
                let consistency: suyuan_proofs::bundle::ConsistencyBundle =
                    serde_json::from_value(values[1].clone()).unwrap();
                let old = server.chain.store.header(4).unwrap().unwrap();
                consistency
                    .verify(&server.chain.demo.genesis, &old)
                    .unwrap_or_else(|error| panic!("the example's consistency proof: {error}"));
            }
            other => panic!("no check for block {other}"),
        }
    }
}
