// @edgerun/sdk against a real local stack (`edgerun up --workers 3` on
// 127.0.0.1): post with a kit key-pair signer and with the API key,
// follow to Finalized, get and verify outputs, refuse a tampered output
// and a doctored transaction, price a job as the protocol does.

import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { address, generateKeyPairSigner, getAddressDecoder, getBase64Encoder, getTransactionDecoder } from "@solana/kit";
import {
  checkPostJob,
  createClient,
  decodeAccount,
  decodeEvent,
  programData,
  EdgerunError,
  estimate,
  followJob,
  getOutput,
  OutputMismatchError,
  postJob,
  protocol,
  RelayError,
  TimeoutError,
  UnexpectedTransactionError,
  verifyCommittee,
  waitForJob,
} from "../dist/index.js";
import { freePort, jobsDir, listen, missing, repo, startStack, until } from "./stack.mjs";

const why = missing();
const wasm = (name) => readFileSync(join(jobsDir, `${name}.wasm`));
const profile = readFileSync(join(repo, "tests/vectors/src/inputs/redact-profile.json"));
const FUEL = 500_000_000n;

describe("@edgerun/sdk on a local stack", { skip: why ?? false, timeout: 600_000 }, () => {
  let stack;
  let signer;
  let info;
  let finalizedJob;

  before(async () => {
    stack = await startStack();
    info = await (await fetch(`${stack.relay}/v1/info`)).json();
    signer = await generateKeyPairSigner();
    await stack.rpcCall("requestAirdrop", [signer.address, 5_000_000_000]);
    await until("the signer is funded", 30, async () => (await stack.rpcCall("getBalance", [signer.address])).value > 0);
  }, { timeout: 240_000 });

  after(async () => {
    await stack?.stop();
  }, { timeout: 30_000 });

  it("posts with a kit key-pair signer, follows to Finalized and returns the output verified", { timeout: 180_000 }, async () => {
    const edgerun = createClient({ relay: stack.relay, rpc: stack.rpc, signer });
    const before = BigInt((await stack.rpcCall("getBalance", [signer.address])).value);
    const posted = await edgerun.postJob({ wasm: wasm("json-redact"), input: profile, tier: "bronze", maxInstructions: FUEL });
    assert.match(posted.jobId, /^[0-9a-f]{64}$/);
    finalizedJob = posted.jobId;
    assert.match(posted.signature, /^[1-9A-HJ-NP-Za-km-z]{64,88}$/);
    assert.equal(posted.bundleUrl, `${stack.relay}/v1/bundles/${posted.bundleHash}`);
    assert.equal(posted.escrowLamports, 10_000_000n, "Bronze's default escrow");
    // The bundle at the relay is the one the job names.
    const bundle = new Uint8Array(await (await fetch(posted.bundleUrl)).arrayBuffer());
    assert.equal(protocol.toHex(protocol.blake3(bundle)), posted.bundleHash);

    const seen = [];
    for await (const view of edgerun.followJob(posted.jobId)) seen.push(view.status);
    assert.equal(seen.at(-1), "Finalized", `statuses ${seen}`);
    const order = ["Posted", "Seeded", "Assigned", "QuorumReached", "AwaitingDA", "Finalized"];
    const idx = seen.map((s) => order.indexOf(s));
    assert.ok(idx.every((v, i) => v >= 0 && (i === 0 || v >= idx[i - 1])), `statuses in order: ${seen}`);

    const view = await (await fetch(`${stack.relay}/v1/jobs/${posted.jobId}`)).json();
    assert.equal(view.client, signer.address, "the signer is the job's client");
    const output = await edgerun.getOutput(posted.jobId);
    assert.equal(protocol.toHex(protocol.blake3(output)), view.winning_output_hash);
    const redacted = JSON.parse(new TextDecoder().decode(output));
    assert.notEqual(JSON.stringify(redacted), JSON.stringify(JSON.parse(profile)), "the job changed its input");
    // The signer paid: at least the escrow and the Job's rent left its account.
    const afterBalance = BigInt((await stack.rpcCall("getBalance", [signer.address])).value);
    const job = await stack.rpcCall("getAccountInfo", [view.address, { encoding: "base64" }]);
    assert.ok(before - afterBalance >= 10_000_000n + BigInt(job.value.lamports), `paid ${before - afterBalance}`);
  });

  it("posts with the API key (priority fee carried) and waits for it", { timeout: 180_000 }, async () => {
    const posted = await postJob({
      relay: stack.relay,
      apiKey: stack.apiKey,
      wasm: wasm("json-redact"),
      input: profile,
      escrow: 20_000_000n,
      priorityFee: 25_000n,
      maxInstructions: FUEL,
    });
    assert.equal(posted.tier, "Bronze");
    assert.equal(posted.escrowLamports, 20_000_000n);
    assert.equal(posted.priorityFeeLamports, 25_000n);
    const done = await waitForJob(posted.jobId, { relay: stack.relay, timeoutMs: 150_000 });
    assert.equal(done.status, "Finalized");
    assert.equal(done.committee_size, 3);
    // The operator's customer account posted it.
    const customer = JSON.parse(readFileSync(join(stack.home, "keys/customer.json"), "utf8"));
    assert.equal(done.client, getAddressDecoder().decode(Uint8Array.from(customer.slice(32, 64))));
    const output = await getOutput(posted.jobId, { relay: stack.relay, rpc: stack.rpc });
    assert.equal(protocol.toHex(protocol.blake3(output)), done.winning_output_hash);
  });

  it("throws OutputMismatchError for an output object changed at the relay", { timeout: 180_000 }, async () => {
    // A job of its own whose output nobody has read (the relay keeps
    // small objects it served in memory).
    const posted = await postJob({
      relay: stack.relay,
      apiKey: stack.apiKey,
      wasm: wasm("compress-hash"),
      input: `sdk ${Date.now()} `.repeat(64),
      maxInstructions: FUEL,
    });
    const done = await waitForJob(posted.jobId, { relay: stack.relay, timeoutMs: 150_000 });
    assert.equal(done.status, "Finalized");
    const hash = done.winning_output_hash;
    const dir = join(stack.home, "relay/outputs");
    const file = readdirSync(dir).find((f) => f.startsWith(hash));
    assert.ok(file, `the output is stored at the relay (${dir})`);
    writeFileSync(join(dir, file), '{"redacted": false}');
    await assert.rejects(getOutput(posted.jobId, { relay: stack.relay, rpc: stack.rpc }), (e) => {
      assert.ok(e instanceof OutputMismatchError, `${e}`);
      assert.equal(e.code, "output_mismatch");
      assert.equal(e.expected, hash);
      assert.equal(e.actual, protocol.toHex(protocol.blake3(new TextEncoder().encode('{"redacted": false}'))));
      return true;
    });
  });

  it("refuses a relay-prepared transaction that is not what was asked, before signing", { timeout: 60_000 }, async () => {
    await protocol.loadProtocol();
    // What the relay prepares for this signer, unchanged: accepted.
    const form = new FormData();
    form.append("wasm", new Blob([wasm("json-redact")]), "job.wasm");
    form.append("input", new Blob([profile]), "input.json");
    form.append("tier", "bronze");
    form.append("client", signer.address);
    const res = await fetch(`${stack.relay}/v1/jobs`, { method: "POST", body: form });
    assert.equal(res.status, 201);
    const prepared = await res.json();
    const tx = getTransactionDecoder().decode(getBase64Encoder().encode(prepared.transaction));
    const program = address(info.program_id);
    const asked = { jobId: prepared.job_id, bundleHash: prepared.bundle_hash, escrow: 10_000_000n, priorityFee: 0n };
    await checkPostJob(tx, program, signer.address, asked);
    // Another escrow, another signer, another program: refused.
    const refused = async (t, p, client, a, why) =>
      assert.rejects(checkPostJob(t, p, client, a), (e) => e instanceof UnexpectedTransactionError && e.code === "unexpected_transaction" && why.test(e.message));
    await refused(tx, program, signer.address, { ...asked, escrow: 20_000_000n }, /escrows 10000000 lamports, not 20000000/);
    await refused(tx, program, (await generateKeyPairSigner()).address, asked, /one signer/);
    await refused(tx, address(info.fee_payer), signer.address, asked, /not the edgerun program/);
    // One data byte changed in the message (the escrow's low byte): refused.
    const bytes = new Uint8Array(tx.messageBytes);
    // post_job's data: the 8-byte discriminator, then job_id, …
    const at = indexOf(bytes, hexBytes(prepared.job_id));
    assert.ok(at > 0, "the job id is in the message");
    const other = bytes.slice();
    other[at - 8] ^= 0xff; // the discriminator's first byte
    await refused({ ...tx, messageBytes: other }, program, signer.address, asked, /not post_job/);

    // postJob itself, through a relay that swaps in a transaction for a
    // larger escrow: throws, and the signer's balance does not move.
    const proxy = await swappingRelay(stack.relay, signer.address);
    try {
      const before = (await stack.rpcCall("getBalance", [signer.address])).value;
      await assert.rejects(
        postJob({ relay: proxy.url, rpc: stack.rpc, signer, wasm: wasm("json-redact"), input: profile, tier: "bronze", programId: info.program_id }),
        (e) => e instanceof UnexpectedTransactionError && /escrows 1000000000 lamports, not 10000000/.test(e.message),
      );
      assert.equal((await stack.rpcCall("getBalance", [signer.address])).value, before);
    } finally {
      await proxy.close();
    }
  });

  it("follows through a dropped event stream, and times out and gives up as asked", { timeout: 120_000 }, async () => {
    const proxy = await cuttingRelay(stack.relay, 2);
    try {
      // A job that runs for a while (or runs out of fuel: a result too).
      const posted = await postJob({ relay: stack.relay, apiKey: stack.apiKey, wasm: wasm("cpu-loop"), input: "30000000", maxInstructions: 1_000_000_000n });
      const views = [];
      for await (const view of followJob(posted.jobId, { relay: proxy.url })) views.push(view);
      const seen = views.map((v) => v.status);
      assert.equal(seen.at(-1), "Finalized", `statuses ${seen}`);
      assert.ok(proxy.streams() >= 3, `two streams were cut and a third ended it (${proxy.streams()} streams)`);
      // Each change once, though every reconnect repeats the current view.
      const keys = views.map((v) => JSON.stringify({ ...v, current_slot: 0 }));
      assert.ok(keys.every((k, i) => i === 0 || k !== keys[i - 1]), `no view repeated (${seen})`);
    } finally {
      await proxy.close();
    }
    const slow = await postJob({ relay: stack.relay, apiKey: stack.apiKey, wasm: wasm("json-redact"), input: profile, maxInstructions: FUEL });
    await assert.rejects(waitForJob(slow.jobId, { relay: stack.relay, timeoutMs: 1 }), (e) => e instanceof TimeoutError && e.code === "timeout");
    // A relay that is not there: said, after the retries asked for.
    const gone = `http://127.0.0.1:${await freePort()}`;
    const start = Date.now();
    await assert.rejects(waitForJob(slow.jobId, { relay: gone, maxRetries: 2, timeoutMs: 30_000 }), (e) => e instanceof EdgerunError && e.code === "unreachable");
    assert.ok(Date.now() - start >= 250 + 500, "it backed off between attempts");
  });

  it("recomputes the committee from the seed and the snapshot, and flags a snapshot that is not the one named", { timeout: 60_000 }, async () => {
    assert.ok(finalizedJob, "the first test posted a job");
    const view = await (await fetch(`${stack.relay}/v1/jobs/${finalizedJob}`)).json();
    const edgerun = createClient({ relay: stack.relay, rpc: stack.rpc });
    const ok = await edgerun.verifyCommittee(finalizedJob);
    assert.equal(ok.verified, true, JSON.stringify(ok.draws, (_, v) => (typeof v === "bigint" ? String(v) : v)));
    assert.equal(ok.seed, view.seed);
    assert.equal(ok.draws[0].kind, "committee");
    assert.equal(ok.draws[0].firstDraw, 0);
    assert.deepEqual(ok.draws[0].recorded, view.committee.map((s) => s.worker).slice(0, 3));
    assert.ok(ok.draws[0].candidates >= 3, `${ok.draws[0].candidates} candidates`);
    // A relay serving another eligible set under the hash: not verified.
    const proxy = await snapshotChangingRelay(stack.relay);
    try {
      const bad = await verifyCommittee(finalizedJob, { relay: proxy.url, rpc: stack.rpc });
      assert.equal(bad.verified, false);
      assert.deepEqual(bad.draws[0].recomputed, { failure: "snapshot_hash_mismatch" });
    } finally {
      await proxy.close();
    }
  });

  it("decodes the chain's Job account and the job's events by the IDL, as the protocol's own layout reads them", { timeout: 60_000 }, async () => {
    assert.ok(finalizedJob, "the first test posted a job");
    const view = await (await fetch(`${stack.relay}/v1/jobs/${finalizedJob}`)).json();
    const acct = await stack.rpcCall("getAccountInfo", [view.address, { encoding: "base64", commitment: "confirmed" }]);
    const data = new Uint8Array(Buffer.from(acct.value.data[0], "base64"));
    const byIdl = decodeAccount(data);
    const byWasm = protocol.decodeJob(data);
    assert.equal(byIdl?.name, "Job");
    const j = byIdl.value;
    assert.equal(protocol.toHex(j.job_id), byWasm.jobId);
    assert.equal(protocol.toHex(j.winning_output_hash), byWasm.winningOutputHash);
    assert.equal(protocol.toHex(j.seed), byWasm.seed);
    assert.equal([j.status, j.committee_size, j.quorum, j.assigned_count, j.draws].join(), [byWasm.status, byWasm.committeeSize, byWasm.quorum, byWasm.assignedCount, byWasm.draws].join());
    assert.equal(j.client, signer.address);
    assert.deepEqual(j.assigned_workers.slice(0, 3), view.committee.map((s) => s.worker));
    // The events of the job's transactions, in order.
    const sigs = (await stack.rpcCall("getSignaturesForAddress", [view.address, { commitment: "confirmed" }])).reverse();
    const names = [];
    for (const s of sigs.filter((s) => s.err === null)) {
      const tx = await stack.rpcCall("getTransaction", [s.signature, { encoding: "json", commitment: "confirmed", maxSupportedTransactionVersion: 0 }]);
      for (const d of programData(tx.meta.logMessages, info.program_id)) {
        const e = decodeEvent(d);
        assert.ok(e, "every edgerun log data decodes");
        names.push(e.name);
        if (e.name === "WorkersAssigned") {
          const w = protocol.committeeEvent(d);
          assert.deepEqual(e.value.workers.slice(0, e.value.count), w.workers.map((b) => getAddressDecoder().decode(b)));
          assert.equal(protocol.toHex(e.value.snapshot_hash), w.snapshotHash);
        }
      }
    }
    for (const n of ["JobPosted", "JobSeeded", "WorkersAssigned", "JobQuorumReached", "OutputDeclared", "JobFinalized"]) {
      assert.ok(names.includes(n), `${n} among ${names}`);
    }
    assert.ok(names.indexOf("JobPosted") < names.indexOf("JobFinalized"));
  });

  it("cancels a job its client posted while it waits for a committee, refunding the escrow", { timeout: 120_000 }, async () => {
    const edgerun = createClient({ relay: stack.relay, rpc: stack.rpc, signer });
    // Silver seats 5 workers; this stack has 3, so the job waits.
    const posted = await edgerun.postJob({ wasm: wasm("json-redact"), input: profile, tier: "silver", maxInstructions: FUEL });
    const view = await (await fetch(`${stack.relay}/v1/jobs/${posted.jobId}`)).json();
    assert.ok(["Posted", "Seeded"].includes(view.status), view.status);
    const balance = async () => BigInt((await stack.rpcCall("getBalance", [signer.address])).value);
    const before = await balance();
    // Only the client may cancel: refused before any fee.
    const stranger = await generateKeyPairSigner();
    await assert.rejects(edgerun.cancelJob(posted.jobId, stranger), (e) => e instanceof EdgerunError && e.code === "not_cancellable");
    const sig = await edgerun.cancelJob(posted.jobId, signer);
    assert.match(sig, /^[1-9A-HJ-NP-Za-km-z]{64,88}$/);
    const done = await edgerun.waitForJob(posted.jobId, { timeoutMs: 30_000 });
    assert.equal(done.status, "Cancelled");
    assert.equal(done.escrow_lamports, 0);
    const refunded = (await balance()) - before;
    assert.ok(refunded >= 100_000_000n - 5_000n, `the escrow came back (balance +${refunded})`);
    // A finalized job is past cancelling.
    await assert.rejects(edgerun.cancelJob(finalizedJob, signer), (e) => e.code === "not_cancellable" && /Finalized/.test(e.message));
  });

  it("gives the relay's refusals as RelayError with its code", { timeout: 60_000 }, async () => {
    const code = async (p, status, c) =>
      assert.rejects(p, (e) => e instanceof RelayError && e.status === status && e.code === c);
    await code(postJob({ relay: stack.relay, apiKey: "wrong", wasm: wasm("json-redact"), input: profile }), 401, "unauthorized");
    await code(postJob({ relay: stack.relay, apiKey: stack.apiKey, wasm: new TextEncoder().encode("not wasm"), input: profile }), 422, "invalid_job");
    const unknown = "ab".repeat(32);
    await code(waitForJob(unknown, { relay: stack.relay, timeoutMs: 10_000 }), 404, "job_not_found");
    await code(getOutput(unknown, { relay: stack.relay, rpc: stack.rpc }), 404, "job_not_found");
  });

  it("estimates a job as the protocol prices it, from the chain's config and rent", { timeout: 60_000 }, async () => {
    const config = await (await fetch(`${stack.relay}/v1/config`)).json();
    const rent = async (bytes) => BigInt(await stack.rpcCall("getMinimumBalanceForRentExemption", [bytes]));
    for (const [ask, escrow, size, quorum] of [
      [{ tier: "bronze" }, 10_000_000n, 3, 2],
      [{ tier: "silver" }, 100_000_000n, 5, 3],
      [{ escrow: 1_234_567_891n, priorityFee: 7_000n }, 1_234_567_891n, 7, 5],
    ]) {
      const e = await estimate({ relay: stack.relay, rpc: stack.rpc, ...ask });
      const bps = BigInt(config.protocol_fee_bps);
      const minFee = BigInt(config.min_job_fee_lamports);
      // PROTOCOL.md: fee = min(max(escrow * bps / 10_000, min_job_fee), escrow); the rest split equally.
      let fee = (escrow * bps) / 10_000n;
      if (fee < minFee) fee = minFee;
      if (fee > escrow) fee = escrow;
      assert.equal(e.escrowLamports, escrow);
      assert.equal([e.committeeSize, e.quorum].join(), [size, quorum].join());
      assert.equal(e.protocolFeeLamports, fee);
      assert.equal(e.perWinnerAllAgree, (escrow - fee) / BigInt(size));
      assert.equal(e.perWinnerQuorumOnly, (escrow - fee) / BigInt(quorum));
      const resultRent = await rent(protocol.accountSpace.jobResult());
      const outputRent = await rent(protocol.accountSpace.outputAvailability());
      assert.equal(e.recordsDepositLamports, resultRent * BigInt(size) + outputRent);
      assert.equal(e.jobRentLamports, await rent(protocol.accountSpace.job()));
      const priority = ask.priorityFee ?? 0n;
      assert.equal(e.totalLamports, escrow + priority + e.recordsDepositLamports + e.jobRentLamports + 5_000n);
    }
    // The sizes priced are the sizes on chain: a real Job account's.
    const anyJob = (await (await fetch(`${stack.relay}/v1/jobs/${await lastJob(stack)}`)).json()).address;
    const acct = await stack.rpcCall("getAccountInfo", [anyJob, { encoding: "base64" }]);
    assert.equal(acct.value.space, protocol.accountSpace.job());
    assert.equal(BigInt(acct.value.lamports) >= (await estimate({ relay: stack.relay, rpc: stack.rpc, tier: "bronze" })).jobRentLamports, true);
  });
});

