//! Fetch proof bundles from a node and check them offline: `suyuan query proof`, `suyuan query
//! consistency` and `suyuan verify`.
//!
//! `suyuan verify` trusts nothing but the genesis file: it runs
//! [`ProofBundle::verify`] (and [`ConsistencyBundle::verify`] with `--since`), the checks
//! `docs/proofs.md` specifies, and prints what the bundle proves in plain words or the first
//! check that failed.
//!
//! Exit status of `suyuan verify`: 0 when the proof holds; 1 when it does not (the reason is
//! printed); 2 when a file cannot be read or is not a genesis file, bundle or consistency proof
//! at all.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use suyuan_ledger::genesis::Genesis;
use suyuan_proofs::bundle::{ConsistencyBundle, MAX_BUNDLE_BYTES, ProofBundle};

use crate::remote::ApiArg;

/// Largest genesis file read: genesis bounds its member lists far below this.
const MAX_GENESIS_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Exit status when the proof does not hold.
const DOES_NOT_HOLD: u8 = 1;

/// `suyuan verify`.
#[derive(clap::Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The consortium's genesis file: the one thing trusted.
    #[arg(long)]
    genesis: PathBuf,
    /// Check a consistency proof against this proof bundle, verified first: that the newer
    /// finalized block's record log extends the log of the bundle's block.
    #[arg(long, value_name = "OLD_BUNDLE")]
    since: Option<PathBuf>,
    /// A proof bundle (`suyuan query proof`, `GET /v1/proofs/{code}`), or with --since a
    /// consistency proof (`suyuan query consistency`, `GET /v1/proofs/consistency`).
    file: PathBuf,
}

