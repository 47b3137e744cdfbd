//! What the accept loop does when `accept` fails, sorted as `man 2 accept`
//! sorts the errors:
//!
//! - **One connection's trouble.** A client that gave up between its
//!   handshake and our `accept` (ECONNABORTED), a connection a firewall
//!   refused (EPERM), and on Linux the network errors that belong to that
//!   one connection. The next client is served at once.
//! - **A shortage.** Out of file descriptors (EMFILE, ENFILE) or memory
//!   (ENOBUFS, ENOMEM): retrying at once would only spin, since nothing
//!   has changed. We ask the client that has waited longest for nothing to
//!   give way, and retry as soon as a thread comes free, or after
//!   [`SHORTAGE_PAUSE`]. With no client to drop, the log says so once a
//!   second.
//! - **A broken listener.** EBADF, EINVAL, ENOTSOCK, EFAULT: the
//!   listening socket itself is unusable, and every retry would fail the
//!   same way. The server ends with an `error:` line and exit status 1, as
//!   the script would, and as mio's `tcp_server.rs` example does.
//! - **Anything else** we have never seen: we retry after a second, so
//!   that the log is not flooded if it lasts.
//!
//! The script's `accept()` raises on every one of these, and the script
//! ends.

use std::io;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use common::say;

use crate::client_crew::Crew;

/// The longest wait for a client to leave before `accept` is tried again.
const SHORTAGE_PAUSE: Duration =
    Duration::from_millis(100);
/// The pause after an error we do not know.
const UNKNOWN_ERROR_PAUSE: Duration =
    Duration::from_secs(1);
/// A shortage lasts many retries; say so at most this often.
const SHORTAGE_REPORT_INTERVAL: Duration =
    Duration::from_secs(1);

/// The accept loop's memory of its recent failures.
#[derive(Default)]
pub struct AcceptErrors {
    last_shortage_report: Option<Instant>,
}

/// The classes of `man 2 accept`, as this module handles them.
#[derive(Debug, PartialEq, Eq)]
pub enum AcceptError {
    AboutOneConnection,
    Shortage,
    BrokenListener,
    Unknown,
}

/// Proves, at start-up, that one more file descriptor is there for a
/// client (`ulimit -n`): otherwise every `accept` would fail.
pub fn prove_a_spare_descriptor(
    listener: &TcpListener,
) -> io::Result<()> {
    listener.try_clone().map(drop)
}

impl AcceptErrors {
    /// Reports a failed `accept` and pauses only if retrying at once would
    /// fail again. When resources run out, asks `crew` for room. Returns an
    /// error when the listener is broken: the server should end.
    pub fn handle(
        &mut self,
        error: io::Error,
        crew: &Crew,
    ) -> anyhow::Result<()> {
        match classify(&error) {
            AcceptError::AboutOneConnection => {
                if !matches!(
                    error.kind(),
                    io::ErrorKind::Interrupted
                        | io::ErrorKind::WouldBlock
                ) {
                    say!(
                        "[!] could not accept a connection: {error}"
                    );
                }
            }
            AcceptError::Shortage => {
                // A silent client that gives way frees its descriptor;
                // its thread says so in the log.
                let asked = crew.make_room(SHORTAGE_PAUSE);
                let now = Instant::now();
                let quiet = self
                    .last_shortage_report
                    .is_some_and(|last| {
                        now.duration_since(last)
                            < SHORTAGE_REPORT_INTERVAL
                    });
                if !quiet || asked {
                    let doing = if asked {
                        "a silent client gives way"
                    } else {
                        "no client can give way yet; retrying"
                    };
                    say!(
                        "[!] could not accept a connection: {error}; {doing}"
                    );
                    self.last_shortage_report = Some(now);
                }
            }
            AcceptError::BrokenListener => {
                return Err(error)
                    .context("the listening socket stopped working");
            }
            AcceptError::Unknown => {
                say!(
                    "[!] could not accept a connection: {error}; \
                     retrying in 1 s"
                );
                std::thread::sleep(UNKNOWN_ERROR_PAUSE);
            }
        }
        Ok(())
    }
}

