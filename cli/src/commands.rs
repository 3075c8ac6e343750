//! `post`, `status`, `get`: a customer's commands, over the relay (HTTP)
//! and the chain (standard JSON-RPC).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use edgerun_client::{JobSpec, job_pda};
use edgerun_protocol::hash::{self, Hash};
use edgerun_protocol::limits::Limits;
use edgerun_protocol::state::{Job, decode_pointer, job_status};
use edgerun_protocol::tier::Tier;
use edgerun_relay::RelayError;
use edgerun_relay::chain::Chain;
use edgerun_runtime::hex;
use indicatif::{ProgressBar, ProgressStyle};
use solana_address::Address;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;

use crate::TierArg;

/// Where the commands reach the world.
pub struct Ctx {
    pub rpc: String,
    pub relay: String,
    pub home: PathBuf,
    /// `--program-id` / `EDGERUN_PROGRAM_ID`, if given.
    pub program_id: Option<Address>,
    /// The program once resolved and checked.
    pub program: tokio::sync::OnceCell<Address>,
}

impl Ctx {
    pub fn rpc(&self) -> RpcClient {
        RpcClient::new_with_commitment(self.rpc.clone(), CommitmentConfig::confirmed())
    }

    /// The edgerun program the commands work with: `--program-id` (or
    /// `EDGERUN_PROGRAM_ID`), else the one the relay serves (`GET
    /// /v1/info`); checked once to be an edgerun program on `--rpc`, so a
    /// wrong id is refused with a message instead of reading nothing.
    pub async fn program(&self) -> Result<Address> {
        self.program
            .get_or_try_init(|| async {
                let program = match self.program_id {
                    Some(p) => p,
                    None => relay_program(&self.relay).await?,
                };
                Chain::connect(&self.rpc, program).verify_program().await?;
                Ok::<_, anyhow::Error>(program)
            })
            .await
            .copied()
    }
}

/// The program id the relay at `relay` serves.
async fn relay_program(relay: &str) -> Result<Address> {
    let url = format!("{relay}/v1/info");
    let hint = "pass --program-id (or EDGERUN_PROGRAM_ID) with the address `edgerun deploy` \
                printed, or a --relay that serves the program";
    let info: serde_json::Value = reqwest::get(&url)
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("cannot learn the program id from {url}; {hint}"))?
        .json()
        .await
        .with_context(|| format!("{url} did not answer JSON; {hint}"))?;
    let id = info["program_id"].as_str().with_context(|| {
        format!("the relay at {relay} serves no program (it has no chain); {hint}")
    })?;
    id.parse()
        .with_context(|| format!("the relay's program_id {id:?} is not an address"))
}

#[derive(clap::Args)]
pub struct PostArgs {
    /// The job's WebAssembly module.
    #[arg(long)]
    wasm: PathBuf,
    /// The job's input bytes.
    #[arg(long)]
    input: PathBuf,
    /// Service tier; sets the committee size (bronze 3/2, silver 5/3, gold 7/5).
    #[arg(long, value_enum, default_value = "bronze")]
    tier: TierArg,
    /// Escrow in lamports (default: the tier's minimum, at least 0.01 SOL).
    #[arg(long)]
    escrow: Option<u64>,
    /// Fuel cap (max_instructions).
    #[arg(long, default_value_t = 10_000_000_000)]
    fuel: u64,
    /// Memory cap in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    memory: u32,
    /// Output cap in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    output_cap: u32,
    /// Slots until an unfinished job can be cancelled and refunded.
    #[arg(long, default_value_t = 21_600)]
    ttl_slots: u64,
    /// Priority fee in lamports, paid on top of the escrow: the scheduler
    /// seeds and seats jobs with a higher fee first. It goes to the
    /// treasury when the job finalizes, back to you if it is cancelled.
    #[arg(long = "priority-fee", value_name = "LAMPORTS", default_value_t = 0)]
    priority_fee: u64,
    /// The paying customer's keypair (default: <home>/keys/customer.json).
    #[arg(long)]
    keypair: Option<PathBuf>,
    /// Wait until the job is Finalized (or Cancelled), printing each step.
    #[arg(long)]
    wait: bool,
    /// With --wait: download the output here, verified against the hash
    /// on chain.
    #[arg(long, value_name = "OUT", requires = "wait")]
    download: Option<PathBuf>,
    /// With --wait: give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout_s: u64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn tier_of(t: TierArg) -> Tier {
    match t {
        TierArg::Bronze => Tier::Bronze,
        TierArg::Silver => Tier::Silver,
        TierArg::Gold => Tier::Gold,
    }
}

