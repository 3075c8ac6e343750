;; Copies the input to the output 1 KiB at a time.
(module
  (import "edgerun" "input_len" (func $input_len (result i32)))
  (import "edgerun" "read_input" (func $read_input (param i32 i32 i32) (result i32)))
  (import "edgerun" "write_output" (func $write_output (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $off i32) (local $n i32)
    (block $done
      (loop $next
        (local.set $n (call $read_input (i32.const 0) (local.get $off) (i32.const 1024)))
        (br_if $done (i32.eqz (local.get $n)))
        (drop (call $write_output (i32.const 0) (local.get $n)))
        (local.set $off (i32.add (local.get $off) (local.get $n)))
        (br $next)))))