/// Sorts an error from `accept`. std has no stable `ErrorKind` for most of
/// these yet, so we also compare the operating system's own numbers, where
/// we know them.
pub fn classify(error: &io::Error) -> AcceptError {
    use io::ErrorKind::*;
    let code = error.raw_os_error();
    let is = |codes: &[i32]| {
        code.is_some_and(|code| codes.contains(&code))
    };
    if error.kind() == OutOfMemory || is(SHORTAGE) {
        AcceptError::Shortage
    } else if is(BROKEN_LISTENER)
        || error.kind() == InvalidInput
    {
        AcceptError::BrokenListener
    } else if is(ABOUT_ONE_CONNECTION)
        || matches!(
            error.kind(),
            ConnectionAborted
                | ConnectionReset
                | ConnectionRefused
                | PermissionDenied
                | Interrupted
                | WouldBlock
                | TimedOut
                | HostUnreachable
                | NetworkUnreachable
                | NetworkDown
        )
    {
        AcceptError::AboutOneConnection
    } else {
        AcceptError::Unknown
    }
}

// The numbers, only for systems whose `accept` page lists them. Elsewhere
// (FreeBSD, illumos...) the numbers differ, and `io::ErrorKind` alone sorts
// the errors: a shortage then reads as an unknown error, retried each
// second.
/// Linux: `man 2 accept` (man7.org) and `errno.h`.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod codes {
    pub const SHORTAGE: &[i32] = &[23, 24, 105, 12]; // ENFILE EMFILE ENOBUFS ENOMEM
    pub const BROKEN_LISTENER: &[i32] = &[9, 22, 88, 14]; // EBADF EINVAL ENOTSOCK EFAULT
    // EPERM EPROTO ENOPROTOOPT EHOSTDOWN ENONET EHOSTUNREACH EOPNOTSUPP
    // ENETUNREACH ENETDOWN: "treat them like EAGAIN by retrying"
    pub const ABOUT_ONE_CONNECTION: &[i32] =
        &[1, 71, 92, 112, 64, 113, 95, 101, 100];
}
/// macOS: Apple's `accept(2)` and `sys/errno.h`.
#[cfg(any(target_os = "macos", target_os = "ios"))]
mod codes {
    pub const SHORTAGE: &[i32] = &[23, 24, 55, 12]; // ENFILE EMFILE ENOBUFS ENOMEM
    // EBADF EINVAL ENOTSOCK EFAULT EOPNOTSUPP (not a stream socket)
    pub const BROKEN_LISTENER: &[i32] =
        &[9, 22, 38, 14, 102];
    pub const ABOUT_ONE_CONNECTION: &[i32] = &[1]; // EPERM
}
/// Windows: the error codes on Microsoft's `accept` page
/// (learn.microsoft.com/windows/win32/api/winsock2/nf-winsock2-accept).
#[cfg(windows)]
mod codes {
    pub const SHORTAGE: &[i32] = &[10024, 10055]; // WSAEMFILE WSAENOBUFS
    // WSAEINVAL (not listening) WSAENOTSOCK WSAEFAULT WSAEOPNOTSUPP
    pub const BROKEN_LISTENER: &[i32] =
        &[10022, 10038, 10014, 10045];
    pub const ABOUT_ONE_CONNECTION: &[i32] = &[10054]; // WSAECONNRESET
}
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    windows
)))]
mod codes {
    pub const SHORTAGE: &[i32] = &[];
    pub const BROKEN_LISTENER: &[i32] = &[];
    pub const ABOUT_ONE_CONNECTION: &[i32] = &[];
}
use codes::{
    ABOUT_ONE_CONNECTION, BROKEN_LISTENER, SHORTAGE,
};

// The path is spelled out so that the exercises, which bring this file in
// with `#[path]`, find the tests too (`cargo test --all-targets`).
#[cfg(test)]
#[path = "accept_errors/tests.rs"]
mod tests;
