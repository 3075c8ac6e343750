//! The attacks of protocol v1.1 (issue 12), each performed against the real
//! SBF program in LiteSVM. Every test here failed on the v1 program; each
//! asserts what v1.1 guarantees.

use edgerun_client::{self as client};
use edgerun_protocol::economics::{min_job_fee_cap, split_payout_with_minimum};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::hash;
use edgerun_protocol::layout::{self, Account, U16, U64};
use edgerun_protocol::state::{Job, bounds, job_status};
use edgerun_tests::{AnyEvent, BRONZE_ESCROW, Chain, Stage, agreed_output, events};
use solana_instruction::{AccountMeta, Instruction};
use solana_signer::Signer;

/// Copying: a seat reads another seat's submission from the Job account
/// while the job is Assigned and submits it as its own without running the
/// job. It must never be paid.
#[test]
fn a_seat_that_copies_another_seats_submission_is_not_paid() {
    let mut c = Chain::new(3);
    let id = c.job_at(Stage::Assigned);
    let out = agreed_output();
    c.submit(&id, 0, out).unwrap();
    // The copier reads seat 0's table row and submits what it finds: a
    // seal that names seat 0's worker, not the copier.
    let visible = c.job(&id).submissions[0].seal;
    let before = c.stake(1).total_stake.get();
    c.submit_sealed(&id, 1, visible).unwrap();
    c.submit(&id, 2, out).unwrap();
    c.reveal(&id, 0, out).unwrap();
    c.declare(&id, 0, out).unwrap();
    c.finalize(&id).unwrap();
    let after = c.stake(1).total_stake.get();
    assert!(
        after <= before,
        "the copier was paid {} lamports for a result it never computed",
        after - before
    );
    // It submitted something that is not a seal of the agreed output: it
    // is slashed as a wrong submitter.
    let lock = c.job(&id).required_lock_lamports.get();
    assert_eq!(after, before - lock, "the copier is slashed its lock");
    c.assert_conserved();
}

/// A copier cannot reveal a hash it read nowhere, and cannot use another
/// seat's reveal: the reveal closes the round to submissions.
#[test]
fn no_submission_is_taken_after_the_reveal() {
    let mut c = Chain::new(3);
    let id = c.job_at(Stage::Assigned);
    let out = agreed_output();
    c.submit(&id, 0, out).unwrap();
    c.submit(&id, 1, out).unwrap();
    c.reveal(&id, 0, out).unwrap();
    // The hash is public now; seat 2 would seal a copy.
    c.refuses(E::WrongJobStatus, |c| c.submit(&id, 2, out));
}

/// Only a seat whose own seal matches may reveal: a guess or another
/// seat's hash is refused, and nothing changes.
#[test]
fn a_reveal_that_does_not_match_the_callers_seal_is_refused() {
    let mut c = Chain::new(3);
    let id = c.job_at(Stage::Assigned);
    let out = agreed_output();
    c.submit(&id, 0, out).unwrap();
    c.submit(&id, 1, out).unwrap();
    c.submit(&id, 2, hash::output_hash(b"other")).unwrap();
    c.refuses(E::SealMismatch, |c| c.reveal(&id, 2, out));
    c.refuses(E::SealMismatch, |c| {
        c.reveal(&id, 0, hash::output_hash(b"guess"))
    });
}

/// An honest seat still inside its round deadline when the others finalize
/// is not penalized.
#[test]
fn a_seat_inside_its_round_is_not_penalized_when_the_job_finalizes() {
    let mut c = Chain::new(3);
    let id = c.job_at(Stage::Assigned);
    let out = agreed_output();
    let before = c.stake(2).total_stake.get();
    c.submit(&id, 0, out).unwrap();
    c.submit(&id, 1, out).unwrap();
    c.reveal(&id, 0, out).unwrap();
    c.declare(&id, 0, out).unwrap();
    c.finalize(&id).unwrap();
    assert!(c.slot() <= c.job(&id).deadline_slot.get());
    let s = c.stake(2);
    assert_eq!(s.total_stake.get(), before, "a slow honest seat was fined");
    assert_eq!(s.locked_stake.get(), 0, "its lock was not released");
    c.assert_conserved();
}

