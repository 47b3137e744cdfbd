//! What the accept loop does when `accept` fails, sorted as `man 2 accept`
//! sorts the errors:
//!
//! - **One connection's trouble.** A client that gave up between its
//!   handshake and our `accept` (ECONNABORTED), a connection a firewall
//!   refused (EPERM), and on Linux the network errors that belong to that
//!   one connection. The next client is served at once; the log says so
//!   at most once a second, and within that second each retry waits a
//!   millisecond, so that a run that never ends (a security module may
//!   refuse every `accept`) is not a busy loop.
//! - **A shortage.** Out of file descriptors (EMFILE, ENFILE) or memory
//!   (ENOBUFS, ENOMEM): retrying at once would only spin, since nothing
//!   has changed. We ask the client that has waited longest for nothing to
//!   give way, and retry as soon as a thread comes free, or after
//!   100 ms (`SHORTAGE_PAUSE`). With no client to drop, the log says so
//!   once a second.
//! - **A broken listener.** EBADF, EINVAL, ENOTSOCK, EFAULT: the
//!   listening socket itself is unusable, and every retry would fail the
//!   same way. The server ends with an `error:` line and exit status 1, as
//!   the script would, and as mio's `tcp_server.rs` example does.
//! - **Anything else** we have never seen: we retry after a second, so
//!   that the log is not flooded if it lasts.
//!
//! The script's `accept()` raises on every one of these, and the script
//! ends.

use std::io::{self, ErrorKind};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use common::say;

use crate::client_crew::Crew;

/// The longest wait for a client to leave before `accept` is tried again.
const SHORTAGE_PAUSE: Duration = Duration::from_millis(100);
/// The pause after an error we do not know.
const UNKNOWN_ERROR_PAUSE: Duration = Duration::from_secs(1);
/// A shortage lasts many retries; say so at most this often.
const REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// Between retries after errors about one connection that come less than
/// `REPORT_INTERVAL` apart: a run of them that never ends (a security
/// module may refuse every `accept`) must not be a busy loop.
const CONNECTION_ERROR_PAUSE: Duration = Duration::from_millis(1);

/// The accept loop's memory of its recent failures.
#[derive(Default)]
pub struct AcceptErrors {
    shortage_said_at: Option<Instant>,
    connection_error_said_at: Option<Instant>,
}

/// The classes of `man 2 accept`, as this module handles them.
#[derive(Debug, PartialEq, Eq)]
pub enum AcceptError {
    AboutOneConnection,
    Shortage,
    BrokenListener,
    Unknown,
}

/// Proves, at start-up, that a file descriptor is left for a client
/// (`ulimit -n`), by opening one more file, this program's own, and
/// closing it: otherwise every `accept` would fail. Only a shortage
/// counts; any other failure proves nothing either way.
pub fn prove_a_spare_descriptor() -> io::Result<()> {
    match std::env::current_exe().and_then(std::fs::File::open) {
        Err(error) if classify(&error) == AcceptError::Shortage => Err(error),
        _ => Ok(()),
    }
}

impl AcceptErrors {
    /// Reports a failed `accept` and pauses only if retrying at once would
    /// fail again. When resources run out, asks `crew` for room. Returns an
    /// error when the listener is broken: the server should end.
    pub fn handle(&mut self, error: io::Error, crew: &Crew) -> Result<()> {
        let (what_now, pause) = match classify(&error) {
            AcceptError::BrokenListener => {
                let stopped = "the listening socket stopped working";
                return Err(error).context(stopped);
            }
            AcceptError::AboutOneConnection => {
                if said_lately(&mut self.connection_error_said_at) {
                    thread::sleep(CONNECTION_ERROR_PAUSE);
                    return Ok(());
                }
                ("", false)
            }
            AcceptError::Shortage => {
                let asked = crew.make_room(SHORTAGE_PAUSE);
                if said_lately(&mut self.shortage_said_at) {
                    return Ok(());
                }
                match asked {
                    true => ("; a silent client gives way", false),
                    false => ("; no client can give way yet: retrying", false),
                }
            }
            AcceptError::Unknown => ("; retrying in 1 s", true),
        };
        say!("[!] could not accept a connection: {error}{what_now}");
        if pause {
            thread::sleep(UNKNOWN_ERROR_PAUSE);
        }
        Ok(())
    }
}

/// Whether a line about this was said less than `REPORT_INTERVAL` ago; if
/// not, one is said now.
fn said_lately(said_at: &mut Option<Instant>) -> bool {
    let lately = said_at.is_some_and(|at| at.elapsed() < REPORT_INTERVAL);
    *said_at = if lately { *said_at } else { Some(Instant::now()) };
    lately
}

/// Sorts an error from `accept`: by std's `ErrorKind` where it has one on
/// every system, then by the operating system's own numbers, where its
/// `accept` page lists them (std has no stable `ErrorKind` for most yet).
pub fn classify(error: &io::Error) -> AcceptError {
    use ErrorKind::*;
    let [shortage, broken_listener, one_connection] = codes();
    let code = error.raw_os_error().unwrap_or(0);
    match error.kind() {
        OutOfMemory => AcceptError::Shortage,
        InvalidInput => AcceptError::BrokenListener,
        ConnectionAborted | ConnectionReset | ConnectionRefused
        | PermissionDenied | TimedOut | HostUnreachable
        | NetworkUnreachable | NetworkDown => AcceptError::AboutOneConnection,
        _ if shortage.contains(&code) => AcceptError::Shortage,
        _ if broken_listener.contains(&code) => AcceptError::BrokenListener,
        _ if one_connection.contains(&code) => AcceptError::AboutOneConnection,
        _ => AcceptError::Unknown,
    }
}

/// The operating system's numbers for (a shortage, a broken listener,
/// one connection's trouble), only where its `accept` page lists them.
/// Elsewhere (FreeBSD, illumos...) the numbers differ, and std's
/// `ErrorKind` alone sorts them: a shortage then reads as an unknown
/// error, retried each second.
fn codes() -> [&'static [i32]; 3] {
    if cfg!(any(target_os = "linux", target_os = "android")) {
        // Linux: `man 2 accept` (man7.org) and `errno.h`. ENFILE EMFILE
        // ENOBUFS ENOMEM; EBADF EINVAL ENOTSOCK EFAULT; EPERM EPROTO
        // ENOPROTOOPT EHOSTDOWN ENONET EHOSTUNREACH EOPNOTSUPP ENETUNREACH
        // ENETDOWN, which the page says to "treat like EAGAIN by retrying".
        let one_connection = &[1, 71, 92, 112, 64, 113, 95, 101, 100];
        [&[23, 24, 105, 12], &[9, 22, 88, 14], one_connection]
    } else if cfg!(target_os = "macos") {
        // macOS: Apple's `accept(2)` and `sys/errno.h`. ENFILE EMFILE
        // ENOBUFS ENOMEM; EBADF EINVAL ENOTSOCK EFAULT EOPNOTSUPP; EPERM.
        [&[23, 24, 55, 12], &[9, 22, 38, 14, 102], &[1]]
    } else if cfg!(windows) {
        // Windows: Microsoft's `accept` page (learn.microsoft.com/windows/
        // win32/api/winsock2/nf-winsock2-accept). WSAEMFILE WSAENOBUFS;
        // WSAEINVAL WSAENOTSOCK WSAEFAULT WSAEOPNOTSUPP; WSAECONNRESET,
        // WSAEINTR (a blocking call cancelled).
        [&[10024, 10055], &[10022, 10038, 10014, 10045], &[10054, 10004]]
    } else {
        [&[], &[], &[]]
    }
}

#[cfg(test)]
mod tests;
