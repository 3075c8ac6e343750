//! Issue 6, end to end with real processes and real RPC: `edgerun up`
//! (chain + relay), `edgerun scheduler` and `edgerun worker` processes, jobs
//! posted with `edgerun post`, followed to Finalized on chain, outputs
//! fetched with `edgerun get` and checked against a native run. Faults are
//! real: workers killed by PID, workers told to lie or not to publish, the
//! scheduler killed and restarted. After every scenario the lamports the
//! program holds or paid out are conserved.
//!
//! Scenarios share the machine's 2 cores, so they run one at a time.

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{EDGERUN, Proc, edgerun, repo, target};
use edgerun_client::{Address, job_pda, worker_stake_pda};
use edgerun_protocol::economics::{non_response_penalty, split_payout};
use edgerun_protocol::hash::parse_hex;
use edgerun_protocol::state::{GlobalConfig, Job, job_status, submission_flags};
use edgerun_runtime::hex;
use serde_json::Value;
use solana_rpc_client::rpc_client::RpcClient;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Every wait in these tests ends within this.
const LIMIT: Duration = Duration::from_secs(90);

struct Stack {
    home: PathBuf,
    rpc: String,
    relay: String,
    chain: RpcClient,
    treasury: Address,
    /// The demo customer `edgerun post` pays from.
    customer: Address,
    config: GlobalConfig,
    workers: Vec<Address>,
    /// Dropped last: the agents first, then the chain and relay.
    agents: BTreeMap<String, Proc>,
    _up: Proc,
}

impl Drop for Stack {
    fn drop(&mut self) {
        // Agents stop before the chain they talk to.
        self.agents.clear();
    }
}

