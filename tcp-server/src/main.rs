//! TCP server: the Rust twin of `docs/python/tcp_server.py`.
//!
//! Start it in one terminal:
//!
//!     cargo run -p tcp-server
//!
//! then, in another:
//!
//!     cargo run -p tcp-client -- 127.0.0.1 9999
//!
//! Like the script, it accepts connections in a loop and hands each one to
//! another thread, which reads the request once, prints it, answers `ACK!`
//! and closes. Unlike the script, the threads are a fixed crew that is
//! reused (see `workers.rs`), and every read and write has a time limit, so
//! no client, however slow or rude, can stop or exhaust the server.

mod workers;

use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use common::PythonBytes;
use common::cli::{CommandLine, Flag, FlagKind};

/// Python: `client_socket.recv(1024)` reads at most this many bytes.
const RECV_BUFFER_SIZE: usize = 1024;

/// How many finished handshakes the kernel may queue before `accept` takes
/// them. The script's `listen(5)` is too few for more than a handful of
/// clients at once: the kernel then drops new handshakes, and each client
/// waits a second or more before trying again.
const LISTEN_BACKLOG: i32 = 1024;

/// The reply the script sends to every client.
const ACK: &[u8] = b"ACK!";

/// After answering, read and discard at most this much of what a client
/// still sends, and for at most this long, so that closing does not reset
/// the connection (see `close_gracefully`).
const DRAIN_BYTE_LIMIT: usize = 64 * 1024;
const DRAIN_TIME_LIMIT: Duration = Duration::from_secs(1);

/// When `accept` fails (for example, out of file descriptors), wait this
/// long before trying again, doubling up to the maximum, instead of spinning.
const FIRST_ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(10);
const MAX_ACCEPT_RETRY_DELAY: Duration = Duration::from_secs(1);

const COMMAND_LINE: CommandLine = CommandLine {
    program: "tcp-server",
    version: env!("CARGO_PKG_VERSION"),
    about: "Listens on BIND_IP:PORT over TCP. For each client it prints the \
            request, answers ACK! and closes.\n\
            The Rust twin of docs/python/tcp_server.py.",
    host_name: "BIND_IP",
    host_help: "address to listen on; 0.0.0.0 means every IPv4 interface",
    default_host: "0.0.0.0",
    default_port: 9999,
    port_zero_means_any: true,
    flags: &[
        Flag {
            name: "-w",
            kind: FlagKind::Seconds { default: 5.0 },
            help: "drop a client that sends or reads nothing for SECS \
                   seconds; 0 waits forever",
        },
        Flag {
            name: "--max-clients",
            kind: FlagKind::Count { default: 256 },
            help: "serve at most N clients at once, one thread each; at \
                   most N more wait in a queue, and the kernel's listen \
                   backlog (1024) holds any beyond that",
        },
    ],
    example: "cargo run -p tcp-server\n\
              cargo run -p tcp-client -- 127.0.0.1 9999",
};

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = COMMAND_LINE.parse();
    let bind_address =
        common::net::resolve(&arguments.host, arguments.port)?[0];
    let client_timeout = arguments.timeout("-w");
    let max_clients = arguments.count("--max-clients");

    // Create the socket, bind it and listen: Python's `socket()`, `bind()`
    // and `listen(5)`, with a larger backlog and SO_REUSEADDR (see common).
    let server = common::net::listen_tcp(bind_address, LISTEN_BACKLOG)
        .with_context(|| format!("could not listen on {bind_address}"))?;
    // Print the address really bound. The script prints the port it asked
    // for; with port 0 only the bound address tells which port we got.
    let listening_address = server
        .local_addr()
        .context("could not read the address the server is bound to")?;
    say(format_args!("[*] Listening on {listening_address}"));

    // The script starts a new thread for every client, without limit. We
    // keep a crew of at most `max_clients` threads and reuse them.
    let mut workers =
        workers::Workers::new(max_clients, move |(client_socket, address)| {
            handle_client(client_socket, address, client_timeout);
        });

    let mut accept_retry_delay = FIRST_ACCEPT_RETRY_DELAY;
    loop {
        match server.accept() {
            Ok((client, address)) => {
                accept_retry_delay = FIRST_ACCEPT_RETRY_DELAY;
                say(format_args!("[*] Accepted connection from: {address}"));
                // Spin up our client thread: hand the connection to a worker.
                workers.hand_off((client, address));
            }
            // `accept` fails when the process runs out of file descriptors,
            // and on some systems when a client gave up before being
            // accepted. Neither should end the server, and retrying at once
            // would only spin, so wait a little longer after each failure.
            Err(error) => {
                say(format_args!(
                    "[!] Could not accept a connection: {error}; \
                     retrying in {accept_retry_delay:?}"
                ));
                thread::sleep(accept_retry_delay);
                accept_retry_delay =
                    (accept_retry_delay * 2).min(MAX_ACCEPT_RETRY_DELAY);
            }
        }
    }
}

