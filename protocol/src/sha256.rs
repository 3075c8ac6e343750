//! SHA-256 as a `const fn`, so Anchor discriminators are compile-time
//! constants computed from their names (never hand-copied byte strings).
//!
//! Only used at compile time and for short inputs; it is not meant to be fast.

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Byte `i` of the padded message `prefix || name || 0x80 || 0.. || bit_len_be`.
const fn padded_byte(prefix: &[u8], name: &[u8], i: usize, padded_len: usize) -> u8 {
    let len = prefix.len() + name.len();
    if i < prefix.len() {
        prefix[i]
    } else if i < len {
        name[i - prefix.len()]
    } else if i == len {
        0x80
    } else if i >= padded_len - 8 {
        let bit_len = (len as u64) * 8;
        (bit_len >> (8 * (padded_len - 1 - i))) as u8
    } else {
        0
    }
}

/// SHA-256 of `prefix || name`, computed in a const context.
pub const fn sha256_concat(prefix: &[u8], name: &[u8]) -> [u8; 32] {
    let len = prefix.len() + name.len();
    let padded_len = (len + 9).div_ceil(64) * 64;
    let mut h = H0;
    let mut block = 0;
    while block < padded_len / 64 {
        let mut w = [0u32; 64];
        let mut t = 0;
        while t < 16 {
            let base = block * 64 + t * 4;
            w[t] = u32::from_be_bytes([
                padded_byte(prefix, name, base, padded_len),
                padded_byte(prefix, name, base + 1, padded_len),
                padded_byte(prefix, name, base + 2, padded_len),
                padded_byte(prefix, name, base + 3, padded_len),
            ]);
            t += 1;
        }
        while t < 64 {
            let s0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
            let s1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16]
                .wrapping_add(s0)
                .wrapping_add(w[t - 7])
                .wrapping_add(s1);
            t += 1;
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        t = 0;
        while t < 64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[t])
                .wrapping_add(w[t]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
            t += 1;
        }
        let add = [a, b, c, d, e, f, g, hh];
        let mut i = 0;
        while i < 8 {
            h[i] = h[i].wrapping_add(add[i]);
            i += 1;
        }
        block += 1;
    }
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 8 {
        let b = h[i].to_be_bytes();
        out[4 * i] = b[0];
        out[4 * i + 1] = b[1];
        out[4 * i + 2] = b[2];
        out[4 * i + 3] = b[3];
        i += 1;
    }
    out
}

/// Anchor's 8-byte discriminator: `sha256("<namespace>:<name>")[..8]`,
/// where `prefix` is `"<namespace>:"` (`global:`, `account:`, `event:`).
pub const fn discriminator(prefix: &str, name: &str) -> [u8; 8] {
    let h = sha256_concat(prefix.as_bytes(), name.as_bytes());
    [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn reference(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    #[test]
    fn matches_sha2_across_block_boundaries() {
        // Lengths around the 55/56/64-byte padding edges are where a
        // hand-written SHA-256 goes wrong.
        let data: [u8; 200] = core::array::from_fn(|i| (i * 7 + 3) as u8);
        for len in 0..data.len() {
            for split in [0, len / 2, len] {
                let (a, b) = data[..len].split_at(split);
                assert_eq!(sha256_concat(a, b), reference(&data[..len]), "len {len}");
            }
        }
    }

    #[test]
    fn anchor_discriminator_of_known_names() {
        // Anchor's documented discriminator for `global:initialize`.
        assert_eq!(
            discriminator("global:", "initialize"),
            [0xaf, 0xaf, 0x6d, 0x1f, 0x0d, 0x98, 0x9b, 0xed]
        );
        let expected = reference(b"account:Job");
        assert_eq!(discriminator("account:", "Job"), expected[..8]);
    }
}
