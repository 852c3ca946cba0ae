//! `suyuan import`: sign and submit a whole ERP export (CSV) or EPCIS document, with a
//! progress bar, a report of what was refused, and resumption after an interruption.
//!
//! The work is `suyuan_import`'s; this module reads the file and the key, asks the node what
//! the rows need (its chain, the registrations of buyers named by USCC alone, open recalls),
//! draws the progress bar, handles Ctrl-C, and prints the outcome (docs/import.md).

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;
use suyuan_client::ApiClient;
use suyuan_epcis::document::all_events_of;
use suyuan_import::journal::{JOURNAL_VERSION, Journal, JournalHeader};
use suyuan_import::layout::{COMMON_COLUMNS, RecordKind, Registry};
use suyuan_import::pipeline::{Outcome, Progress, Settings, Tally, import};
use suyuan_import::report::{refusal, refused_events, rule_of, write_csv};
use suyuan_import::source::{CsvFile, Item, epcis_items};
use suyuan_import::text::{Encoding, decode};
use suyuan_ledger::codes::gs1::keys::Gln;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::tx::ChainBinding;

use crate::epcis::{PartyIndex, RecallIndex};
use crate::remote::{ApiArg, chain_of, refused_or_fail, runtime};

/// The largest file read.
const MAX_FILE_BYTES: u64 = 1024 * 1024 * 1024;
/// Refusals printed on the terminal; the report has them all.
const MAX_REFUSALS_PRINTED: usize = 20;
/// The exit status of an interrupted import.
const EXIT_INTERRUPTED: u8 = 130;

/// `suyuan import`.
#[derive(clap::Args, Debug)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    api: ApiArg,
    /// The file: CSV (one column layout per record kind; docs/import.md) or an EPCIS 2.0
    /// JSON document.
    #[arg(required_unless_present = "template")]
    file: Option<PathBuf>,
    /// The key file of the enterprise (or inspection body, or regulator) the records are
    /// signed for; it never leaves this machine.
    #[arg(long, required_unless_present = "template")]
    key: Option<PathBuf>,
    /// Every row is of this kind, and the file needs no type column.
    #[arg(long, value_parser = parse_kind)]
    kind: Option<RecordKind>,
    /// The CSV file's encoding. A GBK file read as UTF-8 is refused, never guessed.
    #[arg(long, value_enum, default_value_t = EncodingArg::Utf8)]
    encoding: EncodingArg,
    /// For an EPCIS document: the capturing enterprise's USCC, for events that name none.
    #[arg(long)]
    enterprise: Option<Uscc>,
    /// Envelopes per batch (1 to 1000).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=1000))]
    batch: u16,
    /// The most transactions waiting to be committed at once (a node holds 2,500 pending per
    /// signer).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(1..=2_500))]
    window: u32,
    /// Where to remember what is committed, for resuming [default: FILE.import-journal].
    #[arg(long)]
    journal: Option<PathBuf>,
    /// Where to write the refused rows [default: FILE.refused.csv, or .refused.json for an
    /// EPCIS document].
    #[arg(long)]
    report: Option<PathBuf>,
    /// How long the node may stay unreachable or busy before the import stops, in seconds.
    #[arg(long, default_value_t = 300)]
    retry_secs: u64,
    /// Print a JSON summary on stdout instead of lines for people.
    #[arg(long)]
    json: bool,
    /// Print the header row of KIND's layout (with a type column) and stop; the columns are
    /// described on stderr.
    #[arg(long, value_parser = parse_kind, conflicts_with_all = ["file", "key"])]
    template: Option<RecordKind>,
}

/// The encodings `--encoding` names.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EncodingArg {
    /// UTF-8 (with or without Excel's byte-order mark).
    Utf8,
    /// GBK / GB 18030, as Chinese Windows software writes CSV.
    Gbk,
}

fn parse_kind(text: &str) -> Result<RecordKind, String> {
    RecordKind::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = RecordKind::ALL.iter().map(|kind| kind.name()).collect();
        format!("not a kind import reads; one of {}", names.join(", "))
    })
}

