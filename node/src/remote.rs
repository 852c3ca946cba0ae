//! Run the commands that talk to a running node over its HTTP API: `suyuan status`,
//! `suyuan submit` and `suyuan query`.
//!
//! Exit status: 0 when the node answered as asked; 1 when it refused (the error JSON is printed
//! on stdout) or, for queries, has no such thing; 2 on any other failure (no answer, a bad
//! file), which `main` reports.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use suyuan_api::types::{CommittedTx, ErrorBody, NodeStatus, SyncState};
use suyuan_ledger::record::Record;
use suyuan_ledger::tx::{Envelope, Payload, TxId};

use crate::client::{ApiClient, ClientError};

/// The largest record or envelope file read: a batch of 1000 envelopes of 64 KiB each fits.
const MAX_INPUT_FILE_BYTES: u64 = 96 * 1024 * 1024;

/// Where the node's API is.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ApiArg {
    /// The node's HTTP API.
    #[arg(
        long = "api",
        env = "SUYUAN_API",
        default_value = "http://127.0.0.1:8100"
    )]
    pub(crate) api: String,
}

/// `suyuan status`.
#[derive(clap::Args, Debug)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    api: ApiArg,
    /// Print the status as JSON, exactly as the API returns it.
    #[arg(long)]
    json: bool,
}

/// `suyuan submit`: a record to sign, or envelopes already signed.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["record", "envelope"])))]
pub(crate) struct SubmitArgs {
    #[command(flatten)]
    api: ApiArg,
    /// The key file to sign with (with --record).
    #[arg(long, requires = "record")]
    key: Option<PathBuf>,
    /// A JSON file holding one record, e.g. {"type": "ship", ...}: it is signed with --key
    /// for the chain the node reports.
    #[arg(long, requires = "key")]
    record: Option<PathBuf>,
    /// The payload's nonce; a random one if not given (two equal records with equal nonces
    /// are one transaction).
    #[arg(long, requires = "record", conflicts_with = "envelope")]
    nonce: Option<u64>,
    /// A JSON file holding one signed envelope, or an array of them (sent as one batch).
    #[arg(long, conflicts_with_all = ["key", "record"])]
    envelope: Option<PathBuf>,
    /// Wait until the transaction is committed, and print its height and index.
    #[arg(long)]
    wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 30, requires = "wait")]
    timeout_secs: u64,
    /// Print machine-readable JSON.
    #[arg(long)]
    json: bool,
}

/// `suyuan query`: read what a node has committed.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum QueryCommand {
    /// Print a transaction: committed (with its block position and payload), pending or
    /// rejected.
    Tx(TxArgs),
    /// Print a block's header, transaction ids and certificate.
    Block(BlockArgs),
    /// Print a product code's latest record and history.
    Product(ProductArgs),
}

/// `suyuan query tx`.
#[derive(clap::Args, Debug)]
pub(crate) struct TxArgs {
    /// The transaction id: 64 hex characters.
    id: TxId,
    #[command(flatten)]
    api: ApiArg,
}

/// `suyuan query block`.
#[derive(clap::Args, Debug)]
pub(crate) struct BlockArgs {
    /// A height (1 is the first block), or `latest`.
    #[arg(value_parser = parse_block_ref)]
    height: BlockRef,
    #[command(flatten)]
    api: ApiArg,
}

/// `suyuan query product`.
#[derive(clap::Args, Debug)]
pub(crate) struct ProductArgs {
    /// The code: canonical (01/06950123450014/10/LOT1), a GS1 Digital Link URI or a GS1
    /// element string.
    code: String,
    #[command(flatten)]
    api: ApiArg,
}

/// Which block `query block` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockRef {
    /// The last committed one.
    Latest,
    /// The one at this height.
    Height(u64),
}

/// Parses `latest` or a height.
fn parse_block_ref(text: &str) -> Result<BlockRef, String> {
    if text == "latest" {
        return Ok(BlockRef::Latest);
    }
    text.parse()
        .map(BlockRef::Height)
        .map_err(|_| format!("{text:?} is neither a block height nor `latest`"))
}

