//! tcp-server under stress: bursts, oversized requests, rude clients, too
//! few file descriptors, a closed stdout, and idle clients. These tests check
//! behaviour, not speed; `examples/load.rs` measures speed.

#[path = "../../common/tests/support/mod.rs"]
pub mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use support::{DEADLINE, Running};

fn tcp_server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tcp-server"))
}

fn start(arguments: &[&str]) -> (Running, SocketAddr) {
    let server =
        Running::start(tcp_server().args(arguments).args(["127.0.0.1", "0"]));
    let address = Running::address_from(&server.next_line());
    (server, address)
}

/// Connects and sends nothing.
fn idle_connection(address: SocketAddr) -> TcpStream {
    TcpStream::connect_timeout(&address, DEADLINE)
        .expect("the server's backlog should take us")
}

/// Reads the lines of one exchange for a client at `client_address`.
fn assert_served(lines: &[String], client_address: SocketAddr, received: &str) {
    assert!(
        lines.contains(&format!(
            "[*] Accepted connection from: {client_address}"
        )),
        "{lines:?}"
    );
    assert!(lines.contains(&format!("[*] Received: {received}")), "{lines:?}");
    assert!(lines.contains(&client_address.to_string()), "{lines:?}");
}

/// 200 clients at once each get exactly `ACK!` and a clean end of stream,
/// and the server prints three lines for each.
#[test]
fn a_burst_of_concurrent_clients_loses_no_ack() {
    const CLIENTS: usize = 200;
    let (server, address) = start(&[]);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|number| {
            thread::spawn(move || {
                let request = format!("client {number}");
                let (local, reply) =
                    support::exchange_from(address, request.as_bytes());
                (local, number, reply.expect("should end cleanly"))
            })
        })
        .collect();
    let results: Vec<_> = clients
        .into_iter()
        .map(|client| client.join().expect("a client thread should finish"))
        .collect();
    let lines = server.next_lines(3 * CLIENTS);
    for (local, number, reply) in results {
        assert_eq!(reply, b"ACK!", "client {number}");
        assert_served(&lines, local, &format!("b'client {number}'"));
    }
}

/// A request larger than 1024 bytes still gets `ACK!` and a clean end of
/// stream, not a reset, and the server prints the first 1024 bytes.
#[test]
fn an_oversized_request_gets_ack_and_a_clean_close() {
    let (server, address) = start(&[]);
    for size in [1025, 5_000, 60_000] {
        let request: Vec<u8> =
            (0..size).map(|index| b'a' + (index % 26) as u8).collect();
        let (local, reply) = support::exchange_from(address, &request);
        let reply = reply.unwrap_or_else(|error| {
            panic!("{size} bytes: the close should be clean, got {error}")
        });
        assert_eq!(reply, b"ACK!", "{size} bytes");
        let lines = server.next_lines(3);
        let first_1024 =
            String::from_utf8(request[..1024].to_vec()).expect("ASCII");
        assert_served(&lines, local, &format!("b'{first_1024}'"));
    }
}

/// Resets, instant closes and half-closes each print at most one line and
/// leave the server serving the next client.
#[test]
fn survives_resets_instant_closes_and_half_closes() {
    let (server, address) = start(&[]);

    // A reset mid-exchange: send part of a request, then close with
    // SO_LINGER 0, which sends RST instead of FIN.
    let rude = socket2::Socket::from(idle_connection(address));
    rude.set_linger(Some(Duration::ZERO)).expect("linger should set");
    let rude = TcpStream::from(rude);
    let rude_address = rude.local_addr().expect("bound");
    (&rude).write_all(b"GET / HT").expect("should send");
    drop(rude);

    // Connect and close at once.
    drop(idle_connection(address));

    // Half-close: send nothing, say we are done, and still read the answer.
    let mut half = idle_connection(address);
    half.set_read_timeout(Some(DEADLINE)).expect("timeout should set");
    let half_address = half.local_addr().expect("bound");
    half.shutdown(Shutdown::Write).expect("should half-close");
    let mut reply = Vec::new();
    half.read_to_end(&mut reply).expect("should end cleanly");
    assert_eq!(reply, b"ACK!");

    // The server still serves a normal client.
    assert_eq!(support::exchange(address, b"still there?"), b"ACK!");

    // Every connection was accepted, and every line names a known client
    // or is one of the script's lines.
    let mut lines = Vec::new();
    while !lines
        .iter()
        .any(|line: &String| line == "[*] Received: b'still there?'")
    {
        lines.push(server.next_line());
    }
    assert!(
        lines
            .contains(&format!("[*] Accepted connection from: {rude_address}")),
        "{lines:?}"
    );
    assert!(
        lines
            .contains(&format!("[*] Accepted connection from: {half_address}")),
        "{lines:?}"
    );
    assert!(lines.contains(&"[*] Received: b''".to_string()), "{lines:?}");
    assert_eq!(
        lines.iter().filter(|line| line.starts_with("[*] Accepted")).count(),
        4,
        "{lines:?}"
    );
}

