//! `GET /v1/workers/{address}` and its server-sent events: a worker's
//! stake as the chain holds it.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::sse::{Event, Sse};
use edgerun_protocol::state::WorkerStake;
use serde::Serialize;
use solana_address::Address;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::chain::Chain;
use crate::error::{ErrorBody, RelayError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_worker))
        .routes(routes!(worker_events))
}

/// A worker's stake.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerView {
    pub worker: String,
    pub total_stake_lamports: u64,
    /// Backing current assignments.
    pub locked_stake_lamports: u64,
    /// 0 = active.
    pub status: u8,
    pub registered_slot: u64,
}

fn parse(raw: &str) -> Result<Address, RelayError> {
    raw.parse().map_err(|_| {
        RelayError::BadRequest(format!(
            "{:?} is not a worker address (base58)",
            raw.chars().take(60).collect::<String>()
        ))
    })
}

async fn read(chain: &Chain, worker: &Address) -> Result<WorkerView, RelayError> {
    let stake: WorkerStake = chain
        .worker(worker)
        .await?
        .ok_or_else(|| RelayError::WorkerNotFound(worker.to_string()))?;
    Ok(WorkerView {
        worker: worker.to_string(),
        total_stake_lamports: stake.total_stake.get(),
        locked_stake_lamports: stake.locked_stake.get(),
        status: stake.status,
        registered_slot: stake.registered_slot.get(),
    })
}

/// A registered worker's stake.
#[utoipa::path(
    get,
    path = "/v1/workers/{address}",
    params(("address" = String, Path, description = "The worker's address, base58")),
    responses(
        (status = 200, body = WorkerView),
        (status = 400, description = "Not an address", body = ErrorBody),
        (status = 404, description = "Not a registered worker", body = ErrorBody),
        (status = 503, description = "No chain connection", body = ErrorBody),
    ),
    tag = "workers"
)]
async fn get_worker(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<WorkerView>, RelayError> {
    let worker = parse(&raw)?;
    let chain = state.chain.as_ref().ok_or(RelayError::NoChain)?;
    Ok(Json(read(chain, &worker).await?))
}

/// Server-sent events for one worker: `event: worker` with the
/// [`WorkerView`] each time its stake changes (locks for assignments,
/// payouts, slashes, penalties). Polls, so any RPC works.
#[utoipa::path(
    get,
    path = "/v1/workers/{address}/events",
    params(("address" = String, Path, description = "The worker's address, base58")),
    responses(
        (status = 200, description = "text/event-stream of `worker` events", content_type = "text/event-stream"),
        (status = 400, description = "Not an address", body = ErrorBody),
        (status = 404, description = "Not a registered worker", body = ErrorBody),
        (status = 503, description = "No chain connection", body = ErrorBody),
    ),
    tag = "workers"
)]
async fn worker_events(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<
    Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>>,
    RelayError,
> {
    let worker = parse(&raw)?;
    let chain = state.chain.clone().ok_or(RelayError::NoChain)?;
    let first = read(&chain, &worker).await?;
    Ok(super::events::changes(
        "worker",
        first,
        move || {
            let chain = chain.clone();
            async move { read(&chain, &worker).await }
        },
        |v: &WorkerView| {
            (
                v.total_stake_lamports,
                v.locked_stake_lamports,
                v.status,
                v.registered_slot,
            )
        },
        // A worker's stream runs until the client leaves.
        |_| false,
    ))
}
