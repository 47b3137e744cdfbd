//! The listening socket: what `asyncio.start_server` does before it
//! accepts, spelled out with tokio's `TcpSocket`, the same calls as
//! tcp-server's `main.rs` makes with socket2.

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::net::{TcpListener, TcpSocket};

use crate::help;

/// Room for this many finished handshakes that `accept` has not taken yet,
/// as in tcp-server. asyncio asks for 100, and tokio's own
/// `TcpListener::bind` for 128: a burst of a few hundred clients would then
/// see some handshakes dropped, and those clients retry a second later.
const LISTEN_BACKLOG: u32 = 1024;

/// `socket()`, `SO_REUSEADDR`, `bind()` and `listen()`: a socket that is
/// ready to accept on `bind_address`. It is non-blocking, as tokio needs.
pub fn listen_on(
    bind_address: SocketAddr,
) -> anyhow::Result<TcpListener> {
    let server = match bind_address {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .context("could not create a TCP socket")?;
    // SO_REUSEADDR, as asyncio and tcp-server set it on Unix: see
    // common/src/options.rs for why not on Windows.
    #[cfg(unix)]
    server.set_reuseaddr(true)?;
    server
        .bind(bind_address)
        .map_err(help::bind_failed(bind_address))?;
    server.listen(LISTEN_BACKLOG).with_context(|| {
        format!("could not listen on {bind_address}")
    })
}
