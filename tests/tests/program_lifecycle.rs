//! Whole jobs through the real SBF program in LiteSVM.

use edgerun_protocol::economics::{required_lock, split_payout};
use edgerun_protocol::hash::{output_hash, seal};
use edgerun_protocol::layout::Account;
use edgerun_protocol::state::JobResult;
use edgerun_protocol::state::{OutputAvailability, job_status, submission_flags};
use edgerun_tests::{AnyEvent, Chain, WORKER_STAKE, events};

#[test]
fn bronze_job_runs_through_every_phase_and_pays_the_winners() {
    let mut c = Chain::new(3);
    let escrow = 50_000_000;
    let spec = c.spec(escrow);
    let posted = c.post(&spec).unwrap();
    let job = c.job(&spec.job_id);
    assert_eq!(job.status, job_status::POSTED);
    assert_eq!((job.committee_size, job.quorum), (3, 2));
    assert_eq!(job.escrow_lamports.get(), escrow);
    assert_eq!(job.bundle_hash, spec.bundle_hash);
    assert_eq!(
        job.required_lock_lamports.get(),
        required_lock(1_000_000, escrow, 3)
    );
    assert!(matches!(events(&posted)[..], [AnyEvent::JobPosted(e)] if e.job_id == spec.job_id));

    c.seed(&spec.job_id, [1; 32]).unwrap();
    assert_eq!(c.job(&spec.job_id).status, job_status::SEEDED);
    c.assign(&spec.job_id, &[0, 1, 2]).unwrap();
    let lock = c.job(&spec.job_id).required_lock_lamports.get();
    for w in 0..3 {
        assert_eq!(c.stake(w).locked_stake.get(), lock);
    }

    let out = output_hash(b"the output");
    for w in 0..3 {
        let sealed = seal(&out, &c.workers[w].address().to_bytes());
        let meta = c.submit(&spec.job_id, w, out).unwrap();
        assert!(
            matches!(events(&meta)[..], [AnyEvent::ResultSubmitted(e)] if e.seal == sealed),
            "the event carries the seal, never the output hash"
        );
        assert_eq!(c.job(&spec.job_id).submissions[w].seal, sealed);
        assert_eq!(c.job(&spec.job_id).winning_output_hash, [0; 32]);
    }
    c.reveal(&spec.job_id, 2, out).unwrap();
    let job = c.job(&spec.job_id);
    assert_eq!(job.status, job_status::QUORUM_REACHED);
    assert_eq!(job.winning_output_hash, out);
    assert_eq!(job.winners().collect::<Vec<_>>(), [0, 1, 2]);

    c.declare(&spec.job_id, 1, out).unwrap();
    let oa: OutputAvailability =
        c.account(&edgerun_client::output_pda(&c.program_id, &spec.job_id).0);
    assert_eq!(oa.output_hash, out);
    assert_eq!(c.job(&spec.job_id).status, job_status::AWAITING_DA);

    let treasury_before = c.lamports(&c.treasury);
    c.finalize(&spec.job_id).unwrap();
    let payout = split_payout(escrow, 250, 3).unwrap();
    for w in 0..3 {
        let s = c.stake(w);
        assert_eq!(s.total_stake.get(), WORKER_STAKE + payout.per_winner);
        assert_eq!(s.locked_stake.get(), 0);
    }
    assert_eq!(c.lamports(&c.treasury) - treasury_before, payout.treasury());
    let job = c.job(&spec.job_id);
    assert_eq!(job.status, job_status::FINALIZED);
    assert_eq!(job.escrow_lamports.get(), 0);
    assert_eq!(
        job.records_lamports.get(),
        0,
        "the unused records deposit went back to the client"
    );
    c.assert_conserved();
}

