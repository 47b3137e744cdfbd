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

mod help;

use std::net::UdpSocket;
use std::process::ExitCode;

use anyhow::Context as _;
use common::{PythonBytes, say};
use socket2::{Domain, Socket, Type};

/// Python: `client.recvfrom(4096)` takes at most this many bytes.
const RECV_BUFFER_SIZE: usize = 4096;

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = help::PROGRAM.parse();
    // UDP has no connection to try each address with, so we send to the
    // first: an IPv4 one if the name has any, as with Python's AF_INET.
    let target_address =
        common::lookup(&arguments.host, arguments.port)?[0];

    // create a socket object: socket.socket(AF_INET, SOCK_DGRAM)
    let domain = Domain::for_address(target_address);
    let client = Socket::new(domain, Type::DGRAM, None)
        .context("could not create a UDP socket")?;
    // Python's recvfrom waits forever; we give up after `-w` seconds.
    common::options::set_timeouts(&client, arguments.wait)?;
    let client = UdpSocket::from(client);

    // send some data. There is no connection: each `send_to` names its
    // destination, sends one whole datagram, and on the first call the
    // system picks a free local port for us, as Python's sendto does.
    client
        .send_to(b"AAABBBCCC", target_address)
        .with_context(|| {
            format!("could not send to {target_address}")
        })?;

    // receive some data: one datagram, and the address it came from.
    let mut data = [0u8; RECV_BUFFER_SIZE];
    let (bytes_received, sender_address) =
        client.recv_from(&mut data).map_err(|error| {
            help::receive_failed(error, target_address)
        })?;

    // client.close(): dropping the socket closes it.
    drop(client);

    say!("{}", PythonBytes(&data[..bytes_received]));
    // Anyone can send us a datagram. Python prints it without a word; we
    // say so when it did not come from where we sent ours.
    help::note_if_from_elsewhere(
        sender_address,
        target_address,
    );
    Ok(())
}
