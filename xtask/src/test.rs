//! `cargo xtask test`: setup, then every suite, each under a timeout.
//!
//! [`suites`] is one ordered list; append new suites there. A suite can be
//! made conditional on a path existing ([`Suite::only_if_exists`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::paths;
use crate::proc::{rust_tool, show};
use crate::setup;

/// One test suite: a command run from the repository root (or `dir`).
pub struct Suite {
    pub name: &'static str,
    /// Program and arguments; `cargo`/`rustup`/`rustc` go through the
    /// rustup proxy with a clean environment (see [`rust_tool`]).
    pub command: Vec<String>,
    /// Working directory, relative to the repository root.
    pub dir: &'static str,
    pub env: Vec<(&'static str, String)>,
    pub timeout: Duration,
    /// Run only when this path (relative to the repository root) exists.
    pub only_if: Option<&'static str>,
}

const fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// Every suite, in the order they run. Append new suites here, e.g.
///
/// ```ignore
/// Suite::cargo("program-litesvm", &["test", "-p", "edgerun-litesvm-tests"], minutes(20))
///     .only_if_exists("program/Cargo.toml"),
/// Suite::new("node", "node", &["--test", "tests/node/"], minutes(5)).env("EDGERUN_TOOLS", ..),
/// ```
pub fn suites() -> Vec<Suite> {
    vec![
        Suite::cargo("fmt", &["fmt", "--all", "--", "--check"], minutes(5)),
        Suite::cargo(
            "program-fmt",
            &[
                "fmt",
                "--manifest-path",
                "program/Cargo.toml",
                "--",
                "--check",
            ],
            minutes(5),
        )
        .only_if_exists("program/Cargo.toml"),
        Suite::cargo(
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
            minutes(40),
        ),
        // The on-chain program as SBF bytecode (nightly + sbpf-linker); the
        // LiteSVM tests in the workspace suites load it.
        Suite::cargo("program-build", &["xtask", "build-program"], minutes(20))
            .only_if_exists("program/Cargo.toml"),
        // Every job builds for wasm32 and passes the runtime's validator
        // (the end-to-end tests post the built jobs).
        Suite::cargo("jobs", &["xtask", "build-jobs"], minutes(15)),
        // The cold compile of everything; the next suite then only runs.
        Suite::cargo(
            "workspace-build",
            &["test", "--workspace", "--no-run"],
            minutes(40),
        ),
        Suite::cargo(
            "workspace-tests",
            &["test", "--workspace", "--no-fail-fast"],
            minutes(20),
        ),
        // The conformance vectors through the wasm32 runtime under Node
        // (wasmi-in-wasm and Node's own engine) match the native results.
        Suite::cargo("vectors-node", &["xtask", "vectors-node"], minutes(20)),
        // Every conformance vector in a Web Worker in Chromium and Firefox,
        // on the browser's engine and on wasmi-in-wasm, equals native.
        Suite::cargo(
            "browser-vectors",
            &["xtask", "browser", "vectors"],
            minutes(20),
        ),
        // Browser workers (two sponsored, one wallet-backed) against
        // `edgerun up --workers 0`: paid, mixed committees, closed tabs,
        // bad input.
        Suite::cargo("browser-e2e", &["xtask", "browser", "e2e"], minutes(25)),
        // Every conformance vector inside workerd, as an edge worker runs a
        // seat (wasmi-in-wasm), equals native.
        Suite::cargo("edge-vectors", &["xtask", "edge", "vectors"], minutes(15)),
        // Edge workers in workerd against `edgerun up --workers 0`: an
        // edge-only committee paid, a native + browser + edge committee,
        // edge workers killed mid-seat penalized after the deadline and
        // replaced, a restarted one resuming without a second submission.
        Suite::cargo("edge-e2e", &["xtask", "edge", "e2e"], minutes(20)),
        // The portal in Chromium with a Wallet Standard test wallet against
        // `edgerun up --workers 3`: connect, a job followed to Finalized and
        // its output verified, a tampered output flagged.
        Suite::cargo("portal-e2e", &["xtask", "portal", "e2e"], minutes(15)),
        // The website in Chromium: "Run a job" on the landing page for both
        // demo workloads, the calculator against the protocol's figures,
        // phone widths, every link; the demo route's bounds.
        Suite::cargo("www-e2e", &["xtask", "www", "e2e"], minutes(15)),
        // The TypeScript SDK (node --test) against `edgerun up --workers 3`:
        // post with a kit signer and with the API key, follow, get and
        // verify, verify the committee, cancel, decoders from the IDL.
        Suite::cargo("sdk", &["xtask", "sdk", "test"], minutes(10)),
        // Every curl example of docs/api.md, run and its output checked.
        Suite::cargo("api-docs", &["xtask", "api-docs"], minutes(10)),
    ]
}

impl Suite {
    pub fn new(name: &'static str, program: &str, args: &[&str], timeout: Duration) -> Self {
        let mut command = vec![program.to_owned()];
        command.extend(args.iter().map(|a| (*a).to_owned()));
        Suite {
            name,
            command,
            dir: "",
            env: Vec::new(),
            timeout,
            only_if: None,
        }
    }

