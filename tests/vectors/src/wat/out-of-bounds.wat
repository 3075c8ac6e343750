;; Loads past the end of a one-page memory: trap-out-of-bounds.
(module
  (memory (export "memory") 1)
  (func (export "_start") (drop (i64.load (i32.const 65532)))))
