//! Server-sent events by polling the chain, shared by the job and worker
//! streams: polling works against any RPC, and the stream sends an event
//! only when what the client cares about changed.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Serialize;

use crate::error::RelayError;

/// How often the streams read the chain.
pub const POLL: Duration = Duration::from_millis(400);

/// A stream of `event: <name>` with each view `read` returns whose
/// `key` differs from the last one sent, starting with `first`; it ends
/// after a view that is `last`, or with `event: error` (`{code, message}`)
/// when a read fails.
pub fn changes<V, K, R, F>(
    name: &'static str,
    first: V,
    read: R,
    key: fn(&V) -> K,
    last: fn(&V) -> bool,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>>
where
    V: Serialize + Send + 'static,
    K: PartialEq + Send + 'static,
    R: FnMut() -> F + Send + 'static,
    F: Future<Output = Result<V, RelayError>> + Send,
{
    struct State<V, K, R> {
        read: R,
        pending: Option<V>,
        sent: Option<K>,
        done: bool,
    }
    let start = State {
        read,
        pending: Some(first),
        sent: None,
        done: false,
    };
    let stream = futures_util::stream::unfold(start, move |mut s| async move {
        if s.done {
            return None;
        }
        loop {
            let view = match s.pending.take() {
                Some(view) => view,
                None => {
                    tokio::time::sleep(POLL).await;
                    match (s.read)().await {
                        Ok(view) => view,
                        Err(e) => {
                            s.done = true;
                            let event = Event::default()
                                .event("error")
                                .json_data(e.body())
                                .expect("json");
                            return Some((Ok(event), s));
                        }
                    }
                }
            };
            let k = key(&view);
            if s.sent.as_ref() == Some(&k) {
                continue;
            }
            s.sent = Some(k);
            s.done = last(&view);
            let event = Event::default().event(name).json_data(&view).expect("json");
            return Some((Ok(event), s));
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
