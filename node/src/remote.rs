//! Run the commands that talk to a running node over its HTTP API: `suyuan status`,
//! `suyuan submit` and `suyuan query`.
//!
//! Exit status: 0 when the node answered as asked; 1 when it refused (the error JSON is printed
//! on stdout) or, for queries, has no such thing (`unknown_transaction`, `unknown_enterprise`,
//! `unknown_registrar`, ...); 2 on any other failure (no answer, a bad file, a bad argument),
//! which `main` or clap reports.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use suyuan_api::types::{CodeView, CommittedTx, ErrorBody, NodeStatus, SyncState};
use suyuan_api::views::{
    BusinessLicenceView, CertificateView, ComputedAt, EnterpriseRecordsPage, EnterpriseView,
    KeyHolder, KeyView, LicenceView, Reads, RecallStatus, RecordOrder, Registration, ScoreRanking,
    ScoreView, Share, SupplierReport,
};
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::record::{Outcome as InspectionOutcome, Record, Subject};
use suyuan_ledger::tx::{Envelope, Payload, TxId};
use suyuan_storage::MAX_PAGE_RECORDS;

use crate::client::{ApiClient, ClientError, wire_name};

/// The largest record or envelope file read: a batch of 1000 envelopes of 64 KiB each fits.
const MAX_INPUT_FILE_BYTES: u64 = 96 * 1024 * 1024;

/// Most records `query records --all` reads before it stops and prints where to go on from.
const MAX_ALL_RECORDS: usize = 10_000;

/// Most inspections or recalls the summary of `query report` lists; `--json` has them all.
const MAX_LISTED: usize = 10;

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
///
/// `tx`, `block` and `product` print the API's JSON; the others print for people, or the
/// API's JSON with `--json`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum QueryCommand {
    /// Print a transaction: committed (with its block position and payload), pending or
    /// rejected.
    Tx(TxArgs),
    /// Print a block's header, transaction ids and certificate.
    Block(BlockArgs),
    /// Print a product code's latest record and history.
    Product(ProductArgs),
    /// Take a code apart (as `suyuan code inspect` does) and print the ledger's latest record of
    /// it.
    Code(CodeArgs),
    /// Print an enterprise's registration: profile, licences and CCC certificates with their
    /// validity, and its keys with their status.
    Enterprise(EnterpriseArgs),
    /// List the records naming an enterprise, a page at a time or all of them.
    Records(RecordsArgs),
    /// Print a summary of an enterprise's supplier verification report, or write the report as
    /// an HTML page.
    Report(ReportArgs),
    /// Print an enterprise's traceability score: its total and each component's value, weight
    /// and contribution.
    Score(ScoreArgs),
    /// Rank an association's members (or every enrolled enterprise) by score, best first.
    Scores(ScoresArgs),
    /// Fetch the proof bundle of a code's latest record (or of its absence) as of the node's
    /// latest finalized block; check it offline with `suyuan verify`.
    Proof(crate::prove::ProofArgs),
    /// Fetch the proof that the node's latest finalized record log extends the log at an
    /// older height (that of a bundle you kept); check it with `suyuan verify --since`.
    Consistency(crate::prove::ConsistencyArgs),
}

