//! reach_quorum: once `quorum` assigned workers submitted the same output
//! hash, that hash wins; the data-availability window opens.

use crate::error::{err, require};
use crate::helpers::{as_mut, current_slot, emit, load_mut, require_signer, with_params};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::JobQuorumReached;
use edgerun_protocol::layout::U64;
use edgerun_protocol::state::{Job, job_status, submission_flags};
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], _data: &[u8]) -> ProgramResult {
    let [caller, config, job, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    require_signer(caller)?;
    let da_window = with_params(config, program_id, |p| Ok(p.da_window_slots.get()))?;
    let mut d = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
    let j = as_mut::<Job>(&mut d);
    require(j.status == job_status::ASSIGNED, E::WrongJobStatus)?;
    let n = j.assigned().len();
    let winner = (0..n)
        .filter(|&i| j.submissions[i].has(submission_flags::SUBMITTED))
        .map(|i| j.submissions[i].output_hash)
        .find(|h| j.votes_for(h) >= j.quorum as usize)
        .ok_or(err(E::NoQuorum))?;
    let slot = current_slot()?;
    let da_deadline = slot.checked_add(da_window).ok_or(err(E::ArithmeticOverflow))?;
    j.winning_output_hash = winner;
    j.quorum_reached_slot.set(slot);
    j.da_deadline_slot.set(da_deadline);
    j.status = job_status::QUORUM_REACHED;
    emit(&JobQuorumReached {
        job_id: j.job_id,
        output_hash: winner,
        votes: j.votes_for(&winner) as u8,
        quorum_reached_slot: U64::new(slot),
        da_deadline_slot: U64::new(da_deadline),
    });
    Ok(())
}
