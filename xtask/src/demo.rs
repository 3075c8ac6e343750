//! `cargo xtask demo`: the whole product on 127.0.0.1 in one command.
//!
//! Sets up what is missing, builds the program, the demo jobs and the
//! `edgerun` binary, starts `edgerun up --workers 7` (chain, relay,
//! scheduler, seven native workers), posts both demo jobs (json-redact at
//! Bronze, compress-hash at Gold), follows them to Finalized, downloads and
//! verifies both outputs, and prints for each the job id, output hash and
//! URL, committee, and who was paid what. `--keep` leaves the stack running.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{jobs, paths, proc, program, setup};

/// Committee members the Gold job needs.
const WORKERS: usize = 7;
/// A job not finalized within this is reported with its state and logs.
const LIMIT: Duration = Duration::from_secs(180);

struct Demo {
    exe: PathBuf,
    home: PathBuf,
    rpc: String,
    relay: String,
}

impl Demo {
    fn edgerun(&self, args: &[&str]) -> Result<String> {
        proc::stdout_of(
            Command::new(&self.exe)
                .arg("--home")
                .arg(&self.home)
                .args(["--rpc", &self.rpc, "--relay", &self.relay])
                .args(args),
        )
    }

    fn status(&self, job: &str) -> Result<Value> {
        let out = self.edgerun(&["status", job, "--json"])?;
        serde_json::from_str(out.trim()).context("edgerun status --json")
    }
}

/// The `edgerun up` process: SIGTERM (it stops its scheduler and workers),
/// then SIGKILL after 15 s.
struct Up(Option<Child>);

