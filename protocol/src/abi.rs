//! Guest ABI v1: what a job may import and export, and the fixed list of
//! deterministic failure outcomes.
//!
//! A job that traps or exceeds a cap still has a result the committee can
//! agree on: the ASCII output `edgerun:fail:<reason>`.

/// The only module a guest may import from.
pub const IMPORT_MODULE: &str = "edgerun";
/// The guest's entry point, `() -> ()`.
pub const ENTRY_EXPORT: &str = "_start";
/// The guest's one memory, exported under this name.
pub const MEMORY_EXPORT: &str = "memory";
/// The ABI version named in runtime descriptors (`abi=1`).
pub const ABI_VERSION: u32 = 1;

/// The host functions of ABI v1: name, parameter count (all i32), and
/// whether it returns one i32.
pub const IMPORTS: [HostImport; 3] = [
    HostImport {
        name: "input_len",
        params: 0,
    },
    HostImport {
        name: "read_input",
        params: 3,
    },
    HostImport {
        name: "write_output",
        params: 2,
    },
];

/// One host function of the guest ABI. All take `i32`s and return one `i32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostImport {
    pub name: &'static str,
    pub params: usize,
}

/// Prefix of every failure output.
pub const FAIL_PREFIX: &str = "edgerun:fail:";

/// The fixed list of deterministic failure reasons. Adding one is a new ABI
/// version (it changes results), so the list is exhaustive here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailReason {
    /// Fuel (`max_instructions`) ran out.
    OutOfFuel,
    /// The guest gave up at the memory cap: it trapped with `unreachable`
    /// after `memory.grow` had returned -1 (what a Rust allocator failing
    /// does). `memory.grow` past the cap itself returns -1, and a module
    /// declaring more initial memory than the cap is `invalid-module`.
    MemoryLimit,
    /// Output beyond `max_output_bytes`.
    OutputLimit,
    /// `unreachable` executed (including a Rust panic in the guest).
    TrapUnreachable,
    /// Integer division or remainder by zero.
    TrapDivByZero,
    /// Signed division overflow or an invalid float-free conversion.
    TrapIntegerOverflow,
    /// Memory or table access out of bounds (including a host call given an
    /// out-of-bounds pointer).
    TrapOutOfBounds,
    /// `call_indirect` to a null entry or with the wrong signature.
    TrapIndirectCall,
    /// The call stack exceeded the runtime's stack-height limit.
    TrapStackOverflow,
    /// The module failed validation: floats, foreign imports, missing
    /// exports, a start section, malformed bytes.
    InvalidModule,
}

impl FailReason {
    /// Every reason, in a stable order.
    pub const ALL: [FailReason; 10] = [
        FailReason::OutOfFuel,
        FailReason::MemoryLimit,
        FailReason::OutputLimit,
        FailReason::TrapUnreachable,
        FailReason::TrapDivByZero,
        FailReason::TrapIntegerOverflow,
        FailReason::TrapOutOfBounds,
        FailReason::TrapIndirectCall,
        FailReason::TrapStackOverflow,
        FailReason::InvalidModule,
    ];

    /// The reason as it appears after `edgerun:fail:`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FailReason::OutOfFuel => "out-of-fuel",
            FailReason::MemoryLimit => "memory-limit",
            FailReason::OutputLimit => "output-limit",
            FailReason::TrapUnreachable => "trap-unreachable",
            FailReason::TrapDivByZero => "trap-div-by-zero",
            FailReason::TrapIntegerOverflow => "trap-integer-overflow",
            FailReason::TrapOutOfBounds => "trap-out-of-bounds",
            FailReason::TrapIndirectCall => "trap-indirect-call",
            FailReason::TrapStackOverflow => "trap-stack-overflow",
            FailReason::InvalidModule => "invalid-module",
        }
    }

    /// Parses the name after `edgerun:fail:`.
    pub fn from_name(name: &str) -> Option<FailReason> {
        FailReason::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The job output for this failure: `edgerun:fail:<reason>`.
    #[cfg(feature = "alloc")]
    pub fn output(self) -> alloc::vec::Vec<u8> {
        let mut out = alloc::vec::Vec::from(FAIL_PREFIX.as_bytes());
        out.extend_from_slice(self.as_str().as_bytes());
        out
    }

    /// The failure reason an output encodes, if it is a failure output.
    pub fn from_output(output: &[u8]) -> Option<FailReason> {
        let rest = output.strip_prefix(FAIL_PREFIX.as_bytes())?;
        FailReason::from_name(core::str::from_utf8(rest).ok()?)
    }
}

impl core::fmt::Display for FailReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_output_is_the_ascii_prefix_and_reason() {
        assert_eq!(FailReason::OutOfFuel.output(), b"edgerun:fail:out-of-fuel");
        assert_eq!(
            FailReason::InvalidModule.output(),
            b"edgerun:fail:invalid-module"
        );
    }

    #[test]
    fn every_reason_round_trips_and_names_are_distinct() {
        for r in FailReason::ALL {
            assert_eq!(FailReason::from_output(&r.output()), Some(r));
            assert_eq!(
                FailReason::ALL
                    .iter()
                    .filter(|o| o.as_str() == r.as_str())
                    .count(),
                1
            );
        }
        assert_eq!(FailReason::from_output(b"edgerun:fail:nope"), None);
        assert_eq!(FailReason::from_output(b"hello"), None);
    }
}
