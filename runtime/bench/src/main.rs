//! `cargo xtask bench runtime`: one run, every engine side by side.
//!
//! For each workload (the two demo jobs and the CPU-heavy loop guest) the
//! same input runs:
//! - natively (the job crate called as a Rust library);
//! - through edgerun-runtime (validate + instrument + wasmi, fuel off);
//! - as the raw module on wasmi with wasmi's own fuel metering, and plain;
//! - instrumented by finite-wasm 0.6 (gas through host intrinsics) on wasmi;
//! - under Node: wasmi compiled to wasm (edgerun-runtime-js) and the
//!   instrumented module on Node's own engine (runtime/js/bench.mjs).
//!
//! Every variant must produce the same output, or the bench fails. Times are
//! medians of repeated runs in this one process; ratios are what count.
//! Writes `<out>/runtime.json` with `instrumented_vs_raw_wasmi`,
//! `native_rust_vs_runtime` and `node_engine_vs_wasmi_in_wasm` (geometric
//! means over the workloads) plus the per-workload figures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use edgerun_protocol::bundle::Bundle;
use edgerun_protocol::limits::Limits;
use edgerun_runtime::raw::{self, Baseline};
use edgerun_runtime::{Wasmi, run_with};
use finite_wasm::wasmparser as wp;
use serde_json::{Value, json};

struct Workload {
    name: &'static str,
    job: &'static str,
    input: Vec<u8>,
    native: fn(&[u8]) -> Vec<u8>,
}

/// A customer-records document with redaction rules, about `records` × 150 bytes.
fn redact_input(records: usize) -> Vec<u8> {
    let mut doc = String::from(
        r#"{"rules":[{"path":"records.*.email","action":"mask"},{"path":"records.*.ssn","action":"hash"},{"path":"records.*.debug","action":"drop"}],"document":{"records":["#,
    );
    for i in 0..records {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&format!(
            r#"{{"id":{i},"name":"Customer {i}","email":"c{i}@example.com","ssn":"{:03}-{:02}-{:04}","balance":{}.{:02},"tags":["a","b{}"],"debug":{{"t":{}}}}}"#,
            i % 1000,
            i % 100,
            i % 10_000,
            i * 37 % 100_000,
            i % 100,
            i % 7,
            i % 2 == 0
        ));
    }
    doc.push_str("]}}");
    doc.into_bytes()
}

fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "json-redact 300 KB",
            job: "json-redact",
            input: redact_input(2_000),
            native: edgerun_job_json_redact::run,
        },
        Workload {
            name: "compress-hash 512 KB",
            job: "compress-hash",
            input: edgerun_runtime::sample_log_lines(512 << 10),
            native: edgerun_job_compress_hash::run,
        },
        Workload {
            name: "cpu-loop 3M",
            job: "cpu-loop",
            input: b"3000000".to_vec(),
            native: edgerun_job_cpu_loop::run,
        },
    ]
}

/// Median wall time of each of `fs`, run in interleaved rounds: at least 5
/// rounds and about `budget` in all.
fn rounds<const N: usize>(budget: Duration, fs: &mut [&mut dyn FnMut(); N]) -> [Duration; N] {
    let mut times: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::new());
    let started = Instant::now();
    while times[0].len() < 5 || (started.elapsed() < budget && times[0].len() < 50) {
        for (f, t) in fs.iter_mut().zip(times.iter_mut()) {
            let at = Instant::now();
            f();
            t.push(at.elapsed());
        }
    }
    times.map(|mut t| {
        t.sort();
        t[t.len() / 2]
    })
}

struct GasOne;
macro_rules! fee_one {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(fn $visit(&mut self $($(, $arg: $argty)*)?) -> finite_wasm::Fee {
            $($(let _ = $arg;)*)?
            // finite-wasm requires `end` to be free.
            if stringify!($op) == "End" { finite_wasm::Fee::ZERO } else { finite_wasm::Fee::constant(1) }
        })*
    };
}
impl<'a> wp::VisitOperator<'a> for GasOne {
    type Output = finite_wasm::Fee;
    fn simd_visitor(
        &mut self,
    ) -> Option<&mut dyn wp::VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }
    wp::for_each_visit_operator!(fee_one);
}
// finite-wasm's gas config requires the SIMD visitor too (never reached: the
// validator refuses SIMD).
impl<'a> wp::VisitSimdOperator<'a> for GasOne {
    wp::for_each_visit_simd_operator!(fee_one);
}
struct Slots;
impl finite_wasm::max_stack::SizeConfig for Slots {
    fn size_of_value(&self, _: wp::ValType) -> u8 {
        8
    }
    fn size_of_function_activation(
        &self,
        locals: &finite_wasm::prefix_sum_vec::PrefixSumVec<wp::ValType, u32>,
    ) -> u64 {
        u64::from(locals.max_index().map(|&v| v + 1).unwrap_or(0)) * 8 + 128
    }
}

