//! What tcp-client tells a user who needs help: its `--help`, and advice on
//! a `help:` line of its own under an error, as cargo and rustc print it.
//! The short `error:` line stays next to the call that failed.

use std::io;
use std::net::SocketAddr;

/// The command line, and what `--help` prints.
pub const PROGRAM: common::cli::Program =
    common::cli::Program {
        name: "tcp-client",
        about: "Connects to HOST:PORT over TCP, sends an HTTP GET request and\n\
            prints the first reply as Python's print(bytes) would.\n\
            The Rust twin of docs/python/tcp_client.py.",
        host: "HOST",
        default_host: "www.google.com",
        default_port: 80,
        default_wait: 5,
        wait_help: "give up after SECS seconds; 0 waits forever",
        listens: false,
        max_clients: None,
        example: "cargo run -p tcp-server\n\
              cargo run -p tcp-client -- 127.0.0.1 9999",
    };

/// A name that cannot be looked up: most often, no network.
/// Say how to try the client on this machine alone.
pub fn lookup_failed(
    error: anyhow::Error,
) -> anyhow::Error {
    common::hint(
        error,
        "looking up a name needs a network; to stay on this \
         machine, start `cargo run -p tcp-server`, then run \
         `cargo run -p tcp-client -- 127.0.0.1 9999`",
    )
}

/// Names every address tried and why it failed. When each one on this
/// machine refused, nothing is listening: suggest starting the server. When
/// some timed out instead, say so too: Windows retries a refused SYN and
/// reports the refusal only after about 2 s, so a shorter `-w` sees a
/// timeout; elsewhere a loopback timeout means a server too busy to accept.
pub fn connect_failed(
    target: &str,
    failures: &[(SocketAddr, io::Error)],
) -> anyhow::Error {
    let reasons: Vec<String> = failures
        .iter()
        .map(|(address, error)| {
            format!("{address}: {}", short_reason(error))
        })
        .collect();
    let error = anyhow::anyhow!(
        "could not connect to {target} ({})",
        reasons.join("; ")
    );
    // Every address tried is on this machine, and each failed so.
    let all_local =
        |failed_so: fn(&io::Error) -> bool| {
            failures.iter().all(|(address, error)| {
                address.ip().is_loopback()
                    && failed_so(error)
            })
        };
    if all_local(is_refusal) {
        common::hint(error, START_THE_SERVER)
    } else if all_local(|error| {
        is_refusal(error) || common::is_timeout(error)
    }) {
        common::hint(
            error,
            &format!(
                "{START_THE_SERVER}; if it is, it may be too \
                 busy. On Windows a refusal takes about 2 s to \
                 arrive, so with -w under 2 it shows as a timeout"
            ),
        )
    } else {
        error
    }
}

fn is_refusal(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::ConnectionRefused
}

/// The advice for a refused connection on this machine.
const START_THE_SERVER: &str =
    "is the server running? `cargo run -p tcp-server`";

/// What a failed read from `target` becomes, for `map_err`: a read
/// timeout says what to do about it; other errors are passed on.
pub fn read_failed(
    target: &str,
) -> impl Fn(io::Error) -> anyhow::Error {
    move |error| {
        if common::is_timeout(&error) {
            common::hint(
                anyhow::anyhow!(
                    "no reply from {target} in time"
                ),
                "wait longer with -w SECS, or -w 0 to wait \
                 forever",
            )
        } else {
            anyhow::Error::new(error).context(format!(
                "could not read the reply from {target}"
            ))
        }
    }
}

/// "connection refused" rather than "Connection refused (os error 111)".
fn short_reason(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => {
            "connection refused".to_string()
        }
        _ if common::is_timeout(error) => {
            "timed out".to_string()
        }
        _ => error.to_string(),
    }
}
