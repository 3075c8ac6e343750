//! A bounded in-memory table keyed by 32-byte keys (addresses, hashes),
//! split into shards so that no request ever locks or scans all of it.
//!
//! Each key lives in one shard, chosen with a per-process random hash, so
//! nobody can aim many keys at one shard. A shard forgets its stale entries
//! when it grows past its share of `prune_at`, and then not again until it
//! has doubled (so pruning costs O(1) per insert, amortised, and one request
//! scans at most one shard). A shard at its share of `capacity` after
//! pruning takes no new keys: the table has a hard bound however many keys
//! arrive.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard};

/// Shards per table.
const SHARDS: usize = 64;

/// The table is full of live entries; a new key is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full {
    /// Entries the table holds (about).
    pub entries: usize,
}

struct Shard<V> {
    map: HashMap<[u8; 32], V>,
    /// The shard prunes when it reaches this many entries.
    next_prune: usize,
}

pub struct Table<V> {
    shards: Box<[Mutex<Shard<V>>]>,
    hasher: RandomState,
    prune_at: usize,
    capacity: usize,
}

impl<V> Table<V> {
    /// A table that starts forgetting stale entries past `prune_at` entries
    /// and holds at most `capacity` (both spread evenly over the shards).
    pub fn new(prune_at: usize, capacity: usize) -> Self {
        let prune_at = prune_at.div_ceil(SHARDS).max(1);
        let capacity = capacity.div_ceil(SHARDS).max(prune_at);
        Table {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        map: HashMap::new(),
                        next_prune: prune_at,
                    })
                })
                .collect(),
            hasher: RandomState::new(),
            prune_at,
            capacity,
        }
    }

    fn shard(&self, key: &[u8; 32]) -> MutexGuard<'_, Shard<V>> {
        let i = self.hasher.hash_one(key) as usize % SHARDS;
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on `key`'s entry, made with `make` if absent. Before a new
    /// key is added to a full-enough shard, that shard's `stale` entries are
    /// dropped; if it is still at capacity, the key is refused with [`Full`].
    pub fn with<R>(
        &self,
        key: &[u8; 32],
        stale: impl Fn(&V) -> bool,
        make: impl FnOnce() -> V,
        f: impl FnOnce(&mut V) -> R,
    ) -> Result<R, Full> {
        let mut shard = self.shard(key);
        if let Some(v) = shard.map.get_mut(key) {
            return Ok(f(v));
        }
        let len = shard.map.len();
        if len >= shard.next_prune || len >= self.capacity {
            shard.map.retain(|_, v| !stale(v));
            let left = shard.map.len();
            shard.next_prune = (left * 2).max(self.prune_at);
            if left >= self.capacity {
                return Err(Full {
                    entries: left * SHARDS,
                });
            }
        }
        Ok(f(shard.map.entry(*key).or_insert_with(make)))
    }

    /// `key`'s entry, if present.
    pub fn get<R>(&self, key: &[u8; 32], f: impl FnOnce(&V) -> R) -> Option<R> {
        self.shard(key).map.get(key).map(f)
    }

    /// Runs `f` on `key`'s entry, if present.
    pub fn get_mut<R>(&self, key: &[u8; 32], f: impl FnOnce(&mut V) -> R) -> Option<R> {
        self.shard(key).map.get_mut(key).map(f)
    }

    /// Removes `key`.
    pub fn remove(&self, key: &[u8; 32]) {
        self.shard(key).map.remove(key);
    }

    /// Calls `f` on every entry, one shard locked at a time.
    pub fn for_each(&self, mut f: impl FnMut(&[u8; 32], &V)) {
        for shard in self.shards.iter() {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            for (k, v) in &shard.map {
                f(k, v);
            }
        }
    }

    /// Entries held (stale ones included until their shard prunes).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).map.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> [u8; 32] {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&i.to_le_bytes());
        k
    }

    #[test]
    fn one_insert_prunes_at_most_one_shard_and_the_table_stays_bounded() {
        // `true` marks an entry stale.
        let table: Table<bool> = Table::new(1_000, 100_000);
        for i in 0..5_000 {
            table.with(&key(i), |_| false, || true, |_| ()).unwrap();
        }
        let before = table.len();
        table.with(&key(1 << 30), |v| *v, || false, |_| ()).unwrap();
        let dropped = before + 1 - table.len();
        assert!(
            dropped <= before / SHARDS * 3,
            "one insert dropped {dropped} of {before}"
        );
        // Further inserts prune every shard in turn: only live entries stay.
        for i in 0..20_000 {
            table
                .with(&key((1 << 29) + i), |v| *v, || false, |_| ())
                .unwrap();
        }
        assert_eq!(table.len(), 20_001);
    }

    #[test]
    fn a_table_full_of_live_entries_refuses_new_keys_but_serves_known_ones() {
        let table: Table<u32> = Table::new(64, 640);
        let mut refused = 0;
        for i in 0..2_000 {
            if table.with(&key(i), |_| false, || i, |_| ()).is_err() {
                refused += 1;
            }
        }
        assert!(refused > 0);
        assert!(table.len() <= 640 + SHARDS, "{}", table.len());
        // A known key is always served.
        assert_eq!(table.with(&key(0), |_| false, || 9, |v| *v), Ok(0));
    }
}
