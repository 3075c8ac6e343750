//! Object handlers in memory (`tower::ServiceExt::oneshot`), on a real data
//! directory. Bundles and snapshots stand for every kind here; outputs,
//! which need a chain (who may store one, when it is served), are tested
//! against the local chain in `tests/onchain`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use common::*;
use edgerun_relay::{UploadLimits, app};
use futures_util::stream;
use tower::ServiceExt;

async fn send(state: &edgerun_relay::AppState, req: Request<Body>) -> Response {
    app(state.clone()).oneshot(req).await.unwrap()
}

fn put(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::put(path).body(body.into()).unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

async fn bytes(resp: Response) -> Bytes {
    axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
}

async fn json(resp: Response) -> serde_json::Value {
    let body = bytes(resp).await;
    serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&body)))
}

/// Asserts a JSON error with `code` and a non-empty message.
async fn assert_error(resp: Response, status: StatusCode, code: &str) -> String {
    assert_eq!(resp.status(), status);
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "application/json",
        "errors are JSON"
    );
    let body = json(resp).await;
    assert_eq!(body["code"], code, "{body}");
    let message = body["message"].as_str().unwrap().to_owned();
    assert!(
        message.len() > 20,
        "a message that says what to do: {message}"
    );
    message
}

#[tokio::test]
async fn bundle_upload_then_download_verifies() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        let bundle = bundle(&filler(100_000, 1));
        let hash = hash_hex(&bundle);
        let url = format!("/v1/bundles/{hash}");

        let resp = send(&state, put(&url, bundle.clone())).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        assert_eq!(resp.headers()[header::LOCATION], url.as_str());
        let stored = json(resp).await;
        assert_eq!(stored["kind"], "bundle");
        assert_eq!(stored["hash"], hash.as_str());
        assert_eq!(stored["size"], bundle.len() as u64);
        assert_eq!(stored["url"], url.as_str());
        assert_eq!(stored["created"], true);
        assert_eq!(files(dir.path()), vec![format!("bundles/{hash}")]);

        let resp = send(&state, get(&url)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let h = resp.headers();
        assert_eq!(h[header::CONTENT_TYPE], "application/octet-stream");
        assert_eq!(h[header::ETAG], format!("\"{hash}\"").as_str());
        assert_eq!(
            h[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(h[header::CONTENT_LENGTH], bundle.len().to_string().as_str());
        let got = bytes(resp).await;
        assert_eq!(hash_hex(&got), hash);
        assert_eq!(&got[..], &bundle[..]);
    })
    .await
}

#[tokio::test]
async fn snapshot_upload_head_and_download() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        let output = snapshot_bytes(3, 1);
        let hash = hash_hex(&output);
        let url = format!("/v1/selections/{hash}");

        let resp = send(&state, put(&url, output.clone())).await;
        assert_eq!(resp.status(), StatusCode::CREATED);

        let head = Request::head(&url).body(Body::empty()).unwrap();
        let resp = send(&state, head).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()[header::CONTENT_LENGTH],
            output.len().to_string().as_str()
        );
        assert_eq!(resp.headers()[header::ETAG], format!("\"{hash}\"").as_str());
        assert!(bytes(resp).await.is_empty(), "HEAD has no body");

        let got = bytes(send(&state, get(&url)).await).await;
        assert_eq!(&got[..], &output[..]);
        // A bundle and a snapshot are separate namespaces.
        let resp = send(&state, get(&format!("/v1/bundles/{hash}"))).await;
        assert_error(resp, StatusCode::NOT_FOUND, "not_found").await;
        // Without a chain, a relay stores and serves no outputs: it cannot
        // tell who may store one, nor when one was declared.
        let resp = send(&state, put(&format!("/v1/outputs/{hash}"), output.clone())).await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let resp = send(&state, get(&format!("/v1/outputs/{hash}"))).await;
        assert_error(resp, StatusCode::NOT_FOUND, "not_found").await;
    })
    .await
}

#[tokio::test]
async fn reupload_of_a_stored_hash_is_200_and_keeps_one_object() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        let output = bundle(&filler(10_000, 2));
        let url = format!("/v1/bundles/{}", hash_hex(&output));
        assert_eq!(
            send(&state, put(&url, output.clone())).await.status(),
            StatusCode::CREATED
        );
        let resp = send(&state, put(&url, output.clone())).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(json(resp).await["created"], false);
        assert_eq!(files(dir.path()).len(), 1, "{:?}", files(dir.path()));
        // A wrong body under a stored hash is still refused.
        let resp = send(&state, put(&url, b"other".to_vec())).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch").await;
        assert_eq!(&bytes(send(&state, get(&url)).await).await[..], &output[..]);
    })
    .await
}