/// `suyuan query proof`.
#[derive(clap::Args, Debug)]
pub(crate) struct ProofArgs {
    #[command(flatten)]
    pub(crate) api: ApiArg,
    /// The code: a trace code such as 01/06950123450012/10/C2601A, or a GS1 Digital Link URI
    /// or element string naming a batch, an item or a logistic unit.
    code: String,
    /// Write the bundle to this file (and say so) instead of printing it.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

/// `suyuan query consistency`.
#[derive(clap::Args, Debug)]
pub(crate) struct ConsistencyArgs {
    #[command(flatten)]
    pub(crate) api: ApiArg,
    /// The height of the header you kept: that of a bundle you verified before.
    #[arg(long)]
    from: u64,
    /// Write the proof to this file (and say so) instead of printing it.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

/// `suyuan verify`: prints what the proof proves, or why it does not hold.
pub(crate) fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    verify_to(args, &mut std::io::stdout().lock())
}

/// [`verify`], writing to `out`.
fn verify_to(args: &VerifyArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let genesis = read_genesis(&args.genesis)?;
    let verdict = match &args.since {
        None => {
            let bundle: ProofBundle = read_document(&args.file, "proof bundle")?;
            bundle
                .verify(&genesis)
                .map(|proven| proven.to_string())
                .map_err(|error| error.to_string())
        }
        Some(old) => {
            let old: ProofBundle = read_document(old, "proof bundle")?;
            let proof: ConsistencyBundle = read_document(&args.file, "consistency proof")?;
            verify_extension(&genesis, &old, &proof)
        }
    };
    match verdict {
        Ok(proven) => {
            writeln!(out, "holds: {proven}")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(reason) => {
            writeln!(out, "does not hold: {reason}")?;
            Ok(ExitCode::from(DOES_NOT_HOLD))
        }
    }
}

/// Checks `old` and then that `proof` extends its header, in words.
fn verify_extension(
    genesis: &Genesis,
    old: &ProofBundle,
    proof: &ConsistencyBundle,
) -> Result<String, String> {
    old.verify(genesis)
        .map_err(|error| format!("the older bundle: {error}"))?;
    proof
        .verify(genesis, &old.header)
        .map(|extended| extended.to_string())
        .map_err(|error| error.to_string())
}

/// Reads and checks the genesis file.
fn read_genesis(path: &Path) -> anyhow::Result<Genesis> {
    let bytes = read_bounded(path, MAX_GENESIS_FILE_BYTES)?;
    Genesis::from_json(&bytes).with_context(|| format!("{} is not a genesis file", path.display()))
}

/// Reads a bundle or consistency proof: JSON of `what`, within [`MAX_BUNDLE_BYTES`].
fn read_document<T: DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<T> {
    let bytes = read_bounded(path, MAX_BUNDLE_BYTES as u64)?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not a {what}", path.display()))
}

/// Reads a whole file, refusing one larger than `max_bytes` before reading it.
fn read_bounded(path: &Path, max_bytes: u64) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    anyhow::ensure!(
        size <= max_bytes,
        "{} is {size} bytes; at most {max_bytes} are read",
        path.display()
    );
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// What `query proof` prints: the bundle as JSON, or with `out` where it was written and what
/// it is about.
pub(crate) fn save_bundle(bundle: &ProofBundle, out: Option<&Path>) -> anyhow::Result<String> {
    let about = match &bundle.record {
        Some(record) => format!(
            "record {} is the latest for {} as of height {}",
            record.tx_id, bundle.code, bundle.header.height
        ),
        None => format!(
            "no record names {} as of height {}",
            bundle.code, bundle.header.height
        ),
    };
    save(bundle, out, &about)
}

/// What `query consistency` prints, as [`save_bundle`] does.
pub(crate) fn save_consistency(
    proof: &ConsistencyBundle,
    out: Option<&Path>,
) -> anyhow::Result<String> {
    let about = format!(
        "the log at height {} against the log at height {}",
        proof.header.height, proof.from_height
    );
    save(proof, out, &about)
}

/// Pretty JSON with a newline; with `out`, written there, and a line saying so instead.
fn save(document: &impl Serialize, out: Option<&Path>, about: &str) -> anyhow::Result<String> {
    let json = serde_json::to_string_pretty(document)? + "\n";
    let Some(path) = out else {
        return Ok(json);
    };
    std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    Ok(format!(
        "wrote {} ({} bytes): {about}; check it offline with suyuan verify --genesis \
         genesis.json\n",
        path.display(),
        json.len()
    ))
}

/// Fetches a bundle with the client: `GET /v1/proofs/{code}`.
pub(crate) async fn fetch_bundle(
    client: &suyuan_client::ApiClient,
    args: &ProofArgs,
) -> Result<anyhow::Result<String>, suyuan_client::ClientError> {
    let bundle = client.proof(&args.code).await?;
    Ok(save_bundle(&bundle, args.out.as_deref()))
}

/// Fetches a consistency proof with the client: `GET /v1/proofs/consistency?from=`.
pub(crate) async fn fetch_consistency(
    client: &suyuan_client::ApiClient,
    args: &ConsistencyArgs,
) -> Result<anyhow::Result<String>, suyuan_client::ClientError> {
    let proof = client.consistency(args.from).await?;
    Ok(save_consistency(&proof, args.out.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use suyuan_testkit::served::Fixture;

    /// A fresh directory for one test's files.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("suyuan-prove-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn run_verify(args: &VerifyArgs) -> (anyhow::Result<ExitCode>, String) {
        let mut out = Vec::new();
        let code = verify_to(args, &mut out);
        (code, String::from_utf8(out).unwrap())
    }

    #[tokio::test]
    async fn fetched_bundles_verify_and_tampered_ones_do_not() {
        let fixture = Fixture::new("prove-verify", 4).await;
        let dir = scratch("verify");
        let genesis = dir.join("genesis.json");
        std::fs::write(&genesis, serde_json::to_vec(&fixture.demo.genesis).unwrap()).unwrap();
        let lot = format!("01/{}/10/C2601A", suyuan_ledger::demo::Demo::cable_gtin());
        let bundle = fixture.client.proof(&lot).await.unwrap();
        let path = dir.join("bundle.json");
        let said = save_bundle(&bundle, Some(&path)).unwrap();
        assert!(said.starts_with("wrote "), "{said}");
        assert!(said.contains("is the latest for"), "{said}");

        let args = VerifyArgs {
            genesis: genesis.clone(),
            since: None,
            file: path.clone(),
        };
        let (code, printed) = run_verify(&args);
        assert_eq!(code.unwrap(), ExitCode::SUCCESS, "{printed}");
        assert!(printed.starts_with("holds: record "), "{printed}");

        let mut tampered = bundle.clone();
        tampered.header.time_ms += 1;
        save_bundle(&tampered, Some(&path)).unwrap();
        let (code, printed) = run_verify(&args);
        assert_eq!(code.unwrap(), ExitCode::from(DOES_NOT_HOLD), "{printed}");
        assert!(printed.starts_with("does not hold: "), "{printed}");

        std::fs::write(&path, b"{\"format\": 1}").unwrap();
        assert!(run_verify(&args).0.is_err(), "not a bundle at all");
        let missing = VerifyArgs {
            file: dir.join("missing.json"),
            ..args
        };
        assert!(run_verify(&missing).0.is_err(), "no file");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
