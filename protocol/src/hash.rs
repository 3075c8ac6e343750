//! Identifiers, seals and the SealedDigest: BLAKE3-256 everywhere.
//!
//! Protocol v1.1 seals submissions: a worker submits
//! `seal = blake3(output_hash || worker)` instead of its output hash, so a
//! seat that reads another seat's submission learns nothing it could submit
//! as its own (the seal names its maker). The SealedDigest is what the
//! worker's Ed25519 attestation signs and what the program recomputes on
//! chain, so its preimage is frozen: exactly
//! `job_id || bundle_hash || seal || runtime_id`, 128 bytes, no tags, no
//! length prefixes (v1's ResultDigest with the seal where the output hash
//! was).

/// A BLAKE3-256 hash (and the 32-byte identifiers built from one).
pub type Hash = [u8; 32];

/// BLAKE3-256 of `data`.
pub fn blake3(data: &[u8]) -> Hash {
    *::blake3::hash(data).as_bytes()
}

/// `bundle_hash = blake3(bundle bytes)`: the bundle's content address.
pub fn bundle_hash(bundle_bytes: &[u8]) -> Hash {
    blake3(bundle_bytes)
}

/// `output_hash = blake3(output bytes)`: the output's content address.
pub fn output_hash(output: &[u8]) -> Hash {
    blake3(output)
}

/// The job id clients derive: `blake3(client || nonce_u64_le || bundle_hash)`,
/// so that reposting the same bundle gives a new job.
pub fn job_id(client: &[u8; 32], nonce: u64, bundle_hash: &Hash) -> Hash {
    let mut pre = [0u8; 72];
    pre[..32].copy_from_slice(client);
    pre[32..40].copy_from_slice(&nonce.to_le_bytes());
    pre[40..].copy_from_slice(bundle_hash);
    crate::blake3_small::hash(&pre)
}

/// `runtime_id = blake3(descriptor)`, where the descriptor is one ASCII
/// string pinning everything that changes results or fuel, e.g.
/// `edgerun-runtime/1;wasmi=2.0.0;abi=1;fuel=<schedule name>`.
pub fn runtime_id(descriptor: &str) -> Hash {
    blake3(descriptor.as_bytes())
}

/// Why a string is not a hash in its one written form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    #[error("{0} characters long, not 64")]
    Length(usize),
    #[error("upper-case hex; write it in lower case")]
    UpperCase,
    #[error("not hex (0-9, a-f)")]
    NotHex,
}

/// Hashes and ids are written as exactly 64 lowercase hex characters, so
/// every one has a single spelling (in URLs, JSON and command lines).
pub fn parse_hex(s: &str) -> Result<Hash, HexError> {
    if s.len() != 64 {
        return Err(HexError::Length(s.len()));
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Err(HexError::UpperCase),
        _ => Err(HexError::NotHex),
    };
    let mut out = [0u8; 32];
    for (byte, [hi, lo]) in out.iter_mut().zip(s.as_bytes().as_chunks::<2>().0) {
        *byte = nibble(*hi)? << 4 | nibble(*lo)?;
    }
    Ok(out)
}

/// Lowercase hex of `bytes` (for a hash: its one written form).
#[cfg(feature = "alloc")]
pub fn hex(bytes: &[u8]) -> alloc::string::String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = alloc::string::String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// `seal = blake3(output_hash || worker)`: what a worker submits for its
/// output. Only a worker that knows `output_hash` can make one, or
/// recognise another seat's seal as matching its own output.
pub fn seal(output_hash: &Hash, worker: &[u8; 32]) -> Hash {
    let mut pre = [0u8; 64];
    pre[..32].copy_from_slice(output_hash);
    pre[32..].copy_from_slice(worker);
    crate::blake3_small::hash(&pre)
}

/// Length of the SealedDigest preimage.
pub const SEALED_DIGEST_PREIMAGE_LEN: usize = 128;

/// The 128 bytes the SealedDigest hashes.
pub fn sealed_digest_preimage(
    job_id: &Hash,
    bundle_hash: &Hash,
    seal: &Hash,
    runtime_id: &Hash,
) -> [u8; SEALED_DIGEST_PREIMAGE_LEN] {
    let mut pre = [0u8; SEALED_DIGEST_PREIMAGE_LEN];
    pre[..32].copy_from_slice(job_id);
    pre[32..64].copy_from_slice(bundle_hash);
    pre[64..96].copy_from_slice(seal);
    pre[96..].copy_from_slice(runtime_id);
    pre
}

/// `SealedDigest = blake3(job_id || bundle_hash || seal || runtime_id)`:
/// the 32 bytes a worker's attestation signs.
pub fn sealed_digest(job_id: &Hash, bundle_hash: &Hash, seal: &Hash, runtime_id: &Hash) -> Hash {
    sealed_digest_from_midstate(
        &sealed_digest_midstate(job_id, bundle_hash),
        seal,
        runtime_id,
    )
}

