//! `suyuan label`: printable QR labels of GS1 Digital Links for batches, items, logistic
//! units and models, made offline, before or after the codes are recorded: what a producer
//! prints on the line and a buyer's phone scans.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use suyuan_labels::{Label, Qr, label_svg, sheet_svg};
use suyuan_ledger::codes::gs1::digital_link::DigitalLink;
use suyuan_ledger::codes::gs1::keys::Gtin;
use suyuan_ledger::codes::inspect::read_trace_code;
use suyuan_ledger::record::TraceCode;

/// `suyuan label`'s arguments.
#[derive(clap::Args, Debug)]
pub(crate) struct LabelArgs {
    /// The codes to label: a batch, item or logistic unit in any form Suyuan reads
    /// (`01/{gtin}/10/{lot}`, `00/{sscc}`, a Digital Link, an element string), or a GTIN alone
    /// for the model.
    #[arg(required = true)]
    codes: Vec<String>,
    /// Where the consortium's resolver is reached, `https://host[:port]`: each label's Digital
    /// Link starts with it. The default is `suyuan dev`'s first node.
    #[arg(
        long,
        env = "SUYUAN_LABEL_ROOT",
        default_value = "http://127.0.0.1:8100"
    )]
    root: String,
    /// A line printed in bold on every label, above the code: the product's name.
    #[arg(long)]
    name: Option<String>,
    /// The file to write: `.svg`, a sheet of one label per code, or `.png`, the QR code of a
    /// single code.
    #[arg(long, short)]
    out: PathBuf,
    /// Labels across the sheet.
    #[arg(long, default_value_t = 3)]
    columns: usize,
    /// Pixels per module of a PNG (1 to 40).
    #[arg(long, default_value_t = 8)]
    module_pixels: u32,
}

/// Writes the labels; exit status 0, or 2 with the reason when a code or the root is refused.
pub(crate) fn label(args: &LabelArgs) -> ExitCode {
    match write_labels(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("suyuan label: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn write_labels(args: &LabelArgs) -> anyhow::Result<()> {
    let root = suyuan_api::check_public_url(&args.root)
        .map_err(|problem| anyhow::anyhow!("--root {problem}"))?;
    let mut labels = Vec::with_capacity(args.codes.len());
    for code in &args.codes {
        let link = digital_link(code, &root).with_context(|| format!("code {code:?}"))?;
        let mut lines: Vec<String> = args.name.iter().cloned().collect();
        lines.push(link.element_string().to_string());
        labels.push(Label {
            link: link.to_uri(&root),
            lines,
        });
    }
    let bytes = match extension(&args.out).as_deref() {
        Some("svg") if labels.len() == 1 => label_svg(&labels[0])?.into_bytes(),
        Some("svg") => sheet_svg(&labels, args.columns)?.into_bytes(),
        Some("png") => {
            let [label] = labels.as_slice() else {
                bail!("a PNG holds one code's QR code; write several codes as one .svg sheet");
            };
            Qr::encode(&label.link)?.to_png(args.module_pixels)?
        }
        _ => bail!("--out must end in .svg or .png"),
    };
    std::fs::write(&args.out, bytes).with_context(|| format!("writing {}", args.out.display()))?;
    for label in &labels {
        println!("{}", label.link);
    }
    eprintln!(
        "wrote {} label{} to {}",
        labels.len(),
        if labels.len() == 1 { "" } else { "s" },
        args.out.display()
    );
    Ok(())
}

/// The Digital Link of `code` under `root`: a GS1 batch, item or logistic unit, or a GTIN.
fn digital_link(code: &str, root: &str) -> anyhow::Result<DigitalLink> {
    let path = match read_trace_code(code) {
        Ok(TraceCode::Ecode(_) | TraceCode::Handle(_)) => {
            bail!("an Ecode or Handle code has no GS1 Digital Link")
        }
        Ok(code) => format!("/{code}"),
        Err(reason) => match code.trim().parse::<Gtin>() {
            Ok(gtin) => format!("/01/{gtin}"),
            Err(_) => bail!("{reason}; nor is it a GTIN"),
        },
    };
    DigitalLink::parse(&format!("{root}{path}")).context("no valid Digital Link")
}

/// The file name's extension, in lower case.
fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase)
}
