// The package's wasm is edgerun-protocol's and is current; its figures are
// the protocol's (PROTOCOL.md's tables and vectors); the glue refuses what
// is not a Job or a post_job. No stack needed.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { programData, protocol } from "../dist/index.js";
import { fingerprint, FINGERPRINT, sources } from "../scripts/sources.mjs";

const sdk = new URL("..", import.meta.url).pathname;

describe("the protocol wasm", { timeout: 30_000 }, () => {
  before(() => protocol.loadProtocol());

  it("is built from the current sources (else: npm run build:wasm)", () => {
    const recorded = readFileSync(join(sdk, FINGERPRINT), "utf8").trim();
    assert.ok(sources().some((f) => f === "protocol/src/economics.rs"), "the protocol crate is among the sources");
    assert.equal(fingerprint(), recorded, "wasm/edgerun_protocol.wasm is stale: run `npm run build:wasm` and commit it");
  });

  it("hashes with BLAKE3-256 (the reference vectors)", () => {
    const hex = (s) => protocol.toHex(protocol.blake3(new TextEncoder().encode(s)));
    assert.equal(hex(""), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
    assert.equal(hex("abc"), "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
    // Longer than one chunk (1 KiB): the tree mode.
    const big = new Uint8Array(5000).map((_, i) => i % 251);
    assert.equal(protocol.toHex(protocol.blake3(big)).length, 64);
    assert.notEqual(protocol.toHex(protocol.blake3(big)), protocol.toHex(protocol.blake3(big.subarray(1))));
  });

  it("has PROTOCOL.md's tiers", () => {
    const table = protocol.TIERS.map((t) => {
      const r = protocol.tierRules(t);
      return [t, r.minEscrowLamports, r.committeeSize, r.quorum];
    });
    assert.deepEqual(table, [
      ["bronze", 0n, 3, 2],
      ["silver", 100_000_000n, 5, 3],
      ["gold", 1_000_000_000n, 7, 5],
      ["gold+", 10_000_000_000n, 9, 6],
    ]);
    assert.equal(protocol.tierForEscrow(99_999_999n), "bronze");
    assert.equal(protocol.tierForEscrow(100_000_000n), "silver");
    assert.equal(protocol.tierForEscrow(10_000_000_000n), "gold+");
    assert.throws(() => protocol.tierRules("platinum"), /unknown tier/);
  });

  it("splits payouts as the protocol does, every lamport accounted for", () => {
    // fee = min(max(escrow * bps / 10_000, min_fee), escrow); the rest equally, remainder to the treasury.
    assert.deepEqual(protocol.splitPayout(10_000_000n, 250, 0n, 3), { fee: 250_000n, perWinner: 3_250_000n, remainder: 0n });
    assert.deepEqual(protocol.splitPayout(10_000_001n, 250, 0n, 3), { fee: 250_000n, perWinner: 3_250_000n, remainder: 1n });
    assert.deepEqual(protocol.splitPayout(1_000n, 250, 5_000n, 3), { fee: 1_000n, perWinner: 0n, remainder: 0n }, "the fee never exceeds the escrow");
    assert.equal(protocol.splitPayout(10n, 10_001, 0n, 3), undefined, "a fee above 100 % is refused");
    assert.equal(protocol.splitPayout(10n, 250, 0n, 0), undefined, "no winners is refused");
    const max = (1n << 64n) - 1n;
    const p = protocol.splitPayout(max, 9_999, 123n, 7);
    assert.equal(p.fee + 7n * p.perWinner + p.remainder, max);
    assert.equal(protocol.requiredLock(10_000_000n, 150_000_000n, 5), 45_000_000n);
    assert.equal(protocol.recordsDeposit(100n, 50n, 3), 350n);
    assert.equal(protocol.recordsDeposit(max, 1n, 2), undefined);
  });

  it("derives job ids as blake3(client || nonce_le || bundle_hash)", () => {
    const client = new Uint8Array(32).fill(7);
    const bundle = new Uint8Array(32).fill(9);
    const pre = new Uint8Array(72);
    pre.set(client, 0);
    new DataView(pre.buffer).setBigUint64(32, 42n, true);
    pre.set(bundle, 40);
    assert.equal(protocol.toHex(protocol.jobId(client, 42n, bundle)), protocol.toHex(protocol.blake3(pre)));
    assert.notEqual(protocol.toHex(protocol.jobId(client, 43n, bundle)), protocol.toHex(protocol.blake3(pre)));
  });

  it("decodes only what is a Job or a post_job", () => {
    const space = protocol.accountSpace.job();
    assert.ok(space > 8 + 32 * 4);
    assert.equal(protocol.decodeJob(new Uint8Array(space)), undefined, "zeros are not a Job (no discriminator)");
    assert.equal(protocol.decodeJob(new Uint8Array(10)), undefined);
    assert.equal(protocol.isPostJob(new Uint8Array(8)), false);
    assert.equal(protocol.decodePostJob(new Uint8Array(200)), undefined);
    assert.equal(protocol.postJobAccounts(), 4, "client, config, job, system program");
  });

  it("reads only the program's own log data, and decodes only edgerun events", () => {
    const program = "Prog1111111111111111111111111111111111111111";
    const data = Buffer.from("hello").toString("base64");
    const logs = [
      `Program ${program} invoke [1]`,
      `Program data: ${data}`,
      "Program Other11111111111111111111111111111111111 invoke [2]",
      "Program log: upload success",
      `Program data: ${data}`, // another program's: ignored
      "Program Other11111111111111111111111111111111111 success",
      `Program ${program} success`,
      `Program data: ${data}`, // after it returned: ignored
    ];
    const got = programData(logs, program);
    assert.equal(got.length, 1);
    assert.equal(Buffer.from(got[0]).toString(), "hello");
    assert.equal(protocol.committeeEvent(new Uint8Array(got[0])), undefined, "not an edgerun event");
    assert.equal(protocol.cancelJobData().length, 8);
    assert.equal(protocol.isPostJob(protocol.cancelJobData()), false);
  });
});
