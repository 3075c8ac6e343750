//! The conformance vectors (tests/vectors/) natively: every bundle must give
//! exactly the recorded outcome, output hash, output length and fuel. The
//! same vectors run through the wasm32 build under Node (xtask suite
//! `vectors-node`), so native and wasm agree on every one.

use std::path::PathBuf;

use edgerun_runtime::hex;
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

#[test]
fn every_vector_reproduces_natively() {
    let dir = vectors_dir();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("vectors.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["runtime_id"],
        hex(&edgerun_runtime::runtime_id()),
        "descriptor changed: rebuild the vectors"
    );
    let vectors = manifest["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 20, "the vector set shrank");
    let mut outcomes = std::collections::BTreeSet::new();
    for v in vectors {
        let bytes = std::fs::read(dir.join(v["bundle"].as_str().unwrap())).unwrap();
        assert_eq!(
            hex(&edgerun_protocol::hash::bundle_hash(&bytes)),
            v["bundle_hash"],
            "{}",
            v["name"]
        );
        let out = edgerun_runtime::run_bundle(&bytes).unwrap();
        assert_eq!(out.label(), v["outcome"], "{}", v["name"]);
        assert_eq!(hex(&out.output_hash()), v["output_hash"], "{}", v["name"]);
        assert_eq!(
            out.fuel_used,
            v["fuel_used"].as_u64().unwrap(),
            "{}",
            v["name"]
        );
        assert_eq!(
            out.output.len() as u64,
            v["output_len"].as_u64().unwrap(),
            "{}",
            v["name"]
        );
        outcomes.insert(out.label());
    }
    // The set exercises success and every failure a guest can cause.
    for want in [
        "ok",
        "invalid-module",
        "out-of-fuel",
        "output-limit",
        "memory-limit",
        "trap-stack-overflow",
        "trap-div-by-zero",
        "trap-out-of-bounds",
        "trap-indirect-call",
        "trap-unreachable",
    ] {
        assert!(outcomes.contains(want), "no vector ends in {want}");
    }
}
