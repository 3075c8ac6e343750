//! Account layouts (program-derived addresses) and their seeds.
//!
//! Each account's data is Anchor's 8-byte `sha256("account:<Name>")[..8]`
//! discriminator followed by the layout's bytes (see [`crate::layout`]).

use crate::layout::{Bool, Pubkey, U16, U32, U64};
use crate::limits::Limits;
use crate::tier::MAX_COMMITTEE_SIZE;

/// PDA seed prefixes.
pub mod seeds {
    /// `["config"]`
    pub const CONFIG: &[u8] = b"config";
    /// `["worker_stake", worker]`
    pub const WORKER_STAKE: &[u8] = b"worker_stake";
    /// `["job", job_id]`
    pub const JOB: &[u8] = b"job";
    /// `["job_result", job_id, worker]`
    pub const JOB_RESULT: &[u8] = b"job_result";
    /// `["output", job_id]`
    pub const OUTPUT: &[u8] = b"output";
}

/// How many runtime ids the config can allow at once.
pub const MAX_ALLOWED_RUNTIMES: usize = 8;
/// Length of the output pointer (a UTF-8 URL, zero-padded).
pub const POINTER_LEN: usize = 128;
/// How many workers can leave a job's seats (penalized, released or
/// unseated, then replaced); each is remembered so it is never seated in
/// that job again. Past this the job takes no more replacements and ends at
/// expiry.
pub const MAX_FORMER_WORKERS: usize = 16;

/// Bounds on what update_config may set, so an admin gone bad cannot take
/// in-flight escrow or stakes, nor freeze jobs.
pub mod bounds {
    /// The protocol fee: at most 20% of an escrow.
    pub const MAX_PROTOCOL_FEE_BPS: u16 = 2_000;
    /// Every window (submit, DA, challenge): at most about a day of 400 ms slots.
    pub const MAX_WINDOW_SLOTS: u64 = 216_000;
    /// A job's lifetime: at most about a week.
    pub const MAX_JOB_TTL_SLOTS: u64 = 1_512_000;
    /// The minimum protocol fee per job: at most 0.1 SOL, and at most
    /// [`MAX_PROTOCOL_FEE_BPS`] of `min_escrow_lamports`
    /// ([`crate::economics::min_job_fee_cap`]), so the fee never takes more
    /// than 20% of any escrow post_job accepts: winners keep at least 80%.
    pub const MAX_MIN_JOB_FEE_LAMPORTS: u64 = 100_000_000;
}

crate::layout! {
    /// Everything the admin sets: the argument of initialize_config and
    /// update_config, and the body of [`GlobalConfig`].
    pub struct ConfigParams {
        pub admin: Pubkey,
        /// Signs assign_workers and reassign_missing.
        pub scheduler_authority: Pubkey,
        /// Signs set_job_seed.
        pub randomness_authority: Pubkey,
        /// Receives fees, remainders, slashes and penalties.
        pub treasury: Pubkey,
        pub protocol_fee_bps: U16,
        pub min_worker_stake_lamports: U64,
        /// Slots after quorum before finalize may run.
        pub challenge_window_slots: U64,
        /// Slots after quorum for a winner to declare the output (default 900).
        pub da_window_slots: U64,
        /// Taken from a non-submitter after its lock is released (default 50_000).
        pub non_response_slash_lamports: U64,
        pub committee_tiering_enabled: Bool,
        /// Default 9.
        pub max_committee_size: u8,
        /// Used when tiering is off (default 3/2).
        pub default_committee_size: u8,
        pub default_quorum: u8,
        /// Caps on job limits at post_job.
        pub max_memory_bytes: U32,
        pub max_instructions: U64,
        pub max_output_bytes: U32,
        /// Slots an assigned committee has to submit (the round deadline).
        pub submit_window_slots: U64,
        /// Upper bound of a job's lifetime, chosen by the client at post_job.
        pub max_job_ttl_slots: U64,
        /// post_job refuses a smaller escrow; at least the rent-exempt
        /// minimum of an empty account, so a refund can always be paid.
        pub min_escrow_lamports: U64,
        /// The protocol fee is `max(escrow * fee_bps / 10_000,
        /// min_job_fee_lamports)`, never more than the escrow
        /// (`economics::protocol_fee`); bounded by `bounds::MAX_MIN_JOB_FEE_LAMPORTS`
        /// and 20% of `min_escrow_lamports`.
        pub min_job_fee_lamports: U64,
        pub allowed_runtime_ids: [[u8; 32]; MAX_ALLOWED_RUNTIMES],
        pub allowed_runtime_count: u8,
        /// When set, post_job and assign_workers refuse; settlement goes on.
        pub paused: Bool,
    }
}

