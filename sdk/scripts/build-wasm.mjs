// Rebuilds wasm/edgerun_protocol.wasm from sdk/wasm (edgerun-protocol's
// exports): `cargo build --release --target wasm32-unknown-unknown` with
// the repo's pinned toolchain, paths remapped so the bytes do not depend
// on where the repo or cargo's registry lives, then the repo's
// `wasm-opt -Oz --strip-debug` when it is installed. Writes the
// fingerprint of the sources beside it (test/wasm-current.test.mjs checks
// it), so a protocol change without a rebuild fails the tests.
//
//   node scripts/build-wasm.mjs

import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fingerprint, WASM, FINGERPRINT } from "./sources.mjs";

const sdk = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(sdk, "..");
const crate = join(sdk, "wasm");
const cargoHome = process.env.CARGO_HOME ?? join(homedir(), ".cargo");
const rustflags = [`--remap-path-prefix=${repo}=/edgerun`, `--remap-path-prefix=${cargoHome}=/cargo`].join("\x1f");

execFileSync("cargo", ["build", "--release", "--target", "wasm32-unknown-unknown", "--locked"], {
  cwd: crate,
  stdio: "inherit",
  env: { ...process.env, CARGO_ENCODED_RUSTFLAGS: rustflags, CARGO_TARGET_DIR: join(crate, "target") },
});
const built = join(crate, "target/wasm32-unknown-unknown/release/edgerun_sdk_wasm.wasm");
const out = join(sdk, WASM);
const wasmOpt = join(repo, "node_modules/.bin/wasm-opt");
if (existsSync(wasmOpt)) {
  // The features rustc's wasm32-unknown-unknown enables by default.
  const features = ["bulk-memory", "mutable-globals", "multivalue", "nontrapping-float-to-int", "reference-types", "sign-ext"];
  execFileSync(wasmOpt, ["-Oz", "--strip-debug", ...features.map((f) => `--enable-${f}`), built, "-o", out], { stdio: "inherit" });
} else {
  console.warn("wasm-opt not found (run `npm ci` at the repo root): the wasm is left unoptimised");
  copyFileSync(built, out);
}
writeFileSync(join(sdk, FINGERPRINT), fingerprint() + "\n");
console.log(`${WASM}: ${statSync(out).size} bytes`);
