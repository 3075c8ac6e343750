//! The relay's one error type and its JSON rendering `{code, message}`.
//!
//! | code | status | when |
//! | --- | --- | --- |
//! | `bad_hash` | 400 | the `{hash}` segment is not 64 lowercase hex characters |
//! | `incomplete_body` | 400 | the upload ended early (connection dropped, short body) |
//! | `not_found` | 404 | no object with that hash |
//! | `no_route` | 404 | no route for the path |
//! | `method_not_allowed` | 405 | the route exists, the method does not |
//! | `too_large` | 413 | the body passed the relay's size cap |
//! | `hash_mismatch` | 422 | the body's BLAKE3 is not the hash in the URL |
//! | `not_a_bundle` | 422 | the hash matched but the bytes are no bundle v1 |
//! | `not_a_snapshot` | 422 | the hash matched but the bytes are no eligible-set snapshot |
//! | `unauthorized` | 401 | a wrong API key, or a heartbeat whose signature does not verify |
//! | `too_many_workers` | 503 | the online-worker table is full of fresh heartbeats |
//! | `internal` | 500 | a bug in the relay |
//! | `store_unavailable` | 503 | the storage backend failed; retry later |

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use edgerun_protocol::bundle::BundleError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::Kind;

/// Every error's JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable, stable: one of `bad_hash`, `incomplete_body`,
    /// `not_found`, `no_route`, `method_not_allowed`, `too_large`,
    /// `too_slow`, `hash_mismatch`, `not_a_bundle`, `not_a_snapshot`,
    /// `bad_request`, `unauthorized`, `forbidden`, `tx_refused`,
    /// `tx_too_large`, `rate_limited`, `too_many_uploads`,
    /// `too_many_streams`, `busy`, `internal`, `store_unavailable`, … (the
    /// table in `docs/relay.md` lists them all).
    #[schema(example = "hash_mismatch")]
    pub code: String,
    /// What was wrong and what to do, for a person.
    pub message: String,
}

