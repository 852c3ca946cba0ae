//! `suyuan dev`: a complete local consortium in one process, with the demo records loaded.
//!
//! It runs the demo consortium of `ledger::demo` (deterministic keys: never for real use):
//! each validator is a full node with its own RocksDB under `--dir`, its own libp2p listener
//! and its own HTTP API on loopback, exactly as `suyuan run` would start it. The demo story
//! is submitted through the first node's admission path, block by block, each waiting for
//! its prerequisites to commit. A second run reuses the data and skips the loading.
//!
//! Beside the databases it writes the demo's registrar, regulator and enterprise keys
//! (`keys/`, public by construction: for this demo only) and examples of what an enterprise
//! writes (`examples/`: a record, the same as an EPCIS event, and an ERP export to import),
//! so that the tour can show a write as an enterprise makes one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use suyuan_api::Node as _;
use suyuan_epcis::document::document as epcis_document;
use suyuan_epcis::export::{ExportContext, export_event};
use suyuan_epcis::ids::{NoPartyGlns, NoPrefixLengths};
use suyuan_ledger::crypto::KeyPair;
use suyuan_ledger::demo::{Demo, who};
use suyuan_ledger::hash::hash_parts;
use suyuan_ledger::record::{Record, Shipment, ShipmentLine};
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{Envelope, Payload, TxId};

use suyuan_node::config::{
    ApiSection, BlockSection, Config, ConsensusSection, LogFormat, LogSection, NodeSection,
    P2pSection,
};
use suyuan_node::keyfile;
use suyuan_node::mempool::MempoolLimits;
use suyuan_node::service::{RunningNode, init_logging};

/// How long loading one step of the story may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// `suyuan dev`'s options.
#[derive(Debug, clap::Args)]
pub(crate) struct DevArgs {
    /// Where the validators keep their databases; created if missing, reused if present.
    #[arg(long, default_value = ".suyuan-dev")]
    dir: PathBuf,
    /// How many validators (4 tolerates one fault).
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// The first validator's p2p port on 127.0.0.1; the others count up from it.
    #[arg(long, default_value_t = 7100)]
    p2p_port: u16,
    /// The first validator's HTTP API port on 127.0.0.1; the others count up from it.
    #[arg(long, default_value_t = 8100)]
    api_port: u16,
    /// Delete the databases under `--dir` first and start a new chain.
    #[arg(long)]
    fresh: bool,
    /// Log level for the nodes (a tracing filter such as `info` or `suyuan=debug`).
    #[arg(long, env = "SUYUAN_LOG_LEVEL", default_value = "warn")]
    log_level: String,
}

/// Runs the dev consortium until Ctrl-C.
pub(crate) fn run(args: DevArgs) -> anyhow::Result<()> {
    if !(1..=16).contains(&args.validators) {
        bail!("--validators must be 1 to 16 for a consortium in one process");
    }
    init_logging(&args.log_level, LogFormat::Text);
    let demo = Demo::new(args.validators, args.p2p_port);
    if args.fresh && args.dir.exists() {
        std::fs::remove_dir_all(&args.dir)
            .with_context(|| format!("deleting {}", args.dir.display()))?;
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let genesis_path = args.dir.join("genesis.json");
    std::fs::write(
        &genesis_path,
        serde_json::to_string_pretty(&demo.genesis)? + "\n",
    )?;
    let story = demo.dev_story();
    let write = write_demo_files(&args.dir, &demo, &story)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let mut nodes = Vec::new();
        for (index, key) in demo.validators.iter().enumerate() {
            let config = dev_config(&args, index);
            let node = RunningNode::start_with(&config, demo.genesis.clone(), key.clone())
                .await
                .with_context(|| format!("starting validator {index}"))?;
            nodes.push(node);
        }
        println!(
            "suyuan dev: chain {} with {} validators, data in {}",
            demo.genesis.chain_id,
            nodes.len(),
            args.dir.display()
        );
        for node in &nodes {
            println!(
                "  validator {}: http://{}/v1/status",
                node.index, node.api_address
            );
        }
        let outcome = tokio::select! {
            loaded = load_story(&nodes[0], &story) => loaded.map(|()| true),
            _ = tokio::signal::ctrl_c() => Ok(false),
        };
        let loaded = match outcome {
            Ok(loaded) => loaded,
            Err(error) => {
                stop_all(nodes).await;
                return Err(error);
            }
        };
        if loaded {
            print_tour(&nodes[0], &demo, &story, &genesis_path, &write);
            println!("Ctrl-C stops the consortium.");
            let _ = tokio::signal::ctrl_c().await;
        }
        println!("stopping ...");
        stop_all(nodes).await;
        Ok(())
    })
}

