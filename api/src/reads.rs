//! Run the API's reads of the store on threads of their own: a fixed number of them, a bounded
//! queue in front, and a stop for reads whose request is gone or that read too much.
//!
//! # Why a pool of its own
//!
//! RocksDB reads block, so they cannot run on the async threads. Run on tokio's shared blocking
//! pool, as they once were, they waited in the same queue as the node's admission (signature
//! checks), block sync's serving and the store's own start, and a request that timed out left
//! its work running there: a client repeating a ranking of 200 members every second filled the
//! pool with scans nobody waited for. Here the API's reads have [`PoolLimits::threads`] threads
//! and nothing else runs on them; what waits is bounded by [`PoolLimits::max_queued`], and a
//! read beyond it is refused at once ([`ReadRefused::QueueFull`]) rather than queued.
//!
//! # Two kinds of read
//!
//! - A [`ReadKind::Point`] read is bounded by a page or by one object (a block, a transaction,
//!   a page of a history, a proof): it is done before a cancellation could matter.
//! - A [`ReadKind::Scan`] read loops over pages (an enterprise's report or score, a ranking of
//!   members). At most [`PoolLimits::scan_threads`] run at once, one fewer than the threads, so
//!   a flood of scans never holds up the point reads behind it. A scan spends its [`Budget`] as
//!   it reads; [`Budget::spend`] stops it when its request has gone (timed out, or its client
//!   went away) or when it has read more entries than a request may.
//!
//! # Driving it
//!
//! [`ReadPool::new`] starts the threads; [`ReadPool::run`] queues a read and waits for its
//! answer. Dropping the future `run` returns (as the router's timeout does, and hyper does when
//! the client closes its connection) cancels the read: a read still queued is skipped, a scan
//! running stops at its next [`Budget::spend`]. When the last clone of the pool is dropped, the
//! threads finish the read they hold and end.
//!
//! No HTTP here: [`crate::error`] maps [`ReadRefused`] and [`ReadStopped`] to responses.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use tokio::sync::oneshot;

/// How a read is bounded, and so how it is scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadKind {
    /// Bounded by a page or by one object.
    Point,
    /// Loops over pages, spending a [`Budget`].
    Scan,
}

/// The bounds of a [`ReadPool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolLimits {
    /// Threads reading the store.
    pub(crate) threads: usize,
    /// Of those, most running scans at once.
    pub(crate) scan_threads: usize,
    /// Reads of each kind waiting for a thread; one more is refused.
    pub(crate) max_queued: usize,
    /// Most entries one scan may read ([`Budget`]).
    pub(crate) max_scan_entries: u64,
}

/// Why a read was not run, or its answer was lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReadRefused {
    /// As many reads of its kind as the queue holds were already waiting.
    #[error("{queued} reads already wait for the node's {threads} read threads")]
    QueueFull {
        /// Reads of that kind waiting.
        queued: usize,
        /// The pool's threads.
        threads: usize,
    },
    /// The read panicked, or the pool was shutting down: no answer came back.
    #[error("the read ended without an answer")]
    Lost,
}

/// Why a scan stopped before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReadStopped {
    /// The request it answers is gone: it timed out, or its client closed the connection.
    #[error("the request was cancelled")]
    Cancelled,
    /// It read more entries than one request may.
    #[error("the request reads more than {max_entries} stored entries")]
    OverBudget {
        /// The bound it reached.
        max_entries: u64,
    },
}

/// What one read may still do: its request is still wanted, and it has entries left to read.
///
/// A scan calls [`Budget::spend`] after each page it reads (index entries, enterprises listed,
/// records read by id) and stops with the error it returns. The async side cancels it when the
/// request's future is dropped.
#[derive(Debug)]
pub(crate) struct Budget {
    max_entries: u64,
    spent: AtomicU64,
    cancelled: AtomicBool,
    /// Set once a stop has been counted, so a scan that keeps calling after it is counted once.
    stop_counted: AtomicBool,
    counters: Arc<ReadCounters>,
}

impl Budget {
    /// A budget of `max_entries`, counted in `counters`.
    fn new(max_entries: u64, counters: Arc<ReadCounters>) -> Budget {
        Budget {
            max_entries,
            spent: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
            stop_counted: AtomicBool::new(false),
            counters,
        }
    }

