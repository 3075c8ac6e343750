//! `edgerun up`: the local stack on 127.0.0.1.
//!
//! Starts the embedded chain (offline, pinned genesis, real-time slots) with
//! the program loaded, funds the demo keys in `<home>/keys/`, creates the
//! config, starts the relay (objects under `<home>/relay/`), writes
//! `<home>/stack.json` with the URLs, and runs until Ctrl-C.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use edgerun_localnet::{Localnet, Options, Parties};

use crate::commands::Ctx;

#[derive(clap::Args)]
pub struct UpArgs {
    /// JSON-RPC port (the WebSocket port is the next one).
    #[arg(long, default_value_t = 8899)]
    rpc_port: u16,
    /// Relay port.
    #[arg(long, default_value_t = 8080)]
    relay_port: u16,
    /// Milliseconds per slot.
    #[arg(long, default_value_t = 400)]
    slot_ms: u64,
    /// Demo worker keys to create and fund.
    #[arg(long, default_value_t = 9)]
    worker_keys: usize,
    /// The program ELF (default: <target>/deploy/edgerun_program.so, from `cargo xtask build-program`).
    #[arg(long)]
    program: Option<PathBuf>,
    /// Start, print the stack, and stop at once (for scripts and tests).
    #[arg(long)]
    check: bool,
}

fn default_program() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("deploy/edgerun_program.so")
}

pub async fn run(ctx: &Ctx, args: UpArgs) -> Result<()> {
    let started = Instant::now();
    let keys = ctx.home.join("keys");
    let parties = Parties::load_or_create(&keys, args.worker_keys)
        .with_context(|| format!("demo keys in {}", keys.display()))?;
    let opts = Options {
        rpc_port: args.rpc_port,
        ws_port: args.rpc_port + 1,
        slot_time_ms: args.slot_ms,
        program_so: args.program.unwrap_or_else(default_program),
        funded: parties.funded(),
    };
    let net = tokio::task::spawn_blocking(move || -> Result<(Localnet, Parties)> {
        let net = Localnet::start(&opts)?;
        net.bootstrap(&parties, &[edgerun_runtime::runtime_id()])?;
        Ok((net, parties))
    })
    .await
    .context("the chain's start-up task")??;
    let (net, parties) = net;
    // The demo operator's API key: POST /v1/jobs with it posts from the
    // customer account.
    let api_key = format!("{:032x}", rand::random::<u128>());
    std::fs::create_dir_all(&ctx.home)?;
    std::fs::write(ctx.home.join("api-key"), &api_key)?;
    let relay_state =
        edgerun_relay::AppState::open(edgerun_relay::RelayConfig::file(ctx.home.join("relay")))
            .await
            .context("opening the relay's store")?
            .with_chain(&net.rpc_url)
            .with_poster(parties.customer.insecure_clone(), api_key.clone())
            .with_fee_payer(
                parties.relay.insecure_clone(),
                20,
                std::time::Duration::from_secs(1),
            );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.relay_port))
        .await
        .with_context(|| {
            format!(
                "binding the relay to 127.0.0.1:{} (pass --relay-port)",
                args.relay_port
            )
        })?;
    let relay_url = format!("http://{}", listener.local_addr()?);
    let (stop_relay, relay_stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(async move {
        // Responses go out at once (no Nagle delay on streamed bodies).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, edgerun_relay::app(relay_state))
            .with_graceful_shutdown(async {
                let _ = relay_stopped.await;
            })
            .await
    });
    let stack = serde_json::json!({
        "relay": relay_url,
        "api_key_file": ctx.home.join("api-key"),
        "rpc": net.rpc_url,
        "ws": net.ws_url,
        "genesis_hash": net.genesis_hash,
        "program_id": crate::commands::program_id().to_string(),
        "customer": solana_signer::Signer::pubkey(&parties.customer).to_string(),
        "keys": keys,
    });
    std::fs::create_dir_all(&ctx.home)?;
    std::fs::write(
        ctx.home.join("stack.json"),
        serde_json::to_string_pretty(&stack)? + "\n",
    )?;
    println!(
        "edgerun up: chain {} (ws {}), relay {relay_url}, ready in {:.1?}",
        net.rpc_url,
        net.ws_url,
        started.elapsed()
    );
    println!("  program   {}", stack["program_id"].as_str().unwrap_or(""));
    println!(
        "  customer  {} (key {})",
        stack["customer"].as_str().unwrap_or(""),
        keys.join("customer.json").display()
    );
    if !args.check {
        println!("Ctrl-C stops the stack.");
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
    }
    let _ = stop_relay.send(());
    relay
        .await
        .context("the relay task")?
        .context("the relay")?;
    tokio::task::spawn_blocking(move || net.stop()).await??;
    println!("edgerun up: stopped");
    Ok(())
}