/// [`RelayError::TooManyStreams`] for one client address (429); any other
/// `whose` is everyone's (503).
pub const PER_ADDRESS: &str = "from this address";

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(
        "{given:?} is not a content hash ({why}); name the object by the BLAKE3 of its bytes as 64 lowercase hex characters"
    )]
    BadHash { given: String, why: String },

    #[error(
        "the upload ended after {received} bytes, before the whole body arrived ({cause}); nothing was stored: send the whole body again"
    )]
    IncompleteBody { received: u64, cause: String },

    #[error("no {kind} {hash} is stored here; upload it first with PUT /v1/{kind}s/{hash}")]
    NotFound { kind: Kind, hash: String },

    #[error("no route for {method} {path}; the routes are listed at GET /v1/openapi.json")]
    NoRoute { method: Method, path: String },

    #[error("{method} is not allowed on {path}; the methods are listed at GET /v1/openapi.json")]
    MethodNotAllowed { method: Method, path: String },

    #[error(
        "the {kind} is larger than this relay's limit of {limit} bytes; nothing was stored: send a smaller {kind} or use a relay with a higher limit"
    )]
    TooLarge { kind: Kind, limit: u64 },

    #[error(
        "the output is larger than its job's max_output_bytes of {limit} bytes; nothing was stored: \
         a job's output is at most its max_output_bytes"
    )]
    OutputOverJobLimit { limit: u64 },

    #[error(
        "the body is larger than {limit} bytes, the most this route reads; nothing was done: send \
         the JSON the route documents (GET /v1/openapi.json)"
    )]
    BodyTooLarge { limit: usize },

    #[error("{0}; nothing was stored: send from a faster or steadier connection")]
    TooSlow(#[from] crate::guard::TooSlow),

    #[error(
        "the body's BLAKE3 is {actual}, not {claimed} as the URL claims; nothing was stored: upload exactly the bytes whose hash is in the URL"
    )]
    HashMismatch { claimed: String, actual: String },

    #[error("the body is not a bundle v1: {0}; nothing was stored")]
    NotABundle(#[source] BundleError),

    #[error(
        "the body is not an eligible-set snapshot: {0}; nothing was stored: upload the sorted \
         (pubkey 32 bytes, weight u64 LE) records whose BLAKE3 is the snapshot_hash"
    )]
    NotASnapshot(String),

    #[error("the relay's storage failed to {op}: {source}; nothing new was stored: retry later")]
    StoreUnavailable {
        op: &'static str,
        #[source]
        source: object_store::Error,
    },

    #[error("this relay is not connected to a chain; start it with --rpc URL")]
    NoChain,

    #[error("{0}")]
    BadRequest(String),

    #[error(
        "the API key is wrong; send `authorization: Bearer <key>` with this relay's key, or post with a client address instead"
    )]
    Unauthorized,

    #[error("{0}")]
    BadSignature(String),

    #[error("{0}")]
    Forbidden(String),

    #[error(
        "this address already has {0} uploads in progress, the most this relay takes from one \
         address; wait for one to finish, then retry"
    )]
    TooManyUploads(usize),

    #[error("{what}; retry in {retry_s} s")]
    Busy { what: String, retry_s: u64 },

    #[error(
        "{limit} event streams are open {whose} already, the most this relay serves; close one \
         (or poll GET /v1/jobs/{{job_id}}) and retry"
    )]
    TooManyStreams { whose: &'static str, limit: usize },

    #[error(
        "this relay already tracks {0} workers heard from in the last 5 minutes and takes no new ones; \
         retry in a minute"
    )]
    TooManyWorkers(usize),

    #[error("not a valid edgerun job: {0}; nothing was stored or posted")]
    InvalidJob(String),

    #[error("the chain refused the transaction: {0}")]
    ChainRefused(String),

    #[error("the relay will not co-sign this transaction: {0}")]
    TxRefused(String),

    #[error("{what}; retry in {retry_s} s")]
    RateLimited { what: String, retry_s: u64 },

    #[error(
        "the transaction is {size} bytes; Solana takes at most 1232 bytes per transaction: send \
         fewer instructions per transaction"
    )]
    TxTooLarge { size: usize },

    #[error(
        "this relay does not co-sign transactions (no fee payer configured); send the transaction to the chain yourself"
    )]
    NoFeePayer,

    #[error(
        "no job {0} on this relay's chain; check the id (as `edgerun post` printed it) and the cluster"
    )]
    JobNotFound(String),

    #[error("{0}")]
    DemoNotFound(String),

    #[error(
        "{0} is not a registered worker on this relay's chain; register it first (register_worker)"
    )]
    WorkerNotFound(String),

    #[error("the chain did not answer: {0}; retry later")]
    ChainUnavailable(String),

    #[error("relay configuration: {0}")]
    Config(String),

    #[error("internal relay error: {0}; please report it")]
    Internal(String),
}

