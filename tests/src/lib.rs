//! Shared harness for edgerun's cross-part tests.
//!
//! [`Chain`] runs the real SBF program (`target/deploy/edgerun_program.so`,
//! built by `cargo xtask build-program`) in LiteSVM with precompiles, with a
//! config, authorities, a treasury and funded workers, and tracks every
//! lamport so tests can assert conservation.

use edgerun_client::{self as client, Address, Attestation, JobSpec};
use edgerun_protocol::error::ProgramErrorCode;
use edgerun_protocol::hash::{self, Hash};
use edgerun_protocol::layout::{self, Account, U32, U64};
use edgerun_protocol::limits::Limits;
use edgerun_protocol::state::{ConfigParams, GlobalConfig, Job, WorkerStake, job_status};
use litesvm::LiteSVM;
use litesvm::types::{FailedTransactionMetadata, TransactionMetadata};
use solana_account::Account as SolAccount;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub use edgerun_protocol::event::AnyEvent;

/// The runtime id every test job uses (allowed in the default config).
pub const RUNTIME: &str = "edgerun-runtime/1;wasmi=2.0.0;abi=1;fuel=test";
/// Lamports each test worker starts with in its wallet.
pub const WORKER_FUNDS: u64 = 100_000_000_000;
/// Stake each test worker registers with.
pub const WORKER_STAKE: u64 = 50_000_000_000;

/// Cargo's target dir: `$CARGO_TARGET_DIR`, else `<repo>/target` (as
/// `cargo xtask` resolves it).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// Where the built program is: `$EDGERUN_PROGRAM_SO`, else
/// `<target dir>/deploy/edgerun_program.so` (`cargo xtask build-program`).
pub fn program_so() -> PathBuf {
    match std::env::var_os("EDGERUN_PROGRAM_SO") {
        Some(p) => PathBuf::from(p),
        None => target_dir().join("deploy/edgerun_program.so"),
    }
}

/// The test-only CPI probe (`program/probe`), built beside the program:
/// `$EDGERUN_PROBE_SO`, else `<target dir>/deploy/edgerun_cpi_probe.so`.
pub fn probe_so() -> PathBuf {
    match std::env::var_os("EDGERUN_PROBE_SO") {
        Some(p) => PathBuf::from(p),
        None => target_dir().join("deploy/edgerun_cpi_probe.so"),
    }
}

/// The default config parameters of a test chain.
pub fn default_params(
    admin: &Address,
    scheduler: &Address,
    randomness: &Address,
    treasury: &Address,
) -> ConfigParams {
    // Smaller stakes, penalties and caps than a deployment's, and a long
    // DA window, so the rule tests can move lamports in small steps.
    ConfigParams {
        min_worker_stake_lamports: U64::new(1_000_000),
        da_window_slots: U64::new(900),
        non_response_slash_lamports: U64::new(50_000),
        max_memory_bytes: U32::new(64 << 20),
        max_instructions: U64::new(10_000_000_000),
        max_output_bytes: U32::new(1 << 20),
        ..ConfigParams::with_defaults(
            admin.to_bytes(),
            scheduler.to_bytes(),
            randomness.to_bytes(),
            treasury.to_bytes(),
            &[hash::runtime_id(RUNTIME)],
        )
    }
}

/// Rewrites the upgrade authority in the program's ProgramData account
/// (LiteSVM loads programs with the upgradeable loader and no authority).
pub fn set_upgrade_authority(svm: &mut LiteSVM, program_id: &Address, authority: Option<&Address>) {
    let at = client::program_data_address(program_id);
    let mut acc = svm
        .get_account(&at)
        .expect("the program is loaded with the upgradeable loader");
    // UpgradeableLoaderState::ProgramData: u32 tag 3, u64 slot, Option<Pubkey>.
    assert_eq!(
        acc.data[..4],
        3u32.to_le_bytes(),
        "not a ProgramData account"
    );
    match authority {
        Some(a) => {
            acc.data[12] = 1;
            acc.data[13..45].copy_from_slice(a.as_ref());
        }
        None => {
            acc.data[12] = 0;
            acc.data[13..45].fill(0);
        }
    }
    svm.set_account(at, acc).expect("ProgramData account");
}

