//! `edgerun up`: the local stack on 127.0.0.1.
//!
//! Starts the embedded chain (offline, pinned genesis, real-time slots) with
//! the program loaded at the local demo address
//! ([`edgerun_protocol::LOCAL_PROGRAM_ID`]), funds the demo keys in
//! `<home>/keys/`, creates the config, starts the relay (objects under
//! `<home>/relay/`), writes `<home>/stack.json` with the URLs, and runs
//! until Ctrl-C. With `--attach` it starts no chain: the relay and agents
//! work against the chain at `--rpc` and the program at `--program-id`
//! (one `edgerun deploy` made), with the keys in `<home>/keys/`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use edgerun_localnet::{Localnet, Options, Parties};
use solana_signer::Signer;

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
    /// Also start the scheduler and this many native workers (each its own
    /// process, keys `<home>/keys/worker-<i>.json`); `--workers 0` starts
    /// the scheduler alone (for browser or edge workers).
    #[arg(long)]
    workers: Option<usize>,
    /// Also start this many edge workers, each worker-web's edge entry in
    /// its own local workerd ticked by `edgerun edge run` (keys
    /// `<home>/keys/worker-<i>.json` after the native workers'; each stakes
    /// from its own lamports). Starts the scheduler too.
    #[arg(long, default_value_t = 0)]
    edge: usize,
    /// The workerd binary for --edge [default: EDGERUN_WORKERD, else npm's
    /// under ./node_modules, else `workerd` on PATH].
    #[arg(long, env = "EDGERUN_WORKERD")]
    workerd: Option<PathBuf>,
    /// Slots a committee has to submit (the config's submit_window_slots).
    #[arg(long)]
    submit_window_slots: Option<u64>,
    /// Slots the winners have to publish (the config's da_window_slots).
    #[arg(long)]
    da_window_slots: Option<u64>,
    /// The scheduler draws workers whose last heartbeat is at most this
    /// old (seconds; workers beat every 3 s).
    #[arg(long, value_parser = clap::value_parser!(u64).range(4..=3600))]
    online_within_s: Option<u64>,
    /// The worker-web build to serve at /worker/ [default:
    /// <target>/worker-web, from `cargo xtask build-worker-web`, when it exists].
    #[arg(long)]
    worker_web: Option<PathBuf>,
    /// The portal build to serve at /app/ [default: <target>/portal, from
    /// `cargo xtask build-portal`, when it exists].
    #[arg(long)]
    portal: Option<PathBuf>,
    /// The website build to serve at /, /trust and /pricing [default:
    /// <target>/www, from `cargo xtask build-www`, when it exists].
    #[arg(long)]
    www: Option<PathBuf>,
    /// What the landing page's "Run a job" may spend of the customer
    /// account in all (SOL; the demo workloads are the portal's templates).
    #[arg(long, default_value_t = 5.0)]
    demo_budget_sol: f64,
    /// Start no chain: use the one at --rpc with the program at
    /// --program-id (deployed and initialized by `edgerun deploy`); the
    /// keys in <home>/keys must be funded there.
    #[arg(long)]
    attach: bool,
}

/// `<target>/deploy/edgerun_program.so` (`cargo xtask build-program`).
pub fn default_program() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("deploy/edgerun_program.so")
}