/// A worker that sat in a job is never seated in it again, so it can be
/// penalized at most once per job.
#[test]
fn a_worker_that_sat_in_a_job_is_never_seated_in_it_again() {
    let mut c = Chain::new(5);
    let id = c.job_at(Stage::Assigned);
    let out = agreed_output();
    // Worker 0 stays silent: penalized and replaced by worker 3.
    c.submit(&id, 1, out).unwrap();
    c.submit(&id, 2, out).unwrap();
    let deadline = c.job(&id).deadline_slot.get();
    c.warp_to(deadline + 1);
    c.penalize(&id).unwrap();
    c.reassign(&id, &[3]).unwrap();
    // Worker 3 stays silent too; the scheduler draws worker 0 again.
    let deadline = c.job(&id).deadline_slot.get();
    c.warp_to(deadline + 1);
    c.penalize(&id).unwrap();
    c.refuses(E::WorkerWasSeated, |c| c.reassign(&id, &[0]));
}

/// The admin cannot take in-flight escrow by raising the fee: the fee is
/// bounded, and a job keeps the fee it was posted under.
#[test]
fn update_config_cannot_take_escrow_from_posted_jobs() {
    let mut c = Chain::new(3);
    let id = c.job_at(Stage::AwaitingDa);
    let mut params = c.config().params;
    params.protocol_fee_bps = U16::new(10_000);
    let admin = c.admin.insecure_clone();
    let ix = client::update_config(&c.program_id, &admin.pubkey(), params);
    c.refuses(E::InvalidConfig, |c| c.send(&[ix], &[&admin]));

    // Within the bound, a change applies only to jobs posted after it.
    let mut params = c.config().params;
    let posted_fee = params.protocol_fee_bps.get();
    params.protocol_fee_bps = U16::new(2_000);
    params.non_response_slash_lamports = U64::new(params.min_worker_stake_lamports.get());
    let ix = client::update_config(&c.program_id, &admin.pubkey(), params);
    c.send(&[ix], &[&admin]).unwrap();
    let treasury = c.lamports(&c.treasury);
    c.finalize(&id).unwrap();
    let fee = BRONZE_ESCROW * u64::from(posted_fee) / 10_000;
    let remainder = (BRONZE_ESCROW - fee) % 3;
    assert_eq!(
        c.lamports(&c.treasury) - treasury,
        fee + remainder,
        "settlement used the new fee"
    );
}

/// Nobody can initialize the config before the deployer: only the
/// program's upgrade authority can.
#[test]
fn initialize_config_by_a_stranger_is_refused() {
    let mut c = Chain::without_config();
    let stranger = c.stranger();
    let mut params = c.default_params();
    params.admin = edgerun_protocol::layout::Pubkey(stranger.pubkey().to_bytes());
    params.treasury = params.admin;
    let ix = client::initialize_config(&c.program_id, &stranger.pubkey(), params);
    c.refuses(E::NotUpgradeAuthority, |c| c.send(&[ix], &[&stranger]));
}

/// A client cannot post a job whose lifetime is too short for one round:
/// the whole committee would be penalized at almost no cost to it.
#[test]
fn a_job_too_short_for_one_round_is_refused() {
    let mut c = Chain::new(3);
    let mut spec = c.spec(BRONZE_ESCROW);
    spec.ttl_slots = 1;
    c.refuses(E::BadTtl, |c| c.post(&spec));
}

/// A client who fetched an output early cannot race a refund once the
/// quorum is revealed.
#[test]
fn cancel_expired_job_after_the_reveal_is_refused() {
    let mut c = Chain::new(3);
    let id = c.job_at(Stage::QuorumReached);
    let expiry = c.job(&id).expiry_slot.get();
    c.warp_to(expiry + 1);
    c.refuses(E::WrongJobStatus, |c| c.cancel_expired(&id));
}

/// A 1-lamport job is refused: it cannot pay for the records its seats
/// create, nor a refund to an emptied wallet.
#[test]
fn an_escrow_below_the_minimum_is_refused() {
    let mut c = Chain::new(3);
    let spec = c.spec(1);
    c.refuses(E::EscrowBelowMinimum, |c| c.post(&spec));
}

