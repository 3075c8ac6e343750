//! `edgerun-vectors`: build and check the conformance vectors in
//! tests/vectors/.
//!
//! ```text
//! edgerun-vectors write --jobs <dir of built job .wasm> tests/vectors
//! edgerun-vectors check tests/vectors
//! ```
//! `write` builds every bundle listed in `src/spec.json` (WAT guests, raw
//! files, built demo jobs), runs it natively and records the outcome in
//! `vectors.json`. `check` re-runs every bundle natively and compares.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use edgerun_protocol::bundle::Bundle;
use edgerun_protocol::limits::Limits;
use edgerun_runtime::hex;
use serde_json::{Value, json};

#[derive(Parser)]
#[command(
    name = "edgerun-vectors",
    about = "Build or check edgerun's conformance vectors"
)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Rebuild the bundles and vectors.json from src/spec.json.
    Write {
        /// Directory holding the built demo jobs (`<name>.wasm`).
        #[arg(long)]
        jobs: PathBuf,
        dir: PathBuf,
    },
    /// Run every vector natively and compare with vectors.json.
    Check { dir: PathBuf },
}

fn source(dir: &Path, jobs: &Path, spec: &str, what: &str) -> Result<Vec<u8>, String> {
    let read = |p: PathBuf| std::fs::read(&p).map_err(|e| format!("{what} {}: {e}", p.display()));
    if let Some(name) = spec.strip_prefix("job:") {
        read(jobs.join(format!("{name}.wasm")))
    } else if let Some(text) = spec.strip_prefix("text:") {
        Ok(text.as_bytes().to_vec())
    } else if let Some(n) = spec.strip_prefix("gen:lines:") {
        Ok(edgerun_runtime::sample_log_lines(
            n.parse().map_err(|e| format!("{spec}: {e}"))?,
        ))
    } else if let Some(file) = spec.strip_prefix("file:") {
        read(dir.join("src").join(file))
    } else if spec.ends_with(".wat") {
        let text =
            String::from_utf8(read(dir.join("src").join(spec))?).map_err(|e| e.to_string())?;
        wat::parse_str(&text).map_err(|e| format!("{spec}: {e}"))
    } else {
        read(dir.join("src").join(spec))
    }
}

fn outcome_json(bytes: &[u8]) -> Result<Value, String> {
    let outcome = edgerun_runtime::run_bundle(bytes).map_err(|e| e.to_string())?;
    serde_json::from_str(&outcome.summary_json()).map_err(|e| e.to_string())
}

fn write(jobs: &Path, dir: &Path) -> Result<(), String> {
    let spec: Value = serde_json::from_slice(
        &std::fs::read(dir.join("src/spec.json")).map_err(|e| format!("src/spec.json: {e}"))?,
    )
    .map_err(|e| format!("src/spec.json: {e}"))?;
    let defaults = &spec["defaults"];
    let limit = |v: &Value, key: &str| v.get(key).or(defaults.get(key)).and_then(Value::as_u64);
    let mut vectors = Vec::new();
    for v in spec["vectors"].as_array().ok_or("spec has no vectors")? {
        let name = v["name"].as_str().ok_or("vector without a name")?;
        let wasm = source(dir, jobs, v["wasm"].as_str().ok_or("no wasm")?, "wasm")?;
        let input = source(dir, jobs, v["input"].as_str().ok_or("no input")?, "input")?;
        let limits = Limits::new(
            limit(v, "max_memory_bytes").ok_or("max_memory_bytes")? as u32,
            limit(v, "max_instructions").ok_or("max_instructions")?,
            limit(v, "max_output_bytes").ok_or("max_output_bytes")? as u32,
        );
        let bytes = Bundle {
            runtime_id: edgerun_runtime::runtime_id(),
            limits,
            wasm: &wasm,
            input: &input,
        }
        .encode()
        .map_err(|e| e.to_string())?;
        let file = format!("{name}.bundle");
        std::fs::write(dir.join(&file), &bytes).map_err(|e| format!("{file}: {e}"))?;
        let mut entry = json!({
            "name": name,
            "about": v["about"],
            "bundle": file,
            "bundle_hash": hex(&edgerun_protocol::hash::bundle_hash(&bytes)),
        });
        let expected = outcome_json(&bytes)?;
        entry
            .as_object_mut()
            .unwrap()
            .extend(expected.as_object().unwrap().clone());
        println!("{name:24} {}", expected);
        vectors.push(entry);
    }
    let manifest = json!({
        "about": "Conformance vectors for edgerun-runtime: every engine must reproduce outcome, output_hash and fuel_used for each bundle. Built by `cargo xtask vectors` from src/.",
        "descriptor": edgerun_runtime::DESCRIPTOR,
        "runtime_id": hex(&edgerun_runtime::runtime_id()),
        "vectors": vectors,
    });
    let text = serde_json::to_string_pretty(&manifest).unwrap() + "\n";
    std::fs::write(dir.join("vectors.json"), text).map_err(|e| format!("vectors.json: {e}"))
}

fn check(dir: &Path) -> Result<bool, String> {
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(dir.join("vectors.json")).map_err(|e| format!("vectors.json: {e}"))?,
    )
    .map_err(|e| e.to_string())?;
    let mut ok = true;
    for v in manifest["vectors"].as_array().ok_or("no vectors")? {
        let file = v["bundle"].as_str().ok_or("no bundle")?;
        let bytes = std::fs::read(dir.join(file)).map_err(|e| format!("{file}: {e}"))?;
        let got = outcome_json(&bytes)?;
        let same = ["outcome", "output_hash", "fuel_used", "output_len"]
            .iter()
            .all(|k| got[k] == v[k]);
        ok &= same;
        println!(
            "{} {:24} {:22} fuel {:>10}  {}",
            if same { "ok  " } else { "FAIL" },
            v["name"].as_str().unwrap_or("?"),
            got["outcome"].as_str().unwrap_or("?"),
            got["fuel_used"],
            if same {
                String::new()
            } else {
                format!("expected {v}")
            }
        );
    }
    Ok(ok)
}

fn main() -> ExitCode {
    let result = match Args::parse().cmd {
        Cmd::Write { jobs, dir } => write(&jobs, &dir).map(|()| true),
        Cmd::Check { dir } => check(&dir),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
