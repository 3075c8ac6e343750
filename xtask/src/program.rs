//! `cargo xtask build-program`: the on-chain program as SBF bytecode.
//!
//! Builds `program/` with the pinned nightly and sbpf-linker (both installed
//! by setup), copies the result to `<target>/deploy/edgerun_program.so`, and
//! checks that it is an SBF ELF.

use anyhow::{Context, Result, ensure};
use std::path::PathBuf;

use crate::{paths, proc, setup};

/// Where the built program lands; tests and the local chain load it from here.
pub fn deployed_so() -> PathBuf {
    paths::target_dir()
        .join("deploy")
        .join("edgerun_program.so")
}

/// The test-only CPI probe (`program/probe`): the tests call edgerun through it.
pub fn deployed_probe() -> PathBuf {
    paths::target_dir()
        .join("deploy")
        .join("edgerun_cpi_probe.so")
}

/// Builds the program (and the test-only probe) and returns the path of
/// the checked `.so`.
pub fn build() -> Result<PathBuf> {
    let linker = paths::tool_bin("sbpf-linker");
    ensure!(
        linker.exists(),
        "sbpf-linker is missing at {}: run `cargo xtask setup`",
        linker.display()
    );
    let program_dir = paths::repo_root().join("program");
    // Its own target dir: another toolchain and another target.
    let target = paths::target_dir().join("program");
    let rustflags = format!(
        "-C linker={} -C panic=abort -C link-arg=--llvm-args=-bpf-stack-size=4096 -C relocation-model=static",
        linker.display()
    );
    let mut cmd = proc::rust_tool("cargo");
    cmd.current_dir(&program_dir)
        .arg(format!("+{}", setup::NIGHTLY))
        .args([
            "build",
            "-Z",
            "build-std=core,alloc",
            "--release",
            "--target",
            "bpfel-unknown-none",
            "--workspace",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_TARGET_BPFEL_UNKNOWN_NONE_RUSTFLAGS", rustflags);
    proc::run(&mut cmd, "the program build (from program/)")?;
    let probe = target.join("bpfel-unknown-none/release/libedgerun_cpi_probe.so");
    let probe_out = deployed_probe();
    std::fs::create_dir_all(probe_out.parent().expect("deploy dir has a parent"))?;
    std::fs::copy(&probe, &probe_out).with_context(|| format!("copying {}", probe.display()))?;
    let built = target.join("bpfel-unknown-none/release/libedgerun_program.so");
    let bytes = std::fs::read(&built).with_context(|| format!("reading {}", built.display()))?;
    let elf = check_sbf_elf(&bytes)?;
    let out = deployed_so();
    std::fs::create_dir_all(out.parent().expect("deploy dir has a parent"))?;
    std::fs::write(&out, &bytes)?;
    println!(
        "build-program: {} ({} bytes, {elf})",
        out.display(),
        bytes.len()
    );
    Ok(out)
}

/// Runs `cargo <args>` in the host workspace with extra environment;
/// returns whether it succeeded.
pub fn cargo_in_repo(args: &[&str], envs: &[(&str, &str)]) -> Result<bool> {
    let mut cmd = proc::rust_tool("cargo");
    cmd.current_dir(paths::repo_root())
        .args(args)
        .env("CARGO_TARGET_DIR", paths::target_dir());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let status = cmd
        .status()
        .with_context(|| format!("running {}", proc::show(&cmd)))?;
    Ok(status.success())
}

/// Checks the ELF header: 64-bit little-endian, a shared object for the BPF
/// or SBF machine. Returns a description.
fn check_sbf_elf(bytes: &[u8]) -> Result<String> {
    ensure!(
        bytes.len() > 64 && bytes[..4] == *b"\x7fELF",
        "not an ELF file"
    );
    ensure!(
        bytes[4] == 2 && bytes[5] == 1,
        "not a 64-bit little-endian ELF"
    );
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
    let e_type = u16_at(16);
    let machine = u16_at(18);
    let flags = u32::from_le_bytes([bytes[48], bytes[49], bytes[50], bytes[51]]);
    ensure!(e_type == 3, "ELF type {e_type} is not a shared object (3)");
    ensure!(
        machine == 247 || machine == 263,
        "ELF machine {machine} is neither BPF (247) nor SBF (263)"
    );
    Ok(format!("SBF ELF, machine {machine}, e_flags {flags:#x}"))
}

#[cfg(test)]
mod tests {
    use super::check_sbf_elf;

    #[test]
    fn rejects_non_sbf_files() {
        assert!(
            check_sbf_elf(b"not an elf at all, certainly not sixty-four bytes long......").is_err()
        );
        let mut header = vec![0u8; 128];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = 2;
        header[5] = 1;
        header[16] = 3;
        header[18] = 62; // x86-64
        assert!(
            check_sbf_elf(&header)
                .unwrap_err()
                .to_string()
                .contains("machine 62")
        );
        header[18] = 247;
        header[48] = 3;
        assert!(check_sbf_elf(&header).unwrap().contains("e_flags 0x3"));
    }
}
