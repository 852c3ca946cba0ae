//! Turn a verified transaction into the rows the database holds of it.
//!
//! One row in `transactions` (id, sequence number, record kind, canonical envelope bytes) and
//! one index row per distinct code and per distinct enterprise the record names, found by the
//! same rules Suyuan's storage indexes by ([`Record::codes`], [`Record::enterprises`]), so a
//! lookup of either answers what a node's `/v1/products/{code}` and enterprise listings read.

use std::collections::BTreeSet;

use suyuan_ledger::record::Record;
use suyuan_ledger::tx::{TxId, VerifiedTx};

/// What the database holds of one transaction, before its sequence number is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRows {
    /// The transaction id: the primary key.
    pub id: TxId,
    /// The record's type name, as in JSON (`commission`, `ship`, ...).
    pub kind: &'static str,
    /// The envelope's canonical binary form (`Envelope::to_bytes`), as a node stores it.
    pub envelope: Vec<u8>,
    /// The codes the record is about, each once, in their text form.
    pub codes: Vec<String>,
    /// The USCCs of the enterprises the record names, each once.
    pub enterprises: Vec<String>,
}

impl TxRows {
    /// The rows of `tx`.
    pub fn of(tx: &VerifiedTx) -> TxRows {
        let record: &Record = &tx.payload.record;
        // A record may name one code twice (two shipment lines of one lot): the index holds
        // one row per code and transaction, as its primary key demands.
        let codes: BTreeSet<String> = record.codes().iter().map(|c| c.to_string()).collect();
        let enterprises: BTreeSet<String> =
            record.enterprises().iter().map(|u| u.to_string()).collect();
        TxRows {
            id: tx.id,
            kind: record.type_name(),
            envelope: tx.envelope.to_bytes(),
            codes: codes.into_iter().collect(),
            enterprises: enterprises.into_iter().collect(),
        }
    }

    /// Index rows this transaction adds.
    pub fn index_rows(&self) -> usize {
        self.codes.len() + self.enterprises.len()
    }
}

#[cfg(test)]
mod tests {
    use suyuan_ledger::tx::Envelope;

    use super::*;
    use crate::load::commissioning_load;
    use crate::yardstick_binding;

    #[test]
    fn a_commissioning_names_its_lot_and_its_producer() {
        let chain = yardstick_binding("rows-test");
        let load = commissioning_load(&chain, 2, 3);
        let tx = load.envelopes[1]
            .clone()
            .verify(&chain)
            .expect("well signed");
        let rows = TxRows::of(&tx);
        assert_eq!(rows.id, load.ids[1]);
        assert_eq!(rows.kind, "commission");
        assert_eq!(Envelope::from_bytes(&rows.envelope).unwrap(), tx.envelope);
        assert_eq!(rows.codes.len(), 1);
        assert!(rows.codes[0].ends_with("/10/L1"), "{:?}", rows.codes);
        assert_eq!(rows.enterprises.len(), 1);
        assert_eq!(rows.index_rows(), 2);
    }
}
