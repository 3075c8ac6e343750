//! Arbitrary bytes as a bundle: decoding never panics, and a bundle that
//! decodes runs (caps clamped small) without an engine failure and keeps
//! every promise `edgerun_runtime_fuzz::check` asserts.

#![no_main]

use edgerun_protocol::bundle::Bundle;
use edgerun_runtime_fuzz::{Stats, check, clamp};
use libfuzzer_sys::fuzz_target;

static STATS: Stats = Stats::new();

fuzz_target!(|bytes: &[u8]| {
    STATS.input("bundle");
    let Ok(bundle) = Bundle::decode(bytes) else {
        return;
    };
    check(bundle.wasm, bundle.input, &clamp(&bundle.limits), &STATS);
});
