//! `POST /v1/tx`: the relay pays the fee for edgerun transactions.
//!
//! A worker or client builds a transaction with the relay's fee payer
//! (`GET /v1/info`) as its first account, signs it with its own keys and
//! posts it here. The relay co-signs as fee payer only if every instruction
//! belongs to the edgerun program or the Ed25519 precompile and none of them
//! names the fee payer's account (so none can move its lamports), the other
//! signatures are present and valid, and the signer is within its rate
//! limit. It then submits and returns the signature.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use base64::Engine;
use serde::{Deserialize, Serialize};
use solana_address::Address;
use solana_signer::Signer;
use solana_transaction::Transaction;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, RelayError};

/// The Ed25519 signature-verify precompile.
pub const ED25519_PROGRAM: &str = "Ed25519SigVerify111111111111111111111111111";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_tx))
        .routes(routes!(info))
}

/// Bucket count past which refilled buckets are dropped.
const PRUNE_AT: usize = 10_000;

/// Per-signer token buckets: `burst` transactions, refilled at one per
/// `every`.
pub struct RateLimiter {
    burst: f64,
    every: Duration,
    buckets: Mutex<HashMap<Address, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(burst: u32, every: Duration) -> Self {
        RateLimiter {
            burst: f64::from(burst),
            every,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `signer`, or says how long until one is free.
    pub fn take(&self, signer: &Address) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        // Forget signers whose bucket has refilled: they are as if new, and
        // the map stays bounded by the signers active within one refill.
        if buckets.len() >= PRUNE_AT {
            let full = self.every.mul_f64(self.burst);
            buckets.retain(|_, (_, at)| now.duration_since(*at) < full);
        }
        let (tokens, at) = buckets.entry(*signer).or_insert((self.burst, now));
        let refill = now.duration_since(*at).as_secs_f64() / self.every.as_secs_f64();
        *tokens = (*tokens + refill).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(self.every.mul_f64(1.0 - *tokens))
        }
    }
}

/// A transaction to co-sign and submit.
#[derive(Deserialize, ToSchema)]
pub struct TxRequest {
    /// The transaction, bincode, base64: fee payer = the relay's
    /// `fee_payer`, every other signature present.
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
    pub program_id: String,
    pub runtime_id: String,
}

/// The relay's fee payer, the program and the runtime it serves.
#[utoipa::path(get, path = "/v1/info", responses((status = 200, body = RelayInfo)), tag = "service")]
async fn info(State(state): State<AppState>) -> Json<RelayInfo> {
    Json(RelayInfo {
        fee_payer: state
            .fee_payer
            .as_ref()
            .map(|k| k.keypair.pubkey().to_string()),
        program_id: Address::new_from_array(edgerun_protocol::PROGRAM_ID).to_string(),
        runtime_id: edgerun_runtime::hex(&edgerun_runtime::runtime_id()),
    })
}

/// The relay's co-signing: fee payer for edgerun transactions.
#[derive(Clone)]
pub struct FeePayer {
    pub keypair: Arc<solana_keypair::Keypair>,
    pub limiter: Arc<RateLimiter>,
}

fn refuse(msg: impl Into<String>) -> RelayError {
    RelayError::TxRefused(msg.into())
}

/// Checks the rules; returns the first non-fee-payer signer (rate-limit key).
pub fn check(tx: &Transaction, fee_payer: &Address) -> Result<Address, RelayError> {
    let keys = &tx.message.account_keys;
    if keys.first() != Some(fee_payer) {
        return Err(refuse(format!(
            "the fee payer (first account) must be this relay's {fee_payer} (GET /v1/info)"
        )));
    }
    let program = Address::new_from_array(edgerun_protocol::PROGRAM_ID);
    let ed25519: Address = ED25519_PROGRAM.parse().expect("valid precompile address");
    if tx.message.instructions.is_empty() {
        return Err(refuse("the transaction has no instructions"));
    }
    for (i, ix) in tx.message.instructions.iter().enumerate() {
        let id = keys
            .get(ix.program_id_index as usize)
            .ok_or_else(|| refuse("an instruction names a missing program"))?;
        if *id != program && *id != ed25519 {
            return Err(refuse(format!(
                "instruction {i} calls {id}; the relay pays only for the edgerun program and the Ed25519 precompile"
            )));
        }
        if ix.accounts.contains(&0) {
            return Err(refuse(format!(
                "instruction {i} names the relay's fee payer account; it may only pay the fee"
            )));
        }
    }
    let required = tx.message.header.num_required_signatures as usize;
    if required < 2 || tx.signatures.len() != required {
        return Err(refuse(
            "the transaction must be signed by its own signers besides the fee payer",
        ));
    }
    let message = tx.message_data();
    for (i, sig) in tx.signatures.iter().enumerate().skip(1) {
        if !sig.verify(keys[i].as_ref(), &message) {
            return Err(refuse(format!(
                "signature {i} ({}) is missing or invalid",
                keys[i]
            )));
        }
    }
    Ok(keys[1])
}

