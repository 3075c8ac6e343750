//! Stake settlement shared by assign_workers, finalize_job,
//! penalize_non_submitters, reassign_missing, cancel_no_da and
//! cancel_expired_job: the arithmetic is `edgerun_protocol::economics`; this
//! applies it to WorkerStake accounts and moves the lamports.

use crate::error::{econ, require};
use crate::helpers::{as_mut, emit, load_mut, move_lamports};
use edgerun_protocol::economics::{EconomicsError, Stake};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::WorkerPenalized;
use edgerun_protocol::layout::{Pubkey, U64};
use edgerun_protocol::state::{Job, WorkerStake, submission_flags};
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

/// Applies `f` to the stake in `acc`, which must be the WorkerStake of
/// `worker`; returns the lamports `f` says leave the stake.
pub fn update_stake(
    acc: &mut AccountView,
    program_id: &Address,
    worker: &Pubkey,
    f: impl FnOnce(Stake) -> Result<(Stake, u64), EconomicsError>,
) -> Result<u64, ProgramError> {
    let mut d = load_mut::<WorkerStake>(acc, program_id, E::WrongStakeAccount)?;
    let s = as_mut::<WorkerStake>(&mut d);
    require(s.worker == *worker, E::WrongStakeAccount)?;
    let (after, out) = f(Stake {
        total: s.total_stake.get(),
        locked: s.locked_stake.get(),
    })
    .map_err(econ)?;
    s.total_stake.set(after.total);
    s.locked_stake.set(after.locked);
    Ok(out)
}

/// Releases slot `i`'s lock and takes the non-response penalty to the
/// treasury; marks the slot settled and penalized. Returns the penalty.
pub fn penalize_slot(
    job: &mut Job,
    i: usize,
    stake: &mut AccountView,
    treasury: &mut AccountView,
    program_id: &Address,
    penalty: u64,
) -> Result<u64, ProgramError> {
    let lock = job.required_lock_lamports.get();
    let worker = job.assigned_workers[i];
    let amount = update_stake(stake, program_id, &worker, |s| s.penalize(lock, penalty))?;
    move_lamports(stake, treasury, amount)?;
    job.submissions[i].flags |= submission_flags::SETTLED | submission_flags::PENALIZED;
    emit(&WorkerPenalized {
        job_id: job.job_id,
        worker,
        amount: U64::new(amount),
    });
    Ok(amount)
}

/// Releases slot `i`'s lock without moving lamports; marks it settled.
pub fn release_slot(job: &mut Job, i: usize, stake: &mut AccountView, program_id: &Address) -> ProgramResult {
    let lock = job.required_lock_lamports.get();
    update_stake(stake, program_id, &job.assigned_workers[i], |s| {
        s.unlock(lock).map(|s| (s, 0))
    })?;
    job.submissions[i].flags |= submission_flags::SETTLED;
    Ok(())
}

/// Locks the job's required lock on a newly assigned worker's stake and
/// returns its worker key; the stake must be active.
pub fn lock_new_worker(acc: &mut AccountView, program_id: &Address, lock: u64) -> Result<Pubkey, ProgramError> {
    let mut d = load_mut::<WorkerStake>(acc, program_id, E::WrongStakeAccount)?;
    let s = as_mut::<WorkerStake>(&mut d);
    require(
        s.status == edgerun_protocol::state::worker_status::ACTIVE,
        E::WorkerNotActive,
    )?;
    let after = Stake {
        total: s.total_stake.get(),
        locked: s.locked_stake.get(),
    }
    .lock(lock)
    .map_err(econ)?;
    s.locked_stake.set(after.locked);
    Ok(s.worker)
}
