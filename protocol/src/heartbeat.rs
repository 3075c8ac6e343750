//! The signed liveness message a worker sends the relay: "seen online" in
//! the eligible set of committee selection.

/// Domain separation: these bytes are never a ResultDigest or a transaction.
pub const DOMAIN: &[u8] = b"edgerun-heartbeat-v1";
/// A worker names at most this many runtime ids (the config's own maximum).
pub const MAX_RUNTIME_IDS: usize = crate::state::MAX_ALLOWED_RUNTIMES;

/// The bytes a worker signs with its key:
/// `DOMAIN || pubkey || unix_ms (u64 LE) || count (u8) || runtime_ids`,
/// then, for a worker that takes only jobs up to a fuel cap (an edge
/// worker inside its platform's CPU limit), `max_fuel (u64 LE)`. Without a
/// cap the message ends after the runtime ids, as before caps existed; the
/// count fixes where the ids end, so the two forms cannot be confused.
/// `runtime_ids` beyond [`MAX_RUNTIME_IDS`] are not covered, so callers
/// refuse them first.
pub fn message(
    pubkey: &[u8; 32],
    unix_ms: u64,
    runtime_ids: &[[u8; 32]],
    max_fuel: Option<u64>,
) -> alloc::vec::Vec<u8> {
    let ids = &runtime_ids[..runtime_ids.len().min(MAX_RUNTIME_IDS)];
    let mut m = alloc::vec::Vec::with_capacity(DOMAIN.len() + 49 + 32 * ids.len());
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(pubkey);
    m.extend_from_slice(&unix_ms.to_le_bytes());
    m.push(ids.len() as u8);
    for id in ids {
        m.extend_from_slice(id);
    }
    if let Some(max) = max_fuel {
        m.extend_from_slice(&max.to_le_bytes());
    }
    m
}

#[cfg(test)]
mod tests {
    #[test]
    fn covers_every_field_in_order() {
        let m = super::message(&[1; 32], 0x0102, &[[7; 32], [8; 32]], None);
        assert_eq!(&m[..20], b"edgerun-heartbeat-v1");
        assert_eq!(&m[20..52], &[1; 32]);
        assert_eq!(&m[52..60], &[2, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(m[60], 2);
        assert_eq!(&m[61..93], &[7; 32]);
        assert_eq!(&m[93..], &[8; 32]);
    }

    #[test]
    fn a_fuel_cap_is_signed_after_the_runtime_ids() {
        let uncapped = super::message(&[1; 32], 5, &[[7; 32]], None);
        let capped = super::message(&[1; 32], 5, &[[7; 32]], Some(0x0a0b));
        assert_eq!(&capped[..uncapped.len()], &uncapped[..]);
        assert_eq!(&capped[uncapped.len()..], &[0x0b, 0x0a, 0, 0, 0, 0, 0, 0]);
        // A cap is not a ninth runtime id's worth of bytes: the count says
        // where the ids end.
        assert_ne!(capped, super::message(&[1; 32], 5, &[[7; 32]], Some(0)));
    }
}
