//! The transport of a native worker process: JSON-RPC to the chain (the
//! worker pays its own fees), HTTP to the relay for bundles, outputs and
//! heartbeats.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edgerun_client::Address;
use edgerun_client::rpc::{Chain, ChainError};
use edgerun_protocol::hash::{Hash, hex};
use edgerun_protocol::state::{GlobalConfig, Job, WorkerStake, job_status};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::{Transport, TransportError};

pub struct Native {
    pub chain: Chain,
    relay: String,
    http: reqwest::Client,
    keypair: Keypair,
}

impl Native {
    /// A worker of the edgerun program at `program` on the chain at
    /// `rpc_url`, with the relay at `relay_url`.
    pub fn new(rpc_url: &str, relay_url: &str, program: Address, keypair: Keypair) -> Native {
        Native {
            chain: Chain::connect(rpc_url, program),
            relay: relay_url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("an HTTP client with a timeout"),
            keypair,
        }
    }
}

fn chain_error(e: ChainError) -> TransportError {
    match e {
        ChainError::Refused(m) => TransportError::Refused(m),
        other => TransportError::Unavailable(other.to_string()),
    }
}

fn http_error(what: &str, url: &str, e: reqwest::Error) -> TransportError {
    TransportError::Unavailable(format!("{what} {url}: {e}"))
}

/// A non-success answer from the relay, with its `{code, message}` body.
async fn refused(what: &str, url: &str, resp: reqwest::Response) -> TransportError {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    let err = format!(
        "{what} {url}: {status} {}",
        body.chars().take(300).collect::<String>()
    );
    if status.is_server_error() {
        TransportError::Unavailable(err)
    } else {
        TransportError::Bad(err)
    }
}

impl Transport for Native {
    fn program(&self) -> Address {
        self.chain.program
    }

    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], TransportError> {
        Ok(self.keypair.sign_message(message).into())
    }

    fn runtime_id(&self) -> Hash {
        edgerun_runtime::runtime_id()
    }

    async fn run(&self, bundle: &[u8]) -> Result<crate::Ran, String> {
        let outcome = edgerun_runtime::run_bundle(bundle).map_err(|e| e.to_string())?;
        Ok(crate::Ran {
            output: outcome.output,
            fuel_used: outcome.fuel_used,
        })
    }

    fn worker(&self) -> Address {
        self.keypair.pubkey()
    }

    async fn slot(&self) -> Result<u64, TransportError> {
        self.chain.slot().await.map_err(chain_error)
    }

    async fn config(&self) -> Result<GlobalConfig, TransportError> {
        self.chain.config().await.map_err(chain_error)
    }

    async fn stake(&self) -> Result<Option<WorkerStake>, TransportError> {
        self.chain
            .stake(&self.keypair.pubkey())
            .await
            .map_err(chain_error)
    }

    async fn active_jobs(&self) -> Result<Vec<Job>, TransportError> {
        self.chain
            .jobs(&[
                job_status::ASSIGNED,
                job_status::QUORUM_REACHED,
                job_status::AWAITING_DA,
            ])
            .await
            .map_err(chain_error)
    }

    async fn bundle(&self, hash: &Hash) -> Result<Vec<u8>, TransportError> {
        let url = format!("{}/v1/bundles/{}", self.relay, hex(hash));
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| http_error("GET", &url, e))?;
        if !resp.status().is_success() {
            return Err(refused("GET", &url, resp).await);
        }
        let bytes = resp.bytes().await.map_err(|e| http_error("GET", &url, e))?;
        Ok(bytes.to_vec())
    }

    async fn publish(
        &self,
        job: &Hash,
        hash: &Hash,
        output: &[u8],
    ) -> Result<String, TransportError> {
        use edgerun_protocol::output_upload as up;
        let url = format!("{}/v1/outputs/{}", self.relay, hex(hash));
        let signature = self.keypair.sign_message(&up::message(job, hash));
        let resp = self
            .http
            .put(&url)
            .header(up::JOB_HEADER, hex(job))
            .header(up::WORKER_HEADER, self.keypair.pubkey().to_string())
            .header(up::SIGNATURE_HEADER, hex(signature.as_ref()))
            .body(output.to_vec())
            .send()
            .await
            .map_err(|e| http_error("PUT", &url, e))?;
        if !resp.status().is_success() {
            return Err(refused("PUT", &url, resp).await);
        }
        Ok(url)
    }

    async fn heartbeat(
        &self,
        runtime_ids: &[Hash],
        max_fuel: Option<u64>,
    ) -> Result<(), TransportError> {
        let me = self.keypair.pubkey();
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let message =
            edgerun_protocol::heartbeat::message(&me.to_bytes(), unix_ms, runtime_ids, max_fuel);
        let signature = self.keypair.sign_message(&message);
        let mut body = serde_json::json!({
            "unix_ms": unix_ms,
            "runtime_ids": runtime_ids.iter().map(|id| hex(id)).collect::<Vec<_>>(),
            "signature": hex(signature.as_ref()),
        });
        if let Some(max) = max_fuel {
            body["max_fuel"] = max.into();
        }
        let url = format!("{}/v1/workers/{me}/heartbeat", self.relay);
        let resp = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| http_error("POST", &url, e))?;
        if !resp.status().is_success() {
            return Err(refused("POST", &url, resp).await);
        }
        Ok(())
    }

    async fn send(&self, ixs: &[Instruction]) -> Result<String, TransportError> {
        self.chain
            .send(ixs, &self.keypair, &[])
            .await
            .map(|s| s.to_string())
            .map_err(chain_error)
    }
}
