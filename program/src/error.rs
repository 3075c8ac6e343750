//! Program errors: the protocol's [`ProgramErrorCode`]s as `Custom` codes.

use edgerun_protocol::error::ProgramErrorCode;
use pinocchio::error::ProgramError;

/// The `ProgramError` for a protocol error code.
#[inline(always)]
pub fn err(code: ProgramErrorCode) -> ProgramError {
    ProgramError::Custom(code.code())
}

/// Fails with `code` unless `cond` holds.
#[inline(always)]
pub fn require(cond: bool, code: ProgramErrorCode) -> Result<(), ProgramError> {
    if cond { Ok(()) } else { Err(err(code)) }
}

/// Maps stake arithmetic errors to program errors.
pub fn econ(e: edgerun_protocol::economics::EconomicsError) -> ProgramError {
    use edgerun_protocol::economics::EconomicsError as E;
    err(match e {
        E::InsufficientUnlockedStake { .. } => ProgramErrorCode::InsufficientUnlockedStake,
        E::FeeAboveHundredPercent { .. } => ProgramErrorCode::InvalidConfig,
        E::NoWinners => ProgramErrorCode::NoQuorum,
        E::LockUnderflow { .. } | E::Overflow => ProgramErrorCode::ArithmeticOverflow,
    })
}
