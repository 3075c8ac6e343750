//! `GET /v1/jobs/{job_id}`: a job's on-chain state, decoded, with its
//! timeline.

use axum::Json;
use axum::extract::{Path, State};
use edgerun_protocol::hash::hex;
use edgerun_protocol::state::{Job, decode_pointer, job_status, submission_flags};
use edgerun_protocol::tier::Tier;
use serde::Serialize;
use solana_address::Address;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, RelayError};
use crate::routes::objects::ClientIp;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_job))
        .routes(routes!(job_events))
}

fn address(bytes: [u8; 32]) -> String {
    Address::new_from_array(bytes).to_string()
}

/// One committee seat.
#[derive(Debug, Serialize, ToSchema)]
pub struct Seat {
    pub worker: String,
    /// The seal it submitted this round, if any: `blake3(output_hash ||
    /// worker)`, which hides the output hash until the reveal.
    pub seal: Option<String>,
    /// Its seal matched the revealed output hash.
    pub winner: bool,
    pub settled: bool,
    pub penalized: bool,
}

/// The published output, once a winner declared it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedOutput {
    pub output_hash: String,
    pub url: Option<String>,
    pub publisher: String,
    pub published_slot: u64,
}

/// A point in the job's life, by slot.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub event: String,
    pub slot: u64,
}

/// A job as the chain holds it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub job_id: String,
    /// The Job account's address (a PDA of the program): read it from any
    /// RPC to check what this view says.
    pub address: String,
    /// Posted, Seeded, Assigned, QuorumReached, AwaitingDA, Finalized, Cancelled.
    pub status: String,
    pub tier: String,
    pub committee_size: u8,
    pub quorum: u8,
    pub client: String,
    pub escrow_lamports: u64,
    /// Paid at post on top of the escrow for scheduling order (0 once paid
    /// to the treasury at finalize or refunded by a cancel).
    pub priority_fee_lamports: u64,
    pub bundle_hash: String,
    pub runtime_id: String,
    pub max_memory_bytes: u32,
    pub max_instructions: u64,
    pub max_output_bytes: u32,
    pub seed_set: bool,
    /// The committee seed (hex) once set: with the snapshots named in the
    /// job's WorkersAssigned / WorkerReassigned events, anyone recomputes
    /// the committee (`edgerun_protocol::selection`).
    pub seed: Option<String>,
    /// Draws made from the seed so far (the committee plus replacements).
    pub draws: u8,
    pub committee: Vec<Seat>,
    pub winning_output_hash: Option<String>,
    pub output: Option<PublishedOutput>,
    pub current_slot: u64,
    pub deadline_slot: u64,
    pub da_deadline_slot: u64,
    pub expiry_slot: u64,
    pub timeline: Vec<TimelineEntry>,
}

fn view(
    job: &Job,
    address_: &Address,
    output: Option<PublishedOutput>,
    current_slot: u64,
) -> JobView {
    let n = (job.assigned_count as usize).min(job.assigned_workers.len());
    let committee = (0..n)
        .map(|i| {
            let s = &job.submissions[i];
            Seat {
                worker: address(job.assigned_workers[i].0),
                seal: s.has(submission_flags::SUBMITTED).then(|| hex(&s.seal)),
                winner: s.has(submission_flags::WINNER),
                settled: s.has(submission_flags::SETTLED),
                penalized: s.has(submission_flags::PENALIZED),
            }
        })
        .collect();
    let mut timeline = vec![TimelineEntry {
        event: "posted".into(),
        slot: job.created_slot.get(),
    }];
    for (event, slot) in [
        ("quorum_reached", job.quorum_reached_slot.get()),
        (
            "output_published",
            output.as_ref().map_or(0, |o| o.published_slot),
        ),
    ] {
        if slot != 0 {
            timeline.push(TimelineEntry {
                event: event.into(),
                slot,
            });
        }
    }
    let nonzero = |h: &[u8; 32]| (*h != [0; 32]).then(|| hex(h));
    JobView {
        job_id: hex(&job.job_id),
        address: address_.to_string(),
        status: job_status::name(job.status).into(),
        // By committee size: the escrow is zero once paid out.
        tier: Tier::ALL
            .into_iter()
            .find(|t| t.committee().size == job.committee_size)
            .unwrap_or(Tier::for_escrow(job.escrow_lamports.get()))
            .sla_name()
            .into(),
        committee_size: job.committee_size,
        quorum: job.quorum,
        client: address(job.client.0),
        escrow_lamports: job.escrow_lamports.get(),
        priority_fee_lamports: job.priority_fee_lamports.get(),
        bundle_hash: hex(&job.bundle_hash),
        runtime_id: hex(&job.runtime_id),
        max_memory_bytes: job.limits.max_memory_bytes.get(),
        max_instructions: job.limits.max_instructions.get(),
        max_output_bytes: job.limits.max_output_bytes.get(),
        seed_set: job.seed_set.get(),
        seed: job.seed_set.get().then(|| hex(&job.seed)),
        draws: job.draws,
        committee,
        winning_output_hash: nonzero(&job.winning_output_hash),
        output,
        current_slot,
        deadline_slot: job.deadline_slot.get(),
        da_deadline_slot: job.da_deadline_slot.get(),
        expiry_slot: job.expiry_slot.get(),
        timeline,
    }
}

