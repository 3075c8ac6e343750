//! A job's page (its shareable URL is `/app/jobs/<id>`): the relay's live
//! stream of its state (`GET /v1/jobs/{id}/events`), the timeline and the
//! settlement read from the job's own transactions on chain, the committee
//! recomputed here from the seed and the snapshots, the output checked
//! here against the revealed hash, the simulation compared, and cancel for
//! the client while nobody holds a seat.

use edgerun_protocol::event::AnyEvent;
use edgerun_protocol::hash::hex;
use edgerun_protocol::instruction::CancelJob;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use wasm_bindgen::prelude::*;

use crate::api::{self, JobView};
use crate::chain::{self, Draw, Step};
use crate::{WalletCtx, lamports, tx};

fn short(s: &str) -> String {
    if s.len() > 16 {
        format!("{}…", &s[..16])
    } else {
        s.to_owned()
    }
}

/// The open event stream and its listeners (dropped with it).
type Stream = (
    web_sys::EventSource,
    Vec<Closure<dyn FnMut(web_sys::Event)>>,
);

fn is_final(status: &str) -> bool {
    matches!(status, "Finalized" | "Cancelled")
}

#[component]
pub fn JobPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let job: RwSignal<Option<Result<JobView, String>>> = RwSignal::new(None);
    let steps: RwSignal<Option<Result<Vec<Step>, String>>, LocalStorage> =
        RwSignal::new_local(None);
    let stream: StoredValue<Option<Stream>, LocalStorage> = StoredValue::new_local(None);
    let close = move || {
        stream.update_value(|s| {
            if let Some((es, _)) = s.take() {
                es.close();
            }
        })
    };
    // The relay's stream: a `job` event each time the job changes.
    Effect::new(move |_| {
        let id = id();
        close();
        job.set(None);
        steps.set(None);
        let Ok(es) = web_sys::EventSource::new(&format!("/v1/jobs/{id}/events")) else {
            job.set(Some(Err(
                "This browser cannot follow the job live (no EventSource)".into(),
            )));
            return;
        };
        let on_job = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let Some(data) = e
                .dyn_ref::<web_sys::MessageEvent>()
                .and_then(|m| m.data().as_string())
            else {
                return;
            };
            match serde_json::from_str::<JobView>(&data) {
                Ok(v) => {
                    let done = is_final(&v.status);
                    job.set(Some(Ok(v)));
                    if done {
                        close();
                    }
                }
                Err(e) => job.set(Some(Err(format!(
                    "The relay's job event did not parse: {e}"
                )))),
            }
        });
        let id_for_error = id.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            // The relay's own `event: error` carries {code, message}.
            if let Some(data) = e
                .dyn_ref::<web_sys::MessageEvent>()
                .and_then(|m| m.data().as_string())
            {
                let message = serde_json::from_str::<serde_json::Value>(&data)
                    .ok()
                    .and_then(|v| v["message"].as_str().map(str::to_owned))
                    .unwrap_or(data);
                job.set(Some(Err(format!(
                    "The relay could not read the chain: {message}; retrying"
                ))));
                return;
            }
            // The stream did not open or broke. Before any state: ask once
            // plainly, for the reason (not found, bad id, relay down).
            if job.with_untracked(|j| j.is_none() || matches!(j, Some(Err(_)))) {
                close();
                let id = id_for_error.clone();
                leptos::task::spawn_local(async move {
                    let got = api::get_json::<JobView>(&format!("/v1/jobs/{id}")).await;
                    job.set(Some(got));
                });
            }
            // Otherwise EventSource reconnects by itself.
        });
        let _ = es.add_event_listener_with_callback("job", on_job.as_ref().unchecked_ref());
        let _ = es.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
        stream.set_value(Some((es, vec![on_job, on_error])));
    });
    on_cleanup(close);

    // The job's transactions, read again each time its state changes.
    let generation = StoredValue::new(0u64);
    Effect::new(move |previous: Option<String>| {
        let key = job.with(|j| match j {
            Some(Ok(v)) => format!(
                "{}/{}/{}/{}",
                v.status,
                v.committee
                    .iter()
                    .filter(|s| s.seal.is_some() || s.settled)
                    .count(),
                v.committee.len(),
                v.output.is_some()
            ),
            _ => String::new(),
        });
        if key.is_empty() || previous.as_deref() == Some(key.as_str()) {
            return key;
        }
        let Some(Ok(v)) = job.get_untracked() else {
            return key;
        };
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        leptos::task::spawn_local(async move {
            let got = async {
                let c = api::chain().await?;
                let id = chain::parse_hash(&v.job_id)?;
                chain::history(&c.rpc, &c.program, &v.address, &id, None).await
            }
            .await;
            if generation.get_value() == mine {
                steps.set(Some(got));
            }
        });
        key
    });

    let kept = Kept {
        verdict: RwSignal::new(None),
        draws: RwSignal::new(Vec::new()),
        cancelled: RwSignal::new(None),
        checked: RwSignal::new(None),
    };
    view! {
        <h1>"Job " <code>{id}</code></h1>
        {move || match job.get() {
            None => view! { <p>"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p role="alert">{e}</p> }.into_any(),
            Some(Ok(j)) => view! { <JobDetails job=j steps=steps kept=kept/> }.into_any(),
        }}
    }
}