/// A job id as `edgerun post` prints it, with an error that says what is
/// wanted.
pub fn parse_hash(s: &str, what: &str) -> Result<Hash> {
    hash::parse_hex(s.trim()).map_err(|e| {
        anyhow::anyhow!(
            "{what} must be 64 hex characters, in lower case (as `edgerun post` prints it); {s:?} is {e}"
        )
    })
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read the {what} {}", path.display()))
}

fn bytes_bar(len: u64, msg: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(msg.to_string());
    bar
}

fn spinner(msg: &str) -> ProgressBar {
    let s = ProgressBar::new_spinner();
    s.set_message(msg.to_string());
    s.enable_steady_tick(Duration::from_millis(100));
    s
}

/// The relay's JSON error, or the raw body.
async fn relay_error(resp: reqwest::Response) -> anyhow::Error {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    match serde_json::from_str::<serde_json::Value>(&body) {
        Ok(v) if v.get("message").is_some() => anyhow::anyhow!(
            "relay refused ({status}, {}): {}",
            v["code"].as_str().unwrap_or("?"),
            v["message"].as_str().unwrap_or("")
        ),
        _ => anyhow::anyhow!("relay answered {status}: {body}"),
    }
}

/// Uploads `bytes` to `<relay>/v1/<kind>/<hash>` with a progress bar.
pub async fn upload(
    relay: &str,
    kind: &str,
    hash: &Hash,
    bytes: Vec<u8>,
    quiet: bool,
) -> Result<()> {
    let url = format!("{relay}/v1/{kind}/{}", hex(hash));
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        bytes_bar(bytes.len() as u64, "upload")
    };
    let len = bytes.len();
    let chunks: Vec<Vec<u8>> = bytes.chunks(64 << 10).map(<[u8]>::to_vec).collect();
    let b = bar.clone();
    let stream = futures_util::stream::iter(chunks.into_iter().map(move |c| {
        b.inc(c.len() as u64);
        Ok::<_, std::io::Error>(c)
    }));
    let resp = reqwest::Client::new()
        .put(&url)
        .header(reqwest::header::CONTENT_LENGTH, len)
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .with_context(|| format!("cannot reach the relay at {relay}; is it running (`edgerun up`) or is --relay wrong?"))?;
    bar.finish_and_clear();
    if !resp.status().is_success() {
        return Err(relay_error(resp).await);
    }
    Ok(())
}

