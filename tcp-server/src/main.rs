//! TCP server: the Rust twin of `docs/python/tcp_server.py`.
//!
//! Start it in one terminal:
//!
//!     cargo run -p tcp-server
//!
//! then, in another:
//!
//!     cargo run -p tcp-client -- 127.0.0.1 9999
//!
//! Like the script, it accepts connections in a loop and starts a thread for
//! each client, which reads the request once, prints it, answers `ACK!` and
//! closes. Unlike the script, it bounds how many clients it serves at once
//! and drops silent ones when others wait (`client_slots.rs`), closes without
//! a reset (`graceful_close.rs`), and rides out a shortage of file
//! descriptors (`accept_errors.rs`). `docs/tcp-server-design.md` explains
//! why, with the measurements.

mod accept_errors;
mod client_slots;
mod graceful_close;
mod help;

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;

use anyhow::Context as _;
use client_slots::{ClientSlots, Slot};
use common::{PythonBytes, say};
use socket2::{Domain, Socket, Type};

/// Python: `client_socket.recv(1024)` reads at most this many bytes.
const RECV_BUFFER_SIZE: usize = 1024;

/// Python: `server.listen(5)`. Five waiting connections are too few for
/// more than a handful of clients at once: the kernel then drops new
/// handshakes, and each such client waits a second or more to try again.
const LISTEN_BACKLOG: i32 = 1024;

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = help::PROGRAM.parse();
    let bind_address = common::lookup(&arguments.host, arguments.port)?[0];

    // server = socket.socket(AF_INET, SOCK_STREAM)
    let domain = Domain::for_address(bind_address);
    let server = Socket::new(domain, Type::STREAM, None)
        .context("could not create a TCP socket")?;
    common::options::allow_quick_rebind(&server)
        .context("could not set SO_REUSEADDR")?;
    // server.bind((bind_ip, bind_port))
    server
        .bind(&bind_address.into())
        .map_err(|error| help::bind_failed(error, bind_address))?;
    // server.listen(5)
    server
        .listen(LISTEN_BACKLOG)
        .with_context(|| format!("could not listen on {bind_address}"))?;
    let server = TcpListener::from(server);
    // Print the address really bound: with port 0, only it tells the port.
    say!("[*] Listening on {}", server.local_addr()?);

    let max_clients = arguments.max_clients.unwrap_or(help::MAX_CLIENTS);
    let slots = ClientSlots::new(max_clients, arguments.wait);
    let mut accept_errors = accept_errors::Pauses::new(&slots);
    loop {
        // client, addr = server.accept()
        let (client, address) = match server.accept() {
            Ok(accepted) => accepted,
            Err(error) => {
                accept_errors.pause_if_needed(error);
                continue;
            }
        };
        say!("[*] Accepted connection from: {address}");

        // spin up our client thread to handle incoming data, once fewer
        // than --max-clients are being served. `thread::spawn` would panic
        // when the system has no thread to give; `Builder::spawn` returns
        // an error instead, and that costs one client, not the server.
        let slot = slots.wait_for_a_free_slot();
        let client_thread = thread::Builder::new()
            .spawn(move || handle_client(client, address, slot));
        if let Err(error) = client_thread {
            say!("[!] {address}: could not start a thread: {error}");
        }
    }
}

/// This is our client handling thread. Any trouble with this client ends
/// as one line that names it, by the address `accept` gave: after a reset,
/// the socket itself may no longer know its peer.
fn handle_client(client_socket: TcpStream, address: SocketAddr, slot: Slot) {
    if let Err(error) = serve_client(client_socket, address, &slot) {
        say!("[!] {address}: {error:#}");
    }
} // `slot` is dropped here, even after a panic, and frees its place.

fn serve_client(
    mut client_socket: TcpStream,
    address: SocketAddr,
    slot: &Slot,
) -> anyhow::Result<()> {
    // just print out what the client sends. One read returns whatever has
    // arrived, up to 1024 bytes; Python's recv waits forever, ours gives
    // up after `-w` seconds, or sooner for a silent client when others wait.
    let mut request = [0u8; RECV_BUFFER_SIZE];
    let bytes_read = slot.read_request(&mut client_socket, &mut request)?;
    say!("[*] Received: {}", PythonBytes(&request[..bytes_read]));

    // send back a packet. `write_all` is Python's `sendall`.
    client_socket.set_write_timeout(slot.wait)?;
    client_socket.write_all(b"ACK!").context("could not send ACK!")?;

    // print(client_socket.getpeername()). Python prints the tuple
    // ('127.0.0.1', 54321); Rust's SocketAddr prints 127.0.0.1:54321.
    say!("{address}");

    // client_socket.close(), once the client has had every byte.
    graceful_close::close(client_socket);
    Ok(())
}
