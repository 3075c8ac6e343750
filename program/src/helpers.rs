//! Shared mechanics of the instructions: signer and account checks, PDA
//! creation, lamport moves, the clock, and Anchor-style events.

use crate::error::{err, require};
use edgerun_protocol::error::ProgramErrorCode as E;
use edgerun_protocol::event::Event;
use edgerun_protocol::layout::{self, Account};
use edgerun_protocol::state::{ConfigParams, GlobalConfig};
use pinocchio::account::{Ref, RefMut};
use pinocchio::cpi::{Seed, Signer};
use pinocchio::error::ProgramError;
use pinocchio::sysvars::{Sysvar, clock::Clock, rent::Rent};
use pinocchio::{AccountView, Address, ProgramResult};

/// The System Program.
pub const SYSTEM_PROGRAM_ID: Address = Address::new_from_array([0; 32]);
/// The Ed25519 signature-verification precompile,
/// `Ed25519SigVerify111111111111111111111111111`.
pub const ED25519_PROGRAM_ID: Address = Address::new_from_array([
    3, 125, 70, 214, 124, 147, 251, 190, 18, 249, 66, 143, 131, 141, 64, 255, 5, 112, 116, 73, 39, 244, 138, 100, 252,
    202, 112, 68, 128, 0, 0, 0,
]);

/// The upgradeable BPF loader, `BPFLoaderUpgradeab1e11111111111111111111111`:
/// its ProgramData account names the program's upgrade authority.
pub const BPF_LOADER_UPGRADEABLE_ID: Address = Address::new_from_array([
    2, 168, 246, 145, 78, 136, 161, 176, 226, 16, 21, 62, 247, 99, 174, 43, 0, 194, 185, 61, 22, 193, 36, 210, 192, 83,
    122, 16, 4, 128, 0, 0,
]);

/// Whether this instruction runs at the transaction's top level (not
/// invoked by another program).
#[inline(always)]
pub fn is_top_level() -> bool {
    #[cfg(any(target_os = "solana", target_arch = "bpf"))]
    {
        // SAFETY: a syscall without arguments.
        unsafe { pinocchio::syscalls::sol_get_stack_height() == 1 }
    }
    #[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
    {
        true
    }
}

/// Whether `acc` is the account of `key`.
#[inline(always)]
pub fn is_key(acc: &AccountView, key: &edgerun_protocol::layout::Pubkey) -> bool {
    edgerun_protocol::layout::Pubkey(*acc.address().as_array()) == *key
}

/// Whether `acc` is at `address` (four u64 comparisons).
#[inline(always)]
pub fn is_address(acc: &AccountView, address: &Address) -> bool {
    pinocchio::address::address_eq(acc.address(), address)
}

/// Fails unless `acc` is the System Program (for instructions that create
/// or fund accounts through it).
#[inline(always)]
pub fn require_system_program(acc: &AccountView) -> ProgramResult {
    require(is_address(acc, &SYSTEM_PROGRAM_ID), E::WrongSystemProgram)
}

/// Fails unless `acc` signed the transaction.
#[inline(always)]
pub fn require_signer(acc: &AccountView) -> ProgramResult {
    require(acc.is_signer(), E::MissingSignature)
}

/// The current slot.
#[inline(always)]
pub fn current_slot() -> Result<u64, ProgramError> {
    Ok(Clock::get()?.slot)
}

/// Byte equality through the `sol_memcmp_` syscall on chain (far cheaper
/// than a byte loop in SBF), plain `==` on the host.
#[inline(always)]
pub fn mem_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    #[cfg(any(target_os = "solana", target_arch = "bpf"))]
    {
        let mut r = 0i32;
        // SAFETY: both slices are valid for `a.len()` bytes.
        unsafe { pinocchio::syscalls::sol_memcmp_(a.as_ptr(), b.as_ptr(), a.len() as u64, &mut r) };
        r == 0
    }
    #[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
    {
        a == b
    }
}

