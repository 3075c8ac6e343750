//! The pricing calculator's functions, exported from `calc.wasm` with C
//! names (u64 is a BigInt in JavaScript). Each is `edgerun_protocol`'s own
//! arithmetic; `u64::MAX` means "no such figure" (an unknown tier, no
//! winners).

use edgerun_protocol::economics;
use edgerun_protocol::layout::Account;
use edgerun_protocol::state::{Job, JobResult, OutputAvailability};
use edgerun_protocol::tier::Tier;

/// Solana's default rent: lamports per byte-year, two years to be exempt,
/// 128 bytes of account overhead (what `getMinimumBalanceForRentExemption`
/// answers on every public cluster).
pub const fn rent_exempt(bytes: usize) -> u64 {
    (bytes as u64 + 128) * 3_480 * 2
}

pub use economics::SIGNATURE_FEE;

/// The same, for the page.
#[unsafe(no_mangle)]
pub extern "C" fn signature_fee() -> u64 {
    SIGNATURE_FEE
}

fn tier(index: u32) -> Option<Tier> {
    Tier::ALL.get(index as usize).copied()
}

/// The tier (0 Bronze … 3 Gold+) an escrow buys.
#[unsafe(no_mangle)]
pub extern "C" fn tier_for_escrow(escrow: u64) -> u32 {
    Tier::ALL
        .iter()
        .position(|t| *t == Tier::for_escrow(escrow))
        .unwrap_or(0) as u32
}

#[unsafe(no_mangle)]
pub extern "C" fn tier_min_escrow(index: u32) -> u64 {
    tier(index).map_or(u64::MAX, |t| t.min_escrow())
}

#[unsafe(no_mangle)]
pub extern "C" fn tier_size(index: u32) -> u32 {
    tier(index).map_or(0, |t| t.committee().size.into())
}

#[unsafe(no_mangle)]
pub extern "C" fn tier_quorum(index: u32) -> u32 {
    tier(index).map_or(0, |t| t.committee().quorum.into())
}

fn payout(escrow: u64, fee_bps: u32, min_fee: u64, winners: u32) -> Option<economics::Payout> {
    let bps = u16::try_from(fee_bps).ok()?;
    let winners = u8::try_from(winners).ok()?;
    economics::split_payout_with_minimum(escrow, bps, min_fee, winners).ok()
}

/// The protocol fee of an escrow, to the treasury.
#[unsafe(no_mangle)]
pub extern "C" fn protocol_fee(escrow: u64, fee_bps: u32, min_fee: u64) -> u64 {
    payout(escrow, fee_bps, min_fee, 1).map_or(u64::MAX, |p| p.fee)
}

/// What each of `winners` agreeing workers earns.
#[unsafe(no_mangle)]
pub extern "C" fn per_winner(escrow: u64, fee_bps: u32, min_fee: u64, winners: u32) -> u64 {
    payout(escrow, fee_bps, min_fee, winners).map_or(u64::MAX, |p| p.per_winner)
}

/// What the treasury keeps of the escrow: the fee and the division
/// remainder.
#[unsafe(no_mangle)]
pub extern "C" fn treasury(escrow: u64, fee_bps: u32, min_fee: u64, winners: u32) -> u64 {
    payout(escrow, fee_bps, min_fee, winners).map_or(u64::MAX, |p| p.treasury())
}

/// The records deposit a committee of `size` needs (refunded unused).
#[unsafe(no_mangle)]
pub extern "C" fn records_deposit(size: u32) -> u64 {
    u8::try_from(size)
        .ok()
        .and_then(|s| {
            economics::records_deposit(
                rent_exempt(JobResult::SPACE),
                rent_exempt(OutputAvailability::SPACE),
                s,
            )
        })
        .unwrap_or(u64::MAX)
}

/// The Job account's rent (kept: the job stays on chain as evidence).
#[unsafe(no_mangle)]
pub extern "C" fn job_rent() -> u64 {
    rent_exempt(Job::SPACE)
}

/// What each seated worker locks for a job.
#[unsafe(no_mangle)]
pub extern "C" fn required_lock(min_stake: u64, escrow: u64, size: u32) -> u64 {
    economics::required_lock(min_stake, escrow, size.min(255) as u8)
}
