//! Byte layouts: the one description of every account, instruction argument
//! list and event that the program, the clients and the IDL share.
//!
//! Every layout is a `#[repr(C)]` struct whose fields all have alignment 1
//! (integers are stored as little-endian byte arrays), so:
//! - the bytes are exactly Borsh's encoding of the same fields (fixed-width
//!   little-endian integers, `bool` as one byte, arrays without a length
//!   prefix, no padding) and Anchor tooling decodes them unchanged;
//! - the on-chain program views account data in place ([`view`],
//!   [`view_mut`]) instead of copying it, which matters for compute units;
//! - the [`layout!`](crate::layout!) macro records each field's name and
//!   IDL type, so the Anchor-format IDL is generated from these definitions
//!   rather than maintained by hand.

use bytemuck::{Pod, Zeroable};
use core::fmt;

/// The type of a field as Anchor's IDL spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdlTy {
    U8,
    U16,
    U32,
    U64,
    Bool,
    Pubkey,
    /// A fixed-size array, Borsh-encoded without a length prefix.
    Array(&'static IdlTy, usize),
    /// A struct defined elsewhere in the IDL's `types`.
    Defined(&'static str),
}

/// One field of a layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldDef {
    pub name: &'static str,
    pub ty: IdlTy,
}

/// Maps a Rust field type to its IDL type.
pub trait IdlType {
    const IDL: IdlTy;
}

/// A fixed-size, alignment-1 struct with a Borsh-compatible byte layout.
pub trait Layout: Pod {
    /// The struct's name (Anchor's `defined` name).
    const NAME: &'static str;
    /// The fields in byte order.
    const FIELDS: &'static [FieldDef];
    /// Encoded size in bytes.
    const LEN: usize = core::mem::size_of::<Self>();

    /// The layout's bytes.
    fn as_bytes(&self) -> &[u8] {
        bytemuck::bytes_of(self)
    }

    /// Views exactly [`Self::LEN`] bytes in place.
    fn view(bytes: &[u8]) -> Result<&Self, LayoutError> {
        bytemuck::try_from_bytes(bytes).map_err(|_| LayoutError::WrongSize {
            name: Self::NAME,
            expected: Self::LEN,
            found: bytes.len(),
        })
    }

    /// Reads a value from exactly [`Self::LEN`] bytes.
    fn read(bytes: &[u8]) -> Result<Self, LayoutError> {
        bytemuck::try_pod_read_unaligned(bytes).map_err(|_| LayoutError::WrongSize {
            name: Self::NAME,
            expected: Self::LEN,
            found: bytes.len(),
        })
    }
}

impl IdlType for u8 {
    const IDL: IdlTy = IdlTy::U8;
}

impl<T: IdlType, const N: usize> IdlType for [T; N] {
    const IDL: IdlTy = IdlTy::Array(&T::IDL, N);
}

macro_rules! le_int {
    ($(#[$meta:meta])* $name:ident, $int:ty, $idl:ident) => {
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
        pub struct $name([u8; core::mem::size_of::<$int>()]);

        impl $name {
            pub const fn new(value: $int) -> Self {
                Self(value.to_le_bytes())
            }
            pub const fn get(self) -> $int {
                <$int>::from_le_bytes(self.0)
            }
            pub fn set(&mut self, value: $int) {
                self.0 = value.to_le_bytes();
            }
        }

        impl From<$int> for $name {
            fn from(value: $int) -> Self {
                Self::new(value)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.get(), f)
            }
        }

        impl IdlType for $name {
            const IDL: IdlTy = IdlTy::$idl;
        }
    };
}

le_int!(
    /// `u16`, little-endian, alignment 1.
    U16, u16, U16
);
le_int!(
    /// `u32`, little-endian, alignment 1.
    U32, u32, U32
);
le_int!(
    /// `u64`, little-endian, alignment 1.
    U64, u64, U64
);

/// Borsh `bool`: one byte, 0 or 1. Any non-zero byte reads as true, and the
/// program only ever writes 0 or 1.
#[repr(transparent)]
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct Bool(u8);

impl Bool {
    pub const TRUE: Bool = Bool(1);
    pub const FALSE: Bool = Bool(0);
    pub const fn new(value: bool) -> Self {
        Self(value as u8)
    }
    pub const fn get(self) -> bool {
        self.0 != 0
    }
    pub fn set(&mut self, value: bool) {
        self.0 = value as u8;
    }
}

