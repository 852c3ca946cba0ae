//! Run `suyuan submit`: sign a record with a key file and submit it, or submit envelopes
//! already signed, one or a batch; with `--wait`, follow each until it is committed.
//!
//! Exit status: 0 when accepted (and committed, with `--wait`), 1 when refused (the error JSON
//! is printed on stdout), 2 on any other failure.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use suyuan_api::types::{CommittedTx, ErrorBody};
use suyuan_client::{ApiClient, ClientError};
use suyuan_ledger::record::Record;
use suyuan_ledger::tx::{Envelope, Payload, TxId};

use crate::remote::{ApiArg, chain_of, refused_or_fail, runtime};

/// The largest record or envelope file read: a batch of 1000 envelopes of 64 KiB each fits.
const MAX_INPUT_FILE_BYTES: u64 = 96 * 1024 * 1024;

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

/// `suyuan submit`.
pub(crate) fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let client = ApiClient::new(&args.api.api)?;
    let input = SubmitInput::from_args(&args)?;
    let wait = args.wait.then(|| Duration::from_secs(args.timeout_secs));
    runtime()?.block_on(async {
        match input {
            SubmitInput::Record { key, record, nonce } => {
                // The node's chain id and genesis hash: what the signature binds.
                let chain = match chain_of(&client).await {
                    Ok(chain) => chain,
                    Err(error) => return refused_or_fail(error),
                };
                let payload = Payload {
                    nonce: nonce.unwrap_or_else(rand::random),
                    record: *record,
                    event: None,
                };
                let envelope = Envelope::sign(&chain, &payload, &key);
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
                key: suyuan_node::keyfile::read(key)?,
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

#[cfg(test)]
mod tests {
    use clap::Parser;
    use suyuan_ledger::crypto::KeyPair;
    use suyuan_ledger::demo::Demo;

    use super::*;

    /// The command as `main` mounts it.
    #[derive(Parser, Debug)]
    enum Cli {
        Submit(SubmitArgs),
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("suyuan").chain(args.iter().copied()))
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
        .unwrap();
        assert_eq!(args.key.as_deref(), Some(Path::new("k.key")));
        assert_eq!(args.nonce, Some(7));
        assert!(args.wait);
        assert_eq!(args.timeout_secs, 5);
        assert!(parse(&["submit", "--envelope", "e.json", "--wait", "--json"]).is_ok());
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
            &demo.genesis.binding(),
            &Payload::parse(&demo.story()[0][0].payload).unwrap(),
            &key,
        );
        let id = envelope.id(&demo.genesis.binding());
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
