//! Compute units of every instruction: a 3/2 and a 9/6 job through every
//! phase in LiteSVM (`cargo xtask cu`). Prints a table and writes
//! `<target>/cu.json`: `{"<instruction>": <max cu>, …, "job_3_2_total": n,
//! "job_9_6_total": n}`. CU counts are deterministic, so this measures
//! rather than times; budgets are reported, never asserted.

use edgerun_client as client;
use edgerun_protocol::hash::output_hash;
use edgerun_tests::{Chain, TxFailure, program_cu};
use litesvm::types::TransactionMetadata;
use solana_signer::Signer;
use std::collections::BTreeMap;

#[derive(Default)]
struct Table {
    /// instruction → (cu in the 3/2 job, cu in the 9/6 job), max over calls.
    rows: BTreeMap<&'static str, [Option<u64>; 2]>,
}

impl Table {
    fn record(
        &mut self,
        col: usize,
        name: &'static str,
        chain: &Chain,
        r: Result<TransactionMetadata, TxFailure>,
    ) -> u64 {
        let meta = r
            .unwrap_or_else(|e| panic!("{name} failed: {:?}\n{:#?}", e.meta.err, e.meta.meta.logs));
        let cu = program_cu(&meta, &chain.program_id);
        let cell = &mut self.rows.entry(name).or_default()[col];
        *cell = Some(cell.map_or(cu, |c: u64| c.max(cu)));
        cu
    }
}

/// Runs one job of committee `n` (3 or 9 workers) through every phase and
/// returns the whole-job total (post → finalize, every submit counted).
fn job(table: &mut Table, col: usize, escrow: u64) -> u64 {
    let n = if col == 0 { 3 } else { 9 };
    // n workers, one more to replace a silent one, and room for cancel paths.
    let mut c = Chain::new(n + 1);
    macro_rules! rec {
        ($name:expr, $e:expr) => {{
            let r = $e;
            table.record(col, $name, &c, r)
        }};
    }
    let mut total = 0;
    let spec = c.spec(escrow);
    let id = spec.job_id;
    total += rec!("post_job", c.post(&spec));
    total += rec!("set_job_seed", c.seed(&id, [1; 32]));
    let committee: Vec<usize> = (0..n).collect();
    total += rec!("assign_workers", c.assign(&id, &committee));
    let out = output_hash(b"cu");
    // Everyone but the last submits; the last is silent and gets replaced.
    for w in 0..n - 1 {
        total += rec!("submit_result", c.submit(&id, w, out));
    }
    c.warp(151);
    rec!("penalize_non_submitters", c.penalize(&id));
    rec!("reassign_missing", c.reassign(&id, &[n]));
    total += rec!("submit_result", c.submit(&id, n, out));
    total += rec!("reach_quorum", c.reveal(&id, 0, out));
    total += rec!("declare_output", c.declare(&id, 0, out));
    total += rec!("finalize_job", c.finalize(&id));

    // A second job whose winners never publish: cancel_no_da.
    let spec = c.spec(escrow);
    let id = spec.job_id;
    c.post(&spec).unwrap();
    c.seed(&id, [3; 32]).unwrap();
    c.assign(&id, &committee).unwrap();
    for w in 0..n {
        c.submit(&id, w, out).unwrap();
    }
    c.reveal(&id, 0, out).unwrap();
    c.warp(901);
    rec!("cancel_no_da", c.cancel_no_da(&id));

    // A third job that expires assigned: cancel_expired_job.
    let mut spec = c.spec(escrow);
    spec.ttl_slots = c.config().params.min_ttl_slots();
    let id = spec.job_id;
    c.post(&spec).unwrap();
    c.seed(&id, [4; 32]).unwrap();
    c.assign(&id, &committee).unwrap();
    c.warp(spec.ttl_slots + 1);
    rec!("cancel_expired_job", c.cancel_expired(&id));

    // A fourth the client cancels.
    let spec = c.spec(escrow);
    c.post(&spec).unwrap();
    let ix = client::cancel_job(&c.program_id, &c.client.pubkey(), &spec.job_id);
    let k = c.client.insecure_clone();
    rec!("cancel_job", c.send(&[ix], &[&k]));

    // Stake and config instructions.
    let w = c.workers[0].key.insecure_clone();
    let ix = client::deposit_stake(&c.program_id, &w.pubkey(), &w.pubkey(), 1_000_000);
    rec!("deposit_stake", c.send(&[ix], &[&w]));
    let ix = client::withdraw_stake(&c.program_id, &w.pubkey(), &w.pubkey(), 1_000_000);
    rec!("withdraw_stake", c.send(&[ix], &[&w]));
    let (_, reg) = c.register_worker(1_000_000);
    rec!("register_worker", Ok(reg));
    let params = c.config().params;
    let ix = client::update_config(&c.program_id, &c.admin.pubkey(), params);
    let a = c.admin.insecure_clone();
    rec!("update_config", c.send(&[ix], &[&a]));
    let init = c.init_meta.clone().expect("initialize_config ran");
    rec!("initialize_config", Ok(init));
    total
}

fn main() {
    let mut table = Table::default();
    let t32 = job(&mut table, 0, 50_000_000);
    let t96 = job(&mut table, 1, 10_000_000_000);
    println!("{:<26} {:>10} {:>10}", "instruction", "3/2 job", "9/6 job");
    let mut json = serde_json::Map::new();
    for (name, [a, b]) in &table.rows {
        let show = |v: &Option<u64>| v.map_or("-".to_owned(), |v| v.to_string());
        println!("{name:<26} {:>10} {:>10}", show(a), show(b));
        json.insert(name.to_string(), a.unwrap_or(0).max(b.unwrap_or(0)).into());
    }
    println!(
        "{:<26} {:>10} {:>10}",
        "whole job (post→finalize)", t32, t96
    );
    json.insert("job_3_2_total".into(), t32.into());
    json.insert("job_9_6_total".into(), t96.into());
    let path = edgerun_tests::target_dir().join("cu.json");
    let text = serde_json::to_string_pretty(&json).expect("cu.json serializes") + "\n";
    std::fs::write(&path, text).expect("writing cu.json");
    println!("wrote {}", path.display());
}
