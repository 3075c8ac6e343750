//! The job author's side of Guest ABI v1 (`shared/PROTOCOL.md`).
//!
//! A job is a `#![no_std]` library with one function from input bytes to
//! output bytes; [`main!`] turns it into the `_start` entry the runtime
//! calls:
//!
//! ```
//! # extern crate alloc;
//! // In the job crate's lib.rs, under #![no_std] and `extern crate alloc;`:
//! use alloc::vec::Vec;
//!
//! pub fn run(input: &[u8]) -> Vec<u8> {
//!     input.iter().rev().copied().collect()
//! }
//!
//! edgerun_guest::main!(run);
//!
//! // On the host the same function is a plain call:
//! assert_eq!(run(b"abc"), b"cba");
//! ```
//!
//! `jobs/guest/README.md` shows a whole job crate and its build command.
//!
//! On `wasm32` this crate owns what a `no_std` cdylib needs and the runtime
//! allows:
//! - the three imports of module `edgerun` (nothing else may be imported);
//! - a global allocator (dlmalloc over `memory.grow`, which returns -1 at
//!   the job's memory cap: allocation then fails and the job traps);
//! - a panic handler that traps with `unreachable` without formatting the
//!   message, so no formatting (and no float) code is linked in.
//!
//! On any other target those parts are left out and [`main!`] expands to
//! nothing, so the same job crate is a plain library that host tests and
//! benchmarks call directly.

#![no_std]

extern crate alloc;

#[cfg(target_arch = "wasm32")]
mod wasm;

#[cfg(target_arch = "wasm32")]
pub use wasm::{input, write};

/// `n` in decimal (ASCII digits), written into the end of `buf`.
///
/// For jobs that print integers: `core::fmt` would do it too, but links its
/// whole machinery into the module (size, and a path to float code).
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Re-exports for [`main!`]'s expansion; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use alloc::vec::Vec;
}

/// Exports `_start` that reads the whole input, calls `$run(&input)` and
/// writes what it returns as the job's output.
///
/// `$run` must be a `fn(&[u8]) -> Vec<u8>`. Expands to nothing when the
/// target is not `wasm32`.
#[cfg(target_arch = "wasm32")]
#[macro_export]
macro_rules! main {
    ($run:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn _start() {
            let input: $crate::__private::Vec<u8> = $crate::input();
            let output: $crate::__private::Vec<u8> = $run(&input);
            $crate::write(&output);
        }
    };
}

/// Exports `_start` that reads the whole input, calls `$run(&input)` and
/// writes what it returns as the job's output.
///
/// `$run` must be a `fn(&[u8]) -> Vec<u8>`. Expands to nothing when the
/// target is not `wasm32`.
#[cfg(not(target_arch = "wasm32"))]
#[macro_export]
macro_rules! main {
    ($run:path) => {};
}

#[cfg(test)]
mod tests {
    extern crate std;

    #[test]
    fn decimal_matches_display() {
        let mut buf = [0u8; 20];
        for n in [0u64, 7, 10, 99, 65_536, 1 << 53, u64::MAX] {
            assert_eq!(super::decimal(n, &mut buf), std::format!("{n}").as_bytes());
        }
    }
}
