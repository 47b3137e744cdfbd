//! What the accept loop does when `accept` fails.
//!
//! tcp-server's `src/accept_errors.rs` sorts the errors of `man 2 accept`
//! into four classes. Here two are enough:
//!
//! - **One connection's trouble** (the client gave up before we took it,
//!   a firewall refused it): the next client is accepted at once.
//! - **Anything else**, mostly a shortage of file descriptors or memory:
//!   retrying at once would only spin, so this task sleeps a little, and
//!   the runtime's threads serve the clients already in while it does.
//!   axum's `serve` and hyper's examples do the same. tokio's listener owns
//!   a socket that stays valid, so the "broken listener" class of
//!   tcp-server (EBADF, ENOTSOCK) cannot happen here.

use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::say;

/// How long to wait after an error that is not about one connection.
const PAUSE_AFTER_SHORTAGE: Duration =
    Duration::from_millis(100);

/// A shortage lasts many pauses; say so at most this often.
const SHORTAGE_REPORT_INTERVAL: Duration =
    Duration::from_secs(1);

/// When a shortage was last reported. Only the accept loop calls
/// [`pause`], so the lock is never contended.
static LAST_SHORTAGE_REPORT: Mutex<Option<Instant>> =
    Mutex::new(None);

/// Reports a failed `accept` on one line, and pauses unless it concerned
/// one connection only.
pub async fn pause(error: io::Error) {
    use io::ErrorKind::*;
    let about_one_connection = matches!(
        error.kind(),
        ConnectionAborted
            | ConnectionReset
            | ConnectionRefused
            | PermissionDenied
            | Interrupted
            | WouldBlock
            | TimedOut
    );
    if about_one_connection {
        say!(
            "[!] could not accept a connection: {error}"
        );
        return;
    }
    report_shortage(&error);
    tokio::time::sleep(PAUSE_AFTER_SHORTAGE).await;
}

/// Says that `accept` failed for want of something, at most once every
/// [`SHORTAGE_REPORT_INTERVAL`]. Not `async`: a std lock must never be
/// held across an `.await`.
fn report_shortage(error: &io::Error) {
    let now = Instant::now();
    // A poisoned lock only means a panic while it was held: the time in it
    // is still a time.
    let mut last = LAST_SHORTAGE_REPORT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if last.is_none_or(|last| {
        now - last >= SHORTAGE_REPORT_INTERVAL
    }) {
        say!(
            "[!] could not accept a connection: {error}; \
             waiting for a client to leave"
        );
        *last = Some(now);
    }
}
