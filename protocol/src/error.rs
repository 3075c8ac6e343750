//! The program's error codes. Anchor numbers custom errors from 6000; we do
//! the same, so Anchor clients and explorers show the name and message.
//! Clients decode `Custom(code)` with [`ProgramErrorCode::from_code`].

macro_rules! error_codes {
    ($($name:ident = $code:literal : $msg:literal,)*) => {
        /// Every error the program returns, with a stable code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum ProgramErrorCode { $($name = $code),* }

        impl ProgramErrorCode {
            pub const ALL: &'static [ProgramErrorCode] = &[$(ProgramErrorCode::$name),*];

            pub const fn code(self) -> u32 {
                self as u32
            }

            pub const fn name(self) -> &'static str {
                match self { $(ProgramErrorCode::$name => stringify!($name)),* }
            }

            /// What went wrong and what to do.
            pub const fn message(self) -> &'static str {
                match self { $(ProgramErrorCode::$name => $msg),* }
            }

            pub fn from_code(code: u32) -> Option<ProgramErrorCode> {
                Self::ALL.iter().copied().find(|e| e.code() == code)
            }
        }
    };
}

error_codes! {
    InvalidInstruction = 6000: "Unknown instruction or malformed arguments: build it with edgerun-client",
    MissingSignature = 6001: "A required signer did not sign the transaction",
    NotAdmin = 6002: "Only the config admin may do this",
    NotSchedulerAuthority = 6003: "Only the scheduler authority may assign or reassign workers",
    NotRandomnessAuthority = 6004: "Only the randomness authority may set a job's seed",
    NotJobClient = 6005: "Only the client who posted the job may cancel it",
    NotStakeOwner = 6006: "The signer is not this worker stake's authority (the wallet that registered it, or the one it was handed to)",
    WrongConfigAccount = 6007: "The config account is not this program's [\"config\"] PDA",
    WrongJobAccount = 6008: "The job account is not this program's [\"job\", job_id] PDA",
    WrongStakeAccount = 6009: "A worker stake account is not this program's WorkerStake for the expected worker",
    WrongOutputAccount = 6010: "The output account is not this program's [\"output\", job_id] PDA",
    WrongResultAccount = 6011: "The job result account is not the [\"job_result\", job_id, worker] PDA",
    WrongTreasury = 6012: "The treasury account is not the config's treasury",
    WrongClient = 6013: "The client account is not the job's client",
    WrongSystemProgram = 6014: "Pass the System Program",
    WrongInstructionsSysvar = 6015: "Pass the Instructions sysvar",
    AlreadyInitialized = 6016: "The account already exists",
    InvalidConfig = 6017: "Config parameters break a protocol rule (fee, committee, windows, caps)",
    Paused = 6018: "The protocol is paused: no new jobs or assignments",
    ZeroEscrow = 6019: "Escrow must be more than 0 lamports",
    ZeroAmount = 6020: "The amount must be more than 0 lamports",
    LimitsAboveCap = 6021: "Job limits are zero or above the config's caps: lower max_memory_bytes, max_instructions or max_output_bytes",
    RuntimeNotAllowed = 6022: "The runtime_id is not in the config's allowed list",
    BadTtl = 6023: "ttl_slots must be between 1 and the config's max_job_ttl_slots",
    WrongJobStatus = 6024: "The job is not in a status that allows this instruction",
    SeedNotSet = 6025: "The job's seed is not set yet: set_job_seed first",
    SeedAlreadySet = 6026: "The job's seed is already set",
    WrongCommitteeSize = 6027: "The number of worker accounts does not match the seats to fill",
    DuplicateWorker = 6028: "A worker appears twice in the committee",
    WorkerNotActive = 6029: "The worker's stake is not active",
    InsufficientUnlockedStake = 6030: "The worker's unlocked stake is below the job's required lock: deposit more stake",
    NotAssigned = 6031: "The worker is not assigned to this job",
    AlreadySubmitted = 6032: "The worker already submitted a result for this round",
    DeadlinePassed = 6033: "The round's submission deadline has passed",
    DeadlineNotPassed = 6034: "The round's submission deadline has not passed yet",
    ExpiryNotPassed = 6035: "The job has not expired yet",
    DaDeadlineNotPassed = 6036: "The data-availability deadline has not passed yet",
    ChallengeWindowOpen = 6037: "The challenge window after the output declaration is still open",
    Ed25519Missing = 6038: "submit_result must be immediately preceded by one Ed25519 program instruction",
    Ed25519SignatureCount = 6039: "The Ed25519 instruction must carry exactly one signature",
    Ed25519BadOffsets = 6040: "The Ed25519 instruction's offsets must point into itself or into this submit_result's data",
    Ed25519WrongPubkey = 6041: "The Ed25519 instruction's public key is not the worker's",
    Ed25519WrongMessage = 6042: "The Ed25519 instruction's message is not this result's ResultDigest",
    Ed25519WrongSignature = 6043: "The Ed25519 instruction's signature is not the attestation_sig argument",
    NoQuorum = 6044: "No output hash has a quorum of submissions yet",
    NotAWinner = 6045: "Only a worker that submitted the winning output may declare it",
    OutputHashMismatch = 6046: "The output hash is not the job's winning output hash",
    BadPointer = 6047: "The output pointer must be a non-empty UTF-8 URL of at most 128 bytes",
    OutputNotAvailable = 6048: "The output has not been declared (no OutputAvailability): a winner must declare_output first",
    OutputAlreadyDeclared = 6049: "The output was already declared",
    NothingToSettle = 6050: "No assigned worker is left to settle",
    NotSettled = 6051: "Missing workers must be penalized (penalize_non_submitters) before they are replaced",
    WithdrawExceedsUnlocked = 6052: "Withdrawal is more than the unlocked stake",
    ArithmeticOverflow = 6053: "Lamport arithmetic overflowed",
    InvalidAccountData = 6054: "An account's data is not the expected layout",
    NotUpgradeAuthority = 6055: "Only the program's upgrade authority may initialize the config: sign with the deploy's upgrade authority and pass the program and its ProgramData account",
    EscrowBelowMinimum = 6056: "The escrow is below the config's min_escrow_lamports: post with more",
    JobIdNotDerived = 6057: "job_id must be blake3(client || nonce || bundle_hash) for the signing client: derive it with edgerun_protocol::hash::job_id",
    WorkerWasSeated = 6058: "This worker already sat in this job; a worker is seated in a job at most once",
    TooManyReplacements = 6059: "This job has replaced as many workers as it can; it ends at expiry",
    SealMismatch = 6060: "The revealed output hash does not match the caller's seal: reveal the output you submitted",
    NotTopLevel = 6061: "submit_result must be a top-level instruction, not invoked through another program",
    RoundPastExpiry = 6062: "A new round would end after the job's expiry_slot; the job can only expire now",
    ClientCannotPay = 6063: "The client cannot pay the escrow, the records deposit, the priority fee and the job account's rent: post with less or fund the client",
}

impl core::fmt::Display for ProgramErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({}): {}", self.name(), self.code(), self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_contiguous_from_6000_and_decode() {
        for (i, e) in ProgramErrorCode::ALL.iter().enumerate() {
            assert_eq!(e.code(), 6000 + i as u32, "{}", e.name());
            assert_eq!(ProgramErrorCode::from_code(e.code()), Some(*e));
            assert!(!e.message().is_empty());
        }
        assert_eq!(ProgramErrorCode::from_code(5999), None);
    }
}
