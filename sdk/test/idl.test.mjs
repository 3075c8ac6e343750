// The IDL decoders are generated from the current program/idl/edgerun.json
// and refuse what is not the program's.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { decodeAccount, decodeEvent, idl, protocol } from "../dist/index.js";
import { generate, IDL, OUT } from "../scripts/gen-idl.mjs";

describe("the IDL decoders", { timeout: 30_000 }, () => {
  it("are generated from the current IDL (else: npm run gen:idl)", () => {
    const fresh = generate(JSON.parse(readFileSync(IDL, "utf8")));
    assert.equal(readFileSync(OUT, "utf8"), fresh, "src/idl.generated.ts is stale: run `npm run gen:idl` and commit it");
  });

  it("decode a layout the generator walked, and refuse other bytes", async () => {
    await protocol.loadProtocol();
    const space = protocol.accountSpace.job();
    const job = new Uint8Array(space);
    job.set(idl.ACCOUNT_DISCRIMINATORS.Job, 0);
    job.fill(7, 8, 40); // job_id
    job[40 + 31] = 1; // the client's last byte
    const got = decodeAccount(job);
    assert.equal(got?.name, "Job");
    assert.deepEqual([...got.value.job_id], new Array(32).fill(7));
    assert.equal(got.value.assigned_workers.length, 9);
    assert.equal(got.value.submissions.length, 9);
    assert.equal(typeof got.value.escrow_lamports, "bigint");
    assert.equal(decodeAccount(job.subarray(0, space - 1)), undefined, "one byte short");
    assert.equal(decodeAccount(new Uint8Array(space)), undefined, "no discriminator");
    const bad = job.slice();
    const seedSetAt = 8 + 32 + 32 + 8 + 32 + 32 + 16 + 1 + 1 + 8 + 8 + 8 + 32; // after the seed
    assert.equal(decodeAccount(bad).value.seed_set, false);
    bad[seedSetAt] = 2;
    assert.equal(decodeAccount(bad), undefined, "a bool that is 2");
    assert.equal(decodeEvent(new Uint8Array(8)), undefined);
  });
});
