//! Deterministic job execution for edgerun.
//!
//! A job is a bundle: wasm + input + caps (shared/PROTOCOL.md). Running it
//! takes three steps, each a pure function of the bundle:
//!
//! 1. [`validate`]: the module follows guest ABI v1 (no floats anywhere,
//!    only the `edgerun` imports, `_start` and `memory` exported, one
//!    bounded table, no start section), or the outcome is
//!    `edgerun:fail:invalid-module`.
//! 2. [`instrument`]: the module is rewritten to meter itself, fuel per
//!    basic block and a stack-height limit, on a schedule defined on the
//!    job's own bytecode (docs/runtime.md).
//! 3. An [`Engine`] runs the instrumented module; [`finish`] turns what it
//!    reports into the [`Outcome`]: the output (or `edgerun:fail:<reason>`)
//!    and the fuel used.
//!
//! ```
//! use edgerun_protocol::limits::Limits;
//! let wasm = wat::parse_str(r#"(module
//!     (import "edgerun" "write_output" (func $w (param i32 i32) (result i32)))
//!     (memory (export "memory") 1)
//!     (data (i32.const 0) "hi")
//!     (func (export "_start") (drop (call $w (i32.const 0) (i32.const 2)))))"#).unwrap();
//! let outcome = edgerun_runtime::run(&wasm, b"", &Limits::new(1 << 16, 1_000, 16));
//! assert_eq!(outcome.output, b"hi");
//! assert!(outcome.is_ok());
//! ```

pub mod engine;
pub mod instrument;
#[cfg(feature = "bench")]
pub mod raw;
pub mod validate;

use edgerun_protocol::abi::FailReason;
use edgerun_protocol::bundle::{Bundle, BundleError};
use edgerun_protocol::hash::{self, Hash};
use edgerun_protocol::limits::Limits;

#[cfg(feature = "wasmi")]
pub use engine::Wasmi;
pub use engine::{End, Engine, EngineError, Execution, Trap};
pub use validate::{Invalid, validate};

/// The descriptor runtime_id is the BLAKE3 of: everything that can change
/// a result or a fuel count. The engine is deliberately absent: the
/// instrumented module meters itself, so every engine agrees.
pub const DESCRIPTOR: &str = "edgerun-runtime/1;abi=1;fuel=edgerun-block-v1;stack=edgerun-frames-v1:65536+16;\
features=mvp-nofloat,mutable-global,sign-ext,multi-value,bulk-memory,call-indirect-table-index";

/// `blake3(DESCRIPTOR)`: the runtime_id bundles for this runtime carry.
pub fn runtime_id() -> Hash {
    hash::runtime_id(DESCRIPTOR)
}

/// The result of running a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `Ok` when `_start` returned within every cap.
    pub result: Result<(), FailReason>,
    /// The job's output, or `edgerun:fail:<reason>`.
    pub output: Vec<u8>,
    /// Fuel charged by the schedule; the whole cap when fuel ran out, 0 for
    /// an invalid module.
    pub fuel_used: u64,
}

impl Outcome {
    /// The outcome of a failure: `edgerun:fail:<reason>` as output.
    pub fn failed(reason: FailReason, fuel_used: u64) -> Outcome {
        Outcome {
            result: Err(reason),
            output: reason.output(),
            fuel_used,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }

    /// `"ok"` or the failure reason.
    pub fn label(&self) -> &'static str {
        match self.result {
            Ok(()) => "ok",
            Err(reason) => reason.as_str(),
        }
    }

    /// `blake3(output)`.
    pub fn output_hash(&self) -> Hash {
        hash::output_hash(&self.output)
    }

    /// The one-line JSON summary every tool prints:
    /// `{"outcome":"ok"|"<reason>","output_hash":"<hex>","fuel_used":n,"output_len":n}`.
    pub fn summary_json(&self) -> String {
        format!(
            r#"{{"outcome":"{}","output_hash":"{}","fuel_used":{},"output_len":{}}}"#,
            self.label(),
            hex(&self.output_hash()),
            self.fuel_used,
            self.output.len()
        )
    }
}