/// The 9/6 scenario: a wrong minority, a silent worker replaced
/// after the deadline, winners that never publish (cancel_no_da), then a
/// new quorum, declaration, finalization and payouts.
#[test]
fn gold_plus_job_survives_a_wrong_minority_a_silent_worker_and_missed_da() {
    let mut c = Chain::new(17);
    let escrow = 10_000_000_000;
    let spec = c.spec(escrow);
    let id = spec.job_id;
    c.post(&spec).unwrap();
    assert_eq!((c.job(&id).committee_size, c.job(&id).quorum), (9, 6));
    c.seed(&id, [2; 32]).unwrap();
    c.assign(&id, &[0, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    let lock = c.job(&id).required_lock_lamports.get();
    let penalty = 50_000;

    let good = output_hash(b"good");
    let bad = output_hash(b"bad");
    for w in 0..6 {
        c.submit(&id, w, good).unwrap();
    }
    c.submit(&id, 6, bad).unwrap();
    c.submit(&id, 7, bad).unwrap();
    // Worker 8 stays silent past the round deadline.
    c.warp(151);
    let meta = c.penalize(&id).unwrap();
    assert!(
        matches!(events(&meta)[..], [AnyEvent::WorkerPenalized(e)] if e.amount.get() == penalty)
    );
    assert_eq!(c.stake(8).total_stake.get(), WORKER_STAKE - penalty);
    assert_eq!(c.stake(8).locked_stake.get(), 0);
    // Penalized once: a second crank finds nothing to settle.
    assert_eq!(
        c.penalize(&id).unwrap_err().code(),
        edgerun_protocol::error::ProgramErrorCode::NothingToSettle
    );
    c.reassign(&id, &[9]).unwrap();
    assert_eq!(
        c.job(&id).assigned_workers[8].0,
        c.workers[9].address().to_bytes()
    );
    assert_eq!(c.job(&id).draws, 10);
    c.submit(&id, 9, good).unwrap();

    // Quorum of 7, but no winner ever declares.
    c.reveal(&id, 0, good).unwrap();
    c.warp(901);
    let meta = c.cancel_no_da(&id).unwrap();
    let evs = events(&meta);
    assert_eq!(
        evs.iter()
            .filter(|e| matches!(e, AnyEvent::WorkerPenalized(_)))
            .count(),
        7
    );
    assert!(evs.iter().any(|e| matches!(e, AnyEvent::DaMissed(_))));
    let job = c.job(&id);
    assert_eq!(job.status, job_status::ASSIGNED, "the job is alive");
    // Each unseated winner paid the penalty and repaid its JobResult's
    // rent into the job's records deposit, for its replacement.
    let record_rent = c.svm.minimum_balance_for_rent_exemption(JobResult::SPACE);
    for w in [0, 1, 2, 3, 4, 5, 9] {
        assert_eq!(
            c.stake(w).total_stake.get(),
            WORKER_STAKE - penalty - record_rent,
            "worker {w}"
        );
        assert_eq!(c.stake(w).locked_stake.get(), 0);
    }

    // Seven fresh workers take the unseated seats and agree.
    c.warp(1);
    c.reassign(&id, &[10, 11, 12, 13, 14, 15, 16]).unwrap();
    for w in 10..17 {
        c.submit(&id, w, good).unwrap();
    }
    c.reveal(&id, 10, good).unwrap();
    c.declare(&id, 12, good).unwrap();
    let meta = c.finalize(&id).unwrap();
    let slashed: Vec<_> = events(&meta)
        .into_iter()
        .filter_map(|e| match e {
            AnyEvent::WorkerSlashed(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(slashed.len(), 2);
    for w in [6, 7] {
        assert_eq!(
            c.stake(w).total_stake.get(),
            WORKER_STAKE - lock,
            "slashed exactly once"
        );
        assert_eq!(c.stake(w).locked_stake.get(), 0);
    }
    let payout = split_payout(escrow, 250, 7).unwrap();
    for w in 10..17 {
        assert_eq!(
            c.stake(w).total_stake.get(),
            WORKER_STAKE + payout.per_winner
        );
        assert_eq!(c.stake(w).locked_stake.get(), 0);
    }
    // Worker 8 and the unseated winners were settled once, before.
    assert_eq!(c.stake(8).total_stake.get(), WORKER_STAKE - penalty);
    let job = c.job(&id);
    assert_eq!(job.status, job_status::FINALIZED);
    assert!(
        job.submissions[..9]
            .iter()
            .all(|s| s.has(submission_flags::SETTLED))
    );
    // Nothing is settled twice.
    assert_eq!(
        c.finalize(&id).unwrap_err().code(),
        edgerun_protocol::error::ProgramErrorCode::WrongJobStatus
    );
    c.assert_conserved();
}
