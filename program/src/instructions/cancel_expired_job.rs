//! cancel_expired_job: after `expiry_slot`, a job that never got its output
//! declared is cancelled: the escrow goes back to the client, submitters'
//! locks are released, and non-submitters pay the non-response penalty.
//! Permissionless.

use super::settle::{penalize_slot, release_slot};
use crate::error::require;
use crate::helpers::{as_mut, current_slot, is_key, load_mut, require_signer};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::state::{Job, job_status, submission_flags};
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], _data: &[u8]) -> ProgramResult {
    let [caller, config, job, client, treasury, stakes @ ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    require_signer(caller)?;
    let penalty = super::settle::settlement_params(config, treasury, program_id)?.non_response_penalty;
    let refund = {
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
        require(is_key(client, &j.client), E::WrongClient)?;
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
        super::settle::cancel(j)
    };
    refund.pay(job, client)
}
