//! `POST /v1/jobs`: wasm + input + tier in, a stored bundle and a job out.
//!
//! Two ways to pay:
//! - with `client` (a base58 address): the relay returns an **unsigned**
//!   post_job transaction (base64, bincode, fee payer = client, a recent
//!   blockhash) for the customer's wallet to sign and send;
//! - with `authorization: Bearer <api key>` matching the relay's key: the
//!   relay posts the job itself from the operator's funded account.
//!
//! Either way the bundle is validated (a module no worker would run is
//! refused before any lamport moves) and stored under its hash first.
//!
//! The form streams into one buffer, the bundle itself: the input part is
//! read into it directly and the header and wasm are put in front of it at
//! the end, so a job post holds about one bundle's bytes in memory. A post
//! takes one of the client address's upload slots and a bundle buffer
//! before it reads anything.

use axum::Json;
use axum::extract::multipart::Field;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use edgerun_client::JobSpec;
use edgerun_protocol::hash::hex;
use edgerun_protocol::limits::Limits;
use edgerun_protocol::tier::Tier;
use serde::Serialize;
use solana_address::Address;
use solana_signer::Signer;
use solana_transaction::Transaction;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, RelayError};
use crate::routes::objects::{ClientIp, upload_slot};
use crate::store::{ContentHash, Kind, PutOptions};

pub fn router() -> OpenApiRouter<AppState> {
    // The form reader enforces its own caps (wasm, input, the relay's
    // bundle cap, 256-byte text fields) as the parts stream.
    OpenApiRouter::new().routes(routes!(post_job).layer(axum::extract::DefaultBodyLimit::disable()))
}

/// Largest text field read (tier, client, numbers).
const TEXT_FIELD_BYTES: usize = 256;

/// The multipart form `POST /v1/jobs` reads (documentation only; the
/// handler reads the parts as they stream).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PostJobForm {
    /// The job's WebAssembly module (file part; parts may come in any order).
    #[schema(format = Binary)]
    wasm: Vec<u8>,
    /// The job's input bytes (file part).
    #[schema(format = Binary)]
    input: Vec<u8>,
    /// bronze (3/2, default), silver (5/3) or gold (7/5).
    tier: Option<String>,
    /// The paying customer's address; required without an API key.
    client: Option<String>,
    /// Escrow in lamports (default: the tier's minimum, at least 0.01 SOL).
    escrow_lamports: Option<u64>,
    max_instructions: Option<u64>,
    max_memory_bytes: Option<u32>,
    max_output_bytes: Option<u32>,
    ttl_slots: Option<u64>,
    /// Paid on top of the escrow (default 0): the scheduler seats jobs with
    /// a higher priority fee first. It goes to the treasury at finalize and
    /// back to the client if the job is cancelled.
    priority_fee_lamports: Option<u64>,
}

/// What `POST /v1/jobs` created.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostedJob {
    pub job_id: String,
    pub bundle_hash: String,
    pub bundle_url: String,
    pub tier: String,
    pub escrow_lamports: u64,
    pub priority_fee_lamports: u64,
    /// Where to follow the job.
    pub status_url: String,
    /// Unsigned post_job transaction (base64 bincode) for the client to
    /// sign and send; absent when the relay posted it.
    pub transaction: Option<String>,
    /// The transaction signature when the relay posted it.
    pub signature: Option<String>,
}

struct Form {
    wasm: Option<Vec<u8>>,
    /// The input part, read straight into what becomes the bundle.
    input: Option<Vec<u8>>,
    tier: Tier,
    client: Option<Address>,
    escrow: Option<u64>,
    fuel: u64,
    memory: u32,
    output_cap: u32,
    ttl_slots: u64,
    priority_fee: u64,
}

fn bad(msg: impl Into<String>) -> RelayError {
    RelayError::BadRequest(msg.into())
}

