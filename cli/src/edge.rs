//! `edgerun edge init` and `edgerun edge run`: edge workers.
//!
//! An edge worker is worker-web's edge entry (`edge/worker.mjs` in the
//! worker-web build) with the two wasm modules bound at deploy time, the
//! worker key in a secret binding, and a tick to wake it
//! (docs/edge.md). `init` writes a directory that is ready for both
//! standalone workerd (`config.capnp`) and Cloudflare Workers
//! (`wrangler.toml`); `run` serves that directory in a local workerd and
//! ticks it, which is what `edgerun up --edge N` does N times.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use solana_signer::Signer;

use crate::commands::Ctx;

/// The largest fuel cap an edge worker takes by default: half of an
/// assumed 30,000 ms CPU limit per invocation at the edge's measured rate
/// (`cargo xtask bench edge`: ~127,000 fuel per CPU-millisecond for the
/// slowest demo job, `max_bronze_fuel` 1.91 G on the project's VM).
pub const DEFAULT_MAX_FUEL: u64 = 1_900_000_000;

/// The modules of an edge worker, as the worker-web build lays them out
/// (`<build>/<from>`) and as `worker.mjs` imports them (`<to>`).
const MODULES: [(&str, &str, Kind); 5] = [
    ("edge/worker.mjs", "worker.mjs", Kind::EsModule),
    (
        "pkg/edgerun_worker_web.js",
        "edgerun_worker_web.js",
        Kind::EsModule,
    ),
    (
        "pkg/edgerun_worker_web_bg.wasm",
        "edgerun_worker_web_bg.wasm",
        Kind::Wasm,
    ),
    (
        "runtime/edgerun_runtime_js.js",
        "edgerun_runtime_js.js",
        Kind::EsModule,
    ),
    (
        "runtime/edgerun_runtime_js_bg.wasm",
        "edgerun_runtime_js_bg.wasm",
        Kind::Wasm,
    ),
];

#[derive(Clone, Copy)]
enum Kind {
    EsModule,
    Wasm,
}

/// What `init` leaves for `run` (`<dir>/edge.json`).
const MANIFEST: &str = "edge.json";
const KEY_FILE: &str = "worker-key.json";
const TOKEN_FILE: &str = "tick-token";

#[derive(clap::Subcommand)]
pub enum EdgeCmd {
    /// Write an edge worker's directory: the modules, a workerd config and a
    /// wrangler.toml, with the worker key as a secret binding.
    Init(InitArgs),
    /// Serve an `edge init` directory in a local workerd and tick it until
    /// Ctrl-C (or SIGTERM), then stop workerd by PID.
    Run(RunArgs),
}

#[derive(clap::Args)]
pub struct InitArgs {
    /// The worker keypair (Solana JSON: 64 numbers). It becomes the secret
    /// binding EDGERUN_WORKER_KEY; it pays its own stake at the first tick.
    #[arg(long)]
    keypair: PathBuf,
    /// The directory to write.
    #[arg(long, default_value = "edge-worker")]
    out: PathBuf,
    /// The worker-web build [default: <target>/worker-web, from `cargo
    /// xtask build-worker-web`].
    #[arg(long)]
    worker_web: Option<PathBuf>,
    /// The port local workerd listens on (127.0.0.1).
    #[arg(long, default_value_t = 8787)]
    port: u16,
    /// Lamports staked from the worker key when it registers [default: the
    /// worker core's, as `edgerun worker`].
    #[arg(long)]
    stake_lamports: Option<u64>,
    /// Seats whose fuel cap is larger are refused: they could not finish
    /// inside one invocation's CPU limit (docs/edge.md).
    #[arg(long, default_value_t = DEFAULT_MAX_FUEL)]
    max_fuel: u64,
    /// Replace an existing directory's files.
    #[arg(long)]
    force: bool,
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// A directory `edgerun edge init` wrote.
    dir: PathBuf,
    /// The workerd binary [default: EDGERUN_WORKERD, else npm's under
    /// ./node_modules, else `workerd` on PATH].
    #[arg(long, env = "EDGERUN_WORKERD")]
    workerd: Option<PathBuf>,
    /// Milliseconds between ticks (one tick runs at a time).
    #[arg(long, default_value_t = 500)]
    tick_ms: u64,
}

