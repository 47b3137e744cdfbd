//! Closing a connection so that the client sees `ACK!` and then a clean end
//! of stream, as tcp-server's `src/serving/graceful_close.rs`
//! does, with `.await` where that one blocks its thread.
//!
//! Dropping a socket while bytes the server never read are waiting makes
//! the kernel send a reset (RST) instead of a normal close (FIN), and a
//! reset can destroy `ACK!` before the client reads it. Python's
//! `writer.close()` has the same trap. So we say we are done sending
//! (`shutdown(SHUT_WR)`, a FIN after `ACK!`), then read and throw away what
//! the client still sends until it closes its side too, within limits of
//! bytes and time.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

// tcp-server's limits, from its library: read and throw away
// at most DRAIN_BYTE_LIMIT bytes after answering, for at most
// DRAIN_TIME_LIMIT.
use tcp_server::graceful_close::{
    DRAIN_BYTE_LIMIT, DRAIN_TIME_LIMIT,
};

/// Sends FIN after everything written so far, waits (within limits) for
/// the client to close its side, and closes.
pub async fn close(mut client: TcpStream) {
    // tokio's `shutdown` is `shutdown(SHUT_WR)`: the reading half stays.
    if client.shutdown().await.is_err() {
        return; // The connection is already gone.
    }
    let drain = async {
        // On the heap, made only now: an array here would make every
        // task 4 KiB larger, even while it waits for its first byte.
        let mut discarded = vec![0u8; 4096];
        let mut bytes_discarded = 0;
        while bytes_discarded <= DRAIN_BYTE_LIMIT {
            match client.read(&mut discarded).await {
                Ok(0) | Err(_) => break, // The client closed, or went away.
                Ok(count) => bytes_discarded += count,
            }
        }
    };
    // A client that keeps us waiting costs a task, not a thread: no need
    // to give way to a newcomer as tcp-server's crew does.
    let _ = tokio::time::timeout(DRAIN_TIME_LIMIT, drain)
        .await;
} // The socket is closed here, when it is dropped.
