//! Whether a key is a registered worker holding stake, read from the chain
//! and cached briefly: heartbeats count and the fee payer pays only for
//! such workers, and the chain is asked at most once per key per TTL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use edgerun_protocol::state::{WorkerStake, worker_status};
use solana_address::Address;
use tokio::sync::Semaphore;

use crate::chain::Chain;
use crate::error::RelayError;
use crate::table::Table;

/// How long a "holds stake" answer is trusted.
pub const ACTIVE_TTL: Duration = Duration::from_secs(30);
/// How long a "no stake" answer is trusted (short: a worker that just
/// registered is not kept waiting).
pub const INACTIVE_TTL: Duration = Duration::from_secs(5);
/// Chain lookups in flight at once; further ones wait their turn.
const LOOKUPS: usize = 16;

/// A WorkerStake the protocol counts: active, with stake.
pub fn holds_stake(stake: &WorkerStake) -> bool {
    stake.status == worker_status::ACTIVE && stake.total_stake.get() > 0
}

#[derive(Clone, Copy)]
struct Answer {
    active: bool,
    until: Instant,
}

pub struct Stakes {
    chain: Chain,
    answers: Table<Answer>,
    lookups: Semaphore,
}

impl Stakes {
    pub fn new(chain: Chain) -> Arc<Self> {
        Arc::new(Stakes {
            chain,
            answers: Table::new(10_000, 200_000),
            lookups: Semaphore::new(LOOKUPS),
        })
    }

    fn cached(&self, worker: &Address, now: Instant) -> Option<bool> {
        self.answers
            .get(worker.as_array(), |a| (a.until > now).then_some(a.active))
            .flatten()
    }

    /// Whether `worker` holds stake on the chain (see [`holds_stake`]).
    pub async fn active(&self, worker: &Address) -> Result<bool, RelayError> {
        if let Some(active) = self.cached(worker, Instant::now()) {
            return Ok(active);
        }
        let _turn = crate::chain::lookup_turn(&self.lookups, "stake").await?;
        // Another request may have asked while this one waited.
        if let Some(active) = self.cached(worker, Instant::now()) {
            return Ok(active);
        }
        let active = self
            .chain
            .worker(worker)
            .await?
            .as_ref()
            .is_some_and(holds_stake);
        let now = Instant::now();
        let answer = Answer {
            active,
            until: now + if active { ACTIVE_TTL } else { INACTIVE_TTL },
        };
        // A full table only means this answer is not remembered.
        let _ = self.answers.with(
            worker.as_array(),
            |a| a.until <= now,
            || answer,
            |a| *a = answer,
        );
        Ok(active)
    }
}