/// Checks that `acc` is the PDA of `seeds` + `bump` (one SHA-256: the bump
/// comes from the instruction, no search). It does not show that `bump` is
/// the canonical one; use [`require_canonical_pda`] where a second PDA of the
/// same seeds would matter.
#[inline(always)]
pub fn require_pda<const N: usize>(
    acc: &AccountView,
    seeds: &[&[u8]; N],
    bump: u8,
    program_id: &Address,
    code: E,
) -> ProgramResult {
    let expected = Address::derive_address(seeds, Some(bump), program_id);
    require(mem_eq(acc.address().as_ref(), expected.as_ref()), code)
}

/// [`require_pda`], and `bump` is the canonical bump: every higher bump's
/// address is on the curve (one SHA-256 and one curve check each; one on
/// average). A lower off-curve bump would be a second PDA of the same seeds:
/// a second config (anyone as admin, scheduler and treasury), a second job
/// for one job_id, a second stake for one worker.
pub fn require_canonical_pda<const N: usize>(
    acc: &AccountView,
    seeds: &[&[u8]; N],
    bump: u8,
    program_id: &Address,
    code: E,
) -> ProgramResult {
    require_pda(acc, seeds, bump, program_id, code)?;
    for higher in bump as u16 + 1..=u8::MAX as u16 {
        require(
            Address::derive_address(seeds, Some(higher as u8), program_id).is_on_curve(),
            code,
        )?;
    }
    Ok(())
}

/// Borrows a program account's data as layout `T`, checking the owner and
/// the discriminator (the program creates each type only at its PDA, so
/// this also pins the address). Fails with `code` otherwise.
pub fn load_mut<'a, T: Account>(
    acc: &'a mut AccountView,
    program_id: &Address,
    code: E,
) -> Result<RefMut<'a, [u8]>, ProgramError> {
    require(acc.owned_by(program_id), code)?;
    let data = acc.try_borrow_mut()?;
    layout::view::<T>(&data).map_err(|_| err(code))?;
    Ok(data)
}

/// [`load_mut`] for an account the instruction only reads.
pub fn load<'a, T: Account>(
    acc: &'a AccountView,
    program_id: &Address,
    code: E,
) -> Result<Ref<'a, [u8]>, ProgramError> {
    require(acc.owned_by(program_id), code)?;
    let data = acc.try_borrow()?;
    layout::view::<T>(&data).map_err(|_| err(code))?;
    Ok(data)
}

/// Reads the config: `f` gets its parameters in place (no copy of the
/// whole struct) and returns what the instruction needs from them.
pub fn with_params<R>(
    config: &AccountView,
    program_id: &Address,
    f: impl FnOnce(&ConfigParams) -> Result<R, ProgramError>,
) -> Result<R, ProgramError> {
    let data = load::<GlobalConfig>(config, program_id, E::WrongConfigAccount)?;
    f(&as_ref::<GlobalConfig>(&data).params)
}

/// The layout inside data returned by [`load_mut`].
#[inline(always)]
pub fn as_mut<T: Account>(data: &mut [u8]) -> &mut T {
    bytemuck::from_bytes_mut(&mut data[8..])
}

/// The layout inside data returned by [`load`] or [`load_mut`], read-only.
#[inline(always)]
pub fn as_ref<T: Account>(data: &[u8]) -> &T {
    bytemuck::from_bytes(&data[8..])
}

/// Rent-exempt minimum for `space` bytes.
#[inline(always)]
pub fn rent_exempt(space: usize) -> Result<u64, ProgramError> {
    Rent::get()?.try_minimum_balance(space)
}

