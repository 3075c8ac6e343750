//! The edgerun portal (Leptos, client-side rendered), served by the relay
//! at `/app/`: connect a wallet (any Wallet Standard wallet), follow a job
//! and its committee live, download its output with BLAKE3 checked in the
//! browser against the hash the committee revealed on chain, and see the
//! workers online.
//!
//! Built by `cargo xtask build-portal` (wasm-bindgen `web`, wasm-opt) to
//! `<target>/portal/`; `edgerun up` serves it.

pub mod api;
pub mod wallet;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_params_map;
use leptos_router::path;
use wasm_bindgen::prelude::*;

use crate::api::JobView;
use crate::wallet::{Account, Registry};

/// Mounts the portal on `<body>`.
#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(App);
}

/// The wallet state every page shares.
#[derive(Clone, Copy)]
struct WalletCtx {
    registry: StoredValue<Registry, LocalStorage>,
    /// Bumped when a wallet registers.
    wallets_seen: RwSignal<usize>,
    account: RwSignal<Option<Account>, LocalStorage>,
    error: RwSignal<Option<String>>,
}

#[component]
fn App() -> impl IntoView {
    let ctx = WalletCtx {
        registry: StoredValue::new_local(Registry::default()),
        wallets_seen: RwSignal::new(0),
        account: RwSignal::new_local(None),
        error: RwSignal::new(None),
    };
    let registry = ctx.registry.get_value();
    let seen = ctx.wallets_seen;
    registry.start(move || seen.update(|n| *n += 1));
    provide_context(ctx);
    view! {
        <Router base="/app">
            <header>
                <nav aria-label="Portal">
                    // Full paths: the relay serves any /app/ page, and
                    // the router takes the click when it can.
                    <a href="/app/">"Explorer"</a>
                    <a href="/app/post">"Post a job"</a>
                </nav>
                <WalletBar/>
            </header>
            <main>
                <Routes fallback=|| view! { <p role="alert">"No such page. Go to the Explorer."</p> }>
                    <Route path=path!("/") view=Explorer/>
                    <Route path=path!("/jobs/:id") view=JobPage/>
                    <Route path=path!("/post") view=PostPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// Connect: one button per usable wallet; the connected address.
#[component]
fn WalletBar() -> impl IntoView {
    let ctx = expect_context::<WalletCtx>();
    let connect = move |index: usize| {
        let Some(wallet) = ctx.registry.with_value(|r| r.wallets().get(index).cloned()) else {
            return;
        };
        ctx.error.set(None);
        leptos::task::spawn_local(async move {
            match wallet.connect().await {
                Ok(account) => ctx.account.set(Some(account)),
                Err(e) => ctx.error.set(Some(e)),
            }
        });
    };
    view! {
        <section aria-label="Wallet">
            {move || {
                ctx.wallets_seen.get();
                match ctx.account.get() {
                    Some(a) => view! {
                        <p>"Connected: " <output aria-label="Connected address">{a.address.clone()}</output>
                           " (" {a.wallet.name()} ")"</p>
                    }.into_any(),
                    None => {
                        let wallets = ctx.registry.with_value(|r| r.wallets());
                        let usable: Vec<_> = wallets.into_iter().enumerate().filter(|(_, w)| w.usable()).collect();
                        if usable.is_empty() {
                            view! { <p>"No Solana wallet found. Install Phantom, Solflare or Backpack, then reload."</p> }.into_any()
                        } else {
                            usable.into_iter().map(|(i, w)| {
                                let name = w.name();
                                let icon = w.icon();
                                view! {
                                    <button type="button" on:click=move |_| connect(i)>
                                        {(!icon.is_empty()).then(|| view! { <img src=icon.clone() alt="" width="16" height="16"/> })}
                                        {format!("Connect {name}")}
                                    </button>
                                }
                            }).collect_view().into_any()
                        }
                    }
                }
            }}
            {move || ctx.error.get().map(|e| view! { <p role="alert">{e}</p> })}
        </section>
    }
}

/// Workers online now (their last signed heartbeat at this relay).
#[component]
fn Explorer() -> impl IntoView {
    #[derive(Clone, serde::Deserialize)]
    struct Online {
        workers: Vec<Worker>,
    }
    #[derive(Clone, serde::Deserialize)]
    struct Worker {
        address: String,
        seen_ms_ago: u64,
        max_fuel: Option<u64>,
    }
    let online = LocalResource::new(|| api::get_json::<Online>("/v1/workers/online?within_s=30"));
    let job = RwSignal::new(String::new());
    let navigate = leptos_router::hooks::use_navigate();
    let open = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let id = job.get().trim().to_lowercase();
        navigate(&format!("/jobs/{id}"), Default::default());
    };
    view! {
        <h1>"Explorer"</h1>
        <form on:submit=open>
            <label>"Job id" <input type="text" bind:value=job required pattern="[0-9a-fA-F]{64}"/></label>
            <button type="submit">"Open job"</button>
        </form>
        <h2>"Workers online"</h2>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || online.get().map(|r| match r {
                Ok(o) if o.workers.is_empty() => view! { <p>"No worker is online."</p> }.into_any(),
                Ok(o) => view! {
                    <table aria-label="Workers online">
                        <thead><tr><th>"Worker"</th><th>"Seen"</th><th>"Largest fuel cap"</th></tr></thead>
                        <tbody>
                            {o.workers.into_iter().map(|w| view! {
                                <tr>
                                    <td>{w.address}</td>
                                    <td>{format!("{:.1} s ago", w.seen_ms_ago as f64 / 1000.0)}</td>
                                    <td>{w.max_fuel.map_or("any".to_string(), |m| m.to_string())}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(e) => view! { <p role="alert">{e}</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// A job, live: status, committee, timeline; its output checked in the
/// browser.
#[component]
fn JobPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let job: RwSignal<Option<Result<JobView, String>>> = RwSignal::new(None);
    // Polled each second until the job is final.
    let poll = move || {
        let id = id();
        leptos::task::spawn_local(async move {
            let got = api::get_json::<JobView>(&format!("/v1/jobs/{id}")).await;
            job.set(Some(got));
        });
    };
    poll();
    let handle = set_interval_with_handle(
        move || {
            let done = job.with_untracked(
                |j| matches!(j, Some(Ok(v)) if v.status == "Finalized" || v.status == "Cancelled"),
            );
            if !done {
                poll();
            }
        },
        std::time::Duration::from_secs(1),
    );
    on_cleanup(move || {
        if let Ok(h) = handle {
            h.clear();
        }
    });
    view! {
        <h1>"Job " <code>{id}</code></h1>
        {move || match job.get() {
            None => view! { <p>"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p role="alert">{e}</p> }.into_any(),
            Some(Ok(j)) => view! { <JobDetails job=j/> }.into_any(),
        }}
    }
}

#[component]
fn JobDetails(job: JobView) -> impl IntoView {
    let status = job.status.clone();
    let output = job.output.clone();
    let winning = job.winning_output_hash.clone();
    view! {
        <p>"Status: " <output aria-label="Status">{status}</output></p>
        <dl>
            <dt>"Tier"</dt><dd>{format!("{} ({} of {})", job.tier, job.quorum, job.committee_size)}</dd>
            <dt>"Escrow"</dt><dd>{format!("{} lamports", job.escrow_lamports)}</dd>
            <dt>"Fuel cap"</dt><dd>{job.max_instructions}</dd>
            <dt>"Slot"</dt><dd>{format!("{} (round deadline {}, expiry {})", job.current_slot, job.deadline_slot, job.expiry_slot)}</dd>
        </dl>
        <h2>"Committee"</h2>
        <table aria-label="Committee">
            <thead><tr><th>"Worker"</th><th>"Seal"</th><th>"State"</th></tr></thead>
            <tbody>
                {job.committee.into_iter().map(|s| {
                    let state = if s.winner { "winner" } else if s.penalized { "penalized" } else if s.seal.is_some() { "sealed" } else if s.settled { "released" } else { "running" };
                    view! { <tr><td>{s.worker}</td><td>{s.seal.unwrap_or_else(|| "—".into())}</td><td>{state}</td></tr> }
                }).collect_view()}
            </tbody>
        </table>
        <h2>"Timeline"</h2>
        <ol aria-label="Timeline">
            {job.timeline.into_iter().map(|t| view! { <li>{format!("{} at slot {}", t.event, t.slot)}</li> }).collect_view()}
        </ol>
        {output.map(|o| view! { <OutputCheck hash=o.output_hash url=o.url winning=winning.clone()/> })}
    }
}

/// Downloads the output and checks its BLAKE3 against the revealed hash.
#[component]
fn OutputCheck(hash: String, url: Option<String>, winning: Option<String>) -> impl IntoView {
    let verdict: RwSignal<Option<Result<String, String>>> = RwSignal::new(None);
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

/// The demo workloads, with a sample input each (`<portal>/templates/`).
const TEMPLATES: [(&str, &str); 2] = [
    ("json-redact", "JSON redaction (a customer profile)"),
    ("compress-hash", "Compress and hash (14 KB of text)"),
];

/// Post a job from the connected wallet: a template, a tier, the relay
/// prepares post_job, the wallet signs, the chain takes it, the job's page
/// follows it.
#[component]
fn PostPage() -> impl IntoView {
    use edgerun_protocol::tier::Tier;
    let ctx = expect_context::<WalletCtx>();
    let template = RwSignal::new(TEMPLATES[0].0.to_string());
    let tier = RwSignal::new("bronze".to_string());
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let step: RwSignal<Option<String>> = RwSignal::new(None);
    let navigate = leptos_router::hooks::use_navigate();
    let post = move |_| {
        // One post at a time: a second click while one runs does nothing.
        if busy.get_untracked() {
            return;
        }
        let Some(account) = ctx.account.get_untracked() else {
            error.set(Some(
                "Connect a wallet first: the job is posted and paid from it.".into(),
            ));
            return;
        };
        busy.set(true);
        error.set(None);
        let (name, tier_name) = (template.get_untracked(), tier.get_untracked());
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let result: Result<String, String> = async {
                step.set(Some("Uploading the job to the relay…".into()));
                let wasm = api::get_bytes(&format!("/app/templates/{name}.wasm")).await?;
                let input = api::get_bytes(&format!("/app/templates/{name}.input")).await?;
                let info = api::get_json::<api::Info>("/v1/info").await?;
                let rpc = info.rpc_url.ok_or(
                    "This relay names no RPC for browsers (start it with --public-rpc), so the signed job cannot be sent",
                )?;
                let posted = api::post_job(&wasm, &input, &tier_name, &account.address).await?;
                let tx = posted.transaction.ok_or("The relay prepared no transaction")?;
                let tx = {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD
                        .decode(tx)
                        .map_err(|e| format!("The relay's transaction is not base64: {e}"))?
                };
                step.set(Some(format!(
                    "Sign in your wallet: {} escrow for job {}…",
                    lamports(posted.escrow_lamports),
                    &posted.job_id[..16]
                )));
                let chain = if rpc.contains("127.0.0.1") || rpc.contains("localhost") {
                    "solana:localnet"
                } else if rpc.contains("devnet") {
                    "solana:devnet"
                } else {
                    "solana:mainnet"
                };
                let signed = account.sign_transaction(&tx, chain).await?;
                step.set(Some("Sending to the chain…".into()));
                let signature = api::send_transaction(&rpc, &signed).await?;
                step.set(Some(format!("Waiting for the chain to confirm {}…", &signature[..16])));
                api::confirm(&rpc, &signature).await?;
                Ok(posted.job_id)
            }
            .await;
            busy.set(false);
            step.set(None);
            match result {
                Ok(id) => navigate(&format!("/jobs/{id}"), Default::default()),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <h1>"Post a job"</h1>
        <fieldset>
            <legend>"Workload"</legend>
            {TEMPLATES.iter().map(|(id, label)| {
                let id = id.to_string();
                let value = id.clone();
                view! {
                    <label>
                        <input type="radio" name="template" value=id.clone()
                            prop:checked=move || template.get() == value
                            on:change=move |_| template.set(id.clone())/>
                        {*label}
                    </label>
                }
            }).collect_view()}
        </fieldset>
        <fieldset>
            <legend>"Tier"</legend>
            {[Tier::Bronze, Tier::Silver, Tier::Gold].into_iter().map(|t| {
                let id = t.sla_name().to_lowercase();
                let value = id.clone();
                let c = t.committee();
                let label = format!(
                    "{}: {} workers, {} must agree; escrow {}",
                    t.sla_name(), c.size, c.quorum, lamports(t.default_escrow())
                );
                view! {
                    <label>
                        <input type="radio" name="tier" value=id.clone()
                            prop:checked=move || tier.get() == value
                            on:change=move |_| tier.set(id.clone())/>
                        {label}
                    </label>
                }
            }).collect_view()}
        </fieldset>
        <button type="button" on:click=post prop:disabled=move || busy.get()>"Post job"</button>
        {move || step.get().map(|s| view! { <p role="status">{s}</p> })}
        {move || error.get().map(|e| view! { <p role="alert">{e}</p> })}
    }
}

/// Lamports as SOL for people (9 decimals, trailing zeros dropped).
fn lamports(l: u64) -> String {
    let sol = format!("{}.{:09}", l / 1_000_000_000, l % 1_000_000_000);
    format!("{} SOL", sol.trim_end_matches('0').trim_end_matches('.'))
}
