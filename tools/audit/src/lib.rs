//! Audit a chain against its genesis file alone: `suyuan audit`, for regulators.
//!
//! Each source (a stopped node's data directory, or a node's API) is replayed from genesis by
//! its own [`Replay`]: hash links, justifications, bodies, signatures, execution, the record
//! log and code map, and, for a data directory, the store's own tree nodes, state and indexes.
//! Every valid signed vote seen in any source goes into one [`VoteBook`], which catches a
//! validator that signed two conflicting votes. With several sources, their blocks are
//! compared height by height and a source holding another block than the others is named.
//!
//! The parts: [`source`] reads blocks, [`replay`] checks one source's chain ([`justify`] its
//! certificates, [`state`] its state), [`votes`] keeps the votes, [`report`] holds findings,
//! notes and the summary, [`progress`] draws the progress bar.
//!
//! Exit status: 0 when nothing is wrong, 1 on any finding, 2 when a source cannot be read at
//! all (no database, a node that does not answer, a bad genesis file).

mod justify;
mod progress;
mod replay;
mod report;
mod source;
mod state;
#[cfg(test)]
mod tests;
mod votes;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::Context as _;
use suyuan_ledger::block::BlockHash;
use suyuan_ledger::genesis::Genesis;
use suyuan_proofs::finality::Consortium;
use suyuan_storage::CheckScope;

use self::progress::Progress;
use self::replay::{Finished, Flow, Prepared, Replay, StoreChecks, compare_stored_trees};
use self::report::{Finding, FindingKind, Note, NoteKind, Summary};
use self::source::{DataDir, Remote, Source};
use self::votes::VoteBook;

/// `suyuan audit`: replay a chain from genesis and report everything that does not hold.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The chain's genesis file: the only thing the audit trusts.
    #[arg(long)]
    genesis: PathBuf,
    /// A stopped node's data directory (`data_dir` in its configuration); repeat for several.
    /// Its stored trees, state and indexes are checked as well as its blocks.
    #[arg(long = "data-dir", value_name = "DIR")]
    data_dirs: Vec<PathBuf>,
    /// A node's API, e.g. http://127.0.0.1:8100; repeat for several, whose heads are then
    /// compared.
    #[arg(long = "api", value_name = "URL")]
    apis: Vec<String>,
    /// Print the summary as JSON on standard output.
    #[arg(long)]
    json: bool,
    /// Threads checking signatures (default: every core).
    #[arg(long)]
    threads: Option<usize>,
}

