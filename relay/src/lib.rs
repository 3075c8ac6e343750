//! The edgerun relay: where customers and workers put and fetch
//! content-addressed bytes (bundles, outputs and eligible-set snapshots)
//! over HTTP, and where workers say they are online.
//!
//! This crate owns the HTTP surface and the storage behind it. Storage goes
//! through the `object_store` crate: files under a data directory by default,
//! any S3-compatible store by configuration. An upload streams to a temporary
//! object while its BLAKE3 is computed and its size checked; only a body whose
//! hash equals the one named in the URL is moved to `bundles/<hash>`,
//! `outputs/<hash>` or `selections/<hash>`, so a reader never sees a partial
//! or wrong object. Slow clients are cut off and each client address holds
//! a bounded share ([`guard`]); the fee payer pays only what its policy
//! names ([`fee_payer`]); outputs stay sealed until declared ([`outputs`]).
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use edgerun_relay::{AppState, RelayConfig};
//!
//! let config = RelayConfig::file("relay-data");
//! let state = AppState::open(config).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! edgerun_relay::serve(listener, state, edgerun_relay::shutdown_signal()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! | route | what |
//! | --- | --- |
//! | `PUT /v1/bundles/{hash}` | store verified bytes (201 new, 200 already stored) |
//! | `PUT /v1/outputs/{hash}` | store an output, only for a worker seated in its live job (signed headers), within the job's `max_output_bytes` |
//! | `PUT /v1/selections/{hash}` | store an eligible-set snapshot (sorted `(pubkey, weight u64 LE)` records) |
//! | `GET`/`HEAD /v1/bundles/{hash}`, `/v1/outputs/{hash}`, `/v1/selections/{hash}` | fetch them (immutable, `etag` = hash); an output only once declared on chain |
//! | `POST /v1/jobs` | multipart wasm + input + tier → stored bundle, and an unsigned post_job transaction (or, with the API key, the posted job) |
//! | `GET /v1/workers/{address}`, `…/events` | a worker's stake, and server-sent events on each change |
//! | `POST /v1/workers/{address}/heartbeat` | a signed "I am online, running these runtimes" (with a chain: staked workers only) |
//! | `GET /v1/workers/online?within_s=N` | the workers heard from in the last N seconds |
//! | `POST /v1/tx` | co-sign as fee payer the transactions the fee payer's policy names (staked workers' steps, funded registrations and job posts), after simulation, within per-signer and total fee budgets, and submit it |
//! | `GET /v1/info` | the fee payer, program id and runtime id |
//! | `GET /v1/jobs/{job_id}/events` | server-sent events: the job's state each time it changes, until Finalized or Cancelled (one chain poll per job, streams capped) |
//! | `GET /v1/jobs/{job_id}` | a job's on-chain state, decoded, with its timeline (needs `--rpc`) |
//! | `GET /v1/openapi.json` | the OpenAPI document generated from the handlers |
//! | `GET /metrics` | Prometheus text |
//! | `GET /healthz` | liveness and storage reachability |

pub mod chain;
pub mod config;
pub mod error;
pub mod fee_payer;
pub mod guard;
pub mod metrics;
pub mod outputs;
pub mod routes;
mod server;
pub mod stakes;
pub mod store;
mod table;

use std::sync::Arc;

