//! `cargo xtask setup`: idempotent installation of every pinned tool.
//!
//! [`steps`] is one ordered list. Each step checks whether the right version
//! is already there and installs only when it is not; after an install the
//! check runs again, so a step is done only when its check says so.
//! To add a tool, append a [`Step`] to [`steps`].

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::paths;
use crate::proc::{rust_tool, show, stdout_of, try_stdout_of, which};

/// The host toolchain; must equal `channel` in `rust-toolchain.toml`.
pub const STABLE: &str = "1.99.0";
/// The nightly that builds sbpf-linker and the on-chain program.
pub const NIGHTLY: &str = "nightly-2026-08-10";
pub const SBPF_LINKER: &str = "0.2.6";
/// The BLAKE3 command line docs/api.md's curl examples verify outputs with.
pub const B3SUM: &str = "1.8.7";
pub const WASM_BINDGEN: &str = "0.2.130";
/// binaryen's major version (wasm-opt prints `version 132`).
pub const BINARYEN: &str = "132";
/// Installed on first use by `cargo xtask fuzz`, not by setup (CI does not fuzz).
pub const CARGO_FUZZ: &str = "0.13.2";

/// What steps see: where things go and how verbose to be.
pub struct Ctx {
    pub repo: PathBuf,
    pub tools: PathBuf,
    /// Stream install output to stderr instead of only to the step's log.
    pub verbose: bool,
}

impl Ctx {
    pub fn new(verbose: bool) -> Self {
        Ctx {
            repo: paths::repo_root(),
            tools: paths::tools_dir(),
            verbose,
        }
    }
}

/// One installation step.
pub struct Step {
    pub name: &'static str,
    /// The pinned version, printed as `present (<version>)`.
    pub version: &'static str,
    /// Ok(true) when the right version is already installed.
    pub check: fn(&Ctx) -> Result<bool>,
    /// Installs what is missing. Runs commands through the [`Log`].
    pub install: fn(&Ctx, &Log) -> Result<()>,
    /// The command(s) to run by hand when `install` fails.
    pub by_hand: fn(&Ctx) -> String,
}

/// Every step, in order. Append new tools here.
pub fn steps() -> Vec<Step> {
    vec![
        Step {
            name: "rust",
            version: "1.99.0 + wasm32-unknown-unknown, rustfmt, clippy",
            check: |_| toolchain_complete(STABLE, STABLE_TARGETS, STABLE_COMPONENTS),
            install: |_, log| install_toolchain(log, STABLE, STABLE_TARGETS, STABLE_COMPONENTS),
            by_hand: |_| toolchain_by_hand(STABLE, STABLE_TARGETS, STABLE_COMPONENTS),
        },
        Step {
            name: "rust-nightly",
            version: "nightly-2026-08-10 + rust-src",
            check: |_| toolchain_complete(NIGHTLY, &[], NIGHTLY_COMPONENTS),
            install: |_, log| install_toolchain(log, NIGHTLY, &[], NIGHTLY_COMPONENTS),
            by_hand: |_| toolchain_by_hand(NIGHTLY, &[], NIGHTLY_COMPONENTS),
        },
        Step {
            name: "sbpf-linker",
            version: "0.2.6, built by nightly-2026-08-10",
            check: sbpf_linker_present,
            install: |ctx, log| log.run(&mut sbpf_linker_install(ctx)),
            by_hand: |ctx| show(&sbpf_linker_install(ctx)),
        },
        Step {
            name: "wasm-bindgen-cli",
            version: "0.2.130",
            check: wasm_bindgen_present,
            install: install_wasm_bindgen,
            by_hand: |ctx| {
                format!(
                    "{}   (or, if that fails, without --locked)",
                    show(&wasm_bindgen_install(ctx, true))
                )
            },
        },
        Step {
            name: "npm",
            version: "package-lock.json: binaryen 132.0.0",
            check: npm_present,
            install: install_npm,
            by_hand: |ctx| format!("cd {} && npm ci --no-audit --no-fund", ctx.repo.display()),
        },
        Step {
            name: "b3sum",
            version: "1.8.7 (docs/api.md's examples verify outputs with it)",
            check: |_| {
                let out = try_stdout_of(Command::new(paths::tool_bin("b3sum")).arg("--version"));
                Ok(out.is_some_and(|o| o.trim() == format!("b3sum {B3SUM}")))
            },
            install: |ctx, log| log.run(&mut b3sum_install(ctx)),
            by_hand: |ctx| show(&b3sum_install(ctx)),
        },
        Step {
            name: "sdk-npm",
            version: "sdk/package-lock.json: @solana/kit 8.4.0, typescript",
            check: |ctx| npm_dir_present(&ctx.repo.join("sdk")),
            install: |ctx, log| install_npm_dir(&ctx.repo.join("sdk"), log),
            by_hand: |ctx| {
                format!(
                    "cd {} && npm ci --no-audit --no-fund",
                    ctx.repo.join("sdk").display()
                )
            },
        },
        Step {
            name: "browsers",
            version: "Debian chromium + firefox-esr",
            check: |_| Ok(browsers_present()),
            install: install_browsers,
            by_hand: |_| {
                "apt-get update && apt-get install -y --no-install-recommends chromium firefox-esr   (as root)"
                    .into()
            },
        },
    ]
}

