//! Guest ABI v1 validation: what a job's module may contain.
//!
//! Validation is total: every byte string either becomes a [`Checked`]
//! module (a module every engine runs identically once instrumented) or an
//! [`Invalid`] naming the first rule it broke. A job with an invalid module
//! has the outcome `edgerun:fail:invalid-module`.

use std::collections::HashMap;

use edgerun_protocol::abi;
use wasmparser::{
    ElementItems, ElementKind, ExternalKind, FuncValidatorAllocations, Operator, Parser, Payload,
    RefType, TypeRef, ValType, ValidPayload, Validator, WasmFeatures,
};

/// Linear-memory page size.
pub const PAGE_BYTES: u32 = 65_536;
/// A module may define at most one table, and it must declare a maximum no
/// larger than this many elements.
pub const MAX_TABLE_ELEMENTS: u64 = 65_536;

/// Largest function body accepted, in bytes. Instrumentation can grow a
/// body up to ~11× (a charge after every one-byte branch), and the result
/// must stay under wasm's 7,654,321-byte body limit on every engine.
pub const MAX_FUNCTION_BODY_BYTES: usize = 512 << 10;
/// Most locals (params included) a function may have. The pass adds two;
/// wasmi refuses more than 30,000 and keeps locals, operands and constants
/// in one 16-bit slot space, so v1 stays well inside it.
pub const MAX_FUNCTION_LOCALS: u32 = 16_384;
/// Most locals plus the highest operand stack of a function.
pub const MAX_FUNCTION_SLOTS: u64 = 32_768;
/// Most exports / globals a module may have; the pass adds three of each
/// (engines refuse more than 100,000 exports).
pub const MAX_EXPORTS: u32 = 90_000;
pub const MAX_GLOBALS: u32 = 90_000;

/// Why a module is not a valid edgerun job. The outcome is always
/// `invalid-module`; the message is for the job's author.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid module: {0}")]
pub struct Invalid(pub String);

fn invalid(msg: impl Into<String>) -> Invalid {
    Invalid(msg.into())
}

/// The WebAssembly features a v1 guest may use: the MVP without floats,
/// plus the integer-only proposals Rust's wasm32 target emits by default.
/// `REFERENCE_TYPES` is on only for its encoding of `call_indirect`'s table
/// index; its instructions are refused in [`check_operator`].
pub fn features() -> WasmFeatures {
    WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::REFERENCE_TYPES
        | WasmFeatures::GC_TYPES
}

/// What validation learned about a module, for the instrumentation pass.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// Every function type, by type index: (params, results).
    pub types: Vec<(Vec<ValType>, Vec<ValType>)>,
    /// The type index of every function, imports first.
    pub func_types: Vec<u32>,
    /// Number of imported functions (they come first in the index space).
    pub imported_funcs: u32,
    /// Function indices of the metered host calls (`read_input`,
    /// `write_output`): their last argument is a byte length.
    pub sized_host_calls: Vec<u32>,
    /// Per defined function: params + locals + the highest operand stack.
    pub frame_slots: Vec<u64>,
    /// Per defined function: the defined functions it calls directly.
    pub callees: Vec<Vec<u32>>,
    /// Per defined function: whether it has a `call_indirect`.
    pub calls_indirect: Vec<bool>,
    /// Defined functions placed in the table by element segments.
    pub in_table: Vec<u32>,
    /// Number of globals the module defines.
    pub globals: u32,
    /// The memory's declared initial size, in pages.
    pub memory_min_pages: u64,
    /// Its declared maximum, if any.
    pub memory_max_pages: Option<u64>,
}