impl Stack {
    /// `edgerun up` with `worker_keys` funded worker keys and short windows
    /// (100 ms slots).
    fn up(name: &str, worker_keys: usize, submit_window: u64, da_window: u64) -> Stack {
        let up = common::up(
            name,
            &[
                "--slot-ms",
                "100",
                "--worker-keys",
                &worker_keys.to_string(),
                "--submit-window-slots",
                &submit_window.to_string(),
                "--da-window-slots",
                &da_window.to_string(),
            ],
        );
        let (home, rpc, relay) = (up.home.clone(), up.rpc.clone(), up.relay.clone());
        let chain = RpcClient::new_with_commitment(
            rpc.clone(),
            solana_commitment_config::CommitmentConfig::confirmed(),
        );
        let program = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);
        let config: GlobalConfig = edgerun_client::decode_account(
            &chain
                .get_account(&edgerun_client::config_pda(&program).0)
                .unwrap()
                .data,
        )
        .unwrap();
        let workers = (0..worker_keys)
            .map(|i| {
                let key =
                    edgerun_localnet::read_keypair(&home.join(format!("keys/worker-{i}.json")))
                        .unwrap();
                solana_signer::Signer::pubkey(&key)
            })
            .collect();
        let customer = solana_signer::Signer::pubkey(
            &edgerun_localnet::read_keypair(&home.join("keys/customer.json")).unwrap(),
        );
        Stack {
            relay,
            rpc,
            chain,
            treasury: Address::new_from_array(config.params.treasury.0),
            customer,
            config,
            workers,
            home,
            agents: BTreeMap::new(),
            _up: up.proc,
        }
    }

    fn spawn(&mut self, name: &str, args: &[&str]) {
        let log = |ext: &str| File::create(self.home.join(format!("logs/{name}.{ext}"))).unwrap();
        let child = Command::new(EDGERUN)
            .args(["--home", self.home.to_str().unwrap()])
            .args(["--rpc", &self.rpc, "--relay", &self.relay])
            .args(args)
            .stdout(log("out"))
            .stderr(log("err"))
            .spawn()
            .unwrap();
        self.agents.insert(name.to_owned(), Proc(child));
    }

    fn scheduler(&mut self) {
        self.spawn("scheduler", &["scheduler"]);
    }

    /// Starts worker `i` with extra flags; waits until it is registered.
    fn worker(&mut self, i: usize, flags: &[&str]) {
        let key = self.home.join(format!("keys/worker-{i}.json"));
        let mut args = vec![
            "worker",
            "--keypair",
            key.to_str().unwrap(),
            "--poll-ms",
            "100",
        ];
        args.extend_from_slice(flags);
        self.spawn(&format!("worker-{i}"), &args);
        let program = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);
        let stake = worker_stake_pda(&program, &self.workers[i]).0;
        self.wait(&format!("worker-{i} registered"), || {
            self.chain.get_account(&stake).ok().map(|_| ())
        });
    }

    fn kill(&mut self, name: &str) {
        self.agents.remove(name).expect(name).kill();
    }

    fn wait<T>(&self, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let until = Instant::now() + LIMIT;
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(
                Instant::now() < until,
                "{what}: not within {LIMIT:?}; logs in {}",
                self.home.join("logs").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Posts `wasm` with `input` through `edgerun post`; returns the job id.
    fn post(&self, wasm: &Path, input: &Path, extra: &[&str]) -> [u8; 32] {
        let mut args = vec![
            "post",
            "--wasm",
            wasm.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--json",
        ];
        args.extend_from_slice(extra);
        let (ok, out, err) = edgerun(&self.home, &self.rpc, &self.relay, &args);
        assert!(ok, "post failed: {err}");
        let posted: Value = serde_json::from_str(out.trim()).unwrap();
        parse_hex(posted["job_id"].as_str().unwrap()).unwrap()
    }

    fn job(&self, id: &[u8; 32]) -> Job {
        let program = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);
        let account = self.chain.get_account(&job_pda(&program, id).0).unwrap();
        edgerun_client::decode_account(&account.data).unwrap()
    }

    fn wait_status(&self, id: &[u8; 32], status: u8) -> Job {
        self.wait(
            &format!("job {} {}", hex(id), job_status::name(status)),
            || {
                let job = self.job(id);
                assert!(
                    job.status != job_status::CANCELLED,
                    "job {} was cancelled; logs in {}",
                    hex(id),
                    self.home.join("logs").display()
                );
                (job.status == status).then_some(job)
            },
        )
    }

    /// Lamports of the treasury, every worker stake, the job, its records
    /// (each worker's JobResult, the OutputAvailability) and the customer's
    /// wallet: what the program holds or has paid out, and where the unused
    /// records deposit goes back. Fees come from wallets the customer does
    /// not sign for after posting, and a seat's record rent comes back to
    /// its wallet in the same transaction, so this sum must not move
    /// between two points of a job's life after it was posted.
    fn held(&self, id: &[u8; 32]) -> u64 {
        let program = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);
        let mut accounts = vec![
            self.treasury,
            self.customer,
            job_pda(&program, id).0,
            edgerun_client::output_pda(&program, id).0,
        ];
        accounts.extend(self.workers.iter().map(|w| worker_stake_pda(&program, w).0));
        accounts.extend(
            self.workers
                .iter()
                .map(|w| edgerun_client::job_result_pda(&program, id, w).0),
        );
        // One getMultipleAccounts: every balance as of one slot, so a
        // transaction landing mid-read cannot count twice or not at all.
        accounts
            .chunks(100)
            .flat_map(|chunk| self.chain.get_multiple_accounts(chunk).unwrap())
            .map(|a| a.map_or(0, |a| a.lamports))
            .sum()
    }

    /// `edgerun get` the job's output; returns its bytes.
    fn get(&self, id: &[u8; 32]) -> Vec<u8> {
        let out = self.home.join(format!("{}.out", hex(id)));
        let (ok, _, err) = edgerun(
            &self.home,
            &self.rpc,
            &self.relay,
            &["get", &hex(id), "-o", out.to_str().unwrap()],
        );
        assert!(ok, "get failed: {err}");
        std::fs::read(out).unwrap()
    }

    /// `edgerun status --json`'s settlement of a finalized job.
    fn settlement(&self, id: &[u8; 32]) -> Value {
        let (ok, out, err) = edgerun(
            &self.home,
            &self.rpc,
            &self.relay,
            &["status", &hex(id), "--json"],
        );
        assert!(ok, "status failed: {err}");
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        v["settlement"].clone()
    }

    fn stake_of(&self, worker: &Address) -> edgerun_protocol::state::WorkerStake {
        let program = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);
        let account = self
            .chain
            .get_account(&worker_stake_pda(&program, worker).0)
            .unwrap();
        edgerun_client::decode_account(&account.data).unwrap()
    }
}

fn demo() -> (PathBuf, PathBuf) {
    let wasm = target().join("jobs/json-redact.wasm");
    assert!(wasm.exists(), "run `cargo xtask build-jobs` first");
    (
        wasm,
        repo().join("tests/vectors/src/inputs/redact-profile.json"),
    )
}

