//! The servers written in the bench, to measure tcp-server against: other
//! designs doing the same work for each client. The bench runs each as a
//! process of its own (`load --serve-pool` and so on), like tcp-server.
//!
//! - `pool`: [`POOL_THREADS`] threads that each call `accept` and serve
//!   the client themselves: the fastest blocking design we know.
//! - `handoff`: one accept loop hands each client down a channel to
//!   [`POOL_THREADS`] threads, the Rust Book's chapter 21 pool.
//! - `inline`: each client served inside the accept loop, closed at once.
//!   Little is faster with blocking sockets; one silent client stops it.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::Context as _;
use common::{PythonBytes, say};
// tcp-server's own close, not a copy: FIN after `ACK!`, then read until the
// client closes too, within limits of bytes and time.
use tcp_server::graceful_close;

use crate::options::OwnServer;

/// The threads of `pool` and of `handoff`.
pub const POOL_THREADS: usize = 16;
/// Python: `client_socket.recv(1024)`, as tcp-server reads.
const RECV_BUFFER_SIZE: usize = 1024;
/// How long a client may keep a thread waiting for its request, and for
/// `ACK!` to be taken: tcp-server's `-w` default.
const CLIENT_TIME_LIMIT: Duration = Duration::from_secs(5);
/// How long to pause after a failed `accept` (out of file descriptors,
/// say) before trying again.
const ACCEPT_RETRY_PAUSE: Duration = Duration::from_millis(10);

/// Runs one of the bench's servers until the bench kills it.
pub fn serve(server: OwnServer) -> anyhow::Result<()> {
    match server {
        OwnServer::Pool => serve_pool(),
        OwnServer::Handoff => serve_handoff(),
        OwnServer::Inline { backlog, graceful } => {
            serve_inline(backlog, graceful)
        }
    }
}

/// The `pool` server: threads that each accept and serve, with no
/// hand-off between threads, though a few silent clients block it.
fn serve_pool() -> anyhow::Result<()> {
    let listener = Arc::new(listen_on_loopback(crate::servers::BACKLOG)?);
    let threads: Vec<_> = (0..POOL_THREADS)
        .map(|_| {
            let listener = Arc::clone(&listener);
            thread::spawn(move || {
                loop {
                    let (client, address) = accept(&listener);
                    serve_like_tcp_server(client, address);
                }
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}

/// The `handoff` server: the script's shape at its plainest. What the
/// shape costs, without tcp-server's crew.
fn serve_handoff() -> anyhow::Result<()> {
    let listener = listen_on_loopback(crate::servers::BACKLOG)?;
    let (sender, receiver) = mpsc::channel::<(TcpStream, SocketAddr)>();
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..POOL_THREADS {
        let receiver = Arc::clone(&receiver);
        thread::spawn(move || {
            loop {
                // A thread that panicked holding the lock leaves the
                // receiver as good as it was.
                let next = receiver
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .recv();
                let Ok((client, address)) = next else {
                    return; // The accept loop has gone.
                };
                serve_like_tcp_server(client, address);
            }
        });
    }
    loop {
        let (client, address) = accept(&listener);
        sender
            .send((client, address))
            .context("every serving thread has gone")?;
    }
}

/// The `inline` servers: the script's work for each client inside the
/// accept loop. `graceful` adds tcp-server's close; without it the
/// client is closed at once, as the script does.
fn serve_inline(backlog: i32, graceful: bool) -> anyhow::Result<()> {
    let listener = listen_on_loopback(backlog)?;
    loop {
        let (client, address) = accept(&listener);
        let Some(client) = answer(client, address) else {
            continue;
        };
        if graceful {
            graceful_close::close(client);
        }
        // Otherwise the client is dropped here, which closes it at once:
        // the least work per client.
    }
}

/// Accepts the next client and says so, as tcp-server does, retrying
/// after a pause when `accept` fails.
fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        if let Ok((client, address)) = listener.accept() {
            say!("[*] Accepted connection from: {address}");
            return (client, address);
        }
        thread::sleep(ACCEPT_RETRY_PAUSE);
    }
}

/// tcp-server's work for one client, without its crew.
fn serve_like_tcp_server(client: TcpStream, address: SocketAddr) {
    if let Some(client) = answer(client, address) {
        graceful_close::close(client);
    }
}

/// tcp-server's `handle_client` up to its close: read once, the two
/// lines, `ACK!`. The client back if it is still there to close.
fn answer(mut client: TcpStream, address: SocketAddr) -> Option<TcpStream> {
    client.set_read_timeout(Some(CLIENT_TIME_LIMIT)).ok()?;
    client.set_write_timeout(Some(CLIENT_TIME_LIMIT)).ok()?;
    let mut request = [0u8; RECV_BUFFER_SIZE];
    let bytes_read = client.read(&mut request).ok()?;
    say!("[*] Received: {}", PythonBytes(&request[..bytes_read]));
    client.write_all(b"ACK!").ok()?;
    say!("{address}");
    Some(client)
}

/// A listener on an ephemeral port of 127.0.0.1, which prints its
/// address first, as tcp-server does.
fn listen_on_loopback(backlog: i32) -> anyhow::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        None,
    )
    .context("could not create a TCP socket")?;
    common::options::allow_quick_rebind(&socket)?;
    let address = SocketAddr::from(([127, 0, 0, 1], 0));
    socket
        .bind(&address.into())
        .with_context(|| format!("could not bind to {address}"))?;
    socket
        .listen(backlog)
        .with_context(|| format!("could not listen on {address}"))?;
    let listener = TcpListener::from(socket);
    say!("[*] Listening on {}", listener.local_addr()?);
    Ok(listener)
}
