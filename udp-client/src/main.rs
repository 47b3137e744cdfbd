//! UDP client: the Rust twin of `docs/python/udp_client.py`.
//!
//! Start a UDP echo peer in one terminal:
//!
//!     cargo run -p udp-client --example echo-server
//!
//! then, in another:
//!
//!     cargo run -p udp-client -- 127.0.0.1 9999
//!
//! With no arguments it sends to 127.0.0.1 port 80, as the course's script
//! does. Usually nothing answers there, and UDP cannot tell, so the client
//! gives up after a few seconds and says so.

use std::io::{self, Write as _};
use std::process::ExitCode;

use anyhow::Context as _;
use common::PythonBytes;
use common::cli::{CommandLine, Flag, FlagKind};

/// Python: `client.recvfrom(4096)` takes at most this many bytes.
const RECV_BUFFER_SIZE: usize = 4096;

const COMMAND_LINE: CommandLine = CommandLine {
    program: "udp-client",
    version: env!("CARGO_PKG_VERSION"),
    about: "Sends the datagram AAABBBCCC to HOST:PORT over UDP and prints \
            the first datagram that comes back, as Python's print(bytes) \
            would.\nThe Rust twin of docs/python/udp_client.py.",
    host_name: "HOST",
    host_help: "name or IP address of the peer",
    default_host: "127.0.0.1",
    default_port: 80,
    port_zero_means_any: false,
    flags: &[Flag {
        name: "-w",
        kind: FlagKind::Seconds { default: 3.0 },
        help: "wait this long for a reply; 0 waits forever, as the Python \
               script does",
    }],
    example: "cargo run -p udp-client --example echo-server\n\
              cargo run -p udp-client -- 127.0.0.1 9999",
};

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = COMMAND_LINE.parse();
    let target_host = arguments.host.as_str();
    let target_port = arguments.port;
    let timeout = arguments.timeout("-w");

    // Python's sendto looks the name up itself. UDP has no connection to try
    // addresses with, so we send to the first address the name has.
    let target_address = common::net::resolve(target_host, target_port)?[0];

    // Create a socket object. std has no unbound UdpSocket, so we bind to any
    // local address and port 0; Python's first `sendto` does the same silently.
    let local_address = common::net::wildcard_address_for(target_address);
    let client = common::net::bind_udp(local_address).with_context(|| {
        format!("could not create a UDP socket to reach {target_address}")
    })?;
    client
        .set_read_timeout(timeout)
        .context("could not set the reply timeout")?;

    // Send some data. Like the script, we do not `connect` the socket: each
    // `send_to` names its destination. One call sends one whole datagram.
    client
        .send_to(b"AAABBBCCC", target_address)
        .with_context(|| format!("could not send to {target_address}"))?;

    // Receive some data. `recv_from` returns one datagram and who sent it,
    // like Python's `data, addr = client.recvfrom(4096)`.
    let mut data = [0u8; RECV_BUFFER_SIZE];
    let (bytes_received, _sender_address) = client
        .recv_from(&mut data)
        .map_err(|error| receive_error(error, target_address))?;

    // Dropping the socket closes it, as `client.close()` does in Python.
    drop(client);

    writeln!(io::stdout(), "{}", PythonBytes(&data[..bytes_received]))
        .context("could not write the reply to standard output")?;
    Ok(())
}

fn receive_error(
    error: io::Error,
    target_address: std::net::SocketAddr,
) -> anyhow::Error {
    match error.kind() {
        // A receive timeout is WouldBlock on Unix and TimedOut on Windows.
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => anyhow::anyhow!(
            "no reply from {target_address} in time; UDP does not report a \
             peer that is not listening, so silence is all we get; start \
             one with `cargo run -p udp-client --example echo-server` and \
             send to its port 9999, or wait longer with -w SECS"
        ),
        // Some systems pass on an ICMP "port unreachable" as a refused receive.
        io::ErrorKind::ConnectionRefused => anyhow::anyhow!(
            "{target_address} refused the datagram: nothing is listening \
             there; start a peer with \
             `cargo run -p udp-client --example echo-server`"
        ),
        _ => anyhow::Error::new(error).context(format!(
            "could not receive a reply from {target_address}"
        )),
    }
}
