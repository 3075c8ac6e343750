//! Instruction data encodings: Anchor's `sha256("global:<name>")[..8]`
//! discriminator followed by the Borsh bytes of the argument struct, and the
//! accounts each instruction takes, in order.

use crate::layout::{FieldDef, Layout, LayoutError, U64};
use crate::limits::Limits;
use crate::sha256::discriminator;
use crate::state::{ConfigParams, POINTER_LEN};

/// One account an instruction takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountDef {
    pub name: &'static str,
    pub writable: bool,
    pub signer: bool,
}

const fn acc(name: &'static str, writable: bool, signer: bool) -> AccountDef {
    AccountDef {
        name,
        writable,
        signer,
    }
}
const fn ro(name: &'static str) -> AccountDef {
    acc(name, false, false)
}
const fn rw(name: &'static str) -> AccountDef {
    acc(name, true, false)
}
const fn signer(name: &'static str) -> AccountDef {
    acc(name, false, true)
}
const fn payer(name: &'static str) -> AccountDef {
    acc(name, true, true)
}

crate::layout! {
    pub struct InitializeConfig {
        pub params: ConfigParams,
        /// Bump of the `["config"]` PDA (found off chain).
        pub config_bump: u8,
    }
}
crate::layout! {
    pub struct UpdateConfig { pub params: ConfigParams }
}
crate::layout! {
    /// Creates the worker's stake account, depositing `stake_lamports` (may
    /// be 0) from the authority, which signs with the worker key (proof of
    /// possession) and becomes the stake's authority.
    pub struct RegisterWorker {
        pub stake_lamports: U64,
        /// Bump of the `["worker_stake", worker]` PDA.
        pub stake_bump: u8,
    }
}
crate::layout! {
    pub struct DepositStake { pub amount: U64 }
}
crate::layout! {
    pub struct WithdrawStake { pub amount: U64 }
}
crate::layout! {
    /// Hands the stake to `new_authority` (signed by the current one).
    pub struct SetStakeAuthority { pub new_authority: crate::layout::Pubkey }
}
crate::layout! {
    pub struct PostJob {
        pub job_id: [u8; 32],
        pub bundle_hash: [u8; 32],
        pub runtime_id: [u8; 32],
        pub limits: Limits,
        pub escrow_lamports: U64,
        /// The job's lifetime: `expiry_slot = created_slot + ttl_slots`.
        pub ttl_slots: U64,
        /// The nonce `job_id` was derived from: the program checks
        /// `job_id = blake3(client || nonce || bundle_hash)`.
        pub nonce: U64,
        /// Paid on top of the escrow and held by the job: the scheduler
        /// seats higher priority fees first. To the treasury at finalize;
        /// refunded by every cancel.
        pub priority_fee_lamports: U64,
        /// Bump of the `["job", job_id]` PDA (every PDA-creating
        /// instruction carries its bump last).
        pub job_bump: u8,
    }
}
crate::layout! {
    pub struct CancelJob {}
}
crate::layout! {
    pub struct CancelExpiredJob {}
}
crate::layout! {
    pub struct SetJobSeed { pub seed: [u8; 32] }
}
crate::layout! {
    /// The committee is the remaining accounts (WorkerStake PDAs, in draw
    /// order); `snapshot_hash` identifies the eligible set it was drawn from.
    pub struct AssignWorkers { pub snapshot_hash: [u8; 32] }
}
crate::layout! {
    pub struct SubmitResult {
        /// `seal(output_hash, worker)`.
        pub seal: [u8; 32],
        /// Ed25519 over the SealedDigest, also carried by the Ed25519
        /// instruction right before this one.
        pub attestation_sig: [u8; 64],
        /// Bump of the `["job_result", job_id, worker]` PDA.
        pub result_bump: u8,
    }
}
crate::layout! {
    /// The reveal: a seat whose seal matches `output_hash` names it; it
    /// wins with at least `quorum` matching seals.
    pub struct ReachQuorum { pub output_hash: [u8; 32] }
}
crate::layout! {
    pub struct DeclareOutput {
        pub output_hash: [u8; 32],
        pub pointer: [u8; POINTER_LEN],
        /// Bump of the `["output", job_id]` PDA.
        pub output_bump: u8,
    }
}
crate::layout! {
    pub struct FinalizeJob {}
}
crate::layout! {
    pub struct PenalizeNonSubmitters {}
}
crate::layout! {
    /// Replaces every assigned worker that has not submitted (each must be
    /// settled by penalize_non_submitters first). Remaining accounts: the
    /// replacements' WorkerStake accounts, in draw order, one per missing
    /// slot in assigned-table order.
    pub struct ReassignMissing { pub snapshot_hash: [u8; 32] }
}
crate::layout! {
    pub struct CancelNoDa {}
}