    pub fn cargo(name: &'static str, args: &[&str], timeout: Duration) -> Self {
        Self::new(name, "cargo", args, timeout)
    }

    /// Skip the suite unless `path` (relative to the repository root) exists.
    #[allow(dead_code)]
    pub fn only_if_exists(mut self, path: &'static str) -> Self {
        self.only_if = Some(path);
        self
    }

    /// Run in `dir` (relative to the repository root).
    #[allow(dead_code)]
    pub fn in_dir(mut self, dir: &'static str) -> Self {
        self.dir = dir;
        self
    }

    #[allow(dead_code)]
    pub fn env(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.env.push((key, value.into()));
        self
    }

    /// Why the suite is skipped, if it is.
    fn skip_reason(&self, repo: &Path) -> Option<String> {
        let path = self.only_if?;
        (!repo.join(path).exists()).then(|| format!("{path} absent"))
    }

    fn to_command(&self, repo: &Path) -> Command {
        let program = self.command[0].as_str();
        let mut cmd = match program {
            "cargo" | "rustup" | "rustc" => rust_tool(program),
            _ => Command::new(program),
        };
        cmd.args(&self.command[1..])
            .current_dir(repo.join(self.dir))
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }
}

/// Test counts summed from cargo's `test result:` lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
    }
}

/// Parses `test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; ...`.
pub fn parse_test_result(line: &str) -> Option<Counts> {
    let line = strip_ansi(line);
    let rest = line.trim().strip_prefix("test result:")?;
    let mut counts = Counts::default();
    let words: Vec<&str> = rest
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    for pair in words.windows(2) {
        let Ok(n) = pair[0].parse::<u64>() else {
            continue;
        };
        match pair[1] {
            "passed" => counts.passed += n,
            "failed" => counts.failed += n,
            "ignored" => counts.ignored += n,
            _ => {}
        }
    }
    Some(counts)
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ params final-byte
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

enum Outcome {
    Ok,
    Failed(String),
    Timeout(u64),
    Skipped(String),
}

struct Report {
    name: String,
    outcome: Outcome,
    secs: u64,
    counts: Counts,
}

impl Report {
    fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_) | Outcome::Timeout(_))
    }

    /// What this suite adds to the final `failed` count: its failed tests,
    /// and at least 1 if it failed at all (fmt, clippy, a compile error, a
    /// timeout), so a failed run never prints `0 failed`.
    fn failed_count(&self) -> u64 {
        if self.failed() {
            self.counts.failed.max(1)
        } else {
            self.counts.failed
        }
    }

    fn status(&self) -> String {
        match &self.outcome {
            Outcome::Ok => "ok".into(),
            Outcome::Failed(why) => format!("FAILED ({why})"),
            Outcome::Timeout(secs) => format!("TIMEOUT after {secs} s"),
            Outcome::Skipped(why) => format!("skipped ({why})"),
        }
    }
}