/// `edgerun post`.
pub async fn post(ctx: &Ctx, args: PostArgs) -> Result<()> {
    let keypair_path = args
        .keypair
        .clone()
        .unwrap_or_else(|| ctx.home.join("keys/customer.json"));
    let customer = edgerun_localnet::read_keypair(&keypair_path).with_context(
        || "the paying customer's keypair (pass --keypair, or run `edgerun up` for the demo key)",
    )?;
    let wasm = read(&args.wasm, "wasm module")?;
    let input = read(&args.input, "input")?;
    let limits = Limits::new(args.memory, args.fuel, args.output_cap);
    let bundle = edgerun_runtime::build_bundle(&wasm, &input, &limits)
        .with_context(|| format!("{} is not a valid edgerun job", args.wasm.display()))?;
    let escrow = args.escrow.unwrap_or(tier_of(args.tier).default_escrow());
    // The price from the chain's config, and the balance to pay it, before
    // a byte is uploaded.
    let price = crate::customer::price(ctx, escrow, args.priority_fee).await?;
    crate::customer::check_balance(ctx, &customer.pubkey(), &price).await?;
    if !args.json {
        price.print();
    }
    let spec = JobSpec::for_bundle(
        &customer.pubkey(),
        rand::random(),
        &bundle,
        escrow,
        args.ttl_slots,
    )?
    .with_priority_fee(args.priority_fee);
    let (job_id, bundle_hash) = (spec.job_id, spec.bundle_hash);
    upload(&ctx.relay, "bundles", &bundle_hash, bundle, args.json).await?;

    let program = ctx.program().await?;
    let ix = edgerun_client::post_job(&program, &customer.pubkey(), &spec);
    let rpc = ctx.rpc();
    let blockhash = rpc.get_latest_blockhash().await.with_context(|| {
        format!(
            "cannot reach the chain at {}; is it running (`edgerun up`) or is --rpc wrong?",
            ctx.rpc
        )
    })?;
    let tx = Transaction::new_signed_with_payer(
        &[ix],
        Some(&customer.pubkey()),
        &[&customer],
        blockhash,
    );
    let wait = if args.json {
        ProgressBar::hidden()
    } else {
        spinner("posting the job on chain")
    };
    let signature = rpc
        .send_and_confirm_transaction(&tx)
        .await
        .context("post_job was refused")?;
    wait.finish_and_clear();

    let job: Job = fetch_job(&chain(ctx).await?, &job_id).await?;
    let tier_name = Tier::for_escrow(job.escrow_lamports.get()).sla_name();
    let out = serde_json::json!({
        "job_id": hex(&job_id),
        "bundle_hash": hex(&bundle_hash),
        "bundle_url": format!("{}/v1/bundles/{}", ctx.relay, hex(&bundle_hash)),
        "tier": tier_name,
        "committee": format!("{}/{}", job.committee_size, job.quorum),
        "escrow_lamports": job.escrow_lamports.get(),
        "priority_fee_lamports": job.priority_fee_lamports.get(),
        "status": job_status::name(job.status),
        "signature": signature.to_string(),
        "job_account": job_pda(&program, &job_id).0.to_string(),
    });
    if args.json {
        println!("{out}");
    } else {
        println!("job_id       {}", out["job_id"].as_str().unwrap());
        println!("bundle_hash  {}", out["bundle_hash"].as_str().unwrap());
        println!("bundle_url   {}", out["bundle_url"].as_str().unwrap());
        println!(
            "tier         {tier_name} (committee {}, quorum {})",
            job.committee_size, job.quorum
        );
        println!("escrow       {} lamports", job.escrow_lamports.get());
        if job.priority_fee_lamports.get() > 0 {
            println!("priority fee {} lamports", job.priority_fee_lamports.get());
        }
        println!("status       {}", job_status::name(job.status));
        println!("account      {}", out["job_account"].as_str().unwrap());
        println!("signature    {signature}");
    }
    if args.wait {
        let status = crate::customer::wait(ctx, &job_id, args.timeout_s, args.json).await?;
        if status != job_status::name(job_status::FINALIZED) {
            bail!("job {} ended {status}, with no output", hex(&job_id));
        }
        if let Some(path) = &args.download {
            get(ctx, &hex(&job_id), path).await?;
        }
    }
    Ok(())
}

/// The chain as the relay reads it (same decoding, same errors).
async fn chain(ctx: &Ctx) -> Result<Chain> {
    Ok(Chain::connect(&ctx.rpc, ctx.program().await?))
}

async fn fetch_job(chain: &Chain, job_id: &Hash) -> Result<Job> {
    chain
        .job(job_id)
        .await?
        .ok_or_else(|| RelayError::JobNotFound(hex(job_id)).into())
}

/// Who was paid, slashed or penalized for a finished job, read from the
/// events in the job account's transactions: `{"paid": [{"to", "lamports"}],
/// "slashed": [...], "penalized": [...], "treasury_lamports"}`.
async fn settlement(ctx: &Ctx, job_id: &Hash) -> Result<serde_json::Value> {
    use edgerun_protocol::event::AnyEvent;
    let (mut paid, mut slashed, mut penalized, mut released) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut treasury = 0u64;
    let who = |k: &edgerun_protocol::layout::Pubkey| Address::new_from_array(k.0).to_string();
    for (slot, events) in crate::customer::history(ctx, job_id).await? {
        for event in events {
            match event {
                AnyEvent::JobFinalized(e) => {
                    treasury += e.treasury_lamports.get();
                    paid.push((e.winners, e.per_winner_lamports.get()));
                }
                AnyEvent::WorkerSlashed(e) => slashed.push(
                    serde_json::json!({"worker": who(&e.worker), "lamports": e.amount.get(), "slot": slot}),
                ),
                AnyEvent::WorkerPenalized(e) => penalized.push(
                    serde_json::json!({"worker": who(&e.worker), "lamports": e.amount.get(), "slot": slot}),
                ),
                AnyEvent::SeatReleased(e) => released.push(who(&e.worker)),
                _ => {}
            }
        }
    }
    // The winners are the seats whose seals matched the reveal.
    let job = fetch_job(&chain(ctx).await?, job_id).await?;
    let per_winner = paid.first().map(|p| p.1).unwrap_or(0);
    let winners: Vec<serde_json::Value> = job
        .winners()
        .map(|i| serde_json::json!({"to": who(&job.assigned_workers[i]), "lamports": per_winner}))
        .collect();
    Ok(serde_json::json!({
        "paid": winners,
        "treasury_lamports": treasury,
        "slashed": slashed,
        "penalized": penalized,
        "released": released,
    }))
}

