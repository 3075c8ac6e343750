// A foreign client: reads edgerun's config and a job from a Solana RPC with
// @solana/kit, and decodes them using only the Anchor-format IDL
// (program/idl/edgerun.json) — no edgerun code.
//
//   node tests/node/kit-read.mjs <rpc url> <idl path> [job id hex]
//
// Prints one JSON object: { program, config: {...}, job: {...} | null }.
// Integers wider than 53 bits are printed as decimal strings, byte arrays
// as hex, pubkeys as base58.

import { readFileSync } from "node:fs";
import { address, createSolanaRpc, getAddressDecoder, getProgramDerivedAddress } from "@solana/kit";

const [rpcUrl, idlPath, jobHex] = process.argv.slice(2);
if (!rpcUrl || !idlPath) {
  console.error("usage: node kit-read.mjs <rpc url> <idl path> [job id hex]");
  process.exit(2);
}
const idl = JSON.parse(readFileSync(idlPath, "utf8"));
const types = new Map(idl.types.map((t) => [t.name, t.type]));
const addressDecoder = getAddressDecoder();
const hex = (bytes) => Buffer.from(bytes).toString("hex");

// Borsh reader driven by IDL types.
function read(type, view, at) {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  switch (type) {
    case "u8": return [view.getUint8(at), at + 1];
    case "bool": return [view.getUint8(at) !== 0, at + 1];
    case "u16": return [view.getUint16(at, true), at + 2];
    case "u32": return [view.getUint32(at, true), at + 4];
    case "u64": return [view.getBigUint64(at, true).toString(), at + 8];
    case "pubkey": return [addressDecoder.decode(bytes.subarray(at, at + 32)), at + 32];
  }
  if (type.array) {
    const [inner, n] = type.array;
    if (inner === "u8") return [hex(bytes.subarray(at, at + n)), at + n];
    const out = [];
    for (let i = 0; i < n; i++) {
      const [v, next] = read(inner, view, at);
      out.push(v);
      at = next;
    }
    return [out, at];
  }
  if (type.defined) return readStruct(type.defined.name, view, at);
  throw new Error(`IDL type ${JSON.stringify(type)} not supported`);
}

function readStruct(name, view, at) {
  const def = types.get(name);
  if (!def || def.kind !== "struct") throw new Error(`IDL has no struct ${name}`);
  const out = {};
  for (const field of def.fields) {
    const [v, next] = read(field.type, view, at);
    out[field.name] = v;
    at = next;
  }
  return [out, at];
}

function decodeAccount(name, data) {
  const account = idl.accounts.find((a) => a.name === name);
  const disc = data.subarray(0, 8);
  if (hex(disc) !== hex(account.discriminator)) {
    throw new Error(`${name}: discriminator ${hex(disc)} is not the IDL's ${hex(account.discriminator)}`);
  }
  const view = new DataView(data.buffer, data.byteOffset + 8, data.byteLength - 8);
  return readStruct(name, view, 0)[0];
}

const rpc = createSolanaRpc(rpcUrl);
const program = address(idl.address);
async function fetchAccount(seeds) {
  const [pda] = await getProgramDerivedAddress({ programAddress: program, seeds });
  const { value } = await rpc.getAccountInfo(pda, { encoding: "base64", commitment: "confirmed" }).send();
  if (!value) return [pda, null];
  if (value.owner !== program) throw new Error(`${pda} is owned by ${value.owner}, not ${program}`);
  return [pda, new Uint8Array(Buffer.from(value.data[0], "base64"))];
}

const [configAddress, configData] = await fetchAccount([new TextEncoder().encode("config")]);
if (!configData) throw new Error(`no config account at ${configAddress}`);
const result = { program, config_address: configAddress, config: decodeAccount("GlobalConfig", configData), job: null };
if (jobHex) {
  const [jobAddress, jobData] = await fetchAccount([new TextEncoder().encode("job"), Buffer.from(jobHex, "hex")]);
  if (!jobData) throw new Error(`no job account at ${jobAddress}`);
  result.job_address = jobAddress;
  result.job = decodeAccount("Job", jobData);
}
console.log(JSON.stringify(result));