fn finite_wasm_instrument(wasm: &[u8]) -> Result<Vec<u8>> {
    let analysis = finite_wasm::Analysis::new()
        .with_stack(Slots)
        .with_gas(GasOne)
        .analyze(wasm)
        .context("finite-wasm analysis")?;
    analysis
        .instrument(raw::finite_wasm_env(), wasm)
        .context("finite-wasm instrumentation")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn geomean(xs: &[f64]) -> f64 {
    (xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp()
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut jobs, mut out, mut node_js, mut browser, mut edge) = (None, None, None, None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--jobs" => jobs = args.next().map(PathBuf::from),
            "--out" => out = args.next().map(PathBuf::from),
            "--node-js" => node_js = args.next().map(PathBuf::from),
            "--browser" => browser = args.next().map(PathBuf::from),
            "--edge" => edge = args.next().map(PathBuf::from),
            other => bail!(
                "unknown argument {other}; usage: --jobs DIR --out DIR [--node-js DIR] [--browser WORKER_WEB_DIR] [--edge WORKER_WEB_DIR]"
            ),
        }
    }
    let jobs = jobs.context("--jobs DIR (built job wasm) is required")?;
    let out = out.context("--out DIR is required")?;
    let bundles = out.join("bundles");
    std::fs::create_dir_all(&bundles)?;
    let limits = Limits::new(256 << 20, 50_000_000_000, 64 << 20);
    let budget = Duration::from_secs(6);

    let mut rows = Vec::new();
    for w in workloads() {
        let wasm = std::fs::read(jobs.join(format!("{}.wasm", w.job)))
            .with_context(|| format!("{}.wasm in {}", w.job, jobs.display()))?;
        // Correctness first: every variant gives the native output.
        let native = (w.native)(&w.input);
        let ours = run_with(&Wasmi, &wasm, &w.input, &limits)?;
        ensure!(ours.is_ok(), "{}: runtime outcome {}", w.name, ours.label());
        ensure!(
            ours.output == native,
            "{}: runtime output differs from native",
            w.name
        );
        let finite = finite_wasm_instrument(&wasm)?;
        let mut consumed = [0u64; 3];
        for (i, (b, module)) in [
            (Baseline::WasmiFuel, &wasm),
            (Baseline::Plain, &wasm),
            (Baseline::FiniteWasm, &finite),
        ]
        .into_iter()
        .enumerate()
        {
            let r = raw::run(module, &w.input, &limits, b)?;
            ensure!(r.output == native, "{}: {b:?} output differs", w.name);
            consumed[i] = r.consumed;
        }
        let [wasmi_fuel, _, finite_gas] = consumed;
        // Then time them in interleaved rounds, so background load hits
        // every variant alike.
        let run_raw = |b: Baseline, m: &[u8]| {
            raw::run(m, &w.input, &limits, b).expect("ran above");
        };
        let [t_native, t_prepare, t_ours, t_fuel, t_plain, t_finite] = rounds(
            budget,
            &mut [
                &mut || drop((w.native)(&w.input)),
                &mut || drop(edgerun_runtime::prepare(&wasm, &limits)),
                &mut || drop(run_with(&Wasmi, &wasm, &w.input, &limits)),
                &mut || run_raw(Baseline::WasmiFuel, &wasm),
                &mut || run_raw(Baseline::Plain, &wasm),
                &mut || run_raw(Baseline::FiniteWasm, &finite),
            ],
        );

        let bundle = Bundle {
            runtime_id: edgerun_runtime::runtime_id(),
            limits,
            wasm: &wasm,
            input: &w.input,
        }
        .encode()?;
        let file = bundles.join(format!("{}.bundle", w.job));
        std::fs::write(&file, &bundle)?;

        rows.push(json!({
            "workload": w.name,
            "output_hash": hex(&edgerun_protocol::hash::output_hash(&native)),
            "bundle": file,
            "input_bytes": w.input.len(),
            "fuel_ours": ours.fuel_used,
            "fuel_wasmi": wasmi_fuel,
            "gas_finite_wasm": finite_gas,
            "ms": {
                "native": ms(t_native),
                "runtime": ms(t_ours),
                "runtime_prepare": ms(t_prepare),
                "wasmi_fuel": ms(t_fuel),
                "wasmi_plain": ms(t_plain),
                "finite_wasm": ms(t_finite),
            },
            "instrumented_vs_raw_wasmi": t_fuel.as_secs_f64() / t_ours.as_secs_f64(),
            "instrumented_vs_plain_wasmi": t_plain.as_secs_f64() / t_ours.as_secs_f64(),
            "finite_wasm_vs_ours": t_finite.as_secs_f64() / t_ours.as_secs_f64(),
            "native_rust_vs_runtime": t_ours.as_secs_f64() / t_native.as_secs_f64(),
        }));
    }

    if let Some(js) = node_js {
        node(&js, &mut rows)?;
    }
    if let Some(build) = &browser {
        in_browser(build, &mut rows)?;
    }
    let ping_ms = match &edge {
        Some(build) => Some(in_workerd(build, &mut rows)?),
        None => None,
    };

    let mean = |key: &str| -> Option<f64> {
        let xs: Vec<f64> = rows.iter().filter_map(|r| r[key].as_f64()).collect();
        (xs.len() == rows.len()).then(|| geomean(&xs))
    };
    let summary = json!({
        "instrumented_vs_raw_wasmi": mean("instrumented_vs_raw_wasmi"),
        "native_rust_vs_runtime": mean("native_rust_vs_runtime"),
        "node_engine_vs_wasmi_in_wasm": mean("node_engine_vs_wasmi_in_wasm"),
        "finite_wasm_vs_ours": mean("finite_wasm_vs_ours"),
        "instrumented_vs_plain_wasmi": mean("instrumented_vs_plain_wasmi"),
        "workloads": rows,
    });
    print_table(&summary);
    if let Some(ping_ms) = ping_ms {
        let per_ms: Vec<f64> = rows
            .iter()
            .filter_map(|r| r["fuel_per_cpu_ms"].as_f64())
            .collect();
        let slowest = per_ms.iter().copied().fold(f64::INFINITY, f64::min);
        // The largest fuel cap an edge worker takes a seat for: the slowest
        // workload's fuel per millisecond, over half the assumed
        // per-invocation CPU limit (the rest is for fetching, preparing,
        // signing and the platform's own variance).
        let max_bronze_fuel = (slowest * EDGE_CPU_LIMIT_MS as f64 / 2.0).floor() as u64;
        let edge = json!({
            "edge_vs_native_rust": mean("edge_vs_native_rust"),
            "edge_vs_native_edgerun": mean("edge_vs_native_edgerun"),
            "fuel_per_cpu_ms": slowest,
            "max_bronze_fuel": max_bronze_fuel,
            "assumed_cpu_limit_ms": EDGE_CPU_LIMIT_MS,
            "ping_ms": ping_ms,
            "workloads": summary["workloads"],
        });
        println!(
            "\nedge (workerd, wasmi-in-wasm; time / native Rust time, geomean): edge_vs_native_rust {:.1}  edge_vs_native_edgerun {:.1}  fuel_per_cpu_ms {:.0} (slowest workload)  max_bronze_fuel {} (half of an assumed {} ms CPU limit per invocation)",
            edge["edge_vs_native_rust"].as_f64().unwrap_or(f64::NAN),
            edge["edge_vs_native_edgerun"].as_f64().unwrap_or(f64::NAN),
            slowest,
            max_bronze_fuel,
            EDGE_CPU_LIMIT_MS,
        );
        let path = out.join("edge.json");
        std::fs::write(&path, serde_json::to_string_pretty(&edge)? + "\n")?;
        println!("wrote {}", path.display());
        return Ok(());
    }
    if browser.is_some() {
        let browser = json!({
            "browser_engine_vs_native_rust": mean("browser_engine_vs_native_rust"),
            "wasmi_in_wasm_vs_native_rust": mean("wasmi_in_wasm_vs_native_rust"),
            "browser_engine_vs_native_edgerun": mean("browser_engine_vs_native_edgerun"),
            "browser_engine_first_vs_native_rust": mean("browser_engine_first_vs_native_rust"),
            "workloads": summary["workloads"],
        });
        let s = |k: &str| {
            browser[k]
                .as_f64()
                .map_or("-".to_string(), |v| format!("{v:.2}"))
        };
        println!(
            "\nbrowser (time / native Rust time, geomean): browser_engine_vs_native_rust {} (goal <= 2; first run of each wasm {})  wasmi_in_wasm_vs_native_rust {}  browser_engine_vs_native_edgerun {}",
            s("browser_engine_vs_native_rust"),
            s("browser_engine_first_vs_native_rust"),
            s("wasmi_in_wasm_vs_native_rust"),
            s("browser_engine_vs_native_edgerun"),
        );
        let path = out.join("browser.json");
        std::fs::write(&path, serde_json::to_string_pretty(&browser)? + "\n")?;
        println!("wrote {}", path.display());
        return Ok(());
    }
    let path = out.join("runtime.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)? + "\n")?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Runs runtime/js/bench.mjs over the bundles and merges its timings.
fn node(js: &Path, rows: &mut [Value]) -> Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../js/bench.mjs");
    let bundles: Vec<String> = rows
        .iter()
        .map(|r| r["bundle"].as_str().unwrap().to_string())
        .collect();
    let output = Command::new("node")
        .arg(&script)
        .arg(js)
        .args(&bundles)
        .output()
        .context("running node (Node 20 is required)")?;
    ensure!(
        output.status.success(),
        "node bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> =
        serde_json::from_slice(&output.stdout).context("node bench output")?;
    for (row, r) in rows.iter_mut().zip(results) {
        let (wasm, host) = (r["wasmi_in_wasm_ms"].as_f64(), r["node_engine_ms"].as_f64());
        let (Some(wasm), Some(host)) = (wasm, host) else {
            bail!("node bench gave {r}");
        };
        ensure!(
            r["same_outcome"] == true,
            "wasmi-in-wasm and Node's engine disagree on {}",
            row["workload"]
        );
        ensure!(
            r["fuel_used"] == row["fuel_ours"],
            "Node fuel {} differs from native {} on {}",
            r["fuel_used"],
            row["fuel_ours"],
            row["workload"]
        );
        row["ms"]["wasmi_in_wasm_node"] = json!(wasm);
        row["ms"]["node_engine"] = json!(host);
        row["node_engine_vs_wasmi_in_wasm"] = json!(wasm / host);
        row["wasmi_in_wasm_vs_native_runtime"] =
            json!(wasm / row["ms"]["runtime"].as_f64().unwrap());
    }
    Ok(())
}

/// Runs worker-web/tests/bench.mjs (Chromium, a Web Worker, worker-web's
/// runJob on the browser's engine and on wasmi-in-wasm) over the bundles
/// and merges its timings; both paths must give the native output hash and
/// fuel.
fn in_browser(build: &Path, rows: &mut [Value]) -> Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worker-web/tests/bench.mjs");
    let bundles: Vec<String> = rows
        .iter()
        .map(|r| r["bundle"].as_str().unwrap().to_string())
        .collect();
    let output = Command::new("node")
        .arg(&script)
        .arg(build)
        .args(&bundles)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running node (Node 20 is required)")?;
    ensure!(
        output.status.success(),
        "the browser bench failed (see above)"
    );
    let results: Vec<Value> =
        serde_json::from_slice(&output.stdout).context("browser bench output")?;
    ensure!(
        results.len() == rows.len(),
        "the browser bench skipped bundles"
    );
    for (row, r) in rows.iter_mut().zip(results) {
        for path in ["engine", "wasmi"] {
            let ran = &r[path];
            ensure!(
                ran["outcome"] == "ok" && ran["output_hash"] == row["output_hash"],
                "{} in the browser ({path}): {ran} differs from native {}",
                row["workload"],
                row["output_hash"]
            );
            ensure!(
                ran["fuel_used"] == row["fuel_ours"],
                "{}: browser fuel ({path}) {} differs from native {}",
                row["workload"],
                ran["fuel_used"],
                row["fuel_ours"]
            );
        }
        ensure!(
            r["engine"]["engine"] == "host" && r["wasmi"]["engine"] == "wasmi",
            "{}: the paths ran on {} and {}",
            row["workload"],
            r["engine"]["engine"],
            r["wasmi"]["engine"]
        );
        let (engine, wasmi) = (r["engine_ms"].as_f64(), r["wasmi_ms"].as_f64());
        let (Some(engine), Some(wasmi)) = (engine, wasmi) else {
            bail!("browser bench gave {r}");
        };
        let native = row["ms"]["native"].as_f64().unwrap();
        let ours = row["ms"]["runtime"].as_f64().unwrap();
        row["ms"]["browser_engine"] = json!(engine);
        if let Some(first) = r["engine_first_ms"].as_f64() {
            row["ms"]["browser_engine_first"] = json!(first);
            row["browser_engine_first_vs_native_rust"] = json!(first / native);
        }
        row["ms"]["browser_wasmi"] = json!(wasmi);
        row["browser"] = r["browser"].clone();
        row["browser_engine_vs_native_rust"] = json!(engine / native);
        row["wasmi_in_wasm_vs_native_rust"] = json!(wasmi / native);
        row["browser_engine_vs_native_edgerun"] = json!(engine / ours);
    }
    Ok(())
}

/// The CPU time one edge invocation may use, as assumed for
/// `max_bronze_fuel`: Cloudflare Workers' default on paid plans (30 s; the
/// free plan's 10 ms fits no job).
const EDGE_CPU_LIMIT_MS: u64 = 30_000;

/// Runs worker-web/tests/edge-bench.mjs (standalone workerd, worker-web's
/// runJob on wasmi-in-wasm) over the bundles and merges its timings; the
/// outcome, output hash and fuel must be native's. Returns the round trip
/// of an empty request, which each time includes.
fn in_workerd(build: &Path, rows: &mut [Value]) -> Result<f64> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worker-web/tests/edge-bench.mjs");
    let bundles: Vec<String> = rows
        .iter()
        .map(|r| r["bundle"].as_str().unwrap().to_string())
        .collect();
    let output = Command::new("node")
        .arg(&script)
        .arg(build)
        .args(&bundles)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running node (Node 20 is required)")?;
    ensure!(output.status.success(), "the edge bench failed (see above)");
    let result: Value = serde_json::from_slice(&output.stdout).context("edge bench output")?;
    let results = result["rows"].as_array().context("edge bench rows")?;
    ensure!(
        results.len() == rows.len(),
        "the edge bench skipped bundles"
    );
    for (row, r) in rows.iter_mut().zip(results) {
        ensure!(
            r["outcome"] == "ok"
                && r["output_hash"] == row["output_hash"]
                && r["engine"] == "wasmi",
            "{} in workerd: {r} differs from native {}",
            row["workload"],
            row["output_hash"]
        );
        ensure!(
            r["fuel_used"] == row["fuel_ours"],
            "{}: workerd fuel {} differs from native {}",
            row["workload"],
            r["fuel_used"],
            row["fuel_ours"]
        );
        let edge = r["edge_ms"].as_f64().context("edge_ms")?;
        let native = row["ms"]["native"].as_f64().unwrap();
        let ours = row["ms"]["runtime"].as_f64().unwrap();
        let fuel = row["fuel_ours"].as_f64().unwrap();
        row["ms"]["edge"] = json!(edge);
        row["edge_vs_native_rust"] = json!(edge / native);
        row["edge_vs_native_edgerun"] = json!(edge / ours);
        row["fuel_per_cpu_ms"] = json!(fuel / edge);
    }
    result["ping_ms"].as_f64().context("ping_ms")
}

