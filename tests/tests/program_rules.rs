//! Every rule of the program, one failing path each, through the real SBF
//! program in LiteSVM; and the happy paths the lifecycle tests leave out.
//!
//! Each refusal goes through [`Chain::refuses`] (or [`Chain::refused`] where
//! the runtime, not the program, refuses): the exact error, and nothing
//! changed — every tracked account as before except the fee payer, which
//! lost exactly the fee, no PDA created, lamports conserved.
//!
//! Rule groups:
//! - **authorities**: update_config by the admin only (also at
//!   initialize_config), set_job_seed by the randomness authority,
//!   assign_workers / reassign_missing by the scheduler authority,
//!   cancel_job by the job's client, deposit/withdraw by the stake's owner;
//! - **signers**: every instruction's signer must sign (program check), and
//!   a key marked as signer without a signature (runtime check);
//! - **status**: each instruction refused outside its statuses;
//! - **deadlines**: the round deadline (submit, penalize, reassign), the DA
//!   deadline (cancel_no_da), expiry (cancel_expired_job), the challenge
//!   window (finalize), each on both sides of the boundary slot;
//! - **membership and once-only**: NotAssigned, AlreadySubmitted,
//!   SeedAlreadySet, AlreadyInitialized;
//! - **Ed25519 attestation**: missing, not immediately before, wrong pubkey,
//!   message or signature, signature count, offsets into a third
//!   instruction, an invalid signature (the precompile refuses);
//! - **declaration**: only a winner, only the winning hash, a valid pointer;
//! - **settlement**: finalize needs this job's OutputAvailability, nothing
//!   is settled twice, reassignment needs penalized seats and fresh workers;
//! - **stake**: no withdrawal of locked stake or below rent, no zero amounts;
//! - **post_job and config**: escrow (zero, unpayable), limits, runtime,
//!   ttl, pause; config validation at initialize and update;
//! - **assignment**: committee size, duplicates, unlocked stake, active stake;
//! - **account substitution**: other jobs, stakes, outputs, a fake config,
//!   the wrong treasury, client, result address, system program, sysvar,
//!   accounts of the wrong type, PDAs at the wrong address or at a
//!   non-canonical bump;
//! - **pre-funded PDAs**: taken over, lamports conserved;
//! - **instruction data**: unknown or malformed;
//! - **happy paths**: update_config (including handing over admin),
//!   deposit_stake, withdraw_stake, cancel_job, cancel_expired_job.

use ed25519_dalek::{Signer as _, SigningKey};
use edgerun_client::{self as client, Address, Attestation, ClientError};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::hash::{self, Hash, output_hash};
use edgerun_protocol::instruction::{Ix, ed25519, submit_result_offsets};
use edgerun_protocol::layout::{self, Account, Bool, Layout, Pubkey, U16, U32, U64};
use edgerun_protocol::limits::Limits;
use edgerun_protocol::state::{
    ConfigParams, Job, JobResult, OutputAvailability, POINTER_LEN, PointerError, WorkerStake,
    job_status, seeds, submission_flags,
};
use edgerun_tests::{
    AnyEvent, BRONZE_ESCROW, Chain, Stage, TxFailure, WORKER_STAKE, agreed_output, events,
};
use litesvm::types::TransactionMetadata;
use solana_account::Account as SolAccount;
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_message::Message;
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;
use std::collections::BTreeSet;

type Sent = Result<TransactionMetadata, TxFailure>;

/// The non-response penalty of the default config.
const PENALTY: u64 = 50_000;

// ---------------------------------------------------------------- helpers

/// A chain with `workers` workers and a [`Chain::job_at`] job at `stage`.
fn chain_at(workers: usize, stage: Stage) -> (Chain, Hash) {
    let mut c = Chain::new(workers);
    let id = c.job_at(stage);
    (c, id)
}

/// Sends `ixs` signed and paid by `k`.
fn send(c: &mut Chain, k: &Keypair, ixs: &[Instruction]) -> Sent {
    c.send(ixs, &[k])
}

/// Sends `ix` with its first account (the signer) replaced by `k`, signed
/// and paid by `k`: someone else performing an authority's instruction.
fn send_as(c: &mut Chain, k: &Keypair, ix: Instruction) -> Sent {
    let ix = swap(ix, 0, k.pubkey());
    c.send(&[ix], &[k])
}

/// `ix` with account `i` replaced by `pubkey`.
fn swap(mut ix: Instruction, i: usize, pubkey: Address) -> Instruction {
    ix.accounts[i].pubkey = pubkey;
    ix
}

fn stake_pda(c: &Chain, w: usize) -> Address {
    client::worker_stake_pda(&c.program_id, &c.workers[w].address()).0
}

fn job_pda(c: &Chain, id: &Hash) -> Address {
    client::job_pda(&c.program_id, id).0
}

fn output_pda(c: &Chain, id: &Hash) -> Address {
    client::output_pda(&c.program_id, id).0
}

/// Warps to the first slot after the job's round deadline.
fn past_deadline(c: &mut Chain, id: &Hash) {
    let deadline = c.job(id).deadline_slot.get();
    c.warp_to(deadline + 1);
}

/// An Assigned job where workers 0 and 1 submitted the agreed output and
/// worker 2 stayed silent past the round deadline.
fn silent_worker_job(c: &mut Chain) -> Hash {
    let id = c.job_at(Stage::Assigned);
    c.submit(&id, 0, agreed_output()).unwrap();
    c.submit(&id, 1, agreed_output()).unwrap();
    past_deadline(c, &id);
    id
}

/// Plants an account owned by `owner` with `data` (rent-exempt) at a new
/// address, outside the tracked set.
fn plant(c: &mut Chain, owner: Address, data: Vec<u8>) -> Address {
    let a = Address::new_unique();
    let account = SolAccount {
        lamports: c.svm.minimum_balance_for_rent_exemption(data.len()),
        data,
        owner,
        executable: false,
        rent_epoch: 0,
    };
    c.svm.set_account(a, account).expect("plant account");
    a
}

/// A System Program transfer.
fn transfer(from: &Address, to: &Address, lamports: u64) -> Instruction {
    let mut data = 2u32.to_le_bytes().to_vec();
    data.extend_from_slice(&lamports.to_le_bytes());
    Instruction {
        program_id: client::SYSTEM_PROGRAM_ID,
        accounts: vec![AccountMeta::new(*from, true), AccountMeta::new(*to, false)],
        data,
    }
}

/// ComputeBudget SetComputeUnitLimit: an instruction with no accounts.
fn compute_unit_limit(units: u32) -> Instruction {
    let mut data = vec![2];
    data.extend_from_slice(&units.to_le_bytes());
    Instruction {
        program_id: solana_address::address!("ComputeBudget111111111111111111111111111111"),
        accounts: vec![],
        data,
    }
}

// ------------------------------------------------------- Ed25519 by hand

/// In an Ed25519 offsets record, "this (Ed25519) instruction".
const THIS: u16 = ed25519::THIS_INSTRUCTION;

/// An Ed25519 precompile instruction with one offsets record per signature
/// (signature, public key and message as (offset, instruction) pairs, the
/// message with its size), then `payload`.
fn ed25519(records: &[[u16; 7]], payload: &[u8]) -> Instruction {
    let records: Vec<ed25519::SignatureOffsets> = records
        .iter()
        .map(|r| ed25519::SignatureOffsets::new((r[0], r[1]), (r[2], r[3]), (r[4], r[5], r[6])))
        .collect();
    Instruction {
        program_id: client::ED25519_PROGRAM_ID,
        accounts: vec![],
        data: ed25519::instruction_data(&records, payload),
    }
}

/// An Ed25519 instruction carrying, for each `(key, message)`, the key's
/// public key, its signature of `message` and `message`, all inline (so it
/// is valid on its own wherever it sits).
fn ed25519_inline(signed: &[(&SigningKey, &[u8])]) -> Instruction {
    let start = ed25519::HEADER_LEN + ed25519::SignatureOffsets::LEN * signed.len();
    let mut payload = Vec::new();
    let mut records = Vec::new();
    for (key, message) in signed {
        let mut put = |bytes: &[u8]| {
            let at = (start + payload.len()) as u16;
            payload.extend_from_slice(bytes);
            at
        };
        let pubkey = put(key.verifying_key().as_bytes());
        let signature = put(&key.sign(message).to_bytes());
        let msg = put(message);
        records.push([
            signature,
            THIS,
            pubkey,
            THIS,
            msg,
            message.len() as u16,
            THIS,
        ]);
    }
    ed25519(&records, &payload)
}

/// An Assigned job and worker 0's honest submit_result for the agreed
/// output (without its Ed25519 instruction), with the digest it attests.
fn ed25519_case() -> (Chain, Hash, Instruction) {
    let (mut c, id) = chain_at(3, Stage::Assigned);
    let [_, submit] = c.submit_ixs(&id, 0, agreed_output());
    let w0 = c.workers[0].address();
    let digest = Attestation::for_job(&c.job(&id), &w0, agreed_output()).digest();
    (c, digest, submit)
}

/// `submit` with its `attestation_sig` argument replaced.
fn with_attestation_sig(mut submit: Instruction, sig: [u8; 64]) -> Instruction {
    submit.data[submit_result_offsets::ATTESTATION_SIG..][..64].copy_from_slice(&sig);
    submit
}

// ------------------------------------------------------------ authorities

#[test]
fn update_config_by_non_admin_is_refused() {
    let mut c = Chain::new(0);
    let scheduler = c.scheduler.insecure_clone();
    let stranger = c.stranger();
    for k in [&scheduler, &stranger] {
        // Even a non-admin naming itself the new admin.
        let mut params = c.config().params;
        params.admin = Pubkey(k.pubkey().to_bytes());
        let ix = client::update_config(&c.program_id, &k.pubkey(), params);
        c.refuses(E::NotAdmin, |c| send(c, k, &[ix]));
    }
}

