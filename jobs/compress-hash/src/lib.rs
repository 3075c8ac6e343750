//! `compress-hash`: compresses the input and says, verifiably, what it was.
//!
//! Input: any bytes. Output:
//!
//! ```text
//! manifest_len: u32 little-endian || manifest (manifest_len bytes) || compressed
//! ```
//!
//! `compressed` is one raw DEFLATE stream (RFC 1951, no zlib/gzip header) of
//! the whole input at level [`LEVEL`], made by miniz_oxide 0.8.9 (pinned
//! exactly: another encoder, or another version of this one, may emit other
//! bytes for the same level, and a job's output must never change).
//!
//! `manifest` is canonical compact JSON (keys sorted by their bytes, no
//! whitespace, integers in plain decimal, hashes as lowercase hex):
//!
//! ```text
//! {"chunk_size":65536,
//!  "chunks":[{"blake3":"<hex>","len":N,"offset":N},...],
//!  "codec":"deflate-raw",
//!  "compressed_blake3":"<hex>","compressed_len":N,
//!  "encoder":"miniz_oxide-0.8.9",
//!  "format":"edgerun-compress-hash","format_version":1,
//!  "input_blake3":"<hex>","input_len":N,
//!  "level":6}
//! ```
//!
//! (shown wrapped; the real text is one line). `chunks` covers the INPUT in
//! [`CHUNK_SIZE`] pieces, the last one possibly shorter; empty input has no
//! chunks. A reader can check any chunk of the decompressed data without
//! hashing the rest.

#![no_std]

extern crate alloc;

use alloc::vec::Vec;

/// The manifest's `format` value.
pub const FORMAT: &str = "edgerun-compress-hash";
/// The manifest's `format_version` value.
pub const FORMAT_VERSION: u32 = 1;
/// The manifest's `codec` value: raw DEFLATE, RFC 1951.
pub const CODEC: &str = "deflate-raw";
/// The manifest's `encoder` value: the exact implementation behind the bytes.
pub const ENCODER: &str = "miniz_oxide-0.8.9";
/// The DEFLATE level (miniz's default trade-off).
pub const LEVEL: u8 = 6;
/// Size of the hashed input chunks: 64 KiB.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// Runs the job on `input`.
pub fn run(input: &[u8]) -> Vec<u8> {
    let compressed = miniz_oxide::deflate::compress_to_vec(input, LEVEL);
    let manifest = manifest(input, &compressed);
    // A wasm32 input is below 4 GiB, and the manifest is about 1/600 of it.
    let manifest_len = u32::try_from(manifest.len()).expect("manifest below 4 GiB");
    let mut out = Vec::with_capacity(4 + manifest.len() + compressed.len());
    out.extend_from_slice(&manifest_len.to_le_bytes());
    out.extend_from_slice(&manifest);
    out.extend_from_slice(&compressed);
    out
}

edgerun_guest::main!(run);

