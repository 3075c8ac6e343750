//! Metering by instrumentation: fuel schedule `edgerun-block-v1` and stack
//! schedule `edgerun-frames-v1` (docs/runtime.md).
//!
//! The pass rewrites a validated module so that it meters itself: two
//! exported mutable globals carry the remaining fuel and the stack height,
//! charged by plain wasm instructions the pass inserts. The schedule is a
//! function of the job's own bytecode, so every engine that runs the
//! instrumented module (wasmi natively or inside wasm, a browser's or
//! Node's engine) reaches the same fuel count and traps at the same point.
//!
//! - Fuel. A function body is cut into *segments* at every point control
//!   can enter other than by falling through: the function entry, a loop
//!   header, the start of an `if` arm or `else` arm, and after each `end`;
//!   also after `br`, `br_table`, `return` and `unreachable`, so dead code is
//!   never charged. On entering a segment the pass subtracts the number of
//!   operators in it (each operator costs 1, structural ones included) from
//!   the fuel global; the charge is made in full on entry even if the
//!   segment is left early. Bulk memory and table operations and the two
//!   sized host calls additionally cost `len >> 6` (one unit per 64 bytes),
//!   charged just before them. At the function entry and every loop header
//!   the pass checks the counter and traps once it is below zero, so every
//!   cycle in the control flow is checked; at the end of a run a counter
//!   below zero means the job ran out of fuel, whatever else happened.
//! - Stack. Each function's frame costs `FRAME_OVERHEAD`, plus params and
//!   locals, plus its highest operand stack (from validation), added to the stack
//!   global on entry and checked against `STACK_LIMIT`, subtracted on every
//!   exit. The limit sits far below every engine's own, so deep recursion
//!   traps in our code, at the same depth, everywhere.
//! - Leaves. A function that calls no wasm function (host calls aside) is
//!   a leaf: its frame is always the top one and it cannot recurse, so it
//!   carries no stack accounting and no entry check (its loops still check).
//!   Instead every caller's frame cost includes the largest leaf it can call
//!   (directly, or through the table for `call_indirect`), so the counted
//!   height still bounds the real one.
//! - Memory. The memory's declared maximum becomes the job's cap (in whole
//!   pages), so `memory.grow` past it returns -1 on every engine. Each
//!   `memory.grow` that returns -1 sets a third global, so an `unreachable`
//!   trap after it (a guest's allocator giving up) ends as `memory-limit`.

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, ExportKind, ExportSection, Function, GlobalSection,
    GlobalType, Instruction, MemorySection, MemoryType, Module, TypeSection, ValType,
};
use wasmparser::{Operator, Parser, Payload};

use crate::validate::{Checked, PAGE_BYTES};

/// Exports the pass adds; a guest may not export names with this prefix.
pub const RESERVED_EXPORT_PREFIX: &str = "edgerun:";
/// The remaining-fuel global (i64), set by the host before `_start`.
pub const FUEL_EXPORT: &str = "edgerun:fuel";
/// The stack-height global (i32).
pub const STACK_EXPORT: &str = "edgerun:stack";

/// Set to 1 (i32) once `memory.grow` has returned -1: a later
/// `unreachable` trap is then reported as `memory-limit` (a guest's
/// allocator gave up at the cap).
pub const GROW_REFUSED_EXPORT: &str = "edgerun:grow-refused";

/// Slots every frame costs beyond its params, locals and operand stack.
pub const FRAME_OVERHEAD: u64 = 16;
/// The stack height (in slots) past which a call traps with
/// `trap-stack-overflow`.
pub const STACK_LIMIT: u32 = 65_536;
/// Bulk operations and sized host calls cost one unit per this many bytes.
pub const BULK_SHIFT: i64 = 6;

