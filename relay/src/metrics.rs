//! Prometheus metrics, one registry per [`crate::AppState`] (no global
//! recorder, so several relays in one process count separately), and the
//! middleware that counts and logs every request.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::store::Kind;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_seconds: HistogramVec,
    received_bytes: IntCounterVec,
    uploads: IntCounterVec,
    stored_bytes: IntCounterVec,
    upload_rejections: IntCounterVec,
    store_seconds: HistogramVec,
    heartbeats: IntCounterVec,
    transactions: IntCounterVec,
    fees_paid: IntCounter,
    sponsored: IntCounter,
    event_polls: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)
                .expect("metric names and labels are valid constants");
            registry
                .register(Box::new(c.clone()))
                .expect("each metric is registered once");
            c
        };
        let requests = counter(
            "edgerun_relay_http_requests_total",
            "HTTP requests by route template, method and status.",
            &["route", "method", "status"],
        );
        let received_bytes = counter(
            "edgerun_relay_upload_received_bytes_total",
            "Body bytes received by uploads, accepted or not.",
            &["kind"],
        );
        let uploads = counter(
            "edgerun_relay_uploads_total",
            "Verified uploads: created a new object, or found it already stored.",
            &["kind", "outcome"],
        );
        let stored_bytes = counter(
            "edgerun_relay_stored_bytes_total",
            "Bytes of newly stored objects.",
            &["kind"],
        );
        let upload_rejections = counter(
            "edgerun_relay_upload_rejections_total",
            "Uploads refused, by the error code returned.",
            &["kind", "reason"],
        );
        let heartbeats = counter(
            "edgerun_relay_heartbeats_total",
            "Worker heartbeats: accepted, not_newer (a replay or an older one, ignored), \
             or the error code they were refused with.",
            &["outcome"],
        );
        let transactions = counter(
            "edgerun_relay_transactions_total",
            "POST /v1/tx: sent, or the error code it was refused with.",
            &["outcome"],
        );
        fn registered<M: prometheus::core::Collector + Clone + 'static>(
            registry: &Registry,
            metric: prometheus::Result<M>,
        ) -> M {
            let metric = metric.expect("metric names are valid constants");
            registry
                .register(Box::new(metric.clone()))
                .expect("each metric is registered once");
            metric
        }
        let fees_paid = registered(
            &registry,
            IntCounter::new(
                "edgerun_relay_fees_paid_lamports_total",
                "Lamports of fees the relay's fee payer paid for transactions it sent.",
            ),
        );
        let sponsored = registered(
            &registry,
            IntCounter::new(
                "edgerun_relay_volunteers_sponsored_total",
                "Volunteer stakes offered by the sponsor account (POST /v1/volunteers).",
            ),
        );
        let event_polls = registered(
            &registry,
            IntGauge::new(
                "edgerun_relay_event_polls",
                "Chain polls running for event streams: one per followed job or worker, however many follow it.",
            ),
        );
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            let h = HistogramVec::new(
                HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()),
                labels,
            )
            .expect("metric names and labels are valid constants");
            registry
                .register(Box::new(h.clone()))
                .expect("each metric is registered once");
            h
        };
        let request_seconds = histogram(
            "edgerun_relay_http_request_duration_seconds",
            "Time to produce the response head, by route template.",
            &["route"],
        );
        let store_seconds = histogram(
            "edgerun_relay_store_operation_duration_seconds",
            "Storage backend latency by operation and outcome (ok, not_found, error).",
            &["op", "outcome"],
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            received_bytes,
            uploads,
            stored_bytes,
            upload_rejections,
            store_seconds,
            heartbeats,
            transactions,
            fees_paid,
            sponsored,
            event_polls,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|e| format!("# encoding metrics failed: {e}\n"))
    }

    pub(crate) fn record_sponsored(&self) {
        self.sponsored.inc();
    }

    pub(crate) fn record_received(&self, kind: Kind, bytes: usize) {
        self.received_bytes
            .with_label_values(&[kind.name()])
            .inc_by(bytes as u64);
    }

    pub(crate) fn record_stored(&self, kind: Kind, created: bool, size: u64) {
        let outcome = if created { "created" } else { "existing" };
        self.uploads
            .with_label_values(&[kind.name(), outcome])
            .inc();
        if created {
            self.stored_bytes
                .with_label_values(&[kind.name()])
                .inc_by(size);
        }
    }

    pub(crate) fn record_rejection(&self, kind: Kind, code: &str) {
        self.upload_rejections
            .with_label_values(&[kind.name(), code])
            .inc();
    }

    pub(crate) fn record_heartbeat(&self, outcome: &str) {
        self.heartbeats.with_label_values(&[outcome]).inc();
    }

    pub(crate) fn record_transaction(&self, outcome: &str, fee: Option<u64>) {
        self.transactions.with_label_values(&[outcome]).inc();
        if let Some(fee) = fee {
            self.fees_paid.inc_by(fee);
        }
    }

    pub(crate) fn set_event_feeds(&self, polls: usize) {
        self.event_polls.set(polls as i64);
    }

    pub(crate) fn record_store_op(&self, op: &str, outcome: &str, elapsed: Duration) {
        self.store_seconds
            .with_label_values(&[op, outcome])
            .observe(elapsed.as_secs_f64());
    }
}

/// Counts, times and logs each request under its route template (so
/// `/v1/bundles/{hash}`, never one series per hash).
pub async fn track_requests(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let method = req.method().clone();
    let start = Instant::now();
    let response = next.run(req).await;
    let elapsed = start.elapsed();
    let status = response.status();
    metrics
        .requests
        .with_label_values(&[route.as_str(), method.as_str(), status.as_str()])
        .inc();
    metrics
        .request_seconds
        .with_label_values(&[route.as_str()])
        .observe(elapsed.as_secs_f64());
    tracing::info!(
        method = %method,
        route,
        status = status.as_u16(),
        elapsed_ms = elapsed.as_secs_f64() * 1e3,
        "request"
    );
    response
}