/// `cargo xtask test [--skip-setup] [SUITE...]`. Returns whether all passed.
pub fn run(skip_setup: bool, only: &[String]) -> Result<bool> {
    let all = suites();
    for name in only {
        if !all.iter().any(|s| s.name == name) {
            let names: Vec<_> = all.iter().map(|s| s.name).collect();
            bail!("no suite `{name}`; suites: {}", names.join(", "));
        }
    }
    let repo = paths::repo_root();
    let mut reports = Vec::new();

    if !skip_setup {
        let start = Instant::now();
        let result = setup::run(&setup::Ctx::new(false), &[]);
        let outcome = match result {
            Ok(()) => Outcome::Ok,
            Err(err) => Outcome::Failed(format!("{err:#}")),
        };
        reports.push(Report {
            name: "setup".into(),
            outcome,
            secs: start.elapsed().as_secs(),
            counts: Counts::default(),
        });
    }

    if !reports.iter().any(Report::failed) {
        for suite in all
            .iter()
            .filter(|s| only.is_empty() || only.iter().any(|n| n == s.name))
        {
            let report = run_suite(&repo, suite);
            println!(
                "== suite {}: {} ({} s)",
                suite.name,
                report.status(),
                report.secs
            );
            reports.push(report);
        }
    }

    Ok(summarize(&reports))
}

fn summarize(reports: &[Report]) -> bool {
    let mut total = Counts::default();
    let mut failed = 0;
    println!();
    println!("== summary");
    for r in reports {
        let counts = if r.counts == Counts::default() {
            String::new()
        } else {
            format!(
                "  {} passed, {} failed, {} ignored",
                r.counts.passed, r.counts.failed, r.counts.ignored
            )
        };
        println!("  {:<20} {:>6} s  {}{}", r.name, r.secs, r.status(), counts);
        total.add(r.counts);
        failed += r.failed_count();
    }
    println!("tests: {} passed, {} failed", total.passed, failed);
    !reports.iter().any(Report::failed)
}

fn run_suite(repo: &Path, suite: &Suite) -> Report {
    let mut report = Report {
        name: suite.name.into(),
        outcome: Outcome::Ok,
        secs: 0,
        counts: Counts::default(),
    };
    if let Some(why) = suite.skip_reason(repo) {
        report.outcome = Outcome::Skipped(why);
        return report;
    }
    let mut cmd = suite.to_command(repo);
    println!(
        "== suite {}: {} (timeout {} s)",
        suite.name,
        show(&cmd),
        suite.timeout.as_secs()
    );
    std::io::stdout().flush().ok();
    let start = Instant::now();
    match run_with_timeout(&mut cmd, suite.timeout) {
        Ok((Some(status), counts)) => {
            report.counts = counts;
            if !status.success() {
                report.outcome = Outcome::Failed(exit_code(status));
            }
        }
        Ok((None, counts)) => {
            report.counts = counts;
            report.outcome = Outcome::Timeout(start.elapsed().as_secs());
        }
        Err(err) => report.outcome = Outcome::Failed(format!("{err:#}")),
    }
    report.secs = start.elapsed().as_secs();
    report
}

fn exit_code(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

/// Runs `cmd` in its own process group with its stdout and stderr relayed
/// to ours line by line (whole lines, so the two streams never split each
/// other's lines in a merged CI log) and stdout scanned for test counts.
/// Returns `None` as the status if it timed out; the whole group is then
/// killed.
fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Result<(Option<ExitStatus>, Counts)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot run `{}`", show(cmd)))?;
    let pgid = child.id();
    let guard = GroupGuard::spawn(pgid);
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let out_relay = thread::spawn(move || relay(stdout, std::io::stdout(), true));
    let err_relay = thread::spawn(move || relay(stderr, std::io::stderr(), false));

    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(err) => {
                kill_group(pgid);
                let _ = child.wait();
                return Err(err).context("waiting for the suite failed");
            }
        }
        if start.elapsed() >= timeout {
            kill_group(pgid);
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(100));
    };
    // Whatever the suite left running (a server, a browser) goes too; this
    // also closes its copies of the pipes so the relays see EOF.
    kill_group(pgid);
    drop(guard);
    let counts = out_relay.join().unwrap_or_default();
    let _ = err_relay.join();
    Ok((status, counts))
}

