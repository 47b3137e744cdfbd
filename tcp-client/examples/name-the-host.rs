//! Exercise answer: send a `Host` header that names the host
//! you talk to, instead of google.com.
//!
//! `tcp-client` sends the course's request, which always says
//! `Host: google.com`, whoever it talks to. A web server uses
//! that header to pick which of its sites to serve. This
//! client builds the request from the HOST you type, and
//! otherwise does what `tcp-client` does: one `read`.
//!
//! Start the server in one terminal:
//!
//!     cargo run -p tcp-server
//!
//! then, in another:
//!
//!     cargo run -p tcp-client --example name-the-host -- 127.0.0.1 9999
//!
//! The server prints the request, with `Host: 127.0.0.1`. Over
//! IPv6, start it with `-- ::1 9999` and the client with
//! `-- ::1 9999`: the header then says `Host: [::1]`.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::ExitCode;

use anyhow::Context as _;
use common::{PythonBytes, say};

/// Python: `client.recv(4096)` takes at most this many bytes.
const RECV_BUFFER_SIZE: usize = 4096;

const PROGRAM: common::cli::Program =
    common::cli::Program {
        name: "name-the-host",
        about: "Like tcp-client, but its GET request says Host: HOST, naming the\n\
            host it talks to, rather than Host: google.com.",
        host: "HOST",
        default_host: "www.google.com",
        default_port: 80,
        default_wait: 5,
        wait_help: "give up after SECS seconds; 0 waits forever",
        listens: false,
        max_clients: None,
        example: "cargo run -p tcp-server\n\
              cargo run -p tcp-client --example name-the-host -- 127.0.0.1 9999",
    };

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = PROGRAM.parse();
    let target_host = arguments.host.as_str();

    // Python: f"GET / HTTP/1.1\r\nHost: {target_host}\r\n\r\n".
    // An IPv6 literal goes in brackets, `Host: [::1]`, as in a
    // URL, so that its colons cannot be taken for a port; only
    // an IPv6 literal contains a colon. (HTTP also allows the
    // port after the host, `Host: 127.0.0.1:9999`; like the
    // course, we leave it out.)
    let host_header = if target_host.contains(':') {
        format!("[{target_host}]")
    } else {
        target_host.to_string()
    };
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {host_header}\r\n\r\n"
    );

    // The first address of the name, IPv4 first as in Python.
    let address =
        common::lookup(target_host, arguments.port)?[0];
    let mut client = match arguments.wait {
        Some(limit) => {
            TcpStream::connect_timeout(&address, limit)
        }
        None => TcpStream::connect(address),
    }
    .with_context(|| {
        format!("could not connect to {address}")
    })?;
    client.set_read_timeout(arguments.wait)?;
    client.set_write_timeout(arguments.wait)?;

    // `write_all` is Python's `sendall`; a `String` is sent as
    // its UTF-8 bytes, like Python's `request.encode()`.
    client.write_all(request.as_bytes()).with_context(
        || format!("could not send to {address}"),
    )?;

    // One read, as in tcp-client: what has arrived so far.
    let mut response = [0u8; RECV_BUFFER_SIZE];
    let bytes_read = client
        .read(&mut response)
        .with_context(|| {
            format!(
                "could not read the reply from {address}"
            )
        })?;
    drop(client); // Dropping the stream closes the socket.

    say!("{}", PythonBytes(&response[..bytes_read]));
    Ok(())
}
