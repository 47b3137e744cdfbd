//! tcp-client against peers on loopback: one the test plays with std::net,
//! Python's own http.server, and the Python reference server.

#[path = "../../common/tests/support/mod.rs"]
mod support;

use std::io::{Read as _, Write as _};
use std::net::{
    SocketAddr, TcpListener, ToSocketAddrs as _,
};
use std::process::Command;
use std::thread;
use std::time::Duration;

use support::{DEADLINE, Running, run_with_limit, text};

fn tcp_client() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tcp-client"))
}

/// Serves one connection: records the request up to the blank line that
/// ends its headers, sends `reply`, closes, and returns the request.
fn serve_once(
    listener: TcpListener,
    reply: &'static [u8],
) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let (mut connection, _) = listener
            .accept()
            .expect("the client should connect");
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
        connection
            .write_all(reply)
            .expect("the reply should send");
        request
    })
}

fn run_against(
    listen_on: &str,
    host_argument: &str,
) -> (Vec<u8>, std::process::Output) {
    let listener = TcpListener::bind(listen_on)
        .expect("loopback should bind");
    let port =
        listener.local_addr().expect("bound").port();
    let server = serve_once(
        listener,
        b"HTTP/1.0 200 OK\r\n\r\nit's\x1b[0m\xff",
    );
    let output = run_with_limit(
        tcp_client()
            .args([host_argument, &port.to_string()]),
        DEADLINE,
    );
    (
        server
            .join()
            .expect("the server thread should finish"),
        output,
    )
}

/// Sends the course's exact request over IPv4 and prints the reply as
/// Python would.
#[test]
fn sends_the_request_and_prints_the_reply_like_python() {
    let (request, output) =
        run_against("127.0.0.1:0", "127.0.0.1");
    assert_eq!(
        request,
        b"GET / HTTP/1.1\r\nHost: google.com\r\n\r\n"
    );
    assert_eq!(
        text(&output.stdout),
        "b\"HTTP/1.0 200 OK\\r\\n\\r\\nit's\\x1b[0m\\xff\"\n"
    );
    assert_eq!(text(&output.stderr), "");
    assert_eq!(output.status.code(), Some(0));
}

/// Works end to end over IPv6 `::1`, with the course's exact request.
#[test]
fn talks_to_an_ipv6_server() {
    let (request, output) = run_against("[::1]:0", "::1");
    assert_eq!(
        request,
        b"GET / HTTP/1.1\r\nHost: google.com\r\n\r\n"
    );
    assert_eq!(
        text(&output.stdout),
        "b\"HTTP/1.0 200 OK\\r\\n\\r\\nit's\\x1b[0m\\xff\"\n"
    );
    assert_eq!(output.status.code(), Some(0));
}

/// Python's own `http.server` answers the request with a real HTTP response.
#[test]
fn gets_a_real_http_response_from_python_http_server() {
    let Some(mut python) = support::python3(
        "gets_a_real_http_response_from_python_http_server",
    ) else {
        return;
    };
    let folder = std::env::temp_dir();
    let server = Running::start(
        python
            .args([
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
            ])
            .arg("--directory")
            .arg(&folder),
    );
    // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
    let banner = server.next_line();
    let port =
        banner.split(' ').nth(5).unwrap_or_else(|| {
            panic!("unexpected banner {banner:?}")
        });
    let output = run_with_limit(
        tcp_client().args(["127.0.0.1", port]),
        DEADLINE,
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{output:?}"
    );
    let printed = text(&output.stdout);
    assert!(
        printed.starts_with(
            "b'HTTP/1.0 200 OK\\r\\nServer: SimpleHTTP/"
        ),
        "{printed:?}"
    );
    // http.server writes its headers and its page separately, so one read
    // may return the headers alone: only the start and the end are certain.
    assert!(printed.ends_with("'\n"), "{printed:?}");
}

