//! Where things live. Every command resolves paths through here.
//!
//! - repo root: the parent of this crate's directory (`xtask/`).
//! - tools: `$EDGERUN_TOOLS` if set, else `<repo>/.tools` (`cargo install --root`).
//! - target: `$CARGO_TARGET_DIR` if set, else `<repo>/target`.

use std::env;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the repository root")
        .to_path_buf()
}

/// Root of installed tools: binaries are in `<tools>/bin`.
pub fn tools_dir() -> PathBuf {
    env_dir("EDGERUN_TOOLS").unwrap_or_else(|| repo_root().join(".tools"))
}

/// An installed tool's binary, `<tools>/bin/<name>`.
pub fn tool_bin(name: &str) -> PathBuf {
    tools_dir().join("bin").join(name)
}

/// Cargo's target directory for the host workspace.
pub fn target_dir() -> PathBuf {
    env_dir("CARGO_TARGET_DIR").unwrap_or_else(|| repo_root().join("target"))
}

/// A directory from an environment variable; empty counts as unset, and a
/// relative path is taken relative to the current directory (as cargo does).
fn env_dir(var: &str) -> Option<PathBuf> {
    let value = env::var_os(var).filter(|v| !v.is_empty())?;
    let path = PathBuf::from(value);
    Some(std::path::absolute(&path).unwrap_or(path))
}
