;; An active element segment that runs past the end of its table:
;; instantiation traps (trap-out-of-bounds, no fuel charged).
(module
  (memory (export "memory") 1)
  (table 2 2 funcref)
  (elem (i32.const 1) $f $f)
  (func $f)
  (func (export "_start")))
