//! set_job_seed: the randomness authority fixes the job's selection seed,
//! once, before any assignment.

use super::args;
use crate::error::require;
use crate::helpers::{as_mut, emit, is_key, load_mut, require_signer, with_params};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::JobSeeded;
use edgerun_protocol::instruction::SetJobSeed;
use edgerun_protocol::layout::Bool;
use edgerun_protocol::state::{Job, job_status};
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [authority, config, job, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let a: &SetJobSeed = args(data)?;
    require_signer(authority)?;
    with_params(config, program_id, |p| {
        require(is_key(authority, &p.randomness_authority), E::NotRandomnessAuthority)
    })?;
    let mut d = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
    let j = as_mut::<Job>(&mut d);
    require(!j.seed_set.get(), E::SeedAlreadySet)?;
    require(j.status == job_status::POSTED, E::WrongJobStatus)?;
    j.seed = a.seed;
    j.seed_set = Bool::TRUE;
    j.status = job_status::SEEDED;
    emit(&JobSeeded {
        job_id: j.job_id,
        seed: a.seed,
    });
    Ok(())
}