/// The instrumented module's bytes.
pub fn instrument(wasm: &[u8], info: &Checked, max_memory_bytes: u32) -> Vec<u8> {
    let mut module = Module::new();
    let mut re = RoundtripReencoder;
    let fuel = info.globals;
    let stack = info.globals + 1;
    let grow_refused = info.globals + 2;
    let mut globals_done = false;
    let mut code: Option<CodeSection> = None;
    let mut defined = 0usize;

    // Block types `[] -> results` for functions with several results.
    let mut extra_types: Vec<Vec<ValType>> = Vec::new();
    let mut wrapper_type = Vec::with_capacity(info.func_types.len());
    let imported = info.imported_funcs;
    let leaf_frame = |f: u32| -> u64 {
        let i = (f - imported) as usize;
        if info.is_leaf(i) {
            FRAME_OVERHEAD + info.frame_slots[i]
        } else {
            0
        }
    };
    let table_leaf = info
        .in_table
        .iter()
        .map(|&f| leaf_frame(f))
        .max()
        .unwrap_or(0);
    let frames: Vec<Option<u64>> = (0..info.frame_slots.len())
        .map(|i| {
            if info.is_leaf(i) {
                return None;
            }
            let direct = info.callees[i]
                .iter()
                .map(|&f| leaf_frame(f))
                .max()
                .unwrap_or(0);
            let indirect = if info.calls_indirect[i] {
                table_leaf
            } else {
                0
            };
            Some(FRAME_OVERHEAD + info.frame_slots[i] + direct.max(indirect))
        })
        .collect();
    for f in info.imported_funcs as usize..info.func_types.len() {
        let (_, results) = &info.types[info.func_types[f] as usize];
        let results: Vec<ValType> = results.iter().map(|t| re.val_type(*t).unwrap()).collect();
        wrapper_type.push(match results.len() {
            0 => BlockType::Empty,
            1 => BlockType::Result(results[0]),
            _ => {
                let index = match extra_types.iter().position(|t| *t == results) {
                    Some(i) => i,
                    None => {
                        extra_types.push(results);
                        extra_types.len() - 1
                    }
                };
                BlockType::FunctionType((info.types.len() + index) as u32)
            }
        });
    }

    let add_globals = |module: &mut Module,
                       section: Option<wasmparser::GlobalSectionReader<'_>>| {
        let mut globals = GlobalSection::new();
        if let Some(section) = section {
            RoundtripReencoder
                .parse_global_section(&mut globals, section)
                .expect("validated");
        }
        let mutable_i64 = GlobalType {
            val_type: ValType::I64,
            mutable: true,
            shared: false,
        };
        let mutable_i32 = GlobalType {
            val_type: ValType::I32,
            ..mutable_i64
        };
        globals.global(mutable_i64, &ConstExpr::i64_const(0));
        globals.global(mutable_i32, &ConstExpr::i32_const(0));
        globals.global(mutable_i32, &ConstExpr::i32_const(0));
        module.section(&globals);
    };

    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.expect("validated");
        match payload {
            Payload::TypeSection(reader) => {
                let mut types = TypeSection::new();
                re.parse_type_section(&mut types, reader)
                    .expect("validated");
                for results in &extra_types {
                    types.ty().function([], results.iter().copied());
                }
                module.section(&types);
            }
            Payload::ImportSection(reader) => {
                let mut s = wasm_encoder::ImportSection::new();
                re.parse_import_section(&mut s, reader).expect("validated");
                module.section(&s);
            }
            Payload::FunctionSection(reader) => {
                let mut s = wasm_encoder::FunctionSection::new();
                re.parse_function_section(&mut s, reader)
                    .expect("validated");
                module.section(&s);
            }
            Payload::TableSection(reader) => {
                let mut s = wasm_encoder::TableSection::new();
                re.parse_table_section(&mut s, reader).expect("validated");
                module.section(&s);
            }
            Payload::MemorySection(_) => {
                let cap_pages = u64::from(max_memory_bytes / PAGE_BYTES);
                let maximum = info
                    .memory_max_pages
                    .map_or(cap_pages, |m| m.min(cap_pages));
                let mut s = MemorySection::new();
                s.memory(MemoryType {
                    minimum: info.memory_min_pages,
                    maximum: Some(maximum),
                    memory64: false,
                    shared: false,
                    page_size_log2: None,
                });
                module.section(&s);
            }
            Payload::GlobalSection(reader) => {
                add_globals(&mut module, Some(reader));
                globals_done = true;
            }
            Payload::ExportSection(reader) => {
                if !globals_done {
                    add_globals(&mut module, None);
                    globals_done = true;
                }
                let mut s = ExportSection::new();
                re.parse_export_section(&mut s, reader).expect("validated");
                s.export(FUEL_EXPORT, ExportKind::Global, fuel);
                s.export(STACK_EXPORT, ExportKind::Global, stack);
                s.export(GROW_REFUSED_EXPORT, ExportKind::Global, grow_refused);
                module.section(&s);
            }
            Payload::ElementSection(reader) => {
                let mut s = wasm_encoder::ElementSection::new();
                re.parse_element_section(&mut s, reader).expect("validated");
                module.section(&s);
            }
            Payload::DataCountSection { count, .. } => {
                module.section(&wasm_encoder::DataCountSection { count });
            }
            Payload::DataSection(reader) => {
                if let Some(code) = code.take() {
                    module.section(&code);
                }
                let mut s = wasm_encoder::DataSection::new();
                re.parse_data_section(&mut s, reader).expect("validated");
                module.section(&s);
            }
            Payload::CodeSectionStart { .. } => code = Some(CodeSection::new()),
            Payload::CodeSectionEntry(body) => {
                let index = info.imported_funcs as usize + defined;
                let f = FunctionPlan {
                    info,
                    fuel,
                    stack,
                    grow_refused,
                    frame: frames[defined],
                    wrapper: wrapper_type[defined],
                    index,
                };
                let function = f.instrument(&body);
                code.as_mut()
                    .expect("code section started")
                    .function(&function);
                defined += 1;
            }
            Payload::End(_) => {
                if let Some(code) = code.take() {
                    module.section(&code);
                }
            }
            // Custom sections carry no semantics; validation refused the rest.
            _ => {}
        }
    }
    module.finish()
}

