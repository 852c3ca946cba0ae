//! Create the yardstick's tables and indexes (`schema.sql`), and read where numbering resumes.
//!
//! Three tables: `transactions` by id (the primary key, which refuses a replay) with each
//! envelope's canonical bytes; `code_records` and `enterprise_records`, each keyed by
//! (code or USCC, sequence number), so that a product's or an enterprise's records are one
//! index range scan, in the order they were stored. The lookups are [`CODE_RECORDS`] and
//! [`ENTERPRISE_RECORDS`].

use tokio_postgres::Client;

/// The tables and indexes; creating them again is harmless.
pub const SCHEMA: &str = include_str!("schema.sql");

/// The envelopes of the records of one code (`$1`), in the order stored: what a product page
/// reads.
pub const CODE_RECORDS: &str = "
SELECT t.id, t.envelope FROM code_records c JOIN transactions t ON t.seq = c.seq
WHERE c.code = $1 ORDER BY c.seq";

/// The envelopes of the records naming one enterprise (`$1`, its USCC), in the order stored.
pub const ENTERPRISE_RECORDS: &str = "
SELECT t.id, t.envelope FROM enterprise_records e JOIN transactions t ON t.seq = e.seq
WHERE e.uscc = $1 ORDER BY e.seq";

/// Creates the tables and indexes if they are missing.
pub async fn create(client: &Client) -> Result<(), tokio_postgres::Error> {
    client.batch_execute(SCHEMA).await
}

/// The sequence number the next stored transaction gets: one past the largest stored.
pub async fn next_seq(client: &Client) -> Result<i64, tokio_postgres::Error> {
    let row = client
        .query_one("SELECT coalesce(max(seq), 0) + 1 FROM transactions", &[])
        .await?;
    Ok(row.get(0))
}
