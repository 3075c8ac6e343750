//! The edgerun worker for browser tabs and edge runtimes.
//!
//! The same worker core as every native worker ([`edgerun_worker::Worker`])
//! behind a web [`Transport`]: JSON-RPC and the relay over `fetch`, fees
//! through the relay's fee payer (`POST /v1/tx`), and a key the host keeps.
//! The host (the JS around this module, see `worker-web/js/`) gives three
//! things:
//!
//! - `sign(bytes) -> Promise<Uint8Array(64)>`: Ed25519 with the worker key
//!   (a browser keeps it non-extractable in WebCrypto; it never reaches
//!   this module);
//! - `runModule(module, input, fuel, outputCap) -> Promise<execution>`
//!   (optional): the instrumented module run on the host's own WebAssembly
//!   engine (`runtime/js/engine.mjs`);
//! - `runFallback(bundle) -> Promise<{output, fuelUsed}>` (optional): the
//!   whole bundle on wasmi-in-wasm (edgerun-runtime-js), for a host that
//!   may not compile WebAssembly from bytes (a CSP without
//!   `wasm-unsafe-eval`, an edge runtime) or whose engine failed. It is a
//!   separate module so a tab that never needs it never downloads it. Both
//!   paths give the same output and fuel; the `ran` event says which ran;
//! - `emit(event)` (optional): progress, as JSON-able objects.

use std::rc::Rc;

use base64::Engine as _;
use edgerun_client::Address;
use edgerun_protocol::hash::{Hash, hex};
use edgerun_protocol::state::{GlobalConfig, Job, WorkerStake, job_status};
use edgerun_worker::{Action, Ran, Settings, Transport, TransportError, Worker};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use serde_json::{Value, json};
use solana_instruction::Instruction;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

/// What the host provides (see the crate docs).
#[derive(Clone)]
struct Host(JsValue);

impl Host {
    fn method(&self, name: &str) -> Option<Function> {
        Reflect::get(&self.0, &JsValue::from_str(name))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
    }

    fn emit(&self, event: Value) {
        if let Some(f) = self.method("emit")
            && let Ok(v) = js_sys::JSON::parse(&event.to_string())
        {
            let _ = f.call1(&self.0, &v);
        }
    }

    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], TransportError> {
        let f = self
            .method("sign")
            .ok_or_else(|| TransportError::Bad("the host has no sign(bytes) function".into()))?;
        let promise = f
            .call1(&self.0, &Uint8Array::from(message))
            .map_err(|e| TransportError::Bad(format!("sign: {}", js_message(&e))))?;
        let sig = JsFuture::from(Promise::resolve(&promise))
            .await
            .map_err(|e| TransportError::Bad(format!("sign: {}", js_message(&e))))?;
        let bytes = Uint8Array::new(&sig).to_vec();
        bytes.try_into().map_err(|b: Vec<u8>| {
            TransportError::Bad(format!("sign returned {} bytes, not 64", b.len()))
        })
    }

    /// Runs the instrumented module on the host's engine; `None` when the
    /// host has none or may not compile it (then `runFallback` runs it).
    /// `key` names the module (the same key, the same bytes), so the host
    /// may keep the compiled module for the next job with this wasm.
    async fn run_module(
        &self,
        module: &[u8],
        input: &[u8],
        fuel: i64,
        output_cap: u32,
        key: &str,
    ) -> Option<JsValue> {
        let f = self.method("runModule")?;
        let args = js_sys::Array::of4(
            &Uint8Array::from(module),
            &Uint8Array::from(input),
            &js_sys::BigInt::from(fuel),
            &JsValue::from(output_cap),
        );
        args.push(&JsValue::from_str(key));
        let promise = f.apply(&self.0, &args).ok()?;
        match JsFuture::from(Promise::resolve(&promise)).await {
            Ok(v) => Some(v),
            Err(e) => {
                self.emit(json!({"type": "engine", "fallback": "wasmi", "why": js_message(&e)}));
                None
            }
        }
    }
}