/// The Python reference server receives our request and answers `ACK!`.
#[test]
fn works_with_the_python_reference_server() {
    let Some(mut python) = support::python3(
        "works_with_the_python_reference_server",
    ) else {
        return;
    };
    let server = Running::start(
        python
            .arg(support::python_script("tcp_server.py"))
            .args(["127.0.0.1", "0"]),
    );
    let address =
        Running::address_from(&server.next_line());
    let output = run_with_limit(
        tcp_client().args([
            "127.0.0.1",
            &address.port().to_string(),
        ]),
        DEADLINE,
    );
    assert_eq!(text(&output.stdout), "b'ACK!'\n");
    assert_eq!(output.status.code(), Some(0));
    let lines = server.next_lines(3);
    assert!(lines[0].starts_with(
        "[*] Accepted connection from: 127.0.0.1:"
    ));
    assert_eq!(
        lines[1],
        r"[*] Received: b'GET / HTTP/1.1\r\nHost: google.com\r\n\r\n'"
    );
    assert!(
        lines[2].starts_with("('127.0.0.1', "),
        "{lines:?}"
    );
}

/// Each bad command line gives exit status 2, one error line and the usage.
#[test]
fn rejects_bad_command_lines_with_status_2() {
    let mut cases =
        support::bad_port_cases("127.0.0.1", false);
    cases.extend([
        (vec!["--bogus"], "unknown option '--bogus'".to_string()),
        (vec!["a", "1", "extra"], "unexpected argument 'extra'".to_string()),
        (vec!["-w"], "-w needs a value".to_string()),
        (
            vec!["-w", "soon"],
            "invalid value 'soon' for -w: expected seconds from 0 to 86400"
                .to_string(),
        ),
        (
            vec!["-w", "-1e-400"],
            "invalid value '-1e-400' for -w: expected seconds from 0 to 86400"
                .to_string(),
        ),
        (vec!["[]"], "HOST must not be empty".to_string()),
    ]);
    support::assert_usage_errors(
        env!("CARGO_BIN_EXE_tcp-client"),
        "usage: tcp-client [-w SECS] [HOST] [PORT]",
        &cases,
    );
}

/// A command line that is not UTF-8 is a usage error, not a panic.
#[cfg(unix)]
#[test]
fn a_non_utf8_argument_is_a_usage_error() {
    use std::os::unix::ffi::OsStrExt as _;
    let bad = std::ffi::OsStr::from_bytes(b"caf\xe9");
    let output =
        run_with_limit(tcp_client().arg(bad), DEADLINE);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: argument \"caf\\xE9\" is not valid UTF-8\n\
         usage: tcp-client [-w SECS] [HOST] [PORT]\n\
         for more, try --help\n"
    );
}

/// Windows passes a command line as UTF-16, so the test above, which builds
/// one from bytes that are not UTF-8, is for Unix only.
#[cfg(not(unix))]
#[test]
fn a_non_utf8_argument_is_a_usage_error() {
    support::not_on_this_system(
        "a_non_utf8_argument_is_a_usage_error",
        "it builds a command line from bytes, which only Unix allows",
    );
}

/// `--version` names the program and its version.
#[test]
fn version_names_the_program() {
    support::assert_version(
        env!("CARGO_BIN_EXE_tcp-client"),
        "tcp-client",
    );
}

/// `--help` shows the defaults and how to run the client with its partner,
/// within 80 columns.
#[test]
fn help_shows_defaults_and_the_partner() {
    support::assert_help(
        env!("CARGO_BIN_EXE_tcp-client"),
        "Connects to HOST:PORT over TCP, sends an HTTP GET request and
prints the first reply as Python's print(bytes) would.
The Rust twin of docs/python/tcp_client.py.

usage: tcp-client [-w SECS] [HOST] [PORT]

  HOST              default: www.google.com
  PORT              default: 80
  -w SECS           give up after SECS seconds; 0 waits forever (default: 5)
                    a SECS below 0.001 counts as 0.001 (1 ms)
  -h, --help        print this help
  -V, --version     print the version

Example, in two terminals:
  cargo run -p tcp-server
  cargo run -p tcp-client -- 127.0.0.1 9999
",
    );
}

