//! Issue 5's must-show, end to end with the real binaries: `edgerun up`
//! starts the chain and relay on 127.0.0.1; `edgerun post` with the
//! json-redact demo returns a job_id whose account is on chain with the right
//! tier, escrow and bundle_hash; the bundle downloads from the relay and
//! verifies; `status` and `get` answer; a foreign client (@solana/kit in
//! Node) decodes the config and the job from the Anchor IDL alone.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use edgerun_protocol::hash::parse_hex;
use edgerun_protocol::state::{GlobalConfig, Job, job_status};
use edgerun_protocol::tier::Tier;
use edgerun_runtime::hex;
use serde_json::Value;
use solana_address::Address;

mod common;

use common::{edgerun, repo, target};

#[test]
fn up_then_post_puts_the_job_on_chain_and_the_bundle_on_the_relay() {
    let wasm = target().join("jobs/json-redact.wasm");
    assert!(wasm.exists(), "run `cargo xtask build-jobs` first");
    let input = repo().join("tests/vectors/src/inputs/redact-profile.json");
    let common::Up {
        proc: stack,
        home,
        rpc,
        relay,
        ready,
        ..
    } = common::up("up-post", &["--slot-ms", "200"]);
    assert!(ready.contains(&rpc) && ready.contains(&relay), "{ready}");

    // Post the json-redact demo at Gold.
    let (ok, out, err) = edgerun(
        &home,
        &rpc,
        &relay,
        &[
            "post",
            "--wasm",
            wasm.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--tier",
            "gold",
            "--json",
        ],
    );
    assert!(ok, "post failed: {err}");
    let posted: Value = serde_json::from_str(out.trim()).unwrap();
    let job_id = posted["job_id"].as_str().unwrap().to_string();
    let bundle_hash = posted["bundle_hash"].as_str().unwrap().to_string();

    // The job account, read independently over RPC.
    let client = solana_rpc_client::rpc_client::RpcClient::new_with_commitment(
        rpc.clone(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    let program_id = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);
    let job_bytes = parse_hex(&job_id).unwrap();
    let account = client
        .get_account(&edgerun_client::job_pda(&program_id, &job_bytes).0)
        .unwrap();
    let job: Job = edgerun_client::decode_account(&account.data).unwrap();
    assert_eq!(hex(&job.bundle_hash), bundle_hash);
    assert_eq!(job.escrow_lamports.get(), Tier::Gold.min_escrow());
    assert_eq!((job.committee_size, job.quorum), (7, 5));
    assert_eq!(job.status, job_status::POSTED);
    assert_eq!(job.runtime_id, edgerun_runtime::runtime_id());
    // The escrow is held by the job account on top of its rent.
    assert!(account.lamports >= Tier::Gold.min_escrow());

    // The bundle downloads from the relay, hashes to bundle_hash, and runs.
    let bundle = reqwest_get(&format!("{relay}/v1/bundles/{bundle_hash}"));
    assert_eq!(hex(blake3::hash(&bundle).as_bytes()), bundle_hash);
    let outcome = edgerun_runtime::run_bundle(&bundle).unwrap();
    assert_eq!(outcome.label(), "ok");

    // The relay's job route reads the same account over its RPC.
    let view: Value =
        serde_json::from_slice(&reqwest_get(&format!("{relay}/v1/jobs/{job_id}"))).unwrap();
    assert_eq!(view["status"], "Posted");
    assert_eq!(view["tier"], "Gold");
    assert_eq!(view["bundle_hash"], bundle_hash);
    assert_eq!(view["escrow_lamports"], Tier::Gold.min_escrow());
    assert_eq!(view["timeline"][0]["event"], "posted");
    let (code, body) = http_get(&format!("{relay}/v1/jobs/{}", "ab".repeat(32)));
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("job_not_found"), "{body}");

    // status answers; get says clearly that there is no output yet.
    let (ok, out, err) = edgerun(&home, &rpc, &relay, &["status", &job_id, "--json"]);
    assert!(ok, "{err}");
    let status: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(status["status"], "Posted");
    assert_eq!(status["tier"], "Gold");
    let (ok, _, err) = edgerun(
        &home,
        &rpc,
        &relay,
        &["get", &job_id, "-o", home.join("out").to_str().unwrap()],
    );
    assert!(!ok && err.contains("no published output yet"), "{err}");
    let (ok, _, err) = edgerun(&home, &rpc, &relay, &["status", "not-a-job"]);
    assert!(!ok && err.contains("64 hex characters"), "{err}");

    // A foreign client decodes the same accounts from the IDL alone.
    let node = Command::new("node")
        .arg(repo().join("tests/node/kit-read.mjs"))
        .args([
            rpc.as_str(),
            repo().join("program/idl/edgerun.json").to_str().unwrap(),
            job_id.as_str(),
        ])
        .output()
        .unwrap();
    assert!(
        node.status.success(),
        "{}",
        String::from_utf8_lossy(&node.stderr)
    );
    let kit: Value = serde_json::from_slice(&node.stdout).unwrap();
    let config_account = client
        .get_account(&edgerun_client::config_pda(&program_id).0)
        .unwrap();
    let config: GlobalConfig = edgerun_client::decode_account(&config_account.data).unwrap();
    assert_eq!(
        kit["config"]["params"]["treasury"],
        Address::new_from_array(config.params.treasury.0).to_string()
    );
    assert_eq!(
        kit["config"]["params"]["protocol_fee_bps"],
        config.params.protocol_fee_bps.get()
    );
    assert_eq!(kit["job"]["bundle_hash"], bundle_hash);
    assert_eq!(
        kit["job"]["escrow_lamports"],
        job.escrow_lamports.get().to_string()
    );
    assert_eq!(kit["job"]["committee_size"], 7);
    assert_eq!(kit["job"]["status"], job_status::POSTED);

    post_job_over_http(&home, &rpc, &relay, &wasm, &input, &client);
    relay_pays_fees_for_edgerun_transactions_only(&home, &relay, &client);

    drop(stack);
    let _ = std::fs::remove_dir_all(&home);
}

