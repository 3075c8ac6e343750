//! Hand-written guests (WAT) against the runtime: every failure reason, the
//! fuel schedule, the caps and the validation rules.

use edgerun_protocol::abi::FailReason;
use edgerun_protocol::limits::Limits;
use edgerun_runtime::{prepare, run};

const IMPORTS: &str = r#"
    (import "edgerun" "input_len" (func $input_len (result i32)))
    (import "edgerun" "read_input" (func $read_input (param i32 i32 i32) (result i32)))
    (import "edgerun" "write_output" (func $write_output (param i32 i32) (result i32)))
"#;

fn module(body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        "(module {IMPORTS} (memory (export \"memory\") 1) {body})"
    ))
    .unwrap()
}

fn limits(fuel: u64) -> Limits {
    Limits::new(4 << 20, fuel, 1 << 16)
}

fn reason(wasm: &[u8], input: &[u8], limits: &Limits) -> Result<(), FailReason> {
    run(wasm, input, limits).result
}

#[test]
fn echo_copies_input_to_output() {
    let wasm = module(
        r#"(func (export "_start")
            (local $n i32)
            (local.set $n (call $read_input (i32.const 0) (i32.const 0) (call $input_len)))
            (drop (call $write_output (i32.const 0) (local.get $n))))"#,
    );
    let out = run(&wasm, b"hello edgerun", &limits(10_000));
    assert_eq!(out.result, Ok(()));
    assert_eq!(out.output, b"hello edgerun");
    assert!(out.fuel_used > 0);
}

#[test]
fn read_input_clamps_to_the_input_and_returns_bytes_copied() {
    // Ask for 100 bytes from offset 3 of a 5-byte input: 2 copied; the
    // count is written as output.
    let wasm = module(
        r#"(func (export "_start")
            (i32.store (i32.const 100) (call $read_input (i32.const 0) (i32.const 3) (i32.const 100)))
            (i32.store (i32.const 104) (call $read_input (i32.const 0) (i32.const 99) (i32.const 100)))
            (drop (call $write_output (i32.const 100) (i32.const 8))))"#,
    );
    let out = run(&wasm, b"abcde", &limits(10_000));
    assert_eq!(out.output, [2, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn fuel_is_the_count_of_operators_charged_per_segment() {
    // One segment: 4 operators (i32.const, i32.const, call, drop) + end = 5.
    let wasm = module(
        r#"(func (export "_start") (drop (call $write_output (i32.const 0) (i32.const 0))))"#,
    );
    assert_eq!(run(&wasm, b"", &limits(100)).fuel_used, 5);
    // A loop running 10 times: the body segment is charged every time.
    let wasm = module(
        r#"(func (export "_start") (local $i i32)
            (loop $l
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 10)))))"#,
    );
    // entry: `loop` (1); body: get, const, add, set, get, const, lt_u, br_if, end (9) x10;
    // after the loop: the function's end (1).
    assert_eq!(run(&wasm, b"", &limits(1_000)).fuel_used, 1 + 9 * 10 + 1);
}

