//! Rust client for edgerun's on-chain program: PDA derivation, instruction
//! builders, the Ed25519 attestation instruction, and account and event
//! decoding. Every layout, discriminator and account list comes from
//! `edgerun-protocol`; this crate only adds Solana addresses.
//!
//! Instructions are built by one generic function, [`instruction`], which
//! takes the writable/signer flags from the protocol's account definitions,
//! so a builder cannot disagree with the program about account order.

pub use edgerun_protocol as protocol;
use edgerun_protocol::event::AnyEvent;
use edgerun_protocol::hash::{Hash, seal, sealed_digest};
use edgerun_protocol::instruction::{
    self as ix, InstructionArgs, Ix, ed25519, submit_result_offsets,
};
use edgerun_protocol::layout::{self, Account, Layout, U64};
use edgerun_protocol::limits::Limits;
use edgerun_protocol::state::{ConfigParams, Job, POINTER_LEN, seeds};
pub use solana_address::Address;
use solana_instruction::{AccountMeta, Instruction};

/// The System Program.
pub const SYSTEM_PROGRAM_ID: Address = Address::new_from_array([0; 32]);
/// The Instructions sysvar.
pub const INSTRUCTIONS_SYSVAR_ID: Address =
    solana_address::address!("Sysvar1nstructions1111111111111111111111111");
/// The Ed25519 signature-verification precompile.
pub const ED25519_PROGRAM_ID: Address =
    solana_address::address!("Ed25519SigVerify111111111111111111111111111");

