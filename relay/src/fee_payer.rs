//! The relay's fee payer (PROTOCOL.md v1.1, "Relay fee payer"): which
//! transactions it pays for, and how much it may spend.
//!
//! [`check`] reads a transaction without the chain and says what the chain
//! must still confirm: each instruction is one the policy names, every
//! Ed25519 check belongs to the submit_result right after it (one signature,
//! by that submit_result's worker), every signer besides the fee payer is
//! the acting signer of some instruction, and none names the fee payer's
//! account. The handler then asks the chain that the workers hold stake,
//! reserves the fee against the per-signer and total budgets, and
//! simulates the signed transaction; only then does it send.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edgerun_protocol::instruction::{Ix, ed25519};
use solana_address::Address;
use solana_message::compiled_instruction::CompiledInstruction;
use solana_transaction::Transaction;

use crate::error::RelayError;
use crate::table::Table;

/// The Ed25519 signature-verify precompile.
pub const ED25519_PROGRAM: Address =
    solana_address::address!("Ed25519SigVerify111111111111111111111111111");
/// Solana's largest transaction (a packet's payload).
pub const MAX_TX_BYTES: usize = 1232;
/// Solana's base fee per signature, transaction or precompile.
pub const LAMPORTS_PER_SIGNATURE: u64 = 5_000;

/// What the fee payer may spend, and how often one signer may ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeePolicy {
    /// Transactions one signer may send in a burst...
    pub burst: u32,
    /// ...refilled one per this interval.
    pub every: Duration,
    /// Lamports of fees the relay pays for one signer per hour.
    pub signer_lamports_per_hour: u64,
    /// Lamports of fees the relay pays for everyone together per hour.
    pub total_lamports_per_hour: u64,
}

impl Default for FeePolicy {
    /// 20 transactions a burst, one more a second; 5,000,000 lamports
    /// (0.005 SOL, about 333 submissions) per signer and 500,000,000
    /// lamports (0.5 SOL) in total per hour.
    fn default() -> Self {
        FeePolicy {
            burst: 20,
            every: Duration::from_secs(1),
            signer_lamports_per_hour: 5_000_000,
            total_lamports_per_hour: 500_000_000,
        }
    }
}

/// Who must be what, for a transaction that passed [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The first signer after the fee payer: the budgets are charged to it.
    pub principal: Address,
    /// Signers acting as workers (submit_result, reach_quorum,
    /// declare_output, finalize_job): each must hold stake on chain.
    pub workers: Vec<Address>,
    /// Signatures the fee pays for: the transaction's and the precompile's.
    pub signatures: u64,
}

impl Plan {
    /// The fee, at the base rate per signature.
    pub fn fee(&self) -> u64 {
        self.signatures * LAMPORTS_PER_SIGNATURE
    }
}

fn refuse(msg: impl Into<String>) -> RelayError {
    RelayError::TxRefused(msg.into())
}

/// The instructions the relay pays for, and what their signers must be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A staked worker's own step.
    Worker,
    /// The signer funds what it creates (register_worker, post_job), which
    /// simulation proves.
    Funder,
}

fn role(ix: Ix) -> Option<Role> {
    match ix {
        Ix::SubmitResult | Ix::ReachQuorum | Ix::DeclareOutput | Ix::FinalizeJob => {
            Some(Role::Worker)
        }
        Ix::RegisterWorker | Ix::PostJob => Some(Role::Funder),
        _ => None,
    }
}

const PAID_FOR: &str =
    "submit_result, reach_quorum, declare_output, finalize_job, register_worker and post_job";

/// The serialized size of `tx`, refused past [`MAX_TX_BYTES`].
pub fn check_size(tx: &Transaction) -> Result<(), RelayError> {
    let size = bincode::serialized_size(tx).map_err(|e| RelayError::Internal(e.to_string()))?;
    if size as usize > MAX_TX_BYTES {
        return Err(RelayError::TxTooLarge {
            size: size as usize,
        });
    }
    Ok(())
}