/// Creates the PDA `pda` (signed by `seeds`, which include the bump) with
/// space for `T`, funded with the rent-exempt minimum plus `extra` lamports
/// from `payer`, owned by this program, and writes `T`'s discriminator.
/// Returns the lamports `payer` paid.
///
/// An address someone pre-funded to block creation is still taken over:
/// top up, allocate and assign instead of CreateAccount.
pub fn create_pda<T: Account>(
    payer: &AccountView,
    pda: &mut AccountView,
    program_id: &Address,
    seeds: &[Seed],
    extra: u64,
) -> Result<u64, ProgramError> {
    require(
        pda.is_data_empty() && pda.owned_by(&SYSTEM_PROGRAM_ID),
        E::AlreadyInitialized,
    )?;
    let rent = rent_exempt(T::SPACE)?;
    let needed = rent.checked_add(extra).ok_or(err(E::ArithmeticOverflow))?;
    let signer = [Signer::from(seeds)];
    let paid;
    if pda.lamports() == 0 {
        paid = needed;
        pinocchio_system::instructions::CreateAccount {
            from: payer,
            to: pda,
            lamports: needed,
            space: T::SPACE as u64,
            owner: program_id,
        }
        .invoke_signed(&signer)?;
    } else {
        let top_up = needed.saturating_sub(pda.lamports());
        paid = top_up;
        if top_up > 0 {
            pinocchio_system::instructions::Transfer {
                from: payer,
                to: pda,
                lamports: top_up,
            }
            .invoke()?;
        }
        pinocchio_system::instructions::Allocate {
            account: pda,
            space: T::SPACE as u64,
        }
        .invoke_signed(&signer)?;
        pinocchio_system::instructions::Assign {
            account: pda,
            owner: program_id,
        }
        .invoke_signed(&signer)?;
    }
    let mut data = pda.try_borrow_mut()?;
    layout::init::<T>(&mut data).map_err(|_| err(E::AlreadyInitialized))?;
    Ok(paid)
}

/// Allocates `T::SPACE` bytes at the empty system account `pda` and
/// assigns it to this program, signed by `seeds`, without moving lamports
/// (the caller funds it before the instruction ends).
pub fn allocate_and_assign<T: Account>(pda: &mut AccountView, program_id: &Address, seeds: &[Seed]) -> ProgramResult {
    require(
        pda.is_data_empty() && pda.owned_by(&SYSTEM_PROGRAM_ID),
        E::AlreadyInitialized,
    )?;
    let signer = [Signer::from(seeds)];
    pinocchio_system::instructions::Allocate {
        account: pda,
        space: T::SPACE as u64,
    }
    .invoke_signed(&signer)?;
    pinocchio_system::instructions::Assign {
        account: pda,
        owner: program_id,
    }
    .invoke_signed(&signer)
}

/// Moves lamports between two accounts; `from` must be owned by this
/// program (the runtime enforces it).
#[inline(always)]
pub fn move_lamports(from: &mut AccountView, to: &mut AccountView, amount: u64) -> ProgramResult {
    if amount == 0 {
        return Ok(());
    }
    let from_after = from.lamports().checked_sub(amount).ok_or(err(E::ArithmeticOverflow))?;
    let to_after = to.lamports().checked_add(amount).ok_or(err(E::ArithmeticOverflow))?;
    from.set_lamports(from_after);
    to.set_lamports(to_after);
    Ok(())
}

/// An event as Anchor's `emit!` logs it: discriminator, then the Borsh
/// bytes. Every layout has alignment 1, so this is contiguous and
/// padding-free: its bytes are the log buffer, with no copy into a scratch
/// buffer.
#[repr(C)]
#[derive(Clone, Copy)]
struct Framed<T> {
    discriminator: [u8; 8],
    event: T,
}

/// Emits an event as Anchor's `emit!` does: one `sol_log_data` buffer of
/// discriminator + Borsh bytes.
#[inline(always)]
pub fn emit<T: Event>(event: &T) {
    let framed = Framed {
        discriminator: T::DISCRIMINATOR,
        event: *event,
    };
    const { assert!(core::mem::size_of::<Framed<T>>() == 8 + T::LEN && core::mem::align_of::<Framed<T>>() == 1) };
    // SAFETY: Framed<T> is repr(C) over two alignment-1 Pod values, so its
    // bytes are fully initialized with no padding (checked above).
    let bytes = unsafe {
        core::slice::from_raw_parts(
            &framed as *const Framed<T> as *const u8,
            core::mem::size_of::<Framed<T>>(),
        )
    };
    #[cfg(any(target_os = "solana", target_arch = "bpf"))]
    {
        let slices: [&[u8]; 1] = [bytes];
        // SAFETY: `slices` is a valid array of one slice, as sol_log_data expects.
        unsafe { pinocchio::syscalls::sol_log_data(slices.as_ptr() as *const u8, 1) };
    }
    #[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
    let _ = bytes;
}
