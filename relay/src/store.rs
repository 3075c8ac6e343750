//! Content-addressed storage: `bundles/<hash>`, `outputs/<hash>` and
//! `selections/<hash>` in any `object_store` backend, written only through
//! [`Store::put_verified`].
//!
//! An upload is written to `tmp/<random>` while its BLAKE3 and size are
//! computed. Only when the whole body arrived, the hash matches and (for a
//! bundle) the bytes decode as bundle v1 or (for a selection) they are a
//! sorted eligible-set snapshot, is the temporary object renamed to
//! its final key. Every other ending deletes it, and [`Store::open`] deletes
//! whatever a killed relay left under `tmp/`. So a final key only ever holds
//! the complete bytes of its hash.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use edgerun_protocol::bundle::Bundle;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::{StoreBackend, UploadLimits};
use crate::error::RelayError;
use crate::metrics::Metrics;

/// Prefix of in-flight uploads; nothing under it is ever served.
const TMP_PREFIX: &str = "tmp";
/// Multipart part size for object stores: above S3's 5 MiB minimum.
const PART_BYTES: usize = 8 << 20;
/// Part size for local files, which take parts of any size: smaller parts
/// start writing sooner and overlap better with receiving (measured by
/// `cargo xtask bench relay`: 1 MiB parts upload ~15% faster than 8 MiB).
const FILE_PART_BYTES: usize = 1 << 20;
/// Parts written concurrently per upload before the body is read further.
const PARTS_IN_FLIGHT: usize = 4;
/// Full-size part buffers kept for reuse. A part is handed to the backend
/// and comes back when written; reusing it saves faulting in a part's worth of fresh
/// zeroed pages per part.
const POOLED_PARTS: usize = PARTS_IN_FLIGHT + 1;
/// Objects up to this size are read whole before the response starts, so
/// the head and the body leave in one write (a streamed body's first chunk
/// would follow the head in a second one).
const READ_WHOLE_BYTES: u64 = 256 << 10;

/// The kinds of object the relay keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A bundle v1 (`bundle_hash = blake3(bytes)`).
    Bundle,
    /// A job's output (`output_hash = blake3(bytes)`).
    Output,
    /// An eligible-set snapshot: the sorted `(pubkey, weight u64 LE)`
    /// records a committee was drawn from (`snapshot_hash = blake3(bytes)`,
    /// the hash in WorkersAssigned and WorkerReassigned).
    Selection,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Bundle, Kind::Output, Kind::Selection];

    pub const fn name(self) -> &'static str {
        match self {
            Kind::Bundle => "bundle",
            Kind::Output => "output",
            Kind::Selection => "selection",
        }
    }

    /// The key prefix, also the URL segment: `bundles`, `outputs`,
    /// `selections`.
    pub const fn prefix(self) -> &'static str {
        match self {
            Kind::Bundle => "bundles",
            Kind::Output => "outputs",
            Kind::Selection => "selections",
        }
    }

    /// The object's key, and its URL path after `/v1/`.
    pub fn key(self, hash: &ContentHash) -> String {
        format!("{}/{hash}", self.prefix())
    }

    /// The object's URL path on the relay: `/v1/<key>`.
    pub fn url(self, hash: &ContentHash) -> String {
        format!("/v1/{}", self.key(hash))
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A BLAKE3-256 hash naming an object; written as 64 lowercase hex
/// characters, the only spelling accepted, so one object has one URL.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    pub fn of(bytes: &[u8]) -> Self {
        ContentHash(*blake3::hash(bytes).as_bytes())
    }
}

impl FromStr for ContentHash {
    type Err = edgerun_protocol::hash::HexError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        edgerun_protocol::hash::parse_hex(s).map(ContentHash)
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&edgerun_protocol::hash::hex(&self.0))
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({self})")
    }
}

/// What [`Store::put_verified`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PutOutcome {
    pub kind: Kind,
    pub hash: ContentHash,
    pub size: u64,
    /// False when the object was already stored (the upload was verified,
    /// then dropped: the stored bytes are the same by their hash).
    pub created: bool,
}

