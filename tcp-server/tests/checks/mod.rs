//! tcp-server's exercises, and the clients that check them: a silent
//! client followed by one that talks, and a client whose request should
//! come back. Used by `tests/check.rs` and `tests/exercises.rs`.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
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
    Exercise {
        number: 7,
        check: echoes_until_the_client_closes,
        still_running: "",
    },
    Exercise {
        number: 8,
        check: keeps_a_shared_total,
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

/// Reads until `wanted` bytes have come, the stream ends, or
/// [`REPLY_WAIT`] passes, and returns what came.
fn read_up_to(
    client: &mut TcpStream,
    wanted: usize,
) -> Vec<u8> {
    let mut reply = vec![0u8; wanted];
    let mut filled = 0;
    while filled < wanted {
        match client.read(&mut reply[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(count) => filled += count,
        }
    }
    reply.truncate(filled);
    reply
}

/// Exercise 7 (the async twin): each message comes back, and the server
/// closes only after the client has.
fn echoes_until_the_client_closes(
    program: &Program,
) -> Result<(), String> {
    let (_server, address) = start(program, &[])?;
    let mut client = connect(address)?;
    client.set_read_timeout(Some(REPLY_WAIT)).map_err(
        |error| {
            format!("could not set a timeout: {error}")
        },
    )?;
    for (number, message) in
        [&b"Hello!"[..], b"again"].iter().enumerate()
    {
        // A write after the server has closed may still succeed: the
        // read below tells.
        let _ = client.write_all(message);
        let reply =
            read_up_to(&mut client, message.len());
        if reply == *message {
            continue;
        }
        return Err(if number > 0 && reply.is_empty() {
            "echoed only the first message; keep reading until \
             `read` returns 0"
                .to_string()
        } else {
            format!(
                "sent {}, got {}; send back each message you receive",
                PythonBytes(message),
                PythonBytes(&reply)
            )
        });
    }
    let _ = client.shutdown(Shutdown::Write);
    let mut rest = Vec::new();
    match client.read_to_end(&mut rest) {
        Ok(_) if rest.is_empty() => Ok(()),
        Ok(_) => Err(format!(
            "sent {} after the messages; send back only what you read",
            PythonBytes(&rest)
        )),
        Err(_) => Err("did not close after the client did; stop when \
                       `read` returns 0"
            .to_string()),
    }
}

/// Exercise 8 (the async twin): after each request, the server prints the
/// bytes of all requests so far, one total shared by every task.
fn keeps_a_shared_total(
    program: &Program,
) -> Result<(), String> {
    let (server, address) = start(program, &[])?;
    let mut total = 0;
    for request in [&b"Hello!"[..], b"Hi"] {
        total += request.len();
        let client = connect(address)?;
        let client_address =
            client.local_addr().map_err(|error| {
                format!("no local address: {error}")
            })?;
        match reply_to(client, request) {
            Ok(reply) if reply == b"ACK!" => {}
            _ => return Err("stopped answering ACK!; answer as before".to_string()),
        }
        // The server's last line for a client is the client's address.
        let mut lines = Vec::new();
        while lines.last()
            != Some(&client_address.to_string())
        {
            match server.line_within(REPLY_WAIT) {
                Some(line) => lines.push(line),
                None => break,
            }
        }
        let wanted =
            format!("[*] Received so far: {total} bytes");
        match lines.iter().find(|line| {
            line.starts_with("[*] Received so far")
        }) {
            Some(line) if *line == wanted => {}
            Some(line) => {
                return Err(format!(
                    "printed `{line}` after {total} bytes in all; add \
                     every client's bytes to one shared total"
                ));
            }
            None => {
                return Err(format!(
                    "printed no `{wanted}` line; print the total after \
                     each request"
                ));
            }
        }
    }
    Ok(())
}
