//! What several instructions share: stake settlement (the arithmetic is
//! `edgerun_protocol::economics`; this applies it to WorkerStake accounts
//! and moves the lamports), the config checks of the settling and the
//! scheduling instructions, and cancellation with refund.

use crate::error::{econ, require};
use crate::helpers::{as_mut, emit, is_key, load_mut, move_lamports, with_params};
use edgerun_protocol::economics::{EconomicsError, Held, Stake};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::{JobCancelled, SeatReleased, WorkerPenalized};
use edgerun_protocol::layout::{Pubkey, U64};
use edgerun_protocol::state::{Job, WorkerStake, job_status, submission_flags};
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
    emit(&SeatReleased {
        job_id: job.job_id,
        worker: job.assigned_workers[i],
    });
    Ok(())
}

/// Settles a seat that did not submit, as of slot `at` (the slot its
/// silence ended: the reveal that closed the round, or now): penalized if
/// its round deadline had passed by then, otherwise released without pay
/// and without penalty. Returns whether it was penalized.
pub fn settle_silent_slot(
    job: &mut Job,
    i: usize,
    at: u64,
    stake: &mut AccountView,
    treasury: &mut AccountView,
    program_id: &Address,
) -> Result<bool, ProgramError> {
    if at > job.deadline_slot.get() {
        let penalty = job.non_response_penalty_lamports.get();
        penalize_slot(job, i, stake, treasury, program_id, penalty)?;
        Ok(true)
    } else {
        release_slot(job, i, stake, program_id)?;
        Ok(false)
    }
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

/// Checks that `treasury` is the config's treasury (where fees, slashes
/// and penalties go; the amounts are the job's own terms).
pub fn require_treasury(config: &AccountView, treasury: &AccountView, program_id: &Address) -> ProgramResult {
    with_params(config, program_id, |p| {
        require(is_key(treasury, &p.treasury), E::WrongTreasury)
    })
}

/// Checks that `authority` is the scheduler authority and, for new
/// assignments, that the protocol is not paused.
pub fn require_scheduler(
    config: &AccountView,
    authority: &AccountView,
    program_id: &Address,
    refuse_when_paused: bool,
) -> ProgramResult {
    with_params(config, program_id, |p| {
        require(is_key(authority, &p.scheduler_authority), E::NotSchedulerAuthority)?;
        require(!(refuse_when_paused && p.paused.get()), E::Paused)
    })
}

/// The deadline of a round starting at `slot`, if a whole round fits
/// before the job's expiry (no round is cut short by expiry, so a seat is
/// only ever penalized for silence through a full round).
pub fn round_deadline(job: &Job, slot: u64) -> Result<u64, ProgramError> {
    let deadline = slot
        .checked_add(job.submit_window_slots.get())
        .ok_or(crate::error::err(E::ArithmeticOverflow))?;
    require(deadline <= job.expiry_slot.get(), E::RoundPastExpiry)?;
    Ok(deadline)
}

/// Creates the record `T` at `record` (signed by `seeds`) with its rent
/// from the job's records deposit, so the seat creating it pays nothing (a
/// browser volunteer's key holds no lamports). Allocate and assign come
/// first, then the lamports move: a lamport move before a CPI would leave
/// the caller's frame unbalanced. When the deposit runs short (after a
/// missed DA deadline the unseated winners could not repay it), `payer`
/// pays the record as before.
pub fn create_record<T: edgerun_protocol::layout::Account>(
    job: &mut AccountView,
    payer: &AccountView,
    record: &mut AccountView,
    program_id: &Address,
    seeds: &[pinocchio::cpi::Seed],
) -> ProgramResult {
    let rent = crate::helpers::rent_exempt(T::SPACE)?;
    let funded = {
        let mut d = job.try_borrow_mut()?;
        let j = as_mut::<Job>(&mut d);
        let covered = j.records_lamports.get() >= rent && record.lamports() == 0;
        if covered {
            j.records_lamports.set(j.records_lamports.get() - rent);
        }
        covered
    };
    if !funded {
        crate::helpers::create_pda::<T>(payer, record, program_id, seeds, 0)?;
        return Ok(());
    }
    crate::helpers::allocate_and_assign::<T>(record, program_id, seeds)?;
    move_lamports(job, record, rent)?;
    let mut data = record.try_borrow_mut()?;
    edgerun_protocol::layout::init::<T>(&mut data).map_err(|_| crate::error::err(E::AlreadyInitialized))?;
    Ok(())
}

/// A cancelled job's refund: its escrow, what is left of its records
/// deposit, and its priority fee (no service was delivered).
pub struct Refund {
    job_id: [u8; 32],
    amount: u64,
    from_status: u8,
}

/// Cancels the job: its whole escrow, the unused records deposit and the
/// priority fee become the client's refund.
pub fn cancel(j: &mut Job) -> Result<Refund, ProgramError> {
    let amount = Held {
        escrow: j.escrow_lamports.get(),
        records: j.records_lamports.get(),
        priority_fee: j.priority_fee_lamports.get(),
    }
    .refund()
    .map_err(econ)?;
    let refund = Refund {
        job_id: j.job_id,
        amount,
        from_status: j.status,
    };
    j.escrow_lamports.set(0);
    j.records_lamports.set(0);
    j.priority_fee_lamports.set(0);
    j.status = job_status::CANCELLED;
    Ok(refund)
}

impl Refund {
    /// Pays the refund from the job account to the client; emits JobCancelled.
    pub fn pay(self, job: &mut AccountView, client: &mut AccountView) -> ProgramResult {
        move_lamports(job, client, self.amount)?;
        emit(&JobCancelled {
            job_id: self.job_id,
            refund_lamports: U64::new(self.amount),
            from_status: self.from_status,
        });
        Ok(())
    }
}
