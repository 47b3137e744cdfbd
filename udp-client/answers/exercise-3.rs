//! Exercise 3: hear only your server.
//!
//! This is udp-client's `src/main.rs`, ready for you to change. It prints
//! the first datagram that comes, whoever sent it. Call `connect` on the
//! socket before sending, and send with `send`, which needs no address.
//! Then the system lets through only the server's datagrams, and tells
//! you at once when nothing listens there.
//!
//!     cargo test -p udp-client --test check       # what is still missing
//!     git restore udp-client/examples/exercise-3.rs     # start over
//!
//! Steps and an answer: docs/udp-client.md, "Exercises".

#[path = "../src/help.rs"]
mod help;

use std::net::UdpSocket;
use std::process::ExitCode;

use anyhow::Context as _;
use common::{PythonBytes, say};
use socket2::{Domain, Socket, Type};

/// Python: `client.recvfrom(4096)` takes at most this
/// many bytes.
const RECV_BUFFER_SIZE: usize = 4096;

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = help::PROGRAM.parse();
    let target_host = arguments.host.as_str();
    let target_port = arguments.port;
    let wait = arguments.wait;
    // Python's sendto() looks the name up by itself. UDP
    // has no connection to try each address with, so we
    // take the first: IPv4 if the name has it. (The
    // list is never empty: lookup fails instead.)
    let target_address =
        common::lookup(target_host, target_port)?[0];

    // create a socket object
    let domain = Domain::for_address(target_address);
    let client =
        Socket::new(domain, Type::DGRAM, None)
            .context("could not create a UDP socket")?;
    // Python waits for ever; we stop after -w SECS.
    common::options::set_timeouts(&client, wait)?;
    // socket2's Socket becomes std's UdpSocket.
    let client = UdpSocket::from(client);

    // Python: client.connect((target_host, target_port)).
    // For UDP this sends nothing: the system records the
    // peer, drops datagrams from anyone else, and reports
    // the peer's "port unreachable" answer as an error.
    client.connect(target_address)?;

    // send some data: one whole datagram, to the peer we
    // connected to. The first send picks a free local port.
    client.send(b"AAABBBCCC").with_context(|| {
        format!("could not send to {target_address}")
    })?;

    // receive some data: one datagram, and who sent it.
    let mut data = [0u8; RECV_BUFFER_SIZE];
    let (bytes_received, sender_address) =
        client.recv_from(&mut data).map_err(|error| {
            help::receive_failed(error, target_address)
        })?;

    // Dropping the socket closes it.
    drop(client);

    say!("{}", PythonBytes(&data[..bytes_received]));
    // Anyone may send us a datagram. Python prints it
    // without a word; we say when it came from elsewhere.
    help::note_sender(sender_address, target_address);
    Ok(())
}