/// Why an instruction could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientError {
    #[error("{ix} takes {expected} fixed accounts, {found} given")]
    AccountCount {
        ix: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("output pointer: {0}")]
    Pointer(#[from] edgerun_protocol::state::PointerError),
    #[error("account data: {0}")]
    Layout(#[from] layout::LayoutError),
}

/// `["config"]`
pub fn config_pda(program_id: &Address) -> (Address, u8) {
    Address::find_program_address(&[seeds::CONFIG], program_id)
}

/// `["worker_stake", worker]`
pub fn worker_stake_pda(program_id: &Address, worker: &Address) -> (Address, u8) {
    Address::find_program_address(&[seeds::WORKER_STAKE, worker.as_ref()], program_id)
}

/// `["job", job_id]`
pub fn job_pda(program_id: &Address, job_id: &Hash) -> (Address, u8) {
    Address::find_program_address(&[seeds::JOB, job_id], program_id)
}

/// `["job_result", job_id, worker]`
pub fn job_result_pda(program_id: &Address, job_id: &Hash, worker: &Address) -> (Address, u8) {
    Address::find_program_address(&[seeds::JOB_RESULT, job_id, worker.as_ref()], program_id)
}

/// `["output", job_id]`
pub fn output_pda(program_id: &Address, job_id: &Hash) -> (Address, u8) {
    Address::find_program_address(&[seeds::OUTPUT, job_id], program_id)
}

/// Builds any instruction: `fixed` are the accounts of `Ix::accounts()` in
/// order (flags from the protocol), `remaining` are writable extras.
pub fn instruction<T: InstructionArgs>(
    program_id: &Address,
    args: &T,
    fixed: &[Address],
    remaining: &[Address],
) -> Result<Instruction, ClientError> {
    let defs = T::IX.accounts();
    if defs.len() != fixed.len() {
        return Err(ClientError::AccountCount {
            ix: T::IX.name(),
            expected: defs.len(),
            found: fixed.len(),
        });
    }
    let mut accounts: Vec<AccountMeta> = defs
        .iter()
        .zip(fixed)
        .map(|(d, a)| AccountMeta {
            pubkey: *a,
            is_signer: d.signer,
            is_writable: d.writable,
        })
        .collect();
    accounts.extend(remaining.iter().map(|a| AccountMeta::new(*a, false)));
    Ok(Instruction {
        program_id: *program_id,
        accounts,
        data: args.to_data(),
    })
}

fn stakes(program_id: &Address, workers: &[Address]) -> Vec<Address> {
    workers
        .iter()
        .map(|w| worker_stake_pda(program_id, w).0)
        .collect()
}

/// The upgradeable BPF loader (loader v3), which deploys the program.
pub const BPF_LOADER_UPGRADEABLE_ID: Address =
    solana_address::address!("BPFLoaderUpgradeab1e11111111111111111111111");

/// The program's ProgramData account under the upgradeable loader: it
/// holds the code and names the upgrade authority.
pub fn program_data_address(program_id: &Address) -> Address {
    Address::find_program_address(&[program_id.as_ref()], &BPF_LOADER_UPGRADEABLE_ID).0
}

/// initialize_config, signed by the program's upgrade authority (who pays
/// for the config account); `params.admin` may name anyone.
pub fn initialize_config(
    program_id: &Address,
    upgrade_authority: &Address,
    params: ConfigParams,
) -> Instruction {
    let (config, config_bump) = config_pda(program_id);
    build(
        program_id,
        &ix::InitializeConfig {
            params,
            config_bump,
        },
        &[
            *upgrade_authority,
            config,
            SYSTEM_PROGRAM_ID,
            *program_id,
            program_data_address(program_id),
        ],
        &[],
    )
}

pub fn update_config(program_id: &Address, admin: &Address, params: ConfigParams) -> Instruction {
    build(
        program_id,
        &ix::UpdateConfig { params },
        &[*admin, config_pda(program_id).0],
        &[],
    )
}

/// register_worker: `authority` funds `stake_lamports` and becomes the
/// stake's authority; `worker` signs too (the same key for a worker that is
/// its own authority).
pub fn register_worker(
    program_id: &Address,
    worker: &Address,
    authority: &Address,
    stake_lamports: u64,
) -> Instruction {
    let (stake, stake_bump) = worker_stake_pda(program_id, worker);
    let args = ix::RegisterWorker {
        stake_lamports: U64::new(stake_lamports),
        stake_bump,
    };
    build(
        program_id,
        &args,
        &[*worker, *authority, stake, SYSTEM_PROGRAM_ID],
        &[],
    )
}

/// deposit_stake: `funder` (anyone) adds `amount` to `worker`'s stake.
pub fn deposit_stake(
    program_id: &Address,
    funder: &Address,
    worker: &Address,
    amount: u64,
) -> Instruction {
    let stake = worker_stake_pda(program_id, worker).0;
    build(
        program_id,
        &ix::DepositStake {
            amount: U64::new(amount),
        },
        &[*funder, stake, SYSTEM_PROGRAM_ID],
        &[],
    )
}

/// withdraw_stake: `authority` takes `amount` of `worker`'s unlocked stake.
pub fn withdraw_stake(
    program_id: &Address,
    authority: &Address,
    worker: &Address,
    amount: u64,
) -> Instruction {
    let stake = worker_stake_pda(program_id, worker).0;
    build(
        program_id,
        &ix::WithdrawStake {
            amount: U64::new(amount),
        },
        &[*authority, stake],
        &[],
    )
}

/// set_stake_authority: `authority` hands `worker`'s stake to
/// `new_authority`.
pub fn set_stake_authority(
    program_id: &Address,
    authority: &Address,
    worker: &Address,
    new_authority: &Address,
) -> Instruction {
    let stake = worker_stake_pda(program_id, worker).0;
    build(
        program_id,
        &ix::SetStakeAuthority {
            new_authority: layout::Pubkey(new_authority.to_bytes()),
        },
        &[*authority, stake],
        &[],
    )
}

/// What a client posts.
#[derive(Clone, Copy, Debug)]
pub struct JobSpec {
    pub job_id: Hash,
    /// The nonce `job_id` was derived from (with the client and bundle hash).
    pub nonce: u64,
    pub bundle_hash: Hash,
    pub runtime_id: Hash,
    pub limits: Limits,
    pub escrow_lamports: u64,
    pub ttl_slots: u64,
    /// Paid on top of the escrow (0: none): the scheduler seats jobs with
    /// a higher priority fee first. It goes to the treasury at finalize and
    /// back to the client if the job is cancelled.
    pub priority_fee_lamports: u64,
}

impl JobSpec {
    /// The spec for posting `bundle` (its encoded bytes) as `client`: the
    /// bundle hash, and the job id PROTOCOL.md derives from `nonce`; the
    /// runtime id and limits are the bundle's own.
    pub fn for_bundle(
        client: &Address,
        nonce: u64,
        bundle: &[u8],
        escrow_lamports: u64,
        ttl_slots: u64,
    ) -> Result<JobSpec, edgerun_protocol::bundle::BundleError> {
        let decoded = edgerun_protocol::bundle::Bundle::decode(bundle)?;
        let bundle_hash = edgerun_protocol::hash::bundle_hash(bundle);
        Ok(JobSpec {
            job_id: edgerun_protocol::hash::job_id(&client.to_bytes(), nonce, &bundle_hash),
            nonce,
            bundle_hash,
            runtime_id: decoded.runtime_id,
            limits: decoded.limits,
            escrow_lamports,
            ttl_slots,
            priority_fee_lamports: 0,
        })
    }

    /// The same spec with a priority fee of `lamports`.
    pub fn with_priority_fee(self, lamports: u64) -> JobSpec {
        JobSpec {
            priority_fee_lamports: lamports,
            ..self
        }
    }
}

pub fn post_job(program_id: &Address, client: &Address, spec: &JobSpec) -> Instruction {
    let (job, job_bump) = job_pda(program_id, &spec.job_id);
    let args = ix::PostJob {
        job_id: spec.job_id,
        bundle_hash: spec.bundle_hash,
        runtime_id: spec.runtime_id,
        limits: spec.limits,
        escrow_lamports: U64::new(spec.escrow_lamports),
        ttl_slots: U64::new(spec.ttl_slots),
        nonce: U64::new(spec.nonce),
        priority_fee_lamports: U64::new(spec.priority_fee_lamports),
        job_bump,
    };
    build(
        program_id,
        &args,
        &[*client, config_pda(program_id).0, job, SYSTEM_PROGRAM_ID],
        &[],
    )
}

pub fn cancel_job(program_id: &Address, client: &Address, job_id: &Hash) -> Instruction {
    build(
        program_id,
        &ix::CancelJob {},
        &[*client, job_pda(program_id, job_id).0],
        &[],
    )
}

pub fn cancel_expired_job(
    program_id: &Address,
    caller: &Address,
    job_id: &Hash,
    client: &Address,
    treasury: &Address,
    assigned: &[Address],
) -> Instruction {
    let fixed = [
        *caller,
        config_pda(program_id).0,
        job_pda(program_id, job_id).0,
        *client,
        *treasury,
    ];
    build(
        program_id,
        &ix::CancelExpiredJob {},
        &fixed,
        &stakes(program_id, assigned),
    )
}

pub fn set_job_seed(
    program_id: &Address,
    authority: &Address,
    job_id: &Hash,
    seed: Hash,
) -> Instruction {
    let fixed = [
        *authority,
        config_pda(program_id).0,
        job_pda(program_id, job_id).0,
    ];
    build(program_id, &ix::SetJobSeed { seed }, &fixed, &[])
}

pub fn assign_workers(
    program_id: &Address,
    authority: &Address,
    job_id: &Hash,
    snapshot_hash: Hash,
    committee: &[Address],
) -> Instruction {
    let fixed = [
        *authority,
        config_pda(program_id).0,
        job_pda(program_id, job_id).0,
    ];
    build(
        program_id,
        &ix::AssignWorkers { snapshot_hash },
        &fixed,
        &stakes(program_id, committee),
    )
}

/// What a worker attests: the job's identity and the seal of its output.
#[derive(Clone, Copy, Debug)]
pub struct Attestation {
    pub job_id: Hash,
    pub bundle_hash: Hash,
    pub runtime_id: Hash,
    /// `seal(output_hash, worker)`.
    pub seal: Hash,
}

impl Attestation {
    /// The attestation `worker` makes for `job`'s bundle and runtime when
    /// its output hashes to `output_hash`.
    pub fn for_job(job: &Job, worker: &Address, output_hash: Hash) -> Self {
        Self::sealed(job, seal(&output_hash, &worker.to_bytes()))
    }

    /// An attestation of an explicit seal (a test or drill that submits
    /// something other than its own output's seal).
    pub fn sealed(job: &Job, seal: Hash) -> Self {
        Attestation {
            job_id: job.job_id,
            bundle_hash: job.bundle_hash,
            runtime_id: job.runtime_id,
            seal,
        }
    }

    /// The SealedDigest the worker signs.
    pub fn digest(&self) -> Hash {
        sealed_digest(
            &self.job_id,
            &self.bundle_hash,
            &self.seal,
            &self.runtime_id,
        )
    }

    /// The worker's Ed25519 signature over the digest.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> [u8; 64] {
        use ed25519_dalek::Signer;
        key.sign(&self.digest()).to_bytes()
    }
}