use axum::{Extension, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use config::{ClientLimits, RelayConfig, S3Config, StoreBackend, UploadLimits};
pub use error::{ErrorBody, RelayError};
pub use fee_payer::FeePolicy;
pub use metrics::Metrics;
pub use server::serve;
pub use store::{ContentHash, Kind, PutOutcome, Store};

/// Everything a handler may reach. Each field is cheap to clone (an `Arc`
/// or a handle).
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub config: Arc<RelayConfig>,
    pub metrics: Metrics,
    /// The chain the job routes read (`None`: they answer `no_chain`).
    pub chain: Option<chain::Chain>,
    /// The operator's funded account that posts jobs for API-key holders.
    pub poster: Option<Poster>,
    /// Static files for the stack's web parts (`/worker/`; `None`: off).
    pub site: Option<routes::site::Site>,
    /// The landing page's demo jobs (`POST /v1/demo/{workload}`; `None`:
    /// off).
    pub demo: Option<Arc<routes::www::Demo>>,
    /// `GET /v1/config`'s last read of the chain.
    pub config_view: Arc<routes::www::Cached<routes::www::ConfigView>>,
    /// Sponsors volunteers' stakes (`POST /v1/volunteers`; `None`: off).
    pub sponsor: Option<routes::volunteers::Sponsor>,
    /// The chain's JSON-RPC URL for browsers, as `GET /v1/info` names it.
    pub public_rpc: Option<String>,
    /// Pays fees for `POST /v1/tx` (`None`: co-signing is off).
    pub fee_payer: Option<fee_payer::FeePayer>,
    /// Workers heard from by heartbeat, in memory only.
    pub online: Arc<routes::workers::OnlineWorkers>,
    /// Which keys hold stake (with a chain).
    pub stakes: Option<Arc<stakes::Stakes>>,
    /// Which outputs are declared on chain (with a chain).
    pub declared: Option<Arc<outputs::Declared>>,
    /// Bundle uploads and job posts in progress, per client address.
    pub uploads: Arc<guard::Slots>,
    /// Snapshot uploads in progress, per client address (counted apart
    /// from customer uploads, like their buffer pool).
    pub selection_uploads: Arc<guard::Slots>,
    /// Event streams open, per client address and in total.
    pub streams: Arc<guard::Slots>,
    /// One chain poll per followed job, shared by its event streams.
    pub job_feeds: Arc<routes::events::Feeds<routes::jobs::JobView>>,
    /// One chain poll per followed worker.
    pub worker_feeds: Arc<routes::events::Feeds<routes::workers::WorkerView>>,
}

/// Posts jobs for callers that present `api_key`.
#[derive(Clone)]
pub struct Poster {
    pub keypair: Arc<solana_keypair::Keypair>,
    pub api_key: String,
}

impl AppState {
    /// Opens the configured store (removing temporary objects a previous
    /// run left behind) and a fresh metrics registry.
    pub async fn open(config: RelayConfig) -> Result<Self, RelayError> {
        config.limits.validate()?;
        let metrics = Metrics::new();
        let store = Store::open(&config.store, config.limits.clone(), metrics.clone()).await?;
        let clients = config.clients;
        Ok(AppState {
            store: Arc::new(store),
            uploads: guard::Slots::new(config.limits.max_uploads_per_ip, usize::MAX),
            selection_uploads: guard::Slots::new(config.limits.max_uploads_per_ip, usize::MAX),
            streams: guard::Slots::new(clients.max_streams_per_ip, clients.max_streams),
            job_feeds: routes::events::Feeds::new(metrics.clone()),
            worker_feeds: routes::events::Feeds::new(metrics.clone()),
            config: Arc::new(config),
            metrics,
            chain: None,
            poster: None,
            site: None,
            sponsor: None,
            demo: None,
            config_view: Arc::default(),
            public_rpc: None,
            fee_payer: None,
            online: Arc::default(),
            stakes: None,
            declared: None,
        })
    }

    /// The edgerun program this relay serves (none without a chain).
    pub fn program(&self) -> Option<solana_address::Address> {
        self.chain.as_ref().map(|c| c.program)
    }

    /// Lets `POST /v1/jobs` post from `keypair`'s account for callers with
    /// `api_key`.
    pub fn with_poster(mut self, keypair: solana_keypair::Keypair, api_key: String) -> Self {
        self.poster = Some(Poster {
            keypair: Arc::new(keypair),
            api_key,
        });
        self
    }