/// An instruction's argument struct.
pub trait InstructionArgs: Layout {
    const IX: Ix;

    /// Instruction data: discriminator + Borsh bytes.
    #[cfg(feature = "alloc")]
    fn to_data(&self) -> alloc::vec::Vec<u8> {
        let mut out = alloc::vec::Vec::with_capacity(8 + Self::LEN);
        out.extend_from_slice(&Self::IX.discriminator());
        out.extend_from_slice(self.as_bytes());
        out
    }
}

/// Why instruction data could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InstructionError {
    #[error("instruction data shorter than the 8-byte discriminator")]
    MissingDiscriminator,
    #[error("unknown instruction discriminator {0:02x?}: is this an edgerun instruction?")]
    UnknownDiscriminator([u8; 8]),
    #[error("bad arguments: {0}")]
    Args(#[from] LayoutError),
}

macro_rules! instructions {
    ($( $variant:ident = $name:literal ($args:ident) [ $($acc:expr),* $(,)? ] remaining: $rem:expr; )*) => {
        /// Every instruction of the program.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Ix { $($variant),* }

        impl Ix {
            pub const ALL: [Ix; [$(Ix::$variant),*].len()] = [$(Ix::$variant),*];

            /// The snake_case name Anchor hashes.
            pub const fn name(self) -> &'static str {
                match self { $(Ix::$variant => $name),* }
            }

            /// `sha256("global:<name>")[..8]`, computed at compile time.
            pub const fn discriminator(self) -> [u8; 8] {
                match self { $(Ix::$variant => const { discriminator("global:", $name) }),* }
            }

            /// The accounts, in order.
            pub const fn accounts(self) -> &'static [AccountDef] {
                match self { $(Ix::$variant => const { &[$($acc),*] }),* }
            }

            /// What the remaining accounts (after [`Ix::accounts`]) are, if any.
            pub const fn remaining_accounts(self) -> Option<&'static str> {
                match self { $(Ix::$variant => $rem),* }
            }

            /// The argument fields.
            pub const fn args(self) -> &'static [FieldDef] {
                match self { $(Ix::$variant => <$args as Layout>::FIELDS),* }
            }

            /// The argument struct's name.
            pub const fn args_type(self) -> &'static str {
                match self { $(Ix::$variant => <$args as Layout>::NAME),* }
            }

            /// Length of the instruction data.
            pub const fn data_len(self) -> usize {
                8 + match self { $(Ix::$variant => <$args as Layout>::LEN),* }
            }
        }

        $(impl InstructionArgs for $args { const IX: Ix = Ix::$variant; })*
    };
}

const WORKER_STAKES: Option<&str> =
    Some("the assigned workers' WorkerStake accounts (writable), in assigned-table order");

instructions! {
    InitializeConfig = "initialize_config" (InitializeConfig)
        [payer("upgrade_authority"), rw("config"), ro("system_program"), ro("program"), ro("program_data")]
        remaining: None;
    UpdateConfig = "update_config" (UpdateConfig)
        [signer("admin"), rw("config")] remaining: None;
    RegisterWorker = "register_worker" (RegisterWorker)
        [signer("worker"), payer("authority"), rw("worker_stake"), ro("system_program")] remaining: None;
    DepositStake = "deposit_stake" (DepositStake)
        [payer("funder"), rw("worker_stake"), ro("system_program")] remaining: None;
    WithdrawStake = "withdraw_stake" (WithdrawStake)
        [payer("authority"), rw("worker_stake")] remaining: None;
    SetStakeAuthority = "set_stake_authority" (SetStakeAuthority)
        [signer("authority"), rw("worker_stake")] remaining: None;
    PostJob = "post_job" (PostJob)
        [payer("client"), ro("config"), rw("job"), ro("system_program")] remaining: None;
    CancelJob = "cancel_job" (CancelJob)
        [payer("client"), rw("job")] remaining: None;
    CancelExpiredJob = "cancel_expired_job" (CancelExpiredJob)
        [signer("caller"), ro("config"), rw("job"), rw("client"), rw("treasury")] remaining: WORKER_STAKES;
    SetJobSeed = "set_job_seed" (SetJobSeed)
        [signer("randomness_authority"), ro("config"), rw("job")] remaining: None;
    AssignWorkers = "assign_workers" (AssignWorkers)
        [signer("scheduler_authority"), ro("config"), rw("job")]
        remaining: Some("the committee's WorkerStake accounts (writable), in draw order");
    SubmitResult = "submit_result" (SubmitResult)
        [payer("worker"), rw("job"), rw("job_result"), ro("instructions_sysvar"), ro("system_program")] remaining: None;
    ReachQuorum = "reach_quorum" (ReachQuorum)
        [signer("caller"), rw("job")] remaining: None;
    DeclareOutput = "declare_output" (DeclareOutput)
        [payer("publisher"), rw("job"), rw("output"), ro("system_program")] remaining: None;
    FinalizeJob = "finalize_job" (FinalizeJob)
        [signer("caller"), ro("config"), rw("job"), ro("output"), rw("treasury"), rw("client")]
        remaining: WORKER_STAKES;
    PenalizeNonSubmitters = "penalize_non_submitters" (PenalizeNonSubmitters)
        [signer("caller"), ro("config"), rw("job"), rw("treasury")] remaining: WORKER_STAKES;
    ReassignMissing = "reassign_missing" (ReassignMissing)
        [signer("scheduler_authority"), ro("config"), rw("job")]
        remaining: Some("the replacements' WorkerStake accounts (writable), in draw order, one per missing slot");
    CancelNoDa = "cancel_no_da" (CancelNoDa)
        [signer("caller"), ro("config"), rw("job"), rw("treasury")] remaining: WORKER_STAKES;
}