#[test]
fn the_same_job_uses_the_same_fuel_every_time() {
    let wasm = module(
        r#"(func $fib (param i32) (result i32)
              (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
                (then (local.get 0))
                (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                               (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
           (func (export "_start")
              (i32.store (i32.const 0) (call $fib (i32.const 20)))
              (drop (call $write_output (i32.const 0) (i32.const 4))))"#,
    );
    let a = run(&wasm, b"", &limits(10_000_000));
    let b = run(&wasm, b"", &limits(10_000_000));
    assert_eq!(a, b);
    assert_eq!(a.output, 6765u32.to_le_bytes());
    // With exactly that much fuel it still succeeds; one less runs out.
    let exact = run(&wasm, b"", &limits(a.fuel_used));
    assert_eq!(exact.result, Ok(()));
    let short = run(&wasm, b"", &limits(a.fuel_used - 1));
    assert_eq!(short.result, Err(FailReason::OutOfFuel));
    assert_eq!(short.fuel_used, a.fuel_used - 1);
    assert_eq!(short.output, b"edgerun:fail:out-of-fuel");
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let wasm = module(r#"(func (export "_start") (loop $l (br $l)))"#);
    let out = run(&wasm, b"", &limits(1_000_000));
    assert_eq!(out.result, Err(FailReason::OutOfFuel));
    assert_eq!(out.fuel_used, 1_000_000);
}

#[test]
fn bulk_memory_costs_by_length() {
    let fill = |len: u32| {
        module(&format!(
            r#"(func (export "_start") (memory.fill (i32.const 0) (i32.const 7) (i32.const {len})))"#
        ))
    };
    let small = run(&fill(64), b"", &limits(1_000_000)).fuel_used;
    let big = run(&fill(65_536), b"", &limits(1_000_000)).fuel_used;
    assert_eq!(big - small, (65_536 >> 6) - 1);
    // A fill bigger than the fuel allows cannot complete.
    let out = run(&fill(65_536), b"", &limits(500));
    assert_eq!(out.result, Err(FailReason::OutOfFuel));
}

#[test]
fn memory_grow_past_the_cap_returns_minus_one() {
    // Grow one page at a time until refused; report the page count.
    let wasm = module(
        r#"(func (export "_start")
            (block $done (loop $l
              (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
              (br $l)))
            (i32.store (i32.const 0) (memory.size))
            (drop (call $write_output (i32.const 0) (i32.const 4))))"#,
    );
    let out = run(&wasm, b"", &Limits::new(10 * 65_536 + 100, 1_000_000, 64));
    assert_eq!(out.result, Ok(()));
    assert_eq!(out.output, 10u32.to_le_bytes());
}

#[test]
fn declaring_more_memory_than_the_cap_is_invalid() {
    let wasm = wat::parse_str(format!(
        "(module {IMPORTS} (memory (export \"memory\") 100) (func (export \"_start\")))"
    ))
    .unwrap();
    assert_eq!(
        reason(&wasm, b"", &Limits::new(64 * 65_536, 1000, 10)),
        Err(FailReason::InvalidModule)
    );
    assert_eq!(
        reason(&wasm, b"", &Limits::new(100 * 65_536, 1000, 10)),
        Ok(())
    );
}

#[test]
fn output_past_the_cap_fails_with_output_limit() {
    let wasm = module(
        r#"(func (export "_start") (loop $l (drop (call $write_output (i32.const 0) (i32.const 1000))) (br $l)))"#,
    );
    let out = run(&wasm, b"", &Limits::new(65_536, 1_000_000, 10_000));
    assert_eq!(out.result, Err(FailReason::OutputLimit));
    assert_eq!(out.output, b"edgerun:fail:output-limit");
    // Exactly the cap is fine.
    let wasm = module(
        r#"(func (export "_start") (drop (call $write_output (i32.const 0) (i32.const 10))))"#,
    );
    assert_eq!(reason(&wasm, b"", &Limits::new(65_536, 1000, 10)), Ok(()));
}

#[test]
fn traps_map_to_their_reasons() {
    let cases = [
        ("(unreachable)", FailReason::TrapUnreachable),
        (
            "(drop (i32.div_u (i32.const 1) (i32.const 0)))",
            FailReason::TrapDivByZero,
        ),
        (
            "(drop (i32.div_s (i32.const -2147483648) (i32.const -1)))",
            FailReason::TrapIntegerOverflow,
        ),
        (
            "(drop (i32.load (i32.const 65535)))",
            FailReason::TrapOutOfBounds,
        ),
        (
            "(drop (call $write_output (i32.const 65530) (i32.const 100)))",
            FailReason::TrapOutOfBounds,
        ),
        (
            "(drop (call $read_input (i32.const 65535) (i32.const 0) (i32.const 10)))",
            FailReason::TrapOutOfBounds,
        ),
    ];
    for (body, want) in cases {
        let wasm = module(&format!(r#"(func (export "_start") {body})"#));
        assert_eq!(
            reason(&wasm, b"0123456789", &limits(1_000)),
            Err(want),
            "{body}"
        );
    }
    let wasm = module(
        r#"(type $t (func))
           (table 2 2 funcref)
           (elem (i32.const 0) $f)
           (func $f)
           (func (export "_start") (call_indirect (type $t) (i32.const 1)))"#,
    );
    assert_eq!(
        reason(&wasm, b"", &limits(1_000)),
        Err(FailReason::TrapIndirectCall)
    );
}

#[test]
fn deep_recursion_traps_at_the_stack_limit() {
    let wasm = module(
        r#"(func $down (param i32) (result i32)
              (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
                (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
           (func (export "_start")
              (i32.store (i32.const 0) (call $down (i32.load (i32.const 8))))
              (drop (call $write_output (i32.const 0) (i32.const 4))))
           (data (i32.const 8) "\00\10\00\00")"#,
    );
    // 4096 frames of 16 + 1 param + 3 operand slots = 81,920 slots > 65,536.
    let out = run(&wasm, b"", &limits(100_000_000));
    assert_eq!(out.result, Err(FailReason::TrapStackOverflow));
    // Unbounded recursion too, long before fuel runs out.
    let wasm = module(r#"(func $f (call $f)) (func (export "_start") (call $f))"#);
    let out = run(&wasm, b"", &limits(100_000_000));
    assert_eq!(out.result, Err(FailReason::TrapStackOverflow));
    assert!(out.fuel_used < 100_000);
}

#[test]
fn validation_refuses_what_abi_v1_forbids() {
    let start = r#"(func (export "_start"))"#;
    let bad = [
        // A float in a function nobody calls.
        format!(
            "(module {IMPORTS} (memory (export \"memory\") 1) {start} (func (result f64) (f64.const 1)))"
        ),
        // An f32 local, no float instruction.
        format!(
            "(module {IMPORTS} (memory (export \"memory\") 1) (func (export \"_start\") (local f32)))"
        ),
        // A foreign import.
        format!("(module (import \"env\" \"now\" (func)) (memory (export \"memory\") 1) {start})"),
        // An unknown host function of our module.
        format!(
            "(module (import \"edgerun\" \"clock\" (func (result i32))) (memory (export \"memory\") 1) {start})"
        ),
        // A host function with the wrong signature.
        format!(
            "(module (import \"edgerun\" \"input_len\" (func (result i64))) (memory (export \"memory\") 1) {start})"
        ),
        // A start section.
        format!("(module (memory (export \"memory\") 1) (func $s) (start $s) {start})"),
        // No _start; _start with a parameter.
        "(module (memory (export \"memory\") 1))".to_string(),
        "(module (memory (export \"memory\") 1) (func (export \"_start\") (param i32)))"
            .to_string(),
        // Memory not exported, imported memory, two memories.
        format!("(module (memory 1) {start})"),
        format!("(module (import \"edgerun\" \"memory\" (memory 1)) {start})"),
        // A table without a maximum, an oversized one, a table op.
        format!("(module (memory (export \"memory\") 1) (table 1 funcref) {start})"),
        format!("(module (memory (export \"memory\") 1) (table 1 100000 funcref) {start})"),
        "(module (memory (export \"memory\") 1) (table 1 1 funcref) (func (export \"_start\") (drop (table.size 0)) (drop (table.grow 0 (ref.null func) (i32.const 1)))))".to_string(),
        // A host function in a table.
        format!(
            "(module {IMPORTS} (memory (export \"memory\") 1) (table 1 1 funcref) (elem (i32.const 0) $input_len) {start})"
        ),
        // A reserved export name.
        format!(
            "(module (memory (export \"memory\") 1) (global (export \"edgerun:fuel\") i32 (i32.const 0)) {start})"
        ),
        // SIMD.
        "(module (memory (export \"memory\") 1) (func (export \"_start\") (drop (v128.const i64x2 0 0))))".to_string(),
    ];
    for wat_src in &bad {
        let wasm = wat::parse_str(wat_src).unwrap();
        let out = run(&wasm, b"", &limits(1_000));
        assert_eq!(out.result, Err(FailReason::InvalidModule), "{wat_src}");
        assert_eq!(out.output, b"edgerun:fail:invalid-module");
        assert_eq!(out.fuel_used, 0);
    }
    // Malformed bytes.
    for bytes in [
        &b""[..],
        b"\0asm",
        b"\0asm\x01\0\0\0\x01\xff",
        b"not wasm at all",
    ] {
        assert_eq!(
            reason(bytes, b"", &limits(10)),
            Err(FailReason::InvalidModule)
        );
    }
}

#[test]
fn instrumented_modules_validate_and_cap_memory() {
    let wasm = module(r#"(func (export "_start"))"#);
    let out = prepare(&wasm, &Limits::new(3 * 65_536, 10, 10)).unwrap();
    let mut validator =
        wasmparser::Validator::new_with_features(edgerun_runtime::validate::features());
    validator.validate_all(&out).unwrap();
    let mut saw = false;
    for payload in wasmparser::Parser::new(0).parse_all(&out) {
        if let wasmparser::Payload::MemorySection(r) = payload.unwrap() {
            let m = r.into_iter().next().unwrap().unwrap();
            assert_eq!((m.initial, m.maximum), (1, Some(3)));
            saw = true;
        }
    }
    assert!(saw);
}

#[test]
fn a_trap_after_a_refused_grow_is_memory_limit() {
    let gives_up = module(
        r#"(func (export "_start")
            (if (i32.eq (memory.grow (i32.const 100)) (i32.const -1)) (then unreachable)))"#,
    );
    assert_eq!(
        reason(&gives_up, b"", &limits(1_000)),
        Err(FailReason::MemoryLimit)
    );
    // The same trap without a refused grow is an ordinary unreachable.
    let granted = module(
        r#"(func (export "_start")
            (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable)))"#,
    );
    assert_eq!(
        reason(&granted, b"", &limits(1_000)),
        Err(FailReason::TrapUnreachable)
    );
    // A refused grow the guest copes with changes nothing.
    let copes = module(
        r#"(func (export "_start")
            (drop (memory.grow (i32.const 100)))
            (drop (i32.div_u (i32.const 1) (i32.const 0))))"#,
    );
    assert_eq!(
        reason(&copes, b"", &limits(1_000)),
        Err(FailReason::TrapDivByZero)
    );
}

#[test]
fn a_segment_that_does_not_fit_traps_out_of_bounds_at_instantiation() {
    // Found by the `module` fuzz target: an active element segment past the
    // table's end made wasmi's instantiation fail, reported as an engine
    // failure instead of the job's outcome. Data segments likewise.
    let cases = [
        r#"(table 16 16 funcref) (elem (i32.const -1) $f) (func $f)"#,
        r#"(table 2 2 funcref) (elem (i32.const 2) $f) (func $f)"#,
        r#"(data (i32.const 65535) "ab")"#,
        r#"(data (i32.const -1) "a")"#,
    ];
    for segment in cases {
        let wasm = module(&format!(r#"{segment} (func (export "_start"))"#));
        let out = run(&wasm, b"", &limits(1_000));
        assert_eq!(out.result, Err(FailReason::TrapOutOfBounds), "{segment}");
        assert_eq!(out.fuel_used, 0, "{segment}");
        assert_eq!(out.output, b"edgerun:fail:trap-out-of-bounds");
    }
}
