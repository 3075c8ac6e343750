;; A float instruction in a function nothing calls: still invalid (floats
;; are refused anywhere in the module, not only on executed paths).
(module
  (import "edgerun" "write_output" (func $write_output (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $never (result i32) (i32.trunc_f64_s (f64.div (f64.const 1) (f64.const 3))))
  (func (export "_start") (drop (call $write_output (i32.const 0) (i32.const 0)))))