impl Ix {
    /// The instruction a data buffer names.
    pub fn from_data(data: &[u8]) -> Result<Ix, InstructionError> {
        let disc: [u8; 8] = data
            .get(..8)
            .and_then(|d| d.try_into().ok())
            .ok_or(InstructionError::MissingDiscriminator)?;
        Ix::ALL
            .into_iter()
            .find(|ix| ix.discriminator() == disc)
            .ok_or(InstructionError::UnknownDiscriminator(disc))
    }
}

/// Reads an instruction's arguments from its data (discriminator checked).
pub fn decode_args<T: InstructionArgs>(data: &[u8]) -> Result<T, InstructionError> {
    let ix = Ix::from_data(data)?;
    if ix != T::IX {
        return Err(InstructionError::UnknownDiscriminator(ix.discriminator()));
    }
    Ok(T::read(&data[8..])?)
}

/// The SubmitResult data offsets the Ed25519 instruction may point at.
pub mod submit_result_offsets {
    /// `seal` within the instruction data.
    pub const SEAL: usize = 8;
    /// `attestation_sig` within the instruction data.
    pub const ATTESTATION_SIG: usize = 8 + 32;
}

/// The instruction data of Solana's Ed25519 signature-verification
/// precompile, which carries submit_result's attestation: a signature count,
/// a padding byte, one [`ed25519::SignatureOffsets`] record per signature,
/// then the bytes the records point at.
pub mod ed25519 {
    use crate::layout::{Layout, U16};

    /// In an offsets record, the instruction index meaning "this (Ed25519)
    /// instruction".
    pub const THIS_INSTRUCTION: u16 = u16::MAX;
    /// Bytes before the first offsets record: count, padding.
    pub const HEADER_LEN: usize = 2;

    crate::layout! {
        /// Where one signature's parts are: each an offset into the
        /// instruction at the given index of the transaction.
        pub struct SignatureOffsets {
            pub signature_offset: U16,
            pub signature_instruction_index: U16,
            pub public_key_offset: U16,
            pub public_key_instruction_index: U16,
            pub message_data_offset: U16,
            pub message_data_size: U16,
            pub message_instruction_index: U16,
        }
    }

    impl SignatureOffsets {
        /// The record, fields in wire order.
        pub const fn new(
            signature: (u16, u16),
            public_key: (u16, u16),
            message: (u16, u16, u16),
        ) -> Self {
            SignatureOffsets {
                signature_offset: U16::new(signature.0),
                signature_instruction_index: U16::new(signature.1),
                public_key_offset: U16::new(public_key.0),
                public_key_instruction_index: U16::new(public_key.1),
                message_data_offset: U16::new(message.0),
                message_data_size: U16::new(message.1),
                message_instruction_index: U16::new(message.2),
            }
        }
    }

    /// The signature count and the first offsets record of Ed25519
    /// instruction data, if it is long enough to hold one.
    pub fn first_record(data: &[u8]) -> Option<(u8, &SignatureOffsets)> {
        let record = data.get(HEADER_LEN..HEADER_LEN + SignatureOffsets::LEN)?;
        Some((data[0], SignatureOffsets::view(record).ok()?))
    }

