//! tcp-server's exercises, and the clients that check them: a silent
//! client followed by one that talks, and a client whose request should
//! come back. Used by `tests/check.rs` and `tests/exercises.rs`.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::PythonBytes;

use crate::support::exercises::{Exercise, Program};
use crate::support::{DEADLINE, Running};

pub const EXERCISES: &[Exercise] = &[
    Exercise {
        number: 5,
        check: a_thread_for_each_client,
        still_running: "",
    },
    Exercise {
        number: 6,
        check: echoes_the_request,
        still_running: "",
    },
];

/// The course's request, byte for byte.
const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: google.com\r\n\r\n";

/// How long a client waits for its reply. A server that has not answered
/// by then on loopback is not going to, even on a busy machine; only a
/// server that keeps a client waiting makes the check wait this long.
const REPLY_WAIT: Duration = Duration::from_secs(10);

/// Starts the server on 127.0.0.1, port 0, with `options`, and reads back
/// the address it printed.
fn start(
    program: &Program,
    options: &[&str],
) -> Result<(Running, SocketAddr), String> {
    let server = Running::start(
        program
            .command()
            .args(options)
            .args(["127.0.0.1", "0"]),
    );
    let line =
        server.line_within(DEADLINE).unwrap_or_default();
    let address = line
        .strip_prefix("[*] Listening on ")
        .and_then(|address| address.parse().ok())
        .ok_or_else(|| {
            format!(
                "printed {line:?} rather than `[*] Listening on 127.0.0.1:PORT`"
            )
        })?;
    Ok((server, address))
}

/// Sends `request` on `client` and reads the reply up to the end of the
/// stream, for at most [`REPLY_WAIT`].
fn reply_to(
    mut client: TcpStream,
    request: &[u8],
) -> std::io::Result<Vec<u8>> {
    client.set_read_timeout(Some(REPLY_WAIT))?;
    client.write_all(request)?;
    let mut reply = Vec::new();
    client.read_to_end(&mut reply)?;
    Ok(reply)
}

/// Connects one client, or says that the server refused it.
fn connect(
    address: SocketAddr,
) -> Result<TcpStream, String> {
    TcpStream::connect_timeout(&address, DEADLINE)
        .map_err(|error| {
            format!("refused a client: {error}")
        })
}

/// Exercise 5: with room for one client at a time (`--max-clients 1`), a
/// client that has not spoken yet still gets its answer after another
/// client was served. The crew drops it to make room; a thread of its own
/// waits for it, as the script's does.
fn a_thread_for_each_client(
    program: &Program,
) -> Result<(), String> {
    let (_server, address) =
        start(program, &["--max-clients", "1"])?;
    let silent = connect(address)?;
    // Long enough that the crew counts it as silent.
    thread::sleep(Duration::from_millis(300));
    match reply_to(connect(address)?, REQUEST) {
        Ok(reply) if reply == b"ACK!" => {}
        Ok(reply) => {
            return Err(format!(
                "answered {} rather than b'ACK!'",
                PythonBytes(&reply)
            ));
        }
        Err(_) => {
            return Err(
                "a silent client held up the next one; \
                        give each client its own thread"
                    .to_string(),
            );
        }
    }
    match reply_to(silent, REQUEST) {
        Ok(reply) if reply == b"ACK!" => Ok(()),
        _ => Err("a silent client was dropped to serve the next; \
                  give each its own thread"
            .to_string()),
    }
}

/// Exercise 6: the reply is the request, byte for byte.
fn echoes_the_request(
    program: &Program,
) -> Result<(), String> {
    let (_server, address) = start(program, &[])?;
    let request = b"Hello!";
    let reply = reply_to(connect(address)?, request)
        .map_err(|error| {
            format!("sent no reply: {error}")
        })?;
    if reply == request {
        Ok(())
    } else if reply.starts_with(request) {
        Err(format!(
            "sent back {} bytes for {}; send only the bytes that \
             `read` filled in",
            reply.len(),
            request.len()
        ))
    } else {
        Err(format!(
            "sent {}, got {}; send back the bytes you received",
            PythonBytes(request),
            PythonBytes(&reply)
        ))
    }
}