/// Runs `suyuan audit`.
pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let genesis = read_genesis(&args.genesis)?;
    let quorum = quorum_of(&genesis)?;
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    for dir in &args.data_dirs {
        sources.push(Box::new(DataDir::open(dir, &genesis)?));
    }
    for url in &args.apis {
        sources.push(Box::new(Remote::new(url)?));
    }
    anyhow::ensure!(
        !sources.is_empty(),
        "nothing to audit: give --data-dir DIR or --api URL (or several)"
    );
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let summary = audit(&genesis, &quorum, &sources, threads)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", summary.to_text());
    }
    Ok(if summary.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The genesis validators as consensus checks votes against them.
pub(crate) fn quorum_of(genesis: &Genesis) -> anyhow::Result<Consortium> {
    Consortium::from_genesis(genesis).context("the genesis validator set")
}

/// Audits every source in turn, then what they say together: equivocations over all their
/// votes, and whether they hold the same blocks.
pub(crate) fn audit(
    genesis: &Genesis,
    quorum: &Consortium,
    sources: &[Box<dyn Source>],
    threads: usize,
) -> anyhow::Result<Summary> {
    let mut votes = VoteBook::new();
    let mut summary = Summary {
        chain_id: genesis.chain_id.clone(),
        genesis_hash: genesis.hash(),
        validators: genesis.validators.len(),
        validators_seen: 0,
        votes_seen: 0,
        sources: Vec::new(),
        findings: Vec::new(),
        findings_by_kind: BTreeMap::new(),
        notes: Vec::new(),
    };
    let mut chains = Vec::new();
    for (index, source) in sources.iter().enumerate() {
        let finished = audit_source(source.as_ref(), index, genesis, quorum, &mut votes, threads)?;
        summary.findings.extend(finished.findings);
        summary.notes.extend(finished.notes);
        chains.push((
            finished.summary.source.clone(),
            finished.summary.head,
            finished.hashes,
        ));
        summary.sources.push(finished.summary);
    }
    let names: Vec<String> = chains.iter().map(|(name, ..)| name.clone()).collect();
    summary.findings.extend(votes.findings(genesis, &names));
    let (divergences, behind) = compare_chains(&chains);
    summary.findings.extend(divergences);
    summary.notes.extend(behind);
    summary.validators_seen = votes.signers();
    summary.votes_seen = votes.count();
    summary.count_findings();
    Ok(summary)
}

/// Replays one source from genesis to the head it reports when asked.
///
/// Threads share the work: one reads blocks ahead, checks each body against its header and
/// verifies its signatures ([`Prepared::new`], on `threads` threads of its own); this one
/// replays them in order; and, for a data directory, one compares each block's trees as the
/// replay grows them with the store's ([`compare_stored_trees`]) and one runs the store's
/// integrity check from the start ([`CheckScope::FullCountingTreeNodes`]), which reads only the
/// store.
fn audit_source(
    source: &dyn Source,
    index: usize,
    genesis: &Genesis,
    quorum: &Consortium,
    votes: &mut VoteBook,
    threads: usize,
) -> anyhow::Result<Finished> {
    let started = Instant::now();
    let head = source.head()?;
    let name = source.name().to_owned();
    let store = source.store();
    let binding = genesis.binding();
    let mut replay = Replay::new(genesis, quorum, &name, index);
    let mut progress = Progress::new(&name, head);
    let (checks, walked) = std::thread::scope(|scope| {
        let checking = store.map(|store| {
            scope.spawn(move || store.check_integrity(CheckScope::FullCountingTreeNodes))
        });
        let comparing = store.map(|store| {
            let (grown, compare) = mpsc::sync_channel(COMPARE_AHEAD);
            replay.compare_trees_through(grown);
            scope.spawn(move || compare_stored_trees(store, compare))
        });
        let (ahead, prepared) = mpsc::sync_channel::<anyhow::Result<Vec<Prepared>>>(READ_AHEAD);
        let binding = &binding;
        scope.spawn(move || {
            let mut next = 1;
            while next <= head {
                let delivered = match source.blocks(next, head) {
                    Ok(delivered) => delivered,
                    Err(error) => {
                        // The replay ends at the first error; nothing to do if it ended already.
                        let _ = ahead.send(Err(error));
                        return;
                    }
                };
                let last = delivered.is_empty();
                next += delivered.len() as u64;
                let batch = delivered
                    .into_iter()
                    .map(|block| Prepared::new(block, binding, threads))
                    .collect();
                if ahead.send(Ok(batch)).is_err() || last {
                    return;
                }
            }
        });
        let walked = walk(&mut replay, &mut progress, prepared, head, votes);
        replay.stop_comparing();
        let checks = comparing
            .zip(checking)
            .map(|(comparing, checking)| StoreChecks {
                trees: joined(comparing),
                integrity: joined(checking),
            });
        (checks, walked)
    });
    let next = walked?;
    progress.finish(next - 1, replay.records());
    let mut finished = replay.finish(store.zip(checks));
    finished.summary.head = head;
    finished.summary.seconds = started.elapsed().as_secs_f64();
    Ok(finished)
}

/// Batches of blocks the reading thread may prepare ahead of the replay.
const READ_AHEAD: usize = 2;

/// Blocks whose trees the replay may grow ahead of their comparison with the store's.
const COMPARE_AHEAD: usize = 8;

/// What a scoped thread returned; its panic goes on in this one.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Replays the prepared blocks in order until the head, the source's end or a header that
/// cannot be read; the height after the last block replayed. Dropping `prepared` on return
/// stops the reading thread.
fn walk(
    replay: &mut Replay<'_>,
    progress: &mut Progress,
    prepared: mpsc::Receiver<anyhow::Result<Vec<Prepared>>>,
    head: u64,
    votes: &mut VoteBook,
) -> anyhow::Result<u64> {
    let mut next = 1;
    while next <= head {
        let Ok(batch) = prepared.recv() else {
            anyhow::bail!("the thread reading blocks ended before height {next}");
        };
        let batch = batch?;
        if batch.is_empty() {
            replay.missing(
                next,
                format!("the source served nothing from here, below its head {head}"),
            );
            break;
        }
        for block in batch {
            let flow = replay.block(block, votes);
            progress.update(next, replay.records());
            next += 1;
            if flow == Flow::Stop {
                return Ok(next);
            }
        }
    }
    Ok(next)
}

/// Compares the sources' chains height by height: a source holding another block than most
/// sources at a height diverges from there (when no block is held by more sources than any
/// other, every source is named); a source with fewer blocks that agrees is behind.
fn compare_chains(chains: &[(String, u64, Vec<BlockHash>)]) -> (Vec<Finding>, Vec<Note>) {
    let mut findings = Vec::new();
    let mut diverged = vec![false; chains.len()];
    let longest = chains
        .iter()
        .map(|(_, _, hashes)| hashes.len())
        .max()
        .unwrap_or(0);
    for index in 0..longest {
        let height = index as u64 + 1;
        let mut groups: BTreeMap<BlockHash, Vec<usize>> = BTreeMap::new();
        for (source, (_, _, hashes)) in chains.iter().enumerate() {
            if let Some(hash) = hashes.get(index)
                && !diverged[source]
            {
                groups.entry(*hash).or_default().push(source);
            }
        }
        if groups.len() < 2 {
            continue;
        }
        let largest = groups.values().map(Vec::len).max().unwrap_or(0);
        let majority = groups
            .iter()
            .filter(|(_, members)| members.len() == largest)
            .map(|(hash, _)| *hash)
            .collect::<Vec<_>>();
        let held = |hash: &BlockHash| {
            let members = &groups[hash];
            members
                .iter()
                .map(|&source| chains[source].0.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let summary = groups
            .keys()
            .map(|hash| format!("{} hold {hash}", held(hash)))
            .collect::<Vec<_>>()
            .join("; ");
        for (hash, members) in &groups {
            if majority.len() == 1 && majority[0] == *hash {
                continue;
            }
            for &source in members {
                diverged[source] = true;
                findings.push(Finding {
                    kind: FindingKind::Divergence,
                    source: chains[source].0.clone(),
                    height,
                    message: if majority.len() == 1 {
                        format!(
                            "this source holds block {hash} at height {height}, where {} hold {}",
                            held(&majority[0]),
                            majority[0]
                        )
                    } else {
                        format!("the sources disagree at height {height}: {summary}")
                    },
                });
            }
        }
    }
    let top = chains.iter().map(|(_, head, _)| *head).max().unwrap_or(0);
    let behind = chains
        .iter()
        .enumerate()
        .filter(|(source, (_, head, _))| !diverged[*source] && *head < top)
        .map(|(_, (name, head, _))| Note {
            kind: NoteKind::Behind,
            source: name.clone(),
            height: *head,
            message: format!(
                "its head is {} block(s) behind the highest source's {top}",
                top - head
            ),
        })
        .collect();
    (findings, behind)
}

/// Reads and parses the genesis file at `path`.
fn read_genesis(path: &std::path::Path) -> anyhow::Result<Genesis> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading genesis {}", path.display()))?;
    Genesis::from_json(&bytes).with_context(|| format!("genesis {}", path.display()))
}
