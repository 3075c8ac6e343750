//! Lamport conservation under random use: random sequences of valid and
//! invalid instructions over several jobs and workers, asserting after every
//! step that the tracked parties hold what they started with minus the fees
//! charged, and that no program account is below rent exemption.
//!
//! `cargo xtask test` runs 500 sequences; `cargo xtask soak` runs 10,000
//! (`EDGERUN_CONSERVATION_CASES`).

use edgerun_client as client;
use edgerun_client::{Address, JobSpec};
use edgerun_protocol::hash::{Hash, output_hash};
use edgerun_protocol::layout::Pubkey;
use edgerun_tests::Chain;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use solana_signer::Signer;

const WORKERS: usize = 7;
const JOBS: usize = 3;

#[derive(Clone, Debug)]
enum Step {
    /// The natural next instruction for the job's status, steered by `choice`.
    Advance {
        job: usize,
        choice: u8,
    },
    Post {
        job: usize,
        escrow: u64,
        ttl: u64,
        priority_fee: u64,
    },
    Cancel {
        job: usize,
    },
    Seed {
        job: usize,
    },
    Assign {
        job: usize,
        first: usize,
    },
    Submit {
        job: usize,
        worker: usize,
        good: bool,
    },
    Reveal {
        job: usize,
        worker: usize,
    },
    Declare {
        job: usize,
        worker: usize,
    },
    Finalize {
        job: usize,
    },
    Penalize {
        job: usize,
    },
    Reassign {
        job: usize,
        first: usize,
    },
    CancelNoDa {
        job: usize,
    },
    CancelExpired {
        job: usize,
    },
    Warp {
        slots: u64,
    },
    Deposit {
        worker: usize,
        amount: u64,
    },
    Withdraw {
        worker: usize,
        amount: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let job = 0..JOBS;
    let worker = 0..WORKERS;
    prop_oneof![
        24 => (job.clone(), any::<u8>()).prop_map(|(job, choice)| Step::Advance { job, choice }),
        3 => (
            job.clone(),
            prop_oneof![Just(0u64), 1_000u64..99_999_999, 100_000_000u64..200_000_000],
            1u64..2_000,
            // None, some, more than the client holds, overflowing.
            prop_oneof![Just(0u64), 1u64..50_000_000, Just(2_000_000_000_000), Just(u64::MAX - 1)],
        )
            .prop_map(|(job, escrow, ttl, priority_fee)| Step::Post { job, escrow, ttl, priority_fee }),
        1 => job.clone().prop_map(|job| Step::Cancel { job }),
        2 => job.clone().prop_map(|job| Step::Seed { job }),
        2 => (job.clone(), worker.clone()).prop_map(|(job, first)| Step::Assign { job, first }),
        6 => (job.clone(), worker.clone(), prop::bool::weighted(0.8)).prop_map(|(job, worker, good)| Step::Submit { job, worker, good }),
        2 => (job.clone(), worker.clone()).prop_map(|(job, worker)| Step::Reveal { job, worker }),
        2 => (job.clone(), worker.clone()).prop_map(|(job, worker)| Step::Declare { job, worker }),
        2 => job.clone().prop_map(|job| Step::Finalize { job }),
        1 => job.clone().prop_map(|job| Step::Penalize { job }),
        1 => (job.clone(), worker.clone()).prop_map(|(job, first)| Step::Reassign { job, first }),
        1 => job.clone().prop_map(|job| Step::CancelNoDa { job }),
        1 => job.clone().prop_map(|job| Step::CancelExpired { job }),
        2 => prop_oneof![1u64..20, 100u64..200, 900u64..1_000].prop_map(|slots| Step::Warp { slots }),
        1 => (worker.clone(), 0u64..5_000_000_000).prop_map(|(worker, amount)| Step::Deposit { worker, amount }),
        1 => (worker, prop_oneof![0u64..1_000_000, 40_000_000_000u64..60_000_000_000]).prop_map(|(worker, amount)| Step::Withdraw { worker, amount }),
    ]
}

struct World {
    chain: Chain,
    specs: [JobSpec; JOBS],
    job_ids: [Hash; JOBS],
}

impl World {
    fn new() -> Self {
        // The largest minimum fee the test's minimum escrow allows (20% of
        // it), so that small escrows pay the minimum and large ones the
        // bps share.
        let mut chain = Chain::with_params(WORKERS, |p| {
            p.min_job_fee_lamports = edgerun_protocol::layout::U64::new(
                edgerun_protocol::economics::min_job_fee_cap(p.min_escrow_lamports.get()),
            )
        });
        let specs: [JobSpec; JOBS] = core::array::from_fn(|_| chain.spec(1));
        let job_ids = specs.map(|s| s.job_id);
        World {
            chain,
            specs,
            job_ids,
        }
    }

    fn fork(&self) -> Self {
        World {
            chain: self.chain.fork(),
            specs: self.specs,
            job_ids: self.job_ids,
        }
    }

