//! Exercise answer: the server with one new thread per
//! client, as the script does.
//!
//! `tcp-server` hands each client to a bounded crew of
//! threads that it reuses (`src/client_crew.rs`). This server
//! does what the script does instead: for each client it
//! starts a fresh thread, which reads once, prints, answers
//! `ACK!` and closes. It prints the same lines as tcp-server.
//!
//! Start it in one terminal:
//!
//!     cargo run -p tcp-server --example thread-per-client
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
use common::{PythonBytes, say};
use socket2::{Domain, Socket, Type};

/// Python: `client_socket.recv(1024)`.
const RECV_BUFFER_SIZE: usize = 1024;
/// Python: `server.listen(5)`, with room for more (see src/main.rs).
const LISTEN_BACKLOG: i32 = 1024;
/// After a failed `accept`, pause rather than spin: it is most
/// often a shortage of file descriptors, which takes a while to
/// go away.
const ACCEPT_ERROR_PAUSE: Duration =
    Duration::from_millis(100);

const PROGRAM: common::cli::Program =
    common::cli::Program {
        name: "thread-per-client",
        about: "Like tcp-server, but starts a new thread for each client, as the\n\
            script does. Port 0 picks any free port.",
        host: "BIND_IP",
        default_host: "0.0.0.0",
        default_port: 9999,
        default_wait: 5,
        wait_help: "drop a client silent for SECS; 0: never",
        listens: true,
        max_clients: None,
        example: "cargo run -p tcp-server --example thread-per-client\n\
              cargo run -p tcp-client -- 127.0.0.1 9999",
    };

fn main() -> ExitCode {
    common::exit_status(run())
}

fn run() -> anyhow::Result<()> {
    let arguments = PROGRAM.parse();
    let bind_address =
        common::lookup(&arguments.host, arguments.port)?
            [0];

    // server = socket.socket(AF_INET, SOCK_STREAM)
    let domain = Domain::for_address(bind_address);
    let server = Socket::new(domain, Type::STREAM, None)
        .context("could not create a TCP socket")?;
    common::options::allow_quick_rebind(&server)?;
    // server.bind((bind_ip, bind_port)), then server.listen(5)
    server.bind(&bind_address.into()).with_context(
        || format!("could not bind to {bind_address}"),
    )?;
    server.listen(LISTEN_BACKLOG)?;
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

        // threading.Thread(target=handle_client, ...).start().
        // `move` gives the thread the client and its address.
        // Unlike `thread::spawn`, which panics when the system
        // has no thread to give, `Builder::spawn` returns an
        // error; the client is then dropped, and so closed.
        let wait = arguments.wait;
        let started =
            thread::Builder::new().spawn(move || {
                if let Err(error) =
                    handle_client(client, address, wait)
                {
                    say!("[!] {address}: {error:#}");
                }
            });
        if let Err(error) = started {
            say!(
                "[!] {address}: could not start a thread: {error}"
            );
        }
    }
}

/// This is our client handling thread.
fn handle_client(
    mut client_socket: TcpStream,
    address: SocketAddr,
    wait: Option<Duration>,
) -> anyhow::Result<()> {
    // Python's recv waits for ever; ours gives up after -w.
    client_socket.set_read_timeout(wait)?;
    client_socket.set_write_timeout(wait)?;
    let mut request = [0u8; RECV_BUFFER_SIZE];
    let bytes_read = match client_socket
        .read(&mut request)
    {
        Ok(bytes_read) => bytes_read,
        Err(error) if common::is_timeout(&error) => {
            let seconds =
                wait.unwrap_or_default().as_secs_f64();
            anyhow::bail!(
                "sent nothing for {seconds:.1} s: timed out"
            )
        }
        Err(error) => Err(error)
            .context("could not read the request")?,
    };
    say!(
        "[*] Received: {}",
        PythonBytes(&request[..bytes_read])
    );

    // send back a packet. `write_all` is Python's `sendall`.
    client_socket
        .write_all(b"ACK!")
        .context("could not send ACK!")?;
    // print(client_socket.getpeername())
    say!("{address}");

    // client_socket.close(): the stream closes when it is
    // dropped, here at the end of the function. If the client
    // sent more than we read, that close is a reset (RST);
    // tcp-server's `src/graceful_close.rs` avoids it.
    Ok(())
}