impl RelayError {
    pub fn code(&self) -> &'static str {
        match self {
            RelayError::BadHash { .. } => "bad_hash",
            RelayError::IncompleteBody { .. } => "incomplete_body",
            RelayError::NotFound { .. } => "not_found",
            RelayError::NoRoute { .. } => "no_route",
            RelayError::MethodNotAllowed { .. } => "method_not_allowed",
            RelayError::TooLarge { .. }
            | RelayError::OutputOverJobLimit { .. }
            | RelayError::BodyTooLarge { .. } => "too_large",
            RelayError::TooSlow(_) => "too_slow",
            RelayError::Forbidden(_) => "forbidden",
            RelayError::TooManyUploads(_) => "too_many_uploads",
            RelayError::Busy { .. } => "busy",
            RelayError::TooManyStreams { .. } => "too_many_streams",
            RelayError::TxTooLarge { .. } => "tx_too_large",
            RelayError::HashMismatch { .. } => "hash_mismatch",
            RelayError::NotABundle(_) => "not_a_bundle",
            RelayError::NotASnapshot(_) => "not_a_snapshot",
            RelayError::StoreUnavailable { .. } => "store_unavailable",
            RelayError::NoChain => "no_chain",
            RelayError::BadRequest(_) => "bad_request",
            RelayError::Unauthorized | RelayError::BadSignature(_) => "unauthorized",
            RelayError::TooManyWorkers(_) => "too_many_workers",
            RelayError::InvalidJob(_) => "invalid_job",
            RelayError::ChainRefused(_) => "chain_refused",
            RelayError::TxRefused(_) => "tx_refused",
            RelayError::RateLimited { .. } => "rate_limited",
            RelayError::NoFeePayer => "no_fee_payer",
            RelayError::JobNotFound(_) => "job_not_found",
            RelayError::DemoNotFound(_) => "demo_not_found",
            RelayError::WorkerNotFound(_) => "worker_not_found",
            RelayError::ChainUnavailable(_) => "chain_unavailable",
            RelayError::Config(_) | RelayError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            RelayError::BadHash { .. } | RelayError::IncompleteBody { .. } => {
                StatusCode::BAD_REQUEST
            }
            RelayError::NotFound { .. }
            | RelayError::NoRoute { .. }
            | RelayError::JobNotFound(_)
            | RelayError::DemoNotFound(_)
            | RelayError::WorkerNotFound(_) => StatusCode::NOT_FOUND,
            RelayError::NoChain => StatusCode::SERVICE_UNAVAILABLE,
            RelayError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RelayError::Unauthorized | RelayError::BadSignature(_) => StatusCode::UNAUTHORIZED,
            RelayError::TooManyWorkers(_) => StatusCode::SERVICE_UNAVAILABLE,
            RelayError::InvalidJob(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RelayError::ChainRefused(_) => StatusCode::BAD_GATEWAY,
            RelayError::TxRefused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RelayError::RateLimited { .. } | RelayError::TooManyUploads(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            RelayError::TooManyStreams { whose, .. } => {
                if *whose == PER_ADDRESS {
                    StatusCode::TOO_MANY_REQUESTS
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            }
            RelayError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            RelayError::Forbidden(_) => StatusCode::FORBIDDEN,
            RelayError::TooSlow(_) => StatusCode::REQUEST_TIMEOUT,
            RelayError::TxTooLarge { .. }
            | RelayError::OutputOverJobLimit { .. }
            | RelayError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            RelayError::NoFeePayer => StatusCode::SERVICE_UNAVAILABLE,
            RelayError::ChainUnavailable(_) => StatusCode::BAD_GATEWAY,
            RelayError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            RelayError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            RelayError::HashMismatch { .. }
            | RelayError::NotABundle(_)
            | RelayError::NotASnapshot(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RelayError::StoreUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            RelayError::Config(_) | RelayError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_owned(),
            message: self.to_string(),
        }
    }

    /// An error read from a shared feed, as a fresh value (errors are not
    /// `Clone`: some carry a backend's error).
    pub(crate) fn replay(&self) -> RelayError {
        match self {
            RelayError::JobNotFound(s) => RelayError::JobNotFound(s.clone()),
            RelayError::WorkerNotFound(s) => RelayError::WorkerNotFound(s.clone()),
            RelayError::ChainUnavailable(s) => RelayError::ChainUnavailable(s.clone()),
            RelayError::ChainRefused(s) => RelayError::ChainRefused(s.clone()),
            RelayError::BadRequest(s) => RelayError::BadRequest(s.clone()),
            RelayError::NoChain => RelayError::NoChain,
            other => RelayError::Internal(other.to_string()),
        }
    }

    pub(crate) fn store(op: &'static str) -> impl FnOnce(object_store::Error) -> RelayError {
        move |source| RelayError::StoreUnavailable { op, source }
    }
}

impl IntoResponse for RelayError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, "request failed");
        } else {
            tracing::debug!(code = self.code(), error = %self, "request refused");
        }
        (status, Json(self.body())).into_response()
    }
}
