//! Sealed submissions at the relay: an output is stored only from a worker
//! seated in a live job, within the job's `max_output_bytes`, and served
//! only once an OutputAvailability names its hash. Workers 0..=6.

use std::net::SocketAddr;

use ed25519_dalek::Signer as _;
use edgerun_protocol::hash::hex;
use edgerun_protocol::state::Job;
use edgerun_relay::UploadLimits;
use solana_keypair::Keypair;
use solana_signer::Signer;
use tokio::io::AsyncWriteExt;

use crate::common::*;
use crate::support::*;

async fn relay(net: &Net) -> (SocketAddr, tempfile::TempDir) {
    let dir = tempdir();
    let state = open(dir.path(), UploadLimits::default())
        .await
        .with_chain(&net.rpc_url, net.program);
    (serve(state).await, dir)
}

/// The three headers of an authorised output upload, spelled out as a
/// worker in another language would build them: the worker's Ed25519
/// signature over `b"edgerun:put-output:v1" || job_id || output_hash`.
fn put_headers(
    worker: &Keypair,
    job_id: &[u8; 32],
    output_hash: &[u8; 32],
) -> Vec<(String, String)> {
    let mut message = b"edgerun:put-output:v1".to_vec();
    message.extend_from_slice(job_id);
    message.extend_from_slice(output_hash);
    let key = ed25519_dalek::SigningKey::from_bytes(worker.secret_bytes());
    vec![
        ("x-edgerun-job".into(), hex(job_id)),
        ("x-edgerun-worker".into(), worker.pubkey().to_string()),
        (
            "x-edgerun-signature".into(),
            hex(&key.sign(&message).to_bytes()),
        ),
    ]
}

async fn put(
    http: &reqwest::Client,
    addr: SocketAddr,
    output: &[u8],
    headers: &[(String, String)],
) -> (u16, serde_json::Value) {
    let mut req = http
        .put(format!("http://{addr}/v1/outputs/{}", hash_hex(output)))
        .body(output.to_vec());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    status_json(resp).await
}

async fn registered(net: &Net, range: std::ops::Range<usize>) -> Vec<&Keypair> {
    let workers: Vec<&Keypair> = net.parties.workers[range].iter().collect();
    for w in &workers {
        net.register(w).await;
    }
    workers
}

