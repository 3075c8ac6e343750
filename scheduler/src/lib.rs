//! The scheduler: follows the chain and moves every job along.
//!
//! Each [`Scheduler::step`] reads the jobs that are not final and does, for
//! each, the one thing its on-chain state calls for:
//!
//! | state | crank |
//! | --- | --- |
//! | Posted, bundle at the relay and the job's | seed from the OS CSPRNG, and in the same transaction assign the committee drawn from it (seed alone when too few workers are eligible) |
//! | Seeded | assign the committee drawn from the on-chain seed |
//! | Assigned, round deadline passed, silent seats | penalize_non_submitters, with reassign_missing of every vacant seat in the same transaction |
//! | Assigned, vacant seats (after cancel_no_da) | reassign_missing |
//! | QuorumReached, DA deadline passed | cancel_no_da (the seats are reassigned on the next step) |
//! | AwaitingDA, challenge window over | finalize_job |
//! | Posted, Seeded, Assigned, expiry passed | cancel_expired_job |
//!
//! Jobs are taken highest `priority_fee_lamports` first, then oldest
//! (`created_slot`) ([`scheduling_order`]): a step takes stake from one pool
//! as it plans, so when workers or stake run short the jobs that paid for
//! priority are seeded and seated first, and their transactions are sent
//! first.
//!
//! Submissions are sealed, so the scheduler cannot reveal a quorum: only
//! a seat that computed the output can. A job whose seats never reveal
//! ends at expiry with a refund.
//!
//! Only a job a worker can run may cost a worker anything: the scheduler
//! seats a committee only once the job's bundle is at the relay, hashes to
//! the job's `bundle_hash` and decodes with the job's `runtime_id` and
//! limits.
//!
//! It keeps no state of its own: killed and restarted at any point, it
//! reads where the chain stands and continues. Every crank is guarded on
//! chain by the job's status and slots, so a crank sent twice (by two
//! schedulers, or before and after a restart) takes effect once; the second
//! is refused.
//!
//! Committees are drawn exactly as PROTOCOL.md says from the eligible set:
//! active workers with at least the job's `required_lock` unlocked, seen
//! online at the relay within `online_within_s` running the job's runtime,
//! weighted by unlocked stake. The set's snapshot is stored at the relay
//! (`/v1/selections/<snapshot_hash>`) before the assignment that names its
//! hash, so anyone can recompute the committee.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use edgerun_client::rpc::{Chain, ChainError};
use edgerun_client::{Address, output_pda};
use edgerun_protocol::hash::{Hash, hex};
use edgerun_protocol::selection::{self, Candidate};
use edgerun_protocol::state::{
    GlobalConfig, Job, OutputAvailability, job_status, submission_flags, worker_status,
};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Statuses a job can still move from.
const LIVE: [u8; 5] = [
    job_status::POSTED,
    job_status::SEEDED,
    job_status::ASSIGNED,
    job_status::QUORUM_REACHED,
    job_status::AWAITING_DA,
];

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("relay {url}: {cause}")]
    Relay { url: String, cause: String },
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// A worker counts as online when the relay saw its heartbeat this
    /// recently.
    pub online_within_s: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            online_within_s: 20,
        }
    }
}

/// One crank the scheduler sent, and what became of it.
#[derive(Debug)]
pub struct Crank {
    pub job: Hash,
    pub what: CrankKind,
    /// The transaction's signature, or why it was not confirmed.
    pub result: Result<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CrankKind {
    /// Seeded only: too few eligible workers to assign.
    Seeded,
    /// Seeded (when `seeded`) and assigned `committee`.
    Assigned {
        seeded: bool,
        committee: Vec<Address>,
        snapshot_hash: Hash,
    },
    /// Silent seats penalized, and replaced by `replacements` (empty: too
    /// few eligible workers to replace them yet).
    Replaced {
        replacements: Vec<Address>,
    },
    CancelledNoDa,
    Finalized,
    CancelledExpired,
}

pub struct Scheduler {
    pub chain: Chain,
    relay: String,
    http: reqwest::Client,
    authority: Keypair,
    randomness: Keypair,
    settings: Settings,
    /// Whether each job's bundle is at the relay and is the job's (a
    /// refusal is kept: a content address never changes; a missing bundle
    /// is asked again next step).
    bundles: Mutex<HashMap<Hash, Result<(), String>>>,
}

/// What one job needs, before it is sent.
struct Plan {
    job: Hash,
    what: CrankKind,
    ixs: Vec<Instruction>,
    randomness_signs: bool,
}

impl Scheduler {
    /// The scheduler of the edgerun program at `program` on the chain at
    /// `rpc_url`. `authority` is the config's scheduler authority (it pays
    /// the fees); `randomness` its randomness authority (may be the same
    /// key).
    pub fn new(
        rpc_url: &str,
        relay_url: &str,
        program: Address,
        authority: Keypair,
        randomness: Keypair,
        settings: Settings,
    ) -> Scheduler {
        Scheduler {
            chain: Chain::connect(rpc_url, program),
            relay: relay_url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client with a timeout"),
            authority,
            randomness,
            settings,
            bundles: Mutex::new(HashMap::new()),
        }
    }

