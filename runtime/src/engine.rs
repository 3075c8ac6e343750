//! The engine seam: anything that can run an instrumented module.
//!
//! An engine only executes: it instantiates the instrumented module with the
//! three host functions, sets the fuel global, calls `_start` and reports how
//! it ended and what the two runtime globals held. Everything that decides
//! the outcome (which failure, how much fuel) lives in [`crate::finish`], so
//! wasmi natively, wasmi compiled to wasm, and a browser's or Node's own
//! engine (sdk/, worker-web/) agree by construction.

use edgerun_protocol::limits::Limits;

#[cfg(feature = "wasmi")]
mod wasmi_engine;
#[cfg(feature = "bench")]
pub(crate) use wasmi_engine::{Host, linker, new_store};
#[cfg(feature = "wasmi")]
pub use wasmi_engine::{Wasmi, wasmi_config};

/// How `_start` ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// `_start` returned.
    Returned,
    /// `write_output` was asked to go past `max_output_bytes`.
    OutputLimit,
    /// A wasm trap, classified by the engine.
    Trap(Trap),
}

/// The engine-reported trap kinds the outcome depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trap {
    Unreachable,
    DivByZero,
    IntegerOverflow,
    OutOfBounds,
    IndirectCall,
    /// The engine's own stack limit (never reached before ours in practice;
    /// docs/runtime.md).
    StackOverflow,
}

/// What an engine reports after running an instrumented module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    pub end: End,
    /// The fuel global at the end (below zero: fuel ran out).
    pub fuel_left: i64,
    /// The stack global at the end (above the limit: our stack trap).
    pub stack: u32,
    /// Whether a `memory.grow` returned -1 (the grow-refused global).
    pub grow_refused: bool,
    /// The bytes written with `write_output`.
    pub output: Vec<u8>,
}

/// An engine failed in a way that says nothing about the job (a bug or a
/// resource failure of the host). The worker must not submit a result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("engine failure: {0}")]
pub struct EngineError(pub String);

/// Runs instrumented modules.
pub trait Engine {
    /// A short name, for reports.
    fn name(&self) -> &'static str;
    /// Instantiates `module` (already validated and instrumented for
    /// `limits`), sets the fuel global to `fuel`, and runs `_start`.
    fn execute(
        &self,
        module: &[u8],
        input: &[u8],
        limits: &Limits,
        fuel: i64,
    ) -> Result<Execution, EngineError>;
}
