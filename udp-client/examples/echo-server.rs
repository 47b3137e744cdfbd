//! A tiny UDP echo server: the peer that `udp-client` talks to.
//!
//! Start it in one terminal:
//!
//!     cargo run -p udp-client --example echo-server
//!
//! then, in another:
//!
//!     cargo run -p udp-client -- 127.0.0.1 9999
//!
//! It sends every datagram straight back to whoever sent it, and prints a
//! line for each, until you stop it with Ctrl-C.

use std::net::UdpSocket;
use std::process::ExitCode;

use anyhow::Context as _;
use common::{PythonBytes, say};
use socket2::{Domain, Socket, Type};

/// The largest UDP payload over IPv4, so no datagram is ever cut short.
const DATAGRAM_BUFFER_SIZE: usize = 65_507;

const PROGRAM: common::cli::Program =
    common::cli::Program {
        name: "echo-server",
        about: "Sends every UDP datagram it receives back to its sender.\n\
            The peer for udp-client.",
        host: "BIND_IP",
        default_host: "127.0.0.1",
        default_port: 9999,
        default_wait: 0,
        wait_help: "stop after SECS with no datagram; 0: never",
        listens: true,
        max_clients: None,
        example: "cargo run -p udp-client --example echo-server\n\
              cargo run -p udp-client -- 127.0.0.1 9999",
    };

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = PROGRAM.parse();
    let bind_address =
        common::lookup(&arguments.host, arguments.port)?
            [0];
    // Python: socket.socket(AF_INET, SOCK_DGRAM), then bind((ip, port)).
    let server = Socket::new(
        Domain::for_address(bind_address),
        Type::DGRAM,
        None,
    )
    .context("could not create a UDP socket")?;
    common::options::set_timeouts(
        &server,
        arguments.wait,
    )?;
    server.bind(&bind_address.into()).with_context(
        || {
            format!(
                "could not bind to UDP {bind_address}"
            )
        },
    )?;
    let server = UdpSocket::from(server);
    // Print the address really bound, so that port 0 shows the port it got.
    say!("[*] Listening on UDP {}", server.local_addr()?);

    let mut datagram = vec![0u8; DATAGRAM_BUFFER_SIZE];
    loop {
        let (length, sender) = match server
            .recv_from(&mut datagram)
        {
            Ok(received) => received,
            Err(error) if common::is_timeout(&error) => {
                say!(
                    "[*] No datagram for a while: stopping"
                );
                return Ok(());
            }
            // A datagram we sent earlier may have bounced with an ICMP error
            // (Windows reports it here). That is the other side's trouble.
            Err(error) => {
                say!("[!] Receive failed: {error}");
                continue;
            }
        };
        say!(
            "[*] Echoing {} to {sender}",
            PythonBytes(&datagram[..length])
        );
        if let Err(error) =
            server.send_to(&datagram[..length], sender)
        {
            say!(
                "[!] Could not echo to {sender}: {error}"
            );
        }
    }
}
