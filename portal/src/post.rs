//! Post a job: a template or the customer's own wasm and input, checked by
//! the runtime's own validator and simulated in this browser before
//! anything is uploaded or paid; the price of each tier from the chain's
//! Config; a balance check; the relay prepares post_job, the portal checks
//! that transaction, the wallet signs, the chain takes it.

use edgerun_protocol::economics::{JobCost, job_cost};
use edgerun_protocol::hash::hex;
use edgerun_protocol::layout::Account as _;
use edgerun_protocol::state::{Job, JobResult, OutputAvailability};
use edgerun_protocol::tier::Tier;
use leptos::prelude::*;

use crate::{WalletCtx, api, chain, lamports, runtime, tx};

/// The demo workloads, with a sample input each (`<portal>/templates/`).
const TEMPLATES: [(&str, &str); 2] = [
    ("json-redact", "JSON redaction (a customer profile)"),
    ("compress-hash", "Compress and hash (14 KB of text)"),
];

/// Limits the portal posts with (the relay's defaults, and fuel a
/// customer sets): the simulated bundle is the bundle the relay builds.
const MEMORY: u32 = 64 << 20;
const OUTPUT: u32 = 1 << 20;
const DEFAULT_FUEL: u64 = 1_000_000_000;

/// What a tier costs on this chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Price {
    pub tier: Tier,
    pub cost: JobCost,
}

/// Every tier's price from the chain's Config and rent
/// (`economics::job_cost`, as every client computes it).
async fn prices() -> Result<Vec<Price>, String> {
    let c = api::chain().await?;
    let config = chain::config(&c.rpc, &c.program, &c.config).await?;
    let p = config.params;
    let rents = (
        chain::rent(&c.rpc, JobResult::SPACE).await?,
        chain::rent(&c.rpc, OutputAvailability::SPACE).await?,
        chain::rent(&c.rpc, Job::SPACE).await?,
    );
    Tier::ALL
        .into_iter()
        .map(|tier| {
            let committee = tier.committee();
            let escrow = tier.default_escrow().max(p.min_escrow_lamports.get());
            let cost = job_cost(
                escrow,
                0,
                p.protocol_fee_bps.get(),
                p.min_job_fee_lamports.get(),
                (committee.size, committee.quorum),
                rents,
            )
            .map_err(|e| format!("the chain's fee does not compute: {e:?}"))?;
            Ok(Price { tier, cost })
        })
        .collect()
}

/// A module checked and run here.
#[derive(Clone, Debug, PartialEq)]
pub struct Simulation {
    pub bundle_hash: String,
    pub outcome: String,
    pub output_hash: String,
    pub fuel_used: u64,
    pub output_len: u64,
    pub engine: String,
}

/// Where the job's bytes come from.
#[derive(Clone, Debug, PartialEq)]
enum Source {
    Template(String),
    Upload,
}

/// A file picked in an input: its name and bytes.
type Picked = Option<(String, Vec<u8>)>;

async fn read_file(input: &web_sys::HtmlInputElement) -> Result<Picked, String> {
    let Some(file) = input.files().and_then(|f| f.get(0)) else {
        return Ok(None);
    };
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| {
            format!(
                "{} could not be read: {}",
                file.name(),
                crate::wallet::describe(&e)
            )
        })?;
    Ok(Some((
        file.name(),
        js_sys::Uint8Array::new(&buffer).to_vec(),
    )))
}

