;; What a Rust guest does when its allocator is refused at the cap: grow
;; until memory.grow returns -1, then panic (unreachable). The outcome is
;; memory-limit, not trap-unreachable.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $grow
      (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable))
