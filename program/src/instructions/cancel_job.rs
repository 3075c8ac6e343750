//! cancel_job: the client takes the job back, with a full refund of the
//! escrow, the records deposit and the priority fee, while it is Posted or
//! Seeded (no worker has locked stake yet).

use crate::error::require;
use crate::helpers::{as_mut, is_key, load_mut, require_signer};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::state::{Job, job_status};
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], _data: &[u8]) -> ProgramResult {
    let [client, job, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    require_signer(client)?;
    let refund = {
        let mut d = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
        let j = as_mut::<Job>(&mut d);
        require(is_key(client, &j.client), E::NotJobClient)?;
        require(
            matches!(j.status, job_status::POSTED | job_status::SEEDED),
            E::WrongJobStatus,
        )?;
        super::settle::cancel(j)?
    };
    refund.pay(job, client)
}
