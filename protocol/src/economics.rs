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

/// The largest `min_job_fee_lamports` a config may set: 0.1 SOL
/// ([`bounds::MAX_MIN_JOB_FEE_LAMPORTS`]) and at most
/// [`bounds::MAX_PROTOCOL_FEE_BPS`] of `min_escrow_lamports`, so that the
/// protocol fee of any escrow post_job accepts stays within 20% of it.
///
/// [`bounds::MAX_MIN_JOB_FEE_LAMPORTS`]: crate::state::bounds::MAX_MIN_JOB_FEE_LAMPORTS
/// [`bounds::MAX_PROTOCOL_FEE_BPS`]: crate::state::bounds::MAX_PROTOCOL_FEE_BPS
pub const fn min_job_fee_cap(min_escrow_lamports: u64) -> u64 {
    use crate::state::bounds;
    let share = bps_of(min_escrow_lamports, bounds::MAX_PROTOCOL_FEE_BPS);
    if share < bounds::MAX_MIN_JOB_FEE_LAMPORTS {
        share
    } else {
        bounds::MAX_MIN_JOB_FEE_LAMPORTS
    }
}

/// The protocol fee on an escrow:
/// `min(max(escrow * fee_bps / 10_000, min_job_fee), escrow)`. The
/// minimum covers what a job costs the operator however small its escrow;
/// the fee never takes more than the escrow. SBF-safe (see
/// [`required_lock`]).
pub const fn protocol_fee(
    escrow_lamports: u64,
    fee_bps: u16,
    min_job_fee: u64,
) -> Result<u64, EconomicsError> {
    if fee_bps as u64 > BPS_DENOMINATOR {
        return Err(EconomicsError::FeeAboveHundredPercent { fee_bps });
    }
    let share = bps_of(escrow_lamports, fee_bps);
    let fee = if share > min_job_fee {
        share
    } else {
        min_job_fee
    };
    Ok(if fee < escrow_lamports {
        fee
    } else {
        escrow_lamports
    })
}

/// How an escrow is paid out at finalize.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payout {
    /// The [`protocol_fee`], to the treasury.
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

/// Splits an escrow: the [`protocol_fee`] (with its minimum) to the
/// treasury, the rest in equal shares to the winners, the division
/// remainder to the treasury.
/// `fee + per_winner * winners + remainder == escrow` always.
pub const fn split_payout_with_minimum(
    escrow_lamports: u64,
    fee_bps: u16,
    min_job_fee: u64,
    winners: u8,
) -> Result<Payout, EconomicsError> {
    let fee = match protocol_fee(escrow_lamports, fee_bps, min_job_fee) {
        Ok(fee) => fee,
        Err(e) => return Err(e),
    };
    if winners == 0 {
        return Err(EconomicsError::NoWinners);
    }
    let rest = escrow_lamports - fee;
    Ok(Payout {
        fee,
        per_winner: rest / winners as u64,
        remainder: rest % winners as u64,
    })
}

/// The network's fee for a transaction with one signature (the client's
/// post_job).
pub const SIGNATURE_FEE: u64 = 5_000;

/// What posting a job costs its client, and what its escrow pays, given
/// the chain's terms and rents: the one price every client shows (portal,
/// CLI, website, SDK, the relay's demo budget).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobCost {
    pub escrow: u64,
    pub priority_fee: u64,
    /// The protocol fee, to the treasury.
    pub fee: u64,
    /// Each agreeing worker's share when the whole committee agrees …
    pub per_worker_all_agree: u64,
    /// … and when only the quorum does.
    pub per_worker_quorum_only: u64,
    /// The treasury's take when the whole committee agrees (fee, division
    /// remainder and priority fee).
    pub treasury_all_agree: u64,
    /// Rent of the committee's records, held by the job (the unused part
    /// comes back).
    pub records_deposit: u64,
    /// The Job account's rent (kept: the job stays on chain as evidence).
    pub job_rent: u64,
}

impl JobCost {
    /// Everything the client's account must hold to post.
    pub const fn total(&self) -> u64 {
        self.escrow + self.priority_fee + self.records_deposit + self.job_rent + SIGNATURE_FEE
    }
}

/// The [`JobCost`] of an escrow for a committee of `size` with `quorum`,
/// under `fee_bps` and `min_job_fee`, with the chain's rent of a
/// JobResult, an OutputAvailability and a Job.
#[allow(clippy::too_many_arguments)]
pub fn job_cost(
    escrow: u64,
    priority_fee: u64,
    fee_bps: u16,
    min_job_fee: u64,
    (size, quorum): (u8, u8),
    (result_rent, output_rent, job_rent): (u64, u64, u64),
) -> Result<JobCost, EconomicsError> {
    let all = split_payout_with_minimum(escrow, fee_bps, min_job_fee, size)?;
    let q = split_payout_with_minimum(escrow, fee_bps, min_job_fee, quorum)?;
    Ok(JobCost {
        escrow,
        priority_fee,
        fee: all.fee,
        per_worker_all_agree: all.per_winner,
        per_worker_quorum_only: q.per_winner,
        treasury_all_agree: all.treasury().saturating_add(priority_fee),
        records_deposit: records_deposit(result_rent, output_rent, size)
            .ok_or(EconomicsError::Overflow)?,
        job_rent,
    })
}