/// `suyuan status`.
pub(crate) fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let client = ApiClient::new(&args.api.api)?;
    runtime()?.block_on(async {
        let status = match client.status().await {
            Ok(status) => status,
            Err(error) => return refused_or_fail(error),
        };
        if args.json {
            print_json(&status)?;
        } else {
            print!("{}", describe_status(&status));
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `suyuan submit`.
pub(crate) fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let client = ApiClient::new(&args.api.api)?;
    let input = SubmitInput::from_args(&args)?;
    let wait = args.wait.then(|| Duration::from_secs(args.timeout_secs));
    runtime()?.block_on(async {
        match input {
            SubmitInput::Record { key, record, nonce } => {
                let status = match client.status().await {
                    Ok(status) => status,
                    Err(error) => return refused_or_fail(error),
                };
                let payload = Payload {
                    nonce: nonce.unwrap_or_else(rand::random),
                    record: *record,
                };
                let envelope = Envelope::sign(&status.chain_id, &payload, &key);
                submit_one(&client, &envelope, wait, args.json).await
            }
            SubmitInput::Envelopes(EnvelopeFile::One(envelope)) => {
                submit_one(&client, &envelope, wait, args.json).await
            }
            SubmitInput::Envelopes(EnvelopeFile::Batch(envelopes)) => {
                submit_batch(&client, &envelopes, wait, args.json).await
            }
        }
    })
}

/// `suyuan query`.
pub(crate) fn query(command: QueryCommand) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let answer = match &command {
            QueryCommand::Tx(args) => {
                let client = ApiClient::new(&args.api.api)?;
                client
                    .transaction(&args.id)
                    .await
                    .map(|view| to_json(&view))
            }
            QueryCommand::Block(args) => {
                let client = ApiClient::new(&args.api.api)?;
                match args.height {
                    BlockRef::Latest => client.latest_block().await,
                    BlockRef::Height(height) => client.block(height).await,
                }
                .map(|block| to_json(&block))
            }
            QueryCommand::Product(args) => {
                let client = ApiClient::new(&args.api.api)?;
                client.product(&args.code).await.map(|view| to_json(&view))
            }
        };
        match answer {
            Ok(json) => {
                println!("{}", json?);
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => refused_or_fail(error),
        }
    })
}

/// What `submit` sends, read and checked before anything goes on the wire.
enum SubmitInput {
    /// A record to sign.
    Record {
        /// The signing key.
        key: suyuan_ledger::crypto::KeyPair,
        /// The record (boxed: records are large, envelope lists are not).
        record: Box<Record>,
        /// The nonce asked for, if any.
        nonce: Option<u64>,
    },
    /// Envelopes signed elsewhere.
    Envelopes(EnvelopeFile),
}

impl SubmitInput {
    fn from_args(args: &SubmitArgs) -> anyhow::Result<SubmitInput> {
        match (&args.key, &args.record, &args.envelope) {
            (Some(key), Some(record), None) => Ok(SubmitInput::Record {
                key: crate::keyfile::read(key)?,
                record: Box::new(
                    parse_record(&read_input(record)?)
                        .with_context(|| format!("reading the record in {}", record.display()))?,
                ),
                nonce: args.nonce,
            }),
            (None, None, Some(envelope)) => Ok(SubmitInput::Envelopes(
                parse_envelopes(&read_input(envelope)?)
                    .with_context(|| format!("reading the envelopes in {}", envelope.display()))?,
            )),
            // clap's argument groups admit nothing else.
            _ => anyhow::bail!("pass --key and --record, or --envelope"),
        }
    }
}

/// An envelope file: one envelope, or an array of them.
#[derive(Debug, PartialEq)]
enum EnvelopeFile {
    /// One envelope, posted to `/v1/transactions`.
    One(Envelope),
    /// Several, posted to `/v1/transactions/batch`.
    Batch(Vec<Envelope>),
}

/// Reads a whole input file, refusing one larger than [`MAX_INPUT_FILE_BYTES`].
fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    anyhow::ensure!(
        size <= MAX_INPUT_FILE_BYTES,
        "{} is {size} bytes; at most {MAX_INPUT_FILE_BYTES} are read",
        path.display()
    );
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Parses a record file: one record as JSON, as `docs/records.md` describes.
fn parse_record(bytes: &[u8]) -> anyhow::Result<Record> {
    serde_json::from_slice(bytes).context("not a record (see docs/records.md)")
}

