//! tcp-server under stress: bursts, oversized and split requests, rude
//! clients, too few file descriptors, crowds of silent clients, and a closed
//! stdout. These tests check behaviour, not speed; `benches/load/`
//! measures speed.
//!
//! They hold on macOS's defaults too: each test opens at most about 100
//! connections, so the suite fits in `ulimit -n 256` with tests running in
//! parallel, and none counts on more than 128 connections waiting in the
//! listen backlog.

#[path = "../../common/tests/support/mod.rs"]
pub mod support;

use std::io::{
    BufRead as _, BufReader, ErrorKind, Read as _,
    Write as _,
};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use support::{DEADLINE, Running};

fn tcp_server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tcp-server"))
}

fn start(arguments: &[&str]) -> (Running, SocketAddr) {
    let server = Running::start(
        tcp_server()
            .args(arguments)
            .args(["127.0.0.1", "0"]),
    );
    let address =
        Running::address_from(&server.next_line());
    (server, address)
}

/// Connects and sends nothing.
fn silent_connection(address: SocketAddr) -> TcpStream {
    TcpStream::connect_timeout(&address, DEADLINE)
        .expect("the server's backlog should take us")
}

/// Checks that the lines of one exchange name the client and its request.
fn assert_served(
    lines: &[String],
    client_address: SocketAddr,
    received: &str,
) {
    let accepted = format!(
        "[*] Accepted connection from: {client_address}"
    );
    assert!(lines.contains(&accepted), "{lines:?}");
    let received = format!("[*] Received: {received}");
    assert!(lines.contains(&received), "{lines:?}");
    assert!(
        lines.contains(&client_address.to_string()),
        "{lines:?}"
    );
}

/// Reads lines until one equals `wanted`, and returns all of them.
fn lines_until(
    server: &Running,
    wanted: &str,
) -> Vec<String> {
    let mut lines = Vec::new();
    while lines.last().map(String::as_str) != Some(wanted)
    {
        lines.push(server.next_line());
    }
    lines
}

/// Reads lines until each of `wanted` has come, and returns all of them.
fn lines_until_all(
    server: &Running,
    wanted: &[&str],
) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    while !wanted.iter().all(|wanted| {
        lines.iter().any(|line| line == wanted)
    }) {
        lines.push(server.next_line());
    }
    lines
}

/// 100 clients at once each get exactly `ACK!` and a clean end of stream,
/// and the server prints three lines for each.
#[test]
fn a_burst_of_concurrent_clients_loses_no_ack() {
    const CLIENTS: usize = 100;
    let (server, address) = start(&[]);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|number| {
            thread::spawn(move || {
                let request = format!("client {number}");
                let (local, reply) =
                    support::exchange_from(
                        address,
                        request.as_bytes(),
                    );
                (
                    local,
                    number,
                    reply.expect("should end cleanly"),
                )
            })
        })
        .collect();
    let results: Vec<_> = clients
        .into_iter()
        .map(|client| {
            client
                .join()
                .expect("a client thread should finish")
        })
        .collect();
    let lines = server.next_lines(3 * CLIENTS);
    for (local, number, reply) in results {
        assert_eq!(reply, b"ACK!", "client {number}");
        assert_served(
            &lines,
            local,
            &format!("b'client {number}'"),
        );
    }
}

/// A request larger than 1024 bytes still gets `ACK!` and a clean end of
/// stream, not a reset, and the server prints the first 1024 bytes.
#[test]
fn an_oversized_request_gets_ack_and_a_clean_close() {
    let (server, address) = start(&[]);
    for size in [1025, 5_000, 60_000] {
        let request: Vec<u8> = (0..size)
            .map(|index| b'a' + (index % 26) as u8)
            .collect();
        let (local, reply) =
            support::exchange_from(address, &request);
        let reply = reply.unwrap_or_else(|error| {
            panic!("{size} bytes: the close should be clean, got {error}")
        });
        assert_eq!(reply, b"ACK!", "{size} bytes");
        let lines = server.next_lines(3);
        let first_1024 =
            String::from_utf8(request[..1024].to_vec())
                .expect("ASCII");
        assert_served(
            &lines,
            local,
            &format!("b'{first_1024}'"),
        );
    }
}

