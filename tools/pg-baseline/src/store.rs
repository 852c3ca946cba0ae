//! Store verified transactions in PostgreSQL, many requests to one commit, and say when each
//! is durable.
//!
//! How to drive it: [`Store::open`] connects [`StoreConfig::connections`] sessions, checks
//! that the server syncs its commits, creates the [`schema`](crate::schema), and returns the
//! [`Store`] handle with its [`Committer`]. The caller spawns [`Committer::run`] and watches
//! it: it ends with an error when a write fails, and the service must stop then, since a
//! failed durable write is fatal; it ends with `Ok` once every handle is dropped and every
//! commit has finished. [`Store::commit`] hands one request's rows to the committer and
//! returns, in order, each transaction's verdict once the database transaction holding its
//! rows has committed: `Ok(id)`, or a refusal in the ledger's vocabulary (a transaction
//! already stored is a [`RuleError::Replay`], one sent twice in the same commit a
//! [`SubmitError::Duplicate`]).
//!
//! The committer is group commit: while every connection is busy, requests queue; a free
//! connection takes all that queued (up to [`GATHER_TRANSACTIONS`]) into one database
//! transaction, so one WAL flush acknowledges many requests. Sequence numbers are given here,
//! by the one task that forms the groups, in the order requests arrived.
//!
//! A commit sends its rows by binary `COPY` into the three tables, in one transaction. If one
//! of its transactions is already stored, the copy fails whole on the primary key, and the
//! commit is made again as one `INSERT … ON CONFLICT DO NOTHING` statement ([`INSERT_UNNEST`])
//! that skips the stored ones and their index rows. Measured on the 2-core machine of
//! BENCHMARKS.md, back to back, the copy took 6–13% less of the server's CPU per transaction
//! than that statement, and its p99 at 30,000 tx/s was 25 ms against 133 ms; replays are rare,
//! so the copy is the path taken.

use std::collections::HashSet;
use std::pin::pin;

use suyuan_ledger::exec::{ExecError, RuleError};
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::TxId;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Statement};

use crate::rows::TxRows;
use crate::schema;

/// A free connection stops gathering queued requests into its commit once it holds this many
/// transactions; the last request gathered may take it up to this plus one request's batch.
pub const GATHER_TRANSACTIONS: usize = 4_096;

/// Requests whose rows wait for a connection at most; more wait to be queued, holding their
/// HTTP request (which the service bounds).
pub const MAX_QUEUED_REQUESTS: usize = 256;

/// Most connections the store opens: each is a server process of its own.
pub const MAX_CONNECTIONS: usize = 64;

/// One transaction's answer: its id once durable, or why it was refused.
pub type Verdict = Result<TxId, SubmitError>;

/// Where and how to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// A libpq-style connection string (`host=/tmp/pg user=postgres dbname=postgres`; a host
    /// that is a directory is a Unix socket's).
    pub postgres: String,
    /// Sessions committing at once, 1 to [`MAX_CONNECTIONS`].
    pub connections: usize,
}

/// Why the store could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A connection could not be opened.
    #[error("connecting to PostgreSQL ({postgres}): {source}")]
    Connect {
        /// The connection string.
        postgres: String,
        /// What the client said.
        source: tokio_postgres::Error,
    },
    /// The server does not make commits durable, so its acknowledgements would not be.
    #[error("PostgreSQL has {setting} = {value}; the yardstick needs it on")]
    NotDurable {
        /// The setting.
        setting: &'static str,
        /// Its value.
        value: String,
    },
    /// Setting up a session or the schema failed.
    #[error("setting up the database: {0}")]
    Setup(#[source] tokio_postgres::Error),
    /// A commit failed: what was acknowledged before it is stored; what was in it was
    /// acknowledged to no one, and is stored only if the server committed it before the
    /// session failed.
    #[error("committing {transactions} transactions failed: {source}")]
    Commit {
        /// Transactions in the failed commit.
        transactions: usize,
        /// What the server or client said.
        source: tokio_postgres::Error,
    },
    /// The connection count is out of range.
    #[error("connections must be 1 to {MAX_CONNECTIONS}, not {0}")]
    Connections(usize),
}

/// A handle to the committer; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
}

/// One request's rows and where its verdicts go.
#[derive(Debug)]
struct Job {
    rows: Vec<TxRows>,
    answer: oneshot::Sender<Vec<Verdict>>,
}