pub async fn run(ctx: &Ctx, args: UpArgs) -> Result<()> {
    let started = Instant::now();
    let keys = ctx.home.join("keys");
    let native = args.workers.unwrap_or(0);
    anyhow::ensure!(
        native + args.edge <= args.worker_keys,
        "--workers {native} --edge {} needs as many worker keys: pass --worker-keys {}",
        args.edge,
        native + args.edge
    );
    let workers = (args.workers.is_some() || args.edge > 0).then_some(native);
    // Fail before anything starts if an edge worker could not.
    let workerd = if args.edge > 0 {
        Some(crate::edge::find_workerd(args.workerd.as_deref())?)
    } else {
        None
    };
    let parties = Parties::load_or_create(&keys, args.worker_keys)
        .with_context(|| format!("demo keys in {}", keys.display()))?;
    let (net, parties, rpc_url, ws_url, program) = if args.attach {
        anyhow::ensure!(
            ctx.program_id.is_some(),
            "--attach needs --program-id: the edgerun program on the chain at --rpc (`edgerun deploy` prints it)"
        );
        let program = ctx.program().await?;
        let ws = edgerun_client::rpc::pubsub_url(&ctx.rpc);
        (None, parties, ctx.rpc.clone(), ws, program)
    } else {
        let opts = Options {
            rpc_port: args.rpc_port,
            ws_port: args.rpc_port + 1,
            slot_time_ms: args.slot_ms,
            program_so: Some(args.program.unwrap_or_else(default_program)),
            funded: parties.funded(),
            upgrade_authority: parties.admin.pubkey(),
        };
        let (submit_window, da_window) = (args.submit_window_slots, args.da_window_slots);
        let (net, parties) = tokio::task::spawn_blocking(move || -> Result<(Localnet, Parties)> {
            let net = Localnet::start(&opts)?;
            let mut params =
                edgerun_localnet::demo_params(&parties, &[edgerun_runtime::runtime_id()])?;
            if let Some(v) = submit_window {
                params.submit_window_slots.set(v);
            }
            if let Some(v) = da_window {
                params.da_window_slots.set(v);
            }
            net.bootstrap_with(&parties, params)?;
            Ok((net, parties))
        })
        .await
        .context("the chain's start-up task")??;
        let (rpc, ws) = (net.rpc_url.clone(), net.ws_url.clone());
        let program = solana_address::Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);
        (Some(net), parties, rpc, ws, program)
    };
    // The demo operator's API key: POST /v1/jobs with it posts from the
    // customer account.
    let api_key = format!("{:032x}", rand::random::<u128>());
    std::fs::create_dir_all(&ctx.home)?;
    std::fs::write(ctx.home.join("api-key"), &api_key)?;
    let sponsor_stake = {
        let config = edgerun_client::rpc::Chain::connect(&rpc_url, program)
            .config()
            .await
            .context("reading the config")?;
        let min = config.params.min_worker_stake_lamports.get();
        let bronze = edgerun_protocol::tier::Tier::Bronze;
        2 * edgerun_protocol::economics::required_lock(
            min,
            bronze.default_escrow(),
            bronze.committee().size,
        )
    };
    let mut relay_config = edgerun_relay::RelayConfig::file(ctx.home.join("relay"));
    // Every client of a local stack is 127.0.0.1: the per-address limits
    // would count them all as one. Bounded still, for a bench's bursts.
    relay_config.limits.max_uploads_per_ip = 64;
    relay_config.clients.max_streams_per_ip = 512;
    let worker_web = args.worker_web.clone().unwrap_or_else(|| {
        default_program()
            .parent()
            .and_then(|deploy| deploy.parent())
            .map(|target| target.join("worker-web"))
            .unwrap_or_default()
    });
    let portal = args.portal.clone().unwrap_or_else(|| {
        default_program()
            .parent()
            .and_then(|deploy| deploy.parent())
            .map(|target| target.join("portal"))
            .unwrap_or_default()
    });
    let www = args.www.clone().unwrap_or_else(|| {
        default_program()
            .parent()
            .and_then(|deploy| deploy.parent())
            .map(|target| target.join("www"))
            .unwrap_or_default()
    });
    // The landing page's demo: the portal's templates, posted from the
    // customer account for visitors, within a budget.
    let demo_workloads: Vec<(String, Vec<u8>, Vec<u8>)> = ["json-redact", "compress-hash"]
        .iter()
        .filter_map(|name| {
            let dir = portal.join("templates");
            let wasm = std::fs::read(dir.join(format!("{name}.wasm"))).ok()?;
            let input = std::fs::read(dir.join(format!("{name}.input"))).ok()?;
            Some((name.to_string(), wasm, input))
        })
        .collect();
    let relay_state = edgerun_relay::AppState::open(relay_config)
        .await
        .context("opening the relay's store")?
        .with_chain(&rpc_url, program)
        .with_site(worker_web.clone())
        .with_portal(portal.clone())
        .with_www(www.clone())
        .with_public_rpc(rpc_url.clone())
        .with_poster(parties.customer.insecure_clone(), api_key.clone())
        // Volunteers' tabs with no SOL: the operator (the relay key)
        // stakes enough for two Bronze seats each, within a budget.
        .with_sponsor(
            parties.relay.insecure_clone(),
            edgerun_relay::routes::volunteers::SponsorPolicy {
                stake_lamports: sponsor_stake,
                per_hour: 100,
                total: 1_000,
            },
        )
        .with_fee_payer(
            parties.relay.insecure_clone(),
            // A local demo: generous next to the relay's public
            // defaults, still bounded (the relay key holds 1,000 SOL).
            edgerun_relay::FeePolicy {
                burst: 20,
                every: std::time::Duration::from_secs(1),
                signer_lamports_per_hour: 100_000_000,
                total_lamports_per_hour: 2_000_000_000,
            },
        );
    let relay_state = if demo_workloads.is_empty() {
        relay_state
    } else {
        relay_state.with_demo(
            edgerun_relay::routes::www::Demo::new(
                demo_workloads,
                edgerun_relay::routes::www::DemoPolicy {
                    per_visitor: 6,
                    per_hour: 120,
                    budget_lamports: (args.demo_budget_sol.max(0.0) * 1e9) as u64,
                },
            )
            .context("building the demo bundles")?,
        )
    };
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
    let relay = tokio::spawn(edgerun_relay::serve(listener, relay_state, async {
        let _ = relay_stopped.await;
    }));
    let mut agents = Agents::default();
    if let Some(workers) = workers {
        let base = |cmd: &mut std::process::Command| {
            cmd.arg("--rpc")
                .arg(&rpc_url)
                .arg("--program-id")
                .arg(program.to_string())
                .arg("--relay")
                .arg(&relay_url)
                .arg("--home")
                .arg(&ctx.home);
        };
        let exe = std::env::current_exe().context("finding the edgerun executable")?;
        let mut cmd = std::process::Command::new(&exe);
        base(&mut cmd);
        cmd.arg("scheduler");
        if let Some(s) = args.online_within_s {
            cmd.arg("--online-within-s").arg(s.to_string());
        }
        agents.spawn("scheduler", cmd)?;
        for i in 0..workers {
            let mut cmd = std::process::Command::new(&exe);
            base(&mut cmd);
            cmd.arg("worker")
                .arg("--keypair")
                .arg(keys.join(format!("worker-{i}.json")));
            agents.spawn(&format!("worker-{i}"), cmd)?;
        }
    }
    let mut edges = Vec::new();
    for i in 0..args.edge {
        let dir = ctx.home.join(format!("edge/edge-{i}"));
        let local = Ctx {
            rpc: rpc_url.clone(),
            relay: relay_url.clone(),
            home: ctx.home.clone(),
            program_id: Some(program),
            program: tokio::sync::OnceCell::new(),
        };
        let made = crate::edge::init(
            &local,
            &crate::edge::InitArgs::local(
                keys.join(format!("worker-{}.json", native + i)),
                dir.clone(),
                worker_web.clone(),
                free_port()?,
            ),
        )
        .with_context(|| format!("edge worker {i}"))?;
        let exe = std::env::current_exe().context("finding the edgerun executable")?;
        let mut cmd = std::process::Command::new(&exe);
        cmd.arg("--home")
            .arg(&ctx.home)
            .arg("edge")
            .arg("run")
            .arg(&dir);
        if let Some(w) = &workerd {
            // A path relative to this directory must still name it for
            // the child; a bare name is looked up on PATH.
            let w = if w.components().count() > 1 {
                std::path::absolute(w)?
            } else {
                w.clone()
            };
            cmd.arg("--workerd").arg(w);
        }
        agents.spawn(&format!("edge-{i}"), cmd)?;
        edges.push(serde_json::json!({"worker": made.address, "url": made.url, "dir": dir}));
    }
    let stack = serde_json::json!({
        "pids": agents.pids(),
        "relay": relay_url,
        "api_key_file": ctx.home.join("api-key"),
        "rpc": rpc_url,
        "ws": ws_url,
        "genesis_hash": net.as_ref().map(|n| n.genesis_hash.clone()),
        "program_id": program.to_string(),
        "customer": solana_signer::Signer::pubkey(&parties.customer).to_string(),
        "treasury": solana_signer::Signer::pubkey(&parties.treasury).to_string(),
        "keys": keys,
        "edge": edges,
        "volunteer_url": worker_web
            .join("index.html")
            .exists()
            .then(|| format!("{relay_url}/worker/?rpc={rpc_url}")),
        "portal_url": portal
            .join("index.html")
            .exists()
            .then(|| format!("{relay_url}/app/")),
        "www_url": www
            .join("index.html")
            .exists()
            .then(|| format!("{relay_url}/")),
    });
    std::fs::create_dir_all(&ctx.home)?;
    std::fs::write(
        ctx.home.join("stack.json"),
        serde_json::to_string_pretty(&stack)? + "\n",
    )?;
    println!(
        "edgerun up: chain {rpc_url} (ws {ws_url}), relay {relay_url}, ready in {:.1?}",
        started.elapsed()
    );
    println!("  program   {}", stack["program_id"].as_str().unwrap_or(""));
    println!(
        "  customer  {} (key {})",
        stack["customer"].as_str().unwrap_or(""),
        keys.join("customer.json").display()
    );
    if let Some(url) = stack["volunteer_url"].as_str() {
        println!("  volunteer {url}");
    }
    if let Some(url) = stack["portal_url"].as_str() {
        println!("  portal    {url}");
    }
    if let Some(url) = stack["www_url"].as_str() {
        println!("  website   {url} (Run a job, /trust, /pricing)");
    }
    for e in &edges {
        println!(
            "  edge      {} at {} (workerd)",
            e["worker"].as_str().unwrap_or(""),
            e["url"].as_str().unwrap_or("")
        );
    }
    if !args.check {
        println!("Ctrl-C (or SIGTERM) stops the stack.");
        edgerun_relay::shutdown_signal().await;
    }
    agents.stop();
    let _ = stop_relay.send(());
    relay
        .await
        .context("the relay task")?
        .context("the relay")?;
    if let Some(net) = net {
        tokio::task::spawn_blocking(move || net.stop()).await??;
    }
    println!("edgerun up: stopped");
    Ok(())
}

