//! The runtime's build and conformance commands.
//!
//! - `cargo xtask build-runtime-js [--web]`: edgerun-runtime-js for wasm32,
//!   through wasm-bindgen, to `<target>/runtime-js/<nodejs|web>/`.
//! - `cargo xtask vectors`: rebuild tests/vectors/ (bundles + vectors.json)
//!   from tests/vectors/src/ and freshly built jobs; expected outcomes come
//!   from the native runtime.
//! - `cargo xtask vectors-node`: every vector through the wasm32 build under
//!   Node (wasmi-in-wasm) and on Node's own engine, compared with the native
//!   results; a test suite.
//! - `cargo xtask bench runtime`: runtime/bench (release) over the built
//!   jobs, with the Node half; writes `<target>/bench/runtime.json`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{jobs, paths, proc, program};

/// The wasm-bindgen output directory for `flavour` (`nodejs` or `web`).
pub fn js_dir(flavour: &str) -> PathBuf {
    paths::target_dir().join("runtime-js").join(flavour)
}

/// Builds edgerun-runtime-js (release, wasm32) and runs wasm-bindgen with
/// `--target <flavour>`; returns the output directory.
pub fn build_js(flavour: &str) -> Result<PathBuf> {
    let ok = program::cargo_in_repo(
        &[
            "build",
            "-p",
            "edgerun-runtime-js",
            "--target",
            "wasm32-unknown-unknown",
            "--release",
        ],
        &[],
    )?;
    if !ok {
        bail!("building edgerun-runtime-js for wasm32 failed (see above)");
    }
    let wasm = paths::target_dir().join("wasm32-unknown-unknown/release/edgerun_runtime_js.wasm");
    let out = js_dir(flavour);
    std::fs::create_dir_all(&out)?;
    let bindgen = paths::tool_bin("wasm-bindgen");
    if !bindgen.exists() {
        bail!(
            "{} is missing: run `cargo xtask setup wasm-bindgen-cli`",
            bindgen.display()
        );
    }
    let mut cmd = Command::new(&bindgen);
    cmd.arg("--target")
        .arg(flavour)
        .arg("--out-dir")
        .arg(&out)
        .arg(&wasm);
    proc::run(&mut cmd, "wasm-bindgen")?;
    println!("build-runtime-js: {}", out.display());
    Ok(out)
}

fn vectors_dir() -> PathBuf {
    paths::repo_root().join("tests/vectors")
}

/// Rebuilds the conformance vectors.
pub fn write_vectors() -> Result<bool> {
    jobs::build()?;
    let jobs_dir = paths::target_dir().join("jobs");
    let (jobs_dir, vectors) = (jobs_dir.to_string_lossy(), vectors_dir());
    program::cargo_in_repo(
        &[
            "run",
            "-p",
            "edgerun-runtime",
            "--bin",
            "edgerun-vectors",
            "--",
            "write",
            "--jobs",
            &jobs_dir,
            &vectors.to_string_lossy(),
        ],
        &[],
    )
}

/// Runs every vector under Node, both ways, against the native results.
pub fn vectors_node() -> Result<bool> {
    let out = build_js("nodejs")?;
    let node = proc::which("node").context("node is not on PATH (Node 20 is required)")?;
    let mut cmd = Command::new(node);
    cmd.arg(paths::repo_root().join("runtime/js/vectors.mjs"))
        .arg(&out)
        .arg(vectors_dir());
    let status = cmd
        .status()
        .with_context(|| format!("running {}", proc::show(&cmd)))?;
    Ok(status.success())
}

/// `cargo xtask bench runtime`.
pub fn bench() -> Result<bool> {
    jobs::build()?;
    let js = build_js("nodejs")?;
    let target = paths::target_dir();
    let (jobs_dir, out, js) = (
        target.join("jobs").to_string_lossy().into_owned(),
        target.join("bench").to_string_lossy().into_owned(),
        js.to_string_lossy().into_owned(),
    );
    program::cargo_in_repo(
        &[
            "run",
            "--release",
            "-p",
            "edgerun-runtime-bench",
            "--",
            "--jobs",
            &jobs_dir,
            "--out",
            &out,
            "--node-js",
            &js,
        ],
        &[],
    )
}