async function lastJob(stack) {
  // The Job accounts of the program, by size (what the portal's explorer does).
  const info = await (await fetch(`${stack.relay}/v1/info`)).json();
  const accounts = await stack.rpcCall("getProgramAccounts", [
    info.program_id,
    { encoding: "base64", filters: [{ dataSize: protocol.accountSpace.job() }] },
  ]);
  assert.ok(accounts.length > 0, "jobs on chain");
  const data = Buffer.from(accounts[0].account.data[0], "base64");
  return protocol.decodeJob(new Uint8Array(data)).jobId;
}

function hexBytes(hex) {
  return Uint8Array.from(hex.match(/../g).map((b) => parseInt(b, 16)));
}

function indexOf(hay, needle) {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/// A relay in front of `relay` that answers POST /v1/jobs with the real
/// relay's transaction for a 1 SOL escrow instead of what was asked.
async function swappingRelay(relay, client) {
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const forward = await fetch(relay + req.url, {
      method: req.method,
      headers: req.headers["content-type"] ? { "content-type": req.headers["content-type"] } : {},
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    });
    let answer = Buffer.from(await forward.arrayBuffer());
    if (req.method === "POST" && req.url === "/v1/jobs" && forward.status === 201) {
      const asked = JSON.parse(answer);
      const form = new FormData();
      form.append("wasm", new Blob([wasm("json-redact")]), "job.wasm");
      form.append("input", new Blob([profile]), "input.json");
      form.append("tier", "gold");
      form.append("escrow_lamports", "1000000000");
      form.append("client", client);
      const big = await (await fetch(`${relay}/v1/jobs`, { method: "POST", body: form })).json();
      // Same ids, so only the transaction's own terms can give it away.
      const swapped = { ...asked, transaction: big.transaction, job_id: big.job_id, bundle_hash: big.bundle_hash };
      answer = Buffer.from(JSON.stringify(swapped));
    }
    res.writeHead(forward.status, { "content-type": forward.headers.get("content-type") ?? "application/octet-stream" });
    res.end(answer);
  });
  return listen(server);
}

