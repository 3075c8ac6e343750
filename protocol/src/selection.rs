//! Committee selection: stake-weighted sampling without replacement, from a
//! seed fixed on chain before assignment. Reproducible by anyone from the
//! on-chain seed, the job id and the eligible-set snapshot the relay serves.
//!
//! For draw `r = 0, 1, …`:
//! `x = u128_le(blake3(seed || job_id || r as u8)[0..16]) % total_weight`;
//! walk the cumulative weights (workers sorted by pubkey bytes) to the first
//! worker whose cumulative weight exceeds `x`, pick it, remove it, and
//! subtract its weight. Integer arithmetic only; no allocation.
//!
//! Replacements (reassign_missing) continue the same sequence: they start at
//! the draw number the Job records (`draws`) and exclude every worker
//! currently in the job's assigned table, including the ones being replaced.

use crate::hash::Hash;
use crate::tier::MAX_COMMITTEE_SIZE;

/// An eligible worker and its weight (its unlocked stake).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Candidate {
    pub worker: [u8; 32],
    pub weight: u64,
}

/// Why a committee cannot be drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    #[error(
        "eligible set is not sorted by pubkey with no duplicates (at index {index}): sort it with sort_eligible"
    )]
    NotSorted { index: usize },
    #[error(
        "only {available} eligible workers with stake for {needed} seats: wait for more workers or lower the committee size"
    )]
    NotEnoughEligible { available: usize, needed: usize },
    #[error("a committee of {size} is above the maximum of 9")]
    TooMany { size: usize },
    #[error("draw number {draws} would pass 255: no more replacements can be drawn for this job")]
    DrawsExhausted { draws: usize },
}

/// The workers a selection picked, in draw order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selection {
    workers: [[u8; 32]; MAX_COMMITTEE_SIZE as usize],
    len: u8,
}

impl Selection {
    pub fn as_slice(&self) -> &[[u8; 32]] {
        &self.workers[..self.len as usize]
    }
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The random value of draw `round`: the first 16 bytes of
/// `blake3(seed || job_id || round)`, little-endian.
pub fn draw_value(seed: &Hash, job_id: &Hash, round: u8) -> u128 {
    let mut pre = [0u8; 65];
    pre[..32].copy_from_slice(seed);
    pre[32..64].copy_from_slice(job_id);
    pre[64] = round;
    let h = ::blake3::hash(&pre);
    let mut x = [0u8; 16];
    x.copy_from_slice(&h.as_bytes()[..16]);
    u128::from_le_bytes(x)
}

/// Checks the canonical order: strictly increasing pubkey bytes.
pub fn check_sorted(eligible: &[Candidate]) -> Result<(), SelectionError> {
    match eligible.windows(2).position(|w| w[0].worker >= w[1].worker) {
        Some(i) => Err(SelectionError::NotSorted { index: i + 1 }),
        None => Ok(()),
    }
}

/// Sorts an eligible set into the canonical order, merging nothing: a
/// duplicate pubkey is an error, not something to guess about.
pub fn sort_eligible(eligible: &mut [Candidate]) -> Result<(), SelectionError> {
    eligible.sort_unstable_by_key(|c| c.worker);
    check_sorted(eligible)
}

/// The snapshot hash published with an assignment:
/// `blake3(pubkey_0 || weight_0_u64_le || pubkey_1 || …)` over the sorted
/// eligible set.
pub fn snapshot_hash(eligible: &[Candidate]) -> Result<Hash, SelectionError> {
    check_sorted(eligible)?;
    let mut h = ::blake3::Hasher::new();
    for c in eligible {
        h.update(&c.worker);
        h.update(&c.weight.to_le_bytes());
    }
    Ok(*h.finalize().as_bytes())
}

/// Size of one snapshot record: pubkey (32 bytes) and weight (u64 LE).
pub const SNAPSHOT_RECORD_BYTES: usize = 40;

/// The snapshot's bytes, exactly what [`snapshot_hash`] hashes: one
/// `pubkey || weight (u64 LE)` record per worker, in order.
#[cfg(feature = "alloc")]
pub fn snapshot_bytes(eligible: &[Candidate]) -> alloc::vec::Vec<u8> {
    let mut out = alloc::vec::Vec::with_capacity(eligible.len() * SNAPSHOT_RECORD_BYTES);
    for c in eligible {
        out.extend_from_slice(&c.worker);
        out.extend_from_slice(&c.weight.to_le_bytes());
    }
    out
}

/// Why bytes are not a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error(
        "its length {len} is not a multiple of 40 bytes (pubkey 32 + weight u64 LE per worker)"
    )]
    Length { len: usize },
    #[error(
        "record {index}'s pubkey is not above the one before it; records must be sorted by pubkey bytes with no duplicates"
    )]
    NotSorted { index: usize },
}

