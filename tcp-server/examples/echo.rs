//! Exercise answer: an echo server, which answers with
//! what the client sent instead of `ACK!`.
//!
//! Like the script, it starts a thread for each client,
//! which reads once and closes; but it writes back the
//! very bytes it read. It prints the same lines as
//! `tcp-server`.
//!
//! Start it in one terminal:
//!
//!     cargo run -p tcp-server --example echo
//!
//! then, in another:
//!
//!     cargo run -p tcp-client -- 127.0.0.1 9999

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use anyhow::Context as _;
use common::cli::Program;
use common::{PythonBytes, say};
use socket2::{Domain, Socket, Type};

/// Python: `client_socket.recv(1024)`.
const RECV_BUFFER_SIZE: usize = 1024;
/// Python: `server.listen(5)`, with room for more.
const LISTEN_BACKLOG: i32 = 1024;
/// After a failed `accept`, pause rather than spin.
const ACCEPT_ERROR_PAUSE: Duration =
    Duration::from_millis(100);

const PROGRAM: Program = Program {
    name: "echo",
    about: "Listens on BIND_IP:PORT over TCP. For \
            each client it prints the\nrequest, sends \
            the same bytes back and closes.",
    host: "BIND_IP",
    default_host: "0.0.0.0",
    default_port: 9999,
    default_wait: 5,
    wait_help: "drop a client silent for SECS; 0: never",
    listens: true,
    max_clients: None,
    example: "cargo run -p tcp-server --example echo\n\
              cargo run -p tcp-client -- 127.0.0.1 9999",
};

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = PROGRAM.parse();
    let bind_ip = arguments.host.as_str();
    let bind_address =
        common::lookup(bind_ip, arguments.port)?[0];
    let domain = Domain::for_address(bind_address);
    let server = Socket::new(domain, Type::STREAM, None)
        .context("could not create a TCP socket")?;
    common::options::allow_quick_rebind(&server)?;
    server.bind(&bind_address.into()).with_context(
        || format!("could not bind to {bind_address}"),
    )?;
    server.listen(LISTEN_BACKLOG)?;
    let server = TcpListener::from(server);
    say!("[*] Listening on {}", server.local_addr()?);

    loop {
        let (client, address) = match server.accept() {
            Ok(accepted) => accepted,
            Err(error) => {
                say!("[!] could not accept: {error}");
                thread::sleep(ACCEPT_ERROR_PAUSE);
                continue;
            }
        };
        say!("[*] Accepted connection from: {address}");
        // One new thread per client, as in the script.
        let wait = arguments.wait;
        let builder = thread::Builder::new();
        let started = builder.spawn(move || {
            if let Err(error) =
                echo(client, address, wait)
            {
                say!("[!] {address}: {error:#}");
            }
        });
        if let Err(error) = started {
            say!("[!] {address}: no thread: {error}");
        }
    }
}

/// Reads once, and writes back exactly the bytes it read.
fn echo(
    mut client_socket: TcpStream,
    address: SocketAddr,
    wait: Option<Duration>,
) -> anyhow::Result<()> {
    client_socket.set_read_timeout(wait)?;
    client_socket.set_write_timeout(wait)?;
    let mut request = [0u8; RECV_BUFFER_SIZE];
    let bytes_read = match client_socket
        .read(&mut request)
    {
        Ok(bytes_read) => bytes_read,
        Err(error) if common::is_timeout(&error) => {
            anyhow::bail!("sent nothing in time")
        }
        Err(error) => {
            return Err(error).context("could not read");
        }
    };
    // Only the bytes that `read` filled in: the rest of
    // the buffer is zeros that the client never sent.
    let received = &request[..bytes_read];
    say!("[*] Received: {}", PythonBytes(received));
    client_socket
        .write_all(received)
        .context("could not echo")?;
    say!("{address}");
    Ok(())
} // Here `client_socket` is dropped, and so closed.
