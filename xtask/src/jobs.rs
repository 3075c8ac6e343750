//! `cargo xtask build-jobs`: every job in `jobs/` as a wasm module.
//!
//! Each job crate is a plain library; its wasm is the same crate built as a
//! cdylib for `wasm32-unknown-unknown` with the `guest` profile, copied to
//! `<target>/jobs/<name>.wasm`. Every module is then checked against the
//! parts of Guest ABI v1 (`shared/PROTOCOL.md`) that a build can get wrong:
//! no floating point anywhere (types, globals, locals, instructions — also
//! in functions nothing calls), imports only the three from `edgerun` with
//! their exact signatures, and `_start: () -> ()` and `memory` exported.
//! The check is the runtime's own validator, the one that decides a job's
//! outcome, so a job that builds here is a job workers will run.

use anyhow::{Context, Result};
use std::path::PathBuf;

use crate::{paths, proc};

/// A job: its name (the wasm's file name) and its cargo package.
pub struct Job {
    pub name: &'static str,
    pub package: &'static str,
}

/// Every job in `jobs/` (`jobs/guest` is the SDK, not a job).
pub const JOBS: &[Job] = &[
    Job {
        name: "json-redact",
        package: "edgerun-job-json-redact",
    },
    Job {
        name: "compress-hash",
        package: "edgerun-job-compress-hash",
    },
    Job {
        name: "cpu-loop",
        package: "edgerun-job-cpu-loop",
    },
];

/// Where a built job lands: `<target>/jobs/<name>.wasm`.
pub fn job_wasm(name: &str) -> PathBuf {
    paths::target_dir()
        .join("jobs")
        .join(format!("{name}.wasm"))
}

/// Builds and checks every job; returns the paths of the checked modules.
pub fn build() -> Result<Vec<PathBuf>> {
    let mut built = Vec::new();
    for job in JOBS {
        let bytes = build_one(job)?;
        let summary = check(&bytes).with_context(|| format!("{} breaks Guest ABI v1", job.name))?;
        let out = job_wasm(job.name);
        std::fs::create_dir_all(out.parent().expect("jobs dir has a parent"))?;
        std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
        println!(
            "build-jobs: {} ({} bytes, {} functions, no floats)",
            out.display(),
            bytes.len(),
            summary.functions
        );
        built.push(out);
    }
    Ok(built)
}

/// `cargo rustc -p <package> --target wasm32-unknown-unknown --profile guest
/// --crate-type cdylib`; returns the wasm's bytes.
fn build_one(job: &Job) -> Result<Vec<u8>> {
    let target = paths::target_dir();
    let mut cmd = proc::rust_tool("cargo");
    cmd.current_dir(paths::repo_root())
        .args([
            "rustc",
            "-p",
            job.package,
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "guest",
            "--crate-type",
            "cdylib",
        ])
        .env("CARGO_TARGET_DIR", &target);
    proc::run(&mut cmd, &format!("building job {}", job.name))?;
    let wasm = target
        .join("wasm32-unknown-unknown/guest")
        .join(format!("{}.wasm", job.package.replace('-', "_")));
    std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))
}

/// What [`check`] saw of a module.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Functions defined in the module (imports not counted).
    pub functions: u32,
}

/// Checks a job module with the runtime's own validator (Guest ABI v1: no
/// floats anywhere, only the `edgerun` imports, `_start` and `memory`).
/// The memory cap is left open here; a bundle sets it.
pub fn check(wasm: &[u8]) -> Result<Summary> {
    let checked = edgerun_runtime::validate(wasm, u32::MAX).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Summary {
        functions: checked.frame_slots.len() as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::check;

    const IMPORTS: &str = r#"
        (import "edgerun" "input_len" (func (result i32)))
        (import "edgerun" "read_input" (func (param i32 i32 i32) (result i32)))
        (import "edgerun" "write_output" (func (param i32 i32) (result i32)))
    "#;
    const EXPORTS: &str = r#"
        (memory (export "memory") 1)
        (func (export "_start"))
    "#;

    fn module(body: &str) -> Vec<u8> {
        wat::parse_str(format!("(module {IMPORTS} {EXPORTS} {body})")).expect("valid wat")
    }

    fn refusal(wasm: &[u8]) -> String {
        format!("{:#}", check(wasm).expect_err("module should be refused"))
    }

    #[test]
    fn accepts_a_module_within_the_abi() {
        let wasm = module("(func (param i64) (result i64) local.get 0 i64.const 1 i64.add)");
        assert_eq!(check(&wasm).unwrap().functions, 2);
    }

    #[test]
    fn refuses_floats_even_in_uncalled_functions() {
        for body in [
            "(func (result f32) f32.const 1)",
            "(func (param f64))",
            "(func (local f64))",
            "(global f32 (f32.const 0))",
            "(func (param i32) (result i32) local.get 0 f32.convert_i32_s i32.trunc_sat_f32_s)",
        ] {
            assert!(refusal(&module(body)).contains("invalid module"), "{body}");
        }
    }

    #[test]
    fn refuses_imports_outside_the_abi() {
        let extra = |import: &str| {
            wat::parse_str(format!("(module {IMPORTS} {import} {EXPORTS})")).unwrap()
        };
        assert!(refusal(&extra(r#"(import "env" "abort" (func))"#)).contains("env::abort"));
        assert!(refusal(&extra(r#"(import "edgerun" "clock" (func))"#)).contains("edgerun::clock"));
        assert!(refusal(&extra(r#"(import "edgerun" "memory" (memory 1))"#)).contains("memor"));
        let wrong_type = wat::parse_str(format!(
            r#"(module (import "edgerun" "input_len" (func (result i64))) {EXPORTS})"#
        ))
        .unwrap();
        assert!(refusal(&wrong_type).contains("input_len"));
    }

    #[test]
    fn requires_start_and_memory_exports() {
        let no_start = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
        assert!(refusal(&no_start).contains("_start"));
        let no_memory = wat::parse_str(r#"(module (memory 1) (func (export "_start")))"#).unwrap();
        assert!(refusal(&no_memory).contains("memory"));
    }
}
