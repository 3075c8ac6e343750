//! `cargo xtask bench relay`: the relay measured side by side with its
//! baselines, in one process, on 127.0.0.1.
//!
//! - Small-object GET: the real relay (`edgerun_relay::serve` over a file
//!   store) serving one stored 1 KiB bundle, against an axum hello-world
//!   answering a fixed 1 KiB body (`axum::serve`). Both run on the
//!   same tokio runtime and are hit by the same client: a fixed number of
//!   keep-alive HTTP/1.1 connections (bare hyper), each sending its share of
//!   the requests back to back. `get_vs_hello` = relay req/s / hello req/s.
//! - Upload + verify: `PUT /v1/bundles/{hash}` of 32 MiB bundles with unique
//!   contents over one keep-alive connection, against doing by hand what the
//!   relay's store does on disk for the same bytes: BLAKE3 and write to a
//!   staging file (`create_new`, 1 MiB parts), rename it to its temporary
//!   name, stat the final key, rename into place. Neither fsyncs (the relay's
//!   `object_store` file backend does not). Both directories are in one
//!   temporary directory, so on one filesystem. `upload_vs_raw` = relay MiB/s
//!   / raw MiB/s.
//!
//! Each figure is the median over interleaved rounds (the order alternates
//! per round), so background load hits both sides alike; the ratios are
//! what count. No log subscriber is installed, so the relay's per-request
//! log line costs nothing here. Writes `<out>/relay.json`.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use axum::Router;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum::serve::ListenerExt;
use bytes::Bytes;
use edgerun_relay::{AppState, ContentHash, RelayConfig};
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::json;

/// Size of the small object, and of the hello-world body.
const SMALL_BYTES: usize = 1 << 10;
/// Concurrent keep-alive connections for the GET runs.
const CONNECTIONS: usize = 16;
/// Requests per GET run, split evenly over the connections.
const GET_REQUESTS: usize = 16_000;
/// Size of one upload.
const UPLOAD_BYTES: usize = 32 << 20;
/// Uploads per side per round.
const UPLOADS_PER_ROUND: usize = 4;
/// The relay's part size for local files, which the raw side writes in too.
const PART_BYTES: usize = 1 << 20;

const GET_GOAL: f64 = 0.3;
const UPLOAD_GOAL: f64 = 0.5;

/// Median of each of two measurements, taken in interleaved rounds (at least
/// `min` rounds, then until `budget` runs out or 25 rounds); the side that
/// goes first alternates. Returns the medians and the number of rounds.
async fn rounds<A, B, FA, FB>(
    min: usize,
    budget: Duration,
    mut a: A,
    mut b: B,
) -> Result<([f64; 2], usize)>
where
    A: FnMut(usize) -> FA,
    B: FnMut(usize) -> FB,
    FA: Future<Output = Result<f64>>,
    FB: Future<Output = Result<f64>>,
{
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let started = Instant::now();
    let mut round = 0;
    while xs.len() < min || (started.elapsed() < budget && xs.len() < 25) {
        if round % 2 == 0 {
            xs.push(a(round).await?);
            ys.push(b(round).await?);
        } else {
            ys.push(b(round).await?);
            xs.push(a(round).await?);
        }
        round += 1;
    }
    Ok(([median(xs), median(ys)], round))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One keep-alive HTTP/1.1 connection; its driver runs as a task.
async fn connect<B>(addr: SocketAddr) -> Result<SendRequest<B>>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("client connection to {addr} failed: {e}");
        }
    });
    Ok(send)
}

async fn get_body(
    send: &mut SendRequest<Empty<Bytes>>,
    addr: SocketAddr,
    path: &str,
) -> Result<Bytes> {
    send.ready().await?;
    let req = Request::get(path)
        .header(header::HOST, addr.to_string())
        .body(Empty::new())?;
    let resp = send.send_request(req).await?;
    ensure!(
        resp.status() == StatusCode::OK,
        "GET {path}: {}",
        resp.status()
    );
    Ok(resp.into_body().collect().await?.to_bytes())
}

