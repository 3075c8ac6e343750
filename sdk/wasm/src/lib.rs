//! `edgerun-protocol` for the TypeScript SDK: the protocol's own hashes,
//! tiers, payout arithmetic, account sizes and layouts, exported with C
//! names from one small wasm (no wasm-bindgen). Nothing here computes
//! anything itself: each export calls the protocol crate, so the SDK and
//! the program can never disagree.
//!
//! Conventions: a `u64` is a BigInt on the JS side; bytes travel through
//! this module's memory (`sdk_alloc` / `sdk_free`); `u64::MAX` or a
//! negative return means "no such figure" (an unknown tier, bytes that are
//! not what was asked).

use edgerun_protocol::economics;
use edgerun_protocol::event::AnyEvent;
use edgerun_protocol::selection;
use edgerun_protocol::hash;
use edgerun_protocol::instruction::{CancelJob, InstructionArgs, Ix, PostJob, decode_args};
use edgerun_protocol::layout::{Account, view};
use edgerun_protocol::state::{GlobalConfig, Job, JobResult, OutputAvailability};
use edgerun_protocol::tier::Tier;

/// Memory for `len` bytes the caller fills or reads (freed by `sdk_free`).
#[unsafe(no_mangle)]
pub extern "C" fn sdk_alloc(len: u32) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len as usize);
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// # Safety
/// `ptr` and `len` come from one `sdk_alloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sdk_free(ptr: *mut u8, len: u32) {
    drop(unsafe { Vec::from_raw_parts(ptr, 0, len as usize) });
}

/// # Safety
/// `ptr..ptr+len` is memory of this module.
unsafe fn bytes<'a>(ptr: *const u8, len: u32) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(ptr, len as usize) }
    }
}

/// # Safety
/// `out` points at 32 writable bytes.
unsafe fn put32(out: *mut u8, h: &[u8; 32]) {
    unsafe { std::ptr::copy_nonoverlapping(h.as_ptr(), out, 32) }
}

/// BLAKE3-256 of `data` (a bundle hash, an output hash) into `out[32]`.
///
/// # Safety
/// `data..data+len` readable, `out[32]` writable, both in this memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn blake3(data: *const u8, len: u32, out: *mut u8) {
    let h = hash::blake3(unsafe { bytes(data, len) });
    unsafe { put32(out, &h) }
}

/// `job_id = blake3(client || nonce_le || bundle_hash)` into `out[32]`.
///
/// # Safety
/// `client[32]`, `bundle_hash[32]` readable, `out[32]` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn job_id(client: *const u8, nonce: u64, bundle_hash: *const u8, out: *mut u8) {
    let c: &[u8; 32] = unsafe { bytes(client, 32) }.try_into().expect("32");
    let b: &[u8; 32] = unsafe { bytes(bundle_hash, 32) }.try_into().expect("32");
    unsafe { put32(out, &hash::job_id(c, nonce, b)) }
}

fn tier(index: u32) -> Option<Tier> {
    Tier::ALL.get(index as usize).copied()
}

/// The tier (0 Bronze … 3 Gold+) an escrow buys.
#[unsafe(no_mangle)]
pub extern "C" fn tier_for_escrow(escrow: u64) -> u32 {
    Tier::for_escrow(escrow) as u32
}

#[unsafe(no_mangle)]
pub extern "C" fn tier_min_escrow(index: u32) -> u64 {
    tier(index).map_or(u64::MAX, Tier::min_escrow)
}

/// The escrow a client posts when a customer names only the tier.
#[unsafe(no_mangle)]
pub extern "C" fn tier_default_escrow(index: u32) -> u64 {
    tier(index).map_or(u64::MAX, Tier::default_escrow)
}

#[unsafe(no_mangle)]
pub extern "C" fn tier_size(index: u32) -> u32 {
    tier(index).map_or(0, |t| t.committee().size.into())
}