#[test]
fn set_job_seed_by_non_randomness_authority_is_refused() {
    let (mut c, id) = chain_at(0, Stage::Posted);
    for k in [c.scheduler.insecure_clone(), c.admin.insecure_clone()] {
        let ix = c.seed_ix(&id, [1; 32]);
        c.refuses(E::NotRandomnessAuthority, |c| send_as(c, &k, ix));
    }
    assert_eq!(c.job(&id).status, job_status::POSTED);
}

#[test]
fn assign_workers_by_non_scheduler_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Seeded);
    for k in [c.randomness.insecure_clone(), c.admin.insecure_clone()] {
        let ix = c.assign_ix(&id, &[0, 1, 2]);
        c.refuses(E::NotSchedulerAuthority, |c| send_as(c, &k, ix));
    }
}

#[test]
fn reassign_missing_by_non_scheduler_is_refused() {
    let mut c = Chain::new(4);
    let id = silent_worker_job(&mut c);
    c.penalize(&id).unwrap();
    for k in [c.randomness.insecure_clone(), c.admin.insecure_clone()] {
        let ix = c.reassign_ix(&id, &[3]);
        c.refuses(E::NotSchedulerAuthority, |c| send_as(c, &k, ix));
    }
    c.reassign(&id, &[3]).unwrap();
}

#[test]
fn cancel_job_by_non_client_is_refused() {
    let (mut c, id) = chain_at(0, Stage::Posted);
    let stranger = c.stranger();
    let ix = c.cancel_ix(&id);
    c.refuses(E::NotJobClient, |c| send_as(c, &stranger, ix));
    assert_eq!(c.job(&id).escrow_lamports.get(), BRONZE_ESCROW);
}

#[test]
fn withdraw_by_anyone_but_the_stake_authority_is_refused() {
    let mut c = Chain::new(2);
    let victim = c.workers[0].address();
    let thief = c.workers[1].address();
    let withdraw = client::withdraw_stake(&c.program_id, &thief, &victim, 1);
    c.refuses(E::NotStakeOwner, |c| c.as_worker(1, &[withdraw]));
    // Anyone may add to a stake (a sponsor does): it is the worker's.
    let before = c.stake(0).total_stake.get();
    let deposit = client::deposit_stake(&c.program_id, &thief, &victim, 1);
    c.as_worker(1, &[deposit]).unwrap();
    assert_eq!(c.stake(0).total_stake.get(), before + 1);
    c.assert_conserved();
}

/// A volunteer's tab holds the worker key; the wallet that funded the
/// stake is its authority: the worker key can neither withdraw nor hand
/// the stake over, and withdrawals are paid to the authority.
#[test]
fn a_stake_pays_its_authority_never_its_worker_key() {
    let mut c = Chain::new(0);
    let worker = edgerun_tests::Worker::new();
    let authority = c.stranger();
    c.tracked.insert(worker.address());
    c.tracked
        .insert(client::worker_stake_pda(&c.program_id, &worker.address()).0);
    let ix = client::register_worker(
        &c.program_id,
        &worker.address(),
        &authority.pubkey(),
        5_000_000,
    );
    // The authority alone, without the worker key's signature: no proof
    // that the key is held.
    let mut unsigned = ix.clone();
    unsigned.accounts[0].is_signer = false;
    c.refuses(E::MissingSignature, |c| c.send(&[unsigned], &[&authority]));
    c.send(&[ix], &[&authority, &worker.key]).unwrap();
    let stake: WorkerStake =
        c.account(&client::worker_stake_pda(&c.program_id, &worker.address()).0);
    assert_eq!(stake.authority.0, authority.pubkey().to_bytes());
    assert_eq!(stake.worker.0, worker.address().to_bytes());
    // The worker key is not the authority.
    c.svm.airdrop(&worker.address(), 1_000_000_000).unwrap();
    c.start_total += 1_000_000_000;
    let w = worker.key.insecure_clone();
    let take = client::withdraw_stake(&c.program_id, &w.pubkey(), &w.pubkey(), 1);
    c.refuses(E::NotStakeOwner, |c| c.send(&[take], &[&w]));
    let steal = client::set_stake_authority(&c.program_id, &w.pubkey(), &w.pubkey(), &w.pubkey());
    c.refuses(E::NotStakeOwner, |c| c.send(&[steal], &[&w]));
    // The authority withdraws, to itself.
    let before = c.lamports(&authority.pubkey());
    let ix = client::withdraw_stake(
        &c.program_id,
        &authority.pubkey(),
        &worker.address(),
        2_000_000,
    );
    let meta = c.send(&[ix], &[&authority]).unwrap();
    assert_eq!(
        c.lamports(&authority.pubkey()),
        before + 2_000_000 - meta.fee
    );
    c.assert_conserved();
}

/// After set_stake_authority the old authority is stale: it can neither
/// withdraw nor hand the stake on; the new one can.
#[test]
fn a_stale_stake_authority_is_refused() {
    let mut c = Chain::new(1);
    let w0 = c.workers[0].key.insecure_clone();
    let heir = c.stranger();
    let ix = client::set_stake_authority(&c.program_id, &w0.pubkey(), &w0.pubkey(), &heir.pubkey());
    c.send(&[ix], &[&w0]).unwrap();
    let take = client::withdraw_stake(&c.program_id, &w0.pubkey(), &w0.pubkey(), 1);
    c.refuses(E::NotStakeOwner, |c| c.send(&[take], &[&w0]));
    let back = client::set_stake_authority(&c.program_id, &w0.pubkey(), &w0.pubkey(), &w0.pubkey());
    c.refuses(E::NotStakeOwner, |c| c.send(&[back], &[&w0]));
    let ix = client::withdraw_stake(&c.program_id, &heir.pubkey(), &w0.pubkey(), 1_000);
    c.send(&[ix], &[&heir]).unwrap();
    c.assert_conserved();
}

#[test]
fn initialize_config_by_anyone_but_the_upgrade_authority_is_refused() {
    let mut c = Chain::without_config();
    let stranger = c.stranger();
    // The params name the chain's admin; a stranger signs and pays.
    let ix = client::initialize_config(&c.program_id, &stranger.pubkey(), c.default_params());
    c.refuses(E::NotUpgradeAuthority, |c| send(c, &stranger, &[ix]));
}

#[test]
fn initialize_config_with_a_forged_program_data_account_is_refused() {
    let mut c = Chain::without_config();
    let stranger = c.stranger();
    // A ProgramData look-alike naming the stranger, owned by the System
    // Program, then by another program: the loader owns the real one.
    let mut data = 3u32.to_le_bytes().to_vec();
    data.extend_from_slice(&0u64.to_le_bytes());
    data.push(1);
    data.extend_from_slice(stranger.pubkey().as_ref());
    for owner in [client::SYSTEM_PROGRAM_ID, Address::new_unique()] {
        let fake = plant(&mut c, owner, data.clone());
        let ix = client::initialize_config(&c.program_id, &stranger.pubkey(), c.default_params());
        let ix = swap(ix, 4, fake);
        c.refuses(E::NotUpgradeAuthority, |c| send(c, &stranger, &[ix]));
    }
    // Another program's genuine ProgramData, whose authority is the
    // stranger: it is not the one this program names.
    let other = Address::new_unique();
    c.svm
        .add_program_from_file(other, edgerun_tests::probe_so())
        .unwrap();
    edgerun_tests::set_upgrade_authority(&mut c.svm, &other, Some(&stranger.pubkey()));
    let ix = client::initialize_config(&c.program_id, &stranger.pubkey(), c.default_params());
    let ix = swap(ix, 4, client::program_data_address(&other));
    c.refuses(E::NotUpgradeAuthority, |c| send(c, &stranger, &[ix]));
}

#[test]
fn initialize_config_of_an_immutable_program_is_refused() {
    let mut c = Chain::without_config();
    edgerun_tests::set_upgrade_authority(&mut c.svm, &c.program_id.clone(), None);
    let admin = c.admin.insecure_clone();
    let ix = client::initialize_config(&c.program_id, &admin.pubkey(), c.default_params());
    c.refuses(E::NotUpgradeAuthority, |c| send(c, &admin, &[ix]));
}

#[test]
fn the_upgrade_authority_may_name_another_admin() {
    let mut c = Chain::without_config();
    let other = c.stranger();
    let mut params = c.default_params();
    params.admin = Pubkey(other.pubkey().to_bytes());
    let admin = c.admin.insecure_clone();
    let ix = client::initialize_config(&c.program_id, &admin.pubkey(), params);
    send(&mut c, &admin, &[ix]).unwrap();
    assert_eq!(c.config().params.admin.0, other.pubkey().to_bytes());
}

// ---------------------------------------------------------------- signers

/// The runtime only checks the signatures of the keys a message marks as
/// signers. A required signer whose AccountMeta is not marked reaches the
/// program with `is_signer == false`, and every instruction checks its
/// signer first: MissingSignature, for all 17 instructions.
#[test]
fn every_required_signer_that_did_not_sign_is_refused() {
    let (mut c, id) = chain_at(4, Stage::Assigned);
    let stranger = c.stranger();
    let pid = c.program_id;
    let w0 = c.workers[0].address();
    let spec = c.spec(BRONZE_ESCROW);
    let params = c.config().params;
    let cases: Vec<Vec<Instruction>> = vec![
        vec![client::initialize_config(&pid, &c.admin.pubkey(), params)],
        vec![client::update_config(&pid, &c.admin.pubkey(), params)],
        vec![client::register_worker(
            &pid,
            &Address::new_unique(),
            &stranger.pubkey(),
            1,
        )],
        vec![client::deposit_stake(&pid, &w0, &w0, 1)],
        vec![client::withdraw_stake(&pid, &w0, &w0, 1)],
        vec![client::set_stake_authority(&pid, &w0, &w0, &w0)],
        vec![c.post_ix(&spec)],
        vec![c.cancel_ix(&id)],
        vec![c.cancel_expired_ix(&id)],
        vec![c.seed_ix(&id, [1; 32])],
        vec![c.assign_ix(&id, &[0, 1, 2])],
        c.submit_ixs(&id, 0, agreed_output()).to_vec(),
        vec![c.reveal_ix(&id, 0, agreed_output())],
        vec![c.declare_ix(&id, 0, agreed_output())],
        vec![c.finalize_ix(&id)],
        vec![c.penalize_ix(&id)],
        vec![c.reassign_ix(&id, &[3])],
        vec![c.cancel_no_da_ix(&id)],
    ];
    let mut covered = BTreeSet::new();
    for mut ixs in cases {
        let ix = ixs.last_mut().expect("an instruction");
        let name = Ix::from_data(&ix.data)
            .expect("an edgerun instruction")
            .name();
        covered.insert(name);
        assert!(ix.accounts[0].is_signer, "{name}");
        ix.accounts[0].is_signer = false;
        let failure = c.refused(|c| send(c, &stranger, &ixs));
        assert_eq!(failure.code, Some(E::MissingSignature), "{name}");
    }
    assert_eq!(covered.len(), Ix::ALL.len(), "every instruction");
}

