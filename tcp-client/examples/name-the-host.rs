//! Exercise answer: send a `Host` header that names the
//! host you talk to, instead of google.com.
//!
//! `tcp-client` sends the course's request, which says
//! `Host: google.com` whoever it talks to. A web server
//! reads that header to pick which of its sites to serve.
//! This client builds its request from the HOST you type,
//! and otherwise does what `tcp-client` does: one `read`.
//!
//! Start the server in one terminal:
//!
//!     cargo run -p tcp-server
//!
//! then, in another:
//!
//!     cargo run -p tcp-client --example name-the-host \
//!         -- 127.0.0.1 9999
//!
//! The server prints the request, with `Host: 127.0.0.1`.
//! Start both with `-- ::1 9999` instead, and it says
//! `Host: [::1]`.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::ExitCode;

use anyhow::Context as _;
use common::cli::Program;
use common::{PythonBytes, say};

/// Python: `client.recv(4096)` takes at most this many
/// bytes.
const RECV_BUFFER_SIZE: usize = 4096;

const PROGRAM: Program = Program {
    name: "name-the-host",
    about: "Like tcp-client, but its GET request says \
            Host: HOST, naming the\nhost it talks to, \
            rather than Host: google.com.",
    host: "HOST",
    default_host: "www.google.com",
    default_port: 80,
    default_wait: 5,
    wait_help: "give up after SECS seconds; \
                0 waits forever",
    listens: false,
    max_clients: None,
    example: "cargo run -p tcp-server\n\
              cargo run -p tcp-client --example \
              name-the-host -- 127.0.0.1 9999",
};

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = PROGRAM.parse();
    let target_host = arguments.host.as_str();
    let wait = arguments.wait;

    // An IPv6 literal goes in brackets, `Host: [::1]`, as
    // in a URL, so that its colons cannot be taken for a
    // port. Only an IPv6 literal contains a colon. (HTTP
    // also lets you add the port, `Host: 127.0.0.1:9999`;
    // like the course, we leave it out.)
    let host_header = if target_host.contains(':') {
        format!("[{target_host}]")
    } else {
        target_host.to_string()
    };
    // Python: f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n"
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {host_header}\r\n\r\n"
    );

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
    client.set_read_timeout(wait)?;
    client.set_write_timeout(wait)?;

    // `write_all` is Python's `sendall`. A `String` goes
    // out as its UTF-8 bytes, like Python's `.encode()`.
    client.write_all(request.as_bytes()).with_context(
        || format!("could not send to {address}"),
    )?;

    // One read, as in tcp-client: what arrived so far.
    let mut response = [0u8; RECV_BUFFER_SIZE];
    let bytes_read =
        client.read(&mut response).with_context(
            || format!("could not read from {address}"),
        )?;
    drop(client); // Dropping the stream closes it.

    say!("{}", PythonBytes(&response[..bytes_read]));
    Ok(())
}
