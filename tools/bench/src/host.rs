//! Measure the machine the benchmark runs on: the nodes' resident memory, one core's ed25519
//! verification rate, and what the machine is.

use std::path::Path;
use std::time::{Duration, Instant};

use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use suyuan_ledger::crypto::{PublicKey, Signature, SignatureCheck, verify_batch};
use suyuan_ledger::tx::{ChainBinding, Envelope, signing_message};

/// How long the verification rate is measured for.
pub(crate) const VERIFY_MEASURE_TIME: Duration = Duration::from_secs(2);

/// Most distinct signatures the verification loop cycles through.
const VERIFY_SAMPLES: usize = 1_024;

/// One node's memory, from `/proc/<pid>/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct NodeMemory {
    /// The validator's index.
    pub(crate) validator: usize,
    /// Its process id, if its pid file named a running node.
    pub(crate) pid: Option<u32>,
    /// Resident memory now, KiB (`VmRSS`).
    pub(crate) rss_kib: Option<u64>,
    /// Peak resident memory, KiB (`VmHWM`).
    pub(crate) peak_rss_kib: Option<u64>,
    /// Why the figures are missing, if they are.
    pub(crate) unavailable: Option<String>,
}

/// Reads validator `index`'s memory. Missing figures are reported as such, not as an error:
/// the load figures stand without them.
pub(crate) fn node_memory(testnet_dir: &Path, index: usize) -> NodeMemory {
    let pid = match node_pid(testnet_dir, index) {
        Ok(pid) => pid,
        Err(reason) => {
            return NodeMemory {
                validator: index,
                pid: None,
                rss_kib: None,
                peak_rss_kib: None,
                unavailable: Some(reason),
            };
        }
    };
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(status) => NodeMemory {
            validator: index,
            pid: Some(pid),
            rss_kib: status_field_kib(&status, "VmRSS"),
            peak_rss_kib: status_field_kib(&status, "VmHWM"),
            unavailable: None,
        },
        Err(error) => NodeMemory {
            validator: index,
            pid: Some(pid),
            rss_kib: None,
            peak_rss_kib: None,
            unavailable: Some(format!("/proc/{pid}/status: {error}")),
        },
    }
}

/// The pid of validator `index`'s running process, from `<dir>/validator-<index>/node.pid`
/// (written by `testnet/start.sh`), or why there is none.
pub(crate) fn node_pid(testnet_dir: &Path, index: usize) -> Result<u32, String> {
    let pid_path = testnet_dir
        .join(format!("validator-{index}"))
        .join("node.pid");
    let text = std::fs::read_to_string(&pid_path)
        .map_err(|error| format!("{}: {error}", pid_path.display()))?;
    let pid: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{} holds no pid", pid_path.display()))?;
    // The pid file may be stale and the pid reused: the process must be this validator's.
    let own = std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
        String::from_utf8_lossy(&cmdline).contains(&format!("validator-{index}"))
    });
    if own {
        Ok(pid)
    } else {
        Err(format!("process {pid} is not running validator-{index}"))
    }
}

/// Clock ticks per second of `/proc` CPU times (`USER_HZ`): 100 on every architecture Linux
/// builds for with a stable ABI.
const USER_HZ: f64 = 100.0;

/// CPU times read at one instant, in clock ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CpuSample {
    /// The whole machine's busy time (all but idle and I/O wait).
    machine_busy: u64,
    /// The whole machine's time.
    machine_total: u64,
    /// Each node's user and system time, if it could be read.
    nodes: Vec<Option<u64>>,
    /// This process's user and system time.
    own: u64,
}

/// Where the CPU went between two samples, in cores (1.0 is one core busy all the time).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CpuUse {
    /// Each node, in validator order (`None` if unknown).
    pub(crate) nodes: Vec<Option<f64>>,
    /// The benchmark process itself.
    pub(crate) bench: f64,
    /// Everything else on the machine.
    pub(crate) other: f64,
    /// Idle (and waiting for I/O).
    pub(crate) idle: f64,
}

/// Samples CPU times of the machine, of the nodes `pids` and of this process.
pub(crate) fn cpu_sample(pids: &[Option<u32>]) -> CpuSample {
    let (machine_busy, machine_total) = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|stat| machine_ticks(&stat))
        .unwrap_or_default();
    let process = |path: String| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|stat| process_ticks(&stat))
    };
    CpuSample {
        machine_busy,
        machine_total,
        nodes: pids
            .iter()
            .map(|pid| pid.and_then(|pid| process(format!("/proc/{pid}/stat"))))
            .collect(),
        own: process("/proc/self/stat".into()).unwrap_or_default(),
    }
}

