//! cancel_job: the client takes the job back, with a full refund of the
//! escrow, while it is Posted or Seeded (no worker has locked stake yet).

use crate::error::require;
use crate::helpers::{as_mut, emit, load_mut, move_lamports, require_signer};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::JobCancelled;
use edgerun_protocol::layout::U64;
use edgerun_protocol::state::{Job, job_status};
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], _data: &[u8]) -> ProgramResult {
    let [client, job, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    require_signer(client)?;
    let (refund, from_status, job_id) = {
        let mut d = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
        let j = as_mut::<Job>(&mut d);
        require(crate::helpers::is_key(client, &j.client), E::NotJobClient)?;
        require(
            matches!(j.status, job_status::POSTED | job_status::SEEDED),
            E::WrongJobStatus,
        )?;
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
