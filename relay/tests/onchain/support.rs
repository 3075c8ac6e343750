//! One embedded local chain (edgerun-localnet: surfpool on 127.0.0.1, the
//! program loaded, the config created) shared by every test of this binary,
//! and the transactions the tests need: registered workers, a job seated
//! with a committee, and transactions for `POST /v1/tx`.
//!
//! Each test takes its own keys (by index) so that tests running at once
//! never share a fee payer or a worker.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use edgerun_client::rpc::Chain;
use edgerun_localnet::{Localnet, Options, Parties};
use edgerun_protocol::bundle::Bundle;
use edgerun_protocol::hash::Hash;
use edgerun_protocol::limits::Limits;
use edgerun_protocol::state::Job;
use solana_address::Address;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;

/// Stake each registered worker deposits (10 SOL; the demo minimum is 1).
pub const STAKE: u64 = 10_000_000_000;
/// Keys funded at genesis besides the parties, for tests to take by index.
const SPARE_KEYS: usize = 24;
/// Demo worker keys (funded at genesis).
const WORKER_KEYS: usize = 16;

pub struct Net {
    _net: Localnet,
    pub rpc_url: String,
    pub parties: Parties,
    /// Funded keys; each test uses its own indices (see the test files).
    pub spare: Vec<Keypair>,
    pub program: Address,
}

static NET: OnceLock<Net> = OnceLock::new();

/// The runtime id the test bundles name (allowed by the config).
pub fn runtime_id() -> Hash {
    edgerun_protocol::hash::runtime_id("edgerun-relay-tests/1")
}

fn program_so() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let so = target.join("deploy/edgerun_program.so");
    assert!(
        so.exists(),
        "{} is missing: run `cargo xtask build-program`",
        so.display()
    );
    so
}

/// The shared chain, started on first use (from a blocking thread).
pub async fn net() -> &'static Net {
    if let Some(net) = NET.get() {
        return net;
    }
    tokio::task::spawn_blocking(|| {
        NET.get_or_init(|| {
            let dir =
                std::env::temp_dir().join(format!("edgerun-relay-onchain-{}", std::process::id()));
            let parties = Parties::load_or_create(&dir, WORKER_KEYS).expect("demo keys");
            let spare: Vec<Keypair> = (0..SPARE_KEYS).map(|_| Keypair::new()).collect();
            let mut funded = parties.funded();
            funded.extend(spare.iter().map(|k| k.pubkey()));
            let net = Localnet::start(&Options {
                rpc_port: 0,
                ws_port: 0,
                slot_time_ms: 100,
                program_so: Some(program_so()),
                funded,
                upgrade_authority: parties.admin.pubkey(),
            })
            .expect("the local chain starts");
            net.bootstrap(&parties, &[runtime_id(), edgerun_runtime::runtime_id()])
                .expect("initialize_config");
            Net {
                rpc_url: net.rpc_url.clone(),
                _net: net,
                parties,
                spare,
                program: Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID),
            }
        })
    })
    .await
    .expect("starting the chain")
}

impl Net {
    pub fn chain(&self) -> Chain {
        Chain::connect(&self.rpc_url, self.program)
    }

    pub async fn balance(&self, who: &Address) -> u64 {
        self.chain().rpc.get_balance(who).await.expect("getBalance")
    }

    /// Sends `ixs` paid by `payer` (also signed by `others`), confirmed.
    pub async fn send(&self, ixs: &[Instruction], payer: &Keypair, others: &[&Keypair]) {
        self.chain()
            .send(ixs, payer, others)
            .await
            .unwrap_or_else(|e| panic!("transaction refused: {e}"));
    }

    /// Registers `worker` with [`STAKE`] (it pays).
    pub async fn register(&self, worker: &Keypair) {
        let ix = edgerun_client::register_worker(
            &self.program,
            &worker.pubkey(),
            &worker.pubkey(),
            STAKE,
        );
        self.send(&[ix], worker, &[]).await;
    }

    /// A bundle of this test runtime, unique by `input`.
    pub fn bundle(input: &[u8], max_output_bytes: u32) -> Vec<u8> {
        Bundle {
            runtime_id: runtime_id(),
            limits: Limits::new(1 << 20, 1_000_000, max_output_bytes),
            wasm: b"\0asm\x01\0\0\0",
            input,
        }
        .encode()
        .expect("bundle within protocol maxima")
    }

    /// Posts a Bronze job for `bundle` from `client`, seeds it and seats
    /// `committee` (3 registered workers). Returns the job as the chain
    /// holds it.
    pub async fn seated_job(&self, client: &Keypair, bundle: &[u8], committee: &[&Keypair]) -> Job {
        let spec = edgerun_client::JobSpec::for_bundle(
            &client.pubkey(),
            rand::random(),
            bundle,
            10_000_000,
            10_000,
        )
        .expect("a bundle");
        let post = edgerun_client::post_job(&self.program, &client.pubkey(), &spec);
        self.send(&[post], client, &[]).await;
        let seed = edgerun_client::set_job_seed(
            &self.program,
            &self.parties.randomness.pubkey(),
            &spec.job_id,
            rand::random(),
        );
        self.send(&[seed], &self.parties.randomness, &[]).await;
        let members: Vec<Address> = committee.iter().map(|k| k.pubkey()).collect();
        let assign = edgerun_client::assign_workers(
            &self.program,
            &self.parties.scheduler.pubkey(),
            &spec.job_id,
            [0; 32],
            &members,
        );
        self.send(&[assign], &self.parties.scheduler, &[]).await;
        self.chain()
            .job(&spec.job_id)
            .await
            .expect("getAccountInfo")
            .expect("the job exists")
    }

    /// The submit_result pair of `worker` for `job` claiming `output`,
    /// at transaction index `first_index`.
    pub fn submit(
        &self,
        job: &Job,
        worker: &Keypair,
        output: &[u8],
        first_index: u16,
    ) -> [Instruction; 2] {
        let key = ed25519_dalek::SigningKey::from_bytes(worker.secret_bytes());
        let attestation = edgerun_client::Attestation::for_job(
            job,
            &worker.pubkey(),
            *blake3::hash(output).as_bytes(),
        );
        edgerun_client::submit_result(&self.program, &key, &attestation, first_index)
    }
}

/// `ixs` with `fee_payer` as the first account, signed by `signers` only
/// (the fee payer's signature left for the relay), base64 bincode: the
/// body of `POST /v1/tx`.
pub async fn for_relay(
    net: &Net,
    ixs: &[Instruction],
    fee_payer: &Address,
    signers: &[&Keypair],
) -> String {
    let blockhash = net.chain().blockhash().await.expect("getLatestBlockhash");
    let mut tx = Transaction::new_with_payer(ixs, Some(fee_payer));
    tx.partial_sign(signers, blockhash);
    base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&tx).unwrap())
}

/// Posts `{transaction}` to the relay; returns the status and JSON body.
pub async fn post_tx(
    client: &reqwest::Client,
    relay: std::net::SocketAddr,
    transaction: &str,
) -> (u16, serde_json::Value) {
    let resp = client
        .post(format!("http://{relay}/v1/tx"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "transaction": transaction }).to_string())
        .timeout(Duration::from_secs(90))
        .send()
        .await
        .expect("the relay answers");
    crate::common::status_json(resp).await
}
