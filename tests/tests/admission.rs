//! Hostile clients against a consortium of four `suyuan run` processes on loopback.
//!
//! An anonymous client, from its own loopback address (127.0.0.66), sends batches of 1,000
//! envelopes whose signatures are well-formed but wrong (so that only the batch equation
//! fails, the most expensive thing to refuse) as fast as it can, from several connections at
//! once. Meanwhile an honest client (127.0.0.1) submits valid records one at a time to the same
//! node. What must hold: every honest submission is admitted (no `503`), promptly (p99 well
//! under a second, measured against the same client without the attack in the same run), and
//! committed; the attacker is refused.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, uscc};
use suyuan_ledger::genesis::Genesis;
use suyuan_ledger::record::{EnterpriseProfile, Record, RegisterEnterprise};
use suyuan_ledger::tx::{ChainBinding, Envelope, Payload};
use suyuan_tests::{Testnet, http_get, http_post_from};

/// The honest client's address.
const HONEST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The attacker's address.
const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 66));

/// Envelopes in each of the attacker's batches: the API's largest batch.
const ATTACK_BATCH: usize = 1_000;

/// Connections the attacker sends batches on at once.
const ATTACK_CONNECTIONS: usize = 3;

/// Honest submissions measured without the attack.
const BASELINE_SUBMISSIONS: u32 = 150;

/// Honest submissions measured under the attack: with the pace, longer than the attacker's
/// first refusal, so that the window holds its first batches (the most expensive) and a
/// batch after its first refusal has run out.
const UNDER_ATTACK_SUBMISSIONS: u32 = 500;

/// Pause between two honest submissions.
const HONEST_PACE: Duration = Duration::from_millis(20);

/// The slowest honest submission allowed at the 99th percentile under attack.
const MAX_P99: Duration = Duration::from_secs(1);

/// Bound on one HTTP request.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// How long the honest records may take to commit, on a loaded machine.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(90);

#[test]
fn n4_an_anonymous_client_flooding_crafted_signatures_does_not_hold_up_honest_submissions() {
    let testnet = Testnet::init("admission", 4, 0);
    testnet.start(&[]);
    let records = Enrolments {
        chain: binding(&testnet),
        registrar: read_key(&testnet.key_path("bureau")),
        template: Demo::new(4, 7_100).enterprises[0].profile.clone(),
    };
    let api = testnet.api_url(0);

    let baseline = honest_submissions(&api, &records, 0, BASELINE_SUBMISSIONS);

    let attacking = Arc::new(AtomicBool::new(true));
    let crafted = Arc::new(records.crafted_batch());
    let attackers: Vec<_> = (0..ATTACK_CONNECTIONS)
        .map(|_| {
            let (attacking, crafted, api) =
                (Arc::clone(&attacking), Arc::clone(&crafted), api.clone());
            std::thread::spawn(move || attack(&api, &crafted, &attacking))
        })
        .collect();
    let under_attack = honest_submissions(&api, &records, 1_000, UNDER_ATTACK_SUBMISSIONS);
    attacking.store(false, Ordering::Relaxed);
    let mut tally = AttackTally::default();
    for attacker in attackers {
        tally.add(&attacker.join().unwrap());
    }

    let (base_p50, base_p99) = (
        percentile(&baseline.latencies, 50),
        percentile(&baseline.latencies, 99),
    );
    let (attack_p50, attack_p99) = (
        percentile(&under_attack.latencies, 50),
        percentile(&under_attack.latencies, 99),
    );
    eprintln!(
        "honest submissions to node 0, one at a time: without the attack p50 {base_p50:?} p99 \
         {base_p99:?} max {:?}; while 127.0.0.66 sent crafted batches of {ATTACK_BATCH} on \
         {ATTACK_CONNECTIONS} connections: p50 {attack_p50:?} p99 {attack_p99:?} max {:?}; \
         the attacker's requests: {tally:?}",
        baseline.latencies.last().unwrap(),
        under_attack.latencies.last().unwrap(),
    );
    assert!(
        tally.refused_before_checks > 0 && tally.admitted == 0,
        "the attacker is refused: {tally:?}"
    );
    assert!(
        attack_p99 < MAX_P99,
        "honest p99 {attack_p99:?} under attack (without: {base_p99:?})"
    );

    // Every honest record commits.
    let deadline = Instant::now() + COMMIT_TIMEOUT;
    let mut waiting: Vec<&String> = baseline.ids.iter().chain(&under_attack.ids).collect();
    while !waiting.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} honest transactions not committed in {COMMIT_TIMEOUT:?}",
            waiting.len()
        );
        waiting.retain(|id| !committed(&api, id));
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What the honest client saw: each submission's latency (sorted) and id.
struct Honest {
    latencies: Vec<Duration>,
    ids: Vec<String>,
}