impl Host {
    /// Runs the whole bundle on the host's wasmi-in-wasm
    /// (`runFallback(bundle) -> Promise<{output, fuelUsed}>`: edgerun-runtime-js,
    /// loaded only when it is needed).
    async fn run_fallback(&self, bundle: &[u8]) -> Result<Ran, String> {
        let f = self.method("runFallback").ok_or(
            "this host has neither a WebAssembly engine it may use nor runFallback (wasmi-in-wasm)",
        )?;
        let promise = f
            .call1(&self.0, &Uint8Array::from(bundle))
            .map_err(|e| format!("runFallback: {}", js_message(&e)))?;
        let v = JsFuture::from(Promise::resolve(&promise))
            .await
            .map_err(|e| format!("runFallback: {}", js_message(&e)))?;
        let get = |k: &str| Reflect::get(&v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
        let fuel = get("fuelUsed");
        let fuel_used = js_sys::BigInt::new(&fuel)
            .ok()
            .and_then(|b| u64::try_from(b).ok())
            .or_else(|| fuel.as_f64().map(|f| f as u64))
            .ok_or("runFallback's result has no fuelUsed")?;
        Ok(Ran {
            output: Uint8Array::new(&get("output")).to_vec(),
            fuel_used,
        })
    }
}

fn js_message(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            Reflect::get(e, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

/// One HTTP exchange through the global `fetch` (a window, a Web Worker
/// or an edge isolate alike): the status and the body's bytes.
/// How long a request may take before it is abandoned (a host's fetch has
/// no limit of its own, and one request that never answers would stop the
/// worker): chain reads and relay calls; the relay's `POST /v1/tx`, which
/// answers once the transaction confirms (its own limit is 60 s).
const FETCH_TIMEOUT_MS: u32 = 30_000;
const SEND_TIMEOUT_MS: u32 = 75_000;
/// Bundles and outputs (up to the relay's caps, tens of MiB).
const TRANSFER_TIMEOUT_MS: u32 = 180_000;

/// An `AbortSignal` that fires after `ms`, where the host has
/// `AbortSignal.timeout` (browsers, workerd, Node).
fn timeout_signal(ms: u32) -> Option<JsValue> {
    let global = js_sys::global();
    let abort = Reflect::get(&global, &JsValue::from_str("AbortSignal")).ok()?;
    let timeout: Function = Reflect::get(&abort, &JsValue::from_str("timeout"))
        .ok()?
        .dyn_into()
        .ok()?;
    timeout.call1(&abort, &JsValue::from(ms)).ok()
}

async fn fetch(
    url: &str,
    method: &str,
    headers: &[(&str, String)],
    body: Option<&[u8]>,
) -> Result<(u16, Vec<u8>), String> {
    let limit = if url.ends_with("/v1/tx") {
        SEND_TIMEOUT_MS
    } else if url.contains("/v1/bundles/") || url.contains("/v1/outputs/") {
        TRANSFER_TIMEOUT_MS
    } else {
        FETCH_TIMEOUT_MS
    };
    let global = js_sys::global();
    let fetch: Function = Reflect::get(&global, &JsValue::from_str("fetch"))
        .map_err(|e| js_message(&e))?
        .dyn_into()
        .map_err(|_| "no fetch in this JavaScript host".to_string())?;
    let init = js_sys::Object::new();
    let set = |k: &str, v: &JsValue| Reflect::set(&init, &JsValue::from_str(k), v);
    set("method", &JsValue::from_str(method)).map_err(|e| js_message(&e))?;
    let h = js_sys::Object::new();
    for (k, v) in headers {
        Reflect::set(&h, &JsValue::from_str(k), &JsValue::from_str(v))
            .map_err(|e| js_message(&e))?;
    }
    set("headers", &h).map_err(|e| js_message(&e))?;
    if let Some(b) = body {
        set("body", &Uint8Array::from(b)).map_err(|e| js_message(&e))?;
    }
    if let Some(signal) = timeout_signal(limit) {
        set("signal", &signal).map_err(|e| js_message(&e))?;
    }
    let promise = fetch
        .call2(&global, &JsValue::from_str(url), &init)
        .map_err(|e| format!("{method} {url}: {}", js_message(&e)))?;
    let resp: web_sys::Response = JsFuture::from(Promise::resolve(&promise))
        .await
        .map_err(|e| format!("{method} {url}: {}", js_message(&e)))?
        .dyn_into()
        .map_err(|_| format!("{method} {url}: not a Response"))?;
    let status = resp.status();
    let buf = JsFuture::from(resp.array_buffer().map_err(|e| js_message(&e))?)
        .await
        .map_err(|e| format!("{method} {url}: reading the body: {}", js_message(&e)))?;
    Ok((status, Uint8Array::new(&buf).to_vec()))
}

fn unix_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// The web transport: JSON-RPC to the chain, the relay over HTTP, fees
/// paid by the relay's fee payer, signatures and the engine from the host.
pub struct WebTransport {
    rpc: String,
    relay: String,
    program: Address,
    fee_payer: Address,
    worker: Address,
    host: Host,
}

impl WebTransport {
    async fn rpc(&self, method: &str, params: Value) -> Result<Value, TransportError> {
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let (status, bytes) = fetch(
            &self.rpc,
            "POST",
            &[("content-type", "application/json".into())],
            Some(body.as_bytes()),
        )
        .await
        .map_err(TransportError::Unavailable)?;
        if status != 200 {
            return Err(TransportError::Unavailable(format!(
                "{method}: HTTP {status}"
            )));
        }
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| TransportError::Unavailable(format!("{method}: not JSON: {e}")))?;
        if let Some(err) = v.get("error") {
            return Err(TransportError::Unavailable(format!("{method}: {err}")));
        }
        Ok(v["result"].clone())
    }

    /// An account's data if the program owns it.
    async fn account(&self, address: &Address) -> Result<Option<Vec<u8>>, TransportError> {
        let r = self
            .rpc(
                "getAccountInfo",
                json!([address.to_string(), {"encoding": "base64", "commitment": "confirmed"}]),
            )
            .await?;
        let v = &r["value"];
        if v.is_null() {
            return Ok(None);
        }
        if v["owner"].as_str() != Some(&self.program.to_string()) {
            return Err(TransportError::Bad(format!(
                "{address} is not owned by the edgerun program"
            )));
        }
        decode_data(&v["data"]).map(Some)
    }

    async fn relay_call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<Vec<u8>, TransportError> {
        let url = format!("{}{path}", self.relay);
        let (status, bytes) = fetch(&url, method, headers, body)
            .await
            .map_err(TransportError::Unavailable)?;
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        let text = String::from_utf8_lossy(&bytes)
            .chars()
            .take(300)
            .collect::<String>();
        let err = format!("{method} {url}: {status} {text}");
        Err(if status >= 500 {
            TransportError::Unavailable(err)
        } else if status == 422 {
            TransportError::Refused(err)
        } else {
            TransportError::Bad(err)
        })
    }

    /// Sends a transaction the worker signs; `fee_payer` pays.
    async fn send_via(
        &self,
        tx: solana_transaction::Transaction,
    ) -> Result<String, TransportError> {
        let bytes = bincode::serialize(&tx).map_err(|e| TransportError::Bad(e.to_string()))?;
        let body = json!({"transaction": base64::engine::general_purpose::STANDARD.encode(bytes)})
            .to_string();
        let answer = self
            .relay_call(
                "POST",
                "/v1/tx",
                &[("content-type", "application/json".into())],
                Some(body.as_bytes()),
            )
            .await?;
        let v: Value =
            serde_json::from_slice(&answer).map_err(|e| TransportError::Bad(e.to_string()))?;
        Ok(v["signature"].as_str().unwrap_or_default().to_owned())
    }

    /// `tx` with the worker's signature in its slot.
    async fn signed(
        &self,
        mut tx: solana_transaction::Transaction,
    ) -> Result<solana_transaction::Transaction, TransportError> {
        let signers = tx.message.header.num_required_signatures as usize;
        let at = tx.message.account_keys[..signers]
            .iter()
            .position(|k| *k == self.worker)
            .ok_or_else(|| {
                TransportError::Bad("the worker does not sign this transaction".into())
            })?;
        let signature = self.host.sign(&tx.message_data()).await?;
        tx.signatures[at] = solana_signature::Signature::from(signature);
        Ok(tx)
    }

    async fn blockhash(&self) -> Result<solana_hash::Hash, TransportError> {
        let r = self
            .rpc("getLatestBlockhash", json!([{"commitment": "confirmed"}]))
            .await?;
        r["value"]["blockhash"]
            .as_str()
            .and_then(|b| b.parse().ok())
            .ok_or_else(|| TransportError::Unavailable("getLatestBlockhash: no blockhash".into()))
    }
}

fn decode_data(data: &Value) -> Result<Vec<u8>, TransportError> {
    let b64 = data[0]
        .as_str()
        .ok_or_else(|| TransportError::Bad("account data is not [base64, \"base64\"]".into()))?;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| TransportError::Bad(format!("account data: {e}")))
}

impl Transport for WebTransport {
    fn worker(&self) -> Address {
        self.worker
    }