/// `suyuan import`.
pub(crate) fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    if let Some(kind) = args.template {
        print_template(kind);
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(path), Some(key_path)) = (&args.file, &args.key) else {
        anyhow::bail!("pass the file and --key, or --template KIND");
    };
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    anyhow::ensure!(
        size <= MAX_FILE_BYTES,
        "{} is {size} bytes; at most {MAX_FILE_BYTES} are read: split it",
        path.display()
    );
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let key = suyuan_node::keyfile::read(key_path)?;
    let client = ApiClient::new(&args.api.api)?;
    runtime()?.block_on(async {
        let chain = match chain_of(&client).await {
            Ok(chain) => chain,
            Err(error) => return refused_or_fail(error),
        };
        let started = Instant::now();
        let input = match read_input(&args, &bytes, &client, &chain, &key).await {
            Ok(input) => input,
            Err(InputError::Refused(message)) => {
                eprintln!("error: {}: {message}", path.display());
                return Ok(ExitCode::from(1));
            }
            Err(InputError::Other(error)) => return Err(error),
        };
        let signed_in = started.elapsed();
        let journal_path = args
            .journal
            .clone()
            .unwrap_or_else(|| sibling(path, "import-journal"));
        let mut journal = Journal::open(
            &journal_path,
            &JournalHeader {
                suyuan_import: JOURNAL_VERSION,
                chain_id: chain.chain_id().to_owned(),
                genesis_hash: chain.genesis_hash(),
                signer: key.public().to_string(),
            },
        )?;
        let stop = Arc::new(AtomicBool::new(false));
        watch_ctrl_c(stop.clone());
        let settings = Settings {
            batch: usize::from(args.batch),
            window: args.window as usize,
            retry_for: Duration::from_secs(args.retry_secs),
            ..Settings::default()
        };
        let mut bar = Bar::new(args.json);
        let outcomes = import(
            &client,
            input.items(),
            &mut journal,
            &settings,
            &mut bar,
            &stop,
        )
        .await;
        bar.finish();
        let outcomes = outcomes?;
        let report_path = args.report.clone().unwrap_or_else(|| {
            sibling(
                path,
                match input {
                    Input::Csv { .. } => "refused.csv",
                    Input::Epcis { .. } => "refused.json",
                },
            )
        });
        let written = write_report(&input, &outcomes, &report_path)?;
        let summary = Summary::new(
            &input,
            &outcomes,
            written.then_some(&report_path),
            signed_in,
            started.elapsed(),
        );
        summary.print(args.json, &journal_path)?;
        Ok(summary.exit_code())
    })
}

/// The file, read and signed.
enum Input {
    /// A CSV file and its rows.
    Csv { file: CsvFile, items: Vec<Item> },
    /// An EPCIS document's events.
    Epcis {
        events: Vec<Value>,
        items: Vec<Item>,
    },
}

impl Input {
    fn items(&self) -> &[Item] {
        match self {
            Input::Csv { items, .. } | Input::Epcis { items, .. } => items,
        }
    }
}

/// Why the file was not imported at all.
enum InputError {
    /// The file is wrong (encoding, header, not a document): exit 1.
    Refused(String),
    /// Another failure: exit 2.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for InputError {
    fn from(error: anyhow::Error) -> Self {
        InputError::Other(error)
    }
}

async fn read_input(
    args: &ImportArgs,
    bytes: &[u8],
    client: &ApiClient,
    chain: &ChainBinding,
    key: &suyuan_ledger::crypto::KeyPair,
) -> Result<Input, InputError> {
    let refused = |error: &dyn std::fmt::Display| InputError::Refused(error.to_string());
    if looks_like_json(bytes) {
        let mut document: Value = serde_json::from_slice(bytes)
            .map_err(|error| refused(&format!("not JSON: {error}")))?;
        // Checked against the schema once; then the events are taken out, not copied.
        all_events_of(&document).map_err(|error| refused(&error))?;
        let events = match document
            .pointer_mut("/epcisBody/eventList")
            .map(Value::take)
        {
            Some(Value::Array(events)) => events,
            _ => unreachable!("all_events_of found the event list"),
        };
        let mut recalls = RecallIndex::default();
        if events.iter().any(RecallIndex::needed_by) {
            recalls.load(client, chain).await?;
        }
        let lookup = |id: &str| recalls.get(id);
        let parties = PartyIndex::load(client, &events).await?;
        let party = |gln: &Gln| parties.get(gln);
        let items = epcis_items(
            &events,
            chain,
            key,
            args.enterprise.as_ref(),
            &lookup,
            &party,
        )
        .map_err(|error| refused(&error))?;
        return Ok(Input::Epcis { events, items });
    }
    let encoding = match args.encoding {
        EncodingArg::Utf8 => Encoding::Utf8,
        EncodingArg::Gbk => Encoding::Gbk,
    };
    let text = decode(bytes, encoding).map_err(|error| refused(&error))?;
    let file = CsvFile::parse(&text, args.kind).map_err(|error| refused(&error))?;
    let registry = Registrations::load(client, file.buyers_to_complete()).await?;
    let items = file.items(chain, key, &registry);
    Ok(Input::Csv { file, items })
}