/// The browsers the worker-web tests drive (Debian's, not downloads):
/// `EDGERUN_CHROMIUM` / `EDGERUN_FIREFOX` name others.
pub fn browser_paths() -> (PathBuf, PathBuf) {
    let pick = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(default))
    };
    (
        pick("EDGERUN_CHROMIUM", "/usr/bin/chromium"),
        pick("EDGERUN_FIREFOX", "/usr/bin/firefox-esr"),
    )
}

/// Errors unless both browsers answer `--version` (the browser suites
/// need them; `cargo xtask setup browsers` installs them).
/// An installed tool of `<tools>/bin`, or what to run to get it.
pub fn require_tool(name: &str) -> Result<()> {
    if paths::tool_bin(name).is_file() {
        Ok(())
    } else {
        Err(anyhow!(
            "{} is missing: run `cargo xtask setup {name}`",
            paths::tool_bin(name).display()
        ))
    }
}

pub fn require_browsers() -> Result<()> {
    if browsers_present() {
        return Ok(());
    }
    let (chromium, firefox) = browser_paths();
    bail!(
        "{} or {} does not run: `cargo xtask setup browsers` installs Debian's chromium and firefox-esr \
         (or set EDGERUN_CHROMIUM / EDGERUN_FIREFOX)",
        chromium.display(),
        firefox.display()
    )
}

fn browsers_present() -> bool {
    let (chromium, firefox) = browser_paths();
    [chromium, firefox]
        .iter()
        .all(|b| try_stdout_of(Command::new(b).arg("--version")).is_some())
}