/// What the page's buttons found: kept across the live updates, which
/// redraw the details.
#[derive(Clone, Copy)]
struct Kept {
    verdict: RwSignal<Option<Result<String, String>>>,
    draws: RwSignal<Vec<Draw>>,
    cancelled: RwSignal<Option<Result<String, String>>>,
    checked: RwSignal<Option<Result<String, String>>>,
}

#[component]
fn JobDetails(
    job: JobView,
    steps: RwSignal<Option<Result<Vec<Step>, String>>, LocalStorage>,
    kept: Kept,
) -> impl IntoView {
    let status = job.status.clone();
    let output = job.output.clone();
    let winning = job.winning_output_hash.clone();
    let relay_timeline = job.timeline.clone();
    let committee = job.committee.clone();
    let job_for_settlement = job.clone();
    let job_for_verify = job.clone();
    let job_for_cancel = job.clone();
    let simulated = crate::post::remembered_simulation(&job.job_id);
    view! {
        <p>"Status: " <output aria-label="Status">{status}</output></p>
        <dl>
            <dt>"Tier"</dt><dd>{format!("{} ({} of {})", job.tier, job.quorum, job.committee_size)}</dd>
            <dt>"Client"</dt><dd><code>{job.client.clone()}</code></dd>
            <dt>"Escrow"</dt><dd>{if job.escrow_lamports == 0 && is_final(&job.status) {
                "settled (see the settlement)".to_string()
            } else {
                lamports(job.escrow_lamports)
            }}</dd>
            <dt>"Fuel cap"</dt><dd>{job.max_instructions}</dd>
            <dt>"Bundle"</dt><dd><a href=format!("/v1/bundles/{}", job.bundle_hash)><code>{job.bundle_hash.clone()}</code></a></dd>
            <dt>"Slot"</dt><dd>{format!("{} (round deadline {}, expiry {})", job.current_slot, job.deadline_slot, job.expiry_slot)}</dd>
            <dt>"Seed"</dt><dd><output aria-label="Seed">{job.seed.clone().unwrap_or_else(|| "not set yet".into())}</output></dd>
            <dt>"Snapshot"</dt><dd><output aria-label="Snapshot hash">{move || snapshots(&steps.get()).unwrap_or_else(|| "no committee drawn yet".into())}</output></dd>
        </dl>
        <CancelJobButton job=job_for_cancel message=kept.cancelled/>
        <h2>"Committee"</h2>
        <table aria-label="Committee">
            <thead><tr><th>"Worker"</th><th>"Seal"</th><th>"State"</th></tr></thead>
            <tbody>
                {committee.into_iter().map(|s| {
                    let state = if s.winner { "winner" } else if s.penalized { "penalized" } else if s.seal.is_some() { "sealed" } else if s.settled { "released" } else { "running" };
                    view! { <tr><td>{s.worker}</td><td>{s.seal.unwrap_or_else(|| "—".into())}</td><td>{state}</td></tr> }
                }).collect_view()}
            </tbody>
        </table>
        <VerifyCommittee job=job_for_verify steps=steps verdict=kept.verdict draws=kept.draws/>
        <h2>"Timeline"</h2>
        {move || match steps.get() {
            Some(Ok(list)) => view! {
                <ol aria-label="Timeline">
                    {timeline(&list).into_iter().map(|t| view! { <li>{t}</li> }).collect_view()}
                </ol>
            }.into_any(),
            other => {
                let note = match other {
                    Some(Err(e)) => Some(format!("The chain's history could not be read ({e}); the relay's summary follows.")),
                    _ => None,
                };
                view! {
                    {note.map(|n| view! { <p role="alert">{n}</p> })}
                    <ol aria-label="Timeline">
                        {relay_timeline.clone().into_iter().map(|t| view! { <li>{format!("{} at slot {}", t.event, t.slot)}</li> }).collect_view()}
                    </ol>
                }.into_any()
            }
        }}
        {move || settlement(&job_for_settlement, &steps.get())}
        {match (simulated, winning.clone()) {
            (Some((expected, fuel)), Some(actual)) => Some(if expected == actual {
                view! { <p role="status">{format!("The committee's output hash equals the one your simulation gave in this browser ({} fuel).", fuel)}</p> }.into_any()
            } else {
                view! { <p role="alert">{format!("The committee's output hash {actual} differs from your simulation's {expected}.")}</p> }.into_any()
            }),
            _ => None,
        }}
        {output.map(|o| view! { <OutputCheck hash=o.output_hash url=o.url winning=winning.clone() verdict=kept.checked/> })}
    }
}

