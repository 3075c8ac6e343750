//! `GET /v1/workers/{address}` and its server-sent events: a worker's
//! stake as the chain holds it. `POST /v1/workers/{address}/heartbeat` and
//! `GET /v1/workers/online`: which workers said recently, with their own
//! key, that they are online (the "seen online" of committee selection).
//!
//! A heartbeat is JSON `{unix_ms, runtime_ids, max_fuel?, signature}`;
//! `signature` is the worker's Ed25519 signature over
//! `edgerun_protocol::heartbeat::message` (which covers `max_fuel`, the
//! largest fuel cap the worker takes, when it names one). Heartbeats
//! are kept in memory only: a restarted relay knows no one until the next
//! round of heartbeats. With a chain, only workers holding stake are
//! counted, so keys that cost nothing cannot fill the table.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use edgerun_protocol::hash::{hex, parse_hex};
use edgerun_protocol::heartbeat;
use edgerun_protocol::state::WorkerStake;
use serde::{Deserialize, Serialize};
use solana_address::Address;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::AppState;
use crate::chain::Chain;
use crate::error::{ErrorBody, PER_ADDRESS, RelayError};
use crate::guard::SlotsFull;
use crate::routes::objects::ClientIp;
use crate::table::Table;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_worker))
        .routes(routes!(worker_events))
        // A heartbeat is well under 1 KiB; nothing larger is read.
        .routes(routes!(heartbeat).layer(DefaultBodyLimit::max(HEARTBEAT_BODY_BYTES)))
        .routes(routes!(online))
}

/// Most runtime ids one heartbeat may list (at least one).
pub const MAX_HEARTBEAT_RUNTIMES: usize = heartbeat::MAX_RUNTIME_IDS;
/// Largest heartbeat body read.
const HEARTBEAT_BODY_BYTES: usize = 4096;
/// How far a heartbeat's `unix_ms` may be from the relay's clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(30);
/// `within_s` of `GET /v1/workers/online` when none is given.
pub const DEFAULT_ONLINE_WITHIN_S: u64 = 30;
/// The largest `within_s` accepted.
pub const MAX_ONLINE_WITHIN_S: u64 = 3600;
/// Workers tracked past which those not heard from in [`FORGET_AFTER`]
/// are forgotten.
const PRUNE_AT: usize = 10_000;
/// Age past which a worker may be forgotten once [`PRUNE_AT`] is reached.
const FORGET_AFTER: Duration = Duration::from_secs(300);
/// Hard bound on the table: any key can sign a heartbeat, so without one a
/// flood of fresh keys would grow it without end. Known workers are always
/// refreshed; new ones wait while it is full of fresh entries.
const MAX_TRACKED: usize = 100_000;

/// One worker's last accepted heartbeat.
struct Seen {
    at: Instant,
    unix_ms: u64,
    runtime_ids: Vec<[u8; 32]>,
    max_fuel: Option<u64>,
}

/// The workers heard from by heartbeat: address → when, and which runtimes.
pub struct OnlineWorkers {
    seen: Table<Seen>,
}

impl Default for OnlineWorkers {
    fn default() -> Self {
        OnlineWorkers {
            seen: Table::new(PRUNE_AT, MAX_TRACKED),
        }
    }
}

impl OnlineWorkers {
    /// Records a verified heartbeat received at `now`. Returns false, and
    /// changes nothing, when it is not newer (by `unix_ms`) than the last
    /// one accepted from `worker`: a replayed heartbeat cannot keep a
    /// stopped worker online or bring back old runtime ids.
    pub fn record(
        &self,
        worker: [u8; 32],
        unix_ms: u64,
        runtime_ids: Vec<[u8; 32]>,
        max_fuel: Option<u64>,
        now: Instant,
    ) -> Result<bool, RelayError> {
        let fresh = Seen {
            at: now,
            // Below any real heartbeat, so a new entry always takes it.
            unix_ms: 0,
            runtime_ids: Vec::new(),
            max_fuel: None,
        };
        self.seen
            .with(
                &worker,
                |s| now.saturating_duration_since(s.at) >= FORGET_AFTER,
                || fresh,
                |last| {
                    if last.unix_ms >= unix_ms {
                        return false;
                    }
                    *last = Seen {
                        at: now,
                        unix_ms,
                        runtime_ids,
                        max_fuel,
                    };
                    true
                },
            )
            .map_err(|full| RelayError::TooManyWorkers(full.entries))
    }

