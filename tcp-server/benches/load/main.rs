//! Load generator for tcp-server: how fast is it next to other designs
//! doing the same work, and what do silent or stalling clients cost?
//!
//! `cargo bench -p tcp-server` runs the standard comparison: 1, 16, 64 and
//! 256 concurrent clients, 3 rounds each, taking turns between these
//! servers (`--servers` picks others):
//!
//! - `rust`: the real `tcp-server`, with its default settings;
//! - `pool`: the fastest blocking design we know for the same work: 16
//!   threads that each call `accept` and serve the client themselves
//!   (`baseline_servers.rs`, which also has `handoff` and `inline`);
//! - `async`: `tcp-server/examples/async-server/`, a task per client on
//!   tokio, which the bench builds with
//!   `cargo build --release -p tcp-server --example async-server`;
//! - `python` and `python-async`: `docs/python/tcp_server.py` and
//!   `tcp_server_async.py`, run by the first of `python3`, `python` and
//!   `py -3` that is Python 3.8 or newer (at 1 to 64 clients only:
//!   their backlogs of 5 and 100 make larger crowds wait for seconds).
//!
//! A server that cannot run here (no Python, a file not in this checkout)
//! is skipped with a line that says why.
//!
//! Each exchange is one connection: connect, send the script's 36-byte
//! request, read `ACK!` up to the end of the stream, close. Every server
//! prints its three lines per client into a log file. For each server the
//! bench prints exchanges per second, p50 and p99, failures by kind (a
//! reset counts as a failure), and the server's CPU time and context
//! switches per exchange; then the first server's rate over each other's,
//! round by round, as the median and the range over the rounds.
//!
//! Options (after `--`, as in `cargo bench -p tcp-server -- --rounds 5`;
//! `--help` lists them in short):
//!
//! - `--clients 1,16,64,256`: concurrent clients, one run for each count.
//! - `--exchanges N`: exchanges per run (default 20000).
//! - `--servers LIST`: the servers, the first of which is compared with
//!   each other: `rust`, `pool`, `handoff`, `async`, `python`,
//!   `python-async`, `inline` (no hand-off, no graceful close),
//!   `inline-graceful`, `inline-backlog-5` (the script's `listen(5)`),
//!   `thread-per-client` (exercise 5's answer, which the bench builds),
//!   and names given with `--command`. Default:
//!   `rust,pool,async,python,python-async`.
//! - `--command NAME=CMD`: a server of your own, say another tokio or Go
//!   server, run as a command line split at spaces; it must print
//!   `[*] Listening on IP:PORT` first, as tcp-server does.
//! - `--rounds R`: runs per server, taking turns (default 3).
//! - `--silent 300,2000`: for each count, a fresh server serves the first
//!   `--clients` count alone, then while that many silent connections are
//!   held open. Prints the server's resident memory before they come and
//!   when the load ends, and the difference per connection it still holds,
//!   in KiB.
//! - `--stall 1200`: the same against clients that send a few bytes, never
//!   read until the server's FIN, wait 1.1 s, close and come back.
//! - `--newcomer 100`: for each try (`--rounds`, default 10 here): a fresh
//!   `rust` with `-w 30 --max-clients 100`, 100 silent clients, then one
//!   normal client; counts the clients the server dropped to make room.
//! - `--retire 1000`: a fresh `rust` takes that many silent clients, which
//!   then leave; prints its threads and memory every 5 s, for
//!   `--retire-seconds` (default 45), as idle threads retire.
//! - `--server-args ARGS`: extra arguments for `rust`, e.g. `"-w 30"`.
//! - `--wrap CMD`: start each server under a command prefix, e.g.
//!   `"prlimit --nproc=3 --"` (Unix).
//! - `--server-fds N`: start each server under `ulimit -n N` (Unix).
//! - `-h`, `--help`: print the options.
//!
//! Memory, CPU time and context switches come from /proc, so only on
//! Linux; elsewhere they print as `n/a` or `?`. Memory is in MiB and KiB
//! (what /proc calls kB). The bench starts its own servers as processes of
//! their own, like the others (`load --serve-pool` and so on). Everything
//! stays on 127.0.0.1, and every run, wait and connection has a time limit.

mod attacks;
mod baseline_servers;
mod options;
mod report;
mod servers;
mod speed;

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;

use options::{Invocation, Settings};

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match options::parse(&arguments)? {
        Invocation::Help => {
            let _ = std::io::stdout().write_all(options::USAGE.as_bytes());
            Ok(())
        }
        Invocation::Serve(server) => baseline_servers::serve(server),
        Invocation::Measure(settings) => measure(&settings),
    }
}

/// Runs the mode the options ask for.
fn measure(settings: &Settings) -> anyhow::Result<()> {
    let log_folder = std::env::temp_dir()
        .join(format!("tcp-server-load-{}", std::process::id()));
    std::fs::create_dir_all(&log_folder).with_context(|| {
        format!("could not create {}", log_folder.display())
    })?;
    println!("server logs in {}", log_folder.display());
    if let Some(crowd) = settings.retire_crowd {
        return attacks::retire(settings, &log_folder, crowd);
    }
    if let Some(crowd) = settings.newcomer_crowd {
        return attacks::newcomer(settings, &log_folder, crowd);
    }
    println!(
        "load: {} exchanges per run, 36-byte request, loopback",
        settings.exchanges
    );
    let lineup = servers::prepare(&settings.servers, settings)?;
    if settings.silent_counts.is_empty() && settings.stall_counts.is_empty() {
        speed::compare(&lineup, settings, &log_folder)
    } else {
        attacks::slow_clients(&lineup, settings, &log_folder)
    }
}
