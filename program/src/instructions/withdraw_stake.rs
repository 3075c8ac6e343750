//! withdraw_stake: pays unlocked stake to the stake's authority (never to
//! the hot worker key); the rent floor and every lock stay in the account.

use super::args;
use crate::error::require;
use crate::helpers::{as_mut, is_key, load_mut, move_lamports, rent_exempt, require_signer};
use edgerun_protocol::economics::Stake;
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::instruction::WithdrawStake;
use edgerun_protocol::layout::Account;
use edgerun_protocol::state::WorkerStake;
use pinocchio::error::ProgramError;
use pinocchio::{AccountView, Address, ProgramResult};

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [authority, stake, ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let amount = args::<WithdrawStake>(data)?.amount.get();
    require_signer(authority)?;
    require(amount > 0, E::ZeroAmount)?;
    {
        let mut d = load_mut::<WorkerStake>(stake, program_id, E::WrongStakeAccount)?;
        let s = as_mut::<WorkerStake>(&mut d);
        require(is_key(authority, &s.authority), E::NotStakeOwner)?;
        let st = Stake {
            total: s.total_stake.get(),
            locked: s.locked_stake.get(),
        };
        require(amount <= st.unlocked(), E::WithdrawExceedsUnlocked)?;
        s.total_stake.set(st.total - amount);
    }
    // total_stake excludes the rent floor, so this holds unless lamports
    // were taken some other way; refuse rather than drop below rent.
    let floor = rent_exempt(WorkerStake::SPACE)?;
    require(
        stake.lamports().saturating_sub(amount) >= floor,
        E::WithdrawExceedsUnlocked,
    )?;
    move_lamports(stake, authority, amount)
}
