// The host-engine side of edgerun's engine seam: run an instrumented module
// (from `new Prepared(bundle).module`) on this JavaScript host's own
// WebAssembly engine, and report how it ended for `Prepared.finish`.
//
// The module meters itself (fuel and stack live in its exported globals), so
// this file only wires the three ABI v1 host functions and names the trap.
// Host-function semantics must match runtime/src/engine.rs exactly:
// - read_input(dst, offset, len): copies min(len, input_len - min(offset,
//   input_len)) bytes; [dst, dst + n) must lie in memory, else out-of-bounds;
// - write_output(src, len): the output cap is checked first (output-limit),
//   then [src, src + len) must lie in memory.

const OUTPUT_LIMIT = Symbol("output-limit");
const OUT_OF_BOUNDS = Symbol("out-of-bounds");

/// How a thrown value from `_start` ends the run, or null if it is not a
/// trap this runtime knows (an engine failure: never a job outcome).
export function classify(err) {
  if (err === OUTPUT_LIMIT) return "output-limit";
  if (err === OUT_OF_BOUNDS) return "trap:out-of-bounds";
  // V8: RangeError "Maximum call stack size exceeded"; Firefox:
  // InternalError "too much recursion".
  if (err instanceof RangeError && /call stack/i.test(err.message)) return "trap:stack-overflow";
  if (err?.name === "InternalError" && /recursion/i.test(err.message)) return "trap:stack-overflow";
  if (!(err instanceof WebAssembly.RuntimeError)) return null;
  const m = err.message.toLowerCase();
  if (m.includes("unreachable")) return "trap:unreachable";
  if (m.includes("by zero")) return "trap:div-by-zero";
  if (m.includes("unrepresentable") || m.includes("integer overflow")) return "trap:integer-overflow";
  if (m.includes("out of bounds")) return "trap:out-of-bounds";
  // V8: "null function or function signature mismatch", "uninitialized
  // element"; Firefox: "indirect call to null", "indirect call signature
  // mismatch".
  if (
    m.includes("signature mismatch") ||
    m.includes("null function") ||
    m.includes("uninitialized element") ||
    m.includes("indirect call")
  )
    return "trap:indirect-call";
  return null;
}

/// Runs `module` (Uint8Array or WebAssembly.Module) on `input` with
/// `outputCap` and the initial `fuel` (bigint). Returns
/// { end, fuelLeft: bigint, stack: number, growRefused: bool, output: Uint8Array }.
export function execute(module, input, outputCap, fuel) {
  let memory = null;
  const chunks = [];
  let outLen = 0;
  const imports = {
    edgerun: {
      input_len: () => input.length,
      read_input: (dst, offset, len) => {
        const off = Math.min(offset >>> 0, input.length);
        const n = Math.min(len >>> 0, input.length - off);
        const d = dst >>> 0;
        if (d + n > memory.buffer.byteLength) throw OUT_OF_BOUNDS;
        new Uint8Array(memory.buffer, d, n).set(input.subarray(off, off + n));
        return n;
      },
      write_output: (src, len) => {
        const l = len >>> 0;
        if (outLen + l > outputCap) throw OUTPUT_LIMIT;
        const s = src >>> 0;
        if (s + l > memory.buffer.byteLength) throw OUT_OF_BOUNDS;
        chunks.push(new Uint8Array(memory.buffer.slice(s, s + l)));
        outLen += l;
        return len;
      },
    },
  };
  const compiled = module instanceof WebAssembly.Module ? module : new WebAssembly.Module(module);
  let instance;
  try {
    instance = new WebAssembly.Instance(compiled, imports);
  } catch (err) {
    // An active data or element segment that does not fit traps at
    // instantiation: before `_start`, with no fuel charged (as in engine.rs).
    if (err instanceof WebAssembly.RuntimeError && /out of bounds/i.test(err.message)) {
      return { end: "trap:out-of-bounds", fuelLeft: fuel, stack: 0, growRefused: false, output: new Uint8Array(0) };
    }
    throw err;
  }
  memory = instance.exports.memory;
  instance.exports["edgerun:fuel"].value = fuel;
  let end = "returned";
  try {
    instance.exports._start();
  } catch (err) {
    end = classify(err);
    if (end === null) throw err;
  }
  const output = new Uint8Array(outLen);
  let at = 0;
  for (const c of chunks) {
    output.set(c, at);
    at += c.length;
  }
  return {
    end,
    fuelLeft: instance.exports["edgerun:fuel"].value,
    stack: instance.exports["edgerun:stack"].value >>> 0,
    growRefused: instance.exports["edgerun:grow-refused"].value !== 0,
    output,
  };
}

/// Runs a bundle on the host engine through `runtime` (the wasm-bindgen
/// module of edgerun-runtime-js); returns the outcome JSON string.
export function runBundleOnHost(runtime, bundle) {
  const prepared = new runtime.Prepared(bundle);
  try {
    const module = prepared.module;
    if (module === undefined) return prepared.invalid();
    const r = execute(module, prepared.input, prepared.output_cap, prepared.fuel);
    return prepared.finish(r.end, r.fuelLeft, r.stack, r.growRefused, r.output);
  } finally {
    prepared.free();
  }
}
