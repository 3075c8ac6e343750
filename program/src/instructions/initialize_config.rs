//! initialize_config: creates the `["config"]` PDA with validated parameters.

use super::args;
use crate::error::{err, require};
use crate::helpers::{as_mut, create_pda, is_key, require_canonical_pda, require_signer, require_system_program};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::instruction::InitializeConfig;
use edgerun_protocol::state::{GlobalConfig, seeds};
use pinocchio::cpi::Seed;
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [admin, config, system, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let a: &InitializeConfig = args(data)?;
    require_signer(admin)?;
    require_system_program(system)?;
    require(is_key(admin, &a.params.admin), E::NotAdmin)?;
    a.params.validate().map_err(|_| err(E::InvalidConfig))?;
    require_canonical_pda(
        config,
        &[seeds::CONFIG],
        a.config_bump,
        program_id,
        E::WrongConfigAccount,
    )?;
    let bump = [a.config_bump];
    create_pda::<GlobalConfig>(
        admin,
        config,
        program_id,
        &[Seed::from(seeds::CONFIG), Seed::from(&bump)],
        0,
    )?;
    let mut d = config.try_borrow_mut()?;
    let c = as_mut::<GlobalConfig>(&mut d);
    c.params = a.params;
    c.bump = a.config_bump;
    Ok(())
}