    /// One pass over every live job; sends what they need, concurrently.
    pub async fn step(&self) -> Result<Vec<Crank>, SchedulerError> {
        let mut jobs = self.chain.jobs(&LIVE).await?;
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        jobs.sort_by(scheduling_order);
        let slot = self.chain.slot().await?;
        let config = self.chain.config().await?;
        let needs_workers = jobs.iter().any(|j| {
            matches!(j.status, job_status::POSTED | job_status::SEEDED)
                || (j.status == job_status::ASSIGNED
                    && (slot > j.deadline_slot.get() || vacant(j) > 0))
        });
        let mut pool = if needs_workers {
            Some(self.worker_pool().await?)
        } else {
            None
        };
        let mut plans = Vec::new();
        for job in &jobs {
            match self.plan(job, slot, &config, pool.as_mut()).await {
                Ok(Some(p)) => plans.push(p),
                Ok(None) => {}
                Err(e) => tracing::warn!(job = %hex(&job.job_id), error = %e, "cannot plan"),
            }
        }
        let sends = plans.into_iter().map(|p| async move {
            let mut others = Vec::new();
            if p.randomness_signs && self.randomness.pubkey() != self.authority.pubkey() {
                others.push(&self.randomness);
            }
            let result = self
                .chain
                .send(&p.ixs, &self.authority, &others)
                .await
                .map(|s| s.to_string())
                .map_err(|e| e.to_string());
            Crank {
                job: p.job,
                what: p.what,
                result,
            }
        });
        Ok(futures_util::future::join_all(sends).await)
    }