/// The Ed25519 precompile instruction for a submit_result at transaction
/// index `submit_index`: pubkey and message inline, the signature read from
/// the submit_result's own data (so it is carried once).
pub fn ed25519_instruction(worker: &Address, digest: &Hash, submit_index: u16) -> Instruction {
    use ed25519::{HEADER_LEN, SignatureOffsets, THIS_INSTRUCTION, instruction_data};
    let pubkey_offset = (HEADER_LEN + SignatureOffsets::LEN) as u16;
    let record = SignatureOffsets::new(
        (submit_result_offsets::ATTESTATION_SIG as u16, submit_index),
        (pubkey_offset, THIS_INSTRUCTION),
        (pubkey_offset + 32, 32, THIS_INSTRUCTION),
    );
    let mut payload = [0u8; 64];
    payload[..32].copy_from_slice(worker.as_ref());
    payload[32..].copy_from_slice(digest);
    Instruction {
        program_id: ED25519_PROGRAM_ID,
        accounts: vec![],
        data: instruction_data(&[record], &payload),
    }
}

/// submit_result preceded by its Ed25519 instruction; `first_index` is the
/// position of the Ed25519 instruction in the transaction.
pub fn submit_result(
    program_id: &Address,
    worker: &ed25519_dalek::SigningKey,
    attestation: &Attestation,
    first_index: u16,
) -> [Instruction; 2] {
    let worker_addr = Address::new_from_array(worker.verifying_key().to_bytes());
    submit_result_signed(
        program_id,
        &worker_addr,
        attestation,
        attestation.sign(worker),
        first_index,
    )
}

