//! `PUT`, `GET` and `HEAD` of `/v1/bundles/{hash}`, `/v1/outputs/{hash}`
//! and `/v1/selections/{hash}`.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, RelayError};
use crate::guard::{Slot, SlotsFull, client_ip};
use crate::store::{Cap, ContentHash, Kind, PutOptions};

/// Objects never change under their hash.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_bundle, get_bundle, head_bundle))
        .routes(routes!(put_output, get_output, head_output))
        .routes(routes!(put_selection, get_selection, head_selection))
}

/// The `{hash}` path segment, parsed strictly: 64 lowercase hex characters.
/// Anything else (`..%2F`, `%00`, upper case, a wrong length) is `bad_hash`.
pub struct HashSegment(pub ContentHash);

impl<S: Send + Sync> FromRequestParts<S> for HashSegment {
    type Rejection = RelayError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, RelayError> {
        let raw = match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(raw)) => raw,
            Err(rejection) => {
                let segment = parts.uri.path().rsplit('/').next().unwrap_or_default();
                return Err(bad_hash(segment, rejection.body_text()));
            }
        };
        raw.parse()
            .map(HashSegment)
            .map_err(|why| bad_hash(&raw, why.to_string()))
    }
}

pub(crate) fn bad_hash(given: &str, why: String) -> RelayError {
    // Echo a bounded prefix: the segment is attacker-controlled.
    let given: String = given.chars().take(80).collect();
    RelayError::BadHash { given, why }
}

/// The client's address, for the per-address upload bound.
pub struct ClientIp(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts)))
    }
}

/// One of the client's upload slots (bundle uploads and job posts), or
/// `too_many_uploads`.
pub(crate) fn upload_slot(state: &AppState, ip: std::net::IpAddr) -> Result<Slot, RelayError> {
    slot(&state.uploads, ip)
}

fn slot(
    slots: &std::sync::Arc<crate::guard::Slots>,
    ip: std::net::IpAddr,
) -> Result<Slot, RelayError> {
    slots.acquire(ip).map_err(|full| match full {
        SlotsFull::PerIp(n) | SlotsFull::Total(n) => RelayError::TooManyUploads(n),
    })
}

/// What a successful upload stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredObject {
    pub kind: Kind,
    /// BLAKE3 of the bytes, 64 lowercase hex characters.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// Where to fetch it, relative to the relay (`/v1/bundles/<hash>`).
    pub url: String,
    /// False when the object was already stored (always true for an
    /// output, so that an upload never tells a seat what another stored).
    pub created: bool,
}

const PUT_DOC: &str = "The body streams to a temporary object while its BLAKE3 and size are \
checked; only a complete body whose hash is `{hash}` becomes visible. Idempotent: uploading a \
stored hash again verifies the body and answers 200.";

