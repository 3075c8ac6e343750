//! Bundle v1: the one canonical binary encoding of a job (runtime, limits,
//! wasm, input). `bundle_hash` is the BLAKE3 of these bytes, so there is
//! exactly one encoding of a bundle and no canonicalisation step.
//!
//! | offset | field |
//! | --- | --- |
//! | 0 | magic `EDGB` (4 bytes) |
//! | 4 | version u8 = 1 |
//! | 5 | runtime_id \[32\] |
//! | 37 | max_memory_bytes u32 |
//! | 41 | max_instructions u64 (fuel units) |
//! | 49 | max_output_bytes u32 |
//! | 53 | wasm_len u32, then wasm bytes |
//! | .. | input_len u32, then input bytes, then end of data |
//!
//! All integers are little-endian. Decoding never panics and never
//! allocates: it borrows the wasm and input from the given bytes.

use crate::hash::Hash;
use crate::layout::Layout;
use crate::limits::Limits;

/// The four magic bytes every bundle starts with.
pub const MAGIC: [u8; 4] = *b"EDGB";
/// The only bundle version this protocol defines.
pub const VERSION: u8 = 1;
/// Bytes before the wasm: magic, version, runtime_id, limits, wasm_len.
pub const HEADER_LEN: usize = 57;
/// Largest wasm module a bundle may carry (16 MiB). A protocol fact, so no
/// worker is ever asked to hold more than this for one module.
pub const MAX_WASM_BYTES: u32 = 16 << 20;
/// Largest input a bundle may carry (64 MiB).
pub const MAX_INPUT_BYTES: u32 = 64 << 20;

/// The fields of a bundle, named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleField {
    Magic,
    Version,
    RuntimeId,
    MaxMemoryBytes,
    MaxInstructions,
    MaxOutputBytes,
    WasmLen,
    Wasm,
    InputLen,
    Input,
}

impl BundleField {
    pub const fn name(self) -> &'static str {
        match self {
            BundleField::Magic => "magic",
            BundleField::Version => "version",
            BundleField::RuntimeId => "runtime_id",
            BundleField::MaxMemoryBytes => "max_memory_bytes",
            BundleField::MaxInstructions => "max_instructions",
            BundleField::MaxOutputBytes => "max_output_bytes",
            BundleField::WasmLen => "wasm_len",
            BundleField::Wasm => "wasm",
            BundleField::InputLen => "input_len",
            BundleField::Input => "input",
        }
    }
}

impl core::fmt::Display for BundleField {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why bytes are not a valid bundle v1 (or a bundle cannot be encoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error(
        "not an edgerun bundle: magic is {found:02x?}, expected \"EDGB\"; build the bundle with edgerun's bundle encoder"
    )]
    BadMagic { found: [u8; 4] },
    #[error("bundle version {found} is not supported: this protocol reads version 1")]
    UnsupportedVersion { found: u8 },
    #[error(
        "bundle truncated in {field}: needs {needed} more bytes, {available} left; upload the whole bundle"
    )]
    Truncated {
        field: BundleField,
        needed: usize,
        available: usize,
    },
    #[error("bundle {field} is {len} bytes, above the protocol maximum of {max}; shrink it")]
    TooLarge {
        field: BundleField,
        len: u64,
        max: u64,
    },
    #[error(
        "bundle has {count} trailing bytes after the input; a bundle ends right after its input"
    )]
    TrailingBytes { count: usize },
}

/// A bundle, borrowing its wasm and input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bundle<'a> {
    pub runtime_id: Hash,
    pub limits: Limits,
    pub wasm: &'a [u8],
    pub input: &'a [u8],
}

