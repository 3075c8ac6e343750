//! What a customer does after `edgerun post`: price a job before posting
//! (`estimate`, and the check `post` makes), wait for it, cancel it, list
//! their jobs, and verify a job end to end (`verify`: the output against
//! the hash on chain, and the committee redrawn from the seed and the
//! snapshots the relay serves, with the protocol's own audit).

use anyhow::{Context, Result, bail};
use edgerun_protocol::economics::{JobCost, SIGNATURE_FEE, job_cost};
use edgerun_protocol::event::AnyEvent;
use edgerun_protocol::layout::Account as _;
use edgerun_protocol::selection::audit;
use edgerun_protocol::state::{Job, JobResult, OutputAvailability, job_status};
use edgerun_protocol::tier::Tier;
use edgerun_relay::chain::Chain;
use edgerun_runtime::hex;
use serde_json::{Value, json};
use solana_address::Address;
use solana_commitment_config::CommitmentConfig;
use solana_signer::Signer;
use solana_transaction::Transaction;

use crate::commands::{Ctx, parse_hash};

/// What a job costs on this chain now (`economics::job_cost`, the price
/// every client shows), with its tier and the fee terms it was computed
/// under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price {
    pub tier: Tier,
    pub fee_bps: u16,
    pub min_fee: u64,
    pub cost: JobCost,
}

impl Price {
    /// Everything the client's account must hold to post.
    pub fn total(&self) -> u64 {
        self.cost.total()
    }

    pub fn json(&self) -> Value {
        let c = self.tier.committee();
        json!({
            "tier": self.tier.sla_name(),
            "committee": c.size,
            "quorum": c.quorum,
            "escrow_lamports": self.cost.escrow,
            "protocol_fee_lamports": self.cost.fee,
            "protocol_fee_bps": self.fee_bps,
            "min_job_fee_lamports": self.min_fee,
            "per_worker_all_agree_lamports": self.cost.per_worker_all_agree,
            "per_worker_quorum_only_lamports": self.cost.per_worker_quorum_only,
            "records_deposit_lamports": self.cost.records_deposit,
            "job_rent_lamports": self.cost.job_rent,
            "priority_fee_lamports": self.cost.priority_fee,
            "total_lamports": self.total(),
        })
    }

    pub fn print(&self) {
        let c = self.tier.committee();
        println!(
            "tier          {} (committee {}, quorum {})",
            self.tier.sla_name(),
            c.size,
            c.quorum
        );
        let k = &self.cost;
        println!("escrow        {} lamports (pays the committee)", k.escrow);
        println!(
            "protocol fee  {} lamports ({} bps, at least {}), to the treasury",
            k.fee, self.fee_bps, self.min_fee
        );
        println!(
            "each worker   {} lamports if all agree, {} if only a quorum does",
            k.per_worker_all_agree, k.per_worker_quorum_only
        );
        println!(
            "deposits      {} lamports records (unused part refunded) + {} Job account",
            k.records_deposit, k.job_rent
        );
        if k.priority_fee > 0 {
            println!("priority fee  {} lamports", k.priority_fee);
        }
        println!(
            "you need      {} lamports (with the {SIGNATURE_FEE}-lamport signature fee)",
            self.total()
        );
    }
}

/// The price of a job of `escrow` (the tier's is its escrow's) from the
/// chain's Config and rent now.
pub async fn price(ctx: &Ctx, escrow: u64, priority_fee: u64) -> Result<Price> {
    let chain = Chain::connect(&ctx.rpc, ctx.program().await?);
    let config = chain.config().await?;
    let p = config.params;
    if escrow < p.min_escrow_lamports.get() {
        bail!(
            "an escrow of {escrow} lamports is below this chain's minimum of {}; raise --escrow",
            p.min_escrow_lamports.get()
        );
    }
    let tier = Tier::for_escrow(escrow);
    let c = tier.committee();
    let (fee_bps, min_fee) = (p.protocol_fee_bps.get(), p.min_job_fee_lamports.get());
    let rents = (
        chain.rent(JobResult::SPACE).await?,
        chain.rent(OutputAvailability::SPACE).await?,
        chain.rent(Job::SPACE).await?,
    );
    let cost = job_cost(
        escrow,
        priority_fee,
        fee_bps,
        min_fee,
        (c.size, c.quorum),
        rents,
    )
    .map_err(|e| anyhow::anyhow!("the chain's fee does not compute: {e:?}"))?;
    Ok(Price {
        tier,
        fee_bps,
        min_fee,
        cost,
    })
}