#[utoipa::path(
    put, path = "/v1/bundles/{hash}", tag = "bundles",
    description = PUT_DOC,
    params(("hash" = String, Path, description = "bundle_hash: BLAKE3 of the body, 64 lowercase hex characters")),
    request_body(content = [u8], content_type = "application/octet-stream", description = "A bundle v1, at most the relay's bundle cap (default 80 MiB + 61 bytes)"),
    responses(
        (status = 201, description = "Stored", body = StoredObject),
        (status = 200, description = "Already stored; the body was verified again", body = StoredObject),
        (status = 400, description = "`bad_hash` or `incomplete_body`", body = ErrorBody),
        (status = 408, description = "`too_slow`: the body fell below the relay's minimum rate", body = ErrorBody),
        (status = 413, description = "`too_large`", body = ErrorBody),
        (status = 422, description = "`hash_mismatch` or `not_a_bundle`", body = ErrorBody),
        (status = 429, description = "`too_many_uploads`: this address has as many uploads in progress as the relay takes from one", body = ErrorBody),
        (status = 503, description = "`store_unavailable`, or `busy` when every bundle slot stayed taken", body = ErrorBody),
    )
)]
async fn put_bundle(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    hash: Result<HashSegment, RelayError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, RelayError> {
    let slot = upload_slot(&state, ip);
    let result = match slot {
        Ok(_slot) => put_object(state.clone(), Kind::Bundle, hash, &headers, body, None).await,
        Err(e) => Err(e),
    };
    result.inspect_err(|e| refused(&state, Kind::Bundle, e))
}

const PUT_OUTPUT_DOC: &str = "Only a worker seated in a live job (Assigned, QuorumReached or \
AwaitingDA) may store its output, at most the job's `max_output_bytes`: send `x-edgerun-job` \
(the job id, 64 lowercase hex), `x-edgerun-worker` (the worker's base58 address) and \
`x-edgerun-signature` (128 lowercase hex: the worker's Ed25519 signature over \
`b\"edgerun:put-output:v1\" || job_id (32 bytes) || output_hash (32 bytes)`). All of it is \
checked before the body is read. The body then streams to a temporary object while its BLAKE3 \
and size are checked. A stored output is served only once an OutputAvailability on chain names \
its hash (until then `GET` answers 404). Idempotent: uploading a stored hash again verifies the \
body and answers 201 as well, so the answer never tells a seat what another seat stored.";

#[utoipa::path(
    put, path = "/v1/outputs/{hash}", tag = "outputs",
    description = PUT_OUTPUT_DOC,
    params(
        ("hash" = String, Path, description = "output_hash: BLAKE3 of the body, 64 lowercase hex characters"),
        ("x-edgerun-job" = String, Header, description = "The job id, 64 lowercase hex characters"),
        ("x-edgerun-worker" = String, Header, description = "The seated worker's address, base58"),
        ("x-edgerun-signature" = String, Header, description = "Ed25519 by the worker over b\"edgerun:put-output:v1\" || job_id || output_hash, 128 lowercase hex characters"),
    ),
    request_body(content = [u8], content_type = "application/octet-stream", description = "A job's output, at most the job's max_output_bytes and the relay's output cap (default 64 MiB)"),
    responses(
        (status = 201, description = "Stored (also when it was stored before: an output's answer never says)", body = StoredObject),
        (status = 400, description = "`bad_hash` or `incomplete_body`", body = ErrorBody),
        (status = 401, description = "`unauthorized`: a missing or malformed header, or a signature that does not verify", body = ErrorBody),
        (status = 403, description = "`forbidden`: the worker is not seated in the job, or the job is not live", body = ErrorBody),
        (status = 404, description = "`job_not_found`", body = ErrorBody),
        (status = 408, description = "`too_slow`", body = ErrorBody),
        (status = 413, description = "`too_large`: over the job's max_output_bytes or the relay's cap", body = ErrorBody),
        (status = 422, description = "`hash_mismatch`", body = ErrorBody),
        (status = 502, description = "`chain_unavailable`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`, or `no_chain` (outputs need the chain)", body = ErrorBody),
    )
)]
async fn put_output(
    State(state): State<AppState>,
    hash: Result<HashSegment, RelayError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, RelayError> {
    let authorised = async {
        let HashSegment(hash) = hash?;
        let who = crate::outputs::uploader(&headers, &hash.0)?;
        let chain = state.chain.as_ref().ok_or(RelayError::NoChain)?;
        let job = crate::outputs::seated(chain, &who).await?;
        let relay_cap = state.store.limit(Kind::Output);
        let job_cap = u64::from(job.limits.max_output_bytes.get());
        Ok::<_, RelayError>((
            hash,
            if job_cap < relay_cap {
                Cap::Job(job_cap)
            } else {
                Cap::Relay(relay_cap)
            },
        ))
    }
    .await;
    let result = match authorised {
        Ok((hash, cap)) => {
            put_object(
                state.clone(),
                Kind::Output,
                Ok(HashSegment(hash)),
                &headers,
                body,
                Some(cap),
            )
            .await
        }
        Err(e) => Err(e),
    };
    result.inspect_err(|e| refused(&state, Kind::Output, e))
}

#[utoipa::path(
    put, path = "/v1/selections/{hash}", tag = "selections",
    description = PUT_DOC,
    params(("hash" = String, Path, description = "snapshot_hash (as in WorkersAssigned and WorkerReassigned): BLAKE3 of the body, 64 lowercase hex characters")),
    request_body(content = [u8], content_type = "application/octet-stream", description = "An eligible-set snapshot: one 40-byte record per worker (pubkey 32 bytes, weight u64 LE), sorted by pubkey bytes with no duplicates; at most the relay's selection cap (default 4 MiB)"),
    responses(
        (status = 201, description = "Stored", body = StoredObject),
        (status = 200, description = "Already stored; the body was verified again", body = StoredObject),
        (status = 400, description = "`bad_hash` or `incomplete_body`", body = ErrorBody),
        (status = 408, description = "`too_slow`: the body fell below the relay's minimum rate", body = ErrorBody),
        (status = 413, description = "`too_large`", body = ErrorBody),
        (status = 422, description = "`hash_mismatch` or `not_a_snapshot`", body = ErrorBody),
        (status = 429, description = "`too_many_uploads`: this address has as many snapshot uploads in progress as the relay takes from one", body = ErrorBody),
        (status = 503, description = "`store_unavailable`, or `busy` when every snapshot slot stayed taken", body = ErrorBody),
    )
)]
async fn put_selection(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    hash: Result<HashSegment, RelayError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, RelayError> {
    let result = match slot(&state.selection_uploads, ip) {
        Ok(_slot) => put_object(state.clone(), Kind::Selection, hash, &headers, body, None).await,
        Err(e) => Err(e),
    };
    result.inspect_err(|e| refused(&state, Kind::Selection, e))
}

/// Counts and logs a refused upload.
fn refused(state: &AppState, kind: Kind, e: &RelayError) {
    state.metrics.record_rejection(kind, e.code());
    tracing::info!(kind = kind.name(), code = e.code(), error = %e, "upload refused");
}

async fn put_object(
    state: AppState,
    kind: Kind,
    hash: Result<HashSegment, RelayError>,
    headers: &HeaderMap,
    body: Body,
    cap: Option<Cap>,
) -> Result<Response, RelayError> {
    let HashSegment(hash) = hash?;
    let cap = cap.unwrap_or(Cap::Relay(state.store.limit(kind)));
    // Refuse a declared oversize body before reading any of it.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > cap.bytes()) {
        return Err(cap.exceeded(kind));
    }
    // On its own task: if the client hangs up, hyper drops this handler,
    // but the upload still runs to its end and cleans up after itself.
    let store = state.store.clone();
    let body = body.into_data_stream();
    let options = PutOptions {
        cap: Some(cap),
        permit: None,
    };
    let outcome = tokio::spawn(async move { store.put(kind, hash, options, body).await })
        .await
        .map_err(|e| RelayError::Internal(format!("upload task failed: {e}")))??;
    tracing::info!(
        kind = kind.name(),
        hash = %outcome.hash,
        size = outcome.size,
        created = outcome.created,
        "upload stored"
    );
    let url = kind.url(&outcome.hash);
    // An output's answer never says whether it was stored before: a seat
    // could otherwise upload guesses and learn another seat's output.
    let created = outcome.created || kind == Kind::Output;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let location = HeaderValue::from_str(&url)
        .map_err(|e| RelayError::Internal(format!("location header: {e}")))?;
    let body = StoredObject {
        kind,
        hash: outcome.hash.to_string(),
        size: outcome.size,
        url,
        created,
    };
    Ok((status, [(header::LOCATION, location)], Json(body)).into_response())
}

