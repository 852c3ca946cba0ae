//! Run a Suyuan consortium node, and the tools its operators and integrators use.
//!
//! Every subcommand has `--help`. This crate parses the arguments and renders answers for
//! people; the work is done by the libraries it calls: the daemon ([`suyuan_node`]), the API
//! client ([`suyuan_client`]), the audit ([`suyuan_audit`]) and the load generator
//! ([`suyuan_bench`]). Its own parts: `remote` reads from a running node (status, query),
//! `submit` signs and submits records, `render` turns the node's answers into text for people,
//! `verify` checks proof bundles offline, `import` drives bulk imports ([`suyuan_import`]),
//! `dev` runs a whole local consortium, `testnet` writes the files of a local testnet and
//! `demo` runs the demo story in memory.

mod demo;
mod dev;
mod epcis;
mod import;
mod label;
mod remote;
mod render;
mod submit;
mod testnet;
mod verify;

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
    /// Print a running node's status: chain, height, view, peers, mempool (GET /v1/status).
    Status(remote::StatusArgs),
    /// Print the consortium's key-product catalogue: each category with the documents and
    /// fields its models must carry. From a genesis file (--genesis), the built-in programme
    /// catalogue (--programme), or a running node (GET /v1/catalogue).
    Catalogue(remote::CatalogueArgs),
    /// Print the JSON Schema (draft 2020-12) of what a client signs: the payload and every
    /// record kind's fields, enums and bounds, generated from this build's record types (the
    /// same as docs/schemas/payload.json and the node's /openapi.json). Validate an ERP's
    /// records against it before signing.
    Schema,
    /// Sign a record with a key file and submit it to a node, or submit signed envelopes;
    /// prints the transaction id, and with --wait its block height and index.
    ///
    /// Exit status 0 when accepted (and committed, with --wait), 1 when refused (the error
    /// JSON is printed), 2 on other failures.
    Submit(submit::SubmitArgs),
    /// GS1 EPCIS 2.0: capture a document into the ledger, signed with the capturing
    /// enterprise's key, or export a product's or an enterprise's history as one
    /// (docs/epcis.md).
    #[command(subcommand)]
    Epcis(epcis::EpcisCommand),
    /// Import an ERP export (CSV, one column layout per record kind) or an EPCIS document of
    /// any length: every row signed with --key and submitted in batches, with a progress bar;
    /// refused rows go to a report to fix and import again; an interrupted import resumes
    /// without recording anything twice (docs/import.md).
    ///
    /// Exit status 0 when every row was committed, 1 when any was refused, 130 when
    /// interrupted, 2 on other failures.
    Import(import::ImportArgs),
    /// Write printable QR labels of GS1 Digital Links for batches, items, logistic units or
    /// models (a GTIN alone): an SVG sheet of one label per code, or one code's QR code as PNG.
    /// Offline: the codes need not be recorded yet. A phone that scans a label opens the
    /// record on the node at --root (docs/api.md, "Resolver").
    Label(label::LabelArgs),
    /// Read what a node has committed: a transaction, a block or a product's history (as JSON),
    /// a code, an enterprise's registration, records, supplier report or score, a ranking of
    /// members (for people, or JSON with --json), or a proof bundle to check with `suyuan
    /// verify`; exit status 1 when it has none.
    #[command(subcommand)]
    Query(remote::QueryCommand),
    /// Check a proof bundle (`suyuan query proof`) offline against the genesis file alone,
    /// or with --since a consistency proof against a bundle kept earlier; print what it
    /// proves in plain words, or why it does not hold.
    ///
    /// Exit status 0 when it holds, 1 when it does not, 2 when a file cannot be read or is not
    /// a genesis file, bundle or consistency proof.
    Verify(verify::VerifyArgs),
    /// Run one validator until SIGINT or SIGTERM.
    Run {
        /// The node's TOML configuration (see docs/operators.md); `SUYUAN_<SECTION>_<KEY>`
        /// environment variables override its values.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run a complete local consortium of validators in this process, load the demo records,
    /// print the API URLs, and serve until Ctrl-C.
    Dev(dev::DevArgs),
    /// Copy a stopped node's database to a new directory (a consistent checkpoint).
    Backup {
        /// The node's configuration (for its data directory and genesis).
        #[arg(long, short)]
        config: PathBuf,
        /// A directory that does not exist yet.
        #[arg(long)]
        out: PathBuf,
    },
    /// Replace a stopped node's database with a backup, after checking the backup.
    Restore {
        /// The node's configuration (for its data directory and genesis).
        #[arg(long, short)]
        config: PathBuf,
        /// The backup directory `suyuan backup` wrote.
        #[arg(long)]
        from: PathBuf,
    },
    /// Load a running local testnet with pre-signed transactions at a fixed rate and report
    /// committed throughput, submit-to-commit latency, node memory and the ed25519 verify rate.
    Bench(suyuan_bench::BenchArgs),
    /// Replay a chain from genesis, for regulators: hash links, certificates, signatures,
    /// execution, the record log and code map, the stored state, equivocating validators, and
    /// with several sources whether they hold the same blocks (docs/audit.md).
    ///
    /// Exit status 0 when nothing is wrong, 1 on any finding, 2 when a source cannot be read.
    Audit(suyuan_audit::AuditArgs),
}