/// The output a native run gives for the bundle the job names.
fn expected_output(stack: &Stack, job: &Job) -> Vec<u8> {
    let url = format!("{}/v1/bundles/{}", stack.relay, hex(&job.bundle_hash));
    let bundle = reqwest::blocking::get(url).unwrap().bytes().unwrap();
    edgerun_runtime::run_bundle(&bundle).unwrap().output
}

fn assigned(job: &Job) -> Vec<Address> {
    edgerun_client::assigned_workers(job)
}

/// Runs a happy job with `workers` workers; asserts it finalizes with every
/// seat paid and the output right.
fn happy(name: &str, workers: usize, escrow: Option<u64>, size: u8, quorum: u8) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut stack = Stack::up(name, workers, 100, 100);
    for i in 0..workers {
        stack.worker(i, &[]);
    }
    stack.scheduler();
    let (wasm, input) = demo();
    let escrow_arg = escrow.map(|e| e.to_string());
    let mut extra = vec!["--fuel", "500000000"];
    if let Some(e) = &escrow_arg {
        extra.extend(["--escrow", e.as_str()]);
    }
    let id = stack.post(&wasm, &input, &extra);
    let before = stack.held(&id);
    let job = stack.wait_status(&id, job_status::FINALIZED);
    assert_eq!((job.committee_size, job.quorum), (size, quorum));
    assert_eq!(job.assigned().len(), size as usize);
    let n = job.assigned().len();
    assert_eq!(n, size as usize);
    assert!(job.winners().count() >= quorum as usize);
    assert_eq!(
        job.matches(&job.winning_output_hash),
        job.winners().count(),
        "the winners are exactly the seats whose seals match the revealed hash"
    );
    let output = stack.get(&id);
    assert_eq!(output, expected_output(&stack, &job));
    assert_eq!(
        hex(&job.winning_output_hash),
        hex(blake3::hash(&output).as_bytes())
    );
    let settled = stack.settlement(&id);
    let paid = settled["paid"].as_array().unwrap();
    assert!(paid.len() >= quorum as usize, "{settled}");
    assert!(
        paid.iter().all(|p| p["lamports"].as_u64().unwrap() > 0),
        "{settled}"
    );
    assert!(
        settled["treasury_lamports"].as_u64().unwrap() > 0,
        "{settled}"
    );
    // Every committee member's lock is released.
    for w in assigned(&job) {
        assert_eq!(stack.stake_of(&w).locked_stake.get(), 0, "{w} still locked");
    }
    assert_eq!(stack.held(&id), before, "lamports not conserved");
}

#[test]
fn a_bronze_job_finalizes_at_3_of_2() {
    happy("happy-3", 3, None, 3, 2);
}

#[test]
fn a_gold_plus_job_finalizes_at_9_of_6() {
    happy("happy-9", 9, Some(10_000_000_000), 9, 6);
}

impl Stack {
    /// The name `worker` was started under.
    fn name_of(&self, worker: &Address) -> String {
        let i = self.workers.iter().position(|w| w == worker).unwrap();
        format!("worker-{i}")
    }

    /// Every worker's total stake (0 before it registers).
    fn totals(&self) -> Vec<u64> {
        let program = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);
        self.workers
            .iter()
            .map(
                |w| match self.chain.get_account(&worker_stake_pda(&program, w).0) {
                    Ok(a) => {
                        edgerun_client::decode_account::<edgerun_protocol::state::WorkerStake>(
                            &a.data,
                        )
                        .unwrap()
                        .total_stake
                        .get()
                    }
                    Err(_) => 0,
                },
            )
            .collect()
    }

    fn slot(&self) -> u64 {
        self.chain.get_slot().unwrap()
    }

    /// Each of `workers` lost exactly one non-response penalty since
    /// `before_totals` were read, holds no lock, and is not seated in `job`.
    fn assert_penalized_once(&self, workers: &[Address], before_totals: &[u64], job: &Job) {
        let seated = assigned(job);
        for w in workers {
            assert!(!seated.contains(w), "{w} still seated");
            let i = self.workers.iter().position(|x| x == w).unwrap();
            let stake = self.stake_of(w);
            assert_eq!(stake.locked_stake.get(), 0, "{w} still locked");
            assert_eq!(
                stake.total_stake.get(),
                before_totals[i] - self.penalty(),
                "{w} penalized once"
            );
        }
    }

    fn penalty(&self) -> u64 {
        non_response_penalty(
            self.config.params.non_response_slash_lamports.get(),
            u64::MAX,
        )
    }
}