/// A test worker: its wallet key and its Ed25519 signing key (the same key).
pub struct Worker {
    pub key: Keypair,
    pub signing: ed25519_dalek::SigningKey,
}

impl Worker {
    pub fn new() -> Self {
        let key = Keypair::new();
        let signing = ed25519_dalek::SigningKey::from_bytes(key.secret_bytes());
        Worker { key, signing }
    }
    pub fn address(&self) -> Address {
        self.key.pubkey()
    }
}

impl Default for Worker {
    fn default() -> Self {
        Self::new()
    }
}

/// A failed transaction: the program's error code if it returned one.
#[derive(Debug)]
pub struct TxFailure {
    pub code: Option<ProgramErrorCode>,
    pub meta: Box<FailedTransactionMetadata>,
}

impl TxFailure {
    /// The custom error code, for assertions.
    pub fn code(&self) -> ProgramErrorCode {
        self.code.unwrap_or_else(|| {
            panic!(
                "not a program error: {:?}\n{:#?}",
                self.meta.err, self.meta.meta.logs
            )
        })
    }
}

/// A LiteSVM chain with the program, a config and funded parties.
pub struct Chain {
    pub svm: LiteSVM,
    pub program_id: Address,
    pub admin: Keypair,
    pub scheduler: Keypair,
    pub randomness: Keypair,
    pub treasury: Address,
    /// Pays fees for permissionless cranks.
    pub cranker: Keypair,
    pub client: Keypair,
    pub workers: Vec<Worker>,
    /// Every address whose lamports the conservation check sums.
    pub tracked: BTreeSet<Address>,
    /// Lamports of the tracked set at the start.
    pub start_total: u128,
    /// Transaction fees charged since the start.
    pub fees: u128,
    /// The initialize_config transaction.
    pub init_meta: Option<TransactionMetadata>,
    nonce: u64,
}

impl Chain {
    /// A chain with the program, an initialized config and `workers`
    /// registered workers, each staked with [`WORKER_STAKE`].
    pub fn new(workers: usize) -> Self {
        Self::with_params(workers, |_| {})
    }

    /// As [`Chain::new`], with config parameters adjusted by `tweak`.
    pub fn with_params(workers: usize, tweak: impl FnOnce(&mut ConfigParams)) -> Self {
        let mut chain = Self::without_config();
        let mut params = chain.default_params();
        tweak(&mut params);
        let ix = client::initialize_config(&chain.program_id, &chain.admin.pubkey(), params);
        let admin = chain.admin.insecure_clone();
        chain.init_meta = Some(chain.send(&[ix], &[&admin]).expect("initialize_config"));
        for _ in 0..workers {
            chain.add_worker(WORKER_STAKE);
        }
        chain
            .tracked
            .insert(client::config_pda(&chain.program_id).0);
        chain.start_total = chain.total_tracked();
        chain.fees = 0;
        chain
    }