/// A key marked as signer whose signature is missing never reaches the
/// program: the runtime's signature verification refuses the transaction
/// (SignatureFailure) before execution, and charges no fee.
#[test]
fn a_marked_signer_without_a_signature_is_refused_by_the_runtime() {
    let (mut c, id) = chain_at(0, Stage::Posted);
    let stranger = c.stranger();
    let ix = c.seed_ix(&id, [1; 32]);
    let mut tx = Transaction::new_unsigned(Message::new(&[ix], Some(&stranger.pubkey())));
    c.svm.expire_blockhash();
    tx.partial_sign(&[&stranger], c.svm.latest_blockhash());
    let failure = c.refused(|c| c.send_transaction(tx));
    assert_eq!(failure.meta.err, TransactionError::SignatureFailure);
    assert_eq!(failure.meta.meta.fee, 0);
}

// ----------------------------------------------------------------- status

#[test]
fn set_job_seed_on_an_assigned_job_is_refused() {
    // Every job past Posted has its seed set, and that check comes first.
    let (mut c, id) = chain_at(3, Stage::Assigned);
    c.refuses(E::SeedAlreadySet, |c| c.seed(&id, [9; 32]));
}

#[test]
fn set_job_seed_on_a_cancelled_job_is_refused() {
    let (mut c, id) = chain_at(0, Stage::Posted);
    c.cancel(&id).unwrap();
    c.refuses(E::WrongJobStatus, |c| c.seed(&id, [9; 32]));
}

#[test]
fn assign_workers_on_a_posted_job_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Posted);
    c.refuses(E::SeedNotSet, |c| c.assign(&id, &[0, 1, 2]));
}

#[test]
fn assign_workers_on_an_assigned_job_is_refused() {
    let (mut c, id) = chain_at(6, Stage::Assigned);
    c.refuses(E::WrongJobStatus, |c| c.assign(&id, &[3, 4, 5]));
}

#[test]
fn submit_result_before_assignment_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Seeded);
    c.refuses(E::WrongJobStatus, |c| c.submit(&id, 0, agreed_output()));
}

#[test]
fn submit_result_on_a_finalized_job_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Finalized);
    c.refuses(E::WrongJobStatus, |c| c.submit(&id, 0, agreed_output()));
}

#[test]
fn reach_quorum_before_quorum_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Assigned);
    c.submit(&id, 0, agreed_output()).unwrap();
    c.refuses(E::NoQuorum, |c| c.reveal(&id, 0, agreed_output()));
    c.submit(&id, 1, output_hash(b"another output")).unwrap();
    // Two submissions, but no hash with quorum (2) matching seals.
    c.refuses(E::NoQuorum, |c| c.reveal(&id, 0, agreed_output()));
    c.submit(&id, 2, agreed_output()).unwrap();
    c.reveal(&id, 0, agreed_output()).unwrap();
    let job = c.job(&id);
    assert_eq!(job.winners().collect::<Vec<_>>(), [0, 2]);
    assert_eq!(job.winning_output_hash, agreed_output());
}

#[test]
fn reach_quorum_by_a_seat_that_has_not_submitted_or_a_stranger_is_refused() {
    let (mut c, id) = chain_at(4, Stage::Assigned);
    c.submit(&id, 0, agreed_output()).unwrap();
    c.submit(&id, 1, agreed_output()).unwrap();
    // Seat 2 knows the hash (from elsewhere) but has no seal to match.
    c.refuses(E::SealMismatch, |c| c.reveal(&id, 2, agreed_output()));
    // Worker 3 sits in no seat.
    c.refuses(E::NotAssigned, |c| c.reveal(&id, 3, agreed_output()));
}

#[test]
fn reach_quorum_twice_is_refused() {
    let (mut c, id) = chain_at(3, Stage::QuorumReached);
    c.refuses(E::WrongJobStatus, |c| c.reveal(&id, 1, agreed_output()));
}

#[test]
fn declare_output_before_quorum_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Assigned);
    for w in 0..3 {
        c.submit(&id, w, agreed_output()).unwrap();
    }
    c.refuses(E::WrongJobStatus, |c| c.declare(&id, 0, agreed_output()));
}

#[test]
fn declare_output_twice_is_refused() {
    // AwaitingDA already: the status check fires before the existing
    // OutputAvailability would.
    let (mut c, id) = chain_at(3, Stage::AwaitingDa);
    c.refuses(E::WrongJobStatus, |c| c.declare(&id, 1, agreed_output()));
}

#[test]
fn finalize_before_declare_is_refused() {
    // No OutputAvailability yet: the status check (QuorumReached) fires
    // before the output account is read.
    let (mut c, id) = chain_at(3, Stage::QuorumReached);
    c.refuses(E::WrongJobStatus, |c| c.finalize(&id));
}

#[test]
fn finalize_twice_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Finalized);
    let stakes: Vec<WorkerStake> = (0..3).map(|w| c.stake(w)).collect();
    c.refuses(E::WrongJobStatus, |c| c.finalize(&id));
    for (w, s) in stakes.iter().enumerate() {
        assert_eq!(&c.stake(w), s, "paid once");
    }
}

#[test]
fn cancel_job_after_assignment_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Assigned);
    c.refuses(E::WrongJobStatus, |c| c.cancel(&id));
}

#[test]
fn penalize_before_assignment_is_refused() {
    let (mut c, id) = chain_at(0, Stage::Seeded);
    c.warp(1_000);
    c.refuses(E::WrongJobStatus, |c| c.penalize(&id));
}

#[test]
fn reassign_after_quorum_is_refused() {
    let (mut c, id) = chain_at(4, Stage::QuorumReached);
    past_deadline(&mut c, &id);
    c.refuses(E::WrongJobStatus, |c| c.reassign(&id, &[3]));
}

#[test]
fn cancel_no_da_before_quorum_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Assigned);
    c.warp(10_000);
    c.refuses(E::WrongJobStatus, |c| c.cancel_no_da(&id));
}

#[test]
fn cancel_expired_job_after_declaration_or_finalization_is_refused() {
    for stage in [Stage::AwaitingDa, Stage::Finalized] {
        let (mut c, id) = chain_at(3, stage);
        let expiry = c.job(&id).expiry_slot.get();
        c.warp_to(expiry + 1);
        c.refuses(E::WrongJobStatus, |c| c.cancel_expired(&id));
    }
}

// -------------------------------------------------------------- deadlines

/// `act` is refused with `code` now and still at slot `last`, and succeeds
/// at the slot after, conserving lamports.
fn refused_through(c: &mut Chain, last: u64, code: E, act: impl Fn(&mut Chain) -> Sent) {
    c.refuses(code, &act);
    c.warp_to(last);
    c.refuses(code, &act);
    c.warp(1);
    act(c).unwrap();
    c.assert_conserved();
}

#[test]
fn penalize_before_deadline_is_refused() {
    let mut c = Chain::new(3);
    let id = c.job_at(Stage::Assigned);
    let deadline = c.job(&id).deadline_slot.get();
    refused_through(&mut c, deadline, E::DeadlineNotPassed, |c| c.penalize(&id));
}

#[test]
fn reassign_without_a_vacant_seat_is_refused() {
    // At the deadline, nobody has been penalized: no seat is vacant.
    let (mut c, id) = chain_at(4, Stage::Assigned);
    let deadline = c.job(&id).deadline_slot.get();
    c.warp_to(deadline);
    c.refuses(E::NothingToSettle, |c| c.reassign(&id, &[3]));
}

#[test]
fn a_round_that_would_end_after_expiry_is_refused() {
    let mut c = Chain::new(4);
    let mut spec = c.spec(BRONZE_ESCROW);
    spec.ttl_slots = c.config().params.min_ttl_slots();
    let id = spec.job_id;
    c.post(&spec).unwrap();
    c.seed(&id, [1; 32]).unwrap();
    let window = c.job(&id).submit_window_slots.get();
    let expiry = c.job(&id).expiry_slot.get();
    // One slot too late for a whole round: assignment waits for nothing.
    c.warp_to(expiry - window + 1);
    c.refuses(E::RoundPastExpiry, |c| c.assign(&id, &[0, 1, 2]));
}

#[test]
fn submit_after_deadline_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Assigned);
    let deadline = c.job(&id).deadline_slot.get();
    c.warp_to(deadline);
    c.submit(&id, 0, agreed_output()).unwrap();
    c.warp(1);
    c.refuses(E::DeadlinePassed, |c| c.submit(&id, 1, agreed_output()));
}

#[test]
fn cancel_no_da_before_da_deadline_is_refused() {
    let (mut c, id) = chain_at(3, Stage::QuorumReached);
    let da_deadline = c.job(&id).da_deadline_slot.get();
    refused_through(&mut c, da_deadline, E::DaDeadlineNotPassed, |c| {
        c.cancel_no_da(&id)
    });
}

