//! The relay over a real listener on 127.0.0.1: reqwest for well-behaved
//! clients, a raw TcpStream for the ones that misbehave.

mod common;

use std::time::Duration;

use common::*;
use edgerun_relay::UploadLimits;
use futures_util::stream;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn streamed_upload_and_download_over_a_real_listener() {
    within(60, async {
        let dir = tempdir();
        let addr = serve(open(dir.path(), UploadLimits::default()).await).await;
        let client = reqwest::Client::new();
        // 20 MiB: several multipart parts, sent in 1 MiB chunks with no length.
        let bundle = bundle(&filler(20 << 20, 5));
        let hash = hash_hex(&bundle);
        let url = format!("http://{addr}/v1/bundles/{hash}");
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            bundle.chunks(1 << 20).map(|c| Ok(c.to_vec())).collect();
        let resp = client
            .put(&url)
            .body(reqwest::Body::wrap_stream(stream::iter(chunks)))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let stored: serde_json::Value =
            serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!(stored["size"], bundle.len() as u64);

        let resp = client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["etag"], format!("\"{hash}\"").as_str());
        let got = resp.bytes().await.unwrap();
        assert_eq!(hash_hex(&got), hash);

        let resp = client.head(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["content-length"],
            bundle.len().to_string().as_str()
        );

        let output = snapshot_bytes(2, 5);
        let out_url = format!("http://{addr}/v1/selections/{}", hash_hex(&output));
        assert_eq!(
            client
                .put(&out_url)
                .body(output.clone())
                .send()
                .await
                .unwrap()
                .status(),
            201
        );
        assert_eq!(
            client
                .get(&out_url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
            output
        );
        assert_eq!(files(dir.path()).len(), 2, "{:?}", files(dir.path()));
    })
    .await
}

#[tokio::test]
async fn a_dropped_connection_mid_upload_stores_nothing() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        let metrics = state.metrics.clone();
        let addr = serve(state).await;
        let full = bundle(&filler(1 << 20, 6));
        let hash = hash_hex(&full);

        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "PUT /v1/bundles/{hash} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\n\r\n",
            full.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&full[..300_000]).await.unwrap();
        stream.flush().await.unwrap();
        // Give the relay time to start the temporary object, then hang up.
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(stream);

        assert_nothing_stored(dir.path()).await;
        let resp = raw_request(addr, "GET", &format!("/v1/bundles/{hash}")).await;
        assert_eq!(resp.status, 404);
        // The relay saw it as an incomplete body.
        let mut counted = false;
        for _ in 0..100 {
            counted = metrics.render().contains(
                "edgerun_relay_upload_rejections_total{kind=\"bundle\",reason=\"incomplete_body\"} 1",
            );
            if counted {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(counted, "{}", metrics.render());
    })
    .await
}

#[tokio::test]
async fn oversize_uploads_over_tcp_are_413_and_the_relay_stops_reading() {
    within(60, async {
        let dir = tempdir();
        let limits = UploadLimits {
            max_bundle_bytes: 1 << 20,
            ..UploadLimits::default()
        };
        let addr = serve(open(dir.path(), limits).await).await;
        let hash = hash_hex(b"irrelevant");

        // Declared: a 1 GiB content-length is answered before any body is sent.
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "PUT /v1/bundles/{hash} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\n\r\n",
            1u64 << 30
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let resp = read_response(&mut stream).await;
        assert_eq!(resp.status, 413);
        assert_eq!(resp.json()["code"], "too_large");

        // Chunked, no length: the writer keeps sending 256 MiB until the
        // relay answers and closes; it must not get far past the 1 MiB cap.
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut rd, mut wr) = stream.into_split();
        let writer = tokio::spawn(async move {
            let head = format!(
                "PUT /v1/bundles/{hash} HTTP/1.1\r\nhost: {addr}\r\ntransfer-encoding: chunked\r\n\r\n"
            );
            wr.write_all(head.as_bytes()).await.unwrap();
            let chunk = vec![9u8; 64 << 10];
            let framed = [format!("{:x}\r\n", chunk.len()).into_bytes(), chunk, b"\r\n".to_vec()].concat();
            let mut sent = 0u64;
            while sent < 256 << 20 {
                if wr.write_all(&framed).await.is_err() {
                    break;
                }
                sent += framed.len() as u64;
            }
            sent
        });
        let response = {
            use tokio::io::AsyncReadExt;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") || !buf.ends_with(b"}") {
                let n = rd.read(&mut chunk).await.unwrap();
                assert!(n > 0, "closed before a response: {:?}", String::from_utf8_lossy(&buf));
                buf.extend_from_slice(&chunk[..n]);
            }
            String::from_utf8(buf).unwrap()
        };
        assert!(response.starts_with("HTTP/1.1 413"), "{response}");
        assert!(response.contains("\"code\":\"too_large\""), "{response}");
        drop(rd);
        let sent = writer.await.unwrap();
        eprintln!("the client pushed {sent} bytes before the relay closed");
        assert!(sent < 16 << 20, "the client could push {sent} bytes after a 1 MiB cap");
        assert_nothing_stored(dir.path()).await;
    })
    .await
}

#[tokio::test]
async fn path_tricks_over_tcp_are_refused_and_store_nothing() {
    within(30, async {
        let dir = tempdir();
        let addr = serve(open(dir.path(), UploadLimits::default()).await).await;
        let good = hash_hex(b"x");
        for (target, status, code) in [
            (
                "/v1/bundles/..%2F..%2Fetc%2Fpasswd".to_owned(),
                400,
                "bad_hash",
            ),
            (format!("/v1/outputs/{}%00", &good[..63]), 400, "bad_hash"),
            (
                format!("/v1/outputs/%2e%2e%2F{}", &good[..58]),
                400,
                "bad_hash",
            ),
            (
                "/v1/bundles/../../../etc/passwd".to_owned(),
                404,
                "no_route",
            ),
            (format!("/v1/bundles/../outputs/{good}"), 404, "no_route"),
        ] {
            for method in ["PUT", "GET"] {
                let resp = raw_request(addr, method, &target).await;
                assert_eq!(resp.status, status, "{method} {target}: {}", resp.head);
                assert_eq!(resp.json()["code"], code, "{method} {target}");
            }
        }
        assert_nothing_stored(dir.path()).await;
    })
    .await
}
