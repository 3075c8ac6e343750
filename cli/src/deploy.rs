//! `edgerun deploy`: the program on a real cluster (or any chain without
//! it), the way a cluster accepts one: deployed by the upgradeable loader at
//! the address of the operator's program keypair, then its config created
//! by `initialize_config`, signed by the upgrade authority. Run again, it
//! upgrades the program in place and leaves the config as it is.

use std::path::PathBuf;

use anyhow::{Context, Result};
use edgerun_client::rpc::Chain;
use edgerun_protocol::state::ConfigParams;
use solana_address::Address;
use solana_signer::Signer;

use crate::commands::Ctx;

#[derive(clap::Args)]
pub struct DeployArgs {
    /// The program's keypair (Solana JSON format): its address is the
    /// program id. Keep it: the same file upgrades the program later.
    #[arg(long)]
    program_keypair: PathBuf,
    /// The upgrade authority, also the config's admin (it signs
    /// initialize_config and pays for the config account).
    #[arg(long)]
    admin: PathBuf,
    /// Pays the deploy's fees and rents [default: the admin].
    #[arg(long)]
    payer: Option<PathBuf>,
    /// The program ELF [default: <target>/deploy/edgerun_program.so, from
    /// `cargo xtask build-program`].
    #[arg(long)]
    program: Option<PathBuf>,
    /// The config's scheduler authority [default: the admin].
    #[arg(long)]
    scheduler: Option<Address>,
    /// The config's randomness authority [default: the scheduler].
    #[arg(long)]
    randomness: Option<Address>,
    /// Where fees, slashes and penalties go; must already hold lamports
    /// [default: the admin].
    #[arg(long)]
    treasury: Option<Address>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(ctx: &Ctx, args: DeployArgs) -> Result<()> {
    let read = |path: &PathBuf, what: &str| {
        edgerun_localnet::read_keypair(path)
            .with_context(|| format!("the {what} keypair {}", path.display()))
    };
    let program = read(&args.program_keypair, "program")?;
    let admin = read(&args.admin, "admin (upgrade authority)")?;
    let payer = match &args.payer {
        Some(p) => read(p, "payer")?,
        None => admin.insecure_clone(),
    };
    let so = args
        .program
        .clone()
        .unwrap_or_else(crate::up::default_program);
    let elf = std::fs::read(&so).with_context(|| {
        format!(
            "reading the program {}; build it with `cargo xtask build-program`",
            so.display()
        )
    })?;
    let chain = Chain::connect(&ctx.rpc, program.pubkey());
    let quiet = args.json;
    let report =
        edgerun_client::deploy::deploy(&chain, &payer, &program, &admin, &elf, |done, total| {
            if !quiet && (done == total || done % 50 == 0) {
                eprintln!("deploy: wrote {done}/{total} chunks");
            }
        })
        .await
        .with_context(|| {
            format!(
                "deploying {} to {} on {}",
                so.display(),
                program.pubkey(),
                ctx.rpc
            )
        })?;

    // The config: created once, by the upgrade authority; left as it is
    // on an upgrade.
    let mut transactions = report.transactions;
    let config_created = match chain.config().await {
        Ok(_) => false,
        Err(edgerun_client::rpc::ChainError::Decode { .. }) => {
            let admin_key = admin.pubkey().to_bytes();
            let scheduler = args.scheduler.map_or(admin_key, |a| a.to_bytes());
            let randomness = args.randomness.map_or(scheduler, |a| a.to_bytes());
            let treasury = args.treasury.map_or(admin_key, |a| a.to_bytes());
            let params = ConfigParams::with_defaults(
                admin_key,
                scheduler,
                randomness,
                treasury,
                &[edgerun_runtime::runtime_id()],
            );
            let ix = edgerun_client::initialize_config(&program.pubkey(), &admin.pubkey(), params);
            chain
                .send(&[ix], &admin, &[])
                .await
                .context("initialize_config (signed by the upgrade authority)")?;
            transactions += 1;
            true
        }
        Err(e) => return Err(e.into()),
    };
    chain.verify_program().await?;
    let config = chain.config().await?;
    let p = &config.params;
    let out = serde_json::json!({
        "program_id": report.program_id,
        "upgraded": report.upgraded,
        "config_created": config_created,
        "config": edgerun_client::config_pda(&program.pubkey()).0.to_string(),
        "admin": Address::new_from_array(p.admin.0).to_string(),
        "scheduler_authority": Address::new_from_array(p.scheduler_authority.0).to_string(),
        "randomness_authority": Address::new_from_array(p.randomness_authority.0).to_string(),
        "treasury": Address::new_from_array(p.treasury.0).to_string(),
        "transactions": transactions,
        "signatures": report.signatures,
        "payer_spent_lamports": report.payer_spent_lamports,
        "elf_bytes": elf.len(),
    });
    if args.json {
        println!("{out}");
    } else {
        println!(
            "program   {} ({})",
            report.program_id,
            if report.upgraded {
                "upgraded"
            } else {
                "deployed"
            }
        );
        println!(
            "config    {} ({})",
            out["config"].as_str().unwrap_or(""),
            if config_created {
                "created"
            } else {
                "kept as it was"
            }
        );
        println!("admin     {}", out["admin"].as_str().unwrap_or(""));
        println!("treasury  {}", out["treasury"].as_str().unwrap_or(""));
        println!(
            "cost      {transactions} transactions, {} lamports from the payer",
            report.payer_spent_lamports
        );
        println!(
            "next      EDGERUN_PROGRAM_ID={} edgerun --rpc {} …",
            report.program_id, ctx.rpc
        );
    }
    Ok(())
}