#[test]
fn cancel_expired_before_expiry_is_refused() {
    let (mut c, id) = chain_at(0, Stage::Posted);
    let expiry = c.job(&id).expiry_slot.get();
    refused_through(&mut c, expiry, E::ExpiryNotPassed, |c| {
        c.cancel_expired(&id)
    });
}

#[test]
fn finalize_within_the_challenge_window_is_refused() {
    let window = 100;
    let mut c = Chain::with_params(3, |p| p.challenge_window_slots = U64::new(window));
    let id = c.job_at(Stage::AwaitingDa);
    let published = c
        .account::<OutputAvailability>(&output_pda(&c, &id))
        .published_slot
        .get();
    refused_through(
        &mut c,
        published + window - 1,
        E::ChallengeWindowOpen,
        |c| c.finalize(&id),
    );
    assert_eq!(c.job(&id).status, job_status::FINALIZED);
}

// --------------------------------------------- membership and once-only

#[test]
fn submit_by_a_worker_outside_the_committee_is_refused() {
    let (mut c, id) = chain_at(4, Stage::Assigned);
    c.refuses(E::NotAssigned, |c| c.submit(&id, 3, agreed_output()));
}

#[test]
fn submit_by_a_penalized_worker_is_refused() {
    // Penalized (settled) seats are closed before the deadline check.
    let mut c = Chain::new(3);
    let id = silent_worker_job(&mut c);
    c.penalize(&id).unwrap();
    c.refuses(E::NotAssigned, |c| c.submit(&id, 2, agreed_output()));
}

#[test]
fn set_job_seed_twice_is_refused() {
    let (mut c, id) = chain_at(0, Stage::Seeded);
    c.refuses(E::SeedAlreadySet, |c| c.seed(&id, [9; 32]));
    assert_eq!(c.job(&id).seed, [1; 32]);
}

#[test]
fn submit_twice_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Assigned);
    c.submit(&id, 0, agreed_output()).unwrap();
    for out in [agreed_output(), output_hash(b"changed my mind")] {
        c.refuses(E::AlreadySubmitted, |c| c.submit(&id, 0, out));
    }
}

#[test]
fn register_worker_twice_is_refused() {
    let mut c = Chain::new(1);
    let ix = client::register_worker(
        &c.program_id,
        &c.workers[0].address(),
        &c.workers[0].address(),
        1,
    );
    c.refuses(E::AlreadyInitialized, |c| c.as_worker(0, &[ix]));
}

#[test]
fn initialize_config_twice_is_refused() {
    let mut c = Chain::new(0);
    let admin = c.admin.insecure_clone();
    let ix = client::initialize_config(&c.program_id, &admin.pubkey(), c.default_params());
    c.refuses(E::AlreadyInitialized, |c| send(c, &admin, &[ix]));
}

// ---------------------------------------------------- Ed25519 attestation

#[test]
fn submit_without_ed25519_instruction_is_refused() {
    let (mut c, _, submit) = ed25519_case();
    c.refuses(E::Ed25519Missing, |c| c.as_worker(0, &[submit]));
}

#[test]
fn submit_not_immediately_after_its_ed25519_instruction_is_refused() {
    let (mut c, digest, submit) = ed25519_case();
    let w0 = c.workers[0].address();
    // A valid Ed25519 instruction (its signature offset points at the
    // submit_result, now at index 2), then another instruction.
    let ed = client::ed25519_instruction(&w0, &digest, 2);
    let ixs = [ed, compute_unit_limit(200_000), submit.clone()];
    c.refuses(E::Ed25519Missing, |c| c.as_worker(0, &ixs));
    // The Ed25519 instruction after the submit_result.
    let ed = client::ed25519_instruction(&w0, &digest, 0);
    c.refuses(E::Ed25519Missing, |c| c.as_worker(0, &[submit, ed]));
}

#[test]
fn submit_right_after_its_ed25519_instruction_at_any_index_is_accepted() {
    let (mut c, digest, submit) = ed25519_case();
    let w0 = c.workers[0].address();
    let ed = client::ed25519_instruction(&w0, &digest, 2);
    c.as_worker(0, &[compute_unit_limit(200_000), ed, submit])
        .unwrap();
    c.assert_conserved();
}

#[test]
fn submit_with_ed25519_of_another_key_is_refused() {
    // Worker 1's valid signature over worker 0's digest.
    let (mut c, digest, submit) = ed25519_case();
    let ed = ed25519_inline(&[(&c.workers[1].signing, &digest[..])]);
    c.refuses(E::Ed25519WrongPubkey, |c| c.as_worker(0, &[ed, submit]));
}

#[test]
fn submit_with_ed25519_over_another_message_is_refused() {
    let (mut c, digest, submit) = ed25519_case();
    let key = c.workers[0].signing.clone();
    let other_job = c.job_at(Stage::Posted);
    let w0 = c.workers[0].address();
    let other = Attestation::for_job(&c.job(&other_job), &w0, agreed_output()).digest();
    let longer = [&digest[..], &[0]].concat();
    for message in [&other[..], &longer] {
        let ed = ed25519_inline(&[(&key, message)]);
        let ixs = [ed, submit.clone()];
        c.refuses(E::Ed25519WrongMessage, |c| c.as_worker(0, &ixs));
    }
}

#[test]
fn submit_whose_attestation_sig_is_not_the_ed25519_signature_is_refused() {
    // The Ed25519 instruction is valid over the right digest with its
    // signature inline; the submit_result's attestation_sig differs.
    let (mut c, digest, submit) = ed25519_case();
    let ed = ed25519_inline(&[(&c.workers[0].signing, &digest[..])]);
    let other_sig = c.workers[0].signing.sign(b"something else").to_bytes();
    let submit = with_attestation_sig(submit, other_sig);
    c.refuses(E::Ed25519WrongSignature, |c| c.as_worker(0, &[ed, submit]));
}

#[test]
fn submit_with_other_than_one_ed25519_signature_is_refused() {
    let (mut c, digest, submit) = ed25519_case();
    let key = c.workers[0].signing.clone();
    let two = ed25519_inline(&[(&key, &digest[..]), (&key, &digest[..])]);
    let none = ed25519(&[], &[]);
    for ed in [two, none] {
        let ixs = [ed, submit.clone()];
        c.refuses(E::Ed25519SignatureCount, |c| c.as_worker(0, &ixs));
    }
}

#[test]
fn submit_with_ed25519_offsets_into_a_third_instruction_is_refused() {
    // Instruction 0 is a valid Ed25519 instruction with everything inline;
    // instruction 1 has the same layout, but one of its signature, pubkey
    // or message reads from instruction 0 (the precompile allows it).
    let (mut c, digest, submit) = ed25519_case();
    let third = ed25519_inline(&[(&c.workers[0].signing, &digest[..])]);
    for field in [1, 3, 6] {
        let mut ed = third.clone();
        ed.data[2 + 2 * field..][..2].copy_from_slice(&0u16.to_le_bytes());
        let ixs = [third.clone(), ed, submit.clone()];
        c.refuses(E::Ed25519BadOffsets, |c| c.as_worker(0, &ixs));
    }
}

/// The precompile verifies the signature it is pointed at: with the
/// submit_result's attestation_sig not a signature of the digest, the
/// Ed25519 instruction (index 0) fails before the program runs.
#[test]
fn submit_with_an_invalid_attestation_signature_is_refused_by_the_precompile() {
    let (mut c, digest, submit) = ed25519_case();
    let ed = client::ed25519_instruction(&c.workers[0].address(), &digest, 1);
    let submit = with_attestation_sig(submit, [7; 64]);
    let failure = c.refused(|c| c.as_worker(0, &[ed, submit]));
    assert!(
        matches!(failure.meta.err, TransactionError::InstructionError(0, _)),
        "{:?}",
        failure.meta.err
    );
    assert_eq!(failure.code, None);
}

// ------------------------------------------------------------ declaration

#[test]
fn declare_output_by_a_non_winner_is_refused() {
    let mut c = Chain::new(4);
    let id = c.job_at(Stage::Assigned);
    c.submit(&id, 0, agreed_output()).unwrap();
    c.submit(&id, 1, agreed_output()).unwrap();
    c.submit(&id, 2, output_hash(b"wrong")).unwrap();
    c.reveal(&id, 0, agreed_output()).unwrap();
    // A wrong submitter, then a registered worker outside the committee.
    for w in [2, 3] {
        c.refuses(E::NotAWinner, |c| c.declare(&id, w, agreed_output()));
    }
}

#[test]
fn declare_output_by_a_silent_committee_member_is_refused() {
    let mut c = Chain::new(3);
    let id = silent_worker_job(&mut c);
    c.reveal(&id, 0, agreed_output()).unwrap();
    c.refuses(E::NotAWinner, |c| c.declare(&id, 2, agreed_output()));
}

#[test]
fn declare_output_with_another_hash_is_refused() {
    let (mut c, id) = chain_at(3, Stage::QuorumReached);
    c.refuses(E::OutputHashMismatch, |c| {
        c.declare(&id, 0, output_hash(b"not the winner"))
    });
}

#[test]
fn declare_output_with_a_bad_pointer_is_refused_by_the_client() {
    let c = Chain::new(0);
    let build = |url: &str| {
        client::declare_output(&c.program_id, &c.admin.pubkey(), &[0; 32], [0; 32], url).map(|_| ())
    };
    let long = "x".repeat(POINTER_LEN + 1);
    assert_eq!(
        build(&long),
        Err(ClientError::Pointer(PointerError::TooLong {
            len: POINTER_LEN + 1
        }))
    );
    for url in ["", "http://a\0b"] {
        assert_eq!(build(url), Err(ClientError::Pointer(PointerError::Invalid)));
    }
    assert_eq!(build(&"x".repeat(POINTER_LEN)), Ok(()));
}

