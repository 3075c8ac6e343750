//! The worker core every kind of edgerun worker shares: register and stake,
//! learn assignments, fetch and verify the bundle, run it with
//! edgerun-runtime, sign the attestation, submit, and — when it is a winner —
//! publish the output to the relay and declare it.
//!
//! The core keeps no state the chain does not have, except outputs it
//! computed (a cache: a restarted worker runs the job again). Each
//! [`Worker::step`] reads the chain and does what the worker's seats need.
//! Everything it reads and sends goes through [`Transport`], so the browser
//! and edge builds reuse this state machine with their own transport;
//! [`native`] is the one for a native process.
//!
//! Submissions are sealed (`seal = blake3(output_hash || worker)`): a
//! worker that computed the output recognises the seats whose seals match
//! it, and nobody else can. Sequential confirmations are kept low by
//! batching: the submit that completes a quorum of matching seals carries
//! the reveal (reach_quorum with the output hash), declare_output and (with
//! no challenge window) finalize_job; when submissions land together, the
//! first matching seat in the assigned table sends those three at once.

use std::collections::HashMap;
use std::sync::Mutex;

use edgerun_client::{Address, Attestation};
use edgerun_protocol::hash::{Hash, hex};
use edgerun_protocol::state::{GlobalConfig, Job, WorkerStake, job_status, submission_flags};
use solana_instruction::Instruction;

#[cfg(feature = "native")]
pub mod native;

/// What a transport could not do.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The chain or the relay did not answer; try again later.
    #[error("{0}")]
    Unavailable(String),
    /// The chain refused a transaction (its state does not allow it now).
    #[error("{0}")]
    Refused(String),
    /// The relay answered with something other than what was asked for.
    #[error("{0}")]
    Bad(String),
}

/// How a worker reaches the chain and the relay.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// The worker's address (its Ed25519 public key).
    fn worker(&self) -> Address;
    /// The edgerun program it works for (from its configuration).
    fn program(&self) -> Address;
    async fn slot(&self) -> Result<u64, TransportError>;
    async fn config(&self) -> Result<GlobalConfig, TransportError>;
    async fn stake(&self) -> Result<Option<WorkerStake>, TransportError>;
    /// Jobs in a round that takes submissions (Assigned, QuorumReached,
    /// AwaitingDA).
    async fn active_jobs(&self) -> Result<Vec<Job>, TransportError>;
    /// The bundle stored under `hash` (the core verifies it).
    async fn bundle(&self, hash: &Hash) -> Result<Vec<u8>, TransportError>;
    /// Stores `output` under its hash at the relay, as the seat of `job`
    /// (signed: only a seated worker may); returns its URL.
    async fn publish(
        &self,
        job: &Hash,
        hash: &Hash,
        output: &[u8],
    ) -> Result<String, TransportError>;
    /// Tells the relay this worker is online, which runtimes it runs and
    /// the largest fuel cap it takes (`None`: any).
    async fn heartbeat(
        &self,
        runtime_ids: &[Hash],
        max_fuel: Option<u64>,
    ) -> Result<(), TransportError>;
    /// Signs `ixs` as the worker and sends them in one transaction (a
    /// native worker pays its own fee; a browser's goes through the relay's
    /// fee payer); returns once confirmed.
    async fn send(&self, ixs: &[Instruction]) -> Result<String, TransportError>;
    /// Signs `message` (an attestation's SealedDigest) with the worker key.
    /// A browser keeps its key non-extractable in WebCrypto, so the core
    /// never holds it.
    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], TransportError>;
    /// The runtime_id of the engine [`Transport::run`] uses.
    fn runtime_id(&self) -> Hash;
    /// Runs a bundle (already checked to be the job's) under its caps:
    /// natively on wasmi, or on a browser's own WebAssembly engine; every
    /// engine gives the same output and fuel. `Err` when this engine cannot
    /// run it at all.
    async fn run(&self, bundle: &[u8]) -> Result<Ran, String>;
}

/// What running a bundle gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ran {
    /// The output bytes (`edgerun:fail:<reason>` for a deterministic failure).
    pub output: Vec<u8>,
    pub fuel_used: u64,
}

