//! Server-sent events: one chain poll per job however many subscribe, and
//! a bound on concurrent streams. The RPC goes through a counting proxy.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use edgerun_protocol::hash::hex;
use edgerun_relay::UploadLimits;
use futures_util::StreamExt;

use crate::common::*;
use crate::support::*;

/// A JSON-RPC proxy in front of the chain that counts requests.
async fn counting_proxy(rpc_url: String) -> (String, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let state = (rpc_url, count.clone(), reqwest::Client::new());
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::post(
                |State((url, count, http)): State<(String, Arc<AtomicU64>, reqwest::Client)>,
                 body: Bytes| async move {
                    count.fetch_add(1, Ordering::SeqCst);
                    let resp = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    let status = resp.status();
                    let bytes = resp.bytes().await.unwrap();
                    (
                        status,
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        bytes,
                    )
                        .into_response()
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), count)
}

/// Opens an event stream and returns it once its first event arrived
/// (or the error answer's status).
async fn subscribe(http: &reqwest::Client, url: &str) -> Result<reqwest::Response, u16> {
    let mut resp = http.get(url).send().await.unwrap();
    if resp.status() != 200 {
        return Err(resp.status().as_u16());
    }
    let first = resp.chunk().await.unwrap().unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&first).contains("event: job"),
        "{first:?}"
    );
    Ok(resp)
}

#[tokio::test]
async fn one_chain_poll_per_job_however_many_subscribe_and_streams_are_capped() {
    within(180, async {
        let net = net().await;
        let (proxy, rpc_calls) = counting_proxy(net.rpc_url.clone()).await;
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default())
            .await
            .with_chain(&proxy, net.program);
        let addr: SocketAddr = serve(state).await;
        let http = reqwest::Client::new();

        // A posted job (its status never changes during the test).
        let client = &net.spare[5];
        let bundle = Net::bundle(b"watched", 4096);
        let spec = edgerun_client::JobSpec::for_bundle(
            &solana_signer::Signer::pubkey(client),
            1,
            &bundle,
            10_000_000,
            10_000,
        )
        .unwrap();
        net.send(
            &[edgerun_client::post_job(
                &net.program,
                &solana_signer::Signer::pubkey(client),
                &spec,
            )],
            client,
            &[],
        )
        .await;
        let url = format!("http://{addr}/v1/jobs/{}/events", hex(&spec.job_id));

        let subscribers = 24;
        let streams: Vec<reqwest::Response> = futures_util::stream::iter(0..subscribers)
            .map(|_| {
                let http = http.clone();
                let url = url.clone();
                async move { subscribe(&http, &url).await.expect("a stream") }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        // Over two seconds, 24 streams polling on their own every 400 ms
        // would read the chain ~360 times; one shared poll, ~15.
        let start = rpc_calls.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let calls = rpc_calls.load(Ordering::SeqCst) - start;
        assert!(
            calls < subscribers,
            "{subscribers} subscribers to one job made {calls} RPC calls in 2 s"
        );

        // Past the per-address cap, a clear refusal instead of a stream.
        let mut more = Vec::new();
        let refused = loop {
            match subscribe(&http, &url).await {
                Ok(stream) => more.push(stream),
                Err(status) => break status,
            }
            assert!(more.len() < 64, "no cap on concurrent event streams");
        };
        assert_eq!(refused, 429);
        let resp = http.get(&url).send().await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!(body["code"], "too_many_streams", "{body}");
        drop(streams);
    })
    .await
}