/// Reads fields front to back, naming the field that ran out.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: BundleField) -> Result<&'a [u8], BundleError> {
        if self.bytes.len() < n {
            return Err(BundleError::Truncated {
                field,
                needed: n,
                available: self.bytes.len(),
            });
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: BundleField) -> Result<[u8; N], BundleError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn u32(&mut self, field: BundleField) -> Result<u32, BundleError> {
        self.array(field).map(u32::from_le_bytes)
    }

    /// A u32 length prefix, checked against `max` before any bytes are taken.
    fn sized(
        &mut self,
        len_field: BundleField,
        field: BundleField,
        max: u32,
    ) -> Result<&'a [u8], BundleError> {
        let len = self.u32(len_field)?;
        if len > max {
            return Err(BundleError::TooLarge {
                field,
                len: len.into(),
                max: max.into(),
            });
        }
        self.take(len as usize, field)
    }
}

impl<'a> Bundle<'a> {
    /// Decodes bundle v1 bytes. Every malformation is a distinct error;
    /// never panics.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, BundleError> {
        let mut r = Reader { bytes };
        let magic = r.array::<4>(BundleField::Magic)?;
        if magic != MAGIC {
            return Err(BundleError::BadMagic { found: magic });
        }
        let version = r.array::<1>(BundleField::Version)?[0];
        if version != VERSION {
            return Err(BundleError::UnsupportedVersion { found: version });
        }
        let runtime_id = r.array::<32>(BundleField::RuntimeId)?;
        let max_memory_bytes = r.u32(BundleField::MaxMemoryBytes)?;
        let max_instructions = u64::from_le_bytes(r.array(BundleField::MaxInstructions)?);
        let max_output_bytes = r.u32(BundleField::MaxOutputBytes)?;
        let limits = Limits::new(max_memory_bytes, max_instructions, max_output_bytes);
        let wasm = r.sized(BundleField::WasmLen, BundleField::Wasm, MAX_WASM_BYTES)?;
        let input = r.sized(BundleField::InputLen, BundleField::Input, MAX_INPUT_BYTES)?;
        if !r.bytes.is_empty() {
            return Err(BundleError::TrailingBytes {
                count: r.bytes.len(),
            });
        }
        Ok(Bundle {
            runtime_id,
            limits,
            wasm,
            input,
        })
    }

    /// Checks that the wasm and input fit the protocol maxima.
    pub fn check_sizes(&self) -> Result<(), BundleError> {
        for (field, len, max) in [
            (BundleField::Wasm, self.wasm.len(), MAX_WASM_BYTES),
            (BundleField::Input, self.input.len(), MAX_INPUT_BYTES),
        ] {
            if len as u64 > u64::from(max) {
                return Err(BundleError::TooLarge {
                    field,
                    len: len as u64,
                    max: max.into(),
                });
            }
        }
        Ok(())
    }

    /// Length of the encoding.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.wasm.len() + 4 + self.input.len()
    }

    /// Appends the canonical encoding to `out`.
    #[cfg(feature = "alloc")]
    pub fn encode_into(&self, out: &mut alloc::vec::Vec<u8>) -> Result<(), BundleError> {
        self.check_sizes()?;
        out.reserve(self.encoded_len());
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.runtime_id);
        out.extend_from_slice(self.limits.as_bytes());
        // check_sizes bounds both lengths far below u32::MAX.
        out.extend_from_slice(&(self.wasm.len() as u32).to_le_bytes());
        out.extend_from_slice(self.wasm);
        out.extend_from_slice(&(self.input.len() as u32).to_le_bytes());
        out.extend_from_slice(self.input);
        Ok(())
    }

    /// The canonical encoding.
    #[cfg(feature = "alloc")]
    pub fn encode(&self) -> Result<alloc::vec::Vec<u8>, BundleError> {
        let mut out = alloc::vec::Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// `bundle_hash` of the canonical encoding, hashed without building it.
    pub fn hash(&self) -> Result<Hash, BundleError> {
        self.check_sizes()?;
        let mut h = ::blake3::Hasher::new();
        h.update(&MAGIC);
        h.update(&[VERSION]);
        h.update(&self.runtime_id);
        h.update(self.limits.as_bytes());
        h.update(&(self.wasm.len() as u32).to_le_bytes());
        h.update(self.wasm);
        h.update(&(self.input.len() as u32).to_le_bytes());
        h.update(self.input);
        Ok(*h.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::hash::bundle_hash;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn sample() -> Bundle<'static> {
        Bundle {
            runtime_id: [0xab; 32],
            limits: Limits::new(0x0102_0304, 0x0506_0708_090a_0b0c, 0x0d0e_0f10),
            wasm: b"\0asm\x01\0\0\0",
            input: b"hello",
        }
    }

    #[test]
    fn encoding_puts_every_field_at_its_specified_offset() {
        let bytes = sample().encode().unwrap();
        assert_eq!(&bytes[0..4], b"EDGB");
        assert_eq!(bytes[4], 1);
        assert_eq!(&bytes[5..37], &[0xab; 32]);
        assert_eq!(&bytes[37..41], &0x0102_0304u32.to_le_bytes());
        assert_eq!(&bytes[41..49], &0x0506_0708_090a_0b0cu64.to_le_bytes());
        assert_eq!(&bytes[49..53], &0x0d0e_0f10u32.to_le_bytes());
        assert_eq!(&bytes[53..57], &8u32.to_le_bytes());
        assert_eq!(&bytes[57..65], b"\0asm\x01\0\0\0");
        assert_eq!(&bytes[65..69], &5u32.to_le_bytes());
        assert_eq!(&bytes[69..], b"hello");
        assert_eq!(bytes.len(), sample().encoded_len());
    }

    #[test]
    fn streaming_hash_equals_hash_of_encoding() {
        let b = sample();
        assert_eq!(b.hash().unwrap(), bundle_hash(&b.encode().unwrap()));
    }

    #[test]
    fn empty_wasm_and_input_round_trip() {
        let b = Bundle {
            wasm: &[],
            input: &[],
            ..sample()
        };
        let bytes = b.encode().unwrap();
        assert_eq!(bytes.len(), HEADER_LEN + 4);
        assert_eq!(Bundle::decode(&bytes).unwrap(), b);
    }

    #[test]
    fn bad_magic_is_rejected() {
        let mut bytes = sample().encode().unwrap();
        bytes[0] = b'X';
        assert_eq!(
            Bundle::decode(&bytes),
            Err(BundleError::BadMagic { found: *b"XDGB" })
        );
    }

    #[test]
    fn other_versions_are_rejected() {
        let mut bytes = sample().encode().unwrap();
        for v in [0u8, 2, 255] {
            bytes[4] = v;
            assert_eq!(
                Bundle::decode(&bytes),
                Err(BundleError::UnsupportedVersion { found: v })
            );
        }
    }

    #[test]
    fn every_truncation_names_the_field_that_ran_out() {
        let bytes = sample().encode().unwrap();
        // Field boundaries of the sample: (end offset, field being read).
        let fields = [
            (4, BundleField::Magic),
            (5, BundleField::Version),
            (37, BundleField::RuntimeId),
            (41, BundleField::MaxMemoryBytes),
            (49, BundleField::MaxInstructions),
            (53, BundleField::MaxOutputBytes),
            (57, BundleField::WasmLen),
            (65, BundleField::Wasm),
            (69, BundleField::InputLen),
            (74, BundleField::Input),
        ];
        for cut in 0..bytes.len() {
            let (end, field) = *fields.iter().find(|(end, _)| cut < *end).unwrap();
            let start = fields
                .iter()
                .rev()
                .find(|(e, _)| *e <= cut)
                .map_or(0, |(e, _)| *e);
            assert_eq!(
                Bundle::decode(&bytes[..cut]),
                Err(BundleError::Truncated {
                    field,
                    needed: end - start,
                    available: cut - start,
                }),
                "cut at {cut}"
            );
        }
        assert!(Bundle::decode(&bytes).is_ok());
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = sample().encode().unwrap();
        bytes.extend_from_slice(&[0, 0, 0]);
        assert_eq!(
            Bundle::decode(&bytes),
            Err(BundleError::TrailingBytes { count: 3 })
        );
    }

    #[test]
    fn oversize_wasm_length_is_rejected_before_reading_it() {
        let mut bytes = sample().encode().unwrap();
        bytes[53..57].copy_from_slice(&(MAX_WASM_BYTES + 1).to_le_bytes());
        assert_eq!(
            Bundle::decode(&bytes),
            Err(BundleError::TooLarge {
                field: BundleField::Wasm,
                len: u64::from(MAX_WASM_BYTES) + 1,
                max: MAX_WASM_BYTES.into(),
            })
        );
        bytes[53..57].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            Bundle::decode(&bytes),
            Err(BundleError::TooLarge {
                field: BundleField::Wasm,
                ..
            })
        ));
    }

    #[test]
    fn oversize_input_length_is_rejected() {
        let mut bytes = sample().encode().unwrap();
        bytes[65..69].copy_from_slice(&(MAX_INPUT_BYTES + 1).to_le_bytes());
        assert!(matches!(
            Bundle::decode(&bytes),
            Err(BundleError::TooLarge {
                field: BundleField::Input,
                ..
            })
        ));
    }

    #[test]
    fn encoding_refuses_fields_above_the_maxima() {
        let big = std::vec![0u8; MAX_WASM_BYTES as usize + 1];
        let b = Bundle {
            wasm: &big,
            ..sample()
        };
        assert!(matches!(
            b.encode(),
            Err(BundleError::TooLarge {
                field: BundleField::Wasm,
                ..
            })
        ));
        assert!(matches!(
            b.hash(),
            Err(BundleError::TooLarge {
                field: BundleField::Wasm,
                ..
            })
        ));
        let exact = std::vec![0u8; MAX_WASM_BYTES as usize];
        let b = Bundle {
            wasm: &exact,
            ..sample()
        };
        assert_eq!(
            Bundle::decode(&b.encode().unwrap()).unwrap().wasm.len(),
            exact.len()
        );
    }

    #[test]
    fn errors_say_what_to_do() {
        let msg = std::format!("{}", Bundle::decode(b"EDG").unwrap_err());
        assert!(
            msg.contains("magic") && msg.contains("upload the whole bundle"),
            "{msg}"
        );
    }

    proptest! {
        #[test]
        fn decode_of_encode_is_identity(
            runtime_id in any::<[u8; 32]>(),
            max_memory_bytes in any::<u32>(),
            max_instructions in any::<u64>(),
            max_output_bytes in any::<u32>(),
            wasm in proptest::collection::vec(any::<u8>(), 0..512),
            input in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let b = Bundle {
                runtime_id,
                limits: Limits::new(max_memory_bytes, max_instructions, max_output_bytes),
                wasm: &wasm,
                input: &input,
            };
            let bytes = b.encode().unwrap();
            prop_assert_eq!(Bundle::decode(&bytes).unwrap(), b);
            prop_assert_eq!(b.hash().unwrap(), bundle_hash(&bytes));
        }

        #[test]
        fn decode_of_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Bundle::decode(&bytes);
        }

        #[test]
        fn decode_of_mutated_bundles_never_panics_and_never_misreads(
            wasm in proptest::collection::vec(any::<u8>(), 0..64),
            input in proptest::collection::vec(any::<u8>(), 0..64),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let b = Bundle { wasm: &wasm, input: &input, ..sample() };
            let mut bytes: Vec<u8> = b.encode().unwrap();
            for (i, v) in flips {
                let i = i.index(bytes.len());
                bytes[i] = v;
            }
            let bytes = &bytes[..cut.index(bytes.len() + 1)];
            // Whatever decodes must re-encode to exactly the same bytes:
            // there is one encoding per bundle.
            if let Ok(d) = Bundle::decode(bytes) {
                prop_assert_eq!(d.encode().unwrap(), bytes);
            }
        }
    }
}
