//! post_job: creates the `["job", job_id]` PDA holding the escrow, the
//! records deposit and the priority fee; the escrow's tier sets the
//! committee. The job id must be derived from the signing client (nobody
//! can squat an id another client derived), the escrow at least the
//! config's minimum, the lifetime at least one full round; the terms (fee
//! and minimum fee, penalty, windows, lock) are copied into the job, so a
//! later update_config cannot change them.

use super::args;
use crate::error::{err, require};
use crate::helpers::{
    as_mut, create_pda, current_slot, emit, mem_eq, rent_exempt, require_canonical_pda, require_signer,
    require_system_program, with_params,
};
use edgerun_protocol::economics::{Held, records_deposit, required_lock};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::JobPosted;
use edgerun_protocol::instruction::PostJob;
use edgerun_protocol::layout::{Account, Pubkey, U16, U64};
use edgerun_protocol::state::{Job, JobResult, OutputAvailability, job_status, seeds};
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
    let client_key = *client.address().as_array();
    require(
        mem_eq(
            &a.job_id,
            &edgerun_protocol::hash::job_id(&client_key, a.nonce.get(), &a.bundle_hash),
        ),
        E::JobIdNotDerived,
    )?;
    let terms = with_params(config, program_id, |p| {
        require(!p.paused.get(), E::Paused)?;
        require(escrow > 0, E::ZeroEscrow)?;
        require(escrow >= p.min_escrow_lamports.get(), E::EscrowBelowMinimum)?;
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
        let ttl = a.ttl_slots.get();
        require(ttl >= p.min_ttl_slots() && ttl <= p.max_job_ttl_slots.get(), E::BadTtl)?;
        Ok(Terms {
            committee,
            lock,
            fee_bps: p.protocol_fee_bps.get(),
            min_fee: p.min_job_fee_lamports.get(),
            penalty: p.non_response_slash_lamports.get(),
            submit_window: p.submit_window_slots.get(),
            da_window: p.da_window_slots.get(),
            challenge_window: p.challenge_window_slots.get(),
        })
    })?;
    let committee = terms.committee;
    // The rent of every record the committee can create: a JobResult per
    // seat and the OutputAvailability.
    let records = records_deposit(
        rent_exempt(JobResult::SPACE)?,
        rent_exempt(OutputAvailability::SPACE)?,
        committee.size,
    )
    .ok_or(err(E::ArithmeticOverflow))?;
    let priority_fee = a.priority_fee_lamports.get();
    let held = Held {
        escrow,
        records,
        priority_fee,
    }
    .total()
    .ok_or(err(E::ArithmeticOverflow))?;
    require_canonical_pda(
        job,
        &[seeds::JOB, &a.job_id],
        a.job_bump,
        program_id,
        E::WrongJobAccount,
    )?;
    // Said plainly here rather than as the System Program's bare
    // "insufficient lamports"; the job account may already hold lamports
    // someone sent it (create_pda then takes only the difference).
    let needed = rent_exempt(Job::SPACE)?
        .checked_add(held)
        .ok_or(err(E::ArithmeticOverflow))?
        .saturating_sub(job.lamports());
    require(client.lamports() >= needed, E::ClientCannotPay)?;
    let bump = [a.job_bump];
    create_pda::<Job>(
        client,
        job,
        program_id,
        &[Seed::from(seeds::JOB), Seed::from(&a.job_id), Seed::from(&bump)],
        held,
    )?;

    let slot = current_slot()?;
    let expiry = slot.checked_add(a.ttl_slots.get()).ok_or(err(E::ArithmeticOverflow))?;
    let mut d = job.try_borrow_mut()?;
    let j = as_mut::<Job>(&mut d);
    j.job_id = a.job_id;
    j.client = Pubkey(client_key);
    j.escrow_lamports.set(escrow);
    j.bundle_hash = a.bundle_hash;
    j.runtime_id = a.runtime_id;
    j.limits = a.limits;
    j.committee_size = committee.size;
    j.quorum = committee.quorum;
    j.created_slot.set(slot);
    j.expiry_slot.set(expiry);
    j.required_lock_lamports.set(terms.lock);
    j.protocol_fee_bps = U16::new(terms.fee_bps);
    j.non_response_penalty_lamports.set(terms.penalty);
    j.submit_window_slots.set(terms.submit_window);
    j.da_window_slots.set(terms.da_window);
    j.challenge_window_slots.set(terms.challenge_window);
    j.min_job_fee_lamports.set(terms.min_fee);
    j.records_lamports.set(records);
    j.priority_fee_lamports.set(priority_fee);
    j.digest_midstate = edgerun_protocol::hash::sealed_digest_midstate(&a.job_id, &a.bundle_hash);
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

/// What the config says about a job at post time.
struct Terms {
    committee: Committee,
    lock: u64,
    fee_bps: u16,
    min_fee: u64,
    penalty: u64,
    submit_window: u64,
    da_window: u64,
    challenge_window: u64,
}
