//! `edgerun up` as a child of xtask (the demo and the stack bench), stopped
//! by PID: SIGTERM to `up` (which stops its scheduler and workers), then
//! any agent that outlived it, SIGKILL for whatever is left after 10 s.
//! Everything `up` and its agents print goes to `<home>/logs/up.out`, a
//! file rather than a pipe, so a stack left running (`--keep`) never
//! writes into a closed pipe.

use std::fs::File;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

/// How long `up` may take to write `<home>/stack.json`.
const UP_LIMIT: Duration = Duration::from_secs(120);

pub struct Options {
    /// Scheduler plus this many workers.
    pub workers: usize,
    /// Funded worker keys (at least `workers`).
    pub worker_keys: usize,
    pub slot_ms: u64,
    /// RPC and relay ports; `None`: free ones.
    pub ports: Option<(u16, u16)>,
}

pub struct Up {
    child: Option<Child>,
    /// `<home>/stack.json` as `up` wrote it (URLs, keys, agent PIDs).
    pub stack: Value,
}

impl Up {
    /// Starts `exe up` with `so` and waits until it has written its
    /// stack.json (the scheduler and workers are started by then).
    pub fn start(exe: &Path, home: &Path, so: &Path, opts: &Options) -> Result<Up> {
        let (rpc_port, relay_port) = match opts.ports {
            Some(p) => p,
            None => free_ports()?,
        };
        let logs = home.join("logs");
        std::fs::create_dir_all(&logs)?;
        let stack_file = home.join("stack.json");
        let _ = std::fs::remove_file(&stack_file);
        let child = Command::new(exe)
            .arg("--home")
            .arg(home)
            .arg("up")
            .args(["--rpc-port", &rpc_port.to_string()])
            .args(["--relay-port", &relay_port.to_string()])
            .args(["--slot-ms", &opts.slot_ms.to_string()])
            .args(["--workers", &opts.workers.to_string()])
            .args(["--worker-keys", &opts.worker_keys.to_string()])
            .arg("--program")
            .arg(so)
            .stdin(Stdio::null())
            .stdout(File::create(logs.join("up.out"))?)
            .stderr(File::create(logs.join("up.err"))?)
            .spawn()
            .with_context(|| format!("starting {} up", exe.display()))?;
        let mut up = Up {
            child: Some(child),
            stack: Value::Null,
        };
        let until = Instant::now() + UP_LIMIT;
        loop {
            if let Some(child) = up.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                up.child = None;
                let err = std::fs::read_to_string(logs.join("up.err")).unwrap_or_default();
                bail!("edgerun up exited ({status}): {}", err.trim());
            }
            if let Ok(text) = std::fs::read_to_string(&stack_file)
                && let Ok(v) = serde_json::from_str::<Value>(&text)
            {
                up.stack = v;
                return Ok(up);
            }
            ensure!(
                Instant::now() < until,
                "edgerun up did not write {} within {UP_LIMIT:?}; logs in {}",
                stack_file.display(),
                logs.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn rpc_url(&self) -> &str {
        self.stack["rpc"].as_str().unwrap_or_default()
    }

    pub fn relay_url(&self) -> &str {
        self.stack["relay"].as_str().unwrap_or_default()
    }

    /// Leaves the stack running; returns `up`'s PID.
    pub fn detach(mut self) -> u32 {
        self.child.take().map(|c| c.id()).unwrap_or(0)
    }

    /// The scheduler's and workers' PIDs, from stack.json.
    fn agent_pids(&self) -> Vec<(String, u32)> {
        self.stack["pids"]
            .as_object()
            .map(|o| {
                o.iter()
                    .filter_map(|(k, p)| Some((k.clone(), u32::try_from(p.as_u64()?).ok()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stops `up` and its agents; an error says what had to be killed.
    pub fn stop(mut self) -> Result<()> {
        self.stop_all()
    }

    fn stop_all(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let agents = self.agent_pids();
        signal(child.id(), SIGTERM);
        let killed_up = !wait_or_kill(&mut child, Duration::from_secs(10));
        let mut leftovers = Vec::new();
        for (name, pid) in agents {
            if is_edgerun(pid) {
                signal(pid, SIGTERM);
                leftovers.push((name, pid));
            }
        }
        let until = Instant::now() + Duration::from_secs(10);
        while leftovers.iter().any(|(_, p)| is_edgerun(*p)) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut killed = Vec::new();
        for (name, pid) in &leftovers {
            if is_edgerun(*pid) {
                signal(*pid, SIGKILL);
                killed.push(name.clone());
            }
        }
        ensure!(
            !killed_up && leftovers.is_empty(),
            "edgerun up {}; agents that outlived it: {leftovers:?}{}",
            if killed_up {
                "did not stop within 10 s and was killed"
            } else {
                "stopped"
            },
            if killed.is_empty() {
                String::new()
            } else {
                format!(", killed: {killed:?}")
            }
        );
        Ok(())
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if let Err(e) = self.stop_all() {
            eprintln!("edgerun up: {e:#}");
        }
    }
}

/// Waits up to `limit` for `child`; SIGKILL after. True when it exited
/// by itself.
fn wait_or_kill(child: &mut Child, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// Whether `pid` is a live (not zombie) `edgerun` process: a PID is only
/// signalled while it still names the process we know.
pub fn is_edgerun(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "<pid> (<comm>) <state> ..."
    let comm_ok = stat.contains("(edgerun)");
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, r)| r.trim().chars().next());
    comm_ok && state != Some('Z')
}

pub const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

pub fn signal(pid: u32, sig: i32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill(2) with a PID we started; no memory is involved.
        unsafe { kill(pid, sig) };
    }
}

unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

/// Two free ports on 127.0.0.1: the RPC port (whose next port, the
/// WebSocket's, must be free too) and the relay's.
fn free_ports() -> Result<(u16, u16)> {
    let free = || -> Result<u16> { Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()) };
    for _ in 0..20 {
        let rpc = free()?;
        let Some(ws) = rpc.checked_add(1) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", ws)).is_err() {
            continue;
        }
        let relay = free()?;
        if relay != rpc && relay != ws {
            return Ok((rpc, relay));
        }
    }
    bail!("no two free ports on 127.0.0.1")
}