fn number<T: std::str::FromStr>(name: &str, text: &str) -> Result<T, RelayError> {
    text.trim()
        .parse()
        .map_err(|_| bad(format!("form field {name}={text:?} is not a number")))
}

/// A multipart error as the relay's: a body cut off for its pace is
/// `too_slow`, anything else a malformed form.
fn form_error(what: &str, e: axum::extract::multipart::MultipartError) -> RelayError {
    match crate::guard::TooSlow::find(&e) {
        Some(slow) => RelayError::TooSlow(slow.clone()),
        None => bad(format!("{what}: {e}")),
    }
}

/// Reads a field's bytes into `out`, at most `max` in all.
async fn read_field(
    field: &mut Field<'_>,
    name: &str,
    out: &mut Vec<u8>,
    max: usize,
    too_large: impl Fn() -> RelayError,
) -> Result<(), RelayError> {
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| form_error(&format!("form field {name}"), e))?
    {
        if out.len() + chunk.len() > max {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(())
}

async fn read_form(mut multipart: Multipart, max_bundle: u64) -> Result<Form, RelayError> {
    let mut form = Form {
        wasm: None,
        input: None,
        tier: Tier::Bronze,
        client: None,
        escrow: None,
        fuel: 10_000_000_000,
        memory: 64 << 20,
        output_cap: 1 << 20,
        ttl_slots: 21_600,
        priority_fee: 0,
    };
    let bundle_too_large = || RelayError::TooLarge {
        kind: Kind::Bundle,
        limit: max_bundle,
    };
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| form_error("malformed multipart body", e))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "wasm" | "input" => {
                let protocol_max = if name == "wasm" {
                    edgerun_protocol::bundle::MAX_WASM_BYTES
                } else {
                    edgerun_protocol::bundle::MAX_INPUT_BYTES
                } as u64;
                // The other part (a part sent twice replaces itself).
                let other = if name == "wasm" {
                    &form.input
                } else {
                    &form.wasm
                };
                let room = max_bundle.saturating_sub(other.as_ref().map_or(0, Vec::len) as u64);
                let mut bytes = Vec::new();
                read_field(
                    &mut field,
                    &name,
                    &mut bytes,
                    protocol_max.min(room) as usize,
                    || {
                        if protocol_max <= room {
                            RelayError::InvalidJob(format!(
                                "the {name} part is larger than the protocol's {protocol_max} bytes"
                            ))
                        } else {
                            bundle_too_large()
                        }
                    },
                )
                .await?;
                if name == "wasm" {
                    form.wasm = Some(bytes);
                } else {
                    form.input = Some(bytes);
                }
                continue;
            }
            "tier"
            | "client"
            | "escrow_lamports"
            | "max_instructions"
            | "max_memory_bytes"
            | "max_output_bytes"
            | "ttl_slots"
            | "priority_fee_lamports" => {}
            other => {
                return Err(bad(format!(
                    "unknown form field {:?}; the fields are wasm, input, tier, client, escrow_lamports, max_instructions, max_memory_bytes, max_output_bytes, ttl_slots, priority_fee_lamports",
                    other.chars().take(60).collect::<String>()
                )));
            }
        }
        let mut bytes = Vec::new();
        read_field(&mut field, &name, &mut bytes, TEXT_FIELD_BYTES, || {
            bad(format!(
                "form field {name} is longer than {TEXT_FIELD_BYTES} bytes"
            ))
        })
        .await?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "tier" => {
                form.tier = match text.trim() {
                    "bronze" => Tier::Bronze,
                    "silver" => Tier::Silver,
                    "gold" => Tier::Gold,
                    other => {
                        return Err(bad(format!("tier {other:?}: use bronze, silver or gold")));
                    }
                }
            }
            "client" => {
                form.client = Some(
                    text.trim()
                        .parse()
                        .map_err(|_| bad(format!("client {text:?} is not a base58 address")))?,
                )
            }
            "escrow_lamports" => form.escrow = Some(number(&name, &text)?),
            "max_instructions" => form.fuel = number(&name, &text)?,
            "max_memory_bytes" => form.memory = number(&name, &text)?,
            "max_output_bytes" => form.output_cap = number(&name, &text)?,
            "priority_fee_lamports" => form.priority_fee = number(&name, &text)?,
            _ => form.ttl_slots = number(&name, &text)?,
        }
    }
    Ok(form)
}

