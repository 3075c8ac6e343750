//! register_worker: creates the worker's `["worker_stake", worker]` PDA,
//! depositing `stake_lamports` on top of its rent from the authority. Both
//! sign: the worker key proves it is held (it will sign submissions and
//! attestations), the authority funds the stake and alone may withdraw it
//! or hand it over. A worker that is its own authority passes its key
//! twice.

use super::args;
use crate::helpers::{as_mut, create_pda, current_slot, require_canonical_pda, require_signer, require_system_program};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::instruction::RegisterWorker;
use edgerun_protocol::layout::Pubkey;
use edgerun_protocol::state::{WorkerStake, seeds, worker_status};
use pinocchio::cpi::Seed;
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [worker, authority, stake, system, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let a: &RegisterWorker = args(data)?;
    require_signer(worker)?;
    require_signer(authority)?;
    require_system_program(system)?;
    let key = *worker.address().as_array();
    require_canonical_pda(
        stake,
        &[seeds::WORKER_STAKE, &key],
        a.stake_bump,
        program_id,
        E::WrongStakeAccount,
    )?;
    let bump = [a.stake_bump];
    let amount = a.stake_lamports.get();
    create_pda::<WorkerStake>(
        authority,
        stake,
        program_id,
        &[Seed::from(seeds::WORKER_STAKE), Seed::from(&key), Seed::from(&bump)],
        amount,
    )?;
    let slot = current_slot()?;
    let mut d = stake.try_borrow_mut()?;
    let s = as_mut::<WorkerStake>(&mut d);
    s.worker = Pubkey(key);
    s.authority = Pubkey(*authority.address().as_array());
    s.total_stake.set(amount);
    s.status = worker_status::ACTIVE;
    s.registered_slot.set(slot);
    s.bump = a.stake_bump;
    Ok(())
}
