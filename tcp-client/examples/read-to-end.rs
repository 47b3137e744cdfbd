//! Exercise answer: a client that reads until the server
//! closes, so it gets the whole page.
//!
//! `tcp-client` reads once, like the script's
//! `recv(4096)`, and prints what had arrived by then:
//! often only the start of a page. This client calls
//! `read` again and again until it returns 0, which means
//! the server has closed its side: the end of the stream.
//! Then it prints everything at once.
//!
//! Serve the current folder over HTTP in one terminal:
//!
//!     python3 -m http.server 8000 --bind 127.0.0.1
//!
//! then, in another:
//!
//!     cargo run -p tcp-client --example read-to-end \
//!         -- 127.0.0.1 8000

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;

use anyhow::Context as _;
use common::cli::Program;
use common::{PythonBytes, say};

/// HTTP/1.0, not the course's HTTP/1.1. An HTTP/1.1
/// server keeps the connection open for a next request,
/// so the end of the stream would not come until the
/// server gives up on us. An HTTP/1.0 server closes the
/// connection after the page, and that close is how we
/// know that we have all of it.
const REQUEST: &[u8] = b"GET / HTTP/1.0\r\n\r\n";

/// One `read` takes at most this many bytes; we read as
/// many times as it takes.
const RECV_BUFFER_SIZE: usize = 4096;

const PROGRAM: Program = Program {
    name: "read-to-end",
    about: "Connects to HOST:PORT over TCP, sends an \
            HTTP/1.0 GET request and\nprints the whole \
            reply, read until the server closes.",
    host: "HOST",
    default_host: "www.google.com",
    default_port: 80,
    default_wait: 5,
    wait_help: "give up after SECS of silence; \
                0 waits forever",
    listens: false,
    max_clients: None,
    example: "python3 -m http.server 8000 \
              --bind 127.0.0.1\n\
              cargo run -p tcp-client --example \
              read-to-end -- 127.0.0.1 8000",
};

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = PROGRAM.parse();
    let target_host = arguments.host.as_str();
    let wait = arguments.wait;
    // The name's first address, IPv4 first as in Python.
    let address =
        common::lookup(target_host, arguments.port)?[0];
    let mut client = match wait {
        Some(limit) => {
            TcpStream::connect_timeout(&address, limit)
        }
        None => TcpStream::connect(address),
    }
    .with_context(|| {
        format!("could not connect to {address}")
    })?;
    // Each read and write gives up after -w SECS.
    client.set_read_timeout(wait)?;
    client.set_write_timeout(wait)?;

    // `write_all` is Python's `sendall`.
    client.write_all(REQUEST).with_context(|| {
        format!("could not send to {address}")
    })?;

    // Python: while chunk := client.recv(4096): ...
    // Each read returns what has arrived so far; 0 bytes
    // means the server has closed, and no more will come.
    // (std's `read_to_end` runs this same loop for you.)
    let mut page = Vec::new();
    let mut chunk = [0u8; RECV_BUFFER_SIZE];
    loop {
        let bytes_read =
            client.read(&mut chunk).map_err(|error| {
                read_failed(error, address)
            })?;
        if bytes_read == 0 {
            break;
        }
        page.extend_from_slice(&chunk[..bytes_read]);
    }
    drop(client); // Dropping the stream closes it.

    say!("{}", PythonBytes(&page));
    Ok(())
}

/// Explains a failed read. A timeout means the server
/// sent nothing for -w SECS, yet did not close: say so,
/// and what to do about it.
fn read_failed(
    error: io::Error,
    address: SocketAddr,
) -> anyhow::Error {
    if common::is_timeout(&error) {
        let quiet = anyhow::anyhow!(
            "{address} went quiet without closing"
        );
        common::hint(
            quiet,
            "the reply is printed once the server \
             closes; wait longer with -w SECS",
        )
    } else {
        anyhow::Error::new(error).context(format!(
            "could not read from {address}"
        ))
    }
}
