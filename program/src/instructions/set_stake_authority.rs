//! set_stake_authority: the stake's authority hands it to another wallet
//! (a volunteer taking over a sponsored stake, a key rotation); the old one
//! can withdraw nothing after.

use super::args;
use crate::error::require;
use crate::helpers::{as_mut, is_key, load_mut, require_signer};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::instruction::SetStakeAuthority;
use edgerun_protocol::state::WorkerStake;
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [authority, stake, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let a: &SetStakeAuthority = args(data)?;
    require_signer(authority)?;
    let mut d = load_mut::<WorkerStake>(stake, program_id, E::WrongStakeAccount)?;
    let s = as_mut::<WorkerStake>(&mut d);
    require(is_key(authority, &s.authority), E::NotStakeOwner)?;
    s.authority = a.new_authority;
    Ok(())
}
