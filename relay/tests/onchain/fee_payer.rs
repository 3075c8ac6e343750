//! `POST /v1/tx`: the relay pays fees only for transactions its policy
//! names (PROTOCOL.md v1.1, "Relay fee payer"). Keys: spare 0..=4 and 6..=9,
//! workers 7..=9.

use std::net::SocketAddr;

use edgerun_client::ED25519_PROGRAM_ID;
use edgerun_protocol::instruction::ed25519::{
    HEADER_LEN, SignatureOffsets, THIS_INSTRUCTION, instruction_data,
};
use edgerun_protocol::layout::Layout;
use edgerun_relay::{FeePolicy, UploadLimits};
use futures_util::StreamExt;
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::common::*;
use crate::support::*;

/// A relay on the shared chain whose fee payer is `fee_payer`.
async fn relay(net: &Net, fee_payer: &Keypair) -> (SocketAddr, tempfile::TempDir) {
    relay_with(net, fee_payer, FeePolicy::default()).await
}

async fn relay_with(
    net: &Net,
    fee_payer: &Keypair,
    policy: FeePolicy,
) -> (SocketAddr, tempfile::TempDir) {
    let dir = tempdir();
    let state = open(dir.path(), UploadLimits::default())
        .await
        .with_chain(&net.rpc_url, net.program)
        .with_fee_payer(fee_payer.insecure_clone(), policy);
    (serve(state).await, dir)
}

/// A client's post_job of a fresh Bronze job, for `POST /v1/tx`.
async fn post_job_tx(net: &Net, fee_payer: &Keypair, client: &Keypair) -> String {
    let me = client.pubkey();
    let bundle = Net::bundle(&rand::random::<[u8; 16]>(), 4096);
    let spec =
        edgerun_client::JobSpec::for_bundle(&me, rand::random(), &bundle, 10_000_000, 10_000)
            .unwrap();
    let post = edgerun_client::post_job(&net.program, &me, &spec);
    for_relay(net, &[post], &fee_payer.pubkey(), &[client]).await
}

/// An Ed25519-precompile instruction with `records` signature records,
/// all pointing at one valid signature by `signer` (named as a signing
/// account, which the precompile ignores, so that `signer` must sign the
/// transaction). Each record costs the fee payer a signature's fee.
fn precompile_records(signer: &Keypair, records: usize) -> Instruction {
    let message = [7u8; 32];
    let signature = signer.sign_message(&message);
    let payload_at = (HEADER_LEN + records * SignatureOffsets::LEN) as u16;
    let record = SignatureOffsets::new(
        (payload_at + 32, THIS_INSTRUCTION),
        (payload_at, THIS_INSTRUCTION),
        (payload_at + 96, 32, THIS_INSTRUCTION),
    );
    let payload = [
        signer.pubkey().to_bytes().as_slice(),
        signature.as_ref(),
        &message,
    ]
    .concat();
    Instruction {
        program_id: ED25519_PROGRAM_ID,
        accounts: vec![AccountMeta::new_readonly(signer.pubkey(), true)],
        data: instruction_data(&vec![record; records], &payload),
    }
}

#[tokio::test]
async fn a_precompile_only_transaction_is_refused_before_any_lamport_is_spent() {
    within(120, async {
        let net = net().await;
        let fee_payer = &net.spare[0];
        let (addr, _dir) = relay(net, fee_payer).await;
        let http = reqwest::Client::new();
        let before = net.balance(&fee_payer.pubkey()).await;

        let attacker = Keypair::new();
        let tx = for_relay(
            net,
            &[precompile_records(&attacker, 59)],
            &fee_payer.pubkey(),
            &[&attacker],
        )
        .await;
        let (status, body) = post_tx(&http, addr, &tx).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("tx_refused")),
            "{body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains("Ed25519"),
            "the message names the rule: {body}"
        );
        assert_eq!(net.balance(&fee_payer.pubkey()).await, before);
    })
    .await
}

/// One of five transactions a fresh key can build that look like the
/// protocol's: only the policy, the chain's state and simulation tell
/// them apart from real ones.
async fn fresh_key_transaction(net: &Net, fee_payer: &Keypair, shape: usize) -> String {
    let key = Keypair::new();
    let program = &net.program;
    let me = key.pubkey();
    let ixs: Vec<Instruction> = match shape {
        // The drain itself: signature records the fee payer pays for.
        0 => vec![precompile_records(&key, 20)],
        // A registration the key cannot fund.
        1 => vec![edgerun_client::register_worker(program, &me, &me, STAKE)],
        // A job the key cannot pay the escrow of.
        2 => {
            let bundle = Net::bundle(&me.to_bytes(), 4096);
            let spec =
                edgerun_client::JobSpec::for_bundle(&me, 1, &bundle, 10_000_000, 10_000).unwrap();
            vec![edgerun_client::post_job(program, &me, &spec)]
        }
        // A submission by a key that holds no stake, correctly attested.
        3 => {
            let job = edgerun_protocol::state::Job {
                job_id: *blake3::hash(&me.to_bytes()).as_bytes(),
                ..bytemuck::Zeroable::zeroed()
            };
            net.submit(&job, &key, b"output", 0).to_vec()
        }
        // A reveal by a key that holds no stake.
        _ => vec![edgerun_client::reach_quorum(
            program, &me, &[9; 32], [8; 32],
        )],
    };
    for_relay(net, &ixs, &fee_payer.pubkey(), &[&key]).await
}