/// An honest seat's wallet pays only transaction fees: the rent of its
/// JobResult and of the OutputAvailability it publishes comes back.
#[test]
fn an_honest_seat_is_not_out_of_pocket_for_record_rent() {
    let mut c = Chain::new(3);
    let id = c.job_at(Stage::Assigned);
    let out = agreed_output();
    let w0 = c.workers[0].address();
    let before = c.lamports(&w0);
    let mut fees = 0;
    fees += c.submit(&id, 0, out).unwrap().fee;
    c.submit(&id, 1, out).unwrap();
    fees += c.reveal(&id, 0, out).unwrap().fee;
    fees += c.declare(&id, 0, out).unwrap().fee;
    c.finalize(&id).unwrap();
    assert_eq!(
        before - c.lamports(&w0),
        fees,
        "the worker's wallet paid record rent"
    );
    c.assert_conserved();
}

/// Nobody can squat a job id another client derived: post_job checks
/// `job_id = blake3(client || nonce || bundle_hash)`.
#[test]
fn posting_under_a_job_id_not_derived_from_the_client_is_refused() {
    let mut c = Chain::new(3);
    let mut spec = c.spec(BRONZE_ESCROW);
    let victim = [9u8; 32];
    spec.job_id = hash::job_id(&victim, 1, &spec.bundle_hash);
    c.refuses(E::JobIdNotDerived, |c| c.post(&spec));
}

/// cancel_no_da does not cut a silent seat's round short: a seat still
/// inside its round when the winners miss the DA deadline is released, not
/// penalized.
#[test]
fn cancel_no_da_does_not_penalize_a_seat_inside_its_round() {
    let mut c = Chain::with_params(3, |p| {
        p.da_window_slots = U64::new(10);
        p.submit_window_slots = U64::new(150);
    });
    let id = c.job_at(Stage::Assigned);
    let out = agreed_output();
    c.submit(&id, 0, out).unwrap();
    c.submit(&id, 1, out).unwrap();
    c.reveal(&id, 0, out).unwrap();
    let j = c.job(&id);
    c.warp_to(j.da_deadline_slot.get() + 1);
    assert!(
        c.slot() < j.deadline_slot.get(),
        "seat 2 is inside its round"
    );
    let before = c.stake(2).total_stake.get();
    c.cancel_no_da(&id).unwrap();
    c.warp(1);
    let _ = c.penalize(&id);
    assert_eq!(
        c.stake(2).total_stake.get(),
        before,
        "a seat inside its round was penalized after cancel_no_da"
    );
    assert_eq!(c.job(&id).status, job_status::ASSIGNED);
}

/// submit_result only as a top-level instruction: a program that wraps it
/// (here the test-only probe, forwarding the worker's own signed
/// instruction) is refused.
#[test]
fn submit_result_through_another_program_is_refused() {
    let mut c = Chain::new(3);
    let id = c.job_at(Stage::Assigned);
    let probe = client::Address::new_unique();
    c.svm
        .add_program_from_file(probe, edgerun_tests::probe_so())
        .expect("the probe is built by `cargo xtask build-program`");
    let [ed, submit] = c.submit_ixs(&id, 0, agreed_output());
    let mut accounts = vec![AccountMeta::new_readonly(c.program_id, false)];
    accounts.extend(submit.accounts.iter().cloned());
    let via = Instruction {
        program_id: probe,
        accounts,
        data: submit.data.clone(),
    };
    c.refuses(E::NotTopLevel, |c| c.as_worker(0, &[ed, via]));
}

// ------------------------------------------------------------ pricing
// The minimum fee and the priority fee (issue 17).

/// The test chain's minimum escrow (1_000_000 lamports) and the largest
/// minimum fee it allows: 20% of it.
const MIN_ESCROW: u64 = 1_000_000;
const MIN_FEE_CAP: u64 = MIN_ESCROW / 5;

/// The JobFinalized event of a finalize transaction.
fn finalized(meta: &litesvm::types::TransactionMetadata) -> edgerun_protocol::event::JobFinalized {
    events(meta)
        .into_iter()
        .find_map(|e| match e {
            AnyEvent::JobFinalized(f) => Some(f),
            _ => None,
        })
        .expect("a JobFinalized event")
}