    /// The workers heard from within `window` before `now`, sorted by
    /// pubkey bytes (the order committee selection uses).
    pub fn within(&self, window: Duration, now: Instant) -> Vec<OnlineWorker> {
        let mut fresh: Vec<([u8; 32], OnlineWorker)> = Vec::new();
        self.seen.for_each(|k, s| {
            let ago = now.saturating_duration_since(s.at);
            if ago <= window && s.unix_ms > 0 {
                let worker = OnlineWorker {
                    address: Address::new_from_array(*k).to_string(),
                    seen_ms_ago: ago.as_millis() as u64,
                    runtime_ids: s.runtime_ids.iter().map(|id| hex(id)).collect(),
                    max_fuel: s.max_fuel,
                };
                fresh.push((*k, worker));
            }
        });
        fresh.sort_unstable_by_key(|(k, _)| *k);
        fresh.into_iter().map(|(_, w)| w).collect()
    }
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
        (status = 429, description = "`too_many_streams`: this address holds as many event streams as the relay serves one", body = ErrorBody),
        (status = 503, description = "No chain connection, or `too_many_streams` in total", body = ErrorBody),
    ),
    tag = "workers"
)]
async fn worker_events(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(raw): Path<String>,
) -> Result<
    Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>> + use<>>,
    RelayError,
> {
    let worker = parse(&raw)?;
    let chain = state.chain.clone().ok_or(RelayError::NoChain)?;
    let slot = stream_slot(&state, ip)?;
    state
        .worker_feeds
        .events(
            "worker",
            worker.to_bytes(),
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
            slot,
        )
        .await
}

/// One of the client's event-stream slots, or `too_many_streams`.
pub(crate) fn stream_slot(
    state: &AppState,
    ip: std::net::IpAddr,
) -> Result<crate::guard::Slot, RelayError> {
    state.streams.acquire(ip).map_err(|full| match full {
        SlotsFull::PerIp(limit) => RelayError::TooManyStreams {
            whose: PER_ADDRESS,
            limit,
        },
        SlotsFull::Total(limit) => RelayError::TooManyStreams {
            whose: "on this relay",
            limit,
        },
    })
}

/// A worker's heartbeat: "I am online and run these runtimes", signed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The worker's clock, milliseconds since the Unix epoch; must be
    /// within 30 s of the relay's.
    pub unix_ms: u64,
    /// Runtime ids the worker runs, 1 to 8, each 64 lowercase hex
    /// characters.
    pub runtime_ids: Vec<String>,
    /// The largest job fuel cap this worker takes (an edge worker's CPU
    /// limit per invocation); absent: any. The scheduler seats it only in
    /// jobs within it.
    #[serde(default)]
    pub max_fuel: Option<u64>,
    /// Ed25519 signature by the worker's key over
    /// `edgerun_protocol::heartbeat::message(pubkey, unix_ms, runtime_ids,
    /// max_fuel)`, 128 lowercase hex characters.
    pub signature: String,
}

/// A worker heard from recently.
#[derive(Debug, Serialize, ToSchema)]
pub struct OnlineWorker {
    /// Base58.
    pub address: String,
    /// Milliseconds since the relay received its last accepted heartbeat.
    pub seen_ms_ago: u64,
    /// The runtime ids that heartbeat listed, hex.
    pub runtime_ids: Vec<String>,
    /// The largest fuel cap it takes (`null`: any).
    pub max_fuel: Option<u64>,
}

/// The answer of `GET /v1/workers/online`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OnlineWorkersView {
    /// Sorted by pubkey bytes.
    pub workers: Vec<OnlineWorker>,
}

/// Records that a worker is online. The signature is checked against the
/// address in the path (the worker's Ed25519 public key). A heartbeat not
/// newer than the last one accepted from the worker (a replay) is answered
/// 204 too, and changes nothing.
#[utoipa::path(
    post,
    path = "/v1/workers/{address}/heartbeat",
    params(("address" = String, Path, description = "The worker's address, base58 (its Ed25519 public key)")),
    request_body(content = Heartbeat, content_type = "application/json"),
    responses(
        (status = 204, description = "Accepted"),
        (status = 400, description = "`bad_request`: not an address, not a heartbeat, or a clock more than 30 s off", body = ErrorBody),
        (status = 401, description = "`unauthorized`: the signature does not verify", body = ErrorBody),
        (status = 403, description = "`forbidden`: (relay with a chain) the key holds no active WorkerStake with stake", body = ErrorBody),
        (status = 413, description = "`too_large`: a body over 4 KiB", body = ErrorBody),
        (status = 502, description = "`chain_unavailable`", body = ErrorBody),
        (status = 503, description = "`too_many_workers`", body = ErrorBody),
    ),
    tag = "workers"
)]
async fn heartbeat(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Result<Json<Heartbeat>, JsonRejection>,
) -> Result<StatusCode, RelayError> {
    let accepted = accept_heartbeat(&state, &raw, body).await;
    let outcome = match &accepted {
        Ok(true) => "accepted",
        Ok(false) => "not_newer",
        Err(e) => e.code(),
    };
    state.metrics.record_heartbeat(outcome);
    accepted.map(|_| StatusCode::NO_CONTENT)
}

