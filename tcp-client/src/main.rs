//! TCP client: the Rust twin of `docs/python/tcp_client.py`.
//!
//! Start the server in one terminal:
//!
//!     cargo run -p tcp-server
//!
//! then, in another:
//!
//!     cargo run -p tcp-client -- 127.0.0.1 9999
//!
//! With no arguments it asks `www.google.com` port 80 for its home page, as
//! the course's script does, and that needs the internet.

mod help;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::ExitCode;

use anyhow::Context as _;
use common::{PythonBytes, say};
use socket2::{Domain, Socket, Type};

/// Python: `client.recv(4096)` asks for at most this many bytes.
const RECV_BUFFER_SIZE: usize = 4096;

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = help::PROGRAM.parse();
    let (target_host, target_port) = (arguments.host.as_str(), arguments.port);
    let target = format!("{target_host} port {target_port}");
    let addresses = common::lookup(target_host, target_port)
        .map_err(|error| help::lookup_failed(error, target_host))?;

    // A name may have several addresses; like `socket.create_connection`,
    // try each in turn until one accepts. Python's socket waits forever
    // unless you call settimeout(); we give up after `-w` seconds.
    let mut connected = None;
    let mut failures = Vec::new();
    for address in addresses {
        // create a socket object: socket.socket(AF_INET, SOCK_STREAM)
        let socket =
            Socket::new(Domain::for_address(address), Type::STREAM, None)
                .context("could not create a TCP socket")?;
        common::options::set_timeouts(&socket, arguments.wait)?;
        // connect the client: client.connect((target_host, target_port))
        let attempt = match arguments.wait {
            Some(wait) => socket.connect_timeout(&address.into(), wait),
            None => socket.connect(&address.into()),
        };
        match attempt {
            Ok(()) => {
                connected = Some(TcpStream::from(socket));
                break;
            }
            Err(error) => failures.push((address, error)),
        }
    }
    let mut client =
        connected.ok_or_else(|| help::connect_failed(&target, &failures))?;

    // send some data. `write_all` is Python's `sendall`: it loops until
    // every byte is handed to the kernel, where `send` may send only part.
    let request = http_request(target_host);
    client
        .write_all(request.as_bytes())
        .with_context(|| format!("could not send the request to {target}"))?;

    // receive data. One `read` returns what has arrived so far, up to 4096
    // bytes: TCP carries a stream of bytes, not messages. So we keep the
    // count and use only that much of the buffer.
    let mut response = [0u8; RECV_BUFFER_SIZE];
    let bytes_read = client
        .read(&mut response)
        .map_err(|error| help::read_failed(error, &target))?;

    // client.close(): dropping the stream closes the socket.
    drop(client);

    say!("{}", PythonBytes(&response[..bytes_read]));
    Ok(())
}

/// The script's request: its exact bytes for its own target, else a request
/// that names the host we talk to (an IPv6 literal in brackets: `[::1]`).
fn http_request(target_host: &str) -> String {
    let host_header = match target_host {
        "www.google.com" => "google.com".to_string(),
        ipv6 if ipv6.contains(':') => format!("[{ipv6}]"),
        name => name.to_string(),
    };
    format!("GET / HTTP/1.1\r\nHost: {host_header}\r\n\r\n")
}
