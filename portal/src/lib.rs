//! The edgerun portal (Leptos, client-side rendered), served by the relay
//! at `/app/`: connect a wallet (any Wallet Standard wallet); post a job
//! (a template or your own module, validated and simulated in the browser,
//! priced from the chain's Config, signed by the wallet); follow it live,
//! recompute its committee from the seed, see who was paid, and download
//! its output with BLAKE3 checked against the hash the committee revealed;
//! list your jobs; volunteer this tab as a worker; see recent jobs and the
//! workers online.
//!
//! Built by `cargo xtask build-portal` (wasm-bindgen `web`, wasm-opt) to
//! `<target>/portal/`; `edgerun up` serves it.

pub mod api;
pub mod chain;
mod job;
mod post;
mod runtime;
pub mod tx;
mod volunteer;
pub mod wallet;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use wasm_bindgen::prelude::*;

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
                    <a href="/app/mine">"My jobs"</a>
                    <a href="/app/volunteer">"Volunteer"</a>
                </nav>
                <WalletBar/>
            </header>
            <main>
                <Routes fallback=|| view! { <p role="alert">"No such page. Go to the Explorer."</p> }>
                    <Route path=path!("/") view=Explorer/>
                    <Route path=path!("/jobs/:id") view=job::JobPage/>
                    <Route path=path!("/post") view=post::PostPage/>
                    <Route path=path!("/mine") view=MyJobs/>
                    <Route path=path!("/volunteer") view=volunteer::VolunteerPage/>
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
    let recent = LocalResource::new(|| async {
        let c = api::chain().await?;
        let mut list = chain::jobs(&c.rpc, &c.program, None).await?;
        list.truncate(20);
        Ok::<_, String>(list)
    });
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
        <h2>"Recent jobs"</h2>
        <Suspense fallback=|| view! { <p>"Reading the chain…"</p> }>
            {move || recent.get().map(|r| match r {
                Ok(list) if list.is_empty() => view! { <p>"No job has been posted on this chain yet."</p> }.into_any(),
                Ok(list) => view! { <JobsTable jobs=list label="Recent jobs"/> }.into_any(),
                Err(e) => view! { <p role="alert">{e}</p> }.into_any(),
            })}
        </Suspense>
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

/// Lamports as SOL for people (9 decimals, trailing zeros dropped).
fn lamports(l: u64) -> String {
    let sol = format!("{}.{:09}", l / 1_000_000_000, l % 1_000_000_000);
    format!("{} SOL", sol.trim_end_matches('0').trim_end_matches('.'))
}

/// The Wallet Standard chain id for an RPC URL.
pub(crate) fn chain_name(rpc: &str) -> &'static str {
    if rpc.contains("127.0.0.1") || rpc.contains("localhost") {
        "solana:localnet"
    } else if rpc.contains("devnet") {
        "solana:devnet"
    } else {
        "solana:mainnet"
    }
}

/// Jobs from the chain's Job accounts: everyone's recent ones, or one
/// client's.
#[component]
fn JobsTable(jobs: Vec<edgerun_protocol::state::Job>, label: &'static str) -> impl IntoView {
    use edgerun_protocol::hash::hex;
    use edgerun_protocol::state::job_status;
    view! {
        <table aria-label=label>
            <thead><tr><th>"Job"</th><th>"Status"</th><th>"Tier"</th><th>"Escrow"</th><th>"Posted at slot"</th></tr></thead>
            <tbody>
                {jobs.into_iter().map(|j| {
                    let id = hex(&j.job_id);
                    let tier = edgerun_protocol::tier::Tier::ALL
                        .into_iter()
                        .find(|t| t.committee().size == j.committee_size)
                        .map_or("custom", |t| t.sla_name());
                    view! {
                        <tr>
                            <td><a href=format!("/app/jobs/{id}")><code>{format!("{}…", &id[..16])}</code></a></td>
                            <td>{job_status::name(j.status)}</td>
                            <td>{tier}</td>
                            <td>{if j.escrow_lamports.get() == 0 { "settled".to_string() } else { lamports(j.escrow_lamports.get()) }}</td>
                            <td>{j.created_slot.get()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The connected wallet's jobs, read from the chain.
#[component]
fn MyJobs() -> impl IntoView {
    let ctx = expect_context::<WalletCtx>();
    let jobs = LocalResource::new(move || {
        let account = ctx.account.get();
        async move {
            let account = account?;
            Some(
                async {
                    let c = api::chain().await?;
                    chain::jobs(&c.rpc, &c.program, Some(&account.address)).await
                }
                .await,
            )
        }
    });
    view! {
        <h1>"My jobs"</h1>
        <Suspense fallback=|| view! { <p>"Reading the chain…"</p> }>
            {move || jobs.get().map(|r| match r {
                None => view! { <p>"Connect a wallet to see the jobs it posted."</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p>"This wallet has posted no job on this chain. Post one from the Post page."</p> }.into_any(),
                Some(Ok(list)) => view! { <JobsTable jobs=list label="My jobs"/> }.into_any(),
                Some(Err(e)) => view! { <p role="alert">{e}</p> }.into_any(),
            })}
        </Suspense>
    }
}
