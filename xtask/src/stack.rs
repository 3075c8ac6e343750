//! `cargo xtask bench stack [--jobs N] [--workers M]`: the whole local
//! stack under load, with real processes.
//!
//! Builds `edgerun` (release), and the program and jobs if they are missing;
//! starts `edgerun up --workers M --worker-keys M --slot-ms 100` on free
//! ports with a fresh home (`<target>/bench/stack-home`), waits until the M
//! workers are registered, then posts N Bronze (3/2) cpu-loop jobs at once,
//! each with its own input (so its own bundle), through `edgerun post`;
//! every other job (the odd ones) carries a priority fee
//! (`--priority-fee`, [`PRIORITY_FEE`]). Each job is followed on chain (its
//! Job account, read every 100 ms) until Finalized. Measured:
//!
//! - `jobs_per_s`: N / (last Finalized seen − first post returned);
//! - `p50_ms`, `p95_ms`: post returned (the job is on chain) → Finalized seen;
//! - `sequential_confirmations`: per job, the dependent confirmations from
//!   post to Finalized, from the job account's transactions and their
//!   events: post (1), seed + assign (1 when one transaction, else 2), the
//!   submissions (1: they run in parallel), then 1 for each other
//!   transaction carrying JobQuorumReached, OutputDeclared or JobFinalized.
//!   A submission carrying them is covered by the submit stage only when
//!   it completed the quorum (fewer than `quorum` submissions landed in
//!   earlier slots); a late one that carries them after the quorum already
//!   stood counts 1 too. The max over jobs is the figure (goal ≤ 4).
//! - post → Assigned for each group, side by side in the one run:
//!   `assigned_p50_ms_priority` / `_plain` (post returned → an Assigned or
//!   later status first seen) and `assigned_p50_slots_priority` / `_plain`
//!   (the slot of the WorkersAssigned transaction − the slot of the
//!   JobPosted one), and their ratios plain ÷ priority. Priority only
//!   reorders jobs that wait together, so the figures say how many Bronze
//!   committees the workers' stake can seat at once
//!   (`committees_at_once`): with fewer jobs than that, nobody waits and
//!   the ratio is about 1. No timing is a pass or a fail.
//!
//! Prints a table, writes `<target>/bench/stack.json` (figures and per-job
//! details, including which jobs needed the scheduler's reach_quorum
//! fallback). The chain is read over JSON-RPC with a small HTTP/1.0 client
//! on std (xtask stays free of the Solana client crates). Every process is
//! stopped by PID however the run ends.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use base64::Engine;
use edgerun_client::Address;
use edgerun_protocol::event::AnyEvent;
use edgerun_protocol::hash::{Hash, hex, parse_hex};
use edgerun_protocol::state::{Job, job_status};
use serde_json::{Value, json};

use crate::up::{Options, SIGKILL, Up, is_edgerun, signal};
use crate::{jobs, paths, program};

/// The whole run (posting to the last Finalized) ends within this.
const RUN_LIMIT: Duration = Duration::from_secs(300);
/// The workers are registered within this.
const REGISTER_LIMIT: Duration = Duration::from_secs(120);
/// How often the jobs' accounts are read.
const POLL: Duration = Duration::from_millis(100);
/// The goal for the max of `sequential_confirmations`.
const GOAL: u64 = 4;
/// Fuel cap of every job (cpu-loop at ~10^4 iterations needs far less).
const FUEL: &str = "50000000";
/// The priority fee of the odd jobs, in lamports (0.001 SOL).
const PRIORITY_FEE: u64 = 1_000_000;