async fn stop_all(nodes: Vec<RunningNode>) {
    for node in nodes {
        let index = node.index;
        if let Err(error) = node.stop().await {
            eprintln!("validator {index} stopped with an error: {error:#}");
        }
    }
}

/// The configuration of dev validator `index`.
fn dev_config(args: &DevArgs, index: usize) -> Config {
    let node_dir = args.dir.join(format!("validator-{index}"));
    Config {
        node: NodeSection {
            data_dir: node_dir.join("data"),
            genesis: args.dir.join("genesis.json"),
            key: node_dir.join("validator.key"),
        },
        p2p: P2pSection {
            listen: format!("/ip4/127.0.0.1/tcp/{}", usize::from(args.p2p_port) + index),
        },
        api: ApiSection::listening_on(format!("127.0.0.1:{}", usize::from(args.api_port) + index)),
        consensus: ConsensusSection::default(),
        mempool: MempoolLimits::default(),
        block: BlockSection::default(),
        log: LogSection {
            level: args.log_level.clone(),
            format: LogFormat::Text,
        },
    }
}

/// Submits the demo story step by step through `node`, each step once the previous one is
/// committed; a second run finds the story committed already.
async fn load_story(node: &RunningNode, story: &[Vec<Envelope>]) -> anyhow::Result<()> {
    let chain = node.store.binding();
    let first = story
        .first()
        .and_then(|step| step.first())
        .map(|envelope| envelope.id(chain));
    if let Some(first) = first
        && node.store.transaction(&first)?.is_some()
    {
        println!(
            "the demo records are loaded already (height {})",
            node.store.head().height
        );
        return Ok(());
    }
    let started = Instant::now();
    for (step, envelopes) in story.iter().enumerate() {
        let ids = submit_step(node, envelopes.clone()).await?;
        wait_committed(node, &ids)
            .await
            .with_context(|| format!("loading step {} of the demo story", step + 1))?;
    }
    println!(
        "loaded the demo story in {:.1} s: height {}, {} transactions",
        started.elapsed().as_secs_f64(),
        node.store.head().height,
        node.store.counts().transactions
    );
    Ok(())
}

async fn submit_step(node: &RunningNode, envelopes: Vec<Envelope>) -> anyhow::Result<Vec<TxId>> {
    let chain = node.store.binding();
    let ids: Vec<TxId> = envelopes
        .iter()
        .map(|envelope| envelope.id(chain))
        .collect();
    for (result, id) in node
        .api
        .submit(envelopes, std::net::Ipv4Addr::LOCALHOST.into())
        .await
        .into_iter()
        .zip(&ids)
    {
        match result {
            Ok(_) | Err(SubmitError::Duplicate(_)) => {}
            Err(SubmitError::Rule(error)) if node.store.transaction(id)?.is_some() => {
                tracing::debug!(%id, %error, "already committed");
            }
            Err(error) => bail!("the demo transaction {id} was refused: {error}"),
        }
    }
    Ok(ids)
}

