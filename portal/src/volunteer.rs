//! Volunteer: this tab becomes an edgerun worker (worker-web's volunteer,
//! served at `/worker/`, in a module Web Worker): start and pause, a CPU
//! cap, idle-only, live progress, earnings from chain; a sponsored start
//! for a visitor with no SOL, or the connected wallet as the stake's
//! authority (it funds the stake and may withdraw it).

use edgerun_protocol::economics::required_lock;
use edgerun_protocol::tier::Tier;
use js_sys::{Function, Reflect};
use leptos::prelude::*;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::{WalletCtx, api, chain, lamports, runtime};

/// The volunteer's event listener, kept while it runs.
type Listener = Closure<dyn FnMut(JsValue)>;

#[derive(Clone, Copy, PartialEq)]
enum Register {
    Sponsor,
    Wallet,
}

/// Calls `obj.method(args…)`; awaits a promise result.
async fn invoke(obj: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let f: Function = Reflect::get(obj, &JsValue::from_str(method))
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| format!("the volunteer has no {method}()"))?;
    let array = js_sys::Array::new();
    for a in args {
        array.push(a);
    }
    let out = f
        .apply(obj, &array)
        .map_err(|e| crate::wallet::describe(&e))?;
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&out))
        .await
        .map_err(|e| crate::wallet::describe(&e))
}

#[derive(Clone, Default, PartialEq)]
struct Stake {
    total: u64,
    locked: u64,
    authority: String,
}

fn stake_of(v: &Value) -> Option<Stake> {
    Some(Stake {
        total: v["total"].as_u64()?,
        locked: v["locked"].as_u64()?,
        authority: v["authority"].as_str()?.to_owned(),
    })
}

