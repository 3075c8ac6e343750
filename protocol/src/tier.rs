//! Committee tiers: the escrow at post_job sets the committee size and
//! quorum.
//!
//! | tier | escrow (lamports) | committee | quorum | SLA |
//! | --- | --- | --- | --- | --- |
//! | 0 | < 100_000_000 | 3 | 2 | Bronze |
//! | 1 | 100_000_000 ..< 1_000_000_000 | 5 | 3 | Silver |
//! | 2 | 1_000_000_000 ..< 10_000_000_000 | 7 | 5 | Gold |
//! | 3 | ≥ 10_000_000_000 | 9 | 6 | Gold+ |

/// Smallest committee the protocol allows.
pub const MIN_COMMITTEE_SIZE: u8 = 3;
/// Largest committee the protocol allows (and the size of the Job's
/// assigned-worker table).
pub const MAX_COMMITTEE_SIZE: u8 = 9;

/// A committee tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Tier {
    Bronze = 0,
    Silver = 1,
    Gold = 2,
    GoldPlus = 3,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Bronze, Tier::Silver, Tier::Gold, Tier::GoldPlus];

    /// The tier an escrow of `escrow_lamports` buys.
    pub const fn for_escrow(escrow_lamports: u64) -> Tier {
        if escrow_lamports >= Tier::GoldPlus.min_escrow() {
            Tier::GoldPlus
        } else if escrow_lamports >= Tier::Gold.min_escrow() {
            Tier::Gold
        } else if escrow_lamports >= Tier::Silver.min_escrow() {
            Tier::Silver
        } else {
            Tier::Bronze
        }
    }

    /// The smallest escrow that buys this tier.
    pub const fn min_escrow(self) -> u64 {
        match self {
            Tier::Bronze => 0,
            Tier::Silver => 100_000_000,
            Tier::Gold => 1_000_000_000,
            Tier::GoldPlus => 10_000_000_000,
        }
    }

    /// The escrow our clients post when a customer names only the tier:
    /// its minimum, but at least 0.01 SOL so the committee is paid.
    pub const fn default_escrow(self) -> u64 {
        let min = self.min_escrow();
        if min > 10_000_000 { min } else { 10_000_000 }
    }

    pub const fn committee(self) -> Committee {
        match self {
            Tier::Bronze => Committee { size: 3, quorum: 2 },
            Tier::Silver => Committee { size: 5, quorum: 3 },
            Tier::Gold => Committee { size: 7, quorum: 5 },
            Tier::GoldPlus => Committee { size: 9, quorum: 6 },
        }
    }

    /// The SLA name shown to customers.
    pub const fn sla_name(self) -> &'static str {
        match self {
            Tier::Bronze => "Bronze",
            Tier::Silver => "Silver",
            Tier::Gold => "Gold",
            Tier::GoldPlus => "Gold+",
        }
    }

    /// Parses a tier from its CLI/API name: `bronze`, `silver`, `gold`,
    /// `gold+` (or `goldplus`), case-insensitive.
    pub fn from_name(name: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| {
            name.eq_ignore_ascii_case(t.sla_name())
                || (*t == Tier::GoldPlus && name.eq_ignore_ascii_case("goldplus"))
        })
    }

    pub const fn from_index(index: u8) -> Option<Tier> {
        match index {
            0 => Some(Tier::Bronze),
            1 => Some(Tier::Silver),
            2 => Some(Tier::Gold),
            3 => Some(Tier::GoldPlus),
            _ => None,
        }
    }

    /// The next lower tier, if any.
    const fn lower(self) -> Option<Tier> {
        match self {
            Tier::Bronze => None,
            Tier::Silver => Some(Tier::Bronze),
            Tier::Gold => Some(Tier::Silver),
            Tier::GoldPlus => Some(Tier::Gold),
        }
    }
}

/// A committee's size and the number of matching results that make a quorum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Committee {
    pub size: u8,
    pub quorum: u8,
}

/// Why a committee shape is not allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommitteeError {
    #[error("committee size {size} is outside 3..=9")]
    SizeOutOfRange { size: u8 },
    #[error(
        "quorum {quorum} of {size} is not a strict majority no larger than the committee: use size/2 < quorum <= size"
    )]
    BadQuorum { size: u8, quorum: u8 },
    #[error("max_committee_size {max} is below the smallest committee (3)")]
    MaxBelowMinimum { max: u8 },
    #[error(
        "default committee of {size} is above max_committee_size {max}: lower it or raise the maximum"
    )]
    DefaultAboveMax { size: u8, max: u8 },
}

impl Committee {
    /// A committee is 3..=9 workers with a strict-majority quorum, so two
    /// different outputs can never both reach quorum.
    pub const fn validate(self) -> Result<Committee, CommitteeError> {
        if self.size < MIN_COMMITTEE_SIZE || self.size > MAX_COMMITTEE_SIZE {
            return Err(CommitteeError::SizeOutOfRange { size: self.size });
        }
        if self.quorum > self.size || (self.quorum as u16) * 2 <= self.size as u16 {
            return Err(CommitteeError::BadQuorum {
                size: self.size,
                quorum: self.quorum,
            });
        }
        Ok(self)
    }
}