#[tokio::test]
async fn a_thousand_fresh_keys_spend_nothing_of_the_fee_payer() {
    within(600, async {
        let net = net().await;
        let fee_payer = &net.spare[1];
        let (addr, _dir) = relay(net, fee_payer).await;
        let http = reqwest::Client::new();
        let before = net.balance(&fee_payer.pubkey()).await;

        let answers: Vec<(usize, u16, serde_json::Value)> = futures_util::stream::iter(0..1_000)
            .map(|i| {
                let http = http.clone();
                async move {
                    let tx = fresh_key_transaction(net, fee_payer, i % 5).await;
                    let (status, body) = post_tx(&http, addr, &tx).await;
                    (i % 5, status, body)
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        let after = net.balance(&fee_payer.pubkey()).await;
        assert_eq!(
            before - after,
            0,
            "the fee payer paid {} lamports for fresh keys",
            before - after
        );
        for (shape, status, body) in &answers {
            assert_eq!(
                (*status, body["code"].as_str()),
                (422, Some("tx_refused")),
                "shape {shape}: {body}"
            );
        }
    })
    .await
}

#[tokio::test]
async fn a_staked_workers_register_and_submit_go_through() {
    within(180, async {
        let net = net().await;
        let fee_payer = &net.spare[2];
        let (addr, _dir) = relay(net, fee_payer).await;
        let http = reqwest::Client::new();
        let worker = &net.parties.workers[7];
        let before = net.balance(&fee_payer.pubkey()).await;

        // register_worker, funded by the worker itself: the relay pays the
        // fee of its two signatures.
        let register = edgerun_client::register_worker(
            &net.program,
            &worker.pubkey(),
            &worker.pubkey(),
            STAKE,
        );
        let tx = for_relay(net, &[register], &fee_payer.pubkey(), &[worker]).await;
        let (status, body) = post_tx(&http, addr, &tx).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(net.balance(&fee_payer.pubkey()).await, before - 10_000);

        // Seated in a job, its submit_result with its Ed25519 check.
        let (a, b) = (&net.parties.workers[8], &net.parties.workers[9]);
        net.register(a).await;
        net.register(b).await;
        let bundle = Net::bundle(b"staked worker", 4096);
        let job = net
            .seated_job(&net.parties.customer, &bundle, &[worker, a, b])
            .await;
        let submit = net.submit(&job, worker, b"the output", 0);
        let tx = for_relay(net, &submit, &fee_payer.pubkey(), &[worker]).await;
        let (status, body) = post_tx(&http, addr, &tx).await;
        assert_eq!(status, 200, "{body}");
        let job = net.chain().job(&job.job_id).await.unwrap().unwrap();
        let seat = job.slot_of(&edgerun_protocol::layout::Pubkey(
            worker.pubkey().to_bytes(),
        ));
        assert!(
            job.submissions[seat.unwrap()]
                .has(edgerun_protocol::state::submission_flags::SUBMITTED)
        );
        // Two transaction signatures and one precompile signature.
        assert_eq!(
            net.balance(&fee_payer.pubkey()).await,
            before - 10_000 - 15_000
        );
    })
    .await
}

#[tokio::test]
async fn an_oversize_transaction_is_413_tx_too_large() {
    within(120, async {
        let net = net().await;
        let fee_payer = &net.spare[4];
        let (addr, _dir) = relay(net, fee_payer).await;
        let http = reqwest::Client::new();
        let key = Keypair::new();
        let mut big = precompile_records(&key, 1);
        big.data.extend_from_slice(&[0u8; 1_300]);
        let tx = for_relay(net, &[big], &fee_payer.pubkey(), &[&key]).await;
        let (status, body) = post_tx(&http, addr, &tx).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (413, Some("tx_too_large")),
            "{body}"
        );
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("1232"), "names the limit: {message}");
    })
    .await
}

#[tokio::test]
async fn the_fee_payers_spend_is_capped_per_signer_and_in_total() {
    within(180, async {
        let net = net().await;
        let http = reqwest::Client::new();
        // Per signer: two post_jobs (10,000 lamports of fees each) an hour.
        let fee_payer = &net.spare[6];
        let policy = FeePolicy {
            signer_lamports_per_hour: 25_000,
            ..FeePolicy::default()
        };
        let (addr, _dir) = relay_with(net, fee_payer, policy).await;
        let (client, other) = (&net.spare[7], &net.spare[8]);
        let before = net.balance(&fee_payer.pubkey()).await;
        for _ in 0..2 {
            let (status, body) =
                post_tx(&http, addr, &post_job_tx(net, fee_payer, client).await).await;
            assert_eq!(status, 200, "{body}");
        }
        let (status, body) = post_tx(&http, addr, &post_job_tx(net, fee_payer, client).await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (429, Some("rate_limited")),
            "{body}"
        );
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("25000 lamports an hour") && message.contains("retry in"),
            "{message}"
        );
        assert_eq!(net.balance(&fee_payer.pubkey()).await, before - 20_000);
        // Another signer has its own budget.
        let (status, body) = post_tx(&http, addr, &post_job_tx(net, fee_payer, other).await).await;
        assert_eq!(status, 200, "{body}");

        // In total: one post_job an hour, whoever sends it.
        let fee_payer = &net.spare[9];
        let policy = FeePolicy {
            total_lamports_per_hour: 15_000,
            ..FeePolicy::default()
        };
        let (addr, _dir) = relay_with(net, fee_payer, policy).await;
        let (status, body) = post_tx(&http, addr, &post_job_tx(net, fee_payer, client).await).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = post_tx(&http, addr, &post_job_tx(net, fee_payer, other).await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (429, Some("rate_limited")),
            "{body}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("all signers together"),
            "{body}"
        );
    })
    .await
}