/// A client cannot post a job with a priority fee it cannot pay: the post
/// is refused before any lamport moves (only the transaction fee is
/// spent), no job account appears, and the job id stays free for a post
/// the client can pay.
#[test]
fn a_priority_fee_the_client_cannot_pay_posts_nothing() {
    let mut c = Chain::new(3);
    let client_key = solana_signer::Signer::pubkey(&c.client);
    let mut spec = c.spec(BRONZE_ESCROW);
    spec.priority_fee_lamports = c.lamports(&client_key);
    c.refuses(E::ClientCannotPay, |c| c.post(&spec));
    assert!(!c.job_exists(&spec.job_id));
    // A fee that would overflow what the job holds.
    spec.priority_fee_lamports = u64::MAX - BRONZE_ESCROW;
    c.refuses(E::ArithmeticOverflow, |c| c.post(&spec));

    // Exactly one lamport short of escrow + records + priority fee + the
    // job account's rent, after the transaction fee: refused.
    let fee = 5_000;
    let rent = c.svm.minimum_balance_for_rent_exemption(Job::SPACE);
    let records = {
        let probe = c.spec(BRONZE_ESCROW);
        c.post(&probe).unwrap();
        c.job(&probe.job_id).records_lamports.get()
    };
    let affordable = c.lamports(&client_key) - fee - rent - BRONZE_ESCROW - records;
    spec.priority_fee_lamports = affordable + 1;
    c.refuses(E::ClientCannotPay, |c| c.post(&spec));
    assert!(!c.job_exists(&spec.job_id));
    // Exactly what it has: posted, and the job holds all of it.
    spec.priority_fee_lamports = affordable - fee;
    c.post(&spec).unwrap();
    let j = c.job(&spec.job_id);
    assert_eq!(j.priority_fee_lamports.get(), affordable - fee);
    assert_eq!(
        c.lamports(&client_key),
        0,
        "the client paid everything it had"
    );
    c.assert_conserved();
}

/// An admin gone bad cannot make the minimum fee take an escrow: it is at
/// most 20% of the minimum escrow, and never above 0.1 SOL however high
/// the minimum escrow is set.
#[test]
fn update_config_cannot_raise_the_minimum_fee_past_its_bound() {
    let mut c = Chain::new(3);
    let admin = c.admin.insecure_clone();
    let admin_key = solana_signer::Signer::pubkey(&admin);
    let mut params = c.config().params;
    assert_eq!(
        min_job_fee_cap(params.min_escrow_lamports.get()),
        MIN_FEE_CAP
    );
    params.min_job_fee_lamports = U64::new(MIN_FEE_CAP + 1);
    let ix = client::update_config(&c.program_id, &admin_key, params);
    c.refuses(E::InvalidConfig, |c| c.send(&[ix], &[&admin]));
    params.min_escrow_lamports = U64::new(1_000_000_000_000);
    params.min_job_fee_lamports = U64::new(bounds::MAX_MIN_JOB_FEE_LAMPORTS + 1);
    let ix = client::update_config(&c.program_id, &admin_key, params);
    c.refuses(E::InvalidConfig, |c| c.send(&[ix], &[&admin]));
    // At the bound: accepted.
    params.min_job_fee_lamports = U64::new(bounds::MAX_MIN_JOB_FEE_LAMPORTS);
    let ix = client::update_config(&c.program_id, &admin_key, params);
    c.send(&[ix], &[&admin]).unwrap();
    assert_eq!(
        c.config().params.min_job_fee_lamports.get(),
        bounds::MAX_MIN_JOB_FEE_LAMPORTS
    );
}

