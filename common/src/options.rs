//! Socket options, set with socket2 where std has no way to set them
//! before `bind` or `connect`.

use std::io;
use std::time::Duration;

use socket2::Socket;

/// The shortest wait a socket timeout keeps on every system: 1 ms.
///
/// Windows counts `SO_RCVTIMEO` and `SO_SNDTIMEO` in whole milliseconds, and
/// 0 there means "never time out" (Microsoft's "SOL_SOCKET socket options"
/// page, <https://learn.microsoft.com/en-us/windows/win32/winsock/sol-socket-socket-options>).
/// socket2 rounds a duration down to that unit (its `into_ms`), so 0.5 ms
/// would wait for ever. Unix counts microseconds, where 0 also means never (`man 7 socket`),
/// but one rule for every system is easier to teach: `-w` below 0.001
/// counts as 0.001, in every program.
pub const SHORTEST_WAIT: Duration = Duration::from_millis(1);

/// Sets how long a blocking `recv` or `send` on `socket` may wait (Python:
/// `sock.settimeout(seconds)`). `None` waits forever, Python's default; a
/// wait shorter than [`SHORTEST_WAIT`] waits that long instead, so that it
/// never rounds to "never".
///
/// A receive that times out fails with `WouldBlock` on Unix and `TimedOut`
/// on Windows; [`crate::is_timeout`] recognises both.
pub fn set_timeouts(socket: &Socket, wait: Option<Duration>) -> io::Result<()> {
    let wait = wait.map(|wait| wait.max(SHORTEST_WAIT));
    socket.set_read_timeout(wait)?;
    socket.set_write_timeout(wait)
}

/// Sets `SO_REUSEADDR` on Unix (Python:
/// `sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)`), so that a restarted
/// server can bind its port again while connections from its last run sit
/// in TIME_WAIT. The course's script does not, and so fails for a minute
/// with "Address already in use".
///
/// On Windows the same option would let another program bind the same port
/// and steal connections (Microsoft's "Using SO_REUSEADDR and
/// SO_EXCLUSIVEADDRUSE",
/// <https://learn.microsoft.com/en-us/windows/win32/winsock/using-so-reuseaddr-and-so-exclusiveaddruse>),
/// and Windows lets a server rebind over TIME_WAIT anyway; std, mio and
/// tokio all leave it off there, and so do we.
pub fn allow_quick_rebind(socket: &Socket) -> io::Result<()> {
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    #[cfg(not(unix))]
    let _ = socket;
    Ok(())
}
