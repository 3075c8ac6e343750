/** Cancelling a job the client posted, while it is Posted or Seeded (full refund). */
import {
  AccountRole,
  address,
  appendTransactionMessageInstruction,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Signature,
  type TransactionPartialSigner,
} from "@solana/kit";
import { addressBytes, confirm, jobAddress, readJob, rpcOf, type Rpc } from "./chain.js";
import { EdgerunError } from "./errors.js";
import { cancelJobData, loadProtocol, toHex } from "./protocol.js";
import { base, getJson, type RelayInfo } from "./relay.js";

export interface CancelOptions {
  relay: string | URL;
  rpc: string | URL | Rpc;
  programId?: string;
  signal?: AbortSignal;
}

/** Statuses cancel_job accepts. */
const CANCELLABLE = new Set([0, 1]);

/**
 * Sends cancel_job for `jobId`, signed and paid by `signer`, the job's
 * client; resolves to the confirmed signature. Refused here, before any
 * fee, when the chain says the signer is not the client or the job is
 * past Seeded (code `not_cancellable`).
 */
export async function cancelJob(jobId: string, signer: TransactionPartialSigner, o: CancelOptions): Promise<string> {
  await loadProtocol();
  const rpc = rpcOf(o.rpc);
  const program = address(o.programId ?? (await getJson<RelayInfo>(`${base(o.relay)}/v1/info`, { signal: o.signal })).program_id);
  const job = await readJob(rpc, program, jobId);
  if (toHex(job.client) !== toHex(addressBytes(signer.address))) {
    throw new EdgerunError("not_cancellable", `job ${jobId}'s client is not ${signer.address}: only the client may cancel it`);
  }
  if (!CANCELLABLE.has(job.status)) {
    throw new EdgerunError("not_cancellable", `job ${jobId} is ${job.statusName}: cancel_job takes a job only while Posted or Seeded`);
  }
  const jobAccount = await jobAddress(program, jobId);
  const { value: blockhash } = await rpc.getLatestBlockhash({ commitment: "confirmed" }).send();
  const message = pipe(
    createTransactionMessage({ version: "legacy" }),
    (m) => setTransactionMessageFeePayerSigner(signer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) =>
      appendTransactionMessageInstruction(
        {
          programAddress: program,
          // The protocol's account list: client (payer), job.
          accounts: [
            { address: signer.address, role: AccountRole.WRITABLE_SIGNER, signer },
            { address: jobAccount, role: AccountRole.WRITABLE },
          ],
          data: cancelJobData(),
        },
        m,
      ),
  );
  const signed = await signTransactionMessageWithSigners(message);
  const signature = (await rpc
    .sendTransaction(getBase64EncodedWireTransaction(signed), { encoding: "base64", preflightCommitment: "confirmed" })
    .send()) as Signature;
  await confirm(rpc, signature);
  return signature;
}