fn print_table(summary: &Value) {
    println!(
        "\n{:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>9}",
        "workload (ms, median)",
        "native",
        "ours",
        "wasmi+fuel",
        "wasmi",
        "finite",
        "node eng",
        "wasmi-wasm",
        "prepare"
    );
    for r in summary["workloads"].as_array().unwrap() {
        let m = &r["ms"];
        let f = |k: &str| m[k].as_f64().map_or("-".to_string(), |v| format!("{v:.2}"));
        println!(
            "{:<22} {:>9} {:>9} {:>10} {:>9} {:>9} {:>9} {:>10} {:>9}",
            r["workload"].as_str().unwrap(),
            f("native"),
            f("runtime"),
            f("wasmi_fuel"),
            f("wasmi_plain"),
            f("finite_wasm"),
            f("node_engine"),
            f("wasmi_in_wasm_node"),
            f("runtime_prepare"),
        );
    }
    println!("\nratios per workload (higher = the first is faster):");
    for r in summary["workloads"].as_array().unwrap() {
        let g = |k: &str| r[k].as_f64().map_or("-".to_string(), |v| format!("{v:.2}"));
        println!(
            "  {:<22} ours vs wasmi+fuel {}  ours vs plain wasmi {}  ours vs finite-wasm {}  native vs ours {}x  node engine vs wasmi-in-wasm {}x",
            r["workload"].as_str().unwrap(),
            g("instrumented_vs_raw_wasmi"),
            g("instrumented_vs_plain_wasmi"),
            g("finite_wasm_vs_ours"),
            g("native_rust_vs_runtime"),
            g("node_engine_vs_wasmi_in_wasm"),
        );
    }
    let s = |k: &str| {
        summary[k]
            .as_f64()
            .map_or("-".to_string(), |v| format!("{v:.2}"))
    };
    println!(
        "\ngeomean: instrumented_vs_raw_wasmi {} (goal >= 0.80)  native_rust_vs_runtime {}  node_engine_vs_wasmi_in_wasm {}  finite_wasm_vs_ours {}",
        s("instrumented_vs_raw_wasmi"),
        s("native_rust_vs_runtime"),
        s("node_engine_vs_wasmi_in_wasm"),
        s("finite_wasm_vs_ours"),
    );
}
