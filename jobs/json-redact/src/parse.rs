//! A strict JSON reader (RFC 8259) for UTF-8 text that never touches
//! floating point: numbers are checked against the grammar and kept as their
//! source text.
//!
//! Strictness, so that one input has one meaning: duplicate member names are
//! refused (also when they differ only in escaping), lone UTF-16 surrogates
//! in `\u` escapes are refused, and nesting is bounded by [`MAX_DEPTH`]. The
//! first error met reading left to right is reported; duplicate names are
//! checked when their object closes.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{Error, ErrorCode};

/// Most arrays and objects open at once anywhere in the input (the input's
/// own `{…}` counts as the first).
pub const MAX_DEPTH: usize = 128;

/// A JSON value borrowing from the input where it can.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// The number's source text, valid per the JSON grammar.
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    /// Members sorted by the UTF-8 bytes of their names, names unique.
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

/// A cursor over validated UTF-8 input.
pub struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

type Result<T> = core::result::Result<T, Error>;

impl<'a> Parser<'a> {
    /// A parser at the start of `input`; refuses input that is not UTF-8.
    pub fn new(input: &'a [u8]) -> Result<Self> {
        let text = core::str::from_utf8(input)
            .map_err(|e| Error::at(ErrorCode::InvalidUtf8, e.valid_up_to()))?;
        Ok(Self { text, pos: 0 })
    }

