//! The website's data: `GET /v1/config` (the program's Config, decoded, for
//! the trust and pricing pages) and `POST /v1/demo/{workload}`, the
//! landing page's "Run a job": the operator posts one of the demo bundles
//! for a visitor who has no wallet.
//!
//! The demo is off unless the operator configures it (`with_demo`;
//! `edgerun up` does). A visitor names a workload, never bytes: only the
//! bundles configured at start are ever posted. It is bounded three ways,
//! each checked before a lamport moves: jobs per visitor address per ten
//! minutes, jobs per hour in all, and a lamport budget (escrow, records
//! deposit, the Job account's rent and the fee of every demo job, counted
//! in full although part of the deposit comes back) the demo never
//! exceeds until the relay restarts.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use edgerun_client::JobSpec;
use edgerun_protocol::economics::job_cost;
use edgerun_protocol::hash::hex;
use edgerun_protocol::layout::Account;
use edgerun_protocol::state::{Job, JobResult, OutputAvailability};
use edgerun_protocol::tier::Tier;
use serde::Serialize;
use solana_signer::Signer;
use solana_transaction::Transaction;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, RelayError};
use crate::routes::objects::ClientIp;
use crate::store::{ContentHash, Kind, PutOptions};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_config))
        .routes(routes!(post_demo))
}

/// The program's Config as clients read it (`GET /v1/config`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ConfigView {
    pub address: String,
    pub protocol_fee_bps: u16,
    pub min_job_fee_lamports: u64,
    pub min_worker_stake_lamports: u64,
    pub non_response_slash_lamports: u64,
    pub submit_window_slots: u64,
    pub da_window_slots: u64,
    pub challenge_window_slots: u64,
    pub max_job_ttl_slots: u64,
    pub min_escrow_lamports: u64,
    pub max_memory_bytes: u32,
    pub max_instructions: u64,
    pub max_output_bytes: u32,
    pub paused: bool,
}

/// The program's parameters, read from the chain now.
#[utoipa::path(
    get,
    path = "/v1/config",
    responses(
        (status = 200, body = ConfigView),
        (status = 503, description = "The relay has no chain connection", body = ErrorBody),
    ),
    tag = "service"
)]
async fn get_config(State(state): State<AppState>) -> Result<Json<ConfigView>, RelayError> {
    let chain = state.chain.clone().ok_or(RelayError::NoChain)?;
    // Anyone may ask, as often as they like: the chain is read at most once
    // per CONFIG_TTL however many ask (the RPC bill does not follow them).
    let view = state
        .config_view
        .get(CONFIG_TTL, || read_config(chain))
        .await?;
    Ok(Json(view))
}

/// How long a read Config is served before the chain is read again.
pub const CONFIG_TTL: Duration = Duration::from_secs(5);

async fn read_config(chain: crate::chain::Chain) -> Result<ConfigView, RelayError> {
    let c = chain.config().await?;
    let p = c.params;
    Ok(ConfigView {
        address: edgerun_client::config_pda(&chain.program).0.to_string(),
        protocol_fee_bps: p.protocol_fee_bps.get(),
        min_job_fee_lamports: p.min_job_fee_lamports.get(),
        min_worker_stake_lamports: p.min_worker_stake_lamports.get(),
        non_response_slash_lamports: p.non_response_slash_lamports.get(),
        submit_window_slots: p.submit_window_slots.get(),
        da_window_slots: p.da_window_slots.get(),
        challenge_window_slots: p.challenge_window_slots.get(),
        max_job_ttl_slots: p.max_job_ttl_slots.get(),
        min_escrow_lamports: p.min_escrow_lamports.get(),
        max_memory_bytes: p.max_memory_bytes.get(),
        max_instructions: p.max_instructions.get(),
        max_output_bytes: p.max_output_bytes.get(),
        paused: p.paused.get(),
    })
}

/// A value read at most once per time-to-live: concurrent askers wait for
/// the one read in flight instead of starting their own.
pub struct Cached<T> {
    slot: tokio::sync::Mutex<Option<(Instant, T)>>,
}

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Cached {
            slot: tokio::sync::Mutex::new(None),
        }
    }
}

