//! assign_workers: the scheduler seats the committee drawn off chain from
//! the job's seed; each member locks `required_lock`. The round must fit
//! before the job's expiry.

use super::{args, settle};
use crate::error::require;
use crate::helpers::{as_mut, current_slot, emit, load_mut, require_signer};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::WorkersAssigned;
use edgerun_protocol::instruction::AssignWorkers;
use edgerun_protocol::layout::{Pubkey, U64};
use edgerun_protocol::state::{Job, Submission, job_status};
use edgerun_protocol::tier::MAX_COMMITTEE_SIZE;
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [authority, config, job, stakes @ ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let a: &AssignWorkers = args(data)?;
    require_signer(authority)?;
    settle::require_scheduler(config, authority, program_id, true)?;
    let mut d = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
    let j = as_mut::<Job>(&mut d);
    require(j.seed_set.get(), E::SeedNotSet)?;
    require(j.status == job_status::SEEDED, E::WrongJobStatus)?;
    let size = j.committee_size as usize;
    require(stakes.len() == size, E::WrongCommitteeSize)?;
    let lock = j.required_lock_lamports.get();
    let mut workers = [Pubkey::default(); MAX_COMMITTEE_SIZE as usize];
    for (i, stake) in stakes.iter_mut().enumerate() {
        let w = settle::lock_new_worker(stake, program_id, lock)?;
        require(!workers[..i].contains(&w), E::DuplicateWorker)?;
        workers[i] = w;
    }
    let deadline = settle::round_deadline(j, current_slot()?)?;
    j.assigned_workers = workers;
    j.assigned_count = size as u8;
    j.submissions = [Submission {
        seal: [0; 32],
        flags: 0,
    }; MAX_COMMITTEE_SIZE as usize];
    j.draws = size as u8;
    j.deadline_slot.set(deadline);
    j.status = job_status::ASSIGNED;
    emit(&WorkersAssigned {
        job_id: j.job_id,
        workers,
        count: size as u8,
        required_lock_lamports: U64::new(lock),
        snapshot_hash: a.snapshot_hash,
        deadline_slot: U64::new(deadline),
    });
    Ok(())
}