/// Runs the stack bench; true when it ran to the end.
pub fn bench(n: usize, m: usize) -> Result<bool> {
    ensure!(n >= 1, "--jobs must be at least 1");
    ensure!(m >= 3, "--workers must be at least 3 (a Bronze committee)");
    ensure!(
        program::cargo_in_repo(&["build", "--release", "-p", "edgerun-cli"], &[])?,
        "building edgerun (release) failed (see above)"
    );
    let so = program::deployed_so();
    if !so.exists() {
        program::build()?;
    }
    let wasm = jobs::job_wasm("cpu-loop");
    if !wasm.exists() {
        jobs::build()?;
    }
    let target = paths::target_dir();
    let exe = target.join("release/edgerun");
    let out_dir = target.join("bench");
    let home = out_dir.join("stack-home");
    if home.exists() {
        std::fs::remove_dir_all(&home)
            .with_context(|| format!("removing the old {}", home.display()))?;
    }
    std::fs::create_dir_all(home.join("logs"))?;

    let up = Up::start(
        &exe,
        &home,
        &so,
        &Options {
            workers: m,
            worker_keys: m,
            slot_ms: 100,
            ports: None,
        },
    )?;
    println!(
        "bench stack: chain {}, relay {}, scheduler + {m} workers",
        up.rpc_url(),
        up.relay_url()
    );
    let result = measure(&up, &exe, &home, &wasm, n, m);
    let stopped = up.stop();
    let summary = result?;
    if let Err(e) = stopped {
        eprintln!("bench stack: {e:#}");
    }
    let path = out_dir.join("stack.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)? + "\n")?;
    println!("wrote {}", path.display());
    Ok(true)
}

/// What one job went through.
struct Followed {
    index: usize,
    id: Hash,
    posted: Instant,
    /// When an Assigned (or later) status was first seen.
    assigned: Option<Instant>,
    finalized: Option<Instant>,
    /// The job's quorum (read with its Finalized status).
    quorum: usize,
}

fn measure(up: &Up, exe: &Path, home: &Path, wasm: &Path, n: usize, m: usize) -> Result<Value> {
    let rpc = Rpc::local(up.rpc_url())?;
    let program = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);

    // The workers register themselves once they are up.
    let workers: Vec<Address> = (0..m)
        .map(|i| key_address(&home.join(format!("keys/worker-{i}.json"))))
        .collect::<Result<_>>()?;
    let stakes: Vec<Address> = workers
        .iter()
        .map(|w| edgerun_client::worker_stake_pda(&program, w).0)
        .collect();
    let started = Instant::now();
    loop {
        let present = rpc
            .accounts(&stakes)?
            .iter()
            .filter(|a| a.is_some())
            .count();
        if present == m {
            break;
        }
        if started.elapsed() > REGISTER_LIMIT {
            bail!(
                "only {present} of {m} workers registered within {REGISTER_LIMIT:?}; logs in {}",
                home.join("logs").display()
            );
        }
        std::thread::sleep(POLL);
    }
    println!(
        "bench stack: {m} workers registered in {:.1?}; posting {n} Bronze jobs, every other with a priority fee of {PRIORITY_FEE} lamports",
        started.elapsed()
    );
    let capacity = committees_at_once(&rpc, &program, &stakes)?;
    println!(
        "bench stack: the workers' stake seats {capacity} Bronze committees at once{}",
        if n > capacity {
            ""
        } else {
            " (no job waits for stake: priority can only reorder within a scheduler step)"
        }
    );

    // One input per job: its own iteration count, so its own bundle.
    let inputs = home.join("inputs");
    std::fs::create_dir_all(&inputs)?;
    let (tx, rx) = mpsc::channel::<(usize, Result<Hash>, Instant)>();
    // Posts still running when this returns early are killed.
    let mut posters = Posters(Vec::new());
    let t0 = Instant::now();
    for i in 0..n {
        let input = inputs.join(format!("job-{i}.txt"));
        std::fs::write(&input, format!("{}\n", 10_000 + i))?;
        let mut cmd = Command::new(exe);
        cmd.arg("--home")
            .arg(home)
            .args(["--rpc", up.rpc_url(), "--relay", up.relay_url(), "post"])
            .arg("--wasm")
            .arg(wasm)
            .arg("--input")
            .arg(&input)
            .args(["--tier", "bronze", "--fuel", FUEL, "--json"])
            .args(if is_priority(i) {
                vec!["--priority-fee".to_owned(), PRIORITY_FEE.to_string()]
            } else {
                vec![]
            })
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().context("starting edgerun post")?;
        posters.0.push(child.id());
        let tx = tx.clone();
        std::thread::spawn(move || {
            let posted = post(child);
            let _ = tx.send((i, posted, Instant::now()));
        });
    }
    drop(tx);

    let mut followed: Vec<Followed> = Vec::new();
    let mut posts_open = n;
    let deadline = t0 + RUN_LIMIT;
    loop {
        // Collect what the posters have returned.
        loop {
            match rx.try_recv() {
                Ok((index, Ok(id), posted)) => {
                    posts_open -= 1;
                    followed.push(Followed {
                        index,
                        id,
                        posted,
                        assigned: None,
                        finalized: None,
                        quorum: 0,
                    });
                }
                Ok((index, Err(e), _)) => bail!("posting job {index}: {e:#}"),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    ensure!(posts_open == 0, "{posts_open} posts never returned");
                    break;
                }
            }
        }
        let open: Vec<usize> = (0..followed.len())
            .filter(|&k| followed[k].finalized.is_none())
            .collect();
        if posts_open == 0 {
            // All reaped: their PIDs are no longer ours to signal.
            posters.0.clear();
        }
        if posts_open == 0 && open.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            let unfinished: Vec<String> = open
                .iter()
                .map(|&k| hex(&followed[k].id))
                .chain((posts_open > 0).then(|| format!("{posts_open} not yet posted")))
                .collect();
            bail!(
                "{} of {n} jobs not Finalized within {RUN_LIMIT:?}: {}; logs in {}",
                unfinished.len(),
                unfinished.join(", "),
                home.join("logs").display()
            );
        }
        if !open.is_empty() {
            let pdas: Vec<Address> = open
                .iter()
                .map(|&k| edgerun_client::job_pda(&program, &followed[k].id).0)
                .collect();
            let accounts = rpc.accounts(&pdas)?;
            let seen = Instant::now();
            for (&k, data) in open.iter().zip(accounts) {
                let Some(data) = data else { continue };
                let job: Job = edgerun_client::decode_account(&data)
                    .map_err(|e| anyhow::anyhow!("job {}: {e}", hex(&followed[k].id)))?;
                if followed[k].assigned.is_none()
                    && (job_status::ASSIGNED..=job_status::FINALIZED).contains(&job.status)
                {
                    followed[k].assigned = Some(seen);
                }
                match job.status {
                    job_status::FINALIZED => {
                        followed[k].finalized = Some(seen);
                        followed[k].quorum = job.quorum as usize;
                    }
                    job_status::CANCELLED => bail!(
                        "job {} was cancelled; logs in {}",
                        hex(&followed[k].id),
                        home.join("logs").display()
                    ),
                    _ => {}
                }
            }
        }
        std::thread::sleep(POLL);
    }
    followed.sort_by_key(|f| f.index);

    // The chain's side: each job's transactions and their events.
    let scheduler = key_address(&home.join("keys/scheduler.json"))?;
    let mut details = Vec::new();
    let mut latencies = Vec::new();
    let mut confirmations = Vec::new();
    let mut fallbacks = Vec::new();
    let mut late_batches = Vec::new();
    // Post → Assigned per group: [plain, priority].
    let mut assigned_ms: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut assigned_slots: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for f in &followed {
        let finalized = f.finalized.expect("every job finalized");
        let latency_ms = (finalized - f.posted).as_secs_f64() * 1e3;
        let pda = edgerun_client::job_pda(&program, &f.id).0;
        let txs = job_transactions(&rpc, &pda, &f.id)?;
        let path = critical_path(&txs, f.quorum);
        let quorum_by_scheduler = txs
            .iter()
            .any(|t| t.has("JobQuorumReached") && t.fee_payer == scheduler.to_string());
        if quorum_by_scheduler {
            fallbacks.push(hex(&f.id));
        }
        if path.steps.iter().any(|s| s.starts_with("late submit")) {
            late_batches.push(hex(&f.id));
        }
        let group = usize::from(is_priority(f.index));
        let to_assigned_ms = f
            .assigned
            .map(|a| a.saturating_duration_since(f.posted).as_secs_f64() * 1e3);
        if let Some(ms) = to_assigned_ms {
            assigned_ms[group].push(ms);
        }
        let to_assigned_slots = slots_to_assigned(&txs);
        if let Some(slots) = to_assigned_slots {
            assigned_slots[group].push(slots as f64);
        }
        latencies.push(latency_ms);
        confirmations.push(path.total);
        details.push(json!({
            "job_id": hex(&f.id),
            "latency_ms": latency_ms.round(),
            "priority_fee_lamports": if is_priority(f.index) { PRIORITY_FEE } else { 0 },
            "assigned_ms": to_assigned_ms.map(f64::round),
            "assigned_slots": to_assigned_slots,
            "sequential_confirmations": path.total,
            "path": path.steps,
            "reach_quorum_by_scheduler": quorum_by_scheduler,
            "transactions": txs.iter().map(|t| json!({
                "slot": t.slot,
                "signature": t.signature,
                "fee_payer": if t.fee_payer == scheduler.to_string() { "scheduler".to_owned() } else { t.fee_payer.clone() },
                "events": t.events,
            })).collect::<Vec<_>>(),
        }));
    }

    let first_post = followed.iter().map(|f| f.posted).min().expect("n >= 1");
    let last_final = followed
        .iter()
        .filter_map(|f| f.finalized)
        .max()
        .expect("n >= 1");
    let span = (last_final - first_post).as_secs_f64();
    let jobs_per_s = n as f64 / span;
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    let (p50, p95) = (percentile(&sorted, 0.50), percentile(&sorted, 0.95));
    let mut seq = confirmations.clone();
    seq.sort_unstable();
    let seq_max = *seq.last().expect("n >= 1");
    let seq_median = seq[(seq.len() - 1) / 2];
    let posting_s = (followed.iter().map(|f| f.posted).max().expect("n >= 1") - t0).as_secs_f64();

    println!();
    println!(
        "{:<40} {:>10}",
        format!("stack: {n} Bronze jobs, {m} workers"),
        ""
    );
    println!("{:<40} {:>10.2}", "jobs finalized per second", jobs_per_s);
    println!("{:<40} {:>10.0}", "post -> Finalized p50, ms", p50);
    println!("{:<40} {:>10.0}", "post -> Finalized p95, ms", p95);
    println!(
        "{:<40} {:>10}{}",
        format!("sequential confirmations, max (goal <= {GOAL})"),
        seq_max,
        if seq_max <= GOAL { "" } else { "  MISSED" }
    );
    println!(
        "{:<40} {:>10}",
        "sequential confirmations, median", seq_median
    );
    let mut histogram = BTreeMap::<u64, usize>::new();
    for c in &confirmations {
        *histogram.entry(*c).or_default() += 1;
    }
    let histogram_text: Vec<String> = histogram
        .iter()
        .map(|(c, k)| format!("{c}: {k} jobs"))
        .collect();
    println!("{:<40} {:>10}", "  by job", histogram_text.join(", "));
    println!(
        "{:<40} {:>10}",
        "reach_quorum by the scheduler",
        fallbacks.len()
    );
    println!(
        "{:<40} {:>10}",
        "quorum carried by a late submit",
        late_batches.len()
    );
    println!(
        "{:<40} {:>10.1}",
        "posting took, s (all posts returned)", posting_s
    );
    println!("{:<40} {:>10.1}", "first post -> last Finalized, s", span);
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (!v.is_empty()).then(|| percentile(v, 0.50))
    };
    let [mut plain_ms, mut priority_ms] = assigned_ms;
    let [mut plain_slots, mut priority_slots] = assigned_slots;
    let (plain_ms, priority_ms) = (median(&mut plain_ms), median(&mut priority_ms));
    let (plain_slots, priority_slots) = (median(&mut plain_slots), median(&mut priority_slots));
    let ratio = |plain: Option<f64>, priority: Option<f64>| match (plain, priority) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let ratio_ms = ratio(plain_ms, priority_ms);
    let ratio_slots = ratio(plain_slots, priority_slots);
    let show =
        |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
    println!("{:<40} {:>10}", "stake seats committees at once", capacity);
    println!(
        "{:<40} {:>10}",
        "post -> Assigned p50, ms, priority",
        show(priority_ms, 0)
    );
    println!(
        "{:<40} {:>10}",
        "post -> Assigned p50, ms, plain",
        show(plain_ms, 0)
    );
    println!(
        "{:<40} {:>10}",
        "  plain / priority (ms)",
        show(ratio_ms, 2)
    );
    println!(
        "{:<40} {:>10}",
        "post -> Assigned p50, slots, priority",
        show(priority_slots, 0)
    );
    println!(
        "{:<40} {:>10}",
        "post -> Assigned p50, slots, plain",
        show(plain_slots, 0)
    );
    println!(
        "{:<40} {:>10}",
        "  plain / priority (slots)",
        show(ratio_slots, 2)
    );

    Ok(json!({
        "jobs_per_s": jobs_per_s,
        "p50_ms": p50.round(),
        "p95_ms": p95.round(),
        "sequential_confirmations": seq_max,
        "sequential_confirmations_median": seq_median,
        "priority_fee_lamports": PRIORITY_FEE,
        "priority_jobs": followed.iter().filter(|f| is_priority(f.index)).count(),
        "committees_at_once": capacity,
        "assigned_p50_ms_priority": priority_ms.map(f64::round),
        "assigned_p50_ms_plain": plain_ms.map(f64::round),
        "assigned_ratio_ms_plain_over_priority": ratio_ms,
        "assigned_p50_slots_priority": priority_slots,
        "assigned_p50_slots_plain": plain_slots,
        "assigned_ratio_slots_plain_over_priority": ratio_slots,
        "goal": { "sequential_confirmations": GOAL },
        "n": n,
        "m": m,
        "tier": "bronze 3/2",
        "slot_ms": 100,
        "job": "cpu-loop, input 10000 + i iterations",
        "fuel": FUEL.parse::<u64>().expect("a number"),
        "posting_s": posting_s,
        "span_s": span,
        "reach_quorum_by_scheduler": fallbacks,
        "quorum_carried_by_a_late_submit": late_batches,
        "poll_ms": POLL.as_millis() as u64,
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "jobs": details,
    }))
}

