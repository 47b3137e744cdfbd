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

use std::io::{self, Read as _};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// Read and throw away at most this much after answering...
pub const DRAIN_BYTE_LIMIT: usize = 64 * 1024;
/// ...for at most this long.
pub const DRAIN_TIME_LIMIT: Duration = Duration::from_secs(1);

/// Sends FIN after everything written so far, waits (within limits) for
/// the client to close its side, and closes: for a thread of one's own, as
/// in exercise 5's answer and the bench. The crew does the same with reads
/// that give way to a newcomer when asked, so the server never calls this.
pub fn close(socket: TcpStream) {
    if socket.shutdown(Shutdown::Write).is_ok() {
        drain_within_the_time_limit(&socket);
    } // Otherwise the connection is already gone.
} // The socket is closed here, when it is dropped.

/// [`drain`] with plain reads, for at most [`DRAIN_TIME_LIMIT`].
fn drain_within_the_time_limit(socket: &TcpStream) -> usize {
    let deadline = Instant::now() + DRAIN_TIME_LIMIT;
    drain(|buffer| {
        let time_left = deadline.saturating_duration_since(Instant::now());
        if time_left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        socket.set_read_timeout(Some(time_left))?;
        (&*socket).read(buffer)
    })
}

/// Calls `read` until the client's FIN (`Ok(0)`), an error (a time limit,
/// or a reset) or [`DRAIN_BYTE_LIMIT`] bytes, whichever comes first.
/// Returns the bytes thrown away.
pub fn drain(mut read: impl FnMut(&mut [u8]) -> io::Result<usize>) -> usize {
    let mut discarded = [0u8; 4096];
    let mut bytes_discarded = 0;
    while bytes_discarded <= DRAIN_BYTE_LIMIT {
        match read(&mut discarded) {
            Ok(0) | Err(_) => break, // The client closed, or went away.
            Ok(count) => bytes_discarded += count,
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
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let client = TcpStream::connect(listener.local_addr().expect("bound"))
            .expect("connects");
        let (server, _) = listener.accept().expect("accepts");
        (client, server)
    }

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
        // Had the time limit come first, fewer bytes would be counted.
        let discarded = drain_within_the_time_limit(&server);
        assert!(
            (DRAIN_BYTE_LIMIT..DRAIN_BYTE_LIMIT + 4096 + 1)
                .contains(&discarded),
            "{discarded} bytes"
        );
        drop(server);
        sender.join().expect("the sender ends");
    }

    /// A client that sends nothing and never closes: the drain stops
    /// after its second.
    #[test]
    fn the_drain_stops_after_its_time() {
        let (_client, server) = pair();
        let started = Instant::now();
        let discarded = drain_within_the_time_limit(&server);
        let took = started.elapsed();
        assert_eq!(discarded, 0);
        assert!(took >= DRAIN_TIME_LIMIT, "{took:?}");
        // Generous: a busy machine may wake us late.
        assert!(took < 10 * DRAIN_TIME_LIMIT, "{took:?}");
    }
}
