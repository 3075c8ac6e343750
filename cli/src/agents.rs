//! `edgerun worker` and `edgerun scheduler`: the long-running processes of
//! a stack. Each prints one line per thing it did, and stops on Ctrl-C or
//! SIGTERM.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use edgerun_protocol::hash::hex;
use edgerun_worker::native::Native;
use edgerun_worker::{Action, Faults, Settings, Worker};
use solana_signer::Signer;

use crate::commands::Ctx;

/// How often a worker tells the relay it is online.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(3);

/// Follows the program's transactions over pubsub (`ws`, or the one that
/// goes with `rpc`), waking the returned `Notify` on each; reconnects every
/// second after a failure. Polling continues beside it: deadlines pass
/// without transactions, and a pubsub outage must not stall anything.
fn follow(
    rpc: &str,
    ws: Option<&str>,
    program: solana_address::Address,
    who: &str,
) -> std::sync::Arc<tokio::sync::Notify> {
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let ws = ws
        .map(str::to_owned)
        .unwrap_or_else(|| edgerun_client::rpc::pubsub_url(rpc));
    let (who, notify) = (who.to_owned(), wake.clone());
    tokio::spawn(async move {
        loop {
            if let Err(e) = edgerun_client::rpc::watch_program(&ws, program, &notify).await {
                tracing::warn!(%who, error = %e, "pubsub; polling only, retrying in 1 s");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    wake
}

#[derive(clap::Args)]
pub struct WorkerArgs {
    /// The worker's keypair (Solana JSON format); it pays its own fees.
    #[arg(long)]
    keypair: PathBuf,
    /// Lamports staked when the worker registers.
    #[arg(long, default_value_t = 20_000_000_000)]
    stake_lamports: u64,
    /// Milliseconds between passes over the chain when pubsub is quiet
    /// (every confirmed edgerun transaction wakes the worker at once).
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
    /// The chain's pubsub URL [default: the --rpc URL as ws://, next port].
    #[arg(long)]
    ws: Option<String>,
    /// Take only jobs whose fuel cap is at most this (said in every
    /// heartbeat, so the scheduler seats this worker in no larger job).
    #[arg(long)]
    max_fuel: Option<u64>,
    /// Fault drill: submit the hash of a corrupted output.
    #[arg(long)]
    corrupt_output: bool,
    /// Fault drill: reveal a matching quorum but never store or declare the
    /// output (the winners miss the DA deadline).
    #[arg(long)]
    never_publish: bool,
    /// Fault drill: a slow worker, submitting only this many slots after
    /// its seat was assigned.
    #[arg(long, default_value_t = 0)]
    submit_after_slots: u64,
    /// Fault drill: a copier that never runs a job and submits another
    /// seat's seal, as read from the chain, as its own.
    #[arg(long)]
    copy: bool,
}

#[derive(clap::Args)]
pub struct SchedulerArgs {
    /// The config's scheduler authority (pays the fees)
    /// [default: <home>/keys/scheduler.json].
    #[arg(long)]
    keypair: Option<PathBuf>,
    /// The config's randomness authority [default: <home>/keys/randomness.json].
    #[arg(long)]
    randomness_keypair: Option<PathBuf>,
    /// Milliseconds between passes over the chain when pubsub is quiet
    /// (every confirmed edgerun transaction wakes the scheduler at once).
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
    /// The chain's pubsub URL [default: the --rpc URL as ws://, next port].
    #[arg(long)]
    ws: Option<String>,
    /// Seconds since a worker's last heartbeat at the relay within which it
    /// may be drawn (workers beat every 3 s).
    #[arg(long, default_value_t = edgerun_scheduler::Settings::default().online_within_s,
        value_parser = clap::value_parser!(u64).range(4..=3600))]
    online_within_s: u64,
}

pub async fn worker(ctx: &Ctx, args: WorkerArgs) -> Result<()> {
    let keypair = edgerun_localnet::read_keypair(&args.keypair)
        .with_context(|| format!("the worker keypair {}", args.keypair.display()))?;
    let address = keypair.pubkey();
    let program = ctx.program().await?;
    let transport = Native::new(&ctx.rpc, &ctx.relay, program, keypair);
    let settings = Settings {
        stake_lamports: args.stake_lamports,
        max_fuel: args.max_fuel,
        faults: Faults {
            corrupt_output: args.corrupt_output,
            never_publish: args.never_publish,
            submit_after_slots: args.submit_after_slots,
            copy: args.copy,
        },
        ..Settings::default()
    };
    let worker = Worker::new(transport, settings);
    println!("worker {address}: rpc {} relay {}", ctx.rpc, ctx.relay);
    let wake = follow(
        &ctx.rpc,
        args.ws.as_deref(),
        program,
        &format!("worker {address}"),
    );
    let mut stop = std::pin::pin!(edgerun_relay::shutdown_signal());
    let mut last_beat: Option<Instant> = None;
    let mut registered = false;
    loop {
        if !registered {
            match worker.ensure_registered().await {
                Ok(Some(a)) => {
                    report(&address, &a);
                    registered = true;
                }
                Ok(None) => registered = true,
                Err(e) => eprintln!("worker {address}: registering: {e}"),
            }
        }
        // The relay counts heartbeats only from keys that hold stake.
        if registered && last_beat.is_none_or(|t| t.elapsed() >= HEARTBEAT_EVERY) {
            match worker.heartbeat().await {
                Ok(()) => last_beat = Some(Instant::now()),
                Err(e) => eprintln!("worker {address}: heartbeat: {e}"),
            }
        }
        if registered {
            match worker.step().await {
                Ok(actions) => actions.iter().for_each(|a| report(&address, a)),
                Err(e) => eprintln!("worker {address}: {e}"),
            }
        }
        tokio::select! {
            _ = &mut stop => break,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(args.poll_ms)) => {}
        }
    }
    println!("worker {address}: stopped");
    Ok(())
}

fn report(address: &solana_address::Address, action: &Action) {
    match action {
        Action::Registered { stake_lamports } => {
            println!("worker {address}: registered, staked {stake_lamports} lamports")
        }
        Action::Submitted {
            job,
            output_hash,
            fuel_used,
        } => println!(
            "worker {address}: submitted job {} output {} fuel {fuel_used}",
            hex(job),
            hex(output_hash)
        ),
        Action::Published {
            job,
            url,
            finalized,
        } => println!(
            "worker {address}: published job {} at {url}{}",
            hex(job),
            if *finalized { ", finalized" } else { "" }
        ),
        Action::Revealed { job } => {
            println!(
                "worker {address}: revealed job {} and withholds the output",
                hex(job)
            )
        }
        Action::Copied { job } => {
            println!(
                "worker {address}: copied another seat's seal in job {}",
                hex(job)
            )
        }
        Action::Refused { job, reason } => {
            println!("worker {address}: will not run job {}: {reason}", hex(job))
        }
        Action::Stalled { job, error } => {
            println!(
                "worker {address}: job {} stalled (retrying): {error}",
                hex(job)
            )
        }
    }
}

pub async fn scheduler(ctx: &Ctx, args: SchedulerArgs) -> Result<()> {
    let keys = ctx.home.join("keys");
    let path = args.keypair.unwrap_or_else(|| keys.join("scheduler.json"));
    let authority = edgerun_localnet::read_keypair(&path)
        .with_context(|| format!("the scheduler keypair {}", path.display()))?;
    let path = args
        .randomness_keypair
        .unwrap_or_else(|| keys.join("randomness.json"));
    let randomness = edgerun_localnet::read_keypair(&path)
        .with_context(|| format!("the randomness keypair {}", path.display()))?;
    println!(
        "scheduler {}: rpc {} relay {}",
        authority.pubkey(),
        ctx.rpc,
        ctx.relay
    );
    let program = ctx.program().await?;
    let scheduler = edgerun_scheduler::Scheduler::new(
        &ctx.rpc,
        &ctx.relay,
        program,
        authority,
        randomness,
        edgerun_scheduler::Settings {
            online_within_s: args.online_within_s,
        },
    );
    let wake = follow(&ctx.rpc, args.ws.as_deref(), program, "scheduler");
    let mut stop = std::pin::pin!(edgerun_relay::shutdown_signal());
    loop {
        match scheduler.step().await {
            Ok(cranks) => {
                for c in cranks {
                    match &c.result {
                        Ok(sig) => println!("scheduler: job {} {:?} ({sig})", hex(&c.job), c.what),
                        Err(e) => {
                            println!("scheduler: job {} {:?} refused: {e}", hex(&c.job), c.what)
                        }
                    }
                }
            }
            Err(e) => eprintln!("scheduler: {e}"),
        }
        tokio::select! {
            _ = &mut stop => break,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(args.poll_ms)) => {}
        }
    }
    println!("scheduler: stopped");
    Ok(())
}