crate::layout! {
    /// `["config"]`: the protocol's parameters.
    pub struct GlobalConfig {
        pub params: ConfigParams,
        pub bump: u8,
    }
}

/// WorkerStake status codes.
pub mod worker_status {
    pub const ACTIVE: u8 = 0;
}

crate::layout! {
    /// `["worker_stake", worker]`: holds the worker's staked lamports
    /// (account lamports = rent floor + `total_stake`). `worker` is the hot
    /// signing key (submissions, heartbeats, attestations); `authority` is
    /// the wallet that funds, withdraws and may hand the stake over.
    pub struct WorkerStake {
        pub worker: Pubkey,
        pub authority: Pubkey,
        pub total_stake: U64,
        /// Part of `total_stake` backing current assignments.
        pub locked_stake: U64,
        pub status: u8,
        pub registered_slot: U64,
        pub bump: u8,
    }
}

/// Job status codes.
pub mod job_status {
    pub const POSTED: u8 = 0;
    pub const SEEDED: u8 = 1;
    pub const ASSIGNED: u8 = 2;
    pub const QUORUM_REACHED: u8 = 3;
    pub const AWAITING_DA: u8 = 4;
    pub const FINALIZED: u8 = 5;
    pub const CANCELLED: u8 = 6;
    pub const SLASHED: u8 = 7;

    /// Whether a job in `status` is in a round that takes submissions (and
    /// so has seats whose silence can be penalized).
    pub const fn takes_submissions(status: u8) -> bool {
        matches!(status, ASSIGNED | QUORUM_REACHED | AWAITING_DA)
    }

    /// The status's name as the protocol spells it.
    pub const fn name(status: u8) -> &'static str {
        match status {
            POSTED => "Posted",
            SEEDED => "Seeded",
            ASSIGNED => "Assigned",
            QUORUM_REACHED => "QuorumReached",
            AWAITING_DA => "AwaitingDA",
            FINALIZED => "Finalized",
            CANCELLED => "Cancelled",
            SLASHED => "Slashed",
            _ => "Unknown",
        }
    }
}

/// Flags of a [`Submission`] slot.
pub mod submission_flags {
    /// The slot's worker submitted its `seal` this round.
    pub const SUBMITTED: u8 = 1;
    /// The slot's lock was released and its payout, slash, penalty or
    /// release applied; a settled slot without SUBMITTED is vacant (a
    /// replacement may take it).
    pub const SETTLED: u8 = 2;
    /// The slot's worker paid the non-response penalty.
    pub const PENALIZED: u8 = 4;
    /// The slot's seal matched the revealed output hash.
    pub const WINNER: u8 = 8;
}

crate::layout! {
    /// One row of a Job's submission table, parallel to `assigned_workers`.
    pub struct Submission {
        /// `seal(output_hash, worker)`: the output stays hidden until the
        /// reveal (reach_quorum).
        pub seal: [u8; 32],
        pub flags: u8,
    }
}

