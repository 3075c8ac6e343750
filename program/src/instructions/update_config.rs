//! update_config: the admin replaces the parameters (including the admin),
//! within the protocol's bounds (`ConfigParams::validate`: fee, penalty,
//! windows). Jobs already posted keep the terms they were posted under.

use super::args;
use crate::error::{err, require};
use crate::helpers::{as_mut, is_key, load_mut, require_signer};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::instruction::UpdateConfig;
use edgerun_protocol::state::GlobalConfig;
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [admin, config, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let a: &UpdateConfig = args(data)?;
    require_signer(admin)?;
    let mut d = load_mut::<GlobalConfig>(config, program_id, E::WrongConfigAccount)?;
    let c = as_mut::<GlobalConfig>(&mut d);
    require(is_key(admin, &c.params.admin), E::NotAdmin)?;
    a.params.validate().map_err(|_| err(E::InvalidConfig))?;
    super::initialize_config::require_refundable_minimum(a.params.min_escrow_lamports.get())?;
    c.params = a.params;
    Ok(())
}
