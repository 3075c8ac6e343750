//! The scheduler: follows the chain and moves every job along.
//!
//! Each [`Scheduler::step`] reads the jobs that are not final and does, for
//! each, the one thing its on-chain state calls for:
//!
//! | state | crank |
//! | --- | --- |
//! | Posted | seed from the OS CSPRNG, and in the same transaction assign the committee drawn from it (seed alone when too few workers are eligible) |
//! | Seeded | assign the committee drawn from the on-chain seed |
//! | Assigned, a hash has a quorum, the quorum's last vote is `quorum_grace_slots` old | reach_quorum (the winners normally batch it with their own submission) |
//! | Assigned, round deadline passed, silent seats | penalize_non_submitters + reassign_missing in one transaction |
//! | QuorumReached, DA deadline passed | cancel_no_da (the seats are reassigned on the next step) |
//! | AwaitingDA, challenge window over | finalize_job |
//! | Posted … QuorumReached, expiry passed | cancel_expired_job |
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

use std::collections::{HashMap, HashSet};
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
    /// Slots the winners get to send reach_quorum themselves.
    pub quorum_grace_slots: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            online_within_s: 20,
            quorum_grace_slots: 20,
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
    ReachedQuorum,
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
}

/// What one job needs, before it is sent.
struct Plan {
    job: Hash,
    what: CrankKind,
    ixs: Vec<Instruction>,
    randomness_signs: bool,
}

impl Scheduler {
    /// `authority` is the config's scheduler authority (it pays the fees);
    /// `randomness` its randomness authority (may be the same key).
    pub fn new(
        rpc_url: &str,
        relay_url: &str,
        authority: Keypair,
        randomness: Keypair,
        settings: Settings,
    ) -> Scheduler {
        Scheduler {
            chain: Chain::connect(rpc_url),
            relay: relay_url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client with a timeout"),
            authority,
            randomness,
            settings,
        }
    }

    /// One pass over every live job; sends what they need, concurrently.
    pub async fn step(&self) -> Result<Vec<Crank>, SchedulerError> {
        let jobs = self.chain.jobs(&LIVE).await?;
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let slot = self.chain.slot().await?;
        let config = self.chain.config().await?;
        let needs_workers = jobs.iter().any(|j| {
            matches!(j.status, job_status::POSTED | job_status::SEEDED)
                || (j.status == job_status::ASSIGNED && slot > j.deadline_slot.get())
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
        if status <= job_status::QUORUM_REACHED && slot > job.expiry_slot.get() {
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
                let eligible = pool.eligible(job);
                let drawn =
                    selection::select_committee(&seed, &job.job_id, &eligible, job.committee_size);
                let Ok(drawn) = drawn else {
                    if seeded {
                        return plan(CrankKind::Seeded, ixs, true);
                    }
                    return Ok(None);
                };
                let committee: Vec<Address> = drawn
                    .as_slice()
                    .iter()
                    .map(|w| Address::new_from_array(*w))
                    .collect();
                let snapshot_hash = self.store_snapshot(&eligible).await?;
                pool.lock(&committee, job.required_lock_lamports.get());
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
                if let Some(votes_slot) = self.quorum_slot(job).await? {
                    if slot > votes_slot + self.settings.quorum_grace_slots {
                        let ix = edgerun_client::reach_quorum(program, &me, &job.job_id);
                        return plan(CrankKind::ReachedQuorum, vec![ix], false);
                    }
                    return Ok(None);
                }
                if slot <= job.deadline_slot.get() {
                    return Ok(None);
                }
                let n = assigned.len();
                let silent: Vec<usize> = (0..n)
                    .filter(|&i| !job.submissions[i].has(submission_flags::SUBMITTED))
                    .collect();
                if silent.is_empty() {
                    return Ok(None);
                }
                let mut ixs = Vec::new();
                if silent
                    .iter()
                    .any(|&i| !job.submissions[i].has(submission_flags::SETTLED))
                {
                    ixs.push(edgerun_client::penalize_non_submitters(
                        program,
                        &me,
                        &job.job_id,
                        &treasury,
                        &assigned,
                    ));
                }
                let mut replacements = Vec::new();
                if let Some(pool) = pool {
                    let eligible = pool.eligible(job);
                    let exclude: Vec<[u8; 32]> = assigned.iter().map(|a| a.to_bytes()).collect();
                    if let Ok(drawn) = selection::select(
                        &job.seed,
                        &job.job_id,
                        &eligible,
                        &exclude,
                        silent.len() as u8,
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
                let open_until =
                    record.published_slot.get() + config.params.challenge_window_slots.get();
                if slot < open_until {
                    return Ok(None);
                }
                let ix =
                    edgerun_client::finalize_job(program, &me, &job.job_id, &treasury, &assigned);
                plan(CrankKind::Finalized, vec![ix], false)
            }
            _ => Ok(None),
        }
    }

    /// When some output hash has a quorum of this round's votes: the slot
    /// its quorum-th vote landed in (from the JobResult records).
    async fn quorum_slot(&self, job: &Job) -> Result<Option<u64>, SchedulerError> {
        let Some(winner) = job.quorum_hash() else {
            return Ok(None);
        };
        let voters: Vec<Address> = job
            .voters(&winner)
            .map(|i| Address::new_from_array(job.assigned_workers[i].0))
            .collect();
        let mut slots: Vec<u64> = self
            .chain
            .results(&job.job_id, &voters)
            .await?
            .into_iter()
            .flatten()
            .map(|r| r.submitted_slot.get())
            .collect();
        slots.sort_unstable();
        Ok(slots.get(job.quorum as usize - 1).copied())
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
        Ok(Pool { unlocked, runtimes })
    }
}

#[derive(serde::Deserialize)]
struct Online {
    workers: Vec<OnlineWorker>,
}

#[derive(serde::Deserialize)]
struct OnlineWorker {
    address: String,
    runtime_ids: Vec<String>,
}

/// Workers as this step sees them; locks taken by this step's own
/// assignments are subtracted so two jobs in one step do not both count on
/// the same unlocked stake.
struct Pool {
    unlocked: HashMap<[u8; 32], u64>,
    runtimes: HashMap<[u8; 32], HashSet<Hash>>,
}

impl Pool {
    /// The job's eligible set, sorted by pubkey, weighted by unlocked stake.
    fn eligible(&self, job: &Job) -> Vec<Candidate> {
        let lock = job.required_lock_lamports.get();
        let mut set: Vec<Candidate> = self
            .unlocked
            .iter()
            .filter(|(w, unlocked)| {
                **unlocked >= lock
                    && self
                        .runtimes
                        .get(*w)
                        .is_some_and(|ids| ids.contains(&job.runtime_id))
            })
            .map(|(w, unlocked)| Candidate {
                worker: *w,
                weight: *unlocked,
            })
            .collect();
        set.sort_unstable_by_key(|c| c.worker);
        set
    }

    fn lock(&mut self, workers: &[Address], lock: u64) {
        for w in workers {
            if let Some(u) = self.unlocked.get_mut(&w.to_bytes()) {
                *u = u.saturating_sub(lock);
            }
        }
    }
}