/// Opens `conns` connections, then sends `GET path` `requests` times over
/// them, each connection back to back; returns requests per second (the
/// connections are opened before the clock starts).
async fn get_rps(addr: SocketAddr, path: &str, conns: usize, requests: usize) -> Result<f64> {
    let mut senders = Vec::with_capacity(conns);
    for _ in 0..conns {
        senders.push(connect::<Empty<Bytes>>(addr).await?);
    }
    let per_conn = requests / conns;
    let start = Instant::now();
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|mut send| {
            let path = path.to_owned();
            tokio::spawn(async move {
                for _ in 0..per_conn {
                    let body = get_body(&mut send, addr, &path).await?;
                    ensure!(
                        body.len() == SMALL_BYTES,
                        "GET {path}: {} bytes",
                        body.len()
                    );
                }
                Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok((per_conn * conns) as f64 / start.elapsed().as_secs_f64())
}

/// A bundle of exactly `len` bytes whose input is pseudo-random, unique per
/// `seed` (BLAKE3 in XOF mode). Bundles, not outputs: an output is stored
/// only for a worker seated in a job on chain, and served once declared.
fn payload(seed: &str, len: usize) -> Bytes {
    const WASM: &[u8] = b"\0asm\x01\0\0\0";
    let overhead = edgerun_protocol::bundle::HEADER_LEN + WASM.len() + 4;
    let mut input = vec![0u8; len - overhead];
    blake3::Hasher::new()
        .update(seed.as_bytes())
        .finalize_xof()
        .fill(&mut input);
    let bundle = edgerun_protocol::bundle::Bundle {
        runtime_id: [0; 32],
        limits: edgerun_protocol::limits::Limits::new(1 << 20, 1, 1),
        wasm: WASM,
        input: &input,
    }
    .encode()
    .expect("a bundle within the protocol maxima");
    assert_eq!(bundle.len(), len);
    bundle.into()
}

async fn put(send: &mut SendRequest<Full<Bytes>>, addr: SocketAddr, bytes: Bytes) -> Result<()> {
    let hash = ContentHash::of(&bytes);
    send.ready().await?;
    let req = Request::put(format!("/v1/bundles/{hash}"))
        .header(header::HOST, addr.to_string())
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Full::new(bytes))?;
    let resp = send.send_request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    ensure!(
        status == StatusCode::CREATED,
        "PUT /v1/bundles/{hash}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    Ok(())
}

/// What the relay's store does on disk for one verified upload, by hand:
/// hash while writing a staging file in 1 MiB parts, rename it to the
/// temporary name, check the final key is absent, rename into place.
fn raw_store(dir: &Path, n: usize, claimed: &blake3::Hash, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join("tmp").join(format!("{n:032x}"));
    let staging = PathBuf::from(format!("{}#1", tmp.display()));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&staging)?;
    let mut hasher = blake3::Hasher::new();
    for part in bytes.chunks(PART_BYTES) {
        hasher.update(part);
        file.write_all(part)?;
    }
    ensure!(hasher.finalize() == *claimed, "raw: hash mismatch");
    std::fs::rename(&staging, &tmp)?;
    let dest = dir.join("bundles").join(claimed.to_hex().as_str());
    ensure!(!dest.exists(), "raw: {} exists", dest.display());
    std::fs::rename(&tmp, &dest)?;
    Ok(())
}

fn clear_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        for entry in std::fs::read_dir(dir)? {
            std::fs::remove_file(entry?.path())?;
        }
    }
    Ok(())
}

fn mib_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64()
}

async fn serve(router: Router) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            eprintln!("cannot set TCP_NODELAY: {e}");
        }
    });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("server on {addr} failed: {e}");
        }
    });
    Ok(addr)
}

