//! Exercise answer: a UDP client that `connect()`s, and so
//! hears "port unreachable".
//!
//! `udp-client` sends with `send_to`. When nothing listens at
//! the target, the target's system answers with an ICMP "port
//! unreachable" message, but an unconnected socket is not told,
//! so the client waits out its timeout. After `connect`, the
//! system passes that message on: the next `recv` fails at once
//! with "connection refused" (Linux, macOS) or "connection
//! reset" (Windows).
//!
//! Try it with nothing listening:
//!
//!     cargo run -p udp-client --example connected -- 127.0.0.1 9999
//!
//! then start a peer in another terminal, and run it again:
//!
//!     cargo run -p udp-client --example echo-server

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::process::ExitCode;

use anyhow::Context as _;
use common::{PythonBytes, say};
use socket2::{Domain, Socket, Type};

/// Python: `client.recv(4096)` takes at most this many bytes.
const RECV_BUFFER_SIZE: usize = 4096;

const PROGRAM: common::cli::Program =
    common::cli::Program {
        name: "connected",
        about: "Like udp-client, but connect()s its UDP socket first, and so learns\n\
            at once when nothing listens at HOST:PORT.",
        host: "HOST",
        default_host: "127.0.0.1",
        default_port: 80,
        default_wait: 3,
        wait_help: "wait SECS for a reply; 0 waits forever",
        listens: false,
        max_clients: None,
        example: "cargo run -p udp-client --example echo-server\n\
              cargo run -p udp-client --example connected -- 127.0.0.1 9999",
    };

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = PROGRAM.parse();
    let target_address =
        common::lookup(&arguments.host, arguments.port)?
            [0];

    // socket.socket(AF_INET, SOCK_DGRAM)
    let domain = Domain::for_address(target_address);
    let client =
        Socket::new(domain, Type::DGRAM, None)
            .context("could not create a UDP socket")?;
    common::options::set_timeouts(
        &client,
        arguments.wait,
    )?;
    let client = UdpSocket::from(client);

    // client.connect((host, port)). For UDP this sends nothing:
    // the system only records the peer. From now on `send`
    // goes there, `recv` takes datagrams from there only, and
    // errors about that peer are reported to us.
    client.connect(target_address).with_context(
        || {
            format!(
                "could not connect to {target_address}"
            )
        },
    )?;
    client.send(b"AAABBBCCC").with_context(|| {
        format!("could not send to {target_address}")
    })?;

    let mut data = [0u8; RECV_BUFFER_SIZE];
    let bytes_received = match client.recv(&mut data) {
        Ok(bytes_received) => bytes_received,
        // The ICMP "port unreachable", reported on a connected
        // socket: Linux and macOS call it a refusal, Windows a
        // reset.
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
            ) =>
        {
            return Err(common::hint(
                anyhow::anyhow!(
                    "nothing is listening at {target_address}"
                ),
                "start a peer with `cargo run -p udp-client \
                 --example echo-server`, then send to its port 9999",
            ));
        }
        Err(error) if common::is_timeout(&error) => {
            anyhow::bail!(
                "no reply from {target_address} in time"
            )
        }
        Err(error) => Err(error).with_context(|| {
            format!(
                "could not receive from {target_address}"
            )
        })?,
    };
    drop(client); // client.close()

    say!("{}", PythonBytes(&data[..bytes_received]));
    Ok(())
}
