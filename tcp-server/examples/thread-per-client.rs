//! Exercise answer: the server with one new thread per
//! client, as the script does.
//!
//! `tcp-server` hands each client to a bounded crew of
//! threads that it reuses (`src/client_crew.rs`). This
//! server does what the script does instead: for each
//! client it starts a fresh thread, which reads once,
//! prints, answers `ACK!` and closes. It prints the same
//! lines as `tcp-server`.
//!
//! Start it in one terminal:
//!
//!     cargo run -p tcp-server \
//!         --example thread-per-client
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
/// Python: `server.listen(5)`, with room for more
/// clients (see `src/main.rs`).
const LISTEN_BACKLOG: i32 = 1024;
/// A failed `accept` is most often a shortage of file
/// descriptors, which lasts a while: pause, don't spin.
const ACCEPT_ERROR_PAUSE: Duration =
    Duration::from_millis(100);

const PROGRAM: Program = Program {
    name: "thread-per-client",
    about: "Like tcp-server, but starts a new thread \
            for each client, as the\nscript does. \
            Port 0 picks any free port.",
    host: "BIND_IP",
    default_host: "0.0.0.0",
    default_port: 9999,
    default_wait: 5,
    wait_help: "drop a client silent for SECS; 0: never",
    listens: true,
    max_clients: None,
    example: "cargo run -p tcp-server --example \
              thread-per-client\n\
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

    // server = socket.socket(AF_INET, SOCK_STREAM)
    let domain = Domain::for_address(bind_address);
    let server = Socket::new(domain, Type::STREAM, None)
        .context("could not create a TCP socket")?;
    common::options::allow_quick_rebind(&server)?;
    // server.bind((bind_ip, bind_port))
    server.bind(&bind_address.into()).with_context(
        || format!("could not bind to {bind_address}"),
    )?;
    server.listen(LISTEN_BACKLOG)?; // server.listen(5)
    let server = TcpListener::from(server);
    say!("[*] Listening on {}", server.local_addr()?);

    loop {
        // client, addr = server.accept()
        let (client, address) = match server.accept() {
            Ok(accepted) => accepted,
            Err(error) => {
                say!("[!] could not accept: {error}");
                thread::sleep(ACCEPT_ERROR_PAUSE);
                continue;
            }
        };
        say!("[*] Accepted connection from: {address}");

        // threading.Thread(target=handle_client).start().
        // `move` hands the client to the new thread.
        // `thread::spawn` would panic if the system had
        // no thread to give; `Builder::spawn` returns an
        // error, and the client is dropped, so closed.
        let wait = arguments.wait;
        let builder = thread::Builder::new();
        let started = builder.spawn(move || {
            let served =
                handle_client(client, address, wait);
            if let Err(error) = served {
                say!("[!] {address}: {error:#}");
            }
        });
        if let Err(error) = started {
            say!("[!] {address}: no thread: {error}");
        }
    }
}

/// This is our client handling thread.
fn handle_client(
    mut client_socket: TcpStream,
    address: SocketAddr,
    wait: Option<Duration>,
) -> anyhow::Result<()> {
    // Python's recv waits for ever; ours gives up after
    // -w SECS.
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
    let received = &request[..bytes_read];
    say!("[*] Received: {}", PythonBytes(received));

    // `write_all` is Python's `sendall`.
    client_socket
        .write_all(b"ACK!")
        .context("could not send ACK!")?;
    // print(client_socket.getpeername()). We print the
    // address accept() gave: after a reset, the socket
    // may no longer know its peer.
    say!("{address}");

    // client_socket.close(): the stream closes when it is
    // dropped, at the end of this function. If the
    // client sent more than we read, that close is a
    // reset (RST); tcp-server's `src/graceful_close.rs`
    // avoids it.
    Ok(())
}