/// Reads [`snapshot_bytes`] back, checking the canonical order.
#[cfg(feature = "alloc")]
pub fn parse_snapshot(bytes: &[u8]) -> Result<alloc::vec::Vec<Candidate>, SnapshotError> {
    let (records, rest) = bytes.as_chunks::<SNAPSHOT_RECORD_BYTES>();
    if !rest.is_empty() {
        return Err(SnapshotError::Length { len: bytes.len() });
    }
    let eligible: alloc::vec::Vec<Candidate> = records
        .iter()
        .map(|r| {
            let (worker, weight) = r.split_at(32);
            Candidate {
                worker: worker.try_into().expect("32 bytes"),
                weight: u64::from_le_bytes(weight.try_into().expect("8 bytes")),
            }
        })
        .collect();
    match check_sorted(&eligible) {
        Err(SelectionError::NotSorted { index }) => Err(SnapshotError::NotSorted { index }),
        _ => Ok(eligible),
    }
}

/// Draws a job's committee of `size` from the eligible set (draws
/// `0..size`).
pub fn select_committee(
    seed: &Hash,
    job_id: &Hash,
    eligible: &[Candidate],
    size: u8,
) -> Result<Selection, SelectionError> {
    select(seed, job_id, eligible, &[], size, 0)
}