fn install_browsers(_: &Ctx, log: &Log) -> Result<()> {
    let root = try_stdout_of(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    if !root {
        bail!(
            "chromium and firefox-esr are missing and installing them needs root: \
             sudo apt-get update && sudo apt-get install -y chromium firefox-esr \
             (or point EDGERUN_CHROMIUM / EDGERUN_FIREFOX at installed ones)"
        );
    }
    log.run(Command::new("apt-get").arg("update"))?;
    log.run(
        Command::new("apt-get")
            .args([
                "install",
                "-y",
                "--no-install-recommends",
                "chromium",
                "firefox-esr",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    if !browsers_present() {
        bail!(
            "apt-get installed chromium and firefox-esr, but they do not run (`chromium --version`)"
        );
    }
    Ok(())
}

/// cargo-fuzz, for `cargo xtask fuzz` only: deliberately not in [`steps`],
/// so `cargo xtask setup` and `cargo xtask test` never build it.
pub fn cargo_fuzz_step() -> Step {
    Step {
        name: "cargo-fuzz",
        version: "0.13.2, built by nightly-2026-08-10",
        check: |_| {
            let out = try_stdout_of(Command::new(paths::tool_bin("cargo-fuzz")).arg("--version"));
            Ok(out.is_some_and(|v| v.trim() == format!("cargo-fuzz {CARGO_FUZZ}")))
        },
        install: |ctx, log| log.run(&mut cargo_fuzz_install(ctx)),
        by_hand: |ctx| show(&cargo_fuzz_install(ctx)),
    }
}

fn cargo_fuzz_install(ctx: &Ctx) -> Command {
    let mut cmd = cargo_install(ctx, NIGHTLY);
    cmd.arg(format!("cargo-fuzz@{CARGO_FUZZ}"))
        .args(["--locked", "--force", "--root"])
        .arg(&ctx.tools);
    cmd
}

/// Runs every step (or only those named in `only`).
pub fn run(ctx: &Ctx, only: &[String]) -> Result<()> {
    let all = steps();
    for name in only {
        if !all.iter().any(|s| s.name == name) {
            let names: Vec<_> = all.iter().map(|s| s.name).collect();
            bail!("no setup step `{name}`; steps: {}", names.join(", "));
        }
    }
    let start = Instant::now();
    for step in all
        .iter()
        .filter(|s| only.is_empty() || only.iter().any(|n| n == s.name))
    {
        run_step(ctx, step)?;
    }
    println!("setup: done in {} s", start.elapsed().as_secs());
    Ok(())
}

pub fn run_step(ctx: &Ctx, step: &Step) -> Result<()> {
    let name = step.name;
    let fail = |err: anyhow::Error, log: Option<&Log>| {
        eprintln!("setup: {name}: FAILED: {err:#}");
        if let Some(log) = log {
            eprintln!("setup: {name}: last lines of {}:", log.path.display());
            for line in log.tail(30) {
                eprintln!("    {line}");
            }
        }
        eprintln!("setup: {name}: to do it by hand: {}", (step.by_hand)(ctx));
        anyhow!("setup step `{name}` failed")
    };

    match (step.check)(ctx) {
        Ok(true) => {
            println!("setup: {name}: present ({})", step.version);
            return Ok(());
        }
        Ok(false) => {}
        Err(err) => return Err(fail(err.context("checking failed"), None)),
    }

    let start = Instant::now();
    let log = Log::create(ctx, name).map_err(|e| fail(e, None))?;
    println!(
        "setup: {name}: installing {} … (log: {})",
        step.version,
        log.path.display()
    );
    std::io::stdout().flush().ok();
    if let Err(err) = (step.install)(ctx, &log) {
        return Err(fail(err, Some(&log)));
    }
    match (step.check)(ctx) {
        Ok(true) => {
            println!(
                "setup: {name}: installed in {} s",
                start.elapsed().as_secs()
            );
            Ok(())
        }
        Ok(false) => Err(fail(
            anyhow!("the install finished but the check still fails"),
            Some(&log),
        )),
        Err(err) => Err(fail(
            err.context("checking after the install failed"),
            Some(&log),
        )),
    }
}

/// A step's install log: `<tools>/logs/<step>.log`.
pub struct Log {
    pub path: PathBuf,
    step: &'static str,
    verbose: bool,
}

/// How often a quiet install says it is still going.
const HEARTBEAT: Duration = Duration::from_secs(30);

impl Log {
    fn create(ctx: &Ctx, step: &'static str) -> Result<Self> {
        let dir = ctx.tools.join("logs");
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(format!("{step}.log"));
        File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Log {
            path,
            step,
            verbose: ctx.verbose,
        })
    }

    /// Appends a line to the log.
    pub fn note(&self, line: &str) {
        if let Ok(mut f) = File::options().append(true).open(&self.path) {
            let _ = writeln!(f, "{line}");
        }
        if self.verbose {
            eprintln!("{line}");
        }
    }

    /// Runs `cmd` with its output going to the log (and to stderr when
    /// verbose); fails if it exits non-zero. While it runs quietly, a line
    /// every [`HEARTBEAT`] says how long it has taken and what it is doing
    /// (the log's last line), so a long build never looks like a hang.
    pub fn run(&self, cmd: &mut Command) -> Result<()> {
        let shown = show(cmd);
        self.note(&format!("$ {shown}"));
        let (out, err) = if self.verbose {
            let fd = std::io::stderr().as_fd().try_clone_to_owned()?;
            (Stdio::from(fd.try_clone()?), Stdio::from(fd))
        } else {
            let f = File::options().append(true).open(&self.path)?;
            (Stdio::from(f.try_clone()?), Stdio::from(f))
        };
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("cannot run `{shown}`"))?;
        let start = Instant::now();
        let mut next = HEARTBEAT;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if !self.verbose && start.elapsed() >= next {
                next += HEARTBEAT;
                let last = self.tail(1).pop().unwrap_or_default();
                println!(
                    "setup: {}: still going after {} s: {}",
                    self.step,
                    start.elapsed().as_secs(),
                    last.trim()
                );
                std::io::stdout().flush().ok();
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        if !status.success() {
            bail!("`{shown}` failed ({status})");
        }
        Ok(())
    }

    /// The last `n` lines of the log.
    fn tail(&self, n: usize) -> Vec<String> {
        let mut text = String::new();
        if let Ok(mut f) = File::open(&self.path) {
            // Only the end matters; cargo logs can be long.
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
            let mut bytes = Vec::new();
            let _ = f.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines[lines.len().saturating_sub(n)..].to_vec()
    }
}

// --- rustup toolchains -----------------------------------------------------

const STABLE_TARGETS: &[&str] = &["wasm32-unknown-unknown"];
const STABLE_COMPONENTS: &[&str] = &["rustfmt", "clippy"];
const NIGHTLY_COMPONENTS: &[&str] = &["rust-src"];

fn rustup() -> Command {
    rust_tool("rustup")
}

fn toolchain_installed(toolchain: &str) -> Result<bool> {
    let list = stdout_of(rustup().args(["toolchain", "list"]))
        .context("rustup is needed: install it from https://rustup.rs")?;
    Ok(list.lines().any(|line| {
        let name = line.split_whitespace().next().unwrap_or("");
        name == toolchain || name.starts_with(&format!("{toolchain}-"))
    }))
}

/// The entries of `wanted` not in the output of `rustup +<tc> <what> list
/// --installed` (lines look like `clippy-x86_64-unknown-linux-gnu`).
fn missing<'a>(toolchain: &str, what: &str, wanted: &[&'a str]) -> Result<Vec<&'a str>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let list = stdout_of(rustup().args([&format!("+{toolchain}"), what, "list", "--installed"]))?;
    Ok(wanted
        .iter()
        .copied()
        .filter(|w| {
            !list
                .lines()
                .map(str::trim)
                .any(|l| l == *w || l.starts_with(&format!("{w}-")))
        })
        .collect())
}

fn toolchain_complete(toolchain: &str, targets: &[&str], components: &[&str]) -> Result<bool> {
    Ok(toolchain_installed(toolchain)?
        && missing(toolchain, "target", targets)?.is_empty()
        && missing(toolchain, "component", components)?.is_empty())
}

fn toolchain_install_cmd(toolchain: &str, targets: &[&str], components: &[&str]) -> Command {
    let mut cmd = rustup();
    cmd.args(["toolchain", "install", toolchain, "--profile", "minimal"]);
    for t in targets {
        cmd.args(["--target", t]);
    }
    for c in components {
        cmd.args(["--component", c]);
    }
    cmd
}

fn toolchain_by_hand(toolchain: &str, targets: &[&str], components: &[&str]) -> String {
    show(&toolchain_install_cmd(toolchain, targets, components))
}

/// Installs the toolchain if it is missing, else only the missing targets
/// and components.
fn install_toolchain(
    log: &Log,
    toolchain: &str,
    targets: &[&str],
    components: &[&str],
) -> Result<()> {
    if !toolchain_installed(toolchain)? {
        return log.run(&mut toolchain_install_cmd(toolchain, targets, components));
    }
    let targets = missing(toolchain, "target", targets)?;
    if !targets.is_empty() {
        log.run(
            rustup()
                .args(["target", "add", "--toolchain", toolchain])
                .args(&targets),
        )?;
    }
    let components = missing(toolchain, "component", components)?;
    if !components.is_empty() {
        log.run(
            rustup()
                .args(["component", "add", "--toolchain", toolchain])
                .args(&components),
        )?;
    }
    Ok(())
}

// --- cargo install'ed tools --------------------------------------------------

/// `cargo +<toolchain> install ... --root <tools>`, with a clean environment:
/// the toolchain is named explicitly and no leaked `RUSTUP_TOOLCHAIN` can
/// override it; the build goes to a temporary target dir, not our shared one.
fn cargo_install(ctx: &Ctx, toolchain: &str) -> Command {
    let mut cmd = rust_tool("cargo");
    cmd.env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .current_dir(&ctx.repo)
        .arg(format!("+{toolchain}"))
        .arg("install");
    cmd
}

fn sbpf_linker_install(ctx: &Ctx) -> Command {
    let mut cmd = cargo_install(ctx, NIGHTLY);
    // --force: the check failed, so whatever is installed is not what we want.
    cmd.arg(format!("sbpf-linker@{SBPF_LINKER}"))
        .args(["--locked", "--force", "--root"])
        .arg(&ctx.tools);
    cmd
}

fn b3sum_install(ctx: &Ctx) -> Command {
    let mut cmd = cargo_install(ctx, STABLE);
    cmd.arg(format!("b3sum@{B3SUM}"))
        .args(["--locked", "--force", "--root"])
        .arg(&ctx.tools);
    cmd
}

/// sbpf-linker loads the nightly's libLLVM at run time, so it must have been
/// built by exactly that nightly: cargo records the `rustc -vV` of the build
/// in `.crates2.json`, and its first line must be the nightly's `--version`.
fn sbpf_linker_present(ctx: &Ctx) -> Result<bool> {
    if !paths::tool_bin("sbpf-linker").is_file() {
        return Ok(false);
    }
    let Some(rustc) = installed_rustc(&ctx.tools, "sbpf-linker", SBPF_LINKER)? else {
        return Ok(false);
    };
    if !toolchain_installed(NIGHTLY)? {
        return Ok(false);
    }
    let nightly = stdout_of(
        rust_tool("rustc")
            .arg(format!("+{NIGHTLY}"))
            .arg("--version"),
    )?;
    Ok(rustc.lines().next().map(str::trim) == Some(nightly.trim()))
}

/// The `rustc -vV` recorded for `<krate> <version>` in `<tools>/.crates2.json`
/// (`Some("")` if it has none), or `None` if that version is not installed.
fn installed_rustc(tools: &Path, krate: &str, version: &str) -> Result<Option<String>> {
    let path = tools.join(".crates2.json");
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))?;
    let prefix = format!("{krate} {version} ");
    Ok(json
        .get("installs")
        .and_then(|i| i.as_object())
        .and_then(|installs| installs.iter().find(|(key, _)| key.starts_with(&prefix)))
        .map(|(_, info)| {
            info.get("rustc")
                .and_then(|r| r.as_str())
                .unwrap_or("")
                .to_owned()
        }))
}

