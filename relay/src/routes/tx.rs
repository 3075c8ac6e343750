//! `POST /v1/tx`: the relay pays the fee for edgerun transactions worth
//! paying for (PROTOCOL.md v1.1, "Relay fee payer"; the rules are in
//! [`crate::fee_payer`]).
//!
//! A worker or client builds a transaction with the relay's fee payer
//! (`GET /v1/info`) as its first account, signs it with its own keys and
//! posts it here. In order, before any lamport is spent: the size (1232
//! bytes at most), the policy's rules, each worker's stake on chain, the
//! signer's request rate, the per-signer and total fee budgets, and a
//! simulation of the co-signed transaction. Only then is it sent.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use base64::Engine;
use serde::{Deserialize, Serialize};
use solana_signer::Signer;
use solana_transaction::Transaction;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, RelayError};
use crate::fee_payer::{self, MAX_TX_BYTES};

pub use crate::fee_payer::{ED25519_PROGRAM, FeePayer, FeePolicy, RateLimiter};

/// Largest `POST /v1/tx` body read: a 1232-byte transaction is 1,644
/// base64 characters.
pub const TX_BODY_BYTES: usize = 4096;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_tx).layer(axum::extract::DefaultBodyLimit::max(TX_BODY_BYTES)))
        .routes(routes!(info))
}

/// A transaction to co-sign and submit.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TxRequest {
    /// The transaction, bincode, base64 (at most 1232 bytes decoded): fee
    /// payer = the relay's `fee_payer`, every other signature present.
    pub transaction: String,
}

#[derive(Serialize, ToSchema)]
pub struct TxSubmitted {
    pub signature: String,
}

/// What a client needs to build transactions for this relay.
#[derive(Serialize, ToSchema)]
pub struct RelayInfo {
    /// The account that pays fees for `POST /v1/tx` (absent: co-signing off).
    pub fee_payer: Option<String>,
    /// The edgerun program this relay serves (absent: started without a
    /// chain). Clients take the program id from here when not given one.
    pub program_id: Option<String>,
    pub runtime_id: String,
    /// A JSON-RPC URL of the relay's chain that browsers may use (the
    /// portal sends a wallet-signed post_job there); absent: none named.
    pub rpc_url: Option<String>,
    /// The program's Config account (its parameters: protocol fee, minimum
    /// escrow, windows), for clients that price a job from the chain.
    pub config: Option<String>,
}

/// The relay's fee payer, the program and the runtime it serves.
#[utoipa::path(get, path = "/v1/info", responses((status = 200, body = RelayInfo)), tag = "service")]
async fn info(State(state): State<AppState>) -> Json<RelayInfo> {
    Json(RelayInfo {
        fee_payer: state
            .fee_payer
            .as_ref()
            .map(|k| k.keypair.pubkey().to_string()),
        program_id: state.program().map(|p| p.to_string()),
        runtime_id: edgerun_runtime::hex(&edgerun_runtime::runtime_id()),
        rpc_url: state.public_rpc.clone(),
        config: state
            .program()
            .map(|p| edgerun_client::config_pda(&p).0.to_string()),
    })
}

/// A JSON body's rejection as the relay's error (413 past the cap).
pub(crate) fn json_error(e: JsonRejection, limit: usize, expected: &str) -> RelayError {
    if let Some(slow) = crate::guard::TooSlow::find(&e) {
        return RelayError::TooSlow(slow.clone());
    }
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return RelayError::BodyTooLarge { limit };
    }
    RelayError::BadRequest(format!(
        "the body is not {expected} ({}); send it with content-type: application/json",
        e.body_text()
    ))
}