/// The snapshot hashes the committee's draws name.
fn snapshots(steps: &Option<Result<Vec<Step>, String>>) -> Option<String> {
    let list = steps.as_ref()?.as_ref().ok()?;
    let mut out: Vec<String> = Vec::new();
    for e in list.iter().flat_map(|s| &s.events) {
        let h = match e {
            AnyEvent::WorkersAssigned(a) => hex(&a.snapshot_hash),
            AnyEvent::WorkerReassigned(r) => hex(&r.snapshot_hash),
            _ => continue,
        };
        if !out.contains(&h) {
            out.push(h);
        }
    }
    (!out.is_empty()).then(|| out.join(", "))
}

/// The job's history as a person reads it: what happened, at which slot.
fn timeline(steps: &[Step]) -> Vec<String> {
    let a = |k: &edgerun_protocol::layout::Pubkey| short(&chain::address(&k.0));
    let mut out = Vec::new();
    for s in steps {
        for e in &s.events {
            let what = match e {
                AnyEvent::JobPosted(p) => format!(
                    "posted at slot {}: escrow {}, {} of {} must agree",
                    s.slot,
                    lamports(p.escrow_lamports.get()),
                    p.quorum,
                    p.committee_size
                ),
                AnyEvent::JobSeeded(p) => {
                    format!("seeded at slot {}: seed {}", s.slot, short(&hex(&p.seed)))
                }
                AnyEvent::WorkersAssigned(p) => format!(
                    "assigned at slot {}: {} workers drawn from snapshot {}",
                    s.slot,
                    p.count,
                    short(&hex(&p.snapshot_hash))
                ),
                AnyEvent::ResultSubmitted(p) => {
                    format!(
                        "sealed at slot {}: {} sent its sealed result",
                        s.slot,
                        a(&p.worker)
                    )
                }
                AnyEvent::JobQuorumReached(p) => format!(
                    "revealed at slot {}: {} seals open to output {}",
                    s.slot,
                    p.votes,
                    short(&hex(&p.output_hash))
                ),
                AnyEvent::OutputDeclared(p) => format!(
                    "published at slot {}: {} made the output available",
                    s.slot,
                    a(&p.publisher)
                ),
                AnyEvent::JobFinalized(p) => format!(
                    "finalized at slot {}: {} workers paid {} each, {} to the treasury",
                    s.slot,
                    p.winners,
                    lamports(p.per_winner_lamports.get()),
                    lamports(p.treasury_lamports.get())
                ),
                AnyEvent::WorkerPenalized(p) => format!(
                    "penalized at slot {}: {} lost {} for silence",
                    s.slot,
                    a(&p.worker),
                    lamports(p.amount.get())
                ),
                AnyEvent::WorkerSlashed(p) => format!(
                    "slashed at slot {}: {} lost {} for a wrong result",
                    s.slot,
                    a(&p.worker),
                    lamports(p.amount.get())
                ),
                AnyEvent::SeatReleased(p) => {
                    format!(
                        "released at slot {}: {} left its seat unpenalized",
                        s.slot,
                        a(&p.worker)
                    )
                }
                AnyEvent::WorkerReassigned(p) => format!(
                    "reassigned at slot {}: {} replaces {}",
                    s.slot,
                    a(&p.new_worker),
                    a(&p.old_worker)
                ),
                AnyEvent::DaMissed(_) => {
                    format!(
                        "unpublished at slot {}: the output was not made available in time",
                        s.slot
                    )
                }
                AnyEvent::JobCancelled(p) => format!(
                    "cancelled at slot {}: {} refunded",
                    s.slot,
                    lamports(p.refund_lamports.get())
                ),
            };
            out.push(what);
        }
    }
    out
}

