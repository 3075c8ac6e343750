//! `cargo xtask build-worker-web`: the volunteer's worker for browsers and
//! edge runtimes, to `<target>/worker-web/`: `pkg/` (the wasm-bindgen
//! `web` build of `edgerun-worker-web`, shrunk by binaryen's wasm-opt),
//! `worker.mjs` and `volunteer.mjs` (worker-web/js), `engine.mjs`
//! (runtime/js: the host-engine path) and a test page. `edgerun up` serves
//! the directory at `/worker/`.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{paths, proc, program};

/// Where the build lands.
pub fn out_dir() -> PathBuf {
    paths::target_dir().join("worker-web")
}

pub fn build() -> Result<PathBuf> {
    let ok = program::cargo_in_repo(
        &[
            "build",
            "-p",
            "edgerun-worker-web",
            "--target",
            "wasm32-unknown-unknown",
            "--release",
        ],
        &[],
    )?;
    if !ok {
        bail!("building edgerun-worker-web for wasm32 failed (see above)");
    }
    let wasm = paths::target_dir().join("wasm32-unknown-unknown/release/edgerun_worker_web.wasm");
    let out = out_dir();
    let pkg = out.join("pkg");
    std::fs::create_dir_all(&pkg)?;
    let bindgen = paths::tool_bin("wasm-bindgen");
    if !bindgen.exists() {
        bail!(
            "{} is missing: run `cargo xtask setup wasm-bindgen-cli`",
            bindgen.display()
        );
    }
    proc::run(
        Command::new(&bindgen)
            .args(["--target", "web", "--out-dir"])
            .arg(&pkg)
            .arg(&wasm),
        "wasm-bindgen",
    )?;
    let bg = pkg.join("edgerun_worker_web_bg.wasm");
    let wasm_opt = paths::repo_root().join("node_modules/.bin/wasm-opt");
    if wasm_opt.exists() {
        proc::run(
            Command::new(&wasm_opt)
                .args([
                    "-Oz",
                    "--enable-bulk-memory",
                    "--enable-nontrapping-float-to-int",
                    "--enable-sign-ext",
                    "--enable-mutable-globals",
                    "--enable-reference-types",
                    "--enable-multivalue",
                ])
                .arg(&bg)
                .arg("-o")
                .arg(&bg),
            "wasm-opt",
        )?;
    } else {
        eprintln!(
            "build-worker-web: no wasm-opt (run `cargo xtask setup npm`); the wasm is not shrunk"
        );
    }
    let repo = paths::repo_root();
    for (from, to) in [
        (
            repo.join("worker-web/js/worker.mjs"),
            out.join("worker.mjs"),
        ),
        (
            repo.join("worker-web/js/volunteer.mjs"),
            out.join("volunteer.mjs"),
        ),
        (
            repo.join("worker-web/js/index.html"),
            out.join("index.html"),
        ),
        (repo.join("runtime/js/engine.mjs"), out.join("engine.mjs")),
    ] {
        std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
    }
    let bytes = std::fs::read(&bg)?;
    println!(
        "build-worker-web: {} ({} bytes wasm, {} gzip)",
        out.display(),
        bytes.len(),
        gzip_len(&bytes)?
    );
    Ok(out)
}

/// Gzip size at the default level (what a web server sends), by `gzip -c`.
pub fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut child = Command::new("gzip")
        .args(["-c", "-9"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("running gzip")?;
    child
        .stdin
        .take()
        .context("gzip's stdin")?
        .write_all(bytes)?;
    let out = child.wait_with_output()?;
    Ok(out.stdout.len())
}
