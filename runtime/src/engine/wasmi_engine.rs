//! wasmi as an [`Engine`] (feature `wasmi`): natively, or compiled to
//! wasm32 for a host that may not compile WebAssembly itself.

use edgerun_protocol::limits::Limits;
use wasmi::{
    Caller, Config, Extern, Linker, Memory, Store, StoreLimits, StoreLimitsBuilder, TrapCode,
};

use super::{End, Engine, EngineError, Execution, Trap};
use crate::instrument::{FUEL_EXPORT, GROW_REFUSED_EXPORT, STACK_EXPORT};

/// wasmi 2.0 (natively, or compiled to wasm32 inside a browser or edge
/// isolate), with its own fuel metering off: the module meters itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct Wasmi;

pub(crate) struct Host {
    input: Vec<u8>,
    pub(crate) output: Vec<u8>,
    max_output: usize,
    limits: StoreLimits,
    output_limit_hit: bool,
    /// Gas left for finite-wasm's intrinsics (measurements only, `raw`).
    #[cfg_attr(not(feature = "bench"), allow(dead_code))]
    pub(crate) gas: u64,
}

/// A store holding the host state of one run.
pub(crate) fn new_store(engine: &wasmi::Engine, input: &[u8], limits: &Limits) -> Store<Host> {
    let host = Host {
        input: input.to_vec(),
        output: Vec::new(),
        max_output: limits.max_output_bytes.get() as usize,
        limits: StoreLimitsBuilder::new()
            .memory_size(limits.max_memory_bytes.get() as usize)
            .memories(1)
            .tables(1)
            .instances(1)
            .build(),
        output_limit_hit: false,
        gas: 0,
    };
    let mut store = Store::new(engine, host);
    store.limiter(|h| &mut h.limits);
    store
}

/// Returned by `write_output` past the cap.
#[derive(Debug)]
struct OutputLimit;
impl core::fmt::Display for OutputLimit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("output limit")
    }
}
impl wasmi::errors::HostError for OutputLimit {}

fn memory(caller: &Caller<'_, Host>) -> Result<Memory, wasmi::Error> {
    match caller.get_export(edgerun_protocol::abi::MEMORY_EXPORT) {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(wasmi::Error::new("guest has no memory export")),
    }
}

/// A host range `[ptr, ptr + len)` inside a memory of `size` bytes.
fn range(ptr: i32, len: usize, size: usize) -> Result<core::ops::Range<usize>, wasmi::Error> {
    let start = ptr as u32 as usize;
    match start.checked_add(len) {
        Some(end) if end <= size => Ok(start..end),
        _ => Err(TrapCode::MemoryOutOfBounds.into()),
    }
}

/// Whether instantiation failed because an active data or element segment
/// does not fit its memory or table (the spec's instantiation trap).
fn segment_out_of_bounds(e: &wasmi::Error) -> bool {
    use wasmi::errors::{ErrorKind, InstantiationError};
    matches!(
        e.as_trap_code(),
        Some(TrapCode::MemoryOutOfBounds | TrapCode::TableOutOfBounds)
    ) || matches!(
        e.kind(),
        ErrorKind::Instantiation(InstantiationError::ElementSegmentDoesNotFit { .. })
    )
}

/// The wasmi configuration every edgerun run uses.
pub fn wasmi_config(consume_fuel: bool) -> Config {
    let mut config = Config::default();
    config
        .consume_fuel(consume_fuel)
        .floats(false)
        .wasm_tail_call(false)
        .wasm_extended_const(false)
        .wasm_multi_memory(false)
        .wasm_saturating_float_to_int(false)
        // Far above the instrumented stack limit, so ours always trips first.
        .set_max_recursion_depth(1 << 20)
        .set_max_stack_height(64 << 20);
    config
}

