//! Exercise 8: a total that every task adds to.
//!
//! This is the async twin, `examples/async-server/main.rs`,
//! ready for you to change. After each request, print how
//! many bytes all clients have sent so far:
//! `[*] Received so far: 6 bytes`.
//!
//! Hint: each task runs on its own; the total must be
//! shared between them, and `tokio::spawn` wants what it
//! is given to be `Send` and `'static`.
//!
//!     cargo test -p tcp-server --test check
//!     git restore tcp-server/examples/exercise-8.rs
//!
//! Steps and an answer: docs/tcp-server-async.md,
//! "Exercises".

// The async twin's other files.
#[path = "async-server/accept_errors.rs"]
mod accept_errors;
#[path = "async-server/graceful_close.rs"]
mod graceful_close;
#[path = "async-server/help.rs"]
mod help;
#[path = "async-server/listening.rs"]
mod listening;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use common::{PythonBytes, say};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::timeout;

/// Python: `await reader.read(1024)` reads at most this
/// many bytes.
const RECV_BUFFER_SIZE: usize = 1024;

/// How many clients the server serves at once, unless
/// `--max-clients` says otherwise. A waiting task costs
/// a few KiB where a thread costs tens, so this is ten
/// times tcp-server's: see `docs/tcp-server-async.md`.
pub const MAX_CLIENTS: usize = 10_000;

// Starts tokio's runtime, a few threads that run tasks,
// then runs `main` on it: Python's `asyncio.run(main())`.
#[tokio::main]
async fn main() -> ExitCode {
    common::exit_status(run().await)
}

async fn run() -> anyhow::Result<()> {
    let arguments = help::PROGRAM.parse();
    // IPv4 first, if the name has both. (The list is
    // never empty: lookup fails instead.)
    let bind_addresses =
        common::lookup(&arguments.host, arguments.port)?;
    // server = await asyncio.start_server(
    //     handle_client, bind_ip, bind_port)
    // makes a socket, binds and listens (listening.rs).
    let server = listening::listen_on(bind_addresses[0])?;
    // Port 0 picks a port: print the one we got.
    say!("[*] Listening on {}", server.local_addr()?);

    // A seat for each client we serve at once.
    let max_clients =
        arguments.max_clients.unwrap_or(MAX_CLIENTS);
    let seats = Arc::new(Semaphore::new(max_clients));
    // -w 0 waits for ever: tokio reads Duration::MAX so.
    let wait = arguments.wait.unwrap_or(Duration::MAX);
    // await server.serve_forever(): asyncio's loop of
    // accept() and a task for each client, spelled out.
    loop {
        // Take a seat first: with none free, newcomers
        // wait in the kernel's backlog, not in memory.
        let seat =
            Arc::clone(&seats).acquire_owned().await?;
        let (client, address) =
            match server.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_errors::pause(error).await;
                    continue;
                }
            };
        // start_server calls handle_client in a task of
        // its own: `tokio::spawn` starts one. `move`
        // hands it the client, the address and the seat.
        tokio::spawn(async move {
            let served =
                handle_client(client, address, wait)
                    .await;
            if let Err(error) = served {
                say!("[!] {address}: {error:#}");
            }
            drop(seat); // The next client may come in.
        });
    }
}

/// This is our client handling task. An error ends up
/// on one line of the log that names the client.
async fn handle_client(
    mut client: TcpStream,
    address: SocketAddr,
    wait: Duration,
) -> anyhow::Result<()> {
    // addr = writer.get_extra_info("peername")
    say!("[*] Accepted connection from: {address}");

    // just print out what the client sends. While it has
    // sent nothing, this task waits at `.await` and its
    // thread runs other tasks; after `wait`, we give up.
    let mut request = [0u8; RECV_BUFFER_SIZE];
    let bytes_read =
        timeout(wait, client.read(&mut request))
            .await
            .map_err(|_| help::silent_for(wait))?
            .context("could not read the request")?;
    let received = &request[..bytes_read];
    say!("[*] Received: {}", PythonBytes(received));

    // send back a packet: writer.write(b"ACK!") and
    // await writer.drain() in one.
    client
        .write_all(b"ACK!")
        .await
        .context("could not send ACK!")?;
    // print(writer.get_extra_info("peername"))
    say!("{address}");

    // writer.close() and await writer.wait_closed(),
    // once the client has had every byte.
    graceful_close::close(client).await;
    Ok(())
}