async fn accept_heartbeat(
    state: &AppState,
    raw: &str,
    body: Result<Json<Heartbeat>, JsonRejection>,
) -> Result<bool, RelayError> {
    let worker = parse(raw)?;
    let Json(hb) = body.map_err(|e| {
        super::tx::json_error(
            e,
            HEARTBEAT_BODY_BYTES,
            "a heartbeat: JSON {\"unix_ms\", \"runtime_ids\", \"max_fuel\" (optional), \"signature\"}",
        )
    })?;
    if hb.runtime_ids.is_empty() || hb.runtime_ids.len() > MAX_HEARTBEAT_RUNTIMES {
        return Err(RelayError::BadRequest(format!(
            "runtime_ids lists {} ids; list the 1 to {MAX_HEARTBEAT_RUNTIMES} runtimes this worker runs",
            hb.runtime_ids.len()
        )));
    }
    let runtime_ids = hb
        .runtime_ids
        .iter()
        .map(|id| {
            parse_hex(id).map_err(|e| {
                RelayError::BadRequest(format!(
                    "runtime id {:?} is not 64 lowercase hex characters ({e})",
                    id.chars().take(80).collect::<String>()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let signature = parse_signature(&hb.signature)?;
    check_clock(hb.unix_ms)?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(worker.as_array()).map_err(|_| {
        RelayError::BadRequest(format!(
            "{worker} is not an Ed25519 public key, so nothing can sign for it; \
             send heartbeats under the worker's own address"
        ))
    })?;
    if hb.max_fuel == Some(0) {
        return Err(RelayError::BadRequest(
            "max_fuel 0 takes no job; leave max_fuel out to take any, or name the largest fuel cap this worker runs"
                .into(),
        ));
    }
    let message = heartbeat::message(worker.as_array(), hb.unix_ms, &runtime_ids, hb.max_fuel);
    key.verify_strict(&message, &signature).map_err(|_| {
        RelayError::BadSignature(format!(
            "the heartbeat's signature does not verify for {worker}; sign \
             edgerun_protocol::heartbeat::message(pubkey, unix_ms, runtime_ids, max_fuel) with this \
             worker's key"
        ))
    })?;
    if let Some(stakes) = &state.stakes
        && !stakes.active(&worker).await?
    {
        return Err(RelayError::Forbidden(format!(
            "{worker} holds no active WorkerStake with stake on this relay's chain, so its heartbeats \
             do not count; register_worker with stake first"
        )));
    }
    state.online.record(
        worker.to_bytes(),
        hb.unix_ms,
        runtime_ids,
        hb.max_fuel,
        Instant::now(),
    )
}

pub(crate) fn parse_signature(raw: &str) -> Result<ed25519_dalek::Signature, RelayError> {
    let bad = |why: String| {
        RelayError::BadRequest(format!(
            "signature is not 128 lowercase hex characters ({why}); send the 64-byte Ed25519 signature as hex"
        ))
    };
    if raw.len() != 128 || !raw.is_char_boundary(64) {
        return Err(bad(format!("{} characters", raw.len())));
    }
    let (hi, lo) = raw.split_at(64);
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&parse_hex(hi).map_err(|e| bad(e.to_string()))?);
    bytes[32..].copy_from_slice(&parse_hex(lo).map_err(|e| bad(e.to_string()))?);
    Ok(ed25519_dalek::Signature::from_bytes(&bytes))
}

/// Refuses a `unix_ms` more than [`MAX_CLOCK_SKEW`] from the relay's clock.
pub(crate) fn check_clock(unix_ms: u64) -> Result<(), RelayError> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let off = now_ms.abs_diff(unix_ms);
    if off > MAX_CLOCK_SKEW.as_millis() as u64 {
        let side = if unix_ms > now_ms {
            "ahead of"
        } else {
            "behind"
        };
        return Err(RelayError::BadRequest(format!(
            "unix_ms {unix_ms} is {off} ms {side} the relay's clock ({now_ms}); a heartbeat must be \
             within {} s of it: fix the worker's clock (e.g. enable NTP) and send a fresh heartbeat",
            MAX_CLOCK_SKEW.as_secs()
        )));
    }
    Ok(())
}

/// The workers whose last heartbeat reached the relay within `within_s`
/// seconds (default 30, at most 3600), with the runtimes they listed.
/// With more than 10,000 workers tracked, those silent for 5 minutes may be
/// forgotten, so windows past 5 minutes are best-effort.
#[utoipa::path(
    get,
    path = "/v1/workers/online",
    params(("within_s" = Option<u64>, Query, description = "Seconds; default 30, at most 3600")),
    responses(
        (status = 200, body = OnlineWorkersView),
        (status = 400, description = "`bad_request`: within_s is not a number of seconds up to 3600", body = ErrorBody),
    ),
    tag = "workers"
)]
async fn online(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<OnlineWorkersView>, RelayError> {
    let within_s = within_s(query.as_deref())?;
    Ok(Json(OnlineWorkersView {
        workers: state
            .online
            .within(Duration::from_secs(within_s), Instant::now()),
    }))
}

/// The `within_s` query parameter; other parameters are ignored.
fn within_s(query: Option<&str>) -> Result<u64, RelayError> {
    let given = query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("within_s="));
    let Some(raw) = given else {
        return Ok(DEFAULT_ONLINE_WITHIN_S);
    };
    match raw.parse::<u64>() {
        Ok(s) if s <= MAX_ONLINE_WITHIN_S => Ok(s),
        _ => Err(RelayError::BadRequest(format!(
            "within_s={:?} is not a number of seconds from 0 to {MAX_ONLINE_WITHIN_S}",
            raw.chars().take(40).collect::<String>()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_change_nothing_and_the_table_is_bounded() {
        let online = OnlineWorkers::default();
        let t0 = Instant::now();
        assert!(online.record([1; 32], 10, vec![[2; 32]], None, t0).unwrap());
        // An older or equal heartbeat (a replay) leaves the entry as it was.
        let later = t0 + Duration::from_secs(20);
        assert!(
            !online
                .record([1; 32], 10, vec![[3; 32]], None, later)
                .unwrap()
        );
        let seen = online.within(Duration::from_secs(30), later);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].seen_ms_ago, 20_000);
        assert_eq!(seen[0].runtime_ids, vec![hex(&[2; 32])]);
        assert!(online.within(Duration::from_secs(10), later).is_empty());

        // Past PRUNE_AT, the stale are forgotten as new workers arrive, a
        // shard at a time.
        for i in 0..PRUNE_AT as u32 {
            let mut k = [0u8; 32];
            k[..4].copy_from_slice(&(i + 100).to_le_bytes());
            online.record(k, 1, vec![[0; 32]], None, t0).unwrap();
        }
        let much_later = t0 + FORGET_AFTER + Duration::from_secs(1);
        for i in 0..PRUNE_AT as u32 * 4 {
            let mut k = [0xff; 32];
            k[..4].copy_from_slice(&i.to_le_bytes());
            online
                .record(k, 1, vec![[0; 32]], None, much_later)
                .unwrap();
        }
        let listed = online.within(Duration::from_secs(3600), much_later);
        assert_eq!(listed.len(), PRUNE_AT * 4, "the stale are forgotten");
        assert_eq!(online.seen.len(), PRUNE_AT * 4);
    }

    #[test]
    fn within_s_defaults_and_bounds() {
        assert_eq!(within_s(None).unwrap(), 30);
        assert_eq!(within_s(Some("x=1&within_s=3600")).unwrap(), 3600);
        assert!(within_s(Some("within_s=3601")).is_err());
        assert!(within_s(Some("within_s=-1")).is_err());
    }

    #[test]
    fn one_heartbeat_past_the_threshold_never_scans_the_whole_table() {
        let online = OnlineWorkers::default();
        let t0 = Instant::now();
        for i in 0..PRUNE_AT as u32 * 2 {
            let mut k = [0u8; 32];
            k[..4].copy_from_slice(&(i + 100).to_le_bytes());
            online.record(k, 1, vec![[0; 32]], None, t0).unwrap();
        }
        let much_later = t0 + FORGET_AFTER + Duration::from_secs(1);
        online
            .record([0xff; 32], 1, vec![[0; 32]], None, much_later)
            .unwrap();
        let left = online.seen.len();
        assert!(
            left > PRUNE_AT,
            "one heartbeat pruned the whole table ({left} left)"
        );
    }
}
