//! What keeps slow or greedy clients from holding the relay: a minimum
//! rate on every request body, and bounds on how many uploads and event
//! streams one client address (and everyone together) may hold at once.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::body::HttpBody as _;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;

use crate::config::ClientLimits;

/// A request body arrived slower than the relay's minimum rate (or stalled).
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "the body arrived at {rate} bytes/s ({received} bytes in {elapsed_ms} ms), below this relay's \
     minimum of {min_rate} bytes/s after a {grace_s} s grace (or stalled for {idle_s} s)"
)]
pub struct TooSlow {
    pub received: u64,
    pub elapsed_ms: u64,
    pub rate: u64,
    pub min_rate: u64,
    pub grace_s: u64,
    pub idle_s: u64,
}

impl TooSlow {
    /// The `TooSlow` somewhere in `e`'s chain of sources, if any: a body
    /// error reaches handlers wrapped by axum, multer or serde.
    pub fn find<'a>(mut e: &'a (dyn std::error::Error + 'static)) -> Option<&'a TooSlow> {
        loop {
            if let Some(slow) = e.downcast_ref::<TooSlow>() {
                return Some(slow);
            }
            e = e.source()?;
        }
    }
}

/// The pace a body must keep: after `grace`, at least `min_rate` bytes/s
/// on average since the first read, and never `idle` without a byte.
#[derive(Clone, Copy, Debug)]
struct Pace {
    min_rate: u64,
    grace: Duration,
    idle: Duration,
}

struct Paced {
    inner: axum::body::BodyDataStream,
    pace: Pace,
    started: Option<Instant>,
    last: Instant,
    received: u64,
}

impl Paced {
    /// When the next chunk must have arrived.
    fn deadline(&self, started: Instant) -> Instant {
        let earned = if self.pace.min_rate == 0 {
            Duration::MAX
        } else {
            Duration::from_secs_f64(self.received as f64 / self.pace.min_rate as f64)
        };
        let by_rate = started
            .checked_add(self.pace.grace.saturating_add(earned))
            .unwrap_or_else(|| started + Duration::from_secs(86_400 * 365));
        by_rate.min(self.last + self.pace.idle)
    }

    fn too_slow(&self, now: Instant, started: Instant) -> TooSlow {
        let elapsed = now.duration_since(started);
        TooSlow {
            received: self.received,
            elapsed_ms: elapsed.as_millis() as u64,
            rate: (self.received as f64 / elapsed.as_secs_f64().max(1e-3)) as u64,
            min_rate: self.pace.min_rate,
            grace_s: self.pace.grace.as_secs(),
            idle_s: self.pace.idle.as_secs(),
        }
    }
}

/// `body`, cut off with [`TooSlow`] as soon as it falls behind `pace`.
/// The clock starts at the handler's first read, so time spent waiting for
/// an upload slot is not held against the client.
fn paced(body: Body, pace: Pace) -> Body {
    let state = Paced {
        inner: body.into_data_stream(),
        pace,
        started: None,
        last: Instant::now(),
        received: 0,
    };
    let stream = futures_util::stream::unfold(Some(state), |state| async move {
        let mut s = state?;
        let now = Instant::now();
        let started = *s.started.get_or_insert(now);
        if s.received == 0 {
            s.last = now;
        }
        let deadline = s.deadline(started);
        match tokio::time::timeout_at(deadline.into(), s.inner.next()).await {
            Ok(Some(Ok(chunk))) => {
                s.received += chunk.len() as u64;
                s.last = Instant::now();
                Some((Ok::<Bytes, axum::Error>(chunk), Some(s)))
            }
            Ok(Some(Err(e))) => Some((Err(e), None)),
            Ok(None) => None,
            Err(_) => {
                let slow = s.too_slow(Instant::now(), started);
                tracing::info!(error = %slow, "cut off a slow request body");
                Some((Err(axum::Error::new(slow)), None))
            }
        }
    });
    Body::from_stream(stream)
}

/// Middleware: every request body keeps the relay's minimum pace.
pub async fn pace_bodies(State(limits): State<ClientLimits>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    // Bodiless requests (GET, HEAD, empty POSTs) stay as they are.
    let body = if body.is_end_stream() {
        body
    } else {
        paced(
            body,
            Pace {
                min_rate: limits.min_body_bytes_per_s,
                grace: limits.body_grace,
                idle: limits.body_idle,
            },
        )
    };
    next.run(Request::from_parts(parts, body)).await
}

/// The client's address: the peer of the TCP connection (set by
/// [`crate::serve`]); requests without one (in-memory tests) share the
/// unspecified address.
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// Why a slot was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotsFull {
    /// This address holds `per_ip` already.
    PerIp(usize),
    /// Everyone together holds `total` already.
    Total(usize),
}

/// Counted slots: at most `per_ip` held by one address, `total` by all.
pub struct Slots {
    per_ip: usize,
    total: usize,
    held: Mutex<(HashMap<IpAddr, usize>, usize)>,
}

/// One held slot; released when dropped.
pub struct Slot {
    slots: Arc<Slots>,
    ip: IpAddr,
}

impl Slots {
    pub fn new(per_ip: usize, total: usize) -> Arc<Self> {
        Arc::new(Slots {
            per_ip,
            total,
            held: Mutex::new((HashMap::new(), 0)),
        })
    }

    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, SlotsFull> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let (by_ip, total) = &mut *held;
        if *total >= self.total {
            return Err(SlotsFull::Total(self.total));
        }
        let mine = by_ip.entry(ip).or_insert(0);
        if *mine >= self.per_ip {
            return Err(SlotsFull::PerIp(self.per_ip));
        }
        *mine += 1;
        *total += 1;
        Ok(Slot {
            slots: self.clone(),
            ip,
        })
    }

    /// Slots held by everyone.
    pub fn held(&self) -> usize {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).1
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap_or_else(|e| e.into_inner());
        let (by_ip, total) = &mut *held;
        *total -= 1;
        if let Some(n) = by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                by_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_bound_each_address_and_everyone_and_come_back_when_dropped() {
        let slots = Slots::new(2, 3);
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let a1 = slots.acquire(a).unwrap();
        let _a2 = slots.acquire(a).unwrap();
        assert_eq!(slots.acquire(a).err(), Some(SlotsFull::PerIp(2)));
        let _b1 = slots.acquire(b).unwrap();
        assert_eq!(slots.acquire(b).err(), Some(SlotsFull::Total(3)));
        drop(a1);
        let _b2 = slots.acquire(b).unwrap();
        assert_eq!(slots.held(), 3);
    }

    #[tokio::test]
    async fn a_body_behind_the_pace_is_cut_off_with_too_slow() {
        // One byte, then silence.
        let rx = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"x"))])
            .chain(futures_util::stream::pending());
        let body = paced(
            Body::from_stream(rx),
            Pace {
                min_rate: 1_000,
                grace: Duration::from_millis(100),
                idle: Duration::from_secs(60),
            },
        );
        let mut stream = body.into_data_stream();
        assert!(stream.next().await.unwrap().is_ok());
        // Nothing more: past grace + 1 byte / 1,000 bytes/s, cut off.
        let err = stream.next().await.unwrap().unwrap_err();
        let slow = TooSlow::find(&err).expect("a TooSlow error");
        assert_eq!(slow.received, 1);
        assert!(stream.next().await.is_none());
    }
}
