//! `suyuan-byzantine`: run one validator exactly as `suyuan run` does, but faulty on purpose.
//!
//! The consortium's tests (tests/tests/adversary.rs) start it in place of `suyuan run` for one
//! validator (or f of them) to show that the honest ones keep finalizing, keep their memory
//! bounded and keep answering clients. The misbehaviours are those of
//! [`suyuan_node::byzantine::Misbehaviour`]; with no flag it is an honest validator. It is a
//! separate binary so that the `suyuan` binary operators install has no way to misbehave.
//!
//! It takes `suyuan run`'s arguments (`run --config FILE`), so that the testnet scripts start
//! it in place of `suyuan` (`SUYUAN_BIN`); each misbehaviour is a flag or, for the scripts, a
//! `BYZANTINE_*` environment variable.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use suyuan_node::byzantine::Misbehaviour;

/// A Suyuan validator that misbehaves on purpose, for tests. Never deploy it.
#[derive(Debug, Parser)]
#[command(name = "suyuan-byzantine", version)]
struct Args {
    /// `run`, as for `suyuan run`.
    #[arg(value_parser = ["run"])]
    command: String,
    /// The node's configuration file, as for `suyuan run`.
    #[arg(long)]
    config: PathBuf,
    /// Skew the clock block times are stamped and judged with, in milliseconds (negative:
    /// behind).
    #[arg(
        long,
        env = "BYZANTINE_CLOCK_SKEW_MS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    clock_skew_ms: i64,
    /// Gossip this many batches per second of freshly signed transactions no rule admits.
    #[arg(long, env = "BYZANTINE_FLOOD_BATCHES_PER_SECOND", default_value_t = 0)]
    flood_batches_per_second: u32,
    /// Transactions in each flooded batch.
    #[arg(
        long,
        env = "BYZANTINE_FLOOD_BATCH_TRANSACTIONS",
        default_value_t = 256
    )]
    flood_batch_transactions: usize,
    /// Flood with random bytes in place of signatures: free to make, and each batch fails
    /// the receivers' batch signature check.
    #[arg(long, env = "BYZANTINE_FLOOD_FORGED")]
    flood_forged: bool,
    /// Send this many malformed consensus frames per second to every other validator.
    #[arg(long, env = "BYZANTINE_INVALID_FRAMES_PER_SECOND", default_value_t = 0)]
    invalid_frames_per_second: u32,
    /// Never send own votes.
    #[arg(long, env = "BYZANTINE_WITHHOLD_VOTES")]
    withhold_votes: bool,
    /// Follow each own notarize vote with a conflicting one.
    #[arg(long, env = "BYZANTINE_EQUIVOCATE")]
    equivocate: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(error) = suyuan_node::service::bound_malloc_arenas() {
        eprintln!("suyuan-byzantine: running with glibc's default malloc arenas: {error}");
    }
    let misbehaviour = Misbehaviour {
        clock_offset_ms: args.clock_skew_ms,
        flood_batches_per_second: args.flood_batches_per_second,
        flood_batch_transactions: args.flood_batch_transactions,
        flood_forged: args.flood_forged,
        invalid_frames_per_second: args.invalid_frames_per_second,
        withhold_votes: args.withhold_votes,
        equivocate: args.equivocate,
    };
    match suyuan_node::service::run_misbehaving(&args.config, misbehaviour) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("suyuan-byzantine: {error:#}");
            ExitCode::FAILURE
        }
    }
}
