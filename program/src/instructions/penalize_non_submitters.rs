//! penalize_non_submitters: after the round deadline, before any reveal,
//! every assigned worker that did not submit has its lock released and pays
//! the job's non-response penalty, once; its seat is then vacant for
//! reassign_missing. Permissionless.

use super::settle::{penalize_slot, require_treasury};
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
    require_treasury(config, treasury, program_id)?;
    let mut jd = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
    let j = as_mut::<Job>(&mut jd);
    // After a reveal, silent seats are settled by finalize_job or
    // cancel_no_da, which know whether the reveal cut their round short.
    require(j.status == job_status::ASSIGNED, E::WrongJobStatus)?;
    require(current_slot()? > j.deadline_slot.get(), E::DeadlineNotPassed)?;
    require(stakes.len() == j.assigned().len(), E::WrongCommitteeSize)?;
    let penalty = j.non_response_penalty_lamports.get();
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
