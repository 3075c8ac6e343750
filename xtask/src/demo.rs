//! `cargo xtask demo`: the whole product on 127.0.0.1 in one command.
//!
//! Sets up what is missing, builds the program, the demo jobs and the
//! `edgerun` binary, starts `edgerun up --workers 7` (chain, relay,
//! scheduler, seven native workers), posts both demo jobs (json-redact at
//! Bronze, compress-hash at Gold), follows them to Finalized, downloads and
//! verifies both outputs, and prints for each the job id, output hash and
//! URL, committee, and who was paid what. `--keep` leaves the stack running.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::up::{Options, Up};
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

pub fn run(keep: bool, rpc_port: u16, relay_port: u16) -> Result<bool> {
    setup::run(&setup::Ctx::new(false), &[])?;
    let so = program::build()?;
    jobs::build()?;
    // The customer portal, which `edgerun up` serves at /app/.
    crate::portal::build()?;
    // The website (landing with "Run a job", trust, pricing) at /.
    crate::www::build()?;
    let repo = paths::repo_root();
    proc::run(
        Command::new(env!("CARGO")).current_dir(&repo).args([
            "build",
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
    let started = Instant::now();
    let up = Up::start(
        &exe,
        &home,
        &so,
        &Options {
            workers: WORKERS,
            worker_keys: 9,
            slot_ms: 200,
            ports: Some((rpc_port, relay_port)),
        },
    )?;
    let log = home.join("logs/up.out");
    let stack = up.stack.clone();
    let demo = Demo {
        exe,
        home: home.clone(),
        rpc: up.rpc_url().to_owned(),
        relay: up.relay_url().to_owned(),
    };
    println!(
        "stack up in {:.1?}: chain {}, relay {}, scheduler + {WORKERS} workers (logs: {})",
        started.elapsed(),
        demo.rpc,
        demo.relay,
        log.display()
    );
    println!(
        "website: {}/ (press \"Run a job\"; /trust, /pricing)",
        demo.relay
    );
    println!(
        "portal: {}/app/ (connect a Wallet Standard wallet to post)",
        demo.relay
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
        let pid = up.detach();
        println!(
            "\nThe stack keeps running (edgerun up, pid {pid}): chain {}, relay {}, portal {}/app/. Stop it with `kill {pid}`.",
            demo.rpc, demo.relay, demo.relay
        );
    } else {
        up.stop()?;
        println!("\nstack stopped (pass --keep to leave it running)");
    }
    Ok(true)
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .with_context(|| format!("{} is not UTF-8", p.display()))
}
