//! The relay's view of the chain: standard Solana JSON-RPC through
//! `edgerun_client::rpc`, so the same relay runs against the embedded local
//! chain and a real cluster; its errors become the relay's.

use std::sync::Arc;

use edgerun_client::rpc::ChainError;
use edgerun_protocol::hash::Hash;
use edgerun_protocol::layout::Account;
use edgerun_protocol::state::{Job, OutputAvailability, WorkerStake};
use solana_account_decoder_client_types::{UiAccountEncoding, UiDataSliceConfig};
use solana_address::Address;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client_api::config::{
    RpcAccountInfoConfig, RpcProgramAccountsConfig, RpcSimulateTransactionConfig,
};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};

use crate::error::RelayError;

/// How long a request waits for one of the chain lookups a cache allows
/// at once before it is answered `busy`: a flood of unknown keys or hashes
/// cannot queue up without end.
pub const LOOKUP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A turn to ask the chain, from `lookups` (at most [`LOOKUP_WAIT`]).
pub(crate) async fn lookup_turn<'a>(
    lookups: &'a tokio::sync::Semaphore,
    what: &str,
) -> Result<tokio::sync::SemaphorePermit<'a>, RelayError> {
    match tokio::time::timeout(LOOKUP_WAIT, lookups.acquire()).await {
        Ok(Ok(turn)) => Ok(turn),
        Ok(Err(e)) => Err(RelayError::Internal(format!("{what} lookups closed: {e}"))),
        Err(_) => Err(RelayError::Busy {
            what: format!("the relay's {what} lookups on the chain are all busy"),
            retry_s: 5,
        }),
    }
}

/// What a passing simulation reports.
#[derive(Debug, Clone, Copy)]
pub struct Simulated {
    /// The fee the transaction costs, when the RPC reports it.
    pub fee: Option<u64>,
    /// The fee payer's balance before and after, when reported.
    pub payer_balance: Option<(u64, u64)>,
}

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
            ChainError::Decode { .. } | ChainError::NotEdgerun { .. } => {
                RelayError::Internal(e.to_string())
            }
        }
    }
}

impl Chain {
    /// The chain at `rpc_url` and the edgerun program at `program` (the
    /// one place the relay learns its id: `GET /v1/info`, the fee payer's
    /// policy and every read use it).
    pub fn connect(rpc_url: &str, program: Address) -> Chain {
        let inner = edgerun_client::rpc::Chain::connect(rpc_url, program);
        Chain {
            program: inner.program,
            inner: Arc::new(inner),
        }
    }

    /// Whether the program is an edgerun program on this chain (the relay
    /// refuses to start otherwise).
    pub async fn verify_program(&self) -> Result<(), ChainError> {
        self.inner.verify_program().await
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

    /// The program's Config.
    pub async fn config(&self) -> Result<edgerun_protocol::state::GlobalConfig, RelayError> {
        Ok(self.inner.config().await?)
    }

    /// Lamports an account of `bytes` needs to be rent-exempt.
    pub async fn rent(&self, bytes: usize) -> Result<u64, RelayError> {
        self.inner
            .rpc
            .get_minimum_balance_for_rent_exemption(bytes)
            .await
            .map_err(|e| {
                RelayError::ChainUnavailable(format!("getMinimumBalanceForRentExemption: {e}"))
            })
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

    /// Runs `tx` (fully signed) through `simulateTransaction` with
    /// signature verification at confirmed commitment; a failure is
    /// `tx_refused` with the chain's error and the program's last log lines.
    pub async fn simulate(
        &self,
        tx: &solana_transaction::Transaction,
    ) -> Result<Simulated, RelayError> {
        let config = RpcSimulateTransactionConfig {
            sig_verify: true,
            replace_recent_blockhash: false,
            commitment: Some(CommitmentConfig::confirmed()),
            ..RpcSimulateTransactionConfig::default()
        };
        let result = self
            .inner
            .rpc
            .simulate_transaction_with_config(tx, config)
            .await
            .map_err(|e| RelayError::ChainUnavailable(format!("simulateTransaction: {e}")))?
            .value;
        if let Some(err) = result.err {
            let logs = result.logs.unwrap_or_default();
            let tail: Vec<&str> = logs
                .iter()
                .rev()
                .take(3)
                .rev()
                .map(String::as_str)
                .collect();
            return Err(RelayError::TxRefused(format!(
                "the transaction fails in simulation ({err}): {}",
                tail.join(" | ")
            )));
        }
        let payer_balance = match (&result.pre_balances, &result.post_balances) {
            (Some(pre), Some(post)) => pre.first().copied().zip(post.first().copied()),
            _ => None,
        };
        Ok(Simulated {
            fee: result.fee,
            payer_balance,
        })
    }

    /// Whether an OutputAvailability names `output_hash`:
    /// getProgramAccounts on the account's discriminator and its
    /// `output_hash` field, no data returned.
    pub async fn output_declared(&self, output_hash: &Hash) -> Result<bool, RelayError> {
        let at = 8 + core::mem::offset_of!(OutputAvailability, output_hash);
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![
                RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
                    0,
                    OutputAvailability::DISCRIMINATOR.to_vec(),
                )),
                RpcFilterType::Memcmp(Memcmp::new_raw_bytes(at, output_hash.to_vec())),
            ]),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                data_slice: Some(UiDataSliceConfig {
                    offset: 0,
                    length: 0,
                }),
                commitment: Some(CommitmentConfig::confirmed()),
                ..RpcAccountInfoConfig::default()
            },
            ..RpcProgramAccountsConfig::default()
        };
        let found = self
            .inner
            .rpc
            .get_program_ui_accounts_with_config(&self.program, config)
            .await
            .map_err(|e| RelayError::ChainUnavailable(format!("getProgramAccounts: {e}")))?;
        Ok(!found.is_empty())
    }
}
