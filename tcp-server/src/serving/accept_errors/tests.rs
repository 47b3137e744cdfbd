use super::*;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;

use crate::client_crew::LEAST_SILENCE;

/// Sends back what the client sent, once.
fn echo(mut socket: &TcpStream, _: SocketAddr) -> anyhow::Result<()> {
    let mut request = [0u8; 16];
    let bytes_read = socket.read(&mut request)?;
    socket.write_all(&request[..bytes_read])?;
    socket.shutdown(std::net::Shutdown::Write)?;
    Ok(())
}

/// The numbers each system uses for the errors we sort.
#[cfg(unix)]
const EPERM: i32 = 1;
#[cfg(unix)]
const EMFILE: i32 = 24;
#[cfg(windows)]
const EMFILE: i32 = 10024;
/// An error no system's `accept` gives: EIO on Unix. (Windows' 5 is
/// ERROR_ACCESS_DENIED, which std reads as PermissionDenied.)
#[cfg(unix)]
const UNKNOWN: i32 = 5;
/// On Windows, WSAEDISCON: a message-oriented socket's graceful close,
/// which `accept` never gives (Microsoft's "Windows Sockets Error Codes").
#[cfg(windows)]
const UNKNOWN: i32 = 10101;

/// Each class, as `man 2 accept` sorts them.
#[test]
fn errors_are_sorted_as_the_man_page_sorts_them() {
    let class = |error: io::Error| classify(&error);
    #[cfg(any(target_os = "linux", target_os = "macos", windows))]
    assert_eq!(
        class(io::Error::from_raw_os_error(EMFILE)),
        AcceptError::Shortage
    );
    assert_eq!(
        class(io::ErrorKind::ConnectionAborted.into()),
        AcceptError::AboutOneConnection
    );
    #[cfg(unix)]
    assert_eq!(
        class(io::Error::from_raw_os_error(EPERM)),
        AcceptError::AboutOneConnection
    );
    assert_eq!(
        class(io::Error::from_raw_os_error(UNKNOWN)),
        AcceptError::Unknown
    );
    #[cfg(target_os = "linux")]
    for (code, name) in [(9, "EBADF"), (22, "EINVAL"), (88, "ENOTSOCK")] {
        assert_eq!(
            class(io::Error::from_raw_os_error(code)),
            AcceptError::BrokenListener,
            "{name}"
        );
    }
}

/// A real broken listener: `accept` on a socket that was never told to
/// listen fails with EINVAL, and `handle` ends the server with a clear
/// error instead of retrying for ever.
#[test]
fn a_broken_listener_ends_the_server() {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        None,
    )
    .expect("a socket");
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).expect("binds");
    let not_listening = TcpListener::from(socket);
    let error = not_listening.accept().expect_err("not listening");
    assert_eq!(classify(&error), AcceptError::BrokenListener);
    let crew = Crew::new(1, None).expect("starts");
    let ended = AcceptErrors::default()
        .handle(error, &crew)
        .expect_err("the server should end");
    let message = format!("{ended:#}");
    assert!(
        message.starts_with("the listening socket stopped working: "),
        "{message}"
    );
}

/// Out of file descriptors with a client held: the silent client gives
/// way (the server closes it), and its thread serves the next client.
#[cfg(any(target_os = "linux", target_os = "macos", windows))]
#[test]
fn a_shortage_drops_the_silent_client() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("loopback");
    let address = listener.local_addr().expect("bound");
    let mut crew = Crew::new(2, None).expect("starts");
    let mut silent = TcpStream::connect(address).expect("connects");
    let (server, peer) = listener.accept().expect("accepts");
    crew.start(echo, server, peer);
    // Silent for LEAST_SILENCE at least, which no scheduler can shorten.
    // The accept loop retries until a thread comes free; so do we, until
    // the client sees its end.
    thread::sleep(LEAST_SILENCE);
    let shortage = || io::Error::from_raw_os_error(EMFILE);
    let mut errors = AcceptErrors::default();
    silent.set_read_timeout(Some(LEAST_SILENCE)).expect("sets");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut rest = Vec::new();
    loop {
        errors.handle(shortage(), &crew).expect("carries on");
        match silent.read_to_end(&mut rest) {
            Ok(_) => break,
            Err(error)
                if common::is_timeout(&error) && Instant::now() < deadline => {}
            Err(error) => panic!("no clean end: {error}"),
        }
    }
    assert_eq!(rest, b"");

    let mut talker = TcpStream::connect(address).expect("connects");
    let (server, peer) = listener.accept().expect("accepts");
    crew.start(echo, server, peer);
    talker.write_all(b"still here").expect("sends");
    talker.shutdown(std::net::Shutdown::Write).expect("ends");
    talker.set_read_timeout(Some(Duration::from_secs(30))).expect("sets");
    let mut answer = Vec::new();
    talker.read_to_end(&mut answer).expect("a clean end");
    assert_eq!(answer, b"still here");
}

/// The start-up check passes with descriptors to spare.
#[test]
fn a_spare_descriptor_is_found() {
    prove_a_spare_descriptor().expect("a spare");
}