#[test]
fn declare_output_with_an_empty_or_non_utf8_pointer_is_refused() {
    let (mut c, id) = chain_at(3, Stage::QuorumReached);
    // DeclareOutput data: discriminator, output_hash, pointer, bump.
    let pointer_at = 8 + 32;
    for pointer in [[0u8; POINTER_LEN], [0xff; POINTER_LEN]] {
        let mut ix = c.declare_ix(&id, 0, agreed_output());
        ix.data[pointer_at..][..POINTER_LEN].copy_from_slice(&pointer);
        c.refuses(E::BadPointer, |c| c.as_worker(0, &[ix]));
    }
}

// ------------------------------------------------------------- settlement

#[test]
fn finalize_with_another_jobs_output_is_refused() {
    let mut c = Chain::new(3);
    let a = c.job_at(Stage::AwaitingDa);
    let b = c.job_at(Stage::AwaitingDa);
    // Job A with job B's OutputAvailability.
    let ix = swap(c.finalize_ix(&a), 3, output_pda(&c, &b));
    c.refuses(E::WrongOutputAccount, |c| c.crank(&[ix]));
    // Job B's account where job A's is expected (A's output, A's stakes).
    let ix = swap(c.finalize_ix(&a), 2, job_pda(&c, &b));
    c.refuses(E::WrongOutputAccount, |c| c.crank(&[ix]));
}

#[test]
fn finalize_without_an_output_availability_is_refused() {
    let mut c = Chain::new(3);
    let id = c.job_at(Stage::AwaitingDa);
    let undeclared = c.job_at(Stage::Posted);
    let config = client::config_pda(&c.program_id).0;
    // A missing account, a system account, and a program account of
    // another type.
    for output in [output_pda(&c, &undeclared), c.treasury, config] {
        let ix = swap(c.finalize_ix(&id), 3, output);
        c.refuses(E::OutputNotAvailable, |c| c.crank(&[ix]));
    }
}

/// An OutputAvailability for the job with another hash cannot arise (the
/// program writes the winning hash); a forged one, planted with LiteSVM at
/// another address, still meets the hash check.
#[test]
fn finalize_with_an_output_of_another_hash_is_refused() {
    let mut c = Chain::new(3);
    let id = c.job_at(Stage::AwaitingDa);
    let mut oa = c.account::<OutputAvailability>(&output_pda(&c, &id));
    oa.output_hash = output_hash(b"forged");
    let pid = c.program_id;
    let forged = plant(&mut c, pid, layout::account_bytes(&oa));
    let ix = swap(c.finalize_ix(&id), 3, forged);
    c.refuses(E::OutputHashMismatch, |c| c.crank(&[ix]));
}

#[test]
fn penalize_twice_is_refused() {
    let mut c = Chain::new(3);
    let id = silent_worker_job(&mut c);
    c.penalize(&id).unwrap();
    c.refuses(E::NothingToSettle, |c| c.penalize(&id));
    assert_eq!(c.stake(2).total_stake.get(), WORKER_STAKE - PENALTY);
}

#[test]
fn penalize_when_everyone_submitted_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Assigned);
    for w in 0..3 {
        c.submit(&id, w, agreed_output()).unwrap();
    }
    past_deadline(&mut c, &id);
    c.refuses(E::NothingToSettle, |c| c.penalize(&id));
}

/// After the reveal, silent seats are settled by finalize_job or
/// cancel_no_da, which know whether the reveal cut their round short.
#[test]
fn penalize_after_the_reveal_is_refused() {
    let mut c = Chain::new(3);
    let id = silent_worker_job(&mut c);
    c.reveal(&id, 0, agreed_output()).unwrap();
    c.refuses(E::WrongJobStatus, |c| c.penalize(&id));
}

#[test]
fn reassign_when_nobody_is_missing_is_refused() {
    // Everyone submitted (three different outputs, so no quorum and the job
    // stays Assigned): no seat to refill, whatever replacements are given.
    let (mut c, id) = chain_at(4, Stage::Assigned);
    for w in 0..3 {
        c.submit(&id, w, output_hash(&[w as u8])).unwrap();
    }
    past_deadline(&mut c, &id);
    for replacements in [&[][..], &[3]] {
        c.refuses(E::NothingToSettle, |c| c.reassign(&id, replacements));
    }
}

#[test]
fn reassign_before_penalizing_is_refused() {
    // The silent seat is not vacant until it is penalized.
    let mut c = Chain::new(4);
    let id = silent_worker_job(&mut c);
    c.refuses(E::NothingToSettle, |c| c.reassign(&id, &[3]));
}

#[test]
fn reassign_with_the_wrong_number_of_replacements_is_refused() {
    let mut c = Chain::new(5);
    let id = silent_worker_job(&mut c);
    c.penalize(&id).unwrap();
    for replacements in [&[][..], &[3, 4]] {
        c.refuses(E::WrongCommitteeSize, |c| c.reassign(&id, replacements));
    }
}

#[test]
fn reassign_to_a_worker_in_the_assigned_table_is_refused() {
    // The replaced worker itself, and a sitting member.
    let mut c = Chain::new(3);
    let id = silent_worker_job(&mut c);
    c.penalize(&id).unwrap();
    for w in [2, 0] {
        c.refuses(E::WorkerWasSeated, |c| c.reassign(&id, &[w]));
    }
}

// ------------------------------------------------------------------ stake

#[test]
fn withdraw_of_locked_stake_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Assigned);
    let lock = c.job(&id).required_lock_lamports.get();
    let w0 = c.workers[0].address();
    for amount in [WORKER_STAKE, WORKER_STAKE - lock + 1] {
        let ix = client::withdraw_stake(&c.program_id, &w0, &w0, amount);
        c.refuses(E::WithdrawExceedsUnlocked, |c| c.as_worker(0, &[ix]));
    }
}

#[test]
fn withdraw_into_the_rent_floor_is_refused() {
    let mut c = Chain::new(1);
    let ix = client::withdraw_stake(
        &c.program_id,
        &c.workers[0].address(),
        &c.workers[0].address(),
        WORKER_STAKE + 1,
    );
    c.refuses(E::WithdrawExceedsUnlocked, |c| c.as_worker(0, &[ix]));
}

#[test]
fn deposit_or_withdraw_of_zero_is_refused() {
    let mut c = Chain::new(1);
    let w0 = c.workers[0].address();
    let deposit = client::deposit_stake(&c.program_id, &w0, &w0, 0);
    let withdraw = client::withdraw_stake(&c.program_id, &w0, &w0, 0);
    for ix in [deposit, withdraw] {
        c.refuses(E::ZeroAmount, |c| c.as_worker(0, &[ix]));
    }
}

// ------------------------------------------------------ post_job, config

#[test]
fn post_job_with_zero_escrow_is_refused() {
    let mut c = Chain::new(0);
    let spec = c.spec(0);
    c.refuses(E::ZeroEscrow, |c| c.post(&spec));
}

/// rent + escrow must fit in a u64 (ArithmeticOverflow), and the client
/// must hold it: otherwise the program refuses before the System Program
/// is asked (ClientCannotPay, not the System Program's bare custom error 1).
#[test]
fn post_job_with_an_escrow_the_client_cannot_pay_is_refused() {
    let mut c = Chain::new(0);
    let spec = c.spec(u64::MAX);
    c.refuses(E::ArithmeticOverflow, |c| c.post(&spec));
    let balance = c.lamports(&c.client.pubkey());
    let spec = c.spec(balance);
    c.refuses(E::ClientCannotPay, |c| c.post(&spec));
}

#[test]
fn post_job_with_limits_above_the_caps_or_zero_is_refused() {
    let mut c = Chain::new(0);
    let p = c.config().params;
    let (memory, instructions, output) = (
        p.max_memory_bytes.get(),
        p.max_instructions.get(),
        p.max_output_bytes.get(),
    );
    for limits in [
        Limits::new(memory + 1, instructions, output),
        Limits::new(memory, instructions + 1, output),
        Limits::new(memory, instructions, output + 1),
        Limits::new(0, instructions, output),
        Limits::new(memory, 0, output),
        Limits::new(memory, instructions, 0),
    ] {
        let mut spec = c.spec(BRONZE_ESCROW);
        spec.limits = limits;
        c.refuses(E::LimitsAboveCap, |c| c.post(&spec));
    }
    let mut spec = c.spec(BRONZE_ESCROW);
    spec.limits = Limits::new(memory, instructions, output);
    c.post(&spec).unwrap();
}

#[test]
fn post_job_with_a_runtime_not_allowed_is_refused() {
    let mut c = Chain::new(0);
    let mut spec = c.spec(BRONZE_ESCROW);
    spec.runtime_id = hash::runtime_id("edgerun-runtime/1;wasmi=0.1.0;abi=1;fuel=other");
    c.refuses(E::RuntimeNotAllowed, |c| c.post(&spec));
}

#[test]
fn post_job_with_a_ttl_of_zero_or_above_the_maximum_is_refused() {
    let mut c = Chain::new(0);
    let max = c.config().params.max_job_ttl_slots.get();
    for ttl in [0, max + 1] {
        let mut spec = c.spec(BRONZE_ESCROW);
        spec.ttl_slots = ttl;
        c.refuses(E::BadTtl, |c| c.post(&spec));
    }
    let mut spec = c.spec(BRONZE_ESCROW);
    spec.ttl_slots = max;
    c.post(&spec).unwrap();
    assert_eq!(c.job(&spec.job_id).expiry_slot.get(), c.slot() + max);
}

/// Sets `paused` through update_config.
fn set_paused(c: &mut Chain, paused: bool) {
    let mut params = c.config().params;
    params.paused = Bool::new(paused);
    let admin = c.admin.insecure_clone();
    let ix = client::update_config(&c.program_id, &admin.pubkey(), params);
    send(c, &admin, &[ix]).unwrap();
}