/// `POST /v1/jobs`: the unsigned-transaction flow (a wallet signs) and the
/// API-key flow (the relay posts), plus its refusals.
fn post_job_over_http(
    home: &Path,
    rpc: &str,
    relay: &str,
    wasm: &Path,
    input: &Path,
    chain: &solana_rpc_client::rpc_client::RpcClient,
) {
    use solana_signer::Signer;
    let customer = edgerun_localnet::read_keypair(&home.join("keys/customer.json")).unwrap();
    let api_key = std::fs::read_to_string(home.join("api-key")).unwrap();
    let wasm_bytes = std::fs::read(wasm).unwrap();
    let input_bytes = std::fs::read(input).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let post = |fields: Vec<(&'static str, Vec<u8>)>, key: Option<&str>| -> (u16, Value) {
        rt.block_on(async {
            let mut form = reqwest::multipart::Form::new();
            for (name, bytes) in fields {
                form = form.part(name, reqwest::multipart::Part::bytes(bytes).file_name(name));
            }
            let mut req = reqwest::Client::new()
                .post(format!("{relay}/v1/jobs"))
                .multipart(form);
            if let Some(key) = key {
                req = req.bearer_auth(key);
            }
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json().await.unwrap())
        })
    };
    let program_id = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);
    let job_on_chain = |job_id: &str| -> Job {
        let id = parse_hex(job_id).unwrap();
        let account = chain
            .get_account(&edgerun_client::job_pda(&program_id, &id).0)
            .unwrap();
        edgerun_client::decode_account(&account.data).unwrap()
    };

    // A wallet flow: the relay returns an unsigned transaction; we sign it.
    let (code, body) = post(
        vec![
            ("wasm", wasm_bytes.clone()),
            ("input", input_bytes.clone()),
            ("tier", b"silver".to_vec()),
            ("client", customer.pubkey().to_string().into_bytes()),
        ],
        None,
    );
    assert_eq!(code, 201, "{body}");
    let raw = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        body["transaction"].as_str().unwrap(),
    )
    .unwrap();
    let mut tx: solana_transaction::Transaction = bincode::deserialize(&raw).unwrap();
    let blockhash = tx.message.recent_blockhash;
    tx.sign(&[&customer], blockhash);
    chain.send_and_confirm_transaction(&tx).unwrap();
    let job = job_on_chain(body["job_id"].as_str().unwrap());
    assert_eq!((job.committee_size, job.quorum), (5, 3));
    assert_eq!(hex(&job.bundle_hash), body["bundle_hash"].as_str().unwrap());
    let bundle = reqwest_get(&format!("{relay}{}", body["bundle_url"].as_str().unwrap()));
    assert_eq!(
        hex(blake3::hash(&bundle).as_bytes()),
        body["bundle_hash"].as_str().unwrap()
    );

    // The API-key flow: the relay posts from the operator's account.
    let (code, body) = post(
        vec![("wasm", wasm_bytes.clone()), ("input", input_bytes.clone())],
        Some(&api_key),
    );
    assert_eq!(code, 201, "{body}");
    assert!(
        body["signature"].is_string() && body["transaction"].is_null(),
        "{body}"
    );
    let job = job_on_chain(body["job_id"].as_str().unwrap());
    assert_eq!(job.client.0, customer.pubkey().to_bytes());
    assert_eq!((job.committee_size, job.quorum), (3, 2));

    // Server-sent events follow that job: Posted now; the customer cancels
    // it; the stream reports Cancelled and ends.
    let job_id = body["job_id"].as_str().unwrap().to_string();
    let events = read_events(
        &rt,
        &format!("{relay}/v1/jobs/{job_id}/events"),
        "\"status\":\"Posted\"",
        || {
            let id = parse_hex(&job_id).unwrap();
            send_from_thread(
                chain,
                edgerun_client::cancel_job(&program_id, &customer.pubkey(), &id),
                &customer,
            );
        },
        |_| false,
    );
    let statuses: Vec<&str> = event_data(&events)
        .into_iter()
        .map(|v| {
            if v["status"] == "Posted" {
                "Posted"
            } else if v["status"] == "Cancelled" {
                "Cancelled"
            } else {
                "other"
            }
        })
        .collect();
    assert_eq!(statuses, ["Posted", "Cancelled"], "{events}");

    // Refusals: each a JSON error, nothing posted.
    let (code, body) = post(
        vec![("wasm", wasm_bytes.clone()), ("input", input_bytes.clone())],
        Some("wrong"),
    );
    assert_eq!(
        (code, body["code"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    let (code, body) = post(vec![("input", input_bytes.clone())], Some(&api_key));
    assert_eq!(
        (code, body["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let (code, body) = post(
        vec![("wasm", wasm_bytes.clone()), ("input", input_bytes.clone())],
        None,
    );
    assert_eq!(
        (code, body["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let float = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "_start")) (func (result f32) (f32.const 1)))"#).unwrap();
    let objects_before = std::fs::read_dir(home.join("relay/bundles"))
        .unwrap()
        .count();
    let (code, body) = post(
        vec![("wasm", float), ("input", b"x".to_vec())],
        Some(&api_key),
    );
    assert_eq!(
        (code, body["code"].as_str()),
        (422, Some("invalid_job")),
        "{body}"
    );
    assert_eq!(
        std::fs::read_dir(home.join("relay/bundles"))
            .unwrap()
            .count(),
        objects_before
    );
    let (code, body) = post(
        vec![
            ("wasm", wasm_bytes),
            ("input", input_bytes),
            ("tier", b"platinum".to_vec()),
        ],
        Some(&api_key),
    );
    assert_eq!(
        (code, body["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let _ = rpc;
}

fn http_get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = reqwest::get(url).await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

fn reqwest_get(url: &str) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = reqwest::get(url).await.unwrap();
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
        resp.bytes().await.unwrap().to_vec()
    })
}

/// `POST /v1/tx`: a worker registers with the relay paying the fee; foreign,
/// payer-touching, unsigned and malformed transactions are refused.
fn relay_pays_fees_for_edgerun_transactions_only(
    home: &Path,
    relay: &str,
    chain: &solana_rpc_client::rpc_client::RpcClient,
) {
    use solana_signer::Signer;
    let info: Value = serde_json::from_slice(&reqwest_get(&format!("{relay}/v1/info"))).unwrap();
    let fee_payer: Address = info["fee_payer"].as_str().unwrap().parse().unwrap();
    assert_eq!(info["runtime_id"], hex(&edgerun_runtime::runtime_id()));
    let worker = edgerun_localnet::read_keypair(&home.join("keys/worker-0.json")).unwrap();
    let program_id = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let submit = |tx: &solana_transaction::Transaction| -> (u16, Value) {
        let b64 = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            bincode::serialize(tx).unwrap(),
        );
        rt.block_on(async {
            let resp = reqwest::Client::new()
                .post(format!("{relay}/v1/tx"))
                .json(&serde_json::json!({ "transaction": b64 }))
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json().await.unwrap())
        })
    };
    let build = |ixs: &[solana_instruction::Instruction], signers: &[&solana_keypair::Keypair]| {
        let mut tx = solana_transaction::Transaction::new_with_payer(ixs, Some(&fee_payer));
        let blockhash = chain.get_latest_blockhash().unwrap();
        tx.partial_sign(signers, blockhash);
        tx
    };
    let payer_before = chain.get_balance(&fee_payer).unwrap();
    let worker_before = chain.get_balance(&worker.pubkey()).unwrap();

    // A worker registers; the relay pays only the fee.
    let register = edgerun_client::register_worker(
        &program_id,
        &worker.pubkey(),
        &worker.pubkey(),
        2_000_000_000,
    );
    let (code, body) = submit(&build(std::slice::from_ref(&register), &[&worker]));
    assert_eq!(code, 200, "{body}");
    assert!(body["signature"].is_string());
    let stake = chain
        .get_account(&edgerun_client::worker_stake_pda(&program_id, &worker.pubkey()).0)
        .unwrap();
    assert_eq!(stake.owner, program_id);
    let paid = payer_before - chain.get_balance(&fee_payer).unwrap();
    assert!(paid > 0 && paid <= 20_000, "the relay paid {paid} lamports");
    assert!(worker_before - chain.get_balance(&worker.pubkey()).unwrap() >= 2_000_000_000);

    // The relay reports the worker's stake, and streams its changes.
    let view: Value = serde_json::from_slice(&reqwest_get(&format!(
        "{relay}/v1/workers/{}",
        worker.pubkey()
    )))
    .unwrap();
    assert_eq!(view["total_stake_lamports"], 2_000_000_000u64);
    let (code, body) = http_get(&format!("{relay}/v1/workers/{}", fee_payer));
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("worker_not_found"), "{body}");
    let stakes = read_events(
        &rt,
        &format!("{relay}/v1/workers/{}/events", worker.pubkey()),
        "2000000000",
        || {
            let deposit = edgerun_client::deposit_stake(
                &program_id,
                &worker.pubkey(),
                &worker.pubkey(),
                1_000_000_000,
            );
            send_from_thread(chain, deposit, &worker);
        },
        |text| text.contains("3000000000"),
    );
    let totals: Vec<u64> = event_data(&stakes)
        .iter()
        .map(|v| v["total_stake_lamports"].as_u64().unwrap())
        .collect();
    assert_eq!(totals, [2_000_000_000, 3_000_000_000], "{stakes}");

    let steal = solana_instruction::Instruction {
        program_id: "11111111111111111111111111111111".parse().unwrap(),
        accounts: vec![
            solana_instruction::AccountMeta::new(fee_payer, true),
            solana_instruction::AccountMeta::new(worker.pubkey(), false),
        ],
        data: [
            2u32.to_le_bytes().as_slice(),
            1_000_000u64.to_le_bytes().as_slice(),
        ]
        .concat(),
    };
    // Each refused: a transfer out of the relay's account (a foreign
    // program), an edgerun instruction that names the relay's account, and
    // one without the worker's signature.
    let refused = [
        steal,
        edgerun_client::deposit_stake(&program_id, &fee_payer, &worker.pubkey(), 1),
        edgerun_client::deposit_stake(&program_id, &worker.pubkey(), &worker.pubkey(), 1),
    ];
    for ix in refused {
        let (code, body) = submit(&build(&[ix], &[]));
        assert_eq!(
            (code, body["code"].as_str()),
            (422, Some("tx_refused")),
            "{body}"
        );
    }
    // Not a transaction at all.
    let (code, body) = rt.block_on(async {
        let resp = reqwest::Client::new()
            .post(format!("{relay}/v1/tx"))
            .json(&serde_json::json!({ "transaction": "bm90IGEgdHg=" }))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
    });
    assert_eq!(
        (code, body["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    // Nothing above moved the relay's lamports beyond the one fee.
    assert_eq!(payer_before - chain.get_balance(&fee_payer).unwrap(), paid);
}

/// Sends one instruction signed and paid by `signer`. It runs on a plain
/// thread: the blocking RPC client cannot run on a test's async runtime.
fn send_from_thread(
    chain: &solana_rpc_client::rpc_client::RpcClient,
    ix: solana_instruction::Instruction,
    signer: &solana_keypair::Keypair,
) {
    use solana_signer::Signer;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let blockhash = chain.get_latest_blockhash().unwrap();
                let tx = solana_transaction::Transaction::new_signed_with_payer(
                    &[ix],
                    Some(&signer.pubkey()),
                    &[signer],
                    blockhash,
                );
                chain.send_and_confirm_transaction(&tx).unwrap();
            })
            .join()
            .unwrap();
    });
}

/// Reads a server-sent event stream (at most 30 s) until it ends or `done`
/// says so; the first time `trigger` appears in it, runs `act`. Returns the
/// text read.
fn read_events(
    rt: &tokio::runtime::Runtime,
    url: &str,
    trigger: &str,
    act: impl FnOnce(),
    done: impl Fn(&str) -> bool,
) -> String {
    use futures_util::StreamExt;
    rt.block_on(async {
        let resp = reqwest::get(url).await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut stream = resp.bytes_stream();
        let mut text = String::new();
        let mut act = Some(act);
        let read = async {
            while let Some(chunk) = stream.next().await {
                text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
                if text.contains(trigger)
                    && let Some(act) = act.take()
                {
                    act();
                }
                if done(&text) {
                    break;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .unwrap_or_else(|_| panic!("{url}: the event stream did not finish within 30 s"));
        text
    })
}

/// The JSON `data:` of each event in a server-sent event text.
fn event_data(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| serde_json::from_str(d.trim()).unwrap())
        .collect()
}
