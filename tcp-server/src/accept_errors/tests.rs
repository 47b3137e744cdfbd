use super::*;
use std::net::{SocketAddr, TcpListener, TcpStream};

fn nothing(
    _: TcpStream,
    _: SocketAddr,
) -> anyhow::Result<()> {
    Ok(())
}

/// The numbers each system uses for the errors we sort.
#[cfg(unix)]
const EPERM: i32 = 1;
#[cfg(unix)]
const EMFILE: i32 = 24;
#[cfg(windows)]
const EMFILE: i32 = 10024;
const EIO: i32 = 5;

/// Each class, as `man 2 accept` sorts them.
#[test]
fn errors_are_sorted_as_the_man_page_sorts_them() {
    let class = |error: io::Error| classify(&error);
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
        class(io::Error::from_raw_os_error(EIO)),
        AcceptError::Unknown
    );
    #[cfg(target_os = "linux")]
    for (code, name) in
        [(9, "EBADF"), (22, "EINVAL"), (88, "ENOTSOCK")]
    {
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
    socket
        .bind(
            &SocketAddr::from(([127, 0, 0, 1], 0)).into(),
        )
        .expect("binds");
    let not_listening = TcpListener::from(socket);
    let error = not_listening
        .accept()
        .expect_err("not listening");
    assert_eq!(
        classify(&error),
        AcceptError::BrokenListener
    );
    let crew = Crew::new(1, None).expect("starts");
    let ended = AcceptErrors::default()
        .handle(error, &crew)
        .expect_err("the server should end");
    let message = format!("{ended:#}");
    assert!(
        message.starts_with(
            "the listening socket stopped working: "
        ),
        "{message}"
    );
}

/// One connection's trouble retries at once; a shortage waits for a
/// departure, at most `SHORTAGE_PAUSE`.
#[test]
fn only_a_shortage_pauses() {
    let crew = Crew::new(1, None).expect("starts");
    // Its first thread comes free once, as it starts.
    thread::sleep(Duration::from_millis(50));
    let mut errors = AcceptErrors::default();
    let started = Instant::now();
    errors
        .handle(io::ErrorKind::Interrupted.into(), &crew)
        .expect("carries on");
    assert!(started.elapsed() < SHORTAGE_PAUSE / 2);

    let started = Instant::now();
    crew.wait_for_a_departure(SHORTAGE_PAUSE);
    let paused = started.elapsed();
    assert!(paused >= SHORTAGE_PAUSE, "{paused:?}");
    assert!(paused < 10 * SHORTAGE_PAUSE, "{paused:?}");
}

/// A handler that finishes ends the shortage pause at once.
#[test]
fn a_departure_ends_the_pause_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0")
        .expect("loopback");
    let client = TcpStream::connect(
        listener.local_addr().expect("bound"),
    )
    .expect("connects");
    let (server, address) =
        listener.accept().expect("accepts");
    let mut crew = Crew::new(4, None).expect("starts");
    thread::sleep(Duration::from_millis(20));
    let started = Instant::now();
    let closer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        drop(client); // the handler runs, and its thread comes free
    });
    crew.start(nothing, server, address);
    crew.wait_for_a_departure(Duration::from_secs(5));
    let paused = started.elapsed();
    closer.join().expect("closes");
    assert!(
        paused >= Duration::from_millis(20),
        "{paused:?}"
    );
    assert!(
        paused < Duration::from_secs(2),
        "{paused:?}"
    );
}
