// What wasm/edgerun_protocol.wasm is built from, and its fingerprint:
// SHA-256 over the names and bytes of the sdk/wasm crate, the protocol
// crate, the workspace manifest it inherits from and the toolchain file.
// (A file fingerprint, not a protocol hash: the protocol's BLAKE3 is the
// wasm's.)

import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const WASM = "wasm/edgerun_protocol.wasm";
export const FINGERPRINT = "wasm/edgerun_protocol.wasm.sources";

const sdk = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(sdk, "..");

function files(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...files(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

export function sources() {
  return [
    join(sdk, "wasm/Cargo.toml"),
    join(sdk, "wasm/Cargo.lock"),
    ...files(join(sdk, "wasm/src")),
    join(repo, "protocol/Cargo.toml"),
    ...files(join(repo, "protocol/src")),
    join(repo, "rust-toolchain.toml"),
  ]
    .filter((f) => statSync(f, { throwIfNoEntry: false }))
    .map((f) => relative(repo, f))
    .sort();
}

export function fingerprint() {
  const h = createHash("sha256");
  for (const f of sources()) {
    h.update(f + "\0");
    h.update(readFileSync(join(repo, f)));
    h.update("\0");
  }
  return h.digest("hex");
}