fn wasm_bindgen_install(ctx: &Ctx, locked: bool) -> Command {
    let mut cmd = cargo_install(ctx, STABLE);
    cmd.args([
        "wasm-bindgen-cli",
        "--version",
        WASM_BINDGEN,
        "--force",
        "--root",
    ])
    .arg(&ctx.tools);
    if locked {
        cmd.arg("--locked");
    }
    cmd
}

/// `--locked` fails for 0.2.130 (its lock file misses webpki-roots), so fall
/// back to a fresh resolve.
fn install_wasm_bindgen(ctx: &Ctx, log: &Log) -> Result<()> {
    if let Err(err) = log.run(&mut wasm_bindgen_install(ctx, true)) {
        log.note(&format!("{err:#}; retrying without --locked"));
        log.run(&mut wasm_bindgen_install(ctx, false))?;
    }
    Ok(())
}

fn wasm_bindgen_present(_: &Ctx) -> Result<bool> {
    let out = try_stdout_of(Command::new(paths::tool_bin("wasm-bindgen")).arg("--version"));
    Ok(out.is_some_and(|o| {
        let mut words = o.split_whitespace();
        words.next() == Some("wasm-bindgen") && words.next() == Some(WASM_BINDGEN)
    }))
}

// --- npm ---------------------------------------------------------------------