impl<T: Clone> Cached<T> {
    pub async fn get<F, Fut, E>(&self, ttl: Duration, read: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some((at, v)) = slot.as_ref()
            && at.elapsed() < ttl
        {
            return Ok(v.clone());
        }
        let v = read().await?;
        *slot = Some((Instant::now(), v.clone()));
        Ok(v)
    }
}

/// How much the demo may cost the operator.
#[derive(Clone, Copy, Debug)]
pub struct DemoPolicy {
    /// Demo jobs one visitor address may start per ten minutes.
    pub per_visitor: u32,
    /// Demo jobs per hour, all visitors together.
    pub per_hour: u32,
    /// Lamports the demo may spend in all (until the relay restarts).
    pub budget_lamports: u64,
}

/// The demo bundles and what they have cost.
pub struct Demo {
    bundles: BTreeMap<String, Arc<Vec<u8>>>,
    policy: DemoPolicy,
    used: Mutex<Used>,
    /// The cost of one demo job, once read from the chain's rent.
    cost: tokio::sync::OnceCell<u64>,
}

#[derive(Default)]
struct Used {
    visitors: HashMap<IpAddr, VecDeque<Instant>>,
    hour: VecDeque<Instant>,
    spent: u64,
}

const VISITOR_WINDOW: Duration = Duration::from_secs(600);
const HOUR: Duration = Duration::from_secs(3600);
/// Visitor addresses remembered at once; past it the oldest are dropped.
const MAX_VISITORS: usize = 10_000;
/// Every demo job escrows Bronze's default and has this fuel cap.
const DEMO_TIER: Tier = Tier::Bronze;
pub const DEMO_FUEL: u64 = 100_000_000;
const DEMO_TTL_SLOTS: u64 = 21_600;

impl Demo {
    /// `workloads`: (name, wasm, input). Each is validated and built into
    /// its bundle now (memory 64 MiB, fuel [`DEMO_FUEL`], output 1 MiB).
    pub fn new(
        workloads: Vec<(String, Vec<u8>, Vec<u8>)>,
        policy: DemoPolicy,
    ) -> Result<Demo, RelayError> {
        let limits = edgerun_protocol::limits::Limits::new(64 << 20, DEMO_FUEL, 1 << 20);
        let mut bundles = BTreeMap::new();
        for (name, wasm, input) in workloads {
            let bundle = edgerun_runtime::build_bundle(&wasm, &input, &limits)
                .map_err(|e| RelayError::InvalidJob(format!("demo workload {name}: {e}")))?;
            bundles.insert(name, Arc::new(bundle));
        }
        Ok(Demo {
            bundles,
            policy,
            used: Mutex::new(Used::default()),
            cost: tokio::sync::OnceCell::new(),
        })
    }

    pub fn workloads(&self) -> Vec<String> {
        self.bundles.keys().cloned().collect()
    }