    /// A budget of `max_entries` that nothing cancels and no pool counts, for tests of the
    /// scans themselves.
    #[cfg(test)]
    pub(crate) fn standalone(max_entries: u64) -> Budget {
        Budget::new(max_entries, Arc::default())
    }

    /// Records that `entries` more were read: an error once the request is gone or more than
    /// the budget has been read. Entries already read count even when it errs.
    pub(crate) fn spend(&self, entries: usize) -> Result<(), ReadStopped> {
        let entries = entries as u64;
        let spent = self.spent.fetch_add(entries, Ordering::Relaxed) + entries;
        self.counters.entries.fetch_add(entries, Ordering::Relaxed);
        if self.cancelled.load(Ordering::Relaxed) {
            self.count_stop(&self.counters.cancelled);
            return Err(ReadStopped::Cancelled);
        }
        if spent > self.max_entries {
            self.count_stop(&self.counters.over_budget);
            return Err(ReadStopped::OverBudget {
                max_entries: self.max_entries,
            });
        }
        Ok(())
    }

    /// Entries read so far.
    #[cfg(test)]
    pub(crate) fn spent(&self) -> u64 {
        self.spent.load(Ordering::Relaxed)
    }

    /// Stops the read at its next [`Budget::spend`], or before it starts.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    fn count_stop(&self, counter: &AtomicU64) {
        if !self.stop_counted.swap(true, Ordering::Relaxed) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What the pool counts since it started, for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct ReadCounters {
    /// Reads refused because the queue of their kind was full.
    refused: AtomicU64,
    /// Reads stopped because their request was gone: skipped in the queue, or stopped mid-scan.
    cancelled: AtomicU64,
    /// Scans stopped for reading more than their budget.
    over_budget: AtomicU64,
    /// Entries scans have read.
    entries: AtomicU64,
    /// Reads running now.
    running: AtomicU64,
}

/// The pool's figures at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadFigures {
    /// Reads waiting for a thread, both kinds.
    pub(crate) queued: u64,
    /// Reads running.
    pub(crate) running: u64,
    /// Reads refused because the queue was full, since start.
    pub(crate) refused: u64,
    /// Reads stopped because their request was gone, since start.
    pub(crate) cancelled: u64,
    /// Scans stopped for reading more than their budget, since start.
    pub(crate) over_budget: u64,
    /// Entries scans have read, since start.
    pub(crate) entries: u64,
}

/// A read waiting for a thread.
struct Job {
    budget: Arc<Budget>,
    /// Runs the read and sends its answer back.
    read: Box<dyn FnOnce(&Budget) + Send>,
}

/// The reads waiting, by kind, and the scans running.
#[derive(Default)]
struct Queue {
    points: VecDeque<Job>,
    scans: VecDeque<Job>,
    scans_running: usize,
    closed: bool,
}

/// What the threads and the handles share.
struct Shared {
    limits: PoolLimits,
    /// Guards the queues and the count of running scans; held only to push or pop a job,
    /// never while a read runs.
    queue: Mutex<Queue>,
    /// Signalled when a job is queued, a scan ends or the pool closes.
    wake: Condvar,
    counters: Arc<ReadCounters>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A read never runs under the lock, so nothing panics while holding it; if something
        // did, the queue is still a valid queue.
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Closes the queue when the last [`ReadPool`] handle is dropped; the threads hold only
/// [`Shared`], so they do not keep the pool open.
struct Closer(Arc<Shared>);

impl Drop for Closer {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.wake.notify_all();
    }
}

/// The API's read threads and their queue; see the module docs. Clones share one pool.
#[derive(Clone)]
pub(crate) struct ReadPool {
    shared: Arc<Shared>,
    _closer: Arc<Closer>,
}

impl std::fmt::Debug for ReadPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadPool")
            .field("limits", &self.shared.limits)
            .finish_non_exhaustive()
    }
}

impl ReadPool {
    /// Starts `limits.threads` threads, named `suyuan-api-read-<n>`.
    pub(crate) fn new(limits: PoolLimits) -> std::io::Result<ReadPool> {
        assert!(
            limits.threads > 0 && limits.scan_threads > 0 && limits.max_queued > 0,
            "ApiLimits::check refuses limits without a thread or a queue"
        );
        let shared = Arc::new(Shared {
            limits,
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            counters: Arc::default(),
        });
        let pool = ReadPool {
            _closer: Arc::new(Closer(Arc::clone(&shared))),
            shared,
        };
        for index in 0..limits.threads {
            let shared = Arc::clone(&pool.shared);
            // On an error the pool is dropped here, which ends the threads already started.
            std::thread::Builder::new()
                .name(format!("suyuan-api-read-{index}"))
                .spawn(move || work(&shared))?;
        }
        Ok(pool)
    }