#[component]
pub fn PostPage() -> impl IntoView {
    let ctx = expect_context::<WalletCtx>();
    let source = RwSignal::new(Source::Template(TEMPLATES[0].0.to_string()));
    let wasm_file: RwSignal<Picked> = RwSignal::new(None);
    let input_file: RwSignal<Picked> = RwSignal::new(None);
    let fuel = RwSignal::new(DEFAULT_FUEL.to_string());
    let priority = RwSignal::new("0".to_string());
    let tier = RwSignal::new(Tier::Bronze);
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let step: RwSignal<Option<String>> = RwSignal::new(None);
    let simulation: RwSignal<Option<Simulation>> = RwSignal::new(None);
    let price_table = LocalResource::new(prices);
    let balance = LocalResource::new(move || {
        let account = ctx.account.get();
        async move {
            match account {
                None => None,
                Some(a) => Some(match api::chain().await {
                    Ok(c) => chain::balance(&c.rpc, &a.address).await,
                    Err(e) => Err(e),
                }),
            }
        }
    });
    // A change of workload or fuel makes an earlier simulation stale.
    Effect::new(move |_| {
        source.track();
        wasm_file.track();
        input_file.track();
        fuel.track();
        simulation.set(None);
    });
    let navigate = leptos_router::hooks::use_navigate();

    // The job's bytes and fuel cap, as chosen.
    let chosen = move || {
        let src = source.get_untracked();
        let fuel_text = fuel.get_untracked();
        let (wasm_pick, input_pick) = (wasm_file.get_untracked(), input_file.get_untracked());
        async move {
            let fuel: u64 = fuel_text
                .trim()
                .replace([',', '_'], "")
                .parse()
                .ok()
                .filter(|f| *f > 0)
                .ok_or("The fuel cap must be a positive whole number of fuel units")?;
            let (wasm, input) = match src {
                Source::Template(name) => (
                    api::get_bytes(&format!("/app/templates/{name}.wasm")).await?,
                    api::get_bytes(&format!("/app/templates/{name}.input")).await?,
                ),
                Source::Upload => (
                    wasm_pick
                        .ok_or("Choose a WebAssembly module (.wasm) to upload")?
                        .1,
                    input_pick.map(|p| p.1).unwrap_or_default(),
                ),
            };
            Ok::<_, String>((wasm, input, fuel))
        }
    };

    let simulate = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let result: Result<Simulation, String> = async {
                let (wasm, input, fuel) = chosen().await?;
                step.set(Some(
                    "Checking the module with the runtime's validator…".into(),
                ));
                let bundle = runtime::build_bundle(&wasm, &input, MEMORY, fuel, OUTPUT).await?;
                step.set(Some("Running the job in this browser…".into()));
                runtime::simulate(&bundle).await
            }
            .await;
            busy.set(false);
            step.set(None);
            match result {
                Ok(s) => simulation.set(Some(s)),
                Err(e) => error.set(Some(e)),
            }
        });
    };

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
        let tier_now = tier.get_untracked();
        let priority_text = priority.get_untracked();
        let simulated = simulation.get_untracked();
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let result: Result<String, String> = async {
                let c = api::chain().await?;
                let priority_fee = sol_to_lamports(&priority_text).ok_or(
                    "The priority fee must be an amount of SOL, like 0.001 (0 for none)",
                )?;
                let (wasm, input, fuel) = chosen().await?;
                // Checked here before a byte is uploaded.
                step.set(Some("Checking the module with the runtime's validator…".into()));
                let bundle = runtime::build_bundle(&wasm, &input, MEMORY, fuel, OUTPUT).await?;
                let bundle_hash = runtime::bundle_hash(&bundle).await?;
                step.set(Some("Checking the price and your balance…".into()));
                let price = prices()
                    .await?
                    .into_iter()
                    .find(|p| p.tier == tier_now)
                    .ok_or("no price for this tier")?;
                let have = chain::balance(&c.rpc, &account.address).await?;
                let need = price.cost.total() + priority_fee;
                if have < need {
                    return Err(format!(
                        "Insufficient balance: your wallet holds {}, and a {} job needs {} (escrow, deposits, priority fee and the network fee). Add SOL to {} and try again; nothing was posted.",
                        lamports(have),
                        tier_now.sla_name(),
                        lamports(need),
                        account.address
                    ));
                }
                step.set(Some("Uploading the job to the relay…".into()));
                let posted = api::post_job(
                    &wasm,
                    &input,
                    &tier_now.sla_name().to_lowercase(),
                    &account.address,
                    price.cost.escrow,
                    priority_fee,
                    (MEMORY, fuel, OUTPUT),
                )
                .await?;
                if posted.bundle_hash != bundle_hash {
                    return Err(format!(
                        "The relay built bundle {}, not the {} checked here; nothing was signed",
                        posted.bundle_hash, bundle_hash
                    ));
                }
                let tx = posted.transaction.ok_or("The relay prepared no transaction")?;
                let tx = {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD
                        .decode(tx)
                        .map_err(|e| format!("The relay's transaction is not base64: {e}"))?
                };
                // What the wallet is asked to sign is checked first.
                let prepared = tx::check_post_job(
                    &tx,
                    &chain::parse_address(&c.program)?,
                    &chain::parse_address(&account.address)?,
                )?;
                let a = &prepared.args;
                if hex(&a.job_id) != posted.job_id
                    || hex(&a.bundle_hash) != bundle_hash
                    || a.escrow_lamports.get() != price.cost.escrow
                    || a.limits.max_instructions.get() != fuel
                    || a.priority_fee_lamports.get() != priority_fee
                {
                    return Err("The relay's post_job names another job, bundle, escrow, priority fee or fuel cap than this page asked for; nothing was signed".into());
                }
                step.set(Some(format!(
                    "Sign in your wallet: {} escrow{} for job {}…",
                    lamports(price.cost.escrow),
                    if priority_fee > 0 { format!(" and a {} priority fee", lamports(priority_fee)) } else { String::new() },
                    &posted.job_id[..16]
                )));
                let chain_name = if c.rpc.contains("127.0.0.1") || c.rpc.contains("localhost") {
                    "solana:localnet"
                } else if c.rpc.contains("devnet") {
                    "solana:devnet"
                } else {
                    "solana:mainnet"
                };
                let signed = account.sign_transaction(&tx, chain_name).await?;
                step.set(Some("Sending to the chain…".into()));
                let signature = api::send_transaction(&c.rpc, &signed).await?;
                step.set(Some(format!(
                    "Waiting for the chain to confirm {}…",
                    &signature[..16]
                )));
                api::confirm(&c.rpc, &signature).await?;
                // The job's page compares the committee's hash with this.
                if let Some(s) = simulated.filter(|s| s.bundle_hash == bundle_hash) {
                    remember_simulation(&posted.job_id, &s);
                }
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

    let pick = move |signal: RwSignal<Picked>| {
        move |ev: leptos::ev::Event| {
            let input: web_sys::HtmlInputElement = event_target(&ev);
            leptos::task::spawn_local(async move {
                match read_file(&input).await {
                    Ok(p) => signal.set(p),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
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
                        <input type="radio" name="source" value=id.clone()
                            prop:checked=move || source.get() == Source::Template(value.clone())
                            on:change=move |_| source.set(Source::Template(id.clone()))/>
                        {*label}
                    </label>
                }
            }).collect_view()}
            <label>
                <input type="radio" name="source" value="upload"
                    prop:checked=move || source.get() == Source::Upload
                    on:change=move |_| source.set(Source::Upload)/>
                "My own module and input"
            </label>
            <Show when=move || source.get() == Source::Upload>
                <label>"WebAssembly module" <input type="file" accept=".wasm,application/wasm" on:change=pick(wasm_file)/></label>
                <label>"Input file" <input type="file" on:change=pick(input_file)/></label>
            </Show>
            <label>"Fuel cap" <input type="text" inputmode="numeric" bind:value=fuel/></label>
            <p>"Memory cap 64 MiB, output cap 1 MiB. A job that passes a cap fails the same way on every worker."</p>
        </fieldset>
        <button type="button" on:click=simulate prop:disabled=move || busy.get()>"Check and simulate"</button>
        {move || simulation.get().map(|s| view! {
            <section aria-label="Simulation">
                <p role="status">{format!(
                    "Simulated in this browser ({}): outcome {}, {} fuel used, {} bytes of output.",
                    s.engine, s.outcome, s.fuel_used, s.output_len
                )}</p>
                <dl>
                    <dt>"Expected output hash"</dt><dd><output aria-label="Expected output hash">{s.output_hash.clone()}</output></dd>
                    <dt>"Fuel used"</dt><dd><output aria-label="Fuel used">{s.fuel_used}</output></dd>
                    <dt>"Bundle"</dt><dd><code>{s.bundle_hash.clone()}</code></dd>
                </dl>
            </section>
        })}
        <fieldset>
            <legend>"Tier"</legend>
            {Tier::ALL.into_iter().map(|t| {
                let c = t.committee();
                let label = format!("{}: {} workers, {} must agree", t.sla_name(), c.size, c.quorum);
                view! {
                    <label>
                        <input type="radio" name="tier" value=t.sla_name()
                            prop:checked=move || tier.get() == t
                            on:change=move |_| tier.set(t)/>
                        {label}
                    </label>
                }
            }).collect_view()}
        </fieldset>
        <label>"Priority fee (SOL)" <input type="text" inputmode="decimal" bind:value=priority/></label>
        <p>"Optional: the scheduler seats jobs with a higher priority fee first. It goes to the treasury when the job finalizes and comes back if you cancel."</p>
        <h2>"Price"</h2>
        <Suspense fallback=|| view! { <p>"Reading the chain's config…"</p> }>
            {move || price_table.get().map(|r| match r {
                Err(e) => view! { <p role="alert">{format!("The price could not be read: {e}")}</p> }.into_any(),
                Ok(list) => view! {
                    <table aria-label="Price">
                        <thead><tr>
                            <th>"Tier"</th><th>"Escrow"</th><th>"Protocol fee"</th>
                            <th>"Each agreeing worker earns"</th><th>"Deposits"</th><th>"You need"</th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|Price { tier, cost: c }| view! {
                                <tr>
                                    <td>{tier.sla_name()}</td>
                                    <td>{lamports(c.escrow)}</td>
                                    <td>{lamports(c.fee)}</td>
                                    <td>{format!("{} (all agree) to {} (quorum only)", lamports(c.per_worker_all_agree), lamports(c.per_worker_quorum_only))}</td>
                                    <td>{format!("{} records (unused part refunded) + {} job account", lamports(c.records_deposit), lamports(c.job_rent))}</td>
                                    <td>{lamports(c.total())}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <p>"The escrow pays the committee; the protocol fee goes to the treasury. Read from the chain's Config just now."</p>
                }.into_any(),
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || balance.get().flatten().map(|b| match b {
                Ok(l) => view! { <p>"Your balance: " <output aria-label="Balance">{lamports(l)}</output></p> }.into_any(),
                Err(e) => view! { <p role="alert">{format!("Your balance could not be read: {e}")}</p> }.into_any(),
            })}
        </Suspense>
        <button type="button" on:click=post prop:disabled=move || busy.get()>"Post job"</button>
        {move || step.get().map(|s| view! { <p role="status">{s}</p> })}
        {move || error.get().map(|e| view! { <p role="alert">{e}</p> })}
    }
}

/// "1.5" (SOL) as lamports, exactly; `None` if it is not a plain amount.
fn sol_to_lamports(text: &str) -> Option<u64> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() && frac.is_empty()
        || frac.len() > 9
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: u64 = format!("{frac:0<9}").parse().ok()?;
    whole.checked_mul(1_000_000_000)?.checked_add(frac)
}

/// The simulation a job was posted with, for its page (this browser only).
fn remember_simulation(job: &str, s: &Simulation) {
    if let Some(store) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) {
        let _ = store.set_item(
            &format!("edgerun-simulation-{job}"),
            &format!("{} {} {}", s.output_hash, s.fuel_used, s.outcome),
        );
    }
}

/// The output hash and fuel the job was simulated with here, if it was.
pub fn remembered_simulation(job: &str) -> Option<(String, u64)> {
    let store = web_sys::window()?.session_storage().ok()??;
    let v = store
        .get_item(&format!("edgerun-simulation-{job}"))
        .ok()??;
    let mut parts = v.split(' ');
    Some((parts.next()?.to_owned(), parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::sol_to_lamports;

    #[test]
    fn sol_amounts_are_read_exactly() {
        assert_eq!(sol_to_lamports("0"), Some(0));
        assert_eq!(sol_to_lamports("0.001"), Some(1_000_000));
        assert_eq!(sol_to_lamports(" 1.5 "), Some(1_500_000_000));
        assert_eq!(sol_to_lamports(".000000001"), Some(1));
        for bad in ["", ".", "1.0000000001", "-1", "1e3", "abc", "18446744074"] {
            assert_eq!(sol_to_lamports(bad), None, "{bad}");
        }
    }
}