/// [`split_payout_with_minimum`] without a minimum fee: `escrow * fee_bps /
/// 10_000` to the treasury, the rest shared.
pub const fn split_payout(
    escrow_lamports: u64,
    fee_bps: u16,
    winners: u8,
) -> Result<Payout, EconomicsError> {
    split_payout_with_minimum(escrow_lamports, fee_bps, 0, winners)
}

/// What a job account holds above its rent: the escrow, what is left of
/// the records deposit, and the priority fee. Every lamport of it leaves
/// through [`Held::finalize`] or [`Held::refund`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub escrow: u64,
    pub records: u64,
    pub priority_fee: u64,
}

/// Where a finalized job's held lamports go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finalized {
    /// The escrow's split among the treasury and the winners.
    pub payout: Payout,
    /// To the treasury: the fee, the division remainder and the priority
    /// fee (it bought scheduling order, a service of the operator).
    pub treasury: u64,
    /// Back to the client: the unused records deposit.
    pub client: u64,
}

impl Held {
    /// Everything held, `None` if it does not fit in u64.
    pub const fn total(&self) -> Option<u64> {
        match self.escrow.checked_add(self.records) {
            Some(t) => t.checked_add(self.priority_fee),
            None => None,
        }
    }

    /// Settlement at finalize, under the job's terms (`fee_bps`,
    /// `min_job_fee`) with `winners` paid:
    /// `treasury + per_winner * winners + client == total()`.
    pub const fn finalize(
        self,
        fee_bps: u16,
        min_job_fee: u64,
        winners: u8,
    ) -> Result<Finalized, EconomicsError> {
        let payout = match split_payout_with_minimum(self.escrow, fee_bps, min_job_fee, winners) {
            Ok(p) => p,
            Err(e) => return Err(e),
        };
        // fee + remainder <= escrow, so the first sum cannot wrap.
        let treasury = match payout.treasury().checked_add(self.priority_fee) {
            Some(t) => t,
            None => return Err(EconomicsError::Overflow),
        };
        Ok(Finalized {
            payout,
            treasury,
            client: self.records,
        })
    }

    /// A cancelled job's refund to the client: all of it (no service was
    /// delivered, so the priority fee comes back too).
    pub const fn refund(self) -> Result<u64, EconomicsError> {
        match self.total() {
            Some(t) => Ok(t),
            None => Err(EconomicsError::Overflow),
        }
    }
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
    #[test]
    fn a_job_cost_accounts_for_every_lamport() {
        let c = job_cost(10_000_000, 1_000, 250, 10_000, (3, 2), (100, 200, 300)).unwrap();
        assert_eq!(c.fee, 250_000);
        assert_eq!(
            c.fee + 3 * c.per_worker_all_agree + (c.treasury_all_agree - c.fee - c.priority_fee),
            10_000_000
        );
        assert_eq!(c.per_worker_quorum_only, 9_750_000 / 2);
        assert_eq!(c.records_deposit, 3 * 100 + 200);
        assert_eq!(c.total(), 10_000_000 + 1_000 + 500 + 300 + SIGNATURE_FEE);
        // The minimum fee applies to a small escrow.
        assert_eq!(
            job_cost(100_000, 0, 250, 10_000, (3, 2), (0, 0, 0))
                .unwrap()
                .fee,
            10_000
        );
        assert_eq!(
            job_cost(1, 0, 250, 0, (0, 0), (0, 0, 0)),
            Err(EconomicsError::NoWinners)
        );
    }

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

    #[test]
    fn the_minimum_fee_applies_when_the_bps_share_is_smaller() {
        // 2.5% of 200_000 is 5_000: the 10_000 minimum applies.
        assert_eq!(protocol_fee(200_000, 250, 10_000), Ok(10_000));
        // 2.5% of 50_000_000 is 1_250_000: above the minimum.
        assert_eq!(protocol_fee(50_000_000, 250, 10_000), Ok(1_250_000));
        // Never more than the escrow.
        assert_eq!(protocol_fee(7_000, 250, 10_000), Ok(7_000));
        assert_eq!(protocol_fee(0, 0, u64::MAX), Ok(0));
        assert_eq!(
            protocol_fee(1, 10_001, 0),
            Err(EconomicsError::FeeAboveHundredPercent { fee_bps: 10_001 })
        );
        let p = split_payout_with_minimum(200_000, 250, 10_000, 3).unwrap();
        assert_eq!((p.fee, p.per_winner, p.remainder), (10_000, 63_333, 1));
        // The whole escrow as fee: the winners get nothing, nothing is lost.
        let p = split_payout_with_minimum(7_000, 250, 10_000, 3).unwrap();
        assert_eq!((p.fee, p.per_winner, p.remainder), (7_000, 0, 0));
        assert_eq!(
            split_payout_with_minimum(1, 0, 0, 0),
            Err(EconomicsError::NoWinners)
        );
    }

