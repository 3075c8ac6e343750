//! The relay's own routes: health, metrics, the OpenAPI document, and the
//! JSON answers for unknown routes and methods.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, RelayError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the answer is 200.
    #[schema(example = "ok")]
    pub status: &'static str,
}

#[utoipa::path(
    get, path = "/healthz", tag = "service",
    responses(
        (status = 200, description = "Serving, and the storage backend answers", body = Health),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    )
)]
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, RelayError> {
    state.store.check().await?;
    Ok(Json(Health { status: "ok" }))
}

#[utoipa::path(
    get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain", body = String))
)]
async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// The rendered OpenAPI document, made once when the app is built.
#[derive(Clone)]
pub struct OpenApiJson(Bytes);

impl OpenApiJson {
    pub fn new(doc: &utoipa::openapi::OpenApi) -> Self {
        // Serializing plain data structures cannot fail.
        OpenApiJson(Bytes::from(doc.to_pretty_json().unwrap_or_default()))
    }
}

#[utoipa::path(
    get, path = "/v1/openapi.json", tag = "service",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json", body = Object))
)]
async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        doc.0,
    )
        .into_response()
}

pub async fn no_route(method: Method, uri: Uri) -> RelayError {
    RelayError::NoRoute {
        method,
        path: uri.path().chars().take(200).collect(),
    }
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> RelayError {
    RelayError::MethodNotAllowed {
        method,
        path: uri.path().chars().take(200).collect(),
    }
}