#[tokio::test]
async fn if_none_match_on_a_stored_hash_is_304() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        let output = bundle(b"cached");
        let hash = hash_hex(&output);
        let url = format!("/v1/bundles/{hash}");
        send(&state, put(&url, output)).await;
        let req = Request::get(&url)
            .header(header::IF_NONE_MATCH, format!("\"{hash}\""))
            .body(Body::empty())
            .unwrap();
        let resp = send(&state, req).await;
        assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
        assert!(bytes(resp).await.is_empty());
        // Another tag is no match: the full body comes back.
        let req = Request::get(&url)
            .header(header::IF_NONE_MATCH, "\"abc\"")
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&state, req).await.status(), StatusCode::OK);
    })
    .await
}

#[tokio::test]
async fn hash_mismatch_is_422_and_stores_nothing() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        let bundle = bundle(b"input");
        let claimed = hash_hex(b"something else");
        for kind in ["bundles", "selections"] {
            let resp = send(
                &state,
                put(&format!("/v1/{kind}/{claimed}"), bundle.clone()),
            )
            .await;
            let message =
                assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch").await;
            assert!(
                message.contains(&hash_hex(&bundle)),
                "names the actual hash: {message}"
            );
        }
        assert_nothing_stored(dir.path()).await;
    })
    .await
}

#[tokio::test]
async fn non_bundle_under_bundles_is_422_not_a_bundle_and_stores_nothing() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        let valid = bundle(b"input");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"hello, not a bundle".to_vec(), "magic"),
            (Vec::new(), "truncated"),
            (valid[..valid.len() - 1].to_vec(), "truncated"),
            ([valid.as_slice(), b"x"].concat(), "trailing"),
        ];
        for (body, says) in cases {
            let resp = send(
                &state,
                put(&format!("/v1/bundles/{}", hash_hex(&body)), body),
            )
            .await;
            let message =
                assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "not_a_bundle").await;
            assert!(message.contains(says), "{message}");
        }
        assert_nothing_stored(dir.path()).await;
        // Each kind is checked as what it is: a snapshot is not a bundle,
        // and is a fine snapshot.
        let body = snapshot_bytes(1, 2);
        let resp = send(
            &state,
            put(&format!("/v1/bundles/{}", hash_hex(&body)), body.clone()),
        )
        .await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "not_a_bundle").await;
        let resp = send(
            &state,
            put(&format!("/v1/selections/{}", hash_hex(&body)), body),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    })
    .await
}

#[tokio::test]
async fn bad_hash_segments_are_400_and_store_nothing() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        let good = hash_hex(b"x");
        let segments = [
            "xyz".to_owned(),
            good[..63].to_owned(),
            format!("{good}0"),
            good.to_uppercase(),
            "g".repeat(64),
            "..%2F..%2Fetc%2Fpasswd".to_owned(),
            format!("..%2F{}", &good[..59]),
            format!("%2e%2e%2f{}", &good[..55]),
            format!("{}%00", &good[..63]),
            format!("%00{}", &good[..63]),
            format!("{}%2F{}", &good[..32], &good[..32]),
            "%FF%FE".repeat(16),
            format!("{}%20", &good[..63]),
        ];
        for kind in ["bundles", "outputs"] {
            for seg in &segments {
                let url = format!("/v1/{kind}/{seg}");
                let resp = send(&state, put(&url, b"x".to_vec())).await;
                assert_error(resp, StatusCode::BAD_REQUEST, "bad_hash").await;
                let resp = send(&state, get(&url)).await;
                assert_error(resp, StatusCode::BAD_REQUEST, "bad_hash").await;
            }
        }
        // Dots and slashes that leave the segment never reach a handler.
        for path in [
            format!("/v1/bundles/../outputs/{good}"),
            format!("/v1/bundles/{good}/x"),
            "/v1/bundles/".to_owned(),
        ] {
            let resp = send(&state, put(&path, b"x".to_vec())).await;
            assert_error(resp, StatusCode::NOT_FOUND, "no_route").await;
        }
        assert_nothing_stored(dir.path()).await;
    })
    .await
}

/// A body that counts how many bytes the server pulled from it.
fn counted_body(total: u64, chunk: usize, pulled: Arc<AtomicU64>) -> Body {
    let chunks = total.div_ceil(chunk as u64);
    Body::from_stream(stream::iter((0..chunks).map(move |_| {
        pulled.fetch_add(chunk as u64, Ordering::SeqCst);
        Ok::<_, std::io::Error>(Bytes::from(vec![7u8; chunk]))
    })))
}

