//! Shared test helpers: real bundles, a relay on a temp data dir, the files
//! it holds, and raw HTTP over a TcpStream.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use edgerun_protocol::bundle::Bundle;
use edgerun_protocol::limits::Limits;
use edgerun_relay::{AppState, ClientLimits, ContentHash, RelayConfig, StoreBackend, UploadLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The smallest wasm module (magic + version). The relay stores bundles; it
/// does not validate their wasm (the runtime does).
pub const WASM: &[u8] = b"\0asm\x01\0\0\0";

/// A real bundle v1 carrying `input`.
pub fn bundle(input: &[u8]) -> Vec<u8> {
    Bundle {
        runtime_id: edgerun_protocol::hash::runtime_id("edgerun-relay-tests/1"),
        limits: Limits::new(1 << 20, 1_000_000, 4096),
        wasm: WASM,
        input,
    }
    .encode()
    .expect("bundle within protocol maxima")
}

/// An eligible-set snapshot of `n` records (sorted distinct pubkeys,
/// weight 1,000 each): any `n * 40` bytes the relay takes under
/// `/v1/selections`.
pub fn snapshot_bytes(n: u32, seed: u8) -> Vec<u8> {
    (0..n)
        .flat_map(|i| {
            let mut key = [seed; 32];
            key[..4].copy_from_slice(&i.to_be_bytes());
            key.into_iter().chain(1_000u64.to_le_bytes())
        })
        .collect()
}

pub fn hash_hex(bytes: &[u8]) -> String {
    ContentHash::of(bytes).to_string()
}

/// Deterministic filler bytes.
pub fn filler(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}

pub async fn open(dir: &Path, limits: UploadLimits) -> AppState {
    open_with(dir, limits, ClientLimits::default()).await
}

pub async fn open_with(dir: &Path, limits: UploadLimits, clients: ClientLimits) -> AppState {
    AppState::open(RelayConfig {
        store: StoreBackend::File {
            root: dir.to_path_buf(),
        },
        limits,
        clients,
    })
    .await
    .expect("open relay state")
}

/// Every regular file under `dir`, relative, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Files a reader could be served: anything outside `tmp/`.
pub fn visible(dir: &Path) -> Vec<String> {
    files(dir)
        .into_iter()
        .filter(|f| !f.starts_with("tmp/"))
        .collect()
}

/// Waits (bounded) until the data dir holds no file at all: no visible
/// object and no temporary leftover.
pub async fn assert_nothing_stored(dir: &Path) {
    for _ in 0..100 {
        if files(dir).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the data dir still holds {:?}", files(dir));
}

pub async fn within<T>(secs: u64, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .unwrap_or_else(|_| panic!("test did not finish within {secs} s"))
}

/// Serves the relay (`edgerun_relay::serve`) on 127.0.0.1:0.
pub async fn serve(state: AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        edgerun_relay::serve(listener, state, std::future::pending())
            .await
            .unwrap();
    });
    addr
}

/// A reqwest response's status and JSON body (`null` when it has none).
pub async fn status_json(resp: reqwest::Response) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("the body");
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

/// A response read off a raw connection.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Reads one HTTP/1.1 response whose body has a content-length (every
/// error the relay sends does).
pub async fn read_response(stream: &mut TcpStream) -> RawResponse {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).await.expect("read response");
        assert!(n > 0, "connection closed before a response head: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head[9..12].parse().expect("status code");
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.expect("read body");
        assert!(n > 0, "connection closed mid-body");
        body.extend_from_slice(&chunk[..n]);
    }
    RawResponse { status, head, body }
}

/// Sends a bodiless request line + headers and reads the response.
pub async fn raw_request(addr: SocketAddr, method: &str, target: &str) -> RawResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {target} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    read_response(&mut stream).await
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub fn path_of(dir: &Path, rel: &str) -> PathBuf {
    dir.join(rel)
}
