//! The program's state and transactions through standard Solana JSON-RPC
//! (nonblocking), at confirmed commitment: what the scheduler and the native
//! worker read and send. The same code runs against the embedded local
//! chain and a real cluster.

use std::time::{Duration, Instant};

use edgerun_protocol::hash::Hash;
use edgerun_protocol::layout::Account;
use edgerun_protocol::state::{GlobalConfig, Job, JobResult, OutputAvailability, WorkerStake};
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_commitment_config::CommitmentConfig;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::{
    RpcAccountInfoConfig, RpcProgramAccountsConfig, RpcSendTransactionConfig,
};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::Transaction;

use crate::{
    Address, config_pda, decode_account, job_pda, job_result_pda, output_pda, worker_stake_pda,
};

/// How often a sent transaction's status is polled.
const CONFIRM_POLL: Duration = Duration::from_millis(80);
/// How long a transaction may take to confirm (a blockhash lives ~150
/// slots, about a minute on a cluster).
const CONFIRM_LIMIT: Duration = Duration::from_secs(60);

/// What went wrong talking to the chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The RPC endpoint did not answer, or answered nonsense.
    #[error("{what} at {url}: {cause}")]
    Unavailable {
        what: &'static str,
        url: String,
        cause: String,
    },
    /// The chain refused the transaction (simulation or execution failed).
    /// Retrying the same instructions will fail the same way until the state
    /// changes.
    #[error("transaction refused: {0}")]
    Refused(String),
    /// A program account that does not decode as its type.
    #[error("account {address} does not decode: {cause}")]
    Decode { address: Address, cause: String },
    /// The configured program id is not an edgerun program on this chain.
    #[error(
        "no edgerun program at {program} on {url}: {why}. Pass the program id `edgerun deploy` \
         printed for this cluster (--program-id or EDGERUN_PROGRAM_ID), or a --relay that serves it"
    )]
    NotEdgerun {
        program: Address,
        url: String,
        why: String,
    },
}

/// The loaders whose accounts are executable programs.
const LOADERS: [Address; 4] = [
    solana_address::address!("BPFLoaderUpgradeab1e11111111111111111111111"),
    solana_address::address!("BPFLoader2111111111111111111111111111111111"),
    solana_address::address!("BPFLoader1111111111111111111111111111111111"),
    solana_address::address!("LoaderV411111111111111111111111111111111111"),
];

/// An RPC connection and the program it reads.
pub struct Chain {
    pub rpc: RpcClient,
    pub program: Address,
    pub url: String,
}

impl Chain {
    /// Confirmed commitment; the edgerun program at `program` (check it is
    /// one with [`Chain::verify_program`]).
    pub fn connect(url: &str, program: Address) -> Chain {
        Chain {
            rpc: RpcClient::new_with_commitment(url.to_owned(), CommitmentConfig::confirmed()),
            program,
            url: url.to_owned(),
        }
    }

    /// Checks that `program` is an executable program on this chain with an
    /// edgerun config, so a client pointed at the wrong address (another
    /// cluster's deployment, a typo, the local demo id on devnet) says so
    /// instead of reading nothing and waiting forever.
    pub async fn verify_program(&self) -> Result<(), ChainError> {
        let not = |why: String| ChainError::NotEdgerun {
            program: self.program,
            url: self.url.clone(),
            why,
        };
        let found = self
            .rpc
            .get_account_with_commitment(&self.program, self.rpc.commitment())
            .await
            .map_err(self.unavailable("getAccountInfo"))?
            .value;
        let Some(account) = found else {
            return Err(not("there is no account at that address".into()));
        };
        if !account.executable || !LOADERS.contains(&account.owner) {
            return Err(not(format!(
                "the account there is not a program (owner {}, executable {})",
                account.owner, account.executable
            )));
        }
        match self.config().await {
            Ok(_) => Ok(()),
            Err(ChainError::Decode { cause, .. }) => Err(not(format!(
                "the program has no edgerun config ({cause}); deploy and initialize it with `edgerun deploy`"
            ))),
            Err(e) => Err(e),
        }
    }

