//! The real `edgerun-relay` binary killed (SIGKILL, by PID) in the middle
//! of an upload, then restarted on the same data directory.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// One relay process; killed by its PID when dropped, so a failing test
/// leaves no process behind.
struct Relay {
    child: Child,
    addr: SocketAddr,
}

impl Relay {
    async fn start(dir: &Path) -> Relay {
        let mut child = Command::new(env!("CARGO_BIN_EXE_edgerun-relay"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn edgerun-relay");
        let stdout = child.stdout.take().unwrap();
        let mut relay = Relay {
            child,
            addr: "0.0.0.0:0".parse().unwrap(),
        };
        let line = tokio::time::timeout(
            Duration::from_secs(20),
            tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                BufReader::new(stdout).read_line(&mut line).map(|_| line)
            }),
        )
        .await
        .expect("relay printed its address in time")
        .unwrap()
        .unwrap();
        let addr = line
            .trim()
            .strip_prefix("edgerun-relay listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        relay.addr = addr.parse().unwrap();
        relay
    }

    /// SIGKILL to the process's PID; waits for it to be gone.
    fn kill(&mut self) {
        let pid = self.child.id();
        self.child.kill().expect("kill relay");
        let status = self.child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "relay {pid} died of SIGKILL");
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn relay_killed_mid_upload_leaves_nothing_visible_and_the_retry_succeeds() {
    within(90, async {
        let dir = tempdir();
        let full = bundle(&filler(4 << 20, 8));
        let hash = hash_hex(&full);

        let mut first = Relay::start(dir.path()).await;
        let mut upload = TcpStream::connect(first.addr).await.unwrap();
        let head = format!(
            "PUT /v1/bundles/{hash} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n\r\n",
            first.addr,
            full.len()
        );
        upload.write_all(head.as_bytes()).await.unwrap();
        // A slow client: a quarter of the body, a little at a time.
        for piece in full[..1 << 20].chunks(64 << 10) {
            upload.write_all(piece).await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The relay has begun its temporary object.
        let mut started = false;
        for _ in 0..100 {
            started = files(dir.path()).iter().any(|f| f.starts_with("tmp/"));
            if started {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            started,
            "no temporary object appeared: {:?}",
            files(dir.path())
        );

        first.kill();
        drop(upload);
        assert_eq!(
            visible(dir.path()),
            Vec::<String>::new(),
            "a partial object is visible"
        );

        let second = Relay::start(dir.path()).await;
        assert_eq!(
            files(dir.path()),
            Vec::<String>::new(),
            "startup left temporary objects"
        );
        let resp = raw_request(second.addr, "GET", &format!("/v1/bundles/{hash}")).await;
        assert_eq!(resp.status, 404);
        assert_eq!(resp.json()["code"], "not_found");

        let client = reqwest::Client::new();
        let url = format!("http://{}/v1/bundles/{hash}", second.addr);
        let resp = client.put(&url).body(full.clone()).send().await.unwrap();
        assert_eq!(resp.status(), 201);
        let got = client
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(hash_hex(&got), hash);
        assert_eq!(files(dir.path()), vec![format!("bundles/{hash}")]);
        drop(second);
    })
    .await
}
