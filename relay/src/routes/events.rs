//! Server-sent events by polling the chain, shared by the job and worker
//! streams: polling works against any RPC. One poll runs per watched job
//! (or worker) however many clients follow it; each client's stream sends
//! an event only when what it cares about changed. Streams are capped per
//! client address and in total.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::watch;

use crate::error::RelayError;
use crate::guard::Slot;

/// How often a feed reads the chain.
pub const POLL: Duration = Duration::from_millis(400);

/// The latest read of one feed: a view, or the error that ended it.
type Latest<V> = Option<Result<Arc<V>, Arc<RelayError>>>;
/// A running feed: subscribers take receivers from it.
type Feed<V> = Arc<watch::Sender<Latest<V>>>;

/// One poll per key, shared by every subscriber: the poll runs while
/// anyone listens and stops when the last one leaves (or the view is
/// final, or a read fails).
pub struct Feeds<V> {
    running: Mutex<HashMap<[u8; 32], Feed<V>>>,
    metrics: crate::Metrics,
}

impl<V: Send + Sync + 'static> Feeds<V> {
    pub fn new(metrics: crate::Metrics) -> Arc<Self> {
        Arc::new(Feeds {
            running: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    /// Polls running now.
    pub fn running(&self) -> usize {
        self.running.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// A receiver of `key`'s feed, starting its poll if none runs.
    /// `read` reads the view; `key_of` is what a change means; `last`
    /// says a view is final (the poll stops after it).
    fn subscribe<R, F, K>(
        self: &Arc<Self>,
        key: [u8; 32],
        read: R,
        key_of: fn(&V) -> K,
        last: fn(&V) -> bool,
    ) -> watch::Receiver<Latest<V>>
    where
        R: Fn() -> F + Send + 'static,
        F: Future<Output = Result<V, RelayError>> + Send,
        K: PartialEq + Send + 'static,
    {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = running.get(&key) {
            return tx.subscribe();
        }
        // The map holds the sender, never a receiver: the poll stops when
        // the last subscriber's receiver is dropped.
        let tx = Arc::new(watch::Sender::<Latest<V>>::new(None));
        let rx = tx.subscribe();
        running.insert(key, tx.clone());
        let polls = running.len();
        drop(running);
        let feeds = Arc::clone(self);
        self.metrics.set_event_feeds(polls);
        tokio::spawn(async move {
            let mut sent: Option<K> = None;
            loop {
                let read = read().await;
                let done = match &read {
                    Ok(v) => last(v),
                    Err(_) => true,
                };
                let changed = match &read {
                    Ok(v) => {
                        let k = key_of(v);
                        let changed = sent.as_ref() != Some(&k);
                        sent = Some(k);
                        changed
                    }
                    Err(_) => true,
                };
                if changed {
                    tx.send_replace(Some(read.map(Arc::new).map_err(Arc::new)));
                }
                if done {
                    break;
                }
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    () = tx.closed() => break,
                }
            }
            let mut running = feeds.running.lock().unwrap_or_else(|e| e.into_inner());
            if running.get(&key).is_some_and(|t| Arc::ptr_eq(t, &tx)) {
                running.remove(&key);
            }
            let polls = running.len();
            drop(running);
            feeds.metrics.set_event_feeds(polls);
        });
        rx
    }

    /// Server-sent events `event: <name>` with `key`'s view each time it
    /// changes, ending after a `last` view, or with `event: error`
    /// (`{code, message}`) when a read fails. The first read's error is
    /// returned as a plain error, before any streaming. `slot` is held
    /// for as long as the stream is open.
    pub async fn events<R, F, K>(
        self: &Arc<Self>,
        name: &'static str,
        key: [u8; 32],
        read: R,
        key_of: fn(&V) -> K,
        last: fn(&V) -> bool,
        slot: Slot,
    ) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<V, R, F, K>>, RelayError>
    where
        V: Serialize,
        R: Fn() -> F + Send + 'static,
        F: Future<Output = Result<V, RelayError>> + Send,
        K: PartialEq + Send + 'static,
    {
        let mut rx = self.subscribe(key, read, key_of, last);
        let first = match rx.wait_for(Option::is_some).await {
            Ok(latest) => latest.clone(),
            Err(_) => None,
        };
        let first = match first {
            Some(Ok(view)) => view,
            Some(Err(e)) => return Err(e.replay()),
            None => {
                return Err(RelayError::Internal(
                    "an event feed ended before its first read".into(),
                ));
            }
        };
        struct State<V> {
            rx: watch::Receiver<Latest<V>>,
            pending: Option<Arc<V>>,
            done: bool,
            _slot: Slot,
        }
        let start = State {
            rx,
            done: last(&first),
            pending: Some(first),
            _slot: slot,
        };
        let stream = futures_util::stream::unfold(start, move |mut s| async move {
            if let Some(view) = s.pending.take() {
                let event = Event::default()
                    .event(name)
                    .json_data(&*view)
                    .expect("json");
                return Some((Ok(event), s));
            }
            if s.done || s.rx.changed().await.is_err() {
                return None;
            }
            let latest = s.rx.borrow_and_update().clone();
            match latest {
                Some(Ok(view)) => {
                    s.done = last(&view);
                    let event = Event::default()
                        .event(name)
                        .json_data(&*view)
                        .expect("json");
                    Some((Ok(event), s))
                }
                Some(Err(e)) => {
                    s.done = true;
                    let event = Event::default()
                        .event("error")
                        .json_data(e.body())
                        .expect("json");
                    Some((Ok(event), s))
                }
                None => None,
            }
        });
        Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
    }
}
