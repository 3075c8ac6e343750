;; Writes some output, then hits unreachable (what a Rust panic compiles
;; to): the partial output is discarded; trap-unreachable.
(module
  (import "edgerun" "write_output" (func $write_output (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "partial")
  (func (export "_start")
    (drop (call $write_output (i32.const 0) (i32.const 7)))
    unreachable))
