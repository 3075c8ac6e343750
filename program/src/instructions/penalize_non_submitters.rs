//! penalize_non_submitters: after the round deadline, every assigned worker
//! that did not submit has its lock released and pays the non-response
//! penalty, once. Permissionless.

use super::settle::penalize_slot;
use crate::error::require;
use crate::helpers::{as_mut, current_slot, load_mut, require_signer};
use edgerun_protocol::error::ProgramErrorCode as E;
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
    require(job_status::takes_submissions(j.status), E::WrongJobStatus)?;
    require(current_slot()? > j.deadline_slot.get(), E::DeadlineNotPassed)?;
    require(stakes.len() == j.assigned().len(), E::WrongCommitteeSize)?;
    let mut settled = 0;
    for (i, stake) in stakes.iter_mut().enumerate() {
        let s = j.submissions[i];
        if !s.has(submission_flags::SUBMITTED) && !s.has(submission_flags::SETTLED) {
            penalize_slot(j, i, stake, treasury, program_id, penalty)?;
            settled += 1;
        }
    }
    require(settled > 0, E::NothingToSettle)
}
