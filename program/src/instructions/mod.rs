//! One module per instruction, named after it.

pub mod assign_workers;
pub mod cancel_expired_job;
pub mod cancel_job;
pub mod cancel_no_da;
pub mod declare_output;
pub mod deposit_stake;
pub mod finalize_job;
pub mod initialize_config;
pub mod penalize_non_submitters;
pub mod post_job;
pub mod reach_quorum;
pub mod reassign_missing;
pub mod register_worker;
pub mod set_job_seed;
pub mod set_stake_authority;
pub mod settle;
pub mod submit_result;
pub mod update_config;
pub mod withdraw_stake;

use crate::error::err;
use edgerun_protocol::error::ProgramErrorCode;
use edgerun_protocol::layout::Layout;
use pinocchio::error::ProgramError;

/// Views the instruction's argument struct in place.
#[inline(always)]
pub(crate) fn args<T: Layout>(bytes: &[u8]) -> Result<&T, ProgramError> {
    T::view(bytes).map_err(|_| err(ProgramErrorCode::InvalidInstruction))
}
