//! Execution limits of a job: the same 16 bytes in a bundle (offsets 37..53)
//! and in the Job account.

use crate::layout::{U32, U64};

crate::layout! {
    /// The caps a job runs under. A job that exceeds one fails
    /// deterministically with `edgerun:fail:<reason>`.
    pub struct Limits {
        /// Linear memory cap: `memory.grow` past it returns -1.
        pub max_memory_bytes: U32,
        /// Fuel cap, in the runtime's fuel units.
        pub max_instructions: U64,
        /// Output cap: writing past it traps with `output-limit`.
        pub max_output_bytes: U32,
    }
}

impl Limits {
    pub const fn new(max_memory_bytes: u32, max_instructions: u64, max_output_bytes: u32) -> Self {
        Limits {
            max_memory_bytes: U32::new(max_memory_bytes),
            max_instructions: U64::new(max_instructions),
            max_output_bytes: U32::new(max_output_bytes),
        }
    }
}
