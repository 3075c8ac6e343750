//! Canonical JSON text: one spelling for one parsed value.
//!
//! - no whitespace between tokens;
//! - object members sorted by the UTF-8 bytes of their names (the parser
//!   keeps them so);
//! - strings: `"` and `\` escaped as `\"` and `\\`; U+0008, U+0009, U+000A,
//!   U+000C, U+000D as `\b \t \n \f \r`; other code points below U+0020 as
//!   `\u00xx` (lowercase hex); everything else, `/` and non-ASCII included,
//!   as its raw UTF-8;
//! - numbers exactly as their source text (`1.0`, `-0`, `1E+2` stay so);
//! - `true`, `false`, `null`.
//!
//! Output goes to a [`Sink`], so a value can be hashed without building its
//! text first.

use alloc::vec::Vec;

use crate::parse::Value;

/// Where canonical text goes.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for blake3::Hasher {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

/// Writes the canonical text of `value`.
pub fn write_value(out: &mut impl Sink, value: &Value<'_>) {
    match value {
        Value::Null => out.put(b"null"),
        Value::Bool(true) => out.put(b"true"),
        Value::Bool(false) => out.put(b"false"),
        Value::Number(text) => out.put(text.as_bytes()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.put(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.put(b",");
                }
                write_value(out, item);
            }
            out.put(b"]");
        }
        Value::Object(members) => {
            out.put(b"{");
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.put(b",");
                }
                write_string(out, key);
                out.put(b":");
                write_value(out, item);
            }
            out.put(b"}");
        }
    }
}

/// Writes `s` as a canonical JSON string literal.
pub fn write_string(out: &mut impl Sink, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.put(b"\"");
    let bytes = s.as_bytes();
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0a => b"\\n",
            0x0c => b"\\f",
            0x0d => b"\\r",
            0x00..=0x1f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ],
            _ => continue,
        };
        out.put(&bytes[run_start..i]);
        out.put(short);
        run_start = i + 1;
    }
    out.put(&bytes[run_start..]);
    out.put(b"\"");
}

/// Writes `n` in decimal.
pub fn write_u64(out: &mut impl Sink, n: u64) {
    out.put(edgerun_guest::decimal(n, &mut [0; 20]));
}
