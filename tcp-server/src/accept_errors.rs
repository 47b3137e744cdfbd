//! What the accept loop does when `accept` fails: carry on at once when one
//! client's trouble caused it, and pause only when the server is out of
//! file descriptors or memory.
//!
//! The script's `accept()` raises, and the script ends. Ours must not end:
//!
//! - A client that gave up between its handshake and our `accept`
//!   (ECONNABORTED), and on Linux a few network errors that belong to that
//!   one connection, fail one accept. The next client is served at once.
//! - Out of file descriptors (EMFILE, ENFILE) or memory (ENOBUFS, ENOMEM),
//!   retrying at once would only spin: nothing has changed. We ask silent
//!   clients to make room, and retry as soon as one client has left, or
//!   after [`RESOURCE_PAUSE`].
//! - Anything else we have never seen; we retry after a second, so that
//!   the log is not flooded if it lasts.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use common::say;

use crate::client_crew::Crew;

/// The longest wait for a client to leave before `accept` is tried again.
const RESOURCE_PAUSE: Duration =
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

impl AcceptErrors {
    /// Reports a failed `accept`, and pauses only if retrying at once
    /// would fail again. When resources run out, asks `crew` for room.
    pub fn handle(
        &mut self,
        error: io::Error,
        crew: &Crew,
    ) {
        if is_out_of_resources(&error) {
            let now = Instant::now();
            let quiet = self
                .last_shortage_report
                .is_some_and(|last| {
                    now.duration_since(last)
                        < SHORTAGE_REPORT_INTERVAL
                });
            if !quiet {
                say!(
                    "[!] could not accept a connection: {error}; \
                     waiting for a client to leave"
                );
                self.last_shortage_report = Some(now);
            }
            crew.wait_for_a_departure(RESOURCE_PAUSE);
        } else if is_about_one_connection(&error) {
            say!(
                "[!] could not accept a connection: {error}"
            );
        } else {
            say!(
                "[!] could not accept a connection: {error}; retrying in 1 s"
            );
            thread::sleep(UNKNOWN_ERROR_PAUSE);
        }
    }
}

/// Out of file descriptors or memory. std has no stable `ErrorKind` for
/// most of these yet, so we compare the operating system's own numbers.
pub fn is_out_of_resources(error: &io::Error) -> bool {
    #[cfg(any(
        target_os = "linux",
        target_os = "android"
    ))]
    const CODES: &[i32] = &[23, 24, 105, 12]; // ENFILE EMFILE ENOBUFS ENOMEM
    #[cfg(all(
        unix,
        not(any(
            target_os = "linux",
            target_os = "android"
        ))
    ))]
    const CODES: &[i32] = &[23, 24, 55, 12]; // the same on macOS and BSD
    #[cfg(windows)]
    const CODES: &[i32] = &[10024, 10055]; // WSAEMFILE WSAENOBUFS
    #[cfg(not(any(unix, windows)))]
    const CODES: &[i32] = &[];
    error.kind() == io::ErrorKind::OutOfMemory
        || error
            .raw_os_error()
            .is_some_and(|code| CODES.contains(&code))
}

/// Errors that belong to one connection, not to the listening socket.
/// Linux passes a new connection's pending network error to `accept`
/// (see `man 2 accept`), and asks servers to retry at once.
pub fn is_about_one_connection(
    error: &io::Error,
) -> bool {
    use io::ErrorKind::*;
    #[cfg(any(
        target_os = "linux",
        target_os = "android"
    ))]
    const CODES: &[i32] = &[71, 92, 112, 64]; // EPROTO ENOPROTOOPT EHOSTDOWN ENONET
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android"
    )))]
    const CODES: &[i32] = &[];
    matches!(
        error.kind(),
        ConnectionAborted
            | ConnectionReset
            | ConnectionRefused
            | Interrupted
            | WouldBlock
            | TimedOut
            | HostUnreachable
            | NetworkUnreachable
            | NetworkDown
            | Unsupported
    ) || error
        .raw_os_error()
        .is_some_and(|code| CODES.contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_crew::Patience;
    use std::net::{SocketAddr, TcpListener, TcpStream};

    /// Running out of descriptors pauses; a client that gave up does not.
    #[test]
    fn only_a_shortage_pauses() {
        #[cfg(unix)]
        let emfile = io::Error::from_raw_os_error(24);
        #[cfg(windows)]
        let emfile = io::Error::from_raw_os_error(10024);
        assert!(is_out_of_resources(&emfile));
        assert!(!is_about_one_connection(&emfile));
        let aborted = io::Error::from(
            io::ErrorKind::ConnectionAborted,
        );
        assert!(is_about_one_connection(&aborted));
        assert!(!is_out_of_resources(&aborted));
    }

    /// After a shortage, the pause ends as soon as a client
    /// leaves, not after the whole RESOURCE_PAUSE.
    #[test]
    fn a_departure_ends_the_pause_at_once() {
        fn serve_slowly(
            _: TcpStream,
            _: SocketAddr,
            _: &Patience,
        ) -> anyhow::Result<()> {
            thread::sleep(Duration::from_millis(20));
            Ok(())
        }
        let listener = TcpListener::bind("127.0.0.1:0")
            .expect("loopback");
        let _client = TcpStream::connect(
            listener.local_addr().expect("bound"),
        );
        let (server, address) =
            listener.accept().expect("accepts");
        let mut crew = Crew::new(4, None, serve_slowly);
        crew.hand_off(server, address);
        let started = Instant::now();
        // What `handle` does after EMFILE, without its line
        // in the log.
        crew.wait_for_a_departure(RESOURCE_PAUSE);
        let paused = started.elapsed();
        assert!(
            paused >= Duration::from_millis(10),
            "{paused:?}"
        );
        assert!(paused < RESOURCE_PAUSE, "{paused:?}");
    }
}