impl Submission {
    pub const fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

crate::layout! {
    /// `["job", job_id]`: a posted job; holds the escrow and the records
    /// deposit and the priority fee (account lamports = rent floor +
    /// `escrow_lamports` + `records_lamports` + `priority_fee_lamports`).
    pub struct Job {
        pub job_id: [u8; 32],
        pub client: Pubkey,
        pub escrow_lamports: U64,
        pub bundle_hash: [u8; 32],
        pub runtime_id: [u8; 32],
        pub limits: Limits,
        /// From the tier at post time.
        pub committee_size: u8,
        pub quorum: u8,
        pub created_slot: U64,
        /// The current round's submission deadline (0 until assigned).
        pub deadline_slot: U64,
        /// After this slot a job without quorum can be cancelled and refunded.
        pub expiry_slot: U64,
        pub seed: [u8; 32],
        pub seed_set: Bool,
        pub assigned_workers: [Pubkey; MAX_COMMITTEE_SIZE as usize],
        pub assigned_count: u8,
        pub required_lock_lamports: U64,
        pub winning_output_hash: [u8; 32],
        pub quorum_reached_slot: U64,
        pub da_deadline_slot: U64,
        pub status: u8,
        /// Selection draws used so far (committee plus replacements): where
        /// the next replacement draw starts.
        pub draws: u8,
        pub submissions: [Submission; MAX_COMMITTEE_SIZE as usize],
        /// The terms the job was posted under (copied from the config at
        /// post_job; settlement reads these, never the config).
        pub protocol_fee_bps: U16,
        pub non_response_penalty_lamports: U64,
        pub submit_window_slots: U64,
        pub da_window_slots: U64,
        pub challenge_window_slots: U64,
        pub min_job_fee_lamports: U64,
        /// Held for the rent of the records this job's seats create (each
        /// submitter's JobResult, the publisher's OutputAvailability), which
        /// is paid back to them as they create them; what is left goes back
        /// to the client at settlement.
        pub records_lamports: U64,
        /// Paid by the client at post_job on top of the escrow and held
        /// here: the scheduler seats higher priority fees first. It goes to
        /// the treasury at finalize and back to the client on every cancel.
        pub priority_fee_lamports: U64,
        /// The first 8 bytes of each worker that left a seat: never seated
        /// in this job again.
        pub former_workers: [[u8; 8]; MAX_FORMER_WORKERS],
        pub former_count: u8,
        /// `hash::sealed_digest_midstate(job_id, bundle_hash)`: the
        /// SealedDigest's first block, hashed once at post_job.
        pub digest_midstate: [u8; 32],
        pub bump: u8,
    }
}

crate::layout! {
    /// `["job_result", job_id, worker]`: a worker's signed evidence.
    pub struct JobResult {
        pub job_id: [u8; 32],
        pub worker: Pubkey,
        /// `seal(output_hash, worker)`.
        pub seal: [u8; 32],
        /// Ed25519 signature over the SealedDigest.
        pub attestation_sig: [u8; 64],
        pub submitted_slot: U64,
        pub bump: u8,
    }
}

crate::layout! {
    /// `["output", job_id]`: where the agreed output is published.
    pub struct OutputAvailability {
        pub job_id: [u8; 32],
        pub output_hash: [u8; 32],
        pub publisher: Pubkey,
        /// UTF-8 URL of the output, zero-padded.
        pub pointer: [u8; POINTER_LEN],
        pub published_slot: U64,
        pub bump: u8,
    }
}

crate::accounts!(
    GlobalConfig,
    WorkerStake,
    Job,
    JobResult,
    OutputAvailability
);

/// Why a pointer cannot be stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PointerError {
    #[error("output pointer is {len} bytes; the maximum is 128: use a shorter URL")]
    TooLong { len: usize },
    #[error("output pointer is empty or contains a NUL byte")]
    Invalid,
}

/// Zero-pads a URL into the 128-byte pointer field.
pub fn encode_pointer(url: &str) -> Result<[u8; POINTER_LEN], PointerError> {
    let bytes = url.as_bytes();
    if bytes.len() > POINTER_LEN {
        return Err(PointerError::TooLong { len: bytes.len() });
    }
    if bytes.is_empty() || bytes.contains(&0) {
        return Err(PointerError::Invalid);
    }
    let mut out = [0u8; POINTER_LEN];
    out[..bytes.len()].copy_from_slice(bytes);
    Ok(out)
}

/// The URL in a pointer field (up to the first zero byte), if valid UTF-8.
pub fn decode_pointer(pointer: &[u8; POINTER_LEN]) -> Option<&str> {
    let end = pointer.iter().position(|&b| b == 0).unwrap_or(POINTER_LEN);
    core::str::from_utf8(&pointer[..end])
        .ok()
        .filter(|s| !s.is_empty())
}

/// Why config parameters are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("protocol_fee_bps {0} is above the protocol's maximum of 2000 (20%)")]
    FeeAboveMaximum(u16),
    #[error(
        "non_response_slash_lamports is above min_worker_stake_lamports: a penalty may not exceed the stake it is taken from"
    )]
    PenaltyAboveMinStake,
    #[error("{0} is above the protocol's maximum of {1} slots")]
    WindowTooLong(&'static str, u64),
    #[error(
        "max_job_ttl_slots is shorter than one round (submit + DA + challenge windows): no job could be posted"
    )]
    TtlShorterThanOneRound,
    #[error("max_committee_size {0} is outside 3..=9")]
    MaxCommitteeOutOfRange(u8),
    #[error("default committee: {0}")]
    DefaultCommittee(#[from] crate::tier::CommitteeError),
    #[error("allowed_runtime_count {0} is above 8")]
    TooManyRuntimes(u8),
    #[error("{0} must be at least 1 slot")]
    ZeroWindow(&'static str),
    #[error("{0} must be non-zero")]
    ZeroCap(&'static str),
    #[error(
        "min_job_fee_lamports {min_job_fee} is above {cap}: at most 0.1 SOL and 20% of min_escrow_lamports, so the fee never takes more than 20% of an escrow"
    )]
    MinJobFeeAboveMaximum { min_job_fee: u64, cap: u64 },
}

