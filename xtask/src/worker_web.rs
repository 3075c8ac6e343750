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
            "--profile",
            "web",
        ],
        &[],
    )?;
    if !ok {
        bail!("building edgerun-worker-web for wasm32 failed (see above)");
    }
    let wasm = paths::target_dir().join("wasm32-unknown-unknown/web/edgerun_worker_web.wasm");
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
    shrink(&bg)?;
    // wasmi-in-wasm, fetched only by a tab that may not compile WebAssembly
    // itself (or whose engine failed): edgerun-runtime-js's web build.
    let runtime = crate::runtime::build_js("web")?;
    let fallback = out.join("runtime");
    std::fs::create_dir_all(&fallback)?;
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
        (repo.join("runtime/js/engine.mjs"), out.join("engine.mjs")),
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

/// binaryen's wasm-opt -Oz in place (npm binaryen@132, never Debian's).
fn shrink(wasm: &std::path::Path) -> Result<()> {
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