pub async fn run(ctx: &Ctx, cmd: EdgeCmd) -> Result<()> {
    match cmd {
        EdgeCmd::Init(args) => {
            let made = init(ctx, &args)?;
            print_init(&made, &args.out);
            Ok(())
        }
        EdgeCmd::Run(args) => serve(&args).await,
    }
}

/// What `init` wrote.
pub struct Made {
    pub address: String,
    pub url: String,
}

/// `<target>/worker-web`, beside `up`'s default program.
impl InitArgs {
    /// An edge worker of a local stack (`edgerun up --edge N`).
    pub fn local(keypair: PathBuf, out: PathBuf, worker_web: PathBuf, port: u16) -> Self {
        InitArgs {
            keypair,
            out,
            worker_web: Some(worker_web),
            port,
            stake_lamports: None,
            max_fuel: DEFAULT_MAX_FUEL,
            force: true,
        }
    }
}

pub fn default_build() -> PathBuf {
    crate::up::default_program()
        .parent()
        .and_then(|deploy| deploy.parent())
        .map(|target| target.join("worker-web"))
        .unwrap_or_default()
}

pub fn init(ctx: &Ctx, args: &InitArgs) -> Result<Made> {
    let key = edgerun_localnet::read_keypair(&args.keypair).with_context(|| {
        format!(
            "the worker keypair {} (a Solana keypair file: a JSON array of 64 numbers, \
             e.g. from `solana-keygen new -o worker.json`)",
            args.keypair.display()
        )
    })?;
    let build = args.worker_web.clone().unwrap_or_else(default_build);
    for (from, _, _) in MODULES {
        if !build.join(from).is_file() {
            bail!(
                "{} is missing: build worker-web first (`cargo xtask build-worker-web`) \
                 or pass --worker-web DIR",
                build.join(from).display()
            );
        }
    }
    check_url("--relay", &ctx.relay)?;
    check_url("--rpc", &ctx.rpc)?;
    let out = &args.out;
    if out.join(MANIFEST).exists() && !args.force {
        bail!(
            "{} already holds an edge worker: pass --force to replace its files, or choose another --out",
            out.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (from, to, _) in MODULES {
        std::fs::copy(build.join(from), out.join(to))
            .with_context(|| format!("copying {from} into {}", out.display()))?;
    }
    let address = key.pubkey().to_string();
    let secret = serde_json::to_string(&key.to_bytes().to_vec())?;
    write_secret(&out.join(KEY_FILE), &secret)?;
    let token = format!("{:032x}", rand::random::<u128>());
    write_secret(&out.join(TOKEN_FILE), &token)?;
    let mut vars = vec![
        ("EDGERUN_RELAY", ctx.relay.clone()),
        ("EDGERUN_RPC", ctx.rpc.clone()),
        ("EDGERUN_MAX_FUEL", args.max_fuel.to_string()),
    ];
    if let Some(p) = ctx.program_id {
        vars.push(("EDGERUN_PROGRAM_ID", p.to_string()));
    }
    if let Some(s) = args.stake_lamports {
        vars.push(("EDGERUN_STAKE_LAMPORTS", s.to_string()));
    }
    std::fs::write(out.join("config.capnp"), workerd_config(args.port, &vars))?;
    std::fs::write(out.join("wrangler.toml"), wrangler_toml(&address, &vars))?;
    let url = format!("http://127.0.0.1:{}", args.port);
    std::fs::write(
        out.join(MANIFEST),
        serde_json::to_string_pretty(&serde_json::json!({
            "worker": address,
            "url": url,
            "relay": ctx.relay,
            "rpc": ctx.rpc,
            "max_fuel": args.max_fuel,
        }))? + "\n",
    )?;
    Ok(Made { address, url })
}

fn check_url(flag: &str, url: &str) -> Result<()> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bail!("{flag} {url:?} is not an http(s) URL");
    }
    Ok(())
}