impl From<bool> for Bool {
    fn from(value: bool) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for Bool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

impl IdlType for Bool {
    const IDL: IdlTy = IdlTy::Bool;
}

/// A Solana address (Ed25519 public key or program-derived address): 32
/// bytes. Its own type only so the IDL says `pubkey` rather than `[u8; 32]`.
#[repr(transparent)]
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Pod, Zeroable)]
pub struct Pubkey(pub [u8; 32]);

impl Pubkey {
    pub const fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<[u8; 32]> for Pubkey {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for Pubkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Short hex keeps account dumps readable; clients print base58.
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…")
    }
}

impl IdlType for Pubkey {
    const IDL: IdlTy = IdlTy::Pubkey;
}

/// Declares a layout struct: `#[repr(C)]`, alignment 1, `Pod`, with its
/// field list recorded for the IDL.
#[macro_export]
macro_rules! layout {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, PartialEq, Eq, Debug, ::bytemuck::Pod, ::bytemuck::Zeroable)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty ),*
        }

        // Alignment 1 is what makes in-place views sound and the layout
        // padding-free (hence Borsh-identical).
        const _: () = assert!(::core::mem::align_of::<$name>() == 1);

        impl $crate::layout::Layout for $name {
            const NAME: &'static str = stringify!($name);
            const FIELDS: &'static [$crate::layout::FieldDef] = &[
                $( $crate::layout::FieldDef {
                    name: stringify!($field),
                    ty: <$ty as $crate::layout::IdlType>::IDL,
                } ),*
            ];
        }

        impl $crate::layout::IdlType for $name {
            const IDL: $crate::layout::IdlTy = $crate::layout::IdlTy::Defined(stringify!($name));
        }
    };
}

/// Why bytes could not be viewed as a layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("{name} needs exactly {expected} bytes, found {found}: pass the right account")]
    WrongSize {
        name: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("{name} discriminator mismatch: the account holds another type or is not initialized")]
    WrongDiscriminator { name: &'static str },
    #[error("{name} is already initialized")]
    AlreadyInitialized { name: &'static str },
}

/// An account type: a layout stored after Anchor's 8-byte
/// `sha256("account:<Name>")[..8]` discriminator.
pub trait Account: Layout {
    const DISCRIMINATOR: [u8; 8];
    /// Bytes the account occupies: discriminator + layout.
    const SPACE: usize = 8 + Self::LEN;
}

/// Implements [`Account`] for layouts, deriving each discriminator from the
/// struct's name.
#[macro_export]
macro_rules! accounts {
    ($($name:ident),* $(,)?) => {
        $(impl $crate::layout::Account for $name {
            const DISCRIMINATOR: [u8; 8] = $crate::sha256::discriminator("account:", stringify!($name));
        })*
    };
}

fn check_space<T: Account>(len: usize) -> Result<(), LayoutError> {
    if len == T::SPACE {
        Ok(())
    } else {
        Err(LayoutError::WrongSize {
            name: T::NAME,
            expected: T::SPACE,
            found: len,
        })
    }
}

/// Views an initialized account's data in place.
pub fn view<T: Account>(data: &[u8]) -> Result<&T, LayoutError> {
    check_space::<T>(data.len())?;
    if data[..8] != T::DISCRIMINATOR {
        return Err(LayoutError::WrongDiscriminator { name: T::NAME });
    }
    Ok(bytemuck::from_bytes(&data[8..]))
}

/// Views an initialized account's data in place, mutably.
pub fn view_mut<T: Account>(data: &mut [u8]) -> Result<&mut T, LayoutError> {
    check_space::<T>(data.len())?;
    if data[..8] != T::DISCRIMINATOR {
        return Err(LayoutError::WrongDiscriminator { name: T::NAME });
    }
    Ok(bytemuck::from_bytes_mut(&mut data[8..]))
}

/// Initializes freshly allocated (all-zero) account data: writes the
/// discriminator and returns the zeroed layout to fill in. Refuses data that
/// already carries a discriminator, so an account cannot be re-initialized.
pub fn init<T: Account>(data: &mut [u8]) -> Result<&mut T, LayoutError> {
    check_space::<T>(data.len())?;
    if data[..8] != [0u8; 8] {
        return Err(LayoutError::AlreadyInitialized { name: T::NAME });
    }
    data[..8].copy_from_slice(&T::DISCRIMINATOR);
    Ok(bytemuck::from_bytes_mut(&mut data[8..]))
}

/// The full account data for a value: discriminator + bytes.
#[cfg(feature = "alloc")]
pub fn account_bytes<T: Account>(value: &T) -> alloc::vec::Vec<u8> {
    let mut out = alloc::vec::Vec::with_capacity(T::SPACE);
    out.extend_from_slice(&T::DISCRIMINATOR);
    out.extend_from_slice(value.as_bytes());
    out
}