impl ConfigParams {
    /// Parameters for the four authorities and the allowed runtimes (at most
    /// [`MAX_ALLOWED_RUNTIMES`]; more are cut off, and `validate` refuses
    /// none), with the defaults a new deployment starts from: 2.5% protocol
    /// fee, 3/2 committees up to 9, tiering on, 1 SOL minimum stake, 0.01 SOL
    /// non-response penalty, 150-slot submit and DA windows, no challenge
    /// window, a 216,000-slot job lifetime, a 0.001 SOL minimum escrow, a
    /// 10,000-lamport minimum fee per job (the operator's two transactions
    /// per job, seed + assign and finalize, at 5,000 lamports a signature),
    /// and caps of 256 MiB memory, 5·10^10 fuel and 64 MiB output. Adjust
    /// with struct-update syntax.
    pub fn with_defaults(
        admin: [u8; 32],
        scheduler: [u8; 32],
        randomness: [u8; 32],
        treasury: [u8; 32],
        runtimes: &[[u8; 32]],
    ) -> ConfigParams {
        let count = runtimes.len().min(MAX_ALLOWED_RUNTIMES);
        let mut allowed = [[0u8; 32]; MAX_ALLOWED_RUNTIMES];
        allowed[..count].copy_from_slice(&runtimes[..count]);
        ConfigParams {
            admin: Pubkey(admin),
            scheduler_authority: Pubkey(scheduler),
            randomness_authority: Pubkey(randomness),
            treasury: Pubkey(treasury),
            protocol_fee_bps: U16::new(250),
            min_worker_stake_lamports: U64::new(1_000_000_000),
            challenge_window_slots: U64::new(0),
            da_window_slots: U64::new(150),
            non_response_slash_lamports: U64::new(10_000_000),
            committee_tiering_enabled: Bool::TRUE,
            max_committee_size: 9,
            default_committee_size: 3,
            default_quorum: 2,
            max_memory_bytes: U32::new(256 << 20),
            max_instructions: U64::new(50_000_000_000),
            max_output_bytes: U32::new(64 << 20),
            submit_window_slots: U64::new(150),
            max_job_ttl_slots: U64::new(216_000),
            min_escrow_lamports: U64::new(1_000_000),
            min_job_fee_lamports: U64::new(10_000),
            allowed_runtime_ids: allowed,
            allowed_runtime_count: count as u8,
            paused: Bool::FALSE,
        }
    }