    async fn plan(
        &self,
        job: &Job,
        slot: u64,
        config: &GlobalConfig,
        pool: Option<&mut Pool>,
    ) -> Result<Option<Plan>, SchedulerError> {
        let program = &self.chain.program;
        let me = self.authority.pubkey();
        let treasury = Address::new_from_array(config.params.treasury.0);
        let assigned = edgerun_client::assigned_workers(job);
        let plan = |what, ixs, randomness_signs| {
            Ok(Some(Plan {
                job: job.job_id,
                what,
                ixs,
                randomness_signs,
            }))
        };
        let status = job.status;
        // Once a quorum is revealed the job settles by finalize_job or
        // cancel_no_da, never by a refund.
        if status <= job_status::ASSIGNED && slot > job.expiry_slot.get() {
            let client = Address::new_from_array(job.client.0);
            let ix = edgerun_client::cancel_expired_job(
                program,
                &me,
                &job.job_id,
                &client,
                &treasury,
                &assigned,
            );
            return plan(CrankKind::CancelledExpired, vec![ix], false);
        }
        match status {
            job_status::POSTED | job_status::SEEDED => {
                let Some(pool) = pool else { return Ok(None) };
                if let Err(why) = self.bundle_ok(job).await {
                    tracing::debug!(job = %hex(&job.job_id), %why, "not assigning");
                    return Ok(None);
                }
                if slot + job.submit_window_slots.get() > job.expiry_slot.get() {
                    // No whole round fits before expiry: it can only expire.
                    return Ok(None);
                }
                let seeded = status == job_status::POSTED;
                let seed = if seeded {
                    rand::random::<Hash>()
                } else {
                    job.seed
                };
                let mut ixs = Vec::new();
                if seeded {
                    ixs.push(edgerun_client::set_job_seed(
                        program,
                        &self.randomness.pubkey(),
                        &job.job_id,
                        seed,
                    ));
                }
                let Some((eligible, committee)) = pool.draw(job, &seed) else {
                    if seeded {
                        return plan(CrankKind::Seeded, ixs, true);
                    }
                    return Ok(None);
                };
                let snapshot_hash = self.store_snapshot(&eligible).await?;
                ixs.push(edgerun_client::assign_workers(
                    program,
                    &me,
                    &job.job_id,
                    snapshot_hash,
                    &committee,
                ));
                plan(
                    CrankKind::Assigned {
                        seeded,
                        committee,
                        snapshot_hash,
                    },
                    ixs,
                    seeded,
                )
            }
            job_status::ASSIGNED => {
                let n = assigned.len();
                let past = slot > job.deadline_slot.get();
                // Silent past the deadline: penalized now, vacant after.
                let to_penalize = (0..n)
                    .filter(|&i| {
                        let s = job.submissions[i];
                        past && !s.has(submission_flags::SUBMITTED)
                            && !s.has(submission_flags::SETTLED)
                    })
                    .count();
                let seats = vacant(job) + to_penalize;
                if seats == 0 {
                    return Ok(None);
                }
                let mut ixs = Vec::new();
                if to_penalize > 0 {
                    ixs.push(edgerun_client::penalize_non_submitters(
                        program,
                        &me,
                        &job.job_id,
                        &treasury,
                        &assigned,
                    ));
                }
                let mut replacements = Vec::new();
                let fits = slot + job.submit_window_slots.get() <= job.expiry_slot.get();
                if let (Some(pool), true) = (pool, fits) {
                    // Whoever ever sat in the job is not eligible for it.
                    let eligible: Vec<Candidate> = pool
                        .eligible(job)
                        .into_iter()
                        .filter(|c| !job.has_seated(&edgerun_protocol::layout::Pubkey(c.worker)))
                        .collect();
                    if let Ok(drawn) = selection::select(
                        &job.seed,
                        &job.job_id,
                        &eligible,
                        &[],
                        seats as u8,
                        job.draws,
                    ) {
                        replacements = drawn
                            .as_slice()
                            .iter()
                            .map(|w| Address::new_from_array(*w))
                            .collect();
                        let snapshot_hash = self.store_snapshot(&eligible).await?;
                        pool.lock(&replacements, job.required_lock_lamports.get());
                        ixs.push(edgerun_client::reassign_missing(
                            program,
                            &me,
                            &job.job_id,
                            snapshot_hash,
                            &replacements,
                        ));
                    }
                }
                if ixs.is_empty() {
                    return Ok(None);
                }
                plan(CrankKind::Replaced { replacements }, ixs, false)
            }
            job_status::QUORUM_REACHED if slot > job.da_deadline_slot.get() => {
                let ix =
                    edgerun_client::cancel_no_da(program, &me, &job.job_id, &treasury, &assigned);
                plan(CrankKind::CancelledNoDa, vec![ix], false)
            }
            job_status::AWAITING_DA => {
                let record: Option<OutputAvailability> = self
                    .chain
                    .account(&output_pda(program, &job.job_id).0)
                    .await?;
                let Some(record) = record else {
                    return Ok(None);
                };
                let open_until = record.published_slot.get() + job.challenge_window_slots.get();
                if slot < open_until {
                    return Ok(None);
                }
                let client = Address::new_from_array(job.client.0);
                let ix = edgerun_client::finalize_job(
                    program,
                    &me,
                    &job.job_id,
                    &treasury,
                    &client,
                    &assigned,
                );
                plan(CrankKind::Finalized, vec![ix], false)
            }
            _ => Ok(None),
        }
    }

    /// Whether the job's bundle is at the relay, hashes to its
    /// `bundle_hash`, and decodes with its `runtime_id` and limits. Only
    /// then can a committee run it; otherwise seating one would only fine
    /// honest workers for refusing it.
    async fn bundle_ok(&self, job: &Job) -> Result<(), String> {
        if let Some(known) = locked(&self.bundles).get(&job.job_id) {
            return known.clone();
        }
        let url = format!("{}/v1/bundles/{}", self.relay, hex(&job.bundle_hash));
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            // Not uploaded yet: ask again next step.
            return Err(format!("{url}: not at the relay yet"));
        }
        if !resp.status().is_success() {
            return Err(format!("{url}: {}", resp.status()));
        }
        let bytes = resp.bytes().await.map_err(|e| format!("{url}: {e}"))?;
        let verdict = check_bundle(job, &bytes);
        locked(&self.bundles).insert(job.job_id, verdict.clone());
        verdict
    }