#[unsafe(no_mangle)]
pub extern "C" fn tier_quorum(index: u32) -> u32 {
    tier(index).map_or(0, |t| t.committee().quorum.into())
}

/// `economics::split_payout_with_minimum` into `out[3]` (fee, per_winner,
/// remainder); 0, or -1 when the protocol refuses the split (fee above
/// 100 %, no winners, an argument out of range).
///
/// # Safety
/// `out` points at three writable, aligned u64.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn split_payout(escrow: u64, fee_bps: u32, min_fee: u64, winners: u32, out: *mut u64) -> i32 {
    let (Ok(bps), Ok(w)) = (u16::try_from(fee_bps), u8::try_from(winners)) else {
        return -1;
    };
    match economics::split_payout_with_minimum(escrow, bps, min_fee, w) {
        Ok(p) => {
            unsafe {
                out.write(p.fee);
                out.add(1).write(p.per_winner);
                out.add(2).write(p.remainder);
            }
            0
        }
        Err(_) => -1,
    }
}

/// `economics::records_deposit` for a committee of `size`, from the
/// chain's rent of a JobResult and an OutputAvailability.
#[unsafe(no_mangle)]
pub extern "C" fn records_deposit(result_rent: u64, output_rent: u64, size: u32) -> u64 {
    u8::try_from(size)
        .ok()
        .and_then(|s| economics::records_deposit(result_rent, output_rent, s))
        .unwrap_or(u64::MAX)
}

#[unsafe(no_mangle)]
pub extern "C" fn required_lock(min_stake: u64, escrow: u64, size: u32) -> u64 {
    match u8::try_from(size) {
        Ok(s) => economics::required_lock(min_stake, escrow, s),
        Err(_) => u64::MAX,
    }
}

/// Account sizes (what rent is paid on): 0 Job, 1 JobResult,
/// 2 OutputAvailability, 3 GlobalConfig; 0 for any other kind.
#[unsafe(no_mangle)]
pub extern "C" fn account_space(kind: u32) -> u32 {
    (match kind {
        0 => Job::SPACE,
        1 => JobResult::SPACE,
        2 => OutputAvailability::SPACE,
        3 => GlobalConfig::SPACE,
        _ => 0,
    }) as u32
}

/// Length of [`job_fields`]' output.
pub const JOB_FIELDS_LEN: u32 = 32 * 4 + 8 + 8 * 4 + 32 + 8;

#[unsafe(no_mangle)]
pub extern "C" fn job_fields_len() -> u32 {
    JOB_FIELDS_LEN
}

/// A Job account's data decoded by the protocol's layout into `out`
/// ([`JOB_FIELDS_LEN`] bytes): job_id, client, bundle_hash,
/// winning_output_hash (32 each), then status, committee_size, quorum,
/// assigned_count, draws and 3 zero bytes, then escrow_lamports,
/// priority_fee_lamports, quorum_reached_slot, da_deadline_slot (u64 LE),
/// then seed (32) and seed_set (1, then 7 zero bytes).
/// 0, or -1 if the bytes are not a Job.
///
/// # Safety
/// `data..data+len` readable, `out..out+JOB_FIELDS_LEN` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn job_fields(data: *const u8, len: u32, out: *mut u8) -> i32 {
    let Ok(j) = view::<Job>(unsafe { bytes(data, len) }) else {
        return -1;
    };
    let mut o = Vec::with_capacity(JOB_FIELDS_LEN as usize);
    o.extend_from_slice(&j.job_id);
    o.extend_from_slice(&j.client.0);
    o.extend_from_slice(&j.bundle_hash);
    o.extend_from_slice(&j.winning_output_hash);
    o.extend_from_slice(&[j.status, j.committee_size, j.quorum, j.assigned_count, j.draws, 0, 0, 0]);
    for v in [
        j.escrow_lamports.get(),
        j.priority_fee_lamports.get(),
        j.quorum_reached_slot.get(),
        j.da_deadline_slot.get(),
    ] {
        o.extend_from_slice(&v.to_le_bytes());
    }
    o.extend_from_slice(&j.seed);
    o.extend_from_slice(&[u8::from(j.seed_set.get()), 0, 0, 0, 0, 0, 0, 0]);
    debug_assert_eq!(o.len(), JOB_FIELDS_LEN as usize);
    unsafe { std::ptr::copy_nonoverlapping(o.as_ptr(), out, o.len()) };
    0
}

