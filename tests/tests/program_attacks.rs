//! The attacks of protocol v1.1 (issue 12), each performed against the real
//! SBF program in LiteSVM. Every test here failed on the v1 program; each
//! asserts what v1.1 guarantees.

use edgerun_client::{self as client};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::hash;
use edgerun_protocol::layout::{U16, U64};
use edgerun_protocol::state::job_status;
use edgerun_tests::{BRONZE_ESCROW, Chain, Stage, agreed_output};
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