    /// Stores the eligible-set snapshot at the relay; returns its hash.
    async fn store_snapshot(&self, eligible: &[Candidate]) -> Result<Hash, SchedulerError> {
        let bytes = selection::snapshot_bytes(eligible);
        let hash = edgerun_protocol::hash::blake3(&bytes);
        let url = format!("{}/v1/selections/{}", self.relay, hex(&hash));
        let failed = |cause: String| SchedulerError::Relay {
            url: url.clone(),
            cause,
        };
        let resp = self
            .http
            .put(&url)
            .body(bytes)
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            return Err(failed(format!("{status} {body}")));
        }
        Ok(hash)
    }

    /// The registered workers with their unlocked stake, and which of them
    /// the relay saw online, with the runtimes they run.
    async fn worker_pool(&self) -> Result<Pool, SchedulerError> {
        let stakes = self.chain.stakes().await?;
        let url = format!(
            "{}/v1/workers/online?within_s={}",
            self.relay, self.settings.online_within_s
        );
        let failed = |cause: String| SchedulerError::Relay {
            url: url.clone(),
            cause,
        };
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(failed(format!("{}", resp.status())));
        }
        let online: Online = resp.json().await.map_err(|e| failed(e.to_string()))?;
        let mut runtimes: HashMap<[u8; 32], HashSet<Hash>> = HashMap::new();
        let mut max_fuel = HashMap::new();
        for w in online.workers {
            let Ok(addr) = w.address.parse::<Address>() else {
                continue;
            };
            let ids = w
                .runtime_ids
                .iter()
                .filter_map(|h| edgerun_protocol::hash::parse_hex(h).ok())
                .collect();
            runtimes.insert(addr.to_bytes(), ids);
            if let Some(max) = w.max_fuel {
                max_fuel.insert(addr.to_bytes(), max);
            }
        }
        let unlocked = stakes
            .iter()
            .filter(|s| s.status == worker_status::ACTIVE)
            .map(|s| {
                (
                    s.worker.0,
                    s.total_stake.get().saturating_sub(s.locked_stake.get()),
                )
            })
            .collect();
        Ok(Pool {
            unlocked,
            runtimes,
            max_fuel,
        })
    }
}