/// Whether the file is JSON (an EPCIS document) rather than CSV.
fn looks_like_json(bytes: &[u8]) -> bool {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{')
}

/// The registrations of the business buyers rows name by USCC alone.
struct Registrations(HashMap<Uscc, (String, String, String)>);

impl Registrations {
    async fn load(client: &ApiClient, buyers: Vec<Uscc>) -> anyhow::Result<Registrations> {
        let mut known = HashMap::new();
        for uscc in buyers {
            match client.enterprise(&uscc).await {
                Ok(view) => {
                    let contact = (
                        view.name.to_string(),
                        view.address.to_string(),
                        view.contact.to_string(),
                    );
                    known.insert(uscc, contact);
                }
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(Registrations(known))
    }
}

impl Registry for Registrations {
    fn contact_of(&self, uscc: &Uscc) -> Option<(String, String, String)> {
        self.0.get(uscc).cloned()
    }
}

/// `rows.csv` → `rows.EXTENSION` beside it.
fn sibling(path: &Path, extension: &str) -> PathBuf {
    path.with_extension(extension)
}

/// Sets `stop` at the first Ctrl-C; a second one ends the process at once.
fn watch_ctrl_c(stop: Arc<AtomicBool>) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!(
            "\ninterrupted: waiting up to 10 s for what is pending (Ctrl-C again to quit now)"
        );
        stop.store(true, Ordering::Relaxed);
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
}

fn write_report(input: &Input, outcomes: &[Outcome], path: &Path) -> anyhow::Result<bool> {
    let any_refused = outcomes.iter().any(|outcome| refusal(outcome).is_some());
    if !any_refused {
        if path.exists() {
            // An earlier run's report would now mislead: every row it lists is committed.
            std::fs::remove_file(path)
                .with_context(|| format!("removing the old report {}", path.display()))?;
        }
        return Ok(false);
    }
    match input {
        Input::Csv { file, items } => {
            write_csv(path, file, items, outcomes)
                .with_context(|| format!("writing the report {}", path.display()))?;
        }
        Input::Epcis { events, .. } => {
            let document = refused_events(events, outcomes).expect("some event was refused");
            std::fs::write(path, serde_json::to_vec_pretty(&document)?)
                .with_context(|| format!("writing the report {}", path.display()))?;
        }
    }
    Ok(true)
}

/// Prints the header row of `kind`'s layout on stdout and what each column holds on stderr.
fn print_template(kind: RecordKind) {
    let columns: Vec<&str> = std::iter::once("type")
        .chain(
            kind.columns()
                .iter()
                .map(|column| column.name)
                .filter(|name| !name.contains('<')),
        )
        .collect();
    println!("{}", columns.join(","));
    eprintln!("{kind} rows (type = {kind}):");
    for column in kind.columns().iter().chain(COMMON_COLUMNS) {
        let need = if column.required {
            "required"
        } else {
            "optional"
        };
        eprintln!("  {:<22} {need}: {}", column.name, column.doc);
    }
}

/// The progress bar on stderr: redrawn in place on a terminal, a line every 10 s otherwise,
/// nothing with --json.
struct Bar {
    started: Instant,
    first_done: Option<usize>,
    last_drawn: Option<Instant>,
    terminal: bool,
    quiet: bool,
    drawn_any: bool,
}

impl Bar {
    fn new(quiet: bool) -> Bar {
        Bar {
            started: Instant::now(),
            first_done: None,
            last_drawn: None,
            terminal: std::io::stderr().is_terminal(),
            quiet,
            drawn_any: false,
        }
    }

    fn finish(&mut self) {
        if self.terminal && self.drawn_any {
            eprintln!();
        }
    }

    fn line(&mut self, tally: &Tally, note: Option<&str>) -> String {
        // Rows an earlier run committed are settled at once: the rate counts this run's.
        let first = *self.first_done.get_or_insert(tally.done());
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = (tally.done() - first) as f64 / elapsed;
        let left = tally.total - tally.done();
        let eta = if rate > 0.0 {
            format_duration(Duration::from_secs_f64(left as f64 / rate))
        } else {
            "?".to_owned()
        };
        let width = 24;
        let filled = (tally.done() * width)
            .checked_div(tally.total)
            .unwrap_or(width);
        let bar: String = "#".repeat(filled) + &".".repeat(width - filled);
        let mut line = format!(
            "[{bar}] {}/{} rows · {} refused · {} pending · {rate:.0} rows/s · ETA {eta}",
            tally.done(),
            tally.total,
            tally.refused,
            tally.pending,
        );
        if let Some(note) = note {
            line.push_str(" · ");
            line.push_str(note);
        }
        line
    }
}

impl Progress for Bar {
    fn update(&mut self, tally: &Tally, note: Option<&str>) {
        if self.quiet {
            return;
        }
        let every = if self.terminal {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(10)
        };
        let due = self
            .last_drawn
            .is_none_or(|last| last.elapsed() >= every || note.is_some());
        if !due {
            return;
        }
        self.last_drawn = Some(Instant::now());
        self.drawn_any = true;
        let line = self.line(tally, note);
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }
}

fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// One refused row or event, as the summary lists it.
#[derive(Serialize)]
struct Refusal {
    /// The CSV row (header = 1) or the event's index.
    position: u64,
    /// The error code (`rule_violation`, `invalid_value`, …).
    code: String,
    /// The rule, for a rule violation; the code otherwise.
    rule: String,
    /// The column at fault, for a CSV row.
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<String>,
    /// In words.
    message: String,
}

/// What the import did, for people or as JSON.
#[derive(Serialize)]
struct Summary {
    /// `csv` or `epcis`.
    format: &'static str,
    /// Rows or events in the file.
    total: usize,
    /// Committed by this run.
    committed: usize,
    /// Found committed by an earlier run.
    committed_earlier: usize,
    /// Refused (by the layout, the mapping or the node) or rejected in a block.
    refused: usize,
    /// Not finished before an interruption.
    unfinished: usize,
    /// Seconds reading, mapping and signing the file.
    prepare_seconds: f64,
    /// Seconds from start to end.
    seconds: f64,
    /// Rows committed by this run per second, end to end.
    rows_per_second: f64,
    /// The report of refused rows, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<PathBuf>,
    /// Each refusal.
    refusals: Vec<Refusal>,
}

impl Summary {
    fn new(
        input: &Input,
        outcomes: &[Outcome],
        report: Option<&PathBuf>,
        prepare: Duration,
        elapsed: Duration,
    ) -> Summary {
        let count = |test: &dyn Fn(&Outcome) -> bool| outcomes.iter().filter(|o| test(o)).count();
        let committed = count(&|o| matches!(o, Outcome::Committed { earlier: false, .. }));
        let refusals = input
            .items()
            .iter()
            .zip(outcomes)
            .filter_map(|(item, outcome)| {
                let error = refusal(outcome)?;
                Some(Refusal {
                    position: item.position,
                    code: error.code.clone(),
                    rule: rule_of(error).to_owned(),
                    column: error.field.clone(),
                    message: error.message.clone(),
                })
            })
            .collect::<Vec<_>>();
        Summary {
            format: match input {
                Input::Csv { .. } => "csv",
                Input::Epcis { .. } => "epcis",
            },
            total: outcomes.len(),
            committed,
            committed_earlier: count(&|o| matches!(o, Outcome::Committed { earlier: true, .. })),
            refused: refusals.len(),
            unfinished: count(&|o| matches!(o, Outcome::Unfinished)),
            prepare_seconds: prepare.as_secs_f64(),
            seconds: elapsed.as_secs_f64(),
            rows_per_second: committed as f64 / elapsed.as_secs_f64().max(0.001),
            report: report.cloned(),
            refusals,
        }
    }

    fn print(&self, json: bool, journal: &Path) -> anyhow::Result<()> {
        if json {
            println!("{}", serde_json::to_string_pretty(self)?);
            return Ok(());
        }
        let unit = if self.format == "csv" { "row" } else { "event" };
        for refusal in self.refusals.iter().take(MAX_REFUSALS_PRINTED) {
            println!(
                "{unit} {}: refused {}: {}",
                refusal.position, refusal.rule, refusal.message
            );
        }
        if self.refusals.len() > MAX_REFUSALS_PRINTED {
            println!(
                "… and {} more refused",
                self.refusals.len() - MAX_REFUSALS_PRINTED
            );
        }
        println!(
            "{} {unit}s: {} committed, {} committed by an earlier run, {} refused, {} unfinished \
             ({:.1} s, {:.0} {unit}s/s)",
            self.total,
            self.committed,
            self.committed_earlier,
            self.refused,
            self.unfinished,
            self.seconds,
            self.rows_per_second
        );
        if let Some(report) = &self.report {
            println!(
                "refused {unit}s with their reasons: {} (fix them and import that file)",
                report.display()
            );
        }
        if self.unfinished > 0 {
            println!(
                "interrupted: run the same command again to resume (journal {})",
                journal.display()
            );
        }
        Ok(())
    }

    fn exit_code(&self) -> ExitCode {
        if self.unfinished > 0 {
            ExitCode::from(EXIT_INTERRUPTED)
        } else if self.refused > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }
}
