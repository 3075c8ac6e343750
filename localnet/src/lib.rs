//! The embedded local chain: surfpool-core on 127.0.0.1.
//!
//! [`Localnet::start`] runs a surfnet fully offline (no remote RPC, no
//! account fetching) with a pinned genesis hash and slots advancing in real
//! time, preloads the edgerun program at [`edgerun_protocol::LOCAL_PROGRAM_ID`]
//! (or none: a blank chain for `edgerun deploy`),
//! funds the demo [`Parties`], and serves standard Solana JSON-RPC and
//! WebSocket pubsub, so every client (ours, `@solana/kit`, the Solana CLI)
//! works against it unchanged. [`Localnet::bootstrap`] then creates the
//! edgerun config through a real transaction.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use edgerun_protocol::state::{ConfigParams, MAX_ALLOWED_RUNTIMES};
use solana_account::Account;
use solana_address::Address;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;
use surfpool_core::surfnet::svm::{SurfnetSvm, SurfnetSvmConfig};
use surfpool_types::{
    BlockProductionMode, RpcConfig, SimnetCommand, SimnetConfig, SimnetEvent, SurfpoolConfig,
};

/// UpgradeableLoaderState tags (bincode u32 LE): a program account names its
/// ProgramData account; ProgramData is the slot, the upgrade authority and
/// the code.
const PROGRAM_TAG: u32 = 2;
const PROGRAM_DATA_TAG: u32 = 3;
/// What the genesis hash is derived from (`blake3` of it), so every local
/// chain identifies as the same cluster.
pub const GENESIS_SEED: &str = "edgerun-localnet-v1";
/// Lamports each funded party starts with (1,000 SOL).
pub const FUNDING_LAMPORTS: u64 = 1_000_000_000_000;

/// How to start the chain.
#[derive(Clone, Debug)]
pub struct Options {
    /// JSON-RPC port on 127.0.0.1 (0: a free one).
    pub rpc_port: u16,
    /// WebSocket pubsub port (0: a free one).
    pub ws_port: u16,
    /// Wall-clock milliseconds per slot.
    pub slot_time_ms: u64,
    /// The program ELF to load at [`edgerun_protocol::LOCAL_PROGRAM_ID`];
    /// `None` starts a blank chain (as a cluster looks before `edgerun
    /// deploy`).
    pub program_so: Option<PathBuf>,
    /// The program's upgrade authority (loaded as the upgradeable loader
    /// deploys it): the only key that may initialize the config.
    pub upgrade_authority: Address,
    /// Addresses to fund with [`FUNDING_LAMPORTS`] at genesis.
    pub funded: Vec<Address>,
}

/// A running local chain. Stop it with [`Localnet::stop`] (dropping it
/// stops it too).
pub struct Localnet {
    pub rpc_url: String,
    pub ws_url: String,
    pub genesis_hash: String,
    commands: Sender<SimnetCommand>,
    runloop: Option<JoinHandle<()>>,
    drain: Option<JoinHandle<()>>,
    draining: Arc<AtomicBool>,
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The two accounts the upgradeable loader keeps for a deployed program:
/// ProgramData (slot 0, `authority`, the ELF) first, then the executable
/// program account naming it.
fn upgradeable_program(
    program: &Address,
    elf: &[u8],
    authority: &Address,
) -> [(Address, Account); 2] {
    let loader = edgerun_client::BPF_LOADER_UPGRADEABLE_ID;
    let data_address = edgerun_client::program_data_address(program);
    let mut data = Vec::with_capacity(45 + elf.len());
    data.extend_from_slice(&PROGRAM_DATA_TAG.to_le_bytes());
    data.extend_from_slice(&0u64.to_le_bytes());
    data.push(1);
    data.extend_from_slice(authority.as_ref());
    data.extend_from_slice(elf);
    let mut program_data = PROGRAM_TAG.to_le_bytes().to_vec();
    program_data.extend_from_slice(data_address.as_ref());
    // Rent at the default rate (3,480 lamports per byte-year, two years),
    // with the 128-byte account overhead.
    let rent = |len: usize| (len as u64 + 128) * 6_960;
    [
        (
            data_address,
            Account {
                lamports: rent(data.len()),
                data,
                owner: loader,
                executable: false,
                rent_epoch: 0,
            },
        ),
        (
            *program,
            Account {
                lamports: rent(program_data.len()),
                data: program_data,
                owner: loader,
                executable: true,
                rent_epoch: 0,
            },
        ),
    ]
}

/// The pinned genesis hash.
pub fn genesis_hash() -> solana_hash::Hash {
    solana_hash::Hash::new_from_array(*blake3::hash(GENESIS_SEED.as_bytes()).as_bytes())
}

impl Localnet {
    /// Starts the chain and waits until it serves RPC (at most 60 s).
    pub fn start(opts: &Options) -> Result<Localnet> {
        let elf = match &opts.program_so {
            Some(path) => Some(std::fs::read(path).with_context(|| {
                format!(
                    "reading the program {}; build it with `cargo xtask build-program`",
                    path.display()
                )
            })?),
            None => None,
        };
        let rpc_port = if opts.rpc_port == 0 {
            free_port()?
        } else {
            opts.rpc_port
        };
        let ws_port = if opts.ws_port == 0 {
            free_port()?
        } else {
            opts.ws_port
        };
        let (mut svm, events, geyser) = SurfnetSvm::new(SurfnetSvmConfig {
            slot_time: opts.slot_time_ms,
            ..SurfnetSvmConfig::default()
        })
        .map_err(|e| anyhow::anyhow!("creating the surfnet: {e:?}"))?;
        if let Some(elf) = &elf {
            let program = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);
            for (address, account) in upgradeable_program(&program, elf, &opts.upgrade_authority) {
                svm.set_account(&address, account)
                    .map_err(|e| anyhow::anyhow!("loading the program: {e:?}"))?;
            }
        }

