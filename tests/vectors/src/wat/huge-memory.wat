;; Declares 4 GiB of memory up front (65536 pages), far over the cap: invalid.
(module
  (memory (export "memory") 65536)
  (func (export "_start")))
