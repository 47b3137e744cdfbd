//! Name lookup and socket set-up with socket2, handing back std types.
//!
//! std's `TcpListener::bind` picks the listen backlog and socket options
//! itself. socket2 lets us make each call that the Python scripts make, one by
//! one: create the socket, set an option, bind, listen, connect with a
//! timeout. Once set up, every socket is turned into a std type, so the
//! programs do their reading and writing with plain std.

use std::fmt;
use std::io;
use std::net::{
    Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
    UdpSocket,
};
use std::time::Duration;

use anyhow::Context as _;
use socket2::{Domain, Protocol, Socket, Type};

/// Looks up the addresses of `host`, which may be a name, an IPv4 literal or
/// an IPv6 literal such as `::1` (Python: `socket.getaddrinfo(host, port)`).
///
/// Python's scripts pass `(host, port)` straight to `connect`, which does the
/// same lookup inside. Rust makes it a separate step, so that a client can try
/// each address in turn.
pub fn resolve(host: &str, port: u16) -> anyhow::Result<Vec<SocketAddr>> {
    let addresses: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("could not resolve host '{host}'"))?
        .collect();
    if addresses.is_empty() {
        anyhow::bail!(
            "could not resolve host '{host}': the lookup returned no address"
        );
    }
    Ok(addresses)
}

/// Creates a TCP socket and connects it to the first of `addresses` that
/// accepts (Python: `socket.create_connection`, which is `socket()` then
/// `connect()` for each address in turn).
///
/// Each attempt gives up after `timeout`, and the connected stream keeps it
/// as its read and write timeout (Python: `sock.settimeout(timeout)`).
/// `None` waits as long as the operating system does, like Python's default.
pub fn connect_tcp(
    addresses: &[SocketAddr],
    timeout: Option<Duration>,
) -> Result<TcpStream, ConnectFailure> {
    let mut attempts = Vec::new();
    for &address in addresses {
        match connect_one(address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(error) => attempts.push((address, error)),
        }
    }
    Err(ConnectFailure { attempts })
}

fn connect_one(
    address: SocketAddr,
    timeout: Option<Duration>,
) -> io::Result<TcpStream> {
    // Python: socket.socket(AF_INET or AF_INET6, SOCK_STREAM)
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    // Python: sock.connect((host, port)), after sock.settimeout(timeout)
    match timeout {
        Some(timeout) => socket.connect_timeout(&address.into(), timeout)?,
        None => socket.connect(&address.into())?,
    }
    socket.set_read_timeout(timeout)?;
    socket.set_write_timeout(timeout)?;
    Ok(socket.into())
}

/// Every address a client tried, and why each one failed.
#[derive(Debug)]
pub struct ConnectFailure {
    /// The addresses in the order tried, each with its error.
    pub attempts: Vec<(SocketAddr, io::Error)>,
}

impl ConnectFailure {
    /// True when every address was a loopback address that refused the
    /// connection: nothing is listening on this machine at that port.
    pub fn refused_on_loopback(&self) -> bool {
        self.attempts.iter().all(|(address, error)| {
            address.ip().is_loopback()
                && error.kind() == io::ErrorKind::ConnectionRefused
        })
    }
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (address, error)) in self.attempts.iter().enumerate() {
            let separator = if index == 0 { "" } else { "; " };
            write!(formatter, "{separator}{address}: {}", short_reason(error))?;
        }
        Ok(())
    }
}

impl std::error::Error for ConnectFailure {}

/// "connection refused" rather than "Connection refused (os error 111)".
fn short_reason(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            "timed out".to_string()
        }
        _ => error.to_string(),
    }
}

/// Creates a TCP socket, binds it to `address` and listens with room for
/// `backlog` connections that the kernel has completed but `accept` has not
/// yet taken (Python: `socket()`, `bind()`, `listen(backlog)`).
///
/// On Unix it first sets `SO_REUSEADDR` (Python:
/// `sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)`), so that a restarted
/// server can bind its port again while connections from its last run sit in
/// TIME_WAIT. On Windows the same option would let another process take over
/// the port, so std, mio and tokio all leave it off there, and so do we.
pub fn listen_tcp(
    address: SocketAddr,
    backlog: i32,
) -> io::Result<TcpListener> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&address.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// Creates a UDP socket bound to `address` (Python: `socket(AF_INET,
/// SOCK_DGRAM)`, then `bind((ip, port))` when a port is given).
///
/// std has no unbound `UdpSocket`. A client binds the wildcard address of its
/// peer's family with port 0 ([`wildcard_address_for`]), which is what
/// Python's first `sendto` does behind the scenes.
pub fn bind_udp(address: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    socket.bind(&address.into())?;
    Ok(socket.into())
}

/// `0.0.0.0:0` for an IPv4 peer and `[::]:0` for an IPv6 one: any local
/// address, any free port.
pub fn wildcard_address_for(peer: SocketAddr) -> SocketAddr {
    match peer {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    }
}