    /// The current byte offset.
    pub fn offset(&self) -> usize {
        self.pos
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn error(&self, code: ErrorCode) -> Error {
        Error::at(code, self.pos)
    }

    /// The next byte, `None` at the end.
    pub fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    /// Skips JSON whitespace (space, tab, LF, CR).
    pub fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Succeeds only at the end of the input, after whitespace.
    pub fn finish(&mut self) -> Result<()> {
        self.skip_ws();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error(ErrorCode::TrailingData)),
        }
    }

    /// Reads one value inside `depth` enclosing arrays/objects.
    pub fn value(&mut self, depth: usize) -> Result<Value<'a>> {
        self.skip_ws();
        match self.peek() {
            None => Err(self.error(ErrorCode::UnexpectedEnd)),
            Some(b'{') => {
                let mut members: Vec<(Cow<'a, str>, usize, Value<'a>)> = Vec::new();
                self.object(depth + 1, |p, key, at| {
                    let value = p.value(depth + 1)?;
                    members.push((key, at, value));
                    Ok(())
                })?;
                // Stable: of two equal names, the one written first stays first.
                members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                let duplicate = members
                    .windows(2)
                    .filter(|w| w[0].0 == w[1].0)
                    .map(|w| w[1].1)
                    .min();
                if let Some(at) = duplicate {
                    return Err(Error::at(ErrorCode::DuplicateKey, at));
                }
                Ok(Value::Object(
                    members.into_iter().map(|(k, _, v)| (k, v)).collect(),
                ))
            }
            Some(b'[') => {
                let mut items = Vec::new();
                self.array(depth + 1, |p| {
                    items.push(p.value(depth + 1)?);
                    Ok(())
                })?;
                Ok(Value::Array(items))
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') => Ok(Value::Number(self.number()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(_) => Err(self.error(ErrorCode::ExpectedValue)),
        }
    }

    fn literal(&mut self, word: &str, value: Value<'a>) -> Result<Value<'a>> {
        for &want in word.as_bytes() {
            match self.peek() {
                None => return Err(self.error(ErrorCode::UnexpectedEnd)),
                Some(b) if b == want => self.pos += 1,
                Some(_) => return Err(self.error(ErrorCode::ExpectedValue)),
            }
        }
        Ok(value)
    }

    /// Reads an object at nesting `depth` (after whitespace, at `{`),
    /// calling `member(parser, name, name_offset)` for each member with the
    /// parser at its value, which `member` must read. Returns the offset of
    /// the closing `}`.
    pub fn object(
        &mut self,
        depth: usize,
        mut member: impl FnMut(&mut Self, Cow<'a, str>, usize) -> Result<()>,
    ) -> Result<usize> {
        self.open(b'{', depth)?;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(self.pos - 1);
        }
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(self.error(ErrorCode::UnexpectedEnd)),
                Some(b'"') => {}
                Some(_) => return Err(self.error(ErrorCode::ExpectedKey)),
            }
            let at = self.pos;
            let key = self.string()?;
            self.skip_ws();
            match self.peek() {
                None => return Err(self.error(ErrorCode::UnexpectedEnd)),
                Some(b':') => self.pos += 1,
                Some(_) => return Err(self.error(ErrorCode::ExpectedColon)),
            }
            member(self, key, at)?;
            if let Some(close) = self.next_or_close(b'}')? {
                return Ok(close);
            }
        }
    }

    /// Reads an array at nesting `depth` (after whitespace, at `[`), calling
    /// `item(parser)` to read each element.
    pub fn array(
        &mut self,
        depth: usize,
        mut item: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        self.open(b'[', depth)?;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            if self.next_or_close(b']')?.is_some() {
                return Ok(());
            }
        }
    }

    fn open(&mut self, bracket: u8, depth: usize) -> Result<()> {
        debug_assert_eq!(self.peek(), Some(bracket));
        if depth > MAX_DEPTH {
            return Err(self.error(ErrorCode::TooDeep));
        }
        self.pos += 1;
        Ok(())
    }

    /// After a member or element: `,` gives `None`, `close` gives its offset.
    fn next_or_close(&mut self, close: u8) -> Result<Option<usize>> {
        self.skip_ws();
        match self.peek() {
            None => Err(self.error(ErrorCode::UnexpectedEnd)),
            Some(b',') => {
                self.pos += 1;
                Ok(None)
            }
            Some(b) if b == close => {
                self.pos += 1;
                Ok(Some(self.pos - 1))
            }
            Some(_) => Err(self.error(ErrorCode::ExpectedComma)),
        }
    }

    /// Reads a string (at `"`), decoding escapes; borrows when there are none.
    pub fn string(&mut self) -> Result<Cow<'a, str>> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.pos += 1;
        let bytes = self.bytes();
        let mut run_start = self.pos;
        let mut owned: Option<String> = None;
        loop {
            let Some(&b) = bytes.get(self.pos) else {
                return Err(self.error(ErrorCode::UnexpectedEnd));
            };
            match b {
                b'"' => {
                    // Quote and backslash are ASCII, so these are char
                    // boundaries of the validated text.
                    let run = &self.text[run_start..self.pos];
                    self.pos += 1;
                    return Ok(match owned {
                        None => Cow::Borrowed(run),
                        Some(mut s) => {
                            s.push_str(run);
                            Cow::Owned(s)
                        }
                    });
                }
                b'\\' => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&self.text[run_start..self.pos]);
                    let c = self.escape()?;
                    s.push(c);
                    run_start = self.pos;
                }
                0x00..=0x1f => return Err(self.error(ErrorCode::ControlCharacter)),
                _ => self.pos += 1,
            }
        }
    }

    /// Decodes one escape (at `\`), moving past it.
    fn escape(&mut self) -> Result<char> {
        let start = self.pos;
        let bad = |code| Err(Error::at(code, start));
        let Some(&kind) = self.bytes().get(start + 1) else {
            return Err(Error::at(ErrorCode::UnexpectedEnd, self.bytes().len()));
        };
        self.pos += 2;
        let c = match kind {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = self.hex4(start)?;
                match high {
                    0xd800..=0xdbff => {
                        if self.bytes().get(self.pos..self.pos + 2) != Some(b"\\u") {
                            return bad(ErrorCode::LoneSurrogate);
                        }
                        self.pos += 2;
                        let low = self.hex4(start)?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return bad(ErrorCode::LoneSurrogate);
                        }
                        let code = 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
                        char::from_u32(code).expect("a surrogate pair is a scalar value")
                    }
                    0xdc00..=0xdfff => return bad(ErrorCode::LoneSurrogate),
                    _ => char::from_u32(high).expect("outside the surrogates"),
                }
            }
            _ => return bad(ErrorCode::InvalidEscape),
        };
        Ok(c)
    }

    /// Four hex digits after `\u`; errors point at the escape's `\` (`start`).
    fn hex4(&mut self, start: usize) -> Result<u32> {
        let mut n = 0u32;
        for _ in 0..4 {
            let digit = match self.peek() {
                None => return Err(self.error(ErrorCode::UnexpectedEnd)),
                Some(b) => char::from(b)
                    .to_digit(16)
                    .ok_or(Error::at(ErrorCode::InvalidEscape, start))?,
            };
            n = n * 16 + digit;
            self.pos += 1;
        }
        Ok(n)
    }

    /// Reads a number (at `-` or a digit) and returns its text:
    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Result<&'a str> {
        let start = self.pos;
        let bad = Err(Error::at(ErrorCode::InvalidNumber, start));
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return bad;
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return bad,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return bad;
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return bad;
            }
            self.digits();
        }
        Ok(&self.text[start..self.pos])
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }
}
