//! `edgerun-relay`: serves the relay on one address until Ctrl-C or SIGTERM.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use edgerun_relay::config::{
    DEFAULT_MAX_BUFFERED_BUNDLES, DEFAULT_MAX_BUFFERED_SELECTIONS, DEFAULT_MAX_OUTPUT_BYTES,
    DEFAULT_MAX_SELECTION_BYTES, MAX_BUNDLE_BYTES,
};
use edgerun_relay::routes::volunteers::SponsorPolicy;
use edgerun_relay::{
    AppState, ClientLimits, FeePolicy, RelayConfig, S3Config, StoreBackend, UploadLimits,
};
use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StoreKind {
    /// Files under --data-dir.
    File,
    /// An S3-compatible bucket (--s3-*; keys from AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY).
    S3,
}

/// The edgerun relay: content-addressed bundle and output storage over HTTP.
#[derive(Debug, Parser)]
#[command(name = "edgerun-relay", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port. The bound address is
    /// printed as `edgerun-relay listening on http://ADDR`.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory for stored objects (--store file).
    #[arg(long, default_value = "relay-data")]
    data_dir: PathBuf,
    /// Solana JSON-RPC the job routes read (e.g. http://127.0.0.1:8899).
    #[arg(long, env = "EDGERUN_RPC", requires = "program_id")]
    rpc: Option<String>,
    /// A JSON-RPC URL of the same chain that browsers may use, named in
    /// `GET /v1/info` (the portal sends wallet-signed post_job
    /// transactions there) [default: none named].
    #[arg(long)]
    public_rpc: Option<String>,
    /// The edgerun program on that chain (the address `edgerun deploy`
    /// printed; the local chain's is FF9edpQHixUU42zWg26TDLbyMzizbNGWyyr1NY48MSED).
    #[arg(long, env = "EDGERUN_PROGRAM_ID")]
    program_id: Option<solana_address::Address>,
    #[arg(long, value_enum, default_value_t = StoreKind::File)]
    store: StoreKind,
    #[arg(long, required_if_eq("store", "s3"))]
    s3_bucket: Option<String>,
    /// e.g. http://127.0.0.1:9000 (MinIO); default: AWS.
    #[arg(long)]
    s3_endpoint: Option<String>,
    #[arg(long)]
    s3_region: Option<String>,
    /// Key prefix inside the bucket; it must belong to this relay alone.
    #[arg(long)]
    s3_prefix: Option<String>,
    /// Allow an http:// endpoint.
    #[arg(long)]
    s3_allow_http: bool,
    /// Largest bundle accepted, bytes (at most the protocol's largest bundle).
    #[arg(long, default_value_t = MAX_BUNDLE_BYTES)]
    max_bundle_bytes: u64,
    /// Largest output accepted, bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_OUTPUT_BYTES)]
    max_output_bytes: u64,
    /// Largest eligible-set snapshot accepted, bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_SELECTION_BYTES)]
    max_selection_bytes: u64,
    /// Bundle uploads and job posts held in memory at once (each up to
    /// --max-bundle-bytes).
    #[arg(long, default_value_t = DEFAULT_MAX_BUFFERED_BUNDLES)]
    max_buffered_bundles: usize,
    /// Eligible-set snapshot uploads held in memory at once (each up to
    /// --max-selection-bytes): a pool customer uploads cannot take.
    #[arg(long, default_value_t = DEFAULT_MAX_BUFFERED_SELECTIONS)]
    max_buffered_selections: usize,
    /// Bundle uploads and job posts one client address may have in progress.
    #[arg(long, default_value_t = 2)]
    max_uploads_per_ip: usize,
    /// The slowest a request body may arrive, bytes/s on average (after
    /// --body-grace-s); slower clients are cut off with `too_slow`.
    #[arg(long, default_value_t = ClientLimits::default().min_body_bytes_per_s)]
    min_body_bytes_per_s: u64,
    /// Seconds before the minimum body rate applies.
    #[arg(long, default_value_t = ClientLimits::default().body_grace.as_secs())]
    body_grace_s: u64,
    /// Event streams one client address may hold open.
    #[arg(long, default_value_t = ClientLimits::default().max_streams_per_ip)]
    max_streams_per_ip: usize,
    /// Event streams open at once, all clients together.
    #[arg(long, default_value_t = ClientLimits::default().max_streams)]
    max_streams: usize,
    /// A Solana keypair file (JSON array of 64 bytes) whose account pays
    /// fees for `POST /v1/tx` (needs --rpc). Without it, co-signing is off.
    #[arg(long)]
    fee_payer: Option<PathBuf>,
    /// Lamports of fees the fee payer pays for one signer per hour.
    #[arg(long, default_value_t = FeePolicy::default().signer_lamports_per_hour)]
    fee_cap_per_signer: u64,
    /// Lamports of fees the fee payer pays for everyone per hour.
    #[arg(long, default_value_t = FeePolicy::default().total_lamports_per_hour)]
    fee_cap_total: u64,
    /// A keypair file whose account sponsors volunteers' stakes
    /// (`POST /v1/volunteers`, needs --rpc); off without it.
    #[arg(long)]
    sponsor_keypair: Option<PathBuf>,
    /// Lamports staked for each sponsored volunteer.
    #[arg(long, default_value_t = 2_000_000_000)]
    sponsor_lamports: u64,
    /// Volunteers sponsored per hour, at most.
    #[arg(long, default_value_t = 20)]
    sponsor_per_hour: u32,
    /// Volunteers sponsored in all, at most.
    #[arg(long, default_value_t = 200)]
    sponsor_total: u32,
    /// Log as JSON lines instead of text (filter with RUST_LOG, default info).
    #[arg(long)]
    log_json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if args.log_json {
        logs.json().init();
    } else {
        logs.init();
    }

    let store = match args.store {
        StoreKind::File => StoreBackend::File {
            root: args.data_dir.clone(),
        },
        StoreKind::S3 => StoreBackend::S3(S3Config {
            bucket: args.s3_bucket.clone().unwrap_or_default(),
            endpoint: args.s3_endpoint.clone(),
            region: args.s3_region.clone(),
            access_key_id: None,
            secret_access_key: None,
            allow_http: args.s3_allow_http,
            prefix: args.s3_prefix.clone(),
        }),
    };
    let config = RelayConfig {
        store,
        limits: UploadLimits {
            max_bundle_bytes: args.max_bundle_bytes,
            max_output_bytes: args.max_output_bytes,
            max_selection_bytes: args.max_selection_bytes,
            max_buffered_bundles: args.max_buffered_bundles,
            max_buffered_selections: args.max_buffered_selections,
            max_uploads_per_ip: args.max_uploads_per_ip,
            ..UploadLimits::default()
        },
        clients: ClientLimits {
            min_body_bytes_per_s: args.min_body_bytes_per_s,
            body_grace: std::time::Duration::from_secs(args.body_grace_s),
            max_streams_per_ip: args.max_streams_per_ip,
            max_streams: args.max_streams,
            ..ClientLimits::default()
        },
    };
    tracing::info!(?config, "starting");
    let mut state = AppState::open(config).await.context("opening the store")?;
    if let (Some(rpc), Some(program)) = (&args.rpc, args.program_id) {
        state = state.with_chain(rpc, program);
        if let Some(chain) = &state.chain {
            chain.verify_program().await?;
        }
    }
    if let Some(url) = &args.public_rpc {
        state = state.with_public_rpc(url.clone());
    }
    if let Some(path) = &args.fee_payer {
        anyhow::ensure!(
            args.rpc.is_some(),
            "--fee-payer needs --rpc: the relay simulates and sends what it pays for"
        );
        state = state.with_fee_payer(
            read_keypair(path, "fee payer")?,
            FeePolicy {
                signer_lamports_per_hour: args.fee_cap_per_signer,
                total_lamports_per_hour: args.fee_cap_total,
                ..FeePolicy::default()
            },
        );
    }
    if let Some(path) = &args.sponsor_keypair {
        anyhow::ensure!(
            args.rpc.is_some(),
            "--sponsor-keypair needs --rpc: sponsored stakes are registered on chain"
        );
        state = state.with_sponsor(
            read_keypair(path, "sponsor")?,
            SponsorPolicy {
                stake_lamports: args.sponsor_lamports,
                per_hour: args.sponsor_per_hour,
                total: args.sponsor_total,
            },
        );
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    // The one line on stdout: scripts and tests read the bound port from it.
    println!("edgerun-relay listening on http://{addr}");
    tracing::info!(%addr, "listening");
    edgerun_relay::serve(listener, state, edgerun_relay::shutdown_signal())
        .await
        .context("serving")?;
    tracing::info!("stopped");
    Ok(())
}

/// A Solana keypair file (a JSON array of 64 bytes).
fn read_keypair(path: &std::path::Path, what: &str) -> anyhow::Result<solana_keypair::Keypair> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the {what} keypair {}", path.display()))?;
    let bytes: Vec<u8> = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a Solana keypair file (a JSON array of 64 bytes)",
            path.display()
        )
    })?;
    solana_keypair::Keypair::try_from(bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