/// Written readable by its owner only (a key, a token).
fn write_secret(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// A capnp or TOML basic string (both take JSON's escapes for what a URL
/// or a number holds).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn workerd_config(port: u16, vars: &[(&str, String)]) -> String {
    let modules = MODULES
        .iter()
        .map(|(_, name, kind)| {
            let kind = match kind {
                Kind::EsModule => "esModule",
                Kind::Wasm => "wasm",
            };
            format!("    (name = \"{name}\", {kind} = embed \"{name}\"),\n")
        })
        .collect::<String>();
    let bindings = vars
        .iter()
        .map(|(k, v)| format!("    (name = \"{k}\", text = {}),\n", quoted(v)))
        .collect::<String>();
    format!(
        r#"# An edgerun edge worker for standalone workerd (`edgerun edge init`).
#   workerd serve config.capnp      then tick it: `edgerun edge run <this dir>`
# The key and the tick token are embedded from files readable by their
# owner only; nothing else here is secret.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .edge),
    # Outbound fetch to the relay and the RPC, wherever they are.
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:{port}", http = (), service = "main")],
);

const edge :Workerd.Worker = (
  modules = [
{modules}  ],
  bindings = [
    (name = "EDGERUN_WORKER_KEY", text = embed "{KEY_FILE}"),
    (name = "EDGERUN_TICK_TOKEN", text = embed "{TOKEN_FILE}"),
{bindings}  ],
  compatibilityDate = "2026-11-01",
  globalOutbound = "net",
);
"#
    )
}

fn wrangler_toml(address: &str, vars: &[(&str, String)]) -> String {
    let name = format!("edgerun-worker-{}", address[..8].to_lowercase());
    let vars = vars
        .iter()
        .map(|(k, v)| format!("{k} = {}\n", quoted(v)))
        .collect::<String>();
    format!(
        r#"# An edgerun edge worker for Cloudflare Workers (`edgerun edge init`).
#   npx wrangler secret put EDGERUN_WORKER_KEY < {KEY_FILE}
#   npx wrangler secret put EDGERUN_TICK_TOKEN < {TOKEN_FILE}
#   npx wrangler deploy
# The Cron Trigger wakes it every minute; each invocation ticks for 25 s.
name = "{name}"
main = "worker.mjs"
compatibility_date = "2026-11-01"

# worker.mjs imports both wasm modules; they are compiled at deploy time
# (the edge refuses to compile WebAssembly from bytes at run time).
[[rules]]
type = "CompiledWasm"
globs = ["**/*.wasm"]

[triggers]
crons = ["* * * * *"]

# The CPU limit edgerun assumes per invocation (docs/edge.md); seats
# above EDGERUN_MAX_FUEL are refused so that one job fits in half of it.
[limits]
cpu_ms = 30000

[vars]
{vars}"#
    )
}

fn print_init(made: &Made, out: &Path) {
    let dir = out.display();
    println!("edge worker {} written to {dir}", made.address);
    println!(
        "  local workerd:      edgerun edge run {dir}      (serves {} and ticks it)",
        made.url
    );
    println!(
        "    or by hand:       workerd serve {dir}/config.capnp, then POST {}/tick with header x-edgerun-tick: $(cat {dir}/{TOKEN_FILE})",
        made.url
    );
    println!(
        "  Cloudflare Workers: cd {dir} && npx wrangler secret put EDGERUN_WORKER_KEY < {KEY_FILE} \\"
    );
    println!(
        "                        && npx wrangler secret put EDGERUN_TICK_TOKEN < {TOKEN_FILE} && npx wrangler deploy"
    );
    println!(
        "  the key stakes from its own lamports at the first tick: fund {} first",
        made.address
    );
}

