//! A customer living in the CLI, against `edgerun up --workers 3` with the
//! real binaries: `estimate` equals the protocol's arithmetic on the
//! chain's config; `post --wait --download` prints the price, follows the
//! job to Finalized and writes the verified output; `verify` redraws the
//! committee and checks the output; a key with no SOL is refused before
//! anything is uploaded; `cancel` takes back a job no committee can take
//! (Silver with three workers) and refunds it; `jobs` lists the customer's
//! jobs; a stranger cannot cancel someone else's job.

use std::time::Duration;

use edgerun_protocol::economics::split_payout_with_minimum;
use edgerun_protocol::hash::parse_hex;
use edgerun_protocol::state::GlobalConfig;
use edgerun_protocol::tier::Tier;
use serde_json::Value;
use solana_address::Address;

mod common;

use common::{edgerun, repo, target};

fn json(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

#[test]
fn estimate_post_wait_verify_cancel_and_list() {
    let wasm = target().join("jobs/json-redact.wasm");
    assert!(wasm.exists(), "run `cargo xtask build-jobs` first");
    let input = repo().join("tests/vectors/src/inputs/redact-profile.json");
    let common::Up {
        proc: _stack,
        home,
        rpc,
        relay,
        ..
    } = common::up("customer", &["--slot-ms", "100", "--workers", "3"]);
    let cli = |args: &[&str]| edgerun(&home, &rpc, &relay, args);
    let client = solana_rpc_client::rpc_client::RpcClient::new_with_commitment(
        rpc.clone(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    let program = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);

    // estimate: the protocol's figures on the chain's own config.
    let (ok, out, err) = cli(&["estimate", "--tier", "bronze", "--json"]);
    assert!(ok, "estimate failed: {err}");
    let e = json(&out);
    let config: GlobalConfig = edgerun_client::decode_account(
        &client
            .get_account(&edgerun_client::config_pda(&program).0)
            .unwrap()
            .data,
    )
    .unwrap();
    let p = config.params;
    let escrow = Tier::Bronze.default_escrow();
    let all = split_payout_with_minimum(
        escrow,
        p.protocol_fee_bps.get(),
        p.min_job_fee_lamports.get(),
        3,
    )
    .unwrap();
    let quorum = split_payout_with_minimum(
        escrow,
        p.protocol_fee_bps.get(),
        p.min_job_fee_lamports.get(),
        2,
    )
    .unwrap();
    assert_eq!(e["escrow_lamports"], escrow);
    assert_eq!(e["protocol_fee_lamports"], all.fee);
    assert_eq!(e["per_worker_all_agree_lamports"], all.per_winner);
    assert_eq!(e["per_worker_quorum_only_lamports"], quorum.per_winner);
    assert_eq!(
        (e["committee"].as_u64(), e["quorum"].as_u64()),
        (Some(3), Some(2))
    );

    // A key with no SOL is refused before anything is uploaded.
    let poor = home.join("keys/poor.json");
    let key = solana_keypair::Keypair::new();
    std::fs::write(
        &poor,
        serde_json::to_string(&key.to_bytes().to_vec()).unwrap(),
    )
    .unwrap();
    let bundles = || {
        std::fs::read_dir(home.join("relay/bundles"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let before = bundles();
    let (ok, _, err) = cli(&[
        "post",
        "--wasm",
        wasm.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--keypair",
        poor.to_str().unwrap(),
    ]);
    assert!(
        !ok && err.contains("insufficient balance") && err.contains("Nothing was uploaded"),
        "{err}"
    );
    assert_eq!(bundles(), before, "nothing was uploaded");

    // post --wait --download: the price first, then each step, then the
    // verified output.
    let out_file = home.join("out.json");
    let (ok, out, err) = cli(&[
        "post",
        "--wasm",
        wasm.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--fuel",
        "500000000",
        "--wait",
        "--download",
        out_file.to_str().unwrap(),
        "--timeout-s",
        "120",
    ]);
    assert!(ok, "post --wait failed: {err}\n{out}");
    for line in [
        "protocol fee",
        "you need",
        "status        Finalized",
        "verified",
    ] {
        assert!(out.contains(line), "post prints {line:?}:\n{out}");
    }
    let job_id = out
        .lines()
        .find_map(|l| l.strip_prefix("job_id"))
        .map(|s| s.trim().to_string())
        .expect("a job id");
    let (ok, status, _) = cli(&["status", &job_id, "--json"]);
    assert!(ok);
    let status = json(&status);
    let written = std::fs::read(&out_file).unwrap();
    assert_eq!(
        edgerun_runtime::hex(blake3::hash(&written).as_bytes()),
        status["winning_output_hash"].as_str().unwrap(),
        "the downloaded output is the committee's"
    );

    // verify: the committee redrawn, the output checked.
    let (ok, out, err) = cli(&["verify", &job_id, "--json"]);
    assert!(ok, "verify failed: {err}");
    let v = json(&out);
    assert_eq!(v["committee_verified"], true);
    assert_eq!(v["draws"].as_array().unwrap().len(), 1);
    assert_eq!(v["draws"][0]["workers"].as_array().unwrap().len(), 3);
    assert_eq!(v["output"]["verified"], true);
    assert_eq!(v["seed"], status["seed"]);

    // cancel: a Silver job cannot get five workers from three; it stays
    // Seeded and its client takes it back.
    let (ok, out, err) = cli(&[
        "post",
        "--wasm",
        wasm.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--tier",
        "silver",
        "--json",
    ]);
    assert!(ok, "silver post failed: {err}");
    let silver = json(&out)["job_id"].as_str().unwrap().to_string();
    // Someone else cannot.
    let (ok, _, err) = cli(&["cancel", &silver, "--keypair", poor.to_str().unwrap()]);
    assert!(!ok && err.contains("only its client can cancel"), "{err}");
    std::thread::sleep(Duration::from_millis(500));
    let (ok, out, err) = cli(&["cancel", &silver, "--json"]);
    assert!(ok, "cancel failed: {err}");
    let c = json(&out);
    assert!(
        c["refunded_lamports"].as_u64().unwrap() >= Tier::Silver.default_escrow(),
        "the escrow came back: {c}"
    );
    let (_, status, _) = cli(&["status", &silver, "--json"]);
    assert_eq!(json(&status)["status"], "Cancelled");
    // A cancelled job cannot be cancelled again.
    let (ok, _, err) = cli(&["cancel", &silver]);
    assert!(!ok && err.contains("only while Posted or Seeded"), "{err}");

    // jobs: both, newest first.
    let (ok, out, err) = cli(&["jobs", "--json"]);
    assert!(ok, "jobs failed: {err}");
    let list = json(&out);
    let ids: Vec<&str> = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [silver.as_str(), job_id.as_str()], "{list}");
    assert_eq!(list["jobs"][0]["status"], "Cancelled");
    assert_eq!(list["jobs"][1]["status"], "Finalized");
    assert!(parse_hex(&job_id).is_ok());
}
