/** Posting a job: multipart to the relay, then paid by an API key or signed by a kit signer. */
import {
  type Address,
  address,
  getBase64EncodedWireTransaction,
  getBase64Encoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  isTransactionModifyingSigner,
  isTransactionPartialSigner,
  type Signature,
  type Transaction,
  type TransactionModifyingSigner,
  type TransactionPartialSigner,
} from "@solana/kit";
import { addressBytes, confirm, jobAddress, rpcOf, type Rpc } from "./chain.js";
import { ArgumentError, UnexpectedTransactionError } from "./errors.js";
import { decodePostJob, fromHex, isPostJob, jobId as deriveJobId, loadProtocol, postJobAccounts, tierRules, toHex, type TierName } from "./protocol.js";
import { base, check, getJson, type RelayInfo } from "./relay.js";

/** A kit signer that can sign a prepared transaction (a key pair, most wallets). */
export type JobSigner = TransactionPartialSigner | TransactionModifyingSigner;

export type Bytes = Uint8Array | ArrayBuffer | Blob;

export interface PostJobOptions {
  /** The job's module (Guest ABI v1). */
  wasm: Bytes;
  /** The job's input. */
  input: Bytes;
  /** The committee tier; the escrow is then the tier's default. */
  tier?: TierName;
  /** The escrow in lamports; it sets the tier. */
  escrow?: bigint;
  /** Paid on top of the escrow; the scheduler seats higher fees first. */
  priorityFee?: bigint;
  /** The fuel cap (`max_instructions`); the relay's default if left out. */
  maxInstructions?: bigint;
  /** Pays and signs post_job from this kit signer's account … */
  signer?: JobSigner;
  /** … or lets the relay's operator account post it (`authorization: Bearer`). */
  apiKey?: string;
  relay: string | URL;
  /** Where a signed post_job is sent (needed with `signer`). */
  rpc?: string | URL | Rpc;
  /** Pin the program instead of taking the relay's `/v1/info` word for it. */
  programId?: string;
  signal?: AbortSignal;
}

export interface PostedJob {
  jobId: string;
  bundleHash: string;
  /** The bundle's absolute URL at the relay. */
  bundleUrl: string;
  tier: string;
  escrowLamports: bigint;
  priorityFeeLamports: bigint;
  /** The post_job transaction's signature. */
  signature: string;
}

interface Posted {
  job_id: string;
  bundle_hash: string;
  bundle_url: string;
  tier: string;
  escrow_lamports: number;
  priority_fee_lamports: number;
  transaction?: string;
  signature?: string;
}

function blob(b: Bytes): Blob {
  return b instanceof Blob ? b : new Blob([b instanceof Uint8Array ? new Uint8Array(b) : b]);
}

/**
 * Posts a job: the relay builds and stores the bundle, then either posts
 * it from its operator account (`apiKey`) or prepares a post_job for
 * `signer`, which the SDK checks (one post_job of the program, the signer
 * the fee payer, client and only signer, the terms asked for) before it
 * signs, sends it to `rpc` and waits for it to be confirmed.
 */
export async function postJob(o: PostJobOptions): Promise<PostedJob> {
  if ((o.signer === undefined) === (o.apiKey === undefined)) {
    throw new ArgumentError("give exactly one of signer (a kit signer that pays) or apiKey (the relay's operator pays)");
  }
  if (o.tier !== undefined && o.escrow !== undefined) throw new ArgumentError("give tier or escrow, not both");
  if (o.signer && !o.rpc) throw new ArgumentError("a signer's transaction goes to the chain: give rpc");
  await loadProtocol();
  const relay = base(o.relay);
  const tier = o.tier ?? "bronze";
  const escrow = o.escrow ?? tierRules(tier).defaultEscrowLamports;
  const priorityFee = o.priorityFee ?? 0n;
  const form = new FormData();
  form.append("wasm", blob(o.wasm), "job.wasm");
  form.append("input", blob(o.input), "input.bin");
  // The relay names three tiers; the escrow, sent always, is what sets it.
  form.append("tier", tier === "gold+" ? "gold" : tier);
  form.append("escrow_lamports", String(escrow));
  form.append("priority_fee_lamports", String(priorityFee));
  if (o.maxInstructions !== undefined) form.append("max_instructions", String(o.maxInstructions));
  const headers: Record<string, string> = {};
  if (o.apiKey !== undefined) headers.authorization = `Bearer ${o.apiKey}`;
  else form.append("client", o.signer!.address);
  // Sent with its length, not streamed: a relay that refuses early (a
  // wrong key) answers before the body is read, and a streamed body
  // would then end in a broken pipe instead of its answer.
  const encoded = new Request("http://form.invalid/", { method: "POST", body: form });
  headers["content-type"] = encoded.headers.get("content-type")!;
  const body = await encoded.arrayBuffer();
  const posted = await getJson<Posted>(`${relay}/v1/jobs`, { method: "POST", body, headers, signal: o.signal });
  const out: PostedJob = {
    jobId: posted.job_id,
    bundleHash: posted.bundle_hash,
    bundleUrl: new URL(posted.bundle_url, relay + "/").toString(),
    tier: posted.tier,
    escrowLamports: BigInt(posted.escrow_lamports),
    priorityFeeLamports: BigInt(posted.priority_fee_lamports),
    signature: posted.signature ?? "",
  };
  if (o.apiKey !== undefined) {
    if (!posted.signature) throw new UnexpectedTransactionError("the relay says it posted, but gives no signature");
    return out;
  }
  if (!posted.transaction) throw new UnexpectedTransactionError("no transaction to sign came back");
  const program = address(o.programId ?? (await getJson<RelayInfo>(`${relay}/v1/info`, { signal: o.signal })).program_id);
  const tx = getTransactionDecoder().decode(getBase64Encoder().encode(posted.transaction));
  await checkPostJob(tx, program, o.signer!.address, {
    jobId: posted.job_id,
    bundleHash: posted.bundle_hash,
    escrow,
    priorityFee,
  });
  const rpc = rpcOf(o.rpc!);
  const signed = await sign(tx, o.signer!);
  const signature = (await rpc
    .sendTransaction(getBase64EncodedWireTransaction(signed), { encoding: "base64", preflightCommitment: "confirmed" })
    .send()) as Signature;
  await confirm(rpc, signature);
  out.signature = signature;
  return out;
}