/// Checks the policy's rules that need no chain; see the module docs.
pub fn check(tx: &Transaction, fee_payer: &Address, program: &Address) -> Result<Plan, RelayError> {
    let keys = &tx.message.account_keys;
    if keys.first() != Some(fee_payer) {
        return Err(refuse(format!(
            "the fee payer (first account) must be this relay's {fee_payer} (GET /v1/info)"
        )));
    }
    if keys[1..].contains(fee_payer) {
        return Err(refuse(format!(
            "the fee payer {fee_payer} appears twice among the accounts; it may only pay the fee"
        )));
    }
    let required = tx.message.header.num_required_signatures as usize;
    if required < 2 || tx.signatures.len() != required || keys.len() < required {
        return Err(refuse(
            "the transaction must be signed by its own signers besides the fee payer",
        ));
    }
    let ixs = &tx.message.instructions;
    if ixs.is_empty() {
        return Err(refuse("the transaction has no instructions"));
    }
    let key = |i: u8| keys.get(i as usize).copied();
    let program_of = |ix: &CompiledInstruction| {
        key(ix.program_id_index).ok_or_else(|| refuse("an instruction names a missing program"))
    };
    // What each instruction is: the precompile, or one of the program's.
    let mut kinds: Vec<Option<Ix>> = Vec::with_capacity(ixs.len());
    for (i, ix) in ixs.iter().enumerate() {
        if ix.program_id_index == 0 || ix.accounts.contains(&0) {
            return Err(refuse(format!(
                "instruction {i} names the relay's fee payer account; it may only pay the fee"
            )));
        }
        let id = program_of(ix)?;
        if id == ED25519_PROGRAM {
            kinds.push(None);
        } else if id == *program {
            let which = Ix::from_data(&ix.data).map_err(|e| {
                refuse(format!(
                    "instruction {i} is not an edgerun instruction: {e}"
                ))
            })?;
            if role(which).is_none() {
                return Err(refuse(format!(
                    "instruction {i} is {}; the relay pays only for {PAID_FOR}",
                    which.name()
                )));
            }
            kinds.push(Some(which));
        } else {
            return Err(refuse(format!(
                "instruction {i} calls {id}; the relay pays only for the edgerun program's {PAID_FOR}, \
                 and the Ed25519 check right before each submit_result"
            )));
        }
    }

    let mut signatures = required as u64;
    let mut workers: Vec<Address> = Vec::new();
    let mut actors: Vec<Address> = Vec::new();
    for (i, ix) in ixs.iter().enumerate() {
        let Some(which) = kinds[i] else {
            // The precompile: only as the one check of the next submit_result.
            if kinds.get(i + 1) != Some(&Some(Ix::SubmitResult)) {
                return Err(refuse(format!(
                    "instruction {i} is an Ed25519 check not immediately followed by a submit_result; \
                     the relay pays only for the one Ed25519 check of each submit_result"
                )));
            }
            signatures += 1;
            continue;
        };
        // The instruction's signing accounts, by the protocol's account list.
        let mut ix_signers = Vec::new();
        for (def, &at) in which.accounts().iter().zip(&ix.accounts) {
            if !def.signer {
                continue;
            }
            let signer = (at as usize) < required;
            let address = key(at).filter(|_| signer).ok_or_else(|| {
                refuse(format!(
                    "instruction {i} ({}) needs its {} to sign the transaction",
                    which.name(),
                    def.name
                ))
            })?;
            ix_signers.push(address);
        }
        if ix.accounts.len() < which.accounts().len() {
            return Err(refuse(format!(
                "instruction {i} ({}) takes {} accounts, {} given",
                which.name(),
                which.accounts().len(),
                ix.accounts.len()
            )));
        }
        if which == Ix::SubmitResult {
            let worker = *ix_signers
                .first()
                .ok_or_else(|| refuse(format!("instruction {i} (submit_result) has no worker")))?;
            check_attestation(tx, i, &worker)?;
        }
        if role(which) == Some(Role::Worker) {
            workers.extend(ix_signers.iter().copied());
        }
        actors.extend(ix_signers);
    }
    for signer in &keys[1..required] {
        if !actors.contains(signer) {
            return Err(refuse(format!(
                "{signer} signs the transaction but acts in none of its instructions; \
                 the relay pays only for the signatures its instructions need"
            )));
        }
    }
    workers.sort_unstable();
    workers.dedup();
    Ok(Plan {
        principal: keys[1],
        workers,
        signatures,
    })
}

