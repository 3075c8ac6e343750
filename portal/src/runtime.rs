//! The worker's own runtime parts, loaded from `/worker/` by the page's
//! `window.edgerunPortal` (portal/index.html): the validator and bundle
//! builder, the job runner, the volunteer. The portal uses them instead of
//! re-implementing any of them.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::post::Simulation;
use crate::wallet::describe;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = edgerunPortal, js_name = buildBundle, catch)]
    async fn build_bundle_js(
        wasm: &Uint8Array,
        input: &Uint8Array,
        memory: u32,
        fuel: f64,
        output: u32,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = edgerunPortal, js_name = bundleHash, catch)]
    async fn bundle_hash_js(bundle: &Uint8Array) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = edgerunPortal, js_name = simulate, catch)]
    async fn simulate_js(bundle: &Uint8Array) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = edgerunPortal, js_name = volunteer, catch)]
    pub async fn volunteer_js(
        opts: &JsValue,
        on_event: &js_sys::Function,
    ) -> Result<JsValue, JsValue>;
}

/// Validates `wasm` with the runtime's validator and builds the bundle the
/// relay builds from these parts; the validator's reason if no worker
/// would run it.
pub async fn build_bundle(
    wasm: &[u8],
    input: &[u8],
    memory: u32,
    fuel: u64,
    output: u32,
) -> Result<Vec<u8>, String> {
    let v = build_bundle_js(
        &Uint8Array::from(wasm),
        &Uint8Array::from(input),
        memory,
        fuel as f64,
        output,
    )
    .await
    .map_err(|e| {
        let why = describe(&e);
        if why.contains("/worker/") {
            why
        } else {
            format!("Invalid module: {why}. No worker would run it; fix the module and choose it again. Nothing was uploaded.")
        }
    })?;
    Ok(Uint8Array::new(&v).to_vec())
}

pub async fn bundle_hash(bundle: &[u8]) -> Result<String, String> {
    bundle_hash_js(&Uint8Array::from(bundle))
        .await
        .map_err(|e| describe(&e))?
        .as_string()
        .ok_or_else(|| "the bundle hash is not a string".into())
}

/// Runs the bundle here, as a worker would: outcome, fuel, output hash.
pub async fn simulate(bundle: &[u8]) -> Result<Simulation, String> {
    let hash = bundle_hash(bundle).await?;
    let r = simulate_js(&Uint8Array::from(bundle))
        .await
        .map_err(|e| format!("The simulation failed: {}", describe(&e)))?;
    let get = |k: &str| Reflect::get(&r, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    Ok(Simulation {
        bundle_hash: hash,
        outcome: get("outcome").as_string().unwrap_or_default(),
        output_hash: get("output_hash").as_string().unwrap_or_default(),
        fuel_used: get("fuel_used").as_f64().unwrap_or(0.0) as u64,
        output_len: get("output_len").as_f64().unwrap_or(0.0) as u64,
        engine: get("engine").as_string().unwrap_or_default(),
    })
}
