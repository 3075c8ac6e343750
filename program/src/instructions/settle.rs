//! What several instructions share: stake settlement (the arithmetic is
//! `edgerun_protocol::economics`; this applies it to WorkerStake accounts
//! and moves the lamports), the config checks of the settling and the
//! scheduling instructions, and cancellation with refund.

use crate::error::{econ, require};
use crate::helpers::{as_mut, emit, is_key, load_mut, move_lamports, with_params};
use edgerun_protocol::economics::{EconomicsError, Stake};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::{JobCancelled, WorkerPenalized};
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

/// The config parameters settlement needs.
pub struct SettlementParams {
    pub non_response_penalty: u64,
    pub fee_bps: u16,
    pub challenge_window_slots: u64,
}

/// Reads the settlement parameters, checking that `treasury` is the
/// config's treasury.
pub fn settlement_params(
    config: &AccountView,
    treasury: &AccountView,
    program_id: &Address,
) -> Result<SettlementParams, ProgramError> {
    with_params(config, program_id, |p| {
        require(is_key(treasury, &p.treasury), E::WrongTreasury)?;
        Ok(SettlementParams {
            non_response_penalty: p.non_response_slash_lamports.get(),
            fee_bps: p.protocol_fee_bps.get(),
            challenge_window_slots: p.challenge_window_slots.get(),
        })
    })
}

/// Checks that `authority` is the scheduler authority (and, for new
/// assignments, that the protocol is not paused); returns the round length
/// `submit_window_slots`.
pub fn scheduler_round(
    config: &AccountView,
    authority: &AccountView,
    program_id: &Address,
    refuse_when_paused: bool,
) -> Result<u64, ProgramError> {
    with_params(config, program_id, |p| {
        require(is_key(authority, &p.scheduler_authority), E::NotSchedulerAuthority)?;
        require(!(refuse_when_paused && p.paused.get()), E::Paused)?;
        Ok(p.submit_window_slots.get())
    })
}

/// A cancelled job's refund, taken from its escrow.
pub struct Refund {
    job_id: [u8; 32],
    amount: u64,
    from_status: u8,
}

/// Cancels the job: its whole escrow becomes the client's refund.
pub fn cancel(j: &mut Job) -> Refund {
    let refund = Refund {
        job_id: j.job_id,
        amount: j.escrow_lamports.get(),
        from_status: j.status,
    };
    j.escrow_lamports.set(0);
    j.status = job_status::CANCELLED;
    refund
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
