//! BLAKE3-256 of inputs up to one chunk (1,024 bytes), for the on-chain
//! program: the seal (64 bytes), the SealedDigest (128) and the job id (72)
//! are hashed on chain on every submission, reveal and post, where the
//! general `blake3` crate's hasher state and buffer copies cost compute
//! units that a single-chunk hash does not need. Written from the BLAKE3
//! specification; equal to the `blake3` crate for every length up to a
//! chunk (property-tested), which the host code keeps using.

const IV: [u32; 8] = [
    0x6A09_E667,
    0xBB67_AE85,
    0x3C6E_F372,
    0xA54F_F53A,
    0x510E_527F,
    0x9B05_688C,
    0x1F83_D9AB,
    0x5BE0_CD19,
];

const CHUNK_START: u32 = 1;
const CHUNK_END: u32 = 2;
const ROOT: u32 = 8;

/// The largest input [`hash`] takes: one chunk.
pub const MAX_LEN: usize = 1024;

/// The message word order of each of the 7 rounds: the specification's
/// permutation applied round after round.
const SCHEDULE: [[usize; 16]; 7] = {
    const PERMUTATION: [usize; 16] = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
    let mut s = [[0usize; 16]; 7];
    let mut i = 0;
    while i < 16 {
        s[0][i] = i;
        i += 1;
    }
    let mut r = 1;
    while r < 7 {
        let mut i = 0;
        while i < 16 {
            s[r][i] = s[r - 1][PERMUTATION[i]];
            i += 1;
        }
        r += 1;
    }
    s
};

/// A quarter round on 32-bit words held in `u64`s whose upper halves may
/// hold garbage: adds and xors wrap correctly in the low 32 bits whatever
/// is above, so only a rotation clears the upper half first. SBF has
/// 64-bit registers and no 32-bit rotate; keeping the masks to the
/// rotations is what makes this cheaper than plain `u32` arithmetic there.
#[inline(always)]
fn g(v: &mut [u64; 16], a: usize, b: usize, c: usize, d: usize, x: u64, y: u64) {
    #[inline(always)]
    fn rot(w: u64, n: u32) -> u64 {
        let low = w & 0xFFFF_FFFF;
        (low >> n) | (low << (32 - n))
    }
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = rot(v[d] ^ v[a], 16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = rot(v[b] ^ v[c], 12);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = rot(v[d] ^ v[a], 8);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = rot(v[b] ^ v[c], 7);
}

macro_rules! round {
    ($v:ident, $m:ident, $r:expr) => {{
        const S: [usize; 16] = SCHEDULE[$r];
        g(&mut $v, 0, 4, 8, 12, $m[S[0]], $m[S[1]]);
        g(&mut $v, 1, 5, 9, 13, $m[S[2]], $m[S[3]]);
        g(&mut $v, 2, 6, 10, 14, $m[S[4]], $m[S[5]]);
        g(&mut $v, 3, 7, 11, 15, $m[S[6]], $m[S[7]]);
        g(&mut $v, 0, 5, 10, 15, $m[S[8]], $m[S[9]]);
        g(&mut $v, 1, 6, 11, 12, $m[S[10]], $m[S[11]]);
        g(&mut $v, 2, 7, 8, 13, $m[S[12]], $m[S[13]]);
        g(&mut $v, 3, 4, 9, 14, $m[S[14]], $m[S[15]]);
    }};
}

/// The compression function's first 8 output words (the chaining value,
/// or the root hash for the last block with ROOT set). Chunk counter 0.
#[inline(always)]
fn compress(cv: &[u32; 8], m: &[u64; 16], block_len: u32, flags: u32) -> [u32; 8] {
    let w = |x: u32| x as u64;
    let mut v = [
        w(cv[0]),
        w(cv[1]),
        w(cv[2]),
        w(cv[3]),
        w(cv[4]),
        w(cv[5]),
        w(cv[6]),
        w(cv[7]),
        w(IV[0]),
        w(IV[1]),
        w(IV[2]),
        w(IV[3]),
        0,
        0,
        w(block_len),
        w(flags),
    ];
    round!(v, m, 0);
    round!(v, m, 1);
    round!(v, m, 2);
    round!(v, m, 3);
    round!(v, m, 4);
    round!(v, m, 5);
    round!(v, m, 6);
    // Truncation keeps the low 32 bits, the words' true values.
    [
        (v[0] ^ v[8]) as u32,
        (v[1] ^ v[9]) as u32,
        (v[2] ^ v[10]) as u32,
        (v[3] ^ v[11]) as u32,
        (v[4] ^ v[12]) as u32,
        (v[5] ^ v[13]) as u32,
        (v[6] ^ v[14]) as u32,
        (v[7] ^ v[15]) as u32,
    ]
}

/// The chaining value after the first of several blocks of a chunk: what
/// the rest of the hash continues from (a midstate). It depends only on
/// `block`, so a hash whose first 64 bytes are known ahead (the
/// SealedDigest's `job_id || bundle_hash`) can store it and finish later
/// with [`finish`].
pub fn first_block(block: &[u8; 64]) -> [u8; 32] {
    words_to_bytes(&compress(&IV, &block_words(block), 64, CHUNK_START))
}

/// BLAKE3-256 of a two-block, 128-byte input, from the midstate of its
/// first block ([`first_block`]) and its second block.
pub fn finish(midstate: &[u8; 32], block: &[u8; 64]) -> [u8; 32] {
    let mut cv = [0u32; 8];
    for (w, b) in cv.iter_mut().zip(midstate.as_chunks::<4>().0) {
        *w = u32::from_le_bytes(*b);
    }
    words_to_bytes(&compress(&cv, &block_words(block), 64, CHUNK_END | ROOT))
}

fn block_words(block: &[u8; 64]) -> [u64; 16] {
    let mut m = [0u64; 16];
    for (w, word) in m.iter_mut().zip(block.as_chunks::<4>().0) {
        *w = u32::from_le_bytes(*word) as u64;
    }
    m
}

fn words_to_bytes(cv: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, w) in out.as_chunks_mut::<4>().0.iter_mut().zip(cv) {
        *o = w.to_le_bytes();
    }
    out
}

