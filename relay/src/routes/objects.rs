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
use crate::store::{ContentHash, Kind};

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
    /// False when the object was already stored.
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
        (status = 413, description = "`too_large`", body = ErrorBody),
        (status = 422, description = "`hash_mismatch` or `not_a_bundle`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    )
)]
async fn put_bundle(
    State(state): State<AppState>,
    hash: Result<HashSegment, RelayError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, RelayError> {
    put_object(state, Kind::Bundle, hash, &headers, body).await
}

#[utoipa::path(
    put, path = "/v1/outputs/{hash}", tag = "outputs",
    description = PUT_DOC,
    params(("hash" = String, Path, description = "output_hash: BLAKE3 of the body, 64 lowercase hex characters")),
    request_body(content = [u8], content_type = "application/octet-stream", description = "A job's output, at most the relay's output cap (default 64 MiB)"),
    responses(
        (status = 201, description = "Stored", body = StoredObject),
        (status = 200, description = "Already stored; the body was verified again", body = StoredObject),
        (status = 400, description = "`bad_hash` or `incomplete_body`", body = ErrorBody),
        (status = 413, description = "`too_large`", body = ErrorBody),
        (status = 422, description = "`hash_mismatch`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    )
)]
async fn put_output(
    State(state): State<AppState>,
    hash: Result<HashSegment, RelayError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, RelayError> {
    put_object(state, Kind::Output, hash, &headers, body).await
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
        (status = 413, description = "`too_large`", body = ErrorBody),
        (status = 422, description = "`hash_mismatch` or `not_a_snapshot`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    )
)]
async fn put_selection(
    State(state): State<AppState>,
    hash: Result<HashSegment, RelayError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, RelayError> {
    put_object(state, Kind::Selection, hash, &headers, body).await
}

async fn put_object(
    state: AppState,
    kind: Kind,
    hash: Result<HashSegment, RelayError>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, RelayError> {
    let stored = async {
        let HashSegment(hash) = hash?;
        let limit = state.store.limit(kind);
        // Refuse a declared oversize body before reading any of it.
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit) {
            return Err(RelayError::TooLarge { kind, limit });
        }
        // On its own task: if the client hangs up, hyper drops this handler,
        // but the upload still runs to its end and cleans up after itself.
        let store = state.store.clone();
        let body = body.into_data_stream();
        tokio::spawn(async move { store.put_verified(kind, hash, body).await })
            .await
            .map_err(|e| RelayError::Internal(format!("upload task failed: {e}")))?
    }
    .await;
    let outcome = match stored {
        Ok(outcome) => outcome,
        Err(e) => {
            state.metrics.record_rejection(kind, e.code());
            tracing::info!(kind = kind.name(), code = e.code(), error = %e, "upload refused");
            return Err(e);
        }
    };
    tracing::info!(
        kind = kind.name(),
        hash = %outcome.hash,
        size = outcome.size,
        created = outcome.created,
        "upload stored"
    );
    let url = kind.url(&outcome.hash);
    let status = if outcome.created {
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
        created: outcome.created,
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
        (status = 200, description = "The output bytes; `etag` is the quoted hash, cached as immutable", content_type = "application/octet-stream", body = [u8]),
        (status = 304, description = "`if-none-match` named this hash and it is stored"),
        (status = 400, description = "`bad_hash`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
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
        (status = 200, description = "Stored; `content-length` is its size"),
        (status = 400, description = "`bad_hash`"),
        (status = 404, description = "`not_found`"),
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

async fn get_object(
    state: AppState,
    kind: Kind,
    hash: ContentHash,
    headers: &HeaderMap,
) -> Result<Response, RelayError> {
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