/// Co-sign an edgerun transaction as fee payer and submit it.
#[utoipa::path(
    post,
    path = "/v1/tx",
    request_body = TxRequest,
    responses(
        (status = 200, description = "Submitted and confirmed", body = TxSubmitted),
        (status = 400, description = "Not a transaction", body = ErrorBody),
        (status = 422, description = "Breaks the co-signing rules", body = ErrorBody),
        (status = 429, description = "The signer's rate limit", body = ErrorBody),
        (status = 502, description = "The chain refused it", body = ErrorBody),
        (status = 503, description = "Co-signing or the chain is not configured", body = ErrorBody),
    ),
    tag = "jobs"
)]
async fn post_tx(
    State(state): State<AppState>,
    Json(req): Json<TxRequest>,
) -> Result<Json<TxSubmitted>, RelayError> {
    let payer = state.fee_payer.as_ref().ok_or(RelayError::NoFeePayer)?;
    let chain = state.chain.as_ref().ok_or(RelayError::NoChain)?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(req.transaction.trim())
        .map_err(|e| RelayError::BadRequest(format!("transaction is not base64: {e}")))?;
    let mut tx: Transaction = bincode::deserialize(&raw).map_err(|e| {
        RelayError::BadRequest(format!(
            "transaction is not a bincode Solana transaction: {e}"
        ))
    })?;
    let signer = check(&tx, &payer.keypair.pubkey())?;
    payer
        .limiter
        .take(&signer)
        .map_err(|wait| RelayError::RateLimited(wait.as_secs().max(1)))?;
    let blockhash = tx.message.recent_blockhash;
    tx.try_partial_sign(&[payer.keypair.as_ref()], blockhash)
        .map_err(|e| refuse(format!("cannot co-sign: {e}")))?;
    let signature = chain.send(&tx).await?;
    Ok(Json(TxSubmitted {
        signature: signature.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_signer_has_its_own_bucket_and_waits_are_reported() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let (a, b) = (
            Address::new_from_array([1; 32]),
            Address::new_from_array([2; 32]),
        );
        assert!(limiter.take(&a).is_ok());
        assert!(limiter.take(&a).is_ok());
        let wait = limiter.take(&a).unwrap_err();
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(limiter.take(&b).is_ok(), "another signer is not limited");
        // Refill: a fast limiter lets the signer through again.
        let fast = RateLimiter::new(1, Duration::from_millis(20));
        assert!(fast.take(&a).is_ok());
        assert!(fast.take(&a).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(fast.take(&a).is_ok());
    }

    #[test]
    fn refilled_buckets_are_forgotten_so_the_map_stays_bounded() {
        let limiter = RateLimiter::new(1, Duration::from_millis(1));
        for i in 0..PRUNE_AT as u32 {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&i.to_le_bytes());
            limiter.take(&Address::new_from_array(key)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
        limiter.take(&Address::new_from_array([0xff; 32])).unwrap();
        assert_eq!(limiter.buckets.lock().unwrap().len(), 1);
    }

    #[test]
    fn one_take_past_the_threshold_never_scans_the_whole_table() {
        let limiter = RateLimiter::new(1, Duration::from_millis(1));
        for i in 0..PRUNE_AT as u32 * 2 {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&i.to_le_bytes());
            limiter.take(&Address::new_from_array(key)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
        // Every entry is stale now, but one request prunes only a part.
        limiter.take(&Address::new_from_array([0xff; 32])).unwrap();
        let left = limiter.buckets.lock().unwrap().len();
        assert!(
            left > PRUNE_AT,
            "one request pruned the whole table ({left} left)"
        );
    }
}
