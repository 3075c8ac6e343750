//! A test-only program: invokes the program in its first account with the
//! remaining accounts (flags as given) and its own instruction data. The
//! tests use it to call edgerun through CPI, as an attacker's program
//! would.
#![no_std]

#[cfg(any(target_os = "solana", target_arch = "bpf"))]
use solana_compiler_builtins as _;

use pinocchio::cpi::invoke_with_bounds;
use pinocchio::error::ProgramError;
use pinocchio::instruction::{InstructionAccount, InstructionView};
use pinocchio::{AccountView, Address, ProgramResult};

const MAX: usize = 16;

pinocchio::program_entrypoint!(process, { MAX });
pinocchio::no_allocator!();
pinocchio::nostd_panic_handler!();

fn process(_program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [target, rest @ ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    if rest.is_empty() {
        return Err(ProgramError::NotEnoughAccountKeys);
    }
    let metas: [InstructionAccount; MAX] = core::array::from_fn(|i| {
        let a = &rest[i.min(rest.len() - 1)];
        InstructionAccount::new(a.address(), a.is_writable(), a.is_signer())
    });
    let ix = InstructionView {
        program_id: target.address(),
        data,
        accounts: &metas[..rest.len()],
    };
    // On the stack: this program has no allocator.
    invoke_with_bounds::<MAX, _>(&ix, rest)
}