/// Faults a worker can be told to commit, for tests and drills.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Submit the hash of a corrupted output (the output with one bit
    /// flipped): a wrong minority to be slashed.
    pub corrupt_output: bool,
    /// A withholder: reveal a matching quorum, but never store or declare
    /// the output (the winners miss the DA deadline).
    pub never_publish: bool,
    /// A slow worker: submit only this many slots after the seat was
    /// assigned (read from the round's deadline and the job's window).
    pub submit_after_slots: u64,
    /// A copier: never run a job; submit another seat's seal, as read from
    /// the chain, as its own (it never publishes).
    pub copy: bool,
}

/// Settings of a worker.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Lamports staked at registration.
    pub stake_lamports: u64,
    pub faults: Faults,
    /// Slots a winner other than the first matching seat waits (after it
    /// first saw a quorum of matching seals, or after the reveal) before it
    /// reveals or publishes itself.
    pub publish_grace_slots: u64,
    /// The largest fuel cap this worker runs: a host whose invocations have
    /// a CPU limit (an edge runtime) refuses seats it could not finish.
    pub max_fuel: Option<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            stake_lamports: 20_000_000_000,
            faults: Faults::default(),
            publish_grace_slots: 10,
            max_fuel: None,
        }
    }
}

/// What one step did, for logs and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Registered {
        stake_lamports: u64,
    },
    Submitted {
        job: Hash,
        output_hash: Hash,
        fuel_used: u64,
    },
    /// The output was stored and declared (with reach_quorum and
    /// finalize_job when they could share the transaction).
    Published {
        job: Hash,
        url: String,
        finalized: bool,
    },
    /// The withholding drill revealed a quorum and will not publish.
    Revealed {
        job: Hash,
    },
    /// The copy drill submitted another seat's seal.
    Copied {
        job: Hash,
    },
    /// The bundle could not be run; the seat stays silent.
    Refused {
        job: Hash,
        reason: String,
    },
    /// This seat's step failed on the way (the chain or the relay did not
    /// answer, or refused a transaction); nothing was submitted for it this
    /// step, and the next step tries again.
    Stalled {
        job: Hash,
        error: String,
    },
}

/// A computed result, kept until its job leaves the active set.
#[derive(Clone)]
struct Computed {
    output: Vec<u8>,
    output_hash: Hash,
    fuel_used: u64,
}

