//! Run a Suyuan consortium node, and the tools its operators and integrators use.
//!
//! Every subcommand has `--help`. The parts: [`keyfile`] reads and writes key files,
//! [`testnet`] writes the files of a local testnet, [`demo`] runs the demo story in memory.

mod config;
mod demo;
mod keyfile;
mod mempool;
mod network;
mod testnet;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use suyuan_ledger::codes::inspect::inspect;
use suyuan_ledger::crypto::KeyPair;

/// Suyuan (溯源): a consortium ledger for product quality and safety traceability.
///
/// Regulators, industry associations and large buyers each run a node; the nodes agree on one
/// hash-chained ledger of signed traceability records, so a buyer can check a supplier's
/// records without trusting any single operator.
#[derive(Parser)]
#[command(name = "suyuan", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check traceability codes before you submit them.
    #[command(subcommand)]
    Code(CodeCommand),
    /// Generate an ed25519 key pair into a new file (mode 0600) and print its public key.
    Keygen {
        /// The key file to create; it must not exist.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Print the public key of a key file, after checking that only its owner can read it.
    PublicKey {
        /// The key file.
        key: PathBuf,
    },
    /// Prepare a local testnet.
    #[command(subcommand)]
    Testnet(TestnetCommand),
    /// Run the demo consortium's story (enrolment, models, production, inspection, sales and a
    /// recall) through the ledger's rules in memory, and print what happened.
    Demo,
}

#[derive(Subcommand)]
enum CodeCommand {
    /// Detect the kind of a code and print JSON: kind, valid, parsed fields, or the error.
    ///
    /// Exit status 0 when the code is valid, 1 when it is not. Understands USCCs, GTIN/GLN/SSCC,
    /// GS1 element strings and Digital Link URIs, EPC URNs, CCC certificate and production
    /// licence numbers, industrial-internet identifiers, and Ecodes written `ecode:…`.
    Inspect {
        /// The code, e.g. 91350100M000100Y43 or https://id.gs1.org/01/09520123456788/10/ABC1.
        code: String,
    },
}

#[derive(Subcommand)]
enum TestnetCommand {
    /// Generate validator, registrar and regulator keys and a genesis file naming them.
    Init {
        /// How many validators (n = 3f + 1 tolerates f faulty: 4 tolerates 1).
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// An empty or new directory to write into.
        #[arg(long)]
        dir: PathBuf,
        /// The chain id.
        #[arg(long, default_value = "suyuan-local")]
        chain_id: String,
        /// The first validator's p2p port on 127.0.0.1; the others count up from it.
        #[arg(long, default_value_t = 7100)]
        p2p_port: u16,
        /// The first validator's HTTP API port on 127.0.0.1; the others count up from it.
        #[arg(long, default_value_t = 8100)]
        api_port: u16,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Code(CodeCommand::Inspect { code }) => {
            let report = inspect(&code);
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(if report.valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Keygen { out } => {
            let key = KeyPair::generate();
            keyfile::write(&out, &key)?;
            println!("{}", key.public());
            Ok(ExitCode::SUCCESS)
        }
        Command::PublicKey { key } => {
            println!("{}", keyfile::read(&key)?.public());
            Ok(ExitCode::SUCCESS)
        }
        Command::Testnet(TestnetCommand::Init {
            validators,
            dir,
            chain_id,
            p2p_port,
            api_port,
        }) => {
            let genesis_time_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("the system clock is before 1970")?
                .as_millis() as u64;
            let genesis = testnet::init(&testnet::InitOptions {
                dir: dir.clone(),
                validators,
                chain_id,
                first_p2p_port: p2p_port,
                first_api_port: api_port,
                genesis_time_ms,
            })?;
            println!(
                "wrote {} (chain {}, {} validators, quorum {}, genesis hash {})",
                dir.join("genesis.json").display(),
                genesis.chain_id,
                genesis.validators.len(),
                genesis.quorum(),
                genesis.hash()
            );
            for index in 0..genesis.validators.len() {
                println!("  {}", testnet::validator_key_path(&dir, index).display());
            }
            println!("  {}", dir.join("keys/bureau.key").display());
            println!("  {}", dir.join("keys/association.key").display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo => {
            print!("{}", demo::run_story()?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
