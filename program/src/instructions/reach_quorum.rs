//! reach_quorum: the reveal. A seat whose seal matches `output_hash` names
//! it; the program seals `output_hash` for every seat that submitted, and
//! with at least `quorum` matches the hash wins: the matching seats are the
//! winners and the data-availability window opens. After this the round
//! takes no more submissions.

use super::args;
use crate::error::{err, require};
use crate::helpers::{as_mut, current_slot, emit, load_mut, require_signer};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::JobQuorumReached;
use edgerun_protocol::hash::seal;
use edgerun_protocol::instruction::ReachQuorum;
use edgerun_protocol::layout::{Pubkey, U64};
use edgerun_protocol::state::{Job, job_status, submission_flags};
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [caller, job, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let a: &ReachQuorum = args(data)?;
    require_signer(caller)?;
    let caller_key = Pubkey(*caller.address().as_array());
    let mut d = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
    let j = as_mut::<Job>(&mut d);
    require(j.status == job_status::ASSIGNED, E::WrongJobStatus)?;
    let me = j.slot_of(&caller_key).ok_or(err(E::NotAssigned))?;
    let mut votes = 0u8;
    let mut caller_matches = false;
    for i in 0..j.assigned().len() {
        let s = j.submissions[i];
        if s.has(submission_flags::SUBMITTED) && s.seal == seal(&a.output_hash, &j.assigned_workers[i].0) {
            j.submissions[i].flags |= submission_flags::WINNER;
            votes += 1;
            caller_matches |= i == me;
        }
    }
    require(caller_matches, E::SealMismatch)?;
    require(votes >= j.quorum, E::NoQuorum)?;
    let slot = current_slot()?;
    let da_deadline = slot
        .checked_add(j.da_window_slots.get())
        .ok_or(err(E::ArithmeticOverflow))?;
    j.winning_output_hash = a.output_hash;
    j.quorum_reached_slot.set(slot);
    j.da_deadline_slot.set(da_deadline);
    j.status = job_status::QUORUM_REACHED;
    emit(&JobQuorumReached {
        job_id: j.job_id,
        output_hash: a.output_hash,
        votes,
        quorum_reached_slot: U64::new(slot),
        da_deadline_slot: U64::new(da_deadline),
    });
    Ok(())
}
