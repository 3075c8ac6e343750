/** What a job costs on this chain, from its Config and rent, by the protocol's arithmetic. */
import { accountSpace, loadProtocol, recordsDeposit, splitPayout, tierForEscrow, tierRules, type TierName } from "./protocol.js";
import { rpcOf, type Rpc } from "./chain.js";
import { ArgumentError, ChainError } from "./errors.js";
import { base, getJson, type ChainConfig } from "./relay.js";

/** The network's fee for a transaction with one signature. */
export const SIGNATURE_FEE = 5_000n;

export interface EstimateOptions {
  tier?: TierName;
  escrow?: bigint;
  priorityFee?: bigint;
  relay: string | URL;
  rpc: string | URL | Rpc;
  signal?: AbortSignal;
}

export interface Estimate {
  tier: TierName;
  committeeSize: number;
  quorum: number;
  escrowLamports: bigint;
  priorityFeeLamports: bigint;
  /** The protocol fee (with the config's minimum), to the treasury. */
  protocolFeeLamports: bigint;
  /** Each winner's share when the whole committee agrees … */
  perWinnerAllAgree: bigint;
  /** … and when only a quorum does. */
  perWinnerQuorumOnly: bigint;
  /** Held for the committee's records' rent; what they do not use comes back. */
  recordsDepositLamports: bigint;
  /** The Job account's rent (kept: the job stays on chain as evidence). */
  jobRentLamports: bigint;
  /** The post_job transaction's network fee. */
  transactionFeeLamports: bigint;
  /** What the client's account pays at post_job. */
  totalLamports: bigint;
  /** The config it was priced from. */
  protocolFeeBps: number;
  minJobFeeLamports: bigint;
}

/**
 * Prices a job: the escrow (given, or the tier's default, at least the
 * config's `min_escrow_lamports`), the protocol fee and shares by
 * `economics::split_payout_with_minimum`, the records deposit by
 * `economics::records_deposit` from the chain's rent, the Job's rent, the
 * priority fee and the transaction fee.
 */
export async function estimate(o: EstimateOptions): Promise<Estimate> {
  if (o.tier !== undefined && o.escrow !== undefined) throw new ArgumentError("give tier or escrow, not both");
  await loadProtocol();
  const config = await getJson<ChainConfig>(`${base(o.relay)}/v1/config`, { signal: o.signal });
  const minEscrow = BigInt(config.min_escrow_lamports);
  let escrow = o.escrow ?? tierRules(o.tier ?? "bronze").defaultEscrowLamports;
  if (o.escrow === undefined && escrow < minEscrow) escrow = minEscrow;
  const tier = tierForEscrow(escrow);
  const rules = tierRules(tier);
  const bps = config.protocol_fee_bps;
  const minFee = BigInt(config.min_job_fee_lamports);
  const all = splitPayout(escrow, bps, minFee, rules.committeeSize);
  const quorum = splitPayout(escrow, bps, minFee, rules.quorum);
  if (!all || !quorum) throw new ChainError(`the chain's config (fee ${bps} bps) gives no payout the protocol allows`);
  const rpc = rpcOf(o.rpc);
  const rent = async (space: number) =>
    BigInt(await rpc.getMinimumBalanceForRentExemption(BigInt(space)).send());
  const [jobRent, resultRent, outputRent] = await Promise.all([
    rent(accountSpace.job()),
    rent(accountSpace.jobResult()),
    rent(accountSpace.outputAvailability()),
  ]);
  const records = recordsDeposit(resultRent, outputRent, rules.committeeSize);
  if (records === undefined) throw new ChainError("the records deposit overflows u64");
  const priorityFee = o.priorityFee ?? 0n;
  return {
    tier,
    committeeSize: rules.committeeSize,
    quorum: rules.quorum,
    escrowLamports: escrow,
    priorityFeeLamports: priorityFee,
    protocolFeeLamports: all.fee,
    perWinnerAllAgree: all.perWinner,
    perWinnerQuorumOnly: quorum.perWinner,
    recordsDepositLamports: records,
    jobRentLamports: jobRent,
    transactionFeeLamports: SIGNATURE_FEE,
    totalLamports: escrow + priorityFee + records + jobRent + SIGNATURE_FEE,
    protocolFeeBps: bps,
    minJobFeeLamports: minFee,
  };
}