#[utoipa::path(
    get, path = "/v1/bundles/{hash}", tag = "bundles",
    params(("hash" = String, Path, description = "bundle_hash, 64 lowercase hex characters")),
    responses(
        (status = 200, description = "The bundle bytes; `etag` is the quoted hash, cached as immutable", content_type = "application/octet-stream", body = [u8]),
        (status = 304, description = "`if-none-match` named this hash and it is stored"),
        (status = 400, description = "`bad_hash`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    )
)]
async fn get_bundle(
    State(state): State<AppState>,
    HashSegment(hash): HashSegment,
    headers: HeaderMap,
) -> Result<Response, RelayError> {
    get_object(state, Kind::Bundle, hash, &headers).await
}

#[utoipa::path(
    get, path = "/v1/outputs/{hash}", tag = "outputs",
    params(("hash" = String, Path, description = "output_hash, 64 lowercase hex characters")),
    responses(
        (status = 200, description = "The output bytes, once an OutputAvailability on chain names this hash; `etag` is the quoted hash, cached as immutable", content_type = "application/octet-stream", body = [u8]),
        (status = 304, description = "`if-none-match` named this hash and it is stored and declared"),
        (status = 400, description = "`bad_hash`", body = ErrorBody),
        (status = 404, description = "`not_found`: not stored, or not yet declared on chain (the same answer; a relay without a chain serves no outputs)", body = ErrorBody),
        (status = 502, description = "`chain_unavailable`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    )
)]
async fn get_output(
    State(state): State<AppState>,
    HashSegment(hash): HashSegment,
    headers: HeaderMap,
) -> Result<Response, RelayError> {
    get_object(state, Kind::Output, hash, &headers).await
}