#[test]
fn paused_config_refuses_post_and_assign_but_settlement_goes_on() {
    let mut c = Chain::new(3);
    let declared = c.job_at(Stage::AwaitingDa);
    let seeded = c.job_at(Stage::Seeded);
    set_paused(&mut c, true);
    let spec = c.spec(BRONZE_ESCROW);
    c.refuses(E::Paused, |c| c.post(&spec));
    c.refuses(E::Paused, |c| c.assign(&seeded, &[0, 1, 2]));
    // Settlement and the client's own cancellation go on.
    c.finalize(&declared).unwrap();
    assert_eq!(c.job(&declared).status, job_status::FINALIZED);
    c.cancel(&seeded).unwrap();
    set_paused(&mut c, false);
    c.post(&spec).unwrap();
    c.assert_conserved();
}

/// A named change to config parameters.
type Tweak = (&'static str, fn(&mut ConfigParams));

/// Config parameters that break one rule each.
fn invalid_params() -> Vec<Tweak> {
    vec![
        ("fee above 100%", |p| p.protocol_fee_bps = U16::new(10_001)),
        ("max committee 2", |p| p.max_committee_size = 2),
        ("max committee 10", |p| p.max_committee_size = 10),
        ("default quorum not a majority", |p| p.default_quorum = 1),
        ("default quorum above size", |p| p.default_quorum = 4),
        ("default committee above max", |p| {
            p.default_committee_size = 5;
            p.default_quorum = 3;
            p.max_committee_size = 3;
        }),
        ("9 runtimes", |p| p.allowed_runtime_count = 9),
        ("no DA window", |p| p.da_window_slots = U64::new(0)),
        ("no submit window", |p| p.submit_window_slots = U64::new(0)),
        ("no ttl", |p| p.max_job_ttl_slots = U64::new(0)),
        ("no memory cap", |p| p.max_memory_bytes = U32::new(0)),
        ("no instruction cap", |p| p.max_instructions = U64::new(0)),
        ("no output cap", |p| p.max_output_bytes = U32::new(0)),
        ("min fee above 20% of the min escrow", |p| {
            p.min_job_fee_lamports = U64::new(p.min_escrow_lamports.get() / 5 + 1)
        }),
        ("min fee above 0.1 SOL", |p| {
            p.min_escrow_lamports = U64::new(10_000_000_000);
            p.min_job_fee_lamports = U64::new(100_000_001);
        }),
    ]
}

#[test]
fn initialize_config_with_invalid_params_is_refused() {
    let mut c = Chain::without_config();
    let config = client::config_pda(&c.program_id).0;
    c.tracked.insert(config);
    let admin = c.admin.insecure_clone();
    for (rule, tweak) in invalid_params() {
        let mut params = c.default_params();
        tweak(&mut params);
        let ix = client::initialize_config(&c.program_id, &admin.pubkey(), params);
        let failure = c.refused(|c| send(c, &admin, &[ix]));
        assert_eq!(failure.code, Some(E::InvalidConfig), "{rule}");
    }
    let ix = client::initialize_config(&c.program_id, &admin.pubkey(), c.default_params());
    send(&mut c, &admin, &[ix]).unwrap();
    assert_eq!(c.config().params, c.default_params());
    c.assert_conserved();
}

#[test]
fn update_config_with_invalid_params_is_refused() {
    let mut c = Chain::new(0);
    let admin = c.admin.insecure_clone();
    for (rule, tweak) in invalid_params() {
        let mut params = c.config().params;
        tweak(&mut params);
        let ix = client::update_config(&c.program_id, &admin.pubkey(), params);
        let failure = c.refused(|c| send(c, &admin, &[ix]));
        assert_eq!(failure.code, Some(E::InvalidConfig), "{rule}");
    }
}

// ------------------------------------------------------------- assignment

#[test]
fn assign_with_the_wrong_number_of_workers_is_refused() {
    let (mut c, id) = chain_at(4, Stage::Seeded);
    for committee in [&[0, 1][..], &[0, 1, 2, 3]] {
        c.refuses(E::WrongCommitteeSize, |c| c.assign(&id, committee));
    }
}

#[test]
fn assign_with_a_duplicate_worker_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Seeded);
    c.refuses(E::DuplicateWorker, |c| c.assign(&id, &[0, 1, 0]));
}

#[test]
fn assign_a_worker_without_enough_unlocked_stake_is_refused() {
    let mut c = Chain::new(2);
    let tiny = c.add_worker(10);
    let first = c.job_at(Stage::Seeded);
    let lock = c.job(&first).required_lock_lamports.get();
    c.refuses(E::InsufficientUnlockedStake, |c| {
        c.assign(&first, &[0, 1, tiny])
    });
    // Exactly one lock's worth: enough for one job, not for a second.
    let exact = c.add_worker(lock);
    c.assign(&first, &[0, 1, exact]).unwrap();
    let second = c.job_at(Stage::Seeded);
    c.refuses(E::InsufficientUnlockedStake, |c| {
        c.assign(&second, &[0, 1, exact])
    });
}

/// Only Active (0) exists; a stake with another status, forged with
/// LiteSVM, is refused.
#[test]
fn assign_a_worker_whose_stake_is_not_active_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Seeded);
    let stake = stake_pda(&c, 2);
    let mut account = c.svm.get_account(&stake).unwrap();
    layout::view_mut::<WorkerStake>(&mut account.data)
        .unwrap()
        .status = 1;
    c.svm.set_account(stake, account).unwrap();
    c.refuses(E::WorkerNotActive, |c| c.assign(&id, &[0, 1, 2]));
}

// --------------------------------------------------- account substitution

#[test]
fn a_worker_stake_of_another_worker_is_refused_in_settlement() {
    let mut c = Chain::new(3);
    let declared = c.job_at(Stage::AwaitingDa);
    let silent = silent_worker_job(&mut c);
    let (s0, s1) = (stake_pda(&c, 0), stake_pda(&c, 1));
    let other_job = job_pda(&c, &silent);
    // finalize: stakes out of order, or another account type; penalize:
    // the silent worker's seat given worker 0's stake.
    for ix in [
        swap(swap(c.finalize_ix(&declared), 6, s1), 7, s0),
        swap(c.finalize_ix(&declared), 8, other_job),
        swap(c.penalize_ix(&silent), 6, s0),
    ] {
        c.refuses(E::WrongStakeAccount, |c| c.crank(&[ix]));
    }
    // A stake missing altogether.
    let mut ix = c.finalize_ix(&declared);
    ix.accounts.pop();
    c.refuses(E::WrongCommitteeSize, |c| c.crank(&[ix]));
}

#[test]
fn a_fake_config_account_is_refused() {
    let (mut c, id) = chain_at(4, Stage::Assigned);
    let config = client::config_pda(&c.program_id).0;
    let bytes = c.svm.get_account(&config).unwrap().data;
    // The config's bytes owned by the System Program, by another program,
    // and a genuine program account of another type.
    let fakes = [
        plant(&mut c, client::SYSTEM_PROGRAM_ID, bytes.clone()),
        plant(&mut c, Address::new_unique(), bytes),
        stake_pda(&c, 0),
    ];
    let spec = c.spec(BRONZE_ESCROW);
    let admin = c.admin.pubkey();
    let ixs = [
        client::update_config(&c.program_id, &admin, c.config().params),
        c.post_ix(&spec),
        c.seed_ix(&id, [1; 32]),
        c.assign_ix(&id, &[0, 1, 2]),
        c.finalize_ix(&id),
        c.penalize_ix(&id),
        c.reassign_ix(&id, &[3]),
        c.cancel_no_da_ix(&id),
        c.cancel_expired_ix(&id),
    ];
    let signers = [
        c.admin.insecure_clone(),
        c.client.insecure_clone(),
        c.randomness.insecure_clone(),
        c.scheduler.insecure_clone(),
    ];
    for fake in fakes {
        for ix in &ixs {
            // Every one of these takes the config as account 1.
            let ix = swap(ix.clone(), 1, fake);
            let signer = signers
                .iter()
                .find(|k| k.pubkey() == ix.accounts[0].pubkey)
                .unwrap_or(&c.cranker)
                .insecure_clone();
            c.refuses(E::WrongConfigAccount, |c| send(c, &signer, &[ix]));
        }
    }
}

#[test]
fn the_wrong_treasury_is_refused() {
    let mut c = Chain::new(3);
    let declared = c.job_at(Stage::AwaitingDa);
    let quorum = c.job_at(Stage::QuorumReached);
    c.warp(20_000);
    let thief = c.stranger().pubkey();
    // (instruction, index of its treasury account)
    for (ix, at) in [
        (c.finalize_ix(&declared), 4),
        (c.penalize_ix(&quorum), 3),
        (c.cancel_no_da_ix(&quorum), 3),
        (c.cancel_expired_ix(&quorum), 4),
    ] {
        let ix = swap(ix, at, thief);
        c.refuses(E::WrongTreasury, |c| c.crank(&[ix]));
    }
}

#[test]
fn cancel_expired_job_with_the_wrong_client_is_refused() {
    let (mut c, id) = chain_at(0, Stage::Posted);
    let thief = c.stranger().pubkey();
    let expiry = c.job(&id).expiry_slot.get();
    c.warp_to(expiry + 1);
    let ix = swap(c.cancel_expired_ix(&id), 3, thief);
    c.refuses(E::WrongClient, |c| c.crank(&[ix]));
}

#[test]
fn an_account_of_the_wrong_type_or_owner_as_job_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Seeded);
    let config = client::config_pda(&c.program_id).0;
    let client_key = c.client.insecure_clone();
    // A WorkerStake, the config, a wallet, and a job-shaped account owned by
    // the System Program.
    let job_bytes = c.svm.get_account(&job_pda(&c, &id)).unwrap().data;
    let fake = plant(&mut c, client::SYSTEM_PROGRAM_ID, job_bytes);
    for wrong in [stake_pda(&c, 0), config, c.treasury, fake] {
        let cancel = swap(c.cancel_ix(&id), 1, wrong);
        c.refuses(E::WrongJobAccount, |c| send(c, &client_key, &[cancel]));
        let assign = swap(c.assign_ix(&id, &[0, 1, 2]), 2, wrong);
        c.refuses(E::WrongJobAccount, |c| c.as_scheduler(assign));
    }
}

