//! What a relay is configured with: where objects live, how large an
//! upload may be, and how much of the relay one client may hold.

use std::path::PathBuf;
use std::time::Duration;

use edgerun_protocol::bundle::{HEADER_LEN, MAX_INPUT_BYTES, MAX_WASM_BYTES};

use crate::error::RelayError;

/// The largest body that can be a valid bundle v1: header, the largest wasm,
/// the input length prefix and the largest input (80 MiB + 61 bytes).
pub const MAX_BUNDLE_BYTES: u64 =
    HEADER_LEN as u64 + MAX_WASM_BYTES as u64 + 4 + MAX_INPUT_BYTES as u64;

/// Default cap on an output upload (64 MiB). A job's output is capped by its
/// `max_output_bytes` (a u32), but the relay's own cap decides what it keeps.
pub const DEFAULT_MAX_OUTPUT_BYTES: u64 = 64 << 20;

/// Default cap on an eligible-set snapshot upload (4 MiB: about 100,000
/// workers at 40 bytes each).
pub const DEFAULT_MAX_SELECTION_BYTES: u64 = 4 << 20;

/// Default number of bundle and snapshot uploads buffered at once. A bundle
/// is checked with `Bundle::decode`, which needs the whole body in memory
/// (a snapshot is checked whole too), so this bounds the relay's memory at
/// `max_buffered_bundles * max(max_bundle_bytes, max_selection_bytes)`.
pub const DEFAULT_MAX_BUFFERED_BUNDLES: usize = 4;

/// Default number of eligible-set snapshot uploads held at once: a pool of
/// its own, which customer uploads cannot take.
pub const DEFAULT_MAX_BUFFERED_SELECTIONS: usize = 4;

#[derive(Clone, Debug)]
pub struct RelayConfig {
    pub store: StoreBackend,
    pub limits: UploadLimits,
    pub clients: ClientLimits,
}

impl RelayConfig {
    /// Files under `data_dir` with the default limits.
    pub fn file(data_dir: impl Into<PathBuf>) -> Self {
        RelayConfig {
            store: StoreBackend::File {
                root: data_dir.into(),
            },
            limits: UploadLimits::default(),
            clients: ClientLimits::default(),
        }
    }
}

/// Where objects are stored.
#[derive(Clone, Debug)]
pub enum StoreBackend {
    /// A directory (created if missing) that belongs to this relay alone:
    /// its `tmp/` is emptied at startup.
    File { root: PathBuf },
    /// An S3-compatible bucket. The `prefix` (default none) belongs to this
    /// relay alone: its `tmp/` is emptied at startup.
    S3(S3Config),
}

/// An S3-compatible store. Unset fields fall back to the `AWS_*` environment
/// variables `object_store` reads (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT`, ...).
#[derive(Clone, Default)]
pub struct S3Config {
    pub bucket: String,
    /// e.g. `http://127.0.0.1:9000` for MinIO; `None` is AWS itself.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Allow `http://` endpoints (default false).
    pub allow_http: bool,
    /// Key prefix inside the bucket, e.g. `edgerun/relay-1`.
    pub prefix: Option<String>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field(
                "access_key_id",
                &self.access_key_id.as_ref().map(|_| "<set>"),
            )
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<set>"),
            )
            .field("allow_http", &self.allow_http)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Size caps, enforced while the body streams in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadLimits {
    /// Largest bundle body (default and maximum: [`MAX_BUNDLE_BYTES`]).
    pub max_bundle_bytes: u64,
    /// Largest output body (default [`DEFAULT_MAX_OUTPUT_BYTES`]).
    pub max_output_bytes: u64,
    /// Largest eligible-set snapshot body (default
    /// [`DEFAULT_MAX_SELECTION_BYTES`]).
    pub max_selection_bytes: u64,
    /// Bundle uploads and job posts held in memory at once (default
    /// [`DEFAULT_MAX_BUFFERED_BUNDLES`]); further ones wait their turn, at
    /// most [`UploadLimits::slot_wait`].
    pub max_buffered_bundles: usize,
    /// Eligible-set snapshot uploads held in memory at once (default
    /// [`DEFAULT_MAX_BUFFERED_SELECTIONS`]), apart from bundles.
    pub max_buffered_selections: usize,
    /// Bundle uploads and job posts one client address may have in
    /// progress at once (default 2).
    pub max_uploads_per_ip: usize,
    /// How long an upload waits for a free in-memory slot before it is
    /// refused with `busy` (default 30 s).
    pub slot_wait: Duration,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            max_bundle_bytes: MAX_BUNDLE_BYTES,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            max_selection_bytes: DEFAULT_MAX_SELECTION_BYTES,
            max_buffered_bundles: DEFAULT_MAX_BUFFERED_BUNDLES,
            max_buffered_selections: DEFAULT_MAX_BUFFERED_SELECTIONS,
            max_uploads_per_ip: 2,
            slot_wait: Duration::from_secs(30),
        }
    }
}

impl UploadLimits {
    pub fn validate(&self) -> Result<(), RelayError> {
        if self.max_bundle_bytes > MAX_BUNDLE_BYTES {
            return Err(RelayError::Config(format!(
                "max_bundle_bytes {} is above the largest valid bundle ({MAX_BUNDLE_BYTES} bytes); \
                 a larger body can never be a bundle, so lower it",
                self.max_bundle_bytes
            )));
        }
        for (name, value) in [
            ("max_buffered_bundles", self.max_buffered_bundles),
            ("max_buffered_selections", self.max_buffered_selections),
            ("max_uploads_per_ip", self.max_uploads_per_ip),
        ] {
            if value == 0 {
                return Err(RelayError::Config(format!(
                    "{name} is 0, so nothing of that kind could ever be uploaded; set it to 1 or more"
                )));
            }
        }
        Ok(())
    }
}

/// How much of the relay one client may hold, and how slow it may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientLimits {
    /// The slowest a request body may arrive, bytes per second on average
    /// from its first byte (default 16 KiB/s)...
    pub min_body_bytes_per_s: u64,
    /// ...once this grace period has passed (default 10 s).
    pub body_grace: Duration,
    /// The longest a body may pause between two chunks (default 30 s).
    pub body_idle: Duration,
    /// The time a client has to send a request's head (default 30 s).
    pub header_read_timeout: Duration,
    /// Event streams (`…/events`) one client address may hold open
    /// (default 32)...
    pub max_streams_per_ip: usize,
    /// ...and everyone together (default 1,024).
    pub max_streams: usize,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            min_body_bytes_per_s: 16 << 10,
            body_grace: Duration::from_secs(10),
            body_idle: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(30),
            max_streams_per_ip: 32,
            max_streams: 1_024,
        }
    }
}