/// The order a step plans jobs in: the highest priority fee first, then
/// the oldest (`created_slot`), then by job id so the order is total.
pub fn scheduling_order(a: &Job, b: &Job) -> Ordering {
    b.priority_fee_lamports
        .get()
        .cmp(&a.priority_fee_lamports.get())
        .then(a.created_slot.get().cmp(&b.created_slot.get()))
        .then(a.job_id.cmp(&b.job_id))
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Seats settled without a standing submission: penalized, released or
/// unseated, waiting for a replacement.
fn vacant(job: &Job) -> usize {
    job.submissions[..job.assigned().len()]
        .iter()
        .filter(|s| s.has(submission_flags::SETTLED) && !s.has(submission_flags::SUBMITTED))
        .count()
}

/// Whether `bytes` are the bundle `job` names: its hash, runtime and limits.
fn check_bundle(job: &Job, bytes: &[u8]) -> Result<(), String> {
    let hash = edgerun_protocol::hash::bundle_hash(bytes);
    if hash != job.bundle_hash {
        return Err(format!(
            "the relay's bundle hashes to {}, the job names {}",
            hex(&hash),
            hex(&job.bundle_hash)
        ));
    }
    let bundle = edgerun_protocol::bundle::Bundle::decode(bytes)
        .map_err(|e| format!("the bundle does not decode: {e}"))?;
    if bundle.runtime_id != job.runtime_id {
        return Err("the bundle names another runtime than the job".into());
    }
    if bundle.limits != job.limits {
        return Err("the bundle's limits differ from the job's".into());
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct Online {
    workers: Vec<OnlineWorker>,
}

#[derive(serde::Deserialize)]
struct OnlineWorker {
    address: String,
    runtime_ids: Vec<String>,
    /// The largest fuel cap the worker signed that it takes (an edge
    /// worker's CPU limit); absent: any.
    #[serde(default)]
    max_fuel: Option<u64>,
}

/// Workers as this step sees them; locks taken by this step's own
/// assignments are subtracted so two jobs in one step do not both count on
/// the same unlocked stake.
struct Pool {
    unlocked: HashMap<[u8; 32], u64>,
    runtimes: HashMap<[u8; 32], HashSet<Hash>>,
    /// Workers that take jobs only up to a fuel cap.
    max_fuel: HashMap<[u8; 32], u64>,
}

impl Pool {
    /// The job's eligible set, sorted by pubkey, weighted by unlocked
    /// stake: workers online with the job's runtime, enough unlocked stake,
    /// and no fuel cap below the job's (a worker would refuse such a seat,
    /// stay silent and be penalized for it).
    fn eligible(&self, job: &Job) -> Vec<Candidate> {
        let lock = job.required_lock_lamports.get();
        let fuel = job.limits.max_instructions.get();
        let mut set: Vec<Candidate> = self
            .unlocked
            .iter()
            .filter(|(w, unlocked)| {
                **unlocked >= lock
                    && self
                        .runtimes
                        .get(*w)
                        .is_some_and(|ids| ids.contains(&job.runtime_id))
                    && self.max_fuel.get(*w).is_none_or(|max| fuel <= *max)
            })
            .map(|(w, unlocked)| Candidate {
                worker: *w,
                weight: *unlocked,
            })
            .collect();
        set.sort_unstable_by_key(|c| c.worker);
        set
    }

    /// The committee drawn for `job` from `seed` over its eligible set,
    /// with their locks taken from the pool (so a job planned later in the
    /// step cannot count on the same stake); `None` when too few workers
    /// are eligible. Returns the eligible set (the snapshot) too.
    fn draw(&mut self, job: &Job, seed: &Hash) -> Option<(Vec<Candidate>, Vec<Address>)> {
        let eligible = self.eligible(job);
        let drawn =
            selection::select_committee(seed, &job.job_id, &eligible, job.committee_size).ok()?;
        let committee: Vec<Address> = drawn
            .as_slice()
            .iter()
            .map(|w| Address::new_from_array(*w))
            .collect();
        self.lock(&committee, job.required_lock_lamports.get());
        Some((eligible, committee))
    }

    fn lock(&mut self, workers: &[Address], lock: u64) {
        for w in workers {
            if let Some(u) = self.unlocked.get_mut(&w.to_bytes()) {
                *u = u.saturating_sub(lock);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgerun_protocol::layout::Layout;

    fn job(id: u8, priority_fee: u64, created_slot: u64) -> Job {
        let mut j = Job::read(&[0u8; Job::LEN]).expect("zeroed job");
        j.job_id = [id; 32];
        j.priority_fee_lamports.set(priority_fee);
        j.created_slot.set(created_slot);
        j.committee_size = 3;
        j.required_lock_lamports.set(1_000);
        j.runtime_id = [9; 32];
        j.limits = edgerun_protocol::limits::Limits::new(1 << 20, 1_000, 64);
        j
    }

    #[test]
    fn jobs_are_planned_highest_priority_fee_first_then_oldest() {
        let mut jobs = [
            job(1, 0, 10),
            job(2, 5_000, 30),
            job(3, 0, 5),
            job(4, 1_000_000, 40),
            job(5, 5_000, 20),
            job(6, 0, 5),
        ];
        jobs.sort_by(scheduling_order);
        let order: Vec<u8> = jobs.iter().map(|j| j.job_id[0]).collect();
        // 4 paid most; 5 and 2 paid the same, 5 is older; then the plain
        // jobs oldest first, ties by job id.
        assert_eq!(order, [4, 5, 2, 3, 6, 1]);
    }

    #[test]
    fn with_stake_for_one_committee_the_priority_job_is_seated() {
        // Three workers, each with stake for exactly one lock.
        let pool = || Pool {
            unlocked: (1u8..=3).map(|w| ([w; 32], 1_000)).collect(),
            runtimes: (1u8..=3)
                .map(|w| ([w; 32], HashSet::from([[9u8; 32]])))
                .collect(),
            max_fuel: HashMap::new(),
        };
        let older_plain = job(1, 0, 10);
        let newer_priority = job(2, 20_000, 50);
        let mut jobs = [older_plain, newer_priority];
        jobs.sort_by(scheduling_order);
        let mut p = pool();
        let seated: Vec<u8> = jobs
            .iter()
            .filter(|j| p.draw(j, &[7; 32]).is_some())
            .map(|j| j.job_id[0])
            .collect();
        assert_eq!(seated, [2], "the priority job is seated, the other waits");
        // Without the ordering the older plain job would have taken the stake.
        let mut p = pool();
        assert!(p.draw(&older_plain, &[7; 32]).is_some());
        assert!(p.draw(&newer_priority, &[7; 32]).is_none());
    }
}
