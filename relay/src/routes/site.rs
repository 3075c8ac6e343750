//! Static files the relay serves for the web parts of a stack: the
//! worker-web build at `/worker/` (the volunteer's module worker, its
//! wasm and a test page), so a browser on the machine can volunteer with
//! no other set-up, and the portal at `/app/` (a client-side app: any
//! `/app/...` path that is not a file is its `index.html`, so a job's page
//! can be shared and reloaded), and the website at `/`, `/trust`,
//! `/pricing` (its assets at `/www/`). Each is off unless the relay is
//! given its directory.
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
        .route("/", get(www_index))
        .route("/trust", get(www_trust))
        .route("/pricing", get(www_pricing))
        .route("/www/{*path}", get(www_file))
        .route("/app", get(app_index))
        .route("/app/", get(app_index))
        .route("/app/{*path}", get(app_file))
}

/// What is served under a prefix.
#[derive(Clone, Debug, Default)]
pub struct Site {
    /// `/worker/`: the worker-web build.
    pub worker: Option<PathBuf>,
    /// `/app/`: the portal build.
    pub portal: Option<PathBuf>,
    /// `/`, `/trust`, `/pricing` and `/www/`: the website build.
    pub www: Option<PathBuf>,
}

fn www_root(state: &AppState) -> Option<&PathBuf> {
    state.site.as_ref().and_then(|s| s.www.as_ref())
}

async fn www_index(State(state): State<AppState>) -> Result<Response, RelayError> {
    serve(www_root(&state), "/", "index.html").await
}

async fn www_trust(State(state): State<AppState>) -> Result<Response, RelayError> {
    serve(www_root(&state), "/", "trust.html").await
}

async fn www_pricing(State(state): State<AppState>) -> Result<Response, RelayError> {
    serve(www_root(&state), "/", "pricing.html").await
}

async fn www_file(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, RelayError> {
    serve(www_root(&state), "/www/", &path).await
}

async fn index(State(state): State<AppState>) -> Result<Response, RelayError> {
    let root = state.site.as_ref().and_then(|s| s.worker.as_ref());
    serve(root, "/worker/", "index.html").await
}

async fn file(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, RelayError> {
    let root = state.site.as_ref().and_then(|s| s.worker.as_ref());
    serve(root, "/worker/", &path).await
}

async fn app_index(State(state): State<AppState>) -> Result<Response, RelayError> {
    let root = state.site.as_ref().and_then(|s| s.portal.as_ref());
    serve(root, "/app/", "index.html").await
}

/// A file of the portal, or (for a page of the app: no file extension)
/// its index.html.
async fn app_file(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, RelayError> {
    let root = state.site.as_ref().and_then(|s| s.portal.as_ref());
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        serve(root, "/app/", &path).await
    } else {
        serve(root, "/app/", "index.html").await
    }
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

async fn serve(root: Option<&PathBuf>, prefix: &str, path: &str) -> Result<Response, RelayError> {
    let not_found = || RelayError::NoRoute {
        method: axum::http::Method::GET,
        path: format!("{prefix}{path}"),
    };
    let Some(root) = root else {
        return Err(not_found());
    };
    if !safe(path) {
        return Err(not_found());
    }
    let bytes = tokio::fs::read(root.join(path))
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