async fn wait_committed(node: &RunningNode, ids: &[TxId]) -> anyhow::Result<()> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    let mut waiting: BTreeSet<TxId> = ids.iter().copied().collect();
    while !waiting.is_empty() {
        let mut still = BTreeSet::new();
        for id in waiting {
            if node.store.transaction(&id)?.is_none() {
                still.insert(id);
            }
        }
        waiting = still;
        if waiting.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "{} transactions not committed after {STEP_TIMEOUT:?}; is a quorum of validators running?",
                waiting.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// The demo's signing keys by file name under `<dir>/keys`: the registrars and the regulator,
/// and each enterprise.
fn demo_keys(demo: &Demo) -> [(&'static str, &KeyPair); 6] {
    [
        ("bureau", &demo.bureau),
        ("association", &demo.association),
        ("cable-maker", &demo.enterprises[who::CABLE_MAKER].key),
        (
            "gas-appliance-maker",
            &demo.enterprises[who::GAS_APPLIANCE_MAKER].key,
        ),
        ("distributor", &demo.enterprises[who::DISTRIBUTOR].key),
        ("lab", &demo.enterprises[who::LAB].key),
    ]
}

const DEMO_KEYS_WARNING: &str = "\
DEMO KEYS: NOT SECRET, NEVER FOR REAL RECORDS.

These are the signing keys of the demo consortium that `suyuan dev` runs. They are derived
from fixed labels in Suyuan's source code (suyuan_ledger::demo), so anyone can compute them
and sign with them. They sign only for the demo chain (its genesis hash is in every signature).

  bureau.key               Hubei Administration for Market Regulation: registrar and regulator
  association.key          China Electrical Equipment Industry Association: registrar
  cable-maker.key          the cable maker
  gas-appliance-maker.key  the gas-appliance maker
  distributor.key          the distributor
  lab.key                  the accredited testing lab

Example, from the directory that holds keys/ (suyuan dev's --dir, .suyuan-dev by default):
the distributor sells ten more metres of the cable lot it holds (examples/ship.json), signed,
submitted to the first validator's API and followed until committed:

  suyuan submit --api http://127.0.0.1:8100 --key keys/distributor.key \\
    --record examples/ship.json --wait

The same sale as an ERP reports it, one GS1 EPCIS 2.0 shipping event, captured (a second
capture of the same event is refused: an event is recorded once):

  suyuan epcis capture --api http://127.0.0.1:8100 --key keys/distributor.key \\
    examples/ship-epcis.json

The cable maker's ERP export of a week (three lots made, sold to the distributor), imported
in one run; importing it again records nothing twice (docs/import.md):

  suyuan import --api http://127.0.0.1:8100 --key keys/cable-maker.key examples/import.csv

A real consortium makes its keys with `suyuan keygen` and `suyuan testnet init`.
";

/// What the tour's write needs: where the demo's keys are (it signs with the distributor's)
/// and the record it signs.
struct TourWrite {
    keys: PathBuf,
    record: PathBuf,
    /// The same sale as an EPCIS document.
    epcis: PathBuf,
    /// The cable maker's ERP export, for `suyuan import`.
    import: PathBuf,
}

/// The nonce of the example EPCIS event's payload.
const EPCIS_EXAMPLE_NONCE: u64 = 20_260_314;

/// Writes the demo's registrar, regulator and enterprise keys to `<dir>/keys` (mode 0600, with
/// a README saying they are public), and an example record for the tour's write to
/// `<dir>/examples/ship.json`, from the distributor's resale in `story`. Keys already there
/// must be the demo's: another key under a demo name means the directory is not this demo's.
fn write_demo_files(dir: &Path, demo: &Demo, story: &[Vec<Envelope>]) -> anyhow::Result<TourWrite> {
    let keys = dir.join("keys");
    for (name, key) in demo_keys(demo) {
        let path = keys.join(format!("{name}.key"));
        if path.exists() {
            let stored = keyfile::read(&path)?;
            ensure!(
                stored.public() == key.public(),
                "{} holds another key than the demo's {name}: use another --dir, or --fresh",
                path.display()
            );
        } else {
            keyfile::write(&path, key)?;
        }
    }
    std::fs::write(keys.join("README.txt"), DEMO_KEYS_WARNING)?;

    // The distributor holds 180 m of the cable lot once the story is loaded; each run of the
    // example sells 10 m of them to the construction company the story sold to.
    let distributor = &demo.enterprises[who::DISTRIBUTOR].profile.uscc;
    let resale = story
        .iter()
        .flatten()
        .filter_map(|envelope| Payload::parse(&envelope.payload).ok())
        .find_map(|payload| match payload.record {
            Record::Ship(shipment) if &shipment.seller == distributor => Some(shipment),
            _ => None,
        })
        .context("the demo story has the distributor's resale")?;
    let example = Record::Ship(Shipment {
        lines: vec![ShipmentLine {
            code: resale.lines[0].code.clone(),
            quantity: 10,
        }],
        order_reference: Some("PO-CCCE-2026-0459".parse()?),
        ..resale
    });
    let examples = dir.join("examples");
    std::fs::create_dir_all(&examples)
        .with_context(|| format!("creating {}", examples.display()))?;
    let record = examples.join("ship.json");
    std::fs::write(&record, serde_json::to_string_pretty(&example)? + "\n")?;
    // The same sale as an ERP would report it: one EPCIS shipping event, for `suyuan epcis
    // capture`. Its nonce is fixed, so capturing it twice is one transaction.
    let payload = Payload {
        nonce: EPCIS_EXAMPLE_NONCE,
        record: example,
        event: None,
    };
    let context = ExportContext {
        lengths: &NoPrefixLengths,
        parties: &NoPartyGlns,
        block_time_ms: 0,
        recall_event_id: None,
    };
    let event = export_event(&payload, &payload.to_bytes(), &context)
        .context("a sale is an EPCIS event")?;
    let epcis = examples.join("ship-epcis.json");
    std::fs::write(
        &epcis,
        serde_json::to_string_pretty(&epcis_document(vec![event]))? + "\n",
    )?;
    let import = examples.join("import.csv");
    std::fs::write(&import, import_example(demo))?;
    Ok(TourWrite {
        keys,
        record,
        epcis,
        import,
    })
}

/// The cable maker's ERP export for the tour's import: three lots made in February 2026 and
/// sold to the distributor, each sale a few rows after the lot it sells (the rows depend on
/// each other and import in one run). The distributor is named by its USCC alone: import reads
/// its name and address from its registration.
fn import_example(demo: &Demo) -> String {
    let maker = &demo.enterprises[who::CABLE_MAKER].profile.uscc;
    let buyer = &demo.enterprises[who::DISTRIBUTOR].profile.uscc;
    let gtin = Demo::cable_gtin();
    let lot = |name: &str| format!("(01){gtin}(10){name}");
    let report = |number: &str| hash_parts("suyuan demo report", &[number.as_bytes()]).to_hex();
    let commission = |name: &str, quantity: u32, day: u32, number: &str| {
        format!(
            "commission,{maker},{gtin},{},{quantity},2026-02-{day:02},WH-L3,factory_inspection,\
             {number},国家电线电缆质量检验检测中心(武汉),{},,,,,,\n",
            lot(name),
            report(number)
        )
    };
    // A sale leaves the ten commissioning columns empty.
    let ship = |codes: &str, quantities: &str, when: &str, order: &str| {
        let empty = ",".repeat(11);
        format!("ship{empty}{maker},{buyer},{when},{codes},{quantities},{order}\n")
    };
    let mut csv = String::from(
        "type,uscc,gtin,code,quantity,production_date,factory_number,report_kind,report_number,\
         report_issued_by,report_sha256,seller,buyer_uscc,sold_at,codes,quantities,\
         order_reference\n",
    );
    csv += &commission("C2602A", 1000, 9, "CJ-FI-2602-031");
    csv += &commission("C2602B", 800, 10, "CJ-FI-2602-032");
    csv += &ship(&lot("C2602A"), "200", "2026-02-11 09:30", "SO-2026-0107");
    csv += &commission("C2602C", 1200, 12, "CJ-FI-2602-033");
    csv += &ship(
        &format!("{}|{}", lot("C2602B"), lot("C2602C")),
        "150|300",
        "2026-02-13 14:00",
        "SO-2026-0112",
    );
    csv
}

/// Prints where to look first.
fn print_tour(
    node: &RunningNode,
    demo: &Demo,
    story: &[Vec<Envelope>],
    genesis: &Path,
    write: &TourWrite,
) {
    let base = format!("http://{}", node.api_address);
    println!();
    println!("Try:");
    println!("  curl -s {base}/v1/status");
    println!("  curl -s {base}/v1/blocks/latest");
    let codes: BTreeSet<String> = story
        .iter()
        .flatten()
        .filter_map(|envelope| Payload::parse(&envelope.payload).ok())
        .flat_map(|payload| {
            payload
                .record
                .codes()
                .into_iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    for code in codes.iter().take(3) {
        println!("  curl -s {base}/v1/products/{}", code.replace('/', "%2F"));
    }
    if let Some(code) = codes.iter().next() {
        println!("  suyuan query proof {code} --api {base} --out bundle.json");
        println!(
            "  suyuan verify --genesis {} bundle.json",
            genesis.display()
        );
    }
    // The demo's gas appliance maker has the richest record: inspections, a sale, a recall.
    let uscc = &demo.enterprises[who::GAS_APPLIANCE_MAKER].profile.uscc;
    println!("  curl -s {base}/v1/enterprises/{uscc}/score");
    println!("  suyuan query report {uscc} --api {base}");
    println!("  a supplier report in a browser: {base}/v1/enterprises/{uscc}/report?format=html");
    println!("  curl -s {base}/v1/scores");
    println!("  curl -s {base}/metrics");
    println!("  curl -s {base}/openapi.json");
    println!("  suyuan status --api {base}");
    println!(
        "  suyuan submit --api {base} --key {} --record {} --wait",
        write.keys.join("distributor.key").display(),
        write.record.display()
    );
    println!(
        "  suyuan epcis capture --api {base} --key {} {}",
        write.keys.join("distributor.key").display(),
        write.epcis.display()
    );
    println!("  curl -s '{base}/epcis/events?EQ_bizStep=shipping'");
    println!(
        "  suyuan import --api {base} --key {} {}",
        write.keys.join("cable-maker.key").display(),
        write.import.display()
    );
    println!(
        "  (the demo's keys, public and for this demo only: {})",
        write.keys.display()
    );
    println!();
}