/// A port free on 127.0.0.1 now (for a local workerd).
fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// The scheduler and worker processes `up` started; stopped by PID.
#[derive(Default)]
struct Agents {
    children: Vec<(String, std::process::Child)>,
}

impl Agents {
    fn spawn(&mut self, name: &str, mut cmd: std::process::Command) -> Result<()> {
        let child = cmd
            .spawn()
            .with_context(|| format!("starting the {name} process"))?;
        self.children.push((name.to_owned(), child));
        Ok(())
    }

    fn pids(&self) -> serde_json::Value {
        self.children
            .iter()
            .map(|(name, c)| (name.clone(), serde_json::json!(c.id())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    /// SIGTERM to each (they finish their step and exit), then waits; a
    /// process still running after 10 s is killed.
    fn stop(&mut self) {
        for (_, c) in &self.children {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
        }
        let until = Instant::now() + std::time::Duration::from_secs(10);
        for (name, c) in &mut self.children {
            loop {
                match c.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < until => {
                        std::thread::sleep(std::time::Duration::from_millis(50))
                    }
                    _ => {
                        eprintln!("edgerun up: {name} did not stop; killing it");
                        let _ = c.kill();
                        let _ = c.wait();
                        break;
                    }
                }
            }
        }
        self.children.clear();
    }
}

impl Drop for Agents {
    fn drop(&mut self) {
        self.stop();
    }
}
