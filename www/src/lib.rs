//! edgerun's website, served by the relay at `/`, `/trust` and `/pricing`
//! (`edgerun up` serves `<target>/www/`, built by `cargo xtask build-www`).
//!
//! - [`pages`] renders the three pages as static HTML at build time, every
//!   number on them taken from `edgerun_protocol` (tiers, committees, the
//!   default config, the economics), so they read with JavaScript off.
//! - [`calc`] is the pricing calculator: `edgerun_protocol::economics`
//!   compiled to a small wasm module (`calc.wasm`, no wasm-bindgen) that
//!   the pricing page calls, so the page's figures are the protocol's.

pub mod calc;
#[cfg(not(target_arch = "wasm32"))]
pub mod pages;