/// Whether job `i` of the run carries the priority fee: the odd ones, so
/// both groups are posted interleaved, under the same load.
fn is_priority(i: usize) -> bool {
    i % 2 == 1
}

/// Slots from the job's post to its committee's assignment (the first
/// transactions carrying JobPosted and WorkersAssigned).
fn slots_to_assigned(txs: &[JobTx]) -> Option<u64> {
    let slot_of = |event: &str| txs.iter().find(|t| t.has(event)).map(|t| t.slot);
    Some(slot_of("WorkersAssigned")?.saturating_sub(slot_of("JobPosted")?))
}

/// How many Bronze committees (3 distinct workers, each locking the
/// Bronze `required_lock`) the workers' unlocked stake can seat at once.
fn committees_at_once(rpc: &Rpc, program: &Address, stakes: &[Address]) -> Result<usize> {
    use edgerun_protocol::state::{GlobalConfig, WorkerStake};
    use edgerun_protocol::tier::Tier;
    let config = rpc
        .accounts(&[edgerun_client::config_pda(program).0])?
        .pop()
        .flatten()
        .context("no config account")?;
    let config: GlobalConfig =
        edgerun_client::decode_account(&config).map_err(|e| anyhow::anyhow!("the config: {e}"))?;
    let bronze = Tier::Bronze.committee().size;
    let lock = edgerun_protocol::economics::required_lock(
        config.params.min_worker_stake_lamports.get(),
        Tier::Bronze.default_escrow(),
        bronze,
    )
    .max(1);
    let mut seats = Vec::new();
    for data in rpc.accounts(stakes)?.into_iter().flatten() {
        let s: WorkerStake = edgerun_client::decode_account(&data)
            .map_err(|e| anyhow::anyhow!("a worker stake: {e}"))?;
        seats.push(s.total_stake.get().saturating_sub(s.locked_stake.get()) / lock);
    }
    Ok(committees(&seats, bronze as u64))
}

