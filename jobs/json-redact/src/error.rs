//! Every way an input can be refused, each with a stable machine-readable
//! code, a sentence saying what to change, and the byte offset it refers to.

use alloc::vec::Vec;

use crate::canon;

/// What was wrong with the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidUtf8,
    UnexpectedEnd,
    ExpectedValue,
    ExpectedKey,
    ExpectedColon,
    ExpectedComma,
    InvalidNumber,
    InvalidEscape,
    LoneSurrogate,
    ControlCharacter,
    DuplicateKey,
    TooDeep,
    TrailingData,
    InvalidEnvelope,
    MissingField,
    UnknownField,
    InvalidRules,
    InvalidPath,
    InvalidAction,
}

impl ErrorCode {
    /// The `code` string of the error output.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidUtf8 => "invalid-utf8",
            Self::UnexpectedEnd => "unexpected-end",
            Self::ExpectedValue => "expected-value",
            Self::ExpectedKey => "expected-key",
            Self::ExpectedColon => "expected-colon",
            Self::ExpectedComma => "expected-comma",
            Self::InvalidNumber => "invalid-number",
            Self::InvalidEscape => "invalid-escape",
            Self::LoneSurrogate => "lone-surrogate",
            Self::ControlCharacter => "control-character",
            Self::DuplicateKey => "duplicate-key",
            Self::TooDeep => "too-deep",
            Self::TrailingData => "trailing-data",
            Self::InvalidEnvelope => "invalid-envelope",
            Self::MissingField => "missing-field",
            Self::UnknownField => "unknown-field",
            Self::InvalidRules => "invalid-rules",
            Self::InvalidPath => "invalid-path",
            Self::InvalidAction => "invalid-action",
        }
    }

    /// The `message` string of the error output.
    pub fn message(self) -> &'static str {
        match self {
            Self::InvalidUtf8 => "input is not valid UTF-8; send JSON text encoded as UTF-8",
            Self::UnexpectedEnd => "input ended inside a JSON value; send the complete input",
            Self::ExpectedValue => {
                "expected a JSON value: an object, array, string, number, true, false or null"
            }
            Self::ExpectedKey => "expected a member name in double quotes",
            Self::ExpectedColon => "expected ':' after the member name",
            Self::ExpectedComma => "expected ',' or the closing bracket after a value",
            Self::InvalidNumber => {
                "number does not follow the JSON grammar (no leading zeros, '+', bare '.' or missing digits)"
            }
            Self::InvalidEscape => {
                "invalid escape in a string; use \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u followed by 4 hex digits"
            }
            Self::LoneSurrogate => {
                "\\u escape is half of a UTF-16 surrogate pair; write both halves or the character itself"
            }
            Self::ControlCharacter => {
                "string contains a raw control character (below U+0020); write it as an escape"
            }
            Self::DuplicateKey => "object has the same member name twice; keep only one",
            Self::TooDeep => "arrays and objects are nested more than 128 deep; flatten the input",
            Self::TrailingData => "more data after the input object; send exactly one JSON object",
            Self::InvalidEnvelope => {
                "input must be a JSON object {\"document\": <any JSON>, \"rules\": [...]}"
            }
            Self::MissingField => {
                "object lacks a required member: the input needs \"document\" and \"rules\", every rule \"path\" and \"action\""
            }
            Self::UnknownField => {
                "unknown member: the input has only \"document\" and \"rules\", a rule only \"path\" and \"action\""
            }
            Self::InvalidRules => {
                "\"rules\" must be an array of objects {\"path\": <string>, \"action\": <string>}"
            }
            Self::InvalidPath => {
                "path must be non-empty keys or '*' joined by '.'; in a key write '\\.', '\\*' and '\\\\' for a literal '.', '*' and '\\'"
            }
            Self::InvalidAction => "action must be \"drop\", \"mask\" or \"hash\"",
        }
    }
}

/// An input refused at byte `offset` of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub offset: usize,
}

impl Error {
    pub(crate) fn at(code: ErrorCode, offset: usize) -> Self {
        Self { code, offset }
    }

    /// The job output for this error:
    /// `{"error":{"code":"…","message":"…","offset":N}}`.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"{\"error\":{\"code\":");
        canon::write_string(&mut out, self.code.code());
        out.extend_from_slice(b",\"message\":");
        canon::write_string(&mut out, self.code.message());
        out.extend_from_slice(b",\"offset\":");
        canon::write_u64(&mut out, self.offset as u64);
        out.extend_from_slice(b"}}");
        out
    }
}