/// [`submit_result`] with the attestation's signature made elsewhere (a
/// key the caller cannot read, such as a browser's non-extractable
/// WebCrypto key): `signature` is the worker's Ed25519 over
/// `attestation.digest()`.
pub fn submit_result_signed(
    program_id: &Address,
    worker: &Address,
    attestation: &Attestation,
    signature: [u8; 64],
    first_index: u16,
) -> [Instruction; 2] {
    let (result, result_bump) = job_result_pda(program_id, &attestation.job_id, worker);
    let args = ix::SubmitResult {
        seal: attestation.seal,
        attestation_sig: signature,
        result_bump,
    };
    let fixed = [
        *worker,
        job_pda(program_id, &attestation.job_id).0,
        result,
        INSTRUCTIONS_SYSVAR_ID,
        SYSTEM_PROGRAM_ID,
    ];
    [
        ed25519_instruction(worker, &attestation.digest(), first_index + 1),
        build(program_id, &args, &fixed, &[]),
    ]
}

/// The reveal: `caller`, a seat whose seal matches `output_hash`, names it.
pub fn reach_quorum(
    program_id: &Address,
    caller: &Address,
    job_id: &Hash,
    output_hash: Hash,
) -> Instruction {
    let fixed = [*caller, job_pda(program_id, job_id).0];
    build(program_id, &ix::ReachQuorum { output_hash }, &fixed, &[])
}

pub fn declare_output(
    program_id: &Address,
    publisher: &Address,
    job_id: &Hash,
    output_hash: Hash,
    url: &str,
) -> Result<Instruction, ClientError> {
    let pointer: [u8; POINTER_LEN] = edgerun_protocol::state::encode_pointer(url)?;
    let (output, output_bump) = output_pda(program_id, job_id);
    let fixed = [
        *publisher,
        job_pda(program_id, job_id).0,
        output,
        SYSTEM_PROGRAM_ID,
    ];
    Ok(build(
        program_id,
        &ix::DeclareOutput {
            output_hash,
            pointer,
            output_bump,
        },
        &fixed,
        &[],
    ))
}

/// finalize_job: `client` (the job's client) gets the unused records
/// deposit back.
pub fn finalize_job(
    program_id: &Address,
    caller: &Address,
    job_id: &Hash,
    treasury: &Address,
    client: &Address,
    assigned: &[Address],
) -> Instruction {
    let fixed = [
        *caller,
        config_pda(program_id).0,
        job_pda(program_id, job_id).0,
        output_pda(program_id, job_id).0,
        *treasury,
        *client,
    ];
    build(
        program_id,
        &ix::FinalizeJob {},
        &fixed,
        &stakes(program_id, assigned),
    )
}

