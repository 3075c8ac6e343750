/**
 * Every error the SDK throws is an {@link EdgerunError} with a
 * machine-readable `code`: the relay's own code when the relay refused
 * (`not_found`, `invalid_job`, `rate_limited`, … see docs/relay.md), or
 * one of the SDK's codes for what the SDK itself found wrong.
 */
export class EdgerunError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The relay answered with its JSON error `{code, message}`. */
export class RelayError extends EdgerunError {
  /** The HTTP status. */
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(code, `the relay refused (${status} ${code}): ${message}`);
    this.status = status;
  }
}

/**
 * The relay's prepared transaction is not what was asked for (another
 * program, more instructions, another fee payer or signer, other job
 * terms). Nothing was signed. Code `unexpected_transaction`.
 */
export class UnexpectedTransactionError extends EdgerunError {
  constructor(why: string) {
    super("unexpected_transaction", `the relay's transaction is not what was asked (${why}); nothing was signed`);
  }
}

/**
 * The output's BLAKE3 is not the winning hash the chain holds: the relay
 * (or something between) served other bytes. Code `output_mismatch`.
 */
export class OutputMismatchError extends EdgerunError {
  readonly expected: string;
  readonly actual: string;
  constructor(jobId: string, expected: string, actual: string) {
    super(
      "output_mismatch",
      `the output the relay served for job ${jobId} hashes to ${actual}, not to ${expected}, the winning hash on chain; do not use it`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * What the chain (or the relay's word about it) says does not hold up:
 * an account missing, owned by another program, not the job asked for, a
 * transaction that failed. Code `chain`.
 */
export class ChainError extends EdgerunError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("chain", message, options);
  }
}

/** A job has no output yet (not revealed, or cancelled). Code `no_output`. */
export class NoOutputError extends EdgerunError {
  readonly status: string;
  constructor(jobId: string, status: string) {
    super("no_output", `job ${jobId} has no winning output (status ${status}); wait for it (waitForJob) first`);
    this.status = status;
  }
}

/** Waited longer than asked. Code `timeout`. */
export class TimeoutError extends EdgerunError {
  constructor(what: string, ms: number) {
    super("timeout", `${what}: not within ${ms} ms`);
  }
}

/** An argument the SDK cannot use. Code `bad_argument`. */
export class ArgumentError extends EdgerunError {
  constructor(message: string) {
    super("bad_argument", message);
  }
}
