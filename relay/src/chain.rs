//! The relay's view of the chain: standard Solana JSON-RPC through
//! `edgerun_client::rpc`, so the same relay runs against the embedded local
//! chain and a real cluster; its errors become the relay's.

use std::sync::Arc;

use edgerun_client::rpc::ChainError;
use edgerun_protocol::hash::Hash;
use edgerun_protocol::state::{Job, OutputAvailability, WorkerStake};
use solana_address::Address;

use crate::error::RelayError;

/// An RPC connection (confirmed commitment) and the program it reads.
#[derive(Clone)]
pub struct Chain {
    inner: Arc<edgerun_client::rpc::Chain>,
    pub program: Address,
}

impl From<ChainError> for RelayError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Unavailable { .. } => RelayError::ChainUnavailable(e.to_string()),
            ChainError::Refused(m) => RelayError::ChainRefused(m),
            ChainError::Decode { .. } => RelayError::Internal(e.to_string()),
        }
    }
}

impl Chain {
    pub fn connect(rpc_url: &str) -> Chain {
        let inner = edgerun_client::rpc::Chain::connect(rpc_url);
        Chain {
            program: inner.program,
            inner: Arc::new(inner),
        }
    }

    pub async fn job(&self, job_id: &Hash) -> Result<Option<Job>, RelayError> {
        Ok(self.inner.job(job_id).await?)
    }

    pub async fn worker(&self, worker: &Address) -> Result<Option<WorkerStake>, RelayError> {
        Ok(self.inner.stake(worker).await?)
    }

    pub async fn output(&self, job_id: &Hash) -> Result<Option<OutputAvailability>, RelayError> {
        Ok(self.inner.output(job_id).await?)
    }

    pub async fn blockhash(&self) -> Result<solana_hash::Hash, RelayError> {
        Ok(self.inner.blockhash().await?)
    }

    /// Sends a signed transaction and waits until it is confirmed.
    pub async fn send(
        &self,
        tx: &solana_transaction::Transaction,
    ) -> Result<solana_signature::Signature, RelayError> {
        Ok(self.inner.send_signed(tx).await?)
    }

    pub async fn slot(&self) -> Result<u64, RelayError> {
        Ok(self.inner.slot().await?)
    }
}