const STAMP: &str = "node_modules/.edgerun-lock-stamp";

/// What the stamp holds: a hash of package-lock.json as `npm ci` installed it.
/// The SDK's own node_modules (`sdk/package-lock.json`), installed as
/// `npm ci` left it.
fn npm_dir_present(dir: &Path) -> Result<bool> {
    npm()?;
    let stamp = fs::read_to_string(dir.join(STAMP)).unwrap_or_default();
    Ok(stamp == lock_stamp(dir)? && dir.join("node_modules/.bin/tsc").exists())
}

fn install_npm_dir(dir: &Path, log: &Log) -> Result<()> {
    log.run(
        npm()?
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir),
    )?;
    let stamp = dir.join(STAMP);
    fs::write(&stamp, lock_stamp(dir)?).with_context(|| format!("cannot write {}", stamp.display()))
}

fn lock_stamp(repo: &Path) -> Result<String> {
    let path = repo.join("package-lock.json");
    let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(format!(
        "package-lock.json fnv1a64={:016x} len={}\n",
        fnv1a64(&bytes),
        bytes.len()
    ))
}

/// FNV-1a, 64 bit: stable across Rust versions, unlike `DefaultHasher`.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn npm() -> Result<Command> {
    let npm = which("npm").ok_or_else(|| {
        anyhow!("npm is not in PATH: install Node.js 20 and npm (apt-get install nodejs npm)")
    })?;
    Ok(Command::new(npm))
}

