//! Heartbeats count only for keys with an active WorkerStake: a flood of
//! free keys cannot fill the table and lock real workers out. Worker 10.

use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::Signer as _;
use edgerun_protocol::hash::hex;
use edgerun_relay::UploadLimits;
use futures_util::StreamExt;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::common::*;
use crate::support::*;

fn heartbeat(key: &Keypair) -> serde_json::Value {
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let runtimes = [[0x44; 32]];
    let message =
        edgerun_protocol::heartbeat::message(&key.pubkey().to_bytes(), unix_ms, &runtimes, None);
    let signing = ed25519_dalek::SigningKey::from_bytes(key.secret_bytes());
    serde_json::json!({
        "unix_ms": unix_ms,
        "runtime_ids": [hex(&runtimes[0])],
        "signature": hex(&signing.sign(&message).to_bytes()),
    })
}

async fn send(
    http: &reqwest::Client,
    addr: std::net::SocketAddr,
    key: &Keypair,
) -> (u16, serde_json::Value) {
    let resp = http
        .post(format!(
            "http://{addr}/v1/workers/{}/heartbeat",
            key.pubkey()
        ))
        .header("content-type", "application/json")
        .body(heartbeat(key).to_string())
        .send()
        .await
        .unwrap();
    status_json(resp).await
}

#[tokio::test]
async fn free_key_heartbeats_do_not_crowd_out_a_staked_worker() {
    within(300, async {
        let net = net().await;
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default())
            .await
            .with_chain(&net.rpc_url, net.program);
        let addr = serve(state).await;
        let http = reqwest::Client::new();
        let staked = &net.parties.workers[10];
        net.register(staked).await;

        // 2,000 keys that cost nothing, each correctly signed.
        let answers: Vec<(u16, serde_json::Value)> = futures_util::stream::iter(0..2_000)
            .map(|_| {
                let http = http.clone();
                async move { send(&http, addr, &Keypair::new()).await }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        for (status, body) in &answers {
            assert_eq!(
                (*status, body["code"].as_str()),
                (403, Some("forbidden")),
                "{body}"
            );
        }

        let (status, body) = send(&http, addr, staked).await;
        assert_eq!(status, 204, "{body}");
        let online: serde_json::Value = serde_json::from_slice(
            &http
                .get(format!("http://{addr}/v1/workers/online"))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        )
        .unwrap();
        let listed: Vec<&str> = online["workers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["address"].as_str().unwrap())
            .collect();
        assert_eq!(
            listed,
            [staked.pubkey().to_string()],
            "only the staked worker counts"
        );
    })
    .await
}