impl Store {
    /// Connects, checks durability, creates the schema; see the module doc for what to do
    /// with the [`Committer`].
    pub async fn open(config: &StoreConfig) -> Result<(Store, Committer), StoreError> {
        if !(1..=MAX_CONNECTIONS).contains(&config.connections) {
            return Err(StoreError::Connections(config.connections));
        }
        let setup = connect(config).await?;
        check_durable(&setup).await?;
        schema::create(&setup).await.map_err(StoreError::Setup)?;
        let next_seq = schema::next_seq(&setup).await.map_err(StoreError::Setup)?;
        drop(setup);
        let mut writers = Vec::with_capacity(config.connections);
        for _ in 0..config.connections {
            writers.push(Writer::connect(config).await?);
        }
        let (jobs, queued) = mpsc::channel(MAX_QUEUED_REQUESTS);
        let committer = Committer {
            queued,
            idle: writers,
            next_seq,
        };
        Ok((Store { jobs }, committer))
    }

    /// Stores `rows` and returns each one's verdict, in order, once they are durable. If the
    /// committer has stopped (a write failed), every verdict is
    /// [`SubmitError::Unavailable`].
    pub async fn commit(&self, rows: Vec<TxRows>) -> Vec<Verdict> {
        let count = rows.len();
        if count == 0 {
            return Vec::new();
        }
        let (answer, verdicts) = oneshot::channel();
        if self.jobs.send(Job { rows, answer }).await.is_err() {
            return vec![Err(SubmitError::Unavailable); count];
        }
        let verdicts = verdicts
            .await
            .unwrap_or_else(|_| vec![Err(SubmitError::Unavailable); count]);
        assert_eq!(verdicts.len(), count, "one verdict per transaction");
        verdicts
    }
}

/// Refuses a server that would acknowledge commits it has not flushed.
async fn check_durable(client: &Client) -> Result<(), StoreError> {
    for setting in ["fsync", "synchronous_commit"] {
        let row = client
            .query_one(&format!("SHOW {setting}"), &[])
            .await
            .map_err(StoreError::Setup)?;
        let value: String = row.get(0);
        if value != "on" {
            return Err(StoreError::NotDurable { setting, value });
        }
    }
    Ok(())
}

/// Opens a session to the server of `config`.
async fn connect(config: &StoreConfig) -> Result<Client, StoreError> {
    let (client, connection) = tokio_postgres::connect(&config.postgres, NoTls)
        .await
        .map_err(|source| StoreError::Connect {
            postgres: config.postgres.clone(),
            source,
        })?;
    // The connection's I/O runs on its own task; when it fails, the client's next call fails
    // with the reason, which is where the store notices.
    tokio::spawn(connection);
    Ok(client)
}

/// Forms commit groups from the queued requests and hands each to a free connection.
#[derive(Debug)]
pub struct Committer {
    queued: mpsc::Receiver<Job>,
    /// Connections not committing now.
    idle: Vec<Writer>,
    /// The sequence number the next stored transaction gets.
    next_seq: i64,
}

impl Committer {
    /// Commits until every [`Store`] handle is dropped (then `Ok`) or a commit fails.
    pub async fn run(mut self) -> Result<(), StoreError> {
        let mut writing: JoinSet<(Writer, Result<(), StoreError>)> = JoinSet::new();
        let mut open = true;
        loop {
            tokio::select! {
                job = self.queued.recv(), if open && !self.idle.is_empty() => match job {
                    Some(job) => {
                        let group = self.gather(job);
                        let writer = self.idle.pop().expect("the branch runs only with one idle");
                        writing.spawn(writer.commit(group));
                    }
                    None => open = false,
                },
                Some(done) = writing.join_next() => {
                    let (writer, result) = done.expect("commit tasks do not panic");
                    result?;
                    self.idle.push(writer);
                }
                else => return Ok(()),
            }
        }
    }