    fn program(&self) -> Address {
        self.program
    }

    async fn slot(&self) -> Result<u64, TransportError> {
        self.rpc("getSlot", json!([{"commitment": "confirmed"}]))
            .await?
            .as_u64()
            .ok_or_else(|| TransportError::Unavailable("getSlot: not a number".into()))
    }

    async fn config(&self) -> Result<GlobalConfig, TransportError> {
        let address = edgerun_client::config_pda(&self.program).0;
        let data = self
            .account(&address)
            .await?
            .ok_or_else(|| TransportError::Bad("no edgerun config on this chain".into()))?;
        edgerun_client::decode_account(&data).map_err(|e| TransportError::Bad(e.to_string()))
    }

    async fn stake(&self) -> Result<Option<WorkerStake>, TransportError> {
        let address = edgerun_client::worker_stake_pda(&self.program, &self.worker).0;
        match self.account(&address).await? {
            Some(data) => Ok(Some(
                edgerun_client::decode_account(&data)
                    .map_err(|e| TransportError::Bad(e.to_string()))?,
            )),
            None => Ok(None),
        }
    }

    async fn active_jobs(&self) -> Result<Vec<Job>, TransportError> {
        let disc = base64::engine::general_purpose::STANDARD
            .encode(<Job as edgerun_protocol::layout::Account>::DISCRIMINATOR);
        let at = 8 + core::mem::offset_of!(Job, status);
        let mut jobs = Vec::new();
        for status in [
            job_status::ASSIGNED,
            job_status::QUORUM_REACHED,
            job_status::AWAITING_DA,
        ] {
            let filters = json!([
                {"memcmp": {"offset": 0, "bytes": disc, "encoding": "base64"}},
                {"memcmp": {"offset": at, "bytes": base64::engine::general_purpose::STANDARD.encode([status]), "encoding": "base64"}},
            ]);
            let r = self
                .rpc(
                    "getProgramAccounts",
                    json!([self.program.to_string(), {"encoding": "base64", "commitment": "confirmed", "filters": filters}]),
                )
                .await?;
            for entry in r.as_array().into_iter().flatten() {
                let data = decode_data(&entry["account"]["data"])?;
                if let Ok(job) = edgerun_client::decode_account::<Job>(&data) {
                    jobs.push(job);
                }
            }
        }
        Ok(jobs)
    }

    async fn bundle(&self, hash: &Hash) -> Result<Vec<u8>, TransportError> {
        self.relay_call("GET", &format!("/v1/bundles/{}", hex(hash)), &[], None)
            .await
    }