    fn exists(&self, job: usize) -> bool {
        self.chain.job_exists(&self.job_ids[job])
    }

    /// Workers `first, first+1, …` (mod WORKERS) that never sat in the job
    /// (or anyone, when the job does not exist).
    fn pick(&self, job: usize, first: usize, count: usize) -> Vec<usize> {
        let j = self.exists(job).then(|| self.chain.job(&self.job_ids[job]));
        (0..WORKERS)
            .map(|k| (first + k) % WORKERS)
            .filter(|&w| {
                let key = Pubkey(self.chain.workers[w].address().to_bytes());
                !j.as_ref().is_some_and(|j| j.has_seated(&key))
            })
            .take(count)
            .collect()
    }

    /// The concrete step that moves `job` on from where it stands.
    fn next_step(&self, job: usize, choice: u8) -> Step {
        use edgerun_protocol::state::{job_status as st, submission_flags as f};
        if !self.exists(job) {
            let escrow = if choice.is_multiple_of(4) {
                150_000_000
            } else {
                1_000_000 + u64::from(choice) * 10_000
            };
            return Step::Post {
                job,
                escrow,
                ttl: 1_100 + u64::from(choice) * 8,
                priority_fee: if choice.is_multiple_of(3) {
                    0
                } else {
                    u64::from(choice) * 7_919
                },
            };
        }
        let j = self.chain.job(&self.job_ids[job]);
        let slot = self.chain.slot();
        let first = usize::from(choice) % WORKERS;
        match j.status {
            st::POSTED => Step::Seed { job },
            st::SEEDED => Step::Assign { job, first },
            st::ASSIGNED => {
                let n = j.assigned().len();
                let open = (0..n)
                    .filter(|&i| j.submissions[i].flags == 0)
                    .collect::<Vec<_>>();
                let past = slot > j.deadline_slot.get();
                let submitted: Vec<usize> = (0..n)
                    .filter(|&i| j.submissions[i].has(f::SUBMITTED))
                    .collect();
                if past && (0..n).any(|i| j.submissions[i].flags & (f::SUBMITTED | f::SETTLED) == 0)
                {
                    Step::Penalize { job }
                } else if (0..n).any(|i| {
                    j.submissions[i].has(f::SETTLED) && !j.submissions[i].has(f::SUBMITTED)
                }) {
                    Step::Reassign { job, first }
                } else if !open.is_empty() && !choice.is_multiple_of(8) {
                    let slot_i = open[usize::from(choice) % open.len()];
                    let worker = self
                        .chain
                        .worker_index(&Address::new_from_array(j.assigned_workers[slot_i].0));
                    Step::Submit {
                        job,
                        worker,
                        good: !choice.is_multiple_of(6),
                    }
                } else if choice.is_multiple_of(8) || submitted.is_empty() {
                    // Let the round deadline lapse.
                    Step::Warp { slots: 151 }
                } else {
                    let i = submitted[usize::from(choice) % submitted.len()];
                    let worker = self
                        .chain
                        .worker_index(&Address::new_from_array(j.assigned_workers[i].0));
                    Step::Reveal { job, worker }
                }
            }
            st::QUORUM_REACHED => {
                if choice.is_multiple_of(5) {
                    if slot > j.da_deadline_slot.get() {
                        Step::CancelNoDa { job }
                    } else {
                        Step::Warp { slots: 901 }
                    }
                } else {
                    let winners: Vec<usize> = j.winners().collect();
                    let i = winners[usize::from(choice) % winners.len()];
                    let worker = self
                        .chain
                        .worker_index(&Address::new_from_array(j.assigned_workers[i].0));
                    Step::Declare { job, worker }
                }
            }
            st::AWAITING_DA => Step::Finalize { job },
            _ => Step::CancelExpired { job },
        }
    }