/// The bundle for `wasm` and `input`, built in `input`'s buffer: the
/// runtime validates the module and encodes the bundle with an empty input
/// (header, wasm, input length), that prefix goes in front of the input,
/// and the input length is set. `Bundle::decode` checks the result.
fn bundle_in_place(
    wasm: &[u8],
    mut input: Vec<u8>,
    limits: &Limits,
) -> Result<Vec<u8>, RelayError> {
    let input_len = u32::try_from(input.len())
        .map_err(|_| RelayError::InvalidJob("the input is larger than 4 GiB".into()))?;
    let prefix = edgerun_runtime::build_bundle(wasm, &[], limits)
        .map_err(|e| RelayError::InvalidJob(e.to_string()))?;
    let at = prefix.len();
    input.splice(0..0, prefix);
    // The prefix ends with the (empty) input's u32 LE length.
    input[at - 4..at].copy_from_slice(&input_len.to_le_bytes());
    let decoded = edgerun_protocol::bundle::Bundle::decode(&input)
        .map_err(|e| RelayError::Internal(format!("a built bundle does not decode: {e}")))?;
    if decoded.input.len() != input_len as usize {
        return Err(RelayError::Internal("a built bundle lost its input".into()));
    }
    Ok(input)
}

/// Build and store a bundle, then post the job (API key) or return the
/// unsigned transaction (client address).
#[utoipa::path(
    post,
    path = "/v1/jobs",
    request_body(content = inline(PostJobForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Bundle stored; job posted or transaction returned", body = PostedJob),
        (status = 400, description = "Malformed form", body = ErrorBody),
        (status = 401, description = "Wrong API key", body = ErrorBody),
        (status = 408, description = "`too_slow`: the form arrived below the relay's minimum rate", body = ErrorBody),
        (status = 413, description = "Bundle over the relay's limit", body = ErrorBody),
        (status = 422, description = "Not a valid edgerun job", body = ErrorBody),
        (status = 429, description = "`too_many_uploads` from this address", body = ErrorBody),
        (status = 502, description = "The chain refused or did not answer", body = ErrorBody),
        (status = 503, description = "No chain connection, or `busy` (every bundle slot stayed taken)", body = ErrorBody),
    ),
    tag = "jobs"
)]
async fn post_job(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<PostedJob>), RelayError> {
    // A body that is not multipart at all gets the same JSON error shape.
    let multipart = multipart.map_err(|e| {
        bad(format!(
            "send the job as multipart/form-data with parts wasm and input: {}",
            e.body_text()
        ))
    })?;
    let chain = state.chain.as_ref().ok_or(RelayError::NoChain)?.clone();
    // Decide how the job is paid before reading the body.
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let poster = match (bearer, &state.poster) {
        (None, _) => None,
        (Some(key), Some(p)) if constant_time_eq(key.as_bytes(), p.api_key.as_bytes()) => {
            Some(p.clone())
        }
        (Some(_), _) => return Err(RelayError::Unauthorized),
    };
    // An upload slot of this address and a bundle buffer, before reading.
    let _slot = upload_slot(&state, ip)?;
    let permit = state.store.buffer_permit(Kind::Bundle).await?;
    let max_bundle = state.store.limit(Kind::Bundle);
    let form = read_form(multipart, max_bundle).await?;
    let wasm = form
        .wasm
        .ok_or_else(|| bad("the form needs a file part named wasm"))?;
    let input = form
        .input
        .ok_or_else(|| bad("the form needs a file part named input"))?;
    let client = match (&poster, form.client) {
        (Some(p), _) => p.keypair.pubkey(),
        (None, Some(c)) => c,
        (None, None) => {
            return Err(bad(
                "name the paying client (form field client = its base58 address) to get a transaction to sign, or send the relay's API key",
            ));
        }
    };
    let limits = Limits::new(form.memory, form.fuel, form.output_cap);
    let bundle = bundle_in_place(&wasm, input, &limits)?;
    drop(wasm);
    if bundle.len() as u64 > max_bundle {
        return Err(RelayError::TooLarge {
            kind: Kind::Bundle,
            limit: max_bundle,
        });
    }
    let escrow = form.escrow.unwrap_or(form.tier.default_escrow());
    let spec = JobSpec::for_bundle(&client, rand::random(), &bundle, escrow, form.ttl_slots)
        .map_err(|e| RelayError::InvalidJob(e.to_string()))?
        .with_priority_fee(form.priority_fee);
    let (job_id, bundle_hash) = (spec.job_id, spec.bundle_hash);
    // One chunk: the store checks it whole without copying it.
    state
        .store
        .put(
            Kind::Bundle,
            ContentHash(bundle_hash),
            PutOptions { cap: None, permit },
            futures_util::stream::iter([Ok::<_, std::convert::Infallible>(bytes::Bytes::from(
                bundle,
            ))]),
        )
        .await?;
    let ix = edgerun_client::post_job(&chain.program, &client, &spec);
    let blockhash = chain.blockhash().await?;
    let mut posted = PostedJob {
        job_id: hex(&job_id),
        bundle_hash: hex(&bundle_hash),
        bundle_url: Kind::Bundle.url(&ContentHash(bundle_hash)),
        tier: Tier::for_escrow(escrow).sla_name().to_owned(),
        escrow_lamports: escrow,
        priority_fee_lamports: spec.priority_fee_lamports,
        status_url: format!("/v1/jobs/{}", hex(&job_id)),
        transaction: None,
        signature: None,
    };
    match poster {
        Some(p) => {
            let tx = Transaction::new_signed_with_payer(
                &[ix],
                Some(&client),
                &[p.keypair.as_ref()],
                blockhash,
            );
            posted.signature = Some(chain.send(&tx).await?.to_string());
        }
        None => {
            let mut tx = Transaction::new_with_payer(&[ix], Some(&client));
            tx.message.recent_blockhash = blockhash;
            let bytes = bincode::serialize(&tx).map_err(|e| RelayError::Internal(e.to_string()))?;
            posted.transaction = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
        }
    }
    Ok((StatusCode::CREATED, Json(posted)))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::FromRequest;

    /// `read_form` over a multipart body of text `parts`.
    async fn form_of(parts: &[(&str, &str)]) -> Result<Form, RelayError> {
        let boundary = "edgerun-test";
        let mut body = String::new();
        for (name, value) in parts {
            body += &format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            );
        }
        body += &format!("--{boundary}--\r\n");
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/v1/jobs")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(axum::body::Body::from(body))
            .expect("a request");
        let multipart = Multipart::from_request(request, &())
            .await
            .expect("a multipart body");
        read_form(multipart, 1 << 20).await
    }

    #[tokio::test]
    async fn the_priority_fee_field_is_read_and_defaults_to_zero() {
        let form = form_of(&[("priority_fee_lamports", "25000"), ("tier", "silver")])
            .await
            .expect("a valid form");
        assert_eq!(form.priority_fee, 25_000);
        assert_eq!(form.tier, Tier::Silver);
        let form = form_of(&[("tier", "gold")]).await.expect("a valid form");
        assert_eq!(form.priority_fee, 0);
        match form_of(&[("priority_fee_lamports", "lots")]).await {
            Err(RelayError::BadRequest(m)) => assert!(m.contains("priority_fee_lamports"), "{m}"),
            Err(e) => panic!("not a bad request: {e}"),
            Ok(_) => panic!("a fee that is not a number was read"),
        }
    }
}