    /// Runs `read` on a pool thread and returns its answer; refuses at once if
    /// [`PoolLimits::max_queued`] reads of its kind already wait. A scan's budget is
    /// [`PoolLimits::max_scan_entries`]; a point read is not metered.
    ///
    /// Dropping the returned future cancels the read (module docs).
    pub(crate) async fn run<T, F>(&self, kind: ReadKind, read: F) -> Result<T, ReadRefused>
    where
        T: Send + 'static,
        F: FnOnce(&Budget) -> T + Send + 'static,
    {
        let max_entries = match kind {
            ReadKind::Point => u64::MAX,
            ReadKind::Scan => self.shared.limits.max_scan_entries,
        };
        let budget = Arc::new(Budget::new(max_entries, Arc::clone(&self.shared.counters)));
        let (answer, answered) = oneshot::channel();
        let job = Job {
            budget: Arc::clone(&budget),
            read: Box::new(move |budget| {
                // The receiver is gone only if the request was: nobody wants the answer.
                let _ = answer.send(read(budget));
            }),
        };
        self.push(kind, job)?;
        let _cancel = CancelOnDrop(budget);
        answered.await.map_err(|_| ReadRefused::Lost)
    }

    /// The pool's figures now.
    pub(crate) fn figures(&self) -> ReadFigures {
        let queued = {
            let queue = self.shared.lock();
            queue.points.len() + queue.scans.len()
        };
        let counters = &self.shared.counters;
        ReadFigures {
            queued: queued as u64,
            running: counters.running.load(Ordering::Relaxed),
            refused: counters.refused.load(Ordering::Relaxed),
            cancelled: counters.cancelled.load(Ordering::Relaxed),
            over_budget: counters.over_budget.load(Ordering::Relaxed),
            entries: counters.entries.load(Ordering::Relaxed),
        }
    }

    fn push(&self, kind: ReadKind, job: Job) -> Result<(), ReadRefused> {
        let limits = &self.shared.limits;
        let mut queue = self.shared.lock();
        let waiting = match kind {
            ReadKind::Point => &mut queue.points,
            ReadKind::Scan => &mut queue.scans,
        };
        if waiting.len() >= limits.max_queued {
            let queued = waiting.len();
            drop(queue);
            self.shared.counters.refused.fetch_add(1, Ordering::Relaxed);
            return Err(ReadRefused::QueueFull {
                queued,
                threads: limits.threads,
            });
        }
        waiting.push_back(job);
        drop(queue);
        self.shared.wake.notify_one();
        Ok(())
    }
}