/// A reserved `.invalid` name fails with one error line, a hint
/// for trying the client without a network, and status 1.
#[test]
fn a_name_that_does_not_resolve_fails_cleanly() {
    support::assert_fails_with(
        env!("CARGO_BIN_EXE_tcp-client"),
        &["no-such-host.invalid", "80"],
        "error: could not look up 'no-such-host.invalid': ",
        Some(
            "looking up a name needs a network; to stay on this \
             machine, start `cargo run -p tcp-server`, then run \
             `cargo run -p tcp-client -- 127.0.0.1 9999`",
        ),
    );
}

/// A refused connection on loopback says so and suggests starting the server.
#[test]
fn a_refused_connection_suggests_starting_the_server() {
    let port = closed_port("127.0.0.1:0");
    let output = run_with_limit(
        tcp_client()
            .args(["127.0.0.1", &port.to_string()]),
        DEADLINE,
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: could not connect to 127.0.0.1 port {port} \
             (127.0.0.1:{port}: connection refused)\n\
             help: is the server running? `cargo run -p tcp-server`\n"
        )
    );
    assert_eq!(text(&output.stdout), "");
}

/// `localhost` reaches a server that listens on 127.0.0.1 only, whatever
/// order the system lists `::1` and 127.0.0.1 in.
#[test]
fn localhost_reaches_a_server_on_ipv4_loopback() {
    let (request, output) =
        run_against("127.0.0.1:0", "localhost");
    assert_eq!(
        request,
        b"GET / HTTP/1.1\r\nHost: google.com\r\n\r\n"
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(text(&output.stderr), "");
}

/// A server that accepts but never answers makes the client give up after `-w`.
#[test]
fn a_silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0")
        .expect("loopback should bind");
    let port =
        listener.local_addr().expect("bound").port();
    let output = run_with_limit(
        tcp_client().args([
            "-w",
            "0.3",
            "127.0.0.1",
            &port.to_string(),
        ]),
        Duration::from_secs(10),
    );
    drop(listener);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: no reply from 127.0.0.1 port {port} in time\n\
             help: wait longer with -w SECS, or -w 0 to wait forever\n"
        )
    );
}

/// A listener on `address` whose queue of connections is full, so that the
/// system drops any new connection's SYN and the client's connect waits.
/// Returns the listener, the connection that fills its queue, and its port;
/// `None` if the address cannot be bound.
fn full_listener(
    address: &str,
) -> Option<(socket2::Socket, std::net::TcpStream, u16)> {
    let address: SocketAddr =
        address.parse().expect("a literal address");
    let listener = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::STREAM,
        None,
    )
    .expect("a socket");
    listener.bind(&address.into()).ok()?;
    // A backlog of 0 queues one connection and no more.
    listener.listen(0).expect("listen should work");
    let bound = listener
        .local_addr()
        .expect("bound")
        .as_socket()
        .expect("an IP address");
    let filler = std::net::TcpStream::connect_timeout(
        &bound, DEADLINE,
    )
    .expect("the first connection should queue");
    Some((listener, filler, bound.port()))
}