#[test]
fn a_wrong_minority_is_slashed_exactly_once_and_the_majority_paid() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut stack = Stack::up("wrong", 3, 100, 100);
    // The liar answers at once; the honest two 1.5 s later, so the lie is
    // on chain before the quorum.
    stack.worker(0, &["--corrupt-output"]);
    stack.worker(1, &["--submit-after-slots", "15"]);
    stack.worker(2, &["--submit-after-slots", "15"]);
    let before_totals = stack.totals();
    stack.scheduler();
    let (wasm, input) = demo();
    let id = stack.post(&wasm, &input, &["--fuel", "500000000"]);
    let before = stack.held(&id);
    let escrow = stack.job(&id).escrow_lamports.get();
    let job = stack.wait_status(&id, job_status::FINALIZED);
    let liar = stack.workers[0];
    let seat = job
        .slot_of(&edgerun_protocol::layout::Pubkey(liar.to_bytes()))
        .unwrap();
    assert!(job.submissions[seat].has(submission_flags::SUBMITTED));
    assert!(!job.submissions[seat].has(submission_flags::WINNER));
    assert_ne!(
        job.submissions[seat].seal,
        edgerun_protocol::hash::seal(&job.winning_output_hash, &liar.to_bytes())
    );
    let lock = job.required_lock_lamports.get();
    let pay = split_payout(escrow, stack.config.params.protocol_fee_bps.get(), 2).unwrap();
    let after = stack.totals();
    assert_eq!(
        after[0],
        before_totals[0] - lock,
        "the liar loses its lock once"
    );
    for i in [1, 2] {
        assert_eq!(
            after[i],
            before_totals[i] + pay.per_winner,
            "winner {i} paid"
        );
    }
    assert_eq!(stack.get(&id), expected_output(&stack, &job));
    assert_eq!(stack.held(&id), before, "lamports not conserved");
}

#[test]
fn a_killed_worker_is_penalized_and_replaced_and_the_job_finalizes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // Rounds of 30 slots (3 s); everyone answers 1 s after assignment.
    let mut stack = Stack::up("killed", 5, 30, 100);
    for i in 0..5 {
        stack.worker(i, &["--submit-after-slots", "10"]);
    }
    let before_totals = stack.totals();
    stack.scheduler();
    let (wasm, input) = demo();
    let id = stack.post(&wasm, &input, &["--fuel", "500000000"]);
    let before = stack.held(&id);
    let first = stack.wait_status(&id, job_status::ASSIGNED);
    // Two of the three die before answering: no quorum without replacements.
    let victims: Vec<Address> = assigned(&first)[..2].to_vec();
    for v in &victims {
        stack.kill(&stack.name_of(v));
    }
    let job = stack.wait_status(&id, job_status::FINALIZED);
    stack.assert_penalized_once(&victims, &before_totals, &job);
    assert_eq!(job.draws, 5, "three drawn, two replacements");
    assert_eq!(stack.get(&id), expected_output(&stack, &job));
    assert_eq!(stack.held(&id), before, "lamports not conserved");
}

#[test]
fn winners_that_never_publish_lose_their_seats_and_replacements_finish() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut stack = Stack::up("no-da", 6, 30, 30);
    for i in 0..3 {
        stack.worker(i, &["--never-publish"]);
    }
    let before_totals = stack.totals();
    stack.scheduler();
    let (wasm, input) = demo();
    let id = stack.post(&wasm, &input, &["--fuel", "500000000"]);
    stack.wait_status(&id, job_status::ASSIGNED);
    // Honest workers come online only now: the replacements. Their stakes
    // join what the program holds, so the count starts after them.
    for i in 3..6 {
        stack.worker(i, &[]);
    }
    let before = stack.held(&id);
    let job = stack.wait_status(&id, job_status::FINALIZED);
    // Each withholder paid the penalty and repaid its JobResult's rent to
    // the job's records deposit, for its replacement.
    let rent = stack
        .chain
        .get_minimum_balance_for_rent_exemption(
            <edgerun_protocol::state::JobResult as edgerun_protocol::layout::Account>::SPACE,
        )
        .unwrap();
    let seated = assigned(&job);
    for (i, w) in stack.workers[..3].iter().enumerate() {
        assert!(!seated.contains(w), "{w} still seated");
        let stake = stack.stake_of(w);
        assert_eq!(stake.locked_stake.get(), 0);
        assert_eq!(
            stake.total_stake.get(),
            before_totals[i] - stack.penalty() - rent,
            "{w} penalized once and repaid its record's rent"
        );
    }
    assert_eq!(stack.get(&id), expected_output(&stack, &job));
    assert_eq!(stack.held(&id), before, "lamports not conserved");
}

