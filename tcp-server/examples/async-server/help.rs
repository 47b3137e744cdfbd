//! What async-server tells a user who needs help: tcp-server's `--help`
//! and advice, under its own name, and the line for a silent client.

use std::io;
use std::time::Duration;

// tcp-server's help, from src/: its `bind_failed` advice serves here as
// is. (Its crew's `no_thread` does not: tasks are not threads.)
#[path = "../../src/help.rs"]
#[allow(dead_code)]
mod threaded;

pub use threaded::bind_failed;

/// The command line, and what `--help` prints: tcp-server's, but for the
/// name, the description and the example.
pub const PROGRAM: common::cli::Program =
    common::cli::Program {
        name: "async-server",
        about: "Listens on BIND_IP:PORT over TCP. For each client it prints the\n\
        request, answers ACK! and closes, in a task of its own (tokio).\n\
        Port 0 picks any free port. The Rust twin of\n\
        docs/python/tcp_server_async.py.",
        example: "cargo run -p tcp-server --example async-server\n\
        cargo run -p tcp-client -- 127.0.0.1 9999",
        ..threaded::PROGRAM
    };

/// The error for a client that sent nothing within `-w`: the same line as
/// tcp-server's, `[!] ADDRESS: sent nothing for 5 s: timed out`.
pub fn silent_for(wait: Duration) -> anyhow::Error {
    let seconds = wait.as_secs_f64();
    anyhow::Error::new(io::Error::from(
        io::ErrorKind::TimedOut,
    ))
    .context(format!("sent nothing for {seconds} s"))
}