    /// Takes one demo job's place for `ip` within every bound, or says
    /// which bound refuses.
    fn reserve(&self, ip: IpAddr, cost: u64) -> Result<(), RelayError> {
        let now = Instant::now();
        let mut u = self.used.lock().expect("demo lock");
        while u.hour.front().is_some_and(|t| now - *t > HOUR) {
            u.hour.pop_front();
        }
        let p = self.policy;
        if u.spent.saturating_add(cost) > p.budget_lamports {
            return Err(RelayError::RateLimited {
                what: format!(
                    "the operator's demo budget ({} lamports) is spent; post your own job from the portal (/app/post) with a wallet",
                    p.budget_lamports
                ),
                retry_s: 3600,
            });
        }
        if u.hour.len() >= p.per_hour as usize {
            let wait = HOUR.saturating_sub(now - u.hour[0]).as_secs().max(1);
            return Err(RelayError::RateLimited {
                what: format!(
                    "this relay runs at most {} demo jobs an hour for all visitors",
                    p.per_hour
                ),
                retry_s: wait,
            });
        }
        if u.visitors.len() >= MAX_VISITORS && !u.visitors.contains_key(&ip) {
            u.visitors
                .retain(|_, q| q.back().is_some_and(|t| now - *t <= VISITOR_WINDOW));
            if u.visitors.len() >= MAX_VISITORS {
                return Err(RelayError::RateLimited {
                    what: "too many visitors are running demo jobs".into(),
                    retry_s: 60,
                });
            }
        }
        let mine = u.visitors.entry(ip).or_default();
        while mine.front().is_some_and(|t| now - *t > VISITOR_WINDOW) {
            mine.pop_front();
        }
        if mine.len() >= p.per_visitor as usize {
            let wait = VISITOR_WINDOW
                .saturating_sub(now - mine[0])
                .as_secs()
                .max(1);
            return Err(RelayError::RateLimited {
                what: format!(
                    "a visitor may run {} demo jobs per ten minutes",
                    p.per_visitor
                ),
                retry_s: wait,
            });
        }
        mine.push_back(now);
        u.hour.push_back(now);
        u.spent += cost;
        Ok(())
    }

    /// Gives back a reservation whose job was never posted (its lamports;
    /// the attempt still counts against the rate).
    fn release(&self, cost: u64) {
        let mut u = self.used.lock().expect("demo lock");
        u.spent = u.spent.saturating_sub(cost);
    }

    /// Lamports spent so far.
    pub fn spent(&self) -> u64 {
        self.used.lock().expect("demo lock").spent
    }
}

/// What `POST /v1/demo/{workload}` started.
#[derive(Debug, Serialize, ToSchema)]
pub struct DemoJob {
    pub job_id: String,
    pub workload: String,
    pub bundle_hash: String,
    pub escrow_lamports: u64,
    /// What this job may cost the operator at most.
    pub cost_lamports: u64,
    pub status_url: String,
    /// The job's page in the portal.
    pub portal_url: String,
}

