;; Calls an empty table slot: trap-indirect-call.
(module
  (type $v (func))
  (memory (export "memory") 1)
  (table 4 4 funcref)
  (elem (i32.const 0) $a)
  (func $a)
  (func (export "_start") (call_indirect (type $v) (i32.const 2))))