/// However the request arrives (in one write, in two back-to-back writes,
/// in two writes a few milliseconds apart, or larger than the 1024-byte
/// buffer), every client reads `ACK!` and then a clean end of stream,
/// never a reset.
#[test]
fn every_request_shape_gets_ack_and_a_clean_end() {
    const REQUEST: &[u8] =
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let large = vec![b'x'; 3000];
    // (shape, first write, second write, pause between them, tries)
    type Shape<'a> =
        (&'a str, &'a [u8], &'a [u8], Duration, usize);
    let shapes: [Shape; 4] = [
        ("one write", REQUEST, b"", Duration::ZERO, 500),
        (
            "two writes",
            &REQUEST[..16],
            &REQUEST[16..],
            Duration::ZERO,
            500,
        ),
        (
            "two writes 5 ms apart",
            &REQUEST[..16],
            &REQUEST[16..],
            Duration::from_millis(5),
            500,
        ),
        (
            "3000 bytes",
            &large[..1500],
            &large[1500..],
            Duration::ZERO,
            500,
        ),
    ];
    let (_server, address) = start(&[]);
    for (shape, first, second, pause, tries) in shapes {
        for attempt in 0..tries {
            match support::split_exchange(
                address, first, second, pause,
            ) {
                Ok(reply) => assert_eq!(
                    reply, b"ACK!",
                    "{shape} #{attempt}"
                ),
                Err(error) => {
                    panic!("{shape} #{attempt}: {error}")
                }
            }
        }
    }
}

/// Resets, instant closes and half-closes each print at most one line and
/// leave the server serving the next client, whose lines name it by the
/// address `accept` gave.
#[test]
fn survives_resets_instant_closes_and_half_closes() {
    let (server, address) = start(&[]);

    // A reset mid-exchange: send part of a request, then close with
    // SO_LINGER 0, which sends RST instead of FIN.
    let rude =
        socket2::Socket::from(silent_connection(address));
    rude.set_linger(Some(Duration::ZERO))
        .expect("linger should set");
    let rude = TcpStream::from(rude);
    let rude_address = rude.local_addr().expect("bound");
    (&rude).write_all(b"GET / HT").expect("should send");
    drop(rude);

    // Connect and close at once, as `nc -z` and health checks do.
    let instant = silent_connection(address);
    let instant_address =
        instant.local_addr().expect("bound");
    drop(instant);

    // Half-close: send nothing, say we are done, and still read the answer.
    let mut half = silent_connection(address);
    half.set_read_timeout(Some(DEADLINE))
        .expect("timeout should set");
    let half_address = half.local_addr().expect("bound");
    half.shutdown(Shutdown::Write)
        .expect("should half-close");
    let mut reply = Vec::new();
    half.read_to_end(&mut reply)
        .expect("should end cleanly");
    assert_eq!(reply, b"ACK!");

    // The server still serves a normal client.
    assert_eq!(
        support::exchange(address, b"still there?"),
        b"ACK!"
    );

    // Each client has a thread of its own, so their lines come in any
    // order: wait for the instant close's line too.
    let lines = lines_until_all(
        &server,
        &[
            "[*] Received: b'still there?'",
            &instant_address.to_string(),
        ],
    );
    for client in
        [rude_address, instant_address, half_address]
    {
        let accepted = format!(
            "[*] Accepted connection from: {client}"
        );
        assert!(lines.contains(&accepted), "{lines:?}");
    }
    // The instant close reads as an empty request, as in Python, and the
    // peer line names it by the address from `accept`.
    assert!(
        lines.contains(&instant_address.to_string()),
        "{lines:?}"
    );
    assert!(
        !lines
            .iter()
            .any(|line| line.contains("address")),
        "{lines:?}"
    );
    let accepted = lines
        .iter()
        .filter(|line| line.starts_with("[*] Accepted"))
        .count();
    assert_eq!(accepted, 4, "{lines:?}");
}

/// Starts the server with at most `descriptors` file descriptors.
#[cfg(unix)]
fn start_with_descriptors(
    descriptors: u32,
    arguments: &[&str],
) -> (Running, SocketAddr) {
    let server = Running::start(
        Command::new("sh")
            .args([
                "-c",
                &format!("ulimit -n {descriptors} && exec \"$0\" \"$@\""),
            ])
            .arg(env!("CARGO_BIN_EXE_tcp-server"))
            .args(arguments)
            .args(["127.0.0.1", "0"]),
    );
    let address =
        Running::address_from(&server.next_line());
    (server, address)
}

/// Where `serves_normal_clients_when_silent_ones_outnumber_descriptors` cannot run, say so (the test below says what it checks).
#[cfg(not(unix))]
#[test]
fn serves_normal_clients_when_silent_ones_outnumber_descriptors()
 {
    support::not_on_this_system(
        "serves_normal_clients_when_silent_ones_outnumber_descriptors",
        "it limits descriptors with `ulimit -n`, a Unix shell built-in",
    );
}

/// With 32 file descriptors and 60 silent clients held open, normal
/// clients are still served at once: silent clients are dropped to make
/// room, each with a log line, and the shortage is reported at most once a
/// second instead of at every retry.
#[cfg(unix)]
#[test]
fn serves_normal_clients_when_silent_ones_outnumber_descriptors()
 {
    let (server, address) =
        start_with_descriptors(32, &["-w", "30"]);
    let silent: Vec<TcpStream> = (0..60)
        .map(|_| silent_connection(address))
        .collect();
    let started = std::time::Instant::now();
    for number in 0..10 {
        let request = format!("normal {number}");
        let (_, reply) = support::exchange_from(
            address,
            request.as_bytes(),
        );
        assert_eq!(
            reply.expect("a clean end"),
            b"ACK!",
            "client {number}"
        );
    }
    let took = started.elapsed();
    let lines =
        lines_until(&server, "[*] Received: b'normal 9'");
    let shortages = lines
        .iter()
        .filter(|line| {
            line.starts_with(
                "[!] could not accept a connection: ",
            )
        })
        .count();
    let dropped = lines
        .iter()
        .filter(|line| {
            line.ends_with("while another client waited: dropped to make room")
        })
        .count();
    assert!(dropped >= 1, "{lines:?}");
    assert!(
        shortages >= 1,
        "the server should have run short: {lines:?}"
    );
    let most = 2 + took.as_secs() as usize;
    assert!(
        shortages <= most,
        "{shortages} shortage lines in {took:?}"
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
    drop(silent);
}

/// Where `the_thread_bound_holds` cannot run, say so (the test below says what it checks).
#[cfg(not(target_os = "linux"))]
#[test]
fn the_thread_bound_holds() {
    support::not_on_this_system(
        "the_thread_bound_holds",
        "it counts threads in /proc, which only Linux has",
    );
}

/// With `--max-clients 4`, 20 silent clients never make the server run
/// more than 4 client threads, and a normal client is still served.
#[cfg(target_os = "linux")]
#[test]
fn the_thread_bound_holds() {
    let (server, address) =
        start(&["--max-clients", "4", "-w", "30"]);
    let threads = || {
        let status = std::fs::read_to_string(format!(
            "/proc/{}/status",
            server.id()
        ))
        .expect("procfs");
        status
            .lines()
            .find_map(|line| {
                line.strip_prefix("Threads:")
            })
            .and_then(|count| {
                count.trim().parse::<usize>().ok()
            })
            .expect("a Threads line")
    };
    let mut most = 0;
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(silent_connection(address));
        most = most.max(threads());
    }
    assert_eq!(
        support::exchange(address, b"normal"),
        b"ACK!"
    );
    most = most.max(threads());
    assert!(
        most <= 5,
        "{most} threads: 4 clients and the main thread"
    );
    drop(silent);
}

/// With `--max-clients 10`, 20 silent clients and then 5 normal ones:
/// each client beyond the bound drops exactly one silent client, the
/// oldest first, with its line, and every normal client is answered.
#[test]
fn serves_normal_clients_while_silent_ones_are_held() {
    const BOUND: usize = 10;
    const SILENT: usize = 2 * BOUND;
    const NORMAL: usize = 5;
    let (server, address) =
        start(&["-w", "30", "--max-clients", "10"]);
    let silent: Vec<TcpStream> = (0..SILENT)
        .map(|_| silent_connection(address))
        .collect();
    for number in 0..NORMAL {
        let request = format!("normal {number}");
        let (_, reply) = support::exchange_from(
            address,
            request.as_bytes(),
        );
        assert_eq!(reply.expect("a clean end"), b"ACK!");
    }
    // Each silent client beyond the bound dropped the oldest one, in
    // order. A normal client drops one more only if it finds the last
    // one's thread still busy with its close: so the 5 youngest are
    // never dropped.
    for (age, client) in silent.iter().enumerate() {
        let mut client = client;
        let wait = if age < SILENT - BOUND {
            DEADLINE
        } else {
            Duration::from_millis(200)
        };
        client
            .set_read_timeout(Some(wait))
            .expect("sets");
        let read = client.read(&mut [0u8; 1]);
        if age < SILENT - BOUND {
            assert_eq!(
                read.expect("an end"),
                0,
                "client {age}"
            );
        } else if age >= SILENT - NORMAL {
            assert!(
                read.as_ref().is_err_and(|error| {
                    error.kind() == ErrorKind::WouldBlock
                }),
                "client {age}: {read:?}"
            );
        }
    }
    // Each drop has its line, which names one of the oldest 15 and how
    // long it was silent: LEAST_SILENCE (0.1 s) at least, more on a busy
    // machine. Threads write these lines, so they come in any order.
    let oldest: Vec<String> = silent[..SILENT - NORMAL]
        .iter()
        .map(|client| {
            client
                .local_addr()
                .expect("bound")
                .to_string()
        })
        .collect();
    let mut dropped = Vec::new();
    while dropped.len() < SILENT - BOUND {
        let line = server.next_line();
        if !line.starts_with("[!]") {
            continue;
        }
        let (client, seconds) = line
            .strip_prefix("[!] ")
            .and_then(|line| line.strip_suffix(
                " s while another client waited: dropped to make room",
            ))
            .and_then(|line| line.split_once(": sent nothing for "))
            .unwrap_or_else(|| panic!("{line}"));
        let seconds: f64 =
            seconds.parse().expect("seconds");
        assert!(seconds >= 0.1, "{line}");
        assert!(
            oldest.contains(&client.to_string()),
            "{line}"
        );
        assert!(
            !dropped.contains(&client.to_string()),
            "{line}"
        );
        dropped.push(client.to_string());
    }
}

/// With standard output closed (`tcp-server | head -3`), the server keeps
/// answering. It is first shown to print its lines as each client is
/// served, so the clients after the close do make it write to the closed
/// pipe.
#[test]
fn keeps_serving_when_stdout_is_closed() {
    let child = tcp_server()
        .args(["127.0.0.1", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server should start");
    let mut server = support::Killed(child);
    let mut stdout = BufReader::new(
        server.0.stdout.take().expect("piped"),
    );
    let mut read_line = || {
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("a line should arrive");
        line.trim_end().to_string()
    };
    let address = Running::address_from(&read_line());
    let (local, reply) =
        support::exchange_from(address, b"before");
    assert_eq!(reply.expect("a clean end"), b"ACK!");
    assert_eq!(
        [read_line(), read_line(), read_line()],
        [
            format!(
                "[*] Accepted connection from: {local}"
            ),
            "[*] Received: b'before'".to_string(),
            local.to_string(),
        ]
    );
    drop(stdout); // Like `head -4`: stop reading, close the pipe.
    for number in 0..3 {
        let request = format!("after head {number}");
        assert_eq!(
            support::exchange(
                address,
                request.as_bytes()
            ),
            b"ACK!"
        );
    }
    assert!(
        server.is_running(),
        "the server should still run"
    );
    let stderr = server.0.stderr.take().expect("piped");
    let _ = server.0.kill();
    let mut said = String::new();
    let _ =
        BufReader::new(stderr).read_to_string(&mut said);
    assert_eq!(
        said, "",
        "the server should not complain or panic"
    );
}

/// A silent client is dropped after `-w` with one line that says so.
#[test]
fn a_silent_client_is_dropped_after_the_wait() {
    let (server, address) = start(&["-w", "0.3"]);
    let mut silent = silent_connection(address);
    let silent_address =
        silent.local_addr().expect("bound");
    silent
        .set_read_timeout(Some(DEADLINE))
        .expect("timeout should set");
    let mut rest = Vec::new();
    let result = silent.read_to_end(&mut rest);
    assert!(
        matches!(&result, Ok(0))
            || matches!(&result, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "{result:?}"
    );
    let lines = server.next_lines(2);
    assert_eq!(
        lines[0],
        format!(
            "[*] Accepted connection from: {silent_address}"
        )
    );
    assert_eq!(
        lines[1],
        format!(
            "[!] {silent_address}: sent nothing for 0.3 s: timed out"
        )
    );
}

/// Exactly one `[!]` line among `lines`, and it starts and ends so: the
/// seconds in between are measured, so they vary.
fn assert_one_drop(
    lines: &[String],
    starts: &str,
    ends: &str,
) {
    let dropped: Vec<&String> = lines
        .iter()
        .filter(|line| line.starts_with("[!]"))
        .collect();
    assert_eq!(dropped.len(), 1, "{lines:?}");
    assert!(
        dropped[0].starts_with(starts)
            && dropped[0].ends_with(ends),
        "{lines:?}"
    );
}

/// With every thread held by a silent client, one newcomer drops exactly
/// one of them, the one that has waited longest, and says so; the others
/// stay connected.
#[test]
fn one_newcomer_drops_one_silent_client() {
    const SILENT: usize = 20;
    let max_clients = SILENT.to_string();
    let (server, address) = start(&[
        "-w",
        "30",
        "--max-clients",
        &max_clients,
    ]);
    let mut silent = Vec::new();
    for _ in 0..SILENT {
        silent.push(silent_connection(address));
        // Each one older than the next, in the server's eyes too.
        thread::sleep(Duration::from_millis(5));
    }
    let oldest = silent[0].local_addr().expect("bound");
    let lines = lines_until(
        &server,
        &format!(
            "[*] Accepted connection from: {}",
            silent[SILENT - 1]
                .local_addr()
                .expect("bound")
        ),
    );
    assert_eq!(lines.len(), SILENT, "{lines:?}");
    // Long enough that every one may give way.
    thread::sleep(Duration::from_millis(200));
    let (newcomer, reply) =
        support::exchange_from(address, b"newcomer");
    assert_eq!(reply.expect("a clean end"), b"ACK!");
    let lines =
        lines_until(&server, &newcomer.to_string());
    assert_one_drop(
        &lines,
        &format!("[!] {oldest}: sent nothing for "),
        " s while another client waited: dropped to make room",
    );
    // The oldest sees the end of its stream; the others are still held.
    let mut first = &silent[0];
    first.set_read_timeout(Some(DEADLINE)).expect("sets");
    assert_eq!(
        first.read(&mut [0u8; 1]).expect("an end"),
        0
    );
    for (number, client) in
        silent.iter().enumerate().skip(1)
    {
        client.set_nonblocking(true).expect("sets");
        let read = (&*client).read(&mut [0u8; 1]);
        assert!(
            matches!(&read, Err(error) if error.kind() == ErrorKind::WouldBlock),
            "silent client {number}: {read:?}"
        );
    }
}

/// A client that got `ACK!` but never closes holds its thread only until
/// somebody needs it: then it is dropped with a line that says what it
/// did not do. The newcomer must come within the drain's 1 s; on a
/// machine so busy that it came later (the drain ended by itself, with
/// no line), the try proves nothing and is made again, up to 5 times.
#[test]
fn a_client_that_never_closes_gives_way() {
    for _try in 0..5 {
        let (server, address) =
            start(&["-w", "30", "--max-clients", "1"]);
        let mut lingering = TcpStream::connect(address)
            .expect("connects");
        let lingering_address =
            lingering.local_addr().expect("bound");
        lingering.write_all(b"hello").expect("sends");
        lingering
            .set_read_timeout(Some(DEADLINE))
            .expect("sets");
        let mut reply = Vec::new();
        lingering
            .read_to_end(&mut reply)
            .expect("ACK! and FIN");
        assert_eq!(reply, b"ACK!");
        let answered = std::time::Instant::now();
        // The server now waits (up to 1 s) for this client to close;
        // after LEAST_SILENCE (100 ms) it may give way.
        thread::sleep(Duration::from_millis(150));
        let (newcomer, reply) =
            support::exchange_from(address, b"newcomer");
        let late = answered.elapsed()
            >= Duration::from_millis(900);
        assert_eq!(reply.expect("a clean end"), b"ACK!");
        let lines =
            lines_until(&server, &newcomer.to_string());
        if late
            && !lines
                .iter()
                .any(|line| line.starts_with("[!]"))
        {
            continue; // The drain ended first: try again.
        }
        return assert_one_drop(
            &lines,
            &format!(
                "[!] {lingering_address}: did not close for "
            ),
            " s after ACK! while another client waited: dropped to make room",
        );
    }
    panic!(
        "5 tries, each too slow to tell: is the machine that busy?"
    );
}

/// Where `a_tiny_wait_serves_requests_already_there` cannot run, say so (the test below says what it checks).
#[cfg(not(unix))]
#[test]
fn a_tiny_wait_serves_requests_already_there() {
    support::not_on_this_system(
        "a_tiny_wait_serves_requests_already_there",
        "it pauses the server with SIGSTOP, which Windows has not",
    );
}

/// However small `-w` is, clients whose request is already waiting are
/// served: the server is paused (SIGSTOP) while 20 clients connect and
/// send, then resumed.
#[cfg(unix)]
#[test]
fn a_tiny_wait_serves_requests_already_there() {
    let (server, address) = start(&["-w", "1e-9"]);
    let signal = |name: &str| {
        let status = Command::new("kill")
            .args([name, &server.id().to_string()])
            .status()
            .expect("kill should run");
        assert!(status.success(), "kill {name}");
    };
    signal("-STOP");
    let clients: Vec<TcpStream> = (0..20)
        .map(|number| {
            let mut client = silent_connection(address);
            client
                .write_all(
                    format!("request {number}")
                        .as_bytes(),
                )
                .expect("sends");
            client
                .set_read_timeout(Some(DEADLINE))
                .expect("sets");
            client
        })
        .collect();
    signal("-CONT");
    for (number, mut client) in
        clients.into_iter().enumerate()
    {
        let mut reply = Vec::new();
        client
            .read_to_end(&mut reply)
            .expect("a clean end");
        assert_eq!(reply, b"ACK!", "client {number}");
    }
    let lines = lines_until(
        &server,
        "[*] Received: b'request 19'",
    );
    assert!(
        !lines.iter().any(|line| line.starts_with("[!]")),
        "{lines:?}"
    );
}