/// The submit_result at `at` has exactly one Ed25519 check, right before
/// it: one signature, no accounts, by `worker`.
fn check_attestation(tx: &Transaction, at: usize, worker: &Address) -> Result<(), RelayError> {
    let ixs = &tx.message.instructions;
    let before = at
        .checked_sub(1)
        .and_then(|b| ixs.get(b))
        .filter(|ix| {
            tx.message.account_keys.get(ix.program_id_index as usize) == Some(&ED25519_PROGRAM)
        })
        .ok_or_else(|| {
            refuse(format!(
                "instruction {at} (submit_result) must come right after its Ed25519 check"
            ))
        })?;
    let i = at - 1;
    if !before.accounts.is_empty() {
        return Err(refuse(format!(
            "instruction {i} (Ed25519) names accounts; a submit_result's check names none"
        )));
    }
    let (count, record) = ed25519::first_record(&before.data).ok_or_else(|| {
        refuse(format!(
            "instruction {i} (Ed25519) holds no signature record"
        ))
    })?;
    if count != 1 {
        return Err(refuse(format!(
            "instruction {i} (Ed25519) checks {count} signatures; a submit_result's check is exactly one"
        )));
    }
    let source = match record.public_key_instruction_index.get() {
        ed25519::THIS_INSTRUCTION => Some(before),
        index => ixs.get(index as usize),
    };
    let offset = record.public_key_offset.get() as usize;
    let pubkey = source
        .and_then(|ix| ix.data.get(offset..offset + 32))
        .ok_or_else(|| {
            refuse(format!(
                "instruction {i} (Ed25519) points at a public key outside the transaction"
            ))
        })?;
    if pubkey != worker.as_ref() {
        return Err(refuse(format!(
            "instruction {i} (Ed25519) checks a signature by {}, not by the submit_result's worker {worker}",
            Address::try_from(pubkey).map_or_else(|_| "?".into(), |a| a.to_string())
        )));
    }
    Ok(())
}

/// A token bucket: `capacity`, refilled at `capacity` per `period`.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(capacity: f64, now: Instant) -> Self {
        Bucket {
            tokens: capacity,
            at: now,
        }
    }

    fn refill(&mut self, capacity: f64, period: Duration, now: Instant) {
        let gained = now.saturating_duration_since(self.at).as_secs_f64() / period.as_secs_f64();
        self.tokens = (self.tokens + gained * capacity).min(capacity);
        self.at = now;
    }

    /// Whether it is back to full by `now` (so it can be forgotten).
    fn refilled(&self, capacity: f64, period: Duration, now: Instant) -> bool {
        let gained = now.saturating_duration_since(self.at).as_secs_f64() / period.as_secs_f64();
        self.tokens + gained * capacity >= capacity
    }

    /// How long until `amount` is available.
    fn wait(&self, amount: f64, capacity: f64, period: Duration) -> Duration {
        let missing = (amount - self.tokens).max(0.0);
        period.mul_f64((missing / capacity).min(1e6))
    }
}

/// Signers tracked past which refilled ones are forgotten.
const PRUNE_AT: usize = 10_000;
/// Hard bound on tracked signers.
const MAX_SIGNERS: usize = 200_000;

/// Per-signer token buckets: `burst` transactions, refilled at one per
/// `every`.
pub struct RateLimiter {
    burst: f64,
    every: Duration,
    buckets: Table<Bucket>,
}

impl RateLimiter {
    pub fn new(burst: u32, every: Duration) -> Self {
        RateLimiter {
            burst: f64::from(burst),
            every,
            buckets: Table::new(PRUNE_AT, MAX_SIGNERS),
        }
    }

    /// Takes one token for `signer`, or says how long until one is free.
    pub fn take(&self, signer: &Address) -> Result<(), Duration> {
        self.take_at(signer, Instant::now())
    }

    pub(crate) fn take_at(&self, signer: &Address, now: Instant) -> Result<(), Duration> {
        let period = self.every.mul_f64(self.burst);
        let burst = self.burst;
        self.buckets
            .with(
                signer.as_array(),
                |b| b.refilled(burst, period, now),
                || Bucket::full(burst, now),
                |b| {
                    b.refill(burst, period, now);
                    if b.tokens >= 1.0 {
                        b.tokens -= 1.0;
                        Ok(())
                    } else {
                        Err(b.wait(1.0, burst, period))
                    }
                },
            )
            .unwrap_or(Err(self.every))
    }
}

