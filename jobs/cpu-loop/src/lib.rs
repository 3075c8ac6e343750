//! `cpu-loop`: a CPU-bound benchmark job, the same code native and in wasm.
//!
//! Input: the iteration count as ASCII decimal (`0` to `18446744073709551615`,
//! no sign, leading zeros allowed, surrounding ASCII whitespace ignored, so
//! `echo 1000000 > input` works).
//!
//! Output: 32 bytes, the four state lanes as little-endian u64 after the
//! loop, each folded with the table. Input that is not such a number gives
//! the ASCII bytes of [`BAD_INPUT`] instead (never 32 bytes long).
//!
//! Each iteration does a few integer multiplies, xorshifts and rotates and
//! one data-dependent read-modify-write of a 256-entry u64 table (2 KiB), so
//! both the ALU and memory are exercised; no floats, no allocation in the
//! loop.

#![no_std]

extern crate alloc;

use alloc::vec::Vec;

/// The output for input that is not an ASCII decimal u64.
pub const BAD_INPUT: &str = "error: input must be an ASCII decimal iteration count (u64)";

/// Entries in the mixing table (a power of two: indices are masked).
const TABLE_LEN: usize = 256;

/// Runs the job: parses the count, mixes, returns the 32-byte digest.
pub fn run(input: &[u8]) -> Vec<u8> {
    match parse_iterations(input) {
        Some(n) => mix(n).to_vec(),
        None => BAD_INPUT.as_bytes().to_vec(),
    }
}

edgerun_guest::main!(run);

/// The iteration count of an input, or `None` if it is not ASCII decimal
/// that fits a u64.
pub fn parse_iterations(input: &[u8]) -> Option<u64> {
    let digits = input.trim_ascii();
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// The mixing loop itself: `iterations` rounds, then the lanes folded with
/// the table, as 32 little-endian bytes.
pub fn mix(iterations: u64) -> [u8; 32] {
    // splitmix64 spreads one word into well-mixed starting values.
    let mut seed = iterations ^ 0x6564_6765_7275_6e21; // "edgerun!"
    let mut next_seed = || {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut table = [0u64; TABLE_LEN];
    for slot in table.iter_mut() {
        *slot = next_seed();
    }
    let [mut a, mut b, mut c, mut d] = [next_seed(), next_seed(), next_seed(), next_seed()];
    // xorshift64 has one fixed point, zero; keep that lane out of it.
    b |= 1;

    for i in 0..iterations {
        let idx = (a >> 56) as usize % TABLE_LEN;
        let t = table[idx];
        a = a.wrapping_add(t ^ d).rotate_left(23);
        b ^= b << 13;
        b ^= b >> 7;
        b ^= b << 17;
        c = c.wrapping_mul(0xd605_bbb5_8c8a_bbd7).wrapping_add(i | 1);
        d = (d ^ b).rotate_right(29).wrapping_add(c);
        table[idx] = t.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ a ^ c;
    }

    let mut lanes = [a, b, c, d];
    for (k, &t) in table.iter().enumerate() {
        let lane = &mut lanes[k % 4];
        *lane = (*lane ^ t)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(17);
    }
    let mut out = [0u8; 32];
    for (chunk, lane) in out.as_chunks_mut::<8>().0.iter_mut().zip(lanes) {
        *chunk = lane.to_le_bytes();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ascii_decimal_with_surrounding_whitespace() {
        assert_eq!(parse_iterations(b"0"), Some(0));
        assert_eq!(parse_iterations(b"  1000\n"), Some(1000));
        assert_eq!(parse_iterations(b"007"), Some(7));
        assert_eq!(parse_iterations(b"18446744073709551615"), Some(u64::MAX));
    }

    #[test]
    fn rejects_what_is_not_a_u64() {
        for bad in [
            &b""[..],
            b"   ",
            b"-1",
            b"+1",
            b"1 2",
            b"12a",
            b"18446744073709551616",
            b"\x01\x00\x00\x00\x00\x00\x00\x00",
        ] {
            assert_eq!(parse_iterations(bad), None, "{bad:?}");
            assert_eq!(run(bad), BAD_INPUT.as_bytes());
        }
    }

    #[test]
    fn output_is_32_bytes_and_depends_on_the_count() {
        let outs: Vec<[u8; 32]> = (0..64).map(mix).collect();
        for (i, x) in outs.iter().enumerate() {
            for y in &outs[i + 1..] {
                assert_ne!(x, y);
            }
        }
        assert_eq!(run(b"5").len(), 32);
        assert_eq!(run(b"5"), mix(5));
    }

    /// Pins the digest: wasm and native runs, and any later build, must
    /// produce exactly these bytes.
    #[test]
    fn known_answers() {
        assert_eq!(hex(&mix(0)), KNOWN_0);
        assert_eq!(hex(&mix(1_000_000)), KNOWN_1M);
    }

    const KNOWN_0: &str = "71f1b6c2c0004afaa99b9ae17545aeb43fa6cfef9017e173664ad60b59bb6f24";
    const KNOWN_1M: &str = "fc39cb83815a917a751c5d67883bbc2ea49e19774358c1e07fae188582339773";

    fn hex(bytes: &[u8]) -> alloc::string::String {
        use core::fmt::Write;
        let mut s = alloc::string::String::new();
        for b in bytes {
            write!(s, "{b:02x}").unwrap();
        }
        s
    }
}
