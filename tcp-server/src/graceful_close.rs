//! Closing a connection so that the client sees `ACK!` and then a clean end
//! of stream, however its request arrived.
//!
//! Python's `close()`, like dropping a `TcpStream`, while bytes the server
//! never read are waiting makes the kernel send a reset (RST) instead of a
//! normal close (FIN). A reset can reach the client before it has read
//! `ACK!`, and on Windows it throws away `ACK!` still waiting to be read.
//! One short `recv` never proves that the client has sent everything: a
//! request written in two parts may still be on its way.
//!
//! So we say we are done sending (`shutdown(SHUT_WR)`, which sends FIN
//! after `ACK!`), then read and throw away whatever the client still sends
//! until it closes its side too, within limits of bytes and time. In a
//! thread of the crew, a client that keeps us waiting here gives way to a
//! newcomer when every thread is busy (see `client_crew.rs`).

use std::io::Read as _;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::client_crew;

/// Read and throw away at most this much after answering...
pub const DRAIN_BYTE_LIMIT: usize = 64 * 1024;
/// ...for at most this long.
pub const DRAIN_TIME_LIMIT: Duration =
    Duration::from_secs(1);

/// Sends FIN after everything written so far, waits (within limits) for
/// the client to close its side, and closes.
pub fn close(socket: TcpStream) {
    if socket.shutdown(Shutdown::Write).is_err() {
        return; // The connection is already gone.
    }
    let _ = client_crew::wait_after_ack(socket, drain);
} // The socket is closed here, when it is dropped.

/// Reads until the client's FIN, [`DRAIN_BYTE_LIMIT`] bytes or
/// [`DRAIN_TIME_LIMIT`], whichever comes first. Returns the bytes
/// thrown away.
pub fn drain(mut socket: &TcpStream) -> usize {
    let deadline = Instant::now() + DRAIN_TIME_LIMIT;
    let mut discarded = [0u8; 4096];
    let mut bytes_discarded = 0;
    while bytes_discarded <= DRAIN_BYTE_LIMIT {
        let time_left = deadline
            .saturating_duration_since(Instant::now());
        if time_left.is_zero()
            || socket
                .set_read_timeout(Some(time_left))
                .is_err()
        {
            break;
        }
        match socket.read(&mut discarded) {
            Ok(0) | Err(_) => break, // The client closed, or went away.
            Ok(count) => bytes_discarded += count,
        }
    }
    bytes_discarded
}