    /// A chain with the program and funded parties but no config yet (for
    /// initialize_config's own tests). The config PDA is not tracked.
    pub fn without_config() -> Self {
        let mut svm = LiteSVM::new();
        let program_id = Address::new_unique();
        let so = program_so();
        svm.add_program_from_file(program_id, &so)
            .unwrap_or_else(|e| {
                panic!(
                    "loading {}: {e:?}; run `cargo xtask build-program` first",
                    so.display()
                )
            });
        let admin = Keypair::new();
        // As deployed by the upgradeable loader with the admin as upgrade
        // authority: only it may initialize the config.
        set_upgrade_authority(&mut svm, &program_id, Some(&admin.pubkey()));
        let scheduler = Keypair::new();
        let randomness = Keypair::new();
        let cranker = Keypair::new();
        let client = Keypair::new();
        let treasury = Address::new_unique();
        for k in [&admin, &scheduler, &randomness, &cranker, &client] {
            svm.airdrop(&k.pubkey(), 1_000_000_000_000)
                .expect("airdrop");
        }
        svm.airdrop(&treasury, 1_000_000_000)
            .expect("airdrop treasury");
        let mut chain = Chain {
            svm,
            program_id,
            admin,
            scheduler,
            randomness,
            treasury,
            cranker,
            client,
            workers: Vec::new(),
            tracked: BTreeSet::new(),
            start_total: 0,
            fees: 0,
            init_meta: None,
            nonce: 0,
        };
        for a in [
            chain.admin.pubkey(),
            chain.scheduler.pubkey(),
            chain.randomness.pubkey(),
            chain.cranker.pubkey(),
            chain.client.pubkey(),
            chain.treasury,
        ] {
            chain.tracked.insert(a);
        }
        chain.start_total = chain.total_tracked();
        chain
    }

    /// [`default_params`] for this chain's authorities and treasury.
    pub fn default_params(&self) -> ConfigParams {
        default_params(
            &self.admin.pubkey(),
            &self.scheduler.pubkey(),
            &self.randomness.pubkey(),
            &self.treasury,
        )
    }

    /// An independent copy of this chain and its parties (LiteSVM state is
    /// cloned), so a prepared chain can seed many test cases cheaply.
    pub fn fork(&self) -> Chain {
        Chain {
            svm: self.svm.clone(),
            program_id: self.program_id,
            admin: self.admin.insecure_clone(),
            scheduler: self.scheduler.insecure_clone(),
            randomness: self.randomness.insecure_clone(),
            treasury: self.treasury,
            cranker: self.cranker.insecure_clone(),
            client: self.client.insecure_clone(),
            workers: self
                .workers
                .iter()
                .map(|w| Worker {
                    key: w.key.insecure_clone(),
                    signing: w.signing.clone(),
                })
                .collect(),
            tracked: self.tracked.clone(),
            start_total: self.start_total,
            fees: self.fees,
            init_meta: self.init_meta.clone(),
            nonce: self.nonce,
        }
    }

    /// Registers a new funded worker with `stake` lamports staked.
    pub fn add_worker(&mut self, stake: u64) -> usize {
        self.register_worker(stake).0
    }

    /// As [`Chain::add_worker`], also returning the register_worker transaction.
    pub fn register_worker(&mut self, stake: u64) -> (usize, TransactionMetadata) {
        let w = Worker::new();
        self.svm
            .airdrop(&w.address(), WORKER_FUNDS)
            .expect("airdrop worker");
        let ix = client::register_worker(&self.program_id, &w.address(), &w.address(), stake);
        let meta = self.send(&[ix], &[&w.key]).expect("register_worker");
        self.tracked.insert(w.address());
        self.tracked
            .insert(client::worker_stake_pda(&self.program_id, &w.address()).0);
        // Lamports that entered the tracked set from outside (the airdrop).
        self.start_total += u128::from(WORKER_FUNDS);
        self.workers.push(w);
        (self.workers.len() - 1, meta)
    }