fn npm_present(ctx: &Ctx) -> Result<bool> {
    npm()?;
    let stamp = fs::read_to_string(ctx.repo.join(STAMP)).unwrap_or_default();
    if stamp != lock_stamp(&ctx.repo)? {
        return Ok(false);
    }
    let out =
        try_stdout_of(Command::new(ctx.repo.join("node_modules/.bin/wasm-opt")).arg("--version"));
    Ok(out.is_some_and(|o| {
        // "wasm-opt version 132 (version_132)"
        let mut words = o.split_whitespace().skip_while(|w| *w != "version");
        words.next().is_some() && words.next() == Some(BINARYEN)
    }))
}

fn install_npm(ctx: &Ctx, log: &Log) -> Result<()> {
    log.run(
        npm()?
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&ctx.repo),
    )?;
    let stamp = ctx.repo.join(STAMP);
    fs::write(&stamp, lock_stamp(&ctx.repo)?)
        .with_context(|| format!("cannot write {}", stamp.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_matches_rust_toolchain_toml() {
        let text = fs::read_to_string(paths::repo_root().join("rust-toolchain.toml")).unwrap();
        assert!(
            text.lines()
                .any(|l| l.trim() == format!("channel = \"{STABLE}\"")),
            "rust-toolchain.toml's channel must be {STABLE}"
        );
    }

    #[test]
    fn package_json_pins_binaryen() {
        let text = fs::read_to_string(paths::repo_root().join("package.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let version = json["devDependencies"]["binaryen"].as_str().unwrap();
        assert_eq!(version.split('.').next(), Some(BINARYEN));
        assert!(
            version.chars().all(|c| c.is_ascii_digit() || c == '.'),
            "pin exactly"
        );
    }

    #[test]
    fn installed_rustc_reads_crates2_json() {
        let dir = std::env::temp_dir().join(format!("xtask-crates2-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        assert_eq!(installed_rustc(&dir, "sbpf-linker", "0.2.6").unwrap(), None);
        fs::write(
            dir.join(".crates2.json"),
            r#"{"installs":{"sbpf-linker 0.2.6 (registry+https://github.com/rust-lang/crates.io-index)":
                {"bins":["sbpf-linker"],"rustc":"rustc 1.98.0-nightly (abc 2026-08-09)\nbinary: rustc\n"}}}"#,
        )
        .unwrap();
        let rustc = installed_rustc(&dir, "sbpf-linker", "0.2.6")
            .unwrap()
            .unwrap();
        assert!(rustc.starts_with("rustc 1.98.0-nightly"));
        assert_eq!(installed_rustc(&dir, "sbpf-linker", "0.2.5").unwrap(), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fnv1a64_known_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
