//! `cargo xtask build-portal`: the customer portal (Leptos, client-side
//! rendered) to `<target>/portal/`: `pkg/` (the wasm-bindgen `web` build of
//! `edgerun-portal`, shrunk by binaryen's wasm-opt) and `index.html`.
//! `edgerun up` serves the directory at `/app/`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::{paths, proc, worker_web};

/// Where the build lands.
pub fn out_dir() -> PathBuf {
    paths::target_dir().join("portal")
}

pub fn build() -> Result<PathBuf> {
    let out = out_dir();
    let bg = worker_web::web_package("edgerun-portal", &out.join("pkg"), &["--no-typescript"])?;
    let from = paths::repo_root().join("portal/index.html");
    std::fs::copy(&from, out.join("index.html"))
        .with_context(|| format!("copying {}", from.display()))?;
    // The Post page's templates: the demo jobs with a sample input each.
    crate::jobs::build()?;
    let jobs = paths::target_dir().join("jobs");
    let templates = out.join("templates");
    std::fs::create_dir_all(&templates)?;
    let repo = paths::repo_root();
    for (from, to) in [
        (jobs.join("json-redact.wasm"), "json-redact.wasm"),
        (jobs.join("compress-hash.wasm"), "compress-hash.wasm"),
        (
            repo.join("tests/vectors/src/inputs/redact-profile.json"),
            "json-redact.input",
        ),
        (
            repo.join("portal/templates/compress-hash.input"),
            "compress-hash.input",
        ),
    ] {
        std::fs::copy(&from, templates.join(to))
            .with_context(|| format!("copying {}", from.display()))?;
    }
    let bytes = std::fs::read(&bg)?;
    println!(
        "build-portal: {} ({} bytes wasm, {} gzip)",
        out.display(),
        bytes.len(),
        worker_web::gzip_len(&bytes)?
    );
    Ok(out)
}

/// `cargo xtask portal e2e`: the portal in Chromium against `edgerun up
/// --workers 3` (portal/tests/portal.mjs; screenshots into docs/img/).
pub fn e2e() -> Result<bool> {
    crate::setup::require_browsers()?;
    worker_web::stack_binaries()?;
    worker_web::build()?;
    let out = build()?;
    let target = paths::target_dir();
    let mut cmd = Command::new(worker_web::node()?);
    cmd.arg(paths::repo_root().join("portal/tests/portal.mjs"))
        .arg(target.join("debug/edgerun"))
        .arg(target.join("jobs"))
        .arg(&out);
    Ok(cmd
        .status()
        .with_context(|| format!("running {}", proc::show(&cmd)))?
        .success())
}

/// `cargo xtask bench portal`: the portal's wasm size (gzip) and the time
/// from navigation to a usable Post page in Chromium, to
/// `<target>/bench/portal.json` (`portal_wasm_gzip_bytes`, `interactive_ms`).
pub fn bench() -> Result<bool> {
    crate::setup::require_browsers()?;
    let out = build()?;
    let bench = paths::target_dir().join("bench");
    std::fs::create_dir_all(&bench)?;
    let mut cmd = Command::new(worker_web::node()?);
    cmd.arg(paths::repo_root().join("portal/tests/bench.mjs"))
        .arg(&out)
        .arg(bench.join("portal.json"));
    Ok(cmd
        .status()
        .with_context(|| format!("running {}", proc::show(&cmd)))?
        .success())
}