const HOUR: Duration = Duration::from_secs(3600);

/// The lamports the fee payer may still spend: per signer and in total,
/// each a bucket refilled evenly over an hour.
pub struct SpendCaps {
    signer_cap: f64,
    total_cap: f64,
    signers: Table<Bucket>,
    total: Mutex<Bucket>,
}

/// Lamports set aside for one transaction; given back when dropped unless
/// [`Reservation::spent`] says the fee was paid.
pub struct Reservation {
    caps: Arc<SpendCaps>,
    signer: Address,
    lamports: f64,
}

impl SpendCaps {
    pub fn new(signer_lamports_per_hour: u64, total_lamports_per_hour: u64) -> Arc<Self> {
        let now = Instant::now();
        Arc::new(SpendCaps {
            signer_cap: signer_lamports_per_hour as f64,
            total_cap: total_lamports_per_hour as f64,
            signers: Table::new(PRUNE_AT, MAX_SIGNERS),
            total: Mutex::new(Bucket::full(total_lamports_per_hour as f64, now)),
        })
    }

    /// Sets `lamports` aside for `signer`, or refuses with `rate_limited`
    /// saying which budget is spent and when to retry.
    pub fn reserve(
        self: &Arc<Self>,
        signer: &Address,
        lamports: u64,
    ) -> Result<Reservation, RelayError> {
        self.reserve_at(signer, lamports, Instant::now())
    }

    pub(crate) fn reserve_at(
        self: &Arc<Self>,
        signer: &Address,
        lamports: u64,
        now: Instant,
    ) -> Result<Reservation, RelayError> {
        let amount = lamports as f64;
        let mut total = self.total.lock().unwrap_or_else(|e| e.into_inner());
        total.refill(self.total_cap, HOUR, now);
        if total.tokens < amount {
            return Err(RelayError::RateLimited {
                what: format!(
                    "the relay's fee budget ({} lamports an hour, all signers together) is spent",
                    self.total_cap as u64
                ),
                retry_s: total.wait(amount, self.total_cap, HOUR).as_secs().max(1),
            });
        }
        let cap = self.signer_cap;
        let mine = self
            .signers
            .with(
                signer.as_array(),
                |b| b.refilled(cap, HOUR, now),
                || Bucket::full(cap, now),
                |b| {
                    b.refill(cap, HOUR, now);
                    if b.tokens < amount {
                        return Err(b.wait(amount, cap, HOUR));
                    }
                    b.tokens -= amount;
                    Ok(())
                },
            )
            .map_err(|_| RelayError::RateLimited {
                what: "the relay is tracking as many signers as it can".into(),
                retry_s: 60,
            })?;
        if let Err(wait) = mine {
            return Err(RelayError::RateLimited {
                what: format!(
                    "the fee budget for {signer} ({} lamports an hour) is spent",
                    self.signer_cap as u64
                ),
                retry_s: wait.as_secs().max(1),
            });
        }
        total.tokens -= amount;
        Ok(Reservation {
            caps: self.clone(),
            signer: *signer,
            lamports: amount,
        })
    }

    fn give_back(&self, signer: &Address, lamports: f64) {
        let mut total = self.total.lock().unwrap_or_else(|e| e.into_inner());
        total.tokens = (total.tokens + lamports).min(self.total_cap);
        let cap = self.signer_cap;
        self.signers.get_mut(signer.as_array(), |b| {
            b.tokens = (b.tokens + lamports).min(cap)
        });
    }
}

impl Reservation {
    /// The fee was paid: `actual` lamports (the chain's figure when known);
    /// the difference from the reservation is given back or charged.
    pub fn spent(mut self, actual: Option<u64>) {
        if let Some(actual) = actual {
            let extra = self.lamports - actual as f64;
            self.caps.give_back(&self.signer, extra);
        }
        self.lamports = 0.0;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.lamports != 0.0 {
            self.caps.give_back(&self.signer, self.lamports);
        }
    }
}

