//! The importer's [`Ledger`] over a node's HTTP API.

use suyuan_api::types::{ErrorBody, TransactionView};
use suyuan_client::{ApiClient, ClientError};
use suyuan_ledger::tx::{Envelope, TxId};

use crate::pipeline::{Ledger, LedgerError, TxState};

impl Ledger for ApiClient {
    async fn submit(
        &self,
        envelopes: &[Envelope],
    ) -> Result<Vec<Result<TxId, ErrorBody>>, LedgerError> {
        self.submit_batch(envelopes).await.map_err(ledger_error)
    }

    async fn height(&self) -> Result<u64, LedgerError> {
        Ok(self.status().await.map_err(ledger_error)?.height)
    }

    async fn block_transactions(&self, height: u64) -> Result<Vec<TxId>, LedgerError> {
        Ok(self.block(height).await.map_err(ledger_error)?.transactions)
    }

    async fn transaction(&self, id: &TxId) -> Result<TxState, LedgerError> {
        match ApiClient::transaction(self, id).await {
            Ok(TransactionView::Committed(tx)) => Ok(TxState::Committed { height: tx.height }),
            Ok(TransactionView::Pending { .. }) => Ok(TxState::Pending),
            Ok(TransactionView::Rejected { error, .. }) => Ok(TxState::Rejected(error)),
            Err(error) if error.is_not_found() => Ok(TxState::Unknown),
            Err(error) => Err(ledger_error(error)),
        }
    }
}

/// Sorts a client error into what the importer retries and what it does not: no answer, and
/// the node's own troubles (5xx, throttling), are retried; a refusal of the request is not.
fn ledger_error(error: ClientError) -> LedgerError {
    match error {
        ClientError::Refused { status, body }
            if status.is_server_error() || status.as_u16() == 429 =>
        {
            LedgerError::Busy(body)
        }
        ClientError::Refused { body, .. } => LedgerError::Refused(body),
        other => LedgerError::Unreachable(other.to_string()),
    }
}
