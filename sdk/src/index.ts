/**
 * @edgerun/sdk: post WebAssembly jobs to edgerun, follow them, and get
 * their outputs verified against the chain.
 *
 * ```ts
 * import { createClient } from "@edgerun/sdk";
 * import { generateKeyPairSigner } from "@solana/kit";
 *
 * const edgerun = createClient({ relay: "http://127.0.0.1:8080", rpc: "http://127.0.0.1:8899", signer: await generateKeyPairSigner() });
 * const { jobId } = await edgerun.postJob({ wasm, input, tier: "bronze" });
 * await edgerun.waitForJob(jobId, { timeoutMs: 60_000 });
 * const output = await edgerun.getOutput(jobId); // BLAKE3-checked against the Job account
 * ```
 *
 * Every hash and figure comes from `edgerun-protocol` compiled to wasm
 * (`sdk/wasm`); every error is an {@link EdgerunError} with a `code`.
 */
export { createClient, type Client, type ClientConfig } from "./client.js";
export { postJob, checkPostJob, type PostJobOptions, type PostedJob, type JobSigner } from "./post.js";
export { followJob, waitForJob, type FollowOptions, type WaitOptions } from "./follow.js";
export { getOutput, type OutputOptions } from "./output.js";
export { estimate, SIGNATURE_FEE, type Estimate, type EstimateOptions } from "./estimate.js";
export { verifyCommittee, programData, type CommitteeCheck, type Draw, type VerifyOptions } from "./verify.js";
export { cancelJob, type CancelOptions } from "./cancel.js";
export { readJob, jobAddress } from "./chain.js";
export type { JobView, Seat, ChainConfig, RelayInfo } from "./relay.js";
export { decodeAccount, decodeEvent, type DecodedAccount, type DecodedEvent, type IdlType } from "./idl.js";
export * as idl from "./idl.generated.js";
export * from "./errors.js";
export * as protocol from "./protocol.js";