/// A job's on-chain state, decoded.
#[utoipa::path(
    get,
    path = "/v1/jobs/{job_id}",
    params(("job_id" = String, Path, description = "The job id: 64 lowercase hex characters")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 400, description = "Not a job id", body = ErrorBody),
        (status = 404, description = "No such job on this chain", body = ErrorBody),
        (status = 502, description = "The chain's RPC failed", body = ErrorBody),
        (status = 503, description = "The relay has no chain connection", body = ErrorBody),
    ),
    tag = "jobs"
)]
async fn get_job(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<JobView>, RelayError> {
    let id = parse_job_id(&raw)?;
    let chain = state.chain.as_ref().ok_or(RelayError::NoChain)?;
    Ok(Json(read_view(chain, &id).await?))
}

fn parse_job_id(raw: &str) -> Result<[u8; 32], RelayError> {
    edgerun_protocol::hash::parse_hex(raw)
        .map_err(|why| super::objects::bad_hash(raw, why.to_string()))
}

/// A job's view, read from the chain (what `GET /v1/jobs/{job_id}` and
/// `edgerun status` show).
pub async fn read_view(chain: &crate::chain::Chain, id: &[u8; 32]) -> Result<JobView, RelayError> {
    let job = chain
        .job(id)
        .await?
        .ok_or_else(|| RelayError::JobNotFound(hex(id)))?;
    let output = chain.output(id).await?.map(|o| PublishedOutput {
        output_hash: hex(&o.output_hash),
        url: decode_pointer(&o.pointer).map(str::to_owned),
        publisher: address(o.publisher.0),
        published_slot: o.published_slot.get(),
    });
    let slot = chain.slot().await?;
    let at = edgerun_client::job_pda(&chain.program, id).0;
    Ok(view(&job, &at, output, slot))
}

/// Server-sent events for one job: an `event: job` with the [`JobView`]
/// each time its state changes (not on every slot), until it is Finalized
/// or Cancelled; `event: error` with `{code, message}` if the chain fails.
/// Reads the chain by polling (so it works against any RPC), one poll per
/// job however many follow it.
#[utoipa::path(
    get,
    path = "/v1/jobs/{job_id}/events",
    params(("job_id" = String, Path, description = "The job id: 64 lowercase hex characters")),
    responses(
        (status = 200, description = "text/event-stream of `job` events (JobView JSON)", content_type = "text/event-stream"),
        (status = 400, description = "Not a job id", body = ErrorBody),
        (status = 404, description = "No such job on this chain", body = ErrorBody),
        (status = 429, description = "`too_many_streams`: this address holds as many event streams as the relay serves one", body = ErrorBody),
        (status = 503, description = "The relay has no chain connection, or `too_many_streams` in total", body = ErrorBody),
    ),
    tag = "jobs"
)]
async fn job_events(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(raw): Path<String>,
) -> Result<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>
        + use<>,
    >,
    RelayError,
> {
    let id = parse_job_id(&raw)?;
    let chain = state.chain.clone().ok_or(RelayError::NoChain)?;
    let slot = super::workers::stream_slot(&state, ip)?;
    // The first read answers 404/502 as a plain error, before streaming.
    state
        .job_feeds
        .events(
            "job",
            id,
            move || {
                let chain = chain.clone();
                async move { read_view(&chain, &id).await }
            },
            // Changes only: the slot moves every poll.
            |v: &JobView| {
                serde_json::to_string(&(&v.status, &v.committee, &v.output, &v.winning_output_hash))
                    .expect("json")
            },
            |v: &JobView| matches!(v.status.as_str(), "Finalized" | "Cancelled"),
            slot,
        )
        .await
}