/// The copy drill: a worker that never runs a job and submits another
/// seat's seal (all it can read on chain; the relay shows no output before
/// the declaration) is never paid, and is slashed as a wrong submitter.
#[test]
fn a_copier_is_never_paid_and_is_slashed() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut stack = Stack::up("copy", 3, 100, 100);
    // The honest seats answer one after the other, 1 s apart, so the
    // copier has a seal to copy before the quorum closes the round.
    stack.worker(0, &["--copy"]);
    stack.worker(1, &["--submit-after-slots", "5"]);
    stack.worker(2, &["--submit-after-slots", "15"]);
    let before_totals = stack.totals();
    stack.scheduler();
    let (wasm, input) = demo();
    let id = stack.post(&wasm, &input, &["--fuel", "500000000"]);
    let before = stack.held(&id);
    let escrow = stack.job(&id).escrow_lamports.get();
    let job = stack.wait_status(&id, job_status::FINALIZED);
    let copier = stack.workers[0];
    let seat = job
        .slot_of(&edgerun_protocol::layout::Pubkey(copier.to_bytes()))
        .unwrap();
    assert!(
        job.submissions[seat].has(submission_flags::SUBMITTED),
        "the copier submitted a copied seal"
    );
    assert!(!job.submissions[seat].has(submission_flags::WINNER));
    let after = stack.totals();
    let lock = job.required_lock_lamports.get();
    assert_eq!(
        after[0],
        before_totals[0] - lock,
        "the copier is slashed its lock, never paid"
    );
    let pay = split_payout(escrow, job.protocol_fee_bps.get(), 2).unwrap();
    for i in [1, 2] {
        assert_eq!(
            after[i],
            before_totals[i] + pay.per_winner,
            "winner {i} paid"
        );
    }
    let settlement = stack.settlement(&id);
    assert_eq!(
        settlement["slashed"][0]["worker"].as_str(),
        Some(copier.to_string().as_str())
    );
    assert_eq!(stack.get(&id), expected_output(&stack, &job));
    assert_eq!(stack.held(&id), before, "lamports not conserved");
}

#[test]
fn the_scheduler_killed_mid_job_and_restarted_finishes_it_once() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut stack = Stack::up("restart", 5, 30, 100);
    for i in 0..5 {
        stack.worker(i, &["--submit-after-slots", "10"]);
    }
    let before_totals = stack.totals();
    stack.scheduler();
    let (wasm, input) = demo();
    let id = stack.post(&wasm, &input, &["--fuel", "500000000"]);
    let before = stack.held(&id);
    let first = stack.wait_status(&id, job_status::ASSIGNED);
    stack.kill("scheduler");
    let victims: Vec<Address> = assigned(&first)[..2].to_vec();
    for v in &victims {
        stack.kill(&stack.name_of(v));
    }
    // With no scheduler, the round's deadline passes and nothing happens.
    let deadline = first.deadline_slot.get();
    stack.wait("the round deadline", || {
        (stack.slot() > deadline + 5).then_some(())
    });
    let stalled = stack.job(&id);
    assert_eq!(stalled.status, job_status::ASSIGNED);
    assert_eq!(assigned(&stalled), assigned(&first));
    stack.scheduler();
    let job = stack.wait_status(&id, job_status::FINALIZED);
    assert_eq!(job.seed, first.seed, "the seed was set once");
    assert_eq!(job.draws, 5, "two replacements, drawn once");
    stack.assert_penalized_once(&victims, &before_totals, &job);
    assert_eq!(stack.get(&id), expected_output(&stack, &job));
    assert_eq!(stack.held(&id), before, "lamports not conserved");
}

