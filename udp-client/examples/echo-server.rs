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

use std::io::{self, Write as _};
use std::process::ExitCode;

use anyhow::Context as _;
use common::PythonBytes;
use common::cli::CommandLine;

/// The largest UDP payload over IPv4, so no datagram is ever cut short.
const DATAGRAM_BUFFER_SIZE: usize = 65_507;

const COMMAND_LINE: CommandLine = CommandLine {
    program: "echo-server",
    version: env!("CARGO_PKG_VERSION"),
    about: "Sends every UDP datagram it receives back to its sender.\n\
            The peer for udp-client.",
    host_name: "BIND_IP",
    host_help: "address to listen on",
    default_host: "127.0.0.1",
    default_port: 9999,
    port_zero_means_any: true,
    flags: &[],
    example: "cargo run -p udp-client --example echo-server\n\
              cargo run -p udp-client -- 127.0.0.1 9999",
};

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = COMMAND_LINE.parse();
    let bind_address =
        common::net::resolve(&arguments.host, arguments.port)?[0];
    let server = common::net::bind_udp(bind_address)
        .with_context(|| format!("could not listen on UDP {bind_address}"))?;
    // Print the address really bound, so that port 0 shows the port it got.
    let local_address = server
        .local_addr()
        .context("could not read the bound address")?;
    say(format_args!("[*] Listening on UDP {local_address}"));

    let mut datagram = vec![0u8; DATAGRAM_BUFFER_SIZE];
    loop {
        let (length, sender) = match server.recv_from(&mut datagram) {
            Ok(received) => received,
            // A datagram we sent earlier may have bounced with an ICMP error.
            // That is the other side's trouble: keep serving.
            Err(error) => {
                say(format_args!("[!] Receive failed: {error}"));
                continue;
            }
        };
        say(format_args!(
            "[*] Echoing {} to {sender}",
            PythonBytes(&datagram[..length])
        ));
        if let Err(error) = server.send_to(&datagram[..length], sender) {
            say(format_args!("[!] Could not echo to {sender}: {error}"));
        }
    }
}

/// Prints one line. Losing stdout (say, `echo-server | head -1`) must not
/// stop the server, so a failed write is ignored.
fn say(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stdout(), "{line}");
}
