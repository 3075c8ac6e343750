//! Lamport arithmetic: locks, payouts, slashes and penalties.
//!
//! Every lamport that enters the program leaves it to exactly one of the
//! client (refund), a worker stake, or the treasury. These functions are the
//! only place the amounts are computed; each one conserves lamports by
//! construction and its tests check that at the u64 extremes.

/// Basis points in 100%.
pub const BPS_DENOMINATOR: u64 = 10_000;

/// Arithmetic that would lose or invent lamports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EconomicsError {
    #[error("protocol_fee_bps {fee_bps} is above 10000 (100%)")]
    FeeAboveHundredPercent { fee_bps: u16 },
    #[error("a payout needs at least one winner")]
    NoWinners,
    #[error(
        "unlocked stake {unlocked} is below the {needed} lamports this job locks: deposit more stake"
    )]
    InsufficientUnlockedStake { unlocked: u64, needed: u64 },
    #[error("locked stake {locked} is below the {needed} lamports to release")]
    LockUnderflow { locked: u64, needed: u64 },
    #[error("stake arithmetic overflowed u64")]
    Overflow,
}

/// The records deposit a job holds on top of its escrow: the rent of one
/// JobResult per seat and of the OutputAvailability, so a seat's records
/// never cost its worker anything (each is paid back as it is created).
/// `None` only if the amount would not fit in u64. SBF-safe (see
/// [`required_lock`]).
pub const fn records_deposit(
    result_rent: u64,
    output_rent: u64,
    committee_size: u8,
) -> Option<u64> {
    let size = committee_size as u64;
    if size != 0 && result_rent > u64::MAX / size {
        return None;
    }
    // result_rent * size fits, checked above.
    result_rent.wrapping_mul(size).checked_add(output_rent)
}

/// `required_lock = max(min_worker_stake, escrow * 3 / 2 / committee_size)`:
/// what each assigned worker locks for the job. Exact for every escrow and
/// saturating at `u64::MAX` (unreachable for committees of 3 or more).
///
/// With `d = 2 * committee_size` and `escrow = q * d + r`,
/// `floor(3 * escrow / d) = 3q + floor(3r / d)`.
///
/// The on-chain program runs this, so it uses native 64-bit operations
/// only: a checked or 128-bit multiply lowers to a `__multi3` libcall on
/// SBF, which this toolchain miscompiles (docs/protocol.md, "SBF
/// arithmetic"). Overflow is ruled out by comparison instead.
pub const fn required_lock(min_worker_stake: u64, escrow_lamports: u64, committee_size: u8) -> u64 {
    let size = if committee_size == 0 {
        1
    } else {
        committee_size as u64
    };
    let d = size + size;
    let (q, r) = (escrow_lamports / d, escrow_lamports % d);
    // r < d <= 510, so 3r cannot overflow.
    let tail = (r + r + r) / d;
    let share = if q > (u64::MAX - tail) / 3 {
        u64::MAX
    } else {
        // q <= (MAX - tail) / 3, so 3q + tail fits.
        q.wrapping_mul(3) + tail
    };
    if share > min_worker_stake {
        share
    } else {
        min_worker_stake
    }
}

/// `floor(amount * bps / 10_000)` for `bps <= 10_000`, exact, with native
/// 64-bit operations only (see [`required_lock`]): with
/// `amount = q * 10_000 + r`, it is `q * bps + floor(r * bps / 10_000)`.
/// `q * bps <= amount` and `r * bps < 10^8`, so neither product can wrap.
const fn bps_of(amount: u64, bps: u16) -> u64 {
    let (q, r) = (amount / BPS_DENOMINATOR, amount % BPS_DENOMINATOR);
    q.wrapping_mul(bps as u64) + r.wrapping_mul(bps as u64) / BPS_DENOMINATOR
}

/// How an escrow is paid out at finalize.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payout {
    /// `escrow * fee_bps / 10_000`, to the treasury.
    pub fee: u64,
    /// What each winner's stake is credited.
    pub per_winner: u64,
    /// `(escrow - fee) % winners`, to the treasury.
    pub remainder: u64,
}

impl Payout {
    /// Everything the treasury receives: the fee plus the division remainder.
    pub const fn treasury(&self) -> u64 {
        self.fee + self.remainder
    }
}

/// Splits an escrow: the fee to the treasury, the rest in equal shares to
/// the winners, the division remainder to the treasury.
/// `fee + per_winner * winners + remainder == escrow` always.
pub const fn split_payout(
    escrow_lamports: u64,
    fee_bps: u16,
    winners: u8,
) -> Result<Payout, EconomicsError> {
    if fee_bps as u64 > BPS_DENOMINATOR {
        return Err(EconomicsError::FeeAboveHundredPercent { fee_bps });
    }
    if winners == 0 {
        return Err(EconomicsError::NoWinners);
    }
    let fee = bps_of(escrow_lamports, fee_bps);
    let rest = escrow_lamports - fee;
    Ok(Payout {
        fee,
        per_winner: rest / winners as u64,
        remainder: rest % winners as u64,
    })
}