pub struct Worker<T: Transport> {
    transport: T,
    program: Address,
    settings: Settings,
    computed: Mutex<HashMap<Hash, Computed>>,
    /// Jobs whose bundle cannot be run by this worker, with why.
    refused: Mutex<HashMap<Hash, String>>,
    /// When this worker first saw a quorum of seals matching its output in
    /// a job not yet revealed (the grace of later winners counts from it).
    quorum_seen: Mutex<HashMap<Hash, u64>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: Transport> Worker<T> {
    /// A worker that reaches the world, signs and runs through `transport`.
    pub fn new(transport: T, settings: Settings) -> Self {
        let program = transport.program();
        Worker {
            transport,
            program,
            settings,
            computed: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
            quorum_seen: Mutex::new(HashMap::new()),
        }
    }

    fn me(&self) -> Address {
        self.transport.worker()
    }

    /// Registers (staking `stake_lamports`) if this worker has no stake yet.
    pub async fn ensure_registered(&self) -> Result<Option<Action>, TransportError> {
        if self.transport.stake().await?.is_some() {
            return Ok(None);
        }
        // A native worker is its own authority (it funds its stake).
        let ix = edgerun_client::register_worker(
            &self.program,
            &self.me(),
            &self.me(),
            self.settings.stake_lamports,
        );
        self.transport.send(&[ix]).await?;
        Ok(Some(Action::Registered {
            stake_lamports: self.settings.stake_lamports,
        }))
    }

    /// Sends a heartbeat naming the runtime this worker runs and its fuel
    /// cap ([`Settings::max_fuel`]), so that the scheduler seats it only in
    /// jobs it will run.
    pub async fn heartbeat(&self) -> Result<(), TransportError> {
        self.transport
            .heartbeat(&[self.transport.runtime_id()], self.settings.max_fuel)
            .await
    }

    /// The transport (for the host: its keys, its settings).
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// submit_result and its Ed25519 check for `attestation`, signed
    /// through the transport.
    async fn submit_ixs(
        &self,
        attestation: &Attestation,
    ) -> Result<Vec<Instruction>, TransportError> {
        let signature = self.transport.sign(&attestation.digest()).await?;
        Ok(edgerun_client::submit_result_signed(
            &self.program,
            &self.me(),
            attestation,
            signature,
            0,
        )
        .to_vec())
    }

    /// One pass over this worker's seats, all at once (each seat waits for
    /// its own confirmations, so a worker with many seats does not act on
    /// stale state). Errors of one job are logged and do not stop the
    /// others.
    pub async fn step(&self) -> Result<Vec<Action>, TransportError> {
        let jobs = self.transport.active_jobs().await?;
        let me = edgerun_protocol::layout::Pubkey(self.me().to_bytes());
        let mine: Vec<(usize, Job)> = jobs
            .into_iter()
            .filter_map(|j| j.slot_of(&me).map(|i| (i, j)))
            .collect();
        locked(&self.computed).retain(|id, _| mine.iter().any(|(_, j)| &j.job_id == id));
        locked(&self.refused).retain(|id, _| mine.iter().any(|(_, j)| &j.job_id == id));
        locked(&self.quorum_seen).retain(|id, _| mine.iter().any(|(_, j)| &j.job_id == id));
        if mine.is_empty() {
            return Ok(Vec::new());
        }
        let slot = self.transport.slot().await?;
        let config = self.transport.config().await?;
        let this = self;
        let results = futures_util::future::join_all(
            mine.iter()
                .map(|(seat, job)| this.seat(*seat, job, slot, &config)),
        )
        .await;
        let mut actions = Vec::new();
        for ((_, job), result) in mine.iter().zip(results) {
            match result {
                Ok(Some(a)) => actions.push(a),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(job = %hex(&job.job_id), error = %e, "seat step failed");
                    actions.push(Action::Stalled {
                        job: job.job_id,
                        error: e.to_string(),
                    });
                }
            }
        }
        Ok(actions)
    }

    /// What this worker does for its seat `seat` of `job` now.
    async fn seat(
        &self,
        seat: usize,
        job: &Job,
        slot: u64,
        config: &GlobalConfig,
    ) -> Result<Option<Action>, TransportError> {
        let sub = job.submissions[seat];
        if sub.has(submission_flags::SETTLED) || sub.has(submission_flags::PENALIZED) {
            return Ok(None);
        }
        if !sub.has(submission_flags::SUBMITTED) {
            // After the reveal the round takes no submissions.
            if job.status != job_status::ASSIGNED
                || slot > job.deadline_slot.get()
                || locked(&self.refused).contains_key(&job.job_id)
            {
                return Ok(None);
            }
            let assigned_slot = job
                .deadline_slot
                .get()
                .saturating_sub(job.submit_window_slots.get());
            if slot < assigned_slot + self.settings.faults.submit_after_slots {
                return Ok(None);
            }
            return self.submit(job, config).await;
        }
        if self.settings.faults.copy {
            return Ok(None);
        }
        let grace = self.settings.publish_grace_slots;
        match job.status {
            job_status::ASSIGNED => {
                // Do a quorum of seals match what this worker computed? Only
                // a worker that knows the output hash can tell.
                let computed = match self.compute(job).await? {
                    Ok(c) => c,
                    Err(_) => return Ok(None),
                };
                let matching: Vec<usize> = job.matching(&computed.output_hash).collect();
                if matching.len() < job.quorum as usize || !matching.contains(&seat) {
                    return Ok(None);
                }
                let seen = *locked(&self.quorum_seen).entry(job.job_id).or_insert(slot);
                if matching[0] == seat || slot > seen + grace {
                    self.publish(job, config, true).await
                } else {
                    Ok(None)
                }
            }
            job_status::QUORUM_REACHED
                if sub.has(submission_flags::WINNER) && !self.settings.faults.never_publish =>
            {
                let first = job.winners().next() == Some(seat);
                if first || slot > job.quorum_reached_slot.get() + grace {
                    self.publish(job, config, false).await
                } else {
                    Ok(None)
                }
            }
            _ => Ok(None),
        }
    }