/// A job keeps the minimum fee it was posted under: the admin raising the
/// minimum (and the fee) after the post changes nothing for it; a job
/// posted after the change pays the new terms.
#[test]
fn a_config_change_after_post_does_not_change_an_in_flight_jobs_fee() {
    let mut c = Chain::new(3);
    let escrow = MIN_ESCROW; // 2.5% is 25_000, above the 10_000 minimum
    let spec = c.spec(escrow);
    let id = c.spec_at(&spec, Stage::AwaitingDa);
    assert_eq!(c.job(&id).min_job_fee_lamports.get(), 10_000);
    let admin = c.admin.insecure_clone();
    let mut params = c.config().params;
    params.min_job_fee_lamports = U64::new(MIN_FEE_CAP);
    params.protocol_fee_bps = U16::new(2_000);
    let ix = client::update_config(
        &c.program_id,
        &solana_signer::Signer::pubkey(&admin),
        params,
    );
    c.send(&[ix], &[&admin]).unwrap();

    let treasury = c.lamports(&c.treasury);
    let meta = c.finalize(&id).unwrap();
    let posted_terms = split_payout_with_minimum(escrow, 250, 10_000, 3).unwrap();
    assert_eq!(posted_terms.fee, 25_000);
    assert_eq!(
        c.lamports(&c.treasury) - treasury,
        posted_terms.treasury(),
        "settlement used the new minimum fee"
    );
    assert_eq!(
        finalized(&meta).per_winner_lamports.get(),
        posted_terms.per_winner
    );
    // Posted after the change: the new terms are copied.
    let later = c.spec(escrow);
    c.post(&later).unwrap();
    let j = c.job(&later.job_id);
    assert_eq!(
        (j.min_job_fee_lamports.get(), j.protocol_fee_bps.get()),
        (MIN_FEE_CAP, 2_000)
    );
    c.assert_conserved();
}

/// The minimum fee applies when the escrow's share at `fee_bps` is smaller,
/// and the share when it is larger.
#[test]
fn the_minimum_fee_applies_when_the_bps_share_is_smaller() {
    let mut c = Chain::with_params(3, |p| p.min_job_fee_lamports = U64::new(MIN_FEE_CAP));
    for (escrow, fee) in [
        (MIN_ESCROW, MIN_FEE_CAP), // 2.5% is 25_000
        (20_000_000, 500_000),     // 2.5% is above the minimum
        (8_000_000, MIN_FEE_CAP),  // 2.5% equals the minimum
    ] {
        let spec = c.spec(escrow);
        let id = c.spec_at(&spec, Stage::AwaitingDa);
        let stakes: Vec<u64> = (0..3).map(|w| c.stake(w).total_stake.get()).collect();
        let treasury = c.lamports(&c.treasury);
        let meta = c.finalize(&id).unwrap();
        let share = (escrow - fee) / 3;
        let remainder = (escrow - fee) % 3;
        assert_eq!(
            c.lamports(&c.treasury) - treasury,
            fee + remainder,
            "escrow {escrow}"
        );
        for (w, before) in stakes.iter().enumerate() {
            assert_eq!(
                c.stake(w).total_stake.get() - before,
                share,
                "escrow {escrow}"
            );
        }
        let event = finalized(&meta);
        assert_eq!(
            (
                event.per_winner_lamports.get(),
                event.treasury_lamports.get()
            ),
            (share, fee + remainder)
        );
    }
    c.assert_conserved();
}

/// The fee never exceeds the escrow. On chain the bounds keep it within
/// 20% of any escrow post_job accepts (at the bound, the winners still
/// share 80%); and a job whose terms name a minimum fee above its escrow
/// (written into the account here, as no valid config can) pays the
/// treasury exactly its escrow, never more, and its winners nothing.
#[test]
fn the_fee_never_exceeds_the_escrow() {
    let mut c = Chain::with_params(3, |p| p.min_job_fee_lamports = U64::new(MIN_FEE_CAP));
    let spec = c.spec(MIN_ESCROW);
    let id = c.spec_at(&spec, Stage::AwaitingDa);
    let treasury = c.lamports(&c.treasury);
    let meta = c.finalize(&id).unwrap();
    // The fee is the minimum, 20% of the escrow; the remainder of 800_000
    // shared by 3 is 2.
    assert_eq!(c.lamports(&c.treasury) - treasury, MIN_FEE_CAP + 2);
    assert_eq!(finalized(&meta).per_winner_lamports.get(), 266_666);

    let spec = c.spec(MIN_ESCROW).with_priority_fee(7_000);
    let id = c.spec_at(&spec, Stage::AwaitingDa);
    let pda = client::job_pda(&c.program_id, &id).0;
    let mut acc = c.svm.get_account(&pda).unwrap();
    let mut job: Job = *layout::view::<Job>(&acc.data).unwrap();
    job.min_job_fee_lamports = U64::new(MIN_ESCROW * 10);
    acc.data = layout::account_bytes(&job);
    c.svm.set_account(pda, acc).unwrap();
    let stakes: Vec<u64> = (0..3).map(|w| c.stake(w).total_stake.get()).collect();
    let treasury = c.lamports(&c.treasury);
    let meta = c.finalize(&id).unwrap();
    assert_eq!(
        c.lamports(&c.treasury) - treasury,
        MIN_ESCROW + 7_000,
        "the treasury took more than the escrow (and the priority fee)"
    );
    assert_eq!(finalized(&meta).per_winner_lamports.get(), 0);
    for (w, before) in stakes.iter().enumerate() {
        let s = c.stake(w);
        assert_eq!(s.total_stake.get(), *before);
        assert_eq!(s.locked_stake.get(), 0, "a winner's lock was not released");
    }
    c.assert_conserved();
}

