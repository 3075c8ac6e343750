//! `json-redact`: removes, masks or hashes parts of a JSON document, and
//! writes the result as canonical JSON.
//!
//! # Input
//!
//! ```json
//! {"document": <any JSON>,
//!  "rules": [{"path": "users.*.email", "action": "mask"}, ...]}
//! ```
//!
//! Both members are required and no others are allowed; a rule has exactly
//! `path` and `action`. Rules run in order, each on the result of the ones
//! before it.
//!
//! - **path**: see [`rules`]: keys joined by `.`, `*` for any member or
//!   element, decimal indices for array elements, `\.` `\*` `\\` inside a
//!   key for the literal character.
//! - **action**: `drop` removes the member/element; `mask` replaces the value
//!   with `"********"` (always 8 asterisks: the length is not leaked); `hash`
//!   replaces it with `"blake3:<hex>"`, the BLAKE3 of the value's canonical
//!   JSON text (see [`canon`]), so equal values hash alike and a holder of
//!   the original can prove it.
//!
//! # Output
//!
//! The redacted document as canonical JSON ([`canon`]): sorted keys, no
//! whitespace, one string escaping, numbers exactly as written in the input
//! (never converted: no floating point anywhere). Input that is not valid
//! gives, deterministically,
//! `{"error":{"code":"<code>","message":"<sentence>","offset":<byte offset>}}`
//! with a code from [`ErrorCode::code`]. The input is strict JSON (RFC 8259)
//! in UTF-8, duplicate member names refused, at most [`parse::MAX_DEPTH`]
//! arrays/objects deep counting the input object itself.

#![no_std]

extern crate alloc;

pub mod canon;
mod error;
pub mod parse;
pub mod rules;

use alloc::vec::Vec;

pub use error::{Error, ErrorCode};
use parse::{Parser, Value};
use rules::{Action, Rule};

/// Runs the job: the redacted canonical document, or the error object.
pub fn run(input: &[u8]) -> Vec<u8> {
    redact(input).unwrap_or_else(|e| e.to_json())
}

edgerun_guest::main!(run);

/// Parses the input, applies its rules and returns the canonical document.
pub fn redact(input: &[u8]) -> Result<Vec<u8>, Error> {
    let (mut document, rules) = parse_input(input)?;
    for rule in &rules {
        rules::apply(&mut document, rule);
    }
    let mut out = Vec::with_capacity(input.len());
    canon::write_value(&mut out, &document);
    Ok(out)
}

/// Reads `{"document": …, "rules": […]}`.
fn parse_input(input: &[u8]) -> Result<(Value<'_>, Vec<Rule>), Error> {
    let mut p = Parser::new(input)?;
    p.skip_ws();
    if p.peek() != Some(b'{') {
        return Err(Error::at(ErrorCode::InvalidEnvelope, p.offset()));
    }
    let mut document = None;
    let mut rules = None;
    let close = p.object(1, |p, key, at| match &*key {
        "document" if document.is_none() => {
            document = Some(p.value(1)?);
            Ok(())
        }
        "rules" if rules.is_none() => {
            rules = Some(parse_rules(p)?);
            Ok(())
        }
        "document" | "rules" => Err(Error::at(ErrorCode::DuplicateKey, at)),
        _ => Err(Error::at(ErrorCode::UnknownField, at)),
    })?;
    p.finish()?;
    match (document, rules) {
        (Some(document), Some(rules)) => Ok((document, rules)),
        _ => Err(Error::at(ErrorCode::MissingField, close)),
    }
}

/// Reads the `rules` array (depth 2) of rule objects (depth 3).
fn parse_rules(p: &mut Parser<'_>) -> Result<Vec<Rule>, Error> {
    p.skip_ws();
    if p.peek() != Some(b'[') {
        return Err(Error::at(ErrorCode::InvalidRules, p.offset()));
    }
    let mut rules = Vec::new();
    p.array(2, |p| {
        p.skip_ws();
        if p.peek() != Some(b'{') {
            return Err(Error::at(ErrorCode::InvalidRules, p.offset()));
        }
        let mut path = None;
        let mut action = None;
        let close = p.object(3, |p, key, at| {
            let slot = match &*key {
                "path" => &mut path,
                "action" => &mut action,
                _ => return Err(Error::at(ErrorCode::UnknownField, at)),
            };
            if slot.is_some() {
                return Err(Error::at(ErrorCode::DuplicateKey, at));
            }
            p.skip_ws();
            if p.peek() != Some(b'"') {
                return Err(Error::at(ErrorCode::InvalidRules, p.offset()));
            }
            *slot = Some((p.offset(), p.string()?));
            Ok(())
        })?;
        let (Some((path_at, path)), Some((action_at, action))) = (path, action) else {
            return Err(Error::at(ErrorCode::MissingField, close));
        };
        let path = rules::parse_path(&path).ok_or(Error::at(ErrorCode::InvalidPath, path_at))?;
        let action =
            Action::from_name(&action).ok_or(Error::at(ErrorCode::InvalidAction, action_at))?;
        rules.push(Rule { path, action });
        Ok(())
    })?;
    Ok(rules)
}

#[cfg(test)]
mod tests;