    /// Runs the job (or takes the cached result) and submits its seal; when
    /// this submission completes a quorum of matching seals, reveals and
    /// publishes in the same transaction.
    async fn submit(
        &self,
        job: &Job,
        config: &GlobalConfig,
    ) -> Result<Option<Action>, TransportError> {
        if self.settings.faults.copy {
            return self.submit_copy(job).await;
        }
        let computed = match self.compute(job).await? {
            Ok(c) => c,
            Err(reason) => {
                locked(&self.refused).insert(job.job_id, reason.clone());
                return Ok(Some(Action::Refused {
                    job: job.job_id,
                    reason,
                }));
            }
        };
        let attestation = Attestation::for_job(job, &self.me(), computed.output_hash);
        let ixs = self.submit_ixs(&attestation).await?;
        let completes = job.matches(&computed.output_hash) + 1 >= job.quorum as usize;
        if completes && self.settings.faults.never_publish {
            let mut all = ixs.clone();
            all.push(self.reveal_ix(job, &computed));
            if self.transport.send(&all).await.is_ok() {
                return Ok(Some(Action::Revealed { job: job.job_id }));
            }
        } else if completes {
            let url = self
                .transport
                .publish(&job.job_id, &computed.output_hash, &computed.output)
                .await?;
            let mut all = ixs.clone();
            all.extend(self.publish_ixs(job, config, &computed, &url, true)?);
            match self.transport.send(&all).await {
                Ok(_) => {
                    return Ok(Some(Action::Published {
                        job: job.job_id,
                        url,
                        finalized: job.challenge_window_slots.get() == 0,
                    }));
                }
                // Someone else's submission or reveal got there first: the
                // plain submission still stands.
                Err(TransportError::Refused(why)) => {
                    tracing::debug!(job = %hex(&job.job_id), %why, "batched submit refused; submitting alone");
                }
                Err(e) => return Err(e),
            }
        }
        self.transport.send(&ixs).await?;
        Ok(Some(Action::Submitted {
            job: job.job_id,
            output_hash: computed.output_hash,
            fuel_used: computed.fuel_used,
        }))
    }

    /// The copy drill: submit another seat's seal as this worker's own,
    /// without running anything; wait while nothing is visible.
    async fn submit_copy(&self, job: &Job) -> Result<Option<Action>, TransportError> {
        let me = edgerun_protocol::layout::Pubkey(self.me().to_bytes());
        let Some(seal) = job
            .assigned()
            .iter()
            .zip(&job.submissions)
            .find(|(w, s)| **w != me && s.has(submission_flags::SUBMITTED))
            .map(|(_, s)| s.seal)
        else {
            return Ok(None);
        };
        let attestation = Attestation::sealed(job, seal);
        let ixs = self.submit_ixs(&attestation).await?;
        self.transport.send(&ixs).await?;
        Ok(Some(Action::Copied { job: job.job_id }))
    }

    /// Stores the output and declares it (after reach_quorum when
    /// `reach` and before finalize_job when there is no challenge window).
    async fn publish(
        &self,
        job: &Job,
        config: &GlobalConfig,
        reach: bool,
    ) -> Result<Option<Action>, TransportError> {
        let computed = match self.compute(job).await? {
            Ok(c) => c,
            Err(reason) => {
                return Ok(Some(Action::Refused {
                    job: job.job_id,
                    reason,
                }));
            }
        };
        if self.settings.faults.never_publish {
            if !reach {
                return Ok(None);
            }
            self.transport
                .send(&[self.reveal_ix(job, &computed)])
                .await?;
            return Ok(Some(Action::Revealed { job: job.job_id }));
        }
        let url = self
            .transport
            .publish(&job.job_id, &computed.output_hash, &computed.output)
            .await?;
        let ixs = self.publish_ixs(job, config, &computed, &url, reach)?;
        self.transport.send(&ixs).await?;
        Ok(Some(Action::Published {
            job: job.job_id,
            url,
            finalized: job.challenge_window_slots.get() == 0,
        }))
    }