impl CpuUse {
    /// The CPU used between `before` and `after`, `seconds` apart.
    pub(crate) fn between(before: &CpuSample, after: &CpuSample, seconds: f64) -> CpuUse {
        let cores = |ticks: u64| ticks as f64 / USER_HZ / seconds;
        let nodes: Vec<Option<u64>> = before
            .nodes
            .iter()
            .zip(&after.nodes)
            .map(|(before, after)| Some(after.as_ref()?.saturating_sub(*before.as_ref()?)))
            .collect();
        let own = after.own.saturating_sub(before.own);
        let busy = after.machine_busy.saturating_sub(before.machine_busy);
        let total = after.machine_total.saturating_sub(before.machine_total);
        let known: u64 = nodes.iter().flatten().sum::<u64>() + own;
        CpuUse {
            nodes: nodes.into_iter().map(|ticks| ticks.map(cores)).collect(),
            bench: cores(own),
            other: cores(busy.saturating_sub(known)),
            idle: cores(total.saturating_sub(busy)),
        }
    }
}

/// Busy and total ticks from the `cpu` line of `/proc/stat`.
fn machine_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already
    // counted in user and nice.
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4).unwrap_or(&0);
    Some((total - idle, total))
}

/// User plus system ticks of a process, from its `/proc/<pid>/stat` (fields 14 and 15).
fn process_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state), so field n is at index n - 3.
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

/// The value of a `Name:   1234 kB` line of `/proc/<pid>/status`, in KiB.
fn status_field_kib(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(':')?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// One core's ed25519 verification rates, each measured for [`VERIFY_MEASURE_TIME`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct VerifyRates {
    /// One signature at a time through the ledger's `PublicKey::verify` (decoded keys cached).
    pub(crate) single_per_s: f64,
    /// Through the ledger's `verify_batch`, in batches of up to [`VERIFY_SAMPLES`]: what a node
    /// pays per signature.
    pub(crate) batch_per_s: f64,
    /// One at a time through ed25519-dalek's `verify_strict` with each key decoded beforehand:
    /// the reference for the cost of one verification.
    pub(crate) dalek_strict_per_s: f64,
}

/// Measures one core's verification rates over the signatures of `envelopes` (the
/// transactions about to be sent): what a node must do at least once per transaction.
///
/// # Panics
/// If a signature does not verify: the envelopes were signed by this process.
pub(crate) fn verify_rates(chain: &ChainBinding, envelopes: &[Envelope]) -> VerifyRates {
    let samples: Vec<(PublicKey, Vec<u8>, Signature)> = envelopes
        .iter()
        .take(VERIFY_SAMPLES)
        .map(|envelope| {
            (
                envelope.signer,
                signing_message(chain, &envelope.payload),
                envelope.signature,
            )
        })
        .collect();
    assert!(!samples.is_empty(), "there is at least one transaction");
    let single_per_s = per_second(samples.len(), || {
        for (key, message, signature) in &samples {
            key.verify(message, signature)
                .expect("the benchmark's own signatures verify");
        }
    });
    let checks: Vec<SignatureCheck<'_>> = samples
        .iter()
        .map(|(key, message, signature)| SignatureCheck {
            key,
            message,
            signature,
        })
        .collect();
    let batch_per_s = per_second(checks.len(), || {
        assert!(
            verify_batch(&checks).iter().all(Result::is_ok),
            "the benchmark's own signatures verify"
        );
    });
    let decoded: Vec<(VerifyingKey, &[u8], ed25519_dalek::Signature)> = samples
        .iter()
        .map(|(key, message, signature)| {
            (
                VerifyingKey::from_bytes(key.as_bytes()).expect("a PublicKey is a curve point"),
                message.as_slice(),
                ed25519_dalek::Signature::from_bytes(signature.as_bytes()),
            )
        })
        .collect();
    let dalek_strict_per_s = per_second(decoded.len(), || {
        for (key, message, signature) in &decoded {
            key.verify_strict(message, signature)
                .expect("the benchmark's own signatures verify");
        }
    });
    VerifyRates {
        single_per_s,
        batch_per_s,
        dalek_strict_per_s,
    }
}

/// Runs `round` (which does `per_round` operations) for [`VERIFY_MEASURE_TIME`]; operations
/// per second.
fn per_second(per_round: usize, mut round: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut done: u64 = 0;
    while start.elapsed() < VERIFY_MEASURE_TIME {
        round();
        done += per_round as u64;
    }
    done as f64 / start.elapsed().as_secs_f64()
}

/// What the machine is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Machine {
    /// Logical CPUs this process may use.
    pub(crate) cores: usize,
    /// The CPU's model name, from `/proc/cpuinfo`.
    pub(crate) cpu: Option<String>,
    /// Total memory, MiB, from `/proc/meminfo`.
    pub(crate) memory_mib: Option<u64>,
}

/// Describes this machine.
pub(crate) fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Machine {
        cores: super::workload::signing_threads().get(),
        cpu: cpuinfo.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            (name.trim() == "model name").then(|| value.trim().to_owned())
        }),
        memory_mib: status_field_kib(&meminfo, "MemTotal").map(|kib| kib / 1024),
    }
}