/// The workerd binary: the flag or EDGERUN_WORKERD, else npm's platform
/// binary under ./node_modules (its launcher would make another PID the
/// server), else `workerd` on PATH.
pub fn find_workerd(flag: Option<&Path>) -> Result<PathBuf> {
    let candidates: Vec<PathBuf> = match flag {
        Some(p) => vec![p.to_owned()],
        None => vec![
            PathBuf::from("node_modules/@cloudflare/workerd-linux-64/bin/workerd"),
            PathBuf::from("node_modules/.bin/workerd"),
            PathBuf::from("workerd"),
        ],
    };
    for c in &candidates {
        let ok = std::process::Command::new(c)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(c.clone());
        }
    }
    bail!(
        "no workerd runs here (tried {}): `npm install workerd` (or `./x setup`) installs it, or pass --workerd",
        candidates
            .iter()
            .map(|c| c.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// workerd, stopped by PID when dropped (SIGTERM, SIGKILL after 2 s:
/// workerd waits for open requests).
struct Workerd(std::process::Child);

impl Drop for Workerd {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve(args: &RunArgs) -> Result<()> {
    let dir = &args.dir;
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(MANIFEST)).with_context(|| {
            format!("{} is not an `edgerun edge init` directory", dir.display())
        })?)
        .with_context(|| format!("reading {}", dir.join(MANIFEST).display()))?;
    let (worker, url) = (
        manifest["worker"].as_str().unwrap_or("?").to_owned(),
        manifest["url"]
            .as_str()
            .context("edge.json names no url")?
            .to_owned(),
    );
    let token = std::fs::read_to_string(dir.join(TOKEN_FILE))
        .with_context(|| format!("reading {}", dir.join(TOKEN_FILE).display()))?;
    let workerd = find_workerd(args.workerd.as_deref())?;
    let log = std::fs::File::create(dir.join("workerd.log"))?;
    let child = std::process::Command::new(&workerd)
        .arg("serve")
        .arg(dir.join("config.capnp"))
        .arg("--verbose")
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", workerd.display()))?;
    let mut server = Workerd(child);
    println!(
        "edge {worker}: workerd pid {} at {url} (log {})",
        server.0.id(),
        dir.join("workerd.log").display()
    );
    let http = reqwest::Client::new();
    let mut stop = std::pin::pin!(edgerun_relay::shutdown_signal());
    let mut last_error = String::new();
    loop {
        if let Ok(Some(status)) = server.0.try_wait() {
            bail!(
                "workerd exited ({status}); see {}",
                dir.join("workerd.log").display()
            );
        }
        // One tick at a time: a tick that runs a job lasts as long as the
        // job (bounded by the fuel cap), and the next waits for it.
        let tick = http
            .post(format!("{url}/tick"))
            .header("x-edgerun-tick", token.trim())
            .timeout(Duration::from_secs(120))
            .send();
        let got = tokio::select! {
            _ = &mut stop => break,
            got = tick => got,
        };
        match got {
            Ok(res) => match res.json::<serde_json::Value>().await {
                Ok(body) => {
                    for e in body["events"].as_array().into_iter().flatten() {
                        report(&worker, e);
                    }
                    if let Some(error) = body["error"].as_str()
                        && error != last_error
                    {
                        eprintln!("edge {worker}: {error}");
                        last_error = error.to_owned();
                    }
                }
                Err(e) => eprintln!("edge {worker}: tick answer: {e}"),
            },
            // workerd not listening yet, or restarting.
            Err(e) if e.is_connect() => {}
            Err(e) => eprintln!("edge {worker}: tick: {e}"),
        }
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(Duration::from_millis(args.tick_ms)) => {}
        }
    }
    drop(server);
    println!("edge {worker}: stopped");
    Ok(())
}

/// The events worth a line (the worker core's actions and stalls).
fn report(worker: &str, e: &serde_json::Value) {
    let kind = e["type"].as_str().unwrap_or("");
    let job = e["job"]
        .as_str()
        .map(|j| &j[..j.len().min(16)])
        .unwrap_or("");
    match kind {
        "registered" => println!(
            "edge {worker}: registered, staked {} lamports",
            e["stake_lamports"]
        ),
        "submitted" | "revealed" => println!("edge {worker}: {kind} job {job}…"),
        "refused" => println!(
            "edge {worker}: will not run job {job}…: {}",
            e["reason"].as_str().unwrap_or("")
        ),
        "stalled" => println!(
            "edge {worker}: job {job}… stalled (retrying): {}",
            e["error"].as_str().unwrap_or("")
        ),
        _ => {}
    }
}
