//! Exercise answer: send three datagrams, and read the replies
//! until the peer goes quiet.
//!
//! UDP keeps the edges of messages: each `recv_from` returns
//! exactly one datagram, never two run together and never half
//! of one. (TCP is a stream of bytes instead: three `send`s
//! may arrive in one `recv`, or in five.) So the three echoes
//! print on three lines. UDP has no end of stream either, so
//! we stop when nothing has come for `-w` seconds.
//!
//! Start a UDP echo peer in one terminal:
//!
//!     cargo run -p udp-client --example echo-server
//!
//! then, in another:
//!
//!     cargo run -p udp-client --example three-datagrams -- 127.0.0.1 9999

use std::net::UdpSocket;
use std::process::ExitCode;

use anyhow::Context as _;
use common::{PythonBytes, say};
use socket2::{Domain, Socket, Type};

/// Python: `client.recvfrom(4096)`. A datagram longer than this
/// is cut short, and the rest of it is lost: it does not wait
/// for the next call, as the rest of a TCP stream would.
const RECV_BUFFER_SIZE: usize = 4096;

const PROGRAM: common::cli::Program =
    common::cli::Program {
        name: "three-datagrams",
        about: "Sends the datagrams one, two and three to HOST:PORT over UDP, then\n\
            prints each datagram that comes back, until none comes for SECS.",
        host: "HOST",
        default_host: "127.0.0.1",
        default_port: 80,
        default_wait: 1,
        wait_help: "stop after SECS with no reply (e.g. 0.5); 0: never",
        listens: false,
        max_clients: None,
        example: "cargo run -p udp-client --example echo-server\n\
              cargo run -p udp-client --example three-datagrams -- 127.0.0.1 9999",
    };

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = PROGRAM.parse();
    let target_address =
        common::lookup(&arguments.host, arguments.port)?
            [0];

    // socket.socket(AF_INET, SOCK_DGRAM), with a timeout
    let domain = Domain::for_address(target_address);
    let client =
        Socket::new(domain, Type::DGRAM, None)
            .context("could not create a UDP socket")?;
    common::options::set_timeouts(
        &client,
        arguments.wait,
    )?;
    let client = UdpSocket::from(client);

    // Three calls, three datagrams.
    for message in [&b"one"[..], b"two", b"three"] {
        client
            .send_to(message, target_address)
            .with_context(|| {
                format!(
                    "could not send to {target_address}"
                )
            })?;
    }

    // One datagram per call, until the peer goes quiet. We do
    // not check who sent each one; udp-client shows how.
    let mut data = [0u8; RECV_BUFFER_SIZE];
    let mut datagrams_received = 0;
    loop {
        let bytes_received = match client.recv_from(&mut data) {
            Ok((bytes_received, _sender)) => bytes_received,
            Err(error) if common::is_timeout(&error) => break,
            Err(error) => Err(error).with_context(|| {
                format!("could not receive from {target_address}")
            })?,
        };
        say!("{}", PythonBytes(&data[..bytes_received]));
        datagrams_received += 1;
    }
    drop(client); // client.close()

    let noun = if datagrams_received == 1 {
        "datagram"
    } else {
        "datagrams"
    };
    say!("{datagrams_received} {noun} came back");
    Ok(())
}
