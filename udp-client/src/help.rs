//! What udp-client tells a user who needs help: its `--help`, and advice on
//! a `help:` line of its own under an error, as cargo and rustc print it.

use std::io::{self, Write as _};
use std::net::SocketAddr;

/// The command line, and what `--help` prints.
pub const PROGRAM: common::cli::Program =
    common::cli::Program {
        name: "udp-client",
        about: "Sends the datagram AAABBBCCC to HOST:PORT over UDP and prints the\n\
            first datagram that comes back, as Python's print(bytes) would.\n\
            The Rust twin of docs/python/udp_client.py.",
        host: "HOST",
        default_host: "127.0.0.1",
        default_port: 80,
        default_wait: 3,
        wait_help: "wait SECS for a reply; 0 waits forever",
        listens: false,
        max_clients: None,
        example: "cargo run -p udp-client --example echo-server\n\
              cargo run -p udp-client -- 127.0.0.1 9999",
    };

const START_A_PEER: &str = "start one with `cargo run -p udp-client --example echo-server`";

/// Silence and refusals both mean that nothing listens there; say how to
/// start a peer. Other errors are passed on.
pub fn receive_failed(
    error: io::Error,
    target: SocketAddr,
) -> anyhow::Error {
    match error.kind() {
        _ if common::is_timeout(&error) => common::hint(
            anyhow::anyhow!(
                "no reply from {target} in time"
            ),
            "UDP cannot tell whether anyone listens; is the \
             echo server running?",
        ),
        // An ICMP "port unreachable" comes back as a refused receive on
        // some systems, and on Windows as a reset connection.
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::ConnectionReset => common::hint(
            anyhow::anyhow!(
                "nothing is listening at {target}"
            ),
            START_A_PEER,
        ),
        _ => anyhow::Error::new(error).context(format!(
            "could not receive a reply from {target}"
        )),
    }
}

/// Prints a note on standard error when the reply came from another
/// address than the one we sent to.
pub fn note_sender(
    sender: SocketAddr,
    target: SocketAddr,
) {
    // Compare address and port only: an IPv6 address also carries flow
    // and scope numbers that do not say who sent it.
    if (sender.ip(), sender.port())
        != (target.ip(), target.port())
    {
        let _ = writeln!(
            io::stderr(),
            "note: this reply came from {sender}, not from {target}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: &str = "127.0.0.1:9";

    fn report(kind: io::ErrorKind) -> String {
        let target =
            TARGET.parse().expect("a literal address");
        let error =
            receive_failed(io::Error::from(kind), target);
        let mut lines = Vec::new();
        for cause in error.chain() {
            lines.push(cause.to_string());
        }
        lines.join(" / ")
    }

    /// Windows reports an ICMP "port unreachable" as a reset; it reads as
    /// "nothing is listening", like a refusal.
    #[test]
    fn a_reset_or_a_refusal_means_nothing_is_listening() {
        for kind in [
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::ConnectionRefused,
        ] {
            assert_eq!(
                report(kind),
                "nothing is listening at 127.0.0.1:9"
            );
        }
    }

    /// A timeout on Unix (WouldBlock) and on Windows (TimedOut) reads alike.
    #[test]
    fn a_timeout_reads_the_same_on_every_system() {
        for kind in [
            io::ErrorKind::WouldBlock,
            io::ErrorKind::TimedOut,
        ] {
            assert_eq!(
                report(kind),
                "no reply from 127.0.0.1:9 in time"
            );
        }
    }
}