/// BLAKE3-256 of `data`, which must be at most [`MAX_LEN`] bytes (longer
/// input panics: only fixed-size preimages are hashed here).
pub fn hash(data: &[u8]) -> [u8; 32] {
    assert!(
        data.len() <= MAX_LEN,
        "blake3_small takes at most one chunk"
    );
    let mut cv = IV;
    let blocks = data.len().div_ceil(64).max(1);
    let mut block_index = 0;
    while block_index < blocks {
        let start = block_index * 64;
        let len = (data.len() - start).min(64);
        let mut block = [0u8; 64];
        block[..len].copy_from_slice(&data[start..start + len]);
        let m = block_words(&block);
        let mut flags = 0;
        if block_index == 0 {
            flags |= CHUNK_START;
        }
        if block_index + 1 == blocks {
            flags |= CHUNK_END | ROOT;
        }
        cv = compress(&cv, &m, len as u32, flags);
        block_index += 1;
    }
    words_to_bytes(&cv)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_schedule_is_the_specifications() {
        assert_eq!(
            SCHEDULE[1],
            [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]
        );
        assert_eq!(
            SCHEDULE[6],
            [11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13]
        );
    }

    #[test]
    fn every_length_up_to_a_chunk_equals_the_blake3_crate() {
        let data: std::vec::Vec<u8> = (0..MAX_LEN as u32).map(|i| (i * 31 % 251) as u8).collect();
        for len in 0..=MAX_LEN {
            assert_eq!(
                hash(&data[..len]),
                *::blake3::hash(&data[..len]).as_bytes(),
                "len {len}"
            );
        }
    }

    proptest! {
        #[test]
        fn a_two_block_hash_finished_from_its_midstate_is_the_hash(a in any::<[u8; 32]>(), b in any::<[u8; 32]>(), c in any::<[u8; 32]>(), d in any::<[u8; 32]>()) {
            let mut first = [0u8; 64];
            first[..32].copy_from_slice(&a);
            first[32..].copy_from_slice(&b);
            let mut second = [0u8; 64];
            second[..32].copy_from_slice(&c);
            second[32..].copy_from_slice(&d);
            let whole = [first, second].concat();
            prop_assert_eq!(finish(&first_block(&first), &second), *::blake3::hash(&whole).as_bytes());
        }

        #[test]
        fn random_inputs_equal_the_blake3_crate(data in proptest::collection::vec(any::<u8>(), 0..=MAX_LEN)) {
            prop_assert_eq!(hash(&data), *::blake3::hash(&data).as_bytes());
        }
    }
}