    /// Checks every rule the program enforces on initialize_config and
    /// update_config (the program also checks `min_escrow_lamports` against
    /// the rent-exempt minimum, which only the chain knows).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fee = self.protocol_fee_bps.get();
        if fee > bounds::MAX_PROTOCOL_FEE_BPS {
            return Err(ConfigError::FeeAboveMaximum(fee));
        }
        if self.non_response_slash_lamports.get() > self.min_worker_stake_lamports.get() {
            return Err(ConfigError::PenaltyAboveMinStake);
        }
        let max = self.max_committee_size;
        if !(crate::tier::MIN_COMMITTEE_SIZE..=MAX_COMMITTEE_SIZE).contains(&max) {
            return Err(ConfigError::MaxCommitteeOutOfRange(max));
        }
        crate::tier::committee_for(
            0,
            false,
            crate::tier::Committee {
                size: self.default_committee_size,
                quorum: self.default_quorum,
            },
            max,
        )?;
        if self.allowed_runtime_count as usize > MAX_ALLOWED_RUNTIMES {
            return Err(ConfigError::TooManyRuntimes(self.allowed_runtime_count));
        }
        for (name, v) in [
            ("da_window_slots", self.da_window_slots.get()),
            ("submit_window_slots", self.submit_window_slots.get()),
            ("max_job_ttl_slots", self.max_job_ttl_slots.get()),
        ] {
            if v == 0 {
                return Err(ConfigError::ZeroWindow(name));
            }
        }
        for (name, v, max) in [
            (
                "da_window_slots",
                self.da_window_slots.get(),
                bounds::MAX_WINDOW_SLOTS,
            ),
            (
                "submit_window_slots",
                self.submit_window_slots.get(),
                bounds::MAX_WINDOW_SLOTS,
            ),
            (
                "challenge_window_slots",
                self.challenge_window_slots.get(),
                bounds::MAX_WINDOW_SLOTS,
            ),
            (
                "max_job_ttl_slots",
                self.max_job_ttl_slots.get(),
                bounds::MAX_JOB_TTL_SLOTS,
            ),
        ] {
            if v > max {
                return Err(ConfigError::WindowTooLong(name, max));
            }
        }
        if self.max_job_ttl_slots.get() < self.min_ttl_slots() {
            return Err(ConfigError::TtlShorterThanOneRound);
        }
        let cap = crate::economics::min_job_fee_cap(self.min_escrow_lamports.get());
        if self.min_job_fee_lamports.get() > cap {
            return Err(ConfigError::MinJobFeeAboveMaximum {
                min_job_fee: self.min_job_fee_lamports.get(),
                cap,
            });
        }
        for (name, v) in [
            ("max_memory_bytes", u64::from(self.max_memory_bytes.get())),
            ("max_instructions", self.max_instructions.get()),
            ("max_output_bytes", u64::from(self.max_output_bytes.get())),
            ("min_escrow_lamports", self.min_escrow_lamports.get()),
        ] {
            if v == 0 {
                return Err(ConfigError::ZeroCap(name));
            }
        }
        Ok(())
    }

    /// The shortest lifetime a job may be posted with: one submission
    /// round, the DA window and the challenge window, so a committee always
    /// has a full round before the job can expire. Windows are bounded by
    /// `validate`, so the sum cannot overflow.
    pub const fn min_ttl_slots(&self) -> u64 {
        self.submit_window_slots
            .get()
            .saturating_add(self.da_window_slots.get())
            .saturating_add(self.challenge_window_slots.get())
    }

    /// Whether `runtime_id` is in the allowed list.
    pub fn allows_runtime(&self, runtime_id: &[u8; 32]) -> bool {
        let n = (self.allowed_runtime_count as usize).min(MAX_ALLOWED_RUNTIMES);
        self.allowed_runtime_ids[..n].contains(runtime_id)
    }
}

impl Job {
    /// The assigned workers.
    pub fn assigned(&self) -> &[Pubkey] {
        &self.assigned_workers[..(self.assigned_count as usize).min(MAX_COMMITTEE_SIZE as usize)]
    }

    /// Index of `worker` in the assigned table.
    pub fn slot_of(&self, worker: &Pubkey) -> Option<usize> {
        self.assigned().iter().position(|w| w == worker)
    }

    /// The seats (in table order) that submitted this round and whose seal
    /// is `output_hash` sealed by the seat's worker: the seats that agree
    /// with `output_hash`. Only someone who knows `output_hash` can ask.
    pub fn matching<'a>(&'a self, output_hash: &'a [u8; 32]) -> impl Iterator<Item = usize> + 'a {
        self.assigned()
            .iter()
            .enumerate()
            .filter_map(move |(i, w)| {
                let s = &self.submissions[i];
                (s.has(submission_flags::SUBMITTED)
                    && s.seal == crate::hash::seal(output_hash, &w.0))
                .then_some(i)
            })
    }

    /// How many of this round's submissions agree with `output_hash`.
    pub fn matches(&self, output_hash: &[u8; 32]) -> usize {
        self.matching(output_hash).count()
    }

    /// The seats marked winners at the reveal, in table order.
    pub fn winners(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.assigned().len()).filter(|&i| self.submissions[i].has(submission_flags::WINNER))
    }

    /// Whether `worker` holds or held a seat of this job (current seats and
    /// the remembered former ones, by their first 8 bytes).
    pub fn has_seated(&self, worker: &Pubkey) -> bool {
        self.slot_of(worker).is_some() || self.former().contains(&former_key(worker))
    }

    /// The remembered former seat holders' first 8 bytes.
    pub fn former(&self) -> &[[u8; 8]] {
        &self.former_workers[..(self.former_count as usize).min(MAX_FORMER_WORKERS)]
    }
}

