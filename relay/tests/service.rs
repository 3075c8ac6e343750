//! The OpenAPI document, Prometheus metrics and the health check.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use edgerun_relay::{UploadLimits, app};
use tower::ServiceExt;

async fn call(
    state: &edgerun_relay::AppState,
    method: &str,
    uri: &str,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body))
        .unwrap();
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body.to_vec())
}

#[tokio::test]
async fn openapi_lists_every_route_and_each_listed_route_is_served() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        let (status, body) = call(&state, "GET", "/v1/openapi.json", vec![]).await;
        assert_eq!(status, StatusCode::OK);
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc, serde_json::to_value(edgerun_relay::openapi()).unwrap());

        let listed: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| *k != "parameters")
                    .map(move |m| (m.to_uppercase(), path.clone()))
            })
            .collect();
        let expected: BTreeSet<(String, String)> = [
            ("PUT", "/v1/bundles/{hash}"),
            ("GET", "/v1/bundles/{hash}"),
            ("HEAD", "/v1/bundles/{hash}"),
            ("PUT", "/v1/outputs/{hash}"),
            ("GET", "/v1/outputs/{hash}"),
            ("HEAD", "/v1/outputs/{hash}"),
            ("GET", "/healthz"),
            ("GET", "/metrics"),
            ("GET", "/v1/openapi.json"),
            ("GET", "/v1/jobs/{job_id}"),
            ("POST", "/v1/jobs"),
            ("POST", "/v1/tx"),
            ("POST", "/v1/volunteers"),
            ("GET", "/v1/info"),
            ("GET", "/v1/config"),
            ("POST", "/v1/demo/{workload}"),
            ("GET", "/v1/jobs/{job_id}/events"),
            ("GET", "/v1/workers/{address}"),
            ("GET", "/v1/workers/{address}/events"),
            ("POST", "/v1/workers/{address}/heartbeat"),
            ("GET", "/v1/workers/online"),
            ("PUT", "/v1/selections/{hash}"),
            ("GET", "/v1/selections/{hash}"),
            ("HEAD", "/v1/selections/{hash}"),
        ]
        .into_iter()
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
        assert_eq!(listed, expected);

        // Every listed operation is routed (no 404 no_route, no 405), and
        // its 4xx answers are the documented error schema.
        let output = b"listed".to_vec();
        let hash = hash_hex(&output);
        for (method, path) in &listed {
            let uri = path.replace("{hash}", &hash);
            let (status, body) = call(&state, method, &uri, output.clone()).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            if status == StatusCode::NOT_FOUND && method != "HEAD" {
                let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(err["code"], "not_found", "{method} {path} is not routed");
            }
        }

        let error = &doc["components"]["schemas"]["ErrorBody"];
        assert_eq!(error["required"], serde_json::json!(["code", "message"]));
        let put = &doc["paths"]["/v1/bundles/{hash}"]["put"];
        for status in ["200", "201", "400", "413", "422", "503"] {
            assert!(
                put["responses"][status].is_object(),
                "PUT bundle documents {status}"
            );
        }
        assert_eq!(
            put["responses"]["422"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
    })
    .await
}

/// The value of the first sample line starting with `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_count_uploads_rejections_requests_and_store_latency() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        let output = bundle(&filler(12_345, 9));
        let n = output.len() as f64;
        let uri = format!("/v1/bundles/{}", hash_hex(&output));
        assert_eq!(call(&state, "PUT", &uri, output.clone()).await.0, StatusCode::CREATED);
        assert_eq!(call(&state, "PUT", &uri, output.clone()).await.0, StatusCode::OK);
        assert_eq!(call(&state, "PUT", &uri, b"wrong".to_vec()).await.0, StatusCode::UNPROCESSABLE_ENTITY);

        let (status, body) = call(&state, "GET", "/metrics", vec![]).await;
        assert_eq!(status, StatusCode::OK);
        let text = String::from_utf8(body).unwrap();
        let at = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
        assert_eq!(at(r#"edgerun_relay_uploads_total{kind="bundle",outcome="created"}"#), 1.0);
        assert_eq!(at(r#"edgerun_relay_uploads_total{kind="bundle",outcome="existing"}"#), 1.0);
        assert_eq!(at(r#"edgerun_relay_stored_bytes_total{kind="bundle"}"#), n);
        assert_eq!(at(r#"edgerun_relay_upload_received_bytes_total{kind="bundle"}"#), 2.0 * n + 5.0);
        assert_eq!(at(r#"edgerun_relay_upload_rejections_total{kind="bundle",reason="hash_mismatch"}"#), 1.0);
        assert_eq!(at(r#"edgerun_relay_http_requests_total{method="PUT",route="/v1/bundles/{hash}",status="201"}"#), 1.0);
        assert_eq!(at(r#"edgerun_relay_http_requests_total{method="PUT",route="/v1/bundles/{hash}",status="422"}"#), 1.0);
        assert!(at(r#"edgerun_relay_store_operation_duration_seconds_count{op="rename",outcome="ok"}"#) >= 1.0);
        // Route templates, never one series per hash.
        assert!(!text.contains(&hash_hex(&output)));
    })
    .await
}

#[tokio::test]
async fn healthz_answers_ok_when_the_store_answers() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        let (status, body) = call(&state, "GET", "/healthz", vec![]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()["status"],
            "ok"
        );
        assert_nothing_stored(dir.path()).await;
    })
    .await
}

#[tokio::test]
async fn job_routes_say_what_is_missing() {
    within(30, async {
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default()).await;
        // No chain configured: 503 no_chain, saying how to fix it.
        let (status, body) = call(
            &state,
            "GET",
            &format!("/v1/jobs/{}", "ab".repeat(32)),
            vec![],
        )
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(err["code"], "no_chain");
        assert!(err["message"].as_str().unwrap().contains("--rpc"));
        // A malformed id is refused before any RPC.
        let (status, body) = call(&state, "GET", "/v1/jobs/not-a-job", vec![]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()["code"],
            "bad_hash"
        );
        // An unreachable chain is a 502, not a hang or a 500.
        let state = state.with_chain(
            "http://127.0.0.1:9",
            solana_address::Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID),
        );
        // A malformed multipart body is a 400 before any RPC, storing nothing.
        for (content_type, body) in [
            (
                "multipart/form-data; boundary=XYZ",
                b"--XYZ\r\nContent-Disposition: form-data; name=\"wasm\"\r\n\r\nabc".to_vec(),
            ),
            ("multipart/form-data", b"no boundary".to_vec()),
            ("application/json", b"{}".to_vec()),
        ] {
            let req = Request::builder()
                .method("POST")
                .uri("/v1/jobs")
                .header("content-type", content_type)
                .body(Body::from(body))
                .unwrap();
            let resp = app(state.clone()).oneshot(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{content_type}");
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap();
            let err: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            assert!(
                err["message"].is_string(),
                "{content_type}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        assert_nothing_stored(dir.path()).await;
        let (status, body) = call(
            &state,
            "GET",
            &format!("/v1/jobs/{}", "ab".repeat(32)),
            vec![],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::BAD_GATEWAY,
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()["code"],
            "chain_unavailable"
        );
    })
    .await
}