/// The most an upload may hold, and whose limit that is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    /// The relay's cap for the kind.
    Relay(u64),
    /// The job's `max_output_bytes` (below the relay's cap).
    Job(u64),
}

impl Cap {
    pub fn bytes(self) -> u64 {
        match self {
            Cap::Relay(b) | Cap::Job(b) => b,
        }
    }

    /// The error for a body past this cap.
    pub fn exceeded(self, kind: Kind) -> RelayError {
        match self {
            Cap::Relay(limit) => RelayError::TooLarge { kind, limit },
            Cap::Job(limit) => RelayError::OutputOverJobLimit { limit },
        }
    }
}

/// A permit to hold one whole body in memory ([`Store::buffer_permit`]).
pub struct BufferPermit(#[allow(dead_code)] OwnedSemaphorePermit);

/// How [`Store::put`] runs.
#[derive(Default)]
pub struct PutOptions {
    /// At most this many bytes (default: the relay's cap for the kind).
    pub cap: Option<Cap>,
    /// The buffer permit, when the caller took it before reading anything.
    pub permit: Option<BufferPermit>,
}

/// A body held whole for decoding: the first chunk as received (a body in
/// one chunk, like a job post's bundle, is never copied), then one buffer.
#[derive(Default)]
struct Whole {
    first: Option<Bytes>,
    rest: Vec<u8>,
}

impl Whole {
    fn push(&mut self, chunk: &Bytes) {
        match self.first.take() {
            None if self.rest.is_empty() => self.first = Some(chunk.clone()),
            None => self.rest.extend_from_slice(chunk),
            Some(first) => {
                self.rest.reserve(first.len() + chunk.len());
                self.rest.extend_from_slice(&first);
                self.rest.extend_from_slice(chunk);
            }
        }
    }

    fn bytes(&self) -> &[u8] {
        match &self.first {
            Some(first) => first,
            None => &self.rest,
        }
    }
}

/// A stored object's bytes, streamed.
pub struct ObjectStream {
    pub size: u64,
    pub body: BoxStream<'static, object_store::Result<Bytes>>,
}

pub struct Store {
    objects: Arc<dyn ObjectStore>,
    /// The data directory when the backend is local files: uploads staged
    /// by `LocalFileSystem` (`tmp/<name>#<n>`) are invisible to `list`, so
    /// the startup sweep removes them from the directory itself.
    local_root: Option<PathBuf>,
    limits: UploadLimits,
    /// Permits to hold a whole bundle in memory (uploads and job posts).
    bundle_buffers: Arc<Semaphore>,
    /// Permits to hold a whole snapshot: a pool of its own, so customer
    /// uploads can never hold back the scheduler's selections.
    selection_buffers: Arc<Semaphore>,
    metrics: Metrics,
    /// Small objects recently read. Objects never change under their hash,
    /// so serving a cached copy is always correct; it saves the backend
    /// round trips for hot outputs many clients fetch.
    hot: Mutex<HotCache>,
    parts: Arc<PartPool>,
}

/// The part size of a store's uploads, and free full-size part buffers (at
/// most [`POOLED_PARTS`]).
struct PartPool {
    part_bytes: usize,
    free: Mutex<Vec<Vec<u8>>>,
}

impl PartPool {
    fn new(part_bytes: usize) -> Self {
        PartPool {
            part_bytes,
            free: Mutex::new(Vec::new()),
        }
    }

    /// An empty buffer of `part_bytes` capacity, reused when one is free.
    fn take(&self) -> Vec<u8> {
        let reused = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop();
        reused.unwrap_or_else(|| Vec::with_capacity(self.part_bytes))
    }

    /// `part` as `Bytes` that return their buffer here when dropped.
    fn seal(self: &Arc<Self>, part: Vec<u8>) -> Bytes {
        Bytes::from_owner(PooledPart {
            buf: part,
            pool: Arc::clone(self),
        })
    }
}

struct PooledPart {
    buf: Vec<u8>,
    pool: Arc<PartPool>,
}

impl AsRef<[u8]> for PooledPart {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for PooledPart {
    fn drop(&mut self) {
        if self.buf.capacity() != self.pool.part_bytes {
            return;
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let mut free = self.pool.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < POOLED_PARTS {
            free.push(buf);
        }
    }
}

/// Total bytes the small-object cache holds.
const HOT_CACHE_BYTES: usize = 64 << 20;

/// A byte-budgeted FIFO cache of small immutable objects.
#[derive(Default)]
struct HotCache {
    objects: HashMap<(Kind, ContentHash), Bytes>,
    order: VecDeque<(Kind, ContentHash)>,
    bytes: usize,
}

impl HotCache {
    fn insert(&mut self, key: (Kind, ContentHash), value: Bytes) {
        if self.objects.contains_key(&key) || value.len() > HOT_CACHE_BYTES {
            return;
        }
        while self.bytes + value.len() > HOT_CACHE_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(v) = self.objects.remove(&old) {
                self.bytes -= v.len();
            }
        }
        self.bytes += value.len();
        self.order.push_back(key);
        self.objects.insert(key, value);
    }
}

impl Store {
    /// Opens the backend and deletes temporary objects left by a previous
    /// run (a relay killed mid-upload).
    pub async fn open(
        backend: &StoreBackend,
        limits: UploadLimits,
        metrics: Metrics,
    ) -> Result<Self, RelayError> {
        let (objects, local_root): (Arc<dyn ObjectStore>, _) = match backend {
            StoreBackend::File { root } => {
                tokio::fs::create_dir_all(root).await.map_err(|e| {
                    RelayError::Config(format!(
                        "cannot create the data directory {}: {e}; choose a writable --data-dir",
                        root.display()
                    ))
                })?;
                let fs = LocalFileSystem::new_with_prefix(root)
                    .map_err(RelayError::store("open the data directory"))?;
                (Arc::new(fs), Some(root.clone()))
            }
            StoreBackend::S3(c) => {
                let mut b = AmazonS3Builder::from_env()
                    .with_bucket_name(&c.bucket)
                    .with_allow_http(c.allow_http);
                if let Some(v) = &c.endpoint {
                    b = b.with_endpoint(v);
                }
                if let Some(v) = &c.region {
                    b = b.with_region(v);
                }
                if let Some(v) = &c.access_key_id {
                    b = b.with_access_key_id(v);
                }
                if let Some(v) = &c.secret_access_key {
                    b = b.with_secret_access_key(v);
                }
                let s3 = b.build().map_err(RelayError::store("configure S3"))?;
                match c.prefix.as_deref().filter(|p| !p.is_empty()) {
                    Some(p) => (Arc::new(PrefixStore::new(s3, p)), None),
                    None => (Arc::new(s3), None),
                }
            }
        };
        let mut store = Store::from_object_store(objects, limits, metrics);
        if local_root.is_some() {
            store.parts = Arc::new(PartPool::new(FILE_PART_BYTES));
        }
        store.local_root = local_root;
        let removed = store.remove_temp_objects().await?;
        if removed > 0 {
            tracing::info!(removed, "removed temporary objects left by an earlier run");
        }
        Ok(store)
    }

    /// A store over any `object_store` backend (no startup sweep).
    pub fn from_object_store(
        objects: Arc<dyn ObjectStore>,
        limits: UploadLimits,
        metrics: Metrics,
    ) -> Self {
        Store {
            objects,
            local_root: None,
            bundle_buffers: Arc::new(Semaphore::new(limits.max_buffered_bundles)),
            selection_buffers: Arc::new(Semaphore::new(limits.max_buffered_selections)),
            limits,
            metrics,
            hot: Mutex::new(HotCache::default()),
            parts: Arc::new(PartPool::new(PART_BYTES)),
        }
    }

    /// The size cap for `kind`.
    pub fn limit(&self, kind: Kind) -> u64 {
        match kind {
            Kind::Bundle => self.limits.max_bundle_bytes,
            Kind::Output => self.limits.max_output_bytes,
            Kind::Selection => self.limits.max_selection_bytes,
        }
    }

    /// Deletes everything under `tmp/`; returns how many objects or files
    /// went. Only safe while no upload is running, i.e. at startup.
    pub async fn remove_temp_objects(&self) -> Result<usize, RelayError> {
        let tmp = Path::from(TMP_PREFIX);
        let listed: Vec<_> = self
            .objects
            .list(Some(&tmp))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(RelayError::store("list temporary objects"))?;
        let mut removed = 0;
        for meta in listed {
            self.discard(&meta.location).await;
            removed += 1;
        }
        if let Some(root) = &self.local_root {
            let dir = root.join(TMP_PREFIX);
            match std::fs::read_dir(&dir) {
                Ok(entries) => {
                    for entry in entries.flatten() {
                        let path = entry.path();
                        let gone = if path.is_dir() {
                            std::fs::remove_dir_all(&path)
                        } else {
                            std::fs::remove_file(&path)
                        };
                        match gone {
                            Ok(()) => removed += 1,
                            Err(e) => {
                                tracing::warn!(path = %path.display(), error = %e, "cannot remove a temporary file")
                            }
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(RelayError::Config(format!(
                        "cannot read {}: {e}; the data directory must be readable",
                        dir.display()
                    )));
                }
            }
        }
        Ok(removed)
    }

    /// A permit to hold one whole `kind` body in memory (bundles and
    /// snapshots, from separate pools; outputs stream and need none),
    /// waiting at most [`UploadLimits::slot_wait`] for one.
    pub async fn buffer_permit(&self, kind: Kind) -> Result<Option<BufferPermit>, RelayError> {
        let pool = match kind {
            Kind::Bundle => &self.bundle_buffers,
            Kind::Selection => &self.selection_buffers,
            Kind::Output => return Ok(None),
        };
        let wait = self.limits.slot_wait;
        match tokio::time::timeout(wait, pool.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(BufferPermit(permit))),
            Ok(Err(e)) => Err(RelayError::Internal(format!(
                "buffer semaphore closed: {e}"
            ))),
            Err(_) => Err(RelayError::Busy {
                what: format!(
                    "every {kind} upload slot of this relay stayed busy for {} s",
                    wait.as_secs()
                ),
                retry_s: 30,
            }),
        }
    }

    /// Streams `body` into the store under `kind/claimed`, verifying while it
    /// arrives: at most [`Store::limit`] bytes, BLAKE3 equal to `claimed`,
    /// for a bundle `Bundle::decode` succeeds, and for a selection
    /// `edgerun_protocol::selection::parse_snapshot` does. On any error nothing
    /// becomes visible and the temporary object is deleted.
    ///
    /// Cancel-safe only in the weak sense: a dropped future leaves its
    /// temporary object to the next startup sweep. The HTTP handler runs it
    /// on its own task so a client hanging up cannot drop it.
    pub async fn put_verified<S, E>(
        &self,
        kind: Kind,
        claimed: ContentHash,
        body: S,
    ) -> Result<PutOutcome, RelayError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::error::Error + 'static,
    {
        self.put(kind, claimed, PutOptions::default(), body).await
    }

    /// [`Store::put_verified`] with `options`: a lower cap (an output's
    /// job limit), or a buffer permit taken beforehand.
    pub async fn put<S, E>(
        &self,
        kind: Kind,
        claimed: ContentHash,
        options: PutOptions,
        body: S,
    ) -> Result<PutOutcome, RelayError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::error::Error + 'static,
    {
        // Bundle::decode reads one contiguous slice, so a bundle (and a
        // snapshot, small enough to check the same way) is held in memory
        // while it streams; the permit bounds how many at once.
        let _permit = match options.permit {
            Some(permit) => Some(permit),
            None => self.buffer_permit(kind).await?,
        };
        let cap = options.cap.unwrap_or(Cap::Relay(self.limit(kind)));
        let tmp = Path::from(format!("{TMP_PREFIX}/{:032x}", rand::random::<u128>()));
        let upload = self
            .timed("begin_upload", self.objects.put_multipart(&tmp))
            .await
            .map_err(RelayError::store("begin the upload"))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.parts.part_bytes);
        let size = match self.receive(kind, claimed, cap, body, &mut writer).await {
            Ok(size) => size,
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, %tmp, "cannot abort an upload");
                }
                self.discard(&tmp).await;
                return Err(e);
            }
        };
        if let Err(e) = self.timed("finish_upload", writer.finish()).await {
            self.discard(&tmp).await;
            return Err(RelayError::store("finish the upload")(e));
        }
        let created = self.commit(kind, &claimed, &tmp).await?;
        self.metrics.record_stored(kind, created, size);
        Ok(PutOutcome {
            kind,
            hash: claimed,
            size,
            created,
        })
    }

    /// Reads the body into `writer`; returns its size once verified.
    async fn receive<S, E>(
        &self,
        kind: Kind,
        claimed: ContentHash,
        cap: Cap,
        body: S,
        writer: &mut WriteMultipart,
    ) -> Result<u64, RelayError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::error::Error + 'static,
    {
        let limit = cap.bytes();
        let mut body = std::pin::pin!(body);
        let mut hasher = blake3::Hasher::new();
        let mut size = 0u64;
        let mut whole = matches!(kind, Kind::Bundle | Kind::Selection).then(Whole::default);
        // The body is copied into whole parts: holding the server's receive
        // buffers until a part is written would make it allocate (and fault
        // in) fresh ones for every chunk. The first part starts small (most
        // uploads are small); later ones are full-size pooled buffers.
        let part_bytes = self.parts.part_bytes;
        let mut part: Vec<u8> = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| match crate::guard::TooSlow::find(&e) {
                Some(slow) => RelayError::TooSlow(slow.clone()),
                None => RelayError::IncompleteBody {
                    received: size,
                    cause: e.to_string(),
                },
            })?;
            self.metrics.record_received(kind, chunk.len());
            size += chunk.len() as u64;
            if size > limit {
                return Err(cap.exceeded(kind));
            }
            hasher.update(&chunk);
            if let Some(whole) = &mut whole {
                whole.push(&chunk);
            }
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                if part.capacity() == part.len() {
                    if part.capacity() == 0 && size > part_bytes as u64 {
                        part = self.parts.take();
                    } else {
                        let grown = (part.capacity() * 2).clamp(64 << 10, part_bytes);
                        part.reserve_exact(grown - part.len());
                    }
                }
                let take = rest.len().min(part_bytes - part.len());
                part.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if part.len() == part_bytes {
                    writer
                        .wait_for_capacity(PARTS_IN_FLIGHT)
                        .await
                        .map_err(RelayError::store("write the upload"))?;
                    writer.put(self.parts.seal(std::mem::take(&mut part)));
                }
            }
        }
        if !part.is_empty() {
            writer.put(self.parts.seal(part));
        }
        let actual = ContentHash(*hasher.finalize().as_bytes());
        if actual != claimed {
            return Err(RelayError::HashMismatch {
                claimed: claimed.to_string(),
                actual: actual.to_string(),
            });
        }
        match (kind, whole) {
            (Kind::Bundle, Some(whole)) => {
                Bundle::decode(whole.bytes()).map_err(RelayError::NotABundle)?;
            }
            (Kind::Selection, Some(whole)) => {
                edgerun_protocol::selection::parse_snapshot(whole.bytes())
                    .map_err(|e| RelayError::NotASnapshot(e.to_string()))?;
            }
            _ => {}
        }
        Ok(size)
    }

    /// Moves a verified temporary object to its final key; false if that
    /// key was already there (same hash, so the same bytes).
    async fn commit(&self, kind: Kind, hash: &ContentHash, tmp: &Path) -> Result<bool, RelayError> {
        let dest = Path::from(kind.key(hash));
        match self.timed("head", self.objects.head(&dest)).await {
            Ok(_) => {
                self.discard(tmp).await;
                return Ok(false);
            }
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                self.discard(tmp).await;
                return Err(RelayError::store("check for an existing object")(e));
            }
        }
        // A concurrent upload of the same hash may rename first; either
        // rename leaves the same bytes in place.
        if let Err(e) = self.timed("rename", self.objects.rename(tmp, &dest)).await {
            self.discard(tmp).await;
            return Err(RelayError::store("move the upload into place")(e));
        }
        Ok(true)
    }

    /// Deletes a temporary object; failures are logged (the startup sweep
    /// retries them).
    async fn discard(&self, tmp: &Path) {
        match self.timed("delete", self.objects.delete(tmp)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => tracing::warn!(error = %e, %tmp, "cannot delete a temporary object"),
        }
    }

    /// The stored object's size.
    pub async fn head(&self, kind: Kind, hash: &ContentHash) -> Result<u64, RelayError> {
        let path = Path::from(kind.key(hash));
        match self.timed("head", self.objects.head(&path)).await {
            Ok(meta) => Ok(meta.size),
            Err(e) => Err(not_found_or(kind, hash, "read the object")(e)),
        }
    }

    /// The stored object's bytes.
    pub async fn get(&self, kind: Kind, hash: &ContentHash) -> Result<ObjectStream, RelayError> {
        let cached = self
            .hot
            .lock()
            .expect("cache lock")
            .objects
            .get(&(kind, *hash))
            .cloned();
        if let Some(bytes) = cached {
            return Ok(ObjectStream {
                size: bytes.len() as u64,
                body: futures_util::stream::once(std::future::ready(Ok(bytes))).boxed(),
            });
        }
        let path = Path::from(kind.key(hash));
        match self.timed("get", self.objects.get(&path)).await {
            Ok(got) if got.meta.size <= READ_WHOLE_BYTES => {
                let size = got.meta.size;
                let bytes =
                    got.bytes()
                        .await
                        .map_err(not_found_or(kind, hash, "read the object"))?;
                self.hot
                    .lock()
                    .expect("cache lock")
                    .insert((kind, *hash), bytes.clone());
                Ok(ObjectStream {
                    size,
                    body: futures_util::stream::once(std::future::ready(Ok(bytes))).boxed(),
                })
            }
            Ok(got) => Ok(ObjectStream {
                size: got.meta.size,
                body: got.into_stream(),
            }),
            Err(e) => Err(not_found_or(kind, hash, "read the object")(e)),
        }
    }

    /// Whether the backend answers (an absent key is a healthy answer).
    pub async fn check(&self) -> Result<(), RelayError> {
        let probe = Path::from("healthz");
        match self.timed("head", self.objects.head(&probe)).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(RelayError::store("answer a health probe")(e)),
        }
    }

    async fn timed<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = object_store::Result<T>>,
    ) -> object_store::Result<T> {
        let start = Instant::now();
        let result = fut.await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(object_store::Error::NotFound { .. }) => "not_found",
            Err(_) => "error",
        };
        self.metrics.record_store_op(op, outcome, start.elapsed());
        result
    }
}

fn not_found_or(
    kind: Kind,
    hash: &ContentHash,
    op: &'static str,
) -> impl FnOnce(object_store::Error) -> RelayError {
    let hash = hash.to_string();
    move |e| match e {
        object_store::Error::NotFound { .. } => RelayError::NotFound { kind, hash },
        e => RelayError::store(op)(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_has_one_spelling() {
        let h = ContentHash::of(b"edgerun");
        let hex = h.to_string();
        assert_eq!(hex, blake3::hash(b"edgerun").to_hex().as_str());
        assert_eq!(hex.parse::<ContentHash>(), Ok(h));
        assert!(hex.to_uppercase().parse::<ContentHash>().is_err());
        assert!(hex[..63].parse::<ContentHash>().is_err());
        assert!(format!("{hex}0").parse::<ContentHash>().is_err());
        assert!(format!("{}ü", &hex[..62]).parse::<ContentHash>().is_err());
        assert_eq!(Kind::Bundle.key(&h), format!("bundles/{hex}"));
    }
}
