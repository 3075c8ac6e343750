//! The relay against the real embedded local chain (one per test binary,
//! shared): the attacks on the fee payer, on sealed outputs, on the
//! heartbeat table and on the event streams, performed over real listeners
//! on 127.0.0.1.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod events;
mod fee_payer;
mod heartbeats;
mod jobs;
mod outputs;
mod volunteers;
