//! `POST /v1/volunteers`: the relay sponsors a volunteer's browser tab,
//! which holds a worker key and no SOL. The tab proves it holds the key (a
//! signature over `edgerun_protocol::volunteer::message`); the relay
//! answers with a register_worker transaction that registers that key with
//! a Bronze-sized stake funded by the operator's sponsor account, which is
//! the stake's authority and the fee payer, already signed by it. The tab
//! adds the worker key's signature and sends it to the chain. The
//! transaction registers only that key with that stake (the signature
//! covers it all), so it is worth nothing to anyone else, and the operator
//! keeps the stake: it can withdraw what the volunteer does not have
//! locked, and the volunteer earns credit (the payouts to its key).
//!
//! Off unless the operator configures a sponsor; bounded per hour and in
//! total, and never twice for one key.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use base64::Engine;
use serde::{Deserialize, Serialize};
use solana_address::Address;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, RelayError};

/// Largest request body read.
const BODY_BYTES: usize = 2048;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sponsor).layer(DefaultBodyLimit::max(BODY_BYTES)))
}

/// What the operator gives, and how often.
#[derive(Clone, Copy, Debug)]
pub struct SponsorPolicy {
    /// Lamports staked for each volunteer (a Bronze seat's lock or more).
    pub stake_lamports: u64,
    /// Volunteers sponsored per hour, at most.
    pub per_hour: u32,
    /// Volunteers sponsored in all, at most (until the relay restarts;
    /// keys already registered are never sponsored again).
    pub total: u32,
}

/// The operator's sponsor account and its budget.
#[derive(Clone)]
pub struct Sponsor {
    pub keypair: Arc<Keypair>,
    pub policy: SponsorPolicy,
    given: Arc<Mutex<Given>>,
}

struct Given {
    hour_started: Instant,
    this_hour: u32,
    total: u32,
}

impl Sponsor {
    pub fn new(keypair: Keypair, policy: SponsorPolicy) -> Sponsor {
        Sponsor {
            keypair: Arc::new(keypair),
            policy,
            given: Arc::new(Mutex::new(Given {
                hour_started: Instant::now(),
                this_hour: 0,
                total: 0,
            })),
        }
    }

    /// Takes one sponsorship from the budget, or says why not.
    fn take(&self) -> Result<(), RelayError> {
        let mut g = self.given.lock().unwrap_or_else(|e| e.into_inner());
        if g.total >= self.policy.total {
            return Err(RelayError::Forbidden(format!(
                "this relay has sponsored all {} volunteers it will; register with your own wallet as the stake's authority instead",
                self.policy.total
            )));
        }
        let hour = Duration::from_secs(3600);
        if g.hour_started.elapsed() >= hour {
            g.hour_started = Instant::now();
            g.this_hour = 0;
        }
        if g.this_hour >= self.policy.per_hour {
            let retry_s = hour
                .saturating_sub(g.hour_started.elapsed())
                .as_secs()
                .max(1);
            return Err(RelayError::RateLimited {
                what: format!(
                    "this relay sponsors at most {} volunteers an hour",
                    self.policy.per_hour
                ),
                retry_s,
            });
        }
        g.this_hour += 1;
        g.total += 1;
        Ok(())
    }
}

/// A tab asking to be sponsored.
#[derive(Deserialize, ToSchema)]
pub struct VolunteerRequest {
    /// The worker key the tab holds (base58).
    pub worker: String,
    /// The tab's clock, Unix milliseconds (within 30 s of the relay's).
    pub unix_ms: u64,
    /// Ed25519 by the worker key over `edgerun_protocol::volunteer::message(worker, unix_ms)`,
    /// 128 lowercase hex.
    pub signature: String,
}

#[derive(Serialize, ToSchema)]
pub struct VolunteerOffer {
    /// register_worker, bincode, base64: fee payer and authority = the
    /// sponsor (signed); the worker's signature is left for the tab.
    pub transaction: String,
    /// The sponsor's address: the stake's authority.
    pub authority: String,
    pub stake_lamports: u64,
}

/// Sponsor a volunteer's stake.
#[utoipa::path(
    post,
    path = "/v1/volunteers",
    request_body = VolunteerRequest,
    responses(
        (status = 201, body = VolunteerOffer, description = "the register_worker transaction to sign with the worker key and send"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "sponsorship off, budget spent, or the key is registered already"),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody),
    ),
    tag = "workers"
)]
async fn sponsor(
    State(state): State<AppState>,
    body: Result<Json<VolunteerRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<VolunteerOffer>), RelayError> {
    let Some(sponsor) = state.sponsor.clone() else {
        return Err(RelayError::Forbidden(
            "this relay sponsors no volunteers; register with your own wallet as the stake's authority".into(),
        ));
    };
    let chain = state.chain.clone().ok_or(RelayError::NoChain)?;
    let Json(req) = body.map_err(|e| {
        super::tx::json_error(
            e,
            BODY_BYTES,
            "a volunteer request: JSON {\"worker\", \"unix_ms\", \"signature\"}",
        )
    })?;
    let worker: Address = req.worker.parse().map_err(|_| {
        RelayError::BadRequest(format!(
            "worker {:?} is not a base58 address",
            req.worker.chars().take(60).collect::<String>()
        ))
    })?;
    let signature = super::workers::parse_signature(&req.signature)?;
    super::workers::check_clock(req.unix_ms)?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(worker.as_array())
        .map_err(|_| RelayError::BadRequest(format!("{worker} is not an Ed25519 public key")))?;
    let message = edgerun_protocol::volunteer::message(worker.as_array(), req.unix_ms);
    key.verify_strict(&message, &signature).map_err(|_| {
        RelayError::BadSignature(format!(
            "the signature does not verify for {worker}; sign \
             edgerun_protocol::volunteer::message(worker, unix_ms) with the worker key"
        ))
    })?;
    if chain.worker(&worker).await?.is_some() {
        return Err(RelayError::Forbidden(format!(
            "{worker} is registered already; a key is sponsored at most once"
        )));
    }
    sponsor.take()?;
    let payer = sponsor.keypair.pubkey();
    let ix = edgerun_client::register_worker(
        &chain.program,
        &worker,
        &payer,
        sponsor.policy.stake_lamports,
    );
    let mut tx = Transaction::new_with_payer(&[ix], Some(&payer));
    let blockhash = chain.blockhash().await?;
    tx.partial_sign(&[sponsor.keypair.as_ref()], blockhash);
    let bytes = bincode::serialize(&tx).map_err(|e| RelayError::Internal(e.to_string()))?;
    state.metrics.record_sponsored();
    Ok((
        StatusCode::CREATED,
        Json(VolunteerOffer {
            transaction: base64::engine::general_purpose::STANDARD.encode(bytes),
            authority: payer.to_string(),
            stake_lamports: sponsor.policy.stake_lamports,
        }),
    ))
}
