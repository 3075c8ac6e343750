;; Writes 4 KiB chunks forever: stops at the output cap with output-limit.
(module
  (import "edgerun" "write_output" (func $write_output (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $flood
      (drop (call $write_output (i32.const 0) (i32.const 4096)))
      (br $flood))))
