//! post_job: creates the `["job", job_id]` PDA holding the escrow; the
//! escrow's tier sets the committee.

use super::args;
use crate::error::{err, require};
use crate::helpers::{
    as_mut, create_pda, current_slot, emit, require_canonical_pda, require_signer, require_system_program, with_params,
};
use edgerun_protocol::economics::required_lock;
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::JobPosted;
use edgerun_protocol::instruction::PostJob;
use edgerun_protocol::layout::{Pubkey, U64};
use edgerun_protocol::state::{Job, job_status, seeds};
use edgerun_protocol::tier::{Committee, committee_for};
use pinocchio::cpi::Seed;
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [client, config, job, system, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let a: &PostJob = args(data)?;
    require_signer(client)?;
    require_system_program(system)?;
    let escrow = a.escrow_lamports.get();
    let (committee, lock, ttl_max) = with_params(config, program_id, |p| {
        require(!p.paused.get(), E::Paused)?;
        require(escrow > 0, E::ZeroEscrow)?;
        require(p.allows_runtime(&a.runtime_id), E::RuntimeNotAllowed)?;
        let l = &a.limits;
        let within = |v: u64, cap: u64| v > 0 && v <= cap;
        require(
            within(l.max_memory_bytes.get().into(), p.max_memory_bytes.get().into())
                && within(l.max_instructions.get(), p.max_instructions.get())
                && within(l.max_output_bytes.get().into(), p.max_output_bytes.get().into()),
            E::LimitsAboveCap,
        )?;
        let default = Committee {
            size: p.default_committee_size,
            quorum: p.default_quorum,
        };
        let committee = committee_for(escrow, p.committee_tiering_enabled.get(), default, p.max_committee_size)
            .map_err(|_| err(E::InvalidConfig))?;
        let lock = required_lock(p.min_worker_stake_lamports.get(), escrow, committee.size);
        Ok((committee, lock, p.max_job_ttl_slots.get()))
    })?;
    let ttl = a.ttl_slots.get();
    require(ttl >= 1 && ttl <= ttl_max, E::BadTtl)?;
    require_canonical_pda(
        job,
        &[seeds::JOB, &a.job_id],
        a.job_bump,
        program_id,
        E::WrongJobAccount,
    )?;
    let bump = [a.job_bump];
    create_pda::<Job>(
        client,
        job,
        program_id,
        &[Seed::from(seeds::JOB), Seed::from(&a.job_id), Seed::from(&bump)],
        escrow,
    )?;

    let slot = current_slot()?;
    let expiry = slot.checked_add(ttl).ok_or(err(E::ArithmeticOverflow))?;
    let mut d = job.try_borrow_mut()?;
    let j = as_mut::<Job>(&mut d);
    j.job_id = a.job_id;
    j.client = Pubkey(*client.address().as_array());
    j.escrow_lamports.set(escrow);
    j.bundle_hash = a.bundle_hash;
    j.runtime_id = a.runtime_id;
    j.limits = a.limits;
    j.committee_size = committee.size;
    j.quorum = committee.quorum;
    j.created_slot.set(slot);
    j.expiry_slot.set(expiry);
    j.required_lock_lamports.set(lock);
    j.status = job_status::POSTED;
    j.bump = a.job_bump;
    emit(&JobPosted {
        job_id: a.job_id,
        client: j.client,
        escrow_lamports: U64::new(escrow),
        bundle_hash: a.bundle_hash,
        runtime_id: a.runtime_id,
        committee_size: committee.size,
        quorum: committee.quorum,
        expiry_slot: U64::new(expiry),
    });
    Ok(())
}
