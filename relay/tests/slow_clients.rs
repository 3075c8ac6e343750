//! Clients that send slowly, or too much: a trickling upload is cut off
//! and stores nothing, slow customer uploads cannot hold back the
//! scheduler's selection snapshots, and JSON bodies are capped small.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use edgerun_relay::UploadLimits;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Starts a `PUT` of `len` declared bytes and sends the first `first`.
async fn start_upload(addr: SocketAddr, path: &str, len: usize, first: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!("PUT {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {len}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream
}

/// Whether the relay has answered on `stream` (without waiting).
async fn answered(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_millis(10), stream.peek(&mut byte)).await,
        Ok(Ok(_))
    )
}

#[tokio::test]
async fn a_trickling_upload_is_cut_off_and_stores_nothing() {
    within(120, async {
        let dir = tempdir();
        let addr = serve(open(dir.path(), UploadLimits::default()).await).await;
        let full = bundle(&filler(1 << 20, 1));
        let path = format!("/v1/bundles/{}", hash_hex(&full));
        let mut stream = start_upload(addr, &path, full.len(), &full[..1]).await;
        // One byte a second: the whole body would take twelve days.
        let mut sent = 1;
        while !answered(&mut stream).await {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if stream.write_all(&full[sent..sent + 1]).await.is_err() {
                break;
            }
            sent += 1;
        }
        let resp = read_response(&mut stream).await;
        assert_eq!(resp.status, 408, "{}", String::from_utf8_lossy(&resp.body));
        let body = resp.json();
        assert_eq!(body["code"], "too_slow", "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("bytes/s"),
            "{body}"
        );
        eprintln!("cut off after {sent} bytes");
        assert_nothing_stored(dir.path()).await;
    })
    .await
}

#[tokio::test]
async fn slow_customer_uploads_do_not_hold_back_a_selection_snapshot() {
    within(60, async {
        let dir = tempdir();
        let addr = serve(open(dir.path(), UploadLimits::default()).await).await;
        // Eight large bundle uploads that keep sending, slowly but steadily
        // (fast enough never to be cut off): together they would hold every
        // in-memory upload slot for hours.
        let mut slow = Vec::new();
        for i in 0..8u8 {
            let path = format!("/v1/bundles/{}", hash_hex(&[i]));
            slow.push(start_upload(addr, &path, 80 << 20, &filler(64 << 10, i)).await);
        }
        let feeder = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                for s in &mut slow {
                    let _ = s.write_all(&[0u8; 16 << 10]).await;
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;

        // The scheduler's snapshot still goes through at once.
        let snapshot: Vec<u8> = (0..3u8)
            .flat_map(|i| [i + 1; 32].into_iter().chain(1_000u64.to_le_bytes()))
            .collect();
        let resp = reqwest::Client::new()
            .put(format!(
                "http://{addr}/v1/selections/{}",
                hash_hex(&snapshot)
            ))
            .body(snapshot.clone())
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .expect("the selection PUT is answered while slow uploads run");
        assert_eq!(resp.status(), 201);
        feeder.abort();
    })
    .await
}

#[tokio::test]
async fn json_bodies_are_capped_at_a_few_kib() {
    within(30, async {
        let dir = tempdir();
        let addr = serve(open(dir.path(), UploadLimits::default()).await).await;
        let http = reqwest::Client::new();
        let address = "11111111111111111111111111111111";
        for (path, body) in [
            (
                "/v1/tx".to_owned(),
                serde_json::json!({ "transaction": "A".repeat(64 << 10) }),
            ),
            (
                format!("/v1/workers/{address}/heartbeat"),
                serde_json::json!({ "unix_ms": 1, "runtime_ids": ["a".repeat(8 << 10)], "signature": "" }),
            ),
        ] {
            let resp = http
                .post(format!("http://{addr}{path}"))
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            let (status, err) = status_json(resp).await;
            assert_eq!((status, err["code"].as_str()), (413, Some("too_large")), "{path}: {err}");
        }
    })
    .await
}

#[tokio::test]
async fn a_dribbled_request_head_is_disconnected() {
    within(60, async {
        let dir = tempdir();
        let clients = edgerun_relay::ClientLimits {
            header_read_timeout: Duration::from_secs(1),
            ..edgerun_relay::ClientLimits::default()
        };
        let addr = serve(open_with(dir.path(), UploadLimits::default(), clients).await).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        // A header line a second, never the blank line: the relay closes
        // the connection (reads end) instead of waiting for ever.
        let mut closed = false;
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if stream.write_all(b"x-slow: 1\r\n").await.is_err() {
                closed = true;
                break;
            }
            let mut byte = [0u8; 1];
            if let Ok(Ok(0) | Err(_)) =
                tokio::time::timeout(Duration::from_millis(10), stream.peek(&mut byte)).await
            {
                closed = true;
                break;
            }
        }
        assert!(closed, "a head dribbled for 30 s kept its connection");
    })
    .await
}
