//! Sealed outputs (PROTOCOL.md v1.1, "Sealed submissions"): who may store
//! an output at the relay, and when the relay may serve it.
//!
//! A worker may `PUT /v1/outputs/{output_hash}` only while it is seated in
//! a live job (Assigned, QuorumReached or AwaitingDA), at most the job's
//! `max_output_bytes`, proving its key with a signature over
//! [`put_output_message`]. The relay serves the output only once an
//! OutputAvailability account on chain names its hash, so nobody sees a
//! seat's output before the round's reveal.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use edgerun_protocol::hash::{Hash, hex, parse_hex};
use edgerun_protocol::state::{Job, job_status};
use solana_address::Address;
use tokio::sync::Semaphore;

use crate::chain::Chain;
use crate::error::RelayError;
use crate::table::Table;

pub use edgerun_protocol::output_upload::{
    DOMAIN as PUT_OUTPUT_DOMAIN, JOB_HEADER, SIGNATURE_HEADER, WORKER_HEADER,
    message as put_output_message,
};

/// Whether a job in `status` still takes its seats' outputs.
pub fn takes_outputs(status: u8) -> bool {
    matches!(
        status,
        job_status::ASSIGNED | job_status::QUORUM_REACHED | job_status::AWAITING_DA
    )
}

/// The worker and job an output upload claims, its signature verified.
#[derive(Debug, Clone, Copy)]
pub struct Uploader {
    pub job_id: Hash,
    pub worker: Address,
}

fn header<'a>(headers: &'a HeaderMap, name: &str, what: &str) -> Result<&'a str, RelayError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .ok_or_else(|| {
            RelayError::BadSignature(format!(
                "no {name} header ({what}); an output is stored only for a worker seated in its job: send \
                 {JOB_HEADER} (job id, hex), {WORKER_HEADER} (base58) and {SIGNATURE_HEADER} (the worker's \
                 Ed25519 signature over \"edgerun:put-output:v1\" || job_id || output_hash, hex)"
            ))
        })
}

/// Reads the three headers and verifies the signature over
/// [`put_output_message`]; no chain involved yet.
pub fn uploader(headers: &HeaderMap, output_hash: &Hash) -> Result<Uploader, RelayError> {
    let bad = |m: String| RelayError::BadSignature(m);
    let job = header(headers, JOB_HEADER, "the job id")?;
    let worker = header(headers, WORKER_HEADER, "the worker's address")?;
    let signature = header(headers, SIGNATURE_HEADER, "the worker's signature")?;
    let job_id = parse_hex(job).map_err(|e| {
        bad(format!(
            "{JOB_HEADER} is not a job id ({e}); send the 64 lowercase hex characters of the job id"
        ))
    })?;
    let worker: Address = worker
        .parse()
        .map_err(|_| bad(format!("{WORKER_HEADER} is not a base58 address")))?;
    let signature = crate::routes::workers::parse_signature(signature).map_err(|_| {
        bad(format!(
            "{SIGNATURE_HEADER} is not 128 lowercase hex characters"
        ))
    })?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(worker.as_array())
        .map_err(|_| bad(format!("{worker} is not an Ed25519 public key")))?;
    key.verify_strict(&put_output_message(&job_id, output_hash), &signature)
        .map_err(|_| {
            bad(format!(
                "{SIGNATURE_HEADER} does not verify for {worker} over \"edgerun:put-output:v1\" || job {} || output {}; \
                 sign edgerun_protocol::output_upload::message(job_id, output_hash) with the worker's key",
                hex(&job_id),
                hex(output_hash)
            ))
        })?;
    Ok(Uploader { job_id, worker })
}

/// The job `who` uploads for, if it is live and `who` sits in it.
pub async fn seated(chain: &Chain, who: &Uploader) -> Result<Job, RelayError> {
    let job = chain
        .job(&who.job_id)
        .await?
        .ok_or_else(|| RelayError::JobNotFound(hex(&who.job_id)))?;
    if !takes_outputs(job.status) {
        return Err(RelayError::Forbidden(format!(
            "job {} is {}; outputs are stored only while a job is Assigned, QuorumReached or AwaitingDA",
            hex(&who.job_id),
            job_status::name(job.status)
        )));
    }
    let seat = job.slot_of(&edgerun_protocol::layout::Pubkey(who.worker.to_bytes()));
    if seat.is_none() {
        return Err(RelayError::Forbidden(format!(
            "{} is not seated in job {}; only its committee may store its output",
            who.worker,
            hex(&who.job_id)
        )));
    }
    Ok(job)
}

/// Outputs known to be declared are kept (a declaration is permanent) up
/// to this many; older ones are asked again.
const KNOWN: usize = 100_000;
/// How long "not declared" is trusted.
const NOT_DECLARED_TTL: Duration = Duration::from_secs(1);
/// getProgramAccounts calls in flight at once.
const LOOKUPS: usize = 8;

/// Which output hashes an OutputAvailability names, from the chain.
pub struct Declared {
    chain: Chain,
    known: Mutex<(HashSet<Hash>, VecDeque<Hash>)>,
    misses: Table<Instant>,
    lookups: Semaphore,
}

impl Declared {
    pub fn new(chain: Chain) -> Arc<Self> {
        Arc::new(Declared {
            chain,
            known: Mutex::new((HashSet::new(), VecDeque::new())),
            misses: Table::new(10_000, 100_000),
            lookups: Semaphore::new(LOOKUPS),
        })
    }

    /// Whether `hash` is already known to be declared (no chain read).
    pub fn known(&self, hash: &Hash) -> bool {
        self.known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .contains(hash)
    }

    fn recently_missing(&self, hash: &Hash, now: Instant) -> bool {
        self.misses.get(hash, |until| *until > now).unwrap_or(false)
    }

    /// Whether an OutputAvailability names `hash`.
    pub async fn declared(&self, hash: &Hash) -> Result<bool, RelayError> {
        if self.known(hash) {
            return Ok(true);
        }
        if self.recently_missing(hash, Instant::now()) {
            return Ok(false);
        }
        let _turn = crate::chain::lookup_turn(&self.lookups, "output").await?;
        if self.known(hash) {
            return Ok(true);
        }
        let now = Instant::now();
        if self.recently_missing(hash, now) {
            return Ok(false);
        }
        let declared = self.chain.output_declared(hash).await?;
        if declared {
            let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            let (set, order) = &mut *known;
            if set.insert(*hash) {
                order.push_back(*hash);
                if order.len() > KNOWN
                    && let Some(old) = order.pop_front()
                {
                    set.remove(&old);
                }
            }
            self.misses.remove(hash);
        } else {
            let until = now + NOT_DECLARED_TTL;
            let _ = self
                .misses
                .with(hash, |u| *u <= now, || until, |u| *u = until);
        }
        Ok(declared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_put_message_is_the_domain_then_job_then_hash() {
        let m = put_output_message(&[1; 32], &[2; 32]);
        assert_eq!(&m[..21], b"edgerun:put-output:v1");
        assert_eq!(&m[21..53], &[1; 32]);
        assert_eq!(&m[53..], &[2; 32]);
        assert_eq!(m.len(), 85);
    }
}