    fn unavailable(
        &self,
        what: &'static str,
    ) -> impl FnOnce(solana_rpc_client_api::client_error::Error) -> ChainError + '_ {
        move |e| ChainError::Unavailable {
            what,
            url: self.url.clone(),
            cause: e.to_string(),
        }
    }

    pub async fn slot(&self) -> Result<u64, ChainError> {
        self.rpc
            .get_slot()
            .await
            .map_err(self.unavailable("getSlot"))
    }

    /// The program account at `address`, decoded, if it exists.
    pub async fn account<T: Account>(&self, address: &Address) -> Result<Option<T>, ChainError> {
        let found = self
            .rpc
            .get_account_with_commitment(address, self.rpc.commitment())
            .await
            .map_err(self.unavailable("getAccountInfo"))?
            .value;
        self.decode(address, found.as_ref().map(|a| (&a.owner, &a.data[..])))
    }

    /// `found` (owner and data) decoded as `T`; an account the program does
    /// not own at one of its addresses is an error, not an absence.
    fn decode<T: Account>(
        &self,
        address: &Address,
        found: Option<(&Address, &[u8])>,
    ) -> Result<Option<T>, ChainError> {
        let cause = match found {
            None => return Ok(None),
            Some((owner, data)) if *owner == self.program => match decode_account(data) {
                Ok(v) => return Ok(Some(v)),
                Err(e) => e.to_string(),
            },
            Some((owner, _)) => format!("owned by {owner}, not the edgerun program"),
        };
        Err(ChainError::Decode {
            address: *address,
            cause,
        })
    }

    pub async fn config(&self) -> Result<GlobalConfig, ChainError> {
        let address = config_pda(&self.program).0;
        self.account(&address)
            .await?
            .ok_or_else(|| ChainError::Decode {
                address,
                cause: "no edgerun config on this chain: is the program deployed and initialized?"
                    .into(),
            })
    }

    pub async fn job(&self, job_id: &Hash) -> Result<Option<Job>, ChainError> {
        self.account(&job_pda(&self.program, job_id).0).await
    }

    pub async fn output(&self, job_id: &Hash) -> Result<Option<OutputAvailability>, ChainError> {
        self.account(&output_pda(&self.program, job_id).0).await
    }

    pub async fn blockhash(&self) -> Result<solana_hash::Hash, ChainError> {
        self.rpc
            .get_latest_blockhash()
            .await
            .map_err(self.unavailable("getLatestBlockhash"))
    }

    pub async fn stake(&self, worker: &Address) -> Result<Option<WorkerStake>, ChainError> {
        self.account(&worker_stake_pda(&self.program, worker).0)
            .await
    }

    /// The JobResults of `workers` for `job_id`, in order (`None`: none yet).
    pub async fn results(
        &self,
        job_id: &Hash,
        workers: &[Address],
    ) -> Result<Vec<Option<JobResult>>, ChainError> {
        let addresses: Vec<Address> = workers
            .iter()
            .map(|w| job_result_pda(&self.program, job_id, w).0)
            .collect();
        let found = self
            .rpc
            .get_multiple_accounts(&addresses)
            .await
            .map_err(self.unavailable("getMultipleAccounts"))?;
        found
            .into_iter()
            .zip(&addresses)
            .map(|(a, address)| self.decode(address, a.as_ref().map(|a| (&a.owner, &a.data[..]))))
            .collect()
    }

    /// Every account of type `T` whose byte at data offset `at` equals one
    /// of `values` (all of them when `values` is empty).
    async fn all<T: Account>(&self, at: usize, values: &[u8]) -> Result<Vec<T>, ChainError> {
        let disc = RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, T::DISCRIMINATOR.to_vec()));
        let filters: Vec<Vec<RpcFilterType>> = if values.is_empty() {
            vec![vec![disc]]
        } else {
            values
                .iter()
                .map(|v| {
                    vec![
                        disc.clone(),
                        RpcFilterType::Memcmp(Memcmp::new_raw_bytes(at, vec![*v])),
                    ]
                })
                .collect()
        };
        let mut out = Vec::new();
        for filters in filters {
            let config = RpcProgramAccountsConfig {
                filters: Some(filters),
                account_config: RpcAccountInfoConfig {
                    encoding: Some(UiAccountEncoding::Base64),
                    commitment: Some(self.rpc.commitment()),
                    ..RpcAccountInfoConfig::default()
                },
                ..RpcProgramAccountsConfig::default()
            };
            let accounts = self
                .rpc
                .get_program_ui_accounts_with_config(&self.program, config)
                .await
                .map_err(self.unavailable("getProgramAccounts"))?;
            for (address, ui) in accounts {
                let data = ui.data.decode().ok_or_else(|| ChainError::Decode {
                    address,
                    cause: "account data is not base64".into(),
                })?;
                out.extend(self.decode::<T>(&address, Some((&self.program, &data[..])))?);
            }
        }
        Ok(out)
    }

    /// The jobs `client` posted (a size filter and a memcmp on the Job's
    /// client field), in no particular order.
    pub async fn jobs_of(&self, client: &Address) -> Result<Vec<Job>, ChainError> {
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![
                RpcFilterType::DataSize(Job::SPACE as u64),
                RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
                    8 + core::mem::offset_of!(Job, client),
                    client.to_bytes().to_vec(),
                )),
            ]),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                commitment: Some(self.rpc.commitment()),
                ..RpcAccountInfoConfig::default()
            },
            ..RpcProgramAccountsConfig::default()
        };
        let accounts = self
            .rpc
            .get_program_ui_accounts_with_config(&self.program, config)
            .await
            .map_err(self.unavailable("getProgramAccounts"))?;
        let mut out = Vec::new();
        for (address, ui) in accounts {
            let data = ui.data.decode().ok_or_else(|| ChainError::Decode {
                address,
                cause: "account data is not base64".into(),
            })?;
            out.extend(self.decode::<Job>(&address, Some((&self.program, &data[..])))?);
        }
        Ok(out)
    }

    /// Jobs whose status is one of `statuses`.
    pub async fn jobs(&self, statuses: &[u8]) -> Result<Vec<Job>, ChainError> {
        self.all::<Job>(8 + core::mem::offset_of!(Job, status), statuses)
            .await
    }

    /// Every registered worker's stake.
    pub async fn stakes(&self) -> Result<Vec<WorkerStake>, ChainError> {
        self.all::<WorkerStake>(0, &[]).await
    }

    /// Signs `ixs` with `payer` (fee payer) and `others`, sends it, and
    /// waits until it is confirmed or refused.
    pub async fn send(
        &self,
        ixs: &[Instruction],
        payer: &Keypair,
        others: &[&Keypair],
    ) -> Result<Signature, ChainError> {
        let blockhash = self.blockhash().await?;
        let mut signers: Vec<&Keypair> = vec![payer];
        signers.extend_from_slice(others);
        let tx =
            Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &signers, blockhash);
        self.send_signed(&tx).await
    }

    /// Sends a signed transaction and waits until it is confirmed or
    /// refused (polling every 80 ms rather than the client's 500 ms).
    pub async fn send_signed(&self, tx: &Transaction) -> Result<Signature, ChainError> {
        let config = RpcSendTransactionConfig {
            preflight_commitment: Some(self.rpc.commitment().commitment),
            ..RpcSendTransactionConfig::default()
        };
        let signature = self
            .rpc
            .send_transaction_with_config(tx, config)
            .await
            .map_err(|e| match e.get_transaction_error() {
                Some(err) => ChainError::Refused(refusal(&err, &e.to_string())),
                None => ChainError::Unavailable {
                    what: "sendTransaction",
                    url: self.url.clone(),
                    cause: e.to_string(),
                },
            })?;
        let started = Instant::now();
        loop {
            let statuses = self
                .rpc
                .get_signature_statuses(&[signature])
                .await
                .map_err(self.unavailable("getSignatureStatuses"))?
                .value;
            if let Some(Some(status)) = statuses.first() {
                if let Some(err) = &status.err {
                    return Err(ChainError::Refused(format!("{err} ({signature})")));
                }
                if status.satisfies_commitment(self.rpc.commitment()) {
                    return Ok(signature);
                }
            }
            if started.elapsed() > CONFIRM_LIMIT {
                return Err(ChainError::Unavailable {
                    what: "confirming a transaction",
                    url: self.url.clone(),
                    cause: format!("{signature} not confirmed after {CONFIRM_LIMIT:?}"),
                });
            }
            tokio::time::sleep(CONFIRM_POLL).await;
        }
    }
}

