//! Read where the machine's CPU goes during a run (the service, the database server, this
//! driver, everything else) and what the machine is, from `/proc`.

use serde::{Deserialize, Serialize};

/// Clock ticks per second of `/proc` CPU times (`USER_HZ`): 100 on every architecture Linux
/// builds for with a stable ABI.
const USER_HZ: f64 = 100.0;

/// The processes whose CPU is counted apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Watched {
    /// The service's process.
    pub service: Option<u32>,
    /// The database server's first process (the postmaster): it and its children count.
    pub postgres: Option<u32>,
}

/// CPU times read at one instant, in clock ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuSample {
    /// The whole machine's busy time (all but idle and I/O wait).
    machine_busy: u64,
    /// The whole machine's time.
    machine_total: u64,
    service: Option<u64>,
    postgres: Option<u64>,
    own: u64,
}

/// Where the CPU went between two samples, in cores (1.0 is one core busy all the time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuUse {
    /// The service (`None` if it was not watched).
    pub service: Option<f64>,
    /// The database server, all its processes (`None` if it was not watched).
    pub postgres: Option<f64>,
    /// This driver.
    pub driver: f64,
    /// Everything else on the machine.
    pub other: f64,
    /// Idle (and waiting for I/O).
    pub idle: f64,
}

/// Samples the machine's, the watched processes' and this process's CPU times.
pub fn cpu_sample(watched: Watched) -> CpuSample {
    let (machine_busy, machine_total) = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|stat| machine_ticks(&stat))
        .unwrap_or_default();
    let stats = ProcessStat::all();
    let ticks_of = |pid: u32| stats.iter().find(|stat| stat.pid == pid).map(|s| s.ticks);
    let postgres = watched.postgres.and_then(|postmaster| {
        let own = stats.iter().find(|stat| stat.pid == postmaster)?;
        let children: u64 = stats
            .iter()
            .filter(|stat| stat.parent == postmaster)
            .map(|stat| stat.ticks)
            .sum();
        // The children it reaped (backends that ended) are in its own waited-for times.
        Some(own.ticks + own.reaped_ticks + children)
    });
    CpuSample {
        machine_busy,
        machine_total,
        service: watched.service.and_then(ticks_of),
        postgres,
        own: ticks_of(std::process::id()).unwrap_or_default(),
    }
}

impl CpuUse {
    /// The CPU used between `before` and `after`, `seconds` apart.
    pub fn between(before: &CpuSample, after: &CpuSample, seconds: f64) -> CpuUse {
        let cores = |ticks: u64| ticks as f64 / USER_HZ / seconds;
        let delta = |before: Option<u64>, after: Option<u64>| Some(after?.saturating_sub(before?));
        let service = delta(before.service, after.service);
        let postgres = delta(before.postgres, after.postgres);
        let own = after.own.saturating_sub(before.own);
        let busy = after.machine_busy.saturating_sub(before.machine_busy);
        let total = after.machine_total.saturating_sub(before.machine_total);
        let known = service.unwrap_or(0) + postgres.unwrap_or(0) + own;
        CpuUse {
            service: service.map(cores),
            postgres: postgres.map(cores),
            driver: cores(own),
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

/// What one process's `/proc/<pid>/stat` says of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcessStat {
    pid: u32,
    parent: u32,
    /// User plus system time (fields 14 and 15).
    ticks: u64,
    /// Its reaped children's user plus system time (fields 16 and 17).
    reaped_ticks: u64,
}

impl ProcessStat {
    /// Every process's that can be read now.
    fn all() -> Vec<ProcessStat> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| {
                let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                ProcessStat::parse(pid, &stat)
            })
            .collect()
    }

    fn parse(pid: u32, stat: &str) -> Option<ProcessStat> {
        // The command name (field 2) is in parentheses and may hold spaces: count from after
        // it, where field 3 (the state) is at index 0, so field n is at index n - 3.
        let after_name = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let number = |field: usize| -> Option<u64> { fields.get(field - 3)?.parse().ok() };
        Some(ProcessStat {
            pid,
            parent: u32::try_from(number(4)?).ok()?,
            ticks: number(14)? + number(15)?,
            reaped_ticks: number(16)? + number(17)?,
        })
    }
}

/// What the machine is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Logical CPUs this process may use.
    pub cores: usize,
    /// The CPU's model name, from `/proc/cpuinfo`.
    pub cpu: Option<String>,
    /// Total memory, MiB, from `/proc/meminfo`.
    pub memory_mib: Option<u64>,
    /// The 1-minute load average just before the run, from `/proc/loadavg`: work already on
    /// the machine.
    pub load_average_before: Option<f64>,
}

/// Describes this machine.
pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    Machine {
        cores: std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        cpu: cpuinfo.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            (name.trim() == "model name").then(|| value.trim().to_owned())
        }),
        memory_mib: meminfo.lines().find_map(|line| {
            let kib = line.strip_prefix("MemTotal:")?.trim().strip_suffix("kB")?;
            Some(kib.trim().parse::<u64>().ok()? / 1024)
        }),
        load_average_before: loadavg
            .split_whitespace()
            .next()
            .and_then(|value| value.parse().ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_stats_are_parsed_past_names_with_spaces() {
        let stat = "4242 (postgres: writer) S 17 2 3 0 -1 4194304 96 0 0 0 250 50 7 3 20 0 9 0";
        assert_eq!(
            ProcessStat::parse(4242, stat),
            Some(ProcessStat {
                pid: 4242,
                parent: 17,
                ticks: 300,
                reaped_ticks: 10,
            })
        );
        assert_eq!(ProcessStat::parse(1, "1 (x) S 0"), None);
        assert_eq!(
            machine_ticks("cpu  1000 10 200 5000 100 0 5 0 0 0\n"),
            Some((1215, 6315))
        );
    }

    #[test]
    fn cpu_use_splits_the_machine_between_the_watched_and_the_rest() {
        let before = CpuSample {
            machine_busy: 1_000,
            machine_total: 2_000,
            service: Some(100),
            postgres: Some(50),
            own: 10,
        };
        let after = CpuSample {
            machine_busy: 1_180,
            machine_total: 2_200,
            service: Some(200),
            postgres: Some(100),
            own: 20,
        };
        let used = CpuUse::between(&before, &after, 1.0);
        assert_eq!(used.service, Some(1.0));
        assert_eq!(used.postgres, Some(0.5));
        assert_eq!(used.driver, 0.1);
        assert!((used.other - 0.2).abs() < 1e-9, "{}", used.other);
        assert!((used.idle - 0.2).abs() < 1e-9, "{}", used.idle);
        // This process is found in a real sample.
        let sample = cpu_sample(Watched {
            service: Some(std::process::id()),
            postgres: None,
        });
        assert!(sample.service.is_some() && sample.postgres.is_none());
        assert!(sample.machine_total > 0 && sample.machine_busy <= sample.machine_total);
    }
}
