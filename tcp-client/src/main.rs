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

use std::io::{self, Read as _, Write as _};
use std::process::ExitCode;

use anyhow::Context as _;
use common::PythonBytes;
use common::cli::{CommandLine, Flag, FlagKind};

/// Python: `client.recv(4096)` asks for at most this many bytes.
const RECV_BUFFER_SIZE: usize = 4096;

const COMMAND_LINE: CommandLine = CommandLine {
    program: "tcp-client",
    version: env!("CARGO_PKG_VERSION"),
    about: "Connects to HOST:PORT over TCP, sends an HTTP GET request, and \
            prints the first reply as Python's print(bytes) would.\n\
            The Rust twin of docs/python/tcp_client.py.",
    host_name: "HOST",
    host_help: "name or IP address of the server",
    default_host: "www.google.com",
    default_port: 80,
    port_zero_means_any: false,
    flags: &[Flag {
        name: "-w",
        kind: FlagKind::Seconds { default: 5.0 },
        help: "give up connecting, sending or waiting for the reply after \
               SECS seconds; 0 waits forever",
    }],
    example: "cargo run -p tcp-server\n\
              cargo run -p tcp-client -- 127.0.0.1 9999",
};

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = COMMAND_LINE.parse();
    let target_host = arguments.host.as_str();
    let target_port = arguments.port;
    // Python's socket has no timeout unless you call settimeout(), so the
    // script can wait for minutes on a silent server. We wait a few seconds.
    let timeout = arguments.timeout("-w");

    // Create a socket object and connect the client. Python does both with
    // socket() and connect(); we look the name up first so that we can try
    // every address it has, IPv4 or IPv6, as nc and create_connection do.
    let target_addresses = common::net::resolve(target_host, target_port)
        .map_err(|error| lookup_error(error, target_host))?;
    let mut client = common::net::connect_tcp(&target_addresses, timeout)
        .map_err(|failure| connect_error(failure, target_host, target_port))?;

    // Send some data. `write_all` is Python's `sendall`: it loops until every
    // byte is handed to the kernel. The script's `send` may send only part.
    let request = http_request(target_host);
    client.write_all(&request).with_context(|| {
        format!(
            "could not send the request to {target_host} port {target_port}"
        )
    })?;

    // Receive data. One `read` returns what has arrived so far, up to 4096
    // bytes, which may be less than the server sent: TCP is a stream of bytes,
    // not of messages. So we keep the count and print only that much.
    let mut response = [0u8; RECV_BUFFER_SIZE];
    let bytes_read = client
        .read(&mut response)
        .map_err(|error| read_error(error, target_host, target_port))?;

    // Close the connection. Dropping the stream closes the socket; Python's
    // `client.close()` does this by hand.
    drop(client);

    // Print the bytes exactly as Python's `print(response)` shows them.
    writeln!(io::stdout(), "{}", PythonBytes(&response[..bytes_read]))
        .context("could not write the response to standard output")?;
    Ok(())
}

/// The script's request. For the script's own target it sends the script's
/// exact bytes, `Host: google.com`; otherwise it names the host it talks to.
fn http_request(target_host: &str) -> Vec<u8> {
    let host_header = if target_host == COMMAND_LINE.default_host {
        "google.com".to_string()
    } else if target_host.contains(':') {
        // An IPv6 literal goes in brackets, as in a URL: Host: [::1]
        format!("[{target_host}]")
    } else {
        target_host.to_string()
    };
    format!("GET / HTTP/1.1\r\nHost: {host_header}\r\n\r\n").into_bytes()
}

fn lookup_error(error: anyhow::Error, target_host: &str) -> anyhow::Error {
    if target_host == COMMAND_LINE.default_host {
        anyhow::anyhow!(
            "{error:#}; the default target needs the internet; to try the client on this \
             machine, start `cargo run -p tcp-server` and run \
             `cargo run -p tcp-client -- 127.0.0.1 9999`"
        )
    } else {
        error
    }
}

fn connect_error(
    failure: common::net::ConnectFailure,
    target_host: &str,
    target_port: u16,
) -> anyhow::Error {
    let hint = if failure.refused_on_loopback() {
        "; nothing is listening there: \
         start the server with `cargo run -p tcp-server`"
    } else {
        ""
    };
    anyhow::anyhow!(
        "could not connect to {target_host} port {target_port} \
         ({failure}){hint}"
    )
}

fn read_error(
    error: io::Error,
    target_host: &str,
    target_port: u16,
) -> anyhow::Error {
    // A read timeout shows up as WouldBlock on Unix and TimedOut on Windows.
    if matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) {
        anyhow::anyhow!(
            "no reply from {target_host} port {target_port} in time; wait longer with -w SECS"
        )
    } else {
        anyhow::Error::new(error).context(format!(
            "could not read the reply from {target_host} port {target_port}"
        ))
    }
}
