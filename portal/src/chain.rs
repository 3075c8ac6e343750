//! What the portal reads from the chain itself, over JSON-RPC (the RPC the
//! relay names in `/v1/info`), so the pages that matter do not take the
//! relay's word: the Config a price is computed from, a Job account, a
//! job's history (its transactions' edgerun events), the committee
//! recomputed from the seed and the snapshots, balances and rent.

use edgerun_protocol::event::AnyEvent;
use edgerun_protocol::hash::{Hash, hex};
use edgerun_protocol::layout::{Account, view};
use edgerun_protocol::selection::audit;
use edgerun_protocol::state::{GlobalConfig, Job};
use serde_json::{Value, json};

use crate::api::rpc_call;

/// Base58 of 32 bytes (an address).
pub fn address(bytes: &[u8; 32]) -> String {
    bs58::encode(bytes).into_string()
}

/// 32 bytes from base58, or what is wrong with it.
pub fn parse_address(s: &str) -> Result<[u8; 32], String> {
    let v = bs58::decode(s.trim())
        .into_vec()
        .map_err(|e| format!("{s:?} is not a base58 address: {e}"))?;
    v.try_into()
        .map_err(|_| format!("{s:?} is not a 32-byte address"))
}

pub fn parse_hash(s: &str) -> Result<Hash, String> {
    let s = s.trim();
    if s.len() != 64 {
        return Err(format!("{s:?} is not 64 hex characters"));
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
            .map_err(|_| format!("{s:?} is not hex"))?;
    }
    Ok(out)
}

/// One call's `result`, or the RPC's error said for people.
pub async fn call(rpc: &str, method: &str, params: Value) -> Result<Value, String> {
    // `e` names the URL and what to do.
    let v = rpc_call(rpc, method, params)
        .await
        .map_err(|e| format!("The chain's RPC: {e}"))?;
    if let Some(e) = v.get("error") {
        return Err(format!(
            "The chain's RPC refused {method}: {}",
            e["message"].as_str().unwrap_or("no reason given")
        ));
    }
    Ok(v["result"].clone())
}

/// An account's owner and data (`None`: no such account).
pub async fn account(rpc: &str, address: &str) -> Result<Option<(String, Vec<u8>)>, String> {
    use base64::Engine;
    let r = call(
        rpc,
        "getAccountInfo",
        json!([address, {"encoding": "base64", "commitment": "confirmed"}]),
    )
    .await?;
    let v = &r["value"];
    if v.is_null() {
        return Ok(None);
    }
    let data = base64::engine::general_purpose::STANDARD
        .decode(v["data"][0].as_str().unwrap_or_default())
        .map_err(|e| format!("The RPC's account data is not base64: {e}"))?;
    Ok(Some((
        v["owner"].as_str().unwrap_or_default().to_owned(),
        data,
    )))
}

/// An account of the program, decoded; an error if it is missing, owned by
/// another program, or not a `T`.
pub async fn program_account<T: Account + Copy>(
    rpc: &str,
    program: &str,
    address: &str,
    what: &str,
) -> Result<T, String> {
    let (owner, data) = account(rpc, address)
        .await?
        .ok_or_else(|| format!("The {what} account {address} does not exist on this chain"))?;
    if owner != program {
        return Err(format!(
            "The {what} account {address} belongs to {owner}, not to the edgerun program {program}; do not trust this relay"
        ));
    }
    view::<T>(&data)
        .copied()
        .map_err(|e| format!("The {what} account {address} does not decode: {e}"))
}

pub async fn config(rpc: &str, program: &str, address: &str) -> Result<GlobalConfig, String> {
    program_account::<GlobalConfig>(rpc, program, address, "Config").await
}

/// A Job account, checked to be the job `id`.
pub async fn job(rpc: &str, program: &str, address: &str, id: &Hash) -> Result<Job, String> {
    let j = program_account::<Job>(rpc, program, address, "Job").await?;
    if &j.job_id != id {
        return Err(format!(
            "The account {address} holds job {}, not {}; do not trust this relay",
            hex(&j.job_id),
            hex(id)
        ));
    }
    Ok(j)
}

