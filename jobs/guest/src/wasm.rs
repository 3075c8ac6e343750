//! The wasm32-only parts: host imports, allocator, panic handler.

use alloc::vec::Vec;

#[link(wasm_import_module = "edgerun")]
unsafe extern "C" {
    /// Length of the job input in bytes.
    fn input_len() -> i32;
    /// Copies up to `len` input bytes from `offset` to `dst`; returns the
    /// number copied.
    fn read_input(dst: *mut u8, offset: i32, len: i32) -> i32;
    /// Appends `len` bytes at `src` to the output; the host traps when the
    /// total passes the job's output cap.
    fn write_output(src: *const u8, len: i32) -> i32;
}

#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// Traps. The message is not formatted: formatting would link `core::fmt`
/// (and can pull float code in), and the runtime reports every trap as the
/// same fixed `edgerun:fail:trap-unreachable` anyway.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// The whole job input.
pub fn input() -> Vec<u8> {
    // SAFETY: a host import without arguments.
    let len = unsafe { input_len() };
    // A negative length would be a broken host; treat it as empty input.
    let len = usize::try_from(len).unwrap_or(0);
    let mut buf: Vec<u8> = Vec::with_capacity(len);
    let mut filled = 0usize;
    while filled < len {
        let rest = &mut buf.spare_capacity_mut()[..len - filled];
        // Lengths fit in i32: `len` came from one.
        // SAFETY: `rest` is writable memory of `rest.len()` bytes that the
        // host fills with at most that many bytes.
        let copied =
            unsafe { read_input(rest.as_mut_ptr().cast(), filled as i32, rest.len() as i32) };
        let copied = usize::try_from(copied).unwrap_or(0);
        // The host promised `len` bytes; a short read would loop forever,
        // so stop with a trap instead.
        assert!(copied > 0 && copied <= rest.len());
        filled += copied;
        // SAFETY: the host initialized the first `filled` bytes.
        unsafe { buf.set_len(filled) };
    }
    buf
}

/// Appends `bytes` to the job output.
pub fn write(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    // A wasm32 slice is at most isize::MAX = i32::MAX bytes long.
    // SAFETY: `bytes` is readable for `bytes.len()` bytes.
    unsafe { write_output(bytes.as_ptr(), bytes.len() as i32) };
}
