//! Show an audit's progress on standard error when it is a terminal: blocks done of the total
//! and records replayed per second, redrawn in place a few times a second.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// How often the bar is redrawn at most.
const REDRAW_EVERY: Duration = Duration::from_millis(200);

/// Characters of the bar itself.
const BAR_WIDTH: u64 = 30;

/// A progress bar for one source; silent when standard error is not a terminal.
pub(crate) struct Progress {
    shown: bool,
    label: String,
    total: u64,
    started: Instant,
    drawn: Option<Instant>,
}

impl Progress {
    /// A bar for auditing `total` blocks of `label`.
    pub(crate) fn new(label: &str, total: u64) -> Self {
        Progress {
            shown: std::io::stderr().is_terminal(),
            label: label.to_owned(),
            total,
            started: Instant::now(),
            drawn: None,
        }
    }

    /// Redraws, if it is time: `blocks` done, `records` replayed.
    pub(crate) fn update(&mut self, blocks: u64, records: u64) {
        if !self.shown || self.drawn.is_some_and(|at| at.elapsed() < REDRAW_EVERY) {
            return;
        }
        self.drawn = Some(Instant::now());
        eprint!("\r{}", self.line(blocks, records));
        let _ = std::io::stderr().flush();
    }

    /// Draws the last state and ends the line.
    pub(crate) fn finish(&mut self, blocks: u64, records: u64) {
        if self.shown {
            eprintln!("\r{}", self.line(blocks, records));
        }
    }

    fn line(&self, blocks: u64, records: u64) -> String {
        let filled = (blocks * BAR_WIDTH)
            .checked_div(self.total)
            .unwrap_or(BAR_WIDTH);
        let seconds = self.started.elapsed().as_secs_f64();
        let rate = if seconds > 0.0 {
            records as f64 / seconds
        } else {
            0.0
        };
        format!(
            "{} [{}{}] {blocks}/{} blocks, {records} records, {rate:.0} records/s ",
            self.label,
            "#".repeat(filled.min(BAR_WIDTH) as usize),
            ".".repeat((BAR_WIDTH - filled.min(BAR_WIDTH)) as usize),
            self.total
        )
    }
}