    /// Co-signs `POST /v1/tx` transactions with `keypair` as fee payer,
    /// within `policy` (request rate and fee budgets).
    pub fn with_fee_payer(mut self, keypair: solana_keypair::Keypair, policy: FeePolicy) -> Self {
        self.fee_payer = Some(fee_payer::FeePayer::new(keypair, policy));
        self
    }

    /// Serves the worker-web build in `worker` at `/worker/`.
    pub fn with_site(mut self, worker: std::path::PathBuf) -> Self {
        self.site.get_or_insert_with(Default::default).worker = Some(worker);
        self
    }

    /// Names `url` in `GET /v1/info` as the chain's JSON-RPC for browsers.
    pub fn with_public_rpc(mut self, url: String) -> Self {
        self.public_rpc = Some(url);
        self
    }

    /// Serves the portal build in `portal` at `/app/` (any `/app/...` page
    /// is its index.html).
    pub fn with_portal(mut self, portal: std::path::PathBuf) -> Self {
        self.site.get_or_insert_with(Default::default).portal = Some(portal);
        self
    }

    /// Serves the website build in `www` at `/`, `/trust`, `/pricing` and
    /// its assets at `/www/`.
    pub fn with_www(mut self, www: std::path::PathBuf) -> Self {
        self.site.get_or_insert_with(Default::default).www = Some(www);
        self
    }

    /// Lets visitors run the demo workloads from the operator's account
    /// (the poster's, `with_poster`) within `policy`
    /// (`POST /v1/demo/{workload}`).
    pub fn with_demo(mut self, demo: routes::www::Demo) -> Self {
        self.demo = Some(Arc::new(demo));
        self
    }

    /// Sponsors volunteers' stakes from `keypair`'s account within `policy`
    /// (`POST /v1/volunteers`; needs a chain).
    pub fn with_sponsor(
        mut self,
        keypair: solana_keypair::Keypair,
        policy: routes::volunteers::SponsorPolicy,
    ) -> Self {
        self.sponsor = Some(routes::volunteers::Sponsor::new(keypair, policy));
        self
    }

    /// Connects the job routes to a chain's JSON-RPC. With a chain,
    /// heartbeats count only for staked workers, outputs are stored only
    /// for seated workers and served only once declared.
    pub fn with_chain(mut self, rpc_url: &str, program: solana_address::Address) -> Self {
        let chain = chain::Chain::connect(rpc_url, program);
        self.stakes = Some(stakes::Stakes::new(chain.clone()));
        self.declared = Some(outputs::Declared::new(chain.clone()));
        self.chain = Some(chain);
        self
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "edgerun relay",
        description = "Content-addressed bundle, output and eligible-set snapshot storage for \
                       edgerun jobs, and worker heartbeats. Every error is a JSON `{code, message}`."
    ),
    components(schemas(ErrorBody, routes::objects::StoredObject))
)]
struct ApiDoc;

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::objects::router())
        .merge(routes::jobs::router())
        .merge(routes::post_job::router())
        .merge(routes::tx::router())
        .merge(routes::workers::router())
        .merge(routes::volunteers::router())
        .merge(routes::site::router())
        .merge(routes::www::router())
        .merge(routes::service::router())
}

/// The OpenAPI document of every route `app` serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The relay's HTTP application.
pub fn app(state: AppState) -> Router {
    let (router, doc) = routes().split_for_parts();
    let doc = routes::service::OpenApiJson::new(&doc);
    router
        .fallback(routes::service::no_route)
        .method_not_allowed_fallback(routes::service::method_not_allowed)
        // Every body keeps the relay's minimum pace (routes read it later).
        .layer(axum::middleware::from_fn_with_state(
            state.config.clients,
            guard::pace_bodies,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track_requests,
        ))
        .layer(Extension(doc))
        .with_state(state)
}

/// Resolves on Ctrl-C or SIGTERM: how the relay, `edgerun up` and its
/// scheduler and workers are asked to stop.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; stop with Ctrl-C");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
