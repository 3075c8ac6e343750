//! Measurement baselines (feature `bench`): a job's module run on wasmi
//! *without* our instrumentation, plainly, under wasmi's own fuel metering,
//! or instrumented by finite-wasm. Never used for outcomes: wasmi's fuel is
//! charged on its internal bytecode (it changes between wasmi versions) and
//! neither baseline bounds the stack the same way on every engine.

use edgerun_protocol::limits::Limits;
use wasmi::Caller;

use crate::engine::{EngineError, Host, linker, new_store, wasmi_config};

/// How to run the uninstrumented module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Baseline {
    /// No metering at all.
    Plain,
    /// wasmi's own fuel metering (`Config::consume_fuel`).
    WasmiFuel,
    /// A module instrumented by finite-wasm 0.6: its gas and stack
    /// intrinsics are host calls (module `finite_wasm`), one per charge.
    FiniteWasm,
}

/// The output of a baseline run, and the fuel/gas it consumed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRun {
    pub output: Vec<u8>,
    pub consumed: u64,
}

const FINITE_ENV: &str = "finite_wasm";

/// Runs `wasm` (as given) on `input` under `limits` with `baseline`.
pub fn run(
    wasm: &[u8],
    input: &[u8],
    limits: &Limits,
    baseline: Baseline,
) -> Result<RawRun, EngineError> {
    let fail = |e: wasmi::Error| EngineError(e.to_string());
    let engine = wasmi::Engine::new(&wasmi_config(baseline == Baseline::WasmiFuel));
    let module = wasmi::Module::new(&engine, wasm).map_err(fail)?;
    let mut store = new_store(&engine, input, limits);
    let budget = limits.max_instructions.get();
    if baseline == Baseline::WasmiFuel {
        store.set_fuel(budget).map_err(fail)?;
    }
    store.data_mut().gas = budget;
    let mut linker = linker(&engine).map_err(fail)?;
    if baseline == Baseline::FiniteWasm {
        link_finite_wasm(&mut linker).map_err(fail)?;
    }
    let instance = linker
        .instantiate_and_start(&mut store, &module)
        .map_err(fail)?;
    let start = instance
        .get_typed_func::<(), ()>(&store, edgerun_protocol::abi::ENTRY_EXPORT)
        .map_err(fail)?;
    start.call(&mut store, ()).map_err(fail)?;
    let consumed = match baseline {
        Baseline::Plain => 0,
        Baseline::WasmiFuel => budget - store.get_fuel().map_err(fail)?,
        Baseline::FiniteWasm => budget - store.data().gas,
    };
    Ok(RawRun {
        output: std::mem::take(&mut store.data_mut().output),
        consumed,
    })
}

fn charge(caller: &mut Caller<'_, Host>, amount: u64) -> Result<(), wasmi::Error> {
    let gas = &mut caller.data_mut().gas;
    match gas.checked_sub(amount) {
        Some(left) => {
            *gas = left;
            Ok(())
        }
        None => {
            *gas = 0;
            Err(wasmi::Error::new("finite-wasm gas exhausted"))
        }
    }
}

/// finite-wasm's nine intrinsics: gas, the bulk operations (charged by
/// their element count), and stack reserve/release (tracked loosely: the
/// measurement is of the call cost).
fn link_finite_wasm(linker: &mut wasmi::Linker<Host>) -> Result<(), wasmi::Error> {
    linker.func_wrap(
        FINITE_ENV,
        "finite_wasm_gas",
        |mut c: Caller<'_, Host>, g: i64| charge(&mut c, g as u64),
    )?;
    for name in [
        "finite_wasm_memory_copy",
        "finite_wasm_memory_fill",
        "finite_wasm_memory_init",
        "finite_wasm_table_copy",
        "finite_wasm_table_fill",
        "finite_wasm_table_init",
    ] {
        linker.func_wrap(
            FINITE_ENV,
            name,
            |mut c: Caller<'_, Host>, count: i32, linear: i64, constant: i64| {
                let fee = (count as u32 as u64)
                    .saturating_mul(linear as u64)
                    .saturating_add(constant as u64);
                charge(&mut c, fee).map(|()| count)
            },
        )?;
    }
    for name in ["finite_wasm_stack", "finite_wasm_unstack"] {
        linker.func_wrap(FINITE_ENV, name, |_: Caller<'_, Host>, _: i64, _: i64| {})?;
    }
    Ok(())
}

/// The finite-wasm import module name this baseline links.
pub fn finite_wasm_env() -> &'static str {
    FINITE_ENV
}