/// A relay in front of `relay` whose first `cuts` job event streams end
/// right after their first whole `event: job`, before the job is done.
async function cuttingRelay(relay, cuts) {
  let streams = 0;
  const target = new URL(relay);
  const server = createServer((req, res) => {
    const events = req.url.endsWith("/events");
    const n = events ? ++streams : 0;
    const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      let text = "";
      r.on("data", (chunk) => {
        if (res.writableEnded) return;
        res.write(chunk);
        text += chunk.toString();
        if (events && n <= cuts && /event: job\n(data:.*\n)+\n/.test(text)) {
          r.destroy();
          res.end();
        }
      });
      r.on("end", () => res.writableEnded || res.end());
    });
    req.pipe(up);
  });
  return { ...(await listen(server)), streams: () => streams };
}

/// A relay in front of `relay` that serves every selection snapshot with
/// its first record's weight raised by one.
async function snapshotChangingRelay(relay) {
  const server = createServer(async (req, res) => {
    const forward = await fetch(relay + req.url, { method: req.method });
    let body = Buffer.from(await forward.arrayBuffer());
    if (req.url.startsWith("/v1/selections/") && forward.ok && body.length >= 40) body[32] = (body[32] + 1) & 0xff;
    res.writeHead(forward.status, { "content-type": forward.headers.get("content-type") ?? "application/octet-stream" });
    res.end(body);
  });
  return listen(server);
}