/// Parses an envelope file: one envelope or a non-empty array of them.
fn parse_envelopes(bytes: &[u8]) -> anyhow::Result<EnvelopeFile> {
    let value: serde_json::Value = serde_json::from_slice(bytes).context("not JSON")?;
    if value.is_array() {
        let envelopes: Vec<Envelope> =
            serde_json::from_value(value).context("not an array of envelopes")?;
        anyhow::ensure!(!envelopes.is_empty(), "the array of envelopes is empty");
        Ok(EnvelopeFile::Batch(envelopes))
    } else {
        serde_json::from_value(value)
            .map(EnvelopeFile::One)
            .context("not an envelope {\"payload\": base64, \"signer\": hex, \"signature\": hex}")
    }
}

/// Posts one envelope, prints its id, and with `wait` waits for and prints its commitment.
async fn submit_one(
    client: &ApiClient,
    envelope: &Envelope,
    wait: Option<Duration>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let id = match client.submit(envelope).await {
        Ok(id) => id,
        Err(error) => return refused_or_fail(error),
    };
    let Some(timeout) = wait else {
        print_outcome(&Outcome::pending(id), json)?;
        return Ok(ExitCode::SUCCESS);
    };
    if !json {
        eprintln!("{id} accepted; waiting for it to be committed");
    }
    match client.wait_committed(&id, timeout).await {
        Ok(tx) => {
            print_outcome(&Outcome::committed(&tx), json)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => refused_or_fail(error),
    }
}

/// Posts a batch, prints each envelope's outcome in order; exit 1 if any was refused.
async fn submit_batch(
    client: &ApiClient,
    envelopes: &[Envelope],
    wait: Option<Duration>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let results = match client.submit_batch(envelopes).await {
        Ok(results) => results,
        Err(error) => return refused_or_fail(error),
    };
    let deadline = wait.map(|timeout| tokio::time::Instant::now() + timeout);
    let mut all_ok = true;
    for result in results {
        let outcome = match (result, deadline) {
            (Err(error), _) => Outcome::refused(error),
            (Ok(id), None) => Outcome::pending(id),
            (Ok(id), Some(deadline)) => {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                match client.wait_committed(&id, left).await {
                    Ok(tx) => Outcome::committed(&tx),
                    Err(ClientError::Rejected { body, .. }) => Outcome::rejected(id, body),
                    Err(error) => return Err(error.into()),
                }
            }
        };
        all_ok &= outcome.error.is_none();
        print_outcome(&outcome, json)?;
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What became of one submitted envelope, as `submit --json` prints it.
#[derive(Debug, Serialize, PartialEq)]
struct Outcome {
    /// The transaction id, unless it was refused before one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<TxId>,
    /// `pending`, `committed`, `rejected` or `refused`.
    status: &'static str,
    /// The block, when committed.
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u64>,
    /// The index in the block, when committed.
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u32>,
    /// Why, when refused or rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody>,
}

impl Outcome {
    fn pending(id: TxId) -> Outcome {
        Outcome {
            id: Some(id),
            status: "pending",
            height: None,
            index: None,
            error: None,
        }
    }

    fn committed(tx: &CommittedTx) -> Outcome {
        Outcome {
            id: Some(tx.id),
            status: "committed",
            height: Some(tx.height),
            index: Some(tx.index),
            error: None,
        }
    }

    fn rejected(id: TxId, error: ErrorBody) -> Outcome {
        Outcome {
            id: Some(id),
            status: "rejected",
            height: None,
            index: None,
            error: Some(error),
        }
    }

    fn refused(error: ErrorBody) -> Outcome {
        Outcome {
            id: None,
            status: "refused",
            height: None,
            index: None,
            error: Some(error),
        }
    }

    /// One line for people.
    fn describe(&self) -> String {
        let id = self.id.map_or_else(|| "-".to_owned(), |id| id.to_hex());
        match (self.height, self.index, &self.error) {
            (Some(height), Some(index), _) => {
                format!("{id} committed at height {height}, index {index}")
            }
            (_, _, Some(error)) => format!("{id} {}: {error}", self.status),
            _ => id,
        }
    }
}

/// Prints an outcome: its JSON, or a line for people (just the id while pending).
fn print_outcome(outcome: &Outcome, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(outcome)?);
    } else {
        println!("{}", outcome.describe());
    }
    Ok(())
}

/// Exit 1 with the error JSON on stdout when the node refused; an error (exit 2) otherwise.
fn refused_or_fail(error: ClientError) -> anyhow::Result<ExitCode> {
    match error.body() {
        Some(body) => {
            println!("{}", to_json(body)?);
            eprintln!("refused: {body}");
            Ok(ExitCode::from(1))
        }
        None => Err(error.into()),
    }
}

/// Pretty JSON of an API answer.
fn to_json(value: &impl Serialize) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)?)
}