    async fn publish(
        &self,
        job: &Hash,
        hash: &Hash,
        output: &[u8],
    ) -> Result<String, TransportError> {
        use edgerun_protocol::output_upload as up;
        let signature = self.host.sign(&up::message(job, hash)).await?;
        let path = format!("/v1/outputs/{}", hex(hash));
        self.relay_call(
            "PUT",
            &path,
            &[
                (up::JOB_HEADER, hex(job)),
                (up::WORKER_HEADER, self.worker.to_string()),
                (up::SIGNATURE_HEADER, hex(&signature)),
            ],
            Some(output),
        )
        .await?;
        Ok(format!("{}{path}", self.relay))
    }

    async fn heartbeat(
        &self,
        runtime_ids: &[Hash],
        max_fuel: Option<u64>,
    ) -> Result<(), TransportError> {
        let now = unix_ms();
        let message = edgerun_protocol::heartbeat::message(
            &self.worker.to_bytes(),
            now,
            runtime_ids,
            max_fuel,
        );
        let signature = self.host.sign(&message).await?;
        let mut body = json!({
            "unix_ms": now,
            "runtime_ids": runtime_ids.iter().map(|id| hex(id)).collect::<Vec<_>>(),
            "signature": hex(&signature),
        });
        if let Some(max) = max_fuel {
            body["max_fuel"] = max.into();
        }
        let body = body.to_string();
        self.relay_call(
            "POST",
            &format!("/v1/workers/{}/heartbeat", self.worker),
            &[("content-type", "application/json".into())],
            Some(body.as_bytes()),
        )
        .await
        .map(drop)
    }

    async fn send(&self, ixs: &[Instruction]) -> Result<String, TransportError> {
        let blockhash = self.blockhash().await?;
        let message =
            solana_message::Message::new_with_blockhash(ixs, Some(&self.fee_payer), &blockhash);
        let tx = self
            .signed(solana_transaction::Transaction::new_unsigned(message))
            .await?;
        self.send_via(tx).await
    }

    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], TransportError> {
        self.host.sign(message).await
    }

    fn runtime_id(&self) -> Hash {
        edgerun_runtime::runtime_id()
    }

    async fn run(&self, bundle: &[u8]) -> Result<Ran, String> {
        execute_bundle(&self.host, bundle).await.map(|(_, ran)| ran)
    }
}

thread_local! {
    /// Instrumented modules by [`prepared`]'s key, newest last: customers
    /// post the same wasm with new inputs, and validating and instrumenting
    /// is the largest fixed cost of a job in a tab.
    static PREPARED: std::cell::RefCell<std::collections::VecDeque<(Hash, Rc<Vec<u8>>)>> =
        Default::default();
}

/// Instrumented modules kept.
const PREPARED_KEEP: usize = 4;

/// `edgerun_runtime::prepare`, kept by `blake3(wasm || max_memory_bytes LE)`
/// (all that preparing reads), so a module is validated and instrumented
/// once; the key also names it to the host engine's compile cache.
fn prepared(
    wasm: &[u8],
    limits: &edgerun_protocol::limits::Limits,
) -> Result<(Hash, Rc<Vec<u8>>), ()> {
    let max_memory = limits.max_memory_bytes.get();
    let mut keyed = Vec::with_capacity(wasm.len() + 4);
    keyed.extend_from_slice(wasm);
    keyed.extend_from_slice(&max_memory.to_le_bytes());
    let key = edgerun_protocol::hash::blake3(&keyed);
    let hit = PREPARED.with(|c| {
        c.borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, m)| m.clone())
    });
    if let Some(module) = hit {
        return Ok((key, module));
    }
    let module = Rc::new(edgerun_runtime::prepare(wasm, limits).map_err(|_| ())?);
    PREPARED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= PREPARED_KEEP {
            c.pop_front();
        }
        c.push_back((key, module.clone()));
    });
    Ok((key, module))
}

/// Runs a job's bundle the way this host can: validated and instrumented
/// here, then the host's engine (`runModule`), else wasmi-in-wasm
/// (`runFallback`). Returns which ran (`host`, `wasmi`, or `none` for an
/// invalid module, which runs nowhere) and the result.
async fn execute_bundle(host: &Host, bundle: &[u8]) -> Result<(&'static str, Ran), String> {
    let decoded = edgerun_protocol::bundle::Bundle::decode(bundle).map_err(|e| e.to_string())?;
    if decoded.runtime_id != edgerun_runtime::runtime_id() {
        return Err(format!(
            "the bundle names runtime {}, this worker runs {}",
            hex(&decoded.runtime_id),
            hex(&edgerun_runtime::runtime_id())
        ));
    }
    let fuel_cap = decoded.limits.max_instructions.get();
    host.emit(json!({"type": "running", "fuel_cap": fuel_cap}));
    let (engine, ran) = match prepared(decoded.wasm, &decoded.limits) {
        Err(_) => {
            let outcome = edgerun_runtime::Outcome::failed(
                edgerun_protocol::abi::FailReason::InvalidModule,
                0,
            );
            (
                "none",
                Ran {
                    output: outcome.output,
                    fuel_used: outcome.fuel_used,
                },
            )
        }
        Ok((key, module)) => {
            let fuel = edgerun_runtime::initial_fuel(&decoded.limits);
            let cap = decoded.limits.max_output_bytes.get();
            match host
                .run_module(&module, decoded.input, fuel, cap, &hex(&key))
                .await
            {
                Some(execution) => {
                    let outcome =
                        edgerun_runtime::finish(execution_from(&execution)?, &decoded.limits);
                    (
                        "host",
                        Ran {
                            output: outcome.output,
                            fuel_used: outcome.fuel_used,
                        },
                    )
                }
                None => ("wasmi", host.run_fallback(bundle).await?),
            }
        }
    };
    host.emit(
        json!({"type": "ran", "engine": engine, "fuel_used": ran.fuel_used, "fuel_cap": fuel_cap}),
    );
    Ok((engine, ran))
}