pub fn penalize_non_submitters(
    program_id: &Address,
    caller: &Address,
    job_id: &Hash,
    treasury: &Address,
    assigned: &[Address],
) -> Instruction {
    settle_with_treasury(
        program_id,
        &ix::PenalizeNonSubmitters {},
        caller,
        job_id,
        treasury,
        assigned,
    )
}

pub fn cancel_no_da(
    program_id: &Address,
    caller: &Address,
    job_id: &Hash,
    treasury: &Address,
    assigned: &[Address],
) -> Instruction {
    settle_with_treasury(
        program_id,
        &ix::CancelNoDa {},
        caller,
        job_id,
        treasury,
        assigned,
    )
}

/// The permissionless settling instructions that take
/// `[caller, config, job, treasury]` + the assigned workers' stakes.
fn settle_with_treasury<T: InstructionArgs>(
    program_id: &Address,
    args: &T,
    caller: &Address,
    job_id: &Hash,
    treasury: &Address,
    assigned: &[Address],
) -> Instruction {
    let fixed = [
        *caller,
        config_pda(program_id).0,
        job_pda(program_id, job_id).0,
        *treasury,
    ];
    build(program_id, args, &fixed, &stakes(program_id, assigned))
}

pub fn reassign_missing(
    program_id: &Address,
    authority: &Address,
    job_id: &Hash,
    snapshot_hash: Hash,
    replacements: &[Address],
) -> Instruction {
    let fixed = [
        *authority,
        config_pda(program_id).0,
        job_pda(program_id, job_id).0,
    ];
    build(
        program_id,
        &ix::ReassignMissing { snapshot_hash },
        &fixed,
        &stakes(program_id, replacements),
    )
}

/// The typed helpers pass exactly the protocol's fixed accounts, so this
/// cannot fail; the generic [`instruction`] reports mismatches instead.
fn build<T: InstructionArgs>(
    program_id: &Address,
    args: &T,
    fixed: &[Address],
    remaining: &[Address],
) -> Instruction {
    match instruction(program_id, args, fixed, remaining) {
        Ok(ix) => ix,
        Err(e) => unreachable!("typed builder out of sync with the protocol: {e}"),
    }
}

/// Decodes an account's data as `T` (discriminator and size checked).
pub fn decode_account<T: Account>(data: &[u8]) -> Result<T, ClientError> {
    Ok(*layout::view::<T>(data)?)
}

/// The edgerun events in a transaction's log messages (`Program data:`
/// lines, as Anchor clients read them).
pub fn events_from_logs<S: AsRef<str>>(logs: &[S]) -> Vec<AnyEvent> {
    use base64::Engine;
    logs.iter()
        .filter_map(|l| l.as_ref().strip_prefix("Program data: "))
        .filter_map(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .filter_map(|bytes| AnyEvent::decode(&bytes))
        .collect()
}

/// The assigned-worker addresses of a job.
pub fn assigned_workers(job: &Job) -> Vec<Address> {
    job.assigned()
        .iter()
        .map(|k| Address::new_from_array(k.0))
        .collect()
}

/// Every instruction the program has, for tools that list them.
pub fn all_instructions() -> &'static [Ix] {
    &Ix::ALL
}

#[cfg(feature = "rpc")]
pub mod deploy;
#[cfg(feature = "rpc")]
pub mod rpc;

#[cfg(test)]
mod tests {
    use super::*;
    use edgerun_protocol::instruction::{PostJob, decode_args};

    #[test]
    fn post_job_carries_the_priority_fee_and_the_client_pays() {
        let program = Address::new_from_array([5; 32]);
        let client = Address::new_from_array([6; 32]);
        let spec = JobSpec {
            job_id: [1; 32],
            nonce: 7,
            bundle_hash: [2; 32],
            runtime_id: [3; 32],
            limits: Limits::new(1 << 20, 1_000, 64),
            escrow_lamports: 50_000_000,
            ttl_slots: 1_000,
            priority_fee_lamports: 0,
        }
        .with_priority_fee(123_456);
        let ix = post_job(&program, &client, &spec);
        let args = decode_args::<PostJob>(&ix.data).expect("post_job data");
        assert_eq!(args.priority_fee_lamports.get(), 123_456);
        assert_eq!(args.escrow_lamports.get(), 50_000_000);
        assert_eq!(args.job_bump, job_pda(&program, &spec.job_id).1);
        assert!(ix.accounts[0].is_signer && ix.accounts[0].is_writable);
        assert_eq!(ix.accounts[0].pubkey, client);
    }
}
