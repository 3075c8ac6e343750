;; A start section would run before `_start`, outside the entry point: invalid.
(module
  (memory (export "memory") 1)
  (func $init (i32.store (i32.const 0) (i32.const 1)))
  (start $init)
  (func (export "_start")))
