//! Issue 13, end to end: the program deployed the way a cluster takes it.
//! A blank embedded chain (no program preloaded, as devnet looks to a
//! newcomer), `edgerun deploy` over plain JSON-RPC (upgradeable loader:
//! buffer, writes, deploy; then initialize_config by the upgrade
//! authority), a relay, scheduler and workers attached to it with the
//! deployed program id, a job to Finalized there, a second deploy that
//! upgrades in place, and clients pointed at a wrong program id refusing
//! with a message that says so.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{edgerun, repo, target};
use edgerun_client::Address;
use edgerun_localnet::{Localnet, Options, Parties};
use edgerun_protocol::hash::parse_hex;
use edgerun_protocol::state::{Job, job_status};
use serde_json::Value;
use solana_rpc_client::rpc_client::RpcClient;
use solana_signer::Signer;

fn deploy(home: &std::path::Path, rpc: &str, extra: &[&str]) -> Value {
    let so = target().join("deploy/edgerun_program.so");
    let keys = home.join("keys");
    let mut args = vec![
        "deploy",
        "--program-keypair",
        home.join("program.json")
            .to_str()
            .unwrap()
            .to_owned()
            .leak(),
        "--admin",
        keys.join("admin.json").to_str().unwrap().to_owned().leak(),
        "--program",
        so.to_str().unwrap().to_owned().leak(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let (ok, out, err) = edgerun(home, rpc, "http://127.0.0.1:9", &args);
    assert!(ok, "edgerun deploy failed: {err}");
    serde_json::from_str(out.trim()).unwrap()
}

/// The ProgramData account's deploy slot.
fn deployed_slot(chain: &RpcClient, program: &Address) -> u64 {
    let data = chain
        .get_account(&edgerun_client::program_data_address(program))
        .unwrap()
        .data;
    u64::from_le_bytes(data[4..12].try_into().unwrap())
}

fn wait_finalized(chain: &RpcClient, program: &Address, id: &[u8; 32]) -> Job {
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        let account = chain.get_account(&edgerun_client::job_pda(program, id).0);
        if let Ok(account) = account {
            let job: Job = edgerun_client::decode_account(&account.data).unwrap();
            assert_ne!(job.status, job_status::CANCELLED, "the job was cancelled");
            if job.status == job_status::FINALIZED {
                return job;
            }
        }
        assert!(
            Instant::now() < until,
            "the job did not finalize within 90 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn deployed_to_a_blank_chain_a_job_finalizes_there_and_a_second_deploy_upgrades() {
    let home: PathBuf =
        std::env::temp_dir().join(format!("edgerun-e2e-deploy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(home.join("logs")).unwrap();
    let parties = Parties::load_or_create(&home.join("keys"), 3).unwrap();
    let net = Localnet::start(&Options {
        rpc_port: 0,
        ws_port: 0,
        slot_time_ms: 100,
        program_so: None,
        funded: parties.funded(),
        upgrade_authority: parties.admin.pubkey(),
    })
    .unwrap();
    let rpc = net.rpc_url.clone();
    let chain = RpcClient::new_with_commitment(
        rpc.clone(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    let local = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID).to_string();
    let job_zero = "0".repeat(64);

    // A blank chain: the local demo address holds nothing, and a client
    // pointed at it says so instead of waiting for jobs that cannot exist.
    let (ok, _, err) = edgerun(
        &home,
        &rpc,
        "http://127.0.0.1:9",
        &["--program-id", &local, "status", &job_zero],
    );
    assert!(!ok);
    assert!(
        err.contains(&format!("no edgerun program at {local}")) && err.contains("edgerun deploy"),
        "{err}"
    );

    // Deploy: the program id is the program keypair's address.
    let program_key = edgerun_localnet::load_or_create(&home.join("program.json")).unwrap();
    let program = program_key.pubkey();
    let scheduler = parties.scheduler.pubkey().to_string();
    let randomness = parties.randomness.pubkey().to_string();
    let treasury = parties.treasury.pubkey().to_string();
    let first = deploy(
        &home,
        &rpc,
        &[
            "--scheduler",
            &scheduler,
            "--randomness",
            &randomness,
            "--treasury",
            &treasury,
        ],
    );
    eprintln!("first deploy: {first}");
    assert_eq!(first["program_id"], program.to_string());
    assert_eq!(first["upgraded"], false);
    assert_eq!(first["config_created"], true);
    assert_eq!(first["scheduler_authority"], scheduler);
    let account = chain.get_account(&program).unwrap();
    assert!(account.executable);
    assert_eq!(account.owner, edgerun_client::BPF_LOADER_UPGRADEABLE_ID);
    let first_slot = deployed_slot(&chain, &program);

    // A relay, the scheduler and three workers on that chain, with the
    // deployed id; a job runs to Finalized at the deployed address.
    let up = common::attach(&home, &rpc, &program.to_string(), &["--workers", "3"]);
    assert_eq!(up.stack["program_id"], program.to_string());
    let wasm = target().join("jobs/json-redact.wasm");
    let input = repo().join("tests/vectors/src/inputs/redact-profile.json");
    // The program id comes from the relay's /v1/info.
    let (ok, out, err) = edgerun(
        &home,
        &rpc,
        &up.relay,
        &[
            "post",
            "--wasm",
            wasm.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--fuel",
            "500000000",
            "--json",
        ],
    );
    assert!(ok, "post failed: {err}");
    let posted: Value = serde_json::from_str(out.trim()).unwrap();
    let id = parse_hex(posted["job_id"].as_str().unwrap()).unwrap();
    let job = wait_finalized(&chain, &program, &id);
    eprintln!(
        "finalized job {} on the deployed program {program}",
        posted["job_id"].as_str().unwrap()
    );
    let out_file = home.join("out.json");
    let (ok, _, err) = edgerun(
        &home,
        &rpc,
        &up.relay,
        &[
            "get",
            posted["job_id"].as_str().unwrap(),
            "-o",
            out_file.to_str().unwrap(),
        ],
    );
    assert!(ok, "get failed: {err}");
    assert_eq!(
        *blake3::hash(&std::fs::read(&out_file).unwrap()).as_bytes(),
        job.winning_output_hash
    );

    // A client given a wrong program id refuses, naming it.
    let wrong = Address::new_unique().to_string();
    let (ok, _, err) = edgerun(
        &home,
        &rpc,
        &up.relay,
        &[
            "--program-id",
            &wrong,
            "status",
            posted["job_id"].as_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert!(
        err.contains(&format!("no edgerun program at {wrong}")),
        "{err}"
    );

    // A second deploy upgrades in place and keeps the config.
    let config_before = chain
        .get_account(&edgerun_client::config_pda(&program).0)
        .unwrap()
        .data;
    let second = deploy(&home, &rpc, &[]);
    eprintln!("second deploy: {second}");
    assert_eq!(second["upgraded"], true);
    assert_eq!(second["config_created"], false);
    assert!(deployed_slot(&chain, &program) > first_slot, "redeployed");
    assert_eq!(
        chain
            .get_account(&edgerun_client::config_pda(&program).0)
            .unwrap()
            .data,
        config_before,
        "the config is left as it was"
    );
    drop(up);
    net.stop().unwrap();
}
