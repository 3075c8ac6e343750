//! Redaction rules: a path that selects values and what to do with them.
//!
//! Path syntax: segments joined by `.`. A segment is either `*`, which
//! matches every member of an object and every element of an array, or a
//! key, which matches the object member of that name and, when it is a
//! plain decimal index (`0`, `17`; no sign, no leading zeros), the array
//! element at that index. Inside a key, `\.`, `\*` and `\\` stand for a
//! literal `.`, `*` and `\` (so the key `*` is written `\*`); no other
//! backslash escape exists. Paths and segments are never empty, so the root
//! itself cannot be selected and a member whose name is empty is reachable
//! only through `*`. (These backslashes are in the path string's value; in
//! the JSON text of the input each is written `\\`.)
//!
//! A path that selects nothing is not an error: the rule changes nothing.

use alloc::string::String;
use alloc::vec::Vec;

use crate::canon;
use crate::parse::Value;

/// What a rule does to each value its path selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Remove the member or element (later array elements move up).
    Drop,
    /// Replace the value with the string [`MASK`], whatever its type or size.
    Mask,
    /// Replace the value with `"blake3:<64 lowercase hex>"`, the BLAKE3 hash
    /// of the value's canonical JSON text.
    Hash,
}

impl Action {
    /// The action named by a rule's `action` string.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "drop" => Some(Self::Drop),
            "mask" => Some(Self::Mask),
            "hash" => Some(Self::Hash),
            _ => None,
        }
    }
}

/// What `mask` leaves: always 8 asterisks, so the mask does not leak the
/// length (or type) of what it hides.
pub const MASK: &str = "********";

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Any,
    Key(String),
}

impl Segment {
    fn matches_key(&self, key: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Key(k) => k == key,
        }
    }

    fn matches_index(&self, index: usize) -> bool {
        match self {
            Self::Any => true,
            Self::Key(k) => parse_index(k) == Some(index),
        }
    }
}

/// A plain decimal index: digits only, no leading zero unless it is `0`.
fn parse_index(key: &str) -> Option<usize> {
    let b = key.as_bytes();
    if b.is_empty() || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    b.iter().try_fold(0usize, |acc, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(usize::from(d - b'0'))
    })
}

/// Splits a path into segments; `None` if it breaks the syntax.
pub fn parse_path(path: &str) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut key = String::new();
    // Whether the segment so far is exactly one unescaped `*`.
    let mut star = false;
    let mut chars = path.chars();
    loop {
        let c = chars.next();
        match c {
            None | Some('.') => {
                if star {
                    segments.push(Segment::Any);
                } else if key.is_empty() {
                    return None;
                } else {
                    segments.push(Segment::Key(core::mem::take(&mut key)));
                }
                star = false;
                if c.is_none() {
                    return Some(segments);
                }
            }
            Some('\\') => {
                if star {
                    return None;
                }
                match chars.next() {
                    Some(e @ ('.' | '*' | '\\')) => key.push(e),
                    _ => return None,
                }
            }
            Some('*') => {
                // `*` is a wildcard only as a whole segment.
                if star || !key.is_empty() {
                    return None;
                }
                star = true;
            }
            Some(other) => {
                if star {
                    return None;
                }
                key.push(other);
            }
        }
    }
}

/// A parsed rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub path: Vec<Segment>,
    pub action: Action,
}

/// Applies `rule` to `doc`. All values the path selects are chosen first,
/// then changed, so `drop` of `list.*` empties the list and `drop` of
/// `list.0` removes only the first element.
pub fn apply(doc: &mut Value<'_>, rule: &Rule) {
    apply_at(doc, &rule.path, rule.action);
}

fn apply_at(value: &mut Value<'_>, path: &[Segment], action: Action) {
    let Some((seg, rest)) = path.split_first() else {
        return;
    };
    match value {
        Value::Object(members) => {
            if rest.is_empty() && action == Action::Drop {
                members.retain(|(key, _)| !seg.matches_key(key));
                return;
            }
            for (_, child) in members.iter_mut().filter(|(key, _)| seg.matches_key(key)) {
                step(child, rest, action);
            }
        }
        Value::Array(items) => {
            if rest.is_empty() && action == Action::Drop {
                let mut index = 0;
                items.retain(|_| {
                    index += 1;
                    !seg.matches_index(index - 1)
                });
                return;
            }
            for (_, child) in items
                .iter_mut()
                .enumerate()
                .filter(|(i, _)| seg.matches_index(*i))
            {
                step(child, rest, action);
            }
        }
        // Scalars have no members: nothing matches below them.
        _ => {}
    }
}

/// Acts on a selected child, or descends further.
fn step(child: &mut Value<'_>, rest: &[Segment], action: Action) {
    if !rest.is_empty() {
        return apply_at(child, rest, action);
    }
    let replacement = match action {
        Action::Mask => String::from(MASK),
        Action::Hash => hash_value(child),
        Action::Drop => unreachable!("drop is applied by the parent"),
    };
    *child = Value::String(replacement.into());
}

/// `blake3:<hex>` of the canonical JSON text of `value`.
pub fn hash_value(value: &Value<'_>) -> String {
    let mut hasher = blake3::Hasher::new();
    canon::write_value(&mut hasher, value);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("blake3:");
    out.push_str(hasher.finalize().to_hex().as_str());
    out
}
