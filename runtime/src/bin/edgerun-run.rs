//! `edgerun-run`: run one job and print its outcome as one JSON line.
//!
//! ```text
//! edgerun-run --bundle job.bundle
//! edgerun-run --wasm job.wasm --input in.json --fuel 10000000 --memory 16777216 --output-cap 1048576
//! ```
//! prints `{"outcome":"ok"|"<fail reason>","output_hash":"<hex>","fuel_used":n,"output_len":n}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use edgerun_protocol::limits::Limits;
use edgerun_runtime::Outcome;

#[derive(Parser)]
#[command(
    name = "edgerun-run",
    about = "Run an edgerun job deterministically and print its outcome as JSON",
    group = clap::ArgGroup::new("source").required(true).args(["bundle", "wasm"]),
)]
struct Args {
    /// A bundle v1 file (wasm + input + caps).
    #[arg(long, value_name = "FILE")]
    bundle: Option<PathBuf>,
    /// A wasm module (with --input and the caps).
    #[arg(long, value_name = "FILE", requires_all = ["input", "fuel", "memory", "output_cap"])]
    wasm: Option<PathBuf>,
    /// The job's input bytes.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Fuel cap (max_instructions).
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,
    /// Linear memory cap in bytes (max_memory_bytes).
    #[arg(long, value_name = "BYTES")]
    memory: Option<u32>,
    /// Output cap in bytes (max_output_bytes).
    #[arg(long, value_name = "BYTES")]
    output_cap: Option<u32>,
    /// Also write the output bytes here.
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print why a module is invalid (to stderr).
    #[arg(long)]
    explain: bool,
}

fn read(path: &PathBuf, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

fn run(args: Args) -> Result<Outcome, String> {
    // Why a module is invalid, on request (the outcome itself only names
    // the reason class).
    let explain = |outcome: &Outcome, wasm: &[u8], limits: &Limits| {
        if args.explain
            && outcome.result == Err(edgerun_protocol::abi::FailReason::InvalidModule)
            && let Err(invalid) = edgerun_runtime::validate(wasm, limits.max_memory_bytes.get())
        {
            eprintln!("{invalid}");
        }
    };
    let outcome = if let Some(path) = &args.bundle {
        let bytes = read(path, "bundle")?;
        let outcome = edgerun_runtime::run_bundle(&bytes).map_err(|e| e.to_string())?;
        if let Ok(bundle) = edgerun_protocol::bundle::Bundle::decode(&bytes) {
            explain(&outcome, bundle.wasm, &bundle.limits);
        }
        outcome
    } else {
        let wasm = read(args.wasm.as_ref().expect("clap group"), "wasm")?;
        let input = read(args.input.as_ref().expect("clap requires"), "input")?;
        let limits = Limits::new(
            args.memory.expect("clap requires"),
            args.fuel.expect("clap requires"),
            args.output_cap.expect("clap requires"),
        );
        let outcome = edgerun_runtime::run_with(&edgerun_runtime::Wasmi, &wasm, &input, &limits)
            .map_err(|e| e.to_string())?;
        explain(&outcome, &wasm, &limits);
        outcome
    };
    if let Some(out) = &args.out {
        std::fs::write(out, &outcome.output)
            .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    }
    Ok(outcome)
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(outcome) => {
            println!("{}", outcome.summary_json());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}