    /// Sends one transaction paid by the first signer.
    pub fn send(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<TransactionMetadata, TxFailure> {
        self.svm.expire_blockhash();
        let payer = signers[0].pubkey();
        let tx = Transaction::new_signed_with_payer(
            ixs,
            Some(&payer),
            signers,
            self.svm.latest_blockhash(),
        );
        self.send_transaction(tx)
    }

    /// Sends a transaction built by the caller (with a recent blockhash from
    /// `self.svm`), counting its fee.
    pub fn send_transaction(&mut self, tx: Transaction) -> Result<TransactionMetadata, TxFailure> {
        match self.svm.send_transaction(tx) {
            Ok(meta) => {
                self.fees += u128::from(meta.fee);
                Ok(meta)
            }
            Err(failed) => {
                // A failed transaction still pays its fee.
                self.fees += u128::from(failed.meta.fee);
                let code = match &failed.err {
                    solana_transaction_error::TransactionError::InstructionError(
                        _,
                        solana_instruction_error::InstructionError::Custom(c),
                    ) => ProgramErrorCode::from_code(*c),
                    _ => None,
                };
                Err(TxFailure {
                    code,
                    meta: Box::new(failed),
                })
            }
        }
    }

    /// Sends `ixs` signed by the cranker (permissionless instructions).
    pub fn crank(&mut self, ixs: &[Instruction]) -> Result<TransactionMetadata, TxFailure> {
        let k = self.cranker.insecure_clone();
        self.send(ixs, &[&k])
    }

    pub fn slot(&self) -> u64 {
        self.svm.get_sysvar::<solana_clock::Clock>().slot
    }

    /// Advances the clock by `slots`.
    pub fn warp(&mut self, slots: u64) {
        let to = self.slot() + slots;
        self.svm.warp_to_slot(to);
    }

    /// Advances the clock to `slot` (not before now).
    pub fn warp_to(&mut self, slot: u64) {
        assert!(slot >= self.slot(), "cannot warp back to {slot}");
        self.svm.warp_to_slot(slot);
    }

    pub fn lamports(&self, a: &Address) -> u64 {
        self.svm.get_account(a).map_or(0, |acc| acc.lamports)
    }

    /// Lamports held by the tracked set now.
    pub fn total_tracked(&self) -> u128 {
        self.tracked
            .iter()
            .map(|a| u128::from(self.lamports(a)))
            .sum()
    }

    /// Every lamport is accounted for: the tracked parties hold what they
    /// started with minus the fees charged, no program account is below rent
    /// exemption, and every stake and job account holds exactly rent plus
    /// what its data says it holds.
    pub fn assert_conserved(&self) {
        assert_eq!(
            self.total_tracked() + self.fees,
            self.start_total,
            "lamports not conserved (fees {})",
            self.fees
        );
        for a in &self.tracked {
            if let Some(acc) = self.svm.get_account(a)
                && acc.owner == self.program_id
            {
                let min = self.svm.minimum_balance_for_rent_exemption(acc.data.len());
                // The ledger in the data matches the lamports held.
                if let Ok(s) = layout::view::<WorkerStake>(&acc.data) {
                    assert_eq!(
                        acc.lamports,
                        min + s.total_stake.get(),
                        "stake {a}: lamports != rent + total_stake"
                    );
                    assert!(
                        s.locked_stake.get() <= s.total_stake.get(),
                        "stake {a}: locked above total"
                    );
                }
                if let Ok(j) = layout::view::<Job>(&acc.data) {
                    assert_eq!(
                        acc.lamports,
                        min + j.escrow_lamports.get()
                            + j.records_lamports.get()
                            + j.priority_fee_lamports.get(),
                        "job {a}: lamports != rent + escrow + records deposit + priority fee"
                    );
                }
                assert!(
                    acc.lamports >= min,
                    "{a} below rent exemption: {} < {min}",
                    acc.lamports
                );
            }
        }
    }

    /// A new keypair funded with 10 SOL from outside and tracked, to sign
    /// as someone without any role.
    pub fn stranger(&mut self) -> Keypair {
        let k = Keypair::new();
        let lamports = 10_000_000_000;
        self.svm
            .airdrop(&k.pubkey(), lamports)
            .expect("airdrop stranger");
        self.tracked.insert(k.pubkey());
        self.start_total += u128::from(lamports);
        k
    }

    /// Every tracked account as it is now (`None` if it does not exist).
    pub fn snapshot(&self) -> BTreeMap<Address, Option<SolAccount>> {
        self.tracked
            .iter()
            .map(|a| (*a, self.svm.get_account(a)))
            .collect()
    }

    /// Runs `send`, which must send one transaction that fails, and checks
    /// that it changed nothing: every tracked account is as before except
    /// the fee payer, which lost exactly the fee; accounts tracked only
    /// since (PDAs the transaction would have created) do not exist; and
    /// lamports are conserved. Returns the failure.
    pub fn refused(
        &mut self,
        send: impl FnOnce(&mut Chain) -> Result<TransactionMetadata, TxFailure>,
    ) -> TxFailure {
        let before = self.snapshot();
        let failure = match send(self) {
            Ok(meta) => panic!("the transaction succeeded:\n{:#?}", meta.logs),
            Err(f) => f,
        };
        let fee = failure.meta.meta.fee;
        let mut fee_payers = 0;
        for (a, now) in self.snapshot() {
            let was = before.get(&a).cloned().flatten();
            match (&was, &now) {
                (Some(w), Some(n)) if w != n => {
                    let mut paid = w.clone();
                    paid.lamports -= fee;
                    assert_eq!(&paid, n, "{a} changed by a failed transaction");
                    fee_payers += 1;
                }
                _ => assert_eq!(was, now, "{a} changed by a failed transaction"),
            }
        }
        assert!(fee_payers <= 1, "{fee_payers} accounts paid the fee");
        self.assert_conserved();
        failure
    }

    /// [`Chain::refused`], asserting the program's error code.
    pub fn refuses(
        &mut self,
        code: ProgramErrorCode,
        send: impl FnOnce(&mut Chain) -> Result<TransactionMetadata, TxFailure>,
    ) {
        let failure = self.refused(send);
        assert_eq!(failure.code(), code, "logs: {:#?}", failure.meta.meta.logs);
    }

    /// Reads and decodes a program account.
    pub fn account<T: Account>(&self, a: &Address) -> T {
        let acc = self
            .svm
            .get_account(a)
            .unwrap_or_else(|| panic!("no account {a}"));
        *layout::view::<T>(&acc.data).unwrap_or_else(|e| panic!("decoding {a}: {e}"))
    }

    pub fn config(&self) -> GlobalConfig {
        self.account(&client::config_pda(&self.program_id).0)
    }

    pub fn job(&self, job_id: &Hash) -> Job {
        self.account(&client::job_pda(&self.program_id, job_id).0)
    }

    pub fn stake(&self, worker: usize) -> WorkerStake {
        self.account(&client::worker_stake_pda(&self.program_id, &self.workers[worker].address()).0)
    }

    /// A job spec with a fresh job id and `escrow` lamports.
    pub fn spec(&mut self, escrow: u64) -> JobSpec {
        self.nonce += 1;
        let bundle_hash = hash::blake3(&self.nonce.to_le_bytes());
        JobSpec {
            job_id: hash::job_id(&self.client.pubkey().to_bytes(), self.nonce, &bundle_hash),
            nonce: self.nonce,
            bundle_hash,
            runtime_id: hash::runtime_id(RUNTIME),
            limits: Limits::new(16 << 20, 1_000_000, 4096),
            escrow_lamports: escrow,
            ttl_slots: 10_000,
            priority_fee_lamports: 0,
        }
    }

    /// Posts a job from the test client; tracks its account.
    pub fn post(&mut self, spec: &JobSpec) -> Result<TransactionMetadata, TxFailure> {
        let ix = self.post_ix(spec);
        let c = self.client.insecure_clone();
        self.send(&[ix], &[&c])
    }

    /// post_job from the test client; tracks the job and output PDAs.
    pub fn post_ix(&mut self, spec: &JobSpec) -> Instruction {
        self.tracked
            .insert(client::job_pda(&self.program_id, &spec.job_id).0);
        self.tracked
            .insert(client::output_pda(&self.program_id, &spec.job_id).0);
        client::post_job(&self.program_id, &self.client.pubkey(), spec)
    }

    /// The test client cancels its job (cancel_job).
    pub fn cancel(&mut self, job_id: &Hash) -> Result<TransactionMetadata, TxFailure> {
        let ix = self.cancel_ix(job_id);
        let c = self.client.insecure_clone();
        self.send(&[ix], &[&c])
    }

    /// cancel_job by the test client.
    pub fn cancel_ix(&self, job_id: &Hash) -> Instruction {
        client::cancel_job(&self.program_id, &self.client.pubkey(), job_id)
    }

    pub fn seed(&mut self, job_id: &Hash, seed: Hash) -> Result<TransactionMetadata, TxFailure> {
        let ix = self.seed_ix(job_id, seed);
        let k = self.randomness.insecure_clone();
        self.send(&[ix], &[&k])
    }

    /// set_job_seed by the randomness authority.
    pub fn seed_ix(&self, job_id: &Hash, seed: Hash) -> Instruction {
        client::set_job_seed(&self.program_id, &self.randomness.pubkey(), job_id, seed)
    }

    /// Assigns workers (indexes into `self.workers`).
    pub fn assign(
        &mut self,
        job_id: &Hash,
        committee: &[usize],
    ) -> Result<TransactionMetadata, TxFailure> {
        let ix = self.assign_ix(job_id, committee);
        self.as_scheduler(ix)
    }

    /// assign_workers by the scheduler authority.
    pub fn assign_ix(&self, job_id: &Hash, committee: &[usize]) -> Instruction {
        client::assign_workers(
            &self.program_id,
            &self.scheduler.pubkey(),
            job_id,
            [7; 32],
            &self.addresses(committee),
        )
    }

    /// The addresses of workers given by index.
    pub fn addresses(&self, workers: &[usize]) -> Vec<Address> {
        workers.iter().map(|&i| self.workers[i].address()).collect()
    }

    /// Sends `ix` signed by the scheduler authority.
    pub fn as_scheduler(&mut self, ix: Instruction) -> Result<TransactionMetadata, TxFailure> {
        let k = self.scheduler.insecure_clone();
        self.send(&[ix], &[&k])
    }

    /// Worker `w` submits the seal of `output_hash` for the job with a
    /// valid attestation.
    pub fn submit(
        &mut self,
        job_id: &Hash,
        w: usize,
        output_hash: Hash,
    ) -> Result<TransactionMetadata, TxFailure> {
        let ixs = self.submit_ixs(job_id, w, output_hash);
        self.as_worker(w, &ixs)
    }

    /// Worker `w` submits `seal` as it is (a copier's submission).
    pub fn submit_sealed(
        &mut self,
        job_id: &Hash,
        w: usize,
        seal: Hash,
    ) -> Result<TransactionMetadata, TxFailure> {
        let att = Attestation::sealed(&self.job(job_id), seal);
        let ixs = self.attest_ixs(job_id, w, &att);
        self.as_worker(w, &ixs)
    }

    /// Worker `w`'s Ed25519 instruction and submit_result for the seal of
    /// `output_hash` (at transaction indexes 0 and 1); tracks the JobResult
    /// PDA.
    pub fn submit_ixs(&mut self, job_id: &Hash, w: usize, output_hash: Hash) -> [Instruction; 2] {
        let worker = self.workers[w].address();
        let att = Attestation::for_job(&self.job(job_id), &worker, output_hash);
        self.attest_ixs(job_id, w, &att)
    }

    fn attest_ixs(&mut self, job_id: &Hash, w: usize, att: &Attestation) -> [Instruction; 2] {
        let worker = self.workers[w].address();
        self.tracked
            .insert(client::job_result_pda(&self.program_id, job_id, &worker).0);
        client::submit_result(&self.program_id, &self.workers[w].signing, att, 0)
    }

    /// Sends `ixs` signed (and paid) by worker `w`.
    pub fn as_worker(
        &mut self,
        w: usize,
        ixs: &[Instruction],
    ) -> Result<TransactionMetadata, TxFailure> {
        let k = self.workers[w].key.insecure_clone();
        self.send(ixs, &[&k])
    }

    /// Worker `w` reveals `output_hash` (reach_quorum).
    pub fn reveal(
        &mut self,
        job_id: &Hash,
        w: usize,
        output_hash: Hash,
    ) -> Result<TransactionMetadata, TxFailure> {
        let ix = self.reveal_ix(job_id, w, output_hash);
        self.as_worker(w, &[ix])
    }

    /// reach_quorum by worker `w`, revealing `output_hash`.
    pub fn reveal_ix(&self, job_id: &Hash, w: usize, output_hash: Hash) -> Instruction {
        client::reach_quorum(
            &self.program_id,
            &self.workers[w].address(),
            job_id,
            output_hash,
        )
    }

    pub fn declare(
        &mut self,
        job_id: &Hash,
        w: usize,
        output_hash: Hash,
    ) -> Result<TransactionMetadata, TxFailure> {
        let ix = self.declare_ix(job_id, w, output_hash);
        self.as_worker(w, &[ix])
    }

    /// declare_output by worker `w`, with a valid pointer.
    pub fn declare_ix(&self, job_id: &Hash, w: usize, output_hash: Hash) -> Instruction {
        client::declare_output(
            &self.program_id,
            &self.workers[w].address(),
            job_id,
            output_hash,
            "http://127.0.0.1:8080/v1/outputs/x",
        )
        .expect("pointer")
    }

    /// The assigned workers' addresses, in table order; none when the job
    /// account does not exist (so invalid steps can still be sent).
    pub fn assigned(&self, job_id: &Hash) -> Vec<Address> {
        if self.job_exists(job_id) {
            client::assigned_workers(&self.job(job_id))
        } else {
            Vec::new()
        }
    }

    /// Whether the program holds an account at the job's PDA.
    pub fn job_exists(&self, job_id: &Hash) -> bool {
        let addr = client::job_pda(&self.program_id, job_id).0;
        self.svm
            .get_account(&addr)
            .is_some_and(|acc| acc.owner == self.program_id)
    }

    pub fn finalize(&mut self, job_id: &Hash) -> Result<TransactionMetadata, TxFailure> {
        let ix = self.finalize_ix(job_id);
        self.crank(&[ix])
    }

    /// finalize_job by the cranker over the job's assigned stakes.
    pub fn finalize_ix(&self, job_id: &Hash) -> Instruction {
        client::finalize_job(
            &self.program_id,
            &self.cranker.pubkey(),
            job_id,
            &self.treasury,
            &self.client.pubkey(),
            &self.assigned(job_id),
        )
    }

    pub fn penalize(&mut self, job_id: &Hash) -> Result<TransactionMetadata, TxFailure> {
        let ix = self.penalize_ix(job_id);
        self.crank(&[ix])
    }

    /// penalize_non_submitters by the cranker over the job's assigned stakes.
    pub fn penalize_ix(&self, job_id: &Hash) -> Instruction {
        self.settle_ix(job_id, client::penalize_non_submitters)
    }

    pub fn cancel_no_da(&mut self, job_id: &Hash) -> Result<TransactionMetadata, TxFailure> {
        let ix = self.cancel_no_da_ix(job_id);
        self.crank(&[ix])
    }

    /// cancel_no_da by the cranker over the job's assigned stakes.
    pub fn cancel_no_da_ix(&self, job_id: &Hash) -> Instruction {
        self.settle_ix(job_id, client::cancel_no_da)
    }

    /// A permissionless settling instruction over the job's assigned stakes.
    fn settle_ix(
        &self,
        job_id: &Hash,
        build: fn(&Address, &Address, &Hash, &Address, &[Address]) -> Instruction,
    ) -> Instruction {
        build(
            &self.program_id,
            &self.cranker.pubkey(),
            job_id,
            &self.treasury,
            &self.assigned(job_id),
        )
    }

    pub fn reassign(
        &mut self,
        job_id: &Hash,
        replacements: &[usize],
    ) -> Result<TransactionMetadata, TxFailure> {
        let ix = self.reassign_ix(job_id, replacements);
        self.as_scheduler(ix)
    }

    /// reassign_missing by the scheduler authority.
    pub fn reassign_ix(&self, job_id: &Hash, replacements: &[usize]) -> Instruction {
        client::reassign_missing(
            &self.program_id,
            &self.scheduler.pubkey(),
            job_id,
            [8; 32],
            &self.addresses(replacements),
        )
    }

    pub fn cancel_expired(&mut self, job_id: &Hash) -> Result<TransactionMetadata, TxFailure> {
        let ix = self.cancel_expired_ix(job_id);
        self.crank(&[ix])
    }

    /// cancel_expired_job by the cranker, refunding the test client.
    pub fn cancel_expired_ix(&self, job_id: &Hash) -> Instruction {
        client::cancel_expired_job(
            &self.program_id,
            &self.cranker.pubkey(),
            job_id,
            &self.client.pubkey(),
            &self.treasury,
            &self.assigned(job_id),
        )
    }

    /// A fresh Bronze job ([`BRONZE_ESCROW`], committee 3, quorum 2) taken
    /// to `stage`: workers 0, 1, 2 are the committee, all three submit the
    /// seal of [`agreed_output`], and worker 0 reveals and declares it.
    pub fn job_at(&mut self, stage: Stage) -> Hash {
        let spec = self.spec(BRONZE_ESCROW);
        self.spec_at(&spec, stage)
    }

    /// As [`Chain::job_at`] for a job posted from `spec` (a committee of
    /// 3: an escrow below the Silver tier).
    pub fn spec_at(&mut self, spec: &JobSpec, stage: Stage) -> Hash {
        let id = spec.job_id;
        let out = agreed_output();
        self.post(spec).expect("post_job");
        for step in 1..=stage as u8 {
            let done = match step {
                1 => self.seed(&id, [1; 32]),
                2 => self.assign(&id, &[0, 1, 2]),
                3 => (0..3)
                    .try_for_each(|w| self.submit(&id, w, out).map(drop))
                    .and_then(|()| self.reveal(&id, 0, out)),
                4 => self.declare(&id, 0, out),
                _ => self.finalize(&id),
            };
            if let Err(e) = done {
                panic!("step {step} towards {stage:?}: {:?}", e.meta.err);
            }
        }
        id
    }

    /// Index of the worker with address `a`.
    pub fn worker_index(&self, a: &Address) -> usize {
        self.workers
            .iter()
            .position(|w| w.address() == *a)
            .expect("known worker")
    }
}

/// How far [`Chain::job_at`] takes a job: the job's status when it is
/// done (`stage as u8` is the status code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Stage {
    Posted = job_status::POSTED,
    Seeded = job_status::SEEDED,
    Assigned = job_status::ASSIGNED,
    QuorumReached = job_status::QUORUM_REACHED,
    AwaitingDa = job_status::AWAITING_DA,
    Finalized = job_status::FINALIZED,
}

/// The escrow of [`Chain::job_at`]'s jobs: Bronze, a committee of 3 with
/// quorum 2.
pub const BRONZE_ESCROW: u64 = 50_000_000;

/// The output every committee member of [`Chain::job_at`] submits.
pub fn agreed_output() -> Hash {
    hash::output_hash(b"agreed output")
}

/// Compute units the program itself consumed in a transaction, from the
/// runtime's `consumed N of M compute units` log line for `program_id`.
pub fn program_cu(meta: &TransactionMetadata, program_id: &Address) -> u64 {
    let prefix = format!("Program {program_id} consumed ");
    meta.logs
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// The edgerun events a transaction emitted.
pub fn events(meta: &TransactionMetadata) -> Vec<AnyEvent> {
    client::events_from_logs(&meta.logs)
}
