//! What tcp-server tells a user who needs help: its `--help`, and advice on
//! a `help:` line of its own under an error, as cargo and rustc print it.

use std::io;
use std::net::SocketAddr;

/// The command line, and what `--help` prints.
pub const PROGRAM: common::cli::Program =
    common::cli::Program {
        name: "tcp-server",
        about: "Listens on BIND_IP:PORT over TCP. For each client it prints the\n\
            request, answers ACK! and closes. Port 0 picks any free port.\n\
            The Rust twin of docs/python/tcp_server.py.",
        host: "BIND_IP",
        default_host: "0.0.0.0",
        default_port: 9999,
        default_wait: 5,
        wait_help: "drop a client silent for SECS; 0: never",
        listens: true,
        max_clients: Some(crate::MAX_CLIENTS),
        example: "cargo run -p tcp-server\n\
              cargo run -p tcp-client -- 127.0.0.1 9999",
    };

/// Returns the function that `map_err` calls when `bind`
/// fails, for the address we tried.
///
/// Explains a failed `bind`: a port that is taken, an address
/// this machine does not have, or a port that needs privileges.
pub fn bind_failed(
    address: SocketAddr,
) -> impl FnOnce(io::Error) -> anyhow::Error {
    move |error| {
        let hint = match error.kind() {
            io::ErrorKind::AddrInUse => Some(
                "another program listens on that port: stop it, \
                 or pick another port (0 picks any free one)",
            ),
            io::ErrorKind::AddrNotAvailable => Some(
                "this machine has no such address; 127.0.0.1 \
                 stays on this machine, 0.0.0.0 listens on all",
            ),
            io::ErrorKind::PermissionDenied => Some(
                "ports below 1024 need special rights; pick a \
                 port from 1024 up",
            ),
            _ => None,
        };
        let error = anyhow::Error::new(error).context(
            format!("could not bind to {address}"),
        );
        match hint {
            Some(hint) => common::hint(error, hint),
            None => error,
        }
    }
}

/// Explains a crew that could not start even one thread: the
/// system's limit on threads or memory is too tight.
pub fn no_thread(error: io::Error) -> anyhow::Error {
    common::hint(
        anyhow::Error::new(error)
            .context("could not start a client thread"),
        "the system refused a new thread (ulimit -u or -v, or a \
         container's task limit); raise the limit",
    )
}

/// Explains a server that has no file descriptor to spare for
/// even one client.
pub fn no_descriptor(error: io::Error) -> anyhow::Error {
    common::hint(
        anyhow::Error::new(error).context(
            "no file descriptor is left for a client",
        ),
        "raise the limit on open files (ulimit -n)",
    )
}