#[cfg(test)]
mod tests {
    use suyuan_ledger::crypto::KeyPair;
    use suyuan_ledger::demo::Demo;

    use super::*;

    #[test]
    fn status_fields_are_read_in_kib() {
        let status = "Name:\tsuyuan\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n";
        assert_eq!(status_field_kib(status, "VmRSS"), Some(102_400));
        assert_eq!(status_field_kib(status, "VmHWM"), Some(204_800));
        assert_eq!(status_field_kib(status, "VmSwap"), None);
        assert_eq!(status_field_kib(status, "Threads"), None);
    }

    #[test]
    fn cpu_times_are_parsed_and_split() {
        let stat = "cpu  1000 10 200 5000 100 0 5 0 0 0\ncpu0 500 5 100 2500 50 0 2 0 0 0\n";
        assert_eq!(machine_ticks(stat), Some((1215, 6315)));
        let process = "4242 (suyuan run) S 1 2 3 0 -1 4194304 96 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(process_ticks(process), Some(300));
        assert_eq!(process_ticks("4242 (x) S 1"), None);
        let before = CpuSample {
            machine_busy: 1_000,
            machine_total: 2_000,
            nodes: vec![Some(100), None],
            own: 10,
        };
        let after = CpuSample {
            machine_busy: 1_180,
            machine_total: 2_200,
            nodes: vec![Some(250), Some(5)],
            own: 20,
        };
        let used = CpuUse::between(&before, &after, 1.0);
        assert_eq!(used.nodes, vec![Some(1.5), None]);
        assert_eq!(used.bench, 0.1);
        assert!((used.other - 0.2).abs() < 1e-9, "{}", used.other);
        assert!((used.idle - 0.2).abs() < 1e-9, "{}", used.idle);
        // A real sample of this machine has this process in it.
        let sample = cpu_sample(&[None]);
        assert!(sample.machine_total > 0 && sample.machine_busy <= sample.machine_total);
    }

    #[test]
    fn memory_of_this_process_and_of_a_missing_pid_file() {
        let dir = std::env::temp_dir().join(format!("suyuan-bench-host-{}", std::process::id()));
        let node_dir = dir.join("validator-0");
        std::fs::create_dir_all(&node_dir).unwrap();
        let missing = node_memory(&dir, 0);
        assert_eq!(missing.pid, None);
        assert!(missing.unavailable.as_deref().unwrap().contains("node.pid"));
        // This test process is not a validator: its pid is refused as a stale one.
        std::fs::write(node_dir.join("node.pid"), std::process::id().to_string()).unwrap();
        let stale = node_memory(&dir, 0);
        assert_eq!(stale.rss_kib, None);
        assert!(
            stale
                .unavailable
                .unwrap()
                .contains("not running validator-0")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn memory_of_a_running_validator_process() {
        let dir = std::env::temp_dir().join(format!("suyuan-bench-node-{}", std::process::id()));
        let node_dir = dir.join("validator-2");
        std::fs::create_dir_all(&node_dir).unwrap();
        // A process whose command line names validator-2, as `suyuan run --config
        // .../validator-2/config.toml` does.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30", "validator-2"])
            .spawn()
            .unwrap();
        std::fs::write(node_dir.join("node.pid"), child.id().to_string()).unwrap();
        // Until the child has exec'd, its command line is still this test's.
        let cmdline = format!("/proc/{}/cmdline", child.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !std::fs::read(&cmdline)
            .unwrap_or_default()
            .windows(b"validator-2".len())
            .any(|window| window == b"validator-2")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the child never exec'd"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let memory = node_memory(&dir, 2);
        child.kill().unwrap();
        child.wait().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(memory.unavailable, None);
        assert_eq!(memory.pid, Some(child.id()));
        let (rss, peak) = (memory.rss_kib.unwrap(), memory.peak_rss_kib.unwrap());
        assert!(rss > 0 && rss <= peak, "{rss} {peak}");
    }

    #[test]
    fn verify_rates_count_verifications() {
        let key = KeyPair::insecure_from_label("bench verify");
        let demo = Demo::new(4, 7100);
        let chain = demo.genesis.binding();
        let payload = suyuan_ledger::tx::Payload {
            nonce: 1,
            record: demo.story()[0][0]
                .clone()
                .verify(&chain)
                .unwrap()
                .payload
                .record,
            event: None,
        };
        let envelope = Envelope::sign(&chain, &payload, &key);
        let rates = verify_rates(&chain, &[envelope]);
        // Any machine verifies more than 1,000 and fewer than 10 million signatures a second on
        // one core; how the two paths compare is for the benchmark's report, not a test.
        assert!((1e3..1e7).contains(&rates.single_per_s), "{rates:?}");
        assert!((1e3..1e7).contains(&rates.batch_per_s), "{rates:?}");
        assert!((1e3..1e7).contains(&rates.dalek_strict_per_s), "{rates:?}");
    }
}
