//! `edgerun`: the customer's and operator's command line.
//!
//! ```text
//! edgerun up                                   # local chain (+ relay) on 127.0.0.1
//! edgerun deploy --program-keypair p.json --admin a.json --rpc URL   # a cluster
//! edgerun estimate --tier bronze                # the price, from the chain's config
//! edgerun post --wasm job.wasm --input in.json --tier bronze --wait --download out.json
//! edgerun verify <JOB_ID>                      # output hash + committee redrawn
//! edgerun cancel <JOB_ID>                      # while Posted or Seeded
//! edgerun jobs                                 # the customer's jobs
//! edgerun status <JOB_ID>
//! edgerun get <JOB_ID> -o out.bin
//! edgerun worker --keypair worker.json         # a native worker
//! edgerun scheduler                            # the scheduler (local stack keys)
//! edgerun edge init --keypair worker.json      # an edge worker for workerd / Cloudflare
//! ```
//! Every command takes `--rpc URL` and `--relay URL`, so the same commands
//! work against a real cluster and a hosted relay.

mod agents;
mod commands;
mod customer;
mod deploy;
mod edge;
mod stake;
mod up;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Defaults match `edgerun up`'s fixed local ports.
pub const DEFAULT_RPC: &str = "http://127.0.0.1:8899";
pub const DEFAULT_RELAY: &str = "http://127.0.0.1:8080";

#[derive(Parser)]
#[command(
    name = "edgerun",
    version,
    about = "Verifiable pay-per-job WebAssembly compute on Solana"
)]
struct Cli {
    /// Solana JSON-RPC endpoint.
    #[arg(long, global = true, env = "EDGERUN_RPC", default_value = DEFAULT_RPC)]
    rpc: String,
    /// edgerun relay.
    #[arg(long, global = true, env = "EDGERUN_RELAY", default_value = DEFAULT_RELAY)]
    relay: String,
    /// Where `up` keeps keys and data, and where the other commands find the
    /// demo customer key.
    #[arg(long, global = true, env = "EDGERUN_HOME", default_value = ".edgerun")]
    home: PathBuf,
    /// The edgerun program on that chain (the address `edgerun deploy`
    /// printed) [default: the one the relay serves, from its /v1/info].
    #[arg(long, global = true, env = "EDGERUN_PROGRAM_ID")]
    program_id: Option<solana_address::Address>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TierArg {
    Bronze,
    Silver,
    Gold,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the local chain and relay on 127.0.0.1 (Ctrl-C stops them).
    Up(up::UpArgs),
    /// Deploy (or upgrade) the program with the upgradeable loader and create its config.
    Deploy(deploy::DeployArgs),
    /// Post a job: build the bundle, upload it to the relay, and post it on chain with escrow.
    Post(commands::PostArgs),
    /// Show a job's on-chain state.
    Status {
        /// The job id (64 hex characters).
        job: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A worker's stake: show, deposit (anyone), withdraw and hand over (its authority).
    #[command(subcommand)]
    Stake(stake::StakeCmd),
    /// Run a native worker: register, run assigned jobs, attest, submit, publish.
    Worker(agents::WorkerArgs),
    /// Edge workers: write one for workerd and Cloudflare Workers (`init`), run one in local workerd (`run`).
    #[command(subcommand)]
    Edge(edge::EdgeCmd),
    /// Run the scheduler: seed, assign, crank quorum, finalize, penalties and reassignments.
    Scheduler(agents::SchedulerArgs),
    /// What a job costs on this chain now: escrow, protocol fee, what each worker earns, deposits.
    Estimate {
        /// Service tier (its default escrow).
        #[arg(long, value_enum, default_value = "bronze")]
        tier: TierArg,
        /// Escrow in lamports (sets the tier) instead.
        #[arg(long)]
        escrow: Option<u64>,
        /// Priority fee in lamports.
        #[arg(long = "priority-fee", value_name = "LAMPORTS", default_value_t = 0)]
        priority_fee: u64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Cancel a job you posted while it is Posted or Seeded: escrow, deposit and priority fee come back.
    Cancel {
        /// The job id (64 hex characters).
        job: String,
        /// The job's client keypair (default: <home>/keys/customer.json).
        #[arg(long)]
        keypair: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Verify a job: its output against the hash on chain, and its committee redrawn from the seed and the snapshots.
    Verify {
        /// The job id (64 hex characters).
        job: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The jobs a client posted on this chain, newest first.
    Jobs {
        /// Whose jobs (default: the --keypair's, else <home>/keys/customer.json).
        #[arg(long)]
        client: Option<solana_address::Address>,
        /// A keypair whose jobs to list.
        #[arg(long)]
        keypair: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Download a finished job's output and verify its hash.
    Get {
        /// The job id (64 hex characters).
        job: String,
        /// Where to write the output.
        #[arg(short, long)]
        output: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Warnings (a refused transaction, an unreachable relay) go to stderr;
    // RUST_LOG=edgerun_worker=debug shows more.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        let ctx = commands::Ctx {
            rpc: cli.rpc,
            relay: cli.relay.trim_end_matches('/').to_string(),
            home: cli.home,
            program_id: cli.program_id,
            program: tokio::sync::OnceCell::new(),
        };
        match cli.cmd {
            Cmd::Up(args) => up::run(&ctx, args).await,
            Cmd::Deploy(args) => deploy::run(&ctx, args).await,
            Cmd::Stake(cmd) => stake::run(&ctx, cmd).await,
            Cmd::Post(args) => commands::post(&ctx, args).await,
            Cmd::Status { job, json } => commands::status(&ctx, &job, json).await,
            Cmd::Get { job, output } => commands::get(&ctx, &job, &output).await,
            Cmd::Estimate {
                tier,
                escrow,
                priority_fee,
                json,
            } => {
                let escrow = escrow.unwrap_or(commands::tier_of(tier).default_escrow());
                customer::estimate(&ctx, escrow, priority_fee, json).await
            }
            Cmd::Cancel { job, keypair, json } => customer::cancel(&ctx, &job, keypair, json).await,
            Cmd::Verify { job, json } => customer::verify(&ctx, &job, json).await,
            Cmd::Jobs {
                client,
                keypair,
                json,
            } => customer::jobs(&ctx, client, keypair, json).await,
            Cmd::Worker(args) => agents::worker(&ctx, args).await,
            Cmd::Scheduler(args) => agents::scheduler(&ctx, args).await,
            Cmd::Edge(cmd) => edge::run(&ctx, cmd).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
