//! The asynchronous twins, Rust's `examples/async-server/` on tokio and
//! `docs/python/tcp_server_async.py` on asyncio: all four pairs with the
//! two clients, and the guarantees the Rust twin keeps from tcp-server.

#[path = "../../common/tests/support/mod.rs"]
pub mod support;

use std::io::{ErrorKind, Read as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::{DEADLINE, Running, run_with_limit, text};

/// The course's request, as both clients send it.
const RECEIVED: &str = r"[*] Received: b'GET / HTTP/1.1\r\nHost: google.com\r\n\r\n'";

/// A program of the workspace, freshly built: tcp-client is another
/// package's, which `CARGO_BIN_EXE_` does not see.
fn built(relative_path: &str) -> Command {
    let program = support::fresh_workspace_binaries()
        .join(relative_path);
    Command::new(PathBuf::from(format!(
        "{}{}",
        program.display(),
        std::env::consts::EXE_SUFFIX
    )))
}

fn async_server() -> Command {
    built("examples/async-server")
}

/// Starts a server on 127.0.0.1, port 0, and checks the address it
/// printed.
fn start_server(
    command: &mut Command,
) -> (Running, SocketAddr) {
    let server =
        Running::start(command.args(["127.0.0.1", "0"]));
    let first_line = server.next_line();
    let address = Running::address_from(&first_line);
    assert_eq!(
        first_line,
        format!("[*] Listening on {address}")
    );
    (server, address)
}

/// Starts the Rust twin with `options`.
fn start_rust(options: &[&str]) -> (Running, SocketAddr) {
    start_server(async_server().args(options))
}

/// The two servers, and what each prints for the peer's address.
#[derive(Clone, Copy, Debug)]
enum Server {
    Rust,
    Python,
}

impl Server {
    /// Starts the server on 127.0.0.1, port 0, and reads the address it
    /// printed. `None` where python3 is missing.
    fn start(
        self,
        test_name: &str,
    ) -> Option<(Running, SocketAddr)> {
        let mut command = match self {
            Server::Rust => async_server(),
            Server::Python => {
                let mut python =
                    support::python3(test_name)?;
                python.arg(support::python_script(
                    "tcp_server_async.py",
                ));
                python
            }
        };
        Some(start_server(&mut command))
    }

    /// `print(writer.get_extra_info("peername"))` prints a tuple; Rust
    /// prints the address as `IP:PORT`.
    fn peer_line(self, peer: SocketAddr) -> String {
        match self {
            Server::Rust => peer.to_string(),
            Server::Python => {
                format!(
                    "('{}', {})",
                    peer.ip(),
                    peer.port()
                )
            }
        }
    }
}

/// Runs one client, Rust's or Python's, against `address`, and returns
/// what it printed on stdout, asserting that it succeeded and said
/// nothing on stderr.
fn run_client(
    rust: bool,
    address: SocketAddr,
    test_name: &str,
) -> Option<String> {
    let port = address.port().to_string();
    let mut client = if rust {
        built("tcp-client")
    } else {
        let mut python = support::python3(test_name)?;
        python
            .arg(support::python_script("tcp_client.py"));
        python
    };
    let output = run_with_limit(
        client.args(["127.0.0.1", &port]),
        DEADLINE,
    );
    assert_eq!(text(&output.stderr), "");
    assert_eq!(output.status.code(), Some(0));
    Some(text(&output.stdout))
}

/// Each of the four pairs (Rust or Python async server, Rust or Python
/// client) exchanges the course's request and `ACK!`: the client prints
/// `b'ACK!'`, and the server prints its three lines for that client.
#[test]
fn all_four_pairs_exchange_the_courses_bytes() {
    const NAME: &str =
        "all_four_pairs_exchange_the_courses_bytes";
    for server_kind in [Server::Rust, Server::Python] {
        let Some((server, address)) =
            server_kind.start(NAME)
        else {
            return;
        };
        for rust_client in [true, false] {
            let pair = format!(
                "{server_kind:?} server, rust client: {rust_client}"
            );
            let Some(printed) =
                run_client(rust_client, address, NAME)
            else {
                return;
            };
            assert_eq!(printed, "b'ACK!'\n", "{pair}");
            let lines = server.next_lines(3);
            let peer: SocketAddr = lines[0]
                .strip_prefix(
                    "[*] Accepted connection from: ",
                )
                .and_then(|peer| peer.parse().ok())
                .unwrap_or_else(|| {
                    panic!("{pair}: {lines:?}")
                });
            assert_eq!(peer.ip(), address.ip(), "{pair}");
            assert_eq!(
                lines[1..],
                [
                    RECEIVED.to_string(),
                    server_kind.peer_line(peer)
                ],
                "{pair}"
            );
        }
        assert_eq!(
            server
                .line_within(Duration::from_millis(300)),
            None
        );
    }
}

/// The Python twin prints its first line at once even into a pipe, as the
/// benchmark reads it: without `python3 -u`, a plain `print` would sit in
/// Python's buffer.
#[test]
fn the_python_twin_says_where_it_listens_at_once() {
    if support::python3(
        "the_python_twin_says_where_it_listens_at_once",
    )
    .is_none()
    {
        return;
    }
    let mut unbuffered_off = Command::new("python3");
    unbuffered_off
        .arg(support::python_script(
            "tcp_server_async.py",
        ))
        .args(["127.0.0.1", "0"]);
    let server = Running::start(&mut unbuffered_off);
    let line = server.next_line();
    let address = Running::address_from(&line);
    assert_eq!(
        line,
        format!("[*] Listening on {address}")
    );
}

/// However the request arrives (in one write, in two, or larger than the
/// 1024-byte buffer), the client reads `ACK!` and then a clean end of
/// stream, never a reset: the graceful close at work.
#[test]
fn every_request_shape_gets_ack_and_a_clean_end() {
    const REQUEST: &[u8] =
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let large = vec![b'x'; 3000];
    let shapes: [(&str, &[u8], &[u8]); 3] = [
        ("one write", REQUEST, b""),
        ("two writes", &REQUEST[..16], &REQUEST[16..]),
        ("3000 bytes", &large[..1500], &large[1500..]),
    ];
    let (_server, address) = start_rust(&[]);
    for (shape, first, second) in shapes {
        for attempt in 0..200 {
            match support::split_exchange(
                address,
                first,
                second,
                Duration::ZERO,
            ) {
                Ok(reply) => {
                    assert_eq!(
                        reply, b"ACK!",
                        "{shape} #{attempt}"
                    )
                }
                Err(error) => {
                    panic!("{shape} #{attempt}: {error}")
                }
            }
        }
    }
}

/// Connects, sends nothing, and returns the socket and its address.
fn silent_connection(
    address: SocketAddr,
) -> (TcpStream, SocketAddr) {
    let silent =
        TcpStream::connect_timeout(&address, DEADLINE)
            .expect(
                "the server's backlog should take us",
            );
    silent
        .set_read_timeout(Some(DEADLINE))
        .expect("timeout should set");
    let local = silent.local_addr().expect("bound");
    (silent, local)
}

/// Whether the server closed a silent client: an end of stream, or a reset
/// where it had nothing to read.
fn assert_closed(mut silent: TcpStream) {
    let mut rest = Vec::new();
    let result = silent.read_to_end(&mut rest);
    assert!(
        matches!(&result, Ok(0))
            || matches!(&result, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "{result:?}"
    );
}

/// A silent client is dropped after `-w` with tcp-server's line.
#[test]
fn a_silent_client_is_dropped_after_the_wait() {
    let (server, address) = start_rust(&["-w", "0.3"]);
    let (silent, silent_address) =
        silent_connection(address);
    assert_closed(silent);
    assert_eq!(
        server.next_lines(2),
        [
            format!(
                "[*] Accepted connection from: {silent_address}"
            ),
            format!(
                "[!] {silent_address}: sent nothing for 0.3 s: timed out"
            ),
        ]
    );
}

/// With `--max-clients 1`, a second client is not even accepted while a
/// silent one holds the only seat; it is served once `-w` has dropped the
/// silent one.
#[test]
fn the_bound_on_clients_holds() {
    let (server, address) =
        start_rust(&["--max-clients", "1", "-w", "0.5"]);
    let (silent, silent_address) =
        silent_connection(address);
    assert_eq!(
        server.next_line(),
        format!(
            "[*] Accepted connection from: {silent_address}"
        )
    );
    let (talker, reply) =
        support::exchange_from(address, b"my turn");
    assert_eq!(reply.expect("a clean end"), b"ACK!");
    // Without the bound, the talker would be accepted at once, and its
    // line would come before the silent one's drop, 0.5 s later.
    assert_eq!(
        server.next_lines(4),
        [
            format!(
                "[!] {silent_address}: sent nothing for 0.5 s: timed out"
            ),
            format!(
                "[*] Accepted connection from: {talker}"
            ),
            "[*] Received: b'my turn'".to_string(),
            talker.to_string(),
        ]
    );
    assert_closed(silent);
}

/// A bad port is a usage error naming the async twin; a taken port is one
/// `error:` line with tcp-server's advice.
#[test]
fn bad_input_gets_a_clear_error() {
    let program = async_server()
        .get_program()
        .to_string_lossy()
        .into_owned();
    support::assert_usage_errors(
        &program,
        "usage: async-server [-w SECS] [--max-clients N] [BIND_IP] [PORT]",
        &support::bad_port_cases("127.0.0.1", true),
    );
    let taken =
        std::net::TcpListener::bind("127.0.0.1:0")
            .expect("binds");
    let port = taken
        .local_addr()
        .expect("bound")
        .port()
        .to_string();
    support::assert_fails_with(
        &program,
        &["127.0.0.1", &port],
        &format!(
            "error: could not bind to 127.0.0.1:{port}: "
        ),
        Some(
            "another program listens on that port: stop it, or pick \
             another port (0 picks any free one)",
        ),
    );
}

/// Where `a_shortage_of_descriptors_is_reported_and_outlived` cannot run, say so (the test below says what it checks).
#[cfg(not(unix))]
#[test]
fn a_shortage_of_descriptors_is_reported_and_outlived() {
    support::not_on_this_system(
        "a_shortage_of_descriptors_is_reported_and_outlived",
        "it limits descriptors with `ulimit -n`, a Unix shell built-in",
    );
}

/// With 32 file descriptors and 40 silent clients, `accept` runs short:
/// the server says so at most once a second rather than at every retry,
/// and serves a normal client once `-w` has dropped silent ones.
#[cfg(unix)]
#[test]
fn a_shortage_of_descriptors_is_reported_and_outlived() {
    let program = async_server().get_program().to_owned();
    let (server, address) = start_server(
        Command::new("sh")
            .args([
                "-c",
                "ulimit -n 32 && exec \"$0\" \"$@\"",
            ])
            .arg(program)
            .args(["-w", "1"]),
    );
    let silent: Vec<(TcpStream, SocketAddr)> = (0..40)
        .map(|_| silent_connection(address))
        .collect();
    let started = std::time::Instant::now();
    let (normal, reply) =
        support::exchange_from(address, b"normal");
    assert_eq!(reply.expect("a clean end"), b"ACK!");
    let took = started.elapsed();
    let mut lines = Vec::new();
    while lines.last() != Some(&normal.to_string()) {
        lines.push(server.next_line());
    }
    let shortages = lines
        .iter()
        .filter(|line| {
            line.starts_with(
                "[!] could not accept a connection: ",
            ) && line.ends_with(
                "; waiting for a client to leave",
            )
        })
        .count();
    assert!(
        shortages >= 1,
        "should have run short: {lines:?}"
    );
    let most = 2 + took.as_secs() as usize;
    assert!(
        shortages <= most,
        "{shortages} lines in {took:?}"
    );
    drop(silent);
}
