//! cancel_expired_job: after `expiry_slot`, a job that never got its output
//! declared is cancelled: the escrow goes back to the client, submitters'
//! locks are released, and non-submitters pay the non-response penalty.
//! Permissionless.

use super::settle::{penalize_slot, release_slot};
use crate::error::require;
use crate::helpers::{as_mut, as_ref, current_slot, emit, load_mut, move_lamports, require_signer};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::JobCancelled;
use edgerun_protocol::layout::U64;
use edgerun_protocol::state::{GlobalConfig, Job, job_status, submission_flags};
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], _data: &[u8]) -> ProgramResult {
    let [caller, config, job, client, treasury, stakes @ ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    require_signer(caller)?;
    let penalty = {
        let cd = load_mut::<GlobalConfig>(config, program_id, E::WrongConfigAccount)?;
        let p = &as_ref::<GlobalConfig>(&cd).params;
        require(crate::helpers::is_key(treasury, &p.treasury), E::WrongTreasury)?;
        p.non_response_slash_lamports.get()
    };
    let (refund, from_status, job_id) = {
        let mut jd = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
        let j = as_mut::<Job>(&mut jd);
        require(
            matches!(
                j.status,
                job_status::POSTED | job_status::SEEDED | job_status::ASSIGNED | job_status::QUORUM_REACHED
            ),
            E::WrongJobStatus,
        )?;
        require(current_slot()? > j.expiry_slot.get(), E::ExpiryNotPassed)?;
        require(crate::helpers::is_key(client, &j.client), E::WrongClient)?;
        require(stakes.len() == j.assigned().len(), E::WrongCommitteeSize)?;
        for (i, stake) in stakes.iter_mut().enumerate() {
            let s = j.submissions[i];
            if s.has(submission_flags::SETTLED) {
                continue;
            }
            if s.has(submission_flags::SUBMITTED) {
                release_slot(j, i, stake, program_id)?;
            } else {
                penalize_slot(j, i, stake, treasury, program_id, penalty)?;
            }
        }
        let from = j.status;
        let refund = j.escrow_lamports.get();
        j.escrow_lamports.set(0);
        j.status = job_status::CANCELLED;
        (refund, from, j.job_id)
    };
    move_lamports(job, client, refund)?;
    emit(&JobCancelled {
        job_id,
        refund_lamports: U64::new(refund),
        from_status,
    });
    Ok(())
}
