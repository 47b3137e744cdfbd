//! tcp-client's exercises, and the peers that check them: a web server
//! whose page is longer than one `read`, and a server that records the
//! request and answers `ACK!`. Used by `tests/check.rs` and
//! `tests/exercises.rs`.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::exercises::{
    Exercise, Program, first_error_line,
    python_bytes_value, thousands,
};
use crate::support::{DEADLINE, text};

pub const EXERCISES: &[Exercise] = &[
    Exercise {
        number: 1,
        check: gets_the_whole_page,
        still_running: "does your loop stop when `read` returns 0?",
    },
    Exercise {
        number: 2,
        check: names_the_host,
        still_running: "does it wait for something that never comes?",
    },
];

/// The page the web server sends, headers and all: 6,210 bytes, of which
/// the first 4,096 go at once and the rest a moment later.
pub fn page() -> Vec<u8> {
    let mut body =
        String::from("<!DOCTYPE html>\n<html>\n<body>\n");
    for line in 1..=218 {
        body.push_str(&format!(
            "<p>line {line:03} of the page</p>\n"
        ));
    }
    body.push_str("</body>\n</html>\n");
    let mut page = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    page.extend_from_slice(body.as_bytes());
    page
}

/// How much of the page goes in the first piece: one `read`'s worth.
const FIRST_PIECE: usize = 4096;

/// Accepts one connection within [`DEADLINE`], or `None` if no client
/// came; the check then says so rather than wait for ever.
fn accept(listener: &TcpListener) -> Option<TcpStream> {
    listener
        .set_nonblocking(true)
        .expect("nonblocking should set");
    let started = Instant::now();
    while started.elapsed() < DEADLINE {
        match listener.accept() {
            Ok((connection, _)) => {
                connection
                    .set_nonblocking(false)
                    .expect("blocking should set");
                connection
                    .set_read_timeout(Some(DEADLINE))
                    .expect("timeout should set");
                return Some(connection);
            }
            Err(_) => {
                thread::sleep(Duration::from_millis(5))
            }
        }
    }
    None
}

/// Reads a request up to the blank line that ends its headers.
fn read_request(connection: &mut TcpStream) -> Vec<u8> {
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") {
        match connection.read(&mut byte) {
            Ok(1) => request.push(byte[0]),
            _ => break,
        }
    }
    request
}

/// Listens on `address` and serves one connection in a thread with
/// `serve`, which gets the request. Returns the port and the thread, which
/// gives back the request.
fn peer(
    address: &str,
    serve: fn(&mut TcpStream),
) -> (String, thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind(address)
        .expect("loopback should bind");
    let port = listener
        .local_addr()
        .expect("bound")
        .port()
        .to_string();
    let thread = thread::spawn(move || {
        let Some(mut connection) = accept(&listener)
        else {
            return Vec::new();
        };
        let request = read_request(&mut connection);
        serve(&mut connection);
        request
    }); // The connection closes here: the end of the stream.
    (port, thread)
}

/// Sends the page in two pieces, the second 100 ms after the first, so that
/// a client that reads once gets only the first.
fn serve_the_page(connection: &mut TcpStream) {
    let page = page();
    let _ = connection.set_nodelay(true);
    let _ = connection.write_all(&page[..FIRST_PIECE]);
    thread::sleep(Duration::from_millis(100));
    let _ = connection.write_all(&page[FIRST_PIECE..]);
}

fn answer_ack(connection: &mut TcpStream) {
    let _ = connection.write_all(b"ACK!");
}

/// Exercise 1: the program prints the whole page, once.
fn gets_the_whole_page(
    program: &Program,
) -> Result<(), String> {
    let (port, server) =
        peer("127.0.0.1:0", serve_the_page);
    let output =
        program.run(&["-w", "5", "127.0.0.1", &port])?;
    let _ = server.join();
    if !output.status.success() {
        return Err(format!(
            "stopped with `{}`",
            first_error_line(&output)
        ));
    }
    let page = page();
    let stdout = text(&output.stdout);
    let printed: Vec<Vec<u8>> = stdout
        .lines()
        .filter_map(python_bytes_value)
        .collect();
    match printed.as_slice() {
        [whole] if whole == &page => Ok(()),
        [start] if page.starts_with(start) => Err(format!(
            "printed {} of {} bytes; keep reading until `read` returns 0",
            thousands(start.len()),
            thousands(page.len())
        )),
        [] => Err(format!("printed no bytes: {stdout:?}")),
        [_] => Err("printed bytes that the server did not send; print \
                    only what each `read` returned"
            .to_string()),
        pieces => Err(format!(
            "printed {} pieces; collect them, and print once after the loop",
            pieces.len()
        )),
    }
}

/// Exercise 2: the Host line names the host, in brackets for IPv6.
fn names_the_host(
    program: &Program,
) -> Result<(), String> {
    for (listen_on, host, header) in [
        ("127.0.0.1:0", "127.0.0.1", "Host: 127.0.0.1"),
        ("[::1]:0", "::1", "Host: [::1]"),
    ] {
        let (port, server) = peer(listen_on, answer_ack);
        let output = program.run(&[host, &port])?;
        let request = server.join().unwrap_or_default();
        let request = String::from_utf8_lossy(&request);
        let expected =
            format!("GET / HTTP/1.1\r\n{header}\r\n\r\n");
        if request != expected {
            let sent = request
                .lines()
                .find(|line| line.starts_with("Host:"))
                .map_or_else(
                    || format!("{request:?}"),
                    |line| format!("`{line}`"),
                );
            return Err(format!(
                "sent {sent} to {host}; it should say `{header}`"
            ));
        }
        if text(&output.stdout) != "b'ACK!'\n" {
            return Err(format!(
                "sent the right request to {host}, but printed {:?} \
                 rather than b'ACK!'",
                text(&output.stdout)
            ));
        }
    }
    Ok(())
}
