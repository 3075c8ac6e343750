;; Recurses without end: traps with trap-stack-overflow at the instrumented
;; stack limit, at the same depth on every engine.
(module
  (memory (export "memory") 1)
  (func $deeper (param $n i64) (result i64)
    (i64.add (call $deeper (i64.add (local.get $n) (i64.const 1))) (i64.const 1)))
  (func (export "_start") (drop (call $deeper (i64.const 0)))))