    /// A group of `first` and every request queued behind it, up to
    /// [`GATHER_TRANSACTIONS`], with sequence numbers given and repeated ids refused.
    fn gather(&mut self, first: Job) -> Group {
        let mut group = Group::default();
        let mut seen: HashSet<TxId> = HashSet::new();
        let mut next = Some(first);
        while let Some(job) = next {
            let mut slots = Vec::with_capacity(job.rows.len());
            for rows in job.rows {
                if seen.insert(rows.id) {
                    slots.push(Slot::Stored(group.rows.len()));
                    group.rows.push((self.next_seq, rows));
                    self.next_seq += 1;
                } else {
                    slots.push(Slot::Refused(SubmitError::Duplicate(rows.id)));
                }
            }
            group.answers.push((job.answer, slots));
            next = if group.rows.len() < GATHER_TRANSACTIONS {
                self.queued.try_recv().ok()
            } else {
                None
            };
        }
        group
    }
}

/// What one commit writes, and whom it answers.
#[derive(Debug, Default)]
struct Group {
    /// Each transaction with its sequence number.
    rows: Vec<(i64, TxRows)>,
    /// Each request's answer channel and, per transaction of it, where its verdict comes from.
    answers: Vec<(oneshot::Sender<Vec<Verdict>>, Vec<Slot>)>,
}

/// Where one transaction's verdict comes from.
#[derive(Debug)]
enum Slot {
    /// From the commit: row `index` of the group.
    Stored(usize),
    /// Already decided.
    Refused(SubmitError),
}

impl Group {
    /// Answers every request: the group's transactions found already stored are replays.
    fn answer(self, replayed: &HashSet<TxId>) {
        let rows = &self.rows;
        for (answer, slots) in self.answers {
            let verdicts = slots
                .into_iter()
                .map(|slot| match slot {
                    Slot::Stored(index) => {
                        let id = rows[index].1.id;
                        if replayed.contains(&id) {
                            Err(replay(id))
                        } else {
                            Ok(id)
                        }
                    }
                    Slot::Refused(error) => Err(error),
                })
                .collect();
            // A request that stopped waiting (its client left) needs no answer.
            let _ = answer.send(verdicts);
        }
    }

    /// Answers every request that nothing of the group was stored.
    fn fail(self) {
        for (answer, slots) in self.answers {
            let _ = answer.send(vec![Err(SubmitError::Unavailable); slots.len()]);
        }
    }
}

/// The ledger's refusal of a transaction already committed.
fn replay(id: TxId) -> SubmitError {
    SubmitError::Rule(ExecError::Rule(Box::new(RuleError::Replay { id })))
}

/// The statement a commit falls back to when its copy met a stored transaction: the
/// transactions not yet stored, and the index rows of those only, in one statement, so in one
/// database transaction. Returns the sequence numbers stored.
const INSERT_UNNEST: &str = "
WITH stored AS (
    INSERT INTO transactions (id, seq, kind, envelope)
    SELECT * FROM unnest($1::bytea[], $2::int8[], $3::text[], $4::bytea[])
    ON CONFLICT (id) DO NOTHING
    RETURNING seq
), codes AS (
    INSERT INTO code_records (code, seq)
    SELECT c.code, c.seq FROM unnest($5::text[], $6::int8[]) AS c (code, seq)
    WHERE c.seq IN (SELECT seq FROM stored)
), enterprises AS (
    INSERT INTO enterprise_records (uscc, seq)
    SELECT e.uscc, e.seq FROM unnest($7::text[], $8::int8[]) AS e (uscc, seq)
    WHERE e.seq IN (SELECT seq FROM stored)
)
SELECT seq FROM stored";

/// One session, committing one group at a time.
#[derive(Debug)]
struct Writer {
    client: Client,
    insert_unnest: Statement,
}

impl Writer {
    /// A session of its own, once the schema exists.
    async fn connect(config: &StoreConfig) -> Result<Writer, StoreError> {
        let client = connect(config).await?;
        // Explicit, whatever the server's default: each COMMIT returns once its WAL is flushed.
        client
            .batch_execute("SET synchronous_commit = on")
            .await
            .map_err(StoreError::Setup)?;
        let insert_unnest = client
            .prepare(INSERT_UNNEST)
            .await
            .map_err(StoreError::Setup)?;
        Ok(Writer {
            client,
            insert_unnest,
        })
    }

