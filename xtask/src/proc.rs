//! Child-process helpers shared by `setup` and `test`.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::paths;

/// A command for a rustup-managed tool (`cargo`, `rustup`, `rustc`, ...).
///
/// `cargo run` starts xtask with the toolchain it picked baked into the
/// environment (`RUSTUP_TOOLCHAIN`, `CARGO`, the toolchain's lib dir in
/// `LD_LIBRARY_PATH`, ...). Children must choose their toolchain themselves
/// (`+toolchain` or the `rust-toolchain.toml` of their directory), so that
/// leakage is removed here, and the rustup proxy is called rather than
/// whatever toolchain binary happens to come first in `PATH`.
pub fn rust_tool(name: &str) -> Command {
    let mut cmd = Command::new(rustup_proxy(name));
    clean_rust_env(&mut cmd);
    cmd
}

/// Removes the toolchain selection that `cargo run` leaks to its child.
pub fn clean_rust_env(cmd: &mut Command) {
    for var in [
        "RUSTUP_TOOLCHAIN",
        "RUSTUP_TOOLCHAIN_SOURCE",
        "RUST_RECURSION_COUNT",
        "RUSTC",
        "RUSTDOC",
        "CARGO",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    for (key, _) in env::vars_os() {
        if key.to_string_lossy().starts_with("CARGO_PKG_") {
            cmd.env_remove(key);
        }
    }
    if let Some(ld) = env::var_os("LD_LIBRARY_PATH") {
        // Drop the entries cargo added: our target dir and the toolchain's lib.
        let toolchains = rustup_home().join("toolchains");
        let target = paths::target_dir();
        let kept: Vec<PathBuf> = env::split_paths(&ld)
            .filter(|p| !p.starts_with(&toolchains) && !p.starts_with(&target))
            .collect();
        if kept.is_empty() {
            cmd.env_remove("LD_LIBRARY_PATH");
        } else if let Ok(joined) = env::join_paths(kept) {
            cmd.env("LD_LIBRARY_PATH", joined);
        }
    }
}

fn rustup_home() -> PathBuf {
    env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| Path::new(&h).join(".rustup")))
        .unwrap_or_default()
}

/// The rustup proxy for `name`: it sits next to `rustup` itself.
fn rustup_proxy(name: &str) -> OsString {
    if let Some(rustup) = which("rustup") {
        let proxy = rustup.with_file_name(name);
        if proxy.is_file() {
            return proxy.into_os_string();
        }
    }
    name.into()
}

/// The first executable called `name` in `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A command as a shell would show it (program file name, then arguments).
pub fn show(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program());
    let mut out = program
        .file_name()
        .unwrap_or(program.as_os_str())
        .to_string_lossy()
        .into_owned();
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        out.push(' ');
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'') {
            out.push_str(&format!("'{}'", arg.replace('\'', r"'\''")));
        } else {
            out.push_str(&arg);
        }
    }
    out
}

/// Runs `cmd` with inherited output; fails if it cannot start or exits
/// non-zero, saying what failed and the command to rerun by hand.
pub fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("running {}", show(cmd)))?;
    if !status.success() {
        bail!("{what} failed ({status}); rerun by hand: {}", show(cmd));
    }
    Ok(())
}

/// Runs `cmd` to completion and returns its stdout; fails (with its stderr)
/// if it cannot start or exits non-zero.
pub fn stdout_of(cmd: &mut Command) -> Result<String> {
    let shown = show(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{shown}`"))?;
    if !out.status.success() {
        bail!(
            "`{shown}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Like [`stdout_of`], but `None` instead of an error (for presence checks).
pub fn try_stdout_of(cmd: &mut Command) -> Option<String> {
    stdout_of(cmd).ok()
}
