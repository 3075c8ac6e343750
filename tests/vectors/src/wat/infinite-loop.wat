;; Spins forever: ends at the fuel cap with out-of-fuel.
(module
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32)
    (loop $forever
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $forever))))
