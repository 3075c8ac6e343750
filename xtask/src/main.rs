//! `cargo xtask`: the project's automation (see docs/xtask.md).

mod demo;
mod fuzz;
mod idl;
mod jobs;
mod paths;
mod portal;
mod proc;
mod program;
mod relay;
mod runtime;
mod setup;
mod stack;
mod test;
mod up;
mod worker_web;
mod www;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    about = "edgerun project automation"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install every pinned tool that is missing (idempotent).
    Setup {
        /// Stream install output to stderr (it always goes to <tools>/logs/<step>.log).
        #[arg(short, long)]
        verbose: bool,
        /// List the steps and exit.
        #[arg(long)]
        list: bool,
        /// Run only these steps.
        steps: Vec<String>,
    },
    /// Build the on-chain program to <target>/deploy/edgerun_program.so.
    BuildProgram,
    /// Build every job in jobs/ to <target>/jobs/<name>.wasm and check it (no floats, ABI imports/exports).
    BuildJobs,
    /// Compute units of every instruction (3/2 and 9/6 jobs in LiteSVM); writes <target>/cu.json.
    Cu,
    /// The lamport-conservation property test at 10,000 random sequences.
    Soak {
        /// Number of random instruction sequences.
        #[arg(long, default_value_t = 10_000)]
        cases: u32,
    },
    /// Generate program/idl/edgerun.json (Anchor format) from the protocol.
    Idl {
        /// Fail if the checked-in IDL is stale instead of writing it.
        #[arg(long)]
        check: bool,
    },
    /// Run the runtime's cargo-fuzz targets, one after another (installs cargo-fuzz on first use).
    Fuzz {
        /// Minutes per target.
        #[arg(long, default_value_t = 5)]
        minutes: u64,
        /// Only these targets (default: all).
        targets: Vec<String>,
    },
    /// Build edgerun-runtime-js (wasm32 + wasm-bindgen) to <target>/runtime-js/<nodejs|web>/.
    BuildRuntimeJs {
        /// The browser flavour (`--target web`) instead of Node's.
        #[arg(long)]
        web: bool,
    },
    /// Build the browser/edge worker (edgerun-worker-web + JS glue) to <target>/worker-web/.
    BuildWorkerWeb,
    /// Build the customer portal (edgerun-portal, Leptos) to <target>/portal/.
    BuildPortal,
    /// Build the website (landing, trust, pricing; edgerun-www) to <target>/www/.
    BuildWww,
    /// Rebuild tests/vectors/ (bundles + vectors.json) from tests/vectors/src/ and the built jobs.
    Vectors,
    /// Every conformance vector through the wasm32 runtime under Node, both engines, vs native.
    VectorsNode,
    /// Benchmarks; `runtime` writes <target>/bench/runtime.json, `relay` <target>/bench/relay.json,
    /// `stack` <target>/bench/stack.json, `browser` <target>/bench/browser.json,
    /// `edge` <target>/bench/edge.json, `portal` <target>/bench/portal.json, `www`
    /// <target>/bench/www.json.
    Bench {
        /// What to measure: runtime, relay, stack, browser, edge, portal or www.
        what: String,
        /// stack: jobs posted at once.
        #[arg(long, default_value_t = 24)]
        jobs: usize,
        /// stack: native workers (`edgerun up --workers`).
        #[arg(long, default_value_t = 6)]
        workers: usize,
    },
    /// Set up, build, start the local stack with a scheduler and 7 workers, post both demo jobs, follow them to Finalized, fetch and verify the outputs, print who was paid.
    Demo {
        /// Leave the stack running afterwards.
        #[arg(long)]
        keep: bool,
        /// JSON-RPC port (the WebSocket port is the next one).
        #[arg(long, default_value_t = 8899)]
        rpc_port: u16,
        /// Relay port.
        #[arg(long, default_value_t = 8080)]
        relay_port: u16,
    },
    /// Browser suites: `vectors` (every conformance vector in Chromium and Firefox, both paths)
    /// or `e2e` (browser workers against `edgerun up --workers 0`).
    Browser {
        /// vectors or e2e.
        what: String,
    },
    /// Edge suites: `vectors` (every conformance vector inside workerd) or `e2e` (edge workers
    /// in workerd against `edgerun up --workers 0`).
    Edge {
        /// vectors or e2e.
        what: String,
    },
    /// The portal in Chromium against a local stack (`e2e`).
    Portal {
        /// e2e.
        what: String,
    },
    /// The website in Chromium against a local stack (`e2e`).
    Www {
        /// e2e.
        what: String,
    },
    /// Run every curl example of docs/api.md against a local stack, checking each output.
    ApiDocs,
    /// The TypeScript SDK's tests (node --test) against a local stack (`test`).
    Sdk {
        /// test.
        what: String,
    },
    /// Run setup, then every test suite (or only the named ones).
    Test {
        /// Do not run setup first.
        #[arg(long)]
        skip_setup: bool,
        /// List the suites and exit.
        #[arg(long)]
        list: bool,
        /// Run only these suites.
        suites: Vec<String>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Cmd::Setup {
            verbose,
            list,
            steps,
        } => {
            if list {
                for step in setup::steps() {
                    println!("{:<20} {}", step.name, step.version);
                }
                return Ok(true);
            }
            setup::run(&setup::Ctx::new(verbose), &steps)?;
            Ok(true)
        }
        Cmd::Cu => {
            program::build()?;
            program::cargo_in_repo(&["run", "-p", "edgerun-tests", "--bin", "cu"], &[])
        }
        Cmd::Soak { cases } => {
            program::build()?;
            let cases = cases.to_string();
            program::cargo_in_repo(
                &[
                    "test",
                    "-p",
                    "edgerun-tests",
                    "--test",
                    "program_conservation",
                    "--",
                    "--nocapture",
                ],
                &[("EDGERUN_CONSERVATION_CASES", cases.as_str())],
            )
        }
        Cmd::Idl { check } => {
            idl::run(check)?;
            Ok(true)
        }
        Cmd::BuildJobs => {
            jobs::build()?;
            Ok(true)
        }
        Cmd::Fuzz { minutes, targets } => fuzz::run(minutes, &targets),
        Cmd::BuildRuntimeJs { web } => {
            runtime::build_js(if web { "web" } else { "nodejs" })?;
            Ok(true)
        }
        Cmd::BuildWorkerWeb => {
            worker_web::build()?;
            Ok(true)
        }
        Cmd::BuildPortal => {
            portal::build()?;
            Ok(true)
        }
        Cmd::BuildWww => {
            www::build()?;
            Ok(true)
        }
        Cmd::Browser { what } => match what.as_str() {
            "vectors" => worker_web::vectors(),
            "e2e" => worker_web::e2e(),
            other => anyhow::bail!("unknown browser suite {other:?}; there are: vectors, e2e"),
        },
        Cmd::Edge { what } => match what.as_str() {
            "vectors" => worker_web::edge_vectors(),
            "e2e" => worker_web::edge_e2e(),
            other => anyhow::bail!("unknown edge suite {other:?}; there are: vectors, e2e"),
        },
        Cmd::Portal { what } => match what.as_str() {
            "e2e" => portal::e2e(),
            other => anyhow::bail!("unknown portal suite {other:?}; there is: e2e"),
        },
        Cmd::ApiDocs => www::api_docs(),
        Cmd::Sdk { what } => match what.as_str() {
            "test" => www::sdk_test(),
            other => anyhow::bail!("unknown sdk suite {other:?}; there is: test"),
        },
        Cmd::Www { what } => match what.as_str() {
            "e2e" => www::e2e(),
            other => anyhow::bail!("unknown www suite {other:?}; there is: e2e"),
        },
        Cmd::Vectors => runtime::write_vectors(),
        Cmd::VectorsNode => runtime::vectors_node(),
        Cmd::Bench {
            what,
            jobs,
            workers,
        } => match what.as_str() {
            "runtime" => runtime::bench(),
            "relay" => relay::bench(),
            "stack" => stack::bench(jobs, workers),
            "browser" => worker_web::bench(),
            "edge" => worker_web::bench_edge(),
            "portal" => portal::bench(),
            "www" => www::bench(),
            other => anyhow::bail!(
                "unknown benchmark {other:?}; there are: runtime, relay, stack, browser, edge, portal, www"
            ),
        },
        Cmd::Demo {
            keep,
            rpc_port,
            relay_port,
        } => demo::run(keep, rpc_port, relay_port),
        Cmd::BuildProgram => {
            program::build()?;
            Ok(true)
        }
        Cmd::Test {
            skip_setup,
            list,
            suites,
        } => {
            if list {
                for suite in test::suites() {
                    let when = suite
                        .only_if
                        .map(|p| format!("  (only if {p} exists)"))
                        .unwrap_or_default();
                    println!("{:<20} {}{when}", suite.name, suite.command.join(" "));
                }
                return Ok(true);
            }
            test::run(skip_setup, &suites)
        }
    }
}
