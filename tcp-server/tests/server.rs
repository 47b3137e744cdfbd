//! tcp-server against clients on loopback: clients the test plays with
//! std::net, and the Python reference client.

#[path = "../../common/tests/support/mod.rs"]
pub mod support;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;

use support::{DEADLINE, Running, run_with_limit, text};

fn tcp_server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tcp-server"))
}

/// Starts the server on an ephemeral loopback port and returns it with the
/// address it printed.
fn start_server(
    bind_ip: &str,
    extra_arguments: &[&str],
) -> (Running, SocketAddr) {
    let server = Running::start(
        tcp_server()
            .args(extra_arguments)
            .args([bind_ip, "0"]),
    );
    let first_line = server.next_line();
    let address = Running::address_from(&first_line);
    assert_eq!(
        first_line,
        format!("[*] Listening on {address}")
    );
    (server, address)
}

/// Answers `ACK!`, then closes, and prints the script's lines in its order.
#[test]
fn answers_ack_and_prints_every_line() {
    let (server, address) =
        start_server("127.0.0.1", &[]);
    assert_eq!(address.ip().to_string(), "127.0.0.1");
    let mut client =
        TcpStream::connect_timeout(&address, DEADLINE)
            .expect("should connect");
    let client_address =
        client.local_addr().expect("bound");
    client
        .set_read_timeout(Some(DEADLINE))
        .expect("timeout should set");
    std::io::Write::write_all(
        &mut client,
        b"hello\x00'\r\n",
    )
    .expect("should send");
    let mut reply = Vec::new();
    std::io::Read::read_to_end(&mut client, &mut reply)
        .expect("should read to a clean end");
    assert_eq!(reply, b"ACK!");
    assert_eq!(
        server.next_lines(3),
        [
            format!(
                "[*] Accepted connection from: {client_address}"
            ),
            r#"[*] Received: b"hello\x00'\r\n""#
                .to_string(),
            client_address.to_string(),
        ]
    );
}

/// Works end to end over IPv6 `::1`.
#[test]
fn serves_over_ipv6() {
    let (server, address) = start_server("::1", &[]);
    assert_eq!(address.ip().to_string(), "::1");
    let reply = support::exchange(address, b"over six");
    assert_eq!(reply, b"ACK!");
    let lines = server.next_lines(3);
    assert!(
        lines[0].starts_with(
            "[*] Accepted connection from: [::1]:"
        ),
        "{lines:?}"
    );
    assert_eq!(lines[1], "[*] Received: b'over six'");
    assert!(lines[2].starts_with("[::1]:"), "{lines:?}");
}

/// The Python reference client gets `ACK!`, and we print its request.
#[test]
fn works_with_the_python_reference_client() {
    let Some(mut python) = support::python3(
        "works_with_the_python_reference_client",
    ) else {
        return;
    };
    let (server, address) =
        start_server("127.0.0.1", &[]);
    let output = run_with_limit(
        python
            .arg(support::python_script("tcp_client.py"))
            .args([
                "127.0.0.1",
                &address.port().to_string(),
            ]),
        DEADLINE,
    );
    // Python's print ends the line with \r\n on Windows.
    assert_eq!(
        text(&output.stdout),
        format!("b'ACK!'{}", support::PYTHON_LINE_END)
    );
    assert_eq!(output.status.code(), Some(0));
    let lines = server.next_lines(3);
    assert!(
        lines[0].starts_with(
            "[*] Accepted connection from: 127.0.0.1:"
        ),
        "{lines:?}"
    );
    assert_eq!(
        lines[1],
        r"[*] Received: b'GET / HTTP/1.1\r\nHost: google.com\r\n\r\n'"
    );
    assert_eq!(
        lines[2],
        lines[0].trim_start_matches(
            "[*] Accepted connection from: "
        )
    );
}

/// Each bad command line gives exit status 2, one error line and the usage.
#[test]
fn rejects_bad_command_lines_with_status_2() {
    let mut cases =
        support::bad_port_cases("127.0.0.1", true);
    cases.extend([
        (
            vec!["--max-clients", "0"],
            "invalid value '0' for --max-clients: expected 1 or more"
                .to_string(),
        ),
        (vec!["--verbose"], "unknown option '--verbose'".to_string()),
        (vec!["127.0.0.1", "1", "2"], "unexpected argument '2'".to_string()),
    ]);
    support::assert_usage_errors(
        env!("CARGO_BIN_EXE_tcp-server"),
        "usage: tcp-server [-w SECS] [--max-clients N] [BIND_IP] [PORT]",
        &cases,
    );
}

/// `--help` shows the defaults, the bound and the partner, within 80
/// columns.
#[test]
fn help_shows_defaults_and_the_partner() {
    support::assert_help(
        env!("CARGO_BIN_EXE_tcp-server"),
        "Listens on BIND_IP:PORT over TCP. For each client it prints the
request, answers ACK! and closes. Port 0 picks any free port.
The Rust twin of docs/python/tcp_server.py.

usage: tcp-server [-w SECS] [--max-clients N] [BIND_IP] [PORT]

  BIND_IP           default: 0.0.0.0
  PORT              default: 9999
  -w SECS           drop a client silent for SECS; 0: never (default: 5)
                    a SECS below 0.001 counts as 0.001 (1 ms)
  --max-clients N   at most N at once (default: 1000)
  -h, --help        print this help
  -V, --version     print the version

Example, in two terminals:
  cargo run -p tcp-server
  cargo run -p tcp-client -- 127.0.0.1 9999
",
    );
}

/// A port that is taken gives one line naming the address, and advice.
#[test]
fn a_taken_port_fails_cleanly() {
    let taken = TcpListener::bind("127.0.0.1:0")
        .expect("loopback should bind");
    let port = taken.local_addr().expect("bound").port();
    support::assert_fails_with(
        env!("CARGO_BIN_EXE_tcp-server"),
        &["127.0.0.1", &port.to_string()],
        &format!(
            "error: could not bind to 127.0.0.1:{port}: "
        ),
        Some(
            "another program listens on that port: stop it, or pick another \
             port (0 picks any free one)",
        ),
    );
}

/// A reserved `.invalid` name fails with one line and status 1.
#[test]
fn a_bind_name_that_does_not_resolve_fails_cleanly() {
    support::assert_fails_with(
        env!("CARGO_BIN_EXE_tcp-server"),
        &["no-such-host.invalid", "0"],
        "error: could not look up 'no-such-host.invalid': ",
        None,
    );
}

/// `localhost` binds 127.0.0.1, as the script's AF_INET socket would, even
/// where the system lists `::1` first.
#[test]
fn localhost_listens_on_ipv4_loopback() {
    let (_server, address) =
        start_server("localhost", &[]);
    assert_eq!(address.ip().to_string(), "127.0.0.1");
}
