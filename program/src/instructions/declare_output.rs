//! declare_output: a winner publishes where the agreed output is stored
//! (data availability); creates the `["output", job_id]` PDA, whose rent
//! comes from the job's records deposit.

use super::args;
use crate::error::{err, require};
use crate::helpers::{
    as_mut, current_slot, emit, load_mut, mem_eq, require_canonical_pda, require_signer, require_system_program,
};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::OutputDeclared;
use edgerun_protocol::instruction::DeclareOutput;
use edgerun_protocol::layout::Pubkey;
use edgerun_protocol::state::{Job, OutputAvailability, decode_pointer, job_status, seeds, submission_flags};
use pinocchio::cpi::Seed;
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [publisher, job, output, system, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let a: &DeclareOutput = args(data)?;
    require_signer(publisher)?;
    require_system_program(system)?;
    require(decode_pointer(&a.pointer).is_some(), E::BadPointer)?;
    let publisher_key = Pubkey(*publisher.address().as_array());
    let job_id = {
        let mut d = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
        let j = as_mut::<Job>(&mut d);
        require(j.status == job_status::QUORUM_REACHED, E::WrongJobStatus)?;
        require(mem_eq(&a.output_hash, &j.winning_output_hash), E::OutputHashMismatch)?;
        let i = j.slot_of(&publisher_key).ok_or(err(E::NotAWinner))?;
        require(j.submissions[i].has(submission_flags::WINNER), E::NotAWinner)?;
        j.status = job_status::AWAITING_DA;
        j.job_id
    };
    require_canonical_pda(
        output,
        &[seeds::OUTPUT, &job_id],
        a.output_bump,
        program_id,
        E::WrongOutputAccount,
    )?;
    let bump = [a.output_bump];
    super::settle::create_record::<OutputAvailability>(
        job,
        publisher,
        output,
        program_id,
        &[Seed::from(seeds::OUTPUT), Seed::from(&job_id), Seed::from(&bump)],
    )?;
    let slot = current_slot()?;
    {
        let mut d = output.try_borrow_mut()?;
        let o = as_mut::<OutputAvailability>(&mut d);
        o.job_id = job_id;
        o.output_hash = a.output_hash;
        o.publisher = publisher_key;
        o.pointer = a.pointer;
        o.published_slot.set(slot);
        o.bump = a.output_bump;
    }
    emit(&OutputDeclared {
        job_id,
        output_hash: a.output_hash,
        publisher: publisher_key,
        pointer: a.pointer,
    });
    Ok(())
}
