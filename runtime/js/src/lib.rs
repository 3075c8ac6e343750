//! edgerun-runtime for JavaScript hosts.
//!
//! Two ways to run a bundle from JS, with identical outcomes:
//! - [`run_bundle`]: wasmi compiled to wasm32 runs the instrumented module
//!   (what a browser tab or an edge isolate does today);
//! - [`Prepared`]: the host runs the instrumented module on its own
//!   WebAssembly engine (`engine.mjs` next to this crate) and hands back
//!   how it ended; [`Prepared::finish`] decides the outcome with the same
//!   code as every other engine.
//!
//! Outcomes are JSON strings shaped like `edgerun-run`'s line:
//! `{"outcome":"ok"|"<reason>","output_hash":"<hex>","fuel_used":n,"output_len":n}`.

use edgerun_protocol::bundle::Bundle;
use edgerun_protocol::limits::Limits;
use edgerun_runtime::{End, Execution, Outcome, Trap, hex};
use wasm_bindgen::prelude::*;

/// The runtime descriptor (what runtime_id hashes).
#[wasm_bindgen]
pub fn descriptor() -> String {
    edgerun_runtime::DESCRIPTOR.to_string()
}

/// This runtime's runtime_id, hex.
#[wasm_bindgen]
pub fn runtime_id() -> String {
    hex(&edgerun_runtime::runtime_id())
}

/// Runs a bundle with wasmi-in-wasm; returns the outcome JSON.
#[wasm_bindgen]
pub fn run_bundle(bytes: &[u8]) -> Result<String, JsError> {
    let outcome = edgerun_runtime::run_bundle(bytes).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(outcome.summary_json())
}

/// Runs a bundle with wasmi-in-wasm and returns the output bytes.
#[wasm_bindgen]
pub fn run_bundle_output(bytes: &[u8]) -> Result<Vec<u8>, JsError> {
    let outcome = edgerun_runtime::run_bundle(bytes).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(outcome.output)
}

/// A whole run's result: what a worker submits and publishes.
#[wasm_bindgen]
pub struct Ran {
    outcome: Outcome,
}

#[wasm_bindgen]
impl Ran {
    /// The job's output, or `edgerun:fail:<reason>`.
    #[wasm_bindgen(getter)]
    pub fn output(&self) -> Vec<u8> {
        self.outcome.output.clone()
    }

    #[wasm_bindgen(getter)]
    pub fn fuel_used(&self) -> u64 {
        self.outcome.fuel_used
    }

    /// The outcome JSON (as [`run_bundle`] returns).
    pub fn summary(&self) -> String {
        self.outcome.summary_json()
    }
}

/// Runs a bundle with wasmi-in-wasm; returns the output and the fuel (the
/// worker-web fallback where the host may not compile WebAssembly).
#[wasm_bindgen]
pub fn run_bundle_ran(bytes: &[u8]) -> Result<Ran, JsError> {
    let outcome = edgerun_runtime::run_bundle(bytes).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(Ran { outcome })
}

/// A bundle decoded, checked and instrumented, ready for a host engine.
#[wasm_bindgen]
pub struct Prepared {
    module: Result<Vec<u8>, String>,
    input: Vec<u8>,
    limits: Limits,
}

#[wasm_bindgen]
impl Prepared {
    /// Decodes `bytes`, checks the runtime_id, validates and instruments.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<Prepared, JsError> {
        let bundle = Bundle::decode(bytes).map_err(|e| JsError::new(&e.to_string()))?;
        if bundle.runtime_id != edgerun_runtime::runtime_id() {
            return Err(JsError::new(&format!(
                "bundle names runtime_id {}, this runtime is {}",
                hex(&bundle.runtime_id),
                runtime_id()
            )));
        }
        Ok(Prepared {
            module: edgerun_runtime::prepare(bundle.wasm, &bundle.limits)
                .map_err(|e| e.to_string()),
            input: bundle.input.to_vec(),
            limits: bundle.limits,
        })
    }

    /// The instrumented module to run, or `undefined` when the module is
    /// invalid (then the outcome is [`Prepared::invalid`]).
    #[wasm_bindgen(getter)]
    pub fn module(&self) -> Option<Vec<u8>> {
        self.module.as_ref().ok().cloned()
    }

    /// Why the module is invalid, if it is.
    #[wasm_bindgen(getter)]
    pub fn invalid_reason(&self) -> Option<String> {
        self.module.as_ref().err().cloned()
    }

    #[wasm_bindgen(getter)]
    pub fn input(&self) -> Vec<u8> {
        self.input.clone()
    }

    /// The value to set the `edgerun:fuel` global to before `_start`.
    #[wasm_bindgen(getter)]
    pub fn fuel(&self) -> i64 {
        edgerun_runtime::initial_fuel(&self.limits)
    }

    #[wasm_bindgen(getter)]
    pub fn output_cap(&self) -> u32 {
        self.limits.max_output_bytes.get()
    }

    /// The outcome of an invalid module.
    pub fn invalid(&self) -> String {
        Outcome::failed(edgerun_protocol::abi::FailReason::InvalidModule, 0).summary_json()
    }

    /// The outcome from what the host engine reported. `end` is
    /// `returned`, `output-limit`, or `trap:<kind>` with kind one of
    /// `unreachable`, `div-by-zero`, `integer-overflow`, `out-of-bounds`,
    /// `indirect-call`, `stack-overflow`.
    pub fn finish(
        &self,
        end: &str,
        fuel_left: i64,
        stack: u32,
        grow_refused: bool,
        output: Vec<u8>,
    ) -> Result<String, JsError> {
        let end = match end {
            "returned" => End::Returned,
            "output-limit" => End::OutputLimit,
            trap => End::Trap(match trap.strip_prefix("trap:") {
                Some("unreachable") => Trap::Unreachable,
                Some("div-by-zero") => Trap::DivByZero,
                Some("integer-overflow") => Trap::IntegerOverflow,
                Some("out-of-bounds") => Trap::OutOfBounds,
                Some("indirect-call") => Trap::IndirectCall,
                Some("stack-overflow") => Trap::StackOverflow,
                _ => return Err(JsError::new(&format!("unknown end {end:?}"))),
            }),
        };
        let outcome = edgerun_runtime::finish(
            Execution {
                end,
                fuel_left,
                stack,
                grow_refused,
                output,
            },
            &self.limits,
        );
        Ok(outcome.summary_json())
    }
}
