//! wasm-smith modules shaped like ABI v1 guests (integer-only, the
//! `edgerun` imports, a `_start` export, one bounded memory exported as
//! `memory`, at most one bounded table) through validate + instrument + run.
//! Many are still refused (reference instructions, host functions in
//! tables, ...); those must come out as `invalid-module` with 0 fuel.

#![no_main]

use std::sync::OnceLock;

use arbitrary::Unstructured;
use edgerun_protocol::limits::Limits;
use edgerun_runtime_fuzz::{MAX_FUEL, MAX_MEMORY, MAX_OUTPUT, Stats, check};
use libfuzzer_sys::fuzz_target;
use wasm_encoder::{
    CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, ImportSection,
    Instruction, Module, TypeSection, ValType,
};

static STATS: Stats = Stats::new();

/// `(import "edgerun" ...)` for the three host functions: what wasm-smith
/// may import.
fn imports_module() -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]);
    types.ty().function([ValType::I32; 3], [ValType::I32]);
    types.ty().function([ValType::I32; 2], [ValType::I32]);
    let mut imports = ImportSection::new();
    for (name, ty) in [("input_len", 0), ("read_input", 1), ("write_output", 2)] {
        imports.import("edgerun", name, EntityType::Function(ty));
    }
    let mut module = Module::new();
    module.section(&types).section(&imports);
    module.finish()
}

/// `(func (export "_start"))`: the export every module gets.
fn exports_module() -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut funcs = FunctionSection::new();
    funcs.function(0);
    let mut exports = ExportSection::new();
    exports.export("_start", ExportKind::Func, 0);
    let mut code = CodeSection::new();
    let mut body = Function::new([]);
    body.instruction(&Instruction::End);
    code.function(&body);
    let mut module = Module::new();
    module
        .section(&types)
        .section(&funcs)
        .section(&exports)
        .section(&code);
    module.finish()
}

fn config(u: &mut Unstructured<'_>) -> arbitrary::Result<wasm_smith::Config> {
    static IMPORTS: OnceLock<Vec<u8>> = OnceLock::new();
    static EXPORTS: OnceLock<Vec<u8>> = OnceLock::new();
    let mut c = wasm_smith::Config::default();
    c.available_imports = Some(IMPORTS.get_or_init(imports_module).clone());
    c.exports = Some(EXPORTS.get_or_init(exports_module).clone());
    // ABI v1's features: no floats, SIMD, threads, tail calls, exceptions,
    // GC, memory64, extended-const, saturating float conversions.
    c.allow_floats = false;
    c.simd_enabled = false;
    c.relaxed_simd_enabled = false;
    c.threads_enabled = false;
    c.shared_everything_threads_enabled = false;
    c.tail_call_enabled = false;
    c.exceptions_enabled = false;
    c.gc_enabled = false;
    c.memory64_enabled = false;
    c.extended_const_enabled = false;
    c.saturating_float_to_int_enabled = false;
    c.custom_page_sizes_enabled = false;
    c.wide_arithmetic_enabled = false;
    c.sign_extension_ops_enabled = true;
    c.multi_value_enabled = true;
    c.bulk_memory_enabled = true;
    // Reference types are on in v1 only for call_indirect's encoding; a
    // module using their instructions is refused, so only sometimes.
    c.reference_types_enabled = u.ratio(1u8, 4)?;
    c.allow_start_export = false;
    // One memory of at most 64 pages with a maximum, at most one table with
    // a maximum; small everything else.
    c.min_memories = 1;
    c.max_memories = 1;
    c.max_memory32_bytes = 64 * 65_536;
    c.memory_max_size_required = true;
    c.max_tables = 1;
    c.max_table_elements = 64;
    c.table_max_size_required = true;
    c.max_types = 16;
    c.max_funcs = 16;
    c.max_globals = 8;
    c.max_data_segments = 4;
    c.max_element_segments = 4;
    c.max_elements = 16;
    c.max_instructions = u.int_in_range(1..=200)?;
    c.max_tags = 0;
    Ok(c)
}

/// Adds `(export "memory" (memory 0))` to the module's export section
/// (wasm-smith's `exports` option only places functions and globals).
fn export_memory(wasm: &[u8]) -> Vec<u8> {
    use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
    let mut out = Module::new();
    let mut re = RoundtripReencoder;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.expect("wasm-smith emits well-formed modules");
        match payload {
            wasmparser::Payload::ExportSection(reader) => {
                let mut exports = ExportSection::new();
                re.parse_export_section(&mut exports, reader)
                    .expect("wasm-smith emits well-formed modules");
                exports.export("memory", ExportKind::Memory, 0);
                out.section(&exports);
            }
            other => {
                if let Some((id, range)) = other.as_section() {
                    out.section(&wasm_encoder::RawSection {
                        id,
                        data: &wasm[range],
                    });
                }
            }
        }
    }
    out.finish()
}

fuzz_target!(|bytes: &[u8]| {
    STATS.input("module");
    let mut u = Unstructured::new(bytes);
    let Ok(config) = config(&mut u) else { return };
    // Mostly the full fuzz cap; sometimes a random one, to end in the
    // middle of things.
    let fuel = match u.ratio(1u8, 8) {
        Ok(true) => u.int_in_range(0..=MAX_FUEL).unwrap_or(0),
        _ => MAX_FUEL,
    };
    let Ok(module) = wasm_smith::Module::new(config, &mut u) else {
        return;
    };
    // Whatever wasm-smith left is the job's input.
    let input = u.take_rest();
    let wasm = export_memory(&module.to_bytes());
    let limits = Limits::new(MAX_MEMORY, fuel, MAX_OUTPUT / 16);
    check(&wasm, input, &limits, &STATS);
});