#[test]
fn an_infinite_loop_finalizes_as_out_of_fuel_agreed_and_paid() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut stack = Stack::up("hostile", 3, 100, 100);
    for i in 0..3 {
        stack.worker(i, &[]);
    }
    let before_totals = stack.totals();
    stack.scheduler();
    let wasm = stack.home.join("infinite-loop.wasm");
    std::fs::write(
        &wasm,
        wat::parse_file(repo().join("tests/vectors/src/wat/infinite-loop.wat")).unwrap(),
    )
    .unwrap();
    let input = stack.home.join("empty.in");
    std::fs::write(&input, b"").unwrap();
    let id = stack.post(&wasm, &input, &["--fuel", "5000000"]);
    let before = stack.held(&id);
    let job = stack.wait_status(&id, job_status::FINALIZED);
    assert_eq!(stack.get(&id), b"edgerun:fail:out-of-fuel");
    let winners = job.winners().count();
    assert!(winners >= 2);
    let after = stack.totals();
    assert!(
        (0..3).filter(|&i| after[i] > before_totals[i]).count() >= 2,
        "the agreeing workers were paid"
    );
    assert_eq!(stack.held(&id), before, "lamports not conserved");
}

#[test]
fn up_with_workers_runs_the_lifecycle_and_stops_its_processes_on_sigterm() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let common::Up {
        proc: up,
        home,
        stack,
        ..
    } = common::up("up-workers", &["--slot-ms", "100", "--workers", "3"]);
    let pids: Vec<u32> = stack["pids"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(pids.len(), 4, "a scheduler and 3 workers: {stack}");
    let (rpc, relay) = (
        stack["rpc"].as_str().unwrap().to_owned(),
        stack["relay"].as_str().unwrap().to_owned(),
    );
    let (wasm, input) = demo();
    let (ok, out, err) = edgerun(
        &home,
        &rpc,
        &relay,
        &[
            "post",
            "--wasm",
            wasm.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let id = serde_json::from_str::<Value>(out.trim()).unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let until = Instant::now() + LIMIT;
    loop {
        let (ok, out, err) = edgerun(&home, &rpc, &relay, &["status", &id, "--json"]);
        assert!(ok, "{err}");
        if serde_json::from_str::<Value>(out.trim()).unwrap()["status"] == "Finalized" {
            break;
        }
        assert!(Instant::now() < until, "job {id} not finalized");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(up); // SIGTERM
    let alive = |pid: u32| Path::new(&format!("/proc/{pid}")).exists();
    let until = Instant::now() + Duration::from_secs(20);
    while pids.iter().any(|&p| alive(p)) {
        assert!(
            Instant::now() < until,
            "agents outlived edgerun up: {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Only a job a worker can run may cost a worker anything: a job whose
/// bundle was never uploaded, and one whose uploaded bundle names other
/// limits than the job, are never seated, so no worker is drawn, locked or
/// fined for refusing them; the customer gets everything back at expiry.
#[test]
fn a_job_whose_bundle_is_missing_or_not_its_own_is_never_seated() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut stack = Stack::up("unrunnable", 3, 30, 30);
    for i in 0..3 {
        stack.worker(i, &[]);
    }
    stack.scheduler();
    let before_totals = stack.totals();
    let program = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);
    let customer = edgerun_localnet::read_keypair(&stack.home.join("keys/customer.json")).unwrap();
    let (wasm, input) = demo();
    let bundle = edgerun_runtime::build_bundle(
        &std::fs::read(&wasm).unwrap(),
        &std::fs::read(&input).unwrap(),
        &edgerun_protocol::limits::Limits::new(16 << 20, 500_000_000, 65_536),
    )
    .unwrap();
    // The real bundle at the relay, under its own hash.
    let hash = edgerun_protocol::hash::bundle_hash(&bundle);
    let url = format!("{}/v1/bundles/{}", stack.relay, hex(&hash));
    std::fs::write(stack.home.join("b.bin"), &bundle).unwrap();
    let put = Command::new("curl")
        .args(["-sf", "-X", "PUT", "--data-binary"])
        .arg(format!("@{}", stack.home.join("b.bin").display()))
        .arg(&url)
        .status()
        .unwrap();
    assert!(put.success(), "uploading the bundle");
    let ttl = stack.config.params.min_ttl_slots();
    let post = |nonce: u64, mutate: &dyn Fn(&mut edgerun_client::JobSpec)| {
        let mut spec = edgerun_client::JobSpec::for_bundle(
            &solana_signer::Signer::pubkey(&customer),
            nonce,
            &bundle,
            1_000_000_000 / 100,
            ttl,
        )
        .unwrap();
        mutate(&mut spec);
        spec.job_id = edgerun_protocol::hash::job_id(
            &solana_signer::Signer::pubkey(&customer).to_bytes(),
            nonce,
            &spec.bundle_hash,
        );
        let ix =
            edgerun_client::post_job(&program, &solana_signer::Signer::pubkey(&customer), &spec);
        let tx = solana_transaction::Transaction::new_signed_with_payer(
            &[ix],
            Some(&solana_signer::Signer::pubkey(&customer)),
            &[&customer],
            stack.chain.get_latest_blockhash().unwrap(),
        );
        stack.chain.send_and_confirm_transaction(&tx).unwrap();
        spec.job_id
    };
    // A bundle nobody uploaded.
    let missing = post(1, &|s| s.bundle_hash = [7; 32]);
    // The uploaded bundle, posted with limits it does not carry.
    let mismatched = post(2, &|s| {
        s.limits = edgerun_protocol::limits::Limits::new(8 << 20, 400_000_000, 65_536)
    });
    let refunds_before = stack
        .chain
        .get_balance(&solana_signer::Signer::pubkey(&customer))
        .unwrap();
    let expiry = stack
        .job(&missing)
        .expiry_slot
        .get()
        .max(stack.job(&mismatched).expiry_slot.get());
    stack.wait("both jobs expired", || {
        (stack.slot() > expiry + 5).then_some(())
    });
    for id in [missing, mismatched] {
        let job = stack.wait("refunded at expiry", || {
            let job = stack.job(&id);
            (job.status == job_status::CANCELLED).then_some(job)
        });
        assert_eq!(job.assigned_count, 0, "never seated");
    }
    assert_eq!(
        stack.totals(),
        before_totals,
        "no worker was locked or fined"
    );
    assert!(
        stack
            .chain
            .get_balance(&solana_signer::Signer::pubkey(&customer))
            .unwrap()
            > refunds_before,
        "the customer got its escrow back"
    );
}

/// `edgerun stake`: anyone deposits; only the authority withdraws (to
/// itself) or hands the stake over, after which the old one is refused.
#[test]
fn stake_commands_follow_the_authority() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut stack = Stack::up("stake", 1, 100, 100);
    stack.worker(0, &[]);
    let worker = stack.workers[0].to_string();
    let worker_key = stack.home.join("keys/worker-0.json");
    let customer_key = stack.home.join("keys/customer.json");
    let run = |args: &[&str]| edgerun(&stack.home, &stack.rpc, &stack.relay, args);
    let show = |out: &str| -> Value { serde_json::from_str(out.trim()).unwrap() };

    let (ok, out, err) = run(&["stake", "show", &worker]);
    assert!(ok, "{err}");
    let before = show(&out);
    assert_eq!(
        before["authority"], worker,
        "a native worker is its own authority"
    );

    // Anyone may deposit.
    let (ok, out, err) = run(&[
        "stake",
        "deposit",
        &worker,
        "1000",
        "--keypair",
        customer_key.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        show(&out)["total_lamports"],
        before["total_lamports"].as_u64().unwrap() + 1000
    );

    // The customer is not the authority: refused, naming the rule.
    let (ok, _, err) = run(&[
        "stake",
        "withdraw",
        &worker,
        "500",
        "--keypair",
        customer_key.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("NotStakeOwner"), "{err}");

    // The authority withdraws, then hands the stake to the customer.
    let (ok, _, err) = run(&[
        "stake",
        "withdraw",
        &worker,
        "500",
        "--keypair",
        worker_key.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let customer =
        solana_signer::Signer::pubkey(&edgerun_localnet::read_keypair(&customer_key).unwrap())
            .to_string();
    let (ok, out, err) = run(&[
        "stake",
        "authority",
        &worker,
        &customer,
        "--keypair",
        worker_key.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert_eq!(show(&out)["authority"], customer);
    // The old authority is stale.
    let (ok, _, err) = run(&[
        "stake",
        "withdraw",
        &worker,
        "1",
        "--keypair",
        worker_key.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("NotStakeOwner"), "{err}");
    let (ok, _, err) = run(&[
        "stake",
        "withdraw",
        &worker,
        "1",
        "--keypair",
        customer_key.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
}