/// `edgerun status`.
pub async fn status(ctx: &Ctx, job: &str, json: bool) -> Result<()> {
    let job_id = parse_hash(job, "the job id")?;
    let view = edgerun_relay::routes::jobs::read_view(&chain(ctx).await?, &job_id).await?;
    let mut out = serde_json::to_value(&view)?;
    if view.status == job_status::name(job_status::FINALIZED) {
        out["settlement"] = settlement(ctx, &job_id).await?;
    }
    if json {
        println!("{out}");
        return Ok(());
    }
    for (k, v) in out.as_object().expect("a struct") {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "-".into(),
            serde_json::Value::Array(a) if a.is_empty() => "-".into(),
            other => other.to_string(),
        };
        println!("{k:20} {text}");
    }
    Ok(())
}

/// The published output's bytes, from its pointer (or this relay), with
/// BLAKE3 checked against the hash on chain; an error if it differs.
pub async fn download_verified(
    ctx: &Ctx,
    output: &edgerun_protocol::state::OutputAvailability,
) -> Result<Vec<u8>> {
    let url = decode_pointer(&output.pointer)
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}/v1/outputs/{}", ctx.relay, hex(&output.output_hash)));
    let resp = reqwest::get(&url)
        .await
        .with_context(|| format!("downloading {url}"))?;
    if !resp.status().is_success() {
        return Err(relay_error(resp).await);
    }
    let bar = bytes_bar(resp.content_length().unwrap_or(0), "download");
    let mut hasher = blake3::Hasher::new();
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    use futures_util::StreamExt;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("the download broke off; run the command again")?;
        hasher.update(&chunk);
        bar.inc(chunk.len() as u64);
        body.extend_from_slice(&chunk);
    }
    bar.finish_and_clear();
    let got = *hasher.finalize().as_bytes();
    if got != output.output_hash {
        bail!(
            "the output from {url} does not match the hash on chain ({} != {}); nothing was written",
            hex(&got),
            hex(&output.output_hash)
        );
    }
    Ok(body)
}

/// `edgerun get`.
pub async fn get(ctx: &Ctx, job: &str, path: &Path) -> Result<()> {
    let job_id = parse_hash(job, "the job id")?;
    let chain = chain(ctx).await?;
    let job = fetch_job(&chain, &job_id).await?;
    let Some(output) = chain.output(&job_id).await? else {
        bail!(
            "job {} has no published output yet (status {}); try again after it reaches AwaitingDA or Finalized (`edgerun status {}`)",
            hex(&job_id),
            job_status::name(job.status),
            hex(&job_id)
        );
    };
    let body = download_verified(ctx, &output).await?;
    let got = output.output_hash;
    let tmp = path.with_extension("edgerun-partial");
    std::fs::write(&tmp, &body).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    println!(
        "{} ({} bytes, blake3 {} verified)",
        path.display(),
        body.len(),
        hex(&got)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Post {
        #[command(flatten)]
        args: PostArgs,
    }

    #[test]
    fn post_takes_a_priority_fee_in_lamports_and_defaults_to_none() {
        let with = ["post", "--wasm", "a.wasm", "--input", "in.txt"];
        let p = Post::try_parse_from(with.iter().chain(&["--priority-fee", "25000"])).unwrap();
        assert_eq!(p.args.priority_fee, 25_000);
        let p = Post::try_parse_from(with).unwrap();
        assert_eq!(p.args.priority_fee, 0);
        assert!(Post::try_parse_from(with.iter().chain(&["--priority-fee", "-1"])).is_err());
    }
}