/// The SealedDigest's midstate: BLAKE3's chaining value after its first
/// 64 bytes, `job_id || bundle_hash`, which are the same for every seat of
/// a job. post_job stores it in the Job (`digest_midstate`), so each
/// submit_result hashes one block instead of two; the digest is the same
/// BLAKE3 of the same 128 bytes.
pub fn sealed_digest_midstate(job_id: &Hash, bundle_hash: &Hash) -> Hash {
    let mut first = [0u8; 64];
    first[..32].copy_from_slice(job_id);
    first[32..].copy_from_slice(bundle_hash);
    crate::blake3_small::first_block(&first)
}

/// The SealedDigest finished from its midstate
/// ([`sealed_digest_midstate`]) and the second 64 bytes, `seal ||
/// runtime_id`.
pub fn sealed_digest_from_midstate(midstate: &Hash, seal: &Hash, runtime_id: &Hash) -> Hash {
    let mut second = [0u8; 64];
    second[..32].copy_from_slice(seal);
    second[32..].copy_from_slice(runtime_id);
    crate::blake3_small::finish(midstate, &second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_has_one_written_form() {
        let h = blake3(b"edgerun");
        let text = hex(&h);
        assert_eq!(text, ::blake3::hash(b"edgerun").to_hex().as_str());
        assert_eq!(parse_hex(&text), Ok(h));
        assert_eq!(parse_hex(&text.to_uppercase()), Err(HexError::UpperCase));
        assert_eq!(parse_hex(&text[1..]), Err(HexError::Length(63)));
        assert_eq!(
            parse_hex(&alloc::format!("{}g", &text[1..])),
            Err(HexError::NotHex)
        );
        assert_eq!(
            parse_hex(&alloc::format!("..%2F{}", &text[5..])),
            Err(HexError::NotHex)
        );
    }

    #[test]
    fn sealed_digest_is_blake3_of_the_four_fields_concatenated() {
        let (j, b, o, r) = ([1u8; 32], [2u8; 32], [3u8; 32], [4u8; 32]);
        let mut concat = [0u8; 128];
        concat[..32].fill(1);
        concat[32..64].fill(2);
        concat[64..96].fill(3);
        concat[96..].fill(4);
        assert_eq!(
            sealed_digest(&j, &b, &o, &r),
            *::blake3::hash(&concat).as_bytes()
        );
    }

    #[test]
    fn sealed_digest_depends_on_every_field_and_its_position() {
        let base = sealed_digest(&[1; 32], &[2; 32], &[3; 32], &[4; 32]);
        assert_ne!(base, sealed_digest(&[9; 32], &[2; 32], &[3; 32], &[4; 32]));
        assert_ne!(base, sealed_digest(&[1; 32], &[9; 32], &[3; 32], &[4; 32]));
        assert_ne!(base, sealed_digest(&[1; 32], &[2; 32], &[9; 32], &[4; 32]));
        assert_ne!(base, sealed_digest(&[1; 32], &[2; 32], &[3; 32], &[9; 32]));
        // Swapping two fields changes the digest: no field is symmetric.
        assert_ne!(base, sealed_digest(&[2; 32], &[1; 32], &[3; 32], &[4; 32]));
    }

    #[test]
    fn a_seal_is_blake3_of_the_output_hash_then_the_worker() {
        let (out, w) = ([5u8; 32], [6u8; 32]);
        let mut pre = [0u8; 64];
        pre[..32].fill(5);
        pre[32..].fill(6);
        assert_eq!(seal(&out, &w), *::blake3::hash(&pre).as_bytes());
        // A seal names its maker: the same output sealed by another worker
        // is another seal, so a copied seal never matches the copier.
        assert_ne!(seal(&out, &w), seal(&out, &[7; 32]));
        assert_ne!(seal(&out, &w), seal(&[8; 32], &w));
    }

    #[test]
    fn job_id_hashes_client_nonce_le_and_bundle_hash() {
        let client = [7u8; 32];
        let bundle = [8u8; 32];
        let mut pre = [0u8; 72];
        pre[..32].copy_from_slice(&client);
        pre[32..40].copy_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
        pre[40..].copy_from_slice(&bundle);
        assert_eq!(
            job_id(&client, 0x0102_0304_0506_0708, &bundle),
            *::blake3::hash(&pre).as_bytes()
        );
    }

    #[test]
    fn reposting_the_same_bundle_with_a_new_nonce_gives_a_new_job() {
        let bundle = bundle_hash(b"bundle");
        assert_ne!(job_id(&[1; 32], 0, &bundle), job_id(&[1; 32], 1, &bundle));
        assert_ne!(job_id(&[1; 32], 0, &bundle), job_id(&[2; 32], 0, &bundle));
    }

    #[test]
    fn runtime_id_is_blake3_of_the_descriptor() {
        let d = "edgerun-runtime/1;wasmi=2.0.0;abi=1;fuel=v1";
        assert_eq!(runtime_id(d), *::blake3::hash(d.as_bytes()).as_bytes());
        assert_ne!(
            runtime_id(d),
            runtime_id("edgerun-runtime/1;wasmi=2.0.1;abi=1;fuel=v1")
        );
    }

    #[test]
    fn blake3_known_answer() {
        // BLAKE3 of the empty input, from the BLAKE3 specification's vectors.
        assert_eq!(
            output_hash(b"")[..8],
            [0xaf, 0x13, 0x49, 0xb9, 0xf5, 0xf9, 0xa1, 0xa6]
        );
    }
}
