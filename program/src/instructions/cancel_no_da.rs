//! cancel_no_da: quorum was reached but no winner declared the output by
//! `da_deadline_slot`. The winners are penalized and unseated, and the job
//! goes back to Assigned so reassign_missing can seat replacements: the job
//! stays alive. Permissionless.

use super::settle::penalize_slot;
use crate::error::require;
use crate::helpers::{as_mut, current_slot, emit, load_mut, mem_eq, require_signer};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::DaMissed;
use edgerun_protocol::state::{Job, job_status, submission_flags};
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], _data: &[u8]) -> ProgramResult {
    let [caller, config, job, treasury, stakes @ ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    require_signer(caller)?;
    let penalty = super::settle::settlement_params(config, treasury, program_id)?.non_response_penalty;
    let mut jd = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
    let j = as_mut::<Job>(&mut jd);
    require(j.status == job_status::QUORUM_REACHED, E::WrongJobStatus)?;
    let slot = current_slot()?;
    require(slot > j.da_deadline_slot.get(), E::DaDeadlineNotPassed)?;
    require(stakes.len() == j.assigned().len(), E::WrongCommitteeSize)?;
    let winning = j.winning_output_hash;
    for (i, stake) in stakes.iter_mut().enumerate() {
        let s = j.submissions[i];
        if s.has(submission_flags::SUBMITTED) && !s.has(submission_flags::SETTLED) && mem_eq(&s.output_hash, &winning) {
            penalize_slot(j, i, stake, treasury, program_id, penalty)?;
            j.submissions[i].flags &= !submission_flags::SUBMITTED;
            j.submissions[i].output_hash = [0; 32];
        }
    }
    emit(&DaMissed {
        job_id: j.job_id,
        output_hash: winning,
        deadline_slot: j.da_deadline_slot,
    });
    j.winning_output_hash = [0; 32];
    j.quorum_reached_slot.set(0);
    j.da_deadline_slot.set(0);
    // The unseated winners are replaceable from the next slot on.
    j.deadline_slot.set(slot);
    j.status = job_status::ASSIGNED;
    Ok(())
}