/// How a job remembers a former seat holder: the key's first 8 bytes. A
/// collision can only keep some other worker out of that one job (grinding
/// a key to match costs 2^64 work and gains nothing), never let a former
/// holder back in.
pub fn former_key(worker: &Pubkey) -> [u8; 8] {
    let mut k = [0u8; 8];
    k.copy_from_slice(&worker.0[..8]);
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{self, Account, Layout};
    use bytemuck::Zeroable;

    #[test]
    fn the_default_parameters_pass_the_programs_rules() {
        let p =
            ConfigParams::with_defaults([1; 32], [2; 32], [3; 32], [4; 32], &[[7; 32], [8; 32]]);
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(p.allowed_runtime_count, 2);
        assert!(p.allows_runtime(&[8; 32]) && !p.allows_runtime(&[0; 32]));
        assert_eq!(p.treasury.0, [4; 32]);
        let many = [[9u8; 32]; MAX_ALLOWED_RUNTIMES + 3];
        let p = ConfigParams::with_defaults([1; 32], [2; 32], [3; 32], [4; 32], &many);
        assert_eq!(p.allowed_runtime_count as usize, MAX_ALLOWED_RUNTIMES);
    }

    #[test]
    fn discriminators_are_sha256_of_account_names() {
        use sha2::{Digest, Sha256};
        for (name, disc) in [
            ("GlobalConfig", GlobalConfig::DISCRIMINATOR),
            ("WorkerStake", WorkerStake::DISCRIMINATOR),
            ("Job", Job::DISCRIMINATOR),
            ("JobResult", JobResult::DISCRIMINATOR),
            ("OutputAvailability", OutputAvailability::DISCRIMINATOR),
        ] {
            let h = Sha256::digest(std::format!("account:{name}").as_bytes());
            assert_eq!(disc, h[..8], "{name}");
        }
    }

    #[test]
    fn layouts_have_the_documented_sizes() {
        // Sizes are part of the protocol: a change here is a migration.
        assert_eq!(Limits::LEN, 16);
        assert_eq!(Submission::LEN, 33);
        assert_eq!(WorkerStake::LEN, 32 + 32 + 8 + 8 + 1 + 8 + 1);
        assert_eq!(JobResult::LEN, 32 + 32 + 32 + 64 + 8 + 1);
        assert_eq!(
            ConfigParams::LEN,
            4 * 32 + 2 + 8 * 4 + 1 + 3 + 4 + 8 + 4 + 8 * 4 + 8 * 32 + 1 + 1
        );
        assert_eq!(OutputAvailability::LEN, 32 + 32 + 32 + 128 + 8 + 1);
        assert_eq!(
            Job::LEN,
            32 + 32
                + 8
                + 32
                + 32
                + 16
                + 1
                + 1
                + 8
                + 8
                + 8
                + 32
                + 1
                + 9 * 32
                + 1
                + 8
                + 32
                + 8
                + 8
                + 1
                + 1
                + 9 * 33
                + 2
                + 8 * 7
                + 16 * 8
                + 1
                + 32
                + 1
        );
        assert_eq!(Job::SPACE, 8 + Job::LEN);
    }

    #[test]
    fn fields_are_at_borsh_offsets() {
        let mut job = Job::zeroed();
        job.escrow_lamports.set(0x1122_3344_5566_7788);
        job.status = job_status::ASSIGNED;
        job.limits = Limits::new(1, 2, 3);
        let bytes = job.as_bytes();
        // Borsh order: job_id [32], client [32], escrow u64 LE.
        assert_eq!(&bytes[64..72], &0x1122_3344_5566_7788u64.to_le_bytes());
        assert_eq!(&bytes[136..140], &1u32.to_le_bytes());
        let offset: usize = Job::FIELDS
            .iter()
            .take_while(|f| f.name != "status")
            .map(|f| idl_size(&f.ty))
            .sum();
        assert_eq!(bytes[offset], job_status::ASSIGNED);
    }

    fn idl_size(ty: &layout::IdlTy) -> usize {
        use layout::IdlTy::*;
        match ty {
            U8 | Bool => 1,
            U16 => 2,
            U32 => 4,
            U64 => 8,
            Pubkey => 32,
            Array(t, n) => idl_size(t) * n,
            Defined("Limits") => Limits::LEN,
            Defined("Submission") => Submission::LEN,
            Defined("ConfigParams") => ConfigParams::LEN,
            Defined(other) => panic!("unknown type {other}"),
        }
    }

    #[test]
    fn field_lists_add_up_to_the_struct_size() {
        for (fields, len) in [
            (ConfigParams::FIELDS, ConfigParams::LEN),
            (GlobalConfig::FIELDS, GlobalConfig::LEN),
            (WorkerStake::FIELDS, WorkerStake::LEN),
            (Job::FIELDS, Job::LEN),
            (JobResult::FIELDS, JobResult::LEN),
            (OutputAvailability::FIELDS, OutputAvailability::LEN),
        ] {
            assert_eq!(fields.iter().map(|f| idl_size(&f.ty)).sum::<usize>(), len);
        }
    }

    #[test]
    fn views_check_size_and_discriminator_and_init_refuses_twice() {
        let mut data = std::vec![0u8; WorkerStake::SPACE];
        assert_eq!(
            layout::view::<WorkerStake>(&data),
            Err(layout::LayoutError::WrongDiscriminator {
                name: "WorkerStake"
            })
        );
        let ws = layout::init::<WorkerStake>(&mut data).unwrap();
        ws.total_stake.set(42);
        assert_eq!(
            layout::view::<WorkerStake>(&data)
                .unwrap()
                .total_stake
                .get(),
            42
        );
        assert_eq!(
            layout::init::<WorkerStake>(&mut data),
            Err(layout::LayoutError::AlreadyInitialized {
                name: "WorkerStake"
            })
        );
        // A Job's bytes are not a WorkerStake, whatever the size.
        let mut job = std::vec![0u8; Job::SPACE];
        layout::init::<Job>(&mut job).unwrap();
        assert!(layout::view::<WorkerStake>(&job).is_err());
        assert_eq!(
            layout::view::<WorkerStake>(&data[..10]),
            Err(layout::LayoutError::WrongSize {
                name: "WorkerStake",
                expected: WorkerStake::SPACE,
                found: 10
            })
        );
        assert_eq!(
            layout::account_bytes(layout::view::<WorkerStake>(&data).unwrap()),
            data
        );
    }

    #[test]
    fn pointers_are_zero_padded_utf8() {
        let p = encode_pointer("http://127.0.0.1:8080/v1/outputs/ab").unwrap();
        assert_eq!(
            decode_pointer(&p),
            Some("http://127.0.0.1:8080/v1/outputs/ab")
        );
        assert_eq!(
            encode_pointer(&"x".repeat(129)),
            Err(PointerError::TooLong { len: 129 })
        );
        assert!(encode_pointer(&"x".repeat(128)).is_ok());
        assert_eq!(encode_pointer(""), Err(PointerError::Invalid));
        assert_eq!(decode_pointer(&[0; POINTER_LEN]), None);
    }

    #[test]
    fn job_counts_matching_seals_among_assigned_submitters_only() {
        let mut job = Job::zeroed();
        job.assigned_count = 3;
        for i in 0..3 {
            job.assigned_workers[i] = Pubkey([i as u8 + 1; 32]);
        }
        let out = [7u8; 32];
        let sealed = |i: usize| crate::hash::seal(&out, &[i as u8 + 1; 32]);
        job.submissions[0] = Submission {
            seal: sealed(0),
            flags: submission_flags::SUBMITTED,
        };
        // Seat 1 copied seat 0's seal: it names seat 0, not seat 1.
        job.submissions[1] = Submission {
            seal: sealed(0),
            flags: submission_flags::SUBMITTED,
        };
        job.submissions[2] = Submission {
            seal: sealed(2),
            flags: submission_flags::SUBMITTED,
        };
        // Beyond assigned_count: ignored.
        job.assigned_workers[3] = Pubkey([4; 32]);
        job.submissions[3] = Submission {
            seal: crate::hash::seal(&out, &[4; 32]),
            flags: submission_flags::SUBMITTED,
        };
        assert_eq!(job.matching(&out).collect::<std::vec::Vec<_>>(), [0, 2]);
        assert_eq!(job.matches(&[8; 32]), 0);
        assert_eq!(job.slot_of(&Pubkey([3; 32])), Some(2));
        assert_eq!(job.slot_of(&Pubkey([4; 32])), None);
    }

    #[test]
    fn a_job_remembers_former_seat_holders_by_prefix() {
        let mut job = Job::zeroed();
        job.assigned_count = 1;
        job.assigned_workers[0] = Pubkey([1; 32]);
        assert!(job.has_seated(&Pubkey([1; 32])));
        assert!(!job.has_seated(&Pubkey([2; 32])));
        job.former_workers[0] = former_key(&Pubkey([2; 32]));
        job.former_count = 1;
        assert!(job.has_seated(&Pubkey([2; 32])));
        job.former_count = 200; // corrupt count: clamped, no panic
        assert!(job.has_seated(&Pubkey([2; 32])));
    }

    fn valid_params() -> ConfigParams {
        let mut p = ConfigParams::zeroed();
        p.protocol_fee_bps.set(250);
        p.max_committee_size = 9;
        p.default_committee_size = 3;
        p.default_quorum = 2;
        p.da_window_slots.set(900);
        p.submit_window_slots.set(150);
        p.max_job_ttl_slots.set(216_000);
        p.max_memory_bytes.set(64 << 20);
        p.max_instructions.set(10_000_000_000);
        p.max_output_bytes.set(1 << 20);
        p.min_escrow_lamports.set(1_000_000);
        p.min_worker_stake_lamports.set(1_000_000);
        p
    }

    #[test]
    fn config_validation_names_the_broken_rule() {
        assert_eq!(valid_params().validate(), Ok(()));
        let mut p = valid_params();
        p.protocol_fee_bps.set(2_001);
        assert_eq!(p.validate(), Err(ConfigError::FeeAboveMaximum(2_001)));
        p.protocol_fee_bps.set(2_000);
        assert_eq!(p.validate(), Ok(()));
        let mut p = valid_params();
        p.non_response_slash_lamports.set(1_000_001);
        assert_eq!(p.validate(), Err(ConfigError::PenaltyAboveMinStake));
        let mut p = valid_params();
        p.challenge_window_slots.set(bounds::MAX_WINDOW_SLOTS + 1);
        assert_eq!(
            p.validate(),
            Err(ConfigError::WindowTooLong(
                "challenge_window_slots",
                bounds::MAX_WINDOW_SLOTS
            ))
        );
        let mut p = valid_params();
        p.max_job_ttl_slots.set(p.min_ttl_slots() - 1);
        assert_eq!(p.validate(), Err(ConfigError::TtlShorterThanOneRound));
        let mut p = valid_params();
        p.min_escrow_lamports.set(0);
        assert_eq!(
            p.validate(),
            Err(ConfigError::ZeroCap("min_escrow_lamports"))
        );
        // The minimum fee: at most 20% of the minimum escrow, and 0.1 SOL.
        let mut p = valid_params();
        p.min_job_fee_lamports.set(200_000);
        assert_eq!(p.validate(), Ok(()));
        p.min_job_fee_lamports.set(200_001);
        assert_eq!(
            p.validate(),
            Err(ConfigError::MinJobFeeAboveMaximum {
                min_job_fee: 200_001,
                cap: 200_000
            })
        );
        p.min_escrow_lamports.set(10_000_000_000);
        p.min_job_fee_lamports.set(bounds::MAX_MIN_JOB_FEE_LAMPORTS);
        assert_eq!(p.validate(), Ok(()));
        p.min_job_fee_lamports
            .set(bounds::MAX_MIN_JOB_FEE_LAMPORTS + 1);
        assert_eq!(
            p.validate(),
            Err(ConfigError::MinJobFeeAboveMaximum {
                min_job_fee: bounds::MAX_MIN_JOB_FEE_LAMPORTS + 1,
                cap: bounds::MAX_MIN_JOB_FEE_LAMPORTS
            })
        );
        let mut p = valid_params();
        p.max_committee_size = 10;
        assert_eq!(p.validate(), Err(ConfigError::MaxCommitteeOutOfRange(10)));
        let mut p = valid_params();
        p.default_quorum = 1;
        assert!(matches!(
            p.validate(),
            Err(ConfigError::DefaultCommittee(_))
        ));
        let mut p = valid_params();
        p.allowed_runtime_count = 9;
        assert_eq!(p.validate(), Err(ConfigError::TooManyRuntimes(9)));
        let mut p = valid_params();
        p.da_window_slots.set(0);
        assert_eq!(
            p.validate(),
            Err(ConfigError::ZeroWindow("da_window_slots"))
        );
        let mut p = valid_params();
        p.max_instructions.set(0);
        assert_eq!(p.validate(), Err(ConfigError::ZeroCap("max_instructions")));
    }

    #[test]
    fn config_allows_only_listed_runtimes() {
        let mut p = ConfigParams::zeroed();
        p.allowed_runtime_ids[0] = [1; 32];
        p.allowed_runtime_ids[1] = [2; 32];
        p.allowed_runtime_count = 1;
        assert!(p.allows_runtime(&[1; 32]));
        assert!(!p.allows_runtime(&[2; 32]));
        p.allowed_runtime_count = 200; // corrupt count: clamped, no panic
        assert!(p.allows_runtime(&[2; 32]));
    }
}
