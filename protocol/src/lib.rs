//! The frozen facts of edgerun protocol v1, each in exactly one place.
//!
//! The on-chain program, the runtime, the relay, the scheduler, the workers
//! and the clients all import these pure functions and layouts instead of
//! re-deriving them. The crate is `no_std`, has no Solana dependency, and
//! allocates only behind the `alloc` feature.
//!
//! ```
//! use edgerun_protocol::{bundle::Bundle, economics, hash, limits::Limits, selection, tier::Tier};
//!
//! // A customer builds a bundle; its BLAKE3 is the content address.
//! let runtime_id = hash::runtime_id("edgerun-runtime/1;wasmi=2.0.0;abi=1;fuel=v1");
//! let bundle = Bundle {
//!     runtime_id,
//!     limits: Limits::new(1 << 20, 5_000_000, 64 << 10),
//!     wasm: b"\0asm\x01\0\0\0",
//!     input: b"{\"b\":1,\"a\":2}",
//! };
//! let bytes = bundle.encode()?;
//! let bundle_hash = hash::bundle_hash(&bytes);
//! assert_eq!(Bundle::decode(&bytes)?, bundle);
//!
//! // The job id reposting cannot collide with; the escrow picks the tier.
//! let client = [7u8; 32];
//! let job_id = hash::job_id(&client, 0, &bundle_hash);
//! let escrow = 150_000_000;
//! let committee = Tier::for_escrow(escrow).committee();
//! assert_eq!((committee.size, committee.quorum), (5, 3));
//! let lock = economics::required_lock(10_000_000, escrow, committee.size);
//! assert_eq!(lock, 45_000_000);
//!
//! // The committee, reproducible by anyone from the on-chain seed.
//! let eligible: Vec<selection::Candidate> = (0u8..8)
//!     .map(|i| selection::Candidate { worker: [i; 32], weight: 100 * (u64::from(i) + 1) })
//!     .collect();
//! let seed = [42u8; 32];
//! let picked = selection::select_committee(&seed, &job_id, &eligible, committee.size)?;
//! assert_eq!(picked.len(), 5);
//!
//! // A worker submits a seal of its output, which names the worker, and
//! // signs the SealedDigest; the output hash itself is revealed only once a
//! // quorum of seals matches it.
//! let output_hash = hash::output_hash(b"{\"a\":2,\"b\":1}");
//! let worker = [3u8; 32];
//! let seal = hash::seal(&output_hash, &worker);
//! let digest = hash::sealed_digest(&job_id, &bundle_hash, &seal, &runtime_id);
//! # let _ = digest;
//!
//! // Payout: fee and the division remainder to the treasury, the rest shared.
//! let payout = economics::split_payout(escrow, 250, 3)?;
//! assert_eq!(payout.fee + 3 * payout.per_winner + payout.remainder, escrow);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | module | owns |
//! | --- | --- |
//! | [`hash`] | BLAKE3 ids: bundle/output hash, job_id, runtime_id, seal, SealedDigest |
//! | [`bundle`] | bundle v1 encode/decode |
//! | [`abi`] | guest ABI v1 imports/exports and the failure reasons |
//! | [`limits`] | the job's memory, fuel and output caps |
//! | [`tier`] | escrow tiers → committee size and quorum |
//! | [`economics`] | required_lock, the protocol fee (with its minimum), payout split, what a job holds and where it goes, slash and penalty arithmetic |
//! | [`selection`] | stake-weighted committee selection and the snapshot hash |
//! | [`heartbeat`] | the signed liveness message a worker sends the relay (alloc) |
//! | [`output_upload`] | what a seated worker signs to store an output at the relay |
//! | [`volunteer`] | what a browser tab signs to ask a relay to sponsor its stake |
//! | [`layout`], [`state`] | zero-copy, Borsh-compatible account layouts |
//! | [`instruction`], [`event`] | instruction data and Anchor-style events |
//! | [`error`] | the program's error codes (from 6000, as Anchor numbers them) |
//!
//! Cargo features: `alloc` (encoders returning `Vec`),
//! `std` (default; implies `alloc`, enables BLAKE3's runtime SIMD detection).
//! The on-chain program uses `default-features = false`.
#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod abi;
pub mod blake3_small;
pub mod bundle;
pub mod economics;
pub mod error;
pub mod event;
pub mod hash;
#[cfg(feature = "alloc")]
pub mod heartbeat;
pub mod instruction;
pub mod layout;
pub mod limits;
pub mod output_upload;
pub mod selection;
pub mod sha256;
pub mod state;
pub mod tier;
pub mod volunteer;

pub use hash::Hash;

/// The program's address on the embedded local chain (`edgerun up`) and in
/// the IDL: a fixed, key-less demo address (`sha256("edgerun:program-v1")`,
/// `FF9edpQHixUU42zWg26TDLbyMzizbNGWyyr1NY48MSED`); nobody holds its key,
/// so no cluster can have a program there. A real deployment lives at the
/// address of the operator's deploy keypair (`edgerun deploy`), and every
/// client takes the program id from its configuration (`--program-id`,
/// `EDGERUN_PROGRAM_ID`, or the relay's `GET /v1/info`), never from this
/// constant alone.
pub const LOCAL_PROGRAM_ID: [u8; 32] = sha256::sha256_concat(b"edgerun:", b"program-v1");