/// The most committees of `size` distinct workers that workers with
/// `seats[i]` seats each can fill at once: the largest k with
/// `sum(min(seats[i], k)) >= size * k`.
fn committees(seats: &[u64], size: u64) -> usize {
    let most = seats.iter().sum::<u64>() / size.max(1);
    (0..=most)
        .rev()
        .find(|&k| seats.iter().map(|&c| c.min(k)).sum::<u64>() >= size * k)
        .unwrap_or(0) as usize
}

/// Waits for one `edgerun post --json`; its job id.
fn post(child: Child) -> Result<Hash> {
    let out = child
        .wait_with_output()
        .context("waiting for edgerun post")?;
    ensure!(
        out.status.success(),
        "edgerun post failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let v: Value = serde_json::from_slice(&out.stdout).context("edgerun post --json output")?;
    let id = v["job_id"]
        .as_str()
        .context("no job_id in the post output")?;
    parse_hex(id).map_err(|e| anyhow::anyhow!("job_id {id:?}: {e}"))
}

/// The PIDs of the `edgerun post` processes; any still running when this
/// is dropped (an early error) is killed.
struct Posters(Vec<u32>);

impl Drop for Posters {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if is_edgerun(pid) {
                signal(pid, SIGKILL);
            }
        }
    }
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A successful transaction touching a job account.
struct JobTx {
    slot: u64,
    signature: String,
    fee_payer: String,
    /// Names of the events it carries for this job.
    events: Vec<&'static str>,
}