/// Draws `count` workers starting at draw number `first_draw`, never
/// picking a worker in `exclude`. `select_committee` is this with nothing
/// excluded and `first_draw = 0`; reassign_missing uses it with the job's
/// assigned table as `exclude` and the job's `draws` as `first_draw`.
pub fn select(
    seed: &Hash,
    job_id: &Hash,
    eligible: &[Candidate],
    exclude: &[[u8; 32]],
    count: u8,
    first_draw: u8,
) -> Result<Selection, SelectionError> {
    check_sorted(eligible)?;
    if count > MAX_COMMITTEE_SIZE {
        return Err(SelectionError::TooMany { size: count.into() });
    }
    if first_draw as usize + count as usize > 256 {
        return Err(SelectionError::DrawsExhausted {
            draws: first_draw as usize + count as usize,
        });
    }
    let available = |c: &Candidate| c.weight > 0 && !exclude.contains(&c.worker);
    let pickable = eligible.iter().filter(|c| available(c)).count();
    if pickable < count as usize {
        return Err(SelectionError::NotEnoughEligible {
            available: pickable,
            needed: count.into(),
        });
    }
    let mut total: u128 = eligible
        .iter()
        .filter(|c| available(c))
        .map(|c| u128::from(c.weight))
        .sum();
    let mut out = Selection {
        workers: [[0; 32]; MAX_COMMITTEE_SIZE as usize],
        len: 0,
    };
    for i in 0..count {
        let x = draw_value(seed, job_id, first_draw + i) % total;
        let picked = &out.workers[..out.len as usize];
        let mut cumulative: u128 = 0;
        let mut chosen = None;
        for c in eligible
            .iter()
            .filter(|c| available(c) && !picked.contains(&c.worker))
        {
            cumulative += u128::from(c.weight);
            if x < cumulative {
                chosen = Some(c);
                break;
            }
        }
        // x < total and total is the sum walked, so the walk always ends on
        // a worker with positive weight.
        let Some(c) = chosen else {
            unreachable!("draw {x} not below total weight {total}")
        };
        out.workers[out.len as usize] = c.worker;
        out.len += 1;
        total -= u128::from(c.weight);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn key(i: u32) -> [u8; 32] {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&i.to_be_bytes());
        k
    }

    fn set(weights: &[u64]) -> Vec<Candidate> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| Candidate {
                worker: key(i as u32),
                weight,
            })
            .collect()
    }

    #[test]
    fn draw_value_is_the_first_16_bytes_of_blake3_little_endian() {
        let mut pre = [0u8; 65];
        pre[..32].fill(1);
        pre[32..64].fill(2);
        pre[64] = 3;
        let h = ::blake3::hash(&pre);
        let expected = u128::from_le_bytes(h.as_bytes()[..16].try_into().unwrap());
        assert_eq!(draw_value(&[1; 32], &[2; 32], 3), expected);
    }

    #[test]
    fn the_walk_picks_the_first_worker_whose_cumulative_weight_exceeds_x() {
        // Recompute draw 0 by hand for a three-worker set.
        let eligible = set(&[10, 20, 30]);
        let (seed, job) = ([5u8; 32], [6u8; 32]);
        let x = draw_value(&seed, &job, 0) % 60;
        let expected = if x < 10 {
            0
        } else if x < 30 {
            1
        } else {
            2
        };
        let sel = select_committee(&seed, &job, &eligible, 1).unwrap();
        assert_eq!(sel.as_slice(), &[key(expected)]);
    }

    #[test]
    fn unsorted_or_duplicate_sets_are_refused() {
        let mut s = set(&[1, 1, 1]);
        s.swap(0, 2);
        assert_eq!(
            select_committee(&[0; 32], &[0; 32], &s, 1),
            Err(SelectionError::NotSorted { index: 1 })
        );
        let dup = [s[0], s[0]];
        assert_eq!(
            snapshot_hash(&dup),
            Err(SelectionError::NotSorted { index: 1 })
        );
        let mut v = s.clone();
        sort_eligible(&mut v).unwrap();
        assert_eq!(
            v,
            set(&[1, 1, 1])
                .iter()
                .map(|c| Candidate { weight: 1, ..*c })
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn too_few_staked_workers_is_an_error() {
        let s = set(&[5, 0, 5]);
        assert_eq!(
            select_committee(&[0; 32], &[0; 32], &s, 3),
            Err(SelectionError::NotEnoughEligible {
                available: 2,
                needed: 3
            })
        );
        let sel = select_committee(&[0; 32], &[0; 32], &s, 2).unwrap();
        assert!(!sel.as_slice().contains(&key(1)));
    }

    #[test]
    fn replacements_continue_the_draws_and_skip_the_assigned() {
        let s = set(&[1; 12]);
        let (seed, job) = ([1u8; 32], [2u8; 32]);
        let committee = select_committee(&seed, &job, &s, 3).unwrap();
        let repl = select(&seed, &job, &s, committee.as_slice(), 1, 3).unwrap();
        assert!(!committee.as_slice().contains(&repl.as_slice()[0]));
        assert_eq!(
            select(&seed, &job, &s, &[], 2, 255),
            Err(SelectionError::DrawsExhausted { draws: 257 })
        );
    }

    #[test]
    fn snapshot_bytes_round_trip_and_hash_to_the_snapshot_hash() {
        let s = set(&[7, 8, 9]);
        let bytes = snapshot_bytes(&s);
        assert_eq!(bytes.len(), 3 * SNAPSHOT_RECORD_BYTES);
        assert_eq!(
            *::blake3::hash(&bytes).as_bytes(),
            snapshot_hash(&s).unwrap()
        );
        assert_eq!(parse_snapshot(&bytes).unwrap(), s);
        assert_eq!(
            parse_snapshot(&bytes[1..]),
            Err(SnapshotError::Length { len: 119 })
        );
        let mut swapped = bytes[40..80].to_vec();
        swapped.extend_from_slice(&bytes[..40]);
        assert_eq!(
            parse_snapshot(&swapped),
            Err(SnapshotError::NotSorted { index: 1 })
        );
    }

    #[test]
    fn snapshot_hash_covers_keys_and_weights_in_order() {
        let s = set(&[7, 9]);
        let mut pre = Vec::new();
        for c in &s {
            pre.extend_from_slice(&c.worker);
            pre.extend_from_slice(&c.weight.to_le_bytes());
        }
        assert_eq!(snapshot_hash(&s).unwrap(), *::blake3::hash(&pre).as_bytes());
        assert_ne!(
            snapshot_hash(&s).unwrap(),
            snapshot_hash(&set(&[7, 8])).unwrap()
        );
    }

    /// Chi-square goodness of fit of first picks against stake weights.
    /// Seeds are derived deterministically, so the test is reproducible;
    /// the bound is the 0.1% critical value for 3 degrees of freedom.
    #[test]
    fn first_picks_follow_stake_weights() {
        let weights = [1_000u64, 2_000, 3_000, 4_000];
        let s = set(&weights);
        let n = 20_000u32;
        let mut counts = [0u32; 4];
        for i in 0..n {
            let seed = *::blake3::hash(&i.to_le_bytes()).as_bytes();
            let sel = select_committee(&seed, &[9; 32], &s, 1).unwrap();
            let idx = s
                .iter()
                .position(|c| c.worker == sel.as_slice()[0])
                .unwrap();
            counts[idx] += 1;
        }
        let total: u64 = weights.iter().sum();
        let chi2: f64 = counts
            .iter()
            .zip(weights)
            .map(|(&o, w)| {
                let e = n as f64 * w as f64 / total as f64;
                (o as f64 - e).powi(2) / e
            })
            .sum();
        assert!(chi2 < 16.27, "chi-square {chi2} for counts {counts:?}");
    }

    /// Equal stakes: each of 6 workers joins a committee of 3 half the time.
    #[test]
    fn equal_stakes_give_equal_inclusion() {
        let s = set(&[5; 6]);
        let n = 12_000u32;
        let mut counts = [0u32; 6];
        for i in 0..n {
            let job = *::blake3::hash(&i.to_le_bytes()).as_bytes();
            for w in select_committee(&[3; 32], &job, &s, 3).unwrap().as_slice() {
                counts[s.iter().position(|c| c.worker == *w).unwrap()] += 1;
            }
        }
        let e = n as f64 * 3.0 / 6.0;
        let chi2: f64 = counts.iter().map(|&o| (o as f64 - e).powi(2) / e).sum();
        // 0.1% critical value for 5 degrees of freedom.
        assert!(chi2 < 20.52, "chi-square {chi2} for counts {counts:?}");
    }

    fn arb_set() -> impl Strategy<Value = Vec<Candidate>> {
        proptest::collection::btree_map(
            any::<[u8; 32]>(),
            prop_oneof![Just(0u64), 1u64..=u64::MAX],
            1..40,
        )
        .prop_map(|m| {
            m.into_iter()
                .map(|(worker, weight)| Candidate { worker, weight })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn selection_is_deterministic_distinct_and_skips_zero_weight(
            eligible in arb_set(), seed in any::<[u8; 32]>(), job in any::<[u8; 32]>(), size in 1u8..=9,
        ) {
            let a = select_committee(&seed, &job, &eligible, size);
            prop_assert_eq!(a, select_committee(&seed, &job, &eligible, size));
            let staked = eligible.iter().filter(|c| c.weight > 0).count();
            match a {
                Ok(sel) => {
                    prop_assert_eq!(sel.len(), size as usize);
                    for (i, w) in sel.as_slice().iter().enumerate() {
                        let c = eligible.iter().find(|c| c.worker == *w);
                        prop_assert!(c.is_some_and(|c| c.weight > 0), "picked an ineligible or zero-weight worker");
                        prop_assert!(!sel.as_slice()[..i].contains(w), "picked a worker twice");
                    }
                }
                Err(e) => {
                    prop_assert_eq!(e, SelectionError::NotEnoughEligible { available: staked, needed: size as usize });
                }
            }
        }
    }
}

/// Checking a job's committee after the fact: the draws the program
/// recorded (its WorkersAssigned and WorkerReassigned events, transaction
/// by transaction) redrawn from the seed over the snapshots they name.
/// The portal's "Verify committee" and `edgerun verify` both run this.
#[cfg(feature = "alloc")]
pub mod audit {
    use alloc::vec::Vec;

    use super::{SelectionError, SnapshotError, parse_snapshot, select, snapshot_hash};
    use crate::event::AnyEvent;
    use crate::hash::Hash;

    /// One draw as the program recorded it.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct RecordedDraw {
        /// A reassignment's replacements, not the first committee.
        pub replacement: bool,
        /// The eligible-set snapshot the scheduler named.
        pub snapshot_hash: Hash,
        /// The draw number it starts at.
        pub first_draw: u8,
        /// The workers the program seated, in draw order.
        pub workers: Vec<[u8; 32]>,
    }

    /// Why a recorded draw could not be redrawn to the same workers.
    #[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
    pub enum RedrawError {
        #[error("the snapshot is not one: {0}")]
        Snapshot(#[from] SnapshotError),
        #[error("the snapshot bytes hash to {actual:02x?}, not to the hash the event names")]
        WrongSnapshot { actual: Hash },
        #[error("the draw fails on this snapshot: {0}")]
        Selection(#[from] SelectionError),
    }

    /// The draws recorded in a job's transactions, oldest first: each
    /// transaction's events in order (a WorkersAssigned is the committee,
    /// draws `0..count`; a transaction's WorkerReassigned events are one
    /// draw of replacements continuing the sequence).
    pub fn recorded_draws<'a>(
        transactions: impl IntoIterator<Item = &'a [AnyEvent]>,
    ) -> Vec<RecordedDraw> {
        let mut next: u8 = 0;
        let mut out = Vec::new();
        let mut push = |replacement, snapshot_hash, workers: Vec<[u8; 32]>| {
            let first_draw = next;
            next = next.saturating_add(workers.len() as u8);
            out.push(RecordedDraw {
                replacement,
                snapshot_hash,
                first_draw,
                workers,
            });
        };
        for events in transactions {
            for e in events {
                if let AnyEvent::WorkersAssigned(a) = e {
                    let n = (a.count as usize).min(a.workers.len());
                    push(
                        false,
                        a.snapshot_hash,
                        a.workers[..n].iter().map(|w| w.0).collect(),
                    );
                }
            }
            let replaced: Vec<&crate::event::WorkerReassigned> = events
                .iter()
                .filter_map(|e| match e {
                    AnyEvent::WorkerReassigned(r) => Some(r),
                    _ => None,
                })
                .collect();
            if let Some(first) = replaced.first() {
                push(
                    true,
                    first.snapshot_hash,
                    replaced.iter().map(|r| r.new_worker.0).collect(),
                );
            }
        }
        out
    }

    /// Redraws `draw` from `seed` over `snapshot` (checked against the hash
    /// the event names): the workers the protocol picks, and how many
    /// candidates the snapshot held. Equal to `draw.workers` when the
    /// scheduler drew honestly.
    pub fn redraw(
        seed: &Hash,
        job_id: &Hash,
        draw: &RecordedDraw,
        snapshot: &[u8],
    ) -> Result<(Vec<[u8; 32]>, usize), RedrawError> {
        let eligible = parse_snapshot(snapshot)?;
        let actual = snapshot_hash(&eligible)?;
        if actual != draw.snapshot_hash {
            return Err(RedrawError::WrongSnapshot { actual });
        }
        let count = u8::try_from(draw.workers.len()).unwrap_or(u8::MAX);
        let picked = select(seed, job_id, &eligible, &[], count, draw.first_draw)?;
        Ok((picked.as_slice().to_vec(), eligible.len()))
    }
}