/// Validates `wasm` with the runtime's own validator (the rules every
/// worker applies) and builds the job bundle the relay would build from it,
/// `input` and these limits, so a page can check a module before uploading
/// it and simulate the exact job (`runJob`). Throws the validator's reason
/// for a module no worker would run.
#[wasm_bindgen(js_name = buildBundle)]
pub fn build_bundle(
    wasm: &[u8],
    input: &[u8],
    max_memory_bytes: u32,
    max_instructions: u64,
    max_output_bytes: u32,
) -> Result<Vec<u8>, JsError> {
    let limits =
        edgerun_protocol::limits::Limits::new(max_memory_bytes, max_instructions, max_output_bytes);
    edgerun_runtime::build_bundle(wasm, input, &limits).map_err(|e| JsError::new(&e.to_string()))
}

/// The BLAKE3 content hash (hex) of a bundle, as the chain names it.
#[wasm_bindgen(js_name = bundleHash)]
pub fn bundle_hash(bundle: &[u8]) -> String {
    hex(&edgerun_protocol::hash::bundle_hash(bundle))
}

/// The BLAKE3 hash (hex) of a job's output, as the committee reveals it on
/// chain: a page checks a downloaded output against it.
#[wasm_bindgen(js_name = outputHash)]
pub fn output_hash(output: &[u8]) -> String {
    hex(&edgerun_protocol::hash::output_hash(output))
}

/// Runs one bundle as a worker would, with no chain: `host` is
/// `{runModule?, runFallback?, emit?}`. Resolves to `{engine, outcome,
/// output_hash, fuel_used, output_len}` (the conformance vectors' shape),
/// so a page can check this build against native.
#[wasm_bindgen(js_name = runJob)]
pub fn run_job(bundle: Vec<u8>, host: JsValue) -> Promise {
    let host = Host(host);
    future_to_promise(async move {
        let (engine, ran) = execute_bundle(&host, &bundle).await.map_err(js_err)?;
        let outcome = ran
            .output
            .strip_prefix(b"edgerun:fail:")
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .unwrap_or_else(|| "ok".into());
        js_sys::JSON::parse(
            &json!({
                "engine": engine,
                "outcome": outcome,
                "output_hash": hex(&edgerun_protocol::hash::output_hash(&ran.output)),
                "fuel_used": ran.fuel_used,
                "output_len": ran.output.len(),
            })
            .to_string(),
        )
    })
}

