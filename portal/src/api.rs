//! The relay's HTTP API as the portal reads it (same origin: the relay
//! serves the portal), with errors a person can act on.

use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// `GET /v1/jobs/{id}`, as the relay decodes the Job account.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct JobView {
    pub job_id: String,
    pub address: String,
    pub status: String,
    pub tier: String,
    pub committee_size: u8,
    pub quorum: u8,
    pub client: String,
    pub escrow_lamports: u64,
    pub bundle_hash: String,
    pub max_instructions: u64,
    pub seed_set: bool,
    pub seed: Option<String>,
    pub committee: Vec<Seat>,
    pub winning_output_hash: Option<String>,
    pub output: Option<PublishedOutput>,
    pub current_slot: u64,
    pub deadline_slot: u64,
    pub expiry_slot: u64,
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Seat {
    pub worker: String,
    pub seal: Option<String>,
    pub winner: bool,
    pub settled: bool,
    pub penalized: bool,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct PublishedOutput {
    pub output_hash: String,
    pub url: Option<String>,
    pub publisher: String,
    pub published_slot: u64,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct TimelineEntry {
    pub event: String,
    pub slot: u64,
}

/// `GET /v1/info`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Info {
    pub fee_payer: Option<String>,
    pub program_id: Option<String>,
    pub runtime_id: String,
    pub rpc_url: Option<String>,
    pub config: Option<String>,
}

/// Where the chain is, as the relay names it (read once per page load).
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    pub rpc: String,
    pub program: String,
    pub config: String,
}

thread_local! {
    static CHAIN: std::cell::RefCell<Option<Chain>> = const { std::cell::RefCell::new(None) };
}

/// `/v1/info`'s chain, or why the portal cannot read the chain itself.
pub async fn chain() -> Result<Chain, String> {
    if let Some(c) = CHAIN.with(|c| c.borrow().clone()) {
        return Ok(c);
    }
    let info = get_json::<Info>("/v1/info").await?;
    let (Some(rpc), Some(program), Some(config)) = (info.rpc_url, info.program_id, info.config)
    else {
        return Err("This relay names no chain RPC for browsers (start it with --public-rpc), so the portal cannot read or send to the chain".into());
    };
    let c = Chain {
        rpc,
        program,
        config,
    };
    CHAIN.with(|slot| *slot.borrow_mut() = Some(c.clone()));
    Ok(c)
}

/// The relay's error body (`{code, message}`).
#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// GETs `path` from the relay (this page's origin) as JSON.
pub async fn get_json<T: for<'de> Deserialize<'de>>(path: &str) -> Result<T, String> {
    let (status, body) = fetch("GET", path).await?;
    if !(200..300).contains(&status) {
        return Err(match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) if e.code.ends_with("not_found") => format!("Not found: {}", e.message),
            Ok(e) => format!("The relay refused ({}): {}", e.code, e.message),
            Err(_) => format!("The relay answered {status} to {path}; try again shortly"),
        });
    }
    serde_json::from_slice(&body)
        .map_err(|e| format!("The relay's answer to {path} did not parse: {e}"))
}

/// The bytes at `path` (an output, a bundle).
pub async fn get_bytes(path: &str) -> Result<Vec<u8>, String> {
    let (status, body) = fetch("GET", path).await?;
    if status == 404 {
        return Err(format!("{path} is not at the relay (yet)"));
    }
    if !(200..300).contains(&status) {
        return Err(format!("The relay answered {status} to {path}"));
    }
    Ok(body)
}

async fn fetch(method: &str, path: &str) -> Result<(u16, Vec<u8>), String> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    send(path, &init)
        .await
        .map_err(|_| "The relay did not answer; check that it is running and reload".to_string())
}

/// `POST /v1/jobs` with `client`: the relay's answer.
#[derive(Clone, Debug, Deserialize)]
pub struct PostedJob {
    pub job_id: String,
    pub bundle_hash: String,
    pub tier: String,
    pub escrow_lamports: u64,
    /// The unsigned post_job transaction (base64), fee payer = the client.
    pub transaction: Option<String>,
}