/// Which instruction `data` is: its index in `Ix::ALL`, or -1 if no
/// edgerun instruction has that discriminator.
///
/// # Safety
/// `data..data+len` readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ix_index(data: *const u8, len: u32) -> i32 {
    match Ix::from_data(unsafe { bytes(data, len) }) {
        Ok(ix) => Ix::ALL.iter().position(|i| *i == ix).map_or(-1, |p| p as i32),
        Err(_) => -1,
    }
}

/// The index of post_job in `Ix::ALL`.
#[unsafe(no_mangle)]
pub extern "C" fn ix_post_job() -> i32 {
    Ix::ALL.iter().position(|i| *i == PostJob::IX).map_or(-1, |p| p as i32)
}

/// The number of accounts instruction `index` takes (before remaining
/// accounts), 0 for an unknown index.
#[unsafe(no_mangle)]
pub extern "C" fn ix_accounts(index: u32) -> u32 {
    Ix::ALL.get(index as usize).map_or(0, |i| i.accounts().len() as u32)
}

/// Length of [`post_job_fields`]' output.
pub const POST_JOB_FIELDS_LEN: u32 = 32 * 3 + 8 * 4;

#[unsafe(no_mangle)]
pub extern "C" fn post_job_fields_len() -> u32 {
    POST_JOB_FIELDS_LEN
}

/// post_job's arguments decoded from instruction `data` into `out`:
/// job_id, bundle_hash, runtime_id (32 each), then escrow_lamports,
/// ttl_slots, nonce, priority_fee_lamports (u64 LE). 0, or -1 if `data`
/// is not a post_job.
///
/// # Safety
/// `data..data+len` readable, `out..out+POST_JOB_FIELDS_LEN` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn post_job_fields(data: *const u8, len: u32, out: *mut u8) -> i32 {
    let Ok(a) = decode_args::<PostJob>(unsafe { bytes(data, len) }) else {
        return -1;
    };
    let mut o = Vec::with_capacity(POST_JOB_FIELDS_LEN as usize);
    o.extend_from_slice(&a.job_id);
    o.extend_from_slice(&a.bundle_hash);
    o.extend_from_slice(&a.runtime_id);
    for v in [
        a.escrow_lamports.get(),
        a.ttl_slots.get(),
        a.nonce.get(),
        a.priority_fee_lamports.get(),
    ] {
        o.extend_from_slice(&v.to_le_bytes());
    }
    unsafe { std::ptr::copy_nonoverlapping(o.as_ptr(), out, o.len()) };
    0
}

/// The index of cancel_job in `Ix::ALL`.
#[unsafe(no_mangle)]
pub extern "C" fn ix_cancel_job() -> i32 {
    Ix::ALL.iter().position(|i| *i == CancelJob::IX).map_or(-1, |p| p as i32)
}

/// Instruction `index`'s 8-byte discriminator into `out`; 0, or -1 for an
/// unknown index.
///
/// # Safety
/// `out[8]` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ix_discriminator(index: u32, out: *mut u8) -> i32 {
    match Ix::ALL.get(index as usize) {
        Some(ix) => {
            unsafe { std::ptr::copy_nonoverlapping(ix.discriminator().as_ptr(), out, 8) };
            0
        }
        None => -1,
    }
}

/// Length of [`committee_event`]'s output.
pub const COMMITTEE_EVENT_LEN: u32 = 32 + 32 + 8 + 32 * 9;