/// A refusal's message: the transaction error, plus the program's last log
/// lines when the simulation carried them.
fn refusal(err: &impl std::fmt::Display, full: &str) -> String {
    let err = err.to_string();
    // The program's error code, by name and with what to do.
    let named = program_error(&err).map_or(String::new(), |e| format!(" ({e})"));
    match full.find("Program log:") {
        Some(at) => format!("{err}{named}: {}", &full[at..full.len().min(at + 400)]),
        None => format!("{err}{named}"),
    }
}

/// The edgerun error in a `custom program error: 0x…` message.
pub fn program_error(message: &str) -> Option<edgerun_protocol::error::ProgramErrorCode> {
    let at = message.find("custom program error: 0x")? + "custom program error: 0x".len();
    let hex: String = message[at..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    edgerun_protocol::error::ProgramErrorCode::from_code(u32::from_str_radix(&hex, 16).ok()?)
}

/// The WebSocket (pubsub) URL that goes with a JSON-RPC URL, by Solana's
/// convention: `ws`/`wss` and the next port (`http://h:8899` → `ws://h:8900`).
pub fn pubsub_url(rpc_url: &str) -> String {
    let ws = rpc_url
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    let Some(scheme_end) = ws.find("://").map(|i| i + 3) else {
        return ws;
    };
    let host_end = ws[scheme_end..]
        .find('/')
        .map_or(ws.len(), |i| scheme_end + i);
    let host = &ws[scheme_end..host_end];
    match host.rsplit_once(':') {
        Some((name, port)) => match port.parse::<u16>() {
            Ok(p) => format!(
                "{}{name}:{}{}",
                &ws[..scheme_end],
                p.wrapping_add(1),
                &ws[host_end..]
            ),
            Err(_) => ws.clone(),
        },
        None => ws.clone(),
    }
}

/// Wakes `wake` on every confirmed transaction that mentions the program,
/// for as long as the pubsub connection lives; returns why it ended. Callers
/// keep polling as well (deadlines pass without transactions) and call this
/// again after an error.
pub async fn watch_program(
    ws_url: &str,
    program: Address,
    wake: &tokio::sync::Notify,
) -> Result<(), ChainError> {
    use futures_util::StreamExt;
    use solana_rpc_client_api::config::{RpcTransactionLogsConfig, RpcTransactionLogsFilter};
    let unavailable = |what: &'static str, e: String| ChainError::Unavailable {
        what,
        url: ws_url.to_owned(),
        cause: e,
    };
    let client = solana_pubsub_client::nonblocking::pubsub_client::PubsubClient::new(ws_url)
        .await
        .map_err(|e| unavailable("connecting to pubsub", e.to_string()))?;
    let (mut stream, _unsubscribe) = client
        .logs_subscribe(
            RpcTransactionLogsFilter::Mentions(vec![program.to_string()]),
            RpcTransactionLogsConfig {
                commitment: Some(CommitmentConfig::confirmed()),
            },
        )
        .await
        .map_err(|e| unavailable("logsSubscribe", e.to_string()))?;
    while stream.next().await.is_some() {
        wake.notify_one();
    }
    Err(unavailable(
        "logsSubscribe",
        "the subscription ended".into(),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_refusal_names_the_programs_error() {
        use edgerun_protocol::error::ProgramErrorCode as E;
        let m = "Error processing Instruction 0: custom program error: 0x1776";
        assert_eq!(super::program_error(m), Some(E::NotStakeOwner));
        assert!(super::refusal(&m, m).contains("NotStakeOwner (6006)"));
        assert_eq!(super::program_error("custom program error: 0x1"), None);
        assert_eq!(super::program_error("insufficient funds"), None);
    }

    #[test]
    fn pubsub_url_is_the_next_port_over_ws() {
        assert_eq!(
            super::pubsub_url("http://127.0.0.1:8899"),
            "ws://127.0.0.1:8900"
        );
        assert_eq!(
            super::pubsub_url("https://rpc.example:443/x"),
            "wss://rpc.example:444/x"
        );
        assert_eq!(
            super::pubsub_url("https://api.mainnet-beta.solana.com"),
            "wss://api.mainnet-beta.solana.com"
        );
    }
}
