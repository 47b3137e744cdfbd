//! The answers to tcp-server's exercises, `examples/thread-per-client.rs`
//! and `examples/echo.rs`, each started on an ephemeral loopback port and
//! talked to with std::net.

#[path = "../../common/tests/support/mod.rs"]
mod support;

use std::io::Read as _;
use std::net::{SocketAddr, TcpStream};

use support::{
    DEADLINE, Running, example, exchange_from,
};

/// The course's request, byte for byte, and how the servers print it.
const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: google.com\r\n\r\n";
const REQUEST_PRINTED: &str = r"[*] Received: b'GET / HTTP/1.1\r\nHost: google.com\r\n\r\n'";

/// Starts an example server on 127.0.0.1, port 0, and reads back the
/// address it printed.
fn start(
    name: &str,
    options: &[&str],
) -> (Running, SocketAddr) {
    let server = Running::start(
        example(name)
            .args(options)
            .args(["127.0.0.1", "0"]),
    );
    let listening = server.next_line();
    assert!(
        listening
            .starts_with("[*] Listening on 127.0.0.1:"),
        "{listening}"
    );
    let address = Running::address_from(&listening);
    assert_ne!(address.port(), 0);
    (server, address)
}

/// The three lines a server prints for one client that sent `received`.
fn served_lines(
    client: SocketAddr,
    received: &str,
) -> Vec<String> {
    vec![
        format!("[*] Accepted connection from: {client}"),
        received.to_string(),
        client.to_string(),
    ]
}

/// The next lines are a marker client's three: nothing else was printed
/// before them.
fn assert_no_stray_lines(
    server: &Running,
    address: SocketAddr,
) {
    let (client, reply) =
        exchange_from(address, b"marker");
    reply.expect("the reply should end cleanly");
    assert_eq!(
        server.next_lines(3),
        served_lines(client, "[*] Received: b'marker'")
    );
}

/// thread-per-client answers each client `ACK!` and prints tcp-server's
/// three lines for it.
#[test]
fn thread_per_client_answers_ack() {
    let (server, address) =
        start("thread-per-client", &[]);
    for _ in 0..2 {
        let (client, reply) =
            exchange_from(address, REQUEST);
        assert_eq!(
            reply.expect("the reply should end cleanly"),
            b"ACK!"
        );
        assert_eq!(
            server.next_lines(3),
            served_lines(client, REQUEST_PRINTED)
        );
    }
    assert_no_stray_lines(&server, address);
}

/// A client that sends nothing holds only its own thread: the next client
/// is served meanwhile, and the silent one is dropped after `-w` with a
/// line that names it.
#[test]
fn thread_per_client_serves_others_while_one_is_silent() {
    let (server, address) =
        start("thread-per-client", &["-w", "1"]);
    let silent =
        TcpStream::connect_timeout(&address, DEADLINE)
            .expect("the server should accept");
    let silent_address =
        silent.local_addr().expect("connected");
    assert_eq!(
        server.next_line(),
        format!(
            "[*] Accepted connection from: {silent_address}"
        )
    );

    let (client, reply) =
        exchange_from(address, b"hello");
    assert_eq!(
        reply.expect("the reply should end cleanly"),
        b"ACK!"
    );
    assert_eq!(
        server.next_lines(3),
        served_lines(client, "[*] Received: b'hello'")
    );

    assert_eq!(
        server.next_line(),
        format!(
            "[!] {silent_address}: sent nothing in time"
        )
    );
    // Dropped, and so closed: the silent client reads the end of stream.
    let mut silent = silent;
    silent
        .set_read_timeout(Some(DEADLINE))
        .expect("timeout should set");
    let mut rest = Vec::new();
    silent
        .read_to_end(&mut rest)
        .expect("the close should be clean");
    assert_eq!(rest, b"");
}

/// echo sends back exactly the bytes it received, and prints the same
/// three lines as tcp-server.
#[test]
fn echo_sends_back_what_it_received() {
    let (server, address) = start("echo", &[]);
    for request in [REQUEST, b"it's \x00\xff\n"] {
        let (client, reply) =
            exchange_from(address, request);
        assert_eq!(
            reply.expect("the reply should end cleanly"),
            request
        );
        let printed = format!(
            "[*] Received: {}",
            common::PythonBytes(request)
        );
        assert_eq!(
            server.next_lines(3),
            served_lines(client, &printed)
        );
    }
    assert_no_stray_lines(&server, address);
}