/// Runs tcp-client with `-w 3` (1 on Windows) against `host` and `port`, where every
/// address's connect waits, and checks that it gives up once, naming each
/// address as timed out, with advice: no sooner than 3 s after it started,
/// and, with several addresses, before a wait of 3 s for each would have
/// ended. The 3 s leave a busy machine room to start the program. On
/// Windows a full queue refuses (Microsoft's `listen` page,
/// <https://learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-listen>),
/// but only after about 2 s of retried SYNs, so there the wait is 1 s, for
/// the timeout to come first.
fn assert_one_deadline(
    host: &str,
    port: u16,
    tried: &[String],
) {
    let wait = Duration::from_secs(if cfg!(windows) {
        1
    } else {
        3
    });
    let started = std::time::Instant::now();
    let output = run_with_limit(
        tcp_client().args([
            "-w",
            &wait.as_secs().to_string(),
            host,
            &port.to_string(),
        ]),
        DEADLINE,
    );
    let took = started.elapsed();
    let reasons: Vec<String> = tried
        .iter()
        .map(|address| format!("{address}: timed out"))
        .collect();
    // Every address is on this machine, so the advice names the server,
    // and says why a refusal on Windows can look like this.
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: could not connect to {host} port {port} ({})\n\
             help: is the server running? `cargo run -p tcp-server`; \
             if it is, it may be too busy. On Windows a refusal takes \
             about 2 s to arrive, so with -w under 2 it shows as a \
             timeout\n",
            reasons.join("; ")
        )
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(took >= wait, "{took:?}");
    if tried.len() > 1 {
        let addresses = u32::try_from(tried.len())
            .expect("a handful of addresses");
        assert!(took < wait * addresses, "{took:?}");
    }
}

/// An address that never answers uses up `-w`, and the client gives up
/// then, with a line that says which address timed out.
#[test]
fn an_unanswered_connect_gives_up_at_the_deadline() {
    let (_listener, _filler, port) =
        full_listener("127.0.0.1:0")
            .expect("loopback should bind");
    assert_one_deadline(
        "127.0.0.1",
        port,
        &[format!("127.0.0.1:{port}")],
    );
}

/// With two addresses that never answer, 127.0.0.1 and ::1, `-w` is one
/// deadline for both, not a wait for each. That needs a name with both
/// addresses: where `localhost` has only one, the test says it skipped.
#[test]
fn every_address_shares_one_deadline() {
    let addresses: Vec<SocketAddr> =
        ("localhost", 9).to_socket_addrs().map_or_else(
            |_| Vec::new(),
            |addresses| addresses.collect(),
        );
    if !(addresses.iter().any(SocketAddr::is_ipv4)
        && addresses.iter().any(SocketAddr::is_ipv6))
    {
        support::skipped(
            "every_address_shares_one_deadline",
            "localhost has no IPv4 and IPv6 address both here",
        );
        return;
    }
    // The same port, with a full queue, on both; try a few ports.
    for _ in 0..20 {
        let (_v4, _v4_filler, port) =
            full_listener("127.0.0.1:0")
                .expect("loopback should bind");
        let Some(_v6) =
            full_listener(&format!("[::1]:{port}"))
        else {
            continue;
        };
        let tried: Vec<String> =
            common_lookup_order(&addresses, port);
        assert_one_deadline("localhost", port, &tried);
        return;
    }
    panic!("no port was free on both 127.0.0.1 and ::1");
}

/// The addresses tcp-client tries, in its order: IPv4 first.
fn common_lookup_order(
    addresses: &[SocketAddr],
    port: u16,
) -> Vec<String> {
    let mut ordered: Vec<SocketAddr> = addresses
        .iter()
        .map(|address| {
            SocketAddr::new(address.ip(), port)
        })
        .collect();
    ordered.sort_by_key(SocketAddr::is_ipv6);
    ordered.dedup();
    ordered.iter().map(ToString::to_string).collect()
}

/// A port that was free a moment ago: bind it, note it, let it go.
fn closed_port(bind: &str) -> u16 {
    let listener = TcpListener::bind(bind)
        .expect("loopback should bind");
    let address: SocketAddr =
        listener.local_addr().expect("bound");
    address.port()
}

/// `--help` into a pipe nobody reads (`tcp-client --help | head -0`) exits
/// with status 0 and no panic.
#[test]
fn help_into_a_closed_pipe_does_not_panic() {
    let mut child = tcp_client()
        .arg("--help")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the client should start");
    // Close our end at once, before the client has started to write.
    drop(child.stdout.take());
    let output = support::wait_for_output(child);
    assert_eq!(text(&output.stderr), "");
    assert_eq!(output.status.code(), Some(0));
}
