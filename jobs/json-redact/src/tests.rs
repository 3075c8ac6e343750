//! The job's behaviour as the module docs state it.

extern crate std;

use alloc::string::String;
use alloc::vec::Vec;
use std::format;

use super::*;

/// Output of a document with no rules (canonicalization only).
fn canon_of(document: &str) -> String {
    out(&format!(r#"{{"document":{document},"rules":[]}}"#))
}

/// Output of `document` with rules given as (path, action) pairs.
fn redacted(document: &str, rules: &[(&str, &str)]) -> String {
    let rules: Vec<String> = rules
        .iter()
        .map(|(path, action)| format!(r#"{{"path":{path:?},"action":"{action}"}}"#))
        .collect();
    out(&format!(
        r#"{{"document":{document},"rules":[{}]}}"#,
        rules.join(",")
    ))
}

fn out(input: &str) -> String {
    String::from_utf8(run(input.as_bytes())).expect("output is UTF-8")
}

/// The error an input gives, as (code, offset).
fn err(input: &[u8]) -> (&'static str, usize) {
    let e = redact(input).expect_err("input should be refused");
    (e.code.code(), e.offset)
}

fn doc_err(document: &str) -> (&'static str, usize) {
    let input = format!(r#"{{"document":{document},"rules":[]}}"#);
    let (code, at) = err(input.as_bytes());
    // Offsets relative to the document text.
    (code, at - r#"{"document":"#.len())
}

fn blake3_hex(text: &str) -> String {
    format!("blake3:{}", blake3::hash(text.as_bytes()).to_hex())
}

// ---- canonical form ----

#[test]
fn keys_are_sorted_by_utf8_bytes_and_whitespace_removed() {
    assert_eq!(
        canon_of(
            " { \"b\" : 1 ,\n\t\"a\" : [ 1 , { \"z\":null, \"y\" :true } ] , \"\u{e9}\":false, \"Z\":0 } "
        ),
        r#"{"Z":0,"a":[1,{"y":true,"z":null}],"b":1,"é":false}"#
    );
    // Byte order, not UTF-16 order: U+FF61 (EF BD A1) sorts before U+1F600 (F0 9F 98 80),
    // though its UTF-16 unit is larger than the surrogate D83D.
    assert_eq!(canon_of(r#"{"😀":1,"｡":2,"":3}"#), r#"{"":3,"｡":2,"😀":1}"#);
}

#[test]
fn numbers_keep_their_source_text() {
    assert_eq!(
        canon_of("[0,-0,1.0,-0.0,1e5,1E+5,2e-7,-1.50E-00,123456789012345678901234567890123456789]"),
        "[0,-0,1.0,-0.0,1e5,1E+5,2e-7,-1.50E-00,123456789012345678901234567890123456789]"
    );
    assert_eq!(canon_of("1e99999999999999999999"), "1e99999999999999999999");
    assert_eq!(canon_of("-0"), "-0");
}

#[test]
fn numbers_outside_the_grammar_are_refused() {
    for (bad, at) in [
        ("01", 0),
        ("-01", 0),
        ("+1", 0),
        ("-", 0),
        ("-a", 0),
        (".5", 0),
        ("1.", 0),
        ("1.e5", 0),
        ("1e", 0),
        ("1e+", 0),
        ("[1,-]", 3),
        ("0x10", 1),
    ] {
        let code = if bad == "+1" || bad == ".5" {
            "expected-value"
        } else if bad == "0x10" {
            "expected-comma"
        } else {
            "invalid-number"
        };
        assert_eq!(doc_err(bad), (code, at), "{bad}");
    }
}

#[test]
fn strings_are_reescaped_one_way() {
    assert_eq!(
        canon_of(r#""\"\\\/\b\f\n\r\t\u0000\u001f\u007f\u00e9\u20ac""#),
        "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\u{7f}é€\""
    );
    // Escaped and raw spellings of the same string give the same output.
    assert_eq!(canon_of(r#""\u0041\u00E9""#), canon_of(r#""Aé""#));
    assert_eq!(canon_of(r#""\u0008""#), r#""\b""#);
    assert_eq!(canon_of(r#""\u001B""#), r#""\u001b""#);
}

#[test]
fn surrogate_pairs_decode_to_one_character() {
    assert_eq!(canon_of(r#""\ud83d\ude00""#), "\"😀\"");
    assert_eq!(canon_of(r#""\uD834\uDD1E x""#), "\"𝄞 x\"");
}

#[test]
fn lone_surrogates_are_refused() {
    assert_eq!(doc_err(r#""ab\ud83d""#), ("lone-surrogate", 3));
    assert_eq!(doc_err(r#""\ud83dx""#), ("lone-surrogate", 1));
    assert_eq!(doc_err(r#""\ude00""#), ("lone-surrogate", 1));
    assert_eq!(doc_err(r#""\ud83d\u0041""#), ("lone-surrogate", 1));
}

#[test]
fn bad_escapes_and_raw_control_characters_are_refused() {
    assert_eq!(doc_err(r#""\x""#), ("invalid-escape", 1));
    assert_eq!(doc_err(r#""\u12g4""#), ("invalid-escape", 1));
    assert_eq!(doc_err("\"a\tb\""), ("control-character", 2));
    assert_eq!(doc_err("\"a\nb\""), ("control-character", 2));
}

#[test]
fn invalid_utf8_is_refused_at_its_offset() {
    let mut input = b"{\"document\":\"ok".to_vec();
    let at = input.len();
    input.extend_from_slice(b"\xff\"}");
    assert_eq!(err(&input), ("invalid-utf8", at));
    // An overlong encoding is not UTF-8 either.
    assert_eq!(
        err(b"{\"document\":\"\xc0\xaf\",\"rules\":[]}"),
        ("invalid-utf8", 13)
    );
}

#[test]
fn duplicate_keys_are_refused_even_when_spelled_differently() {
    assert_eq!(doc_err(r#"{"a":1,"b":2,"a":3}"#), ("duplicate-key", 13));
    assert_eq!(doc_err(r#"{"a":1,"\u0061":2}"#), ("duplicate-key", 7));
    // Of several duplicates, the first repeated name in the text is reported.
    assert_eq!(
        doc_err(r#"{"b":1,"a":1,"b":2,"a":3}"#),
        ("duplicate-key", 13)
    );
    assert_eq!(doc_err(r#"[{"x":{"k":1,"k":1}}]"#), ("duplicate-key", 13));
    // Same names in different objects are fine.
    assert_eq!(canon_of(r#"[{"k":1},{"k":2}]"#), r#"[{"k":1},{"k":2}]"#);
}

#[test]
fn nesting_is_bounded() {
    // The input object is depth 1, so the document may nest 127 deep.
    let ok = format!("{}{}", "[".repeat(127), "]".repeat(127));
    assert_eq!(canon_of(&ok), ok);
    let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
    assert_eq!(doc_err(&deep), ("too-deep", 127));
    let deep_objects = "{\"a\":".repeat(200);
    assert_eq!(doc_err(&deep_objects).0, "too-deep");
}

#[test]
fn syntax_errors_say_where() {
    assert_eq!(doc_err("[1 2]"), ("expected-comma", 3));
    assert_eq!(doc_err("[1,]"), ("expected-value", 3));
    assert_eq!(doc_err("{\"a\" 1}"), ("expected-colon", 5));
    assert_eq!(doc_err("{\"a\":1,}"), ("expected-key", 7));
    assert_eq!(doc_err("{1:2}"), ("expected-key", 1));
    assert_eq!(doc_err("tru"), ("expected-value", 3));
    assert_eq!(doc_err("nul!"), ("expected-value", 3));
    assert_eq!(err(b"{\"document\":[1,"), ("unexpected-end", 15));
    assert_eq!(err(b"{\"document\":\"abc"), ("unexpected-end", 16));
    assert_eq!(err(b"{\"document\":\"\\"), ("unexpected-end", 14));
    assert_eq!(
        err(b"{\"document\":1,\"rules\":[]} x"),
        ("trailing-data", 26)
    );
    assert_eq!(err(b""), ("invalid-envelope", 0));
}

// ---- the input object ----

#[test]
fn the_input_must_be_the_two_member_object() {
    assert_eq!(err(b"[1]"), ("invalid-envelope", 0));
    assert_eq!(err(b"  \"x\""), ("invalid-envelope", 2));
    assert_eq!(err(br#"{"document":1}"#), ("missing-field", 13));
    assert_eq!(err(br#"{"rules":[]}"#), ("missing-field", 11));
    assert_eq!(
        err(br#"{"document":1,"rules":[],"x":2}"#),
        ("unknown-field", 25)
    );
    assert_eq!(
        err(br#"{"document":1,"rules":[],"document":2}"#),
        ("duplicate-key", 25)
    );
    // Member order does not matter.
    assert_eq!(
        out(r#"{"rules":[],"document":{"b":1,"a":2}}"#),
        r#"{"a":2,"b":1}"#
    );
}

#[test]
fn rules_must_be_well_formed() {
    let r = |rules: &str| err(format!(r#"{{"document":1,"rules":{rules}}}"#).as_bytes());
    // Offsets below are from the start of `rules`' value, 22.
    assert_eq!(r("{}"), ("invalid-rules", 22));
    assert_eq!(r("[1]"), ("invalid-rules", 23));
    assert_eq!(r(r#"[{"path":1,"action":"drop"}]"#), ("invalid-rules", 31));
    assert_eq!(r(r#"[{"path":"a"}]"#), ("missing-field", 34));
    assert_eq!(
        r(r#"[{"path":"a","action":"drop","x":1}]"#),
        ("unknown-field", 51)
    );
    assert_eq!(
        r(r#"[{"path":"a","path":"b","action":"drop"}]"#),
        ("duplicate-key", 35)
    );
    assert_eq!(
        r(r#"[{"path":"a","action":"erase"}]"#),
        ("invalid-action", 44)
    );
    assert_eq!(
        r(r#"[{"path":"a..b","action":"drop"}]"#),
        ("invalid-path", 31)
    );
}

#[test]
fn path_syntax() {
    use rules::{Segment, parse_path};
    let key = |k: &str| Segment::Key(k.into());
    assert_eq!(parse_path("a.b"), Some(alloc::vec![key("a"), key("b")]));
    assert_eq!(
        parse_path("a.*.0"),
        Some(alloc::vec![key("a"), Segment::Any, key("0")])
    );
    assert_eq!(
        parse_path(r"a\.b.\*.c\\"),
        Some(alloc::vec![key("a.b"), key("*"), key("c\\")])
    );
    assert_eq!(parse_path("é.ü"), Some(alloc::vec![key("é"), key("ü")]));
    for bad in [
        "", ".", "a.", ".a", "a..b", "a*", "*a", "**", r"\a", r"a\", r"*\*",
    ] {
        assert_eq!(parse_path(bad), None, "{bad:?}");
    }
}

// ---- actions ----

const DOC: &str =
    r#"{"user":{"name":"Ada","email":"ada@example.com","age":36},"tags":["x","y","z"]}"#;

#[test]
fn drop_removes_members_and_elements() {
    assert_eq!(
        redacted(DOC, &[("user.email", "drop")]),
        r#"{"tags":["x","y","z"],"user":{"age":36,"name":"Ada"}}"#
    );
    assert_eq!(
        redacted(DOC, &[("tags.1", "drop")]),
        r#"{"tags":["x","z"],"user":{"age":36,"email":"ada@example.com","name":"Ada"}}"#
    );
    assert_eq!(redacted(DOC, &[("user", "drop"), ("tags", "drop")]), "{}");
}

#[test]
fn mask_is_always_eight_asterisks() {
    assert_eq!(
        redacted(
            r#"{"a":"x","b":"a much longer secret","c":12345,"d":{"e":[1]},"f":null}"#,
            &[("*", "mask")]
        ),
        r#"{"a":"********","b":"********","c":"********","d":"********","f":"********"}"#
    );
}

#[test]
fn hash_is_blake3_of_the_canonical_value_text() {
    // The value's canonical text, not its source spelling, is hashed.
    let doc = r#"{"k":{ "b" : [1, "\u0041"], "a": -0 }}"#;
    let expected = blake3_hex(r#"{"a":-0,"b":[1,"A"]}"#);
    assert_eq!(
        redacted(doc, &[("k", "hash")]),
        format!(r#"{{"k":"{expected}"}}"#)
    );
    assert_eq!(
        redacted(r#"["s"]"#, &[("0", "hash")]),
        format!(r#"["{}"]"#, blake3_hex(r#""s""#))
    );
    assert_eq!(
        redacted(r#"{"n":1.50}"#, &[("n", "hash")]),
        format!(r#"{{"n":"{}"}}"#, blake3_hex("1.50"))
    );
}

#[test]
fn wildcard_matches_every_member_and_element() {
    let doc = r#"{"users":[{"id":1,"email":"a@x"},{"id":2,"email":"b@x"},{"id":3}]}"#;
    assert_eq!(
        redacted(doc, &[("users.*.email", "mask")]),
        r#"{"users":[{"email":"********","id":1},{"email":"********","id":2},{"id":3}]}"#
    );
    assert_eq!(redacted(doc, &[("users.*", "drop")]), r#"{"users":[]}"#);
    assert_eq!(
        redacted(
            r#"{"a":{"x":1,"y":2},"b":{"x":3},"c":5}"#,
            &[("*.x", "drop")]
        ),
        r#"{"a":{"y":2},"b":{},"c":5}"#
    );
}

#[test]
fn drop_of_an_index_removes_only_that_element_then_later_rules_see_new_indices() {
    assert_eq!(redacted("[10,11,12,13]", &[("0", "drop")]), "[11,12,13]");
    // Rules run in order: the second `0` is the former element 1.
    assert_eq!(
        redacted("[10,11,12,13]", &[("0", "drop"), ("0", "drop")]),
        "[12,13]"
    );
}

#[test]
fn index_segments_are_plain_decimal_and_also_match_object_keys() {
    assert_eq!(redacted("[1,2]", &[("01", "drop")]), "[1,2]");
    assert_eq!(redacted("[1,2]", &[("5", "drop")]), "[1,2]");
    assert_eq!(
        redacted("[1,2]", &[("99999999999999999999999", "drop")]),
        "[1,2]"
    );
    assert_eq!(
        redacted(r#"{"0":1,"01":2}"#, &[("01", "drop")]),
        r#"{"0":1}"#
    );
}

#[test]
fn escaped_path_characters_match_literal_keys() {
    let doc = r#"{"a.b":1,"a":{"b":2},"*":3,"c":4}"#;
    assert_eq!(
        redacted(doc, &[(r"a\.b", "drop")]),
        r#"{"*":3,"a":{"b":2},"c":4}"#
    );
    assert_eq!(
        redacted(doc, &[("a.b", "drop")]),
        r#"{"*":3,"a":{},"a.b":1,"c":4}"#
    );
    assert_eq!(
        redacted(doc, &[(r"\*", "drop")]),
        r#"{"a":{"b":2},"a.b":1,"c":4}"#
    );
}

#[test]
fn paths_that_select_nothing_change_nothing() {
    let canonical = canon_of(DOC);
    assert_eq!(redacted(DOC, &[("user.phone", "drop")]), canonical);
    assert_eq!(redacted(DOC, &[("user.name.first", "mask")]), canonical);
    assert_eq!(redacted("7", &[("*", "drop")]), "7");
}

#[test]
fn later_rules_see_earlier_results() {
    // After hashing, `user` is a string, so `user.name` selects nothing.
    let hashed = redacted(DOC, &[("user", "hash"), ("user.name", "drop")]);
    let user = blake3_hex(r#"{"age":36,"email":"ada@example.com","name":"Ada"}"#);
    assert_eq!(
        hashed,
        format!(r#"{{"tags":["x","y","z"],"user":"{user}"}}"#)
    );
    // Masking then hashing hashes the mask.
    assert_eq!(
        redacted(r#"{"p":"secret"}"#, &[("p", "mask"), ("p", "hash")]),
        format!(r#"{{"p":"{}"}}"#, blake3_hex(r#""********""#))
    );
}

// ---- the error output ----

#[test]
fn errors_are_a_canonical_json_object() {
    let output = out(r#"{"document":[1,]}"#);
    assert_eq!(
        output,
        r#"{"error":{"code":"expected-value","message":"expected a JSON value: an object, array, string, number, true, false or null","offset":15}}"#
    );
    // Every message survives the round trip through our own canonical form.
    for code in [
        ErrorCode::InvalidEscape,
        ErrorCode::InvalidPath,
        ErrorCode::InvalidEnvelope,
    ] {
        let json = String::from_utf8(Error::at(code, 7).to_json()).unwrap();
        assert_eq!(canon_of(&json), json, "{code:?}");
    }
}

#[test]
fn output_is_a_fixed_point() {
    let once = redacted(DOC, &[("user.age", "hash")]);
    assert_eq!(canon_of(&once), once);
}