/// Prints pretty JSON.
fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", to_json(value)?);
    Ok(())
}

/// A node's status for people.
fn describe_status(status: &NodeStatus) -> String {
    let sync = match &status.sync {
        SyncState::Synced => "synced".to_owned(),
        SyncState::CatchingUp { target_height } => format!("catching up to {target_height}"),
    };
    let mut out = format!(
        "chain      {} (genesis {})\n\
         node       {} {} ({})\n\
         height     {} (head {})\n\
         view       {}\n\
         sync       {sync}\n\
         mempool    {} transactions, {} bytes\n\
         version    {}\n\
         validators\n",
        status.chain_id,
        status.genesis_hash,
        status.node.index,
        status.node.name,
        status.node.public_key,
        status.height,
        status.head_hash,
        status.view,
        status.mempool.transactions,
        status.mempool.bytes,
        status.version,
    );
    for validator in &status.validators {
        let link = if validator.is_self {
            "self"
        } else if validator.connected {
            "connected"
        } else {
            "not connected"
        };
        out.push_str(&format!(
            "  {:>3}  {link:<13}  {}  {}  {}\n",
            validator.index,
            validator.p2p_address,
            validator.api_url.as_deref().unwrap_or("-"),
            validator.name,
        ));
    }
    out
}

/// A runtime for one command: the calls are few and sequential.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use suyuan_ledger::crypto::KeyPair;
    use suyuan_ledger::demo::Demo;

    use super::*;

    /// The three commands as `main` mounts them.
    #[derive(Parser, Debug)]
    enum Cli {
        Status(StatusArgs),
        Submit(SubmitArgs),
        #[command(subcommand)]
        Query(QueryCommand),
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("suyuan").chain(args.iter().copied()))
    }

    #[test]
    fn api_defaults_to_local_node_and_flag_overrides() {
        // SUYUAN_API is not set in the test environment.
        let Cli::Status(args) = parse(&["status"]).unwrap() else {
            panic!("status parses as status")
        };
        assert_eq!(args.api.api, "http://127.0.0.1:8100");
        assert!(!args.json);
        let Cli::Status(args) =
            parse(&["status", "--api", "http://127.0.0.1:9", "--json"]).unwrap()
        else {
            panic!("status parses as status")
        };
        assert_eq!(args.api.api, "http://127.0.0.1:9");
        assert!(args.json);
    }

    #[test]
    fn submit_needs_key_and_record_or_an_envelope_but_not_both() {
        assert!(parse(&["submit"]).is_err(), "nothing to submit");
        assert!(
            parse(&["submit", "--record", "r.json"]).is_err(),
            "record without key"
        );
        assert!(
            parse(&["submit", "--key", "k.key"]).is_err(),
            "key without record"
        );
        assert!(
            parse(&[
                "submit",
                "--envelope",
                "e.json",
                "--key",
                "k",
                "--record",
                "r"
            ])
            .is_err(),
            "both inputs"
        );
        assert!(
            parse(&["submit", "--envelope", "e.json", "--nonce", "3"]).is_err(),
            "a nonce only goes with a record"
        );
        assert!(
            parse(&["submit", "--envelope", "e.json", "--timeout-secs", "3"]).is_err(),
            "a timeout only goes with --wait"
        );
        let Cli::Submit(args) = parse(&[
            "submit",
            "--key",
            "k.key",
            "--record",
            "r.json",
            "--nonce",
            "7",
            "--wait",
            "--timeout-secs",
            "5",
        ])
        .unwrap() else {
            panic!("submit parses as submit")
        };
        assert_eq!(args.key.as_deref(), Some(Path::new("k.key")));
        assert_eq!(args.nonce, Some(7));
        assert!(args.wait);
        assert_eq!(args.timeout_secs, 5);
        assert!(parse(&["submit", "--envelope", "e.json", "--wait", "--json"]).is_ok());
    }

    #[test]
    fn query_parses_ids_heights_and_codes() {
        let id = "ab".repeat(32);
        let Cli::Query(QueryCommand::Tx(args)) = parse(&["query", "tx", &id]).unwrap() else {
            panic!("query tx parses")
        };
        assert_eq!(args.id.to_hex(), id);
        assert!(parse(&["query", "tx", "abc"]).is_err(), "a short id");
        for (text, expected) in [("latest", BlockRef::Latest), ("12", BlockRef::Height(12))] {
            let Cli::Query(QueryCommand::Block(args)) = parse(&["query", "block", text]).unwrap()
            else {
                panic!("query block parses")
            };
            assert_eq!(args.height, expected);
        }
        assert!(parse(&["query", "block", "-1"]).is_err());
        assert!(parse(&["query", "block", "newest"]).is_err());
        let Cli::Query(QueryCommand::Product(args)) = parse(&[
            "query",
            "product",
            "01/06950123450014/10/LOT1",
            "--api",
            "http://h:1",
        ])
        .unwrap() else {
            panic!("query product parses")
        };
        assert_eq!(args.code, "01/06950123450014/10/LOT1");
        assert_eq!(args.api.api, "http://h:1");
    }

    #[test]
    fn record_files_parse_as_records_and_refuse_anything_else() {
        let demo = Demo::new(4, 7100);
        let envelope = &demo.story()[0][0];
        let payload = Payload::parse(&envelope.payload).unwrap();
        let text = serde_json::to_vec(&payload.record).unwrap();
        assert_eq!(parse_record(&text).unwrap(), payload.record);
        // A whole payload is not a record: the nonce is the command's business.
        let error = parse_record(&payload.to_bytes()).unwrap_err();
        assert!(
            format!("{error:#}").contains("docs/records.md"),
            "{error:#}"
        );
        assert!(parse_record(b"{\"type\": \"no_such_record\"}").is_err());
        assert!(parse_record(b"not json").is_err());
    }

    #[test]
    fn envelope_files_hold_one_envelope_or_a_batch() {
        let demo = Demo::new(4, 7100);
        let story = demo.story();
        let one = serde_json::to_vec(&story[0][0]).unwrap();
        assert_eq!(
            parse_envelopes(&one).unwrap(),
            EnvelopeFile::One(story[0][0].clone())
        );
        let many = serde_json::to_vec(&story[0]).unwrap();
        assert_eq!(
            parse_envelopes(&many).unwrap(),
            EnvelopeFile::Batch(story[0].clone())
        );
        assert!(parse_envelopes(b"[]").is_err(), "an empty batch");
        assert!(
            parse_envelopes(b"{\"payload\": \"AA==\"}").is_err(),
            "missing fields"
        );
        assert!(parse_envelopes(b"[1, 2]").is_err());
    }

    #[test]
    fn outcomes_print_ids_positions_and_errors() {
        let key = KeyPair::insecure_from_label("outcome");
        let demo = Demo::new(4, 7100);
        let envelope = Envelope::sign(
            &demo.genesis.chain_id,
            &Payload::parse(&demo.story()[0][0].payload).unwrap(),
            &key,
        );
        let id = envelope.id(&demo.genesis.chain_id);
        assert_eq!(Outcome::pending(id).describe(), id.to_hex());
        let refused = Outcome::refused(ErrorBody::new("bad_signature", "no"));
        assert_eq!(refused.describe(), "- refused: bad_signature: no");
        let json = serde_json::to_value(Outcome::pending(id)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": id.to_hex(), "status": "pending"})
        );
    }
}
