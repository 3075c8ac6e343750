;; An active data segment that runs past the end of memory: the module is
;; valid, but instantiation traps (trap-out-of-bounds, no fuel charged).
(module
  (memory (export "memory") 1)
  (data (i32.const 65530) "0123456789")
  (func (export "_start")))
