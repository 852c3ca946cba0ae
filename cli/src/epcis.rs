//! `suyuan epcis`: capture an EPCIS 2.0 document into the ledger, signed by the capturing
//! enterprise's own key, and export a product's or an enterprise's history as one.
//!
//! Capture reads the document, checks it against GS1's schema, maps every event to the record
//! it is (docs/epcis.md), signs each with `--key` for the chain the node reports, and submits
//! them in batches, in document order, waiting for each batch to be committed before the next
//! (a record that depends on another, a sale of a lot commissioned earlier in the document,
//! then finds it on the chain). `--error-behaviour` is the standard's
//! `GS1-Capture-Error-Behaviour`: `rollback` (the default) submits nothing unless every event
//! maps; `proceed` submits the events that map and reports the others. A record the ledger
//! refuses cannot be rolled back once others are committed (the chain is append-only): each
//! refusal is reported with its event and rule.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;
use suyuan_api::types::ErrorBody;
use suyuan_client::{ApiClient, ClientError};
use suyuan_epcis::CaptureError;
use suyuan_epcis::capture::{CaptureContext, capture_event};
use suyuan_epcis::document::events_of;
use suyuan_epcis::export::event_id;
use suyuan_epcis::ids::party_glns_named;
use suyuan_ledger::codes::gs1::keys::Gln;
use suyuan_ledger::codes::uscc::Uscc;
use suyuan_ledger::record::Record;
use suyuan_ledger::tx::{ChainBinding, Envelope, Payload, TxId};

use crate::remote::{ApiArg, chain_of, refused_or_fail, runtime};

/// The largest document read.
const MAX_DOCUMENT_BYTES: u64 = 256 * 1024 * 1024;

/// `suyuan epcis …`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum EpcisCommand {
    /// Capture an EPCIS 2.0 document: map each event to its record, sign it with --key and
    /// submit it, in batches committed in order. Prints one line per event (or JSON).
    ///
    /// Exit status 0 when every event was committed, 1 when any was refused (by the mapping
    /// or by the ledger), 2 on other failures.
    Capture(CaptureArgs),
    /// Print a product's (--code) or an enterprise's (--enterprise) events as one EPCIS 2.0
    /// document, which `suyuan epcis capture` takes back.
    Export(ExportArgs),
}

/// What to do when an event cannot be captured: the standard's `GS1-Capture-Error-Behaviour`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorBehaviour {
    /// Submit nothing unless every event maps to a record.
    Rollback,
    /// Submit the events that map; report the others.
    Proceed,
}

/// `suyuan epcis capture`.
#[derive(clap::Args, Debug)]
pub(crate) struct CaptureArgs {
    #[command(flatten)]
    api: ApiArg,
    /// The EPCIS document (JSON or JSON-LD).
    document: PathBuf,
    /// The key file of the capturing enterprise (or of an inspection body or regulator): it
    /// signs every record; the ledger accepts only what this key may write.
    #[arg(long)]
    key: PathBuf,
    /// The capturing enterprise's USCC, for events that do not name one in
    /// suyuan:enterprise or sourceList.
    #[arg(long)]
    enterprise: Option<Uscc>,
    /// What to do when an event does not map to a record.
    #[arg(long, value_enum, default_value_t = ErrorBehaviour::Rollback)]
    error_behaviour: ErrorBehaviour,
    /// Events per batch (1 to 1000).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=1000))]
    batch: u16,
    /// How long to wait for each batch to be committed, in seconds.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
    /// Print machine-readable JSON: one outcome per event.
    #[arg(long)]
    json: bool,
}

/// `suyuan epcis export`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("whose").required(true).args(["code", "enterprise"])))]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    api: ApiArg,
    /// A batch, item or logistic unit: its trace code, Digital Link or element string.
    #[arg(long)]
    code: Option<String>,
    /// An enterprise's USCC.
    #[arg(long)]
    enterprise: Option<Uscc>,
}

/// What became of one event.
#[derive(Debug, Serialize)]
struct EventOutcome {
    /// Its position in the document, from 0.
    index: usize,
    /// Its `eventID`, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<String>,
    /// `committed`, `refused` (by the mapping or the node), `rejected` (by the block's
    /// execution) or `skipped` (not submitted under rollback).
    status: &'static str,
    /// The transaction, once signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<TxId>,
    /// The block, when committed.
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u64>,
    /// Why, when not committed.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody>,
}

