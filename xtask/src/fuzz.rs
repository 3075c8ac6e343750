//! `cargo xtask fuzz`: the runtime's cargo-fuzz targets (`runtime/fuzz/`).
//!
//! Installs cargo-fuzz into the tools dir on first use (a setup step that
//! `cargo xtask setup`/`test` never run), then runs each target in turn for
//! the given time with the pinned nightly, at low priority and one job, and
//! prints per target: executions, exec/s, coverage, how many inputs reached
//! guest code, and any crash artifacts. Corpus and artifacts stay in
//! `runtime/fuzz/{corpus,artifacts}/<target>` (git-ignored), so a second run
//! continues where the first stopped.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{paths, proc, setup};

/// Every target in `runtime/fuzz/fuzz_targets`, in the order they run.
pub const TARGETS: &[&str] = &["bundle", "module"];

/// Extra libFuzzer flags per target.
fn target_flags(target: &str) -> &'static [&'static str] {
    match target {
        // wasm-smith needs bytes to build anything interesting: no slow ramp
        // of the input length from a few bytes.
        "module" => &["-len_control=0"],
        _ => &[],
    }
}

pub fn fuzz_dir() -> PathBuf {
    paths::repo_root().join("runtime").join("fuzz")
}

/// Runs `targets` (all when empty) for `minutes` each; returns whether
/// every target ran without a crash.
pub fn run(minutes: u64, targets: &[String]) -> Result<bool> {
    for t in targets {
        if !TARGETS.contains(&t.as_str()) {
            bail!("no fuzz target `{t}`; targets: {}", TARGETS.join(", "));
        }
    }
    let chosen: Vec<&str> = if targets.is_empty() {
        TARGETS.to_vec()
    } else {
        targets.iter().map(String::as_str).collect()
    };
    setup::run_step(&setup::Ctx::new(false), &setup::cargo_fuzz_step())?;

    let mut ok = true;
    let mut summaries = Vec::new();
    for target in chosen {
        let (passed, summary) = run_target(target, minutes)?;
        ok &= passed;
        summaries.push((target, passed, summary));
    }
    println!();
    for (target, passed, summary) in &summaries {
        let verdict = if *passed { "ok" } else { "CRASH" };
        println!("fuzz: {target:<8} {verdict:<6} {summary}");
    }
    Ok(ok)
}

/// Runs one target; returns whether it finished without a crash and a
/// one-line summary.
fn run_target(target: &str, minutes: u64) -> Result<(bool, String)> {
    let dir = fuzz_dir();
    let log = dir.join("fuzz-0.log");
    let _ = fs::remove_file(&log);
    let seconds = (minutes * 60).max(1);
    let corpus = dir.join("corpus").join(target);
    fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;

    // `nice` keeps a fuzz run from starving builds on the same machine; the
    // rustup proxy picks the nightly from `+toolchain`, and cargo finds
    // `cargo-fuzz` in the tools dir.
    let mut cargo = Command::new("nice");
    cargo
        .args(["-n", "10"])
        .arg(proc::rust_tool("cargo").get_program());
    proc::clean_rust_env(&mut cargo);
    cargo
        .current_dir(&dir)
        .env("PATH", path_with_tools()?)
        .env_remove("CARGO_TARGET_DIR")
        .arg(format!("+{}", setup::NIGHTLY))
        .args(["fuzz", "run", "--fuzz-dir"])
        .arg(&dir)
        // No AddressSanitizer: the code under test is safe Rust apart from
        // wasmi, and without it the targets run about twice as fast.
        .args(["--sanitizer", "none"])
        .arg(target)
        // The corpus libFuzzer adds to, then the committed seeds (if any).
        .arg(&corpus);
    let seeds = dir.join("seeds").join(target);
    if seeds.is_dir() {
        cargo.arg(seeds);
    }
    cargo
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg("-jobs=1")
        .args(target_flags(target));
    println!("fuzz: {target}: {} s ({})", seconds, proc::show(&cargo));
    let status = cargo
        .status()
        .with_context(|| format!("running {}", proc::show(&cargo)))?;
    let text = fs::read_to_string(&log).unwrap_or_default();
    let summary = summarize(&text);
    Ok((status.success(), summary))
}

/// `<tools>/bin` first in `PATH`, so `cargo fuzz` finds cargo-fuzz.
fn path_with_tools() -> Result<std::ffi::OsString> {
    let bin = paths::tools_dir().join("bin");
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::iter::once(bin).chain(std::env::split_paths(&rest));
    std::env::join_paths(dirs).context("PATH")
}

/// The last libFuzzer status line (`#N ... cov: ... exec/s: ...`), the
/// last `edgerun-fuzz` counters line and any crash artifacts of a log.
fn summarize(log: &str) -> String {
    let last_stat = log
        .lines()
        .rev()
        .find(|l| l.starts_with('#') && l.contains("exec/s:"))
        .map(|l| {
            let runs = l.split_whitespace().next().unwrap_or("#?");
            let field = |name: &str| {
                let mut words = l.split_whitespace();
                words.find(|w| *w == name);
                words.next().unwrap_or("?").to_owned()
            };
            format!(
                "{runs} runs, {} exec/s, cov {}, ft {}",
                field("exec/s:"),
                field("cov:"),
                field("ft:")
            )
        })
        .unwrap_or_else(|| "no status line".to_owned());
    let counters = log
        .lines()
        .rev()
        .find_map(|l| {
            l.split_once("edgerun-fuzz ")
                .map(|(_, rest)| rest.to_owned())
        })
        .map(|c| format!("; {c}"))
        .unwrap_or_default();
    let crashes: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("Test unit written to ").map(|(_, p)| p.trim()))
        .collect();
    let crashes = if crashes.is_empty() {
        String::new()
    } else {
        format!("; artifacts: {}", crashes.join(", "))
    };
    format!("{last_stat}{counters}{crashes}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_match_the_fuzz_project() {
        for target in TARGETS {
            let file = fuzz_dir().join("fuzz_targets").join(format!("{target}.rs"));
            assert!(file.is_file(), "{} is missing", file.display());
        }
    }

    #[test]
    fn summarizes_a_libfuzzer_log() {
        let log = "\
#4096\tpulse  cov: 100 ft: 200 corp: 5/50b lim: 4096 exec/s: 300 rss: 100Mb
edgerun-fuzz module: inputs=4096 modules=4000 valid=3000 ran: ok=1
#9000\tDONE   cov: 120 ft: 240 corp: 6/60b lim: 4096 exec/s: 301 rss: 101Mb
";
        assert_eq!(
            summarize(log),
            "#9000 runs, 301 exec/s, cov 120, ft 240; module: inputs=4096 modules=4000 valid=3000 ran: ok=1"
        );
        let crash = "#5\tNEW cov: 1 ft: 1 exec/s: 0\nTest unit written to /f/artifacts/m/crash-1\n";
        assert!(summarize(crash).ends_with("; artifacts: /f/artifacts/m/crash-1"));
    }
}
