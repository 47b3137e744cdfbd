//! Exercise answer: a client that reads until the server
//! closes, so it gets the whole page.
//!
//! `tcp-client` reads once, like the script's `recv(4096)`,
//! and prints what had arrived by then: often only the start
//! of a page. This client calls `read` again and again until
//! it returns 0, which means the server has closed its side:
//! the end of the stream. Then it prints everything at once.
//!
//! Serve the current folder over HTTP in one terminal:
//!
//!     python3 -m http.server 8000 --bind 127.0.0.1
//!
//! then, in another:
//!
//!     cargo run -p tcp-client --example read-to-end -- 127.0.0.1 8000

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::ExitCode;

use anyhow::Context as _;
use common::{PythonBytes, say};

/// HTTP/1.0, not the course's HTTP/1.1. An HTTP/1.1 server
/// keeps the connection open for a next request, so the end
/// of the stream would not come until the server gives up on
/// us. An HTTP/1.0 server closes the connection after one
/// page, and that close is how we know the page is complete.
const REQUEST: &[u8] = b"GET / HTTP/1.0\r\n\r\n";

/// One `read` takes at most this many bytes; we read as many
/// times as it takes.
const RECV_BUFFER_SIZE: usize = 4096;

const PROGRAM: common::cli::Program =
    common::cli::Program {
        name: "read-to-end",
        about: "Connects to HOST:PORT over TCP, sends an HTTP/1.0 GET request and\n\
            prints the whole reply, read until the server closes.",
        host: "HOST",
        default_host: "www.google.com",
        default_port: 80,
        default_wait: 5,
        wait_help: "give up after SECS of silence; 0 waits forever",
        listens: false,
        max_clients: None,
        example: "python3 -m http.server 8000 --bind 127.0.0.1\n\
              cargo run -p tcp-client --example read-to-end -- 127.0.0.1 8000",
    };

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = PROGRAM.parse();
    // The first address of the name, IPv4 first as in Python.
    let address =
        common::lookup(&arguments.host, arguments.port)?
            [0];
    let mut client = match arguments.wait {
        Some(limit) => {
            TcpStream::connect_timeout(&address, limit)
        }
        None => TcpStream::connect(address),
    }
    .with_context(|| {
        format!("could not connect to {address}")
    })?;
    // Each read and write gives up after -w SECS.
    client.set_read_timeout(arguments.wait)?;
    client.set_write_timeout(arguments.wait)?;

    // `write_all` is Python's `sendall`.
    client.write_all(REQUEST).with_context(|| {
        format!("could not send to {address}")
    })?;

    // Python: `while chunk := client.recv(4096): page += chunk`.
    // Each read returns what has arrived so far; 0 bytes means
    // the server has closed, and nothing more will come.
    // (std's `read_to_end` runs this same loop for you.)
    let mut page = Vec::new();
    let mut chunk = [0u8; RECV_BUFFER_SIZE];
    loop {
        let bytes_read = match client.read(&mut chunk) {
            Ok(bytes_read) => bytes_read,
            // No byte for -w SECS, and no close either.
            Err(error) if common::is_timeout(&error) => {
                return Err(common::hint(
                    anyhow::anyhow!("{address} stopped sending but did not close"),
                    "this client prints the reply once the server closes; \
                     wait longer with -w SECS, or -w 0 to wait forever",
                ));
            }
            Err(error) => Err(error).with_context(|| {
                format!("could not read the reply from {address}")
            })?,
        };
        if bytes_read == 0 {
            break;
        }
        page.extend_from_slice(&chunk[..bytes_read]);
    }
    drop(client); // Dropping the stream closes the socket.

    say!("{}", PythonBytes(&page));
    Ok(())
}