pub async fn balance(rpc: &str, address: &str) -> Result<u64, String> {
    let r = call(
        rpc,
        "getBalance",
        json!([address, {"commitment": "confirmed"}]),
    )
    .await?;
    r["value"]
        .as_u64()
        .ok_or_else(|| "The RPC's balance is not a number".into())
}

pub async fn rent(rpc: &str, bytes: usize) -> Result<u64, String> {
    let r = call(rpc, "getMinimumBalanceForRentExemption", json!([bytes])).await?;
    r.as_u64()
        .ok_or_else(|| "The RPC's rent is not a number".into())
}

pub async fn latest_blockhash(rpc: &str) -> Result<[u8; 32], String> {
    let r = call(
        rpc,
        "getLatestBlockhash",
        json!([{"commitment": "confirmed"}]),
    )
    .await?;
    parse_address(r["value"]["blockhash"].as_str().unwrap_or_default())
}

/// One transaction of a job's history: its slot, signature and the
/// edgerun events the program emitted in it, in order.
#[derive(Clone, Debug)]
pub struct Step {
    pub slot: u64,
    pub signature: String,
    pub events: Vec<AnyEvent>,
}

/// The successful transactions that touched `address` after `until`
/// (all without it), oldest first, with the events `program` emitted for
/// job `id` (events another program logs, or of another job, are left
/// out).
pub async fn history(
    rpc: &str,
    program: &str,
    address: &str,
    id: &Hash,
    until: Option<&str>,
) -> Result<Vec<Step>, String> {
    let mut signatures: Vec<Value> = Vec::new();
    loop {
        let mut options = json!({"commitment": "confirmed", "limit": 1000});
        if let Some(u) = until {
            options["until"] = json!(u);
        }
        if let Some(last) = signatures.last().and_then(|s| s["signature"].as_str()) {
            options["before"] = json!(last);
        }
        let page = call(rpc, "getSignaturesForAddress", json!([address, options])).await?;
        let page = page.as_array().cloned().unwrap_or_default();
        let full = page.len() == 1000;
        signatures.extend(page);
        if !full {
            break;
        }
    }
    let mut steps = Vec::new();
    for s in signatures.iter().rev().filter(|s| s["err"].is_null()) {
        let signature = s["signature"].as_str().unwrap_or_default().to_owned();
        let tx = call(
            rpc,
            "getTransaction",
            json!([signature, {"encoding": "json", "commitment": "confirmed", "maxSupportedTransactionVersion": 0}]),
        )
        .await?;
        let logs: Vec<String> = tx["meta"]["logMessages"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let events = program_events(&logs, program)
            .into_iter()
            .filter(|e| e.job_id() == id)
            .collect();
        steps.push(Step {
            slot: tx["slot"].as_u64().or(s["slot"].as_u64()).unwrap_or(0),
            signature,
            events,
        });
    }
    Ok(steps)
}

/// The events `program` itself logged (`Program data:` while it is the
/// innermost program running), in order.
pub fn program_events(logs: &[String], program: &str) -> Vec<AnyEvent> {
    use base64::Engine;
    let mut stack: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for line in logs {
        if let Some(rest) = line.strip_prefix("Program ") {
            if let Some(id) = rest
                .split(" invoke [")
                .next()
                .filter(|_| rest.contains(" invoke ["))
            {
                stack.push(id);
                continue;
            }
            // Only the running program's own end line ends it (a log
            // message may end in "success" too).
            if let Some(top) = stack.last() {
                let ends = rest
                    .strip_prefix(*top)
                    .is_some_and(|r| r == " success" || r.starts_with(" failed"));
                if ends {
                    stack.pop();
                    continue;
                }
            }
        }
        if let Some(data) = line.strip_prefix("Program data: ") {
            if stack.last() != Some(&program) {
                continue;
            }
            if let Some(e) = base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .ok()
                .and_then(|bytes| AnyEvent::decode(&bytes))
            {
                out.push(e);
            }
        }
    }
    out
}

/// One draw of the committee as the program recorded it and as it is
/// recomputed here.
#[derive(Clone, Debug, PartialEq)]
pub struct Draw {
    /// "committee" or "replacement".
    pub kind: &'static str,
    pub snapshot_hash: String,
    pub candidates: usize,
    pub first_draw: u8,
    pub recorded: Vec<String>,
    pub recomputed: Result<Vec<String>, String>,
}

impl Draw {
    pub fn matches(&self) -> bool {
        self.recomputed.as_ref().is_ok_and(|r| *r == self.recorded)
    }
}

/// Recomputes every draw of a job's committee from its seed and the
/// eligible-set snapshots its events name (fetched by `snapshot`, checked
/// against their BLAKE3 here), with the protocol's own audit
/// (`edgerun_protocol::selection::audit`, the scheduler's selection code).
pub async fn recompute<F, Fut>(seed: &Hash, id: &Hash, steps: &[Step], mut snapshot: F) -> Vec<Draw>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<u8>, String>>,
{
    let mut out = Vec::new();
    for draw in audit::recorded_draws(steps.iter().map(|s| s.events.as_slice())) {
        let (candidates, recomputed) = match snapshot(hex(&draw.snapshot_hash)).await {
            Err(e) => (0, Err(e)),
            Ok(bytes) => match audit::redraw(seed, id, &draw, &bytes) {
                Ok((picked, n)) => (n, Ok(picked.iter().map(address).collect())),
                Err(audit::RedrawError::WrongSnapshot { actual }) => (
                    0,
                    Err(format!(
                        "the relay's snapshot hashes to {}, not to {}: it is not the set the scheduler named",
                        hex(&actual),
                        hex(&draw.snapshot_hash)
                    )),
                ),
                Err(e) => (0, Err(e.to_string())),
            },
        };
        out.push(Draw {
            kind: if draw.replacement {
                "replacement"
            } else {
                "committee"
            },
            snapshot_hash: hex(&draw.snapshot_hash),
            candidates,
            first_draw: draw.first_draw,
            recorded: draw.workers.iter().map(address).collect(),
            recomputed,
        });
    }
    out
}

/// The program's Job accounts, newest first, of one client (`client`) or
/// of everyone: `getProgramAccounts` filtered by size (and by the client
/// field at its offset). Fine for a local chain and small deployments; a
/// busy chain wants an indexer (the note in docs/portal.md).
pub async fn jobs(rpc: &str, program: &str, client: Option<&str>) -> Result<Vec<Job>, String> {
    use base64::Engine;
    let mut filters = vec![json!({"dataSize": Job::SPACE})];
    if let Some(c) = client {
        // 8-byte discriminator, then job_id (32), then client.
        filters.push(json!({"memcmp": {"offset": 8 + 32, "bytes": c}}));
    }
    let r = call(
        rpc,
        "getProgramAccounts",
        json!([program, {"encoding": "base64", "commitment": "confirmed", "filters": filters}]),
    )
    .await?;
    let mut out: Vec<Job> = r
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    let data = base64::engine::general_purpose::STANDARD
                        .decode(x["account"]["data"][0].as_str()?)
                        .ok()?;
                    view::<Job>(&data).ok().copied()
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|j| std::cmp::Reverse(j.created_slot.get()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use bytemuck::Zeroable;
    use edgerun_protocol::event::{Event, WorkerReassigned, WorkersAssigned};
    use edgerun_protocol::layout::Pubkey;
    use edgerun_protocol::selection::{self, Candidate, snapshot_bytes};

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the snapshots here are ready at once"),
        }
    }

    fn set() -> Vec<Candidate> {
        (1..=6u8)
            .map(|i| Candidate {
                worker: [i; 32],
                weight: 1_000 * u64::from(i),
            })
            .collect()
    }

    fn assigned(id: &Hash, seed: &Hash, eligible: &[Candidate]) -> WorkersAssigned {
        let picked = selection::select_committee(seed, id, eligible, 3).unwrap();
        let mut e = WorkersAssigned::zeroed();
        e.job_id = *id;
        for (i, w) in picked.as_slice().iter().enumerate() {
            e.workers[i] = Pubkey(*w);
        }
        e.count = 3;
        e.snapshot_hash = selection::snapshot_hash(eligible).unwrap();
        e
    }

    #[test]
    fn a_committee_drawn_as_the_protocol_draws_verifies_and_a_forged_one_does_not() {
        let (id, seed) = ([4u8; 32], [5u8; 32]);
        let eligible = set();
        let bytes = snapshot_bytes(&eligible);
        let honest = assigned(&id, &seed, &eligible);
        let step = |e: WorkersAssigned| Step {
            slot: 10,
            signature: "s".into(),
            events: vec![AnyEvent::WorkersAssigned(e)],
        };
        let fetch = |b: Vec<u8>| move |_h: String| std::future::ready(Ok::<_, String>(b.clone()));
        let draws = block_on(recompute(&seed, &id, &[step(honest)], fetch(bytes.clone())));
        assert_eq!(draws.len(), 1);
        assert!(draws[0].matches(), "{:?}", draws[0]);
        assert_eq!(draws[0].candidates, 6);

        // A scheduler that seats a worker the seed did not draw.
        let mut forged = honest;
        let outsider = (1..=6u8)
            .find(|i| !forged.workers[..3].contains(&Pubkey([*i; 32])))
            .unwrap();
        forged.workers[0] = Pubkey([outsider; 32]);
        let draws = block_on(recompute(&seed, &id, &[step(forged)], fetch(bytes.clone())));
        assert!(!draws[0].matches());

        // A relay that serves another set under the named hash.
        let mut other = eligible.clone();
        other[0].weight += 1;
        let draws = block_on(recompute(
            &seed,
            &id,
            &[step(honest)],
            fetch(snapshot_bytes(&other)),
        ));
        let e = draws[0].recomputed.as_ref().unwrap_err();
        assert!(e.contains("not the set the scheduler named"), "{e}");

        // A replacement continues at draw 3 over its own snapshot.
        let seated: Vec<[u8; 32]> = honest.workers[..3].iter().map(|w| w.0).collect();
        let rest: Vec<Candidate> = eligible
            .iter()
            .copied()
            .filter(|c| !seated.contains(&c.worker))
            .collect();
        let next = selection::select(&seed, &id, &rest, &[], 1, 3)
            .unwrap()
            .as_slice()[0];
        let mut r = WorkerReassigned::zeroed();
        r.job_id = id;
        r.old_worker = honest.workers[1];
        r.new_worker = Pubkey(next);
        r.snapshot_hash = selection::snapshot_hash(&rest).unwrap();
        let steps = [
            step(honest),
            Step {
                slot: 20,
                signature: "t".into(),
                events: vec![AnyEvent::WorkerReassigned(r)],
            },
        ];
        let (all, later) = (bytes.clone(), snapshot_bytes(&rest));
        let draws = block_on(recompute(&seed, &id, &steps, move |h: String| {
            let b = if h == hex(&r.snapshot_hash) {
                later.clone()
            } else {
                all.clone()
            };
            std::future::ready(Ok::<_, String>(b))
        }));
        assert_eq!(draws.len(), 2);
        assert!(draws.iter().all(Draw::matches), "{draws:?}");
        assert_eq!(draws[1].first_draw, 3);
    }

    #[test]
    fn only_the_programs_own_log_data_counts() {
        let program = "Prog1111111111111111111111111111111111111111";
        let mut e = WorkersAssigned::zeroed();
        e.job_id = [1; 32];
        let data = base64::engine::general_purpose::STANDARD.encode(e.to_log_data());
        let logs: Vec<String> = [
            format!("Program {program} invoke [1]"),
            format!("Program data: {data}"),
            "Program Other11111111111111111111111111111111111 invoke [2]".into(),
            "Program log: upload success".into(),
            // Another program logging an edgerun-shaped event: ignored.
            format!("Program data: {data}"),
            "Program Other11111111111111111111111111111111111 success".into(),
            format!("Program {program} success"),
            format!("Program data: {data}"),
        ]
        .into();
        let events = program_events(&logs, program);
        assert_eq!(events.len(), 1);
        assert!(matches!(events[0], AnyEvent::WorkersAssigned(_)));
    }
}
