//! Run the simulator over many seeds per topology and fault; replay one with `SUYUAN_SIM_SEED`.

use super::{Behavior, Report, Scenario, run};

/// The seeds to run: `SUYUAN_SIM_SEED=s` runs just `s`, `SUYUAN_SIM_SEEDS=n` runs `0..n`,
/// otherwise `0..default`.
fn seeds(default: u64) -> std::ops::Range<u64> {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(seed) = var("SUYUAN_SIM_SEED") {
        return seed..seed + 1;
    }
    0..var("SUYUAN_SIM_SEEDS").unwrap_or(default)
}

/// Run `scenario` for every seed; fail with the seed and the command that replays it.
fn simulate(name: &str, scenario: &Scenario, default_seeds: u64) {
    let mut total = Report::default();
    let mut count = 0u64;
    for seed in seeds(default_seeds) {
        match run(scenario, seed) {
            Ok(r) => {
                count += 1;
                total.views += r.views;
                total.messages += r.messages;
                total.rejected += r.rejected;
                total.evidence += r.evidence;
                total.simulated_ms += r.simulated_ms;
                total.crashes += r.crashes;
                total.fetches += r.fetches;
                total.partitions += r.partitions;
                total.recovery_ms = total.recovery_ms.max(r.recovery_ms);
            }
            Err(failure) => panic!(
                "{name}: {failure}\nreplay: SUYUAN_SIM_SEED={seed} cargo test --release \
                 -p suyuan-consensus --lib sim::tests::{name} -- --exact --nocapture"
            ),
        }
    }
    eprintln!(
        "sim {name}: {count} seeds, {} views, {} simulated s, {} messages ({} refused), \
         {} evidence, {} crashes, {} partitions, {} fetches, slowest recovery {} ms",
        total.views,
        total.simulated_ms / 1000,
        total.messages,
        total.rejected,
        total.evidence,
        total.crashes,
        total.partitions,
        total.fetches,
        total.recovery_ms,
    );
}

use Behavior::{DoubleVoter, EquivocatingLeader, Garbage, InvalidBlocks, Replayer, Silent, Twins};

/// Seeds per scenario in a default run: 9 × 80 + 6 × 50 + 5 × 30 = 1,170 seeds in all.
const N4_SEEDS: u64 = 80;
const N7_SEEDS: u64 = 50;
const N10_SEEDS: u64 = 30;

macro_rules! scenario {
    ($name:ident, $n:expr, [$($b:expr),*], $seeds:expr) => {
        scenario!($name, $n, [$($b),*], $seeds, |_s: &mut Scenario| {});
    };
    ($name:ident, $n:expr, [$($b:expr),*], $seeds:expr, $tweak:expr) => {
        #[test]
        fn $name() {
            let mut scenario = Scenario::new($n, vec![$($b),*]);
            $tweak(&mut scenario);
            simulate(stringify!($name), &scenario, $seeds);
        }
    };
}

/// Partitions of up to 3 s in a 6 s chaos phase: validators fall far behind and must sync.
fn long_partitions(s: &mut Scenario) {
    s.network.max_partition_ms = 3_000;
    s.chaos_ms = 6_000;
}

scenario!(n4_honest_partitions_crashes, 4, [], N4_SEEDS);
scenario!(n4_honest_long_partitions, 4, [], N4_SEEDS, long_partitions);
scenario!(n4_f1_silent, 4, [Silent], N4_SEEDS);
scenario!(n4_f1_equivocating_leader, 4, [EquivocatingLeader], N4_SEEDS);
scenario!(n4_f1_double_voter, 4, [DoubleVoter], N4_SEEDS);
scenario!(n4_f1_invalid_blocks, 4, [InvalidBlocks], N4_SEEDS);
scenario!(n4_f1_garbage, 4, [Garbage], N4_SEEDS);
scenario!(n4_f1_replayer, 4, [Replayer], N4_SEEDS);
scenario!(n4_f1_twins, 4, [Twins], N4_SEEDS);
scenario!(n7_f2_silent, 7, [Silent, Silent], N7_SEEDS);
scenario!(
    n7_f2_equivocating_double_voter,
    7,
    [EquivocatingLeader, DoubleVoter],
    N7_SEEDS
);
scenario!(n7_f2_twins_garbage, 7, [Twins, Garbage], N7_SEEDS);
scenario!(
    n7_f2_invalid_replayer,
    7,
    [InvalidBlocks, Replayer],
    N7_SEEDS
);
scenario!(n7_f2_twins, 7, [Twins, Twins], N7_SEEDS);
scenario!(
    n7_f2_silent_long_partitions,
    7,
    [Silent, Silent],
    N7_SEEDS,
    long_partitions
);
scenario!(n10_f3_silent, 10, [Silent, Silent, Silent], N10_SEEDS);
scenario!(
    n10_f3_equivocators_twins,
    10,
    [EquivocatingLeader, DoubleVoter, Twins],
    N10_SEEDS
);
scenario!(
    n10_f3_invalid_garbage_replayer,
    10,
    [InvalidBlocks, Garbage, Replayer],
    N10_SEEDS
);
scenario!(n10_f3_twins, 10, [Twins, Twins, Twins], N10_SEEDS);
scenario!(
    n10_f3_mixed_long_partitions,
    10,
    [Twins, EquivocatingLeader, Replayer],
    N10_SEEDS,
    long_partitions
);

/// Run `scenario` with a deliberately broken rule until a safety violation is reported.
fn first_safety_violation(scenario: &Scenario, max_seeds: u64) -> Option<super::Failure> {
    (0..max_seeds).find_map(|seed| {
        run(scenario, seed)
            .err()
            .filter(|f| f.violation.is_safety())
    })
}

#[test]
fn mutation_quorum_2f_is_caught() {
    let mut scenario = Scenario::new(4, vec![EquivocatingLeader]);
    scenario.mutation = Some(crate::engine::Mutation::QuorumTwoF);
    let caught = first_safety_violation(&scenario, 200).expect("a quorum of 2f must be caught");
    eprintln!("mutation quorum 2f: {caught}");
    // Without the certificate check the fork itself must surface.
    scenario.check_certificates = false;
    let caught = first_safety_violation(&scenario, 200).expect("a quorum of 2f must fork");
    eprintln!("mutation quorum 2f, certificate check off: {caught}");
}

#[test]
fn mutation_forget_votes_on_restart_is_caught() {
    let mut scenario = Scenario::new(4, vec![]);
    scenario.crashes = 20;
    scenario.mutation = Some(crate::engine::Mutation::ForgetVotesOnRestart);
    let caught = first_safety_violation(&scenario, 200).expect("forgetting votes must be caught");
    eprintln!("mutation forget votes on restart: {caught}");
}
