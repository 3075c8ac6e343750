//! The embedded chain through real JSON-RPC on 127.0.0.1: it starts offline
//! with the program loaded, funds the parties, takes a real initialize_config
//! transaction, serves getProgramAccounts, advances slots in real time, and
//! stops.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use edgerun_localnet::{FUNDING_LAMPORTS, Localnet, Options, Parties, genesis_hash};
use edgerun_protocol::state::GlobalConfig;
use solana_address::Address;
use solana_signer::Signer;

fn program_so() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let so = target.join("deploy/edgerun_program.so");
    assert!(
        so.exists(),
        "{} is missing: run `cargo xtask build-program`",
        so.display()
    );
    so
}

#[test]
fn the_local_chain_serves_the_program_and_the_config_over_rpc() {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("edgerun-localnet-test-{}", std::process::id()));
    let parties = Parties::load_or_create(&dir, 2).unwrap();
    let net = Localnet::start(&Options {
        rpc_port: 0,
        ws_port: 0,
        slot_time_ms: 100,
        program_so: Some(program_so()),
        funded: parties.funded(),
        upgrade_authority: parties.admin.pubkey(),
    })
    .unwrap();
    assert!(net.rpc_url.starts_with("http://127.0.0.1:"));
    let startup = started.elapsed();
    let rpc = net.rpc();

    // Pinned genesis, the program loaded and executable, the parties funded.
    assert_eq!(rpc.get_genesis_hash().unwrap(), genesis_hash());
    let program = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);
    assert!(rpc.get_account(&program).unwrap().executable);
    assert_eq!(
        rpc.get_balance(&parties.customer.pubkey()).unwrap(),
        FUNDING_LAMPORTS
    );
    assert_eq!(
        rpc.get_balance(&parties.workers[1].pubkey()).unwrap(),
        FUNDING_LAMPORTS
    );

    // A real transaction: initialize_config, then the account decodes.
    net.bootstrap(&parties, &[[7u8; 32]]).unwrap();
    let config_address = edgerun_client::config_pda(&program).0;
    let account = rpc.get_account(&config_address).unwrap();
    assert_eq!(account.owner, program);
    let config: GlobalConfig = edgerun_client::decode_account(&account.data).unwrap();
    assert_eq!(config.params.admin.0, parties.admin.pubkey().to_bytes());
    assert_eq!(
        config.params.treasury.0,
        parties.treasury.pubkey().to_bytes()
    );
    assert_eq!(config.params.allowed_runtime_ids[0], [7u8; 32]);
    // getProgramAccounts sees it.
    let owned = rpc.get_program_accounts(&program).unwrap();
    assert!(owned.iter().any(|(k, _)| *k == config_address));
    // A second initialize_config is refused by the program (a different
    // transaction: surfpool hangs confirming a byte-identical resend).
    let err = net.bootstrap(&parties, &[[8u8; 32]]).unwrap_err();
    assert!(
        format!("{err:#}").contains("custom program error"),
        "{err:#}"
    );

    // Slots advance in real time (100 ms each).
    let a = rpc.get_slot().unwrap();
    std::thread::sleep(Duration::from_millis(1_000));
    let b = rpc.get_slot().unwrap();
    assert!(b >= a + 5, "slots {a} -> {b} in 1 s");

    net.stop().unwrap();
    eprintln!("local chain ready in {startup:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
