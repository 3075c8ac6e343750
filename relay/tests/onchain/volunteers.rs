//! `POST /v1/volunteers`: the operator sponsors a tab that holds a worker
//! key and no SOL. Performed against the real chain: the offered
//! transaction registers exactly that key with the sponsor as authority,
//! and every way to make the sponsor pay for something else is refused.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use ed25519_dalek::Signer as _;
use edgerun_protocol::hash::hex;
use edgerun_relay::UploadLimits;
use edgerun_relay::routes::volunteers::SponsorPolicy;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;

use crate::common::*;
use crate::support::*;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A tab's request for `worker`, signed by `signer` at `unix_ms`.
fn request(worker: &Keypair, signer: &Keypair, unix_ms: u64) -> serde_json::Value {
    let message = edgerun_protocol::volunteer::message(&worker.pubkey().to_bytes(), unix_ms);
    let signing = ed25519_dalek::SigningKey::from_bytes(signer.secret_bytes());
    serde_json::json!({
        "worker": worker.pubkey().to_string(),
        "unix_ms": unix_ms,
        "signature": hex(&signing.sign(&message).to_bytes()),
    })
}

async fn ask(
    http: &reqwest::Client,
    addr: std::net::SocketAddr,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let resp = http
        .post(format!("http://{addr}/v1/volunteers"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    status_json(resp).await
}

#[tokio::test]
async fn a_tab_with_no_sol_is_sponsored_once_and_nothing_else_is_paid_for() {
    within(300, async {
        let net = net().await;
        let sponsor = &net.parties.workers[12];
        let stake = 3_000_000;
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default())
            .await
            .with_chain(&net.rpc_url, net.program)
            .with_sponsor(
                sponsor.insecure_clone(),
                SponsorPolicy {
                    stake_lamports: stake,
                    per_hour: 2,
                    total: 10,
                },
            );
        let addr = serve(state).await;
        let http = reqwest::Client::new();

        // A tab: a fresh key, never funded.
        let tab = Keypair::new();
        assert_eq!(net.balance(&tab.pubkey()).await, 0);
        // Someone else signing for it: no proof the key is held.
        let (status, body) = ask(&http, addr, &request(&tab, &Keypair::new(), now_ms())).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("unauthorized")),
            "{body}"
        );
        // A stale request (replayed from long ago).
        let (status, body) = ask(&http, addr, &request(&tab, &tab, now_ms() - 600_000)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_request")),
            "{body}"
        );

        let (status, offer) = ask(&http, addr, &request(&tab, &tab, now_ms())).await;
        assert_eq!(status, 201, "{offer}");
        assert_eq!(offer["authority"], sponsor.pubkey().to_string());
        assert_eq!(offer["stake_lamports"], stake);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(offer["transaction"].as_str().unwrap())
            .unwrap();
        let mut tx: Transaction = bincode::deserialize(&bytes).unwrap();
        // The tab adds its signature; the sponsor's covers the message, so
        // nothing in it can be changed.
        let blockhash = tx.message.recent_blockhash;
        tx.partial_sign(&[&tab], blockhash);
        let sponsor_before = net.balance(&sponsor.pubkey()).await;
        net.chain()
            .send_signed(&tx)
            .await
            .expect("the tab sends it");
        let stake_account = net.chain().stake(&tab.pubkey()).await.unwrap().unwrap();
        assert_eq!(stake_account.authority.0, sponsor.pubkey().to_bytes());
        assert_eq!(stake_account.total_stake.get(), stake);
        assert_eq!(net.balance(&tab.pubkey()).await, 0, "the tab paid nothing");
        assert!(sponsor_before > net.balance(&sponsor.pubkey()).await);

        // The same key again: registered, never sponsored twice.
        let (status, body) = ask(&http, addr, &request(&tab, &tab, now_ms())).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{body}"
        );
        // The hourly budget (2): one more, then 429.
        let (status, _) = ask(
            &http,
            addr,
            &request(&Keypair::new(), &Keypair::new(), now_ms()),
        )
        .await;
        assert_eq!(status, 401);
        let second = Keypair::new();
        let (status, body) = ask(&http, addr, &request(&second, &second, now_ms())).await;
        assert_eq!(status, 201, "{body}");
        let third = Keypair::new();
        let (status, body) = ask(&http, addr, &request(&third, &third, now_ms())).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (429, Some("rate_limited")),
            "{body}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_relay_without_a_sponsor_sponsors_nobody() {
    within(120, async {
        let net = net().await;
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default())
            .await
            .with_chain(&net.rpc_url, net.program);
        let addr = serve(state).await;
        let tab = Keypair::new();
        let (status, body) = ask(
            &reqwest::Client::new(),
            addr,
            &request(&tab, &tab, now_ms()),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{body}"
        );
    })
    .await;
}