#[derive(Subcommand)]
enum CodeCommand {
    /// Detect the kind of a code and print JSON: kind, valid, parsed fields, or the error.
    ///
    /// Exit status 0 when the code is valid, 1 when it is not. Understands USCCs, GTIN/GLN/SSCC,
    /// GS1 element strings and Digital Link URIs, EPC URNs, CCC certificate and production
    /// licence numbers, industrial-internet identifiers, and Ecodes written `ecode:…`.
    Inspect {
        /// The code, e.g. 91350100M000100Y43 or `https://id.gs1.org/01/09520123456788/10/ABC1`.
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
            suyuan_node::keyfile::write(&out, &key)?;
            println!("{}", key.public());
            Ok(ExitCode::SUCCESS)
        }
        Command::PublicKey { key } => {
            println!("{}", suyuan_node::keyfile::read(&key)?.public());
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
                println!("  {}", testnet::config_path(&dir, index).display());
            }
            println!("  {}", testnet::bureau_key_path(&dir).display());
            println!("  {}", testnet::association_key_path(&dir).display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo => {
            print!("{}", demo::run_story()?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Status(args) => remote::status(args),
        Command::Catalogue(args) => remote::catalogue(args),
        Command::Schema => {
            let schema = suyuan_ledger::schema::payload_schema();
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Submit(args) => submit::submit(args),
        Command::Epcis(command) => epcis::epcis(command),
        Command::Import(args) => import::run(args),
        Command::Label(args) => Ok(label::label(&args)),
        Command::Query(command) => remote::query(command),
        Command::Verify(args) => verify::verify(&args),
        Command::Run { config } => {
            if let Err(error) = suyuan_node::service::bound_malloc_arenas() {
                eprintln!("suyuan: running with glibc's default malloc arenas: {error}");
            }
            suyuan_node::service::run(&config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Dev(args) => {
            if let Err(error) = suyuan_node::service::bound_malloc_arenas() {
                eprintln!("suyuan: running with glibc's default malloc arenas: {error}");
            }
            dev::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => suyuan_bench::run(args),
        Command::Audit(args) => suyuan_audit::run(args),
        Command::Backup { config, out } => {
            let head = suyuan_node::service::backup(&config, &out)?;
            println!(
                "backed up height {} (block {}) to {}",
                head.height,
                head.hash,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { config, from } => {
            let head = suyuan_node::service::restore(&config, &from)?;
            println!(
                "restored height {} (block {}) from {}",
                head.height,
                head.hash,
                from.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