/// What a non-submitter pays after its lock is released: the configured
/// `non_response_slash_lamports`, or all its stake if it has less.
pub const fn non_response_penalty(non_response_slash_lamports: u64, total_stake: u64) -> u64 {
    if non_response_slash_lamports < total_stake {
        non_response_slash_lamports
    } else {
        total_stake
    }
}

/// A worker's stake bookkeeping: `total` lamports staked (above the
/// account's rent floor), of which `locked` back current assignments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Stake {
    pub total: u64,
    pub locked: u64,
}

impl Stake {
    /// Stake free to lock or withdraw.
    pub const fn unlocked(&self) -> u64 {
        self.total.saturating_sub(self.locked)
    }

    /// Locks `amount` for an assignment.
    pub const fn lock(self, amount: u64) -> Result<Stake, EconomicsError> {
        if self.unlocked() < amount {
            return Err(EconomicsError::InsufficientUnlockedStake {
                unlocked: self.unlocked(),
                needed: amount,
            });
        }
        Ok(Stake {
            total: self.total,
            locked: self.locked + amount,
        })
    }

    /// Releases a lock without moving lamports.
    pub const fn unlock(self, amount: u64) -> Result<Stake, EconomicsError> {
        if self.locked < amount {
            return Err(EconomicsError::LockUnderflow {
                locked: self.locked,
                needed: amount,
            });
        }
        Ok(Stake {
            total: self.total,
            locked: self.locked - amount,
        })
    }

    /// A winner: releases the lock and credits its share as unlocked stake.
    pub const fn settle_winner(self, lock: u64, share: u64) -> Result<Stake, EconomicsError> {
        let released = match self.unlock(lock) {
            Ok(s) => s,
            Err(e) => return Err(e),
        };
        match released.total.checked_add(share) {
            Some(total) => Ok(Stake {
                total,
                locked: released.locked,
            }),
            None => Err(EconomicsError::Overflow),
        }
    }

    /// A wrong submitter loses its lock: returns the new stake and the
    /// lamports to move to the treasury.
    pub const fn slash(self, lock: u64) -> Result<(Stake, u64), EconomicsError> {
        match self.unlock(lock) {
            Ok(s) => Ok((
                Stake {
                    total: s.total - lock,
                    locked: s.locked,
                },
                lock,
            )),
            Err(e) => Err(e),
        }
    }