/// Cancels a read when the future waiting for it is dropped: after its answer came back this
/// changes nothing, since the read has ended.
struct CancelOnDrop(Arc<Budget>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// A pool thread: takes point reads first, scans while fewer than `scan_threads` run, and
/// ends when the pool is closed.
fn work(shared: &Shared) {
    while let Some((kind, job)) = next_job(shared) {
        let counters = &shared.counters;
        counters.running.fetch_add(1, Ordering::Relaxed);
        if job.budget.is_cancelled() {
            job.budget.count_stop(&counters.cancelled);
        } else {
            let Job { budget, read } = job;
            let ran = std::panic::catch_unwind(AssertUnwindSafe(|| read(&budget)));
            if ran.is_err() {
                // The answer's sender was dropped with the read: its request gets
                // `ReadRefused::Lost`.
                tracing::error!("an API read panicked");
            }
        }
        counters.running.fetch_sub(1, Ordering::Relaxed);
        if kind == ReadKind::Scan {
            shared.lock().scans_running -= 1;
            // Another thread may be waiting for a scan slot.
            shared.wake.notify_one();
        }
    }
}

/// The next read this thread may run, waiting for one; None once the pool is closed.
fn next_job(shared: &Shared) -> Option<(ReadKind, Job)> {
    let mut queue = shared.lock();
    loop {
        if queue.closed {
            return None;
        }
        if let Some(job) = queue.points.pop_front() {
            return Some((ReadKind::Point, job));
        }
        if queue.scans_running < shared.limits.scan_threads
            && let Some(job) = queue.scans.pop_front()
        {
            queue.scans_running += 1;
            return Some((ReadKind::Scan, job));
        }
        queue = shared
            .wake
            .wait(queue)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    fn limits(threads: usize, max_queued: usize) -> PoolLimits {
        PoolLimits {
            threads,
            scan_threads: threads - 1,
            max_queued,
            max_scan_entries: 100,
        }
    }

    /// Waits until `check` holds on the pool's figures, for at most 10 s.
    async fn eventually(pool: &ReadPool, check: impl Fn(ReadFigures) -> bool) -> ReadFigures {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let figures = pool.figures();
            if check(figures) {
                return figures;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not reached: {figures:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[test]
    fn a_budget_stops_a_scan_past_its_entries_or_once_cancelled() {
        let budget = Budget::standalone(10);
        assert_eq!(budget.spend(6), Ok(()));
        assert_eq!(budget.spend(4), Ok(()));
        assert_eq!(
            budget.spend(1),
            Err(ReadStopped::OverBudget { max_entries: 10 })
        );
        assert_eq!(budget.spent(), 11);
        let budget = Budget::standalone(10);
        budget.cancel();
        assert_eq!(budget.spend(0), Err(ReadStopped::Cancelled));
    }

    #[tokio::test]
    async fn scans_leave_a_thread_to_point_reads_and_a_full_queue_refuses_at_once() {
        let pool = ReadPool::new(limits(2, 2)).unwrap();
        // One scan holds the one scan thread until released; two more wait, a third is refused.
        let (release, held) = mpsc::channel::<()>();
        let held = Arc::new(Mutex::new(held));
        let scan = || {
            let pool = pool.clone();
            let held = Arc::clone(&held);
            tokio::spawn(async move {
                pool.run(ReadKind::Scan, move |_| {
                    held.lock().unwrap().recv().unwrap();
                })
                .await
            })
        };
        // The first is taken off the queue before the others are queued.
        let mut scans = vec![scan()];
        eventually(&pool, |f| f.running == 1).await;
        scans.extend([scan(), scan()]);
        eventually(&pool, |f| f.running == 1 && f.queued == 2).await;
        let refused = pool.run(ReadKind::Scan, |_| ()).await;
        assert_eq!(
            refused,
            Err(ReadRefused::QueueFull {
                queued: 2,
                threads: 2
            })
        );
        // A point read runs on the other thread meanwhile.
        let point = pool.run(ReadKind::Point, |_| 7).await;
        assert_eq!(point, Ok(7));
        for _ in 0..3 {
            release.send(()).unwrap();
        }
        for scan in scans {
            assert_eq!(scan.await.unwrap(), Ok(()));
        }
        let figures = eventually(&pool, |f| f.running == 0).await;
        assert_eq!((figures.queued, figures.refused), (0, 1));
    }

    #[tokio::test]
    async fn a_dropped_request_stops_its_scan_and_skips_its_queued_reads() {
        let pool = ReadPool::new(limits(2, 4)).unwrap();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        // A scan that spends forever until it is stopped.
        let scan = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(ReadKind::Scan, move |budget| {
                    started.send(()).unwrap();
                    loop {
                        if let Err(stopped) = budget.spend(0) {
                            return stopped;
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    }
                })
                .await
            })
        };
        tokio::time::timeout(Duration::from_secs(10), running)
            .await
            .unwrap()
            .unwrap();
        // A second scan waits behind it.
        let queued = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(ReadKind::Scan, |_| ()).await })
        };
        eventually(&pool, |f| f.queued == 1).await;
        // Both requests go away.
        scan.abort();
        queued.abort();
        let figures = eventually(&pool, |f| f.running == 0 && f.queued == 0).await;
        assert_eq!(figures.cancelled, 2, "{figures:?}");
        // The pool still serves.
        assert_eq!(pool.run(ReadKind::Scan, |_| 1).await, Ok(1));
    }

    #[tokio::test]
    async fn a_panicking_read_loses_its_answer_but_not_its_thread() {
        let one_thread = PoolLimits {
            threads: 1,
            scan_threads: 1,
            ..limits(2, 4)
        };
        let pool = ReadPool::new(one_thread).unwrap();
        let lost = pool
            .run(ReadKind::Point, |_| -> u8 { panic!("a read that fails") })
            .await;
        assert_eq!(lost, Err(ReadRefused::Lost));
        for _ in 0..4 {
            assert_eq!(pool.run(ReadKind::Point, |_| 3).await, Ok(3));
        }
    }
}
