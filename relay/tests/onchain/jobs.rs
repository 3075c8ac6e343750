//! `POST /v1/jobs`: the form streams into one buffer, the bundle itself,
//! whatever the order of its parts, and the stored bytes are exactly the
//! canonical bundle.

use edgerun_protocol::bundle::Bundle;
use edgerun_protocol::limits::Limits;
use edgerun_relay::UploadLimits;

use crate::common::*;
use crate::support::*;

/// The smallest valid guest: one exported memory page and an empty
/// `_start`.
const GUEST: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: () -> ()
    0x03, 0x02, 0x01, 0x00, // function 0 of type 0
    0x05, 0x03, 0x01, 0x00, 0x01, // memory: min 1 page
    0x07, 0x13, 0x02, // exports: 2
    0x06, b'm', b'e', b'm', b'o', b'r', b'y', 0x02, 0x00, // "memory"
    0x06, b'_', b's', b't', b'a', b'r', b't', 0x00, 0x00, // "_start"
    0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code: empty body
];

/// A multipart/form-data body of `parts` (name, bytes), in this order.
fn form(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "edgerun-relay-test-boundary";
    let mut body = Vec::new();
    for (name, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn a_job_form_becomes_the_canonical_bundle_in_any_part_order() {
    within(120, async {
        let net = net().await;
        let dir = tempdir();
        let state = open(dir.path(), UploadLimits::default())
            .await
            .with_chain(&net.rpc_url, net.program);
        let addr = serve(state).await;
        let http = reqwest::Client::new();
        let client = solana_signer::Signer::pubkey(&net.spare[10]).to_string();
        let input = filler(3 << 20, 7);
        // Input first, the limits last: the bundle is built around the
        // input already read.
        for parts in [
            vec![
                ("input", input.as_slice()),
                ("client", client.as_bytes()),
                ("wasm", GUEST),
                ("max_output_bytes", b"4096".as_slice()),
            ],
            vec![
                ("wasm", GUEST),
                ("max_output_bytes", b"4096".as_slice()),
                ("input", input.as_slice()),
                ("client", client.as_bytes()),
            ],
        ] {
            let (content_type, body) = form(&parts);
            let resp = http
                .post(format!("http://{addr}/v1/jobs"))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let (status, posted) = status_json(resp).await;
            assert_eq!(status, 201, "{posted}");
            assert!(posted["transaction"].is_string(), "{posted}");
            let stored = http
                .get(format!(
                    "http://{addr}{}",
                    posted["bundle_url"].as_str().unwrap()
                ))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let limits = Limits::new(64 << 20, 10_000_000_000, 4096);
            let canonical = edgerun_runtime::build_bundle(GUEST, &input, &limits).unwrap();
            assert!(
                stored[..] == canonical[..],
                "the stored bundle is the canonical encoding"
            );
            assert_eq!(posted["bundle_hash"], hash_hex(&canonical));
            let decoded = Bundle::decode(&stored).unwrap();
            assert_eq!(decoded.input, &input[..]);
        }
        // A wasm part over the protocol's 16 MiB is refused as it streams.
        let (content_type, body) = form(&[("wasm", &vec![0u8; (16 << 20) + 1])]);
        let resp = http
            .post(format!("http://{addr}/v1/jobs"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422);
    })
    .await
}