/// With only 64 file descriptors and 200 clients connecting, `accept` fails
/// for a while; the server backs off instead of spinning, and serves again
/// once the clients are gone.
#[cfg(unix)]
#[test]
fn recovers_from_running_out_of_file_descriptors() {
    let server = Running::start(
        Command::new("sh")
            .args(["-c", "ulimit -n 64 && exec \"$0\" \"$@\""])
            .arg(env!("CARGO_BIN_EXE_tcp-server"))
            .args(["-w", "30", "127.0.0.1", "0"]),
    );
    let address = Running::address_from(&server.next_line());
    let crowd: Vec<TcpStream> =
        (0..200).map(|_| idle_connection(address)).collect();

    // Let the server run out and retry for a while.
    let watch_until = Instant::now() + Duration::from_secs(2);
    let mut accept_failures = 0;
    while let Some(line) = server
        .line_within(watch_until.saturating_duration_since(Instant::now()))
    {
        if line.starts_with("[!] Could not accept a connection: ") {
            accept_failures += 1;
        }
    }
    assert!(
        accept_failures >= 1,
        "the server should have run out of descriptors"
    );
    // Backing off from 10 ms, doubling up to 1 s, gives about 8 retries in
    // 2 s. A spinning loop would print thousands.
    assert!(
        accept_failures <= 20,
        "{accept_failures} failed accepts in 2 s: spinning?"
    );

    drop(crowd);
    let started = Instant::now();
    let reply = loop {
        match std::panic::catch_unwind(|| {
            support::exchange(address, b"after the crowd")
        }) {
            Ok(reply) => break reply,
            Err(_) if started.elapsed() < DEADLINE => {
                thread::sleep(Duration::from_millis(100))
            }
            Err(_) => panic!("the server did not recover within {DEADLINE:?}"),
        }
    };
    assert_eq!(reply, b"ACK!");
}

/// However many clients wait, the server runs at most `--max-clients`
/// worker threads, plus its main thread.
#[cfg(target_os = "linux")]
#[test]
fn the_thread_bound_holds() {
    let (server, address) = start(&["--max-clients", "4", "-w", "30"]);
    let idle: Vec<TcpStream> =
        (0..20).map(|_| idle_connection(address)).collect();
    // 4 clients with the workers, 4 in the queue, and 1 more accepted that
    // waits for room in the queue; the accept loop takes no more until then.
    let accepted = server.next_lines(9);
    assert!(
        accepted
            .iter()
            .all(|line| line.starts_with("[*] Accepted connection from: "))
    );
    assert_eq!(server.line_within(Duration::from_millis(300)), None);
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", server.id()))
            .expect("procfs");
    let threads: usize = status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|count| count.trim().parse().ok())
        .expect("a Threads line");
    assert_eq!(threads, 5, "4 workers and the main thread");
    drop(idle);
}

/// While 100 idle clients hold connections open, normal clients still get
/// their answer.
#[test]
fn serves_normal_clients_while_idle_ones_are_held() {
    let (server, address) = start(&["-w", "30"]);
    let idle: Vec<TcpStream> =
        (0..100).map(|_| idle_connection(address)).collect();
    for number in 0..20 {
        let started = Instant::now();
        assert_eq!(
            support::exchange(address, format!("normal {number}").as_bytes()),
            b"ACK!"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "exchange {number} waited behind idle clients"
        );
    }
    assert!(server.line_within(Duration::ZERO).is_some());
    drop(idle);
}

/// With standard output closed (`tcp-server | head -1`), the server keeps
/// answering.
#[test]
fn keeps_serving_when_stdout_is_closed() {
    let mut child = tcp_server()
        .args(["127.0.0.1", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server should start");
    let mut first_line = String::new();
    {
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        stdout
            .read_line(&mut first_line)
            .expect("the first line should arrive");
    } // Like `head -1`: read one line, then close the pipe.
    let address = Running::address_from(first_line.trim_end());
    for number in 0..3 {
        assert_eq!(
            support::exchange(
                address,
                format!("after head {number}").as_bytes()
            ),
            b"ACK!"
        );
    }
    assert!(
        child.try_wait().expect("waiting should work").is_none(),
        "the server should still run"
    );
    let _ = child.kill();
    let _ = child.wait();
}
