// The README's first example: post json-redact with the relay's API key,
// wait for the committee, get the output verified against the chain.
//   EDGERUN_RELAY=… EDGERUN_RPC=… EDGERUN_API_KEY=… node post-wait-get.mjs json-redact.wasm redact-profile.json
import { readFile } from "node:fs/promises";
import { createClient } from "@edgerun/sdk";

const edgerun = createClient({
  relay: process.env.EDGERUN_RELAY ?? "http://127.0.0.1:8080",
  rpc: process.env.EDGERUN_RPC ?? "http://127.0.0.1:8899",
  apiKey: process.env.EDGERUN_API_KEY, // or signer: a @solana/kit signer
});
const [wasmPath = "json-redact.wasm", inputPath = "redact-profile.json"] = process.argv.slice(2);
const wasm = await readFile(wasmPath);
const input = await readFile(inputPath);

const price = await edgerun.estimate({ tier: "bronze" });
console.log(`price: ${price.totalLamports} lamports (escrow ${price.escrowLamports}, fee ${price.protocolFeeLamports})`);
const { jobId } = await edgerun.postJob({ wasm, input, tier: "bronze" });
console.log(`posted: ${jobId}`);
const job = await edgerun.waitForJob(jobId, { timeoutMs: 120_000 });
console.log(`status: ${job.status}, committee of ${job.committee.length}`);
const output = await edgerun.getOutput(jobId); // BLAKE3 checked against the chain
console.log(`output (${output.length} bytes, hash ${job.winning_output_hash}, verified):`);
console.log(new TextDecoder().decode(output));