/// This is our client handling thread: the twin of the script's
/// `handle_client`. Any trouble with this one client ends up as one line
/// that names it, and never reaches the accept loop. The address comes from
/// `accept`, because after a reset the socket may no longer know it.
fn handle_client(
    client_socket: TcpStream,
    address: SocketAddr,
    timeout: Option<Duration>,
) {
    if let Err(error) = serve_client(client_socket, timeout) {
        say(format_args!("[!] {address}: {error:#}"));
    }
}

fn serve_client(
    mut client_socket: TcpStream,
    timeout: Option<Duration>,
) -> anyhow::Result<()> {
    // Python's sockets wait forever by default, so one silent client would
    // hold its thread forever. Every read and write here gives up in time.
    client_socket
        .set_read_timeout(timeout)
        .context("could not set the read timeout")?;
    client_socket
        .set_write_timeout(timeout)
        .context("could not set the write timeout")?;

    // Just print out what the client sends. One `read` returns whatever has
    // arrived, up to 1024 bytes; a longer request is cut, as in the script.
    let mut request = [0u8; RECV_BUFFER_SIZE];
    let bytes_read = client_socket
        .read(&mut request)
        .map_err(|error| explain(error, "could not read the request"))?;
    say(format_args!(
        "[*] Received: {}",
        PythonBytes(&request[..bytes_read])
    ));

    // Send back a packet. `write_all` is Python's `sendall`.
    client_socket
        .write_all(ACK)
        .map_err(|error| explain(error, "could not send ACK!"))?;

    // Python prints the tuple ('127.0.0.1', 54321); Rust's SocketAddr
    // prints 127.0.0.1:54321.
    let peer_address = client_socket
        .peer_addr()
        .context("could not read the client's address")?;
    say(format_args!("{peer_address}"));

    close_gracefully(client_socket, bytes_read == RECV_BUFFER_SIZE);
    Ok(())
}

/// Closes the connection so that the client sees `ACK!` and then a clean
/// end of stream, even when it sent more than we read.
///
/// Python's `close()` (and dropping a `TcpStream`) while unread bytes wait in
/// the socket makes the kernel answer with a reset instead of a normal close,
/// and a reset can destroy `ACK!` before the client reads it.
///
/// A `read` that returned less than the buffer could hold took everything
/// that had arrived, so then we close at once, as the script does. A full
/// buffer means more may be waiting: we first say we are done sending
/// (`shutdown(SHUT_WR)` sends FIN), then read and discard the rest until the
/// client closes its side, bounded in bytes and in time.
fn close_gracefully(mut client_socket: TcpStream, more_may_be_waiting: bool) {
    if !more_may_be_waiting || client_socket.shutdown(Shutdown::Write).is_err()
    {
        return;
    }
    let deadline = Instant::now() + DRAIN_TIME_LIMIT;
    let mut discarded = [0u8; RECV_BUFFER_SIZE];
    let mut bytes_discarded = 0;
    while bytes_discarded <= DRAIN_BYTE_LIMIT {
        let time_left = deadline.saturating_duration_since(Instant::now());
        if time_left.is_zero()
            || client_socket.set_read_timeout(Some(time_left)).is_err()
        {
            break;
        }
        match client_socket.read(&mut discarded) {
            Ok(0) | Err(_) => break,
            Ok(count) => bytes_discarded += count,
        }
    }
} // The socket is closed here, when `client_socket` is dropped.

/// Names a timeout as such: std reports one as "Resource temporarily
/// unavailable" (WouldBlock) on Unix and as TimedOut on Windows.
fn explain(error: io::Error, what_failed: &str) -> anyhow::Error {
    match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            anyhow::anyhow!("{what_failed}: timed out")
        }
        _ => anyhow::Error::new(error).context(what_failed.to_string()),
    }
}

/// Prints one line of the server's log. If standard output is gone (say,
/// `tcp-server | head -1` after head exits), the server keeps serving, so
/// a failed write is ignored where `println!` would panic.
fn say(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stdout().lock(), "{line}");
}
