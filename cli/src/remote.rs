//! Run the commands that read from a running node over its HTTP API: `suyuan status` and
//! `suyuan query` (`suyuan submit` is in `submit`; the text for people is made in `render`).
//!
//! Exit status: 0 when the node answered as asked; 1 when it refused (the error JSON is printed
//! on stdout) or, for queries, has no such thing (`unknown_transaction`, `unknown_enterprise`,
//! `unknown_registrar`, ...); 2 on any other failure (no answer, a bad file, a bad argument),
//! which `main` or clap reports.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use serde::Serialize;
use suyuan_api::types::CatalogueView;
use suyuan_api::views::RecordOrder;
use suyuan_client::{ApiClient, ClientError, wire_name};
use suyuan_ledger::catalogue::Catalogue;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::tx::ChainBinding;
use suyuan_ledger::tx::TxId;
use suyuan_storage::MAX_PAGE_RECORDS;

use crate::render::{
    describe_catalogue, describe_code, describe_enterprise, describe_ranking, describe_records,
    describe_report, describe_score, describe_status,
};

/// Most records `query records --all` reads before it stops and prints where to go on from.
const MAX_ALL_RECORDS: usize = 10_000;

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

/// `suyuan catalogue`.
#[derive(clap::Args, Debug)]
pub(crate) struct CatalogueArgs {
    #[command(flatten)]
    api: ApiArg,
    /// Read the catalogue of this genesis file rather than ask a node.
    #[arg(long, conflicts_with = "programme")]
    genesis: Option<PathBuf>,
    /// Print the built-in programme catalogue, which a genesis naming none runs under.
    #[arg(long)]
    programme: bool,
    /// Print JSON: from a genesis file or the programme, the catalogue in genesis form (to
    /// paste into a genesis file as `"catalogue"`); from a node, the API's answer.
    #[arg(long)]
    json: bool,
}

/// `suyuan catalogue`: 0 when printed; 1 when the node refused.
pub(crate) fn catalogue(args: CatalogueArgs) -> anyhow::Result<ExitCode> {
    let local = match (&args.genesis, args.programme) {
        (Some(path), _) => {
            let genesis = suyuan_node::service::read_genesis(path)?;
            Some((genesis.catalogue().clone(), genesis.catalogue.is_some()))
        }
        (None, true) => Some((Catalogue::programme().clone(), false)),
        (None, false) => None,
    };
    let view = match local {
        Some((catalogue, _)) if args.json => {
            print_json(&catalogue)?;
            return Ok(ExitCode::SUCCESS);
        }
        Some((catalogue, in_genesis)) => CatalogueView::of(&catalogue, in_genesis),
        None => {
            let client = ApiClient::new(&args.api.api)?;
            match runtime()?.block_on(client.catalogue()) {
                Ok(view) => view,
                Err(error) => return refused_or_fail(error),
            }
        }
    };
    if args.json {
        print_json(&view)?;
    } else {
        print!("{}", describe_catalogue(&view));
    }
    Ok(ExitCode::SUCCESS)
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
    Proof(crate::verify::ProofArgs),
    /// Fetch the proof that the node's latest finalized record log extends the log at an
    /// older height (that of a bundle you kept); check it with `suyuan verify --since`.
    Consistency(crate::verify::ConsistencyArgs),
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

/// The chain a node serves as a signature binds it: its id and genesis hash.
pub(crate) async fn chain_of(client: &ApiClient) -> Result<ChainBinding, ClientError> {
    let status = client.status().await?;
    Ok(ChainBinding::new(&status.chain_id, status.genesis_hash))
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
        QueryCommand::Proof(args) => crate::verify::fetch_bundle(&client, args).await,
        QueryCommand::Consistency(args) => crate::verify::fetch_consistency(&client, args).await,
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

/// Exit 1 with the error JSON on stdout when the node refused; an error (exit 2) otherwise.
pub(crate) fn refused_or_fail(error: ClientError) -> anyhow::Result<ExitCode> {
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

/// A runtime for one command: the calls are few and sequential.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use suyuan_ledger::demo::{Demo, who};

    use suyuan_api::types::{CodeView, ErrorBody};
    use suyuan_api::views::{EnterpriseRecordsPage, EnterpriseView, ScoreView};
    use suyuan_testkit::served::{Fixture, stranger, uscc_of};

    use super::*;

    /// The two commands as `main` mounts them.
    #[derive(Parser, Debug)]
    enum Cli {
        Status(StatusArgs),
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
        let sale = fixture.story[3][2].id(&fixture.demo.genesis.binding());
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