/// Why a bundle could not be run at all (as opposed to a job that fails).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Bundle(#[from] BundleError),
    #[error(
        "bundle names runtime_id {found}, this runtime is {ours} ({DESCRIPTOR}); rebuild the bundle for this runtime or run it on the one it names"
    )]
    WrongRuntime { found: String, ours: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The fuel the instrumented module starts with (the u64 cap, clamped to
/// the i64 counter; no job runs 2^63 units).
pub fn initial_fuel(limits: &Limits) -> i64 {
    limits.max_instructions.get().min(i64::MAX as u64) as i64
}

/// Validates and instruments `wasm` for `limits`: the module every engine
/// runs.
pub fn prepare(wasm: &[u8], limits: &Limits) -> Result<Vec<u8>, Invalid> {
    let max_memory = limits.max_memory_bytes.get();
    let checked = validate(wasm, max_memory)?;
    Ok(instrument::instrument(wasm, &checked, max_memory))
}

/// Decides the outcome from what an engine reported.
pub fn finish(execution: Execution, limits: &Limits) -> Outcome {
    let cap = limits.max_instructions.get();
    let start = initial_fuel(limits);
    if execution.fuel_left < 0 {
        return Outcome::failed(FailReason::OutOfFuel, cap);
    }
    let fuel_used = (start - execution.fuel_left) as u64;
    let reason = match execution.end {
        End::Returned => {
            return Outcome {
                result: Ok(()),
                output: execution.output,
                fuel_used,
            };
        }
        End::OutputLimit => FailReason::OutputLimit,
        End::Trap(_) if execution.stack > instrument::STACK_LIMIT => FailReason::TrapStackOverflow,
        End::Trap(Trap::Unreachable) if execution.grow_refused => FailReason::MemoryLimit,
        End::Trap(trap) => match trap {
            Trap::Unreachable => FailReason::TrapUnreachable,
            Trap::DivByZero => FailReason::TrapDivByZero,
            Trap::IntegerOverflow => FailReason::TrapIntegerOverflow,
            Trap::OutOfBounds => FailReason::TrapOutOfBounds,
            Trap::IndirectCall => FailReason::TrapIndirectCall,
            Trap::StackOverflow => FailReason::TrapStackOverflow,
        },
    };
    Outcome::failed(reason, fuel_used)
}

/// Runs `wasm` on `input` under `limits` with `engine`.
pub fn run_with(
    engine: &dyn Engine,
    wasm: &[u8],
    input: &[u8],
    limits: &Limits,
) -> Result<Outcome, EngineError> {
    let module = match prepare(wasm, limits) {
        Ok(module) => module,
        Err(_) => return Ok(Outcome::failed(FailReason::InvalidModule, 0)),
    };
    let execution = engine.execute(&module, input, limits, initial_fuel(limits))?;
    Ok(finish(execution, limits))
}

/// Runs `wasm` on `input` under `limits` with wasmi.
#[cfg(feature = "wasmi")]
///
/// # Panics
/// If wasmi itself fails on a module our pass produced (a bug, never a job
/// outcome); use [`run_with`] to handle that case.
pub fn run(wasm: &[u8], input: &[u8], limits: &Limits) -> Outcome {
    run_with(&Wasmi, wasm, input, limits).expect("wasmi runs every instrumented module")
}

/// Why a job's bundle could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    Bundle(#[from] BundleError),
}

/// The bundle for a job on this runtime. A module no worker would run is
/// refused here, before anything is uploaded or any lamport moves.
pub fn build_bundle(wasm: &[u8], input: &[u8], limits: &Limits) -> Result<Vec<u8>, BuildError> {
    validate(wasm, limits.max_memory_bytes.get())?;
    Ok(Bundle {
        runtime_id: runtime_id(),
        limits: *limits,
        wasm,
        input,
    }
    .encode()?)
}

/// Decodes a bundle, checks it names this runtime, and runs it with wasmi.
#[cfg(feature = "wasmi")]
pub fn run_bundle(bytes: &[u8]) -> Result<Outcome, RunError> {
    let bundle = Bundle::decode(bytes)?;
    if bundle.runtime_id != runtime_id() {
        return Err(RunError::WrongRuntime {
            found: hex(&bundle.runtime_id),
            ours: hex(&runtime_id()),
        });
    }
    Ok(run_with(&Wasmi, bundle.wasm, bundle.input, &bundle.limits)?)
}

/// Lowercase hex (the protocol's written form of a hash).
pub use edgerun_protocol::hash::hex;

/// Deterministic log-like text of exactly `n` bytes: test and benchmark
/// input (the compress-hash vectors and bench use it).
#[doc(hidden)]
pub fn sample_log_lines(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 64);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let paths = ["items", "users", "orders", "search", "health"];
    let mut i = 0u64;
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let status = [200, 200, 200, 201, 304, 404, 500][(x % 7) as usize];
        out.extend_from_slice(
            format!(
                "{i:08} GET /api/v1/{}/{} {status} {}ms\n",
                paths[(x >> 8) as usize % paths.len()],
                (x >> 16) % 10_000,
                (x >> 32) % 900
            )
            .as_bytes(),
        );
        i += 1;
    }
    out.truncate(n);
    out
}
