//! `cargo xtask build-www`: the website to `<target>/www/`: `index.html`,
//! `trust.html`, `pricing.html` rendered by `edgerun-www` from the
//! protocol's numbers, the assets in `www/static/`, and `calc.wasm` (the
//! pricing calculator: `edgerun-www`'s exports of the protocol's economics,
//! wasm-opt -Oz). `edgerun up` serves the directory at `/`, `/trust`,
//! `/pricing` and `/www/`. Beside it, `<target>/www-quotes.json` (not
//! served): the protocol's figures for a table of escrows, which the
//! browser test holds the calculator to.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{paths, proc, program, worker_web};

pub fn out_dir() -> PathBuf {
    paths::target_dir().join("www")
}

pub fn quotes_path() -> PathBuf {
    paths::target_dir().join("www-quotes.json")
}

/// Escrows (lamports) and the tier each is quoted at, for the test.
const QUOTED: [(u64, u32, u64); 8] = [
    (10_000_000, 0, 0),
    (1_234_567, 0, 0),
    (99_999_999, 0, 2_500_000),
    (100_000_000, 1, 0),
    (333_333_333, 1, 1_000_000),
    (1_000_000_000, 2, 0),
    (7_777_777_777, 2, 0),
    (10_000_000_000, 3, 50_000_000),
];

pub fn build() -> Result<PathBuf> {
    let out = out_dir();
    let repo = paths::repo_root();
    edgerun_www::pages::render(&out, &repo.join("www/static"))
        .with_context(|| format!("rendering the website into {}", out.display()))?;
    let ok = program::cargo_in_repo(
        &[
            "build",
            "-p",
            "edgerun-www",
            "--lib",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "web",
        ],
        &[],
    )?;
    if !ok {
        bail!("building edgerun-www for wasm32 failed (see above)");
    }
    let calc = out.join("calc.wasm");
    std::fs::copy(
        paths::target_dir().join("wasm32-unknown-unknown/web/edgerun_www.wasm"),
        &calc,
    )
    .context("copying calc.wasm")?;
    worker_web::shrink(&calc)?;
    let p = edgerun_www::pages::defaults();
    let (bps, min_fee) = (
        p.protocol_fee_bps.get(),
        edgerun_www::pages::min_job_fee(&p),
    );
    let quotes: Vec<String> = QUOTED
        .iter()
        .map(|&(escrow, tier, priority)| {
            edgerun_www::pages::quote(escrow, tier, bps, min_fee, priority).json()
        })
        .collect();
    std::fs::write(
        quotes_path(),
        format!(
            "{{\"protocol_fee_bps\":{bps},\"min_job_fee_lamports\":{min_fee},\"quotes\":[{}]}}\n",
            quotes.join(",")
        ),
    )?;
    let sizes: Vec<String> = ["index.html", "trust.html", "pricing.html", "calc.wasm"]
        .iter()
        .map(|f| {
            let n = std::fs::metadata(out.join(f)).map(|m| m.len()).unwrap_or(0);
            format!("{f} {n} B")
        })
        .collect();
    println!("build-www: {} ({})", out.display(), sizes.join(", "));
    Ok(out)
}

/// `cargo xtask www e2e`: the website in Chromium against `edgerun up
/// --workers 3` (www/tests/www.mjs; screenshots into docs/img/).
pub fn e2e() -> Result<bool> {
    crate::setup::require_browsers()?;
    let (edgerun, out) = stack_parts()?;
    run_node(
        "www/tests/www.mjs",
        &[
            edgerun,
            paths::target_dir().join("jobs"),
            out,
            quotes_path(),
        ],
    )
}

/// `cargo xtask bench www`: each page's weight on first load in Chromium
/// (bytes transferred) to `<target>/bench/www.json` (`landing_bytes`,
/// `trust_bytes`, `pricing_bytes`).
pub fn bench() -> Result<bool> {
    crate::setup::require_browsers()?;
    let (edgerun, out) = stack_parts()?;
    let bench = paths::target_dir().join("bench");
    std::fs::create_dir_all(&bench)?;
    run_node(
        "www/tests/bench.mjs",
        &[
            edgerun,
            paths::target_dir().join("jobs"),
            out,
            bench.join("www.json"),
        ],
    )
}

/// Everything `edgerun up` serves for the site: the binary, the program,
/// the jobs, worker-web (the demo verifies outputs with it), the portal
/// (the demo links to it) and the site.
fn stack_parts() -> Result<(PathBuf, PathBuf)> {
    worker_web::stack_binaries()?;
    worker_web::build()?;
    crate::portal::build()?;
    let out = build()?;
    Ok((paths::target_dir().join("debug/edgerun"), out))
}

fn run_node(script: &str, args: &[PathBuf]) -> Result<bool> {
    let mut cmd = Command::new(worker_web::node()?);
    cmd.arg(paths::repo_root().join(script)).args(args);
    Ok(cmd
        .status()
        .with_context(|| format!("running {}", proc::show(&cmd)))?
        .success())
}

/// `cargo xtask sdk test`: builds `edgerun`, the program and the jobs, then
/// runs the TypeScript SDK's own suite (`npm test` in `sdk/`: its build,
/// then `node --test` against `edgerun up --workers 3`).
pub fn sdk_test() -> Result<bool> {
    // One of its tests runs the SDK in Chromium.
    crate::setup::require_browsers()?;
    worker_web::stack_binaries()?;
    let sdk = paths::repo_root().join("sdk");
    if !sdk.join("node_modules/.bin/tsc").exists() {
        bail!("the SDK's node_modules are missing: run `cargo xtask setup sdk-npm`");
    }
    let mut cmd = Command::new("npm");
    cmd.arg("test")
        .current_dir(&sdk)
        .env("EDGERUN_BIN", paths::target_dir().join("debug/edgerun"))
        .stdout(std::process::Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("running {}", proc::show(&cmd)))?;
    // node's TAP summary ("# pass N", "# fail M") as the line the test
    // driver counts.
    let (mut pass, mut fail) = (0u64, 0u64);
    let stdout = child.stdout.take().expect("piped");
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        let line = line?;
        println!("{line}");
        let n = |p: &str| {
            line.strip_prefix(p)
                .and_then(|r| r.trim().parse::<u64>().ok())
        };
        if let Some(v) = n("# pass ") {
            pass = v;
        }
        if let Some(v) = n("# fail ") {
            fail = v;
        }
    }
    let ok = child.wait()?.success();
    println!(
        "test result: {}. {pass} passed; {fail} failed; 0 ignored",
        if ok && fail == 0 { "ok" } else { "FAILED" }
    );
    Ok(ok && fail == 0)
}

/// `cargo xtask api-docs`: every example in docs/api.md, run in order in
/// one bash against `edgerun up --workers 3`, each output checked against
/// its `expect` pattern (docs/tests/api.mjs).
pub fn api_docs() -> Result<bool> {
    crate::setup::require_tool("b3sum")?;
    let (edgerun, _) = stack_parts()?;
    run_node(
        "docs/tests/api.mjs",
        &[
            edgerun,
            paths::target_dir().join("jobs"),
            paths::tools_dir().join("bin"),
        ],
    )
}
