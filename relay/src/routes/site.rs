//! Static files the relay serves for the web parts of a stack: the
//! worker-web build at `/worker/` (the volunteer's module worker, its
//! wasm and a test page), so a browser on the machine can volunteer with
//! no other set-up. Off unless the relay is given the directory.
//!
//! Only names of `[A-Za-z0-9._-]` segments are served (no `..`, no hidden
//! files, no directory listing), straight from the one directory.

use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::error::RelayError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/worker/", get(index))
        .route("/worker/{*path}", get(file))
}

/// What is served under a prefix.
#[derive(Clone, Debug)]
pub struct Site {
    /// `/worker/`: the worker-web build.
    pub worker: PathBuf,
}

async fn index(State(state): State<AppState>) -> Result<Response, RelayError> {
    serve(&state, "index.html").await
}

async fn file(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, RelayError> {
    serve(&state, &path).await
}

/// Whether `path` is a plain relative name: segments of `[A-Za-z0-9._-]`,
/// none empty, none starting with a dot.
fn safe(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 200
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("css") => "text/css; charset=utf-8",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

async fn serve(state: &AppState, path: &str) -> Result<Response, RelayError> {
    let not_found = || RelayError::NoRoute {
        method: axum::http::Method::GET,
        path: format!("/worker/{path}"),
    };
    let Some(site) = &state.site else {
        return Err(not_found());
    };
    if !safe(path) {
        return Err(not_found());
    }
    let bytes = tokio::fs::read(site.worker.join(path))
        .await
        .map_err(|_| not_found())?;
    let mut resp = Response::new(Body::from(bytes));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // A module worker and its wasm come from this origin only.
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    *resp.status_mut() = StatusCode::OK;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::safe;

    #[test]
    fn only_plain_names_are_served() {
        for ok in ["index.html", "pkg/edgerun_worker_web_bg.wasm", "engine.mjs"] {
            assert!(safe(ok), "{ok}");
        }
        for bad in [
            "",
            "../x",
            "a/../b",
            ".env",
            "a//b",
            "/etc/passwd",
            "a\\\\b",
            "%2e%2e/x",
            "a/.git/x",
        ] {
            assert!(!safe(bad), "{bad}");
        }
    }
}