    /// Writes `group` in one database transaction and answers its requests; gives the
    /// connection back with the outcome.
    async fn commit(mut self, group: Group) -> (Writer, Result<(), StoreError>) {
        let stored = match self.copy(&group.rows).await {
            Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                self.insert_unnest(&group.rows).await
            }
            copied => copied.map(|()| group.rows.iter().map(|(seq, _)| *seq).collect()),
        };
        match stored {
            Ok(stored) => {
                let replayed = replayed(&group.rows, &stored);
                group.answer(&replayed);
                (self, Ok(()))
            }
            Err(source) => {
                let transactions = group.rows.len();
                group.fail();
                (
                    self,
                    Err(StoreError::Commit {
                        transactions,
                        source,
                    }),
                )
            }
        }
    }

    /// [`INSERT_UNNEST`] over `rows`; the sequence numbers stored.
    async fn insert_unnest(
        &self,
        rows: &[(i64, TxRows)],
    ) -> Result<Vec<i64>, tokio_postgres::Error> {
        let columns = Columns::of(rows);
        let params: [&(dyn ToSql + Sync); 8] = [
            &columns.ids,
            &columns.seqs,
            &columns.kinds,
            &columns.envelopes,
            &columns.codes,
            &columns.code_seqs,
            &columns.usccs,
            &columns.uscc_seqs,
        ];
        let stored = self.client.query(&self.insert_unnest, &params).await?;
        Ok(stored.iter().map(|row| row.get(0)).collect())
    }

    /// Binary COPY of `rows` into the three tables, in one transaction; fails whole with a
    /// unique violation if one of them is already stored.
    async fn copy(&mut self, rows: &[(i64, TxRows)]) -> Result<(), tokio_postgres::Error> {
        let transaction = self.client.transaction().await?;
        let sink = transaction
            .copy_in("COPY transactions (id, seq, kind, envelope) FROM STDIN BINARY")
            .await?;
        let types = [Type::BYTEA, Type::INT8, Type::TEXT, Type::BYTEA];
        let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
        for (seq, tx) in rows {
            let id: &[u8] = tx.id.as_bytes();
            let values: [&(dyn ToSql + Sync); 4] = [&id, seq, &tx.kind, &tx.envelope];
            writer.as_mut().write(&values).await?;
        }
        writer.finish().await?;
        for (table, index) in [
            ("code_records (code, seq)", Index::Codes),
            ("enterprise_records (uscc, seq)", Index::Enterprises),
        ] {
            let sink = transaction
                .copy_in(&format!("COPY {table} FROM STDIN BINARY"))
                .await?;
            let mut writer = pin!(BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::INT8]));
            for (seq, tx) in rows {
                for text in index.of(tx) {
                    writer.as_mut().write(&[text, seq]).await?;
                }
            }
            writer.finish().await?;
        }
        transaction.commit().await
    }
}

/// Which index table.
#[derive(Debug, Clone, Copy)]
enum Index {
    Codes,
    Enterprises,
}

impl Index {
    fn of(self, tx: &TxRows) -> &[String] {
        match self {
            Index::Codes => &tx.codes,
            Index::Enterprises => &tx.enterprises,
        }
    }
}

/// The ids of `rows` whose sequence number is not in `stored`: those already in the table.
fn replayed(rows: &[(i64, TxRows)], stored: &[i64]) -> HashSet<TxId> {
    let stored: HashSet<i64> = stored.iter().copied().collect();
    assert!(
        stored.len() <= rows.len(),
        "a commit stores at most the rows it was given"
    );
    rows.iter()
        .filter(|(seq, _)| !stored.contains(seq))
        .map(|(_, tx)| tx.id)
        .collect()
}

/// A group's rows as the column arrays [`INSERT_UNNEST`] takes.
#[derive(Debug, Default)]
struct Columns<'a> {
    ids: Vec<&'a [u8]>,
    seqs: Vec<i64>,
    kinds: Vec<&'a str>,
    envelopes: Vec<&'a [u8]>,
    codes: Vec<&'a str>,
    code_seqs: Vec<i64>,
    usccs: Vec<&'a str>,
    uscc_seqs: Vec<i64>,
}

impl<'a> Columns<'a> {
    fn of(rows: &'a [(i64, TxRows)]) -> Columns<'a> {
        let mut columns = Columns::default();
        for (seq, tx) in rows {
            columns.ids.push(tx.id.as_bytes());
            columns.seqs.push(*seq);
            columns.kinds.push(tx.kind);
            columns.envelopes.push(&tx.envelope);
            for code in &tx.codes {
                columns.codes.push(code);
                columns.code_seqs.push(*seq);
            }
            for uscc in &tx.enterprises {
                columns.usccs.push(uscc);
                columns.uscc_seqs.push(*seq);
            }
        }
        columns
    }
}