async function sign(tx: Transaction, signer: JobSigner): Promise<Transaction> {
  // The relay's blockhash is the message's lifetime token; kit's signers ask for it.
  const message = getCompiledTransactionMessageDecoder().decode(tx.messageBytes);
  const withLifetime = { ...tx, lifetimeConstraint: { blockhash: message.lifetimeToken, lastValidBlockHeight: (1n << 64n) - 1n } } as never;
  if (isTransactionPartialSigner(signer)) {
    const [sigs] = await signer.signTransactions([withLifetime]);
    return { ...tx, signatures: { ...tx.signatures, ...sigs } };
  }
  if (isTransactionModifyingSigner(signer)) {
    const [modified] = await signer.modifyAndSignTransactions([withLifetime]);
    if (!modified || toHex(modified.messageBytes) !== toHex(tx.messageBytes)) {
      throw new UnexpectedTransactionError("the wallet changed the checked transaction before signing it");
    }
    return modified;
  }
  throw new ArgumentError("the signer can neither sign (partial) nor modify-and-sign transactions");
}

/** What the customer asked the relay for. */
export interface Asked {
  jobId: string;
  bundleHash: string;
  escrow: bigint;
  priorityFee: bigint;
}

/**
 * Checks a relay-prepared post_job before anything signs it: a legacy
 * message with one signer, `client`, as fee payer; one instruction, of
 * `program`, whose data is post_job (the protocol's discriminator and
 * layout) with the job, bundle, escrow and priority fee asked for and a
 * job id bound to `client`; its client account the signer and its job
 * account the job's PDA. Throws {@link UnexpectedTransactionError}.
 */
export async function checkPostJob(tx: Transaction, program: Address, client: Address, asked: Asked): Promise<void> {
  await loadProtocol();
  const bad = (why: string) => new UnexpectedTransactionError(why);
  let m;
  try {
    m = getCompiledTransactionMessageDecoder().decode(tx.messageBytes);
  } catch (e) {
    throw bad(`the message does not decode: ${(e as Error).message}`);
  }
  if (m.version !== "legacy") throw bad(`a ${m.version} message, not a legacy one`);
  const keys = m.staticAccounts;
  const signers = Object.keys(tx.signatures);
  if (m.header.numSignerAccounts !== 1 || signers.length !== 1 || keys[0] !== client || signers[0] !== client) {
    throw bad(`it must have one signer, ${client}, as fee payer; it has ${m.header.numSignerAccounts} (fee payer ${keys[0]})`);
  }
  if (m.instructions.length !== 1) throw bad(`${m.instructions.length} instructions, not one post_job`);
  const ix = m.instructions[0]!;
  if (keys[ix.programAddressIndex] !== program) throw bad(`the instruction is ${keys[ix.programAddressIndex]}'s, not the edgerun program ${program}'s`);
  const data = (ix.data ?? new Uint8Array()) as Uint8Array;
  if (!isPostJob(data)) throw bad("the instruction is not post_job");
  const args = decodePostJob(data);
  if (!args) throw bad("post_job's arguments do not decode");
  const accounts = (ix.accountIndices ?? []).map((i) => keys[i]);
  if (accounts.length !== postJobAccounts()) throw bad(`post_job names ${accounts.length} accounts, not ${postJobAccounts()}`);
  if (accounts[0] !== client) throw bad(`the job's client is ${accounts[0]}, not the signer ${client}`);
  if (args.jobId !== asked.jobId) throw bad(`it posts job ${args.jobId}, not ${asked.jobId}`);
  if (args.bundleHash !== asked.bundleHash) throw bad(`it posts bundle ${args.bundleHash}, not ${asked.bundleHash}`);
  if (args.escrowLamports !== asked.escrow) throw bad(`it escrows ${args.escrowLamports} lamports, not ${asked.escrow}`);
  if (args.priorityFeeLamports !== asked.priorityFee) throw bad(`its priority fee is ${args.priorityFeeLamports}, not ${asked.priorityFee}`);
  if (toHex(deriveJobId(addressBytes(client), args.nonce, fromHex(args.bundleHash))) !== args.jobId) {
    throw bad("its job id is not blake3(client || nonce || bundle_hash)");
  }
  if (accounts[2] !== (await jobAddress(program, args.jobId))) throw bad(`its job account ${accounts[2]} is not the job's address`);
}
