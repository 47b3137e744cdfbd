//! Exercise answer: a UDP client that `connect()`s, and
//! so hears "port unreachable".
//!
//! When nothing listens at a UDP port, the system there
//! answers with an ICMP "port unreachable" message. An
//! unconnected socket, as in `udp-client`, is not told,
//! so the client waits out its timeout. A connected
//! socket is: its next `recv` fails at once, with
//! "connection refused" on Linux and macOS, "connection
//! reset" on Windows.
//!
//! Try it with nothing listening:
//!
//!     cargo run -p udp-client --example connected \
//!         -- 127.0.0.1 9999
//!
//! then start a peer in another terminal, and try again:
//!
//!     cargo run -p udp-client --example echo-server

use std::io;
use std::net::UdpSocket;
use std::process::ExitCode;

use anyhow::Context as _;
use common::cli::Program;
use common::{PythonBytes, say};
use socket2::{Domain, Socket, Type};

/// Python: `client.recv(4096)` takes at most this many
/// bytes.
const RECV_BUFFER_SIZE: usize = 4096;

/// The `help:` line under "nothing is listening", as
/// udp-client prints it.
const START_A_PEER: &str = "start one with \
    `cargo run -p udp-client --example echo-server`";

const PROGRAM: Program = Program {
    name: "connected",
    about: "Like udp-client, but connect()s its UDP \
            socket first, and so learns\nat once when \
            nothing listens at HOST:PORT.",
    host: "HOST",
    default_host: "127.0.0.1",
    default_port: 80,
    default_wait: 3,
    wait_help: "wait SECS for a reply; 0 waits forever",
    listens: false,
    max_clients: None,
    example: "cargo run -p udp-client --example \
              echo-server\n\
              cargo run -p udp-client --example \
              connected -- 127.0.0.1 9999",
};

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = PROGRAM.parse();
    let target_host = arguments.host.as_str();
    let wait = arguments.wait;
    let address =
        common::lookup(target_host, arguments.port)?[0];

    // socket.socket(AF_INET, SOCK_DGRAM)
    let domain = Domain::for_address(address);
    let client =
        Socket::new(domain, Type::DGRAM, None)
            .context("could not create a UDP socket")?;
    common::options::set_timeouts(&client, wait)?;
    let client = UdpSocket::from(client);

    // client.connect((host, port)). For UDP this sends
    // nothing: the system only records the peer. Then
    // `send` goes there, `recv` takes datagrams from
    // there only, and errors about that peer reach us.
    client.connect(address).with_context(|| {
        format!("could not connect to {address}")
    })?;
    client.send(b"AAABBBCCC").with_context(|| {
        format!("could not send to {address}")
    })?;

    let mut data = [0u8; RECV_BUFFER_SIZE];
    let bytes_received = match client.recv(&mut data) {
        Ok(bytes_received) => bytes_received,
        Err(error) if is_port_unreachable(&error) => {
            let error = anyhow::anyhow!(
                "nothing is listening at {address}"
            );
            return Err(common::hint(
                error,
                START_A_PEER,
            ));
        }
        Err(error) if common::is_timeout(&error) => {
            anyhow::bail!(
                "no reply from {address} in time"
            )
        }
        Err(error) => Err(error).with_context(|| {
            format!("could not receive from {address}")
        })?,
    };
    drop(client); // client.close()

    say!("{}", PythonBytes(&data[..bytes_received]));
    Ok(())
}

/// Whether a connected socket's error is an ICMP "port
/// unreachable": a refusal on Linux and macOS, a reset
/// on Windows.
fn is_port_unreachable(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
    )
}
