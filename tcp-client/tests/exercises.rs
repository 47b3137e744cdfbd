//! The answers to tcp-client's exercises, `examples/read-to-end.rs` and
//! `examples/name-the-host.rs`, against peers on loopback that the test
//! plays with std::net, and Python's own http.server.

#[path = "../../common/tests/support/mod.rs"]
mod support;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::Duration;

use support::{
    DEADLINE, Running, example, run_with_limit, text,
};

/// The reply the peers below send, in three parts.
const REPLY_PARTS: [&[u8]; 3] = [
    b"HTTP/1.0 200 OK\r\n\r\n",
    b"<p>it's ",
    b"all\xff</p>\n",
];

/// Accepts one connection, failing the test after [`DEADLINE`] rather than
/// waiting for ever for a client that never came.
fn accept_within_deadline(
    listener: &TcpListener,
) -> TcpStream {
    listener
        .set_nonblocking(true)
        .expect("nonblocking should set");
    let started = std::time::Instant::now();
    loop {
        match listener.accept() {
            Ok((connection, _)) => {
                connection
                    .set_nonblocking(false)
                    .expect("blocking should set");
                return connection;
            }
            Err(error)
                if error.kind()
                    == std::io::ErrorKind::WouldBlock =>
            {
                assert!(
                    started.elapsed() < DEADLINE,
                    "no client came"
                );
                thread::sleep(Duration::from_millis(5));
            }
            Err(error) => {
                panic!("accept failed: {error}")
            }
        }
    }
}

/// Reads a request up to the blank line that ends its headers.
fn read_request(connection: &mut TcpStream) -> Vec<u8> {
    connection
        .set_read_timeout(Some(DEADLINE))
        .expect("timeout should set");
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") {
        match connection
            .read(&mut byte)
            .expect("the request should arrive")
        {
            0 => break,
            _ => request.push(byte[0]),
        }
    }
    request
}

/// Serves one connection: records the request, sends the reply in three
/// parts with pauses between them, and closes. Returns the request.
fn serve_in_parts(
    listener: TcpListener,
) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut connection =
            accept_within_deadline(&listener);
        let request = read_request(&mut connection);
        // Without Nagle's delay, each part leaves as a segment of its own.
        connection
            .set_nodelay(true)
            .expect("nodelay should set");
        for (number, part) in
            REPLY_PARTS.iter().enumerate()
        {
            if number > 0 {
                thread::sleep(Duration::from_millis(50));
            }
            connection
                .write_all(part)
                .expect("the part should send");
        }
        request
    }) // The connection closes here: the end of the stream.
}

fn loopback_listener(
    address: &str,
) -> (TcpListener, String) {
    let listener = TcpListener::bind(address)
        .expect("loopback should bind");
    let port =
        listener.local_addr().expect("bound").port();
    (listener, port.to_string())
}

/// read-to-end sends an HTTP/1.0 request and prints the whole reply, sent in
/// three parts, once, as Python bytes.
#[test]
fn read_to_end_prints_every_part_of_the_reply() {
    let (listener, port) =
        loopback_listener("127.0.0.1:0");
    let peer = serve_in_parts(listener);
    let output = run_with_limit(
        example("read-to-end").args(["127.0.0.1", &port]),
        DEADLINE,
    );
    let request =
        peer.join().expect("the peer should finish");
    assert_eq!(request, b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(text(&output.stderr), "");
    assert_eq!(
        text(&output.stdout),
        "b\"HTTP/1.0 200 OK\\r\\n\\r\\n<p>it's all\\xff</p>\\n\"\n"
    );
    assert!(output.status.success());
}

/// tcp-client, which reads once, prints only the first part of the reply
/// that read-to-end prints whole.
#[test]
fn tcp_client_prints_only_what_its_one_read_returned() {
    let (listener, port) =
        loopback_listener("127.0.0.1:0");
    let peer = thread::spawn(move || {
        let mut connection =
            accept_within_deadline(&listener);
        let request = read_request(&mut connection);
        connection
            .write_all(REPLY_PARTS[0])
            .expect("the part should send");
        // Send no more until the client has closed, so that its one read
        // can only have returned the first part.
        let mut rest = Vec::new();
        let _ = connection.read_to_end(&mut rest);
        request
    });
    let output = run_with_limit(
        Command::new(env!("CARGO_BIN_EXE_tcp-client"))
            .args(["127.0.0.1", &port]),
        DEADLINE,
    );
    let request =
        peer.join().expect("the peer should finish");
    assert_eq!(
        request,
        b"GET / HTTP/1.1\r\nHost: google.com\r\n\r\n"
    );
    assert_eq!(
        text(&output.stdout),
        "b'HTTP/1.0 200 OK\\r\\n\\r\\n'\n"
    );
    assert!(output.status.success());
}

/// A server that stops sending but never closes makes
/// read-to-end give up after `-w`, with a line that says so
/// and what to do.
#[test]
fn read_to_end_gives_up_on_a_server_that_never_closes() {
    let (listener, port) =
        loopback_listener("127.0.0.1:0");
    let peer = thread::spawn(move || {
        let mut connection =
            accept_within_deadline(&listener);
        let request = read_request(&mut connection);
        connection
            .write_all(REPLY_PARTS[0])
            .expect("the part should send");
        // Hold the connection open until the client leaves.
        let mut rest = Vec::new();
        let _ = connection.read_to_end(&mut rest);
        request
    });
    let started = std::time::Instant::now();
    let output = run_with_limit(
        example("read-to-end").args([
            "-w",
            "0.3",
            "127.0.0.1",
            &port,
        ]),
        DEADLINE,
    );
    assert!(
        started.elapsed() >= Duration::from_millis(300)
    );
    let request =
        peer.join().expect("the peer should finish");
    assert_eq!(request, b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "");
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: 127.0.0.1:{port} went quiet without closing\n\
             help: the reply is printed once the server closes; \
             wait longer with -w SECS\n"
        )
    );
}

