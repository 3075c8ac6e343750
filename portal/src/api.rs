//! The relay's HTTP API as the portal reads it (same origin: the relay
//! serves the portal), with errors a person can act on.

use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// `GET /v1/jobs/{id}`, as the relay decodes the Job account.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct JobView {
    pub job_id: String,
    pub status: String,
    pub tier: String,
    pub committee_size: u8,
    pub quorum: u8,
    pub client: String,
    pub escrow_lamports: u64,
    pub bundle_hash: String,
    pub max_instructions: u64,
    pub seed_set: bool,
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
    let down = |e: wasm_bindgen::JsValue| {
        format!(
            "The relay did not answer ({}); check that it is running and reload",
            crate::wallet::describe(&e)
        )
    };
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let request = web_sys::Request::new_with_str_and_init(path, &init).map_err(down)?;
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