/// Co-sign an edgerun transaction as fee payer and submit it. Paid for
/// only: a staked worker's submit_result (each with exactly one Ed25519
/// check, right before it, of one signature by that worker), reach_quorum,
/// declare_output and finalize_job; register_worker funded by its signer;
/// a client's post_job. The transaction must pass simulation, and the
/// fee payer's spend per signer and in total per hour is capped.
#[utoipa::path(
    post,
    path = "/v1/tx",
    request_body = TxRequest,
    responses(
        (status = 200, description = "Simulated, co-signed, submitted and confirmed", body = TxSubmitted),
        (status = 400, description = "`bad_request`: not a transaction", body = ErrorBody),
        (status = 408, description = "`too_slow`: the body arrived too slowly", body = ErrorBody),
        (status = 413, description = "`tx_too_large` (over 1232 bytes) or `too_large` (a body over 4 KiB)", body = ErrorBody),
        (status = 422, description = "`tx_refused`: breaks the fee payer's policy or fails in simulation; nothing was spent", body = ErrorBody),
        (status = 429, description = "`rate_limited`: the signer's request rate, or the per-signer or total fee budget; the message says when to retry", body = ErrorBody),
        (status = 502, description = "`chain_refused` or `chain_unavailable`", body = ErrorBody),
        (status = 503, description = "`no_fee_payer` or `no_chain`", body = ErrorBody),
    ),
    tag = "jobs"
)]
async fn post_tx(
    State(state): State<AppState>,
    body: Result<Json<TxRequest>, JsonRejection>,
) -> Result<Json<TxSubmitted>, RelayError> {
    let mut fee = None;
    let result = relay_tx(&state, body, &mut fee).await;
    let outcome = match &result {
        Ok(_) => "sent",
        Err(e) => e.code(),
    };
    state.metrics.record_transaction(outcome, fee);
    result
}

/// The checks, the simulation and the send; `paid` is set to the fee once
/// the transaction was sent.
async fn relay_tx(
    state: &AppState,
    body: Result<Json<TxRequest>, JsonRejection>,
    paid: &mut Option<u64>,
) -> Result<Json<TxSubmitted>, RelayError> {
    let Json(req) = body.map_err(|e| json_error(e, TX_BODY_BYTES, "{\"transaction\": base64}"))?;
    let payer = state.fee_payer.as_ref().ok_or(RelayError::NoFeePayer)?;
    let chain = state.chain.as_ref().ok_or(RelayError::NoChain)?;
    let stakes = state.stakes.as_ref().ok_or(RelayError::NoChain)?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(req.transaction.trim())
        .map_err(|e| RelayError::BadRequest(format!("transaction is not base64: {e}")))?;
    if raw.len() > MAX_TX_BYTES {
        return Err(RelayError::TxTooLarge { size: raw.len() });
    }
    let mut tx: Transaction = bincode::deserialize(&raw).map_err(|e| {
        RelayError::BadRequest(format!(
            "transaction is not a bincode Solana transaction: {e}"
        ))
    })?;
    fee_payer::check_size(&tx)?;
    let plan = fee_payer::check(&tx, &payer.keypair.pubkey(), &chain.program)?;
    for worker in &plan.workers {
        if !stakes.active(worker).await? {
            return Err(RelayError::TxRefused(format!(
                "{worker} acts as a worker but is not a registered worker with stake on this chain; \
                 the relay pays only for staked workers' steps (register_worker with stake first)"
            )));
        }
    }
    payer
        .limiter
        .take(&plan.principal)
        .map_err(|wait| RelayError::RateLimited {
            what: format!("too many transactions from {}", plan.principal),
            retry_s: wait.as_secs().max(1),
        })?;
    let reservation = payer.spend.reserve(&plan.principal, plan.fee())?;
    let blockhash = tx.message.recent_blockhash;
    tx.try_partial_sign(&[payer.keypair.as_ref()], blockhash)
        .map_err(|e| RelayError::TxRefused(format!("cannot co-sign: {e}")))?;
    // Dropping the reservation gives the lamports back: nothing was sent.
    let simulated = chain.simulate(&tx).await?;
    if let (Some(fee), Some((before, after))) = (simulated.fee, simulated.payer_balance)
        && before.saturating_sub(after) > fee
    {
        return Err(RelayError::TxRefused(format!(
            "in simulation the fee payer would lose {} lamports, more than the {fee} lamport fee",
            before - after
        )));
    }
    // Once sent, the fee counts as spent even if the send reports an
    // error: the transaction may have landed.
    let sent = chain.send(&tx).await;
    *paid = Some(simulated.fee.unwrap_or(plan.fee()));
    reservation.spent(simulated.fee);
    let signature = sent?;
    Ok(Json(TxSubmitted {
        signature: signature.to_string(),
    }))
}