        let config = SurfpoolConfig {
            simnets: vec![SimnetConfig {
                offline_mode: true,
                remote_rpc_url: None,
                slot_time: opts.slot_time_ms,
                block_production_mode: BlockProductionMode::Clock,
                airdrop_addresses: opts.funded.clone(),
                airdrop_token_amount: FUNDING_LAMPORTS,
                genesis_hash: Some(genesis_hash()),
                ..SimnetConfig::default()
            }],
            rpc: RpcConfig {
                bind_host: "127.0.0.1".to_string(),
                bind_port: rpc_port,
                ws_port,
                ..RpcConfig::default()
            },
            ..SurfpoolConfig::default()
        };
        let (commands, commands_rx) = unbounded();
        let commands_tx = commands.clone();
        let runloop = std::thread::Builder::new()
            .name("edgerun-localnet".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("tokio runtime for the local chain");
                if let Err(e) = rt.block_on(surfpool_core::start_local_surfnet(
                    svm,
                    config,
                    commands_tx,
                    commands_rx,
                    geyser,
                )) {
                    eprintln!("edgerun-localnet: the chain stopped: {e}");
                }
            })
            .context("spawning the chain thread")?;
        let mut net = Localnet {
            rpc_url: format!("http://127.0.0.1:{rpc_port}"),
            ws_url: format!("ws://127.0.0.1:{ws_port}"),
            genesis_hash: genesis_hash().to_string(),
            commands,
            runloop: Some(runloop),
            drain: None,
            draining: Arc::new(AtomicBool::new(true)),
        };
        wait_started(&events, Duration::from_secs(60))?;
        // Keep draining events: the channel is unbounded, and an undrained
        // one grows for as long as the chain runs. (The chain's RPC threads
        // hold senders past Terminate, so the drain stops on a flag.)
        let draining = net.draining.clone();
        net.drain = Some(
            std::thread::Builder::new()
                .name("edgerun-localnet-events".into())
                .spawn(move || {
                    while draining.load(Ordering::Relaxed) {
                        if let Err(RecvTimeoutError::Disconnected) =
                            events.recv_timeout(Duration::from_millis(100))
                        {
                            break;
                        }
                    }
                })
                .context("spawning the event drain")?,
        );
        net.wait_rpc(Duration::from_secs(30))?;
        Ok(net)
    }

    /// An RPC client at confirmed commitment (finalized costs ~32 slots per
    /// transaction here).
    pub fn rpc(&self) -> RpcClient {
        RpcClient::new_with_commitment(self.rpc_url.clone(), CommitmentConfig::confirmed())
    }

    fn wait_rpc(&self, limit: Duration) -> Result<()> {
        let rpc = self.rpc();
        let until = Instant::now() + limit;
        loop {
            match rpc.get_slot() {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > until => {
                    bail!(
                        "the local chain's RPC at {} did not answer: {e}",
                        self.rpc_url
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Creates the edgerun config (admin, scheduler, randomness authority,
    /// treasury from `parties`; runtime_ids allowed: `runtimes`).
    pub fn bootstrap(&self, parties: &Parties, runtimes: &[[u8; 32]]) -> Result<()> {
        self.bootstrap_with(parties, demo_params(parties, runtimes)?)
    }

    /// Creates the edgerun config with `params` (signed by `parties.admin`,
    /// who must be `params.admin`).
    pub fn bootstrap_with(&self, parties: &Parties, params: ConfigParams) -> Result<()> {
        let program = Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID);
        let ix = edgerun_client::initialize_config(&program, &parties.admin.pubkey(), params);
        let rpc = self.rpc();
        let blockhash = rpc.get_latest_blockhash().context("getLatestBlockhash")?;
        let tx = Transaction::new_signed_with_payer(
            &[ix],
            Some(&parties.admin.pubkey()),
            &[&parties.admin],
            blockhash,
        );
        rpc.send_and_confirm_transaction(&tx)
            .context("initialize_config on the local chain")?;
        Ok(())
    }

    /// Stops the chain and waits for its threads (at most 15 s).
    pub fn stop(mut self) -> Result<()> {
        self.terminate()
    }

    fn terminate(&mut self) -> Result<()> {
        let Some(runloop) = self.runloop.take() else {
            return Ok(());
        };
        let _ = self.commands.send(SimnetCommand::Terminate(None));
        let until = Instant::now() + Duration::from_secs(15);
        while !runloop.is_finished() {
            if Instant::now() > until {
                bail!("the local chain did not stop within 15 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        runloop
            .join()
            .map_err(|_| anyhow::anyhow!("the chain thread panicked"))?;
        self.draining.store(false, Ordering::Relaxed);
        if let Some(drain) = self.drain.take() {
            let _ = drain.join();
        }
        Ok(())
    }
}

impl Drop for Localnet {
    fn drop(&mut self) {
        if let Err(e) = self.terminate() {
            eprintln!("edgerun-localnet: {e}");
        }
    }
}

fn wait_started(events: &Receiver<SimnetEvent>, limit: Duration) -> Result<()> {
    let until = Instant::now() + limit;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(SimnetEvent::CoreStarted(_)) => return Ok(()),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {
                bail!("the local chain did not start within {limit:?}")
            }
            Err(RecvTimeoutError::Disconnected) => {
                bail!("the local chain stopped while starting (see its log above)")
            }
        }
    }
}

/// The demo's keys. Written as Solana JSON keypair files under
/// `<dir>/<name>.json`, so our CLI, the relay and the Solana CLI share them.
pub struct Parties {
    pub admin: Keypair,
    /// Signs assign/crank instructions (the scheduler).
    pub scheduler: Keypair,
    /// Sets job seeds.
    pub randomness: Keypair,
    pub treasury: Keypair,
    /// Posts jobs (the demo customer, and the relay's API-key account).
    pub customer: Keypair,
    /// Pays fees for transactions the relay co-signs.
    pub relay: Keypair,
    pub workers: Vec<Keypair>,
}

/// The keypair in `path` (Solana JSON format), created there if missing.
pub fn load_or_create(path: &Path) -> Result<Keypair> {
    if path.exists() {
        return read_keypair(path);
    }
    let key = Keypair::new();
    write_keypair(&key, path)?;
    Ok(key)
}

/// Writes a Solana JSON keypair file (mode 0600 on Unix).
pub fn write_keypair(key: &Keypair, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string(&key.to_bytes().to_vec())?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Reads a Solana JSON keypair file.
pub fn read_keypair(path: &Path) -> Result<Keypair> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("no keypair readable at {}", path.display()))?;
    let bytes: Vec<u8> = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a Solana keypair file (a JSON array of 64 bytes)",
            path.display()
        )
    })?;
    Keypair::try_from(bytes.as_slice()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

impl Parties {
    /// Loads the parties from `dir`, creating any that are missing.
    pub fn load_or_create(dir: &Path, workers: usize) -> Result<Parties> {
        let key = |name: &str| load_or_create(&dir.join(format!("{name}.json")));
        Ok(Parties {
            admin: key("admin")?,
            scheduler: key("scheduler")?,
            randomness: key("randomness")?,
            treasury: key("treasury")?,
            customer: key("customer")?,
            relay: key("relay")?,
            workers: (0..workers)
                .map(|i| key(&format!("worker-{i}")))
                .collect::<Result<_>>()?,
        })
    }

    /// Every address the demo funds at genesis. The treasury too: it must
    /// already be rent-exempt to receive a fee smaller than the rent
    /// minimum (a Bronze job's 2.5% of 0.01 SOL is 250,000 lamports).
    pub fn funded(&self) -> Vec<Address> {
        [
            &self.admin,
            &self.scheduler,
            &self.randomness,
            &self.treasury,
            &self.customer,
            &self.relay,
        ]
        .into_iter()
        .chain(&self.workers)
        .map(|k| k.pubkey())
        .collect()
    }
}

/// The demo config: the protocol's defaults
/// ([`ConfigParams::with_defaults`]) for the demo parties.
pub fn demo_params(parties: &Parties, runtimes: &[[u8; 32]]) -> Result<ConfigParams> {
    if runtimes.is_empty() || runtimes.len() > MAX_ALLOWED_RUNTIMES {
        bail!(
            "between 1 and {MAX_ALLOWED_RUNTIMES} runtime ids, got {}",
            runtimes.len()
        );
    }
    let key = |k: &Keypair| k.pubkey().to_bytes();
    Ok(ConfigParams::with_defaults(
        key(&parties.admin),
        key(&parties.scheduler),
        key(&parties.randomness),
        key(&parties.treasury),
        runtimes,
    ))
}
