;; Grows memory 16 pages at a time until refused (memory.grow returns -1
;; at the cap), then fills all of it (bulk fill costs fuel by length) and
;; reports the pages it got: the cap holds and the job still succeeds.
(module
  (import "edgerun" "write_output" (func $write_output (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (block $refused
      (loop $grow
        (br_if $refused (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
        (br $grow)))
    (memory.fill (i32.const 0) (i32.const 0xab) (i32.mul (memory.size) (i32.const 65536)))
    (i32.store (i32.const 0) (memory.size))
    (drop (call $write_output (i32.const 0) (i32.const 4)))))
