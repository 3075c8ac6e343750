//! deposit_stake: anyone may add to a worker's stake (a sponsor, the
//! authority, the worker itself); only the authority can take it out.

use super::args;
use crate::error::{err, require};
use crate::helpers::{as_mut, load_mut, require_signer, require_system_program};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::instruction::DepositStake;
use edgerun_protocol::state::WorkerStake;
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [funder, stake, system, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let amount = args::<DepositStake>(data)?.amount.get();
    require_signer(funder)?;
    require_system_program(system)?;
    require(amount > 0, E::ZeroAmount)?;
    {
        let mut d = load_mut::<WorkerStake>(stake, program_id, E::WrongStakeAccount)?;
        let s = as_mut::<WorkerStake>(&mut d);
        let total = s
            .total_stake
            .get()
            .checked_add(amount)
            .ok_or(err(E::ArithmeticOverflow))?;
        s.total_stake.set(total);
    }
    pinocchio_system::instructions::Transfer {
        from: funder,
        to: stake,
        lamports: amount,
    }
    .invoke()
}