    #[test]
    fn the_minimum_fee_cap_is_a_fifth_of_the_minimum_escrow_and_at_most_a_tenth_of_a_sol() {
        assert_eq!(min_job_fee_cap(1_000_000), 200_000);
        assert_eq!(min_job_fee_cap(0), 0);
        assert_eq!(min_job_fee_cap(500_000_000), 100_000_000);
        assert_eq!(min_job_fee_cap(u64::MAX), 100_000_000);
    }

    #[test]
    fn finalize_sends_the_priority_fee_to_the_treasury_and_the_records_left_to_the_client() {
        let held = Held {
            escrow: 200_000,
            records: 4_000,
            priority_fee: 30_000,
        };
        let f = held.finalize(250, 10_000, 2).unwrap();
        assert_eq!(f.payout.fee, 10_000);
        assert_eq!(f.payout.per_winner, 95_000);
        assert_eq!(f.treasury, 10_000 + 30_000);
        assert_eq!(f.client, 4_000);
        assert_eq!(held.refund(), Ok(234_000));
        let huge = Held {
            escrow: u64::MAX,
            records: 0,
            priority_fee: 1,
        };
        assert_eq!(huge.refund(), Err(EconomicsError::Overflow));
        assert_eq!(huge.finalize(10_000, 0, 1), Err(EconomicsError::Overflow));
    }

    proptest! {
        #[test]
        fn the_protocol_fee_is_the_larger_of_share_and_minimum_capped_by_the_escrow(
            escrow in any::<u64>(),
            fee_bps in 0u16..=10_000,
            min_fee in prop_oneof![Just(0u64), 0u64..1_000_000, any::<u64>()],
        ) {
            let fee = protocol_fee(escrow, fee_bps, min_fee).unwrap();
            let reference = (u128::from(escrow) * u128::from(fee_bps) / 10_000)
                .max(u128::from(min_fee))
                .min(u128::from(escrow));
            prop_assert_eq!(u128::from(fee), reference);
            prop_assert!(fee <= escrow);
            prop_assert!(fee >= min_fee.min(escrow));
        }

        #[test]
        fn a_job_settles_every_lamport_it_holds(
            escrow in prop_oneof![0u64..10_000_000_000, any::<u64>()],
            records in 0u64..100_000_000,
            priority_fee in prop_oneof![Just(0u64), 0u64..10_000_000_000, any::<u64>()],
            fee_bps in 0u16..=2_000,
            min_fee in prop_oneof![Just(0u64), 0u64..=100_000_000],
            winners in 1u8..=9,
        ) {
            let held = Held { escrow, records, priority_fee };
            let total = u128::from(escrow) + u128::from(records) + u128::from(priority_fee);
            match held.refund() {
                Ok(r) => prop_assert_eq!(u128::from(r), total),
                Err(e) => {
                    prop_assert_eq!(e, EconomicsError::Overflow);
                    prop_assert!(total > u128::from(u64::MAX));
                }
            }
            match held.finalize(fee_bps, min_fee, winners) {
                Ok(f) => {
                    prop_assert_eq!(
                        u128::from(f.treasury)
                            + u128::from(f.payout.per_winner) * u128::from(winners)
                            + u128::from(f.client),
                        total
                    );
                    prop_assert_eq!(
                        f.treasury - f.payout.fee - f.payout.remainder,
                        priority_fee,
                        "the priority fee goes to the treasury whole"
                    );
                    prop_assert_eq!(f.client, records);
                    prop_assert!(f.payout.fee <= escrow);
                }
                Err(e) => {
                    prop_assert_eq!(e, EconomicsError::Overflow);
                    prop_assert!(u128::from(escrow) + u128::from(priority_fee) > u128::from(u64::MAX));
                }
            }
        }

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
        fn payout_with_a_minimum_fee_conserves_lamports(
            escrow in any::<u64>(),
            fee_bps in 0u16..=10_000,
            min_fee in any::<u64>(),
            winners in 1u8..=9,
        ) {
            let p = split_payout_with_minimum(escrow, fee_bps, min_fee, winners).unwrap();
            prop_assert_eq!(
                p.fee as u128 + p.per_winner as u128 * winners as u128 + p.remainder as u128,
                escrow as u128
            );
            prop_assert_eq!(p.fee, protocol_fee(escrow, fee_bps, min_fee).unwrap());
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