#[tokio::test]
async fn an_output_is_404_until_declared_then_served() {
    within(180, async {
        let net = net().await;
        let (addr, dir) = relay(net).await;
        let http = reqwest::Client::new();
        let committee = registered(net, 0..3).await;
        let bundle = Net::bundle(b"sealed until declared", 4096);
        let job: Job = net
            .seated_job(&net.parties.customer, &bundle, &committee)
            .await;

        let output = b"the agreed output".to_vec();
        let hash = *blake3::hash(&output).as_bytes();
        let (status, body) = put(
            &http,
            addr,
            &output,
            &put_headers(committee[1], &job.job_id, &hash),
        )
        .await;
        assert_eq!(status, 201, "{body}");

        // Stored, not yet declared: exactly the answer for a missing object.
        let url = format!("http://{addr}/v1/outputs/{}", hex(&hash));
        let missing = b"never uploaded".to_vec();
        let missing_url = format!("http://{addr}/v1/outputs/{}", hash_hex(&missing));
        let got = http.get(&url).send().await.unwrap();
        assert_eq!(got.status(), 404);
        let got: serde_json::Value = serde_json::from_slice(&got.bytes().await.unwrap()).unwrap();
        let absent: serde_json::Value = serde_json::from_slice(
            &http
                .get(&missing_url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(got["code"], "not_found");
        assert_eq!(
            got["message"].as_str().unwrap().replace(&hex(&hash), "H"),
            absent["message"]
                .as_str()
                .unwrap()
                .replace(&hash_hex(&missing), "H"),
            "an undeclared output reads exactly as a missing one"
        );
        assert_eq!(http.head(&url).send().await.unwrap().status(), 404);

        // Two seats agree; the second reveals and declares.
        net.send(
            &net.submit(&job, committee[0], &output, 0),
            committee[0],
            &[],
        )
        .await;
        let mut ixs = net.submit(&job, committee[1], &output, 0).to_vec();
        ixs.push(edgerun_client::reach_quorum(
            &net.program,
            &committee[1].pubkey(),
            &job.job_id,
            hash,
        ));
        ixs.push(
            edgerun_client::declare_output(
                &net.program,
                &committee[1].pubkey(),
                &job.job_id,
                hash,
                &format!("/v1/outputs/{}", hex(&hash)),
            )
            .unwrap(),
        );
        net.send(&ixs, committee[1], &[]).await;

        // Served once the relay sees the declaration (a "not declared"
        // answer is trusted for a second).
        let mut got = http.get(&url).send().await.unwrap();
        for _ in 0..50 {
            if got.status() != 404 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            got = http.get(&url).send().await.unwrap();
        }
        assert_eq!(got.status(), 200);
        assert_eq!(got.bytes().await.unwrap(), output);
        let head = http.head(&url).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(
            head.headers()["content-length"],
            output.len().to_string().as_str()
        );
        drop(dir);
    })
    .await
}

#[tokio::test]
async fn only_a_seated_worker_may_put_an_output_within_the_jobs_limit() {
    within(180, async {
        let net = net().await;
        let (addr, dir) = relay(net).await;
        let http = reqwest::Client::new();
        let committee = registered(net, 3..6).await;
        let unseated = registered(net, 6..7).await[0];
        let bundle = Net::bundle(b"who may upload", 4096);
        let job = net
            .seated_job(&net.parties.customer, &bundle, &committee)
            .await;
        let output = b"an output".to_vec();
        let hash = *blake3::hash(&output).as_bytes();

        // No credentials at all.
        let (status, body) = put(&http, addr, &output, &[]).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("unauthorized")),
            "{body}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("x-edgerun-signature"),
            "{body}"
        );
        // A stranger's own valid signature.
        let stranger = Keypair::new();
        let (status, body) = put(
            &http,
            addr,
            &output,
            &put_headers(&stranger, &job.job_id, &hash),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{body}"
        );
        // A registered worker that is not seated in this job.
        let (status, body) = put(
            &http,
            addr,
            &output,
            &put_headers(unseated, &job.job_id, &hash),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{body}"
        );
        // A seated worker's signature over another output.
        let other = *blake3::hash(b"another output").as_bytes();
        let (status, body) = put(
            &http,
            addr,
            &output,
            &put_headers(committee[0], &job.job_id, &other),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("unauthorized")),
            "{body}"
        );
        assert_nothing_stored(dir.path()).await;

        // Over the job's max_output_bytes (4096): refused from the declared
        // length, before any of the body is sent.
        let big = filler(4097, 1);
        let big_hash = *blake3::hash(&big).as_bytes();
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut head = format!(
            "PUT /v1/outputs/{} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\n",
            hex(&big_hash),
            big.len()
        );
        for (k, v) in put_headers(committee[0], &job.job_id, &big_hash) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let resp = read_response(&mut stream).await;
        assert_eq!(resp.status, 413, "{}", String::from_utf8_lossy(&resp.body));
        assert_eq!(resp.json()["code"], "too_large");
        assert!(resp.json()["message"].as_str().unwrap().contains("4096"));
        // Streamed without a length, the same cap applies.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            big.chunks(1000).map(|c| Ok(c.to_vec())).collect();
        let mut req = http
            .put(format!("http://{addr}/v1/outputs/{}", hex(&big_hash)))
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                chunks,
            )));
        for (k, v) in put_headers(committee[0], &job.job_id, &big_hash) {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 413);
        assert_nothing_stored(dir.path()).await;

        // The seated worker within the limit is stored.
        let (status, body) = put(
            &http,
            addr,
            &output,
            &put_headers(committee[0], &job.job_id, &hash),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    })
    .await
}