/// `suyuan epcis`.
pub(crate) fn epcis(command: EpcisCommand) -> anyhow::Result<ExitCode> {
    match command {
        EpcisCommand::Capture(args) => capture(&args),
        EpcisCommand::Export(args) => export(&args),
    }
}

fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let client = ApiClient::new(&args.api.api)?;
    runtime()?.block_on(async {
        let answer = match (&args.code, &args.enterprise) {
            (Some(code), _) => client.epcis_product(code).await,
            (None, Some(uscc)) => client.epcis_enterprise(uscc).await,
            (None, None) => anyhow::bail!("pass --code or --enterprise"),
        };
        match answer {
            Ok(document) => {
                println!("{}", serde_json::to_string_pretty(&document)?);
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => refused_or_fail(error),
        }
    })
}

/// A mapping refusal as the API's error shape, so that every outcome reads alike.
fn mapping_error(error: &CaptureError) -> ErrorBody {
    ErrorBody::new(error.code(), error.to_string())
}

fn capture(args: &CaptureArgs) -> anyhow::Result<ExitCode> {
    let size = std::fs::metadata(&args.document)
        .with_context(|| format!("reading {}", args.document.display()))?
        .len();
    anyhow::ensure!(
        size <= MAX_DOCUMENT_BYTES,
        "{} is {size} bytes; at most {MAX_DOCUMENT_BYTES} are read",
        args.document.display()
    );
    let text = std::fs::read(&args.document)
        .with_context(|| format!("reading {}", args.document.display()))?;
    let document: Value = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not JSON", args.document.display()))?;
    let events = match events_of(&document) {
        Ok(events) => events.to_vec(),
        Err(error) => {
            print_outcomes(
                &[EventOutcome {
                    index: 0,
                    event_id: None,
                    status: "refused",
                    id: None,
                    height: None,
                    error: Some(mapping_error(&error)),
                }],
                args.json,
            )?;
            return Ok(ExitCode::from(1));
        }
    };
    let key = suyuan_node::keyfile::read(&args.key)?;
    let client = ApiClient::new(&args.api.api)?;
    runtime()?.block_on(async {
        let chain = match chain_of(&client).await {
            Ok(chain) => chain,
            Err(error) => return refused_or_fail(error),
        };
        let mut recalls = RecallIndex::default();
        let parties = PartyIndex::load(&client, &events).await?;
        let mut outcomes: Vec<EventOutcome> = Vec::with_capacity(events.len());
        let mut ready: Vec<(usize, Envelope)> = Vec::new();
        let mut failed = false;
        for (index, event) in events.iter().enumerate() {
            let event_id = event
                .get("eventID")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if is_close_of_recall(event) {
                recalls.load(&client, &chain).await?;
            }
            let captured = {
                let lookup = |id: &str| recalls.known.get(id).copied();
                let party = |gln: &Gln| parties.get(gln);
                let context = CaptureContext {
                    enterprise: args.enterprise.clone(),
                    recall: &lookup,
                    party: &party,
                };
                capture_event(event, &context)
            };
            match captured {
                Ok(payload) => {
                    let envelope = Envelope::sign(&chain, &payload, &key);
                    if let Record::Recall(_) = payload.record {
                        recalls
                            .known
                            .insert(event_id_of(&payload, &envelope), envelope.id(&chain));
                    }
                    outcomes.push(EventOutcome {
                        index,
                        event_id,
                        status: "pending",
                        id: Some(envelope.id(&chain)),
                        height: None,
                        error: None,
                    });
                    ready.push((index, envelope));
                }
                Err(error) => {
                    failed = true;
                    outcomes.push(EventOutcome {
                        index,
                        event_id,
                        status: "refused",
                        id: None,
                        height: None,
                        error: Some(mapping_error(&error)),
                    });
                }
            }
        }
        if failed && args.error_behaviour == ErrorBehaviour::Rollback {
            for outcome in outcomes.iter_mut().filter(|o| o.status == "pending") {
                outcome.status = "skipped";
            }
            print_outcomes(&outcomes, args.json)?;
            return Ok(ExitCode::from(1));
        }
        let timeout = Duration::from_secs(args.timeout_secs);
        for batch in ready.chunks(usize::from(args.batch)) {
            let envelopes: Vec<Envelope> = batch.iter().map(|(_, e)| e.clone()).collect();
            let results = match client.submit_batch(&envelopes).await {
                Ok(results) => results,
                Err(error) => return refused_or_fail(error),
            };
            for ((index, _), result) in batch.iter().zip(results) {
                let outcome = &mut outcomes[*index];
                match result {
                    Err(error) => {
                        failed = true;
                        outcome.status = "refused";
                        outcome.error = Some(error);
                    }
                    Ok(id) => match client.wait_committed(&id, timeout).await {
                        Ok(tx) => {
                            outcome.status = "committed";
                            outcome.height = Some(tx.height);
                        }
                        Err(ClientError::Rejected { body, .. }) => {
                            failed = true;
                            outcome.status = "rejected";
                            outcome.error = Some(body);
                        }
                        Err(error) => return Err(error.into()),
                    },
                }
            }
        }
        print_outcomes(&outcomes, args.json)?;
        Ok(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })
}

/// Whether an event closes a recall: capturing it needs the recall's transaction.
fn is_close_of_recall(event: &Value) -> bool {
    event.get("suyuan:closeRecall").is_some()
}

fn event_id_of(payload: &Payload, envelope: &Envelope) -> String {
    event_id(payload, &envelope.payload)
}

/// The enterprises claiming the party GLNs a document names, looked up on the node once per
/// GLN before capturing: an event naming a GLN no enterprise claims is refused
/// (`unknown_party`), the rest of the document goes on.
#[derive(Default)]
pub(crate) struct PartyIndex {
    holders: HashMap<Gln, Uscc>,
}

impl PartyIndex {
    /// Looks up every party GLN `events` name.
    pub(crate) async fn load(client: &ApiClient, events: &[Value]) -> anyhow::Result<Self> {
        let mut holders = HashMap::new();
        for gln in party_glns_named(events) {
            match client.party(&gln).await {
                Ok(view) => {
                    holders.insert(gln, view.uscc);
                }
                Err(error) if error.is_not_found() => {}
                Err(error) => {
                    return Err(error).with_context(|| format!("looking up party GLN {gln}"));
                }
            }
        }
        Ok(PartyIndex { holders })
    }

    /// The enterprise claiming `gln`.
    pub(crate) fn get(&self, gln: &Gln) -> Option<Uscc> {
        self.holders.get(gln).cloned()
    }
}

/// The open recalls' transactions by their event ids: those on the chain, read once, and
/// those captured earlier in this run.
#[derive(Default)]
pub(crate) struct RecallIndex {
    known: HashMap<String, TxId>,
    loaded: bool,
}

impl RecallIndex {
    /// Whether capturing `event` needs the index: it closes a recall.
    pub(crate) fn needed_by(event: &Value) -> bool {
        is_close_of_recall(event)
    }

    /// The transaction of the recall with event id `id`.
    pub(crate) fn get(&self, id: &str) -> Option<TxId> {
        self.known.get(id).copied()
    }

    /// Reads the chain's open recalls, once.
    pub(crate) async fn load(
        &mut self,
        client: &ApiClient,
        chain: &ChainBinding,
    ) -> anyhow::Result<()> {
        if self.loaded {
            return Ok(());
        }
        let mut after: Option<String> = None;
        loop {
            let page = client.open_recalls(after.as_deref()).await?;
            for recall in &page.recalls {
                let tx = client.transaction(&recall.record.id).await?;
                if let suyuan_api::types::TransactionView::Committed(tx) = tx {
                    let id = tx.envelope.id(chain);
                    self.known
                        .insert(event_id(&tx.payload, &tx.envelope.payload), id);
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        self.loaded = true;
        Ok(())
    }
}

fn print_outcomes(outcomes: &[EventOutcome], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(outcomes)?);
        return Ok(());
    }
    for outcome in outcomes {
        let event = outcome.event_id.as_deref().unwrap_or("(no eventID)");
        match (&outcome.error, outcome.height) {
            (Some(error), _) => println!(
                "event {} {event}: {} {}: {}",
                outcome.index, outcome.status, error.code, error.message
            ),
            (None, Some(height)) => println!(
                "event {} {event}: committed at height {height} as {}",
                outcome.index,
                outcome.id.map(|id| id.to_string()).unwrap_or_default()
            ),
            (None, None) => println!("event {} {event}: {}", outcome.index, outcome.status),
        }
    }
    let committed = outcomes.iter().filter(|o| o.status == "committed").count();
    eprintln!("{committed} of {} events committed", outcomes.len());
    Ok(())
}