#[component]
pub fn VolunteerPage() -> impl IntoView {
    let ctx = expect_context::<WalletCtx>();
    let controller: StoredValue<Option<JsValue>, LocalStorage> = StoredValue::new_local(None);
    let listener: StoredValue<Option<Listener>, LocalStorage> = StoredValue::new_local(None);
    let running = RwSignal::new(false);
    let paused = RwSignal::new(false);
    let cpu = RwSignal::new("50".to_string());
    let only_idle = RwSignal::new(false);
    let register = RwSignal::new(Register::Sponsor);
    let stake_sol = RwSignal::new(String::new());
    let worker = RwSignal::new(String::new());
    let engine = RwSignal::new(String::new());
    let stake: RwSignal<Option<Stake>> = RwSignal::new(None);
    let paid = RwSignal::new(0u64);
    let lost = RwSignal::new(0u64);
    // Jobs whose seat this tab filled (a seal sent, or sent with the
    // reveal when it completed the quorum).
    let seats: RwSignal<std::collections::BTreeSet<String>> = RwSignal::new(Default::default());
    let now = RwSignal::new("Not started.".to_string());
    let log: RwSignal<Vec<String>> = RwSignal::new(Vec::new());
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let notice: RwSignal<Option<String>> = RwSignal::new(None);

    // A stake that takes two Bronze seats, from the chain's Config.
    let suggested = LocalResource::new(|| async {
        let c = api::chain().await?;
        let config = chain::config(&c.rpc, &c.program, &c.config).await?;
        let bronze = Tier::Bronze;
        Ok::<u64, String>(
            2 * required_lock(
                config.params.min_worker_stake_lamports.get(),
                bronze.default_escrow(),
                bronze.committee().size,
            ),
        )
    });
    Effect::new(move |_| {
        if let Some(Ok(l)) = suggested.get()
            && stake_sol.get_untracked().is_empty()
        {
            stake_sol.set(format!("{}", l as f64 / 1e9));
        }
    });

    // The worker asks for the wallet's registration.
    let register_with_wallet = move || {
        leptos::task::spawn_local(async move {
            let result: Result<(), String> = async {
                let account = ctx
                    .account
                    .get_untracked()
                    .ok_or("Connect a wallet to fund the stake, or choose the sponsored start")?;
                let sol: f64 = stake_sol
                    .get_untracked()
                    .trim()
                    .parse()
                    .map_err(|_| "The stake must be a number of SOL")?;
                let lamports_wanted = (sol * 1e9).round();
                let v = controller.get_value().ok_or("not started")?;
                now.set(format!(
                    "Sign in your wallet: a stake of {sol} SOL for this tab's worker…"
                ));
                let tx = invoke(
                    &v,
                    "registrationTransaction",
                    &[
                        JsValue::from_str(&account.address),
                        JsValue::from_f64(lamports_wanted),
                    ],
                )
                .await?
                .as_string()
                .ok_or("the registration transaction is not base64")?;
                let tx = {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD
                        .decode(tx)
                        .map_err(|e| e.to_string())?
                };
                let c = api::chain().await?;
                let signed = account
                    .sign_transaction(&tx, crate::chain_name(&c.rpc))
                    .await?;
                let signature = api::send_transaction(&c.rpc, &signed).await?;
                api::confirm(&c.rpc, &signature).await?;
                now.set("Registered: waiting for the worker to see its stake…".into());
                Ok(())
            }
            .await;
            if let Err(e) = result {
                error.set(Some(format!("{e} Press Stop, then Start to try again.")));
            }
        });
    };

    let on_event = move |detail: JsValue| {
        let Ok(v) = serde_wasm(&detail) else {
            return;
        };
        let kind = v["type"].as_str().unwrap_or("").to_owned();
        if kind == "trace" {
            return;
        }
        let line = match kind.as_str() {
            "started" => {
                worker.set(v["worker"].as_str().unwrap_or_default().into());
                engine.set(v["engine"].as_str().unwrap_or_default().into());
                "Started: the worker key lives in this browser only.".to_string()
            }
            "needs-wallet" => {
                register_with_wallet();
                "Needs a stake: your wallet funds it and stays its authority.".into()
            }
            "registered" => {
                if v["sponsored"].as_bool() == Some(true) {
                    "Registered: the relay's operator sponsored a stake for this tab.".into()
                } else {
                    "Registered: your wallet funded the stake.".into()
                }
            }
            "stake" => {
                stake.set(stake_of(&v));
                format!("Stake: {}", lamports(v["total"].as_u64().unwrap_or(0)))
            }
            "taking-seats" => "Taking seats: the scheduler can draw this tab.".into(),
            "idle-no-seats" => "Not taking seats (paused, or only while idle or hidden).".into(),
            "running" => {
                now.set(format!("Running a job (fuel cap {})…", v["fuel_cap"]));
                format!("Running a job, fuel cap {}", v["fuel_cap"])
            }
            "ran" => {
                now.set(format!(
                    "Ran a job: {} fuel on {}; sealing the result…",
                    v["fuel_used"],
                    v["engine"].as_str().unwrap_or("")
                ));
                format!("Ran: {} of {} fuel", v["fuel_used"], v["fuel_cap"])
            }
            "submitted" => {
                let job = v["job"].as_str().unwrap_or_default().to_owned();
                seats.update(|s| {
                    s.insert(job);
                });
                now.set("Sealed result sent; waiting for the committee.".into());
                format!("Submitted a sealed result for job {}", short(&v["job"]))
            }
            "revealed" => {
                let job = v["job"].as_str().unwrap_or_default().to_owned();
                seats.update(|s| {
                    s.insert(job);
                });
                now.set("Revealed the result; waiting for the payment.".into());
                format!("Revealed and published job {}", short(&v["job"]))
            }
            "paid" => format!(
                "Paid {} for job {}",
                lamports(v["lamports"].as_u64().unwrap_or(0)),
                short(&v["job"])
            ),
            "penalized" | "slashed" => format!(
                "{kind} {} for job {}",
                lamports(v["lamports"].as_u64().unwrap_or(0)),
                short(&v["job"])
            ),
            "earnings" => {
                paid.set(v["paid"].as_u64().unwrap_or(0));
                lost.set(v["penalized"].as_u64().unwrap_or(0) + v["slashed"].as_u64().unwrap_or(0));
                if let Some(s) = stake_of(&v["stake"]) {
                    stake.set(Some(s));
                }
                now.set("Waiting for a seat.".into());
                format!(
                    "Earnings: {} paid",
                    lamports(v["paid"].as_u64().unwrap_or(0))
                )
            }
            "refused" => format!(
                "Refused job {}: {}",
                short(&v["job"]),
                v["reason"].as_str().unwrap_or("")
            ),
            "stalled" => format!(
                "Stalled on job {}: {}",
                short(&v["job"]),
                v["error"].as_str().unwrap_or("")
            ),
            "error" => format!("Error: {}", v["message"].as_str().unwrap_or("")),
            "stopped" => {
                running.set(false);
                now.set("Stopped.".into());
                "Stopped.".into()
            }
            other => other.to_string(),
        };
        log.update(|l| {
            l.insert(0, line);
            l.truncate(40);
        });
    };

    let start = move |_| {
        if running.get_untracked() {
            return;
        }
        error.set(None);
        if register.get_untracked() == Register::Wallet && ctx.account.get_untracked().is_none() {
            error.set(Some("Connect a wallet first to use it as the stake's authority, or choose the sponsored start.".into()));
            return;
        }
        running.set(true);
        paused.set(false);
        leptos::task::spawn_local(async move {
            let result: Result<(), String> = async {
                let c = api::chain().await?;
                let opts = serde_json::json!({
                    "relay": web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default(),
                    "rpc": c.rpc,
                    "programId": c.program,
                    "cpuCap": cpu.get_untracked().parse::<u32>().unwrap_or(50),
                    "onlyWhenHidden": only_idle.get_untracked(),
                    "register": if register.get_untracked() == Register::Wallet { "wallet" } else { "sponsor" },
                });
                let opts = js_sys::JSON::parse(&opts.to_string()).map_err(|e| crate::wallet::describe(&e))?;
                let closure = Closure::<dyn FnMut(JsValue)>::new(on_event);
                let v = runtime::volunteer_js(&opts, closure.as_ref().unchecked_ref())
                    .await
                    .map_err(|e| format!("The volunteer could not start: {}", crate::wallet::describe(&e)))?;
                listener.set_value(Some(closure));
                if only_idle.get_untracked() {
                    let _ = invoke(&v, "requestIdlePermission", &[]).await;
                }
                controller.set_value(Some(v));
                now.set("Starting…".into());
                Ok(())
            }
            .await;
            if let Err(e) = result {
                running.set(false);
                error.set(Some(e));
            }
        });
    };
    let toggle_pause = move |_| {
        let Some(v) = controller.get_value() else {
            return;
        };
        let p = !paused.get_untracked();
        paused.set(p);
        leptos::task::spawn_local(async move {
            let _ = invoke(&v, if p { "pause" } else { "resume" }, &[]).await;
        });
    };
    let stop = move |_| {
        let Some(v) = controller.get_value() else {
            return;
        };
        controller.set_value(None);
        leptos::task::spawn_local(async move {
            let _ = invoke(&v, "stop", &[]).await;
        });
        running.set(false);
    };
    Effect::new(move |_| {
        let percent = cpu.get();
        if let Some(v) = controller.get_value() {
            leptos::task::spawn_local(async move {
                let _ = invoke(
                    &v,
                    "setCpuCap",
                    &[JsValue::from_f64(percent.parse().unwrap_or(50.0))],
                )
                .await;
            });
        }
    });
    let withdraw = move |_| {
        let (Some(v), Some(account), Some(s)) = (
            controller.get_value(),
            ctx.account.get_untracked(),
            stake.get_untracked(),
        ) else {
            return;
        };
        notice.set(None);
        error.set(None);
        leptos::task::spawn_local(async move {
            let result: Result<String, String> = async {
                if s.authority != account.address {
                    return Err(format!("The stake's authority is {}, not your wallet: a sponsored stake stays with the relay's operator", s.authority));
                }
                let free = s.total.saturating_sub(s.locked);
                if free == 0 {
                    return Err("Nothing to withdraw: all of the stake backs seats in running jobs".into());
                }
                let tx = invoke(&v, "withdrawTransaction", &[JsValue::from_str(&account.address), JsValue::from_f64(free as f64)])
                    .await?
                    .as_string()
                    .ok_or("the withdraw transaction is not base64")?;
                let tx = {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.decode(tx).map_err(|e| e.to_string())?
                };
                let c = api::chain().await?;
                let signed = account.sign_transaction(&tx, crate::chain_name(&c.rpc)).await?;
                let signature = api::send_transaction(&c.rpc, &signed).await?;
                api::confirm(&c.rpc, &signature).await?;
                if let Ok(j) = invoke(&v, "stake", &[]).await.map(|now| serde_wasm(&now)) {
                    stake.set(j.ok().as_ref().and_then(stake_of));
                }
                Ok(format!("Withdrew {} to your wallet.", lamports(free)))
            }
            .await;
            match result {
                Ok(m) => notice.set(Some(m)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    on_cleanup(move || {
        if let Some(v) = controller.get_value() {
            leptos::task::spawn_local(async move {
                let _ = invoke(&v, "stop", &[]).await;
            });
        }
    });

    view! {
        <h1>"Volunteer"</h1>
        <p>"Give this tab's spare compute to edgerun jobs. Jobs run in a background worker with no floating point, under fuel and memory caps; closing the tab stops it."</p>
        <fieldset>
            <legend>"Stake"</legend>
            <label>
                <input type="radio" name="register" prop:checked=move || register.get() == Register::Sponsor
                    on:change=move |_| register.set(Register::Sponsor) prop:disabled=move || running.get()/>
                "Sponsored start: no SOL needed (the relay's operator funds the stake and keeps it)"
            </label>
            <label>
                <input type="radio" name="register" prop:checked=move || register.get() == Register::Wallet
                    on:change=move |_| register.set(Register::Wallet) prop:disabled=move || running.get()/>
                "Use my wallet as stake authority (it funds the stake; you can withdraw)"
            </label>
            <Show when=move || register.get() == Register::Wallet>
                <label>"Stake in SOL" <input type="text" inputmode="decimal" bind:value=stake_sol/></label>
            </Show>
        </fieldset>
        <fieldset>
            <legend>"Limits"</legend>
            <label>"CPU cap"
                <select bind:value=cpu>
                    <option value="25">"25 %"</option>
                    <option value="50">"50 %"</option>
                    <option value="75">"75 %"</option>
                    <option value="100">"100 %"</option>
                </select>
            </label>
            <label><input type="checkbox" bind:checked=only_idle prop:disabled=move || running.get()/>
                "Only while this tab is hidden or the machine is idle"</label>
        </fieldset>
        <button type="button" on:click=start prop:disabled=move || running.get()>"Start"</button>
        <button type="button" on:click=toggle_pause prop:disabled=move || !running.get()>
            {move || if paused.get() { "Resume" } else { "Pause" }}
        </button>
        <button type="button" on:click=stop prop:disabled=move || !running.get()>"Stop"</button>
        <p role="status" aria-label="Now">{move || now.get()}</p>
        <dl>
            <dt>"Worker key"</dt><dd><output aria-label="Worker key">{move || worker.get()}</output></dd>
            <dt>"Engine"</dt><dd><output aria-label="Engine">{move || engine.get()}</output></dd>
            <dt>"Seats completed"</dt><dd><output aria-label="Seats completed">{move || seats.with(|s| s.len())}</output></dd>
            <dt>"Earned"</dt><dd><output aria-label="Earned">{move || lamports(paid.get())}</output></dd>
            <dt>"Penalized or slashed"</dt><dd><output aria-label="Penalized or slashed">{move || lamports(lost.get())}</output></dd>
            <dt>"Stake (credit)"</dt><dd><output aria-label="Stake">{move || stake.get().map(|s| format!(
                "{} ({} backing seats); authority {}", lamports(s.total), lamports(s.locked), s.authority
            )).unwrap_or_else(|| "—".into())}</output></dd>
        </dl>
        <Show when=move || stake.get().zip(ctx.account.get()).is_some_and(|(s, a)| s.authority == a.address)>
            <button type="button" on:click=withdraw>"Withdraw to my wallet"</button>
        </Show>
        {move || notice.get().map(|m| view! { <p role="status">{m}</p> })}
        {move || error.get().map(|e| view! { <p role="alert">{e}</p> })}
        <h2>"Progress"</h2>
        <ol aria-label="Progress">
            {move || log.get().into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
        </ol>
    }
}

fn short(v: &Value) -> String {
    let s = v.as_str().unwrap_or("");
    s.get(..16)
        .map_or_else(|| s.to_owned(), |p| format!("{p}…"))
}

fn serde_wasm(v: &JsValue) -> Result<Value, ()> {
    let text = js_sys::JSON::stringify(v).map_err(|_| ())?;
    serde_json::from_str(&String::from(text)).map_err(|_| ())
}
