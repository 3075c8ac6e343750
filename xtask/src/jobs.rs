//! `cargo xtask build-jobs`: every job in `jobs/` as a wasm module.
//!
//! Each job crate is a plain library; its wasm is the same crate built as a
//! cdylib for `wasm32-unknown-unknown` with the `guest` profile, copied to
//! `<target>/jobs/<name>.wasm`. Every module is then checked against the
//! parts of Guest ABI v1 (`shared/PROTOCOL.md`) that a build can get wrong:
//! no floating point anywhere (types, globals, locals, instructions — also
//! in functions nothing calls), imports only the three from `edgerun` with
//! their exact signatures, and `_start: () -> ()` and `memory` exported.
//! (The runtime's validator is the authority when a job runs; this check
//! keeps a float from sneaking into a job at build time.)

use anyhow::{Context, Result, bail, ensure};
use std::path::PathBuf;
use wasmparser::{
    CompositeInnerType, ExternalKind, FuncType, Parser, Payload, TypeRef, ValType, Validator,
    WasmFeatures,
};

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
    let status = cmd
        .status()
        .with_context(|| format!("running {}", proc::show(&cmd)))?;
    if !status.success() {
        bail!(
            "building job {} failed ({status}); rerun by hand: {}",
            job.name,
            proc::show(&cmd)
        );
    }
    let wasm = target
        .join("wasm32-unknown-unknown/guest")
        .join(format!("{}.wasm", job.package.replace('-', "_")));
    std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))
}

/// The imports a job may have: module `edgerun`, these names, these types.
const IMPORTS: &[(&str, &[ValType], &[ValType])] = &[
    ("input_len", &[], &[ValType::I32]),
    (
        "read_input",
        &[ValType::I32, ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
    (
        "write_output",
        &[ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
];

/// What [`check`] saw of a module.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Functions defined in the module (imports not counted).
    pub functions: u32,
}

fn is_float(t: &ValType) -> bool {
    matches!(t, ValType::F32 | ValType::F64)
}

/// Checks a job module: valid wasm without the floats proposal, no f32/f64
/// anywhere, ABI imports and exports.
pub fn check(wasm: &[u8]) -> Result<Summary> {
    let features = WasmFeatures::default() - WasmFeatures::FLOATS;
    Validator::new_with_features(features)
        .validate_all(wasm)
        .map_err(|e| anyhow::anyhow!("not valid wasm without floats: {e}"))?;

    let mut types: Vec<Option<FuncType>> = Vec::new();
    let mut summary = Summary::default();
    let (mut start, mut memory) = (false, false);
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group?.into_types() {
                        let func = match sub.composite_type.inner {
                            CompositeInnerType::Func(f) => f,
                            _ => bail!("non-function type {}", types.len()),
                        };
                        ensure!(
                            !func.params().iter().chain(func.results()).any(is_float),
                            "type {} has a float: {func:?}",
                            types.len()
                        );
                        types.push(Some(func));
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import?;
                    let TypeRef::Func(index) = import.ty else {
                        bail!(
                            "import {}.{} is not a function; only functions from `edgerun` may be imported",
                            import.module,
                            import.name
                        );
                    };
                    let allowed = IMPORTS.iter().find(|(name, _, _)| *name == import.name);
                    let (Some((_, params, results)), "edgerun") = (allowed, import.module) else {
                        bail!(
                            "import {}.{} is not part of the guest ABI (only edgerun.input_len, read_input, write_output)",
                            import.module,
                            import.name
                        );
                    };
                    let ty = types
                        .get(index as usize)
                        .and_then(Option::as_ref)
                        .context("import of an unknown type")?;
                    ensure!(
                        ty.params() == *params && ty.results() == *results,
                        "import edgerun.{} has type {ty:?}, the ABI says {params:?} -> {results:?}",
                        import.name
                    );
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global?;
                    ensure!(
                        !is_float(&global.ty.content_type),
                        "a global of type {}",
                        global.ty.content_type
                    );
                }
            }
            Payload::FunctionSection(reader) => summary.functions = reader.count(),
            Payload::CodeSectionEntry(body) => {
                for local in body.get_locals_reader()? {
                    let (_, ty) = local?;
                    ensure!(!is_float(&ty), "a function has a local of type {ty}");
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    match (export.name, export.kind) {
                        ("_start", ExternalKind::Func) => start = true,
                        ("memory", ExternalKind::Memory) => memory = true,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    ensure!(
        start,
        "no exported function `_start` (use edgerun_guest::main!)"
    );
    ensure!(memory, "no exported memory `memory`");
    Ok(summary)
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
            assert!(refusal(&module(body)).contains("float"), "{body}");
        }
    }

    #[test]
    fn refuses_imports_outside_the_abi() {
        let extra = |import: &str| {
            wat::parse_str(format!("(module {IMPORTS} {import} {EXPORTS})")).unwrap()
        };
        assert!(refusal(&extra(r#"(import "env" "abort" (func))"#)).contains("env.abort"));
        assert!(refusal(&extra(r#"(import "edgerun" "clock" (func))"#)).contains("edgerun.clock"));
        assert!(
            refusal(&extra(r#"(import "edgerun" "memory" (memory 1))"#)).contains("not a function")
        );
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
