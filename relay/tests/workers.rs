//! Worker heartbeats and the online list, and eligible-set snapshots under
//! `/v1/selections`, over a real listener on 127.0.0.1.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use ed25519_dalek::{Signer, SigningKey};
use edgerun_protocol::heartbeat::message as heartbeat_message;
use edgerun_protocol::selection::{Candidate, snapshot_hash};
use edgerun_relay::UploadLimits;
use serde_json::{Value, json};
use solana_address::Address;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn address(key: &SigningKey) -> String {
    Address::new_from_array(key.verifying_key().to_bytes()).to_string()
}

/// A heartbeat body signed by `key` over exactly `heartbeat_message`.
fn signed(key: &SigningKey, unix_ms: u64, runtime_ids: &[[u8; 32]]) -> Value {
    let message = heartbeat_message(&key.verifying_key().to_bytes(), unix_ms, runtime_ids, None);
    json!({
        "unix_ms": unix_ms,
        "runtime_ids": runtime_ids.iter().map(|id| hex(id)).collect::<Vec<_>>(),
        "signature": hex(&key.sign(&message).to_bytes()),
    })
}

fn hex(bytes: &[u8]) -> String {
    edgerun_protocol::hash::hex(bytes)
}

struct Relay {
    addr: SocketAddr,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Relay {
    async fn start() -> Self {
        let dir = tempdir();
        let addr = serve(open(dir.path(), UploadLimits::default()).await).await;
        Relay {
            addr,
            client: reqwest::Client::new(),
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn heartbeat(&self, address: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .client
            .post(self.url(&format!("/v1/workers/{address}/heartbeat")))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn get_json(&self, path: &str) -> (u16, Value) {
        let resp = self.client.get(self.url(path)).send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{path}: not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, body)
    }

    /// The addresses `GET /v1/workers/online` lists for `query`.
    async fn online(&self, query: &str) -> Vec<Value> {
        let (status, body) = self.get_json(&format!("/v1/workers/online{query}")).await;
        assert_eq!(status, 200, "{body}");
        body["workers"].as_array().unwrap().clone()
    }
}

fn addresses(workers: &[Value]) -> Vec<&str> {
    workers
        .iter()
        .map(|w| w["address"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_signed_heartbeat_is_listed_online_with_its_runtimes() {
    within(30, async {
        let relay = Relay::start().await;
        assert!(relay.online("").await.is_empty());
        let (a, b) = (
            SigningKey::from_bytes(&[1; 32]),
            SigningKey::from_bytes(&[2; 32]),
        );
        let runtimes = [[0xaa; 32], [0xbb; 32]];
        let (status, body) = relay
            .heartbeat(&address(&a), &signed(&a, now_ms(), &runtimes))
            .await;
        assert_eq!(status, 204, "{body}");
        // The message spelled out byte by byte, as a worker in another
        // language would build it.
        let t = now_ms();
        let mut message = b"edgerun-heartbeat-v1".to_vec();
        message.extend_from_slice(&b.verifying_key().to_bytes());
        message.extend_from_slice(&t.to_le_bytes());
        message.push(2);
        message.extend_from_slice(&[0xaa; 32]);
        message.extend_from_slice(&[0xbb; 32]);
        let body = json!({
            "unix_ms": t,
            "runtime_ids": [hex(&[0xaa; 32]), hex(&[0xbb; 32])],
            "signature": hex(&b.sign(&message).to_bytes()),
        });
        let (status, err) = relay.heartbeat(&address(&b), &body).await;
        assert_eq!(status, 204, "{err}");
        // A replay of an older heartbeat is answered alike but changes nothing.
        let old = signed(&a, now_ms() - 5_000, &[[0xcc; 32]]);
        assert_eq!(relay.heartbeat(&address(&a), &old).await.0, 204);

        let workers = relay.online("").await;
        let mut expected = [&a, &b].map(|k| (k.verifying_key().to_bytes(), address(k)));
        expected.sort();
        assert_eq!(
            addresses(&workers),
            expected.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(),
            "sorted by pubkey bytes"
        );
        for w in &workers {
            assert_eq!(
                w["runtime_ids"],
                json!([hex(&[0xaa; 32]), hex(&[0xbb; 32])])
            );
            assert!(w["seen_ms_ago"].as_u64().unwrap() < 10_000, "{w}");
        }

        let resp = relay
            .client
            .get(relay.url("/metrics"))
            .send()
            .await
            .unwrap();
        let text = resp.text().await.unwrap();
        assert!(
            text.contains(r#"edgerun_relay_heartbeats_total{outcome="accepted"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"edgerun_relay_heartbeats_total{outcome="not_newer"} 1"#),
            "{text}"
        );
    })
    .await
}

/// A heartbeat naming the largest fuel cap its worker takes.
fn capped(key: &SigningKey, unix_ms: u64, runtime_ids: &[[u8; 32]], max_fuel: u64) -> Value {
    let message = heartbeat_message(
        &key.verifying_key().to_bytes(),
        unix_ms,
        runtime_ids,
        Some(max_fuel),
    );
    json!({
        "unix_ms": unix_ms,
        "runtime_ids": runtime_ids.iter().map(|id| hex(id)).collect::<Vec<_>>(),
        "max_fuel": max_fuel,
        "signature": hex(&key.sign(&message).to_bytes()),
    })
}

#[tokio::test]
async fn a_workers_fuel_cap_is_signed_and_listed_and_cannot_be_changed_by_others() {
    within(30, async {
        let relay = Relay::start().await;
        let (edge, native) = (
            SigningKey::from_bytes(&[5; 32]),
            SigningKey::from_bytes(&[6; 32]),
        );
        let runtimes = [[0xaa; 32]];
        let t = now_ms();
        // Someone relaying a worker's heartbeat cannot give it a cap it did
        // not sign (so it would be passed over), lift the cap it signed (so
        // it would be seated in jobs it refuses and penalized), or add one.
        let mut lifted = capped(&edge, t, &runtimes, 1_000);
        lifted["max_fuel"] = json!(2_000);
        let mut dropped = capped(&edge, t, &runtimes, 1_000);
        dropped.as_object_mut().unwrap().remove("max_fuel");
        let mut added = signed(&native, t, &runtimes);
        added["max_fuel"] = json!(1_000);
        for (who, body) in [(&edge, lifted), (&edge, dropped), (&native, added)] {
            let (status, err) = relay.heartbeat(&address(who), &body).await;
            assert_eq!(status, 401, "{err}");
        }
        // A cap of 0 would take nothing: said, not stored.
        let (status, err) = relay
            .heartbeat(&address(&edge), &capped(&edge, t, &runtimes, 0))
            .await;
        assert_eq!(status, 400, "{err}");
        assert!(
            err["message"].as_str().unwrap().contains("max_fuel"),
            "{err}"
        );
        assert!(relay.online("").await.is_empty());

        let (status, err) = relay
            .heartbeat(&address(&edge), &capped(&edge, t, &runtimes, 1_900_000_000))
            .await;
        assert_eq!(status, 204, "{err}");
        let (status, err) = relay
            .heartbeat(&address(&native), &signed(&native, t, &runtimes))
            .await;
        assert_eq!(status, 204, "{err}");
        let workers = relay.online("").await;
        let cap = |k: &SigningKey| {
            workers
                .iter()
                .find(|w| w["address"] == address(k))
                .map(|w| w["max_fuel"].clone())
        };
        assert_eq!(cap(&edge), Some(json!(1_900_000_000)));
        assert_eq!(cap(&native), Some(Value::Null));
    })
    .await
}

#[tokio::test]
async fn wrong_signatures_are_401_and_never_listed() {
    within(30, async {
        let relay = Relay::start().await;
        let worker = SigningKey::from_bytes(&[3; 32]);
        let other = SigningKey::from_bytes(&[4; 32]);
        let runtimes = [[0x11; 32]];
        let t = now_ms();
        // Signed by another key; signed over other runtime ids; signed over
        // another time.
        let mut forged_runtimes = signed(&worker, t, &[[0x22; 32]]);
        forged_runtimes["runtime_ids"] = json!([hex(&runtimes[0])]);
        let mut forged_time = signed(&worker, t, &runtimes);
        forged_time["unix_ms"] = json!(t + 1);
        for body in [signed(&other, t, &runtimes), forged_runtimes, forged_time] {
            let (status, err) = relay.heartbeat(&address(&worker), &body).await;
            assert_eq!(status, 401, "{err}");
            assert_eq!(err["code"], "unauthorized");
            assert!(
                err["message"]
                    .as_str()
                    .unwrap()
                    .contains("heartbeat::message"),
                "{err}"
            );
        }
        assert!(relay.online("?within_s=3600").await.is_empty());

        let text = relay
            .client
            .get(relay.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.contains(r#"edgerun_relay_heartbeats_total{outcome="unauthorized"} 3"#),
            "{text}"
        );
    })
    .await
}

#[tokio::test]
async fn malformed_heartbeats_and_stale_clocks_are_400() {
    within(30, async {
        let relay = Relay::start().await;
        let worker = SigningKey::from_bytes(&[5; 32]);
        let addr = address(&worker);
        let runtimes = [[0xab; 32]];

        // A clock 60 s behind or ahead, correctly signed: the message says
        // to fix the clock.
        for unix_ms in [now_ms() - 60_000, now_ms() + 60_000] {
            let (status, err) = relay
                .heartbeat(&addr, &signed(&worker, unix_ms, &runtimes))
                .await;
            assert_eq!(status, 400, "{err}");
            assert_eq!(err["code"], "bad_request");
            assert!(
                err["message"]
                    .as_str()
                    .unwrap()
                    .contains("fix the worker's clock"),
                "{err}"
            );
        }

        let good = signed(&worker, now_ms(), &runtimes);
        let mut no_runtimes = good.clone();
        no_runtimes["runtime_ids"] = json!([]);
        let mut nine = good.clone();
        nine["runtime_ids"] = json!(vec![hex(&[1; 32]); 9]);
        let mut upper = good.clone();
        upper["runtime_ids"] = json!([hex(&runtimes[0]).to_uppercase()]);
        let mut short_sig = good.clone();
        short_sig["signature"] = json!("ab");
        for (target, body) in [
            ("not-base58!", good.clone()),
            (addr.as_str(), json!({"unix_ms": 1})),
            (addr.as_str(), json!("not an object")),
            (addr.as_str(), no_runtimes),
            (addr.as_str(), nine),
            (addr.as_str(), upper),
            (addr.as_str(), short_sig),
        ] {
            let (status, err) = relay.heartbeat(target, &body).await;
            assert_eq!(status, 400, "{target} {body}: {err}");
            assert_eq!(err["code"], "bad_request", "{err}");
        }
        assert!(relay.online("?within_s=3600").await.is_empty());
    })
    .await
}

#[tokio::test]
async fn within_s_filters_by_the_last_heartbeat() {
    within(30, async {
        let relay = Relay::start().await;
        let early = SigningKey::from_bytes(&[6; 32]);
        let late = SigningKey::from_bytes(&[7; 32]);
        let runtimes = [[0x44; 32]];
        let body = signed(&early, now_ms(), &runtimes);
        assert_eq!(relay.heartbeat(&address(&early), &body).await.0, 204);
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let body = signed(&late, now_ms(), &runtimes);
        assert_eq!(relay.heartbeat(&address(&late), &body).await.0, 204);

        assert_eq!(
            addresses(&relay.online("?within_s=1").await),
            [address(&late)]
        );
        assert_eq!(relay.online("?within_s=30").await.len(), 2);
        assert_eq!(relay.online("").await.len(), 2, "default 30 s");

        for bad in ["?within_s=3601", "?within_s=abc", "?within_s=-1"] {
            let (status, err) = relay.get_json(&format!("/v1/workers/online{bad}")).await;
            assert_eq!(status, 400, "{bad}: {err}");
            assert_eq!(err["code"], "bad_request");
        }
    })
    .await
}

#[tokio::test]
async fn online_is_its_own_route_beside_workers_by_address() {
    within(30, async {
        let relay = Relay::start().await;
        // The static segment wins: a list, not a worker named "online".
        let (status, body) = relay.get_json("/v1/workers/online").await;
        assert_eq!(status, 200, "{body}");
        assert!(body["workers"].is_array());
        // An address still reaches the stake route (no chain here: 503).
        let worker = address(&SigningKey::from_bytes(&[8; 32]));
        let (status, body) = relay.get_json(&format!("/v1/workers/{worker}")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (503, Some("no_chain")),
            "{body}"
        );
        let (status, body) = relay.get_json("/v1/workers/not-an-address").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_request")),
            "{body}"
        );
        // The heartbeat route takes POST only.
        let (status, body) = relay
            .get_json(&format!("/v1/workers/{worker}/heartbeat"))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (405, Some("method_not_allowed"))
        );
    })
    .await
}

/// A sorted snapshot of `n` workers, as the scheduler builds it.
fn snapshot(n: u8) -> (Vec<Candidate>, Vec<u8>) {
    let mut eligible: Vec<Candidate> = (0..n)
        .map(|i| Candidate {
            worker: SigningKey::from_bytes(&[i + 10; 32])
                .verifying_key()
                .to_bytes(),
            weight: 1_000 * u64::from(i + 1),
        })
        .collect();
    eligible.sort();
    let bytes = eligible
        .iter()
        .flat_map(|c| c.worker.into_iter().chain(c.weight.to_le_bytes()))
        .collect();
    (eligible, bytes)
}

#[tokio::test]
async fn selection_snapshots_round_trip_under_their_snapshot_hash() {
    within(30, async {
        let relay = Relay::start().await;
        let (eligible, bytes) = snapshot(5);
        let hash = hex(&snapshot_hash(&eligible).unwrap());
        assert_eq!(
            hash,
            hash_hex(&bytes),
            "the body is the snapshot_hash preimage"
        );
        let url = relay.url(&format!("/v1/selections/{hash}"));

        let resp = relay
            .client
            .put(&url)
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let stored: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!(stored["kind"], "selection");
        assert_eq!(stored["url"], format!("/v1/selections/{hash}"));
        assert_eq!(stored["size"], 200);
        let again = relay
            .client
            .put(&url)
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 200);

        let resp = relay.client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["etag"], format!("\"{hash}\"").as_str());
        assert_eq!(resp.bytes().await.unwrap(), bytes);
        let head = relay.client.head(&url).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()["content-length"], "200");
    })
    .await
}

#[tokio::test]
async fn bad_snapshots_are_422_and_store_nothing() {
    within(30, async {
        let dir = tempdir();
        let limits = UploadLimits {
            max_selection_bytes: 4_000,
            ..UploadLimits::default()
        };
        let addr = serve(open(dir.path(), limits).await).await;
        let client = reqwest::Client::new();
        let put = |hash: String, body: Vec<u8>| {
            let req = client
                .put(format!("http://{addr}/v1/selections/{hash}"))
                .body(body);
            async move {
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let err: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
                (
                    status,
                    err["code"].as_str().unwrap_or_default().to_owned(),
                    err,
                )
            }
        };
        let (_, sorted) = snapshot(3);

        // The bytes of another snapshot under this hash.
        let (status, code, err) = put(hash_hex(&sorted), snapshot(2).1).await;
        assert_eq!((status, code.as_str()), (422, "hash_mismatch"), "{err}");

        // Records out of order, or one twice: the hash matches, the order does not.
        let mut unsorted = sorted.clone();
        unsorted[..80].rotate_left(40);
        let mut duplicate = sorted[..40].to_vec();
        duplicate.extend_from_slice(&sorted[..40]);
        // Not whole records.
        let ragged = sorted[..79].to_vec();
        for body in [unsorted, duplicate, ragged] {
            let (status, code, err) = put(hash_hex(&body), body).await;
            assert_eq!((status, code.as_str()), (422, "not_a_snapshot"), "{err}");
            assert!(
                err["message"]
                    .as_str()
                    .unwrap()
                    .contains("nothing was stored"),
                "{err}"
            );
        }

        // Above the configured cap.
        let (_, big) = snapshot(101);
        let (status, code, err) = put(hash_hex(&big), big).await;
        assert_eq!((status, code.as_str()), (413, "too_large"), "{err}");

        assert_nothing_stored(dir.path()).await;
    })
    .await
}
