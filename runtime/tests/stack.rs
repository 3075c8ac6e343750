//! The stack schedule: counted frames bound the real stack, leaves included.

use edgerun_protocol::abi::FailReason;
use edgerun_protocol::limits::Limits;
use edgerun_runtime::instrument::{FRAME_OVERHEAD, STACK_LIMIT};
use edgerun_runtime::run;

/// `$r` recurses `depth` times and calls the leaf `$big` (1,000 i64 locals)
/// at every level. The leaf itself has no accounting, so `$r`'s counted
/// frame must include it: 16 + (1 param + 3 operands) + (16 + 1,000).
fn recursion_calling_a_big_leaf(depth: u32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
          (memory (export "memory") 1)
          (func $big (local {locals})
            (local.set 999 (i64.const 1)))
          (func $r (param i32) (result i32)
            (call $big)
            (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
              (else (i32.add (i32.const 1) (call $r (i32.sub (local.get 0) (i32.const 1)))))))
          (func (export "_start") (drop (call $r (i32.const {depth})))))"#,
        locals = "i64 ".repeat(1000)
    ))
    .unwrap()
}

#[test]
fn a_callers_frame_counts_the_largest_leaf_it_calls() {
    let per_level = FRAME_OVERHEAD + 1 + 3 + FRAME_OVERHEAD + 1000;
    let fits = (u64::from(STACK_LIMIT) / per_level) as u32 - 2;
    let limits = Limits::new(65_536, 100_000_000, 16);
    assert_eq!(
        run(&recursion_calling_a_big_leaf(fits), b"", &limits).result,
        Ok(())
    );
    // A few levels more overflow the counted stack, although the leaf frames
    // are never on the stack together.
    assert_eq!(
        run(&recursion_calling_a_big_leaf(fits + 3), b"", &limits).result,
        Err(FailReason::TrapStackOverflow)
    );
}

#[test]
fn leaves_still_check_fuel_in_their_loops() {
    // `$spin` is a leaf (no calls): no entry check, but its loop checks.
    let wasm = wat::parse_str(
        r#"(module
          (memory (export "memory") 1)
          (func $spin (loop $l (br $l)))
          (func (export "_start") (call $spin)))"#,
    )
    .unwrap();
    let out = run(&wasm, b"", &Limits::new(65_536, 50_000, 16));
    assert_eq!(out.result, Err(FailReason::OutOfFuel));
    assert_eq!(out.fuel_used, 50_000);
}

#[test]
fn sizes_the_instrumentation_could_push_past_engine_limits_are_invalid() {
    use edgerun_runtime::validate::{MAX_FUNCTION_BODY_BYTES, MAX_FUNCTION_LOCALS};
    let limits = Limits::new(65_536, 1_000, 16);
    let locals = |n: u32| {
        wat::parse_str(format!(
            r#"(module (memory (export "memory") 1) (func (export "_start") (local {})))"#,
            "i32 ".repeat(n as usize)
        ))
        .unwrap()
    };
    assert_eq!(
        run(&locals(MAX_FUNCTION_LOCALS), b"", &limits).result,
        Ok(())
    );
    assert_eq!(
        run(&locals(MAX_FUNCTION_LOCALS + 1), b"", &limits).result,
        Err(FailReason::InvalidModule)
    );
    // A body of `nop`s just over the cap.
    let body = |n: usize| {
        wat::parse_str(format!(
            r#"(module (memory (export "memory") 1) (func (export "_start") {}))"#,
            "nop ".repeat(n)
        ))
        .unwrap()
    };
    let big = body(MAX_FUNCTION_BODY_BYTES);
    assert_eq!(
        run(&big, b"", &Limits::new(65_536, 10_000_000, 16)).result,
        Err(FailReason::InvalidModule)
    );
    let fits = body(MAX_FUNCTION_BODY_BYTES - 16);
    assert_eq!(
        run(&fits, b"", &Limits::new(65_536, 10_000_000, 16)).result,
        Ok(())
    );
}

#[test]
fn a_body_full_of_distinct_constants_still_runs_on_wasmi() {
    // ~48k distinct i64 constants in one function, near the body cap: the
    // validator's caps must keep every valid module inside wasmi's limits.
    let consts: String = (0..48_000u64)
        .map(|i| format!("(drop (i64.const {}))", 1_000_000_007 * (i + 1)))
        .collect();
    let wasm = wat::parse_str(format!(
        r#"(module (memory (export "memory") 1) (func (export "_start") {consts}))"#
    ))
    .unwrap();
    let out = edgerun_runtime::run_with(
        &edgerun_runtime::Wasmi,
        &wasm,
        b"",
        &Limits::new(65_536, 10_000_000, 16),
    );
    match out {
        Ok(o) => assert!(
            o.result == Ok(()) || o.result == Err(FailReason::InvalidModule),
            "{o:?}"
        ),
        Err(e) => panic!("a valid module wasmi cannot run: {e}"),
    }
}