/// The relay as it is deployed: `edgerun_relay::serve` (its own accept
/// loop, also with `TCP_NODELAY`).
async fn serve_relay(state: AppState) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = edgerun_relay::serve(listener, state, std::future::pending()).await {
            eprintln!("relay on {addr} failed: {e}");
        }
    });
    Ok(addr)
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut out = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next().map(PathBuf::from),
            other => bail!("unknown argument {other}; usage: --out DIR"),
        }
    }
    let out = out.context("--out DIR is required")?;
    std::fs::create_dir_all(&out)?;
    // Under the output directory rather than /tmp (which may be tmpfs): the
    // relay's data and the raw side's files share one real filesystem.
    let work = tempfile::Builder::new()
        .prefix("relay-bench-")
        .tempdir_in(&out)?;
    let relay_dir = work.path().join("relay");
    let raw_dir = work.path().join("raw");
    std::fs::create_dir_all(raw_dir.join("tmp"))?;
    std::fs::create_dir_all(raw_dir.join("bundles"))?;

    let state = AppState::open(RelayConfig::file(&relay_dir)).await?;
    let relay = serve_relay(state).await?;
    let small = payload("small object", SMALL_BYTES);
    let hello_body = payload("hello world", SMALL_BYTES);
    let hello = serve(Router::new().route(
        "/hello",
        get(move || {
            let body = hello_body.clone();
            async move { ([(header::CONTENT_TYPE, "application/octet-stream")], body) }
        }),
    ))
    .await?;

    // The small object, stored through the relay's own PUT.
    let mut uploader = connect::<Full<Bytes>>(relay).await?;
    put(&mut uploader, relay, small.clone()).await?;
    let small_path = format!("/v1/bundles/{}", ContentHash::of(&small));
    let mut check = connect::<Empty<Bytes>>(relay).await?;
    ensure!(get_body(&mut check, relay, &small_path).await? == small);

    println!(
        "GET {SMALL_BYTES} B: {CONNECTIONS} keep-alive connections, {GET_REQUESTS} requests per run"
    );
    // Warm both (connections, allocator, page cache) before measuring.
    get_rps(relay, &small_path, CONNECTIONS, GET_REQUESTS / 4).await?;
    get_rps(hello, "/hello", CONNECTIONS, GET_REQUESTS / 4).await?;
    let ([relay_rps, hello_rps], get_rounds) = rounds(
        5,
        Duration::from_secs(8),
        |_| get_rps(relay, &small_path, CONNECTIONS, GET_REQUESTS),
        |_| get_rps(hello, "/hello", CONNECTIONS, GET_REQUESTS),
    )
    .await?;

    println!(
        "upload: {UPLOADS_PER_ROUND} x {} MiB per side per round",
        UPLOAD_BYTES >> 20
    );
    let relay_outputs = relay_dir.join("bundles");
    let raw_outputs = raw_dir.join("bundles");
    let uploader = tokio::sync::Mutex::new(uploader);
    let relay_put = |round: usize| {
        let relay_outputs = relay_outputs.clone();
        let uploader = &uploader;
        async move {
            let bodies: Vec<Bytes> = (0..UPLOADS_PER_ROUND)
                .map(|i| payload(&format!("relay {round} {i}"), UPLOAD_BYTES))
                .collect();
            let mut send = uploader.lock().await;
            let start = Instant::now();
            for body in bodies {
                put(&mut send, relay, body).await?;
            }
            let took = start.elapsed();
            drop(send);
            clear_dir(&relay_outputs)?;
            Ok(mib_s(UPLOAD_BYTES * UPLOADS_PER_ROUND, took))
        }
    };
    let raw_put = |round: usize| {
        let raw_dir = raw_dir.clone();
        let raw_outputs = raw_outputs.clone();
        async move {
            let bodies: Vec<(Bytes, blake3::Hash)> = (0..UPLOADS_PER_ROUND)
                .map(|i| {
                    let b = payload(&format!("raw {round} {i}"), UPLOAD_BYTES);
                    let h = blake3::hash(&b);
                    (b, h)
                })
                .collect();
            let start = Instant::now();
            for (i, (body, hash)) in bodies.iter().enumerate() {
                raw_store(&raw_dir, round * UPLOADS_PER_ROUND + i, hash, body)?;
            }
            let took = start.elapsed();
            clear_dir(&raw_outputs)?;
            Ok(mib_s(UPLOAD_BYTES * UPLOADS_PER_ROUND, took))
        }
    };
    // One unmeasured round each first.
    relay_put(999).await?;
    raw_put(999).await?;
    let ([relay_mib_s, raw_mib_s], upload_rounds) =
        rounds(5, Duration::from_secs(12), relay_put, raw_put).await?;

    let get_vs_hello = relay_rps / hello_rps;
    let upload_vs_raw = relay_mib_s / raw_mib_s;
    let summary = json!({
        "get_vs_hello": get_vs_hello,
        "upload_vs_raw": upload_vs_raw,
        "goals": { "get_vs_hello": GET_GOAL, "upload_vs_raw": UPLOAD_GOAL },
        "get": {
            "object_bytes": SMALL_BYTES,
            "connections": CONNECTIONS,
            "requests_per_run": GET_REQUESTS,
            "rounds": get_rounds,
            "relay_rps": relay_rps,
            "hello_rps": hello_rps,
        },
        "upload": {
            "object_bytes": UPLOAD_BYTES,
            "objects_per_run": UPLOADS_PER_ROUND,
            "rounds": upload_rounds,
            "relay_mib_s": relay_mib_s,
            "raw_mib_s": raw_mib_s,
            "raw": "blake3 + write a create_new staging file in 1 MiB parts, rename, stat, rename; no fsync (as the relay's file store)",
        },
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    });
    println!(
        "\n{:<26} {:>12} {:>12} {:>7} {:>7} {:>7}",
        "(medians)", "relay", "baseline", "ratio", "goal", "rounds"
    );
    let row = |what: &str, ours: f64, base: f64, goal: f64, n: usize| {
        let verdict = if ours / base >= goal { "" } else { "  MISSED" };
        println!(
            "{what:<26} {ours:>12.0} {base:>12.0} {:>7.2} {:>7} {n:>7}{verdict}",
            ours / base,
            format!(">={goal}"),
        );
    };
    row(
        "GET 1 KiB, req/s (hello)",
        relay_rps,
        hello_rps,
        GET_GOAL,
        get_rounds,
    );
    row(
        "PUT 32 MiB, MiB/s (raw)",
        relay_mib_s,
        raw_mib_s,
        UPLOAD_GOAL,
        upload_rounds,
    );
    println!(
        "\nget_vs_hello {get_vs_hello:.2} (goal >= {GET_GOAL})  upload_vs_raw {upload_vs_raw:.2} (goal >= {UPLOAD_GOAL})"
    );
    let path = out.join("relay.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)? + "\n")?;
    println!("wrote {}", path.display());
    Ok(())
}
