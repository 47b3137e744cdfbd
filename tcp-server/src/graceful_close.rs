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

use crate::client_crew::{self, AfterAck};

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
/// [`DRAIN_TIME_LIMIT`] (less if a newcomer waits for this thread),
/// whichever comes first. Returns the bytes thrown away.
pub fn drain(
    mut socket: &TcpStream,
    after_ack: &AfterAck<'_>,
) -> usize {
    let deadline = Instant::now()
        + after_ack.time_limit(DRAIN_TIME_LIMIT);
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
            Ok(count) => {
                bytes_discarded += count;
                after_ack.heard_from_client();
            }
        }
    }
    bytes_discarded
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::net::TcpListener;
    use std::thread;

    /// A connected pair on loopback: the client's end, the server's.
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .expect("binds");
        let client = TcpStream::connect(
            listener.local_addr().expect("bound"),
        )
        .expect("connects");
        let (server, _) =
            listener.accept().expect("accepts");
        (client, server)
    }

    const OUTSIDE_A_CREW: AfterAck<'static> =
        AfterAck::outside_a_crew();

    /// A client that keeps sending and never closes: the drain stops
    /// after 64 KiB, long before its second.
    #[test]
    fn the_drain_stops_after_its_bytes() {
        let (mut client, server) = pair();
        let sender = thread::spawn(move || {
            let chunk = [7u8; 4096];
            // Up to 1 MiB; the write fails once the server has closed.
            for _ in 0..256 {
                if client.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        let started = Instant::now();
        let discarded = drain(&server, &OUTSIDE_A_CREW);
        let took = started.elapsed();
        assert!(
            (DRAIN_BYTE_LIMIT
                ..DRAIN_BYTE_LIMIT + 4096 + 1)
                .contains(&discarded),
            "{discarded} bytes"
        );
        assert!(took < DRAIN_TIME_LIMIT, "{took:?}");
        drop(server);
        sender.join().expect("the sender ends");
    }

    /// A client that sends nothing and never closes: the drain stops
    /// after its second.
    #[test]
    fn the_drain_stops_after_its_time() {
        let (_client, server) = pair();
        let started = Instant::now();
        let discarded = drain(&server, &OUTSIDE_A_CREW);
        let took = started.elapsed();
        assert_eq!(discarded, 0);
        assert!(took >= DRAIN_TIME_LIMIT, "{took:?}");
        assert!(took < 3 * DRAIN_TIME_LIMIT, "{took:?}");
    }
}
