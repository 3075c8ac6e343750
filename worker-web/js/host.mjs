// The browser-engine half of a worker's host: runs an instrumented module
// (worker-web validated and instrumented it) on this browser's own
// WebAssembly engine through engine.mjs, keeping the last few compiled
// modules by the key worker-web gives (blake3 of the wasm and its memory
// cap): customers post the same wasm with new inputs, and compiling is a
// fixed cost per job. Only compiled code is kept, never a result.

import { execute } from "./engine.mjs";

const KEEP = 4;
const compiled = new Map();

function compile(key, bytes) {
  if (key === undefined) return new WebAssembly.Module(bytes);
  let module = compiled.get(key);
  if (module) {
    compiled.delete(key);
  } else {
    module = new WebAssembly.Module(bytes);
    if (compiled.size >= KEEP) compiled.delete(compiled.keys().next().value);
  }
  compiled.set(key, module);
  return module;
}

/// `runModule(module, input, fuel, outputCap, key)` for worker-web's host.
export async function runModule(bytes, input, fuel, outputCap, key) {
  return execute(compile(key, bytes), input, outputCap, fuel);
}