impl JobTx {
    fn has(&self, event: &str) -> bool {
        self.events.contains(&event)
    }
}

/// The job account's successful transactions, oldest first, with the
/// events each carries for `job_id`.
fn job_transactions(rpc: &Rpc, pda: &Address, job_id: &Hash) -> Result<Vec<JobTx>> {
    let signatures = rpc.call(
        "getSignaturesForAddress",
        json!([pda.to_string(), {"commitment": "confirmed", "limit": 1000}]),
    )?;
    let mut txs = Vec::new();
    for s in signatures.as_array().context("getSignaturesForAddress")? {
        if !s["err"].is_null() {
            continue;
        }
        let signature = s["signature"].as_str().context("a signature")?;
        let tx = rpc.call(
            "getTransaction",
            json!([signature, {
                "encoding": "json",
                "commitment": "confirmed",
                "maxSupportedTransactionVersion": 0,
            }]),
        )?;
        let logs: Vec<&str> = tx["meta"]["logMessages"]
            .as_array()
            .map(|l| l.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let events = edgerun_client::events_from_logs(&logs)
            .into_iter()
            .filter(|e| e.job_id() == job_id)
            .map(|e| AnyEvent::name(&e))
            .collect();
        txs.push(JobTx {
            slot: tx["slot"].as_u64().unwrap_or(0),
            signature: signature.to_owned(),
            fee_payer: tx["transaction"]["message"]["accountKeys"][0]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            events,
        });
    }
    // Newest first from the RPC; the slot, then that order reversed.
    txs.reverse();
    txs.sort_by_key(|t| t.slot);
    Ok(txs)
}

/// The dependent confirmations from post to Finalized.
struct CriticalPath {
    total: u64,
    steps: Vec<String>,
}

fn critical_path(txs: &[JobTx], quorum: usize) -> CriticalPath {
    let first = |event: &str| txs.iter().position(|t| t.has(event));
    let mut steps = Vec::new();
    if first("JobPosted").is_some() {
        steps.push("post".to_owned());
    }
    match (first("JobSeeded"), first("WorkersAssigned")) {
        (Some(s), Some(a)) if s == a => steps.push("seed+assign".to_owned()),
        (s, a) => {
            if s.is_some() {
                steps.push("seed".to_owned());
            }
            if a.is_some() {
                steps.push("assign".to_owned());
            }
        }
    }
    if first("ResultSubmitted").is_some() {
        steps.push("submit".to_owned());
    }
    let after: BTreeSet<usize> = ["JobQuorumReached", "OutputDeclared", "JobFinalized"]
        .iter()
        .flat_map(|e| {
            txs.iter()
                .enumerate()
                .filter(move |(_, t)| t.has(e))
                .map(|(i, _)| i)
        })
        .filter(|&i| {
            // A submission that completed the quorum is the submit stage.
            let earlier = txs
                .iter()
                .filter(|t| t.has("ResultSubmitted") && t.slot < txs[i].slot)
                .count();
            !txs[i].has("ResultSubmitted") || earlier >= quorum
        })
        .collect();
    for i in after {
        let late = txs[i].has("ResultSubmitted").then_some("late submit");
        let names: Vec<&str> = txs[i]
            .events
            .iter()
            .copied()
            .filter(|e| ["JobQuorumReached", "OutputDeclared", "JobFinalized"].contains(e))
            .collect();
        steps.push(
            late.into_iter()
                .chain(names.iter().map(|e| match *e {
                    "JobQuorumReached" => "quorum",
                    "OutputDeclared" => "declare",
                    _ => "finalize",
                }))
                .collect::<Vec<_>>()
                .join("+"),
        );
    }
    CriticalPath {
        total: steps.len() as u64,
        steps,
    }
}

/// The public key in a Solana JSON keypair file (64 bytes: secret, public).
fn key_address(path: &Path) -> Result<Address> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let bytes: Vec<u8> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a keypair", path.display()))?;
    ensure!(bytes.len() == 64, "{} is not a keypair", path.display());
    let public: [u8; 32] = bytes[32..].try_into().expect("32 bytes");
    Ok(Address::new_from_array(public))
}