/// The relay's co-signing key and its limits.
#[derive(Clone)]
pub struct FeePayer {
    pub keypair: Arc<solana_keypair::Keypair>,
    pub limiter: Arc<RateLimiter>,
    pub spend: Arc<SpendCaps>,
    pub policy: FeePolicy,
}

impl FeePayer {
    pub fn new(keypair: solana_keypair::Keypair, policy: FeePolicy) -> Self {
        FeePayer {
            keypair: Arc::new(keypair),
            limiter: Arc::new(RateLimiter::new(policy.burst, policy.every)),
            spend: SpendCaps::new(
                policy.signer_lamports_per_hour,
                policy.total_lamports_per_hour,
            ),
            policy,
        }
    }
}

#[cfg(test)]
mod tests {
    use edgerun_protocol::instruction::ed25519::{
        HEADER_LEN, SignatureOffsets, THIS_INSTRUCTION, instruction_data,
    };
    use edgerun_protocol::layout::Layout;
    use edgerun_protocol::state::Job;
    use solana_instruction::{AccountMeta, Instruction};
    use solana_keypair::Keypair;
    use solana_signer::Signer;

    use super::*;

    fn program() -> Address {
        Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID)
    }

    /// `ixs` paid by `payer`, signed by everyone but the payer.
    fn tx(ixs: &[Instruction], payer: &Address, signers: &[&Keypair]) -> Transaction {
        let mut tx = Transaction::new_with_payer(ixs, Some(payer));
        tx.partial_sign(signers, solana_hash::Hash::default());
        tx
    }

    fn code_and_message(e: RelayError) -> (&'static str, String) {
        (e.code(), e.to_string())
    }

    fn submit(worker: &Keypair, first_index: u16) -> [Instruction; 2] {
        let key = ed25519_dalek::SigningKey::from_bytes(worker.secret_bytes());
        let job = Job {
            job_id: [3; 32],
            ..bytemuck::Zeroable::zeroed()
        };
        let attestation = edgerun_client::Attestation::for_job(&job, &worker.pubkey(), [4; 32]);
        edgerun_client::submit_result(&program(), &key, &attestation, first_index)
    }

    /// An Ed25519 check of `records` records, all pointing at one signature
    /// by `signer` over 32 bytes.
    fn records(signer: &Keypair, records: usize) -> Instruction {
        let message = [7u8; 32];
        let signature = signer.sign_message(&message);
        let at = (HEADER_LEN + records * SignatureOffsets::LEN) as u16;
        let record = SignatureOffsets::new(
            (at + 32, THIS_INSTRUCTION),
            (at, THIS_INSTRUCTION),
            (at + 96, 32, THIS_INSTRUCTION),
        );
        let payload = [signer.pubkey().as_ref(), signature.as_ref(), &message].concat();
        Instruction {
            program_id: ED25519_PROGRAM,
            accounts: vec![],
            data: instruction_data(&vec![record; records], &payload),
        }
    }

    #[test]
    fn a_staked_workers_batch_and_a_clients_post_job_pass_with_their_fees() {
        let payer = Keypair::new().pubkey();
        let worker = Keypair::new();
        let mut ixs = submit(&worker, 0).to_vec();
        ixs.push(edgerun_client::reach_quorum(
            &program(),
            &worker.pubkey(),
            &[3; 32],
            [4; 32],
        ));
        ixs.push(
            edgerun_client::declare_output(&program(), &worker.pubkey(), &[3; 32], [4; 32], "/x")
                .unwrap(),
        );
        let plan = check(&tx(&ixs, &payer, &[&worker]), &payer, &program()).unwrap();
        assert_eq!(plan.principal, worker.pubkey());
        assert_eq!(plan.workers, vec![worker.pubkey()]);
        // Two transaction signatures and the precompile's one.
        assert_eq!(plan.fee(), 15_000);

        let client = Keypair::new();
        let bundle = edgerun_protocol::bundle::Bundle {
            runtime_id: [1; 32],
            limits: edgerun_protocol::limits::Limits::new(1 << 20, 1_000, 64),
            wasm: b"\0asm\x01\0\0\0",
            input: b"",
        }
        .encode()
        .unwrap();
        let spec =
            edgerun_client::JobSpec::for_bundle(&client.pubkey(), 1, &bundle, 10_000_000, 100)
                .unwrap();
        let post = edgerun_client::post_job(&program(), &client.pubkey(), &spec);
        let plan = check(&tx(&[post], &payer, &[&client]), &payer, &program()).unwrap();
        assert!(plan.workers.is_empty(), "a client needs no stake");
        assert_eq!(plan.fee(), 10_000);
        let register =
            edgerun_client::register_worker(&program(), &worker.pubkey(), &worker.pubkey(), 1);
        let plan = check(&tx(&[register], &payer, &[&worker]), &payer, &program()).unwrap();
        assert!(plan.workers.is_empty(), "a registration funds itself");
    }

    #[test]
    fn everything_else_is_refused_naming_the_rule() {
        let payer = Keypair::new().pubkey();
        let (worker, other) = (Keypair::new(), Keypair::new());
        let p = program();
        let refused = |ixs: &[Instruction], signers: &[&Keypair]| {
            code_and_message(check(&tx(ixs, &payer, signers), &payer, &p).unwrap_err())
        };
        // Precompile records alone (the drain), or two checks in one.
        let mut with_account = records(&worker, 59);
        with_account.accounts = vec![AccountMeta::new_readonly(worker.pubkey(), true)];
        let (code, message) = refused(&[with_account], &[&worker]);
        assert_eq!(code, "tx_refused");
        assert!(
            message.contains("Ed25519 check not immediately followed by a submit_result"),
            "{message}"
        );
        let [_, submit_ix] = submit(&worker, 0);
        let (_, message) = refused(&[records(&worker, 2), submit_ix.clone()], &[&worker]);
        assert!(message.contains("checks 2 signatures"), "{message}");
        // A check of someone else's signature before the worker's submission.
        let (_, message) = refused(&[records(&other, 1), submit_ix.clone()], &[&worker]);
        assert!(
            message.contains("not by the submit_result's worker"),
            "{message}"
        );
        // A submission without its check.
        let (_, message) = refused(std::slice::from_ref(&submit_ix), &[&worker]);
        assert!(
            message.contains("right after its Ed25519 check"),
            "{message}"
        );
        // Instructions the policy does not name.
        let withdraw = edgerun_client::withdraw_stake(&p, &worker.pubkey(), &worker.pubkey(), 1);
        let (_, message) = refused(&[withdraw], &[&worker]);
        assert!(message.contains("withdraw_stake"), "{message}");
        let cancel = edgerun_client::cancel_job(&p, &worker.pubkey(), &[1; 32]);
        let (_, message) = refused(&[cancel], &[&worker]);
        assert!(message.contains("cancel_job"), "{message}");
        // Another program.
        let memo = Instruction {
            program_id: Address::new_from_array([5; 32]),
            accounts: vec![AccountMeta::new_readonly(worker.pubkey(), true)],
            data: vec![],
        };
        let (_, message) = refused(&[memo], &[&worker]);
        assert!(message.contains("calls"), "{message}");
        // The fee payer's account in an instruction.
        let drain = edgerun_client::reach_quorum(&p, &payer, &[3; 32], [4; 32]);
        let mut both = vec![drain];
        both.push(edgerun_client::reach_quorum(
            &p,
            &worker.pubkey(),
            &[3; 32],
            [4; 32],
        ));
        let (_, message) = refused(&both, &[&worker]);
        assert!(message.contains("fee payer account"), "{message}");
        // A signer that acts in nothing: an extra paid signature.
        let mut padded = edgerun_client::reach_quorum(&p, &worker.pubkey(), &[3; 32], [4; 32]);
        padded
            .accounts
            .push(AccountMeta::new_readonly(other.pubkey(), true));
        let (_, message) = refused(&[padded], &[&worker, &other]);
        assert!(
            message.contains("acts in none of its instructions"),
            "{message}"
        );
        // The fee payer's address again under another index.
        let mut twice = tx(
            &[edgerun_client::reach_quorum(
                &p,
                &worker.pubkey(),
                &[3; 32],
                [4; 32],
            )],
            &payer,
            &[&worker],
        );
        twice.message.account_keys.push(payer);
        twice.message.instructions[0].accounts[0] = (twice.message.account_keys.len() - 1) as u8;
        let (_, message) = code_and_message(check(&twice, &payer, &p).unwrap_err());
        assert!(message.contains("appears twice"), "{message}");
        // Not this relay's fee payer.
        let mut elsewhere = tx(
            &[edgerun_client::reach_quorum(
                &p,
                &worker.pubkey(),
                &[3; 32],
                [4; 32],
            )],
            &other.pubkey(),
            &[&worker],
        );
        elsewhere.signatures.truncate(2);
        let (_, message) = code_and_message(check(&elsewhere, &payer, &p).unwrap_err());
        assert!(message.contains("fee payer (first account)"), "{message}");
    }

    #[test]
    fn a_transaction_over_1232_bytes_is_tx_too_large() {
        let payer = Keypair::new().pubkey();
        let worker = Keypair::new();
        let mut big = edgerun_client::reach_quorum(&program(), &worker.pubkey(), &[3; 32], [4; 32]);
        big.data.extend_from_slice(&[0; 1_300]);
        let err = check_size(&tx(&[big], &payer, &[&worker])).unwrap_err();
        assert_eq!(err.code(), "tx_too_large");
        assert!(err.to_string().contains("1232"), "{err}");
    }

    #[test]
    fn each_signer_has_its_own_bucket_and_waits_are_reported() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let (a, b) = (
            Address::new_from_array([1; 32]),
            Address::new_from_array([2; 32]),
        );
        let t0 = Instant::now();
        assert!(limiter.take_at(&a, t0).is_ok());
        assert!(limiter.take_at(&a, t0).is_ok());
        let wait = limiter.take_at(&a, t0).unwrap_err();
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(
            limiter.take_at(&b, t0).is_ok(),
            "another signer is not limited"
        );
        // Refilled a minute later.
        assert!(limiter.take_at(&a, t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn one_take_past_the_threshold_never_scans_the_whole_table() {
        let limiter = RateLimiter::new(1, Duration::from_millis(1));
        let t0 = Instant::now();
        for i in 0..PRUNE_AT as u32 * 2 {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&i.to_le_bytes());
            limiter.take_at(&Address::new_from_array(key), t0).unwrap();
        }
        // Every entry is refilled (stale) by now, but one request prunes
        // one shard at most; further requests forget the rest.
        let later = t0 + Duration::from_secs(1);
        limiter
            .take_at(&Address::new_from_array([0xff; 32]), later)
            .unwrap();
        let left = limiter.buckets.len();
        assert!(
            left > PRUNE_AT,
            "one request pruned the whole table ({left} left)"
        );
        for i in 0..PRUNE_AT as u32 * 4 {
            let mut key = [0xee; 32];
            key[..4].copy_from_slice(&i.to_le_bytes());
            limiter
                .take_at(&Address::new_from_array(key), later)
                .unwrap();
        }
        assert!(
            limiter.buckets.len() < PRUNE_AT * 5,
            "{}",
            limiter.buckets.len()
        );
    }

    #[test]
    fn fee_budgets_per_signer_and_in_total_refuse_with_when_to_retry() {
        let caps = SpendCaps::new(30_000, 50_000);
        let (a, b) = (
            Address::new_from_array([1; 32]),
            Address::new_from_array([2; 32]),
        );
        let t0 = Instant::now();
        caps.reserve_at(&a, 15_000, t0).unwrap().spent(None);
        caps.reserve_at(&a, 15_000, t0).unwrap().spent(None);
        let err = caps.reserve_at(&a, 15_000, t0).err().unwrap();
        assert_eq!(err.code(), "rate_limited");
        let message = err.to_string();
        assert!(
            message.contains("30000 lamports an hour") && message.contains("retry in"),
            "{message}"
        );
        // A reservation not spent (simulation failed) comes back.
        drop(caps.reserve_at(&b, 15_000, t0).unwrap());
        caps.reserve_at(&b, 15_000, t0).unwrap().spent(None);
        // 45,000 of the 50,000 total are spent: the next signer hits the
        // total budget.
        let c = Address::new_from_array([3; 32]);
        let err = caps.reserve_at(&c, 15_000, t0).err().unwrap();
        assert!(err.to_string().contains("all signers together"), "{err}");
        // An hour refills everything.
        assert!(caps.reserve_at(&c, 15_000, t0 + HOUR).is_ok());
    }
}
