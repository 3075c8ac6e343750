//! `cargo xtask bench relay`: relay/bench (release) writes
//! `<target>/bench/relay.json` (`get_vs_hello`, `upload_vs_raw`).

use anyhow::Result;

use crate::{paths, program};

/// Runs the relay bench; true when it ran to the end.
pub fn bench() -> Result<bool> {
    let out = paths::target_dir().join("bench");
    program::cargo_in_repo(
        &[
            "run",
            "--release",
            "-p",
            "edgerun-relay-bench",
            "--",
            "--out",
            &out.to_string_lossy(),
        ],
        &[],
    )
}