#[unsafe(no_mangle)]
pub extern "C" fn committee_event_len() -> u32 {
    COMMITTEE_EVENT_LEN
}

/// A `Program data:` buffer decoded as an edgerun event. For the events
/// that seat workers it writes `out`: job_id, snapshot_hash (32 each), the
/// number of workers (1, then 7 zero bytes), then 9 worker slots (32
/// each): WorkersAssigned's committee in draw order (returns 1), or
/// WorkerReassigned's new worker then the old one (returns 2). Another
/// edgerun event returns 0; bytes that are no edgerun event, -1.
///
/// # Safety
/// `data..data+len` readable, `out..out+COMMITTEE_EVENT_LEN` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn committee_event(data: *const u8, len: u32, out: *mut u8) -> i32 {
    let mut o = Vec::with_capacity(COMMITTEE_EVENT_LEN as usize);
    let (kind, workers): (i32, Vec<[u8; 32]>) = match AnyEvent::decode(unsafe { bytes(data, len) }) {
        None => return -1,
        Some(AnyEvent::WorkersAssigned(a)) => {
            o.extend_from_slice(&a.job_id);
            o.extend_from_slice(&a.snapshot_hash);
            let n = (a.count as usize).min(a.workers.len());
            (1, a.workers[..n].iter().map(|w| w.0).collect())
        }
        Some(AnyEvent::WorkerReassigned(r)) => {
            o.extend_from_slice(&r.job_id);
            o.extend_from_slice(&r.snapshot_hash);
            (2, vec![r.new_worker.0, r.old_worker.0])
        }
        Some(_) => return 0,
    };
    o.extend_from_slice(&[workers.len() as u8, 0, 0, 0, 0, 0, 0, 0]);
    for w in &workers {
        o.extend_from_slice(w);
    }
    o.resize(COMMITTEE_EVENT_LEN as usize, 0);
    unsafe { std::ptr::copy_nonoverlapping(o.as_ptr(), out, o.len()) };
    kind
}

/// Recomputes `count` draws from `first_draw` as the scheduler makes them
/// (`selection::select` over the parsed snapshot, nothing excluded, as
/// the snapshot already leaves seated workers out), after checking the
/// snapshot's hash is `expected`. Writes the workers to `out[count * 32]`
/// and returns the number of candidates; -1 the bytes are not a snapshot,
/// -2 they hash to something else than `expected`, -3 the draw fails
/// (too few candidates).
///
/// # Safety
/// `seed[32]`, `job_id[32]`, `expected[32]`, `snap..snap+len` readable,
/// `out[count * 32]` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn select_draws(
    seed: *const u8,
    job_id: *const u8,
    snap: *const u8,
    len: u32,
    expected: *const u8,
    first_draw: u32,
    count: u32,
    out: *mut u8,
) -> i32 {
    let seed: &[u8; 32] = unsafe { bytes(seed, 32) }.try_into().expect("32");
    let id: &[u8; 32] = unsafe { bytes(job_id, 32) }.try_into().expect("32");
    let expected: &[u8; 32] = unsafe { bytes(expected, 32) }.try_into().expect("32");
    let Ok(eligible) = selection::parse_snapshot(unsafe { bytes(snap, len) }) else {
        return -1;
    };
    match selection::snapshot_hash(&eligible) {
        Ok(h) if &h == expected => {}
        _ => return -2,
    }
    let (Ok(first), Ok(count)) = (u8::try_from(first_draw), u8::try_from(count)) else {
        return -3;
    };
    match selection::select(seed, id, &eligible, &[], count, first) {
        Ok(picked) => {
            for (i, w) in picked.as_slice().iter().enumerate() {
                unsafe { std::ptr::copy_nonoverlapping(w.as_ptr(), out.add(32 * i), 32) };
            }
            eligible.len() as i32
        }
        Err(_) => -3,
    }
}
