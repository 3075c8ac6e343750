//! The relay's view of the chain: standard Solana JSON-RPC, so the same
//! relay runs against the embedded local chain and a real cluster.

use std::sync::Arc;

use edgerun_client::{decode_account, job_pda, output_pda};
use edgerun_protocol::hash::Hash;
use edgerun_protocol::layout::Account;
use edgerun_protocol::state::{Job, OutputAvailability};
use solana_address::Address;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;

use crate::error::RelayError;

/// An RPC connection and the program it reads.
#[derive(Clone)]
pub struct Chain {
    pub rpc: Arc<RpcClient>,
    pub program: Address,
    pub rpc_url: String,
}

impl Chain {
    /// Confirmed commitment: the local chain and clusters alike answer in
    /// about a slot.
    pub fn connect(rpc_url: &str) -> Chain {
        Chain {
            rpc: Arc::new(RpcClient::new_with_commitment(
                rpc_url.to_owned(),
                CommitmentConfig::confirmed(),
            )),
            program: Address::new_from_array(edgerun_protocol::PROGRAM_ID),
            rpc_url: rpc_url.to_owned(),
        }
    }

    fn rpc_error(&self, what: &str, e: impl std::fmt::Display) -> RelayError {
        RelayError::ChainUnavailable(format!("{what} at {}: {e}", self.rpc_url))
    }

    /// A program account at `address`, decoded, if it exists.
    async fn account<T: Account>(
        &self,
        address: &Address,
        what: &str,
    ) -> Result<Option<T>, RelayError> {
        let found = self
            .rpc
            .get_account_with_commitment(address, self.rpc.commitment())
            .await
            .map_err(|e| self.rpc_error(what, e))?
            .value;
        match found {
            None => Ok(None),
            Some(a) if a.owner != self.program => Err(RelayError::Internal(format!(
                "{what} {address} is owned by {}, not the edgerun program",
                a.owner
            ))),
            Some(a) => decode_account(&a.data).map(Some).map_err(|e| {
                RelayError::Internal(format!("{what} {address} does not decode: {e}"))
            }),
        }
    }

    pub async fn job(&self, job_id: &Hash) -> Result<Option<Job>, RelayError> {
        self.account(&job_pda(&self.program, job_id).0, "job account")
            .await
    }

    pub async fn worker(
        &self,
        worker: &Address,
    ) -> Result<Option<edgerun_protocol::state::WorkerStake>, RelayError> {
        self.account(
            &edgerun_client::worker_stake_pda(&self.program, worker).0,
            "worker stake",
        )
        .await
    }

    pub async fn output(&self, job_id: &Hash) -> Result<Option<OutputAvailability>, RelayError> {
        self.account(&output_pda(&self.program, job_id).0, "output record")
            .await
    }

    pub async fn blockhash(&self) -> Result<solana_hash::Hash, RelayError> {
        self.rpc
            .get_latest_blockhash()
            .await
            .map_err(|e| self.rpc_error("getLatestBlockhash", e))
    }

    /// Sends and confirms a signed transaction.
    pub async fn send(
        &self,
        tx: &solana_transaction::Transaction,
    ) -> Result<solana_signature::Signature, RelayError> {
        self.rpc
            .send_and_confirm_transaction(tx)
            .await
            .map_err(|e| RelayError::ChainRefused(e.to_string()))
    }

    pub async fn slot(&self) -> Result<u64, RelayError> {
        self.rpc
            .get_slot()
            .await
            .map_err(|e| self.rpc_error("getSlot", e))
    }
}