/// Runs a demo workload: the operator's account posts it (Bronze, fuel cap
/// 100 M) for a visitor with no wallet.
#[utoipa::path(
    post,
    path = "/v1/demo/{workload}",
    params(("workload" = String, Path, description = "A demo workload's name (`GET /v1/info` lists none; the landing page offers json-redact and compress-hash)")),
    responses(
        (status = 201, body = DemoJob),
        (status = 403, description = "`forbidden`: the demo is off on this relay", body = ErrorBody),
        (status = 404, description = "`demo_not_found`: no such demo workload", body = ErrorBody),
        (status = 429, description = "`rate_limited`: this visitor's or the hour's demo jobs, or the demo budget, are used up", body = ErrorBody),
        (status = 503, description = "No chain", body = ErrorBody),
    ),
    tag = "jobs"
)]
async fn post_demo(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(workload): Path<String>,
) -> Result<(StatusCode, Json<DemoJob>), RelayError> {
    let off = || {
        RelayError::Forbidden(
            "this relay runs no demo jobs (its operator has not enabled them); post your own job from the portal (/app/post) with a wallet".into(),
        )
    };
    let demo = state.demo.clone().ok_or_else(off)?;
    let poster = state.poster.clone().ok_or_else(off)?;
    let chain = state.chain.clone().ok_or(RelayError::NoChain)?;
    let bundle = demo.bundles.get(&workload).cloned().ok_or_else(|| {
        RelayError::DemoNotFound(format!(
            "no demo workload {workload:?}; the demos are {}",
            demo.workloads().join(", ")
        ))
    })?;
    let escrow = DEMO_TIER.default_escrow();
    let cost = *demo
        .cost
        .get_or_try_init(|| async {
            let p = chain.config().await?.params;
            let c = DEMO_TIER.committee();
            let rents = (
                chain.rent(JobResult::SPACE).await?,
                chain.rent(OutputAvailability::SPACE).await?,
                chain.rent(Job::SPACE).await?,
            );
            job_cost(
                escrow,
                0,
                p.protocol_fee_bps.get(),
                p.min_job_fee_lamports.get(),
                (c.size, c.quorum),
                rents,
            )
            .map(|c| c.total())
            .map_err(|e| RelayError::Internal(format!("the demo's cost does not compute: {e:?}")))
        })
        .await?;
    demo.reserve(ip, cost)?;
    let posted = async {
        let client = poster.keypair.pubkey();
        let spec = JobSpec::for_bundle(&client, rand::random(), &bundle, escrow, DEMO_TTL_SLOTS)
            .map_err(|e| RelayError::Internal(format!("a demo bundle does not decode: {e}")))?;
        let permit = state.store.buffer_permit(Kind::Bundle).await?;
        state
            .store
            .put(
                Kind::Bundle,
                ContentHash(spec.bundle_hash),
                PutOptions { cap: None, permit },
                futures_util::stream::iter([Ok::<_, std::convert::Infallible>(
                    bytes::Bytes::from(bundle.as_ref().clone()),
                )]),
            )
            .await?;
        let ix = edgerun_client::post_job(&chain.program, &client, &spec);
        let blockhash = chain.blockhash().await?;
        let tx = Transaction::new_signed_with_payer(
            &[ix],
            Some(&client),
            &[poster.keypair.as_ref()],
            blockhash,
        );
        chain.send(&tx).await?;
        Ok::<_, RelayError>(spec)
    }
    .await;
    let spec = posted.inspect_err(|_| demo.release(cost))?;
    let id = hex(&spec.job_id);
    Ok((
        StatusCode::CREATED,
        Json(DemoJob {
            status_url: format!("/v1/jobs/{id}"),
            portal_url: format!("/app/jobs/{id}"),
            job_id: id,
            workload,
            bundle_hash: hex(&spec.bundle_hash),
            escrow_lamports: escrow,
            cost_lamports: cost,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo(policy: DemoPolicy) -> Demo {
        Demo {
            bundles: BTreeMap::new(),
            policy,
            used: Mutex::new(Used::default()),
            cost: tokio::sync::OnceCell::new(),
        }
    }

    #[tokio::test]
    async fn a_cached_value_is_read_once_per_ttl_however_many_ask() {
        let cache: Arc<Cached<u32>> = Arc::default();
        let reads = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let ask = |ttl| {
            let (cache, reads) = (cache.clone(), reads.clone());
            async move {
                cache
                    .get(ttl, || async move {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>(reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1)
                    })
                    .await
            }
        };
        // 50 at once: one read.
        let all =
            futures_util::future::join_all((0..50).map(|_| ask(Duration::from_secs(60)))).await;
        assert!(all.iter().all(|v| *v == Ok(1)));
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Past the ttl: read again.
        assert_eq!(ask(Duration::ZERO).await, Ok(2));
    }

    #[test]
    fn each_bound_refuses_before_anything_is_spent() {
        let d = demo(DemoPolicy {
            per_visitor: 2,
            per_hour: 3,
            budget_lamports: 1_000,
        });
        let (a, b, c) = (
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "10.0.0.3".parse().unwrap(),
        );
        d.reserve(a, 100).unwrap();
        d.reserve(a, 100).unwrap();
        let e = d.reserve(a, 100).unwrap_err();
        assert!(e.to_string().contains("2 demo jobs per ten minutes"), "{e}");
        d.reserve(b, 100).unwrap();
        let e = d.reserve(c, 100).unwrap_err();
        assert!(e.to_string().contains("3 demo jobs an hour"), "{e}");
        assert_eq!(d.spent(), 300);
        // A job that was never posted gives its lamports back.
        d.release(100);
        assert_eq!(d.spent(), 200);
        let d = demo(DemoPolicy {
            per_visitor: 10,
            per_hour: 10,
            budget_lamports: 250,
        });
        d.reserve(a, 100).unwrap();
        d.reserve(b, 100).unwrap();
        let e = d.reserve(c, 100).unwrap_err();
        assert!(e.to_string().contains("budget"), "{e}");
        assert_eq!(d.spent(), 200, "never past the budget");
    }
}