/// Against Python's http.server, read-to-end gets a page of 11000 bytes
/// whole, far more than one 4096-byte read, because the server closes after
/// an HTTP/1.0 request.
#[test]
fn read_to_end_gets_a_whole_page_from_python_http_server()
{
    let Some(mut python) = support::python3(
        "read_to_end_gets_a_whole_page_from_python_http_server",
    ) else {
        return;
    };
    let folder = std::env::temp_dir().join(format!(
        "read-to-end-test-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&folder)
        .expect("the folder should be made");
    let page = "0123456789\n".repeat(1000);
    std::fs::write(folder.join("index.html"), &page)
        .expect("the page should be written");
    python.args([
        "-m",
        "http.server",
        "0",
        "--bind",
        "127.0.0.1",
    ]);
    let server = Running::start(
        python.arg("--directory").arg(&folder),
    );
    // "Serving HTTP on 127.0.0.1 port 40000 (http://127.0.0.1:40000/) ..."
    let serving = server.next_line();
    let port = serving
        .split(" port ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| {
            panic!("{serving:?} should name the port")
        });

    let output = run_with_limit(
        example("read-to-end").args(["127.0.0.1", port]),
        DEADLINE,
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&folder);
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with("b'HTTP/1.0 200 OK\\r\\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "\\r\\nContent-Length: 11000\\r\\n"
        ),
        "{stdout}"
    );
    let body = page.replace('\n', "\\n");
    assert!(
        stdout
            .ends_with(&format!("\\r\\n\\r\\n{body}'\n")),
        "{stdout}"
    );
    assert!(output.status.success());
}

/// Serves one connection: records the request, answers `ACK!` and closes.
fn answer_ack(
    listener: TcpListener,
) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut connection =
            accept_within_deadline(&listener);
        let request = read_request(&mut connection);
        connection
            .write_all(b"ACK!")
            .expect("the reply should send");
        request
    })
}

/// name-the-host names 127.0.0.1 in its Host header, and prints the reply.
#[test]
fn name_the_host_names_an_ipv4_host() {
    let (listener, port) =
        loopback_listener("127.0.0.1:0");
    let peer = answer_ack(listener);
    let output = run_with_limit(
        example("name-the-host")
            .args(["127.0.0.1", &port]),
        DEADLINE,
    );
    let request =
        peer.join().expect("the peer should finish");
    assert_eq!(
        request,
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    );
    assert_eq!(text(&output.stderr), "");
    assert_eq!(text(&output.stdout), "b'ACK!'\n");
    assert!(output.status.success());
}

/// Over IPv6, name-the-host puts `::1` in brackets, whether it was typed
/// with them or without.
#[test]
fn name_the_host_brackets_an_ipv6_host() {
    for typed in ["::1", "[::1]"] {
        let (listener, port) =
            loopback_listener("[::1]:0");
        let peer = answer_ack(listener);
        let output = run_with_limit(
            example("name-the-host").args([typed, &port]),
            DEADLINE,
        );
        let request =
            peer.join().expect("the peer should finish");
        assert_eq!(
            request,
            b"GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n",
            "{typed}"
        );
        assert_eq!(
            text(&output.stdout),
            "b'ACK!'\n",
            "{typed}"
        );
        assert!(output.status.success(), "{typed}");
    }
}