#[tokio::test]
async fn oversize_bodies_are_413_read_no_further_and_store_nothing() {
    within(60, async {
        let dir = tempdir();
        let limits = UploadLimits {
            max_bundle_bytes: 1 << 20,
            max_selection_bytes: 6_000 * 40,
            ..UploadLimits::default()
        };
        let state = open(dir.path(), limits).await;
        let hash = hash_hex(b"irrelevant");
        for (kind, cap) in [("bundles", 1u64 << 20), ("selections", 6_000 * 40)] {
            // Declared too large: refused before a byte is read.
            let pulled = Arc::new(AtomicU64::new(0));
            let req = Request::put(format!("/v1/{kind}/{hash}"))
                .header(header::CONTENT_LENGTH, cap + 1)
                .body(counted_body(cap + 1, 4096, pulled.clone()))
                .unwrap();
            let message = assert_error(
                send(&state, req).await,
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
            )
            .await;
            assert!(
                message.contains(&cap.to_string()),
                "names the limit: {message}"
            );
            assert_eq!(pulled.load(Ordering::SeqCst), 0);

            // Streamed with no length: reading stops at the first chunk past the cap.
            let pulled = Arc::new(AtomicU64::new(0));
            let req = put(
                &format!("/v1/{kind}/{hash}"),
                counted_body(64 << 20, 64 << 10, pulled.clone()),
            );
            assert_error(
                send(&state, req).await,
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
            )
            .await;
            let read = pulled.load(Ordering::SeqCst);
            assert!(
                read > cap && read <= cap + (64 << 10),
                "pulled {read} bytes for a cap of {cap}"
            );

            // Exactly at the cap is fine (for snapshots; a bundle must also decode).
            if kind == "selections" {
                let body = snapshot_bytes(6_000, 3);
                assert_eq!(body.len() as u64, cap);
                let resp = send(
                    &state,
                    put(&format!("/v1/selections/{}", hash_hex(&body)), body),
                )
                .await;
                assert_eq!(resp.status(), StatusCode::CREATED);
                std::fs::remove_dir_all(dir.path().join("selections")).unwrap();
            }
        }
        assert_nothing_stored(dir.path()).await;
    })
    .await
}

#[tokio::test]
async fn a_body_that_fails_mid_stream_is_400_incomplete_body_and_stores_nothing() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        let full = bundle(&filler(200_000, 4));
        let hash = hash_hex(&full);
        let parts: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::copy_from_slice(&full[..100_000])),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "peer went away",
            )),
        ];
        let resp = send(
            &state,
            put(
                &format!("/v1/bundles/{hash}"),
                Body::from_stream(stream::iter(parts)),
            ),
        )
        .await;
        let message = assert_error(resp, StatusCode::BAD_REQUEST, "incomplete_body").await;
        assert!(message.contains("100000"), "{message}");
        assert_nothing_stored(dir.path()).await;
        // The retry succeeds.
        let resp = send(&state, put(&format!("/v1/bundles/{hash}"), full)).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    })
    .await
}

#[tokio::test]
async fn absent_objects_unknown_routes_and_methods_are_json_errors() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        let hash = hash_hex(b"never uploaded");
        for kind in ["bundles", "outputs"] {
            let message = assert_error(
                send(&state, get(&format!("/v1/{kind}/{hash}"))).await,
                StatusCode::NOT_FOUND,
                "not_found",
            )
            .await;
            assert!(
                message.contains(&hash) && message.contains("PUT"),
                "{message}"
            );
            let head = Request::head(format!("/v1/{kind}/{hash}"))
                .body(Body::empty())
                .unwrap();
            assert_eq!(send(&state, head).await.status(), StatusCode::NOT_FOUND);
        }
        assert_error(
            send(&state, get("/v1/nope")).await,
            StatusCode::NOT_FOUND,
            "no_route",
        )
        .await;
        let delete = Request::delete(format!("/v1/bundles/{hash}"))
            .body(Body::empty())
            .unwrap();
        assert_error(
            send(&state, delete).await,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .await;
    })
    .await
}

#[tokio::test]
async fn a_failing_store_is_503_store_unavailable_and_nothing_is_visible() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        // A plain file where the temporary-object directory should be: the
        // filesystem refuses every new upload.
        std::fs::write(dir.path().join("tmp"), b"in the way").unwrap();
        let output = bundle(b"cannot be stored");
        let url = format!("/v1/bundles/{}", hash_hex(&output));
        let message = assert_error(
            send(&state, put(&url, output)).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
        )
        .await;
        assert!(message.contains("retry"), "{message}");
        assert_eq!(visible(dir.path()), vec!["tmp".to_owned()]);
    })
    .await
}

#[tokio::test]
async fn small_objects_are_served_from_memory_once_read() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        let output = bundle(&filler(4096, 9));
        let hash = hash_hex(&output);
        let path = format!("/v1/bundles/{hash}");
        assert_eq!(
            send(&state, put(&path, output.clone())).await.status(),
            StatusCode::CREATED
        );
        let first = send(&state, get(&path)).await;
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(bytes(first).await, output);
        // Objects never change under their hash, so the second read may come
        // from memory: remove the file behind the store's back to prove it.
        std::fs::remove_file(path_of(dir.path(), &format!("bundles/{hash}"))).unwrap();
        let second = send(&state, get(&path)).await;
        assert_eq!(second.status(), StatusCode::OK);
        assert_eq!(bytes(second).await, output);
        // An object never read is not cached: a missing one is still 404.
        let other = bundle(&filler(4096, 10));
        let other_path = format!("/v1/bundles/{}", hash_hex(&other));
        assert_eq!(
            send(&state, get(&other_path)).await.status(),
            StatusCode::NOT_FOUND
        );
    })
    .await
}
