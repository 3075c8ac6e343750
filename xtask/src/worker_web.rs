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
    let out = out_dir();
    let bg = web_package("edgerun-worker-web", &out.join("pkg"), &[])?;
    // wasmi-in-wasm, fetched only by a tab that may not compile WebAssembly
    // itself (or whose engine failed): edgerun-runtime-js's web build.
    let runtime = crate::runtime::build_js("web")?;
    let fallback = out.join("runtime");
    std::fs::create_dir_all(&fallback)?;
    std::fs::create_dir_all(out.join("edge"))?;
    for name in ["edgerun_runtime_js.js", "edgerun_runtime_js_bg.wasm"] {
        std::fs::copy(runtime.join(name), fallback.join(name))
            .with_context(|| format!("copying {name}"))?;
    }
    shrink(&fallback.join("edgerun_runtime_js_bg.wasm"))?;
    let repo = paths::repo_root();
    for (from, to) in [
        (
            repo.join("worker-web/js/worker.mjs"),
            out.join("worker.mjs"),
        ),
        (
            repo.join("worker-web/js/fallback.mjs"),
            out.join("fallback.mjs"),
        ),
        (
            repo.join("worker-web/js/volunteer.mjs"),
            out.join("volunteer.mjs"),
        ),
        (
            repo.join("worker-web/js/index.html"),
            out.join("index.html"),
        ),
        (repo.join("worker-web/js/host.mjs"), out.join("host.mjs")),
        (repo.join("runtime/js/engine.mjs"), out.join("engine.mjs")),
        // The edge entry (`edgerun edge init` copies it with pkg/ and
        // runtime/).
        (
            repo.join("worker-web/edge/worker.mjs"),
            out.join("edge/worker.mjs"),
        ),
    ] {
        std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
    }
    let bytes = std::fs::read(&bg)?;
    let fallback = std::fs::read(fallback.join("edgerun_runtime_js_bg.wasm"))?;
    println!(
        "build-worker-web: {} (worker {} bytes wasm, {} gzip; wasmi fallback {} bytes, {} gzip, fetched only when needed)",
        out.display(),
        bytes.len(),
        gzip_len(&bytes)?,
        fallback.len(),
        gzip_len(&fallback)?
    );
    Ok(out)
}

/// `package` built for wasm32 (`--profile web`), through wasm-bindgen
/// (`--target web`, plus `extra` flags) into `pkg`, and shrunk by
/// wasm-opt; the path of its `_bg.wasm`.
pub fn web_package(package: &str, pkg: &std::path::Path, extra: &[&str]) -> Result<PathBuf> {
    let ok = program::cargo_in_repo(
        &[
            "build",
            "-p",
            package,
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "web",
        ],
        &[],
    )?;
    if !ok {
        bail!("building {package} for wasm32 failed (see above)");
    }
    let name = package.replace('-', "_");
    let wasm = paths::target_dir().join(format!("wasm32-unknown-unknown/web/{name}.wasm"));
    std::fs::create_dir_all(pkg)?;
    let bindgen = paths::tool_bin("wasm-bindgen");
    if !bindgen.exists() {
        bail!(
            "{} is missing: run `cargo xtask setup wasm-bindgen-cli`",
            bindgen.display()
        );
    }
    proc::run(
        Command::new(&bindgen)
            .args(["--target", "web"])
            .args(extra)
            .arg("--out-dir")
            .arg(pkg)
            .arg(&wasm),
        "wasm-bindgen",
    )?;
    let bg = pkg.join(format!("{name}_bg.wasm"));
    shrink(&bg)?;
    Ok(bg)
}

/// binaryen's wasm-opt -Oz in place (npm binaryen@132, never Debian's).
pub fn shrink(wasm: &std::path::Path) -> Result<()> {
    let wasm_opt = paths::repo_root().join("node_modules/.bin/wasm-opt");
    if !wasm_opt.exists() {
        bail!(
            "{} is missing: run `cargo xtask setup npm`",
            wasm_opt.display()
        );
    }
    proc::run(
        Command::new(&wasm_opt)
            .args([
                "-Oz",
                // The standard library's prebuilt debug sections: a page
                // has no use for them.
                "--strip-debug",
                "--strip-producers",
                "--enable-bulk-memory",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-mutable-globals",
                "--enable-reference-types",
                "--enable-multivalue",
            ])
            .arg(wasm)
            .arg("-o")
            .arg(wasm),
        "wasm-opt",
    )
}

