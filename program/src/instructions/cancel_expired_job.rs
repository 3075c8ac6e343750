//! cancel_expired_job: after `expiry_slot`, a job without a revealed quorum
//! is cancelled: the escrow, the unused records deposit and the priority
//! fee go back to the client, submitters' locks are released, and seats silent past their
//! round deadline pay the job's non-response penalty. Once a quorum is
//! revealed the job is settled by finalize_job or cancel_no_da instead, so
//! a client who saw the output cannot race a refund. Permissionless.

use super::settle::{release_slot, require_treasury, settle_silent_slot};
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
    require_treasury(config, treasury, program_id)?;
    let refund = {
        let mut jd = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
        let j = as_mut::<Job>(&mut jd);
        require(
            matches!(j.status, job_status::POSTED | job_status::SEEDED | job_status::ASSIGNED),
            E::WrongJobStatus,
        )?;
        let slot = current_slot()?;
        require(slot > j.expiry_slot.get(), E::ExpiryNotPassed)?;
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
                settle_silent_slot(j, i, slot, stake, treasury, program_id)?;
            }
        }
        super::settle::cancel(j)?
    };
    refund.pay(job, client)
}