#[test]
fn submit_to_another_jobs_account_is_refused() {
    // Worker 0 sits on both jobs; its attestation names job A, the job
    // account is B's, so the digest the program computes differs.
    let mut c = Chain::new(3);
    let a = c.job_at(Stage::Assigned);
    let b = c.job_at(Stage::Assigned);
    let mut ixs = c.submit_ixs(&a, 0, agreed_output());
    ixs[1] = swap(ixs[1].clone(), 1, job_pda(&c, &b));
    c.refuses(E::Ed25519WrongMessage, |c| c.as_worker(0, &ixs));
}

/// submit_result checks the JobResult address itself. It used to rely on
/// the runtime (creating the account needs its signature, which the program
/// gives only for the PDA of its seeds; elsewhere the System Program CPI
/// fails with PrivilegeEscalation), but an account that signs the
/// transaction itself satisfies the System Program without the seeds, and
/// the JobResult landed at a keypair's address.
#[test]
fn a_job_result_at_the_wrong_address_is_refused() {
    let (mut c, id) = chain_at(3, Stage::Assigned);
    let others_result = client::job_result_pda(&c.program_id, &id, &c.workers[1].address()).0;
    let prefunded = Address::new_unique();
    prefund(&mut c, prefunded, 1_000_000);
    let impostor = Keypair::new();
    c.tracked.insert(impostor.pubkey());
    let worker = c.workers[0].key.insecure_clone();
    for (wrong, signs) in [
        (Address::new_unique(), false),
        (others_result, false),
        (prefunded, false),
        (impostor.pubkey(), true),
    ] {
        let mut ixs = c.submit_ixs(&id, 0, agreed_output());
        ixs[1].accounts[2] = AccountMeta::new(wrong, signs);
        let signers = if signs {
            vec![&worker, &impostor]
        } else {
            vec![&worker]
        };
        c.refuses(E::WrongResultAccount, |c| c.send(&ixs, &signers));
    }
    assert_eq!(c.job(&id).submissions[0].flags, 0);
}

#[test]
fn the_wrong_system_program_or_instructions_sysvar_is_refused() {
    let (mut c, id) = chain_at(3, Stage::QuorumReached);
    let fresh = c.stranger();
    let pid = c.program_id;
    let w0 = c.workers[0].address();
    let spec = c.spec(BRONZE_ESCROW);
    let not_system = client::INSTRUCTIONS_SYSVAR_ID;
    // (signer, instruction, index of its system program account)
    let cases = [
        (
            c.admin.insecure_clone(),
            client::initialize_config(&pid, &c.admin.pubkey(), c.default_params()),
            2,
        ),
        (
            fresh.insecure_clone(),
            client::register_worker(&pid, &fresh.pubkey(), &fresh.pubkey(), 1),
            3,
        ),
        (
            c.workers[0].key.insecure_clone(),
            client::deposit_stake(&pid, &w0, &w0, 1),
            2,
        ),
        (c.client.insecure_clone(), c.post_ix(&spec), 3),
        (
            c.workers[0].key.insecure_clone(),
            c.declare_ix(&id, 0, agreed_output()),
            3,
        ),
    ];
    for (signer, ix, at) in cases {
        let ix = swap(ix, at, not_system);
        c.refuses(E::WrongSystemProgram, |c| send(c, &signer, &[ix]));
    }
    // submit_result: the System Program at 4, the Instructions sysvar at 3.
    let late = c.job_at(Stage::Assigned);
    let ixs = c.submit_ixs(&late, 0, agreed_output());
    for (at, wrong, code) in [
        (4, not_system, E::WrongSystemProgram),
        (3, client::SYSTEM_PROGRAM_ID, E::WrongInstructionsSysvar),
        (3, Address::new_unique(), E::WrongInstructionsSysvar),
    ] {
        let tampered = [ixs[0].clone(), swap(ixs[1].clone(), at, wrong)];
        c.refuses(code, |c| c.as_worker(0, &tampered));
    }
}

#[test]
fn pdas_at_the_wrong_address_are_refused() {
    let (mut c, id) = chain_at(3, Stage::QuorumReached);
    let other = c.job_at(Stage::Posted);
    // post_job at another job id's address.
    let spec = c.spec(BRONZE_ESCROW);
    let elsewhere = c.spec(BRONZE_ESCROW).job_id;
    let ix = swap(c.post_ix(&spec), 2, job_pda(&c, &elsewhere));
    let client_key = c.client.insecure_clone();
    c.refuses(E::WrongJobAccount, |c| send(c, &client_key, &[ix]));
    // declare_output into another job's output address.
    let ix = swap(
        c.declare_ix(&id, 0, agreed_output()),
        2,
        output_pda(&c, &other),
    );
    c.refuses(E::WrongOutputAccount, |c| c.as_worker(0, &[ix]));
    // register_worker at another worker's stake address.
    let fresh = c.stranger();
    let ix = swap(
        client::register_worker(&c.program_id, &fresh.pubkey(), &fresh.pubkey(), 1),
        2,
        stake_pda(&c, 0),
    );
    c.refuses(E::WrongStakeAccount, |c| send(c, &fresh, &[ix]));
    // initialize_config anywhere but ["config"].
    let mut bare = Chain::without_config();
    let admin = bare.admin.insecure_clone();
    let ix = swap(
        client::initialize_config(&bare.program_id, &admin.pubkey(), bare.default_params()),
        1,
        Address::new_unique(),
    );
    bare.refuses(E::WrongConfigAccount, |c| send(c, &admin, &[ix]));
}

/// A valid (off-curve) program address for `seeds` at a bump below the
/// canonical one (the highest such bump), with that bump.
fn non_canonical_pda(seeds: &[&[u8]], program_id: &Address) -> (Address, u8) {
    let (_, canonical) = Address::find_program_address(seeds, program_id);
    (0..canonical)
        .rev()
        .find_map(|bump| {
            let bump_seed = [bump];
            let with_bump = [seeds, &[&bump_seed[..]]].concat();
            Address::create_program_address(&with_bump, program_id)
                .ok()
                .map(|a| (a, bump))
        })
        .expect("some lower bump is off the curve")
}

/// `ix` creating its PDA (account `at`, bump in the last data byte) at the
/// non-canonical address of `seeds`; the address is tracked, so
/// [`Chain::refused`] checks that it stays empty.
fn at_non_canonical_bump(
    c: &mut Chain,
    mut ix: Instruction,
    at: usize,
    seeds: &[&[u8]],
) -> Instruction {
    let (address, bump) = non_canonical_pda(seeds, &c.program_id);
    c.tracked.insert(address);
    *ix.data.last_mut().expect("bump") = bump;
    swap(ix, at, address)
}

/// Only the canonical bump makes "the PDA" of an account: any other
/// off-curve bump would give a second GlobalConfig (anyone as admin,
/// scheduler and treasury, accepted by every instruction that reads the
/// config), or a second Job, WorkerStake, JobResult or OutputAvailability
/// for the same seeds.
#[test]
fn pdas_at_a_non_canonical_bump_are_refused() {
    let (mut c, id) = chain_at(3, Stage::QuorumReached);
    let attacker = c.stranger();
    let a = attacker.pubkey();
    // Even the upgrade authority gets no second config naming another
    // admin, scheduler and treasury.
    let upgrader = c.admin.insecure_clone();
    let mut rogue = c.config().params;
    for authority in [
        &mut rogue.admin,
        &mut rogue.scheduler_authority,
        &mut rogue.randomness_authority,
        &mut rogue.treasury,
    ] {
        *authority = Pubkey(a.to_bytes());
    }
    rogue.protocol_fee_bps = U16::new(2_000);
    let ix = client::initialize_config(&c.program_id, &upgrader.pubkey(), rogue);
    let ix = at_non_canonical_bump(&mut c, ix, 1, &[seeds::CONFIG]);
    c.refuses(E::WrongConfigAccount, |c| send(c, &upgrader, &[ix]));

    let ix = client::register_worker(&c.program_id, &a, &a, 1);
    let ix = at_non_canonical_bump(&mut c, ix, 2, &[seeds::WORKER_STAKE, a.as_ref()]);
    c.refuses(E::WrongStakeAccount, |c| send(c, &attacker, &[ix]));

    // The same job id as an existing job, at another address.
    let spec = c.spec(BRONZE_ESCROW);
    let ix = c.post_ix(&spec);
    let ix = at_non_canonical_bump(&mut c, ix, 2, &[seeds::JOB, &spec.job_id]);
    let client_key = c.client.insecure_clone();
    c.refuses(E::WrongJobAccount, |c| send(c, &client_key, &[ix]));

    let ix = c.declare_ix(&id, 0, agreed_output());
    let ix = at_non_canonical_bump(&mut c, ix, 2, &[seeds::OUTPUT, &id]);
    c.refuses(E::WrongOutputAccount, |c| c.as_worker(0, &[ix]));
}

/// A JobResult is write-only evidence and the Job's table allows one result
/// per worker, so submit_result does not pay for the canonical-bump proof
/// (docs/protocol.md): a result at a lower bump is recorded, once.
#[test]
fn a_job_result_at_a_lower_bump_still_counts_once() {
    let (mut c, _) = chain_at(3, Stage::QuorumReached);
    let late = c.job_at(Stage::Assigned);
    let [ed, submit] = c.submit_ixs(&late, 0, agreed_output());
    let w0 = c.workers[0].address();
    let submit = at_non_canonical_bump(&mut c, submit, 2, &[seeds::JOB_RESULT, &late, w0.as_ref()]);
    c.as_worker(0, &[ed, submit]).unwrap();
    assert_eq!(c.job(&late).matches(&agreed_output()), 1);
    c.refuses(E::AlreadySubmitted, |c| c.submit(&late, 0, agreed_output()));
    c.assert_conserved();
}