impl QueryCommand {
    /// The node asked.
    fn api(&self) -> &ApiArg {
        match self {
            QueryCommand::Tx(TxArgs { api, .. })
            | QueryCommand::Block(BlockArgs { api, .. })
            | QueryCommand::Product(ProductArgs { api, .. })
            | QueryCommand::Code(CodeArgs { api, .. })
            | QueryCommand::Enterprise(EnterpriseArgs { api, .. })
            | QueryCommand::Records(RecordsArgs { api, .. })
            | QueryCommand::Report(ReportArgs { api, .. })
            | QueryCommand::Score(ScoreArgs { api, .. })
            | QueryCommand::Scores(ScoresArgs { api, .. }) => api,
            QueryCommand::Proof(args) => &args.api,
            QueryCommand::Consistency(args) => &args.api,
        }
    }
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

/// `suyuan query code`.
#[derive(clap::Args, Debug)]
pub(crate) struct CodeArgs {
    /// Any code Suyuan knows: a USCC, a GTIN, a GS1 element string or Digital Link URI, an EPC
    /// URN, a licence or certificate number, a trace code, ...
    code: String,
    #[command(flatten)]
    api: ApiArg,
    /// Print the API's JSON.
    #[arg(long)]
    json: bool,
}

/// `suyuan query enterprise`.
#[derive(clap::Args, Debug)]
pub(crate) struct EnterpriseArgs {
    /// The enterprise's unified social credit code (18 characters).
    #[arg(value_parser = parse_uscc)]
    uscc: Uscc,
    #[command(flatten)]
    api: ApiArg,
    /// Print the API's JSON.
    #[arg(long)]
    json: bool,
}

/// `suyuan query records`.
#[derive(clap::Args, Debug)]
pub(crate) struct RecordsArgs {
    /// The enterprise's unified social credit code (18 characters).
    #[arg(value_parser = parse_uscc)]
    uscc: Uscc,
    /// Which end of the history to start from.
    #[arg(long, value_name = "newest|oldest", default_value = "newest", value_parser = parse_order)]
    order: RecordOrder,
    /// Records per request, 1 to 1000 (the node's default, 100, without it; 1000 with --all).
    #[arg(long, value_parser = parse_page_limit)]
    limit: Option<usize>,
    /// Start after this cursor: the `next` of a previous page, with the same --order.
    #[arg(long)]
    after: Option<String>,
    /// Follow the pages to the end, stopping after 10,000 records.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    api: ApiArg,
    /// Print the API's JSON (with --all, one page holding every record read).
    #[arg(long)]
    json: bool,
}

/// `suyuan query report`.
#[derive(clap::Args, Debug)]
pub(crate) struct ReportArgs {
    /// The enterprise's unified social credit code (18 characters).
    #[arg(value_parser = parse_uscc)]
    uscc: Uscc,
    /// Write the report as a self-contained HTML page to this file (replacing it), to read or
    /// print.
    #[arg(long, value_name = "FILE", conflicts_with = "json")]
    html: Option<PathBuf>,
    #[command(flatten)]
    api: ApiArg,
    /// Print the whole report as the API's JSON.
    #[arg(long)]
    json: bool,
}

/// `suyuan query score`.
#[derive(clap::Args, Debug)]
pub(crate) struct ScoreArgs {
    /// The enterprise's unified social credit code (18 characters).
    #[arg(value_parser = parse_uscc)]
    uscc: Uscc,
    #[command(flatten)]
    api: ApiArg,
    /// Print the API's JSON, with the records behind each component.
    #[arg(long)]
    json: bool,
}

/// `suyuan query scores`.
#[derive(clap::Args, Debug)]
pub(crate) struct ScoresArgs {
    /// Rank the members this registrar enrolled: its public key (hex) or its name in genesis.
    /// Without it, every enrolled enterprise.
    #[arg(long, value_name = "NAME|KEY")]
    registrar: Option<String>,
    /// The first rank position to print, from 0 (the `next_offset` of a previous page).
    #[arg(long)]
    offset: Option<usize>,
    /// Members per page, 1 to 1000 (the node's default, 100, without it).
    #[arg(long, value_parser = parse_page_limit)]
    limit: Option<usize>,
    #[command(flatten)]
    api: ApiArg,
    /// Print the API's JSON.
    #[arg(long)]
    json: bool,
}

/// Parses a USCC, accepting lower-case letters as the API does.
fn parse_uscc(text: &str) -> Result<Uscc, String> {
    Uscc::parse_normalising(text)
        .map_err(|error| format!("{text:?} is not a unified social credit code: {error}"))
}

/// Parses `newest` or `oldest`.
fn parse_order(text: &str) -> Result<RecordOrder, String> {
    [RecordOrder::Newest, RecordOrder::Oldest]
        .into_iter()
        .find(|order| wire_name(order) == text)
        .ok_or_else(|| format!("{text:?} is neither `newest` nor `oldest`"))
}

/// Parses a page size the API takes: 1 to [`MAX_PAGE_RECORDS`].
fn parse_page_limit(text: &str) -> Result<usize, String> {
    match text.parse() {
        Ok(limit @ 1..=MAX_PAGE_RECORDS) => Ok(limit),
        _ => Err(format!(
            "{text:?} is not a number from 1 to {MAX_PAGE_RECORDS}"
        )),
    }
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
    runtime()?.block_on(answer_query(&command, &mut std::io::stdout().lock()))
}

/// Asks the node what `command` asks and writes the answer to `out`: 0 when it answered, 1
/// when it refused or has no such thing (the error JSON is written), an error when it could
/// not be asked.
async fn answer_query(command: &QueryCommand, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let client = ApiClient::new(&command.api().api)?;
    let answer = match command {
        QueryCommand::Tx(args) => client
            .transaction(&args.id)
            .await
            .map(|view| json_line(&view)),
        QueryCommand::Block(args) => match args.height {
            BlockRef::Latest => client.latest_block().await,
            BlockRef::Height(height) => client.block(height).await,
        }
        .map(|block| json_line(&block)),
        QueryCommand::Product(args) => client
            .product(&args.code)
            .await
            .map(|view| json_line(&view)),
        QueryCommand::Code(args) => client
            .code(&args.code)
            .await
            .map(|view| render(&view, args.json, describe_code)),
        QueryCommand::Enterprise(args) => client
            .enterprise(&args.uscc)
            .await
            .map(|view| render(&view, args.json, describe_enterprise)),
        QueryCommand::Records(args) => {
            let page = if args.all {
                let page_limit = args.limit.unwrap_or(MAX_PAGE_RECORDS);
                client
                    .all_enterprise_records(
                        &args.uscc,
                        args.order,
                        args.after.as_deref(),
                        page_limit,
                        MAX_ALL_RECORDS,
                    )
                    .await
            } else {
                client
                    .enterprise_records(&args.uscc, args.order, args.after.as_deref(), args.limit)
                    .await
            };
            page.map(|page| render(&page, args.json, |page| describe_records(page, args.all)))
        }
        QueryCommand::Report(args) => match &args.html {
            Some(path) => client
                .report_html(&args.uscc)
                .await
                .map(|page| write_page(path, &page)),
            None => client
                .report(&args.uscc)
                .await
                .map(|report| render(&report, args.json, describe_report)),
        },
        QueryCommand::Score(args) => client
            .score(&args.uscc)
            .await
            .map(|view| render(&view, args.json, describe_score)),
        QueryCommand::Scores(args) => client
            .scores(args.registrar.as_deref(), args.offset, args.limit)
            .await
            .map(|ranking| render(&ranking, args.json, describe_ranking)),
        QueryCommand::Proof(args) => crate::prove::fetch_bundle(&client, args).await,
        QueryCommand::Consistency(args) => crate::prove::fetch_consistency(&client, args).await,
    };
    match answer {
        Ok(text) => {
            out.write_all(text?.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => refused_or_fail_to(out, error),
    }
}

/// An answer as pretty JSON, or for people; either ends with a newline.
fn render<T: Serialize>(
    value: &T,
    json: bool,
    describe: impl FnOnce(&T) -> String,
) -> anyhow::Result<String> {
    if json {
        json_line(value)
    } else {
        Ok(describe(value))
    }
}

/// Pretty JSON of an API answer, with a newline.
fn json_line(value: &impl Serialize) -> anyhow::Result<String> {
    Ok(to_json(value)? + "\n")
}

/// Writes the report page to `path`, and says so.
fn write_page(path: &Path, page: &str) -> anyhow::Result<String> {
    std::fs::write(path, page).with_context(|| format!("writing {}", path.display()))?;
    Ok(format!("wrote {} ({} bytes)\n", path.display(), page.len()))
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
    refused_or_fail_to(&mut std::io::stdout().lock(), error)
}

/// Exit 1 with the error JSON on `out` when the node refused; an error (exit 2) otherwise.
fn refused_or_fail_to(out: &mut dyn Write, error: ClientError) -> anyhow::Result<ExitCode> {
    match error.body() {
        Some(body) => {
            writeln!(out, "{}", to_json(body)?)?;
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

/// A code and the ledger's latest record of it, for people.
fn describe_code(view: &CodeView) -> String {
    let mut out = format!("kind          {}", view.kind);
    if !view.also_valid_as.is_empty() {
        let others: Vec<String> = view.also_valid_as.iter().map(ToString::to_string).collect();
        out.push_str(&format!(" (also valid as {})", others.join(", ")));
    }
    let check = match view.check_digit_valid {
        Some(true) => "valid",
        Some(false) => "wrong",
        None => "none in this kind of code",
    };
    out.push_str(&format!(
        "\nnormalized    {}\ncheck digits  {check}\n",
        view.normalized
    ));
    let width = view.fields.keys().map(String::len).max().unwrap_or(0);
    for (name, value) in &view.fields {
        out.push_str(&format!("  {name:<width$}  {value}\n"));
    }
    for ai in &view.ais {
        out.push_str(&format!("  ({}) {}: {}\n", ai.ai, ai.title, ai.value));
    }
    match (&view.trace_code, &view.latest) {
        (None, _) => out.push_str("trace code    none: it names no batch, item or logistic unit\n"),
        (Some(code), None) => {
            out.push_str(&format!("trace code    {code}\nlatest        no committed record names it\n"));
        }
        (Some(code), Some(latest)) => out.push_str(&format!(
            "trace code    {code}\nlatest        {} at height {}, index {}, tx {}\nhistory       {}\n",
            latest.record_type, latest.height, latest.index, latest.id, latest.product
        )),
    }
    out
}

/// An enterprise's registration for people.
fn describe_enterprise(view: &EnterpriseView) -> String {
    let mut out = format!(
        "{}\n\
         uscc          {}\n\
         kind          {}\n\
         address       {}\n\
         contact       {}\n",
        view.name,
        view.uscc,
        words(&view.kind),
        view.address,
        view.contact,
    );
    out.push_str(&describe_registration(
        &view.registration,
        &view.computed_at,
    ));
    out.push_str(&describe_documents(
        &view.business_licence,
        &view.production_licences,
        &view.ccc_certificates,
        &view.keys,
    ));
    out
}

/// Who enrolled an enterprise, and the block a view is as of.
fn describe_registration(registration: &Registration, at: &ComputedAt) -> String {
    format!(
        "registered    at height {} by {}\n\
         as of         height {}, block {}, {} (China Standard Time)\n",
        registration.registered_at_height,
        describe_holder(&registration.registered_by),
        at.height,
        at.block_hash,
        at.date,
    )
}

/// Licences, certificates and keys, one a line, each led by its validity or status.
fn describe_documents(
    licence: &BusinessLicenceView,
    licences: &[LicenceView],
    certificates: &[CertificateView],
    keys: &[KeyView],
) -> String {
    let term = licence.valid_until.map_or_else(
        || "unlimited term".to_owned(),
        |until| format!("valid until {until}"),
    );
    let mut out = format!(
        "\nbusiness licence\n  {:<14} issued {} by {}, {term}\n",
        words(&licence.validity),
        licence.issued_on,
        licence.issued_by,
    );
    out.push_str(&describe_list("production licences", licences, |licence| {
        format!(
            "{:<14} {}  {}, valid until {}",
            words(&licence.validity),
            licence.number,
            licence.product,
            licence.valid_until,
        )
    }));
    out.push_str(&describe_list(
        "ccc certificates",
        certificates,
        |certificate| {
            format!(
                "{:<14} {}  {}, {} to {}",
                words(&certificate.validity),
                certificate.number,
                certificate.product,
                certificate.issued_on,
                certificate.valid_until,
            )
        },
    ));
    out.push_str(&describe_list("keys", keys, |key| {
        let revoked = key
            .revoked_at_height
            .map(|height| format!(", revoked at height {height}"))
            .unwrap_or_default();
        format!(
            "{:<14} {}  bound at height {}{revoked}",
            words(&key.status),
            key.public_key,
            key.bound_at_height,
        )
    }));
    out
}

/// A heading, then each item's line indented under it, or `  none` when there are none.
fn describe_list<T>(heading: &str, items: &[T], line: impl Fn(&T) -> String) -> String {
    let mut out = format!("{heading}\n");
    for item in items {
        out.push_str(&format!("  {}\n", line(item)));
    }
    if items.is_empty() {
        out.push_str("  none\n");
    }
    out
}

/// A page of an enterprise's records, one a line; `all` says it is every record `--all` read.
fn describe_records(page: &EnterpriseRecordsPage, all: bool) -> String {
    let mut out = format!(
        "{}: {} records, {} first\n",
        page.uscc,
        page.records.len(),
        wire_name(&page.order),
    );
    if !page.records.is_empty() {
        out.push_str(&format!(
            "{:>8}  {:>5}  {:<22}  id\n",
            "height", "index", "type"
        ));
    }
    for tx in &page.records {
        out.push_str(&format!(
            "{:>8}  {:>5}  {:<22}  {}\n",
            tx.height,
            tx.index,
            tx.payload.record.type_name(),
            tx.id,
        ));
    }
    match (&page.next, all) {
        (Some(next), true) => out.push_str(&format!(
            "stopped after {} records; go on with --all --after {next}\n",
            page.records.len()
        )),
        (Some(next), false) => out.push_str(&format!("next page: --after {next}\n")),
        (None, _) => {}
    }
    out
}

/// The supplier verification report in brief: registration and documents in full, products,
/// then counts with the first few inspections and recalls, and the completeness shares.
fn describe_report(report: &SupplierReport) -> String {
    let mut out = format!(
        "supplier verification report: {}\n\
         uscc          {}\n\
         kind          {}\n\
         address       {}\n",
        report.name,
        report.uscc,
        words(&report.kind),
        report.address,
    );
    out.push_str(&describe_registration(
        &report.registration,
        &report.computed_at,
    ));
    out.push_str(&describe_documents(
        &report.business_licence,
        &report.production_licences,
        &report.ccc_certificates,
        &report.keys,
    ));
    out.push_str(&format!("products ({})\n", report.products.len()));
    for product in &report.products {
        let documents = [
            ("production licence", &product.production_licence),
            ("CCC certificate", &product.ccc_certificate),
        ]
        .into_iter()
        .filter_map(|(what, document)| {
            document.as_ref().map(|document| {
                format!("; {what} {} {}", document.number, words(&document.validity))
            })
        })
        .collect::<String>();
        out.push_str(&format!(
            "  {}  {}, model {}{documents}\n",
            product.gtin, product.name, product.model
        ));
    }
    let recalled = |status| {
        report
            .batches
            .iter()
            .filter(|batch| batch.recall == Some(status))
            .count()
    };
    out.push_str(&format!(
        "batches and items: {} commissioned, {} under open recall, {} under a closed one\n",
        report.batches.len(),
        recalled(RecallStatus::Open),
        recalled(RecallStatus::Closed),
    ));
    let failed = report
        .inspections
        .iter()
        .filter(|inspection| inspection.outcome != InspectionOutcome::Conformant)
        .count();
    out.push_str(&format!(
        "inspections ({}, {failed} non-conformant)\n",
        report.inspections.len()
    ));
    for inspection in report.inspections.iter().take(MAX_LISTED) {
        out.push_str(&format!(
            "  {:<14} {}  {}, report {} by {}\n",
            words(&inspection.outcome),
            inspection.inspected_on,
            describe_subject(&inspection.subject),
            inspection.report_number,
            inspection
                .inspector
                .name
                .as_deref()
                .unwrap_or("an unknown key"),
        ));
    }
    out.push_str(&more_listed(report.inspections.len()));
    let open = report
        .recalls
        .iter()
        .filter(|recall| recall.status == RecallStatus::Open)
        .count();
    out.push_str(&format!(
        "recalls ({}, {open} open)\n",
        report.recalls.len()
    ));
    for recall in report.recalls.iter().take(MAX_LISTED) {
        let subjects: Vec<String> = recall.subjects.iter().map(describe_subject).collect();
        out.push_str(&format!(
            "  {:<14} {}  {}: {}\n",
            words(&recall.status),
            recall.announced_on,
            subjects.join(", "),
            recall.reason,
        ));
    }
    out.push_str(&more_listed(report.recalls.len()));
    let completeness = &report.completeness;
    out.push_str(&format!(
        "completeness\n\
         \x20 codes inspected   {}\n\
         \x20 codes sold        {}\n\
         \x20 fields filled     {}\n\
         \x20 reported on time  {} (within {} hours)\n",
        describe_share(&completeness.codes_inspected),
        describe_share(&completeness.codes_sold),
        describe_share(&completeness.fields_filled),
        describe_share(&completeness.reported_on_time),
        completeness.on_time_within_hours,
    ));
    if report.reads.truncated {
        out.push_str(&truncated_note(&report.reads));
    }
    out.push_str("the whole report: --json, or --html FILE for a page to read or print\n");
    out
}

/// A score's total and its components as a table.
fn describe_score(view: &ScoreView) -> String {
    let total = view.total_bp.map_or_else(
        || "none: no weighted component has anything to count".to_owned(),
        |bp| format!("{} ({bp} bp)", percent(bp)),
    );
    let mut out = format!(
        "{} ({})\n\
         as of         height {}, block {}, {} (China Standard Time)\n\
         total         {total}\n\
         weights       {}\n\n\
         {:<20}  {:>15}  {:>8}  {:>6}  {:>12}\n",
        view.name,
        view.uscc,
        view.computed_at.height,
        view.computed_at.block_hash,
        view.computed_at.date,
        wire_name(&view.weights),
        "component",
        "met / out of",
        "value",
        "weight",
        "contribution",
    );
    for component in &view.components {
        let value = component.share.bp.map_or_else(|| "-".to_owned(), percent);
        out.push_str(&format!(
            "{:<20}  {:>15}  {value:>8}  {:>6}  {:>12}\n",
            component.component,
            format!("{} / {}", component.share.met, component.share.out_of),
            component.weight,
            percent(component.contribution_bp),
        ));
    }
    out.push_str("(a component with nothing to count, value -, does not count)\n");
    if view.reads.truncated {
        out.push_str(&truncated_note(&view.reads));
    }
    out
}

/// A ranking of members by score, one a line.
fn describe_ranking(ranking: &ScoreRanking) -> String {
    let whose = match &ranking.registrar {
        Some(registrar) => format!("members of {}", registrar.name),
        None => "every enrolled enterprise".to_owned(),
    };
    let at = &ranking.computed_at;
    let mut out = format!(
        "{whose}: {} ranked, as of height {}, block {}, {}\n",
        ranking.members, at.height, at.block_hash, at.date,
    );
    if ranking.truncated {
        out.push_str(&format!(
            "note: only the first {} members in USCC order were ranked\n",
            ranking.max_ranked
        ));
    }
    if !ranking.ranking.is_empty() {
        out.push_str(&format!(
            "{:>4}  {:>8}  {:<18}  name\n",
            "rank", "score", "uscc"
        ));
    }
    for member in &ranking.ranking {
        let score = member.total_bp.map_or_else(|| "-".to_owned(), percent);
        let cut = if member.truncated {
            " (score of the newest part of its history)"
        } else {
            ""
        };
        out.push_str(&format!(
            "{:>4}  {score:>8}  {:<18}  {}{cut}\n",
            member.rank, member.uscc, member.name,
        ));
    }
    if let Some(offset) = ranking.next_offset {
        out.push_str(&format!("next page: --offset {offset}\n"));
    }
    out
}

/// A value of the API's in words: `not yet valid`, `inspection body`.
fn words(value: &impl Serialize) -> String {
    wire_name(value).replace('_', " ")
}

/// Basis points as a percentage with two decimals: `49.99 %`.
fn percent(bp: u32) -> String {
    format!("{}.{:02} %", bp / 100, bp % 100)
}

/// A share as `2 / 4 = 50.00 %`, or `none to count`.
fn describe_share(share: &Share) -> String {
    match share.bp {
        Some(bp) => format!("{} / {} = {}", share.met, share.out_of, percent(bp)),
        None => "none to count".to_owned(),
    }
}

/// Who holds a key: name, roles, enterprise, and the key.
fn describe_holder(holder: &KeyHolder) -> String {
    let mut text = holder
        .name
        .clone()
        .unwrap_or_else(|| "a key nobody holds".to_owned());
    let roles: Vec<&str> = [
        (holder.registrar, "registrar"),
        (holder.regulator, "regulator"),
    ]
    .into_iter()
    .filter_map(|(is, role)| is.then_some(role))
    .collect();
    if !roles.is_empty() {
        text.push_str(&format!(" ({})", roles.join(", ")));
    }
    if let Some(uscc) = &holder.uscc {
        text.push_str(&format!(" [{uscc}]"));
    }
    text.push_str(&format!(", key {}", holder.public_key));
    text
}

/// An inspection's or a recall's subject.
fn describe_subject(subject: &Subject) -> String {
    match subject {
        Subject::Code(code) => code.to_string(),
        Subject::Model(gtin) => format!("every item of model {gtin}"),
    }
}

/// How many a summary left out of a list of `count`, if any.
fn more_listed(count: usize) -> String {
    if count > MAX_LISTED {
        format!(
            "  … and {} more (--json lists them all)\n",
            count - MAX_LISTED
        )
    } else {
        String::new()
    }
}

/// Says that a bound cut the reading of the enterprise's history.
fn truncated_note(reads: &Reads) -> String {
    format!(
        "note: a bound cut the reading ({} of at most {} records, {} of at most {} codes): \
         the figures cover the newest part of the history only\n",
        reads.records_read, reads.max_records, reads.codes_read, reads.max_codes
    )
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
    use suyuan_ledger::demo::{Demo, who};

    use super::*;
    use crate::client::tests::{Fixture, stranger, uscc_of};

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

    #[test]
    fn enterprise_queries_parse_and_refuse_bad_arguments() {
        let cable = uscc_of(&Demo::new(4, 7100), who::CABLE_MAKER);
        let lower = cable.as_str().to_ascii_lowercase();
        let Cli::Query(QueryCommand::Enterprise(args)) =
            parse(&["query", "enterprise", &lower, "--json"]).unwrap()
        else {
            panic!("query enterprise parses")
        };
        assert_eq!(args.uscc, cable, "lower case reads as the same USCC");
        assert!(args.json);
        assert!(parse(&["query", "enterprise", "9142010"]).is_err());
        assert!(parse(&["query", "score", "not-a-uscc"]).is_err());

        let Cli::Query(QueryCommand::Records(args)) = parse(&["query", "records", &lower]).unwrap()
        else {
            panic!("query records parses")
        };
        assert_eq!(
            (args.order, args.limit, args.after, args.all),
            (RecordOrder::Newest, None, None, false)
        );
        let Cli::Query(QueryCommand::Records(args)) = parse(&[
            "query", "records", &lower, "--order", "oldest", "--limit", "1000", "--all", "--after",
            "3-0",
        ])
        .unwrap() else {
            panic!("query records parses")
        };
        assert_eq!(
            (args.order, args.limit, args.after.as_deref(), args.all),
            (RecordOrder::Oldest, Some(1000), Some("3-0"), true)
        );
        for bad in [
            ["--order", "sideways"],
            ["--limit", "0"],
            ["--limit", "1001"],
            ["--limit", "ten"],
        ] {
            let mut args = vec!["query", "records", &lower];
            args.extend(bad);
            assert!(parse(&args).is_err(), "{bad:?}");
        }

        let Cli::Query(QueryCommand::Report(args)) =
            parse(&["query", "report", &lower, "--html", "r.html"]).unwrap()
        else {
            panic!("query report parses")
        };
        assert_eq!(args.html.as_deref(), Some(Path::new("r.html")));
        assert!(
            parse(&["query", "report", &lower, "--html", "r.html", "--json"]).is_err(),
            "a page or JSON, not both"
        );

        let Cli::Query(QueryCommand::Scores(args)) = parse(&[
            "query",
            "scores",
            "--registrar",
            "China Gas Appliance Association",
            "--offset",
            "100",
            "--limit",
            "50",
        ])
        .unwrap() else {
            panic!("query scores parses")
        };
        assert_eq!(
            (args.registrar.as_deref(), args.offset, args.limit),
            (Some("China Gas Appliance Association"), Some(100), Some(50))
        );
        assert!(parse(&["query", "scores", "--offset", "-1"]).is_err());
    }

    /// Runs `suyuan query ARGS` against the fixture's node: its exit status and what it printed.
    async fn run_query(fixture: &Fixture, args: &[&str]) -> anyhow::Result<(ExitCode, String)> {
        let api = fixture.client.base_url().to_string();
        let line: Vec<&str> = ["query"]
            .into_iter()
            .chain(args.iter().copied())
            .chain(["--api", &api])
            .collect();
        let Cli::Query(command) = parse(&line).unwrap() else {
            panic!("{line:?} parses as a query")
        };
        let mut out = Vec::new();
        let code = answer_query(&command, &mut out).await?;
        Ok((code, String::from_utf8(out).unwrap()))
    }

    #[tokio::test]
    async fn query_enterprise_prints_registration_documents_and_keys() {
        let fixture = Fixture::new("remote-enterprise", 5).await;
        let demo = &fixture.demo;
        let cable = uscc_of(demo, who::CABLE_MAKER);
        let (code, out) = run_query(&fixture, &["enterprise", cable.as_str()])
            .await
            .unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let view = fixture.client.enterprise(&cable).await.unwrap();
        let expected_lines = [
            "Wuhan Changjiang Cable Co., Ltd.".to_owned(),
            format!("uscc          {cable}"),
            "kind          manufacturer".to_owned(),
            format!(
                "registered    at height 1 by Hubei Administration for Market Regulation \
                 (registrar, regulator), key {}",
                demo.bureau.public()
            ),
            format!(
                "as of         height 5, block {}, 2026-01-06 (China Standard Time)",
                view.computed_at.block_hash
            ),
            format!(
                "  valid          {}  {}, valid until {}",
                view.production_licences[0].number,
                view.production_licences[0].product,
                view.production_licences[0].valid_until
            ),
            format!(
                "  active         {}  bound at height 1",
                demo.enterprises[who::CABLE_MAKER].key.public()
            ),
        ];
        for line in &expected_lines {
            assert!(out.lines().any(|l| l == line), "{line:?} not in\n{out}");
        }
        assert!(out.contains("\nbusiness licence\n  valid "), "{out}");

        let (code, json) = run_query(&fixture, &["enterprise", cable.as_str(), "--json"])
            .await
            .unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        assert_eq!(serde_json::from_str::<EnterpriseView>(&json).unwrap(), view);
    }

    #[tokio::test]
    async fn query_score_prints_the_total_and_a_component_table() {
        let fixture = Fixture::new("remote-score", 5).await;
        let gas = uscc_of(&fixture.demo, who::GAS_APPLIANCE_MAKER);
        let (code, out) = run_query(&fixture, &["score", gas.as_str()]).await.unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            format!("Ningbo Anran Gas Appliance Co., Ltd. ({gas})")
        );
        assert!(lines.contains(&"total         49.99 % (4999 bp)"), "{out}");
        assert!(lines.contains(&"weights       default"), "{out}");
        let table = lines
            .iter()
            .position(|line| line.starts_with("component"))
            .expect("a table header");
        assert_eq!(
            lines[table..table + 7],
            [
                "component                met / out of     value  weight  contribution",
                "completeness                    2 / 4   50.00 %      20       10.00 %",
                "timeliness                      3 / 3  100.00 %      15       15.00 %",
                "sale_coverage                   1 / 6   16.66 %      15        2.49 %",
                "inspection_outcomes             0 / 1    0.00 %      25        0.00 %",
                "recalls                         5 / 6   83.33 %      15       12.50 %",
                "key_revocations                 1 / 1  100.00 %      10       10.00 %",
            ],
            "{out}"
        );

        let (code, json) = run_query(&fixture, &["score", gas.as_str(), "--json"])
            .await
            .unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let view: ScoreView = serde_json::from_str(&json).unwrap();
        assert_eq!(view.total_bp, Some(4_999));
        assert!(
            !view.components[3].evidence.is_empty(),
            "JSON has the evidence"
        );

        let (code, out) = run_query(&fixture, &["scores"]).await.unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(
            out.starts_with("every enrolled enterprise: 4 ranked, as of height 5"),
            "{out}"
        );
        let last = out.lines().last().unwrap();
        assert_eq!(
            last,
            format!("   4   49.99 %  {gas}  Ningbo Anran Gas Appliance Co., Ltd.")
        );
        let (code, out) = run_query(&fixture, &["scores", "--limit", "1", "--offset", "1"])
            .await
            .unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(out.ends_with("next page: --offset 2\n"), "{out}");
    }

    #[tokio::test]
    async fn query_records_and_report_page_summarise_and_write_html() {
        let fixture = Fixture::new("remote-records", 5).await;
        let cable = uscc_of(&fixture.demo, who::CABLE_MAKER);
        let (code, out) = run_query(&fixture, &["records", cable.as_str(), "--limit", "3"])
            .await
            .unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], format!("{cable}: 3 records, newest first"));
        let sale = fixture.story[3][2].id(&fixture.demo.genesis.chain_id);
        assert_eq!(
            lines[2],
            format!("       4      2  ship                    {sale}")
        );
        assert_eq!(lines.last(), Some(&"next page: --after 2-0"));
        let (code, out) = run_query(
            &fixture,
            &[
                "records",
                cable.as_str(),
                "--all",
                "--limit",
                "3",
                "--order",
                "oldest",
                "--json",
            ],
        )
        .await
        .unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let all: EnterpriseRecordsPage = serde_json::from_str(&out).unwrap();
        let positions: Vec<(u64, u32)> = all.records.iter().map(|r| (r.height, r.index)).collect();
        assert_eq!(positions, [(1, 0), (2, 0), (3, 0), (4, 2)]);
        assert_eq!(all.next, None);

        let gas = uscc_of(&fixture.demo, who::GAS_APPLIANCE_MAKER);
        let (code, out) = run_query(&fixture, &["report", gas.as_str()])
            .await
            .unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        for line in [
            "supplier verification report: Ningbo Anran Gas Appliance Co., Ltd.",
            "products (1)",
            "batches and items: 6 commissioned, 1 under open recall, 0 under a closed one",
            "inspections (1, 1 non-conformant)",
            "recalls (1, 1 open)",
            "  codes inspected   1 / 6 = 16.66 %",
            "  fields filled     2 / 4 = 50.00 %",
            "  reported on time  3 / 3 = 100.00 % (within 72 hours)",
        ] {
            assert!(out.lines().any(|l| l == line), "{line:?} not in\n{out}");
        }
        assert!(
            out.contains(&format!(
                "  open           2026-01-03  01/{}/10/G2601B: ",
                Demo::cooker_gtin()
            )),
            "{out}"
        );

        let file = fixture.dir.join("report.html");
        let path = file.to_str().unwrap();
        let (code, out) = run_query(&fixture, &["report", gas.as_str(), "--html", path])
            .await
            .unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let page = std::fs::read_to_string(&file).unwrap();
        assert_eq!(out, format!("wrote {path} ({} bytes)\n", page.len()));
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("G2601B"));
    }

    #[tokio::test]
    async fn unknown_enterprises_and_registrars_exit_1_and_no_answer_fails() {
        let fixture = Fixture::new("remote-unknown", 5).await;
        let stranger = stranger();
        for args in [
            vec!["enterprise", stranger.as_str()],
            vec!["enterprise", stranger.as_str(), "--json"],
            vec!["records", stranger.as_str(), "--all"],
            vec!["report", stranger.as_str()],
            vec!["score", stranger.as_str()],
        ] {
            let (code, out) = run_query(&fixture, &args).await.unwrap();
            assert_eq!(code, ExitCode::from(1), "{args:?}");
            let body: ErrorBody = serde_json::from_str(&out).unwrap();
            assert_eq!(body.code, "unknown_enterprise", "{args:?}");
            assert_eq!(body.field.as_deref(), Some("uscc"));
        }
        let file = fixture.dir.join("nobody.html");
        let (code, _) = run_query(
            &fixture,
            &[
                "report",
                stranger.as_str(),
                "--html",
                file.to_str().unwrap(),
            ],
        )
        .await
        .unwrap();
        assert_eq!(code, ExitCode::from(1));
        assert!(
            !file.exists(),
            "no page is written for an unknown enterprise"
        );

        let (code, out) = run_query(&fixture, &["scores", "--registrar", "Nobody"])
            .await
            .unwrap();
        assert_eq!(code, ExitCode::from(1));
        let body: ErrorBody = serde_json::from_str(&out).unwrap();
        assert_eq!(body.code, "unknown_registrar");

        let (code, out) = run_query(&fixture, &["code", "09520123456789"])
            .await
            .unwrap();
        assert_eq!(code, ExitCode::from(1));
        let body: ErrorBody = serde_json::from_str(&out).unwrap();
        assert_eq!(body.code, "invalid_code");

        // A port nobody listens on: no answer is an error, which main turns into exit 2.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = closed.local_addr().unwrap();
        drop(closed);
        let api = format!("http://{address}");
        let Cli::Query(command) =
            parse(&["query", "score", stranger.as_str(), "--api", &api]).unwrap()
        else {
            panic!("query score parses")
        };
        let error = answer_query(&command, &mut Vec::new()).await.unwrap_err();
        assert!(format!("{error:#}").contains("no answer"), "{error:#}");
    }

    #[tokio::test]
    async fn query_code_prints_its_parts_and_latest_record() {
        let fixture = Fixture::new("remote-code", 5).await;
        let lot = format!("01/{}/10/C2601A", Demo::cable_gtin());
        let (code, out) = run_query(&fixture, &["code", &lot]).await.unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let view = fixture.client.code(&lot).await.unwrap();
        let latest = view.latest.as_ref().unwrap();
        assert!(out.starts_with("kind          trace_code\n"), "{out}");
        assert!(
            out.contains(&format!(
                "latest        {} at height {}, index {}, tx {}\n",
                latest.record_type, latest.height, latest.index, latest.id
            )),
            "{out}"
        );
        let (_, json) = run_query(&fixture, &["code", &lot, "--json"])
            .await
            .unwrap();
        assert_eq!(serde_json::from_str::<CodeView>(&json).unwrap(), view);
    }
}
