//! cancel_no_da: quorum was revealed but no winner declared the output by
//! `da_deadline_slot`. The winners are penalized, repay their JobResult
//! rent into the job's records deposit (so an honest replacement is paid
//! its own back) and are unseated; seats that had not submitted when the
//! reveal closed their round are released (penalized only if their round
//! had already ended). Those seats are vacant for reassign_missing, and the
//! job goes back to Assigned with its round deadline unchanged: the job
//! stays alive. Permissionless.

use super::settle::{penalize_slot, require_treasury, settle_silent_slot, update_stake};
use crate::error::require;
use crate::helpers::{as_mut, current_slot, emit, load_mut, move_lamports, rent_exempt, require_signer};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::DaMissed;
use edgerun_protocol::layout::Account;
use edgerun_protocol::state::{Job, JobResult, job_status, submission_flags};
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], _data: &[u8]) -> ProgramResult {
    let [caller, config, job, treasury, stakes @ ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    require_signer(caller)?;
    require_treasury(config, treasury, program_id)?;
    let record_rent = rent_exempt(JobResult::SPACE)?;
    let mut repaid_by = [0u64; 9];
    {
        let mut jd = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
        let j = as_mut::<Job>(&mut jd);
        require(j.status == job_status::QUORUM_REACHED, E::WrongJobStatus)?;
        require(current_slot()? > j.da_deadline_slot.get(), E::DaDeadlineNotPassed)?;
        require(stakes.len() == j.assigned().len(), E::WrongCommitteeSize)?;
        let penalty = j.non_response_penalty_lamports.get();
        let revealed_at = j.quorum_reached_slot.get();
        for (i, stake) in stakes.iter_mut().enumerate() {
            let s = j.submissions[i];
            if s.has(submission_flags::SETTLED) {
                continue;
            }
            if s.has(submission_flags::WINNER) {
                penalize_slot(j, i, stake, treasury, program_id, penalty)?;
                let worker = j.assigned_workers[i];
                repaid_by[i] = update_stake(stake, program_id, &worker, |st| st.penalize(0, record_rent))?;
                j.submissions[i].flags &= !(submission_flags::SUBMITTED | submission_flags::WINNER);
                j.submissions[i].seal = [0; 32];
            } else if !s.has(submission_flags::SUBMITTED) {
                settle_silent_slot(j, i, revealed_at, stake, treasury, program_id)?;
            }
        }
        emit(&DaMissed {
            job_id: j.job_id,
            output_hash: j.winning_output_hash,
            deadline_slot: j.da_deadline_slot,
        });
        j.winning_output_hash = [0; 32];
        j.quorum_reached_slot.set(0);
        j.da_deadline_slot.set(0);
        j.status = job_status::ASSIGNED;
        let charged: u64 = repaid_by.iter().sum();
        j.records_lamports.set(j.records_lamports.get() + charged);
    }
    for (i, stake) in stakes.iter_mut().enumerate() {
        move_lamports(stake, job, repaid_by[i])?;
    }
    Ok(())
}
