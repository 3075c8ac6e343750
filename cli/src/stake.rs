//! `edgerun stake`: a worker's stake as its authority sees it. The worker
//! key signs submissions; the authority (the wallet that funded the stake,
//! or the one it was handed to) withdraws and hands over. Anyone may
//! deposit.

use std::path::PathBuf;

use anyhow::{Context, Result};
use edgerun_client::rpc::Chain;
use solana_address::Address;
use solana_signer::Signer;

use crate::commands::Ctx;

#[derive(clap::Subcommand)]
pub enum StakeCmd {
    /// Show a worker's stake: total, locked, unlocked, authority.
    Show {
        /// The worker's address.
        worker: Address,
    },
    /// Add lamports to a worker's stake (anyone may).
    Deposit {
        worker: Address,
        /// Lamports to add.
        lamports: u64,
        /// Who pays [default: <home>/keys/customer.json].
        #[arg(long)]
        keypair: Option<PathBuf>,
    },
    /// Take unlocked stake out, to the authority.
    Withdraw {
        worker: Address,
        /// Lamports to take [default: all of the unlocked stake].
        lamports: Option<u64>,
        /// The stake's authority.
        #[arg(long)]
        keypair: PathBuf,
    },
    /// Hand the stake to another authority.
    Authority {
        worker: Address,
        /// The new authority's address.
        new_authority: Address,
        /// The current authority.
        #[arg(long)]
        keypair: PathBuf,
    },
}

pub async fn run(ctx: &Ctx, cmd: StakeCmd) -> Result<()> {
    let program = ctx.program().await?;
    let chain = Chain::connect(&ctx.rpc, program);
    let read = |path: &PathBuf| {
        edgerun_localnet::read_keypair(path)
            .with_context(|| format!("the keypair {}", path.display()))
    };
    let stake_of = |worker: Address| {
        let chain = &chain;
        async move {
            chain.stake(&worker).await?.with_context(|| {
                format!("{worker} has no stake: it registers when `edgerun worker` first runs")
            })
        }
    };
    let worker = match cmd {
        StakeCmd::Show { worker } => worker,
        StakeCmd::Deposit {
            worker,
            lamports,
            keypair,
        } => {
            let funder = read(&keypair.unwrap_or_else(|| ctx.home.join("keys/customer.json")))?;
            stake_of(worker).await?;
            let ix = edgerun_client::deposit_stake(&program, &funder.pubkey(), &worker, lamports);
            chain
                .send(&[ix], &funder, &[])
                .await
                .context("deposit_stake")?;
            worker
        }
        StakeCmd::Withdraw {
            worker,
            lamports,
            keypair,
        } => {
            let authority = read(&keypair)?;
            let s = stake_of(worker).await?;
            let unlocked = s.total_stake.get() - s.locked_stake.get();
            let amount = lamports.unwrap_or(unlocked);
            anyhow::ensure!(
                amount > 0,
                "{worker} has no unlocked stake to withdraw (locked {} of {})",
                s.locked_stake.get(),
                s.total_stake.get()
            );
            let ix = edgerun_client::withdraw_stake(&program, &authority.pubkey(), &worker, amount);
            chain.send(&[ix], &authority, &[]).await.with_context(|| {
                format!(
                    "withdraw_stake of {amount} lamports (unlocked: {unlocked}; authority {})",
                    Address::new_from_array(s.authority.0)
                )
            })?;
            worker
        }
        StakeCmd::Authority {
            worker,
            new_authority,
            keypair,
        } => {
            let authority = read(&keypair)?;
            stake_of(worker).await?;
            let ix = edgerun_client::set_stake_authority(
                &program,
                &authority.pubkey(),
                &worker,
                &new_authority,
            );
            chain
                .send(&[ix], &authority, &[])
                .await
                .context("set_stake_authority")?;
            worker
        }
    };
    let s = stake_of(worker).await?;
    println!(
        "{}",
        serde_json::json!({
            "worker": worker.to_string(),
            "authority": Address::new_from_array(s.authority.0).to_string(),
            "total_lamports": s.total_stake.get(),
            "locked_lamports": s.locked_stake.get(),
            "unlocked_lamports": s.total_stake.get() - s.locked_stake.get(),
        })
    );
    Ok(())
}
