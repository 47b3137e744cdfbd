//! Exercise 6: an echo server.
//!
//! This is tcp-server's `src/main.rs`, ready for you to
//! change. It answers every client `ACK!`. Make it send
//! back the bytes the client sent instead.
//!
//! Hint: `read` fills only the start of the buffer;
//! `bytes_read` says how much.
//!
//!     cargo test -p tcp-server --test check
//!     git restore tcp-server/examples/exercise-6.rs
//!
//! Steps and an answer: docs/tcp-server.md, "Exercises".

// The advice of src/help.rs, as in src/main.rs.
#[path = "../src/help.rs"]
mod help;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;

use anyhow::Context as _;
use common::{PythonBytes, say};
use socket2::{Domain, SockAddr, Socket, Type};
use tcp_server::accept_errors::{self, AcceptErrors};
use tcp_server::client_crew::Crew;

/// Python: `client_socket.recv(1024)` reads at most this
/// many bytes.
const RECV_BUFFER_SIZE: usize = 1024;

/// Python: `server.listen(5)`. Five waiting connections
/// are too few for more than a handful of clients at
/// once: the kernel then drops new handshakes, and each
/// such client waits a second or more to try again.
const LISTEN_BACKLOG: i32 = 1024;

/// How many clients the server serves at once, unless
/// `--max-clients` says otherwise; the script has no
/// limit. Threads cost little while they wait, so this
/// can be high: see `docs/tcp-server-design.md`.
pub const MAX_CLIENTS: usize = 1000;

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = help::PROGRAM.parse();
    let bind_ip = arguments.host.as_str();
    let bind_port = arguments.port;
    // The first address, IPv4 if the name has one. (The
    // list is never empty: lookup fails instead.)
    let bind_address =
        common::lookup(bind_ip, bind_port)?[0];

    // server = socket.socket(AF_INET, SOCK_STREAM)
    let domain = Domain::for_address(bind_address);
    let server = Socket::new(domain, Type::STREAM, None)
        .context("could not create a TCP socket")?;
    common::options::allow_quick_rebind(&server)?;
    // server.bind((bind_ip, bind_port))
    server
        .bind(&SockAddr::from(bind_address))
        .map_err(help::bind_failed(bind_address))?;
    // server.listen(5), with room for more clients
    server.listen(LISTEN_BACKLOG).with_context(|| {
        format!("could not listen on {bind_address}")
    })?;
    // socket2's Socket becomes std's TcpListener.
    let server = TcpListener::from(server);
    // Ours: is a file descriptor left for a client?
    accept_errors::prove_a_spare_descriptor()
        .map_err(help::no_descriptor)?;
    // Port 0 picks a port: print the one we got.
    say!("[*] Listening on {}", server.local_addr()?);

    let max_clients =
        arguments.max_clients.unwrap_or(MAX_CLIENTS);
    let mut crew = Crew::new(max_clients, arguments.wait)
        .map_err(help::no_thread)?;
    let mut failed_accepts = AcceptErrors::default();
    loop {
        // client, addr = server.accept()
        let (client, address) = match server.accept() {
            Ok(accepted) => accepted,
            Err(error) => {
                failed_accepts.handle(error, &crew)?;
                continue;
            }
        };
        say!("[*] Accepted connection from: {address}");

        // spin up our client thread to handle incoming data
        // client_handler = threading.Thread(
        //     target=handle_client, args=(client,))
        // client_handler.start(): a thread of the crew runs
        // handle_client once the client has sent something.
        crew.start(handle_client, client, address);
    }
}

/// This is our client handling thread. An error ends up on
/// one line of the log that names the client.
fn handle_client(
    mut client_socket: &TcpStream,
    address: SocketAddr,
) -> anyhow::Result<()> {
    // just print out what the client sends
    let mut request = [0u8; RECV_BUFFER_SIZE];
    let bytes_read = client_socket
        .read(&mut request)
        .context("could not read the request")?;
    let received = &request[..bytes_read];
    say!("[*] Received: {}", PythonBytes(received));

    // send back a packet. `write_all` is Python's
    // `sendall`.
    client_socket
        .write_all(b"ACK!")
        .context("could not send ACK!")?;

    // print(client_socket.getpeername()) prints a
    // tuple, ('127.0.0.1', 54321); a SocketAddr prints
    // 127.0.0.1:54321. We print the address accept()
    // gave: after a reset, the socket may no longer
    // know its peer.
    say!("{address}");

    // client_socket.close(), first half: FIN after
    // ACK!. The crew finishes it once the client has
    // had every byte (see graceful_close.rs).
    client_socket
        .shutdown(std::net::Shutdown::Write)
        .context("could not close")?;
    Ok(())
}