impl Up {
    fn stop(&mut self) {
        let Some(mut child) = self.0.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn run(keep: bool, rpc_port: u16, relay_port: u16) -> Result<bool> {
    setup::run(&setup::Ctx::new(false), &[])?;
    let so = program::build()?;
    jobs::build()?;
    let repo = paths::repo_root();
    proc::run(
        Command::new(env!("CARGO")).current_dir(&repo).args([
            "build",
            "-q",
            "-p",
            "edgerun-cli",
            "--bin",
            "edgerun",
        ]),
        "building edgerun",
    )?;
    let exe = paths::target_dir().join("debug/edgerun");
    let home = repo.join(".edgerun");
    std::fs::create_dir_all(&home)?;
    let log = home.join("up.log");
    let _ = std::fs::remove_file(home.join("stack.json"));
    let started = Instant::now();
    let child = Command::new(&exe)
        .arg("--home")
        .arg(&home)
        .args(["up", "--workers", &WORKERS.to_string()])
        .args(["--worker-keys", "9", "--slot-ms", "200"])
        .args(["--rpc-port", &rpc_port.to_string()])
        .args(["--relay-port", &relay_port.to_string()])
        .arg("--program")
        .arg(&so)
        .stdin(Stdio::null())
        .stdout(File::create(&log)?)
        .stderr(File::create(home.join("up.err"))?)
        .spawn()
        .context("starting edgerun up")?;
    let mut up = Up(Some(child));
    let stack = wait_for_stack(&home, &mut up)?;
    let demo = Demo {
        exe,
        home: home.clone(),
        rpc: stack["rpc"].as_str().unwrap_or_default().to_owned(),
        relay: stack["relay"].as_str().unwrap_or_default().to_owned(),
    };
    println!(
        "stack up in {:.1?}: chain {}, relay {}, scheduler + {WORKERS} workers (logs: {})",
        started.elapsed(),
        demo.rpc,
        demo.relay,
        log.display()
    );

    let jobs_dir = paths::target_dir().join("jobs");
    let posts = [
        (
            "json-redact",
            jobs_dir.join("json-redact.wasm"),
            repo.join("tests/vectors/src/inputs/redact-profile.json"),
            "bronze",
        ),
        (
            "compress-hash",
            jobs_dir.join("compress-hash.wasm"),
            repo.join("docs/protocol.md"),
            "gold",
        ),
    ];
    let mut ids = Vec::new();
    for (name, wasm, input, tier) in &posts {
        let out = demo.edgerun(&[
            "post",
            "--wasm",
            path_str(wasm)?,
            "--input",
            path_str(input)?,
            "--tier",
            tier,
            "--json",
        ])?;
        let posted: Value = serde_json::from_str(out.trim()).context("edgerun post --json")?;
        let id = posted["job_id"].as_str().unwrap_or_default().to_owned();
        println!("posted {name} at {tier}: job {id}");
        ids.push((name.to_string(), id, Instant::now()));
    }

    // Follow both to Finalized, printing each status change.
    let mut last: Vec<String> = vec![String::new(); ids.len()];
    let until = Instant::now() + LIMIT;
    loop {
        let mut done = true;
        for (i, (name, id, posted)) in ids.iter().enumerate() {
            let status = demo.status(id)?;
            let now = status["status"].as_str().unwrap_or("?").to_owned();
            if now != last[i] {
                println!("  {name}: {now} ({:.1?})", posted.elapsed());
                last[i] = now.clone();
            }
            if now == "Cancelled" {
                bail!("job {id} ({name}) was cancelled: {status}");
            }
            done &= now == "Finalized";
        }
        if done {
            break;
        }
        if Instant::now() > until {
            bail!(
                "not finalized within {LIMIT:?} (last seen: {last:?}); see {} and `edgerun status <job>`",
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }

    for (name, id, _) in &ids {
        let out_file = home.join(format!("{name}.out"));
        let got = demo.edgerun(&["get", id, "-o", path_str(&out_file)?])?;
        let status = demo.status(id)?;
        println!("\n{name}");
        println!("  job_id       {id}");
        println!(
            "  output_hash  {}",
            status["winning_output_hash"].as_str().unwrap_or("-")
        );
        println!(
            "  output_url   {}",
            status["output"]["url"].as_str().unwrap_or("-")
        );
        println!("  verified     {}", got.trim());
        let committee: Vec<&str> = status["committee"]
            .as_array()
            .map(|seats| seats.iter().filter_map(|s| s["worker"].as_str()).collect())
            .unwrap_or_default();
        println!(
            "  committee    {}/{}: {}",
            status["committee_size"],
            status["quorum"],
            committee.join(" ")
        );
        let settlement = &status["settlement"];
        for p in settlement["paid"].as_array().into_iter().flatten() {
            println!(
                "  paid         {} lamports to {} (stake)",
                p["lamports"],
                p["to"].as_str().unwrap_or("?")
            );
        }
        println!(
            "  paid         {} lamports to the treasury {} (fee and remainder)",
            settlement["treasury_lamports"],
            stack["treasury"].as_str().unwrap_or("")
        );
        for (what, list) in [("slashed", "slashed"), ("penalized", "penalized")] {
            for p in settlement[list].as_array().into_iter().flatten() {
                println!(
                    "  {what:<12} {} lamports from {}",
                    p["lamports"],
                    p["worker"].as_str().unwrap_or("?")
                );
            }
        }
    }

    if keep {
        let pid = up.0.as_ref().map(|c| c.id()).unwrap_or(0);
        up.0 = None;
        println!(
            "\nThe stack keeps running (edgerun up, pid {pid}): chain {}, relay {}. Stop it with `kill {pid}`.",
            demo.rpc, demo.relay
        );
    } else {
        up.stop();
        println!("\nstack stopped (pass --keep to leave it running)");
    }
    Ok(true)
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .with_context(|| format!("{} is not UTF-8", p.display()))
}

/// Waits for `edgerun up` to write `<home>/stack.json`.
fn wait_for_stack(home: &Path, up: &mut Up) -> Result<Value> {
    let path = home.join("stack.json");
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(child) = up.0.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            let err = std::fs::read_to_string(home.join("up.err")).unwrap_or_default();
            bail!("edgerun up exited ({status}): {}", err.trim());
        }
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(v) = serde_json::from_str::<Value>(&text)
        {
            return Ok(v);
        }
        if Instant::now() > until {
            bail!("edgerun up did not write {} within 60 s", path.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
