//! initialize_config: creates the `["config"]` PDA with validated
//! parameters. Only the program's upgrade authority may: the program
//! account names its ProgramData account (upgradeable loader), which
//! records the authority, so nobody can front-run the deployer.

use super::args;
use crate::error::{err, require};
use crate::helpers::{
    BPF_LOADER_UPGRADEABLE_ID, as_mut, create_pda, is_address, mem_eq, rent_exempt, require_canonical_pda,
    require_signer, require_system_program,
};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::instruction::InitializeConfig;
use edgerun_protocol::state::{GlobalConfig, seeds};
use pinocchio::cpi::Seed;
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

/// UpgradeableLoaderState::Program: u32 tag 2, then the ProgramData address.
const PROGRAM_TAG: [u8; 4] = 2u32.to_le_bytes();
/// UpgradeableLoaderState::ProgramData: u32 tag 3, u64 slot, then
/// Option<Pubkey> (1 byte, then 32) for the upgrade authority.
const PROGRAM_DATA_TAG: [u8; 4] = 3u32.to_le_bytes();
const AUTHORITY_OFFSET: usize = 4 + 8;

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [authority, config, system, program, program_data, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let a: &InitializeConfig = args(data)?;
    require_signer(authority)?;
    require_system_program(system)?;
    require_upgrade_authority(program_id, program, program_data, authority)?;
    a.params.validate().map_err(|_| err(E::InvalidConfig))?;
    require_refundable_minimum(a.params.min_escrow_lamports.get())?;
    require_canonical_pda(
        config,
        &[seeds::CONFIG],
        a.config_bump,
        program_id,
        E::WrongConfigAccount,
    )?;
    let bump = [a.config_bump];
    create_pda::<GlobalConfig>(
        authority,
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

/// `authority` is the upgrade authority recorded in this program's
/// ProgramData account.
fn require_upgrade_authority(
    program_id: &Address,
    program: &AccountView,
    program_data: &AccountView,
    authority: &AccountView,
) -> ProgramResult {
    let code = E::NotUpgradeAuthority;
    require(is_address(program, program_id), code)?;
    require(program.owned_by(&BPF_LOADER_UPGRADEABLE_ID), code)?;
    require(program_data.owned_by(&BPF_LOADER_UPGRADEABLE_ID), code)?;
    {
        let p = program.try_borrow()?;
        require(p.len() >= 36 && p[..4] == PROGRAM_TAG, code)?;
        require(mem_eq(&p[4..36], program_data.address().as_ref()), code)?;
    }
    let d = program_data.try_borrow()?;
    require(d.len() >= AUTHORITY_OFFSET + 33 && d[..4] == PROGRAM_DATA_TAG, code)?;
    require(d[AUTHORITY_OFFSET] == 1, code)?;
    require(
        mem_eq(
            &d[AUTHORITY_OFFSET + 1..AUTHORITY_OFFSET + 33],
            authority.address().as_ref(),
        ),
        code,
    )
}

/// `min_escrow_lamports` covers the rent-exempt minimum of an empty
/// account, so a refund to a client whose wallet was emptied can always be
/// paid.
pub fn require_refundable_minimum(min_escrow: u64) -> ProgramResult {
    require(min_escrow >= rent_exempt(0)?, E::InvalidConfig)
}
