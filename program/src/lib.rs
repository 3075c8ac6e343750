//! edgerun's on-chain program: escrow, worker stake, committees,
//! attestations, data availability and payouts.
//!
//! pinocchio (no_std), built for SBF by `cargo xtask build-program`. Every
//! layout, discriminator and amount comes from `edgerun-protocol`; this crate
//! only checks accounts and moves lamports. One file per instruction under
//! [`instructions`]. With the `entrypoint` feature off it is a plain library.
#![no_std]

#[cfg(any(target_os = "solana", target_arch = "bpf"))]
use solana_compiler_builtins as _;

pub mod error;
pub mod helpers;
pub mod instructions;

use edgerun_protocol::error::ProgramErrorCode;
use edgerun_protocol::instruction::Ix;
use pinocchio::{AccountView, Address, ProgramResult};

/// Most accounts any instruction takes: 5 fixed + 9 worker stakes.
pub const MAX_ACCOUNTS: usize = 16;

#[cfg(feature = "entrypoint")]
mod entrypoint {
    pinocchio::program_entrypoint!(crate::process_instruction, { crate::MAX_ACCOUNTS });
    pinocchio::no_allocator!();
    pinocchio::nostd_panic_handler!();
}

/// Dispatches on the 8-byte Anchor discriminator.
pub fn process_instruction(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let ix = Ix::from_data(data).map_err(|_| error::err(ProgramErrorCode::InvalidInstruction))?;
    let args = &data[8..];
    use instructions::*;
    match ix {
        Ix::InitializeConfig => initialize_config::process(program_id, accounts, args),
        Ix::UpdateConfig => update_config::process(program_id, accounts, args),
        Ix::RegisterWorker => register_worker::process(program_id, accounts, args),
        Ix::DepositStake => deposit_stake::process(program_id, accounts, args),
        Ix::WithdrawStake => withdraw_stake::process(program_id, accounts, args),
        Ix::SetStakeAuthority => set_stake_authority::process(program_id, accounts, args),
        Ix::PostJob => post_job::process(program_id, accounts, args),
        Ix::CancelJob => cancel_job::process(program_id, accounts, args),
        Ix::CancelExpiredJob => cancel_expired_job::process(program_id, accounts, args),
        Ix::SetJobSeed => set_job_seed::process(program_id, accounts, args),
        Ix::AssignWorkers => assign_workers::process(program_id, accounts, args),
        Ix::SubmitResult => submit_result::process(program_id, accounts, args, data),
        Ix::ReachQuorum => reach_quorum::process(program_id, accounts, args),
        Ix::DeclareOutput => declare_output::process(program_id, accounts, args),
        Ix::FinalizeJob => finalize_job::process(program_id, accounts, args),
        Ix::PenalizeNonSubmitters => penalize_non_submitters::process(program_id, accounts, args),
        Ix::ReassignMissing => reassign_missing::process(program_id, accounts, args),
        Ix::CancelNoDa => cancel_no_da::process(program_id, accounts, args),
    }
}