/// Gzip size at level 9 (what a web server sends, at best), by `gzip -c`.
pub fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut child = Command::new("gzip")
        .args(["-c", "-9"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("running gzip")?;
    // Feed stdin from another thread: gzip's output fills its pipe long
    // before a megabyte of input is written.
    let mut stdin = child.stdin.take().context("gzip's stdin")?;
    let input = bytes.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output()?;
    feeder
        .join()
        .map_err(|_| anyhow::anyhow!("gzip feeder panicked"))??;
    Ok(out.stdout.len())
}

/// The worker's own wasm (after wasm-opt), gzipped: what a tab downloads.
pub fn wasm_gzip_bytes(out: &std::path::Path) -> Result<usize> {
    gzip_len(&std::fs::read(out.join("pkg/edgerun_worker_web_bg.wasm"))?)
}

pub fn node() -> Result<PathBuf> {
    proc::which("node").context("node is not on PATH (Node 20 is required)")
}

/// `cargo xtask browser vectors`: every conformance vector in a Web Worker
/// in Chromium and Firefox, on the browser engine and on wasmi-in-wasm,
/// against the native results.
pub fn vectors() -> Result<bool> {
    crate::setup::require_browsers()?;
    let out = build()?;
    let mut cmd = Command::new(node()?);
    cmd.arg(paths::repo_root().join("worker-web/tests/vectors.mjs"))
        .arg(&out)
        .arg(paths::repo_root().join("tests/vectors"));
    Ok(cmd
        .status()
        .with_context(|| format!("running {}", proc::show(&cmd)))?
        .success())
}

/// What a local-stack test runs: the demo jobs, the `edgerun` binary
/// (debug) and the program.
pub fn stack_binaries() -> Result<()> {
    crate::jobs::build()?;
    if !program::cargo_in_repo(&["build", "-p", "edgerun-cli", "--bin", "edgerun"], &[])? {
        bail!("building edgerun failed (see above)");
    }
    crate::program::build()?;
    Ok(())
}

/// `cargo xtask browser e2e`: browser workers against `edgerun up
/// --workers 0` (worker-web/tests/e2e.mjs).
pub fn e2e() -> Result<bool> {
    crate::setup::require_browsers()?;
    stack_binaries()?;
    build()?;
    let target = paths::target_dir();
    let mut cmd = Command::new(node()?);
    cmd.arg(paths::repo_root().join("worker-web/tests/e2e.mjs"))
        .arg(target.join("debug/edgerun"))
        .arg(target.join("jobs"));
    Ok(cmd
        .status()
        .with_context(|| format!("running {}", proc::show(&cmd)))?
        .success())
}

/// `cargo xtask bench browser`: each demo job in Chromium (browser engine,
/// wasmi-in-wasm) against native Rust and native edgerun in one run;
/// writes `<target>/bench/browser.json`.
pub fn bench() -> Result<bool> {
    crate::setup::require_browsers()?;
    crate::jobs::build()?;
    let out = build()?;
    let target = paths::target_dir();
    let bench = target.join("bench");
    let (jobs_dir, bench_s, out_s) = (
        target.join("jobs").to_string_lossy().into_owned(),
        bench.to_string_lossy().into_owned(),
        out.to_string_lossy().into_owned(),
    );
    let ok = program::cargo_in_repo(
        &[
            "run",
            "--release",
            "-p",
            "edgerun-runtime-bench",
            "--",
            "--jobs",
            &jobs_dir,
            "--out",
            &bench_s,
            "--browser",
            &out_s,
        ],
        &[],
    )?;
    if !ok {
        return Ok(false);
    }
    let path = bench.join("browser.json");
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
    let gz = wasm_gzip_bytes(&out)?;
    doc["worker_web_wasm_gzip_bytes"] = gz.into();
    doc["worker_web_wasm_bytes"] = std::fs::metadata(out.join("pkg/edgerun_worker_web_bg.wasm"))?
        .len()
        .into();
    std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")?;
    println!("worker_web_wasm_gzip_bytes {gz} (goal <= 300 KB = 307200)");
    Ok(true)
}

/// `cargo xtask edge vectors`: every conformance vector inside workerd
/// (worker-web's runJob on wasmi-in-wasm), against the native results.
pub fn edge_vectors() -> Result<bool> {
    require_workerd()?;
    let out = build()?;
    let mut cmd = Command::new(node()?);
    cmd.arg(paths::repo_root().join("worker-web/tests/edge-vectors.mjs"))
        .arg(&out)
        .arg(paths::repo_root().join("tests/vectors"));
    Ok(cmd
        .status()
        .with_context(|| format!("running {}", proc::show(&cmd)))?
        .success())
}

/// `cargo xtask edge e2e`: `edgerun edge init` and `edgerun up --edge 3`
/// (worker-web/tests/edge-up.mjs), then edge workers in standalone workerd
/// against `edgerun up --workers 0` (worker-web/tests/edge-e2e.mjs).
pub fn edge_e2e() -> Result<bool> {
    require_workerd()?;
    crate::setup::require_browsers()?;
    stack_binaries()?;
    let out = build()?;
    let target = paths::target_dir();
    for script in ["edge-up.mjs", "edge-e2e.mjs"] {
        let mut cmd = Command::new(node()?);
        cmd.arg(paths::repo_root().join("worker-web/tests").join(script))
            .arg(target.join("debug/edgerun"))
            .arg(target.join("jobs"))
            .arg(&out)
            // `edgerun up --edge` finds npm's workerd under the repo.
            .current_dir(paths::repo_root());
        let ok = cmd
            .status()
            .with_context(|| format!("running {}", proc::show(&cmd)))?
            .success();
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// npm's workerd (installed by `cargo xtask setup npm`), or EDGERUN_WORKERD.
fn require_workerd() -> Result<()> {
    let workerd = std::env::var_os("EDGERUN_WORKERD")
        .map(PathBuf::from)
        .unwrap_or_else(|| paths::repo_root().join("node_modules/.bin/workerd"));
    if proc::try_stdout_of(Command::new(&workerd).arg("--version")).is_none() {
        bail!(
            "{} does not run: `cargo xtask setup npm` installs npm's workerd",
            workerd.display()
        );
    }
    Ok(())
}

/// `cargo xtask bench edge`: each demo job in standalone workerd
/// (wasmi-in-wasm) against native Rust and native edgerun in one run;
/// writes `<target>/bench/edge.json`.
pub fn bench_edge() -> Result<bool> {
    require_workerd()?;
    crate::jobs::build()?;
    let out = build()?;
    let target = paths::target_dir();
    let (jobs_dir, bench_s, out_s) = (
        target.join("jobs").to_string_lossy().into_owned(),
        target.join("bench").to_string_lossy().into_owned(),
        out.to_string_lossy().into_owned(),
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
            &bench_s,
            "--edge",
            &out_s,
        ],
        &[],
    )
}