// ------------------------------------------------------- pre-funded PDAs

/// Sends `lamports` from the cranker to `pda` before it is created, and
/// tracks `pda` (the lamports stay inside the tracked set).
fn prefund(c: &mut Chain, pda: Address, lamports: u64) {
    c.tracked.insert(pda);
    let ix = transfer(&c.cranker.pubkey(), &pda, lamports);
    c.crank(&[ix]).unwrap();
}

#[test]
fn post_job_takes_over_a_pre_funded_job_address() {
    let mut c = Chain::new(0);
    let spec = c.spec(BRONZE_ESCROW);
    let job = job_pda(&c, &spec.job_id);
    let gift = 1_000_000;
    prefund(&mut c, job, gift);
    let rent = c.svm.minimum_balance_for_rent_exemption(Job::SPACE);
    let client_key = c.client.pubkey();
    let before = c.lamports(&client_key);
    let meta = c.post(&spec).unwrap();
    let records = c.job(&spec.job_id).records_lamports.get();
    assert_eq!(c.lamports(&job), rent + BRONZE_ESCROW + records);
    assert_eq!(
        before - c.lamports(&client_key),
        rent + BRONZE_ESCROW + records - gift + meta.fee,
        "the client pays only the top-up"
    );
    assert_eq!(c.job(&spec.job_id).status, job_status::POSTED);
    c.assert_conserved();
    // The escrow is the client's as usual.
    let before = c.lamports(&client_key);
    let meta = c.cancel(&spec.job_id).unwrap();
    assert_eq!(
        c.lamports(&client_key),
        before + BRONZE_ESCROW + records - meta.fee
    );
    c.assert_conserved();
}

/// A gift above rent + escrow: the client pays nothing, and (as
/// docs/protocol.md decides) the surplus stays with the Job account, so its
/// lamports exceed rent + escrow and only the total is conserved.
#[test]
fn post_job_takes_over_a_job_address_funded_beyond_rent_and_escrow() {
    let mut c = Chain::new(0);
    let spec = c.spec(BRONZE_ESCROW);
    let job = job_pda(&c, &spec.job_id);
    let gift = 1_000_000_000;
    prefund(&mut c, job, gift);
    let client_key = c.client.pubkey();
    let before = c.lamports(&client_key);
    let meta = c.post(&spec).unwrap();
    assert_eq!(before - c.lamports(&client_key), meta.fee);
    assert_eq!(c.lamports(&job), gift);
    assert_eq!(c.job(&spec.job_id).escrow_lamports.get(), BRONZE_ESCROW);
    assert_eq!(c.total_tracked() + c.fees, c.start_total);
}

#[test]
fn submit_and_declare_take_over_pre_funded_result_and_output_addresses() {
    let (mut c, id) = chain_at(3, Stage::Assigned);
    let w0 = c.workers[0].address();
    let result = client::job_result_pda(&c.program_id, &id, &w0).0;
    prefund(&mut c, result, 1_000_000);
    let output = output_pda(&c, &id);
    prefund(&mut c, output, 1_000_000);
    for w in 0..3 {
        c.submit(&id, w, agreed_output()).unwrap();
    }
    c.reveal(&id, 0, agreed_output()).unwrap();
    c.declare(&id, 0, agreed_output()).unwrap();
    c.finalize(&id).unwrap();
    assert_eq!(
        c.account::<JobResult>(&result).seal,
        edgerun_protocol::hash::seal(&agreed_output(), &w0.to_bytes())
    );
    c.assert_conserved();
}

// ------------------------------------------------------ instruction data

#[test]
fn unknown_or_malformed_instruction_data_is_refused() {
    let mut c = Chain::new(0);
    let admin = c.admin.insecure_clone();
    let honest = client::update_config(&c.program_id, &admin.pubkey(), c.config().params);
    let n = honest.data.len();
    let datas = [
        vec![],
        vec![1, 2, 3],
        vec![0; 8],
        [&honest.data[..], &[0]].concat(),
        honest.data[..n - 1].to_vec(),
    ];
    for data in datas {
        let ix = Instruction {
            data,
            ..honest.clone()
        };
        c.refuses(E::InvalidInstruction, |c| send(c, &admin, &[ix]));
    }
}

// ------------------------------------------------------------ happy paths

#[test]
fn update_config_changes_params_and_hands_over_admin() {
    let mut c = Chain::new(0);
    let old = c.admin.insecure_clone();
    let new = c.stranger();
    let mut params = c.config().params;
    params.admin = Pubkey(new.pubkey().to_bytes());
    params.protocol_fee_bps = U16::new(500);
    params.challenge_window_slots = U64::new(32);
    params.allowed_runtime_ids[1] = hash::runtime_id("another runtime");
    params.allowed_runtime_count = 2;
    let ix = client::update_config(&c.program_id, &old.pubkey(), params);
    send(&mut c, &old, &[ix]).unwrap();
    assert_eq!(c.config().params, params);
    // The old admin is out; the new one is in, and can hand it back.
    let mut back = params;
    back.admin = Pubkey(old.pubkey().to_bytes());
    let ix = client::update_config(&c.program_id, &old.pubkey(), back);
    c.refuses(E::NotAdmin, |c| send(c, &old, &[ix]));
    let ix = client::update_config(&c.program_id, &new.pubkey(), back);
    send(&mut c, &new, &[ix]).unwrap();
    assert_eq!(c.config().params, back);
    c.assert_conserved();
}

#[test]
fn deposit_stake_moves_lamports_from_the_wallet_into_the_stake() {
    let mut c = Chain::new(1);
    let w0 = c.workers[0].address();
    let stake = stake_pda(&c, 0);
    let (wallet, held) = (c.lamports(&w0), c.lamports(&stake));
    let amount = 3_000_000_000;
    let meta = c
        .as_worker(0, &[client::deposit_stake(&c.program_id, &w0, &w0, amount)])
        .unwrap();
    assert_eq!(c.stake(0).total_stake.get(), WORKER_STAKE + amount);
    assert_eq!(c.lamports(&stake), held + amount);
    assert_eq!(c.lamports(&w0), wallet - amount - meta.fee);
    c.assert_conserved();
}

#[test]
fn withdraw_stake_returns_exactly_the_unlocked_stake() {
    let (mut c, id) = chain_at(3, Stage::Assigned);
    let lock = c.job(&id).required_lock_lamports.get();
    let w0 = c.workers[0].address();
    let wallet = c.lamports(&w0);
    let unlocked = WORKER_STAKE - lock;
    let meta = c
        .as_worker(
            0,
            &[client::withdraw_stake(&c.program_id, &w0, &w0, unlocked)],
        )
        .unwrap();
    let s = c.stake(0);
    assert_eq!((s.total_stake.get(), s.locked_stake.get()), (lock, lock));
    assert_eq!(c.lamports(&w0), wallet + unlocked - meta.fee);
    c.assert_conserved();
}

#[test]
fn cancel_job_refunds_the_full_escrow_to_the_client() {
    for stage in [Stage::Posted, Stage::Seeded] {
        let (mut c, id) = chain_at(0, stage);
        let client_key = c.client.pubkey();
        let before = c.lamports(&client_key);
        let records = c.job(&id).records_lamports.get();
        let meta = c.cancel(&id).unwrap();
        assert_eq!(
            c.lamports(&client_key),
            before + BRONZE_ESCROW + records - meta.fee,
            "the escrow and the unused records deposit come back"
        );
        let job = c.job(&id);
        assert_eq!(
            (job.status, job.escrow_lamports.get()),
            (job_status::CANCELLED, 0)
        );
        assert!(matches!(
            events(&meta)[..],
            [AnyEvent::JobCancelled(e)] if e.refund_lamports.get() == BRONZE_ESCROW + records
                && e.from_status == stage as u8
        ));
        c.assert_conserved();
    }
}

#[test]
fn cancel_expired_job_refunds_releases_submitters_and_penalizes_non_submitters() {
    let (mut c, id) = chain_at(3, Stage::Assigned);
    c.submit(&id, 0, agreed_output()).unwrap();
    let expiry = c.job(&id).expiry_slot.get();
    c.warp_to(expiry + 1);
    let client_key = c.client.pubkey();
    let (client_before, treasury_before) = (c.lamports(&client_key), c.lamports(&c.treasury));
    // The deposit left after paying back seat 0's JobResult rent.
    let records = c.job(&id).records_lamports.get();
    let meta = c.cancel_expired(&id).unwrap();
    assert_eq!(
        c.lamports(&client_key),
        client_before + BRONZE_ESCROW + records
    );
    assert!(
        events(&meta)
            .iter()
            .any(|e| matches!(e, AnyEvent::SeatReleased(r) if r.worker.0 == c.workers[0].address().to_bytes())),
        "the submitter is released, not paid and not fined"
    );
    assert_eq!(c.lamports(&c.treasury), treasury_before + 2 * PENALTY);
    let released = c.stake(0);
    assert_eq!(
        (released.total_stake.get(), released.locked_stake.get()),
        (WORKER_STAKE, 0)
    );
    for w in [1, 2] {
        let s = c.stake(w);
        assert_eq!(
            (s.total_stake.get(), s.locked_stake.get()),
            (WORKER_STAKE - PENALTY, 0),
            "worker {w}"
        );
    }
    let job = c.job(&id);
    assert_eq!(
        (job.status, job.escrow_lamports.get()),
        (job_status::CANCELLED, 0)
    );
    assert_eq!(
        job.submissions[0].flags,
        submission_flags::SUBMITTED | submission_flags::SETTLED
    );
    assert_eq!(
        job.submissions[1].flags,
        submission_flags::SETTLED | submission_flags::PENALIZED
    );
    c.assert_conserved();
}