struct FunctionPlan<'a> {
    info: &'a Checked,
    fuel: u32,
    stack: u32,
    grow_refused: u32,
    /// The counted frame, or `None` for a leaf.
    frame: Option<u64>,
    wrapper: BlockType,
    index: usize,
}

/// Whether a segment ends after this operator.
fn ends_segment(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::Br { .. }
            | Operator::BrTable { .. }
            | Operator::Return
            | Operator::Unreachable
    )
}

impl FunctionPlan<'_> {
    fn instrument(&self, body: &wasmparser::FunctionBody<'_>) -> Function {
        let mut re = RoundtripReencoder;
        let mut locals = Vec::new();
        let mut declared = 0u32;
        for local in body.get_locals_reader().expect("validated") {
            let (count, ty) = local.expect("validated");
            declared += count;
            locals.push((count, re.val_type(ty).expect("validated")));
        }
        let params = self.info.func_type(self.index as u32).0.len() as u32;
        let scratch = params + declared;

        let ops: Vec<Operator<'_>> = body
            .get_operators_reader()
            .expect("validated")
            .into_iter()
            .map(|op| op.expect("validated"))
            .collect();
        // Two scratch locals: an i32 for lengths and grow results, an i64
        // for the fuel counter at check points.
        locals.push((1, ValType::I32));
        locals.push((1, ValType::I64));
        let fuel_scratch = scratch + 1;

        // Segment costs, in order of their start.
        let mut costs = Vec::new();
        let mut count = 0u64;
        for op in &ops {
            count += 1;
            if ends_segment(op) {
                costs.push(count);
                count = 0;
            }
        }
        let mut costs = costs.into_iter();

        let mut f = Function::new(locals);
        // Entry: fuel for the first segment, checked; then the frame. A
        // leaf does neither check (see the module docs).
        self.charge(
            &mut f,
            costs.next().unwrap_or(0),
            self.frame.is_some().then_some(fuel_scratch),
        );
        let frame = self.frame.map(|slots| slots.min(i32::MAX as u64) as i32);
        if let Some(frame) = frame {
            f.instruction(&Instruction::GlobalGet(self.stack));
            f.instruction(&Instruction::I32Const(frame));
            f.instruction(&Instruction::I32Add);
            f.instruction(&Instruction::GlobalSet(self.stack));
            f.instruction(&Instruction::GlobalGet(self.stack));
            f.instruction(&Instruction::I32Const(STACK_LIMIT as i32));
            f.instruction(&Instruction::I32GtU);
            f.instruction(&Instruction::If(BlockType::Empty));
            f.instruction(&Instruction::Unreachable);
            f.instruction(&Instruction::End);
        }
        // The body runs inside a block with the function's results, so a
        // branch to the function's own label lands on the exit below.
        f.instruction(&Instruction::Block(self.wrapper));

        let last = ops.len() - 1;
        for (i, op) in ops.iter().enumerate() {
            if self.sized(op) {
                self.charge_len(&mut f, scratch);
            }
            if matches!(op, Operator::Return) {
                self.leave(&mut f, frame);
            }
            f.instruction(&re.instruction(op.clone()).expect("validated"));
            if matches!(op, Operator::MemoryGrow { .. }) {
                self.note_refusal(&mut f, scratch);
            }
            if i == last {
                break;
            }
            if ends_segment(op) {
                let check = matches!(op, Operator::Loop { .. }).then_some(fuel_scratch);
                self.charge(&mut f, costs.next().unwrap_or(0), check);
            }
        }
        // The original final `end` closed the wrapper block.
        self.leave(&mut f, frame);
        f.instruction(&Instruction::End);
        f
    }

    /// Whether `op` takes a byte length on top of the stack and costs by it.
    fn sized(&self, op: &Operator<'_>) -> bool {
        match op {
            Operator::MemoryFill { .. }
            | Operator::MemoryCopy { .. }
            | Operator::MemoryInit { .. }
            | Operator::TableCopy { .. }
            | Operator::TableInit { .. } => true,
            Operator::Call { function_index } => {
                self.info.sized_host_calls.contains(function_index)
            }
            _ => false,
        }
    }

    /// Subtracts `cost` from the fuel global; with `check` (a scratch i64
    /// local), traps if the counter is then below zero.
    fn charge(&self, f: &mut Function, cost: u64, check: Option<u32>) {
        if cost > 0 || check.is_some() {
            f.instruction(&Instruction::GlobalGet(self.fuel));
        }
        if cost > 0 {
            f.instruction(&Instruction::I64Const(cost as i64));
            f.instruction(&Instruction::I64Sub);
        }
        match check {
            None => {
                if cost > 0 {
                    f.instruction(&Instruction::GlobalSet(self.fuel));
                }
            }
            Some(tmp) => {
                if cost > 0 {
                    f.instruction(&Instruction::LocalTee(tmp));
                    f.instruction(&Instruction::GlobalSet(self.fuel));
                    f.instruction(&Instruction::LocalGet(tmp));
                }
                f.instruction(&Instruction::I64Const(0));
                f.instruction(&Instruction::I64LtS);
                f.instruction(&Instruction::If(BlockType::Empty));
                f.instruction(&Instruction::Unreachable);
                f.instruction(&Instruction::End);
            }
        }
    }

    /// Charges `len >> BULK_SHIFT` for the i32 length on top of the stack,
    /// leaving the stack as it was.
    fn charge_len(&self, f: &mut Function, scratch: u32) {
        f.instruction(&Instruction::LocalTee(scratch));
        f.instruction(&Instruction::GlobalGet(self.fuel));
        f.instruction(&Instruction::LocalGet(scratch));
        f.instruction(&Instruction::I64ExtendI32U);
        f.instruction(&Instruction::I64Const(BULK_SHIFT));
        f.instruction(&Instruction::I64ShrU);
        f.instruction(&Instruction::I64Sub);
        f.instruction(&Instruction::GlobalSet(self.fuel));
    }

    /// After `memory.grow`: if it returned -1, set the grow-refused flag;
    /// the result stays on the stack.
    fn note_refusal(&self, f: &mut Function, scratch: u32) {
        f.instruction(&Instruction::LocalTee(scratch));
        f.instruction(&Instruction::I32Const(-1));
        f.instruction(&Instruction::I32Eq);
        f.instruction(&Instruction::If(BlockType::Empty));
        f.instruction(&Instruction::I32Const(1));
        f.instruction(&Instruction::GlobalSet(self.grow_refused));
        f.instruction(&Instruction::End);
        f.instruction(&Instruction::LocalGet(scratch));
    }

    /// Releases the frame on a function exit.
    fn leave(&self, f: &mut Function, frame: Option<i32>) {
        let Some(frame) = frame else { return };
        f.instruction(&Instruction::GlobalGet(self.stack));
        f.instruction(&Instruction::I32Const(frame));
        f.instruction(&Instruction::I32Sub);
        f.instruction(&Instruction::GlobalSet(self.stack));
    }
}