/// Splits a job output into `(manifest, compressed)`; `None` if the length
/// prefix does not fit.
pub fn split_output(output: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = output.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// The canonical manifest text for `input` and its `compressed` form.
pub fn manifest(input: &[u8], compressed: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(400 + input.len().div_ceil(CHUNK_SIZE) * 110);
    m.extend_from_slice(b"{\"chunk_size\":");
    push_u64(&mut m, CHUNK_SIZE as u64);
    m.extend_from_slice(b",\"chunks\":[");
    for (i, chunk) in input.chunks(CHUNK_SIZE).enumerate() {
        if i > 0 {
            m.push(b',');
        }
        m.extend_from_slice(b"{\"blake3\":\"");
        m.extend_from_slice(blake3::hash(chunk).to_hex().as_bytes());
        m.extend_from_slice(b"\",\"len\":");
        push_u64(&mut m, chunk.len() as u64);
        m.extend_from_slice(b",\"offset\":");
        push_u64(&mut m, (i * CHUNK_SIZE) as u64);
        m.push(b'}');
    }
    m.extend_from_slice(b"],\"codec\":\"");
    m.extend_from_slice(CODEC.as_bytes());
    m.extend_from_slice(b"\",\"compressed_blake3\":\"");
    m.extend_from_slice(blake3::hash(compressed).to_hex().as_bytes());
    m.extend_from_slice(b"\",\"compressed_len\":");
    push_u64(&mut m, compressed.len() as u64);
    m.extend_from_slice(b",\"encoder\":\"");
    m.extend_from_slice(ENCODER.as_bytes());
    m.extend_from_slice(b"\",\"format\":\"");
    m.extend_from_slice(FORMAT.as_bytes());
    m.extend_from_slice(b"\",\"format_version\":");
    push_u64(&mut m, FORMAT_VERSION.into());
    m.extend_from_slice(b",\"input_blake3\":\"");
    m.extend_from_slice(blake3::hash(input).to_hex().as_bytes());
    m.extend_from_slice(b"\",\"input_len\":");
    push_u64(&mut m, input.len() as u64);
    m.extend_from_slice(b",\"level\":");
    push_u64(&mut m, LEVEL.into());
    m.push(b'}');
    m
}

fn push_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(edgerun_guest::decimal(n, &mut [0; 20]));
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use alloc::string::String;
    use alloc::vec;
    use serde_json::Value;

    /// Deterministic, partly compressible test data.
    fn sample(len: usize) -> Vec<u8> {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Runs of text with noise mixed in.
                if (i / 300) % 2 == 0 {
                    b"edgerun "[i % 8]
                } else {
                    x as u8
                }
            })
            .collect()
    }

    fn parts(out: &[u8]) -> (Value, &[u8]) {
        let (manifest, compressed) = split_output(out).expect("length prefix fits");
        (
            serde_json::from_slice(manifest).expect("manifest is JSON"),
            compressed,
        )
    }

    fn blake3_hex(bytes: &[u8]) -> String {
        blake3::hash(bytes).to_hex().as_str().into()
    }

    #[test]
    fn decompression_round_trips() {
        for len in [
            0,
            1,
            100,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            3 * CHUNK_SIZE + 17,
        ] {
            let input = sample(len);
            let out = run(&input);
            let (m, compressed) = parts(&out);
            let back = miniz_oxide::inflate::decompress_to_vec(compressed).expect("valid deflate");
            assert_eq!(back, input, "len {len}");
            assert_eq!(m["input_len"], len);
            assert_eq!(m["input_blake3"], blake3_hex(&input));
            assert_eq!(m["compressed_len"], compressed.len());
            assert_eq!(m["compressed_blake3"], blake3_hex(compressed));
        }
    }

    #[test]
    fn chunk_hashes_cover_the_input_in_64_kib_pieces() {
        let input = sample(2 * CHUNK_SIZE + 1000);
        let out = run(&input);
        let (m, _) = parts(&out);
        assert_eq!(m["chunk_size"], 65536);
        let chunks = m["chunks"].as_array().expect("chunks is an array");
        assert_eq!(chunks.len(), 3);
        let mut next = 0usize;
        for c in chunks {
            let offset = c["offset"].as_u64().unwrap() as usize;
            let len = c["len"].as_u64().unwrap() as usize;
            assert_eq!(offset, next);
            assert_eq!(c["blake3"], blake3_hex(&input[offset..offset + len]));
            next = offset + len;
        }
        assert_eq!(next, input.len());
        assert_eq!(chunks[2]["len"], 1000);
    }

    #[test]
    fn empty_input_has_no_chunks() {
        let out = run(b"");
        let (m, compressed) = parts(&out);
        assert_eq!(m["chunks"], Value::Array(vec![]));
        assert_eq!(m["input_blake3"], blake3_hex(b""));
        assert!(
            miniz_oxide::inflate::decompress_to_vec(compressed)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn manifest_names_the_format_and_codec() {
        let out = run(b"abc");
        let (m, _) = parts(&out);
        assert_eq!(m["format"], FORMAT);
        assert_eq!(m["format_version"], 1);
        assert_eq!(m["codec"], "deflate-raw");
        assert_eq!(m["encoder"], "miniz_oxide-0.8.9");
        assert_eq!(m["level"], 6);
        assert_eq!(m.as_object().unwrap().len(), 11);
    }

    /// The manifest is exactly what the canonical JSON of `json-redact`
    /// makes of it: sorted keys, no whitespace.
    #[test]
    fn manifest_is_canonical_json() {
        let input = sample(CHUNK_SIZE + 5);
        let out = run(&input);
        let (manifest, _) = split_output(&out).unwrap();
        let mut envelope = b"{\"rules\":[],\"document\":".to_vec();
        envelope.extend_from_slice(manifest);
        envelope.push(b'}');
        assert_eq!(edgerun_job_json_redact::run(&envelope), manifest);
    }

    /// The compressed bytes are part of the job's result: pin them.
    #[test]
    fn output_bytes_are_pinned() {
        let out = run(&sample(100_000));
        assert_eq!(blake3_hex(&out), PINNED_100K);
    }

    const PINNED_100K: &str = "107a8de693c346f44bdbe7f35d3da7e92305d114fe84cebbaa29492d3e9ad879";

    #[test]
    fn split_output_rejects_a_short_or_lying_prefix() {
        assert_eq!(split_output(b"\x01\x00"), None);
        assert_eq!(split_output(b"\x05\x00\x00\x00abcd"), None);
        assert_eq!(
            split_output(b"\x02\x00\x00\x00abcd"),
            Some((&b"ab"[..], &b"cd"[..]))
        );
    }
}
