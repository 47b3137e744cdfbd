//! Exercise 4: three datagrams.
//!
//! This is udp-client's `src/main.rs`, ready for you to change. Send three
//! datagrams, `one`, `two` and `three`, then print each datagram that comes
//! back until none has come for `-w SECS`, and then how many came back:
//! `datagrams received: 3`.
//!
//! Hint: a receive that times out fails with an error that
//! `common::is_timeout` recognises; here it means "the peer is done".
//!
//!     cargo test -p udp-client --test check       # what is still missing
//!     git restore udp-client/examples/exercise-4.rs     # start over
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

    // send some data: three datagrams. The three texts have
    // one type, `&str`; `.as_bytes()` gives each one's bytes.
    for text in ["one", "two", "three"] {
        client
            .send_to(text.as_bytes(), target_address)?;
    }

    // receive some data: one datagram per `recv_from`, until
    // none has come for -w SECS and the receive times out.
    let mut data = [0u8; RECV_BUFFER_SIZE];
    let mut datagrams_received = 0;
    loop {
        let (bytes_received, sender_address) =
            match client.recv_from(&mut data) {
                Ok(received) => received,
                // A timeout: the peer is done.
                Err(error)
                    if common::is_timeout(&error) =>
                {
                    break;
                }
                Err(error) => {
                    return Err(help::receive_failed(
                        error,
                        target_address,
                    ));
                }
            };
        say!("{}", PythonBytes(&data[..bytes_received]));
        help::note_sender(sender_address, target_address);
        datagrams_received += 1;
    }

    // Dropping the socket closes it.
    drop(client);

    say!("datagrams received: {datagrams_received}");
    Ok(())
}
