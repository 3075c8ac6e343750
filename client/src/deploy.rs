//! Deploying the program the way a cluster accepts it: the upgradeable
//! loader (loader v3) over plain JSON-RPC. The ELF goes into a buffer
//! account in chunks, then the first deploy creates the program at the
//! address of the operator's program keypair (the only way to own a program
//! address on a cluster), and a later one upgrades it in place. The upgrade
//! authority is the key that may then run `initialize_config`.

use futures_util::StreamExt;
use solana_keypair::Keypair;
use solana_loader_v3_interface::instruction as loader;
use solana_loader_v3_interface::state::UpgradeableLoaderState;
use solana_signer::Signer;

use crate::rpc::{Chain, ChainError};
use crate::{BPF_LOADER_UPGRADEABLE_ID, program_data_address};

/// Bytes of ELF per write transaction: a write with two signatures, four
/// accounts and the chunk stays under the 1,232-byte transaction limit.
pub const CHUNK: usize = 900;
/// Writes in flight at once.
const IN_FLIGHT: usize = 8;

/// What a deploy did.
#[derive(Clone, Debug)]
pub struct Report {
    pub program_id: String,
    /// An existing program was upgraded in place (not created).
    pub upgraded: bool,
    pub transactions: usize,
    pub signatures: usize,
    /// The payer's lamports spent: fees, and the rent of the program's
    /// accounts when it was created (the buffer's rent goes back).
    pub payer_spent_lamports: u64,
}

/// Deploys `elf` at `program`'s address, or upgrades the program already
/// there; `authority` is (or becomes) its upgrade authority, `payer` pays.
/// `progress(done, total)` is called after each confirmed write.
pub async fn deploy(
    chain: &Chain,
    payer: &Keypair,
    program: &Keypair,
    authority: &Keypair,
    elf: &[u8],
    progress: impl Fn(usize, usize),
) -> Result<Report, ChainError> {
    let unavailable = |what: &'static str| {
        move |e: solana_rpc_client_api::client_error::Error| ChainError::Unavailable {
            what,
            url: chain.url.clone(),
            cause: e.to_string(),
        }
    };
    let spent_before = chain
        .rpc
        .get_balance(&payer.pubkey())
        .await
        .map_err(unavailable("getBalance"))?;
    let existing = chain
        .rpc
        .get_account_with_commitment(&program.pubkey(), chain.rpc.commitment())
        .await
        .map_err(unavailable("getAccountInfo"))?
        .value;
    if let Some(acc) = &existing
        && acc.owner != BPF_LOADER_UPGRADEABLE_ID
    {
        return Err(ChainError::Refused(format!(
            "{} is already an account owned by {}, not an upgradeable program: use another program keypair",
            program.pubkey(),
            acc.owner
        )));
    }
    let mut transactions = 0;
    let mut signatures = 0;
    let two = |a: &Keypair, b: &Keypair| if a.pubkey() == b.pubkey() { 1 } else { 2 };

    // The buffer, owned by the loader, with `authority` as its authority.
    let buffer = Keypair::new();
    let buffer_len = UpgradeableLoaderState::size_of_buffer(elf.len());
    let rent = chain
        .rpc
        .get_minimum_balance_for_rent_exemption(buffer_len)
        .await
        .map_err(unavailable("getMinimumBalanceForRentExemption"))?;
    let create = loader::create_buffer(
        &payer.pubkey(),
        &buffer.pubkey(),
        &authority.pubkey(),
        rent,
        elf.len(),
    )
    .map_err(|e| ChainError::Refused(format!("building create_buffer: {e}")))?;
    chain.send(&create, payer, &[&buffer]).await?;
    transactions += 1;
    signatures += 2;

    // The ELF, in chunks, several in flight.
    let chunks: Vec<(usize, &[u8])> = elf.chunks(CHUNK).enumerate().collect();
    let total = chunks.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut writes = futures_util::stream::iter(chunks.into_iter().map(|(i, bytes)| {
        let ix = loader::write(
            &buffer.pubkey(),
            &authority.pubkey(),
            (i * CHUNK) as u32,
            bytes.to_vec(),
        );
        let others = others_of(payer, authority);
        let done = &done;
        let progress = &progress;
        async move {
            let r = chain.send(&[ix], payer, &others).await;
            progress(
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                total,
            );
            r
        }
    }))
    .buffer_unordered(IN_FLIGHT);
    while let Some(r) = writes.next().await {
        r?;
        transactions += 1;
        signatures += two(payer, authority);
    }

    let upgraded = existing.is_some();
    if upgraded {
        // Room for the new ELF in the ProgramData account.
        let data_address = program_data_address(&program.pubkey());
        let data = chain
            .rpc
            .get_account_with_commitment(&data_address, chain.rpc.commitment())
            .await
            .map_err(unavailable("getAccountInfo"))?
            .value
            .ok_or_else(|| {
                ChainError::Refused(format!("{} has no ProgramData account", program.pubkey()))
            })?;
        let room = data
            .data
            .len()
            .saturating_sub(UpgradeableLoaderState::size_of_programdata_metadata());
        if room < elf.len() {
            let extend = loader::extend_program_checked(
                &program.pubkey(),
                &authority.pubkey(),
                Some(&payer.pubkey()),
                (elf.len() - room) as u32,
            );
            chain
                .send(&[extend], payer, &others_of(payer, authority))
                .await?;
            transactions += 1;
            signatures += two(payer, authority);
        }
        let upgrade = loader::upgrade(
            &program.pubkey(),
            &buffer.pubkey(),
            &authority.pubkey(),
            &payer.pubkey(),
        );
        chain
            .send(&[upgrade], payer, &others_of(payer, authority))
            .await?;
        transactions += 1;
        signatures += two(payer, authority);
    } else {
        let program_rent = chain
            .rpc
            .get_minimum_balance_for_rent_exemption(UpgradeableLoaderState::size_of_program())
            .await
            .map_err(unavailable("getMinimumBalanceForRentExemption"))?;
        // Twice the ELF, so later upgrades fit without extending.
        let deploy = loader::deploy_with_max_program_len(
            &payer.pubkey(),
            &program.pubkey(),
            &buffer.pubkey(),
            &authority.pubkey(),
            program_rent,
            elf.len() * 2,
        )
        .map_err(|e| ChainError::Refused(format!("building deploy: {e}")))?;
        let mut others = vec![program];
        others.extend(others_of(payer, authority));
        chain.send(&deploy, payer, &others).await?;
        transactions += 1;
        signatures += 1 + others.len();
    }
    // A program (re)deployed in a slot can be invoked from the next one.
    let deployed_at = chain.slot().await?;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while chain.slot().await? <= deployed_at && std::time::Instant::now() < until {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let spent_after = chain
        .rpc
        .get_balance(&payer.pubkey())
        .await
        .map_err(unavailable("getBalance"))?;
    Ok(Report {
        program_id: program.pubkey().to_string(),
        upgraded,
        transactions,
        signatures,
        payer_spent_lamports: spent_before.saturating_sub(spent_after),
    })
}

fn others_of<'a>(payer: &Keypair, authority: &'a Keypair) -> Vec<&'a Keypair> {
    if authority.pubkey() == payer.pubkey() {
        vec![]
    } else {
        vec![authority]
    }
}
