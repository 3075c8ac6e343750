//! What a worker signs to store an output at the relay before the reveal
//! (`PUT /v1/outputs/{output_hash}`): only a seated worker may, so the
//! relay holds no stranger's bytes, and it serves them only once the output
//! is declared on chain.

/// Domain separation: these bytes are never a digest, a heartbeat or a
/// transaction.
pub const DOMAIN: &[u8] = b"edgerun:put-output:v1";

/// The header naming the job (64 lowercase hex).
pub const JOB_HEADER: &str = "x-edgerun-job";
/// The header naming the worker (base58).
pub const WORKER_HEADER: &str = "x-edgerun-worker";
/// The header carrying the worker's Ed25519 signature (128 lowercase hex).
pub const SIGNATURE_HEADER: &str = "x-edgerun-signature";

/// The bytes a worker signs to store `output_hash` for `job_id`:
/// `DOMAIN || job_id (32) || output_hash (32)`.
pub fn message(job_id: &[u8; 32], output_hash: &[u8; 32]) -> [u8; DOMAIN.len() + 64] {
    let mut m = [0u8; DOMAIN.len() + 64];
    m[..DOMAIN.len()].copy_from_slice(DOMAIN);
    m[DOMAIN.len()..DOMAIN.len() + 32].copy_from_slice(job_id);
    m[DOMAIN.len() + 32..].copy_from_slice(output_hash);
    m
}

#[cfg(test)]
mod tests {
    #[test]
    fn covers_the_domain_the_job_and_the_output_in_order() {
        let m = super::message(&[1; 32], &[2; 32]);
        assert_eq!(&m[..21], b"edgerun:put-output:v1");
        assert_eq!(&m[21..53], &[1; 32]);
        assert_eq!(&m[53..], &[2; 32]);
    }
}
