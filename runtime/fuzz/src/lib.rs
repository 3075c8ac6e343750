//! What both fuzz targets check about a run.
//!
//! [`check`] runs a module through `edgerun_runtime::run_with` and asserts
//! the runtime's promises: an engine failure never happens, the outcome is
//! deterministic, fuel stays within the cap and is exact (the same job with
//! exactly `fuel_used` ends the same way; with one unit less it runs out),
//! and the instrumented module is itself a valid v1-feature module.

use std::sync::atomic::{AtomicU64, Ordering};

use edgerun_protocol::abi::FailReason;
use edgerun_protocol::limits::Limits;
use edgerun_runtime::{Outcome, Wasmi, prepare, run_with};

/// The largest caps a fuzz run uses, so that one input stays fast.
pub const MAX_FUEL: u64 = 100_000;
pub const MAX_MEMORY: u32 = 4 << 20;
pub const MAX_OUTPUT: u32 = 64 << 10;

/// `limits` with every cap clamped to the fuzz maxima.
pub fn clamp(limits: &Limits) -> Limits {
    Limits::new(
        limits.max_memory_bytes.get().min(MAX_MEMORY),
        limits.max_instructions.get().min(MAX_FUEL),
        limits.max_output_bytes.get().min(MAX_OUTPUT),
    )
}

/// Counts of what the inputs reached, printed as they grow (every power of
/// two inputs) so a fuzz log shows how much of it ran guest code.
#[derive(Default)]
pub struct Stats {
    pub inputs: AtomicU64,
    /// The target had a module to try (the bundle decoded, wasm-smith
    /// produced a module).
    pub modules: AtomicU64,
    /// `prepare` accepted it: validated and instrumented.
    pub valid: AtomicU64,
    /// `_start` returned.
    pub ok: AtomicU64,
    pub out_of_fuel: AtomicU64,
    pub trapped: AtomicU64,
    pub output_limit: AtomicU64,
}

impl Stats {
    pub const fn new() -> Self {
        Stats {
            inputs: AtomicU64::new(0),
            modules: AtomicU64::new(0),
            valid: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            out_of_fuel: AtomicU64::new(0),
            trapped: AtomicU64::new(0),
            output_limit: AtomicU64::new(0),
        }
    }

    /// Counts one input; prints the counters at every power of two.
    pub fn input(&self, target: &str) {
        let n = self.inputs.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() && n >= 1024 {
            let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
            eprintln!(
                "edgerun-fuzz {target}: inputs={n} modules={} valid={} ran: ok={} out-of-fuel={} trap={} output-limit={}",
                get(&self.modules),
                get(&self.valid),
                get(&self.ok),
                get(&self.out_of_fuel),
                get(&self.trapped),
                get(&self.output_limit),
            );
        }
    }

    fn outcome(&self, outcome: &Outcome) {
        let counter = match outcome.result {
            Ok(()) => &self.ok,
            Err(FailReason::InvalidModule) => return,
            Err(FailReason::OutOfFuel) => &self.out_of_fuel,
            Err(FailReason::OutputLimit) => &self.output_limit,
            Err(_) => &self.trapped,
        };
        self.valid.fetch_add(1, Ordering::Relaxed);
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs `wasm` on `input` under `limits` (already clamped) and asserts
/// everything the runtime promises about the result. Panics on a broken
/// promise; returns the outcome otherwise.
pub fn check(wasm: &[u8], input: &[u8], limits: &Limits, stats: &Stats) -> Outcome {
    stats.modules.fetch_add(1, Ordering::Relaxed);
    let run = |limits: &Limits| match run_with(&Wasmi, wasm, input, limits) {
        Ok(outcome) => outcome,
        Err(e) => panic!("engine error on a prepared module: {e}"),
    };
    let cap = limits.max_instructions.get();
    let outcome = run(limits);
    stats.outcome(&outcome);

    match prepare(wasm, limits) {
        Err(_) => {
            assert_eq!(outcome.result, Err(FailReason::InvalidModule));
            assert_eq!(outcome.fuel_used, 0);
            return outcome;
        }
        Ok(module) => {
            assert_ne!(outcome.result, Err(FailReason::InvalidModule));
            let mut validator =
                wasmparser::Validator::new_with_features(edgerun_runtime::validate::features());
            if let Err(e) = validator.validate_all(&module) {
                panic!("the instrumented module does not validate: {e}");
            }
            assert_eq!(
                prepare(wasm, limits).ok().as_deref(),
                Some(&module[..]),
                "prepare is not deterministic"
            );
        }
    }

    assert!(
        outcome.fuel_used <= cap,
        "fuel_used {} > cap {cap}",
        outcome.fuel_used
    );
    match outcome.result {
        Ok(()) => assert!(outcome.output.len() <= limits.max_output_bytes.get() as usize),
        Err(reason) => assert_eq!(outcome.output, reason.output()),
    }
    if outcome.result == Err(FailReason::OutOfFuel) {
        assert_eq!(
            outcome.fuel_used, cap,
            "out of fuel must charge the whole cap"
        );
    }
    assert_eq!(run(limits), outcome, "the same run gave another outcome");

    // Fuel is exact: with exactly `fuel_used` the job ends the same way;
    // with one unit less it runs out.
    if outcome.result != Err(FailReason::OutOfFuel) {
        let used = outcome.fuel_used;
        let exact = Limits::new(
            limits.max_memory_bytes.get(),
            used,
            limits.max_output_bytes.get(),
        );
        assert_eq!(
            run(&exact),
            outcome,
            "a cap of exactly fuel_used changed the outcome"
        );
        if used > 0 {
            let short = Limits::new(
                limits.max_memory_bytes.get(),
                used - 1,
                limits.max_output_bytes.get(),
            );
            let short = run(&short);
            assert_eq!(
                short.result,
                Err(FailReason::OutOfFuel),
                "one unit short still ran"
            );
            assert_eq!(short.fuel_used, used - 1);
        }
    }
    outcome
}