/// Copies `src` to `dst` line by line; if `scan`, sums cargo's test counts.
fn relay(src: impl Read, mut dst: impl Write, scan: bool) -> Counts {
    let mut reader = BufReader::new(src);
    let mut counts = Counts::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let _ = dst.write_all(&line);
                let _ = dst.flush();
                if scan && let Some(c) = parse_test_result(&String::from_utf8_lossy(&line)) {
                    counts.add(c);
                }
            }
        }
    }
    counts
}

/// `kill -KILL -<pgid>`: the whole process group.
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A member of the suite's process group that kills the group when xtask
/// dies (Ctrl-C only reaches xtask: the suite is in its own group). It waits
/// for EOF on a pipe whose only writer is xtask; any exit of xtask, even
/// SIGKILL, closes it.
struct GroupGuard {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
}

impl GroupGuard {
    fn spawn(pgid: u32) -> Self {
        let spawned = Command::new("sh")
            .args([
                "-c",
                r#"read _ignored; exec env kill -s KILL -- "-$1""#,
                "xtask-group-guard",
            ])
            .arg(pgid.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(pgid as i32)
            .spawn();
        match spawned {
            Ok(mut child) => GroupGuard {
                stdin: child.stdin.take(),
                child: Some(child),
            },
            Err(err) => {
                eprintln!(
                    "xtask: warning: no process-group guard ({err}); Ctrl-C may leave the suite running"
                );
                GroupGuard {
                    child: None,
                    stdin: None,
                }
            }
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cargo_test_results() {
        let c = parse_test_result(
            "test result: ok. 5 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.01s",
        );
        assert_eq!(
            c,
            Some(Counts {
                passed: 5,
                failed: 0,
                ignored: 2
            })
        );
        let c = parse_test_result(
            "\x1b[31mtest result: \x1b[31mFAILED\x1b[0m. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out",
        );
        assert_eq!(
            c,
            Some(Counts {
                passed: 3,
                failed: 1,
                ignored: 0
            })
        );
        assert_eq!(parse_test_result("running 5 tests"), None);
        assert_eq!(parse_test_result("test foo ... ok"), None);
    }

    #[test]
    fn failed_suite_counts_at_least_one() {
        let r = Report {
            name: "fmt".into(),
            outcome: Outcome::Failed("exit code 1".into()),
            secs: 0,
            counts: Counts::default(),
        };
        assert_eq!(r.failed_count(), 1);
        let r = Report {
            outcome: Outcome::Ok,
            ..r
        };
        assert_eq!(r.failed_count(), 0);
    }

    #[test]
    fn conditional_suite_skips_when_path_absent() {
        let repo = paths::repo_root();
        let s = Suite::cargo("x", &["build"], minutes(1)).only_if_exists("no/such/Cargo.toml");
        assert_eq!(
            s.skip_reason(&repo).as_deref(),
            Some("no/such/Cargo.toml absent")
        );
        let s = Suite::cargo("x", &["build"], minutes(1)).only_if_exists("xtask/Cargo.toml");
        assert_eq!(s.skip_reason(&repo), None);
    }

    #[test]
    fn suite_names_are_unique() {
        let all = suites();
        for (i, s) in all.iter().enumerate() {
            assert!(
                all[..i].iter().all(|t| t.name != s.name),
                "duplicate {}",
                s.name
            );
        }
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let start = Instant::now();
        // The grandchild (sleep) holds stdout open: only a group kill ends it.
        let (status, counts) = run_with_timeout(
            Command::new("sh").args(["-c", "sleep 30 & wait"]),
            Duration::from_millis(500),
        )
        .unwrap();
        assert!(status.is_none());
        assert_eq!(counts, Counts::default());
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn relay_copies_and_counts() {
        let input = b"running 2 tests\ntest result: ok. 2 passed; 0 failed; 1 ignored\nno newline";
        let mut out = Vec::new();
        let counts = relay(&input[..], &mut out, true);
        assert_eq!(out, input);
        assert_eq!((counts.passed, counts.failed, counts.ignored), (2, 0, 1));
        assert_eq!(relay(&input[..], Vec::new(), false), Counts::default());
    }
}