/// Submits `count` fresh enrolments by the bureau from [`HONEST`], one at a time; each must be
/// admitted (202).
fn honest_submissions(api: &str, records: &Enrolments, first: u32, count: u32) -> Honest {
    let mut honest = Honest {
        latencies: Vec::new(),
        ids: Vec::new(),
    };
    for number in first..first + count {
        let body = serde_json::to_vec(&records.enrolment(number)).unwrap();
        let started = Instant::now();
        let response = http_post_from(api, "/v1/transactions", &body, HONEST, HTTP_TIMEOUT)
            .unwrap_or_else(|e| panic!("honest submission {number}: {e}"));
        honest.latencies.push(started.elapsed());
        assert_eq!(
            response.status,
            202,
            "honest submission {number}: {}",
            response.text()
        );
        let answer: Value = serde_json::from_slice(&response.body).unwrap();
        honest.ids.push(answer["id"].as_str().unwrap().to_owned());
        std::thread::sleep(HONEST_PACE);
    }
    honest.latencies.sort();
    honest
}

/// What the attacker's requests got.
#[derive(Debug, Default)]
struct AttackTally {
    /// Batches answered with per-envelope results (checked, or partly refused unchecked).
    answered: u64,
    /// Envelopes admitted: must stay 0.
    admitted: u64,
    /// Requests refused before anything was checked (429 `throttled`).
    refused_before_checks: u64,
    /// Requests with another status.
    other_status: u64,
    /// Requests the node cut off (it answers a refused client without reading its body).
    cut_off: u64,
}

impl AttackTally {
    fn add(&mut self, other: &AttackTally) {
        self.answered += other.answered;
        self.admitted += other.admitted;
        self.refused_before_checks += other.refused_before_checks;
        self.other_status += other.other_status;
        self.cut_off += other.cut_off;
    }
}

/// Sends `body` from [`ATTACKER`] again and again until `attacking` turns false.
fn attack(api: &str, body: &[u8], attacking: &AtomicBool) -> AttackTally {
    let mut tally = AttackTally::default();
    while attacking.load(Ordering::Relaxed) {
        match http_post_from(api, "/v1/transactions/batch", body, ATTACKER, HTTP_TIMEOUT) {
            Ok(response) if response.status == 200 => {
                tally.answered += 1;
                let answer: Value = serde_json::from_slice(&response.body).unwrap();
                let results = answer["results"].as_array().unwrap();
                let ok = results.iter().filter(|result| result.get("id").is_some());
                tally.admitted += ok.count() as u64;
            }
            Ok(response) if response.status == 429 => tally.refused_before_checks += 1,
            Ok(_) => tally.other_status += 1,
            Err(_) => tally.cut_off += 1,
        }
    }
    tally
}

/// What the testnet's transactions sign besides their payloads: its chain id and the hash of
/// the `genesis.json` that `init` wrote.
fn binding(testnet: &Testnet) -> ChainBinding {
    let bytes = std::fs::read(testnet.dir().join("genesis.json")).expect("init wrote genesis.json");
    Genesis::from_json(&bytes)
        .expect("init wrote a valid genesis")
        .binding()
}

/// Enrolments of fresh enterprises by one registrar.
struct Enrolments {
    chain: ChainBinding,
    registrar: KeyPair,
    /// The profile each enrolment copies, with its own USCC and name.
    template: EnterpriseProfile,
}

impl Enrolments {
    /// A fresh enrolment, `number` telling it apart.
    fn enrolment(&self, number: u32) -> Envelope {
        let mut enterprise = self.template.clone();
        enterprise.uscc = uscc(&format!("91420100MB{number:07}"));
        enterprise.name = format!("Admission test enterprise {number}")
            .parse()
            .unwrap();
        let payload = Payload {
            nonce: u64::from(number),
            record: Record::RegisterEnterprise(RegisterEnterprise {
                enterprise,
                keys: vec![KeyPair::insecure_from_label(&format!("admission {number}")).public()],
                prefixes: Vec::new(),
            }),
            event: None,
        };
        Envelope::sign(&self.chain, &payload, &self.registrar)
    }

    /// A batch of enrolments whose signatures are the registrar's valid signature of another
    /// message: canonical encodings, so only the group equation fails. As JSON, ready to send.
    fn crafted_batch(&self) -> Vec<u8> {
        let wrong = self.registrar.sign(b"not the signed message");
        let batch: Vec<Envelope> = (0..ATTACK_BATCH as u32)
            .map(|number| Envelope {
                signature: wrong,
                ..self.enrolment(5_000_000 + number)
            })
            .collect();
        serde_json::to_vec(&batch).unwrap()
    }
}

/// Whether node `api` has committed transaction `id`.
fn committed(api: &str, id: &str) -> bool {
    let Ok(response) = http_get(api, &format!("/v1/transactions/{id}"), HTTP_TIMEOUT) else {
        return false;
    };
    let answer: Value = serde_json::from_slice(&response.body).unwrap_or_default();
    response.status == 200 && answer["status"] == "committed"
}

/// The key in a key file `suyuan testnet init` wrote.
fn read_key(path: &Path) -> KeyPair {
    let file: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let hex = file["secret_key"].as_str().unwrap();
    let mut seed = [0u8; 32];
    for (byte, pair) in seed.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap();
    }
    let key = KeyPair::from_seed(seed);
    assert_eq!(
        file["public_key"].as_str().unwrap(),
        key.public().to_string()
    );
    key
}

fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    sorted[(sorted.len() * percent / 100).min(sorted.len() - 1)]
}