/// Refuses to post from `payer` unless it holds `price.total()`.
pub async fn check_balance(ctx: &Ctx, payer: &Address, price: &Price) -> Result<()> {
    let have = ctx
        .rpc()
        .get_balance(payer)
        .await
        .with_context(|| format!("reading {payer}'s balance at {}", ctx.rpc))?;
    if have < price.total() {
        bail!(
            "insufficient balance: {payer} holds {have} lamports and this {} job needs {} (escrow, deposits, fees); fund it and post again. Nothing was uploaded or posted.",
            price.tier.sla_name(),
            price.total()
        );
    }
    Ok(())
}

/// `edgerun estimate`.
pub async fn estimate(ctx: &Ctx, escrow: u64, priority_fee: u64, as_json: bool) -> Result<()> {
    let p = price(ctx, escrow, priority_fee).await?;
    if as_json {
        println!("{}", p.json());
    } else {
        p.print();
    }
    Ok(())
}

/// Polls the job until it is Finalized or Cancelled (at most `timeout_s`),
/// printing each status change unless `quiet`.
pub async fn wait(ctx: &Ctx, job_id: &[u8; 32], timeout_s: u64, quiet: bool) -> Result<String> {
    let chain = Chain::connect(&ctx.rpc, ctx.program().await?);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(timeout_s);
    let mut last = String::new();
    loop {
        let view = edgerun_relay::routes::jobs::read_view(&chain, job_id).await?;
        if view.status != last {
            if !quiet {
                let seals = view.committee.iter().filter(|s| s.seal.is_some()).count();
                println!(
                    "status        {} (slot {}, {seals} of {} seals)",
                    view.status,
                    view.current_slot,
                    view.committee.len()
                );
            }
            last = view.status.clone();
        }
        if matches!(last.as_str(), "Finalized" | "Cancelled") {
            return Ok(last);
        }
        if std::time::Instant::now() > until {
            bail!(
                "job {} is still {last} after {timeout_s} s; follow it with `edgerun status {}`",
                hex(job_id),
                hex(job_id)
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    }
}

/// `edgerun cancel`: the client takes a Posted or Seeded job back.
pub async fn cancel(
    ctx: &Ctx,
    job: &str,
    keypair: Option<std::path::PathBuf>,
    as_json: bool,
) -> Result<()> {
    let job_id = parse_hash(job, "the job id")?;
    let path = keypair.unwrap_or_else(|| ctx.home.join("keys/customer.json"));
    let client = edgerun_localnet::read_keypair(&path)
        .with_context(|| "the job's client keypair (pass --keypair)")?;
    let program = ctx.program().await?;
    let chain = Chain::connect(&ctx.rpc, program);
    let Some(j) = chain.job(&job_id).await? else {
        bail!("no job {} on this chain; check the id", hex(&job_id));
    };
    if j.client.0 != client.pubkey().to_bytes() {
        bail!(
            "job {} belongs to {}, not to {}: only its client can cancel it",
            hex(&job_id),
            Address::new_from_array(j.client.0),
            client.pubkey()
        );
    }
    if !matches!(j.status, job_status::POSTED | job_status::SEEDED) {
        bail!(
            "job {} is {}: a job can be cancelled only while Posted or Seeded (no worker holds a seat yet)",
            hex(&job_id),
            job_status::name(j.status)
        );
    }
    let rpc = ctx.rpc();
    let before = rpc.get_balance(&client.pubkey()).await?;
    let ix = edgerun_client::cancel_job(&program, &client.pubkey(), &job_id);
    let blockhash = rpc.get_latest_blockhash().await?;
    let tx =
        Transaction::new_signed_with_payer(&[ix], Some(&client.pubkey()), &[&client], blockhash);
    let signature = rpc
        .send_and_confirm_transaction(&tx)
        .await
        .context("cancel_job was refused")?;
    let after = rpc.get_balance(&client.pubkey()).await?;
    let out = json!({
        "job_id": hex(&job_id),
        "status": "Cancelled",
        "refunded_lamports": after.saturating_sub(before) + SIGNATURE_FEE,
        "signature": signature.to_string(),
    });
    if as_json {
        println!("{out}");
    } else {
        println!(
            "cancelled     {} ({} lamports back: escrow, records deposit, priority fee)",
            hex(&job_id),
            out["refunded_lamports"]
        );
        println!("signature     {signature}");
    }
    Ok(())
}

/// `edgerun jobs`: the client's jobs on this chain, newest first.
pub async fn jobs(
    ctx: &Ctx,
    client: Option<Address>,
    keypair: Option<std::path::PathBuf>,
    as_json: bool,
) -> Result<()> {
    let client = match client {
        Some(c) => c,
        None => {
            let path = keypair.unwrap_or_else(|| ctx.home.join("keys/customer.json"));
            edgerun_localnet::read_keypair(&path)
                .with_context(|| "whose jobs: pass --client ADDRESS or --keypair")?
                .pubkey()
        }
    };
    let program = ctx.program().await?;
    let mut list = edgerun_client::rpc::Chain::connect(&ctx.rpc, program)
        .jobs_of(&client)
        .await
        .context("getProgramAccounts (a public RPC may refuse it; use your own node)")?;
    list.sort_by_key(|j| std::cmp::Reverse(j.created_slot.get()));
    let rows: Vec<Value> = list
        .iter()
        .map(|j| {
            json!({
                "job_id": hex(&j.job_id),
                "status": job_status::name(j.status),
                "committee": format!("{}/{}", j.quorum, j.committee_size),
                "escrow_lamports": j.escrow_lamports.get(),
                "created_slot": j.created_slot.get(),
            })
        })
        .collect();
    if as_json {
        println!("{}", json!({"client": client.to_string(), "jobs": rows}));
    } else if rows.is_empty() {
        println!("{client} has posted no job on this chain");
    } else {
        for r in &rows {
            println!(
                "{}  {:13} {:5} escrow {:>12}  slot {}",
                r["job_id"].as_str().unwrap_or(""),
                r["status"].as_str().unwrap_or(""),
                r["committee"].as_str().unwrap_or(""),
                r["escrow_lamports"],
                r["created_slot"]
            );
        }
    }
    Ok(())
}

/// The edgerun events of every successful transaction of the job's
/// account, oldest first: each transaction's slot and this job's events.
pub async fn history(ctx: &Ctx, job_id: &[u8; 32]) -> Result<Vec<(u64, Vec<AnyEvent>)>> {
    let rpc = ctx.rpc();
    let account = edgerun_client::job_pda(&ctx.program().await?, job_id).0;
    let mut signatures = rpc
        .get_signatures_for_address(&account)
        .await
        .context("getSignaturesForAddress for the job account")?;
    signatures.reverse();
    let config = solana_rpc_client_api::config::RpcTransactionConfig {
        encoding: Some(solana_transaction_status_client_types::UiTransactionEncoding::Json),
        commitment: Some(CommitmentConfig::confirmed()),
        max_supported_transaction_version: Some(0),
    };
    let mut out = Vec::new();
    for s in signatures.iter().filter(|s| s.err.is_none()) {
        let signature: solana_signature::Signature = s.signature.parse()?;
        let tx = rpc
            .get_transaction_with_config(&signature, config)
            .await
            .with_context(|| format!("getTransaction {signature}"))?;
        let logs: Vec<String> = tx
            .transaction
            .meta
            .and_then(|m| Option::<Vec<String>>::from(m.log_messages))
            .unwrap_or_default();
        out.push((
            s.slot,
            edgerun_client::events_from_logs(&logs)
                .into_iter()
                .filter(|e| e.job_id() == job_id)
                .collect(),
        ));
    }
    Ok(out)
}

/// `edgerun verify`: the output against the hash on chain, and every draw
/// of the committee redrawn from the seed over the snapshot the relay
/// serves. Fails (exit 1) on any mismatch.
pub async fn verify(ctx: &Ctx, job: &str, as_json: bool) -> Result<()> {
    let job_id = parse_hash(job, "the job id")?;
    let chain = Chain::connect(&ctx.rpc, ctx.program().await?);
    let Some(j) = chain.job(&job_id).await? else {
        bail!("no job {} on this chain; check the id", hex(&job_id));
    };
    if !j.seed_set.get() {
        bail!(
            "job {} has no seed yet (status {}): its committee is not drawn; try again later",
            hex(&job_id),
            job_status::name(j.status)
        );
    }
    // The committee.
    let txs = history(ctx, &job_id).await?;
    let draws = audit::recorded_draws(txs.iter().map(|(_, events)| events.as_slice()));
    if draws.is_empty() {
        bail!("the chain records no draw for job {} yet", hex(&job_id));
    }
    let mut report = Vec::new();
    for d in &draws {
        let url = format!("{}/v1/selections/{}", ctx.relay, hex(&d.snapshot_hash));
        let bytes = reqwest::get(&url)
            .await
            .and_then(|r| r.error_for_status())
            .with_context(|| format!("fetching the snapshot {url}"))?
            .bytes()
            .await?;
        let (picked, candidates) = audit::redraw(&j.seed, &job_id, d, &bytes)
            .with_context(|| format!("redrawing from the snapshot {url}"))?;
        if picked != d.workers {
            bail!(
                "committee mismatch: draw {} seated {:?}, but the seed and snapshot draw {:?}",
                d.first_draw,
                d.workers
                    .iter()
                    .map(|w| Address::new_from_array(*w).to_string())
                    .collect::<Vec<_>>(),
                picked
                    .iter()
                    .map(|w| Address::new_from_array(*w).to_string())
                    .collect::<Vec<_>>()
            );
        }
        report.push(json!({
            "kind": if d.replacement { "replacement" } else { "committee" },
            "first_draw": d.first_draw,
            "snapshot_hash": hex(&d.snapshot_hash),
            "candidates": candidates,
            "workers": d.workers.iter().map(|w| Address::new_from_array(*w).to_string()).collect::<Vec<_>>(),
        }));
    }
    let drawn: Vec<[u8; 32]> = draws.iter().flat_map(|d| d.workers.clone()).collect();
    if let Some(w) = j.assigned().iter().find(|w| !drawn.contains(&w.0)) {
        bail!(
            "committee mismatch: {} holds a seat no recorded draw gave it",
            Address::new_from_array(w.0)
        );
    }
    // The output, if published.
    let output = match chain.output(&job_id).await? {
        None => Value::Null,
        Some(o) => {
            let bytes = crate::commands::download_verified(ctx, &o).await?;
            json!({"output_hash": hex(&o.output_hash), "bytes": bytes.len(), "verified": true})
        }
    };
    let out = json!({
        "job_id": hex(&job_id),
        "status": job_status::name(j.status),
        "seed": hex(&j.seed),
        "committee_verified": true,
        "draws": report,
        "output": output,
    });
    if as_json {
        println!("{out}");
    } else {
        println!(
            "job           {} ({})",
            hex(&job_id),
            job_status::name(j.status)
        );
        for r in &report {
            println!(
                "draw          {} from draw {} over snapshot {} ({} candidates): matches the seed",
                r["kind"].as_str().unwrap_or(""),
                r["first_draw"],
                r["snapshot_hash"].as_str().unwrap_or(""),
                r["candidates"]
            );
        }
        println!(
            "committee     verified: every seat came from the seed {}",
            hex(&j.seed)
        );
        match output.get("output_hash") {
            Some(h) => println!(
                "output        verified: {} bytes, blake3 {} (the hash on chain)",
                output["bytes"],
                h.as_str().unwrap_or("")
            ),
            None => println!("output        not published yet"),
        }
    }
    Ok(())
}