    /// Applies a step; `Some(ok)` for a transaction, `None` for a clock warp
    /// or a skipped step.
    fn apply(&mut self, s: &Step) -> Option<bool> {
        if let Step::Advance { job, choice } = *s {
            let next = self.next_step(job, choice);
            return self.apply(&next);
        }
        let pid = self.chain.program_id;
        let result = match *s {
            Step::Advance { .. } => unreachable!("resolved above"),
            Step::Post {
                job,
                escrow,
                ttl,
                priority_fee,
            } => {
                let mut spec = self.specs[job];
                spec.escrow_lamports = escrow;
                spec.ttl_slots = ttl;
                spec.priority_fee_lamports = priority_fee;
                self.chain.post(&spec)
            }
            Step::Cancel { job } => {
                let ix = client::cancel_job(&pid, &self.chain.client.pubkey(), &self.job_ids[job]);
                let k = self.chain.client.insecure_clone();
                self.chain.send(&[ix], &[&k])
            }
            Step::Seed { job } => self.chain.seed(&self.job_ids[job], [job as u8; 32]),
            Step::Assign { job, first } => {
                let size = if self.exists(job) {
                    self.chain.job(&self.job_ids[job]).committee_size as usize
                } else {
                    3
                };
                let committee: Vec<usize> = (0..size).map(|k| (first + k) % WORKERS).collect();
                self.chain.assign(&self.job_ids[job], &committee)
            }
            Step::Submit { job, worker, good } => {
                if !self.exists(job) {
                    return None;
                }
                let out = output_hash(if good { b"good" } else { b"bad" });
                self.chain.submit(&self.job_ids[job], worker, out)
            }
            Step::Reveal { job, worker } => {
                self.chain
                    .reveal(&self.job_ids[job], worker, output_hash(b"good"))
            }
            Step::Declare { job, worker } => {
                self.chain
                    .declare(&self.job_ids[job], worker, output_hash(b"good"))
            }
            Step::Finalize { job } => self.chain.finalize(&self.job_ids[job]),
            Step::Penalize { job } => self.chain.penalize(&self.job_ids[job]),
            Step::Reassign { job, first } => {
                let missing = if self.exists(job) {
                    use edgerun_protocol::state::submission_flags as f;
                    let j = self.chain.job(&self.job_ids[job]);
                    j.submissions[..j.assigned().len()]
                        .iter()
                        .filter(|s| s.has(f::SETTLED) && !s.has(f::SUBMITTED))
                        .count()
                } else {
                    1
                };
                let repl = self.pick(job, first, missing.max(1));
                self.chain.reassign(&self.job_ids[job], &repl)
            }
            Step::CancelNoDa { job } => self.chain.cancel_no_da(&self.job_ids[job]),
            Step::CancelExpired { job } => self.chain.cancel_expired(&self.job_ids[job]),
            Step::Warp { slots } => {
                self.chain.warp(slots);
                return None;
            }
            Step::Deposit { worker, amount } => {
                let k = self.chain.workers[worker].key.insecure_clone();
                let ix = client::deposit_stake(&pid, &k.pubkey(), &k.pubkey(), amount);
                self.chain.send(&[ix], &[&k])
            }
            Step::Withdraw { worker, amount } => {
                let k = self.chain.workers[worker].key.insecure_clone();
                let ix = client::withdraw_stake(&pid, &k.pubkey(), &k.pubkey(), amount);
                self.chain.send(&[ix], &[&k])
            }
        };
        Some(result.is_ok())
    }
}

/// The step's kind, for the summary.
fn kind(s: &Step) -> &'static str {
    match s {
        Step::Advance { .. } => "advance",
        Step::Post { .. } => "post_job",
        Step::Cancel { .. } => "cancel_job",
        Step::Seed { .. } => "set_job_seed",
        Step::Assign { .. } => "assign_workers",
        Step::Submit { .. } => "submit_result",
        Step::Reveal { .. } => "reach_quorum",
        Step::Declare { .. } => "declare_output",
        Step::Finalize { .. } => "finalize_job",
        Step::Penalize { .. } => "penalize_non_submitters",
        Step::Reassign { .. } => "reassign_missing",
        Step::CancelNoDa { .. } => "cancel_no_da",
        Step::CancelExpired { .. } => "cancel_expired_job",
        Step::Warp { .. } => "warp",
        Step::Deposit { .. } => "deposit_stake",
        Step::Withdraw { .. } => "withdraw_stake",
    }
}

#[test]
fn lamports_are_conserved_under_random_instruction_sequences() {
    let cases = std::env::var("EDGERUN_CONSERVATION_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let started = std::time::Instant::now();
    let steps = std::cell::Cell::new(0usize);
    let outcomes =
        std::cell::RefCell::new(std::collections::BTreeMap::<&str, (usize, usize)>::new());
    let base = World::new();
    runner
        .run(&proptest::collection::vec(step(), 10..60), |seq| {
            let mut w = base.fork();
            for s in &seq {
                let concrete = match *s {
                    Step::Advance { job, choice } => w.next_step(job, choice),
                    _ => s.clone(),
                };
                if let Some(ok) = w.apply(&concrete) {
                    let mut o = outcomes.borrow_mut();
                    let e = o.entry(kind(&concrete)).or_default();
                    e.0 += usize::from(ok);
                    e.1 += 1;
                }
                steps.set(steps.get() + 1);
                w.chain.assert_conserved();
            }
            Ok(())
        })
        .unwrap();
    let o = outcomes.borrow();
    for (k, (ok, all)) in o.iter() {
        println!("  {k:<24} {ok:>6} succeeded of {all:>6}");
    }
    // The sequences must reach settlement, or the property says little.
    if cases >= 100 {
        for k in [
            "submit_result",
            "finalize_job",
            "penalize_non_submitters",
            "cancel_no_da",
            "cancel_expired_job",
        ] {
            assert!(
                o.get(k).is_some_and(|(ok, _)| *ok > 0),
                "no successful {k} in {cases} sequences"
            );
        }
    }
    println!(
        "conservation: {cases} sequences, {} steps in {:.1} s",
        steps.get(),
        started.elapsed().as_secs_f64()
    );
}
