//! submit_result: an assigned worker records the seal of its output
//! (`seal = blake3(output_hash || worker)`: the output stays hidden until the
//! reveal), proven by an Ed25519 attestation over the SealedDigest that the
//! precompile verified in the instruction immediately before this one. Only
//! as a top-level instruction, and only before the reveal. The JobResult's
//! rent comes from the job's records deposit, so the worker pays only the
//! fee (a browser volunteer's key holds no lamports).

use super::args;
use crate::error::{err, require};
use crate::helpers::{
    ED25519_PROGRAM_ID, as_mut, current_slot, emit, is_address, is_top_level, load_mut, mem_eq, require_pda,
    require_signer, require_system_program,
};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::ResultSubmitted;
use edgerun_protocol::hash::sealed_digest_from_midstate;
use edgerun_protocol::instruction::{SubmitResult, ed25519};
use edgerun_protocol::layout::{Pubkey, U16, U64};
use edgerun_protocol::state::{Job, JobResult, job_status, seeds, submission_flags};
use pinocchio::cpi::Seed;
use pinocchio::error::ProgramError;
use pinocchio::sysvars::instructions::{INSTRUCTIONS_ID, Instructions};
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], arg_bytes: &[u8], data: &[u8]) -> ProgramResult {
    let [worker, job, result, ix_sysvar, system, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let a: &SubmitResult = args(arg_bytes)?;
    require_signer(worker)?;
    require_system_program(system)?;
    // Through CPI, the instructions sysvar describes the caller's top-level
    // instruction, not this one: the attestation check would read the
    // wrong neighbour.
    require(is_top_level(), E::NotTopLevel)?;
    require(is_address(ix_sysvar, &INSTRUCTIONS_ID), E::WrongInstructionsSysvar)?;
    let worker_key = Pubkey(*worker.address().as_array());
    let slot = current_slot()?;

    let job_id = {
        let mut d = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
        let j = as_mut::<Job>(&mut d);
        // After the reveal the output hash is public: a late seat could seal
        // a copy. The round takes no more submissions.
        require(j.status == job_status::ASSIGNED, E::WrongJobStatus)?;
        let i = j.slot_of(&worker_key).ok_or(err(E::NotAssigned))?;
        let s = &j.submissions[i];
        require(!s.has(submission_flags::SUBMITTED), E::AlreadySubmitted)?;
        require(!s.has(submission_flags::SETTLED), E::NotAssigned)?;
        require(slot <= j.deadline_slot.get(), E::DeadlinePassed)?;
        // One block: the first (job_id || bundle_hash) was hashed at post_job.
        let digest = sealed_digest_from_midstate(&j.digest_midstate, &a.seal, &j.runtime_id);
        verify_attestation(ix_sysvar, data, worker_key.as_bytes(), &digest, &a.attestation_sig)?;
        j.submissions[i].seal = a.seal;
        j.submissions[i].flags |= submission_flags::SUBMITTED;
        j.job_id
    };

    // The runtime alone would not do: an account that signs the transaction
    // itself satisfies the System Program too. The bump need not be shown
    // canonical (which costs a curve check per higher bump on this hot
    // path): a JobResult is write-only evidence that no instruction reads,
    // and the Job's submission table already allows one result per worker.
    require_pda(
        result,
        &[seeds::JOB_RESULT, &job_id, worker_key.as_bytes()],
        a.result_bump,
        program_id,
        E::WrongResultAccount,
    )?;
    let bump = [a.result_bump];
    super::settle::create_record::<JobResult>(
        job,
        worker,
        result,
        program_id,
        &[
            Seed::from(seeds::JOB_RESULT),
            Seed::from(&job_id),
            Seed::from(worker_key.as_bytes()),
            Seed::from(&bump),
        ],
    )?;
    {
        let mut d = result.try_borrow_mut()?;
        let r = as_mut::<JobResult>(&mut d);
        r.job_id = job_id;
        r.worker = worker_key;
        r.seal = a.seal;
        r.attestation_sig = a.attestation_sig;
        r.submitted_slot.set(slot);
        r.bump = a.result_bump;
    }
    emit(&ResultSubmitted {
        job_id,
        worker: worker_key,
        seal: a.seal,
        slot: U64::new(slot),
    });
    Ok(())
}

/// Checks the Ed25519 instruction right before this one: exactly one
/// signature, offsets pointing only into itself or into this instruction's
/// data, and pubkey = worker, message = digest, signature = attestation.
fn verify_attestation(
    ix_sysvar: &AccountView,
    own_data: &[u8],
    worker: &[u8; 32],
    digest: &[u8; 32],
    attestation: &[u8; 64],
) -> ProgramResult {
    let ixs = Instructions::try_from(ix_sysvar)?;
    let current = ixs.load_current_index();
    require(current > 0, E::Ed25519Missing)?;
    let ed = ixs
        .load_instruction_at(current as usize - 1)
        .map_err(|_| err(E::Ed25519Missing))?;
    require(ed.get_program_id() == &ED25519_PROGRAM_ID, E::Ed25519Missing)?;
    let ed_data = ed.get_instruction_data();
    require(ed_data.first() == Some(&1), E::Ed25519SignatureCount)?;
    let (_, off) = ed25519::first_record(ed_data).ok_or(err(E::Ed25519BadOffsets))?;
    let resolve = |ix_index: U16, offset: U16, len: usize| -> Result<&[u8], ProgramError> {
        let src = if ix_index.get() == ed25519::THIS_INSTRUCTION {
            ed_data
        } else if ix_index.get() == current {
            own_data
        } else {
            return Err(err(E::Ed25519BadOffsets));
        };
        let start = offset.get() as usize;
        src.get(start..start + len).ok_or(err(E::Ed25519BadOffsets))
    };
    let signature = resolve(off.signature_instruction_index, off.signature_offset, 64)?;
    let pubkey = resolve(off.public_key_instruction_index, off.public_key_offset, 32)?;
    require(off.message_data_size.get() == 32, E::Ed25519WrongMessage)?;
    let message = resolve(off.message_instruction_index, off.message_data_offset, 32)?;
    require(mem_eq(pubkey, worker), E::Ed25519WrongPubkey)?;
    require(mem_eq(message, digest), E::Ed25519WrongMessage)?;
    require(mem_eq(signature, attestation), E::Ed25519WrongSignature)?;
    Ok(())
}