/// Links the three host functions of ABI v1.
pub(crate) fn linker(engine: &wasmi::Engine) -> Result<Linker<Host>, wasmi::Error> {
    let mut linker = Linker::<Host>::new(engine);
    linker.func_wrap("edgerun", "input_len", |caller: Caller<'_, Host>| -> i32 {
        caller.data().input.len() as i32
    })?;
    linker.func_wrap(
        "edgerun",
        "read_input",
        |mut caller: Caller<'_, Host>,
         dst: i32,
         offset: i32,
         len: i32|
         -> Result<i32, wasmi::Error> {
            let memory = memory(&caller)?;
            let (mem, host) = memory.data_and_store_mut(&mut caller);
            let offset = (offset as u32 as usize).min(host.input.len());
            let n = (len as u32 as usize).min(host.input.len() - offset);
            let to = range(dst, n, mem.len())?;
            mem[to].copy_from_slice(&host.input[offset..offset + n]);
            Ok(n as i32)
        },
    )?;
    linker.func_wrap(
        "edgerun",
        "write_output",
        |mut caller: Caller<'_, Host>, src: i32, len: i32| -> Result<i32, wasmi::Error> {
            let memory = memory(&caller)?;
            let (mem, host) = memory.data_and_store_mut(&mut caller);
            let len_u = len as u32 as usize;
            if host.output.len() + len_u > host.max_output {
                host.output_limit_hit = true;
                return Err(wasmi::Error::host(OutputLimit));
            }
            let from = range(src, len_u, mem.len())?;
            host.output.extend_from_slice(&mem[from]);
            Ok(len)
        },
    )?;
    Ok(linker)
}

impl Engine for Wasmi {
    fn name(&self) -> &'static str {
        "wasmi"
    }

    fn execute(
        &self,
        module: &[u8],
        input: &[u8],
        limits: &Limits,
        fuel: i64,
    ) -> Result<Execution, EngineError> {
        let fail = |e: wasmi::Error| EngineError(e.to_string());
        let engine = wasmi::Engine::new(&wasmi_config(false));
        let module = wasmi::Module::new(&engine, module).map_err(fail)?;
        let mut store = new_store(&engine, input, limits);
        let instance = match linker(&engine)
            .map_err(fail)?
            .instantiate_and_start(&mut store, &module)
        {
            Ok(instance) => instance,
            // An active segment that does not fit its table or memory traps
            // at instantiation: before `_start`, with no fuel charged.
            Err(e) if segment_out_of_bounds(&e) => {
                return Ok(Execution {
                    end: End::Trap(Trap::OutOfBounds),
                    fuel_left: fuel,
                    stack: 0,
                    grow_refused: false,
                    output: Vec::new(),
                });
            }
            Err(e) => return Err(fail(e)),
        };
        let global = |store: &Store<Host>, name: &str| {
            instance
                .get_global(store, name)
                .ok_or_else(|| EngineError(format!("instrumented module lacks {name}")))
        };
        global(&store, FUEL_EXPORT)?
            .set(&mut store, wasmi::Val::I64(fuel))
            .map_err(|e| EngineError(e.to_string()))?;
        let start = instance
            .get_typed_func::<(), ()>(&store, edgerun_protocol::abi::ENTRY_EXPORT)
            .map_err(fail)?;
        let end = match start.call(&mut store, ()) {
            Ok(()) => End::Returned,
            Err(_) if store.data().output_limit_hit => End::OutputLimit,
            Err(e) => match e.as_trap_code() {
                Some(code) => End::Trap(match code {
                    TrapCode::UnreachableCodeReached => Trap::Unreachable,
                    TrapCode::IntegerDivisionByZero => Trap::DivByZero,
                    TrapCode::IntegerOverflow => Trap::IntegerOverflow,
                    TrapCode::MemoryOutOfBounds | TrapCode::TableOutOfBounds => Trap::OutOfBounds,
                    TrapCode::IndirectCallToNull | TrapCode::BadSignature => Trap::IndirectCall,
                    TrapCode::StackOverflow => Trap::StackOverflow,
                    other => return Err(EngineError(format!("unexpected trap {other:?}"))),
                }),
                None => return Err(fail(e)),
            },
        };
        let fuel_left = match global(&store, FUEL_EXPORT)?.get(&store) {
            wasmi::Val::I64(v) => v,
            _ => return Err(EngineError("fuel global is not i64".into())),
        };
        let stack = match global(&store, STACK_EXPORT)?.get(&store) {
            wasmi::Val::I32(v) => v as u32,
            _ => return Err(EngineError("stack global is not i32".into())),
        };
        let grow_refused = match global(&store, GROW_REFUSED_EXPORT)?.get(&store) {
            wasmi::Val::I32(v) => v != 0,
            _ => return Err(EngineError("grow-refused global is not i32".into())),
        };
        Ok(Execution {
            end,
            fuel_left,
            stack,
            grow_refused,
            output: std::mem::take(&mut store.data_mut().output),
        })
    }
}