/// Who was paid, slashed, penalized or refunded, from the chain's events.
fn settlement(job: &JobView, steps: &Option<Result<Vec<Step>, String>>) -> Option<AnyView> {
    let list = steps.as_ref()?.as_ref().ok()?;
    let mut rows: Vec<(String, &'static str, u64)> = Vec::new();
    for e in list.iter().flat_map(|s| &s.events) {
        match e {
            AnyEvent::JobFinalized(f) => {
                for seat in job.committee.iter().filter(|s| s.winner) {
                    rows.push((
                        seat.worker.clone(),
                        "paid (agreed with the quorum)",
                        f.per_winner_lamports.get(),
                    ));
                }
                rows.push((
                    "treasury".into(),
                    "protocol fee and remainder",
                    f.treasury_lamports.get(),
                ));
            }
            AnyEvent::WorkerSlashed(s) => rows.push((
                chain::address(&s.worker.0),
                "slashed (wrong result)",
                s.amount.get(),
            )),
            AnyEvent::WorkerPenalized(p) => rows.push((
                chain::address(&p.worker.0),
                "penalized (silent)",
                p.amount.get(),
            )),
            AnyEvent::JobCancelled(c) => rows.push((
                job.client.clone(),
                "refunded (cancelled)",
                c.refund_lamports.get(),
            )),
            _ => {}
        }
    }
    if rows.is_empty() {
        return None;
    }
    Some(
        view! {
            <h2>"Settlement"</h2>
            <table aria-label="Settlement">
                <thead><tr><th>"Account"</th><th>"What"</th><th>"Amount"</th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|(who, what, amount)| view! {
                        <tr><td>{who}</td><td>{what}</td><td>{lamports(amount)}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
    )
}

/// Recomputes the committee here from the on-chain seed and the snapshots
/// (the protocol's selection code, compiled into this page).
#[component]
fn VerifyCommittee(
    job: JobView,
    steps: RwSignal<Option<Result<Vec<Step>, String>>, LocalStorage>,
    verdict: RwSignal<Option<Result<String, String>>>,
    draws: RwSignal<Vec<Draw>>,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let verify = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let job = job.clone();
        leptos::task::spawn_local(async move {
            let result: Result<String, String> = async {
                let c = api::chain().await?;
                let id = chain::parse_hash(&job.job_id)?;
                // The Job account itself, not the relay's view of it.
                let account = chain::job(&c.rpc, &c.program, &job.address, &id).await?;
                if !account.seed_set.get() {
                    return Err("The job has no seed yet: its committee is not drawn".into());
                }
                let history = chain::history(&c.rpc, &c.program, &job.address, &id, None).await?;
                steps.set(Some(Ok(history.clone())));
                let got = chain::recompute(&account.seed, &id, &history, |h| async move {
                    api::get_bytes(&format!("/v1/selections/{h}")).await
                })
                .await;
                draws.set(got.clone());
                if got.is_empty() {
                    return Err("The chain records no draw for this job yet".into());
                }
                if let Some(bad) = got.iter().find(|d| !d.matches()) {
                    return Err(match &bad.recomputed {
                        Err(e) => format!("Committee not verified: the {} from draw {}: {e}", bad.kind, bad.first_draw),
                        Ok(r) => format!(
                            "Committee mismatch: the {} from draw {} seated {:?}, but the seed and snapshot draw {:?}",
                            bad.kind, bad.first_draw, bad.recorded, r
                        ),
                    });
                }
                let drawn: Vec<String> = got.iter().flat_map(|d| d.recorded.clone()).collect();
                if let Some(w) = account
                    .assigned()
                    .iter()
                    .map(|w| chain::address(&w.0))
                    .find(|w| !drawn.contains(w))
                {
                    return Err(format!("Committee mismatch: {w} holds a seat no recorded draw gave it"));
                }
                Ok(format!(
                    "Committee verified: the seed {} and {} snapshot(s) give exactly the {} worker(s) the program seated, recomputed in this browser.",
                    short(&hex(&account.seed)),
                    got.len(),
                    drawn.len()
                ))
            }
            .await;
            busy.set(false);
            verdict.set(Some(result));
        });
    };
    view! {
        <button type="button" on:click=verify prop:disabled=move || busy.get()>"Verify committee"</button>
        {move || (!draws.get().is_empty()).then(|| view! {
            <table aria-label="Committee draws">
                <thead><tr><th>"Draw"</th><th>"Snapshot"</th><th>"Candidates"</th><th>"Seated"</th><th>"Recomputed"</th></tr></thead>
                <tbody>
                    {draws.get().into_iter().map(|d| {
                        let ok = d.matches();
                        view! {
                            <tr>
                                <td>{format!("{} (draws from {})", d.kind, d.first_draw)}</td>
                                <td><code>{short(&d.snapshot_hash)}</code></td>
                                <td>{d.candidates}</td>
                                <td>{d.recorded.iter().map(|w| short(w)).collect::<Vec<_>>().join(", ")}</td>
                                <td>{match d.recomputed { Ok(r) => format!("{} {}", if ok { "✓" } else { "✗" }, r.iter().map(|w| short(w)).collect::<Vec<_>>().join(", ")), Err(e) => format!("✗ {e}") }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        })}
        {move || verdict.get().map(|v| match v {
            Ok(m) => view! { <p role="status">{m}</p> }.into_any(),
            Err(m) => view! { <p role="alert">{m}</p> }.into_any(),
        })}
    }
}

/// The client takes the job back while it is Posted or Seeded (no worker
/// holds a seat yet): cancel_job, signed by the connected wallet.
#[component]
fn CancelJobButton(
    job: JobView,
    message: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    let ctx = expect_context::<WalletCtx>();
    let busy = RwSignal::new(false);
    let open = matches!(job.status.as_str(), "Posted" | "Seeded");
    let client = job.client.clone();
    let is_client = move || ctx.account.get().is_some_and(|a| a.address == client);
    let cancel = move |_| {
        if busy.get_untracked() {
            return;
        }
        let Some(account) = ctx.account.get_untracked() else {
            return;
        };
        busy.set(true);
        let job = job.clone();
        leptos::task::spawn_local(async move {
            let result: Result<String, String> = async {
                let c = api::chain().await?;
                let program = chain::parse_address(&c.program)?;
                let client = chain::parse_address(&account.address)?;
                let address = chain::parse_address(&job.address)?;
                // The job account must be this job's, owned by the program.
                chain::job(
                    &c.rpc,
                    &c.program,
                    &job.address,
                    &chain::parse_hash(&job.job_id)?,
                )
                .await?;
                let blockhash = chain::latest_blockhash(&c.rpc).await?;
                let unsigned = tx::single(&program, &CancelJob {}, &[client, address], &blockhash);
                let signed = account
                    .sign_transaction(&unsigned, crate::chain_name(&c.rpc))
                    .await?;
                let signature = api::send_transaction(&c.rpc, &signed).await?;
                api::confirm(&c.rpc, &signature).await?;
                Ok(format!(
                    "Cancelled: the escrow ({}) and the records deposit are back in your wallet.",
                    lamports(job.escrow_lamports)
                ))
            }
            .await;
            busy.set(false);
            message.set(Some(result));
        });
    };
    view! {
        {move || (open && is_client()).then(|| view! {
            <p>"No worker holds a seat yet: you can take the job back, with a full refund."</p>
            <button type="button" on:click=cancel.clone() prop:disabled=move || busy.get()>"Cancel job"</button>
        })}
        {move || message.get().map(|v| match v {
            Ok(m) => view! { <p role="status">{m}</p> }.into_any(),
            Err(m) => view! { <p role="alert">{m}</p> }.into_any(),
        })}
    }
}

/// Downloads the output and checks its BLAKE3 against the revealed hash.
#[component]
fn OutputCheck(
    hash: String,
    url: Option<String>,
    winning: Option<String>,
    verdict: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    let path = format!("/v1/outputs/{hash}");
    let expected = winning.unwrap_or_else(|| hash.clone());
    let check = move |_| {
        let (path, expected) = (path.clone(), expected.clone());
        leptos::task::spawn_local(async move {
            let got = match api::get_bytes(&path).await {
                Ok(bytes) => {
                    let actual =
                        edgerun_protocol::hash::hex(&edgerun_protocol::hash::output_hash(&bytes));
                    if actual == expected {
                        Ok(format!(
                            "Verified: {} bytes, BLAKE3 {actual} equals the hash the committee revealed.",
                            bytes.len()
                        ))
                    } else {
                        Err(format!(
                            "Mismatch: the relay's output hashes to {actual}, but the committee revealed {expected}. Do not use it."
                        ))
                    }
                }
                Err(e) => Err(e),
            };
            verdict.set(Some(got));
        });
    };
    view! {
        <h2>"Output"</h2>
        <p>"Revealed hash: " <code>{hash.clone()}</code></p>
        {url.map(|u| view! { <p><a href=u>"Download the output"</a></p> })}
        <button type="button" on:click=check>"Verify output"</button>
        {move || verdict.get().map(|v| match v {
            Ok(m) => view! { <p role="status">{m}</p> }.into_any(),
            Err(m) => view! { <p role="alert">{m}</p> }.into_any(),
        })}
    }
}