    /// A non-submitter: the lock is released, then the non-response
    /// penalty is taken (at most what is left unlocked, so other jobs' locks
    /// stay backed). Returns the new stake and the lamports to move to the
    /// treasury.
    pub const fn penalize(
        self,
        lock: u64,
        non_response_slash_lamports: u64,
    ) -> Result<(Stake, u64), EconomicsError> {
        match self.unlock(lock) {
            Ok(s) => {
                let penalty = non_response_penalty(non_response_slash_lamports, s.unlocked());
                Ok((
                    Stake {
                        total: s.total - penalty,
                        locked: s.locked,
                    },
                    penalty,
                ))
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod records_tests {
    use super::records_deposit;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_records_deposit_is_exact_or_none(result in any::<u64>(), output in any::<u64>(), size in 0u8..=9) {
            let exact = u128::from(result) * u128::from(size) + u128::from(output);
            match records_deposit(result, output, size) {
                Some(d) => prop_assert_eq!(u128::from(d), exact),
                None => prop_assert!(exact > u128::from(u64::MAX)),
            }
        }
    }

    #[test]
    fn a_bronze_deposit_covers_three_results_and_the_output() {
        assert_eq!(
            records_deposit(2_122_800, 2_568_240, 3),
            Some(3 * 2_122_800 + 2_568_240)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn required_lock_is_one_and_a_half_escrow_shared_by_the_committee() {
        assert_eq!(required_lock(0, 90_000_000, 3), 45_000_000);
        assert_eq!(required_lock(0, 1_000, 9), 166); // 1500 / 9, floored
        assert_eq!(required_lock(50_000_000, 1_000, 3), 50_000_000);
        assert_eq!(required_lock(0, 0, 3), 0);
    }

    #[test]
    fn required_lock_does_not_overflow_at_u64_extremes() {
        assert_eq!(
            required_lock(0, u64::MAX, 9),
            (u64::MAX as u128 * 3 / 2 / 9) as u64
        );
        assert_eq!(
            required_lock(0, u64::MAX, 3),
            (u64::MAX as u128 * 3 / 2 / 3) as u64
        );
        assert_eq!(required_lock(u64::MAX, u64::MAX, 9), u64::MAX);
        // Committees of one or two are not allowed, but the formula saturates.
        assert_eq!(required_lock(0, u64::MAX, 1), u64::MAX);
        assert_eq!(required_lock(0, u64::MAX, 0), u64::MAX);
    }

    #[test]
    fn payout_pays_fee_and_remainder_to_treasury() {
        let p = split_payout(1_000_003, 250, 3).unwrap();
        assert_eq!(p.fee, 25_000);
        assert_eq!(p.per_winner, 325_001);
        assert_eq!(p.remainder, 0);
        let p = split_payout(100, 0, 3).unwrap();
        assert_eq!(
            (p.fee, p.per_winner, p.remainder, p.treasury()),
            (0, 33, 1, 1)
        );
    }

    #[test]
    fn payout_at_u64_extremes() {
        let p = split_payout(u64::MAX, 10_000, 9).unwrap();
        assert_eq!((p.fee, p.per_winner, p.remainder), (u64::MAX, 0, 0));
        let p = split_payout(u64::MAX, 0, 1).unwrap();
        assert_eq!((p.fee, p.per_winner, p.remainder), (0, u64::MAX, 0));
        let p = split_payout(u64::MAX, 9_999, 6).unwrap();
        assert_eq!(
            p.fee as u128 + p.per_winner as u128 * 6 + p.remainder as u128,
            u64::MAX as u128
        );
    }

    #[test]
    fn payout_refuses_bad_fee_and_no_winners() {
        assert_eq!(
            split_payout(1, 10_001, 1),
            Err(EconomicsError::FeeAboveHundredPercent { fee_bps: 10_001 })
        );
        assert_eq!(split_payout(1, 0, 0), Err(EconomicsError::NoWinners));
    }

    #[test]
    fn non_response_penalty_is_capped_by_stake() {
        assert_eq!(non_response_penalty(50_000, 1_000_000), 50_000);
        assert_eq!(non_response_penalty(50_000, 20_000), 20_000);
        assert_eq!(non_response_penalty(u64::MAX, 0), 0);
    }

    #[test]
    fn stake_lock_needs_unlocked_stake() {
        let s = Stake {
            total: 100,
            locked: 40,
        };
        assert_eq!(
            s.lock(60),
            Ok(Stake {
                total: 100,
                locked: 100
            })
        );
        assert_eq!(
            s.lock(61),
            Err(EconomicsError::InsufficientUnlockedStake {
                unlocked: 60,
                needed: 61
            })
        );
        assert_eq!(
            s.unlock(41),
            Err(EconomicsError::LockUnderflow {
                locked: 40,
                needed: 41
            })
        );
    }

    #[test]
    fn wrong_submitter_loses_required_lock() {
        let s = Stake {
            total: 100,
            locked: 70,
        };
        assert_eq!(
            s.slash(30),
            Ok((
                Stake {
                    total: 70,
                    locked: 40
                },
                30
            ))
        );
    }

    #[test]
    fn non_submitter_is_released_then_penalized_from_unlocked_stake_only() {
        let s = Stake {
            total: 100,
            locked: 70,
        };
        // Lock 30 released; 40 stays locked for another job; penalty capped at 60.
        assert_eq!(
            s.penalize(30, 1_000),
            Ok((
                Stake {
                    total: 40,
                    locked: 40
                },
                60
            ))
        );
        assert_eq!(
            s.penalize(30, 5),
            Ok((
                Stake {
                    total: 95,
                    locked: 40
                },
                5
            ))
        );
    }

    #[test]
    fn winner_is_released_and_credited() {
        let s = Stake {
            total: 100,
            locked: 30,
        };
        assert_eq!(
            s.settle_winner(30, 7),
            Ok(Stake {
                total: 107,
                locked: 0
            })
        );
        assert_eq!(
            Stake {
                total: u64::MAX,
                locked: 0
            }
            .settle_winner(0, 1),
            Err(EconomicsError::Overflow)
        );
    }

    proptest! {
        #[test]
        fn payout_split_conserves_lamports(escrow in any::<u64>(), fee_bps in 0u16..=10_000, winners in 1u8..=9) {
            let p = split_payout(escrow, fee_bps, winners).unwrap();
            prop_assert_eq!(
                p.fee as u128 + p.per_winner as u128 * winners as u128 + p.remainder as u128,
                escrow as u128
            );
            prop_assert!(p.remainder < winners as u64);
            prop_assert_eq!(p.fee as u128, escrow as u128 * fee_bps as u128 / 10_000);
        }

        #[test]
        fn slash_and_penalty_conserve_lamports(total in any::<u64>(), locked_frac in 0u64..=100, lock_frac in 0u64..=100, penalty in any::<u64>()) {
            let locked = (total as u128 * locked_frac as u128 / 100) as u64;
            let lock = (locked as u128 * lock_frac as u128 / 100) as u64;
            let s = Stake { total, locked };
            let (after, moved) = s.slash(lock).unwrap();
            prop_assert_eq!(after.total as u128 + moved as u128, total as u128);
            prop_assert!(after.locked <= after.total);
            let (after, moved) = s.penalize(lock, penalty).unwrap();
            prop_assert_eq!(after.total as u128 + moved as u128, total as u128);
            prop_assert!(after.locked <= after.total, "other locks stay backed");
        }

        #[test]
        fn required_lock_is_at_least_min_and_monotone(min in any::<u64>(), escrow in any::<u64>(), size in 3u8..=9) {
            let lock = required_lock(min, escrow, size);
            let reference = (escrow as u128 * 3 / 2 / size as u128).max(min as u128);
            prop_assert_eq!(lock as u128, reference, "u64 formula equals the u128 one");
            prop_assert!(lock >= min);
            prop_assert!(required_lock(min, escrow.saturating_add(1), size) >= lock);
        }
    }
}
