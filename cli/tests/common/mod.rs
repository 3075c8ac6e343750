//! What the end-to-end tests share: the real `edgerun` binary, free ports
//! on 127.0.0.1, and processes stopped by PID however a test ends.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub const EDGERUN: &str = env!("CARGO_BIN_EXE_edgerun");

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Ports for `edgerun up`: the RPC port, whose next port (the WebSocket's)
/// is free too, and a different relay port.
pub fn stack_ports() -> (u16, u16) {
    loop {
        let rpc = free_port();
        let Some(ws) = rpc.checked_add(1) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", ws)).is_err() {
            continue;
        }
        let relay = free_port();
        if relay != rpc && relay != ws {
            return (rpc, relay);
        }
    }
}

/// A child process, stopped by PID (SIGTERM, then SIGKILL after 10 s)
/// when dropped.
pub struct Proc(pub Child);

impl Proc {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// SIGKILL: the process dies mid-step, as a crash or power loss would.
    pub fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.0.try_wait() {
            return;
        }
        unsafe { libc_kill(self.0.id() as i32, 15) };
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Runs `edgerun` against a stack; returns (success, stdout, stderr).
pub fn edgerun(home: &Path, rpc: &str, relay: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(EDGERUN)
        .args([
            "--home",
            home.to_str().unwrap(),
            "--rpc",
            rpc,
            "--relay",
            relay,
        ])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A started `edgerun up`: its process, home, URLs, ready line and
/// stack.json.
pub struct Up {
    pub proc: Proc,
    pub home: PathBuf,
    pub rpc: String,
    pub relay: String,
    /// The line `up` prints when ready.
    pub ready: String,
    pub stack: serde_json::Value,
}

/// Starts `edgerun up` in a fresh `<tmp>/edgerun-e2e-<name>-<pid>` on free
/// ports with the built program and `args`; waits (60 s at most) for its
/// ready line. Its output goes to `<home>/logs/up.out` and `up.err`.
pub fn up(name: &str, args: &[&str]) -> Up {
    let program = target().join("deploy/edgerun_program.so");
    assert!(program.exists(), "run `cargo xtask build-program` first");
    let home = std::env::temp_dir().join(format!("edgerun-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(home.join("logs")).unwrap();
    let (rpc_port, relay_port) = stack_ports();
    let mut full = vec![
        "up".to_owned(),
        "--rpc-port".to_owned(),
        rpc_port.to_string(),
        "--relay-port".to_owned(),
        relay_port.to_string(),
        "--program".to_owned(),
        program.to_str().unwrap().to_owned(),
    ];
    full.extend(args.iter().map(|a| (*a).to_owned()));
    start(
        home,
        &full,
        format!("http://127.0.0.1:{rpc_port}"),
        relay_port,
    )
}

/// Starts `edgerun up --attach` in `home` (whose keys the chain funded)
/// against the chain at `rpc` and the program at `program`, with `args`.
pub fn attach(home: &Path, rpc: &str, program: &str, args: &[&str]) -> Up {
    std::fs::create_dir_all(home.join("logs")).unwrap();
    let relay_port = free_port();
    let mut full = vec![
        "--rpc".to_owned(),
        rpc.to_owned(),
        "--program-id".to_owned(),
        program.to_owned(),
        "up".to_owned(),
        "--attach".to_owned(),
        "--relay-port".to_owned(),
        relay_port.to_string(),
    ];
    full.extend(args.iter().map(|a| (*a).to_owned()));
    start(home.to_path_buf(), &full, rpc.to_owned(), relay_port)
}

/// Runs `edgerun --home <home> <args>` (an `up`) and waits for its ready
/// line.
fn start(home: PathBuf, args: &[String], rpc: String, relay_port: u16) -> Up {
    use std::io::{BufRead, BufReader, Write};
    let mut child = Command::new(EDGERUN)
        .args(["--home", home.to_str().unwrap()])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(home.join("logs/up.err")).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let proc = Proc(child);
    let mut log = std::fs::File::create(home.join("logs/up.out")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = writeln!(log, "{line}");
            if line.starts_with("edgerun up: chain") {
                let _ = tx.send(line);
            }
        }
    });
    let ready = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            panic!(
                "edgerun up did not get ready in 60 s: {}",
                std::fs::read_to_string(home.join("logs/up.err")).unwrap_or_default()
            )
        });
    let stack =
        serde_json::from_str(&std::fs::read_to_string(home.join("stack.json")).unwrap()).unwrap();
    Up {
        proc,
        rpc,
        relay: format!("http://127.0.0.1:{relay_port}"),
        home,
        ready,
        stack,
    }
}