#[utoipa::path(
    get, path = "/v1/selections/{hash}", tag = "selections",
    params(("hash" = String, Path, description = "snapshot_hash, 64 lowercase hex characters")),
    responses(
        (status = 200, description = "The snapshot bytes; `etag` is the quoted hash, cached as immutable", content_type = "application/octet-stream", body = [u8]),
        (status = 304, description = "`if-none-match` named this hash and it is stored"),
        (status = 400, description = "`bad_hash`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    )
)]
async fn get_selection(
    State(state): State<AppState>,
    HashSegment(hash): HashSegment,
    headers: HeaderMap,
) -> Result<Response, RelayError> {
    get_object(state, Kind::Selection, hash, &headers).await
}

#[utoipa::path(
    head, path = "/v1/bundles/{hash}", tag = "bundles",
    params(("hash" = String, Path, description = "bundle_hash, 64 lowercase hex characters")),
    responses(
        (status = 200, description = "Stored; `content-length` is its size"),
        (status = 400, description = "`bad_hash`"),
        (status = 404, description = "`not_found`"),
    )
)]
async fn head_bundle(
    State(state): State<AppState>,
    HashSegment(hash): HashSegment,
) -> Result<Response, RelayError> {
    head_object(state, Kind::Bundle, hash).await
}

#[utoipa::path(
    head, path = "/v1/outputs/{hash}", tag = "outputs",
    params(("hash" = String, Path, description = "output_hash, 64 lowercase hex characters")),
    responses(
        (status = 200, description = "Stored and declared on chain; `content-length` is its size"),
        (status = 400, description = "`bad_hash`"),
        (status = 404, description = "`not_found`: not stored, or not yet declared"),
    )
)]
async fn head_output(
    State(state): State<AppState>,
    HashSegment(hash): HashSegment,
) -> Result<Response, RelayError> {
    head_object(state, Kind::Output, hash).await
}

#[utoipa::path(
    head, path = "/v1/selections/{hash}", tag = "selections",
    params(("hash" = String, Path, description = "snapshot_hash, 64 lowercase hex characters")),
    responses(
        (status = 200, description = "Stored; `content-length` is its size"),
        (status = 400, description = "`bad_hash`"),
        (status = 404, description = "`not_found`"),
    )
)]
async fn head_selection(
    State(state): State<AppState>,
    HashSegment(hash): HashSegment,
) -> Result<Response, RelayError> {
    head_object(state, Kind::Selection, hash).await
}

/// Refuses an output no OutputAvailability names yet with exactly the
/// answer for a missing object (sealed submissions: nothing leaks before
/// the reveal). The chain is asked before the store, so whether the relay
/// holds an undeclared output shows neither in the answer nor in its
/// timing; a relay without a chain serves no outputs.
async fn require_declared(
    state: &AppState,
    kind: Kind,
    hash: &ContentHash,
) -> Result<(), RelayError> {
    if kind != Kind::Output {
        return Ok(());
    }
    let declared = match &state.declared {
        Some(declared) => declared.declared(&hash.0).await?,
        None => false,
    };
    if declared {
        Ok(())
    } else {
        Err(RelayError::NotFound {
            kind,
            hash: hash.to_string(),
        })
    }
}

async fn get_object(
    state: AppState,
    kind: Kind,
    hash: ContentHash,
    headers: &HeaderMap,
) -> Result<Response, RelayError> {
    require_declared(&state, kind, &hash).await?;
    let etag = format!("\"{hash}\"");
    if if_none_match(headers, &etag) {
        state.store.head(kind, &hash).await?;
        return Ok((StatusCode::NOT_MODIFIED, object_headers(&etag, None)).into_response());
    }
    let object = state.store.get(kind, &hash).await?;
    Ok((
        object_headers(&etag, Some(object.size)),
        Body::from_stream(object.body),
    )
        .into_response())
}

async fn head_object(
    state: AppState,
    kind: Kind,
    hash: ContentHash,
) -> Result<Response, RelayError> {
    require_declared(&state, kind, &hash).await?;
    let size = state.store.head(kind, &hash).await?;
    Ok((
        object_headers(&format!("\"{hash}\""), Some(size)),
        Body::empty(),
    )
        .into_response())
}

fn object_headers(etag: &str, size: Option<u64>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    if let Some(size) = size {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    }
    h
}

/// Whether `if-none-match` names `etag` (or `*`); weak tags compare equal,
/// as RFC 9110 asks for this header.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}
