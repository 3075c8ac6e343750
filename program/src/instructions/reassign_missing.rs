//! reassign_missing: the scheduler fills every vacant seat (settled without
//! a standing submission: penalized for silence, released, or unseated
//! after a missed DA deadline) with the next workers drawn from the seed.
//! A worker that ever sat in the job is never seated in it again (the job
//! remembers former seat holders), so no worker is penalized twice for one
//! job. A new round starts, and it must fit before the job's expiry.

use super::{args, settle};
use crate::error::{err, require};
use crate::helpers::{as_mut, current_slot, emit, load_mut, require_signer};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::WorkerReassigned;
use edgerun_protocol::instruction::ReassignMissing;
use edgerun_protocol::layout::U64;
use edgerun_protocol::state::{Job, MAX_FORMER_WORKERS, Submission, former_key, job_status, submission_flags};
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [authority, config, job, replacements @ ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let a: &ReassignMissing = args(data)?;
    require_signer(authority)?;
    settle::require_scheduler(config, authority, program_id, false)?;
    let mut jd = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
    let j = as_mut::<Job>(&mut jd);
    require(j.status == job_status::ASSIGNED, E::WrongJobStatus)?;
    let deadline = settle::round_deadline(j, current_slot()?)?;
    let n = j.assigned().len();
    let vacant = |s: &Submission| s.has(submission_flags::SETTLED) && !s.has(submission_flags::SUBMITTED);
    let mut seats = [0usize; 9];
    let mut count = 0;
    for i in 0..n {
        if vacant(&j.submissions[i]) {
            seats[count] = i;
            count += 1;
        }
    }
    require(count > 0, E::NothingToSettle)?;
    require(replacements.len() == count, E::WrongCommitteeSize)?;
    require(
        j.former_count as usize + count <= MAX_FORMER_WORKERS,
        E::TooManyReplacements,
    )?;
    let draws = (j.draws as usize)
        .checked_add(count)
        .filter(|d| *d <= u8::MAX as usize)
        .ok_or(err(E::ArithmeticOverflow))?;
    let lock = j.required_lock_lamports.get();
    for (k, stake) in replacements.iter_mut().enumerate() {
        let i = seats[k];
        let new_worker = settle::lock_new_worker(stake, program_id, lock)?;
        require(!j.has_seated(&new_worker), E::WorkerWasSeated)?;
        let old_worker = j.assigned_workers[i];
        j.former_workers[j.former_count as usize] = former_key(&old_worker);
        j.former_count += 1;
        j.assigned_workers[i] = new_worker;
        j.submissions[i] = Submission {
            seal: [0; 32],
            flags: 0,
        };
        emit(&WorkerReassigned {
            job_id: j.job_id,
            old_worker,
            new_worker,
            snapshot_hash: a.snapshot_hash,
            deadline_slot: U64::new(deadline),
        });
    }
    j.draws = draws as u8;
    j.deadline_slot.set(deadline);
    Ok(())
}