/// The priority fee buys scheduling order, a service of the operator: it
/// goes to the treasury when the job finalizes, and back to the client in
/// full when the job is cancelled (cancel_job, cancel_expired_job; through
/// cancel_no_da it stays with the job).
#[test]
fn the_priority_fee_goes_to_the_treasury_at_finalize_and_back_on_every_cancel() {
    const PRIORITY: u64 = 3_000_000;
    let mut c = Chain::new(5);
    let client_key = solana_signer::Signer::pubkey(&c.client);
    let rent = c.svm.minimum_balance_for_rent_exemption(Job::SPACE);

    // Finalized: fee, remainder and priority fee to the treasury.
    let spec = c.spec(BRONZE_ESCROW).with_priority_fee(PRIORITY);
    let id = c.spec_at(&spec, Stage::AwaitingDa);
    assert_eq!(c.job(&id).priority_fee_lamports.get(), PRIORITY);
    let treasury = c.lamports(&c.treasury);
    let meta = c.finalize(&id).unwrap();
    let pay = split_payout_with_minimum(BRONZE_ESCROW, 250, 10_000, 3).unwrap();
    assert_eq!(
        c.lamports(&c.treasury) - treasury,
        pay.treasury() + PRIORITY
    );
    assert_eq!(
        finalized(&meta).treasury_lamports.get(),
        pay.treasury() + PRIORITY
    );
    assert_eq!(c.job(&id).priority_fee_lamports.get(), 0);
    assert_eq!(c.lamports(&client::job_pda(&c.program_id, &id).0), rent);

    // cancel_job: everything the client paid in comes back.
    let spec = c.spec(BRONZE_ESCROW).with_priority_fee(PRIORITY);
    let before = c.lamports(&client_key);
    let posted = c.post(&spec).unwrap();
    let cancelled = c.cancel(&spec.job_id).unwrap();
    assert_eq!(
        before - c.lamports(&client_key),
        rent + posted.fee + cancelled.fee,
        "the client lost more than the job account's rent and the fees"
    );

    // Through a missed DA deadline the job keeps the priority fee; at
    // expiry it is refunded with the escrow and the deposit.
    let spec = c.spec(BRONZE_ESCROW).with_priority_fee(PRIORITY);
    let id = c.spec_at(&spec, Stage::QuorumReached);
    let da = c.job(&id).da_deadline_slot.get();
    c.warp_to(da + 1);
    c.cancel_no_da(&id).unwrap();
    assert_eq!(c.job(&id).priority_fee_lamports.get(), PRIORITY);
    let expiry = c.job(&id).expiry_slot.get();
    c.warp_to(expiry + 1);
    let j = c.job(&id);
    let before = c.lamports(&client_key);
    c.cancel_expired(&id).unwrap();
    assert_eq!(
        c.lamports(&client_key) - before,
        j.escrow_lamports.get() + j.records_lamports.get() + PRIORITY
    );
    assert_eq!(c.lamports(&client::job_pda(&c.program_id, &id).0), rent);
    c.assert_conserved();
}
