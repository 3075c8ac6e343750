//! reassign_missing: after the round deadline, the scheduler replaces every
//! assigned worker that did not submit (already penalized) with the next
//! workers drawn from the seed; a new round deadline starts.

use super::{args, settle};
use crate::error::{err, require};
use crate::helpers::{as_mut, current_slot, emit, load_mut, require_signer};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::WorkerReassigned;
use edgerun_protocol::instruction::ReassignMissing;
use edgerun_protocol::layout::U64;
use edgerun_protocol::state::{Job, Submission, job_status, submission_flags};
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [authority, config, job, replacements @ ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let a: &ReassignMissing = args(data)?;
    require_signer(authority)?;
    let window = settle::scheduler_round(config, authority, program_id, false)?;
    let mut jd = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
    let j = as_mut::<Job>(&mut jd);
    require(j.status == job_status::ASSIGNED, E::WrongJobStatus)?;
    let slot = current_slot()?;
    require(slot > j.deadline_slot.get(), E::DeadlineNotPassed)?;
    let n = j.assigned().len();
    let missing = (0..n).filter(|&i| !j.submissions[i].has(submission_flags::SUBMITTED));
    let mut count = 0;
    for i in missing.clone() {
        require(j.submissions[i].has(submission_flags::SETTLED), E::NotSettled)?;
        count += 1;
    }
    require(count > 0, E::NothingToSettle)?;
    require(replacements.len() == count, E::WrongCommitteeSize)?;
    let draws = (j.draws as usize)
        .checked_add(count)
        .filter(|d| *d <= u8::MAX as usize)
        .ok_or(err(E::ArithmeticOverflow))?;
    let deadline = slot.checked_add(window).ok_or(err(E::ArithmeticOverflow))?;
    let lock = j.required_lock_lamports.get();
    let slots: [usize; 9] = {
        let mut s = [0; 9];
        for (k, i) in missing.enumerate() {
            s[k] = i;
        }
        s
    };
    for (k, stake) in replacements.iter_mut().enumerate() {
        let i = slots[k];
        let new_worker = settle::lock_new_worker(stake, program_id, lock)?;
        require(!j.assigned().contains(&new_worker), E::DuplicateWorker)?;
        let old_worker = j.assigned_workers[i];
        j.assigned_workers[i] = new_worker;
        j.submissions[i] = Submission {
            output_hash: [0; 32],
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
