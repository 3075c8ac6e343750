//! finalize_job: after the output is declared (and the job's challenge
//! window has passed), pays the winners, slashes wrong submitters, settles
//! silent seats (penalized only if their round had ended before the reveal,
//! otherwise released), sends the fee (at least the job's minimum fee, at
//! most its escrow), the remainder and the priority fee to the treasury and
//! the unused records deposit back to the client. Permissionless.

use super::settle::{require_treasury, settle_silent_slot, update_stake};
use crate::error::{econ, err, require};
use crate::helpers::{
    as_mut, as_ref, current_slot, emit, is_key, load, load_mut, mem_eq, move_lamports, require_signer,
};
use edgerun_protocol::economics::Held;
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::{JobFinalized, WorkerSlashed};
use edgerun_protocol::layout::U64;
use edgerun_protocol::state::{Job, OutputAvailability, job_status, submission_flags};
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], _data: &[u8]) -> ProgramResult {
    let [caller, config, job, output, treasury, client, stakes @ ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    require_signer(caller)?;
    require_treasury(config, treasury, program_id)?;
    let mut jd = load_mut::<Job>(job, program_id, E::WrongJobAccount)?;
    let j = as_mut::<Job>(&mut jd);
    require(j.status == job_status::AWAITING_DA, E::WrongJobStatus)?;
    require(is_key(client, &j.client), E::WrongClient)?;
    {
        let od = load::<OutputAvailability>(output, program_id, E::OutputNotAvailable)?;
        let o = as_ref::<OutputAvailability>(&od);
        require(mem_eq(&o.job_id, &j.job_id), E::WrongOutputAccount)?;
        require(mem_eq(&o.output_hash, &j.winning_output_hash), E::OutputHashMismatch)?;
        let open_until = o.published_slot.get().saturating_add(j.challenge_window_slots.get());
        require(current_slot()? >= open_until, E::ChallengeWindowOpen)?;
    }
    let n = j.assigned().len();
    require(stakes.len() == n, E::WrongCommitteeSize)?;
    let winners = j.winners().count();
    let held = Held {
        escrow: j.escrow_lamports.get(),
        records: j.records_lamports.get(),
        priority_fee: j.priority_fee_lamports.get(),
    };
    let settled = held
        .finalize(j.protocol_fee_bps.get(), j.min_job_fee_lamports.get(), winners as u8)
        .map_err(econ)?;
    let payout = settled.payout;
    let lock = j.required_lock_lamports.get();
    let job_id = j.job_id;
    let (revealed_at, winning) = (j.quorum_reached_slot.get(), j.winning_output_hash);
    j.escrow_lamports.set(0);
    j.records_lamports.set(0);
    j.priority_fee_lamports.set(0);
    j.status = job_status::FINALIZED;
    let mut to_winners: [u64; 9] = [0; 9];
    for (i, stake) in stakes.iter_mut().enumerate() {
        let s = j.submissions[i];
        if s.has(submission_flags::SETTLED) {
            continue;
        }
        let worker = j.assigned_workers[i];
        if s.has(submission_flags::WINNER) {
            update_stake(stake, program_id, &worker, |st| {
                st.settle_winner(lock, payout.per_winner).map(|st| (st, 0))
            })?;
            to_winners[i] = payout.per_winner;
            j.submissions[i].flags |= submission_flags::SETTLED;
        } else if s.has(submission_flags::SUBMITTED) {
            let amount = update_stake(stake, program_id, &worker, |st| st.slash(lock))?;
            move_lamports(stake, treasury, amount)?;
            j.submissions[i].flags |= submission_flags::SETTLED;
            emit(&WorkerSlashed {
                job_id,
                worker,
                amount: U64::new(amount),
            });
        } else {
            // The reveal closed the round: this seat's silence ended then.
            settle_silent_slot(j, i, revealed_at, stake, treasury, program_id)?;
        }
    }
    drop(jd);
    for (i, stake) in stakes.iter_mut().enumerate() {
        move_lamports(job, stake, to_winners[i])?;
    }
    move_lamports(job, treasury, settled.treasury)?;
    move_lamports(job, client, settled.client)?;
    let paid = to_winners.iter().sum::<u64>() + settled.treasury + settled.client;
    require(paid == held.total().unwrap_or(0), E::ArithmeticOverflow).map_err(|_| err(E::ArithmeticOverflow))?;
    emit(&JobFinalized {
        job_id,
        output_hash: winning,
        winners: winners as u8,
        per_winner_lamports: U64::new(payout.per_winner),
        treasury_lamports: U64::new(settled.treasury),
    });
    Ok(())
}