/// Validates `wasm` as a v1 guest under a memory cap of `max_memory_bytes`.
pub fn validate(wasm: &[u8], max_memory_bytes: u32) -> Result<Checked, Invalid> {
    let mut validator = Validator::new_with_features(features());
    let mut info = Checked::default();
    let mut memories = 0u32;
    let mut tables = 0u32;
    let mut exports: HashMap<String, (ExternalKind, u32)> = HashMap::new();
    let mut allocs = FuncValidatorAllocations::default();

    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| invalid(format!("malformed: {e}")))?;
        let valid = validator.payload(&payload).map_err(|e| {
            invalid(e.message().to_string() + &format!(" (at byte {})", e.offset()))
        })?;
        match &payload {
            Payload::Version { encoding, .. } => {
                if *encoding != wasmparser::Encoding::Module {
                    return Err(invalid("a component is not a core module"));
                }
            }
            Payload::TypeSection(reader) => {
                for ty in reader.clone().into_iter_err_on_gc_types() {
                    let ty = ty.map_err(|e| invalid(e.message()))?;
                    info.types
                        .push((ty.params().to_vec(), ty.results().to_vec()));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone() {
                    let import = import.map_err(|e| invalid(e.message()))?;
                    check_import(&import, &mut info)?;
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader.clone() {
                    info.func_types.push(ty.map_err(|e| invalid(e.message()))?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader.clone() {
                    let table = table.map_err(|e| invalid(e.message()))?;
                    tables += 1;
                    if tables > 1 {
                        return Err(invalid("at most one table"));
                    }
                    let ty = table.ty;
                    if ty.element_type != RefType::FUNCREF {
                        return Err(invalid("the table must hold funcref"));
                    }
                    match ty.maximum {
                        Some(max) if max <= MAX_TABLE_ELEMENTS => {}
                        Some(max) => {
                            return Err(invalid(format!(
                                "table maximum {max} exceeds {MAX_TABLE_ELEMENTS} elements"
                            )));
                        }
                        None => return Err(invalid("the table must declare a maximum size")),
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader.clone() {
                    let memory = memory.map_err(|e| invalid(e.message()))?;
                    memories += 1;
                    if memories > 1 {
                        return Err(invalid("at most one memory"));
                    }
                    let cap_pages = u64::from(max_memory_bytes / PAGE_BYTES);
                    if memory.initial > cap_pages {
                        return Err(invalid(format!(
                            "memory declares {} pages initially; the job's cap of {max_memory_bytes} bytes allows {cap_pages}",
                            memory.initial
                        )));
                    }
                    info.memory_min_pages = memory.initial;
                    info.memory_max_pages = memory.maximum;
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader.clone() {
                    let global = global.map_err(|e| invalid(e.message()))?;
                    if !matches!(global.ty.content_type, ValType::I32 | ValType::I64) {
                        return Err(invalid("globals must be i32 or i64"));
                    }
                    info.globals += 1;
                }
                if info.globals > MAX_GLOBALS {
                    return Err(invalid(format!("more than {MAX_GLOBALS} globals")));
                }
            }
            Payload::ExportSection(reader) => {
                if reader.count() > MAX_EXPORTS {
                    return Err(invalid(format!("more than {MAX_EXPORTS} exports")));
                }
                for export in reader.clone() {
                    let export = export.map_err(|e| invalid(e.message()))?;
                    if export
                        .name
                        .starts_with(crate::instrument::RESERVED_EXPORT_PREFIX)
                    {
                        return Err(invalid(format!(
                            "export name {:?} is reserved for the runtime",
                            export.name
                        )));
                    }
                    exports.insert(export.name.to_string(), (export.kind, export.index));
                }
            }
            Payload::StartSection { .. } => {
                return Err(invalid(
                    "a start section is not allowed; the entry point is the `_start` export",
                ));
            }
            Payload::ElementSection(reader) => {
                for element in reader.clone() {
                    let element = element.map_err(|e| invalid(e.message()))?;
                    if let ElementKind::Active { table_index, .. } = element.kind
                        && table_index.unwrap_or(0) != 0
                    {
                        return Err(invalid("element segments may only target table 0"));
                    }
                    match element.items {
                        ElementItems::Functions(funcs) => {
                            for f in funcs {
                                let f = f.map_err(|e| invalid(e.message()))?;
                                info.in_table.push(f);
                                if f < info.imported_funcs {
                                    return Err(invalid(
                                        "a host function may not be placed in a table (host calls are metered at their call sites)",
                                    ));
                                }
                            }
                        }
                        ElementItems::Expressions(..) => {
                            return Err(invalid(
                                "element segments must list function indices, not expressions",
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
        if let ValidPayload::Func(func, body) = valid {
            if body.range().len() > MAX_FUNCTION_BODY_BYTES {
                return Err(invalid(format!(
                    "a function body of {} bytes exceeds {MAX_FUNCTION_BODY_BYTES}",
                    body.range().len()
                )));
            }
            let mut fv = func.into_validator(std::mem::take(&mut allocs));
            let mut reader = body.get_binary_reader();
            fv.read_locals(&mut reader)
                .map_err(|e| invalid(e.message()))?;
            if fv.len_locals() > MAX_FUNCTION_LOCALS {
                return Err(invalid(format!(
                    "a function has {} locals; at most {MAX_FUNCTION_LOCALS}",
                    fv.len_locals()
                )));
            }
            let locals = u64::from(fv.len_locals());
            let mut max_height = 0u32;
            let mut callees = Vec::new();
            let mut indirect = false;
            let mut ops = body
                .get_operators_reader()
                .map_err(|e| invalid(e.message()))?;
            while !ops.eof() {
                let (op, offset) = ops.read_with_offset().map_err(|e| invalid(e.message()))?;
                check_operator(&op)?;
                match op {
                    Operator::Call { function_index } if function_index >= info.imported_funcs => {
                        callees.push(function_index)
                    }
                    Operator::CallIndirect { .. } => indirect = true,
                    _ => {}
                }
                fv.op(offset, &op)
                    .map_err(|e| invalid(format!("{} (at byte {})", e.message(), e.offset())))?;
                max_height = max_height.max(fv.operand_stack_height());
            }
            fv.finish(ops.original_position())
                .map_err(|e| invalid(e.message()))?;
            if locals + u64::from(max_height) > MAX_FUNCTION_SLOTS {
                return Err(invalid(format!(
                    "a function needs {} locals and operand slots; at most {MAX_FUNCTION_SLOTS}",
                    locals + u64::from(max_height)
                )));
            }
            info.frame_slots.push(locals + u64::from(max_height));
            callees.sort_unstable();
            callees.dedup();
            info.callees.push(callees);
            info.calls_indirect.push(indirect);
            allocs = fv.into_allocations();
        }
    }

    if memories == 0 {
        return Err(invalid(
            "the module must define one memory (imported memory is not allowed)",
        ));
    }
    match exports.get(abi::MEMORY_EXPORT) {
        Some((ExternalKind::Memory, 0)) => {}
        _ => return Err(invalid("the memory must be exported as `memory`")),
    }
    match exports.get(abi::ENTRY_EXPORT) {
        Some((ExternalKind::Func, index)) => {
            let ty = info.func_type(*index);
            if !(ty.0.is_empty() && ty.1.is_empty()) {
                return Err(invalid(
                    "`_start` must take no parameters and return nothing",
                ));
            }
        }
        _ => return Err(invalid("the module must export a function `_start`")),
    }
    Ok(info)
}

impl Checked {
    /// Whether defined function `i` (0 = the first defined one) calls no
    /// wasm function: its frame is always the top one.
    pub fn is_leaf(&self, i: usize) -> bool {
        self.callees[i].is_empty() && !self.calls_indirect[i]
    }

    /// The (params, results) of function `index`.
    pub fn func_type(&self, index: u32) -> &(Vec<ValType>, Vec<ValType>) {
        &self.types[self.func_types[index as usize] as usize]
    }
}

fn check_import(import: &wasmparser::Import<'_>, info: &mut Checked) -> Result<(), Invalid> {
    if import.module != abi::IMPORT_MODULE {
        return Err(invalid(format!(
            "import {}::{} is not allowed; a guest may import only from `{}`",
            import.module,
            import.name,
            abi::IMPORT_MODULE
        )));
    }
    let TypeRef::Func(type_index) = import.ty else {
        return Err(invalid(format!(
            "import {}::{} must be a function",
            import.module, import.name
        )));
    };
    let Some(host) = abi::IMPORTS.iter().find(|h| h.name == import.name) else {
        return Err(invalid(format!(
            "unknown host function {}::{}; ABI v1 has input_len, read_input, write_output",
            import.module, import.name
        )));
    };
    let (params, results) = info
        .types
        .get(type_index as usize)
        .ok_or_else(|| invalid("import names an unknown type"))?;
    if params.len() != host.params
        || params.iter().any(|p| *p != ValType::I32)
        || results.as_slice() != [ValType::I32]
    {
        return Err(invalid(format!(
            "host function {} has the wrong signature; it takes {} i32 and returns one i32",
            host.name, host.params
        )));
    }
    let index = info.func_types.len() as u32;
    if host.params > 0 {
        info.sized_host_calls.push(index);
    }
    info.func_types.push(type_index);
    info.imported_funcs += 1;
    Ok(())
}

/// Instructions of enabled proposals that v1 still refuses: reference values
/// and table mutation (only `call_indirect` needs the table).
fn check_operator(op: &Operator<'_>) -> Result<(), Invalid> {
    let name = match op {
        Operator::RefNull { .. } => "ref.null",
        Operator::RefIsNull => "ref.is_null",
        Operator::RefFunc { .. } => "ref.func",
        Operator::TableGet { .. } => "table.get",
        Operator::TableSet { .. } => "table.set",
        Operator::TableGrow { .. } => "table.grow",
        Operator::TableFill { .. } => "table.fill",
        Operator::TypedSelect { ty } if !matches!(ty, ValType::I32 | ValType::I64) => {
            "select of a reference"
        }
        _ => return Ok(()),
    };
    Err(invalid(format!(
        "instruction {name} is not allowed in ABI v1"
    )))
}