    /// Ed25519 instruction data for `records`, followed by `payload` (which
    /// starts at offset `HEADER_LEN + records.len() * SignatureOffsets::LEN`).
    #[cfg(feature = "alloc")]
    pub fn instruction_data(records: &[SignatureOffsets], payload: &[u8]) -> alloc::vec::Vec<u8> {
        let mut data = alloc::vec::Vec::with_capacity(
            HEADER_LEN + records.len() * SignatureOffsets::LEN + payload.len(),
        );
        data.extend_from_slice(&[records.len() as u8, 0]);
        for r in records {
            data.extend_from_slice(r.as_bytes());
        }
        data.extend_from_slice(payload);
        data
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use bytemuck::Zeroable;

    #[test]
    fn discriminators_are_sha256_of_global_names_and_distinct() {
        use sha2::{Digest, Sha256};
        for ix in Ix::ALL {
            let h = Sha256::digest(std::format!("global:{}", ix.name()).as_bytes());
            assert_eq!(ix.discriminator(), h[..8], "{}", ix.name());
            assert_eq!(
                Ix::ALL
                    .iter()
                    .filter(|o| o.discriminator() == ix.discriminator())
                    .count(),
                1
            );
        }
        assert_eq!(Ix::ALL.len(), 18);
    }

    #[test]
    fn data_is_discriminator_then_borsh_args() {
        let args = SubmitResult {
            seal: [1; 32],
            attestation_sig: [2; 64],
            result_bump: 255,
        };
        let data = args.to_data();
        assert_eq!(data.len(), Ix::SubmitResult.data_len());
        assert_eq!(&data[..8], &Ix::SubmitResult.discriminator());
        assert_eq!(&data[submit_result_offsets::SEAL..][..32], &[1; 32]);
        assert_eq!(
            &data[submit_result_offsets::ATTESTATION_SIG..][..64],
            &[2; 64]
        );
        assert_eq!(decode_args::<SubmitResult>(&data), Ok(args));
    }

    #[test]
    fn post_job_round_trips() {
        let mut args = PostJob::zeroed();
        args.job_id = [9; 32];
        args.limits = Limits::new(65_536, 1_000_000, 4_096);
        args.escrow_lamports.set(100_000_000);
        args.priority_fee_lamports.set(5_000);
        args.job_bump = 254;
        let data = args.to_data();
        assert_eq!(data.len(), Ix::PostJob.data_len());
        // The bump stays last; the priority fee is the u64 before it.
        assert_eq!(data[data.len() - 1], 254);
        assert_eq!(data[data.len() - 9..data.len() - 1], 5_000u64.to_le_bytes());
        assert_eq!(Ix::from_data(&data), Ok(Ix::PostJob));
        assert_eq!(decode_args::<PostJob>(&data), Ok(args));
    }

    #[test]
    fn bad_data_gives_distinct_errors() {
        assert_eq!(
            Ix::from_data(&[1, 2, 3]),
            Err(InstructionError::MissingDiscriminator)
        );
        assert_eq!(
            Ix::from_data(&[0; 8]),
            Err(InstructionError::UnknownDiscriminator([0; 8]))
        );
        let mut data = CancelJob {}.to_data();
        assert_eq!(decode_args::<CancelJob>(&data), Ok(CancelJob {}));
        data.push(0);
        assert!(matches!(
            decode_args::<CancelJob>(&data),
            Err(InstructionError::Args(_))
        ));
        // The right length but another instruction's discriminator.
        let data = FinalizeJob {}.to_data();
        assert!(decode_args::<CancelJob>(&data).is_err());
    }

    #[test]
    fn ed25519_records_are_seven_little_endian_u16s() {
        use ed25519::*;
        let r = SignatureOffsets::new((1, 2), (3, 4), (5, 6, 7));
        let data = instruction_data(&[r], b"xy");
        assert_eq!(data[..2], [1, 0]);
        let words: std::vec::Vec<u16> = data[2..16]
            .chunks(2)
            .map(|w| u16::from_le_bytes([w[0], w[1]]))
            .collect();
        assert_eq!(words, [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(&data[16..], b"xy");
        assert_eq!(first_record(&data), Some((1, &r)));
        assert_eq!(first_record(&data[..15]), None);
    }

    #[test]
    fn every_instruction_lists_a_signer_first() {
        for ix in Ix::ALL {
            assert!(ix.accounts()[0].signer, "{}", ix.name());
        }
    }
}
