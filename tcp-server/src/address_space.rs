//! Whether the address-space limit (`ulimit -v`) leaves room for one more
//! client thread.
//!
//! Each thread reserves address space: its stack, a small signal stack that
//! Rust's standard library maps for it as it starts, and, for the first
//! few threads, a 64 MiB arena for `malloc`. When `ulimit -v` runs out,
//! most of these fail politely, but the signal stack cannot: Rust aborts
//! the whole process ("failed to allocate an alternative stack"). So on
//! Linux, before starting a thread, we check the limit and what the
//! process already uses, and keep enough in reserve for those mappings.
//! Elsewhere, and without a limit, there is always room.

use std::io;

/// Kept free beyond the new thread's stack: the new thread's own `malloc`
/// arena, two more that earlier threads may still map, and some for
/// everything else.
const RESERVE: u64 =
    3 * 64 * 1024 * 1024 + 16 * 1024 * 1024;

/// `Ok` when a thread with a stack of `stack_size` bytes fits under the
/// address-space limit, with [`RESERVE`] to spare.
pub fn room_for_a_thread(
    stack_size: usize,
) -> io::Result<()> {
    let Some((limit, used)) = limit_and_use() else {
        return Ok(());
    };
    if used + stack_size as u64 + RESERVE <= limit {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!(
            "the address-space limit (ulimit -v) of {} MiB is nearly used up",
            limit / (1024 * 1024)
        ),
    ))
}

/// The soft address-space limit and the address space in use, in bytes,
/// if there is a limit. Read afresh each time: `prlimit --pid` can lower
/// the limit of a running server.
#[cfg(target_os = "linux")]
fn limit_and_use() -> Option<(u64, u64)> {
    let limits =
        std::fs::read_to_string("/proc/self/limits")
            .ok()?;
    let line = limits.lines().find(|line| {
        line.starts_with("Max address space")
    })?;
    // "Max address space   unlimited   unlimited   bytes"
    let limit: u64 =
        line.split_whitespace().nth(3)?.parse().ok()?;
    let status =
        std::fs::read_to_string("/proc/self/status")
            .ok()?;
    let kibibytes: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmSize:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some((limit, kibibytes * 1024))
}

#[cfg(not(target_os = "linux"))]
fn limit_and_use() -> Option<(u64, u64)> {
    None
}
