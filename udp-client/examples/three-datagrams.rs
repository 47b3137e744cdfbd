//! Exercise answer: send three datagrams, and read the
//! replies until the peer goes quiet.
//!
//! UDP keeps the edges of messages: each `recv_from`
//! returns exactly one datagram, never two run together
//! and never half of one. (TCP carries a stream of bytes
//! instead: three `send`s may arrive in one `recv`, or in
//! five.) So the three echoes print on three lines. UDP
//! has no end of stream either, so we stop when nothing
//! has come for `-w` seconds.
//!
//! Start a UDP echo peer in one terminal:
//!
//!     cargo run -p udp-client --example echo-server
//!
//! then, in another:
//!
//!     cargo run -p udp-client \
//!         --example three-datagrams -- 127.0.0.1 9999

use std::net::UdpSocket;
use std::process::ExitCode;

use anyhow::Context as _;
use common::cli::Program;
use common::{PythonBytes, say};
use socket2::{Domain, Socket, Type};

/// Python: `client.recvfrom(4096)`. A longer datagram is
/// cut short, and the rest of it is lost: it does not
/// wait for the next call, as the rest of a TCP stream
/// would.
const RECV_BUFFER_SIZE: usize = 4096;

const PROGRAM: Program = Program {
    name: "three-datagrams",
    about: "Sends the datagrams one, two and three \
            to HOST:PORT over UDP, then\nprints each \
            datagram that comes back, until none comes \
            for SECS.",
    host: "HOST",
    default_host: "127.0.0.1",
    default_port: 80,
    default_wait: 1,
    wait_help: "stop after SECS with no reply \
                (e.g. 0.5); 0: never",
    listens: false,
    max_clients: None,
    example: "cargo run -p udp-client --example \
              echo-server\n\
              cargo run -p udp-client --example \
              three-datagrams -- 127.0.0.1 9999",
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

    // socket.socket(AF_INET, SOCK_DGRAM), and each recv
    // gives up after -w SECS.
    let domain = Domain::for_address(address);
    let client =
        Socket::new(domain, Type::DGRAM, None)
            .context("could not create a UDP socket")?;
    common::options::set_timeouts(&client, wait)?;
    let client = UdpSocket::from(client);

    // Three calls, three datagrams. The type says that
    // all three are byte slices, though their lengths
    // differ (b"one" alone would be a &[u8; 3]).
    let messages: [&[u8]; 3] = [b"one", b"two", b"three"];
    for message in messages {
        client.send_to(message, address).with_context(
            || format!("could not send to {address}"),
        )?;
    }

    // One datagram per call, until the peer goes quiet
    // and `recv_from` times out. We do not check who sent
    // each datagram; udp-client shows how.
    let receive_failed =
        format!("could not receive from {address}");
    let mut data = [0u8; RECV_BUFFER_SIZE];
    let mut datagrams_received = 0;
    loop {
        let (length, _sender) = match client
            .recv_from(&mut data)
        {
            Ok(received) => received,
            // Nothing for -w SECS: the peer is done.
            Err(error) if common::is_timeout(&error) => {
                break;
            }
            Err(error) => {
                return Err(error)
                    .context(receive_failed);
            }
        };
        say!("{}", PythonBytes(&data[..length]));
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