/// The host engine's report (`runtime/js/engine.mjs`'s shape) as an
/// [`edgerun_runtime::Execution`].
fn execution_from(v: &JsValue) -> Result<edgerun_runtime::Execution, String> {
    use edgerun_runtime::{End, Trap};
    let get = |k: &str| Reflect::get(v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    let end_name = get("end")
        .as_string()
        .ok_or("the engine's report has no end")?;
    let end = match end_name.as_str() {
        "returned" => End::Returned,
        "output-limit" => End::OutputLimit,
        other => End::Trap(match other.strip_prefix("trap:") {
            Some("unreachable") => Trap::Unreachable,
            Some("div-by-zero") => Trap::DivByZero,
            Some("integer-overflow") => Trap::IntegerOverflow,
            Some("out-of-bounds") => Trap::OutOfBounds,
            Some("indirect-call") => Trap::IndirectCall,
            Some("stack-overflow") => Trap::StackOverflow,
            _ => return Err(format!("the engine ended with {other:?}")),
        }),
    };
    let fuel_left = get("fuelLeft");
    let fuel_left = js_sys::BigInt::new(&fuel_left)
        .ok()
        .and_then(|b| i64::try_from(b).ok())
        .or_else(|| fuel_left.as_f64().map(|f| f as i64))
        .ok_or("the engine's report has no fuelLeft")?;
    Ok(edgerun_runtime::Execution {
        end,
        fuel_left,
        stack: get("stack").as_f64().unwrap_or(0.0) as u32,
        grow_refused: get("growRefused").as_bool().unwrap_or(false),
        output: Uint8Array::new(&get("output")).to_vec(),
    })
}

/// A worker in a tab or an edge isolate (see the crate docs).
#[wasm_bindgen]
pub struct WebWorker {
    inner: Rc<Worker<WebTransport>>,
    host: Host,
    earnings: Rc<std::cell::RefCell<Earnings>>,
}

/// What the chain paid and took from this worker's stake, as read from the
/// transactions that touched it (`earnings()`), and how far it has read.
#[derive(Default)]
struct Earnings {
    /// The newest transaction already counted.
    until: Option<String>,
    paid: u64,
    penalized: u64,
    slashed: u64,
    /// A call is reading (two at once would count the same transactions).
    busy: bool,
}

/// Every signature of a transaction that touched `address` after `until`
/// (all of them without it), newest first, page by page.
async fn read_signatures(
    t: &WebTransport,
    address: &Address,
    until: Option<&str>,
) -> Result<Vec<Value>, TransportError> {
    const PAGE: usize = 1000;
    let mut all: Vec<Value> = Vec::new();
    loop {
        let mut options = json!({"commitment": "confirmed", "limit": PAGE});
        if let Some(u) = until {
            options["until"] = json!(u);
        }
        if let Some(last) = all.last().and_then(|x| x["signature"].as_str()) {
            options["before"] = json!(last);
        }
        let page = t
            .rpc(
                "getSignaturesForAddress",
                json!([address.to_string(), options]),
            )
            .await?;
        let page = page.as_array().cloned().unwrap_or_default();
        let full = page.len() == PAGE;
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

fn js_err(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

fn action_json(a: &Action) -> Value {
    match a {
        Action::Registered { stake_lamports } => {
            json!({"type": "registered", "stake_lamports": stake_lamports})
        }
        Action::Submitted {
            job,
            output_hash,
            fuel_used,
        } => {
            json!({"type": "submitted", "job": hex(job), "output_hash": hex(output_hash), "fuel_used": fuel_used})
        }
        Action::Published {
            job,
            url,
            finalized,
        } => {
            json!({"type": "revealed", "job": hex(job), "url": url, "finalized": finalized})
        }
        Action::Revealed { job } => json!({"type": "revealed", "job": hex(job), "withheld": true}),
        Action::Copied { job } => json!({"type": "copied", "job": hex(job)}),
        Action::Refused { job, reason } => {
            json!({"type": "refused", "job": hex(job), "reason": reason})
        }
        Action::Stalled { job, error } => {
            json!({"type": "stalled", "job": hex(job), "error": error})
        }
    }
}

#[wasm_bindgen]
impl WebWorker {
    /// `config`: `{relay, rpc, worker}` (the worker key's address, base58)
    /// and optionally `programId` (else the relay's `GET /v1/info`),
    /// `stakeLamports` (for `ensureRegistered`) and `maxFuel` (refuse seats
    /// whose fuel cap is above it);
    /// `host`: `{sign, runModule?, emit?}`. Checks the program is an
    /// edgerun program on `rpc`.
    pub async fn connect(config: JsValue, host: JsValue) -> Result<WebWorker, JsValue> {
        let get = |k: &str| {
            Reflect::get(&config, &JsValue::from_str(k))
                .ok()
                .and_then(|v| v.as_string())
        };
        let relay = get("relay").ok_or_else(|| js_err("config.relay is required"))?;
        let relay = relay.trim_end_matches('/').to_owned();
        let rpc = get("rpc").ok_or_else(|| js_err("config.rpc is required"))?;
        let worker: Address = get("worker")
            .ok_or_else(|| js_err("config.worker (the worker key's address) is required"))?
            .parse()
            .map_err(|_| js_err("config.worker is not a base58 address"))?;
        let (status, info) = fetch(&format!("{relay}/v1/info"), "GET", &[], None)
            .await
            .map_err(js_err)?;
        if status != 200 {
            return Err(js_err(format!("{relay}/v1/info answered {status}")));
        }
        let info: Value = serde_json::from_slice(&info).map_err(js_err)?;
        let program: Address =
            match get("programId").or_else(|| info["program_id"].as_str().map(str::to_owned)) {
                Some(p) => p
                    .parse()
                    .map_err(|_| js_err("the program id is not an address"))?,
                None => {
                    return Err(js_err(
                        "no program id: pass config.programId or a relay with a chain",
                    ));
                }
            };
        let fee_payer: Address = info["fee_payer"]
            .as_str()
            .ok_or_else(|| {
                js_err("the relay pays no fees (no fee payer): a browser worker needs one")
            })?
            .parse()
            .map_err(js_err)?;
        let host = Host(host);
        let transport = WebTransport {
            rpc,
            relay,
            program,
            fee_payer,
            worker,
            host: host.clone(),
        };
        transport
            .config()
            .await
            .map_err(|e| js_err(format!("no edgerun program at {program}: {e}")))?;
        let number = |k: &str| {
            Reflect::get(&config, &JsValue::from_str(k))
                .ok()
                .and_then(|v| v.as_f64())
                .filter(|v| *v >= 1.0 && *v <= 9.0e15)
                .map(|v| v as u64)
        };
        let mut settings = Settings {
            max_fuel: number("maxFuel"),
            ..Settings::default()
        };
        if let Some(stake) = number("stakeLamports") {
            settings.stake_lamports = stake;
        }
        Ok(WebWorker {
            inner: Rc::new(Worker::new(transport, settings)),
            host,
            earnings: Default::default(),
        })
    }

    pub fn worker(&self) -> String {
        self.inner.transport().worker().to_string()
    }

    #[wasm_bindgen(js_name = programId)]
    pub fn program_id(&self) -> String {
        self.inner.transport().program().to_string()
    }

    #[wasm_bindgen(js_name = runtimeId)]
    pub fn runtime_id(&self) -> String {
        hex(&edgerun_runtime::runtime_id())
    }

    /// One pass over this worker's seats; resolves to the actions taken
    /// (each also emitted as an event).
    pub fn step(&self) -> Promise {
        let (inner, host) = (self.inner.clone(), self.host.clone());
        future_to_promise(async move {
            let actions = inner.step().await.map_err(js_err)?;
            let list: Vec<Value> = actions.iter().map(action_json).collect();
            for a in &list {
                host.emit(a.clone());
            }
            js_sys::JSON::parse(&Value::Array(list).to_string())
        })
    }

    /// Registers this worker as its own authority, staking `stakeLamports`
    /// (from `connect`'s config) from the worker key's own lamports, if it
    /// has no stake yet (an edge worker whose operator funded its key).
    /// Resolves to the `registered` action, or `null` when already staked.
    #[wasm_bindgen(js_name = ensureRegistered)]
    pub fn ensure_registered(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            match inner.ensure_registered().await.map_err(js_err)? {
                None => Ok(JsValue::NULL),
                Some(a) => js_sys::JSON::parse(&action_json(&a).to_string()),
            }
        })
    }

    /// Tells the relay this worker is online.
    pub fn heartbeat(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            inner.heartbeat().await.map_err(js_err)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The worker's stake (`{total, locked, authority}`), or `null` before
    /// it is registered.
    pub fn stake(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            match inner.transport().stake().await.map_err(js_err)? {
                None => Ok(JsValue::NULL),
                Some(s) => js_sys::JSON::parse(
                    &json!({
                        "total": s.total_stake.get(),
                        "locked": s.locked_stake.get(),
                        "authority": Address::new_from_array(s.authority.0).to_string(),
                    })
                    .to_string(),
                ),
            }
        })
    }

    /// register_worker for a volunteer with a wallet: `authority` (the
    /// wallet's address) funds `stakeLamports`, pays the fee and may
    /// withdraw. Resolves to the transaction (base64, wire format) with the
    /// worker key's signature in place; the wallet adds its own and sends
    /// it (Wallet Standard `solana:signAndSendTransaction`).
    #[wasm_bindgen(js_name = registrationTransaction)]
    pub fn registration_transaction(&self, authority: String, stake_lamports: f64) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let authority: Address = authority
                .parse()
                .map_err(|_| js_err(format!("the authority {authority:?} is not an address")))?;
            if !(1.0..=9.0e15).contains(&stake_lamports) {
                return Err(js_err(
                    "stakeLamports must be a positive number of lamports",
                ));
            }
            let t = inner.transport();
            let ix = edgerun_client::register_worker(
                &t.program,
                &t.worker,
                &authority,
                stake_lamports as u64,
            );
            let blockhash = t.blockhash().await.map_err(js_err)?;
            let message =
                solana_message::Message::new_with_blockhash(&[ix], Some(&authority), &blockhash);
            let tx = t
                .signed(solana_transaction::Transaction::new_unsigned(message))
                .await
                .map_err(js_err)?;
            let wire = bincode::serialize(&tx).map_err(js_err)?;
            Ok(JsValue::from_str(
                &base64::engine::general_purpose::STANDARD.encode(wire),
            ))
        })
    }

    /// withdraw_stake for a volunteer whose wallet is the stake authority:
    /// takes `lamports` of the unlocked stake back to `authority`, which
    /// pays the fee and is the only signer. Resolves to the unsigned
    /// transaction (base64, wire format) for the wallet to sign and send.
    /// The program refuses more than the unlocked stake and any other
    /// signer.
    #[wasm_bindgen(js_name = withdrawTransaction)]
    pub fn withdraw_transaction(&self, authority: String, lamports: f64) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let authority: Address = authority
                .parse()
                .map_err(|_| js_err(format!("the authority {authority:?} is not an address")))?;
            if !(1.0..=9.0e15).contains(&lamports) {
                return Err(js_err("withdraw a positive number of lamports"));
            }
            let t = inner.transport();
            let ix =
                edgerun_client::withdraw_stake(&t.program, &authority, &t.worker, lamports as u64);
            let blockhash = t.blockhash().await.map_err(js_err)?;
            let message =
                solana_message::Message::new_with_blockhash(&[ix], Some(&authority), &blockhash);
            let tx = solana_transaction::Transaction::new_unsigned(message);
            let wire = bincode::serialize(&tx).map_err(js_err)?;
            Ok(JsValue::from_str(
                &base64::engine::general_purpose::STANDARD.encode(wire),
            ))
        })
    }

    /// What the chain paid this worker and took from it, read from the
    /// transactions that touched its stake since the last call:
    /// `{paid, penalized, slashed, changes: [{job, kind, lamports,
    /// signature}]}`, totals in lamports since this worker first looked
    /// (the first call reads the whole history). A finalize that raised the
    /// stake pays; WorkerPenalized and WorkerSlashed events that name this
    /// worker take.
    pub fn earnings(&self) -> Promise {
        let (inner, earnings) = (self.inner.clone(), self.earnings.clone());
        future_to_promise(async move {
            let t = inner.transport();
            let stake = edgerun_client::worker_stake_pda(&t.program, &t.worker).0;
            let until = {
                let mut e = earnings.borrow_mut();
                if e.busy {
                    return Err(js_err("earnings() is already running; await it first"));
                }
                e.busy = true;
                e.until.clone()
            };
            let read = read_signatures(t, &stake, until.as_deref()).await;
            let list = match read {
                Ok(list) => list,
                Err(err) => {
                    earnings.borrow_mut().busy = false;
                    return Err(js_err(err));
                }
            };
            let me = edgerun_protocol::layout::Pubkey(t.worker.to_bytes());
            let mut changes = Vec::new();
            let (mut paid, mut penalized, mut slashed) = (0u64, 0u64, 0u64);
            // Oldest first.
            for entry in list.iter().rev() {
                if !entry["err"].is_null() {
                    continue;
                }
                let Some(signature) = entry["signature"].as_str() else {
                    continue;
                };
                let tx = t
                    .rpc(
                        "getTransaction",
                        json!([signature, {"encoding": "json", "commitment": "confirmed", "maxSupportedTransactionVersion": 0}]),
                    )
                    .await;
                let tx = match tx {
                    Ok(tx) => tx,
                    Err(err) => {
                        earnings.borrow_mut().busy = false;
                        return Err(js_err(err));
                    }
                };
                let meta = &tx["meta"];
                let logs: Vec<String> = meta["logMessages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|l| l.as_str().map(str::to_owned))
                    .collect();
                let keys = tx["transaction"]["message"]["accountKeys"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let at = keys
                    .iter()
                    .position(|k| k.as_str() == Some(&stake.to_string()));
                let delta = at
                    .map(|i| {
                        meta["postBalances"][i].as_i64().unwrap_or(0)
                            - meta["preBalances"][i].as_i64().unwrap_or(0)
                    })
                    .unwrap_or(0);
                for event in edgerun_client::events_from_logs(&logs) {
                    use edgerun_protocol::event::AnyEvent;
                    let (kind, lamports, job) = match event {
                        AnyEvent::JobFinalized(e) if delta > 0 => ("paid", delta as u64, e.job_id),
                        AnyEvent::WorkerPenalized(e) if e.worker == me => {
                            ("penalized", e.amount.get(), e.job_id)
                        }
                        AnyEvent::WorkerSlashed(e) if e.worker == me => {
                            ("slashed", e.amount.get(), e.job_id)
                        }
                        _ => continue,
                    };
                    match kind {
                        "paid" => paid += lamports,
                        "penalized" => penalized += lamports,
                        _ => slashed += lamports,
                    }
                    changes.push(json!({"job": hex(&job), "kind": kind, "lamports": lamports, "signature": signature}));
                }
            }
            let mut e = earnings.borrow_mut();
            e.busy = false;
            if let Some(newest) = list.first().and_then(|x| x["signature"].as_str()) {
                e.until = Some(newest.to_owned());
            }
            e.paid += paid;
            e.penalized += penalized;
            e.slashed += slashed;
            js_sys::JSON::parse(
                &json!({"paid": e.paid, "penalized": e.penalized, "slashed": e.slashed, "changes": changes})
                    .to_string(),
            )
        })
    }

    /// Asks the relay to sponsor this key's stake (`POST /v1/volunteers`),
    /// signs the offered register_worker and sends it to the chain.
    pub fn sponsor(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let t = inner.transport();
            let now = unix_ms();
            let proof = t
                .host
                .sign(&edgerun_protocol::volunteer::message(
                    &t.worker.to_bytes(),
                    now,
                ))
                .await
                .map_err(js_err)?;
            let body =
                json!({"worker": t.worker.to_string(), "unix_ms": now, "signature": hex(&proof)})
                    .to_string();
            let offer = t
                .relay_call(
                    "POST",
                    "/v1/volunteers",
                    &[("content-type", "application/json".into())],
                    Some(body.as_bytes()),
                )
                .await
                .map_err(js_err)?;
            let offer: Value = serde_json::from_slice(&offer).map_err(js_err)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(offer["transaction"].as_str().unwrap_or_default())
                .map_err(js_err)?;
            let tx: solana_transaction::Transaction =
                bincode::deserialize(&bytes).map_err(js_err)?;
            let tx = t.signed(tx).await.map_err(js_err)?;
            let wire = base64::engine::general_purpose::STANDARD
                .encode(bincode::serialize(&tx).map_err(js_err)?);
            let signature = t
                .rpc(
                    "sendTransaction",
                    json!([wire, {"encoding": "base64", "preflightCommitment": "confirmed"}]),
                )
                .await
                .map_err(js_err)?;
            // Confirmed once the stake exists.
            for _ in 0..150 {
                if t.stake().await.map_err(js_err)?.is_some() {
                    return js_sys::JSON::parse(
                        &json!({"signature": signature, "authority": offer["authority"], "stake_lamports": offer["stake_lamports"]})
                            .to_string(),
                    );
                }
                sleep_ms(200).await;
            }
            Err(js_err(
                "the sponsored registration did not confirm within 30 s",
            ))
        })
    }
}

async fn sleep_ms(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        if let Ok(f) = Reflect::get(&global, &JsValue::from_str("setTimeout"))
            .and_then(|f| f.dyn_into::<Function>())
        {
            let _ = f.call2(&global, &resolve, &JsValue::from(ms));
        }
    });
    let _ = JsFuture::from(promise).await;
}
