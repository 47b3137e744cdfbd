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
use std::time::Duration;

use common::say;

/// How long to wait after an error that is not about one connection.
const PAUSE_AFTER_SHORTAGE: Duration =
    Duration::from_millis(100);

/// Reports a failed `accept` on one line, and pauses unless it concerned
/// one connection only.
pub async fn pause(error: io::Error) {
    use io::ErrorKind::*;
    say!("[!] could not accept a connection: {error}");
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
    if !about_one_connection {
        tokio::time::sleep(PAUSE_AFTER_SHORTAGE).await;
    }
}
