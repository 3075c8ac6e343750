//! submit_result: an assigned worker records its output hash, proven by an
//! Ed25519 attestation over the ResultDigest that the precompile verified in
//! the instruction immediately before this one.

use super::args;
use crate::error::{err, require};
use crate::helpers::{
    ED25519_PROGRAM_ID, SYSTEM_PROGRAM_ID, as_mut, create_pda, current_slot, emit, load_mut, mem_eq, require_pda,
    require_signer,
};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::ResultSubmitted;
use edgerun_protocol::hash::result_digest;
use edgerun_protocol::instruction::SubmitResult;
use edgerun_protocol::layout::{Pubkey, U64};
use edgerun_protocol::state::{Job, JobResult, job_status, seeds, submission_flags};
use pinocchio::cpi::Seed;
use pinocchio::error::ProgramError;
use pinocchio::sysvars::instructions::{INSTRUCTIONS_ID, Instructions};
use pinocchio::{AccountView, Address, ProgramResult};

/// `u16::MAX` as an Ed25519 offsets instruction index means "this
/// (Ed25519) instruction".
const ED25519_SELF: u16 = u16::MAX;
/// Ed25519 instruction data: count u8, padding u8, then one 14-byte offsets
/// record per signature.
const ED25519_HEADER: usize = 2;
const ED25519_OFFSETS_LEN: usize = 14;

pub fn process(program_id: &Address, accounts: &mut [AccountView], arg_bytes: &[u8], data: &[u8]) -> ProgramResult {
    let [worker, job, result, ix_sysvar, system, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let a: &SubmitResult = args(arg_bytes)?;
    require_signer(worker)?;
    require(
        crate::helpers::is_address(system, &SYSTEM_PROGRAM_ID),
        E::WrongSystemProgram,
    )?;
    require(
        crate::helpers::is_address(ix_sysvar, &INSTRUCTIONS_ID),
        E::WrongInstructionsSysvar,
    )?;
    let worker_key = Pubkey(*worker.address().as_array());
    let slot = current_slot()?;

    let job_id = {
        let mut d = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
        let j = as_mut::<Job>(&mut d);
        require(
            matches!(
                j.status,
                job_status::ASSIGNED | job_status::QUORUM_REACHED | job_status::AWAITING_DA
            ),
            E::WrongJobStatus,
        )?;
        let i = j.slot_of(&worker_key).ok_or(err(E::NotAssigned))?;
        let s = &j.submissions[i];
        require(!s.has(submission_flags::SUBMITTED), E::AlreadySubmitted)?;
        require(!s.has(submission_flags::SETTLED), E::NotAssigned)?;
        require(slot <= j.deadline_slot.get(), E::DeadlinePassed)?;
        let digest = result_digest(&j.job_id, &j.bundle_hash, &a.output_hash, &j.runtime_id);
        verify_attestation(ix_sysvar, data, worker_key.as_bytes(), &digest, &a.attestation_sig)?;
        j.submissions[i].output_hash = a.output_hash;
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
    create_pda::<JobResult>(
        worker,
        result,
        program_id,
        &[
            Seed::from(seeds::JOB_RESULT),
            Seed::from(&job_id),
            Seed::from(worker_key.as_bytes()),
            Seed::from(&bump),
        ],
        0,
    )?;
    let mut d = result.try_borrow_mut()?;
    let r = as_mut::<JobResult>(&mut d);
    r.job_id = job_id;
    r.worker = worker_key;
    r.output_hash = a.output_hash;
    r.attestation_sig = a.attestation_sig;
    r.submitted_slot.set(slot);
    r.bump = a.result_bump;
    emit(&ResultSubmitted {
        job_id,
        worker: worker_key,
        output_hash: a.output_hash,
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
    let off = ed_data
        .get(ED25519_HEADER..ED25519_HEADER + ED25519_OFFSETS_LEN)
        .ok_or(err(E::Ed25519BadOffsets))?;
    let u16_at = |i: usize| u16::from_le_bytes([off[i], off[i + 1]]);
    let resolve = |ix_index: u16, offset: u16, len: usize| -> Result<&[u8], ProgramError> {
        let src = if ix_index == ED25519_SELF {
            ed_data
        } else if ix_index == current {
            own_data
        } else {
            return Err(err(E::Ed25519BadOffsets));
        };
        src.get(offset as usize..offset as usize + len)
            .ok_or(err(E::Ed25519BadOffsets))
    };
    let signature = resolve(u16_at(2), u16_at(0), 64)?;
    let pubkey = resolve(u16_at(6), u16_at(4), 32)?;
    require(u16_at(10) == 32, E::Ed25519WrongMessage)?;
    let message = resolve(u16_at(12), u16_at(8), 32)?;
    require(mem_eq(pubkey, worker), E::Ed25519WrongPubkey)?;
    require(mem_eq(message, digest), E::Ed25519WrongMessage)?;
    require(mem_eq(signature, attestation), E::Ed25519WrongSignature)?;
    Ok(())
}