/// The committee a job gets at post time.
///
/// With tiering on, the escrow's tier decides; if that tier's committee is
/// larger than `max_committee_size`, the highest tier that fits is used
/// instead (the job stays alive with a smaller, still-majority committee).
/// With tiering off, the configured default committee applies.
pub const fn committee_for(
    escrow_lamports: u64,
    tiering_enabled: bool,
    default: Committee,
    max_committee_size: u8,
) -> Result<Committee, CommitteeError> {
    if max_committee_size < MIN_COMMITTEE_SIZE {
        return Err(CommitteeError::MaxBelowMinimum {
            max: max_committee_size,
        });
    }
    if !tiering_enabled {
        if default.size > max_committee_size {
            return Err(CommitteeError::DefaultAboveMax {
                size: default.size,
                max: max_committee_size,
            });
        }
        return default.validate();
    }
    let mut tier = Tier::for_escrow(escrow_lamports);
    while tier.committee().size > max_committee_size {
        tier = match tier.lower() {
            Some(t) => t,
            None => {
                return Err(CommitteeError::MaxBelowMinimum {
                    max: max_committee_size,
                });
            }
        };
    }
    Ok(tier.committee())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_escrow_buys_the_tier_and_pays_at_least_a_hundredth_sol() {
        for tier in Tier::ALL {
            assert_eq!(Tier::for_escrow(tier.default_escrow()), tier);
            assert!(tier.default_escrow() >= 10_000_000);
        }
        assert_eq!(Tier::Bronze.default_escrow(), 10_000_000);
        assert_eq!(Tier::Gold.default_escrow(), Tier::Gold.min_escrow());
    }

    #[test]
    fn tier_edges_follow_the_table() {
        let cases = [
            (0, Tier::Bronze),
            (99_999_999, Tier::Bronze),
            (100_000_000, Tier::Silver),
            (999_999_999, Tier::Silver),
            (1_000_000_000, Tier::Gold),
            (9_999_999_999, Tier::Gold),
            (10_000_000_000, Tier::GoldPlus),
            (u64::MAX, Tier::GoldPlus),
        ];
        for (escrow, tier) in cases {
            assert_eq!(Tier::for_escrow(escrow), tier, "escrow {escrow}");
        }
    }

    #[test]
    fn tiers_have_the_specified_committees() {
        let shapes: [(u8, u8); 4] = [(3, 2), (5, 3), (7, 5), (9, 6)];
        for (tier, (size, quorum)) in Tier::ALL.into_iter().zip(shapes) {
            assert_eq!(tier.committee(), Committee { size, quorum });
            assert_eq!(tier.committee().validate(), Ok(tier.committee()));
            assert_eq!(Tier::from_index(tier as u8), Some(tier));
        }
    }

    #[test]
    fn tier_names_parse() {
        assert_eq!(Tier::from_name("bronze"), Some(Tier::Bronze));
        assert_eq!(Tier::from_name("Silver"), Some(Tier::Silver));
        assert_eq!(Tier::from_name("GOLD"), Some(Tier::Gold));
        assert_eq!(Tier::from_name("gold+"), Some(Tier::GoldPlus));
        assert_eq!(Tier::from_name("goldplus"), Some(Tier::GoldPlus));
        assert_eq!(Tier::from_name("platinum"), None);
    }

    #[test]
    fn committee_needs_a_strict_majority_quorum_and_size_3_to_9() {
        assert!(Committee { size: 3, quorum: 2 }.validate().is_ok());
        assert_eq!(
            Committee { size: 4, quorum: 2 }.validate(),
            Err(CommitteeError::BadQuorum { size: 4, quorum: 2 })
        );
        assert!(Committee { size: 3, quorum: 4 }.validate().is_err());
        assert_eq!(
            Committee { size: 2, quorum: 2 }.validate(),
            Err(CommitteeError::SizeOutOfRange { size: 2 })
        );
        assert_eq!(
            Committee {
                size: 10,
                quorum: 7
            }
            .validate(),
            Err(CommitteeError::SizeOutOfRange { size: 10 })
        );
    }

    #[test]
    fn a_smaller_max_committee_steps_down_to_the_highest_tier_that_fits() {
        let default = Committee { size: 3, quorum: 2 };
        let gold_plus = 10_000_000_000;
        assert_eq!(
            committee_for(gold_plus, true, default, 9),
            Ok(Committee { size: 9, quorum: 6 })
        );
        assert_eq!(
            committee_for(gold_plus, true, default, 8),
            Ok(Committee { size: 7, quorum: 5 })
        );
        assert_eq!(
            committee_for(gold_plus, true, default, 5),
            Ok(Committee { size: 5, quorum: 3 })
        );
        assert_eq!(
            committee_for(gold_plus, true, default, 3),
            Ok(Committee { size: 3, quorum: 2 })
        );
        assert_eq!(
            committee_for(gold_plus, true, default, 2),
            Err(CommitteeError::MaxBelowMinimum { max: 2 })
        );
    }

    #[test]
    fn without_tiering_the_default_committee_applies() {
        let default = Committee { size: 5, quorum: 3 };
        assert_eq!(
            committee_for(10_000_000_000, false, default, 9),
            Ok(default)
        );
        assert_eq!(committee_for(1, false, default, 9), Ok(default));
        assert_eq!(
            committee_for(1, false, default, 4),
            Err(CommitteeError::DefaultAboveMax { size: 5, max: 4 })
        );
    }
}