/// Uploads the job (wasm and input as file parts) and asks for a post_job
/// transaction the wallet `client` signs.
pub async fn post_job(
    wasm: &[u8],
    input: &[u8],
    tier: &str,
    client: &str,
    escrow: u64,
    priority_fee: u64,
    (memory, fuel, output): (u32, u64, u32),
) -> Result<PostedJob, String> {
    let err = |e: wasm_bindgen::JsValue| crate::wallet::describe(&e);
    let form = web_sys::FormData::new().map_err(err)?;
    for (name, bytes) in [("wasm", wasm), ("input", input)] {
        let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
        let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(err)?;
        form.append_with_blob_and_filename(name, &blob, name)
            .map_err(err)?;
    }
    form.append_with_str("tier", tier).map_err(err)?;
    form.append_with_str("client", client).map_err(err)?;
    for (name, value) in [
        ("escrow_lamports", escrow.to_string()),
        ("priority_fee_lamports", priority_fee.to_string()),
        ("max_memory_bytes", memory.to_string()),
        ("max_instructions", fuel.to_string()),
        ("max_output_bytes", output.to_string()),
    ] {
        form.append_with_str(name, &value).map_err(err)?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&form);
    let (status, body) = send("/v1/jobs", &init).await?;
    if !(200..300).contains(&status) {
        return Err(match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) => format!(
                "The relay did not accept the job ({}): {}",
                e.code, e.message
            ),
            Err(_) => format!("The relay answered {status} to the job; nothing was posted"),
        });
    }
    serde_json::from_slice(&body).map_err(|e| format!("The relay's answer did not parse: {e}"))
}

/// Sends a signed transaction through JSON-RPC `sendTransaction`; its
/// signature.
pub async fn send_transaction(rpc: &str, tx: &[u8]) -> Result<String, String> {
    use base64::Engine;
    // The relay's blockhash is a confirmed one: simulate at that
    // commitment (the default, finalized, may not know it yet).
    let params = serde_json::json!([
        base64::engine::general_purpose::STANDARD.encode(tx),
        {"encoding": "base64", "preflightCommitment": "confirmed"},
    ]);
    let v = rpc_call(rpc, "sendTransaction", params).await.map_err(|_| {
        format!(
            "The chain's RPC at {rpc} did not answer; nothing was sent. Try again when it is up."
        )
    })?;
    if let Some(e) = v.get("error") {
        let message = e["message"].as_str().unwrap_or("refused");
        return Err(
            if message.contains("insufficient") || message.contains("debit an account") {
                format!(
                    "Your wallet cannot pay for this job (escrow, records deposit and fee): {message}. Add SOL and try again."
                )
            } else {
                format!("The chain refused the transaction: {message}")
            },
        );
    }
    v["result"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "The RPC's answer had no signature".into())
}

/// One JSON-RPC call; the whole answer (`result` or `error`).
pub async fn rpc_call(
    rpc: &str,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let headers = web_sys::Headers::new().map_err(|e| crate::wallet::describe(&e))?;
    let _ = headers.set("content-type", "application/json");
    init.set_headers(&headers);
    init.set_body(&wasm_bindgen::JsValue::from_str(&body.to_string()));
    let (_, answer) = send(rpc, &init).await?;
    serde_json::from_slice(&answer).map_err(|e| format!("The RPC's answer did not parse: {e}"))
}

async fn send(url: &str, init: &web_sys::RequestInit) -> Result<(u16, Vec<u8>), String> {
    let down = |e: wasm_bindgen::JsValue| {
        format!(
            "{url} did not answer ({}); check that it is running and try again",
            crate::wallet::describe(&e)
        )
    };
    let window = web_sys::window().ok_or("no window")?;
    let request = web_sys::Request::new_with_str_and_init(url, init).map_err(down)?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(down)?
        .dyn_into()
        .map_err(down)?;
    let buffer = JsFuture::from(response.array_buffer().map_err(down)?)
        .await
        .map_err(down)?;
    Ok((response.status(), js_sys::Uint8Array::new(&buffer).to_vec()))
}

/// Waits until `signature` is confirmed (at most 60 s); the chain's error
/// if the transaction failed.
pub async fn confirm(rpc: &str, signature: &str) -> Result<(), String> {
    for _ in 0..120 {
        let params = serde_json::json!([[signature]]);
        if let Ok(v) = rpc_call(rpc, "getSignatureStatuses", params).await {
            let status = &v["result"]["value"][0];
            if !status["err"].is_null() {
                return Err(format!("The chain did not take the job: {}", status["err"]));
            }
            if matches!(
                status["confirmationStatus"].as_str(),
                Some("confirmed" | "finalized")
            ) {
                return Ok(());
            }
        }
        sleep_ms(500).await;
    }
    Err(format!(
        "The transaction {signature} was not confirmed within 60 s; look it up before posting again"
    ))
}

async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}