    fn publish_ixs(
        &self,
        job: &Job,
        config: &GlobalConfig,
        computed: &Computed,
        url: &str,
        reach: bool,
    ) -> Result<Vec<Instruction>, TransportError> {
        let me = self.me();
        let mut ixs = Vec::with_capacity(3);
        if reach {
            ixs.push(self.reveal_ix(job, computed));
        }
        ixs.push(
            edgerun_client::declare_output(
                &self.program,
                &me,
                &job.job_id,
                computed.output_hash,
                url,
            )
            .map_err(|e| TransportError::Bad(format!("output URL {url:?}: {e}")))?,
        );
        if job.challenge_window_slots.get() == 0 {
            let treasury = Address::new_from_array(config.params.treasury.0);
            ixs.push(edgerun_client::finalize_job(
                &self.program,
                &me,
                &job.job_id,
                &treasury,
                &Address::new_from_array(job.client.0),
                &edgerun_client::assigned_workers(job),
            ));
        }
        Ok(ixs)
    }

    /// reach_quorum from this worker, revealing its output hash.
    fn reveal_ix(&self, job: &Job, computed: &Computed) -> Instruction {
        edgerun_client::reach_quorum(&self.program, &self.me(), &job.job_id, computed.output_hash)
    }

    /// The job's result: cached, or fetched, verified and run. The inner
    /// error is why this worker will not run the bundle.
    async fn compute(&self, job: &Job) -> Result<Result<Computed, String>, TransportError> {
        if let Some(c) = locked(&self.computed).get(&job.job_id) {
            return Ok(Ok(c.clone()));
        }
        let fuel_cap = job.limits.max_instructions.get();
        if let Some(max) = self.settings.max_fuel.filter(|max| fuel_cap > *max) {
            return Ok(Err(format!(
                "the job's fuel cap {fuel_cap} is above this worker's {max} (what it can run within its host's CPU limit)"
            )));
        }
        let bytes = self.transport.bundle(&job.bundle_hash).await?;
        if let Err(reason) = verify_bundle(job, &bytes, self.transport.runtime_id()) {
            return Ok(Err(reason));
        }
        let ran = match self.transport.run(&bytes).await {
            Ok(r) => r,
            Err(reason) => return Ok(Err(reason)),
        };
        let computed = computed(ran, self.settings.faults.corrupt_output);
        locked(&self.computed).insert(job.job_id, computed.clone());
        Ok(Ok(computed))
    }
}

/// Checks the bundle is the job's (hash, runtime, limits) and that this
/// worker's engine is the runtime it names.
fn verify_bundle(job: &Job, bytes: &[u8], runtime_id: Hash) -> Result<(), String> {
    let actual = edgerun_protocol::hash::bundle_hash(bytes);
    if actual != job.bundle_hash {
        return Err(format!(
            "the relay's bundle hashes to {}, the job names {}",
            hex(&actual),
            hex(&job.bundle_hash)
        ));
    }
    let bundle = edgerun_protocol::bundle::Bundle::decode(bytes).map_err(|e| e.to_string())?;
    if bundle.runtime_id != job.runtime_id || bundle.limits != job.limits {
        return Err("the bundle's runtime or limits differ from the job's".into());
    }
    if bundle.runtime_id != runtime_id {
        return Err(format!(
            "the job runs on runtime {}, this worker's is {}",
            hex(&bundle.runtime_id),
            hex(&runtime_id)
        ));
    }
    Ok(())
}

/// The result to submit (with the corrupt-output drill applied).
fn computed(ran: Ran, corrupt: bool) -> Computed {
    let mut output = ran.output;
    if corrupt {
        match output.first_mut() {
            Some(b) => *b ^= 1,
            None => output.push(1),
        }
    }
    Computed {
        output_hash: edgerun_protocol::hash::output_hash(&output),
        output,
        fuel_used: ran.fuel_used,
    }
}
