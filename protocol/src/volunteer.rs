//! What a browser tab signs to ask a relay to sponsor its stake
//! (`POST /v1/volunteers`): proof that it holds the worker key it names,
//! fresh enough that a stale request cannot be replayed.

/// Domain separation: these bytes are never a digest, a heartbeat, an
/// upload or a transaction.
pub const DOMAIN: &[u8] = b"edgerun:volunteer:v1";

/// `DOMAIN || worker (32) || unix_ms (u64 LE)`.
pub fn message(worker: &[u8; 32], unix_ms: u64) -> [u8; DOMAIN.len() + 40] {
    let mut m = [0u8; DOMAIN.len() + 40];
    m[..DOMAIN.len()].copy_from_slice(DOMAIN);
    m[DOMAIN.len()..DOMAIN.len() + 32].copy_from_slice(worker);
    m[DOMAIN.len() + 32..].copy_from_slice(&unix_ms.to_le_bytes());
    m
}

#[cfg(test)]
mod tests {
    #[test]
    fn covers_the_domain_the_worker_and_the_time_in_order() {
        let m = super::message(&[3; 32], 0x0102);
        assert_eq!(&m[..20], b"edgerun:volunteer:v1");
        assert_eq!(&m[20..52], &[3; 32]);
        assert_eq!(&m[52..], &[2, 1, 0, 0, 0, 0, 0, 0]);
    }
}