/// JSON-RPC over plain HTTP/1.0 to the local chain.
struct Rpc {
    addr: SocketAddr,
}

impl Rpc {
    /// The chain at `http://127.0.0.1:<port>`.
    fn local(url: &str) -> Result<Rpc> {
        let addr = url
            .strip_prefix("http://")
            .and_then(|a| a.parse::<SocketAddr>().ok())
            .with_context(|| format!("{url:?} is not http://<ip>:<port>"))?;
        Ok(Rpc { addr })
    }

    fn call(&self, method: &str, params: Value) -> Result<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let body = body.to_string();
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))
            .with_context(|| format!("connecting to the chain at {}", self.addr))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "POST / HTTP/1.0\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .with_context(|| format!("{method}: reading the answer"))?;
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .with_context(|| format!("{method}: no HTTP header in the answer"))?;
        let head = String::from_utf8_lossy(&response[..split]);
        let status = head.lines().next().unwrap_or("");
        ensure!(
            status.split_whitespace().nth(1) == Some("200"),
            "{method}: the chain answered {status:?}"
        );
        let v: Value = serde_json::from_slice(&response[split + 4..])
            .with_context(|| format!("{method}: the answer is not JSON"))?;
        if let Some(e) = v.get("error") {
            bail!("{method}: {e}");
        }
        Ok(v["result"].clone())
    }

    /// getMultipleAccounts (base64, confirmed): each account's data, `None`
    /// where there is no account.
    fn accounts(&self, addresses: &[Address]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut out = Vec::with_capacity(addresses.len());
        for chunk in addresses.chunks(100) {
            let keys: Vec<String> = chunk.iter().map(Address::to_string).collect();
            let v = self.call(
                "getMultipleAccounts",
                json!([keys, {"encoding": "base64", "commitment": "confirmed"}]),
            )?;
            let values = v["value"]
                .as_array()
                .context("getMultipleAccounts: no value")?;
            ensure!(
                values.len() == chunk.len(),
                "getMultipleAccounts: {} answers for {} accounts",
                values.len(),
                chunk.len()
            );
            for a in values {
                out.push(if a.is_null() {
                    None
                } else {
                    let b64 = a["data"][0]
                        .as_str()
                        .context("getMultipleAccounts: no base64 data")?;
                    Some(
                        base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .context("getMultipleAccounts: data is not base64")?,
                    )
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(slot: u64, events: &[&'static str]) -> JobTx {
        JobTx {
            slot,
            signature: String::new(),
            fee_payer: String::new(),
            events: events.to_vec(),
        }
    }

    #[test]
    fn the_critical_path_counts_dependent_confirmations() {
        // The batched happy path: the quorum-completing submit carries the rest.
        let all = [
            "ResultSubmitted",
            "JobQuorumReached",
            "OutputDeclared",
            "JobFinalized",
        ];
        let batched = [
            tx(1, &["JobPosted"]),
            tx(3, &["JobSeeded", "WorkersAssigned"]),
            tx(5, &["ResultSubmitted"]),
            tx(5, &all),
            tx(6, &["ResultSubmitted"]),
        ];
        let path = critical_path(&batched, 2);
        assert_eq!(path.steps, ["post", "seed+assign", "submit"]);
        // The quorum already stood (slots 5 and 6) when a late submission
        // carried the rest: that is one more confirmation.
        let late = [
            tx(1, &["JobPosted"]),
            tx(3, &["JobSeeded", "WorkersAssigned"]),
            tx(5, &["ResultSubmitted"]),
            tx(6, &["ResultSubmitted"]),
            tx(20, &all),
        ];
        let path = critical_path(&late, 2);
        assert_eq!(path.total, 4, "{:?}", path.steps);
        assert_eq!(path.steps[3], "late submit+quorum+declare+finalize");
        // The scheduler's reach_quorum fallback, then the winner's declare
        // + finalize, after seed and assign in separate transactions.
        let fallback = [
            tx(1, &["JobPosted"]),
            tx(2, &["JobSeeded"]),
            tx(3, &["WorkersAssigned"]),
            tx(5, &["ResultSubmitted"]),
            tx(6, &["ResultSubmitted"]),
            tx(26, &["JobQuorumReached"]),
            tx(30, &["OutputDeclared", "JobFinalized"]),
        ];
        let path = critical_path(&fallback, 2);
        assert_eq!(
            path.steps,
            [
                "post",
                "seed",
                "assign",
                "submit",
                "quorum",
                "declare+finalize"
            ]
        );
        assert_eq!(path.total, 6);
    }

    #[test]
    fn committees_need_distinct_workers() {
        // Six workers with 20 seats each: 40 committees of 3.
        assert_eq!(committees(&[20; 6], 3), 40);
        // One rich worker cannot sit twice in a committee.
        assert_eq!(committees(&[100, 1, 1], 3), 1);
        assert_eq!(committees(&[100, 5, 2], 3), 2);
        assert_eq!(committees(&[9, 9], 3), 0);
        assert_eq!(committees(&[], 3), 0);
    }

    #[test]
    fn slots_to_assigned_are_counted_from_the_post() {
        let txs = [
            tx(10, &["JobPosted"]),
            tx(13, &["JobSeeded", "WorkersAssigned"]),
            tx(20, &["WorkersAssigned"]),
        ];
        assert_eq!(slots_to_assigned(&txs), Some(3));
        assert_eq!(slots_to_assigned(&txs[..1]), None);
        assert!(is_priority(1) && !is_priority(0) && is_priority(23));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 10.0);
        assert_eq!(percentile(&v, 0.95), 19.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
    }
}
