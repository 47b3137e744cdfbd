//! Exercise 1: get the whole page.
//!
//! This is tcp-client's `src/main.rs`, ready for you to change. It reads
//! once, like the script's `recv(4096)`, so it prints at most 4,096 bytes,
//! and a web page is often longer. Make it read until the server closes its
//! side, then print everything it got, once.
//!
//! Hint: `read` returns 0 once the server has closed and every byte has been
//! read. A `Vec<u8>` can collect the pieces.
//!
//!     cargo test -p tcp-client --test check       # what is still missing
//!     git restore tcp-client/examples/exercise-1.rs     # start over
//!
//! Steps and an answer: docs/tcp-client.md, "Exercises".

#[path = "../src/help.rs"]
mod help;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::ExitCode;

use anyhow::Context as _;
use common::{Deadline, PythonBytes, say};
use socket2::{Domain, SockAddr, Socket, Type};

/// The course's request, byte for byte.
const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: google.com\r\n\r\n";

/// Python: `client.recv(4096)` takes at most this many
/// bytes.
const RECV_BUFFER_SIZE: usize = 4096;

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = help::PROGRAM.parse();
    let target_host = arguments.host.as_str();
    let target_port = arguments.port;
    let target =
        format!("{target_host} port {target_port}");
    // -w SECS is one deadline for every address we try,
    // and the read. Python's timeout counts for each try.
    let deadline = Deadline::after(arguments.wait);
    // Python's connect() looks the name up by itself.
    let addresses =
        common::lookup(target_host, target_port)
            .map_err(help::lookup_failed)?;

    // A name may have several addresses: like Python's
    // socket.create_connection(), try each in turn.
    let mut failures = Vec::new();
    let mut connected = None;
    for address in addresses {
        // create a socket object
        let domain = Domain::for_address(address);
        let client =
            Socket::new(domain, Type::STREAM, None)?;
        // connect the client, by the deadline
        let peer = SockAddr::from(address);
        let wait = deadline.time_left();
        let attempt = if let Some(limit) = wait {
            client.connect_timeout(&peer, limit)
        } else {
            client.connect(&peer)
        };
        if let Err(error) = attempt {
            failures.push((address, error));
            continue;
        }
        // Connected: socket2's Socket becomes std's
        // TcpStream, for reading and writing.
        connected = Some(TcpStream::from(client));
        break;
    }
    let Some(mut client) = connected else {
        return Err(help::connect_failed(
            &target, &failures,
        ));
    };

    // send some data. `write_all` is Python's `sendall`:
    // it loops until the kernel has taken every byte,
    // where `send` may take only some of them.
    client.write_all(REQUEST).with_context(|| {
        format!("could not send to {target}")
    })?;

    // receive data. One `read` returns what has arrived
    // so far, up to 4096 bytes: TCP carries a stream of
    // bytes, not messages. We keep the count, and use
    // only that much of the buffer. Python waits for
    // ever; we stop at the deadline.
    client.set_read_timeout(deadline.time_left())?;
    let mut response = [0u8; RECV_BUFFER_SIZE];
    let bytes_read = client
        .read(&mut response)
        .map_err(help::read_failed(&target))?;

    // Dropping the stream closes the socket.
    drop(client);

    say!("{}", PythonBytes(&response[..bytes_read]));
    Ok(())
}
